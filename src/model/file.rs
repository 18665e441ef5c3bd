//! The designer's file: one `.mmd` that is the whole project. Owns
//! [`open`] (text → model, positions, scenario lines) and the
//! [`FileExtras`] the model keeps so that a save writes back what the user
//! wrote even where the model does not interpret it: comments and
//! directives (anchored to the component, connection, group or section they
//! preceded), the frontmatter, the header as written, `click` statements
//! and subgraph `@{ … }` metadata. Saving is [`super::write::to_mermaid`].
//!
//! Must not depend on layout algorithms, the simulation or the GUI.
//!
//! # File layout
//! ```text
//! ---                       frontmatter (kept verbatim)
//! %% comments, directives   (anchored, see Anchor)
//! flowchart TD              header as written
//!     … the diagram …
//!
//! %% eda:scenario …         the simulation scenario, one block, verbatim
//!
//! %% eda:pos <id> <x> <y>   one line per positioned node, sorted by id
//! ```
//! Mermaid drops every line that starts with `%%`, so the scenario and
//! position blocks never change how the diagram renders.

use super::graph::{ArchGraph, ComponentId, ConnectionId, GroupId};
use super::positions::Point;
use super::positions::{self, Positions};
use crate::mermaid::ast::{self, Document, HeaderKeyword, Item, Statement, Visit};
use crate::mermaid::{Diagnostic, Direction, Flowchart, parse_document};
use std::collections::BTreeMap;

/// The comment prefix (after `%%` and blanks) of a scenario line.
pub const SCENARIO_PREFIX: &str = "eda:scenario";

/// Something the user wrote that Mermaid ignores or the model does not
/// interpret, kept to be written back verbatim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trivia {
    /// A `%%` comment: the text after `%%` (leading blank included).
    Comment(String),
    /// A `%%{init: …}%%` directive, verbatim.
    Directive(String),
}

/// Where a [`Trivia`] is written back: right before the line of the thing it
/// preceded in the source. Anchors name model ids, so they follow renames
/// and edits; a trivia whose anchor is gone is written at the bottom.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Anchor {
    /// Before the header line (with the frontmatter, if any, above).
    Top,
    /// Before a component's declaration line.
    Component(ComponentId),
    /// Before a connection's line.
    Connection(ConnectionId),
    /// Before a group's `subgraph` line.
    Group(GroupId),
    /// First inside a group's block (a comment before its `direction`).
    GroupStart(GroupId),
    /// Last inside a group's block, before its `end`.
    GroupEnd(GroupId),
    /// Before the `classDef` line of this class.
    ClassDef(String),
    /// Before a section of statements the writer regenerates as a whole.
    Section(Section),
    /// At the end of the diagram (before the scenario and position blocks).
    Bottom,
}

/// The statement sections the writer emits after the diagram's nodes and
/// edges, in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Section {
    /// `accTitle` / `accDescr` (written right after the header).
    Accessibility,
    /// `class ids name` lines.
    Classes,
    /// `style id …` lines.
    Styles,
    /// `linkStyle …` lines.
    LinkStyles,
    /// `click …` lines.
    Clicks,
}

/// What a `click` statement names.
#[derive(Debug, Clone, PartialEq)]
pub enum ClickTarget {
    /// A component (followed through renames).
    Component(ComponentId),
    /// An id that was no component when the file was read, kept as written.
    Other(String),
}

/// A `click` statement as written, with its targets resolved to components.
#[derive(Debug, Clone, PartialEq)]
pub struct ClickStatement {
    /// The nodes it applies to, in the order written.
    pub targets: Vec<ClickTarget>,
    /// The statement; its `id` is rewritten from `targets` when saved, and
    /// its quoted arguments hold the text between the quotes as written.
    pub click: ast::Click,
}

/// What the file holds beyond the model's own fields, for writing it back
/// ([`super::DiagramMeta::extras`]). Empty for a model built without a file.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FileExtras {
    /// The YAML between the `---` fences, verbatim.
    pub frontmatter: Option<String>,
    /// The header keyword as written (`graph`, `flowchart`, `flowchart-elk`).
    pub keyword: Option<HeaderKeyword>,
    /// The header direction as written (`TD` stays `TD`); `None` when the
    /// header had none.
    pub written_direction: Option<Direction>,
    /// Comments and directives with where they go, in source order.
    pub trivia: Vec<(Anchor, Trivia)>,
    /// `click` statements in source order.
    pub clicks: Vec<ClickStatement>,
    /// `S1@{ … }` metadata of subgraphs, key → value as text.
    pub group_metadata: BTreeMap<GroupId, BTreeMap<String, String>>,
    /// `%% eda:scenario` lines, whole and verbatim (`%%` included).
    pub scenario: Vec<String>,
}

/// A file opened by [`open`].
#[derive(Debug, Clone)]
pub struct Opened {
    /// The model, with [`FileExtras`] in its meta.
    pub graph: ArchGraph,
    /// Saved positions by Mermaid node id.
    pub positions: BTreeMap<String, Point>,
    /// The `%% eda:scenario` lines, whole (`%%` included), in file order.
    pub scenario: Vec<String>,
    /// Problems that do not stop the file from opening (positions for ids
    /// the diagram does not have, repeated positions). Render them with
    /// [`positions::render_warning`].
    pub warnings: Vec<Diagnostic>,
}

/// Opens a designer file: parses it, builds the model (roles from classes,
/// else inferred), keeps everything a save must write back, and reads the
/// position and scenario blocks.
///
/// Errors are the parser's diagnostic (one), or one per malformed
/// `%% eda:pos` line; render each with [`Diagnostic::render`].
pub fn open(text: &str) -> Result<Opened, Vec<Diagnostic>> {
    let doc = parse_document(text).map_err(|d| vec![d])?;
    let chart = Flowchart::from_document(&doc).map_err(|d| vec![d])?;
    let mut graph = ArchGraph::from_flowchart(&chart);
    let Positions {
        positions,
        warnings,
    } = positions::read(&doc, Some(&graph))?;
    graph.meta.extras = extras_of(&doc, text, &graph);
    let scenario = graph.meta.extras.scenario.clone();
    Ok(Opened {
        graph,
        positions,
        scenario,
        warnings,
    })
}

/// Whether a comment's text (after `%%`) is a line of the `prefix` block
/// (`eda:pos`, `eda:scenario`): the prefix as a whole word.
pub(crate) fn is_block_line(comment_text: &str, prefix: &str) -> bool {
    comment_text
        .trim_start()
        .strip_prefix(prefix)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(char::is_whitespace))
}

/// Collects what the model does not hold from the parsed document.
fn extras_of(doc: &Document, src: &str, g: &ArchGraph) -> FileExtras {
    let mut extras = FileExtras {
        frontmatter: doc.frontmatter.as_ref().map(|f| f.raw.clone()),
        keyword: Some(doc.header.keyword),
        written_direction: doc.header.direction.as_ref().map(|d| d.direction),
        group_metadata: g.meta.extras.group_metadata.clone(),
        ..FileExtras::default()
    };
    let anchors = SpanIndex::new(g);
    let mut pending: Vec<Trivia> = Vec::new();
    for item in &doc.leading {
        trivia_item(item, &mut pending, &mut extras.scenario);
    }
    for t in pending.drain(..) {
        extras.trivia.push((Anchor::Top, t));
    }
    // The subgraphs open around the item being visited (`None`: a block the
    // model merged into an earlier one of the same id).
    let mut open: Vec<Option<GroupId>> = Vec::new();
    let header_end = doc.header.span.end;
    for visit in doc.walk() {
        let item = match visit {
            Visit::Leave(_, _) => {
                if let Some(Some(gid)) = open.pop() {
                    for t in pending.drain(..) {
                        extras.trivia.push((Anchor::GroupEnd(gid), t));
                    }
                }
                continue;
            }
            Visit::Item(item, _) => item,
        };
        // `walk` starts with the leading items, handled above.
        if item.span().end <= header_end && !matches!(item, Item::Statement(_)) {
            continue;
        }
        let Item::Statement(st) = item else {
            trivia_item(item, &mut pending, &mut extras.scenario);
            continue;
        };
        let anchor = match st {
            Statement::Chain(c) => anchors.chain(c, g),
            Statement::Subgraph(sg) => {
                let gid = anchors.groups.get(&sg.keyword.start).copied();
                open.push(gid);
                gid.map(Anchor::Group)
            }
            Statement::Direction(_) => open.last().copied().flatten().map(Anchor::GroupStart),
            Statement::ClassDef(cd) => cd.name_list().next().map(|n| Anchor::ClassDef(n.into())),
            Statement::Class(_) => Some(Anchor::Section(Section::Classes)),
            Statement::Style(_) => Some(Anchor::Section(Section::Styles)),
            Statement::LinkStyle(_) => Some(Anchor::Section(Section::LinkStyles)),
            Statement::Click(c) => {
                extras.clicks.push(click_statement(c, src, g));
                Some(Anchor::Section(Section::Clicks))
            }
            Statement::AccTitle(_) | Statement::AccDescr(_) => {
                Some(Anchor::Section(Section::Accessibility))
            }
        };
        // Without an anchor (a statement the model keeps nothing of), the
        // comments wait for the next statement.
        if let Some(anchor) = anchor {
            for t in pending.drain(..) {
                extras.trivia.push((anchor.clone(), t));
            }
        }
    }
    for t in pending {
        extras.trivia.push((Anchor::Bottom, t));
    }
    extras
}

/// Sorts one comment or directive: a scenario line, a position line (read
/// elsewhere, regenerated on save), or trivia to keep.
fn trivia_item(item: &Item, pending: &mut Vec<Trivia>, scenario: &mut Vec<String>) {
    match item {
        Item::Comment(c) if is_block_line(&c.text, positions::POS_PREFIX) => {}
        Item::Comment(c) if is_block_line(&c.text, SCENARIO_PREFIX) => {
            scenario.push(format!("%%{}", c.text.trim_end()));
        }
        Item::Comment(c) => pending.push(Trivia::Comment(c.text.clone())),
        Item::Directive(d) => pending.push(Trivia::Directive(d.raw.clone())),
        Item::Statement(_) => {}
    }
}

/// A click statement with its targets resolved and its quoted arguments as
/// written (the tree holds them entity-decoded).
fn click_statement(c: &ast::Click, src: &str, g: &ArchGraph) -> ClickStatement {
    let targets =
        c.id.text
            .split(',')
            .map(|id| match g.id_of(id) {
                Some(cid) => ClickTarget::Component(cid),
                None => ClickTarget::Other(id.to_string()),
            })
            .collect();
    let mut click = c.clone();
    let as_written = |q: &mut ast::Quoted| {
        if let Some(raw) = src.get(q.span.start..q.span.end)
            && raw.len() >= 2
            && raw.starts_with('"')
            && raw.ends_with('"')
        {
            q.text = raw[1..raw.len() - 1].to_string();
        }
    };
    if let ast::ClickAction::Link { url, .. } = &mut click.action {
        as_written(url);
    }
    if let Some(tip) = &mut click.tooltip {
        as_written(tip);
    }
    ClickStatement { targets, click }
}

/// Model items by where they start in the source, to anchor comments.
struct SpanIndex {
    components: BTreeMap<usize, ComponentId>,
    connections: BTreeMap<usize, ConnectionId>,
    groups: BTreeMap<usize, GroupId>,
}

impl SpanIndex {
    fn new(g: &ArchGraph) -> Self {
        let mut connections = BTreeMap::new();
        for c in g.connections() {
            if let Some(s) = c.span {
                // `A & B --> C` makes several connections of one link: the first.
                connections.entry(s.start).or_insert(c.id);
            }
        }
        SpanIndex {
            components: g
                .components()
                .filter_map(|c| c.span.map(|s| (s.start, c.id)))
                .collect(),
            connections,
            groups: g
                .groups()
                .filter_map(|gr| gr.span.map(|s| (s.start, gr.id)))
                .collect(),
        }
    }

    /// The first thing a chain introduces (a component mentioned for the
    /// first time, or a connection), else its first component.
    fn chain(&self, c: &ast::Chain, g: &ArchGraph) -> Option<Anchor> {
        let mut introduced = c.head.nodes.iter().filter_map(|n| {
            self.components
                .get(&n.id.span.start)
                .map(|&id| Anchor::Component(id))
        });
        if let Some(a) = introduced.next() {
            return Some(a);
        }
        for step in &c.links {
            if let Some(&id) = self.connections.get(&step.link.arrow.span.start) {
                return Some(Anchor::Connection(id));
            }
            if let Some(&id) = step
                .nodes
                .nodes
                .iter()
                .find_map(|n| self.components.get(&n.id.span.start))
            {
                return Some(Anchor::Component(id));
            }
        }
        c.head
            .nodes
            .first()
            .and_then(|n| g.id_of(&n.id.text))
            .map(Anchor::Component)
    }
}
