//! Mermaid's flowchart lexer rules as nom parsers.
//!
//! Every rule of mermaid.js's jison lexer that the scanner ([`super::lexer`])
//! needs is one small nom 8 parser over `&str` here: it is tried at the
//! scanner's position and either recognises the rule's lexeme (returning the
//! rest of the input, from which the scanner computes the token's end) or
//! fails. nom does the matching; the scanner keeps the *order* in which rules
//! are tried and the jison state stack, because mermaid's behaviour depends on
//! them: jison takes the first rule that matches, not the longest, so the
//! order decides that `end.x` is `end` then `.x` and `dev---ops` is `dev`,
//! `---o`, `ps`.
//!
//! The parsers are written to be equivalent to mermaid's regular expressions
//! (quoted in each doc comment). Where a regex would backtrack, the nom
//! parser either needs no backtracking (the alternatives are disjoint) or
//! spells the backtracking out with `alt`. All input is `complete`: the
//! whole preprocessed text is in memory. The error type is `()`, so a failed
//! rule costs nothing but the comparison that failed.

use nom::branch::alt;
use nom::bytes::complete::{tag, take_till, take_till1, take_while, take_while1};
use nom::character::complete::{char, digit1, satisfy};
use nom::combinator::{not, opt, peek, recognize, value, verify};
use nom::multi::{many0_count, many1_count};
use nom::sequence::{preceded, terminated};
use nom::{IResult, Parser};

use super::super::flow::Direction;
use super::super::prep::is_js_space;

/// A rule's result: the rest of the input and what the rule produced.
pub(crate) type R<'a, O = ()> = IResult<&'a str, O, ()>;

/// JavaScript `\w` for one character.
#[inline]
pub(crate) fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// JavaScript `\s` for one character, ASCII first.
#[inline(always)]
pub(crate) fn is_space(c: char) -> bool {
    if c.is_ascii() {
        matches!(c, ' ' | '\t' | '\n' | '\r' | '\u{0B}' | '\u{0C}')
    } else {
        is_js_space(c)
    }
}

/// JavaScript `\s*`.
#[inline]
pub(crate) fn ws0(i: &str) -> R<'_, &str> {
    // Fast path for the common case, a run of plain spaces (often empty)
    // before a non-blank ASCII character; `take_while` does the rest.
    let b = i.as_bytes();
    let spaces = b.iter().take_while(|&&c| c == b' ').count();
    match b.get(spaces) {
        None => Ok((&i[i.len()..], i)),
        Some(&c) if c < 0x80 && !matches!(c, b'\t' | b'\n' | b'\r' | 0x0B | 0x0C) => {
            Ok((&i[spaces..], &i[..spaces]))
        }
        _ => take_while(is_space).parse(i),
    }
}

/// JavaScript `\s+`.
#[inline]
pub(crate) fn ws1(i: &str) -> R<'_, &str> {
    take_while1(is_space).parse(i)
}

/// `word\b`: a keyword followed by a non-word character or the end.
#[inline]
pub(crate) fn keyword<'a>(
    word: &'static str,
) -> impl Parser<&'a str, Output = &'a str, Error = ()> {
    terminated(tag(word), not(satisfy(is_word_char)))
}

/// One of `[xo<]`, a link's head.
#[inline]
fn head(i: &str) -> R<'_, Option<char>> {
    opt(satisfy(|c| matches!(c, 'x' | 'o' | '<'))).parse(i)
}

/// One of `[xo>]`, a link's tail.
#[inline]
fn tail(i: &str) -> R<'_, char> {
    satisfy(|c| matches!(c, 'x' | 'o' | '>')).parse(i)
}

/// Rules 69 / 72: `\s*[xo<]?CC+[Cxo>]\s*` for `C` in `-`, `=`.
///
/// `CC+[Cxo>]`: a run of two or more `C` closed by `x`, `o` or `>`, or a run
/// of three or more whose last `C` is the closer. (The head `[xo<]` is never
/// `C`, so backtracking over it cannot produce another match.)
#[inline]
pub(crate) fn solid_link(c: char) -> impl Fn(&str) -> R<'_> {
    move |i| {
        let run = move |i| take_while1(move |x| x == c).parse(i);
        let body = alt((
            value((), terminated(verify(run, |r: &str| r.len() >= 2), tail)),
            value((), verify(run, |r: &str| r.len() >= 3)),
        ));
        value((), (ws0, head, body, ws0)).parse(i)
    }
}

/// Rules 70 / 73: `\s*[xo<]?CC\s*`.
#[inline]
pub(crate) fn start_link(pair: &'static str) -> impl Fn(&str) -> R<'_> {
    move |i| value((), (ws0, head, tag(pair), ws0)).parse(i)
}

/// Rule 75: `\s*[xo<]?-?\.+-[xo>]?\s*`.
#[inline]
pub(crate) fn dotted_link(i: &str) -> R<'_> {
    value(
        (),
        (
            ws0,
            head,
            opt(char('-')),
            take_while1(|c| c == '.'),
            char('-'),
            opt(tail),
            ws0,
        ),
    )
    .parse(i)
}

/// Rule 76: `\s*[xo<]?-\.\s*`.
#[inline]
pub(crate) fn dotted_start(i: &str) -> R<'_> {
    start_link("-.")(i)
}

/// Rule 78: `\s*~~[~]+\s*`.
#[inline]
pub(crate) fn invisible_link(i: &str) -> R<'_> {
    value(
        (),
        (
            ws0,
            verify(take_while1(|c| c == '~'), |r: &str| r.len() >= 3),
            ws0,
        ),
    )
    .parse(i)
}

/// The character that decides which link rules can match here: the first
/// after `\s*` and an optional head `[xo<]` (`None`: no link rule can).
#[inline]
pub(crate) fn link_char(i: &str) -> Option<u8> {
    let (r, _) = ws0(i).ok()?;
    let b = r.as_bytes();
    let c = match b.first()? {
        b'x' | b'o' | b'<' => *b.get(1)?,
        c => *c,
    };
    matches!(c, b'-' | b'=' | b'.' | b'~').then_some(c)
}

/// Characters a NODE_STRING takes without look-ahead.
#[inline]
fn plain_node_char(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(
            c,
            '!' | '"'
                | '#'
                | '$'
                | '%'
                | '&'
                | '\''
                | '*'
                | '+'
                | '.'
                | '`'
                | '?'
                | '\\'
                | '_'
                | '/'
        )
}

/// Whether a NODE_STRING can start with this byte (a cheap guard).
#[inline]
pub(crate) fn starts_node_string(b: u8) -> bool {
    b.is_ascii() && (plain_node_char(b as char) || b == b'-' || b == b'=')
}

/// Whether a NODE_STRING that reached this byte ends before it (the byte
/// is neither a plain node character nor a `-` or `=` item).
#[inline]
pub(crate) fn ends_node_string(b: u8) -> bool {
    !starts_node_string(b)
}

/// Rule 105: `([A-Za-z0-9!"#$%&'*+.`?\\_/]|-(?=[^>\-.])|=(?!=))+`.
#[inline]
pub(crate) fn node_string(i: &str) -> R<'_> {
    // `(P | -(?=…) | =(?!=))+` as runs of plain characters joined by the
    // two look-ahead items; each step is decided by the next character, so
    // no backtracking is needed.
    let plain_run = || take_while(plain_node_char);

    value(
        (),
        alt((
            value((), (take_while1(plain_node_char), node_string_items)),
            value((), many1_count((dash_or_eq, plain_run()))),
        )),
    )
    .parse(i)
}

/// After a plain run: more `-`/`=` items and runs (only tried when a `-`
/// or `=` follows, the common case being a plain identifier).
#[inline]
fn node_string_items(i: &str) -> R<'_> {
    match i.as_bytes().first() {
        Some(b'-' | b'=') => {
            value((), many0_count((dash_or_eq, take_while(plain_node_char)))).parse(i)
        }
        _ => Ok((i, ())),
    }
}

/// `-(?=[^>\-.])|=(?!=)`: a NODE_STRING's `-` and `=` items.
#[inline]
fn dash_or_eq(i: &str) -> R<'_, char> {
    alt((
        terminated(char('-'), peek(satisfy(|c| !matches!(c, '>' | '-' | '.')))),
        terminated(char('='), not(char('='))),
    ))
    .parse(i)
}

/// Rule 60 (12.3.0), first half: the run `[^\s"\[\](){}|]+` an edge id may
/// be cut from (the scanner then backtracks to the run's last `@` followed
/// by neither `{` nor `"`).
#[inline]
pub(crate) fn link_id_run(i: &str) -> R<'_, &str> {
    take_till1(|c| matches!(c, '"' | '[' | ']' | '(' | ')' | '{' | '}' | '|') || is_space(c))
        .parse(i)
}

/// Rule 119 (12.3.0): a run of blanks, newlines excluded.
#[inline]
pub(crate) fn blanks(i: &str) -> R<'_, &str> {
    match ws0(i) {
        Ok((rest, run)) if !run.is_empty() && !run.contains('\n') => Ok((rest, run)),
        _ => take_while1(|c| c != '\n' && is_space(c)).parse(i),
    }
}

/// Rule 118: `\n+` (newlines were folded by the preprocessor).
#[inline]
pub(crate) fn newlines(i: &str) -> R<'_, &str> {
    match i.as_bytes() {
        [b'\n', c, ..] if *c != b'\n' => Ok((&i[1..], &i[..1])),
        _ => take_while1(|c| c == '\n').parse(i),
    }
}

/// Rule 61: `[0-9]+`.
#[inline]
pub(crate) fn num(i: &str) -> R<'_, &str> {
    digit1(i)
}

/// Rule 0: `accTitle\s*:\s*`.
#[inline]
pub(crate) fn acc_title(i: &str) -> R<'_> {
    value((), (tag("accTitle"), ws0, char(':'), ws0)).parse(i)
}

/// Rules 2 / 4: `accDescr\s*:\s*` (→ `true`) and `accDescr\s*\{\s*` (→ `false`).
#[inline]
pub(crate) fn acc_descr(i: &str) -> R<'_, bool> {
    preceded(
        (tag("accDescr"), ws0),
        alt((
            value(true, (char(':'), ws0)),
            value(false, (char('{'), ws0)),
        )),
    )
    .parse(i)
}

/// Rule 13 / 45: `call\s+` and `click\s+`.
#[inline]
pub(crate) fn word_then_space(word: &'static str) -> impl Fn(&str) -> R<'_> {
    move |i| value((), (tag(word), ws1)).parse(i)
}

/// Rule 41: `href[\s]` (one blank, taken into the token).
#[inline]
pub(crate) fn href(i: &str) -> R<'_> {
    value((), (tag("href"), satisfy(is_space))).parse(i)
}

/// Rules 46 … 48: `flowchart-elk\b`, `graph\b`, `flowchart\b`, in that order.
#[inline]
pub(crate) fn graph(i: &str) -> R<'_> {
    value(
        (),
        alt((
            keyword("flowchart-elk"),
            keyword("graph"),
            keyword("flowchart"),
        )),
    )
    .parse(i)
}

/// Rule 50: `end\b\s*`.
#[inline]
pub(crate) fn end(i: &str) -> R<'_> {
    value((), (keyword("end"), ws0)).parse(i)
}

/// Rules 51 … 54: `_self`, `_blank`, `_parent`, `_top`, each with `\b`.
#[inline]
pub(crate) fn link_target(i: &str) -> R<'_> {
    value(
        (),
        alt((
            keyword("_self"),
            keyword("_blank"),
            keyword("_parent"),
            keyword("_top"),
        )),
    )
    .parse(i)
}

/// Rules 55 … 59 at an occurrence of `direction`: `direction\s+XX`.
#[inline]
pub(crate) fn direction_word(i: &str) -> R<'_, Direction> {
    preceded(
        (tag("direction"), ws1),
        alt((
            value(Direction::TB, tag("TB")),
            value(Direction::BT, tag("BT")),
            value(Direction::RL, tag("RL")),
            value(Direction::LR, tag("LR")),
            value(Direction::TD, tag("TD")),
        )),
    )
    .parse(i)
}

/// Rules 21 and 24: `"\`` (→ `true`, markdown) and `"` (→ `false`).
#[inline]
pub(crate) fn quote(i: &str) -> R<'_, bool> {
    alt((value(true, tag("\"`")), value(false, char('"')))).parse(i)
}

/// Rules 7 … 12 over a whole `@{ … }` block: `@{`, then text and quoted
/// strings up to the first `}` outside a string. Returns how the block
/// stopped (the rest starts with `}`, `^`, an unterminated `"`, or is empty).
#[inline]
pub(crate) fn shape_data_body(i: &str) -> R<'_> {
    value(
        (),
        preceded(
            tag("@{"),
            many0_count(alt((
                value((), take_till1(|c| matches!(c, '"' | '}' | '^'))),
                value((), (char('"'), take_till(|c| c == '"'), char('"'))),
            ))),
        ),
    )
    .parse(i)
}

/// `string` state: `[^"]+`.
#[inline]
pub(crate) fn string_text(i: &str) -> R<'_, &str> {
    take_till1(|c| c == '"').parse(i)
}

/// `md_string` state: `` [^`"]+ ``.
#[inline]
pub(crate) fn md_string_text(i: &str) -> R<'_, &str> {
    take_till1(|c| c == '`' || c == '"').parse(i)
}

/// `text` state: `[^\[\]\(\)\{\}\|\"]+`.
#[inline]
pub(crate) fn text_run(i: &str) -> R<'_, &str> {
    take_till1(|c| matches!(c, '[' | ']' | '(' | ')' | '{' | '}' | '|' | '"')).parse(i)
}

/// `trapText` state: `[^\\\[\]\(\)\{\}\/]+` (well, with the rule's
/// exclusions: `\`, brackets and `/`).
#[inline]
pub(crate) fn trap_text_run(i: &str) -> R<'_, &str> {
    take_till1(|c| matches!(c, '\\' | '[' | ']' | '(' | ')' | '{' | '}' | '/')).parse(i)
}

/// `ellipseText` state: one character that is not a bracket.
#[inline]
pub(crate) fn ellipse_char(i: &str) -> R<'_, char> {
    satisfy(|c| !matches!(c, '(' | ')' | '[' | ']' | '{' | '}')).parse(i)
}

/// `ellipseText` closer: `[-/\)]\)`.
#[inline]
pub(crate) fn ellipse_end(i: &str) -> R<'_> {
    value((), (satisfy(|c| matches!(c, '-' | '/' | ')')), char(')'))).parse(i)
}

/// `trapText` closers: `[\\(?=\])]\]` (→ TRAPEND, `true`) and `\/\]`
/// (→ INVTRAPEND, `false`).
#[inline]
pub(crate) fn trap_end(i: &str) -> R<'_, bool> {
    let closer = |c| matches!(c, '\\' | '(' | '?' | '=' | ']' | ')');
    alt((
        value(true, (satisfy(closer), char(']'))),
        value(false, tag("/]")),
    ))
    .parse(i)
}

/// Edge-text states: one character of `[^C]|C(?!F)` (`C` the stroke
/// character, `F` the one that would start a closing link).
#[inline]
pub(crate) fn edge_text_char(c: char, follower: char) -> impl Fn(&str) -> R<'_> {
    move |i| {
        alt((
            value((), satisfy(move |x| x != c)),
            value((), terminated(char(c), not(char(follower)))),
        ))
        .parse(i)
    }
}

/// `click` state: `[^\s]+` (possibly empty at the end of input).
#[inline]
pub(crate) fn click_text(i: &str) -> R<'_, &str> {
    take_till(is_space).parse(i)
}

/// `callbackname` state: `[^(]*`.
#[inline]
pub(crate) fn callback_name(i: &str) -> R<'_, &str> {
    take_till(|c| c == '(').parse(i)
}

/// `callbackname` state: `\(\s*\)` (→ `true`, no arguments) or `\(` (→ `false`).
#[inline]
pub(crate) fn callback_open(i: &str) -> R<'_, bool> {
    alt((
        value(true, (char('('), ws0, char(')'))),
        value(false, char('(')),
    ))
    .parse(i)
}

/// `callbackargs` state: `[^)]*`.
#[inline]
pub(crate) fn callback_args(i: &str) -> R<'_, &str> {
    take_till(|c| c == ')').parse(i)
}

/// `acc_title` / `acc_descr` states: `[^\n]*`.
#[inline]
pub(crate) fn line_rest(i: &str) -> R<'_, &str> {
    take_till(|c| c == '\n').parse(i)
}

/// `acc_descr_multiline` state: `[^\}]*`.
#[inline]
pub(crate) fn until_brace(i: &str) -> R<'_, &str> {
    take_till(|c| c == '}').parse(i)
}

/// `dir` state, rule 44: `(\r?\n)*\s*\n` — the blanks up to and including
/// the last newline of the blank run.
#[inline]
pub(crate) fn no_dir(i: &str) -> R<'_, &str> {
    let (_, blank) = ws0(i)?;
    match blank.rfind('\n') {
        Some(nl) => Ok((&i[nl + 1..], &i[..nl + 1])),
        None => Err(nom::Err::Error(())),
    }
}

/// `dir` state, rules 35 … 43 after `\s*`: `LR`, `RL`, `TB`, `BT`, `TD`,
/// `BR` (each with `\b`), `<`, `>`, `^`, `v\b`.
#[inline]
pub(crate) fn dir_word(i: &str) -> R<'_> {
    value(
        (),
        alt((
            keyword("LR"),
            keyword("RL"),
            keyword("TB"),
            keyword("BT"),
            keyword("TD"),
            keyword("BR"),
            recognize(satisfy(|c| matches!(c, '<' | '>' | '^'))),
            keyword("v"),
        )),
    )
    .parse(i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rest<'a>(r: R<'a>) -> Option<&'a str> {
        r.ok().map(|(r, _)| r)
    }

    #[test]
    fn links() {
        assert_eq!(rest(solid_link('-')(" --> B")), Some("B"));
        assert_eq!(rest(solid_link('-')("---ops")), Some("ps"));
        assert_eq!(rest(solid_link('-')("<--xB")), Some("B"));
        assert_eq!(rest(solid_link('-')("--B")), None);
        assert_eq!(rest(solid_link('=')("==>B")), Some("B"));
        assert_eq!(rest(start_link("--")("-- a")), Some("a"));
        assert_eq!(rest(dotted_link("-.->B")), Some("B"));
        assert_eq!(rest(dotted_link("..-B")), Some("B"));
        assert_eq!(rest(dotted_start("-. a")), Some("a"));
        assert_eq!(rest(invisible_link(" ~~~ B")), Some("B"));
        assert_eq!(rest(invisible_link("~~B")), None);
    }

    #[test]
    fn node_strings() {
        assert_eq!(rest(node_string("dev---ops")), Some("---ops"));
        assert_eq!(rest(node_string("a-b c")), Some(" c"));
        assert_eq!(rest(node_string("a-")), Some("-"));
        assert_eq!(rest(node_string("a=b==c")), Some("==c"));
        assert_eq!(rest(node_string("a=")), Some(""));
        assert_eq!(rest(node_string(" a")), None);
    }

    #[test]
    fn keywords_need_a_boundary() {
        assert!(keyword("end").parse("end.x").is_ok());
        assert!(keyword("end").parse("endpoint").is_err());
        assert!(keyword("end").parse("end").is_ok());
        assert!(keyword("end").parse("endé").is_ok());
    }

    #[test]
    fn shape_data_stops_at_the_first_unquoted_brace() {
        assert_eq!(rest(shape_data_body("@{ a: \"}\" } x")), Some("} x"));
        assert_eq!(rest(shape_data_body("@{ a ^ }")), Some("^ }"));
        assert_eq!(rest(shape_data_body("@{ a: \"x")), Some("\"x"));
    }
}
