//! Keeps the egui_graphs graph ([`CanvasGraph`]) equal to the document:
//! components and connections added, removed or restyled since the last
//! frame are patched in place (a node whose component did not change keeps
//! its payload and shape), positions, selection flags and hit tolerances
//! are copied every frame.
//!
//! Reads the document, the selection and the theme; writes only the
//! canvas's own graph.

use super::edge::{EdgeData, EdgeShape};
use super::node::{NodeData, NodePayload, NodeShape};
use crate::gui::document::{Document, Routes, node_size};
use crate::gui::look::node_look;
use crate::gui::panels::canvas::Selection;
use crate::gui::theme::{Theme, ThemeKind};
use crate::layout::shape::ShapeKind;
use crate::mermaid::Stroke as LineStroke;
use crate::model::{ArchGraph, Component, ComponentId, Connection, ConnectionId, DiagramMeta};
use egui::Vec2;
use egui_graphs::Graph;
use petgraph::Directed;
use petgraph::stable_graph::{DefaultIx, EdgeIndex, NodeIndex};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The graph egui_graphs draws: our payloads and display shapes.
pub type CanvasGraph = Graph<NodePayload, Arc<EdgeData>, Directed, DefaultIx, NodeShape, EdgeShape>;

/// What the graph was last synced from.
#[derive(Default)]
pub struct GraphSync {
    nodes: BTreeMap<ComponentId, (NodeIndex, Component)>,
    edges: BTreeMap<ConnectionId, (EdgeIndex, Connection)>,
    theme: Option<ThemeKind>,
    meta: Option<DiagramMeta>,
}

impl std::fmt::Debug for GraphSync {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GraphSync")
            .field("nodes", &self.nodes.len())
            .field("edges", &self.edges.len())
            .finish()
    }
}

impl GraphSync {
    /// The graph node of component `id`.
    pub fn node(&self, id: ComponentId) -> Option<NodeIndex> {
        self.nodes.get(&id).map(|(i, _)| *i)
    }

    /// The graph edge of connection `id`.
    pub fn edge(&self, id: ConnectionId) -> Option<EdgeIndex> {
        self.edges.get(&id).map(|(i, _)| *i)
    }

    /// Patches `graph` to match `doc`'s components and connections in `theme`.
    pub fn structure(&mut self, graph: &mut CanvasGraph, doc: &Document, theme: &Theme) {
        let restyle = self.theme != Some(theme.kind) || self.meta.as_ref() != Some(&doc.graph.meta);
        if restyle {
            self.theme = Some(theme.kind);
            self.meta = Some(doc.graph.meta.clone());
        }
        for c in doc.graph.components() {
            match self.nodes.get_mut(&c.id) {
                Some((idx, seen)) if restyle || seen != c => {
                    let data = Arc::new(node_data(&doc.graph, c, theme));
                    if let Some(n) = graph.node_mut(*idx) {
                        n.payload_mut().data = data;
                    }
                    *seen = c.clone();
                }
                Some(_) => {}
                None => {
                    let payload = NodePayload {
                        data: Arc::new(node_data(&doc.graph, c, theme)),
                        offset: Vec2::ZERO,
                    };
                    let at = doc.position(c.id);
                    let idx = graph.add_node_custom(payload, |n| n.set_location(at));
                    self.nodes.insert(c.id, (idx, c.clone()));
                }
            }
        }
        if self.nodes.len() > doc.graph.component_count() {
            let gone: Vec<ComponentId> = self
                .nodes
                .keys()
                .filter(|id| doc.graph.component(**id).is_none())
                .copied()
                .collect();
            for id in gone {
                if let Some((idx, _)) = self.nodes.remove(&id) {
                    graph.remove_node(idx);
                }
            }
            // Removing a node removed its edges too.
            self.edges
                .retain(|_, (e, _)| graph.edge_endpoints(*e).is_some());
        }
        for c in doc.graph.connections() {
            let ends = (self.node(c.from), self.node(c.to));
            let (Some(a), Some(b)) = ends else {
                continue;
            };
            match self.edges.get(&c.id) {
                Some((_, seen)) if !restyle && seen == c => continue,
                Some((idx, seen)) if seen.from == c.from && seen.to == c.to => {
                    let idx = *idx;
                    if let Some(e) = graph.edge_mut(idx) {
                        *e.payload_mut() = Arc::new(edge_data(c, theme));
                    }
                    self.edges.insert(c.id, (idx, c.clone()));
                }
                Some((idx, _)) => {
                    graph.remove_edge(*idx);
                    let idx = graph.add_edge(a, b, Arc::new(edge_data(c, theme)));
                    self.edges.insert(c.id, (idx, c.clone()));
                }
                None => {
                    let idx = graph.add_edge(a, b, Arc::new(edge_data(c, theme)));
                    self.edges.insert(c.id, (idx, c.clone()));
                }
            }
        }
        if self.edges.len() > doc.graph.connection_count() {
            let gone: Vec<ConnectionId> = self
                .edges
                .keys()
                .filter(|id| doc.graph.connection(**id).is_none())
                .copied()
                .collect();
            for id in gone {
                if let Some((idx, _)) = self.edges.remove(&id) {
                    graph.remove_edge(idx);
                }
            }
        }
    }

    /// Copies positions and selection into the graph; `dragged` is the node
    /// egui_graphs is dragging with the offset from its location (under the
    /// pointer) to its centre. `hit_tolerance` is in layout units; `routes`
    /// are the layout's edge routes at the current positions.
    pub fn frame(
        &self,
        graph: &mut CanvasGraph,
        doc: &Document,
        selection: &Selection,
        dragged: Option<(ComponentId, Vec2)>,
        hit_tolerance: f32,
        routes: &Routes,
    ) {
        for (id, (idx, _)) in &self.nodes {
            let Some(n) = graph.node_mut(*idx) else {
                continue;
            };
            let offset = match dragged {
                Some((d, offset)) if d == *id => offset,
                _ => Vec2::ZERO,
            };
            n.set_location(doc.position(*id) - offset);
            n.payload_mut().offset = offset;
            n.set_selected(selection.nodes.contains(id));
        }
        for (id, (idx, _)) in &self.edges {
            if let Some(e) = graph.edge_mut(*idx) {
                e.set_selected(selection.edges.contains(id));
                let display = e.display_mut();
                display.hit_tolerance = hit_tolerance;
                let bends = match routes.get(id) {
                    Some(r) if r.len() > 2 => &r[1..r.len() - 1],
                    _ => &[],
                };
                let same = display.bends.len() == bends.len()
                    && display
                        .bends
                        .iter()
                        .zip(bends)
                        .all(|(a, b)| a.x == b.x && a.y == b.y);
                if !same {
                    display.bends = bends.iter().map(|p| egui::pos2(p.x, p.y)).collect();
                }
            }
        }
    }
}

fn node_data(graph: &ArchGraph, c: &Component, theme: &Theme) -> NodeData {
    NodeData {
        id: c.id,
        label: c.label.clone(),
        kind: ShapeKind::of(c.shape.as_ref()),
        size: node_size(c),
        look: node_look(graph, c, theme),
        role: c.role,
        selection: theme.selection,
        detail_zoom: theme.detail_zoom,
        font_size: theme.node_font_size,
    }
}

fn edge_data(c: &Connection, theme: &Theme) -> EdgeData {
    EdgeData {
        id: c.id,
        stroke: c.stroke,
        arrow_start: c.arrow_start,
        arrow_end: c.arrow_end,
        label: c.label.clone(),
        color: theme.edge,
        selection: theme.selection,
        width: match c.stroke {
            LineStroke::Thick => theme.thick_edge_width,
            _ => theme.edge_width,
        },
        arrow_size: theme.arrow_size,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gui::command::Edit;

    fn synced(doc: &Document) -> (CanvasGraph, GraphSync) {
        let theme = Theme::new(ThemeKind::Dark);
        let mut g = CanvasGraph::new();
        let mut s = GraphSync::default();
        s.structure(&mut g, doc, &theme);
        (g, s)
    }

    #[test]
    fn the_graph_has_every_component_and_connection() {
        let doc = Document::seed();
        let (g, _) = synced(&doc);
        assert_eq!(g.node_count(), doc.graph.component_count());
        assert_eq!(g.edge_count(), doc.graph.connection_count());
    }

    #[test]
    fn edits_patch_the_graph_and_keep_unchanged_payloads() {
        let mut doc = Document::seed();
        let theme = Theme::new(ThemeKind::Dark);
        let (mut g, mut s) = synced(&doc);
        let ids: Vec<ComponentId> = doc.graph.components().map(|c| c.id).collect();
        let (first, second) = (ids[0], ids[1]);
        let payload = |g: &CanvasGraph, s: &GraphSync, id| {
            s.node(id)
                .and_then(|i| g.node(i))
                .map(|n| n.payload().data.clone())
        };
        let before = payload(&g, &s, second);
        let edit = Edit::SetLabel(first, "Renamed".into());
        if let Err(e) = edit.apply(&mut doc) {
            panic!("{e}");
        }
        if let Err(e) = Edit::Remove(ids[2]).apply(&mut doc) {
            panic!("{e}");
        }
        s.structure(&mut g, &doc, &theme);
        assert_eq!(
            payload(&g, &s, first).map(|d| d.label.clone()),
            Some("Renamed".to_string())
        );
        let after = payload(&g, &s, second);
        assert!(
            matches!((&before, &after), (Some(a), Some(b)) if Arc::ptr_eq(a, b)),
            "an untouched component keeps its payload"
        );
        assert_eq!(g.node_count(), doc.graph.component_count());
        assert_eq!(g.edge_count(), doc.graph.connection_count());
    }

    #[test]
    fn a_new_document_with_reused_ids_replaces_the_graph() {
        let doc = Document::seed();
        let (mut g, mut s) = synced(&doc);
        let other = Document::from_text("flowchart LR\nA[x] --> B[y]\n", None)
            .unwrap_or_else(|e| panic!("{}", e.render()));
        s.structure(&mut g, &other, &Theme::new(ThemeKind::Dark));
        assert_eq!(g.node_count(), 2);
        assert_eq!(g.edge_count(), 1);
        let labels: Vec<String> = g
            .nodes_iter()
            .map(|(_, n)| n.payload().data.label.clone())
            .collect();
        assert_eq!(labels, vec!["x".to_string(), "y".to_string()]);
    }
}
