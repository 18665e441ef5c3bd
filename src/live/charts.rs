//! The charts of a live run: [`ChartsFrame`], the lines of the selected
//! component (the whole system when none) over the whole run so far,
//! copied out of the engine's time series, plus what the fault menu needs
//! to know at the moment shown (which instances are up, which topics a
//! producer publishes to).
//!
//! Lines cover `[0, head]` whatever moment is shown, so the charts are a
//! map of the run: the moment shown is a marker on them, and a click on
//! them seeks. Each line is downsampled to at most [`CHART_POINTS`]
//! points, keeping each bucket's minimum and maximum, so a frame stays
//! small however long the run, and a spike never disappears.
//!
//! Reads the engine only through its public accessors; must not depend
//! on egui.

use crate::model::Role;
use crate::sim::{
    Engine, History, PartitionSeries, QUANTILES, SYSTEM, Series, TimeSeries, VirtualTime,
};

/// Most points a chart line carries.
pub const CHART_POINTS: usize = 600;

/// Most partitions the per-partition lag chart draws (the ones that
/// lagged most over the run), so a frame stays small with many partitions.
pub const PARTITION_LINES: usize = 12;

/// One of the charts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ChartKind {
    /// Events in and out per virtual second.
    Throughput,
    /// Service time per record, per-interval percentiles (ms).
    Processing,
    /// Append → processed, per-interval percentiles (ms).
    EndToEnd,
    /// Records appended and not yet processed.
    Lag,
    /// A group's lag in each partition it reads (the most lagged
    /// [`PARTITION_LINES`]).
    PartitionLag,
    /// Command accepted → read views applied, per-interval percentiles (ms).
    Staleness,
    /// DLQ size, duplicates applied, write conflicts (running totals).
    Errors,
}

impl ChartKind {
    /// Every chart, in the order shown.
    pub const ALL: [ChartKind; 7] = [
        ChartKind::Throughput,
        ChartKind::Processing,
        ChartKind::EndToEnd,
        ChartKind::Lag,
        ChartKind::PartitionLag,
        ChartKind::Staleness,
        ChartKind::Errors,
    ];

    /// The chart's title.
    pub fn title(self) -> &'static str {
        match self {
            ChartKind::Throughput => "Throughput (events/s)",
            ChartKind::Processing => "Processing latency (ms)",
            ChartKind::EndToEnd => "End-to-end latency (ms)",
            ChartKind::Lag => "Lag (records)",
            ChartKind::PartitionLag => "Lag per partition (records)",
            ChartKind::Staleness => "Read-model staleness (ms)",
            ChartKind::Errors => "DLQ, duplicates, conflicts",
        }
    }
}

/// One line of a chart.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartLine {
    /// The chart it belongs to.
    pub chart: ChartKind,
    /// Its legend name (`in/s`, `p99`, `lag`, …).
    pub name: String,
    /// `[virtual seconds, value]`, oldest first, at most [`CHART_POINTS`].
    pub points: Vec<[f64; 2]>,
}

/// A consumer group's instances at the moment shown.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupInstances {
    /// The group (its component's Mermaid id).
    pub group: String,
    /// Whether each instance, by number, is up (down = crashed or removed).
    pub up: Vec<bool>,
}

impl GroupInstances {
    /// Instances down.
    pub fn down(&self) -> usize {
        self.up.iter().filter(|u| !**u).count()
    }
}

/// The charts and fault targets of one frame.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChartsFrame {
    /// The component charted (Mermaid id), or `None` for the whole system.
    pub component: Option<String>,
    /// The moment shown (the marker), virtual µs.
    pub now_us: u64,
    /// The end of the lines, virtual µs.
    pub head_us: u64,
    /// The lines, grouped by [`ChartKind`] in [`ChartKind::ALL`] order.
    pub lines: Vec<ChartLine>,
    /// Every consumer group's instances, at the moment shown.
    pub instances: Vec<GroupInstances>,
    /// Per source component: the topics it publishes to.
    pub topics_of: Vec<(String, Vec<String>)>,
}

impl ChartsFrame {
    /// The lines of `selected` (or the whole system) over the run so far
    /// in `head`; the moment's part comes from [`ChartsFrame::at_moment`].
    pub fn of_run(head: &Engine, selected: Option<&str>) -> ChartsFrame {
        let known = selected.filter(|k| head.component_metrics(k).is_some());
        let series = head.series();
        let lines = match known {
            Some(key) => component_lines(series, key),
            None => system_lines(head),
        };
        ChartsFrame {
            component: known.map(str::to_string),
            now_us: head.now().as_us(),
            head_us: head.now().as_us(),
            lines,
            instances: Vec::new(),
            topics_of: Vec::new(),
        }
    }

    /// The charts of a frame: the lines from the head of `history`, the
    /// moment from the head or, when `viewing` a past time, from there.
    pub fn capture(history: &mut History, viewing: Option<u64>, selected: Option<&str>) -> Self {
        let mut charts = ChartsFrame::of_run(history.head(), selected);
        match viewing {
            Some(t) => charts.at_moment(history.seek(VirtualTime::from_us(t))),
            None => charts.at_moment(history.head()),
        }
        charts
    }

    /// Fills in the moment shown from `engine` (the head, or a past moment).
    pub fn at_moment(&mut self, engine: &Engine) {
        self.now_us = engine.now().as_us();
        self.instances = engine
            .group_names()
            .filter_map(|g| {
                Some(GroupInstances {
                    group: g.to_string(),
                    up: engine.group_instances(g)?.iter().map(|i| i.alive).collect(),
                })
            })
            .collect();
        let topics: Vec<&str> = engine.topics().iter().map(|t| t.name()).collect();
        let mut topics_of: Vec<(String, Vec<String>)> = Vec::new();
        for s in &engine.scenario().sources {
            let qualified = format!("{}@{}", s.event_type, s.bus);
            let Some(name) = [qualified.as_str(), s.event_type.as_str()]
                .into_iter()
                .find(|n| topics.contains(n))
            else {
                continue;
            };
            match topics_of.iter_mut().find(|(c, _)| *c == s.component) {
                Some((_, list)) if !list.iter().any(|t| t == name) => list.push(name.to_string()),
                Some(_) => {}
                None => topics_of.push((s.component.clone(), vec![name.to_string()])),
            }
        }
        self.topics_of = topics_of;
    }

    /// The lines of one chart.
    pub fn chart(&self, kind: ChartKind) -> impl Iterator<Item = &ChartLine> {
        self.lines.iter().filter(move |l| l.chart == kind)
    }

    /// The instances of group `key`, if it is one.
    pub fn instances_of(&self, key: &str) -> Option<&GroupInstances> {
        self.instances.iter().find(|g| g.group == key)
    }

    /// The topics component `key` publishes to (empty when none).
    pub fn topics_of(&self, key: &str) -> &[String] {
        self.topics_of
            .iter()
            .find(|(c, _)| c == key)
            .map_or(&[], |(_, t)| t.as_slice())
    }
}

fn seconds(series: &TimeSeries) -> Vec<f64> {
    series
        .times
        .iter()
        .map(|t| t.as_us() as f64 / 1e6)
        .collect()
}

fn values(s: &Series) -> Vec<f64> {
    s.values.iter().map(|v| v as f64).collect()
}

/// Index-wise sum of several series (all as long as the times).
fn sum<'a>(series: impl Iterator<Item = &'a Series>, len: usize) -> Option<Vec<f64>> {
    let mut out: Option<Vec<f64>> = None;
    for s in series {
        let acc = out.get_or_insert_with(|| vec![0.0; len]);
        for (a, v) in acc.iter_mut().zip(s.values.iter()) {
            *a += v as f64;
        }
    }
    out
}

/// Per-second rates of a running total, at the end of each interval.
fn rates(t: &[f64], v: &[f64]) -> Vec<[f64; 2]> {
    t.windows(2)
        .zip(v.windows(2))
        .filter(|(t, _)| t[1] > t[0])
        .map(|(t, v)| [t[1], (v[1] - v[0]).max(0.0) / (t[1] - t[0])])
        .collect()
}

fn points(t: &[f64], v: &[f64]) -> Vec<[f64; 2]> {
    t.iter().zip(v).map(|(t, v)| [*t, *v]).collect()
}

/// Per-interval µs percentiles as ms, leaving out intervals with no value.
fn latency_points(t: &[f64], v: &[f64]) -> Vec<[f64; 2]> {
    t.iter()
        .zip(v)
        .filter(|(_, v)| **v > 0.0)
        .map(|(t, v)| [*t, v / 1e3])
        .collect()
}

struct Lines {
    out: Vec<ChartLine>,
}

impl Lines {
    fn push(&mut self, chart: ChartKind, name: &str, points: Vec<[f64; 2]>) {
        self.out.push(ChartLine {
            chart,
            name: name.to_string(),
            points: downsample(&points, CHART_POINTS),
        });
    }

    /// The p50/p95/p99 lines of `prefix_pNN_us` series of `component`.
    fn latency(&mut self, series: &TimeSeries, t: &[f64], chart: ChartKind, component: &str) {
        let prefix = match chart {
            ChartKind::Processing => "processing",
            ChartKind::EndToEnd => "e2e",
            _ => "staleness",
        };
        for (_, q) in QUANTILES.iter().take(3) {
            let metric = format!("{prefix}_{q}_us");
            if let Some(s) = series.find(component, &metric) {
                self.push(chart, q, latency_points(t, &values(s)));
            }
        }
    }

    fn done(mut self) -> Vec<ChartLine> {
        self.out.sort_by_key(|l| l.chart);
        self.out
    }
}

fn component_lines(series: &TimeSeries, key: &str) -> Vec<ChartLine> {
    let t = seconds(series);
    let mut lines = Lines { out: Vec::new() };
    let ins = series.find(key, "events_in").map(values);
    let outs = series.find(key, "events_out").map(values);
    let moved = |v: &Option<Vec<f64>>| v.as_ref().and_then(|v| v.last().copied()) > Some(0.0);
    let (show_in, show_out) = (moved(&ins), moved(&outs));
    if let Some(v) = ins.as_ref().filter(|_| show_in || !show_out) {
        lines.push(ChartKind::Throughput, "in/s", rates(&t, v));
    }
    if let Some(v) = outs.as_ref().filter(|_| show_out) {
        lines.push(ChartKind::Throughput, "out/s", rates(&t, v));
    }
    lines.latency(series, &t, ChartKind::Processing, key);
    lines.latency(series, &t, ChartKind::EndToEnd, key);
    if let Some(s) = series.find(key, "lag") {
        lines.push(ChartKind::Lag, "lag", points(&t, &values(s)));
    }
    partition_lines(&mut lines, series, &t, key);
    lines.latency(series, &t, ChartKind::Staleness, key);
    for (metric, name) in [
        ("dlq", "DLQ"),
        ("duplicates", "duplicates"),
        ("conflicts", "conflicts"),
    ] {
        if let Some(s) = series.find(key, metric) {
            lines.push(ChartKind::Errors, name, points(&t, &values(s)));
        }
    }
    lines.done()
}

/// The lag of each partition group `key` reads, one line per partition
/// (`Topic/p`): the [`PARTITION_LINES`] with the highest peak, in the
/// engine's order.
fn partition_lines(lines: &mut Lines, series: &TimeSeries, t: &[f64], key: &str) {
    let parts: Vec<&PartitionSeries> = series.partition_lags_of(key).collect();
    if parts.len() < 2 {
        // One partition's line is the group's lag line.
        return;
    }
    let mut peaks: Vec<(u64, usize)> = parts
        .iter()
        .enumerate()
        .map(|(i, p)| (p.values.iter().max().unwrap_or(0), i))
        .collect();
    peaks.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut shown: Vec<usize> = peaks
        .iter()
        .take(PARTITION_LINES)
        .map(|&(_, i)| i)
        .collect();
    shown.sort_unstable();
    let several_topics = parts.iter().any(|p| p.topic != parts[0].topic);
    for i in shown {
        let p = parts[i];
        let name = if several_topics {
            format!("{}/{}", p.topic, p.partition)
        } else {
            format!("p{}", p.partition)
        };
        let v: Vec<f64> = p.values.iter().map(|v| v as f64).collect();
        lines.push(ChartKind::PartitionLag, &name, points(t, &v));
    }
}

fn system_lines(engine: &Engine) -> Vec<ChartLine> {
    let series = engine.series();
    let t = seconds(series);
    let n = t.len();
    let mut lines = Lines { out: Vec::new() };
    let with_role = |role: Role| -> Vec<&str> {
        engine
            .metrics()
            .iter()
            .filter(|m| m.role == role)
            .map(|m| m.key.as_str())
            .collect()
    };
    let buses = with_role(Role::Bus);
    let of = |keys: &[&str], metric: &'static str| {
        let keys: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
        series
            .series
            .iter()
            .filter(move |s| s.metric == metric && keys.contains(&s.component))
    };
    if let Some(v) = sum(of(&buses, "events_in"), n) {
        lines.push(ChartKind::Throughput, "appended/s", rates(&t, &v));
    }
    if let Some(v) = sum(of(&buses, "events_out"), n) {
        lines.push(ChartKind::Throughput, "delivered/s", rates(&t, &v));
    }
    lines.latency(series, &t, ChartKind::Processing, SYSTEM);
    lines.latency(series, &t, ChartKind::EndToEnd, SYSTEM);
    let metric = |m: &'static str| series.series.iter().filter(move |s| s.metric == m);
    if let Some(v) = sum(metric("lag"), n) {
        lines.push(ChartKind::Lag, "lag (all groups)", points(&t, &v));
    }
    if let Some(s) = series
        .series
        .iter()
        .find(|s| s.metric == "staleness_p50_us")
    {
        lines.latency(series, &t, ChartKind::Staleness, &s.component);
    }
    for (m, name) in [
        ("dlq", "DLQ"),
        ("duplicates", "duplicates"),
        ("conflicts", "conflicts"),
    ] {
        if let Some(v) = sum(metric(m), n) {
            lines.push(ChartKind::Errors, name, points(&t, &v));
        }
    }
    lines.done()
}

/// At most `max` points of `points` (x ascending): when there are more,
/// the range is cut into `max / 2` buckets of consecutive points and each
/// keeps its lowest and highest point, in their order.
pub fn downsample(points: &[[f64; 2]], max: usize) -> Vec<[f64; 2]> {
    let max = max.max(2);
    if points.len() <= max {
        return points.to_vec();
    }
    let buckets = max / 2;
    let mut out = Vec::with_capacity(max);
    for b in 0..buckets {
        let from = b * points.len() / buckets;
        let to = ((b + 1) * points.len() / buckets).max(from + 1);
        let chunk = &points[from..to];
        let (mut lo, mut hi) = (0, 0);
        for (i, p) in chunk.iter().enumerate() {
            if p[1] < chunk[lo][1] {
                lo = i;
            }
            if p[1] > chunk[hi][1] {
                hi = i;
            }
        }
        out.push(chunk[lo.min(hi)]);
        if lo != hi {
            out.push(chunk[lo.max(hi)]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::live::{Command, LiveHandle};
    use crate::mermaid::parse_flowchart;
    use crate::model::ArchGraph;
    use crate::sim::{Fault, Scenario};
    use std::time::Duration;

    const WAIT: Duration = Duration::from_secs(30);

    #[test]
    fn downsampling_keeps_extremes_and_bounds_size() {
        let pts: Vec<[f64; 2]> = (0..10_000)
            .map(|i| [i as f64, if i == 4_321 { 1e6 } else { (i % 7) as f64 }])
            .collect();
        let d = downsample(&pts, CHART_POINTS);
        assert!(d.len() <= CHART_POINTS, "{}", d.len());
        assert!(d.iter().any(|p| p[1] == 1e6), "the spike survives");
        assert!(d.windows(2).all(|w| w[0][0] < w[1][0]), "time order kept");
        assert_eq!(downsample(&pts[..5], CHART_POINTS), pts[..5].to_vec());
    }

    #[test]
    fn a_group_charts_its_lag_per_partition_and_they_add_up() {
        let chart = parse_flowchart(crate::SEED_DIAGRAM).unwrap();
        let g = ArchGraph::from_flowchart(&chart);
        let mut e = Engine::new(&g, Scenario::default_for(&g), 3).unwrap();
        e.run_until(VirtualTime::from_secs(1));
        e.apply_fault(Fault::Crash {
            group: "Consumer1".into(),
            instance: 0,
            duration_us: None,
        })
        .unwrap();
        e.run_until(VirtualTime::from_secs(3));
        let charts = ChartsFrame::of_run(&e, Some("Consumer1"));
        let parts: Vec<&ChartLine> = charts.chart(ChartKind::PartitionLag).collect();
        let workers = e.partition_lags("Consumer1").unwrap().len();
        assert_eq!(parts.len(), workers.min(PARTITION_LINES), "{parts:?}");
        let group = charts.chart(ChartKind::Lag).next().unwrap();
        let last = |l: &ChartLine| l.points.last().unwrap()[1];
        let sum: f64 = parts.iter().map(|l| last(l)).sum();
        assert_eq!(sum, last(group), "partition lags add up to the group's");
        assert!(sum > 100.0, "the crashed group lags: {sum}");
        // The whole system has no per-partition chart.
        let system = ChartsFrame::of_run(&e, None);
        assert_eq!(system.chart(ChartKind::PartitionLag).count(), 0);
    }

    fn last_lag(f: &crate::live::Frame) -> f64 {
        f.charts
            .as_ref()
            .and_then(|c| c.chart(ChartKind::Lag).next())
            .and_then(|l| l.points.last())
            .map_or(0.0, |p| p[1])
    }

    fn max_lag(f: &crate::live::Frame) -> f64 {
        f.charts
            .as_ref()
            .and_then(|c| c.chart(ChartKind::Lag).next())
            .map_or(0.0, |l| l.points.iter().map(|p| p[1]).fold(0.0, f64::max))
    }

    #[test]
    fn a_crash_makes_the_lag_series_rise_and_a_restart_drains_it() {
        let g = ArchGraph::from_flowchart(&parse_flowchart(crate::SEED_DIAGRAM).unwrap());
        let mut live = LiveHandle::start(g.clone(), Scenario::default_for(&g), 3, || {}).unwrap();
        live.send(Command::Select(Some("Consumer1".into())))
            .unwrap();
        live.send(Command::StepBy(2_000_000)).unwrap();
        let f = live.wait_for(WAIT, |f| f.now_us >= 2_000_000);
        let charts = f.charts.as_ref().unwrap();
        assert_eq!(charts.component.as_deref(), Some("Consumer1"));
        assert!(max_lag(&f) < 50.0, "healthy lag {}", max_lag(&f));
        assert!(charts.chart(ChartKind::Throughput).next().is_some());
        assert!(charts.chart(ChartKind::Processing).count() == 3);
        assert_eq!(charts.instances_of("Consumer1").map(|i| i.down()), Some(0));

        live.send(Command::Fault(Fault::Crash {
            group: "Consumer1".into(),
            instance: 0,
            duration_us: None,
        }))
        .unwrap();
        live.send(Command::StepBy(3_000_000)).unwrap();
        let f = live.wait_for(WAIT, |f| f.now_us >= 5_000_000);
        let crashed = last_lag(&f);
        // ~390 records/s reach the group and nothing is processed.
        assert!(crashed > 800.0, "lag while crashed {crashed}");
        let charts = f.charts.as_ref().unwrap();
        assert_eq!(charts.instances_of("Consumer1").map(|i| i.down()), Some(1));

        live.send(Command::Fault(Fault::Restart {
            group: "Consumer1".into(),
            instance: 0,
        }))
        .unwrap();
        live.send(Command::StepBy(5_000_000)).unwrap();
        let f = live.wait_for(WAIT, |f| f.now_us >= 10_000_000);
        let drained = last_lag(&f);
        assert!(drained < 50.0, "lag after the restart {drained}");
        assert!(max_lag(&f) >= crashed, "the spike stays on the chart");

        // Scrubbing back shows the marker there and the crash's instances.
        live.send(Command::Seek(4_000_000)).unwrap();
        let f = live.wait_for(WAIT, |f| f.viewing_past);
        let charts = f.charts.as_ref().unwrap();
        assert_eq!(charts.now_us, 4_000_000);
        assert_eq!(charts.head_us, 10_000_000);
        assert_eq!(charts.instances_of("Consumer1").map(|i| i.down()), Some(1));
    }

    #[test]
    fn no_selection_charts_the_whole_system() {
        let g = ArchGraph::from_flowchart(&parse_flowchart(crate::SEED_DIAGRAM).unwrap());
        let mut live = LiveHandle::start(g.clone(), Scenario::default_for(&g), 1, || {}).unwrap();
        live.send(Command::StepBy(3_000_000)).unwrap();
        let f = live.wait_for(WAIT, |f| f.now_us >= 3_000_000);
        let charts = f.charts.as_ref().unwrap();
        assert_eq!(charts.component, None);
        let names: Vec<&str> = charts.lines.iter().map(|l| l.name.as_str()).collect();
        for want in [
            "appended/s",
            "delivered/s",
            "p99",
            "lag (all groups)",
            "DLQ",
        ] {
            assert!(names.contains(&want), "{want} in {names:?}");
        }
        let appended = charts.chart(ChartKind::Throughput).next().unwrap();
        let rate = appended.points.last().unwrap()[1];
        // The seed's sources publish ~390 events/s in all.
        assert!((200.0..700.0).contains(&rate), "{rate}");
        assert!(charts.chart(ChartKind::Staleness).count() == 3);
        assert_eq!(charts.topics_of("Producer1"), ["OrderCreated".to_string()]);
    }
}
