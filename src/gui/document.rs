//! The open document: the model, where each component sits, the file it
//! came from and whether it has unsaved changes. Loading text into a
//! document and turning a document back into text go through here, so the
//! rest of the GUI never calls the parser, the writer or the layout itself.
//!
//! Must not depend on egui widgets (only on `egui::Pos2` as the point type).

use crate::layout::{self, Layout, LayoutOptions, Point, Rect};
use crate::mermaid::Diagnostic;
use crate::model::file;
use crate::model::write::to_mermaid;
use crate::model::{ArchGraph, Component, ComponentId, GroupId};
use egui::{Pos2, Vec2, pos2, vec2};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::LazyLock;

/// Where every component's centre is, in layout space (logical pixels, y down).
pub type Positions = BTreeMap<ComponentId, Pos2>;

/// A model with its positions and its file.
#[derive(Debug, Clone)]
pub struct Document {
    /// The architecture.
    pub graph: ArchGraph,
    /// Centre of each component's box.
    pub positions: Positions,
    /// The file it was opened from or last saved to.
    pub path: Option<PathBuf>,
    /// Bumped on every change; the canvas and the source pane compare it.
    pub revision: u64,
    /// The revision that was last saved (or opened).
    pub saved_revision: u64,
    /// The positions are a quick grid: the layered layout of this large
    /// diagram is still to be computed (off the UI thread).
    pub layout_pending: bool,
}

/// Text that did not load: the diagnostic and the text it points into.
#[derive(Debug, Clone)]
pub struct LoadError {
    /// What is wrong and where.
    pub diagnostic: Diagnostic,
    /// The whole text, for the source pane.
    pub text: String,
    /// The file's name for `file:line:col`.
    pub name: String,
}

impl LoadError {
    /// `file:line:col: error: message` plus the offending line.
    pub fn render(&self) -> String {
        self.diagnostic.render(&self.name, &self.text)
    }
}

impl Document {
    /// An empty, untitled diagram.
    pub fn empty() -> Document {
        Document::with_graph(ArchGraph::new(), Positions::new(), None)
    }

    /// The built-in seed diagram.
    pub fn seed() -> Document {
        match Document::from_text(crate::SEED_DIAGRAM, None) {
            Ok(doc) => doc,
            Err(err) => {
                debug_assert!(false, "the seed diagram must parse: {}", err.render());
                Document::empty()
            }
        }
    }

    fn with_graph(graph: ArchGraph, positions: Positions, path: Option<PathBuf>) -> Document {
        Document {
            graph,
            positions,
            path,
            revision: 0,
            saved_revision: 0,
            layout_pending: false,
        }
    }

    /// Parses `text`; positions come from its `%% eda:pos` lines, and a
    /// layered layout places whatever has none.
    pub fn from_text(text: &str, path: Option<PathBuf>) -> Result<Document, Box<LoadError>> {
        let name = path
            .as_ref()
            .map_or_else(|| "<untitled>".to_string(), |p| p.display().to_string());
        let (graph, saved) = parse(text).map_err(|diagnostic| {
            Box::new(LoadError {
                diagnostic,
                text: text.to_string(),
                name,
            })
        })?;
        if saved.is_empty() && graph.connection_count() > BACKGROUND_LAYOUT_EDGES {
            // Too big to lay out before the first frame: show a grid now.
            let positions = grid_positions(&graph);
            let mut doc = Document::with_graph(graph, positions, path);
            doc.layout_pending = true;
            return Ok(doc);
        }
        let positions = complete_positions(&graph, saved);
        Ok(Document::with_graph(graph, positions, path))
    }

    /// The document as Mermaid text, positions included.
    pub fn to_text(&self) -> String {
        write(&self.graph, &self.positions)
    }

    /// Whether there are changes since the last save.
    pub fn is_dirty(&self) -> bool {
        self.revision != self.saved_revision
    }

    /// Records that the document changed.
    pub fn touch(&mut self) {
        self.revision += 1;
    }

    /// Records that the document was saved to `path`.
    pub fn mark_saved(&mut self, path: PathBuf) {
        self.path = Some(path);
        self.saved_revision = self.revision;
    }

    /// The title shown in the window bar.
    pub fn title(&self) -> String {
        let name = self.path.as_ref().and_then(|p| p.file_name()).map_or_else(
            || "untitled".to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        if self.is_dirty() {
            format!("{name} • eda-studio")
        } else {
            format!("{name} — eda-studio")
        }
    }

    /// Centre of `id`, or the origin for a component without one.
    pub fn position(&self, id: ComponentId) -> Pos2 {
        self.positions.get(&id).copied().unwrap_or(Pos2::ZERO)
    }

    /// Recomputes every position with the layered layout.
    pub fn relayout(&self) -> Positions {
        auto_layout(&self.graph)
    }

    /// The box (centre ± half size) of `id` in layout space.
    pub fn node_rect(&self, id: ComponentId) -> Option<egui::Rect> {
        let c = self.graph.component(id)?;
        Some(egui::Rect::from_center_size(
            self.position(id),
            node_size(c),
        ))
    }

    /// The document's geometry in the shared [`Layout`] form (node boxes
    /// at the user's positions, straight edges between shape borders, group
    /// containers), for export.
    pub fn layout(&self) -> Layout {
        layout::with_positions(&self.graph, &self.positions_by_key(), layout_options())
    }

    /// The positions by Mermaid id, as files and the layout take them.
    pub fn positions_by_key(&self) -> BTreeMap<String, Point> {
        by_key(&self.graph, &self.positions)
    }

    /// The box enclosing every component, if there is any.
    pub fn bounds(&self) -> Option<egui::Rect> {
        self.graph
            .components()
            .filter_map(|c| self.node_rect(c.id))
            .reduce(|a, b| a.union(b))
    }
}

/// Space between a group's members and its outline.
pub const GROUP_MARGIN: f32 = 16.0;
/// Height of a group's title band.
pub const GROUP_TITLE: f32 = 24.0;

/// Every group's container (members and nested groups plus margin and a
/// title band), innermost first.
pub fn group_rects(doc: &Document) -> Vec<(GroupId, Rect)> {
    fn visit(doc: &Document, g: GroupId, order: &mut Vec<GroupId>, depth: usize) {
        if depth > 64 {
            return;
        }
        if let Some(group) = doc.graph.group(g) {
            for child in &group.groups {
                visit(doc, *child, order, depth + 1);
            }
        }
        order.push(g);
    }
    let mut order = Vec::new();
    for g in doc.graph.top_level_groups() {
        visit(doc, g.id, &mut order, 0);
    }
    let mut rects: BTreeMap<GroupId, egui::Rect> = BTreeMap::new();
    for g in &order {
        let Some(group) = doc.graph.group(*g) else {
            continue;
        };
        let mut r = egui::Rect::NOTHING;
        for m in &group.members {
            if let Some(nr) = doc.node_rect(*m) {
                r = r.union(nr);
            }
        }
        for child in &group.groups {
            if let Some(cr) = rects.get(child) {
                r = r.union(*cr);
            }
        }
        if r.is_positive() {
            let r = egui::Rect::from_min_max(
                r.min - vec2(GROUP_MARGIN, GROUP_MARGIN + GROUP_TITLE),
                r.max + vec2(GROUP_MARGIN, GROUP_MARGIN),
            );
            rects.insert(*g, r);
        }
    }
    order
        .into_iter()
        .filter_map(|g| {
            let r = rects.get(&g)?;
            Some((
                g,
                Rect {
                    min: Point {
                        x: r.min.x,
                        y: r.min.y,
                    },
                    max: Point {
                        x: r.max.x,
                        y: r.max.y,
                    },
                },
            ))
        })
        .collect()
}

/// Parses a designer file: the model and the positions it saved (by
/// component id); the first problem when it does not open.
pub fn parse(text: &str) -> Result<(ArchGraph, Positions), Diagnostic> {
    let opened = file::open(text).map_err(|mut errors| {
        if errors.is_empty() {
            Diagnostic::parse(crate::mermaid::Span::new(0, 0), "the file did not open")
        } else {
            errors.swap_remove(0)
        }
    })?;
    let positions = opened
        .positions
        .iter()
        .filter_map(|(key, p)| Some((opened.graph.id_of(key)?, pos2(p.x, p.y))))
        .collect();
    Ok((opened.graph, positions))
}

/// Writes the model as a designer file with its positions.
pub fn write(graph: &ArchGraph, positions: &Positions) -> String {
    to_mermaid(graph, &by_key(graph, positions), None)
}

/// Positions keyed by Mermaid id instead of component id.
fn by_key(graph: &ArchGraph, positions: &Positions) -> BTreeMap<String, Point> {
    positions
        .iter()
        .filter_map(|(id, p)| {
            let key = graph.component(*id)?.key.clone();
            Some((key, Point { x: p.x, y: p.y }))
        })
        .collect()
}

/// The layout options the designer uses (default spacing, estimated text).
fn layout_options() -> &'static LayoutOptions {
    static OPTIONS: LazyLock<LayoutOptions> = LazyLock::new(LayoutOptions::default);
    &OPTIONS
}

/// The size of a component's box: its label in its shape, as the layout
/// sizes it (so nothing the layout places overlaps on the canvas).
pub fn node_size(c: &Component) -> Vec2 {
    let (w, h) = layout::node_size(c, layout_options());
    vec2(w, h)
}

/// Above this many connections a diagram without positions opens on a grid
/// and gets its layered layout from a background thread.
pub const BACKGROUND_LAYOUT_EDGES: usize = 2000;

/// A square grid in id order: instant, for the first frame of a huge diagram.
pub fn grid_positions(graph: &ArchGraph) -> Positions {
    let n = graph.component_count().max(1);
    let side = (n as f32).sqrt().ceil().max(1.0) as usize;
    graph
        .components()
        .enumerate()
        .map(|(i, c)| {
            (
                c.id,
                pos2((i % side) as f32 * 220.0, (i / side) as f32 * 90.0),
            )
        })
        .collect()
}

/// Every component's centre from the layered layout.
pub fn auto_layout(graph: &ArchGraph) -> Positions {
    centres(graph, &layout::layered(graph, layout_options()))
}

fn centres(graph: &ArchGraph, laid: &Layout) -> Positions {
    graph
        .components()
        .filter_map(|c| {
            let g = laid.nodes.get(&c.id)?;
            Some((c.id, pos2(g.center.x, g.center.y)))
        })
        .collect()
}

/// Keeps `saved` positions and places the rest next to their neighbours
/// the way the layered layout would (off any existing box).
pub fn complete_positions(graph: &ArchGraph, saved: Positions) -> Positions {
    let missing = graph.components().any(|c| !saved.contains_key(&c.id));
    if !missing {
        return saved;
    }
    if saved.is_empty() {
        return auto_layout(graph);
    }
    let placed = layout::with_positions(graph, &by_key(graph, &saved), layout_options());
    let mut out = centres(graph, &placed);
    // Saved centres stay exactly as they were.
    out.extend(saved);
    out
}

/// Moves `p` by `d`.
pub fn offset(p: Pos2, d: Vec2) -> Pos2 {
    p + d
}

/// A component's default offset when pasted or duplicated.
pub const PASTE_OFFSET: Vec2 = vec2(40.0, 40.0);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_loads_with_a_position_for_every_component() {
        let doc = Document::seed();
        assert!(doc.graph.component_count() > 10);
        for c in doc.graph.components() {
            assert!(
                doc.positions.contains_key(&c.id),
                "{} has no position",
                c.key
            );
        }
    }

    #[test]
    fn broken_text_reports_where() {
        let err = Document::from_text("graph TD\nA --> [", None).err();
        let err = err.map(|e| e.render()).unwrap_or_default();
        assert!(err.contains(":2:"), "{err}");
    }

    #[test]
    fn text_round_trip_keeps_positions() {
        let mut doc = Document::seed();
        let first = doc.graph.components().next().map(|c| c.id);
        if let Some(id) = first {
            doc.positions.insert(id, pos2(1234.0, -56.0));
        }
        let text = doc.to_text();
        let back = Document::from_text(&text, None).map_err(|e| e.render());
        let back = back.unwrap_or_else(|e| panic!("{e}"));
        // Ids follow the file's order, so compare by Mermaid id; the file
        // keeps one decimal.
        let (a, b) = (doc.positions_by_key(), back.positions_by_key());
        assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
        for (key, p) in &a {
            let q = b[key];
            assert!(
                (p.x - q.x).abs() < 0.06 && (p.y - q.y).abs() < 0.06,
                "{key}"
            );
        }
        assert_eq!(back.to_text(), text);
    }
}
