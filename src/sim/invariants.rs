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

use serde::{Deserialize, Serialize};

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
}

impl InvariantReport {
    /// Whether any invariant was violated.
    pub fn any_violated(&self) -> bool {
        self.per_key_order.is_violated()
            || self.nothing_lost.is_violated()
            || self.no_duplicate_effects.is_violated()
            || self.projection_rebuild.is_violated()
    }
}

/// A running count of violations with the first one described.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Violations {
    pub count: u64,
    pub first: Option<String>,
}

impl Violations {
    /// Counts one violation; describes it if it is the first.
    pub fn record(&mut self, what: impl FnOnce() -> String) {
        self.count += 1;
        if self.first.is_none() {
            self.first = Some(what());
        }
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
}
