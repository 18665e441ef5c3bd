//! Consumer groups: one per node a bus feeds (consumers, projections,
//! sagas, event stores), plus any added mid-run. A group has instances;
//! each (topic, partition) it subscribes to is owned by one live instance
//! and served by a partition worker that processes one record at a time.
//!
//! # Delivery semantics
//! At-least-once. A worker keeps a `position` (the next offset to process)
//! and a `committed` offset (≤ position; everything below is done for
//! good). It commits every `commit_every` records and whenever it catches
//! up — or, in a group with a `commit_interval_us`, only on the group's
//! timer, as Kafka's auto-commit does (the live run's default: 5 s). A
//! failed attempt is retried at the same offset after a backoff;
//! after `max_attempts` the record goes to the group's dead-letter topic —
//! the partition never advances past a failing record before that. When
//! the owning instance crashes, the in-flight record is lost and the
//! partition is re-read from `committed`: records between `committed` and
//! `position` are delivered again.
//!
//! # Idempotency
//! With `idempotent` on, a group remembers the event ids it applied in a
//! [`DedupeStore`] of bounded size (`limits.max_dedupe_ids`, oldest ids
//! forgotten first) and skips the side effect of an id it remembers. A
//! crash re-delivers at most `commit_every` records per partition (or an
//! interval's worth, on a timer), and a
//! reset re-delivers what it rewinds over, so a store holding more ids
//! than the group applies between those points never forgets an id it
//! will see again; a smaller one can, and the duplicate is then counted
//! (and fails the invariant) rather than hidden. The store costs a
//! `BTreeSet` entry and a `VecDeque` slot per id: with idempotency on, the
//! release build delivers about half as fast (4 M/s vs 7.8 M/s on the
//! seed diagram, 1000 virtual seconds).

use super::clock::VirtualTime;
use super::history::ChunkLog;
use super::scenario::{GroupParams, Payload};
use super::state::{Applied, KeyMap};
use super::store_base::{StoreBase, fold_shared};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

/// Owner value of a worker whose group has no live instance.
pub(crate) const UNOWNED: u32 = u32::MAX;

/// A consumer group (engine-internal state; read through [`super::Engine`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Group {
    /// Metric index of the component.
    pub component: u32,
    pub name: String,
    pub params: GroupParams,
    /// Topics subscribed, by index, ascending.
    pub topics: Vec<u32>,
    /// Workers `first_worker..end_worker`.
    pub first_worker: u32,
    pub end_worker: u32,
    /// Metric indices of the sinks it writes to.
    pub sinks: Vec<u32>,
    /// Records processed per instance.
    pub processed_by_instance: Vec<u64>,
    /// Whether each instance (by number) is up.
    pub alive: Vec<bool>,
    /// Service-time multiplier (faults: slow ×N).
    pub slow_factor: f64,
    pub dedupe: DedupeStore,
    pub dead_letters: DeadLetterTopic,
    /// The event store this group appends to, if its node is one.
    pub store: Option<EventStore>,
    /// Indices of the engine's sink states, parallel to `sinks`.
    pub sink_states: Vec<u32>,
    /// Records a forward reset skipped (never applied by this group).
    pub skipped: u64,
    /// Whether it writes to a read-views sink (it measures staleness).
    pub read_views: bool,
    pub counters: DeliveryCounters,
    /// Records in service (or waiting to be retried) per instance, when
    /// `params.concurrency` caps them.
    pub slots_busy: Vec<u32>,
    /// Per instance, the workers waiting for a free slot, first come first served.
    pub slot_waiters: Vec<VecDeque<u32>>,
    /// What it publishes when it applies a record (sagas, relays, upcasters).
    pub reactions: Vec<Reaction>,
}

impl Group {
    /// Takes one of instance `i`'s concurrency slots for `waiter` (a
    /// worker, or the DLQ replay), or queues `waiter` once to be woken
    /// when a slot frees; `waiting` remembers that it is queued.
    pub(crate) fn take_slot(&mut self, i: usize, waiting: &mut bool, waiter: u32) -> bool {
        if self.slots_busy.len() <= i {
            self.slots_busy.resize(i + 1, 0);
            self.slot_waiters
                .resize(i + 1, std::collections::VecDeque::new());
        }
        if self.slots_busy[i] < self.params.concurrency {
            self.slots_busy[i] += 1;
            *waiting = false;
            true
        } else {
            if !*waiting {
                *waiting = true;
                self.slot_waiters[i].push_back(waiter);
            }
            false
        }
    }
}

/// A group publishing one event of topic `out` per applied record of topic
/// `on`, with probability `probability` (engine-internal).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub(crate) struct Reaction {
    pub on: u32,
    pub out: u32,
    pub probability: f64,
    /// Metric slots of the reacting component and of the bus it publishes to.
    pub component: u32,
    pub bus: u32,
    pub schema: super::scenario::Schema,
}

/// What went wrong with a delivery that was dead-lettered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeliveryError {
    /// The record was poisoned (every attempt fails).
    Poisoned,
    /// Random failures on every attempt (failure probability).
    Transient,
    /// The record carries no schema id the consumer could look up in the
    /// schema registry (written without it): every attempt fails.
    Undecodable,
    /// Its schema id was not cached and the schema registry was down.
    RegistryDown,
}

/// One record in a dead-letter topic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadLetter {
    /// The topic it came from.
    pub topic: String,
    /// Its partition there.
    pub partition: u32,
    /// Its offset there.
    pub offset: u64,
    /// Its key.
    pub key: u64,
    /// Its event id.
    pub event_id: u64,
    /// Why the last attempt failed.
    pub error: DeliveryError,
    /// Attempts made.
    pub attempts: u32,
    /// When it was dead-lettered.
    pub at: VirtualTime,
    /// When the record was appended (kept so a replay can apply it after
    /// the bus has dropped it).
    pub produced_at: VirtualTime,
    /// The record's fields (kept for a replay, as `produced_at`).
    pub payload: Payload,
    /// The record's `source` (a replay checks its schema id again).
    #[serde(default = "unknown_source")]
    pub source: u32,
}

/// The source of a dead letter from an image that did not keep it: a
/// reaction's (its schema id then follows the reactions' use of the
/// registry).
fn unknown_source() -> u32 {
    u32::MAX - 1
}

/// Replay attempts a DLQ remembers ([`DeadLetterTopic::replay_log`]); older
/// ones are forgotten first. A replay makes one attempt per letter when it
/// succeeds, so this is about the last 4,096 letters replayed.
pub const MAX_REPLAY_LOG: usize = 4_096;

/// How one attempt of a DLQ replay at a letter ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReplayOutcome {
    /// Applied: its side effect took place.
    Applied,
    /// Applied again: the group had applied it before (a duplicate,
    /// idempotency off).
    Reapplied,
    /// The idempotent group had seen it: skipped as a duplicate.
    SkippedDuplicate,
    /// Failed; the replay retries it at `retry_at`.
    Failed {
        /// When the next attempt starts.
        retry_at: VirtualTime,
    },
    /// Failed for the last time: back in the DLQ as a new letter.
    DeadLetteredAgain,
    /// In service when its instance crashed or the group rebalanced: the
    /// replay reads it again (from its last commit).
    Abandoned,
    /// In service at the moment asked about (never kept in the log).
    InService,
}

/// One attempt of a group's DLQ replay at a letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplayAttempt {
    /// The letter's event id.
    pub event_id: u64,
    /// The group's instance that worked on it.
    pub instance: u32,
    /// 1 for the replay's first attempt at the letter, 2 for its first retry, …
    pub attempt: u32,
    /// When the attempt started.
    pub start: VirtualTime,
    /// When it ended (its start while in service).
    pub end: VirtualTime,
    /// How it ended.
    pub outcome: ReplayOutcome,
}

/// A replay attempt with the group whose replay made it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupReplayAttempt {
    /// The consumer group (its component's Mermaid id).
    pub group: String,
    /// The attempt.
    pub attempt: ReplayAttempt,
}

/// A group's dead-letter topic (`<group>.DLQ`): one partition, offsets in
/// order of arrival. Keeps at most `capacity` records; `len` counts all.
/// A replay ([`super::Fault::ReplayDlq`]) reads the kept records; each one
/// it commits leaves `records` and is counted in `replayed`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadLetterTopic {
    /// `<group>.DLQ`.
    pub name: String,
    /// Records dead-lettered so far (= the DLQ's high watermark).
    pub len: u64,
    /// The ones kept and not replayed yet (at most `capacity`).
    pub records: Vec<DeadLetter>,
    /// Records taken out by replays so far.
    pub replayed: u64,
    #[serde(skip)]
    capacity: usize,
    /// The replays' latest attempts, oldest first (at most
    /// [`MAX_REPLAY_LOG`]): what the event log lists of a letter once it
    /// has left the DLQ. Last, and defaulted, so images made before it
    /// still decode.
    #[serde(default)]
    pub replay_log: VecDeque<ReplayAttempt>,
}

impl DeadLetterTopic {
    pub(crate) fn new(group: &str, capacity: usize) -> DeadLetterTopic {
        DeadLetterTopic {
            name: format!("{group}.DLQ"),
            len: 0,
            records: Vec::new(),
            replayed: 0,
            capacity,
            replay_log: VecDeque::new(),
        }
    }

    /// Sets the bound an engine image does not carry (it is not part of
    /// the topic's JSON either).
    pub(crate) fn set_capacity(&mut self, capacity: usize) {
        self.capacity = capacity;
    }

    /// Records waiting in the DLQ: dead-lettered and not replayed (some
    /// may not be kept, see [`DeadLetterTopic::not_kept`]).
    pub fn waiting(&self) -> u64 {
        self.len - self.replayed
    }

    /// Records dead-lettered while the DLQ kept `capacity` records: they
    /// are counted but cannot be replayed.
    pub fn not_kept(&self) -> u64 {
        self.waiting() - self.records.len() as u64
    }

    /// Takes the first `n` kept records out: a replay committed them.
    pub(crate) fn commit_replayed(&mut self, n: usize) {
        let n = n.min(self.records.len());
        self.records.drain(..n);
        self.replayed += n as u64;
    }

    /// Remembers a replay attempt, forgetting the oldest beyond
    /// [`MAX_REPLAY_LOG`].
    pub(crate) fn log_replay(&mut self, attempt: ReplayAttempt) {
        debug_assert!(
            attempt.outcome != ReplayOutcome::InService,
            "only ended attempts are kept"
        );
        if self.replay_log.len() == MAX_REPLAY_LOG {
            self.replay_log.pop_front();
        }
        self.replay_log.push_back(attempt);
    }

    pub(crate) fn push(&mut self, letter: DeadLetter) {
        self.len += 1;
        if self.records.len() < self.capacity {
            self.records.push(letter);
        }
    }
}

/// The event ids an idempotent group remembers: a FIFO window of at most
/// `capacity` ids (see the module doc for why bounded is enough).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DedupeStore {
    ids: BTreeSet<u64>,
    order: VecDeque<u64>,
    capacity: usize,
}

impl DedupeStore {
    /// An empty store remembering at most `capacity` ids.
    pub fn new(capacity: usize) -> DedupeStore {
        DedupeStore {
            ids: BTreeSet::new(),
            order: VecDeque::new(),
            capacity,
        }
    }

    /// Whether `id` is remembered.
    pub fn contains(&self, id: u64) -> bool {
        self.ids.contains(&id)
    }

    /// Remembers `id`, forgetting the oldest if full.
    pub fn insert(&mut self, id: u64) {
        if self.capacity == 0 || !self.ids.insert(id) {
            return;
        }
        self.order.push_back(id);
        if self.order.len() > self.capacity
            && let Some(old) = self.order.pop_front()
        {
            self.ids.remove(&old);
        }
    }

    /// Ids remembered.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}

/// An event store's log: every event applied to it gets the next global
/// position and the next version of its stream (its aggregate key). The
/// events appended through [`EventStore::append_event`] are kept in order
/// of position, at most `max_log` of them (later ones are counted in
/// [`EventStore::log_dropped`]), so a projection can be rebuilt from the
/// store rather than from the bus.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct EventStore {
    len: u64,
    /// Versions kept as `u32` (saturating) to halve the map's cache footprint.
    versions: KeyMap<u32>,
    max_streams: usize,
    untracked: u64,
    /// Shared by snapshots of the engine: cloning copies no full chunk.
    /// Not part of an engine image (it is the run's history, which the
    /// recording's `events` table holds): a restored store keeps only
    /// what it appends after the image.
    #[serde(skip)]
    log: ChunkLog<Applied>,
    /// Events the log took (kept, or lost to an image).
    log_len: usize,
    /// Leading events of the log not restored from an image.
    #[serde(skip)]
    log_missing: usize,
    max_log: usize,
    log_dropped: u64,
    /// Keep the latest `max_log` events (dropping the oldest) rather than
    /// the first ones: a live run's store, whose memory must plateau.
    #[serde(skip)]
    keep_latest: bool,
    /// Leading events dropped to keep the latest `max_log`.
    #[serde(skip)]
    log_trimmed: usize,
    /// Aggregate snapshots, when the scenario asks for them
    /// (`Id.snapshot-every = N`).
    #[serde(default)]
    snapshots: Option<Box<super::aggregate::Snapshots>>,
    /// Aggregate loads before appends, and the events they read.
    #[serde(default)]
    loads: super::aggregate::StoreLoads,
    /// The projections' states as of the last trimmed event, when a live
    /// run tracks them ([`EventStore::track_base`]): trimmed events are
    /// folded in before they leave the log, so a projection can still be
    /// rebuilt (`store_base.rs`). Always at position `log_trimmed`. Not
    /// part of an image (neither is the log).
    #[serde(skip)]
    base: Option<Arc<StoreBase>>,
}

impl EventStore {
    /// An empty store tracking at most `max_streams` stream versions and
    /// keeping no events.
    pub fn new(max_streams: usize) -> EventStore {
        EventStore {
            max_streams,
            ..EventStore::default()
        }
    }

    /// An empty store that also keeps up to `max_log` events.
    pub fn with_log(max_streams: usize, max_log: usize) -> EventStore {
        EventStore {
            max_streams,
            max_log,
            ..EventStore::default()
        }
    }

    /// Appends `event` to its stream (its key) and keeps it in the log if
    /// there is room; returns (global position, stream version) as
    /// [`EventStore::append`] does.
    #[inline]
    pub fn append_event(&mut self, event: Applied) -> (u64, u64) {
        if self.keep_latest && self.max_log > 0 {
            if self.log.len() >= self.max_log {
                // With a base to fold into, a sixteenth of the log at a
                // time: a snapshot shares the base until the next batch.
                let n = match &mut self.base {
                    Some(base) => {
                        let n = (self.max_log / 16).max(1);
                        fold_shared(base, self.log.iter().take(n));
                        n
                    }
                    None => 1,
                };
                self.log.trim_front(n);
                self.log_trimmed += n;
            }
            self.log.push(event);
            self.log_len += 1;
        } else if self.log_len < self.max_log {
            self.log.push(event);
            self.log_len += 1;
        } else {
            self.log_dropped += 1;
        }
        let (position, version) = self.append(event.key);
        if version > 1 {
            // The writer loaded the aggregate first: from its latest
            // snapshot, or from the start of the stream.
            let from = self
                .snapshots
                .as_ref()
                .map_or(0, |s| s.latest_version(event.key));
            self.loads.loads += 1;
            self.loads.from_snapshot += u64::from(from > 0);
            self.loads.events_read += version - 1 - from;
        }
        if let Some(s) = &mut self.snapshots
            && s.on_append(&event, position, self.max_streams)
        {
            self.loads.snapshots_taken += 1;
        }
        (position, version)
    }

    /// Writes a snapshot of each stream every `every` versions from now on
    /// (0: none).
    pub fn set_snapshot_every(&mut self, every: u32) {
        self.snapshots = (every > 0).then(|| Box::new(super::aggregate::Snapshots::new(every)));
    }

    /// Versions between a stream's snapshots (0: no snapshots).
    pub fn snapshot_every(&self) -> u32 {
        self.snapshots.as_ref().map_or(0, |s| s.every())
    }

    /// Streams with a snapshot.
    pub fn snapshot_count(&self) -> usize {
        self.snapshots.as_ref().map_or(0, |s| s.len())
    }

    /// The aggregate loads before appends and what they read.
    pub fn loads(&self) -> super::aggregate::StoreLoads {
        self.loads
    }

    /// Loads aggregate `key` as a writer does: its latest snapshot plus the
    /// events after it in the log (the whole stream without a snapshot).
    /// Returns the state and the events read; `None` when the log no
    /// longer holds the events needed (dropped, trimmed or before an image).
    pub fn load(&self, key: u64) -> Option<(super::aggregate::Aggregate, u64)> {
        match self.snapshots.as_ref().and_then(|s| s.latest(key)) {
            Some(snap) => self.fold_from(key, snap.position, snap.state),
            None => self.load_full(key),
        }
    }

    /// Loads aggregate `key` from the first event of its stream, ignoring
    /// snapshots; `None` unless the log holds every event.
    pub fn load_full(&self, key: u64) -> Option<(super::aggregate::Aggregate, u64)> {
        self.fold_from(key, 0, super::aggregate::Aggregate::default())
    }

    /// Folds the events of `key` after global position `after` into `state`.
    fn fold_from(
        &self,
        key: u64,
        after: u64,
        mut state: super::aggregate::Aggregate,
    ) -> Option<(super::aggregate::Aggregate, u64)> {
        // The log holds positions `missing + 1 ..= missing + log.len()`.
        let missing = self.log_missing() as u64;
        if after < missing || self.log_dropped > 0 {
            return None;
        }
        let skip = usize::try_from(after - missing).ok()?;
        let mut read = 0;
        for event in self.log.iter().skip(skip).filter(|e| e.key == key) {
            state.apply(event);
            read += 1;
        }
        Some((state, read))
    }

    /// Keeps the latest `max_log` events from now on (oldest dropped
    /// first) instead of the first ones: for live runs, whose memory must
    /// not grow with their length. A projection can then no longer be
    /// rebuilt from position 1 once events were dropped.
    pub fn set_keep_latest(&mut self, on: bool) {
        self.keep_latest = on;
    }

    /// Whether the log keeps the latest events ([`EventStore::set_keep_latest`]).
    pub fn keeps_latest(&self) -> bool {
        self.keep_latest
    }

    /// Most events the log keeps.
    pub fn max_log(&self) -> usize {
        self.max_log
    }

    /// Drops the logged events at global positions up to `position`
    /// (counted as trimmed): what a live run no longer needs.
    pub(crate) fn trim_log_through(&mut self, position: u64) {
        let n = self.trimmable_through(position);
        if let Some(base) = &mut self.base {
            fold_shared(base, self.log.iter().take(n));
        }
        self.log.trim_front(n);
        self.log_trimmed += n;
    }

    /// As [`EventStore::trim_log_through`] for a snapshot of the run
    /// whose head is `head` (trimmed through the same position first):
    /// rather than fold a base of its own it shares the head's when that
    /// is at the same position, and keeps none otherwise.
    pub(crate) fn trim_log_through_as(&mut self, position: u64, head: Option<&EventStore>) {
        let n = self.trimmable_through(position);
        let after = (self.log_trimmed + n) as u64;
        match head.and_then(|h| h.base.as_ref()) {
            Some(b) if b.position() == after && self.log_missing == 0 => {
                self.base = Some(b.clone());
            }
            _ if n > 0 => self.base = None,
            _ => {}
        }
        self.log.trim_front(n);
        self.log_trimmed += n;
    }

    /// How many leading log events are at positions up to `position`.
    fn trimmable_through(&self, position: u64) -> usize {
        let missing = self.log_missing() as u64;
        let n = position.saturating_sub(missing);
        usize::try_from(n).map_or(self.log.len(), |n| n.min(self.log.len()))
    }

    /// Starts folding trimmed events into `base` (for a live run, whose
    /// log is trimmed); ignored when events already left the log (they
    /// can no longer be folded in).
    pub(crate) fn track_base(&mut self, base: StoreBase) {
        if self.log_missing() == 0 && self.log_dropped == 0 {
            self.base = Some(Arc::new(base));
        }
    }

    /// The projections' checkpoint at position [`EventStore::log_trimmed`],
    /// when tracked.
    pub(crate) fn base(&self) -> Option<&StoreBase> {
        self.base.as_deref()
    }

    /// Leading events of the log an engine image did not carry.
    pub(crate) fn log_missing_from_image(&self) -> usize {
        self.log_missing
    }

    /// Leading events dropped to keep the latest ones (the first kept
    /// event has global position `log_trimmed() + 1`).
    pub fn log_trimmed(&self) -> usize {
        self.log_trimmed
    }

    /// The events kept, in order of global position (the n-th has position n).
    pub fn log(&self) -> impl Iterator<Item = &Applied> + '_ {
        self.log.iter()
    }

    /// How many events are kept.
    pub fn log_len(&self) -> usize {
        self.log.len()
    }

    /// Leading events of the log not in memory: those an engine image did
    /// not carry, and those dropped to keep the latest ones (0 unless the
    /// engine was restored from an image or keeps the latest events).
    pub fn log_missing(&self) -> usize {
        self.log_missing + self.log_trimmed
    }

    /// After restoring from an image: the log taken before it is missing.
    pub(crate) fn mark_log_missing(&mut self) {
        self.log_missing = self.log_len - self.log.len();
        self.log_trimmed = 0;
    }

    /// Events appended but not kept because the log was full.
    pub fn log_dropped(&self) -> u64 {
        self.log_dropped
    }

    /// Appends an event of stream `key`; returns (global position, stream
    /// version), both 1-based. The version is 0 when the stream is beyond
    /// the tracking limit.
    pub fn append(&mut self, key: u64) -> (u64, u64) {
        self.len += 1;
        let version = match self.versions.entry(key, self.max_streams) {
            Some(v) => {
                *v = v.saturating_add(1);
                u64::from(*v)
            }
            None => {
                self.untracked += 1;
                0
            }
        };
        (self.len, version)
    }

    /// Events appended (= the last global position).
    pub fn store_len(&self) -> u64 {
        self.len
    }

    /// The version of stream `key` (events appended to it), if tracked.
    pub fn stream_version(&self, key: u64) -> Option<u64> {
        self.versions.get(key).map(|&v| u64::from(v))
    }

    /// Streams with a tracked version.
    pub fn streams(&self) -> usize {
        self.versions.len()
    }

    /// Appends to streams beyond `limits.max_streams`.
    pub fn untracked(&self) -> u64 {
        self.untracked
    }
}

/// Per-group counts of what delivery went through.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryCounters {
    /// Processing attempts that failed.
    pub failures: u64,
    /// Attempts scheduled after a failure.
    pub retries: u64,
    /// Records sent to the DLQ.
    pub dead_lettered: u64,
    /// Side effects applied for a record already applied before (a
    /// re-delivery after a crash or rebalance, with no dedupe catching it).
    pub duplicates_applied: u64,
    /// Re-deliveries whose side effect the dedupe store skipped.
    pub deduped: u64,
    /// Records re-applied after a reset moved a non-idempotent group back
    /// (replays, asked for; not duplicates). An idempotent group counts
    /// them as duplicates.
    pub replayed: u64,
    /// Partition reassignments (crash, restart, join, leave).
    pub rebalances: u64,
    /// Records processed but not yet committed when their instance
    /// crashed: they are delivered again.
    pub redelivered: u64,
    /// Records retention dropped before the group read them
    /// ([`super::Retention::KeepLatest`], [`super::Retention::Time`]): it
    /// jumped over them to the oldest record kept.
    #[serde(default)]
    pub skipped_by_retention: u64,
}

/// A set of offsets kept as disjoint runs `start..end`. Offsets are
/// applied mostly in sequence, so it holds one run plus one more per hole
/// (a dead letter, a forward reset): its size grows with holes, not with
/// records. The last run (highest start) is kept apart from the map, so
/// the per-delivery case — is the next offset in it? extend it — touches
/// two integers and no tree.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct OffsetSet {
    /// Every run but the last, by start.
    runs: BTreeMap<u64, u64>,
    /// The last run, `start..end` (empty when `end == 0`: nothing in the set).
    last: (u64, u64),
}

impl OffsetSet {
    /// Whether `offset` is in the set.
    #[inline]
    pub fn contains(&self, offset: u64) -> bool {
        let (start, end) = self.last;
        if offset >= start {
            return offset < end;
        }
        self.runs
            .range(..=offset)
            .next_back()
            .is_some_and(|(_, &end)| offset < end)
    }

    /// Adds `offset`, merging runs that become adjacent.
    #[inline]
    pub fn insert(&mut self, offset: u64) {
        let (start, end) = self.last;
        if end == 0 {
            self.last = (offset, offset.saturating_add(1));
        } else if offset == end {
            // The common case: the next offset in sequence.
            self.last.1 = end.saturating_add(1);
        } else if offset > end {
            // A hole: the last run moves into the map.
            self.runs.insert(start, end);
            self.last = (offset, offset.saturating_add(1));
        } else if !self.contains(offset) {
            self.insert_before_last(offset);
        }
    }

    /// Adds an `offset` below the last run's start that is not in the set.
    #[cold]
    fn insert_before_last(&mut self, offset: u64) {
        let next = offset.saturating_add(1);
        let prev = self
            .runs
            .range(..=offset)
            .next_back()
            .filter(|&(_, &end)| end == offset)
            .map(|(&start, _)| start);
        let from = prev.unwrap_or(offset);
        if next == self.last.0 {
            // Joins the last run (and the run before it, if adjacent).
            if let Some(p) = prev {
                self.runs.remove(&p);
            }
            self.last.0 = from;
            return;
        }
        let to = self.runs.remove(&next).unwrap_or(next);
        self.runs.insert(from, to);
    }

    /// One past the highest offset in the set (0 when empty).
    pub fn end(&self) -> u64 {
        self.last.1
    }

    /// Forgets the runs that end at or below `low`: offsets retention
    /// dropped from the bus, which are never delivered again. Keeps the
    /// set from growing a run per hole when a group keeps being skipped
    /// forward (the last run stays, for [`OffsetSet::end`]).
    #[cold]
    pub fn forget_below(&mut self, low: u64) {
        self.runs.retain(|_, end| *end > low);
    }

    /// How many runs it is kept as.
    #[cfg(test)]
    pub fn runs(&self) -> usize {
        self.runs.len() + usize::from(self.last.1 > 0)
    }
}

/// Serves one partition of one topic for one group.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Worker {
    pub group: u32,
    pub topic: u32,
    pub partition: u32,
    /// The owning instance, or [`UNOWNED`].
    pub instance: u32,
    /// Everything below is committed.
    pub committed: u64,
    /// The next offset to process (≥ committed).
    pub position: u64,
    /// Records finished since the last commit.
    pub since_commit: u32,
    /// Whether a record is in service or waiting to be retried (it is the
    /// one at `position`).
    pub busy: bool,
    /// Whether the scheduler holds an action for this worker (perhaps of
    /// an older epoch): at most one at a time.
    pub pending: bool,
    /// Bumped whenever in-flight work is abandoned; actions of an older
    /// epoch are ignored.
    pub epoch: u32,
    /// Attempts made at the record at `position`.
    pub attempt: u32,
    /// When the record in service started.
    pub started: VirtualTime,
    /// ∫ lag dt in record·µs, up to `lag_since`.
    pub lag_area: u128,
    pub lag_since: VirtualTime,
    pub processed: u64,
    /// Σ (done − appended) over processed records, in µs.
    pub sojourn_sum_us: u128,
    /// One past the highest offset finished (applied or dead-lettered).
    pub finished_upto: u64,
    /// The offsets whose side effect was applied at least once: ground
    /// truth for duplicates, independent of the dedupe store.
    pub applied: OffsetSet,
    /// Offsets below this are replays after a reset.
    pub replay_below: u64,
    /// The order check: the offset the next finish must have.
    pub expect_next: u64,
    /// Whether it is queued for a slot of its instance (concurrency cap).
    pub waiting_slot: bool,
}

impl Worker {
    /// A worker starting at offset `start` (records below were never its concern).
    pub fn new(group: u32, topic: u32, partition: u32, instance: u32, start: u64) -> Worker {
        Worker {
            group,
            topic,
            partition,
            instance,
            committed: start,
            position: start,
            since_commit: 0,
            busy: false,
            pending: false,
            epoch: 0,
            attempt: 0,
            started: VirtualTime::ZERO,
            lag_area: 0,
            lag_since: VirtualTime::ZERO,
            processed: 0,
            sojourn_sum_us: 0,
            finished_upto: start,
            applied: OffsetSet::default(),
            replay_below: start,
            expect_next: start,
            waiting_slot: false,
        }
    }

    /// Accumulates the lag integral up to `now`, given the current high watermark.
    #[inline]
    pub fn integrate(&mut self, now: VirtualTime, high: u64) {
        let lag = high - self.committed;
        self.lag_area += u128::from(lag) * u128::from(now.since_us(self.lag_since));
        self.lag_since = now;
    }

    /// Drops the in-flight record (if any): later actions of the old epoch
    /// are ignored. Returns whether something was in flight.
    pub fn abandon(&mut self) -> bool {
        let was = self.busy;
        self.busy = false;
        self.attempt = 0;
        self.epoch = self.epoch.wrapping_add(1);
        was
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::VirtualTime;
    use crate::sim::scenario::Payload;

    /// Event `i`: an order of one of 7 streams, worth `i` cents.
    fn event(i: u64) -> Applied {
        let key = i * 5 % 7;
        Applied {
            topic: (i % 2) as u32,
            event_id: i,
            key,
            produced_at: VirtualTime(i),
            payload: Payload::Order {
                order_id: key,
                user_id: 0,
                sku: 0,
                quantity: 1,
                amount_cents: i,
            },
        }
    }

    #[test]
    fn snapshot_load_equals_full_load_and_reads_fewer_events() {
        let mut with = EventStore::with_log(100, 10_000);
        with.set_snapshot_every(10);
        let mut without = EventStore::with_log(100, 10_000);
        for i in 0..1_000 {
            with.append_event(event(i));
            without.append_event(event(i));
        }
        for key in 0..7 {
            let (snap, read_snap) = with.load(key).expect("log complete");
            let (full, read_full) = with.load_full(key).expect("log complete");
            assert_eq!(snap, full, "stream {key}");
            assert_eq!(full.version, with.stream_version(key).unwrap_or(0));
            assert!(read_snap < 10, "{read_snap} events after the snapshot");
            assert_eq!(read_full, full.version);
            assert_eq!(
                without.load(key),
                with.load_full(key),
                "no snapshots: full load"
            );
        }
        assert_eq!(with.snapshot_count(), 7);
        // The writers' loads read far fewer events with snapshots.
        let (a, b) = (with.loads(), without.loads());
        assert_eq!(a.loads, b.loads);
        assert!(a.events_per_load() < 10.0, "{a:?}");
        assert!(b.events_per_load() > 50.0, "{b:?}");
        assert!(a.from_snapshot > 0 && b.from_snapshot == 0);
        assert_eq!(a.snapshots_taken, 7 * (1_000 / 7 / 10) as u64, "{a:?}");
    }

    #[test]
    fn keep_latest_trims_the_log_and_loads_from_snapshots_still_work() {
        let mut s = EventStore::with_log(100, 50);
        s.set_keep_latest(true);
        s.set_snapshot_every(4);
        for i in 0..1_000 {
            s.append_event(event(i));
        }
        assert_eq!(s.log_len(), 50);
        assert_eq!(s.log_trimmed(), 950);
        assert_eq!(s.log_missing(), 950);
        assert_eq!(s.log_dropped(), 0);
        assert_eq!(s.log().next().map(|e| e.event_id), Some(950));
        // Each stream's snapshot is at most 3 of its events (~21 positions) back.
        for key in 0..7 {
            assert!(
                s.load_full(key).is_none(),
                "the start of stream {key} is gone"
            );
            let (state, _) = s.load(key).expect("snapshot + kept events");
            assert_eq!(state.version, s.stream_version(key).unwrap_or(0));
        }
        // Without keep-latest the first 50 are kept and the rest counted.
        let mut first = EventStore::with_log(100, 50);
        for i in 0..1_000 {
            first.append_event(event(i));
        }
        assert_eq!((first.log_len(), first.log_dropped()), (50, 950));
        assert_eq!(first.log().next().map(|e| e.event_id), Some(0));
        // Trimming behind a position (a live history's window).
        let mut t = EventStore::with_log(100, 10_000);
        for i in 0..100 {
            t.append_event(event(i));
        }
        t.trim_log_through(30);
        assert_eq!((t.log_len(), t.log_missing()), (70, 30));
        assert_eq!(t.log().next().map(|e| e.event_id), Some(30));
        t.trim_log_through(10);
        assert_eq!(t.log_len(), 70, "trimming behind what is gone does nothing");
    }

    #[test]
    fn dedupe_store_forgets_oldest_first() {
        let mut d = DedupeStore::new(2);
        d.insert(1);
        d.insert(2);
        d.insert(2);
        assert!(d.contains(1) && d.contains(2));
        d.insert(3);
        assert!(!d.contains(1) && d.contains(2) && d.contains(3));
        assert_eq!(d.len(), 2);
    }

    #[test]
    fn offset_set_agrees_with_a_plain_set() {
        let mut s = OffsetSet::default();
        let mut model = BTreeSet::new();
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        for i in 0..5_000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // Mostly in sequence, sometimes a jump back or ahead.
            let o = if x.is_multiple_of(7) {
                x % 400
            } else {
                i / 3 + x % 3
            };
            s.insert(o);
            model.insert(o);
            let probe = x.rotate_left(17) % 2_000;
            assert_eq!(
                s.contains(probe),
                model.contains(&probe),
                "{probe} after {o}"
            );
        }
        for o in 0..2_100 {
            assert_eq!(s.contains(o), model.contains(&o), "{o}");
        }
        assert_eq!(s.end(), model.last().map_or(0, |m| m + 1));
    }

    #[test]
    fn offset_set_merges_runs_and_keeps_holes() {
        let mut s = OffsetSet::default();
        for o in [0, 1, 2, 5, 6, 4] {
            s.insert(o);
        }
        assert_eq!(s.runs(), 2, "{s:?}");
        assert!(s.contains(2) && !s.contains(3) && s.contains(4) && !s.contains(7));
        s.insert(3);
        assert_eq!((s.runs(), s.end()), (1, 7));
        s.insert(3);
        assert_eq!(s.runs(), 1);
    }

    #[test]
    fn event_store_positions_and_versions() {
        let mut s = EventStore::new(2);
        assert_eq!(s.append(7), (1, 1));
        assert_eq!(s.append(7), (2, 2));
        assert_eq!(s.append(9), (3, 1));
        assert_eq!(s.append(11), (4, 0), "beyond the stream limit");
        assert_eq!(s.store_len(), 4);
        assert_eq!(s.stream_version(7), Some(2));
        assert_eq!(s.stream_version(11), None);
        assert_eq!(s.untracked(), 1);
    }

    #[test]
    fn dead_letter_topic_is_bounded_but_counts_all() {
        let mut t = DeadLetterTopic::new("C", 1);
        let l = DeadLetter {
            topic: "T".into(),
            partition: 0,
            offset: 4,
            key: 1,
            event_id: 9,
            error: DeliveryError::Poisoned,
            attempts: 3,
            at: VirtualTime(5),
            produced_at: VirtualTime(1),
            payload: Payload::Generic { entity_id: 1 },
            source: 0,
        };
        t.push(l.clone());
        t.push(l.clone());
        assert_eq!((t.len, t.records.len()), (2, 1));
        assert_eq!((t.waiting(), t.not_kept()), (2, 1));
        t.commit_replayed(1);
        assert!(t.records.is_empty());
        assert_eq!((t.waiting(), t.not_kept(), t.replayed), (1, 1, 1));
        t.push(l);
        assert_eq!(
            (t.records.len(), t.waiting()),
            (1, 2),
            "room again after a replay"
        );
        assert_eq!(t.name, "C.DLQ");
    }
}
