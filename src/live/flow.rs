//! What flows on the canvas at one moment: the events in transit along the
//! diagram's edges (dots), each edge's rate by event type (for density when
//! there are too many dots), the legend of event types, and where events
//! are held — the bus's topics × partitions with their offsets, and the
//! event stores' positions and stream counts.
//!
//! # Where the dots come from
//! The head engine records hops ([`Engine::set_activity`], turned on by the
//! driver). A hop maps to a diagram edge when its (from, to) is one of the
//! model's connections; hops along a path with no direct edge are skipped.
//! For a past moment (after a seek) the same picture is rebuilt from the
//! history: a short window before the moment is re-run with activity on
//! ([`History::state_at_observed`]), so the dots and rates are those of
//! that moment, exactly. The driver has its seeks run that window with
//! activity on ([`History::observe_seeks`]), so normally the seek's own
//! engine is the one observed ([`History::observed_seek`]) and the window
//! is not re-run a second time.
//!
//! # Pace
//! A dot travels an edge in `max(real hop time, TRAVEL_WALL_S × speed)`
//! of virtual time. Most hops are instant (an append, a write to a sink)
//! or take a few milliseconds (a delivery), far too short to see; a dot
//! that crosses its edge in [`TRAVEL_WALL_S`] of wall-clock time whatever
//! the speed is visible at 1× and still reads as motion at 100×. An edge
//! whose rate × travel time exceeds [`DOTS_PER_EDGE`] shows an even sample
//! of its events (chosen by event id, so a dot stays for its whole trip),
//! one dot per up to [`MAX_SAMPLING`] events; busier still (as every edge
//! is at 100× on the seed diagram) it is drawn as density instead.
//!
//! # Bounds
//! At most [`DOTS_PER_EDGE`] dots per edge and [`MAX_DOTS`] in all; one lane
//! per (edge, event type) that ever carried something (bounded by the
//! engine's route limit); at most [`MAX_PARTITION_ROWS`] partitions.
//!
//! Must not depend on egui.

use super::Speed;
use crate::model::ArchGraph;
use crate::sim::{Engine, History, QUERY_TOPIC, RATE_WINDOW_US, VirtualTime};
use std::collections::{BTreeMap, BTreeSet};

/// Most dots drawn on one edge; a busier edge shows density.
pub const DOTS_PER_EDGE: usize = 24;
/// Most dots in a frame.
pub const MAX_DOTS: usize = 1500;
/// Wall-clock seconds a dot takes to cross its edge (when its hop is shorter).
pub const TRAVEL_WALL_S: f64 = 0.4;
/// Most partitions described in [`FlowFrame::topics`].
pub const MAX_PARTITION_ROWS: usize = 2048;
/// The legend colour of queries (gateway → read DB), which have no topic.
pub const QUERY_COLOR: u16 = u16::MAX;
/// Most events one dot may stand for; an edge busier than
/// `MAX_SAMPLING × DOTS_PER_EDGE` events in transit shows density instead.
pub const MAX_SAMPLING: u64 = 16;
/// The longest stretch of dots rebuilt for a past moment, virtual µs: at
/// high speed the travel time is long, and re-running all of it for every
/// seek would cost more than the seek; the edges busy enough to matter
/// show density anyway.
const MAX_PAST_TRAVEL_US: u64 = 10_000_000;

/// What flows, at one moment.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FlowFrame {
    /// One per (diagram edge, event type) that carried events lately
    /// (within the rate window or the travel time), sorted by (from, to, colour).
    pub lanes: Vec<Lane>,
    /// Events in transit (none on dense lanes; a sample on busy ones).
    pub dots: Vec<Dot>,
    /// The event types on the lanes, by colour index.
    pub legend: Vec<LegendEntry>,
    /// How long a dot takes to cross an edge at this speed, virtual µs.
    pub travel_us: u64,
    /// The bus's topics, in the engine's order, with their partitions.
    pub topics: Vec<TopicFrame>,
    /// Whether partitions were left out of `topics` ([`MAX_PARTITION_ROWS`]).
    pub topics_truncated: bool,
    /// Every event store.
    pub stores: Vec<StoreFrame>,
}

/// The events of one type along one edge.
#[derive(Debug, Clone, PartialEq)]
pub struct Lane {
    /// Mermaid id of the edge's start.
    pub from: String,
    /// Mermaid id of the edge's end.
    pub to: String,
    /// Colour index: the topic's index in the engine, or [`QUERY_COLOR`].
    pub color: u16,
    /// Events per virtual second lately.
    pub rate_per_s: f64,
    /// Too many to draw as dots: draw the rate instead.
    pub dense: bool,
}

/// One event in transit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Dot {
    /// Index into [`FlowFrame::lanes`].
    pub lane: u32,
    /// How far along the edge, 0 (at `from`) to 1 (at `to`).
    pub progress: f32,
    /// The event's id, or a command's or query's number (with the lane,
    /// identifies the dot across frames).
    pub event: u64,
}

/// An event type and its colour index.
#[derive(Debug, Clone, PartialEq)]
pub struct LegendEntry {
    /// The topic's name (`query` for queries).
    pub name: String,
    /// Colour index ([`Lane::color`]).
    pub color: u16,
}

/// A topic's partitions.
#[derive(Debug, Clone, PartialEq)]
pub struct TopicFrame {
    /// The topic's name.
    pub name: String,
    /// Mermaid id of its bus.
    pub bus: String,
    /// By partition number.
    pub partitions: Vec<PartitionEnds>,
}

/// A partition's retained range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartitionEnds {
    /// The oldest offset still retained.
    pub low: u64,
    /// The end offset (high watermark): the next offset to be written.
    pub high: u64,
}

/// An event store's position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreFrame {
    /// Mermaid id of the store.
    pub key: String,
    /// The global position: events appended so far.
    pub position: u64,
    /// Streams (aggregates) with a tracked version.
    pub streams: u64,
}

impl FlowFrame {
    /// The event store `key`, if it is one.
    pub fn store(&self, key: &str) -> Option<&StoreFrame> {
        self.stores.iter().find(|s| s.key == key)
    }

    /// The legend entry of colour index `color`.
    pub fn type_name(&self, color: u16) -> Option<&str> {
        self.legend
            .iter()
            .find(|l| l.color == color)
            .map(|l| l.name.as_str())
    }
}

/// Virtual microseconds a dot takes to cross an edge at `speed`.
pub fn travel_us(speed: Speed) -> u64 {
    let factor = match speed {
        Speed::Factor(f) if f.is_finite() && f > 0.0 => f,
        Speed::Factor(_) => 1.0,
        Speed::Max => Speed::MAX_FACTOR,
    };
    (TRAVEL_WALL_S * factor * 1e6) as u64
}

/// How far before a past moment its dots are rebuilt from, virtual µs:
/// the rate window and a dot's travel (at most [`MAX_PAST_TRAVEL_US`]).
/// The driver has its seeks run this stretch with activity on
/// (`History::observe_seeks`), so the dots need no second re-run.
pub(super) fn past_window_us(speed: Speed) -> u64 {
    RATE_WINDOW_US + travel_us(speed).min(MAX_PAST_TRAVEL_US)
}

/// The flow in `engine` now, on the edges of `graph`.
pub fn capture(engine: &Engine, graph: &ArchGraph, speed: Speed) -> FlowFrame {
    let travel = travel_us(speed);
    let mut frame = FlowFrame {
        travel_us: travel,
        ..FlowFrame::default()
    };
    bus_and_stores(engine, &mut frame);
    let Some(log) = engine.activity() else {
        return frame;
    };
    let now = engine.now();
    let edges: BTreeSet<(&str, &str)> = graph
        .connections()
        .map(|c| (graph.key_of(c.from), graph.key_of(c.to)))
        .collect();
    let metrics = engine.metrics();
    let topics = engine.topics();
    let key = |slot: u32| metrics.get(slot as usize).map(|m| m.key.as_str());

    // Lanes with their hops in transit, sorted by (from, to, colour).
    struct Building<'a> {
        lane: Lane,
        moving: Vec<(f32, u64)>,
        name: &'a str,
    }
    let mut lanes: Vec<Building<'_>> = Vec::new();
    for route in log.routes() {
        let (Some(from), Some(to)) = (key(route.from), key(route.to)) else {
            continue;
        };
        if !edges.contains(&(from, to)) {
            continue;
        }
        let (color, name) = if route.topic == QUERY_TOPIC {
            (QUERY_COLOR, "query")
        } else {
            match topics.get(route.topic as usize) {
                Some(t) => (route.topic.min(u32::from(QUERY_COLOR - 1)) as u16, t.name()),
                None => continue,
            }
        };
        let moving: Vec<(f32, u64)> = route
            .hops()
            .filter_map(|h| {
                let dur = h.end.since_us(h.start).max(travel).max(1);
                let age = now.as_us().checked_sub(h.start.as_us())?;
                (age < dur).then(|| ((age as f64 / dur as f64) as f32, h.event))
            })
            .collect();
        let rate_per_s = route.rate_per_s(now);
        if rate_per_s == 0.0 && moving.is_empty() {
            // Quiet lately: no lane, so the picture of a moment depends
            // only on the moments just before it.
            continue;
        }
        lanes.push(Building {
            lane: Lane {
                from: from.to_string(),
                to: to.to_string(),
                color,
                rate_per_s,
                dense: false,
            },
            moving,
            name,
        });
    }
    lanes.sort_by(|a, b| {
        (&a.lane.from, &a.lane.to, a.lane.color).cmp(&(&b.lane.from, &b.lane.to, b.lane.color))
    });

    // Per edge: every dot while they are few, an even sample of them
    // (each dot standing for `every` events) while that sample still reads
    // as the flow, else density.
    let travel_s = travel as f64 / 1e6;
    let mut start = 0;
    while start < lanes.len() {
        let end = start
            + lanes[start..]
                .iter()
                .take_while(|b| {
                    b.lane.from == lanes[start].lane.from && b.lane.to == lanes[start].lane.to
                })
                .count();
        let expected: f64 = lanes[start..end]
            .iter()
            .map(|b| b.lane.rate_per_s * travel_s)
            .sum();
        let room = DOTS_PER_EDGE.min(MAX_DOTS - frame.dots.len());
        let every = (expected / DOTS_PER_EDGE as f64).ceil().max(1.0) as u64;
        if every > MAX_SAMPLING || room == 0 {
            for b in &mut lanes[start..end] {
                b.lane.dense = true;
            }
        } else {
            let mut edge_dots: Vec<Dot> = Vec::new();
            for (i, b) in lanes.iter().enumerate().take(end).skip(start) {
                edge_dots.extend(
                    b.moving
                        .iter()
                        .filter(|&&(_, event)| sampled(event, every))
                        .map(|&(progress, event)| Dot {
                            lane: i as u32,
                            progress,
                            event,
                        }),
                );
            }
            edge_dots.truncate(room);
            frame.dots.extend(edge_dots);
        }
        start = end;
    }
    let mut legend: BTreeMap<u16, &str> = BTreeMap::new();
    for b in &lanes {
        legend.insert(b.lane.color, b.name);
    }
    frame.legend = legend
        .into_iter()
        .map(|(color, name)| LegendEntry {
            name: name.to_string(),
            color,
        })
        .collect();
    frame.lanes = lanes.into_iter().map(|b| b.lane).collect();
    frame
}

/// Whether event `event` is one of the dots shown when one in `every` is:
/// chosen by the event's id, so a dot once shown stays for its whole trip.
fn sampled(event: u64, every: u64) -> bool {
    every <= 1 || (event.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 32).is_multiple_of(every)
}

/// Fills the topics × partitions and the event stores.
fn bus_and_stores(engine: &Engine, frame: &mut FlowFrame) {
    let metrics = engine.metrics();
    let mut rows = 0;
    for t in engine.topics() {
        let parts = t.partitions();
        let take = parts.len().min(MAX_PARTITION_ROWS - rows);
        if take < parts.len() {
            frame.topics_truncated = true;
        }
        if take == 0 {
            break;
        }
        rows += take;
        frame.topics.push(TopicFrame {
            name: t.name().to_string(),
            bus: metrics
                .get(t.bus as usize)
                .map_or_else(String::new, |m| m.key.clone()),
            partitions: parts[..take]
                .iter()
                .map(|p| PartitionEnds {
                    low: p.low_watermark().0,
                    high: p.high_watermark().0,
                })
                .collect(),
        });
    }
    frame.stores = engine
        .group_names()
        .filter_map(|g| {
            let s = engine.event_store(g)?;
            Some(StoreFrame {
                key: g.to_string(),
                position: s.store_len(),
                streams: s.streams() as u64,
            })
        })
        .collect();
}

/// The driver's side of the flow: computes the [`FlowFrame`] of the moment
/// shown, and keeps the one of a past moment so repeated frames of the
/// same moment do not re-run the window.
#[derive(Debug, Default)]
pub(super) struct FlowTracker {
    /// (moment, steps recorded, travel) → its frame.
    past: Option<((u64, u64, u64), FlowFrame)>,
}

impl FlowTracker {
    /// The flow at the head (`viewing` is `None`) or at the past moment
    /// `viewing` (µs).
    pub(super) fn frame(
        &mut self,
        history: &History,
        viewing: Option<u64>,
        graph: &ArchGraph,
        speed: Speed,
    ) -> FlowFrame {
        let Some(t) = viewing else {
            self.past = None;
            return capture(history.head(), graph, speed);
        };
        let travel = travel_us(speed);
        let key = (t, history.steps(), travel);
        if let Some((k, frame)) = &self.past
            && *k == key
        {
            return frame.clone();
        }
        let from = VirtualTime::from_us(t.saturating_sub(past_window_us(speed)));
        let at = VirtualTime::from_us(t);
        // The seek's own engine, when it ran that stretch with activity on.
        let frame = match history.observed_seek(from, at) {
            Some(engine) => capture(engine, graph, speed),
            None => {
                let engine = history.state_at_observed(from, at, |e| e.set_activity(true));
                capture(&engine, graph, speed)
            }
        };
        self.past = Some((key, frame.clone()));
        frame
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::mermaid::parse_flowchart;
    use crate::sim::{HistoryOptions, Scenario};

    fn seed() -> (ArchGraph, Engine) {
        let g = ArchGraph::from_flowchart(&parse_flowchart(crate::SEED_DIAGRAM).unwrap());
        let e = Engine::new(&g, Scenario::default_for(&g), 1).unwrap();
        (g, e)
    }

    #[test]
    fn activity_off_records_nothing_and_leaves_the_run_unchanged() {
        let (g, mut off) = seed();
        let mut on = off.clone();
        on.set_activity(true);
        let t = VirtualTime::from_secs(3);
        off.run_until(t);
        on.run_until(t);
        assert!(off.activity().is_none());
        assert_eq!(off.run_hash(), on.run_hash());
        assert_eq!(off.summary(), on.summary());
        let hops: u64 = on
            .activity()
            .unwrap()
            .routes()
            .iter()
            .map(|r| r.count)
            .sum();
        assert!(hops > 1000, "{hops}");
        let f = capture(&off, &g, Speed::Factor(1.0));
        assert!(f.lanes.is_empty() && f.dots.is_empty());
        assert!(!f.topics.is_empty(), "the bus is described either way");
    }

    #[test]
    fn dots_lie_on_real_edges_and_move_forward_in_time() {
        let (g, mut e) = seed();
        e.set_activity(true);
        let edges: BTreeSet<(String, String)> = g
            .connections()
            .map(|c| (g.key_of(c.from).to_string(), g.key_of(c.to).to_string()))
            .collect();
        e.run_until(VirtualTime::from_millis(2_000));
        let mut last: BTreeMap<(String, String, u16, u64), f32> = BTreeMap::new();
        let mut compared = 0;
        for step in 1..=20 {
            e.run_until(VirtualTime::from_millis(2_000 + step * 16));
            let f = capture(&e, &g, Speed::Factor(1.0));
            assert!(!f.dots.is_empty(), "the seed moves events at 1×");
            for d in &f.dots {
                let lane = &f.lanes[d.lane as usize];
                assert!(edges.contains(&(lane.from.clone(), lane.to.clone())));
                assert!((0.0..1.0).contains(&d.progress), "{}", d.progress);
                let id = (lane.from.clone(), lane.to.clone(), lane.color, d.event);
                if let Some(&before) = last.get(&id) {
                    assert!(d.progress > before, "{id:?}: {before} → {}", d.progress);
                    compared += 1;
                }
                last.insert(id, d.progress);
            }
        }
        assert!(compared > 50, "{compared} dots followed");
    }

    #[test]
    fn a_fast_burst_shows_density_within_the_bounds() {
        let (g, _) = seed();
        let mut scenario = Scenario::default_for(&g);
        for s in &mut scenario.sources {
            // Bursts of 5,000/s for half of every second.
            s.burst = Some(crate::sim::Burst {
                rate_per_s: 5_000.0,
                length_us: 500_000,
                every_us: 1_000_000,
            });
        }
        let mut e2 = Engine::new(&g, scenario, 1).unwrap();
        e2.set_activity(true);
        e2.run_until(VirtualTime::from_millis(2_400));
        let f = capture(&e2, &g, Speed::Factor(100.0));
        assert!(f.dots.len() <= MAX_DOTS);
        let mut per_edge: BTreeMap<(&str, &str), usize> = BTreeMap::new();
        for d in &f.dots {
            let l = &f.lanes[d.lane as usize];
            *per_edge.entry((&l.from, &l.to)).or_default() += 1;
        }
        assert!(
            per_edge.values().all(|&n| n <= DOTS_PER_EDGE),
            "{per_edge:?}"
        );
        let dense: Vec<&Lane> = f.lanes.iter().filter(|l| l.dense).collect();
        assert!(!dense.is_empty(), "a burst at 100× is too many dots");
        assert!(dense.iter().any(|l| l.rate_per_s > 1_000.0), "{dense:?}");
        let slow = capture(&e2, &g, Speed::Factor(0.1));
        assert!(slow.dots.len() <= MAX_DOTS);
    }

    #[test]
    fn a_past_moment_shows_the_dots_the_live_one_showed() {
        let (g, mut e) = seed();
        e.set_activity(true);
        let mut h = History::new(
            e,
            HistoryOptions {
                snapshot_every_steps: 700,
                max_snapshots: 16,
            },
        );
        let t = VirtualTime::from_millis(2_345);
        h.run_until(t);
        let live = capture(h.head(), &g, Speed::Factor(1.0));
        h.run_until(VirtualTime::from_secs(5));
        let mut tracker = FlowTracker::default();
        let past = tracker.frame(&h, Some(t.as_us()), &g, Speed::Factor(1.0));
        assert!(!live.dots.is_empty());
        assert_eq!(past.dots, live.dots);
        assert_eq!(past.topics, live.topics);
        assert_eq!(past.stores, live.stores);
        for (a, b) in past.lanes.iter().zip(&live.lanes) {
            assert_eq!((&a.from, &a.to, a.color), (&b.from, &b.to, b.color));
            assert!((a.rate_per_s - b.rate_per_s).abs() < 1e-9, "{a:?} {b:?}");
        }
        let again = tracker.frame(&h, Some(t.as_us()), &g, Speed::Factor(1.0));
        assert_eq!(again, past);
    }

    #[test]
    fn the_event_store_reports_position_and_streams() {
        let (g, mut e) = seed();
        e.run_until(VirtualTime::from_secs(2));
        let f = capture(&e, &g, Speed::Factor(1.0));
        let es = f.store("ES").unwrap();
        assert_eq!(es.position, e.event_store("ES").unwrap().store_len());
        assert!(es.position > 0 && es.streams > 0 && es.streams <= es.position);
        let highs: u64 = f
            .topics
            .iter()
            .flat_map(|t| &t.partitions)
            .map(|p| p.high)
            .sum();
        assert_eq!(highs, e.events_produced());
    }
}
