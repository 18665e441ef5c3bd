//! The outline of every Mermaid node shape for a node box, as Mermaid draws
//! it, in a renderer-neutral form that the canvas (egui) and the SVG export
//! both draw, so the two always agree.
//!
//! A component's [`Shape`] (a bracket syntax or an `@{ shape: … }` name) is
//! first reduced to a [`ShapeKind`]: the fifteen outlines drawn here, with
//! every `@{ shape }` name mapped to the nearest one. [`ShapeKind::geometry`]
//! then gives, for a [`NodeGeom`] box, the filled and stroked [`Outline`] and
//! the extra strokes some shapes carry (the cylinder's rim, the subroutine's
//! bars, the double circle's inner ring). [`boundary_point`] says where an
//! edge aimed at the node should stop.
//!
//! Curves are cubic Béziers (elliptic arcs are split into quarter turns), the
//! common ground of SVG paths and egui's `CubicBezierShape`. Coordinates are
//! layout space: logical pixels, y growing downwards.
//!
//! Pure geometry: depends on the model's [`Shape`] name only, never on a
//! renderer or on the rest of the model.

use std::f32::consts::{FRAC_PI_2, PI};

use super::{NodeGeom, Point, Rect};
use crate::mermaid::Arrow;
use crate::mermaid::ast::BracketShape;
use crate::model::Shape;

/// The outlines this module draws; every Mermaid shape maps to one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ShapeKind {
    /// `A[text]`, a node without brackets, and rectangle-like `@{shape}`s.
    Rect,
    /// `A(text)`: a rectangle with slightly rounded corners.
    Rounded,
    /// `A([text])`: a pill, fully rounded ends.
    Stadium,
    /// `A[[text]]`: a rectangle with a vertical bar inside each side.
    Subroutine,
    /// `A[(text)]`: a database cylinder with its top rim drawn.
    Cylinder,
    /// `A((text))`
    Circle,
    /// `A(((text)))`: a circle with an inner ring.
    DoubleCircle,
    /// `A{text}`: a rhombus.
    Diamond,
    /// `A{{text}}`
    Hexagon,
    /// `A[/text/]`: a parallelogram leaning right.
    LeanRight,
    /// `A[\text\]`: a parallelogram leaning left.
    LeanLeft,
    /// `A[/text\]`: wider at the bottom.
    Trapezoid,
    /// `A[\text/]`: wider at the top.
    InvTrapezoid,
    /// `A>text]`: a flag notched on the left (Mermaid's "asymmetric").
    Odd,
    /// `A(-text-)`
    Ellipse,
}

impl ShapeKind {
    /// Every kind, for palettes and tests.
    pub const ALL: [ShapeKind; 15] = [
        ShapeKind::Rect,
        ShapeKind::Rounded,
        ShapeKind::Stadium,
        ShapeKind::Subroutine,
        ShapeKind::Cylinder,
        ShapeKind::Circle,
        ShapeKind::DoubleCircle,
        ShapeKind::Diamond,
        ShapeKind::Hexagon,
        ShapeKind::LeanRight,
        ShapeKind::LeanLeft,
        ShapeKind::Trapezoid,
        ShapeKind::InvTrapezoid,
        ShapeKind::Odd,
        ShapeKind::Ellipse,
    ];

    /// The kind drawn for a component's shape (`None`: no brackets, a rectangle).
    pub fn of(shape: Option<&Shape>) -> ShapeKind {
        match shape {
            None => ShapeKind::Rect,
            Some(Shape::Bracket(b)) => ShapeKind::of_bracket(*b),
            Some(Shape::Named(name)) => ShapeKind::of_name(name),
        }
    }

    /// The kind drawn for a bracket syntax.
    pub fn of_bracket(bracket: BracketShape) -> ShapeKind {
        match bracket {
            BracketShape::Square | BracketShape::Rect => ShapeKind::Rect,
            BracketShape::Round => ShapeKind::Rounded,
            BracketShape::Stadium => ShapeKind::Stadium,
            BracketShape::Subroutine => ShapeKind::Subroutine,
            BracketShape::Cylinder => ShapeKind::Cylinder,
            BracketShape::Circle => ShapeKind::Circle,
            BracketShape::DoubleCircle => ShapeKind::DoubleCircle,
            BracketShape::Odd => ShapeKind::Odd,
            BracketShape::Diamond => ShapeKind::Diamond,
            BracketShape::Hexagon => ShapeKind::Hexagon,
            BracketShape::LeanRight => ShapeKind::LeanRight,
            BracketShape::LeanLeft => ShapeKind::LeanLeft,
            BracketShape::Trapezoid => ShapeKind::Trapezoid,
            BracketShape::InvTrapezoid => ShapeKind::InvTrapezoid,
            BracketShape::Ellipse => ShapeKind::Ellipse,
        }
    }

    /// The nearest kind for an `@{ shape: … }` name or a FlowDB vertex type
    /// (case and `_`/`-` are ignored); unknown names draw a rectangle.
    pub fn of_name(name: &str) -> ShapeKind {
        let name = name.trim().to_ascii_lowercase().replace('_', "-");
        if let Some(b) = BracketShape::ALL
            .into_iter()
            .find(|b| b.mermaid_type().replace('_', "-") == name)
        {
            return ShapeKind::of_bracket(b);
        }
        match name.as_str() {
            "rounded"
            | "event"
            | "state"
            | "delay"
            | "half-rounded-rectangle"
            | "curv-trap"
            | "display"
            | "curved-trapezoid" => ShapeKind::Rounded,
            "pill" | "terminal" | "bow-rect" | "stored-data" | "bow-tie-rectangle" => {
                ShapeKind::Stadium
            }
            "subproc" | "subprocess" | "fr-rect" | "framed-rectangle" | "div-rect" | "div-proc"
            | "divided-process" | "divided-rectangle" | "lin-rect" | "lined-process"
            | "lined-rectangle" | "shaded-process" | "lin-proc" => ShapeKind::Subroutine,
            "cyl"
            | "database"
            | "db"
            | "das"
            | "h-cyl"
            | "horizontal-cylinder"
            | "lin-cyl"
            | "disk"
            | "lined-cylinder" => ShapeKind::Cylinder,
            "circ" | "sm-circ" | "start" | "small-circle" | "f-circ" | "junction"
            | "filled-circle" | "cross-circ" | "summary" | "crossed-circle" | "anchor" => {
                ShapeKind::Circle
            }
            "dbl-circ" | "double-circle" | "fr-circ" | "framed-circle" | "stop" => {
                ShapeKind::DoubleCircle
            }
            "decision" | "question" | "diam" | "choice" => ShapeKind::Diamond,
            "hex" | "prepare" | "notch-pent" | "loop-limit" | "notched-pentagon" => {
                ShapeKind::Hexagon
            }
            "lean-r" | "in-out" | "sl-rect" | "manual-input" | "sloped-rectangle" => {
                ShapeKind::LeanRight
            }
            "lean-l" | "out-in" => ShapeKind::LeanLeft,
            "trap-b" | "priority" | "trapezoid-bottom" | "tri" | "extract" | "triangle" => {
                ShapeKind::Trapezoid
            }
            "trap-t" | "manual" | "trapezoid-top" | "flip-tri" | "manual-file"
            | "flipped-triangle" => ShapeKind::InvTrapezoid,
            "flag" | "paper-tape" => ShapeKind::Odd,
            _ => ShapeKind::Rect,
        }
    }

    /// A stable lowercase name (`rect`, `cylinder`, …) for JSON and tests.
    pub fn name(self) -> &'static str {
        match self {
            ShapeKind::Rect => "rect",
            ShapeKind::Rounded => "rounded",
            ShapeKind::Stadium => "stadium",
            ShapeKind::Subroutine => "subroutine",
            ShapeKind::Cylinder => "cylinder",
            ShapeKind::Circle => "circle",
            ShapeKind::DoubleCircle => "double-circle",
            ShapeKind::Diamond => "diamond",
            ShapeKind::Hexagon => "hexagon",
            ShapeKind::LeanRight => "lean-right",
            ShapeKind::LeanLeft => "lean-left",
            ShapeKind::Trapezoid => "trapezoid",
            ShapeKind::InvTrapezoid => "inv-trapezoid",
            ShapeKind::Odd => "odd",
            ShapeKind::Ellipse => "ellipse",
        }
    }

    /// The box a label of `text_w` × `text_h` needs in this shape, padded
    /// roughly as Mermaid pads it (so a diamond or a circle grows more than a
    /// rectangle), with room for the 14 px role icon the export and canvas
    /// draw left of the text. A layout may use it to size nodes.
    pub fn box_size(self, text_w: f32, text_h: f32) -> (f32, f32) {
        let text_w = text_w.max(0.0) + 18.0;
        let (w, h) = (text_w + 30.0, text_h.max(0.0) + 20.0);
        match self {
            ShapeKind::Rect | ShapeKind::Rounded | ShapeKind::Odd => (w + h / 4.0, h),
            ShapeKind::Stadium => (w + h / 2.0, h),
            ShapeKind::Subroutine => (w + 16.0, h),
            ShapeKind::Cylinder => {
                let rx = w / 2.0;
                (w, h + 2.0 * cylinder_ry(rx, w))
            }
            ShapeKind::Circle | ShapeKind::DoubleCircle => {
                let d = text_w.max(text_h)
                    + 30.0
                    + if self == ShapeKind::DoubleCircle {
                        10.0
                    } else {
                        0.0
                    };
                (d, d)
            }
            ShapeKind::Diamond => {
                // The rhombus through the padded text box's corners.
                (2.0 * w.max(h * 1.6), 2.0 * h)
            }
            ShapeKind::Hexagon => (w + h / 2.0, h),
            ShapeKind::LeanRight
            | ShapeKind::LeanLeft
            | ShapeKind::Trapezoid
            | ShapeKind::InvTrapezoid => (w + 2.0 * h / 3.0, h),
            ShapeKind::Ellipse => (w * 1.3, h * 1.3),
        }
    }

    /// The outline and decorations of this shape drawn in `geom`'s box.
    pub fn geometry(self, geom: &NodeGeom) -> ShapeGeometry {
        let b = NodeBox::new(geom);
        let mut decorations = Vec::new();
        let outline = match self {
            ShapeKind::Rect => Outline::Polygon(b.corners()),
            ShapeKind::Rounded => Outline::RoundedRect {
                rect: b.rect(),
                radius: 5.0_f32.min(b.h / 2.0).min(b.w / 2.0),
            },
            ShapeKind::Stadium => Outline::RoundedRect {
                rect: b.rect(),
                radius: b.h.min(b.w) / 2.0,
            },
            ShapeKind::Subroutine => {
                let inset = 8.0_f32.min(b.w / 4.0);
                for x in [b.x0 + inset, b.x1 - inset] {
                    decorations.push(Outline::Path(vec![
                        PathCmd::MoveTo(pt(x, b.y0)),
                        PathCmd::LineTo(pt(x, b.y1)),
                    ]));
                }
                Outline::Polygon(b.corners())
            }
            ShapeKind::Cylinder => {
                let (outline, rim) = cylinder(&b);
                decorations.push(rim);
                outline
            }
            ShapeKind::Circle => Outline::Ellipse {
                center: b.c,
                rx: b.r(),
                ry: b.r(),
            },
            ShapeKind::DoubleCircle => {
                let r = b.r();
                let gap = if r > 15.0 { 5.0 } else { r / 3.0 };
                decorations.push(Outline::Ellipse {
                    center: b.c,
                    rx: r - gap,
                    ry: r - gap,
                });
                Outline::Ellipse {
                    center: b.c,
                    rx: r,
                    ry: r,
                }
            }
            ShapeKind::Diamond => Outline::Polygon(vec![
                pt(b.c.x, b.y0),
                pt(b.x1, b.c.y),
                pt(b.c.x, b.y1),
                pt(b.x0, b.c.y),
            ]),
            ShapeKind::Hexagon => {
                let m = (b.h / 4.0).min(b.w / 4.0);
                Outline::Polygon(vec![
                    pt(b.x0 + m, b.y0),
                    pt(b.x1 - m, b.y0),
                    pt(b.x1, b.c.y),
                    pt(b.x1 - m, b.y1),
                    pt(b.x0 + m, b.y1),
                    pt(b.x0, b.c.y),
                ])
            }
            ShapeKind::LeanRight => {
                let d = b.slant();
                Outline::Polygon(vec![
                    pt(b.x0 + d, b.y0),
                    pt(b.x1, b.y0),
                    pt(b.x1 - d, b.y1),
                    pt(b.x0, b.y1),
                ])
            }
            ShapeKind::LeanLeft => {
                let d = b.slant();
                Outline::Polygon(vec![
                    pt(b.x0, b.y0),
                    pt(b.x1 - d, b.y0),
                    pt(b.x1, b.y1),
                    pt(b.x0 + d, b.y1),
                ])
            }
            ShapeKind::Trapezoid => {
                let d = b.slant();
                Outline::Polygon(vec![
                    pt(b.x0 + d, b.y0),
                    pt(b.x1 - d, b.y0),
                    pt(b.x1, b.y1),
                    pt(b.x0, b.y1),
                ])
            }
            ShapeKind::InvTrapezoid => {
                let d = b.slant();
                Outline::Polygon(vec![
                    pt(b.x0, b.y0),
                    pt(b.x1, b.y0),
                    pt(b.x1 - d, b.y1),
                    pt(b.x0 + d, b.y1),
                ])
            }
            ShapeKind::Odd => {
                let d = (b.h / 2.0).min(b.w / 3.0);
                Outline::Polygon(vec![
                    pt(b.x0, b.y0),
                    pt(b.x1, b.y0),
                    pt(b.x1, b.y1),
                    pt(b.x0, b.y1),
                    pt(b.x0 + d, b.c.y),
                ])
            }
            ShapeKind::Ellipse => Outline::Ellipse {
                center: b.c,
                rx: b.w / 2.0,
                ry: b.h / 2.0,
            },
        };
        let label = self.label_rect(&b);
        ShapeGeometry {
            kind: self,
            outline,
            decorations,
            label,
        }
    }

    /// Where the label fits: the box minus what the shape takes away.
    fn label_rect(self, b: &NodeBox) -> Rect {
        let (mut x0, mut y0, mut x1, mut y1) = (b.x0, b.y0, b.x1, b.y1);
        match self {
            ShapeKind::Cylinder => {
                y0 += 2.0 * cylinder_ry(b.w / 2.0, b.w).min(b.h / 4.0);
            }
            ShapeKind::Circle | ShapeKind::DoubleCircle => {
                // The square inscribed in the circle.
                let half = b.r() * std::f32::consts::FRAC_1_SQRT_2;
                (x0, y0, x1, y1) = (b.c.x - half, b.c.y - half, b.c.x + half, b.c.y + half);
            }
            ShapeKind::Diamond | ShapeKind::Ellipse => {
                (x0, y0) = (b.x0 + b.w / 4.0, b.y0 + b.h / 4.0);
                (x1, y1) = (b.x1 - b.w / 4.0, b.y1 - b.h / 4.0);
            }
            ShapeKind::Subroutine => {
                let inset = 8.0_f32.min(b.w / 4.0);
                (x0, x1) = (x0 + inset, x1 - inset);
            }
            ShapeKind::Hexagon
            | ShapeKind::LeanRight
            | ShapeKind::LeanLeft
            | ShapeKind::Trapezoid
            | ShapeKind::InvTrapezoid => {
                let d = b.slant();
                (x0, x1) = (x0 + d, x1 - d);
            }
            ShapeKind::Odd => x0 += (b.h / 2.0).min(b.w / 3.0),
            ShapeKind::Rect | ShapeKind::Rounded | ShapeKind::Stadium => {}
        }
        Rect {
            min: pt(x0, y0),
            max: pt(x1.max(x0), y1.max(y0)),
        }
    }
}

/// The geometry of one node as drawn.
#[derive(Debug, Clone, PartialEq)]
pub struct ShapeGeometry {
    /// Which shape this is.
    pub kind: ShapeKind,
    /// The closed outline: filled with the node's fill, stroked with its stroke.
    pub outline: Outline,
    /// Extra strokes drawn over the fill with the node's stroke, never
    /// filled: the cylinder's rim, the subroutine's bars, the inner ring.
    pub decorations: Vec<Outline>,
    /// Where the label goes (centre it here).
    pub label: Rect,
}

/// A closed figure (or, as a decoration, an open stroke) in layout space.
#[derive(Debug, Clone, PartialEq)]
pub enum Outline {
    /// A closed polygon, corners in drawing order.
    Polygon(Vec<Point>),
    /// A rectangle with circular corners of `radius`.
    RoundedRect { rect: Rect, radius: f32 },
    /// An axis-aligned ellipse (a circle when `rx == ry`).
    Ellipse { center: Point, rx: f32, ry: f32 },
    /// A path; closed when it ends with [`PathCmd::Close`], open otherwise
    /// (open paths appear only as decorations).
    Path(Vec<PathCmd>),
}

/// One step of an [`Outline::Path`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PathCmd {
    /// Start a new sub-path here.
    MoveTo(Point),
    /// A straight line to the point.
    LineTo(Point),
    /// A cubic Bézier with two control points to `to`.
    CubicTo { c1: Point, c2: Point, to: Point },
    /// A straight line back to the sub-path's start.
    Close,
}

impl Outline {
    /// The bounding box (of control points, for paths: never smaller than the curve).
    pub fn bounds(&self) -> Rect {
        match self {
            Outline::RoundedRect { rect, .. } => *rect,
            Outline::Ellipse { center, rx, ry } => Rect {
                min: pt(center.x - rx, center.y - ry),
                max: pt(center.x + rx, center.y + ry),
            },
            Outline::Polygon(_) | Outline::Path(_) => bounds_of(&self.flatten()),
        }
    }

    /// The outline as a polyline (closed outlines repeat no point; curves
    /// are split into short straight pieces), for hit tests, culling and
    /// renderers without curves.
    pub fn flatten(&self) -> Vec<Point> {
        match self {
            Outline::Polygon(points) => points.clone(),
            Outline::RoundedRect { rect, radius } => {
                let r = radius.max(0.0);
                let (x0, y0, x1, y1) = (rect.min.x, rect.min.y, rect.max.x, rect.max.y);
                let mut points = Vec::with_capacity(4 * (ARC_STEPS + 1));
                // Corners clockwise (y down) starting top-right.
                let corners = [
                    (pt(x1 - r, y0 + r), -FRAC_PI_2),
                    (pt(x1 - r, y1 - r), 0.0),
                    (pt(x0 + r, y1 - r), FRAC_PI_2),
                    (pt(x0 + r, y0 + r), PI),
                ];
                for (c, a0) in corners {
                    for i in 0..=ARC_STEPS {
                        let a = a0 + FRAC_PI_2 * i as f32 / ARC_STEPS as f32;
                        points.push(pt(c.x + r * a.cos(), c.y + r * a.sin()));
                    }
                }
                points
            }
            Outline::Ellipse { center, rx, ry } => {
                let n = 4 * ARC_STEPS;
                (0..n)
                    .map(|i| {
                        let a = 2.0 * PI * i as f32 / n as f32;
                        pt(center.x + rx * a.cos(), center.y + ry * a.sin())
                    })
                    .collect()
            }
            Outline::Path(cmds) => {
                let mut points = Vec::new();
                let mut cur = Point::default();
                for cmd in cmds {
                    match *cmd {
                        PathCmd::MoveTo(p) | PathCmd::LineTo(p) => {
                            points.push(p);
                            cur = p;
                        }
                        PathCmd::CubicTo { c1, c2, to } => {
                            for i in 1..=CUBIC_STEPS {
                                let t = i as f32 / CUBIC_STEPS as f32;
                                points.push(cubic_at(cur, c1, c2, to, t));
                            }
                            cur = to;
                        }
                        PathCmd::Close => {}
                    }
                }
                points
            }
        }
    }

    /// The centre of the bounding box: where edges aim from.
    pub fn center(&self) -> Point {
        match self {
            Outline::Ellipse { center, .. } => *center,
            _ => {
                let b = self.bounds();
                pt((b.min.x + b.max.x) / 2.0, (b.min.y + b.max.y) / 2.0)
            }
        }
    }

    /// Whether `p` is inside the closed outline (even-odd rule).
    pub fn contains(&self, p: Point) -> bool {
        if let Outline::Ellipse { center, rx, ry } = *self {
            if rx <= 0.0 || ry <= 0.0 {
                return false;
            }
            let (dx, dy) = ((p.x - center.x) / rx, (p.y - center.y) / ry);
            return dx * dx + dy * dy <= 1.0;
        }
        let poly = self.flatten();
        let mut inside = false;
        for (a, b) in edges_of(&poly) {
            if (a.y > p.y) != (b.y > p.y) {
                let x = a.x + (p.y - a.y) / (b.y - a.y) * (b.x - a.x);
                if p.x < x {
                    inside = !inside;
                }
            }
        }
        inside
    }
}

/// Where an edge from the outline's centre towards `towards` crosses the
/// outline: the point an edge to or from this node should end at.
///
/// `towards` may lie inside the outline (the ray is extended); when it is the
/// centre itself there is no direction and the centre is returned.
pub fn boundary_point(outline: &Outline, towards: Point) -> Point {
    let c = outline.center();
    let (dx, dy) = (towards.x - c.x, towards.y - c.y);
    let len = (dx * dx + dy * dy).sqrt();
    if !len.is_finite() || len < 1e-6 {
        return c;
    }
    let (ux, uy) = (dx / len, dy / len);
    if let Outline::Ellipse { center, rx, ry } = *outline {
        if rx <= 0.0 || ry <= 0.0 {
            return center;
        }
        // Solve (t·ux/rx)² + (t·uy/ry)² = 1.
        let t = 1.0 / ((ux / rx).powi(2) + (uy / ry).powi(2)).sqrt();
        return pt(center.x + t * ux, center.y + t * uy);
    }
    let poly = outline.flatten();
    let mut best: Option<f32> = None;
    for (a, b) in edges_of(&poly) {
        if let Some(t) = ray_hits_segment(c, ux, uy, a, b) {
            best = Some(best.map_or(t, |bt: f32| bt.max(t)));
        }
    }
    match best {
        Some(t) => pt(c.x + t * ux, c.y + t * uy),
        None => c,
    }
}

/// The marker drawn at one end of an edge: Mermaid's arrowhead, circle or
/// cross, and where the edge's line should stop so it does not poke through.
#[derive(Debug, Clone, PartialEq)]
pub struct EndMarker {
    /// The marker's figure.
    pub outline: Outline,
    /// Filled with the edge colour (arrowhead, circle) or only stroked (cross).
    pub filled: bool,
    /// Where the line should end instead of `tip`.
    pub line_end: Point,
}

/// The marker for `arrow` at `tip` (on the node's boundary) on an edge
/// arriving from `from`, sized for a line `stroke_width` wide; `None` for
/// [`Arrow::None`] or when `from` and `tip` coincide (no direction).
pub fn end_marker(arrow: Arrow, tip: Point, from: Point, stroke_width: f32) -> Option<EndMarker> {
    let (dx, dy) = (tip.x - from.x, tip.y - from.y);
    let len = (dx * dx + dy * dy).sqrt();
    if arrow == Arrow::None || !len.is_finite() || len < 1e-6 {
        return None;
    }
    let (ux, uy) = (dx / len, dy / len);
    let (px, py) = (-uy, ux);
    let width = if stroke_width.is_finite() {
        stroke_width.clamp(0.5, 8.0)
    } else {
        1.5
    };
    let back = |d: f32| pt(tip.x - ux * d, tip.y - uy * d);
    match arrow {
        Arrow::None => None,
        Arrow::Arrow => {
            let length = 7.0 + 2.0 * width;
            let half = length * 0.42;
            let base = back(length);
            Some(EndMarker {
                outline: Outline::Polygon(vec![
                    tip,
                    pt(base.x + px * half, base.y + py * half),
                    pt(base.x - px * half, base.y - py * half),
                ]),
                filled: true,
                // Slightly inside the head, so no gap shows at the base.
                line_end: back(length - 1.0),
            })
        }
        Arrow::Circle => {
            let r = 3.5 + width;
            let center = back(r);
            Some(EndMarker {
                outline: Outline::Ellipse {
                    center,
                    rx: r,
                    ry: r,
                },
                filled: true,
                line_end: center,
            })
        }
        Arrow::Cross => {
            let r = 3.5 + width;
            let c = back(r * 1.2);
            let arm =
                |sx: f32, sy: f32| pt(c.x + (sx * ux + sy * px) * r, c.y + (sx * uy + sy * py) * r);
            Some(EndMarker {
                outline: Outline::Path(vec![
                    PathCmd::MoveTo(arm(-0.7, -0.7)),
                    PathCmd::LineTo(arm(0.7, 0.7)),
                    PathCmd::MoveTo(arm(-0.7, 0.7)),
                    PathCmd::LineTo(arm(0.7, -0.7)),
                ]),
                filled: false,
                line_end: tip,
            })
        }
    }
}

/// The distance along the ray `origin + t·(ux, uy)`, `t ≥ 0`, at which it
/// crosses segment `a`–`b`, if it does.
fn ray_hits_segment(origin: Point, ux: f32, uy: f32, a: Point, b: Point) -> Option<f32> {
    let (ex, ey) = (b.x - a.x, b.y - a.y);
    let denom = ux * ey - uy * ex;
    if denom.abs() < 1e-9 {
        return None;
    }
    let (wx, wy) = (a.x - origin.x, a.y - origin.y);
    let t = (wx * ey - wy * ex) / denom;
    let s = (wx * uy - wy * ux) / denom;
    (t >= 0.0 && (-1e-4..=1.0 + 1e-4).contains(&s)).then_some(t)
}

/// Straight pieces per quarter turn when flattening arcs.
const ARC_STEPS: usize = 6;
/// Straight pieces per cubic when flattening paths.
const CUBIC_STEPS: usize = 8;

/// The vertical radius of a cylinder's end ellipses, as Mermaid sizes it.
fn cylinder_ry(rx: f32, w: f32) -> f32 {
    rx / (2.5 + w / 50.0)
}

/// A cylinder in the box: its closed outline and the front half of its top
/// ellipse (the rim), which Mermaid draws over the body.
fn cylinder(b: &NodeBox) -> (Outline, Outline) {
    let rx = b.w / 2.0;
    let ry = cylinder_ry(rx, b.w).min(b.h / 4.0);
    let top = pt(b.c.x, b.y0 + ry);
    let bottom = pt(b.c.x, b.y1 - ry);
    let mut body = vec![PathCmd::MoveTo(pt(b.x0, top.y))];
    // Back of the top ellipse, left to right over the top.
    body.extend(arc(top, rx, ry, PI, 2.0 * PI));
    body.push(PathCmd::LineTo(pt(b.x1, bottom.y)));
    // Front of the bottom ellipse, right to left under the bottom.
    body.extend(arc(bottom, rx, ry, 0.0, PI));
    body.push(PathCmd::Close);
    let mut rim = vec![PathCmd::MoveTo(pt(b.x0, top.y))];
    // Front of the top ellipse, left to right under its centre.
    rim.extend(arc(top, rx, ry, PI, 0.0));
    (Outline::Path(body), Outline::Path(rim))
}

/// Cubic pieces (at most a quarter turn each) for the elliptic arc from
/// angle `a0` to `a1` (either direction), starting at the current point.
fn arc(c: Point, rx: f32, ry: f32, a0: f32, a1: f32) -> Vec<PathCmd> {
    let span = a1 - a0;
    let pieces = (span.abs() / FRAC_PI_2).ceil().max(1.0) as usize;
    let step = span / pieces as f32;
    let k = 4.0 / 3.0 * (step / 4.0).tan();
    let at = |a: f32| pt(c.x + rx * a.cos(), c.y + ry * a.sin());
    let tangent = |a: f32| (-rx * a.sin(), ry * a.cos());
    (0..pieces)
        .map(|i| {
            let s = a0 + step * i as f32;
            let e = s + step;
            let (p0, p1) = (at(s), at(e));
            let (d0, d1) = (tangent(s), tangent(e));
            PathCmd::CubicTo {
                c1: pt(p0.x + k * d0.0, p0.y + k * d0.1),
                c2: pt(p1.x - k * d1.0, p1.y - k * d1.1),
                to: p1,
            }
        })
        .collect()
}

fn cubic_at(p0: Point, c1: Point, c2: Point, p1: Point, t: f32) -> Point {
    let u = 1.0 - t;
    let (a, b, c, d) = (u * u * u, 3.0 * u * u * t, 3.0 * u * t * t, t * t * t);
    pt(
        a * p0.x + b * c1.x + c * c2.x + d * p1.x,
        a * p0.y + b * c1.y + c * c2.y + d * p1.y,
    )
}

/// The closing edges of a polygon given as its corners.
fn edges_of(poly: &[Point]) -> impl Iterator<Item = (Point, Point)> + '_ {
    (0..poly.len()).map(move |i| (poly[i], poly[(i + 1) % poly.len()]))
}

fn bounds_of(points: &[Point]) -> Rect {
    let mut r = Rect {
        min: pt(f32::INFINITY, f32::INFINITY),
        max: pt(f32::NEG_INFINITY, f32::NEG_INFINITY),
    };
    for p in points {
        r.min = pt(r.min.x.min(p.x), r.min.y.min(p.y));
        r.max = pt(r.max.x.max(p.x), r.max.y.max(p.y));
    }
    if points.is_empty() {
        Rect::default()
    } else {
        r
    }
}

fn pt(x: f32, y: f32) -> Point {
    Point { x, y }
}

/// A node box's edges, with negative or non-finite sizes treated as zero so
/// bad input draws a dot rather than a folded shape.
struct NodeBox {
    c: Point,
    w: f32,
    h: f32,
    x0: f32,
    y0: f32,
    x1: f32,
    y1: f32,
}

impl NodeBox {
    fn new(g: &NodeGeom) -> NodeBox {
        let sane = |v: f32| if v.is_finite() { v.max(0.0) } else { 0.0 };
        let (w, h) = (sane(g.width), sane(g.height));
        let c = g.center;
        NodeBox {
            c,
            w,
            h,
            x0: c.x - w / 2.0,
            y0: c.y - h / 2.0,
            x1: c.x + w / 2.0,
            y1: c.y + h / 2.0,
        }
    }

    fn rect(&self) -> Rect {
        Rect {
            min: pt(self.x0, self.y0),
            max: pt(self.x1, self.y1),
        }
    }

    fn corners(&self) -> Vec<Point> {
        vec![
            pt(self.x0, self.y0),
            pt(self.x1, self.y0),
            pt(self.x1, self.y1),
            pt(self.x0, self.y1),
        ]
    }

    /// The radius of a circle fitting the box.
    fn r(&self) -> f32 {
        self.w.min(self.h) / 2.0
    }

    /// How far the slanted sides of parallelograms and trapezoids lean.
    fn slant(&self) -> f32 {
        (self.h / 3.0).min(self.w / 4.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn geom(x: f32, y: f32, w: f32, h: f32) -> NodeGeom {
        NodeGeom {
            center: pt(x, y),
            width: w,
            height: h,
        }
    }

    fn close(a: Point, b: Point) -> bool {
        (a.x - b.x).abs() < 0.05 && (a.y - b.y).abs() < 0.05
    }

    #[test]
    fn every_bracket_and_shape_name_maps_to_a_kind() {
        assert_eq!(ShapeKind::of(None), ShapeKind::Rect);
        let cases = [
            (BracketShape::Cylinder, ShapeKind::Cylinder),
            (BracketShape::DoubleCircle, ShapeKind::DoubleCircle),
            (BracketShape::Odd, ShapeKind::Odd),
            (BracketShape::InvTrapezoid, ShapeKind::InvTrapezoid),
        ];
        for (b, k) in cases {
            assert_eq!(ShapeKind::of(Some(&Shape::Bracket(b))), k);
        }
        for (name, k) in [
            ("cyl", ShapeKind::Cylinder),
            ("das", ShapeKind::Cylinder),
            ("hex", ShapeKind::Hexagon),
            ("diam", ShapeKind::Diamond),
            ("lean-l", ShapeKind::LeanLeft),
            ("trap-t", ShapeKind::InvTrapezoid),
            ("dbl-circ", ShapeKind::DoubleCircle),
            ("stadium", ShapeKind::Stadium),
            ("lean_right", ShapeKind::LeanRight),
            ("inv_trapezoid", ShapeKind::InvTrapezoid),
            ("doc", ShapeKind::Rect),
            ("no-such-shape", ShapeKind::Rect),
        ] {
            assert_eq!(ShapeKind::of(Some(&Shape::Named(name.into()))), k, "{name}");
        }
    }

    #[test]
    fn outlines_stay_inside_their_box() {
        let g = geom(100.0, 50.0, 120.0, 60.0);
        for kind in ShapeKind::ALL {
            let shape = kind.geometry(&g);
            let b = shape.outline.bounds();
            assert!(b.min.x >= 39.9 && b.max.x <= 160.1, "{kind:?} {b:?}");
            assert!(b.min.y >= 19.9 && b.max.y <= 80.1, "{kind:?} {b:?}");
            assert!(
                shape.outline.contains(g.center),
                "{kind:?} holds its centre"
            );
            let l = shape.label;
            assert!(l.min.x <= l.max.x && l.min.y <= l.max.y, "{kind:?}");
        }
    }

    #[test]
    fn boundary_point_of_a_rectangle_is_on_the_side_facing_the_target() {
        let shape = ShapeKind::Rect.geometry(&geom(0.0, 0.0, 100.0, 40.0));
        assert!(close(
            boundary_point(&shape.outline, pt(0.0, 500.0)),
            pt(0.0, 20.0)
        ));
        assert!(close(
            boundary_point(&shape.outline, pt(-300.0, 0.0)),
            pt(-50.0, 0.0)
        ));
        // A target inside the box still gives the side it lies towards.
        assert!(close(
            boundary_point(&shape.outline, pt(10.0, 0.0)),
            pt(50.0, 0.0)
        ));
        // No direction: the centre.
        assert!(close(
            boundary_point(&shape.outline, pt(0.0, 0.0)),
            pt(0.0, 0.0)
        ));
    }

    #[test]
    fn boundary_point_follows_curves_and_slants() {
        let circle = ShapeKind::Circle.geometry(&geom(10.0, 10.0, 40.0, 40.0));
        let p = boundary_point(&circle.outline, pt(100.0, 100.0));
        let d = ((p.x - 10.0).powi(2) + (p.y - 10.0).powi(2)).sqrt();
        assert!((d - 20.0).abs() < 0.01, "{d}");

        let diamond = ShapeKind::Diamond.geometry(&geom(0.0, 0.0, 100.0, 100.0));
        // Diagonal: the middle of the edge from the top to the right corner.
        assert!(close(
            boundary_point(&diamond.outline, pt(10.0, -10.0)),
            pt(25.0, -25.0)
        ));

        let cyl = ShapeKind::Cylinder.geometry(&geom(0.0, 0.0, 100.0, 80.0));
        let top = boundary_point(&cyl.outline, pt(0.0, -1000.0));
        assert!((top.y + 40.0).abs() < 0.5, "cylinder top {top:?}");
        let bottom = boundary_point(&cyl.outline, pt(0.0, 1000.0));
        assert!((bottom.y - 40.0).abs() < 0.5, "cylinder bottom {bottom:?}");
        let stadium = ShapeKind::Stadium.geometry(&geom(0.0, 0.0, 100.0, 40.0));
        let side = boundary_point(&stadium.outline, pt(1000.0, 0.0));
        assert!(close(side, pt(50.0, 0.0)), "{side:?}");
    }

    #[test]
    fn decorations_are_drawn_where_mermaid_draws_them() {
        let g = geom(0.0, 0.0, 100.0, 60.0);
        assert_eq!(ShapeKind::Subroutine.geometry(&g).decorations.len(), 2);
        assert_eq!(ShapeKind::Cylinder.geometry(&g).decorations.len(), 1);
        let dbl = ShapeKind::DoubleCircle.geometry(&g);
        match (&dbl.outline, dbl.decorations.first()) {
            (Outline::Ellipse { rx: outer, .. }, Some(Outline::Ellipse { rx: inner, .. })) => {
                assert!(inner < outer)
            }
            other => panic!("double circle drew {other:?}"),
        }
        assert!(ShapeKind::Rect.geometry(&g).decorations.is_empty());
        // The cylinder's label sits below its rim.
        let cyl = ShapeKind::Cylinder.geometry(&g);
        assert!(cyl.label.min.y > -30.0);
    }

    #[test]
    fn end_markers_point_along_the_edge_and_trim_the_line() {
        let tip = pt(100.0, 0.0);
        let from = pt(0.0, 0.0);
        assert_eq!(end_marker(Arrow::None, tip, from, 1.5), None);
        assert_eq!(end_marker(Arrow::Arrow, tip, tip, 1.5), None);
        let head = end_marker(Arrow::Arrow, tip, from, 1.5).expect("an arrowhead");
        assert!(head.filled);
        assert!(head.line_end.x < tip.x && head.line_end.y == 0.0);
        match &head.outline {
            Outline::Polygon(p) => {
                assert_eq!(p[0], tip);
                assert!(p[1].x < tip.x && p[1].y == -p[2].y);
            }
            other => panic!("arrowhead drew {other:?}"),
        }
        let circle = end_marker(Arrow::Circle, tip, from, 1.5).expect("a circle");
        assert!(circle.outline.contains(pt(99.0, 0.0)));
        let cross = end_marker(Arrow::Cross, tip, from, 1.5).expect("a cross");
        assert!(!cross.filled);
        let thick = end_marker(Arrow::Arrow, tip, from, 4.0).expect("a head");
        assert!(thick.outline.bounds().min.x < head.outline.bounds().min.x);
    }

    #[test]
    fn degenerate_boxes_do_not_panic() {
        for kind in ShapeKind::ALL {
            for g in [
                geom(0.0, 0.0, 0.0, 0.0),
                geom(0.0, 0.0, -5.0, 10.0),
                geom(0.0, 0.0, f32::NAN, f32::INFINITY),
            ] {
                let s = kind.geometry(&g);
                let _ = boundary_point(&s.outline, pt(10.0, 10.0));
                let _ = s.outline.contains(pt(1.0, 1.0));
            }
        }
    }

    #[test]
    fn box_size_grows_with_the_text_and_fits_circles() {
        for kind in ShapeKind::ALL {
            let (w1, h1) = kind.box_size(50.0, 16.0);
            let (w2, h2) = kind.box_size(150.0, 16.0);
            assert!(w2 > w1 && h2 >= h1, "{kind:?}");
        }
        let (w, h) = ShapeKind::Circle.box_size(80.0, 16.0);
        assert_eq!(w, h);
    }
}
