//! mermaid's FlowDB, replayed: builds the [`Flowchart`] from statements,
//! either streamed from the parser (`parse_flowchart`, via [`DbSink`]) or
//! walked from a tree ([`Flowchart::from_document`]).
//!
//! Statements are applied in source order, each doing what the matching
//! FlowDB call does in mermaid 12.3.0 (`addVertex`, `addLink`, `addSubGraph`,
//! `addClass`, `setClass`, `updateLink`, `setLink`, `setTooltip`, …),
//! including its quirks: a later bracket label replaces an earlier one while
//! a bare mention keeps it, `@{…}` on an edge id sets edge properties instead
//! of creating a node, auto edge ids count existing edges between the same
//! pair (`L_A_B_0`, then `_2`, `_3`), a node belongs to the first subgraph
//! that closes around it, `linkStyle` on a missing edge is an error.
//!
//! Everything is keyed by hash maps (mermaid scans arrays), so lowering is
//! linear, and the tree is walked with an explicit stack. Deliberate
//! departures from mermaid, all in corners that produce garbage there: a
//! stray `;` line or an `accTitle` inside a subgraph is not made a member
//! (mermaid lists `";"` / the title text as member ids), a link whose
//! opening and closing heads disagree (`<-- x ---`) is a parse error (mermaid
//! builds an edge of type `INVALID`), and the default `securityLevel:
//! strict` is assumed (callbacks recorded, not bound).

use super::ast::{self, ClickAction, Item, LinkStyleTargets, Statement, SubgraphHeader, Visit};
use super::diagnostics::{Diagnostic, Span};
use super::flow::{DiagramType, Direction, Edge, End, Flowchart, Id, LabelType, Node, Subgraph};
use super::hash::{FastMap as HashMap, FastSet as HashSet, IndexTable};
use super::parser::Sink;
use super::shapes;
use super::view::{ChainV, LinkV, MetaV, NodeV};
use super::yaml::{self, Value};
use std::borrow::Cow;

impl Flowchart {
    /// Builds the semantic diagram from a parsed document, as mermaid's
    /// FlowDB would; semantic problems (unknown `@{ shape }`, invalid
    /// `@{…}` YAML, `linkStyle` index out of range) are `db` errors.
    pub fn from_document(doc: &ast::Document) -> Result<Flowchart, Diagnostic> {
        let mut sink = DbSink::default();
        sink.frontmatter(doc.frontmatter.clone());
        sink.header(doc.header.clone());
        let mut nodes: Vec<NodeV<'_>> = Vec::new();
        let mut groups: Vec<(usize, usize)> = Vec::new();
        let mut links: Vec<LinkV<'_>> = Vec::new();
        for visit in doc.walk() {
            match visit {
                Visit::Item(Item::Statement(Statement::Subgraph(sg)), _) => {
                    sink.open_subgraph(sg.keyword, sg.header.clone());
                }
                Visit::Item(Item::Statement(Statement::Chain(c)), _) => {
                    nodes.clear();
                    groups.clear();
                    links.clear();
                    for g in std::iter::once(&c.head).chain(c.links.iter().map(|l| &l.nodes)) {
                        let from = nodes.len();
                        nodes.extend(g.nodes.iter().map(NodeV::of));
                        groups.push((from, nodes.len()));
                    }
                    links.extend(c.links.iter().map(|l| LinkV::of(&l.link)));
                    sink.chain(&ChainV {
                        span: c.span,
                        nodes: &nodes,
                        groups: &groups,
                        links: &links,
                    })?;
                }
                Visit::Item(Item::Statement(st), _) => {
                    sink.db.statement(st, sink.frames.last_mut())?
                }
                Visit::Item(_, _) => {}
                Visit::Leave(sg, _) => sink.close_subgraph(sg.span, sg.end)?,
            }
        }
        Ok(sink.finish())
    }
}

/// The FlowDB replay as a parser sink: `parse_flowchart` streams statements
/// into it; [`Flowchart::from_document`] feeds it from the tree.
#[derive(Default)]
pub(crate) struct DbSink<'a> {
    db: Db<'a>,
    /// One frame per open subgraph: the ids its body mentions.
    frames: Vec<Frame<'a>>,
    /// The member list of the last closed frame, emptied, for the next
    /// one to open: a big diagram's subgraphs then grow one list once
    /// rather than each its own from nothing.
    spare_members: Vec<u32>,
}

/// Working memory of a parse that outlives it: the preprocessed text and
/// the lowering's tables. `parse_flowchart` keeps one per thread, so
/// parsing again (an editor re-parses on every change) allocates little
/// beyond the result: on big diagrams each fresh block is megabytes whose
/// every page faults in, and the allocator hands such blocks back to the
/// system when they are freed.
#[derive(Default)]
pub(crate) struct Scratch {
    /// The buffer for the preprocessed text.
    pub text: String,
    vertices: IndexTable,
    pairs: IndexTable,
    pair_counts: Vec<PairCount>,
    pair_heads: Vec<u32>,
    claimed: Vec<bool>,
}

impl Scratch {
    /// The bytes held.
    pub fn allocated_bytes(&self) -> usize {
        self.text.capacity()
            + self.vertices.allocated_bytes()
            + self.pairs.allocated_bytes()
            + self.pair_counts.capacity() * std::mem::size_of::<PairCount>()
            + self.pair_heads.capacity() * 4
            + self.claimed.capacity()
    }
}

impl DbSink<'_> {
    /// A sink sized for a text of `lines` lines, working in `scratch`: one
    /// edge and about half a vertex per line is typical, so the big tables
    /// grow at most once or twice instead of a dozen times (each growth
    /// copies every entry).
    pub fn with_lines(lines: usize, scratch: Scratch) -> Self {
        let mut sink = DbSink::default();
        let db = &mut sink.db;
        let Scratch {
            text: _,
            mut vertices,
            mut pairs,
            mut pair_counts,
            mut pair_heads,
            mut claimed,
        } = scratch;
        vertices.clear();
        pairs.clear();
        pair_counts.clear();
        pair_heads.clear();
        claimed.clear();
        db.vertices = vertices;
        db.pairs = pairs;
        db.pair_counts = pair_counts;
        db.pair_heads = pair_heads;
        db.claimed = claimed;
        db.chart.edges.reserve(lines);
        db.chart.nodes.reserve(lines / 2);
        // The tables are empty: nothing to re-hash.
        db.vertices.reserve(lines / 2, |_| "");
        db.claimed.reserve(lines / 2);
        db.pair_heads.reserve(lines / 2);
        db.pair_counts.reserve(lines);
        sink
    }

    /// The finished diagram.
    pub fn finish(self) -> Flowchart {
        self.finish_keeping().0
    }

    /// The finished diagram, and the working memory for the next parse
    /// (its text buffer empty).
    pub fn finish_keeping(mut self) -> (Flowchart, Scratch) {
        // Tooltips are looked up when the diagram is drawn, so they reach
        // nodes created after the `click` too. Most diagrams have none:
        // then no id is hashed.
        if !self.db.tooltips.is_empty() {
            for node in &mut self.db.chart.nodes {
                if let Some(t) = self.db.tooltips.get(node.id.as_str()) {
                    node.attrs.tooltip = Some(t.clone());
                }
            }
        }
        let scratch = Scratch {
            text: String::new(),
            vertices: std::mem::take(&mut self.db.vertices),
            pairs: std::mem::take(&mut self.db.pairs),
            pair_counts: std::mem::take(&mut self.db.pair_counts),
            pair_heads: std::mem::take(&mut self.db.pair_heads),
            claimed: std::mem::take(&mut self.db.claimed),
        };
        (std::mem::take(&mut self.db.chart), scratch)
    }
}

impl<'a> Sink<'a> for DbSink<'a> {
    fn frontmatter(&mut self, fm: Option<ast::Frontmatter>) {
        self.db.chart.title = fm.and_then(|f| f.title);
    }

    fn header(&mut self, header: ast::Header) {
        self.db.chart.diagram_type = match header.keyword {
            ast::HeaderKeyword::FlowchartElk => DiagramType::FlowchartElk,
            _ => DiagramType::FlowchartV2,
        };
        self.db.chart.direction = match header.direction.map(|d| d.direction) {
            None | Some(Direction::TD) => Direction::TB,
            Some(d) => d,
        };
    }

    fn trivia(&mut self, _item: Item) {}

    fn chain(&mut self, chain: &ChainV<'a, '_>) -> Result<(), Diagnostic> {
        self.db.chain(chain, self.frames.last_mut())
    }

    fn statement(&mut self, st: Statement) -> Result<(), Diagnostic> {
        self.db.statement(&st, self.frames.last_mut())
    }

    fn open_subgraph(&mut self, keyword: Span, header: SubgraphHeader) {
        self.frames.push(Frame {
            keyword,
            header,
            members: std::mem::take(&mut self.spare_members),
            ..Frame::default()
        });
    }

    fn close_subgraph(&mut self, _span: Span, _end: Span) -> Result<(), Diagnostic> {
        if let Some(mut frame) = self.frames.pop() {
            let id = self.db.add_subgraph(&frame);
            if let Some(parent) = self.frames.last_mut() {
                parent.push_other(Cow::Owned(id));
            }
            frame.members.clear();
            self.spare_members = frame.members;
        }
        Ok(())
    }
}

/// The statements of one subgraph body, as mermaid's `document` list:
/// every id a chain mentions, nested subgraph ids, the last `direction`.
#[derive(Default)]
struct Frame<'a> {
    keyword: Span,
    header: SubgraphHeader,
    /// The members in order: a vertex index (the common case, 4 bytes a
    /// mention), or with [`OTHER_MEMBER`] set the index in `others` of
    /// another id (a nested subgraph, an edge id given `@{…}` inside the
    /// block).
    members: Vec<u32>,
    others: Vec<Cow<'a, str>>,
    dir: Option<Direction>,
}

/// Marks a [`Frame`] member that is not a vertex index.
const OTHER_MEMBER: u32 = 1 << 31;

impl<'a> Frame<'a> {
    /// Adds a mention of vertex `v` (or of `id`, for a vertex index too
    /// big to mark).
    fn push_vertex(&mut self, v: u32, id: &'a str) {
        if v < OTHER_MEMBER {
            self.members.push(v);
        } else {
            self.push_other(Cow::Borrowed(id));
        }
    }

    /// Adds a mention of an id that is not a vertex (yet).
    fn push_other(&mut self, id: Cow<'a, str>) {
        let i = u32::try_from(self.others.len()).unwrap_or(u32::MAX);
        self.members.push(OTHER_MEMBER | (i & !OTHER_MEMBER));
        self.others.push(id);
    }

    /// The id of member `m` when it is not a vertex index.
    fn other(&self, m: u32) -> Option<&Cow<'a, str>> {
        if m & OTHER_MEMBER == 0 {
            return None;
        }
        self.others.get((m & !OTHER_MEMBER) as usize)
    }
}

/// The FlowDB state. Keys borrow from the source where they can, so a
/// mention costs a hash look-up, not an allocation.
#[derive(Default)]
struct Db<'a> {
    chart: Flowchart,
    /// Vertex indices by id (the ids are the vertices' own).
    vertices: IndexTable,
    /// Edges with a user-defined id.
    user_edges: HashMap<String, usize>,
    /// Edges by automatic id, built the first time an `L_…_N` id is looked up.
    auto_edges: Option<HashMap<String, usize>>,
    /// Endpoint ids that are not vertices (edge ids used as nodes) → keys
    /// above the vertex range, for pair counting.
    endpoints: HashMap<&'a str, u64>,
    /// Edges so far per pair of vertex indices (the common case), in
    /// `pair_counts`: each source's first pairs in a list from
    /// `pair_heads` (one slot per vertex), which a big diagram reaches
    /// near where it left the vertex; past `PAIR_LIST_MAX` pairs (a hub),
    /// the source's further pairs by table, keyed by the pair packed into
    /// one word.
    pairs: IndexTable,
    pair_counts: Vec<PairCount>,
    pair_heads: Vec<u32>,
    /// The same for pairs with an endpoint that is not a vertex.
    odd_pairs: HashMap<(u64, u64), u32>,
    tooltips: HashMap<String, String>,
    /// Edge labels by source text, as [`Edge`] holds them (1 + the index
    /// in the edge texts): a diagram repeats a few event names on many
    /// edges, and each edge then shares the label's text.
    edge_labels: HashMap<&'a str, u32>,
    /// Edge ends that name no vertex, by id.
    text_ends: HashMap<&'a str, End>,
    subgraphs: HashMap<String, usize>,
    /// Per vertex: already a member of a closed subgraph.
    claimed: Vec<bool>,
    /// Non-vertex ids already a member of a closed subgraph.
    members: HashSet<Cow<'a, str>>,
    /// Vertex index of each node of the chain being applied.
    chain_index: Vec<Option<u32>>,
    sub_count: usize,
    default_interpolate: Option<String>,
}

/// The edges so far between two vertices.
struct PairCount {
    from: u32,
    to: u32,
    count: u32,
    /// The next pair of the same source's list ([`NO_PAIR`] at the end or
    /// for a pair kept by table).
    next: u32,
}

/// The end of a pair list.
const NO_PAIR: u32 = u32::MAX;

/// Pairs kept in a source's list; a hub's further pairs go by table, so a
/// look-up walks at most this many.
const PAIR_LIST_MAX: usize = 16;

impl PairCount {
    fn key(&self) -> u64 {
        u64::from(self.from) << 32 | u64::from(self.to)
    }
}

/// Whether `id` has the shape of an automatic edge id (`L_<from>_<to>_<n>`).
fn looks_auto(id: &str) -> bool {
    id.starts_with("L_")
        && id
            .rsplit_once('_')
            .is_some_and(|(_, n)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// A label as handed to `addVertex`.
struct TextObj<'a> {
    text: &'a str,
    kind: LabelType,
}

impl<'a> Db<'a> {
    /// The index of the vertex `id`.
    fn vertex(&mut self, id: &str) -> Option<usize> {
        let nodes = &self.chart.nodes;
        let hash = self.vertices.hash(id);
        let i = self.vertices.find(hash, |i| {
            nodes
                .get(i as usize)
                .is_some_and(|n| n.id.as_bytes() == id.as_bytes())
        })?;
        Some(i as usize)
    }

    /// The vertex `id`, created (bare, at `span`) if new.
    fn vertex_or_new(&mut self, id: &str, span: Span, labelled: bool) -> usize {
        let nodes = &self.chart.nodes;
        let hash = self.vertices.hash(id);
        let found = self.vertices.find(hash, |i| {
            nodes
                .get(i as usize)
                .is_some_and(|n| n.id.as_bytes() == id.as_bytes())
        });
        if let Some(i) = found {
            return i as usize;
        }
        let i = self.chart.nodes.len();
        let shared = Id::from(id);
        self.chart.nodes.push(Node {
            // A label given now replaces this at once.
            label: if labelled {
                Id::default()
            } else {
                shared.clone()
            },
            id: shared,
            span,
            ..Node::default()
        });
        let nodes = &self.chart.nodes;
        // Past 2^32 vertices (not reachable from a file that fits in
        // memory) the index finds no vertex and is never matched.
        let slot = u32::try_from(i).unwrap_or(u32::MAX);
        self.vertices.insert(hash, slot, |j| {
            nodes.get(j as usize).map_or("", |n| n.id.as_str())
        });
        self.claimed.push(false);
        self.pair_heads.push(NO_PAIR);
        i
    }

    /// The number of edges so far from vertex `a` to vertex `b`, to be
    /// bumped by the caller.
    fn pair_count(&mut self, a: u32, b: u32) -> &mut u32 {
        let head = self.pair_heads.get(a as usize).copied();
        let mut listed = 0;
        let mut at = head.unwrap_or(NO_PAIR);
        while let Some(p) = self.pair_counts.get(at as usize) {
            if p.to == b {
                return &mut self.pair_counts[at as usize].count;
            }
            at = p.next;
            listed += 1;
        }
        if let Some(head) = head
            && listed < PAIR_LIST_MAX
        {
            let i = u32::try_from(self.pair_counts.len()).unwrap_or(NO_PAIR);
            self.pair_counts.push(PairCount {
                from: a,
                to: b,
                count: 0,
                next: head,
            });
            if let Some(h) = self.pair_heads.get_mut(a as usize) {
                *h = i;
            }
            let last = self.pair_counts.len() - 1;
            return &mut self.pair_counts[last].count;
        }
        let counts = &self.pair_counts;
        let key = u64::from(a) << 32 | u64::from(b);
        let hash = self.pairs.hash(key);
        let found = self.pairs.find(hash, |i| {
            counts
                .get(i as usize)
                .is_some_and(|p| p.from == a && p.to == b)
        });
        let i = match found {
            Some(i) => i as usize,
            None => {
                let i = counts.len();
                self.pair_counts.push(PairCount {
                    from: a,
                    to: b,
                    count: 0,
                    next: NO_PAIR,
                });
                let counts = &self.pair_counts;
                let slot = u32::try_from(i).unwrap_or(u32::MAX);
                self.pairs.insert(hash, slot, |j| {
                    counts.get(j as usize).map_or(0, PairCount::key)
                });
                i
            }
        };
        // Found in the table or just pushed: in range.
        &mut self.pair_counts[i].count
    }

    /// The first edge with id `id`, as mermaid's `edges.find`.
    fn edge_index(&mut self, id: &str) -> Option<usize> {
        let user = if self.user_edges.is_empty() {
            None
        } else {
            self.user_edges.get(id).copied()
        };
        if !looks_auto(id) {
            return user;
        }
        let chart = &self.chart;
        let auto = self.auto_edges.get_or_insert_with(|| {
            let mut m = HashMap::default();
            for e in chart.edge_refs() {
                if !e.user_defined_id() {
                    m.entry(e.id().into_owned()).or_insert(e.index());
                }
            }
            m
        });
        match (user, auto.get(id).copied()) {
            (Some(u), Some(a)) => Some(u.min(a)),
            (u, a) => u.or(a),
        }
    }

    /// Every statement but chains and subgraphs (those come as views and
    /// open/close events).
    fn statement(
        &mut self,
        st: &Statement,
        frame: Option<&mut Frame<'a>>,
    ) -> Result<(), Diagnostic> {
        match st {
            Statement::Chain(_) | Statement::Subgraph(_) => Ok(()),
            Statement::Direction(d) => {
                if let Some(f) = frame {
                    f.dir = Some(d.direction);
                }
                Ok(())
            }
            Statement::ClassDef(c) => {
                self.add_class(c);
                Ok(())
            }
            Statement::Class(c) => {
                self.set_class(&c.ids.text, &c.class.text);
                Ok(())
            }
            Statement::Style(s) => self
                .add_vertex(
                    Cow::Owned(s.id.text.clone()),
                    None,
                    None,
                    Some(&s.styles),
                    None,
                    None,
                    s.id.span,
                )
                .map(|_| ()),
            Statement::LinkStyle(l) => self.link_style(l),
            Statement::Click(c) => {
                self.click(c);
                Ok(())
            }
            Statement::AccTitle(a) => {
                self.chart.acc_title = Some(sanitize_text(a.text.trim()).trim_start().to_string());
                Ok(())
            }
            Statement::AccDescr(a) => {
                let text = sanitize_text(a.text.trim());
                self.chart.acc_descr = Some(collapse_line_indent(&text));
                Ok(())
            }
        }
    }

    fn chain(
        &mut self,
        chain: &ChainV<'a, '_>,
        mut frame: Option<&mut Frame<'a>>,
    ) -> Result<(), Diagnostic> {
        let mut index = std::mem::take(&mut self.chain_index);
        index.clear();
        let mut result = Ok(());
        let mut prev: Option<(usize, usize)> = None;
        for (i, &(from, to)) in chain.groups.iter().enumerate() {
            let group = chain.nodes.get(from..to).unwrap_or_default();
            for node in group {
                match self.node_ref(node) {
                    Ok(ix) => index.push(ix),
                    Err(e) => {
                        result = Err(e);
                        break;
                    }
                }
            }
            if result.is_err() {
                break;
            }
            if let Some(f) = frame.as_deref_mut() {
                for (n, ix) in group.iter().zip(&index[from..to]) {
                    match ix {
                        Some(ix) => f.push_vertex(*ix, n.id.text),
                        None => f.push_other(Cow::Borrowed(n.id.text)),
                    }
                }
            }
            if let (Some(p), Some(link)) = (prev, i.checked_sub(1).and_then(|l| chain.links.get(l)))
            {
                self.add_link(chain.nodes, &index, p, (from, to), link);
            }
            prev = Some((from, to));
        }
        self.chain_index = index;
        result
    }

    /// One node mention: the vertex, its `:::class`, its `@{…}`. Returns the
    /// vertex index (none when the id names an edge).
    fn node_ref(&mut self, node: &NodeV<'a>) -> Result<Option<u32>, Diagnostic> {
        let id = node.id.text;
        let index = match &node.shape {
            Some(shape) => {
                let text = TextObj {
                    text: &shape.label.text,
                    kind: shape.label.kind,
                };
                let props = shape.props.as_deref().map(|(k, v)| (k.text, v.text));
                self.add_vertex(
                    Cow::Borrowed(id),
                    Some(text),
                    Some(shape.kind.mermaid_type()),
                    None,
                    props,
                    None,
                    node.id.span,
                )?
            }
            None => self.add_vertex(
                Cow::Borrowed(id),
                None,
                None,
                None,
                None,
                None,
                node.id.span,
            )?,
        };
        if let Some(class) = &node.class {
            self.set_class(id, class.text);
        }
        if let Some(meta) = &node.meta {
            self.add_vertex(
                Cow::Borrowed(id),
                None,
                None,
                None,
                None,
                Some(meta),
                node.id.span,
            )?;
        }
        Ok(index.and_then(|i| u32::try_from(i).ok()))
    }

    #[allow(clippy::too_many_arguments)]
    fn add_vertex(
        &mut self,
        id: Cow<'a, str>,
        text: Option<TextObj<'_>>,
        shape: Option<&'static str>,
        styles: Option<&[String]>,
        props: Option<(&str, &str)>,
        meta: Option<&MetaV<'_>>,
        span: Span,
    ) -> Result<Option<usize>, Diagnostic> {
        if is_blank(&id) {
            return Ok(None);
        }
        let doc = match meta {
            Some(m) => Some(yaml::parse_shape_data(&m.body).map_err(|e| {
                Diagnostic::db(m.span, format!("invalid `@{{…}}` data: {e}"))
                    .with_hint("the body is YAML: `A@{ shape: cyl, label: \"Orders DB\" }`")
            })?),
            None => None,
        };
        if let Some(doc) = &doc
            && let Some(&i) = self.subgraphs.get(id.as_ref())
        {
            let sg = &mut self.chart.subgraphs[i];
            for (k, v) in doc {
                sg.metadata.insert(k.clone(), v.to_text());
            }
            return Ok(None);
        }
        if let Some(i) = self.edge_index(&id) {
            if let Some(doc) = &doc
                && let Some(attrs) = self.chart.link_attrs_mut(i)
            {
                for (k, v) in doc {
                    match (k.as_str(), v) {
                        ("animate", Value::Bool(b)) => attrs.animate = Some(*b),
                        ("animate", v) => attrs.animate = Some(v.truthy()),
                        ("animation", v) => attrs.animation = Some(v.to_text()),
                        ("curve", v) => attrs.interpolate = Some(v.to_text()),
                        _ => {}
                    }
                }
            }
            return Ok(None);
        }
        let index = self.vertex_or_new(&id, span, text.is_some());
        let vertex = &mut self.chart.nodes[index];
        if let Some(t) = text {
            vertex.label = label_text(t.text);
            vertex.label_type = t.kind;
        }
        if let Some(shape) = shape
            && vertex.shape.as_deref() != Some(shape)
        {
            vertex.shape = Some(Id::from(shape));
        }
        if let Some(styles) = styles {
            vertex.styles.extend(styles.iter().cloned());
        }
        if let Some((k, v)) = props {
            vertex.attrs.props.insert(k.to_string(), v.to_string());
        }
        let (Some(doc), Some(meta)) = (doc, meta) else {
            return Ok(Some(index));
        };
        let get = |key: &str| doc.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v);
        if let Some(shape) = get("shape").filter(|v| v.truthy()) {
            let name = shape.to_text();
            // Only errors need the span.
            let at = || shape_span(meta, &name);
            if !matches!(shape, Value::Str(_)) || changes_in_lowercase(&name) || name.contains('_')
            {
                let near = shapes::near_names(&name);
                let mut d = Diagnostic::db(
                    at(),
                    format!("No such shape: {name}. Shape names should be lowercase."),
                );
                if !near.is_empty() {
                    d = d.with_hint(format!("did you mean {}?", quote_list(&near)));
                }
                return Err(d);
            }
            let Some(known) = shapes::known_shape(&name) else {
                let near = shapes::near_names(&name);
                let hint = if near.is_empty() {
                    "see the shape list: rect, rounded, stadium, cyl, circle, diamond, hex, doc, …"
                        .to_string()
                } else {
                    format!("did you mean {}?", quote_list(&near))
                };
                return Err(Diagnostic::db(at(), format!("No such shape: {name}.")).with_hint(hint));
            };
            vertex.shape = Some(Id::from(known));
        }
        let label_blank = get("label").is_none_or(is_blank_text);
        if let Some(label) = get("label").filter(|v| v.truthy()) {
            vertex.label = Id::from(label.to_text());
            vertex.label_type = match get("labelType").map(Value::to_text).as_deref() {
                Some("text") => LabelType::Text,
                Some("string") => LabelType::String,
                _ => LabelType::Markdown,
            };
        }
        if let Some(icon) = get("icon").filter(|v| v.truthy()) {
            vertex.attrs.icon = Some(icon.to_text());
            if label_blank && vertex.label == vertex.id {
                vertex.label = Id::default();
            }
        }
        if let Some(v) = get("form").filter(|v| v.truthy()) {
            vertex.attrs.form = Some(v.to_text());
        }
        if let Some(v) = get("pos").filter(|v| v.truthy()) {
            vertex.attrs.pos = Some(v.to_text());
        }
        if let Some(img) = get("img").filter(|v| v.truthy()) {
            vertex.attrs.img = Some(img.to_text());
            if label_blank && vertex.label == vertex.id {
                vertex.label = Id::default();
            }
        }
        if let Some(v) = get("constraint").filter(|v| v.truthy()) {
            vertex.attrs.constraint = Some(v.to_text());
        }
        if let Some(v) = get("w").filter(|v| v.truthy()) {
            vertex.attrs.asset_width = v.to_number();
        }
        if let Some(v) = get("h").filter(|v| v.truthy()) {
            vertex.attrs.asset_height = v.to_number();
        }
        Ok(Some(index))
    }

    /// The pair-counting key of an endpoint: its vertex index, or a key
    /// above the vertex range for ids that are not vertices.
    fn endpoint(&mut self, id: &'a str, vertex: Option<u32>) -> u64 {
        if let Some(v) = vertex {
            return u64::from(v);
        }
        let next = (1u64 << 32) + self.endpoints.len() as u64;
        *self.endpoints.entry(id).or_insert(next)
    }

    /// mermaid's `addLink`: every start to every end; a user edge id goes to
    /// the last start × first end only (compared by id, as mermaid does).
    fn add_link(
        &mut self,
        nodes: &[NodeV<'a>],
        index: &[Option<u32>],
        starts: (usize, usize),
        ends: (usize, usize),
        link: &LinkV<'a>,
    ) {
        let id = link
            .id
            .as_ref()
            .map(|i| format!("{}@", i.text).replacen('@', "", 1));
        let (Some(last_start), Some(first_end)) = (
            nodes.get(starts.1.wrapping_sub(1)).map(|n| n.id.text),
            nodes.get(ends.0).map(|n| n.id.text),
        ) else {
            return;
        };
        for s in starts.0..starts.1 {
            for e in ends.0..ends.1 {
                let (Some(start), Some(end)) = (nodes.get(s), nodes.get(e)) else {
                    continue;
                };
                let (from, to) = (start.id.text, end.id.text);
                let user = if from == last_start && to == first_end {
                    id.as_deref()
                } else {
                    None
                };
                let (vs, ve) = (
                    index.get(s).copied().flatten(),
                    index.get(e).copied().flatten(),
                );
                let key = (self.endpoint(from, vs), self.endpoint(to, ve));
                let ends = ((self.end(from, vs), from), (self.end(to, ve), to));
                self.add_single_link(ends, key, link, user);
            }
        }
    }

    /// An edge end: the vertex, or the id kept as text for an end that is
    /// not a vertex.
    fn end(&mut self, id: &'a str, vertex: Option<u32>) -> End {
        if let Some(end) = vertex.and_then(|v| End::vertex(v as usize)) {
            return end;
        }
        let chart = &mut self.chart;
        *self
            .text_ends
            .entry(id)
            .or_insert_with(|| End::text(chart.push_edge_text(Id::from(id))))
    }

    fn add_single_link(
        &mut self,
        ((from, from_id), (to, to_id)): ((End, &str), (End, &str)),
        key: (u64, u64),
        link: &LinkV<'a>,
        id: Option<&str>,
    ) {
        let index = self.chart.edges.len();
        let mut edge = Edge {
            from,
            to,
            stroke: link.stroke,
            arrow_start: link.arrow_start,
            arrow_end: link.arrow_end,
            length: u8::try_from(link.length.min(10)).unwrap_or(10),
            ..Edge::default()
        };
        edge.set_span(link.arrow.span);
        if let Some((_, label)) = &link.label {
            let chart = &mut self.chart;
            let mut push = |text: &str| chart.push_edge_text(label_text(text)).saturating_add(1);
            edge.label = match &label.text {
                Cow::Borrowed(text) => *self.edge_labels.entry(text).or_insert_with(|| push(text)),
                Cow::Owned(text) => push(text),
            };
            edge.label_type = label.kind;
        }
        let count = match key {
            (a, b) if a >> 32 == 0 && b >> 32 == 0 => {
                // Both below 2^32: vertex indices.
                self.pair_count(a as u32, b as u32)
            }
            _ => self.odd_pairs.entry(key).or_insert(0),
        };
        let existing = *count;
        *count = count.saturating_add(1);
        match id {
            Some(id) if self.edge_index(id).is_none() => {
                edge.id = self.chart.push_edge_text(Id::from(id));
                edge.user_id = true;
                self.user_edges.insert(id.to_string(), index);
            }
            _ => {
                let n = if existing == 0 {
                    0
                } else {
                    existing.saturating_add(1)
                };
                edge.id = n;
                if let Some(auto) = &mut self.auto_edges {
                    auto.entry(super::flow::auto_edge_id(from_id, to_id, n))
                        .or_insert(index);
                }
            }
        }
        debug_assert_eq!(
            edge.edge_type(),
            link.edge_type,
            "the markers give the type"
        );
        self.chart.edges.push(edge);
        if let Some(curve) = &self.default_interpolate
            && let Some(attrs) = self.chart.link_attrs_mut(index)
        {
            attrs.interpolate = Some(curve.clone());
        }
    }

    /// mermaid's `addSubGraph`.
    fn add_subgraph(&mut self, frame: &Frame<'a>) -> String {
        let (id, title, kind) = match &frame.header {
            SubgraphHeader::Anonymous => (None, String::new(), LabelType::Markdown),
            SubgraphHeader::Text(label) => {
                let id = (!label.text.chars().any(char::is_whitespace))
                    .then(|| label.text.trim().to_string());
                let kind = match label.kind {
                    LabelType::Markdown => LabelType::Markdown,
                    _ => LabelType::Text,
                };
                (id, label.text.clone(), kind)
            }
            SubgraphHeader::IdTitle { id, title } => (
                Some(id.text.trim().to_string()),
                title.text.clone(),
                title.kind,
            ),
        };
        let id = id.unwrap_or_else(|| format!("subGraph{}", self.sub_count));
        self.sub_count += 1;
        let title = sanitize_text(&title).trim().to_string();
        // mermaid's `uniq` (first mention wins, blanks dropped), then
        // `makeUniq` (ids another subgraph already holds are dropped), and
        // 12.x drops the subgraph's own id.
        let mut members: Vec<Id> = Vec::new();
        for &m in &frame.members {
            let other = frame.other(m);
            let vertex = match other {
                None => Some(m as usize),
                Some(s) => self.vertex(s),
            };
            match vertex {
                Some(v) => {
                    let Some(node) = self.chart.nodes.get(v) else {
                        continue;
                    };
                    if self.claimed.get(v).copied().unwrap_or(true)
                        || node.id == id
                        || is_blank_id(&node.id)
                    {
                        continue;
                    }
                    members.push(node.id.clone());
                    if let Some(c) = self.claimed.get_mut(v) {
                        *c = true;
                    }
                }
                None => {
                    let Some(s) = other else { continue };
                    if s.trim().is_empty() || *s == *id || self.members.contains(s) {
                        continue;
                    }
                    members.push(Id::from(s.as_ref()));
                    self.members.insert(s.clone());
                }
            }
        }
        if let Some(&i) = self.subgraphs.get(&id) {
            let existing = &mut self.chart.subgraphs[i];
            existing.members.extend(members);
            if !title.is_empty() {
                existing.title = title;
            }
            if frame.dir.is_some() {
                existing.direction = frame.dir;
            }
            return id;
        }
        self.subgraphs
            .insert(id.clone(), self.chart.subgraphs.len());
        self.chart.subgraphs.push(Subgraph {
            id: id.clone(),
            title,
            label_type: kind,
            direction: frame.dir,
            members,
            span: frame.keyword,
            ..Subgraph::default()
        });
        id
    }

    /// mermaid's `addClass`: the styles are re-split on unescaped commas.
    fn add_class(&mut self, c: &ast::ClassDef) {
        let joined = c.styles.join(",").replace("\\,", "§§§");
        let styles: Vec<String> = joined.split(',').map(|s| s.replace("§§§", ",")).collect();
        for name in c.name_list() {
            self.chart
                .class_defs
                .entry(name.to_string())
                .or_default()
                .extend(styles.iter().cloned());
        }
    }

    /// mermaid's `setClass`: nodes, edges and subgraphs that exist now.
    fn set_class(&mut self, ids: &str, class: &str) {
        for id in ids.split(',') {
            if let Some(i) = self.vertex(id) {
                self.chart.nodes[i].classes.push(class.to_string());
            }
            if let Some(attrs) = self
                .edge_index(id)
                .and_then(|i| self.chart.link_attrs_mut(i))
            {
                attrs.classes.push(class.to_string());
            }
            if let Some(&i) = self.subgraphs.get(id) {
                self.chart.subgraphs[i].classes.push(class.to_string());
            }
        }
    }

    fn link_style(&mut self, l: &ast::LinkStyle) -> Result<(), Diagnostic> {
        match &l.targets {
            LinkStyleTargets::Default(_) => {
                if let Some(curve) = &l.interpolate {
                    self.default_interpolate = Some(curve.text.clone());
                    self.chart.link_interpolate_default = Some(curve.text.clone());
                }
                if !l.styles.is_empty() {
                    self.chart.link_style_default = Some(l.styles.clone());
                }
            }
            LinkStyleTargets::Indices(list) => {
                let n = self.chart.edges.len();
                for index in list {
                    // mermaid indexes its edge array with the digits as a
                    // string key, so `01` finds nothing.
                    let raw = &index.span;
                    let leading_zero = raw.end - raw.start > 1 && index.value < n && {
                        let digits = index.value.to_string();
                        digits.len() != raw.end - raw.start
                    };
                    if index.value >= n || leading_zero {
                        let valid = if n == 0 {
                            "the diagram has no edges yet".to_string()
                        } else {
                            format!(
                                "valid indices are 0 to {} (edges count from 0 in the order they are written)",
                                n - 1
                            )
                        };
                        return Err(Diagnostic::db(
                            index.span,
                            format!("linkStyle index {} is out of range: {valid}", index.value),
                        )
                        .with_hint("count the edges above this line, starting at 0, or use `linkStyle default`"));
                    }
                }
                for index in list {
                    if l.interpolate.is_none() && l.styles.is_empty() {
                        continue;
                    }
                    // In range: checked above.
                    let Some(attrs) = self.chart.link_attrs_mut(index.value) else {
                        continue;
                    };
                    if let Some(curve) = &l.interpolate {
                        attrs.interpolate = Some(curve.text.clone());
                    }
                    if !l.styles.is_empty() {
                        attrs.style = l.styles.clone();
                        if !attrs.style.iter().any(|s| s.starts_with("fill")) {
                            attrs.style.push("fill:none".into());
                        }
                    }
                }
            }
        }
        Ok(())
    }

    fn click(&mut self, c: &ast::Click) {
        let ids = c.id.text.as_str();
        match &c.action {
            ClickAction::Link { url, .. } => {
                let link = format_url(&url.text);
                for id in ids.split(',') {
                    if let Some(i) = self.vertex(id) {
                        let node = &mut self.chart.nodes[i];
                        node.attrs.link = link.clone();
                        node.attrs.link_target = c.target.as_ref().map(|t| t.text.clone());
                    }
                }
            }
            ClickAction::Callback { .. } => {
                // mermaid binds callbacks only with `securityLevel: loose`;
                // we record that one was declared.
                for id in ids.split(',') {
                    if let Some(i) = self.vertex(id) {
                        self.chart.nodes[i].attrs.have_callback = true;
                    }
                }
            }
        }
        self.set_class(ids, "clickable");
        if let Some(tip) = &c.tooltip {
            let tip = sanitize_text(&tip.text);
            for id in ids.split(',') {
                self.tooltips.insert(id.to_string(), tip.clone());
            }
        }
    }
}

/// Whether an id is empty or all blanks (`str::trim`'s notion, as before).
fn is_blank(id: &str) -> bool {
    // Ids nearly always start with a visible ASCII character.
    match id.as_bytes().first() {
        Some(b) if b.is_ascii_graphic() => false,
        _ => id.trim().is_empty(),
    }
}

/// [`is_blank`] for an [`Id`], looking at its bytes first (its text
/// costs a UTF-8 check).
fn is_blank_id(id: &Id) -> bool {
    match id.as_bytes().first() {
        Some(b) if b.is_ascii_graphic() => false,
        _ => id.trim().is_empty(),
    }
}

/// Whether `name.to_lowercase()` differs from `name`, without building it:
/// a character that lowercases to something else changes the string
/// (final-sigma handling only ever maps `Σ`, which changes either way).
fn changes_in_lowercase(name: &str) -> bool {
    if name.is_ascii() {
        return name.bytes().any(|b| b.is_ascii_uppercase());
    }
    name.chars()
        .any(|c| c.to_lowercase().ne(std::iter::once(c)))
}

/// Whether a YAML value's text (`Value::to_text`) is blank, without
/// building it.
fn is_blank_text(v: &Value) -> bool {
    match v {
        Value::Str(s) | Value::Nested(s) | Value::Num(_, s) => s.trim().is_empty(),
        Value::Bool(_) | Value::Null => false,
    }
}

/// The span of `name` inside an `@{…}` block (for "No such shape").
fn shape_span(meta: &MetaV<'_>, name: &str) -> Span {
    let base = meta.span.start + 2;
    match meta.raw.find("shape") {
        Some(k) => match meta.raw[k..].find(name) {
            Some(j) => Span::new(base + k + j, base + k + j + name.len()),
            None => meta.span,
        },
        None => meta.span,
    }
}

fn quote_list(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `accDescr`: mermaid collapses the indentation after each newline.
fn collapse_line_indent(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut after_newline = false;
    for c in text.chars() {
        if after_newline && c.is_whitespace() {
            continue;
        }
        after_newline = c == '\n';
        out.push(c);
    }
    out
}

/// A label as the FlowDB stores it: trimmed, sanitised, one pair of
/// surrounding double quotes dropped.
fn label_text(text: &str) -> Id {
    let text = text.trim();
    if text.contains('<') {
        let mut txt = sanitize_text(text);
        strip_quotes(&mut txt);
        return Id::from(txt);
    }
    Id::from(without_quotes(text))
}

/// `text` without one pair of surrounding double quotes.
fn without_quotes(text: &str) -> &str {
    if text.len() >= 2
        && let Some(inner) = text.strip_prefix('"').and_then(|t| t.strip_suffix('"'))
    {
        return inner;
    }
    text
}

/// Drops one pair of surrounding double quotes in place (no new string).
fn strip_quotes(text: &mut String) {
    let inner = without_quotes(text).len();
    if inner != text.len() {
        text.pop();
        text.remove(0);
    }
}

/// A light stand-in for mermaid's DOMPurify pass: text without `<` is
/// returned unchanged (DOMPurify's own fast path); otherwise `<script>` and
/// `<style>` elements and inline `on…=` handlers are removed.
pub(crate) fn sanitize_text(text: &str) -> String {
    if !text.contains('<') {
        return text.to_string();
    }
    let mut out = text.to_string();
    for tag in ["script", "style"] {
        loop {
            let lower = out.to_ascii_lowercase();
            let Some(start) = lower.find(&format!("<{tag}")) else {
                break;
            };
            let close = format!("</{tag}>");
            let end = lower[start..]
                .find(&close)
                .map_or(out.len(), |i| start + i + close.len());
            out.replace_range(start..end, "");
        }
    }
    if out.to_ascii_lowercase().contains(" on") {
        let mut cleaned = String::with_capacity(out.len());
        let mut in_tag = false;
        let mut rest = out.as_str();
        while let Some(c) = rest.chars().next() {
            if c == '<' {
                in_tag = true;
            } else if c == '>' {
                in_tag = false;
            }
            if in_tag && c == ' ' && rest[1..].to_ascii_lowercase().starts_with("on") {
                // Skip ` onx="…"` / ` onx='…'` / ` onx=value`.
                let attr = &rest[1..];
                let eq = attr.find('=').unwrap_or(attr.len());
                let after = &attr[eq.min(attr.len())..];
                let skip = match after.chars().nth(1) {
                    Some(q @ ('"' | '\'')) => after[2..].find(q).map_or(after.len(), |i| i + 3),
                    _ => after.find([' ', '>']).unwrap_or(after.len()),
                };
                rest = &attr[eq + skip.min(after.len())..];
                continue;
            }
            cleaned.push(c);
            rest = &rest[c.len_utf8()..];
        }
        out = cleaned;
    }
    out
}

/// mermaid's `formatUrl` under its default `strict` security level
/// (`@braintree/sanitize-url`): dangerous schemes become `about:blank`,
/// http(s) URLs are normalised the way `new URL(…).toString()` does.
pub(crate) fn format_url(url: &str) -> Option<String> {
    let url = url.trim();
    if url.is_empty() {
        return None;
    }
    let stripped: String = url.chars().filter(|c| !c.is_control()).collect();
    let probe = stripped
        .trim_start_matches(|c: char| !c.is_alphanumeric())
        .to_ascii_lowercase();
    let dangerous = ["javascript", "data", "vbscript"]
        .iter()
        .any(|s| probe.starts_with(s));
    if dangerous && stripped.contains(':') {
        return Some("about:blank".into());
    }
    if stripped.starts_with('.') || stripped.starts_with('/') {
        return Some(stripped);
    }
    let Some(colon) = stripped.find(':') else {
        return Some(stripped);
    };
    let scheme = stripped[..colon].to_ascii_lowercase();
    if scheme == "http" || scheme == "https" {
        let rest = stripped[colon + 1..].replace('\\', "/");
        let Some(after) = rest.strip_prefix("//") else {
            return Some(stripped);
        };
        let host_end = after.find(['/', '?', '#']).unwrap_or(after.len());
        let host = after[..host_end].to_ascii_lowercase();
        let path = &after[host_end..];
        let path = if path.starts_with('/') {
            path.to_string()
        } else {
            format!("/{path}")
        };
        return Some(format!("{scheme}://{host}{path}"));
    }
    Some(stripped)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mermaid::parse_flowchart;

    fn chart(src: &str) -> Flowchart {
        match parse_flowchart(src) {
            Ok(c) => c,
            Err(d) => panic!("{}", d.render("test", src)),
        }
    }

    #[test]
    fn auto_edge_ids_skip_one() {
        let c = chart("graph TD\nA-->B\nA-->B\nA-->B");
        let ids: Vec<String> = c.edge_refs().map(|e| e.id().into_owned()).collect();
        assert_eq!(ids, ["L_A_B_0", "L_A_B_2", "L_A_B_3"]);
    }

    #[test]
    fn lowercase_check_agrees_with_to_lowercase() {
        for name in [
            "cyl", "Cyl", "lean-r", "ÉTAT", "état", "ǅ", "Σ", "σς", "İ", "ß", "",
        ] {
            assert_eq!(
                changes_in_lowercase(name),
                name != name.to_lowercase(),
                "{name}"
            );
        }
    }

    #[test]
    fn blank_check_agrees_with_to_text() {
        for v in [
            Value::Str(" ".into()),
            Value::Str("x".into()),
            Value::Null,
            Value::Bool(false),
            Value::Num(0.0, "0".into()),
            Value::Nested("{}".into()),
        ] {
            assert_eq!(is_blank_text(&v), v.to_text().trim().is_empty());
        }
    }

    #[test]
    fn strip_quotes_drops_one_surrounding_pair_only() {
        for (input, want) in [
            ("\"a\"", "a"),
            ("\"\"a\"\"", "\"a\""),
            ("\"\"", ""),
            ("\"", "\""),
            ("\"é\"", "é"),
            ("a\"", "a\""),
        ] {
            let mut text = input.to_string();
            strip_quotes(&mut text);
            assert_eq!(text, want, "{input}");
        }
    }

    #[test]
    fn shapes_and_edge_types_come_from_the_source() {
        let c = chart("graph TD\nA[(db)] <==> B@{ shape: doc }\nB -.-x C");
        let shapes: Vec<Option<&str>> = c.nodes.iter().map(|n| n.shape.as_deref()).collect();
        assert_eq!(shapes, [Some("cylinder"), Some("doc"), None]);
        let types: Vec<&str> = c.edges.iter().map(|e| e.edge_type()).collect();
        assert_eq!(types, ["double_arrow_point", "arrow_cross"]);
    }

    #[test]
    fn later_bracket_label_wins_bare_mention_keeps() {
        let c = chart("graph TD\nA[x]\nA[y]\nA");
        assert_eq!(c.nodes[0].label, "y");
    }

    #[test]
    fn edge_id_with_amp_goes_to_last_start_first_end() {
        let c = chart("flowchart TD\nA & B e1@--> C & D");
        let ids: Vec<(&str, &str, String)> = c
            .edge_refs()
            .map(|e| (e.from(), e.to(), e.id().into_owned()))
            .collect();
        assert_eq!(ids[2], ("B", "C", "e1".to_string()));
        assert_eq!(ids[0].2, "L_A_C_0");
    }

    #[test]
    fn first_closing_subgraph_owns_the_node() {
        let c = chart("flowchart TB\nsubgraph A\nb-->B\na\nend\na-->c\nsubgraph B\nc\nend");
        assert_eq!(c.subgraphs[0].members, ["b", "B", "a"]);
        assert_eq!(c.subgraphs[1].members, ["c"]);
        let c = chart("graph TD\nsubgraph Outer\nsubgraph Inner\np\nend\np-->y\nend");
        assert_eq!(c.subgraphs[0].id, "Inner");
        assert_eq!(c.subgraphs[1].members, ["Inner", "y"]);
    }

    #[test]
    fn auto_subgraph_ids_count_in_closing_order() {
        let c = chart("graph TD\nsubgraph a b\nsubgraph \"c d\"\nx\nend\nend");
        assert_eq!(c.subgraphs[0].id, "subGraph0");
        assert_eq!(c.subgraphs[0].title, "c d");
        assert_eq!(c.subgraphs[1].id, "subGraph1");
    }

    #[test]
    fn reopened_subgraph_merges() {
        let c = chart("flowchart LR\nsubgraph S\nx\nend\nsubgraph S\nx\ny\nend");
        assert_eq!(c.subgraphs.len(), 1);
        assert_eq!(c.subgraphs[0].members, ["x", "y"]);
    }

    #[test]
    fn edge_to_subgraph_creates_a_vertex() {
        let c = chart("graph TD\nsubgraph S1\na\nend\nC --> S1");
        assert!(c.node("S1").is_some());
    }

    #[test]
    fn edge_metadata_does_not_create_a_node() {
        let c = chart("flowchart LR\nA e1@--> B\ne1@{ animate: true, curve: linear }");
        assert!(c.node("e1").is_none());
        assert_eq!(
            c.edge(0)
                .map(|e| e.attrs().clone())
                .unwrap_or_default()
                .animate,
            Some(true)
        );
        assert_eq!(
            c.edge(0)
                .map(|e| e.attrs().clone())
                .unwrap_or_default()
                .interpolate
                .as_deref(),
            Some("linear")
        );
    }

    #[test]
    fn unknown_shape_is_a_db_error_with_suggestions() {
        let src = "flowchart TB\nA@{ shape: cylnder }";
        let err = parse_flowchart(src).err().map(|d| (d.kind, d.hint, d.span));
        let Some((kind, hint, span)) = err else {
            panic!("accepted")
        };
        assert_eq!(kind, crate::mermaid::ErrorKind::Db);
        assert!(hint.unwrap_or_default().contains("cylinder"));
        assert_eq!(&src[span.start..span.end], "cylnder");
    }

    #[test]
    fn link_style_out_of_range_is_db() {
        let err = parse_flowchart("graph TD\nA-->B\nlinkStyle 1 stroke:red").err();
        assert_eq!(err.map(|d| d.kind), Some(crate::mermaid::ErrorKind::Db));
        let c = chart("graph TD\nA-->B\nlinkStyle 0 stroke:red");
        assert_eq!(
            c.edge(0)
                .map(|e| e.attrs().clone())
                .unwrap_or_default()
                .style,
            ["stroke:red", "fill:none"]
        );
    }

    #[test]
    fn class_def_splits_on_unescaped_commas() {
        let c = chart("graph TD\nclassDef a,b fill:#f00,stroke-dasharray: 5\\,5\nA:::a");
        assert_eq!(c.class_defs["a"], ["fill:#f00", "stroke-dasharray: 5,5"]);
        assert_eq!(c.class_defs["b"], c.class_defs["a"]);
        assert_eq!(*c.nodes[0].classes, ["a"]);
    }

    #[test]
    fn urls_are_sanitised_like_mermaid_strict() {
        assert_eq!(
            format_url("https://www.github.com").as_deref(),
            Some("https://www.github.com/")
        );
        assert_eq!(format_url("click.html").as_deref(), Some("click.html"));
        assert_eq!(
            format_url("javascript:alert(1)").as_deref(),
            Some("about:blank")
        );
    }

    #[test]
    fn db_error_before_a_later_syntax_error_wins() {
        let err = parse_flowchart("flowchart TB\nA@{ shape: nope }\nB[unclosed").err();
        assert_eq!(err.map(|d| d.kind), Some(crate::mermaid::ErrorKind::Db));
    }
}
