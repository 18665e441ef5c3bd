//! The look of a diagram in one place, so the canvas and the SVG/PNG export
//! agree: colours ([`Color`]), the light and dark [`Palette`], each role's
//! colour and icon, and the resolution of Mermaid `classDef`/`style`/
//! `linkStyle` declarations into a node's or an edge's final style.
//!
//! Precedence follows Mermaid: the role's default look < `classDef default`
//! < each class the node carries, in order < the node's own `style` lines.
//! Declarations this module does not understand are ignored, and a colour it
//! cannot parse leaves the previous value, so a typo never blanks a node.
//!
//! Depends on the model (roles, classes, strokes) and the layout's outline
//! type (for icons); never on a renderer.

use crate::layout::shape::{Outline, PathCmd, ShapeKind};
use crate::layout::{NodeGeom, Point, Rect};
use crate::mermaid::Stroke;
use crate::model::write::{is_generated_role_class, role_class_styles};
use crate::model::{Component, Connection, DiagramMeta, Role};

/// An sRGB colour with alpha.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Color {
    pub r: u8,
    pub g: u8,
    pub b: u8,
    pub a: u8,
}

impl Color {
    /// An opaque colour.
    pub const fn rgb(r: u8, g: u8, b: u8) -> Color {
        Color { r, g, b, a: 255 }
    }

    /// Fully transparent (CSS `none` / `transparent`).
    pub const TRANSPARENT: Color = Color {
        r: 0,
        g: 0,
        b: 0,
        a: 0,
    };

    /// Parses a CSS colour as Mermaid styles write them: `#rgb`, `#rgba`,
    /// `#rrggbb`, `#rrggbbaa`, `rgb(…)`, `rgba(…)`, `none`, `transparent`
    /// and the common named colours. `None` for anything else.
    pub fn parse(text: &str) -> Option<Color> {
        let t = text.trim().trim_end_matches("!important").trim();
        let lower = t.to_ascii_lowercase();
        if let Some(hex) = lower.strip_prefix('#') {
            return parse_hex(hex);
        }
        if let Some(args) = lower
            .strip_prefix("rgba(")
            .or_else(|| lower.strip_prefix("rgb("))
            .and_then(|rest| rest.strip_suffix(')'))
        {
            return parse_rgb_args(args);
        }
        if lower == "none" || lower == "transparent" {
            return Some(Color::TRANSPARENT);
        }
        NAMED_COLORS
            .iter()
            .find(|(name, _)| *name == lower)
            .map(|&(_, rgb)| Color::rgb((rgb >> 16) as u8, (rgb >> 8) as u8, rgb as u8))
    }

    /// `#rrggbb`, ignoring alpha (give [`Color::opacity`] separately: SVG 1.1
    /// and older viewers do not read 8-digit hex).
    pub fn hex(self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.r, self.g, self.b)
    }

    /// Alpha as 0–1.
    pub fn opacity(self) -> f32 {
        f32::from(self.a) / 255.0
    }

    /// This colour mixed with `other`: `t = 0` is `self`, `t = 1` is `other`.
    pub fn mix(self, other: Color, t: f32) -> Color {
        let t = t.clamp(0.0, 1.0);
        let m = |a: u8, b: u8| (f32::from(a) + (f32::from(b) - f32::from(a)) * t).round() as u8;
        Color {
            r: m(self.r, other.r),
            g: m(self.g, other.g),
            b: m(self.b, other.b),
            a: m(self.a, other.a),
        }
    }

    /// Relative luminance (0 black – 1 white), for picking readable text.
    pub fn luminance(self) -> f32 {
        let lin = |c: u8| {
            let c = f32::from(c) / 255.0;
            if c <= 0.04045 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * lin(self.r) + 0.7152 * lin(self.g) + 0.0722 * lin(self.b)
    }
}

fn parse_hex(hex: &str) -> Option<Color> {
    if !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let digit = |i: usize| u8::from_str_radix(&hex[i..=i], 16).ok().map(|d| d * 17);
    let pair = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok();
    match hex.len() {
        3 | 4 => Some(Color {
            r: digit(0)?,
            g: digit(1)?,
            b: digit(2)?,
            a: if hex.len() == 4 { digit(3)? } else { 255 },
        }),
        6 | 8 => Some(Color {
            r: pair(0)?,
            g: pair(2)?,
            b: pair(4)?,
            a: if hex.len() == 8 { pair(6)? } else { 255 },
        }),
        _ => None,
    }
}

fn parse_rgb_args(args: &str) -> Option<Color> {
    let parts: Vec<&str> = args
        .split([',', ' ', '/'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    if !(3..=4).contains(&parts.len()) {
        return None;
    }
    let channel = |p: &str| -> Option<u8> {
        let v = match p.strip_suffix('%') {
            Some(pct) => pct.parse::<f32>().ok()? * 2.55,
            None => p.parse::<f32>().ok()?,
        };
        v.is_finite().then(|| v.clamp(0.0, 255.0).round() as u8)
    };
    let alpha = match parts.get(3) {
        None => 255,
        Some(p) => {
            let v = match p.strip_suffix('%') {
                Some(pct) => pct.parse::<f32>().ok()? / 100.0,
                None => p.parse::<f32>().ok()?,
            };
            if !v.is_finite() {
                return None;
            }
            (v.clamp(0.0, 1.0) * 255.0).round() as u8
        }
    };
    Some(Color {
        r: channel(parts[0])?,
        g: channel(parts[1])?,
        b: channel(parts[2])?,
        a: alpha,
    })
}

/// The CSS named colours people write in Mermaid styles.
const NAMED_COLORS: &[(&str, u32)] = &[
    ("black", 0x000000),
    ("white", 0xffffff),
    ("red", 0xff0000),
    ("green", 0x008000),
    ("lime", 0x00ff00),
    ("blue", 0x0000ff),
    ("yellow", 0xffff00),
    ("orange", 0xffa500),
    ("purple", 0x800080),
    ("pink", 0xffc0cb),
    ("gray", 0x808080),
    ("grey", 0x808080),
    ("lightgray", 0xd3d3d3),
    ("lightgrey", 0xd3d3d3),
    ("darkgray", 0xa9a9a9),
    ("darkgrey", 0xa9a9a9),
    ("silver", 0xc0c0c0),
    ("navy", 0x000080),
    ("teal", 0x008080),
    ("maroon", 0x800000),
    ("olive", 0x808000),
    ("aqua", 0x00ffff),
    ("cyan", 0x00ffff),
    ("magenta", 0xff00ff),
    ("fuchsia", 0xff00ff),
    ("brown", 0xa52a2a),
    ("gold", 0xffd700),
    ("lightblue", 0xadd8e6),
    ("lightgreen", 0x90ee90),
    ("lightyellow", 0xffffe0),
    ("darkblue", 0x00008b),
    ("darkgreen", 0x006400),
    ("darkred", 0x8b0000),
    ("coral", 0xff7f50),
    ("salmon", 0xfa8072),
    ("tomato", 0xff6347),
    ("violet", 0xee82ee),
    ("indigo", 0x4b0082),
    ("beige", 0xf5f5dc),
    ("ivory", 0xfffff0),
    ("khaki", 0xf0e68c),
    ("lavender", 0xe6e6fa),
    ("steelblue", 0x4682b4),
    ("skyblue", 0x87ceeb),
    ("royalblue", 0x4169e1),
    ("orchid", 0xda70d6),
    ("crimson", 0xdc143c),
    ("chocolate", 0xd2691e),
    ("tan", 0xd2b48c),
    ("whitesmoke", 0xf5f5f5),
];

/// The colours of everything that is not a node: background, text, edges,
/// edge-label backgrounds and subgraph boxes, for one theme.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Palette {
    /// Whether this is the dark theme.
    pub dark: bool,
    /// The page.
    pub background: Color,
    /// Node and edge label text.
    pub text: Color,
    /// Edges and arrowheads.
    pub edge: Color,
    /// Behind edge labels, so they read over lines.
    pub edge_label_background: Color,
    /// Subgraph fill.
    pub group_fill: Color,
    /// Subgraph border.
    pub group_stroke: Color,
    /// Subgraph title.
    pub group_title: Color,
}

impl Palette {
    /// The light or dark palette.
    pub fn new(dark: bool) -> Palette {
        if dark {
            Palette {
                dark,
                background: Color::rgb(0x1b, 0x1f, 0x24),
                text: Color::rgb(0xe6, 0xed, 0xf3),
                edge: Color::rgb(0x9d, 0xa7, 0xb3),
                edge_label_background: Color::rgb(0x1b, 0x1f, 0x24),
                group_fill: Color::rgb(0x24, 0x29, 0x30),
                group_stroke: Color::rgb(0x4a, 0x53, 0x5e),
                group_title: Color::rgb(0xb1, 0xba, 0xc4),
            }
        } else {
            Palette {
                dark,
                background: Color::rgb(0xff, 0xff, 0xff),
                text: Color::rgb(0x1f, 0x23, 0x28),
                edge: Color::rgb(0x57, 0x5f, 0x6a),
                edge_label_background: Color::rgb(0xff, 0xff, 0xff),
                group_fill: Color::rgb(0xf6, 0xf8, 0xfa),
                group_stroke: Color::rgb(0xb6, 0xbe, 0xc8),
                group_title: Color::rgb(0x42, 0x4a, 0x53),
            }
        }
    }
}

/// A role's accent colour: the node border and icon.
///
/// In the light theme this is the stroke of the `classDef` the designer
/// writes for the role ([`role_class_styles`]), so a diagram looks the same
/// before and after a save and on GitHub; the dark theme lightens it.
pub fn role_color(role: Role, dark: bool) -> Color {
    NodeStyle::for_role(role, dark).accent
}

/// A short text tag for a role (`BUS`, `DLQ`, …), for places too small for
/// the icon or without vector drawing.
pub fn role_glyph(role: Role) -> &'static str {
    match role {
        Role::Producer => "PUB",
        Role::Gateway => "API",
        Role::Command => "CMD",
        Role::Bus => "BUS",
        Role::Store => "ES",
        Role::Consumer => "SUB",
        Role::Projection => "RM",
        Role::Saga => "SAGA",
        Role::DeadLetter => "DLQ",
        Role::SchemaRegistry => "REG",
        Role::Sink => "DB",
        Role::External => "EXT",
    }
}

/// A role's icon as strokes (never filled) inside `rect`: drawn with the
/// role colour at about 1.5 px, it reads at 12–16 px.
pub fn role_icon(role: Role, rect: Rect) -> Vec<Outline> {
    let (x0, y0) = (rect.min.x, rect.min.y);
    let (w, h) = (rect.max.x - rect.min.x, rect.max.y - rect.min.y);
    let p = |x: f32, y: f32| Point {
        x: x0 + x * w,
        y: y0 + y * h,
    };
    let line = |pts: &[(f32, f32)]| {
        let mut cmds: Vec<PathCmd> = pts
            .iter()
            .enumerate()
            .map(|(i, &(x, y))| {
                if i == 0 {
                    PathCmd::MoveTo(p(x, y))
                } else {
                    PathCmd::LineTo(p(x, y))
                }
            })
            .collect();
        if cmds.is_empty() {
            cmds.push(PathCmd::MoveTo(p(0.5, 0.5)));
        }
        Outline::Path(cmds)
    };
    let closed = |pts: &[(f32, f32)]| Outline::Polygon(pts.iter().map(|&(x, y)| p(x, y)).collect());
    let ellipse = |cx: f32, cy: f32, rx: f32, ry: f32| Outline::Ellipse {
        center: p(cx, cy),
        rx: rx * w,
        ry: ry * h,
    };
    match role {
        // An arrow leaving a wall.
        Role::Producer => vec![
            line(&[(0.1, 0.15), (0.1, 0.85)]),
            line(&[(0.1, 0.5), (0.85, 0.5)]),
            line(&[(0.58, 0.25), (0.85, 0.5), (0.58, 0.75)]),
        ],
        // Two chevrons: requests coming through.
        Role::Gateway => vec![
            line(&[(0.15, 0.2), (0.45, 0.5), (0.15, 0.8)]),
            line(&[(0.5, 0.2), (0.8, 0.5), (0.5, 0.8)]),
        ],
        // A lightning bolt: a command acts.
        Role::Command => vec![closed(&[
            (0.58, 0.05),
            (0.2, 0.55),
            (0.45, 0.55),
            (0.38, 0.95),
            (0.8, 0.42),
            (0.55, 0.42),
        ])],
        // Three lanes (partitions) flowing right.
        Role::Bus => vec![
            line(&[(0.08, 0.25), (0.8, 0.25)]),
            line(&[(0.08, 0.5), (0.92, 0.5)]),
            line(&[(0.08, 0.75), (0.8, 0.75)]),
            line(&[(0.75, 0.35), (0.92, 0.5), (0.75, 0.65)]),
        ],
        // An append-only log: stacked records.
        Role::Store => vec![
            closed(&[(0.15, 0.1), (0.85, 0.1), (0.85, 0.3), (0.15, 0.3)]),
            closed(&[(0.15, 0.4), (0.85, 0.4), (0.85, 0.6), (0.15, 0.6)]),
            closed(&[(0.15, 0.7), (0.85, 0.7), (0.85, 0.9), (0.15, 0.9)]),
        ],
        // An arrow arriving at a wall.
        Role::Consumer => vec![
            line(&[(0.9, 0.15), (0.9, 0.85)]),
            line(&[(0.1, 0.5), (0.85, 0.5)]),
            line(&[(0.6, 0.25), (0.85, 0.5), (0.6, 0.75)]),
        ],
        // An eye: a read model is a view.
        Role::Projection => vec![ellipse(0.5, 0.5, 0.45, 0.27), ellipse(0.5, 0.5, 0.13, 0.13)],
        // A loop with an arrowhead: a long-running process.
        Role::Saga => {
            let mut pts = Vec::new();
            for i in 0..=10 {
                let a = (-60.0_f32 + 30.0 * i as f32).to_radians();
                pts.push((0.5 + 0.36 * a.cos(), 0.5 + 0.36 * a.sin()));
            }
            // Barbs behind the tip, along the circle's direction of travel.
            let tip = pts[pts.len() - 1];
            let a = 240.0_f32.to_radians();
            let (dx, dy) = (-a.sin(), a.cos());
            let barb = |side: f32| (tip.0 - 0.2 * dx - side * dy, tip.1 - 0.2 * dy + side * dx);
            vec![line(&pts), line(&[barb(0.12), tip, barb(-0.12)])]
        }
        // An envelope: undeliverable messages.
        Role::DeadLetter => vec![
            closed(&[(0.1, 0.22), (0.9, 0.22), (0.9, 0.78), (0.1, 0.78)]),
            line(&[(0.1, 0.22), (0.5, 0.55), (0.9, 0.22)]),
        ],
        // Braces: a schema.
        Role::SchemaRegistry => vec![
            line(&[
                (0.4, 0.1),
                (0.28, 0.16),
                (0.28, 0.42),
                (0.14, 0.5),
                (0.28, 0.58),
                (0.28, 0.84),
                (0.4, 0.9),
            ]),
            line(&[
                (0.6, 0.1),
                (0.72, 0.16),
                (0.72, 0.42),
                (0.86, 0.5),
                (0.72, 0.58),
                (0.72, 0.84),
                (0.6, 0.9),
            ]),
        ],
        // A small database cylinder.
        Role::Sink => {
            let g = ShapeKind::Cylinder.geometry(&NodeGeom {
                center: p(0.5, 0.5),
                width: 0.7 * w,
                height: 0.85 * h,
            });
            let mut v = vec![g.outline];
            v.extend(g.decorations);
            v
        }
        // A globe: the outside world.
        Role::External => vec![
            ellipse(0.5, 0.5, 0.4, 0.4),
            ellipse(0.5, 0.5, 0.17, 0.4),
            line(&[(0.1, 0.5), (0.9, 0.5)]),
        ],
    }
}

/// The resolved look of one node.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeStyle {
    /// Inside the outline.
    pub fill: Color,
    /// The outline and decorations.
    pub stroke: Color,
    /// Outline width in logical pixels.
    pub stroke_width: f32,
    /// The label.
    pub text_color: Color,
    /// Dash pattern (lengths, on/off alternating); `None` for solid.
    pub dash: Option<Vec<f32>>,
    /// The role's accent (border and icon unless a style overrides the stroke).
    pub accent: Color,
}

impl NodeStyle {
    /// A role's default look in the given theme: in the light theme exactly
    /// the role `classDef` the designer writes ([`role_class_styles`]); in
    /// the dark theme a dark tint of the same hue with light text.
    pub fn for_role(role: Role, dark: bool) -> NodeStyle {
        let palette = Palette::new(dark);
        let mut light = NodeStyle {
            fill: Color::rgb(0xfa, 0xfa, 0xfa),
            stroke: Color::rgb(0x9e, 0x9e, 0x9e),
            stroke_width: 1.5,
            text_color: Palette::new(false).text,
            dash: None,
            accent: Color::TRANSPARENT,
        };
        light.apply(role_class_styles(role));
        light.accent = light.stroke;
        if !dark {
            return light;
        }
        let accent = light.stroke.mix(Color::rgb(255, 255, 255), 0.3);
        NodeStyle {
            fill: accent.mix(palette.background, 0.8),
            stroke: accent,
            stroke_width: light.stroke_width,
            text_color: palette.text,
            dash: light.dash,
            accent,
        }
    }

    /// Applies Mermaid style declarations (`fill:#f9f`, `stroke-width:4px`,
    /// …) in order; later ones win. Unknown or unparsable ones are skipped.
    pub fn apply<S: AsRef<str>>(&mut self, declarations: &[S]) {
        for (key, value) in declarations_of(declarations) {
            match key.as_str() {
                "fill" | "background" | "background-color" => set_color(&mut self.fill, &value),
                "stroke" => set_color(&mut self.stroke, &value),
                "color" => set_color(&mut self.text_color, &value),
                "stroke-width" => set_length(&mut self.stroke_width, &value),
                "stroke-dasharray" => self.dash = parse_dash(&value),
                _ => {}
            }
        }
    }

    /// A component's final style: its role's look, then `classDef default`,
    /// then the classDefs of its classes in order, then its `style` lines.
    pub fn resolve(component: &Component, meta: &DiagramMeta, dark: bool) -> NodeStyle {
        let mut style = NodeStyle::for_role(component.role, dark);
        if let Some(decls) = meta.class_defs.get("default") {
            style.apply(decls);
        }
        for class in &component.classes {
            let Some(decls) = meta.class_defs.get(class) else {
                continue;
            };
            // The designer writes a classDef for each role class; it is
            // the role's look, not the user's choice, so it must not pin
            // light colours onto the dark theme.
            if !is_generated_role_class(class, decls) {
                style.apply(decls);
            }
        }
        style.apply(&component.styles);
        style
    }
}

/// The resolved look of one edge.
#[derive(Debug, Clone, PartialEq)]
pub struct EdgeStyle {
    /// The line and its arrowheads; transparent for invisible links.
    pub stroke: Color,
    /// Line width in logical pixels.
    pub width: f32,
    /// Dash pattern; `None` for solid.
    pub dash: Option<Vec<f32>>,
    /// The label text.
    pub text_color: Color,
}

impl EdgeStyle {
    /// The look Mermaid gives a link's stroke (`-->`, `==>`, `-.->`, `~~~`).
    pub fn for_stroke(stroke: Stroke, dark: bool) -> EdgeStyle {
        let palette = Palette::new(dark);
        let (width, dash, color) = match stroke {
            Stroke::Normal => (1.5, None, palette.edge),
            Stroke::Thick => (3.5, None, palette.edge),
            Stroke::Dotted => (1.5, Some(vec![3.0, 3.0]), palette.edge),
            Stroke::Invisible => (0.0, None, Color::TRANSPARENT),
        };
        EdgeStyle {
            stroke: color,
            width,
            dash,
            text_color: palette.text,
        }
    }

    /// A connection's final style: its stroke's look, then `linkStyle
    /// default`, then its classes' classDefs, then its own `linkStyle`.
    /// Invisible links stay invisible.
    pub fn resolve(connection: &Connection, meta: &DiagramMeta, dark: bool) -> EdgeStyle {
        let mut style = EdgeStyle::for_stroke(connection.stroke, dark);
        if connection.stroke == Stroke::Invisible {
            return style;
        }
        if let Some(decls) = &meta.link_style_default {
            style.apply(decls);
        }
        for class in &connection.attrs.classes {
            if let Some(decls) = meta.class_defs.get(class) {
                style.apply(decls);
            }
        }
        style.apply(&connection.attrs.style);
        style
    }

    /// Applies Mermaid declarations (`stroke`, `stroke-width`, `color`,
    /// `stroke-dasharray`); others are skipped.
    pub fn apply<S: AsRef<str>>(&mut self, declarations: &[S]) {
        for (key, value) in declarations_of(declarations) {
            match key.as_str() {
                "stroke" => set_color(&mut self.stroke, &value),
                "color" => set_color(&mut self.text_color, &value),
                "stroke-width" => set_length(&mut self.width, &value),
                "stroke-dasharray" => self.dash = parse_dash(&value),
                _ => {}
            }
        }
    }
}

/// `key:value` pairs from declarations; each string may itself hold several
/// separated by `;` (as `style` attributes do). Keys are lowercased.
fn declarations_of<S: AsRef<str>>(
    declarations: &[S],
) -> impl Iterator<Item = (String, String)> + '_ {
    declarations
        .iter()
        .flat_map(|d| d.as_ref().split(';'))
        .filter_map(|d| {
            let (key, value) = d.split_once(':')?;
            let value = value.trim().trim_end_matches("!important").trim();
            Some((key.trim().to_ascii_lowercase(), value.to_string()))
        })
}

fn set_color(slot: &mut Color, value: &str) {
    if let Some(c) = Color::parse(value) {
        *slot = c;
    }
}

fn set_length(slot: &mut f32, value: &str) {
    if let Some(v) = parse_length(value) {
        *slot = v;
    }
}

/// `4px`, `2`, `1.5px`: a non-negative finite length in pixels.
fn parse_length(value: &str) -> Option<f32> {
    let v: f32 = value.trim().trim_end_matches("px").trim().parse().ok()?;
    (v.is_finite() && v >= 0.0).then_some(v.min(100.0))
}

/// `5 5`, `5,5`, `5px, 3px`; `none` or nothing usable means solid.
fn parse_dash(value: &str) -> Option<Vec<f32>> {
    let dash: Vec<f32> = value
        .split([',', ' '])
        .filter(|p| !p.trim().is_empty())
        .map(parse_length)
        .collect::<Option<Vec<f32>>>()?;
    (!dash.is_empty() && dash.iter().any(|d| *d > 0.0)).then_some(dash)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mermaid::parse_flowchart;
    use crate::model::ArchGraph;

    fn graph(src: &str) -> ArchGraph {
        ArchGraph::from_flowchart(&parse_flowchart(src).expect("test diagram parses"))
    }

    #[test]
    fn colours_parse_in_every_css_form_mermaid_users_write() {
        assert_eq!(Color::parse("#f9f"), Some(Color::rgb(0xff, 0x99, 0xff)));
        assert_eq!(Color::parse("#333333"), Some(Color::rgb(0x33, 0x33, 0x33)));
        assert_eq!(
            Color::parse(" #FFF !important"),
            Some(Color::rgb(255, 255, 255))
        );
        assert_eq!(Color::parse("#11223380").map(|c| c.a), Some(0x80));
        assert_eq!(
            Color::parse("rgb(10, 20, 30)"),
            Some(Color::rgb(10, 20, 30))
        );
        assert_eq!(Color::parse("rgba(10,20,30,0.5)").map(|c| c.a), Some(128));
        assert_eq!(Color::parse("Red"), Some(Color::rgb(255, 0, 0)));
        assert_eq!(Color::parse("none"), Some(Color::TRANSPARENT));
        for bad in ["#12", "#ggg", "rgb(1,2)", "nocolor", "", "#é12"] {
            assert_eq!(Color::parse(bad), None, "{bad}");
        }
        assert_eq!(Color::rgb(1, 2, 255).hex(), "#0102ff");
    }

    #[test]
    fn style_beats_class_beats_default_class_beats_role() {
        let g = graph(
            "graph TD\n\
             A[Order Service] --> B[Kafka]\n\
             classDef default fill:#eeeeee,color:#111\n\
             classDef hot fill:#f9f,stroke:#333,stroke-width:4px\n\
             class A hot\n\
             style A stroke:#0f0,stroke-dasharray: 5 5\n",
        );
        let a = g.component_by_key("A").expect("A exists");
        let b = g.component_by_key("B").expect("B exists");
        let sa = NodeStyle::resolve(a, &g.meta, false);
        assert_eq!(sa.fill, Color::rgb(0xff, 0x99, 0xff), "class over default");
        assert_eq!(sa.stroke, Color::rgb(0, 0xff, 0), "style over class");
        assert_eq!(sa.stroke_width, 4.0);
        assert_eq!(sa.text_color, Color::rgb(0x11, 0x11, 0x11), "default class");
        assert_eq!(sa.dash, Some(vec![5.0, 5.0]));
        let sb = NodeStyle::resolve(b, &g.meta, false);
        assert_eq!(sb.fill, Color::rgb(0xee, 0xee, 0xee));
        assert_eq!(sb.stroke, role_color(b.role, false), "role border kept");
    }

    #[test]
    fn the_role_class_defs_the_designer_writes_are_the_role_look_in_both_themes() {
        let plain = graph("graph TD\nP[Order Service] --> EB[Kafka]\n");
        let saved = graph(
            "graph TD\nP[Order Service]:::producer --> EB[Kafka]:::bus\n\
             classDef producer fill:#e3f2fd,stroke:#1565c0,color:#0d2a4d\n\
             classDef bus fill:#fce4ec,stroke:#c2185b,color:#4a0a23\n",
        );
        for dark in [false, true] {
            for key in ["P", "EB"] {
                let a = plain.component_by_key(key).expect("node");
                let b = saved.component_by_key(key).expect("node");
                assert_eq!(a.role, b.role);
                assert_eq!(
                    NodeStyle::resolve(a, &plain.meta, dark),
                    NodeStyle::resolve(b, &saved.meta, dark),
                    "{key} dark={dark}"
                );
            }
        }
        let light = NodeStyle::for_role(Role::Producer, false);
        assert_eq!(light.fill, Color::rgb(0xe3, 0xf2, 0xfd));
        let dark = NodeStyle::for_role(Role::Producer, true);
        assert!(dark.fill.luminance() < 0.1 && dark.text_color.luminance() > 0.5);
        // A user's own colours for a role class still win.
        let custom = graph("graph TD\nEB[Kafka]:::bus\nclassDef bus fill:#123456\n");
        let eb = custom.component_by_key("EB").expect("node");
        assert_eq!(
            NodeStyle::resolve(eb, &custom.meta, true).fill,
            Color::rgb(0x12, 0x34, 0x56)
        );
    }

    #[test]
    fn bad_declarations_keep_the_previous_value() {
        let mut s = NodeStyle::for_role(Role::Bus, true);
        let before = s.clone();
        s.apply(&[
            "fill:#nothex",
            "stroke-width:wide",
            "nonsense",
            "stroke-width:-3px",
        ]);
        assert_eq!(s, before);
    }

    #[test]
    fn roles_have_distinct_colours_and_icons() {
        for dark in [false, true] {
            for (i, a) in Role::ALL.iter().enumerate() {
                for b in &Role::ALL[i + 1..] {
                    assert_ne!(role_color(*a, dark), role_color(*b, dark), "{a:?} {b:?}");
                    assert_ne!(role_glyph(*a), role_glyph(*b));
                }
            }
        }
        let rect = Rect {
            min: Point { x: 10.0, y: 10.0 },
            max: Point { x: 26.0, y: 26.0 },
        };
        for role in Role::ALL {
            let icon = role_icon(role, rect);
            assert!(!icon.is_empty(), "{role:?}");
            for part in icon {
                let b = part.bounds();
                assert!(b.min.x >= 9.9 && b.max.x <= 26.1, "{role:?} {b:?}");
                assert!(b.min.y >= 9.9 && b.max.y <= 26.1, "{role:?} {b:?}");
            }
        }
    }

    #[test]
    fn edge_styles_follow_stroke_and_link_style() {
        let g = graph(
            "graph LR\nA --> B\nA ==> C\nA -.-> D\nA ~~~ E\n\
             linkStyle 0 stroke:#ff3,stroke-width:4px,color:red\nlinkStyle 3 stroke:#f00\n",
        );
        let styles: Vec<EdgeStyle> = g
            .connections()
            .map(|c| EdgeStyle::resolve(c, &g.meta, false))
            .collect();
        assert_eq!(styles[0].stroke, Color::rgb(0xff, 0xff, 0x33));
        assert_eq!(styles[0].width, 4.0);
        assert_eq!(styles[0].text_color, Color::rgb(255, 0, 0));
        assert!(styles[1].width > styles[2].width, "thick is thicker");
        assert!(styles[2].dash.is_some(), "dotted is dashed");
        assert_eq!(styles[3].stroke.a, 0, "invisible stays invisible");
    }
}

#[cfg(test)]
mod saved_role_classes {
    use super::*;
    use crate::model::{file, write};

    /// Regression: a saved file carries light role `classDef`s for GitHub;
    /// reopened in the dark theme they must not pin light fills.
    #[test]
    fn role_class_defs_from_a_saved_file_follow_the_dark_theme() {
        for text in [
            crate::SEED_DIAGRAM,
            include_str!("../../diagrams/saga-orchestrated.mmd"),
        ] {
            let g = file::open(text).map(|o| o.graph).expect("diagram opens");
            let saved = write::to_mermaid(&g, &Default::default(), None);
            assert!(saved.contains("classDef bus fill:#fce4ec"), "{saved}");
            let back = file::open(&saved)
                .map(|o| o.graph)
                .expect("saved file opens");
            for c in back.components() {
                for dark in [false, true] {
                    assert_eq!(
                        NodeStyle::resolve(c, &back.meta, dark).fill,
                        NodeStyle::for_role(c.role, dark).fill,
                        "{} dark={dark}",
                        c.key
                    );
                }
            }
        }
    }

    #[test]
    fn reformatted_role_class_defs_are_still_ours_and_edited_ones_are_the_users() {
        assert!(write::is_generated_role_class(
            "bus",
            &["stroke: #C2185B", "fill:#fce4ec;color:#4a0a23"]
        ));
        assert!(!write::is_generated_role_class("bus", &["fill:#fce4ec"]));
        assert!(!write::is_generated_role_class(
            "hot",
            write::role_class_styles(Role::Bus)
        ));
    }
}
