//! [`Archive`]: the part of a live run older than its sliding window of
//! snapshots, kept as a bounded number of compact engine images.
//!
//! # How
//! When a [`super::History::sliding`] history drops its oldest snapshot,
//! the archive may keep it as an engine image (`sim::image`, deflated):
//! about 0.6–0.9 MB on the seed diagram against the 2 MB a snapshot
//! holds. It keeps one every `spacing` of virtual time; when it holds
//! more than [`ArchiveOptions::max_images`] images or
//! [`ArchiveOptions::max_bytes`] bytes, every other image after the first
//! is dropped and the spacing doubles. So the archive always reaches back
//! to the run's start (the first image, at time 0, is never dropped), its
//! images are evenly spread over the archived span, and its memory is
//! bounded whatever the run's length. A moment in the archive is reached
//! by restoring the latest image at or before it and running forward,
//! with the history's control records, exactly as from a snapshot.
//!
//! # What an image needs to run forward
//! Everything the engine's later actions read is in an image: the
//! scheduler, RNG, the partitions' retained records, offsets, groups,
//! sinks, DLQs, the time series' open intervals (see `sim::image`). What
//! it leaves out is never read by the run: the event stores' kept logs
//! (the live window trims them anyway, and a restored store marks them
//! missing), the recorder tap and the observers' taps. The one setting
//! an image does not carry — whether stores keep their latest events — is
//! taken from the live engine on restore, so a restored engine grows its
//! log as the live one does.
//!
//! Part of `sim`: no wall-clock time, threads, files or GUI types.

use super::Cursor;
use crate::sim::EventStore;
use crate::sim::clock::VirtualTime;
use crate::sim::image::ImageError;
use crate::sim::world::Engine;
use std::sync::Arc;

/// Images an archive keeps at most, by default.
pub const ARCHIVE_IMAGES: usize = 128;

/// Bytes of (deflated) images an archive keeps at most, by default: with
/// the seed diagram's images (0.6–0.9 MB deflated, measured after 20 min
/// to 2 h of virtual time) this bound, not [`ARCHIVE_IMAGES`], decides,
/// and the archive holds 40–100 images.
pub const ARCHIVE_BYTES: usize = 64 << 20;

/// Deflate level: the fastest (about 30 ms for a 2 MB image), which
/// already shrinks the seed's images 2.5×; higher levels save under 10%
/// more for four times the time.
const DEFLATE_LEVEL: u8 = 1;

/// How many images an [`Archive`] keeps and how many bytes they may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArchiveOptions {
    /// Most images kept (at least 2); beyond it the archive thins.
    pub max_images: usize,
    /// Most bytes of images kept; beyond it the archive thins (down to
    /// the first image, whatever its size).
    pub max_bytes: usize,
}

impl Default for ArchiveOptions {
    fn default() -> Self {
        ArchiveOptions {
            max_images: ARCHIVE_IMAGES,
            max_bytes: ARCHIVE_BYTES,
        }
    }
}

/// One archived moment: a deflated engine image and where it stands in
/// the recorded run.
#[derive(Debug, Clone)]
pub(super) struct Archived {
    /// The engine's virtual time.
    pub(super) at: VirtualTime,
    /// Engine steps run before it.
    pub(super) steps: u64,
    /// Control records applied before it.
    pub(super) controls: usize,
    /// Records published before it (to start a trace from).
    pub(super) events: u64,
    /// Length of the image once inflated.
    image_len: usize,
    /// The image, deflated; shared by clones of the history.
    deflated: Arc<[u8]>,
}

impl Archived {
    /// Encodes the engine of `c`.
    fn of(c: &Cursor) -> Result<Archived, ImageError> {
        let image = c.engine.to_image()?;
        let deflated = miniz_oxide::deflate::compress_to_vec(&image, DEFLATE_LEVEL);
        Ok(Archived {
            at: c.engine.now(),
            steps: c.steps,
            controls: c.controls,
            events: c.engine.events_produced(),
            image_len: image.len(),
            deflated: deflated.into(),
        })
    }

    /// Restores the archived engine, with the settings an image does not
    /// carry taken from `like` (the live engine).
    pub(super) fn restore(&self, like: &Engine) -> Result<Cursor, ImageError> {
        let image =
            miniz_oxide::inflate::decompress_to_vec_with_limit(&self.deflated, self.image_len)
                .map_err(|e| {
                    ImageError::Decode(format!(
                        "archived image at {} does not inflate: {:?}",
                        self.at, e.status
                    ))
                })?;
        let mut engine = Engine::from_image(&image)?;
        let keep_latest = like
            .group_names()
            .any(|g| like.event_store(g).is_some_and(EventStore::keeps_latest));
        engine.set_store_keep_latest(keep_latest);
        Ok(Cursor {
            engine,
            steps: self.steps,
            controls: self.controls,
        })
    }

    /// Bytes this image takes.
    fn size(&self) -> usize {
        self.deflated.len()
    }
}

/// The archived past of a sliding history (see the module doc).
#[derive(Debug, Clone)]
pub(super) struct Archive {
    /// Oldest first; the first is the run's start.
    images: Vec<Archived>,
    /// Virtual time between kept images, at least.
    spacing_us: u64,
    options: ArchiveOptions,
    /// Bytes of `images`.
    bytes: usize,
    /// Why the last image offered could not be encoded, if it could not.
    error: Option<String>,
}

impl Archive {
    /// An empty archive keeping an image every `spacing_us` at first.
    pub(super) fn new(spacing_us: u64, options: ArchiveOptions) -> Archive {
        Archive {
            images: Vec::new(),
            spacing_us: spacing_us.max(1),
            options: ArchiveOptions {
                max_images: options.max_images.max(2),
                max_bytes: options.max_bytes,
            },
            bytes: 0,
            error: None,
        }
    }

    /// Offers a snapshot leaving the window: it is encoded and kept when
    /// it is `spacing` after the last image kept (or is the first).
    pub(super) fn offer(&mut self, c: &Cursor) {
        if self
            .images
            .last()
            .is_some_and(|last| c.engine.now().since_us(last.at) < self.spacing_us)
        {
            return;
        }
        match Archived::of(c) {
            Ok(image) => {
                self.bytes += image.size();
                self.images.push(image);
                self.error = None;
            }
            Err(e) => self.error = Some(e.to_string()),
        }
        while self.images.len() > self.options.max_images
            || (self.images.len() > 1 && self.bytes > self.options.max_bytes)
        {
            self.thin();
        }
    }

    /// Keeps the first image and every other one after it; doubles the
    /// spacing.
    fn thin(&mut self) {
        let mut i = 0;
        self.images.retain(|_| {
            i += 1;
            i % 2 == 1
        });
        self.bytes = self.images.iter().map(Archived::size).sum();
        self.spacing_us = self.spacing_us.saturating_mul(2);
    }

    /// The latest image at or before `t`.
    pub(super) fn before(&self, t: VirtualTime) -> Option<&Archived> {
        let i = self.images.partition_point(|a| a.at <= t);
        i.checked_sub(1).and_then(|i| self.images.get(i))
    }

    /// The latest image taken before record `event_id` was published.
    pub(super) fn before_event(&self, event_id: u64) -> Option<&Archived> {
        let i = self.images.partition_point(|a| a.events <= event_id);
        i.checked_sub(1).and_then(|i| self.images.get(i))
    }

    /// The oldest moment archived.
    pub(super) fn first(&self) -> Option<VirtualTime> {
        self.images.first().map(|a| a.at)
    }

    /// Images kept.
    pub(super) fn len(&self) -> usize {
        self.images.len()
    }

    /// Bytes the images take.
    pub(super) fn bytes(&self) -> usize {
        self.bytes
    }

    /// Virtual time between kept images now, at least.
    pub(super) fn spacing_us(&self) -> u64 {
        self.spacing_us
    }

    /// The times of the images kept, oldest first.
    pub(super) fn times(&self) -> impl Iterator<Item = VirtualTime> + '_ {
        self.images.iter().map(|a| a.at)
    }

    /// Why the last image offered was not kept, if it could not be encoded.
    pub(super) fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::super::{History, HistoryOptions, SEEK_CHECKPOINTS, TraceStatus, Tracer};
    use super::*;
    use crate::model::ArchGraph;
    use crate::sim::{Fault, Scenario};

    fn seed_engine(seed: u64) -> Engine {
        let chart = crate::mermaid::parse_flowchart(crate::SEED_DIAGRAM).expect("seed parses");
        let g = ArchGraph::from_flowchart(&chart);
        let mut e = Engine::new(&g, Scenario::default_for(&g), seed).expect("seed builds");
        // As a live run's engine: restored images must keep this too.
        e.set_store_keep_latest(true);
        e
    }

    /// A live-style history: a window of `window` snapshots `every_us`
    /// apart, and an archive.
    fn archived(seed: u64, window: usize, every_us: u64, options: ArchiveOptions) -> History {
        let options_h = HistoryOptions {
            snapshot_every_steps: 1 << 40,
            max_snapshots: window,
        };
        History::sliding(seed_engine(seed), options_h, every_us).with_archive(options)
    }

    fn keep_all(seed: u64) -> History {
        let options = HistoryOptions {
            snapshot_every_steps: 2_000,
            max_snapshots: 64,
        };
        History::new(seed_engine(seed), options)
    }

    fn secs(s: f64) -> VirtualTime {
        VirtualTime::from_us((s * 1e6) as u64)
    }

    #[test]
    fn thinning_keeps_the_whole_span_within_the_image_bound() {
        let every = 500_000;
        let options = ArchiveOptions {
            max_images: 6,
            max_bytes: usize::MAX,
        };
        let mut h = archived(2, 4, every, options);
        for s in 1..=40 {
            h.run_until(secs(f64::from(s)));
            let times: Vec<VirtualTime> = h.archive_times().collect();
            assert!(times.len() <= 6, "at {s} s: {times:?}");
            if times.is_empty() {
                continue;
            }
            assert_eq!(times[0], VirtualTime::ZERO, "the start stays reachable");
            assert_eq!(h.earliest(), VirtualTime::ZERO);
            let spacing = h.archive_spacing_us();
            let gaps = times
                .windows(2)
                .map(|w| w[1].since_us(w[0]))
                .chain([h.window_start().since_us(times[times.len() - 1])]);
            for gap in gaps {
                assert!(gap <= spacing + 2 * every, "at {s} s: {times:?}, {spacing}");
            }
            assert!(
                times.windows(2).all(|w| w[1].since_us(w[0]) >= spacing / 2),
                "evenly spread: {times:?}, {spacing}"
            );
        }
        assert!(h.window_start() >= secs(38.0), "{}", h.window_start());
        assert!(h.archive_spacing_us() >= 8 * every, "the spacing doubled");
        assert!(h.archive_len() >= 3, "{}", h.archive_len());
        assert!(h.archive_bytes() > 0);
        assert_eq!(h.archive_error(), None);
    }

    #[test]
    fn the_byte_bound_holds_however_long_the_run() {
        let max_bytes = 300_000;
        let options = ArchiveOptions {
            max_images: 1000,
            max_bytes,
        };
        let mut h = archived(3, 4, 500_000, options);
        for s in 1..=30 {
            h.run_until(secs(f64::from(s)));
            assert!(
                h.archive_bytes() <= max_bytes || h.archive_len() == 1,
                "at {s} s: {} bytes in {} images",
                h.archive_bytes(),
                h.archive_len()
            );
        }
        assert!(h.archive_len() >= 2, "{}", h.archive_len());
        assert_eq!(h.earliest(), VirtualTime::ZERO);
    }

    /// Drives `h` through the same run every time: controls before,
    /// between and after the moments the archive keeps.
    fn drive(h: &mut History) {
        h.run_until(secs(1.2));
        h.apply(Fault::Crash {
            group: "Consumer1".into(),
            instance: 0,
            duration_us: Some(700_000),
        })
        .expect("crash");
        for _ in 0..13 {
            h.step();
        }
        h.run_until(secs(3.1));
        h.apply(Fault::FailDeliveries { percent: 5.0 })
            .expect("fail");
        h.schedule(secs(6.5), Fault::PoisonNext { topic: None })
            .expect("poison");
        h.run_until(secs(12.0));
        h.apply(Fault::ResetToOffset {
            group: "ReadModel".into(),
            offset: 0,
        })
        .expect("reset");
        h.run_until(secs(15.0));
    }

    #[test]
    fn a_seek_through_the_archive_equals_a_keep_all_run() {
        let options = ArchiveOptions {
            max_images: 4,
            max_bytes: usize::MAX,
        };
        let mut a = archived(9, 4, 500_000, options);
        let mut full = keep_all(9);
        drive(&mut a);
        drive(&mut full);
        assert_eq!(a.head().run_hash(), full.head().run_hash());
        let window = a.window_start();
        assert!(window >= secs(12.0), "{window}");
        assert!(a.archive_len() >= 3, "{}", a.archive_len());
        let before_window = VirtualTime::from_us(window.as_us() - 1);
        for t in [
            secs(0.0),
            secs(0.9),
            secs(1.2),
            secs(1.25),
            secs(2.0),
            secs(3.1),
            secs(6.5),
            secs(7.777_777),
            before_window,
            secs(4.4),
        ] {
            assert!(t < window);
            let expected = full.state_at(t);
            let past = a.state_at(t);
            assert_eq!(past.now(), t);
            assert_eq!(past.run_hash(), expected.run_hash(), "at {t}");
            assert_eq!(past.summary(), expected.summary(), "at {t}");
            assert_eq!(past.invariants(), expected.invariants(), "at {t}");
            assert_eq!(past.series(), expected.series(), "at {t}");
            let sought = a.seek(t);
            assert_eq!(sought.run_hash(), expected.run_hash(), "seek to {t}");
            assert_eq!(sought.summary(), expected.summary(), "seek to {t}");
        }
        // And a fresh engine run to a moment before the first control.
        let mut fresh = seed_engine(9);
        fresh.run_until(secs(1.1));
        assert_eq!(a.state_at(secs(1.1)).run_hash(), fresh.run_hash());
        // Observing from before the window to inside it gives the same run.
        let t = window.plus_us(200_000);
        let from = VirtualTime::from_us(window.as_us() - 2_000_000);
        let observed = a.state_at_observed(from, t, |e| e.set_activity(true));
        assert_eq!(observed.run_hash(), full.state_at(t).run_hash());
        assert!(observed.activity().is_some());
        // The restored engines keep the stores' latest events, as the head does.
        let past = a.seek(secs(5.0));
        assert!(past.event_store("ES").is_some_and(EventStore::keeps_latest));
    }

    #[test]
    fn a_seek_in_slices_reports_progress_and_leaves_checkpoints() {
        let options = ArchiveOptions {
            max_images: 3,
            max_bytes: usize::MAX,
        };
        let mut a = archived(4, 4, 500_000, options);
        a.run_until(secs(20.0));
        let times: Vec<VirtualTime> = a.archive_times().collect();
        assert!(
            times.len() >= 2 && a.archive_spacing_us() >= 4_000_000,
            "{times:?}"
        );
        // Just before the second image: the longest re-execution there is.
        let t = VirtualTime::from_us(times[1].as_us() - 1);
        let mut fresh = seed_engine(4);
        fresh.run_until(t);

        let mut slices = 0;
        let mut done = 0.0;
        while let Some(p) = a.seek_toward(t, 500) {
            slices += 1;
            assert_eq!((p.from, p.to), (VirtualTime::ZERO, t));
            assert!(p.at <= t);
            assert!(p.fraction() >= done, "{} after {done}", p.fraction());
            done = p.fraction();
            assert!(slices < 100_000, "a seek in slices ends");
        }
        assert!(slices > 10, "{slices}");
        assert_eq!(a.seek(t).run_hash(), fresh.run_hash());
        assert!(!a.checkpoints.is_empty());
        assert!(a.checkpoints.len() <= SEEK_CHECKPOINTS);

        // A moment a little earlier starts from a checkpoint, not the image.
        let back = VirtualTime::from_us(t.as_us() - 700_000);
        assert!(matches!(a.start_for(back), super::super::Start::Kept(_)));
        let mut fresh_back = seed_engine(4);
        fresh_back.run_until(back);
        assert_eq!(a.seek(back).run_hash(), fresh_back.run_hash());
        // The dots' window before `t` is observed from a checkpoint too.
        let observed = a.state_at_observed(back, t, |e| e.set_activity(true));
        assert_eq!(observed.run_hash(), fresh.run_hash());
        assert!(observed.activity().is_some());

        a.forget_cursor();
        assert!(a.checkpoints.is_empty());
    }

    #[test]
    fn an_archived_event_traces_as_in_a_keep_all_run() {
        let options = ArchiveOptions {
            max_images: 8,
            max_bytes: usize::MAX,
        };
        let mut a = archived(5, 4, 500_000, options);
        let mut full = keep_all(5);
        drive(&mut a);
        drive(&mut full);
        let oldest = a
            .replay_before_event(u64::MAX)
            .engine()
            .events_produced()
            .min(a.state_at(a.window_start()).events_produced());
        // An event published well before the window.
        let event = oldest / 3;
        assert!(event > 10, "{event}");
        let mut ta = Tracer::start(&a, event);
        let mut tf = Tracer::start(&full, event);
        assert_eq!(ta.advance(&a, u64::MAX), TraceStatus::Complete);
        assert_eq!(tf.advance(&full, u64::MAX), TraceStatus::Complete);
        assert!(ta.trace().is_some());
        assert_eq!(ta.trace(), tf.trace());
        assert_eq!(ta.chain(), tf.chain());
    }
}
