//! What the UI draws of a running simulation at one moment: a [`Frame`],
//! copied out of the engine so the UI never holds a borrow of it.
//!
//! A frame is small and of bounded size whatever the run's length: counters
//! and gauges per component, the groups' partitions, and only the last
//! [`SPARK_SAMPLES`] samples of each time series.

use super::Speed;
use crate::model::Role;
use crate::sim::{
    DeliveryCounters, Engine, FaultRecord, GroupSummary, InvariantReport, LatencySummary,
};

/// Samples of each series a frame carries for sparklines.
pub const SPARK_SAMPLES: usize = 60;
/// Fault records a frame carries (the latest).
const FAULT_TAIL: usize = 32;

/// Whether virtual time is advancing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunState {
    /// Waiting for Run or Step.
    Paused,
    /// Advancing, paced by the speed.
    Running,
    /// The engine has nothing left to do.
    Finished,
}

/// One component's live numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct ComponentFrame {
    /// Mermaid id.
    pub key: String,
    /// Display label.
    pub label: String,
    /// Role in the architecture.
    pub role: Role,
    /// Events taken in so far.
    pub events_in: u64,
    /// Events passed on so far.
    pub events_out: u64,
    /// Events refused (full bus, rejected commands).
    pub rejected: u64,
    /// Events in per virtual second over the last sample interval.
    pub rate_in_per_s: f64,
    /// Records behind the head of the bus, summed over partitions (groups only).
    pub lag: Option<u64>,
    /// Delivery counters (groups only): failures, retries, dead-lettered, …
    pub delivery: Option<DeliveryCounters>,
    /// Processing latency so far (groups only).
    pub processing_us: Option<LatencySummary>,
    /// Events in per sample interval, oldest first (for a sparkline).
    pub spark_rate: Vec<f64>,
    /// Lag at each sample, oldest first (groups only).
    pub spark_lag: Vec<u64>,
    /// Events out per virtual second over the last sample interval.
    pub rate_out_per_s: f64,
    /// Events out per second in each sample interval, oldest first (a
    /// source's sparkline).
    pub spark_out: Vec<f64>,
    /// Records waiting in the group's DLQ now: dead-lettered and not
    /// replayed (groups only).
    pub dlq_waiting: Option<u64>,
    /// Failed delivery attempts over the sparklines' window (the last
    /// [`SPARK_SAMPLES`] sample intervals; groups only): what "failing
    /// now" means, where `delivery` holds the run's totals.
    pub recent_failures: u64,
}

/// The picture of a run at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    /// Increases with every frame the driver publishes.
    pub seq: u64,
    /// Virtual time of this picture, microseconds.
    pub now_us: u64,
    /// The latest virtual time the run has reached (the timeline's end);
    /// equal to `now_us` unless a past moment is shown.
    pub head_us: u64,
    /// Whether this is a past moment (after [`super::Command::Seek`]).
    pub viewing_past: bool,
    /// Running, paused or finished.
    pub state: RunState,
    /// The pace.
    pub speed: Speed,
    /// The run's seed.
    pub seed: u64,
    /// The run hash so far, 16 hex digits.
    pub run_hash: String,
    /// Records appended to the bus so far.
    pub events_produced: u64,
    /// Deliveries (record × group) so far.
    pub deliveries: u64,
    /// Deliveries per wall-clock second lately (0 when not running).
    pub deliveries_per_wall_s: f64,
    /// Per component, in diagram order.
    pub components: Vec<ComponentFrame>,
    /// Per consumer group: instances, partitions with offsets and lag, DLQ.
    pub groups: Vec<GroupSummary>,
    /// The engine's invariant checks so far.
    pub invariants: InvariantReport,
    /// The latest faults and control inputs applied or refused.
    pub faults: Vec<FaultRecord>,
    /// The last command's error, if it failed.
    pub error: Option<String>,
    /// The selected component ([`super::Command::Select`]).
    pub selected: Option<String>,
    /// Events in transit on the edges, the bus's partitions, the event
    /// stores (filled by the driver, which knows the diagram's edges).
    pub flow: super::flow::FlowFrame,
    /// The selected component's charts (the whole system's when none)
    /// and the fault menu's targets; filled by the driver.
    pub charts: Option<super::charts::ChartsFrame>,
    /// The selected component's live state as tables, with its metrics
    /// (`None` when nothing, or something the engine does not know, is selected).
    pub detail: Option<super::detail::ComponentDetail>,
    /// The event log's page and the selected event's trace (filled by the
    /// driver when the UI has asked for them).
    pub log: super::log::LogView,
    /// The last Save Run's outcome (filled by the driver).
    pub replay: super::replay::ReplayFrame,
    /// How long the bus keeps records (a live run keeps the latest of
    /// each partition unless the diagram says otherwise).
    pub retention: crate::sim::Retention,
    /// Where `retention` came from: the diagram, or the live default.
    pub retention_source: crate::sim::RetentionSource,
    /// How far back the run can be shown, and the seek under way (filled
    /// by the driver).
    pub timeline: super::timeline::TimelineFrame,
}

impl Frame {
    /// Copies the picture out of `engine`.
    pub fn capture(engine: &Engine, state: RunState, speed: Speed, seq: u64) -> Frame {
        let groups = group_summaries(engine);
        let series = engine.series();
        let n = series.times.len();
        let from = n.saturating_sub(SPARK_SAMPLES + 1);
        let times = &series.times.tail_from(from);
        let components = engine
            .metrics()
            .iter()
            .map(|m| {
                let group = groups.iter().find(|g| g.group == m.key);
                let cumulative = |metric: &str| {
                    series
                        .series
                        .iter()
                        .find(|s| s.component == m.key && s.metric == metric)
                        .map(|s| s.values.tail_from(from))
                };
                let spark_rate = cumulative("events_in")
                    .map(|v| rates(times, &v))
                    .unwrap_or_default();
                let spark_out = cumulative("events_out")
                    .map(|v| rates(times, &v))
                    .unwrap_or_default();
                let recent_failures = cumulative("failures")
                    .map(|v| match (v.first(), v.last()) {
                        (Some(a), Some(b)) => b.saturating_sub(*a),
                        _ => 0,
                    })
                    .unwrap_or(0);
                let spark_lag = series
                    .series
                    .iter()
                    .find(|s| s.component == m.key && s.metric == "lag")
                    .map(|s| {
                        let v = s.values.tail_from(from);
                        v[v.len().saturating_sub(SPARK_SAMPLES)..].to_vec()
                    })
                    .unwrap_or_default();
                ComponentFrame {
                    key: m.key.clone(),
                    label: m.label.clone(),
                    role: m.role,
                    events_in: m.events_in,
                    events_out: m.events_out,
                    rejected: m.rejected,
                    rate_in_per_s: spark_rate.last().copied().unwrap_or(0.0),
                    lag: group.map(|g| g.partitions.iter().map(|p| p.lag).sum()),
                    delivery: group.map(|g| g.delivery),
                    processing_us: group.map(|_| m.processing_us.summary()),
                    spark_rate,
                    spark_lag,
                    rate_out_per_s: spark_out.last().copied().unwrap_or(0.0),
                    spark_out,
                    dlq_waiting: group
                        .map(|_| engine.dead_letters(&m.key).map_or(0, |d| d.waiting())),
                    recent_failures,
                }
            })
            .collect();
        let faults = engine.fault_log();
        Frame {
            seq,
            now_us: engine.now().as_us(),
            head_us: engine.now().as_us(),
            viewing_past: false,
            state,
            speed,
            seed: engine.seed(),
            run_hash: format!("{:016x}", engine.run_hash()),
            events_produced: engine.events_produced(),
            deliveries: engine.deliveries(),
            deliveries_per_wall_s: 0.0,
            components,
            groups,
            invariants: engine.invariants(),
            faults: faults[faults.len().saturating_sub(FAULT_TAIL)..].to_vec(),
            error: None,
            selected: None,
            flow: super::flow::FlowFrame::default(),
            charts: None,
            detail: None,
            log: super::log::LogView::default(),
            replay: super::replay::ReplayFrame::default(),
            retention: engine.scenario().retention,
            retention_source: engine.scenario().retention_source,
            timeline: super::timeline::TimelineFrame::default(),
        }
    }

    /// The component with Mermaid id `key`.
    pub fn component(&self, key: &str) -> Option<&ComponentFrame> {
        self.components.iter().find(|c| c.key == key)
    }
}

/// The consumer groups as `simulate` reports them, from the engine's
/// read-only accessors.
fn group_summaries(engine: &Engine) -> Vec<GroupSummary> {
    engine
        .group_names()
        .filter_map(|name| {
            let dlq = engine.dead_letters(name)?;
            Some(GroupSummary {
                group: name.to_string(),
                instances: engine.live_instances(name).map_or(0, |v| v.len() as u32),
                idempotent: engine.scenario().group_params(name).idempotent,
                delivery: engine.delivery_counters(name).unwrap_or_default(),
                dlq_topic: dlq.name.clone(),
                dlq_len: dlq.len,
                store_len: engine.event_store(name).map(|s| s.store_len()),
                partitions: engine.partition_lags(name).unwrap_or_default(),
            })
        })
        .collect()
}

/// Per-second rates between consecutive samples of a cumulative counter.
fn rates(times: &[crate::sim::VirtualTime], values: &[u64]) -> Vec<f64> {
    times
        .windows(2)
        .zip(values.windows(2))
        .map(|(t, v)| {
            let dt = t[1].since_us(t[0]);
            if dt == 0 {
                0.0
            } else {
                v[1].saturating_sub(v[0]) as f64 * 1e6 / dt as f64
            }
        })
        .collect()
}
