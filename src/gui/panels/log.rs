//! PLACEHOLDER: this dock tab is being built (issue 5); it shows nothing yet.

use crate::gui::command::Command;
use crate::gui::panels::dock::DockContext;

/// The tab's state.
#[derive(Debug, Default)]
pub struct LogState {}

/// Draws the tab.
pub fn log_ui(
    ui: &mut egui::Ui,
    _state: &mut LogState,
    _cx: &DockContext<'_>,
    _commands: &mut Vec<Command>,
) {
    ui.label("Not built yet.");
}
