//! Layout benchmarks: the layered layout of the seed diagram, of a
//! generated 1,000-node architecture (about 2,000 edges, labelled ones
//! included, nested subgraphs) and of a 10,000-edge one; and the
//! position-keeping layout of the 1,000-node diagram with every position
//! saved (what the canvas recomputes after a drag).
//!
//! Target: 1,000 nodes under 200 ms. Run with `cargo bench --bench layout`;
//! `cargo bench --bench layout -- 1k` runs one case.

use criterion::{Criterion, criterion_group, criterion_main};
use eda_studio::SEED_DIAGRAM;
use eda_studio::layout::{LayoutOptions, Point, layered, with_positions};
use eda_studio::mermaid::parse_flowchart;
use eda_studio::model::ArchGraph;
use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Duration;

#[path = "gen_layout.rs"]
mod gen_layout;
use gen_layout::generated;

fn model(src: &str) -> ArchGraph {
    match parse_flowchart(src) {
        Ok(chart) => ArchGraph::from_flowchart(&chart),
        Err(d) => panic!(
            "generated diagram should parse:\n{}",
            d.render("bench.mmd", src)
        ),
    }
}

fn bench_layout(c: &mut Criterion) {
    let opts = LayoutOptions::default();
    let seed = model(SEED_DIAGRAM);
    let thousand = model(&generated(1000, 2));
    let ten_k_edges = model(&generated(2600, 4));
    eprintln!(
        "1k: {} nodes, {} edges; 10k: {} nodes, {} edges",
        thousand.component_count(),
        thousand.connection_count(),
        ten_k_edges.component_count(),
        ten_k_edges.connection_count()
    );
    let saved: BTreeMap<String, Point> = {
        let l = layered(&thousand, &opts);
        thousand
            .components()
            .map(|c| (c.key.clone(), l.nodes[&c.id].center))
            .collect()
    };

    let mut group = c.benchmark_group("layout");
    group.bench_function("layered/seed", |b| {
        b.iter(|| layered(black_box(&seed), &opts))
    });
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(10));
    group.bench_function("layered/1k", |b| {
        b.iter(|| layered(black_box(&thousand), &opts))
    });
    group.bench_function("with_positions/1k-all-saved", |b| {
        b.iter(|| with_positions(black_box(&thousand), &saved, &opts))
    });
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    group.bench_function("layered/10k-edges", |b| {
        b.iter(|| layered(black_box(&ten_k_edges), &opts))
    });
    group.finish();
}

criterion_group!(benches, bench_layout);
criterion_main!(benches);
