//! Engine benchmark: the speed target of the engine issue (point 10) — the
//! seed diagram with 6 partitions, Poisson producers (Order 100/s, User
//! 50/s, Payment 80/s, keys from 10,000 ids) and six groups (event store,
//! four consumers, read-model projection) serving in exponential time of
//! mean 1 ms, run at maximum speed. The setup is the scenario stored in
//! `tests/benches/seed-speed.mmd` (`%% eda:scenario` lines).
//!
//! Throughput is in deliveries (event × group); the target is at least
//! 10 million per wall-clock second on one core. Run with
//! `cargo bench --bench sim`.

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use eda_studio::mermaid::parse_flowchart;
use eda_studio::model::ArchGraph;
use eda_studio::sim::{Engine, VirtualTime, load_scenario};
use std::hint::black_box;
use std::time::Duration;

const DIAGRAM: &str = include_str!("seed-speed.mmd");

/// Virtual seconds per iteration: about 276,000 deliveries.
const SECONDS: u64 = 200;

fn engine() -> Engine {
    let chart = match parse_flowchart(DIAGRAM) {
        Ok(c) => c,
        Err(d) => panic!("{}", d.render("seed-speed.mmd", DIAGRAM)),
    };
    let graph = ArchGraph::from_flowchart(&chart);
    let scenario = match load_scenario(DIAGRAM, &graph) {
        Ok(s) => s,
        Err(d) => panic!("{}", d.render("seed-speed.mmd", DIAGRAM)),
    };
    Engine::new(&graph, scenario, 1).expect("the bench scenario builds")
}

fn bench(c: &mut Criterion) {
    let fresh = engine();
    let deliveries = {
        let mut e = fresh.clone();
        e.run_until(VirtualTime::from_secs(SECONDS));
        e.deliveries()
    };
    let mut group = c.benchmark_group("engine");
    group.throughput(Throughput::Elements(deliveries));
    group.measurement_time(Duration::from_secs(10));
    group.sample_size(30);
    group.bench_function("seed_6p_230eps_6groups_200s", |b| {
        b.iter_batched(
            || fresh.clone(),
            |mut e| {
                e.run_until(VirtualTime::from_secs(SECONDS));
                black_box(e.deliveries())
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
