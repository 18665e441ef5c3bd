//! The canonical Mermaid printer: one [`ast::Document`] in, one canonical
//! flowchart text out. `eda-studio fmt` and the designer's save both go
//! through here, so the style is chosen for line-based diffs.
//!
//! # Canonical style
//! - Frontmatter (`---` YAML `---`), `%%{init}%%` directives and `%%`
//!   comments are kept where they were, verbatim (comments lose trailing
//!   blanks and are indented like the statements around them).
//! - The header is `keyword direction` (`graph TD`, `flowchart LR`); the
//!   arrow forms `>` `<` `^` `v` (and mermaid's `BR`) are spelled out as
//!   `LR` `RL` `BT` `TB`. `TD` stays `TD`.
//! - One statement per line, no `;` (but for the guards below), statements
//!   in the document's own order (edge order is what `linkStyle N` counts,
//!   node order is first mention). Top-level statements start at column 0;
//!   each subgraph level indents by 4 spaces, capped at
//!   [`MAX_INDENT_LEVELS`] so absurd nesting still prints in linear size.
//! - Links are built from what they mean (stroke, ends, length), with one
//!   space either side: `A --> B`, `A -.-> B`, `A <==> B`, `A ~~~ B`. The
//!   space after a link keeps `A --- ops` from becoming `A ---o ps`.
//! - Edge labels use the pipe form `A -->|label| B`; an inline label
//!   (`A -- label --> B`) is rewritten to it unless its text could not be
//!   read back inside pipes (brackets, `|`, `"`, `~~~`), then it stays inline
//!   as `A -- label --> B`.
//! - `&` is written ` & `, `:::` hugs its node (`A:::cls`), `@{ … }` hugs its
//!   node with one space inside the braces; a multi-line `@{` body is kept
//!   verbatim (it is YAML). An edge id right after an `@{ … }` block is
//!   glued to it (`A@{ shape: rect }e1@--> B`): mermaid allows no blank there.
//! - Labels keep their kind: unquoted text stays unquoted (blanks at its ends
//!   dropped when that cannot change how it lexes), `"strings"` and
//!   ``"`markdown`"`` keep their quotes; the text inside is never touched, so
//!   entities like `#quot;` and line breaks in markdown stay as written.
//! - `subgraph id [title]`, `subgraph title`, `subgraph`; `end` at the
//!   subgraph's own indentation.
//! - `style`, `classDef`, `class`, `linkStyle`, `click`, `accTitle`,
//!   `accDescr` with single spaces between their parts; style pieces are
//!   kept as written and joined with `,`.
//! - Blank lines: with [`print_document_with_source`], one blank line is kept
//!   wherever the user had one or more between two statements of the same
//!   block (never right after a header or before `end`); [`print_document`],
//!   which has no source text, prints none.
//! - A statement line that ends in `direction` (say a node `mydirection`)
//!   gets a `;`: mermaid would otherwise read it and a next line starting
//!   with `LR…` as one `direction` statement. Likewise a line ending in a
//!   node, class or callback named `click`, `call` or `href` (which are
//!   keywords when a blank follows), and a link after such a node hugs it
//!   (`click--> B`).
//! - A line that mermaid's `style.*:\S*#.*;` pre-pass would strip a `;`
//!   from gets one more `;` for it to strip.
//! - A statement starting with a node id `%%…` is written `;%%…`, so it is
//!   not read as a comment line.
//! - Comments and directives inside text copied verbatim (a label, an
//!   `@{ … }` body, a quoted click argument) stay there and are not repeated
//!   on their own line. A label's blanks are trimmed, but never a line break.
//! - A subgraph title that is one word plus trailing blanks is written
//!   `subgraph A ;`: the blank is what gives it an automatic id.
//! - Mermaid's lexer tries `.*direction\s+XX` wherever a token starts (but
//!   after keywords such as `accTitle`): a chain whose link would start on
//!   a line holding `direction LR` puts each link on a line of its own (a
//!   link takes the line break before it), with labels that hold it in the
//!   inline form; a keyword line holding it is not indented.
//! - A `>text]` label whose first word holds `@` gets a blank after `>`, so
//!   `A>x@ y]` does not start with an edge id `A>x@`.
//! - A line ending in `%%{` gets a `;` (on a line of its own after
//!   `accTitle`/`accDescr`), so the next line's first word does not make it
//!   a directive. A comment of blanks only is dropped (a bare `%%` is a node).
//! - The text ends with exactly one newline.
//!
//! The printer never recurses: subgraphs are walked with an explicit stack,
//! and everything is appended to one pre-sized `String`.

use super::ast::{
    AccDescr, BracketShape, Chain, ClassAssign, ClassDef, Click, ClickAction, Document,
    EdgeLabelForm, Header, Item, Label, Link, LinkStyle, LinkStyleTargets, NodeGroup, NodeRef,
    Quoted, Statement, Style, Subgraph, SubgraphHeader,
};
use super::diagnostics::Span;
use super::flow::{Arrow, Direction, LabelType, Stroke};
use super::prep::{is_js_line_end, is_js_space};

/// Deepest subgraph level that still gets its own indentation; deeper levels
/// print at this indentation, so output size stays linear in the input.
pub const MAX_INDENT_LEVELS: usize = 16;

/// Spaces per subgraph level.
const INDENT: &str = "    ";

/// Prints `doc` as canonical Mermaid text (see the module docs for the style).
///
/// Without the source text the printer cannot tell where the user left blank
/// lines, so it prints none; use [`print_document_with_source`] to keep them.
pub fn print_document(doc: &Document) -> String {
    Printer::new(doc, None).print(doc)
}

/// Prints `doc` as canonical Mermaid text, keeping single blank lines where
/// `src` (the text `doc` was parsed from) had blank lines between statements.
///
/// Spans that do not fit `src` are treated as "no blank line", so a document
/// edited after parsing still prints.
pub fn print_document_with_source(doc: &Document, src: &str) -> String {
    Printer::new(doc, Some(src)).print(doc)
}

/// The spelling of a link's arrow token for its stroke, end markers and
/// length: `-->`, `---`, `-.->`, `==>`, `~~~`, `<-->`, `o--o`, `x==x`, ….
///
/// Mermaid cannot express a start marker without an end marker; such a link
/// is printed with its start marker dropped (it cannot come from parsing).
pub fn link_token(stroke: Stroke, start: Arrow, end: Arrow, length: usize) -> String {
    let mut out = String::with_capacity(length + 4);
    push_link_token(&mut out, stroke, start, end, length);
    out
}

/// Whether `id` can be printed as a node id in any position (statement
/// start, after a link, in an `&` group, before `:::`, at the end of a line)
/// and read back as exactly that id. Conservative, for code that makes up
/// ids (the designer): ASCII letters, digits and `_`, with `-` or `.` only
/// between them, and none of mermaid's keyword traps (`end`, `end-x`,
/// `style…`, `class…`, `1class`, `…direction`, …).
///
/// Ids that fail may still be valid Mermaid in some positions (`用户`,
/// `svc-pay`'s cousins); parsed ids are printed as written whatever this says.
pub fn is_plain_id(id: &str) -> bool {
    let bytes = id.as_bytes();
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let Some(&first) = bytes.first() else {
        return false;
    };
    if !word(first) || !bytes.last().copied().is_some_and(word) {
        return false;
    }
    let chars_ok = bytes.iter().enumerate().all(|(i, &b)| {
        word(b) || (matches!(b, b'-' | b'.') && bytes.get(i + 1).copied().is_some_and(word))
    });
    if !chars_ok || id.contains("direction") {
        return false;
    }
    // Mermaid lexes a leading digit run as its own token, so `1class` starts
    // a `class` keyword just like `class1` does.
    let rest = id.trim_start_matches(|c: char| c.is_ascii_digit());
    const KEYWORD_PREFIXES: [&str; 16] = [
        "style",
        "linkStyle",
        "interpolate",
        "classDef",
        "class",
        "click",
        "call",
        "href",
        "graph",
        "flowchart",
        "subgraph",
        "accTitle",
        "accDescr",
        "_self",
        "_blank",
        "_parent",
    ];
    if KEYWORD_PREFIXES.iter().any(|k| rest.starts_with(k)) || rest.starts_with("_top") {
        return false;
    }
    // `end` is a keyword only as a whole word: `endpoint` is fine, `end-x` is not.
    match rest.strip_prefix("end") {
        Some(after) => after.as_bytes().first().copied().is_some_and(word),
        None => true,
    }
}

struct Printer<'s> {
    out: String,
    src: Option<&'s str>,
    /// Source spans the printer has copied verbatim (labels, `@{ … }`
    /// bodies), in source order: a comment or directive inside one of them
    /// is already in the output and must not be printed again.
    verbatim: Vec<Span>,
    /// Source text the statement being printed copied, as (offset in `out`,
    /// offset in the source, length): where mermaid's `style …;` pre-pass
    /// dropped a `;` inside such text, the printed line must lose it too.
    pieces: Vec<(usize, usize, usize)>,
    /// Source offsets of the `;` mermaid's `style …;` pre-pass dropped,
    /// from the preprocessing (which knows what was cut before it ran),
    /// worked out the first time a copied piece needs them.
    style_drops: std::cell::OnceCell<Vec<usize>>,
}

/// One open block on the explicit stack: its items still to print, its depth,
/// where the previous sibling started (for blank lines), and whether it is a
/// subgraph body (closed by `end`).
struct Frame<'a> {
    items: std::slice::Iter<'a, Item>,
    depth: usize,
    prev_start: Option<usize>,
    subgraph: bool,
}

impl<'s> Printer<'s> {
    fn new(doc: &Document, src: Option<&'s str>) -> Self {
        let len = doc.span.end.saturating_sub(doc.span.start);
        Printer {
            // Room for the indentation and spaces canonical form adds.
            out: String::with_capacity(len + len / 4 + 64),
            src,
            verbatim: Vec::new(),
            pieces: Vec::new(),
            style_drops: std::cell::OnceCell::new(),
        }
    }

    fn print(mut self, doc: &Document) -> String {
        if let Some(fm) = &doc.frontmatter {
            self.out.push_str("---\n");
            // Mermaid folds `\r\n?` to `\n` before it cuts the frontmatter.
            let raw = fm.raw.replace("\r\n", "\n").replace('\r', "\n");
            // The line break before the closing `---` is the pattern's, not
            // the block's: a block ending in a blank line keeps it, and an
            // empty block is `---\n\n---` (`---\n---` is no frontmatter).
            self.out.push_str(&raw);
            self.out.push('\n');
            self.out.push_str("---\n");
        }
        let mut prev_start = None;
        for item in &doc.leading {
            if self.skipped(item) {
                continue;
            }
            self.blank_line_between(prev_start, item.span());
            self.items(std::slice::from_ref(item), 0);
            prev_start = Some(item.span().start);
        }
        self.blank_line_between(prev_start, doc.header.span);
        self.header(&doc.header);
        self.items(&doc.items, 0);
        if self.out.is_empty() || !self.out.ends_with('\n') {
            self.out.push('\n');
        }
        self.out
    }

    /// Prints a block of items at `depth` and everything nested in it,
    /// without recursion.
    fn items(&mut self, top: &[Item], depth: usize) {
        let mut stack = vec![Frame {
            items: top.iter(),
            depth,
            prev_start: None,
            subgraph: false,
        }];
        while let Some(frame) = stack.last_mut() {
            let Some(item) = frame.items.next() else {
                if let Some(Frame {
                    depth,
                    subgraph: true,
                    ..
                }) = stack.pop()
                {
                    self.indent(depth.saturating_sub(1));
                    self.out.push_str("end\n");
                }
                continue;
            };
            let depth = frame.depth;
            if self.skipped(item) {
                continue;
            }
            let prev = frame.prev_start.replace(item.span().start);
            self.blank_line_between(prev, item.span());
            if let Item::Statement(Statement::Subgraph(sg)) = item {
                self.subgraph_header(sg, depth);
                stack.push(Frame {
                    items: sg.items.iter(),
                    depth: depth + 1,
                    prev_start: None,
                    subgraph: true,
                });
            } else {
                self.item_line(item, depth);
            }
        }
    }

    /// Emits one blank line when the source had a blank line between the
    /// previous sibling (which started at `prev_start`) and `next`: the
    /// blanks and `;` right before `next` hold two line breaks with no `;`
    /// between them.
    /// Scanning back from `next` rather than forward from the previous
    /// item's end does not depend on whether a span includes the newline
    /// that ends its statement.
    fn blank_line_between(&mut self, prev_start: Option<usize>, next: Span) {
        let (Some(src), Some(floor)) = (self.src, prev_start) else {
            return;
        };
        let Some(before) = src.get(floor..next.start) else {
            return;
        };
        let gap = before
            .bytes()
            .rev()
            .take_while(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b';'))
            .count();
        // A blank line: two line breaks with only blanks between them (a
        // line holding just `;` is not blank).
        let blank = before[before.len() - gap..]
            .split(';')
            .any(|run| run.bytes().filter(|&b| b == b'\n').count() >= 2);
        if blank && !self.out.ends_with("\n\n") {
            self.out.push('\n');
        }
    }

    fn indent(&mut self, depth: usize) {
        for _ in 0..depth.min(MAX_INDENT_LEVELS) {
            self.out.push_str(INDENT);
        }
    }

    /// A non-subgraph item on its own line(s).
    fn item_line(&mut self, item: &Item, depth: usize) {
        if let Item::Statement(Statement::Subgraph(_)) = item {
            self.items(std::slice::from_ref(item), depth);
            return;
        }
        let indent_start = self.out.len();
        self.indent(depth);
        let line_start = self.out.len();
        match item {
            Item::Comment(c) => {
                self.out.push_str("%%");
                self.out.push_str(c.text.trim_end());
                // See the `%%{` guard of statements below.
                if self.out.ends_with("%%{") {
                    self.out.push_str("\n;");
                }
            }
            Item::Directive(d) => self.out.push_str(d.raw.trim()),
            Item::Statement(s) => {
                self.pieces.clear();
                // A node id `%%…` at the start of a line would be a comment.
                if let Statement::Chain(c) = s
                    && c.head
                        .nodes
                        .first()
                        .is_some_and(|n| n.id.text.starts_with("%%"))
                {
                    self.out.push(';');
                }
                self.statement(s, depth);
                let acc = matches!(s, Statement::AccTitle(_) | Statement::AccDescr(_));
                self.end_line(line_start, !acc);
                // A `%%{` at the end of the line would make a directive of
                // the next line's first word: a `;` comes first.
                if self.out.trim_end_matches(is_js_space).ends_with("%%{") {
                    self.out.push_str(if acc { "\n;" } else { ";" });
                }
                if !matches!(s, Statement::Direction(_)) {
                    self.unindent_keyword_line(indent_start, line_start);
                }
            }
        }
        self.out.push('\n');
    }

    /// Mermaid's lexer tries `.*direction\s+XX` at every token start before
    /// most rules, but after the keywords (`accTitle`, `style`, `subgraph`,
    /// …): at the start of a line the keyword wins, after indentation the
    /// blank starts a `direction` token. A line holding `direction XX`
    /// therefore starts at column 0.
    fn unindent_keyword_line(&mut self, indent_start: usize, line_start: usize) {
        if line_start > indent_start && direction_on_line(&self.out[line_start..]) {
            self.out.replace_range(indent_start..line_start, "");
        }
    }

    /// Ends a statement's line with the `;` terminators its text needs:
    ///
    /// - Mermaid's lexer reads `…direction` + blanks + `LR…` as a `direction`
    ///   statement even across a line break, so a line ending in `direction`
    ///   (an id `mydirection`, a class name) before a line starting with
    ///   `LR1` would change meaning once `;` became a newline.
    /// - `click`, `call` and `href` followed by a blank (a line break too)
    ///   are keywords, so a node or class named `click` ends its line with `;`.
    /// - Mermaid's `style.*:\S*#.*;` / `classDef…` pre-pass drops the last
    ///   `;` of a matching line; enough `;` are added that the pre-pass drops
    ///   those and leaves the text as the source's line left it.
    ///
    /// `separate` is off for `accTitle`/`accDescr`, whose value runs to the
    /// end of the line.
    fn end_line(&mut self, line_start: usize, separate: bool) {
        // (Not after `#word`, where `;` would make an entity of it.)
        let entity = self
            .out
            .trim_end_matches(|c: char| c.is_ascii_alphanumeric() || c == '_')
            .ends_with('#');
        if separate
            && !entity
            && (self.out.ends_with("direction") || ends_with_blank_keyword(&self.out))
        {
            self.out.push(';');
        }
        let from = self.out[line_start..]
            .rfind(is_js_line_end)
            .map_or(line_start, |i| {
                let c = self.out[line_start + i..].chars().next().unwrap_or('\n');
                line_start + i + c.len_utf8()
            });
        self.guard_style_semicolons(from);
    }

    /// Appends the `;` that make mermaid's `style`/`classDef` semicolon
    /// pre-pass leave the line starting at `from` as the source's pre-pass
    /// left its text (see [`Self::end_line`]).
    fn guard_style_semicolons(&mut self, from: usize) {
        let line = &self.out[from..];
        if !line.contains(';') {
            return;
        }
        // What mermaid must see: the line, less the `;` the pre-pass
        // dropped from the source inside text copied from it.
        let dropped = self.dropped_semicolons(from);
        let expected: String = line
            .char_indices()
            .filter(|(i, _)| !dropped.contains(&(from + i)))
            .map(|(_, c)| c)
            .collect();
        // Failing that (the `;` the source's line lost is not the last on
        // the printed line), the line is printed as mermaid saw it.
        // Mermaid cuts directives before the pre-pass: it runs on what
        // is left of the line (a `style` inside a directive is no match).
        let expected_view = directives_cut(&expected);
        for text in [line.to_string(), expected.clone()] {
            let mut candidate = text.clone();
            for k in 0..=2 {
                if style_pre_pass(&directives_cut(&candidate)) == expected_view {
                    self.out.truncate(from);
                    self.out.push_str(&text);
                    for _ in 0..k {
                        self.out.push(';');
                    }
                    return;
                }
                candidate.push(';');
            }
        }
    }

    /// Offsets in `out` (at or after `from`) of `;` in copied source text
    /// that mermaid's `style …;` pre-pass dropped from the source.
    fn dropped_semicolons(&self, from: usize) -> Vec<usize> {
        let mut dropped = Vec::new();
        let Some(src) = self.src else {
            return dropped;
        };
        if self
            .pieces
            .iter()
            .all(|&(out_at, _, len)| out_at + len <= from)
        {
            return dropped;
        }
        let drops = self
            .style_drops
            .get_or_init(|| super::prep::prepare(src).style_drops);
        for &(out_at, src_at, len) in &self.pieces {
            if out_at + len <= from {
                continue;
            }
            let first = drops.partition_point(|&d| d < src_at);
            for &at in drops[first..].iter().take_while(|&&d| d < src_at + len) {
                if out_at + (at - src_at) >= from {
                    dropped.push(out_at + (at - src_at));
                }
            }
        }
        dropped
    }

    /// Whether `item` is not printed: a comment or directive already copied
    /// inside a label, or a comment of blanks only (which, its trailing
    /// blanks dropped, would be a bare `%%`: a node, not a comment).
    fn skipped(&self, item: &Item) -> bool {
        match item {
            Item::Comment(c) if c.text.trim_end().is_empty() => true,
            Item::Comment(_) | Item::Directive(_) => self.is_verbatim(item.span()),
            Item::Statement(_) => false,
        }
    }

    /// Whether `span` lies inside source text already copied to the output.
    fn is_verbatim(&self, span: Span) -> bool {
        if span.end <= span.start {
            return false;
        }
        let i = self.verbatim.partition_point(|v| v.start <= span.start);
        self.verbatim[..i]
            .iter()
            .rev()
            .take(4)
            .any(|v| span.start >= v.start && span.end <= v.end)
    }

    /// Notes that `out[out_at..]` was copied from the source at `span`
    /// (which holds `raw`).
    fn copied_from(&mut self, span: Span, raw: &str, out_at: usize) {
        if let Some(src) = self.src {
            let Some(text) = src.get(span.start..span.end) else {
                return;
            };
            if !text.contains(raw) {
                return;
            }
            let copy = self.out.get(out_at..).unwrap_or_default();
            if let Some(i) = text.find(copy) {
                self.pieces.push((out_at, span.start + i, copy.len()));
            }
        }
        if span.end > span.start {
            self.verbatim.push(span);
        }
    }

    fn header(&mut self, header: &Header) {
        self.out.push_str(header.keyword.as_str());
        if let Some(dir) = &header.direction {
            self.out.push(' ');
            let text = match dir.text.as_str() {
                t @ ("TB" | "TD" | "BT" | "LR" | "RL") => t,
                // `>`, `<`, `^`, `v`, `BR`: spell out what mermaid made of it.
                _ => match dir.direction {
                    Direction::TD => "TB",
                    d => d.as_str(),
                },
            };
            self.out.push_str(text);
        }
        self.out.push('\n');
    }

    fn subgraph_header(&mut self, sg: &Subgraph, depth: usize) {
        let indent_start = self.out.len();
        self.indent(depth);
        let line_start = self.out.len();
        self.pieces.clear();
        self.out.push_str("subgraph");
        match &sg.header {
            SubgraphHeader::Anonymous => {}
            SubgraphHeader::Text(label) => {
                self.out.push(' ');
                let trimmed = label.raw.trim();
                let at = self.out.len();
                self.out.push_str(trimmed);
                self.copied_from(label.span, &label.raw, at);
                // Mermaid gives a title with a blank in it an automatic id:
                // keep a trailing blank (before a `;`, so editors keep it).
                if !trimmed.contains(is_js_space) && label.raw.trim_start().len() > trimmed.len() {
                    self.out.push_str(" ;");
                }
            }
            SubgraphHeader::IdTitle { id, title } => {
                self.out.push(' ');
                let at = self.out.len();
                self.out.push_str(id.raw.trim());
                self.copied_from(id.span, &id.raw, at);
                // `click`, `call`, `href` + a blank are keywords: an id
                // ending in one keeps its bracket glued, as written.
                if !ends_with_blank_keyword(&self.out) {
                    self.out.push(' ');
                }
                self.out.push('[');
                self.label_in_brackets(title);
                self.out.push(']');
            }
        }
        if !self.out.ends_with(';') {
            self.end_line(line_start, true);
        }
        self.unindent_keyword_line(indent_start, line_start);
        self.out.push('\n');
    }

    fn statement(&mut self, stmt: &Statement, depth: usize) {
        match stmt {
            Statement::Chain(chain) => {
                let start = self.out.len();
                let marks = (self.verbatim.len(), self.pieces.len());
                let risky = self.chain(chain, None);
                // Mermaid's lexer reads `.*direction\s+XX` as a `direction`
                // token from wherever a token starts, so a link must not
                // start on a line whose rest holds `direction LR` (say in
                // a label): such a chain gets one link per line (a link
                // token takes the line break before it).
                if risky {
                    self.out.truncate(start);
                    self.verbatim.truncate(marks.0);
                    self.pieces.truncate(marks.1);
                    self.chain(chain, Some(depth + 1));
                }
            }
            // `item_line` hands subgraphs to `items`, which walks them.
            Statement::Subgraph(_) => {}
            Statement::Direction(d) => {
                self.out.push_str("direction ");
                self.out.push_str(d.direction.as_str());
            }
            Statement::ClassDef(cd) => self.class_def(cd),
            Statement::Class(c) => self.class_assign(c),
            Statement::Style(s) => self.style(s),
            Statement::LinkStyle(ls) => self.link_style(ls),
            Statement::Click(c) => self.click(c),
            Statement::AccTitle(t) => {
                if !(t.text.contains("%%") && self.acc_as_written(t.span, "accTitle")) {
                    self.out.push_str("accTitle: ");
                    self.out.push_str(t.text.trim());
                }
            }
            Statement::AccDescr(d) => self.acc_descr(d, depth),
        }
    }

    /// A chain on one line, or with `split` each link on a new line at that
    /// depth.
    /// Returns whether a link starts on a line whose rest holds
    /// `direction XX` (see [`Self::statement`]).
    fn chain(&mut self, chain: &Chain, split: Option<usize>) -> bool {
        let mut risky = false;
        self.group(&chain.head);
        let mut prev = &chain.head;
        for step in &chain.links {
            // Mermaid's grammar allows no blank between an `@{ … }` block and
            // an edge id (`A@{ … }e1@--> B`); a plain link absorbs blanks.
            let glued =
                step.link.id.is_some() && prev.nodes.last().is_some_and(|n| n.metadata.is_some());
            // An edge id such as `-->e1` (`A(x)-->e1@--> B`) only reads as
            // one right after a bracket: after a blank `-->` is a link.
            let glued = glued
                || step.link.id.as_ref().is_some_and(|id| {
                    id.text
                        .chars()
                        .next()
                        .is_some_and(|c| !c.is_alphanumeric() && c != '_')
                        && self.out.ends_with([')', ']', '}', '"', '|'])
                });
            // `click`, `call`, `href` + a blank are keywords: a node named
            // so keeps the link glued to it, as it must have been written.
            // A glued `o`/`x` start marker would join the id (`clicko--`):
            // a labelled link carries it on its closing token instead
            // (`click-- text o--o`), which mermaid reads the same.
            let keyword = ends_with_blank_keyword(&self.out) && step.link.id.is_none();
            let marker_on_end = keyword
                && matches!(step.link.arrow_start, Arrow::Circle | Arrow::Cross)
                && step.link.stroke != Stroke::Invisible
                && step.link.label.is_some();
            let keyword = keyword
                && (marker_on_end
                    || !matches!(step.link.arrow_start, Arrow::Circle | Arrow::Cross));
            let at = self.out.len();
            if !glued && !keyword {
                match split {
                    // An edge id cannot start a line.
                    Some(depth) if step.link.id.is_none() => {
                        self.out.push('\n');
                        self.indent(depth);
                    }
                    _ => self.out.push(' '),
                }
            }
            prev = &step.nodes;
            self.link(&step.link, marker_on_end);
            risky |= direction_on_line(&self.out[at..]);
            // Always a space after the link: `A ---ops` would lex as `---o ps`.
            self.out.push(' ');
            self.group(&step.nodes);
        }
        risky
    }

    fn group(&mut self, group: &NodeGroup) {
        for (i, node) in group.nodes.iter().enumerate() {
            if i > 0 {
                self.out.push_str(" & ");
            }
            self.node(node);
        }
    }

    fn node(&mut self, node: &NodeRef) {
        self.out.push_str(&node.id.text);
        if let Some(shape) = &node.shape {
            self.out.push_str(shape.kind.open());
            // `>` does not stop mermaid's edge-id rule (`[^\s"[\](){}|]+@`):
            // `A>x@ y]` would start with an edge id `A>x@`.
            if shape.kind == BracketShape::Odd
                && shape.label.kind == LabelType::Text
                && trimmed_label(&shape.label)
                    .split(|c: char| is_js_space(c) || "\"[](){}|".contains(c))
                    .next()
                    .is_some_and(|w| w.contains('@'))
            {
                self.out.push(' ');
            }
            if let (BracketShape::Rect, Some(props)) = (shape.kind, &shape.props) {
                self.out.push_str(&props.key.text);
                self.out.push(':');
                self.out.push_str(&props.value.text);
                self.out.push('|');
            }
            self.label_in_brackets(&shape.label);
            self.out.push_str(shape.kind.close());
        }
        if let Some(class) = &node.class {
            self.out.push_str(":::");
            self.out.push_str(&class.text);
        }
        if let Some(data) = &node.metadata {
            self.out.push_str("@{");
            let at = self.out.len();
            if data.raw.contains(['\n', '\r']) {
                // YAML: indentation inside is meaningful, keep it as written
                // (a lone CR is a line break to mermaid too).
                self.out.push_str(&data.raw);
            } else {
                let body = data.raw.trim();
                if !body.is_empty() {
                    self.out.push(' ');
                    self.out.push_str(body);
                    self.out.push(' ');
                }
            }
            self.copied_from(data.span, &data.raw, at);
            self.out.push('}');
        }
    }

    /// A label between brackets: quoted kinds trimmed outside their quotes,
    /// plain text trimmed when that cannot change how it lexes.
    fn label_in_brackets(&mut self, label: &Label) {
        let at = self.out.len();
        self.out.push_str(trimmed_label(label));
        self.copied_from(label.span, &label.raw, at);
    }

    /// `marker_on_end`: print the inline form with the start marker on the
    /// closing token (`-- text o--o`), for a link glued to a keyword id.
    fn link(&mut self, link: &Link, marker_on_end: bool) {
        if let Some(id) = &link.id {
            self.out.push_str(&id.text);
            self.out.push('@');
        }
        let Some(label) = &link.label else {
            push_link_token(
                &mut self.out,
                link.stroke,
                link.arrow_start,
                link.arrow_end,
                link.length,
            );
            return;
        };
        let text = trimmed_label(&label.label);
        let pipe_ok = !text.is_empty()
            && (label.label.kind != LabelType::Text || pipe_safe(text))
            // An invisible link has no inline form at all.
            || link.stroke == Stroke::Invisible;
        let text = if text.is_empty() {
            label.label.raw.as_str()
        } else {
            text
        };
        // After a link token mermaid's lexer is back in its initial state,
        // where `|direction LR…` would lex as a `direction` statement; the
        // inline form's text is lexed in a state of its own.
        let inline = has_direction_word(text) && link.stroke != Stroke::Invisible;
        if !marker_on_end && !inline && (pipe_ok || label.form == EdgeLabelForm::Pipe) {
            push_link_token(
                &mut self.out,
                link.stroke,
                link.arrow_start,
                link.arrow_end,
                link.length,
            );
            self.out.push('|');
            let at = self.out.len();
            self.out.push_str(text);
            self.copied_from(label.label.span, &label.label.raw, at);
            self.out.push('|');
        } else {
            let start = if marker_on_end {
                Arrow::None
            } else {
                link.arrow_start
            };
            push_inline_start(&mut self.out, link.stroke, start);
            self.out.push(' ');
            // The opening token takes the blanks after it, line breaks
            // included: printed, they would be gone on the next parse
            // (unless a `%%` comment line needs its line break).
            let rest = text.trim_start_matches(is_js_space);
            let text = if rest.len() < text.len() && !rest.starts_with("%%") {
                rest
            } else {
                text
            };
            let at = self.out.len();
            self.out.push_str(text);
            self.copied_from(label.label.span, &label.label.raw, at);
            self.out.push(' ');
            if marker_on_end && let Some(m) = start_marker(link.arrow_start) {
                self.out.push(m);
            }
            push_inline_end(&mut self.out, link.stroke, link.arrow_end, link.length);
        }
    }

    fn class_def(&mut self, cd: &ClassDef) {
        self.out.push_str("classDef ");
        self.out.push_str(&cd.names.text);
        self.styles(&cd.styles);
    }

    fn class_assign(&mut self, c: &ClassAssign) {
        self.out.push_str("class ");
        self.out.push_str(&c.ids.text);
        self.out.push(' ');
        self.out.push_str(&c.class.text);
    }

    fn style(&mut self, s: &Style) {
        self.out.push_str("style ");
        self.out.push_str(&s.id.text);
        self.styles(&s.styles);
    }

    /// ` piece,piece,…` (nothing when there are no pieces).
    fn styles(&mut self, styles: &[String]) {
        for (i, piece) in styles.iter().enumerate() {
            self.out.push(if i == 0 { ' ' } else { ',' });
            self.out.push_str(piece);
        }
    }

    fn link_style(&mut self, ls: &LinkStyle) {
        self.out.push_str("linkStyle ");
        match &ls.targets {
            LinkStyleTargets::Default(_) => self.out.push_str("default"),
            LinkStyleTargets::Indices(indices) => {
                for (i, index) in indices.iter().enumerate() {
                    if i > 0 {
                        self.out.push(',');
                    }
                    self.out.push_str(&index.value.to_string());
                }
            }
        }
        if let Some(curve) = &ls.interpolate {
            self.out.push_str(" interpolate ");
            self.out.push_str(&curve.text);
        }
        self.styles(&ls.styles);
    }

    fn click(&mut self, c: &Click) {
        self.out.push_str("click ");
        self.out.push_str(&c.id.text);
        match &c.action {
            ClickAction::Link { url, href } => {
                if *href {
                    self.out.push_str(" href");
                }
                self.quoted(url);
            }
            ClickAction::Callback { name, args, call } => {
                self.out.push(' ');
                if *call {
                    self.out.push_str("call ");
                }
                self.out.push_str(&name.text);
                if let Some(args) = args {
                    self.out.push('(');
                    self.out.push_str(&args.text);
                    self.out.push(')');
                }
            }
        }
        if let Some(tip) = &c.tooltip {
            self.quoted(tip);
        }
        if let Some(target) = &c.target {
            self.out.push(' ');
            self.out.push_str(&target.text);
        }
    }

    /// ` "text"`: as written when the source is there (its text has had
    /// entities decoded, `#35;` → `&#35;`, which would not read back).
    fn quoted(&mut self, q: &Quoted) {
        self.out.push(' ');
        let raw = self
            .src
            .and_then(|s| s.get(q.span.start..q.span.end))
            .filter(|t| t.len() >= 2 && t.starts_with('"') && t.ends_with('"'));
        match raw {
            Some(raw) => {
                let at = self.out.len();
                self.out.push_str(raw);
                self.copied_from(q.span, raw, at);
            }
            None => {
                self.out.push('"');
                self.out.push_str(&q.text);
                self.out.push('"');
            }
        }
    }

    /// Copies a one-line `accTitle`/`accDescr` statement from the source.
    /// Its text is what mermaid's pre-passes left (a directive cut from the
    /// middle can leave `%%{` and a word next to each other, which would
    /// read as a directive again); the source line reads as it did.
    fn acc_as_written(&mut self, span: Span, keyword: &str) -> bool {
        let Some(text) = self.src.and_then(|s| s.get(span.start..span.end)) else {
            return false;
        };
        // Trimmed as the value is (`str::trim_end`, which keeps a U+FEFF).
        let text = text.trim_end();
        if !text.starts_with(keyword) || text.contains(is_js_line_end) {
            return false;
        }
        let at = self.out.len();
        self.out.push_str(text);
        self.copied_from(span, text, at);
        true
    }

    fn acc_descr(&mut self, d: &AccDescr, depth: usize) {
        let body = d.text.trim();
        if !d.multiline
            && !body.contains('\n')
            && body.contains("%%")
            && self.acc_as_written(d.span, "accDescr")
        {
            return;
        }
        // A block whose text holds `%%` (a comment line, a `%%{` that a
        // comment kept from being a directive, …) is copied as written.
        if d.multiline
            && body.contains("%%")
            && let Some(raw) = self.src.and_then(|s| s.get(d.span.start..d.span.end))
        {
            self.out.push_str("accDescr {");
            let at = self.out.len();
            self.out.push_str(raw);
            self.copied_from(d.span, raw, at);
            // The span ends before a `;` that mermaid's `style …;` pre-pass
            // dropped from the last line: guard that line as the other
            // lines of a block are, or a reparse drops an earlier `;`.
            let last = self.out[at..].rfind(is_js_line_end).map_or(at, |i| {
                at + i + self.out[at + i..].chars().next().map_or(1, char::len_utf8)
            });
            self.guard_style_semicolons(last);
            if !raw.ends_with('\n') {
                self.out.push('\n');
            }
            self.indent(depth);
            self.out.push('}');
            return;
        }
        if d.multiline || body.contains('\n') {
            // Mermaid trims the body, and its lexer has already eaten the
            // blanks before the first line, so that line gets the indentation
            // of the lines after it (or one level deeper than the braces).
            // Later lines stay exactly as written: they are part of the value.
            // A first line starting with `%%` would be a comment line: it
            // stays on the line of the brace (mermaid skips blanks there).
            if body.starts_with("%%") {
                self.out.push_str("accDescr { ");
            } else {
                self.out.push_str("accDescr {\n");
                let later = body.lines().skip(1).find(|l| !l.trim().is_empty());
                match later {
                    Some(line) => {
                        let width = line.len() - line.trim_start().len();
                        self.out.push_str(&line[..width]);
                    }
                    None => self.indent(depth + 1),
                }
            }
            // The body has been through mermaid's `style …;` pre-pass already.
            let mut from = self.out.rfind('\n').map_or(0, |i| i + 1);
            for piece in body.split_inclusive(is_js_line_end) {
                let content = piece.trim_end_matches(is_js_line_end);
                self.out.push_str(content);
                self.guard_style_semicolons(from);
                self.out.push_str(&piece[content.len()..]);
                from = self.out.len();
            }
            self.out.push('\n');
            self.indent(depth);
            self.out.push('}');
        } else {
            self.out.push_str("accDescr: ");
            self.out.push_str(body);
        }
    }
}

/// The label as it goes between brackets or pipes.
fn trimmed_label(label: &Label) -> &str {
    let raw = label.raw.as_str();
    let trimmed = raw.trim();
    // A line break at either end stays: trimming it could glue a `%%`
    // comment line or a `direction` line to the bracket.
    let start = raw.len() - raw.trim_start().len();
    if raw[..start].contains(is_js_line_end)
        || raw[start + trimmed.len()..].contains(is_js_line_end)
    {
        return raw;
    }
    match label.kind {
        LabelType::String | LabelType::Markdown => {
            if trimmed.starts_with('"') && trimmed.ends_with('"') {
                trimmed
            } else {
                raw
            }
        }
        LabelType::Text => {
            if trimmed.len() == raw.len() || trimmed.is_empty() || trim_changes_lexing(trimmed) {
                raw
            } else {
                trimmed
            }
        }
    }
}

/// Whether `text` ends with `click`, `call` or `href` where mermaid's lexer
/// could start a token (after a non-word character or a digit run): followed
/// by a blank, that is the keyword, not the id or class name it was.
fn ends_with_blank_keyword(text: &str) -> bool {
    ["click", "call", "href"].iter().any(|k| {
        text.strip_suffix(k).is_some_and(|before| {
            let before = before.trim_end_matches(|c: char| c.is_ascii_digit());
            !before
                .chars()
                .next_back()
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        })
    })
}

/// Whether `text`'s first line holds the start of `direction\s+XX`.
fn direction_on_line(text: &str) -> bool {
    let line_end = text.find(is_js_line_end).unwrap_or(text.len());
    text[..line_end]
        .match_indices("direction")
        .any(|(i, _)| has_direction_word(&text[i..]))
}

/// Whether `text` holds `direction\s+XX` (`XX` one of mermaid's directions).
fn has_direction_word(text: &str) -> bool {
    text.match_indices("direction").any(|(i, w)| {
        let rest = &text[i + w.len()..];
        let word = rest.trim_start_matches(is_js_space);
        word.len() < rest.len()
            && ["TB", "BT", "RL", "LR", "TD"]
                .iter()
                .any(|d| word.starts_with(d))
    })
}

/// One line after mermaid's `/style.*:\S*#.*;/g` and `/classDef.*:\S*#.*;/g`
/// replacements (each drops the last `;` of a matching line).
/// `line` with the `%%{…}%%` directives mermaid cuts before its
/// `style …;` pre-pass taken out.
fn directives_cut(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut from = 0;
    let mut search = 0;
    while let Some(rel) = line.get(search..).and_then(|rest| rest.find("%%{")) {
        let start = search + rel;
        match super::prep::match_directive(line, start) {
            Some(end) => {
                out.push_str(&line[from..start]);
                from = end;
                search = end;
            }
            None => search = start + 1,
        }
    }
    out.push_str(&line[from..]);
    out
}

fn style_pre_pass(line: &str) -> String {
    let mut line = line.to_string();
    for keyword in ["style", "classDef"] {
        if let Some(at) = style_semicolon(&line, keyword) {
            line.remove(at);
        }
    }
    line
}

/// Where `keyword.*:\S*#.*;` ends on `line` (the `;` it drops), if it matches.
fn style_semicolon(line: &str, keyword: &str) -> Option<usize> {
    let start = line.find(keyword)?;
    let last_semi = line.rfind(';')?;
    let bytes = line.as_bytes();
    // The earliest `#` reachable from a `:` through non-blank characters.
    let mut i = start + keyword.len();
    while i < bytes.len() {
        if bytes[i] == b':' {
            let rest = &line[i + 1..];
            for (k, c) in rest.char_indices() {
                if c == '#' {
                    let hash = i + 1 + k;
                    return (last_semi > hash).then_some(last_semi);
                }
                if is_js_space(c) {
                    break;
                }
            }
        }
        i += 1;
    }
    None
}

/// Whether dropping the blanks around `trimmed` could glue its first or last
/// character to the bracket (`[ /x]` → `[/x]` is a parallelogram, `( -x)` →
/// `(-x)` an ellipse).
fn trim_changes_lexing(trimmed: &str) -> bool {
    let first = trimmed.chars().next();
    let last = trimmed.chars().next_back();
    let risky_first = matches!(
        first,
        Some('/' | '\\' | '-' | '(' | '[' | '{' | '>' | '|' | '"' | '`')
    );
    let risky_last = matches!(
        last,
        Some('/' | '\\' | '-' | ')' | ']' | '}' | '|' | '"' | '`')
    );
    risky_first || risky_last
}

/// Whether unquoted edge text reads back the same between pipes: mermaid's
/// pipe text cannot hold brackets, `|` or `"`, and `~~~` is a link there.
fn pipe_safe(text: &str) -> bool {
    !text.contains(['[', ']', '(', ')', '{', '}', '|', '"']) && !text.contains("~~~")
}

fn start_marker(a: Arrow) -> Option<char> {
    match a {
        Arrow::None => None,
        Arrow::Arrow => Some('<'),
        Arrow::Cross => Some('x'),
        Arrow::Circle => Some('o'),
    }
}

fn end_marker(a: Arrow) -> Option<char> {
    match a {
        Arrow::None => None,
        Arrow::Arrow => Some('>'),
        Arrow::Cross => Some('x'),
        Arrow::Circle => Some('o'),
    }
}

fn push_repeat(out: &mut String, c: char, n: usize) {
    out.extend(std::iter::repeat_n(c, n));
}

/// The arrow token; see [`link_token`]. Lengths follow mermaid's
/// `destructEndLink`: `-->`/`---` are 1, each extra `-`, `=`, `.` or `~` adds 1.
fn push_link_token(out: &mut String, stroke: Stroke, start: Arrow, end: Arrow, length: usize) {
    let length = length.max(1);
    let end = end_marker(end);
    // A start marker only exists on double-ended links.
    if let (Some(s), Some(_)) = (start_marker(start), end) {
        out.push(s);
    }
    match stroke {
        Stroke::Normal | Stroke::Thick => {
            let c = if stroke == Stroke::Thick { '=' } else { '-' };
            match end {
                Some(m) => {
                    push_repeat(out, c, length + 1);
                    out.push(m);
                }
                None => push_repeat(out, c, length + 2),
            }
        }
        Stroke::Dotted => {
            out.push('-');
            push_repeat(out, '.', length);
            out.push('-');
            if let Some(m) = end {
                out.push(m);
            }
        }
        // Invisible links carry no markers.
        Stroke::Invisible => push_repeat(out, '~', length + 2),
    }
}

/// The opening token of an inline-label link: `--`, `<==`, `o-.`, ….
fn push_inline_start(out: &mut String, stroke: Stroke, start: Arrow) {
    if let Some(s) = start_marker(start) {
        out.push(s);
    }
    out.push_str(match stroke {
        Stroke::Thick => "==",
        Stroke::Dotted => "-.",
        Stroke::Normal | Stroke::Invisible => "--",
    });
}

/// The closing token of an inline-label link: `-->`, `---`, `==>`, `.->`, ….
fn push_inline_end(out: &mut String, stroke: Stroke, end: Arrow, length: usize) {
    let length = length.max(1);
    match stroke {
        Stroke::Dotted => {
            push_repeat(out, '.', length);
            out.push('-');
            if let Some(m) = end_marker(end) {
                out.push(m);
            }
        }
        _ => push_link_token(out, stroke, Arrow::None, end, length),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mermaid::ast::{
        ChainLink, Comment, DirectionSpec, Directive, EdgeLabel, Frontmatter, HeaderKeyword, Ident,
        NodeShape,
    };

    fn ident(text: &str) -> Ident {
        Ident {
            span: Span::default(),
            text: text.to_string(),
        }
    }

    fn label(kind: LabelType, raw: &str) -> Label {
        Label {
            span: Span::default(),
            kind,
            raw: raw.to_string(),
            text: raw.trim_matches(['"', '`']).to_string(),
        }
    }

    fn bare(id: &str) -> NodeRef {
        NodeRef {
            id: ident(id),
            ..NodeRef::default()
        }
    }

    fn shaped(id: &str, kind: BracketShape, label_kind: LabelType, raw: &str) -> NodeRef {
        NodeRef {
            id: ident(id),
            shape: Some(NodeShape {
                span: Span::default(),
                kind,
                label: label(label_kind, raw),
                props: None,
            }),
            ..NodeRef::default()
        }
    }

    fn arrow(stroke: Stroke, start: Arrow, end: Arrow, length: usize) -> Link {
        Link {
            stroke,
            arrow_start: start,
            arrow_end: end,
            length,
            ..Link::default()
        }
    }

    fn labelled(mut link: Link, form: EdgeLabelForm, kind: LabelType, raw: &str) -> Link {
        link.label = Some(EdgeLabel {
            form,
            label: label(kind, raw),
        });
        link
    }

    fn group(nodes: Vec<NodeRef>) -> NodeGroup {
        NodeGroup {
            span: Span::default(),
            nodes,
        }
    }

    fn chain(head: Vec<NodeRef>, links: Vec<(Link, Vec<NodeRef>)>) -> Item {
        Item::Statement(Statement::Chain(Chain {
            span: Span::default(),
            head: group(head),
            links: links
                .into_iter()
                .map(|(link, nodes)| ChainLink {
                    link,
                    nodes: group(nodes),
                })
                .collect(),
        }))
    }

    fn edge(from: &str, link: Link, to: &str) -> Item {
        chain(vec![bare(from)], vec![(link, vec![bare(to)])])
    }

    fn subgraph(header: SubgraphHeader, items: Vec<Item>) -> Item {
        Item::Statement(Statement::Subgraph(Subgraph {
            header,
            items,
            ..Subgraph::default()
        }))
    }

    fn doc(items: Vec<Item>) -> Document {
        Document {
            header: Header {
                keyword: HeaderKeyword::Flowchart,
                direction: Some(DirectionSpec {
                    span: Span::default(),
                    text: "LR".into(),
                    direction: Direction::LR,
                }),
                ..Header::default()
            },
            items,
            ..Document::default()
        }
    }

    fn arrow_to() -> Link {
        arrow(Stroke::Normal, Arrow::None, Arrow::Arrow, 1)
    }

    #[test]
    fn link_tokens_follow_mermaid_lengths() {
        use Arrow::{Arrow as Pt, Circle, Cross, None as No};
        let cases = [
            (Stroke::Normal, No, Pt, 1, "-->"),
            (Stroke::Normal, No, Pt, 2, "--->"),
            (Stroke::Normal, No, No, 1, "---"),
            (Stroke::Normal, No, No, 3, "-----"),
            (Stroke::Normal, No, Cross, 1, "--x"),
            (Stroke::Normal, No, Circle, 1, "--o"),
            (Stroke::Normal, Pt, Pt, 1, "<-->"),
            (Stroke::Normal, Circle, Circle, 1, "o--o"),
            (Stroke::Normal, Cross, Cross, 2, "x---x"),
            (Stroke::Thick, No, Pt, 1, "==>"),
            (Stroke::Thick, No, No, 1, "==="),
            (Stroke::Thick, Pt, Pt, 2, "<===>"),
            (Stroke::Dotted, No, Pt, 1, "-.->"),
            (Stroke::Dotted, No, No, 1, "-.-"),
            (Stroke::Dotted, No, Pt, 3, "-...->"),
            (Stroke::Dotted, Pt, Pt, 1, "<-.->"),
            (Stroke::Invisible, No, No, 1, "~~~"),
            (Stroke::Invisible, No, No, 2, "~~~~"),
            // A start marker without an end marker cannot be written.
            (Stroke::Normal, Pt, No, 1, "---"),
        ];
        for (stroke, start, end, len, want) in cases {
            assert_eq!(
                link_token(stroke, start, end, len),
                want,
                "{stroke:?} {start:?} {end:?} {len}"
            );
        }
    }

    #[test]
    fn spaces_around_links_and_no_semicolons() {
        let d = doc(vec![
            edge("A", arrow_to(), "B"),
            edge(
                "dev",
                arrow(Stroke::Normal, Arrow::None, Arrow::None, 1),
                "ops",
            ),
        ]);
        assert_eq!(print_document(&d), "flowchart LR\nA --> B\ndev --- ops\n");
    }

    #[test]
    fn dev_ops_quirk_prints_what_mermaid_read() {
        // `dev---ops` is `dev ---o ps` to mermaid: a circle end, length 2.
        let d = doc(vec![edge(
            "dev",
            arrow(Stroke::Normal, Arrow::None, Arrow::Circle, 2),
            "ps",
        )]);
        assert_eq!(print_document(&d), "flowchart LR\ndev ---o ps\n");
    }

    #[test]
    fn inline_labels_become_pipe_labels_when_safe() {
        let inline = |raw: &str, kind| {
            labelled(
                arrow(Stroke::Dotted, Arrow::None, Arrow::Arrow, 1),
                EdgeLabelForm::Inline,
                kind,
                raw,
            )
        };
        let d = doc(vec![
            edge("A", inline("text", LabelType::Text), "B"),
            edge("A", inline("\"x (y)\"", LabelType::String), "B"),
            edge("A", inline("f(x)", LabelType::Text), "B"),
            edge("A", inline("a|b", LabelType::Text), "B"),
            edge(
                "A",
                labelled(
                    arrow_to(),
                    EdgeLabelForm::Pipe,
                    LabelType::Text,
                    "  spaced  ",
                ),
                "B",
            ),
        ]);
        assert_eq!(
            print_document(&d),
            "flowchart LR\nA -.->|text| B\nA -.->|\"x (y)\"| B\nA -. f(x) .-> B\nA -. a|b .-> B\nA -->|spaced| B\n"
        );
    }

    #[test]
    fn inline_fallback_keeps_start_marker_and_length() {
        let link = labelled(
            arrow(Stroke::Thick, Arrow::Arrow, Arrow::Arrow, 3),
            EdgeLabelForm::Inline,
            LabelType::Text,
            "go [now]",
        );
        let d = doc(vec![edge("A", link, "B")]);
        assert_eq!(print_document(&d), "flowchart LR\nA <== go [now] ====> B\n");
    }

    #[test]
    fn groups_classes_metadata_and_edge_ids() {
        let mut a = shaped(
            "A",
            BracketShape::Cylinder,
            LabelType::Text,
            " Event Store ",
        );
        a.class = Some(ident("store"));
        let mut b = bare("B");
        b.metadata = Some(crate::mermaid::ast::ShapeData {
            raw: "shape: cyl,label: \"DB\"".into(),
            ..Default::default()
        });
        let mut link = arrow_to();
        link.id = Some(ident("e1"));
        let d = doc(vec![chain(vec![a, b], vec![(link, vec![bare("C")])])]);
        assert_eq!(
            print_document(&d),
            "flowchart LR\nA[(Event Store)]:::store & B@{ shape: cyl,label: \"DB\" }e1@--> C\n"
        );
    }

    #[test]
    fn labels_keep_their_kind_and_text() {
        let d = doc(vec![
            chain(
                vec![shaped(
                    "A",
                    BracketShape::Square,
                    LabelType::String,
                    "\"A double quote:#quot;\"",
                )],
                vec![],
            ),
            chain(
                vec![shaped(
                    "B",
                    BracketShape::Round,
                    LabelType::Markdown,
                    "\"`The **cat**\n  in the hat`\"",
                )],
                vec![],
            ),
            chain(
                vec![shaped("C", BracketShape::Square, LabelType::Text, "  h ")],
                vec![],
            ),
            // Trimming would turn `[ /x]` into a parallelogram: kept as written.
            chain(
                vec![shaped("D", BracketShape::Square, LabelType::Text, " /x")],
                vec![],
            ),
            chain(
                vec![shaped(
                    "E",
                    BracketShape::Odd,
                    LabelType::Text,
                    "Vertex Text",
                )],
                vec![],
            ),
        ]);
        assert_eq!(
            print_document(&d),
            "flowchart LR\nA[\"A double quote:#quot;\"]\nB(\"`The **cat**\n  in the hat`\")\nC[h]\nD[ /x]\nE>Vertex Text]\n"
        );
    }

    #[test]
    fn subgraphs_indent_by_four_and_close_with_end() {
        let inner = subgraph(
            SubgraphHeader::Text(label(LabelType::Text, "Read")),
            vec![
                Item::Statement(Statement::Direction(
                    crate::mermaid::ast::DirectionStatement {
                        direction: Direction::TB,
                        raw: "direction TB".into(),
                        ..Default::default()
                    },
                )),
                Item::Comment(Comment {
                    span: Span::default(),
                    text: " projections  ".into(),
                }),
                chain(vec![bare("P1")], vec![]),
            ],
        );
        let outer = subgraph(
            SubgraphHeader::IdTitle {
                id: label(LabelType::Text, "CQRS "),
                title: label(LabelType::Text, "CQRS side"),
            },
            vec![inner, chain(vec![bare("WM")], vec![])],
        );
        let d = doc(vec![
            outer,
            subgraph(SubgraphHeader::Anonymous, vec![]),
            edge("A", arrow_to(), "B"),
        ]);
        assert_eq!(
            print_document(&d),
            "flowchart LR\nsubgraph CQRS [CQRS side]\n    subgraph Read\n        direction TB\n        %% projections\n        P1\n    end\n    WM\nend\nsubgraph\nend\nA --> B\n"
        );
    }

    #[test]
    fn frontmatter_directives_and_leading_comments_stay_in_place() {
        let mut d = doc(vec![Item::Directive(Directive {
            span: Span::default(),
            raw: "%%{init: {\"theme\": \"dark\"}}%%".into(),
        })]);
        d.frontmatter = Some(Frontmatter {
            // As parsed: the line break before the closing `---` is not
            // the block's.
            raw: "title: Orders\nconfig:\n  flowchart:\n    curve: basis".into(),
            ..Frontmatter::default()
        });
        d.leading = vec![Item::Comment(Comment {
            span: Span::default(),
            text: " first".into(),
        })];
        d.header.keyword = HeaderKeyword::Graph;
        d.header.direction = Some(DirectionSpec {
            span: Span::default(),
            text: ">".into(),
            direction: Direction::LR,
        });
        assert_eq!(
            print_document(&d),
            "---\ntitle: Orders\nconfig:\n  flowchart:\n    curve: basis\n---\n%% first\ngraph LR\n%%{init: {\"theme\": \"dark\"}}%%\n"
        );
    }

    #[test]
    fn statements_with_arguments() {
        let d = doc(vec![
            Item::Statement(Statement::ClassDef(ClassDef {
                names: ident("a,b"),
                styles: vec!["fill:#f9f".into(), "stroke-dasharray: 5 5".into()],
                ..Default::default()
            })),
            Item::Statement(Statement::Class(ClassAssign {
                ids: ident("ES,EB"),
                class: ident("store"),
                ..Default::default()
            })),
            Item::Statement(Statement::Style(Style {
                id: ident("id1"),
                styles: vec!["fill:#f9f".into()],
                ..Default::default()
            })),
            Item::Statement(Statement::LinkStyle(LinkStyle {
                targets: LinkStyleTargets::Default(Span::default()),
                interpolate: Some(ident("basis")),
                styles: vec![],
                ..Default::default()
            })),
            Item::Statement(Statement::LinkStyle(LinkStyle {
                targets: LinkStyleTargets::Indices(vec![
                    crate::mermaid::ast::LinkIndex {
                        span: Span::default(),
                        value: 0,
                    },
                    crate::mermaid::ast::LinkIndex {
                        span: Span::default(),
                        value: 2,
                    },
                ]),
                interpolate: None,
                styles: vec!["stroke:#f00".into()],
                ..Default::default()
            })),
            Item::Statement(Statement::Click(Click {
                id: ident("A"),
                action: ClickAction::Callback {
                    name: ident("cb"),
                    args: Some(ident("\"a\", b")),
                    call: true,
                },
                tooltip: Some(crate::mermaid::ast::Quoted {
                    span: Span::default(),
                    text: "tip".into(),
                }),
                ..Default::default()
            })),
            Item::Statement(Statement::Click(Click {
                id: ident("B"),
                action: ClickAction::Link {
                    url: crate::mermaid::ast::Quoted {
                        span: Span::default(),
                        text: "https://x".into(),
                    },
                    href: true,
                },
                target: Some(ident("_blank")),
                ..Default::default()
            })),
            Item::Statement(Statement::AccTitle(crate::mermaid::ast::AccTitle {
                text: "  Orders ".into(),
                ..Default::default()
            })),
            Item::Statement(Statement::AccDescr(AccDescr {
                text: "\n  two\n  lines\n".into(),
                multiline: true,
                ..Default::default()
            })),
        ]);
        assert_eq!(
            print_document(&d),
            "flowchart LR\nclassDef a,b fill:#f9f,stroke-dasharray: 5 5\nclass ES,EB store\nstyle id1 fill:#f9f\nlinkStyle default interpolate basis\nlinkStyle 0,2 stroke:#f00\nclick A call cb(\"a\", b) \"tip\"\nclick B href \"https://x\" _blank\naccTitle: Orders\naccDescr {\n  two\n  lines\n}\n"
        );
    }

    #[test]
    fn blank_lines_come_from_the_source_and_collapse_to_one() {
        let src = "flowchart LR\n\nA\n\n\n\nB\nC;D\n";
        let at = |s: &str| {
            let start = src.find(s).unwrap_or_default();
            Span::new(start, start + s.len())
        };
        let mut items = Vec::new();
        for id in ["A", "B", "C", "D"] {
            let mut c = Chain {
                span: at(id),
                head: group(vec![bare(id)]),
                links: vec![],
            };
            c.head.span = c.span;
            items.push(Item::Statement(Statement::Chain(c)));
        }
        let mut d = doc(items);
        d.header.span = Span::new(0, 12);
        assert_eq!(
            print_document_with_source(&d, src),
            "flowchart LR\nA\n\nB\nC\nD\n"
        );
        assert_eq!(print_document(&d), "flowchart LR\nA\nB\nC\nD\n");
        // Spans that do not fit the text are ignored, not a panic.
        assert_eq!(
            print_document_with_source(&d, "x"),
            "flowchart LR\nA\nB\nC\nD\n"
        );
    }

    #[test]
    fn edge_id_after_metadata_block_is_glued_to_it() {
        let mut a = bare("A");
        a.metadata = Some(crate::mermaid::ast::ShapeData {
            raw: " shape: rect ".into(),
            ..Default::default()
        });
        let mut link = arrow_to();
        link.id = Some(ident("e1"));
        let d = doc(vec![chain(
            vec![a],
            vec![(link.clone(), vec![bare("B")]), (link, vec![bare("C")])],
        )]);
        assert_eq!(
            print_document(&d),
            "flowchart LR\nA@{ shape: rect }e1@--> B e1@--> C\n"
        );
    }

    #[test]
    fn line_ending_in_direction_gets_a_semicolon() {
        let d = doc(vec![
            edge("A", arrow_to(), "mydirection"),
            edge("LR1", arrow_to(), "B"),
            subgraph(
                SubgraphHeader::Text(label(LabelType::Text, "direction")),
                vec![],
            ),
        ]);
        assert_eq!(
            print_document(&d),
            "flowchart LR\nA --> mydirection;\nLR1 --> B\nsubgraph direction;\nend\n"
        );
    }

    #[test]
    fn keyword_named_nodes_percent_ids_and_blank_titles_print_unambiguously() {
        let d = doc(vec![
            edge("click", arrow_to(), "call"),
            chain(vec![bare("%%")], vec![]),
            subgraph(SubgraphHeader::Text(label(LabelType::Text, "A ")), vec![]),
        ]);
        assert_eq!(
            print_document(&d),
            "flowchart LR\nclick--> call;\n;%%\nsubgraph A ;\nend\n"
        );
    }

    #[test]
    fn hundred_thousand_nested_subgraphs_print_without_recursion() {
        const DEPTH: usize = 100_000;
        let mut item = chain(vec![bare("leaf")], vec![]);
        for _ in 0..DEPTH {
            item = subgraph(SubgraphHeader::Anonymous, vec![item]);
        }
        let d = doc(vec![item]);
        let text = print_document(&d);
        assert_eq!(text.lines().filter(|l| l.trim() == "end").count(), DEPTH);
        let cap = INDENT.len() * MAX_INDENT_LEVELS;
        assert!(text.lines().all(|l| l.len() <= cap + "subgraph".len()));
        assert!(text.contains(&format!("\n{}leaf\n", " ".repeat(cap))));
    }
}
