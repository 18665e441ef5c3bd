//! The flowchart syntax tree: what was written, in source order, with a byte
//! [`Span`] on every node so diagnostics, the canonical printer and editors
//! can point back into the text.
//!
//! The tree is deliberately close to mermaid's grammar (`flow.jison`) rather
//! than to the FlowDB: a node reference is kept once per mention, links keep
//! the arrow tokens as written, labels keep their raw text next to the text
//! mermaid sees. Semantics (which label wins, auto edge ids, subgraph
//! membership, …) live in [`crate::mermaid::Flowchart::from_document`].
//!
//! Subgraphs nest, and a document may nest 100,000 deep. Everything in this
//! crate that walks the tree does it with an explicit stack ([`Document::walk`]),
//! and [`Subgraph`]'s `Drop` flattens its children so dropping a deep tree
//! does not recurse. The derived `Clone`, `PartialEq` and `Debug` do recurse:
//! fine for real diagrams, not for adversarial nesting.

use super::diagnostics::Span;
use super::flow::{Arrow, Direction, LabelType, Stroke};

/// A parsed flowchart file.
///
/// Design: the document is a list of [`Item`]s in source order; an item is
/// a statement, a `%%` comment or a `%%{…}%%` directive. Comments and
/// directives are trivia to mermaid (removed before its grammar runs) but are
/// kept here, in the container they appeared in, so a printer can reproduce
/// them. Statements mirror the grammar: a [`Chain`] is mermaid's
/// `vertexStatement` (`A & B --> C -- x --> D`), a [`Subgraph`] owns its
/// nested items, and every other statement kind has its own struct holding
/// the raw text of each part. Raw text (`raw`, `text` fields of [`Ident`],
/// [`Label::raw`]) is sliced from the original source, so `#quot;` stays
/// `#quot;` there; [`Label::text`] is what mermaid's FlowDB receives (quotes
/// stripped, entities turned into `&quot;` / `&#9829;`), before trimming.
///
/// All spans are byte offsets into the original source text, even though the
/// parser works on a preprocessed copy (comments cut, entities encoded, CRLF
/// folded), and always fall on `char` boundaries.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Document {
    /// The whole source.
    pub span: Span,
    /// The leading `---` YAML block, if any.
    pub frontmatter: Option<Frontmatter>,
    /// Comments and directives before the header line.
    pub leading: Vec<Item>,
    /// `graph TD`, `flowchart LR;`, `flowchart-elk`, …
    pub header: Header,
    /// Top-level items after the header, in source order.
    pub items: Vec<Item>,
}

/// The `---` … `---` YAML block at the top of the file.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Frontmatter {
    /// From the first `---` to the end of the closing `---` line.
    pub span: Span,
    /// The YAML between the fences, verbatim.
    pub raw: String,
    /// The top-level `title:` value, unquoted.
    pub title: Option<String>,
}

/// The header keyword mermaid detects the diagram type by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum HeaderKeyword {
    /// `graph`
    Graph,
    /// `flowchart`
    #[default]
    Flowchart,
    /// `flowchart-elk`
    FlowchartElk,
}

impl HeaderKeyword {
    /// The keyword as written in the source.
    pub fn as_str(self) -> &'static str {
        match self {
            HeaderKeyword::Graph => "graph",
            HeaderKeyword::Flowchart => "flowchart",
            HeaderKeyword::FlowchartElk => "flowchart-elk",
        }
    }
}

/// The first line: keyword, optional direction, how it ended.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Header {
    /// From the keyword to the end of the direction (or keyword).
    pub span: Span,
    /// Which keyword.
    pub keyword: HeaderKeyword,
    /// Where the keyword is.
    pub keyword_span: Span,
    /// The direction, when one was written.
    pub direction: Option<DirectionSpec>,
    /// Whether the header was ended by `;` (`graph TD;A-->B`) rather than a newline.
    pub semicolon: bool,
}

/// A direction as written (`TD`, `LR`, `>`, `v`, …) and what it means.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DirectionSpec {
    /// The direction token, without surrounding blanks.
    pub span: Span,
    /// The text as written: `TB`, `TD`, `BT`, `LR`, `RL`, `BR`, `<`, `>`, `^` or `v`.
    pub text: String,
    /// The meaning; `TD` stays [`Direction::TD`] (the graph maps it to `TB`),
    /// the arrow forms map to their directions, and mermaid's undocumented
    /// `BR` maps to `TB`.
    pub direction: Direction,
}

/// One entry of a document or subgraph body.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// A flowchart statement.
    Statement(Statement),
    /// A `%%` comment line.
    Comment(Comment),
    /// A `%%{init: …}%%` directive.
    Directive(Directive),
}

impl Item {
    /// Where the item is.
    pub fn span(&self) -> Span {
        match self {
            Item::Statement(s) => s.span(),
            Item::Comment(c) => c.span,
            Item::Directive(d) => d.span,
        }
    }
}

/// A `%%` comment line (mermaid removes these before parsing).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Comment {
    /// From `%%` to the end of the line (newline excluded).
    pub span: Span,
    /// The text after `%%`, verbatim (leading blank included).
    pub text: String,
}

/// A `%%{init: {...}}%%` directive (mermaid merges it into the config).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Directive {
    /// The whole directive.
    pub span: Span,
    /// The directive verbatim, `%%{` … `}%%` included.
    pub raw: String,
}

/// A flowchart statement.
#[derive(Debug, Clone, PartialEq)]
pub enum Statement {
    /// Nodes and links: `A`, `A[x] --> B`, `A & B -- t --> C:::c`, `e1@{ animate: true }`.
    Chain(Chain),
    /// `subgraph … end`.
    Subgraph(Subgraph),
    /// `direction LR` (meaningful inside subgraphs).
    Direction(DirectionStatement),
    /// `classDef a,b fill:#f00`.
    ClassDef(ClassDef),
    /// `class A,B foo`.
    Class(ClassAssign),
    /// `style A fill:#f00`.
    Style(Style),
    /// `linkStyle 0,1 stroke:red` / `linkStyle default interpolate basis`.
    LinkStyle(LinkStyle),
    /// `click A …`.
    Click(Click),
    /// `accTitle: …`.
    AccTitle(AccTitle),
    /// `accDescr: …` or `accDescr { … }`.
    AccDescr(AccDescr),
}

impl Statement {
    /// Where the statement is.
    pub fn span(&self) -> Span {
        match self {
            Statement::Chain(s) => s.span,
            Statement::Subgraph(s) => s.span,
            Statement::Direction(s) => s.span,
            Statement::ClassDef(s) => s.span,
            Statement::Class(s) => s.span,
            Statement::Style(s) => s.span,
            Statement::LinkStyle(s) => s.span,
            Statement::Click(s) => s.span,
            Statement::AccTitle(s) => s.span,
            Statement::AccDescr(s) => s.span,
        }
    }
    /// Where the statement is, to move it (the writer places statements it
    /// makes up).
    pub fn span_mut(&mut self) -> &mut Span {
        match self {
            Statement::Chain(s) => &mut s.span,
            Statement::Subgraph(s) => &mut s.span,
            Statement::Direction(s) => &mut s.span,
            Statement::ClassDef(s) => &mut s.span,
            Statement::Class(s) => &mut s.span,
            Statement::Style(s) => &mut s.span,
            Statement::LinkStyle(s) => &mut s.span,
            Statement::Click(s) => &mut s.span,
            Statement::AccTitle(s) => &mut s.span,
            Statement::AccDescr(s) => &mut s.span,
        }
    }
}

/// A piece of source text: an id, class name, keyword argument, …
#[derive(Debug, Clone, PartialEq, Eq, Default, Hash)]
pub struct Ident {
    /// Where it is.
    pub span: Span,
    /// The text as written.
    pub text: String,
}

/// Mermaid's `vertexStatement`: a group of nodes, then any number of
/// `link group` steps. `A --> B & C --> D` is head `[A]`, then
/// `(-->, [B, C])`, `(-->, [D])`; each step links every node of the previous
/// group to every node of the next.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Chain {
    /// The whole statement.
    pub span: Span,
    /// The first group.
    pub head: NodeGroup,
    /// The linked groups that follow, in order.
    pub links: Vec<ChainLink>,
}

/// One `link group` step of a [`Chain`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChainLink {
    /// The link from the previous group.
    pub link: Link,
    /// The group it leads to.
    pub nodes: NodeGroup,
}

/// Nodes joined by `&`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NodeGroup {
    /// From the first node to the last.
    pub span: Span,
    /// At least one node, in source order.
    pub nodes: Vec<NodeRef>,
}

/// One mention of a node: `id`, optional bracket shape with label,
/// optional `:::class`, optional `@{ … }` metadata (in that order, as the
/// grammar requires).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NodeRef {
    /// The whole mention.
    pub span: Span,
    /// The id as written (mermaid concatenates several tokens, e.g. `1id`, `odd-`).
    pub id: Ident,
    /// `[label]`, `((label))`, …
    pub shape: Option<NodeShape>,
    /// `:::name` (the name may contain commas; mermaid keeps it whole).
    pub class: Option<Ident>,
    /// `@{ shape: cyl, label: "DB" }`.
    pub metadata: Option<ShapeData>,
}

/// A bracket shape and its label.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NodeShape {
    /// From the opening bracket to the closing one.
    pub span: Span,
    /// Which brackets.
    pub kind: BracketShape,
    /// The text between them.
    pub label: Label,
    /// `[|borders:lt|text]` property (only with [`BracketShape::Rect`]).
    pub props: Option<RectProps>,
}

/// The `key:value` of `[|key:value|text]`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RectProps {
    /// The property name.
    pub key: Ident,
    /// Its value.
    pub value: Ident,
}

/// The bracket syntaxes of a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum BracketShape {
    /// `[text]`
    #[default]
    Square,
    /// `(text)`
    Round,
    /// `([text])`
    Stadium,
    /// `[[text]]`
    Subroutine,
    /// `[(text)]`
    Cylinder,
    /// `((text))`
    Circle,
    /// `(((text)))`
    DoubleCircle,
    /// `>text]`
    Odd,
    /// `{text}`
    Diamond,
    /// `{{text}}`
    Hexagon,
    /// `[/text/]`
    LeanRight,
    /// `[\text\]`
    LeanLeft,
    /// `[/text\]`
    Trapezoid,
    /// `[\text/]`
    InvTrapezoid,
    /// `(-text-)`
    Ellipse,
    /// `[|key:value|text]`
    Rect,
}

impl BracketShape {
    /// The vertex type mermaid stores (`square`, `round`, …).
    pub fn mermaid_type(self) -> &'static str {
        match self {
            BracketShape::Square => "square",
            BracketShape::Round => "round",
            BracketShape::Stadium => "stadium",
            BracketShape::Subroutine => "subroutine",
            BracketShape::Cylinder => "cylinder",
            BracketShape::Circle => "circle",
            BracketShape::DoubleCircle => "doublecircle",
            BracketShape::Odd => "odd",
            BracketShape::Diamond => "diamond",
            BracketShape::Hexagon => "hexagon",
            BracketShape::LeanRight => "lean_right",
            BracketShape::LeanLeft => "lean_left",
            BracketShape::Trapezoid => "trapezoid",
            BracketShape::InvTrapezoid => "inv_trapezoid",
            BracketShape::Ellipse => "ellipse",
            BracketShape::Rect => "rect",
        }
    }

    /// The canonical opening bracket (`[|` for [`BracketShape::Rect`]; its
    /// `key:value|` part comes from [`NodeShape::props`]).
    pub fn open(self) -> &'static str {
        match self {
            BracketShape::Square => "[",
            BracketShape::Round => "(",
            BracketShape::Stadium => "([",
            BracketShape::Subroutine => "[[",
            BracketShape::Cylinder => "[(",
            BracketShape::Circle => "((",
            BracketShape::DoubleCircle => "(((",
            BracketShape::Odd => ">",
            BracketShape::Diamond => "{",
            BracketShape::Hexagon => "{{",
            BracketShape::LeanRight | BracketShape::Trapezoid => "[/",
            BracketShape::LeanLeft | BracketShape::InvTrapezoid => "[\\",
            BracketShape::Ellipse => "(-",
            BracketShape::Rect => "[|",
        }
    }

    /// The canonical closing bracket.
    pub fn close(self) -> &'static str {
        match self {
            BracketShape::Square | BracketShape::Odd | BracketShape::Rect => "]",
            BracketShape::Round => ")",
            BracketShape::Stadium => "])",
            BracketShape::Subroutine => "]]",
            BracketShape::Cylinder => ")]",
            BracketShape::Circle => "))",
            BracketShape::DoubleCircle => ")))",
            BracketShape::Diamond => "}",
            BracketShape::Hexagon => "}}",
            BracketShape::LeanRight | BracketShape::InvTrapezoid => "/]",
            BracketShape::LeanLeft | BracketShape::Trapezoid => "\\]",
            BracketShape::Ellipse => "-)",
        }
    }

    /// Every bracket shape, for tables and tests.
    pub const ALL: [BracketShape; 16] = [
        BracketShape::Square,
        BracketShape::Round,
        BracketShape::Stadium,
        BracketShape::Subroutine,
        BracketShape::Cylinder,
        BracketShape::Circle,
        BracketShape::DoubleCircle,
        BracketShape::Odd,
        BracketShape::Diamond,
        BracketShape::Hexagon,
        BracketShape::LeanRight,
        BracketShape::LeanLeft,
        BracketShape::Trapezoid,
        BracketShape::InvTrapezoid,
        BracketShape::Ellipse,
        BracketShape::Rect,
    ];
}

/// A node, edge or subgraph label.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Label {
    /// The label text as written, quotes and backticks included.
    pub span: Span,
    /// Plain text, `"string"` or ``"`markdown`"``.
    pub kind: LabelType,
    /// Exactly the source between the delimiters (quotes included).
    pub raw: String,
    /// What mermaid's FlowDB receives: quotes/backticks removed, `#name;`
    /// entities turned into `&name;`, not yet trimmed or sanitised.
    pub text: String,
}

/// An `@{ … }` block after a node (or an edge id).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ShapeData {
    /// From `@{` to `}`.
    pub span: Span,
    /// The source between `@{` and `}`, verbatim.
    pub raw: String,
    /// The body mermaid hands to its YAML loader (newlines inside quoted
    /// strings already turned into `<br/>`, as its lexer does).
    pub body: String,
}

/// A link between two node groups.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Link {
    /// From the edge id (or first arrow token) to the end of the label/arrow.
    pub span: Span,
    /// `e1@` edge id, without the `@`.
    pub id: Option<Ident>,
    /// For the inline-label form (`A -- text --> B`), the opening token
    /// (`--`, `==`, `-.`, `<--`, `x==`, …), trimmed.
    pub start: Option<Ident>,
    /// The arrow token (`-->`, `---`, `-.->`, `==>`, `~~~`, `--o`, `<-->`, …), trimmed.
    pub arrow: Ident,
    /// The label, in either form.
    pub label: Option<EdgeLabel>,
    /// Line style mermaid derives from the tokens.
    pub stroke: Stroke,
    /// Marker at the source end.
    pub arrow_start: Arrow,
    /// Marker at the target end.
    pub arrow_end: Arrow,
    /// 1 for `-->`, 2 for `--->`, … (not yet capped at 10).
    pub length: usize,
    /// Mermaid's edge type (`arrow_point`, `arrow_open`, `double_arrow_cross`, …).
    pub edge_type: String,
}

/// An edge label and which syntax carried it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EdgeLabel {
    /// `-->|text|` or `-- text -->`.
    pub form: EdgeLabelForm,
    /// The text.
    pub label: Label,
}

/// The two edge-label syntaxes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum EdgeLabelForm {
    /// `A -->|text| B`
    #[default]
    Pipe,
    /// `A -- text --> B`
    Inline,
}

/// `subgraph … end` with its nested items.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Subgraph {
    /// From `subgraph` to `end`.
    pub span: Span,
    /// The `subgraph` keyword.
    pub keyword: Span,
    /// What followed the keyword.
    pub header: SubgraphHeader,
    /// Items inside, in source order.
    pub items: Vec<Item>,
    /// The `end` keyword.
    pub end: Span,
}

impl Drop for Subgraph {
    /// Flattens nested subgraphs so dropping a 100,000-deep tree does not
    /// overflow the stack.
    fn drop(&mut self) {
        let mut pending = std::mem::take(&mut self.items);
        while let Some(item) = pending.pop() {
            if let Item::Statement(Statement::Subgraph(mut inner)) = item {
                pending.append(&mut inner.items);
            }
        }
    }
}

/// How a subgraph was named.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum SubgraphHeader {
    /// `subgraph` alone: auto id `subGraphN`, empty title.
    #[default]
    Anonymous,
    /// `subgraph one`, `subgraph Some Title`, `subgraph "Title"`: the text is
    /// both id and title (mermaid uses an auto id when it contains blanks).
    Text(Label),
    /// `subgraph id [title]`.
    IdTitle {
        /// The id part (raw text may end in blanks, as mermaid reads it).
        id: Label,
        /// The bracketed title.
        title: Label,
    },
}

/// `direction TB` inside a subgraph (mermaid reads the whole line).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DirectionStatement {
    /// The whole line.
    pub span: Span,
    /// The direction (`TD` kept as [`Direction::TD`]).
    pub direction: Direction,
    /// The line as written.
    pub raw: String,
}

/// `classDef names styles`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ClassDef {
    /// The statement.
    pub span: Span,
    /// Class names as written; mermaid splits them on `,` (`a,b`); `default`
    /// styles every node without a class.
    pub names: Ident,
    /// The comma-separated style pieces, as written (blanks kept).
    pub styles: Vec<String>,
}

impl ClassDef {
    /// The class names, split on `,` as mermaid does.
    pub fn name_list(&self) -> impl Iterator<Item = &str> {
        self.names.text.split(',')
    }
}

/// `class ids className`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ClassAssign {
    /// The statement.
    pub span: Span,
    /// Node, edge or subgraph ids, comma separated as written.
    pub ids: Ident,
    /// The class name.
    pub class: Ident,
}

impl ClassAssign {
    /// The target ids, split on `,` as mermaid does.
    pub fn id_list(&self) -> impl Iterator<Item = &str> {
        self.ids.text.split(',')
    }
}

/// `style id styles`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Style {
    /// The statement.
    pub span: Span,
    /// The node id (mermaid does not split it on `,`).
    pub id: Ident,
    /// The comma-separated style pieces, as written.
    pub styles: Vec<String>,
}

/// `linkStyle targets [interpolate curve] [styles]`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LinkStyle {
    /// The statement.
    pub span: Span,
    /// `default` or edge indices.
    pub targets: LinkStyleTargets,
    /// `interpolate basis`: the curve name.
    pub interpolate: Option<Ident>,
    /// The comma-separated style pieces (may be empty with `interpolate`).
    pub styles: Vec<String>,
}

/// What a `linkStyle` applies to.
#[derive(Debug, Clone, PartialEq)]
pub enum LinkStyleTargets {
    /// `linkStyle default …`.
    Default(Span),
    /// `linkStyle 0,2 …` (0-based edge creation order).
    Indices(Vec<LinkIndex>),
}

impl Default for LinkStyleTargets {
    fn default() -> Self {
        LinkStyleTargets::Indices(Vec::new())
    }
}

/// One index of a `linkStyle` list.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LinkIndex {
    /// The digits.
    pub span: Span,
    /// The value (saturated at `usize::MAX` for absurdly long digit runs).
    pub value: usize,
}

/// `click id …` in all its forms.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Click {
    /// The statement.
    pub span: Span,
    /// The node id(s), comma separated as written.
    pub id: Ident,
    /// A link or a callback.
    pub action: ClickAction,
    /// The quoted tooltip.
    pub tooltip: Option<Quoted>,
    /// `_self`, `_blank`, `_parent` or `_top`.
    pub target: Option<Ident>,
}

/// What a click does.
#[derive(Debug, Clone, PartialEq)]
pub enum ClickAction {
    /// `click A "url"` or `click A href "url"`.
    Link {
        /// The URL, unquoted.
        url: Quoted,
        /// Whether `href` was written.
        href: bool,
    },
    /// `click A cb`, `click A call cb()`, `click A call cb(args)`.
    Callback {
        /// The function name.
        name: Ident,
        /// `call` form: the text between the parentheses (`Some("")` for `()`);
        /// `None` without parentheses.
        args: Option<Ident>,
        /// Whether `call` was written.
        call: bool,
    },
}

impl Default for ClickAction {
    fn default() -> Self {
        ClickAction::Callback {
            name: Ident::default(),
            args: None,
            call: false,
        }
    }
}

/// A `"quoted"` argument.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Quoted {
    /// From the opening to the closing quote.
    pub span: Span,
    /// The text between the quotes.
    pub text: String,
}

/// `accTitle: text`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AccTitle {
    /// The statement.
    pub span: Span,
    /// The value as written (mermaid trims it).
    pub text: String,
}

/// `accDescr: text` or `accDescr { multi-line }`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AccDescr {
    /// The statement.
    pub span: Span,
    /// The value as written (mermaid trims it).
    pub text: String,
    /// Whether the `{ … }` form was used.
    pub multiline: bool,
}

/// A step of [`Document::walk`].
#[derive(Debug, Clone, Copy)]
pub enum Visit<'a> {
    /// An item at nesting `depth` (0 = top level); a subgraph's items follow.
    Item(&'a Item, usize),
    /// The `end` of a subgraph entered at `depth`.
    Leave(&'a Subgraph, usize),
}

impl Document {
    /// Walks every item depth-first in source order without recursion:
    /// `Item(subgraph)`, its items, `Leave(subgraph)`. Leading items come first.
    pub fn walk(&self) -> Walk<'_> {
        Walk {
            stack: vec![
                Frame::Items(self.items.iter(), 0),
                Frame::Items(self.leading.iter(), 0),
            ],
        }
    }
}

enum Frame<'a> {
    Items(std::slice::Iter<'a, Item>, usize),
    Leave(&'a Subgraph, usize),
}

/// Iterator returned by [`Document::walk`].
pub struct Walk<'a> {
    stack: Vec<Frame<'a>>,
}

impl<'a> Iterator for Walk<'a> {
    type Item = Visit<'a>;

    fn next(&mut self) -> Option<Visit<'a>> {
        loop {
            match self.stack.pop()? {
                Frame::Leave(sg, depth) => return Some(Visit::Leave(sg, depth)),
                Frame::Items(mut iter, depth) => {
                    let Some(item) = iter.next() else { continue };
                    self.stack.push(Frame::Items(iter, depth));
                    if let Item::Statement(Statement::Subgraph(sg)) = item {
                        self.stack.push(Frame::Leave(sg, depth));
                        self.stack.push(Frame::Items(sg.items.iter(), depth + 1));
                    }
                    return Some(Visit::Item(item, depth));
                }
            }
        }
    }
}
