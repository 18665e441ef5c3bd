//! Colours and sizes of the designer: the one place they are chosen
//! (design tokens), in a dark and a light variant. Panels and the canvas
//! read a [`Theme`]; they never write colour literals themselves.
//!
//! Role colours are the SVG export's (`export::style`), so the canvas and
//! an exported picture look alike.

use super::look::color32;
use crate::export::style::{NodeStyle, role_color};
use crate::model::Role;
use egui::Color32;
use serde::{Deserialize, Serialize};

/// Which variant the user picked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum ThemeKind {
    /// Dark background, light ink.
    #[default]
    Dark,
    /// Light background, dark ink.
    Light,
}

/// Every colour and size the designer draws with.
#[derive(Debug, Clone)]
pub struct Theme {
    /// Which variant this is.
    pub kind: ThemeKind,
    /// Canvas background.
    pub canvas_bg: Color32,
    /// Dots of the canvas grid.
    pub grid: Color32,
    /// Text on nodes and labels.
    pub ink: Color32,
    /// Secondary text (hints, ids).
    pub ink_weak: Color32,
    /// Default node outline.
    pub node_stroke: Color32,
    /// Edge lines and arrowheads.
    pub edge: Color32,
    /// Background behind edge labels.
    pub edge_label_bg: Color32,
    /// Subgraph container fill.
    pub group_fill: Color32,
    /// Subgraph container outline and title.
    pub group_stroke: Color32,
    /// Outline of selected items and the box-select rectangle.
    pub selection: Color32,
    /// Fill of the box-select rectangle.
    pub selection_fill: Color32,
    /// The line drawn while connecting two nodes.
    pub connect: Color32,
    /// Error text and the highlighted source line.
    pub error: Color32,
    /// Background of the line with an error in the source pane.
    pub error_line_bg: Color32,
    /// Warning text.
    pub warning: Color32,
    /// Background of a component's live badge.
    pub badge_bg: Color32,
    /// The sparkline in a badge.
    pub spark: Color32,
    /// Text size of a badge, in points at zoom 1.
    pub badge_font_size: f32,
    /// Size of a badge's sparkline, in points at zoom 1.
    pub spark_size: egui::Vec2,
    /// Badges are drawn at least this large, whatever the zoom.
    pub badge_min_scale: f32,
    /// Width of a normal edge, in points at zoom 1.
    pub edge_width: f32,
    /// Width of a thick (`==>`) edge.
    pub thick_edge_width: f32,
    /// Font size of node labels at zoom 1.
    pub node_font_size: f32,
    /// Font size of edge labels at zoom 1.
    pub edge_font_size: f32,
    /// Padding between a node's text and its box.
    pub node_padding: egui::Vec2,
    /// Smallest node box.
    pub node_min_size: egui::Vec2,
    /// Height of a subgraph's title band.
    pub group_title_height: f32,
    /// Margin between a subgraph's members and its outline.
    pub group_margin: f32,
    /// Size of arrowheads at zoom 1.
    pub arrow_size: f32,
    /// Below this zoom the canvas draws simplified nodes without text.
    pub detail_zoom: f32,
}

impl Theme {
    /// The theme of `kind`.
    pub fn new(kind: ThemeKind) -> Theme {
        match kind {
            ThemeKind::Dark => Theme::dark(),
            ThemeKind::Light => Theme::light(),
        }
    }

    fn dark() -> Theme {
        Theme {
            kind: ThemeKind::Dark,
            canvas_bg: Color32::from_rgb(0x1e, 0x21, 0x27),
            grid: Color32::from_rgb(0x30, 0x34, 0x3c),
            ink: Color32::from_rgb(0xf0, 0xf0, 0xf0),
            ink_weak: Color32::from_rgb(0xa0, 0xa4, 0xac),
            node_stroke: Color32::from_rgb(0x9a, 0xa0, 0xaa),
            edge: Color32::from_rgb(0xb8, 0xbc, 0xc4),
            edge_label_bg: Color32::from_rgb(0x2a, 0x2e, 0x36),
            group_fill: Color32::from_rgba_unmultiplied(0x60, 0x70, 0x90, 0x28),
            group_stroke: Color32::from_rgb(0x70, 0x80, 0xa0),
            selection: Color32::from_rgb(0x4d, 0xa3, 0xff),
            selection_fill: Color32::from_rgba_unmultiplied(0x4d, 0xa3, 0xff, 0x30),
            connect: Color32::from_rgb(0xff, 0xc1, 0x4d),
            error: Color32::from_rgb(0xff, 0x6b, 0x6b),
            error_line_bg: Color32::from_rgba_unmultiplied(0xff, 0x40, 0x40, 0x40),
            warning: Color32::from_rgb(0xff, 0xc1, 0x4d),
            badge_bg: Color32::from_rgba_unmultiplied(0x12, 0x14, 0x18, 0xd8),
            spark: Color32::from_rgb(0x6e, 0xd0, 0x8c),
            ..Theme::sizes(ThemeKind::Dark)
        }
    }

    fn light() -> Theme {
        Theme {
            kind: ThemeKind::Light,
            canvas_bg: Color32::from_rgb(0xfa, 0xfa, 0xfb),
            grid: Color32::from_rgb(0xdc, 0xde, 0xe2),
            ink: Color32::from_rgb(0x1a, 0x1a, 0x1a),
            ink_weak: Color32::from_rgb(0x60, 0x64, 0x6c),
            node_stroke: Color32::from_rgb(0x55, 0x5a, 0x64),
            edge: Color32::from_rgb(0x40, 0x44, 0x4c),
            edge_label_bg: Color32::from_rgb(0xee, 0xee, 0xf0),
            group_fill: Color32::from_rgba_unmultiplied(0xff, 0xff, 0xde, 0xa0),
            group_stroke: Color32::from_rgb(0xaa, 0xaa, 0x33),
            selection: Color32::from_rgb(0x1a, 0x73, 0xe8),
            selection_fill: Color32::from_rgba_unmultiplied(0x1a, 0x73, 0xe8, 0x28),
            connect: Color32::from_rgb(0xe0, 0x8a, 0x00),
            error: Color32::from_rgb(0xc6, 0x28, 0x28),
            error_line_bg: Color32::from_rgba_unmultiplied(0xff, 0x60, 0x60, 0x50),
            warning: Color32::from_rgb(0xb2, 0x6a, 0x00),
            badge_bg: Color32::from_rgba_unmultiplied(0xff, 0xff, 0xff, 0xe0),
            spark: Color32::from_rgb(0x1e, 0x8a, 0x4a),
            ..Theme::sizes(ThemeKind::Light)
        }
    }

    /// Sizes shared by both variants (colours are overwritten by the caller).
    fn sizes(kind: ThemeKind) -> Theme {
        Theme {
            kind,
            canvas_bg: Color32::BLACK,
            grid: Color32::BLACK,
            ink: Color32::BLACK,
            ink_weak: Color32::BLACK,
            node_stroke: Color32::BLACK,
            edge: Color32::BLACK,
            edge_label_bg: Color32::BLACK,
            group_fill: Color32::BLACK,
            group_stroke: Color32::BLACK,
            selection: Color32::BLACK,
            selection_fill: Color32::BLACK,
            connect: Color32::BLACK,
            error: Color32::BLACK,
            error_line_bg: Color32::BLACK,
            warning: Color32::BLACK,
            badge_bg: Color32::BLACK,
            spark: Color32::BLACK,
            badge_font_size: 10.0,
            spark_size: egui::vec2(56.0, 12.0),
            badge_min_scale: 0.9,
            edge_width: 1.5,
            thick_edge_width: 3.5,
            node_font_size: 14.0,
            edge_font_size: 12.0,
            node_padding: egui::vec2(16.0, 10.0),
            node_min_size: egui::vec2(60.0, 36.0),
            group_title_height: 24.0,
            group_margin: 16.0,
            arrow_size: 9.0,
            detail_zoom: 0.25,
        }
    }

    /// egui's own widget colours for this variant.
    pub fn visuals(&self) -> egui::Visuals {
        match self.kind {
            ThemeKind::Dark => egui::Visuals::dark(),
            ThemeKind::Light => egui::Visuals::light(),
        }
    }

    /// The fill that shows a component's role (the export's tint).
    pub fn role_fill(&self, role: Role) -> Color32 {
        color32(NodeStyle::for_role(role, self.is_dark()).fill)
    }

    /// The accent (outline, icon) colour of a role.
    pub fn role_accent(&self, role: Role) -> Color32 {
        color32(role_color(role, self.is_dark()))
    }

    /// The colour of event type `index` (its topic's index) for the moving
    /// dots and their legend: a palette of ten hues, brighter on dark and
    /// deeper on light, repeating after ten; `None` is a query.
    pub fn event_color(&self, index: Option<u16>) -> Color32 {
        const DARK: [(u8, u8, u8); 10] = [
            (0x4d, 0xc9, 0xf6),
            (0xf6, 0x8a, 0x3c),
            (0xf5, 0x5f, 0xa6),
            (0xb5, 0xd3, 0x3b),
            (0xa7, 0x8b, 0xfa),
            (0xfb, 0xd1, 0x3c),
            (0x34, 0xd3, 0x99),
            (0xf8, 0x71, 0x71),
            (0x60, 0x9d, 0xfa),
            (0xe8, 0x79, 0xf9),
        ];
        const LIGHT: [(u8, u8, u8); 10] = [
            (0x00, 0x77, 0xb6),
            (0xd3, 0x54, 0x00),
            (0xc2, 0x18, 0x5b),
            (0x5a, 0x7d, 0x0c),
            (0x6d, 0x28, 0xd9),
            (0xa1, 0x62, 0x07),
            (0x04, 0x78, 0x57),
            (0xb9, 0x1c, 0x1c),
            (0x1d, 0x4e, 0xd8),
            (0xa2, 0x1c, 0xaf),
        ];
        let Some(i) = index else {
            return self.ink_weak;
        };
        let palette = if self.is_dark() { &DARK } else { &LIGHT };
        let (r, g, b) = palette[usize::from(i) % palette.len()];
        Color32::from_rgb(r, g, b)
    }

    fn is_dark(&self) -> bool {
        self.kind == ThemeKind::Dark
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_has_a_distinct_accent() {
        let theme = Theme::new(ThemeKind::Dark);
        let mut seen = std::collections::BTreeSet::new();
        for role in Role::ALL {
            let c = theme.role_accent(role);
            assert!(seen.insert(c.to_array()), "{role:?} repeats a colour");
        }
    }

    #[test]
    fn light_and_dark_differ_in_background() {
        assert_ne!(
            Theme::new(ThemeKind::Dark).canvas_bg,
            Theme::new(ThemeKind::Light).canvas_bg
        );
    }
}
