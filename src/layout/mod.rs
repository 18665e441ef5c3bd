//! Positions for an architecture graph: where every component, connection
//! and group sits on the canvas.
//!
//! Owns the [`Layout`] type that the canvas, the SVG/PNG export and the
//! saved file's position lines all share, and the layered (Sugiyama / dagre
//! style) layout that computes one for a graph that has no positions. Pure
//! functions over the model: this module never mutates the model and never
//! draws.
//!
//! Coordinates are logical pixels, y growing downwards, the same space for
//! the canvas (before zoom and pan) and for SVG export.
//!
//! - [`layered`] (`layered.rs`): the whole layered layout, in phases:
//!   `rank.rs` (cycles, layers), `order.rs` (crossing reduction with groups
//!   kept in blocks), `coord.rs` (positions across the layers, groups as
//!   rigid columns), then layer stacking and routing.
//!   A subgraph with its own `direction` is laid out by itself in that
//!   direction and placed as one block (`turned.rs`).
//! - [`with_positions`] (`pinned.rs`): keeps the user's saved centres and
//!   routes edges along the layered layout's routes adapted to them.
//! - [`LayoutOptions`], [`node_size`] (`size.rs`): spacing, text measuring
//!   and box sizes; `geom.rs`: turning the top-down frame to LR/BT/RL,
//!   clipping routes to outlines.
//! - `shape.rs`: every Mermaid node outline, shared by canvas and export.
//!
//! Depends on the model and the Mermaid AST's shape names only; never on
//! egui, the simulation or the export.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::{ComponentId, ConnectionId, GroupId};

pub mod shape;

/// A point in layout space (defined beside the saved positions in the
/// model, which stores them, so that `model` never imports `layout`).
pub use crate::model::Point;

/// An axis-aligned rectangle given by its minimum and maximum corners.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Rect {
    pub min: Point,
    pub max: Point,
}

/// Where one component sits: the centre of its shape and the size of the
/// box the shape is drawn in.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct NodeGeom {
    pub center: Point,
    pub width: f32,
    pub height: f32,
}

/// The positions of a whole diagram.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Layout {
    /// Every component's box.
    pub nodes: BTreeMap<ComponentId, NodeGeom>,
    /// Every connection's route, a polyline from the source node's boundary
    /// to the target node's boundary (at least two points).
    pub edges: BTreeMap<ConnectionId, Vec<Point>>,
    /// Every group's (subgraph's) container, enclosing its members and
    /// nested groups, with room for its title at the top.
    pub groups: BTreeMap<GroupId, Rect>,
    /// The box enclosing everything.
    pub bounds: Rect,
}

mod coord;
mod geom;
mod layered;
mod order;
mod pinned;
mod rank;
mod size;
mod turned;

pub use layered::layered;
pub use pinned::{ROUTED_EDGES_LIMIT, with_positions, with_positions_guided};
pub use size::{LayoutOptions, TextMeasure, node_size};

impl Rect {
    /// The rectangle of `width × height` centred on `center`.
    pub fn from_center_size(center: Point, width: f32, height: f32) -> Self {
        Rect {
            min: Point::new(center.x - width / 2.0, center.y - height / 2.0),
            max: Point::new(center.x + width / 2.0, center.y + height / 2.0),
        }
    }

    /// Horizontal extent.
    pub fn width(&self) -> f32 {
        self.max.x - self.min.x
    }

    /// Vertical extent.
    pub fn height(&self) -> f32 {
        self.max.y - self.min.y
    }

    /// The centre.
    pub fn center(&self) -> Point {
        Point::new(
            (self.min.x + self.max.x) / 2.0,
            (self.min.y + self.max.y) / 2.0,
        )
    }

    /// Whether `other` lies inside this rectangle (edges may touch).
    pub fn contains_rect(&self, other: &Rect) -> bool {
        self.min.x <= other.min.x
            && self.min.y <= other.min.y
            && other.max.x <= self.max.x
            && other.max.y <= self.max.y
    }

    /// Whether `p` lies inside this rectangle or on its edge.
    pub fn contains(&self, p: Point) -> bool {
        self.min.x <= p.x && p.x <= self.max.x && self.min.y <= p.y && p.y <= self.max.y
    }

    /// Whether the two rectangles share interior area (touching edges do not
    /// count).
    pub fn overlaps(&self, other: &Rect) -> bool {
        self.min.x < other.max.x
            && other.min.x < self.max.x
            && self.min.y < other.max.y
            && other.min.y < self.max.y
    }

    /// The smallest rectangle enclosing both.
    pub fn union(&self, other: &Rect) -> Rect {
        Rect {
            min: Point::new(self.min.x.min(other.min.x), self.min.y.min(other.min.y)),
            max: Point::new(self.max.x.max(other.max.x), self.max.y.max(other.max.y)),
        }
    }

    /// This rectangle grown by `d` on every side.
    pub fn expand(&self, d: f32) -> Rect {
        Rect {
            min: Point::new(self.min.x - d, self.min.y - d),
            max: Point::new(self.max.x + d, self.max.y + d),
        }
    }
}

impl NodeGeom {
    /// The box the shape is drawn in.
    pub fn rect(&self) -> Rect {
        Rect::from_center_size(self.center, self.width, self.height)
    }
}

/// Where an edge's label goes on its route: the point halfway along it (the
/// layered layout reserves room for the label about there). `None` for an
/// empty route.
pub fn label_anchor(route: &[Point]) -> Option<Point> {
    let seg_len = |a: &Point, b: &Point| ((b.x - a.x).powi(2) + (b.y - a.y).powi(2)).sqrt();
    let total: f32 = route.windows(2).map(|w| seg_len(&w[0], &w[1])).sum();
    let mut left = total / 2.0;
    for w in route.windows(2) {
        let l = seg_len(&w[0], &w[1]);
        if l >= left && l > 0.0 {
            let t = left / l;
            return Some(Point::new(
                w[0].x + (w[1].x - w[0].x) * t,
                w[0].y + (w[1].y - w[0].y) * t,
            ));
        }
        left -= l;
    }
    route.first().copied()
}
