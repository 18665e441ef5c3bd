//! Saved node positions: the `%% eda:pos <id> <x> <y>` lines at the end of
//! a designer file. Mermaid drops lines starting with `%%`, so the block
//! never changes how the diagram renders, and with one line per node in id
//! order, moving one node changes exactly one line of the file.
//!
//! Owns the line format ([`pos_comment`], [`format_coord`]) and its reader
//! ([`read`], [`read_text`]) with `file:line:col` diagnostics. Knows nothing
//! of how positions are computed (that is `layout`) or drawn.
//!
//! Coordinates are written with at most one decimal (`12`, `-3.5`), so a
//! position read back is the written one rounded to 0.1 logical pixel, and
//! a second save writes the same text.

use super::file::is_block_line;
use super::graph::ArchGraph;
use crate::mermaid::ast::{Document, Item, Visit};
use crate::mermaid::{Diagnostic, ErrorKind, Span, parse_document};
use std::collections::BTreeMap;

/// A point on the canvas in logical pixels, y growing downwards: a saved
/// node centre here, and the coordinate type of [`crate::layout`].
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct Point {
    pub x: f32,
    pub y: f32,
}

impl Point {
    /// The point at `(x, y)`.
    pub fn new(x: f32, y: f32) -> Self {
        Point { x, y }
    }
}

/// The comment prefix (after `%%` and blanks) of a position line.
pub const POS_PREFIX: &str = "eda:pos";

/// Positions read from a file, and what was odd about them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Positions {
    /// Position by Mermaid node id.
    pub positions: BTreeMap<String, Point>,
    /// Lines that were read but are suspicious: an id the diagram does not
    /// have (kept, harmless), an id given twice (the last line wins).
    pub warnings: Vec<Diagnostic>,
}

/// A coordinate as written: rounded to one decimal, without a trailing
/// `.0`, never `-0`. Non-finite values are written as `0`.
pub fn format_coord(v: f32) -> String {
    if !v.is_finite() {
        return "0".into();
    }
    let text = format!("{:.1}", v);
    let text = text.strip_suffix(".0").unwrap_or(&text);
    if text == "-0" {
        "0".into()
    } else {
        text.to_string()
    }
}

/// The comment text (after `%%`) of the position line for `key`.
pub fn pos_comment(key: &str, p: Point) -> String {
    format!(
        " {POS_PREFIX} {key} {} {}",
        format_coord(p.x),
        format_coord(p.y)
    )
}

/// Reads every `%% eda:pos` line of a parsed document, wherever it is.
///
/// A malformed line (missing or extra fields, a coordinate that is not a
/// finite number) is an error pointing at the bad token; with `graph`,
/// a position for an id the diagram has no component for is a warning.
pub fn read(doc: &Document, graph: Option<&ArchGraph>) -> Result<Positions, Vec<Diagnostic>> {
    let mut out = Positions::default();
    let mut errors = Vec::new();
    let mut seen: BTreeMap<String, Span> = BTreeMap::new();
    for visit in doc.walk() {
        let Visit::Item(Item::Comment(c), _) = visit else {
            continue;
        };
        if !is_block_line(&c.text, POS_PREFIX) {
            continue;
        }
        // The text starts right after `%%`.
        let base = c.span.start + 2;
        match parse_line(&c.text, base) {
            Ok((key, key_span, point)) => {
                if let Some(first) = seen.insert(key.to_string(), key_span) {
                    out.warnings.push(
                        Diagnostic::new(
                            ErrorKind::Db,
                            key_span,
                            format!("`{key}` has a position already; this line wins"),
                        )
                        .with_hint(format!(
                            "remove one of the two `eda:pos {key}` lines (the other starts at byte {})",
                            first.start
                        )),
                    );
                }
                if graph.is_some_and(|g| g.id_of(key).is_none()) {
                    out.warnings.push(
                        Diagnostic::new(
                            ErrorKind::Db,
                            key_span,
                            format!("position for `{key}`, which is not in the diagram"),
                        )
                        .with_hint("the line is ignored and dropped on the next save"),
                    );
                }
                out.positions.insert(key.to_string(), point);
            }
            Err(d) => errors.push(d),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// Parses `text` and reads its positions (with unknown-id warnings).
pub fn read_text(text: &str) -> Result<Positions, Vec<Diagnostic>> {
    let doc = parse_document(text).map_err(|d| vec![d])?;
    let graph = crate::mermaid::Flowchart::from_document(&doc)
        .map(|chart| ArchGraph::from_flowchart(&chart))
        .map_err(|d| vec![d])?;
    read(&doc, Some(&graph))
}

/// Renders a warning as [`Diagnostic::render`] does an error.
pub fn render_warning(d: &Diagnostic, file: &str, src: &str) -> String {
    d.render(file, src).replacen(": error: ", ": warning: ", 1)
}

/// One line's fields: `eda:pos id x y`. `base` is the byte offset of
/// `text` in the source, for spans.
fn parse_line(text: &str, base: usize) -> Result<(&str, Span, Point), Diagnostic> {
    let fields: Vec<(usize, &str)> = tokens(text).collect();
    let span_of = |(at, tok): (usize, &str)| Span::new(base + at, base + at + tok.len());
    let end = base + text.trim_end().len();
    let hint =
        "a position line reads `%% eda:pos <node id> <x> <y>`, e.g. `%% eda:pos API 120 -40.5`";
    let Some(&key) = fields.get(1) else {
        return Err(
            Diagnostic::parse(Span::new(end, end), "position line without a node id")
                .with_hint(hint),
        );
    };
    let coord = |i: usize, name: &str| -> Result<f32, Diagnostic> {
        let Some(&tok) = fields.get(i) else {
            return Err(Diagnostic::parse(
                Span::new(end, end),
                format!("position line for `{}` has no {name} coordinate", key.1),
            )
            .with_hint(hint));
        };
        match tok.1.parse::<f32>() {
            Ok(v) if v.is_finite() => Ok(v),
            _ => Err(Diagnostic::parse(
                span_of(tok),
                format!("`{}` is not a number ({name} coordinate)", tok.1),
            )
            .with_hint(hint)),
        }
    };
    let x = coord(2, "x")?;
    let y = coord(3, "y")?;
    if let Some(&extra) = fields.get(4) {
        return Err(Diagnostic::parse(
            span_of(extra),
            format!("unexpected `{}` after the coordinates", extra.1),
        )
        .with_hint(hint));
    }
    Ok((key.1, span_of(key), Point { x, y }))
}

/// Blank-separated tokens with their byte offsets.
fn tokens(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.split_whitespace().map(move |tok| {
        // `split_whitespace` yields subslices of `text`.
        let at = tok.as_ptr() as usize - text.as_ptr() as usize;
        (at, tok)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coordinates_have_at_most_one_decimal() {
        assert_eq!(format_coord(12.0), "12");
        assert_eq!(format_coord(-3.54), "-3.5");
        assert_eq!(format_coord(-0.01), "0");
        assert_eq!(format_coord(f32::NAN), "0");
        assert_eq!(format_coord(1e7), "10000000");
    }

    #[test]
    fn malformed_lines_point_at_the_bad_token() {
        let src = "graph TD\nA --> B\n%% eda:pos A 1 zz\n%% eda:pos B 2\n";
        let Err(errs) = read_text(src) else {
            panic!("accepted")
        };
        assert_eq!(errs.len(), 2);
        assert_eq!(&src[errs[0].span.start..errs[0].span.end], "zz");
        let rendered = errs[0].render("f.mmd", src);
        assert!(rendered.starts_with("f.mmd:3:16: error:"), "{rendered}");
        assert!(errs[1].render("f.mmd", src).starts_with("f.mmd:4:15:"));
    }

    #[test]
    fn unknown_ids_are_warnings() {
        let src = "graph TD\nA --> B\n%% eda:pos A 1 2\n%% eda:pos Gone 3 4\n";
        let read = read_text(src).unwrap_or_default();
        assert_eq!(read.positions.len(), 2);
        assert_eq!(read.warnings.len(), 1);
        let w = render_warning(&read.warnings[0], "f.mmd", src);
        assert!(w.starts_with("f.mmd:4:12: warning:"), "{w}");
    }

    #[test]
    fn tokens_keep_offsets() {
        let t: Vec<(usize, &str)> = tokens(" eda:pos  A 1").collect();
        assert_eq!(t, [(1, "eda:pos"), (10, "A"), (12, "1")]);
    }
}
