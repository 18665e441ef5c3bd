//! The timeline's driver side: how a live run keeps its past
//! ([`PastOptions`]: a recent window of snapshots and an archive of
//! compact images behind it, so the whole run stays reachable in bounded
//! memory), what the scrubber needs to know of it ([`TimelineFrame`]),
//! and seeks far back done a slice per tick so the driver keeps
//! answering while one runs ([`SeekState`]).
//!
//! The archive's images are encoded and deflated on a worker thread
//! ([`Archiver`]), not on the driver's: an image takes tens of
//! milliseconds to make, which would stall the run and the frames. The
//! image is of a copy of the engine, so this changes only when it becomes
//! usable; a seek into the archive first waits for the images under way.
//!
//! Must not depend on egui.

use crate::sim::{
    ArchiveImage, ArchiveJob, ArchiveOptions, Engine, History, HistoryOptions,
    LIVE_SNAPSHOT_EVERY_US, LIVE_SNAPSHOTS, SeekProgress, VirtualTime,
};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Engine steps a seek runs between looks at the clock (about 5 ms on
/// the seed diagram in a release build).
const SEEK_SLICE_STEPS: u64 = 20_000;

/// Wall-clock time a frame may spend on a seek before the driver shows
/// its progress instead and goes on next tick: a seek inside the window
/// (at most a snapshot spacing to re-run) normally fits.
const SEEK_BUDGET: Duration = Duration::from_millis(30);

/// A seek past [`SEEK_BUDGET`] that, at the pace it has gone so far, ends
/// within this much in all goes on to the exact picture rather than
/// showing its progress first (and then waiting for the next tick).
const SEEK_FINISH: Duration = Duration::from_millis(90);

/// How a live run keeps its past.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PastOptions {
    /// Snapshots in the recent window (the oldest is archived or dropped
    /// when a new one comes).
    pub snapshots: usize,
    /// Virtual time between snapshots, at most (µs).
    pub snapshot_every_us: u64,
    /// The archive of the snapshots leaving the window; `None` keeps only
    /// the window.
    pub archive: Option<ArchiveOptions>,
}

impl Default for PastOptions {
    /// [`LIVE_SNAPSHOTS`] every [`LIVE_SNAPSHOT_EVERY_US`] (about 65 MB
    /// on the seed diagram) and the default archive (at most
    /// [`crate::sim::ARCHIVE_BYTES`]).
    fn default() -> Self {
        PastOptions {
            snapshots: LIVE_SNAPSHOTS,
            snapshot_every_us: LIVE_SNAPSHOT_EVERY_US,
            archive: Some(ArchiveOptions::default()),
        }
    }
}

impl PastOptions {
    /// The history of a live run, whose memory must plateau however long
    /// it runs: the engine records hops for the canvas's moving dots, its
    /// event stores keep their latest events, and the history keeps the
    /// window and the archive (the run's hash is the same as without these).
    pub(super) fn history(&self, mut engine: Engine) -> History {
        engine.set_activity(true);
        engine.set_store_keep_latest(true);
        let history = History::sliding(
            engine,
            HistoryOptions {
                max_snapshots: self.snapshots,
                ..HistoryOptions::default()
            },
            self.snapshot_every_us,
        );
        match self.archive {
            Some(options) => {
                let mut history = history.with_archive(options);
                history.defer_archiving(true);
                history
            }
            None => history,
        }
    }
}

/// Encodes a history's archive images on a worker thread (see the module
/// doc). Images of an older history (before a reset) are dropped.
#[derive(Debug, Default)]
pub(super) struct Archiver {
    /// Jobs to the worker, tagged with the history's generation.
    jobs: Option<mpsc::Sender<(u64, ArchiveJob)>>,
    done: Option<mpsc::Receiver<(u64, ArchiveImage)>>,
    /// Bumped when the history is replaced.
    generation: u64,
    /// Jobs sent and not yet back.
    in_flight: usize,
}

impl Archiver {
    /// Sends `history`'s waiting snapshots to the worker and keeps the
    /// images that came back. Never waits.
    pub(super) fn pump(&mut self, history: &mut History) {
        for job in history.take_archive_jobs() {
            self.send(history, job);
        }
        while let Some(Ok((generation, image))) = self.done.as_ref().map(mpsc::Receiver::try_recv) {
            self.in_flight = self.in_flight.saturating_sub(1);
            if generation == self.generation {
                history.add_archive_image(image);
            }
        }
    }

    /// As [`Archiver::pump`], then waits for the images under way (a seek
    /// into the archive wants the nearest one).
    pub(super) fn flush(&mut self, history: &mut History) {
        self.pump(history);
        while self.in_flight > 0 {
            let Some(Ok((generation, image))) = self.done.as_ref().map(mpsc::Receiver::recv) else {
                // The worker is gone: nothing more will come back.
                self.in_flight = 0;
                break;
            };
            self.in_flight -= 1;
            if generation == self.generation {
                history.add_archive_image(image);
            }
        }
    }

    /// The history was replaced: what is under way belongs to the old one.
    pub(super) fn reset(&mut self) {
        self.generation += 1;
    }

    fn send(&mut self, history: &mut History, job: ArchiveJob) {
        if self.jobs.is_none() {
            let (jobs, rx) = mpsc::channel::<(u64, ArchiveJob)>();
            let (tx, done) = mpsc::channel();
            let spawned = std::thread::Builder::new()
                .name("eda-archive".into())
                .spawn(move || {
                    for (generation, job) in rx {
                        if tx.send((generation, job.encode())).is_err() {
                            return;
                        }
                    }
                });
            if spawned.is_ok() {
                self.jobs = Some(jobs);
                self.done = Some(done);
            }
        }
        match &self.jobs {
            Some(jobs) => match jobs.send((self.generation, job)) {
                Ok(()) => self.in_flight += 1,
                // The worker died: encode here rather than lose the image.
                Err(mpsc::SendError((_, job))) => history.add_archive_image(job.encode()),
            },
            None => history.add_archive_image(job.encode()),
        }
    }
}

/// Whether a seek that took `spent` for the part `done` of its way ends
/// within `limit` in all at that pace (never when nothing is done yet;
/// never once `spent` reaches `limit`).
fn ends_within(spent: Duration, done: f64, limit: Duration) -> bool {
    done > 0.0 && spent.as_secs_f64() / done.min(1.0) < limit.as_secs_f64()
}

/// What the timeline scrubber shows of the run's past.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TimelineFrame {
    /// The earliest moment that can be shown (µs; 0 unless the run keeps
    /// no archive).
    pub earliest_us: u64,
    /// The oldest snapshot's moment (µs): moments from here to the head
    /// are quick to show; earlier ones are re-run from an archived image.
    pub window_start_us: u64,
    /// Archived images kept.
    pub archived_images: u32,
    /// Bytes they take.
    pub archive_bytes: u64,
    /// Of those, the images that leave out the records every group had
    /// committed (see `sim::history` `archive`).
    pub slim_images: u32,
    /// When the moment shown was re-run from such an image: its event
    /// log lacks records published up to this time (µs).
    pub log_missing_until_us: Option<u64>,
    /// Virtual time between archived images (µs): about the most a seek
    /// before the window re-runs.
    pub archive_spacing_us: u64,
    /// The seek under way, when one takes more than a frame.
    pub seeking: Option<Seeking>,
}

/// A seek under way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seeking {
    /// The moment it re-runs from (µs).
    pub from_us: u64,
    /// The moment reached so far (µs).
    pub at_us: u64,
    /// The moment asked for (µs).
    pub to_us: u64,
}

impl Seeking {
    /// The part done, 0 ..= 1.
    pub fn fraction(&self) -> f32 {
        SeekProgress {
            from: VirtualTime::from_us(self.from_us),
            at: VirtualTime::from_us(self.at_us),
            to: VirtualTime::from_us(self.to_us),
        }
        .fraction() as f32
    }
}

impl From<SeekProgress> for Seeking {
    fn from(p: SeekProgress) -> Seeking {
        Seeking {
            from_us: p.from.as_us(),
            at_us: p.at.as_us(),
            to_us: p.to.as_us(),
        }
    }
}

/// The driver's seek under way, if any.
#[derive(Debug, Default)]
pub(super) struct SeekState {
    seeking: Option<Seeking>,
}

impl SeekState {
    /// Works on the seek to `t` (µs) for at most [`SEEK_BUDGET`]; true
    /// when the engine at `t` is ready ([`History::seek`] returns it at once).
    pub(super) fn prepare(&mut self, history: &mut History, t: u64) -> bool {
        let started = Instant::now();
        let t = VirtualTime::from_us(t);
        loop {
            match history.seek_toward(t, SEEK_SLICE_STEPS) {
                None => {
                    self.seeking = None;
                    return true;
                }
                Some(p) => {
                    self.seeking = Some(p.into());
                    let spent = started.elapsed();
                    if spent >= SEEK_BUDGET && !ends_within(spent, p.fraction(), SEEK_FINISH) {
                        return false;
                    }
                }
            }
        }
    }

    /// Whether a seek is under way (the driver then ticks to go on with it).
    pub(super) fn is_seeking(&self) -> bool {
        self.seeking.is_some()
    }

    /// Forgets the seek under way (back to the live moment, a reset).
    pub(super) fn cancel(&mut self) {
        self.seeking = None;
    }

    /// The timeline of `history`, with the seek under way.
    pub(super) fn frame(&self, history: &History) -> TimelineFrame {
        TimelineFrame {
            earliest_us: history.earliest().as_us(),
            window_start_us: history.window_start().as_us(),
            archived_images: u32::try_from(history.archive_len()).unwrap_or(u32::MAX),
            archive_bytes: history.archive_bytes() as u64,
            archive_spacing_us: history.archive_spacing_us(),
            slim_images: u32::try_from(history.archive_stats().0).unwrap_or(u32::MAX),
            log_missing_until_us: None,
            seeking: self.seeking,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::live::{Command, Frame, LiveHandle};
    use crate::mermaid::parse_flowchart;
    use crate::model::ArchGraph;
    use crate::sim::{Fault, Scenario};
    use std::sync::Arc;

    const WAIT: Duration = Duration::from_secs(60);

    /// A live run whose window is 4 snapshots half a virtual second apart,
    /// so a few seconds of run put its start in the archive.
    fn start_small(seed: u64) -> LiveHandle {
        let g = ArchGraph::from_flowchart(&parse_flowchart(crate::SEED_DIAGRAM).unwrap());
        let scenario = Scenario::default_for(&g);
        let past = PastOptions {
            snapshots: 4,
            snapshot_every_us: 500_000,
            archive: Some(ArchiveOptions {
                max_images: 4,
                max_bytes: usize::MAX,
            }),
        };
        LiveHandle::start_with_past(g, scenario, seed, past, || {}).unwrap()
    }

    fn step_to(live: &mut LiveHandle, us: u64) -> Arc<Frame> {
        let now = live.frame().head_us;
        live.send(Command::StepBy(us - now)).unwrap();
        live.wait_for(WAIT, |f| f.now_us >= us && !f.viewing_past)
    }

    #[test]
    fn a_moment_older_than_the_window_shows_as_it_was() {
        let mut live = start_small(3);
        live.send(Command::Select(Some("InvDB".into()))).unwrap();
        step_to(&mut live, 1_500_000);
        live.send(Command::Fault(Fault::Crash {
            group: "Consumer1".into(),
            instance: 0,
            duration_us: Some(2_000_000),
        }))
        .unwrap();
        // The picture at 3.3 s, taken while it was the head.
        let then = step_to(&mut live, 3_300_000);
        assert_eq!(then.now_us, 3_300_000);
        let head = step_to(&mut live, 9_000_000);
        assert_eq!(head.timeline.earliest_us, 0);
        assert!(
            head.timeline.window_start_us > 3_300_000,
            "3.3 s is out of the window: {:?}",
            head.timeline
        );
        assert!(head.timeline.archived_images >= 2, "{:?}", head.timeline);
        assert!(head.timeline.archive_bytes > 0);

        live.send(Command::Seek(3_300_000)).unwrap();
        let past = live.wait_for(WAIT, |f| f.viewing_past && f.now_us == 3_300_000);
        assert_eq!(past.now_us, 3_300_000, "the seek arrived");
        assert_eq!(past.head_us, head.head_us);
        assert_eq!(past.timeline.seeking, None);
        assert_eq!(past.run_hash, then.run_hash);
        assert_eq!(past.deliveries, then.deliveries);
        assert_eq!(past.components, then.components);
        assert_eq!(past.groups, then.groups);
        assert_eq!(past.invariants, then.invariants);
        assert_eq!(past.faults, then.faults);
        let (a, b) = (past.detail.as_ref().unwrap(), then.detail.as_ref().unwrap());
        assert_eq!(a.key, "InvDB");
        assert!(!a.tables.is_empty());
        assert_eq!(a.tables, b.tables, "the inspector's tables");

        // Before the earliest moment there is nothing: time zero is shown.
        live.send(Command::Seek(0)).unwrap();
        let zero = live.wait_for(WAIT, |f| f.viewing_past && f.now_us == 0);
        assert_eq!(zero.deliveries, 0);

        live.send(Command::Live).unwrap();
        let back = live.wait_for(WAIT, |f| !f.viewing_past);
        assert_eq!(back.now_us, head.head_us);
        assert_eq!(back.run_hash, head.run_hash);
    }

    #[test]
    fn without_an_archive_the_window_is_all_there_is() {
        let g = ArchGraph::from_flowchart(&parse_flowchart(crate::SEED_DIAGRAM).unwrap());
        let past = PastOptions {
            snapshots: 4,
            snapshot_every_us: 500_000,
            archive: None,
        };
        let mut live =
            LiveHandle::start_with_past(g.clone(), Scenario::default_for(&g), 3, past, || {})
                .unwrap();
        let head = step_to(&mut live, 4_000_000);
        assert_eq!(head.timeline.archived_images, 0);
        assert_eq!(head.timeline.earliest_us, head.timeline.window_start_us);
        live.send(Command::Seek(0)).unwrap();
        let f = live.wait_for(WAIT, |f| f.viewing_past);
        assert_eq!(f.now_us, head.timeline.window_start_us);
    }

    #[test]
    fn a_seek_goes_on_only_when_it_ends_in_time() {
        let ms = Duration::from_millis;
        assert!(ends_within(ms(40), 0.5, ms(90)), "80 ms in all");
        assert!(!ends_within(ms(40), 0.4, ms(90)), "100 ms in all");
        assert!(!ends_within(ms(40), 0.0, ms(90)), "no pace yet");
        assert!(!ends_within(ms(90), 1.0, ms(90)), "out of time");
    }

    #[test]
    fn seeking_progress_is_a_fraction() {
        let s = Seeking {
            from_us: 10,
            at_us: 35,
            to_us: 60,
        };
        assert!((s.fraction() - 0.5).abs() < 1e-6);
        let done = Seeking {
            from_us: 5,
            at_us: 5,
            to_us: 5,
        };
        assert_eq!(done.fraction(), 1.0);
    }
}
