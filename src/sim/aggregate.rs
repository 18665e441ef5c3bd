//! Aggregate snapshots of an event store: every `snapshot-every` versions
//! of a stream (an aggregate, by key) the store writes down the
//! aggregate's state, so loading it reads that snapshot plus the events
//! after it instead of the stream from its first event.
//!
//! # The model
//! An event store group writes each event it applies to its stream, and a
//! writer of an event-sourced aggregate loads the aggregate before each
//! append. [`super::EventStore`] counts those loads and the events each
//! one reads ([`StoreLoads`]): from the start of the stream without
//! snapshots (a stream of version v costs v − 1 events), from the latest
//! snapshot with them (at most `snapshot-every − 1`). The counting is
//! arithmetic on versions, so the hot path pays one addition;
//! [`super::EventStore::load`] really folds a stream from its snapshot and
//! the store's log, and equals the fold of the whole stream.
//!
//! The state folded ([`Aggregate`]) is what the payloads give an order or
//! account: its version, the amounts ordered and paid, the quantity, and
//! the last event. The store keeps the current fold of each stream only
//! while snapshots are on (that is what a snapshot is taken from).
//!
//! # Rules
//! Part of `sim`: deterministic, no wall-clock time; bounded by
//! `limits.max_streams` streams like the store's versions.

use super::scenario::Payload;
use super::state::{Applied, KeyMap};
use serde::{Deserialize, Serialize};

/// The state of one aggregate: the fold of its stream's events.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Aggregate {
    /// Events folded (the stream version it is at).
    pub version: u64,
    /// The last event's id and topic.
    pub last_event_id: u64,
    /// The topic index of the last event.
    pub last_topic: u32,
    /// Sum of the orders' amounts, in cents.
    pub ordered_cents: u64,
    /// Sum of the orders' quantities.
    pub quantity: u64,
    /// Sum of the payments' amounts, in cents.
    pub paid_cents: u64,
}

impl Aggregate {
    /// Folds one more event of the stream into the state.
    pub fn apply(&mut self, event: &Applied) {
        self.version += 1;
        self.last_event_id = event.event_id;
        self.last_topic = event.topic;
        match event.payload {
            Payload::Order {
                quantity,
                amount_cents,
                ..
            } => {
                self.quantity += u64::from(quantity);
                self.ordered_cents += amount_cents;
            }
            Payload::Payment { amount_cents, .. } => self.paid_cents += amount_cents,
            Payload::User { .. } | Payload::Generic { .. } => {}
        }
    }
}

/// A stream's latest snapshot: its state after the event at `position`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamSnapshot {
    /// The global position of the last event it folds.
    pub position: u64,
    /// The state at that point (its `version` is the stream version).
    pub state: Aggregate,
}

/// Loads of aggregates before appends, and what they read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreLoads {
    /// Aggregates loaded (one per append to a stream that had events).
    pub loads: u64,
    /// Events read by those loads (after the snapshot, when there is one).
    pub events_read: u64,
    /// Loads that started from a snapshot.
    pub from_snapshot: u64,
    /// Snapshots written.
    pub snapshots_taken: u64,
}

impl StoreLoads {
    /// Events read per load on average (0 with no loads).
    pub fn events_per_load(&self) -> f64 {
        if self.loads == 0 {
            0.0
        } else {
            self.events_read as f64 / self.loads as f64
        }
    }
}

/// The snapshots of one event store (engine-internal).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Snapshots {
    /// A snapshot every this many versions of a stream (≥ 1).
    every: u32,
    /// Each stream's current fold (what the next snapshot is taken from).
    current: KeyMap<Aggregate>,
    /// Each stream's latest snapshot.
    latest: KeyMap<StreamSnapshot>,
}

impl Snapshots {
    /// Snapshots every `every` versions (at least 1).
    pub fn new(every: u32) -> Snapshots {
        Snapshots {
            every: every.max(1),
            ..Snapshots::default()
        }
    }

    /// Versions between snapshots.
    pub fn every(&self) -> u32 {
        self.every
    }

    /// The version of `key`'s latest snapshot (0: none).
    #[inline]
    pub fn latest_version(&self, key: u64) -> u64 {
        self.latest.get(key).map_or(0, |s| s.state.version)
    }

    /// `key`'s latest snapshot.
    pub fn latest(&self, key: u64) -> Option<&StreamSnapshot> {
        self.latest.get(key)
    }

    /// Snapshots kept (one per stream that reached `every` versions).
    pub fn len(&self) -> usize {
        self.latest.len()
    }

    /// Folds `event` (appended at `position`) into its stream; writes a
    /// snapshot when the stream's version is a multiple of `every`.
    /// Returns whether it did.
    pub fn on_append(&mut self, event: &Applied, position: u64, max_streams: usize) -> bool {
        let Some(state) = self.current.entry(event.key, max_streams) else {
            return false;
        };
        state.apply(event);
        let state = *state;
        if state.version % u64::from(self.every) != 0 {
            return false;
        }
        if let Some(s) = self.latest.entry(event.key, max_streams) {
            *s = StreamSnapshot { position, state };
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::VirtualTime;

    fn order(key: u64, id: u64, amount: u64) -> Applied {
        Applied {
            topic: 0,
            event_id: id,
            key,
            produced_at: VirtualTime(id),
            payload: Payload::Order {
                order_id: key,
                user_id: 1,
                sku: 2,
                quantity: 3,
                amount_cents: amount,
            },
        }
    }

    #[test]
    fn a_snapshot_is_written_every_n_versions_with_the_fold_so_far() {
        let mut s = Snapshots::new(3);
        let mut written = Vec::new();
        for i in 0..7u64 {
            if s.on_append(&order(5, i, 100 + i), i + 1, 100) {
                written.push(i + 1);
            }
        }
        assert_eq!(written, [3, 6]);
        let snap = s.latest(5).copied().unwrap_or_default();
        assert_eq!(snap.position, 6);
        assert_eq!(snap.state.version, 6);
        assert_eq!(snap.state.ordered_cents, (100..106).sum::<u64>());
        assert_eq!(snap.state.quantity, 18);
        assert_eq!(s.latest_version(5), 6);
        assert_eq!(s.latest_version(6), 0);
    }

    #[test]
    fn streams_beyond_the_limit_get_no_snapshot() {
        let mut s = Snapshots::new(1);
        assert!(s.on_append(&order(1, 0, 1), 1, 1));
        assert!(!s.on_append(&order(2, 1, 1), 2, 1));
        assert_eq!(s.len(), 1);
    }
}
