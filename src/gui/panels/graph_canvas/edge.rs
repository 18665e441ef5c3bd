//! How one connection is drawn on the egui_graphs canvas: [`EdgeShape`], the
//! [`DisplayEdge`] that draws the line (normal, thick, dotted, invisible),
//! through the route's bends when it has them, between the two nodes'
//! outlines, with Mermaid's end markers (arrow, circle, cross) at either end.
//! Labels are drawn by the canvas over the nodes, as Mermaid does.
//!
//! Reads only the edge's payload ([`EdgeData`]) and the two nodes' shapes.

use super::node::{NodePayload, NodeShape, View, point, pos};
use crate::layout::shape::boundary_point;
use crate::mermaid::{Arrow, Stroke as LineStroke};
use crate::model::ConnectionId;
use egui::{Color32, Pos2, Rect, Shape, Stroke, Vec2};
use egui_graphs::{DisplayEdge, DrawContext, EdgeProps, Node};
use petgraph::EdgeType;
use petgraph::stable_graph::IndexType;
use std::sync::Arc;

/// What the canvas knows about a connection, rebuilt when it or the theme
/// changes.
#[derive(Debug, Clone, PartialEq)]
pub struct EdgeData {
    /// The connection.
    pub id: ConnectionId,
    /// Line style.
    pub stroke: LineStroke,
    /// Marker at the source.
    pub arrow_start: Arrow,
    /// Marker at the target.
    pub arrow_end: Arrow,
    /// Label (drawn by the canvas).
    pub label: String,
    /// Line colour.
    pub color: Color32,
    /// Line colour when selected.
    pub selection: Color32,
    /// Line width at zoom 1.
    pub width: f32,
    /// Arrowhead size at zoom 1.
    pub arrow_size: f32,
}

/// The drawn state of one connection.
#[derive(Debug, Clone)]
pub struct EdgeShape {
    /// The connection's data.
    pub data: Arc<EdgeData>,
    /// Drawn in the selection colour and on top.
    pub selected: bool,
    /// How far from the line (layout units) a click still hits it; the
    /// canvas sets it from the zoom every frame.
    pub hit_tolerance: f32,
    /// Bends of the layout's route between the two ends, in layout space
    /// (empty: a straight line between the outlines); the canvas sets them
    /// from the document's routes.
    pub bends: Vec<Pos2>,
}

impl From<EdgeProps<Arc<EdgeData>>> for EdgeShape {
    fn from(props: EdgeProps<Arc<EdgeData>>) -> Self {
        EdgeShape {
            data: props.payload,
            selected: props.selected,
            hit_tolerance: 6.0,
            bends: Vec::new(),
        }
    }
}

/// Radius of a self-loop at zoom 1.
const LOOP_RADIUS: f32 = 12.0;

impl EdgeShape {
    /// The line from outline to outline, through the bends (layout space);
    /// `None` for a self-loop.
    pub fn path(&self, a: &NodeShape, b: &NodeShape, self_loop: bool) -> Option<Vec<Pos2>> {
        if self_loop {
            return None;
        }
        let bends = &self.bends;
        let first = bends.first().copied().unwrap_or(b.center);
        let last = bends.last().copied().unwrap_or(a.center);
        let p = pos(boundary_point(&a.geometry.outline, point(first)));
        let q = pos(boundary_point(&b.geometry.outline, point(last)));
        let mut path = Vec::with_capacity(bends.len() + 2);
        path.push(p);
        path.extend(bends.iter().copied());
        path.push(q);
        Some(path)
    }

    /// Where the label goes (layout space): the middle of the line.
    pub fn label_anchor(&self, a: &NodeShape, b: &NodeShape, self_loop: bool) -> Pos2 {
        match self.path(a, b, self_loop) {
            Some(path) => {
                let mid = path.len() / 2;
                if path.len() % 2 == 0 {
                    path[mid - 1] + (path[mid] - path[mid - 1]) * 0.5
                } else {
                    path[mid]
                }
            }
            None => Pos2::new(a.rect().max.x, a.rect().min.y - LOOP_RADIUS),
        }
    }

    /// The edge's shapes on the screen (nothing when off-screen).
    pub fn paint(
        &self,
        a: &NodeShape,
        b: &NodeShape,
        self_loop: bool,
        ctx: &DrawContext,
    ) -> Vec<Shape> {
        let t = View::of(ctx);
        let d = &self.data;
        let color = if self.selected { d.selection } else { d.color };
        let width = d.width * t.zoom.clamp(0.5, 2.0);
        let stroke = Stroke::new(width, color);
        let clip = ctx.painter.clip_rect();
        // Cull before computing where the line meets the outlines.
        let reach = self.bends.iter().fold(a.rect().union(b.rect()), |r, p| {
            r.union(Rect::from_min_max(*p, *p))
        });
        if !clip.intersects(t.rect(reach).expand(d.arrow_size * 2.0 + 16.0)) {
            return Vec::new();
        }
        let Some(path) = self.path(a, b, self_loop) else {
            let corner = t.pos(Pos2::new(a.rect().max.x, a.rect().min.y));
            let r = LOOP_RADIUS * t.zoom;
            if !clip.intersects(Rect::from_center_size(corner, Vec2::splat(2.0 * r))) {
                return Vec::new();
            }
            return vec![Shape::circle_stroke(corner, r, stroke)];
        };
        let screen: Vec<Pos2> = path.iter().map(|p| t.pos(*p)).collect();
        let bounds = Rect::from_points(&screen).expand(d.arrow_size * 2.0);
        if !clip.intersects(bounds) {
            return Vec::new();
        }
        let mut out = Vec::with_capacity(4);
        let size = d.arrow_size * t.zoom.clamp(0.4, 2.0);
        let n = screen.len();
        let dir_start = (screen[0] - screen[1]).normalized();
        let dir_end = (screen[n - 1] - screen[n - 2]).normalized();
        // Stop the line short of a marker so the tip stays sharp.
        let inset = |arrow: Arrow| {
            if arrow == Arrow::None {
                0.0
            } else {
                size * 0.8
            }
        };
        let mut line = screen.clone();
        line[0] -= dir_start * inset(d.arrow_start);
        line[n - 1] -= dir_end * inset(d.arrow_end);
        match d.stroke {
            LineStroke::Dotted => out.extend(Shape::dashed_line(&line, stroke, 3.0, 4.0)),
            LineStroke::Invisible => {
                if self.selected {
                    out.extend(Shape::dashed_line(&line, Stroke::new(1.0, color), 2.0, 6.0));
                }
                return out;
            }
            _ => out.push(Shape::line(line, stroke)),
        }
        marker(
            &mut out,
            d.arrow_end,
            screen[n - 1],
            dir_end,
            size,
            color,
            width,
        );
        marker(
            &mut out,
            d.arrow_start,
            screen[0],
            dir_start,
            size,
            color,
            width,
        );
        out
    }

    /// Whether `p` (layout space) is on the line.
    pub fn hit(&self, a: &NodeShape, b: &NodeShape, self_loop: bool, p: Pos2) -> bool {
        match self.path(a, b, self_loop) {
            Some(path) => path
                .windows(2)
                .any(|w| distance_to_segment(p, w[0], w[1]) <= self.hit_tolerance),
            None => {
                let corner = Pos2::new(a.rect().max.x, a.rect().min.y);
                (p.distance(corner) - LOOP_RADIUS).abs() <= self.hit_tolerance
            }
        }
    }
}

impl<Ty, Ix> DisplayEdge<NodePayload, Arc<EdgeData>, Ty, Ix, NodeShape> for EdgeShape
where
    Ty: EdgeType,
    Ix: IndexType,
{
    fn shapes(
        &mut self,
        start: &Node<NodePayload, Arc<EdgeData>, Ty, Ix, NodeShape>,
        end: &Node<NodePayload, Arc<EdgeData>, Ty, Ix, NodeShape>,
        ctx: &DrawContext,
    ) -> Vec<Shape> {
        self.paint(start.display(), end.display(), start.id() == end.id(), ctx)
    }

    fn update(&mut self, props: &EdgeProps<Arc<EdgeData>>) {
        self.selected = props.selected;
        if !Arc::ptr_eq(&self.data, &props.payload) {
            self.data = props.payload.clone();
        }
    }

    fn is_inside(
        &self,
        start: &Node<NodePayload, Arc<EdgeData>, Ty, Ix, NodeShape>,
        end: &Node<NodePayload, Arc<EdgeData>, Ty, Ix, NodeShape>,
        pos: Pos2,
    ) -> bool {
        self.hit(start.display(), end.display(), start.id() == end.id(), pos)
    }
}

/// Appends an end marker whose tip is at `tip`, the edge arriving along `dir`.
pub fn marker(
    out: &mut Vec<Shape>,
    arrow: Arrow,
    tip: Pos2,
    dir: Vec2,
    size: f32,
    color: Color32,
    width: f32,
) {
    let normal = dir.rot90();
    match arrow {
        Arrow::None => {}
        Arrow::Arrow => {
            let back = tip - dir * size;
            out.push(Shape::convex_polygon(
                vec![tip, back + normal * size * 0.5, back - normal * size * 0.5],
                color,
                Stroke::NONE,
            ));
        }
        Arrow::Circle => out.push(Shape::circle_filled(
            tip - dir * size * 0.4,
            size * 0.4,
            color,
        )),
        Arrow::Cross => {
            let c = tip - dir * size * 0.5;
            let a = (dir + normal) * size * 0.35;
            let b = (dir - normal) * size * 0.35;
            let s = Stroke::new(width.max(1.5), color);
            out.push(Shape::line_segment([c - a, c + a], s));
            out.push(Shape::line_segment([c - b, c + b], s));
        }
    }
}

/// Distance from `p` to the segment `a`–`b`.
pub fn distance_to_segment(p: Pos2, a: Pos2, b: Pos2) -> f32 {
    let ab = b - a;
    let len2 = ab.length_sq();
    if len2 < 1e-6 {
        return p.distance(a);
    }
    let t = ((p - a).dot(ab) / len2).clamp(0.0, 1.0);
    p.distance(a + ab * t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_is_to_the_nearest_point_of_the_segment() {
        let (a, b) = (Pos2::ZERO, Pos2::new(10.0, 0.0));
        assert_eq!(distance_to_segment(Pos2::new(5.0, 3.0), a, b), 3.0);
        assert_eq!(distance_to_segment(Pos2::new(14.0, 3.0), a, b), 5.0);
        assert_eq!(distance_to_segment(Pos2::new(-3.0, 0.0), a, a), 3.0);
    }
}
