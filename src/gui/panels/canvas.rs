//! The canvas: draws the diagram (subgraph containers, edges, nodes) with
//! the shared shape geometry (`layout::shape`), and turns pointer input
//! into selection changes, live drags and [`Command`]s.
//!
//! Owns the canvas's public state ([`CanvasState`]: camera, selection,
//! rename, badges) that the app, inspector, status bar and tests read, and
//! dispatches to the canvas that draws: by default the egui_graphs one
//! (`graph_canvas`), or this module's own painter canvas with
//! `EDA_STUDIO_CANVAS=painter` (the one before egui_graphs, kept as a
//! fallback). Both share the drawing of groups, badges, the rename field
//! and the zoom buttons defined here.
//!
//! Reads the document; changes only positions during a drag (recorded as
//! one undo step when the drag ends) and its own view state. While a
//! simulation runs, a badge under each component shows its live numbers
//! from the latest [`Frame`] (read only; the canvas never drives the run).

use crate::export::style::role_icon;
use crate::gui::command::{Command, Edit};
use crate::gui::document::{Document, node_size};
use crate::gui::look::node_look;
use crate::gui::panels::palette::PaletteDrop;
use crate::gui::theme::Theme;
use crate::layout::shape::{Outline, ShapeGeometry, ShapeKind, boundary_point};
use crate::layout::{NodeGeom, Point};
use crate::live::{ComponentFrame, Frame};
use crate::mermaid::{Arrow, Stroke as LineStroke};
use crate::model::{ComponentId, ConnectionId, GroupId};
use crate::sim::GroupSummary;
use egui::{
    Align2, Color32, CornerRadius, FontId, Pos2, Rect, Sense, Shape, Stroke, StrokeKind, Vec2,
    pos2, vec2,
};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// What is selected on the canvas.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Selection {
    /// Selected components.
    pub nodes: BTreeSet<ComponentId>,
    /// Selected connections.
    pub edges: BTreeSet<ConnectionId>,
}

impl Selection {
    /// Whether nothing is selected.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty() && self.edges.is_empty()
    }

    /// Deselects everything.
    pub fn clear(&mut self) {
        self.nodes.clear();
        self.edges.clear();
    }

    /// Drops ids that no longer exist in `doc`.
    pub fn retain_existing(&mut self, doc: &Document) {
        self.nodes.retain(|id| doc.graph.component(*id).is_some());
        self.edges.retain(|id| doc.graph.connection(*id).is_some());
    }
}

/// Maps layout space to the screen: `screen = origin + layout · zoom`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Transform {
    /// Where the layout origin is on the screen.
    pub origin: Pos2,
    /// Screen points per layout unit.
    pub zoom: f32,
}

impl Transform {
    /// Layout → screen.
    pub fn to_screen(&self, p: Pos2) -> Pos2 {
        self.origin + p.to_vec2() * self.zoom
    }

    /// Screen → layout.
    pub fn to_layout(&self, s: Pos2) -> Pos2 {
        ((s - self.origin) / self.zoom).to_pos2()
    }

    /// A layout rectangle on the screen.
    pub fn rect_to_screen(&self, r: Rect) -> Rect {
        Rect::from_min_max(self.to_screen(r.min), self.to_screen(r.max))
    }
}

/// A drag in progress.
#[derive(Debug, Clone)]
enum Drag {
    /// Moving nodes; their positions when the drag began.
    Nodes { start: Vec<(ComponentId, Pos2)> },
    /// Rubber-band selection from this screen point.
    Box { from: Pos2, additive: bool },
    /// Drawing a new connection from this component.
    Connect { from: ComponentId },
}

/// The canvas's view state: camera, selection, gesture in progress.
#[derive(Debug)]
pub struct CanvasState {
    /// Screen points per layout unit.
    pub zoom: f32,
    /// Offset of the layout origin from the canvas centre, in screen points.
    pub pan: Vec2,
    /// Fit the diagram into view on the next frame.
    pub fit_pending: bool,
    /// What is selected.
    pub selection: Selection,
    /// The component being renamed inline, and the text typed so far.
    pub rename: Option<(ComponentId, String)>,
    /// The transform of the last frame drawn (tests use it to find nodes).
    pub transform: Transform,
    /// The canvas's screen rectangle in the last frame.
    pub rect: Rect,
    /// Items drawn in the last frame (after culling), for the status bar.
    pub drawn: usize,
    /// The running simulation's latest frame: badges show its numbers.
    pub live: Option<Arc<Frame>>,
    /// The badge text drawn under each component in the last frame, by key.
    pub badges: BTreeMap<String, String>,
    /// Where badges and bus grids were drawn in the last frame.
    pub overlay: super::badges::DrawnOverlay,
    /// Bus nodes expanded to show their partition grid (Mermaid ids).
    pub expanded_buses: std::collections::BTreeSet<String>,
    drag: Option<Drag>,
    /// Which canvas draws: this painter or the egui_graphs one.
    pub backend: CanvasBackend,
    /// The egui_graphs canvas's graph and gesture state.
    pub(super) graphs: super::graph_canvas::GraphCanvas,
    /// The right-click fault menu of a running simulation.
    pub fault_menu: super::fault_menu::FaultMenuState,
}

/// Which implementation draws the canvas (`EDA_STUDIO_CANVAS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CanvasBackend {
    /// Drawn here with egui's painter (`EDA_STUDIO_CANVAS=painter`), the
    /// canvas before egui_graphs; kept as a fallback.
    Painter,
    /// The default: egui_graphs' `GraphView` on frames with input, the same
    /// node and edge shapes drawn directly on idle frames.
    Graphs,
    /// `GraphView` on every frame, for measuring it (`EDA_STUDIO_CANVAS=graphview`);
    /// the window then never idles.
    GraphViewAlways,
}

impl CanvasBackend {
    /// The backend chosen by the `EDA_STUDIO_CANVAS` environment variable.
    pub fn from_env() -> CanvasBackend {
        match std::env::var("EDA_STUDIO_CANVAS").as_deref() {
            Ok("painter") => CanvasBackend::Painter,
            Ok("graphview") => CanvasBackend::GraphViewAlways,
            _ => CanvasBackend::Graphs,
        }
    }
}

impl Default for CanvasState {
    fn default() -> Self {
        CanvasState {
            zoom: 1.0,
            pan: Vec2::ZERO,
            fit_pending: true,
            selection: Selection::default(),
            rename: None,
            transform: Transform {
                origin: Pos2::ZERO,
                zoom: 1.0,
            },
            rect: Rect::NOTHING,
            drawn: 0,
            live: None,
            badges: BTreeMap::new(),
            overlay: Default::default(),
            expanded_buses: Default::default(),
            drag: None,
            backend: CanvasBackend::from_env(),
            graphs: Default::default(),
            fault_menu: Default::default(),
        }
    }
}

/// Smallest and largest zoom.
const ZOOM_RANGE: std::ops::RangeInclusive<f32> = 0.02..=4.0;
/// Pointer distance (screen points) within which an edge counts as hit.
const EDGE_HIT: f32 = 6.0;
/// Radius of the connection handle on a hovered node.
const HANDLE_RADIUS: f32 = 6.0;

impl CanvasState {
    /// Zooms by `factor` keeping the screen point `anchor` still.
    pub fn zoom_by(&mut self, factor: f32, anchor: Pos2) {
        let new_zoom = (self.zoom * factor).clamp(*ZOOM_RANGE.start(), *ZOOM_RANGE.end());
        let center = self.rect.center();
        let layout_at = self.transform.to_layout(anchor);
        self.zoom = new_zoom;
        // Keep `layout_at` under `anchor`: anchor = center + pan + layout_at * zoom.
        self.pan = anchor - center - layout_at.to_vec2() * new_zoom;
        self.transform = Transform {
            origin: center + self.pan,
            zoom: new_zoom,
        };
    }

    /// Zooms and pans so `bounds` (layout space) fills the canvas.
    pub(super) fn fit(&mut self, bounds: Option<Rect>) {
        let Some(b) = bounds else {
            self.zoom = 1.0;
            self.pan = Vec2::ZERO;
            return;
        };
        let b = b.expand(30.0);
        let avail = self.rect.size();
        let zoom = (avail.x / b.width().max(1.0)).min(avail.y / b.height().max(1.0));
        self.zoom = zoom.clamp(*ZOOM_RANGE.start(), 1.5);
        self.pan = -b.center().to_vec2() * self.zoom;
    }

    /// Where component `id`'s centre is on the screen in the last frame.
    pub fn screen_pos(&self, doc: &Document, id: ComponentId) -> Pos2 {
        self.transform.to_screen(doc.position(id))
    }
}

/// Per-frame geometry of one node, in layout space.
struct NodeFrame {
    id: ComponentId,
    geom: NodeGeom,
    shape: ShapeGeometry,
    rect: Rect,
}

fn point(p: Pos2) -> Point {
    Point { x: p.x, y: p.y }
}

fn pos(p: Point) -> Pos2 {
    pos2(p.x, p.y)
}

/// Draws the canvas in the remaining space of `ui` and handles its input.
pub fn canvas_ui(
    ui: &mut egui::Ui,
    doc: &mut Document,
    state: &mut CanvasState,
    theme: &Theme,
    commands: &mut Vec<Command>,
) {
    if state.backend != CanvasBackend::Painter {
        super::graph_canvas::canvas_ui(ui, doc, state, theme, commands);
        return;
    }
    let (rect, response) = ui.allocate_exact_size(ui.available_size(), Sense::click_and_drag());
    state.rect = rect;
    if state.fit_pending && rect.width() > 10.0 {
        state.fit(doc.bounds());
        state.fit_pending = false;
    }
    state.transform = Transform {
        origin: rect.center() + state.pan,
        zoom: state.zoom,
    };

    let nodes = node_frames(doc);
    let index: BTreeMap<ComponentId, usize> =
        nodes.iter().enumerate().map(|(i, n)| (n.id, i)).collect();
    let groups = group_rects(doc);

    handle_view_input(ui, &response, state);
    handle_pointer(ui, &response, doc, state, &nodes, &groups, theme, commands);
    let (live, t) = (state.live.clone(), state.transform);
    super::fault_menu::node_menu(
        &response,
        live.as_deref(),
        &mut state.fault_menu,
        commands,
        |p| {
            let id = hit_node(&nodes, t.to_layout(p))?;
            Some(doc.graph.component(id)?.key.clone())
        },
    );
    if let Some(item) = response.dnd_release_payload::<PaletteDrop>()
        && let Some(p) = ui.input(|i| i.pointer.interact_pos())
    {
        commands.push(Command::AddComponent(item.0, state.transform.to_layout(p)));
    }

    let painter = ui.painter_at(rect);
    // The background is the window's clear colour (`EdaApp::clear_color`).
    let t = state.transform;
    let mut drawn = 0;
    let visible = t.to_layout(rect.min);
    let visible = Rect::from_min_max(visible, t.to_layout(rect.max)).expand(20.0);
    for (gid, grect) in &groups {
        if grect.intersects(visible) {
            draw_group(&painter, doc, *gid, *grect, t, theme);
            drawn += 1;
        }
    }
    let detailed = t.zoom >= theme.detail_zoom;
    let mut labels: Vec<(Pos2, &str)> = Vec::new();
    let routes = doc.routes();
    for c in doc.graph.connections() {
        let (Some(&a), Some(&b)) = (index.get(&c.from), index.get(&c.to)) else {
            continue;
        };
        let (a, b) = (&nodes[a], &nodes[b]);
        let route = routes.get(&c.id).map(Vec::as_slice);
        let reach = route
            .into_iter()
            .flatten()
            .fold(a.rect.union(b.rect), |r, p| {
                r.union(Rect::from_min_max(pos(*p), pos(*p)))
            });
        if !reach.intersects(visible) {
            continue;
        }
        let selected = state.selection.edges.contains(&c.id);
        if let Some(mid) = draw_edge(&painter, c, (a, b), route, t, theme, selected)
            && detailed
            && !c.label.is_empty()
        {
            labels.push((mid, &c.label));
        }
        drawn += 1;
    }
    if let Some(frame) = &state.live {
        let edge_path = |from: &str, to: &str| {
            let (a, b) = (doc.graph.id_of(from)?, doc.graph.id_of(to)?);
            let c = doc.graph.outgoing(a).into_iter().find(|c| c.to == b)?;
            let (na, nb) = (&nodes[*index.get(&a)?], &nodes[*index.get(&b)?]);
            Some(edge_line(na, nb, routes.get(&c.id).map(Vec::as_slice)))
        };
        let flow = &frame.flow;
        super::flow::paint_flow(&painter, flow, edge_path, |p| t.to_screen(p), t.zoom, theme);
    }
    let hovered = response
        .hover_pos()
        .and_then(|p| hit_node(&nodes, t.to_layout(p)));
    for n in &nodes {
        if !n.rect.intersects(visible) {
            continue;
        }
        let selected = state.selection.nodes.contains(&n.id);
        draw_node(&painter, doc, n, t, theme, selected, detailed);
        drawn += 1;
    }
    if let Some(frame) = state.live.clone()
        && let Some(trace) = &frame.log.trace
    {
        // The event log's selected event: its path and causes.
        let node = |k: &str| Some(&nodes[*index.get(&doc.graph.id_of(k)?)?]);
        let edge = |a: &str, b: &str| {
            let (na, nb) = (node(a)?, node(b)?);
            let mut links = doc.graph.connections();
            links
                .any(|c| c.from == na.id && c.to == nb.id)
                .then(|| edge_ends(na, nb))
        };
        let geometry = super::log_overlay::PathGeometry {
            to_screen: &|p| t.to_screen(p),
            node_rect: &|k| node(k).map(|n| n.rect),
            edge_ends: &edge,
            zoom: t.zoom,
        };
        super::log_overlay::paint_event_path(&painter, trace, theme, &geometry);
    }
    state.badges.clear();
    state.overlay = Default::default();
    if detailed && let Some(frame) = state.live.clone() {
        let live_nodes: Vec<super::badges::LiveNode<'_>> = nodes
            .iter()
            .filter_map(|n| {
                let c = doc.graph.component(n.id)?;
                Some(super::badges::LiveNode {
                    key: &c.key,
                    role: c.role,
                    rect: n.rect,
                })
            })
            .collect();
        let legend = super::flow::legend_rect(&painter, &frame.flow, rect, theme);
        super::badges::live_overlay_ui(
            ui,
            &painter,
            &frame,
            &live_nodes,
            t,
            theme,
            legend.as_slice(),
            &mut state.expanded_buses,
            &mut state.badges,
            &mut state.overlay,
        );
    }
    // Labels go over nodes, as Mermaid draws them.
    let font = FontId::proportional(theme.edge_font_size * t.zoom);
    for (mid, text) in labels {
        let galley = painter.layout_no_wrap(text.to_string(), font.clone(), theme.ink);
        let r = Rect::from_center_size(mid, galley.size() + vec2(6.0, 2.0));
        painter.rect_filled(r, CornerRadius::same(2), theme.edge_label_bg);
        painter.galley(r.min + vec2(3.0, 1.0), galley, theme.ink);
    }
    if let Some(frame) = &state.live {
        super::flow::paint_legend(&painter, &frame.flow, rect, theme);
    }
    state.drawn = drawn;
    if let Some(id) = hovered
        && let Some(n) = index.get(&id).map(|&i| &nodes[i])
        && state.drag.is_none()
    {
        let h = handle_pos(n, t);
        painter.circle(
            h,
            HANDLE_RADIUS,
            theme.canvas_bg,
            Stroke::new(1.5, theme.connect),
        );
    }
    match &state.drag {
        Some(Drag::Box { from, .. }) => {
            if let Some(p) = response.interact_pointer_pos() {
                let r = Rect::from_two_pos(*from, p);
                painter.rect(
                    r,
                    CornerRadius::ZERO,
                    theme.selection_fill,
                    Stroke::new(1.0, theme.selection),
                    StrokeKind::Inside,
                );
            }
        }
        Some(Drag::Connect { from }) => {
            if let (Some(p), Some(n)) = (
                response.interact_pointer_pos(),
                index.get(from).map(|&i| &nodes[i]),
            ) {
                painter.line_segment(
                    [t.to_screen(n.rect.center()), p],
                    Stroke::new(2.0, theme.connect),
                );
            }
        }
        _ => {}
    }
    rename_ui(ui, doc, state, commands);
    zoom_buttons_ui(ui, rect, commands);
}

/// Zoom in, zoom out and fit, in the canvas's top-right corner.
pub(super) fn zoom_buttons_ui(ui: &mut egui::Ui, rect: Rect, commands: &mut Vec<Command>) {
    let area = Rect::from_min_size(rect.right_top() + vec2(-118.0, 8.0), vec2(110.0, 24.0));
    ui.scope_builder(
        egui::UiBuilder::new()
            .max_rect(area)
            .layout(egui::Layout::left_to_right(egui::Align::Center)),
        |ui| {
            if ui
                .button(" + ")
                .on_hover_text("Zoom in (+, Ctrl+wheel)")
                .clicked()
            {
                commands.push(Command::Zoom(1.25));
            }
            if ui
                .button(" − ")
                .on_hover_text("Zoom out (-, Ctrl+wheel)")
                .clicked()
            {
                commands.push(Command::Zoom(0.8));
            }
            if ui
                .button("Fit")
                .on_hover_text("Fit the diagram (F)")
                .clicked()
            {
                commands.push(Command::Fit);
            }
        },
    );
}

fn node_frames(doc: &Document) -> Vec<NodeFrame> {
    doc.graph
        .components()
        .map(|c| {
            let size = node_size(c);
            let center = doc.position(c.id);
            let geom = NodeGeom {
                center: point(center),
                width: size.x,
                height: size.y,
            };
            let shape = ShapeKind::of(c.shape.as_ref()).geometry(&geom);
            NodeFrame {
                id: c.id,
                geom,
                shape,
                rect: Rect::from_center_size(center, size),
            }
        })
        .collect()
}

/// Each group's container in layout space, outermost first (drawn first).
pub(super) fn group_rects(doc: &Document) -> Vec<(GroupId, Rect)> {
    let mut rects: Vec<(GroupId, Rect)> = crate::gui::document::group_rects(doc)
        .into_iter()
        .map(|(g, r)| (g, Rect::from_min_max(pos(r.min), pos(r.max))))
        .collect();
    rects.reverse();
    rects
}

fn handle_pos(n: &NodeFrame, t: Transform) -> Pos2 {
    t.to_screen(pos2(n.rect.max.x, n.rect.center().y))
}

fn hit_node(nodes: &[NodeFrame], p: Pos2) -> Option<ComponentId> {
    nodes
        .iter()
        .rev()
        .find(|n| {
            n.rect.contains(p) && n.shape.outline.contains(point(p))
                || n.rect.shrink(4.0).contains(p)
        })
        .map(|n| n.id)
}

fn hit_edge(
    doc: &Document,
    nodes: &[NodeFrame],
    index: &BTreeMap<ComponentId, usize>,
    t: Transform,
    s: Pos2,
) -> Option<ConnectionId> {
    let routes = doc.routes();
    doc.graph.connections().find_map(|c| {
        let a = &nodes[*index.get(&c.from)?];
        let b = &nodes[*index.get(&c.to)?];
        let line = edge_line(a, b, routes.get(&c.id).map(Vec::as_slice));
        let d = line
            .windows(2)
            .map(|w| {
                super::graph_canvas::distance_to_segment(s, t.to_screen(w[0]), t.to_screen(w[1]))
            })
            .fold(f32::INFINITY, f32::min);
        (d <= EDGE_HIT).then_some(c.id)
    })
}

/// The edge's line in layout space: the layout's route (bending around the
/// layers between its ends) with its ends on the two outlines, or straight
/// between the outlines when there is no route with bends.
fn edge_line(a: &NodeFrame, b: &NodeFrame, route: Option<&[Point]>) -> Vec<Pos2> {
    match route {
        Some(r) if r.len() > 2 => {
            let n = r.len();
            let mut line: Vec<Pos2> = r.iter().map(|p| pos(*p)).collect();
            line[0] = pos(boundary_point(&a.shape.outline, r[1]));
            line[n - 1] = pos(boundary_point(&b.shape.outline, r[n - 2]));
            line
        }
        _ => {
            let (p, q) = edge_ends(a, b);
            vec![p, q]
        }
    }
}

pub(super) fn hit_group_title(
    groups: &[(GroupId, Rect)],
    p: Pos2,
    theme: &Theme,
) -> Option<GroupId> {
    groups.iter().rev().find_map(|(g, r)| {
        let band = Rect::from_min_max(r.min, pos2(r.max.x, r.min.y + theme.group_title_height));
        band.contains(p).then_some(*g)
    })
}

pub(super) fn group_members(
    doc: &Document,
    g: GroupId,
    out: &mut BTreeSet<ComponentId>,
    depth: usize,
) {
    let Some(group) = doc.graph.group(g) else {
        return;
    };
    if depth > 64 {
        return;
    }
    out.extend(group.members.iter().copied());
    for child in &group.groups {
        group_members(doc, *child, out, depth + 1);
    }
}

/// Zoom (Ctrl+wheel, pinch) and pan (wheel, middle or right drag).
fn handle_view_input(ui: &egui::Ui, response: &egui::Response, state: &mut CanvasState) {
    if let Some(p) = response.hover_pos() {
        let (zoom, scroll) = ui.input(|i| (i.zoom_delta(), i.smooth_scroll_delta));
        if zoom != 1.0 {
            state.zoom_by(zoom, p);
        } else if scroll != Vec2::ZERO {
            state.pan += scroll;
        }
    }
    if response.dragged_by(egui::PointerButton::Middle)
        || response.dragged_by(egui::PointerButton::Secondary)
    {
        state.pan += response.drag_delta();
    }
    state.transform = Transform {
        origin: state.rect.center() + state.pan,
        zoom: state.zoom,
    };
}

#[allow(clippy::too_many_arguments)]
fn handle_pointer(
    ui: &egui::Ui,
    response: &egui::Response,
    doc: &mut Document,
    state: &mut CanvasState,
    nodes: &[NodeFrame],
    groups: &[(GroupId, Rect)],
    theme: &Theme,
    commands: &mut Vec<Command>,
) {
    let t = state.transform;
    let modifiers = ui.input(|i| i.modifiers);
    let index: BTreeMap<ComponentId, usize> =
        nodes.iter().enumerate().map(|(i, n)| (n.id, i)).collect();

    if response.drag_started_by(egui::PointerButton::Primary)
        && let Some(press) = ui.input(|i| i.pointer.press_origin())
    {
        let lp = t.to_layout(press);
        let on_handle = nodes
            .iter()
            .rev()
            .find(|n| handle_pos(n, t).distance(press) <= HANDLE_RADIUS + 2.0)
            .map(|n| n.id);
        let hit = hit_node(nodes, lp);
        state.drag = if let Some(from) = on_handle.or(hit.filter(|_| modifiers.shift)) {
            Some(Drag::Connect { from })
        } else if let Some(id) = hit {
            if !state.selection.nodes.contains(&id) {
                if !modifiers.command {
                    state.selection.clear();
                }
                state.selection.nodes.insert(id);
            }
            Some(Drag::Nodes {
                start: start_positions(doc, &state.selection.nodes),
            })
        } else if let Some(g) = hit_group_title(groups, lp, theme) {
            let mut members = BTreeSet::new();
            group_members(doc, g, &mut members, 0);
            state.selection.clear();
            state.selection.nodes = members;
            Some(Drag::Nodes {
                start: start_positions(doc, &state.selection.nodes),
            })
        } else {
            Some(Drag::Box {
                from: press,
                additive: modifiers.command,
            })
        };
    }

    if response.dragged_by(egui::PointerButton::Primary)
        && let Some(Drag::Nodes { start }) = &state.drag
    {
        let delta = response.drag_delta() / t.zoom;
        // egui reports every dragged frame, also with no movement: skip those.
        if delta != Vec2::ZERO {
            for (id, _) in start {
                if let Some(p) = doc.positions.get_mut(id) {
                    *p += delta;
                }
            }
        }
    }

    if response.drag_stopped() {
        match state.drag.take() {
            Some(Drag::Nodes { start }) => {
                let moved = start
                    .iter()
                    .any(|(id, p)| doc.positions.get(id).is_some_and(|q| q != p));
                if moved {
                    commands.push(Command::Record(Edit::Move(start)));
                }
            }
            Some(Drag::Box { from, additive }) => {
                if let Some(to) = response.interact_pointer_pos() {
                    let r = Rect::from_two_pos(t.to_layout(from), t.to_layout(to));
                    if !additive {
                        state.selection.clear();
                    }
                    for n in nodes {
                        if r.intersects(n.rect) {
                            state.selection.nodes.insert(n.id);
                        }
                    }
                }
            }
            Some(Drag::Connect { from }) => {
                if let Some(to) = response
                    .interact_pointer_pos()
                    .and_then(|p| hit_node(nodes, t.to_layout(p)))
                    && to != from
                {
                    commands.push(Command::Edit(Edit::Connect {
                        from,
                        to,
                        label: String::new(),
                    }));
                }
            }
            None => {}
        }
    }

    if response.double_clicked()
        && let Some(p) = response.interact_pointer_pos()
        && let Some(id) = hit_node(nodes, t.to_layout(p))
    {
        let label = doc
            .graph
            .component(id)
            .map(|c| c.label.clone())
            .unwrap_or_default();
        state.rename = Some((id, label));
        state.selection.clear();
        state.selection.nodes.insert(id);
    } else if response.clicked()
        && let Some(p) = response.interact_pointer_pos()
    {
        let lp = t.to_layout(p);
        if let Some(id) = hit_node(nodes, lp) {
            if modifiers.command {
                if !state.selection.nodes.remove(&id) {
                    state.selection.nodes.insert(id);
                }
            } else {
                state.selection.clear();
                state.selection.nodes.insert(id);
            }
        } else if let Some(e) = hit_edge(doc, nodes, &index, t, p) {
            if !modifiers.command {
                state.selection.clear();
            }
            state.selection.edges.insert(e);
        } else if !modifiers.command {
            state.selection.clear();
        }
        response.request_focus();
    }
}

pub(super) fn start_positions(
    doc: &Document,
    ids: &BTreeSet<ComponentId>,
) -> Vec<(ComponentId, Pos2)> {
    ids.iter().map(|id| (*id, doc.position(*id))).collect()
}

/// The inline label editor over a node being renamed.
pub(super) fn rename_ui(
    ui: &mut egui::Ui,
    doc: &Document,
    state: &mut CanvasState,
    commands: &mut Vec<Command>,
) {
    let Some((id, text)) = &mut state.rename else {
        return;
    };
    let Some(node) = doc.node_rect(*id) else {
        state.rename = None;
        return;
    };
    let r = state.transform.rect_to_screen(node);
    let r = Rect::from_center_size(r.center(), vec2(r.width().max(160.0), 24.0));
    let edit = egui::TextEdit::singleline(text).id_salt("rename");
    let resp = ui.put(r, edit);
    if !resp.has_focus() && !resp.lost_focus() {
        resp.request_focus();
    }
    let enter = ui.input(|i| i.key_pressed(egui::Key::Enter));
    let escape = ui.input(|i| i.key_pressed(egui::Key::Escape));
    if escape {
        state.rename = None;
    } else if resp.lost_focus() || enter {
        let id = *id;
        let label = text.trim().to_string();
        state.rename = None;
        let unchanged = doc.graph.component(id).is_some_and(|c| c.label == label);
        if !label.is_empty() && !unchanged {
            commands.push(Command::Edit(Edit::SetLabel(id, label)));
        }
    }
}

// ----- drawing -----------------------------------------------------------

pub(super) fn draw_group(
    painter: &egui::Painter,
    doc: &Document,
    g: GroupId,
    r: Rect,
    t: Transform,
    theme: &Theme,
) {
    let Some(group) = doc.graph.group(g) else {
        return;
    };
    let s = t.rect_to_screen(r);
    painter.rect(
        s,
        CornerRadius::same(4),
        theme.group_fill,
        Stroke::new(1.0, theme.group_stroke),
        StrokeKind::Inside,
    );
    if t.zoom >= theme.detail_zoom {
        painter.text(
            pos2(
                s.center().x,
                s.min.y + theme.group_title_height * t.zoom / 2.0,
            ),
            Align2::CENTER_CENTER,
            &group.title,
            FontId::proportional(theme.node_font_size * t.zoom),
            theme.ink,
        );
    }
}

fn edge_ends(a: &NodeFrame, b: &NodeFrame) -> (Pos2, Pos2) {
    let p = boundary_point(&a.shape.outline, b.geom.center);
    let q = boundary_point(&b.shape.outline, a.geom.center);
    (pos(p), pos(q))
}

/// Draws one connection; returns where its label goes.
fn draw_edge(
    painter: &egui::Painter,
    c: &crate::model::Connection,
    (a, b): (&NodeFrame, &NodeFrame),
    route: Option<&[Point]>,
    t: Transform,
    theme: &Theme,
    selected: bool,
) -> Option<Pos2> {
    let color = if selected {
        theme.selection
    } else {
        theme.edge
    };
    let width = match c.stroke {
        LineStroke::Thick => theme.thick_edge_width,
        _ => theme.edge_width,
    } * t.zoom.clamp(0.5, 2.0);
    if a.id == b.id {
        // A self-loop: a small circle on the node's top-right corner.
        let corner = t.to_screen(pos2(a.rect.max.x, a.rect.min.y));
        painter.circle_stroke(corner, 12.0 * t.zoom, Stroke::new(width, color));
        return Some(corner + vec2(0.0, -12.0 * t.zoom));
    }
    let mut line: Vec<Pos2> = edge_line(a, b, route)
        .into_iter()
        .map(|p| t.to_screen(p))
        .collect();
    line.dedup_by(|x, y| x.distance(*y) < 0.5);
    if line.len() < 2 {
        return None;
    }
    let n = line.len();
    let (p, q) = (line[0], line[n - 1]);
    let stroke = Stroke::new(width, color);
    // Markers follow the first and last segments.
    let dir = (q - line[n - 2]).normalized();
    let start_dir = (line[1] - p).normalized();
    let size = theme.arrow_size * t.zoom.clamp(0.4, 2.0);
    // Stop the line short of a marker so the arrow tip stays sharp.
    let inset = |arrow: Arrow| {
        if arrow == Arrow::None {
            0.0
        } else {
            size * 0.8
        }
    };
    line[0] = p + start_dir * inset(c.arrow_start);
    line[n - 1] = q - dir * inset(c.arrow_end);
    match c.stroke {
        LineStroke::Dotted => {
            painter.extend(Shape::dashed_line(&line, stroke, 3.0, 4.0));
        }
        LineStroke::Invisible => {
            if selected {
                painter.extend(Shape::dashed_line(&line, Stroke::new(1.0, color), 2.0, 6.0));
            }
        }
        _ => {
            painter.add(Shape::line(line.clone(), stroke));
        }
    }
    if c.stroke != LineStroke::Invisible {
        draw_marker(painter, c.arrow_end, q, dir, size, color, width);
        draw_marker(painter, c.arrow_start, p, -start_dir, size, color, width);
    }
    let mid: Vec<Point> = line.iter().map(|p| point(*p)).collect();
    crate::layout::label_anchor(&mid).map(pos)
}

/// Draws an end marker whose tip is at `tip`, the edge arriving along `dir`.
fn draw_marker(
    painter: &egui::Painter,
    arrow: Arrow,
    tip: Pos2,
    dir: Vec2,
    size: f32,
    color: Color32,
    width: f32,
) {
    let mut shapes = Vec::new();
    super::graph_canvas::marker(&mut shapes, arrow, tip, dir, size, color, width);
    painter.extend(shapes);
}

fn draw_node(
    painter: &egui::Painter,
    doc: &Document,
    n: &NodeFrame,
    t: Transform,
    theme: &Theme,
    selected: bool,
    detailed: bool,
) {
    let Some(c) = doc.graph.component(n.id) else {
        return;
    };
    let look = node_look(&doc.graph, c, theme);
    let stroke_color = if selected {
        theme.selection
    } else {
        look.stroke
    };
    let width = if selected {
        2.5
    } else {
        look.stroke_width * t.zoom.clamp(0.5, 2.0)
    };
    let stroke = Stroke::new(width, stroke_color);
    if !detailed {
        // Zoomed far out: a filled box says enough and costs one quad.
        painter.rect_filled(t.rect_to_screen(n.rect), CornerRadius::ZERO, look.fill);
        return;
    }
    let geometry = &n.shape;
    if look.dash.is_some() {
        // Dashed outline: fill without a stroke, then the outline in dashes.
        paint_outline(painter, &geometry.outline, t, look.fill, Stroke::NONE, true);
        let mut pts: Vec<Pos2> = geometry
            .outline
            .flatten()
            .into_iter()
            .map(|p| t.to_screen(pos(p)))
            .collect();
        if let Some(first) = pts.first().copied() {
            pts.push(first);
        }
        painter.extend(Shape::dashed_line(&pts, stroke, 5.0 * t.zoom, 3.0 * t.zoom));
    } else {
        paint_outline(painter, &geometry.outline, t, look.fill, stroke, true);
    }
    for d in &geometry.decorations {
        paint_outline(painter, d, t, Color32::TRANSPARENT, stroke, false);
    }
    let center = t.to_screen(n.rect.center());
    painter.text(
        center,
        Align2::CENTER_CENTER,
        &c.label,
        FontId::proportional(theme.node_font_size * t.zoom),
        look.text,
    );
    if t.zoom >= 0.6 {
        // The role icon in the top-left corner, drawn as the export draws it.
        let min = n.rect.min + vec2(4.0, 4.0);
        let r = crate::layout::Rect {
            min: point(min),
            max: point(min + vec2(12.0, 12.0)),
        };
        let icon_stroke = Stroke::new(1.2 * t.zoom.min(2.0), look.accent);
        for o in role_icon(c.role, r) {
            paint_outline(painter, &o, t, Color32::TRANSPARENT, icon_stroke, false);
        }
    }
}

/// A component's badge: events in per virtual second (events out per
/// second for a pure source such as a producer), lag (groups), and the
/// trouble it is in now — failures over the sparkline's window and
/// records waiting in its DLQ; and whether it alerts (only while in
/// trouble: a DLQ emptied by a replay and failures long past do not).
/// The run's totals are in [`badge_totals`].
pub fn badge_text(c: &ComponentFrame, group: Option<&GroupSummary>) -> (String, bool) {
    let per_s = |rate: f64| {
        if rate < 10.0 {
            format!("{rate:.1}/s")
        } else {
            format!("{rate:.0}/s")
        }
    };
    let mut text = if is_source(c) {
        format!("{} out", per_s(c.rate_out_per_s))
    } else if c.spark_rate.is_empty() && c.events_in > 0 {
        // A group added mid-run in an engine from before such groups
        // were sampled (an older recording): its input is counted only.
        format!("{} read", c.events_in)
    } else {
        per_s(c.rate_in_per_s)
    };
    if let Some(lag) = c.lag {
        text.push_str(&format!(" · lag {lag}"));
    }
    let failures = c.recent_failures;
    let dlq = c.dlq_waiting.or(group.map(|g| g.dlq_len)).unwrap_or(0);
    if failures > 0 {
        text.push_str(&format!(" · fail {failures}"));
    }
    if dlq > 0 {
        text.push_str(&format!(" · DLQ {dlq}"));
    }
    (text, failures > 0 || dlq > 0)
}

/// Whether `c` only sends (a producer): its badge counts what goes out.
fn is_source(c: &ComponentFrame) -> bool {
    c.events_in == 0 && (c.events_out > 0 || c.role == crate::model::Role::Producer)
}

/// A badge's hover: the run's totals behind its numbers.
pub fn badge_totals(c: &ComponentFrame, group: Option<&GroupSummary>) -> String {
    let mut text = format!(
        "{}: {} in, {} out so far",
        c.label, c.events_in, c.events_out
    );
    if let Some(d) = c.delivery {
        text.push_str(&format!(
            "\nfailed attempts {} (last {} lately) · retries {} · dead-lettered {}",
            d.failures, c.recent_failures, d.retries, d.dead_lettered
        ));
    }
    if let Some(g) = group {
        let waiting = c.dlq_waiting.unwrap_or(g.dlq_len);
        text.push_str(&format!(
            "\nDLQ {}: {waiting} waiting, {} in all",
            g.dlq_topic, g.dlq_len
        ));
    }
    if c.rejected > 0 {
        text.push_str(&format!("\nrejected {}", c.rejected));
    }
    text
}

fn paint_outline(
    painter: &egui::Painter,
    outline: &Outline,
    t: Transform,
    fill: Color32,
    stroke: Stroke,
    closed: bool,
) {
    let view = super::graph_canvas::View {
        origin: t.origin,
        zoom: t.zoom,
    };
    let mut shapes = Vec::new();
    super::graph_canvas::outline_shapes(&mut shapes, outline, view, fill, stroke, closed);
    painter.extend(shapes);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Role;
    use crate::sim::DeliveryCounters;

    fn consumer(rate: f64, lag: u64, failures: u64) -> ComponentFrame {
        ComponentFrame {
            key: "C".into(),
            label: "C".into(),
            role: Role::Consumer,
            events_in: 10,
            events_out: 0,
            rejected: 0,
            rate_in_per_s: rate,
            lag: Some(lag),
            delivery: Some(DeliveryCounters {
                failures,
                ..DeliveryCounters::default()
            }),
            processing_us: None,
            spark_rate: vec![rate; 3],
            spark_lag: vec![lag; 3],
            rate_out_per_s: 0.0,
            spark_out: Vec::new(),
            dlq_waiting: Some(0),
            recent_failures: failures,
        }
    }

    fn group(dlq_len: u64) -> GroupSummary {
        GroupSummary {
            group: "C".into(),
            instances: 1,
            idempotent: true,
            delivery: DeliveryCounters::default(),
            dlq_topic: "C.dlq".into(),
            dlq_len,
            store_len: None,
            partitions: Vec::new(),
        }
    }

    #[test]
    fn a_healthy_consumer_badge_shows_rate_and_lag_only() {
        let (text, alert) = badge_text(&consumer(412.4, 7, 0), Some(&group(0)));
        assert_eq!(text, "412/s · lag 7");
        assert!(!alert);
        let (text, _) = badge_text(&consumer(2.25, 0, 0), None);
        assert_eq!(text, "2.2/s · lag 0");
    }

    #[test]
    fn failures_and_dead_letters_show_and_alert() {
        let mut c = consumer(50.0, 3, 4);
        c.dlq_waiting = Some(2);
        let (text, alert) = badge_text(&c, Some(&group(2)));
        assert_eq!(text, "50/s · lag 3 · fail 4 · DLQ 2");
        assert!(alert);
    }

    #[test]
    fn a_badge_calms_down_once_the_dlq_is_replayed_and_failures_stop() {
        // 40 failures and 12 dead letters earlier in the run, all replayed,
        // none lately: the badge is quiet, its hover keeps the totals.
        let mut c = consumer(50.0, 0, 0);
        c.delivery = Some(DeliveryCounters {
            failures: 40,
            dead_lettered: 12,
            ..DeliveryCounters::default()
        });
        c.dlq_waiting = Some(0);
        let (text, alert) = badge_text(&c, Some(&group(12)));
        assert_eq!(text, "50/s · lag 0");
        assert!(!alert);
        let totals = badge_totals(&c, Some(&group(12)));
        assert!(totals.contains("failed attempts 40"), "{totals}");
        assert!(totals.contains("0 waiting, 12 in all"), "{totals}");
    }

    #[test]
    fn a_source_shows_its_rate_out() {
        let mut c = consumer(0.0, 0, 0);
        c.events_in = 0;
        c.events_out = 795;
        c.rate_out_per_s = 99.6;
        c.spark_out = vec![100.0, 99.6];
        c.lag = None;
        c.delivery = None;
        assert_eq!(badge_text(&c, None).0, "100/s out");
        assert!(badge_totals(&c, None).contains("795 out"));
    }
}
