//! Subgraphs with a `direction` of their own (`direction LR` inside a TD
//! graph): each is laid out by itself in its direction, then placed in the
//! enclosing layout as one block (a stand-in box of the block's size), the
//! way Mermaid lays such a subgraph out as a unit.
//!
//! Unlike Mermaid, which ignores a subgraph's direction as soon as one of
//! its members is linked to the outside, the direction is honoured here in
//! that case too: the outside link is routed to the block's border and on
//! to the member. Blocks nest: a block's own turned subgraphs are blocks
//! inside it.
//!
//! Works on copies of the model with the block's outside (or inside)
//! removed; never changes the model it is given.

use std::collections::{BTreeMap, BTreeSet};

use super::geom::{border_point, bounds_of, translate};
use super::layered::layered_flat;
use super::shape::ShapeKind;
use super::size::LayoutOptions;
use super::{Layout, Point, Rect};
use crate::mermaid::Direction;
use crate::model::{ArchGraph, ComponentId, ConnectionId, GroupId};

/// How deeply turned subgraphs are followed (a file cannot nest deeper
/// without a cycle; this only bounds the recursion).
const MAX_DEPTH: usize = 16;

/// The layered layout of `graph`, with every subgraph whose direction
/// differs from the one around it laid out as a block in its own direction.
pub(super) fn layered_with_turns(graph: &ArchGraph, opts: &LayoutOptions, depth: usize) -> Layout {
    let blocks = turned_groups(graph);
    if blocks.is_empty() || depth >= MAX_DEPTH {
        return layered_flat(graph, opts, &BTreeMap::new());
    }
    // Each block by itself, in its own direction.
    let mut inner: Vec<(GroupId, Layout, BTreeSet<ComponentId>)> = Vec::new();
    for &(g, dir) in &blocks {
        let members = subtree_components(graph, g);
        let Some(sub) = block_graph(graph, g, dir, &members) else {
            continue;
        };
        let laid = layered_with_turns(&sub, opts, depth + 1);
        if laid.groups.contains_key(&g) {
            inner.push((g, laid, members));
        }
    }
    if inner.is_empty() {
        return layered_flat(graph, opts, &BTreeMap::new());
    }
    // The rest, each block a stand-in box of its size.
    let mut outer = graph.clone();
    let mut sizes: BTreeMap<ComponentId, (f32, f32)> = BTreeMap::new();
    let mut stand_in: Vec<ComponentId> = Vec::new();
    let mut owner: BTreeMap<ComponentId, usize> = BTreeMap::new();
    for (b, (g, laid, members)) in inner.iter().enumerate() {
        for &m in members {
            owner.insert(m, b);
        }
        let key = outer.unique_key(&format!("eda-block-{}", g.get()));
        let Ok(id) = outer.add_component(&key, "") else {
            return layered_flat(graph, opts, &BTreeMap::new());
        };
        let parent = graph.group(*g).and_then(|gr| gr.parent);
        let _ = outer.move_to_group(id, parent);
        let r = laid.groups[g];
        sizes.insert(id, (r.width(), r.height()));
        stand_in.push(id);
    }
    // Links that cross a block's border go to its stand-in.
    let mut crossing: BTreeMap<ConnectionId, ConnectionId> = BTreeMap::new();
    let mut relinks: Vec<(ConnectionId, ComponentId, ComponentId, String)> = Vec::new();
    for c in graph.connections() {
        let (bf, bt) = (owner.get(&c.from), owner.get(&c.to));
        if bf.is_some() && bf == bt {
            continue;
        }
        if bf.is_none() && bt.is_none() {
            continue;
        }
        let from = bf.map_or(c.from, |&b| stand_in[b]);
        let to = bt.map_or(c.to, |&b| stand_in[b]);
        relinks.push((c.id, from, to, c.label.clone()));
    }
    for id in owner.keys() {
        let _ = outer.remove_component(*id);
    }
    for (g, _, _) in &inner {
        for sub in subtree_groups(graph, *g).into_iter().rev() {
            let _ = outer.remove_group(sub);
        }
    }
    for (orig, from, to, label) in relinks {
        if let Ok(id) = outer.connect(from, to, &label) {
            crossing.insert(id, orig);
        }
    }
    // `turned_groups` gave every outermost turned subgraph, so none is
    // left outside the blocks: the rest is flat.
    let mut layout = layered_flat(&outer, opts, &sizes);

    // The blocks' contents where their stand-ins are.
    let mut block_of_standin: BTreeMap<ComponentId, usize> = BTreeMap::new();
    for (b, (g, laid, _)) in inner.iter_mut().enumerate() {
        let Some(at) = layout.nodes.remove(&stand_in[b]) else {
            continue;
        };
        block_of_standin.insert(stand_in[b], b);
        let r = laid.groups[g];
        let c = r.center();
        translate(laid, at.center.x - c.x, at.center.y - c.y);
        layout
            .nodes
            .extend(laid.nodes.iter().map(|(k, v)| (*k, *v)));
        layout
            .groups
            .extend(laid.groups.iter().map(|(k, v)| (*k, *v)));
        layout
            .edges
            .extend(laid.edges.iter().map(|(k, v)| (*k, v.clone())));
    }
    // Crossing links: where the route meets the block's border, moved
    // along that side to face the member, then on to the member.
    let kind = |id: ComponentId| ShapeKind::of(graph.component(id).and_then(|c| c.shape.as_ref()));
    let block_rect = |id: ComponentId| {
        let b = *owner.get(&id)?;
        inner
            .get(b)
            .and_then(|(g, laid, _)| laid.groups.get(g))
            .copied()
    };
    for (new_id, orig) in crossing {
        let Some(mut route) = layout.edges.remove(&new_id) else {
            continue;
        };
        let Some(conn) = graph.connection(orig) else {
            continue;
        };
        if let (Some(rect), Some(node)) = (block_rect(conn.to), layout.nodes.get(&conn.to))
            && let Some(last) = route.last_mut()
        {
            *last = facing(&rect, *last, node.center);
            let at = *last;
            route.push(border_point(kind(conn.to), node, at));
        }
        if let (Some(rect), Some(node)) = (block_rect(conn.from), layout.nodes.get(&conn.from))
            && let Some(first) = route.first_mut()
        {
            *first = facing(&rect, *first, node.center);
            let at = *first;
            route.insert(0, border_point(kind(conn.from), node, at));
        }
        route.dedup_by(|p, q| (p.x - q.x).abs() < 0.5 && (p.y - q.y).abs() < 0.5);
        if route.len() >= 2 {
            layout.edges.insert(orig, route);
        }
    }
    let bounds = bounds_of(&layout);
    translate(&mut layout, -bounds.min.x, -bounds.min.y);
    layout.bounds = bounds_of(&layout);
    layout
}

/// The point on the side of `rect` that `p` lies on, moved along that side
/// to face `member` (so the link runs straight into the block to it).
fn facing(rect: &Rect, p: Point, member: Point) -> Point {
    let d = [
        (p.y - rect.min.y).abs(),
        (p.y - rect.max.y).abs(),
        (p.x - rect.min.x).abs(),
        (p.x - rect.max.x).abs(),
    ];
    let side = (0..4).fold(0, |best, i| if d[i] < d[best] { i } else { best });
    let clamp = |v: f32, lo: f32, hi: f32| v.max(lo).min(hi);
    match side {
        0 => Point::new(clamp(member.x, rect.min.x, rect.max.x), rect.min.y),
        1 => Point::new(clamp(member.x, rect.min.x, rect.max.x), rect.max.y),
        2 => Point::new(rect.min.x, clamp(member.y, rect.min.y, rect.max.y)),
        _ => Point::new(rect.max.x, clamp(member.y, rect.min.y, rect.max.y)),
    }
}

/// The outermost subgraphs whose direction differs from the direction
/// they sit in, with that direction.
fn turned_groups(graph: &ArchGraph) -> Vec<(GroupId, Direction)> {
    fn visit(
        graph: &ArchGraph,
        g: GroupId,
        around: Direction,
        out: &mut Vec<(GroupId, Direction)>,
        depth: usize,
    ) {
        let Some(group) = graph.group(g) else {
            return;
        };
        if depth > MAX_DEPTH {
            return;
        }
        let own = group.direction.map(normal);
        match own {
            Some(d) if d != around => out.push((g, d)),
            _ => {
                for &child in &group.groups {
                    visit(graph, child, around, out, depth + 1);
                }
            }
        }
    }
    let around = normal(graph.meta.direction);
    let mut out = Vec::new();
    for g in graph.top_level_groups() {
        visit(graph, g.id, around, &mut out, 0);
    }
    out
}

/// TD and TB are the same direction.
fn normal(d: Direction) -> Direction {
    if d == Direction::TD { Direction::TB } else { d }
}

/// `g` and the groups nested in it, outermost first.
fn subtree_groups(graph: &ArchGraph, g: GroupId) -> Vec<GroupId> {
    let mut out = vec![g];
    let mut i = 0;
    while i < out.len() && out.len() <= graph.groups().count() {
        if let Some(group) = graph.group(out[i]) {
            for &child in &group.groups {
                if !out.contains(&child) {
                    out.push(child);
                }
            }
        }
        i += 1;
    }
    out
}

/// The components inside `g`, at any depth.
fn subtree_components(graph: &ArchGraph, g: GroupId) -> BTreeSet<ComponentId> {
    subtree_groups(graph, g)
        .into_iter()
        .filter_map(|sub| graph.group(sub))
        .flat_map(|sub| sub.members.iter().copied())
        .collect()
}

/// A copy of the model holding only `g` (now top level), what is inside
/// it and the links among those, laid out in `dir`.
fn block_graph(
    graph: &ArchGraph,
    g: GroupId,
    dir: Direction,
    members: &BTreeSet<ComponentId>,
) -> Option<ArchGraph> {
    let mut sub = graph.clone();
    sub.set_group_parent(g, None).ok()?;
    let outside: Vec<ComponentId> = graph
        .components()
        .map(|c| c.id)
        .filter(|id| !members.contains(id))
        .collect();
    for id in outside {
        let _ = sub.remove_component(id);
    }
    let keep: BTreeSet<GroupId> = subtree_groups(graph, g).into_iter().collect();
    let others: Vec<GroupId> = graph
        .groups()
        .map(|gr| gr.id)
        .filter(|id| !keep.contains(id))
        .collect();
    for id in others {
        let _ = sub.remove_group(id);
    }
    sub.meta.direction = dir;
    Some(sub)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::NodeGeom;
    use crate::mermaid::parse_flowchart;

    fn graph(src: &str) -> ArchGraph {
        ArchGraph::from_flowchart(&parse_flowchart(src).expect("test diagram parses"))
    }

    fn at(g: &ArchGraph, l: &Layout, key: &str) -> Point {
        g.id_of(key)
            .and_then(|id| l.nodes.get(&id).map(|n| n.center))
            .unwrap_or_else(|| panic!("{key} placed"))
    }

    #[test]
    fn a_left_to_right_subgraph_in_a_top_down_graph_runs_left_to_right() {
        let src = "flowchart TD\nS[Start] --> A\nsubgraph Row\n  direction LR\n  A --> B --> C\nend\nC --> E[End]\n";
        let g = graph(src);
        let l = super::super::layered(&g, &LayoutOptions::default());
        let (a, b, c) = (at(&g, &l, "A"), at(&g, &l, "B"), at(&g, &l, "C"));
        assert!(
            (a.y - b.y).abs() < 1.0 && (b.y - c.y).abs() < 1.0,
            "{a:?} {b:?} {c:?}"
        );
        assert!(a.x < b.x && b.x < c.x, "{a:?} {b:?} {c:?}");
        // The block keeps its place in the top-down flow.
        let (s, e) = (at(&g, &l, "S"), at(&g, &l, "E"));
        assert!(s.y < a.y && a.y < e.y, "{s:?} {a:?} {e:?}");
        // Every link has a route, nothing overlaps, the group holds its members.
        assert_eq!(l.edges.len(), g.connection_count());
        let row = g.groups().next().map(|gr| l.groups[&gr.id]).expect("group");
        for key in ["A", "B", "C"] {
            let id = g.id_of(key).expect("member");
            assert!(row.contains_rect(&l.nodes[&id].rect()), "{key} inside");
        }
        let rects: Vec<_> = l.nodes.values().map(NodeGeom::rect).collect();
        for (i, r) in rects.iter().enumerate() {
            for q in &rects[i + 1..] {
                assert!(!r.overlaps(q), "{r:?} overlaps {q:?}");
            }
        }
    }

    #[test]
    fn without_a_subgraph_direction_the_subgraph_follows_the_graph() {
        let src = "flowchart TD\nsubgraph Col\n  A --> B --> C\nend\n";
        let g = graph(src);
        let l = super::super::layered(&g, &LayoutOptions::default());
        let (a, b, c) = (at(&g, &l, "A"), at(&g, &l, "B"), at(&g, &l, "C"));
        assert!(a.y < b.y && b.y < c.y);
    }

    #[test]
    fn nested_turns_alternate() {
        let src = "flowchart LR\nsubgraph Outer\n  direction TB\n  A --> B\n  subgraph Inner\n    direction LR\n    C --> D\n  end\n  B --> C\nend\n";
        let g = graph(src);
        let l = super::super::layered(&g, &LayoutOptions::default());
        let (a, b) = (at(&g, &l, "A"), at(&g, &l, "B"));
        assert!(
            a.y < b.y && (a.x - b.x).abs() < 40.0,
            "outer runs down: {a:?} {b:?}"
        );
        let (c, d) = (at(&g, &l, "C"), at(&g, &l, "D"));
        assert!(
            c.x < d.x && (c.y - d.y).abs() < 1.0,
            "inner runs right: {c:?} {d:?}"
        );
    }
}
