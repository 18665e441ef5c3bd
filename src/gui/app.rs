//! The application shell: owns the state (split by concern: the document
//! and its history, the canvas view, the panels' UI state, files), lays
//! out the panels, and applies the commands they emit, once per frame.
//!
//! Errors from files are shown in the status bar (anyhow with context), not
//! returned: the shell is where they are handled.

use super::command::{Command, Edit, ExportFormat, History};
use super::document::{Document, PASTE_OFFSET, Positions};
use super::files::{Autosave, DialogPurpose, DialogResult, PendingDialog, remember};
use super::panels::canvas::{CanvasState, canvas_ui};
use super::panels::dock::{DockContext, DockState, dock_ui};
use super::panels::inspector::{InspectorState, inspector_ui};
use super::panels::menu::menu_bar_ui;
use super::panels::palette::{PALETTE, palette_ui};
use super::panels::run::run_toolbar_ui;
use super::panels::source::{SourceState, source_ui};
use super::panels::status::{Busy, status_bar_ui};
use super::run::LiveRun;
use super::theme::{Theme, ThemeKind};
use super::timer::FrameTimer;
use crate::model::{ArchGraph, ComponentId, Finding, Shape, validate};
use anyhow::Context as _;
use egui::{Key, KeyboardShortcut, Modifiers, Pos2};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// How the app is started.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// File to open (the seed diagram when `None`).
    pub file: Option<PathBuf>,
    /// Use native file dialogs (off in tests: they would block).
    pub native_dialogs: bool,
    /// Keep a recovery file (off in tests).
    pub autosave: Option<Autosave>,
    /// Render this many frames as fast as possible, print frame times, quit.
    pub bench_frames: Option<usize>,
    /// In bench mode, move a node every frame (a drag in progress).
    pub bench_edit: bool,
    /// In bench mode, run the simulation at this speed from the first frame.
    pub bench_run: Option<crate::live::Speed>,
    /// When the process started, for time-to-first-frame.
    pub started: Option<std::time::Instant>,
    /// Open with the Mermaid source pane shown.
    pub show_source: bool,
}

/// Which panels are shown and what dialogs are open.
#[derive(Debug)]
pub struct UiState {
    /// Current colours.
    pub theme: Theme,
    /// The Mermaid source pane is shown.
    pub show_source: bool,
    /// The run dock (event log, charts, …) is shown; it opens by itself
    /// the first time a run starts.
    pub show_dock: Option<bool>,
    /// The last message for the status bar, and whether it is an error.
    pub status: Option<(String, bool)>,
    /// A typed-path prompt (when there is no native dialog).
    pub path_prompt: Option<(DialogPurpose, String)>,
    /// A question waiting for the user.
    pub modal: Option<Modal>,
    /// Files opened recently, newest first (persisted).
    pub recent: Vec<PathBuf>,
}

/// A question the user must answer before anything else.
#[derive(Debug, Clone)]
pub enum Modal {
    /// Unsaved changes: save, discard or cancel, then do this.
    Unsaved(Box<Command>),
    /// A recovery file from a crashed session: its text and original file.
    Recover(String, Option<PathBuf>),
}

/// The designer.
pub struct EdaApp {
    /// The open diagram.
    pub doc: Document,
    /// Undo and redo.
    pub history: History,
    /// Camera, selection, gesture.
    pub canvas: CanvasState,
    /// Panels, dialogs, theme.
    pub ui: UiState,
    /// The source pane.
    pub source: SourceState,
    /// The live simulation of the document and its latest frame.
    pub run: LiveRun,
    /// The bottom dock: event log, charts, invariants, scenario, bus.
    pub dock: DockState,
    inspector: InspectorState,
    options: Options,
    dialog: Option<PendingDialog>,
    commands: Vec<Command>,
    findings: (u64, Vec<Finding>),
    /// Frame times.
    pub timer: FrameTimer,
    allow_close: bool,
    title: String,
    /// A layered layout being computed off the UI thread, for the document
    /// at this revision.
    layout_job: Option<(u64, std::sync::mpsc::Receiver<Positions>)>,
    /// What to do once a Save As started from the unsaved-changes prompt
    /// has saved (dropped when it is cancelled or fails).
    after_save: Option<Command>,
    /// A recording being replayed off the UI thread (File ▸ Open Run).
    opening: Option<crate::live::OpenTask>,
}

const RECENT_KEY: &str = "eda-studio.recent";
const THEME_KEY: &str = "eda-studio.theme";

impl EdaApp {
    /// The app on `options.file` (or the seed), restoring settings from `storage`.
    pub fn new(
        ctx: &egui::Context,
        storage: Option<&dyn eframe::Storage>,
        options: Options,
    ) -> EdaApp {
        let recent: Vec<PathBuf> = storage
            .and_then(|s| eframe::get_value(s, RECENT_KEY))
            .unwrap_or_default();
        let theme_kind: ThemeKind = storage
            .and_then(|s| eframe::get_value(s, THEME_KEY))
            .unwrap_or_default();
        let theme = Theme::new(theme_kind);
        ctx.set_visuals(theme.visuals());
        let mut app = EdaApp {
            doc: Document::seed(),
            history: History::default(),
            canvas: CanvasState::default(),
            ui: UiState {
                theme,
                show_source: options.show_source,
                show_dock: None,
                status: None,
                path_prompt: None,
                modal: None,
                recent,
            },
            source: SourceState::default(),
            run: LiveRun::default(),
            dock: DockState::default(),
            inspector: InspectorState::default(),
            options,
            dialog: None,
            commands: Vec::new(),
            findings: (u64::MAX, Vec::new()),
            timer: FrameTimer::default(),
            allow_close: false,
            title: String::new(),
            layout_job: None,
            after_save: None,
            opening: None,
        };
        if let Some(path) = app.options.file.clone() {
            app.open_path(path);
        }
        if let Some(leftover) = app.options.autosave.as_ref().and_then(Autosave::leftover) {
            app.ui.modal = Some(Modal::Recover(leftover.0, leftover.1));
        }
        app
    }

    /// Queues a command as if a panel had sent it (tests drive the app this way too).
    pub fn send(&mut self, command: Command) {
        self.commands.push(command);
    }

    /// Where component `key`'s centre was drawn in the last frame.
    pub fn node_screen_pos(&self, key: &str) -> Option<Pos2> {
        let id = self.doc.graph.id_of(key)?;
        Some(self.canvas.screen_pos(&self.doc, id))
    }

    /// The box of component `key` on the screen in the last frame.
    pub fn node_screen_rect(&self, key: &str) -> Option<egui::Rect> {
        let id = self.doc.graph.id_of(key)?;
        Some(
            self.canvas
                .transform
                .rect_to_screen(self.doc.node_rect(id)?),
        )
    }

    /// Where a layout point was on the screen in the last frame.
    pub fn layout_to_screen(&self, p: Pos2) -> Pos2 {
        self.canvas.transform.to_screen(p)
    }

    fn set_status(&mut self, message: impl Into<String>, error: bool) {
        self.ui.status = Some((message.into(), error));
    }

    /// Replaces the document (after any confirmation), resetting the view.
    fn set_document(&mut self, doc: Document) {
        self.doc = doc;
        self.layout_job = None;
        self.history.clear();
        self.canvas.selection.clear();
        self.canvas.rename = None;
        self.canvas.fit_pending = true;
        self.canvas.live = None;
        self.source = SourceState::default();
        self.run.stop();
        // Another document wins over a recording still being opened.
        self.opening = None;
    }

    /// Opens `path`; a file with errors opens in the source pane at the
    /// error and the current document stays.
    fn open_path(&mut self, path: PathBuf) {
        let text = match std::fs::read_to_string(&path)
            .with_context(|| format!("cannot open {}", path.display()))
        {
            Ok(text) => text,
            Err(err) => {
                self.set_status(format!("{err:#}"), true);
                return;
            }
        };
        remember(&mut self.ui.recent, &path);
        match Document::from_text(&text, Some(path.clone())) {
            Ok(doc) => {
                self.set_document(doc);
                self.set_status(format!("Opened {}", path.display()), false);
            }
            Err(err) => {
                let first = err.render().lines().next().unwrap_or_default().to_string();
                self.set_status(first, true);
                self.source.show_error(err.text, err.name, err.diagnostic);
                self.source.origin = Some(path);
                self.ui.show_source = true;
            }
        }
    }

    /// File ▸ Open Run: replays the recording on a thread of its own
    /// ([`crate::live::OpenTask`]); the window stays responsive, the
    /// status bar shows the progress, and [`EdaApp::poll_open_run`] takes
    /// the outcome.
    fn open_run(&mut self, ctx: &egui::Context, path: &Path) {
        let wake = {
            let ctx = ctx.clone();
            move || ctx.request_repaint()
        };
        self.opening = Some(crate::live::OpenTask::start(path, wake));
        self.set_status(format!("Opening run {}…", path.display()), false);
    }

    /// The recording being opened, for the status bar.
    fn opening_busy(&self) -> Option<Busy> {
        let task = self.opening.as_ref()?;
        let (done, total) = task.progress();
        let name = task.path().file_name().map_or_else(
            || task.path().display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        if let Some(check) = task.checking() {
            // Before the replay: SQLite reads every page of the file.
            return Some(Busy {
                label: format!("Opening run {name}…"),
                fraction: Some(check.fraction),
                detail: format!("checking the file's {} pages", check.pages),
                cancel: Command::CancelOpenRun,
            });
        }
        Some(Busy {
            label: format!("Opening run {name}…"),
            fraction: (total > 0).then(|| (done as f64 / total as f64) as f32),
            detail: if total > 0 {
                format!(
                    "{} of {} replayed",
                    super::run::clock_label(done),
                    super::run::clock_label(total)
                )
            } else {
                "reading".to_string()
            },
            cancel: Command::CancelOpenRun,
        })
    }

    /// Once per frame: when the recording being opened has been replayed,
    /// its diagram becomes the document and its run the live run; a wrong
    /// file only sets the status.
    fn poll_open_run(&mut self, ctx: &egui::Context) {
        let Some(outcome) = self.opening.as_ref().and_then(|t| t.poll()) else {
            return;
        };
        let Some(task) = self.opening.take() else {
            return;
        };
        let path = task.path();
        let mut run = super::run::LiveRun::default();
        let opened = outcome.and_then(|opened| run.open_run(opened, path, ctx));
        let opened = opened.and_then(|text| {
            Document::from_text(&text, None)
                .map_err(|e| format!("{}: the recorded diagram: {}", path.display(), e.render()))
        });
        match opened {
            Ok(doc) => {
                self.set_document(doc);
                self.run = run;
                self.run.adopt(&self.doc);
                self.ui.show_dock = Some(true);
                let message = self.run.opened.as_ref().map_or_else(
                    || format!("Opened run {}", path.display()),
                    |o| o.status.clone(),
                );
                // A recording of an older engine is said so, not as a failure.
                let bad = !self
                    .run
                    .opened
                    .as_ref()
                    .is_some_and(|o| o.verified() || o.older_engine.is_some());
                self.set_status(message, bad);
            }
            Err(e) => self.set_status(e, true),
        }
    }

    fn save_to(&mut self, path: PathBuf) {
        let text = self.doc.to_text();
        match std::fs::write(&path, text).with_context(|| format!("cannot save {}", path.display()))
        {
            Ok(()) => {
                remember(&mut self.ui.recent, &path);
                self.doc.mark_saved(path.clone());
                if let Some(a) = &mut self.options.autosave {
                    a.clear();
                }
                self.set_status(format!("Saved {}", path.display()), false);
                if let Some(then) = self.after_save.take() {
                    self.commands.push(then);
                }
            }
            Err(err) => {
                self.after_save = None;
                self.set_status(format!("{err:#}"), true);
            }
        }
    }

    fn export_to(&mut self, format: ExportFormat, path: PathBuf) {
        let dark = self.ui.theme.kind == ThemeKind::Dark;
        let result = super::export::export(&self.doc, format, &path, dark);
        match result {
            Ok(()) => self.set_status(format!("Exported {}", path.display()), false),
            Err(err) => self.set_status(format!("{err:#}"), true),
        }
    }

    fn ask_path(&mut self, ctx: &egui::Context, purpose: DialogPurpose) {
        if self.options.native_dialogs && self.dialog.is_none() {
            let ctx = ctx.clone();
            self.dialog = Some(PendingDialog::start(
                purpose,
                self.doc.path.as_deref(),
                move || ctx.request_repaint(),
            ));
        } else {
            let initial = self
                .doc
                .path
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            self.ui.path_prompt = Some((purpose, initial));
        }
    }

    /// Whether `command` would lose unsaved changes.
    fn discards_changes(command: &Command) -> bool {
        matches!(
            command,
            Command::New
                | Command::Open(_)
                | Command::OpenText(..)
                | Command::OpenRun(_)
                | Command::Quit
        )
    }

    /// Applies one command.
    fn apply(&mut self, ctx: &egui::Context, command: Command) {
        if Self::discards_changes(&command) && self.doc.is_dirty() {
            self.ui.modal = Some(Modal::Unsaved(Box::new(command)));
            return;
        }
        self.apply_confirmed(ctx, command);
    }

    fn apply_confirmed(&mut self, ctx: &egui::Context, command: Command) {
        match command {
            Command::Edit(edit) => {
                if let Err(err) = self.history.apply(&mut self.doc, edit) {
                    self.set_status(format!("Edit refused: {err}"), true);
                }
            }
            Command::Record(inverse) => {
                self.history.record(inverse);
                self.doc.touch();
            }
            Command::Undo => match self.history.undo(&mut self.doc) {
                Ok(true) => self.set_status("Undone", false),
                Ok(false) => self.set_status("Nothing to undo", false),
                Err(err) => self.set_status(format!("Undo failed: {err}"), true),
            },
            Command::Redo => match self.history.redo(&mut self.doc) {
                Ok(true) => self.set_status("Redone", false),
                Ok(false) => self.set_status("Nothing to redo", false),
                Err(err) => self.set_status(format!("Redo failed: {err}"), true),
            },
            Command::New => {
                self.set_document(Document::empty());
                if let Some(a) = &mut self.options.autosave {
                    a.clear();
                }
            }
            Command::OpenDialog => self.ask_path(ctx, DialogPurpose::Open),
            Command::Open(path) => self.open_path(path),
            Command::OpenText(name, text) => match Document::from_text(&text, None) {
                Ok(doc) => {
                    self.set_document(doc);
                    self.set_status(format!("Opened example {name}"), false);
                }
                Err(err) => self.set_status(err.render(), true),
            },
            Command::Save => match self.doc.path.clone() {
                Some(path) => self.save_to(path),
                None => self.ask_path(ctx, DialogPurpose::SaveAs),
            },
            Command::SaveAs => self.ask_path(ctx, DialogPurpose::SaveAs),
            Command::SaveTo(path) => self.save_to(path),
            Command::ExportDialog(format) => self.ask_path(ctx, DialogPurpose::Export(format)),
            Command::Export(format, path) => self.export_to(format, path),
            Command::SaveRunDialog => self.ask_path(ctx, DialogPurpose::SaveRun),
            Command::SaveRunTo(path) => {
                if let Err(e) = self.run.save_run(&self.doc, path) {
                    self.set_status(e, true);
                }
            }
            Command::OpenRunDialog => self.ask_path(ctx, DialogPurpose::OpenRun),
            Command::OpenRun(path) => self.open_run(ctx, &path),
            Command::CancelOpenRun => {
                if let Some(task) = self.opening.take() {
                    // Dropping the task stops its replay.
                    self.set_status(
                        format!("Cancelled opening {}", task.path().display()),
                        false,
                    );
                }
            }
            Command::Quit => {
                self.allow_close = true;
                ctx.send_viewport_cmd(egui::ViewportCommand::Close);
            }
            Command::Copy => {
                if let Some(text) = self.selection_text() {
                    ctx.copy_text(text);
                }
            }
            Command::Cut => {
                if let Some(text) = self.selection_text() {
                    ctx.copy_text(text);
                    self.apply_confirmed(ctx, Command::Delete);
                }
            }
            Command::Paste(text) => self.paste(&text),
            Command::Duplicate => {
                if let Some(text) = self.selection_text() {
                    self.paste(&text);
                }
            }
            Command::Delete => {
                let edges: Vec<Edit> = self
                    .canvas
                    .selection
                    .edges
                    .iter()
                    .filter(|e| {
                        self.doc.graph.connection(**e).is_some_and(|c| {
                            !self.canvas.selection.nodes.contains(&c.from)
                                && !self.canvas.selection.nodes.contains(&c.to)
                        })
                    })
                    .map(|e| Edit::Disconnect(*e))
                    .collect();
                let nodes = self.canvas.selection.nodes.iter().map(|n| Edit::Remove(*n));
                let batch: Vec<Edit> = edges.into_iter().chain(nodes).collect();
                if !batch.is_empty() {
                    self.apply_confirmed(ctx, Command::Edit(Edit::Batch(batch)));
                    self.canvas.selection.clear();
                }
            }
            Command::SelectAll => {
                self.canvas.selection.nodes = self.doc.graph.components().map(|c| c.id).collect();
                self.canvas.selection.edges = self.doc.graph.connections().map(|c| c.id).collect();
            }
            Command::Fit => self.canvas.fit_pending = true,
            Command::Zoom(f) => {
                let c = self.canvas.rect.center();
                self.canvas.zoom_by(f, c);
            }
            Command::Relayout => {
                let positions = self.doc.relayout();
                let moves = positions.into_iter().collect();
                self.apply_confirmed(ctx, Command::Edit(Edit::Move(moves)));
                self.canvas.fit_pending = true;
            }
            Command::AddComponent(index, at) => {
                let Some(item) = PALETTE.get(index) else {
                    return;
                };
                let key = self.doc.graph.unique_key(item.key);
                let edit = Edit::Add {
                    label: format!("New {}", item.role.title()),
                    key: key.clone(),
                    role: Some(item.role),
                    shape: Some(Shape::Bracket(item.shape)),
                    at,
                };
                self.apply_confirmed(ctx, Command::Edit(edit));
                if let Some(id) = self.doc.graph.id_of(&key) {
                    self.canvas.selection.clear();
                    self.canvas.selection.nodes.insert(id);
                }
            }
            Command::SourceEdit(text) => self.apply_source(&text),
            Command::Sim(command) => self.run.apply(&self.doc, command, ctx),
            Command::SelectComponent(key) => {
                if let Some(id) = self.doc.graph.id_of(&key) {
                    self.canvas.selection.clear();
                    self.canvas.selection.nodes.insert(id);
                }
            }
        }
    }

    /// The source pane's text parsed: make it the document (one undo step),
    /// keeping the positions of components that are still there.
    fn apply_source(&mut self, text: &str) {
        let origin = self.source.origin.take();
        let parsed = match Document::from_text(text, origin.clone()) {
            Ok(doc) => doc,
            Err(err) => {
                self.source.error = Some(err.diagnostic);
                return;
            }
        };
        if origin.is_some() {
            // The text of a file that had failed to open: now it opens.
            self.set_document(parsed);
            return;
        }
        let mut positions = Positions::new();
        let saved = super::document::parse(text)
            .map(|p| p.1)
            .unwrap_or_default();
        for c in parsed.graph.components() {
            let kept = saved.get(&c.id).copied().or_else(|| {
                self.doc
                    .graph
                    .id_of(&c.key)
                    .and_then(|old| self.doc.positions.get(&old).copied())
            });
            if let Some(p) = kept {
                positions.insert(c.id, p);
            }
        }
        let positions = super::document::complete_positions(&parsed.graph, positions);
        let edit = Edit::Replace(Box::new((parsed.graph, positions)));
        match self.history.apply(&mut self.doc, edit) {
            Ok(()) => {
                self.canvas.selection.retain_existing(&self.doc);
                self.source.revision = Some(self.doc.revision);
            }
            Err(err) => self.set_status(format!("{err}"), true),
        }
    }

    /// The Mermaid id of the one selected component, if exactly one is.
    fn selected_key(&self) -> Option<String> {
        let mut nodes = self.canvas.selection.nodes.iter();
        match (nodes.next(), nodes.next()) {
            (Some(id), None) => self.doc.graph.component(*id).map(|c| c.key.clone()),
            _ => None,
        }
    }

    /// The selection as Mermaid: its components and the connections among them.
    fn selection_text(&self) -> Option<String> {
        let sel = &self.canvas.selection.nodes;
        if sel.is_empty() {
            return None;
        }
        let mut part = self.doc.graph.clone();
        let others: Vec<ComponentId> = part
            .components()
            .map(|c| c.id)
            .filter(|id| !sel.contains(id))
            .collect();
        for id in others {
            let _ = part.remove_component(id);
        }
        let positions: Positions = self
            .doc
            .positions
            .iter()
            .filter(|(id, _)| sel.contains(id))
            .map(|(id, p)| (*id, *p))
            .collect();
        Some(super::document::write(&part, &positions))
    }

    /// Imports Mermaid text: its components get fresh ids and land next to
    /// (or, with positions, offset from) where they were; one undo step.
    fn paste(&mut self, text: &str) {
        let Ok((incoming, saved)) = super::document::parse(text) else {
            self.set_status("The clipboard does not hold a Mermaid flowchart", true);
            return;
        };
        let positions = if saved.is_empty() {
            // No positions: lay it out to the right of the diagram.
            let laid = super::document::auto_layout(&incoming);
            let right = self.doc.bounds().map_or(0.0, |b| b.max.x + 150.0);
            let left = laid.values().map(|p| p.x).fold(f32::MAX, f32::min);
            laid.into_iter()
                .map(|(id, p)| (id, egui::pos2(p.x - left + right, p.y)))
                .collect()
        } else {
            super::document::complete_positions(&incoming, saved)
                .into_iter()
                .map(|(id, p)| (id, p + PASTE_OFFSET))
                .collect::<Positions>()
        };
        // Keys are chosen against the graph as it will be, one after another.
        let mut probe = self.doc.graph.clone();
        let mut keys: BTreeMap<ComponentId, String> = BTreeMap::new();
        let mut batch = Vec::new();
        for c in incoming.components() {
            let key = probe.unique_key(&c.key);
            let _ = probe.add_component(&key, &c.label);
            keys.insert(c.id, key.clone());
            batch.push(Edit::Add {
                key,
                label: c.label.clone(),
                role: None,
                shape: c.shape.clone(),
                at: positions.get(&c.id).copied().unwrap_or(Pos2::ZERO),
            });
        }
        let before = self.doc.graph.components().count();
        if let Err(err) = self.history.apply(&mut self.doc, Edit::Batch(batch)) {
            self.set_status(format!("Paste refused: {err}"), true);
            return;
        }
        // Second step inside the same undo entry: classes, styles, edges.
        let mut more = Vec::new();
        if let Some(defs) = missing_class_defs(&incoming, &self.doc.graph) {
            let mut graph = self.doc.graph.clone();
            graph.meta.class_defs.extend(defs);
            more.push(Edit::Replace(Box::new((graph, self.doc.positions.clone()))));
        }
        let id_of = |k: &str, g: &ArchGraph| g.id_of(k);
        for c in incoming.components() {
            let Some(id) = keys.get(&c.id).and_then(|k| id_of(k, &self.doc.graph)) else {
                continue;
            };
            if !c.classes.is_empty() {
                more.push(Edit::SetClasses(id, c.classes.clone()));
            }
            if !c.styles.is_empty() {
                more.push(Edit::SetStyles(id, c.styles.clone()));
            }
        }
        let mut new_edges = Vec::new();
        for e in incoming.connections() {
            let from = keys.get(&e.from).and_then(|k| id_of(k, &self.doc.graph));
            let to = keys.get(&e.to).and_then(|k| id_of(k, &self.doc.graph));
            if let (Some(from), Some(to)) = (from, to) {
                new_edges.push((from, to, e.clone()));
            }
        }
        for (from, to, e) in &new_edges {
            more.push(Edit::Connect {
                from: *from,
                to: *to,
                label: e.label.clone(),
            });
        }
        match Edit::Batch(more).apply(&mut self.doc) {
            Ok(inverse) => self.history.merge_last(inverse),
            Err(err) => self.set_status(format!("Paste incomplete: {err}"), true),
        }
        // Strokes and arrows of the new connections, also in the same step.
        let mut styling = Vec::new();
        let new_ids: Vec<_> = self.doc.graph.connections().map(|c| c.id).collect();
        let fresh = &new_ids[new_ids.len().saturating_sub(new_edges.len())..];
        for (cid, (_, _, e)) in fresh.iter().zip(&new_edges) {
            styling.push(Edit::SetStroke(*cid, e.stroke));
            styling.push(Edit::SetArrows(*cid, e.arrow_start, e.arrow_end));
        }
        if let Ok(inverse) = Edit::Batch(styling).apply(&mut self.doc) {
            self.history.merge_last(inverse);
        }
        self.canvas.selection.clear();
        self.canvas.selection.nodes = keys
            .values()
            .filter_map(|k| self.doc.graph.id_of(k))
            .collect();
        let added = self.doc.graph.components().count() - before;
        self.set_status(format!("Pasted {added} components"), false);
    }

    fn findings(&mut self) -> &[Finding] {
        if self.findings.0 != self.doc.revision {
            self.findings = (self.doc.revision, validate(&self.doc.graph));
        }
        &self.findings.1
    }

    /// Keyboard shortcuts. Those that a text field also uses apply only
    /// when no text field has the keyboard.
    fn shortcuts(&mut self, ctx: &egui::Context) {
        // A text field has the keyboard: its own undo, select-all, copy and paste win.
        let typing = ctx.text_edit_focused();
        let cmd = Modifiers::COMMAND;
        let shift_cmd = Modifiers::COMMAND | Modifiers::SHIFT;
        let consume = |m: Modifiers, k: Key| {
            ctx.input_mut(|i| i.consume_shortcut(&KeyboardShortcut::new(m, k)))
        };
        // Order matters: Ctrl+Shift+S before Ctrl+S.
        if consume(shift_cmd, Key::S) {
            self.commands.push(Command::SaveAs);
        }
        if consume(cmd, Key::S) {
            self.commands.push(Command::Save);
        }
        if consume(cmd, Key::O) {
            self.commands.push(Command::OpenDialog);
        }
        if consume(cmd, Key::N) {
            self.commands.push(Command::New);
        }
        if consume(cmd, Key::Q) {
            self.commands.push(Command::Quit);
        }
        if typing {
            return;
        }
        if consume(shift_cmd, Key::Z) || consume(cmd, Key::Y) {
            self.commands.push(Command::Redo);
        }
        if consume(cmd, Key::Z) {
            self.commands.push(Command::Undo);
        }
        if consume(cmd, Key::A) {
            self.commands.push(Command::SelectAll);
        }
        if consume(cmd, Key::D) {
            self.commands.push(Command::Duplicate);
        }
        if consume(Modifiers::NONE, Key::Delete) || consume(Modifiers::NONE, Key::Backspace) {
            self.commands.push(Command::Delete);
        }
        if consume(Modifiers::NONE, Key::Space) {
            self.commands.push(Command::Sim(self.run.toggle()));
        }
        if consume(Modifiers::NONE, Key::F) {
            self.commands.push(Command::Fit);
        }
        if consume(Modifiers::NONE, Key::Plus) || consume(Modifiers::NONE, Key::Equals) {
            self.commands.push(Command::Zoom(1.25));
        }
        if consume(Modifiers::NONE, Key::Minus) {
            self.commands.push(Command::Zoom(0.8));
        }
        let events = ctx.input(|i| i.events.clone());
        for event in events {
            match event {
                egui::Event::Copy => self.commands.push(Command::Copy),
                egui::Event::Cut => self.commands.push(Command::Cut),
                egui::Event::Paste(text) => self.commands.push(Command::Paste(text)),
                _ => {}
            }
        }
    }

    fn poll_dialog(&mut self) {
        let Some(result) = self.dialog.as_ref().and_then(PendingDialog::poll) else {
            return;
        };
        self.dialog = None;
        match result {
            DialogResult::Picked(DialogPurpose::Open, p) => self.commands.push(Command::Open(p)),
            DialogResult::Picked(DialogPurpose::SaveAs, p) => {
                self.commands.push(Command::SaveTo(p))
            }
            DialogResult::Picked(DialogPurpose::Export(f), p) => {
                self.commands.push(Command::Export(f, p))
            }
            DialogResult::Picked(DialogPurpose::SaveRun, p) => {
                self.commands.push(Command::SaveRunTo(p))
            }
            DialogResult::Picked(DialogPurpose::OpenRun, p) => {
                self.commands.push(Command::OpenRun(p))
            }
            DialogResult::Cancelled => self.after_save = None,
            DialogResult::Unavailable(purpose) => {
                self.set_status("No file dialog available here: type a path", false);
                self.ui.path_prompt = Some((purpose, String::new()));
            }
        }
    }

    fn dropped_files(&mut self, ctx: &egui::Context) {
        let dropped: Vec<PathBuf> = ctx.input(|i| {
            i.raw
                .dropped_files
                .iter()
                .map(|f| f.path().to_path_buf())
                .collect()
        });
        if let Some(path) = dropped.into_iter().next() {
            self.commands.push(Command::Open(path));
        }
    }

    fn path_prompt_ui(&mut self, ctx: &egui::Context) {
        let Some((purpose, text)) = &mut self.ui.path_prompt else {
            return;
        };
        let title = match purpose {
            DialogPurpose::Open => "Open file".to_string(),
            DialogPurpose::SaveAs => "Save as".to_string(),
            DialogPurpose::Export(f) => format!("Export {}", f.extension().to_uppercase()),
            DialogPurpose::SaveRun => "Save run".to_string(),
            DialogPurpose::OpenRun => "Open run".to_string(),
        };
        let mut done = None;
        let mut close = false;
        egui::Window::new(title)
            .collapsible(false)
            .resizable(false)
            .anchor(egui::Align2::CENTER_TOP, egui::vec2(0.0, 80.0))
            .show(ctx, |ui| {
                ui.label("Path:");
                let resp = ui.add(
                    egui::TextEdit::singleline(text)
                        .id_salt("path-prompt")
                        .desired_width(420.0),
                );
                if !resp.has_focus() && !resp.lost_focus() {
                    resp.request_focus();
                }
                let enter = resp.lost_focus() && ui.input(|i| i.key_pressed(Key::Enter));
                ui.horizontal(|ui| {
                    if ui.button("OK").clicked() || enter {
                        done = Some((*purpose, PathBuf::from(text.trim())));
                    }
                    if ui.button("Cancel").clicked() {
                        close = true;
                    }
                });
            });
        if let Some((purpose, path)) = done {
            self.ui.path_prompt = None;
            if path.as_os_str().is_empty() {
                return;
            }
            self.commands.push(match purpose {
                DialogPurpose::Open => Command::Open(path),
                DialogPurpose::SaveAs => Command::SaveTo(path),
                DialogPurpose::Export(f) => Command::Export(f, path),
                DialogPurpose::SaveRun => Command::SaveRunTo(path),
                DialogPurpose::OpenRun => Command::OpenRun(path),
            });
        } else if close {
            self.ui.path_prompt = None;
            self.after_save = None;
        }
    }

    fn modal_ui(&mut self, ctx: &egui::Context) {
        let Some(modal) = self.ui.modal.clone() else {
            return;
        };
        let mut answer: Option<&'static str> = None;
        egui::Modal::new(egui::Id::new("eda-modal")).show(ctx, |ui| match &modal {
            Modal::Unsaved(_) => {
                ui.heading("Unsaved changes");
                ui.label(format!("Save the changes to {}?", self.doc.title()));
                ui.horizontal(|ui| {
                    if ui.button("Save").clicked() {
                        answer = Some("save");
                    }
                    if ui.button("Discard").clicked() {
                        answer = Some("discard");
                    }
                    if ui.button("Cancel").clicked() {
                        answer = Some("cancel");
                    }
                });
            }
            Modal::Recover(_, origin) => {
                ui.heading("Recover unsaved work?");
                let from = origin.as_ref().map_or_else(
                    || "an untitled diagram".to_string(),
                    |p| p.display().to_string(),
                );
                ui.label(format!(
                    "eda-studio did not close cleanly while editing {from}."
                ));
                ui.horizontal(|ui| {
                    if ui.button("Recover").clicked() {
                        answer = Some("recover");
                    }
                    if ui.button("Discard").clicked() {
                        answer = Some("discard");
                    }
                });
            }
        });
        let Some(answer) = answer else { return };
        self.ui.modal = None;
        match (modal, answer) {
            (Modal::Unsaved(then), "save") => {
                if self.doc.path.is_none() {
                    // Save As first; the action resumes once it has saved.
                    self.after_save = Some(*then);
                    self.apply_confirmed(ctx, Command::Save);
                } else {
                    self.apply_confirmed(ctx, Command::Save);
                    if !self.doc.is_dirty() {
                        self.apply_confirmed(ctx, *then);
                    }
                }
            }
            (Modal::Unsaved(then), "discard") => {
                if let Some(a) = &mut self.options.autosave {
                    a.clear();
                }
                self.doc.saved_revision = self.doc.revision;
                self.apply_confirmed(ctx, *then);
            }
            (Modal::Recover(text, origin), "recover") => match Document::from_text(&text, origin) {
                Ok(mut doc) => {
                    // Recovered work is unsaved by definition.
                    doc.touch();
                    self.set_document(doc);
                    self.set_status("Recovered unsaved work", false);
                }
                Err(err) => self.set_status(err.render(), true),
            },
            (Modal::Recover(..), _) => {
                if let Some(a) = &mut self.options.autosave {
                    a.clear();
                }
            }
            _ => {}
        }
    }

    fn autosave(&mut self, ctx: &egui::Context) {
        let Some(a) = &mut self.options.autosave else {
            return;
        };
        if !self.doc.is_dirty() {
            return;
        }
        if a.due(self.doc.revision) {
            let text = self.doc.to_text();
            if let Err(err) = a.write(&text, self.doc.path.as_deref(), self.doc.revision) {
                self.ui.status = Some((format!("Autosave failed: {err}"), true));
            }
        } else {
            ctx.request_repaint_after(a.interval);
        }
    }

    /// Starts or collects the background layout of a large diagram. An
    /// edit made meanwhile wins: the result is then dropped.
    fn background_layout(&mut self, ctx: &egui::Context) {
        if let Some((revision, rx)) = &self.layout_job {
            match rx.try_recv() {
                Ok(positions) => {
                    if *revision == self.doc.revision {
                        self.doc.positions = positions;
                        self.canvas.fit_pending = true;
                        self.ui.status = Some(("Laid out".to_string(), false));
                    }
                    self.doc.layout_pending = false;
                    self.layout_job = None;
                }
                Err(std::sync::mpsc::TryRecvError::Disconnected) => {
                    self.doc.layout_pending = false;
                    self.layout_job = None;
                }
                Err(std::sync::mpsc::TryRecvError::Empty) => {}
            }
        } else if self.doc.layout_pending {
            let graph = self.doc.graph.clone();
            let (tx, rx) = std::sync::mpsc::channel();
            let ctx = ctx.clone();
            std::thread::spawn(move || {
                // The receiver may be gone (another file opened): nothing to do.
                let _ = tx.send(super::document::auto_layout(&graph));
                ctx.request_repaint();
            });
            self.layout_job = Some((self.doc.revision, rx));
            self.set_status("Laying out the diagram…", false);
        }
    }

    fn bench(&mut self, ctx: &egui::Context) {
        let Some(frames) = self.options.bench_frames else {
            return;
        };
        let first = self.doc.graph.components().next().map(|c| c.id);
        if self.options.bench_edit
            && let Some(c) = first
        {
            // A drag in progress: one node moves every frame.
            let t = self.timer.frames() as f32;
            if let Some(p) = self.doc.positions.get_mut(&c) {
                *p += egui::vec2((t * 0.3).sin() * 3.0, (t * 0.3).cos() * 3.0);
            }
            self.doc.touch();
        }
        if let Some(speed) = self.options.bench_run.take() {
            self.commands
                .push(Command::Sim(crate::live::Command::SetSpeed(speed)));
            self.commands.push(Command::Sim(crate::live::Command::Run));
        }
        if self.timer.frames() >= frames && !self.allow_close {
            println!("{}", self.timer.report(self.options.started));
            if let Some(f) = &self.run.frame {
                println!(
                    "simulation: t = {:.3} s virtual, {} deliveries, {:.0} deliveries per wall-clock s lately",
                    f.now_us as f64 / 1e6,
                    f.deliveries,
                    f.deliveries_per_wall_s
                );
            }
            self.allow_close = true;
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
        } else if self
            .run
            .frame
            .as_ref()
            .is_none_or(|f| f.speed != crate::live::Speed::Max)
        {
            ctx.request_repaint();
        }
        // At Max the driver's frames ask for the redraws, as in normal use:
        // the bench then measures the engine's throughput beside the window
        // the user has, not beside one redrawn as fast as possible.
    }
}

/// The `classDef`s the pasted components use that the document does not
/// define yet (the document's own definition of a name wins). Role
/// classes the designer wrote for its own look are left out: the writer
/// adds those itself.
fn missing_class_defs(incoming: &ArchGraph, doc: &ArchGraph) -> Option<Vec<(String, Vec<String>)>> {
    let used: std::collections::BTreeSet<&str> = incoming
        .components()
        .flat_map(|c| c.classes.iter().map(String::as_str))
        .chain(
            incoming
                .connections()
                .flat_map(|c| c.attrs.classes.iter().map(String::as_str)),
        )
        .collect();
    let defs: Vec<(String, Vec<String>)> = incoming
        .meta
        .class_defs
        .iter()
        .filter(|(name, styles)| {
            used.contains(name.as_str())
                && !doc.meta.class_defs.contains_key(*name)
                && !crate::model::write::is_generated_role_class(name, styles)
        })
        .map(|(n, s)| (n.clone(), s.clone()))
        .collect();
    (!defs.is_empty()).then_some(defs)
}

impl eframe::App for EdaApp {
    fn ui(&mut self, ui: &mut egui::Ui, frame: &mut eframe::Frame) {
        let ctx = ui.ctx().clone();
        let started = std::time::Instant::now();
        if ctx.input(|i| i.viewport().close_requested()) && !self.allow_close {
            if self.doc.is_dirty() {
                ctx.send_viewport_cmd(egui::ViewportCommand::CancelClose);
                self.ui.modal = Some(Modal::Unsaved(Box::new(Command::Quit)));
            } else if let Some(a) = &mut self.options.autosave {
                a.clear();
            }
        }
        self.poll_dialog();
        self.poll_open_run(&ctx);
        self.dropped_files(&ctx);
        if self.ui.modal.is_none() && self.ui.path_prompt.is_none() && self.canvas.rename.is_none()
        {
            self.shortcuts(&ctx);
        }

        let theme = self.ui.theme.clone();
        let findings = self.findings().to_vec();
        let can = (self.history.can_undo(), self.history.can_redo());
        egui::Panel::top("menu").show(ui, |ui| {
            menu_bar_ui(ui, &mut self.ui, can, &mut self.commands);
        });
        self.run.poll(&self.doc);
        if let Some(saved) = self.run.take_saved() {
            match saved {
                Ok(m) => self.set_status(m, false),
                Err(m) => self.set_status(m, true),
            }
        }
        self.run.select(self.selected_key());
        self.canvas.live = self.run.frame.clone();
        egui::Panel::top("run").show(ui, |ui| {
            run_toolbar_ui(ui, &mut self.run, &theme, &mut self.commands);
        });
        let busy = self.opening_busy();
        egui::Panel::bottom("status").show(ui, |ui| {
            status_bar_ui(
                ui,
                &self.ui,
                &self.doc,
                &self.canvas,
                &findings,
                &self.source,
                &self.timer,
                busy.as_ref(),
                &mut self.commands,
            );
        });
        let view_center = self.canvas.transform.to_layout(self.canvas.rect.center());
        egui::Panel::left("palette")
            .resizable(false)
            .default_size(170.0)
            .show(ui, |ui| {
                palette_ui(ui, &theme, view_center, &mut self.commands);
            });
        egui::Panel::right("inspector")
            .default_size(260.0)
            .show(ui, |ui| {
                // Keep the width the panel was given (or dragged to): a
                // selection with short contents must not shrink it.
                ui.set_min_width(ui.available_width());
                self.inspector.live = self.run.frame.clone();
                inspector_ui(
                    ui,
                    &self.doc,
                    &self.canvas.selection,
                    &mut self.inspector,
                    &theme,
                    &mut self.commands,
                );
            });
        if self.ui.show_source {
            self.source.sync(&self.doc);
            let now = ctx.input(|i| i.time);
            if let Some(cmd) = self.source.poll(now) {
                self.commands.push(cmd);
            }
            egui::Panel::right("source")
                .resizable(true)
                .default_size(420.0)
                .show(ui, |ui| {
                    source_ui(ui, &mut self.source, &theme);
                });
        }
        if self.ui.show_dock.is_none() && self.run.is_started() {
            self.ui.show_dock = Some(true);
        }
        if self.ui.show_dock == Some(true) {
            egui::Panel::bottom("dock")
                .resizable(true)
                .default_size(260.0)
                .show(ui, |ui| {
                    // Keep the height the dock was given (or dragged to):
                    // a tab with short contents must not shrink it and
                    // move the canvas.
                    ui.set_min_height(ui.available_height());
                    let cx = DockContext {
                        doc: &self.doc,
                        frame: self.run.frame.as_ref(),
                        opened: self.run.opened.as_ref().and_then(|o| o.settings.as_ref()),
                        selection: &self.canvas.selection,
                        theme: &theme,
                    };
                    dock_ui(ui, &mut self.dock, &cx, &mut self.commands);
                });
        }
        egui::CentralPanel::no_frame().show(ui, |ui| {
            canvas_ui(
                ui,
                &mut self.doc,
                &mut self.canvas,
                &theme,
                &mut self.commands,
            );
        });
        self.path_prompt_ui(&ctx);
        self.modal_ui(&ctx);

        let theme_before = self.ui.theme.kind;
        for command in std::mem::take(&mut self.commands) {
            self.apply(&ctx, command);
        }
        self.canvas.selection.retain_existing(&self.doc);
        if self.ui.theme.kind != theme_before {
            ctx.set_visuals(self.ui.theme.visuals());
        }
        let title = self.doc.title();
        if title != self.title {
            ctx.send_viewport_cmd(egui::ViewportCommand::Title(title.clone()));
            self.title = title;
        }
        self.autosave(&ctx);
        self.background_layout(&ctx);
        self.timer.record(started.elapsed(), frame.info().cpu_usage);
        if let Some(s) = self.options.started {
            self.timer.first_frame_since(s);
        }
        self.bench(&ctx);
    }

    /// The canvas's colour: the canvas leaves its background to the
    /// window's clear (see `graph_canvas::canvas_ui`), which the software
    /// rasteriser fills far faster than a full-canvas quad.
    fn clear_color(&self, _visuals: &egui::Visuals) -> [f32; 4] {
        self.ui.theme.canvas_bg.to_normalized_gamma_f32()
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, RECENT_KEY, &self.ui.recent);
        eframe::set_value(storage, THEME_KEY, &self.ui.theme.kind);
    }

    fn on_exit(&mut self, _gl: Option<&eframe::glow::Context>) {
        if !self.doc.is_dirty()
            && let Some(a) = &mut self.options.autosave
        {
            a.clear();
        }
    }
}
