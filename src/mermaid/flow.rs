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
    /// `None` when the node never had brackets. Bracket vertex types are
    /// borrowed from a fixed table, so most nodes allocate nothing here.
    pub shape: Option<Cow<'static, str>>,
    /// `style` declarations, in order.
    pub styles: Vec<String>,
    /// Classes from `:::`, `class`, in order of application.
    pub classes: Vec<String>,
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

/// [`NodeAttrs`] kept out of line: most nodes have none, and inline they
/// were two thirds of a [`Node`]'s size, so big diagrams spilled out of
/// cache. Reads see the empty attributes until the first write (through
/// `DerefMut`) allocates them.
#[derive(Clone, Default)]
pub struct RareAttrs(Option<Box<NodeAttrs>>);

/// What [`RareAttrs`] reads as before anything is set.
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

impl RareAttrs {
    /// Whether any attribute was ever written.
    pub fn is_set(&self) -> bool {
        self.0.is_some()
    }
}

impl From<NodeAttrs> for RareAttrs {
    fn from(attrs: NodeAttrs) -> Self {
        RareAttrs(Some(Box::new(attrs)))
    }
}

impl std::ops::Deref for RareAttrs {
    type Target = NodeAttrs;

    fn deref(&self) -> &NodeAttrs {
        self.0.as_deref().unwrap_or(&NO_ATTRS)
    }
}

impl std::ops::DerefMut for RareAttrs {
    fn deref_mut(&mut self) -> &mut NodeAttrs {
        self.0.get_or_insert_with(Box::default)
    }
}

impl PartialEq for RareAttrs {
    fn eq(&self, other: &RareAttrs) -> bool {
        **self == **other
    }
}

impl std::fmt::Debug for RareAttrs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&**self, f)
    }
}

/// An edge.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Edge {
    /// Creation order; what `linkStyle N` refers to.
    pub index: usize,
    /// `L_<from>_<to>_<n>` or the user's `e1@` id.
    pub id: String,
    /// Whether `id` came from the source.
    pub user_defined_id: bool,
    /// Source vertex id (shared with the vertex).
    pub from: Id,
    /// Target vertex id (shared with the vertex).
    pub to: Id,
    /// Edge label (empty when none; equal labels share their text).
    pub label: Id,
    /// How the label was written.
    pub label_type: LabelType,
    /// Line style.
    pub stroke: Stroke,
    /// Marker at the source end.
    pub arrow_start: Arrow,
    /// Marker at the target end.
    pub arrow_end: Arrow,
    /// Mermaid's edge type string (`arrow_point`, `arrow_open`, `double_arrow_point`, ...);
    /// one of a fixed set, so not allocated per edge.
    pub edge_type: &'static str,
    /// 1 for `-->`, 2 for `--->`, ... (max 10).
    pub length: u8,
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
    /// Where the edge's link token is.
    pub span: Span,
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
    /// Edges in creation order.
    pub edges: Vec<Edge>,
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

    /// The corpus JSON (`mermaid-corpus/README.md`); keys sorted at every
    /// level, nodes and subgraphs sorted by id, optional keys only when set.
    pub fn to_corpus_json(&self) -> Value {
        let mut nodes: Vec<&Node> = self.nodes.iter().collect();
        nodes.sort_by(|a, b| a.id.cmp(&b.id));
        let nodes: Vec<Value> = nodes.into_iter().map(node_json).collect();
        let edges: Vec<Value> = self.edges.iter().map(edge_json).collect();
        let mut subgraphs: Vec<&Subgraph> = self.subgraphs.iter().collect();
        subgraphs.sort_by(|a, b| a.id.cmp(&b.id));
        let subgraphs: Vec<Value> = subgraphs.into_iter().map(subgraph_json).collect();
        let mut classes = Map::new();
        for n in &self.nodes {
            if !n.classes.is_empty() {
                classes.insert(n.id.to_string(), json!(n.classes));
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
        m.insert("styles".into(), json!(n.styles));
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

fn edge_json(e: &Edge) -> Value {
    let mut m = Map::new();
    m.insert("index".into(), e.index.into());
    m.insert("id".into(), e.id.clone().into());
    m.insert("userDefinedId".into(), e.user_defined_id.into());
    m.insert("from".into(), e.from.as_str().into());
    m.insert("to".into(), e.to.as_str().into());
    m.insert("label".into(), e.label.as_str().into());
    m.insert("labelType".into(), e.label_type.as_str().into());
    m.insert("stroke".into(), e.stroke.as_str().into());
    m.insert("arrow_start".into(), e.arrow_start.as_str().into());
    m.insert("arrow_end".into(), e.arrow_end.as_str().into());
    m.insert("type".into(), e.edge_type.into());
    m.insert("length".into(), e.length.into());
    if !e.style.is_empty() {
        m.insert("style".into(), json!(e.style));
    }
    put_opt(&mut m, "interpolate", &e.interpolate);
    if !e.classes.is_empty() {
        m.insert("classes".into(), json!(e.classes));
    }
    if let Some(a) = e.animate {
        m.insert("animate".into(), a.into());
    }
    put_opt(&mut m, "animation", &e.animation);
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
