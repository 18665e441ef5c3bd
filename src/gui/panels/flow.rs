//! Events flowing on the canvas: dots coloured by event type moving along
//! the edges they travel, flow density (a band per event type, as wide as
//! its rate) on edges with too many to draw, a legend in a canvas corner,
//! and the event stores' position on their badges.
//!
//! Paints what the live driver computed ([`FlowFrame`]); decides nothing
//! about the run. It knows nothing of the canvas's internals either: the
//! canvas hands it a painter, a layout → screen transform and each edge's
//! polyline, so any canvas (egui's painter, egui_graphs) can call it.

use crate::gui::theme::Theme;
use crate::live::{FlowFrame, QUERY_COLOR};
use egui::{Align2, Color32, CornerRadius, FontId, Pos2, Rect, Shape, Stroke, pos2, vec2};

/// Radius of a dot at zoom 1, in points.
const DOT_RADIUS: f32 = 4.0;
/// Rows the legend lists at most (the rest are summed up in one line).
const LEGEND_ROWS: usize = 12;

/// The colour of a lane's event type.
pub fn lane_color(theme: &Theme, color: u16) -> Color32 {
    theme.event_color((color != QUERY_COLOR).then_some(color))
}

/// Paints the dots and density bands of `flow`. `edge_path(from, to)` is
/// the polyline of the diagram edge between two Mermaid ids in layout
/// space, from the start's outline to the end's (`None` when it is not
/// drawn); `to_screen` maps layout space to the screen; `zoom` is screen
/// points per layout unit.
pub fn paint_flow(
    painter: &egui::Painter,
    flow: &FlowFrame,
    edge_path: impl Fn(&str, &str) -> Option<Vec<Pos2>>,
    to_screen: impl Fn(Pos2) -> Pos2,
    zoom: f32,
    theme: &Theme,
) {
    if flow.lanes.is_empty() {
        return;
    }
    let scale = zoom.clamp(0.5, 2.0);
    // Lanes are sorted by edge: one path per run of lanes.
    let mut paths: Vec<Option<Path>> = Vec::new();
    // Each lane's index into `paths`.
    let mut path_of: Vec<usize> = Vec::with_capacity(flow.lanes.len());
    let mut start = 0;
    while start < flow.lanes.len() {
        let (from, to) = (&flow.lanes[start].from, &flow.lanes[start].to);
        let end = start
            + flow.lanes[start..]
                .iter()
                .take_while(|l| &l.from == from && &l.to == to)
                .count();
        let path = edge_path(from, to)
            .map(|pts| Path::new(pts.into_iter().map(&to_screen).collect()))
            .filter(|p| p.length > 1.0);
        if let Some(path) = &path {
            paint_density(painter, flow, start..end, path, scale, theme);
        }
        path_of.extend(std::iter::repeat_n(paths.len(), end - start));
        paths.push(path);
        start = end;
    }
    let radius = DOT_RADIUS * scale;
    let clip = painter.clip_rect().expand(radius + 1.0);
    let mut discs = Vec::with_capacity(2 * flow.dots.len());
    for dot in &flow.dots {
        let path = path_of.get(dot.lane as usize).and_then(|&i| paths.get(i));
        let Some(Some(path)) = path else {
            continue;
        };
        let Some(lane) = flow.lanes.get(dot.lane as usize) else {
            continue;
        };
        let at = path.at(dot.progress);
        if clip.contains(at) {
            dot_shapes(&mut discs, at, radius, lane_color(theme, lane.color), theme);
        }
    }
    painter.extend(discs);
}

/// Appends one dot: a disc in `color` ringed by the canvas colour, so that
/// dots crowding an edge stay apart.
///
/// Drawn as two plain discs, the ring's under the dot's, not as one disc
/// with an outline stroke: egui draws a plain disc as a single textured
/// quad (4 vertices, 2 triangles), whereas a stroked circle is a feathered
/// 16-gon plus a feathered ring (about 70 vertices, 100 triangles). At 1×
/// the seed diagram has some 350 dots in flight, which made dots the
/// largest part of the canvas's mesh and the reason 1× drew slower than
/// 100× (where busy edges are density bands).
fn dot_shapes(out: &mut Vec<Shape>, at: Pos2, radius: f32, color: Color32, theme: &Theme) {
    out.push(Shape::circle_filled(at, radius + 1.0, theme.canvas_bg));
    out.push(Shape::circle_filled(at, radius, color));
}

/// Density: for each dense lane of one edge, a translucent band beside
/// the edge as wide as log(rate), and its rate in the middle.
fn paint_density(
    painter: &egui::Painter,
    flow: &FlowFrame,
    lanes: std::ops::Range<usize>,
    path: &Path,
    scale: f32,
    theme: &Theme,
) {
    let dense: Vec<&crate::live::Lane> = flow.lanes[lanes].iter().filter(|l| l.dense).collect();
    if dense.is_empty() {
        return;
    }
    let widths: Vec<f32> = dense
        .iter()
        .map(|l| (1.5 + 1.6 * (1.0 + l.rate_per_s as f32).log10()) * scale)
        .collect();
    let total: f32 = widths.iter().sum();
    let mut offset = -total / 2.0;
    for (lane, w) in dense.iter().zip(&widths) {
        let shift = offset + w / 2.0;
        offset += w;
        let pts = path.offset(shift);
        let color = lane_color(theme, lane.color).gamma_multiply(0.55);
        painter.add(Shape::line(pts, Stroke::new(*w, color)));
    }
    if scale >= 0.6 {
        let rate: f64 = dense.iter().map(|l| l.rate_per_s).sum();
        let at = path.at(0.5) + path.normal_at(0.5) * (total / 2.0 + 8.0 * scale);
        painter.text(
            at,
            Align2::CENTER_CENTER,
            rate_label(rate),
            FontId::monospace(theme.badge_font_size * scale),
            theme.ink_weak,
        );
    }
}

/// A rate as the canvas shows it: `850/s`, `12.4k/s`.
pub fn rate_label(rate_per_s: f64) -> String {
    if rate_per_s >= 10_000.0 {
        format!("{:.0}k/s", rate_per_s / 1000.0)
    } else if rate_per_s >= 1_000.0 {
        format!("{:.1}k/s", rate_per_s / 1000.0)
    } else {
        format!("{rate_per_s:.0}/s")
    }
}

/// The legend laid out: where it goes and its rows (a dot's colour, if
/// the row has one, and the text).
struct LegendLayout {
    rect: Rect,
    rows: Vec<(Option<Color32>, std::sync::Arc<egui::Galley>)>,
}

/// The legend's rows laid out, and where it goes: the bottom-left corner
/// of `canvas`. `None` when there is no event type to show.
fn legend_layout(
    painter: &egui::Painter,
    flow: &FlowFrame,
    canvas: Rect,
    theme: &Theme,
) -> Option<LegendLayout> {
    if flow.legend.is_empty() {
        return None;
    }
    let font = FontId::proportional(theme.badge_font_size + 1.0);
    let row_h = theme.badge_font_size + 5.0;
    let mut rows: Vec<(Option<Color32>, String)> = vec![(None, "Events".to_string())];
    for entry in flow.legend.iter().take(LEGEND_ROWS) {
        rows.push((Some(lane_color(theme, entry.color)), entry.name.clone()));
    }
    if flow.legend.len() > LEGEND_ROWS {
        rows.push((None, format!("+{} more", flow.legend.len() - LEGEND_ROWS)));
    }
    if flow.lanes.iter().any(|l| l.dense) {
        rows.push((None, "bands: too many to draw".to_string()));
    }
    let galleys: Vec<_> = rows
        .into_iter()
        .map(|(c, text)| (c, painter.layout_no_wrap(text, font.clone(), theme.ink)))
        .collect();
    let width = galleys
        .iter()
        .map(|(_, g)| g.size().x)
        .fold(0.0_f32, f32::max)
        + 30.0;
    let height = galleys.len() as f32 * row_h + 8.0;
    let rect = Rect::from_min_size(
        pos2(canvas.min.x + 10.0, canvas.max.y - height - 10.0),
        vec2(width, height),
    );
    Some(LegendLayout {
        rect,
        rows: galleys,
    })
}

/// Where [`paint_legend`] draws the legend, so that badges can keep clear
/// of it.
pub fn legend_rect(
    painter: &egui::Painter,
    flow: &FlowFrame,
    canvas: Rect,
    theme: &Theme,
) -> Option<Rect> {
    legend_layout(painter, flow, canvas, theme).map(|l| l.rect)
}

/// Paints the legend of event types in the bottom-left corner of `canvas`.
pub fn paint_legend(painter: &egui::Painter, flow: &FlowFrame, canvas: Rect, theme: &Theme) {
    let Some(LegendLayout { rect, rows }) = legend_layout(painter, flow, canvas, theme) else {
        return;
    };
    let row_h = theme.badge_font_size + 5.0;
    painter.rect_filled(rect, CornerRadius::same(4), theme.badge_bg);
    for (i, (color, galley)) in rows.into_iter().enumerate() {
        let y = rect.min.y + 4.0 + i as f32 * row_h;
        if let Some(c) = color {
            let mut dot = Vec::with_capacity(2);
            dot_shapes(
                &mut dot,
                pos2(rect.min.x + 11.0, y + row_h / 2.0),
                DOT_RADIUS,
                c,
                theme,
            );
            painter.extend(dot);
        }
        let ink = if color.is_some() {
            theme.ink
        } else {
            theme.ink_weak
        };
        painter.galley(pos2(rect.min.x + 20.0, y), galley, ink);
    }
}

/// Adds an event store's global position and stream count to its badge text.
pub fn store_badge(text: &mut String, flow: &FlowFrame, key: &str) {
    if let Some(s) = flow.store(key) {
        text.push_str(&format!(" · pos {} · {} streams", s.position, s.streams));
    }
}

/// A polyline on the screen with its length, for placing things along it.
struct Path {
    points: Vec<Pos2>,
    /// Length up to each point.
    along: Vec<f32>,
    length: f32,
}

impl Path {
    fn new(points: Vec<Pos2>) -> Path {
        let mut along = Vec::with_capacity(points.len());
        let mut length = 0.0;
        for (i, p) in points.iter().enumerate() {
            if i > 0 {
                length += p.distance(points[i - 1]);
            }
            along.push(length);
        }
        Path {
            points,
            along,
            length,
        }
    }

    /// The segment index and the fraction along it at `progress` (0..1).
    fn locate(&self, progress: f32) -> (usize, f32) {
        let d = progress.clamp(0.0, 1.0) * self.length;
        let i = self
            .along
            .partition_point(|&a| a < d)
            .clamp(1, self.points.len().saturating_sub(1).max(1));
        let seg = self.along[i] - self.along[i - 1];
        let f = if seg > 0.0 {
            (d - self.along[i - 1]) / seg
        } else {
            0.0
        };
        (i - 1, f)
    }

    /// The point at `progress` of the length.
    fn at(&self, progress: f32) -> Pos2 {
        if self.points.len() < 2 {
            return self.points.first().copied().unwrap_or(Pos2::ZERO);
        }
        let (i, f) = self.locate(progress);
        self.points[i] + (self.points[i + 1] - self.points[i]) * f
    }

    /// The unit normal (left of the direction of travel) at `progress`.
    fn normal_at(&self, progress: f32) -> egui::Vec2 {
        if self.points.len() < 2 {
            return egui::Vec2::ZERO;
        }
        let (i, _) = self.locate(progress);
        (self.points[i + 1] - self.points[i]).normalized().rot90()
    }

    /// The polyline moved sideways by `d` points.
    fn offset(&self, d: f32) -> Vec<Pos2> {
        let n = self.points.len();
        (0..n)
            .map(|i| {
                let a = self.points[i.saturating_sub(1)];
                let b = self.points[(i + 1).min(n - 1)];
                self.points[i] + (b - a).normalized().rot90() * d
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_places_points_by_length_across_its_bends() {
        let p = Path::new(vec![pos2(0.0, 0.0), pos2(10.0, 0.0), pos2(10.0, 30.0)]);
        assert_eq!(p.length, 40.0);
        assert_eq!(p.at(0.0), pos2(0.0, 0.0));
        assert_eq!(p.at(0.125), pos2(5.0, 0.0));
        assert_eq!(p.at(0.5), pos2(10.0, 10.0));
        assert_eq!(p.at(1.0), pos2(10.0, 30.0));
        assert_eq!(p.at(7.0), pos2(10.0, 30.0), "clamped");
        let side = p.offset(2.0);
        assert_eq!(side[0].distance(pos2(0.0, 0.0)), 2.0);
        assert_eq!(side[0].x, 0.0);
        let single = Path::new(vec![pos2(3.0, 4.0)]);
        assert_eq!(single.at(0.5), pos2(3.0, 4.0));
    }

    #[test]
    fn a_dot_costs_the_rasteriser_two_quads() {
        // 300 dots in flight (the seed diagram at 1x has about 350): each
        // must be two textured discs, not a feathered, stroked polygon.
        let theme = Theme::new(crate::gui::theme::ThemeKind::Dark);
        let flow = FlowFrame {
            lanes: vec![crate::live::Lane {
                from: "A".into(),
                to: "B".into(),
                color: 0,
                rate_per_s: 10.0,
                dense: false,
            }],
            dots: (0..300)
                .map(|i| crate::live::Dot {
                    lane: 0,
                    progress: i as f32 / 300.0,
                    event: i,
                })
                .collect(),
            ..FlowFrame::default()
        };
        let ctx = egui::Context::default();
        let mut out = ctx.run_ui(egui::RawInput::default(), |ui| {
            let painter = ui.ctx().layer_painter(egui::LayerId::background());
            let path = |_: &str, _: &str| Some(vec![pos2(10.0, 100.0), pos2(600.0, 300.0)]);
            paint_flow(&painter, &flow, path, |p| p, 1.0, &theme);
        });
        // Nothing uploads the font atlas here; drop its delta knowingly.
        out.textures_delta.clear();
        let shapes = out.shapes.len();
        let vertices: usize = ctx
            .tessellate(out.shapes, out.pixels_per_point)
            .iter()
            .map(|p| match &p.primitive {
                egui::epaint::Primitive::Mesh(m) => m.vertices.len(),
                egui::epaint::Primitive::Callback(_) => 0,
            })
            .sum();
        assert_eq!(shapes, 600, "a ring and a disc per dot");
        assert!(vertices <= 8 * 300, "{vertices} vertices for 300 dots");
    }

    #[test]
    fn rates_read_short() {
        assert_eq!(rate_label(12.3), "12/s");
        assert_eq!(rate_label(1_234.0), "1.2k/s");
        assert_eq!(rate_label(45_600.0), "46k/s");
    }

    #[test]
    fn event_colours_are_distinct_and_queries_are_grey() {
        for kind in [
            crate::gui::theme::ThemeKind::Dark,
            crate::gui::theme::ThemeKind::Light,
        ] {
            let theme = Theme::new(kind);
            let colors: std::collections::BTreeSet<[u8; 4]> =
                (0..10).map(|i| lane_color(&theme, i).to_array()).collect();
            assert_eq!(colors.len(), 10);
            assert_eq!(lane_color(&theme, QUERY_COLOR), theme.ink_weak);
            assert!(!colors.contains(&theme.canvas_bg.to_array()));
        }
    }
}
