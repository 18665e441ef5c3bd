//! The canvas on egui_graphs: the document kept as an egui_graphs graph
//! ([`sync`]), nodes and edges drawn by our own [`egui_graphs::DisplayNode`]
//! ([`node`]) and [`egui_graphs::DisplayEdge`] ([`edge`]) with culling and
//! a simplified look when zoomed out, and `GraphView` for hover, clicks,
//! double-clicks and node dragging, mapped to selection changes and
//! [`Command`]s. What `GraphView` does not do is an overlay on the same
//! transform: subgraph containers (under the graph), box select, connect by
//! dragging from a node's handle, dragging a group by its title, palette
//! drop, inline rename, edge labels and live badges (over it), and zoom and
//! pan (our camera, [`CanvasState`], is the one source of truth: it is
//! written into `GraphView`'s metadata before each frame).
//!
//! `GraphView` asks for a repaint on every frame it shows, so an idle
//! window would never rest. It therefore runs on frames with input or a
//! gesture in progress; other frames (a simulation frame arriving, an idle
//! repaint) draw the same display shapes directly, in `GraphView`'s order.
//!
//! Dragging: egui_graphs drags the node under the pointer and puts its
//! location under the pointer; the node's payload carries the offset from
//! there to where the node really is, so grabbing a node off-centre does not
//! make it jump, and the rest of the selection follows by the same amount.
//! The whole drag is one undo step ([`Command::Record`]).
//!
//! Reads the document; changes only positions during a drag and its own
//! view state. Must not depend on the app shell.

mod edge;
mod node;
mod sync;

// The painter canvas draws with the same shape builders.
pub(super) use edge::{distance_to_segment, marker};
pub(super) use node::{View, outline_shapes};

use super::canvas::{
    CanvasBackend, CanvasState, Transform, draw_group, group_members, group_rects, hit_group_title,
    rename_ui, start_positions, zoom_buttons_ui,
};
use super::palette::PaletteDrop;
use crate::gui::command::{Command, Edit};
use crate::gui::document::Document;
use crate::gui::theme::Theme;
use crate::model::{ComponentId, ConnectionId};
use egui::{CornerRadius, FontId, Pos2, Rect, Sense, Stroke, StrokeKind, Vec2, vec2};
use egui_graphs::{
    DrawContext, GraphChange, GraphView, Layout, LayoutState, MetadataFrame, SettingsInteraction,
    SettingsNavigation, SettingsStyle,
};
use petgraph::stable_graph::{EdgeIndex, NodeIndex};
use std::collections::BTreeSet;
use sync::{CanvasGraph, GraphSync};

/// The id `GraphView` keeps its metadata under.
const VIEW_ID: &str = "eda-canvas";
/// Pointer distance (screen points) within which an edge counts as hit.
const EDGE_HIT: f32 = 6.0;
/// Radius of the connection handle on a hovered node.
const HANDLE_RADIUS: f32 = 6.0;
/// A node grabbed and moved less than this (screen points) was clicked.
const DRAG_THRESHOLD: f32 = 3.0;

/// The egui_graphs canvas's own state: the graph, what it was synced from,
/// and the gesture in progress.
#[derive(Default)]
pub struct GraphCanvas {
    graph: CanvasGraph,
    sync: GraphSync,
    gesture: Option<Gesture>,
    panning: bool,
    /// Where the canvas's top-left was on the last `GraphView` frame
    /// (`GraphView` shifts its pan when the widget moves).
    last_top_left: Option<Pos2>,
}

impl std::fmt::Debug for GraphCanvas {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GraphCanvas")
            .field("nodes", &self.graph.node_count())
            .field("edges", &self.graph.edge_count())
            .field("gesture", &self.gesture)
            .finish()
    }
}

/// A pointer gesture in progress.
#[derive(Debug, Clone)]
enum Gesture {
    /// egui_graphs is dragging `node`, grabbed at `grab` (screen space:
    /// the canvas may move while dragging when the side panels resize);
    /// what moves and from where is fixed once the pointer really moves.
    Node {
        node: ComponentId,
        grab: Pos2,
        additive: bool,
        start: Option<Vec<(ComponentId, Pos2)>>,
    },
    /// Moving a subgraph's members by its title, grabbed at `grab` (screen).
    Group {
        grab: Pos2,
        start: Vec<(ComponentId, Pos2)>,
    },
    /// Rubber-band selection from this screen point.
    Box { from: Pos2, additive: bool },
    /// Drawing a new connection from this component.
    Connect { from: ComponentId },
}

/// The no-op layout: positions come from the document.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
struct Pinned;

impl LayoutState for Pinned {}

#[derive(Default)]
struct PinnedLayout;

impl Layout<Pinned> for PinnedLayout {
    fn from_state(_state: Pinned) -> impl Layout<Pinned> {
        PinnedLayout
    }

    fn next<N, E, Ty, Ix, Dn, De>(
        &mut self,
        _g: &mut egui_graphs::Graph<N, E, Ty, Ix, Dn, De>,
        _ui: &egui::Ui,
    ) where
        N: Clone,
        E: Clone,
        Ty: petgraph::EdgeType,
        Ix: petgraph::stable_graph::IndexType,
        Dn: egui_graphs::DisplayNode<N, E, Ty, Ix>,
        De: egui_graphs::DisplayEdge<N, E, Ty, Ix, Dn>,
    {
    }

    fn state(&self) -> Pinned {
        Pinned
    }
}

/// Draws the canvas in the remaining space of `ui` and handles its input.
pub fn canvas_ui(
    ui: &mut egui::Ui,
    doc: &mut Document,
    state: &mut CanvasState,
    theme: &Theme,
    commands: &mut Vec<Command>,
) {
    let rect = ui.available_rect_before_wrap();
    state.rect = rect;
    if state.fit_pending && rect.width() > 10.0 {
        state.fit(doc.bounds());
        state.fit_pending = false;
    }
    view_input(ui, rect, state);
    let t = state.transform;

    state
        .graphs
        .sync
        .structure(&mut state.graphs.graph, doc, theme);
    press(ui, rect, doc, state, theme);
    let dragged = follow_pointer(ui, doc, state);
    let routes = doc.routes();
    let gc = &mut state.graphs;
    gc.sync.frame(
        &mut gc.graph,
        doc,
        &state.selection,
        dragged,
        EDGE_HIT / t.zoom,
        &routes,
    );

    let painter = ui.painter_at(rect);
    // No background quad: the window is cleared to the canvas colour
    // (`EdaApp::clear_color`). On llvmpipe a quad over the whole canvas
    // was a quarter of the pixels shaded per frame; the clear is a fill.
    let visible = Rect::from_min_max(t.to_layout(rect.min), t.to_layout(rect.max)).expand(20.0);
    let mut drawn = 0;
    for (gid, grect) in &group_rects(doc) {
        if grect.intersects(visible) {
            draw_group(&painter, doc, *gid, *grect, t, theme);
            drawn += 1;
        }
    }

    // GraphView's pan is relative to the widget's top-left, which it
    // shifts by itself when the widget moved since its last frame.
    let mut meta = MetadataFrame::new(Some(VIEW_ID.to_string())).load(ui);
    meta.zoom = t.zoom;
    meta.pan = t.origin - rect.min;
    if let Some(last) = gc.last_top_left {
        meta.pan -= rect.min - last;
    }
    meta.clone().save(ui);

    let busy =
        ui.input(|i| !i.events.is_empty() || i.pointer.any_down() || i.pointer.any_released());
    let use_view = state.backend == CanvasBackend::GraphViewAlways
        || busy
        || gc.gesture.is_some()
        || gc.graph.dragged_node().is_some()
        || gc.last_top_left.is_none();
    let (response, changes) = if use_view {
        let dragging = gc.graph.dragged_node().is_some()
            || !(gc.panning
                || matches!(
                    gc.gesture,
                    Some(Gesture::Box { .. } | Gesture::Connect { .. } | Gesture::Group { .. })
                ));
        let interactions = SettingsInteraction::new()
            .with_dragging_enabled(dragging)
            .with_node_clicking_enabled(true)
            .with_edge_clicking_enabled(true);
        let navigation = SettingsNavigation::new()
            .with_zoom_and_pan_enabled(false)
            .with_fit_to_screen_enabled(false);
        let r = GraphView::<Pinned, PinnedLayout>::new()
            .with_interactions(&interactions)
            .with_navigations(&navigation)
            .with_id(Some(VIEW_ID.to_string()))
            .show(ui, &mut gc.graph);
        gc.last_top_left = Some(rect.min);
        (r.response, r.changes)
    } else {
        let (response, painter) = ui.allocate_painter(rect.size(), Sense::click_and_drag());
        // Drawn here, not by GraphView: no shift to make up for, whether
        // or not the widget moved since GraphView last ran (a panel that
        // opened or closed without input would otherwise leave the nodes
        // offset from the badges, the dots and the hit-testing).
        let mut meta_draw = meta;
        meta_draw.pan = static_pan(t);
        draw_static(ui.ctx(), &painter, &mut gc.graph, &meta_draw);
        (response, Vec::new())
    };

    apply_changes(ui, &response, &changes, doc, state);
    finish_gestures(ui, doc, state, commands);
    let live = state.live.clone();
    let graph = &state.graphs.graph;
    super::fault_menu::node_menu(
        &response,
        live.as_deref(),
        &mut state.fault_menu,
        commands,
        |p| {
            let id = node_at(graph, t.to_layout(p))?;
            Some(doc.graph.component(id)?.key.clone())
        },
    );
    if let Some(item) = response.dnd_release_payload::<PaletteDrop>()
        && let Some(p) = ui.input(|i| i.pointer.interact_pos())
    {
        commands.push(Command::AddComponent(item.0, t.to_layout(p)));
    }

    drawn += overlay(ui, &painter, &response, doc, state, theme, visible);
    state.drawn = drawn;
    rename_ui(ui, doc, state, commands);
    zoom_buttons_ui(ui, rect, commands);
}

/// The pan `draw_static` draws with: the layout origin on the screen,
/// the same transform the overlay, the hit-testing and the badges use.
fn static_pan(t: Transform) -> Vec2 {
    t.origin.to_vec2()
}

/// Zoom (Ctrl+wheel, pinch) and pan (wheel, middle or right drag).
fn view_input(ui: &egui::Ui, rect: Rect, state: &mut CanvasState) {
    let over = ui.rect_contains_pointer(rect);
    let (hover, zoom, scroll, pan_press, pan_down, delta) = ui.input(|i| {
        let p = &i.pointer;
        (
            p.hover_pos(),
            i.zoom_delta(),
            i.smooth_scroll_delta,
            p.button_pressed(egui::PointerButton::Secondary)
                || p.button_pressed(egui::PointerButton::Middle),
            p.secondary_down() || p.middle_down(),
            p.delta(),
        )
    });
    state.transform = Transform {
        origin: rect.center() + state.pan,
        zoom: state.zoom,
    };
    if over && let Some(p) = hover {
        if zoom != 1.0 {
            state.zoom_by(zoom, p);
        } else if scroll != Vec2::ZERO {
            state.pan += scroll;
        }
    }
    let gc = &mut state.graphs;
    if pan_press && over && gc.gesture.is_none() {
        gc.panning = true;
    }
    if gc.panning {
        if pan_down {
            state.pan += delta;
        } else {
            gc.panning = false;
        }
    }
    state.transform = Transform {
        origin: rect.center() + state.pan,
        zoom: state.zoom,
    };
}

/// The component whose node is at `p` (layout space), in the order
/// egui_graphs hit-tests (its first match is the node it drags).
fn node_at(graph: &CanvasGraph, p: Pos2) -> Option<ComponentId> {
    graph
        .nodes_iter()
        .find(|(_, n)| n.display().hit(p))
        .map(|(_, n)| n.payload().data.id)
}

fn component_of(graph: &CanvasGraph, idx: NodeIndex) -> Option<ComponentId> {
    graph.node(idx).map(|n| n.payload().data.id)
}

fn connection_of(graph: &CanvasGraph, idx: EdgeIndex) -> Option<ConnectionId> {
    graph.edge(idx).map(|e| e.payload().id)
}

/// Where a node's connection handle is on the screen.
fn handle_pos(
    graph: &CanvasGraph,
    sync: &GraphSync,
    id: ComponentId,
    t: Transform,
) -> Option<Pos2> {
    let r = graph.node(sync.node(id)?)?.display().rect();
    Some(t.to_screen(Pos2::new(r.max.x, r.center().y)))
}

/// A primary press on the canvas starts a gesture: connect (from a handle,
/// or Shift on a node), a node drag (egui_graphs starts it too), a group
/// drag by its title, or a box selection.
fn press(ui: &egui::Ui, rect: Rect, doc: &Document, state: &mut CanvasState, theme: &Theme) {
    let (pressed, origin, modifiers) = ui.input(|i| {
        (
            i.pointer.primary_pressed(),
            i.pointer.press_origin(),
            i.modifiers,
        )
    });
    let t = state.transform;
    let gc = &mut state.graphs;
    let Some(at) = origin.filter(|_| pressed && gc.gesture.is_none()) else {
        return;
    };
    let buttons = Rect::from_min_size(rect.right_top() + vec2(-118.0, 8.0), vec2(110.0, 24.0));
    if !rect.contains(at) || !ui.rect_contains_pointer(rect) || buttons.contains(at) {
        return;
    }
    if let Some((id, _)) = &state.rename
        && let Some(r) = doc.node_rect(*id)
        && t.rect_to_screen(r).expand(12.0).contains(at)
    {
        return;
    }
    let lp = t.to_layout(at);
    let on_handle = doc.graph.components().map(|c| c.id).find(|id| {
        handle_pos(&gc.graph, &gc.sync, *id, t)
            .is_some_and(|h| h.distance(at) <= HANDLE_RADIUS + 2.0)
    });
    let hit = node_at(&gc.graph, lp);
    gc.gesture = if let Some(from) = on_handle.or(hit.filter(|_| modifiers.shift)) {
        Some(Gesture::Connect { from })
    } else if let Some(node) = hit {
        Some(Gesture::Node {
            node,
            grab: at,
            additive: modifiers.command,
            start: None,
        })
    } else if let Some(g) = hit_group_title(&group_rects(doc), lp, theme) {
        let mut members = BTreeSet::new();
        group_members(doc, g, &mut members, 0);
        state.selection.clear();
        state.selection.nodes = members;
        Some(Gesture::Group {
            grab: at,
            start: start_positions(doc, &state.selection.nodes),
        })
    } else {
        Some(Gesture::Box {
            from: at,
            additive: modifiers.command,
        })
    };
}

/// Moves what a node or group drag carries to follow the pointer; returns
/// the node egui_graphs drags with its offset from the pointer.
fn follow_pointer(
    ui: &egui::Ui,
    doc: &mut Document,
    state: &mut CanvasState,
) -> Option<(ComponentId, Vec2)> {
    let t = state.transform;
    let screen = ui.input(|i| i.pointer.latest_pos())?;
    let pointer = t.to_layout(screen);
    let selection = &mut state.selection;
    match &mut state.graphs.gesture {
        Some(Gesture::Node {
            node,
            grab,
            additive,
            start,
        }) => {
            let delta = (screen - *grab) / t.zoom;
            if start.is_none() && delta.length() * t.zoom >= DRAG_THRESHOLD {
                if !selection.nodes.contains(node) {
                    if !*additive {
                        selection.clear();
                    }
                    selection.nodes.insert(*node);
                }
                *start = Some(start_positions(doc, &selection.nodes));
            }
            if let Some(start) = start {
                for (id, p) in start.iter() {
                    doc.positions.insert(*id, *p + delta);
                }
            }
            Some((*node, doc.position(*node) - pointer))
        }
        Some(Gesture::Group { grab, start }) => {
            let delta = (screen - *grab) / t.zoom;
            for (id, p) in start.iter() {
                doc.positions.insert(*id, *p + delta);
            }
            None
        }
        _ => None,
    }
}

/// Maps `GraphView`'s clicks to selection and rename.
fn apply_changes(
    ui: &egui::Ui,
    response: &egui::Response,
    changes: &[GraphChange],
    doc: &Document,
    state: &mut CanvasState,
) {
    let command = ui.input(|i| i.modifiers.command);
    let graph = &state.graphs.graph;
    let mut hit_something = false;
    for change in changes {
        match change {
            GraphChange::NodeClicked { node } => {
                hit_something = true;
                let Some(id) = component_of(graph, *node) else {
                    continue;
                };
                if command {
                    if !state.selection.nodes.remove(&id) {
                        state.selection.nodes.insert(id);
                    }
                } else {
                    state.selection.clear();
                    state.selection.nodes.insert(id);
                }
            }
            GraphChange::NodeDoubleClicked { node } => {
                hit_something = true;
                let Some(id) = component_of(graph, *node) else {
                    continue;
                };
                let label = doc
                    .graph
                    .component(id)
                    .map(|c| c.label.clone())
                    .unwrap_or_default();
                state.rename = Some((id, label));
                state.selection.clear();
                state.selection.nodes.insert(id);
            }
            GraphChange::EdgeClicked { edge } => {
                hit_something = true;
                let Some(id) = connection_of(graph, *edge) else {
                    continue;
                };
                if !command {
                    state.selection.clear();
                }
                state.selection.edges.insert(id);
            }
            _ => {}
        }
    }
    if response.clicked() {
        if !hit_something && !command {
            state.selection.clear();
        }
        response.request_focus();
    }
}

/// Ends the gesture when the primary button is up: records a drag as one
/// undo step, selects what a box covers, connects two nodes.
fn finish_gestures(
    ui: &egui::Ui,
    doc: &Document,
    state: &mut CanvasState,
    commands: &mut Vec<Command>,
) {
    let (down, pointer) = ui.input(|i| (i.pointer.primary_down(), i.pointer.latest_pos()));
    let gc = &mut state.graphs;
    let node_drag = matches!(gc.gesture, Some(Gesture::Node { .. }));
    // egui_graphs did not take the press (another widget had it): drop it.
    let lost = node_drag && gc.graph.dragged_node().is_none() && down;
    if down && !lost {
        return;
    }
    let t = state.transform;
    match gc.gesture.take() {
        Some(Gesture::Node {
            start: Some(start), ..
        })
        | Some(Gesture::Group { start, .. }) => {
            let moved = start
                .iter()
                .any(|(id, p)| doc.positions.get(id).is_some_and(|q| q != p));
            if moved {
                commands.push(Command::Record(Edit::Move(start)));
            }
        }
        Some(Gesture::Box { from, additive }) => {
            if let Some(to) = pointer {
                let r = Rect::from_two_pos(t.to_layout(from), t.to_layout(to));
                if !additive {
                    state.selection.clear();
                }
                for c in doc.graph.components() {
                    if doc.node_rect(c.id).is_some_and(|n| r.intersects(n)) {
                        state.selection.nodes.insert(c.id);
                    }
                }
            }
        }
        Some(Gesture::Connect { from }) => {
            if let Some(to) = pointer.and_then(|p| node_at(&gc.graph, t.to_layout(p)))
                && to != from
            {
                commands.push(Command::Edit(Edit::Connect {
                    from,
                    to,
                    label: String::new(),
                }));
            }
        }
        Some(Gesture::Node { start: None, .. }) | None => {}
    }
}

/// Draws the graph as `GraphView`'s drawer does (edges, nodes, then the
/// selected ones on top) without its input handling and repaint request.
fn draw_static(
    ctx: &egui::Context,
    painter: &egui::Painter,
    graph: &mut CanvasGraph,
    meta: &MetadataFrame,
) {
    let style = SettingsStyle::new();
    let dc = DrawContext {
        ctx,
        painter,
        style: &style,
        is_directed: true,
        meta,
    };
    let indices: Vec<NodeIndex> = graph.g().node_indices().collect();
    for idx in indices {
        if let Some(n) = graph.node_mut(idx) {
            let props = n.props().clone();
            egui_graphs::DisplayNode::<
                _,
                std::sync::Arc<edge::EdgeData>,
                petgraph::Directed,
                petgraph::stable_graph::DefaultIx,
            >::update(n.display_mut(), &props);
        }
    }
    let mut top = Vec::new();
    let edge_indices: Vec<EdgeIndex> = graph.g().edge_indices().collect();
    for idx in edge_indices {
        let Some((a, b)) = graph.edge_endpoints(idx) else {
            continue;
        };
        let selected = graph.edge(idx).is_some_and(|e| e.props().selected);
        if let Some(e) = graph.edge_mut(idx) {
            let props = e.props().clone();
            egui_graphs::DisplayEdge::<
                _,
                _,
                petgraph::Directed,
                petgraph::stable_graph::DefaultIx,
                _,
            >::update(e.display_mut(), &props);
        }
        let (Some(e), Some(na), Some(nb)) = (graph.edge(idx), graph.node(a), graph.node(b)) else {
            continue;
        };
        let shapes = e.display().paint(na.display(), nb.display(), a == b, &dc);
        if selected {
            top.extend(shapes);
        } else {
            painter.extend(shapes);
        }
    }
    for (_, n) in graph.nodes_iter() {
        let shapes = n.display().paint(&dc);
        if n.selected() || n.dragged() {
            top.extend(shapes);
        } else {
            painter.extend(shapes);
        }
    }
    painter.extend(top);
}

/// Draws what goes over the graph: edge labels, live badges, the hovered
/// node's handle, the box being dragged, the connection being drawn.
/// Returns how many items (edges and nodes) were on screen.
fn overlay(
    ui: &egui::Ui,
    painter: &egui::Painter,
    response: &egui::Response,
    doc: &Document,
    state: &mut CanvasState,
    theme: &Theme,
    visible: Rect,
) -> usize {
    let t = state.transform;
    let gc = &state.graphs;
    let graph = &gc.graph;
    let detailed = t.zoom >= theme.detail_zoom;
    let mut drawn = 0;
    let font = FontId::proportional(theme.edge_font_size * t.zoom);
    for (idx, e) in graph.edges_iter() {
        let Some((a, b)) = graph.edge_endpoints(idx) else {
            continue;
        };
        let (Some(na), Some(nb)) = (graph.node(a), graph.node(b)) else {
            continue;
        };
        let (ra, rb) = (na.display().rect(), nb.display().rect());
        if !ra.union(rb).intersects(visible) {
            continue;
        }
        drawn += 1;
        let label = &e.payload().label;
        if !detailed || label.is_empty() {
            continue;
        }
        let mid = t.to_screen(e.display().label_anchor(na.display(), nb.display(), a == b));
        if !painter.clip_rect().expand(100.0).contains(mid) {
            continue;
        }
        let galley = painter.layout_no_wrap(label.clone(), font.clone(), theme.ink);
        let r = Rect::from_center_size(mid, galley.size() + vec2(6.0, 2.0));
        painter.rect_filled(r, CornerRadius::same(2), theme.edge_label_bg);
        painter.galley(r.min + vec2(3.0, 1.0), galley, theme.ink);
    }
    if let Some(frame) = &state.live {
        let edge_path = |from: &str, to: &str| {
            let (a, b) = (doc.graph.id_of(from)?, doc.graph.id_of(to)?);
            let c = doc.graph.outgoing(a).into_iter().find(|c| c.to == b)?;
            let (na, nb) = (graph.node(gc.sync.node(a)?)?, graph.node(gc.sync.node(b)?)?);
            let e = graph.edge(gc.sync.edge(c.id)?)?;
            e.display().path(na.display(), nb.display(), a == b)
        };
        super::flow::paint_flow(
            painter,
            &frame.flow,
            edge_path,
            |p| t.to_screen(p),
            t.zoom,
            theme,
        );
    }
    let mut hovered = None;
    let pointer = response.hover_pos().map(|p| t.to_layout(p));
    for (_, n) in graph.nodes_iter() {
        let r = n.display().rect();
        if !r.intersects(visible) {
            continue;
        }
        drawn += 1;
        if pointer.is_some_and(|p| n.display().hit(p)) {
            hovered = Some(n.payload().data.id);
        }
    }
    if let Some(frame) = state.live.clone()
        && let Some(trace) = &frame.log.trace
    {
        // The event log's selected event: its path and causes.
        let shape = |k: &str| {
            let id = doc.graph.id_of(k)?;
            Some((id, graph.node(gc.sync.node(id)?)?.display()))
        };
        let edge_ends = |a: &str, b: &str| {
            let ((ia, na), (ib, nb)) = (shape(a)?, shape(b)?);
            let c = doc.graph.outgoing(ia).into_iter().find(|c| c.to == ib)?;
            let e = graph.edge(gc.sync.edge(c.id)?)?;
            let path = e.display().path(na, nb, ia == ib)?;
            Some((*path.first()?, *path.last()?))
        };
        let geometry = super::log_overlay::PathGeometry {
            to_screen: &|p| t.to_screen(p),
            node_rect: &|k| shape(k).map(|(_, n)| n.rect()),
            edge_ends: &edge_ends,
            zoom: t.zoom,
        };
        super::log_overlay::paint_event_path(painter, trace, theme, &geometry);
    }
    state.badges.clear();
    state.overlay = Default::default();
    if detailed && let Some(frame) = state.live.clone() {
        let nodes: Vec<super::badges::LiveNode<'_>> = doc
            .graph
            .components()
            .filter_map(|c| {
                let i = gc.sync.node(c.id)?;
                Some(super::badges::LiveNode {
                    key: &c.key,
                    role: c.role,
                    rect: graph.node(i)?.display().rect(),
                })
            })
            .collect();
        let legend = super::flow::legend_rect(painter, &frame.flow, state.rect, theme);
        super::badges::live_overlay_ui(
            ui,
            painter,
            &frame,
            &nodes,
            t,
            theme,
            legend.as_slice(),
            &mut state.expanded_buses,
            &mut state.badges,
            &mut state.overlay,
        );
    }
    if let Some(frame) = &state.live {
        super::flow::paint_legend(painter, &frame.flow, state.rect, theme);
    }
    if let Some(id) = hovered
        && gc.gesture.is_none()
        && let Some(h) = handle_pos(graph, &gc.sync, id, t)
    {
        painter.circle(
            h,
            HANDLE_RADIUS,
            theme.canvas_bg,
            Stroke::new(1.5, theme.connect),
        );
    }
    let pointer = ui.input(|i| i.pointer.latest_pos());
    match (&gc.gesture, pointer) {
        (Some(Gesture::Box { from, .. }), Some(p)) => {
            painter.rect(
                Rect::from_two_pos(*from, p),
                CornerRadius::ZERO,
                theme.selection_fill,
                Stroke::new(1.0, theme.selection),
                StrokeKind::Inside,
            );
        }
        (Some(Gesture::Connect { from }), Some(p)) => {
            if let Some(c) = gc.sync.node(*from).and_then(|i| graph.node(i)) {
                painter.line_segment(
                    [t.to_screen(c.display().center), p],
                    Stroke::new(2.0, theme.connect),
                );
            }
        }
        _ => {}
    }
    drawn
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gui::theme::ThemeKind;
    use egui_kittest::Harness;

    /// The canvas alone on the seed diagram, with the commands it sent.
    struct Bench {
        doc: Document,
        canvas: CanvasState,
        theme: Theme,
        commands: Vec<Command>,
    }

    fn harness() -> Harness<'static, Bench> {
        let mut canvas = CanvasState::default();
        canvas.backend = CanvasBackend::Graphs;
        let bench = Bench {
            doc: Document::seed(),
            canvas,
            theme: Theme::new(ThemeKind::Dark),
            commands: Vec::new(),
        };
        let mut h = Harness::builder()
            .with_size(vec2(900.0, 600.0))
            .with_max_steps(8)
            .build_ui_state(
                |ui, b: &mut Bench| {
                    canvas_ui(ui, &mut b.doc, &mut b.canvas, &b.theme, &mut b.commands);
                },
                bench,
            );
        h.run_steps(3);
        h
    }

    fn screen_of(h: &Harness<'_, Bench>, key: &str) -> (ComponentId, Pos2) {
        let b = h.state();
        let Some(id) = b.doc.graph.id_of(key) else {
            panic!("no {key}")
        };
        (id, b.canvas.screen_pos(&b.doc, id))
    }

    fn drag(h: &mut Harness<'_, Bench>, from: Pos2, to: Pos2) {
        h.hover_at(from);
        h.run_steps(1);
        h.drag_at(from);
        h.run_steps(1);
        for i in 1..=6 {
            h.hover_at(from + (to - from) * (i as f32 / 6.0));
            h.run_steps(1);
        }
        h.drop_at(to);
        h.run_steps(2);
    }

    #[test]
    fn an_idle_canvas_asks_for_no_repaint() {
        let mut h = harness();
        h.hover_at(Pos2::new(450.0, 300.0));
        h.run_steps(3);
        assert!(
            !h.ctx.has_requested_repaint(),
            "GraphView's repaint request must not keep an idle canvas busy"
        );
        // GraphView on every frame would: what the test guards against.
        h.state_mut().canvas.backend = CanvasBackend::GraphViewAlways;
        h.run_steps(3);
        assert!(h.ctx.has_requested_repaint());
    }

    #[test]
    fn a_node_grabbed_off_centre_moves_with_the_pointer_as_one_undo_step() {
        let mut h = harness();
        let (id, centre) = screen_of(&h, "EB");
        let before = h.state().doc.position(id);
        let zoom = h.state().canvas.zoom;
        let grab = centre + vec2(12.0, 5.0);
        drag(&mut h, grab, grab + vec2(60.0, -30.0));
        let moved = (h.state().doc.position(id) - before) * zoom;
        assert!(
            (moved - vec2(60.0, -30.0)).length() < 0.5,
            "moved {moved:?} on screen"
        );
        let records = h
            .state()
            .commands
            .iter()
            .filter(|c| matches!(c, Command::Record(Edit::Move(_))))
            .count();
        assert_eq!(records, 1, "{:?}", h.state().commands);
        assert_eq!(h.state().canvas.selection.nodes.len(), 1);
    }

    #[test]
    fn a_click_selects_without_moving() {
        let mut h = harness();
        let (id, centre) = screen_of(&h, "ES");
        let before = h.state().doc.position(id);
        h.hover_at(centre + vec2(10.0, 3.0));
        h.run_steps(1);
        h.drag_at(centre + vec2(10.0, 3.0));
        h.run_steps(1);
        h.drop_at(centre + vec2(10.0, 3.0));
        h.run_steps(2);
        assert_eq!(h.state().doc.position(id), before);
        assert!(h.state().canvas.selection.nodes.contains(&id));
        assert!(h.state().commands.is_empty(), "{:?}", h.state().commands);
    }

    #[test]
    fn a_box_selects_the_nodes_it_covers() {
        let mut h = harness();
        let (a, pa) = screen_of(&h, "EB");
        let (b, pb) = screen_of(&h, "ES");
        // From an empty corner past both nodes.
        let r = Rect::from_two_pos(pa, pb).expand(60.0);
        let from = h.state().canvas.rect.left_top() + vec2(2.0, 40.0);
        let from = Pos2::new(from.x.max(r.min.x - 400.0), from.y);
        drag(&mut h, from, r.max);
        let sel = &h.state().canvas.selection.nodes;
        assert!(sel.contains(&a) && sel.contains(&b), "{sel:?}");
        assert!(sel.len() < h.state().doc.graph.component_count());
    }

    #[test]
    fn zoomed_in_far_only_what_is_on_screen_is_drawn() {
        let mut h = harness();
        let all = h.state().canvas.drawn;
        let (_, centre) = screen_of(&h, "EB");
        h.state_mut().canvas.zoom_by(8.0, centre);
        h.run_steps(2);
        let near = h.state().canvas.drawn;
        assert!(near < all / 2, "{near} of {all} drawn when zoomed in");
    }
}
