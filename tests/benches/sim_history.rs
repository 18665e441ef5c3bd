//! Time-travel benchmarks on a long run of the seed diagram: a
//! [`History`] records about 10 million events (`HISTORY_EVENTS`
//! overrides), then criterion times reaching moments of it.
//!
//! - `seek/state_at_random`: [`History::state_at`] at pseudo-random
//!   moments: the nearest snapshot cloned and run forward — the worst case
//!   of a scrubber jump. Target: under 50 ms.
//! - `seek/drag_forward`: [`History::seek`] at moments 1/2000 of the run
//!   apart, as a slider dragged to the right reuses its cursor.
//!
//! Before the benchmarks it prints what recording cost: wall time and
//! events/s of the history run, snapshots kept, and memory as the growth
//! of the process's resident set (`/proc/self/statm`) over the run,
//! divided by the events recorded — everything the run allocated and kept
//! (the engine's own state, its event store log, the snapshots) counts.
//!
//! Run with `cargo bench --bench sim_history`; `HISTORY_EVERY=N` sets the
//! snapshot spacing in engine steps (default [`HistoryOptions::default`]).

use criterion::{Criterion, criterion_group};
use eda_studio::mermaid::parse_flowchart;
use eda_studio::model::ArchGraph;
use eda_studio::sim::{Engine, History, HistoryOptions, Scenario, VirtualTime};
use std::hint::black_box;
use std::time::{Duration, Instant};

/// Resident set size of this process, in bytes (0 where unknown).
fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096)
}

fn seed_engine() -> Engine {
    let chart = parse_flowchart(eda_studio::SEED_DIAGRAM).expect("seed parses");
    let graph = ArchGraph::from_flowchart(&chart);
    let mut scenario = Scenario::default_for(&graph);
    scenario.partitions = 6;
    Engine::new(&graph, scenario, 1).expect("seed builds")
}

/// Records a run of about `events` events, printing what it cost.
fn record(events: u64) -> History {
    let before = rss_bytes();
    let started = Instant::now();
    let mut options = HistoryOptions::default();
    if let Some(every) = std::env::var("HISTORY_EVERY")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        options.snapshot_every_steps = every;
    }
    let mut history = History::new(seed_engine(), options);
    let mut t = VirtualTime::ZERO;
    while history.head().events_produced() < events {
        t = t.plus_us(10_000_000);
        history.run_until(t);
    }
    let wall = started.elapsed().as_secs_f64();
    let grown = rss_bytes().saturating_sub(before);
    let head = history.head();
    let n = head.events_produced();
    eprintln!(
        "recorded {n} events ({} deliveries, {} steps) over {} virtual in {wall:.2} s: {:.0} events/s",
        head.deliveries(),
        history.steps(),
        head.now(),
        n as f64 / wall
    );
    eprintln!(
        "{} snapshots, every {} steps; resident set grew {:.1} MB = {:.1} bytes per event",
        history.snapshot_count(),
        history.snapshot_every_steps(),
        grown as f64 / 1e6,
        grown as f64 / n as f64
    );
    // What one snapshot costs: clones of the head, as a snapshot is.
    let before = rss_bytes();
    let clones: Vec<Engine> = (0..20).map(|_| history.head().clone()).collect();
    let per_clone = rss_bytes().saturating_sub(before) / 20;
    drop(clones);
    eprintln!(
        "one snapshot (a clone of the engine) holds about {:.2} MB of its own",
        per_clone as f64 / 1e6
    );
    history
}

fn seek(c: &mut Criterion) {
    let events = std::env::var("HISTORY_EVENTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000_000);
    let mut history = record(events);
    let end = history.head().now().as_us();
    let mut group = c.benchmark_group("seek");
    group
        .sample_size(30)
        .measurement_time(Duration::from_secs(10));
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    group.bench_function("state_at_random", |b| {
        b.iter(|| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let t = VirtualTime::from_us(x % end);
            black_box(history.state_at(t).run_hash())
        });
    });
    let mut i = 0u64;
    group.bench_function("drag_forward", |b| {
        b.iter(|| {
            i = (i + 1) % 2000;
            let t = VirtualTime::from_us(end / 2000 * i);
            black_box(history.seek(t).run_hash())
        });
    });
    group.finish();
}

criterion_group!(benches, seek);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
