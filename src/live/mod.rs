//! The live driver: runs a simulation [`Engine`] on a tokio runtime off the
//! UI thread, paced against wall-clock time × speed, and publishes
//! [`Frame`]s of what the UI draws.
//!
//! The UI talks to it through a [`LiveHandle`]: commands go over a bounded
//! channel with `try_send` (the UI never waits for the engine), frames come
//! back through a watch channel (the UI reads the latest, never a backlog),
//! and a repaint callback tells the UI a new frame is there.
//!
//! This module owns pacing and the command loop only. Simulation rules stay
//! in [`crate::sim`]: every command is one of the engine's control inputs.
//! It must not depend on egui.

mod charts;
mod detail;
mod flow;
mod frame;
mod log;
mod replay;
mod timeline;

pub use charts::{CHART_POINTS, ChartKind, ChartLine, ChartsFrame, GroupInstances, downsample};
pub use detail::{
    ComponentDetail, DetailMetrics, MAX_ROWS as DETAIL_MAX_ROWS, Table, duration_label,
};
pub use flow::{
    DOTS_PER_EDGE, Dot, FlowFrame, Lane, LegendEntry, MAX_DOTS, PartitionEnds, QUERY_COLOR,
    StoreFrame, TopicFrame, capture as flow_capture, travel_us,
};
pub use frame::{ComponentFrame, Frame, RunState};
pub use log::{
    EventTraceView, LogFilter, LogIndex, LogPage, LogQuery, LogRow, LogView, MAX_PAGE_ROWS, TAIL,
    TraceState, payload_fields, payload_line,
};
pub use replay::{
    CheckProgress, DiffRow, LIVE_COMMIT_INTERVAL_US, MAX_DIFF_ROWS, MAX_STORED_SNAPSHOTS, OpenTask,
    Opened, RebuildOutcome, RebuildProgress, ReplayFrame, STORED_EVENTS_SHOWN, Saved, SinkDiff,
    StoredRun, live_commits, live_scenario, open as open_recording,
};
pub use timeline::{PastOptions, Seeking, TimelineFrame};

use crate::model::ArchGraph;
use crate::sim::{Engine, Fault, History, Scenario, SimError, VirtualTime};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};

/// How fast virtual time runs against wall-clock time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Speed {
    /// Virtual seconds per wall-clock second (0.1 ..= 1000).
    Factor(f64),
    /// As fast as the engine goes.
    Max,
}

impl Speed {
    /// The slowest pace the driver accepts.
    pub const MIN_FACTOR: f64 = 0.1;
    /// The fastest paced (non-Max) speed.
    pub const MAX_FACTOR: f64 = 1000.0;

    fn clamped(self) -> Speed {
        match self {
            Speed::Factor(f) if f.is_finite() => {
                Speed::Factor(f.clamp(Self::MIN_FACTOR, Self::MAX_FACTOR))
            }
            Speed::Factor(_) => Speed::Factor(1.0),
            Speed::Max => Speed::Max,
        }
    }
}

/// What the UI asks the driver to do.
#[derive(Debug, Clone)]
pub enum Command {
    /// Start or continue advancing virtual time.
    Run,
    /// Stop advancing virtual time.
    Pause,
    /// While paused: process exactly one action of the engine.
    StepEvent,
    /// While paused: advance virtual time by this many microseconds.
    StepBy(u64),
    /// Change the pace.
    SetSpeed(Speed),
    /// Rebuild the engine from the start, with this seed (or the same).
    Reset { seed: Option<u64> },
    /// Replace the diagram and scenario (after an edit) and reset.
    Load {
        graph: Box<ArchGraph>,
        scenario: Box<Scenario>,
    },
    /// Apply a control input now (crash, restart, slow, fail, poison, …).
    Fault(Fault),
    /// Show the run as it was at this virtual time (µs), from the
    /// history's snapshots; pauses the run. Frames then describe that
    /// moment until [`Command::Live`] or [`Command::Run`].
    Seek(u64),
    /// Return from a past moment to the latest one.
    Live,
    /// The component the user has selected (its Mermaid id), or none:
    /// frames then carry that component's detail (tables, charts).
    Select(Option<String>),
    /// The event log's page: rows `first..first + count` ([`TAIL`] for
    /// the newest) of the events passing `filter`, at the moment shown.
    /// Frames carry it in [`LogView::page`] from then on.
    LogQuery {
        filter: LogFilter,
        first: u64,
        count: u32,
    },
    /// Trace this event (its deliveries and causation) or none: frames
    /// carry it in [`LogView::trace`].
    TraceEvent(Option<u64>),
    /// Write the run so far to a recording at `path` (File ▸ Save Run):
    /// `diagram` is the document's text, stored to rebuild the run. The
    /// outcome arrives in [`Frame::replay`].
    SaveRun {
        path: std::path::PathBuf,
        source_name: String,
        diagram: String,
    },
    /// Rebuild this group's projection from its event store and diff it
    /// with the live state, a slice per tick (progress in
    /// [`ReplayFrame::rebuilding`]); the outcome arrives in [`Frame::replay`].
    RebuildProjection(String),
    /// Stop the projection rebuild under way.
    CancelRebuild,
    /// Stop the driver.
    Shutdown,
}

/// Why a command could not be queued.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SendError {
    /// The driver has not taken the previous commands yet; try again next frame.
    #[error("the simulation is busy; command not queued")]
    Full,
    /// The driver has stopped.
    #[error("the simulation driver has stopped")]
    Stopped,
}

/// Why the driver could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The engine refused the diagram or scenario.
    #[error(transparent)]
    Engine(#[from] SimError),
    /// No thread for the driver.
    #[error("cannot start the simulation thread: {0}")]
    Thread(std::io::Error),
}

/// Commands the driver buffers before `send` reports [`SendError::Full`].
const COMMAND_BUFFER: usize = 256;
/// Wall-clock time between frames.
const FRAME_INTERVAL: Duration = Duration::from_millis(16);
/// Engine work per tick before the driver looks at its commands again.
const WORK_BUDGET: Duration = Duration::from_millis(12);
/// Engine work per tick at [`Speed::Max`]: two frame intervals, so the
/// picture changes about 30 times a second. Each frame published asks the
/// window to redraw, and on software rendering drawing costs as much CPU
/// as the engine gets: at 60 frames a second the engine kept only ~40% of
/// its headless throughput on two cores. Commands are still read between
/// ticks (a pause waits at most this long).
const MAX_SPEED_BUDGET: Duration = Duration::from_millis(32);
/// Engine actions between clock reads inside one tick (roughly).
const ACTIONS_PER_CHECK: u64 = 2048;
/// The longest slice of virtual time run between clock reads.
const MAX_SLICE_US: u64 = 1_000_000;
/// How far behind wall-clock pacing may fall before it is forgiven (the
/// engine could not keep up; virtual time then runs slower rather than
/// trying to catch up in one burst).
const MAX_BEHIND: Duration = Duration::from_millis(250);

/// The UI's end of a running driver. Dropping it stops the driver.
pub struct LiveHandle {
    commands: mpsc::Sender<Command>,
    frames: watch::Receiver<Arc<Frame>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl LiveHandle {
    /// Builds the engine from `graph`, `scenario` and `seed` and starts the
    /// driver, paused at time zero, on its own thread with a current-thread
    /// tokio runtime. `repaint` is called after each new frame.
    pub fn start(
        graph: ArchGraph,
        scenario: Scenario,
        seed: u64,
        repaint: impl Fn() + Send + Sync + 'static,
    ) -> Result<LiveHandle, StartError> {
        Self::start_with_past(graph, scenario, seed, PastOptions::default(), repaint)
    }

    /// As [`LiveHandle::start`], keeping the run's past as `past` says
    /// (a smaller window, no archive, …).
    pub fn start_with_past(
        graph: ArchGraph,
        scenario: Scenario,
        seed: u64,
        past: PastOptions,
        repaint: impl Fn() + Send + Sync + 'static,
    ) -> Result<LiveHandle, StartError> {
        let scenario = replay::live_scenario(&graph, scenario);
        let engine = Engine::new(&graph, scenario.clone(), seed)?;
        Self::spawn(graph, scenario, past.history(engine), past, repaint)
    }

    /// Starts the driver on a run replayed from a recording
    /// ([`open_recording`]), paused at its end.
    pub fn start_opened(
        opened: Opened,
        repaint: impl Fn() + Send + Sync + 'static,
    ) -> Result<LiveHandle, StartError> {
        let past = PastOptions::default();
        Self::spawn(opened.graph, opened.scenario, opened.history, past, repaint)
    }

    fn spawn(
        graph: ArchGraph,
        scenario: Scenario,
        history: History,
        past: PastOptions,
        repaint: impl Fn() + Send + Sync + 'static,
    ) -> Result<LiveHandle, StartError> {
        let engine = history.head();
        let mut first = Frame::capture(engine, RunState::Paused, Speed::Factor(1.0), 0);
        first.flow = flow::capture(engine, &graph, Speed::Factor(1.0));
        let first = Arc::new(first);
        let (commands, rx) = mpsc::channel(COMMAND_BUFFER);
        let (frames_tx, frames) = watch::channel(first);
        let driver = Driver {
            graph,
            scenario,
            history,
            past,
            seek: timeline::SeekState::default(),
            archiver: timeline::Archiver::default(),
            viewing: None,
            state: RunState::Paused,
            speed: Speed::Factor(1.0),
            frames: frames_tx,
            seq: 0,
            repaint: Box::new(repaint),
            error: None,
            pace: None,
            slice_us: 1_000,
            measured: Throughput::default(),
            selected: None,
            log: log::LogState::default(),
            flow: flow::FlowTracker::default(),
            replay: replay::ReplayState::default(),
        };
        let thread = std::thread::Builder::new()
            .name("eda-live".into())
            .spawn(move || driver.run_on_runtime(rx))
            .map_err(StartError::Thread)?;
        Ok(LiveHandle {
            commands,
            frames,
            thread: Some(thread),
        })
    }

    /// Queues a command without waiting.
    pub fn send(&self, command: Command) -> Result<(), SendError> {
        self.commands.try_send(command).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => SendError::Full,
            mpsc::error::TrySendError::Closed(_) => SendError::Stopped,
        })
    }

    /// The latest frame.
    pub fn frame(&self) -> Arc<Frame> {
        self.frames.borrow().clone()
    }

    /// Whether a frame newer than the last one read with
    /// [`LiveHandle::frame_if_new`] is waiting.
    pub fn has_new_frame(&self) -> bool {
        self.frames.has_changed().unwrap_or(false)
    }

    /// The latest frame if it is new since the last call.
    pub fn frame_if_new(&mut self) -> Option<Arc<Frame>> {
        match self.frames.has_changed() {
            Ok(true) => Some(self.frames.borrow_and_update().clone()),
            _ => None,
        }
    }

    /// Blocks (for tests and the CLI, never the UI) until a frame satisfies
    /// `pred` or `timeout` passes; returns the last frame seen either way.
    pub fn wait_for(&mut self, timeout: Duration, pred: impl Fn(&Frame) -> bool) -> Arc<Frame> {
        let deadline = Instant::now() + timeout;
        loop {
            let frame = self.frames.borrow_and_update().clone();
            if pred(&frame) || Instant::now() >= deadline {
                return frame;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

impl Drop for LiveHandle {
    fn drop(&mut self) {
        // A full buffer still stops the driver: it exits when the channel closes.
        let _ = self.commands.try_send(Command::Shutdown);
        let (closed, _) = mpsc::channel(1);
        drop(std::mem::replace(&mut self.commands, closed));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Wall-clock anchor of paced running: virtual `vt0` was reached at `wall0`.
#[derive(Debug, Clone, Copy)]
struct Pace {
    wall0: Instant,
    vt0: u64,
}

/// Deliveries per wall-clock second, measured over the last second.
#[derive(Debug, Default)]
struct Throughput {
    since: Option<(Instant, u64)>,
    per_s: f64,
}

impl Throughput {
    fn update(&mut self, deliveries: u64, running: bool) {
        let now = Instant::now();
        if !running {
            self.since = None;
            self.per_s = 0.0;
            return;
        }
        match self.since {
            None => self.since = Some((now, deliveries)),
            Some((t0, d0)) => {
                let dt = now.duration_since(t0).as_secs_f64();
                if dt >= 0.5 {
                    self.per_s = deliveries.saturating_sub(d0) as f64 / dt;
                    self.since = Some((now, deliveries));
                }
            }
        }
    }
}

struct Driver {
    graph: ArchGraph,
    scenario: Scenario,
    /// The run, recorded with snapshots so any past moment can be shown.
    history: History,
    /// How the run keeps its past (for a reset).
    past: PastOptions,
    /// A seek to a far moment under way.
    seek: timeline::SeekState,
    /// Encodes the archive's images off this thread.
    archiver: timeline::Archiver,
    /// The past moment being shown, if not the latest.
    viewing: Option<u64>,
    state: RunState,
    speed: Speed,
    frames: watch::Sender<Arc<Frame>>,
    seq: u64,
    repaint: Box<dyn Fn() + Send + Sync>,
    error: Option<String>,
    pace: Option<Pace>,
    /// Virtual microseconds run between clock reads (adapted to the load).
    slice_us: u64,
    measured: Throughput,
    /// The selected component's Mermaid id ([`Command::Select`]).
    selected: Option<String>,
    /// The event log's query, index and trace.
    log: log::LogState,
    /// Computes the dots of the moment shown.
    flow: flow::FlowTracker,
    /// Save Run's outcome and the projection rebuild ([`Command::SaveRun`],
    /// [`Command::RebuildProjection`]).
    replay: replay::ReplayState,
}

impl Driver {
    fn run_on_runtime(self, commands: mpsc::Receiver<Command>) {
        let runtime = match tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
        {
            Ok(rt) => rt,
            Err(e) => {
                let mut driver = self;
                driver.error = Some(format!("cannot start the tokio runtime: {e}"));
                driver.publish();
                return;
            }
        };
        runtime.block_on(self.run(commands));
    }

    async fn run(mut self, mut commands: mpsc::Receiver<Command>) {
        let mut ticks = tokio::time::interval(FRAME_INTERVAL);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                command = commands.recv() => match command {
                    None | Some(Command::Shutdown) => return,
                    Some(command) => {
                        self.apply(command);
                        // Take everything queued before drawing again.
                        while let Ok(more) = commands.try_recv() {
                            if matches!(more, Command::Shutdown) {
                                return;
                            }
                            self.apply(more);
                        }
                        self.publish();
                    }
                },
                _ = ticks.tick(), if self.state == RunState::Running
                    || self.log.is_tracing()
                    || self.replay.is_busy()
                    || self.seek.is_seeking() => {
                    if self.state == RunState::Running {
                        self.advance();
                    }
                    self.replay.step(self.history.head());
                    self.publish();
                }
            }
        }
    }

    fn apply(&mut self, command: Command) {
        match command {
            Command::Run => {
                self.back_to_live();
                if self.state != RunState::Finished {
                    self.state = RunState::Running;
                    self.pace = None;
                }
            }
            Command::Pause => {
                if self.state == RunState::Running {
                    self.state = RunState::Paused;
                }
            }
            Command::StepEvent => {
                self.back_to_live();
                if self.state != RunState::Running && self.history.step().is_none() {
                    self.state = RunState::Finished;
                }
            }
            Command::StepBy(us) => {
                self.back_to_live();
                if self.state != RunState::Running {
                    let target = self.history.head().now().as_us().saturating_add(us);
                    self.history.run_until(VirtualTime::from_us(target));
                    // Paused: nothing runs meanwhile, so the images this
                    // step archived may as well be ready with its frame.
                    self.archiver.flush(&mut self.history);
                }
            }
            Command::SetSpeed(speed) => {
                self.speed = speed.clamped();
                self.pace = None;
            }
            Command::Reset { seed } => {
                let seed = seed.unwrap_or(self.history.head().seed());
                self.rebuild(seed);
            }
            Command::Load { graph, scenario } => {
                self.graph = *graph;
                self.scenario = replay::live_scenario(&self.graph, *scenario);
                let seed = self.history.head().seed();
                self.rebuild(seed);
            }
            Command::Fault(fault) => {
                self.back_to_live();
                if let Err(e) = self.history.apply(fault) {
                    self.error = Some(e.to_string());
                }
            }
            Command::Seek(us) => {
                if self.state == RunState::Running {
                    self.state = RunState::Paused;
                }
                // Before the earliest moment kept, that moment is shown.
                if us < self.history.window_start().as_us() {
                    // From the nearest image: wait for those under way.
                    self.archiver.flush(&mut self.history);
                }
                let earliest = self.history.earliest().as_us();
                let head = self.history.head().now().as_us();
                self.viewing = Some(us.clamp(earliest.min(head), head));
            }
            Command::Live => self.back_to_live(),
            Command::Select(key) => self.selected = key,
            Command::LogQuery {
                filter,
                first,
                count,
            } => self.log.set_query(filter, first, count),
            Command::TraceEvent(event) => self.log.select(&self.history, event),
            Command::SaveRun {
                path,
                source_name,
                diagram,
            } => {
                let saved = replay::save(
                    &self.history,
                    &self.graph,
                    &self.scenario,
                    &path,
                    &source_name,
                    &diagram,
                );
                self.replay.saved(saved);
            }
            Command::RebuildProjection(group) => {
                self.replay.start_rebuild(self.history.head(), &group);
            }
            Command::CancelRebuild => self.replay.cancel_rebuild(),
            Command::Shutdown => {}
        }
    }

    fn back_to_live(&mut self) {
        if self.viewing.take().is_some() {
            self.history.forget_cursor();
            self.seek.cancel();
        }
    }

    fn rebuild(&mut self, seed: u64) {
        match Engine::new(&self.graph, self.scenario.clone(), seed) {
            Ok(engine) => {
                self.history = self.past.history(engine);
                self.archiver.reset();
                self.seek.cancel();
                self.viewing = None;
                self.state = RunState::Paused;
                self.pace = None;
                self.error = None;
                self.log.reset();
                self.replay.forget_rebuild();
            }
            Err(e) => self.error = Some(e.to_string()),
        }
    }

    /// Runs the engine toward where wall-clock pacing says virtual time
    /// should be, for at most [`WORK_BUDGET`] ([`MAX_SPEED_BUDGET`] at Max).
    fn advance(&mut self) {
        let started = Instant::now();
        let target = match self.speed {
            Speed::Max => u64::MAX,
            Speed::Factor(f) => {
                let now = self.history.head().now().as_us();
                let pace = *self.pace.get_or_insert(Pace {
                    wall0: started,
                    vt0: now,
                });
                let elapsed = started.duration_since(pace.wall0);
                let target = pace.vt0 + (elapsed.as_secs_f64() * f * 1e6) as u64;
                let behind_us = target.saturating_sub(now);
                if behind_us as f64 > MAX_BEHIND.as_secs_f64() * f * 1e6 {
                    // Forgive a backlog the engine cannot work off: pacing
                    // restarts from here, one frame's worth ahead.
                    self.pace = Some(Pace {
                        wall0: started,
                        vt0: now,
                    });
                    now + (FRAME_INTERVAL.as_secs_f64() * f * 1e6) as u64
                } else {
                    target
                }
            }
        };
        loop {
            let head = self.history.head();
            if head.pending_actions() == 0 {
                self.state = RunState::Finished;
                return;
            }
            let now = head.now().as_us();
            if now >= target {
                return;
            }
            let slice_end = now.saturating_add(self.slice_us).min(target);
            let steps = self.history.run_until(VirtualTime::from_us(slice_end));
            // Keep each slice near ACTIONS_PER_CHECK actions so the clock
            // is read often enough to honour the budget, but not per action.
            if steps > 2 * ACTIONS_PER_CHECK {
                self.slice_us = (self.slice_us / 2).max(1);
            } else if steps < ACTIONS_PER_CHECK / 2 {
                self.slice_us = self.slice_us.saturating_mul(2).min(MAX_SLICE_US);
            }
            let budget = match self.speed {
                Speed::Max => MAX_SPEED_BUDGET,
                Speed::Factor(_) => WORK_BUDGET,
            };
            if started.elapsed() >= budget {
                return;
            }
        }
    }

    fn publish(&mut self) {
        self.archiver.pump(&mut self.history);
        // A seek runs the stretch whose dots the frame shows with activity
        // on, so the flow needs no second re-run of it.
        self.history
            .observe_seeks(Some(flow::past_window_us(self.speed)));
        if let Some(t) = self.viewing
            && !self.seek.prepare(&mut self.history, t)
        {
            self.publish_seek_progress();
            return;
        }
        self.seq += 1;
        let head_us = self.history.head().now().as_us();
        let deliveries = self.history.head().deliveries();
        self.measured
            .update(deliveries, self.state == RunState::Running);
        self.log.advance_trace(&self.history);
        let engine = match self.viewing {
            Some(t) => self.history.seek(VirtualTime::from_us(t)),
            None => self.history.head(),
        };
        let mut frame = Frame::capture(engine, self.state, self.speed, self.seq);
        frame.head_us = head_us;
        frame.viewing_past = self.viewing.is_some();
        // An engine restored from an archived image does not carry it.
        frame.retention_source = self.scenario.retention_source;
        frame.deliveries_per_wall_s = self.measured.per_s;
        frame.error = self.error.clone();
        capture_views(&mut self.log, &self.selected, engine, &mut frame);
        frame.replay = self.replay.frame();
        frame.flow = self
            .flow
            .frame(&self.history, self.viewing, &self.graph, self.speed);
        frame.timeline = self.seek.frame(&self.history);
        frame.timeline.log_missing_until_us = self
            .viewing
            .and(self.history.log_missing_until())
            .map(VirtualTime::as_us);
        frame.charts = Some(ChartsFrame::capture(
            &mut self.history,
            self.viewing,
            self.selected.as_deref(),
        ));
        self.frames.send_replace(Arc::new(frame));
        (self.repaint)();
    }

    /// While a seek far back is under way: the moment it has re-run to so
    /// far (from the archived image before the one asked for), so the
    /// picture moves at once; the dots and charts stay those of the last
    /// frame until the seek ends. With the seek's progress (and the run's
    /// state, which a command may change).
    fn publish_seek_progress(&mut self) {
        self.seq += 1;
        let mut frame = match self.history.seek_in_progress() {
            Some(engine) => {
                let last = self.frames.borrow();
                let mut f = Frame::capture(engine, self.state, self.speed, self.seq);
                f.head_us = last.head_us;
                f.viewing_past = true;
                f.deliveries_per_wall_s = last.deliveries_per_wall_s;
                capture_views(&mut self.log, &self.selected, engine, &mut f);
                f.replay = last.replay.clone();
                f.flow = last.flow.clone();
                f.charts = last.charts.clone();
                f
            }
            None => Frame::clone(&self.frames.borrow()),
        };
        frame.seq = self.seq;
        frame.state = self.state;
        frame.speed = self.speed;
        frame.error = self.error.clone();
        frame.timeline = self.seek.frame(&self.history);
        frame.timeline.log_missing_until_us = self
            .history
            .seek_in_progress()
            .and(self.history.log_missing_until())
            .map(VirtualTime::as_us);
        self.frames.send_replace(Arc::new(frame));
        (self.repaint)();
    }
}

/// Fills in what `frame` shows from `engine` of the event log and the
/// `selected` component, as the live moment and a seek under way both do.
fn capture_views(
    log: &mut log::LogState,
    selected: &Option<String>,
    engine: &Engine,
    frame: &mut Frame,
) {
    frame.selected = selected.clone();
    frame.log = log.view(engine);
    frame.detail = selected
        .as_deref()
        .and_then(|key| detail::capture(engine, key));
}

#[cfg(test)]
mod tests;
