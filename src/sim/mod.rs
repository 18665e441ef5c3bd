//! The simulation engine: a deterministic discrete-event simulation of an
//! [`ArchGraph`](crate::model::ArchGraph) with Kafka-like bus semantics.
//!
//! # What it owns
//! - [`VirtualTime`] (`clock.rs`): integer microseconds; the only clock.
//! - [`SimRng`] (`rng.rs`): the one seeded xoshiro256++ generator and the
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
//! - Sink state (`state.rs`): sinks hold real state derived from the
//!   payloads their groups apply — stock per sku, the read model's views,
//!   warehouse aggregates, a search index, notifications sent — chosen
//!   from the sink's label ([`SinkKind::for_label`]). Event stores keep
//!   the events they append (bounded), so [`Engine::rebuild_projection`]
//!   rebuilds a projection from the store.
//! - The CQRS command path (`cqrs.rs`): the gateway sends commands to the
//!   command handler, which loads the aggregate, validates, appends with
//!   an expected version (conflicts counted and retried), then publishes;
//!   queries go to the read DB; read-model staleness is measured.
//! - Invariants (`invariants.rs`): per-key order, nothing lost (drained
//!   runs), no duplicate side effects for idempotent groups, a projection
//!   rebuilt from the store equals the live one (drained runs) — checked
//!   as the run goes, reported in the summary.
//! - The schema registry (`registry.rs`, hooked in by `world/schema.rs`):
//!   subjects and versions under a compatibility mode, schema ids,
//!   producer and consumer lookups with their latency and caches,
//!   refusals at the producer, undecodable records at the consumer, and
//!   registry outages; present only when the diagram has a registry node.
//! - [`Engine`] (`world.rs`): builds all of the above and runs the loop.
//! - Time travel (`history/`): [`History`] records a run with snapshots
//!   (clones of the engine whose append-only logs share their chunks) and
//!   answers the state at any virtual time; [`Engine::set_tap`] hands every
//!   published record to a recorder.
//! - Event traces (`world/trace.rs`, `history/replay.rs`): [`Tracer`]
//!   re-runs the slice of a recorded run an event lived in, with the
//!   engine's delivery tap on ([`Engine::trace_event`]), to list every
//!   delivery attempt of it and its causes and effects (reactions) —
//!   nothing per delivery is kept during the run itself.
//! - Activity (`activity.rs`): off by default; when on
//!   ([`Engine::set_activity`]), the hops events make between components
//!   (bounded per route) and each route's rate, for the canvas's dots.
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
//! No snapshots of an aggregate in the event store. Only the first
//! gateway → command handler pair is driven as a CQRS path; its events
//! share one topic (the handler's edge to the bus). Reactions (a group
//! publishing when it applies an event) draw each output independently.
//!
//! # Scenario, bursts, concurrency, backpressure, reactions
//! The scenario is read from the diagram's `%% eda:scenario` lines
//! (`scenario_text.rs`, [`load_scenario`]) over [`Scenario::default_for`].
//! Sources may burst ([`Burst`]); a group may cap the records each
//! instance serves at once (`concurrency`, a FIFO of waiting partitions
//! per instance) and bound its queue per partition ([`QueueBound`]): the
//! producers feeding it then shed (counted) or throttle (a blocking send:
//! the record is held and offered again every millisecond; throttled time
//! is counted); the command handler's publishes are not subject to these
//! bounds (it has its own queue). A group with reactions
//! ([`ReactionSpec`]) publishes an event per record it applies; reactions
//! may not loop.

mod activity;
mod aggregate;
mod bus;
mod clock;
mod consumer;
mod cqrs;
mod error;
mod fault;
mod histogram;
mod history;
mod image;
mod invariants;
mod metrics;
mod producer;
mod registry;
mod rng;
mod scenario;
mod scenario_text;
mod scheduler;
mod state;
mod store_base;
mod world;

pub use activity::{ActivityLog, HOPS_PER_ROUTE, Hop, QUERY_TOPIC, RATE_WINDOW_US, Route};
pub use aggregate::{Aggregate, StoreLoads, StreamSnapshot};
pub use bus::{
    Assignor, Fnv1a, Offset, Partition, PartitionLog, Record, Topic, assign, partition_for,
};
pub use clock::VirtualTime;
pub use consumer::{
    DeadLetter, DeadLetterTopic, DedupeStore, DeliveryCounters, DeliveryError, EventStore,
    GroupReplayAttempt, MAX_REPLAY_LOG, ReplayAttempt, ReplayOutcome,
};
pub use cqrs::{CommandKind, CqrsCounters, CqrsSummary, HANDLER_SOURCE};
pub use error::SimError;
pub use fault::{Fault, FaultRecord, ScheduledFault};
pub use histogram::{Histogram, LatencySummary};
pub use history::{
    ARCHIVE_BYTES, ARCHIVE_IMAGES, ArchiveImage, ArchiveJob, ArchiveOptions, Control,
    ControlRecord, History, HistoryOptions, LIVE_SNAPSHOT_EVERY_US, LIVE_SNAPSHOTS, Published,
    Replay, SEEK_CHECKPOINTS, SeekProgress, TraceStatus, Tracer,
};
pub use image::{
    IMAGE_MAGIC, IMAGE_PREFIX, IMAGE_VERSION, ImageError, check_image_version, image_version,
};
pub use invariants::{Check, EventRef, Example, Invariant, InvariantReport, MAX_EXAMPLES};
pub use metrics::{
    ComponentMetrics, ComponentSummary, GroupSummary, MAX_PARTITION_SERIES, PartitionLag,
    PartitionSeries, QUANTILES, RunHash, RunSummary, SYSTEM, Samples, Series, SeriesKind,
    TimeSeries,
};
pub use registry::{
    ClientSummary, Compatibility, DEFAULT_LOOKUP_US, RegistryCounters, RegistrySpec,
    RegistrySummary, SchemaChange, SchemaVersion, Subject, split_version,
};
pub use rng::SimRng;
pub use scenario::{
    Arrival, Backoff, Backpressure, Burst, CommitSource, CqrsSpec, DEFAULT_PARTITIONS,
    DEFAULT_RATE_PER_S, GroupParams, KeyDist, KeySpace, LIVE_MIN_RECORDS_PER_PARTITION,
    LIVE_RETAINED_RECORDS, Limits, MAX_COMMIT_INTERVAL_US, Payload, QueueBound, ReactionSpec,
    Retention, RetentionSource, RetryPolicy, Scenario, Schema, ServiceTime, SourceSpec,
    default_event_type,
};
pub use scenario_text::{
    SCENARIO_TAG, ScenarioLine, load_scenario, replace_scenario_lines, scenario_from_document,
    scenario_lines,
};
pub use scheduler::{QueueFull, Scheduler};
pub use state::{
    Applied, Channel, Counter, Document, INITIAL_STOCK, Inventory, Notification, Notifications,
    OrderStatus, OrderView, RECENT_NOTIFICATIONS, ReadViews, SearchIndex, SinkKind, SinkReport,
    SinkState, SinkSummary, Tally, Term, UserView, Warehouse,
};
pub use world::{
    AttemptOutcome, DeliveryAttempt, Engine, EventTrace, InstanceState, MAX_TRACED_ATTEMPTS,
    ProjectionRebuild, TopicRoute, TracedEvent,
};
