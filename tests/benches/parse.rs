//! Parser benchmarks: `parse_flowchart` on generated architecture
//! flowcharts of 1k, 10k and 100k labelled edges with mixed node shapes,
//! `@{ shape }` nodes, edge labels, subgraphs, classDefs and class
//! assignments. Throughput is in bytes; the 10k chart is about 300 KB.
//!
//! Targets: 10k edges under 5 ms, 100k under 50 ms (linear).
//! Run with `cargo bench --bench parse`; `cargo bench --bench parse -- 10k`
//! runs one size.
//!
//! For instruction counts, which other load on the machine does not skew,
//! `PARSE_ONCE=10k` makes the bench binary parse that chart once and exit:
//! `PARSE_ONCE=10k valgrind --tool=callgrind --toggle-collect='parse::parse_and_drop' <bench binary>`
//! counts the parse and the drop of its result, as the timed loop does.
//!
//! On a shared machine, `PARSE_TIMES=10k:200` parses that chart 200 times
//! and prints the fastest and the median wall time of one parse and the
//! process's CPU time per parse (from `/proc/self/stat`), which other load
//! skews less than criterion's wall-clock mean. Criterion's figures remain
//! the reference.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group};
use eda_studio::mermaid::parse_flowchart;
use std::fmt::Write;
use std::hint::black_box;
use std::time::Duration;

/// Node declarations, first mention only: (id prefix, opening, label, closing).
const SHAPES: [(&str, &str, &str, &str); 12] = [
    ("svc", "[", "Orders", "]"),
    ("db", "[(", "Order DB", ")]"),
    ("bus", "[[", "Topic", "]]"),
    ("api", "([", "Gateway", "])"),
    ("proj", "(", "View", ")"),
    ("dec", "{", "Valid?", "}"),
    ("hex", "{{", "Saga", "}}"),
    ("evt", ">", "Event", "]"),
    ("ext", "[/", "Partner", "/]"),
    ("sink", "((", "Email", "))"),
    ("store", "@{ shape: cyl, label: \"", "Store", "\" }"),
    ("cons", "[\"", "Stock", "\"]"),
];

/// Links, cycled: some carry an event-type label, as in real EDA diagrams.
const LINKS: [&str; 8] = [
    "-->|OrderCreated|",
    "-->",
    "-- Paid -->",
    "==>",
    "-.->|Projects|",
    "-->",
    "---",
    "--o",
];

const ROLES: [&str; 5] = ["producer", "bus", "store", "consumer", "sink"];

/// A deterministic architecture flowchart with `edges` labelled edges.
fn generate(edges: usize) -> String {
    let mut out = String::with_capacity(edges * 32);
    out.push_str("---\ntitle: Generated architecture\n---\nflowchart LR\n");
    for (i, role) in ROLES.iter().enumerate() {
        let _ = writeln!(
            out,
            "classDef {role} fill:#e{i}f2fd,stroke:#1565c0,stroke-width:2px"
        );
    }
    // About one node per two edges; each edge goes from a recent node to
    // one a little further on, so nodes are reused like in real diagrams.
    let nodes = (edges / 2).max(2);
    let mut declared = vec![false; nodes];
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut mention = |out: &mut String, n: usize| {
        let (prefix, open, label, close) = SHAPES[n % SHAPES.len()];
        let _ = write!(out, "{prefix}{n}");
        if !declared[n] {
            declared[n] = true;
            let class = if n.is_multiple_of(7) {
                format!(":::{}", ROLES[n % ROLES.len()])
            } else {
                String::new()
            };
            // Mermaid's grammar takes `:::class` before `@{ … }`, after brackets.
            if open.starts_with('@') {
                let _ = write!(out, "{class}{open}{label} {n}{close}");
            } else {
                let _ = write!(out, "{open}{label} {n}{close}{class}");
            }
        }
    };
    let per_group = 200;
    for e in 0..edges {
        if e % per_group == 0 {
            let _ = writeln!(
                out,
                "subgraph domain{}[\"Domain {}\"]",
                e / per_group,
                e / per_group
            );
            if (e / per_group) % 3 == 0 {
                out.push_str("  direction TB\n");
            }
        }
        let from = (e / 2 + (next() % 3) as usize).min(nodes - 1);
        let to = (from + 1 + (next() % 5) as usize) % nodes;
        out.push_str("  ");
        mention(&mut out, from);
        let _ = write!(out, " {} ", LINKS[e % LINKS.len()]);
        mention(&mut out, to);
        out.push('\n');
        if e % per_group == per_group - 1 || e == edges - 1 {
            out.push_str("end\n");
        }
        if e % 500 == 499 {
            let role = ROLES[(e / 500) % ROLES.len()];
            let _ = writeln!(out, "class svc0,db1 {role}");
            let _ = writeln!(
                out,
                "style {}{} fill:#f9f,stroke:#333",
                SHAPES[(e / 500) % SHAPES.len()].0,
                e / 2
            );
        }
    }
    out.push_str("linkStyle default stroke:#555,stroke-width:1px\n");
    out
}

const SIZES: [(&str, usize); 3] = [("1k", 1_000), ("10k", 10_000), ("100k", 100_000)];

fn bench_parse(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse_flowchart");
    group.warm_up_time(Duration::from_secs(1));
    for (name, edges) in SIZES {
        let src = generate(edges);
        let chart = parse_flowchart(&src).unwrap_or_else(|d| {
            panic!("generated {name} chart rejected:\n{}", d.render(name, &src))
        });
        assert_eq!(chart.edges.len(), edges, "the {name} chart has every edge");
        eprintln!(
            "{name}: {edges} edges, {} nodes, {} subgraphs, {} bytes",
            chart.nodes.len(),
            chart.subgraphs.len(),
            src.len()
        );
        drop(chart);
        // Few samples for the big one: it is there to show linear scaling.
        let (samples, secs) = if edges >= 100_000 { (10, 4) } else { (30, 3) };
        group.sample_size(samples);
        group.measurement_time(Duration::from_secs(secs));
        group.throughput(Throughput::Bytes(src.len() as u64));
        group.bench_with_input(
            BenchmarkId::from_parameter(format!("{name}-edges")),
            &src,
            |b, src| b.iter(|| parse_flowchart(black_box(src))),
        );
    }
    group.finish();
}

/// Parses the chart named by `PARSE_ONCE` once, for profilers.
fn parse_once(name: &str) {
    let Some(&(_, edges)) = SIZES.iter().find(|(n, _)| *n == name) else {
        panic!("PARSE_ONCE={name}: expected one of 1k, 10k, 100k");
    };
    let src = generate(edges);
    assert_eq!(parse_and_drop(&src), Some(edges), "the {name} chart parses");
}

/// One parse and the drop of its result (what the timed loop measures),
/// kept out of line so a profiler can count it alone. The edge count.
#[inline(never)]
fn parse_and_drop(src: &str) -> Option<usize> {
    parse_flowchart(black_box(src)).ok().map(|c| c.edges.len())
}

/// The process's user + system CPU time so far, in clock ticks.
fn cpu_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are the
    // 14th and 15th fields of the whole line.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// `PARSE_TIMES=<size>:<runs>`: wall and CPU time per parse (see the
/// module doc).
fn parse_times(spec: &str) {
    let (name, runs) = spec.split_once(':').unwrap_or((spec, "100"));
    let runs: usize = runs.parse().unwrap_or(100).max(1);
    let Some(&(_, edges)) = SIZES.iter().find(|(n, _)| *n == name) else {
        panic!("PARSE_TIMES={spec}: expected <1k|10k|100k>:<runs>");
    };
    let src = generate(edges);
    // Warm up the allocator and caches as criterion does.
    for _ in 0..3 {
        parse_and_drop(&src);
    }
    let mut walls = Vec::with_capacity(runs);
    let cpu0 = cpu_ticks();
    for _ in 0..runs {
        let t = std::time::Instant::now();
        parse_and_drop(&src);
        walls.push(t.elapsed());
    }
    let cpu1 = cpu_ticks();
    walls.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let cpu = match (cpu0, cpu1) {
        // Clock ticks are 10 ms on Linux.
        (Some(a), Some(b)) => format!("{:.3} ms", (b - a) as f64 * 10.0 / runs as f64),
        _ => "unknown".into(),
    };
    println!(
        "{name}: {runs} runs, fastest {:.3} ms, median {:.3} ms, CPU {cpu} per parse",
        ms(walls[0]),
        ms(walls[runs / 2]),
    );
}

criterion_group!(benches, bench_parse);

fn main() {
    if let Ok(name) = std::env::var("PARSE_ONCE") {
        parse_once(&name);
        return;
    }
    if let Ok(spec) = std::env::var("PARSE_TIMES") {
        parse_times(&spec);
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
