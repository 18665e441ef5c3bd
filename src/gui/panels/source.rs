//! The Mermaid source pane: shows the document as text and takes edits.
//! A canvas edit regenerates the text; a text edit is re-parsed once the
//! user pauses typing, and only a text that parses replaces the model, so
//! an invalid edit never destroys the last valid canvas. A parse error is
//! shown inline: its line highlighted, its message below.
//!
//! Emits [`Command::SourceEdit`]; never parses into the document itself.

use crate::gui::command::Command;
use crate::gui::document::Document;
use crate::gui::theme::Theme;
use crate::mermaid::{Diagnostic, Location, parse_flowchart};
use egui::text::{LayoutJob, TextFormat};
use egui::{FontId, TextBuffer};

/// How long typing must pause before the text is parsed.
pub const DEBOUNCE_S: f64 = 0.4;

/// The pane's text and what is known about it.
#[derive(Debug, Default)]
pub struct SourceState {
    /// The text shown.
    pub text: String,
    /// The document revision the text was generated from.
    pub revision: Option<u64>,
    /// When the user last typed, if the text has not been parsed since.
    pub typed_at: Option<f64>,
    /// The parse error of the current text, if any.
    pub error: Option<Diagnostic>,
    /// Name used for `file:line:col`.
    pub name: String,
    /// Put the cursor at this byte offset on the next frame.
    pub jump_to: Option<usize>,
    /// The file this text came from when it failed to open: once it
    /// parses, it opens as that file instead of replacing the document.
    pub origin: Option<std::path::PathBuf>,
}

impl SourceState {
    /// Whether the pane holds text that differs from the document on purpose
    /// (being typed, or broken): then canvas changes must not overwrite it.
    pub fn is_editing(&self) -> bool {
        self.typed_at.is_some() || self.error.is_some()
    }

    /// Shows `text` with its parse error (a file that did not open).
    pub fn show_error(&mut self, text: String, name: String, error: Diagnostic) {
        self.jump_to = Some(error.span.start);
        self.text = text;
        self.name = name;
        self.error = Some(error);
        self.typed_at = None;
    }

    /// The error as `file:line:col: message`.
    pub fn error_line(&self) -> Option<String> {
        let e = self.error.as_ref()?;
        let loc = Location::of(&self.text, e.span.start);
        Some(format!(
            "{}:{}:{}: {}",
            self.name, loc.line, loc.column, e.message
        ))
    }

    /// Regenerates the text from the document when it changed (unless the
    /// user is editing the text).
    pub fn sync(&mut self, doc: &Document) {
        if self.revision != Some(doc.revision) && !self.is_editing() {
            self.text = doc.to_text();
            self.revision = Some(doc.revision);
            self.name = doc
                .path
                .as_ref()
                .map_or_else(|| "<untitled>".to_string(), |p| p.display().to_string());
        }
    }

    /// Parses the text once typing has paused; returns the command to apply it.
    pub fn poll(&mut self, now: f64) -> Option<Command> {
        let typed = self.typed_at?;
        if now - typed < DEBOUNCE_S {
            return None;
        }
        self.typed_at = None;
        match parse_flowchart(&self.text) {
            Ok(_) => {
                self.error = None;
                Some(Command::SourceEdit(self.text.clone()))
            }
            Err(e) => {
                self.error = Some(e);
                None
            }
        }
    }
}

/// Draws the pane.
pub fn source_ui(ui: &mut egui::Ui, state: &mut SourceState, theme: &Theme) {
    ui.horizontal(|ui| {
        ui.heading("Mermaid");
        if state.typed_at.is_some() {
            ui.label(egui::RichText::new("editing…").color(theme.ink_weak));
        }
    });
    if let Some(line) = state.error_line() {
        ui.label(egui::RichText::new(line).color(theme.error).monospace())
            .on_hover_text("The canvas keeps the last valid diagram until this is fixed");
        if let Some(hint) = state.error.as_ref().and_then(|e| e.hint.clone()) {
            ui.label(egui::RichText::new(format!("hint: {hint}")).color(theme.ink_weak));
        }
    }
    let error_line = state
        .error
        .as_ref()
        .map(|e| Location::of(&state.text, e.span.start).line);
    let error_bg = theme.error_line_bg;
    let ink = theme.ink;
    let mut layouter = |ui: &egui::Ui, buf: &dyn TextBuffer, wrap: f32| {
        let mut job = LayoutJob::default();
        let font = FontId::monospace(13.0);
        for (i, line) in buf.as_str().split_inclusive('\n').enumerate() {
            let mut format = TextFormat::simple(font.clone(), ink);
            if Some(i + 1) == error_line {
                format.background = error_bg;
            }
            job.append(line, 0.0, format);
        }
        job.wrap.max_width = wrap;
        ui.fonts_mut(|f| f.layout_job(job))
    };
    let id = egui::Id::new("mermaid-source");
    if let Some(offset) = state.jump_to.take() {
        let chars = state.text.get(..offset).map_or(0, |s| s.chars().count());
        let mut te = egui::TextEdit::load_state(ui.ctx(), id).unwrap_or_default();
        let cursor = egui::text::CCursor::new(chars);
        te.cursor
            .set_char_range(Some(egui::text::CCursorRange::one(cursor)));
        te.store(ui.ctx(), id);
        ui.memory_mut(|m| m.request_focus(id));
    }
    egui::ScrollArea::both()
        .auto_shrink([false, false])
        .show(ui, |ui| {
            let resp = ui.add(
                egui::TextEdit::multiline(&mut state.text)
                    .id(id)
                    .code_editor()
                    .desired_width(f32::INFINITY)
                    .desired_rows(30)
                    .layouter(&mut layouter),
            );
            if resp.changed() {
                state.typed_at = Some(ui.input(|i| i.time));
                ui.ctx()
                    .request_repaint_after(std::time::Duration::from_secs_f64(DEBOUNCE_S + 0.05));
            }
        });
}
