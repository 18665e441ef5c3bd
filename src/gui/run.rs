//! The designer's run state: the handle to the live simulation driver
//! ([`crate::live::LiveHandle`]) and the latest [`Frame`] it published.
//!
//! The driver starts on the first run command, on the current document
//! and its `%% eda:scenario` lines; when the diagram's content changes
//! (not merely its positions) the driver is given the new model with
//! [`LiveCommand::Load`]. The UI never waits for the engine: commands go
//! out with `try_send` (a full buffer keeps them for the next frame) and
//! frames come in with `frame_if_new`.
//!
//! Uses `live`, `sim` (scenario text only) and the document; it must not
//! touch simulation internals.

use super::document::{Document, Positions, write};
use crate::live::{Command as LiveCommand, Frame, LiveHandle, RunState, SendError, Speed};
use crate::sim::{Scenario, load_scenario};
use std::collections::VecDeque;
use std::sync::Arc;

/// The seed a run starts with until the user types another.
pub const DEFAULT_SEED: u64 = 1;
/// Commands kept for the next frame when the driver's buffer is full.
const PENDING_LIMIT: usize = 64;

/// The live simulation of the open document, as the designer sees it.
pub struct LiveRun {
    handle: Option<LiveHandle>,
    /// The latest frame, once the run has started.
    pub frame: Option<Arc<Frame>>,
    /// The diagram text (without positions) the driver was given.
    loaded: Option<String>,
    /// The document revision last compared with `loaded`.
    seen_revision: u64,
    pending: VecDeque<LiveCommand>,
    /// The seed field's text.
    pub seed_text: String,
    /// The last problem starting or talking to the driver.
    pub error: Option<String>,
    /// The selected component as last told to the driver.
    told_selected: Option<Option<String>>,
}

impl Default for LiveRun {
    fn default() -> Self {
        LiveRun {
            handle: None,
            frame: None,
            loaded: None,
            seen_revision: u64::MAX,
            pending: VecDeque::new(),
            seed_text: DEFAULT_SEED.to_string(),
            error: None,
            told_selected: None,
        }
    }
}

impl std::fmt::Debug for LiveRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveRun")
            .field("started", &self.handle.is_some())
            .field("frame_seq", &self.frame.as_ref().map(|fr| fr.seq))
            .field("pending", &self.pending.len())
            .field("error", &self.error)
            .finish()
    }
}

/// The diagram as the simulation sees it: its Mermaid text without positions.
fn sim_text(doc: &Document) -> String {
    write(&doc.graph, &Positions::new())
}

/// The document's scenario: its `%% eda:scenario` lines over the default.
fn scenario_of(doc: &Document, text: &str) -> Result<Scenario, String> {
    load_scenario(text, &doc.graph).map_err(|d| format!("scenario: {}", d.message))
}

impl LiveRun {
    /// Whether a driver is running for this document.
    pub fn is_started(&self) -> bool {
        self.handle.is_some()
    }

    /// Whether virtual time is advancing (as of the latest frame).
    pub fn is_running(&self) -> bool {
        self.frame
            .as_ref()
            .is_some_and(|f| f.state == RunState::Running)
    }

    /// The command Space sends: pause a running simulation, else run it.
    pub fn toggle(&self) -> LiveCommand {
        if self.is_running() {
            LiveCommand::Pause
        } else {
            LiveCommand::Run
        }
    }

    /// The seed typed in the seed field, if it is a number.
    pub fn typed_seed(&self) -> Option<u64> {
        self.seed_text.trim().parse().ok()
    }

    /// Sends `command` to the driver, starting it (or giving it the
    /// changed diagram) first. Never blocks.
    pub fn apply(&mut self, doc: &Document, command: LiveCommand, ctx: &egui::Context) {
        if self.handle.is_none() {
            if let Err(e) = self.start(doc, ctx) {
                self.error = Some(e);
                return;
            }
        } else {
            self.reload_if_changed(doc);
        }
        self.pending.push_back(command);
        self.flush();
    }

    /// Once per UI frame: takes a new frame if there is one, gives the
    /// driver a changed diagram, and retries commands that did not fit.
    pub fn poll(&mut self, doc: &Document) {
        if self.handle.is_none() {
            return;
        }
        self.reload_if_changed(doc);
        self.flush();
        if let Some(frame) = self.handle.as_mut().and_then(LiveHandle::frame_if_new) {
            if let Some(e) = &frame.error {
                self.error = Some(e.clone());
            }
            self.frame = Some(frame);
        }
    }

    /// Tells the driver which component is selected (once per change), so
    /// its frames carry that component's detail.
    pub fn select(&mut self, key: Option<String>) {
        if self.handle.is_none() || self.told_selected.as_ref() == Some(&key) {
            return;
        }
        self.told_selected = Some(key.clone());
        self.pending.push_back(LiveCommand::Select(key));
        self.flush();
    }

    /// Stops the driver and forgets the run (a new document was opened).
    pub fn stop(&mut self) {
        let seed_text = std::mem::take(&mut self.seed_text);
        *self = LiveRun {
            seed_text,
            ..LiveRun::default()
        };
    }

    fn start(&mut self, doc: &Document, ctx: &egui::Context) -> Result<(), String> {
        let text = sim_text(doc);
        let scenario = scenario_of(doc, &text)?;
        let seed = self.typed_seed().unwrap_or(DEFAULT_SEED);
        let repaint = {
            let ctx = ctx.clone();
            move || ctx.request_repaint()
        };
        let handle = LiveHandle::start(doc.graph.clone(), scenario, seed, repaint)
            .map_err(|e| format!("cannot start the simulation: {e}"))?;
        self.frame = Some(handle.frame());
        self.handle = Some(handle);
        self.loaded = Some(text);
        self.seen_revision = doc.revision;
        self.error = None;
        Ok(())
    }

    fn reload_if_changed(&mut self, doc: &Document) {
        if doc.revision == self.seen_revision {
            return;
        }
        self.seen_revision = doc.revision;
        let text = sim_text(doc);
        if self.loaded.as_deref() == Some(text.as_str()) {
            // Only positions moved: the run goes on.
            return;
        }
        match scenario_of(doc, &text) {
            Ok(scenario) => {
                self.pending.push_back(LiveCommand::Load {
                    graph: Box::new(doc.graph.clone()),
                    scenario: Box::new(scenario),
                });
                self.loaded = Some(text);
            }
            Err(e) => self.error = Some(e),
        }
    }

    fn flush(&mut self) {
        let Some(handle) = &self.handle else {
            return;
        };
        while let Some(command) = self.pending.pop_front() {
            match handle.send(command.clone()) {
                Ok(()) => {}
                Err(SendError::Full) => {
                    self.pending.push_front(command);
                    break;
                }
                Err(e @ SendError::Stopped) => {
                    self.error = Some(e.to_string());
                    self.pending.clear();
                    break;
                }
            }
        }
        // A stuck driver must not grow the queue without bound.
        while self.pending.len() > PENDING_LIMIT {
            self.pending.pop_front();
        }
    }
}

/// The speeds the toolbar offers.
pub const SPEEDS: [Speed; 9] = [
    Speed::Factor(0.1),
    Speed::Factor(0.5),
    Speed::Factor(1.0),
    Speed::Factor(2.0),
    Speed::Factor(5.0),
    Speed::Factor(10.0),
    Speed::Factor(100.0),
    Speed::Factor(1000.0),
    Speed::Max,
];

/// A speed as the toolbar shows it: `0.1×`, `100×`, `Max`.
pub fn speed_label(speed: Speed) -> String {
    match speed {
        Speed::Factor(f) => format!("{f}×"),
        Speed::Max => "Max".to_string(),
    }
}

/// Virtual time as the toolbar shows it, `12.345 s`.
pub fn clock_label(us: u64) -> String {
    format!("{}.{:03} s", us / 1_000_000, (us / 1_000) % 1_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_read_as_the_toolbar_shows_them() {
        assert_eq!(speed_label(Speed::Factor(0.1)), "0.1×");
        assert_eq!(speed_label(Speed::Factor(1000.0)), "1000×");
        assert_eq!(speed_label(Speed::Max), "Max");
        assert_eq!(clock_label(0), "0.000 s");
        assert_eq!(clock_label(12_345_678), "12.345 s");
    }

    #[test]
    fn moving_a_node_keeps_the_run_but_an_edit_reloads_it() {
        let mut doc = Document::seed();
        let mut run = LiveRun::default();
        let ctx = egui::Context::default();
        run.apply(&doc, LiveCommand::StepBy(100_000), &ctx);
        assert!(run.is_started(), "{:?}", run.error);
        let loaded = run.loaded.clone();
        if let Some(p) = doc.positions.values_mut().next() {
            *p += egui::vec2(40.0, 0.0);
        }
        doc.touch();
        run.poll(&doc);
        assert_eq!(run.loaded, loaded, "a move is not a reload");
        let first = doc.graph.components().next().map(|c| c.id);
        if let Some(id) = first {
            let _ = doc.graph.remove_component(id);
        }
        doc.touch();
        run.poll(&doc);
        assert_ne!(run.loaded, loaded, "an edit reloads the driver");
        assert!(run.error.is_none(), "{:?}", run.error);
    }

    #[test]
    fn a_bad_seed_field_falls_back_and_toggle_follows_the_state() {
        let mut run = LiveRun {
            seed_text: "not a number".into(),
            ..LiveRun::default()
        };
        assert_eq!(run.typed_seed(), None);
        assert!(matches!(run.toggle(), LiveCommand::Run));
        run.seed_text = " 42 ".into();
        assert_eq!(run.typed_seed(), Some(42));
    }
}
