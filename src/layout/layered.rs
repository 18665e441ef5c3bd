//! The layered (Sugiyama / dagre style) layout, end to end.
//!
//! 1. Sizes: every component's box from its label and shape
//!    ([`super::node_size`]); an empty group gets a stand-in box for its title.
//! 2. Cycles are broken and layers assigned (`rank.rs`).
//! 3. Edges longer than one layer become chains of dummy nodes, which
//!    belong to the innermost group the edge is still inside at that layer;
//!    a group gets a zero-size placeholder in every layer it spans but has
//!    no node in, so it is present (and kept clear of) all the way down.
//! 4. Layer orders are chosen to cross few edges (`order.rs`).
//! 5. Positions across the layers (`coord.rs`); along them, layers are
//!    stacked with gaps that leave room for edge labels and for the
//!    borders and titles of the groups that end and start there.
//! 6. Routes run through the dummy nodes and end on the boxes' borders.
//!
//! All of it is computed top-down in a working frame and then turned to
//! the diagram's direction, so LR, BT and RL are exact rotations and flips.

use std::collections::{BTreeMap, BTreeSet};

use super::coord::{GroupPads, place_across};
use super::geom::{Frame, bounds_of, route_between, self_loop, translate};
use super::order::order_layers;
use super::rank::{assign_layers, feedback_edges};
use super::shape::ShapeKind;
use super::size::{LayoutOptions, node_size};
use super::{Layout, NodeGeom, Point, Rect};
use crate::model::{ArchGraph, ComponentId, ConnectionId, GroupId};

/// Room around an edge label's text, `(horizontal, vertical)`, so a label
/// never touches the edges beside it.
const LABEL_MARGIN: (f32, f32) = (8.0, 4.0);

/// What a node of the working graph stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// A component.
    Real,
    /// The stand-in box of an empty group.
    Title,
    /// A bend of a long edge.
    Dummy,
    /// Keeps a group present in a layer it has no node in.
    Placeholder,
}

/// The layered working graph: components plus dummy nodes and
/// placeholders, each on one layer, edges only between neighbouring layers.
#[derive(Debug, Default)]
pub(super) struct LGraph {
    pub layer: Vec<usize>,
    /// Size across the layers.
    pub cross: Vec<f32>,
    /// Size along the layers.
    pub main: Vec<f32>,
    pub kind: Vec<Kind>,
    /// The innermost group each node is in.
    pub group: Vec<Option<usize>>,
    /// Neighbours in the layer above, with edge multiplicity.
    pub up: Vec<Vec<(usize, f32)>>,
    /// Neighbours in the layer below, with edge multiplicity.
    pub down: Vec<Vec<(usize, f32)>>,
    pub groups: Groups,
    pub n_layers: usize,
}

/// The group tree in working indices.
#[derive(Debug, Default)]
pub(super) struct Groups {
    pub parent: Vec<Option<usize>>,
    pub children: Vec<Vec<usize>>,
    /// Each group's ancestors and itself, outermost first.
    pub chain: Vec<Vec<usize>>,
}

impl Groups {
    pub(super) fn len(&self) -> usize {
        self.parent.len()
    }
}

impl LGraph {
    pub(super) fn len(&self) -> usize {
        self.layer.len()
    }

    /// The groups a node is in, outermost first.
    pub(super) fn chain(&self, v: usize) -> &[usize] {
        match self.group[v] {
            Some(g) => &self.groups.chain[g],
            None => &[],
        }
    }

    fn push(
        &mut self,
        layer: usize,
        cross: f32,
        main: f32,
        kind: Kind,
        group: Option<usize>,
    ) -> usize {
        self.layer.push(layer);
        self.cross.push(cross);
        self.main.push(main);
        self.kind.push(kind);
        self.group.push(group);
        self.up.push(Vec::new());
        self.down.push(Vec::new());
        self.layer.len() - 1
    }

    fn link(&mut self, upper: usize, lower: usize) {
        self.up[lower].push((upper, 1.0));
        self.down[upper].push((lower, 1.0));
    }
}

/// The group tree of `graph`, guarded against malformed parents (a cycle
/// or a missing parent makes a group top-level), and the innermost group
/// of each component (the first group that lists it).
fn group_tree(graph: &ArchGraph) -> (Vec<GroupId>, Groups, BTreeMap<ComponentId, usize>) {
    let ids: Vec<GroupId> = graph.groups().map(|g| g.id).collect();
    let index: BTreeMap<GroupId, usize> = ids.iter().enumerate().map(|(i, &id)| (id, i)).collect();
    let n = ids.len();
    let mut parent: Vec<Option<usize>> = graph
        .groups()
        .map(|g| g.parent.and_then(|p| index.get(&p).copied()))
        .collect();
    // Break parent cycles: walk up at most n steps.
    for g in 0..n {
        let mut at = parent[g];
        let mut steps = 0;
        while let Some(p) = at {
            if p == g || steps > n {
                parent[g] = None;
                break;
            }
            at = parent[p];
            steps += 1;
        }
    }
    let mut children = vec![Vec::new(); n];
    for (g, p) in parent.iter().enumerate() {
        if let Some(p) = *p {
            children[p].push(g);
        }
    }
    let mut chain = vec![Vec::new(); n];
    for g in 0..n {
        let mut c = vec![g];
        let mut at = parent[g];
        while let Some(p) = at {
            c.push(p);
            at = parent[p];
        }
        c.reverse();
        chain[g] = c;
    }
    let mut member_of = BTreeMap::new();
    for (i, grp) in graph.groups().enumerate() {
        for &m in &grp.members {
            member_of.entry(m).or_insert(i);
        }
    }
    (
        ids,
        Groups {
            parent,
            children,
            chain,
        },
        member_of,
    )
}

/// Lays `graph` out in layers along its direction (Mermaid's `graph TD`,
/// `LR`, …), groups as non-overlapping rectangles around their members,
/// few edge crossings, no overlapping boxes. Deterministic: the same graph
/// and options give the same layout.
pub fn layered(graph: &ArchGraph, opts: &LayoutOptions) -> Layout {
    super::turned::layered_with_turns(graph, opts, 0)
}

/// The layered layout with every subgraph in the graph's direction;
/// components in `fixed` get that `(width, height)` instead of their
/// label's box (the stand-ins of turned subgraphs).
pub(super) fn layered_flat(
    graph: &ArchGraph,
    opts: &LayoutOptions,
    fixed: &BTreeMap<ComponentId, (f32, f32)>,
) -> Layout {
    let frame = Frame::new(graph.meta.direction);
    let (group_ids, groups, member_of) = group_tree(graph);
    let n_groups = group_ids.len();

    // Components, in id order.
    let comps: Vec<(ComponentId, f32, f32, ShapeKind)> = graph
        .components()
        .map(|c| {
            let (w, h) = fixed
                .get(&c.id)
                .copied()
                .unwrap_or_else(|| node_size(c, opts));
            (c.id, w, h, ShapeKind::of(c.shape.as_ref()))
        })
        .collect();
    let comp_index: BTreeMap<ComponentId, usize> =
        comps.iter().enumerate().map(|(i, c)| (c.0, i)).collect();

    // Which groups hold something; empty ones get a title box.
    let mut has_content = vec![false; n_groups];
    for &g in member_of.values() {
        for &a in &groups.chain[g] {
            has_content[a] = true;
        }
    }
    let title_sizes: Vec<(f32, f32)> = graph
        .groups()
        .map(|g| {
            let t = if g.title.is_empty() {
                g.key.as_str()
            } else {
                g.title.as_str()
            };
            let (w, h) = opts.text_size(t);
            (w, h.max(opts.font_size))
        })
        .collect();
    let mut base_nodes: Vec<(f32, f32, Kind, Option<usize>)> = comps
        .iter()
        .map(|&(id, w, h, _)| {
            let (c, m) = frame.sizes(w, h);
            (c, m, Kind::Real, member_of.get(&id).copied())
        })
        .collect();
    for g in 0..n_groups {
        if !has_content[g] {
            let (tw, th) = title_sizes[g];
            let (c, m) = frame.sizes(tw.max(opts.min_node_width), th);
            base_nodes.push((c, m, Kind::Title, Some(g)));
        }
    }
    let n_base = base_nodes.len();

    // Connections between known components; self-loops aside.
    let mut conns: Vec<(ConnectionId, usize, usize, (f32, f32))> = Vec::new();
    let mut loops: Vec<(ConnectionId, usize)> = Vec::new();
    for c in graph.connections() {
        let (Some(&u), Some(&v)) = (comp_index.get(&c.from), comp_index.get(&c.to)) else {
            continue;
        };
        if u == v {
            loops.push((c.id, u));
            continue;
        }
        let label = if c.label.trim().is_empty() {
            (0.0, 0.0)
        } else {
            let (w, h) = opts.text_size(&c.label);
            frame.sizes(w + LABEL_MARGIN.0, h + LABEL_MARGIN.1)
        };
        conns.push((c.id, u, v, label));
    }
    let pairs: Vec<(usize, usize)> = conns.iter().map(|c| (c.1, c.2)).collect();
    let reversed = feedback_edges(n_base, &pairs);
    let dag: Vec<(usize, usize)> = pairs
        .iter()
        .zip(&reversed)
        .map(|(&(u, v), &r)| if r { (v, u) } else { (u, v) })
        .collect();
    // A labelled edge spans at least two layers, so its label gets a
    // dummy node of its own size in the layer between (as dagre does).
    let with_len: Vec<(usize, usize, usize)> = dag
        .iter()
        .zip(&conns)
        .map(|(&(u, v), c)| (u, v, if c.3.0 > 0.0 { 2 } else { 1 }))
        .collect();
    let layer_of = assign_layers(n_base, &with_len);

    let mut g = LGraph {
        groups,
        ..LGraph::default()
    };
    for (i, &(c, m, kind, grp)) in base_nodes.iter().enumerate() {
        g.push(layer_of[i], c, m, kind, grp);
    }
    g.n_layers = layer_of.iter().copied().max().map_or(0, |m| m + 1);

    // Each group's layer span, from its real content.
    let mut span: Vec<Option<(usize, usize)>> = vec![None; n_groups];
    for v in 0..n_base {
        let l = g.layer[v];
        for &a in g.chain(v) {
            span[a] = Some(span[a].map_or((l, l), |(lo, hi)| (lo.min(l), hi.max(l))));
        }
    }

    // Dummy chains, one per connection, upper end first.
    let mut chains: Vec<Vec<usize>> = Vec::with_capacity(dag.len());
    for (i, &(u, v)) in dag.iter().enumerate() {
        let (lu, lv) = (g.layer[u], g.layer[v]);
        let mut chain = vec![u];
        let label = conns[i].3;
        let mid = lu + (lv - lu) / 2;
        for l in lu + 1..lv {
            let owner = dummy_group(&g, u, v, l, &span);
            let (c, m) = if l == mid { label } else { (0.0, 0.0) };
            let d = g.push(l, c, m, Kind::Dummy, owner);
            chain.push(d);
        }
        chain.push(v);
        for w in chain.windows(2) {
            g.link(w[0], w[1]);
        }
        chains.push(chain);
    }

    // Placeholders where a group spans a layer without a node in it.
    let mut present: BTreeSet<(usize, usize)> = BTreeSet::new();
    for v in 0..g.len() {
        let l = g.layer[v];
        for &a in g.chain(v) {
            present.insert((a, l));
        }
    }
    for (grp, span) in span.iter().enumerate() {
        if let Some((lo, hi)) = *span {
            for l in lo..=hi {
                if !present.contains(&(grp, l)) {
                    g.push(l, 0.0, 0.0, Kind::Placeholder, Some(grp));
                    for &a in &g.groups.chain[grp] {
                        present.insert((a, l));
                    }
                }
            }
        }
    }

    let layers = order_layers(&g, opts.crossing_sweeps);

    // Group paddings in the working frame; the title sits at the screen top.
    let pad = opts.group_padding;
    let pads: Vec<GroupPads> = (0..n_groups)
        .map(|grp| {
            let (tw, th) = title_sizes[grp];
            let title = frame.title_sides(th + pad / 2.0);
            GroupPads {
                cross_start: pad + title[0],
                cross_end: pad + title[1],
                main_start: pad + title[2],
                main_end: pad + title[3],
                min_cross: if frame.horizontal() {
                    0.0
                } else {
                    tw + 2.0 * pad
                },
            }
        })
        .collect();
    let across = place_across(&g, &layers, &pads, opts);

    // Along the layers: thickness, then gaps with room for the borders and
    // titles of the groups that end above or start below the gap.
    let n_layers = g.n_layers;
    let mut thick = vec![0f32; n_layers];
    for v in 0..g.len() {
        thick[g.layer[v]] = thick[g.layer[v]].max(g.main[v]);
    }
    let start_ext = border_extents(&g.groups, &span, &pads, true, n_layers);
    let end_ext = border_extents(&g.groups, &span, &pads, false, n_layers);
    let mut centre = vec![0f32; n_layers];
    let mut at = 0.0;
    for l in 0..n_layers {
        if l > 0 {
            at += opts.rank_sep + end_ext[l - 1] + start_ext[l];
        }
        centre[l] = at + thick[l] / 2.0;
        at += thick[l];
    }

    // Working-frame rectangles, then the screen.
    let main_of = |v: usize| centre[g.layer[v]];
    let mut layout = Layout::default();
    let screen_rect = |cross_lo: f32, cross_hi: f32, main_lo: f32, main_hi: f32| {
        let a = frame.to_screen(cross_lo, main_lo);
        let b = frame.to_screen(cross_hi, main_hi);
        Rect {
            min: Point::new(a.x.min(b.x), a.y.min(b.y)),
            max: Point::new(a.x.max(b.x), a.y.max(b.y)),
        }
    };
    for (i, &(id, w, h, _)) in comps.iter().enumerate() {
        let center = frame.to_screen(across.x[i], main_of(i));
        layout.nodes.insert(
            id,
            NodeGeom {
                center,
                width: w,
                height: h,
            },
        );
    }
    // Group extents along the layers, innermost first.
    let mut main_ext: Vec<Option<(f32, f32)>> = vec![None; n_groups];
    for v in 0..n_base {
        if let Some(grp) = g.group[v] {
            let (lo, hi) = (main_of(v) - g.main[v] / 2.0, main_of(v) + g.main[v] / 2.0);
            main_ext[grp] = Some(main_ext[grp].map_or((lo, hi), |(a, b)| (a.min(lo), b.max(hi))));
        }
    }
    let mut by_depth: Vec<usize> = (0..n_groups).collect();
    by_depth.sort_by_key(|&grp| std::cmp::Reverse(g.groups.chain[grp].len()));
    for &grp in &by_depth {
        let Some((lo, hi)) = main_ext[grp] else {
            continue;
        };
        let (lo, hi) = (lo - pads[grp].main_start, hi + pads[grp].main_end);
        main_ext[grp] = Some((lo, hi));
        if let Some(p) = g.groups.parent[grp] {
            main_ext[p] = Some(main_ext[p].map_or((lo, hi), |(a, b)| (a.min(lo), b.max(hi))));
        }
    }
    for grp in 0..n_groups {
        if let Some((lo, hi)) = main_ext[grp] {
            let (cl, ch) = across.group_span[grp];
            layout
                .groups
                .insert(group_ids[grp], screen_rect(cl, ch, lo, hi));
        }
    }

    // Routes.
    let ports = Ports::new(&g, &chains, &across.x);
    let band = |l: usize| (centre[l] - thick[l] / 2.0, centre[l] + thick[l] / 2.0);
    for (i, chain) in chains.iter().enumerate() {
        let (id, u, v, _) = conns[i];
        let (Some(a), Some(b)) = (layout.nodes.get(&comps[u].0), layout.nodes.get(&comps[v].0))
        else {
            continue;
        };
        // Leave through the bottom of the layer band, cross the gap, run
        // straight through the bands of the dummy nodes, enter through the
        // top of the target's band: no segment passes through a box.
        let mut bends: Vec<Point> = Vec::with_capacity(2 * chain.len());
        let last = chain.len() - 1;
        for (k, &d) in chain.iter().enumerate() {
            let (top, bottom) = band(g.layer[d]);
            if k > 0 {
                bends.push(frame.to_screen(across.x[d] + ports.offset(i, k, true), top));
            }
            if k < last {
                bends.push(frame.to_screen(across.x[d] + ports.offset(i, k, false), bottom));
            }
        }
        if reversed[i] {
            bends.reverse();
        }
        let mut route = route_between((comps[u].3, a), &bends, (comps[v].3, b));
        route.dedup_by(|p, q| (p.x - q.x).abs() < 0.5 && (p.y - q.y).abs() < 0.5);
        if route.len() < 2 {
            route = route_between((comps[u].3, a), &[], (comps[v].3, b));
        }
        layout.edges.insert(id, route);
    }
    for &(id, u) in &loops {
        if let Some(r) = layout.nodes.get(&comps[u].0).map(NodeGeom::rect) {
            layout.edges.insert(id, self_loop(&r));
        }
    }
    let bounds = bounds_of(&layout);
    translate(&mut layout, -bounds.min.x, -bounds.min.y);
    layout.bounds = bounds_of(&layout);
    layout
}

/// Where each edge leaves and enters its nodes: a node's edges on one side
/// are spread along that side in the order of their other ends, so
/// arrowheads do not pile up in one point.
struct Ports {
    /// Per connection, per chain position: offset on the lower side
    /// (leaving) and on the upper side (entering).
    out: Vec<Vec<(f32, f32)>>,
}

impl Ports {
    /// Widest spacing between neighbouring ports.
    const STEP: f32 = 14.0;

    fn new(g: &LGraph, chains: &[Vec<usize>], x: &[f32]) -> Self {
        let mut out: Vec<Vec<(f32, f32)>> =
            chains.iter().map(|c| vec![(0.0, 0.0); c.len()]).collect();
        // (node, other end's position, connection, chain index, leaving)
        let mut ends: Vec<(usize, bool, f32, usize, usize)> = Vec::new();
        for (i, chain) in chains.iter().enumerate() {
            for k in 0..chain.len() {
                if k + 1 < chain.len() {
                    ends.push((chain[k], true, x[chain[k + 1]], i, k));
                }
                if k > 0 {
                    ends.push((chain[k], false, x[chain[k - 1]], i, k));
                }
            }
        }
        ends.sort_by(|a, b| {
            (a.0, a.1)
                .cmp(&(b.0, b.1))
                .then(a.2.total_cmp(&b.2))
                .then((a.3, a.4).cmp(&(b.3, b.4)))
        });
        let mut start = 0;
        while start < ends.len() {
            let mut end = start;
            while end < ends.len() && (ends[end].0, ends[end].1) == (ends[start].0, ends[start].1) {
                end += 1;
            }
            let n = end - start;
            let v = ends[start].0;
            if n > 1 && g.kind[v] != Kind::Dummy {
                let step = (g.cross[v] * 0.6 / (n - 1) as f32).min(Self::STEP);
                for (j, e) in ends[start..end].iter().enumerate() {
                    let off = (j as f32 - (n - 1) as f32 / 2.0) * step;
                    let slot = &mut out[e.3][e.4];
                    if e.1 {
                        slot.0 = off;
                    } else {
                        slot.1 = off;
                    }
                }
            }
            start = end;
        }
        Ports { out }
    }

    /// The offset of connection `i` at chain position `k`, entering (upper
    /// side) or leaving (lower side).
    fn offset(&self, i: usize, k: usize, entering: bool) -> f32 {
        self.out[i]
            .get(k)
            .map_or(0.0, |&(leave, enter)| if entering { enter } else { leave })
    }
}

/// The group a dummy node at layer `l` of the edge `u → v` belongs to: the
/// innermost group around `u` that still spans `l`, else the innermost
/// around `v` that already does, else the innermost group around both.
fn dummy_group(
    g: &LGraph,
    u: usize,
    v: usize,
    l: usize,
    span: &[Option<(usize, usize)>],
) -> Option<usize> {
    let (cu, cv) = (g.chain(u), g.chain(v));
    let common = cu.iter().zip(cv).take_while(|(a, b)| a == b).count();
    let lca = if common > 0 {
        Some(cu[common - 1])
    } else {
        None
    };
    for &grp in cu[common..].iter().rev() {
        if span[grp].is_some_and(|(_, hi)| hi >= l) {
            return Some(grp);
        }
    }
    for &grp in cv[common..].iter().rev() {
        if span[grp].is_some_and(|(lo, _)| lo <= l) {
            return Some(grp);
        }
    }
    lca
}

/// For every layer, the room the groups starting (or ending) there need
/// beyond the layer: their padding and title, nested ones stacked.
fn border_extents(
    groups: &Groups,
    span: &[Option<(usize, usize)>],
    pads: &[GroupPads],
    start: bool,
    n_layers: usize,
) -> Vec<f32> {
    fn ext(
        grp: usize,
        groups: &Groups,
        span: &[Option<(usize, usize)>],
        pads: &[GroupPads],
        start: bool,
    ) -> f32 {
        let Some((lo, hi)) = span[grp] else {
            return 0.0;
        };
        let edge = if start { lo } else { hi };
        let inner = groups.children[grp]
            .iter()
            .filter(|&&c| {
                span[c].is_some_and(|(clo, chi)| if start { clo == edge } else { chi == edge })
            })
            .map(|&c| ext(c, groups, span, pads, start))
            .fold(0.0, f32::max);
        inner
            + if start {
                pads[grp].main_start
            } else {
                pads[grp].main_end
            }
    }
    let mut out = vec![0f32; n_layers];
    for grp in 0..groups.len() {
        if let Some((lo, hi)) = span[grp] {
            let l = if start { lo } else { hi };
            out[l] = out[l].max(ext(grp, groups, span, pads, start));
        }
    }
    out
}
