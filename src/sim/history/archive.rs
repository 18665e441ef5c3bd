//! [`Archive`]: the part of a live run older than its sliding window of
//! snapshots, kept as a bounded number of compact engine images.
//!
//! # How
//! When a [`super::History::sliding`] history drops its oldest snapshot,
//! the archive may keep it as an engine image (`sim::image`, deflated).
//! When it holds more than [`ArchiveOptions::max_images`] images or
//! [`ArchiveOptions::max_bytes`] bytes, it drops the image whose
//! neighbours are fewest engine steps apart (never the first, at time 0),
//! and a snapshot offered closer than half that gap to the last one is
//! not taken. So the archive always reaches back to the run's start, fills
//! its bounds, and keeps its images about evenly spread over the run's
//! steps — the re-run a seek costs — with no gap longer than about twice
//! the mean, whatever the run's length. A moment in the archive is reached
//! by restoring the latest usable image at or before it and running
//! forward, with the history's control records, exactly as from a
//! snapshot.
//!
//! An image leaves out the sealed chunks of the engine's time series
//! (`metrics::SealedSamples`), which were two thirds of it (on the seed,
//! 1.5 MB of 2.2 MB inflated): the archive keeps them beside the image,
//! shared with the other images' and the head's until the series next
//! thins, and puts them back on restore; the image keeps the open tails.
//! The byte bound counts each image's deflated bytes, and each shared
//! chunk once (uncompressed: about 6 MB per doubling of the sample
//! interval that the images span, on the seed).
//!
//! # What an image needs to run forward
//! Everything the engine's later actions read is in an image: the
//! scheduler, RNG, offsets, groups, sinks, DLQs, the time series' open
//! intervals (see `sim::image`), and each partition's records from its
//! *floor* on. What it leaves out is never read by the run:
//! - the event stores' kept logs (the live window trims them anyway, and
//!   a restored store marks them missing; a projection rebuild starts from
//!   the store's folded base, which is in the image), the recorder tap
//!   and the observers' taps;
//! - the records below each partition's floor: the lowest offset any
//!   worker of a group subscribed to the topic still stands at (its
//!   commit, position, finished mark or next expected offset), the whole
//!   log when nobody subscribes. Under Kafka-like retention a live run
//!   keeps up to [`crate::sim::LIVE_RETAINED_RECORDS`] records however
//!   far the groups are past them (so that a group added mid-run starts
//!   at offset 0), which made an image 50–60 MB; from its floor on it is
//!   about the size of an `until-consumed` run's (see
//!   `Engine::slim_committed_prefix`).
//!
//! The one setting an image does not carry — whether stores keep their
//! latest events — is taken from the live engine on restore, so a
//! restored engine grows its log as the live one does.
//!
//! # Why a slim image runs on exactly
//! Without a control that moves a group backwards, a worker's offsets
//! only grow, and every read of a partition's records by the run is at a
//! worker's offsets (a delivery, a retry, the record at a commit, a crash
//! re-reading from the commit, an invariant's example): none is below the
//! floor. What else reads the log's extent is the same in both:
//! - keep-latest and time retention trim from the front; the restored
//!   log's start is the larger of the floor and the live log's start, so
//!   a worker falls below it (and skips, counted in
//!   `skipped_by_retention`) exactly when it falls below the live one's,
//!   and once the live run has trimmed past the floor the two logs are
//!   the same;
//! - the count of records on the bus ([`crate::sim::Limits::max_queued_records`])
//!   is the restored logs' sum, at most the live one and equal once past
//!   the floor: a publish the restored engine refuses the live one
//!   refused too. The other way — the live run refused one the restored
//!   engine would take — is the one divergence, so an image is used only
//!   while the live run has refused no publish since it was taken (a run
//!   that hits the bus capacity falls back to older, full images);
//! - under keep-all nothing is trimmed and the count stays as the live
//!   one's.
//!
//! A control that rewinds — a reset to an offset or a time, a group added
//! mid-run (it starts at the low watermark) — reads records below the
//! floor, so a run forward from a slim image must never cross one:
//! - an image is taken whole (not slim) while such a control is scheduled
//!   in the engine;
//! - a seek uses a slim image (or an engine derived from one: the seek
//!   cursor, a checkpoint) only when no rewinding control lies between it
//!   and the target; otherwise it goes back to an earlier usable image —
//!   ultimately the first, at time 0, which has nothing to leave out;
//! - to keep that fallback rare, the history snapshots right after each
//!   rewinding control it applies or schedules, and right after a
//!   scheduled one (the scenario's too) runs — the images before it are
//!   whole, but may be a long re-run back — and that snapshot becomes an
//!   *anchor* image when it leaves the window: kept whatever the spacing
//!   and not thinned with the others (at most half of the images are
//!   anchors; beyond that every other anchor goes).
//!
//! What is shown of an archived moment is the engine's state, exact, but
//! its partitions hold no records below the image's floor: the event log
//! there lists fewer rows ([`super::History::log_kept_from`] says from
//! when it is complete), and the bus's low watermark reads as the floor.
//!
//! # Encoding off the caller's thread
//! Encoding and deflating an image takes tens of milliseconds. By
//! default the archive does it when the snapshot leaves the window;
//! [`super::History::defer_archiving`] hands the work out instead
//! ([`ArchiveJob`], encoded wherever the caller likes and given back as
//! an [`ArchiveImage`]). The image is of a copy of the engine, so when it
//! is made changes nothing but how soon a seek can start from it.
//!
//! Part of `sim`: no wall-clock time, threads, files or GUI types.

use super::{Control, ControlRecord, Cursor};
use crate::sim::EventStore;
use crate::sim::clock::VirtualTime;
use crate::sim::fault::Fault;
use crate::sim::image::ImageError;
use crate::sim::metrics::SealedSamples;
use crate::sim::world::Engine;

/// Images an archive keeps at most, by default.
pub const ARCHIVE_IMAGES: usize = 512;

/// Bytes an archive keeps at most, by default (deflated images, and the
/// series chunks they share, once): on the seed a slim image is about
/// 0.35 MB and the chunks about 40 MB in all on a 10-million-event run
/// (measured by `cargo bench --bench live_archive`), so this bound, not
/// [`ARCHIVE_IMAGES`], decides how many images there are: 340 on such
/// a run, 77 s of it apart on average and 120 s at most. It took memory
/// the window gave up ([`super::LIVE_SNAPSHOTS`]): a live run's past
/// takes less memory than before, in twice as many moments.
pub const ARCHIVE_BYTES: usize = 160 << 20;

/// Bytes of an image that inflate and decode in the time the engine takes
/// for one step, about (measured on the seed, release: a 2.3 MB image in
/// 25 ms, a step in 250 ns).
const INFLATED_BYTES_PER_STEP: usize = 24;

/// Deflate level: the fastest, which already shrinks the seed's images
/// 2.5×; higher levels save under 10% more for four times the time.
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

/// What an engine derived from a slim image lacks, and what its use
/// depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Slim {
    /// The newest record left out was published at this time.
    pub(super) newest_dropped: VirtualTime,
    /// Publishes the live run had refused when the image was taken.
    pub(super) rejected: u64,
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
    /// Whether records below the floors were left out.
    slim: Option<Slim>,
    /// Taken right after a rewinding control: not thinned with the rest.
    anchor: bool,
    /// Length of the image once inflated.
    image_len: usize,
    /// The image, deflated; shared by clones of the history.
    deflated: std::sync::Arc<[u8]>,
    /// The sealed chunks of the engine's time series, kept beside the
    /// image rather than in it: shared with the other images' (and the
    /// head's), so each is held once (see the module doc).
    sealed: SealedSamples,
}

/// A snapshot leaving the window, slimmed, to be encoded
/// ([`ArchiveJob::encode`]) and given back to the history it came from
/// ([`super::History::add_archive_image`]).
#[derive(Debug, Clone)]
pub struct ArchiveJob {
    cursor: Cursor,
    anchor: bool,
}

/// An encoded [`ArchiveJob`].
#[derive(Debug)]
pub struct ArchiveImage(Result<Archived, String>);

impl ArchiveJob {
    /// Encodes and deflates the image (tens of milliseconds on the seed).
    pub fn encode(self) -> ArchiveImage {
        ArchiveImage(Archived::of(self.cursor, self.anchor).map_err(|e| e.to_string()))
    }

    /// The virtual time of the snapshot it images.
    pub fn at(&self) -> VirtualTime {
        self.cursor.engine.now()
    }
}

impl Archived {
    /// Encodes the engine of `c` (already slimmed), all but its series.
    fn of(mut c: Cursor, anchor: bool) -> Result<Archived, ImageError> {
        let sealed = c.engine.detach_sealed_samples();
        let image = c.engine.to_image()?;
        let deflated = miniz_oxide::deflate::compress_to_vec(&image, DEFLATE_LEVEL);
        Ok(Archived {
            at: c.engine.now(),
            steps: c.steps,
            controls: c.controls,
            events: c.engine.events_produced(),
            slim: c.slim,
            anchor,
            image_len: image.len(),
            deflated: deflated.into(),
            sealed,
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
        if !engine.attach_sealed_samples(self.sealed.clone()) {
            return Err(ImageError::Decode(format!(
                "archived image at {} does not match its series",
                self.at
            )));
        }
        let keep_latest = like
            .group_names()
            .any(|g| like.event_store(g).is_some_and(EventStore::keeps_latest));
        engine.set_store_keep_latest(keep_latest);
        Ok(Cursor {
            engine,
            steps: self.steps,
            controls: self.controls,
            slim: self.slim,
            anchor: false,
            observed_from: None,
        })
    }

    /// Bytes this image takes of its own (the series' shared chunks
    /// are counted by the archive, once).
    fn size(&self) -> usize {
        self.deflated.len() + self.sealed.own_bytes()
    }

    /// Bytes of the image inflated.
    pub(super) fn inflated_size(&self) -> usize {
        self.image_len
    }

    /// What restoring it costs, in engine steps run instead.
    pub(super) fn restore_cost_steps(&self) -> u64 {
        (self.image_len / INFLATED_BYTES_PER_STEP) as u64
    }
}

/// Whether an engine derived from an image (`slim`, with `from` controls
/// applied) runs on to the moment `to_controls` controls are applied
/// exactly, given `rejected` publishes refused by the live run so far
/// (see the module doc).
pub(super) fn usable(
    slim: Option<Slim>,
    log: &[ControlRecord],
    from: usize,
    to_controls: usize,
    rejected: u64,
) -> bool {
    let Some(slim) = slim else {
        return true;
    };
    slim.rejected == rejected
        && log
            .get(from..to_controls.max(from))
            .unwrap_or(&[])
            .iter()
            .all(|c| !rewinding(&c.control))
}

/// Whether `fault` can move a group to an offset below where it stands,
/// so that records every group had committed are read again: a reset to
/// an offset or a time, or a new group (it starts at the low watermark).
pub(crate) fn rewinds(fault: &Fault) -> bool {
    matches!(
        fault,
        Fault::ResetToOffset { .. } | Fault::ResetToTime { .. } | Fault::AddGroup { .. }
    )
}

/// Whether a control moves a group backwards, now or when it runs.
pub(super) fn rewinding(control: &Control) -> bool {
    match control {
        Control::Apply(f) | Control::Schedule(_, f) => rewinds(f),
        Control::StopSources => false,
    }
}

/// The archived past of a sliding history (see the module doc).
#[derive(Debug, Clone)]
pub(super) struct Archive {
    /// Oldest first (by steps); the first is the run's start.
    images: Vec<Archived>,
    /// Engine steps between an image and the next one offered, at least:
    /// half the gap the last thinning left (an image closer than that to
    /// the last one would be the next to go).
    min_gap_steps: u64,
    options: ArchiveOptions,
    /// Bytes of `images`: their own, and their series' shared chunks once.
    bytes: usize,
    /// The series' sealed chunks the images hold: address → (images
    /// holding it, bytes).
    chunks: std::collections::HashMap<usize, (u32, usize)>,
    /// The steps of the last snapshot taken for an image.
    last_offered: Option<u64>,
    /// Hand the snapshots out ([`ArchiveJob`]) instead of encoding them.
    deferred: bool,
    /// Snapshots waiting to be handed out (deferred only).
    jobs: Vec<ArchiveJob>,
    /// Why the last image offered could not be encoded, if it could not.
    error: Option<String>,
}

impl Archive {
    /// An empty archive.
    pub(super) fn new(options: ArchiveOptions) -> Archive {
        Archive {
            images: Vec::new(),
            min_gap_steps: 0,
            options: ArchiveOptions {
                max_images: options.max_images.max(2),
                max_bytes: options.max_bytes,
            },
            bytes: 0,
            chunks: std::collections::HashMap::new(),
            last_offered: None,
            deferred: false,
            jobs: Vec::new(),
            error: None,
        }
    }

    /// Offers a snapshot leaving the window: it is slimmed and encoded (or
    /// handed out, when deferred) when it is the first, an anchor, or far
    /// enough from the last one taken to survive the next thinning.
    pub(super) fn offer(&mut self, mut c: Cursor) {
        let anchor = c.anchor;
        if !anchor
            && self
                .last_offered
                .is_some_and(|last| c.steps.saturating_sub(last) < self.min_gap_steps)
        {
            return;
        }
        self.last_offered = Some(c.steps);
        let slimmed = c.engine.slim_committed_prefix();
        if slimmed.records > 0 {
            c.slim = Some(Slim {
                newest_dropped: slimmed.newest_dropped.unwrap_or(VirtualTime::ZERO),
                rejected: c.engine.rejected_publishes(),
            });
        }
        let job = ArchiveJob { cursor: c, anchor };
        if self.deferred {
            self.jobs.push(job);
        } else {
            self.add(job.encode());
        }
    }

    /// Hands out (`true`) or encodes in place (`false`) the snapshots to
    /// archive from now on.
    pub(super) fn set_deferred(&mut self, deferred: bool) {
        self.deferred = deferred;
        if !deferred {
            for job in std::mem::take(&mut self.jobs) {
                self.add(job.encode());
            }
        }
    }

    /// The snapshots waiting to be encoded (deferred only).
    pub(super) fn take_jobs(&mut self) -> Vec<ArchiveJob> {
        std::mem::take(&mut self.jobs)
    }

    /// Keeps an encoded image, in order, and thins to the bounds.
    pub(super) fn add(&mut self, image: ArchiveImage) {
        let image = match image.0 {
            Ok(image) => image,
            Err(e) => {
                self.error = Some(e);
                return;
            }
        };
        self.error = None;
        // Encoded elsewhere, images may come back out of order.
        let i = self.images.partition_point(|a| a.steps <= image.steps);
        self.bytes += image.size();
        for (at, len) in image.sealed.chunks() {
            let held = self.chunks.entry(at).or_insert((0, len));
            if held.0 == 0 {
                self.bytes += len;
            }
            held.0 += 1;
        }
        self.images.insert(i, image);
        while self.images.iter().filter(|a| a.anchor).count() > self.options.max_images / 2 {
            self.drop_every_other_anchor();
        }
        while self.images.len() > self.options.max_images
            || (self.images.len() > 1 && self.bytes > self.options.max_bytes)
        {
            self.thin();
        }
    }

    /// Drops the image whose loss lengthens the re-run from its
    /// predecessor least: the one whose neighbours are fewest engine steps
    /// apart, never the first (the run's start), the newest (its next gap
    /// is still open) or an anchor. So the images stay about evenly spread
    /// over the run's steps (a seek's re-run cost) and fill the bounds.
    /// With none such, every other anchor goes; then the newest.
    fn thin(&mut self) {
        let n = self.images.len();
        let gap = |i: usize| self.images[i + 1].steps - self.images[i - 1].steps;
        let best = (1..n.saturating_sub(1))
            .filter(|&i| !self.images[i].anchor)
            .min_by_key(|&i| gap(i));
        if let Some(i) = best {
            self.min_gap_steps = self.min_gap_steps.max(gap(i) / 2);
            self.remove(i);
        } else if self.images.iter().skip(1).any(|a| a.anchor) {
            self.drop_every_other_anchor();
        } else if n > 1 {
            self.remove(n - 1);
        }
    }

    /// Drops every other anchor (the 1st, 3rd, … after the first image).
    fn drop_every_other_anchor(&mut self) {
        let anchors: Vec<usize> = (1..self.images.len())
            .filter(|&i| self.images[i].anchor)
            .step_by(2)
            .collect();
        for i in anchors.into_iter().rev() {
            self.remove(i);
        }
    }

    /// Drops image `i`, and its series' chunks no other image holds.
    fn remove(&mut self, i: usize) {
        let gone = self.images.remove(i);
        self.bytes -= gone.size();
        for (at, len) in gone.sealed.chunks() {
            if let Some(held) = self.chunks.get_mut(&at) {
                held.0 -= 1;
                if held.0 == 0 {
                    self.chunks.remove(&at);
                    self.bytes -= len;
                }
            }
        }
    }

    /// The latest image at or before `t` that runs on exactly to `t`
    /// (see [`usable`]): `log` is the history's control log, `rejected`
    /// the live run's refused publishes.
    pub(super) fn before(
        &self,
        t: VirtualTime,
        log: &[ControlRecord],
        rejected: u64,
    ) -> Option<&Archived> {
        let to = log.partition_point(|c| c.at <= t);
        let i = self.images.partition_point(|a| a.at <= t);
        self.images[..i]
            .iter()
            .rev()
            .find(|a| usable(a.slim, log, a.controls, to, rejected))
    }

    /// The latest image taken before record `event_id` was published from
    /// which the rest of the run re-runs exactly.
    pub(super) fn before_event(
        &self,
        event_id: u64,
        log: &[ControlRecord],
        rejected: u64,
    ) -> Option<&Archived> {
        let i = self.images.partition_point(|a| a.events <= event_id);
        self.images[..i]
            .iter()
            .rev()
            .find(|a| usable(a.slim, log, a.controls, log.len(), rejected))
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

    /// The longest virtual time between two kept images.
    pub(super) fn spacing_us(&self) -> u64 {
        self.images
            .windows(2)
            .map(|w| w[1].at.since_us(w[0].at))
            .max()
            .unwrap_or(0)
    }

    /// The times of the images kept, oldest first.
    pub(super) fn times(&self) -> impl Iterator<Item = VirtualTime> + '_ {
        self.images.iter().map(|a| a.at)
    }

    /// Images left slim, anchors, and the largest image inflated.
    pub(super) fn stats(&self) -> (usize, usize, usize) {
        (
            self.images.iter().filter(|a| a.slim.is_some()).count(),
            self.images.iter().filter(|a| a.anchor).count(),
            self.images
                .iter()
                .map(Archived::inflated_size)
                .max()
                .unwrap_or(0),
        )
    }

    /// Bytes of the series' shared chunks the images hold (each once).
    pub(super) fn series_bytes(&self) -> usize {
        self.chunks.values().map(|&(_, bytes)| bytes).sum()
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
    use crate::sim::{Fault, Retention, Scenario};

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
    fn thinning_keeps_the_whole_span_evenly_within_the_image_bound() {
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
            if times.len() < 2 {
                continue;
            }
            assert_eq!(times[0], VirtualTime::ZERO, "the start stays reachable");
            assert_eq!(h.earliest(), VirtualTime::ZERO);
            let gaps: Vec<u64> = times
                .windows(2)
                .map(|w| w[1].since_us(w[0]))
                .chain([h.window_start().since_us(times[times.len() - 1])])
                .collect();
            // Each thinning merges the two closest gaps, so none grows
            // past twice the mean (give or take a snapshot's spacing).
            let mean = h.window_start().as_us() / gaps.len() as u64;
            for &gap in &gaps {
                assert!(gap <= 2 * mean + 2 * every, "at {s} s: {times:?}");
            }
            let spacing = h.archive_spacing_us();
            assert_eq!(Some(&spacing), gaps[..gaps.len() - 1].iter().max());
        }
        assert!(h.window_start() >= secs(38.0), "{}", h.window_start());
        assert_eq!(h.archive_len(), 6, "the images fill their bound");
        assert!(
            h.archive_spacing_us() >= 8 * every,
            "{}",
            h.archive_spacing_us()
        );
        assert!(h.archive_bytes() > 0);
        assert_eq!(h.archive_error(), None);
    }

    #[test]
    fn the_byte_bound_holds_however_long_the_run() {
        let max_bytes = 1_200_000;
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
        // About 55 snapshots left the window: the bytes, not the count, bound.
        assert!(
            h.archive_len() >= 2 && h.archive_len() < 20,
            "{}",
            h.archive_len()
        );
        assert_eq!(h.earliest(), VirtualTime::ZERO);
    }

    /// Images of the same stretch of the run share their series' sealed
    /// chunks: the archive holds and counts each once, and a restored
    /// image has its whole series back.
    #[test]
    fn images_share_their_series_chunks_and_count_them_once() {
        let options = ArchiveOptions {
            max_images: 64,
            max_bytes: usize::MAX,
        };
        let mut h = archived(7, 4, 2_000_000, options);
        h.run_until(secs(60.0));
        let archive = h.archive.as_ref().expect("an archive");
        assert!(archive.images.len() >= 20, "{}", archive.images.len());
        let listed: usize = archive.images.iter().map(|a| a.sealed.chunks().len()).sum();
        assert!(
            archive.chunks.len() * 4 < listed,
            "shared: {} chunks for {listed} listed",
            archive.chunks.len()
        );
        let own: usize = archive.images.iter().map(Archived::size).sum();
        let shared: usize = archive.chunks.values().map(|&(_, bytes)| bytes).sum();
        assert_eq!(archive.bytes, own + shared);
        let last = archive.images.last().expect("an image");
        let t = last.at;
        let restored = last.restore(h.head()).expect("restores");
        let mut fresh = seed_engine(7);
        fresh.run_until(t);
        assert_eq!(restored.engine.series(), fresh.series());
        assert!(fresh.series().times.len() > 300, "sealed chunks in play");
        // Thinned away, an image gives its chunks back.
        let options = ArchiveOptions {
            max_images: 3,
            max_bytes: usize::MAX,
        };
        let mut small = archived(7, 4, 2_000_000, options);
        small.run_until(secs(60.0));
        let archive = small.archive.as_ref().expect("an archive");
        let held: usize = archive.images.iter().map(|a| a.sealed.chunks().len()).sum();
        assert!(archive.chunks.len() <= held);
        let shared: usize = archive.chunks.values().map(|&(_, bytes)| bytes).sum();
        let own: usize = archive.images.iter().map(Archived::size).sum();
        assert_eq!(archive.bytes, own + shared);
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

        // Observing a window longer than the gap before `after`: the seek
        // starts at the image before that (slices go on from there, they
        // do not restart) and ends observed.
        a.forget_cursor();
        let window = a.archive_spacing_us() + 1_000_000;
        a.observe_seeks(Some(window));
        let after = times[1].plus_us(300_000);
        let from = VirtualTime::from_us(after.as_us().saturating_sub(window));
        let mut slices = 0;
        while let Some(p) = a.seek_toward(after, 500) {
            slices += 1;
            assert_eq!(p.from, VirtualTime::ZERO, "from the image before");
            assert!(slices < 100_000, "an observed seek in slices ends");
        }
        let mut fresh_after = seed_engine(4);
        fresh_after.run_until(after);
        let seen = a.observed_seek(from, after).expect("observed");
        assert_eq!(seen.run_hash(), fresh_after.run_hash());
        assert!(seen.activity().is_some());
        a.observe_seeks(None);

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

    /// As [`seed_engine`], under Kafka-like `retention` (what a live run
    /// uses), with the bus capacity at `capacity` records.
    fn retained_engine(seed: u64, retention: Retention, capacity: usize) -> Engine {
        let chart = crate::mermaid::parse_flowchart(crate::SEED_DIAGRAM).expect("seed parses");
        let g = ArchGraph::from_flowchart(&chart);
        let mut s = Scenario::default_for(&g);
        s.retention = retention;
        s.limits.max_queued_records = capacity;
        let mut e = Engine::new(&g, s, seed).expect("seed builds");
        e.set_store_keep_latest(true);
        e
    }

    /// About 4.5 s of records a partition on the seed.
    const KEEP: Retention = Retention::KeepLatest { records: 150 };
    const ROOMY: usize = 1 << 22;

    fn retained_histories(
        seed: u64,
        retention: Retention,
        capacity: usize,
        options: ArchiveOptions,
    ) -> (History, History) {
        let window = HistoryOptions {
            snapshot_every_steps: 1 << 40,
            max_snapshots: 4,
        };
        let engine = retained_engine(seed, retention, capacity);
        let archived = History::sliding(engine.clone(), window, 500_000).with_archive(options);
        let full = History::new(
            engine,
            HistoryOptions {
                snapshot_every_steps: 2_000,
                max_snapshots: 64,
            },
        );
        (archived, full)
    }

    /// Everything a moment shows that the run computed: hash, summary
    /// (counters, series, invariants, sinks, faults), each group's offsets
    /// and lag, each sink's state, and each partition's records from the
    /// later of the two log starts on (the slim one keeps fewer).
    fn assert_same_moment(past: &Engine, expected: &Engine, what: &str) {
        assert_eq!(past.now(), expected.now(), "{what}");
        assert_eq!(past.run_hash(), expected.run_hash(), "{what}");
        assert_eq!(past.summary(), expected.summary(), "{what}");
        // The bus count: less by what the slim logs lack while retention
        // trims (see the module doc), the same under keep-all.
        let lacking: u64 = past
            .topics()
            .iter()
            .flat_map(|t| t.partitions())
            .zip(expected.topics().iter().flat_map(|t| t.partitions()))
            .map(|(a, b)| a.low_watermark().0 - b.low_watermark().0)
            .sum();
        let lacking = if past.scenario().retention.drops_unread() {
            lacking as usize
        } else {
            0
        };
        assert_eq!(
            past.queued_records() + lacking,
            expected.queued_records(),
            "{what}"
        );
        for g in expected.group_names() {
            assert_eq!(
                past.partition_lags(g),
                expected.partition_lags(g),
                "{what}: {g}"
            );
        }
        for sink in &expected.summary().sinks {
            assert_eq!(
                past.sink_state(&sink.key),
                expected.sink_state(&sink.key),
                "{what}: {}",
                sink.key
            );
        }
        for (a, b) in past.topics().iter().zip(expected.topics()) {
            for (pa, pb) in a.partitions().iter().zip(b.partitions()) {
                assert_eq!(pa.high_watermark(), pb.high_watermark(), "{what}");
                let from = pa.low_watermark().max(pb.low_watermark()).0;
                for o in from..pb.high_watermark().0 {
                    let o = crate::sim::Offset(o);
                    assert_eq!(pa.get(o), pb.get(o), "{what}: {}@{o:?}", a.name());
                }
            }
        }
    }

    /// A slimmed copy keeps each partition from the lowest offset its
    /// groups stand at, and everything from there on.
    #[test]
    fn a_slim_image_drops_only_the_prefix_every_group_committed() {
        let mut e = retained_engine(21, KEEP, ROOMY);
        e.run_until(secs(2.0));
        e.apply_fault(Fault::Crash {
            group: "Consumer1".into(),
            instance: 0,
            duration_us: None,
        })
        .expect("crash");
        e.run_until(secs(6.0));
        let mut slim = e.clone();
        let dropped = slim.slim_committed_prefix();
        assert!(dropped.records > 0, "{dropped:?}");
        assert!(dropped.newest_dropped.is_some_and(|t| t < e.now()));
        let mut kept_behind = false;
        for (t, (a, b)) in slim.topics().iter().zip(e.topics()).enumerate() {
            for (p, (pa, pb)) in a.partitions().iter().zip(b.partitions()).enumerate() {
                // The lowest commit of a group reading this partition.
                let floor = e
                    .group_names()
                    .filter_map(|g| e.partition_lags(g))
                    .flatten()
                    .filter(|l| l.topic == e.topics()[t].name() && l.partition as usize == p)
                    .map(|l| l.committed)
                    .min()
                    .unwrap_or(pb.high_watermark().0);
                assert_eq!(pa.low_watermark().0, floor.max(pb.low_watermark().0));
                assert_eq!(pa.high_watermark(), pb.high_watermark());
                for o in floor..pb.high_watermark().0 {
                    let o = crate::sim::Offset(o);
                    assert_eq!(pa.get(o), pb.get(o));
                }
                kept_behind |= floor + 50 < pb.high_watermark().0;
            }
        }
        assert!(kept_behind, "the crashed group's backlog is kept");
        let retained = |x: &Engine| -> usize {
            x.topics()
                .iter()
                .flat_map(|t| t.partitions())
                .map(|p| p.retained())
                .sum()
        };
        assert_eq!(retained(&slim) + dropped.records as usize, retained(&e));
        assert_eq!(
            slim.queued_records(),
            retained(&slim),
            "the bus count follows"
        );
        assert!(slim.to_image().expect("encodes").len() < e.to_image().expect("encodes").len());
        // Under until-consumed there is nothing more to drop.
        let mut u = retained_engine(21, Retention::UntilConsumed, ROOMY);
        u.run_until(secs(3.0));
        assert_eq!(u.clone().slim_committed_prefix(), Default::default());
    }

    /// The run of [`drive`] under a retention, plus a crash that lets a
    /// group fall behind the retention (it skips, counted) and recover.
    fn drive_retained(h: &mut History) {
        h.run_until(secs(0.7));
        h.apply(Fault::Crash {
            group: "Consumer2".into(),
            instance: 0,
            duration_us: Some(8_000_000),
        })
        .expect("crash");
        h.run_until(secs(1.2));
        h.apply(Fault::FailDeliveries { percent: 5.0 })
            .expect("fail");
        for _ in 0..29 {
            h.step();
        }
        h.schedule(secs(5.5), Fault::PoisonNext { topic: None })
            .expect("poison");
        h.run_until(secs(7.0));
        h.apply(Fault::Slow {
            component: "ReadModel".into(),
            factor: 3.0,
        })
        .expect("slow");
        h.run_until(secs(14.0));
    }

    fn assert_archive_matches(a: &mut History, full: &History, times: &[VirtualTime]) {
        assert_eq!(a.head().run_hash(), full.head().run_hash());
        for &t in times {
            assert!(t < a.window_start(), "{t} is archived");
            let expected = full.state_at(t);
            assert_same_moment(&a.state_at(t), &expected, &format!("state_at {t}"));
            a.forget_cursor();
            let sought = a.seek(t).clone();
            assert_same_moment(&sought, &expected, &format!("seek {t}"));
        }
    }

    #[test]
    fn a_run_forward_from_a_slim_image_is_the_live_run() {
        for retention in [KEEP, Retention::Time { us: 3_000_000 }, Retention::KeepAll] {
            let options = ArchiveOptions {
                max_images: 6,
                max_bytes: usize::MAX,
            };
            let (mut a, mut full) = retained_histories(13, retention, ROOMY, options);
            drive_retained(&mut a);
            drive_retained(&mut full);
            let (slim, _, _) = a.archive_stats();
            assert!(slim >= 2, "{retention:?}: {:?}", a.archive_stats());
            let skipped = full
                .head()
                .delivery_counters("Consumer2")
                .map_or(0, |c| c.skipped_by_retention);
            if retention == KEEP {
                assert!(skipped > 0, "the crashed group fell behind the retention");
            }
            let window = a.window_start();
            let times: Vec<VirtualTime> = a
                .archive_times()
                .flat_map(|t| [t, t.plus_us(1), t.plus_us(333_333)])
                .chain([secs(0.71), secs(4.71), secs(5.5), secs(9.9)])
                .filter(|&t| t < window)
                .collect();
            assert_archive_matches(&mut a, &full, &times);
            // Long after an image its log starts where the live one does.
            let last_image = a.archive_times().last().unwrap_or(VirtualTime::ZERO);
            if retention != Retention::KeepAll {
                let later = a.state_at(VirtualTime::from_us(window.as_us() - 1));
                let live = full.state_at(VirtualTime::from_us(window.as_us() - 1));
                assert!(later.now().since_us(last_image) > 0);
                for (x, y) in later.topics().iter().zip(live.topics()) {
                    for (px, py) in x.partitions().iter().zip(y.partitions()) {
                        assert!(px.low_watermark() >= py.low_watermark());
                    }
                }
            }
        }
    }

    /// A reset to offset 0 and a group added mid-run read what every group
    /// had committed: a seek after one never starts from a slim image
    /// taken before it, and an anchor image right after it keeps that
    /// quick.
    #[test]
    fn a_rewinding_control_is_never_crossed_from_a_slim_image() {
        let options = ArchiveOptions {
            max_images: 8,
            max_bytes: usize::MAX,
        };
        let (mut a, mut full) = retained_histories(17, KEEP, ROOMY, options);
        let run = |h: &mut History| {
            h.run_until(secs(4.0));
            h.apply(Fault::ResetToOffset {
                group: "ReadModel".into(),
                offset: 0,
            })
            .expect("reset");
            h.run_until(secs(6.3));
            h.apply(Fault::AddGroup {
                name: "Audit".into(),
                topics: vec!["OrderCreated".into()],
                params: crate::sim::GroupParams::default(),
            })
            .expect("add group");
            h.run_until(secs(8.1));
            h.schedule(
                secs(9.0),
                Fault::ResetToTime {
                    group: "Consumer1".into(),
                    at: secs(1.0),
                },
            )
            .expect("scheduled reset");
            h.run_until(secs(16.0));
        };
        run(&mut a);
        run(&mut full);
        let (slim, anchors, _) = a.archive_stats();
        assert!(slim >= 2, "{:?}", a.archive_stats());
        assert_eq!(
            anchors, 4,
            "one per rewinding control made, one when scheduled runs"
        );
        let anchor_times: Vec<VirtualTime> = a.archive_times().collect();
        for t in [secs(4.0), secs(6.3), secs(8.1), secs(9.0)] {
            assert!(anchor_times.contains(&t), "{t}: {anchor_times:?}");
        }
        // Just after each control, the seek starts from its anchor.
        for t in [secs(4.0), secs(4.2), secs(6.3), secs(6.4)] {
            match a.start_for(t) {
                super::super::Start::Image(i) => {
                    assert!(i.at <= t && t.since_us(i.at) <= 200_000, "{t}: {}", i.at)
                }
                super::super::Start::Kept(_) => panic!("{t} is archived"),
            }
        }
        let times = [
            secs(3.9),
            secs(4.0),
            secs(4.25),
            secs(6.0),
            secs(6.3),
            secs(7.7),
            secs(8.99),
            secs(9.0),
            secs(9.4),
            secs(11.2),
        ];
        assert_archive_matches(&mut a, &full, &times);
        // A seek that moves on past a rewinding control drops its cursor.
        a.forget_cursor();
        a.seek(secs(3.0));
        assert_same_moment(&a.seek(secs(5.0)).clone(), &full.state_at(secs(5.0)), "on");
        // And a trace started before a reset replays as a keep-all run's.
        let event = a.state_at(secs(3.5)).events_produced();
        let mut ta = Tracer::start(&a, event);
        let mut tf = Tracer::start(&full, event);
        assert_eq!(ta.advance(&a, u64::MAX), tf.advance(&full, u64::MAX));
        assert_eq!(ta.trace(), tf.trace());
    }

    /// Rewinding controls scheduled in the scenario (never logged by the
    /// history) get an anchor image right after they run, as those made
    /// through the history do, and seeks across them are exact.
    #[test]
    fn a_scheduled_rewinding_control_gets_an_anchor_after_it_runs() {
        let options = ArchiveOptions {
            max_images: 8,
            max_bytes: usize::MAX,
        };
        let chart = crate::mermaid::parse_flowchart(crate::SEED_DIAGRAM).expect("seed parses");
        let g = ArchGraph::from_flowchart(&chart);
        let mut s = Scenario::default_for(&g);
        s.retention = KEEP;
        s.faults = vec![
            crate::sim::ScheduledFault {
                at: secs(4.0),
                fault: Fault::ResetToOffset {
                    group: "ReadModel".into(),
                    offset: 0,
                },
            },
            crate::sim::ScheduledFault {
                at: secs(6.3),
                fault: Fault::AddGroup {
                    name: "Audit".into(),
                    topics: vec!["OrderCreated".into()],
                    params: crate::sim::GroupParams::default(),
                },
            },
            crate::sim::ScheduledFault {
                at: secs(9.0),
                fault: Fault::ResetToTime {
                    group: "Consumer1".into(),
                    at: secs(1.0),
                },
            },
        ];
        let mut engine = Engine::new(&g, s, 29).expect("seed builds");
        engine.set_store_keep_latest(true);
        let window = HistoryOptions {
            snapshot_every_steps: 1 << 40,
            max_snapshots: 4,
        };
        let mut a = History::sliding(engine.clone(), window, 500_000).with_archive(options);
        let mut full = History::new(
            engine,
            HistoryOptions {
                snapshot_every_steps: 2_000,
                max_snapshots: 64,
            },
        );
        for h in [&mut a, &mut full] {
            h.run_until(secs(1.5));
            h.apply(Fault::Crash {
                group: "Consumer2".into(),
                instance: 0,
                duration_us: Some(1_000_000),
            })
            .expect("crash");
            for _ in 0..17 {
                h.step();
            }
            h.run_until(secs(16.0));
        }
        let (slim, anchors, _) = a.archive_stats();
        assert!(slim >= 2, "{:?}", a.archive_stats());
        assert_eq!(anchors, 3, "one anchor per scheduled rewinding control");
        // Just after each control, the seek starts from its anchor.
        for control in [secs(4.0), secs(6.3), secs(9.0)] {
            let t = control.plus_us(200_000);
            match a.start_for(t) {
                super::super::Start::Image(i) => {
                    assert!(i.at >= control && i.at <= t, "{t}: {}", i.at)
                }
                super::super::Start::Kept(_) => panic!("{t} is archived"),
            }
        }
        let times = [
            secs(3.9),
            secs(4.0),
            secs(4.25),
            secs(6.0),
            secs(6.3),
            secs(6.31),
            secs(7.7),
            secs(8.99),
            secs(9.0),
            secs(9.4),
            secs(11.2),
        ];
        assert_archive_matches(&mut a, &full, &times);
    }

    /// Once the live run refused a publish (the bus was full), a slim
    /// image would accept it: such images are no longer used.
    #[test]
    fn a_full_bus_makes_slim_images_fall_back_to_whole_ones() {
        let options = ArchiveOptions {
            max_images: 8,
            max_bytes: usize::MAX,
        };
        // Every partition keeps 1,500 records, the bus only 10,000 in all
        // (reached after about 40 s).
        let keep = Retention::KeepLatest { records: 1_500 };
        let (mut a, mut full) = retained_histories(19, keep, 10_000, options);
        for h in [&mut a, &mut full] {
            drive_retained(h);
            h.run_until(secs(50.0));
        }
        assert!(full.head().summary().rejected > 0, "the bus filled up");
        let times: Vec<VirtualTime> = a
            .archive_times()
            .map(|t| t.plus_us(400_000))
            .filter(|&t| t < a.window_start())
            .collect();
        assert!(times.len() >= 3, "{times:?}");
        assert_archive_matches(&mut a, &full, &times);
    }

    /// The activity a past moment's dots are drawn from, comparable.
    fn hops_of(e: &Engine) -> Vec<(u32, u32, u32, u64, Vec<crate::sim::Hop>, u64)> {
        let log = e.activity().expect("activity is on");
        log.routes()
            .iter()
            .map(|r| {
                let rate = r.rate_per_s(e.now()).to_bits();
                (
                    r.from,
                    r.to,
                    r.topic,
                    r.count,
                    r.hops().copied().collect(),
                    rate,
                )
            })
            .collect()
    }

    /// A seek told to observe ([`History::observe_seeks`]) turns activity on
    /// at `t - window` on its way, so its engine at `t` is the one
    /// `state_at_observed(t - window, t)` re-runs for the canvas's dots —
    /// from an archived image, from the window, after a step right or
    /// left — and when it cannot be (its cursor was already past that
    /// moment) it says so rather than give another picture.
    #[test]
    fn an_observed_seek_has_the_dots_of_a_second_re_run() {
        let options = ArchiveOptions {
            max_images: 6,
            max_bytes: usize::MAX,
        };
        let (mut a, mut full) = retained_histories(31, KEEP, ROOMY, options);
        drive_retained(&mut a);
        drive_retained(&mut full);
        let window = 6_000_000;
        a.observe_seeks(Some(window));
        let before_window = a.window_start();
        let check = |a: &mut History, t: VirtualTime, fresh: bool| {
            let from = VirtualTime::from_us(t.as_us().saturating_sub(window));
            if fresh {
                a.forget_cursor();
            }
            a.seek(t);
            let expected = full.state_at_observed(from, t, |e| e.set_activity(true));
            let seen = a.observed_seek(from, t).map(|e| (hops_of(e), e.run_hash()));
            (seen, (hops_of(&expected), expected.run_hash()))
        };
        let times = [
            secs(2.3),
            secs(7.55),
            VirtualTime::from_us(before_window.as_us() - 1),
            secs(12.2),
        ];
        assert!(times[1] < before_window && times[3] > before_window);
        // Observed when restarting before `t - window` costs less than
        // re-running the window again (always from the start of the run);
        // otherwise not, and then it says so.
        let mut observed = 0;
        for t in times {
            let (seen, expected) = check(&mut a, t, true);
            assert!(!expected.0.is_empty(), "{t}: hops were seen");
            if let Some(seen) = seen {
                assert_eq!(seen, expected, "{t}");
                observed += 1;
            } else {
                assert!(t > secs(6.0), "{t}");
            }
        }
        assert!(observed >= 2, "{observed}");
        // A far step right: the cursor goes on, observed afresh.
        check(&mut a, secs(6.0), true);
        let (seen, expected) = check(&mut a, secs(12.5), false);
        assert!(seen.is_none_or(|s| s == expected), "far step right");
        // A small step right: the cursor is past `t - window` already.
        let t = secs(13.0);
        a.seek(t);
        let from = VirtualTime::from_us(t.as_us() - window);
        assert!(
            a.observed_seek(from, t).is_none(),
            "observed from elsewhere"
        );
        assert!(a.seek(t).activity().is_none(), "and no longer observing");
        assert_same_moment(a.seek(t), &full.state_at(t), "still exact");
        // A step back restarts, observed again; none without observing.
        let (seen, expected) = check(&mut a, secs(9.0), false);
        assert!(seen.is_none_or(|s| s == expected), "step back");
        a.observe_seeks(None);
        a.forget_cursor();
        a.seek(secs(9.0));
        assert!(a.observed_seek(secs(3.0), secs(9.0)).is_none());
        assert!(a.seek(secs(9.0)).activity().is_none(), "the seek runs lean");
    }

    /// Encoding the images elsewhere (deferred) as they come makes the
    /// same archive; late and out of order, another one (thinning depends
    /// on when an image's size is known) that is just as exact and bounded.
    #[test]
    fn deferred_images_make_an_archive_as_exact() {
        let options = ArchiveOptions {
            max_images: 5,
            max_bytes: usize::MAX,
        };
        let (inline, full) = {
            let (mut a, mut f) = retained_histories(23, KEEP, ROOMY, options);
            for s in 1..=24 {
                a.run_until(secs(f64::from(s) / 2.0));
                f.run_until(secs(f64::from(s) / 2.0));
            }
            (a, f)
        };
        let (mut prompt, _) = retained_histories(23, KEEP, ROOMY, options);
        let (mut late, _) = retained_histories(23, KEEP, ROOMY, options);
        prompt.defer_archiving(true);
        late.defer_archiving(true);
        let mut held = Vec::new();
        for s in 1..=24 {
            let t = secs(f64::from(s) / 2.0);
            prompt.run_until(t);
            for job in prompt.take_archive_jobs() {
                prompt.add_archive_image(job.encode());
            }
            late.run_until(t);
            held.extend(late.take_archive_jobs());
            if s % 5 == 0 {
                for job in held.drain(..).rev() {
                    late.add_archive_image(job.encode());
                }
            }
        }
        for job in held.drain(..) {
            late.add_archive_image(job.encode());
        }
        let times = |h: &History| h.archive_times().collect::<Vec<_>>();
        assert_eq!(times(&prompt), times(&inline));
        assert_eq!(prompt.archive_bytes(), inline.archive_bytes());
        assert_eq!(prompt.archive_stats(), inline.archive_stats());
        let late_times = times(&late);
        assert!(
            late_times.len() <= 5 && late_times.len() >= 2,
            "{late_times:?}"
        );
        assert_eq!(late_times[0], VirtualTime::ZERO);
        assert!(late_times.windows(2).all(|w| w[0] < w[1]), "{late_times:?}");
        let probes: Vec<VirtualTime> = late_times
            .iter()
            .map(|t| t.plus_us(300_000))
            .filter(|&t| t < late.window_start())
            .collect();
        assert_archive_matches(&mut late, &full, &probes);
        assert!(
            late.log_missing_until().is_some(),
            "re-run from a slim image"
        );
    }
}
