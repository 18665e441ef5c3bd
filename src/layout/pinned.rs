//! A layout that keeps the user's positions: saved centres stay exactly
//! where they are; components without one are put where the layered layout
//! would put them relative to their placed neighbours (then nudged off any
//! box they would cover); edges are straight between box borders and
//! groups enclose their members.

use std::collections::BTreeMap;

use super::geom::{border_point, bounds_of, self_loop};
use super::shape::ShapeKind;
use super::size::{LayoutOptions, node_size};
use super::{Layout, NodeGeom, Point, Rect, layered};
use crate::mermaid::Direction;
use crate::model::{ArchGraph, ComponentId, GroupId};

/// How many times a new node is nudged before it is left where it is.
const MAX_NUDGES: usize = 200;

/// A layout with the saved centres in `positions` (by component key, the
/// Mermaid id) kept exactly; components without a saved centre are placed
/// next to their neighbours as the layered layout would arrange them, off
/// any other box. Edges are straight lines between box borders; groups are
/// the box around their members and nested groups, with padding and room
/// for the title. Positions of unknown keys are ignored.
pub fn with_positions(
    graph: &ArchGraph,
    positions: &BTreeMap<String, Point>,
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
        place_missing(graph, &mut layout, &missing, opts);
    }
    route_straight(graph, &mut layout);
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
) {
    let guide = layered(graph, opts);
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

/// Straight routes between box borders; self-connections get a loop.
fn route_straight(graph: &ArchGraph, layout: &mut Layout) {
    for c in graph.connections() {
        let (Some(a), Some(b)) = (layout.nodes.get(&c.from), layout.nodes.get(&c.to)) else {
            continue;
        };
        let route = if c.from == c.to {
            self_loop(&a.rect())
        } else {
            let kind = |id| ShapeKind::of(graph.component(id).and_then(|c| c.shape.as_ref()));
            vec![
                border_point(kind(c.from), a, b.center),
                border_point(kind(c.to), b, a.center),
            ]
        };
        layout.edges.insert(c.id, route);
    }
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
