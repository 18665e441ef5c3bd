//! How a component looks on the canvas: the export's resolved
//! [`NodeStyle`] (role colours, then `classDef`s, then `style`), turned
//! into egui colours, so the canvas and an exported SVG agree.
//!
//! Reads the model and the theme; draws nothing.

use super::theme::{Theme, ThemeKind};
use crate::export::style::{Color, NodeStyle};
use crate::model::{ArchGraph, Component};
use egui::Color32;

/// The resolved colours and stroke of one component.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeLook {
    /// Fill of the shape.
    pub fill: Color32,
    /// Outline colour.
    pub stroke: Color32,
    /// Outline width at zoom 1.
    pub stroke_width: f32,
    /// Label colour.
    pub text: Color32,
    /// Role icon colour.
    pub accent: Color32,
    /// Dash pattern of the outline, if dashed.
    pub dash: Option<Vec<f32>>,
}

/// An export colour as an egui colour.
pub fn color32(c: Color) -> Color32 {
    Color32::from_rgba_unmultiplied(c.r, c.g, c.b, c.a)
}

/// The look of `c` in `theme`.
pub fn node_look(graph: &ArchGraph, c: &Component, theme: &Theme) -> NodeLook {
    let style = NodeStyle::resolve(c, &graph.meta, theme.kind == ThemeKind::Dark);
    NodeLook {
        fill: color32(style.fill),
        stroke: color32(style.stroke),
        stroke_width: style.stroke_width,
        text: color32(style.text_color),
        accent: color32(style.accent),
        dash: style.dash,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mermaid::parse_flowchart;

    #[test]
    fn style_wins_over_class_which_wins_over_role() {
        let src = "flowchart TD\nclassDef hot fill:#f00,color:#fff\nA[x]:::hot\nB[y]:::hot\nC[z]\nstyle B fill:#00f,stroke-width:4px\n";
        let chart = parse_flowchart(src).unwrap_or_else(|d| panic!("{d}"));
        let g = ArchGraph::from_flowchart(&chart);
        let theme = Theme::new(ThemeKind::Dark);
        let look = |k: &str| g.component_by_key(k).map(|c| node_look(&g, c, &theme));
        let (Some(a), Some(b), Some(c)) = (look("A"), look("B"), look("C")) else {
            panic!("nodes")
        };
        assert_eq!(a.fill, Color32::from_rgb(255, 0, 0));
        assert_eq!(a.text, Color32::WHITE);
        assert_eq!(b.fill, Color32::from_rgb(0, 0, 255));
        assert_eq!(b.stroke_width, 4.0);
        assert_ne!(c.fill, a.fill, "an unstyled node keeps its role colour");
    }
}
