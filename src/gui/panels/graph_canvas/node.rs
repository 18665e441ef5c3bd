//! How one component is drawn on the egui_graphs canvas: [`NodeShape`], the
//! [`DisplayNode`] that paints every Mermaid outline from the shared shape
//! geometry (`layout::shape`), the role icon, the label and the resolved
//! `classDef`/`style` colours, culled when off-screen and simplified when
//! zoomed out.
//!
//! Reads only what the sync step put in the node's payload ([`NodeData`]);
//! never the document or the theme directly.

use crate::export::style::role_icon;
use crate::gui::look::NodeLook;
use crate::layout::shape::{Outline, PathCmd, ShapeGeometry, ShapeKind};
use crate::layout::{NodeGeom, Point};
use crate::model::{ComponentId, Role};
use egui::{Align2, Color32, CornerRadius, FontId, Pos2, Rect, Shape, Stroke, StrokeKind, Vec2};
use egui_graphs::{DisplayNode, DrawContext, NodeProps};
use petgraph::EdgeType;
use petgraph::stable_graph::IndexType;
use std::sync::Arc;

/// What the canvas knows about a component, rebuilt only when the
/// component, the diagram's classes or the theme change.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeData {
    /// The component.
    pub id: ComponentId,
    /// Text shown.
    pub label: String,
    /// Which outline.
    pub kind: ShapeKind,
    /// Box size in layout units.
    pub size: Vec2,
    /// Colours and stroke.
    pub look: NodeLook,
    /// Role, for the icon.
    pub role: Role,
    /// Outline colour when selected.
    pub selection: Color32,
    /// Below this zoom only a filled box is drawn.
    pub detail_zoom: f32,
    /// Label size at zoom 1.
    pub font_size: f32,
}

/// A node's payload in the egui_graphs graph: its data, and the offset
/// from the pointer to the node's centre while egui_graphs drags it
/// (egui_graphs puts a dragged node's location under the pointer).
#[derive(Debug, Clone)]
pub struct NodePayload {
    /// Shared, so the per-frame clones egui_graphs makes are cheap.
    pub data: Arc<NodeData>,
    /// Added to the location to get the drawn centre.
    pub offset: Vec2,
}

/// The drawn state of one node, in layout space.
#[derive(Debug, Clone)]
pub struct NodeShape {
    /// Centre of the box.
    pub center: Pos2,
    /// Drawn with the selection outline and on top.
    pub selected: bool,
    /// The component's data.
    pub data: Arc<NodeData>,
    /// The outline at `center` (shared: egui_graphs clones nodes per edge).
    pub geometry: Arc<ShapeGeometry>,
}

impl NodeShape {
    /// The box in layout space.
    pub fn rect(&self) -> Rect {
        Rect::from_center_size(self.center, self.data.size)
    }

    fn rebuild(&mut self) {
        self.geometry = Arc::new(geometry(self.center, &self.data));
    }

    /// Whether `p` (layout space) hits the node: inside its outline, or well
    /// inside its box (thin shapes stay easy to grab).
    pub fn hit(&self, p: Pos2) -> bool {
        let r = self.rect();
        r.contains(p) && self.geometry.outline.contains(point(p)) || r.shrink(4.0).contains(p)
    }

    /// The node's shapes on the screen for the view in `ctx`: nothing when
    /// off-screen, a filled box when zoomed out, else the full figure.
    pub fn paint(&self, ctx: &DrawContext) -> Vec<Shape> {
        let t = View::of(ctx);
        let screen = t.rect(self.rect());
        if !ctx.painter.clip_rect().intersects(screen.expand(4.0)) {
            return Vec::new();
        }
        let d = &self.data;
        let look = &d.look;
        if t.zoom < d.detail_zoom {
            // Zoomed far out: a filled box says enough and costs one quad.
            let fill = if self.selected {
                d.selection
            } else {
                look.fill
            };
            return vec![Shape::rect_filled(screen, CornerRadius::ZERO, fill)];
        }
        let stroke = if self.selected {
            Stroke::new(2.5, d.selection)
        } else {
            Stroke::new(look.stroke_width * t.zoom.clamp(0.5, 2.0), look.stroke)
        };
        let mut out = Vec::with_capacity(6);
        let g = &self.geometry;
        if look.dash.is_some() {
            outline_shapes(&mut out, &g.outline, t, look.fill, Stroke::NONE, true);
            let mut pts: Vec<Pos2> = g
                .outline
                .flatten()
                .into_iter()
                .map(|p| t.pos(pos(p)))
                .collect();
            if let Some(first) = pts.first().copied() {
                pts.push(first);
            }
            out.extend(Shape::dashed_line(&pts, stroke, 5.0 * t.zoom, 3.0 * t.zoom));
        } else {
            outline_shapes(&mut out, &g.outline, t, look.fill, stroke, true);
        }
        for deco in &g.decorations {
            outline_shapes(&mut out, deco, t, Color32::TRANSPARENT, stroke, false);
        }
        let font = FontId::proportional(d.font_size * t.zoom);
        let galley = ctx
            .ctx
            .fonts_mut(|f| f.layout_no_wrap(d.label.clone(), font, look.text));
        let at = Align2::CENTER_CENTER
            .anchor_size(screen.center(), galley.size())
            .min;
        out.push(Shape::galley(at, galley, look.text));
        if t.zoom >= 0.6 {
            // The role icon in the top-left corner, drawn as the export draws it.
            let min = self.rect().min + Vec2::splat(4.0);
            let r = crate::layout::Rect {
                min: point(min),
                max: point(min + Vec2::splat(12.0)),
            };
            let icon = Stroke::new(1.2 * t.zoom.min(2.0), look.accent);
            for o in role_icon(d.role, r) {
                outline_shapes(&mut out, &o, t, Color32::TRANSPARENT, icon, false);
            }
        }
        out
    }
}

fn geometry(center: Pos2, d: &NodeData) -> ShapeGeometry {
    let geom = NodeGeom {
        center: point(center),
        width: d.size.x,
        height: d.size.y,
    };
    d.kind.geometry(&geom)
}

impl From<NodeProps<NodePayload>> for NodeShape {
    fn from(props: NodeProps<NodePayload>) -> Self {
        let data = props.payload.data.clone();
        let center = props.location() + props.payload.offset;
        NodeShape {
            center,
            selected: props.selected,
            geometry: Arc::new(geometry(center, &data)),
            data,
        }
    }
}

impl<E: Clone, Ty: EdgeType, Ix: IndexType> DisplayNode<NodePayload, E, Ty, Ix> for NodeShape {
    fn closest_boundary_point(&self, dir: Vec2) -> Pos2 {
        let towards = self.center + dir.normalized() * (self.data.size.length() + 1.0);
        pos(crate::layout::shape::boundary_point(
            &self.geometry.outline,
            point(towards),
        ))
    }

    fn shapes(&mut self, ctx: &DrawContext) -> Vec<Shape> {
        self.paint(ctx)
    }

    fn update(&mut self, props: &NodeProps<NodePayload>) {
        let center = props.location() + props.payload.offset;
        self.selected = props.selected;
        let same_data = Arc::ptr_eq(&self.data, &props.payload.data);
        if !same_data {
            self.data = props.payload.data.clone();
        }
        if !same_data || center != self.center {
            self.center = center;
            self.rebuild();
        }
    }

    fn is_inside(&self, pos: Pos2) -> bool {
        self.hit(pos)
    }
}

/// The view transform of a draw context: `screen = pan + layout · zoom`.
#[derive(Debug, Clone, Copy)]
pub struct View {
    /// Screen position of the layout origin.
    pub origin: Pos2,
    /// Screen points per layout unit.
    pub zoom: f32,
}

impl View {
    /// The transform egui_graphs draws with.
    pub fn of(ctx: &DrawContext) -> View {
        View {
            origin: ctx.meta.pan.to_pos2(),
            zoom: ctx.meta.zoom,
        }
    }

    /// Layout → screen.
    pub fn pos(&self, p: Pos2) -> Pos2 {
        self.origin + p.to_vec2() * self.zoom
    }

    /// A layout rectangle on the screen.
    pub fn rect(&self, r: Rect) -> Rect {
        Rect::from_min_max(self.pos(r.min), self.pos(r.max))
    }
}

/// A layout point as an egui point.
pub fn pos(p: Point) -> Pos2 {
    Pos2::new(p.x, p.y)
}

/// An egui point as a layout point.
pub fn point(p: Pos2) -> Point {
    Point { x: p.x, y: p.y }
}

/// Appends the shapes of `outline` (filled when `closed`) to `out`.
pub fn outline_shapes(
    out: &mut Vec<Shape>,
    outline: &Outline,
    t: View,
    fill: Color32,
    stroke: Stroke,
    closed: bool,
) {
    match outline {
        Outline::RoundedRect { rect, radius } => {
            let r = Rect::from_min_max(pos(rect.min), pos(rect.max));
            let radius = (radius * t.zoom).clamp(0.0, 255.0) as u8;
            out.push(Shape::rect_filled(
                t.rect(r),
                CornerRadius::same(radius),
                fill,
            ));
            out.push(Shape::rect_stroke(
                t.rect(r),
                CornerRadius::same(radius),
                stroke,
                StrokeKind::Middle,
            ));
        }
        Outline::Ellipse { center, rx, ry } => {
            let c = t.pos(pos(*center));
            let radius = Vec2::new(*rx, *ry) * t.zoom;
            out.push(Shape::ellipse_filled(c, radius, fill));
            out.push(Shape::ellipse_stroke(c, radius, stroke));
        }
        Outline::Polygon(_) | Outline::Path(_) => {
            let open = matches!(outline, Outline::Path(cmds) if !cmds.contains(&PathCmd::Close));
            let points: Vec<Pos2> = outline
                .flatten()
                .into_iter()
                .map(|p| t.pos(pos(p)))
                .collect();
            if closed && !open {
                out.push(Shape::convex_polygon(points, fill, stroke));
            } else {
                out.push(Shape::line(points, stroke));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gui::document::Document;
    use crate::gui::theme::{Theme, ThemeKind};
    use egui_graphs::Node;

    type TestNode = Node<NodePayload, (), petgraph::Directed, u32, NodeShape>;

    fn shape(kind: ShapeKind, center: Pos2) -> NodeShape {
        let theme = Theme::new(ThemeKind::Dark);
        let doc = Document::seed();
        let Some(c) = doc.graph.components().next() else {
            panic!("the seed has components")
        };
        let data = Arc::new(NodeData {
            id: c.id,
            label: "Orders".into(),
            kind,
            size: Vec2::new(120.0, 60.0),
            look: crate::gui::look::node_look(&doc.graph, c, &theme),
            role: Role::Consumer,
            selection: theme.selection,
            detail_zoom: theme.detail_zoom,
            font_size: theme.node_font_size,
        });
        let mut n = TestNode::new(NodePayload {
            data,
            offset: Vec2::ZERO,
        });
        let mut s = NodeShape::from(n.props().clone());
        n.set_location(center);
        DisplayNode::<NodePayload, (), petgraph::Directed, u32>::update(&mut s, n.props());
        s
    }

    #[test]
    fn a_rhombus_is_hit_inside_and_missed_in_its_box_corner() {
        let s = shape(ShapeKind::of_name("diam"), Pos2::new(100.0, 50.0));
        assert!(s.hit(Pos2::new(100.0, 50.0)));
        // The box corner lies outside the diamond and outside the shrunk box.
        assert!(!s.hit(Pos2::new(41.0, 21.0)));
        assert!(!s.hit(Pos2::new(300.0, 50.0)));
    }

    #[test]
    fn edges_end_on_the_outline_the_node_moved_to() {
        let s = shape(ShapeKind::of_name("rect"), Pos2::new(10.0, 0.0));
        let p = DisplayNode::<NodePayload, (), petgraph::Directed, u32>::closest_boundary_point(
            &s,
            Vec2::new(1.0, 0.0),
        );
        assert!((p.x - 70.0).abs() < 0.5 && p.y.abs() < 0.5, "{p:?}");
    }
}
