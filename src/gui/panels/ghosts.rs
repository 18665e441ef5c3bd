//! Run-only consumer groups on the canvas: a group the run has but the
//! diagram does not (one added mid-run with "Add a consumer from offset
//! 0") is drawn as a dashed ghost node beside the bus, labelled, with an
//! edge from the bus whose dots move as fast as the group reads; the
//! badge overlay ([`super::badges`]) gives it the same badge and sparkline
//! as the diagram's consumers.
//!
//! Everything comes from the frame shown, so scrubbing to a moment before
//! the group was added shows no ghost. Places ghosts in layout space
//! where they cover no node; never touches the document.

use super::badges::LiveNode;
use super::canvas::Transform;
use crate::gui::theme::Theme;
use crate::live::Frame;
use crate::model::Role;
use egui::{FontId, Pos2, Rect, Shape, Stroke, pos2, vec2};

/// A ghost's size in layout units.
const GHOST_SIZE: egui::Vec2 = vec2(130.0, 34.0);
/// Room kept free around a ghost (its badge goes under it), layout units.
const ROOM: f32 = 26.0;
/// Dots drawn on a ghost's edge at most.
const MAX_DOTS: usize = 6;

/// A run-only group and where its ghost goes (layout space).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Ghost<'a> {
    /// The group's name (its key in the frame).
    pub key: &'a str,
    /// The ghost's box.
    pub rect: Rect,
    /// The bus it reads from.
    pub bus: Rect,
}

/// The groups of `frame` that are not among `nodes`, each placed beside
/// the first bus node clear of every node and of each other. None when
/// the diagram has no bus on the canvas.
pub(super) fn place_ghosts<'a>(frame: &'a Frame, nodes: &[LiveNode<'_>]) -> Vec<Ghost<'a>> {
    let Some(bus) = nodes.iter().find(|n| n.role == Role::Bus).map(|n| n.rect) else {
        return Vec::new();
    };
    let mut taken: Vec<Rect> = nodes.iter().map(|n| n.rect.expand(ROOM / 2.0)).collect();
    let mut out = Vec::new();
    for g in &frame.groups {
        if nodes.iter().any(|n| n.key == g.group) || frame.component(&g.group).is_none() {
            continue;
        }
        let rect = free_place(bus, &taken);
        taken.push(rect.expand(ROOM / 2.0));
        out.push(Ghost {
            key: &g.group,
            rect,
            bus,
        });
    }
    out
}

/// The first place near `bus` where a ghost covers nothing in `taken`:
/// rings of places below, right, above and left, further out each ring.
fn free_place(bus: Rect, taken: &[Rect]) -> Rect {
    let step = GHOST_SIZE + vec2(ROOM, ROOM);
    let c = bus.center();
    let mut first = None;
    for ring in 1..=8 {
        let d = ring as f32;
        let below = bus.max.y + ROOM + (d - 1.0) * step.y;
        let above = bus.min.y - ROOM - GHOST_SIZE.y - (d - 1.0) * step.y;
        let right = bus.max.x + ROOM + (d - 1.0) * step.x;
        let left = bus.min.x - ROOM - GHOST_SIZE.x - (d - 1.0) * step.x;
        let half = GHOST_SIZE.x / 2.0;
        let candidates = [
            pos2(c.x - half, below),
            pos2(c.x + half + ROOM, below),
            pos2(c.x - 3.0 * half - ROOM, below),
            pos2(right, c.y - GHOST_SIZE.y / 2.0),
            pos2(c.x - half, above),
            pos2(left, c.y - GHOST_SIZE.y / 2.0),
        ];
        for min in candidates {
            let r = Rect::from_min_size(min, GHOST_SIZE);
            first.get_or_insert(r);
            if !taken.iter().any(|t| t.intersects(r)) {
                return r;
            }
        }
    }
    first.unwrap_or_else(|| Rect::from_min_size(pos2(c.x, bus.max.y + ROOM), GHOST_SIZE))
}

/// Paints `ghost` (dashed box, label, edge from the bus with moving dots)
/// through `t`.
pub(super) fn paint_ghost(
    painter: &egui::Painter,
    frame: &Frame,
    ghost: &Ghost<'_>,
    t: Transform,
    theme: &Theme,
) {
    let rect = t.rect_to_screen(ghost.rect);
    let bus = t.rect_to_screen(ghost.bus);
    let from = boundary_toward(bus, rect.center());
    let to = boundary_toward(rect, bus.center());
    let stroke = Stroke::new(1.2 * t.zoom.clamp(0.5, 2.0), theme.ink_weak);
    painter.extend(Shape::dashed_line(&[from, to], stroke, 6.0, 4.0));
    let c = frame.component(ghost.key);
    let rate = c.map_or(0.0, |c| {
        if c.rate_in_per_s > 0.0 {
            c.rate_in_per_s
        } else {
            catch_up_rate(frame, ghost.key)
        }
    });
    for p in dots(from, to, rate, frame.now_us) {
        painter.circle_filled(p, 2.5 * t.zoom.clamp(0.6, 1.6), theme.spark);
    }
    let corners = [
        rect.left_top(),
        rect.right_top(),
        rect.right_bottom(),
        rect.left_bottom(),
        rect.left_top(),
    ];
    painter.rect_filled(rect, 4.0 * t.zoom, theme.canvas_bg.gamma_multiply(0.8));
    painter.extend(Shape::dashed_line(
        &corners,
        Stroke::new(1.4 * t.zoom.clamp(0.5, 2.0), theme.ink),
        5.0,
        3.0,
    ));
    let font = FontId::proportional(11.0 * t.zoom);
    painter.text(
        rect.center() - vec2(0.0, 5.0 * t.zoom),
        egui::Align2::CENTER_CENTER,
        ghost.key,
        font,
        theme.ink,
    );
    painter.text(
        rect.center() + vec2(0.0, 8.0 * t.zoom),
        egui::Align2::CENTER_CENTER,
        "added in this run",
        FontId::proportional(8.5 * t.zoom),
        theme.ink_weak,
    );
}

/// How fast a group with no sampled input series reads: nothing better
/// than "reading" (a fixed pace for the dots) while it has lag.
fn catch_up_rate(frame: &Frame, key: &str) -> f64 {
    match frame.component(key).and_then(|c| c.lag) {
        Some(lag) if lag > 0 => 200.0,
        _ => 0.0,
    }
}

/// Where the segment from `r`'s centre toward `p` leaves `r`.
fn boundary_toward(r: Rect, p: Pos2) -> Pos2 {
    let c = r.center();
    let d = p - c;
    if d.x == 0.0 && d.y == 0.0 {
        return c;
    }
    let sx = if d.x == 0.0 {
        f32::INFINITY
    } else {
        (r.width() / 2.0) / d.x.abs()
    };
    let sy = if d.y == 0.0 {
        f32::INFINITY
    } else {
        (r.height() / 2.0) / d.y.abs()
    };
    c + d * sx.min(sy).min(1.0)
}

/// Dots on the edge `from → to` for a group reading `rate` records per
/// virtual second at virtual time `now_us`: more (up to [`MAX_DOTS`]) the
/// faster it reads, each taking a virtual half second from end to end.
fn dots(from: Pos2, to: Pos2, rate: f64, now_us: u64) -> Vec<Pos2> {
    if rate <= 0.0 {
        return Vec::new();
    }
    let n = ((rate / 50.0).ceil() as usize).clamp(1, MAX_DOTS);
    let phase = (now_us % 500_000) as f32 / 500_000.0;
    (0..n)
        .map(|i| {
            let s = (phase + i as f32 / n as f32).fract();
            from + (to - from) * s
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(key: &str, role: Role, min: Pos2) -> LiveNode<'_> {
        LiveNode {
            key,
            role,
            rect: Rect::from_min_size(min, vec2(120.0, 40.0)),
        }
    }

    #[test]
    fn a_ghost_goes_beside_the_bus_clear_of_every_node() {
        let nodes = [
            node("EB", Role::Bus, pos2(400.0, 200.0)),
            // Right under the bus: the first place is taken.
            node("C1", Role::Consumer, pos2(400.0, 260.0)),
            node("C2", Role::Consumer, pos2(250.0, 270.0)),
        ];
        let taken: Vec<Rect> = nodes.iter().map(|n| n.rect.expand(ROOM / 2.0)).collect();
        let r = free_place(nodes[0].rect, &taken);
        assert!(taken.iter().all(|t| !t.intersects(r)), "{r:?}");
        let d = (r.center() - nodes[0].rect.center()).length();
        assert!(d < 400.0, "near the bus: {d}");
        // A second ghost does not go on the first.
        let mut more = taken.clone();
        more.push(r.expand(ROOM / 2.0));
        let r2 = free_place(nodes[0].rect, &more);
        assert!(!r2.intersects(r), "{r2:?} {r:?}");
    }

    #[test]
    fn dots_move_with_time_and_thin_out_when_idle() {
        let (a, b) = (pos2(0.0, 0.0), pos2(100.0, 0.0));
        assert!(dots(a, b, 0.0, 0).is_empty());
        assert_eq!(dots(a, b, 1_000.0, 0).len(), MAX_DOTS);
        let early = dots(a, b, 10.0, 0);
        let later = dots(a, b, 10.0, 100_000);
        assert_eq!(early.len(), 1);
        assert!(later[0].x > early[0].x, "{later:?} {early:?}");
        assert_eq!(
            boundary_toward(Rect::from_center_size(a, vec2(20.0, 10.0)), b),
            pos2(10.0, 0.0)
        );
    }
}
