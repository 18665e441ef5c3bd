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
use std::fmt::Write;
use std::hint::black_box;
use std::time::Duration;

/// A layered architecture of `n` nodes: each links to `links_per_node`
/// later ones within 40 (the first link labelled), every 50th links back,
/// every 25 nodes a subgraph, one in three with a nested one.
fn generated(n: usize, links_per_node: usize) -> String {
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = |m: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % m as u64) as usize
    };
    let mut src = String::from("flowchart TD\n");
    for i in 0..n {
        let _ = writeln!(src, "n{i}[Service {i}]");
    }
    for i in 0..n {
        for k in 0..links_per_node {
            let j = i + 1 + next(40);
            if j < n {
                if k == 0 {
                    let _ = writeln!(src, "n{i} -->|Evt{k}| n{j}");
                } else {
                    let _ = writeln!(src, "n{i} --> n{j}");
                }
            }
        }
        if i % 50 == 49 {
            let _ = writeln!(src, "n{i} --> n{}", i - 30);
        }
    }
    let mut g = 0;
    while g * 25 + 10 < n {
        let start = g * 25;
        let _ = writeln!(src, "subgraph G{g}[Group {g}]");
        for i in start..start + 8 {
            let _ = writeln!(src, "n{i}");
        }
        if g % 3 == 1 {
            let _ = writeln!(
                src,
                "subgraph I{g}[Inner]\nn{} & n{}\nend",
                start + 8,
                start + 9
            );
        }
        let _ = writeln!(src, "end");
        g += 1;
    }
    src
}

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
