//! Small geometry shared by the layouts: the flow frame (layouts are
//! computed top-down and turned for LR/BT/RL), clipping a route to a box,
//! and the enclosing box of a layout.

use super::shape::{ShapeKind, boundary_point};
use super::{Layout, NodeGeom, Point, Rect};
use crate::mermaid::Direction;

/// Maps the top-down working frame (`cross` across layers, `main` along
/// them, growing in the flow direction) onto the screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Frame(Direction);

impl Frame {
    pub(crate) fn new(direction: Direction) -> Self {
        Frame(direction)
    }

    /// Whether layers run left-right, so a node's cross size is its height.
    pub(crate) fn horizontal(self) -> bool {
        matches!(self.0, Direction::LR | Direction::RL)
    }

    /// The screen point of the working-frame point `(cross, main)`.
    pub(crate) fn to_screen(self, cross: f32, main: f32) -> Point {
        match self.0 {
            Direction::TB | Direction::TD => Point::new(cross, main),
            Direction::BT => Point::new(cross, -main),
            Direction::LR => Point::new(main, cross),
            Direction::RL => Point::new(-main, cross),
        }
    }

    /// `(cross, main)` sizes of a screen `(width, height)` box.
    pub(crate) fn sizes(self, width: f32, height: f32) -> (f32, f32) {
        if self.horizontal() {
            (height, width)
        } else {
            (width, height)
        }
    }

    /// Which sides of a group hold the title (the screen top), as extra
    /// `(cross_start, cross_end, main_start, main_end)` room.
    pub(crate) fn title_sides(self, title: f32) -> [f32; 4] {
        match self.0 {
            Direction::TB | Direction::TD => [0.0, 0.0, title, 0.0],
            Direction::BT => [0.0, 0.0, 0.0, title],
            Direction::LR | Direction::RL => [title, 0.0, 0.0, 0.0],
        }
    }
}

/// Where the segment from the centre of `rect` towards `toward` leaves the
/// rectangle; the centre itself when `toward` is inside.
pub(crate) fn clip_to_box(rect: &Rect, toward: Point) -> Point {
    let c = rect.center();
    let (dx, dy) = (toward.x - c.x, toward.y - c.y);
    let (hw, hh) = (rect.width() / 2.0, rect.height() / 2.0);
    if dx.abs() * hh <= f32::EPSILON && dy.abs() * hw <= f32::EPSILON {
        return c;
    }
    // The smaller of the scale factors that reach a vertical or horizontal side.
    let tx = if dx.abs() > f32::EPSILON {
        hw / dx.abs()
    } else {
        f32::INFINITY
    };
    let ty = if dy.abs() > f32::EPSILON {
        hh / dy.abs()
    } else {
        f32::INFINITY
    };
    let t = tx.min(ty);
    if t >= 1.0 {
        return c;
    }
    Point::new(c.x + dx * t, c.y + dy * t)
}

/// Where the line from the node's centre towards `toward` leaves its
/// shape's outline (a box's border when the outline gives no answer).
pub(crate) fn border_point(kind: ShapeKind, node: &NodeGeom, toward: Point) -> Point {
    let p = boundary_point(&kind.geometry(node).outline, toward);
    if p.x.is_finite() && p.y.is_finite() {
        p
    } else {
        clip_to_box(&node.rect(), toward)
    }
}

/// A route from node `a` through `bends` to node `b`, its ends on the
/// nodes' outlines.
pub(crate) fn route_between(
    a: (ShapeKind, &NodeGeom),
    bends: &[Point],
    b: (ShapeKind, &NodeGeom),
) -> Vec<Point> {
    let first_toward = bends.first().copied().unwrap_or(b.1.center);
    let last_from = bends.last().copied().unwrap_or(a.1.center);
    let mut route = Vec::with_capacity(bends.len() + 2);
    route.push(border_point(a.0, a.1, first_toward));
    route.extend_from_slice(bends);
    route.push(border_point(b.0, b.1, last_from));
    route
}

/// A small loop on the right-hand side of a box, for a self-connection.
pub(crate) fn self_loop(rect: &Rect) -> Vec<Point> {
    let c = rect.center();
    let x = rect.max.x;
    let dy = (rect.height() / 4.0).max(4.0);
    let out = 20.0;
    vec![
        Point::new(x, c.y - dy),
        Point::new(x + out, c.y - dy),
        Point::new(x + out, c.y + dy),
        Point::new(x, c.y + dy),
    ]
}

/// The box enclosing every node, group and route point; all zeros when the
/// layout is empty.
pub(crate) fn bounds_of(layout: &Layout) -> Rect {
    let mut acc: Option<Rect> = None;
    let mut add = |r: Rect| {
        acc = Some(acc.map_or(r, |a| a.union(&r)));
    };
    for n in layout.nodes.values() {
        add(n.rect());
    }
    for g in layout.groups.values() {
        add(*g);
    }
    for p in layout.edges.values().flatten() {
        add(Rect { min: *p, max: *p });
    }
    acc.unwrap_or_default()
}

/// Moves everything by `(dx, dy)`.
pub(crate) fn translate(layout: &mut Layout, dx: f32, dy: f32) {
    let shift = |p: &mut Point| {
        p.x += dx;
        p.y += dy;
    };
    for n in layout.nodes.values_mut() {
        shift(&mut n.center);
    }
    for g in layout.groups.values_mut() {
        shift(&mut g.min);
        shift(&mut g.max);
    }
    for p in layout.edges.values_mut().flatten() {
        shift(p);
    }
    shift(&mut layout.bounds.min);
    shift(&mut layout.bounds.max);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clipping_lands_on_the_border() {
        let r = Rect::from_center_size(Point::new(0.0, 0.0), 100.0, 40.0);
        assert_eq!(
            clip_to_box(&r, Point::new(0.0, 100.0)),
            Point::new(0.0, 20.0)
        );
        assert_eq!(
            clip_to_box(&r, Point::new(200.0, 0.0)),
            Point::new(50.0, 0.0)
        );
        let p = clip_to_box(&r, Point::new(100.0, 100.0));
        assert!(
            (p.y - 20.0).abs() < 1e-4 && (p.x - 20.0).abs() < 1e-4,
            "{p:?}"
        );
        assert_eq!(clip_to_box(&r, Point::new(1.0, 1.0)), Point::new(0.0, 0.0));
    }

    #[test]
    fn frames_turn_and_flip() {
        assert_eq!(
            Frame::new(Direction::TB).to_screen(1.0, 2.0),
            Point::new(1.0, 2.0)
        );
        assert_eq!(
            Frame::new(Direction::BT).to_screen(1.0, 2.0),
            Point::new(1.0, -2.0)
        );
        assert_eq!(
            Frame::new(Direction::LR).to_screen(1.0, 2.0),
            Point::new(2.0, 1.0)
        );
        assert_eq!(
            Frame::new(Direction::RL).to_screen(1.0, 2.0),
            Point::new(-2.0, 1.0)
        );
    }
}
