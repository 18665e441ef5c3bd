//! Time travel: [`History`] records a run as it goes and answers "what
//! was the state of every component at virtual time t" from snapshots.
//!
//! # How
//! The engine is deterministic, so a snapshot is simply a clone of the
//! whole [`Engine`] (scheduler, RNG, groups, sinks, metrics) and the state
//! at `t` is the latest snapshot at or before `t` run forward to `t` —
//! exact, not approximate. Two things keep that cheap:
//! - The append-only logs (a partition's records, an event store's
//!   events) live in [`ChunkLog`]s whose full chunks are shared by every
//!   clone, so a snapshot copies only their open tails, never the history.
//! - Snapshots are spaced by engine steps ([`HistoryOptions::snapshot_every_steps`]),
//!   which bounds the re-execution a seek costs; when there are more than
//!   [`HistoryOptions::max_snapshots`], every other one is dropped and the
//!   spacing doubles, so memory stays bounded however long the run.
//!   A live run uses [`History::sliding`] instead: a snapshot every
//!   `snapshot_every_steps` steps or every [`LIVE_SNAPSHOT_EVERY_US`] of
//!   virtual time, whichever comes first, and the oldest is dropped when
//!   [`LIVE_SNAPSHOTS`] are kept. The recent window stays quick to reach
//!   and memory plateaus; moments before [`History::earliest`] are gone,
//!   and so are the event stores' logged events before it (in the head
//!   and in every snapshot: the log never changes what a run does, and a
//!   snapshot sharing the head's chunks costs nothing).
//!   With [`History::with_archive`] the snapshots leaving the window are
//!   not lost: an [`archive`] keeps a bounded number of compact engine
//!   images of them, evenly spread from the run's start, so the whole run
//!   stays reachable (a seek there restores the nearest image and runs
//!   forward: slower, so [`History::seek_toward`] does it a slice at a
//!   time, and checkpoints on the way make nearby seeks quick). Archived
//!   images are *slim*: they leave out the records every group had
//!   committed, so a seek from one never crosses a control that rewinds
//!   a group (a snapshot right after each such control becomes an anchor
//!   image); the archive module says why that is exact.
//!
//! Control inputs (faults, resets, added groups, stopping the sources)
//! must go through the history ([`History::apply`], [`History::schedule`],
//! [`History::stop_sources`]): each is logged with the step count and time
//! at which it was made, and re-applied at exactly that point when a seek
//! re-executes past it, so a seek reproduces the run hash of the live run.
//!
//! [`History::seek`] keeps a cursor: moving forward from the last seek
//! only runs the difference (a timeline slider dragged to the right);
//! moving back restarts from the nearest snapshot. A seek runs lean (the
//! engine's activity off) except, when asked ([`History::observe_seeks`]),
//! for the stretch just before its target whose dots a frame shows.
//!
//! # Rules
//! Part of `sim`: no wall-clock time, threads, tokio or GUI types.

mod archive;
mod chunks;
mod replay;

pub(crate) use archive::rewinds;
pub use archive::{ARCHIVE_BYTES, ARCHIVE_IMAGES, ArchiveImage, ArchiveJob, ArchiveOptions};
pub use chunks::ChunkLog;
pub use replay::{Replay, TraceStatus, Tracer};

use super::bus::Record;
use super::clock::VirtualTime;
use super::error::SimError;
use super::fault::Fault;
use super::world::Engine;

/// A record as it was published, with where it went: what
/// [`Engine::take_published`] hands a recorder.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Published {
    /// Topic index (see [`Engine::topics`]).
    pub topic: u32,
    /// Partition within the topic.
    pub partition: u32,
    /// Offset within the partition.
    pub offset: u64,
    /// The record.
    pub record: Record,
}

/// How often a [`History`] snapshots and how many snapshots it keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryOptions {
    /// Engine steps between snapshots (at first; doubles when thinned).
    pub snapshot_every_steps: u64,
    /// Most snapshots kept; beyond it every other one is dropped.
    pub max_snapshots: usize,
}

/// The defaults balance the two budgets on the seed diagram (measured by
/// `cargo bench --bench sim_history` on a 10-million-event run): a
/// snapshot holds about 2.6 MB of its own, so one per 2^18 steps (about
/// 35,000 events) keeps the whole process under 100 bytes per event,
/// while a seek re-executes at most 2^18 steps (about 26 ms on average).
impl Default for HistoryOptions {
    fn default() -> Self {
        HistoryOptions {
            snapshot_every_steps: 1 << 18,
            max_snapshots: 2048,
        }
    }
}

/// A control input made through a [`History`].
#[derive(Debug, Clone, PartialEq)]
pub enum Control {
    /// [`Engine::apply_fault`].
    Apply(Fault),
    /// [`Engine::schedule_fault`].
    Schedule(VirtualTime, Fault),
    /// [`Engine::stop_sources`].
    StopSources,
}

/// A control input and the point of the run at which it was made.
#[derive(Debug, Clone, PartialEq)]
pub struct ControlRecord {
    /// Engine steps run before it.
    pub steps: u64,
    /// The virtual time it was made at.
    pub at: VirtualTime,
    /// What it was.
    pub control: Control,
}

/// An engine and how far into the recorded run it is.
#[derive(Debug, Clone)]
struct Cursor {
    engine: Engine,
    steps: u64,
    /// Controls (indices into the log) already applied.
    controls: usize,
    /// Derived from a slim archived image (see [`archive`]): usable only
    /// up to the next rewinding control.
    slim: Option<archive::Slim>,
    /// A snapshot taken right after a rewinding control (see [`archive`]).
    anchor: bool,
    /// The moment the seek turned the engine's activity on at (see
    /// [`History::observe_seeks`]); `None` when it is off.
    observed_from: Option<VirtualTime>,
}

impl Cursor {
    /// Runs forward to virtual time `t`, re-applying the logged controls
    /// made at or before `t` at the step they were made after; never runs
    /// past `limit_steps` (the live run's step count).
    fn advance(&mut self, t: VirtualTime, log: &[ControlRecord], limit_steps: u64) {
        self.advance_by(t, log, limit_steps, u64::MAX);
    }

    /// As [`Cursor::advance`], running at most `budget` steps; returns
    /// whether it reached `t` (false: call again to go on).
    fn advance_by(
        &mut self,
        t: VirtualTime,
        log: &[ControlRecord],
        limit_steps: u64,
        budget: u64,
    ) -> bool {
        let cap = self.steps.saturating_add(budget);
        while let Some(c) = log.get(self.controls) {
            if c.at > t {
                break;
            }
            self.run(c.at, c.steps.min(cap));
            if self.steps < c.steps && self.engine.next_time().is_some_and(|n| n <= c.at) {
                return false;
            }
            if self.engine.now() < c.at {
                // Made after a `run_until` that moved the clock past the
                // last action; the control saw that clock.
                self.engine.run_until(c.at);
            }
            let _ = apply(&mut self.engine, &c.control);
            self.controls += 1;
        }
        self.run(t, limit_steps.min(cap));
        if self.steps < limit_steps && self.engine.next_time().is_some_and(|n| n <= t) {
            return false;
        }
        if self.engine.now() < t {
            // Nothing is due by `t` (or the live run stopped here): only
            // the clock moves, as `run_until` moved the live one.
            self.engine.run_until(t);
        }
        true
    }

    /// Steps while the next action is due at or before `t` and fewer than
    /// `max_steps` steps have run in all.
    fn run(&mut self, t: VirtualTime, max_steps: u64) {
        while self.steps < max_steps && self.engine.next_time().is_some_and(|n| n <= t) {
            self.engine.step();
            self.steps += 1;
        }
    }
}

fn apply(engine: &mut Engine, control: &Control) -> Result<(), SimError> {
    match control {
        Control::Apply(f) => engine.apply_fault(f.clone()),
        Control::Schedule(at, f) => engine.schedule_fault(*at, f.clone()),
        Control::StopSources => {
            engine.stop_sources();
            Ok(())
        }
    }
}

/// A run being recorded, with snapshots for reaching any past moment.
///
/// Advance it with [`History::run_until`], [`History::step`] or
/// [`History::drain`]; read the present through [`History::head`]; read
/// the past through [`History::state_at`] (a fresh engine) or
/// [`History::seek`] (a cursor reused between calls, for scrubbing).
#[derive(Debug, Clone)]
pub struct History {
    live: Cursor,
    snapshots: Vec<Cursor>,
    log: Vec<ControlRecord>,
    options: HistoryOptions,
    every_steps: u64,
    next_snapshot: u64,
    cursor: Option<Cursor>,
    /// When full, drop the oldest snapshot rather than thin them all.
    sliding: bool,
    /// Sliding: also snapshot when virtual time reaches this.
    next_snapshot_at: Option<VirtualTime>,
    /// Sliding: virtual time between snapshots, at most.
    every_us: u64,
    /// Sliding: the snapshots dropped from the window, as compact images.
    archive: Option<archive::Archive>,
    /// Engines a seek from an archived image took on its way (one every
    /// `every_us`), the latest [`SEEK_CHECKPOINTS`]: moments near the last
    /// seek are reached from them, not from the image again.
    checkpoints: Vec<Cursor>,
    /// Where the seek under way started (for its progress).
    seek_from: Option<VirtualTime>,
    /// With an archive: when the rewinding controls scheduled and not yet
    /// run will run (soonest first), each to be followed by an anchor.
    rewinds_at: Vec<VirtualTime>,
    /// How long before its target a seek turns activity on (see
    /// [`History::observe_seeks`]).
    observe_us: Option<u64>,
}

/// Snapshots a live run keeps ([`History::sliding`]): about 2 MB each on
/// the seed diagram (measured: a clone of the engine after 60 s and after
/// 600 s of virtual time are both 2.0–2.3 MB), plus the records published
/// in the window that they hold. Half what it was: the memory went to
/// the archive ([`ARCHIVE_BYTES`]), where it buys many more moments (a
/// slim image is about 0.35 MB deflated), so a seek anywhere in a
/// 10-million-event run re-runs at most about 120 s of it, not 240 s,
/// and the process is smaller (measured by `cargo bench --bench
/// live_archive` at 10 million events: 442 MB resident against 503 MB).
pub const LIVE_SNAPSHOTS: usize = 32;

/// Virtual time between a live run's snapshots, at most: with
/// [`LIVE_SNAPSHOTS`] the window reaches 16 minutes back (less when the
/// diagram is busy enough for the step spacing to come first), and a seek
/// re-executes at most 30 s of the run.
pub const LIVE_SNAPSHOT_EVERY_US: u64 = 30_000_000;

/// Checkpoints a seek into the archive keeps (about 2 MB each on the
/// seed; dropped by [`History::forget_cursor`]).
pub const SEEK_CHECKPOINTS: usize = 8;

/// How long before its target a seek keeps a checkpoint (longest first),
/// so that re-running a short stretch before the moment — the canvas's
/// dots re-run the rate window (1 s) and a dot's travel (0.4 s × speed, at
/// most 10 s) with activity on — starts from there, not from the snapshot
/// or image before: without them that stretch cost as much as the seek.
const SEEK_LEADS_US: [u64; 3] = [11_000_000, 5_000_000, 2_000_000];

/// How far a seek under way ([`History::seek_toward`]) has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeekProgress {
    /// The moment it re-executes from (a snapshot's or an image's).
    pub from: VirtualTime,
    /// The moment reached so far.
    pub at: VirtualTime,
    /// The moment asked for.
    pub to: VirtualTime,
}

impl SeekProgress {
    /// The part done, 0 ..= 1.
    pub fn fraction(&self) -> f64 {
        let total = self.to.since_us(self.from);
        if total == 0 {
            1.0
        } else {
            self.at.since_us(self.from) as f64 / total as f64
        }
    }
}

/// Where a re-execution to some moment starts.
enum Start<'a> {
    /// A kept engine: a snapshot or a checkpoint (cloned).
    Kept(&'a Cursor),
    /// An archived image (restored).
    Image(&'a archive::Archived),
}

impl Start<'_> {
    fn steps(&self) -> u64 {
        match self {
            Start::Kept(c) => c.steps,
            Start::Image(a) => a.steps,
        }
    }

    fn at(&self) -> VirtualTime {
        match self {
            Start::Kept(c) => c.engine.now(),
            Start::Image(a) => a.at,
        }
    }
}

impl History {
    /// Starts recording `engine` from its current state (normally a fresh
    /// engine at time 0; earlier moments cannot be reached).
    pub fn new(engine: Engine, options: HistoryOptions) -> History {
        let every = options.snapshot_every_steps.max(1);
        let live = Cursor {
            engine,
            steps: 0,
            controls: 0,
            slim: None,
            anchor: false,
            observed_from: None,
        };
        History {
            snapshots: vec![live.clone()],
            live,
            log: Vec::new(),
            options: HistoryOptions {
                snapshot_every_steps: every,
                max_snapshots: options.max_snapshots.max(2),
            },
            every_steps: every,
            next_snapshot: every,
            cursor: None,
            sliding: false,
            next_snapshot_at: None,
            every_us: 0,
            archive: None,
            checkpoints: Vec::new(),
            seek_from: None,
            rewinds_at: Vec::new(),
            observe_us: None,
        }
    }

    /// As [`History::new`], but when `max_snapshots` are kept the oldest
    /// is dropped (the spacing never grows): the run before the oldest
    /// snapshot can no longer be reached (unless [`History::with_archive`]
    /// keeps it), and memory stops growing. Snapshots are also taken every
    /// `every_us` of virtual time.
    pub fn sliding(engine: Engine, options: HistoryOptions, every_us: u64) -> History {
        let mut h = History::new(engine, options);
        h.sliding = true;
        h.every_us = every_us.max(1);
        h.next_snapshot_at = Some(h.live.engine.now().plus_us(h.every_us));
        h
    }

    /// A sliding history that keeps the snapshots leaving its window in
    /// an archive of compact images (see [`archive`]), so every moment
    /// since the start stays reachable in bounded memory. No effect on a
    /// history that is not sliding (it keeps the whole run anyway).
    pub fn with_archive(mut self, options: ArchiveOptions) -> History {
        if self.sliding {
            self.archive = Some(archive::Archive::new(options));
            // The scenario's own: the history never logs them.
            let head = &self.live.engine;
            if head.pending_rewinds() > 0 {
                let now = head.now();
                self.rewinds_at = head
                    .scenario()
                    .faults
                    .iter()
                    .filter(|f| f.at >= now && rewinds(&f.fault))
                    .map(|f| f.at)
                    .collect();
                self.rewinds_at.sort();
            }
        }
        self
    }

    /// Whether this history drops its oldest snapshots ([`History::sliding`]).
    pub fn is_sliding(&self) -> bool {
        self.sliding
    }

    /// The earliest moment that can be reached (the oldest archived
    /// image's, else the oldest snapshot's); [`History::state_at`] an
    /// earlier time gives the state at this one.
    pub fn earliest(&self) -> VirtualTime {
        self.archive
            .as_ref()
            .and_then(archive::Archive::first)
            .unwrap_or_else(|| self.window_start())
    }

    /// The oldest snapshot's moment: from it to the head, a seek
    /// re-executes at most a snapshot's spacing; before it, from an
    /// archived image (see [`History::with_archive`]).
    pub fn window_start(&self) -> VirtualTime {
        self.snapshots
            .first()
            .map_or(self.live.engine.now(), |s| s.engine.now())
    }

    /// The head (the run as it is now, the latest moment recorded).
    pub fn head(&self) -> &Engine {
        &self.live.engine
    }

    /// Engine steps recorded.
    pub fn steps(&self) -> u64 {
        self.live.steps
    }

    /// Snapshots kept.
    pub fn snapshot_count(&self) -> usize {
        self.snapshots.len()
    }

    /// The times of the snapshots kept, oldest first.
    pub fn snapshot_times(&self) -> impl Iterator<Item = VirtualTime> + '_ {
        self.snapshots.iter().map(|s| s.engine.now())
    }

    /// Current spacing of snapshots, in engine steps.
    pub fn snapshot_every_steps(&self) -> u64 {
        self.every_steps
    }

    /// Archived images kept (0 without an archive).
    pub fn archive_len(&self) -> usize {
        self.archive.as_ref().map_or(0, archive::Archive::len)
    }

    /// Bytes the archived images take (0 without an archive).
    pub fn archive_bytes(&self) -> usize {
        self.archive.as_ref().map_or(0, archive::Archive::bytes)
    }

    /// The longest virtual time between two archived images (0 without
    /// an archive): a seek before [`History::window_start`] re-executes at
    /// most about this much of the run.
    pub fn archive_spacing_us(&self) -> u64 {
        self.archive
            .as_ref()
            .map_or(0, archive::Archive::spacing_us)
    }

    /// The times of the archived images, oldest first.
    pub fn archive_times(&self) -> impl Iterator<Item = VirtualTime> + '_ {
        self.archive.iter().flat_map(archive::Archive::times)
    }

    /// Of the archived images: how many leave records out (slim), how
    /// many are anchors, and the largest one's inflated size in bytes.
    pub fn archive_stats(&self) -> (usize, usize, usize) {
        self.archive
            .as_ref()
            .map_or((0, 0, 0), archive::Archive::stats)
    }

    /// Of [`History::archive_bytes`], the time series' sealed chunks the
    /// images share (each counted once; 0 without an archive).
    pub fn archive_series_bytes(&self) -> usize {
        self.archive
            .as_ref()
            .map_or(0, archive::Archive::series_bytes)
    }

    /// Hands the snapshots leaving the window out to be encoded
    /// ([`History::take_archive_jobs`], [`ArchiveJob::encode`],
    /// [`History::add_archive_image`]) instead of encoding them when they
    /// leave (tens of milliseconds each); `false` encodes what is waiting.
    pub fn defer_archiving(&mut self, deferred: bool) {
        if let Some(a) = &mut self.archive {
            a.set_deferred(deferred);
        }
    }

    /// The snapshots waiting to be encoded (see [`History::defer_archiving`]).
    pub fn take_archive_jobs(&mut self) -> Vec<ArchiveJob> {
        self.archive
            .as_mut()
            .map_or_else(Vec::new, archive::Archive::take_jobs)
    }

    /// Keeps an image encoded from one of this history's jobs.
    pub fn add_archive_image(&mut self, image: ArchiveImage) {
        if let Some(a) = &mut self.archive {
            a.add(image);
        }
    }

    /// When the engine of the last seek was re-run from a slim archived
    /// image: the time up to which its partitions lack records (those
    /// every group had committed when the image was taken), so its event
    /// log is incomplete before it. `None`: complete as in the live run.
    pub fn log_missing_until(&self) -> Option<VirtualTime> {
        self.cursor
            .as_ref()
            .and_then(|c| c.slim)
            .map(|s| s.newest_dropped)
    }

    /// Why the last snapshot leaving the window could not be archived, if
    /// it could not (a bug: an engine always encodes).
    pub fn archive_error(&self) -> Option<&str> {
        self.archive.as_ref().and_then(archive::Archive::error)
    }

    /// The control inputs made so far, in order.
    pub fn controls(&self) -> &[ControlRecord] {
        &self.log
    }

    /// Runs the head to `t` (see [`Engine::run_until`]), snapshotting on
    /// the way. Returns the steps run.
    pub fn run_until(&mut self, t: VirtualTime) -> u64 {
        let before = self.live.steps;
        loop {
            let due = self.next_snapshot;
            let at = self.next_snapshot_at.map_or(t, |at| at.min(t));
            let stop = self.rewinds_at.first().map_or(at, |&r| r.min(at));
            self.live.run(stop, due);
            let rewound = self.rewind_ran();
            // Virtual time for a snapshot (or a rewinding control ran): it
            // is taken without moving the clock (the run goes on
            // stepping, as an unbroken one would).
            if rewound || self.live.steps >= due || stop < t {
                self.snapshot_marked(rewound);
            } else {
                break;
            }
        }
        self.live.engine.run_until(t);
        self.live.steps - before
    }

    /// Runs the head's next action (see [`Engine::step`]).
    pub fn step(&mut self) -> Option<VirtualTime> {
        let t = self.live.engine.step()?;
        self.live.steps += 1;
        let rewound = self.rewind_ran();
        if rewound || self.live.steps >= self.next_snapshot {
            self.snapshot_marked(rewound);
        }
        Some(t)
    }

    /// Whether the next scheduled rewinding control has run (with every
    /// action due at its time); forgets it if so. The snapshot taken then
    /// is an anchor, as after a rewinding control made through the history.
    fn rewind_ran(&mut self) -> bool {
        let Some(&r) = self.rewinds_at.first() else {
            return false;
        };
        let head = &self.live.engine;
        let ran = head.now() >= r && head.next_time().is_none_or(|n| n > r);
        if ran {
            self.rewinds_at.remove(0);
        }
        ran
    }

    /// Stops the sources and runs until drained or `deadline` (see
    /// [`Engine::drain`]); returns whether the run drained.
    pub fn drain(&mut self, deadline: VirtualTime) -> bool {
        self.stop_sources();
        while !self.live.engine.is_drained()
            && self.live.engine.next_time().is_some_and(|n| n <= deadline)
        {
            self.step();
        }
        self.live.engine.is_drained()
    }

    /// Applies a control input to the head now, and logs it.
    pub fn apply(&mut self, fault: Fault) -> Result<(), SimError> {
        self.control(Control::Apply(fault))
    }

    /// Schedules a control input on the head, and logs it.
    pub fn schedule(&mut self, at: VirtualTime, fault: Fault) -> Result<(), SimError> {
        self.control(Control::Schedule(at, fault))
    }

    /// Stops the head's sources, and logs it.
    pub fn stop_sources(&mut self) {
        let _ = self.control(Control::StopSources);
    }

    fn control(&mut self, control: Control) -> Result<(), SimError> {
        let result = apply(&mut self.live.engine, &control);
        self.log.push(ControlRecord {
            steps: self.live.steps,
            at: self.live.engine.now(),
            control,
        });
        self.live.controls = self.log.len();
        if let (Some(_), Control::Schedule(at, f), Ok(())) = (
            &self.archive,
            &self.log[self.log.len() - 1].control,
            &result,
        ) && rewinds(f)
        {
            // An anchor when it runs too (see `rewind_ran`).
            let runs_at = (*at).max(self.live.engine.now());
            let i = self.rewinds_at.partition_point(|&r| r <= runs_at);
            self.rewinds_at.insert(i, runs_at);
        }
        if self.archive.is_some() && archive::rewinding(&self.log[self.log.len() - 1].control) {
            // An anchor: a seek after it need not go back past it.
            self.snapshot_marked(true);
        }
        // A cursor that ran ahead of the head did so without this control.
        if self
            .cursor
            .as_ref()
            .is_some_and(|c| c.steps > self.live.steps || c.engine.now() > self.live.engine.now())
        {
            self.cursor = None;
            self.seek_from = None;
        }
        result
    }

    /// A fresh engine in the state the run was in at virtual time `t`:
    /// every action due at or before `t` run, every control made at or
    /// before `t` applied. A `t` past the head runs on from the head, as
    /// [`History::run_until`] would (without recording it).
    pub fn state_at(&self, t: VirtualTime) -> Engine {
        let mut c = self.begin(self.start_for(t));
        c.advance(t, &self.log, self.limit_for(t));
        c.engine
    }

    /// As [`History::state_at`]`(t)`, with `observe` called on the engine
    /// when it is at `from` (≤ `t`): e.g. to turn on
    /// [`Engine::set_activity`] for the stretch from `from` to `t`. When
    /// reaching `from` would mean restoring an archived image more than a
    /// snapshot spacing before it although a snapshot or checkpoint lies
    /// between `from` and `t`, the engine is observed from that one
    /// instead (a shorter stretch, not a long wait).
    pub fn state_at_observed(
        &self,
        from: VirtualTime,
        t: VirtualTime,
        observe: impl FnOnce(&mut Engine),
    ) -> Engine {
        let from = from.min(t);
        let start = match self.start_for(from) {
            // Far behind `from`: the first kept engine after it is quicker.
            Start::Image(a) if from.since_us(a.at) > self.every_us.max(1) => {
                match self.kept_between(from, t) {
                    Some(k) if k.steps >= a.steps => Start::Kept(k),
                    _ => Start::Image(a),
                }
            }
            start => start,
        };
        let mut c = self.begin(start);
        c.advance(from, &self.log, self.limit_for(from));
        observe(&mut c.engine);
        c.advance(t, &self.log, self.limit_for(t));
        c.engine
    }

    /// As [`History::state_at`], reusing the engine of the previous seek
    /// when `t` is ahead of it (and not behind a closer snapshot).
    pub fn seek(&mut self, t: VirtualTime) -> &Engine {
        self.seek_toward(t, u64::MAX);
        let cursor = self.cursor.get_or_insert_with(|| self.live.clone());
        &cursor.engine
    }

    /// A seek a slice at a time: runs at most `max_steps` engine steps
    /// toward `t` (restoring an archived image counts as one slice) and
    /// returns `None` once the engine at `t` is ready ([`History::seek`]
    /// then returns it at once), or how far it has come. Calls for another
    /// `t` go on from where the last one stopped when `t` is ahead of it.
    /// Before [`History::window_start`] it keeps a checkpoint every
    /// snapshot spacing on the way, so that moments near `t` (the dots'
    /// window before it, a small step back) are reached from there.
    pub fn seek_toward(&mut self, t: VirtualTime, max_steps: u64) -> Option<SeekProgress> {
        let observe_from = self
            .observe_us
            .map(|w| VirtualTime::from_us(t.as_us().saturating_sub(w)));
        let start_steps = self.seek_start(t, observe_from).steps();
        let (mut cursor, restored) = match self.cursor.take() {
            Some(c) if c.engine.now() <= t && c.steps >= start_steps && self.usable(&c, t) => {
                (c, false)
            }
            _ => {
                let start = self.seek_start(t, observe_from);
                let restored = matches!(start, Start::Image(_));
                let c = self.begin(start);
                self.seek_from = Some(c.engine.now());
                (c, restored)
            }
        };
        let limit = self.limit_for(t);
        let mut budget = max_steps.max(1);
        if cursor.observed_from.is_some()
            && observe_from
                .is_none_or(|from| cursor.engine.now() > from && cursor.observed_from != Some(from))
        {
            // Observed from another moment: of no use for this one.
            cursor.engine.set_activity(false);
            cursor.observed_from = None;
        }
        let done = if restored && max_steps != u64::MAX {
            // Restoring took this slice.
            cursor.engine.now() >= t && cursor.advance_by(t, &self.log, limit, 0)
        } else {
            loop {
                let mut stop = self.checkpoint_after(&cursor, t);
                if let Some(from) = observe_from
                    && cursor.engine.now() <= from
                    && cursor.observed_from != Some(from)
                {
                    stop = stop.min(from);
                }
                let before = cursor.steps;
                let reached = cursor.advance_by(stop, &self.log, limit, budget);
                budget = budget.saturating_sub(cursor.steps - before).max(1);
                if !reached {
                    break false;
                }
                if let Some(from) = observe_from
                    && cursor.engine.now() == from
                    && cursor.observed_from != Some(from)
                {
                    // As `state_at_observed(from, t)` turns it on: afresh.
                    cursor.engine.set_activity(false);
                    cursor.engine.set_activity(true);
                    cursor.observed_from = Some(from);
                }
                if stop >= t {
                    break true;
                }
                self.keep_checkpoint(cursor.clone());
            }
        };
        let at = cursor.engine.now();
        self.cursor = Some(cursor);
        if done {
            self.seek_from = None;
            None
        } else {
            Some(SeekProgress {
                from: self.seek_from.unwrap_or(at),
                at,
                to: t,
            })
        }
    }

    /// The engine of the seek under way ([`History::seek_toward`] returned
    /// progress), at the moment it has reached: the restored image's, or
    /// later. `None` when no seek is under way.
    pub fn seek_in_progress(&self) -> Option<&Engine> {
        self.seek_from.and(self.cursor.as_ref()).map(|c| &c.engine)
    }

    /// Makes every seek from now on turn the engine's activity on
    /// ([`Engine::set_activity`]) `window_us` before its target (`None`:
    /// never), so that the seek's engine at `t` is the one
    /// [`History::state_at_observed`]`(t - window_us, t, …)` gives with
    /// activity turned on — the canvas's dots of the moment — without
    /// re-running that stretch a second time ([`History::observed_seek`]).
    /// Only the stretch before the target runs with activity on.
    pub fn observe_seeks(&mut self, window_us: Option<u64>) {
        self.observe_us = window_us;
    }

    /// The engine of the last seek, when it is at `t` and its activity
    /// was turned on at `from` on the way (see [`History::observe_seeks`]):
    /// it is then the engine [`History::state_at_observed`]`(from, t, …)`
    /// returns with activity turned on. `None` otherwise (the seek's
    /// cursor went on from a moment past `from`, say a small step right).
    pub fn observed_seek(&self, from: VirtualTime, t: VirtualTime) -> Option<&Engine> {
        self.cursor
            .as_ref()
            .filter(|c| c.observed_from == Some(from) && c.engine.now() == t)
            .filter(|_| self.seek_from.is_none())
            .map(|c| &c.engine)
    }

    /// Drops the seek cursor and its checkpoints (frees their memory).
    pub fn forget_cursor(&mut self) {
        self.cursor = None;
        self.checkpoints.clear();
        self.seek_from = None;
    }

    /// Where a seek with `cursor` toward `t` stops next: `t`, or the next
    /// checkpoint moment: one of [`SEEK_LEADS_US`] before `t`, or, when
    /// the cursor is before the window and there is an archive, a multiple
    /// of the snapshot spacing among the last [`SEEK_CHECKPOINTS`] before `t`.
    fn checkpoint_after(&self, cursor: &Cursor, t: VirtualTime) -> VirtualTime {
        let now = cursor.engine.now();
        // Shortly before `t`, wherever it is.
        let lead = SEEK_LEADS_US
            .iter()
            .map(|&l| VirtualTime::from_us(t.as_us().saturating_sub(l)))
            .find(|&at| at > now)
            .unwrap_or(t);
        if self.archive.is_none() || now >= self.window_start() {
            return lead;
        }
        let every = self.every_us.max(1);
        // Only the last few before `t` are kept: none before them is taken.
        let kept_span = every.saturating_mul(SEEK_CHECKPOINTS as u64);
        let from = now.as_us().max(t.as_us().saturating_sub(kept_span));
        let next = VirtualTime::from_us((from / every).saturating_add(1).saturating_mul(every));
        next.min(lead)
    }

    fn keep_checkpoint(&mut self, mut c: Cursor) {
        // A clone: its activity is off.
        c.observed_from = None;
        // Past the head, a control made later at the head would be missing.
        let ahead = c.steps > self.live.steps || c.engine.now() > self.live.engine.now();
        if ahead || self.checkpoints.iter().any(|k| k.steps == c.steps) {
            return;
        }
        if self.checkpoints.len() >= SEEK_CHECKPOINTS {
            self.checkpoints.remove(0);
        }
        self.checkpoints.push(c);
    }

    /// Steps a seek to `t` may run: everything recorded when `t` is before
    /// the head; unbounded past it.
    fn limit_for(&self, t: VirtualTime) -> u64 {
        if t <= self.live.engine.now() {
            self.live.steps
        } else {
            u64::MAX
        }
    }

    /// The earliest kept engine (snapshot or checkpoint) after `from` and
    /// at or before `t`.
    fn kept_between(&self, from: VirtualTime, t: VirtualTime) -> Option<&Cursor> {
        let i = self.snapshots.partition_point(|s| s.engine.now() <= from);
        let snapshot = self.snapshots.get(i).filter(|s| s.engine.now() <= t);
        self.checkpoints
            .iter()
            .filter(|c| c.engine.now() > from && c.engine.now() <= t && self.usable(c, t))
            .chain(snapshot)
            .min_by_key(|c| c.steps)
    }

    /// Whether the engine of `c` runs on exactly to `t` (see [`archive`]).
    fn usable(&self, c: &Cursor, t: VirtualTime) -> bool {
        c.slim.is_none() || {
            let to = self.log.partition_point(|r| r.at <= t);
            let rejected = self.live.engine.rejected_publishes();
            archive::usable(c.slim, &self.log, c.controls, to, rejected)
        }
    }

    /// The latest kept engine (snapshot or checkpoint) at or before `t`.
    fn kept_before(&self, t: VirtualTime) -> Option<&Cursor> {
        let i = self.snapshots.partition_point(|s| s.engine.now() <= t);
        let snapshot = i.checked_sub(1).and_then(|i| self.snapshots.get(i));
        self.checkpoints
            .iter()
            .filter(|c| c.engine.now() <= t && self.usable(c, t))
            .chain(snapshot)
            .max_by_key(|c| c.steps)
    }

    /// Where a re-execution to `t` starts: the latest kept engine or
    /// archived image at or before `t`, whichever costs less to run on
    /// from (an image only when it is later by more steps than restoring
    /// it costs: cloning a kept engine is far cheaper); the oldest
    /// snapshot when nothing is at or before `t`.
    fn start_for(&self, t: VirtualTime) -> Start<'_> {
        let kept = self.kept_before(t);
        let rejected = self.live.engine.rejected_publishes();
        let image = self
            .archive
            .as_ref()
            .and_then(|a| a.before(t, &self.log, rejected));
        match (kept, image) {
            (Some(k), Some(a)) if a.steps > k.steps.saturating_add(a.restore_cost_steps()) => {
                Start::Image(a)
            }
            (Some(k), _) => Start::Kept(k),
            (None, Some(a)) => Start::Image(a),
            (None, None) => Start::Kept(&self.snapshots[0]),
        }
    }

    /// Where a seek to `t` starts: as any re-execution to `t`; when it is
    /// to observe from `from` ([`History::observe_seeks`]), from where the
    /// re-run of `from ..= t` would start instead, unless that is earlier
    /// by more than `t - from` (the stretch it saves re-running).
    fn seek_start(&self, t: VirtualTime, observe_from: Option<VirtualTime>) -> Start<'_> {
        let for_t = self.start_for(t);
        match observe_from {
            Some(from) if from < t => {
                let for_from = self.start_for(from);
                if for_t.at().since_us(for_from.at()) <= t.since_us(from) {
                    for_from
                } else {
                    for_t
                }
            }
            _ => for_t,
        }
    }

    /// The engine a re-execution starts with. An image that does not
    /// restore (a bug: the archive made it) falls back to the oldest
    /// snapshot, the moment shown before archives existed.
    fn begin(&self, start: Start<'_>) -> Cursor {
        match start {
            Start::Kept(c) => c.clone(),
            Start::Image(a) => a
                .restore(&self.live.engine)
                .unwrap_or_else(|_| self.snapshots[0].clone()),
        }
    }

    /// Takes a snapshot of the head; `anchor`: one right after a
    /// rewinding control, archived whatever the spacing (see [`archive`]).
    fn snapshot_marked(&mut self, anchor: bool) {
        if self.sliding && self.snapshots.len() >= self.options.max_snapshots {
            let leaving = self.snapshots.remove(0);
            if let Some(archive) = &mut self.archive {
                archive.offer(leaving);
            }
            // A cursor older than the oldest snapshot would keep its log
            // chunks alive; it is rebuilt on the next seek.
            if self
                .cursor
                .as_ref()
                .is_some_and(|c| c.steps < self.snapshots[0].steps)
            {
                self.forget_cursor();
            }
            // The stores' events before the oldest moment kept go too.
            let oldest = self.snapshots[0].engine.store_positions();
            self.live.engine.trim_store_logs(&oldest);
            for s in &mut self.snapshots {
                s.engine.trim_store_logs_as(&oldest, &self.live.engine);
            }
        } else if self.snapshots.len() >= self.options.max_snapshots {
            // Keep the first and every other one after it.
            let mut i = 0;
            self.snapshots.retain(|_| {
                i += 1;
                i % 2 == 1
            });
            self.every_steps = self.every_steps.saturating_mul(2);
        }
        let mut snapshot = self.live.clone();
        snapshot.anchor = anchor;
        self.snapshots.push(snapshot);
        self.next_snapshot = self.live.steps.saturating_add(self.every_steps);
        if self.sliding {
            self.next_snapshot_at = Some(self.live.engine.now().plus_us(self.every_us));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ArchGraph;
    use crate::sim::{Scenario, VirtualTime};

    fn seed_engine(seed: u64) -> Engine {
        let chart = crate::mermaid::parse_flowchart(crate::SEED_DIAGRAM).expect("seed parses");
        let g = ArchGraph::from_flowchart(&chart);
        Engine::new(&g, Scenario::default_for(&g), seed).expect("seed builds")
    }

    fn small() -> HistoryOptions {
        HistoryOptions {
            snapshot_every_steps: 500,
            max_snapshots: 8,
        }
    }

    #[test]
    fn state_at_equals_a_run_from_zero() {
        let mut h = History::new(seed_engine(3), small());
        h.run_until(VirtualTime::from_secs(4));
        assert!(h.snapshot_count() > 2, "{}", h.snapshot_count());
        assert!(h.snapshot_count() <= 8);
        for ms in [0, 1, 333, 1_000, 2_222, 3_999, 4_000] {
            let t = VirtualTime::from_millis(ms);
            let mut fresh = seed_engine(3);
            fresh.run_until(t);
            let past = h.state_at(t);
            assert_eq!(past.run_hash(), fresh.run_hash(), "at {t}");
            assert_eq!(past.summary(), fresh.summary(), "at {t}");
        }
        assert_eq!(h.state_at(h.head().now()).run_hash(), h.head().run_hash());
    }

    #[test]
    fn seeks_back_and_forth_reproduce_the_controls() {
        let mut h = History::new(seed_engine(4), small());
        h.run_until(VirtualTime::from_millis(700));
        h.apply(Fault::Crash {
            group: "Consumer1".into(),
            instance: 0,
            duration_us: Some(300_000),
        })
        .expect("crash");
        for _ in 0..37 {
            h.step();
        }
        h.apply(Fault::ResetToOffset {
            group: "ReadModel".into(),
            offset: 0,
        })
        .expect("reset");
        assert!(
            h.apply(Fault::AddInstance {
                group: "Nope".into()
            })
            .is_err()
        );
        h.run_until(VirtualTime::from_millis(1_500));
        assert!(h.drain(VirtualTime::from_secs(60)));
        let end = h.head().now();
        let head_hash = h.head().run_hash();
        for ms in [1_400, 200, 710, 1_450, 900] {
            let t = VirtualTime::from_millis(ms);
            let a = h.state_at(t).run_hash();
            let b = h.seek(t).run_hash();
            assert_eq!(a, b, "at {t}");
        }
        assert_eq!(h.seek(end).run_hash(), head_hash);
        assert_eq!(h.state_at(end).summary(), h.head().summary());
        assert_eq!(h.controls().len(), 4);
    }

    #[test]
    fn sliding_keeps_a_recent_window_and_trims_the_store_logs_behind_it() {
        let options = HistoryOptions {
            snapshot_every_steps: 1 << 40,
            max_snapshots: 6,
        };
        let mut h = History::sliding(seed_engine(6), options, 1_000_000);
        h.run_until(VirtualTime::from_secs(10));
        assert!(h.is_sliding());
        assert_eq!(h.snapshot_count(), 6, "a snapshot per virtual second");
        let times: Vec<VirtualTime> = h.snapshot_times().collect();
        assert!(
            times.windows(2).all(|w| w[1].since_us(w[0]) <= 1_000_000),
            "{times:?}"
        );
        let earliest = h.earliest();
        assert!(earliest >= VirtualTime::from_secs(4), "{earliest}");
        // Inside the window the past is exact.
        for ms in [earliest.as_us() / 1_000, 5_500, 7_777, 10_000] {
            let t = VirtualTime::from_millis(ms);
            let mut fresh = seed_engine(6);
            fresh.run_until(t);
            assert_eq!(h.state_at(t).run_hash(), fresh.run_hash(), "at {t}");
        }
        // Before it, the oldest moment kept is what is shown.
        assert_eq!(h.state_at(VirtualTime::ZERO).now(), earliest);
        // The event store keeps no events from before the window.
        let oldest = h.state_at(earliest);
        let at_oldest = oldest.event_store("ES").map_or(0, |s| s.store_len());
        let store = h.head().event_store("ES").expect("the seed's event store");
        assert_eq!(store.log_missing() as u64, at_oldest);
        assert_eq!(store.log_len() as u64 + at_oldest, store.store_len());
        let err = h.head().rebuild_projection("ReadModel");
        assert!(err.is_err(), "a trimmed log cannot rebuild from position 1");
        // Longer runs keep the same number of snapshots and a log that
        // does not grow with the run's length.
        let kept = store.log_len();
        h.run_until(VirtualTime::from_secs(30));
        assert_eq!(h.snapshot_count(), 6);
        let later = h.head().event_store("ES").map_or(0, |s| s.log_len());
        assert!(later < kept * 3 / 2, "{later} vs {kept}");
    }

    /// A seek leaves checkpoints shortly before its target, so that the
    /// stretch the canvas re-runs before it (with activity on) starts
    /// there, not at the snapshot before.
    #[test]
    fn a_seek_keeps_checkpoints_just_before_its_target() {
        let options = HistoryOptions {
            snapshot_every_steps: 1 << 40,
            max_snapshots: 8,
        };
        let mut h = History::sliding(seed_engine(8), options, 30_000_000);
        h.run_until(VirtualTime::from_secs(40));
        let t = VirtualTime::from_secs(29);
        let mut fresh = seed_engine(8);
        fresh.run_until(t);
        assert_eq!(h.seek(t).run_hash(), fresh.run_hash());
        let kept: Vec<u64> = h
            .checkpoints
            .iter()
            .map(|c| c.engine.now().as_us())
            .collect();
        assert_eq!(kept, [18_000_000, 24_000_000, 27_000_000]);
        let from = VirtualTime::from_us(t.as_us() - 1_400_000);
        match h.start_for(from) {
            Start::Kept(c) => assert_eq!(c.engine.now(), VirtualTime::from_secs(27)),
            Start::Image(_) => panic!("no archive"),
        }
        let observed = h.state_at_observed(from, t, |e| e.set_activity(true));
        assert_eq!(observed.run_hash(), fresh.run_hash());
        assert!(observed.activity().is_some());
        // None past the head: a control made there later would be missing.
        h.forget_cursor();
        h.seek(VirtualTime::from_secs(50));
        assert!(
            h.checkpoints
                .iter()
                .all(|c| c.engine.now() <= h.head().now())
        );
        h.apply(Fault::ResetToOffset {
            group: "ReadModel".into(),
            offset: 0,
        })
        .expect("reset");
        let mut fresh = seed_engine(8);
        fresh.run_until(VirtualTime::from_secs(40));
        fresh
            .apply_fault(Fault::ResetToOffset {
                group: "ReadModel".into(),
                offset: 0,
            })
            .expect("reset");
        fresh.run_until(VirtualTime::from_secs(50));
        assert_eq!(
            h.seek(VirtualTime::from_secs(50)).run_hash(),
            fresh.run_hash()
        );
    }

    #[test]
    fn thinning_keeps_memory_bounded_and_spacing_grows() {
        let mut h = History::new(seed_engine(5), small());
        h.run_until(VirtualTime::from_secs(10));
        assert!(h.snapshot_count() <= 8);
        assert!(h.snapshot_every_steps() > 500);
        let times: Vec<VirtualTime> = h.snapshot_times().collect();
        assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
    }
}
