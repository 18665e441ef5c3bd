//! The semantic flowchart: what mermaid.js's FlowDB holds after parsing
//! (vertices, edges, subgraphs, classes), built from the AST by
//! [`Flowchart::from_document`]. Its JSON form is the corpus format.
//!
//! Orders are kept as Mermaid keeps them: nodes in first-mention order,
//! edges in creation order (`index` is what `linkStyle N` refers to),
//! subgraphs in closing order. The corpus JSON sorts nodes and subgraphs by id.

use super::diagnostics::Span;
pub use super::id::Id;
use serde_json::{Map, Value, json};
use std::borrow::Cow;
use std::collections::BTreeMap;

/// `flowchart-v2` (`graph`, `flowchart`) or `flowchart-elk`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DiagramType {
    /// `graph` or `flowchart`.
    #[default]
    FlowchartV2,
    /// `flowchart-elk`.
    FlowchartElk,
}

impl DiagramType {
    /// The name mermaid.js reports.
    pub fn as_str(self) -> &'static str {
        match self {
            DiagramType::FlowchartV2 => "flowchart-v2",
            DiagramType::FlowchartElk => "flowchart-elk",
        }
    }
}

/// How a label was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum LabelType {
    /// Unquoted text.
    #[default]
    Text,
    /// A `"quoted"` string.
    String,
    /// A ``"`markdown`"`` string (or an `@{ label: }` without `labelType`).
    Markdown,
}

impl LabelType {
    /// The name mermaid.js reports.
    pub fn as_str(self) -> &'static str {
        match self {
            LabelType::Text => "text",
            LabelType::String => "string",
            LabelType::Markdown => "markdown",
        }
    }
}

/// Line style of an edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum Stroke {
    /// `--`
    #[default]
    Normal,
    /// `==`
    Thick,
    /// `-.-`
    Dotted,
    /// `~~~`
    Invisible,
}

impl Stroke {
    /// The name mermaid.js reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Stroke::Normal => "normal",
            Stroke::Thick => "thick",
            Stroke::Dotted => "dotted",
            Stroke::Invisible => "invisible",
        }
    }
}

/// An edge end marker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum Arrow {
    /// No marker.
    #[default]
    None,
    /// `>` / `<`
    Arrow,
    /// `x`
    Cross,
    /// `o`
    Circle,
}

impl Arrow {
    /// The name mermaid.js reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Arrow::None => "none",
            Arrow::Arrow => "arrow",
            Arrow::Cross => "cross",
            Arrow::Circle => "circle",
        }
    }
}

/// Diagram direction. `TD` is stored as `TB` for the graph; a subgraph's
/// `direction TD` stays `TD` (as Mermaid does), hence the separate variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum Direction {
    /// Top to bottom.
    #[default]
    TB,
    /// Top-down, as written in a subgraph.
    TD,
    /// Bottom to top.
    BT,
    /// Left to right.
    LR,
    /// Right to left.
    RL,
}

impl Direction {
    /// The name mermaid.js reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::TB => "TB",
            Direction::TD => "TD",
            Direction::BT => "BT",
            Direction::LR => "LR",
            Direction::RL => "RL",
        }
    }
}

/// A vertex.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Node {
    /// The id as written (shared with every edge and subgraph naming it).
    pub id: Id,
    /// Label after trimming and entity restoration; `id` for bare nodes.
    pub label: Id,
    /// How the label was written.
    pub label_type: LabelType,
    /// Vertex type (`square`, `round`, ...) or the `@{shape}` name verbatim;
    /// `None` when the node never had brackets. Every known name is short
    /// enough for an [`Id`] to hold in place: no allocation, and 8 bytes
    /// less per node than a `Cow` (a big diagram's nodes are megabytes).
    pub shape: Option<Id>,
    /// `style` declarations, in order (out of line: most nodes have none).
    pub styles: RareList,
    /// Classes from `:::`, `class`, in order of application (out of line
    /// like `styles`).
    pub classes: RareList,
    /// Attributes from `click`, `@{ icon/img/... }` and `[|props|]`.
    pub attrs: RareAttrs,
    /// Where the node was first mentioned.
    pub span: Span,
}

/// A node's less common Mermaid attributes (links, icons, images, props):
/// kept apart from the label and shape that every node has, and carried
/// whole by the model so the diagram prints back.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NodeAttrs {
    /// `click` link URL.
    pub link: Option<String>,
    /// `click` link target (`_blank`, ...).
    pub link_target: Option<String>,
    /// `click` tooltip.
    pub tooltip: Option<String>,
    /// Whether a `click` callback was declared.
    pub have_callback: bool,
    /// `@{ icon: }`
    pub icon: Option<String>,
    /// `@{ img: }`
    pub img: Option<String>,
    /// `@{ form: }`
    pub form: Option<String>,
    /// `@{ pos: }`
    pub pos: Option<String>,
    /// `@{ constraint: }`
    pub constraint: Option<String>,
    /// `@{ w: }`
    pub asset_width: Option<f64>,
    /// `@{ h: }`
    pub asset_height: Option<f64>,
    /// `[|borders:lt|text]` properties.
    pub props: BTreeMap<String, String>,
}

/// The less common Mermaid attributes of an edge (`linkStyle` styles and
/// curve, classes, `@{ animate }`): kept out of line like [`NodeAttrs`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LinkAttrs {
    /// `linkStyle` declarations.
    pub style: Vec<String>,
    /// `linkStyle ... interpolate X` or `@{ curve: X }`.
    pub interpolate: Option<String>,
    /// Classes applied with `class e1 foo`.
    pub classes: Vec<String>,
    /// `@{ animate: }`
    pub animate: Option<bool>,
    /// `@{ animation: }`
    pub animation: Option<String>,
}

/// Attributes most values never set, kept out of line: inline, the rare
/// fields were most of a [`Node`]'s or an [`Edge`]'s size, so big diagrams
/// spilled out of cache. Reads see the unset attributes until the first
/// write (through `DerefMut`) allocates them.
pub struct Rare<T>(Option<Box<T>>);

/// A [`Node`]'s rare attributes.
pub type RareAttrs = Rare<NodeAttrs>;

/// A list most values leave empty (a [`Node`]'s styles and classes): one
/// pointer instead of a `Vec`'s three words until the first push.
pub type RareList = Rare<Vec<String>>;

/// Attributes [`Rare`] can hold: one shared value with nothing set is
/// what reads see before the first write.
pub trait Unset: Default + 'static {
    /// The value with nothing set.
    fn unset() -> &'static Self;
}

static NO_ATTRS: NodeAttrs = NodeAttrs {
    link: None,
    link_target: None,
    tooltip: None,
    have_callback: false,
    icon: None,
    img: None,
    form: None,
    pos: None,
    constraint: None,
    asset_width: None,
    asset_height: None,
    props: BTreeMap::new(),
};

static NO_STRINGS: Vec<String> = Vec::new();

static NO_LINK_ATTRS: LinkAttrs = LinkAttrs {
    style: Vec::new(),
    interpolate: None,
    classes: Vec::new(),
    animate: None,
    animation: None,
};

impl Unset for NodeAttrs {
    fn unset() -> &'static Self {
        &NO_ATTRS
    }
}

impl Unset for Vec<String> {
    fn unset() -> &'static Self {
        &NO_STRINGS
    }
}

impl<T> Rare<T> {
    /// Whether any attribute was ever written.
    pub fn is_set(&self) -> bool {
        self.0.is_some()
    }
}

impl<T> Default for Rare<T> {
    fn default() -> Self {
        Rare(None)
    }
}

impl<T: Clone> Clone for Rare<T> {
    fn clone(&self) -> Self {
        Rare(self.0.clone())
    }
}

impl<T> From<T> for Rare<T> {
    fn from(attrs: T) -> Self {
        Rare(Some(Box::new(attrs)))
    }
}

impl<T: Unset> std::ops::Deref for Rare<T> {
    type Target = T;

    fn deref(&self) -> &T {
        self.0.as_deref().unwrap_or(T::unset())
    }
}

impl<T: Unset> std::ops::DerefMut for Rare<T> {
    fn deref_mut(&mut self) -> &mut T {
        self.0.get_or_insert_with(Box::default)
    }
}

impl<T: Unset + PartialEq> PartialEq for Rare<T> {
    fn eq(&self, other: &Rare<T>) -> bool {
        **self == **other
    }
}

impl<T: Unset + std::fmt::Debug> std::fmt::Debug for Rare<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&**self, f)
    }
}

/// One end of an edge: a vertex, by its position in [`Flowchart::nodes`],
/// or an id that names no vertex (mermaid lets an edge's id stand as the
/// end of another edge), kept in [`Flowchart::edge_texts`]. Read it with
/// [`Flowchart::end_id`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct End(u32);

/// Set in an [`End`] that holds a text index, clear for a vertex index.
const TEXT_END: u32 = 1 << 31;

impl End {
    /// The end at vertex `index`; `None` past the 2^31 vertices an end
    /// can name.
    pub fn vertex(index: usize) -> Option<End> {
        u32::try_from(index).ok().filter(|&i| i < TEXT_END).map(End)
    }

    /// The end naming the edge text at `index` (see [`Flowchart::end_id`]).
    pub(crate) fn text(index: u32) -> End {
        End(TEXT_END | (index & !TEXT_END))
    }

    /// The vertex index, when this end is a vertex.
    pub fn as_vertex(self) -> Option<usize> {
        (self.0 & TEXT_END == 0).then_some(self.0 as usize)
    }
}

/// An edge: what every edge has, in 36 bytes and nothing to free.
///
/// A big diagram is mostly edges: as owned ids, labels and a box of rare
/// attributes, each edge was 96 bytes that dropping the chart had to read
/// again to find what to free, and at 100k edges those megabytes spilled
/// out of cache twice. So the ends are vertex indices, and the texts
/// (label, user id, ends that name no vertex) and the rare attributes sit
/// in the chart's side tables, which only edges that have them use. Read
/// an edge with its chart through [`Flowchart::edge`] or
/// [`Flowchart::edge_refs`] ([`EdgeRef`]); build one with
/// [`Flowchart::add_edge`].
///
/// Its creation order, what `linkStyle N` refers to, is its position in
/// [`Flowchart::edges`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Edge {
    /// Source.
    pub from: End,
    /// Target.
    pub to: End,
    /// 1 + the label's index in [`Flowchart::edge_texts`]; 0 for no label.
    pub(crate) label: u32,
    /// The counter of the automatic id, or with `user_id` the index of the
    /// user's id in [`Flowchart::edge_texts`].
    pub(crate) id: u32,
    /// 1 + the index of the edge's attributes in
    /// [`Flowchart::link_attrs`]; 0 when it has none.
    pub(crate) attrs: u32,
    /// Where the edge's link token is, as `u32` offsets (saturated: a text
    /// past 4 GiB gets its end clamped).
    pub(crate) span: [u32; 2],
    /// How the label was written.
    pub label_type: LabelType,
    /// Line style.
    pub stroke: Stroke,
    /// Marker at the source end.
    pub arrow_start: Arrow,
    /// Marker at the target end.
    pub arrow_end: Arrow,
    /// 1 for `-->`, 2 for `--->`, ... (max 10).
    pub length: u8,
    /// Whether the id came from the source (`e1@-->`).
    pub(crate) user_id: bool,
}

impl Edge {
    /// Where the edge's link token is.
    pub fn span(&self) -> Span {
        Span::new(self.span[0] as usize, self.span[1] as usize)
    }

    /// Sets where the edge's link token is.
    pub fn set_span(&mut self, span: Span) {
        let clamp = |x: usize| u32::try_from(x).unwrap_or(u32::MAX);
        self.span = [clamp(span.start), clamp(span.end)];
    }

    /// Whether the id came from the source (`e1@-->`).
    pub fn user_defined_id(&self) -> bool {
        self.user_id
    }

    /// Mermaid's edge type (`arrow_point`, `arrow_open`,
    /// `double_arrow_point`, ...), which the two markers determine: a
    /// marker at the start is always the same as the one at the end.
    pub fn edge_type(&self) -> &'static str {
        let double = self.arrow_start != Arrow::None;
        match (self.arrow_end, double) {
            (Arrow::None, _) => "arrow_open",
            (Arrow::Arrow, false) => "arrow_point",
            (Arrow::Cross, false) => "arrow_cross",
            (Arrow::Circle, false) => "arrow_circle",
            (Arrow::Arrow, true) => "double_arrow_point",
            (Arrow::Cross, true) => "double_arrow_cross",
            (Arrow::Circle, true) => "double_arrow_circle",
        }
    }
}

/// An [`Edge`] read with its chart: its texts and attributes resolved.
/// Derefs to the edge for the fields every edge has.
#[derive(Debug, Clone, Copy)]
pub struct EdgeRef<'a> {
    chart: &'a Flowchart,
    edge: &'a Edge,
    index: usize,
}

impl<'a> EdgeRef<'a> {
    /// The edge's position, what `linkStyle N` refers to.
    pub fn index(&self) -> usize {
        self.index
    }

    /// The edge itself.
    pub fn edge(&self) -> &'a Edge {
        self.edge
    }

    /// The source's id.
    pub fn from(&self) -> &'a str {
        self.chart.end_id(self.edge.from)
    }

    /// The target's id.
    pub fn to(&self) -> &'a str {
        self.chart.end_id(self.edge.to)
    }

    /// The label after trimming and entity restoration (empty when none).
    pub fn label(&self) -> &'a str {
        self.chart.text(self.edge.label.checked_sub(1))
    }

    /// The id mermaid gives the edge: the user's `e1@` id, or
    /// `L_<from>_<to>_<n>`.
    pub fn id(&self) -> Cow<'a, str> {
        if self.edge.user_id {
            Cow::Borrowed(self.chart.text(Some(self.edge.id)))
        } else {
            Cow::Owned(auto_edge_id(self.from(), self.to(), self.edge.id))
        }
    }

    /// `linkStyle` styles and curve, classes, animation.
    pub fn attrs(&self) -> &'a LinkAttrs {
        self.edge
            .attrs
            .checked_sub(1)
            .and_then(|i| self.chart.link_attrs.get(i as usize))
            .unwrap_or(&NO_LINK_ATTRS)
    }
}

impl std::ops::Deref for EdgeRef<'_> {
    type Target = Edge;

    fn deref(&self) -> &Edge {
        self.edge
    }
}

/// `L_<from>_<to>_<n>`.
pub(crate) fn auto_edge_id(from: &str, to: &str, n: u32) -> String {
    format!("L_{from}_{to}_{n}")
}

/// A subgraph.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Subgraph {
    /// The id as written, or `subGraphN`.
    pub id: String,
    /// The title (the id when none was given).
    pub title: String,
    /// How the title was written.
    pub label_type: LabelType,
    /// `direction` inside the block, if any.
    pub direction: Option<Direction>,
    /// Member node and subgraph ids (sorted in the JSON).
    pub members: Vec<Id>,
    /// Classes applied to the subgraph.
    pub classes: Vec<String>,
    /// `S1@{ … }` metadata given after the subgraph closed (values as text).
    pub metadata: BTreeMap<String, String>,
    /// Where the `subgraph` keyword is.
    pub span: Span,
}

/// The whole semantic diagram.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Flowchart {
    /// `flowchart-v2` or `flowchart-elk`.
    pub diagram_type: DiagramType,
    /// Graph direction (`TD` is stored as `TB`).
    pub direction: Direction,
    /// Vertices in first-mention order.
    pub nodes: Vec<Node>,
    /// Edges in creation order: an edge's position is its index, what
    /// `linkStyle N` refers to. Read them with [`Flowchart::edge_refs`].
    pub edges: Vec<Edge>,
    /// The texts edges name: labels (equal labels share one entry), user
    /// ids, ends that name no vertex. Filled by [`Flowchart::add_edge`]
    /// and the parser.
    pub edge_texts: Vec<Id>,
    /// The attributes of the edges that have any, in the order they were
    /// first set ([`Flowchart::link_attrs_mut`]).
    pub link_attrs: Vec<LinkAttrs>,
    /// Subgraphs in closing order.
    pub subgraphs: Vec<Subgraph>,
    /// `classDef name styles`, by name.
    pub class_defs: BTreeMap<String, Vec<String>>,
    /// `linkStyle default ...` styles.
    pub link_style_default: Option<Vec<String>>,
    /// `linkStyle default interpolate X`.
    pub link_interpolate_default: Option<String>,
    /// Frontmatter `title:`.
    pub title: Option<String>,
    /// `accTitle:`
    pub acc_title: Option<String>,
    /// `accDescr:` / `accDescr { ... }`
    pub acc_descr: Option<String>,
}

impl Flowchart {
    /// The node with `id`, if any.
    pub fn node(&self, id: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.id == id)
    }

    /// Edge `index` with its texts, if there is one.
    pub fn edge(&self, index: usize) -> Option<EdgeRef<'_>> {
        self.edges.get(index).map(|edge| EdgeRef {
            chart: self,
            edge,
            index,
        })
    }

    /// Every edge with its texts, in creation order.
    pub fn edge_refs(&self) -> impl ExactSizeIterator<Item = EdgeRef<'_>> + '_ {
        self.edges.iter().enumerate().map(|(index, edge)| EdgeRef {
            chart: self,
            edge,
            index,
        })
    }

    /// The id an edge end names (empty for an end the chart does not hold).
    pub fn end_id(&self, end: End) -> &str {
        match end.as_vertex() {
            Some(i) => self.nodes.get(i).map_or("", |n| n.id.as_str()),
            None => self.text(Some(end.0 & !TEXT_END)),
        }
    }

    /// Edge text `index` ("" for none or out of range).
    fn text(&self, index: Option<u32>) -> &str {
        index
            .and_then(|i| self.edge_texts.get(i as usize))
            .map_or("", Id::as_str)
    }

    /// Adds `text` to the edge texts; its index.
    pub(crate) fn push_edge_text(&mut self, text: Id) -> u32 {
        self.edge_texts.push(text);
        u32::try_from(self.edge_texts.len() - 1).unwrap_or(u32::MAX)
    }

    /// Appends `edge` from `from` to `to` labelled `label` (its own ends
    /// and label are replaced), for charts built by hand; the edge's
    /// index. An end is the first node with that id, else kept as text.
    /// Looks vertices up one by one: for small charts (the parser keeps
    /// its own index).
    pub fn add_edge(&mut self, from: &str, to: &str, label: &str, mut edge: Edge) -> usize {
        let end = |chart: &mut Flowchart, id: &str| match chart
            .nodes
            .iter()
            .position(|n| n.id == id)
            .and_then(End::vertex)
        {
            Some(end) => end,
            None => End::text(chart.push_edge_text(Id::from(id))),
        };
        edge.from = end(self, from);
        edge.to = end(self, to);
        edge.label = if label.is_empty() {
            0
        } else {
            self.push_edge_text(Id::from(label)).saturating_add(1)
        };
        self.edges.push(edge);
        self.edges.len() - 1
    }

    /// The attributes of edge `index`, for writing (an edge with none gets
    /// an entry); `None` when there is no such edge.
    pub fn link_attrs_mut(&mut self, index: usize) -> Option<&mut LinkAttrs> {
        let edge = self.edges.get_mut(index)?;
        if edge.attrs == 0 {
            self.link_attrs.push(LinkAttrs::default());
            edge.attrs = u32::try_from(self.link_attrs.len()).unwrap_or(u32::MAX);
        }
        self.link_attrs.get_mut(edge.attrs as usize - 1)
    }

    /// The corpus JSON (`mermaid-corpus/README.md`); keys sorted at every
    /// level, nodes and subgraphs sorted by id, optional keys only when set.
    pub fn to_corpus_json(&self) -> Value {
        let mut nodes: Vec<&Node> = self.nodes.iter().collect();
        nodes.sort_by(|a, b| a.id.cmp(&b.id));
        let nodes: Vec<Value> = nodes.into_iter().map(node_json).collect();
        let edges: Vec<Value> = self.edge_refs().map(edge_json).collect();
        let mut subgraphs: Vec<&Subgraph> = self.subgraphs.iter().collect();
        subgraphs.sort_by(|a, b| a.id.cmp(&b.id));
        let subgraphs: Vec<Value> = subgraphs.into_iter().map(subgraph_json).collect();
        let mut classes = Map::new();
        for n in &self.nodes {
            if !n.classes.is_empty() {
                classes.insert(n.id.to_string(), json!(*n.classes));
            }
        }
        let mut top = Map::new();
        top.insert("diagramType".into(), self.diagram_type.as_str().into());
        top.insert("direction".into(), self.direction.as_str().into());
        top.insert("nodes".into(), nodes.into());
        top.insert("edges".into(), edges.into());
        top.insert("subgraphs".into(), subgraphs.into());
        top.insert("classDefs".into(), json!(self.class_defs));
        top.insert("classes".into(), Value::Object(classes));
        if let Some(s) = &self.link_style_default {
            top.insert("linkStyleDefault".into(), json!(s));
        }
        if let Some(s) = &self.link_interpolate_default {
            top.insert("linkInterpolateDefault".into(), s.clone().into());
        }
        if let Some(s) = &self.acc_title {
            top.insert("accTitle".into(), s.clone().into());
        }
        if let Some(s) = &self.acc_descr {
            top.insert("accDescr".into(), s.clone().into());
        }
        Value::Object(top)
    }
}

/// A number as JavaScript prints it: whole numbers without a fraction.
fn js_number(x: f64) -> Value {
    if x.is_finite() && x.fract() == 0.0 && x.abs() < 9_007_199_254_740_992.0 {
        // Exact: whole and within f64's integer range.
        json!(x as i64)
    } else {
        json!(x)
    }
}

fn put_opt(map: &mut Map<String, Value>, key: &str, value: &Option<String>) {
    if let Some(v) = value {
        map.insert(key.into(), v.clone().into());
    }
}

fn node_json(n: &Node) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), n.id.as_str().into());
    m.insert("label".into(), n.label.as_str().into());
    m.insert("labelType".into(), n.label_type.as_str().into());
    m.insert("shape".into(), json!(n.shape));
    if !n.styles.is_empty() {
        m.insert("styles".into(), json!(*n.styles));
    }
    put_opt(&mut m, "link", &n.attrs.link);
    put_opt(&mut m, "linkTarget", &n.attrs.link_target);
    put_opt(&mut m, "tooltip", &n.attrs.tooltip);
    // `haveCallback` is left out: mermaid only binds click callbacks with
    // `securityLevel: loose`, and the corpus (default `strict`) never has it.
    put_opt(&mut m, "icon", &n.attrs.icon);
    put_opt(&mut m, "img", &n.attrs.img);
    put_opt(&mut m, "form", &n.attrs.form);
    put_opt(&mut m, "pos", &n.attrs.pos);
    put_opt(&mut m, "constraint", &n.attrs.constraint);
    if let Some(w) = n.attrs.asset_width {
        m.insert("assetWidth".into(), js_number(w));
    }
    if let Some(h) = n.attrs.asset_height {
        m.insert("assetHeight".into(), js_number(h));
    }
    if !n.attrs.props.is_empty() {
        m.insert("props".into(), json!(n.attrs.props));
    }
    Value::Object(m)
}

fn edge_json(e: EdgeRef<'_>) -> Value {
    let mut m = Map::new();
    m.insert("index".into(), e.index().into());
    m.insert("id".into(), e.id().into_owned().into());
    m.insert("userDefinedId".into(), e.user_defined_id().into());
    m.insert("from".into(), e.from().into());
    m.insert("to".into(), e.to().into());
    m.insert("label".into(), e.label().into());
    m.insert("labelType".into(), e.label_type.as_str().into());
    m.insert("stroke".into(), e.stroke.as_str().into());
    m.insert("arrow_start".into(), e.arrow_start.as_str().into());
    m.insert("arrow_end".into(), e.arrow_end.as_str().into());
    m.insert("type".into(), e.edge_type().into());
    m.insert("length".into(), e.length.into());
    let a = e.attrs();
    if !a.style.is_empty() {
        m.insert("style".into(), json!(a.style));
    }
    put_opt(&mut m, "interpolate", &a.interpolate);
    if !a.classes.is_empty() {
        m.insert("classes".into(), json!(a.classes));
    }
    if let Some(animate) = a.animate {
        m.insert("animate".into(), animate.into());
    }
    put_opt(&mut m, "animation", &a.animation);
    Value::Object(m)
}

fn subgraph_json(s: &Subgraph) -> Value {
    let mut members = s.members.clone();
    members.sort();
    let mut m = Map::new();
    m.insert("id".into(), s.id.clone().into());
    m.insert("title".into(), s.title.clone().into());
    m.insert("labelType".into(), s.label_type.as_str().into());
    m.insert(
        "direction".into(),
        json!(s.direction.map(Direction::as_str)),
    );
    m.insert("members".into(), json!(members));
    if !s.classes.is_empty() {
        m.insert("classes".into(), json!(s.classes));
    }
    if !s.metadata.is_empty() {
        m.insert("metadata".into(), json!(s.metadata));
    }
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edges_are_small_and_free_nothing() {
        // What a 100k-edge chart is made of: every byte here is written per
        // edge, and anything to free would be read again on drop.
        assert!(
            std::mem::size_of::<Edge>() <= 36,
            "{}",
            std::mem::size_of::<Edge>()
        );
        assert!(!std::mem::needs_drop::<Edge>());
    }

    #[test]
    fn hand_built_edges_read_back_through_the_chart() {
        let mut chart = Flowchart {
            nodes: vec![Node {
                id: "A".into(),
                ..Node::default()
            }],
            ..Flowchart::default()
        };
        let mut e = Edge::default();
        e.set_span(Span::new(3, 6));
        let i = chart.add_edge("A", "B", "Paid", e);
        let j = chart.add_edge("A", "A", "", Edge::default());
        let (Some(e), Some(f)) = (chart.edge(i), chart.edge(j)) else {
            panic!("both edges are there");
        };
        assert_eq!((e.from(), e.to(), e.label()), ("A", "B", "Paid"));
        assert_eq!(e.from.as_vertex(), Some(0));
        assert_eq!(e.to.as_vertex(), None, "B is no vertex: kept as text");
        assert_eq!(e.span(), Span::new(3, 6));
        assert_eq!(e.id(), "L_A_B_0");
        assert_eq!((f.to(), f.label()), ("A", ""));
        assert!(e.attrs().style.is_empty());
        if let Some(a) = chart.link_attrs_mut(j) {
            a.style.push("stroke:red".into());
        }
        assert_eq!(
            chart.edge(j).map(|f| f.attrs().style.clone()),
            Some(vec!["stroke:red".into()])
        );
        assert!(chart.edge(i).is_some_and(|e| e.attrs().style.is_empty()));
        assert!(chart.link_attrs_mut(5).is_none());
    }
}
