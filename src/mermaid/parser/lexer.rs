//! The scanner: mermaid's flowchart lexer rules, in mermaid's order, with its
//! state stack.
//!
//! Mermaid's quirks are lexer quirks: jison tries the rules of the current
//! state in the order they are written and takes the first that matches (not
//! the longest), so `end.x` is the keyword `end` followed by `.x`, `dev---ops`
//! is `dev`, `---o`, `ps`, a link token swallows the blanks and newlines
//! around it, and brackets push and pop "text" states that decide what a
//! label may contain. Rule numbers in comments refer to mermaid 12.3.0's
//! compiled lexer.
//!
//! What nom does here: every rule is a nom 8 parser over `&str` in
//! [`super::rules`] (links, node strings, keywords with `\b`, numbers,
//! direction words, bracket openers and closers as `alt` tables, the
//! `@{ … }` block, click/callback and accessibility values, and the text runs
//! of each state). This module is the jison driver around them: for the
//! current state it tries the rules in mermaid's order and the first that
//! recognises a prefix wins; the rule's remaining input gives the token's
//! end, and the rule's kind says which state to push or pop. The order and
//! the stack are kept as they are because they *are* mermaid's behaviour;
//! a longest-match or grammar-driven tokenizer would disagree with mermaid
//! on the corpus. Before the rules, a look at the first byte (or, for links,
//! the character after the blanks and head) skips rules that cannot match,
//! which changes nothing but the cost. In the initial and text states the
//! commonest tokens (plain words, blanks, newlines, a link after a blank,
//! openers, label text) are taken by `shortcut`s that first rule out every
//! earlier rule; a test lexes random token soup with and without them and
//! requires the same tokens.
//!
//! All matching is on `&str` slices taken with `str::get`, so a token can
//! never end inside a character, and no rule recurses: the scan is linear.

use nom::Parser;
use nom::branch::alt;
use nom::bytes::complete::tag;
use nom::character::complete::{char, satisfy};
use nom::combinator::value;
use nom::sequence::preceded;

use super::super::flow::Direction;
use super::super::prep::{ByteSummary, is_js_line_end, is_js_space};
use super::super::unicode::is_unicode_text;
use super::rules::{self, keyword};

/// Token kinds, named after mermaid's grammar symbols.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum T {
    AccTitle,
    AccTitleValue,
    AccDescr,
    AccDescrValue,
    AccDescrMultiValue,
    /// A whole `@{ … }` block (mermaid emits several SHAPE_DATA tokens).
    ShapeData,
    CallbackName,
    CallbackArgs,
    MdStr,
    Str,
    Style,
    Default,
    LinkStyle,
    Interpolate,
    ClassDef,
    Class,
    Href,
    Click,
    Graph,
    Subgraph,
    End,
    LinkTarget,
    NoDir,
    Dir,
    Direction(Direction),
    LinkId,
    Num,
    Brkt,
    StyleSeparator,
    Colon,
    Amp,
    Semi,
    Comma,
    Mult,
    Link,
    StartLink,
    EdgeText,
    EllipseStart,
    EllipseEnd,
    StadiumStart,
    StadiumEnd,
    SubroutineStart,
    SubroutineEnd,
    PropsStart,
    TagEnd,
    CylinderStart,
    CylinderEnd,
    DoubleCircleStart,
    DoubleCircleEnd,
    TrapStart,
    TrapEnd,
    InvTrapStart,
    InvTrapEnd,
    TagStart,
    Up,
    Sep,
    Down,
    NodeString,
    Minus,
    UnicodeText,
    Pipe,
    Ps,
    Pe,
    Sqs,
    Sqe,
    DiamondStart,
    DiamondStop,
    Text,
    Newline,
    Space,
    /// The grammar's `EOF` token (only produced in the initial state).
    Eof,
    /// jison's `$end`: nothing more.
    Done,
}

/// A token: kind and byte range in the preprocessed text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tok {
    pub t: T,
    pub s: usize,
    pub e: usize,
    /// For strings: where the opening quote is. For `@{`: whether it was closed.
    pub aux: usize,
}

/// Lexer states (jison conditions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum St {
    Initial,
    Str,
    MdStr,
    Text,
    Ellipse,
    Trap,
    EdgeText,
    ThickEdgeText,
    DottedEdgeText,
    Click,
    CallbackName,
    CallbackArgs,
    AccTitle,
    AccDescr,
    AccDescrMulti,
    Dir,
}

/// A lexical error: no rule matches at this offset.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LexError {
    pub at: usize,
}

enum Step {
    Token(T, usize),
    /// A rule matched that only changes state (`"` pushes the string state).
    Skip(usize),
    NoMatch,
}

/// Where `direction XX` lines are, so the `.*direction\s+XX[^\n]*` rules can
/// be answered without rescanning lines.
#[derive(Default)]
struct DirIndex {
    /// Per kind (TB, BT, RL, LR, TD): (line start, occurrence, token end), sorted.
    kinds: [Vec<(usize, usize, usize)>; 5],
    /// Every occurrence as (occurrence, line start), sorted; with `cursor`,
    /// answers "no direction line ahead" without a search.
    all: Vec<(usize, usize)>,
    cursor: usize,
}

const DIR_KINDS: [(&[u8], Direction); 5] = [
    (b"TB", Direction::TB),
    (b"BT", Direction::BT),
    (b"RL", Direction::RL),
    (b"LR", Direction::LR),
    (b"TD", Direction::TD),
];

impl DirIndex {
    /// The index of `text`'s direction lines; `known` lists where
    /// `direction` occurs, when the caller found that already.
    fn build(text: &str, summary: &ByteSummary, known: Option<&[usize]>) -> DirIndex {
        let mut idx = DirIndex::default();
        let mut line_start = 0;
        let mut scanned = 0;
        let mut from = 0;
        let mut known = known.map(|k| k.iter().copied());
        let mut next = |from: usize| match &mut known {
            Some(k) => k.next(),
            None => find_direction(text, from),
        };
        // Byte checks first: `\u{2028}` and `\u{2029}` start with 0xE2.
        let rare_breaks = summary.cr || (summary.e2 && text.contains(['\u{2028}', '\u{2029}']));
        while let Some(d) = next(from) {
            from = d + 1;
            // Line start of `d` (JS `.` stops at any line terminator).
            if rare_breaks {
                for (i, c) in text[scanned..d].char_indices() {
                    if is_js_line_end(c) {
                        line_start = scanned + i + c.len_utf8();
                    }
                }
            } else if let Some(nl) = text[scanned..d].rfind('\n') {
                line_start = scanned + nl + 1;
            }
            scanned = d;
            // `direction\s+XX`, then `[^\n]*`.
            let Some((rest, dir)) = text.get(d..).and_then(|i| rules::direction_word(i).ok())
            else {
                continue;
            };
            let n = DIR_KINDS.iter().position(|&(_, k)| k == dir).unwrap_or(0);
            let word_end = text.len() - rest.len();
            let end = rest.find('\n').map_or(text.len(), |i| word_end + i);
            idx.kinds[n].push((line_start, d, end));
            idx.all.push((d, line_start));
        }
        idx
    }

    /// The direction token starting at `p`, if a `direction XX` follows on
    /// its line. Queries come with increasing `p`.
    fn query(&mut self, p: usize) -> Option<(Direction, usize)> {
        while self.all.get(self.cursor).is_some_and(|&(d, _)| d < p) {
            self.cursor += 1;
        }
        match self.all.get(self.cursor) {
            Some(&(_, line_start)) if line_start <= p => {}
            _ => return None,
        }
        for (n, list) in self.kinds.iter().enumerate() {
            let i = list.partition_point(|&(_, d, _)| d < p);
            let Some(&(line_start, _, _)) = list.get(i) else {
                continue;
            };
            if line_start > p {
                continue;
            }
            // Greedy `.*`: the last occurrence on this line decides the end.
            let mut j = i;
            while list.get(j + 1).is_some_and(|&(ls, _, _)| ls == line_start) {
                j += 1;
            }
            return Some((DIR_KINDS[n].1, list[j].2));
        }
        None
    }
}

/// The next `direction` at or after `from`. Substring search is the cost
/// here, so blocks without one are skipped with `str::contains` (which has
/// a SIMD path that `find` lacks) before `find` locates it.
fn find_direction(text: &str, from: usize) -> Option<usize> {
    const BLOCK: usize = 4096;
    let boundary = |mut i: usize| {
        while !text.is_char_boundary(i) {
            i += 1;
        }
        i
    };
    let mut a = from;
    while a < text.len() {
        let b = boundary((a + BLOCK).min(text.len()));
        // The window overlaps the next block so a straddling match is seen.
        let window = text.get(a..boundary((b + 8).min(text.len())))?;
        if window.contains("direction") {
            return window.find("direction").map(|i| a + i);
        }
        a = b;
    }
    None
}

/// Whether a word (a maximal run of `\w`) is one a rule before NODE_STRING
/// may take: the `\b` keywords, and `accTitle`, `accDescr`, `call`,
/// `click`, `href`, `flowchart`, which those rules need followed by a
/// non-word character.
fn is_keyword_word(word: &[u8]) -> bool {
    matches!(
        word,
        b"accTitle"
            | b"accDescr"
            | b"call"
            | b"style"
            | b"default"
            | b"linkStyle"
            | b"interpolate"
            | b"classDef"
            | b"class"
            | b"href"
            | b"click"
            | b"graph"
            | b"flowchart"
            | b"subgraph"
            | b"end"
            | b"v"
    )
}

/// The solid link rules on bytes: with `solid`, `\s*[xo<]?CC+[Cxo>]\s*`
/// (as [`rules::solid_link`]), else `\s*[xo<]?CC\s*` (as
/// [`rules::start_link`]), for `c` in `-`, `=`. `Some(end)` (`Some(None)`:
/// no match) when the blanks it looks at are ASCII, `None` when a
/// non-ASCII character sits where a blank could be (the nom rule decides).
/// Links are the second commonest token, and the nom rules cost several
/// times this.
fn ascii_link(b: &[u8], p: usize, c: u8, solid: bool) -> Option<Option<usize>> {
    // JavaScript `\s*`; `None` at a non-ASCII byte, which may be a blank.
    let blanks = |mut i: usize| {
        while let Some(&x) = b.get(i) {
            match x {
                b' ' | b'\t' | b'\n' | b'\r' | 0x0B | 0x0C => i += 1,
                0x80.. => return None,
                _ => break,
            }
        }
        Some(i)
    };
    let mut i = blanks(p)?;
    // The head is never `c`, so not taking it could not make a match.
    if matches!(b.get(i), Some(b'x' | b'o' | b'<')) {
        i += 1;
    }
    let run = b
        .get(i..)
        .unwrap_or_default()
        .iter()
        .take_while(|&&x| x == c)
        .count();
    let mut e = i + run;
    if !solid {
        if run < 2 {
            return Some(None);
        }
        e = i + 2;
    } else if run >= 2 && matches!(b.get(e), Some(b'x' | b'o' | b'>')) {
        e += 1;
    } else if run < 3 {
        return Some(None);
    }
    Some(Some(blanks(e)?))
}

/// The characters that end a `text`-state run: `[^\[\]\(\)\{\}\|\"]+`.
fn is_text_stop(c: u8) -> bool {
    matches!(c, b'[' | b']' | b'(' | b')' | b'{' | b'}' | b'|' | b'"')
}

/// The scanner.
pub(crate) struct Lexer<'a> {
    text: &'a str,
    b: &'a [u8],
    pos: usize,
    stack: Vec<St>,
    first_graph: bool,
    done: bool,
    dirs: DirIndex,
    has_at: bool,
    /// `(from, run_end, last valid @)` of the last LINK_ID look-up.
    link_id_run: (usize, usize, Option<usize>),
    /// The next `@` (for LINK_ID), and whether it cannot end an edge id.
    next_at: Option<usize>,
    next_at_dead: bool,
    last_open: usize,
    /// Whether [`Lexer::shortcut`] may answer before the rules (off only in
    /// the test that checks it agrees with them).
    shortcuts: bool,
}

impl<'a> Lexer<'a> {
    /// A scanner over preprocessed text.
    #[cfg(test)]
    pub fn new(text: &'a str) -> Self {
        Lexer::with_summary(text, &ByteSummary::of(text), None)
    }

    /// A scanner over preprocessed text, told which bytes it may hold (by
    /// the summary of its source) and, when known, where `direction`
    /// occurs in it (which saves a search through the whole text).
    pub fn with_summary(
        text: &'a str,
        summary: &ByteSummary,
        directions: Option<&[usize]>,
    ) -> Self {
        Lexer {
            text,
            b: text.as_bytes(),
            pos: 0,
            stack: vec![St::Initial],
            first_graph: true,
            done: false,
            dirs: DirIndex::build(text, summary, directions),
            has_at: summary.at,
            link_id_run: (usize::MAX, 0, None),
            next_at: None,
            next_at_dead: false,
            last_open: 0,
            shortcuts: true,
        }
    }

    /// A scanner that always runs mermaid's rules one by one.
    #[cfg(test)]
    fn without_shortcuts(text: &'a str) -> Self {
        Lexer {
            shortcuts: false,
            ..Lexer::new(text)
        }
    }

    fn state(&self) -> St {
        self.stack.last().copied().unwrap_or(St::Initial)
    }

    fn push(&mut self, st: St) {
        self.stack.push(st);
    }

    fn pop(&mut self) {
        if self.stack.len() > 1 {
            self.stack.pop();
        }
    }

    fn at(&self, i: usize) -> u8 {
        self.b.get(i).copied().unwrap_or(0)
    }

    /// Runs the nom rule `rule` at `p`: the end of what it recognised and
    /// its output, or `None` when the rule does not match here.
    #[inline(always)]
    fn rule<O>(
        &self,
        p: usize,
        mut rule: impl Parser<&'a str, Output = O, Error = ()>,
    ) -> Option<(usize, O)> {
        let input = self.text.get(p..)?;
        match rule.parse(input) {
            Ok((rest, out)) => Some((self.b.len() - rest.len(), out)),
            Err(_) => None,
        }
    }

    /// The end of what `rule` recognised at `p`.
    #[inline(always)]
    fn end<O>(
        &self,
        p: usize,
        rule: impl Parser<&'a str, Output = O, Error = ()>,
    ) -> Option<usize> {
        self.rule(p, rule).map(|(e, _)| e)
    }

    /// The end of what `rule` recognised at `p`, or the end of the input.
    #[inline(always)]
    fn end_or_eof<O>(&self, p: usize, rule: impl Parser<&'a str, Output = O, Error = ()>) -> usize {
        self.end(p, rule).unwrap_or(self.b.len())
    }

    /// The next token.
    pub fn next(&mut self) -> Result<Tok, LexError> {
        let p = self.pos;
        // The initial state is never pushed: one entry means we are in it.
        if self.shortcuts
            && self.stack.len() == 1
            && !self.done
            && let Some(&b0) = self.b.get(p)
            && let Some((t, e)) = self.shortcut(p, b0)
        {
            self.pos = e;
            return Ok(Tok { t, s: p, e, aux: 0 });
        }
        loop {
            let p = self.pos;
            if self.done {
                return Ok(Tok {
                    t: T::Done,
                    s: p,
                    e: p,
                    aux: 0,
                });
            }
            if p >= self.b.len() {
                self.done = true;
            }
            let step = match self.state() {
                St::Initial => self.initial(p)?,
                St::Str => self.string(p),
                St::MdStr => self.md_string(p),
                St::Text => self.text_state(p),
                St::Ellipse => self.ellipse(p),
                St::Trap => self.trap(p),
                St::EdgeText => self.edge_text(p, '-'),
                St::ThickEdgeText => self.edge_text(p, '='),
                St::DottedEdgeText => self.edge_text(p, '.'),
                St::Click => self.click(p),
                St::CallbackName => self.callback_name(p),
                St::CallbackArgs => self.callback_args(p),
                St::AccTitle | St::AccDescr => {
                    let end = self.end_or_eof(p, rules::line_rest);
                    let t = if self.state() == St::AccTitle {
                        T::AccTitleValue
                    } else {
                        T::AccDescrValue
                    };
                    self.pop();
                    Step::Token(t, end)
                }
                // At the end of input jison would match `[^}]*` once more and
                // emit an empty value that erases the description; we stop.
                St::AccDescrMulti if p >= self.b.len() => Step::NoMatch,
                St::AccDescrMulti => {
                    if let Some(e) = self.end(p, char('}')) {
                        self.pop();
                        Step::Skip(e)
                    } else {
                        Step::Token(
                            T::AccDescrMultiValue,
                            self.end_or_eof(p, rules::until_brace),
                        )
                    }
                }
                St::Dir => self.dir(p),
            };
            match step {
                Step::Token(t, e) => {
                    self.pos = e;
                    let aux = if matches!(t, T::Str | T::MdStr) {
                        self.last_open
                    } else {
                        0
                    };
                    return Ok(Tok { t, s: p, e, aux });
                }
                Step::Skip(e) => self.pos = e,
                Step::NoMatch if p >= self.b.len() => {
                    return Ok(Tok {
                        t: T::Done,
                        s: p,
                        e: p,
                        aux: 0,
                    });
                }
                Step::NoMatch => return Err(LexError { at: p }),
            }
        }
    }

    /// Rules 21 and 24 (`"\`` and `"`), active in every state.
    fn quotes(&mut self, p: usize) -> Option<Step> {
        if self.at(p) != b'"' {
            return None;
        }
        let (e, markdown) = self.rule(p, rules::quote)?;
        self.last_open = p;
        self.push(if markdown { St::MdStr } else { St::Str });
        Some(Step::Skip(e))
    }

    /// The `<*>` rules after the quotes: 78 `~~~`, 81 `(-`, 83 `([`, 85 `[[`,
    /// 89 `[(`, 91 `(((`, 95 `[/`, 96 `[\`, 109 `|`, 111 `(`, 113 `[`, 115 `{`.
    fn tail(&mut self, p: usize) -> Step {
        if let Some(e) = self.end(p, rules::invisible_link) {
            return Step::Token(T::Link, e);
        }
        self.brackets(p)
    }

    /// Pushes the state an opening bracket token starts.
    fn open(&mut self, (e, t): (usize, T)) -> Step {
        self.push(match t {
            T::EllipseStart => St::Ellipse,
            T::TrapStart | T::InvTrapStart => St::Trap,
            _ => St::Text,
        });
        Step::Token(t, e)
    }

    /// The bracket part of the `<*>` rules (81 … 115 except `~~~`).
    fn brackets(&mut self, p: usize) -> Step {
        match self.at(p) {
            b'(' if self.shortcuts => {
                // The tags below, decided by the bytes after `(`.
                let opener = match (self.at(p + 1), self.at(p + 2)) {
                    (b'-', _) => (p + 2, T::EllipseStart),
                    (b'[', _) => (p + 2, T::StadiumStart),
                    (b'(', b'(') => (p + 3, T::DoubleCircleStart),
                    _ => (p + 1, T::Ps),
                };
                self.open(opener)
            }
            b'(' => {
                let opener = self.rule(
                    p,
                    alt((
                        value(T::EllipseStart, tag("(-")),
                        value(T::StadiumStart, tag("([")),
                        value(T::DoubleCircleStart, tag("(((")),
                        value(T::Ps, tag("(")),
                    )),
                );
                opener.map_or(Step::NoMatch, |o| self.open(o))
            }
            b'[' => self.square_open(p),
            b'|' => self.open((p + 1, T::Pipe)),
            b'{' => self.open((p + 1, T::DiamondStart)),
            _ => Step::NoMatch,
        }
    }

    /// Rules 85 `[[`, 89 `[(`, 95 `[/`, 96 `[\`, 113 `[`.
    fn square_open(&mut self, p: usize) -> Step {
        if self.shortcuts {
            // The tags below, decided by the byte after `[`.
            let opener = match self.at(p + 1) {
                b'[' => (p + 2, T::SubroutineStart),
                b'(' => (p + 2, T::CylinderStart),
                b'/' => (p + 2, T::TrapStart),
                b'\\' => (p + 2, T::InvTrapStart),
                _ => (p + 1, T::Sqs),
            };
            return self.open(opener);
        }
        let opener = self.rule(
            p,
            alt((
                value(T::SubroutineStart, tag("[[")),
                value(T::CylinderStart, tag("[(")),
                value(T::TrapStart, tag("[/")),
                value(T::InvTrapStart, tag("[\\")),
                value(T::Sqs, tag("[")),
            )),
        );
        opener.map_or(Step::NoMatch, |o| self.open(o))
    }

    /// Rule 60 (12.3.0): `[^\s"\[\](){}|]+@(?=[^{"])`. Asked before most
    /// words, so the common "no edge id can start here" answers inline.
    #[inline]
    fn link_id(&mut self, p: usize) -> Option<usize> {
        if !self.has_at || (self.next_at_dead && self.next_at.is_some_and(|a| a >= p)) {
            return None;
        }
        self.link_id_search(p)
    }

    /// [`Lexer::link_id`] past its quick answers.
    fn link_id_search(&mut self, p: usize) -> Option<usize> {
        // The next `@` at or after `p`: when it is followed by `{` or `"`
        // (or ends the text), the run through it ends right after it, so no
        // run from here to it holds an edge id.
        if self.next_at.is_none_or(|a| a < p) {
            self.next_at = self.text.get(p..).and_then(|t| t.find('@')).map(|i| p + i);
            let Some(a) = self.next_at else {
                self.has_at = false;
                return None;
            };
            self.next_at_dead = a + 1 >= self.b.len() || matches!(self.b[a + 1], b'{' | b'"');
        }
        if self.next_at_dead {
            return None;
        }
        let (from, run_end, last) = self.link_id_run;
        let last = if from <= p && p < run_end {
            last
        } else {
            // The run, then the regex's backtracking: its last `@` whose
            // next character is neither `{` nor `"` (nor the end).
            let (run_end, run) = self.rule(p, rules::link_id_run).unwrap_or((p, ""));
            let last = if run.as_bytes().contains(&b'@') {
                run.rmatch_indices('@')
                    .map(|(i, _)| p + i)
                    .find(|&i| i + 1 < self.b.len() && !matches!(self.b[i + 1], b'{' | b'"'))
            } else {
                None
            };
            self.link_id_run = (p, run_end, last);
            last
        };
        last.filter(|&at| at > p).map(|at| at + 1)
    }

    /// The initial state: rules 0 … 120 in order.
    fn initial(&mut self, p: usize) -> Result<Step, LexError> {
        let b0 = self.at(p);
        if p >= self.b.len() {
            return Ok(Step::Token(T::Eof, p)); // rule 120
        }
        // The first byte only selects which rules can match at all; the
        // rules themselves are the nom parsers, tried in mermaid's order.
        match b0 {
            b'a' => {
                if let Some(e) = self.end(p, rules::acc_title) {
                    self.push(St::AccTitle);
                    return Ok(Step::Token(T::AccTitle, e));
                }
                if let Some((e, single)) = self.rule(p, rules::acc_descr) {
                    if single {
                        self.push(St::AccDescr);
                        return Ok(Step::Token(T::AccDescr, e));
                    }
                    self.push(St::AccDescrMulti);
                    return Ok(Step::Skip(e));
                }
            }
            b'@' if self.at(p + 1) == b'{' => return self.shape_data(p),
            b'c' => {
                if let Some(e) = self.end(p, rules::word_then_space("call")) {
                    self.push(St::CallbackName);
                    return Ok(Step::Skip(e));
                }
            }
            b'"' => {
                if let Some(step) = self.quotes(p) {
                    return Ok(step);
                }
            }
            _ => {}
        }
        // Rules 25 … 43: keywords.
        let kw = match b0 {
            b's' => self.rule(p, value(T::Style, keyword("style"))),
            b'd' => self.rule(p, value(T::Default, keyword("default"))),
            b'l' => self.rule(p, value(T::LinkStyle, keyword("linkStyle"))),
            b'i' => self.rule(p, value(T::Interpolate, keyword("interpolate"))),
            b'c' => self.rule(
                p,
                alt((
                    value(T::ClassDef, keyword("classDef")),
                    value(T::Class, keyword("class")),
                )),
            ),
            b'h' => self.rule(p, value(T::Href, rules::href)),
            _ => None,
        };
        if let Some((e, t)) = kw {
            return Ok(Step::Token(t, e));
        }
        if b0 == b'c'
            && let Some(e) = self.end(p, rules::word_then_space("click"))
        {
            self.push(St::Click);
            return Ok(Step::Skip(e));
        }
        if matches!(b0, b'f' | b'g')
            && let Some(e) = self.end(p, rules::graph)
        {
            if self.first_graph {
                self.first_graph = false;
                self.push(St::Dir);
            }
            return Ok(Step::Token(T::Graph, e));
        }
        if b0 == b's'
            && let Some(e) = self.end(p, keyword("subgraph"))
        {
            return Ok(Step::Token(T::Subgraph, e));
        }
        if b0 == b'e'
            && let Some(e) = self.end(p, rules::end)
        {
            return Ok(Step::Token(T::End, e));
        }
        if b0 == b'_'
            && let Some(e) = self.end(p, rules::link_target)
        {
            return Ok(Step::Token(T::LinkTarget, e));
        }
        // Rules 55 … 59: `.*direction\s+XX[^\n]*`.
        if let Some((d, e)) = self.direction_at(p) {
            return Ok(Step::Token(T::Direction(d), e));
        }
        if let Some(e) = self.link_id(p) {
            return Ok(Step::Token(T::LinkId, e));
        }
        let simple = match b0 {
            b'0'..=b'9' => self.rule(p, value(T::Num, rules::num)),
            b'#' => Some((p + 1, T::Brkt)),
            b':' => self.rule(
                p,
                alt((
                    value(T::StyleSeparator, tag(":::")),
                    value(T::Colon, char(':')),
                )),
            ),
            b'&' => Some((p + 1, T::Amp)),
            b';' => Some((p + 1, T::Semi)),
            b',' => Some((p + 1, T::Comma)),
            b'*' => Some((p + 1, T::Mult)),
            _ => None,
        };
        if let Some((e, t)) = simple {
            return Ok(Step::Token(t, e));
        }
        Ok(self.links_then_rest(p, b0))
    }

    /// Rules 69 … 120 of the initial state.
    fn links_then_rest(&mut self, p: usize, b0: u8) -> Step {
        // Rules 69 … 78: links, in order. All start with blanks and an
        // optional head; the next character rules out most of them.
        let Some(lc) = self.text.get(p..).and_then(rules::link_char) else {
            return self.after_links(p, b0);
        };
        if lc == b'-' {
            if let Some(e) = self.solid_link(p, b'-') {
                return Step::Token(T::Link, e);
            }
            if let Some(e) = self.start_link(p, b'-') {
                self.push(St::EdgeText);
                return Step::Token(T::StartLink, e);
            }
        }
        if lc == b'=' {
            if let Some(e) = self.solid_link(p, b'=') {
                return Step::Token(T::Link, e);
            }
            if let Some(e) = self.start_link(p, b'=') {
                self.push(St::ThickEdgeText);
                return Step::Token(T::StartLink, e);
            }
        }
        if matches!(lc, b'-' | b'.') {
            if let Some(e) = self.end(p, rules::dotted_link) {
                return Step::Token(T::Link, e);
            }
            if let Some(e) = self.end(p, rules::dotted_start) {
                self.push(St::DottedEdgeText);
                return Step::Token(T::StartLink, e);
            }
        }
        if lc == b'~'
            && let Some(e) = self.end(p, rules::invisible_link)
        {
            return Step::Token(T::Link, e);
        }
        self.after_links(p, b0)
    }

    /// Rules 69 / 72 (`\s*[xo<]?CC+[Cxo>]\s*`) at `p`, for `c` in `-`, `=`.
    fn solid_link(&self, p: usize, c: u8) -> Option<usize> {
        if self.shortcuts
            && let Some(end) = ascii_link(self.b, p, c, true)
        {
            return end;
        }
        match c {
            b'-' => self.end(p, rules::solid_link('-')),
            _ => self.end(p, rules::solid_link('=')),
        }
    }

    /// Rules 70 / 73 (`\s*[xo<]?CC\s*`) at `p`, for `c` in `-`, `=`.
    fn start_link(&self, p: usize, c: u8) -> Option<usize> {
        if self.shortcuts
            && let Some(end) = ascii_link(self.b, p, c, false)
        {
            return end;
        }
        match c {
            b'-' => self.end(p, rules::start_link("--")),
            _ => self.end(p, rules::start_link("==")),
        }
    }

    /// The tokens most of a large diagram is made of (a plain word, a run
    /// of spaces, a run of newlines, a link after a blank), recognised from
    /// the bytes without trying every rule in turn. `None` whenever a rule
    /// before the one that would take the token might match here (a
    /// keyword, a `direction` line, an edge id, a link, which starts with
    /// blanks or an `x`/`o` head): the rules then decide, so the token is
    /// always the one they produce.
    fn shortcut(&mut self, p: usize, b0: u8) -> Option<(T, usize)> {
        let run =
            |from: usize, x: u8| from + self.b[from..].iter().take_while(|&&c| c == x).count();
        // After blanks or newlines, what may start a link (or other blanks).
        let link_may_follow = |c: u8| {
            !c.is_ascii_graphic() || matches!(c, b'-' | b'=' | b'.' | b'~' | b'x' | b'o' | b'<')
        };
        match b0 {
            b'A'..=b'Z' | b'a'..=b'z' => {
                let w = p + self.b[p..]
                    .iter()
                    .take_while(|&&c| c.is_ascii_alphanumeric() || c == b'_')
                    .count();
                if is_keyword_word(&self.b[p..w]) || (matches!(b0, b'x' | b'o') && w == p + 1) {
                    return None;
                }
                if self.direction_at(p).is_some() || self.link_id(p).is_some() {
                    return None;
                }
                let e = if rules::ends_node_string(self.at(w)) {
                    w
                } else {
                    self.end(p, rules::node_string)?
                };
                Some((T::NodeString, e))
            }
            b' ' => {
                if self.direction_at(p).is_some() {
                    return None;
                }
                let e = run(p, b' ');
                let c = self.at(e);
                if matches!(c, b'-' | b'=' | b'.' | b'~') {
                    // No keyword or edge id starts with a blank: the link
                    // rules are the next that can match (` --> `).
                    return match self.links_then_rest(p, b0) {
                        Step::Token(t, e) => Some((t, e)),
                        _ => None,
                    };
                }
                if link_may_follow(c) {
                    return None;
                }
                Some((T::Space, e))
            }
            // Openers (and `|` after a link): no rule before the bracket
            // rules matches at one, except a `direction` line. (Not `>`: an
            // edge id may start with it.)
            b'[' | b'(' | b'{' | b'|' => {
                if self.direction_at(p).is_some() {
                    return None;
                }
                match self.after_links(p, b0) {
                    Step::Token(t, e) => Some((t, e)),
                    _ => None,
                }
            }
            // A `direction` line never starts at a newline (`.` stops there).
            b'\n' => {
                let e = run(p, b'\n');
                if link_may_follow(self.at(run(e, b' '))) {
                    return None;
                }
                Some((T::Newline, e))
            }
            _ => None,
        }
    }

    /// Rules 55 … 59 at `p`: the direction and end of the token. Asked at
    /// most tokens, so the common "no `direction` line here" (the next
    /// occurrence is on a later line) answers inline.
    #[inline]
    fn direction_at(&mut self, p: usize) -> Option<(Direction, usize)> {
        match self.dirs.all.get(self.dirs.cursor) {
            None => None,
            Some(&(d, line_start)) if d >= p && line_start > p => None,
            Some(_) => self.dirs.query(p),
        }
    }

    /// Rules 81 … 120 of the initial state.
    fn after_links(&mut self, p: usize, b0: u8) -> Step {
        // Rules 81 … 107.
        let step = match b0 {
            b'(' => self.brackets(p),
            b'[' if self.at(p + 1) == b'|' => Step::Token(T::PropsStart, p + 2),
            b'[' => self.square_open(p),
            b'>' => self.open((p + 1, T::TagEnd)),
            b'<' => Step::Token(T::TagStart, p + 1),
            b'^' => Step::Token(T::Up, p + 1),
            b'\\' if self.at(p + 1) == b'|' => Step::Token(T::Sep, p + 2),
            b'v' => self
                .end(p, keyword("v"))
                .map_or(Step::NoMatch, |e| Step::Token(T::Down, e)),
            _ => Step::NoMatch,
        };
        if !matches!(step, Step::NoMatch) {
            return step;
        }
        if rules::starts_node_string(b0)
            && let Some(e) = self.end(p, rules::node_string)
        {
            return Step::Token(T::NodeString, e);
        }
        if b0 == b'-' {
            return Step::Token(T::Minus, p + 1);
        }
        if b0 >= 0x80
            && let Some(e) = self.end(p, satisfy(is_unicode_text))
        {
            return Step::Token(T::UnicodeText, e);
        }
        match b0 {
            b'|' | b'(' | b'[' | b'{' => self.brackets(p),
            b'\n' => self
                .end(p, rules::newlines)
                .map_or(Step::NoMatch, |e| Step::Token(T::Newline, e)),
            // Rule 119 (12.3.0: a run of blanks, newlines excluded).
            _ => self
                .end(p, rules::blanks)
                .map_or(Step::NoMatch, |e| Step::Token(T::Space, e)),
        }
    }

    /// Rules 7 … 12: `@{` up to the first `}` outside a string. A `^`
    /// outside a string matches no rule of that state.
    fn shape_data(&mut self, p: usize) -> Result<Step, LexError> {
        let Some(i) = self.end(p, rules::shape_data_body) else {
            return Ok(Step::NoMatch);
        };
        match self.at(i) {
            b'}' => Ok(Step::Token(T::ShapeData, i + 1)),
            b'^' => Err(LexError { at: i }),
            _ => {
                // Unterminated block or string: jison runs out of input in
                // this state.
                self.done = true;
                self.pos = self.b.len();
                Ok(Step::Token(T::ShapeData, self.b.len()))
            }
        }
    }

    fn string(&mut self, p: usize) -> Step {
        if let Some((e, markdown)) = self.rule(p, rules::quote) {
            if markdown {
                self.last_open = p;
                self.push(St::MdStr);
            } else {
                self.pop();
            }
            return Step::Skip(e);
        }
        if p >= self.b.len() {
            return Step::NoMatch;
        }
        Step::Token(T::Str, self.end_or_eof(p, rules::string_text))
    }

    fn md_string(&mut self, p: usize) -> Step {
        if let Some(e) = self.end(p, tag("`\"")) {
            self.pop();
            return Step::Skip(e);
        }
        match self.at(p) {
            b'`' => self.tail(p),
            b'"' => self.quotes(p).unwrap_or(Step::NoMatch),
            _ if p >= self.b.len() => Step::NoMatch,
            _ => Step::Token(T::MdStr, self.end_or_eof(p, rules::md_string_text)),
        }
    }

    /// The `text` state (inside `[…]`, `(…)`, `{…}`, `|…|`, `>…]`).
    fn text_state(&mut self, p: usize) -> Step {
        let b0 = self.at(p);
        if self.shortcuts && b0.is_ascii_graphic() && !is_text_stop(b0) && b0 != b'~' {
            // Not a quote, a bracket or an invisible link (`\s*~~~`): only
            // the text rule can match. Scanning bytes is scanning characters
            // here, as every stop character is ASCII.
            let run = self.b[p..]
                .iter()
                .take_while(|&&c| !is_text_stop(c))
                .count();
            return Step::Token(T::Text, p + run);
        }
        if let Some(step) = self.quotes(p) {
            return step;
        }
        // `\s*~~~` needs a blank or `~` first.
        if (!b0.is_ascii_graphic() || b0 == b'~')
            && let Some(e) = self.end(p, rules::invisible_link)
        {
            return Step::Token(T::Link, e);
        }
        match b0 {
            b'(' | b'[' | b'{' => return self.brackets(p),
            b']' | b')' | b'|' | b'}' => {
                let closer = if self.shortcuts {
                    Some(self.closer_bytes(p, b0))
                } else {
                    self.closer_rule(p)
                };
                if let Some((e, t)) = closer {
                    self.pop();
                    return Step::Token(t, e);
                }
            }
            _ => {}
        }
        self.end(p, rules::text_run)
            .map_or(Step::NoMatch, |e| Step::Token(T::Text, e))
    }

    /// The closers of the `text` state as nom rules, in mermaid's order:
    /// `])`, `]]`, `]`, `)]`, `)))`, `)`, `|`, `}`.
    fn closer_rule(&self, p: usize) -> Option<(usize, T)> {
        self.rule(
            p,
            alt((
                value(T::StadiumEnd, tag("])")),
                value(T::SubroutineEnd, tag("]]")),
                value(T::Sqe, tag("]")),
                value(T::CylinderEnd, tag(")]")),
                value(T::DoubleCircleEnd, tag(")))")),
                value(T::Pe, tag(")")),
                value(T::Pipe, tag("|")),
                value(T::DiamondStop, tag("}")),
            )),
        )
    }

    /// [`Lexer::closer_rule`] from the bytes, for `b0` one of `])|}`: the
    /// tags are decided by the byte or two after the first.
    fn closer_bytes(&self, p: usize, b0: u8) -> (usize, T) {
        let (b1, b2) = (self.at(p + 1), self.at(p + 2));
        match (b0, b1, b2) {
            (b']', b')', _) => (p + 2, T::StadiumEnd),
            (b']', b']', _) => (p + 2, T::SubroutineEnd),
            (b']', _, _) => (p + 1, T::Sqe),
            (b')', b']', _) => (p + 2, T::CylinderEnd),
            (b')', b')', b')') => (p + 3, T::DoubleCircleEnd),
            (b')', _, _) => (p + 1, T::Pe),
            (b'|', _, _) => (p + 1, T::Pipe),
            _ => (p + 1, T::DiamondStop),
        }
    }

    /// The `ellipseText` state (inside `(-…-)`).
    fn ellipse(&mut self, p: usize) -> Step {
        if let Some(step) = self.quotes(p) {
            return step;
        }
        if let Some(e) = self.end(p, rules::invisible_link) {
            return Step::Token(T::Link, e);
        }
        if let Some(e) = self.end(p, rules::ellipse_end) {
            self.pop();
            return Step::Token(T::EllipseEnd, e);
        }
        if let Some(e) = self.end(p, rules::ellipse_char) {
            return Step::Token(T::Text, e);
        }
        self.brackets(p)
    }

    /// The `trapText` state (inside `[/…` and `[\…`).
    fn trap(&mut self, p: usize) -> Step {
        if let Some(step) = self.quotes(p) {
            return step;
        }
        if let Some(e) = self.end(p, rules::invisible_link) {
            return Step::Token(T::Link, e);
        }
        let c = self.at(p);
        let next = self.at(p + 1);
        if c == b'('
            && (next == b'-'
                || next == b'['
                || self.text.get(p..).is_some_and(|i| i.starts_with("(((")))
        {
            return self.brackets(p);
        }
        if c == b'[' && matches!(next, b'[' | b'(') {
            return self.square_open(p);
        }
        if let Some((e, trap)) = self.rule(p, rules::trap_end) {
            self.pop();
            return Step::Token(if trap { T::TrapEnd } else { T::InvTrapEnd }, e);
        }
        if let Some(e) = self.end(p, satisfy(|c| c == '/' || c == '\\')) {
            return Step::Token(T::Text, e);
        }
        if let Some(e) = self.end(p, rules::trap_text_run) {
            return Step::Token(T::Text, e);
        }
        self.brackets(p)
    }

    /// The three edge-text states; `c` is `-`, `=` or `.`.
    fn edge_text(&mut self, p: usize, c: char) -> Step {
        if let Some(step) = self.quotes(p) {
            return step;
        }
        let link = match c {
            '-' => self.solid_link(p, b'-'),
            '=' => self.solid_link(p, b'='),
            _ => self.end(p, rules::dotted_link),
        };
        if let Some(e) = link {
            self.pop();
            return Step::Token(T::Link, e);
        }
        // `[^-]|-(?!-)` (resp. `=`, or `.` not followed by `-`).
        let follower = if c == '.' { '-' } else { c };
        if let Some(e) = self.end(p, rules::edge_text_char(c, follower)) {
            return Step::Token(T::EdgeText, e);
        }
        if p >= self.b.len() {
            return Step::NoMatch;
        }
        self.tail(p)
    }

    fn click(&mut self, p: usize) -> Step {
        if let Some(step) = self.quotes(p) {
            return step;
        }
        if let Some(e) = self.end(p, satisfy(is_js_space)) {
            self.pop();
            return Step::Skip(e);
        }
        Step::Token(T::Click, self.end_or_eof(p, rules::click_text))
    }

    fn callback_name(&mut self, p: usize) -> Step {
        if let Some((e, empty)) = self.rule(p, rules::callback_open) {
            self.pop();
            if empty {
                return Step::Skip(e);
            }
            self.push(St::CallbackArgs);
            return Step::Skip(p + 1);
        }
        Step::Token(T::CallbackName, self.end_or_eof(p, rules::callback_name))
    }

    fn callback_args(&mut self, p: usize) -> Step {
        if let Some(e) = self.end(p, char(')')) {
            self.pop();
            return Step::Skip(e);
        }
        Step::Token(T::CallbackArgs, self.end_or_eof(p, rules::callback_args))
    }

    fn dir(&mut self, p: usize) -> Step {
        if let Some(step) = self.quotes(p) {
            return step;
        }
        // Rule 44: `(\r?\n)*\s*\n`.
        if let Some(e) = self.end(p, rules::no_dir) {
            self.pop();
            return Step::Token(T::NoDir, e);
        }
        if let Some(e) = self.end(p, preceded(rules::ws0, rules::dir_word)) {
            self.pop();
            return Step::Token(T::Dir, e);
        }
        self.tail(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tokens after the header line.
    fn body(src: &str) -> Vec<(T, String)> {
        let all = kinds(src);
        let nl = all.iter().position(|(t, _)| *t == T::Newline).unwrap_or(0);
        all[nl + 1..].to_vec()
    }

    fn kinds(src: &str) -> Vec<(T, String)> {
        let mut lx = Lexer::new(src);
        let mut out = Vec::new();
        loop {
            match lx.next() {
                Ok(t) if t.t == T::Done => break,
                Ok(t) => out.push((t.t, src[t.s..t.e].to_string())),
                Err(e) => {
                    out.push((T::Done, format!("error at {}", e.at)));
                    break;
                }
            }
        }
        out
    }

    /// Every token (or the error) a scanner produces.
    fn all(mut lx: Lexer<'_>) -> Vec<Result<Tok, usize>> {
        let mut out = Vec::new();
        loop {
            match lx.next() {
                Ok(t) if t.t == T::Done => return out,
                Ok(t) => out.push(Ok(t)),
                Err(e) => {
                    out.push(Err(e.at));
                    return out;
                }
            }
        }
    }

    fn assert_shortcuts_agree(text: &str) {
        assert_eq!(
            all(Lexer::new(text)),
            all(Lexer::without_shortcuts(text)),
            "shortcut tokens differ from the rules' on {text:?}"
        );
    }

    #[test]
    fn shortcuts_agree_with_the_rules() {
        // Pieces chosen to sit on every edge of the shortcuts: keywords and
        // their prefixes, link heads after words and blanks, `direction`
        // lines, edge ids, brackets, non-ASCII, tabs.
        const PIECES: [&str; 48] = [
            "A",
            "svc12",
            "x",
            "o",
            "xo",
            "v",
            "vv",
            "end",
            "endpoint",
            "end.x",
            "style",
            "styles",
            "class",
            "classDef",
            "click",
            "call",
            "href",
            "graph",
            "flowchart",
            "flowchart-elk",
            "subgraph",
            "default",
            "accTitle",
            "accDescr",
            "_self",
            " ",
            "  ",
            "\t",
            "\n",
            "\n\n",
            "\n  ",
            "-->",
            "---",
            "--",
            "-.",
            ".-",
            "==>",
            "~~~",
            "-",
            "=",
            "|",
            "[",
            "]",
            "(",
            ")",
            "e1@",
            "@{ a: b }",
            "direction LR",
        ];
        const MORE: [&str; 15] = [
            "\"", ":::", ";", "&", ",", "é", "1", "a-b", "a=b", ":", "{", "}", ">", "[|", "\u{a0}",
        ];
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..3000 {
            let mut text = String::from("flowchart LR\n");
            for _ in 0..12 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let i = (state % (PIECES.len() + MORE.len()) as u64) as usize;
                text.push_str(PIECES.get(i).unwrap_or_else(|| &MORE[i - PIECES.len()]));
            }
            text.push('\n');
            assert_shortcuts_agree(&text);
        }
        for fixed in [
            "graph TD\nA --> B\n  direction LR\nsubgraph s\n  x-->o\nend\n",
            "graph TD\nA[Orders 1] -->|Paid| B(View)\nB --- C{Valid?}\n",
            "graph TD\nA e1@--> B\ne1@{ animate: true }\nclick A call f()\n",
        ] {
            assert_shortcuts_agree(fixed);
        }
    }

    #[test]
    fn keyword_prefixes_follow_mermaid() {
        let k = body("graph TD\nend.node\n");
        assert_eq!(k[0].0, T::End);
        let k = body("graph TD\nendpoint\n");
        assert_eq!(k[0], (T::NodeString, "endpoint".into()));
        let k = body("graph TD\ndefault.node\n");
        assert_eq!(k[0].0, T::Default);
        let k = body("graph TD\nclick-node\n");
        assert_eq!(k[0], (T::NodeString, "click-node".into()));
    }

    #[test]
    fn dev_dash_ops_is_a_circle_link() {
        let k = body("graph TD\ndev---ops\n");
        assert_eq!(k[0], (T::NodeString, "dev".into()));
        assert_eq!(k[1], (T::Link, "---o".into()));
        assert_eq!(k[2], (T::NodeString, "ps".into()));
    }

    #[test]
    fn links_swallow_newlines() {
        let k = body("graph TD\nA -->\n B\n");
        assert_eq!(k[1], (T::Link, " -->\n ".into()));
        let k = body("graph TD\nA<--xB\n");
        assert_eq!(k[1], (T::Link, "<--x".into()));
    }

    #[test]
    fn direction_rule_takes_the_whole_line() {
        let k = body("graph TD\n  direction LR\n");
        assert_eq!(k[0], (T::Direction(Direction::LR), "  direction LR".into()));
    }

    #[test]
    fn edge_ids_stop_at_brackets() {
        let k = body("graph TD\nA e1@--> B[mail@host]\n");
        assert!(k.contains(&(T::LinkId, "e1@".into())));
        assert!(k.contains(&(T::Text, "mail@host".into())));
    }
}
