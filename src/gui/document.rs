//! The open document: the model, where each component sits, the file it
//! came from and whether it has unsaved changes. Loading text into a
//! document and turning a document back into text go through here, so the
//! rest of the GUI never calls the parser, the writer or the layout itself.
//!
//! Must not depend on egui widgets (only on `egui::Pos2` as the point type).

use crate::layout::{self, Layout, LayoutOptions, Point, Rect};
use crate::mermaid::Diagnostic;
use crate::model::file;
use crate::model::write::{to_mermaid, update_positions};
use crate::model::{ArchGraph, Component, ComponentId, ConnectionId, GroupId};
use egui::{Pos2, Vec2, pos2, vec2};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, LazyLock, Mutex};

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
    /// The text the document was opened from, while its diagram is still
    /// the one that text describes (see [`Document::to_text`]).
    opened: Option<Opened>,
    /// The connections' routes for the canvas, kept until the diagram or
    /// a position changes.
    routes: RouteCache,
}

/// The routes of every connection at one revision and set of positions,
/// and the layered layout of the diagram they were adapted from.
#[derive(Debug)]
struct CachedRoutes {
    revision: u64,
    positions: Positions,
    /// The canonical text of the diagram the guide was computed for.
    guide_of: String,
    guide: Option<Layout>,
    routes: Arc<Routes>,
}

/// A [`CachedRoutes`] behind a lock, so drawing (`&Document`) can fill it;
/// a cloned document starts with an empty cache.
#[derive(Debug, Default)]
struct RouteCache(Mutex<Option<CachedRoutes>>);

impl Clone for RouteCache {
    fn clone(&self) -> Self {
        RouteCache::default()
    }
}

/// Every connection's route in layout space: a polyline from the source's
/// outline to the target's.
pub type Routes = BTreeMap<ConnectionId, Vec<Point>>;

/// Above this many connections the canvas draws straight edges: routing
/// needs the layered layout of the whole diagram after every edit.
pub const CANVAS_ROUTED_EDGES: usize = 600;

/// A file's text as the user wrote it and the canonical print of its
/// diagram (without positions) at the time, to tell whether the diagram
/// has changed since.
#[derive(Debug, Clone)]
struct Opened {
    text: String,
    canonical: String,
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
            opened: None,
            routes: RouteCache::default(),
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
            doc.opened = Some(Opened::of(text, &doc.graph));
            return Ok(doc);
        }
        let positions = complete_positions(&graph, saved);
        let mut doc = Document::with_graph(graph, positions, path);
        doc.opened = Some(Opened::of(text, &doc.graph));
        Ok(doc)
    }

    /// The document as Mermaid text, positions included.
    ///
    /// While the diagram is the one the file described when it was opened
    /// (only positions changed), this is the file's own text with its
    /// `%% eda:pos` lines updated in place and new ones appended: the
    /// first save of a hand-written file keeps its order, spacing and
    /// comments. Once the diagram itself changes, the canonical printer
    /// writes the whole file (see `model::write` for that shape).
    pub fn to_text(&self) -> String {
        if let Some(opened) = &self.opened
            && opened.canonical == canonical(&self.graph)
        {
            return update_positions(&opened.text, &self.graph, &self.positions_by_key());
        }
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
    /// at the user's positions, edges routed as on the canvas, group
    /// containers), for export.
    pub fn layout(&self) -> Layout {
        layout::with_positions(&self.graph, &self.positions_by_key(), layout_options())
    }

    /// Every connection's route as the canvas draws it: the layered
    /// layout's routes adapted to the current positions (see
    /// [`layout::with_positions_guided`]), straight for diagrams of more
    /// than [`CANVAS_ROUTED_EDGES`] connections. Cached: recomputed when a
    /// position or the revision changes, the layered layout only when the
    /// diagram itself changes.
    pub fn routes(&self) -> Arc<Routes> {
        let mut cache = self
            .routes
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(c) = cache.as_ref()
            && c.revision == self.revision
            && c.positions == self.positions
        {
            return Arc::clone(&c.routes);
        }
        let routed = self.graph.connection_count() <= CANVAS_ROUTED_EDGES;
        if !routed {
            // A large diagram draws straight edges (a missing route is a
            // straight line): no layered layout on the UI thread, which
            // for 10,000 edges would cost the first frame a third of a second.
            let routes = Arc::new(Routes::new());
            *cache = Some(CachedRoutes {
                revision: self.revision,
                positions: self.positions.clone(),
                guide_of: String::new(),
                guide: None,
                routes: Arc::clone(&routes),
            });
            return routes;
        }
        let previous = cache.take();
        let (guide_of, guide) = match previous {
            Some(c) if c.revision == self.revision => (c.guide_of, c.guide),
            Some(c) if routed && c.guide.is_some() && c.guide_of == canonical(&self.graph) => {
                (c.guide_of, c.guide)
            }
            _ if routed => (
                canonical(&self.graph),
                Some(layout::layered(&self.graph, layout_options())),
            ),
            _ => (String::new(), None),
        };
        let laid = layout::with_positions_guided(
            &self.graph,
            &self.positions_by_key(),
            guide.as_ref(),
            layout_options(),
        );
        let routes = Arc::new(laid.edges);
        *cache = Some(CachedRoutes {
            revision: self.revision,
            positions: self.positions.clone(),
            guide_of,
            guide,
            routes: Arc::clone(&routes),
        });
        routes
    }

    /// The positions by Mermaid id, as files and the layout take them.
    pub fn positions_by_key(&self) -> BTreeMap<String, Point> {
        by_key(&self.graph, &self.positions)
    }

    /// The box enclosing every component and group container, if there
    /// is any (what "fit" shows).
    pub fn bounds(&self) -> Option<egui::Rect> {
        let groups = group_rects(self)
            .into_iter()
            .map(|(_, r)| egui::Rect::from_min_max(pos2(r.min.x, r.min.y), pos2(r.max.x, r.max.y)));
        self.graph
            .components()
            .filter_map(|c| self.node_rect(c.id))
            .chain(groups)
            .reduce(|a, b| a.union(b))
    }
}

impl Opened {
    fn of(text: &str, graph: &ArchGraph) -> Opened {
        Opened {
            text: text.to_string(),
            canonical: canonical(graph),
        }
    }
}

/// The diagram as the canonical printer writes it, positions left out:
/// equal for two models exactly when they save the same diagram.
fn canonical(graph: &ArchGraph) -> String {
    to_mermaid(graph, &BTreeMap::new(), None)
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

    /// Line-by-line differences between two texts of the same length.
    fn changed_lines(a: &str, b: &str) -> usize {
        assert_eq!(a.lines().count(), b.lines().count(), "{a}\n---\n{b}");
        a.lines().zip(b.lines()).filter(|(x, y)| x != y).count()
    }

    #[test]
    fn the_first_save_of_a_hand_written_file_keeps_its_text() {
        let hand = "%% Orders, as sketched in the design review\nflowchart LR\n  API[Order API] -->|OrderPlaced| EB[(Kafka)]\n  EB --> Billing & Shipping\n  subgraph Read side\n    Billing --> DB[(Ledger)]\n  end\n";
        let mut doc = Document::from_text(hand, None).unwrap_or_else(|e| panic!("{}", e.render()));
        let first = doc.to_text();
        assert!(first.starts_with(hand), "{first}");
        assert_eq!(
            first.lines().count(),
            hand.lines().count() + 1 + doc.graph.component_count()
        );
        // Moving one node changes one line.
        let id = doc
            .graph
            .id_of("Billing")
            .unwrap_or_else(|| panic!("Billing"));
        doc.positions.insert(id, pos2(999.0, 1.0));
        doc.touch();
        assert_eq!(changed_lines(&first, &doc.to_text()), 1);
        // Reopening the saved text and moving again: still one line.
        let mut back =
            Document::from_text(&doc.to_text(), None).unwrap_or_else(|e| panic!("{}", e.render()));
        assert_eq!(back.to_text(), doc.to_text());
        let api = back.graph.id_of("API").unwrap_or_else(|| panic!("API"));
        back.positions.insert(api, pos2(-5.0, 5.0));
        assert_eq!(changed_lines(&doc.to_text(), &back.to_text()), 1);
        // A change to the diagram itself goes through the canonical printer.
        let _ = back.graph.set_label(api, "Orders API");
        let canonical = back.to_text();
        assert!(
            canonical.contains("Orders API")
                && !canonical.contains("design review\nflowchart LR\n  API[Order API]")
        );
        let reread =
            Document::from_text(&canonical, None).unwrap_or_else(|e| panic!("{}", e.render()));
        assert_eq!(reread.positions_by_key(), back.positions_by_key());
    }

    /// Every corpus file that opens saves (diagram unchanged, one node
    /// moved) as its own text plus position lines, and reopens to the same.
    #[test]
    fn corpus_files_keep_their_text_on_the_first_save() {
        let dir = std::env::var_os("EDA_CORPUS_DIR").map_or_else(
            || std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/mermaid-corpus"),
            PathBuf::from,
        );
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return;
        };
        let mut checked = 0;
        for path in entries.filter_map(|e| e.ok().map(|e| e.path())) {
            if path.extension().is_none_or(|x| x != "mmd") {
                continue;
            }
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            let Ok(mut doc) = Document::from_text(&text, None) else {
                continue;
            };
            if let Some(id) = doc.graph.components().next().map(|c| c.id) {
                doc.positions.insert(id, pos2(12.5, -3.0));
            }
            let saved = doc.to_text();
            let kept: String = saved
                .lines()
                .filter(|l| !l.trim_start().starts_with("%% eda:pos"))
                .collect::<Vec<_>>()
                .join("\n");
            let original: String = text
                .lines()
                .filter(|l| !l.trim_start().starts_with("%% eda:pos"))
                .collect::<Vec<_>>()
                .join("\n");
            assert_eq!(kept.trim_end(), original.trim_end(), "{}", path.display());
            let back =
                Document::from_text(&saved, None).unwrap_or_else(|e| panic!("{}", e.render()));
            assert_eq!(back.to_text(), saved, "{}", path.display());
            checked += 1;
        }
        assert!(checked >= 100, "only {checked} corpus files checked");
    }

    #[test]
    fn the_seed_saves_as_written_plus_its_positions() {
        let doc = Document::seed();
        let text = doc.to_text();
        assert!(
            text.starts_with(crate::SEED_DIAGRAM),
            "the seed's text is kept"
        );
        let tail = &text[crate::SEED_DIAGRAM.len()..];
        assert!(
            tail.lines()
                .filter(|l| !l.is_empty())
                .all(|l| l.starts_with("%% eda:pos ")),
            "{tail}"
        );
    }

    #[test]
    fn canvas_routes_follow_the_layered_layout_and_the_nodes() {
        let doc = Document::from_text("flowchart TD\nA --> B --> C --> D\nA --> D\n", None)
            .unwrap_or_else(|e| panic!("{}", e.render()));
        let skip = doc
            .graph
            .connections()
            .find(|c| doc.graph.key_of(c.from) == "A" && doc.graph.key_of(c.to) == "D")
            .map(|c| c.id)
            .unwrap_or_else(|| panic!("A --> D"));
        let routes = doc.routes();
        assert!(routes[&skip].len() > 2, "bent: {:?}", routes[&skip]);
        // Cached while nothing changes.
        assert!(Arc::ptr_eq(&routes, &doc.routes()));
        // A drag moves every node: the routes move along.
        let mut moved = doc.clone();
        for p in moved.positions.values_mut() {
            *p += vec2(50.0, 0.0);
        }
        let after = moved.routes();
        for (p, q) in routes[&skip].iter().zip(&after[&skip]) {
            assert!((q.x - p.x - 50.0).abs() < 0.5 && (q.y - p.y).abs() < 0.5);
        }
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
