//! Mermaid's text preprocessing, replayed step by step so the grammar sees
//! exactly what mermaid.js's grammar sees: CRLF folding and HTML attribute
//! quote swapping (`cleanupText`), the YAML frontmatter cut, `%%{…}%%`
//! directive removal, `%%` comment-line removal and `trimStart`
//! (`cleanupComments`), the entity pre-step of `encodeEntities` (including
//! its `style …: #x;` quirk), the flow parser's `}␠\n` → `}\n` rewrite and
//! the trailing newline mermaid appends.
//!
//! Each step that changes the text records a piecewise map back to its
//! input, so every span the parser produces can be turned into a byte offset
//! in the original source ([`OffsetMap::to_source`]). Every step is a single
//! left-to-right scan: linear in the input, no backtracking regexes.
//!
//! The two recognisers with real structure, the frontmatter fence
//! (`^-{3}\s*[\n\r](.*?)[\n\r]-{3}\s*[\n\r]+`) and the `%%{…}%%` directive,
//! are nom parsers over `&str`. The other steps are "find a byte, rewrite
//! around it" passes; each starts with a memchr-backed check (`str::find` /
//! `contains` on a char or short needle) so text with nothing to rewrite is
//! not copied or rescanned.

use nom::branch::alt;
use nom::bytes::complete::{tag, take_till, take_while, take_while1};
use nom::character::complete::{char, satisfy};
use nom::combinator::{not, opt, recognize};
use nom::multi::many0_count;
use nom::sequence::preceded;
use nom::{IResult, Parser};

use super::ast::{Comment, Directive, Frontmatter, Item};
use super::diagnostics::Span;

/// What mermaid hands to its flowchart grammar, plus what was cut on the way.
pub(crate) struct Prepared {
    /// The text the grammar runs on.
    pub text: String,
    /// What the source holds, which the text holds at most (no step adds
    /// any of these bytes).
    pub summary: ByteSummary,
    /// Maps offsets in `text` back to the original source.
    pub map: OffsetMap,
    /// The frontmatter block, if any.
    pub frontmatter: Option<Frontmatter>,
    /// Removed comments and directives, in source order (original offsets).
    pub trivia: Vec<Item>,
    /// Where `direction` occurs in `text`, in order, when the summarising
    /// copy found them and no later step changed the text; `None` leaves
    /// the search to the scanner.
    pub directions: Option<Vec<usize>>,
    /// Source offsets of the `;` that the `style …;`/`classDef …;` pre-pass
    /// dropped, ascending. It runs on the text as mermaid has it then, with
    /// directives and comments cut, so a `;` cut with a directive does not
    /// count and an earlier `;` on the line may be the one dropped.
    pub style_drops: Vec<usize>,
}

/// Which of the bytes that the preprocessing steps and the scanner look
/// for may occur in a text, and its line count, from one pass over it.
///
/// Each step used to ask its own question of the whole text (`\r`? `<`?
/// `%%`? `;`? `}`? `@`?): a dozen scans, which on a diagram of megabytes
/// each stream the text from memory again. A `false` here is certain; a
/// `true` for the source still holds for the preprocessed text only as
/// "may occur", since steps remove text.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ByteSummary {
    /// `\r`
    pub cr: bool,
    /// `<`
    pub lt: bool,
    /// `%`
    pub percent: bool,
    /// `;`
    pub semi: bool,
    /// `}`
    pub close_brace: bool,
    /// `@`
    pub at: bool,
    /// 0xE2, the first byte of `\u{2028}` and `\u{2029}`.
    pub e2: bool,
    /// The number of `\n` bytes.
    pub newlines: usize,
}

impl ByteSummary {
    /// The summary of `text` (the parse gets it from
    /// [`copy_summarized`]).
    #[cfg(test)]
    pub fn of(text: &str) -> ByteSummary {
        let mut s = ByteSummary::default();
        s.add(text.as_bytes());
        s
    }

    /// Adds what `bytes` hold: the summary of two texts added is the
    /// summary of the two one after the other.
    fn add(&mut self, bytes: &[u8]) {
        let s = self;
        // Per block of at most 255 bytes, so the newline count fits a `u8`;
        // flags and count as bytes, which the compiler turns into wide
        // compares.
        for block in bytes.chunks(255) {
            let (mut cr, mut lt, mut pc, mut semi) = (0u8, 0u8, 0u8, 0u8);
            let (mut close, mut at, mut e2, mut nl) = (0u8, 0u8, 0u8, 0u8);
            for &c in block {
                cr |= u8::from(c == b'\r');
                lt |= u8::from(c == b'<');
                pc |= u8::from(c == b'%');
                semi |= u8::from(c == b';');
                close |= u8::from(c == b'}');
                at |= u8::from(c == b'@');
                e2 |= u8::from(c == 0xE2);
                nl = nl.wrapping_add(u8::from(c == b'\n'));
            }
            s.cr |= cr != 0;
            s.lt |= lt != 0;
            s.percent |= pc != 0;
            s.semi |= semi != 0;
            s.close_brace |= close != 0;
            s.at |= at != 0;
            s.e2 |= e2 != 0;
            s.newlines += usize::from(nl);
        }
    }
}

/// What [`copy_summarized`] learns about the text it copies.
struct Copied {
    summary: ByteSummary,
    /// Whether [`fold_brace_blanks`] would change the text.
    brace_blanks: bool,
    /// Where `direction` starts, in order (offsets in the copied text).
    directions: Vec<usize>,
}

/// Appends `text` to `buf` and returns its [`ByteSummary`], whether
/// [`fold_brace_blanks`] would change it and where `direction` occurs, in
/// one pass: each block is summarised and searched while the copy has it
/// in the first-level cache. On a diagram of megabytes, summarising,
/// copying and searching one after the other streamed the text from
/// memory once per question.
fn copy_summarized(text: &str, buf: &mut String) -> Copied {
    const BLOCK: usize = 4096;
    const WORD: &str = "direction";
    let boundary = |mut i: usize| {
        while !text.is_char_boundary(i) {
            i += 1;
        }
        i
    };
    let mut copied = Copied {
        summary: ByteSummary::default(),
        brace_blanks: false,
        directions: Vec::new(),
    };
    let mut a = 0;
    while a < text.len() {
        let b = boundary((a + BLOCK).min(text.len()));
        let block = text.get(a..b).unwrap_or_default();
        copied.summary.add(block.as_bytes());
        buf.push_str(block);
        copied.brace_blanks = copied.brace_blanks || has_brace_blanks_in(text, a, b);
        // The window reaches into the next block so a word straddling the
        // boundary is seen; only words starting in this block count.
        let window = text
            .get(a..boundary((b + WORD.len() - 1).min(text.len())))
            .unwrap_or_default();
        // `contains` first: it has a SIMD path that `find` lacks.
        if window.contains(WORD) {
            copied.directions.extend(
                window
                    .match_indices(WORD)
                    .map(|(i, _)| a + i)
                    .take_while(|&i| i < b),
            );
        }
        a = b;
    }
    copied
}

/// Whether the byte `x` occurs in `text`. The blocks are scanned
/// with a branch-free fold the compiler vectorises, which is several times
/// cheaper per byte than `memchr` on long texts where `x` is absent (the
/// common case for these pre-checks).
pub(crate) fn has_byte(text: &str, x: u8) -> bool {
    find_byte(text, x, 0).is_some()
}

/// The first offset at or after `from` where the byte `x` occurs.
pub(crate) fn find_byte(text: &str, x: u8, from: usize) -> Option<usize> {
    const BLOCK: usize = 256;
    let b = text.as_bytes().get(from..)?;
    let mut base = from;
    for block in b.chunks(BLOCK) {
        if block.iter().fold(false, |hit, &c| hit | (c == x)) {
            return block.iter().position(|&c| c == x).map(|i| base + i);
        }
        base += block.len();
    }
    None
}

/// Entity placeholders, as mermaid's `encodeEntities` writes them.
pub(crate) const ENTITY_NUM_START: &str = "ﬂ°°";
/// Placeholder for a named entity's `#`.
pub(crate) const ENTITY_START: &str = "ﬂ°";
/// Placeholder for an entity's `;`.
pub(crate) const ENTITY_END: &str = "¶ß";

/// Restores mermaid's entity placeholders as `&#NN;` / `&name;`, as its
/// `decodeEntities` does after parsing.
pub(crate) fn decode_entities(text: &str) -> String {
    if !text.contains('ﬂ') && !text.contains('¶') {
        return text.to_string();
    }
    text.replace(ENTITY_NUM_START, "&#")
        .replace(ENTITY_START, "&")
        .replace(ENTITY_END, ";")
}

/// JavaScript's `\s`.
pub(crate) fn is_js_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{0B}' | '\u{0C}' | '\r' | ' ' | '\u{A0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200A}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202F}'
                | '\u{205F}'
                | '\u{3000}'
                | '\u{FEFF}'
    )
}

/// JavaScript's line terminators (what `.` does not match).
pub(crate) fn is_js_line_end(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{2028}' | '\u{2029}')
}

/// JavaScript's `\w`.
pub(crate) fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// One piece of a step's output and where it came from.
#[derive(Debug, Clone, Copy)]
struct Seg {
    out: usize,
    input: usize,
    out_len: usize,
    in_len: usize,
}

/// The map of one step's output back to its input.
#[derive(Debug, Clone, Default)]
struct StepMap {
    segs: Vec<Seg>,
    in_len: usize,
}

impl StepMap {
    fn map(&self, out: usize) -> usize {
        let i = self.segs.partition_point(|s| s.out <= out);
        let Some(seg) = i.checked_sub(1).and_then(|i| self.segs.get(i)) else {
            return 0;
        };
        let delta = out - seg.out;
        if delta >= seg.out_len {
            seg.input + seg.in_len
        } else if seg.out_len == seg.in_len {
            seg.input + delta
        } else if delta == 0 {
            seg.input
        } else {
            seg.input + seg.in_len
        }
        .min(self.in_len)
    }
}

/// Maps offsets in the preprocessed text back to the original source.
#[derive(Debug, Clone, Default)]
pub(crate) struct OffsetMap {
    /// Non-identity steps, first step first.
    steps: Vec<StepMap>,
    /// Length of the original source (offsets past it are clamped).
    src_len: usize,
    /// When the whole map is one shift (the usual frontmatter-only case):
    /// source = preprocessed + shift.
    shift: Option<usize>,
}

impl OffsetMap {
    /// The source offset of preprocessed offset `at`.
    pub fn to_source(&self, at: usize) -> usize {
        if let Some(shift) = self.shift {
            return (at + shift).min(self.src_len);
        }
        map_back(&self.steps, at).min(self.src_len)
    }

    fn new(steps: Vec<StepMap>, src_len: usize) -> Self {
        let shift = match steps.as_slice() {
            [step] => match step.segs.as_slice() {
                [seg]
                    if seg.out == 0
                        && seg.out_len == seg.in_len
                        && seg.input + seg.in_len == step.in_len =>
                {
                    Some(seg.input)
                }
                _ => None,
            },
            _ => None,
        };
        OffsetMap {
            steps,
            src_len,
            shift,
        }
    }

    /// The source span of a preprocessed span.
    #[inline]
    pub fn span(&self, start: usize, end: usize) -> Span {
        if self.steps.is_empty() || self.shift.is_some() {
            let shift = self.shift.unwrap_or(0);
            let s = (start + shift).min(self.src_len);
            return Span::new(s, (end + shift).min(self.src_len).max(s));
        }
        let s = self.to_source(start);
        let e = self.to_source(end).max(s);
        Span::new(s, e)
    }
}

fn map_back(steps: &[StepMap], at: usize) -> usize {
    steps.iter().rev().fold(at, |at, step| step.map(at))
}

/// Builds one step's output and its map.
struct Builder<'a> {
    input: &'a str,
    out: String,
    segs: Vec<Seg>,
    changed: bool,
}

impl<'a> Builder<'a> {
    fn new(input: &'a str) -> Self {
        Builder {
            input,
            out: String::with_capacity(input.len() + 1),
            segs: Vec::new(),
            changed: false,
        }
    }

    /// Copies `input[from..to]` unchanged.
    fn copy(&mut self, from: usize, to: usize) {
        if from >= to {
            return;
        }
        let out = self.out.len();
        if let Some(last) = self.segs.last_mut()
            && last.out_len == last.in_len
            && last.out + last.out_len == out
            && last.input + last.in_len == from
        {
            last.out_len += to - from;
            last.in_len += to - from;
        } else {
            self.segs.push(Seg {
                out,
                input: from,
                out_len: to - from,
                in_len: to - from,
            });
        }
        self.out.push_str(&self.input[from..to]);
    }

    /// Replaces `input[from..to]` by `with`.
    fn replace(&mut self, from: usize, to: usize, with: &str) {
        self.changed = true;
        if with.is_empty() {
            return;
        }
        self.segs.push(Seg {
            out: self.out.len(),
            input: from,
            out_len: with.len(),
            in_len: to - from,
        });
        self.out.push_str(with);
    }

    fn finish(self, steps: &mut Vec<StepMap>) -> String {
        if self.changed {
            steps.push(StepMap {
                segs: self.segs,
                in_len: self.input.len(),
            });
        }
        self.out
    }
}

/// Runs mermaid's preprocessing on `src`.
pub(crate) fn prepare(src: &str) -> Prepared {
    prepare_in(src, String::new())
}

/// [`prepare`], writing the text into `buf` (emptied first) when no step
/// needs a fresh copy, so a caller that parses again and again reuses one
/// buffer instead of faulting in a new one each time.
pub(crate) fn prepare_in(src: &str, mut buf: String) -> Prepared {
    // Bet on the common case, where `cleanupText` changes nothing: cut
    // the frontmatter from the source and copy the rest, summarising the
    // source on the way (the frontmatter apart, the rest as it is copied).
    let source_cut = match_frontmatter(src);
    let cut = source_cut.map_or(0, |m| m.0.1);
    buf.clear();
    // Room for the newline appended at the end, so that is no copy.
    buf.reserve(src.len() - cut.min(src.len()) + 1);
    let Copied {
        mut summary,
        brace_blanks: copy_brace_blanks,
        directions: copy_directions,
    } = copy_summarized(src.get(cut..).unwrap_or_default(), &mut buf);
    summary.add(src.as_bytes().get(..cut).unwrap_or_default());
    let mut steps = Vec::new();
    // Trivia and frontmatter are reported in source offsets: map their
    // positions through the steps that ran before they were cut.
    // `copied_steps`: the steps when the text was the copy.
    let (text, n_crlf, frontmatter_range, copied_steps) = if summary.cr || summary.lt {
        // Lost bet (CRLF line ends or HTML): start again from the source.
        let text = fold_crlf(src, &mut steps, buf);
        let n_crlf = steps.len();
        let (text, range) = cut_frontmatter(text, &mut steps);
        (text, n_crlf, range, None)
    } else {
        if source_cut.is_some() {
            steps.push(prefix_cut(cut, src.len()));
        }
        (buf, 0, source_cut, Some(steps.len()))
    };
    let frontmatter = frontmatter_range.map(|(whole, body)| {
        let at = |x| map_back(&steps[..n_crlf], x);
        let raw = src_slice(src, at(body.0), at(body.1));
        Frontmatter {
            span: Span::new(at(whole.0), at(whole.1)),
            title: frontmatter_title(&raw),
            raw,
        }
    });

    let mut trivia = Vec::new();
    let n_before = steps.len();
    let (text, directives) = if summary.percent {
        cut_directives(text, &mut steps)
    } else {
        (text, Vec::new())
    };
    for (from, to) in directives {
        let (s, e) = (
            map_back(&steps[..n_before], from),
            map_back(&steps[..n_before], to),
        );
        trivia.push(Item::Directive(Directive {
            span: Span::new(s, e),
            raw: src_slice(src, s, e),
        }));
    }
    let n_before = steps.len();
    let (text, comments) = cut_comments(text, &mut steps, summary.percent);
    for (from, to) in comments {
        let (s, e) = (
            map_back(&steps[..n_before], from),
            map_back(&steps[..n_before], to),
        );
        let raw = src_slice(src, s, e);
        trivia.push(Item::Comment(Comment {
            span: Span::new(s, e),
            text: raw
                .strip_prefix("%%")
                .unwrap_or(&raw)
                .trim_end_matches('\r')
                .to_string(),
        }));
    }
    // A directive cut from inside a line that then became a comment
    // (`%%%%{x}…`) is part of the comment's text already: keep one item.
    let comment_spans: Vec<Span> = trivia
        .iter()
        .filter_map(|t| match t {
            Item::Comment(c) => Some(c.span),
            _ => None,
        })
        .collect();
    if !comment_spans.is_empty() {
        trivia.retain(|t| match t {
            Item::Directive(d) => !comment_spans
                .iter()
                .any(|c| c.start <= d.span.start && d.span.end <= c.end),
            _ => true,
        });
    }
    trivia.sort_by_key(|t| t.span().start);
    // Both steps need a `;`, which most diagrams lack: one scan answers
    // for both instead of a search per keyword and per `#` over the text.
    let mut style_drops = Vec::new();
    let text = if summary.semi {
        let text = strip_style_semicolons(text, &mut steps, &mut style_drops);
        encode_entities(text, &mut steps)
    } else {
        text
    };
    // mermaid appends a newline before the flow parser folds `}\s*\n`, so
    // blanks between a last `}` and the end of the text fold too (a U+FEFF
    // there is dropped). Offsets past the source clamp to its end, so the
    // newline needs no map step.
    let mut text = text;
    let blank_tail = summary.close_brace && brace_then_blanks_at_end(&text);
    text.push('\n');
    let text = if summary.close_brace {
        // Every step that changes the text records a map: with none since
        // the copy, the copy has already answered the search.
        let known = copied_steps
            .filter(|&n| n == steps.len())
            .map(|_| copy_brace_blanks || blank_tail);
        fold_brace_blanks(text, &mut steps, known)
    } else {
        text
    };
    // With no step since the copy, the copy's offsets are the text's.
    let directions = copied_steps
        .filter(|&n| n == steps.len())
        .map(|_| copy_directions);
    Prepared {
        text,
        summary,
        map: OffsetMap::new(steps, src.len()),
        frontmatter,
        trivia,
        directions,
        style_drops,
    }
}

fn src_slice(src: &str, from: usize, to: usize) -> String {
    src.get(from..to.max(from)).unwrap_or_default().to_string()
}

/// `\r\n?` → `\n`, and `<tag a="x">` → `<tag a='x'>` (same length, in place).
fn fold_crlf(src: &str, steps: &mut Vec<StepMap>, mut buf: String) -> String {
    let mut text = if has_byte(src, b'\r') {
        let bytes = src.as_bytes();
        let mut b = Builder::new(src);
        let mut from = 0;
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'\r' {
                b.copy(from, i);
                let end = if bytes.get(i + 1) == Some(&b'\n') {
                    i + 2
                } else {
                    i + 1
                };
                b.replace(i, end, "\n");
                from = end;
                i = end;
            } else {
                i += 1;
            }
        }
        b.copy(from, bytes.len());
        b.finish(steps)
    } else {
        // Room for the newline `prepare` appends, so that is no copy.
        buf.clear();
        buf.reserve(src.len() + 1);
        buf.push_str(src);
        buf
    };
    swap_tag_attribute_quotes(&mut text);
    text
}

/// mermaid's `cleanupText` rewrites `="…"` inside `<tag …>` to `='…'` so
/// quoted labels may hold HTML with attributes. Same length, so no map.
fn swap_tag_attribute_quotes(text: &mut String) {
    if !has_byte(text, b'<') {
        return;
    }
    let mut bytes = std::mem::take(text).into_bytes();
    let n = bytes.len();
    let mut i = 0;
    while i < n {
        if bytes[i] == b'<' && i + 1 < n && is_word_byte(bytes[i + 1]) {
            let Some(close) = bytes[i + 1..].iter().position(|&b| b == b'>') else {
                // No `>` left: no later `<` can match either.
                break;
            };
            let close = i + 1 + close;
            let mut j = i + 1;
            while j + 1 < close {
                if bytes[j] == b'=' && bytes[j + 1] == b'"' {
                    if let Some(end) = bytes[j + 2..close].iter().position(|&b| b == b'"') {
                        let end = j + 2 + end;
                        bytes[j + 1] = b'\'';
                        bytes[end] = b'\'';
                        j = end + 1;
                        continue;
                    }
                    break;
                }
                j += 1;
            }
            i = close + 1;
        } else {
            i += 1;
        }
    }
    // Only ASCII quote bytes were swapped for ASCII quote bytes.
    *text = String::from_utf8(bytes).unwrap_or_default();
}

type Range = (usize, usize);

/// `^-{3}\s*[\n\r](.*?)[\n\r]-{3}\s*[\n\r]+` (dot matches newlines).
fn cut_frontmatter(text: String, steps: &mut Vec<StepMap>) -> (String, Option<(Range, Range)>) {
    let Some(m) = match_frontmatter(&text) else {
        return (text, None);
    };
    // Shifted in place: a copy of a big diagram is a fresh allocation
    // whose every page faults in.
    let mut text = text;
    steps.push(prefix_cut(m.0.1, text.len()));
    text.drain(..m.0.1);
    (text, Some(m))
}

/// The map a [`Builder`] records for cutting the first `cut` of `len`
/// bytes.
fn prefix_cut(cut: usize, len: usize) -> StepMap {
    let segs = if cut < len {
        vec![Seg {
            out: 0,
            input: cut,
            out_len: len - cut,
            in_len: len - cut,
        }]
    } else {
        Vec::new()
    };
    StepMap { segs, in_len: len }
}

fn match_frontmatter(text: &str) -> Option<(Range, Range)> {
    let at = |rest: &str| text.len() - rest.len();
    // `^-{3}\s*[\n\r]`
    let (body, _) = (tag("---"), blanks_to_last_newline).parse(text).ok()?;
    let body_start = at(body);
    // `(.*?)[\n\r]-{3}\s*[\n\r]+`: the first line break followed by a
    // closing fence wins (lazy body).
    let mut rest = body;
    loop {
        let (nl, _) = take_till::<_, _, ()>(|c| c == '\n' || c == '\r')
            .parse(rest)
            .ok()?;
        if nl.is_empty() {
            return None;
        }
        if let Ok((after, _)) = (
            satisfy::<_, _, ()>(|c| c == '\n' || c == '\r'),
            tag("---"),
            blanks_to_last_newline,
        )
            .parse(nl)
        {
            return Some(((0, at(after)), (body_start, at(nl))));
        }
        rest = &nl[1..];
    }
}

/// `\s*[\n\r]+` after a fence: the blank run up to and including its last
/// line break (the regex's `\s*` gives back what `[\n\r]+` needs).
fn blanks_to_last_newline(i: &str) -> IResult<&str, (), ()> {
    let (_, blank) = take_while(is_js_space).parse(i)?;
    match blank.rfind(['\n', '\r']) {
        Some(nl) => Ok((&i[nl + 1..], ())),
        None => Err(nom::Err::Error(())),
    }
}

fn skip_js_space(text: &str, from: usize) -> usize {
    text[from..]
        .char_indices()
        .find(|&(_, c)| !is_js_space(c))
        .map_or(text.len(), |(i, _)| from + i)
}

/// The top-level `title:` of frontmatter YAML, unquoted.
fn frontmatter_title(yaml: &str) -> Option<String> {
    for line in yaml.lines() {
        if let Some(rest) = line.strip_prefix("title:") {
            let v = rest.trim();
            let v = if v.len() >= 2
                && ((v.starts_with('"') && v.ends_with('"'))
                    || (v.starts_with('\'') && v.ends_with('\'')))
            {
                &v[1..v.len() - 1]
            } else {
                v
            };
            return Some(v.to_string());
        }
    }
    None
}

/// Removes `%%{…}%%` directives as mermaid's `removeDirectives` does:
/// `%{2}{\s*(?:(\w+)\s*:|(\w+))\s*(?:(\w+)|((?:(?!}%{2}).|\r?\n)*))?\s*(?:}%{2})?`.
fn cut_directives(text: String, steps: &mut Vec<StepMap>) -> (String, Vec<Range>) {
    if !text.contains("%%{") {
        return (text, Vec::new());
    }
    let text = text.as_str();
    let bytes = text.as_bytes();
    let mut b = Builder::new(text);
    let mut found = Vec::new();
    let mut from = 0;
    let mut search = 0;
    while let Some(rel) = text[search..].find("%%{") {
        let start = search + rel;
        match match_directive(text, start) {
            Some(end) => {
                b.copy(from, start);
                b.replace(start, end, "");
                found.push((start, end));
                from = end;
                search = end;
            }
            None => search = start + 1,
        }
        if search >= bytes.len() {
            break;
        }
    }
    b.copy(from, text.len());
    (b.finish(steps), found)
}

/// Where the `%%{…}%%` directive starting at `start` ends, if one does.
pub(crate) fn match_directive(text: &str, start: usize) -> Option<usize> {
    let word = || take_while1(|c: char| c.is_ascii_alphanumeric() || c == '_');
    let ws = || take_while(is_js_space);
    // Anything up to `}%%` or a line terminator `.` does not match (`\n`
    // itself is allowed by the `\r?\n` branch).
    let free = recognize(many0_count(preceded(
        not(tag("}%%")),
        satisfy(|c| !matches!(c, '\r' | '\u{2028}' | '\u{2029}')),
    )));
    let mut directive = recognize((
        tag::<_, _, ()>("%%{"),
        ws(),
        word(),
        opt((ws(), char(':'))),
        ws(),
        alt((word(), free)),
        ws(),
        opt(tag("}%%")),
    ));
    let (rest, _) = directive.parse(text.get(start..)?).ok()?;
    Some(text.len() - rest.len())
}

/// mermaid's `cleanupComments`: `/^\s*%%(?!{)[^\n]+\n?/gm` removed, then
/// `trimStart()`. Returns the comment ranges (from `%%` to the line end).
/// `percent`: whether the text may hold a `%` at all.
fn cut_comments(text: String, steps: &mut Vec<StepMap>, percent: bool) -> (String, Vec<Range>) {
    let lead = skip_js_space(&text, 0);
    if !(percent && text.contains("%%")) && lead == 0 {
        return (text, Vec::new());
    }
    let text = text.as_str();
    let bytes = text.as_bytes();
    let mut b = Builder::new(text);
    let mut comments = Vec::new();
    let mut from = 0;
    let mut line_start = 0;
    while line_start < bytes.len() {
        let p = skip_js_space(text, line_start);
        let is_comment = text[p..].starts_with("%%")
            && bytes.get(p + 2).is_some_and(|&c| c != b'{' && c != b'\n');
        if is_comment {
            let line_end = text[p..].find('\n').map_or(bytes.len(), |i| p + i);
            let end = if line_end < bytes.len() {
                line_end + 1
            } else {
                line_end
            };
            b.copy(from, line_start);
            b.replace(line_start, end, "");
            comments.push((p, line_end));
            from = end;
            line_start = end;
            continue;
        }
        // Next line start after `p` (JS `^` also matches after \r, \u2028, \u2029).
        match text[p..].char_indices().find(|&(_, c)| is_js_line_end(c)) {
            Some((i, c)) => line_start = p + i + c.len_utf8(),
            None => break,
        }
    }
    b.copy(from, text.len());
    let out = b.finish(steps);
    // trimStart()
    let lead = skip_js_space(&out, 0);
    if lead == 0 {
        return (out, comments);
    }
    let mut t = Builder::new(&out);
    t.replace(0, lead, "");
    t.copy(lead, out.len());
    (t.finish(steps), comments)
}

/// The first two replacements of mermaid's `encodeEntities`:
/// `/style.*:\S*#.*;/g` and `/classDef.*:\S*#.*;/g` each drop the final `;`
/// of a matching line, so `style A fill:#f9f;` keeps its colour while
/// `style A fill: #f9f;` (blank before `#`) turns `#f9f;` into an entity.
/// `drops` gets the source offsets of the dropped `;`, ascending.
fn strip_style_semicolons(
    text: String,
    steps: &mut Vec<StepMap>,
    drops: &mut Vec<usize>,
) -> String {
    let mut out = text;
    for keyword in ["style", "classDef"] {
        if !out.contains(keyword) {
            continue;
        }
        if !has_byte(&out, b';') {
            continue;
        }
        let input = std::mem::take(&mut out);
        let mut b = Builder::new(&input);
        let mut from = 0;
        let mut line_start = 0;
        while line_start < input.len() {
            let line_end = input[line_start..]
                .char_indices()
                .find(|&(_, c)| is_js_line_end(c))
                .map_or(input.len(), |(i, _)| line_start + i);
            if let Some(cut) = style_semicolon(&input[line_start..line_end], keyword) {
                let at = line_start + cut;
                drops.push(map_back(steps, at));
                b.copy(from, at);
                b.replace(at, at + 1, "");
                from = at + 1;
            }
            line_start = match input[line_end..].chars().next() {
                Some(c) => line_end + c.len_utf8(),
                None => break,
            };
        }
        b.copy(from, input.len());
        out = b.finish(steps);
    }
    drops.sort_unstable();
    out
}

/// Where `keyword.*:\S*#.*;` ends on `line` (the `;` to drop), if it matches.
fn style_semicolon(line: &str, keyword: &str) -> Option<usize> {
    let start = line.find(keyword)?;
    let last_semi = line.rfind(';')?;
    let after = start + keyword.len();
    let bytes = line.as_bytes();
    // The earliest `#` reachable from a `:` through non-blank characters.
    let mut first_hash = None;
    let mut i = after;
    while i < bytes.len() {
        if bytes[i] == b':' {
            let mut j = i + 1;
            let rest = &line[j..];
            let mut hit = None;
            for (k, c) in rest.char_indices() {
                if c == '#' {
                    hit = Some(j + k);
                    break;
                }
                if is_js_space(c) {
                    break;
                }
            }
            if let Some(h) = hit {
                first_hash = Some(h);
                break;
            }
            j += 1;
            i = j;
            continue;
        }
        i += 1;
    }
    let hash = first_hash?;
    (last_semi > hash).then_some(last_semi)
}

/// `/#\w+;/g` → placeholders (`ﬂ°°NN¶ß` for digits, `ﬂ°name¶ß` otherwise).
fn encode_entities(text: String, steps: &mut Vec<StepMap>) -> String {
    if !has_entity(&text) {
        return text;
    }
    let text = text.as_str();
    let bytes = text.as_bytes();
    let mut b = Builder::new(text);
    let mut from = 0;
    let mut i = 0;
    let mut placeholder = String::new();
    while i < bytes.len() {
        if bytes[i] == b'#' {
            let word_end = bytes[i + 1..]
                .iter()
                .position(|&c| !is_word_byte(c))
                .map_or(bytes.len(), |k| i + 1 + k);
            if word_end > i + 1 && bytes.get(word_end) == Some(&b';') {
                let inner = &text[i + 1..word_end];
                placeholder.clear();
                if inner.bytes().all(|c| c.is_ascii_digit()) {
                    placeholder.push_str(ENTITY_NUM_START);
                } else {
                    placeholder.push_str(ENTITY_START);
                }
                placeholder.push_str(inner);
                placeholder.push_str(ENTITY_END);
                b.copy(from, i);
                b.replace(i, word_end + 1, &placeholder);
                from = word_end + 1;
                i = word_end + 1;
                continue;
            }
        }
        i += 1;
    }
    b.copy(from, text.len());
    b.finish(steps)
}

/// Whether `/#\w+;/` matches anywhere.
fn has_entity(text: &str) -> bool {
    let b = text.as_bytes();
    let mut from = 0;
    while let Some(at) = find_byte(text, b'#', from) {
        let end = b[at + 1..]
            .iter()
            .position(|&c| !is_word_byte(c))
            .map_or(b.len(), |k| at + 1 + k);
        if end > at + 1 && b.get(end) == Some(&b';') {
            return true;
        }
        from = at + 1;
    }
    false
}

/// Whether `}` is followed by blanks that contain a newline after some blank.
/// Whether `text` ends in a `}` and blanks (which, with the newline mermaid
/// appends, make a `}\s*\n` that folds, even where the blanks hold a line
/// break already: `\s*` runs to the appended one).
fn brace_then_blanks_at_end(text: &str) -> bool {
    let body = text.trim_end_matches(is_js_space);
    body.len() < text.len() && body.ends_with('}')
}

fn has_brace_blanks(text: &str) -> bool {
    has_brace_blanks_in(text, 0, text.len())
}

/// [`has_brace_blanks`] for the `}`s at `from..to` (their blanks may run
/// past `to`).
fn has_brace_blanks_in(text: &str, from: usize, to: usize) -> bool {
    // Searching only up to `to` keeps a block's search in the block.
    let upto = text.get(..to).unwrap_or(text);
    let mut from = from;
    while let Some(at) = find_byte(upto, b'}', from) {
        let ws_end = skip_js_space(text, at + 1);
        if text[at + 1..ws_end].rfind('\n').is_some_and(|nl| nl > 0) {
            return true;
        }
        from = at + 1;
    }
    false
}

/// The flow parser's `src.replace(/}\s*\n/g, '}\n')`. `known`: whether
/// it changes anything, if a pass over the text found out already.
fn fold_brace_blanks(text: String, steps: &mut Vec<StepMap>, known: Option<bool>) -> String {
    if !known.unwrap_or_else(|| has_brace_blanks(&text)) {
        return text;
    }
    let text = text.as_str();
    let bytes = text.as_bytes();
    let mut b = Builder::new(text);
    let mut from = 0;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'}' {
            let ws_end = skip_js_space(text, i + 1);
            if let Some(last_nl) = text[i + 1..ws_end].rfind('\n') {
                let nl = i + 1 + last_nl;
                if nl > i + 1 {
                    b.copy(from, i + 1);
                    b.replace(i + 1, nl, "");
                    from = nl;
                }
                i = nl + 1;
                continue;
            }
        }
        i += 1;
    }
    b.copy(from, text.len());
    b.finish(steps)
}

#[cfg(test)]
mod tests {

    #[test]
    fn byte_summary_sees_each_byte_in_any_block() {
        assert!(!ByteSummary::of("flowchart LR\n  A --> B\n").semi);
        // Past the first 255-byte block, and a newline count past 255.
        let mut text = "x\n".repeat(300);
        let plain = ByteSummary::of(&text);
        assert_eq!(plain.newlines, 300);
        assert!(!(plain.cr || plain.lt || plain.percent || plain.semi));
        assert!(!(plain.close_brace || plain.at || plain.e2));
        text.push_str("\r<%;}@\u{2028}");
        let s = ByteSummary::of(&text);
        assert!(s.cr && s.lt && s.percent && s.semi && s.close_brace && s.at && s.e2);
    }

    #[test]
    fn copy_summarized_copies_and_summarises_like_two_passes() {
        // Multi-byte characters straddle the copy's block boundaries, and
        // the rare bytes sit in the last, short block.
        let mut text = "é日\n".repeat(2000);
        text.push_str("A --> B;}\r");
        let mut buf = "stale".to_string();
        buf.clear();
        let Copied {
            summary: s,
            brace_blanks,
            directions,
        } = copy_summarized(&text, &mut buf);
        assert_eq!(buf, text);
        assert!(directions.is_empty());
        assert!(
            !brace_blanks,
            "`}}\\r` at the end is no blank run with a newline"
        );
        let whole = ByteSummary::of(&text);
        assert_eq!(s.newlines, whole.newlines);
        assert_eq!(s.newlines, 2000);
        assert_eq!(
            (s.cr, s.lt, s.percent, s.semi, s.close_brace, s.at, s.e2),
            (
                whole.cr,
                whole.lt,
                whole.percent,
                whole.semi,
                whole.close_brace,
                whole.at,
                whole.e2
            )
        );
        assert!(s.cr && s.semi && s.close_brace && !s.lt);
        // A `}` at the end of a block whose blanks and newline are in the
        // next: found like the search over the whole text finds it.
        for at in [4094, 4095, 4096, 5000] {
            let mut text = "x".repeat(at);
            text.push_str("}  \nA\n");
            let mut buf = String::new();
            let found = copy_summarized(&text, &mut buf).brace_blanks;
            assert!(found, "`}}` at {at}");
            assert_eq!(found, has_brace_blanks(&text));
            let plain = text.replace("}  \n", "}\n");
            assert!(!copy_summarized(&plain, &mut String::new()).brace_blanks);
        }
    }

    #[test]
    fn copy_summarized_finds_every_direction_even_across_blocks() {
        // `direction` at every offset around the first block boundary
        // (straddling it or not), after multi-byte text, twice in a block.
        for at in 4080..4100 {
            let mut text = "é".repeat(at / 2);
            text.push_str(&"x".repeat(at % 2));
            text.push_str("direction TB\nA --> B direction LR\n");
            let mut buf = String::new();
            let got = copy_summarized(&text, &mut buf).directions;
            let want: Vec<usize> = text.match_indices("direction").map(|(i, _)| i).collect();
            assert_eq!(got, want, "`direction` at {at}");
        }
    }

    #[test]
    fn directions_are_known_only_when_no_step_moved_the_text() {
        let src = "---\ntitle: t\n---\nflowchart LR\nsubgraph s\n direction TB\nA\nend\n";
        let p = prepare(src);
        let want: Vec<usize> = p.text.match_indices("direction").map(|(i, _)| i).collect();
        assert_eq!(p.directions, Some(want));
        // A comment cut moves what follows: the scanner searches instead.
        let p = prepare("flowchart LR\n%% c\nsubgraph s\n direction TB\nend\n");
        assert_eq!(p.directions, None);
    }

    #[test]
    fn frontmatter_cut_from_the_source_maps_like_the_copy() {
        let src = "---\ntitle: T\n---\nflowchart LR\n  A --> B\n";
        let fast = prepare(src);
        // A `<` takes the path that copies the text before the cut.
        let slow_src = "---\ntitle: T\n---\nflowchart LR\n  A --> B<\n";
        let slow = prepare(slow_src);
        assert_eq!(fast.text, "flowchart LR\n  A --> B\n\n");
        assert_eq!(slow.text, "flowchart LR\n  A --> B<\n\n");
        assert_eq!(
            fast.frontmatter.as_ref().map(|f| f.span),
            slow.frontmatter.as_ref().map(|f| f.span)
        );
        for at in [0, 5, 13, 20, 22] {
            assert_eq!(
                fast.map.to_source(at),
                slow.map.to_source(at),
                "offset {at}"
            );
            assert_eq!(&src[fast.map.to_source(at)..][..1], &fast.text[at..][..1]);
        }
    }
    use super::*;

    fn prep(src: &str) -> Prepared {
        prepare(src)
    }

    #[test]
    fn appends_a_newline_and_maps_it_to_the_end() {
        let p = prep("graph TD");
        assert_eq!(p.text, "graph TD\n");
        assert_eq!(p.map.to_source(8), 8);
    }

    #[test]
    fn comment_lines_are_cut_but_same_line_percent_stays() {
        let p = prep("graph TD\n  %% note\nA --> B %% not a comment\n");
        assert_eq!(p.text, "graph TD\nA --> B %% not a comment\n\n");
        assert_eq!(p.trivia.len(), 1);
        let at = p.text.find("A -->").unwrap_or_default();
        assert_eq!(p.map.to_source(at), 19);
    }

    #[test]
    fn style_semicolon_quirk() {
        let p = prep("graph TD;style T background: #bbb;");
        assert!(p.text.contains("ﬂ°bbb¶ß"), "{}", p.text);
        let p = prep("graph TD\nstyle T fill:#bbb;");
        assert!(p.text.contains("fill:#bbb\n"), "{}", p.text);
    }

    #[test]
    fn entities_become_placeholders_and_map_back() {
        let src = "graph TD\nA[\"x #quot; #9829;\"]";
        let p = prep(src);
        assert!(p.text.contains("x ﬂ°quot¶ß ﬂ°°9829¶ß"));
        assert_eq!(decode_entities("ﬂ°quot¶ß ﬂ°°9829¶ß"), "&quot; &#9829;");
        let end = p.text.find("\"]").unwrap_or_default();
        assert_eq!(p.map.to_source(end), src.find("\"]").unwrap_or_default());
    }

    #[test]
    fn frontmatter_and_directives_are_cut() {
        let src = "---\ntitle: Hi\n---\n%%{init: {\"theme\": \"dark\"}}%%\nflowchart LR\nA";
        let p = prep(src);
        assert_eq!(p.text, "flowchart LR\nA\n");
        let fm = p.frontmatter.expect("frontmatter");
        assert_eq!(fm.title.as_deref(), Some("Hi"));
        assert_eq!(fm.raw, "title: Hi");
        assert!(matches!(p.trivia.first(), Some(Item::Directive(_))));
        let at = p.text.find('A').unwrap_or_default();
        assert_eq!(p.map.to_source(at), src.rfind('A').unwrap_or_default());
    }

    #[test]
    fn crlf_folds_and_brace_blanks_fold() {
        let p = prep("graph TD\r\nA@{ shape: rect }   \r\n\r\nB");
        assert_eq!(p.text, "graph TD\nA@{ shape: rect }\nB\n");
    }

    #[test]
    fn blanks_after_a_last_brace_fold_with_the_appended_newline() {
        // mermaid appends the newline before the `}\s*\n` fold.
        for src in [
            "graph TD\nA@{ shape: rect }\u{feff}",
            "graph TD\nA@{ shape: rect }  \n \u{feff}",
            "graph TD\nA@{ shape: rect }\n",
        ] {
            let p = prep(src);
            assert_eq!(p.text, "graph TD\nA@{ shape: rect }\n", "{src:?}");
            assert_eq!(p.map.to_source(p.text.len()), src.len(), "{src:?}");
        }
    }

    #[test]
    fn tag_attribute_quotes_swap() {
        let p = prep("graph TD\nA[\"<span style=\"color:red\">x</span>\"]");
        assert!(p.text.contains("<span style='color:red'>"), "{}", p.text);
    }
}
