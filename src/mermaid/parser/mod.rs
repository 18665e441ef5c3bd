//! The flowchart grammar: mermaid's `flow.jison` productions as a
//! hand-written LL(1) parser over the [`lexer`]'s tokens, building the
//! [`ast::Document`](crate::mermaid::ast::Document).
//!
//! Why a token scanner under a "lexer-free" parser: every mermaid quirk the
//! corpus pins down (`end.x` fails while `endpoint` works, `dev---ops`, links
//! eating newlines, `A[a () b]` failing, `style X bg: #c;` failing) comes
//! from the order of mermaid's lexer rules and its state stack, so the
//! scanner mirrors those rules exactly and the parser mirrors the grammar.
//! Each lexer rule is a nom parser ([`rules`]); the scanner ([`lexer`]) is
//! the jison driver that tries them in mermaid's order under its state
//! stack. The statement level stays an LL(1) loop over tokens: its
//! decisions depend on token kinds and on FlowDB state fed through the
//! [`Sink`], and its error messages name the token found, which a
//! combinator grammar over text would have to rebuild.
//!
//! The parser does not build the tree itself: it hands each statement to a
//! [`Sink`]. [`AstSink`] assembles the [`Document`]; the FlowDB replay in
//! `lower` is the other sink, so `parse_flowchart` runs mermaid's database
//! actions statement by statement (as mermaid does, so a semantic error
//! before a syntax error is reported first) without allocating a tree.
//!
//! Nesting is handled with an explicit stack of open subgraphs, never
//! recursion, so 100,000 nested subgraphs parse in constant stack space.

mod lexer;
pub(crate) mod rules;

use super::ast::Frontmatter;
use super::ast::{
    AccDescr, AccTitle, BracketShape, Chain, ChainLink, ClassAssign, ClassDef, Click, ClickAction,
    DirectionSpec, DirectionStatement, Document, EdgeLabelForm, Header, HeaderKeyword, Ident, Item,
    Label, LinkIndex, LinkStyle, LinkStyleTargets, NodeGroup, NodeRef, Quoted, Statement, Style,
    Subgraph, SubgraphHeader,
};
use super::diagnostics::{Diagnostic, ErrorKind, Location, Span};
use super::flow::{Arrow, Direction, LabelType, Stroke};
use super::lower::{DbSink, Scratch};
use super::prep::{self, OffsetMap, Prepared, decode_entities};
use super::view::{ChainV, IdV, LabelV, LinkV, MetaV, NodeV, ShapeV};
use lexer::{Lexer, T, Tok};
use std::borrow::Cow;
use std::cell::Cell;

type PResult<T> = Result<T, Diagnostic>;

/// Receives what the parser recognises, statement by statement.
pub(crate) trait Sink<'a> {
    /// The frontmatter block, before anything else.
    fn frontmatter(&mut self, fm: Option<Frontmatter>);
    /// The header line.
    fn header(&mut self, header: Header);
    /// A comment or directive (before the header: leading trivia).
    fn trivia(&mut self, item: Item);
    /// A node/link statement.
    fn chain(&mut self, chain: &ChainV<'a, '_>) -> PResult<()>;
    /// Any other statement except subgraphs.
    fn statement(&mut self, st: Statement) -> PResult<()>;
    /// `subgraph …` and its header.
    fn open_subgraph(&mut self, keyword: Span, header: SubgraphHeader);
    /// The `end` of the innermost open subgraph.
    fn close_subgraph(&mut self, span: Span, end: Span) -> PResult<()>;
}

/// Builds the [`Document`].
pub(crate) struct AstSink<'a> {
    src: &'a str,
    doc: Document,
    header_seen: bool,
    open: Vec<Subgraph>,
}

impl<'a> AstSink<'a> {
    /// A sink for `src`.
    pub fn new(src: &'a str) -> Self {
        AstSink {
            src,
            doc: Document {
                span: Span::new(0, src.len()),
                ..Document::default()
            },
            header_seen: false,
            open: Vec::new(),
        }
    }

    fn push(&mut self, item: Item) {
        match self.open.last_mut() {
            Some(sg) => sg.items.push(item),
            None if self.header_seen => self.doc.items.push(item),
            None => self.doc.leading.push(item),
        }
    }

    /// The finished document.
    pub fn finish(self) -> Document {
        self.doc
    }
}

impl<'a> Sink<'a> for AstSink<'a> {
    fn frontmatter(&mut self, fm: Option<Frontmatter>) {
        self.doc.frontmatter = fm;
    }

    fn header(&mut self, header: Header) {
        self.doc.header = header;
        self.header_seen = true;
    }

    fn trivia(&mut self, item: Item) {
        self.push(item);
    }

    fn chain(&mut self, chain: &ChainV<'a, '_>) -> PResult<()> {
        let group = |&(from, to): &(usize, usize)| {
            let nodes: Vec<NodeRef> = chain.nodes[from..to]
                .iter()
                .map(|n| n.to_ast(self.src))
                .collect();
            let span = match (nodes.first(), nodes.last()) {
                (Some(a), Some(b)) => a.span.join(b.span),
                _ => Span::default(),
            };
            NodeGroup { span, nodes }
        };
        let head = chain.groups.first().map(group).unwrap_or_default();
        let links = chain
            .links
            .iter()
            .zip(chain.groups.iter().skip(1))
            .map(|(l, g)| ChainLink {
                link: l.to_ast(self.src),
                nodes: group(g),
            })
            .collect();
        self.push(Item::Statement(Statement::Chain(Chain {
            span: chain.span,
            head,
            links,
        })));
        Ok(())
    }

    fn statement(&mut self, st: Statement) -> PResult<()> {
        self.push(Item::Statement(st));
        Ok(())
    }

    fn open_subgraph(&mut self, keyword: Span, header: SubgraphHeader) {
        self.open.push(Subgraph {
            span: keyword,
            keyword,
            header,
            items: Vec::new(),
            end: Span::default(),
        });
    }

    fn close_subgraph(&mut self, span: Span, end: Span) -> PResult<()> {
        if let Some(mut sg) = self.open.pop() {
            sg.span = span;
            sg.end = end;
            self.push(Item::Statement(Statement::Subgraph(sg)));
        }
        Ok(())
    }
}

/// Other mermaid diagram keywords, for the "only flowcharts" diagnostic.
const OTHER_DIAGRAMS: &[&str] = &[
    "sequenceDiagram",
    "classDiagram",
    "stateDiagram",
    "erDiagram",
    "gantt",
    "pie",
    "journey",
    "gitGraph",
    "mindmap",
    "timeline",
    "requirementDiagram",
    "requirement",
    "C4Context",
    "C4Container",
    "C4Component",
    "C4Dynamic",
    "C4Deployment",
    "quadrantChart",
    "xychart",
    "sankey",
    "packet",
    "block",
    "architecture",
    "kanban",
    "radar",
    "treemap",
    "zenuml",
    "info",
];

/// Parses `src` into a document.
pub(crate) fn parse_document(src: &str) -> PResult<Document> {
    let prepared = prep::prepare(src);
    detect(src, &prepared)?;
    let mut sink = AstSink::new(src);
    Parser::new(src, &prepared, &mut sink).run()?;
    Ok(sink.finish())
}

/// Parses `src` straight into the FlowDB replay: no tree is built.
pub(crate) fn parse_flowchart(src: &str) -> PResult<super::flow::Flowchart> {
    let mut scratch = SCRATCH.take().map(|s| *s).unwrap_or_default();
    let prepared = prep::prepare_in(src, std::mem::take(&mut scratch.text));
    detect(src, &prepared)?;
    // Counted with the summary: the source's lines, a few more than the
    // text's, which only size the tables.
    let lines = prepared.summary.newlines;
    let mut sink = DbSink::with_lines(lines, scratch);
    Parser::new(src, &prepared, &mut sink).run()?;
    let (chart, mut scratch) = sink.finish_keeping();
    scratch.text = prepared.text;
    if scratch.allocated_bytes() <= SCRATCH_KEPT_BYTES {
        SCRATCH.set(Some(Box::new(scratch)));
    }
    Ok(chart)
}

/// The most working memory a thread keeps between parses: enough for a
/// diagram of a few hundred thousand edges.
const SCRATCH_KEPT_BYTES: usize = 64 << 20;

thread_local! {
    /// The working memory of this thread's last parse ([`Scratch`]); taken
    /// out while a parse runs (a failed parse drops it).
    static SCRATCH: Cell<Option<Box<Scratch>>> = const { Cell::new(None) };
}

/// Mermaid's diagram detection, on the preprocessed text.
fn detect(src: &str, p: &Prepared) -> PResult<()> {
    let text = p.text.as_str();
    if text.starts_with("graph") || text.starts_with("flowchart") {
        return Ok(());
    }
    let word_end = text
        .find(|c: char| c.is_whitespace() || c == ';' || c == ':' || c == '{')
        .unwrap_or(text.len());
    let span = p.map.span(0, word_end);
    if let Some(kind) = OTHER_DIAGRAMS.iter().find(|k| text.starts_with(**k)) {
        let word = &text[..word_end];
        return Err(Diagnostic::new(
            ErrorKind::NotFlowchart,
            span,
            format!("this is a Mermaid `{kind}`, not a flowchart (`{word}`): only flowcharts are supported"),
        )
        .with_hint(
            "start the file with `flowchart TD` (or `graph LR`, …) to describe an architecture",
        ));
    }
    let span = if text.trim().is_empty() {
        Span::new(src.len(), src.len())
    } else {
        span
    };
    let msg = if text.trim().is_empty() {
        "no diagram found: the file is empty (after comments and frontmatter)".to_string()
    } else {
        format!(
            "no Mermaid diagram type detected: `{}` is not a diagram keyword",
            short(&text[..word_end])
        )
    };
    Err(Diagnostic::new(ErrorKind::UnknownDiagram, span, msg)
        .with_hint("a flowchart starts with `flowchart` or `graph`, optionally followed by a direction (TD, LR, …)"))
}

fn short(s: &str) -> String {
    let mut out: String = s.chars().take(40).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}

struct Parser<'a, 's, S: Sink<'a>> {
    sink: &'s mut S,
    /// `subgraph` keywords whose `end` has not been seen yet.
    open: Vec<Tok>,
    /// Reused buffers for the chain being parsed.
    nodes: Vec<NodeV<'a>>,
    groups: Vec<(usize, usize)>,
    links: Vec<LinkV<'a>>,
    src: &'a str,
    text: &'a str,
    map: &'a OffsetMap,
    lx: Lexer<'a>,
    cur: Tok,
    trivia: std::vec::IntoIter<Item>,
    next_trivia: Option<Item>,
    frontmatter: Option<Frontmatter>,
}

/// Tokens an `idString` is made of.
fn is_id_token(t: T) -> bool {
    matches!(
        t,
        T::Num
            | T::NodeString
            | T::Down
            | T::Minus
            | T::Default
            | T::Comma
            | T::Colon
            | T::Amp
            | T::Brkt
            | T::Mult
            | T::UnicodeText
    )
}

/// Tokens a bare subgraph title (`textNoTags`) is made of.
fn is_title_token(t: T) -> bool {
    matches!(
        t,
        T::Num
            | T::NodeString
            | T::Space
            | T::Minus
            | T::Amp
            | T::UnicodeText
            | T::Colon
            | T::Mult
            | T::Brkt
            | T::Style
            | T::LinkStyle
            | T::ClassDef
            | T::Class
            | T::Click
            | T::Graph
            | T::Dir
            | T::Subgraph
            | T::End
            | T::Down
            | T::Up
            | T::StartLink
    )
}

/// Tokens of a `classDef`/`style`/`linkStyle` style piece.
fn is_style_token(t: T) -> bool {
    matches!(
        t,
        T::Num | T::NodeString | T::Colon | T::Space | T::Brkt | T::Style
    )
}

/// Tokens of an `alphaNum` (callback names, `interpolate` curves).
fn is_alnum_token(t: T) -> bool {
    matches!(
        t,
        T::Num
            | T::UnicodeText
            | T::NodeString
            | T::Dir
            | T::Down
            | T::Minus
            | T::Comma
            | T::Colon
            | T::Amp
            | T::Brkt
            | T::Mult
    )
}

fn is_keyword_token(t: T) -> bool {
    matches!(
        t,
        T::End
            | T::Style
            | T::Subgraph
            | T::Graph
            | T::Class
            | T::ClassDef
            | T::LinkStyle
            | T::Interpolate
            | T::LinkTarget
            | T::Href
            | T::Default
    )
}

fn is_separator(t: T) -> bool {
    matches!(t, T::Newline | T::Semi | T::Eof)
}

/// What a bracket opener expects as its closer, for messages.
fn closer_for(t: T) -> &'static str {
    match t {
        T::Sqs | T::TagEnd | T::PropsStart => "]",
        T::Ps => ")",
        T::DoubleCircleStart => ")))",
        T::EllipseStart => "-)",
        T::StadiumStart => "])",
        T::SubroutineStart => "]]",
        T::CylinderStart => ")]",
        T::DiamondStart => "}",
        T::TrapStart => "/] or \\]",
        T::InvTrapStart => "\\] or /]",
        T::Pipe => "|",
        _ => "closing bracket",
    }
}

fn is_bracket_token(t: T) -> bool {
    matches!(
        t,
        T::Sqs
            | T::Sqe
            | T::Ps
            | T::Pe
            | T::DiamondStart
            | T::DiamondStop
            | T::StadiumStart
            | T::StadiumEnd
            | T::SubroutineStart
            | T::SubroutineEnd
            | T::CylinderStart
            | T::CylinderEnd
            | T::DoubleCircleStart
            | T::DoubleCircleEnd
            | T::EllipseStart
            | T::EllipseEnd
            | T::TrapStart
            | T::TrapEnd
            | T::InvTrapStart
            | T::InvTrapEnd
            | T::Pipe
    )
}

/// Mermaid's `destructLink`: edge type, stroke and length from the arrow
/// token and, for inline labels, the opening token. `None` when the two
/// disagree (mermaid then builds an edge of type `INVALID`).
pub(crate) fn destruct_link(
    arrow: &str,
    start: Option<&str>,
) -> Option<(&'static str, Stroke, usize)> {
    /// An arrowhead kind: 0 none, 1 point, 2 cross, 3 circle.
    const SINGLE: [&str; 4] = ["arrow_open", "arrow_point", "arrow_cross", "arrow_circle"];
    const DOUBLE: [&str; 4] = [
        "arrow_open",
        "double_arrow_point",
        "double_arrow_cross",
        "double_arrow_circle",
    ];
    let s = trim_blanks(arrow);
    let bytes = s.as_bytes();
    let mut line = &bytes[..bytes.len().saturating_sub(1)];
    let (kind, opener) = match bytes.last() {
        Some(b'>') => (1, b'<'),
        Some(b'x') => (2, b'x'),
        Some(b'o') => (3, b'o'),
        _ => (0, 0),
    };
    let double = kind != 0 && bytes.first() == Some(&opener);
    if double {
        line = line.get(1..).unwrap_or_default();
    }
    let mut stroke = Stroke::Normal;
    let mut length = line.len().saturating_sub(1);
    if line.first() == Some(&b'=') {
        stroke = Stroke::Thick;
    }
    if line.first() == Some(&b'~') {
        stroke = Stroke::Invisible;
    }
    let dots = line.iter().filter(|&&b| b == b'.').count();
    if dots > 0 {
        stroke = Stroke::Dotted;
        length = dots;
    }
    let end_ty = if double { DOUBLE[kind] } else { SINGLE[kind] };
    let Some(start) = start else {
        return Some((end_ty, stroke, length));
    };
    let st = trim_blanks(start).as_bytes();
    let start_kind = match st.first() {
        Some(b'<') => 1,
        Some(b'x') => 2,
        Some(b'o') => 3,
        _ => 0,
    };
    let rest = if start_kind != 0 { &st[1..] } else { st };
    let mut start_stroke = Stroke::Normal;
    if rest.contains(&b'=') {
        start_stroke = Stroke::Thick;
    }
    if rest.contains(&b'.') {
        start_stroke = Stroke::Dotted;
    }
    if start_stroke != stroke {
        return None;
    }
    if start_kind == 0 {
        return Some((end_ty, stroke, length));
    }
    // A head at the start must match the end's (single) head.
    if double || start_kind != kind {
        return None;
    }
    Some((DOUBLE[kind], stroke, length))
}

/// The arrowheads an edge type stands for.
pub(crate) fn arrows_of(edge_type: &str) -> (Arrow, Arrow) {
    let kind = |s: &str| match s {
        "arrow_point" => Arrow::Arrow,
        "arrow_cross" => Arrow::Cross,
        "arrow_circle" => Arrow::Circle,
        _ => Arrow::None,
    };
    match edge_type.strip_prefix("double_") {
        Some(k) => (kind(k), kind(k)),
        None => (Arrow::None, kind(edge_type)),
    }
}

impl<'a, 's, S: Sink<'a>> Parser<'a, 's, S> {
    fn new(src: &'a str, p: &'a Prepared, sink: &'s mut S) -> Self {
        let mut trivia = p.trivia.clone().into_iter();
        let next_trivia = trivia.next();
        Parser {
            src,
            text: &p.text,
            map: &p.map,
            lx: Lexer::with_summary(&p.text, &p.summary, p.directions.as_deref()),
            cur: Tok {
                t: T::Done,
                s: 0,
                e: 0,
                aux: 0,
            },
            trivia,
            next_trivia,
            frontmatter: p.frontmatter.clone(),
            sink,
            open: Vec::new(),
            nodes: Vec::new(),
            groups: Vec::new(),
            links: Vec::new(),
        }
    }

    // ----- plumbing -------------------------------------------------------

    fn span(&self, s: usize, e: usize) -> Span {
        self.map.span(s, e)
    }

    fn tok_span(&self, t: &Tok) -> Span {
        self.span(t.s, t.e)
    }

    /// The token's span without surrounding blanks (link tokens carry them).
    fn trimmed_span(&self, t: &Tok) -> Span {
        self.trimmed(t).span
    }

    /// The token's text and span without surrounding blanks; the span of
    /// the whole token when it is all blanks.
    fn trimmed(&self, t: &Tok) -> IdV<'a> {
        let raw = self.text_of(t);
        let text = trim_blanks(raw);
        if text.is_empty() {
            return IdV {
                span: self.span(t.s, t.e),
                text,
            };
        }
        let s = t.s + (text.as_ptr() as usize - raw.as_ptr() as usize);
        IdV {
            span: self.span(s, s + text.len()),
            text,
        }
    }

    fn text_of(&self, t: &Tok) -> &'a str {
        self.text.get(t.s..t.e).unwrap_or("")
    }

    fn source(&self, span: Span) -> String {
        self.src.get(span.start..span.end).unwrap_or("").to_string()
    }

    fn bump(&mut self) -> PResult<()> {
        match self.lx.next() {
            Ok(t) => {
                self.cur = t;
                Ok(())
            }
            Err(e) => Err(self.lex_error(e.at)),
        }
    }

    fn lex_error(&mut self, at: usize) -> Diagnostic {
        let ch = self.text[at..].chars().next().unwrap_or(' ');
        let span = self.span(at, at + ch.len_utf8());
        let shown = self.source(span);
        let mut d = Diagnostic::parse(
            span,
            format!("unexpected character `{}`", shown.escape_debug()),
        );
        if !ch.is_ascii() {
            d = d.with_hint(
                "node ids may only use letters, digits and `_-.!?/…`; put emoji and symbols in a quoted label: `A[\"text 🚚\"]`",
            );
        } else if ch == '-' {
            d.message = "this link label is never closed".into();
            d = d.with_hint(
                "an inline label opened with `--` must end with an arrow of the same stroke: `A -- text --> B` or `A -- text --- B`",
            );
        } else if ch == '^' {
            d = d.with_hint("`^` is not allowed in `@{ … }` outside quotes; quote the value");
        } else if matches!(ch, ')' | ']' | '}') {
            d.message = format!("unbalanced `{ch}` in a label");
            d = d.with_hint("quote the label to use brackets in it: `A[\"a (b) c\"]`");
        }
        self.fail(d)
    }

    /// The diagnostic to return (one place to hook error bookkeeping).
    fn fail(&mut self, diagnostic: Diagnostic) -> Diagnostic {
        diagnostic
    }

    fn describe(&self, t: &Tok) -> String {
        match t.t {
            T::Newline => "the end of the line".into(),
            T::Eof | T::Done => "the end of the file".into(),
            T::Space => "a blank".into(),
            _ => {
                let raw = self.source(self.trimmed_span(t));
                if raw.is_empty() {
                    "the end of the file".into()
                } else {
                    format!("`{}`", short(&raw).escape_debug())
                }
            }
        }
    }

    fn unexpected(&mut self, expected: &str) -> Diagnostic {
        let t = self.cur;
        let span = self.trimmed_span(&t);
        let mut d = Diagnostic::parse(
            span,
            format!("expected {expected}, found {}", self.describe(&t)),
        );
        if self.text[t.s.min(self.text.len())..].starts_with(prep::ENTITY_START) {
            // One line: the message is a single line above the excerpt.
            let found = self.source(span);
            let found = match found.split_once(['\n', '\r']) {
                Some((first, _)) => format!("{first}…"),
                None => found,
            };
            d.message = format!(
                "expected {expected}, found `{found}`, which Mermaid reads as an HTML entity"
            );
            d = d.with_hint(
                "Mermaid turns `#word;` into an entity before parsing: write `fill:#bbb` without the blank after `:` or drop the trailing `;`",
            );
        } else if is_keyword_token(t.t) && expected.contains("node") {
            d = d.with_hint(keyword_hint(self.text_of(&t).trim()));
        }
        self.fail(d)
    }

    fn expect(&mut self, t: T, expected: &str) -> PResult<Tok> {
        if self.cur.t != t {
            return Err(self.unexpected(expected));
        }
        let tok = self.cur;
        self.bump()?;
        Ok(tok)
    }

    fn emit(&mut self, st: Statement) -> PResult<()> {
        self.sink.statement(st)
    }

    /// Moves comments/directives that precede source offset `before` into
    /// the current container.
    fn flush_trivia(&mut self, before: usize) {
        // Looked at in place: moving an `Item` out and back per statement
        // costs more than the check.
        while self
            .next_trivia
            .as_ref()
            .is_some_and(|item| item.span().start < before)
        {
            if let Some(item) = self.next_trivia.take() {
                self.sink.trivia(item);
            }
            self.next_trivia = self.trivia.next();
        }
    }

    // ----- document -------------------------------------------------------

    fn run(mut self) -> PResult<()> {
        let fm = self.frontmatter.take();
        self.sink.frontmatter(fm);
        self.bump()?;
        let header_start = self.span(self.cur.s, self.cur.s).start;
        self.flush_trivia(header_start);
        let header = self.header()?;
        self.sink.header(header);
        loop {
            let at = self.span(self.cur.s, self.cur.s).start;
            self.flush_trivia(at);
            match self.cur.t {
                T::Semi | T::Newline | T::Space | T::Eof => self.bump()?,
                T::Done => {
                    if let Some(&kw) = self.open.last() {
                        let span = self.tok_span(&kw);
                        let loc = Location::of(self.src, span.start);
                        let d = Diagnostic::parse(
                            span,
                            format!("this `subgraph` (line {}) is never closed", loc.line),
                        )
                        .with_hint("add a line with `end` after the subgraph's last statement");
                        return Err(self.fail(d));
                    }
                    break;
                }
                T::Subgraph => self.subgraph_open()?,
                T::End => self.subgraph_close()?,
                T::Direction(direction) => {
                    let span = self.trimmed_span(&self.cur);
                    let raw = self.source(span);
                    self.emit(Statement::Direction(DirectionStatement {
                        span,
                        direction,
                        raw,
                    }))?;
                    self.bump()?;
                }
                T::AccTitle => self.acc_title()?,
                T::AccDescr => self.acc_descr()?,
                T::AccDescrMultiValue => {
                    let t = self.cur;
                    let span = self.tok_span(&t);
                    let item = Statement::AccDescr(AccDescr {
                        span,
                        text: self.text_of(&t).to_string(),
                        multiline: true,
                    });
                    self.emit(item)?;
                    self.bump()?;
                }
                T::Style => self.style()?,
                T::ClassDef => self.class_def()?,
                T::Class => self.class_assign()?,
                T::LinkStyle => self.link_style()?,
                T::Click => self.click()?,
                t if is_id_token(t) => self.chain()?,
                T::Link | T::StartLink
                    if self.text_of(&self.cur).trim_start().starts_with(['x', 'o']) =>
                {
                    let span = self.trimmed_span(&self.cur);
                    let d = Diagnostic::parse(span, format!("a statement cannot start with the link `{}`", self.source(span)))
                        .with_hint("an `x` or `o` right before `--` is read as an arrowhead: rename the node or add a blank (`x --> B`)");
                    return Err(self.fail(d));
                }
                _ => {
                    return Err(
                        self.unexpected("a statement (a node, `subgraph`, `style`, `classDef`, …)")
                    );
                }
            }
        }
        self.flush_trivia(usize::MAX);
        Ok(())
    }

    fn header(&mut self) -> PResult<Header> {
        while matches!(self.cur.t, T::Space | T::Newline) {
            self.bump()?;
        }
        if self.cur.t != T::Graph {
            return Err(self.unexpected("`graph` or `flowchart`"));
        }
        let kw = self.cur;
        let keyword = match self.text_of(&kw) {
            "graph" => HeaderKeyword::Graph,
            "flowchart-elk" => HeaderKeyword::FlowchartElk,
            _ => HeaderKeyword::Flowchart,
        };
        let keyword_span = self.tok_span(&kw);
        if let Err(f) = self.bump() {
            let d = Diagnostic::parse(
                Span::new(keyword_span.end, keyword_span.end + 1).join(f.span),
                format!(
                    "expected a direction (TB, TD, BT, RL, LR) or a new line after `{}`",
                    keyword.as_str()
                ),
            )
            .with_hint("write the header on its own line, e.g. `flowchart LR`");
            return Err(self.fail(d));
        }
        let mut header = Header {
            span: keyword_span,
            keyword,
            keyword_span,
            direction: None,
            semicolon: false,
        };
        match self.cur.t {
            T::NoDir => self.bump()?,
            T::Dir => {
                let t = self.cur;
                let span = self.trimmed_span(&t);
                let text = self.text_of(&t).trim().to_string();
                let direction = match text.as_str() {
                    "TD" => Direction::TD,
                    "BT" | "^" => Direction::BT,
                    "LR" | ">" => Direction::LR,
                    "RL" | "<" => Direction::RL,
                    _ => Direction::TB,
                };
                header.span = keyword_span.join(span);
                header.direction = Some(DirectionSpec {
                    span,
                    text,
                    direction,
                });
                self.bump()?;
                match self.cur.t {
                    T::Semi => {
                        header.semicolon = true;
                        self.bump()?;
                    }
                    T::Newline => self.bump()?,
                    T::Space => {
                        self.bump()?;
                        self.expect(T::Newline, "a new line after the diagram header")?;
                    }
                    _ => {
                        let mut f = self.unexpected("a new line or `;` after the diagram header");
                        f = f.with_hint("statements start on the next line (or after `;`): `flowchart LR;A-->B`");
                        return Err(f);
                    }
                }
            }
            _ => return Err(self.unexpected("a direction (TB, TD, BT, RL, LR) or a new line")),
        }
        Ok(header)
    }

    // ----- statements -----------------------------------------------------

    fn chain(&mut self) -> PResult<()> {
        let start = self.cur;
        self.nodes.clear();
        self.groups.clear();
        self.links.clear();
        self.group()?;
        while matches!(self.cur.t, T::Link | T::LinkId | T::StartLink) {
            let link = self.link()?;
            if !is_id_token(self.cur.t) {
                let what = format!("a node after the link `{}`", link.arrow.text);
                return Err(self.unexpected(&what));
            }
            self.links.push(link);
            self.group()?;
        }
        if !is_separator(self.cur.t) {
            let mut f = self.unexpected("a link, `&` or the end of the statement");
            if matches!(self.cur.t, T::Space | T::ShapeData) || is_bracket_token(self.cur.t) {
                f = f.with_hint(
                    "nothing may come between a node id and its brackets, `:::class` or `@{…}`: write `A[label]`, not `A [label]`",
                );
            }
            return Err(f);
        }
        let end = self.nodes.last().map_or(start.e, |n| n.span.end);
        let span = Span::new(self.tok_span(&start).start, end);
        let chain = ChainV {
            span,
            nodes: &self.nodes,
            groups: &self.groups,
            links: &self.links,
        };
        self.sink.chain(&chain)?;
        self.bump()
    }

    /// Nodes joined by `&`, appended to the chain buffer.
    fn group(&mut self) -> PResult<()> {
        let from = self.nodes.len();
        self.styled_vertex()?;
        loop {
            match self.cur.t {
                T::ShapeData => {
                    let meta = self.shape_data()?;
                    if let Some(last) = self.nodes.last_mut() {
                        last.span = last.span.join(meta.span);
                        last.meta = Some(meta);
                    }
                    if self.cur.t != T::Space {
                        break;
                    }
                    self.bump()?;
                    self.expect(T::Amp, "`&` after the `@{ … }` block")?;
                    self.expect(T::Space, "a blank after `&`")?;
                }
                T::Space => {
                    self.bump()?;
                    if self.cur.t != T::Amp {
                        break;
                    }
                    self.bump()?;
                    self.expect(T::Space, "a blank after `&`")?;
                }
                _ => break,
            }
            if !is_id_token(self.cur.t) {
                return Err(self.unexpected("a node after `&`"));
            }
            self.styled_vertex()?;
        }
        self.groups.push((from, self.nodes.len()));
        Ok(())
    }

    /// An `idString`: adjacent id tokens, borrowed.
    fn id_view(&mut self, what: &str) -> PResult<IdV<'a>> {
        if !is_id_token(self.cur.t) {
            return Err(self.unexpected(what));
        }
        let s = self.cur.s;
        let mut e = self.cur.e;
        while is_id_token(self.cur.t) {
            e = self.cur.e;
            self.bump()?;
        }
        Ok(IdV {
            span: self.span(s, e),
            text: &self.text[s..e],
        })
    }

    fn id_string(&mut self, what: &str) -> PResult<Ident> {
        let v = self.id_view(what)?;
        Ok(Ident {
            span: v.span,
            text: v.text.to_string(),
        })
    }

    /// One node mention, appended to the chain buffer (built in place: a
    /// mention is a few hundred bytes, and returning it costs copies).
    fn styled_vertex(&mut self) -> PResult<()> {
        let id = self.id_view("a node id")?;
        let shape = match self.cur.t {
            T::Sqs
            | T::DoubleCircleStart
            | T::Ps
            | T::EllipseStart
            | T::StadiumStart
            | T::SubroutineStart
            | T::PropsStart
            | T::CylinderStart
            | T::DiamondStart
            | T::TagEnd
            | T::TrapStart
            | T::InvTrapStart => Some(self.shape(id.text)?),
            _ => None,
        };
        let class = if self.cur.t == T::StyleSeparator {
            self.bump()?;
            Some(self.id_view("a class name after `:::`")?)
        } else {
            None
        };
        let mut span = id.span;
        if let Some(s) = &shape {
            span = span.join(s.span);
        }
        if let Some(c) = &class {
            span = span.join(c.span);
        }
        self.nodes.push(NodeV {
            span,
            id,
            shape,
            class,
            meta: None,
        });
        Ok(())
    }

    fn shape(&mut self, id: &str) -> PResult<ShapeV<'a>> {
        let open = self.cur;
        self.bump()?;
        let mut props = None;
        let (kind, label, close) = match open.t {
            T::Ps if self.cur.t == T::Ps => {
                let inner = self.cur;
                self.bump()?;
                let label = self.label(&open, id)?;
                self.close(T::Pe, &inner, id)?;
                let c = self.close(T::Pe, &open, id)?;
                (BracketShape::Circle, label, c)
            }
            T::DiamondStart if self.cur.t == T::DiamondStart => {
                let inner = self.cur;
                self.bump()?;
                let label = self.label(&open, id)?;
                self.close(T::DiamondStop, &inner, id)?;
                let c = self.close(T::DiamondStop, &open, id)?;
                (BracketShape::Hexagon, label, c)
            }
            T::PropsStart => {
                let key = self.expect(T::NodeString, "a property name after `[|`")?;
                self.expect(T::Colon, "`:` in `[|key:value|text]`")?;
                let value =
                    self.expect(T::NodeString, "a property value in `[|key:value|text]`")?;
                let pipe = self.expect(T::Pipe, "`|` after the property value")?;
                props = Some(Box::new((
                    IdV {
                        span: self.tok_span(&key),
                        text: self.text_of(&key),
                    },
                    IdV {
                        span: self.tok_span(&value),
                        text: self.text_of(&value),
                    },
                )));
                let label = self.label(&pipe, id)?;
                let c = self.close(T::Sqe, &open, id)?;
                (BracketShape::Rect, label, c)
            }
            T::TrapStart | T::InvTrapStart => {
                let label = self.label(&open, id)?;
                let c = self.cur;
                let kind = match (open.t, c.t) {
                    (T::TrapStart, T::TrapEnd) => BracketShape::Trapezoid,
                    (T::TrapStart, T::InvTrapEnd) => BracketShape::LeanRight,
                    (T::InvTrapStart, T::InvTrapEnd) => BracketShape::InvTrapezoid,
                    (T::InvTrapStart, T::TrapEnd) => BracketShape::LeanLeft,
                    _ => {
                        self.close(T::TrapEnd, &open, id)?;
                        BracketShape::Trapezoid
                    }
                };
                self.bump()?;
                (kind, label, c)
            }
            _ => {
                let (kind, closer) = match open.t {
                    T::Sqs => (BracketShape::Square, T::Sqe),
                    T::DoubleCircleStart => (BracketShape::DoubleCircle, T::DoubleCircleEnd),
                    T::Ps => (BracketShape::Round, T::Pe),
                    T::EllipseStart => (BracketShape::Ellipse, T::EllipseEnd),
                    T::StadiumStart => (BracketShape::Stadium, T::StadiumEnd),
                    T::SubroutineStart => (BracketShape::Subroutine, T::SubroutineEnd),
                    T::CylinderStart => (BracketShape::Cylinder, T::CylinderEnd),
                    T::DiamondStart => (BracketShape::Diamond, T::DiamondStop),
                    _ => (BracketShape::Odd, T::Sqe),
                };
                let label = self.label(&open, id)?;
                let c = self.close(closer, &open, id)?;
                (kind, label, c)
            }
        };
        Ok(ShapeV {
            span: self.span(open.s, close.e),
            kind,
            label,
            props,
        })
    }

    /// Expects the closing token `closer` of the bracket `open`.
    fn close(&mut self, closer: T, open: &Tok, id: &str) -> PResult<Tok> {
        if self.cur.t == closer {
            let t = self.cur;
            self.bump()?;
            return Ok(t);
        }
        let open_span = self.tok_span(open);
        let loc = Location::of(self.src, open_span.start);
        let opener = self.source(open_span);
        let want = closer_for(open.t);
        let cur = self.cur;
        let d = if matches!(cur.t, T::Done | T::Eof) {
            Diagnostic::parse(
                open_span,
                format!(
                    "`{opener}` of node `{}` is never closed: expected `{want}`",
                    id
                ),
            )
            .with_hint(
                "close the bracket, or quote the label if it contains brackets: `A[\"a (b) c\"]`",
            )
        } else if is_bracket_token(cur.t) || cur.t == T::Link {
            Diagnostic::parse(
                self.tok_span(&cur),
                format!(
                    "unexpected {} in the label of `{}` (its `{opener}` opened at line {}, column {} expects `{want}`)",
                    self.describe(&cur),
                    id,
                    loc.line,
                    loc.column
                ),
            )
            .with_hint(format!("quote the label to use brackets in it: `{}{opener}\"…\"{want}`", id))
        } else if matches!(cur.t, T::Str | T::MdStr | T::Text) {
            Diagnostic::parse(
                self.tok_span(&cur),
                format!("the label of `{}` mixes quoted and unquoted text", id),
            )
            .with_hint("quote the whole label, and write inner quotes as `#quot;`: `A[\"say #quot;hi#quot;\"]`")
        } else {
            Diagnostic::parse(
                self.tok_span(&cur),
                format!(
                    "expected `{want}` to close `{opener}` (line {}, column {}), found {}",
                    loc.line,
                    loc.column,
                    self.describe(&cur)
                ),
            )
        };
        Err(self.fail(d))
    }

    /// A label inside brackets: text tokens, or one quoted/markdown string.
    /// A label inside brackets: text tokens, or one quoted/markdown string.
    fn label(&mut self, open: &Tok, id: &str) -> PResult<LabelV<'a>> {
        match self.cur.t {
            T::Str | T::MdStr => self.string_label(),
            T::Text => {
                let s = self.cur.s;
                let mut e = self.cur.e;
                let mut owned: Option<String> = None;
                let mut run = (self.cur.s, self.cur.e);
                self.bump()?;
                while self.cur.t == T::Text {
                    if self.cur.s == run.1 {
                        run.1 = self.cur.e;
                    } else {
                        owned
                            .get_or_insert_with(String::new)
                            .push_str(&self.text[run.0..run.1]);
                        run = (self.cur.s, self.cur.e);
                    }
                    e = self.cur.e;
                    self.bump()?;
                }
                let last = &self.text[run.0..run.1];
                let text = match owned {
                    Some(mut t) => {
                        t.push_str(last);
                        Cow::Owned(decode_entities(&t))
                    }
                    None => decoded(last),
                };
                Ok(LabelV {
                    span: self.span(s, e),
                    kind: LabelType::Text,
                    text,
                })
            }
            _ => {
                let cur = self.cur;
                if matches!(cur.t, T::Done | T::Eof) {
                    return Err(self
                        .close(T::Text, open, id)
                        .err()
                        .unwrap_or_else(|| self.unexpected("a label")));
                }
                let open_text = self.source(self.tok_span(open));
                let mut f = self.unexpected(&format!("the label text after `{open_text}`"));
                if is_bracket_token(cur.t) && cur.s == open.e {
                    f = f.with_hint(
                        "an empty label needs quotes with text, or brackets in a label need quotes: `A[\"(x)\"]`",
                    );
                } else if is_bracket_token(cur.t) {
                    f = f.with_hint("quote the label to use brackets in it: `A[\"a (b) c\"]`");
                }
                Err(f)
            }
        }
    }

    /// A `"string"` or ``"`markdown`"`` label (one token).
    fn string_label(&mut self) -> PResult<LabelV<'a>> {
        let t = self.cur;
        let (kind, close_len) = if t.t == T::Str {
            (LabelType::String, 1)
        } else {
            (LabelType::Markdown, 2)
        };
        let end = (t.e + close_len).min(self.text.len());
        let span = self.span(t.aux.min(t.s), end);
        let text = decoded(self.text_of(&t));
        self.bump()?;
        if matches!(self.cur.t, T::Str | T::MdStr | T::Text) {
            let cur = self.cur;
            let d = Diagnostic::parse(
                self.tok_span(&cur),
                "a label may be one quoted string, without text or quotes after it",
            )
            .with_hint("write inner quotes as `#quot;`: `A[\"say #quot;hi#quot;\"]`");
            return Err(self.fail(d));
        }
        Ok(LabelV { span, kind, text })
    }

    fn shape_data(&mut self) -> PResult<MetaV<'a>> {
        let t = self.cur;
        let closed =
            self.text.as_bytes().get(t.e.saturating_sub(1)) == Some(&b'}') && t.e > t.s + 2;
        if !closed {
            let span = self.span(t.s, t.s + 2);
            let d = Diagnostic::parse(span, "this `@{` is never closed with `}`")
                .with_hint("close the block: `A@{ shape: cyl, label: \"DB\" }`");
            return Err(self.fail(d));
        }
        let inner: &'a str = &self.text[t.s + 2..t.e - 1];
        // The lexer turns newlines (and the blanks after them) inside quoted
        // strings into `<br/>`.
        let body = if inner.contains('\n') && inner.contains('"') {
            let mut body = String::with_capacity(inner.len());
            let mut in_str = false;
            let mut chars = inner.char_indices().peekable();
            while let Some((_, c)) = chars.next() {
                if c == '"' {
                    in_str = !in_str;
                    body.push(c);
                } else if in_str && c == '\n' {
                    while chars.peek().is_some_and(|&(_, n)| prep::is_js_space(n)) {
                        chars.next();
                    }
                    body.push_str("<br/>");
                } else {
                    body.push(c);
                }
            }
            Cow::Owned(decode_entities(&body))
        } else {
            decoded(inner)
        };
        let span = self.tok_span(&t);
        let raw_span = self.span(t.s + 2, t.e - 1);
        self.bump()?;
        Ok(MetaV {
            span,
            raw: self
                .src
                .get(raw_span.start..raw_span.end)
                .unwrap_or_default(),
            body,
        })
    }

    fn link(&mut self) -> PResult<LinkV<'a>> {
        let id = if self.cur.t == T::LinkId {
            let t = self.cur;
            let span = self.span(t.s, t.e.saturating_sub(1));
            self.bump()?;
            Some(IdV {
                span,
                text: &self.text[t.s..t.e.saturating_sub(1)],
            })
        } else {
            None
        };
        let (start, arrow, label, end) = match self.cur.t {
            T::Link => {
                let arrow = self.trimmed(&self.cur);
                self.bump()?;
                let mut end = arrow.span.end;
                let label = if self.cur.t == T::Pipe {
                    let open = self.cur;
                    self.bump()?;
                    let label = self.edge_pipe_label(&open)?;
                    let close = self.cur;
                    self.bump()?;
                    end = self.tok_span(&close).end;
                    if self.cur.t == T::Space {
                        self.bump()?;
                    }
                    Some((EdgeLabelForm::Pipe, label))
                } else {
                    None
                };
                (None, arrow, label, end)
            }
            T::StartLink => {
                let open = self.cur;
                self.bump()?;
                let label = self.edge_inline_label(&open)?;
                let arrow = self.trimmed(&self.cur);
                self.bump()?;
                let start = self.trimmed(&open);
                let end = arrow.span.end;
                (
                    Some(start),
                    arrow,
                    Some((EdgeLabelForm::Inline, label)),
                    end,
                )
            }
            _ => return Err(self.unexpected("a link (`-->`, `---`, …) after the edge id")),
        };
        let Some((edge_type, stroke, length)) = destruct_link(arrow.text, start.map(|s| s.text))
        else {
            let open = start.map(|s| s.text).unwrap_or_default();
            let span = start.map_or(arrow.span, |s| s.span.join(arrow.span));
            let d = Diagnostic::parse(
                span,
                format!(
                    "the link opens with `{open}` but ends with `{}`: the arrowheads do not match",
                    arrow.text
                ),
            )
            .with_hint("use the same kind of head on both sides (`<-- text -->`, `x-- text --x`) or none at the start (`-- text -->`)");
            return Err(self.fail(d));
        };
        let (arrow_start, arrow_end) = arrows_of(edge_type);
        // Without an edge id the link starts where its first token does.
        let first = id.or(start).unwrap_or(arrow);
        let s = first.span.start;
        Ok(LinkV {
            span: Span::new(s, end.max(s)),
            id,
            start,
            arrow,
            label,
            stroke,
            arrow_start,
            arrow_end,
            length,
            edge_type,
        })
    }

    /// `|text|` after a link: text tokens or one string, then the closing `|`.
    fn edge_pipe_label(&mut self, open: &Tok) -> PResult<LabelV<'a>> {
        let label = self.label(open, "edge label")?;
        if self.cur.t != T::Pipe {
            let cur = self.cur;
            let open_span = self.tok_span(open);
            let loc = Location::of(self.src, open_span.start);
            let d = if matches!(cur.t, T::Done | T::Eof) {
                Diagnostic::parse(open_span, "this edge label `|` is never closed")
            } else {
                Diagnostic::parse(
                    self.tok_span(&cur),
                    format!(
                        "unexpected {} in the edge label opened with `|` at line {}, column {}",
                        self.describe(&cur),
                        loc.line,
                        loc.column
                    ),
                )
            }
            .with_hint(
                "close the label with `|`, and quote it to use brackets: `A -->|\"a (b)\"| B`",
            );
            return Err(self.fail(d));
        }
        Ok(label)
    }

    /// The text of `-- text -->`: edge-text characters or one string, then
    /// the closing arrow (same stroke).
    fn edge_inline_label(&mut self, open: &Tok) -> PResult<LabelV<'a>> {
        let label = match self.cur.t {
            T::Str | T::MdStr => self.string_label()?,
            T::EdgeText => {
                let s = self.cur.s;
                let mut e = self.cur.e;
                let mut owned: Option<String> = None;
                let mut run = (self.cur.s, self.cur.e);
                loop {
                    match self.lx.next() {
                        Ok(t) => self.cur = t,
                        Err(err) => return Err(self.unclosed_inline(open, Some(err.at))),
                    }
                    if self.cur.t != T::EdgeText {
                        break;
                    }
                    if self.cur.s == run.1 {
                        run.1 = self.cur.e;
                    } else {
                        owned
                            .get_or_insert_with(String::new)
                            .push_str(&self.text[run.0..run.1]);
                        run = (self.cur.s, self.cur.e);
                    }
                    e = self.cur.e;
                }
                let last: &'a str = &self.text[run.0..run.1];
                let text = match owned {
                    Some(mut t) => {
                        t.push_str(last);
                        Cow::Owned(decode_entities(&t))
                    }
                    None => decoded(last),
                };
                LabelV {
                    span: self.span(s, e),
                    kind: LabelType::Text,
                    text,
                }
            }
            _ => return Err(self.unexpected("the text of the link label")),
        };
        if self.cur.t != T::Link {
            if matches!(self.cur.t, T::Done | T::Eof) {
                return Err(self.unclosed_inline(open, None));
            }
            return Err(self.unexpected("the closing arrow of the link label (`-->`, `---`, …)"));
        }
        Ok(label)
    }

    fn unclosed_inline(&mut self, open: &Tok, lex_at: Option<usize>) -> Diagnostic {
        let open_text = self.text_of(open).trim().to_string();
        let span = self.trimmed_span(open);
        let stroke = if open_text.contains('=') {
            "=="
        } else if open_text.contains('.') {
            "-."
        } else {
            "--"
        };
        let line_end = self.text[open.e..]
            .find('\n')
            .map_or(self.text.len(), |i| open.e + i);
        let rest = &self.text[open.e..line_end];
        let others: &[(&str, &str)] = &[
            ("==>", "=="),
            ("===", "=="),
            (".->", "-."),
            ("-.-", "-."),
            ("-->", "--"),
            ("---", "--"),
        ];
        let mismatch = others
            .iter()
            .find(|(arrow, st)| *st != stroke && rest.contains(arrow));
        let (msg, hint) = match (mismatch, lex_at) {
            (Some((arrow, _)), _) => (
                format!(
                    "the link label opened with `{open_text}` cannot be closed by `{arrow}`: the strokes differ"
                ),
                format!(
                    "use the same stroke on both sides: `A {stroke} text {} B`",
                    closing_for(stroke)
                ),
            ),
            (None, Some(_)) => (
                format!("the link label opened with `{open_text}` is never closed"),
                format!(
                    "end the label with an arrow: `A {stroke} text {} B` (or `---` for no head)",
                    closing_for(stroke)
                ),
            ),
            (None, None) => (
                format!("the link label opened with `{open_text}` runs to the end of the file"),
                format!(
                    "end the label with an arrow: `A {stroke} text {} B`",
                    closing_for(stroke)
                ),
            ),
        };
        let d = Diagnostic::parse(span, msg).with_hint(hint);
        self.fail(d)
    }

    fn subgraph_open(&mut self) -> PResult<()> {
        let kw = self.cur;
        self.bump()?;
        let header = match self.cur.t {
            t if is_separator(t) => {
                self.bump()?;
                SubgraphHeader::Anonymous
            }
            T::Space => {
                self.bump()?;
                let title = self.title_no_tags()?;
                let header = if self.cur.t == T::Sqs {
                    let open = self.cur;
                    self.bump()?;
                    let id = title.text.trim().to_string();
                    let inner = self.label(&open, &id)?;
                    self.close(T::Sqe, &open, &id)?;
                    SubgraphHeader::IdTitle {
                        id: title,
                        title: inner.to_ast(self.src),
                    }
                } else {
                    SubgraphHeader::Text(title)
                };
                if !is_separator(self.cur.t) {
                    let mut f = self.unexpected("a new line after the subgraph title");
                    f = f.with_hint(
                        "a subgraph title is an id, bare words, a \"quoted title\", or `id [title]`",
                    );
                    return Err(f);
                }
                self.bump()?;
                header
            }
            _ => {
                return Err(self.unexpected("a blank and a title, or a new line, after `subgraph`"));
            }
        };
        self.open.push(kw);
        let span = self.tok_span(&kw);
        self.sink.open_subgraph(span, header);
        Ok(())
    }

    /// mermaid's `textNoTags`: one string, or a run of word-ish tokens
    /// (blanks and even keywords included), concatenated as the lexer saw them.
    fn title_no_tags(&mut self) -> PResult<Label> {
        match self.cur.t {
            T::Str | T::MdStr => {
                let t = self.cur;
                let (kind, close_len) = if t.t == T::Str {
                    (LabelType::String, 1)
                } else {
                    (LabelType::Markdown, 2)
                };
                let end = (t.e + close_len).min(self.text.len());
                let span = self.span(t.aux.min(t.s), end);
                let text = decode_entities(self.text_of(&t));
                self.bump()?;
                Ok(Label {
                    span,
                    kind,
                    raw: self.source(span),
                    text,
                })
            }
            t if is_title_token(t) && t != T::Space => {
                let s = self.cur.s;
                let mut e = self.cur.e;
                let mut text = String::new();
                while is_title_token(self.cur.t) {
                    text.push_str(self.text_of(&self.cur));
                    e = self.cur.e;
                    self.bump()?;
                }
                let span = self.span(s, e);
                Ok(Label {
                    span,
                    kind: LabelType::Text,
                    raw: self.source(span),
                    text: decode_entities(&text),
                })
            }
            _ => Err(self.unexpected("a subgraph id or title")),
        }
    }

    fn subgraph_close(&mut self) -> PResult<()> {
        let end = self.cur;
        let Some(keyword) = self.open.pop() else {
            let span = self.span(end.s, end.s + 3);
            let mut d = Diagnostic::parse(span, "`end` without a matching `subgraph`");
            d = d.with_hint(keyword_hint("end"));
            return Err(self.fail(d));
        };
        self.bump()?;
        let end_span = self.span(end.s, end.s + 3);
        let kw_span = self.tok_span(&keyword);
        self.sink.close_subgraph(kw_span.join(end_span), end_span)
    }

    fn acc_title(&mut self) -> PResult<()> {
        let kw = self.cur;
        self.bump()?;
        let v = self.expect(T::AccTitleValue, "the accessible title")?;
        let span = self.span(kw.s, v.e);
        let text = self.text_of(&v).to_string();
        self.emit(Statement::AccTitle(AccTitle { span, text }))
    }

    fn acc_descr(&mut self) -> PResult<()> {
        let kw = self.cur;
        self.bump()?;
        let v = self.expect(T::AccDescrValue, "the accessible description")?;
        let span = self.span(kw.s, v.e);
        let text = self.text_of(&v).to_string();
        self.emit(Statement::AccDescr(AccDescr {
            span,
            text,
            multiline: false,
        }))
    }

    /// A keyword followed by the blank the grammar requires; a missing blank
    /// usually means the keyword was meant as a node id (`style-node`).
    fn keyword_space(&mut self, kw: &Tok) -> PResult<()> {
        if self.cur.t == T::Space {
            return self.bump();
        }
        let word = self.text_of(kw).trim().to_string();
        let mut f = self.unexpected(&format!("a blank after `{word}`"));
        if self.cur.s == kw.e && !matches!(self.cur.t, T::Newline | T::Eof | T::Done | T::Semi) {
            f.span = self.tok_span(kw).join(f.span);
            f = f.with_hint(keyword_hint(&word));
        }
        Err(f)
    }

    fn styles(&mut self) -> PResult<Vec<String>> {
        let mut styles = Vec::new();
        let mut cur = String::new();
        loop {
            match self.cur.t {
                t if is_style_token(t) => {
                    cur.push_str(self.text_of(&self.cur));
                    self.bump()?;
                }
                T::Comma if !cur.is_empty() => {
                    styles.push(std::mem::take(&mut cur));
                    self.bump()?;
                }
                _ => break,
            }
        }
        if cur.is_empty() {
            let mut f = self.unexpected("a style such as `fill:#f9f`");
            if matches!(
                self.cur.t,
                T::Ps | T::Str | T::TagEnd | T::TagStart | T::Mult | T::Amp
            ) {
                f = f.with_hint("style values may not contain `(`, quotes, `<`, `>`, `*` or `&`; use `#rrggbb` colours");
            }
            return Err(f);
        }
        styles.push(decode_entities(&cur));
        if !is_separator(self.cur.t) {
            let mut f = self.unexpected("`,` or the end of the style list");
            if f.hint.is_none()
                && matches!(
                    self.cur.t,
                    T::Ps | T::Str | T::TagEnd | T::TagStart | T::Mult | T::Amp | T::UnicodeText
                )
            {
                f = f.with_hint(
                    "style values may only use letters, digits, `#`, `:`, `-`, `.`, `%` and blanks; use `#rrggbb` colours instead of `rgb(…)`",
                );
            }
            return Err(f);
        }
        Ok(styles)
    }

    /// Hands a statement to the sink, then consumes its separator.
    fn end_statement(&mut self, span: Span, st: Statement) -> PResult<()> {
        debug_assert!(span.start <= span.end, "statement span is ordered");
        self.emit(st)?;
        self.bump()
    }

    fn style(&mut self) -> PResult<()> {
        let kw = self.cur;
        self.bump()?;
        self.keyword_space(&kw)?;
        let id = self.id_string("a node id after `style`")?;
        self.expect(T::Space, "a blank before the styles")?;
        let styles = self.styles()?;
        let span = self.span(kw.s, self.cur.s);
        self.end_statement(
            span,
            Statement::Style(Style {
                span: trim_span(self.src, span),
                id,
                styles,
            }),
        )
    }

    fn class_def(&mut self) -> PResult<()> {
        let kw = self.cur;
        self.bump()?;
        self.keyword_space(&kw)?;
        let names = self.id_string("a class name after `classDef`")?;
        self.expect(T::Space, "a blank before the styles")?;
        let styles = self.styles()?;
        let span = self.span(kw.s, self.cur.s);
        self.end_statement(
            span,
            Statement::ClassDef(ClassDef {
                span: trim_span(self.src, span),
                names,
                styles,
            }),
        )
    }

    fn class_assign(&mut self) -> PResult<()> {
        let kw = self.cur;
        self.bump()?;
        self.keyword_space(&kw)?;
        let ids = self.id_string("node ids after `class`")?;
        self.expect(T::Space, "a blank before the class name")?;
        let class = self.id_string("a class name")?;
        if !is_separator(self.cur.t) {
            return Err(self.unexpected("the end of the `class` statement"));
        }
        let span = self.span(kw.s, self.cur.s);
        self.end_statement(
            span,
            Statement::Class(ClassAssign {
                span: trim_span(self.src, span),
                ids,
                class,
            }),
        )
    }

    fn link_style(&mut self) -> PResult<()> {
        let kw = self.cur;
        self.bump()?;
        self.keyword_space(&kw)?;
        let targets = if self.cur.t == T::Default {
            let span = self.tok_span(&self.cur);
            self.bump()?;
            LinkStyleTargets::Default(span)
        } else {
            let mut list = Vec::new();
            loop {
                let n = self.expect(T::Num, "an edge number or `default`")?;
                let digits = self.text_of(&n);
                let value = digits.parse::<usize>().unwrap_or(usize::MAX);
                list.push(LinkIndex {
                    span: self.tok_span(&n),
                    value,
                });
                if self.cur.t != T::Comma {
                    break;
                }
                self.bump()?;
            }
            LinkStyleTargets::Indices(list)
        };
        self.expect(T::Space, "a blank after the edge numbers")?;
        let mut interpolate = None;
        let mut styles = Vec::new();
        if self.cur.t == T::Interpolate {
            self.bump()?;
            self.expect(T::Space, "a blank after `interpolate`")?;
            if !is_alnum_token(self.cur.t) {
                return Err(self.unexpected("a curve name (basis, linear, …)"));
            }
            let s = self.cur.s;
            let mut e = self.cur.e;
            while is_alnum_token(self.cur.t) {
                e = self.cur.e;
                self.bump()?;
            }
            interpolate = Some(Ident {
                span: self.span(s, e),
                text: self.text[s..e].to_string(),
            });
            if self.cur.t == T::Space {
                self.bump()?;
                styles = self.styles()?;
            }
        } else {
            styles = self.styles()?;
        }
        if !is_separator(self.cur.t) {
            return Err(self.unexpected("the end of the `linkStyle` statement"));
        }
        let span = self.span(kw.s, self.cur.s);
        self.end_statement(
            span,
            Statement::LinkStyle(LinkStyle {
                span: trim_span(self.src, span),
                targets,
                interpolate,
                styles,
            }),
        )
    }

    fn quoted(&self, t: &Tok) -> Quoted {
        let end = (t.e + 1).min(self.text.len());
        Quoted {
            span: self.span(t.aux.min(t.s), end),
            text: decode_entities(self.text_of(t)),
        }
    }

    fn click(&mut self) -> PResult<()> {
        let kw = self.cur;
        let id = Ident {
            span: self.tok_span(&kw),
            text: self.text_of(&kw).to_string(),
        };
        self.bump()?;
        let mut tooltip = None;
        let mut target = None;
        let action =
            match self.cur.t {
                T::CallbackName => {
                    let n = self.cur;
                    let parens = self.text.as_bytes().get(n.e) == Some(&b'(');
                    self.bump()?;
                    let mut args = parens.then(|| Ident {
                        span: self.span(n.e, n.e),
                        text: String::new(),
                    });
                    if self.cur.t == T::CallbackArgs {
                        let a = self.cur;
                        args = Some(Ident {
                            span: self.tok_span(&a),
                            text: self.text_of(&a).to_string(),
                        });
                        self.bump()?;
                    }
                    if self.cur.t == T::Space {
                        self.bump()?;
                        let s = self.expect(T::Str, "a quoted tooltip")?;
                        tooltip = Some(self.quoted(&s));
                    }
                    ClickAction::Callback {
                        name: Ident {
                            span: self.trimmed_span(&n),
                            text: self.text_of(&n).to_string(),
                        },
                        args,
                        call: true,
                    }
                }
                T::Href | T::Str => {
                    let href = self.cur.t == T::Href;
                    if href {
                        self.bump()?;
                    }
                    let url = self.expect(T::Str, "a quoted URL")?;
                    let url = self.quoted(&url);
                    if self.cur.t == T::Space {
                        self.bump()?;
                        if self.cur.t == T::Str {
                            let s = self.cur;
                            tooltip = Some(self.quoted(&s));
                            self.bump()?;
                            if self.cur.t == T::Space {
                                self.bump()?;
                                let t = self.expect(
                                    T::LinkTarget,
                                    "a link target (`_blank`, `_self`, `_parent`, `_top`)",
                                )?;
                                target = Some(Ident {
                                    span: self.tok_span(&t),
                                    text: self.text_of(&t).to_string(),
                                });
                            }
                        } else {
                            let t = self.expect(T::LinkTarget, "a tooltip or a link target")?;
                            target = Some(Ident {
                                span: self.tok_span(&t),
                                text: self.text_of(&t).to_string(),
                            });
                        }
                    }
                    ClickAction::Link { url, href }
                }
                t if is_alnum_token(t) => {
                    let s = self.cur.s;
                    let mut e = self.cur.e;
                    while is_alnum_token(self.cur.t) {
                        e = self.cur.e;
                        self.bump()?;
                    }
                    if self.cur.t == T::Space {
                        self.bump()?;
                        let s = self.expect(T::Str, "a quoted tooltip")?;
                        tooltip = Some(self.quoted(&s));
                    }
                    ClickAction::Callback {
                        name: Ident {
                            span: self.span(s, e),
                            text: self.text[s..e].to_string(),
                        },
                        args: None,
                        call: false,
                    }
                }
                _ => return Err(self.unexpected(
                    "`href \"url\"`, `\"url\"`, `call fn()` or a callback name after the node id",
                )),
            };
        if !is_separator(self.cur.t) {
            return Err(self.unexpected("the end of the `click` statement"));
        }
        let span = self.span(kw.s, self.cur.s);
        let span = trim_span(self.src, span);
        self.end_statement(
            span,
            Statement::Click(Click {
                span,
                id,
                action,
                tooltip,
                target,
            }),
        )
    }
}

/// `s` without JavaScript blanks at either end (ASCII fast path).
fn trim_blanks(s: &str) -> &str {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() && (b[i].is_ascii_whitespace() || b[i] == 0x0B) {
        i += 1;
    }
    let mut j = b.len();
    while j > i && (b[j - 1].is_ascii_whitespace() || b[j - 1] == 0x0B) {
        j -= 1;
    }
    let inner = &s[i..j];
    if inner.as_bytes().first().is_some_and(|&c| c >= 0x80)
        || inner.as_bytes().last().is_some_and(|&c| c >= 0x80)
    {
        inner.trim_matches(prep::is_js_space)
    } else {
        inner
    }
}

/// `text` with mermaid's entity placeholders restored, borrowed when there
/// are none.
fn decoded(text: &str) -> Cow<'_, str> {
    // Both placeholders are non-ASCII; plain ASCII labels skip the search.
    if text.bytes().any(|b| b >= 0x80) && (text.contains('ﬂ') || text.contains('¶')) {
        Cow::Owned(decode_entities(text))
    } else {
        Cow::Borrowed(text)
    }
}

/// A span without trailing blanks (statements end where their separator starts).
fn trim_span(src: &str, span: Span) -> Span {
    let raw = src.get(span.start..span.end).unwrap_or("");
    let trimmed = raw.trim_end();
    Span::new(span.start, span.start + trimmed.len())
}

fn closing_for(stroke: &str) -> &'static str {
    match stroke {
        "==" => "==>",
        "-." => ".->",
        _ => "-->",
    }
}

/// The hint for a keyword used where a node id was meant.
fn keyword_hint(word: &str) -> String {
    let word: String = word
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    let mut cap = word.clone();
    if let Some(first) = cap.get_mut(..1) {
        first.make_ascii_uppercase();
    }
    if word.starts_with('_') {
        cap = word.trim_start_matches('_').to_string();
    }
    format!(
        "`{word}` is a keyword: quote the label or rename the node (e.g. `{cap}`, or `n1[\"{word}\"]`)"
    )
}

#[cfg(test)]
mod tests;
