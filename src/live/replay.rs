//! Saving the live run as a recording and opening a recording as a live
//! run: the driver's side of File ▸ Save Run / Open Run.
//!
//! Saving re-executes the run from its start with the controls the user
//! applied (the [`History`]'s control log) into an SQLite recording
//! ([`crate::record::record_history`]), on the driver thread; the outcome
//! reaches the UI in [`ReplayFrame`]. Opening replays a recording
//! ([`crate::record::Recording`]) into a [`History`] whose head is the
//! recorded run's end, checked against the recorded run hash. A recording
//! of an older engine (another random stream: [`crate::record::OlderEngine`])
//! cannot be reproduced: its diagram, seed and controls are re-run on this
//! engine unchecked, and [`Opened::older_engine`] says so.
//!
//! Opening runs off the UI thread: [`OpenTask`] replays a recording on a
//! thread of its own, with its progress (virtual time replayed of the
//! recording's length) readable at any time and a cancel flag.
//!
//! Rebuild a projection: the engine replays the group's events from its
//! event store into fresh sink states ([`crate::sim::ProjectionRebuild`]),
//! a slice per driver tick ([`ReplayState::step`]) so the UI and the
//! running simulation stay responsive, with its progress in every frame
//! ([`RebuildProgress`]); at the end this module diffs the rebuilt states
//! against the live ones as they were when it started ([`RebuildOutcome`]).
//! However long the run, the live store keeps only its recent events: the
//! rebuild then starts from the projection's checkpoint at the trim
//! position and replays the events after it, and progress and outcome say
//! so ("from a checkpoint at position P + N events").
//!
//! A live run's bus keeps the latest records of each partition
//! ([`live_scenario`]), so a consumer added mid-run reads from offset 0,
//! and its groups commit every 5 s as Kafka's auto-commit does
//! ([`live_commits`]), so a crash re-delivers what was processed since.
//! A saved run's recorded diagram carries those defaults after a
//! `%% eda:live-defaults` comment, so Open Run shows the user's diagram
//! and says the settings came from the live defaults.
//!
//! Owns no simulation rules (those are in `sim`) and no file format (that
//! is `record`); must not depend on egui.

use crate::mermaid::parse_flowchart;
use crate::model::ArchGraph;
use crate::record::{
    EventRow, MetricSample, OlderEngine, RecordError, Recording, RunInfo, SnapshotRow,
    record_history,
};
use crate::sim::{
    CommitSource, Engine, GroupParams, History, HistoryOptions, ProjectionRebuild, Retention,
    RetentionSource, SCENARIO_TAG, Scenario, SinkState, load_scenario,
};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// What the UI learns about Save Run (in every frame after it finished).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReplayFrame {
    /// Counts the saves finished, so the UI notices a new outcome.
    pub saves: u64,
    /// The last save: the file and the run hash written, or why not.
    pub saved: Option<Result<Saved, String>>,
    /// Counts the rebuilds finished, so the UI notices a new one.
    pub rebuilds: u64,
    /// The last projection rebuild and its diff.
    pub rebuild: Option<RebuildOutcome>,
    /// The projection rebuild under way, if any.
    pub rebuilding: Option<RebuildProgress>,
}

/// How far the projection rebuild under way has got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RebuildProgress {
    /// The group whose projection is rebuilt.
    pub group: String,
    /// Store events replayed so far.
    pub done: u64,
    /// Store events to replay (the store's log when the rebuild started).
    pub total: u64,
    /// Virtual time of the live state it will be compared with.
    pub at_us: u64,
    /// The store position of the checkpoint the replay starts from (0:
    /// from the first event).
    pub checkpoint: u64,
}

impl RebuildProgress {
    /// The fraction done, 0..=1 (1 for an empty log).
    pub fn fraction(&self) -> f32 {
        if self.total == 0 {
            1.0
        } else {
            (self.done as f64 / self.total as f64) as f32
        }
    }
}

/// Engine time a driver tick gives a projection rebuild.
const REBUILD_BUDGET: Duration = Duration::from_millis(4);
/// Store events replayed between clock reads.
const REBUILD_SLICE: usize = 4096;

/// The driver's Save Run / rebuild state: what frames report, and the
/// rebuild under way.
#[derive(Default)]
pub(super) struct ReplayState {
    frame: ReplayFrame,
    job: Option<RebuildJob>,
}

/// A rebuild under way: the engine's rebuild, and the live states when it
/// started (the "before" of the diff).
struct RebuildJob {
    rebuild: ProjectionRebuild,
    before: Vec<Option<SinkState>>,
    at_us: u64,
}

impl ReplayState {
    /// What frames carry.
    pub(super) fn frame(&self) -> ReplayFrame {
        let mut frame = self.frame.clone();
        frame.rebuilding = self.job.as_ref().map(|j| RebuildProgress {
            group: j.rebuild.group().to_string(),
            done: j.rebuild.done(),
            total: j.rebuild.total(),
            at_us: j.at_us,
            checkpoint: j.rebuild.checkpoint(),
        });
        frame
    }

    /// Whether a rebuild is under way (the driver then ticks).
    pub(super) fn is_busy(&self) -> bool {
        self.job.is_some()
    }

    /// Save Run finished with `saved`.
    pub(super) fn saved(&mut self, saved: Result<Saved, String>) {
        self.frame.saves += 1;
        self.frame.saved = Some(saved);
    }

    /// Starts rebuilding `group`'s projection in `engine` (the run's
    /// head), replacing any rebuild under way; a group that cannot be
    /// rebuilt has its outcome at once.
    pub(super) fn start_rebuild(&mut self, engine: &Engine, group: &str) {
        self.job = None;
        match engine.start_projection_rebuild(group) {
            Ok(rebuild) => {
                let before = rebuild
                    .clone()
                    .finish()
                    .iter()
                    .map(|(sink, _)| engine.sink_state(sink).cloned())
                    .collect();
                self.job = Some(RebuildJob {
                    rebuild,
                    before,
                    at_us: engine.now().as_us(),
                });
            }
            Err(e) => self.finished(RebuildOutcome {
                group: group.to_string(),
                at_us: engine.now().as_us(),
                checkpoint: 0,
                replayed: 0,
                result: Err(e),
            }),
        }
    }

    /// Stops the rebuild under way; its outcome says so.
    pub(super) fn cancel_rebuild(&mut self) {
        if let Some(job) = self.job.take() {
            let reason = format!(
                "cancelled after {} of {} events",
                job.rebuild.done(),
                job.rebuild.total()
            );
            self.finished(RebuildOutcome {
                group: job.rebuild.group().to_string(),
                at_us: job.at_us,
                checkpoint: job.rebuild.checkpoint(),
                replayed: job.rebuild.done(),
                result: Err(reason),
            });
        }
    }

    /// The run was replaced (reset, new diagram): a rebuild under way
    /// has nothing left to rebuild from.
    pub(super) fn forget_rebuild(&mut self) {
        self.job = None;
    }

    /// One tick's share of the rebuild under way, reading the store in
    /// `engine` (the run's head): at most [`REBUILD_BUDGET`] of work.
    pub(super) fn step(&mut self, engine: &Engine) {
        self.step_for(engine, REBUILD_BUDGET, REBUILD_SLICE);
    }

    /// Replays slices of `slice` events until `budget` is spent (at least one).
    fn step_for(&mut self, engine: &Engine, budget: Duration, slice: usize) {
        let Some(job) = &mut self.job else {
            return;
        };
        let started = Instant::now();
        loop {
            match job.rebuild.advance(engine, slice) {
                Ok(false) if started.elapsed() < budget => continue,
                Ok(false) => return,
                Ok(true) => break,
                Err(e) => {
                    let (group, at_us) = (job.rebuild.group().to_string(), job.at_us);
                    let (checkpoint, replayed) = (job.rebuild.checkpoint(), job.rebuild.done());
                    self.job = None;
                    self.finished(RebuildOutcome {
                        group,
                        at_us,
                        checkpoint,
                        replayed,
                        result: Err(e),
                    });
                    return;
                }
            }
        }
        let Some(job) = self.job.take() else {
            return;
        };
        let group = job.rebuild.group().to_string();
        let (checkpoint, replayed) = (job.rebuild.checkpoint(), job.rebuild.done());
        let diffs = job
            .rebuild
            .finish()
            .into_iter()
            .zip(job.before)
            .map(|((sink, after), before)| diff_sink(engine, sink, before.as_ref(), &after))
            .collect();
        self.finished(RebuildOutcome {
            group,
            at_us: job.at_us,
            checkpoint,
            replayed,
            result: Ok(diffs),
        });
    }

    fn finished(&mut self, outcome: RebuildOutcome) {
        self.frame.rebuild = Some(outcome);
        self.frame.rebuilds += 1;
    }
}

/// A recording written by Save Run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Saved {
    /// The file.
    pub path: PathBuf,
    /// The run hash recorded at its end.
    pub run_hash: String,
    /// Whether it equals the live run's hash (it does unless the run was
    /// left between the events of one microsecond by single steps).
    pub matches_live: bool,
}

/// Writes the live run in `history` (built from `graph` and `scenario`)
/// to a recording at `path`; `diagram` is the document's text, stored so
/// that Open Run rebuilds the same run.
pub fn save(
    history: &History,
    graph: &ArchGraph,
    scenario: &Scenario,
    path: &Path,
    source_name: &str,
    diagram: &str,
) -> Result<Saved, String> {
    let with_defaults = diagram_with_live_defaults(diagram, graph, scenario)?;
    let diagram = with_defaults.as_str();
    let seed = history.head().seed();
    let fresh = Engine::new(graph, scenario.clone(), seed)
        .map_err(|e| format!("cannot rebuild the run to save it: {e}"))?;
    let info = RunInfo {
        source_name,
        diagram,
        duration_us: 0,
    };
    let (_, run_hash) =
        record_history(path, info, fresh, history).map_err(|e| format!("Save Run: {e}"))?;
    let live = format!("{:016x}", history.head().run_hash());
    Ok(Saved {
        path: path.to_path_buf(),
        matches_live: run_hash == live,
        run_hash,
    })
}

/// The time between a live run's offset commits, unless the diagram sets
/// them: Kafka's default auto-commit (`enable.auto.commit` with
/// `auto.commit.interval.ms` = 5000), so a crash re-delivers up to 5 s of
/// processed records, as a real consumer does.
pub const LIVE_COMMIT_INTERVAL_US: u64 = 5_000_000;

/// The scenario a live run of `graph` uses: `scenario` with the live
/// defaults where it leaves a setting at the headless default.
///
/// - Retention: the live default ([`Retention::for_live_run`]), so a
///   consumer added mid-run reads from offset 0 while memory stays bounded
///   at any speed. A retention the diagram writes — even `until-consumed`
///   — is kept ([`RetentionSource::Diagram`]).
/// - Commits: every [`LIVE_COMMIT_INTERVAL_US`] on a timer
///   ([`live_commits`]).
pub fn live_scenario(graph: &ArchGraph, mut scenario: Scenario) -> Scenario {
    live_commits(&mut scenario);
    if scenario.retention != Retention::UntilConsumed
        || scenario.retention_source != RetentionSource::Default
    {
        return scenario;
    }
    // The topics come from the engine's wiring: count them on a probe.
    // A scenario the engine refuses is left as it is (its error shows).
    if let Ok(probe) = Engine::new(graph, scenario.clone(), 0) {
        let partitions: u64 = probe
            .topics()
            .iter()
            .map(|t| t.partitions().len() as u64)
            .sum();
        scenario.retention = scenario.retention.for_live_run(partitions);
        scenario.retention_source = RetentionSource::LiveDefault;
    }
    scenario
}

/// Gives the groups of `scenario` whose commit setting nobody chose (the
/// diagram writes no `commit-every` for them, nor for `*`, and code left
/// the headless default: every record and on catching up) the live
/// default: a commit every [`LIVE_COMMIT_INTERVAL_US`] on a timer, marked
/// [`CommitSource::LiveDefault`]. Idempotent.
///
/// Why: committing after every record means a crash re-delivers nothing
/// processed, so the at-least-once duplicates a real consumer shows after
/// a crash never appear in a live run.
pub fn live_commits(scenario: &mut Scenario) {
    let unchosen = |p: &GroupParams, source: Option<CommitSource>| {
        source != Some(CommitSource::Diagram)
            && p.commit_interval_us == 0
            && p.commit_every == GroupParams::default().commit_every
    };
    let star = scenario.commit_sources.get("*").copied();
    if star == Some(CommitSource::LiveDefault) {
        return;
    }
    if unchosen(&scenario.default_group, star) {
        scenario.default_group.commit_interval_us = LIVE_COMMIT_INTERVAL_US;
        scenario
            .commit_sources
            .insert("*".into(), CommitSource::LiveDefault);
    }
    let Scenario {
        groups,
        commit_sources,
        ..
    } = scenario;
    for (name, p) in groups.iter_mut() {
        let own = commit_sources.get(name.as_str()).copied();
        // A group under a `*.commit-every` line was chosen with it.
        let source = own.or(star.filter(|s| *s == CommitSource::Diagram));
        if unchosen(p, source) {
            p.commit_interval_us = LIVE_COMMIT_INTERVAL_US;
            commit_sources.insert(name.clone(), CommitSource::LiveDefault);
        } else if source.is_none() {
            // Set in code: its own, not `*`'s live default.
            commit_sources.insert(name.clone(), CommitSource::Default);
        }
    }
}

/// The comment a recording's diagram carries before the lines the live
/// run's defaults add to it ([`diagram_with_live_defaults`]): what follows
/// it is not the user's diagram, and Open Run says so.
const LIVE_DEFAULTS_MARK: &str = "%% eda:live-defaults";

/// `diagram` as a recording stores it: when the live run uses defaults
/// the text does not give (retention, commit interval), their
/// `%% eda:scenario` lines are appended after [`LIVE_DEFAULTS_MARK`], so
/// that opening the recording derives the run's scenario — and knows those
/// settings came from the live defaults, not from the diagram.
fn diagram_with_live_defaults(
    diagram: &str,
    graph: &ArchGraph,
    scenario: &Scenario,
) -> Result<String, String> {
    let written = load_scenario(diagram, graph).map_err(|d| format!("Save Run: {}", d.message))?;
    let mut lines = Vec::new();
    if written.retention != scenario.retention {
        lines.push(format!("retention = {}", scenario.retention));
    }
    if scenario.commit_sources.get("*") == Some(&CommitSource::LiveDefault) {
        let us = scenario.default_group.commit_interval_us;
        let every = if us.is_multiple_of(1_000_000) {
            format!("{}s", us / 1_000_000)
        } else {
            format!("{us}us")
        };
        lines.push(format!("*.commit-every = {every}"));
    }
    if lines.is_empty() {
        return Ok(diagram.to_string());
    }
    let mut text = diagram.to_string();
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(LIVE_DEFAULTS_MARK);
    text.push_str(" (the live run's defaults, not the diagram's)\n");
    for line in lines {
        text.push_str(&format!("%% {SCENARIO_TAG} {line}\n"));
    }
    Ok(text)
}

/// A recorded diagram split into the user's diagram and whether the live
/// run's defaults were appended to it ([`diagram_with_live_defaults`]).
fn split_live_defaults(recorded: &str) -> (&str, bool) {
    let at_line_start = |i: usize| i == 0 || recorded[..i].ends_with('\n');
    let mark = recorded
        .match_indices(LIVE_DEFAULTS_MARK)
        .map(|(i, _)| i)
        .find(|&i| at_line_start(i));
    match mark {
        Some(i) => (&recorded[..i], true),
        None => (recorded, false),
    }
}

/// Marks the settings of `scenario` (read from a whole recorded text)
/// that the appended live-default lines gave, and `user` (the user's
/// diagram alone) does not, as the live run's defaults.
fn mark_live_defaults(scenario: &mut Scenario, user: &Scenario) {
    if scenario.retention_source != user.retention_source {
        scenario.retention_source = RetentionSource::LiveDefault;
    }
    let star = |s: &Scenario| s.commit_sources.get("*").copied();
    if star(scenario) != star(user) {
        scenario
            .commit_sources
            .insert("*".into(), CommitSource::LiveDefault);
    }
}

/// A recording replayed, ready to become a live run.
pub struct Opened {
    /// The recorded diagram's text.
    pub diagram: String,
    /// Its file name when recorded.
    pub source_name: String,
    /// The diagram's model.
    pub graph: ArchGraph,
    /// Its scenario.
    pub scenario: Scenario,
    /// The replayed run, its head at the recording's end.
    pub history: History,
    /// The run hash the file records (at its end, or its last snapshot
    /// for an unfinished recording).
    pub recorded_hash: Option<String>,
    /// The replay's run hash at its end.
    pub replayed_hash: String,
    /// Set when the recording was made by an older engine: the history is
    /// this engine's re-run of its diagram, seed and controls, not the
    /// recorded run.
    pub older_engine: Option<OlderEngine>,
    /// What such a recording stores, read for the designer to show as
    /// stored (`None` for a recording this engine reproduces).
    pub stored: Option<Arc<StoredRun>>,
    /// Whether the recording says which of its settings the live run's
    /// defaults gave: it carries [`LIVE_DEFAULTS_MARK`], or was written
    /// since recordings carry the engine's stream (schema version 5, whose
    /// Save Run always marks them). Not so for a recording saved before the
    /// mark existed: its live run's default retention was appended as a
    /// plain `retention` line, indistinguishable from the diagram's, and
    /// its groups committed after every record (live runs had no commit
    /// timer then).
    pub defaults_recorded: bool,
}

/// Most snapshots of a recording of an older engine kept for the
/// designer (evenly thinned beyond it, the last always kept).
pub const MAX_STORED_SNAPSHOTS: usize = 4_096;
/// Stored events of such a recording kept for the designer: its last ones.
pub const STORED_EVENTS_SHOWN: usize = 50;

/// What a recording of an older engine stores, read once when it is
/// opened, for the designer to show as stored (a bounded part of it).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRun {
    /// Events stored.
    pub events: u64,
    /// The recorded run hash at its end (complete runs).
    pub run_hash: Option<String>,
    /// Its snapshots in time order (at most [`MAX_STORED_SNAPSHOTS`]),
    /// each with the metric samples stored with it.
    pub snapshots: Vec<(SnapshotRow, Vec<MetricSample>)>,
    /// Its last stored events (at most [`STORED_EVENTS_SHOWN`]).
    pub last_events: Vec<EventRow>,
}

impl StoredRun {
    /// Reads what `rec` stores.
    fn read(rec: &Recording) -> Result<StoredRun, RecordError> {
        let all = rec.snapshots()?;
        let n = all.len();
        // Evenly thinned: the last of each of MAX_STORED_SNAPSHOTS shares.
        let keep = |i: usize| {
            n <= MAX_STORED_SNAPSHOTS
                || i + 1 == n
                || (i * MAX_STORED_SNAPSHOTS / n) != ((i + 1) * MAX_STORED_SNAPSHOTS / n)
        };
        let mut samples = rec.metric_samples(usize::MAX)?.into_iter().peekable();
        let mut snapshots = Vec::new();
        for (i, row) in all.into_iter().enumerate() {
            let mut at = Vec::new();
            while let Some(m) = samples.next_if(|m| m.time_us <= row.time_us) {
                if m.time_us == row.time_us {
                    at.push(m);
                }
            }
            if keep(i) {
                snapshots.push((row, at));
            }
        }
        let events = rec.event_count()?;
        let shown = STORED_EVENTS_SHOWN as u64;
        Ok(StoredRun {
            events,
            run_hash: rec.run().run_hash.clone(),
            snapshots,
            last_events: rec.events(events.saturating_sub(shown), STORED_EVENTS_SHOWN)?,
        })
    }

    /// The stored snapshot at or before `t_us` (the first one before any).
    pub fn snapshot_at(&self, t_us: u64) -> Option<&(SnapshotRow, Vec<MetricSample>)> {
        let i = self.snapshots.partition_point(|(s, _)| s.time_us <= t_us);
        self.snapshots.get(i.saturating_sub(1))
    }
}

impl Opened {
    /// What the status bar says of the opened run, from its file name.
    pub fn status(&self, path: &Path) -> String {
        match (&self.older_engine, &self.recorded_hash) {
            (Some(older), recorded) => format!(
                "Opened run {}: {older} in its Recorded run window (recorded run hash {}); \
                 the run on the canvas is this engine's re-run of its diagram, seed and \
                 controls",
                path.display(),
                recorded.as_deref().unwrap_or("none")
            ),
            (None, Some(h)) if *h == self.replayed_hash => {
                format!("Opened run {} (run hash {h})", path.display())
            }
            (None, _) => format!(
                "Opened run {}, but its run hash does not match",
                path.display()
            ),
        }
    }
}

impl std::fmt::Debug for Opened {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Opened")
            .field("source_name", &self.source_name)
            .field("recorded_hash", &self.recorded_hash)
            .field("replayed_hash", &self.replayed_hash)
            .field("older_engine", &self.older_engine)
            .field("stored", &self.stored.as_ref().map(|s| s.snapshots.len()))
            .finish_non_exhaustive()
    }
}

/// Opens and replays the recording at `path`. Every wrong file (missing,
/// not SQLite, foreign, damaged, diverging) is an error that says so.
pub fn open(path: &Path) -> Result<Opened, RecordError> {
    open_with_progress(path, |_, _| true)
}

/// As [`open`], calling `progress(done_us, total_us)` as the replay goes
/// (virtual time replayed, the recording's length); it returns `false` to
/// cancel (an error saying so).
pub fn open_with_progress(
    path: &Path,
    progress: impl FnMut(u64, u64) -> bool,
) -> Result<Opened, RecordError> {
    open_watched(path, |_, _| true, progress)
}

/// As [`open_with_progress`], with the whole-file check (seconds on a
/// large file, before the replay starts) watched too: `check(pages,
/// fraction)` is called every few milliseconds of it with the file's page
/// count and the part checked (0 to 1, never decreasing), and returns
/// `false` to cancel.
pub fn open_watched(
    path: &Path,
    mut check: impl FnMut(u64, f32) -> bool + Send + 'static,
    progress: impl FnMut(u64, u64) -> bool,
) -> Result<Opened, RecordError> {
    let mut rec = Recording::open(path)?;
    let mut older_engine = rec.older_engine();
    let built = rec.rebuild(false);
    if let Err(RecordError::OlderEngine { engine, .. }) = &built {
        older_engine = Some(*engine);
    }
    let fresh = |rec: &Recording| -> Result<Engine, RecordError> {
        let mut engine = rec.rebuild_unchecked()?;
        // As a live run's engine: the edges' dots need the activity trace.
        engine.set_activity(true);
        Ok(engine)
    };
    let pages = rec.page_count()?;
    rec.verify_watched(move |fraction| check(pages, fraction))?;
    let mut progress = progress;
    let replayed = match (older_engine, built) {
        (None, Ok(mut engine)) => {
            engine.set_activity(true);
            rec.replay_checked(engine, HistoryOptions::default(), &mut progress)
                .map(|(history, verified)| (history, verified.run_hash))
        }
        (None, Err(e)) => Err(e),
        (Some(older), _) => Err(RecordError::OlderEngine {
            path: path.to_path_buf(),
            engine: older,
        }),
    };
    let (history, replayed_hash) = match replayed {
        Ok(done) => done,
        // Not reproducible here: this engine's run of the same inputs.
        Err(RecordError::OlderEngine { engine, .. }) => {
            older_engine = Some(engine);
            let history = rec.rerun(fresh(&rec)?, HistoryOptions::default(), &mut progress)?;
            let hash = format!("{:016x}", history.head().run_hash());
            (history, hash)
        }
        Err(e) => return Err(e),
    };
    let run = rec.run();
    let fail = |reason: String| RecordError::Replay {
        path: path.to_path_buf(),
        reason,
    };
    // `replay` parsed both already; this cannot fail where it did not.
    let chart = parse_flowchart(&run.diagram)
        .map_err(|_| fail("the recorded diagram does not parse".into()))?;
    let graph = ArchGraph::from_flowchart(&chart);
    let mut scenario = load_scenario(&run.diagram, &graph)
        .map_err(|d| fail(format!("scenario: {}", d.message)))?;
    // The document shown is the user's diagram; the settings the live
    // run's defaults gave are said to come from them.
    let (diagram, live_defaults) = split_live_defaults(&run.diagram);
    if live_defaults && let Ok(user) = load_scenario(diagram, &graph) {
        mark_live_defaults(&mut scenario, &user);
    }
    let defaults_recorded = live_defaults || run.engine_stream.is_some();
    let recorded_hash = match &run.run_hash {
        Some(h) => Some(h.clone()),
        None => rec.snapshots()?.last().map(|s| s.run_hash.clone()),
    };
    Ok(Opened {
        diagram: diagram.to_string(),
        source_name: run.source_name.clone(),
        graph,
        scenario,
        history,
        recorded_hash,
        replayed_hash,
        stored: match older_engine {
            Some(_) => Some(Arc::new(StoredRun::read(&rec)?)),
            None => None,
        },
        older_engine,
        defaults_recorded,
    })
}

/// A recording being opened and replayed on a thread of its own
/// (File ▸ Open Run), so the window stays responsive however long the
/// run. Dropping it cancels the replay.
pub struct OpenTask {
    path: PathBuf,
    shared: Arc<OpenShared>,
    result: std::sync::mpsc::Receiver<Result<Opened, String>>,
}

/// What the opening thread and its owner share.
#[derive(Default)]
struct OpenShared {
    done_us: AtomicU64,
    total_us: AtomicU64,
    cancel: AtomicBool,
    /// Whether the file's pages are being checked (before the replay).
    checking: AtomicBool,
    /// Ticks of the check so far, the part checked (an `f32`'s bits)
    /// and the file's pages.
    check_ticks: AtomicU64,
    check_fraction: AtomicU32,
    pages: AtomicU64,
}

/// How far the whole-file check of a recording being opened has got
/// ([`OpenTask::checking`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CheckProgress {
    /// Pages in the file.
    pub pages: u64,
    /// Times the check reported its progress so far.
    pub ticks: u64,
    /// The part checked (0 to 1, never decreasing; the file's tables by
    /// their steps, its engine images by their bytes).
    pub fraction: f32,
}

impl OpenTask {
    /// Starts opening the recording at `path`; `wake` is called as the
    /// replay progresses and when it ends (to repaint the UI).
    pub fn start(path: &Path, wake: impl Fn() + Send + 'static) -> OpenTask {
        let (tx, result) = std::sync::mpsc::channel();
        let shared = Arc::new(OpenShared::default());
        let task = OpenTask {
            path: path.to_path_buf(),
            shared: shared.clone(),
            result,
        };
        let owned = path.to_path_buf();
        let error_tx = tx.clone();
        let spawned = std::thread::Builder::new()
            .name("eda-open-run".into())
            .spawn(move || {
                // Shared by the check's tick (which must be `Send + 'static`)
                // and the replay's progress.
                let wake: Arc<std::sync::Mutex<Box<dyn Fn() + Send>>> =
                    Arc::new(std::sync::Mutex::new(Box::new(wake)));
                let ping = |wake: &Arc<std::sync::Mutex<Box<dyn Fn() + Send>>>| {
                    if let Ok(w) = wake.lock() {
                        w();
                    }
                };
                let (check_shared, check_wake) = (shared.clone(), wake.clone());
                let check = move |pages: u64, fraction: f32| {
                    check_shared.pages.store(pages, Ordering::Relaxed);
                    check_shared
                        .check_fraction
                        .store(fraction.to_bits(), Ordering::Relaxed);
                    check_shared.check_ticks.fetch_add(1, Ordering::Relaxed);
                    check_shared.checking.store(true, Ordering::Relaxed);
                    ping(&check_wake);
                    !check_shared.cancel.load(Ordering::Relaxed)
                };
                let opened = open_watched(&owned, check, |done, total| {
                    shared.checking.store(false, Ordering::Relaxed);
                    shared.done_us.store(done, Ordering::Relaxed);
                    shared.total_us.store(total, Ordering::Relaxed);
                    ping(&wake);
                    !shared.cancel.load(Ordering::Relaxed)
                });
                // The task may be gone (cancelled): nothing to tell then.
                let _ = tx.send(opened.map_err(|e| e.to_string()));
                ping(&wake);
            });
        if let Err(e) = spawned {
            let _ = error_tx.send(Err(format!("cannot start opening the run: {e}")));
        }
        task
    }

    /// The recording being opened.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Virtual time replayed so far and the recording's length (µs); the
    /// length is 0 until the file has been read.
    pub fn progress(&self) -> (u64, u64) {
        (
            self.shared.done_us.load(Ordering::Relaxed),
            self.shared.total_us.load(Ordering::Relaxed),
        )
    }

    /// How far the check of the file's pages has got, while it runs
    /// (before the replay; `None` before and after it).
    pub fn checking(&self) -> Option<CheckProgress> {
        if !self.shared.checking.load(Ordering::Relaxed) {
            return None;
        }
        Some(CheckProgress {
            pages: self.shared.pages.load(Ordering::Relaxed),
            ticks: self.shared.check_ticks.load(Ordering::Relaxed),
            fraction: f32::from_bits(self.shared.check_fraction.load(Ordering::Relaxed)),
        })
    }

    /// Asks the replay to stop; [`OpenTask::poll`] then reports it cancelled.
    pub fn cancel(&self) {
        self.shared.cancel.store(true, Ordering::Relaxed);
    }

    /// The outcome, once the replay has ended (the error says why a file
    /// cannot be opened).
    pub fn poll(&self) -> Option<Result<Opened, String>> {
        match self.result.try_recv() {
            Ok(outcome) => Some(outcome),
            Err(std::sync::mpsc::TryRecvError::Empty) => None,
            Err(std::sync::mpsc::TryRecvError::Disconnected) => Some(Err(format!(
                "{}: the replay stopped unexpectedly",
                self.path.display()
            ))),
        }
    }
}

impl Drop for OpenTask {
    fn drop(&mut self) {
        self.cancel();
    }
}

/// Rows of a rebuild's diff kept for the window (the counts are exact).
pub const MAX_DIFF_ROWS: usize = 50;

/// A projection rebuilt from its event store and compared with the live
/// state ([`super::Command::RebuildProjection`]).
#[derive(Debug, Clone, PartialEq)]
pub struct RebuildOutcome {
    /// The group whose projection was rebuilt.
    pub group: String,
    /// Virtual time of the state compared.
    pub at_us: u64,
    /// The store position of the checkpoint the replay started from (0:
    /// the whole store was replayed).
    pub checkpoint: u64,
    /// Store events replayed after the checkpoint.
    pub replayed: u64,
    /// Per sink the group writes to, the differences; or why the engine
    /// could not rebuild it.
    pub result: Result<Vec<SinkDiff>, String>,
}

/// One sink's state before (live) and after (rebuilt).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SinkDiff {
    /// The sink's Mermaid id.
    pub sink: String,
    /// Whether the rebuilt state equals the live one exactly.
    pub identical: bool,
    /// Rows only the rebuilt state has.
    pub added: u64,
    /// Rows both have with different values.
    pub changed: u64,
    /// Rows only the live state has.
    pub removed: u64,
    /// The first [`MAX_DIFF_ROWS`] differing rows.
    pub rows: Vec<DiffRow>,
}

/// A differing row: its key and its value before and after ("" = absent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffRow {
    /// What the row is (`sku 17`, `orders_by_status.shipped`).
    pub key: String,
    /// The live value.
    pub before: String,
    /// The rebuilt value.
    pub after: String,
}

fn diff_sink(
    engine: &Engine,
    sink: String,
    before: Option<&SinkState>,
    after: &SinkState,
) -> SinkDiff {
    let identical = before == Some(after);
    let (old, new) = (
        before.map(|b| rows_of(engine, b)).unwrap_or_default(),
        rows_of(engine, after),
    );
    let mut d = SinkDiff {
        sink,
        identical,
        added: 0,
        changed: 0,
        removed: 0,
        rows: Vec::new(),
    };
    let mut push = |key: &String, b: Option<&String>, a: Option<&String>| {
        if d.rows.len() < MAX_DIFF_ROWS {
            d.rows.push(DiffRow {
                key: key.clone(),
                before: b.cloned().unwrap_or_default(),
                after: a.cloned().unwrap_or_default(),
            });
        }
    };
    for (k, a) in &new {
        match old.get(k) {
            None => {
                d.added += 1;
                push(k, None, Some(a));
            }
            Some(b) if b != a => {
                d.changed += 1;
                push(k, Some(b), Some(a));
            }
            Some(_) => {}
        }
    }
    for (k, b) in &old {
        if !new.contains_key(k) {
            d.removed += 1;
            push(k, Some(b), None);
        }
    }
    d
}

/// A sink's state as keyed rows: every sku's stock for an inventory, the
/// leaves of the sink's report (counts per status, type, channel, …)
/// for the others.
fn rows_of(engine: &Engine, state: &SinkState) -> BTreeMap<String, String> {
    let mut rows = BTreeMap::new();
    if let SinkState::Inventory(inv) = state {
        for (sku, stock) in inv.lowest(inv.skus()) {
            rows.insert(format!("sku {sku:06}"), stock.to_string());
        }
        return rows;
    }
    let topics = engine.topics();
    let name = |t: u32| {
        topics
            .get(t as usize)
            .map_or_else(|| t.to_string(), |x| x.name().to_string())
    };
    if let Ok(json) = serde_json::to_value(state.summary(&name)) {
        flatten("", &json, &mut rows);
    }
    rows
}

fn flatten(prefix: &str, v: &serde_json::Value, rows: &mut BTreeMap<String, String>) {
    let join = |k: &str| {
        if prefix.is_empty() {
            k.to_string()
        } else {
            format!("{prefix}.{k}")
        }
    };
    match v {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                flatten(&join(k), v, rows);
            }
        }
        serde_json::Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                flatten(&join(&i.to_string()), v, rows);
            }
        }
        leaf => {
            rows.insert(prefix.to_string(), leaf.to_string());
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::sim::{Fault, VirtualTime};

    /// Rebuilds `group`'s projection in `engine` from its event store in one
    /// go and diffs it against the live sink states. The engine is not changed.
    fn rebuild(engine: &Engine, group: &str) -> RebuildOutcome {
        let mut state = ReplayState::default();
        state.start_rebuild(engine, group);
        state.step_for(engine, Duration::MAX, usize::MAX);
        state.frame.rebuild.unwrap_or_else(|| RebuildOutcome {
            group: group.to_string(),
            at_us: engine.now().as_us(),
            checkpoint: 0,
            replayed: 0,
            result: Err("the rebuild did not finish".into()),
        })
    }

    /// Saves `h` to `run.sqlite` in a fresh scratch directory named after
    /// `name`: (the directory, the file, what Save Run said).
    fn save_scratch(
        h: &History,
        graph: &ArchGraph,
        scenario: &Scenario,
        name: &str,
    ) -> (PathBuf, PathBuf, Saved) {
        let dir = std::env::temp_dir().join(format!("eda-live-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("run.sqlite");
        let saved = save(h, graph, scenario, &path, "seed.mmd", crate::SEED_DIAGRAM).unwrap();
        (dir, path, saved)
    }

    fn seed_run() -> (ArchGraph, Scenario) {
        let text = crate::SEED_DIAGRAM;
        let graph = ArchGraph::from_flowchart(&parse_flowchart(text).unwrap());
        let scenario = load_scenario(text, &graph).unwrap();
        (graph, scenario)
    }

    #[test]
    fn a_saved_run_opens_at_its_end_with_the_same_hash_and_controls() {
        let (graph, scenario) = seed_run();
        let engine = Engine::new(&graph, scenario.clone(), 9).unwrap();
        let group = engine.group_names().next().unwrap().to_string();
        let mut h = History::new(engine, HistoryOptions::default());
        h.run_until(VirtualTime::from_us(1_200_000));
        h.apply(Fault::ResetToOffset {
            group: group.clone(),
            offset: 0,
        })
        .unwrap();
        h.run_until(VirtualTime::from_us(2_000_000));
        let (dir, path, saved) = save_scratch(&h, &graph, &scenario, "replay");
        assert!(saved.matches_live);

        let opened = open(&path).unwrap();
        assert_eq!(
            opened.recorded_hash.as_deref(),
            Some(saved.run_hash.as_str())
        );
        assert_eq!(opened.replayed_hash, saved.run_hash);
        assert_eq!(opened.history.head().now(), h.head().now());
        assert_eq!(opened.history.controls(), h.controls());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_rebuild_of_an_untouched_projection_is_identical_and_a_lost_one_differs() {
        let (graph, scenario) = seed_run();
        let mut engine = Engine::new(&graph, scenario, 3).unwrap();
        engine.run_until(VirtualTime::from_us(2_000_000));
        let groups: Vec<String> = engine.group_names().map(str::to_string).collect();
        let rebuilt: Vec<RebuildOutcome> = groups.iter().map(|g| rebuild(&engine, g)).collect();
        let ok: Vec<&RebuildOutcome> = rebuilt.iter().filter(|r| r.result.is_ok()).collect();
        assert!(
            !ok.is_empty(),
            "some group of the seed is a projection: {rebuilt:?}"
        );
        for r in &rebuilt {
            if let Ok(sinks) = &r.result {
                for d in sinks {
                    // In flight events may still be missing from the live state.
                    assert_eq!(d.removed, 0, "{}: {d:?}", r.group);
                }
            }
        }
        // Against an empty state (what a lost projection would rebuild
        // to), every live row is reported removed.
        let sink = match &ok[0].result {
            Ok(sinks) => sinks[0].sink.clone(),
            Err(e) => panic!("{e}"),
        };
        let live = engine.sink_state(&sink).unwrap();
        let empty = SinkState::new(live.kind());
        let d = diff_sink(&engine, sink.clone(), Some(live), &empty);
        assert!(!d.identical);
        assert_eq!(d.removed as usize, rows_of(&engine, live).len(), "{d:?}");
        assert!(d.removed > 0 && d.rows.len() <= MAX_DIFF_ROWS);
        let d = diff_sink(&engine, sink, Some(&empty), live);
        assert_eq!(
            (d.added, d.removed),
            (rows_of(&engine, live).len() as u64, 0)
        );
    }

    /// A seed engine run to `until_us` and a group whose projection can
    /// be rebuilt.
    fn rebuildable(until_us: u64) -> (Engine, String) {
        let (graph, scenario) = seed_run();
        let mut engine = Engine::new(&graph, scenario, 3).unwrap();
        engine.run_until(VirtualTime::from_us(until_us));
        let group = engine
            .group_names()
            .find(|g| engine.start_projection_rebuild(g).is_ok())
            .unwrap()
            .to_string();
        (engine, group)
    }

    #[test]
    fn a_rebuild_in_ticks_reports_progress_then_the_same_diff_as_in_one_go() {
        let (mut engine, group) = rebuildable(2_000_000);
        let whole = rebuild(&engine, &group);
        let mut state = ReplayState::default();
        state.start_rebuild(&engine, &group);
        // The run goes on between ticks; the diff is of the moment it started.
        engine.run_until(VirtualTime::from_us(2_300_000));
        let mut seen = Vec::new();
        while state.is_busy() {
            let p = state.frame().rebuilding.unwrap();
            assert_eq!((p.group.as_str(), p.at_us), (group.as_str(), 2_000_000));
            seen.push((p.done, p.total));
            state.step_for(&engine, Duration::ZERO, 50);
        }
        assert!(seen.len() > 3, "several ticks: {seen:?}");
        assert!(seen.windows(2).all(|w| w[0].0 < w[1].0), "{seen:?}");
        let frame = state.frame();
        assert_eq!(frame.rebuilds, 1);
        assert!(frame.rebuilding.is_none());
        assert_eq!(frame.rebuild, Some(whole));
    }

    #[test]
    fn a_cancelled_rebuild_says_how_far_it_got() {
        let (engine, group) = rebuildable(1_000_000);
        let mut state = ReplayState::default();
        state.start_rebuild(&engine, &group);
        state.step_for(&engine, Duration::ZERO, 10);
        state.cancel_rebuild();
        let frame = state.frame();
        assert!(frame.rebuilding.is_none());
        let outcome = frame.rebuild.unwrap();
        let err = outcome.result.unwrap_err();
        assert!(err.starts_with("cancelled after 10 of "), "{err}");
        assert_eq!(frame.rebuilds, 1);
    }

    #[test]
    fn opening_reports_progress_and_can_be_cancelled() {
        let (graph, scenario) = seed_run();
        let engine = Engine::new(&graph, scenario.clone(), 4).unwrap();
        let mut h = History::new(engine, HistoryOptions::default());
        h.run_until(VirtualTime::from_us(4_000_000));
        let (dir, path, _) = save_scratch(&h, &graph, &scenario, "progress");

        let mut calls = Vec::new();
        let opened = open_with_progress(&path, |done, total| {
            calls.push((done, total));
            true
        })
        .unwrap();
        assert_eq!(opened.history.head().now(), h.head().now());
        assert!(calls.len() >= 3, "{calls:?}");
        assert!(
            calls.iter().all(|&(d, t)| t == 4_000_000 && d <= t),
            "{calls:?}"
        );
        assert!(calls.windows(2).all(|w| w[0].0 <= w[1].0), "{calls:?}");

        let mut n = 0;
        let err = open_with_progress(&path, |_, _| {
            n += 1;
            n < 2
        })
        .unwrap_err();
        assert!(err.to_string().contains("cancelled"), "{err}");

        // On its own thread: the outcome arrives by polling.
        let task = OpenTask::start(&path, || {});
        let deadline = Instant::now() + Duration::from_secs(30);
        let outcome = loop {
            if let Some(outcome) = task.poll() {
                break outcome;
            }
            assert!(Instant::now() < deadline, "the open never ended");
            std::thread::sleep(Duration::from_millis(5));
        };
        assert_eq!(
            outcome.unwrap().replayed_hash,
            format!("{:016x}", h.head().run_hash())
        );
        assert_eq!(task.progress().1, 4_000_000);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_group_without_a_projection_says_why() {
        let (graph, scenario) = seed_run();
        let engine = Engine::new(&graph, scenario, 3).unwrap();
        let r = rebuild(&engine, "NoSuchGroup");
        assert!(r.result.is_err());
    }

    #[test]
    fn a_file_that_is_not_a_recording_is_an_error() {
        let dir = std::env::temp_dir().join(format!("eda-live-notrec-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("junk.sqlite");
        std::fs::write(&path, b"definitely not sqlite").unwrap();
        let err = open(&path).unwrap_err();
        assert!(
            err.to_string().contains("not an eda-studio recording"),
            "{err}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A live run far past the point where its store log is trimmed: the
    /// rebuild starts from a checkpoint and equals a rebuild of the same
    /// run whose log was never trimmed.
    #[test]
    fn a_rebuild_after_the_live_log_was_trimmed_starts_from_a_checkpoint() {
        let (graph, scenario) = seed_run();
        let scenario = live_scenario(&graph, scenario);
        let mut engine = Engine::new(&graph, scenario.clone(), 4).unwrap();
        engine.set_store_keep_latest(true);
        // The live history's window, scaled down: 4 snapshots 1 s apart.
        let options = HistoryOptions {
            max_snapshots: 4,
            ..HistoryOptions::default()
        };
        let mut h = History::sliding(engine, options, 1_000_000);
        h.run_until(crate::sim::VirtualTime::from_secs(12));
        let store = h.head().event_store("ES").unwrap();
        assert!(store.log_trimmed() > 2_000, "{}", store.log_trimmed());

        let mut untrimmed = Engine::new(&graph, scenario, 4).unwrap();
        untrimmed.run_until(crate::sim::VirtualTime::from_secs(12));
        assert_eq!(untrimmed.run_hash(), h.head().run_hash());

        let mut state = ReplayState::default();
        state.start_rebuild(h.head(), "ReadModel");
        let progress = state.frame().rebuilding.unwrap();
        assert_eq!(progress.checkpoint, store.log_trimmed() as u64);
        assert_eq!(progress.total, store.log_len() as u64);
        // A slice at a time while the run goes on and trims again.
        state.step_for(h.head(), Duration::ZERO, 100);
        h.run_until(crate::sim::VirtualTime::from_secs(15));
        while state.is_busy() {
            state.step_for(h.head(), Duration::ZERO, 100);
        }
        let outcome = state.frame().rebuild.unwrap();
        assert!(outcome.checkpoint > 0, "{outcome:?}");
        let diffs = outcome.result.unwrap();
        assert!(!diffs.is_empty());
        // The rebuilt states equal a rebuild from position 1 of the same run.
        let mut again = ReplayState::default();
        again.start_rebuild(&untrimmed, "ReadModel");
        assert_eq!(again.frame().rebuilding.unwrap().checkpoint, 0);
        while again.is_busy() {
            again.step_for(&untrimmed, Duration::MAX, usize::MAX);
        }
        // Both diff against live states taken at 12 s: the same diff.
        assert_eq!(again.frame().rebuild.unwrap().result.unwrap(), diffs);
    }

    /// A consumer added minutes into a live run starts at offset 0 (the
    /// live retention kept the whole run) and its lag falls to about 0.
    #[test]
    fn a_consumer_added_minutes_into_a_live_run_catches_up_from_offset_0() {
        let (graph, scenario) = seed_run();
        let mut live = super::super::LiveHandle::start(graph, scenario, 2, || {}).unwrap();
        let wait = Duration::from_secs(120);
        live.send(super::super::Command::StepBy(300_000_000))
            .unwrap();
        let f = live.wait_for(wait, |f| f.now_us >= 300_000_000);
        assert!(
            matches!(f.retention, Retention::KeepLatest { records } if records >= 100_000),
            "{:?}",
            f.retention
        );
        let fault = Fault::AddGroup {
            name: "Audit".into(),
            topics: vec!["OrderCreated".into(), "PaymentProcessed".into()],
            params: crate::sim::GroupParams::default(),
        };
        live.send(super::super::Command::Fault(fault)).unwrap();
        live.send(super::super::Command::StepBy(1)).unwrap();
        let f = live.wait_for(wait, |f| f.groups.iter().any(|g| g.group == "Audit"));
        let audit = f.groups.iter().find(|g| g.group == "Audit").unwrap();
        let lag: u64 = audit.partitions.iter().map(|p| p.lag).sum();
        // 5 minutes of two 100/s topics: about 60,000 records behind.
        assert!(lag > 50_000, "starts at offset 0: lag {lag}");
        assert!(
            audit
                .partitions
                .iter()
                .all(|p| p.committed < 100 && p.high_watermark > 9_000),
            "{:?}",
            audit.partitions
        );
        live.send(super::super::Command::StepBy(120_000_000))
            .unwrap();
        let f = live.wait_for(wait, |f| f.now_us >= 420_000_001);
        let audit = f.groups.iter().find(|g| g.group == "Audit").unwrap();
        let lag: u64 = audit.partitions.iter().map(|p| p.lag).sum();
        assert!(lag < 20, "caught up: lag {lag}");
        assert_eq!(audit.delivery.skipped_by_retention, 0);
        let processed: u64 = audit.partitions.iter().map(|p| p.processed).sum();
        assert!(processed > 80_000, "read the whole run: {processed}");
    }

    #[test]
    fn a_live_run_keeps_a_retention_the_diagram_writes_even_until_consumed() {
        let live = |lines: &str| {
            let text = format!("{}{lines}", crate::SEED_DIAGRAM);
            let graph = ArchGraph::from_flowchart(&parse_flowchart(&text).unwrap());
            let scenario = load_scenario(&text, &graph).unwrap();
            live_scenario(&graph, scenario)
        };
        // Left unsaid: the live default, 12 partitions sharing 1.57M records.
        let s = live("");
        assert_eq!(s.retention_source, RetentionSource::LiveDefault);
        assert_eq!(s.retention, Retention::KeepLatest { records: 131_072 });
        // Written, even as the headless default: kept as written.
        let s = live("%% eda:scenario retention = until-consumed\n");
        assert_eq!(
            (s.retention, s.retention_source),
            (Retention::UntilConsumed, RetentionSource::Diagram)
        );
        let s = live("%% eda:scenario retention = keep-latest 500\n");
        assert_eq!(
            (s.retention, s.retention_source),
            (
                Retention::KeepLatest { records: 500 },
                RetentionSource::Diagram
            )
        );
        // Set in code to something else: left alone, its source unchanged.
        let (graph, mut scenario) = seed_run();
        scenario.retention = Retention::KeepAll;
        let s = live_scenario(&graph, scenario);
        assert_eq!(
            (s.retention, s.retention_source),
            (Retention::KeepAll, RetentionSource::Default)
        );
    }

    /// A saved run of a diagram that writes `until-consumed` keeps it: the
    /// recording's diagram is the file's, and opened it runs until-consumed.
    #[test]
    fn a_saved_run_with_an_explicit_until_consumed_opens_with_it() {
        let text = format!(
            "{}%% eda:scenario retention = until-consumed\n",
            crate::SEED_DIAGRAM
        );
        let graph = ArchGraph::from_flowchart(&parse_flowchart(&text).unwrap());
        let scenario = live_scenario(&graph, load_scenario(&text, &graph).unwrap());
        assert_eq!(scenario.retention, Retention::UntilConsumed);
        // The diagram writes the retention; the commit interval is the
        // live default's, said so after the mark.
        let recorded = diagram_with_live_defaults(&text, &graph, &scenario).unwrap();
        assert_eq!(
            recorded,
            format!(
                "{text}{LIVE_DEFAULTS_MARK} (the live run's defaults, not the diagram's)\n\
                 %% eda:scenario *.commit-every = 5s\n"
            )
        );
        assert_eq!(split_live_defaults(&recorded), (text.as_str(), true));
        let written = format!("{text}%% eda:scenario *.commit-every = 50\n");
        let scenario = live_scenario(&graph, load_scenario(&written, &graph).unwrap());
        assert_eq!(
            diagram_with_live_defaults(&written, &graph, &scenario).unwrap(),
            written,
            "nothing appended"
        );
    }

    #[test]
    fn a_saved_live_run_carries_its_retention_and_opens_with_the_same_hash() {
        let (graph, scenario) = seed_run();
        let scenario = live_scenario(&graph, scenario);
        assert!(matches!(scenario.retention, Retention::KeepLatest { .. }));
        let engine = Engine::new(&graph, scenario.clone(), 6).unwrap();
        let mut h = History::new(engine, HistoryOptions::default());
        h.run_until(crate::sim::VirtualTime::from_secs(2));
        h.apply(Fault::AddGroup {
            name: "Audit".into(),
            topics: vec!["OrderCreated".into()],
            params: crate::sim::GroupParams::default(),
        })
        .unwrap();
        h.run_until(crate::sim::VirtualTime::from_secs(3));
        let (dir, path, saved) = save_scratch(&h, &graph, &scenario, "retention");
        assert!(saved.matches_live, "{saved:?}");
        let opened = open(&path).unwrap();
        assert_eq!(opened.scenario.retention, scenario.retention);
        assert_eq!(
            opened.replayed_hash,
            format!("{:016x}", h.head().run_hash())
        );
        // The file holds the defaults' lines, after their mark; the opened
        // run shows the user's diagram and says where the settings came from.
        let recording = Recording::open(&path).unwrap();
        assert!(recording.run().diagram.contains("retention = keep-latest"));
        assert!(recording.run().diagram.contains(LIVE_DEFAULTS_MARK));
        assert_eq!(opened.diagram, crate::SEED_DIAGRAM);
        assert_eq!(
            opened.scenario.retention_source,
            RetentionSource::LiveDefault
        );
        for group in ["Consumer1", "ReadModel", "Audit"] {
            assert_eq!(
                opened.scenario.commit_source(group),
                CommitSource::LiveDefault,
                "{group}"
            );
        }
        assert_eq!(
            opened.scenario.group_params("Consumer1").commit_interval_us,
            LIVE_COMMIT_INTERVAL_US
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A diagram writing its own commits and retention: saved, the
    /// recording adds nothing, and opened, they come from the diagram.
    #[test]
    fn a_saved_run_of_a_diagram_with_its_own_settings_opens_from_the_diagram() {
        let text = format!(
            "{}%% eda:scenario retention = keep-latest 2000\n\
             %% eda:scenario *.commit-every = 20\n",
            crate::SEED_DIAGRAM
        );
        let graph = ArchGraph::from_flowchart(&parse_flowchart(&text).unwrap());
        let scenario = live_scenario(&graph, load_scenario(&text, &graph).unwrap());
        let engine = Engine::new(&graph, scenario.clone(), 6).unwrap();
        let mut h = History::new(engine, HistoryOptions::default());
        h.run_until(crate::sim::VirtualTime::from_secs(1));
        let dir = std::env::temp_dir().join(format!("eda-live-own-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("run.sqlite");
        save(&h, &graph, &scenario, &path, "own.mmd", &text).unwrap();
        let opened = open(&path).unwrap();
        assert_eq!(opened.diagram, text);
        assert_eq!(opened.scenario.retention_source, RetentionSource::Diagram);
        assert_eq!(
            opened.scenario.commit_source("Consumer1"),
            CommitSource::Diagram
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_live_run_commits_every_5s_unless_the_diagram_or_code_chose() {
        let live = |lines: &str| {
            let text = format!("{}{lines}", crate::SEED_DIAGRAM);
            let graph = ArchGraph::from_flowchart(&parse_flowchart(&text).unwrap());
            live_scenario(&graph, load_scenario(&text, &graph).unwrap())
        };
        let commit = |s: &Scenario, g: &str| {
            let p = s.group_params(g);
            (p.commit_every, p.commit_interval_us, s.commit_source(g))
        };
        let s = live("");
        let five = (1, LIVE_COMMIT_INTERVAL_US, CommitSource::LiveDefault);
        assert_eq!(commit(&s, "Consumer1"), five);
        assert_eq!(commit(&s, "NoSuchGroupYet"), five, "groups added later");
        // Nothing of it is written back into the diagram.
        let graph = ArchGraph::from_flowchart(&parse_flowchart(crate::SEED_DIAGRAM).unwrap());
        let lines = s.to_lines(&graph);
        assert!(!lines.iter().any(|l| l.contains("commit")), "{lines:?}");
        // Idempotent.
        assert_eq!(live_scenario(&graph, s.clone()), s);
        // Written for one group (even the headless default), or for all.
        let s = live(
            "%% eda:scenario Consumer1.commit-every = 1\n\
             %% eda:scenario Consumer2.idempotent = on\n",
        );
        assert_eq!(commit(&s, "Consumer1"), (1, 0, CommitSource::Diagram));
        assert_eq!(commit(&s, "Consumer2"), five);
        let s = live("%% eda:scenario *.commit-every = 2s\n");
        assert_eq!(
            commit(&s, "Consumer2"),
            (1, 2_000_000, CommitSource::Diagram)
        );
        // Set in code: left alone.
        let (graph, mut scenario) = seed_run();
        let mut p = scenario.group_params("Consumer1");
        p.commit_every = 50;
        scenario.groups.insert("Consumer1".into(), p);
        let s = live_scenario(&graph, scenario);
        assert_eq!(commit(&s, "Consumer1"), (50, 0, CommitSource::Default));
    }

    /// The page check's progress on a large recording: not part of the
    /// suite (it needs a file of hundreds of MB). Make one with
    /// `eda-studio simulate --record FILE --duration …` and run
    /// `EDA_LARGE_RECORDING=FILE cargo test --release --lib -- --ignored
    /// page_check_of_a_large`. The bar must rise steadily to near 1 when the
    /// check ends, and Cancel must stop the check at once, also on a
    /// recording that is mostly engine images (a busy run): SQLite's
    /// check calls the progress handler once per b-tree page and never
    /// while it walks a blob's overflow pages, so `record::check` reads
    /// the images itself.
    #[test]
    #[ignore = "needs a large recording: EDA_LARGE_RECORDING=FILE"]
    fn the_page_check_of_a_large_recording_rises_steadily_and_cancels() {
        let Some(path) = std::env::var_os("EDA_LARGE_RECORDING") else {
            panic!("set EDA_LARGE_RECORDING to a recording's path")
        };
        let path = PathBuf::from(path);
        let size = std::fs::metadata(&path).unwrap().len();
        let task = OpenTask::start(&path, || {});
        let started = Instant::now();
        let mut samples: Vec<(Duration, f32)> = Vec::new();
        let (mut pages, mut ticks) = (0, 0);
        loop {
            match task.checking() {
                Some(c) => {
                    (pages, ticks) = (c.pages, c.ticks);
                    samples.push((started.elapsed(), c.fraction));
                }
                None if !samples.is_empty() => break,
                None => {}
            }
            assert!(task.poll().is_none(), "the open ended during the check");
            std::thread::sleep(Duration::from_millis(20));
        }
        let took = started.elapsed();
        task.cancel();
        let last = samples.last().map_or(0.0, |s| s.1);
        let jump = samples
            .windows(2)
            .map(|w| w[1].1 - w[0].1)
            .fold(0.0f32, f32::max);
        let at = |share: f32| {
            let t = took.mul_f32(share);
            samples.iter().find(|s| s.0 >= t).map_or(f32::NAN, |s| s.1)
        };
        let tenths: Vec<String> = (1..=10)
            .map(|k| format!("{:.3}", at(k as f32 / 10.0)))
            .collect();
        eprintln!(
            "{size} bytes, {pages} pages, check {took:?}, {ticks} ticks; {} samples, \
             by tenths of the time {}, last {last:.3}, largest step {jump:.3}",
            samples.len(),
            tenths.join(" "),
        );

        // Cancelled half-way through the check: the task ends promptly.
        let task = OpenTask::start(&path, || {});
        while task.checking().is_none() {
            std::thread::sleep(Duration::from_millis(5));
        }
        std::thread::sleep(took / 2);
        assert!(task.checking().is_some(), "still checking half-way");
        let asked = Instant::now();
        task.cancel();
        let outcome = loop {
            if let Some(o) = task.poll() {
                break o;
            }
            std::thread::sleep(Duration::from_millis(1));
        };
        let stopped = asked.elapsed();
        eprintln!("cancel took {stopped:?}");
        let err = outcome.err().unwrap_or_default();
        assert!(err.contains("cancelled"), "{err}");
        assert!(samples.windows(2).all(|w| w[1].1 >= w[0].1), "monotone");
        assert!(last > 0.8, "near the end when the check ends: {last}");
        assert!(jump < 0.1, "no leap: {jump}");
        assert!(stopped < Duration::from_millis(500), "{stopped:?}");
    }

    #[test]
    fn opening_shows_the_page_check_and_can_cancel_it() {
        let (graph, scenario) = seed_run();
        let engine = Engine::new(&graph, scenario.clone(), 6).unwrap();
        let mut h = History::new(engine, HistoryOptions::default());
        h.run_until(VirtualTime::from_us(15_000_000));
        let (dir, path, _) = save_scratch(&h, &graph, &scenario, "check");
        let pages = Recording::open(&path).unwrap().page_count().unwrap();
        assert!(pages > 10, "{pages}");

        // The check reports before the replay does, rising to 1.
        let shown = Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = shown.clone();
        let mut shown_at_first_progress = None;
        let opened = open_watched(
            &path,
            move |p, fraction| {
                assert_eq!(p, pages);
                seen.lock().unwrap().push(fraction);
                true
            },
            |_, _| {
                shown_at_first_progress.get_or_insert(shown.lock().unwrap().clone());
                true
            },
        )
        .unwrap();
        let shown = shown_at_first_progress.unwrap();
        assert!(shown.len() >= 4, "the check reported {} times", shown.len());
        assert!(shown.windows(2).all(|w| w[0] <= w[1]), "{shown:?}");
        assert_eq!(shown.last(), Some(&1.0));
        assert!(shown.iter().any(|f| *f > 0.0 && *f < 1.0), "{shown:?}");
        assert_eq!(opened.history.head().now(), h.head().now());

        // Cancelled during the check: the replay never starts.
        let mut n = 0;
        let mut replayed = false;
        let err = open_watched(
            &path,
            move |_, _| {
                n += 1;
                n < 2
            },
            |_, _| {
                replayed = true;
                true
            },
        )
        .unwrap_err();
        assert!(err.to_string().contains("cancelled"), "{err}");
        assert!(!replayed);

        // The task shows the check while it runs, then the replay.
        let task = OpenTask::start(&path, || {});
        let deadline = Instant::now() + Duration::from_secs(30);
        let outcome = loop {
            if let Some(c) = task.checking() {
                assert_eq!(c.pages, pages);
                assert!((0.0..=1.0).contains(&c.fraction), "{c:?}");
            }
            if let Some(outcome) = task.poll() {
                break outcome;
            }
            assert!(Instant::now() < deadline, "the open never ended");
            std::thread::sleep(Duration::from_micros(200));
        };
        assert!(outcome.is_ok());
        assert!(task.checking().is_none(), "the check is over");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
