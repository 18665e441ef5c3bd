//! The event log's driver side: pages of the records on the bus at the
//! frame's moment, filtered and in time order, and the trace of the
//! selected event (its deliveries and causation).
//!
//! # Rows come from the bus, never copied whole
//! The rows are the records the engine's partition logs still hold at the
//! moment shown (under `until-consumed` retention the ones every group
//! committed are gone; the page says how many). Event ids are handed out
//! in publish order and the virtual clock never goes back, so time order
//! (`produced_at`, then the event id) *is* event-id order, and each
//! partition's log is sorted by it. A page is then found by rank selection
//! over the partitions ("lanes") the filter allows: a binary search over
//! event ids, counting per lane with a binary search of its log, gives the
//! first row; a merge of the lanes from there gives the page. That is
//! O(lanes · log² n) per page whatever the run's length, and nothing per
//! event is kept. Filters by type and component pick lanes; the time
//! filter narrows each lane with [`crate::sim::PartitionLog::offset_for_time`].
//! Only filters that look inside records (a key, a component that only
//! produces to a topic) need an index: the matching offsets per lane,
//! built incrementally — each query scans only what was appended (or,
//! after a seek back, uncovered) since the last one.
//!
//! # Traces
//! [`crate::sim::Tracer`] re-runs a slice of the recorded run with the
//! engine's delivery tap on; this module gives it a wall-clock budget per
//! frame, keeps the result, and cuts it to the frame's moment. A DLQ
//! replay's attempts at the event come later than the trace follows (a
//! replay may be asked for minutes after the dead-lettering), so they are
//! not traced: they are read from the engine of the frame's moment
//! ([`Engine::dlq_replay_attempts`]), which holds them as they were then.
//!
//! Must not depend on egui.

use crate::sim::{
    DeliveryAttempt, Engine, EventTrace, GroupReplayAttempt, History, Offset, PartitionLog,
    Payload, Retention, TopicRoute, TraceStatus, TracedEvent, Tracer, VirtualTime,
};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Most rows a page carries, whatever the query asks.
pub const MAX_PAGE_ROWS: u32 = 500;
/// `first` of a query that wants the newest rows (the log's tail).
pub const TAIL: u64 = u64::MAX;
/// Engine steps a trace replays between looks at the clock.
const TRACE_CHUNK_STEPS: u64 = 20_000;
/// Wall-clock time a trace may take when it is asked for.
const TRACE_BUDGET: Duration = Duration::from_millis(40);
/// Wall-clock time an incomplete trace may take per frame afterwards (it
/// follows the run while a group has not finished with the event, and
/// must not slow the run much).
const TRACE_FRAME_BUDGET: Duration = Duration::from_millis(4);
/// Steps after which a trace that is still waiting for a group gives up
/// (a group crashed for good would otherwise be followed forever).
const TRACE_MAX_STEPS: u64 = 30_000_000;

/// Which events the log shows. Every field narrows; `None` is "any".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogFilter {
    /// The event type (a topic's type; all buses carrying it).
    pub event_type: Option<String>,
    /// The aggregate id the event is keyed by.
    pub key: Option<u64>,
    /// A component the event touched: its producer, its bus, a group
    /// reading its topic, or a sink of such a group (Mermaid id).
    pub component: Option<String>,
    /// Produced at or after this virtual time (µs).
    pub from_us: Option<u64>,
    /// Produced at or before this virtual time (µs).
    pub to_us: Option<u64>,
}

/// A page request: rows `first..first + count` of the matching events in
/// time order ([`TAIL`] for the newest `count`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogQuery {
    /// Which events.
    pub filter: LogFilter,
    /// Index of the first row wanted among the matching events.
    pub first: u64,
    /// Rows wanted (at most [`MAX_PAGE_ROWS`]).
    pub count: u32,
}

/// One event of the log.
#[derive(Debug, Clone, PartialEq)]
pub struct LogRow {
    /// Unique per run, in publish order.
    pub event_id: u64,
    /// When it was appended, µs.
    pub time_us: u64,
    /// The topic (`Type@Bus` when the type is on several buses).
    pub topic: String,
    /// The event type.
    pub event_type: String,
    /// Partition within the topic.
    pub partition: u32,
    /// Offset within the partition.
    pub offset: u64,
    /// The aggregate id.
    pub key: u64,
    /// The publishing component (Mermaid id).
    pub producer: String,
    /// Its fields (see [`payload_fields`]).
    pub payload: Payload,
    /// Poisoned by a fault.
    pub poisoned: bool,
}

/// The answer to the current [`LogQuery`] at the frame's moment.
#[derive(Debug, Clone, PartialEq)]
pub struct LogPage {
    /// The query answered (the UI knows from it whether a page is stale).
    pub query: LogQuery,
    /// Events published up to the moment.
    pub total: u64,
    /// Of those, the ones still on the bus (the others were dropped by
    /// the retention: once every group committed them, or the oldest
    /// beyond `keep-latest N` or `time T`).
    pub retained: u64,
    /// Retained events passing the filter.
    pub matching: u64,
    /// Index of `rows[0]` among the matching events.
    pub first: u64,
    /// The rows, in time order.
    pub rows: Vec<LogRow>,
    /// Whether the bus keeps every record (`retention = keep-all`).
    pub keep_all: bool,
    /// The bus's retention (what `retained` keeps).
    pub retention: Retention,
    /// The event types, for the filter.
    pub types: Vec<String>,
    /// The components events touch, for the filter.
    pub components: Vec<String>,
    /// Records the filter's index had to look at for this page (those
    /// appended or uncovered since the last page; 0 without a key or
    /// producer filter).
    pub indexed: u64,
}

/// How far the trace of the selected event has got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TraceState {
    /// Every subscribed group is done with it; causes followed.
    Complete,
    /// Still replaying (within the per-frame budget).
    Tracing,
    /// Replayed up to the head of the run; follows the run as it goes on.
    Waiting,
    /// Stopped after [`TRACE_MAX_STEPS`] replayed steps with groups still pending.
    GaveUp,
    /// The event is not published yet at the frame's moment.
    NotYetPublished,
}

/// The selected event as the frame's moment saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct EventTraceView {
    /// The event's id.
    pub event_id: u64,
    /// Where and what it was.
    pub event: Option<TracedEvent>,
    /// Groups subscribed to its topic when it was published.
    pub subscribers: Vec<String>,
    /// Groups not done with it at the moment.
    pub pending: Vec<String>,
    /// Delivery attempts started by the moment, in the order they ended
    /// (one with `end` after the moment is in progress).
    pub attempts: Vec<DeliveryAttempt>,
    /// Attempts of DLQ replays at it by the moment, each group's in order
    /// (one in service at the moment is [`crate::sim::ReplayOutcome::InService`]).
    pub replays: Vec<GroupReplayAttempt>,
    /// Its causes, nearest first (reactions).
    pub chain: Vec<TracedEvent>,
    /// The events it caused, published by the moment.
    pub caused: Vec<TracedEvent>,
    /// The diagram edges it travelled by the moment, `(from, to)`.
    pub edges: Vec<(String, String)>,
    /// The edges its causes travelled to the group that published it.
    pub chain_edges: Vec<(String, String)>,
    /// Groups that dead-lettered it by the moment.
    pub dead_lettered_by: Vec<String>,
    /// How far the trace has got.
    pub state: TraceState,
    /// Engine steps replayed for it.
    pub steps_replayed: u64,
}

/// The event log's part of a [`super::Frame`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogView {
    /// The page asked for, once the UI has asked ([`super::Command::LogQuery`]).
    pub page: Option<LogPage>,
    /// The selected event's trace ([`super::Command::TraceEvent`]).
    pub trace: Option<EventTraceView>,
}

/// An event's fields as `(name, value)` pairs, for display.
pub fn payload_fields(p: &Payload) -> Vec<(&'static str, String)> {
    match *p {
        Payload::Order {
            order_id,
            user_id,
            sku,
            quantity,
            amount_cents,
        } => vec![
            ("order_id", order_id.to_string()),
            ("user_id", user_id.to_string()),
            ("sku", sku.to_string()),
            ("quantity", quantity.to_string()),
            ("amount", cents(amount_cents)),
        ],
        Payload::User { user_id, .. } => vec![
            ("user_id", user_id.to_string()),
            ("email", p.email().unwrap_or_default()),
        ],
        Payload::Payment {
            payment_id,
            order_id,
            amount_cents,
            ..
        } => vec![
            ("payment_id", payment_id.to_string()),
            ("order_id", order_id.to_string()),
            ("amount", cents(amount_cents)),
            ("method", p.payment_method().unwrap_or("?").to_string()),
        ],
        Payload::Generic { entity_id } => vec![("entity_id", entity_id.to_string())],
    }
}

/// The payload on one line: `order_id=7 user_id=3 …`.
pub fn payload_line(p: &Payload) -> String {
    payload_fields(p)
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn cents(c: u64) -> String {
    format!("{}.{:02}", c / 100, c % 100)
}

/// The records of one partition a query may show.
struct Lane<'a> {
    topic: u32,
    partition: u32,
    log: &'a PartitionLog,
    rows: LaneRows<'a>,
}

enum LaneRows<'a> {
    /// Every offset in `lo..hi`.
    Range { lo: u64, hi: u64 },
    /// These offsets (ascending).
    Listed(&'a [u64]),
}

impl Lane<'_> {
    fn len(&self) -> u64 {
        match self.rows {
            LaneRows::Range { lo, hi } => hi - lo,
            LaneRows::Listed(o) => o.len() as u64,
        }
    }

    fn offset(&self, i: u64) -> u64 {
        match self.rows {
            LaneRows::Range { lo, .. } => lo + i,
            LaneRows::Listed(o) => o[i as usize],
        }
    }

    fn event_id(&self, i: u64) -> u64 {
        self.log
            .get(Offset(self.offset(i)))
            .map_or(u64::MAX, |r| r.event_id)
    }

    /// Rows with an event id below `id` (the log is sorted by event id).
    fn count_below(&self, id: u64) -> u64 {
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.event_id(mid) < id {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }
}

/// What a lane's records must satisfy beyond its offset range.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Predicate {
    key: Option<u64>,
    /// `Record::source` values allowed (a component that only produces).
    sources: Option<Vec<u32>>,
}

impl Predicate {
    fn is_any(&self) -> bool {
        self.key.is_none() && self.sources.is_none()
    }

    fn accepts(&self, r: &crate::sim::Record) -> bool {
        self.key.is_none_or(|k| r.key == k)
            && self.sources.as_ref().is_none_or(|s| s.contains(&r.source))
    }
}

/// The matching offsets of one lane within `from..to` (see the module doc).
#[derive(Debug, Clone)]
struct Scanned {
    predicate: Predicate,
    from: u64,
    to: u64,
    offsets: Vec<u64>,
}

impl Scanned {
    /// Brings the scan up to the log's retained range `low..high`:
    /// appends what is new, prepends what a past moment still holds,
    /// forgets what is below the log's low watermark. Returns the records
    /// scanned.
    fn update(&mut self, log: &PartitionLog) -> u64 {
        let (low, high) = (log.low_watermark().0, log.high_watermark().0);
        let scan = |from: u64, to: u64, out: &mut Vec<u64>| {
            for o in from..to {
                if log
                    .get(Offset(o))
                    .is_some_and(|r| self.predicate.accepts(r))
                {
                    out.push(o);
                }
            }
        };
        if self.to < low || self.from > high {
            self.offsets.clear();
            self.from = low;
            self.to = low;
        }
        let mut scanned = 0;
        if low < self.from {
            let mut front = Vec::new();
            scan(low, self.from, &mut front);
            scanned += self.from - low;
            front.extend_from_slice(&self.offsets);
            self.offsets = front;
            self.from = low;
        } else if low > self.from {
            let cut = self.offsets.partition_point(|&o| o < low);
            self.offsets.drain(..cut);
            self.from = low;
        }
        if high > self.to {
            let mut back = Vec::new();
            scan(self.to, high, &mut back);
            scanned += high - self.to;
            self.offsets.extend(back);
            self.to = high;
        }
        scanned
    }
}

/// The selected event's trace in the making, or made.
#[derive(Debug)]
struct TraceSlot {
    event_id: u64,
    /// The replay under way (dropped once complete, to free its engine).
    tracer: Option<Tracer>,
    trace: Option<EventTrace>,
    chain: Vec<TracedEvent>,
    state: TraceState,
    steps: u64,
}

/// Answers [`LogQuery`]s over an engine's partition logs, keeping the
/// index that record-level filters need between queries (see the module
/// doc). Use one per run: offsets are only meaningful within a run.
#[derive(Debug, Default)]
pub struct LogIndex {
    scans: BTreeMap<(u32, u32), Scanned>,
    /// The filter the scans were made for.
    filter: Option<LogFilter>,
}

/// The driver's event-log state: the current query, its index, and the
/// selected event's trace.
#[derive(Debug, Default)]
pub(super) struct LogState {
    query: Option<LogQuery>,
    index: LogIndex,
    trace: Option<TraceSlot>,
}

impl LogState {
    /// Forgets everything (a new run).
    pub(super) fn reset(&mut self) {
        let query = self.query.take();
        *self = LogState::default();
        self.query = query;
    }

    /// Sets the query later frames answer.
    pub(super) fn set_query(&mut self, filter: LogFilter, first: u64, count: u32) {
        self.query = Some(LogQuery {
            filter,
            first,
            count: count.min(MAX_PAGE_ROWS),
        });
    }

    /// Starts tracing `event` (or stops, with `None`), replaying within
    /// the per-turn budget at once.
    pub(super) fn select(&mut self, history: &History, event: Option<u64>) {
        let Some(id) = event else {
            self.trace = None;
            return;
        };
        if self.trace.as_ref().is_some_and(|t| t.event_id == id) {
            return;
        }
        self.trace = Some(TraceSlot {
            event_id: id,
            tracer: Some(Tracer::start(history, id)),
            trace: None,
            chain: Vec::new(),
            state: TraceState::Tracing,
            steps: 0,
        });
        self.advance_trace_for(history, TRACE_BUDGET);
    }

    /// Whether a trace is replaying (the driver then ticks even when
    /// paused, so that it finishes).
    pub(super) fn is_tracing(&self) -> bool {
        self.trace
            .as_ref()
            .is_some_and(|t| t.state == TraceState::Tracing)
    }

    /// Moves an incomplete trace on, within a frame's budget.
    pub(super) fn advance_trace(&mut self, history: &History) {
        self.advance_trace_for(history, TRACE_FRAME_BUDGET);
    }

    fn advance_trace_for(&mut self, history: &History, budget: Duration) {
        let Some(slot) = &mut self.trace else { return };
        let Some(tracer) = &mut slot.tracer else {
            return;
        };
        let started = Instant::now();
        let status = loop {
            let status = tracer.advance(history, TRACE_CHUNK_STEPS);
            if status != TraceStatus::Budget
                || started.elapsed() >= budget
                || tracer.steps_run() >= TRACE_MAX_STEPS
            {
                break status;
            }
        };
        slot.trace = tracer.trace().cloned();
        slot.chain = tracer.chain().to_vec();
        slot.steps = tracer.steps_run();
        slot.state = match status {
            TraceStatus::Complete => TraceState::Complete,
            _ if tracer.steps_run() >= TRACE_MAX_STEPS => TraceState::GaveUp,
            TraceStatus::AtHead => TraceState::Waiting,
            TraceStatus::Budget => TraceState::Tracing,
        };
        if matches!(slot.state, TraceState::Complete | TraceState::GaveUp) {
            slot.tracer = None;
        }
    }

    /// The frame's part: the page of the current query and the trace, at
    /// `engine`'s moment.
    pub(super) fn view(&mut self, engine: &Engine) -> LogView {
        let page = self.query.as_ref().map(|q| self.index.page(engine, q));
        let trace = self.trace.as_ref().map(|slot| {
            let mut view = trace_view(slot, engine.now());
            if view.event.is_some() {
                view.replays = engine.dlq_replay_attempts(slot.event_id);
            }
            view
        });
        LogView { page, trace }
    }
}

impl LogIndex {
    /// The page `query` asks for, at `engine`'s moment. Costs a few binary
    /// searches per partition, plus — for a key or producer filter — a
    /// scan of the records appended since the last page with that filter.
    pub fn page(&mut self, engine: &Engine, query: &LogQuery) -> LogPage {
        let query = query.clone();
        if self.filter.as_ref() != Some(&query.filter) {
            self.scans.clear();
            self.filter = Some(query.filter.clone());
        }
        let routes = &engine.topic_routes()[..];
        let filter = &query.filter;
        let topics = engine.topics();
        let mut types: Vec<String> = Vec::new();
        let mut components: Vec<String> = Vec::new();
        for r in routes {
            if !types.contains(&r.event_type) {
                types.push(r.event_type.clone());
            }
            let keys = r.producers.iter().map(|(_, k)| k);
            for k in keys.chain([&r.bus]).chain(&r.groups).chain(&r.sinks) {
                if !components.contains(k) {
                    components.push(k.clone());
                }
            }
        }

        // Which partitions, and what their records must satisfy.
        let mut wanted: Vec<(u32, u32, Predicate)> = Vec::new();
        for (t, (topic, route)) in topics.iter().zip(routes).enumerate() {
            if filter
                .event_type
                .as_ref()
                .is_some_and(|ty| *ty != route.event_type)
            {
                continue;
            }
            let sources = match &filter.component {
                None => None,
                Some(c)
                    if route.bus == *c || route.groups.contains(c) || route.sinks.contains(c) =>
                {
                    None
                }
                Some(c) => {
                    let s: Vec<u32> = route
                        .producers
                        .iter()
                        .filter(|(_, k)| k == c)
                        .map(|(s, _)| *s)
                        .collect();
                    if s.is_empty() {
                        continue;
                    }
                    Some(s)
                }
            };
            let n = topic.partitions().len() as u32;
            let predicate = Predicate {
                key: filter.key,
                sources,
            };
            for p in 0..n {
                if filter
                    .key
                    .is_some_and(|k| crate::sim::partition_for(k, n).0 != p)
                {
                    continue;
                }
                wanted.push((t as u32, p, predicate.clone()));
            }
        }

        // Bring the record-level index up to this moment.
        let mut scanned = 0;
        for (t, p, predicate) in &wanted {
            if predicate.is_any() {
                continue;
            }
            let log = &topics[*t as usize].partitions()[*p as usize];
            let entry = self.scans.entry((*t, *p)).or_insert_with(|| Scanned {
                predicate: predicate.clone(),
                from: 0,
                to: 0,
                offsets: Vec::new(),
            });
            if entry.predicate != *predicate {
                *entry = Scanned {
                    predicate: predicate.clone(),
                    from: 0,
                    to: 0,
                    offsets: Vec::new(),
                };
            }
            scanned += entry.update(log);
        }

        let from = filter.from_us.map(VirtualTime::from_us);
        let to = filter
            .to_us
            .map(|t| VirtualTime::from_us(t.saturating_add(1)));
        let lanes: Vec<Lane<'_>> = wanted
            .iter()
            .map(|(t, p, predicate)| {
                let log = &topics[*t as usize].partitions()[*p as usize];
                let lo = from.map_or(log.low_watermark().0, |f| log.offset_for_time(f).0);
                let hi = to.map_or(log.high_watermark().0, |f| log.offset_for_time(f).0);
                let hi = hi.max(lo);
                let rows = match self.scans.get(&(*t, *p)).filter(|_| !predicate.is_any()) {
                    Some(s) => {
                        let a = s.offsets.partition_point(|&o| o < lo);
                        let b = s.offsets.partition_point(|&o| o < hi);
                        LaneRows::Listed(&s.offsets[a..b])
                    }
                    None => LaneRows::Range { lo, hi },
                };
                Lane {
                    topic: *t,
                    partition: *p,
                    log,
                    rows,
                }
            })
            .collect();

        let matching: u64 = lanes.iter().map(Lane::len).sum();
        let count = u64::from(query.count.min(MAX_PAGE_ROWS));
        let first = if query.first == TAIL {
            matching.saturating_sub(count)
        } else {
            query.first.min(matching)
        };
        let rows = page_rows(&lanes, routes, first, count, engine.events_produced());
        LogPage {
            total: engine.events_produced(),
            retained: topics
                .iter()
                .flat_map(|t| t.partitions())
                .map(|p| p.retained() as u64)
                .sum(),
            matching,
            first,
            rows,
            keep_all: engine.scenario().retention == Retention::KeepAll,
            retention: engine.scenario().retention,
            types,
            components,
            indexed: scanned,
            query,
        }
    }
}

/// Rows `first..first + count` of the lanes merged in event-id order.
fn page_rows(
    lanes: &[Lane<'_>],
    routes: &[TopicRoute],
    first: u64,
    count: u64,
    produced: u64,
) -> Vec<LogRow> {
    let matching: u64 = lanes.iter().map(Lane::len).sum();
    if first >= matching || count == 0 {
        return Vec::new();
    }
    // The largest id with exactly `first` rows below it is the first row's.
    let below = |id: u64| lanes.iter().map(|l| l.count_below(id)).sum::<u64>();
    let (mut lo, mut hi) = (0u64, produced);
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        if below(mid) <= first {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    let mut at: Vec<u64> = lanes.iter().map(|l| l.count_below(lo)).collect();
    let mut rows = Vec::with_capacity(count as usize);
    while (rows.len() as u64) < count {
        let next = lanes
            .iter()
            .enumerate()
            .filter(|(i, l)| at[*i] < l.len())
            .min_by_key(|(i, l)| l.event_id(at[*i]));
        let Some((i, lane)) = next else { break };
        let offset = lane.offset(at[i]);
        at[i] += 1;
        let Some(r) = lane.log.get(Offset(offset)) else {
            continue;
        };
        let route = &routes[lane.topic as usize];
        rows.push(LogRow {
            event_id: r.event_id,
            time_us: r.produced_at.as_us(),
            topic: route.topic.clone(),
            event_type: route.event_type.clone(),
            partition: lane.partition,
            offset,
            key: r.key,
            producer: route.producer(r.source).to_string(),
            payload: r.payload,
            poisoned: r.poisoned,
        });
    }
    rows
}

/// The trace cut to the moment `now`.
fn trace_view(slot: &TraceSlot, now: VirtualTime) -> EventTraceView {
    let empty = EventTraceView {
        event_id: slot.event_id,
        event: None,
        subscribers: Vec::new(),
        pending: Vec::new(),
        attempts: Vec::new(),
        replays: Vec::new(),
        chain: Vec::new(),
        caused: Vec::new(),
        edges: Vec::new(),
        chain_edges: Vec::new(),
        dead_lettered_by: Vec::new(),
        state: slot.state,
        steps_replayed: slot.steps,
    };
    let Some(trace) = &slot.trace else {
        return empty;
    };
    let Some(event) = trace.event.clone().filter(|e| e.produced_at <= now) else {
        let state = if trace.event.is_some() {
            TraceState::NotYetPublished
        } else {
            slot.state
        };
        return EventTraceView { state, ..empty };
    };
    let attempts: Vec<DeliveryAttempt> = trace
        .attempts
        .iter()
        .filter(|a| a.start <= now)
        .cloned()
        .collect();
    let done = |g: &str| {
        attempts
            .iter()
            .any(|a| a.group == g && a.end <= now && a.outcome.is_final())
    };
    let applied = |g: &str| {
        attempts.iter().any(|a| {
            a.group == g
                && a.end <= now
                && matches!(
                    a.outcome,
                    crate::sim::AttemptOutcome::Processed | crate::sim::AttemptOutcome::Reapplied
                )
        })
    };
    let attempted = |g: &str| attempts.iter().any(|a| a.group == g);
    let edges = trace
        .edges
        .iter()
        .filter(|(a, b)| {
            if *a == event.bus {
                attempted(b)
            } else if trace.subscribers.contains(a) {
                applied(a)
            } else {
                true
            }
        })
        .cloned()
        .collect();
    let mut chain_edges: Vec<(String, String)> = Vec::new();
    let mut effect = &event;
    for cause in &slot.chain {
        for e in [
            (cause.producer.clone(), cause.bus.clone()),
            (cause.bus.clone(), effect.producer.clone()),
        ] {
            if !chain_edges.contains(&e) {
                chain_edges.push(e);
            }
        }
        effect = cause;
    }
    let dead_lettered_by = attempts
        .iter()
        .filter(|a| a.end <= now && a.outcome == crate::sim::AttemptOutcome::DeadLettered)
        .map(|a| a.group.clone())
        .collect();
    EventTraceView {
        pending: trace
            .subscribers
            .iter()
            .filter(|g| !done(g))
            .cloned()
            .collect(),
        subscribers: trace.subscribers.clone(),
        caused: trace
            .caused
            .iter()
            .filter(|c| c.produced_at <= now)
            .cloned()
            .collect(),
        chain: slot.chain.clone(),
        attempts,
        edges,
        chain_edges,
        dead_lettered_by,
        event: Some(event),
        ..empty
    }
}

#[cfg(test)]
mod tests;
