//! Writing a recording: the engine's thread hands batches to a writer
//! thread that owns the SQLite connection, so formatting and inserting
//! overlap with simulating. Each batch is one transaction; events go in
//! through one prepared multi-row insert ([`ROWS_PER_INSERT`] rows per
//! statement), their payloads as integer columns (`columns.rs`). Engine
//! images are encoded on the writer thread from a clone of the engine
//! (cheap: the append-only logs share their chunks).

use super::columns::{PAYLOAD_COLUMNS, PayloadColumns};
use super::{
    APPLICATION_ID, ENGINE_STREAM, RecordError, SCHEMA_VERSION, event_type, schema_sql,
    sqlite_error,
};
use crate::sim::{ControlRecord, Engine, Published, RunSummary};
use rusqlite::{Connection, OpenFlags, params};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Events per transaction: large enough that the per-commit fsync is
/// noise, small enough that a kill loses little.
const BATCH_EVENTS: usize = 32 * 1024;

/// Event rows per `INSERT` statement: fewer statement executions per
/// row; 15 × 64 parameters stay far below SQLite's limit.
const ROWS_PER_INSERT: usize = 64;

/// The file's page size: large pages hold more rows per page and chain
/// an image's overflow in fewer, larger reads.
const PAGE_SIZE: u32 = 65_536;

/// The writer's page cache, in KiB.
const CACHE_KIB: u32 = 32 * 1024;

/// Bytes an event row takes in the file, about (10M events of
/// `tests/benches/seed-speed.mmd`: 41.6 bytes each with their share of
/// snapshots); how [`Recorder::image_due`] weighs events against images.
pub const EVENT_ROW_BYTES: u64 = 42;

/// [`Recorder::image_due`] keeps the images' bytes within this many
/// times the events' bytes: images then take at most about two thirds
/// of the file. (At 1, half: but on the 10M-event seed-speed run, whose
/// images reach 2.4 MB, that stretches the gap between images from
/// ~40k to ~60k events and the worst `replay --at` past 50 ms.)
pub const IMAGE_TO_EVENT_BYTES: u64 = 2;

/// How much larger than the last encoded image [`Recorder::image_due`]
/// takes each image the writer has not encoded yet to be.
const IN_FLIGHT_GROWTH: u64 = 4;

/// Batches in flight between the engine and the writer (back-pressure:
/// the engine waits when the disk is slower).
const BATCHES_IN_FLIGHT: usize = 8;

/// What the recording says about the run besides its events.
#[derive(Debug, Clone, Copy)]
pub struct RunInfo<'a> {
    /// The diagram's file name (or `<seed>`, `<stdin>`).
    pub source_name: &'a str,
    /// The diagram's text: with the seed, the whole run.
    pub diagram: &'a str,
    /// Virtual time the run is meant to last.
    pub duration_us: u64,
}

/// What a finished recording wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RecordStats {
    /// Event rows.
    pub events: u64,
    /// Snapshot rows.
    pub snapshots: u64,
    /// Engine images.
    pub images: u64,
    /// Transactions committed.
    pub transactions: u64,
    /// Bytes of the file (with its WAL checkpointed).
    pub file_bytes: u64,
    /// Wall time the writer thread spent writing (from taking a batch to
    /// its commit, and the final checkpoint).
    pub writer_busy: Duration,
    /// Wall time the engine's thread waited for the writer (the channel
    /// full: the disk slower than the simulation).
    pub engine_waited: Duration,
}

/// A snapshot row, made on the engine's thread.
struct SnapshotRow {
    time_us: u64,
    events: u64,
    deliveries: u64,
    run_hash: String,
    state_json: String,
    samples: Vec<(String, &'static str, u64)>,
}

enum Msg {
    Events(Vec<Published>),
    Control(super::controls::ControlRow),
    Snapshot(SnapshotRow),
    /// An engine to image (a clone, encoded on the writer thread).
    Image(Box<Engine>),
    Finish {
        run_hash: String,
        events: u64,
        deliveries: u64,
        summary_json: String,
    },
}

/// Records one run into an SQLite file (see the module doc for the schema).
///
/// Create it before running the engine (it switches the engine's tap on),
/// call [`Recorder::collect`] after each slice of the run and
/// [`Recorder::snapshot`] at each moment worth keeping, then
/// [`Recorder::finish`]. Dropping it without `finish` leaves a recording
/// with status `recording` holding every batch sent so far.
pub struct Recorder {
    path: PathBuf,
    tx: Option<SyncSender<Msg>>,
    writer: Option<JoinHandle<Result<RecordStats, RecordError>>>,
    pending: Vec<Published>,
    waited: Duration,
    /// Events produced when the last image was taken, and images sent.
    imaged_events: u64,
    images_sent: u64,
    /// Bytes of the images the writer encoded: the last one and all.
    image_bytes: Arc<ImageBytes>,
}

/// What the writer tells [`Recorder::image_due`] about the images.
#[derive(Default)]
struct ImageBytes {
    last: AtomicU64,
    total: AtomicU64,
    encoded: AtomicU64,
}

impl Recorder {
    /// Creates the file at `path` (replacing an earlier recording there,
    /// but never any other file), writes the run's description and topics
    /// in the first transaction, and taps `engine`.
    pub fn create(
        path: &Path,
        info: RunInfo<'_>,
        engine: &mut Engine,
    ) -> Result<Recorder, RecordError> {
        if path.exists() {
            if super::Recording::open(path).is_err() {
                return Err(RecordError::WouldOverwrite {
                    path: path.to_path_buf(),
                });
            }
            remove_with_sidecars(path)?;
        }
        let mut conn = Connection::open_with_flags(
            path,
            // One thread uses the connection at a time (the writer owns
            // it): no per-call mutex, which cost a quarter of its time.
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| RecordError::Open {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        let err = |doing| move |e| sqlite_error(path, doing, e);
        conn.execute_batch(&format!(
            "PRAGMA page_size = {PAGE_SIZE};
             PRAGMA journal_mode = WAL;
             PRAGMA synchronous = NORMAL;
             PRAGMA cache_size = -{CACHE_KIB};
             PRAGMA application_id = {APPLICATION_ID};
             PRAGMA user_version = {SCHEMA_VERSION};"
        ))
        .map_err(err("setting up the file"))?;
        let scenario_json =
            serde_json::to_string(engine.scenario()).map_err(|e| RecordError::Replay {
                path: path.to_path_buf(),
                reason: format!("the scenario does not serialize: {e}"),
            })?;
        let tx = conn
            .transaction()
            .map_err(err("starting the first transaction"))?;
        tx.execute_batch(&schema_sql())
            .map_err(err("creating the schema"))?;
        tx.execute(
            "INSERT INTO runs (id, source_name, diagram, scenario_json, seed, duration_us,
                               engine_version, engine_stream, status, created_at)
             VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, 'recording', datetime('now'))",
            params![
                info.source_name,
                info.diagram,
                scenario_json,
                engine.seed() as i64,
                info.duration_us as i64,
                env!("CARGO_PKG_VERSION"),
                ENGINE_STREAM,
            ],
        )
        .map_err(err("writing the run"))?;
        for (i, t) in engine.topics().iter().enumerate() {
            tx.execute(
                "INSERT INTO topics (id, name, event_type, partitions) VALUES (?1, ?2, ?3, ?4)",
                params![
                    i as i64,
                    t.name(),
                    event_type(t.name()),
                    t.partitions().len() as i64
                ],
            )
            .map_err(err("writing the topics"))?;
        }
        tx.commit()
            .map_err(err("committing the first transaction"))?;

        engine.set_tap(true);
        let (tx, rx) = sync_channel(BATCHES_IN_FLIGHT);
        let writer_path = path.to_path_buf();
        let image_bytes = Arc::new(ImageBytes::default());
        let writer_image_bytes = image_bytes.clone();
        let writer = std::thread::Builder::new()
            .name("eda-record".into())
            .spawn(move || write_loop(conn, &writer_path, rx, &writer_image_bytes))
            .map_err(|e| RecordError::Open {
                path: path.to_path_buf(),
                reason: format!("cannot start the writer thread: {e}"),
            })?;
        Ok(Recorder {
            path: path.to_path_buf(),
            tx: Some(tx),
            writer: Some(writer),
            pending: Vec::with_capacity(BATCH_EVENTS),
            waited: Duration::ZERO,
            imaged_events: 0,
            images_sent: 0,
            image_bytes,
        })
    }

    /// Takes the records `engine` published since the last call; sends a
    /// batch to the writer when enough have gathered.
    pub fn collect(&mut self, engine: &mut Engine) -> Result<(), RecordError> {
        engine.take_published(&mut self.pending);
        if self.pending.len() >= BATCH_EVENTS {
            self.flush()?;
        }
        Ok(())
    }

    /// Sends what was collected and a snapshot of every component's state
    /// now: a row of `snapshots` and rows of `metric_samples`.
    pub fn snapshot(&mut self, engine: &mut Engine) -> Result<(), RecordError> {
        engine.take_published(&mut self.pending);
        self.flush()?;
        let row = snapshot_row(engine);
        self.send(Msg::Snapshot(row))
    }

    /// Sends what was collected and an image of the whole engine now (a
    /// row of `images`), from which `replay --at` restores.
    pub fn image(&mut self, engine: &mut Engine) -> Result<(), RecordError> {
        engine.take_published(&mut self.pending);
        self.flush()?;
        let mut copy = engine.clone();
        copy.set_tap(false);
        self.imaged_events = engine.events_produced();
        self.images_sent += 1;
        self.send(Msg::Image(Box::new(copy)))
    }

    /// Whether an image is due by the default cadence: at least
    /// `every_events` events produced since the last image, the writer
    /// done with that image, and the images so far plus one more of the
    /// last one's size within [`IMAGE_TO_EVENT_BYTES`] times the events'
    /// bytes (at about [`EVENT_ROW_BYTES`] each). An image holds the
    /// backlog a busy run retains, so a lagging run's images grow to tens
    /// of megabytes; the last rule keeps them under about two thirds of
    /// the file (plus one image: the next may be larger than the last),
    /// at the cost of longer runs forward from the nearest image there.
    pub fn image_due(&self, engine: &Engine, every_events: u64) -> bool {
        let events = engine.events_produced();
        let budget = events.saturating_mul(EVENT_ROW_BYTES * IMAGE_TO_EVENT_BYTES);
        let last = self.image_bytes.last.load(Ordering::Relaxed);
        let total = self.image_bytes.total.load(Ordering::Relaxed);
        let encoded = self.image_bytes.encoded.load(Ordering::Relaxed);
        // Images the writer has not encoded yet: their size is unknown
        // (a busy run's images grow fast), so they count as
        // IN_FLIGHT_GROWTH times the last one's, and none is known before
        // the first is encoded; far below the budget they change nothing,
        // near it the cadence waits for the writer.
        let in_flight = self.images_sent.saturating_sub(encoded);
        let fits = if in_flight == 0 {
            total.saturating_add(last) <= budget
        } else {
            let coming = (in_flight + 1).saturating_mul(last * IN_FLIGHT_GROWTH);
            encoded > 0 && total.saturating_add(coming) <= budget
        };
        events.saturating_sub(self.imaged_events) >= every_events && fits
    }

    /// Sends a control input made on the recorded engine (a fault applied
    /// or scheduled, sources stopped) as a row of `controls`, after the
    /// events collected so far. Call it right after applying the control,
    /// with the [`ControlRecord`] a [`History`](crate::sim::History) logged
    /// or one made the same way (steps run before it, the time then).
    pub fn control(&mut self, record: &ControlRecord) -> Result<(), RecordError> {
        let row = super::controls::ControlRow::of(record).map_err(|e| RecordError::Replay {
            path: self.path.clone(),
            reason: format!("a control does not serialize: {e}"),
        })?;
        self.send(Msg::Control(row))
    }

    /// Sends the rest, a last snapshot and the run's hash and summary,
    /// marks the run complete and waits for the writer.
    pub fn finish(
        mut self,
        engine: &mut Engine,
        summary: &RunSummary,
    ) -> Result<RecordStats, RecordError> {
        self.snapshot(engine)?;
        let summary_json = serde_json::to_string(summary).map_err(|e| RecordError::Replay {
            path: self.path.clone(),
            reason: format!("the summary does not serialize: {e}"),
        })?;
        self.send(Msg::Finish {
            run_hash: format!("{:016x}", engine.run_hash()),
            events: engine.events_produced(),
            deliveries: engine.deliveries(),
            summary_json,
        })?;
        engine.set_tap(false);
        self.tx = None;
        let waited = self.waited;
        self.join().map(|stats| RecordStats {
            engine_waited: waited,
            ..stats
        })
    }

    fn flush(&mut self) -> Result<(), RecordError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let batch = std::mem::replace(&mut self.pending, Vec::with_capacity(BATCH_EVENTS));
        self.send(Msg::Events(batch))
    }

    fn send(&mut self, msg: Msg) -> Result<(), RecordError> {
        let started = Instant::now();
        let sent = self.tx.as_ref().is_some_and(|tx| tx.send(msg).is_ok());
        self.waited += started.elapsed();
        if sent {
            return Ok(());
        }
        // The writer stopped: its error says why.
        self.tx = None;
        match self.join() {
            Err(e) => Err(e),
            Ok(_) => Err(RecordError::WriterGone {
                path: self.path.clone(),
            }),
        }
    }

    fn join(&mut self) -> Result<RecordStats, RecordError> {
        let gone = || RecordError::WriterGone {
            path: self.path.clone(),
        };
        match self.writer.take() {
            Some(handle) => handle.join().map_err(|_| gone())?,
            None => Err(gone()),
        }
    }
}

/// Removes a recording and its WAL and shared-memory files.
fn remove_with_sidecars(path: &Path) -> Result<(), RecordError> {
    let mut names = vec![path.to_path_buf()];
    for ext in ["-wal", "-shm"] {
        let mut s = path.as_os_str().to_owned();
        s.push(ext);
        names.push(PathBuf::from(s));
    }
    for p in names {
        match std::fs::remove_file(&p) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(RecordError::Open {
                    path: p,
                    reason: format!("cannot replace it: {e}"),
                });
            }
            _ => {}
        }
    }
    Ok(())
}

/// The state of every component now, as a snapshot row.
fn snapshot_row(engine: &Engine) -> SnapshotRow {
    let mut samples = Vec::new();
    for m in engine.metrics() {
        samples.push((m.key.clone(), "events_in", m.events_in));
        samples.push((m.key.clone(), "events_out", m.events_out));
    }
    let groups: Vec<serde_json::Value> = engine
        .group_names()
        .map(|g| {
            let parts = engine.partition_lags(g).unwrap_or_default();
            let lag: u64 = parts.iter().map(|p| p.lag).sum();
            let dlq = engine.dead_letters(g).map_or(0, |d| d.len);
            samples.push((g.to_string(), "lag", lag));
            samples.push((g.to_string(), "dlq", dlq));
            json!({
                "group": g,
                "lag": lag,
                "dlq": dlq,
                "committed": parts
                    .iter()
                    .map(|p| json!({"topic": p.topic, "partition": p.partition, "committed": p.committed, "high": p.high_watermark}))
                    .collect::<Vec<_>>(),
            })
        })
        .collect();
    let state = json!({
        "groups": groups,
        "sinks": engine.sink_summaries(),
    });
    SnapshotRow {
        time_us: engine.now().as_us(),
        events: engine.events_produced(),
        deliveries: engine.deliveries(),
        run_hash: format!("{:016x}", engine.run_hash()),
        state_json: state.to_string(),
        samples,
    }
}

/// The writer thread: one transaction per message, until the channel
/// closes or a write fails.
fn write_loop(
    mut conn: Connection,
    path: &Path,
    rx: Receiver<Msg>,
    image_bytes: &ImageBytes,
) -> Result<RecordStats, RecordError> {
    let err = |doing| move |e| sqlite_error(path, doing, e);
    let mut stats = RecordStats {
        transactions: 1,
        ..RecordStats::default()
    };
    for msg in rx {
        let started = Instant::now();
        let tx = conn.transaction().map_err(err("starting a transaction"))?;
        match msg {
            Msg::Events(batch) => {
                insert_events(&tx, &batch).map_err(err("writing events"))?;
                stats.events += batch.len() as u64;
            }
            Msg::Image(engine) => {
                let image = engine.to_image().map_err(|e| RecordError::Image {
                    path: path.to_path_buf(),
                    time_us: engine.now().as_us(),
                    reason: e.to_string(),
                })?;
                let len = image.len() as u64;
                image_bytes.last.store(len, Ordering::Relaxed);
                image_bytes.total.fetch_add(len, Ordering::Relaxed);
                image_bytes.encoded.fetch_add(1, Ordering::Relaxed);
                tx.execute(
                    "INSERT INTO images (time_us, events, run_hash, image) VALUES (?1, ?2, ?3, ?4)",
                    params![
                        engine.now().as_us() as i64,
                        engine.events_produced() as i64,
                        format!("{:016x}", engine.run_hash()),
                        image
                    ],
                )
                .map_err(err("writing an engine image"))?;
                stats.images += 1;
            }
            Msg::Control(row) => {
                super::controls::insert(&tx, &row).map_err(err("writing a control"))?;
            }
            Msg::Snapshot(row) => {
                tx.execute(
                    "INSERT INTO snapshots (time_us, events, deliveries, run_hash, state_json)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![
                        row.time_us as i64,
                        row.events as i64,
                        row.deliveries as i64,
                        row.run_hash,
                        row.state_json
                    ],
                )
                .map_err(err("writing a snapshot"))?;
                let mut insert = tx
                    .prepare_cached(
                        "INSERT INTO metric_samples (time_us, component, metric, value) VALUES (?1, ?2, ?3, ?4)",
                    )
                    .map_err(err("preparing the sample insert"))?;
                for (component, metric, value) in &row.samples {
                    insert
                        .execute(params![
                            row.time_us as i64,
                            component,
                            metric,
                            *value as i64
                        ])
                        .map_err(err("writing metric samples"))?;
                }
                stats.snapshots += 1;
            }
            Msg::Finish {
                run_hash,
                events,
                deliveries,
                summary_json,
            } => {
                tx.execute(
                    "UPDATE runs SET status = 'complete', run_hash = ?1, events = ?2,
                                     deliveries = ?3, summary_json = ?4 WHERE id = 1",
                    params![run_hash, events as i64, deliveries as i64, summary_json],
                )
                .map_err(err("marking the run complete"))?;
            }
        }
        tx.commit().map_err(err("committing"))?;
        stats.transactions += 1;
        stats.writer_busy += started.elapsed();
    }
    // Fold the WAL into the file so that a lone .sqlite file is complete.
    let started = Instant::now();
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
        .map_err(err("checkpointing the WAL"))?;
    stats.writer_busy += started.elapsed();
    drop(conn);
    stats.file_bytes = std::fs::metadata(path).map_or(0, |m| m.len());
    Ok(stats)
}

/// Columns of an `events` row.
const EVENT_COLUMNS: usize = 7 + PAYLOAD_COLUMNS.len();

/// Inserts a batch of events: full groups of [`ROWS_PER_INSERT`] rows
/// through one multi-row statement, the rest row by row.
fn insert_events(tx: &rusqlite::Transaction<'_>, batch: &[Published]) -> rusqlite::Result<()> {
    let columns = format!(
        "INSERT INTO events (event_id, time_us, topic_id, partition_no, log_offset, key, schema_id, {}) VALUES ",
        PAYLOAD_COLUMNS.join(", ")
    );
    let row = format!("({})", vec!["?"; EVENT_COLUMNS].join(","));
    let many = format!("{columns}{}", vec![row.as_str(); ROWS_PER_INSERT].join(","));
    let mut chunks = batch.chunks_exact(ROWS_PER_INSERT);
    let mut stmt = tx.prepare_cached(&many)?;
    for chunk in &mut chunks {
        for (i, p) in chunk.iter().enumerate() {
            bind_row(&mut stmt, i * EVENT_COLUMNS, p)?;
        }
        stmt.raw_execute()?;
    }
    let mut one = tx.prepare_cached(&format!("{columns}{row}"))?;
    for p in chunks.remainder() {
        bind_row(&mut one, 0, p)?;
        one.raw_execute()?;
    }
    Ok(())
}

/// Binds one event row's [`EVENT_COLUMNS`] parameters after the first `base`.
fn bind_row(
    stmt: &mut rusqlite::CachedStatement<'_>,
    base: usize,
    p: &Published,
) -> rusqlite::Result<()> {
    let r = &p.record;
    let cols = PayloadColumns::of(&r.payload, r.key);
    stmt.raw_bind_parameter(base + 1, r.event_id as i64)?;
    stmt.raw_bind_parameter(base + 2, r.produced_at.as_us() as i64)?;
    stmt.raw_bind_parameter(base + 3, i64::from(p.topic))?;
    stmt.raw_bind_parameter(base + 4, i64::from(p.partition))?;
    stmt.raw_bind_parameter(base + 5, p.offset as i64)?;
    stmt.raw_bind_parameter(base + 6, r.key as i64)?;
    stmt.raw_bind_parameter(base + 7, cols.schema_id)?;
    for (i, v) in cols.fields.iter().enumerate() {
        stmt.raw_bind_parameter(base + 8 + i, *v)?;
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::mermaid::parse_flowchart;
    use crate::model::ArchGraph;
    use crate::sim::{VirtualTime, load_scenario};

    /// A lagging run (the seed with Producer1 at 20,000/s): its images
    /// carry a growing backlog, and the cadence keeps them within
    /// their budget however often it looks.
    #[test]
    fn images_of_a_lagging_run_stay_within_their_share_of_the_file() {
        let dir = std::env::temp_dir().join(format!("eda-cadence-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("run.sqlite");
        let text = format!(
            "{}\n%% eda:scenario Producer1.rate = 20000/s poisson\n",
            crate::SEED_DIAGRAM
        );
        let graph = ArchGraph::from_flowchart(&parse_flowchart(&text).unwrap());
        let mut engine = Engine::new(&graph, load_scenario(&text, &graph).unwrap(), 1).unwrap();
        let info = RunInfo {
            source_name: "busy.mmd",
            diagram: &text,
            duration_us: 4_000_000,
        };
        let mut r = Recorder::create(&file, info, &mut engine).unwrap();
        r.image(&mut engine).unwrap();
        let mut looked = 0;
        for ms in (10..=4_000).step_by(10) {
            engine.run_until(VirtualTime::from_us(ms * 1000));
            r.collect(&mut engine).unwrap();
            looked += 1;
            if r.image_due(&engine, 1024) {
                r.image(&mut engine).unwrap();
            }
        }
        let summary = engine.summary();
        let stats = r.finish(&mut engine, &summary).unwrap();
        let conn = Connection::open(&file).unwrap();
        let (total, last): (i64, i64) = conn
            .query_row(
                "SELECT sum(length(image)), (SELECT length(image) FROM images ORDER BY id DESC LIMIT 1) FROM images",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        let budget = stats.events * EVENT_ROW_BYTES * IMAGE_TO_EVENT_BYTES;
        assert!(stats.images > 2, "{stats:?}");
        assert!(
            stats.images < looked / 4,
            "{} images in {looked} looks",
            stats.images
        );
        assert!(
            (total as u64) <= budget + last as u64,
            "images {total} bytes, budget {budget} + the last {last}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
