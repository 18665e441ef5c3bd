//! A layout that keeps the user's positions: saved centres stay exactly
//! where they are; components without one are put where the layered layout
//! would put them relative to their placed neighbours (then nudged off any
//! box they would cover); groups enclose their members.
//!
//! Edges follow the layered layout's routes (through its dummy nodes, so
//! a long edge bends around the layers between its ends) adapted to where
//! the user put the nodes: the bends move with the two ends, rigidly when
//! both ends moved alike, stretched between them otherwise. When an
//! adapted route would cross more boxes than a straight line between the
//! ends, or the ends sit where the bends no longer lead away from them,
//! the edge is straight. A route that still runs through a box gets its
//! middle moved sideways (across the flow) by the smallest shift that
//! avoids it.

use std::collections::BTreeMap;

use super::geom::{border_point, bounds_of, route_between, self_loop};
use super::shape::ShapeKind;
use super::size::{LayoutOptions, node_size};
use super::{Layout, NodeGeom, Point, Rect, layered};
use crate::mermaid::Direction;
use crate::model::{ArchGraph, ComponentId, GroupId};

/// How many times a new node is nudged before it is left where it is.
const MAX_NUDGES: usize = 200;

/// Above this many connections, [`with_positions`] draws straight edges
/// instead of computing the layered layout to route them.
pub const ROUTED_EDGES_LIMIT: usize = 2000;

/// A layout with the saved centres in `positions` (by component key, the
/// Mermaid id) kept exactly; components without a saved centre are placed
/// next to their neighbours as the layered layout would arrange them, off
/// any other box. Edges follow the layered layout's routes adapted to the
/// saved centres (straight where that does not fit, see the module doc,
/// and for diagrams of more than [`ROUTED_EDGES_LIMIT`] connections);
/// groups are the box around their members and nested groups, with
/// padding and room for the title. Positions of unknown keys are ignored.
pub fn with_positions(
    graph: &ArchGraph,
    positions: &BTreeMap<String, Point>,
    opts: &LayoutOptions,
) -> Layout {
    let missing = graph.components().any(|c| !positions.contains_key(&c.key));
    let guide =
        (missing || graph.connection_count() <= ROUTED_EDGES_LIMIT).then(|| layered(graph, opts));
    with_positions_guided(graph, positions, guide.as_ref(), opts)
}

/// [`with_positions`] with the layered layout of `graph` given (`guide`,
/// as [`layered`] computed it), so a caller that moves nodes often can
/// compute it once per change of the diagram. Without a guide, edges are
/// straight (and components without a position get one from a layered
/// layout computed here).
pub fn with_positions_guided(
    graph: &ArchGraph,
    positions: &BTreeMap<String, Point>,
    guide: Option<&Layout>,
    opts: &LayoutOptions,
) -> Layout {
    let mut layout = Layout::default();
    let mut missing: Vec<ComponentId> = Vec::new();
    for c in graph.components() {
        let (width, height) = node_size(c, opts);
        match positions
            .get(&c.key)
            .filter(|p| p.x.is_finite() && p.y.is_finite())
        {
            Some(&center) => {
                layout.nodes.insert(
                    c.id,
                    NodeGeom {
                        center,
                        width,
                        height,
                    },
                );
            }
            None => missing.push(c.id),
        }
    }
    if !missing.is_empty() {
        let own;
        let g = match guide {
            Some(g) => g,
            None => {
                own = layered(graph, opts);
                &own
            }
        };
        place_missing(graph, &mut layout, &missing, opts, g);
    }
    route(graph, &mut layout, guide);
    enclose_groups(graph, &mut layout, opts);
    layout.bounds = bounds_of(&layout);
    layout
}

/// Places the components in `missing` using the layered layout as a guide.
fn place_missing(
    graph: &ArchGraph,
    layout: &mut Layout,
    missing: &[ComponentId],
    opts: &LayoutOptions,
    guide: &Layout,
) {
    let placed_before = layout.nodes.len();
    let mut taken = Grid::default();
    for n in layout.nodes.values() {
        taken.insert(n.rect());
    }
    // The shift from guide to saved coordinates, averaged over saved nodes.
    let (mut sx, mut sy, mut n) = (0.0, 0.0, 0.0);
    for (id, geom) in &layout.nodes {
        if let Some(g) = guide.nodes.get(id) {
            sx += geom.center.x - g.center.x;
            sy += geom.center.y - g.center.y;
            n += 1.0;
        }
    }
    let global = if n > 0.0 {
        Point::new(sx / n, sy / n)
    } else {
        Point::default()
    };
    let step = if matches!(graph.meta.direction, Direction::LR | Direction::RL) {
        Point::new(0.0, opts.node_sep / 2.0)
    } else {
        Point::new(opts.node_sep / 2.0, 0.0)
    };
    for &id in missing {
        let Some(g) = guide.nodes.get(&id).copied() else {
            continue;
        };
        // Keep the guide's offset to each neighbour already placed.
        let (mut sx, mut sy, mut k) = (0.0, 0.0, 0.0);
        for other in graph.downstream(id).into_iter().chain(graph.upstream(id)) {
            if let (Some(placed), Some(guide_other)) =
                (layout.nodes.get(&other), guide.nodes.get(&other))
            {
                sx += placed.center.x + (g.center.x - guide_other.center.x);
                sy += placed.center.y + (g.center.y - guide_other.center.y);
                k += 1.0;
            }
        }
        let mut center = if k > 0.0 {
            Point::new(sx / k, sy / k)
        } else {
            Point::new(g.center.x + global.x, g.center.y + global.y)
        };
        if placed_before > 0 {
            let probe =
                |c: Point| Rect::from_center_size(c, g.width, g.height).expand(opts.node_sep / 4.0);
            let mut tries = 0;
            while tries < MAX_NUDGES && taken.overlaps(&probe(center)) {
                center = Point::new(center.x + step.x, center.y + step.y);
                tries += 1;
            }
        }
        let geom = NodeGeom { center, ..g };
        taken.insert(geom.rect());
        layout.nodes.insert(id, geom);
    }
}

/// Boxes bucketed by a coarse grid, so a new node's overlap test looks at
/// its neighbourhood only.
#[derive(Default)]
struct Grid {
    cells: BTreeMap<(i64, i64), Vec<Rect>>,
    /// Boxes too large (or too far out) to bucket, tested every time.
    huge: Vec<Rect>,
}

impl Grid {
    const CELL: f32 = 256.0;
    const MAX_CELLS: i64 = 4096;

    fn span(r: &Rect) -> Option<(i64, i64, i64, i64)> {
        // Float-to-int casts saturate, so far-out boxes cannot overflow.
        let cell = |v: f32| (v / Self::CELL).floor() as i64;
        let (x0, y0, x1, y1) = (cell(r.min.x), cell(r.min.y), cell(r.max.x), cell(r.max.y));
        let count = x1
            .saturating_sub(x0)
            .saturating_add(1)
            .saturating_mul(y1.saturating_sub(y0).saturating_add(1));
        (r.min.x.is_finite() && r.max.y.is_finite() && count <= Self::MAX_CELLS)
            .then_some((x0, y0, x1, y1))
    }

    fn insert(&mut self, r: Rect) {
        match Self::span(&r) {
            Some((x0, y0, x1, y1)) => {
                for x in x0..=x1 {
                    for y in y0..=y1 {
                        self.cells.entry((x, y)).or_default().push(r);
                    }
                }
            }
            None => self.huge.push(r),
        }
    }

    /// Calls `f` with every box in the cells `r` covers (a box may come
    /// more than once).
    fn each_near(&self, r: &Rect, mut f: impl FnMut(&Rect)) {
        self.huge.iter().for_each(&mut f);
        match Self::span(r) {
            Some((x0, y0, x1, y1)) => {
                for x in x0..=x1 {
                    for y in y0..=y1 {
                        if let Some(c) = self.cells.get(&(x, y)) {
                            c.iter().for_each(&mut f);
                        }
                    }
                }
            }
            None => self.cells.values().flatten().for_each(f),
        }
    }

    fn overlaps(&self, r: &Rect) -> bool {
        if self.huge.iter().any(|h| h.overlaps(r)) {
            return true;
        }
        match Self::span(r) {
            Some((x0, y0, x1, y1)) => (x0..=x1).any(|x| {
                (y0..=y1).any(|y| {
                    self.cells
                        .get(&(x, y))
                        .is_some_and(|c| c.iter().any(|o| o.overlaps(r)))
                })
            }),
            None => self.cells.values().flatten().any(|o| o.overlaps(r)),
        }
    }
}

/// Every connection's route: the guide's, adapted to the nodes as placed,
/// or straight between the box borders; self-connections get a loop.
fn route(graph: &ArchGraph, layout: &mut Layout, guide: Option<&Layout>) {
    let mut boxes = Grid::default();
    for n in layout.nodes.values() {
        // Shrunk a little: a route may graze a box's edge.
        boxes.insert(n.rect().expand(-2.0));
    }
    let kind = |id| ShapeKind::of(graph.component(id).and_then(|c| c.shape.as_ref()));
    // The unit vector across the flow, along which detours shift.
    let across = if matches!(graph.meta.direction, Direction::LR | Direction::RL) {
        Point::new(0.0, 1.0)
    } else {
        Point::new(1.0, 0.0)
    };
    let mut routes = Vec::with_capacity(graph.connection_count());
    for c in graph.connections() {
        let (Some(a), Some(b)) = (layout.nodes.get(&c.from), layout.nodes.get(&c.to)) else {
            continue;
        };
        if c.from == c.to {
            routes.push((c.id, self_loop(&a.rect())));
            continue;
        }
        let straight = vec![
            border_point(kind(c.from), a, b.center),
            border_point(kind(c.to), b, a.center),
        ];
        let bent = guide.and_then(|g| {
            if let Some(r) = moved_rigidly(g, c.id, (c.from, a), (c.to, b)) {
                return Some(r);
            }
            let bends = adapted_bends(g, c.id, (c.from, a), (c.to, b))?;
            Some(route_between((kind(c.from), a), &bends, (kind(c.to), b)))
        });
        let straight_hits = crossings(&boxes, &straight, a, b);
        let (chosen, hits) = match bent {
            Some(r) => {
                let h = crossings(&boxes, &r, a, b);
                if h <= straight_hits {
                    (r, h)
                } else {
                    (straight, straight_hits)
                }
            }
            None => (straight, straight_hits),
        };
        let chosen = if hits > 0 {
            detour(
                &boxes,
                &chosen,
                hits,
                across,
                (kind(c.from), a),
                (kind(c.to), b),
            )
        } else {
            chosen
        };
        routes.push((c.id, chosen));
    }
    layout.edges.extend(routes);
}

/// Sideways shifts tried when a route runs through a box, smallest first.
const DETOURS: [f32; 12] = [
    30.0, -30.0, 60.0, -60.0, 100.0, -100.0, 150.0, -150.0, 220.0, -220.0, 320.0, -320.0,
];

/// `route` (crossing `hits` boxes) with its middle moved sideways, across
/// the flow, by the smallest shift that crosses fewer boxes; the route
/// itself when no shift does better. A straight route gets two bends, a
/// third and two thirds of the way, to move.
fn detour(
    boxes: &Grid,
    route: &[Point],
    hits: usize,
    across: Point,
    a: (ShapeKind, &NodeGeom),
    b: (ShapeKind, &NodeGeom),
) -> Vec<Point> {
    let n = route.len();
    let bends: Vec<Point> = if n > 2 {
        route[1..n - 1].to_vec()
    } else {
        let (p, q) = (a.1.center, b.1.center);
        [1.0 / 3.0, 2.0 / 3.0]
            .iter()
            .map(|t| Point::new(p.x + (q.x - p.x) * t, p.y + (q.y - p.y) * t))
            .collect()
    };
    let mut best = (hits, route.to_vec());
    for d in DETOURS {
        let moved: Vec<Point> = bends
            .iter()
            .map(|p| Point::new(p.x + across.x * d, p.y + across.y * d))
            .collect();
        if moved
            .iter()
            .any(|p| a.1.rect().contains(*p) || b.1.rect().contains(*p))
        {
            continue;
        }
        let r = route_between(a, &moved, b);
        let h = crossings(boxes, &r, a.1, b.1);
        if h < best.0 {
            best = (h, r);
            if h == 0 {
                break;
            }
        }
    }
    best.1
}

/// The guide's whole route for connection `id` (ports and bends), moved
/// by its ends' common displacement, when both ends moved alike (the
/// nodes sit where the layered layout put them, up to a shift).
fn moved_rigidly(
    guide: &Layout,
    id: crate::model::ConnectionId,
    (from, a): (ComponentId, &NodeGeom),
    (to, b): (ComponentId, &NodeGeom),
) -> Option<Vec<Point>> {
    let r = guide.edges.get(&id).filter(|r| r.len() >= 2)?;
    let (ga, gb) = (guide.nodes.get(&from)?, guide.nodes.get(&to)?);
    let same = |n: &NodeGeom, g: &NodeGeom| {
        (n.width - g.width).abs() < 0.5 && (n.height - g.height).abs() < 0.5
    };
    let (dx, dy) = (a.center.x - ga.center.x, a.center.y - ga.center.y);
    let rigid = (b.center.x - gb.center.x - dx).abs() < 0.5
        && (b.center.y - gb.center.y - dy).abs() < 0.5
        && same(a, ga)
        && same(b, gb);
    rigid.then(|| r.iter().map(|p| Point::new(p.x + dx, p.y + dy)).collect())
}

/// The guide's bends for connection `id`, moved with its ends: each bend
/// by the two ends' displacements blended by how far along the route it
/// lies. `None` when the guide has no bends for it, or when the first or
/// last bend would sit inside (or behind) the end it should lead away from.
fn adapted_bends(
    guide: &Layout,
    id: crate::model::ConnectionId,
    (from, a): (ComponentId, &NodeGeom),
    (to, b): (ComponentId, &NodeGeom),
) -> Option<Vec<Point>> {
    let r = guide.edges.get(&id).filter(|r| r.len() > 2)?;
    let (ga, gb) = (guide.nodes.get(&from)?, guide.nodes.get(&to)?);
    let da = Point::new(a.center.x - ga.center.x, a.center.y - ga.center.y);
    let db = Point::new(b.center.x - gb.center.x, b.center.y - gb.center.y);
    let len = |p: &Point, q: &Point| ((q.x - p.x).powi(2) + (q.y - p.y).powi(2)).sqrt();
    let total: f32 = r.windows(2).map(|w| len(&w[0], &w[1])).sum();
    if total.is_nan() || total <= 0.0 {
        return None;
    }
    let mut along = 0.0;
    let mut bends = Vec::with_capacity(r.len() - 2);
    for w in r.windows(2).take(r.len() - 2) {
        along += len(&w[0], &w[1]);
        let t = along / total;
        let p = w[1];
        bends.push(Point::new(
            p.x + da.x * (1.0 - t) + db.x * t,
            p.y + da.y * (1.0 - t) + db.y * t,
        ));
    }
    let rigid = (da.x - db.x).abs() < 0.5 && (da.y - db.y).abs() < 0.5;
    if !rigid {
        // The first bend must lie beyond the source's box on the side the
        // guide left it, and likewise at the target.
        let leads_away = |node: &NodeGeom, g: &NodeGeom, bend: Point, orig: Point| {
            let (ox, oy) = (orig.x - g.center.x, orig.y - g.center.y);
            let (nx, ny) = (bend.x - node.center.x, bend.y - node.center.y);
            let rect = node.rect();
            ox * nx + oy * ny > 0.0 && !rect.contains(bend)
        };
        let (first, last) = (*bends.first()?, *bends.last()?);
        if !leads_away(a, ga, first, r[1]) || !leads_away(b, gb, last, r[r.len() - 2]) {
            return None;
        }
    }
    Some(bends)
}

/// How many boxes, other than its two ends, the route's segments cross.
fn crossings(boxes: &Grid, route: &[Point], a: &NodeGeom, b: &NodeGeom) -> usize {
    let ends = [a.rect().expand(-2.0), b.rect().expand(-2.0)];
    let mut hit: Vec<Rect> = Vec::new();
    for w in route.windows(2) {
        let seg = Rect {
            min: Point::new(w[0].x.min(w[1].x), w[0].y.min(w[1].y)),
            max: Point::new(w[0].x.max(w[1].x), w[0].y.max(w[1].y)),
        };
        boxes.each_near(&seg, |r| {
            if !ends.contains(r) && !hit.contains(r) && segment_hits(w[0], w[1], r) {
                hit.push(*r);
            }
        });
    }
    hit.len()
}

/// Whether the segment `p`–`q` passes through the inside of `r`
/// (Liang–Barsky clipping).
fn segment_hits(p: Point, q: Point, r: &Rect) -> bool {
    let (dx, dy) = (q.x - p.x, q.y - p.y);
    let (mut t0, mut t1) = (0.0f32, 1.0f32);
    for (den, num) in [
        (-dx, p.x - r.min.x),
        (dx, r.max.x - p.x),
        (-dy, p.y - r.min.y),
        (dy, r.max.y - p.y),
    ] {
        if den == 0.0 {
            if num < 0.0 {
                return false;
            }
            continue;
        }
        let t = num / den;
        if den < 0.0 {
            t0 = t0.max(t);
        } else {
            t1 = t1.min(t);
        }
        if t0 > t1 {
            return false;
        }
    }
    t0 < t1
}

/// Each group's rectangle: its members and nested groups, padded, with the
/// title's height on top and at least the title's width. Innermost first.
fn enclose_groups(graph: &ArchGraph, layout: &mut Layout, opts: &LayoutOptions) {
    let pad = opts.group_padding;
    let mut order: Vec<(usize, GroupId)> =
        graph.groups().map(|g| (depth(graph, g.id), g.id)).collect();
    order.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, id) in order {
        let Some(group) = graph.group(id) else {
            continue;
        };
        let title = if group.title.is_empty() {
            &group.key
        } else {
            &group.title
        };
        let (tw, th) = opts.text_size(title);
        let th = th.max(opts.font_size);
        let mut acc: Option<Rect> = None;
        let parts = group
            .members
            .iter()
            .filter_map(|m| layout.nodes.get(m).map(NodeGeom::rect))
            .chain(
                group
                    .groups
                    .iter()
                    .filter_map(|g| layout.groups.get(g).copied()),
            );
        for r in parts {
            acc = Some(acc.map_or(r, |a| a.union(&r)));
        }
        let mut rect = match acc {
            Some(r) => r.expand(pad),
            // An empty group: a title-sized box at the origin of its parent's space.
            None => Rect::from_center_size(Point::default(), tw + 2.0 * pad, th + 2.0 * pad),
        };
        rect.min.y -= th + pad / 2.0;
        let short = tw + 2.0 * pad - rect.width();
        if short > 0.0 {
            rect.min.x -= short / 2.0;
            rect.max.x += short / 2.0;
        }
        layout.groups.insert(id, rect);
    }
}

fn depth(graph: &ArchGraph, id: GroupId) -> usize {
    let limit = graph.groups().count();
    let mut d = 0;
    let mut at = graph.group(id).and_then(|g| g.parent);
    while let Some(p) = at {
        d += 1;
        if d > limit {
            break;
        }
        at = graph.group(p).and_then(|g| g.parent);
    }
    d
}
