//! What a run measures: per-component counters and latency histograms,
//! time series sampled at a fixed virtual interval (bounded: when full,
//! every other sample is dropped and the interval doubles), and the run
//! hash that fingerprints the history.

use super::clock::VirtualTime;
use super::consumer::DeliveryCounters;
use super::cqrs::CqrsSummary;
use super::fault::FaultRecord;
use super::histogram::{Histogram, LatencySummary};
use super::invariants::InvariantReport;
use super::state::SinkSummary;
use crate::model::Role;
use serde::{Deserialize, Serialize};

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

/// One sampled quantity of one component.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Series {
    /// The component's Mermaid id.
    pub component: String,
    /// What is sampled: `events_in` (cumulative) or `lag` (records).
    #[serde(deserialize_with = "metric_name")]
    pub metric: MetricName,
    /// One value per sample time.
    pub values: Vec<u64>,
}

/// The sampled quantities a [`Series`] can name; an engine image names
/// one of them (the field is `&'static str` so that a sample costs no
/// allocation).
const METRIC_NAMES: [&str; 2] = ["events_in", "lag"];

/// A sampled quantity's name. An alias, so that serde does not take the
/// field for a string borrowed from the input.
pub type MetricName = &'static str;

fn metric_name<'de, D: serde::Deserializer<'de>>(d: D) -> Result<&'static str, D::Error> {
    let name = String::deserialize(d)?;
    METRIC_NAMES
        .iter()
        .find(|&&m| m == name)
        .copied()
        .ok_or_else(|| serde::de::Error::custom(format!("unknown series metric `{name}`")))
}

/// Values sampled at a fixed virtual interval, bounded in length.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeSeries {
    /// Current spacing of samples (doubles each time the series fills up).
    pub interval_us: u64,
    /// Sample times.
    pub times: Vec<VirtualTime>,
    /// The sampled quantities, all as long as `times`.
    pub series: Vec<Series>,
    #[serde(skip)]
    pub(crate) max_samples: usize,
}

impl TimeSeries {
    /// Sets the bound an engine image does not carry (it is not part of
    /// the series' JSON either).
    pub(crate) fn set_max_samples(&mut self, max_samples: usize) {
        self.max_samples = max_samples;
    }

    pub(crate) fn new(interval_us: u64, max_samples: usize, series: Vec<Series>) -> TimeSeries {
        TimeSeries {
            interval_us,
            times: Vec::new(),
            series,
            max_samples,
        }
    }

    /// Adds a sample (`values` in the order of `series`), first halving
    /// the history if it is full. Returns the interval to the next sample.
    /// Adds a series (for a group added mid-run), zero before now.
    pub(crate) fn add_series(&mut self, mut s: Series) {
        s.values = vec![0; self.times.len()];
        self.series.push(s);
    }

    pub(crate) fn push(&mut self, t: VirtualTime, values: impl Iterator<Item = u64>) -> u64 {
        if self.times.len() >= self.max_samples {
            keep_even(&mut self.times);
            for s in &mut self.series {
                keep_even(&mut s.values);
            }
            self.interval_us = self.interval_us.saturating_mul(2);
        }
        self.times.push(t);
        for (s, v) in self.series.iter_mut().zip(values) {
            s.values.push(v);
        }
        self.interval_us
    }
}

fn keep_even<T: Copy>(v: &mut Vec<T>) {
    let mut i = 0;
    v.retain(|_| {
        i += 1;
        i % 2 == 1
    });
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
    /// The next offset the group will process (everything below is committed).
    pub committed: u64,
    /// The partition's high watermark.
    pub high_watermark: u64,
    /// `high_watermark - committed`: records appended and not yet processed
    /// (including the one in service), i.e. the number in this queue.
    pub lag: u64,
    /// Lag in time: how long the oldest unprocessed record has waited (0 when none).
    pub lag_us: u64,
    /// Lag averaged over virtual time since the start (L in Little's law).
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_series_stays_bounded_and_doubles_interval() {
        let series = vec![Series {
            component: "C".into(),
            metric: "lag",
            values: Vec::new(),
        }];
        let mut ts = TimeSeries::new(10, 4, series);
        let mut t = 0;
        for i in 0..9u64 {
            let step = ts.push(VirtualTime(t), std::iter::once(i));
            t += step;
            assert!(ts.times.len() <= 4);
        }
        // Times stay evenly spaced at the current interval.
        let gaps: Vec<u64> = ts.times.windows(2).map(|w| w[1].0 - w[0].0).collect();
        assert!(gaps.iter().all(|&g| g == ts.interval_us), "{gaps:?} {ts:?}");
        assert_eq!(ts.series[0].values.len(), ts.times.len());
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
