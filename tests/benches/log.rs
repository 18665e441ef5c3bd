//! Event-log benchmarks on a long run of the seed diagram that keeps every
//! record on the bus (`retention = keep-all`): about 10 million events
//! (`LOG_EVENTS` overrides), then criterion times what the log tab asks
//! the driver for.
//!
//! - `page/*`: a page of 200 rows with a filter already indexed — what
//!   every frame costs while the log is open (tail, middle, by type, by
//!   time).
//! - `filter_change/*`: a fresh [`LogIndex`] answering a key or producer
//!   filter — the first page after the user changes the filter, which must
//!   scan the partitions the filter allows.
//! - `trace/*`: tracing one event (its deliveries and causes) by replaying
//!   the run from the snapshot before it.
//!
//! Run with `cargo bench --bench log`.

use criterion::{Criterion, criterion_group};
use eda_studio::live::{LogFilter, LogIndex, LogQuery, TAIL};
use eda_studio::mermaid::parse_flowchart;
use eda_studio::model::ArchGraph;
use eda_studio::sim::{
    Engine, History, HistoryOptions, Retention, Scenario, TraceStatus, Tracer, VirtualTime,
};
use std::hint::black_box;
use std::time::Instant;

fn record(events: u64) -> History {
    let chart = parse_flowchart(eda_studio::SEED_DIAGRAM).expect("seed parses");
    let graph = ArchGraph::from_flowchart(&chart);
    let mut scenario = Scenario::default_for(&graph);
    scenario.partitions = 6;
    scenario.retention = Retention::KeepAll;
    scenario.limits.max_queued_records = 1 << 25;
    let engine = Engine::new(&graph, scenario, 1).expect("seed builds");
    let started = Instant::now();
    let mut history = History::new(engine, HistoryOptions::default());
    let mut t = VirtualTime::ZERO;
    while history.head().events_produced() < events {
        t = t.plus_us(10_000_000);
        history.run_until(t);
    }
    eprintln!(
        "recorded {} events ({} retained) in {:.1} s",
        history.head().events_produced(),
        history
            .head()
            .topics()
            .iter()
            .flat_map(|t| t.partitions())
            .map(|p| p.retained())
            .sum::<usize>(),
        started.elapsed().as_secs_f64()
    );
    history
}

fn query(filter: LogFilter, first: u64) -> LogQuery {
    LogQuery {
        filter,
        first,
        count: 200,
    }
}

fn benches(c: &mut Criterion) {
    let events = std::env::var("LOG_EVENTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000_000);
    let history = record(events);
    let head = history.head();
    let n = head.events_produced();
    let any = LogFilter::default();
    let by_type = LogFilter {
        event_type: Some("UserRegistered".into()),
        ..LogFilter::default()
    };
    let by_time = LogFilter {
        from_us: Some(head.now().as_us() / 3),
        to_us: Some(head.now().as_us() / 2),
        ..LogFilter::default()
    };
    let by_key = LogFilter {
        key: Some(4242),
        ..LogFilter::default()
    };
    let by_producer = LogFilter {
        component: Some("Producer2".into()),
        ..LogFilter::default()
    };

    let mut g = c.benchmark_group("page");
    g.sample_size(20);
    for (name, filter, first) in [
        ("tail", &any, TAIL),
        ("middle", &any, n / 2),
        ("type_middle", &by_type, n / 6),
        ("time_range", &by_time, 1000),
        ("key_indexed", &by_key, 0),
        ("producer_indexed", &by_producer, 100_000),
    ] {
        let mut index = LogIndex::default();
        let q = query(filter.clone(), first);
        let page = index.page(head, &q);
        eprintln!(
            "{name}: {} matching of {}, {} rows",
            page.matching,
            page.retained,
            page.rows.len()
        );
        g.bench_function(name, |b| b.iter(|| black_box(index.page(head, &q))));
    }
    g.finish();

    let mut g = c.benchmark_group("filter_change");
    g.sample_size(10);
    for (name, filter) in [("key", &by_key), ("producer", &by_producer)] {
        let q = query(filter.clone(), 0);
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut index = LogIndex::default();
                black_box(index.page(head, &q))
            })
        });
    }
    g.finish();

    let mut g = c.benchmark_group("trace");
    g.sample_size(10);
    for (name, id) in [("early", n / 10), ("late", n - 5_000)] {
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut tracer = Tracer::start(&history, id);
                let status = tracer.advance(&history, u64::MAX);
                assert_eq!(status, TraceStatus::Complete);
                black_box(tracer.steps_run())
            })
        });
    }
    g.finish();
}

criterion_group!(log, benches);

fn main() {
    log();
    Criterion::default().configure_from_args().final_summary();
}
