//! The live overlay on the canvas's nodes while a run goes, shared by both
//! canvases: each component's badge (its numbers and a sparkline), placed
//! where it covers no other node's box or badge when there is such a
//! place, with the run's totals on hover; a ghost node for each group the
//! run has and the diagram does not ([`super::ghosts`]); and on each bus node an expand toggle that draws the bus's
//! partition grid beside it — topics × partitions with their end offsets,
//! and each group's committed offset and lag, coloured by lag.
//!
//! Paints what the frame holds (the moment shown, so scrubbing shows the
//! past) through the canvas's transform (so it follows pan and zoom). The
//! grid's rows come from the Bus tab's own builder
//! ([`super::bus_view::partition_grid`]). Decides nothing about the run.

use super::bus_view::{lag_color, partition_grid, partition_label};
use super::canvas::{Transform, badge_text, badge_totals};
use crate::gui::theme::Theme;
use crate::live::Frame;
use crate::model::Role;
use egui::{CornerRadius, FontId, Rect, Sense, Shape, Stroke, pos2, vec2};
use std::collections::{BTreeMap, BTreeSet};

/// A node the overlay draws on: its Mermaid id, role and box in layout space.
#[derive(Debug, Clone, Copy)]
pub(super) struct LiveNode<'a> {
    pub key: &'a str,
    pub role: Role,
    pub rect: Rect,
}

/// Where the overlay drew in the last frame (tests read it).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct DrawnOverlay {
    /// Each badge's rectangle on the screen by component key.
    pub badge_rects: BTreeMap<String, Rect>,
    /// Each expanded bus's grid: its cells row by row (the header first).
    pub bus_grids: BTreeMap<String, Vec<Vec<String>>>,
    /// What the badges kept clear of (the legend), on the screen.
    pub avoided: Vec<Rect>,
    /// Each run-only group's ghost node on the screen, by group name.
    pub ghosts: BTreeMap<String, Rect>,
    /// The components whose badge is drawn in the alert colour.
    pub alerts: BTreeSet<String>,
}

/// Grid rows drawn beside an expanded bus at most (the rest are counted).
const MAX_GRID_ROWS: usize = 24;
/// Group columns drawn at most.
const MAX_GRID_GROUPS: usize = 8;
/// Gap between a node and what is drawn beside it, in layout units.
const GAP: f32 = 3.0;

/// Draws the badges of `nodes` (their texts into `badges`), clear of the
/// screen rectangles `avoid` (the legend) where there is room, and the
/// toggles and grids of bus nodes; a click on a toggle adds its bus to
/// `expanded` or takes it out.
#[allow(clippy::too_many_arguments)]
pub(super) fn live_overlay_ui(
    ui: &egui::Ui,
    painter: &egui::Painter,
    frame: &Frame,
    nodes: &[LiveNode<'_>],
    t: Transform,
    theme: &Theme,
    avoid: &[Rect],
    expanded: &mut BTreeSet<String>,
    badges: &mut BTreeMap<String, String>,
    drawn: &mut DrawnOverlay,
) {
    badges.clear();
    *drawn = DrawnOverlay::default();
    let clip = painter.clip_rect();
    let scale = t.zoom.max(theme.badge_min_scale);
    let ghosts = super::ghosts::place_ghosts(frame, nodes);
    for g in &ghosts {
        super::ghosts::paint_ghost(painter, frame, g, t, theme);
        drawn
            .ghosts
            .insert(g.key.to_string(), t.rect_to_screen(g.rect));
    }
    let ghost_nodes = ghosts.iter().map(|g| LiveNode {
        key: g.key,
        role: Role::Consumer,
        rect: g.rect,
    });
    let all: Vec<LiveNode<'_>> = nodes.iter().copied().chain(ghost_nodes).collect();
    let on_screen: Vec<(LiveNode<'_>, Rect)> = all
        .iter()
        .map(|n| (*n, t.rect_to_screen(n.rect)))
        .filter(|(_, r)| r.intersects(clip.expand(200.0 * scale)))
        .collect();
    let toggles: Vec<(usize, Rect)> = on_screen
        .iter()
        .enumerate()
        .filter(|(_, (n, _))| n.role == Role::Bus)
        .map(|(i, (_, r))| (i, toggle_rect(*r, scale)))
        .collect();
    // Every node's box, every toggle and the legend are in the way of a badge.
    let mut taken: Vec<Rect> = toggles.iter().map(|(_, r)| *r).collect();
    taken.extend_from_slice(avoid);
    drawn.avoided = avoid.to_vec();
    for (i, (n, node)) in on_screen.iter().enumerate() {
        let Some(live) = frame.component(n.key) else {
            continue;
        };
        let group = frame.groups.iter().find(|g| g.group == n.key);
        let badge = badge_text(live, group);
        let totals = badge_totals(live, group);
        let (mut text, alert) = super::fault_menu::with_down_instances(badge, frame, n.key);
        super::flow::store_badge(&mut text, &frame.flow, n.key);
        let ink = if alert { theme.error } else { theme.ink };
        if alert {
            drawn.alerts.insert(n.key.to_string());
        }
        let font = FontId::monospace(theme.badge_font_size * scale);
        let galley = painter.layout_no_wrap(text.clone(), font, ink);
        let pad = vec2(4.0, 2.0) * scale;
        let spark = theme.spark_size * scale;
        let size = vec2(
            galley.size().x + spark.x + 3.0 * pad.x,
            galley.size().y.max(spark.y) + 2.0 * pad.y,
        );
        let others = on_screen
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, (_, r))| r.expand(1.0));
        let obstacles: Vec<Rect> = others.chain(taken.iter().copied()).collect();
        let rect = place_badge(*node, size, GAP * t.zoom, &obstacles, clip);
        taken.push(rect.expand(1.0));
        painter.rect_filled(rect, CornerRadius::same(3), theme.badge_bg);
        let text_pos = rect.left_center() + vec2(pad.x, -galley.size().y / 2.0);
        painter.galley(text_pos, galley, ink);
        let area = Rect::from_min_size(
            pos2(
                rect.max.x - pad.x - spark.x,
                rect.center().y - spark.y / 2.0,
            ),
            spark,
        );
        sparkline(painter, area, &spark_of(live), theme);
        ui.interact(rect, ui.id().with(("badge", n.key)), Sense::hover())
            .on_hover_text(totals);
        badges.insert(n.key.to_string(), text);
        drawn.badge_rects.insert(n.key.to_string(), rect);
    }
    for (i, rect) in toggles {
        let (n, node) = on_screen[i];
        let open = expanded.contains(n.key);
        let verb = if open { "Collapse" } else { "Expand" };
        let label = format!("{verb} bus {} partitions", n.key);
        let response = ui
            .interact(rect, ui.id().with(("bus-expand", n.key)), Sense::click())
            .on_hover_text(if open {
                "Hide the partition grid"
            } else {
                "Show topics × partitions with end offsets and each group's committed offset and lag"
            });
        response.widget_info(|| egui::WidgetInfo::labeled(egui::WidgetType::Button, true, &label));
        paint_toggle(painter, rect, open, response.hovered(), theme);
        if response.clicked() {
            if open {
                expanded.remove(n.key);
            } else {
                expanded.insert(n.key.to_string());
            }
        }
        if expanded.contains(n.key) {
            let cells = grid_cells(frame, n.key);
            let grid = paint_grid(ui, painter, node, n.key, &cells, GAP * t.zoom, scale, theme);
            // The grid may cover its own toggle: a click on it closes it too.
            if grid.clicked() {
                expanded.remove(n.key);
            }
            drawn
                .bus_grids
                .insert(n.key.to_string(), cells.into_iter().map(|r| r.0).collect());
        }
    }
}

/// Where a grid of `size` goes beside `node`: right of it if it fits in
/// `clip`, else left of it if that fits, else moved into view as far as
/// it goes.
fn grid_rect(node: Rect, size: egui::Vec2, gap: f32, clip: Rect) -> Rect {
    let right = Rect::from_min_size(pos2(node.max.x + gap, node.min.y), size);
    let left = Rect::from_min_size(pos2(node.min.x - gap - size.x, node.min.y), size);
    let r = if right.max.x <= clip.max.x || left.min.x < clip.min.x {
        right
    } else {
        left
    };
    let shift_x = (clip.max.x - r.max.x).min(0.0).max(clip.min.x - r.min.x);
    let shift_y = (clip.max.y - r.max.y).min(0.0).max(clip.min.y - r.min.y);
    r.translate(vec2(shift_x, shift_y))
}

/// Where a bus node's expand toggle goes: inside its top-right corner.
fn toggle_rect(node: Rect, scale: f32) -> Rect {
    let side = 12.0 * scale;
    Rect::from_min_size(
        pos2(node.max.x - side - 2.0, node.min.y + 2.0),
        vec2(side, side),
    )
}

/// The first free place for a badge of `size` around `node` (all on the
/// screen) inside `clip` (the canvas): under it, above it, right, left,
/// under it shifted sideways, then further down; when every place covers
/// something or is cut by the canvas's edge, the one that loses least.
pub(super) fn place_badge(
    node: Rect,
    size: egui::Vec2,
    gap: f32,
    obstacles: &[Rect],
    clip: Rect,
) -> Rect {
    let below = pos2(node.center().x - size.x / 2.0, node.max.y + gap);
    let candidates = [
        below,
        pos2(below.x, node.min.y - gap - size.y),
        pos2(node.max.x + gap, node.center().y - size.y / 2.0),
        pos2(node.min.x - gap - size.x, node.center().y - size.y / 2.0),
        pos2(node.min.x, below.y),
        pos2(node.max.x - size.x, below.y),
        pos2(below.x, below.y + size.y + gap),
        pos2(below.x, below.y + 2.0 * (size.y + gap)),
    ];
    let covered = |r: &Rect| -> f32 {
        obstacles
            .iter()
            .map(|o| {
                let i = r.intersect(*o);
                if i.is_positive() { i.area() } else { 0.0 }
            })
            .sum::<f32>()
            + outside(r, clip)
    };
    let mut best = Rect::from_min_size(below, size);
    let mut least = f32::INFINITY;
    for min in candidates {
        let r = Rect::from_min_size(min, size);
        let c = covered(&r);
        if c == 0.0 {
            return r;
        }
        if c < least {
            least = c;
            best = r;
        }
    }
    best
}

/// The area of `r` that lies outside `clip` (cut off when drawn).
fn outside(r: &Rect, clip: Rect) -> f32 {
    let inside = r.intersect(clip);
    let kept = if inside.is_positive() {
        inside.area()
    } else {
        0.0
    };
    r.area() - kept
}

/// What a badge's sparkline draws: events out per second for a source,
/// events in per second for the rest, and the lag for a group whose input
/// is not sampled (one added mid-run).
fn spark_of(c: &crate::live::ComponentFrame) -> Vec<f64> {
    if c.events_in == 0 && !c.spark_out.is_empty() && c.spark_lag.is_empty() {
        c.spark_out.clone()
    } else if c.spark_rate.is_empty() && !c.spark_lag.is_empty() {
        c.spark_lag.iter().map(|&l| l as f64).collect()
    } else {
        c.spark_rate.clone()
    }
}

/// Screen points per sparkline vertex at most: a 56-point sparkline of
/// 60 samples is drawn through about 28 points.
const SPARK_POINT_SPACING: f32 = 2.0;

fn sparkline(painter: &egui::Painter, area: Rect, spark: &[f64], theme: &Theme) {
    let points = spark_points(area, spark);
    if points.len() >= 2 {
        painter.add(Shape::line(points, Stroke::new(1.2, theme.spark)));
    } else {
        painter.line_segment(
            [area.left_bottom(), area.right_bottom()],
            Stroke::new(1.0, theme.ink_weak),
        );
    }
}

/// The sparkline of `spark` across `area`, scaled to its largest value:
/// one point per sample while the samples are at least
/// [`SPARK_POINT_SPACING`] apart, else the mean of each run of samples.
///
/// Every point of a feathered line costs four vertices and six triangles
/// of the software rasteriser's work, and a point per screen point shows
/// no more than one per two; fewer points keep the badges' share of a
/// frame small.
fn spark_points(area: Rect, spark: &[f64]) -> Vec<egui::Pos2> {
    if spark.len() < 2 {
        return Vec::new();
    }
    let most = ((area.width() / SPARK_POINT_SPACING) as usize).max(2);
    let n = spark.len().min(most);
    let bucket = |i: usize| &spark[i * spark.len() / n..(i + 1) * spark.len() / n];
    let values: Vec<f64> = (0..n)
        .map(|i| {
            let b = bucket(i);
            b.iter().sum::<f64>() / b.len().max(1) as f64
        })
        .collect();
    let max = values.iter().copied().fold(0.0_f64, f64::max).max(1e-9);
    let step = area.width() / (n - 1) as f32;
    values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let y = area.max.y - (v / max) as f32 * area.height();
            pos2(area.min.x + i as f32 * step, y)
        })
        .collect()
}

/// A small table glyph: a frame with rows, filled when the grid is shown.
fn paint_toggle(painter: &egui::Painter, r: Rect, open: bool, hovered: bool, theme: &Theme) {
    let ink = if hovered { theme.connect } else { theme.ink };
    let fill = if open {
        theme.selection_fill
    } else {
        theme.badge_bg
    };
    painter.rect(
        r,
        CornerRadius::same(2),
        fill,
        Stroke::new(1.0, ink),
        egui::StrokeKind::Inside,
    );
    let stroke = Stroke::new(1.0, ink);
    for k in 1..3 {
        let y = r.min.y + r.height() * k as f32 / 3.0;
        painter.line_segment([pos2(r.min.x + 2.0, y), pos2(r.max.x - 2.0, y)], stroke);
    }
    let x = r.min.x + r.width() * 0.4;
    painter.line_segment([pos2(x, r.min.y + 2.0), pos2(x, r.max.y - 2.0)], stroke);
}

/// A grid row: its cells' texts, and each cell's lag (coloured by it).
type GridRow = (Vec<String>, Vec<Option<u64>>);

/// The grid of bus `bus` in `frame`: a header, then a row per partition
/// (capped, with a last row counting the rest).
fn grid_cells(frame: &Frame, bus: &str) -> Vec<GridRow> {
    let (rows, groups) = partition_grid(frame, Some(bus));
    let groups = &groups[..groups.len().min(MAX_GRID_GROUPS)];
    let mut header = vec!["partition".to_string(), "end".to_string()];
    header.extend(groups.iter().map(|(g, _)| g.to_string()));
    let width = header.len();
    let mut out: Vec<GridRow> = vec![(header, vec![None; width])];
    for r in rows.iter().take(MAX_GRID_ROWS) {
        let mut cells = vec![partition_label(r.topic, r.partition), r.high.to_string()];
        let mut lags = vec![None, None];
        for (_, by) in groups {
            match by.get(&(r.topic, r.partition)) {
                Some(p) => {
                    cells.push(format!("{} · {}", p.committed, p.lag));
                    lags.push(Some(p.lag));
                }
                None => {
                    cells.push("–".to_string());
                    lags.push(None);
                }
            }
        }
        out.push((cells, lags));
    }
    if rows.len() > MAX_GRID_ROWS {
        let mut cells = vec![format!("+{} more", rows.len() - MAX_GRID_ROWS)];
        cells.resize(width, String::new());
        out.push((cells, vec![None; width]));
    }
    if rows.is_empty() {
        let mut cells = vec!["no topics yet".to_string()];
        cells.resize(width, String::new());
        out.push((cells, vec![None; width]));
    }
    out
}

/// Paints the grid `cells` beside `node` (screen); returns the grid's response.
#[allow(clippy::too_many_arguments)]
fn paint_grid(
    ui: &egui::Ui,
    painter: &egui::Painter,
    node: Rect,
    bus: &str,
    cells: &[GridRow],
    gap: f32,
    scale: f32,
    theme: &Theme,
) -> egui::Response {
    let font = FontId::monospace(theme.badge_font_size * scale);
    let pad = vec2(5.0, 2.0) * scale;
    let row_h = font.size + 2.0 * pad.y;
    let columns = cells.first().map_or(0, |r| r.0.len());
    let mut widths = vec![0.0_f32; columns];
    let galleys: Vec<Vec<_>> = cells
        .iter()
        .enumerate()
        .map(|(i, (texts, colors))| {
            texts
                .iter()
                .zip(colors)
                .enumerate()
                .map(|(c, (text, lag))| {
                    let ink = match lag {
                        Some(lag) => lag_color(*lag, theme),
                        None if i == 0 => theme.ink_weak,
                        None => theme.ink,
                    };
                    let g = painter.layout_no_wrap(text.clone(), font.clone(), ink);
                    if let Some(w) = widths.get_mut(c) {
                        *w = w.max(g.size().x);
                    }
                    (g, ink)
                })
                .collect()
        })
        .collect();
    let width: f32 = widths.iter().map(|w| w + 2.0 * pad.x).sum();
    let title = painter.layout_no_wrap(
        format!("{bus}: end offset · each group's committed offset · lag"),
        FontId::proportional(theme.badge_font_size * scale),
        theme.ink,
    );
    let height = title.size().y + pad.y + row_h * cells.len() as f32 + 2.0 * pad.y;
    let size = vec2(width.max(title.size().x + 2.0 * pad.x), height);
    let rect = grid_rect(node, size, gap + 4.0, painter.clip_rect());
    painter.rect(
        rect,
        CornerRadius::same(4),
        theme.badge_bg,
        Stroke::new(1.0, theme.ink_weak),
        egui::StrokeKind::Outside,
    );
    // A leader line from the bus to its grid.
    let (from, to) = if rect.min.x >= node.max.x {
        (node.right_center(), rect.left_top() + vec2(0.0, row_h))
    } else {
        (node.left_center(), rect.right_top() + vec2(0.0, row_h))
    };
    painter.line_segment([from, to], Stroke::new(1.0, theme.ink_weak));
    painter.galley(rect.min + pad, title, theme.ink);
    let mut y = rect.min.y + pad.y + row_h + pad.y;
    for (i, row) in galleys.into_iter().enumerate() {
        if i % 2 == 1 {
            painter.rect_filled(
                Rect::from_min_size(pos2(rect.min.x, y), vec2(rect.width(), row_h)),
                CornerRadius::ZERO,
                theme.canvas_bg.gamma_multiply(0.5),
            );
        }
        let mut x = rect.min.x;
        for (c, (g, ink)) in row.into_iter().enumerate() {
            let w = widths.get(c).copied().unwrap_or(0.0);
            // Numbers align right, names left.
            let at = if c == 0 || i == 0 {
                pos2(x + pad.x, y + pad.y)
            } else {
                pos2(x + pad.x + w - g.size().x, y + pad.y)
            };
            painter.galley(at, g, ink);
            x += w + 2.0 * pad.x;
        }
        y += row_h;
    }
    // The grid as a widget, so assistive tools (and tests) find it.
    let response = ui
        .interact(rect, ui.id().with(("bus-grid", bus)), Sense::click())
        .on_hover_text("Click to close");
    let label = format!("Partitions of {bus}");
    response.widget_info(|| egui::WidgetInfo::labeled(egui::WidgetType::Label, true, &label));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sparkline_has_a_point_per_two_screen_points_and_spans_its_area() {
        let area = Rect::from_min_size(pos2(10.0, 20.0), vec2(56.0, 12.0));
        let spark: Vec<f64> = (0..60).map(|i| (i % 7) as f64).collect();
        let pts = spark_points(area, &spark);
        assert_eq!(pts.len(), 28, "60 samples over 56 points");
        assert_eq!(pts[0].x, area.min.x);
        assert!((pts[27].x - area.max.x).abs() < 1e-3, "{:?}", pts[27]);
        assert!(
            pts.iter().all(|p| area.expand(1e-3).contains(*p)),
            "{pts:?}"
        );
        assert!(
            pts.iter().any(|p| (p.y - area.min.y).abs() < 1e-3),
            "the largest mean touches the top"
        );
        // Few samples: one point each, the peak at the top.
        let few = spark_points(area, &[0.0, 4.0, 2.0]);
        assert_eq!(few.len(), 3);
        assert_eq!(few[1].y, area.min.y);
        assert_eq!(few[0].y, area.max.y);
        assert!(spark_points(area, &[3.0]).is_empty());
    }

    #[test]
    fn a_badge_moves_off_a_neighbour_and_stays_under_its_node_when_free() {
        let node = Rect::from_min_size(pos2(100.0, 100.0), vec2(80.0, 30.0));
        let size = vec2(120.0, 16.0);
        let screen = Rect::from_min_size(pos2(0.0, 0.0), vec2(800.0, 600.0));
        let free = place_badge(node, size, 3.0, &[], screen);
        assert_eq!(free.min, pos2(80.0, 133.0), "under the node, centred");
        // A neighbour's badge right under it: the badge goes above.
        let under = Rect::from_min_size(pos2(60.0, 130.0), vec2(160.0, 20.0));
        let moved = place_badge(node, size, 3.0, &[under], screen);
        assert!(!moved.intersects(under), "{moved:?}");
        assert!(moved.max.y <= node.min.y, "above: {moved:?}");
        // Boxed in everywhere: the least covered place, never a panic.
        let everywhere = Rect::from_min_size(pos2(-1000.0, -1000.0), vec2(3000.0, 3000.0));
        let r = place_badge(node, size, 3.0, &[everywhere], screen);
        assert_eq!(r.size(), size);
    }

    #[test]
    fn a_badge_is_not_cut_by_the_canvas_edge_when_it_fits_elsewhere() {
        // A node near the canvas's left edge, boxed in above, right and
        // under: the free place left of it is off the canvas, so the badge
        // goes further down instead, inside the canvas.
        let canvas = Rect::from_min_size(pos2(100.0, 0.0), vec2(700.0, 600.0));
        let node = Rect::from_min_size(pos2(180.0, 300.0), vec2(80.0, 30.0));
        let size = vec2(150.0, 16.0);
        let obstacles = [
            Rect::from_min_max(pos2(0.0, 250.0), pos2(800.0, 299.0)),
            Rect::from_min_max(pos2(262.0, 290.0), pos2(400.0, 345.0)),
            Rect::from_min_max(pos2(100.0, 331.0), pos2(800.0, 369.0)),
        ];
        let r = place_badge(node, size, 3.0, &obstacles, canvas);
        assert!(canvas.contains_rect(r), "inside the canvas: {r:?}");
        assert!(obstacles.iter().all(|o| !r.intersects(*o)), "{r:?}");
        // On an unbounded canvas the place left of the node is the first
        // free one.
        let anywhere = Rect::from_min_size(pos2(-1e4, -1e4), vec2(2e4, 2e4));
        let r = place_badge(node, size, 3.0, &obstacles, anywhere);
        assert!(r.max.x <= node.min.x, "left of the node: {r:?}");
    }

    #[test]
    fn a_grid_goes_right_of_its_bus_or_left_when_it_does_not_fit() {
        let clip = Rect::from_min_size(pos2(0.0, 0.0), vec2(800.0, 600.0));
        let size = vec2(200.0, 150.0);
        let node = Rect::from_min_size(pos2(100.0, 100.0), vec2(80.0, 30.0));
        let r = grid_rect(node, size, 5.0, clip);
        assert_eq!(r.min, pos2(185.0, 100.0));
        let near_edge = node.translate(vec2(550.0, 0.0));
        let r = grid_rect(near_edge, size, 5.0, clip);
        assert_eq!(r.max.x, near_edge.min.x - 5.0, "left of it");
        let low = node.translate(vec2(0.0, 500.0));
        let r = grid_rect(low, size, 5.0, clip);
        assert!(clip.contains_rect(r), "{r:?}");
    }
}
