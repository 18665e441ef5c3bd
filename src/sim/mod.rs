//! The simulation engine: a deterministic discrete-event simulation of an
//! [`ArchGraph`](crate::model::ArchGraph) with Kafka-like bus semantics.
//!
//! # What it owns
//! - [`VirtualTime`] (`clock.rs`): integer microseconds; the only clock.
//! - [`SimRng`] (`rng.rs`): the one seeded ChaCha8 generator and the
//!   distributions drawn from it (exponential, lognormal from p50/p99, …).
//! - [`Scheduler`] (`scheduler.rs`): the one priority queue of timed
//!   actions, ordered by `(time, sequence number)` so ties are deterministic.
//! - The bus (`bus.rs`): one [`Topic`] per (bus, event type), partitions
//!   with ordered offsets and watermarks, the stable FNV-1a
//!   [`partition_for`], and the partition [`assign`]ors.
//! - Sources (`producer.rs`) and consumer groups with partition workers
//!   (`consumer.rs`): one record at a time per partition, commits every
//!   `commit_every` records and on catching up (at-least-once); failures
//!   with retries and backoff, a per-group dead-letter topic after N
//!   attempts, idempotency through a bounded dedupe store, event-store
//!   groups that assign global positions and per-stream versions.
//! - Faults and control inputs (`fault.rs`): crash/restart an instance
//!   (in-flight work lost, re-delivery from the last commit, rebalance),
//!   add/remove instances, slow a component, fail X% of attempts, poison
//!   the next record or a whole type, reset a group to an offset or a
//!   time, add a group mid-run; applied now, scheduled, or from the
//!   scenario's fault schedule, always as actions of the one scheduler.
//! - [`Scenario`] (`scenario.rs`): rates, key spaces, payload schemas,
//!   service times, instances, failure/retry/idempotency/commit settings,
//!   retention, the fault schedule, [`Limits`]; [`Scenario::default_for`]
//!   derives one from the diagram alone.
//! - Metrics (`metrics.rs`, `histogram.rs`): counters, latency histograms
//!   with p50/p95/p99/p999, delivery counters (retries, DLQ, duplicates,
//!   rebalances), bounded time series, the [`RunHash`].
//! - Invariants (`invariants.rs`): per-key order, nothing lost (drained
//!   runs), no duplicate side effects for idempotent groups — checked as
//!   the run goes, reported in the summary.
//! - [`Engine`] (`world.rs`): builds all of the above and runs the loop.
//!
//! # Rules
//! Must not use wall-clock time, threads, tokio or egui, and must not
//! iterate a `HashMap` in logic (`BTreeMap`/`Vec` only): the same diagram,
//! scenario and seed give the same history and the same run hash, byte for
//! byte — with faults too. Time comes only from the virtual clock;
//! randomness only from the one seeded RNG. Everything that grows is
//! bounded ([`Limits`]): pending actions (proven at build time: one per
//! source and per partition worker — an abandoned action is left to fire
//! and be ignored rather than doubled — plus the sampler and
//! `max_pending_controls`), records retained on the bus, partitions,
//! instances, Zipf tables, time-series samples, dead letters kept, dedupe
//! ids, event-store streams, the fault log.
//!
//! # Not yet (later slices of the engine issue)
//! Sinks only count the events applied to them — they hold no real state
//! (inventory, read-model views, …). No snapshots, no CQRS command path
//! (command handlers publish as plain sources, no optimistic concurrency),
//! no per-consumer concurrency beyond one record per partition, no bursts,
//! no backpressure (a full bus rejects appends), no "projection rebuilt
//! from offset 0 equals the live one" check, no replay or recordings, and
//! the scenario (fault schedule included) is not yet read from the diagram
//! file.

mod bus;
mod clock;
mod consumer;
mod error;
mod fault;
mod histogram;
mod invariants;
mod metrics;
mod producer;
mod rng;
mod scenario;
mod scheduler;
mod world;

pub use bus::{
    Assignor, Fnv1a, Offset, Partition, PartitionLog, Record, Topic, assign, partition_for,
};
pub use clock::VirtualTime;
pub use consumer::{
    DeadLetter, DeadLetterTopic, DedupeStore, DeliveryCounters, DeliveryError, EventStore,
};
pub use error::SimError;
pub use fault::{Fault, FaultRecord, ScheduledFault};
pub use histogram::{Histogram, LatencySummary};
pub use invariants::{Check, InvariantReport};
pub use metrics::{
    ComponentMetrics, ComponentSummary, GroupSummary, PartitionLag, RunHash, RunSummary, Series,
    TimeSeries,
};
pub use rng::SimRng;
pub use scenario::{
    Arrival, Backoff, DEFAULT_PARTITIONS, DEFAULT_RATE_PER_S, GroupParams, KeyDist, KeySpace,
    Limits, Payload, Retention, RetryPolicy, Scenario, Schema, ServiceTime, SourceSpec,
    default_event_type,
};
pub use scheduler::{QueueFull, Scheduler};
pub use world::Engine;
