//! Properties of the layered layout and of the position-keeping layout,
//! on the seed diagram, on every corpus diagram that parses, and on a
//! generated 1,000-node graph: boxes never overlap, groups enclose their
//! members and stay clear of everything else, edges follow the direction,
//! the seed crosses few edges, and the same input gives the same output.
//!
//! The corpus lives in `../shared/mermaid-corpus` beside the checkout
//! (override with `EDA_CORPUS_DIR`).

use eda_studio::SEED_DIAGRAM;
use eda_studio::layout::{Layout, LayoutOptions, Point, Rect, layered, with_positions};
use eda_studio::mermaid::{Direction, parse_flowchart};
use eda_studio::model::{ArchGraph, GroupId};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::{Path, PathBuf};

#[path = "benches/gen_layout.rs"]
mod gen_layout;
use gen_layout::generated;

/// Slack for float rounding, in pixels.
const EPS: f32 = 0.01;

fn model(src: &str) -> ArchGraph {
    match parse_flowchart(src) {
        Ok(chart) => ArchGraph::from_flowchart(&chart),
        Err(d) => panic!("the diagram should parse:\n{}", d.render("test.mmd", src)),
    }
}

fn seed() -> ArchGraph {
    model(SEED_DIAGRAM)
}

fn corpus_dir() -> PathBuf {
    std::env::var_os("EDA_CORPUS_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/mermaid-corpus"),
        PathBuf::from,
    )
}

/// Every corpus diagram that parses, by file name.
fn corpus() -> Vec<(String, ArchGraph)> {
    let dir = corpus_dir();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list the corpus at {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "mmd"))
        .collect();
    files.sort();
    files
        .into_iter()
        .filter_map(|p| {
            let src = std::fs::read_to_string(&p).ok()?;
            let chart = parse_flowchart(&src).ok()?;
            let name = p.file_name()?.to_string_lossy().into_owned();
            Some((name, ArchGraph::from_flowchart(&chart)))
        })
        .collect()
}

fn shrink(r: &Rect) -> Rect {
    Rect {
        min: Point::new(r.min.x + EPS, r.min.y + EPS),
        max: Point::new(r.max.x - EPS, r.max.y - EPS),
    }
}

fn finite(p: Point) -> bool {
    p.x.is_finite() && p.y.is_finite()
}

/// Every component under a group, nested groups included.
fn under(g: &ArchGraph, id: GroupId) -> Vec<eda_studio::model::ComponentId> {
    let Some(group) = g.group(id) else {
        return Vec::new();
    };
    let mut out = group.members.clone();
    for &child in &group.groups {
        out.extend(under(g, child));
    }
    out
}

/// The structural properties every layout must have; returns the problems.
fn problems(g: &ArchGraph, l: &Layout) -> Vec<String> {
    let mut out = Vec::new();
    for c in g.components() {
        match l.nodes.get(&c.id) {
            None => out.push(format!("{} has no box", c.key)),
            Some(n) if !finite(n.center) || n.width <= 0.0 || n.height <= 0.0 => {
                out.push(format!("{} has a bad box {n:?}", c.key))
            }
            Some(_) => {}
        }
    }
    for e in g.connections() {
        match l.edges.get(&e.id) {
            Some(r) if r.len() >= 2 && r.iter().all(|&p| finite(p)) => {}
            other => out.push(format!("{} has a bad route {other:?}", e.id)),
        }
    }
    let boxes: Vec<(&str, Rect)> = g
        .components()
        .filter_map(|c| l.nodes.get(&c.id).map(|n| (c.key.as_str(), n.rect())))
        .collect();
    for (i, (a, ra)) in boxes.iter().enumerate() {
        for (b, rb) in &boxes[i + 1..] {
            if shrink(ra).overlaps(rb) {
                out.push(format!("boxes {a} {ra:?} and {b} {rb:?} overlap"));
            }
        }
    }
    for grp in g.groups() {
        let Some(rect) = l.groups.get(&grp.id) else {
            out.push(format!("group {} has no rectangle", grp.key));
            continue;
        };
        let inside = under(g, grp.id);
        for &m in &grp.members {
            if let Some(n) = l.nodes.get(&m)
                && !rect.expand(EPS).contains_rect(&n.rect())
            {
                out.push(format!(
                    "group {} does not enclose {}",
                    grp.key,
                    g.key_of(m)
                ));
            }
        }
        for child in &grp.groups {
            if let Some(r) = l.groups.get(child)
                && !rect.expand(EPS).contains_rect(r)
            {
                out.push(format!("group {} does not enclose group {child}", grp.key));
            }
        }
        for c in g.components() {
            if !inside.contains(&c.id)
                && let Some(n) = l.nodes.get(&c.id)
                && shrink(rect).overlaps(&n.rect())
            {
                out.push(format!(
                    "{} is not in group {} but overlaps it",
                    c.key, grp.key
                ));
            }
        }
        for other in g.groups() {
            if other.id > grp.id
                && other.parent == grp.parent
                && let Some(r) = l.groups.get(&other.id)
                && shrink(rect).overlaps(r)
            {
                out.push(format!(
                    "sibling groups {} and {} overlap",
                    grp.key, other.key
                ));
            }
        }
    }
    out
}

fn assert_clean(name: &str, g: &ArchGraph, l: &Layout) {
    let p = problems(g, l);
    assert!(
        p.is_empty(),
        "{name}: {} problems:\n{}",
        p.len(),
        p.join("\n")
    );
}

fn with_direction(mut g: ArchGraph, d: Direction) -> ArchGraph {
    g.meta.direction = d;
    g
}

fn is_acyclic(g: &ArchGraph) -> bool {
    !petgraph::algo::is_cyclic_directed(g.petgraph())
}

/// Edges whose centres do not advance in the flow direction.
/// The direction an edge should flow in: that of the innermost subgraph
/// around both its ends that sets one (a subgraph's `direction` turns its
/// block), else the graph's.
fn flow_direction(g: &ArchGraph, e: &eda_studio::model::Connection) -> Direction {
    let chain = |id| {
        let mut out = Vec::new();
        let mut at = g.group_of(id);
        while let Some(grp) = at {
            out.push(grp);
            at = g.group(grp).and_then(|x| x.parent);
        }
        out
    };
    let (ca, cb) = (chain(e.from), chain(e.to));
    ca.iter()
        .filter(|grp| cb.contains(grp))
        .find_map(|grp| g.group(*grp).and_then(|x| x.direction))
        .unwrap_or(g.meta.direction)
}

fn backward_edges(g: &ArchGraph, l: &Layout) -> Vec<String> {
    g.connections()
        .filter(|e| e.from != e.to)
        .filter_map(|e| {
            let dir = flow_direction(g, e);
            let (a, b) = (l.nodes.get(&e.from)?.center, l.nodes.get(&e.to)?.center);
            let forward = match dir {
                Direction::TB | Direction::TD => b.y > a.y,
                Direction::BT => b.y < a.y,
                Direction::LR => b.x > a.x,
                Direction::RL => b.x < a.x,
            };
            (!forward).then(|| format!("{} -> {}", g.key_of(e.from), g.key_of(e.to)))
        })
        .collect()
}

fn cross(o: Point, a: Point, b: Point) -> f32 {
    (a.x - o.x) * (b.y - o.y) - (a.y - o.y) * (b.x - o.x)
}

fn segments_cross(p1: Point, p2: Point, q1: Point, q2: Point) -> bool {
    let d1 = cross(q1, q2, p1);
    let d2 = cross(q1, q2, p2);
    let d3 = cross(p1, p2, q1);
    let d4 = cross(p1, p2, q2);
    d1 * d2 < 0.0 && d3 * d4 < 0.0
}

/// Geometric crossings between routes of edges that share no endpoint.
fn count_crossings(g: &ArchGraph, l: &Layout) -> usize {
    let edges: Vec<_> = g.connections().collect();
    let mut n = 0;
    for (i, a) in edges.iter().enumerate() {
        for b in &edges[i + 1..] {
            if a.from == b.from || a.from == b.to || a.to == b.from || a.to == b.to {
                continue;
            }
            let (Some(ra), Some(rb)) = (l.edges.get(&a.id), l.edges.get(&b.id)) else {
                continue;
            };
            for sa in ra.windows(2) {
                for sb in rb.windows(2) {
                    if segments_cross(sa[0], sa[1], sb[0], sb[1]) {
                        n += 1;
                    }
                }
            }
        }
    }
    n
}

#[test]
fn seed_layout_is_clean_and_flows_down() {
    let g = seed();
    let l = layered(&g, &LayoutOptions::default());
    assert_clean("seed", &g, &l);
    assert!(is_acyclic(&g));
    assert_eq!(backward_edges(&g, &l), Vec::<String>::new());
}

#[test]
fn seed_group_encloses_its_members_the_bus_included() {
    let g = seed();
    let l = layered(&g, &LayoutOptions::default());
    let cqrs = g
        .groups()
        .next()
        .unwrap_or_else(|| panic!("the seed has a group"));
    let rect = l.groups[&cqrs.id];
    for key in ["WriteModel", "ReadModel", "ReadDB"] {
        let id = g.id_of(key).unwrap_or_else(|| panic!("{key}"));
        assert!(rect.contains_rect(&l.nodes[&id].rect()), "{key}");
    }
    let bus = g.id_of("EB").unwrap_or_else(|| panic!("EB"));
    assert!(
        rect.contains_rect(&l.nodes[&bus].rect()),
        "Mermaid puts EB in CQRS: it is named inside"
    );
}

#[test]
fn seed_crosses_few_edges() {
    let g = seed();
    let optimised = count_crossings(&g, &layered(&g, &LayoutOptions::default()));
    let naive_opts = LayoutOptions {
        crossing_sweeps: 0,
        ..LayoutOptions::default()
    };
    let naive = count_crossings(&g, &layered(&g, &naive_opts));
    eprintln!("seed crossings: {optimised} (naive depth-first order: {naive})");
    // The seed has a planar layered drawing (the CQRS block beside the
    // bus, producers and the gateway above); allow two for routing through
    // straight segments.
    assert!(
        optimised <= 2,
        "{optimised} crossings (naive order: {naive})"
    );
    assert!(
        optimised <= naive,
        "{optimised} crossings, naive order gives {naive}"
    );
}

#[test]
fn layout_is_deterministic() {
    let g = seed();
    let opts = LayoutOptions::default();
    assert_eq!(layered(&g, &opts), layered(&g, &opts));
    assert_eq!(layered(&g, &opts), layered(&seed(), &opts));
}

#[test]
fn every_direction_is_clean_and_flows_its_way() {
    for d in [
        Direction::TB,
        Direction::TD,
        Direction::BT,
        Direction::LR,
        Direction::RL,
    ] {
        let g = with_direction(seed(), d);
        let l = layered(&g, &LayoutOptions::default());
        assert_clean(&format!("seed {d:?}"), &g, &l);
        assert_eq!(backward_edges(&g, &l), Vec::<String>::new(), "{d:?}");
    }
}

/// The seed without its subgraph: group titles sit at the screen top in
/// every direction, so only a diagram without groups mirrors exactly.
fn seed_without_groups() -> ArchGraph {
    let src: String = SEED_DIAGRAM
        .lines()
        .filter(|l| !l.starts_with("subgraph") && l.trim() != "end")
        .map(|l| format!("{l}\n"))
        .collect();
    let g = model(&src);
    assert_eq!(g.groups().count(), 0);
    g
}

#[test]
fn bottom_up_and_right_left_are_mirror_images() {
    let opts = LayoutOptions::default();
    let cases = [
        (seed_without_groups(), Direction::TB, Direction::BT, true),
        (seed(), Direction::LR, Direction::RL, false),
    ];
    for (g, d, mirror, vertical) in cases {
        let a = layered(&with_direction(g.clone(), d), &opts);
        let b = layered(&with_direction(g, mirror), &opts);
        assert_eq!(a.bounds, b.bounds);
        for (id, na) in &a.nodes {
            let nb = b.nodes[id];
            let (same, flipped, extent) = if vertical {
                (
                    na.center.x - nb.center.x,
                    na.center.y + nb.center.y,
                    a.bounds.max.y,
                )
            } else {
                (
                    na.center.y - nb.center.y,
                    na.center.x + nb.center.x,
                    a.bounds.max.x,
                )
            };
            assert!(
                same.abs() < 0.1 && (flipped - extent).abs() < 0.1,
                "{d:?}/{mirror:?}: {na:?} vs {nb:?}"
            );
        }
        for (id, ga) in &a.groups {
            let gb = b.groups[id];
            assert!(
                (ga.width() - gb.width()).abs() < 0.1 && (ga.height() - gb.height()).abs() < 0.1
            );
        }
    }
}

#[test]
fn left_right_is_the_top_down_layering_turned() {
    let opts = LayoutOptions::default();
    let td = layered(&seed(), &opts);
    let lr = layered(&with_direction(seed(), Direction::LR), &opts);
    // Same layers: sorting by the flow coordinate gives the same groups of
    // equal rank.
    let ranks = |l: &Layout, vertical: bool| -> BTreeMap<_, usize> {
        let mut flows: Vec<f32> = l
            .nodes
            .values()
            .map(|n| if vertical { n.center.y } else { n.center.x })
            .collect();
        flows.sort_by(f32::total_cmp);
        flows.dedup_by(|a, b| (*a - *b).abs() < 0.5);
        l.nodes
            .iter()
            .map(|(id, n)| {
                let f = if vertical { n.center.y } else { n.center.x };
                (
                    *id,
                    flows
                        .iter()
                        .position(|&x| (x - f).abs() < 0.5)
                        .unwrap_or(usize::MAX),
                )
            })
            .collect()
    };
    assert_eq!(ranks(&td, true), ranks(&lr, false));
}

#[test]
fn every_corpus_diagram_lays_out_cleanly() {
    let corpus = corpus();
    assert!(
        corpus.len() >= 100,
        "only {} corpus diagrams parse",
        corpus.len()
    );
    let opts = LayoutOptions::default();
    let mut failures = Vec::new();
    for (name, g) in &corpus {
        let l = layered(g, &opts);
        let mut p = problems(g, &l);
        if is_acyclic(g) {
            p.extend(
                backward_edges(g, &l)
                    .into_iter()
                    .map(|e| format!("edge against the flow: {e}")),
            );
        }
        if l != layered(g, &opts) {
            p.push("not deterministic".into());
        }
        if !p.is_empty() {
            failures.push(format!("{name}:\n  {}", p.join("\n  ")));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} diagrams:\n{}",
        failures.len(),
        corpus.len(),
        failures.join("\n")
    );
}

#[test]
fn a_thousand_nodes_lay_out_cleanly() {
    let g = model(&generated(1000, 2));
    assert_eq!(g.component_count(), 1000);
    let l = layered(&g, &LayoutOptions::default());
    assert_clean("generated", &g, &l);
}

#[test]
fn saved_positions_are_kept_and_new_nodes_placed_beside_them() {
    let g = seed();
    let opts = LayoutOptions::default();
    let base = layered(&g, &opts);
    let mut saved: BTreeMap<String, Point> = BTreeMap::new();
    for c in g.components() {
        if c.key != "Consumer4" && c.key != "Elastic" {
            let p = base.nodes[&c.id].center;
            // Move everything, so the kept positions differ from the layout's.
            saved.insert(c.key.clone(), Point::new(p.x + 1000.0, p.y - 500.0));
        }
    }
    let l = with_positions(&g, &saved, &opts);
    for c in g.components() {
        if let Some(p) = saved.get(&c.key) {
            assert_eq!(l.nodes[&c.id].center, *p, "{} moved", c.key);
        }
    }
    assert_clean("seed with two unplaced nodes", &g, &l);
    // The new ones sit near their placed neighbours, not at the old origin.
    let eb = l.nodes[&g.id_of("EB").unwrap_or_else(|| panic!("EB"))].center;
    let c4 = l.nodes[&g.id_of("Consumer4").unwrap_or_else(|| panic!("Consumer4"))].center;
    assert!(
        (c4.x - eb.x).abs() < 1000.0 && (c4.y - eb.y).abs() < 500.0,
        "{c4:?} vs {eb:?}"
    );
    // Routes end on the boxes.
    for e in g.connections() {
        let r = &l.edges[&e.id];
        let (a, b) = (l.nodes[&e.from].rect(), l.nodes[&e.to].rect());
        assert!(a.expand(0.5).contains(r[0]) && b.expand(0.5).contains(r[r.len() - 1]));
    }
}

#[test]
fn all_saved_positions_need_no_layered_layout_and_are_exact() {
    let g = seed();
    let opts = LayoutOptions::default();
    let saved: BTreeMap<String, Point> = g
        .components()
        .enumerate()
        .map(|(i, c)| {
            (
                c.key.clone(),
                Point::new(200.0 * (i % 5) as f32, 150.0 * (i / 5) as f32),
            )
        })
        .collect();
    let l = with_positions(&g, &saved, &opts);
    for c in g.components() {
        assert_eq!(l.nodes[&c.id].center, saved[&c.key]);
    }
    let cqrs = g.groups().next().unwrap_or_else(|| panic!("group"));
    for m in &cqrs.members {
        assert!(l.groups[&cqrs.id].contains_rect(&l.nodes[m].rect()));
    }
}

#[test]
fn unplaced_diagram_matches_the_layered_layout_shape() {
    let g = seed();
    let opts = LayoutOptions::default();
    let l = with_positions(&g, &BTreeMap::new(), &opts);
    assert_clean("seed without positions", &g, &l);
}

#[test]
fn half_saved_thousand_keeps_the_saved_and_overlaps_nothing() {
    let g = model(&generated(1000, 2));
    let opts = LayoutOptions::default();
    let base = layered(&g, &opts);
    let saved: BTreeMap<String, Point> = g
        .components()
        .enumerate()
        .filter(|(i, _)| i % 2 == 0)
        .map(|(_, c)| (c.key.clone(), base.nodes[&c.id].center))
        .collect();
    let l = with_positions(&g, &saved, &opts);
    for c in g.components() {
        if let Some(p) = saved.get(&c.key) {
            assert_eq!(l.nodes[&c.id].center, *p);
        }
    }
    let boxes: Vec<Rect> = l.nodes.values().map(|n| n.rect()).collect();
    let mut overlaps = 0;
    for (i, a) in boxes.iter().enumerate() {
        overlaps += boxes[i + 1..]
            .iter()
            .filter(|b| shrink(a).overlaps(b))
            .count();
    }
    assert_eq!(overlaps, 0);
}

#[test]
fn absurd_saved_positions_do_not_panic() {
    let g = seed();
    let opts = LayoutOptions::default();
    let mut saved = BTreeMap::new();
    saved.insert("EB".to_string(), Point::new(f32::NAN, 0.0));
    saved.insert("API".to_string(), Point::new(f32::MAX, -f32::MAX));
    saved.insert("ES".to_string(), Point::new(1e30, 1e30));
    saved.insert("NoSuchNode".to_string(), Point::new(0.0, 0.0));
    let l = with_positions(&g, &saved, &opts);
    assert_eq!(l.nodes.len(), g.component_count());
    assert!(
        l.nodes[&g.id_of("EB").unwrap_or_else(|| panic!("EB"))]
            .center
            .x
            .is_finite()
    );
}

#[test]
fn edge_cases_lay_out_without_panicking() {
    let opts = LayoutOptions::default();
    for src in [
        "graph TD",
        "graph TD\nA",
        "graph LR\nA --> A",
        "graph TD\nA --> B\nB --> A\nA --> B",
        "graph TD\nsubgraph E[Empty]\nend",
        "graph TD\nsubgraph O\nsubgraph I\nA --> B\nend\nend\nB --> C\nC --> A",
        "graph RL\nA -->|a very long label indeed| B\nB -->|x| C\nA --> C",
    ] {
        let g = model(src);
        let l = layered(&g, &opts);
        assert_clean(src, &g, &l);
        assert_eq!(l, layered(&g, &opts), "{src}");
    }
}

#[test]
fn crossing_reduction_beats_the_initial_order() {
    let g = model(&generated(150, 2));
    let optimised = count_crossings(&g, &layered(&g, &LayoutOptions::default()));
    let naive_opts = LayoutOptions {
        crossing_sweeps: 0,
        ..LayoutOptions::default()
    };
    let naive = count_crossings(&g, &layered(&g, &naive_opts));
    eprintln!("150-node graph crossings: {optimised} (naive depth-first order: {naive})");
    assert!(
        optimised < naive,
        "{optimised} crossings, naive order gives {naive}"
    );
}

/// Small random diagrams: random links (cycles, self-loops and parallel
/// links included), random nested subgraphs, every direction.
fn random_diagram(seed: u64) -> String {
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut next = |m: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % m as u64) as usize
    };
    let dirs = ["TD", "TB", "BT", "LR", "RL"];
    let shapes = [
        ("[", "]"),
        ("((", "))"),
        ("{", "}"),
        ("[(", ")]"),
        ("([", "])"),
        ("{{", "}}"),
    ];
    let n = 2 + next(14);
    let mut src = format!("flowchart {}\n", dirs[next(dirs.len())]);
    for i in 0..n {
        let (open, close) = shapes[next(shapes.len())];
        let label = "x".repeat(1 + next(30));
        let _ = writeln!(src, "n{i}{open}{label}{close}");
    }
    for _ in 0..next(2 * n + 1) {
        let (a, b) = (next(n), next(n));
        if next(3) == 0 {
            let _ = writeln!(src, "n{a} -->|lbl {a}| n{b}");
        } else {
            let _ = writeln!(src, "n{a} --> n{b}");
        }
    }
    // Subgraphs over random runs of nodes, some nested in the previous one.
    for s in 0..next(4) {
        let start = next(n);
        let len = 1 + next(4);
        let _ = writeln!(src, "subgraph S{s}[Group {s}]");
        for i in start..(start + len).min(n) {
            let _ = writeln!(src, "n{i}");
        }
        if next(2) == 0 {
            let _ = writeln!(src, "subgraph T{s}[Inner {s}]");
            let _ = writeln!(src, "n{}", next(n));
            let _ = writeln!(src, "end");
        }
        let _ = writeln!(src, "end");
    }
    src
}

#[test]
fn random_diagrams_lay_out_cleanly() {
    let opts = LayoutOptions::default();
    let mut failures = Vec::new();
    let mut parsed = 0;
    for seed in 0..300 {
        let src = random_diagram(seed);
        let Ok(chart) = parse_flowchart(&src) else {
            continue;
        };
        parsed += 1;
        let g = ArchGraph::from_flowchart(&chart);
        let l = layered(&g, &opts);
        let mut p = problems(&g, &l);
        if is_acyclic(&g) {
            p.extend(backward_edges(&g, &l));
        }
        if !p.is_empty() {
            failures.push(format!("seed {seed}:\n{src}\n  {}", p.join("\n  ")));
        }
    }
    assert!(parsed >= 250, "only {parsed} of 300 random diagrams parse");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Whether segment `p`–`q` passes through the inside of `r`.
fn segment_through(p: Point, q: Point, r: &Rect) -> bool {
    let r = shrink(r);
    let steps = 64;
    (0..=steps).any(|i| {
        let t = i as f32 / steps as f32;
        let x = Point::new(p.x + (q.x - p.x) * t, p.y + (q.y - p.y) * t);
        r.min.x < x.x && x.x < r.max.x && r.min.y < x.y && x.y < r.max.y
    })
}

/// The boxes (by key) a connection's route passes through, its ends aside.
fn boxes_crossed(g: &ArchGraph, l: &Layout, id: eda_studio::model::ConnectionId) -> Vec<String> {
    let Some(c) = g.connection(id) else {
        return Vec::new();
    };
    let route = &l.edges[&id];
    g.components()
        .filter(|n| n.id != c.from && n.id != c.to)
        .filter(|n| {
            let r = l.nodes[&n.id].rect();
            route.windows(2).any(|w| segment_through(w[0], w[1], &r))
        })
        .map(|n| n.key.clone())
        .collect()
}

fn centres(g: &ArchGraph, l: &Layout) -> BTreeMap<String, Point> {
    g.components()
        .map(|c| (c.key.clone(), l.nodes[&c.id].center))
        .collect()
}

const SKIP_EDGE: &str =
    "flowchart TD\nA[Start] --> B[Step one] --> C[Step two] --> D[End]\nA --> D\nB --> X[Side]\n";

#[test]
fn a_long_edge_bends_around_the_nodes_between_its_ends() {
    let g = model(SKIP_EDGE);
    let l = layered(&g, &LayoutOptions::default());
    let skip = g
        .connections()
        .find(|c| g.key_of(c.from) == "A" && g.key_of(c.to) == "D")
        .map(|c| c.id)
        .unwrap_or_else(|| panic!("A --> D"));
    assert!(
        l.edges[&skip].len() > 2,
        "the long edge has bends: {:?}",
        l.edges[&skip]
    );
    for c in g.connections() {
        assert_eq!(
            boxes_crossed(&g, &l, c.id),
            Vec::<String>::new(),
            "{}",
            c.id
        );
    }
    // Lined up under A, B and C would be in a straight edge's way: the
    // pinned layout bends the edge around them.
    let mut saved = centres(&g, &l);
    let x = saved["A"].x;
    for k in ["B", "C", "D"] {
        if let Some(p) = saved.get_mut(k) {
            p.x = x;
        }
    }
    let pinned = with_positions(&g, &saved, &LayoutOptions::default());
    let mut straight = pinned.clone();
    straight.edges.insert(skip, vec![saved["A"], saved["D"]]);
    let blocked = boxes_crossed(&g, &straight, skip);
    assert!(
        blocked.contains(&"B".to_string()) && blocked.contains(&"C".to_string()),
        "{blocked:?}"
    );
    assert_eq!(
        boxes_crossed(&g, &pinned, skip),
        Vec::<String>::new(),
        "{:?}",
        pinned.edges[&skip]
    );
}

#[test]
fn kept_positions_keep_the_layered_routes_and_move_them_with_the_nodes() {
    let opts = LayoutOptions::default();
    for (name, g) in [("skip", model(SKIP_EDGE)), ("seed", seed())] {
        let l = layered(&g, &opts);
        let saved = centres(&g, &l);
        let pinned = with_positions(&g, &saved, &opts);
        for c in g.connections() {
            let (a, b) = (&l.edges[&c.id], &pinned.edges[&c.id]);
            assert_eq!(a.len(), b.len(), "{name} {}", c.id);
            for (p, q) in a.iter().zip(b) {
                assert!(
                    (p.x - q.x).abs() < 0.5 && (p.y - q.y).abs() < 0.5,
                    "{name} {}: {a:?} vs {b:?}",
                    c.id
                );
            }
        }
        // The whole diagram moved: the routes move with it, bends and all.
        let moved: BTreeMap<String, Point> = saved
            .iter()
            .map(|(k, p)| (k.clone(), Point::new(p.x + 300.0, p.y - 40.0)))
            .collect();
        let shifted = with_positions(&g, &moved, &opts);
        for c in g.connections() {
            let (a, b) = (&l.edges[&c.id], &shifted.edges[&c.id]);
            assert_eq!(a.len(), b.len(), "{name} {}", c.id);
            for (p, q) in a.iter().zip(b) {
                assert!((p.x + 300.0 - q.x).abs() < 0.5 && (p.y - 40.0 - q.y).abs() < 0.5);
            }
        }
    }
}

#[test]
fn after_a_node_moves_edges_cross_no_more_boxes_than_straight_lines() {
    let opts = LayoutOptions::default();
    let g = model(SKIP_EDGE);
    let l = layered(&g, &opts);
    let mut saved = centres(&g, &l);
    // D nudged sideways: the long edge keeps bending around B and C.
    if let Some(d) = saved.get_mut("D") {
        d.x += 40.0;
    }
    let pinned = with_positions(&g, &saved, &opts);
    let skip = g
        .connections()
        .find(|c| g.key_of(c.from) == "A" && g.key_of(c.to) == "D")
        .map(|c| c.id)
        .unwrap_or_else(|| panic!("A --> D"));
    assert!(
        pinned.edges[&skip].len() > 2,
        "still bent: {:?}",
        pinned.edges[&skip]
    );
    assert_eq!(boxes_crossed(&g, &pinned, skip), Vec::<String>::new());
    // D dragged above A: the old bends no longer lead anywhere sensible,
    // and the edge is straight.
    let a = saved["A"];
    saved.insert("D".into(), Point::new(a.x + 400.0, a.y - 200.0));
    let pinned = with_positions(&g, &saved, &opts);
    assert_eq!(pinned.edges[&skip].len(), 2, "{:?}", pinned.edges[&skip]);
    // On every corpus diagram with one node moved far, no route crosses
    // more boxes than the straight line between its ends would.
    for (name, g) in corpus().into_iter().chain([("seed".to_string(), seed())]) {
        let l = layered(&g, &opts);
        let mut saved = centres(&g, &l);
        if let Some((_, p)) = saved.iter_mut().next() {
            p.x += 170.0;
            p.y += 90.0;
        }
        let pinned = with_positions(&g, &saved, &opts);
        let mut straight = pinned.clone();
        for c in g.connections() {
            if c.from != c.to {
                let (a, b) = (pinned.nodes[&c.from].center, pinned.nodes[&c.to].center);
                straight.edges.insert(c.id, vec![a, b]);
            }
        }
        for c in g.connections().filter(|c| c.from != c.to) {
            let (r, s) = (
                boxes_crossed(&g, &pinned, c.id),
                boxes_crossed(&g, &straight, c.id),
            );
            assert!(
                r.len() <= s.len(),
                "{name} {}: routed crosses {r:?}, straight {s:?}",
                c.id
            );
        }
    }
}

#[test]
fn a_subgraph_direction_turns_its_block() {
    let opts = LayoutOptions::default();
    // Corpus 107: `graph LR` with a `direction TD` subgraph: A1 above A2.
    let g = model("graph LR\n  subgraph WithTD\n    direction TD\n    A1 --> A2\n  end\n");
    let l = layered(&g, &opts);
    assert_clean("WithTD", &g, &l);
    let at = |g: &ArchGraph, l: &Layout, k: &str| {
        l.nodes[&g.id_of(k).unwrap_or_else(|| panic!("{k}"))].center
    };
    let (a1, a2) = (at(&g, &l, "A1"), at(&g, &l, "A2"));
    assert!(a1.y < a2.y && (a1.x - a2.x).abs() < 1.0, "{a1:?} {a2:?}");
    // A TD graph with an LR row linked from outside: the row runs across,
    // the outside flow still runs down, and the crossing links are routed.
    let src = "flowchart TD\n  P[Producer] --> EB[Bus]\n  subgraph Pipeline\n    direction LR\n    C1[Billing] --> C2[Shipping] --> C3[Email]\n  end\n  EB --> C1\n  C3 --> Z[Archive]\n";
    let g = model(src);
    let l = layered(&g, &opts);
    assert_clean("row", &g, &l);
    let (c1, c2, c3) = (at(&g, &l, "C1"), at(&g, &l, "C2"), at(&g, &l, "C3"));
    assert!(
        (c1.y - c2.y).abs() < 1.0 && (c2.y - c3.y).abs() < 1.0,
        "one row: {c1:?} {c2:?} {c3:?}"
    );
    let (eb, z) = (at(&g, &l, "EB"), at(&g, &l, "Z"));
    assert!(at(&g, &l, "P").y < eb.y && eb.y < c1.y && c1.y < z.y);
    for c in g.connections() {
        let r = &l.edges[&c.id];
        let (from, to) = (
            l.nodes[&c.from].rect().expand(1.0),
            l.nodes[&c.to].rect().expand(1.0),
        );
        assert!(
            from.contains(r[0]) && to.contains(r[r.len() - 1]),
            "{}: {r:?}",
            c.id
        );
    }
    // Without the direction line the members stack down the flow instead.
    let g = model(&src.replace("    direction LR\n", ""));
    let l = layered(&g, &opts);
    let (c1, c2) = (at(&g, &l, "C1"), at(&g, &l, "C2"));
    assert!(c1.y < c2.y, "down the graph without the direction line");
    let g = model("flowchart TD\nsubgraph S\n  direction LR\n  A --> B --> C\nend\n");
    let l = layered(&g, &opts);
    let (a, b, c) = (at(&g, &l, "A"), at(&g, &l, "B"), at(&g, &l, "C"));
    assert!(
        a.x < b.x && b.x < c.x && (a.y - c.y).abs() < 1.0,
        "{a:?} {b:?} {c:?}"
    );
    let g = model("flowchart TD\nsubgraph S\n  A --> B --> C\nend\n");
    let l = layered(&g, &opts);
    let (a, c) = (at(&g, &l, "A"), at(&g, &l, "C"));
    assert!(a.y < c.y, "no direction: down the graph");
}
