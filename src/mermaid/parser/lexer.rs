//! The scanner: mermaid's flowchart lexer rules, in mermaid's order, with its
//! state stack.
//!
//! Mermaid's quirks are lexer quirks: jison tries the rules of the current
//! state in the order they are written and takes the first that matches (not
//! the longest), so `end.x` is the keyword `end` followed by `.x`, `dev---ops`
//! is `dev`, `---o`, `ps`, a link token swallows the blanks and newlines
//! around it, and brackets push and pop "text" states that decide what a
//! label may contain. This module reproduces those rules one by one (rule
//! numbers in comments refer to mermaid 12.3.0's compiled lexer), on demand,
//! with no regex engine: each rule is a hand-written matcher that never
//! backtracks more than a few bytes, so the whole scan is linear.

use super::super::flow::Direction;
use super::super::prep::{is_js_line_end, is_js_space, is_word_byte};
use super::super::unicode::is_unicode_text;

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
    fn build(text: &str) -> DirIndex {
        let mut idx = DirIndex::default();
        let b = text.as_bytes();
        let mut line_start = 0;
        let mut scanned = 0;
        let mut from = 0;
        let rare_breaks = text.contains(['\r', '\u{2028}', '\u{2029}']);
        while let Some(rel) = text[from..].find("direction") {
            let d = from + rel;
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
            let j = d + 9;
            let k = skip_js_space(text, j);
            if k == j {
                continue;
            }
            for (n, (word, _)) in DIR_KINDS.iter().enumerate() {
                if b[k..].starts_with(word) {
                    let end = text[k + 2..].find('\n').map_or(b.len(), |i| k + 2 + i);
                    idx.kinds[n].push((line_start, d, end));
                    idx.all.push((d, line_start));
                }
            }
        }
        idx
    }

    fn is_empty(&self) -> bool {
        self.kinds.iter().all(Vec::is_empty)
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

/// JavaScript `\s*` from `from`.
pub(crate) fn skip_js_space(text: &str, from: usize) -> usize {
    let b = text.as_bytes();
    let mut i = from;
    while i < b.len() {
        let c = b[i];
        if c < 0x80 {
            if matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0B | 0x0C) {
                i += 1;
                continue;
            }
            return i;
        }
        match text[i..].chars().next() {
            Some(ch) if is_js_space(ch) => i += ch.len_utf8(),
            _ => return i,
        }
    }
    i
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
    last_open: usize,
}

impl<'a> Lexer<'a> {
    /// A scanner over preprocessed text.
    pub fn new(text: &'a str) -> Self {
        Lexer {
            text,
            b: text.as_bytes(),
            pos: 0,
            stack: vec![St::Initial],
            first_graph: true,
            done: false,
            dirs: DirIndex::build(text),
            has_at: text.contains('@'),
            link_id_run: (usize::MAX, 0, None),
            last_open: 0,
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

    fn starts(&self, p: usize, s: &[u8]) -> bool {
        self.b
            .get(p..p + s.len())
            .is_some_and(|r| r.iter().zip(s).all(|(a, b)| a == b))
    }

    /// `word\b`.
    fn keyword(&self, p: usize, word: &[u8]) -> bool {
        self.starts(p, word) && !is_word_byte(self.at(p + word.len()))
    }

    fn ws(&self, p: usize) -> usize {
        skip_js_space(self.text, p)
    }

    /// The next token.
    pub fn next(&mut self) -> Result<Tok, LexError> {
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
                St::EdgeText => self.edge_text(p, b'-'),
                St::ThickEdgeText => self.edge_text(p, b'='),
                St::DottedEdgeText => self.edge_text(p, b'.'),
                St::Click => self.click(p),
                St::CallbackName => self.callback_name(p),
                St::CallbackArgs => self.callback_args(p),
                St::AccTitle | St::AccDescr => {
                    let end = self.text[p..].find('\n').map_or(self.b.len(), |i| p + i);
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
                    if self.at(p) == b'}' {
                        self.pop();
                        Step::Skip(p + 1)
                    } else {
                        let end = self.text[p..].find('}').map_or(self.b.len(), |i| p + i);
                        Step::Token(T::AccDescrMultiValue, end)
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
        self.last_open = p;
        if self.at(p + 1) == b'`' {
            self.push(St::MdStr);
            Some(Step::Skip(p + 2))
        } else {
            self.push(St::Str);
            Some(Step::Skip(p + 1))
        }
    }

    /// The `<*>` rules after the quotes: 78 `~~~`, 81 `(-`, 83 `([`, 85 `[[`,
    /// 89 `[(`, 91 `(((`, 95 `[/`, 96 `[\`, 109 `|`, 111 `(`, 113 `[`, 115 `{`.
    fn tail(&mut self, p: usize) -> Step {
        if let Some(e) = self.invisible_link(p) {
            return Step::Token(T::Link, e);
        }
        self.brackets(p)
    }

    /// The bracket part of the `<*>` rules (81 … 115 except `~~~`).
    fn brackets(&mut self, p: usize) -> Step {
        match self.at(p) {
            b'(' => {
                if self.at(p + 1) == b'-' {
                    self.push(St::Ellipse);
                    Step::Token(T::EllipseStart, p + 2)
                } else if self.at(p + 1) == b'[' {
                    self.push(St::Text);
                    Step::Token(T::StadiumStart, p + 2)
                } else if self.starts(p, b"(((") {
                    self.push(St::Text);
                    Step::Token(T::DoubleCircleStart, p + 3)
                } else {
                    self.push(St::Text);
                    Step::Token(T::Ps, p + 1)
                }
            }
            b'[' => self.square_open(p),
            b'|' => {
                self.push(St::Text);
                Step::Token(T::Pipe, p + 1)
            }
            b'{' => {
                self.push(St::Text);
                Step::Token(T::DiamondStart, p + 1)
            }
            _ => Step::NoMatch,
        }
    }

    /// Rules 85 `[[`, 89 `[(`, 95 `[/`, 96 `[\`, 113 `[`.
    fn square_open(&mut self, p: usize) -> Step {
        match self.at(p + 1) {
            b'[' => {
                self.push(St::Text);
                Step::Token(T::SubroutineStart, p + 2)
            }
            b'(' => {
                self.push(St::Text);
                Step::Token(T::CylinderStart, p + 2)
            }
            b'/' => {
                self.push(St::Trap);
                Step::Token(T::TrapStart, p + 2)
            }
            b'\\' => {
                self.push(St::Trap);
                Step::Token(T::InvTrapStart, p + 2)
            }
            _ => {
                self.push(St::Text);
                Step::Token(T::Sqs, p + 1)
            }
        }
    }

    /// Rule 78: `\s*~~[~]+\s*`.
    fn invisible_link(&self, p: usize) -> Option<usize> {
        let q = self.ws(p);
        let mut r = q;
        while self.at(r) == b'~' {
            r += 1;
        }
        (r - q >= 3).then(|| self.ws(r))
    }

    /// Rules 69 / 72: `\s*[xo<]?CC+[Cxo>]\s*` for `C` in `-`, `=`.
    fn solid_link(&self, p: usize, c: u8) -> Option<usize> {
        let q = self.ws(p);
        let attempt = |r: usize| -> Option<usize> {
            let mut n = r;
            while self.at(n) == c {
                n += 1;
            }
            let count = n - r;
            // `CC+` then one of `Cxo>`: a closing x/o/> after the run, or
            // the run's own last character when it is three or longer.
            if count >= 2 && matches!(self.at(n), b'x' | b'o' | b'>') {
                Some(n + 1)
            } else if count >= 3 {
                Some(n)
            } else {
                None
            }
        };
        let end = if matches!(self.at(q), b'x' | b'o' | b'<') {
            attempt(q + 1).or_else(|| attempt(q))
        } else {
            attempt(q)
        }?;
        Some(self.ws(end))
    }

    /// Rules 70 / 73: `\s*[xo<]?CC\s*`.
    fn start_link(&self, p: usize, c: u8) -> Option<usize> {
        let q = self.ws(p);
        let pair = [c, c];
        if matches!(self.at(q), b'x' | b'o' | b'<') && self.starts(q + 1, &pair) {
            return Some(self.ws(q + 3));
        }
        self.starts(q, &pair).then(|| self.ws(q + 2))
    }

    /// Rule 75: `\s*[xo<]?-?\.+-[xo>]?\s*`.
    fn dotted_link(&self, p: usize) -> Option<usize> {
        let q = self.ws(p);
        let from_dots = |r: usize| -> Option<usize> {
            let mut n = r;
            while self.at(n) == b'.' {
                n += 1;
            }
            if n == r || self.at(n) != b'-' {
                return None;
            }
            let mut e = n + 1;
            if matches!(self.at(e), b'x' | b'o' | b'>') {
                e += 1;
            }
            Some(e)
        };
        let after_head = |r: usize| -> Option<usize> {
            if self.at(r) == b'-' {
                from_dots(r + 1).or_else(|| from_dots(r))
            } else {
                from_dots(r)
            }
        };
        let end = if matches!(self.at(q), b'x' | b'o' | b'<') {
            after_head(q + 1).or_else(|| after_head(q))
        } else {
            after_head(q)
        }?;
        Some(self.ws(end))
    }

    /// Rule 76: `\s*[xo<]?-\.\s*`.
    fn dotted_start(&self, p: usize) -> Option<usize> {
        let q = self.ws(p);
        if matches!(self.at(q), b'x' | b'o' | b'<') && self.starts(q + 1, b"-.") {
            return Some(self.ws(q + 3));
        }
        self.starts(q, b"-.").then(|| self.ws(q + 2))
    }

    /// Rule 60 (12.3.0): `[^\s"\[\](){}|]+@(?=[^{"])`.
    fn link_id(&mut self, p: usize) -> Option<usize> {
        if !self.has_at {
            return None;
        }
        let (from, run_end, last) = self.link_id_run;
        let last = if from <= p && p < run_end {
            last
        } else {
            let mut i = p;
            let mut last = None;
            while i < self.b.len() {
                let c = self.b[i];
                let len = if c < 0x80 {
                    if c.is_ascii_whitespace()
                        || c == 0x0B
                        || matches!(c, b'"' | b'[' | b']' | b'(' | b')' | b'{' | b'}' | b'|')
                    {
                        break;
                    }
                    1
                } else {
                    match self.text[i..].chars().next() {
                        Some(ch) if is_js_space(ch) => break,
                        Some(ch) => ch.len_utf8(),
                        None => break,
                    }
                };
                if c == b'@' && i + 1 < self.b.len() && !matches!(self.b[i + 1], b'{' | b'"') {
                    last = Some(i);
                }
                i += len;
            }
            self.link_id_run = (p, i, last);
            last
        };
        last.filter(|&at| at > p).map(|at| at + 1)
    }

    /// Rule 105: `([A-Za-z0-9!"#$%&'*+.`?\\_/]|-(?=[^>\-.])|=(?!=))+`.
    fn node_string(&self, p: usize) -> Option<usize> {
        let mut i = p;
        while i < self.b.len() {
            let c = self.b[i];
            let ok = c.is_ascii_alphanumeric()
                || matches!(
                    c,
                    b'!' | b'"'
                        | b'#'
                        | b'$'
                        | b'%'
                        | b'&'
                        | b'\''
                        | b'*'
                        | b'+'
                        | b'.'
                        | b'`'
                        | b'?'
                        | b'\\'
                        | b'_'
                        | b'/'
                )
                || (c == b'-'
                    && i + 1 < self.b.len()
                    && !matches!(self.b[i + 1], b'>' | b'-' | b'.'))
                || (c == b'=' && self.at(i + 1) != b'=');
            if !ok {
                break;
            }
            i += 1;
        }
        (i > p).then_some(i)
    }

    /// The initial state: rules 0 … 120 in order.
    fn initial(&mut self, p: usize) -> Result<Step, LexError> {
        let b0 = self.at(p);
        if p >= self.b.len() {
            return Ok(Step::Token(T::Eof, p)); // rule 120
        }
        match b0 {
            b'a' if self.starts(p, b"accTitle") => {
                let q = self.ws(p + 8);
                if self.at(q) == b':' {
                    self.push(St::AccTitle);
                    return Ok(Step::Token(T::AccTitle, self.ws(q + 1)));
                }
            }
            b'a' if self.starts(p, b"accDescr") => {
                let q = self.ws(p + 8);
                if self.at(q) == b':' {
                    self.push(St::AccDescr);
                    return Ok(Step::Token(T::AccDescr, self.ws(q + 1)));
                }
                if self.at(q) == b'{' {
                    self.push(St::AccDescrMulti);
                    return Ok(Step::Skip(self.ws(q + 1)));
                }
            }
            b'@' if self.at(p + 1) == b'{' => return self.shape_data(p),
            b'c' if self.starts(p, b"call") => {
                let q = self.ws(p + 4);
                if q > p + 4 {
                    self.push(St::CallbackName);
                    return Ok(Step::Skip(q));
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
            b's' if self.keyword(p, b"style") => Some((T::Style, p + 5)),
            b'd' if self.keyword(p, b"default") => Some((T::Default, p + 7)),
            b'l' if self.keyword(p, b"linkStyle") => Some((T::LinkStyle, p + 9)),
            b'i' if self.keyword(p, b"interpolate") => Some((T::Interpolate, p + 11)),
            b'c' if self.keyword(p, b"classDef") => Some((T::ClassDef, p + 8)),
            b'c' if self.keyword(p, b"class") => Some((T::Class, p + 5)),
            b'h' if self.starts(p, b"href")
                && self.text[p + 4..].chars().next().is_some_and(is_js_space) =>
            {
                let len = self.text[p + 4..].chars().next().map_or(1, char::len_utf8);
                Some((T::Href, p + 4 + len))
            }
            _ => None,
        };
        if let Some((t, e)) = kw {
            return Ok(Step::Token(t, e));
        }
        if b0 == b'c' && self.starts(p, b"click") {
            let q = self.ws(p + 5);
            if q > p + 5 {
                self.push(St::Click);
                return Ok(Step::Skip(q));
            }
        }
        let graph = match b0 {
            b'f' if self.keyword(p, b"flowchart-elk") => Some(p + 13),
            b'g' if self.keyword(p, b"graph") => Some(p + 5),
            b'f' if self.keyword(p, b"flowchart") => Some(p + 9),
            _ => None,
        };
        if let Some(e) = graph {
            if self.first_graph {
                self.first_graph = false;
                self.push(St::Dir);
            }
            return Ok(Step::Token(T::Graph, e));
        }
        if b0 == b's' && self.keyword(p, b"subgraph") {
            return Ok(Step::Token(T::Subgraph, p + 8));
        }
        if b0 == b'e' && self.keyword(p, b"end") {
            return Ok(Step::Token(T::End, self.ws(p + 3)));
        }
        if b0 == b'_' {
            for target in [&b"_self"[..], b"_blank", b"_parent", b"_top"] {
                if self.keyword(p, target) {
                    return Ok(Step::Token(T::LinkTarget, p + target.len()));
                }
            }
        }
        // Rules 55 … 59: `.*direction\s+XX[^\n]*`.
        if !self.dirs.is_empty()
            && let Some((d, e)) = self.dirs.query(p)
        {
            return Ok(Step::Token(T::Direction(d), e));
        }
        if let Some(e) = self.link_id(p) {
            return Ok(Step::Token(T::LinkId, e));
        }
        let simple = match b0 {
            b'0'..=b'9' => {
                let e = self.b[p..]
                    .iter()
                    .position(|c| !c.is_ascii_digit())
                    .map_or(self.b.len(), |i| p + i);
                Some((T::Num, e))
            }
            b'#' => Some((T::Brkt, p + 1)),
            b':' if self.starts(p, b":::") => Some((T::StyleSeparator, p + 3)),
            b':' => Some((T::Colon, p + 1)),
            b'&' => Some((T::Amp, p + 1)),
            b';' => Some((T::Semi, p + 1)),
            b',' => Some((T::Comma, p + 1)),
            b'*' => Some((T::Mult, p + 1)),
            _ => None,
        };
        if let Some((t, e)) = simple {
            return Ok(Step::Token(t, e));
        }
        // Rules 69 … 78: links. All may start with blanks, then one of `xo<-=.~`.
        let q = self.ws(p);
        if !matches!(self.at(q), b'x' | b'o' | b'<' | b'-' | b'=' | b'.' | b'~') {
            return Ok(self.after_links(p, b0));
        }
        if let Some(e) = self.solid_link(p, b'-') {
            return Ok(Step::Token(T::Link, e));
        }
        if let Some(e) = self.start_link(p, b'-') {
            self.push(St::EdgeText);
            return Ok(Step::Token(T::StartLink, e));
        }
        if let Some(e) = self.solid_link(p, b'=') {
            return Ok(Step::Token(T::Link, e));
        }
        if let Some(e) = self.start_link(p, b'=') {
            self.push(St::ThickEdgeText);
            return Ok(Step::Token(T::StartLink, e));
        }
        if let Some(e) = self.dotted_link(p) {
            return Ok(Step::Token(T::Link, e));
        }
        if let Some(e) = self.dotted_start(p) {
            self.push(St::DottedEdgeText);
            return Ok(Step::Token(T::StartLink, e));
        }
        if let Some(e) = self.invisible_link(p) {
            return Ok(Step::Token(T::Link, e));
        }
        Ok(self.after_links(p, b0))
    }

    /// Rules 81 … 120 of the initial state.
    fn after_links(&mut self, p: usize, b0: u8) -> Step {
        // Rules 81 … 107.
        let step = match b0 {
            b'(' => self.brackets(p),
            b'[' if self.at(p + 1) == b'|' => Step::Token(T::PropsStart, p + 2),
            b'[' => self.square_open(p),
            b'>' => {
                self.push(St::Text);
                Step::Token(T::TagEnd, p + 1)
            }
            b'<' => Step::Token(T::TagStart, p + 1),
            b'^' => Step::Token(T::Up, p + 1),
            b'\\' if self.at(p + 1) == b'|' => Step::Token(T::Sep, p + 2),
            b'v' if !is_word_byte(self.at(p + 1)) => Step::Token(T::Down, p + 1),
            _ => Step::NoMatch,
        };
        if !matches!(step, Step::NoMatch) {
            return step;
        }
        if let Some(e) = self.node_string(p) {
            return Step::Token(T::NodeString, e);
        }
        if b0 == b'-' {
            return Step::Token(T::Minus, p + 1);
        }
        if b0 >= 0x80
            && let Some(c) = self.text[p..].chars().next()
            && is_unicode_text(c)
        {
            return Step::Token(T::UnicodeText, p + c.len_utf8());
        }
        match b0 {
            b'|' | b'(' | b'[' | b'{' => self.brackets(p),
            b'\n' => {
                let e = self.b[p..]
                    .iter()
                    .position(|&c| c != b'\n')
                    .map_or(self.b.len(), |i| p + i);
                Step::Token(T::Newline, e)
            }
            _ => {
                // Rule 119 (12.3.0: a run of blanks, newlines excluded).
                let mut e = p;
                for (i, c) in self.text[p..].char_indices() {
                    if c == '\n' || !is_js_space(c) {
                        break;
                    }
                    e = p + i + c.len_utf8();
                }
                if e > p {
                    Step::Token(T::Space, e)
                } else {
                    Step::NoMatch
                }
            }
        }
    }

    /// Rules 7 … 12: `@{` up to the first `}` outside a string. A `^`
    /// outside a string matches no rule of that state.
    fn shape_data(&mut self, p: usize) -> Result<Step, LexError> {
        let mut i = p + 2;
        loop {
            match self.b.get(i) {
                None => {
                    // Unterminated: jison runs out of input in this state.
                    self.done = true;
                    self.pos = self.b.len();
                    return Ok(Step::Token(T::ShapeData, self.b.len()));
                }
                Some(b'"') => match self.text[i + 1..].find('"') {
                    Some(k) => i = i + 1 + k + 1,
                    None => {
                        self.done = true;
                        return Ok(Step::Token(T::ShapeData, self.b.len()));
                    }
                },
                Some(b'}') => return Ok(Step::Token(T::ShapeData, i + 1)),
                Some(b'^') => return Err(LexError { at: i }),
                Some(_) => i += 1,
            }
        }
    }

    fn string(&mut self, p: usize) -> Step {
        if self.at(p) == b'"' {
            if self.at(p + 1) == b'`' {
                self.last_open = p;
                self.push(St::MdStr);
                return Step::Skip(p + 2);
            }
            self.pop();
            return Step::Skip(p + 1);
        }
        if p >= self.b.len() {
            return Step::NoMatch;
        }
        let e = self.text[p..].find('"').map_or(self.b.len(), |i| p + i);
        Step::Token(T::Str, e)
    }

    fn md_string(&mut self, p: usize) -> Step {
        match self.at(p) {
            b'`' if self.at(p + 1) == b'"' => {
                self.pop();
                Step::Skip(p + 2)
            }
            b'`' => self.tail(p),
            b'"' => self.quotes(p).unwrap_or(Step::NoMatch),
            _ if p >= self.b.len() => Step::NoMatch,
            _ => {
                let e = self.b[p..]
                    .iter()
                    .position(|&c| c == b'`' || c == b'"')
                    .map_or(self.b.len(), |i| p + i);
                Step::Token(T::MdStr, e)
            }
        }
    }

    /// The `text` state (inside `[…]`, `(…)`, `{…}`, `|…|`, `>…]`).
    fn text_state(&mut self, p: usize) -> Step {
        if let Some(step) = self.quotes(p) {
            return step;
        }
        if let Some(e) = self.invisible_link(p) {
            return Step::Token(T::Link, e);
        }
        let c = self.at(p);
        let close = |lx: &mut Self, t: T, len: usize| {
            lx.pop();
            Step::Token(t, p + len)
        };
        match c {
            b'(' => self.brackets(p),
            b']' if self.at(p + 1) == b')' => close(self, T::StadiumEnd, 2),
            b']' if self.at(p + 1) == b']' => close(self, T::SubroutineEnd, 2),
            b']' => close(self, T::Sqe, 1),
            b'[' => self.square_open(p),
            b')' if self.at(p + 1) == b']' => close(self, T::CylinderEnd, 2),
            b')' if self.starts(p, b")))") => close(self, T::DoubleCircleEnd, 3),
            b')' => close(self, T::Pe, 1),
            b'|' => close(self, T::Pipe, 1),
            b'}' => close(self, T::DiamondStop, 1),
            b'{' => self.brackets(p),
            _ if p >= self.b.len() => Step::NoMatch,
            _ => {
                let e = self.b[p..]
                    .iter()
                    .position(|&c| {
                        matches!(c, b'[' | b']' | b'(' | b')' | b'{' | b'}' | b'|' | b'"')
                    })
                    .map_or(self.b.len(), |i| p + i);
                Step::Token(T::Text, e)
            }
        }
    }

    /// The `ellipseText` state (inside `(-…-)`).
    fn ellipse(&mut self, p: usize) -> Step {
        if let Some(step) = self.quotes(p) {
            return step;
        }
        if let Some(e) = self.invisible_link(p) {
            return Step::Token(T::Link, e);
        }
        let c = self.at(p);
        if matches!(c, b'-' | b'/' | b')') && self.at(p + 1) == b')' {
            self.pop();
            return Step::Token(T::EllipseEnd, p + 2);
        }
        if p >= self.b.len() {
            return Step::NoMatch;
        }
        if !matches!(c, b'(' | b')' | b'[' | b']' | b'{' | b'}') {
            let len = self.text[p..].chars().next().map_or(1, char::len_utf8);
            return Step::Token(T::Text, p + len);
        }
        self.brackets(p)
    }

    /// The `trapText` state (inside `[/…` and `[\…`).
    fn trap(&mut self, p: usize) -> Step {
        if let Some(step) = self.quotes(p) {
            return step;
        }
        if let Some(e) = self.invisible_link(p) {
            return Step::Token(T::Link, e);
        }
        let c = self.at(p);
        let next = self.at(p + 1);
        if c == b'(' && (next == b'-' || next == b'[' || self.starts(p, b"(((")) {
            return self.brackets(p);
        }
        if c == b'[' && matches!(next, b'[' | b'(') {
            return self.square_open(p);
        }
        if matches!(c, b'\\' | b'(' | b'?' | b'=' | b']' | b')') && next == b']' {
            self.pop();
            return Step::Token(T::TrapEnd, p + 2);
        }
        if c == b'/' && next == b']' {
            self.pop();
            return Step::Token(T::InvTrapEnd, p + 2);
        }
        if c == b'/' || c == b'\\' {
            return Step::Token(T::Text, p + 1);
        }
        if p < self.b.len() && !matches!(c, b'[' | b']' | b'(' | b')' | b'{' | b'}') {
            let e = self.b[p..]
                .iter()
                .position(|&c| matches!(c, b'\\' | b'[' | b']' | b'(' | b')' | b'{' | b'}' | b'/'))
                .map_or(self.b.len(), |i| p + i);
            return Step::Token(T::Text, e);
        }
        self.brackets(p)
    }

    /// The three edge-text states; `c` is `-`, `=` or `.`.
    fn edge_text(&mut self, p: usize, c: u8) -> Step {
        if let Some(step) = self.quotes(p) {
            return step;
        }
        let link = match c {
            b'-' => self.solid_link(p, b'-'),
            b'=' => self.solid_link(p, b'='),
            _ => self.dotted_link(p),
        };
        if let Some(e) = link {
            self.pop();
            return Step::Token(T::Link, e);
        }
        if p >= self.b.len() {
            return Step::NoMatch;
        }
        let here = self.at(p);
        // `[^-]|-(?!-)` (resp. `=`, or `.` not followed by `-`).
        let follower = if c == b'.' { b'-' } else { c };
        if here != c || self.at(p + 1) != follower {
            let len = self.text[p..].chars().next().map_or(1, char::len_utf8);
            return Step::Token(T::EdgeText, p + len);
        }
        self.tail(p)
    }

    fn click(&mut self, p: usize) -> Step {
        if let Some(step) = self.quotes(p) {
            return step;
        }
        if let Some(ch) = self.text[p..].chars().next()
            && is_js_space(ch)
        {
            self.pop();
            return Step::Skip(p + ch.len_utf8());
        }
        let e = self.text[p..]
            .char_indices()
            .find(|&(_, c)| is_js_space(c))
            .map_or(self.b.len(), |(i, _)| p + i);
        Step::Token(T::Click, e)
    }

    fn callback_name(&mut self, p: usize) -> Step {
        if self.at(p) == b'(' {
            let q = self.ws(p + 1);
            self.pop();
            if self.at(q) == b')' {
                return Step::Skip(q + 1);
            }
            self.push(St::CallbackArgs);
            return Step::Skip(p + 1);
        }
        let e = self.text[p..].find('(').map_or(self.b.len(), |i| p + i);
        Step::Token(T::CallbackName, e)
    }

    fn callback_args(&mut self, p: usize) -> Step {
        if self.at(p) == b')' {
            self.pop();
            return Step::Skip(p + 1);
        }
        let e = self.text[p..].find(')').map_or(self.b.len(), |i| p + i);
        Step::Token(T::CallbackArgs, e)
    }

    fn dir(&mut self, p: usize) -> Step {
        if let Some(step) = self.quotes(p) {
            return step;
        }
        // Rule 44: `(\r?\n)*\s*\n`.
        let q = self.ws(p);
        if let Some(nl) = self.text[p..q].rfind('\n') {
            self.pop();
            return Step::Token(T::NoDir, p + nl + 1);
        }
        for word in [&b"LR"[..], b"RL", b"TB", b"BT", b"TD", b"BR"] {
            if self.keyword(q, word) {
                self.pop();
                return Step::Token(T::Dir, q + 2);
            }
        }
        if matches!(self.at(q), b'<' | b'>' | b'^') {
            self.pop();
            return Step::Token(T::Dir, q + 1);
        }
        if self.keyword(q, b"v") {
            self.pop();
            return Step::Token(T::Dir, q + 1);
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
