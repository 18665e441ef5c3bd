//! What a run measures: per-component counters and latency histograms,
//! time series sampled at a fixed virtual interval (bounded: when full,
//! every other sample is dropped and the interval doubles; stored in
//! chunks that history snapshots share), and the run hash that
//! fingerprints the history.
//!
//! Interval percentiles cost the hot path two bucket increments per
//! delivery ([`IntervalHistogram`]: within 1/128 of the exact value, min
//! and max exact) and one walk over each interval's occupied buckets when
//! the sample is taken; the whole system's interval is merged from the
//! groups' on that walk, never recorded separately.

use super::clock::VirtualTime;
use super::consumer::DeliveryCounters;
use super::cqrs::CqrsSummary;
use super::fault::FaultRecord;
use super::histogram::{Histogram, IntervalHistogram, LatencySummary};
use super::invariants::InvariantReport;
use super::state::SinkSummary;
use crate::model::Role;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Counters and histograms of one diagram component.
///
/// What "in" and "out" mean depends on the role: a producer's `events_out`
/// are records it published; a bus's `events_in` are records appended and
/// its `events_out` deliveries completed (record × group); a consumer
/// group's `events_in` are records it finished processing; a sink's
/// `events_in` are events applied to it (its state is in
/// [`super::Engine::sink_state`]); a gateway's `events_out` are commands
/// and queries sent, a command handler's `events_in` commands queued and
/// its `processing_us` the service time per attempt.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ComponentMetrics {
    /// Mermaid id.
    pub key: String,
    /// Label as drawn.
    pub label: String,
    /// Role in the architecture.
    pub role: Role,
    /// Events received or processed (see the type's doc).
    pub events_in: u64,
    /// Events sent or delivered (see the type's doc).
    pub events_out: u64,
    /// Records a producer could not append because the bus was full.
    pub rejected: u64,
    /// Records a producer dropped because a consumer queue was full
    /// (backpressure policy `shed`).
    pub shed: u64,
    /// Virtual µs a producer spent blocked by a full consumer queue
    /// (backpressure policy `throttle`).
    pub throttled_us: u64,
    /// Service time per record (consumer groups).
    pub processing_us: Histogram,
    /// Append → processing done, per record (consumer groups).
    pub end_to_end_us: Histogram,
}

impl ComponentMetrics {
    pub(crate) fn new(key: &str, label: &str, role: Role) -> ComponentMetrics {
        ComponentMetrics {
            key: key.to_string(),
            label: label.to_string(),
            role,
            events_in: 0,
            events_out: 0,
            rejected: 0,
            shed: 0,
            throttled_us: 0,
            processing_us: Histogram::new(),
            end_to_end_us: Histogram::new(),
        }
    }
}

/// How a series' samples combine when the history is thinned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SeriesKind {
    /// A running total (events in): the value at each kept time stays.
    Cumulative,
    /// A level at the sample's moment (lag, DLQ size): the value at each
    /// kept time stays.
    Gauge,
    /// A figure over the interval ending at the sample (a latency
    /// percentile; 0 = nothing recorded in it): a kept sample takes the
    /// larger of itself and the dropped one before it, an upper bound of
    /// the merged interval's percentile.
    Interval,
}

/// Where a sampled value comes from (engine-internal).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Source {
    /// `events_in` of metric slot `0`.
    EventsIn(u32),
    /// `events_out` of metric slot `0`.
    EventsOut(u32),
    /// Of group `0`: its lag, DLQ size, duplicates applied, failed attempts.
    Lag(u32),
    Dlq(u32),
    Duplicates(u32),
    Failures(u32),
    /// Optimistic-concurrency conflicts of the command handler.
    Conflicts,
    /// Percentile `q` (index into [`QUANTILES`]) of an interval's values.
    Latency(LatencyOf, u8),
}

/// Which values an interval percentile is taken of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum LatencyOf {
    /// Group `0`'s service time per record.
    Processing(u32),
    /// Group `0`'s append → done time per record.
    EndToEnd(u32),
    /// Command accepted → read views applied.
    Staleness,
    /// Every group's service times together.
    AllProcessing,
    /// Every group's append → done times together.
    AllEndToEnd,
}

/// The percentiles sampled per interval, with their series-name suffixes.
pub const QUANTILES: [(f64, &str); 4] =
    [(0.50, "p50"), (0.95, "p95"), (0.99, "p99"), (0.999, "p999")];

const PROCESSING_NAMES: [&str; 4] = [
    "processing_p50_us",
    "processing_p95_us",
    "processing_p99_us",
    "processing_p999_us",
];
const END_TO_END_NAMES: [&str; 4] = ["e2e_p50_us", "e2e_p95_us", "e2e_p99_us", "e2e_p999_us"];
const STALENESS_NAMES: [&str; 4] = [
    "staleness_p50_us",
    "staleness_p95_us",
    "staleness_p99_us",
    "staleness_p999_us",
];

/// The component name of whole-system series (every group's latencies together).
pub const SYSTEM: &str = "*";

/// The metrics sampled as running totals or levels (see [`Series::metric`]).
const COUNTER_NAMES: [&str; 7] = [
    "events_in",
    "events_out",
    "lag",
    "dlq",
    "duplicates",
    "failures",
    "conflicts",
];

/// The `&'static str` of a sampled metric's name: every name a
/// [`TimeSeries`] makes, `None` for any other.
fn static_metric_name(name: &str) -> Option<&'static str> {
    COUNTER_NAMES
        .iter()
        .chain(&PROCESSING_NAMES)
        .chain(&END_TO_END_NAMES)
        .chain(&STALENESS_NAMES)
        .find(|&&m| m == name)
        .copied()
}

/// One sampled quantity of one component.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Series {
    /// The component's Mermaid id ([`SYSTEM`] for the whole system).
    pub component: String,
    /// What is sampled: `events_in`, `events_out`, `conflicts`,
    /// `duplicates`, `failures` (cumulative); `lag` (records), `dlq`
    /// (records); `processing_pNN_us`, `e2e_pNN_us`, `staleness_pNN_us`
    /// (per interval).
    pub metric: &'static str,
    /// How its samples combine when thinned.
    pub kind: SeriesKind,
    /// One value per sample time.
    pub values: Samples<u64>,
    #[serde(skip)]
    pub(crate) source: Source,
}

impl Series {
    fn new(component: &str, metric: &'static str, kind: SeriesKind, source: Source) -> Series {
        Series {
            component: component.to_string(),
            metric,
            kind,
            values: Samples::default(),
            source,
        }
    }
}

/// Samples per shared chunk of a [`Samples`] log.
const SAMPLE_CHUNK: usize = 128;

/// An append-only list of samples whose full chunks are shared between
/// clones: a history snapshot (a clone of the engine) copies only the open
/// tail of each series, never the whole run's samples.
#[derive(Debug, Clone)]
pub struct Samples<T> {
    sealed: Vec<Arc<[T]>>,
    tail: Vec<T>,
}

impl<T> Default for Samples<T> {
    fn default() -> Self {
        Samples {
            sealed: Vec::new(),
            tail: Vec::new(),
        }
    }
}

impl<T: Copy> Samples<T> {
    /// Samples kept.
    pub fn len(&self) -> usize {
        self.sealed.len() * SAMPLE_CHUNK + self.tail.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `i`-th sample (0 is the oldest).
    pub fn get(&self, i: usize) -> Option<T> {
        match self.sealed.get(i / SAMPLE_CHUNK) {
            Some(chunk) => chunk.get(i % SAMPLE_CHUNK).copied(),
            None => self.tail.get(i - self.sealed.len() * SAMPLE_CHUNK).copied(),
        }
    }

    /// The newest sample.
    pub fn last(&self) -> Option<T> {
        self.len().checked_sub(1).and_then(|i| self.get(i))
    }

    /// Every sample, oldest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = T> + '_ {
        self.sealed
            .iter()
            .flat_map(|c| c.iter())
            .chain(self.tail.iter())
            .copied()
    }

    /// The samples from index `from` on, copied out.
    pub fn tail_from(&self, from: usize) -> Vec<T> {
        let mut out = Vec::with_capacity(self.len().saturating_sub(from));
        let first = from / SAMPLE_CHUNK;
        for (i, chunk) in self.sealed.iter().enumerate().skip(first) {
            let start = if i == first { from % SAMPLE_CHUNK } else { 0 };
            out.extend_from_slice(&chunk[start..]);
        }
        let in_tail = from.saturating_sub(self.sealed.len() * SAMPLE_CHUNK);
        out.extend_from_slice(self.tail.get(in_tail..).unwrap_or(&[]));
        out
    }

    /// Appends a sample. Inlined down to a store and two compares: a
    /// sample pushes one value onto each of a few hundred series, and
    /// sealing a chunk happens once in [`SAMPLE_CHUNK`] pushes.
    #[inline(always)]
    pub(crate) fn push(&mut self, v: T) {
        self.tail.push(v);
        if self.tail.len() == SAMPLE_CHUNK {
            self.seal();
        }
    }

    /// Shares the full tail as a sealed chunk and starts a new one.
    #[cold]
    #[inline(never)]
    fn seal(&mut self) {
        // Copied out, the tail keeping its buffer: one allocation a chunk.
        self.sealed.push(Arc::from(&self.tail[..]));
        self.tail.clear();
    }

    /// Keeps every even-indexed sample; a kept sample `2j` (j ≥ 1) becomes
    /// `merge(sample 2j - 1, sample 2j)`.
    ///
    /// Walks the chunks as slices instead of collecting the whole series
    /// first: every series is thinned at once, a few hundred of them, each
    /// up to `max_samples` long.
    fn thin(&mut self, merge: impl Fn(T, T) -> T) {
        let old = std::mem::take(self);
        let mut dropped: Option<T> = None;
        let mut even = true;
        for chunk in old.sealed.iter().map(|c| &c[..]).chain([&old.tail[..]]) {
            for &v in chunk {
                if even {
                    self.push(dropped.map_or(v, |d| merge(d, v)));
                } else {
                    dropped = Some(v);
                }
                even = !even;
            }
        }
    }
}

impl<T: Copy + PartialEq> PartialEq for Samples<T> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl<T: Copy + Eq> Eq for Samples<T> {}

impl<T: Copy + Serialize> Serialize for Samples<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

/// The same list of samples (chunked again as they are pushed).
impl<'de, T: Copy + Deserialize<'de>> Deserialize<'de> for Samples<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let values = Vec::<T>::deserialize(d)?;
        let mut out = Samples::default();
        for v in values {
            out.push(v);
        }
        Ok(out)
    }
}

/// The quantiles of [`QUANTILES`], for [`IntervalHistogram::take_quantiles`].
const QS: [f64; 4] = [
    QUANTILES[0].0,
    QUANTILES[1].0,
    QUANTILES[2].0,
    QUANTILES[3].0,
];

/// What a sample reads of a consumer group (engine-internal).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct GroupSample {
    pub lag: u64,
    pub dlq: u64,
    pub duplicates: u64,
    pub failures: u64,
}

/// A consumer group as the time series lays it out (engine-internal).
#[derive(Debug, Clone, Copy)]
pub(crate) struct GroupLayout<'a> {
    pub name: &'a str,
    /// Whether it applies the read views (staleness is charted on it).
    pub read_views: bool,
}

/// Most partitions whose lag is sampled as a series of its own (the first
/// ones, in worker order); the rest count only in their group's `lag`.
pub const MAX_PARTITION_SERIES: usize = 1024;

/// The lag of one partition of one group, sampled at the series' times
/// (a level, thinned like a gauge).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionSeries {
    /// The group (its component's Mermaid id).
    pub group: String,
    /// The topic's name.
    pub topic: String,
    /// The partition.
    pub partition: u32,
    /// Committed offset behind the high watermark, one per sample time.
    pub values: Samples<u64>,
}

/// Values sampled at a fixed virtual interval, bounded in length: when
/// there are more than `max_samples`, every other sample is dropped (see
/// [`SeriesKind`] for how the dropped ones fold into the kept) and the
/// interval doubles.
///
/// Per component: events in and out (cumulative; rates are their
/// differences); per consumer group: lag, DLQ size, duplicates applied,
/// failed attempts, and the p50/p95/p99/p999 of processing and end-to-end
/// latency over each interval; the command handler's conflicts; read-model
/// staleness percentiles (on the group that applies the read views);
/// every group's latencies together under [`SYSTEM`]; and the lag of each
/// partition of each group ([`PartitionSeries`], the first
/// [`MAX_PARTITION_SERIES`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TimeSeries {
    /// Current spacing of samples (doubles each time the series fills up).
    pub interval_us: u64,
    /// Sample times.
    pub times: Samples<VirtualTime>,
    /// The sampled quantities, all as long as `times`.
    pub series: Vec<Series>,
    /// Lag per (group, partition), all as long as `times`; entry `i` is
    /// the engine's partition worker `i`.
    pub partition_lag: Vec<PartitionSeries>,
    #[serde(skip)]
    pub(crate) max_samples: usize,
    /// Per group: service and append → done times of the current interval.
    #[serde(skip)]
    latency: Vec<[IntervalHistogram; 2]>,
    #[serde(skip)]
    staleness: IntervalHistogram,
    /// Every group's service and append → done times of the interval
    /// being closed: empty except inside [`TimeSeries::sample`].
    #[serde(skip)]
    system: [IntervalHistogram; 2],
}

impl TimeSeries {
    /// The series of an engine with these components (metric slots in
    /// order), groups (by index) and command handler.
    pub(crate) fn for_engine(
        interval_us: u64,
        max_samples: usize,
        components: &[ComponentMetrics],
        groups: &[GroupLayout<'_>],
        handler: Option<&str>,
    ) -> TimeSeries {
        let mut series = Vec::new();
        for (i, m) in components.iter().enumerate() {
            let i = i as u32;
            series.push(Series::new(
                &m.key,
                "events_in",
                SeriesKind::Cumulative,
                Source::EventsIn(i),
            ));
            series.push(Series::new(
                &m.key,
                "events_out",
                SeriesKind::Cumulative,
                Source::EventsOut(i),
            ));
        }
        let mut ts = TimeSeries {
            interval_us,
            times: Samples::default(),
            series,
            partition_lag: Vec::new(),
            max_samples,
            latency: Vec::new(),
            staleness: IntervalHistogram::default(),
            system: Default::default(),
        };
        for (g, layout) in groups.iter().enumerate() {
            ts.add_group(layout.name, g as u32);
        }
        if let Some(h) = handler {
            ts.add(Series::new(
                h,
                "conflicts",
                SeriesKind::Cumulative,
                Source::Conflicts,
            ));
            let on = groups.iter().find(|g| g.read_views).map_or(h, |g| g.name);
            for (q, name) in STALENESS_NAMES.iter().enumerate() {
                ts.add(Series::new(
                    on,
                    name,
                    SeriesKind::Interval,
                    Source::Latency(LatencyOf::Staleness, q as u8),
                ));
            }
        }
        if !groups.is_empty() {
            for (q, name) in PROCESSING_NAMES.iter().enumerate() {
                let src = Source::Latency(LatencyOf::AllProcessing, q as u8);
                ts.add(Series::new(SYSTEM, name, SeriesKind::Interval, src));
            }
            for (q, name) in END_TO_END_NAMES.iter().enumerate() {
                let src = Source::Latency(LatencyOf::AllEndToEnd, q as u8);
                ts.add(Series::new(SYSTEM, name, SeriesKind::Interval, src));
            }
        }
        ts
    }

    /// Adds the series of group `g` (one added mid-run: zero before now).
    pub(crate) fn add_group(&mut self, name: &str, g: u32) {
        use SeriesKind::{Cumulative, Gauge, Interval};
        self.add(Series::new(name, "lag", Gauge, Source::Lag(g)));
        self.add(Series::new(name, "dlq", Gauge, Source::Dlq(g)));
        self.add(Series::new(
            name,
            "duplicates",
            Cumulative,
            Source::Duplicates(g),
        ));
        self.add(Series::new(
            name,
            "failures",
            Cumulative,
            Source::Failures(g),
        ));
        for (q, metric) in PROCESSING_NAMES.iter().enumerate() {
            let src = Source::Latency(LatencyOf::Processing(g), q as u8);
            self.add(Series::new(name, metric, Interval, src));
        }
        for (q, metric) in END_TO_END_NAMES.iter().enumerate() {
            let src = Source::Latency(LatencyOf::EndToEnd(g), q as u8);
            self.add(Series::new(name, metric, Interval, src));
        }
        if self.latency.len() <= g as usize {
            self.latency.resize_with(g as usize + 1, Default::default);
        }
    }

    /// Adds the lag series of the next partition workers, in worker order
    /// (`(group, topic, partition)` each; zero before now), up to
    /// [`MAX_PARTITION_SERIES`] in all.
    pub(crate) fn add_partitions<'a>(
        &mut self,
        workers: impl IntoIterator<Item = (&'a str, &'a str, u32)>,
    ) {
        let room = MAX_PARTITION_SERIES.saturating_sub(self.partition_lag.len());
        for (group, topic, partition) in workers.into_iter().take(room) {
            let mut values = Samples::default();
            for _ in 0..self.times.len() {
                values.push(0);
            }
            self.partition_lag.push(PartitionSeries {
                group: group.to_string(),
                topic: topic.to_string(),
                partition,
                values,
            });
        }
    }

    /// The lag series of one group's partitions, in worker order.
    pub fn partition_lags_of<'a>(
        &'a self,
        group: &'a str,
    ) -> impl Iterator<Item = &'a PartitionSeries> + 'a {
        self.partition_lag.iter().filter(move |p| p.group == group)
    }

    /// Adds the `events_in` and `events_out` series of component slot `i`
    /// (one added mid-run, like a consumer group: zero before now), so its
    /// badge shows a rate and a sparkline like every other component's.
    pub(crate) fn add_component(&mut self, key: &str, i: u32) {
        self.add(Series::new(
            key,
            "events_in",
            SeriesKind::Cumulative,
            Source::EventsIn(i),
        ));
        self.add(Series::new(
            key,
            "events_out",
            SeriesKind::Cumulative,
            Source::EventsOut(i),
        ));
    }

    /// Adds a series, zero before now.
    fn add(&mut self, mut s: Series) {
        for _ in 0..self.times.len() {
            s.values.push(0);
        }
        self.series.push(s);
    }

    /// Records one processed record of group `g`, whose component's
    /// metrics are `m`: in its whole-run histograms and this interval's,
    /// each value's bucket computed once for both.
    #[inline(always)]
    pub(crate) fn record_delivery(
        &mut self,
        g: u32,
        m: &mut ComponentMetrics,
        service_us: u64,
        end_to_end_us: u64,
    ) {
        let bp = m.processing_us.record_returning_bucket(service_us);
        let be = m.end_to_end_us.record_returning_bucket(end_to_end_us);
        if let Some([p, e]) = self.latency.get_mut(g as usize) {
            p.record_in(bp, service_us);
            e.record_in(be, end_to_end_us);
        }
    }

    /// Records one command's accepted → read-views-applied time.
    #[inline]
    pub(crate) fn record_staleness(&mut self, us: u64) {
        self.staleness.record(us);
    }

    /// Takes a sample at `t` of `components` (metric slots), `groups` (by
    /// index), the handler's `conflicts` and each partition worker's lag
    /// (`worker_lags`, by worker), closing the interval; thins the history
    /// when it is over `max_samples`. Returns the interval to the next
    /// sample.
    pub(crate) fn sample(
        &mut self,
        t: VirtualTime,
        components: &[ComponentMetrics],
        groups: &[GroupSample],
        conflicts: u64,
        worker_lags: &[u64],
    ) -> u64 {
        // Each group's interval is folded into the system's as its
        // percentiles are taken: one walk over its occupied buckets.
        let [all_p, all_e] = &mut self.system;
        let per_group: Vec<[[u64; 4]; 2]> = self
            .latency
            .iter_mut()
            .map(|[p, e]| {
                [
                    p.take_quantiles(QS, Some(&mut *all_p)),
                    e.take_quantiles(QS, Some(&mut *all_e)),
                ]
            })
            .collect();
        let system = [
            all_p.take_quantiles(QS, None),
            all_e.take_quantiles(QS, None),
        ];
        let staleness = self.staleness.take_quantiles(QS, None);
        let group = |g: u32| groups.get(g as usize).copied().unwrap_or_default();
        for s in &mut self.series {
            let v = match s.source {
                Source::EventsIn(i) => components.get(i as usize).map_or(0, |m| m.events_in),
                Source::EventsOut(i) => components.get(i as usize).map_or(0, |m| m.events_out),
                Source::Lag(g) => group(g).lag,
                Source::Dlq(g) => group(g).dlq,
                Source::Duplicates(g) => group(g).duplicates,
                Source::Failures(g) => group(g).failures,
                Source::Conflicts => conflicts,
                Source::Latency(of, q) => {
                    let q = q as usize;
                    let of_group =
                        |g: u32, k: usize| per_group.get(g as usize).map_or(0, |l| l[k][q]);
                    match of {
                        LatencyOf::Processing(g) => of_group(g, 0),
                        LatencyOf::EndToEnd(g) => of_group(g, 1),
                        LatencyOf::Staleness => staleness[q],
                        LatencyOf::AllProcessing => system[0][q],
                        LatencyOf::AllEndToEnd => system[1][q],
                    }
                }
            };
            s.values.push(v);
        }
        for (i, p) in self.partition_lag.iter_mut().enumerate() {
            p.values.push(worker_lags.get(i).copied().unwrap_or(0));
        }
        self.times.push(t);
        // Thin only at an odd length, so both the first and the newest
        // sample are kept.
        if self.times.len() > self.max_samples && self.times.len() % 2 == 1 {
            self.times.thin(|_, kept| kept);
            for s in &mut self.series {
                match s.kind {
                    SeriesKind::Interval => s.values.thin(u64::max),
                    SeriesKind::Cumulative | SeriesKind::Gauge => s.values.thin(|_, kept| kept),
                }
            }
            for p in &mut self.partition_lag {
                p.values.thin(|_, kept| kept);
            }
            self.interval_us = self.interval_us.saturating_mul(2);
        }
        self.interval_us
    }

    /// The series `metric` of `component`, if sampled.
    pub fn find(&self, component: &str, metric: &str) -> Option<&Series> {
        self.series
            .iter()
            .find(|s| s.component == component && s.metric == metric)
    }
}

/// Fingerprint of a run's history: every completed delivery (time, topic,
/// partition, offset, key, group) folded in order, word by word (FxHash's
/// rotate-xor-multiply step). Cheap enough for the hot loop; not a
/// cryptographic hash, only a witness that two histories are the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunHash(u64);

impl Default for RunHash {
    fn default() -> Self {
        RunHash(0xcbf2_9ce4_8422_2325)
    }
}

impl RunHash {
    const K: u64 = 0x517c_c1b7_2722_0a95;

    /// Folds in one word.
    #[inline]
    pub fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(Self::K);
    }

    /// The hash so far.
    pub fn value(&self) -> u64 {
        self.0
    }
}

/// Lag of one partition for one group, in offsets.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PartitionLag {
    /// The topic.
    pub topic: String,
    /// The partition.
    pub partition: u32,
    /// The instance that owns it (`u32::MAX` when the group has no live instance).
    pub instance: u32,
    /// The group's committed offset: everything below is done for good; a
    /// crash re-delivers from here.
    pub committed: u64,
    /// The partition's high watermark.
    pub high_watermark: u64,
    /// `high_watermark - position`: records appended and not yet processed
    /// (including the one in service), i.e. the number in this queue. The
    /// same as `high_watermark - committed` with a commit per record; a
    /// group committing in batches or on a timer commits behind it.
    pub lag: u64,
    /// Lag in time: how long the oldest unprocessed record has waited (0 when none).
    pub lag_us: u64,
    /// `high_watermark - committed` averaged over virtual time since the
    /// start (L in Little's law, with a commit per record).
    pub lag_time_avg: f64,
    /// Records this group processed from this partition.
    pub processed: u64,
    /// Mean append → done time of those records (W in Little's law).
    pub mean_sojourn_us: f64,
}

/// A component's figures at the end of a run, for reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ComponentSummary {
    /// Mermaid id.
    pub key: String,
    /// Label as drawn.
    pub label: String,
    /// Role.
    pub role: Role,
    /// See [`ComponentMetrics`].
    pub events_in: u64,
    /// See [`ComponentMetrics`].
    pub events_out: u64,
    /// Appends refused because the bus was full.
    pub rejected: u64,
    /// Records shed because a consumer queue was full.
    pub shed: u64,
    /// Virtual µs blocked by a full consumer queue.
    pub throttled_us: u64,
    /// Total lag of its group at the end, if it is a consumer group.
    pub lag: Option<u64>,
    /// Service time percentiles (consumer groups).
    pub processing_us: Option<LatencySummary>,
    /// Append → done percentiles (consumer groups).
    pub end_to_end_us: Option<LatencySummary>,
    /// Retries, DLQ, duplicates, rebalances (consumer groups).
    pub delivery: Option<DeliveryCounters>,
}

/// A consumer group's per-partition state at the end of a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupSummary {
    /// The group (its component's Mermaid id).
    pub group: String,
    /// Live instances in the group.
    pub instances: u32,
    /// Whether it dedupes by event id.
    pub idempotent: bool,
    /// Retries, DLQ, duplicates, rebalances.
    pub delivery: DeliveryCounters,
    /// Its dead-letter topic's name.
    pub dlq_topic: String,
    /// Records in its dead-letter topic.
    pub dlq_len: u64,
    /// Events in its event store (event-store nodes only).
    pub store_len: Option<u64>,
    /// One entry per partition it reads (instance `u32::MAX` = unowned).
    pub partitions: Vec<PartitionLag>,
}

/// Everything `simulate` reports about a run (serializable as JSON).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunSummary {
    /// The seed.
    pub seed: u64,
    /// Virtual time reached.
    pub now_us: u64,
    /// The run hash, as 16 hex digits.
    pub run_hash: String,
    /// Records appended to the bus.
    pub events_produced: u64,
    /// Deliveries completed (record × group).
    pub deliveries: u64,
    /// Records refused by a full bus.
    pub rejected: u64,
    /// Per component, in diagram order.
    pub components: Vec<ComponentSummary>,
    /// Per consumer group.
    pub groups: Vec<GroupSummary>,
    /// Sampled time series.
    pub series: TimeSeries,
    /// The invariants checked as the run went.
    pub invariants: InvariantReport,
    /// Faults and control inputs applied (or refused), in order.
    pub faults: Vec<FaultRecord>,
    /// The sinks' state in brief.
    pub sinks: Vec<SinkSummary>,
    /// The CQRS command path, if the scenario has one.
    pub cqrs: Option<CqrsSummary>,
    /// The schema registry's state, if the diagram has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registry: Option<super::registry::RegistrySummary>,
}

/// A [`TimeSeries`] in an engine image (`#[serde(with)]` on the engine's
/// field): unlike its JSON form (`simulate --json`, unchanged by images),
/// it carries everything later samples depend on — each series' source,
/// the sample bound and the open interval's latency and staleness values —
/// so a restored engine samples exactly as the original. Metric names are
/// mapped back to the static names the engine defines; an unknown one is
/// a decode error naming it.
/// The sealed chunks of a series' samples, taken out of it
/// ([`TimeSeries::detach_sealed`]): the history's archive keeps them
/// beside an image, shared with its other images' (and the head's), and
/// encodes only the open tails.
#[derive(Debug, Clone, Default)]
pub(crate) struct SealedSamples {
    times: Vec<Arc<[VirtualTime]>>,
    /// Each series', then each partition lag's.
    values: Vec<Vec<Arc<[u64]>>>,
}

impl SealedSamples {
    /// The chunks, as (address, bytes): clones share them, so the same
    /// address is the same memory.
    pub(crate) fn chunks(&self) -> Vec<(usize, usize)> {
        fn of<T>(c: &Arc<[T]>) -> (usize, usize) {
            (
                Arc::as_ptr(c).cast::<u8>() as usize,
                std::mem::size_of_val(&**c),
            )
        }
        self.times
            .iter()
            .map(of)
            .chain(self.values.iter().flatten().map(of))
            .collect()
    }

    /// Heap bytes of the lists themselves (not the chunks).
    pub(crate) fn own_bytes(&self) -> usize {
        let arc = std::mem::size_of::<Arc<[u64]>>();
        let listed: usize = self.values.iter().map(Vec::len).sum();
        (self.times.len() + listed) * arc + self.values.len() * std::mem::size_of::<Vec<u8>>()
    }
}

impl TimeSeries {
    /// Takes the sealed chunks out of every sample list, leaving the open
    /// tails (see [`SealedSamples`]).
    pub(crate) fn detach_sealed(&mut self) -> SealedSamples {
        SealedSamples {
            times: std::mem::take(&mut self.times.sealed),
            values: self
                .series
                .iter_mut()
                .map(|s| &mut s.values)
                .chain(self.partition_lag.iter_mut().map(|p| &mut p.values))
                .map(|v| std::mem::take(&mut v.sealed))
                .collect(),
        }
    }

    /// Puts chunks taken by [`TimeSeries::detach_sealed`] back in front
    /// of the open tails (of this series or of one decoded from it);
    /// false, and nothing changed, when they belong to other series.
    pub(crate) fn attach_sealed(&mut self, sealed: SealedSamples) -> bool {
        let lists = self.series.len() + self.partition_lag.len();
        let open = |n: usize| n < SAMPLE_CHUNK;
        let fits = sealed.values.len() == lists
            && open(self.times.tail.len())
            && sealed.values.iter().all(|v| v.len() == sealed.times.len());
        if !fits {
            return false;
        }
        self.times.sealed = sealed.times;
        let lists = self
            .series
            .iter_mut()
            .map(|s| &mut s.values)
            .chain(self.partition_lag.iter_mut().map(|p| &mut p.values));
        for (v, chunks) in lists.zip(sealed.values) {
            v.sealed = chunks;
        }
        true
    }
}

pub(crate) mod image {
    use super::{
        IntervalHistogram, PartitionSeries, Samples, Series, SeriesKind, Source, TimeSeries,
    };
    use crate::sim::clock::VirtualTime;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize)]
    struct SeriesOut<'a> {
        component: &'a str,
        metric: &'a str,
        kind: SeriesKind,
        values: &'a Samples<u64>,
        source: Source,
    }

    #[derive(Serialize)]
    struct TimeSeriesOut<'a> {
        interval_us: u64,
        times: &'a Samples<VirtualTime>,
        series: Vec<SeriesOut<'a>>,
        max_samples: usize,
        latency: &'a [[IntervalHistogram; 2]],
        staleness: &'a IntervalHistogram,
        partition_lag: &'a [PartitionSeries],
    }

    #[derive(Deserialize)]
    struct SeriesIn {
        component: String,
        metric: String,
        kind: SeriesKind,
        values: Samples<u64>,
        source: Source,
    }

    #[derive(Deserialize)]
    struct TimeSeriesIn {
        interval_us: u64,
        times: Samples<VirtualTime>,
        series: Vec<SeriesIn>,
        max_samples: usize,
        /// Each interval histogram reads its own older form too (raw
        /// values), so images made before it still restore.
        latency: Vec<[IntervalHistogram; 2]>,
        staleness: IntervalHistogram,
        /// Absent from images made before partition lags were sampled.
        #[serde(default)]
        partition_lag: Vec<PartitionSeries>,
    }

    pub(crate) fn serialize<S: Serializer>(ts: &TimeSeries, s: S) -> Result<S::Ok, S::Error> {
        TimeSeriesOut {
            interval_us: ts.interval_us,
            times: &ts.times,
            series: ts
                .series
                .iter()
                .map(|x| SeriesOut {
                    component: &x.component,
                    metric: x.metric,
                    kind: x.kind,
                    values: &x.values,
                    source: x.source,
                })
                .collect(),
            max_samples: ts.max_samples,
            latency: &ts.latency,
            staleness: &ts.staleness,
            partition_lag: &ts.partition_lag,
        }
        .serialize(s)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<TimeSeries, D::Error> {
        let t = TimeSeriesIn::deserialize(d)?;
        let mut series = Vec::with_capacity(t.series.len());
        for x in t.series {
            let metric = super::static_metric_name(&x.metric).ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "unknown series metric `{}` (of `{}`)",
                    x.metric, x.component
                ))
            })?;
            series.push(Series {
                component: x.component,
                metric,
                kind: x.kind,
                values: x.values,
                source: x.source,
            });
        }
        Ok(TimeSeries {
            interval_us: t.interval_us,
            times: t.times,
            series,
            max_samples: t.max_samples,
            latency: t.latency,
            staleness: t.staleness,
            system: Default::default(),
            partition_lag: t.partition_lag,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_group() -> TimeSeries {
        let c = [ComponentMetrics::new("C", "C", Role::Consumer)];
        let groups = [GroupLayout {
            name: "C",
            read_views: false,
        }];
        TimeSeries::for_engine(10, 4, &c, &groups, None)
    }

    fn values(ts: &TimeSeries, metric: &str) -> Vec<u64> {
        ts.find("C", metric)
            .map(|s| s.values.iter().collect())
            .unwrap_or_default()
    }

    #[test]
    fn time_series_stays_bounded_and_doubles_interval() {
        let mut ts = one_group();
        let c = [ComponentMetrics::new("C", "C", Role::Consumer)];
        let mut t = 0;
        for i in 0..40u64 {
            let g = GroupSample {
                lag: i,
                ..GroupSample::default()
            };
            let step = ts.sample(VirtualTime(t), &c, &[g], 0, &[]);
            t += step;
            assert!(ts.times.len() <= 5, "{}", ts.times.len());
        }
        // Times stay evenly spaced at the current interval, from zero.
        let times: Vec<u64> = ts.times.iter().map(|t| t.0).collect();
        assert_eq!(times[0], 0);
        let gaps: Vec<u64> = times.windows(2).map(|w| w[1] - w[0]).collect();
        assert!(gaps.iter().all(|&g| g == ts.interval_us), "{gaps:?}");
        assert!(ts.interval_us > 10);
        for s in &ts.series {
            assert_eq!(s.values.len(), ts.times.len(), "{}", s.metric);
        }
        // A gauge keeps the value at each kept time, the newest included.
        assert_eq!(values(&ts, "lag").last(), Some(&39));
    }

    #[test]
    fn partition_lags_are_sampled_thinned_and_bounded() {
        let mut ts = one_group();
        ts.add_partitions([("C", "T", 0), ("C", "T", 1)]);
        let c = [ComponentMetrics::new("C", "C", Role::Consumer)];
        let g = [GroupSample::default()];
        let mut t = 0;
        for i in 0..40u64 {
            t += ts.sample(VirtualTime(t), &c, &g, 0, &[i, 2 * i]);
            // A partition added mid-run is zero before it existed.
            if i == 20 {
                ts.add_partitions([("D", "T", 0)]);
            }
        }
        assert_eq!(ts.partition_lag.len(), 3);
        for p in &ts.partition_lag {
            assert_eq!(p.values.len(), ts.times.len(), "{p:?}");
        }
        let p1: Vec<u64> = ts
            .partition_lags_of("C")
            .nth(1)
            .expect("C/1")
            .values
            .iter()
            .collect();
        assert_eq!(p1.last(), Some(&78), "the newest sample is kept: {p1:?}");
        assert!(p1.windows(2).all(|w| w[0] <= w[1]), "{p1:?}");
        assert_eq!(ts.partition_lags_of("D").count(), 1);
        // Never more than the bound, however many partitions there are.
        let many = vec![("C", "T", 7u32); MAX_PARTITION_SERIES * 2];
        ts.add_partitions(many);
        assert_eq!(ts.partition_lag.len(), MAX_PARTITION_SERIES);
    }

    /// Within the interval histogram's bound of the exact value `want`.
    fn near(got: u64, want: u64) -> bool {
        got.abs_diff(want) as f64 <= want as f64 / 128.0
    }

    #[test]
    fn interval_percentiles_cover_only_their_interval() {
        let mut ts = one_group();
        let mut m = ComponentMetrics::new("C", "C", Role::Consumer);
        let c = [ComponentMetrics::new("C", "C", Role::Consumer)];
        let g = [GroupSample::default()];
        ts.sample(VirtualTime(0), &c, &g, 0, &[]);
        for v in 1..=1000u64 {
            ts.record_delivery(0, &mut m, v, 10 * v);
        }
        ts.sample(VirtualTime(10), &c, &g, 0, &[]);
        // The next interval is slow: its percentiles are its own.
        for _ in 0..10 {
            ts.record_delivery(0, &mut m, 5_000, 50_000);
        }
        ts.sample(VirtualTime(20), &c, &g, 0, &[]);
        // Nothing recorded: 0, not the previous interval's figure.
        ts.sample(VirtualTime(30), &c, &g, 0, &[]);
        for (metric, exact, scale) in [
            ("processing_p50_us", 500, 1),
            ("processing_p95_us", 950, 1),
            ("processing_p99_us", 990, 1),
            ("processing_p999_us", 999, 1),
            ("e2e_p50_us", 5_000, 10),
            ("e2e_p999_us", 9_990, 10),
        ] {
            let v = values(&ts, metric);
            assert_eq!(v.len(), 4, "{metric}");
            assert!(near(v[1], exact), "{metric}: {v:?}");
            // One value repeated: min = max, so the figure is exact.
            assert_eq!((v[0], v[2], v[3]), (0, 5_000 * scale, 0), "{metric}");
        }
        let all: Vec<u64> = ts
            .find(SYSTEM, "e2e_p99_us")
            .map(|s| s.values.iter().collect())
            .unwrap_or_default();
        assert_eq!(all.len(), 4);
        assert!(near(all[1], 9_900) && all[2] == 50_000, "{all:?}");
    }

    #[test]
    fn interval_percentiles_match_the_whole_run_histogram() {
        // Same buckets, same ranks: an interval's figures are exactly the
        // ones a whole-run histogram of the same values reports.
        let mut ts = one_group();
        let mut m = ComponentMetrics::new("C", "C", Role::Consumer);
        let c = [ComponentMetrics::new("C", "C", Role::Consumer)];
        let g = [GroupSample::default()];
        let mut h = Histogram::new();
        for i in 0..777u64 {
            let v = (i * 7919) % 100_000;
            h.record(v);
            ts.record_delivery(0, &mut m, v, v);
        }
        ts.sample(VirtualTime(0), &c, &g, 0, &[]);
        assert_eq!(m.processing_us.summary(), h.summary(), "whole run recorded");
        for (i, name) in PROCESSING_NAMES.iter().enumerate() {
            assert_eq!(
                values(&ts, name),
                vec![h.quantile(QUANTILES[i].0)],
                "{name}"
            );
        }
    }

    #[test]
    fn system_percentiles_are_those_of_every_group_together() {
        let c = [
            ComponentMetrics::new("A", "A", Role::Consumer),
            ComponentMetrics::new("B", "B", Role::Consumer),
        ];
        let groups = [
            GroupLayout {
                name: "A",
                read_views: false,
            },
            GroupLayout {
                name: "B",
                read_views: false,
            },
        ];
        let mut ts = TimeSeries::for_engine(10, 100, &c, &groups, None);
        let g = [GroupSample::default(); 2];
        let mut m = ComponentMetrics::new("A", "A", Role::Consumer);
        for round in 0..3u64 {
            // A fast group and a slow one; the system mixes both.
            let mut all = Histogram::new();
            for i in 0..500u64 {
                let (a, b) = (100 + i + round, 20_000 + 37 * i);
                ts.record_delivery(0, &mut m, a, a);
                ts.record_delivery(1, &mut m, b, b);
                all.record(a);
                all.record(b);
            }
            ts.sample(VirtualTime(10 * round), &c, &g, 0, &[]);
            for (q, name) in QUANTILES.iter().zip(END_TO_END_NAMES) {
                let got = ts.find(SYSTEM, name).and_then(|s| s.values.last());
                assert_eq!(got, Some(all.quantile(q.0)), "{name} round {round}");
            }
        }
        // The groups' own intervals were left empty by the merge.
        ts.sample(VirtualTime(40), &c, &g, 0, &[]);
        let p50 = ts.find(SYSTEM, "e2e_p50_us").and_then(|s| s.values.last());
        assert_eq!(p50, Some(0));
        assert_eq!(
            ts.find("B", "e2e_p50_us").and_then(|s| s.values.last()),
            Some(0)
        );
    }

    #[test]
    fn thinning_folds_interval_figures_into_the_kept_sample() {
        let mut ts = one_group();
        let mut m = ComponentMetrics::new("C", "C", Role::Consumer);
        let c = [ComponentMetrics::new("C", "C", Role::Consumer)];
        let g = [GroupSample::default()];
        // Samples 0..=4 with one slow interval (the 3rd, dropped by thinning).
        for (i, slow) in [0u64, 100, 9_000, 200, 300].iter().enumerate() {
            if *slow > 0 {
                ts.record_delivery(0, &mut m, *slow, *slow);
            }
            ts.sample(VirtualTime(10 * i as u64), &c, &g, 0, &[]);
        }
        assert_eq!(ts.times.len(), 3);
        // Kept: t=0, t=20 (covering the intervals ending at 10 and 20), t=40.
        assert_eq!(values(&ts, "processing_p99_us"), vec![0, 9_000, 300]);
    }

    #[test]
    fn samples_share_sealed_chunks_between_clones() {
        let mut s = Samples::default();
        for v in 0..1000u64 {
            s.push(v);
        }
        let c = s.clone();
        assert!(Arc::ptr_eq(&s.sealed[0], &c.sealed[0]));
        assert_eq!(c, s);
        assert_eq!(s.get(999), Some(999));
        assert_eq!(s.get(1000), None);
        assert_eq!(s.last(), Some(999));
        assert_eq!(s.tail_from(997), vec![997, 998, 999]);
        for from in [0, 1, 127, 128, 129, 500, 895, 896, 999, 1000, 5000] {
            let want: Vec<u64> = (from as u64..1000).collect();
            assert_eq!(s.tail_from(from), want, "from {from}");
        }
        let json = serde_json::to_string(&s.tail_from(998)).unwrap_or_default();
        assert_eq!(json, "[998,999]");
    }

    #[test]
    fn run_hash_depends_on_order() {
        let mut a = RunHash::default();
        let mut b = RunHash::default();
        a.add(1);
        a.add(2);
        b.add(2);
        b.add(1);
        assert_ne!(a.value(), b.value());
    }
}
