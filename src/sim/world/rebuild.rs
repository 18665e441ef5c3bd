//! Rebuilding a projection from an event store a slice at a time
//! ([`ProjectionRebuild`]): a caller with a frame budget (the live driver)
//! spreads a long store log over many frames and shows its progress;
//! [`Engine::rebuild_projection`] does the same in one go. Nothing here
//! changes the engine.
//!
//! A rebuild covers the events the store's log held when it started. The
//! log only grows while the run goes on, so later moments of the same run
//! can feed the rest: positions `next..end` are the same events then.

use super::super::state::SinkState;
use super::Engine;

/// A projection being rebuilt from its event store: a fresh state per sink
/// the group writes to, fed the store's events in order of global
/// position (events of other topics skipped).
#[derive(Debug, Clone)]
pub struct ProjectionRebuild {
    group: String,
    /// The event-store group's index and name (checked on every slice).
    store: usize,
    store_name: String,
    /// Per topic index: whether the group reads it.
    wanted: Vec<bool>,
    /// The sinks' Mermaid ids, with their rebuilt states.
    sinks: Vec<String>,
    states: Vec<SinkState>,
    max_entries: usize,
    /// The next log position to apply, and the log's length at the start.
    next: usize,
    end: usize,
}

impl Engine {
    /// Starts rebuilding the projection of `group` from the first
    /// event-store group that reads all of its topics. Fails when the
    /// group writes no sink, no store reads all its topics, or the store's
    /// log is not complete.
    pub fn start_projection_rebuild(&self, group: &str) -> Result<ProjectionRebuild, String> {
        let g = self.group_ix(group)?;
        let grp = &self.groups[g];
        if grp.sink_states.is_empty() {
            return Err(format!("{group} writes to no sink"));
        }
        let st = self
            .store_for(g)
            .ok_or_else(|| format!("no event store reads every topic of {group}"))?;
        let store_group = &self.groups[st];
        let store = store_group.store.as_ref().ok_or("not a store")?;
        if store.log_trimmed() > 0 {
            return Err(format!(
                "{}'s log keeps only its latest {} events in a live run ({} older ones \
                 dropped); rebuild from a recording (`replay --rebuild`) instead",
                store_group.name,
                store.max_log(),
                store.log_trimmed()
            ));
        }
        if store.log_missing() > 0 {
            return Err(format!(
                "{}'s log before this run was restored from an image is not in memory \
                 (replay the recording from the start to rebuild)",
                store_group.name
            ));
        }
        if store.log_dropped() > 0 {
            return Err(format!(
                "{}'s log is full: {} events not kept (limits.max_store_events)",
                store_group.name,
                store.log_dropped()
            ));
        }
        let mut wanted = vec![false; self.topics.len()];
        for &t in &grp.topics {
            wanted[t as usize] = true;
        }
        Ok(ProjectionRebuild {
            group: group.to_string(),
            store: st,
            store_name: store_group.name.clone(),
            wanted,
            sinks: grp
                .sinks
                .iter()
                .map(|&s| self.metrics[s as usize].key.clone())
                .collect(),
            states: grp
                .sink_states
                .iter()
                .map(|&i| SinkState::new(self.sink_states[i as usize].kind()))
                .collect(),
            max_entries: self.scenario.limits.max_sink_entries,
            next: 0,
            end: store.log_len(),
        })
    }

    /// Rebuilds the projection of `group` from an event store in one go
    /// (see [`Engine::start_projection_rebuild`]). Returns (sink key,
    /// rebuilt state) per sink. The engine is not changed.
    pub fn rebuild_projection(&self, group: &str) -> Result<Vec<(String, SinkState)>, String> {
        let mut rebuild = self.start_projection_rebuild(group)?;
        rebuild.advance(self, usize::MAX)?;
        Ok(rebuild.finish())
    }
}

impl ProjectionRebuild {
    /// The group whose projection is rebuilt.
    pub fn group(&self) -> &str {
        &self.group
    }

    /// Store events applied (or skipped as another topic's) so far.
    pub fn done(&self) -> u64 {
        self.next as u64
    }

    /// Store events the rebuild covers.
    pub fn total(&self) -> u64 {
        self.end as u64
    }

    /// Whether every event is applied.
    pub fn is_done(&self) -> bool {
        self.next >= self.end
    }

    /// Applies up to `max_events` more of the store's events, read from
    /// `engine`: the one the rebuild started on or a later moment of the
    /// same run. Returns whether the rebuild is done; fails when the
    /// store's log no longer holds the events (another run).
    pub fn advance(&mut self, engine: &Engine, max_events: usize) -> Result<bool, String> {
        let store = engine
            .groups
            .get(self.store)
            .filter(|g| g.name == self.store_name)
            .and_then(|g| g.store.as_ref())
            .filter(|s| s.log_missing() == 0 && s.log_len() >= self.end)
            .ok_or_else(|| format!("{}'s log is not the one rebuilt from", self.store_name))?;
        let n = max_events.min(self.end - self.next);
        for ev in store.log().skip(self.next).take(n) {
            if self.wanted.get(ev.topic as usize).copied().unwrap_or(false) {
                for s in &mut self.states {
                    s.apply(ev, self.max_entries);
                }
            }
        }
        self.next += n;
        Ok(self.is_done())
    }

    /// The rebuilt states, (sink key, state) per sink (as far as applied).
    pub fn finish(self) -> Vec<(String, SinkState)> {
        self.sinks.into_iter().zip(self.states).collect()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use crate::mermaid::parse_flowchart;
    use crate::model::ArchGraph;
    use crate::sim::{Engine, VirtualTime, load_scenario};

    fn seed_engine(until_us: u64) -> Engine {
        let text = crate::SEED_DIAGRAM;
        let graph = ArchGraph::from_flowchart(&parse_flowchart(text).unwrap());
        let scenario = load_scenario(text, &graph).unwrap();
        let mut engine = Engine::new(&graph, scenario, 5).unwrap();
        engine.run_until(VirtualTime::from_us(until_us));
        engine
    }

    #[test]
    fn a_rebuild_in_slices_equals_one_in_one_go_and_ignores_later_events() {
        let mut engine = seed_engine(1_500_000);
        let group = engine
            .group_names()
            .find(|g| engine.start_projection_rebuild(g).is_ok())
            .unwrap()
            .to_string();
        let whole = engine.rebuild_projection(&group).unwrap();
        let mut sliced = engine.start_projection_rebuild(&group).unwrap();
        assert!(sliced.total() > 10, "{}", sliced.total());
        // The run goes on meanwhile: the later events are not the rebuild's.
        engine.run_until(VirtualTime::from_us(2_500_000));
        let mut slices = 0;
        while !sliced.advance(&engine, 7).unwrap() {
            slices += 1;
            assert!(sliced.done() < sliced.total());
        }
        assert!(slices as u64 >= sliced.total() / 7 - 1);
        assert_eq!(sliced.done(), sliced.total());
        assert_eq!(sliced.finish(), whole);
    }

    #[test]
    fn another_runs_shorter_log_is_refused() {
        let long = seed_engine(1_500_000);
        let group = long
            .group_names()
            .find(|g| long.start_projection_rebuild(g).is_ok())
            .unwrap()
            .to_string();
        let mut r = long.start_projection_rebuild(&group).unwrap();
        let fresh = seed_engine(0);
        assert!(r.advance(&fresh, 10).is_err());
    }
}
