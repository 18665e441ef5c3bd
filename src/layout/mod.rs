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

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::{ComponentId, ConnectionId, GroupId};

/// A point in layout space.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Point {
    pub x: f32,
    pub y: f32,
}

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
