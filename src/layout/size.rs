//! Layout settings and how big each component's box is: the label's
//! measured text in the box its shape needs (circles, rhombi, cylinders and
//! slanted shapes need more room than a rectangle), sized by
//! [`ShapeKind::box_size`] so the layout, the canvas and the export agree.

use std::fmt;
use std::sync::Arc;

use super::shape::ShapeKind;
use crate::model::Component;

/// Measures a line-broken text at a font size: `(width, height)` in logical
/// pixels. The default approximates a 14 px sans-serif (7.5 px per char,
/// 1.5 × font size per line); the GUI passes egui's real measurement.
#[derive(Clone)]
pub struct TextMeasure(Arc<MeasureFn>);

/// `(text, font_size) -> (width, height)`.
type MeasureFn = dyn Fn(&str, f32) -> (f32, f32) + Send + Sync;

impl TextMeasure {
    /// A measure from a closure `(text, font_size) -> (width, height)`;
    /// `text` may hold `\n` line breaks.
    pub fn new(f: impl Fn(&str, f32) -> (f32, f32) + Send + Sync + 'static) -> Self {
        TextMeasure(Arc::new(f))
    }

    /// The approximate measure: 7.5 px per char at 14 px, 1.5 × font size
    /// per line.
    pub fn approximate() -> Self {
        TextMeasure::new(|text, font_size| {
            let scale = font_size / 14.0;
            let lines: Vec<&str> = text.split('\n').collect();
            let longest = lines.iter().map(|l| l.chars().count()).max().unwrap_or(0);
            (
                longest as f32 * 7.5 * scale,
                lines.len() as f32 * font_size * 1.5,
            )
        })
    }

    /// Measures `text` (already cleaned of markup) at `font_size`.
    pub fn measure(&self, text: &str, font_size: f32) -> (f32, f32) {
        let (w, h) = (self.0)(text, font_size);
        let clean = |v: f32| if v.is_finite() { v.max(0.0) } else { 0.0 };
        (clean(w), clean(h))
    }
}

impl Default for TextMeasure {
    fn default() -> Self {
        TextMeasure::approximate()
    }
}

impl fmt::Debug for TextMeasure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TextMeasure(..)")
    }
}

/// Spacing and sizing settings for [`crate::layout::layered`] and
/// [`crate::layout::with_positions`]; the defaults follow Mermaid's look.
#[derive(Debug, Clone)]
pub struct LayoutOptions {
    /// Gap between neighbouring boxes in a layer.
    pub node_sep: f32,
    /// Gap between neighbouring edge bends in a layer.
    pub edge_sep: f32,
    /// Gap between layers (before room for labels and group borders).
    pub rank_sep: f32,
    /// Space between a group's border and what it encloses.
    pub group_padding: f32,
    /// Font size of labels and titles.
    pub font_size: f32,
    /// Narrowest box a node gets.
    pub min_node_width: f32,
    /// Up to how many barycenter sweeps the crossing reduction makes; 0
    /// keeps the initial (depth-first) order.
    pub crossing_sweeps: usize,
    /// How text is measured.
    pub measure: TextMeasure,
}

impl Default for LayoutOptions {
    fn default() -> Self {
        LayoutOptions {
            node_sep: 50.0,
            edge_sep: 15.0,
            rank_sep: 50.0,
            group_padding: 15.0,
            font_size: 14.0,
            min_node_width: 60.0,
            crossing_sweeps: 24,
            measure: TextMeasure::default(),
        }
    }
}

impl LayoutOptions {
    /// `(width, height)` of a label as drawn, markup removed.
    pub fn text_size(&self, label: &str) -> (f32, f32) {
        self.measure.measure(&plain_text(label), self.font_size)
    }
}

/// A label as plain lines: `<br>` variants and `\n` become line breaks,
/// other HTML tags and Markdown emphasis marks are dropped.
pub(crate) fn plain_text(label: &str) -> String {
    let mut out = String::with_capacity(label.len());
    let mut rest = label;
    while let Some(start) = rest.find('<') {
        out.push_str(&rest[..start]);
        let tail = &rest[start..];
        match tail.find('>') {
            Some(end) => {
                let tag = tail[1..end].trim().to_ascii_lowercase();
                if tag.starts_with("br") {
                    out.push('\n');
                }
                rest = &tail[end + 1..];
            }
            None => {
                out.push_str(tail);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    let out = out.replace("\\n", "\n").replace("**", "").replace('`', "");
    out.trim().to_string()
}

/// The `(width, height)` of a component's box: its label's text in the
/// box its shape needs ([`ShapeKind::box_size`], the same padding the
/// canvas and the export draw with), at least
/// [`LayoutOptions::min_node_width`] wide.
pub fn node_size(component: &Component, opts: &LayoutOptions) -> (f32, f32) {
    let label = if component.label.is_empty() {
        component.key.as_str()
    } else {
        component.label.as_str()
    };
    let (tw, th) = opts.text_size(label);
    let (w, h) = ShapeKind::of(component.shape.as_ref()).box_size(tw, th.max(opts.font_size));
    (w.max(opts.min_node_width), h)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mermaid::parse_flowchart;
    use crate::model::ArchGraph;

    fn sizes(src: &str) -> Vec<(f32, f32)> {
        let chart = parse_flowchart(src).unwrap_or_else(|_| panic!("parse {src}"));
        let g = ArchGraph::from_flowchart(&chart);
        let opts = LayoutOptions::default();
        g.components().map(|c| node_size(c, &opts)).collect()
    }

    #[test]
    fn plain_text_breaks_lines_and_drops_markup() {
        assert_eq!(plain_text("a<br/>b<br>c"), "a\nb\nc");
        assert_eq!(plain_text("<b>bold</b> **x**"), "bold x");
        assert_eq!(plain_text("1 < 2"), "1 < 2");
    }

    #[test]
    fn longer_labels_get_wider_boxes() {
        let s = sizes("graph TD\nA[ab] --> B[a much longer label here]");
        assert!(s[1].0 > s[0].0, "{s:?}");
        assert!(s[0].0 >= LayoutOptions::default().min_node_width);
    }

    #[test]
    fn shapes_that_need_room_get_it() {
        let s = sizes(
            "graph TD\nA[Order Service] --> B{Order Service}\nB --> C((Order Service))\nC --> D[(Order Service)]",
        );
        let (rect, rhombus, circle, cyl) = (s[0], s[1], s[2], s[3]);
        assert!(rhombus.0 > rect.0 && rhombus.1 > rect.1, "{s:?}");
        assert_eq!(circle.0, circle.1);
        assert!(circle.1 > rect.1);
        assert!(cyl.1 > rect.1);
    }

    #[test]
    fn a_custom_measure_is_used() {
        let chart = parse_flowchart("graph TD\nA[abc]").unwrap_or_else(|_| panic!("parse"));
        let g = ArchGraph::from_flowchart(&chart);
        let opts = LayoutOptions {
            measure: TextMeasure::new(|_, _| (500.0, 40.0)),
            ..LayoutOptions::default()
        };
        let c = g.components().next().unwrap_or_else(|| panic!("one node"));
        assert_eq!(node_size(c, &opts), ShapeKind::Rect.box_size(500.0, 40.0));
    }
}
