//! Diagnostics: errors as data with byte spans, rendered as
//! `file:line:col: message`, the source line, a caret and an optional hint.

use serde::Serialize;
use std::fmt;

/// A half-open byte range `start..end` into the source text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
pub struct Span {
    /// First byte of the range.
    pub start: usize,
    /// One past the last byte of the range.
    pub end: usize,
}

impl Span {
    /// A span from `start` to `end` (byte offsets).
    pub fn new(start: usize, end: usize) -> Self {
        Span { start, end }
    }

    /// The smallest span covering both `self` and `other`.
    pub fn join(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }
}

/// What kind of rejection this is, in the corpus's vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorKind {
    /// The text does not follow the flowchart grammar.
    Parse,
    /// The grammar accepted it but the diagram is semantically invalid
    /// (unknown `@{shape}`, bad `linkStyle` index, YAML error, ...).
    Db,
    /// No diagram type could be detected at all.
    UnknownDiagram,
    /// A Mermaid diagram, but not a flowchart (`sequenceDiagram`, ...).
    NotFlowchart,
    /// Larger than Mermaid's render limit (only reported by `check` as a warning by us).
    MaxTextSize,
}

impl ErrorKind {
    /// The kebab-case name used in JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Parse => "parse",
            ErrorKind::Db => "db",
            ErrorKind::UnknownDiagram => "unknown-diagram",
            ErrorKind::NotFlowchart => "not-flowchart",
            ErrorKind::MaxTextSize => "max-text-size",
        }
    }
}

/// A rejected input: kind, message, where, and how to fix it if we know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The corpus error kind.
    pub kind: ErrorKind,
    /// One sentence, no trailing period needed, no location.
    pub message: String,
    /// The offending text.
    pub span: Span,
    /// A suggestion that helps the user fix it, if there is one.
    pub hint: Option<String>,
}

impl Diagnostic {
    /// A diagnostic of `kind` at `span`.
    pub fn new(kind: ErrorKind, span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            kind,
            message: message.into(),
            span,
            hint: None,
        }
    }

    /// A grammar error at `span`.
    pub fn parse(span: Span, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Parse, span, message)
    }

    /// A semantic (FlowDB-level) error at `span`.
    pub fn db(span: Span, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Db, span, message)
    }

    /// Adds a hint.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Renders `file:line:col: error: message`, the line, a caret and the hint.
    pub fn render(&self, file: &str, src: &str) -> String {
        let loc = Location::of(src, self.span.start);
        let mut out = format!(
            "{file}:{}:{}: error: {}\n",
            loc.line,
            loc.column,
            one_line(&self.message)
        );
        push_snippet(&mut out, src, self.span, &loc);
        if let Some(hint) = &self.hint {
            out.push_str(&format!("  = hint: {hint}\n"));
        }
        out
    }

    /// The JSON form used by `parse --json` / `check --json`:
    /// `{"error", "kind", "line", "column", "file", "hint"?}`.
    pub fn to_json(&self, file: &str, src: &str) -> serde_json::Value {
        let loc = Location::of(src, self.span.start);
        let mut map = serde_json::Map::new();
        map.insert("error".into(), self.message.clone().into());
        map.insert("kind".into(), self.kind.as_str().into());
        map.insert("file".into(), file.into());
        map.insert("line".into(), loc.line.into());
        map.insert("column".into(), loc.column.into());
        if let Some(hint) = &self.hint {
            map.insert("hint".into(), hint.clone().into());
        }
        serde_json::Value::Object(map)
    }
}

/// The message on the header line with its line breaks shown as `\n`, so
/// that the source line and the caret stay the second and third lines (a
/// message can quote multi-line input, e.g. an unknown shape name).
fn one_line(message: &str) -> std::borrow::Cow<'_, str> {
    if !message.contains(['\n', '\r', '\u{2028}', '\u{2029}']) {
        return message.into();
    }
    message
        .replace('\n', "\\n")
        .replace('\r', "\\r")
        .replace('\u{2028}', "\\u{2028}")
        .replace('\u{2029}', "\\u{2029}")
        .into()
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Diagnostic {}

/// A 1-based line and column (column counted in characters) for a byte offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    /// 1-based line number.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// Byte offset where the line starts.
    pub line_start: usize,
}

impl Location {
    /// The location of byte `offset` in `src` (clamped to the text, and to a char boundary).
    pub fn of(src: &str, offset: usize) -> Location {
        let mut offset = offset.min(src.len());
        while !src.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &src[..offset];
        let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = src[line_start..offset].chars().count() + 1;
        Location {
            line,
            column,
            line_start,
        }
    }
}

/// Longest source line we echo back; longer lines are cut around the caret.
const MAX_SNIPPET_CHARS: usize = 120;

fn push_snippet(out: &mut String, src: &str, span: Span, loc: &Location) {
    let line_end = src[loc.line_start..]
        .find('\n')
        .map_or(src.len(), |i| loc.line_start + i);
    let line = src[loc.line_start..line_end].trim_end_matches('\r');
    let chars: Vec<char> = line.chars().collect();
    let caret_col = loc.column - 1;
    // Window the line so a 1 MB line does not flood the terminal.
    let from = caret_col.saturating_sub(MAX_SNIPPET_CHARS / 2);
    let to = (from + MAX_SNIPPET_CHARS).min(chars.len());
    let shown: String = chars[from.min(to)..to]
        .iter()
        .map(|&c| if c == '\t' { ' ' } else { c })
        .collect();
    let prefix = if from > 0 { "…" } else { "" };
    let suffix = if to < chars.len() { "…" } else { "" };
    let gutter = format!("{} | ", loc.line);
    out.push_str(&format!("{gutter}{prefix}{shown}{suffix}\n"));
    let span_chars = src
        .get(span.start.min(line_end)..span.end.min(line_end))
        .map_or(0, |s| s.chars().count())
        .clamp(1, MAX_SNIPPET_CHARS);
    let pad = " ".repeat(gutter.chars().count() + prefix.chars().count() + caret_col - from);
    out.push_str(&format!("{pad}{}\n", "^".repeat(span_chars)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_counts_lines_and_chars() {
        let src = "graph TD\nA[é] --> end\n";
        let at = src.find("end").unwrap_or_default();
        let loc = Location::of(src, at);
        assert_eq!((loc.line, loc.column), (2, 10));
    }

    #[test]
    fn render_points_at_the_offending_text() {
        let src = "graph TD\nA --> end\n";
        let at = src.find("end").unwrap_or_default();
        let d = Diagnostic::parse(Span::new(at, at + 3), "unexpected keyword `end`")
            .with_hint("`end` is a keyword: quote the label or rename the node");
        let text = d.render("x.mmd", src);
        assert_eq!(
            text,
            "x.mmd:2:7: error: unexpected keyword `end`\n2 | A --> end\n          ^^^\n  = hint: `end` is a keyword: quote the label or rename the node\n"
        );
    }

    #[test]
    fn a_multi_line_message_keeps_the_caret_on_the_third_line() {
        let src = "graph TD\nA@{ shape:\n  Doc }\n";
        let at = src.find("shape").unwrap_or_default();
        let d = Diagnostic::db(Span::new(at, at + 5), "No such shape: \n  Doc.");
        let text = d.render("x.mmd", src);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "x.mmd:2:5: error: No such shape: \\n  Doc.");
        assert!(lines[2].trim_start().starts_with('^'), "{text}");
        assert_eq!(d.to_json("x.mmd", src)["error"], "No such shape: \n  Doc.");
    }

    #[test]
    fn offsets_past_the_end_or_inside_a_char_do_not_panic() {
        let src = "é";
        let loc = Location::of(src, 1);
        assert_eq!(loc.column, 1);
        let d = Diagnostic::parse(Span::new(99, 120), "eof");
        assert!(d.render("f", src).starts_with("f:1:2:"));
    }
}
