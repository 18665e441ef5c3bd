//! Faults and control inputs: things done to a running system at a moment
//! of virtual time — crash or restart an instance, slow a component, fail
//! or poison deliveries (everywhere or at one group), add or remove
//! instances, reset a group, replay its dead letters, add a new group.
//! A crash or restart naming the schema registry takes it down or up. They reach the engine through [`super::Engine::apply_fault`]
//! (now), [`super::Engine::schedule_fault`] (later) or the scenario's
//! fault schedule; either way they run as actions of the one scheduler, so
//! a run with faults is as deterministic as one without.
//!
//! Names are resolved when the fault runs: a fault naming something that
//! does not exist (yet) is recorded in the fault log as refused, not a panic.

use super::clock::VirtualTime;
use super::error::SimError;
use super::scenario::{GroupParams, Limits, out_of_range};
use serde::{Deserialize, Serialize};

/// Something done to the running system.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Fault {
    /// Crash one instance of a group: its in-flight work is lost, its
    /// partitions go to the live instances (a rebalance) and are re-read
    /// from the last commit. `duration_us: Some(d)` restarts it after `d`.
    /// Naming the schema registry takes the registry down (instance 0).
    Crash {
        /// The group (its component's Mermaid id).
        group: String,
        /// The instance number.
        instance: u32,
        /// Restart after this long; `None` = stays down.
        duration_us: Option<u64>,
    },
    /// Restart a crashed instance; it rejoins the group (a rebalance).
    Restart {
        /// The group.
        group: String,
        /// The instance number.
        instance: u32,
    },
    /// From now on, processing at a group takes `factor` times as long
    /// (1 restores). Naming a sink slows every group that writes to it.
    Slow {
        /// A group or a sink.
        component: String,
        /// The multiplier, 0 < factor ≤ 10⁶.
        factor: f64,
    },
    /// From now on, each processing attempt anywhere fails with this
    /// probability, on top of each group's own (0 stops it).
    FailDeliveries {
        /// Percent of attempts, 0..=100.
        percent: f64,
    },
    /// From now on, each processing attempt of one group fails with this
    /// probability, on top of its own and of [`Fault::FailDeliveries`]
    /// (0 stops it). Naming a sink fails the groups that write to it.
    FailGroup {
        /// A group, or a sink.
        component: String,
        /// Percent of attempts, 0..=100.
        percent: f64,
    },
    /// The next record appended (to `topic`, or to any topic when `None`)
    /// is poison: every attempt at it fails, so it ends in each group's DLQ.
    PoisonNext {
        /// A topic name, or any.
        topic: Option<String>,
    },
    /// From now on every record of a topic (an event type) fails.
    PoisonType {
        /// The topic (event type) name.
        topic: String,
    },
    /// Lift [`Fault::PoisonType`].
    CurePoisonType {
        /// The topic name.
        topic: String,
    },
    /// A new instance joins the group (a rebalance).
    AddInstance {
        /// The group.
        group: String,
    },
    /// The highest-numbered live instance leaves cleanly: it commits what
    /// it processed, then its partitions are reassigned.
    RemoveInstance {
        /// The group.
        group: String,
    },
    /// Move every partition of a group to `offset` (clamped to what is
    /// retained); in-flight work is dropped.
    ResetToOffset {
        /// The group.
        group: String,
        /// The offset, the same in every partition.
        offset: u64,
    },
    /// Move every partition of a group to its first record appended at or
    /// after `at` (a binary search over each partition's log).
    ResetToTime {
        /// The group.
        group: String,
        /// The time to rewind to.
        at: VirtualTime,
    },
    /// Re-deliver the group's dead-lettered records to it, oldest first,
    /// at this moment: each gets the group's attempts again (without
    /// back-off); what still fails goes back to the DLQ. A poison mark on
    /// a single record counts as cured (the operator replays after fixing
    /// the consumer); a topic still poisoned ([`Fault::PoisonType`]) fails
    /// again. Refused when the DLQ keeps no record.
    ReplayDlq {
        /// The group.
        group: String,
    },
    /// A new consumer group joins, subscribed to `topics`, starting at the
    /// oldest retained offset (0 under [`super::Retention::KeepAll`]).
    AddGroup {
        /// Its name (must be new).
        name: String,
        /// Topic names it reads.
        topics: Vec<String>,
        /// How it runs.
        params: GroupParams,
    },
}

impl Fault {
    /// Checks the numbers (names are resolved when the fault runs).
    pub fn validate(&self, limits: &Limits) -> Result<(), SimError> {
        match self {
            Fault::Crash {
                duration_us: Some(d),
                ..
            } if *d > 365 * 24 * 3_600_000_000 => {
                Err(out_of_range("crash.duration_us", d, "≤ one year"))
            }
            Fault::Slow { factor, .. }
                if !(factor.is_finite() && *factor > 0.0 && *factor <= 1e6) =>
            {
                Err(out_of_range("slow.factor", factor, "0 < factor ≤ 1e6"))
            }
            Fault::FailDeliveries { percent } | Fault::FailGroup { percent, .. }
                if !(percent.is_finite() && (0.0..=100.0).contains(percent)) =>
            {
                Err(out_of_range("fail_deliveries.percent", percent, "0..=100"))
            }
            Fault::AddGroup { topics, params, .. } => {
                if topics.is_empty() {
                    return Err(out_of_range("add_group.topics", 0, "at least one topic"));
                }
                let mut s = super::Scenario::empty();
                s.limits = *limits;
                s.default_group = *params;
                s.validate()
            }
            _ => Ok(()),
        }
    }

    /// The group, component or topic it names, for the log.
    pub fn target(&self) -> &str {
        match self {
            Fault::Crash { group, .. }
            | Fault::Restart { group, .. }
            | Fault::AddInstance { group }
            | Fault::RemoveInstance { group }
            | Fault::ResetToOffset { group, .. }
            | Fault::ResetToTime { group, .. }
            | Fault::ReplayDlq { group } => group,
            Fault::Slow { component, .. } | Fault::FailGroup { component, .. } => component,
            Fault::PoisonType { topic } | Fault::CurePoisonType { topic } => topic,
            Fault::PoisonNext { topic } => topic.as_deref().unwrap_or("*"),
            Fault::FailDeliveries { .. } => "*",
            Fault::AddGroup { name, .. } => name,
        }
    }
}

/// A fault and when it happens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScheduledFault {
    /// When (virtual time).
    pub at: VirtualTime,
    /// What.
    pub fault: Fault,
}

/// What happened when a fault ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultRecord {
    /// When it ran.
    pub at: VirtualTime,
    /// What it was.
    pub fault: Fault,
    /// `None` when applied; why not, otherwise.
    pub refused: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fail_group_names_its_target_and_checks_its_percentage() {
        let limits = Limits::default();
        let f = Fault::FailGroup {
            component: "Inventory".into(),
            percent: 20.0,
        };
        assert_eq!(f.target(), "Inventory");
        assert!(f.validate(&limits).is_ok());
        for percent in [-1.0, 100.5, f64::NAN] {
            let bad = Fault::FailGroup {
                component: "Inventory".into(),
                percent,
            };
            assert!(bad.validate(&limits).is_err(), "{percent}");
        }
        assert_eq!(Fault::FailDeliveries { percent: 5.0 }.target(), "*");
    }
}
