//! Rebuilding a projection from an event store a slice at a time
//! ([`ProjectionRebuild`]): a caller with a frame budget (the live driver)
//! spreads a long store log over many frames and shows its progress;
//! [`Engine::rebuild_projection`] does the same in one go. Nothing here
//! changes the engine.
//!
//! A rebuild covers the store's events up to its position when it
//! started. When a live run trimmed the log, the rebuild starts from the
//! projection's checkpoint at the trim position (`store_base.rs`: the
//! states a replay of the trimmed events gives) and replays the events
//! still in the log: "from a checkpoint at position P + N events". Later
//! moments of the same run can feed the rest (positions `next..end` are
//! the same events then); if the log was trimmed past `next` meanwhile,
//! the rebuild goes on from the newer checkpoint, which already holds
//! those events.

use super::super::consumer::EventStore;
use super::super::state::SinkState;
use super::super::store_base::{ProjectionSpec, StoreBase};
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
    /// The group's engine index (its checkpoint in the store's base).
    group_ix: u32,
    /// Global store positions: the checkpoint started from (0: none), the
    /// last one applied, and the store's position when the rebuild began.
    base: u64,
    next: u64,
    end: u64,
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
        let trimmed = store.log_trimmed() as u64;
        let checkpoint = match store
            .base()
            .filter(|b| b.position() == trimmed)
            .and_then(|b| b.projection(g as u32))
        {
            Some(p) if trimmed > 0 => Some(p.states.clone()),
            _ if trimmed > 0 => {
                return Err(format!(
                    "{}'s log keeps only its latest events in a live run ({} older ones \
                     dropped, with no checkpoint of {group}); rebuild from a recording \
                     (`replay --rebuild`) instead",
                    store_group.name, trimmed
                ));
            }
            _ => None,
        };
        if store.log_missing_from_image() > 0 {
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
            states: checkpoint.unwrap_or_else(|| {
                grp.sink_states
                    .iter()
                    .map(|&i| SinkState::new(self.sink_states[i as usize].kind()))
                    .collect()
            }),
            max_entries: self.scenario.limits.max_sink_entries,
            group_ix: g as u32,
            base: trimmed,
            next: trimmed,
            end: trimmed + store.log_len() as u64,
        })
    }

    /// Starts tracking, in each event store, the checkpoints of the
    /// projections it feeds (see `store_base.rs`), so trimming its log
    /// keeps them rebuildable.
    pub(in crate::sim) fn track_store_bases(&mut self) {
        let max_entries = self.scenario.limits.max_sink_entries;
        for st in 0..self.groups.len() {
            if self.groups[st].store.is_none() {
                continue;
            }
            let specs: Vec<ProjectionSpec> = (0..self.groups.len())
                .filter(|&g| {
                    !self.groups[g].sink_states.is_empty() && self.store_for(g) == Some(st)
                })
                .map(|g| {
                    let grp = &self.groups[g];
                    let mut wanted = vec![false; self.topics.len()];
                    for &t in &grp.topics {
                        wanted[t as usize] = true;
                    }
                    let kinds = grp
                        .sink_states
                        .iter()
                        .map(|&i| self.sink_states[i as usize].kind())
                        .collect();
                    (g as u32, grp.name.clone(), wanted, kinds)
                })
                .collect();
            if specs.is_empty() {
                continue;
            }
            if let Some(store) = self.groups[st].store.as_mut() {
                store.track_base(StoreBase::new(specs, max_entries));
            }
        }
    }

    /// As [`Engine::trim_store_logs`], for a snapshot of the run whose
    /// head is `head` (trimmed first): the snapshot shares the head's
    /// checkpoints instead of folding copies of its own.
    pub(crate) fn trim_store_logs_as(&mut self, positions: &[u64], head: &Engine) {
        for (g, (grp, &p)) in self.groups.iter_mut().zip(positions).enumerate() {
            if let Some(store) = grp.store.as_mut() {
                let head_store = head.groups.get(g).and_then(|h| h.store.as_ref());
                store.trim_log_through_as(p, head_store);
            }
        }
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

    /// Store events applied (or skipped as another topic's) so far, after
    /// the checkpoint.
    pub fn done(&self) -> u64 {
        self.next - self.base
    }

    /// Store events the rebuild replays (after the checkpoint).
    pub fn total(&self) -> u64 {
        self.end - self.base
    }

    /// The store position of the checkpoint the rebuild started from (0:
    /// none, every event is replayed from position 1). It can move on
    /// while the rebuild runs, when the live log is trimmed past it.
    pub fn checkpoint(&self) -> u64 {
        self.base
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
        let name = self.store_name.clone();
        let not_it = || format!("{name}'s log is not the one rebuilt from");
        let store = engine
            .groups
            .get(self.store)
            .filter(|g| g.name == self.store_name)
            .and_then(|g| g.store.as_ref())
            .filter(|s| s.log_missing_from_image() == 0 && s.store_len() >= self.end)
            .ok_or_else(not_it)?;
        let first = store.log_trimmed() as u64;
        if self.next < first {
            self.restart_from_checkpoint(store).ok_or_else(|| {
                format!(
                    "{}'s log was trimmed past the rebuild ({} of {} events) and holds no \
                     checkpoint of {}",
                    self.store_name,
                    self.done(),
                    self.total(),
                    self.group
                )
            })?;
        }
        let skip = usize::try_from(self.next - first).map_err(|_| not_it())?;
        let left = usize::try_from(self.end - self.next).unwrap_or(usize::MAX);
        let n = max_events.min(left);
        for ev in store.log().skip(skip).take(n) {
            if self.wanted.get(ev.topic as usize).copied().unwrap_or(false) {
                for s in &mut self.states {
                    s.apply(ev, self.max_entries);
                }
            }
        }
        self.next += n as u64;
        Ok(self.is_done())
    }

    /// Goes on from the store's newer checkpoint (the log was trimmed
    /// past `next`: those events are in it); `None` when it has none.
    fn restart_from_checkpoint(&mut self, store: &EventStore) -> Option<()> {
        let base = store.base()?;
        let at = base.position();
        if at != store.log_trimmed() as u64 || at < self.next || at > self.end {
            return None;
        }
        self.states = base.projection(self.group_ix)?.states.clone();
        self.base = at;
        self.next = at;
        Some(())
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

    /// The seed run as a live one keeps it: the store's log trimmed now and
    /// then (and beyond `max_log` events), the trimmed events folded into
    /// checkpoints.
    fn trimmed_run(max_log: usize) -> Engine {
        let text = crate::SEED_DIAGRAM;
        let graph = ArchGraph::from_flowchart(&parse_flowchart(text).unwrap());
        let mut scenario = load_scenario(text, &graph).unwrap();
        scenario.limits.max_store_events = max_log;
        let mut e = Engine::new(&graph, scenario, 5).unwrap();
        e.set_store_keep_latest(true);
        let mut behind = e.store_positions();
        for s in 1..=6 {
            e.run_until(VirtualTime::from_secs(s));
            e.trim_store_logs(&behind);
            behind = e.store_positions();
        }
        e
    }

    fn store_of(e: &Engine) -> &crate::sim::EventStore {
        e.event_store("ES").unwrap()
    }

    #[test]
    fn a_rebuild_from_a_checkpoint_equals_one_from_position_1_and_the_live_state() {
        let mut untrimmed = seed_engine(0);
        untrimmed.run_until(VirtualTime::from_secs(6));
        let mut trimmed = trimmed_run(1 << 21);
        assert_eq!(trimmed.run_hash(), untrimmed.run_hash(), "same run");
        assert!(store_of(&trimmed).log_trimmed() > 1_000);
        assert_eq!(store_of(&untrimmed).log_trimmed(), 0);
        for group in ["ReadModel", "Consumer1", "Consumer3"] {
            let r = trimmed.start_projection_rebuild(group).unwrap();
            assert_eq!(r.checkpoint(), store_of(&trimmed).log_trimmed() as u64);
            assert_eq!(
                r.total(),
                store_of(&trimmed).log_len() as u64,
                "only the kept events are replayed"
            );
            assert_eq!(
                trimmed.rebuild_projection(group).unwrap(),
                untrimmed.rebuild_projection(group).unwrap(),
                "{group}"
            );
        }
        // Drained, the rebuild equals what the projection applied.
        assert!(trimmed.drain(VirtualTime::from_secs(30)));
        assert!(untrimmed.drain(VirtualTime::from_secs(30)));
        let rebuilt = trimmed.rebuild_projection("ReadModel").unwrap();
        assert_eq!(rebuilt, untrimmed.rebuild_projection("ReadModel").unwrap());
        for (sink, state) in &rebuilt {
            assert_eq!(Some(state), trimmed.sink_state(sink), "{sink}");
        }
        assert!(
            !trimmed.invariants().projection_rebuild.is_violated(),
            "{:?}",
            trimmed.invariants().projection_rebuild
        );
    }

    #[test]
    fn a_full_live_log_folds_its_oldest_events_into_the_checkpoint() {
        let mut untrimmed = seed_engine(0);
        untrimmed.run_until(VirtualTime::from_secs(6));
        let trimmed = trimmed_run(500);
        let store = store_of(&trimmed);
        assert!(store.log_len() <= 500, "{}", store.log_len());
        assert_eq!(
            trimmed.rebuild_projection("ReadModel").unwrap(),
            untrimmed.rebuild_projection("ReadModel").unwrap()
        );
    }

    #[test]
    fn a_sliced_rebuild_goes_on_from_a_newer_checkpoint_when_the_log_is_trimmed_under_it() {
        let mut e = trimmed_run(1 << 21);
        let whole = e.rebuild_projection("ReadModel").unwrap();
        let mut sliced = e.start_projection_rebuild("ReadModel").unwrap();
        let first = sliced.checkpoint();
        sliced.advance(&e, 10).unwrap();
        // The run goes on and its log is trimmed past the rebuild.
        let behind = e.store_positions();
        e.run_until(VirtualTime::from_secs(7));
        e.trim_store_logs(&behind);
        while !sliced.advance(&e, 97).unwrap() {}
        assert!(sliced.checkpoint() > first);
        assert_eq!(sliced.finish(), whole);
    }

    #[test]
    fn without_a_checkpoint_a_trimmed_log_is_refused_clearly() {
        let mut e = seed_engine(2_000_000);
        e.trim_store_logs(&e.store_positions());
        let err = e.start_projection_rebuild("ReadModel").unwrap_err();
        assert!(err.contains("no checkpoint"), "{err}");
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
