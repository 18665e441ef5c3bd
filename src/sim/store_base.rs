//! Checkpoints of the projections an event store feeds, so a projection
//! can be rebuilt however long a live run has gone on.
//!
//! A live run trims each event store's log (behind the oldest snapshot it
//! keeps, and beyond `limits.max_store_events`) so its memory plateaus.
//! Before events leave the log they are folded into a [`StoreBase`]: per
//! projection (a group writing to sinks whose topics the store reads all
//! of), the sink states that replaying the store from position 1 up to
//! the trim position gives — the projection function is fixed, so that is
//! exactly what a replay of the trimmed events would have produced. A
//! rebuild then starts from the checkpoint and replays only the events
//! still in the log ([`super::ProjectionRebuild`]).
//!
//! A base holds one state per sink, bounded by the projection's keys
//! (`limits.max_sink_entries`), not by the run's length. It sits behind an
//! [`Arc`]: the history's snapshots share the head's base instead of
//! keeping copies of their own.
//!
//! Depends only on the sink states (`state.rs`); knows nothing of the
//! engine, the history or the GUI.

use super::state::{Applied, SinkKind, SinkState};
use std::sync::Arc;

/// The states of one projection as of the base's position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProjectionBase {
    /// The projection's group (engine index) and name.
    pub group: u32,
    pub name: String,
    /// Per topic index: whether the projection reads it.
    pub wanted: Vec<bool>,
    /// One state per sink the projection writes, in the group's order.
    pub states: Vec<SinkState>,
}

/// What a store's trimmed events folded into: every projection's states
/// after the events at global positions `1..=position`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoreBase {
    position: u64,
    max_entries: usize,
    projections: Vec<ProjectionBase>,
}

/// The projections of one store, before any event: (group index, name,
/// topics wanted, sink kinds).
pub(crate) type ProjectionSpec = (u32, String, Vec<bool>, Vec<SinkKind>);

impl StoreBase {
    /// An empty base (position 0) for `projections`.
    pub fn new(projections: Vec<ProjectionSpec>, max_entries: usize) -> StoreBase {
        StoreBase {
            position: 0,
            max_entries,
            projections: projections
                .into_iter()
                .map(|(group, name, wanted, kinds)| ProjectionBase {
                    group,
                    name,
                    wanted,
                    states: kinds.into_iter().map(SinkState::new).collect(),
                })
                .collect(),
        }
    }

    /// The last global position folded in (0: none).
    pub fn position(&self) -> u64 {
        self.position
    }

    /// The base of the projection of group `group`, if the store feeds it.
    pub fn projection(&self, group: u32) -> Option<&ProjectionBase> {
        self.projections.iter().find(|p| p.group == group)
    }

    /// Folds the next events (global positions `position + 1 ..`) in.
    pub fn fold<'a>(&mut self, events: impl IntoIterator<Item = &'a Applied>) {
        let max = self.max_entries;
        for ev in events {
            for p in &mut self.projections {
                if p.wanted.get(ev.topic as usize).copied().unwrap_or(false) {
                    for s in &mut p.states {
                        s.apply(ev, max);
                    }
                }
            }
            self.position += 1;
        }
    }
}

/// Folds `events` into `base`, copying it first only if a snapshot still
/// shares it.
pub(crate) fn fold_shared<'a>(
    base: &mut Arc<StoreBase>,
    events: impl IntoIterator<Item = &'a Applied>,
) {
    Arc::make_mut(base).fold(events);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::{Payload, VirtualTime};

    fn order(i: u64, topic: u32) -> Applied {
        Applied {
            topic,
            event_id: i,
            key: i % 7,
            produced_at: VirtualTime(i),
            payload: Payload::Order {
                order_id: i % 7,
                user_id: 1,
                sku: (i % 3) as u32,
                quantity: 2,
                amount_cents: 100,
            },
        }
    }

    #[test]
    fn folding_in_pieces_equals_folding_at_once_and_skips_unwanted_topics() {
        let events: Vec<Applied> = (0..100).map(|i| order(i, (i % 2) as u32)).collect();
        let spec = || {
            vec![(
                3,
                "P".to_string(),
                vec![true, false],
                vec![SinkKind::Inventory, SinkKind::ReadViews],
            )]
        };
        let mut whole = StoreBase::new(spec(), 1000);
        whole.fold(&events);
        let mut pieces = Arc::new(StoreBase::new(spec(), 1000));
        let shared = pieces.clone();
        fold_shared(&mut pieces, &events[..30]);
        fold_shared(&mut pieces, &events[30..]);
        assert_eq!(*pieces, whole);
        assert_eq!(whole.position(), 100);
        assert_eq!(shared.position(), 0, "a shared base is copied, not changed");
        let mut only_wanted = SinkState::new(SinkKind::Inventory);
        for ev in events.iter().filter(|e| e.topic == 0) {
            only_wanted.apply(ev, 1000);
        }
        let p = whole.projection(3).expect("projection");
        assert_eq!(p.states[0], only_wanted);
        assert!(whole.projection(4).is_none());
    }
}
