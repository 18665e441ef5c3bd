//! The bus, modelled on Kafka rather than a queue: topics hold partitions;
//! a partition holds an ordered log with a low and a high watermark;
//! records are keyed by aggregate id and placed by a stable hash of the key.
//! Consumer groups (in `consumer.rs`) read partitions and commit offsets.
//!
//! Retention ([`super::Retention`]): by default a record is kept until
//! every group subscribed to its topic has committed past it (a topic
//! nobody reads keeps nothing, but its high watermark still advances);
//! `KeepAll` keeps the whole history, for groups added later and resets to
//! offset 0. `KeepLatest` and `Time` are Kafka's size and time retention:
//! the oldest records are dropped as new ones are appended whether or not
//! every group has read them; a group whose next offset fell below the
//! low watermark jumps to it and counts the records it skipped (the engine
//! does that, see `world.rs`). Either way the total of records kept is bounded by
//! [`super::Limits::max_queued_records`]; a record that would exceed it is
//! refused and counted as rejected by its producer (backpressure proper is
//! a later slice).

use super::clock::VirtualTime;
use super::history::ChunkLog;
use super::scenario::Payload;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A position in a partition's log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize)]
#[serde(transparent)]
pub struct Offset(pub u64);

/// A partition number within a topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize)]
#[serde(transparent)]
pub struct Partition(pub u32);

impl fmt::Display for Offset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// 64-bit FNV-1a, written out so that it never changes under us (std's
/// hasher is randomized per process and may change between releases).
#[derive(Debug, Clone, Copy)]
pub struct Fnv1a(u64);

impl Default for Fnv1a {
    fn default() -> Self {
        Fnv1a::new()
    }
}

impl Fnv1a {
    const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;

    /// A fresh hash.
    pub const fn new() -> Fnv1a {
        Fnv1a(Self::OFFSET_BASIS)
    }

    /// Mixes in `bytes`.
    #[inline]
    pub fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(Self::PRIME);
        }
    }

    /// Mixes in a `u64`, little-endian.
    #[inline]
    pub fn write_u64(&mut self, v: u64) {
        self.write(&v.to_le_bytes());
    }

    /// The hash so far.
    pub const fn finish(&self) -> u64 {
        self.0
    }
}

/// The partition of `key` in a topic with `partitions` partitions: FNV-1a
/// of the key's 8 little-endian bytes, modulo the count. Stable across
/// runs, processes and platforms.
#[inline]
pub fn partition_for(key: u64, partitions: u32) -> Partition {
    debug_assert!(partitions > 0, "a topic has at least one partition");
    let mut h = Fnv1a::new();
    h.write_u64(key);
    Partition((h.finish() % u64::from(partitions.max(1))) as u32)
}

/// One record in a partition's log.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// The aggregate id it is keyed by.
    pub key: u64,
    /// When it was appended (the producer's send; delivery is immediate).
    pub produced_at: VirtualTime,
    /// Which source produced it (index into the engine's sources).
    pub source: u32,
    /// The event's fields.
    pub payload: Payload,
    /// Unique per run: the event's sequence number over all topics.
    pub event_id: u64,
    /// Poisoned by a fault: every processing attempt fails.
    pub poisoned: bool,
}

/// A partition's log: the records still retained, the low watermark (the
/// offset of the first retained record) and the high watermark (the offset
/// the next record gets). The records live in a [`ChunkLog`], so a
/// snapshot of the engine shares them instead of copying them.
///
/// The high watermark is kept beside the low one rather than derived from
/// the chunked log's length: the engine reads it a few times a delivery.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(from = "StoredLog")]
pub struct PartitionLog {
    low: u64,
    records: ChunkLog<Record>,
    /// `low` + the records kept; not in an image (it follows from them).
    #[serde(skip)]
    high: u64,
    /// How many subscriptions held the oldest record uncommitted when
    /// `holders_low` was the low watermark; 0 when unknown. The engine's
    /// trim counts them down as they commit past it and looks at the
    /// subscriptions only when the last one has. Only a hint, dropped
    /// whenever a commit moves other than forward, so not in an image.
    #[serde(skip)]
    holders: u32,
    #[serde(skip)]
    holders_low: u64,
}

/// What an image holds of a [`PartitionLog`] (the hints are rebuilt).
#[derive(Deserialize)]
struct StoredLog {
    low: u64,
    records: ChunkLog<Record>,
}

impl From<StoredLog> for PartitionLog {
    fn from(s: StoredLog) -> PartitionLog {
        PartitionLog {
            high: s.low + s.records.len() as u64,
            low: s.low,
            records: s.records,
            holders: 0,
            holders_low: 0,
        }
    }
}

impl PartitionLog {
    /// The offset of the oldest retained record.
    #[inline]
    pub fn low_watermark(&self) -> Offset {
        Offset(self.low)
    }

    /// The offset the next appended record gets (= records ever appended).
    #[inline]
    pub fn high_watermark(&self) -> Offset {
        debug_assert_eq!(self.high, self.low + self.records.len() as u64);
        Offset(self.high)
    }

    /// The subscriptions known to hold the oldest record uncommitted (0:
    /// unknown), see [`PartitionLog::set_holders`].
    #[inline]
    pub(crate) fn holders(&self) -> u32 {
        if self.holders_low == self.low {
            self.holders
        } else {
            0
        }
    }

    /// Notes that `n` subscriptions hold the oldest record uncommitted (0:
    /// forget); valid until the low watermark moves.
    #[inline]
    pub(crate) fn set_holders(&mut self, n: u32) {
        self.holders = n;
        self.holders_low = self.low;
    }

    /// Records currently retained.
    pub fn retained(&self) -> usize {
        self.records.len()
    }

    /// The record at `offset`, if still retained.
    pub fn get(&self, offset: Offset) -> Option<&Record> {
        let i = offset.0.checked_sub(self.low)?;
        self.records.get(usize::try_from(i).ok()?)
    }

    /// The first offset whose record was appended at or after `t` (the
    /// high watermark when none was), found by binary search: appends
    /// happen in time order, so `produced_at` never decreases along the
    /// log. Offsets below the low watermark are not retained; the search
    /// starts at the oldest retained record.
    pub fn offset_for_time(&self, t: VirtualTime) -> Offset {
        let i = self.records.partition_point(|r| r.produced_at < t);
        Offset(self.low + i as u64)
    }

    /// Appends a record and returns its offset.
    #[inline]
    pub(crate) fn append(&mut self, record: Record) -> Offset {
        let offset = self.high_watermark();
        self.records.push(record);
        self.high += 1;
        offset
    }

    /// Drops every record below `offset`; returns how many were dropped.
    pub(crate) fn trim_below(&mut self, offset: Offset) -> usize {
        // Records kept = high - low: the chunked log's length unasked.
        let dropped = offset.0.saturating_sub(self.low).min(self.high - self.low);
        self.records.trim_front(dropped as usize);
        self.low += dropped;
        dropped as usize
    }

    /// Drops the oldest records beyond the latest `keep`; returns how many
    /// were dropped (Kafka's size retention, in records).
    #[inline]
    pub(crate) fn keep_latest(&mut self, keep: u64) -> usize {
        let excess = (self.records.len() as u64).saturating_sub(keep);
        if excess == 0 {
            return 0;
        }
        self.trim_below(Offset(self.low + excess))
    }

    /// Drops the records appended before `t`; returns how many were
    /// dropped (Kafka's time retention). Looks at the oldest record only
    /// when none is due, so calling it on every append costs O(1).
    #[inline]
    pub(crate) fn drop_before(&mut self, t: VirtualTime) -> usize {
        match self.records.get(0) {
            Some(r) if r.produced_at < t => self.trim_below(self.offset_for_time(t)),
            _ => 0,
        }
    }

    /// Advances both watermarks past a record nobody will read.
    pub(crate) fn skip(&mut self) -> Offset {
        debug_assert!(
            self.records.is_empty(),
            "skip only on a log that keeps nothing"
        );
        let offset = Offset(self.low);
        self.low += 1;
        self.high += 1;
        offset
    }
}

/// A topic: one event type on one bus, with its partitions.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Topic {
    pub(crate) name: String,
    pub(crate) bus: u32,
    pub(crate) partitions: Vec<PartitionLog>,
    /// (group index, index of the group's worker for partition 0).
    pub(crate) subscriptions: Vec<(u32, u32)>,
    /// Poisoned by a fault: every record fails while set.
    pub(crate) poisoned: bool,
}

impl Topic {
    /// The topic's name (the event type; `Type@Bus` when a type is on several buses).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The partitions, by number.
    pub fn partitions(&self) -> &[PartitionLog] {
        &self.partitions
    }

    /// Records ever appended, over all partitions.
    pub fn appended(&self) -> u64 {
        self.partitions.iter().map(|p| p.high_watermark().0).sum()
    }
}

/// How a group spreads partitions over its instances.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Assignor {
    /// Kafka's range assignor: per topic, contiguous ranges of partitions;
    /// the first `partitions % instances` instances get one more.
    #[default]
    Range,
    /// Kafka's round-robin assignor: all (topic, partition) pairs in order,
    /// dealt to the instances in turn.
    RoundRobin,
}

/// The instance owning each partition of each topic: `result[t][p]`.
/// `partition_counts[t]` is topic `t`'s partition count (topics in the
/// group's subscription order). Deterministic: depends on nothing else.
pub fn assign(assignor: Assignor, partition_counts: &[u32], instances: u32) -> Vec<Vec<u32>> {
    let m = instances.max(1);
    match assignor {
        Assignor::Range => partition_counts
            .iter()
            .map(|&n| {
                let per = n / m;
                let extra = n % m;
                let mut owners = Vec::with_capacity(n as usize);
                for i in 0..m {
                    let take = per + u32::from(i < extra);
                    owners.extend(std::iter::repeat_n(i, take as usize));
                }
                owners
            })
            .collect(),
        Assignor::RoundRobin => {
            let mut next = 0u32;
            partition_counts
                .iter()
                .map(|&n| {
                    (0..n)
                        .map(|_| {
                            let owner = next;
                            next = (next + 1) % m;
                            owner
                        })
                        .collect()
                })
                .collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_matches_reference_vectors() {
        let mut h = Fnv1a::new();
        h.write(b"");
        assert_eq!(h.finish(), 0xcbf2_9ce4_8422_2325);
        let mut h = Fnv1a::new();
        h.write(b"a");
        assert_eq!(h.finish(), 0xaf63_dc4c_8601_ec8c);
        let mut h = Fnv1a::new();
        h.write(b"foobar");
        assert_eq!(h.finish(), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn partitioner_is_stable_and_spreads_keys() {
        // Pinned values (checked against an independent FNV-1a): a change
        // here re-partitions every saved run.
        let three: Vec<u32> = (1..=8).map(|k| partition_for(k, 3).0).collect();
        assert_eq!(three, [0, 0, 2, 0, 2, 2, 1, 2]);
        let six: Vec<u32> = (1..=8).map(|k| partition_for(k, 6).0).collect();
        assert_eq!(six, [0, 3, 2, 3, 2, 5, 4, 5]);
        let mut h = Fnv1a::new();
        h.write_u64(42);
        assert_eq!(partition_for(42, 7).0 as u64, h.finish() % 7);
        let mut counts = [0u32; 6];
        for k in 0..60_000 {
            counts[partition_for(k, 6).0 as usize] += 1;
        }
        for c in counts {
            assert!((9_000..11_000).contains(&c), "{counts:?}");
        }
        assert_eq!(partition_for(12345, 1), Partition(0));
    }

    #[test]
    fn range_assignment_gives_contiguous_ranges() {
        assert_eq!(
            assign(Assignor::Range, &[7, 2], 3),
            vec![vec![0, 0, 0, 1, 1, 2, 2], vec![0, 1]]
        );
        assert_eq!(assign(Assignor::Range, &[3], 1), vec![vec![0, 0, 0]]);
        // More instances than partitions: the extra ones idle.
        assert_eq!(assign(Assignor::Range, &[2], 4), vec![vec![0, 1]]);
    }

    #[test]
    fn round_robin_assignment_deals_across_topics() {
        assert_eq!(
            assign(Assignor::RoundRobin, &[3, 3], 2),
            vec![vec![0, 1, 0], vec![1, 0, 1]]
        );
    }

    #[test]
    fn log_watermarks_and_trim() {
        let mut log = PartitionLog::default();
        let rec = Record {
            key: 1,
            produced_at: VirtualTime(0),
            source: 0,
            payload: Payload::Generic { entity_id: 1 },
            event_id: 0,
            poisoned: false,
        };
        assert_eq!(log.append(rec), Offset(0));
        assert_eq!(log.append(rec), Offset(1));
        assert_eq!(log.append(rec), Offset(2));
        assert_eq!(log.trim_below(Offset(2)), 2);
        assert_eq!(log.low_watermark(), Offset(2));
        assert_eq!(log.high_watermark(), Offset(3));
        assert!(log.get(Offset(1)).is_none());
        assert!(log.get(Offset(2)).is_some());
        assert!(log.get(Offset(3)).is_none());
    }

    #[test]
    fn offset_for_time_is_a_binary_search_over_retained_records() {
        let mut log = PartitionLog::default();
        for (i, t) in [10u64, 20, 20, 30, 50].into_iter().enumerate() {
            log.append(Record {
                key: 1,
                produced_at: VirtualTime(t),
                source: 0,
                payload: Payload::Generic { entity_id: 1 },
                event_id: i as u64,
                poisoned: false,
            });
        }
        assert_eq!(log.offset_for_time(VirtualTime(0)), Offset(0));
        assert_eq!(log.offset_for_time(VirtualTime(20)), Offset(1));
        assert_eq!(log.offset_for_time(VirtualTime(21)), Offset(3));
        assert_eq!(log.offset_for_time(VirtualTime(99)), Offset(5));
        log.trim_below(Offset(2));
        assert_eq!(log.offset_for_time(VirtualTime(0)), Offset(2));
        assert_eq!(log.offset_for_time(VirtualTime(40)), Offset(4));
    }
}
