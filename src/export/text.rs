//! Label text as it is shown: Mermaid's `<br>` line breaks, HTML entities
//! and markdown emphasis reduced to plain lines, and a width estimate for
//! DejaVu Sans (the font the PNG export renders with) so boxes behind edge
//! labels fit their text.
//!
//! Plain text in, plain text out: escaping for SVG/XML is the writer's job.

use crate::mermaid::LabelType;

/// The lines a label shows: split at `<br>` (any spelling) and newlines,
/// entities decoded, markdown `**`/`*`/`_` emphasis markers and backticks
/// dropped, each line trimmed. An empty label has no lines.
pub fn label_lines(label: &str, label_type: LabelType) -> Vec<String> {
    let text = split_breaks(label);
    let lines: Vec<String> = text
        .split('\n')
        .map(|line| {
            let line = decode_entities(line);
            let line = if label_type == LabelType::Markdown {
                strip_markdown(&line)
            } else {
                line
            };
            line.trim().to_string()
        })
        .collect();
    if lines.iter().all(String::is_empty) {
        Vec::new()
    } else {
        lines
    }
}

/// Replaces every `<br>`, `<br/>`, `<br />` (any case) with a newline.
fn split_breaks(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find('<') {
        out.push_str(&rest[..start]);
        let after = &rest[start..];
        let end = after.find('>');
        let is_break = end.is_some_and(|end| {
            let tag: String = after[1..end]
                .chars()
                .filter(|c| !c.is_whitespace() && *c != '/')
                .collect();
            tag.eq_ignore_ascii_case("br")
        });
        match end {
            Some(end) if is_break => {
                out.push('\n');
                rest = &after[end + 1..];
            }
            _ => {
                out.push('<');
                rest = &after[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Decodes `&name;`, `&#NN;` and `&#xHH;` entities; unknown ones stay as written.
pub fn decode_entities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find('&') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let decoded = after
            .find(';')
            .filter(|&end| end > 0 && end <= 10)
            .and_then(|end| entity(&after[..end]).map(|c| (c, end)));
        match decoded {
            Some((c, end)) => {
                out.push(c);
                rest = &after[end + 1..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn entity(name: &str) -> Option<char> {
    if let Some(num) = name.strip_prefix('#') {
        let code = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => num.parse().ok()?,
        };
        return char::from_u32(code).filter(|c| !c.is_control() || *c == '\t');
    }
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => '\u{a0}',
        "semi" => ';',
        "colon" => ':',
        "num" => '#',
        "copy" => '©',
        "reg" => '®',
        "hellip" => '…',
        "mdash" => '—',
        "ndash" => '–',
        "rarr" => '→',
        "larr" => '←',
        "harr" => '↔',
        "deg" => '°',
        "times" => '×',
        "middot" => '·',
        "bull" => '•',
        "hearts" => '♥',
        _ => return None,
    })
}

/// Drops markdown emphasis and code markers, keeping the words.
fn strip_markdown(line: &str) -> String {
    line.replace("**", "")
        .replace("__", "")
        .chars()
        .filter(|c| *c != '*' && *c != '`')
        .collect()
}

/// The approximate advance width of `text` in DejaVu Sans at `font_size`
/// pixels: per-character classes measured from the font, within a few
/// percent on ordinary labels.
pub fn text_width(text: &str, font_size: f32) -> f32 {
    let em: f32 = text.chars().map(char_em).sum();
    em * font_size
}

/// One character's advance in ems (DejaVu Sans Book).
fn char_em(c: char) -> f32 {
    match c {
        'i' | 'j' | 'l' | '.' | ',' | ':' | ';' | '\'' | '|' | '!' => 0.28,
        'f' | 't' | 'r' | 'I' | 'J' | '(' | ')' | '[' | ']' | '/' | '\\' | '-' => 0.38,
        ' ' => 0.32,
        'm' | 'w' => 0.93,
        'M' | 'W' => 0.96,
        'A'..='Z' => 0.70,
        '0'..='9' => 0.64,
        'a'..='z' => 0.60,
        _ if c.is_ascii() => 0.62,
        // Wide scripts (CJK, emoji) take about a full em.
        _ if (c as u32) >= 0x2E80 => 1.0,
        _ => 0.65,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn breaks_entities_and_markdown_become_plain_lines() {
        assert_eq!(
            label_lines("Order<br>Service", LabelType::Text),
            ["Order", "Service"]
        );
        assert_eq!(
            label_lines("a<BR />b<br/>c", LabelType::String),
            ["a", "b", "c"]
        );
        assert_eq!(
            label_lines(
                "Tom &amp; Jerry &#35;1 &quot;x&quot; &#x41;",
                LabelType::Text
            ),
            ["Tom & Jerry #1 \"x\" A"]
        );
        assert_eq!(
            label_lines("**Bold** and *it*\nnext", LabelType::Markdown),
            ["Bold and it", "next"]
        );
        assert_eq!(
            label_lines("a < b > c &bogus; &", LabelType::Text),
            ["a < b > c &bogus; &"]
        );
        assert!(label_lines("  ", LabelType::Text).is_empty());
        assert_eq!(
            label_lines("&#0;&#99999999;", LabelType::Text),
            ["&#0;&#99999999;"]
        );
    }

    #[test]
    fn wider_text_measures_wider() {
        assert!(text_width("WWW", 14.0) > text_width("iii", 14.0));
        assert!(text_width("Order Service", 28.0) > 1.9 * text_width("Order Service", 14.0));
        let w = text_width("Order Service", 14.0);
        // DejaVu Sans renders "Order Service" at 14 px about 98 px wide.
        assert!((85.0..110.0).contains(&w), "{w}");
        assert_eq!(text_width("", 14.0), 0.0);
    }
}
