//! The invariants the engine checks as it runs, and their report.
//!
//! - **Per-key order**: every worker finishes (applies or dead-letters) the
//!   offsets of its partition in sequence; the only jumps back allowed are
//!   to the last commit after a crash or rebalance, and to the target of a
//!   reset, after which the replay again goes in sequence. A partition in
//!   sequence keeps every key's records in order, so this is the stronger
//!   check.
//! - **Nothing lost**: after a drained run ([`super::Engine::drain`]),
//!   every record appended since a group started was finished by it, and
//!   every partition is committed up to its high watermark. Not checked
//!   on a run stopped mid-flight.
//! - **No duplicate side effects** for idempotent groups: a side effect
//!   applied for an offset already applied (ground truth from offsets,
//!   independent of the dedupe store) is a violation.
//! - **Projection rebuild**: after a drained run, each group writing to
//!   sinks is rebuilt from the log of an event store reading all its
//!   topics ([`super::Engine::rebuild_projection`]) and compared with its
//!   live sink states. Left out (not checked, with the reason) when the
//!   two are not meant to match: the group or the store dead-lettered or
//!   skipped records, applied duplicates without idempotency, or a sink is
//!   shared or overflowed.
//! - **Each side effect applied once** (every group, idempotent or not):
//!   an at-least-once group without idempotency applies a re-delivered
//!   record again after a crash or rebalance. That is the design's
//!   exactly-once property rather than the engine's promise, so it is
//!   reported but left out of [`InvariantReport::any_violated`].
//!
//! Each violation keeps the events involved (topic/partition@offset, key,
//! event id), for the first [`MAX_EXAMPLES`] violations of each check.

use super::clock::VirtualTime;
use serde::{Deserialize, Serialize};

/// Violations of each check described with their events (the first ones).
pub const MAX_EXAMPLES: usize = 8;

/// The outcome of one invariant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum Check {
    /// It held.
    Held,
    /// It was violated `count` times; `first` describes the first.
    Violated {
        /// How many times.
        count: u64,
        /// The first violation, for a human.
        first: String,
    },
    /// It could not be checked.
    NotChecked {
        /// Why not.
        reason: String,
    },
}

impl Check {
    /// Whether it was violated.
    pub fn is_violated(&self) -> bool {
        matches!(self, Check::Violated { .. })
    }

    /// A short word for tables: `held`, `VIOLATED ×n`, `not checked`.
    pub fn label(&self) -> String {
        match self {
            Check::Held => "held".into(),
            Check::Violated { count, .. } => format!("VIOLATED ×{count}"),
            Check::NotChecked { .. } => "not checked".into(),
        }
    }
}

/// Which invariant a violation broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Invariant {
    /// [`InvariantReport::per_key_order`].
    PerKeyOrder,
    /// [`InvariantReport::nothing_lost`].
    NothingLost,
    /// [`InvariantReport::no_duplicate_effects`].
    NoDuplicateEffects,
    /// [`InvariantReport::projection_rebuild`].
    ProjectionRebuild,
    /// [`InvariantReport::effects_applied_once`].
    EffectsAppliedOnce,
}

impl Invariant {
    /// Every invariant, in the order reports list them.
    pub const ALL: [Invariant; 5] = [
        Invariant::PerKeyOrder,
        Invariant::NothingLost,
        Invariant::NoDuplicateEffects,
        Invariant::ProjectionRebuild,
        Invariant::EffectsAppliedOnce,
    ];

    /// Its name for tables.
    pub fn title(self) -> &'static str {
        match self {
            Invariant::PerKeyOrder => "per-key order",
            Invariant::NothingLost => "nothing lost",
            Invariant::NoDuplicateEffects => "no duplicate side effects (idempotent groups)",
            Invariant::ProjectionRebuild => "projection rebuild equals live state",
            Invariant::EffectsAppliedOnce => "each side effect applied once",
        }
    }

    /// What it promises, in one sentence.
    pub fn meaning(self) -> &'static str {
        match self {
            Invariant::PerKeyOrder => {
                "Every group finishes each partition's records in offset order."
            }
            Invariant::NothingLost => {
                "After a drained run every record was processed or dead-lettered by every group."
            }
            Invariant::NoDuplicateEffects => {
                "A group with idempotency on never applies a side effect twice."
            }
            Invariant::ProjectionRebuild => {
                "A projection rebuilt from the event store equals the live one (drained runs)."
            }
            Invariant::EffectsAppliedOnce => {
                "No group applies a record's side effect twice (at-least-once delivery without idempotency breaks it)."
            }
        }
    }
}

/// One event a violation involves: where it sits on the bus and who saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventRef {
    /// The consumer group involved (its component's Mermaid id).
    pub group: String,
    /// The topic's name.
    pub topic: String,
    /// The partition.
    pub partition: u32,
    /// The offset in the partition.
    pub offset: u64,
    /// The record's key, when it is still retained.
    pub key: Option<u64>,
    /// The record's event id, when it is still retained.
    pub event_id: Option<u64>,
}

/// One violation described, with the events involved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Example {
    /// The invariant it broke.
    pub invariant: Invariant,
    /// When it was seen.
    pub at: VirtualTime,
    /// What happened, for a human.
    pub what: String,
    /// The events involved (a few).
    pub events: Vec<EventRef>,
}

/// The engine's invariants at the end of a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InvariantReport {
    /// Records of a key applied in offset order by every group.
    pub per_key_order: Check,
    /// Every record processed or dead-lettered by every group (drained runs).
    pub nothing_lost: Check,
    /// No side effect applied twice by an idempotent group.
    pub no_duplicate_effects: Check,
    /// Every projection (a group writing to sinks) rebuilt from the event
    /// store's log equals its live state (drained runs).
    pub projection_rebuild: Check,
    /// No group, idempotent or not, applied a side effect twice.
    pub effects_applied_once: Check,
    /// The first violations of each check, with the events involved.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub examples: Vec<Example>,
}

impl InvariantReport {
    /// Whether any of the engine's guarantees was violated (all checks but
    /// [`InvariantReport::effects_applied_once`], a property of the design).
    pub fn any_violated(&self) -> bool {
        self.per_key_order.is_violated()
            || self.nothing_lost.is_violated()
            || self.no_duplicate_effects.is_violated()
            || self.projection_rebuild.is_violated()
    }

    /// The outcome of one invariant.
    pub fn check(&self, invariant: Invariant) -> &Check {
        match invariant {
            Invariant::PerKeyOrder => &self.per_key_order,
            Invariant::NothingLost => &self.nothing_lost,
            Invariant::NoDuplicateEffects => &self.no_duplicate_effects,
            Invariant::ProjectionRebuild => &self.projection_rebuild,
            Invariant::EffectsAppliedOnce => &self.effects_applied_once,
        }
    }

    /// The violations of one invariant described with their events.
    pub fn examples_of(&self, invariant: Invariant) -> impl Iterator<Item = &Example> + '_ {
        self.examples
            .iter()
            .filter(move |e| e.invariant == invariant)
    }
}

/// A running count of violations with the first ones described.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Violations {
    pub count: u64,
    pub first: Option<String>,
    /// The first [`MAX_EXAMPLES`] with their events.
    pub examples: Vec<(VirtualTime, String, Vec<EventRef>)>,
}

impl Violations {
    /// Counts one violation; describes it if it is the first.
    pub fn record(&mut self, what: impl FnOnce() -> String) {
        self.count += 1;
        if self.first.is_none() {
            self.first = Some(what());
        }
    }

    /// Counts one violation at `at` and keeps it with its events if it is
    /// among the first [`MAX_EXAMPLES`]; `what` runs only then.
    pub fn record_events(
        &mut self,
        at: VirtualTime,
        what: impl FnOnce() -> (String, Vec<EventRef>),
    ) {
        self.count += 1;
        if self.examples.len() < MAX_EXAMPLES {
            let (text, events) = what();
            if self.first.is_none() {
                self.first = Some(text.clone());
            }
            self.examples.push((at, text, events));
        }
    }

    /// The kept examples as [`Example`]s of `invariant`.
    pub fn examples(&self, invariant: Invariant) -> impl Iterator<Item = Example> + '_ {
        self.examples.iter().map(move |(at, what, events)| Example {
            invariant,
            at: *at,
            what: what.clone(),
            events: events.clone(),
        })
    }

    /// The outcome so far.
    pub fn check(&self) -> Check {
        match &self.first {
            Some(first) if self.count > 0 => Check::Violated {
                count: self.count,
                first: first.clone(),
            },
            _ => Check::Held,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn violations_keep_the_first_and_count_all() {
        let mut v = Violations::default();
        assert_eq!(v.check(), Check::Held);
        v.record(|| "a".into());
        v.record(|| "b".into());
        assert_eq!(
            v.check(),
            Check::Violated {
                count: 2,
                first: "a".into()
            }
        );
        assert!(v.check().is_violated());
        assert_eq!(v.check().label(), "VIOLATED ×2");
    }

    #[test]
    fn examples_are_bounded_and_keep_their_events() {
        let mut v = Violations::default();
        for i in 0..(MAX_EXAMPLES as u64 + 3) {
            v.record_events(VirtualTime(i), || {
                let e = EventRef {
                    group: "G".into(),
                    topic: "T".into(),
                    partition: 0,
                    offset: i,
                    key: Some(i),
                    event_id: None,
                };
                (format!("v{i}"), vec![e])
            });
        }
        assert_eq!(v.count, MAX_EXAMPLES as u64 + 3);
        let ex: Vec<Example> = v.examples(Invariant::PerKeyOrder).collect();
        assert_eq!(ex.len(), MAX_EXAMPLES);
        assert_eq!(ex[2].events[0].offset, 2);
        assert_eq!(
            v.check(),
            Check::Violated {
                count: v.count,
                first: "v0".into()
            }
        );
    }
}
