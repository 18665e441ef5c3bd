//! The "Charts" dock tab: egui_plot charts of the selected component (the
//! whole system when nothing is selected) over the whole run — throughput,
//! processing and end-to-end latency percentiles, lag (and, for a
//! consumer group, its lag per partition), read-model
//! staleness, DLQ/duplicates/conflicts — with a vertical marker at the
//! moment shown. A click on a chart seeks the run to that moment.
//!
//! Draws only what the frame's [`ChartsFrame`] carries (the driver copies
//! and downsamples the engine's series); emits [`Command::Sim`] seeks.

use crate::gui::command::Command;
use crate::gui::panels::dock::DockContext;
use crate::gui::run::clock_label;
use crate::live::{ChartKind, ChartsFrame, Command as LiveCommand};
use egui_plot::{Corner, Legend, Line, Plot, VLine};

/// The tab's state.
#[derive(Debug, Default)]
pub struct ChartsState {
    /// The last moment a chart click asked for (virtual µs), for tests and
    /// the readout.
    pub last_seek_us: Option<u64>,
    /// Where each chart was drawn in the last frame (tests click them).
    pub plot_rects: Vec<(ChartKind, egui::Rect)>,
}

/// Charts per row.
const COLUMNS: usize = 3;

/// Draws the tab.
pub fn charts_ui(
    ui: &mut egui::Ui,
    state: &mut ChartsState,
    cx: &DockContext<'_>,
    commands: &mut Vec<Command>,
) {
    let Some(charts) = cx.frame.and_then(|f| f.charts.as_ref()) else {
        ui.label("Run the simulation to see its charts.");
        return;
    };
    ui.horizontal(|ui| {
        match &charts.component {
            Some(key) => {
                let label = cx
                    .doc
                    .graph
                    .id_of(key)
                    .and_then(|id| cx.doc.graph.component(id))
                    .map_or(key.as_str(), |c| c.label.as_str());
                ui.strong(format!("Charts of {label}"));
            }
            None => {
                ui.strong("Charts of the whole system");
                ui.weak("(select a component to chart it)");
            }
        }
        ui.separator();
        ui.label(format!(
            "at {} of {}",
            clock_label(charts.now_us),
            clock_label(charts.head_us)
        ));
        ui.weak("· click a chart to go to that moment");
    });
    let kinds: Vec<ChartKind> = ChartKind::ALL
        .into_iter()
        .filter(|k| charts.chart(*k).next().is_some())
        .collect();
    if kinds.is_empty() {
        ui.label("Nothing is sampled for this component.");
        return;
    }
    state.plot_rects.clear();
    let rows = kinds.len().div_ceil(COLUMNS);
    let spacing = ui.spacing().item_spacing.y;
    let title_h = ui.text_style_height(&egui::TextStyle::Body) + spacing;
    // Rows share the height left, a little under it (columns add their
    // own spacing); the rest is filled below so the content is exactly
    // the dock's height and a resizable dock neither grows nor shrinks.
    let per_row = (ui.available_height() - 2.0 * spacing * rows as f32) / rows as f32;
    let height = (per_row - title_h).max(60.0);
    for row in kinds.chunks(COLUMNS) {
        ui.columns(COLUMNS, |cols| {
            for (col, kind) in cols.iter_mut().zip(row) {
                col.label(kind.title());
                let (clicked, rect) = chart_ui(col, charts, *kind, height, cx);
                state.plot_rects.push((*kind, rect));
                if let Some(us) = clicked {
                    state.last_seek_us = Some(us);
                    commands.push(Command::Sim(LiveCommand::Seek(us)));
                }
            }
        });
    }
    let rest = ui.available_height();
    if rest > 0.0 {
        ui.add_space(rest);
    }
}

/// One chart; returns the moment clicked, if any, and where it was drawn.
fn chart_ui(
    ui: &mut egui::Ui,
    charts: &ChartsFrame,
    kind: ChartKind,
    height: f32,
    cx: &DockContext<'_>,
) -> (Option<u64>, egui::Rect) {
    let now_s = charts.now_us as f64 / 1e6;
    let head_s = charts.head_us as f64 / 1e6;
    let response = Plot::new(("chart", kind as u8))
        .height(height)
        .legend(
            Legend::default()
                .position(Corner::LeftTop)
                .text_style(egui::TextStyle::Small)
                .background_alpha(0.6),
        )
        .link_axis("eda-charts-time", [true, false])
        .allow_drag(false)
        .allow_zoom(false)
        .allow_scroll(false)
        .allow_boxed_zoom(false)
        .allow_double_click_reset(false)
        .include_x(0.0)
        .include_x(head_s.max(0.001))
        .include_y(0.0)
        .include_y(1.0)
        .show(ui, |plot| {
            for line in charts.chart(kind) {
                plot.line(Line::new(line.name.clone(), line.points.clone()));
            }
            plot.vline(
                // Unnamed: the marker stays out of the legend.
                VLine::new("", now_s).color(cx.theme.selection).width(1.5),
            );
            let clicked = plot.response().clicked();
            (clicked, plot.pointer_coordinate())
        });
    let clicked = match response.inner {
        (true, Some(p)) => Some((p.x.clamp(0.0, head_s) * 1e6) as u64),
        _ => None,
    };
    (clicked, response.response.rect)
}
