//! The status bar: the last message or error (or a task under way with
//! its progress and a Cancel button), the diagram's findings, the zoom and
//! the frame timer.

use crate::gui::app::UiState;
use crate::gui::command::Command;
use crate::gui::document::Document;
use crate::gui::panels::canvas::CanvasState;
use crate::gui::panels::source::SourceState;
use crate::gui::timer::FrameTimer;
use crate::model::{Finding, Severity};

/// A task under way, for the status bar.
#[derive(Debug, Clone)]
pub struct Busy {
    /// What it is doing (`Opening run.sqlite…`).
    pub label: String,
    /// How far it has got, 0..=1, if known.
    pub fraction: Option<f32>,
    /// The progress bar's text (`12.0 s of 60.0 s replayed`).
    pub detail: String,
    /// The command its Cancel button sends.
    pub cancel: Command,
}

/// Draws the status bar; `busy` is a task under way (Cancel emits its command).
#[allow(clippy::too_many_arguments)]
pub fn status_bar_ui(
    ui: &mut egui::Ui,
    state: &UiState,
    doc: &Document,
    canvas: &CanvasState,
    findings: &[Finding],
    source: &SourceState,
    timer: &FrameTimer,
    busy: Option<&Busy>,
    commands: &mut Vec<Command>,
) {
    let theme = &state.theme;
    ui.horizontal(|ui| {
        if let Some(busy) = busy {
            ui.label(&busy.label);
            let bar = match busy.fraction {
                Some(f) => egui::ProgressBar::new(f),
                None => egui::ProgressBar::new(0.0).animate(true),
            };
            ui.add(bar.desired_width(220.0).text(busy.detail.as_str()));
            if ui.button("Cancel").clicked() {
                commands.push(busy.cancel.clone());
            }
        } else if let Some(line) = source.error_line() {
            ui.label(egui::RichText::new(line).color(theme.error));
        } else if let Some((msg, error)) = &state.status {
            let color = if *error { theme.error } else { theme.ink_weak };
            ui.label(egui::RichText::new(msg).color(color));
        } else {
            ui.label(egui::RichText::new("Ready").color(theme.ink_weak));
        }
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            if let Some(ms) = timer.median_ms() {
                ui.label(egui::RichText::new(format!("{ms:.1} ms/frame")).monospace());
            }
            ui.label(format!("{:.0}%", canvas.zoom * 100.0));
            ui.label(format!(
                "{} components · {} connections",
                doc.graph.component_count(),
                doc.graph.connection_count()
            ));
            let errors = findings
                .iter()
                .filter(|f| f.severity == Severity::Error)
                .count();
            let warnings = findings.len() - errors;
            if errors + warnings > 0 {
                let text = format!("{errors} errors, {warnings} warnings");
                let color = if errors > 0 {
                    theme.error
                } else {
                    theme.warning
                };
                let tip: String = findings
                    .iter()
                    .take(20)
                    .map(|f| format!("{:?}: {}\n", f.severity, f.message))
                    .collect();
                ui.label(egui::RichText::new(text).color(color))
                    .on_hover_text(tip);
            }
        });
    });
}
