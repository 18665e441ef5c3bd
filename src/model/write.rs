//! Model → Mermaid: what the designer saves. [`to_mermaid`] builds a
//! [`Document`] from an [`ArchGraph`] and prints it with the canonical
//! printer, then appends the scenario and position blocks
//! (see [`super::file`] for the file layout).
//!
//! Owns the *shape* of a saved file, chosen for line diffs:
//! - the header as the user wrote it, then `accTitle`/`accDescr`;
//! - one declaration line per component, top-level ones first, then each
//!   group as a `subgraph` block holding its members' declarations and its
//!   nested groups; each component carries its role class (`EB[Kafka]:::bus`),
//!   so a role change is a one-line change and no inference is needed on reopen;
//! - one line per connection, in model order (which `linkStyle` counts);
//! - `classDef` lines (the user's, plus readable colours for role classes
//!   the user did not define), `class`, `style`, `linkStyle` (indices
//!   recomputed from the connections as they are now), `click`;
//! - comments and directives before what they preceded in the source.
//!
//! Writing what was read gives the same model back (roles turn into
//! classes, role `classDef`s are added once), writing is idempotent
//! (`to_mermaid(open(to_mermaid(g)))` is `to_mermaid(g)`), and the text is
//! already canonical, so `eda-studio fmt --check` accepts a saved file.
//!
//! # What changes on the first save
//! Saving a file whose diagram has not changed since it was opened (only
//! nodes moved, or nothing at all) does not go through this printer: the
//! designer writes the file's own text with [`update_positions`], which
//! rewrites `%% eda:pos` lines in place and appends the missing ones, so
//! the first save of a hand-written file adds one block at the end and
//! leaves every statement, comment and blank line as the user wrote it.
//!
//! Once the diagram itself changes (a component, link, label, role, class
//! or style), the file is rewritten in this shape, so that save of a
//! hand-written file is a larger diff: chains become one line per link, edges move out
//! of subgraph blocks (membership comes from the declarations), inline
//! edge labels take the pipe form, `classDef`s are sorted by name and
//! `classDef a,b` is split, a component's classes are applied as role
//! class first then `class` lines (Mermaid's `clickable` comes back from
//! the `click`), `linkStyle … fill:none` loses the `fill:none` Mermaid adds.
//!
//! # What Mermaid cannot say
//! Some model states have no Mermaid spelling; the nearest is written:
//! in labels, `"`, a leading backtick, `%%` and a `<` that opens no closed
//! tag become the entities `#quot;` `#96;` `#37;` `#lt;` (read back as
//! `&quot;` …, drawn as the character); a start marker that differs from
//! the end marker is dropped (`x-->` is not a Mermaid link); a component
//! with no shape and an empty label gets a rectangle.
//!
//! Must not depend on layout algorithms, simulation or the GUI.

use super::file::{Anchor, ClickTarget, Section, Trivia};
use super::graph::{ArchGraph, Component, ComponentId, Connection, GroupId, Shape};
use super::positions::Point;
use super::positions::pos_comment;
use super::role::Role;
use crate::mermaid::ast::{
    AccDescr, AccTitle, BracketShape, Chain, ChainLink, ClassAssign, ClassDef, Click, ClickAction,
    Comment, DirectionSpec, DirectionStatement, Directive, Document, EdgeLabel, EdgeLabelForm,
    Frontmatter, Header, HeaderKeyword, Ident, Item, Label, Link, LinkIndex, LinkStyle,
    LinkStyleTargets, NodeGroup, NodeRef, NodeShape, Quoted, RectProps, ShapeData, Statement,
    Style, Subgraph, SubgraphHeader,
};
use crate::mermaid::{
    Arrow, DiagramType, Direction, LabelType, Span, Stroke, print_document_with_source,
};
use std::collections::{BTreeMap, BTreeSet};

/// The class Mermaid adds to every node a `click` names; the writer
/// removes it where the `click` it came from is written back.
const CLICKABLE: &str = "clickable";

/// Writes the diagram as Mermaid text, with a `%% eda:pos` line for every
/// component that has a position (sorted by id) and the scenario block.
///
/// `scenario`: `None` keeps the `%% eda:scenario` lines the file was opened
/// with ([`super::file::FileExtras::scenario`]); `Some` replaces them. Each
/// line is written as given when it starts with `%%`, else after `%% `;
/// line breaks inside a line are turned into blanks.
///
/// Positions for ids the diagram does not have are left out.
pub fn to_mermaid(
    graph: &ArchGraph,
    positions: &BTreeMap<String, Point>,
    scenario: Option<&[String]>,
) -> String {
    let mut w = Writer::new(graph);
    let doc = w.document();
    let mut out = print_document_with_source(&doc, &w.src);
    let scenario: Vec<String> = match scenario {
        Some(lines) => lines.iter().map(|l| scenario_line(l)).collect(),
        None => graph.meta.extras.scenario.clone(),
    };
    if !scenario.is_empty() {
        out.push('\n');
        for line in &scenario {
            out.push_str(line);
            out.push('\n');
        }
    }
    let mut placed = positions
        .iter()
        .filter(|(key, _)| graph.id_of(key).is_some())
        .peekable();
    if placed.peek().is_some() {
        out.push('\n');
        for (key, p) in placed {
            out.push_str("%%");
            out.push_str(&pos_comment(key, *p));
            out.push('\n');
        }
    }
    out
}

/// `original` (a file as the user wrote it, whose model is `graph`) with its
/// `%% eda:pos` lines brought up to date, and nothing else touched: a line
/// whose component still has a position is rewritten in place (so moving
/// one node changes that one line), a line for a component without one is
/// dropped, and positions the text has no line for are appended, sorted
/// by id, in a block at the end (after a blank line when the text had no
/// position line yet). Line endings are kept.
///
/// This is the first save of a hand-written file whose diagram has not
/// changed since it was opened: the user's statement order, spacing and
/// comments stay as they were. [`to_mermaid`] is for everything else.
pub fn update_positions(
    original: &str,
    graph: &ArchGraph,
    positions: &BTreeMap<String, Point>,
) -> String {
    let placed: BTreeMap<&str, Point> = positions
        .iter()
        .filter(|(key, _)| graph.id_of(key).is_some())
        .map(|(key, p)| (key.as_str(), *p))
        .collect();
    let mut written: BTreeSet<&str> = BTreeSet::new();
    let mut out = String::with_capacity(original.len() + 32 * placed.len());
    let mut had_line = false;
    for line in original.split_inclusive('\n') {
        let body = line.trim_end_matches(['\r', '\n']);
        let Some(key) = pos_line_key(body) else {
            out.push_str(line);
            continue;
        };
        had_line = true;
        let Some((&key, p)) = placed.get_key_value(key) else {
            continue;
        };
        if !written.insert(key) {
            // A second line for one id: the first one written wins.
            continue;
        }
        let indent = &body[..body.len() - body.trim_start().len()];
        out.push_str(indent);
        out.push_str("%%");
        out.push_str(&pos_comment(key, *p));
        out.push_str(&line[body.len()..]);
    }
    let mut missing = placed
        .iter()
        .filter(|(key, _)| !written.contains(*key))
        .peekable();
    if missing.peek().is_some() {
        let eol = if original.contains("\r\n") {
            "\r\n"
        } else {
            "\n"
        };
        if !out.is_empty() && !out.ends_with('\n') {
            out.push_str(eol);
        }
        if !had_line && !out.is_empty() {
            out.push_str(eol);
        }
        for (key, p) in missing {
            out.push_str("%%");
            out.push_str(&pos_comment(key, *p));
            out.push_str(eol);
        }
    }
    out
}

/// The component id of a `%% eda:pos <id> …` line.
fn pos_line_key(line: &str) -> Option<&str> {
    let comment = line.trim_start().strip_prefix("%%")?;
    if !super::file::is_block_line(comment, super::positions::POS_PREFIX) {
        return None;
    }
    let rest = comment
        .trim_start()
        .strip_prefix(super::positions::POS_PREFIX)?;
    rest.split_whitespace().next()
}

/// The readable colours written for a role class the user has no
/// `classDef` for: a light fill, a darker stroke and dark text, so the
/// label reads on GitHub's light and dark themes alike.
pub fn role_class_styles(role: Role) -> &'static [&'static str] {
    match role {
        Role::Producer => &["fill:#e3f2fd", "stroke:#1565c0", "color:#0d2a4d"],
        Role::Gateway => &["fill:#ede7f6", "stroke:#5e35b1", "color:#261447"],
        Role::Command => &["fill:#fff3e0", "stroke:#ef6c00", "color:#4a2500"],
        Role::Bus => &["fill:#fce4ec", "stroke:#c2185b", "color:#4a0a23"],
        Role::Store => &["fill:#e8f5e9", "stroke:#2e7d32", "color:#0f2e12"],
        Role::Consumer => &["fill:#e0f7fa", "stroke:#00838f", "color:#00363a"],
        Role::Projection => &["fill:#f1f8e9", "stroke:#558b2f", "color:#1f3310"],
        Role::Saga => &["fill:#fffde7", "stroke:#f9a825", "color:#3e2f00"],
        Role::DeadLetter => &["fill:#ffebee", "stroke:#c62828", "color:#4a0b0b"],
        Role::SchemaRegistry => &["fill:#f3e5f5", "stroke:#8e24aa", "color:#35103f"],
        Role::Sink => &["fill:#eceff1", "stroke:#546e7a", "color:#1c262b"],
        Role::External => &[
            "fill:#fafafa",
            "stroke:#9e9e9e",
            "color:#212121",
            "stroke-dasharray:5 5",
        ],
    }
}

/// Whether `classDef name styles` is one the writer adds for a role class
/// (`bus`, `producer`, …) rather than the user's own colours for it: the
/// same declarations as [`role_class_styles`], in any order, spacing or
/// case. Those only make the file readable where the designer's themes do
/// not apply (GitHub); the designer draws such a node in its theme's role
/// colours, while any other `classDef` for a role class (the user's) wins.
pub fn is_generated_role_class<S: AsRef<str>>(name: &str, styles: &[S]) -> bool {
    let norm = |d: &str| -> String {
        d.chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_lowercase()
    };
    Role::from_class(name).is_some_and(|role| {
        let mut have: Vec<String> = styles
            .iter()
            .flat_map(|s| s.as_ref().split(';'))
            .map(norm)
            .filter(|d| !d.is_empty())
            .collect();
        let mut want: Vec<String> = role_class_styles(role).iter().map(|d| norm(d)).collect();
        have.sort();
        want.sort();
        have == want
    })
}

fn scenario_line(line: &str) -> String {
    let line = line.replace(['\r', '\n'], " ");
    let line = line.trim_end();
    if line.starts_with("%%") {
        line.to_string()
    } else {
        format!("%% {line}")
    }
}

/// The role class a component is written with, and its other classes.
struct ClassPlan<'a> {
    /// Written on the declaration (`A:::bus`), applied first.
    decl: Option<String>,
    /// Applied afterwards with `class` lines, in this order.
    rest: Vec<&'a str>,
}

/// Builds the document. Items get made-up spans into `src`, a text of
/// `x`s with `\n\n` before the items that should have a blank line above
/// them: the printer keeps blank lines where its source had them.
struct Writer<'g> {
    g: &'g ArchGraph,
    src: String,
    next: usize,
    /// Trivia by anchor, in source order; taken as the anchors are written.
    trivia: BTreeMap<&'g Anchor, Vec<&'g Trivia>>,
    /// Output order of components (what the re-read model's order will be).
    order: Vec<ComponentId>,
    /// How many `click` statements name each component.
    clicks: BTreeMap<ComponentId, usize>,
    /// Components inside a group.
    grouped: BTreeSet<ComponentId>,
    /// Subgraph ids.
    group_keys: BTreeSet<&'g str>,
}

impl<'g> Writer<'g> {
    fn new(g: &'g ArchGraph) -> Self {
        let mut trivia: BTreeMap<&Anchor, Vec<&Trivia>> = BTreeMap::new();
        for (a, t) in &g.meta.extras.trivia {
            trivia.entry(a).or_default().push(t);
        }
        let mut clicks: BTreeMap<ComponentId, usize> = BTreeMap::new();
        for t in g.meta.extras.clicks.iter().flat_map(|s| &s.targets) {
            if let ClickTarget::Component(id) = t {
                *clicks.entry(*id).or_default() += 1;
            }
        }
        Writer {
            g,
            src: String::new(),
            next: 0,
            trivia,
            order: Vec::new(),
            clicks,
            grouped: g
                .groups()
                .flat_map(|gr| gr.members.iter().copied())
                .collect(),
            group_keys: g.groups().map(|gr| gr.key.as_str()).collect(),
        }
    }

    /// A span for the next item; `blank` puts a blank line above it (when
    /// it has a previous sibling).
    fn span(&mut self, blank: bool) -> Span {
        self.src.push_str(if blank { "x\n\n" } else { "xxx" });
        self.next += 3;
        Span::new(self.next, self.next + 1)
    }

    fn statement(&mut self, st: Statement, blank: bool) -> Item {
        let span = self.span(blank);
        Item::Statement(with_span(st, span))
    }

    /// The trivia anchored at `anchor`, as items, each on its own line.
    /// Returns whether there was any.
    fn take(&mut self, anchor: &Anchor, blank: bool, out: &mut Vec<Item>) -> bool {
        let Some(list) = self.trivia.remove(anchor) else {
            return false;
        };
        for (i, t) in list.into_iter().enumerate() {
            let span = self.span(blank && i == 0);
            out.push(match t {
                Trivia::Comment(text) => Item::Comment(Comment {
                    span,
                    text: text.clone(),
                }),
                Trivia::Directive(raw) => Item::Directive(Directive {
                    span,
                    raw: raw.clone(),
                }),
            });
        }
        true
    }

    fn document(&mut self) -> Document {
        let g = self.g;
        let extras = &g.meta.extras;
        let frontmatter = match (&extras.frontmatter, &g.meta.title) {
            (Some(raw), _) => Some(Frontmatter {
                raw: raw.clone(),
                ..Frontmatter::default()
            }),
            (None, Some(title)) => Some(Frontmatter {
                // The printer ends the block's last line itself.
                raw: format!("title: {}", yaml_quoted(title)),
                ..Frontmatter::default()
            }),
            (None, None) => None,
        };
        let mut leading = Vec::new();
        self.take(&Anchor::Top, false, &mut leading);
        let header = self.header();
        let mut items = Vec::new();
        self.accessibility(&mut items);
        self.declarations(&mut items);
        self.connections(&mut items);
        self.class_defs(&mut items);
        self.classes(&mut items);
        self.styles(&mut items);
        self.link_styles(&mut items);
        self.clicks(&mut items);
        let took_bottom = self.take(&Anchor::Bottom, true, &mut items);
        // Trivia whose anchor is gone (a deleted component, …) goes last,
        // in source order.
        let left: BTreeSet<&Anchor> = self.trivia.keys().copied().collect();
        // Right under the bottom comments, as they read back next time.
        let mut first = !took_bottom;
        for (a, t) in &extras.trivia {
            if !left.contains(a) {
                continue;
            }
            let span = self.span(first);
            first = false;
            items.push(match t {
                Trivia::Comment(text) => Item::Comment(Comment {
                    span,
                    text: text.clone(),
                }),
                Trivia::Directive(raw) => Item::Directive(Directive {
                    span,
                    raw: raw.clone(),
                }),
            });
        }
        Document {
            span: Span::new(0, self.src.len()),
            frontmatter,
            leading,
            header,
            items,
        }
    }

    fn header(&mut self) -> Header {
        let meta = &self.g.meta;
        let extras = &meta.extras;
        let keyword = match (extras.keyword, meta.diagram_type) {
            (_, DiagramType::FlowchartElk) => HeaderKeyword::FlowchartElk,
            (Some(HeaderKeyword::FlowchartElk) | None, _) => HeaderKeyword::Flowchart,
            (Some(k), _) => k,
        };
        let same = |d: Direction| match d {
            Direction::TD => Direction::TB,
            d => d,
        };
        let direction = match extras.written_direction {
            Some(d) if same(d) == same(meta.direction) => Some(d),
            // `graph` alone means top to bottom.
            None if extras.keyword.is_some() && same(meta.direction) == Direction::TB => None,
            _ => Some(meta.direction),
        };
        Header {
            keyword,
            direction: direction.map(|d| DirectionSpec {
                text: d.as_str().to_string(),
                direction: d,
                ..DirectionSpec::default()
            }),
            ..Header::default()
        }
    }

    fn accessibility(&mut self, items: &mut Vec<Item>) {
        let meta = &self.g.meta;
        if meta.acc_title.is_none() && meta.acc_descr.is_none() {
            return;
        }
        self.take(&Anchor::Section(Section::Accessibility), false, items);
        // Spans outside the made-up source: the printer then prints the
        // values rather than copying source text.
        let far = Span::new(usize::MAX - 1, usize::MAX);
        if let Some(t) = &meta.acc_title {
            items.push(Item::Statement(Statement::AccTitle(AccTitle {
                span: far,
                text: t.clone(),
            })));
        }
        if let Some(d) = &meta.acc_descr {
            items.push(Item::Statement(Statement::AccDescr(AccDescr {
                span: far,
                text: d.clone(),
                multiline: d.contains('\n'),
            })));
        }
    }

    /// Top-level components, then every group block (nested groups inside
    /// their parent, after its own members). No recursion: groups may nest
    /// as deep as the file did.
    fn declarations(&mut self, items: &mut Vec<Item>) {
        let g = self.g;
        for c in g.components() {
            if !self.grouped.contains(&c.id) {
                self.component_line(c, items);
            }
        }
        // Post-order over the group tree: a block is built once its nested
        // blocks are; `done` collects finished blocks by group.
        let mut done: BTreeMap<GroupId, Item> = BTreeMap::new();
        let tops: Vec<GroupId> = g.top_level_groups().map(|gr| gr.id).collect();
        let mut stack: Vec<(GroupId, bool)> = tops.iter().rev().map(|&id| (id, false)).collect();
        let mut visited: BTreeSet<GroupId> = BTreeSet::new();
        // Spans must grow in output order, so block contents are laid out
        // when the block is finished; the made-up spans only matter for
        // blank lines between top-level siblings, which are set below.
        while let Some((id, expanded)) = stack.pop() {
            let Some(group) = g.group(id) else { continue };
            if !expanded {
                if !visited.insert(id) {
                    continue;
                }
                stack.push((id, true));
                for &child in group.groups.iter().rev() {
                    stack.push((child, false));
                }
                continue;
            }
            let mut body = Vec::new();
            self.take(&Anchor::GroupStart(id), false, &mut body);
            if let Some(d) = group.direction {
                body.push(self.statement(
                    Statement::Direction(DirectionStatement {
                        direction: d,
                        raw: format!("direction {}", d.as_str()),
                        ..DirectionStatement::default()
                    }),
                    false,
                ));
            }
            for m in &group.members {
                if let Some(c) = g.component(*m) {
                    self.component_line(c, &mut body);
                }
            }
            for child in &group.groups {
                if let Some(mut before) = self.group_trivia(*child) {
                    body.append(&mut before);
                }
                if let Some(block) = done.remove(child) {
                    body.push(block);
                }
            }
            self.take(&Anchor::GroupEnd(id), false, &mut body);
            let header = self.subgraph_header(id);
            let span = self.span(false);
            done.insert(
                id,
                Item::Statement(Statement::Subgraph(Subgraph {
                    span,
                    header,
                    items: body,
                    ..Subgraph::default()
                })),
            );
        }
        for id in tops {
            if let Some(mut before) = self.group_trivia(id) {
                items.append(&mut before);
            }
            if let Some(mut block) = done.remove(&id) {
                if let Item::Statement(Statement::Subgraph(sg)) = &mut block {
                    sg.span = self.span(false);
                }
                items.push(block);
            }
        }
        // `S1@{ … }` metadata, once the blocks are closed.
        for (gid, data) in &g.meta.extras.group_metadata {
            let Some(group) = g.group(*gid) else { continue };
            if data.is_empty() {
                continue;
            }
            let body: Vec<String> = data
                .iter()
                .map(|(k, v)| format!("{k}: {}", yaml_quoted(v)))
                .collect();
            let node = NodeRef {
                id: ident(&group.key),
                metadata: Some(shape_data(&body.join(", "))),
                ..NodeRef::default()
            };
            items.push(self.statement(chain_of(node, Vec::new()), false));
        }
    }

    fn group_trivia(&mut self, id: GroupId) -> Option<Vec<Item>> {
        let mut out = Vec::new();
        self.take(&Anchor::Group(id), false, &mut out);
        (!out.is_empty()).then_some(out)
    }

    fn subgraph_header(&self, id: GroupId) -> SubgraphHeader {
        let Some(group) = self.g.group(id) else {
            return SubgraphHeader::Anonymous;
        };
        let key = group.key.as_str();
        let plain_title = group.label_type != LabelType::Markdown && group.title == key;
        if plain_title && crate::mermaid::is_plain_id(key) {
            return SubgraphHeader::Text(text_label(key));
        }
        let title = if group.title.is_empty() {
            // `[" "]`: an empty title (`[""]` does not parse).
            Label {
                kind: LabelType::String,
                raw: "\" \"".into(),
                text: String::new(),
                ..Label::default()
            }
        } else {
            label(&group.title, group.label_type, LabelContext::Bracket)
        };
        SubgraphHeader::IdTitle {
            id: text_label(key),
            title,
        }
    }

    fn component_line(&mut self, c: &Component, items: &mut Vec<Item>) {
        self.take(&Anchor::Component(c.id), false, items);
        self.order.push(c.id);
        if self.is_cluster_endpoint(c) {
            return;
        }
        let plan = self.class_plan(c);
        let mut node = node_ref(c);
        node.class = plan.decl.as_deref().map(ident);
        items.push(self.statement(chain_of(node, Vec::new()), false));
    }

    /// Whether `c` is only the vertex Mermaid makes for a link to a
    /// subgraph (`X --> S1`): declaring it (with a role class) would style
    /// the subgraph's box, and its links create it again anyway.
    fn is_cluster_endpoint(&self, c: &Component) -> bool {
        c.shape.is_none()
            && c.label == c.key
            && c.label_type == LabelType::Text
            && c.classes.is_empty()
            && c.styles.is_empty()
            && c.attrs == crate::mermaid::NodeAttrs::default()
            && self.group_keys.contains(c.key.as_str())
            && !self.grouped.contains(&c.id)
            && !(self.g.outgoing(c.id).is_empty() && self.g.incoming(c.id).is_empty())
    }

    /// Which class goes on the declaration: the role class (the last one
    /// the component has, as spelled, or the role's own name when it has
    /// none). With several role classes (the last wins in Mermaid) all are
    /// kept in order with `class` lines instead, so the same one wins.
    fn class_plan<'c>(&self, c: &'c Component) -> ClassPlan<'c> {
        let mut classes: Vec<&str> = c.classes.iter().map(String::as_str).collect();
        for _ in 0..self.clicks_on(c.id) {
            if let Some(i) = classes.iter().rposition(|&k| k == CLICKABLE) {
                classes.remove(i);
            }
        }
        let role_classes: Vec<usize> = classes
            .iter()
            .enumerate()
            .filter(|(_, k)| Role::from_class(k).is_some())
            .map(|(i, _)| i)
            .collect();
        match role_classes.as_slice() {
            [] => ClassPlan {
                decl: Some(c.role.class_name().to_string()),
                rest: classes,
            },
            [i] => {
                let decl = classes.remove(*i).to_string();
                ClassPlan {
                    decl: Some(decl),
                    rest: classes,
                }
            }
            _ => ClassPlan {
                decl: None,
                rest: classes,
            },
        }
    }

    /// How many `click` statements the writer emits for a component.
    fn clicks_on(&self, id: ComponentId) -> usize {
        let stored = self.clicks.get(&id).copied().unwrap_or(0);
        if stored > 0 {
            return stored;
        }
        let synthesized = self.g.component(id).is_some_and(|c| c.attrs.link.is_some());
        usize::from(synthesized)
    }

    fn connections(&mut self, items: &mut Vec<Item>) {
        let g = self.g;
        let mut first = true;
        let mut pairs: BTreeMap<(ComponentId, ComponentId), usize> = BTreeMap::new();
        let mut metadata: Vec<(String, String)> = Vec::new();
        for c in g.connections() {
            let took = self.take(&Anchor::Connection(c.id), first, items);
            let blank = first && !took;
            let seen = pairs.entry((c.from, c.to)).or_insert(0);
            let auto = format!(
                "L_{}_{}_{}",
                g.key_of(c.from),
                g.key_of(c.to),
                if *seen == 0 { 0 } else { *seen + 1 }
            );
            *seen += 1;
            let mut props = Vec::new();
            if let Some(a) = c.attrs.animate {
                props.push(format!("animate: {a}"));
            }
            if let Some(a) = &c.attrs.animation {
                props.push(format!("animation: {}", yaml_quoted(a)));
            }
            if !props.is_empty() {
                let id = c.attrs.mermaid_id.clone().unwrap_or(auto);
                metadata.push((id, props.join(", ")));
            }
            let st = edge_statement(g, c);
            items.push(self.statement(st, blank));
            first = false;
        }
        for (id, body) in metadata {
            let node = NodeRef {
                id: ident(&id),
                metadata: Some(shape_data(&body)),
                ..NodeRef::default()
            };
            items.push(self.statement(chain_of(node, Vec::new()), false));
        }
    }

    /// The user's `classDef`s and readable ones for role classes in use
    /// that the user has not defined, all sorted by name (as the model
    /// keeps them, so a re-read file writes the same lines).
    fn class_defs(&mut self, items: &mut Vec<Item>) {
        let g = self.g;
        let mut defs: BTreeMap<String, Vec<String>> = g.meta.class_defs.clone();
        for c in g.components() {
            if self.is_cluster_endpoint(c) {
                continue;
            }
            let plan = self.class_plan(c);
            for class in plan.decl.iter().map(String::as_str).chain(plan.rest) {
                if let Some(role) = Role::from_class(class)
                    && !defs.contains_key(class)
                {
                    defs.insert(
                        class.to_string(),
                        role_class_styles(role)
                            .iter()
                            .map(|s| s.to_string())
                            .collect(),
                    );
                }
            }
        }
        let mut first = true;
        for (name, styles) in defs {
            let anchor = Anchor::ClassDef(name.clone());
            let took = self.take(&anchor, first, items);
            let blank = first && !took;
            first = false;
            // The model holds the pieces split on unescaped commas.
            let styles = styles.iter().map(|s| s.replace(',', "\\,")).collect();
            items.push(self.statement(
                Statement::ClassDef(ClassDef {
                    names: ident(&name),
                    styles,
                    ..ClassDef::default()
                }),
                blank,
            ));
        }
    }

    /// `class` lines for everything but the declaration classes: round k
    /// applies every target's k-th remaining class, targets of one class
    /// sharing a line, so each target gets its classes in order.
    fn classes(&mut self, items: &mut Vec<Item>) {
        let g = self.g;
        let mut targets: Vec<(String, Vec<&str>)> = Vec::new();
        for &id in &self.order {
            if let Some(c) = g.component(id) {
                let plan = self.class_plan(c);
                if !plan.rest.is_empty() {
                    targets.push((c.key.clone(), plan.rest));
                }
            }
        }
        for gr in g.groups() {
            if !gr.classes.is_empty() {
                targets.push((
                    gr.key.clone(),
                    gr.classes.iter().map(String::as_str).collect(),
                ));
            }
        }
        let mut pairs: BTreeMap<(ComponentId, ComponentId), usize> = BTreeMap::new();
        for c in g.connections() {
            let seen = pairs.entry((c.from, c.to)).or_insert(0);
            let n = if *seen == 0 { 0 } else { *seen + 1 };
            *seen += 1;
            if c.attrs.classes.is_empty() {
                continue;
            }
            let id = c
                .attrs
                .mermaid_id
                .clone()
                .unwrap_or_else(|| format!("L_{}_{}_{n}", g.key_of(c.from), g.key_of(c.to)));
            targets.push((id, c.attrs.classes.iter().map(String::as_str).collect()));
        }
        let rounds = targets.iter().map(|(_, l)| l.len()).max().unwrap_or(0);
        let mut first = true;
        for k in 0..rounds {
            let mut lines: Vec<(&str, Vec<&str>)> = Vec::new();
            for (id, list) in &targets {
                let Some(&class) = list.get(k) else { continue };
                match lines.iter_mut().find(|(c, _)| *c == class) {
                    Some((_, ids)) => ids.push(id),
                    None => lines.push((class, vec![id])),
                }
            }
            for (class, ids) in lines {
                let took = first && self.take(&Anchor::Section(Section::Classes), true, items);
                let blank = first && !took;
                first = false;
                let st = Statement::Class(ClassAssign {
                    ids: ident(&ids.join(",")),
                    class: ident(class),
                    ..ClassAssign::default()
                });
                items.push(self.statement(st, blank));
            }
        }
    }

    fn styles(&mut self, items: &mut Vec<Item>) {
        let g = self.g;
        let mut first = true;
        for i in 0..self.order.len() {
            let Some(c) = g.component(self.order[i]) else {
                continue;
            };
            if c.styles.is_empty() {
                continue;
            }
            let took = first && self.take(&Anchor::Section(Section::Styles), true, items);
            let blank = first && !took;
            first = false;
            let st = Statement::Style(Style {
                id: ident(&c.key),
                styles: c.styles.clone(),
                ..Style::default()
            });
            items.push(self.statement(st, blank));
        }
    }

    /// `linkStyle` lines, indices counted over the connections as they are
    /// now; connections with the same curve and styles share a line.
    fn link_styles(&mut self, items: &mut Vec<Item>) {
        let g = self.g;
        type Key = (Option<String>, Vec<String>);
        let mut lines: Vec<(Key, Vec<usize>)> = Vec::new();
        for (i, c) in g.connections().enumerate() {
            let mut style = c.attrs.style.clone();
            // Mermaid adds `fill:none` to a style without a fill.
            if style.len() > 1
                && style.last().is_some_and(|s| s == "fill:none")
                && style.iter().filter(|s| s.starts_with("fill")).count() == 1
            {
                style.pop();
            }
            if style.is_empty() && c.attrs.interpolate.is_none() {
                continue;
            }
            let key = (c.attrs.interpolate.clone(), style);
            match lines.iter_mut().find(|(k, _)| *k == key) {
                Some((_, ids)) => ids.push(i),
                None => lines.push((key, vec![i])),
            }
        }
        let meta = &g.meta;
        let default = (meta.link_style_default.is_some()
            || meta.link_interpolate_default.is_some())
        .then(|| {
            (
                meta.link_interpolate_default.clone(),
                meta.link_style_default.clone().unwrap_or_default(),
            )
        });
        if lines.is_empty() && default.is_none() {
            return;
        }
        let took = self.take(&Anchor::Section(Section::LinkStyles), true, items);
        let mut first = !took;
        for ((curve, styles), indices) in lines {
            let blank = first;
            first = false;
            let st = Statement::LinkStyle(LinkStyle {
                targets: LinkStyleTargets::Indices(
                    indices
                        .into_iter()
                        .map(|value| LinkIndex {
                            value,
                            ..LinkIndex::default()
                        })
                        .collect(),
                ),
                interpolate: curve.as_deref().map(ident),
                styles,
                ..LinkStyle::default()
            });
            items.push(self.statement(st, blank));
        }
        // Last, so its curve reaches no connection written above (each
        // has its own line when it has one).
        if let Some((curve, styles)) = default {
            let blank = first;
            let st = Statement::LinkStyle(LinkStyle {
                targets: LinkStyleTargets::Default(Span::default()),
                interpolate: curve.as_deref().map(ident),
                styles,
                ..LinkStyle::default()
            });
            items.push(self.statement(st, blank));
        }
    }

    /// The `click` statements read from the file (targets renamed, gone
    /// ones dropped), then ones made up for components that got a link
    /// some other way.
    fn clicks(&mut self, items: &mut Vec<Item>) {
        let g = self.g;
        let mut out: Vec<Click> = Vec::new();
        let mut covered: BTreeSet<ComponentId> = BTreeSet::new();
        for s in &g.meta.extras.clicks {
            let ids: Vec<String> = s
                .targets
                .iter()
                .filter_map(|t| match t {
                    ClickTarget::Component(id) => {
                        covered.insert(*id);
                        g.component(*id).map(|c| c.key.clone())
                    }
                    ClickTarget::Other(text) => Some(text.clone()),
                })
                .collect();
            if ids.is_empty() {
                continue;
            }
            let mut click = s.click.clone();
            click.id = ident(&ids.join(","));
            out.push(click);
        }
        for c in g.components() {
            let Some(url) = &c.attrs.link else { continue };
            if covered.contains(&c.id) {
                continue;
            }
            out.push(Click {
                id: ident(&c.key),
                action: ClickAction::Link {
                    url: quoted(url),
                    href: true,
                },
                tooltip: c.attrs.tooltip.as_deref().map(quoted),
                target: c.attrs.link_target.as_deref().map(ident),
                ..Click::default()
            });
        }
        if out.is_empty() {
            return;
        }
        // No blank line above: the parser's `click` spans start before the
        // line break, so `fmt` would drop it and the file would not be canonical.
        self.take(&Anchor::Section(Section::Clicks), false, items);
        for click in out {
            items.push(self.statement(Statement::Click(click), false));
        }
    }
}

/// Puts `span` on a statement made up by the writer.
fn with_span(mut st: Statement, span: Span) -> Statement {
    *st.span_mut() = span;
    st
}

fn ident(text: &str) -> Ident {
    Ident {
        text: text.to_string(),
        ..Ident::default()
    }
}

fn quoted(text: &str) -> Quoted {
    Quoted {
        text: text.to_string(),
        ..Quoted::default()
    }
}

fn text_label(text: &str) -> Label {
    Label {
        kind: LabelType::Text,
        raw: text.to_string(),
        text: text.to_string(),
        ..Label::default()
    }
}

fn shape_data(body: &str) -> ShapeData {
    ShapeData {
        raw: format!(" {body} "),
        body: body.to_string(),
        ..ShapeData::default()
    }
}

fn chain_of(head: NodeRef, links: Vec<ChainLink>) -> Statement {
    Statement::Chain(Chain {
        head: NodeGroup {
            nodes: vec![head],
            ..NodeGroup::default()
        },
        links,
        ..Chain::default()
    })
}

/// Where a label goes: between node brackets or edge pipes.
#[derive(Clone, Copy, PartialEq)]
enum LabelContext {
    Bracket,
    Pipe,
}

/// The source form of a label that reads back as `text` of kind `kind`:
/// unquoted when that is safe, else quoted. Mermaid has no way to write a
/// bare `"` in a label, nor a quoted one starting with a backtick, nor
/// `%%`, nor an unclosed `<tag`: those characters are written as the
/// entities `#quot;` / `#96;` / `#37;` / `#lt;`, and read back as
/// `&quot;` / `&#96;` / `&#37;` / `&lt;` (which Mermaid draws as the character).
fn label(text: &str, kind: LabelType, ctx: LabelContext) -> Label {
    // `%%` could start a comment line or a `%%{` directive: `%#37;`.
    let quote = |t: &str| {
        unclosed_tags_escaped(&entities_as_written(t))
            .replace('"', "#quot;")
            .replace("%%", "%#37;")
    };
    let (kind, raw) = match kind {
        LabelType::Markdown => (kind, format!("\"`{}`\"", quote(text))),
        LabelType::Text if plain_text_ok(text, ctx) => (kind, text.to_string()),
        _ => {
            // ``"`…`"`` is a markdown string: a leading backtick becomes an entity.
            let body = quote(text);
            let body = match body.strip_prefix('`') {
                Some(rest) => format!("#96;{rest}"),
                None => body,
            };
            (LabelType::String, format!("\"{body}\""))
        }
    };
    Label {
        kind,
        raw,
        text: text.to_string(),
        ..Label::default()
    }
}

/// Mermaid reads `#quot;` / `#9829;` in a label as the entities `&quot;` /
/// `&#9829;`, which is how the model holds them; written back, they must be
/// in the `#…;` form again (an `&` before them would be kept as text).
fn entities_as_written(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let body_len = after
            .char_indices()
            .find(|&(i, c)| !(c.is_ascii_alphanumeric() || (i == 0 && c == '#')))
            .map_or(after.len(), |(i, _)| i);
        let body = &after[..body_len];
        let is_entity = after[body_len..].starts_with(';')
            && match body.strip_prefix('#') {
                Some(digits) => !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()),
                None => !body.is_empty() && body.bytes().all(|b| b.is_ascii_alphabetic()),
            };
        if is_entity {
            if !body.starts_with('#') {
                out.push('#');
            }
            out.push_str(body);
            out.push(';');
            rest = &after[body_len + 1..];
        } else {
            out.push('&');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// A `<` that may open an HTML tag never closed in the label (`<a`) would
/// swallow the quotes of the labels after it: it is written `#lt;` (read
/// back as `&lt;`, drawn as `<`). Closed tags (`<br/>`, `<b>x</b>`) stay.
fn unclosed_tags_escaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, c) in text.char_indices() {
        let rest = &text[i + c.len_utf8()..];
        if c == '<' && !rest.is_empty() && !rest.starts_with(' ') && !rest.contains('>') {
            out.push_str("#lt;");
        } else {
            out.push(c);
        }
    }
    out
}

/// Whether `text` reads back unchanged as an unquoted label.
fn plain_text_ok(text: &str, ctx: LabelContext) -> bool {
    const RISKY: &[char] = &[
        '[', ']', '(', ')', '{', '}', '|', '"', '<', '>', '#', ';', '&', '%', '@', '`', '\\', '\n',
        '\r', '\t', ':',
    ];
    let Some(first) = text.chars().next() else {
        return false;
    };
    let last = text.chars().next_back().unwrap_or(first);
    let risky_ends = matches!(first, '/' | '-' | '=' | '.' | '~' | 'o' | 'x' | ' ')
        || matches!(last, '/' | '-' | '=' | '.' | '~' | ' ');
    let links = ["--", "==", "-.", ".-", "~~"];
    let risky_link = ctx == LabelContext::Pipe && links.iter().any(|l| text.contains(l));
    !(text.contains(RISKY) || risky_ends || risky_link || text.contains("direction"))
}

/// A double-quoted YAML scalar.
fn yaml_quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A JavaScript-style number (`60`, `1.5`).
fn js_number(v: f64) -> String {
    if v.is_finite() && v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// A component's declaration: id, bracket shape and label, `@{ … }` for
/// what brackets cannot say (named shapes, icons, images, …).
fn node_ref(c: &Component) -> NodeRef {
    let a = &c.attrs;
    let asset = a.icon.is_some() || a.img.is_some();
    let label_is_id = c.label == c.key && c.label_type == LabelType::Text;
    let mut data: Vec<String> = Vec::new();
    let bracket = |kind: BracketShape| -> NodeShape {
        if c.label.is_empty() {
            return NodeShape {
                kind,
                label: Label {
                    kind: LabelType::String,
                    raw: "\" \"".into(),
                    ..Label::default()
                },
                ..NodeShape::default()
            };
        }
        NodeShape {
            kind,
            label: label(&c.label, c.label_type, LabelContext::Bracket),
            ..NodeShape::default()
        }
    };
    let shape = match &c.shape {
        Some(Shape::Bracket(BracketShape::Rect)) => match a.props.iter().next() {
            Some((k, v)) => Some(NodeShape {
                props: Some(RectProps {
                    key: ident(k),
                    value: ident(v),
                }),
                ..bracket(BracketShape::Rect)
            }),
            None => {
                data.push("shape: rect".into());
                Some(bracket(BracketShape::Square))
            }
        },
        Some(Shape::Bracket(b)) => Some(bracket(*b)),
        Some(Shape::Named(name)) => {
            data.push(format!("shape: {name}"));
            (!(label_is_id || (c.label.is_empty() && asset))).then(|| bracket(BracketShape::Square))
        }
        None if label_is_id || (c.label.is_empty() && asset) => None,
        // Mermaid has no empty label without brackets: a rectangle it is.
        None if c.label.is_empty() => Some(bracket(BracketShape::Square)),
        None => {
            data.push(format!("label: {}", yaml_quoted(&c.label)));
            match c.label_type {
                LabelType::Markdown => {}
                LabelType::Text => data.push("labelType: \"text\"".into()),
                LabelType::String => data.push("labelType: \"string\"".into()),
            }
            None
        }
    };
    for (key, value) in [
        ("icon", &a.icon),
        ("form", &a.form),
        ("img", &a.img),
        ("pos", &a.pos),
        ("constraint", &a.constraint),
    ] {
        if let Some(v) = value {
            data.push(format!("{key}: {}", yaml_quoted(v)));
        }
    }
    if let Some(w) = a.asset_width {
        data.push(format!("w: {}", js_number(w)));
    }
    if let Some(h) = a.asset_height {
        data.push(format!("h: {}", js_number(h)));
    }
    NodeRef {
        id: ident(&c.key),
        shape,
        metadata: (!data.is_empty()).then(|| shape_data(&data.join(", "))),
        ..NodeRef::default()
    }
}

/// `from --> to` with the connection's stroke, markers, length, label and id.
fn edge_statement(g: &ArchGraph, c: &Connection) -> Statement {
    // Mermaid's links have a start marker only when it matches the end
    // marker (`<-->`, `o--o`, `x--x`); others lose their start marker.
    let arrow_start = if c.arrow_start == c.arrow_end {
        c.arrow_start
    } else {
        Arrow::None
    };
    let (arrow_start, arrow_end) = if c.stroke == Stroke::Invisible {
        (Arrow::None, Arrow::None)
    } else {
        (arrow_start, c.arrow_end)
    };
    let link = Link {
        id: c.attrs.mermaid_id.as_deref().map(ident),
        label: (!c.label.is_empty()).then(|| EdgeLabel {
            form: EdgeLabelForm::Pipe,
            label: label(&c.label, c.label_type, LabelContext::Pipe),
        }),
        stroke: c.stroke,
        arrow_start,
        arrow_end,
        length: usize::from(c.attrs.length.max(1)),
        ..Link::default()
    };
    let to = NodeRef {
        id: ident(g.key_of(c.to)),
        ..NodeRef::default()
    };
    chain_of(
        NodeRef {
            id: ident(g.key_of(c.from)),
            ..NodeRef::default()
        },
        vec![ChainLink {
            link,
            nodes: NodeGroup {
                nodes: vec![to],
                ..NodeGroup::default()
            },
        }],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opened(text: &str) -> ArchGraph {
        super::super::file::open(text)
            .map(|o| o.graph)
            .unwrap_or_else(|_| panic!("opens: {text}"))
    }

    #[test]
    fn updating_positions_touches_only_position_lines() {
        let text = "%% my notes\ngraph LR\n  A[Orders] --> B & C\n\n  %% eda:pos A 1 2\nclassDef x fill:#f00\n%% eda:pos Gone 5 5\n";
        let g = opened(text);
        let mut pos = BTreeMap::new();
        pos.insert("A".to_string(), Point::new(10.0, 20.5));
        pos.insert("C".to_string(), Point::new(-3.0, 4.0));
        pos.insert("Nope".to_string(), Point::new(0.0, 0.0));
        let out = update_positions(text, &g, &pos);
        assert_eq!(
            out,
            "%% my notes\ngraph LR\n  A[Orders] --> B & C\n\n  %% eda:pos A 10 20.5\nclassDef x fill:#f00\n%% eda:pos C -3 4\n"
        );
        // Moving one node changes one line.
        pos.insert("C".to_string(), Point::new(7.0, 4.0));
        let again = update_positions(&out, &g, &pos);
        let changed = out
            .lines()
            .zip(again.lines())
            .filter(|(a, b)| a != b)
            .count();
        assert_eq!((changed, out.lines().count()), (1, again.lines().count()));
    }

    #[test]
    fn a_file_without_positions_gets_a_block_at_the_end_and_keeps_crlf() {
        let text = "graph TD\r\nA --> B";
        let g = opened(text);
        let pos: BTreeMap<String, Point> = [
            ("B".to_string(), Point::new(1.0, 2.0)),
            ("A".to_string(), Point::new(0.0, 0.0)),
        ]
        .into_iter()
        .collect();
        assert_eq!(
            update_positions(text, &g, &pos),
            "graph TD\r\nA --> B\r\n\r\n%% eda:pos A 0 0\r\n%% eda:pos B 1 2\r\n"
        );
        assert_eq!(update_positions(text, &g, &BTreeMap::new()), text);
    }

    #[test]
    fn entities_go_back_to_the_hash_form() {
        assert_eq!(entities_as_written("a&quot;b&#9829;"), "a#quot;b#9829;");
        assert_eq!(entities_as_written("R&D & co;"), "R&D & co;");
        assert_eq!(entities_as_written("&#;&x"), "&#;&x");
    }

    #[test]
    fn unclosed_tags_are_escaped() {
        assert_eq!(unclosed_tags_escaped("<a b"), "#lt;a b");
        assert_eq!(unclosed_tags_escaped("x<br/>y"), "x<br/>y");
        assert_eq!(unclosed_tags_escaped("a < b"), "a < b");
    }

    #[test]
    fn risky_labels_are_quoted() {
        assert_eq!(
            label("Kafka", LabelType::Text, LabelContext::Bracket).raw,
            "Kafka"
        );
        assert_eq!(
            label("a(b)", LabelType::Text, LabelContext::Bracket).raw,
            "\"a(b)\""
        );
        assert_eq!(
            label("a--b", LabelType::Text, LabelContext::Pipe).raw,
            "\"a--b\""
        );
        assert_eq!(
            label("say \"x\"", LabelType::String, LabelContext::Pipe).raw,
            "\"say #quot;x#quot;\""
        );
        assert_eq!(
            label("**b**", LabelType::Markdown, LabelContext::Bracket).raw,
            "\"`**b**`\""
        );
        assert_eq!(
            label("`x`", LabelType::Text, LabelContext::Bracket).raw,
            "\"#96;x`\""
        );
    }
}
