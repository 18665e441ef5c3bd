//! A small YAML reader for `@{ … }` bodies, enough for what mermaid reads
//! from them: a mapping of scalars, in flow form (`shape: cyl, label: "x"`)
//! or block form (one key per line, `|`/`>` block scalars). Scalars resolve
//! as js-yaml's JSON schema does: `true`/`false`, `null`, JSON numbers,
//! everything else a string. Nested collections are kept as raw text.
//! Errors are what js-yaml would reject (unclosed quotes or braces, bad
//! indentation, duplicate keys); mermaid reports them as db errors.
//!
//! The token-level pieces are nom parsers over `&str`: JSON numbers, plain
//! flow scalars (with YAML's `:`/`#` look-arounds), flow blanks and comments,
//! and block-form keys. The surrounding control (flow-mapping punctuation
//! with js-yaml's error messages, block indentation, and the quoted-scalar
//! decoders, whose line folding and escapes carry state from character to
//! character) is plain Rust that calls them.

use nom::branch::alt;
use nom::bytes::complete::{tag, take_till, take_till1, take_while1};
use nom::character::complete::{char, digit0, digit1, satisfy};
use nom::combinator::{not, opt, peek, recognize};
use nom::multi::many0_count;
use nom::sequence::terminated;
use nom::{IResult, Parser};

/// A resolved scalar (or a nested collection, kept raw).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    /// A string (quoted, or plain text that is not a bool/null/number).
    Str(String),
    /// `true` / `false`.
    Bool(bool),
    /// A JSON-style number, with its text.
    Num(f64, String),
    /// `null` or an empty value.
    Null,
    /// A nested mapping or sequence, verbatim.
    Nested(String),
}

impl Value {
    /// JavaScript truthiness, which is what mermaid's `if (doc.x)` tests.
    pub fn truthy(&self) -> bool {
        match self {
            Value::Str(s) => !s.is_empty(),
            Value::Bool(b) => *b,
            Value::Num(n, _) => *n != 0.0 && !n.is_nan(),
            Value::Null => false,
            Value::Nested(_) => true,
        }
    }

    /// The value as mermaid would print it into a string.
    pub fn to_text(&self) -> String {
        match self {
            Value::Str(s) | Value::Nested(s) => s.clone(),
            Value::Bool(b) => b.to_string(),
            Value::Num(_, raw) => raw.clone(),
            Value::Null => "null".into(),
        }
    }

    /// JavaScript's `Number(x)`.
    pub fn to_number(&self) -> Option<f64> {
        match self {
            Value::Num(n, _) => Some(*n),
            Value::Bool(b) => Some(f64::from(u8::from(*b))),
            Value::Str(s) => {
                let t = s.trim();
                if t.is_empty() {
                    Some(0.0)
                } else {
                    t.parse::<f64>().ok()
                }
            }
            Value::Null => Some(0.0),
            Value::Nested(_) => None,
        }
    }
}

/// The parsed mapping, keys in order.
pub(crate) type Mapping = Vec<(String, Value)>;

/// Parses an `@{ … }` body the way mermaid's `addVertex` loads it: wrapped in
/// `{ }` when it is one line, as a block mapping otherwise.
pub(crate) fn parse_shape_data(body: &str) -> Result<Mapping, String> {
    let map = if body.contains('\n') {
        parse_block(body)?
    } else if let Some(map) = simple_flow(body) {
        map
    } else {
        flow_body(body)?
    };
    let mut seen: Vec<&str> = Vec::with_capacity(map.len());
    for (k, _) in &map {
        if seen.contains(&k.as_str()) {
            return Err(format!("duplicated mapping key `{k}`"));
        }
        seen.push(k);
    }
    Ok(map)
}

/// A one-line body read by the full flow-mapping reader.
fn flow_body(body: &str) -> Result<Mapping, String> {
    let mut p = Flow {
        s: body.as_bytes(),
        text: body,
        i: 0,
    };
    p.mapping_body(false)
}

/// The common one-line body, `key: word` and `key: "text"` pairs (no
/// escapes, comments, nesting or odd blanks), read in one pass; `None` for
/// anything else, which the full reader then takes. Where it answers, it
/// answers as that reader does (a test compares them); it exists because a
/// large diagram has hundreds of `@{ shape: …, label: "…" }` blocks.
fn simple_flow(body: &str) -> Option<Mapping> {
    let b = body.as_bytes();
    let spaces = |mut i: usize| {
        while b.get(i) == Some(&b' ') {
            i += 1;
        }
        i
    };
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        i = spaces(i);
        let key_start = i;
        if !b
            .get(i)
            .is_some_and(|&c| c.is_ascii_alphabetic() || c == b'_')
        {
            return None;
        }
        while b.get(i).is_some_and(|&c| word(c)) {
            i += 1;
        }
        let key = &body[key_start..i];
        if b.get(i) != Some(&b':') || b.get(i + 1) != Some(&b' ') {
            return None;
        }
        i = spaces(i + 1);
        let value = match b.get(i) {
            Some(b'"') => {
                let from = i + 1;
                let len = b[from..]
                    .iter()
                    .position(|&c| matches!(c, b'"' | b'\\' | b'\n' | b'\r'))?;
                if b[from + len] != b'"' {
                    return None;
                }
                i = from + len + 1;
                Value::Str(body[from..from + len].to_string())
            }
            Some(&c) if word(c) => {
                let from = i;
                while b.get(i).is_some_and(|&c| word(c) || c == b'.' || c == b'-') {
                    i += 1;
                }
                resolve_plain(&body[from..i])
            }
            _ => return None,
        };
        out.push((key.to_string(), value));
        i = spaces(i);
        match b.get(i) {
            None => return Some(out),
            Some(b',') => i += 1,
            Some(_) => return None,
        }
    }
}

fn resolve_plain(text: &str) -> Value {
    let t = text.trim();
    match t {
        "" | "null" => Value::Null,
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        _ if is_json_number(t) => Value::Num(t.parse().unwrap_or(0.0), t.to_string()),
        _ => Value::Str(t.to_string()),
    }
}

fn is_json_number(t: &str) -> bool {
    json_number(t).is_ok_and(|(rest, _)| rest.is_empty())
}

/// A JSON number: `-?(0|[1-9][0-9]*)(\.[0-9]*)?([eE][+-]?[0-9]+)?` (js-yaml's
/// JSON schema also takes a bare trailing `.`).
fn json_number(i: &str) -> IResult<&str, &str, ()> {
    recognize((
        opt(char('-')),
        alt((
            terminated(tag("0"), not(digit1)),
            recognize((satisfy(|c| c.is_ascii_digit() && c != '0'), digit0)),
        )),
        opt((char('.'), digit0)),
        opt((
            satisfy(|c| c == 'e' || c == 'E'),
            opt(satisfy(|c| c == '+' || c == '-')),
            digit1,
        )),
    ))
    .parse(i)
}

/// Blanks of a flow collection (`[ \t\n\r]`) and `#` comments; a comment
/// needs a blank (or the start) before it, which `comment_ok` tells for the
/// first position.
fn flow_blanks(mut i: &str, mut comment_ok: bool) -> IResult<&str, (), ()> {
    loop {
        if comment_ok && let Ok((rest, _)) = (char::<_, ()>('#'), take_till(|c| c == '\n')).parse(i)
        {
            i = rest;
            comment_ok = false;
            continue;
        }
        match take_while1::<_, _, ()>(|c| matches!(c, ' ' | '\t' | '\n' | '\r')).parse(i) {
            Ok((rest, run)) => {
                comment_ok = !run.ends_with('\r');
                i = rest;
            }
            Err(_) => return Ok((i, ())),
        }
    }
}

/// A plain flow scalar's raw text: up to a flow indicator (`,{}[]`), a `:`
/// that ends a key (followed by a blank, `,`, `}` or the end), or a `#`
/// after a blank. Never empty unless the input starts at a stop.
fn plain_flow_scalar(i: &str) -> IResult<&str, &str, ()> {
    let word = take_while1(|c| !matches!(c, ',' | '}' | ']' | '{' | '[' | ':' | '#' | ' ' | '\t'));
    // Blanks count only when no comment follows them.
    let blanks = terminated(take_while1(|c| c == ' ' || c == '\t'), not(char('#')));
    let colon = terminated(
        char(':'),
        peek(satisfy(|c| {
            !matches!(c, ' ' | '\t' | '\n' | '\r' | ',' | '}')
        })),
    );
    recognize(many0_count(alt((word, blanks, recognize(colon), tag("#"))))).parse(i)
}

/// Flow-style parsing (`{ a: b, c: "d" }`, as mermaid wraps one-line bodies).
struct Flow<'a> {
    s: &'a [u8],
    text: &'a str,
    i: usize,
}

impl<'a> Flow<'a> {
    /// Runs a nom parser at the cursor and moves past what it took.
    fn run<O>(&mut self, mut p: impl Parser<&'a str, Output = O, Error = ()>) -> Option<O> {
        let (rest, out) = p.parse(self.text.get(self.i..)?).ok()?;
        self.i = self.text.len() - rest.len();
        Some(out)
    }

    fn skip_ws(&mut self) {
        let comment_ok = self.i == 0 || matches!(self.s[self.i - 1], b' ' | b'\t' | b'\n');
        self.run(|i| flow_blanks(i, comment_ok));
    }

    /// The entries of a mapping; `braced` when the `{` was already consumed
    /// by a caller that expects the matching `}`.
    ///
    /// Nested mappings (`a: {b: {c: d}}`) are kept as raw text, so they are
    /// only checked, with an explicit stack of their `{` offsets rather than
    /// recursion: nesting depth costs no native stack.
    fn mapping_body(&mut self, braced: bool) -> Result<Mapping, String> {
        let mut out = Vec::new();
        let mut open: Vec<usize> = Vec::new();
        let mut outer_key: Option<String> = None;
        loop {
            let in_braces = braced || !open.is_empty();
            self.skip_ws();
            match self.s.get(self.i) {
                None if !in_braces => return Ok(out),
                None => return Err("unexpected end of the flow mapping (missing `}`)".into()),
                Some(b'}') if in_braces => {
                    self.i += 1;
                    let Some(start) = open.pop() else {
                        return Ok(out);
                    };
                    if open.is_empty() {
                        let value = Value::Nested(self.text[start..self.i].to_string());
                        out.push((outer_key.take().unwrap_or_default(), value));
                    }
                    self.after_value(braced || !open.is_empty())?;
                    continue;
                }
                Some(b'}' | b']') => return Err("unexpected closing bracket".into()),
                Some(b',') => {
                    self.i += 1;
                    continue;
                }
                _ => {}
            }
            let key = match self.scalar(true)? {
                Value::Nested(_) => return Err("a collection cannot be a mapping key".into()),
                v => v.to_text(),
            };
            self.skip_ws();
            let value = if self.s.get(self.i) == Some(&b':') {
                self.i += 1;
                self.skip_ws();
                match self.s.get(self.i) {
                    Some(b',' | b'}') | None => Value::Null,
                    Some(b'{') => {
                        if open.is_empty() {
                            outer_key = Some(key);
                        }
                        open.push(self.i);
                        self.i += 1;
                        continue;
                    }
                    _ => self.scalar(false)?,
                }
            } else {
                Value::Null
            };
            if open.is_empty() {
                out.push((key, value));
            }
            self.after_value(in_braces)?;
        }
    }

    /// What may follow a mapping entry: `,`, or the end of the mapping.
    fn after_value(&mut self, in_braces: bool) -> Result<(), String> {
        self.skip_ws();
        match self.s.get(self.i) {
            Some(b',') => self.i += 1,
            Some(b'}') if in_braces => {}
            None if !in_braces => {}
            Some(_) => return Err("expected `,` or `}` in the flow mapping".into()),
            None => return Err("unexpected end of the flow mapping (missing `}`)".into()),
        }
        Ok(())
    }

    fn scalar(&mut self, key: bool) -> Result<Value, String> {
        match self.s.get(self.i) {
            Some(b'"') => Ok(Value::Str(self.double_quoted()?)),
            Some(b'\'') => Ok(Value::Str(self.single_quoted()?)),
            Some(b'{') if !key => {
                let start = self.i;
                self.i += 1;
                self.mapping_body(true)?;
                Ok(Value::Nested(self.text[start..self.i].to_string()))
            }
            Some(b'{' | b'[') if key => Err("a collection cannot be a mapping key".into()),
            Some(b'[') => {
                let start = self.i;
                self.skip_balanced()?;
                Ok(Value::Nested(self.text[start..self.i].to_string()))
            }
            _ => {
                let raw = self.run(plain_flow_scalar).unwrap_or("");
                // Line breaks and blank runs fold to one space.
                if raw.contains(|c: char| c.is_whitespace() && c != ' ') || raw.contains("  ") {
                    let raw = raw.split_whitespace().collect::<Vec<_>>().join(" ");
                    Ok(resolve_plain(&raw))
                } else {
                    Ok(resolve_plain(raw))
                }
            }
        }
    }

    fn skip_balanced(&mut self) -> Result<(), String> {
        let mut depth = 0usize;
        while let Some(&c) = self.s.get(self.i) {
            match c {
                b'"' => {
                    self.double_quoted()?;
                    continue;
                }
                b'\'' => {
                    self.single_quoted()?;
                    continue;
                }
                b'[' | b'{' => depth += 1,
                b']' | b'}' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        self.i += 1;
                        return Ok(());
                    }
                }
                _ => {}
            }
            self.i += 1;
        }
        Err("unclosed flow collection".into())
    }

    fn double_quoted(&mut self) -> Result<String, String> {
        let (text, end) = double_quoted(self.text, self.i)?;
        self.i = end;
        Ok(text)
    }

    fn single_quoted(&mut self) -> Result<String, String> {
        let (text, end) = single_quoted(self.text, self.i)?;
        self.i = end;
        Ok(text)
    }
}

/// A `"…"` scalar starting at `at`; returns the value and the end offset.
fn double_quoted(text: &str, at: usize) -> Result<(String, usize), String> {
    let mut out = String::new();
    let mut chars = text[at + 1..].char_indices();
    let mut pending_break = 0usize;
    let mut line_start = false;
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((fold_trailing(out, pending_break), at + 1 + i + 1)),
            '\\' => {
                flush_break(&mut out, &mut pending_break);
                line_start = false;
                let Some((_, e)) = chars.next() else { break };
                match e {
                    'n' => out.push('\n'),
                    't' => out.push('\t'),
                    'r' => out.push('\r'),
                    '0' => out.push('\0'),
                    '"' | '\\' | '/' | ' ' => out.push(e),
                    '\n' => {}
                    'u' | 'x' | 'U' => {
                        let len = match e {
                            'x' => 2,
                            'u' => 4,
                            _ => 8,
                        };
                        let mut code = 0u32;
                        for _ in 0..len {
                            let digit = chars.next().and_then(|(_, h)| h.to_digit(16));
                            code = code * 16 + digit.ok_or("bad escape in a quoted string")?;
                        }
                        out.push(char::from_u32(code).ok_or("bad escape in a quoted string")?);
                    }
                    _ => return Err(format!("unknown escape `\\{e}` in a quoted string")),
                }
            }
            '\n' => {
                while out.ends_with([' ', '\t']) {
                    out.pop();
                }
                pending_break += 1;
                line_start = true;
            }
            ' ' | '\t' if line_start => {}
            _ => {
                flush_break(&mut out, &mut pending_break);
                line_start = false;
                out.push(c);
            }
        }
    }
    Err("unterminated quoted string".into())
}

fn flush_break(out: &mut String, pending: &mut usize) {
    match *pending {
        0 => {}
        1 => out.push(' '),
        n => out.extend(std::iter::repeat_n('\n', n - 1)),
    }
    *pending = 0;
}

fn fold_trailing(mut out: String, pending: usize) -> String {
    flush_break(&mut out, &mut { pending });
    out
}

/// A `'…'` scalar starting at `at`.
fn single_quoted(text: &str, at: usize) -> Result<(String, usize), String> {
    let mut out = String::new();
    let rest = &text[at + 1..];
    let mut iter = rest.char_indices().peekable();
    let mut pending_break = 0usize;
    let mut line_start = false;
    while let Some((i, c)) = iter.next() {
        match c {
            '\'' => {
                if iter.peek().map(|&(_, n)| n) == Some('\'') {
                    iter.next();
                    flush_break(&mut out, &mut pending_break);
                    out.push('\'');
                    line_start = false;
                } else {
                    return Ok((fold_trailing(out, pending_break), at + 1 + i + 1));
                }
            }
            '\n' => {
                while out.ends_with([' ', '\t']) {
                    out.pop();
                }
                pending_break += 1;
                line_start = true;
            }
            ' ' | '\t' if line_start => {}
            _ => {
                flush_break(&mut out, &mut pending_break);
                line_start = false;
                out.push(c);
            }
        }
    }
    Err("unterminated quoted string".into())
}

fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

fn is_blank_or_comment(line: &str) -> bool {
    let t = line.trim();
    t.is_empty() || t.starts_with('#')
}

/// Block-style mapping: `key: value` lines at one indentation.
fn parse_block(body: &str) -> Result<Mapping, String> {
    let lines: Vec<&str> = body.split('\n').collect();
    let mut out = Vec::new();
    let mut base: Option<usize> = None;
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i].trim_end_matches('\r');
        if is_blank_or_comment(line) {
            i += 1;
            continue;
        }
        if line.trim_start().starts_with('\t') || line.starts_with('\t') {
            return Err("tabs cannot be used for indentation".into());
        }
        let indent = indent_of(line);
        let base_indent = *base.get_or_insert(indent);
        if indent != base_indent {
            return Err("bad indentation of a mapping entry".into());
        }
        let content = &line[indent..];
        let (key, rest) = split_key(content)?;
        let rest_trim = rest.trim();
        i += 1;
        let value = if rest_trim.starts_with('|') || rest_trim.starts_with('>') {
            let (v, next) = block_scalar(rest_trim, &lines, i, base_indent)?;
            i = next;
            Value::Str(v)
        } else if rest_trim.starts_with('"') || rest_trim.starts_with('\'') {
            // Quoted scalars may continue on following lines.
            let joined: String = std::iter::once(rest_trim)
                .chain(lines[i..].iter().copied())
                .collect::<Vec<_>>()
                .join("\n");
            let (v, end) = if rest_trim.starts_with('"') {
                double_quoted(&joined, 0)?
            } else {
                single_quoted(&joined, 0)?
            };
            let consumed = joined[..end].matches('\n').count();
            i += consumed;
            let tail = joined[end..].split('\n').next().unwrap_or("").trim();
            if !tail.is_empty() && !tail.starts_with('#') {
                return Err("unexpected text after a quoted scalar".into());
            }
            Value::Str(v)
        } else if rest_trim.starts_with('{') || rest_trim.starts_with('[') {
            let mut f = Flow {
                s: rest_trim.as_bytes(),
                text: rest_trim,
                i: 0,
            };
            let v = f.scalar(false)?;
            f.skip_ws();
            if f.i < rest_trim.len() {
                return Err("unexpected text after a flow collection".into());
            }
            v
        } else {
            // A plain scalar, possibly continued on more-indented lines; or,
            // when empty, a nested block we keep raw.
            let mut text = strip_comment(rest_trim).to_string();
            let mut nested = Vec::new();
            while i < lines.len() {
                let l = lines[i].trim_end_matches('\r');
                if is_blank_or_comment(l) {
                    i += 1;
                    continue;
                }
                if indent_of(l) <= base_indent {
                    break;
                }
                if text.is_empty() {
                    nested.push(l.trim());
                } else {
                    let t = l.trim();
                    if t.contains(": ") || t.ends_with(':') {
                        return Err("bad indentation of a mapping entry".into());
                    }
                    text.push(' ');
                    text.push_str(strip_comment(t));
                }
                i += 1;
            }
            if nested.is_empty() {
                resolve_plain(&text)
            } else {
                Value::Nested(nested.join("\n"))
            }
        };
        out.push((key, value));
    }
    Ok(out)
}

fn strip_comment(s: &str) -> &str {
    match s.find(" #") {
        Some(i) => s[..i].trim_end(),
        None if s.starts_with('#') => "",
        None => s,
    }
}

/// `key: rest` (the key may be quoted).
fn split_key(content: &str) -> Result<(String, &str), String> {
    if content.starts_with('"') || content.starts_with('\'') {
        let (k, end) = if content.starts_with('"') {
            double_quoted(content, 0)?
        } else {
            single_quoted(content, 0)?
        };
        let rest = content[end..].trim_start();
        let rest = rest
            .strip_prefix(':')
            .ok_or("expected `:` after a mapping key")?;
        return Ok((k, rest));
    }
    match block_key(content) {
        Ok((rest, key)) => Ok((key.trim_end().to_string(), rest)),
        Err(_) => Err(format!("expected `key: value`, found `{}`", content.trim())),
    }
}

/// A plain block key and its `:`: text up to the first `:` that is followed
/// by a blank or the end of the line.
fn block_key(i: &str) -> IResult<&str, &str, ()> {
    let inner_colon = terminated(char(':'), peek(satisfy(|c| c != ' ' && c != '\t')));
    terminated(
        recognize(many0_count(alt((
            take_till1(|c| c == ':'),
            recognize(inner_colon),
        )))),
        char(':'),
    )
    .parse(i)
}

/// A `|` or `>` block scalar whose header is `header`, content from line `from`.
fn block_scalar(
    header: &str,
    lines: &[&str],
    from: usize,
    parent: usize,
) -> Result<(String, usize), String> {
    let folded = header.starts_with('>');
    let mut chomp = 'c';
    let mut explicit: Option<usize> = None;
    for c in strip_comment(&header[1..]).trim().chars() {
        match c {
            '-' | '+' => chomp = c,
            '1'..='9' => explicit = Some(c as usize - '0' as usize),
            _ => return Err("bad block scalar header".into()),
        }
    }
    let mut i = from;
    let mut indent = explicit.map(|e| parent + e);
    let mut content: Vec<&str> = Vec::new();
    while i < lines.len() {
        let l = lines[i].trim_end_matches('\r');
        if l.trim().is_empty() {
            content.push("");
            i += 1;
            continue;
        }
        let ind = indent_of(l);
        let want = *indent.get_or_insert(ind);
        if ind < want || ind <= parent {
            break;
        }
        content.push(&l[want..]);
        i += 1;
    }
    // Trailing blank lines belong to chomping, not content.
    let mut trailing = 0;
    while content.last() == Some(&"") {
        content.pop();
        trailing += 1;
    }
    let mut text = String::new();
    if folded {
        let mut prev_blank = true;
        for line in &content {
            if line.is_empty() {
                text.push('\n');
                prev_blank = true;
            } else {
                if !prev_blank && !text.is_empty() && !text.ends_with('\n') {
                    text.push(' ');
                } else if !prev_blank {
                    text.push('\n');
                }
                text.push_str(line);
                prev_blank = false;
            }
        }
    } else {
        text = content.join("\n");
    }
    if !content.is_empty() {
        match chomp {
            '-' => {}
            '+' => text.extend(std::iter::repeat_n('\n', trailing + 1)),
            _ => text.push('\n'),
        }
    }
    Ok((text, i))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get<'a>(m: &'a Mapping, k: &str) -> Option<&'a Value> {
        m.iter().find(|(key, _)| key == k).map(|(_, v)| v)
    }

    #[test]
    fn flow_form_with_quotes_and_numbers() {
        let m = parse_shape_data(
            r#" icon: "fa:user", form: "square", label: "User Icon", pos: "t", h: 60 "#,
        )
        .unwrap_or_default();
        assert_eq!(get(&m, "icon"), Some(&Value::Str("fa:user".into())));
        assert_eq!(get(&m, "h").and_then(Value::to_number), Some(60.0));
        let m = parse_shape_data(" shape: 'rect' ").unwrap_or_default();
        assert_eq!(get(&m, "shape"), Some(&Value::Str("rect".into())));
        let m = parse_shape_data(" animate: true ").unwrap_or_default();
        assert_eq!(get(&m, "animate"), Some(&Value::Bool(true)));
    }

    #[test]
    fn block_form_with_literal_scalar() {
        let body = "\n        label: |\n          This is a\n          multiline string\n        other: \"clock\"\n     ";
        let m = parse_shape_data(body).unwrap_or_default();
        assert_eq!(
            get(&m, "label"),
            Some(&Value::Str("This is a\nmultiline string\n".into()))
        );
        assert_eq!(get(&m, "other"), Some(&Value::Str("clock".into())));
    }

    #[test]
    fn json_numbers_are_exact() {
        for t in ["0", "-0", "12", "1.", "1.5", "1e5", "-2.5E-3", "0.1"] {
            assert!(is_json_number(t), "{t}");
        }
        for t in ["01", "-", "", "1e", "1.5x", "+1", ".5", "0x1", "1 2"] {
            assert!(!is_json_number(t), "{t}");
        }
    }

    #[test]
    fn plain_flow_scalars_stop_like_yaml() {
        assert_eq!(plain_flow_scalar("a:b, c"), Ok((", c", "a:b")));
        assert_eq!(plain_flow_scalar("a: b"), Ok((": b", "a")));
        assert_eq!(plain_flow_scalar("a#b #c"), Ok((" #c", "a#b")));
        assert_eq!(plain_flow_scalar("x y}"), Ok(("}", "x y")));
    }

    #[test]
    fn deep_flow_nesting_uses_no_native_stack() {
        let n = 200_000;
        let body = format!("a: {}x{}, c: 1", "{b: ".repeat(n), "}".repeat(n));
        let m = parse_shape_data(&body).expect("deeply nested mapping");
        assert!(matches!(&m[0].1, Value::Nested(t) if t.len() == body.len() - 9));
        assert_eq!(m[1].0, "c");
        assert!(parse_shape_data(&format!("a: {}x", "{b: ".repeat(n))).is_err());
    }

    #[test]
    fn errors_like_js_yaml() {
        assert!(parse_shape_data(" shape: rect, shape: cyl ").is_err());
        assert!(parse_shape_data(" label: \"open ").is_err());
        assert!(parse_shape_data(" a: {b: c ").is_err());
        assert!(parse_shape_data("\n shape: circle\n    label: x: y\n").is_err());
    }

    #[test]
    fn simple_bodies_read_as_the_full_reader_reads_them() {
        const KEYS: [&str; 5] = ["shape", "label", "true", "w", "_x1"];
        const VALUES: [&str; 14] = [
            "cyl",
            "\"Store 12\"",
            "\"\"",
            "\"a #b, c: d\"",
            "\"é ü\"",
            "12",
            "1.5",
            "-3",
            "lean-r",
            "true",
            "null",
            "x.y.",
            "a b",
            "\"a\\\"b\"",
        ];
        const SEPS: [&str; 5] = [", ", ",", " , ", ",  ", " ,"];
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut pick = |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        let mut fast = 0;
        for _ in 0..2000 {
            let mut body = String::from(["", " ", "  "][pick(3)]);
            for k in 0..1 + pick(3) {
                if k > 0 {
                    body.push_str(SEPS[pick(SEPS.len())]);
                }
                body.push_str(KEYS[pick(KEYS.len())]);
                body.push_str([": ", ":  ", ":", " : "][pick(4)]);
                body.push_str(VALUES[pick(VALUES.len())]);
            }
            body.push_str(["", " ", ","][pick(3)]);
            if let Some(map) = simple_flow(&body) {
                fast += 1;
                assert_eq!(Ok(map), flow_body(&body), "on {body:?}");
            }
        }
        assert!(fast > 200, "the quick reader took only {fast} bodies");
    }
}
