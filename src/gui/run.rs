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
use crate::live::{
    Command as LiveCommand, Frame, LiveHandle, Opened, PastOptions, RunState, SendError, Speed,
};
use crate::model::{ArchGraph, Role};
use crate::sim::{Engine, Fault, Scenario, load_scenario};
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
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
    /// The model and scenario the driver was given (to tell a live
    /// addition of a consumer from any other edit).
    loaded_model: Option<(ArchGraph, Scenario)>,
    /// The document's text (with positions) when the driver was last
    /// started or loaded: the diagram the run was built from, which Save
    /// Run records (consumers added live are control inputs, not part of it).
    run_text: Option<String>,
    /// The document revision last compared with `loaded`.
    seen_revision: u64,
    pending: VecDeque<LiveCommand>,
    /// The seed field's text.
    pub seed_text: String,
    /// The last problem starting or talking to the driver.
    pub error: Option<String>,
    /// The selected component as last told to the driver.
    told_selected: Option<Option<String>>,
    /// The recording this run was opened from (File ▸ Open Run).
    pub opened: Option<OpenedRun>,
    /// Save Runs whose outcome was already reported.
    saves_seen: u64,
    /// How the next run started keeps its past (the window of snapshots
    /// and the archive behind it).
    pub past: PastOptions,
}

/// A run opened from a recording, for the toolbar.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenedRun {
    /// The recording.
    pub path: PathBuf,
    /// The run hash the file records at its end.
    pub recorded_hash: Option<String>,
    /// The replay's run hash at its end.
    pub replayed_hash: String,
    /// Set when an older engine made the recording: the run shown is this
    /// engine's re-run of it.
    pub older_engine: Option<crate::record::OlderEngine>,
    /// What such a recording stores, shown as stored.
    pub stored: Option<Arc<crate::live::StoredRun>>,
    /// What the status bar says of it.
    pub status: String,
    /// What the opened run runs with, while the run is still the one
    /// opened (an edit of the diagram reloads it with the live defaults).
    pub settings: Option<OpenedSettings>,
}

/// The settings of a run opened from a recording, for the scenario tab.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenedSettings {
    /// The scenario the opened run uses.
    pub scenario: Arc<Scenario>,
    /// Whether the recording says which settings the live run's defaults
    /// gave ([`Opened::defaults_recorded`]).
    pub defaults_recorded: bool,
}

impl OpenedRun {
    /// Whether the replay reproduced the recorded run.
    pub fn verified(&self) -> bool {
        self.older_engine.is_none()
            && self.recorded_hash.as_deref() == Some(self.replayed_hash.as_str())
    }
}

impl Default for LiveRun {
    fn default() -> Self {
        LiveRun {
            handle: None,
            frame: None,
            loaded: None,
            loaded_model: None,
            run_text: None,
            seen_revision: u64::MAX,
            pending: VecDeque::new(),
            seed_text: DEFAULT_SEED.to_string(),
            error: None,
            told_selected: None,
            opened: None,
            saves_seen: 0,
            past: PastOptions::default(),
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

    /// File ▸ Save Run: asks the driver to write the run so far to a
    /// recording at `path`; the outcome comes back in a frame
    /// ([`LiveRun::take_saved`]).
    pub fn save_run(&mut self, doc: &Document, path: PathBuf) -> Result<(), String> {
        if self.handle.is_none() {
            return Err("Save Run: no run yet (press Run first)".into());
        }
        let source_name = doc.path.as_ref().and_then(|p| p.file_name()).map_or_else(
            || "<untitled>".to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        let diagram = self.run_text.clone().unwrap_or_else(|| doc.to_text());
        self.pending.push_back(LiveCommand::SaveRun {
            path,
            source_name,
            diagram,
        });
        self.flush();
        Ok(())
    }

    /// The outcome of a Save Run not reported yet: the status line.
    pub fn take_saved(&mut self) -> Option<Result<String, String>> {
        let frame = self.frame.as_ref()?;
        if frame.replay.saves == self.saves_seen {
            return None;
        }
        self.saves_seen = frame.replay.saves;
        Some(match frame.replay.saved.as_ref()? {
            Ok(saved) if saved.matches_live => Ok(format!(
                "Saved the run to {} (run hash {})",
                saved.path.display(),
                saved.run_hash
            )),
            Ok(saved) => Err(format!(
                "Saved the run to {} up to its last whole microsecond (run hash {}; \
                 the live run stopped between single steps)",
                saved.path.display(),
                saved.run_hash
            )),
            Err(e) => Err(e.clone()),
        })
    }

    /// File ▸ Open Run, once the recording at `path` has been replayed
    /// (off the UI thread, [`crate::live::OpenTask`]): makes it the run,
    /// paused at its end. Returns the recorded diagram's text (the
    /// document to show) or why the run cannot start.
    pub fn open_run(
        &mut self,
        opened: Opened,
        path: &Path,
        ctx: &egui::Context,
    ) -> Result<String, String> {
        let diagram = opened.diagram.clone();
        let info = OpenedRun {
            path: path.to_path_buf(),
            recorded_hash: opened.recorded_hash.clone(),
            replayed_hash: opened.replayed_hash.clone(),
            older_engine: opened.older_engine,
            stored: opened.stored.clone(),
            status: opened.status(path),
            settings: Some(OpenedSettings {
                scenario: Arc::new(opened.scenario.clone()),
                defaults_recorded: opened.defaults_recorded,
            }),
        };
        let repaint = {
            let ctx = ctx.clone();
            move || ctx.request_repaint()
        };
        let handle = LiveHandle::start_opened(opened, repaint)
            .map_err(|e| format!("cannot start the simulation: {e}"))?;
        *self = LiveRun {
            seed_text: handle.frame().seed.to_string(),
            frame: Some(handle.frame()),
            handle: Some(handle),
            opened: Some(info),
            ..LiveRun::default()
        };
        Ok(diagram)
    }

    /// After Open Run has set the document: the driver's diagram is the
    /// document's (no reload on the next poll).
    pub fn adopt(&mut self, doc: &Document) {
        if self.handle.is_some() {
            self.loaded = Some(sim_text(doc));
            self.seen_revision = doc.revision;
            if let Ok(scenario) = scenario_of(doc, &sim_text(doc)) {
                self.loaded_model = Some((doc.graph.clone(), scenario));
            }
            self.run_text = Some(doc.to_text());
        }
    }

    fn start(&mut self, doc: &Document, ctx: &egui::Context) -> Result<(), String> {
        let text = sim_text(doc);
        let scenario = scenario_of(doc, &text)?;
        let seed = self.typed_seed().unwrap_or(DEFAULT_SEED);
        let repaint = {
            let ctx = ctx.clone();
            move || ctx.request_repaint()
        };
        let graph = doc.graph.clone();
        let handle = LiveHandle::start_with_past(graph, scenario.clone(), seed, self.past, repaint)
            .map_err(|e| format!("cannot start the simulation: {e}"))?;
        self.loaded_model = Some((doc.graph.clone(), scenario));
        self.run_text = Some(doc.to_text());
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
                let added = match (&self.loaded_model, &self.loaded) {
                    (Some((graph, old)), Some(loaded)) => {
                        live_additions(graph, old, loaded, &doc.graph, &scenario)
                    }
                    _ => None,
                };
                match added {
                    // Only new consumers: they join the running system.
                    Some(faults) => {
                        for f in faults {
                            self.pending.push_back(LiveCommand::Fault(f));
                        }
                    }
                    None => {
                        // The run is no longer the recording's.
                        if let Some(o) = &mut self.opened {
                            o.settings = None;
                        }
                        self.pending.push_back(LiveCommand::Load {
                            graph: Box::new(doc.graph.clone()),
                            scenario: Box::new(scenario.clone()),
                        });
                        self.run_text = Some(doc.to_text());
                    }
                }
                self.loaded = Some(text);
                self.loaded_model = Some((doc.graph.clone(), scenario));
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

/// When the only change from the running model (`old`, `old_scenario`,
/// written as `old_text`) to `new` is one or more new consumers or
/// projections fed by a bus (with any new sinks they write to), the
/// faults that add them to the running engine as new groups, reading the
/// topics the engine would give them (they start at the oldest offset the
/// bus retains). `None` for any other edit: the run must be reloaded.
fn live_additions(
    old: &ArchGraph,
    old_scenario: &Scenario,
    old_text: &str,
    new: &ArchGraph,
    scenario: &Scenario,
) -> Option<Vec<Fault>> {
    let added: Vec<&crate::model::Component> = new
        .components()
        .filter(|c| old.id_of(&c.key).is_none())
        .collect();
    if added.is_empty()
        || old.components().any(|c| new.id_of(&c.key).is_none())
        || added
            .iter()
            .any(|c| !matches!(c.role, Role::Consumer | Role::Projection | Role::Sink))
    {
        return None;
    }
    // Without the new components the diagram, with its `%% eda:scenario`
    // lines, must be the running one. (The scenario derived from it may
    // still differ: the defaults follow the graph.)
    let mut reduced = new.clone();
    for c in &added {
        let _ = reduced.remove_component(c.id);
    }
    if write(&reduced, &Positions::new()) != old_text {
        return None;
    }
    // The engine decides what a node subscribes to: build both and compare.
    let before = Engine::new(old, old_scenario.clone(), DEFAULT_SEED).ok()?;
    let after = Engine::new(new, scenario.clone(), DEFAULT_SEED).ok()?;
    let names = |e: &Engine| {
        e.topics()
            .iter()
            .map(|t| t.name().to_string())
            .collect::<Vec<_>>()
    };
    if names(&before) != names(&after) {
        return None;
    }
    // Groups added live run as the live run's groups do (its default
    // commits, unless the diagram sets them).
    let mut live = scenario.clone();
    crate::live::live_commits(&mut live);
    let mut faults = Vec::new();
    for name in after.group_names() {
        if before.group_names().any(|g| g == name) {
            continue;
        }
        let mut topics: Vec<String> = after
            .partition_lags(name)?
            .into_iter()
            .map(|p| p.topic)
            .collect();
        topics.sort();
        topics.dedup();
        if topics.is_empty() {
            return None;
        }
        faults.push(Fault::AddGroup {
            name: name.to_string(),
            topics,
            params: live.group_params(name),
        });
    }
    let consumers = added.iter().filter(|c| c.role != Role::Sink).count();
    (faults.len() == consumers && !faults.is_empty()).then_some(faults)
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

    /// Polls until the latest frame satisfies `pred` (10 s at most).
    fn wait(run: &mut LiveRun, doc: &Document, pred: impl Fn(&Frame) -> bool) -> Arc<Frame> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            run.poll(doc);
            if let Some(f) = run.frame.clone().filter(|f| pred(f)) {
                return f;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "timed out: {:?}",
                run.error
            );
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }

    #[test]
    fn a_new_consumer_joins_the_running_system_instead_of_a_reload() {
        let doc = Document::seed();
        let mut run = LiveRun::default();
        let ctx = egui::Context::default();
        run.apply(&doc, LiveCommand::StepBy(1_000_000), &ctx);
        wait(&mut run, &doc, |f| f.now_us >= 1_000_000);

        let text = format!(
            "{}EB -->|OrderCreated| Audit[Audit Consumer]\n",
            crate::SEED_DIAGRAM
        );
        let mut edited = Document::from_text(&text, None).unwrap_or_else(|e| panic!("{e:?}"));
        while edited.revision <= doc.revision {
            edited.touch();
        }
        run.poll(&edited);
        let f = wait(&mut run, &edited, |f| {
            f.groups.iter().any(|g| g.group == "Audit")
        });
        assert!(
            f.now_us >= 1_000_000,
            "the run went on, not reloaded: {}",
            f.now_us
        );
        assert_eq!(
            f.faults.len(),
            1,
            "added by a control input: {:?}",
            f.faults
        );
        assert!(f.faults[0].refused.is_none(), "{:?}", f.faults[0]);
        // It reads OrderCreated only, and catches up.
        run.apply(&edited, LiveCommand::StepBy(2_000_000), &ctx);
        let f = wait(&mut run, &edited, |f| f.now_us >= 3_000_000);
        let audit = f.component("Audit").unwrap_or_else(|| panic!("Audit"));
        assert!(audit.events_in > 0, "{audit:?}");
        // It commits as the diagram's groups do in a live run: on the
        // 5 s timer, so nothing is committed 2 s after it joined.
        let committed: u64 = f
            .groups
            .iter()
            .find(|g| g.group == "Audit")
            .map(|g| g.partitions.iter().map(|p| p.committed).sum())
            .unwrap_or_else(|| panic!("Audit's group"));
        assert_eq!(committed, 0, "commits on the live default's timer");

        // Saved, the run replays exactly: the diagram it was built from,
        // the consumer added as a control input.
        let dir = std::env::temp_dir().join(format!("eda-run-add-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
        let path = dir.join("added.sqlite");
        run.save_run(&edited, path.clone())
            .unwrap_or_else(|e| panic!("{e}"));
        let saved = wait(&mut run, &edited, |f| f.replay.saves == 1);
        match &saved.replay.saved {
            Some(Ok(s)) => assert!(s.matches_live && s.run_hash == f.run_hash, "{s:?}"),
            other => panic!("{other:?}"),
        }
        let opened = crate::live::open_recording(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(opened.replayed_hash, f.run_hash);
        assert!(
            !opened.diagram.contains("Audit"),
            "the diagram the run was built from"
        );
        let _ = std::fs::remove_dir_all(&dir);

        // Any other edit still reloads: the run restarts at zero.
        let text =
            format!("{text}EB -->|OrderCreated| Consumer5[Late Consumer]\nConsumer1 --> Email\n");
        let mut other = Document::from_text(&text, None).unwrap_or_else(|e| panic!("{e:?}"));
        while other.revision <= edited.revision {
            other.touch();
        }
        run.poll(&other);
        let f = wait(&mut run, &other, |f| f.now_us == 0);
        assert!(f.faults.is_empty());
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
