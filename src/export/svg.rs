//! SVG export with the canvas's look: subgraph boxes with titles, edges with
//! their stroke, arrowheads and labels, nodes in their Mermaid shape with
//! role colour and icon, `classDef`/`style`/`linkStyle` colours honoured,
//! light or dark.
//!
//! The output is plain formatted text, deterministic for a given graph and
//! layout (items in id order, numbers rounded to two decimals), so it can be
//! compared against golden files. Arrowheads are explicit figures rather
//! than `<marker>`s: they take each edge's own colour and look the same in
//! every viewer and in resvg.
//!
//! Reads the model, the layout and the shared geometry/palette; never
//! computes a layout itself (nodes without a position are left out).

use std::fmt::Write as _;

use crate::layout::shape::{Outline, PathCmd, ShapeKind, boundary_point, end_marker};
use crate::layout::{Layout, NodeGeom, Point, Rect, label_anchor};
use crate::model::{ArchGraph, Connection, GroupId};

use super::style::{Color, EdgeStyle, NodeStyle, Palette, role_icon};
use super::text::{label_lines, text_width};

/// The side of a role icon, in pixels.
pub const ICON_SIZE: f32 = 14.0;
/// Space between a node's label area edge and its icon.
const ICON_INSET: f32 = 4.0;

/// How to draw the SVG.
#[derive(Debug, Clone, PartialEq)]
pub struct SvgOptions {
    /// Dark theme instead of light.
    pub dark: bool,
    /// Empty space around the drawing, in pixels.
    pub margin: f32,
    /// Label size in pixels.
    pub font_size: f32,
    /// The CSS font family list; the PNG export makes sure `sans-serif`
    /// resolves to a font that exists.
    pub font_family: String,
    /// Draw each node's role icon.
    pub role_icons: bool,
    /// Paint the background (otherwise it is transparent).
    pub background: bool,
}

impl Default for SvgOptions {
    fn default() -> Self {
        SvgOptions {
            dark: false,
            margin: 16.0,
            font_size: 14.0,
            font_family: "DejaVu Sans, Verdana, Arial, sans-serif".to_string(),
            role_icons: true,
            background: true,
        }
    }
}

/// The diagram as an SVG document.
pub fn to_svg(graph: &ArchGraph, layout: &Layout, opts: &SvgOptions) -> String {
    let palette = Palette::new(opts.dark);
    let view = view_box(layout, opts.margin.max(0.0));
    let mut out = String::with_capacity(4096 + 600 * graph.component_count());
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="{x} {y} {w} {h}" font-family="{font}" font-size="{size}">"#,
        x = num(view.min.x),
        y = num(view.min.y),
        w = num(view.max.x - view.min.x),
        h = num(view.max.y - view.min.y),
        font = escape(&opts.font_family),
        size = num(opts.font_size),
    );
    if let Some(title) = &graph.meta.title {
        let _ = writeln!(out, "<title>{}</title>", escape(title));
    }
    if let Some(descr) = &graph.meta.acc_descr {
        let _ = writeln!(out, "<desc>{}</desc>", escape(descr));
    }
    if opts.background {
        let _ = writeln!(
            out,
            r#"<rect class="background" x="{}" y="{}" width="{}" height="{}"{}/>"#,
            num(view.min.x),
            num(view.min.y),
            num(view.max.x - view.min.x),
            num(view.max.y - view.min.y),
            fill_attrs(palette.background),
        );
    }
    groups(&mut out, graph, layout, &palette, opts);
    let edge_labels = edges(&mut out, graph, layout, opts);
    nodes(&mut out, graph, layout, opts);
    labels_over_edges(&mut out, &edge_labels, &palette, opts);
    out.push_str("</svg>\n");
    out
}

/// The area drawn: the layout's bounds joined with everything placed
/// (a hand-built or stale layout may under-report), plus the margin.
fn view_box(layout: &Layout, margin: f32) -> Rect {
    let mut r: Option<Rect> = None;
    let mut add = |b: Rect| {
        if [b.min.x, b.min.y, b.max.x, b.max.y]
            .iter()
            .all(|v| v.is_finite())
        {
            r = Some(match r {
                None => b,
                Some(a) => Rect {
                    min: Point {
                        x: a.min.x.min(b.min.x),
                        y: a.min.y.min(b.min.y),
                    },
                    max: Point {
                        x: a.max.x.max(b.max.x),
                        y: a.max.y.max(b.max.y),
                    },
                },
            });
        }
    };
    if layout.bounds.max.x > layout.bounds.min.x || layout.bounds.max.y > layout.bounds.min.y {
        add(layout.bounds);
    }
    for g in layout.nodes.values() {
        add(node_rect(g));
    }
    for rect in layout.groups.values() {
        add(*rect);
    }
    for p in layout.edges.values().flatten() {
        add(Rect { min: *p, max: *p });
    }
    let r = r.unwrap_or_default();
    Rect {
        min: Point {
            x: (r.min.x - margin).floor(),
            y: (r.min.y - margin).floor(),
        },
        max: Point {
            x: (r.max.x + margin).ceil(),
            y: (r.max.y + margin).ceil(),
        },
    }
}

fn node_rect(g: &NodeGeom) -> Rect {
    Rect {
        min: Point {
            x: g.center.x - g.width / 2.0,
            y: g.center.y - g.height / 2.0,
        },
        max: Point {
            x: g.center.x + g.width / 2.0,
            y: g.center.y + g.height / 2.0,
        },
    }
}

/// Subgraph boxes, outermost first so inner ones are painted over them.
fn groups(
    out: &mut String,
    graph: &ArchGraph,
    layout: &Layout,
    palette: &Palette,
    opts: &SvgOptions,
) {
    let depth = |mut id: GroupId| {
        let mut d = 0usize;
        while let Some(parent) = graph.group(id).and_then(|g| g.parent) {
            d += 1;
            id = parent;
            if d > 64 {
                break;
            }
        }
        d
    };
    let mut placed: Vec<(usize, GroupId, Rect)> = layout
        .groups
        .iter()
        .filter(|(id, _)| graph.group(**id).is_some())
        .map(|(id, rect)| (depth(*id), *id, *rect))
        .collect();
    placed.sort_by_key(|(d, id, _)| (*d, *id));
    if placed.is_empty() {
        return;
    }
    out.push_str("<g class=\"groups\">\n");
    for (d, id, rect) in placed {
        let Some(group) = graph.group(id) else {
            continue;
        };
        // Nested boxes get a little darker (lighter in dark mode) each level.
        let fill = palette.group_fill.mix(palette.text, 0.035 * d as f32);
        let _ = writeln!(
            out,
            r#"<g class="group" id="group-{key}"><rect x="{x}" y="{y}" width="{w}" height="{h}" rx="6"{fill} stroke="{stroke}" stroke-width="1"/>"#,
            key = escape(&group.key),
            x = num(rect.min.x),
            y = num(rect.min.y),
            w = num(rect.max.x - rect.min.x),
            h = num(rect.max.y - rect.min.y),
            fill = fill_attrs(fill),
            stroke = palette.group_stroke.hex(),
        );
        let title = label_lines(&group.title, group.label_type).join(" ");
        if !title.is_empty() {
            let _ = writeln!(
                out,
                r#"<text x="{}" y="{}" text-anchor="middle" font-weight="bold" fill="{}">{}</text>"#,
                num((rect.min.x + rect.max.x) / 2.0),
                num(rect.min.y + 6.0 + opts.font_size),
                palette.group_title.hex(),
                escape(&title),
            );
        }
        out.push_str("</g>\n");
    }
    out.push_str("</g>\n");
}

/// An edge label to paint after the nodes.
struct EdgeLabel {
    at: Point,
    lines: Vec<String>,
    color: Color,
}

/// Edge lines and end markers; returns the labels to paint on top.
fn edges(
    out: &mut String,
    graph: &ArchGraph,
    layout: &Layout,
    opts: &SvgOptions,
) -> Vec<EdgeLabel> {
    let mut labels = Vec::new();
    let mut any = false;
    for conn in graph.connections() {
        let Some(route) = edge_route(graph, layout, conn) else {
            continue;
        };
        let style = EdgeStyle::resolve(conn, &graph.meta, opts.dark);
        let lines = label_lines(&conn.label, conn.label_type);
        if !lines.is_empty() {
            labels.push(EdgeLabel {
                at: label_anchor(&route).unwrap_or(route[0]),
                lines,
                color: style.text_color,
            });
        }
        if style.stroke.a == 0 || style.width <= 0.0 {
            continue;
        }
        if !any {
            out.push_str("<g class=\"edges\">\n");
            any = true;
        }
        edge(out, graph, conn, &route, &style);
    }
    if any {
        out.push_str("</g>\n");
    }
    labels
}

/// The route to draw: the layout's polyline with its ends moved onto the
/// actual shapes (the layout may have clipped to a box), or a straight line
/// between the two shapes when the layout has no route.
fn edge_route(graph: &ArchGraph, layout: &Layout, conn: &Connection) -> Option<Vec<Point>> {
    let from = layout.nodes.get(&conn.from)?;
    let to = layout.nodes.get(&conn.to)?;
    let outline_of = |id, g: &NodeGeom| {
        let shape = graph.component(id).and_then(|c| c.shape.as_ref());
        ShapeKind::of(shape).geometry(g).outline
    };
    let (from_outline, to_outline) = (outline_of(conn.from, from), outline_of(conn.to, to));
    let mut route: Vec<Point> = layout
        .edges
        .get(&conn.id)
        .filter(|r| r.len() >= 2 && r.iter().all(|p| p.x.is_finite() && p.y.is_finite()))
        .cloned()
        .unwrap_or_else(|| vec![from.center, to.center]);
    if conn.from == conn.to && route.len() == 2 {
        // A self-loop without a route: a small loop off the right side.
        let c = from.center;
        let (hw, hh) = (from.width / 2.0, from.height / 2.0);
        route = vec![
            Point {
                x: c.x + hw * 0.5,
                y: c.y - hh,
            },
            Point {
                x: c.x + hw * 0.5,
                y: c.y - hh - 20.0,
            },
            Point {
                x: c.x + hw + 20.0,
                y: c.y - hh - 20.0,
            },
            Point {
                x: c.x + hw + 20.0,
                y: c.y,
            },
            Point {
                x: c.x + hw,
                y: c.y,
            },
        ];
        return Some(route);
    }
    let n = route.len();
    route[0] = boundary_point(&from_outline, route[1]);
    route[n - 1] = boundary_point(&to_outline, route[n - 2]);
    Some(route)
}

fn edge(
    out: &mut String,
    graph: &ArchGraph,
    conn: &Connection,
    route: &[Point],
    style: &EdgeStyle,
) {
    let mut line = route.to_vec();
    let n = line.len();
    let start = end_marker(conn.arrow_start, route[0], route[1], style.width);
    let end = end_marker(conn.arrow_end, route[n - 1], route[n - 2], style.width);
    if let Some(m) = &start {
        line[0] = m.line_end;
    }
    if let Some(m) = &end {
        line[n - 1] = m.line_end;
    }
    let stroke = style.stroke.hex();
    let opacity = opacity_attr("stroke-opacity", style.stroke);
    let _ = write!(
        out,
        r#"<g class="edge" id="edge-{from}-{to}-{id}"><path d="{d}" fill="none" stroke="{stroke}"{opacity} stroke-width="{w}" stroke-linejoin="round""#,
        from = escape(graph.key_of(conn.from)),
        to = escape(graph.key_of(conn.to)),
        id = conn.id.get(),
        d = rounded_polyline(&line),
        w = num(style.width),
    );
    if let Some(dash) = &style.dash {
        let _ = write!(out, r#" stroke-dasharray="{}""#, dash_attr(dash));
    }
    out.push_str("/>");
    for (marker, arrow) in [(start, conn.arrow_start), (end, conn.arrow_end)] {
        let Some(marker) = marker else { continue };
        let paint = if marker.filled {
            format!(
                r#" fill="{stroke}"{opacity} stroke="{stroke}"{} stroke-width="1""#,
                opacity_attr("fill-opacity", style.stroke)
            )
        } else {
            format!(
                r#" fill="none" stroke="{stroke}"{opacity} stroke-width="{}" stroke-linecap="round""#,
                num(style.width.max(1.5))
            )
        };
        out.push_str(&outline_element(
            &marker.outline,
            &paint,
            &format!("marker-{}", arrow.as_str()),
        ));
    }
    out.push_str("</g>\n");
}

/// A polyline with its corners rounded (Mermaid draws smooth edges).
fn rounded_polyline(points: &[Point]) -> String {
    let mut d = format!("M{} {}", num(points[0].x), num(points[0].y));
    for i in 1..points.len() {
        let p = points[i];
        if i + 1 == points.len() {
            let _ = write!(d, " L{} {}", num(p.x), num(p.y));
            break;
        }
        let (prev, next) = (points[i - 1], points[i + 1]);
        let d_in = dist(prev, p);
        let d_out = dist(p, next);
        let r = 10.0_f32.min(d_in / 2.0).min(d_out / 2.0);
        if r < 0.5 {
            let _ = write!(d, " L{} {}", num(p.x), num(p.y));
            continue;
        }
        let a = toward(p, prev, r / d_in);
        let b = toward(p, next, r / d_out);
        let _ = write!(
            d,
            " L{} {} Q{} {} {} {}",
            num(a.x),
            num(a.y),
            num(p.x),
            num(p.y),
            num(b.x),
            num(b.y)
        );
    }
    d
}

fn dist(a: Point, b: Point) -> f32 {
    ((a.x - b.x).powi(2) + (a.y - b.y).powi(2)).sqrt()
}

/// The point a fraction `t` of the way from `a` to `b`.
fn toward(a: Point, b: Point, t: f32) -> Point {
    Point {
        x: a.x + (b.x - a.x) * t,
        y: a.y + (b.y - a.y) * t,
    }
}

fn labels_over_edges(out: &mut String, labels: &[EdgeLabel], palette: &Palette, opts: &SvgOptions) {
    if labels.is_empty() {
        return;
    }
    out.push_str("<g class=\"edge-labels\">\n");
    let line_height = opts.font_size * 1.25;
    for label in labels {
        let width = label
            .lines
            .iter()
            .map(|l| text_width(l, opts.font_size))
            .fold(0.0, f32::max)
            + 8.0;
        let height = line_height * label.lines.len() as f32 + 4.0;
        let _ = writeln!(
            out,
            r#"<g class="edge-label"><rect x="{}" y="{}" width="{}" height="{}" rx="3"{}{}/>"#,
            num(label.at.x - width / 2.0),
            num(label.at.y - height / 2.0),
            num(width),
            num(height),
            fill_attrs(palette.edge_label_background),
            opacity_attr(
                "fill-opacity",
                palette.edge_label_background.mix(Color::TRANSPARENT, 0.1)
            ),
        );
        text_lines(out, label.at, &label.lines, label.color, opts);
        out.push_str("</g>\n");
    }
    out.push_str("</g>\n");
}

fn nodes(out: &mut String, graph: &ArchGraph, layout: &Layout, opts: &SvgOptions) {
    out.push_str("<g class=\"nodes\">\n");
    for comp in graph.components() {
        let Some(geom) = layout.nodes.get(&comp.id) else {
            continue;
        };
        let kind = ShapeKind::of(comp.shape.as_ref());
        let shape = kind.geometry(geom);
        let style = NodeStyle::resolve(comp, &graph.meta, opts.dark);
        let _ = writeln!(
            out,
            r#"<g class="node {role} {kind}" id="node-{key}">"#,
            role = comp.role.class_name(),
            kind = kind.name(),
            key = escape(&comp.key),
        );
        let mut paint = format!(
            r#"{} stroke="{}"{} stroke-width="{}""#,
            fill_attrs(style.fill),
            style.stroke.hex(),
            opacity_attr("stroke-opacity", style.stroke),
            num(style.stroke_width)
        );
        if let Some(dash) = &style.dash {
            let _ = write!(paint, r#" stroke-dasharray="{}""#, dash_attr(dash));
        }
        out.push_str(&outline_element(&shape.outline, &paint, "shape"));
        out.push('\n');
        let deco_paint = format!(
            r#" fill="none" stroke="{}"{} stroke-width="{}""#,
            style.stroke.hex(),
            opacity_attr("stroke-opacity", style.stroke),
            num(style.stroke_width)
        );
        for deco in &shape.decorations {
            out.push_str(&outline_element(deco, &deco_paint, "decoration"));
            out.push('\n');
        }
        let mut label = shape.label;
        let size = ICON_SIZE
            .min(label.max.y - label.min.y - 4.0)
            .min((label.max.x - label.min.x) / 5.0);
        if opts.role_icons && size >= 8.0 {
            // The icon sits left of the text, vertically centred; the text
            // centres in what is left (box sizes leave room for this).
            let mid = (label.min.y + label.max.y) / 2.0;
            let rect = Rect {
                min: Point {
                    x: label.min.x + ICON_INSET,
                    y: mid - size / 2.0,
                },
                max: Point {
                    x: label.min.x + ICON_INSET + size,
                    y: mid + size / 2.0,
                },
            };
            label.min.x = rect.max.x;
            let icon_paint = format!(
                r#" fill="none" stroke="{}" stroke-width="1.25" stroke-linecap="round" stroke-linejoin="round""#,
                style.accent.hex()
            );
            let _ = write!(
                out,
                r#"<g class="icon" aria-label="{}">"#,
                comp.role.title()
            );
            for part in role_icon(comp.role, rect) {
                out.push_str(&outline_element(&part, &icon_paint, "icon-part"));
            }
            out.push_str("</g>\n");
        }
        let lines = label_lines(&comp.label, comp.label_type);
        let center = Point {
            x: (label.min.x + label.max.x) / 2.0,
            y: (label.min.y + label.max.y) / 2.0,
        };
        text_lines(out, center, &lines, style.text_color, opts);
        out.push_str("</g>\n");
    }
    out.push_str("</g>\n");
}

/// Lines of text centred on `center`, one `<text>` per line.
fn text_lines(out: &mut String, center: Point, lines: &[String], color: Color, opts: &SvgOptions) {
    let line_height = opts.font_size * 1.25;
    let top = center.y - line_height * (lines.len() as f32 - 1.0) / 2.0;
    for (i, line) in lines.iter().enumerate() {
        // Alphabetic baseline a third of the font size below the line's
        // middle: centred without relying on dominant-baseline support.
        let y = top + line_height * i as f32 + opts.font_size * 0.35;
        let _ = writeln!(
            out,
            r#"<text x="{}" y="{}" text-anchor="middle" fill="{}"{}>{}</text>"#,
            num(center.x),
            num(y),
            color.hex(),
            opacity_attr("fill-opacity", color),
            escape(line),
        );
    }
}

/// One outline as an SVG element with the given paint attributes.
fn outline_element(outline: &Outline, paint: &str, class: &str) -> String {
    match outline {
        Outline::Polygon(points) => {
            let pts: Vec<String> = points
                .iter()
                .map(|p| format!("{},{}", num(p.x), num(p.y)))
                .collect();
            format!(
                r#"<polygon class="{class}" points="{}"{paint}/>"#,
                pts.join(" ")
            )
        }
        Outline::RoundedRect { rect, radius } => format!(
            r#"<rect class="{class}" x="{}" y="{}" width="{}" height="{}" rx="{}"{paint}/>"#,
            num(rect.min.x),
            num(rect.min.y),
            num(rect.max.x - rect.min.x),
            num(rect.max.y - rect.min.y),
            num(*radius),
        ),
        Outline::Ellipse { center, rx, ry } => format!(
            r#"<ellipse class="{class}" cx="{}" cy="{}" rx="{}" ry="{}"{paint}/>"#,
            num(center.x),
            num(center.y),
            num(*rx),
            num(*ry),
        ),
        Outline::Path(cmds) => {
            let mut d = String::new();
            for cmd in cmds {
                if !d.is_empty() {
                    d.push(' ');
                }
                match cmd {
                    PathCmd::MoveTo(p) => {
                        let _ = write!(d, "M{} {}", num(p.x), num(p.y));
                    }
                    PathCmd::LineTo(p) => {
                        let _ = write!(d, "L{} {}", num(p.x), num(p.y));
                    }
                    PathCmd::CubicTo { c1, c2, to } => {
                        let _ = write!(
                            d,
                            "C{} {} {} {} {} {}",
                            num(c1.x),
                            num(c1.y),
                            num(c2.x),
                            num(c2.y),
                            num(to.x),
                            num(to.y)
                        );
                    }
                    PathCmd::Close => d.push('Z'),
                }
            }
            format!(r#"<path class="{class}" d="{d}"{paint}/>"#)
        }
    }
}

/// ` fill="#rrggbb"` plus ` fill-opacity` when translucent.
fn fill_attrs(c: Color) -> String {
    if c.a == 0 {
        return r#" fill="none""#.to_string();
    }
    format!(r#" fill="{}"{}"#, c.hex(), opacity_attr("fill-opacity", c))
}

/// ` name="0.5"` for a translucent colour, nothing for an opaque one.
fn opacity_attr(name: &str, c: Color) -> String {
    if c.a == 255 {
        String::new()
    } else {
        format!(r#" {name}="{}""#, num(c.opacity()))
    }
}

fn dash_attr(dash: &[f32]) -> String {
    dash.iter().map(|d| num(*d)).collect::<Vec<_>>().join(" ")
}

/// A number with at most two decimals and no trailing zeros: stable text
/// for golden files. Non-finite values (bad input) print as 0.
pub(crate) fn num(v: f32) -> String {
    if !v.is_finite() {
        return "0".to_string();
    }
    let s = format!("{:.2}", v);
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" || s.is_empty() {
        "0".to_string()
    } else {
        s.to_string()
    }
}

/// Escapes text for XML content and attribute values; drops characters XML
/// 1.0 forbids.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' => out.push(' '),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::NodeGeom;
    use crate::mermaid::parse_flowchart;
    use std::collections::BTreeMap;

    fn graph(src: &str) -> ArchGraph {
        ArchGraph::from_flowchart(&parse_flowchart(src).expect("test diagram parses"))
    }

    /// Nodes in a row, 200 px apart, no routes (straight edges).
    fn row_layout(g: &ArchGraph) -> Layout {
        let nodes: BTreeMap<_, _> = g
            .components()
            .enumerate()
            .map(|(i, c)| {
                (
                    c.id,
                    NodeGeom {
                        center: Point {
                            x: 100.0 + 200.0 * i as f32,
                            y: 60.0,
                        },
                        width: 140.0,
                        height: 50.0,
                    },
                )
            })
            .collect();
        Layout {
            nodes,
            ..Layout::default()
        }
    }

    #[test]
    fn numbers_print_stably() {
        assert_eq!(num(1.0), "1");
        assert_eq!(num(1.234), "1.23");
        assert_eq!(num(-0.001), "0");
        assert_eq!(num(2.5), "2.5");
        assert_eq!(num(f32::NAN), "0");
    }

    #[test]
    fn labels_are_escaped_and_broken_into_lines() {
        let g = graph("graph LR\nA[\"a &lt; b & c > d\"] -->|x &amp; y| B[\"one<br>two\"]\n");
        let svg = to_svg(&g, &row_layout(&g), &SvgOptions::default());
        assert!(svg.contains(">a &lt; b &amp; c &gt; d</text>"), "{svg}");
        assert!(svg.contains(">x &amp; y</text>"), "{svg}");
        assert!(
            svg.contains(">one</text>") && svg.contains(">two</text>"),
            "{svg}"
        );
    }

    #[test]
    fn markers_strokes_and_styles_show_up() {
        let g = graph(
            "graph LR\nA o--o B\nB x--x C\nC ==> D\nD -.- E\nE ~~~ A\n\
             classDef hot fill:#ff0000\nclass A hot\nstyle B stroke:#00ff00\n",
        );
        let svg = to_svg(&g, &row_layout(&g), &SvgOptions::default());
        assert_eq!(svg.matches("marker-circle").count(), 2, "{svg}");
        assert_eq!(svg.matches("marker-cross").count(), 2, "{svg}");
        assert_eq!(svg.matches("marker-arrow").count(), 1, "{svg}");
        assert!(svg.contains("stroke-dasharray=\"3 3\""), "dotted");
        assert!(svg.contains("stroke-width=\"3.5\""), "thick");
        assert_eq!(
            svg.matches("class=\"edge\"").count(),
            4,
            "invisible not drawn"
        );
        assert!(svg.contains("fill=\"#ff0000\""), "classDef fill");
        assert!(svg.contains("stroke=\"#00ff00\""), "style stroke");
    }

    #[test]
    fn output_is_deterministic_and_dark_differs() {
        let g = graph(crate::SEED_DIAGRAM);
        let layout = row_layout(&g);
        let light = to_svg(&g, &layout, &SvgOptions::default());
        assert_eq!(light, to_svg(&g, &layout, &SvgOptions::default()));
        let dark = to_svg(
            &g,
            &layout,
            &SvgOptions {
                dark: true,
                ..SvgOptions::default()
            },
        );
        assert_ne!(light, dark);
        assert!(light.starts_with("<svg ") && light.ends_with("</svg>\n"));
    }

    #[test]
    fn non_finite_geometry_never_reaches_the_document() {
        let g = graph("graph TD\nA{Decision} --> B((Circle))\nB --> B\n");
        let mut layout = row_layout(&g);
        let ids: Vec<_> = layout.nodes.keys().copied().collect();
        if let Some(n) = layout.nodes.get_mut(&ids[0]) {
            n.center.x = f32::NAN;
            n.width = f32::INFINITY;
        }
        layout.bounds.max.x = f32::INFINITY;
        let svg = to_svg(&g, &layout, &SvgOptions::default());
        assert!(!svg.contains("NaN") && !svg.contains("inf"), "{svg}");
        assert!(svg.ends_with("</svg>\n"));
    }

    #[test]
    fn an_empty_or_partial_layout_still_makes_a_document() {
        let g = graph(crate::SEED_DIAGRAM);
        let svg = to_svg(&g, &Layout::default(), &SvgOptions::default());
        assert!(svg.contains("<svg") && !svg.contains("class=\"node "));
        let mut layout = row_layout(&g);
        layout.nodes.retain(|id, _| id.get() % 2 == 0);
        let svg = to_svg(&g, &layout, &SvgOptions::default());
        assert!(svg.contains("class=\"node "));
    }
}
