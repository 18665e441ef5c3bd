//! The cost of the canvas's moving dots: the engine with its activity hook
//! off (the default: one flag check per hop) and on (every hop recorded),
//! on the engine bench's scenario (`seed-speed.mmd`), and the cost of one
//! frame's [`capture`](eda_studio::live) of the dots on the seed diagram.
//! Run with `cargo bench --bench flow`.

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use eda_studio::mermaid::parse_flowchart;
use eda_studio::model::ArchGraph;
use eda_studio::sim::{Engine, VirtualTime, load_scenario};
use std::hint::black_box;
use std::time::Duration;

const DIAGRAM: &str = include_str!("seed-speed.mmd");

/// Virtual seconds per iteration.
const SECONDS: u64 = 50;

fn setup() -> (ArchGraph, Engine) {
    let chart = match parse_flowchart(DIAGRAM) {
        Ok(c) => c,
        Err(d) => panic!("{}", d.render("seed-speed.mmd", DIAGRAM)),
    };
    let graph = ArchGraph::from_flowchart(&chart);
    let scenario = match load_scenario(DIAGRAM, &graph) {
        Ok(s) => s,
        Err(d) => panic!("{}", d.render("seed-speed.mmd", DIAGRAM)),
    };
    let engine = Engine::new(&graph, scenario, 1).expect("the bench scenario builds");
    (graph, engine)
}

fn bench(c: &mut Criterion) {
    let (graph, fresh) = setup();
    let deliveries = {
        let mut e = fresh.clone();
        e.run_until(VirtualTime::from_secs(SECONDS));
        e.deliveries()
    };
    let mut group = c.benchmark_group("activity");
    group.throughput(Throughput::Elements(deliveries));
    group.measurement_time(Duration::from_secs(8));
    group.sample_size(20);
    for on in [false, true] {
        let name = if on { "on" } else { "off" };
        group.bench_function(name, |b| {
            b.iter_batched(
                || {
                    let mut e = fresh.clone();
                    e.set_activity(on);
                    e
                },
                |mut e| {
                    e.run_until(VirtualTime::from_secs(SECONDS));
                    black_box(e.deliveries())
                },
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();

    let mut running = fresh.clone();
    running.set_activity(true);
    running.run_until(VirtualTime::from_secs(10));
    let mut frames = c.benchmark_group("flow_frame");
    frames.sample_size(50);
    for (name, speed) in [
        ("capture_1x", eda_studio::live::Speed::Factor(1.0)),
        ("capture_100x", eda_studio::live::Speed::Factor(100.0)),
    ] {
        frames.bench_function(name, |b| {
            b.iter(|| black_box(eda_studio::live::flow_capture(&running, &graph, speed)))
        });
    }
    frames.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
