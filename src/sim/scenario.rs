//! What to simulate on top of the diagram: sources with arrival processes,
//! key spaces and payload schemas; consumer-group parameters; partitions,
//! sampling and limits. [`Scenario::default_for`] derives one from the
//! diagram alone so any diagram runs with no configuration. (Storing a
//! scenario in the `.mmd` file is a later slice.)

use super::bus::Assignor;
use super::error::SimError;
use super::fault::ScheduledFault;
use super::rng::{SimRng, to_us};
use crate::model::{ArchGraph, ConnectionKind, Role};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Hard limits on everything that grows; checked when the engine is built.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Limits {
    /// Most actions the scheduler may hold (the model needs one per source
    /// and per partition worker, plus one for the sampler).
    pub max_pending_actions: usize,
    /// Most records retained on the bus at once, over all partitions;
    /// appends beyond are refused and counted as rejected.
    pub max_queued_records: usize,
    /// Most partitions per topic.
    pub max_partitions: u32,
    /// Most instances per consumer group.
    pub max_instances: u32,
    /// Largest key space of a Zipf source (its table costs 8 bytes a key).
    pub max_zipf_keys: u64,
    /// Most samples kept per time series; when full, every other sample is
    /// dropped and the interval doubles.
    pub max_samples: usize,
    /// Most control inputs (faults, restarts) pending at once; also the
    /// longest fault schedule a scenario may carry.
    pub max_pending_controls: usize,
    /// Most dead letters retained per group's DLQ topic (later ones are
    /// counted, not kept).
    pub max_dead_letters: usize,
    /// Event ids remembered per idempotent group (oldest forgotten first).
    pub max_dedupe_ids: usize,
    /// Most streams (aggregate keys) an event store tracks versions for;
    /// appends to further streams are counted as untracked.
    pub max_streams: usize,
    /// Most entries kept in the fault log.
    pub max_fault_log: usize,
    /// Most records one worker may process between commits (`commit_every`).
    pub max_commit_every: u32,
    /// Most attempts per record (`retry.max_attempts`).
    pub max_attempts: u32,
    /// Most entries per map of a sink's state (orders, users, documents,
    /// skus); events for new keys beyond are counted as overflow.
    pub max_sink_entries: usize,
    /// Most events an event store keeps in its log for rebuilding
    /// projections (72 bytes each: the default 2 M events are 144 MB); later ones are
    /// counted, not kept.
    pub max_store_events: usize,
    /// Largest per-instance concurrency of a group.
    pub max_concurrency: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_pending_actions: 1 << 20,
            max_queued_records: 1 << 22,
            max_partitions: 1024,
            max_instances: 256,
            max_zipf_keys: 1 << 20,
            max_samples: 4096,
            max_pending_controls: 1024,
            max_dead_letters: 1 << 16,
            max_dedupe_ids: 1 << 17,
            max_streams: 1 << 20,
            max_fault_log: 4096,
            max_commit_every: 10_000,
            max_attempts: 100,
            max_sink_entries: 1 << 20,
            max_store_events: 1 << 21,
            max_concurrency: 4096,
        }
    }
}

/// When a source emits.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Arrival {
    /// A Poisson process: exponential gaps with mean 1/rate.
    Poisson {
        /// Events per virtual second.
        rate_per_s: f64,
    },
    /// Evenly spaced events (the n-th at round(n / rate)).
    Constant {
        /// Events per virtual second.
        rate_per_s: f64,
    },
}

impl Arrival {
    /// Events per virtual second.
    pub fn rate_per_s(&self) -> f64 {
        match *self {
            Arrival::Poisson { rate_per_s } | Arrival::Constant { rate_per_s } => rate_per_s,
        }
    }
}

/// Bursts on top of a source's arrival process: during the first
/// `length_us` of every `every_us` (from time zero) the source emits at
/// `rate_per_s` instead of its base rate, with the same kind of process.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Burst {
    /// Events per virtual second during a burst.
    pub rate_per_s: f64,
    /// How long each burst lasts.
    pub length_us: u64,
    /// Time from the start of one burst to the start of the next (> `length_us`).
    pub every_us: u64,
}

impl Burst {
    /// Whether `t` falls in a burst, and when the current phase (burst or
    /// quiet) ends.
    #[inline]
    pub fn phase(&self, t: u64) -> (bool, u64) {
        let start = t - t % self.every_us;
        if t - start < self.length_us {
            (true, start + self.length_us)
        } else {
            (false, start.saturating_add(self.every_us))
        }
    }
}

/// How keys (aggregate ids) are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum KeyDist {
    /// Every key equally likely.
    Uniform,
    /// Key k (1-based) with probability ∝ 1/k^exponent: a few hot keys.
    Zipf {
        /// The skew; 1.0 is classic Zipf.
        exponent: f64,
    },
}

/// The aggregate ids a source draws its keys from: `1..=count`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct KeySpace {
    /// How many distinct keys.
    pub count: u64,
    /// How they are drawn.
    pub dist: KeyDist,
}

impl Default for KeySpace {
    fn default() -> Self {
        KeySpace {
            count: 10_000,
            dist: KeyDist::Uniform,
        }
    }
}

/// A consumer instance's time to process one record.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum ServiceTime {
    /// Always the same.
    Constant {
        /// Microseconds per record.
        us: u64,
    },
    /// Exponential (memoryless) with the given mean.
    Exponential {
        /// Mean microseconds per record.
        mean_us: f64,
    },
    /// Lognormal fitted to a median and a 99th percentile.
    LogNormal {
        /// Median microseconds.
        p50_us: f64,
        /// 99th-percentile microseconds (≥ the median).
        p99_us: f64,
    },
}

impl ServiceTime {
    /// One service time, in whole microseconds.
    // Inlined into the engine's loop: it runs once per delivery, and a
    // call costs as much as the exponential draw itself.
    #[inline(always)]
    pub fn sample_us(&self, rng: &mut SimRng) -> u64 {
        match *self {
            ServiceTime::Constant { us } => us,
            ServiceTime::Exponential { mean_us } => to_us(rng.exponential(mean_us)),
            ServiceTime::LogNormal { p50_us, p99_us } => lognormal_us(rng, p50_us, p99_us),
        }
    }

    fn validate(&self, what: &str) -> Result<(), SimError> {
        let ok = match *self {
            ServiceTime::Constant { us } => us <= 3_600_000_000,
            ServiceTime::Exponential { mean_us } => mean_us.is_finite() && mean_us > 0.0,
            ServiceTime::LogNormal { p50_us, p99_us } => {
                p50_us.is_finite() && p99_us.is_finite() && p50_us > 0.0 && p99_us >= p50_us
            }
        };
        if ok {
            Ok(())
        } else {
            Err(out_of_range(
                what,
                format!("{self:?}"),
                "a constant ≤ 1 h, a positive finite mean, or 0 < p50 ≤ p99",
            ))
        }
    }
}

/// A lognormal service time (out of line: two `ln`s, an `exp` and a `cos`).
#[inline(never)]
fn lognormal_us(rng: &mut SimRng, p50_us: f64, p99_us: f64) -> u64 {
    to_us(rng.lognormal_p50_p99(p50_us, p99_us))
}

/// The fields an event carries, chosen from its type's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Schema {
    /// order id, user id, sku, quantity, amount.
    Order,
    /// user id, email.
    User,
    /// payment id, order id, amount, method.
    Payment,
    /// just the entity id.
    Generic,
}

impl Schema {
    /// The schema for an event type name: `PaymentProcessed` → Payment,
    /// `OrderCreated` → Order, `UserRegistered` → User, else Generic.
    pub fn for_event_type(name: &str) -> Schema {
        let n = name.to_ascii_lowercase();
        if n.contains("pay") || n.contains("charge") || n.contains("refund") {
            Schema::Payment
        } else if n.contains("order") || n.contains("cart") || n.contains("checkout") {
            Schema::Order
        } else if ["user", "regist", "customer", "account", "signup", "signed"]
            .iter()
            .any(|w| n.contains(w))
        {
            Schema::User
        } else {
            Schema::Generic
        }
    }

    /// A payload of this schema for aggregate `key`.
    pub fn generate(self, key: u64, rng: &mut SimRng) -> Payload {
        match self {
            Schema::Order => {
                let sku = rng.range_inclusive(1, 5_000) as u32;
                let quantity = rng.range_inclusive(1, 5) as u16;
                Payload::Order {
                    order_id: key,
                    user_id: rng.range_inclusive(1, 100_000),
                    sku,
                    quantity,
                    amount_cents: u64::from(quantity) * price_cents(sku),
                }
            }
            Schema::User => Payload::User {
                user_id: key,
                email_domain: rng.below(EMAIL_DOMAINS.len() as u64) as u8,
            },
            Schema::Payment => Payload::Payment {
                payment_id: rng.range_inclusive(1, 999_999_999),
                order_id: key,
                amount_cents: rng.range_inclusive(500, 50_000),
                method: rng.below(PAYMENT_METHODS.len() as u64) as u8,
            },
            Schema::Generic => Payload::Generic { entity_id: key },
        }
    }
}

const EMAIL_DOMAINS: [&str; 4] = ["example.com", "mail.test", "corp.example", "shop.test"];
const PAYMENT_METHODS: [&str; 3] = ["card", "paypal", "bank-transfer"];

/// A sku's unit price: fixed per sku, between 1.99 and 201.98.
fn price_cents(sku: u32) -> u64 {
    let mut h = super::bus::Fnv1a::new();
    h.write(&sku.to_le_bytes());
    199 + h.finish() % 20_000
}

/// An event's fields: compact and `Copy`, so producing one allocates nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "schema", rename_all = "lowercase")]
pub enum Payload {
    /// An order.
    Order {
        /// The aggregate id.
        order_id: u64,
        /// Who ordered.
        user_id: u64,
        /// What.
        sku: u32,
        /// How many.
        quantity: u16,
        /// quantity × the sku's price.
        amount_cents: u64,
    },
    /// A user.
    User {
        /// The aggregate id.
        user_id: u64,
        /// Index of the email's domain (see [`Payload::email`]).
        email_domain: u8,
    },
    /// A payment for an order.
    Payment {
        /// The payment's own id.
        payment_id: u64,
        /// The aggregate id: the order paid for.
        order_id: u64,
        /// How much.
        amount_cents: u64,
        /// Index of the method (see [`Payload::payment_method`]).
        method: u8,
    },
    /// Anything else.
    Generic {
        /// The aggregate id.
        entity_id: u64,
    },
}

impl Payload {
    /// A user's email address, e.g. `user42@example.com`.
    pub fn email(&self) -> Option<String> {
        match *self {
            Payload::User {
                user_id,
                email_domain,
            } => Some(format!(
                "user{user_id}@{}",
                EMAIL_DOMAINS[usize::from(email_domain) % EMAIL_DOMAINS.len()]
            )),
            _ => None,
        }
    }

    /// A payment's method name (`card`, `paypal`, `bank-transfer`).
    pub fn payment_method(&self) -> Option<&'static str> {
        match *self {
            Payload::Payment { method, .. } => {
                Some(PAYMENT_METHODS[usize::from(method) % PAYMENT_METHODS.len()])
            }
            _ => None,
        }
    }
}

/// One stream of events: a component publishing one event type to one bus.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceSpec {
    /// The publishing component's Mermaid id.
    pub component: String,
    /// The bus's Mermaid id.
    pub bus: String,
    /// The event type (the edge label, or `<Component>Event` when unlabelled).
    pub event_type: String,
    /// When events are emitted.
    pub arrival: Arrival,
    /// Bursts on top of `arrival`, if any.
    pub burst: Option<Burst>,
    /// Which keys.
    pub keys: KeySpace,
    /// Which fields.
    pub schema: Schema,
}

/// A consumer group publishing in reaction to what it applies: each record
/// of type `on` it applies makes it publish one `emit` event (same key)
/// to `bus` with probability `probability`. A component's publishing edge
/// of type `emit` is then a reaction, no longer an independent source.
/// Reactions must not form a loop of event types (checked at build).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReactionSpec {
    /// The reacting group's component (Mermaid id).
    pub component: String,
    /// The event type (topic) it reacts to.
    pub on: String,
    /// The event type it publishes.
    pub emit: String,
    /// The bus it publishes to.
    pub bus: String,
    /// Chance of publishing per applied record (0 ≤ p ≤ 1).
    pub probability: f64,
}

/// The wait before the next attempt at a record that failed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Backoff {
    /// The same wait before every retry.
    Constant {
        /// Microseconds before each retry.
        delay_us: u64,
    },
    /// `initial_us × factor^(n−1)` before retry n, capped at `max_us`.
    Exponential {
        /// Wait before the first retry.
        initial_us: u64,
        /// Growth per retry (≥ 1).
        factor: f64,
        /// The longest wait.
        max_us: u64,
    },
}

impl Backoff {
    /// The wait before retry `retry` (1-based), in whole microseconds.
    pub fn delay_us(&self, retry: u32) -> u64 {
        match *self {
            Backoff::Constant { delay_us } => delay_us,
            Backoff::Exponential {
                initial_us,
                factor,
                max_us,
            } => {
                let exp = i32::try_from(retry.saturating_sub(1)).unwrap_or(i32::MAX);
                let x = initial_us as f64 * factor.powi(exp);
                to_us(x.min(max_us as f64))
            }
        }
    }
}

/// How a group retries a record whose processing failed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RetryPolicy {
    /// Attempts per record, the first included; after the last failed one
    /// the record goes to the group's dead-letter topic. 1 = no retries.
    pub max_attempts: u32,
    /// The wait between attempts.
    pub backoff: Backoff,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            backoff: Backoff::Exponential {
                initial_us: 10_000,
                factor: 2.0,
                max_us: 1_000_000,
            },
        }
    }
}

/// How one consumer group runs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GroupParams {
    /// Instances in the group (each owns some partitions).
    pub instances: u32,
    /// Time to process one record, drawn per record by the instance.
    pub service: ServiceTime,
    /// How partitions are spread over instances.
    pub assignor: Assignor,
    /// Probability that one processing attempt fails (0 ≤ p ≤ 1).
    pub failure_probability: f64,
    /// Retries and backoff after a failed attempt.
    pub retry: RetryPolicy,
    /// Dedupe by event id, so a re-delivered event applies no side effect twice.
    pub idempotent: bool,
    /// Records processed between offset commits (like a poll batch); a
    /// worker also commits whenever it catches up. 1 = commit every record.
    /// Not used while `commit_interval_us` is set.
    pub commit_every: u32,
    /// Records one instance processes at once, over all the partitions it
    /// owns; 0 = no cap (each partition is served on its own, one record
    /// at a time).
    pub concurrency: u32,
    /// The bound on records waiting per partition for this group, and
    /// what producers do when it is reached; `None` = unbounded.
    pub queue: Option<QueueBound>,
    /// Virtual time between offset commits, as Kafka's auto-commit
    /// (`auto.commit.interval.ms`): every interval each worker of the
    /// group commits its position, whether it caught up or not, so a crash
    /// re-delivers up to an interval of processed records. 0 = commit by
    /// `commit_every` instead. Left out of the serde form when 0, so a
    /// scenario without it reads and hashes as before (and last, so an
    /// engine image — structs as arrays — simply ends before it).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub commit_interval_us: u64,
}

/// A bounded consumer queue: at most `capacity` records appended but not
/// yet finished, per partition, for one group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueBound {
    /// Records waiting per partition, at most (≥ 1).
    pub capacity: u32,
    /// What a producer does when its record would exceed it.
    pub policy: Backpressure,
}

/// What a producer does when a consumer's queue is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backpressure {
    /// Drop the record (counted as shed by the producer).
    Shed,
    /// Hold the record and stop producing until there is room again
    /// (a blocking send: arrivals pause, throttled time is counted).
    Throttle,
}

impl Default for GroupParams {
    fn default() -> Self {
        GroupParams {
            instances: 1,
            service: ServiceTime::Exponential { mean_us: 1_000.0 },
            assignor: Assignor::Range,
            failure_probability: 0.0,
            retry: RetryPolicy::default(),
            idempotent: false,
            commit_every: 1,
            commit_interval_us: 0,
            concurrency: 0,
            queue: None,
        }
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// The longest [`GroupParams::commit_interval_us`]: an hour.
pub const MAX_COMMIT_INTERVAL_US: u64 = 3_600_000_000;

/// Where a group's commit setting came from ([`Scenario::commit_source`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CommitSource {
    /// Nobody chose it: the headless default (every record and on catching up).
    #[default]
    Default,
    /// The diagram writes a `commit-every` line for the group (or `*.`).
    Diagram,
    /// A live run set its default interval (Kafka's 5 s auto-commit).
    LiveDefault,
}

/// How long the bus keeps records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Retention {
    /// Drop a record once every group subscribed to its topic has committed
    /// past it: the least memory, but a group added later or reset to an
    /// earlier offset starts at the oldest record still kept.
    #[default]
    UntilConsumed,
    /// Keep every record (within [`Limits::max_queued_records`]; appends
    /// beyond it are refused), so groups added mid-run or reset to offset 0
    /// replay the whole history.
    KeepAll,
    /// Kafka's size retention, counted in records: each partition keeps
    /// its latest `records`, the oldest dropped as new ones are appended,
    /// whether or not every group has read them (a group left behind jumps
    /// to the oldest record kept and counts what it skipped).
    KeepLatest {
        /// Records kept per partition, at least 1.
        records: u64,
    },
    /// Kafka's time retention: records older than `us` are dropped as new
    /// ones are appended (and at each metric sample), read or not.
    Time {
        /// The age beyond which a record is dropped, at least 1 µs.
        us: u64,
    },
}

/// Where a scenario's [`Retention`] came from, which decides whether a live
/// run may replace it with its own default ([`Retention::for_live_run`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RetentionSource {
    /// Nobody chose it: the default (`until-consumed`), or set by code.
    #[default]
    Default,
    /// The diagram writes a `retention = …` line (even `until-consumed`):
    /// a live run keeps it.
    Diagram,
    /// A live run replaced the default with its bounded keep-latest.
    LiveDefault,
}

/// Records a live run's bus keeps at most, over all its partitions (see
/// [`Retention::for_live_run`]): 3 × 2^19 records of 64 bytes
/// (`size_of::<Record>()`; the chunked log adds under 1%) are 96 MB.
pub const LIVE_RETAINED_RECORDS: u64 = 3 << 19;

/// The fewest records per partition a live run keeps, however many
/// partitions it has.
pub const LIVE_MIN_RECORDS_PER_PARTITION: u64 = 4_096;

impl Retention {
    /// Whether records are dropped whether or not every group read them
    /// (Kafka's size and time retention).
    pub fn drops_unread(self) -> bool {
        matches!(self, Retention::KeepLatest { .. } | Retention::Time { .. })
    }

    /// Whether a record nobody subscribes to is kept (for groups added later).
    pub fn keeps_unsubscribed(self) -> bool {
        self != Retention::UntilConsumed
    }

    /// The retention of a live run over `partitions` partitions in all,
    /// when the diagram leaves it at the default (`until-consumed`): keep
    /// the latest [`LIVE_RETAINED_RECORDS`] records spread over the
    /// partitions (at least [`LIVE_MIN_RECORDS_PER_PARTITION`] each). On
    /// the seed diagram (12 partitions of about 33 records/s each) that is
    /// 131,072 records a partition, 65 minutes of a 1× run from offset 0,
    /// so a consumer added in the first hour reads the run from its start;
    /// memory stays bounded at any speed. Any other retention the diagram
    /// sets is kept as it is.
    pub fn for_live_run(self, partitions: u64) -> Retention {
        match self {
            Retention::UntilConsumed => Retention::KeepLatest {
                records: (LIVE_RETAINED_RECORDS / partitions.max(1))
                    .max(LIVE_MIN_RECORDS_PER_PARTITION),
            },
            other => other,
        }
    }
}

/// The CQRS command path (see the `cqrs` module doc): a gateway sending
/// commands to a command handler that publishes to a bus, and queries to
/// the read DB.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CqrsSpec {
    /// The gateway's Mermaid id.
    pub gateway: String,
    /// The command handler's Mermaid id.
    pub handler: String,
    /// The bus it publishes to.
    pub bus: String,
    /// The event type (topic) it publishes as.
    pub event_type: String,
    /// The read DB the gateway queries (a sink with read views), if any.
    pub read_db: Option<String>,
    /// "Place order" commands per second.
    pub place_order_per_s: f64,
    /// "Pay" commands per second.
    pub pay_per_s: f64,
    /// "Register user" commands per second.
    pub register_per_s: f64,
    /// Queries to the read DB per second.
    pub query_per_s: f64,
    /// Order and user ids.
    pub keys: KeySpace,
    /// Commands the handler serves at once.
    pub concurrency: u32,
    /// Time to handle one command (between loading and appending).
    pub service: ServiceTime,
    /// Attempts per command when appends conflict (the first included).
    pub max_attempts: u32,
    /// Commands waiting at most; more are shed.
    pub queue_capacity: u32,
}

impl CqrsSpec {
    /// The default path from `gateway` through `handler` to `bus`: 40
    /// orders, 30 payments and 30 registrations a second (the 100/s a
    /// plain source would publish), 50 queries a second, ids uniform over
    /// 10,000, 4 concurrent commands of exponential 2 ms, 5 attempts, a
    /// queue of 10,000.
    pub fn new(gateway: &str, handler: &str, bus: &str, event_type: &str) -> CqrsSpec {
        CqrsSpec {
            gateway: gateway.to_string(),
            handler: handler.to_string(),
            bus: bus.to_string(),
            event_type: event_type.to_string(),
            read_db: None,
            place_order_per_s: 40.0,
            pay_per_s: 30.0,
            register_per_s: 30.0,
            query_per_s: 50.0,
            keys: KeySpace::default(),
            concurrency: 4,
            service: ServiceTime::Exponential { mean_us: 2_000.0 },
            max_attempts: 5,
            queue_capacity: 10_000,
        }
    }

    fn validate(&self, l: &Limits) -> Result<(), SimError> {
        let rates = [
            self.place_order_per_s,
            self.pay_per_s,
            self.register_per_s,
            self.query_per_s,
        ];
        let total: f64 = rates.iter().sum();
        if rates.iter().any(|r| !(r.is_finite() && *r >= 0.0)) || !(total > 0.0 && total <= 1e6) {
            return Err(out_of_range(
                "cqrs rates",
                format!("{rates:?}"),
                "each ≥ 0, 0 < sum ≤ 1e6",
            ));
        }
        if self.keys.count == 0
            || self.keys.count > l.max_zipf_keys && self.keys.dist != KeyDist::Uniform
        {
            return Err(out_of_range(
                "cqrs keys.count",
                self.keys.count,
                "≥ 1 (Zipf: within limits)",
            ));
        }
        if self.concurrency == 0 || self.concurrency > l.max_instances {
            return Err(out_of_range(
                "cqrs concurrency",
                self.concurrency,
                format!("1..={}", l.max_instances),
            ));
        }
        if self.max_attempts == 0 || self.max_attempts > l.max_attempts {
            return Err(out_of_range(
                "cqrs max_attempts",
                self.max_attempts,
                format!("1..={}", l.max_attempts),
            ));
        }
        if self.queue_capacity == 0 || self.queue_capacity as usize > l.max_queued_records {
            return Err(out_of_range(
                "cqrs queue_capacity",
                self.queue_capacity,
                format!("1..={}", l.max_queued_records),
            ));
        }
        self.service.validate("cqrs service")
    }
}

/// Everything a run needs besides the diagram and the seed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scenario {
    /// Partitions per topic.
    pub partitions: u32,
    /// The event sources.
    pub sources: Vec<SourceSpec>,
    /// Group parameters by consuming component's Mermaid id; groups not
    /// listed use `default_group`.
    pub groups: BTreeMap<String, GroupParams>,
    /// Parameters of groups not listed in `groups`.
    pub default_group: GroupParams,
    /// Virtual time between metric samples.
    pub sample_interval_us: u64,
    /// Bounds on everything that grows.
    pub limits: Limits,
    /// How long the bus keeps records.
    pub retention: Retention,
    /// Control inputs applied automatically at their virtual times.
    pub faults: Vec<ScheduledFault>,
    /// The CQRS command path, if the diagram has one.
    pub cqrs: Option<CqrsSpec>,
    /// Groups publishing in reaction to what they apply (sagas, relays,
    /// upcasters); none by default.
    pub reactions: Vec<ReactionSpec>,
    /// The schema registry, when the diagram has one.
    #[serde(default)]
    pub registry: Option<super::registry::RegistrySpec>,
    /// Aggregate snapshots: event-store Mermaid id → versions of a stream
    /// between snapshots (`Id.snapshot-every = N`); none by default.
    #[serde(default)]
    pub snapshot_every: BTreeMap<String, u32>,
    /// Where `retention` came from. Not serialised: it is how the diagram
    /// was read, not part of the run, and a recording checks its stored
    /// scenario against the one its diagram gives again (whose source is
    /// then the diagram's retention line, if any).
    #[serde(skip)]
    pub retention_source: RetentionSource,
    /// Where groups' commit settings came from, by group name (`*` for
    /// `default_group`); a group not listed takes `*`'s, and with neither
    /// it is [`CommitSource::Default`]. Not serialised, as `retention_source`.
    #[serde(skip)]
    pub commit_sources: BTreeMap<String, CommitSource>,
}

/// Events per second of each source in the default scenario.
pub const DEFAULT_RATE_PER_S: f64 = 100.0;
/// Partitions per topic in the default scenario.
pub const DEFAULT_PARTITIONS: u32 = 3;

impl Scenario {
    /// A scenario with no sources and default settings.
    pub fn empty() -> Scenario {
        Scenario {
            partitions: DEFAULT_PARTITIONS,
            sources: Vec::new(),
            groups: BTreeMap::new(),
            default_group: GroupParams::default(),
            sample_interval_us: 100_000,
            limits: Limits::default(),
            retention: Retention::UntilConsumed,
            faults: Vec::new(),
            cqrs: None,
            reactions: Vec::new(),
            registry: None,
            snapshot_every: BTreeMap::new(),
            retention_source: RetentionSource::Default,
            commit_sources: BTreeMap::new(),
        }
    }

    /// The scenario a diagram implies: every connection publishing into a
    /// bus is a Poisson source of [`DEFAULT_RATE_PER_S`] events/s of its
    /// label's event type (`<Component>Event` when unlabelled), keyed
    /// uniformly over 10,000 aggregate ids; every node a bus feeds
    /// (consumers, projections, sagas, event stores) is a one-instance
    /// group with exponential service of mean 1 ms.
    ///
    /// The first command handler a gateway calls and that publishes to a
    /// bus is driven by that gateway instead ([`CqrsSpec::new`]'s rates;
    /// the read DB is the gateway's first other target); other command
    /// handlers that publish are plain sources.
    pub fn default_for(graph: &ArchGraph) -> Scenario {
        let mut s = Scenario::empty();
        for c in graph.connections() {
            if c.kind != ConnectionKind::Publish {
                continue;
            }
            let component = graph.key_of(c.from).to_string();
            let event_type = match &c.event_type {
                Some(t) => t.as_str().to_string(),
                None => default_event_type(&component),
            };
            let bus = graph.key_of(c.to).to_string();
            if s.cqrs.is_none()
                && graph.component(c.from).map(|x| x.role) == Some(Role::Command)
                && let Some(gw) = graph
                    .incoming(c.from)
                    .into_iter()
                    .find(|i| graph.component(i.from).map(|x| x.role) == Some(Role::Gateway))
            {
                let mut spec = CqrsSpec::new(graph.key_of(gw.from), &component, &bus, &event_type);
                spec.read_db = graph
                    .outgoing(gw.from)
                    .into_iter()
                    .find(|o| o.to != c.from)
                    .map(|o| graph.key_of(o.to).to_string());
                s.cqrs = Some(spec);
                continue;
            }
            if s.sources
                .iter()
                .any(|x| x.component == component && x.bus == bus && x.event_type == event_type)
            {
                continue;
            }
            s.sources.push(SourceSpec {
                schema: Schema::for_event_type(&event_type),
                component,
                bus,
                event_type,
                arrival: Arrival::Poisson {
                    rate_per_s: DEFAULT_RATE_PER_S,
                },
                burst: None,
                keys: KeySpace::default(),
            });
        }
        for id in consuming_nodes(graph) {
            s.groups
                .entry(graph.key_of(id).to_string())
                .or_insert(s.default_group);
        }
        s.registry = super::registry::RegistrySpec::for_graph(graph);
        s
    }

    /// The parameters of the group of component `key`.
    pub fn group_params(&self, key: &str) -> GroupParams {
        self.groups.get(key).copied().unwrap_or(self.default_group)
    }

    /// Where group `key`'s commit setting came from (see `commit_sources`).
    pub fn commit_source(&self, key: &str) -> CommitSource {
        self.commit_sources
            .get(key)
            .or_else(|| self.commit_sources.get("*"))
            .copied()
            .unwrap_or_default()
    }

    /// Checks every value against its range and [`Limits`].
    pub fn validate(&self) -> Result<(), SimError> {
        let l = &self.limits;
        if self.partitions == 0 || self.partitions > l.max_partitions {
            return Err(out_of_range(
                "partitions",
                self.partitions,
                format!("1..={}", l.max_partitions),
            ));
        }
        if self.sample_interval_us == 0 {
            return Err(out_of_range("sample_interval_us", 0, "≥ 1"));
        }
        match self.retention {
            Retention::KeepLatest { records: 0 } => {
                return Err(out_of_range("retention keep-latest", 0, "≥ 1 record"));
            }
            Retention::Time { us: 0 } => {
                return Err(out_of_range("retention time", 0, "≥ 1 µs"));
            }
            _ => {}
        }
        if l.max_samples < 2 {
            return Err(out_of_range("limits.max_samples", l.max_samples, "≥ 2"));
        }
        for src in &self.sources {
            let what =
                |field: &str| format!("source {}/{}: {field}", src.component, src.event_type);
            let rate = src.arrival.rate_per_s();
            // At most one event per µs on average: finer has no meaning here.
            if !(rate.is_finite() && rate > 0.0 && rate <= 1e6) {
                return Err(out_of_range(&what("rate_per_s"), rate, "0 < rate ≤ 1e6"));
            }
            if src.keys.count == 0 {
                return Err(out_of_range(&what("keys.count"), 0, "≥ 1"));
            }
            if let Some(b) = src.burst {
                let r = b.rate_per_s;
                if !(r.is_finite() && r > 0.0 && r <= 1e6) {
                    return Err(out_of_range(&what("burst.rate_per_s"), r, "0 < rate ≤ 1e6"));
                }
                if b.length_us == 0 || b.every_us <= b.length_us {
                    return Err(out_of_range(
                        &what("burst"),
                        format!("{} µs every {} µs", b.length_us, b.every_us),
                        "0 < length < every",
                    ));
                }
            }
            if let KeyDist::Zipf { exponent } = src.keys.dist {
                if !(exponent.is_finite() && exponent > 0.0 && exponent <= 10.0) {
                    return Err(out_of_range(&what("keys.exponent"), exponent, "0 < s ≤ 10"));
                }
                if src.keys.count > l.max_zipf_keys {
                    return Err(out_of_range(
                        &what("keys.count"),
                        src.keys.count,
                        format!("≤ {} for Zipf", l.max_zipf_keys),
                    ));
                }
            }
        }
        let groups = std::iter::once(("default".to_string(), &self.default_group))
            .chain(self.groups.iter().map(|(k, g)| (format!("group {k}"), g)));
        for (name, g) in groups {
            if g.instances == 0 || g.instances > l.max_instances {
                return Err(out_of_range(
                    &format!("{name}: instances"),
                    g.instances,
                    format!("1..={}", l.max_instances),
                ));
            }
            g.service.validate(&format!("{name}: service"))?;
            validate_delivery(&name, g, l)?;
        }
        if self.faults.len() > l.max_pending_controls {
            return Err(out_of_range(
                "faults",
                self.faults.len(),
                format!(
                    "at most {} (limits.max_pending_controls)",
                    l.max_pending_controls
                ),
            ));
        }
        for f in &self.faults {
            f.fault.validate(l)?;
        }
        if let Some(c) = &self.cqrs {
            c.validate(l)?;
        }
        if let Some(r) = &self.registry {
            r.validate()
                .map_err(|e| out_of_range("registry.lookup", r.lookup_us, e))?;
        }
        for r in &self.reactions {
            let p = r.probability;
            if !(p.is_finite() && (0.0..=1.0).contains(&p)) {
                return Err(out_of_range(
                    &format!("reaction {}: {} -> {}", r.component, r.on, r.emit),
                    p,
                    "0 ≤ p ≤ 1",
                ));
            }
        }
        Ok(())
    }
}

fn validate_delivery(name: &str, g: &GroupParams, l: &Limits) -> Result<(), SimError> {
    let p = g.failure_probability;
    if !(p.is_finite() && (0.0..=1.0).contains(&p)) {
        return Err(out_of_range(
            &format!("{name}: failure_probability"),
            p,
            "0 ≤ p ≤ 1",
        ));
    }
    if g.retry.max_attempts == 0 || g.retry.max_attempts > l.max_attempts {
        return Err(out_of_range(
            &format!("{name}: retry.max_attempts"),
            g.retry.max_attempts,
            format!("1..={}", l.max_attempts),
        ));
    }
    let backoff_ok = match g.retry.backoff {
        Backoff::Constant { delay_us } => delay_us <= 3_600_000_000,
        Backoff::Exponential {
            initial_us,
            factor,
            max_us,
        } => {
            factor.is_finite()
                && (1.0..=1000.0).contains(&factor)
                && initial_us <= max_us
                && max_us <= 3_600_000_000
        }
    };
    if !backoff_ok {
        return Err(out_of_range(
            &format!("{name}: retry.backoff"),
            format!("{:?}", g.retry.backoff),
            "delays ≤ 1 h, 1 ≤ factor ≤ 1000, initial ≤ max",
        ));
    }
    if g.concurrency > l.max_concurrency {
        return Err(out_of_range(
            &format!("{name}: concurrency"),
            g.concurrency,
            format!("0..={} (0 = no cap)", l.max_concurrency),
        ));
    }
    if let Some(q) = g.queue
        && (q.capacity == 0 || q.capacity as usize > l.max_queued_records)
    {
        return Err(out_of_range(
            &format!("{name}: queue"),
            q.capacity,
            format!("1..={}", l.max_queued_records),
        ));
    }
    if g.commit_every == 0 || g.commit_every > l.max_commit_every {
        return Err(out_of_range(
            &format!("{name}: commit_every"),
            g.commit_every,
            format!("1..={}", l.max_commit_every),
        ));
    }
    if g.commit_interval_us > MAX_COMMIT_INTERVAL_US {
        return Err(out_of_range(
            &format!("{name}: commit_interval_us"),
            g.commit_interval_us,
            format!("0..={MAX_COMMIT_INTERVAL_US} (0 = by record count)"),
        ));
    }
    Ok(())
}

/// The event type of an unlabelled publishing connection from `component`.
pub fn default_event_type(component: &str) -> String {
    format!("{component}Event")
}

/// The nodes that form consumer groups, from the diagram's event catalog:
/// for each bus (in id order), the consumers, projections and sagas it
/// feeds (unfiltered, then by subscription) and the event stores it
/// appends to; each node once, at its first appearance.
pub(crate) fn consuming_nodes(graph: &ArchGraph) -> Vec<crate::model::ComponentId> {
    let catalog = graph.event_catalog();
    let mut out = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for d in catalog.buses.values() {
        let subscribed = d.by_type.values().flatten();
        for &c in d.to_all.iter().chain(subscribed).chain(d.stores.iter()) {
            if seen.insert(c) {
                out.push(c);
            }
        }
    }
    out
}

pub(crate) fn out_of_range(what: &str, value: impl ToString, allowed: impl ToString) -> SimError {
    SimError::OutOfRange {
        what: what.to_string(),
        value: value.to_string(),
        allowed: allowed.to_string(),
    }
}

/// Draws keys for one source: uniform, or Zipf through a cumulative table.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) enum KeySampler {
    Uniform(u64),
    Zipf(Vec<f64>),
}

impl KeySampler {
    pub(crate) fn new(keys: &KeySpace) -> KeySampler {
        match keys.dist {
            KeyDist::Uniform => KeySampler::Uniform(keys.count),
            KeyDist::Zipf { exponent } => {
                let mut acc = 0.0;
                let mut cdf: Vec<f64> = (1..=keys.count)
                    .map(|k| {
                        acc += (k as f64).powf(-exponent);
                        acc
                    })
                    .collect();
                for x in &mut cdf {
                    *x /= acc;
                }
                KeySampler::Zipf(cdf)
            }
        }
    }

    /// A key in `1..=count`.
    #[inline]
    pub(crate) fn sample(&self, rng: &mut SimRng) -> u64 {
        match self {
            KeySampler::Uniform(n) => 1 + rng.below(*n),
            KeySampler::Zipf(cdf) => {
                let u = rng.open01();
                let i = cdf.partition_point(|&c| c < u);
                1 + i.min(cdf.len().saturating_sub(1)) as u64
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemas_follow_event_names() {
        assert_eq!(Schema::for_event_type("OrderCreated"), Schema::Order);
        assert_eq!(Schema::for_event_type("UserRegistered"), Schema::User);
        assert_eq!(Schema::for_event_type("PaymentProcessed"), Schema::Payment);
        assert_eq!(Schema::for_event_type("Tick"), Schema::Generic);
    }

    #[test]
    fn payloads_are_keyed_and_plausible() {
        let mut rng = SimRng::new(3);
        match Schema::Order.generate(42, &mut rng) {
            Payload::Order {
                order_id,
                quantity,
                amount_cents,
                sku,
                ..
            } => {
                assert_eq!(order_id, 42);
                assert!((1..=5).contains(&quantity));
                assert_eq!(amount_cents, u64::from(quantity) * price_cents(sku));
            }
            other => panic!("not an order: {other:?}"),
        }
        let user = Schema::User.generate(7, &mut rng);
        assert!(user.email().is_some_and(|e| e.starts_with("user7@")));
        assert!(
            Schema::Payment
                .generate(9, &mut rng)
                .payment_method()
                .is_some()
        );
    }

    #[test]
    fn zipf_prefers_low_keys_and_uniform_covers_range() {
        let mut rng = SimRng::new(4);
        let zipf = KeySampler::new(&KeySpace {
            count: 1000,
            dist: KeyDist::Zipf { exponent: 1.0 },
        });
        let hot = (0..10_000).filter(|_| zipf.sample(&mut rng) == 1).count();
        // P(key 1) = 1/H(1000) ≈ 0.1336.
        assert!((1_200..1_480).contains(&hot), "{hot}");
        let uni = KeySampler::new(&KeySpace {
            count: 3,
            dist: KeyDist::Uniform,
        });
        for _ in 0..100 {
            assert!((1..=3).contains(&uni.sample(&mut rng)));
        }
    }

    #[test]
    fn validate_rejects_bad_values() {
        let mut s = Scenario::empty();
        assert!(s.validate().is_ok());
        s.partitions = 0;
        assert!(s.validate().is_err());
        s.partitions = 3;
        s.default_group.service = ServiceTime::LogNormal {
            p50_us: 10.0,
            p99_us: 5.0,
        };
        assert!(s.validate().is_err());
    }
}
