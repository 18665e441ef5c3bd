//! The CQRS command path: a gateway sends commands (place an order, pay
//! for one, register a user) to a command handler, and queries to the
//! read DB.
//!
//! The handler serves up to `concurrency` commands at once, taken in
//! arrival order from a bounded queue (commands beyond `queue_capacity`
//! are shed). For each it **loads the aggregate** from its write-side
//! store — per stream (order or user) a version and a little state —
//! **validates** it against that state (paying for an order the store has
//! not got is rejected; registering a user twice is rejected), works for a
//! service time, then **appends with the version it loaded as the expected
//! version**. If another command of the same aggregate was appended in
//! between, that is an optimistic-concurrency **conflict**: counted, and
//! the command is reloaded and retried (up to `max_attempts` in all, then
//! rejected). Conflicts need two commands of one aggregate in service at
//! once: payments go mostly to recently placed orders, so they race under
//! load. An accepted command is **published** to the bus as one event
//! (an `Order`, `Payment` or `User` payload keyed by the aggregate id) on
//! the topic of the handler's edge to the bus.
//!
//! **Schema registry**: a handler connected to the diagram's registry
//! looks up its event's schema before it appends (the first time: the
//! registry's lookup latency, its slot busy meanwhile; then cached) and
//! has the command rejected (`rejected_schema`) when the registry refuses
//! the event; the engine's hooks are in `world/schema.rs`.
//!
//! **Staleness**: an event's `produced_at` is the moment its command was
//! accepted; a group writing to a read-views sink records
//! `applied − produced_at` for each handler event it applies.
//!
//! **Queries** ask the read DB's view for an order: a hit, a miss, or a
//! *stale read* (the handler accepted the order but the view has not got
//! it yet).

use super::clock::VirtualTime;
use super::histogram::{Histogram, LatencySummary};
use super::rng::SimRng;
use super::scenario::{KeySampler, ServiceTime};
use super::state::KeyMap;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// The `source` of records the command handler publishes (sources are
/// numbered from 0, so this one is never a source's).
pub const HANDLER_SOURCE: u32 = u32::MAX;

/// Recently accepted orders payments are drawn from.
const RECENT_ORDERS: usize = 64;

/// What the gateway sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CommandKind {
    /// Place an order (creates the order aggregate, or re-opens it).
    PlaceOrder,
    /// Pay for an order (rejected if the order is unknown).
    Pay,
    /// Register a user (rejected if already registered).
    Register,
}

/// A command in the handler's queue or in service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Command {
    pub kind: CommandKind,
    /// The aggregate id.
    pub id: u64,
}

impl Command {
    /// Whether its aggregate is a user (else an order): separate streams.
    fn is_user(self) -> bool {
        self.kind == CommandKind::Register
    }
}

/// Counts of the command path.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CqrsCounters {
    /// Commands the gateway sent.
    pub commands: u64,
    /// Commands appended and published.
    pub accepted: u64,
    /// Of those, orders placed.
    pub orders_placed: u64,
    /// Of those, payments.
    pub payments: u64,
    /// Of those, users registered.
    pub registrations: u64,
    /// Payments for an order the store has not got.
    pub rejected_unknown_order: u64,
    /// Registrations of a user already registered.
    pub rejected_duplicate: u64,
    /// Commands still conflicting after `max_attempts`.
    pub rejected_conflict: u64,
    /// Commands dropped because the handler's queue was full.
    pub shed: u64,
    /// Appends refused because the aggregate's version moved (each retried
    /// or, after the last attempt, rejected).
    pub conflicts: u64,
    /// Commands accepted after at least one conflict.
    pub accepted_after_conflict: u64,
    /// Events refused by a full bus after the append (counted, not retried).
    pub publish_rejected: u64,
    /// Queries the gateway sent to the read DB.
    pub queries: u64,
    /// Queries that found their order in the view.
    pub query_hits: u64,
    /// Queries for an order the handler accepted but the view lacks.
    pub stale_reads: u64,
    /// Commands rejected because the schema registry refused their
    /// event (its version is not registered, or the type is poisoned);
    /// only when the handler uses a registry.
    #[serde(default)]
    pub rejected_schema: u64,
}

/// The command path at the end of a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CqrsSummary {
    /// The command handler's Mermaid id.
    pub handler: String,
    /// Its counters.
    pub counters: CqrsCounters,
    /// Commands waiting at the end.
    pub queued: u64,
    /// Command accepted → read views applied, in µs.
    pub staleness_us: LatencySummary,
}

/// One of the handler's concurrent slots.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub(crate) struct Slot {
    pub busy: bool,
    pub cmd: Command,
    /// The aggregate's version when it was loaded.
    pub loaded: u64,
    pub attempt: u32,
}

/// The command handler (engine-internal state).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Handler {
    pub name: String,
    /// Metric slots of the gateway, the handler and the bus.
    pub gateway: u32,
    pub component: u32,
    pub bus: u32,
    pub topic: u32,
    /// Index of the read DB's sink state, if it has one.
    pub read_db: Option<u32>,
    /// Commands per second by kind, then queries: cumulative weights.
    weights: [f64; 4],
    pub total_rate: f64,
    keys: KeySampler,
    pub service: ServiceTime,
    pub max_attempts: u32,
    queue_capacity: usize,
    pub queue: VecDeque<Command>,
    pub slots: Vec<Slot>,
    /// Version per order and per user stream (0 = absent): the write
    /// side's store, all validation needs.
    orders: KeyMap<u32>,
    users: KeyMap<u32>,
    max_streams: usize,
    recent_orders: VecDeque<u64>,
    pub counters: CqrsCounters,
    pub staleness_us: Histogram,
}

/// What an arrival at the gateway is.
pub(crate) enum Arrival {
    /// A command for the handler.
    Command(Command),
    /// A query for order `0` at the read DB.
    Query(u64),
}

/// What the handler decided about the command in a slot.
pub(crate) enum Outcome {
    /// Appended at this version: publish it.
    Accepted,
    /// Conflict: reload and try again.
    Retry,
    /// Rejected (counted).
    Rejected,
}

impl Handler {
    /// A handler for `spec`, wired to the given slots and topic.
    pub fn new(
        spec: &super::scenario::CqrsSpec,
        slots: [u32; 3],
        topic: u32,
        read_db: Option<u32>,
        max_streams: usize,
    ) -> Handler {
        let rates = [
            spec.place_order_per_s,
            spec.pay_per_s,
            spec.register_per_s,
            spec.query_per_s,
        ];
        let mut acc = 0.0;
        let weights = rates.map(|r| {
            acc += r;
            acc
        });
        Handler {
            name: spec.handler.clone(),
            gateway: slots[0],
            component: slots[1],
            bus: slots[2],
            topic,
            read_db,
            weights,
            total_rate: acc,
            keys: KeySampler::new(&spec.keys),
            service: spec.service,
            max_attempts: spec.max_attempts,
            queue_capacity: spec.queue_capacity as usize,
            queue: VecDeque::new(),
            slots: vec![
                Slot {
                    busy: false,
                    cmd: Command {
                        kind: CommandKind::PlaceOrder,
                        id: 0,
                    },
                    loaded: 0,
                    attempt: 0,
                };
                spec.concurrency as usize
            ],
            orders: KeyMap::default(),
            users: KeyMap::default(),
            max_streams,
            recent_orders: VecDeque::new(),
            counters: CqrsCounters::default(),
            staleness_us: Histogram::new(),
        }
    }

    /// When the gateway's next arrival after `now` happens (Poisson).
    pub fn next_arrival(&self, now: VirtualTime, rng: &mut SimRng) -> VirtualTime {
        now.plus_us(super::rng::to_us(rng.exponential(1e6 / self.total_rate)))
    }

    /// Draws what the next arrival is: a kind by the rates, an aggregate
    /// id (payments and queries mostly for recently accepted orders).
    pub fn draw(&mut self, rng: &mut SimRng) -> Arrival {
        let u = rng.open01() * self.total_rate;
        let i = self.weights.iter().position(|&w| u < w).unwrap_or(3);
        let recent = |rng: &mut SimRng, keys: &KeySampler, recent: &VecDeque<u64>| {
            // 9 in 10 for a recent order, else any id (often unknown).
            if !recent.is_empty() && rng.below(10) != 0 {
                recent[rng.below(recent.len() as u64) as usize]
            } else {
                keys.sample(rng)
            }
        };
        match i {
            0 => Arrival::Command(Command {
                kind: CommandKind::PlaceOrder,
                id: self.keys.sample(rng),
            }),
            1 => Arrival::Command(Command {
                kind: CommandKind::Pay,
                id: recent(rng, &self.keys, &self.recent_orders),
            }),
            2 => Arrival::Command(Command {
                kind: CommandKind::Register,
                id: self.keys.sample(rng),
            }),
            _ => Arrival::Query(recent(rng, &self.keys, &self.recent_orders)),
        }
    }

    /// Queues a command; false (and counted as shed) when the queue is full.
    pub fn enqueue(&mut self, cmd: Command) -> bool {
        self.counters.commands += 1;
        if self.queue.len() >= self.queue_capacity {
            self.counters.shed += 1;
            return false;
        }
        self.queue.push_back(cmd);
        true
    }

    /// The version of `cmd`'s aggregate now (0: it does not exist).
    pub fn version(&self, cmd: Command) -> u64 {
        let map = if cmd.is_user() {
            &self.users
        } else {
            &self.orders
        };
        map.get(cmd.id).map_or(0, |&v| u64::from(v))
    }

    /// Whether the handler accepted order `id` at some point.
    pub fn knows_order(&self, id: u64) -> bool {
        self.version(Command {
            kind: CommandKind::Pay,
            id,
        }) > 0
    }

    /// Finishes the command in slot `s`: validate against the state loaded,
    /// then append with the loaded version as the expected one.
    pub fn finish(&mut self, s: usize) -> Outcome {
        let slot = self.slots[s];
        let cmd = slot.cmd;
        let valid = match cmd.kind {
            CommandKind::PlaceOrder => true,
            CommandKind::Pay => slot.loaded > 0,
            CommandKind::Register => slot.loaded == 0,
        };
        if !valid {
            match cmd.kind {
                CommandKind::Pay => self.counters.rejected_unknown_order += 1,
                _ => self.counters.rejected_duplicate += 1,
            }
            return Outcome::Rejected;
        }
        let current = self.version(cmd);
        if current != slot.loaded {
            self.counters.conflicts += 1;
            if slot.attempt < self.max_attempts {
                return Outcome::Retry;
            }
            self.counters.rejected_conflict += 1;
            return Outcome::Rejected;
        }
        let map = if cmd.is_user() {
            &mut self.users
        } else {
            &mut self.orders
        };
        // Beyond the limit an aggregate is not tracked: accepted without
        // concurrency control (it stays at version 0).
        if let Some(v) = map.entry(cmd.id, self.max_streams) {
            *v = v.saturating_add(1);
        }
        if cmd.kind == CommandKind::PlaceOrder {
            if self.recent_orders.len() >= RECENT_ORDERS {
                self.recent_orders.pop_front();
            }
            self.recent_orders.push_back(cmd.id);
        }
        self.counters.accepted += 1;
        match cmd.kind {
            CommandKind::PlaceOrder => self.counters.orders_placed += 1,
            CommandKind::Pay => self.counters.payments += 1,
            CommandKind::Register => self.counters.registrations += 1,
        }
        if slot.attempt > 1 {
            self.counters.accepted_after_conflict += 1;
        }
        Outcome::Accepted
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::scenario::{CqrsSpec, KeySpace};

    fn handler() -> Handler {
        let spec = CqrsSpec {
            keys: KeySpace {
                count: 10,
                ..KeySpace::default()
            },
            concurrency: 2,
            ..CqrsSpec::new("API", "WM", "EB", "WMEvent")
        };
        Handler::new(&spec, [0, 1, 2], 0, None, 100)
    }

    fn start(h: &mut Handler, s: usize, kind: CommandKind, id: u64) {
        let cmd = Command { kind, id };
        h.slots[s] = Slot {
            busy: true,
            cmd,
            loaded: h.version(cmd),
            attempt: h.slots[s].attempt + 1,
        };
    }

    #[test]
    fn unknown_orders_are_rejected_and_versions_conflict() {
        let mut h = handler();
        start(&mut h, 0, CommandKind::Pay, 3);
        assert!(matches!(h.finish(0), Outcome::Rejected));
        assert_eq!(h.counters.rejected_unknown_order, 1);
        h.slots[0].attempt = 0;
        start(&mut h, 0, CommandKind::PlaceOrder, 3);
        assert!(matches!(h.finish(0), Outcome::Accepted));
        assert!(h.knows_order(3));
        // Two payments of order 3 loaded at the same version: the second conflicts.
        h.slots[0].attempt = 0;
        start(&mut h, 0, CommandKind::Pay, 3);
        start(&mut h, 1, CommandKind::Pay, 3);
        assert!(matches!(h.finish(0), Outcome::Accepted));
        assert!(matches!(h.finish(1), Outcome::Retry));
        start(&mut h, 1, CommandKind::Pay, 3);
        assert!(matches!(h.finish(1), Outcome::Accepted));
        assert_eq!(h.counters.conflicts, 1);
        assert_eq!(h.counters.accepted_after_conflict, 1);
        assert_eq!(
            h.version(Command {
                kind: CommandKind::Pay,
                id: 3
            }),
            3
        );
        // Users and orders are separate streams.
        h.slots[0].attempt = 0;
        start(&mut h, 0, CommandKind::Register, 3);
        assert!(matches!(h.finish(0), Outcome::Accepted));
        start(&mut h, 0, CommandKind::Register, 3);
        assert!(matches!(h.finish(0), Outcome::Rejected));
        assert_eq!(h.counters.rejected_duplicate, 1);
    }
}
