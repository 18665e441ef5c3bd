//! The menu bar: File, Edit, View. Emits commands; toggles panel and theme
//! settings in the UI state directly (they are not document edits).

use crate::gui::app::UiState;
use crate::gui::command::{Command, ExportFormat};
use crate::gui::examples::EXAMPLES;
use crate::gui::theme::{Theme, ThemeKind};

/// Draws the menu bar. `can` is (can undo, can redo).
pub fn menu_bar_ui(
    ui: &mut egui::Ui,
    state: &mut UiState,
    can: (bool, bool),
    commands: &mut Vec<Command>,
) {
    egui::MenuBar::new().ui(ui, |ui| {
        ui.menu_button("File", |ui| file_menu_ui(ui, state, commands));
        ui.menu_button("Edit", |ui| edit_menu_ui(ui, can, commands));
        ui.menu_button("View", |ui| view_menu_ui(ui, state, commands));
    });
}

fn item(
    ui: &mut egui::Ui,
    text: &str,
    shortcut: &str,
    command: Command,
    commands: &mut Vec<Command>,
) {
    let button = egui::Button::new(text).shortcut_text(shortcut);
    if ui.add(button).clicked() {
        commands.push(command);
        ui.close();
    }
}

fn file_menu_ui(ui: &mut egui::Ui, state: &UiState, commands: &mut Vec<Command>) {
    item(ui, "New", "Ctrl+N", Command::New, commands);
    item(ui, "Open…", "Ctrl+O", Command::OpenDialog, commands);
    ui.menu_button("Open Recent", |ui| {
        if state.recent.is_empty() {
            ui.label("(none yet)");
        }
        for path in &state.recent {
            if ui.button(path.display().to_string()).clicked() {
                commands.push(Command::Open(path.clone()));
                ui.close();
            }
        }
    });
    ui.menu_button("Examples", |ui| {
        for (name, text) in EXAMPLES {
            if ui.button(*name).clicked() {
                commands.push(Command::OpenText((*name).to_string(), (*text).to_string()));
                ui.close();
            }
        }
    });
    ui.separator();
    item(ui, "Save", "Ctrl+S", Command::Save, commands);
    item(ui, "Save As…", "Ctrl+Shift+S", Command::SaveAs, commands);
    ui.separator();
    item(ui, "Open Run…", "", Command::OpenRunDialog, commands);
    item(ui, "Save Run…", "", Command::SaveRunDialog, commands);
    ui.menu_button("Export", |ui| {
        for format in ExportFormat::ALL {
            if ui.button(format.title()).clicked() {
                commands.push(Command::ExportDialog(format));
                ui.close();
            }
        }
    });
    ui.separator();
    item(ui, "Quit", "Ctrl+Q", Command::Quit, commands);
}

fn edit_menu_ui(ui: &mut egui::Ui, can: (bool, bool), commands: &mut Vec<Command>) {
    ui.add_enabled_ui(can.0, |ui| {
        item(ui, "Undo", "Ctrl+Z", Command::Undo, commands)
    });
    ui.add_enabled_ui(can.1, |ui| {
        item(ui, "Redo", "Ctrl+Y", Command::Redo, commands)
    });
    ui.separator();
    item(ui, "Cut", "Ctrl+X", Command::Cut, commands);
    item(ui, "Copy", "Ctrl+C", Command::Copy, commands);
    if ui
        .add(egui::Button::new("Paste").shortcut_text("Ctrl+V"))
        .clicked()
    {
        // The menu cannot read the clipboard; ask egui to paste it.
        ui.ctx()
            .send_viewport_cmd(egui::ViewportCommand::RequestPaste);
        ui.close();
    }
    item(ui, "Duplicate", "Ctrl+D", Command::Duplicate, commands);
    item(ui, "Delete", "Del", Command::Delete, commands);
    ui.separator();
    item(ui, "Select All", "Ctrl+A", Command::SelectAll, commands);
}

fn view_menu_ui(ui: &mut egui::Ui, state: &mut UiState, commands: &mut Vec<Command>) {
    item(ui, "Fit", "F", Command::Fit, commands);
    item(ui, "Zoom In", "+", Command::Zoom(1.25), commands);
    item(ui, "Zoom Out", "-", Command::Zoom(0.8), commands);
    item(ui, "Re-layout", "", Command::Relayout, commands);
    ui.separator();
    ui.checkbox(&mut state.show_source, "Source pane");
    let mut dock = state.show_dock == Some(true);
    if ui
        .checkbox(&mut dock, "Run panels (log, charts, …)")
        .changed()
    {
        state.show_dock = Some(dock);
    }
    ui.separator();
    let mut kind = state.theme.kind;
    ui.radio_value(&mut kind, ThemeKind::Dark, "Dark theme");
    ui.radio_value(&mut kind, ThemeKind::Light, "Light theme");
    if kind != state.theme.kind {
        state.theme = Theme::new(kind);
    }
}
