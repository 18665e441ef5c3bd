//! The selected event's path on the canvas: the edges it travelled and
//! the components that worked on it, in the theme's accent colour, and
//! the edges its causes travelled (dashed) — drawn over the diagram from
//! the frame's [`EventTraceView`].
//!
//! Independent of how the canvas draws: it takes a painter, the layout →
//! screen transform and two lookups of layout geometry by Mermaid id, so
//! any canvas (the painter canvas, egui_graphs) can call it.

use crate::gui::theme::Theme;
use crate::live::EventTraceView;
use egui::{Align2, Color32, CornerRadius, FontId, Pos2, Rect, Shape, Stroke, StrokeKind};

/// The drawn ends, in layout space, of the diagram's connection
/// `from → to` (by Mermaid ids), if there is one.
pub type EdgeLookup<'a> = dyn Fn(&str, &str) -> Option<(Pos2, Pos2)> + 'a;

/// Where things are, in layout space, by Mermaid id.
pub struct PathGeometry<'a> {
    /// Layout → screen.
    pub to_screen: &'a dyn Fn(Pos2) -> Pos2,
    /// A component's bounding box.
    pub node_rect: &'a dyn Fn(&str) -> Option<Rect>,
    /// The drawn ends of a connection.
    pub edge_ends: &'a EdgeLookup<'a>,
    /// Screen points per layout unit.
    pub zoom: f32,
}

/// The highlight's colour: the theme's accent (the colour of new connections).
pub fn accent(theme: &Theme) -> Color32 {
    theme.connect
}

/// Draws `trace`'s path and causation chain; returns how many edges and
/// components were highlighted (the ones found in the diagram).
pub fn paint_event_path(
    painter: &egui::Painter,
    trace: &EventTraceView,
    theme: &Theme,
    geometry: &PathGeometry<'_>,
) -> usize {
    let color = accent(theme);
    let width = (3.0 * geometry.zoom.clamp(0.5, 2.0)).max(2.0);
    let mut drawn = 0;
    for (from, to) in &trace.chain_edges {
        if let Some((a, b)) = (geometry.edge_ends)(from, to) {
            let (a, b) = ((geometry.to_screen)(a), (geometry.to_screen)(b));
            let faded = color.gamma_multiply(0.7);
            painter.extend(Shape::dashed_line(
                &[a, b],
                Stroke::new(width * 0.8, faded),
                6.0,
                4.0,
            ));
            drawn += 1;
        }
    }
    let mut nodes: Vec<&str> = Vec::new();
    for (from, to) in &trace.edges {
        for k in [from.as_str(), to.as_str()] {
            if !nodes.contains(&k) {
                nodes.push(k);
            }
        }
        if let Some((a, b)) = (geometry.edge_ends)(from, to) {
            let (a, b) = ((geometry.to_screen)(a), (geometry.to_screen)(b));
            painter.line_segment([a, b], Stroke::new(width * 2.2, color.gamma_multiply(0.25)));
            painter.line_segment([a, b], Stroke::new(width, color));
            painter.circle_filled(b, width * 1.2, color);
            drawn += 1;
        }
    }
    for key in nodes {
        let Some(r) = (geometry.node_rect)(key) else {
            continue;
        };
        let r = Rect::from_min_max((geometry.to_screen)(r.min), (geometry.to_screen)(r.max))
            .expand(4.0);
        let dead = trace.dead_lettered_by.iter().any(|g| g == key);
        let stroke = Stroke::new(width, if dead { theme.error } else { color });
        painter.rect_stroke(r, CornerRadius::same(4), stroke, StrokeKind::Outside);
        drawn += 1;
    }
    if let Some(e) = &trace.event
        && let Some(r) = (geometry.node_rect)(&e.producer)
    {
        let at = (geometry.to_screen)(Pos2::new(r.min.x, r.min.y));
        painter.text(
            at - egui::vec2(0.0, 4.0),
            Align2::LEFT_BOTTOM,
            format!("#{} {}", e.event_id, e.topic),
            FontId::proportional(12.0),
            color,
        );
    }
    drawn
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gui::theme::ThemeKind;
    use crate::live::TraceState;
    use egui::{pos2, vec2};

    fn trace() -> EventTraceView {
        EventTraceView {
            event_id: 7,
            event: None,
            subscribers: vec!["C".into()],
            pending: Vec::new(),
            attempts: Vec::new(),
            replays: Vec::new(),
            chain: Vec::new(),
            caused: Vec::new(),
            edges: vec![("P".into(), "B".into()), ("B".into(), "C".into())],
            chain_edges: vec![("X".into(), "B".into())],
            dead_lettered_by: vec!["C".into()],
            state: TraceState::Complete,
            steps_replayed: 0,
        }
    }

    #[test]
    fn draws_only_what_the_diagram_has() {
        let mut count = 0;
        let mut harness = egui_kittest::Harness::new_ui(|ui| {
            let painter = ui.painter().clone();
            let to_screen = |p: Pos2| p + vec2(10.0, 10.0);
            let node_rect = |k: &str| {
                let x = match k {
                    "P" => 0.0,
                    "B" => 100.0,
                    "C" => 200.0,
                    _ => return None,
                };
                Some(Rect::from_min_size(pos2(x, 0.0), vec2(50.0, 20.0)))
            };
            // The diagram has P → B only (no B → C, no X).
            let edge_ends = |a: &str, b: &str| {
                (a == "P" && b == "B").then_some((pos2(50.0, 10.0), pos2(100.0, 10.0)))
            };
            let geometry = PathGeometry {
                to_screen: &to_screen,
                node_rect: &node_rect,
                edge_ends: &edge_ends,
                zoom: 1.0,
            };
            count = paint_event_path(&painter, &trace(), &Theme::new(ThemeKind::Dark), &geometry);
        });
        harness.run();
        drop(harness);
        // One edge, three components (P, B, C).
        assert_eq!(count, 4);
    }
}
