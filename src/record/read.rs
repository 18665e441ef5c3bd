//! Reading a recording: open with checks that turn every kind of wrong
//! file into a [`RecordError`], then rebuild and replay the run.

use super::columns::{PAYLOAD_COLUMNS, PayloadColumns};
use super::controls::{advance, advance_engine};
use super::{
    APPLICATION_ID, ENGINE_STREAM, OLDEST_READABLE_VERSION, RecordError, SCHEMA_VERSION,
    sqlite_error,
};
use crate::mermaid::parse_flowchart;
use crate::model::ArchGraph;
use crate::sim::{
    ControlRecord, Engine, History, HistoryOptions, Retention, Scenario, VirtualTime, load_scenario,
};
use rusqlite::{Connection, OpenFlags, OptionalExtension};
use std::io::Read;
use std::path::{Path, PathBuf};

/// Whether the run finished recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Still being written, or the writer died (the file holds every
    /// batch committed before).
    Recording,
    /// Finished: the final hash and summary are there.
    Complete,
}

/// The `runs` row.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRow {
    /// The diagram's file name.
    pub source_name: String,
    /// The diagram's text.
    pub diagram: String,
    /// The scenario, as JSON.
    pub scenario_json: String,
    /// The seed.
    pub seed: u64,
    /// Virtual time the run was meant to last.
    pub duration_us: u64,
    /// The version of eda-studio that wrote it.
    pub engine_version: String,
    /// The engine's random stream ([`ENGINE_STREAM`] when written); `None`
    /// in a file from before it was recorded (schema versions 1 to 4).
    pub engine_stream: Option<u32>,
    /// Finished or not.
    pub status: Status,
    /// The final run hash (complete runs).
    pub run_hash: Option<String>,
}

/// A `snapshots` row (without its state JSON).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotRow {
    /// Virtual time.
    pub time_us: u64,
    /// Events produced by then.
    pub events: u64,
    /// Deliveries by then.
    pub deliveries: u64,
    /// The run hash then.
    pub run_hash: String,
}

/// An `events` row, with its topic's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRow {
    /// Event id (unique in the run).
    pub event_id: u64,
    /// Virtual time it was published.
    pub time_us: u64,
    /// Topic name.
    pub topic: String,
    /// Partition.
    pub partition: u32,
    /// Offset in the partition.
    pub offset: u64,
    /// Aggregate key.
    pub key: u64,
    /// Payload JSON.
    pub payload: String,
}

/// A recording made by an engine whose random stream is not this one's:
/// its run cannot be reproduced here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OlderEngine {
    /// The recorded stream; `None` when the file predates the stream
    /// being recorded and its replay did not match this engine.
    pub stream: Option<u32>,
}

impl std::fmt::Display for OlderEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.stream {
            Some(v) if v > ENGINE_STREAM => write!(
                f,
                "recorded by a newer engine (random stream v{v}; this one is v{ENGINE_STREAM})"
            )?,
            Some(v) => write!(f, "recorded by an older engine (random stream v{v})")?,
            None => write!(
                f,
                "recorded by an older engine (the file predates recorded stream versions and \
                 does not replay on random stream v{ENGINE_STREAM})"
            )?,
        }
        write!(
            f,
            "; this engine cannot reproduce it exactly — its recorded events and metrics \
             are shown as stored"
        )
    }
}

/// A `metric_samples` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricSample {
    /// The snapshot's virtual time.
    pub time_us: u64,
    /// The component (Mermaid id).
    pub component: String,
    /// `events_in`, `events_out`, `lag` or `dlq`.
    pub metric: String,
    /// Its value then.
    pub value: i64,
}

/// What a replay proved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// Snapshots whose run hash the replay matched.
    pub snapshots: usize,
    /// Whether the final hash was there to match (complete runs).
    pub complete: bool,
    /// The replay's run hash at its end.
    pub run_hash: String,
}

/// An open recording.
pub struct Recording {
    path: PathBuf,
    conn: Connection,
    run: RunRow,
    /// Whether the file has the `images` table (version 2 on; looked up
    /// by name like `controls`).
    has_images: bool,
    /// The schema version (`PRAGMA user_version`).
    version: i32,
}

impl std::fmt::Debug for Recording {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recording")
            .field("path", &self.path)
            .field("run", &self.run)
            .finish_non_exhaustive()
    }
}

const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";

impl Recording {
    /// Opens `path`, checking that it is an SQLite database no shorter
    /// than its header says, written by eda-studio in a schema version
    /// this program reads, with its run, and that the small tables every
    /// use reads are intact. The rest is checked as it is read; the whole
    /// file by [`Recording::verify`] (which [`Recording::replay`] runs).
    pub fn open(path: &Path) -> Result<Recording, RecordError> {
        let open_err = |reason: String| RecordError::Open {
            path: path.to_path_buf(),
            reason,
        };
        let mut file = std::fs::File::open(path).map_err(|e| open_err(e.to_string()))?;
        if !file
            .metadata()
            .map_err(|e| open_err(e.to_string()))?
            .is_file()
        {
            return Err(open_err("not a file".into()));
        }
        let mut magic = [0u8; 16];
        if file.read_exact(&mut magic).is_err() || &magic != SQLITE_MAGIC {
            return Err(RecordError::NotSqlite {
                path: path.to_path_buf(),
            });
        }
        let mut header = [0u8; 100];
        header[..16].copy_from_slice(&magic);
        let whole_header = file.read_exact(&mut header[16..]).is_ok();
        let file_len = file.metadata().map_err(|e| open_err(e.to_string()))?.len();
        drop(file);
        if !whole_header {
            return Err(RecordError::Corrupt {
                path: path.to_path_buf(),
                detail: "the file ends inside its header".into(),
            });
        }
        if let Some(detail) = truncation(&header, file_len, wal_bytes(path)) {
            return Err(RecordError::Corrupt {
                path: path.to_path_buf(),
                detail,
            });
        }
        // Read-write so that SQLite can roll back a batch a killed writer left.
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| sqlite_error(path, "opening", e))?;
        let err = |doing| move |e| sqlite_error(path, doing, e);
        let app: i32 = conn
            .query_row("PRAGMA application_id", [], |r| r.get(0))
            .map_err(err("reading the application id"))?;
        if app != APPLICATION_ID {
            return Err(RecordError::Foreign {
                path: path.to_path_buf(),
                found: app,
            });
        }
        let version: i32 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(err("reading the schema version"))?;
        if !(OLDEST_READABLE_VERSION..=SCHEMA_VERSION).contains(&version) {
            return Err(RecordError::Version {
                path: path.to_path_buf(),
                found: version,
            });
        }
        let tables = table_names(&conn).map_err(err("reading the schema"))?;
        for needed in ["runs", "topics", "events", "snapshots"] {
            if !tables.iter().any(|t| t == needed) {
                return Err(RecordError::Corrupt {
                    path: path.to_path_buf(),
                    detail: format!("it has no `{needed}` table"),
                });
            }
        }
        // The small tables every use of the file reads are checked whole;
        // events and images are checked as they are read (SQLite refuses
        // a damaged page, an image carries its checksum), so opening a
        // file costs the same however long the run.
        for table in SMALL_TABLES {
            if tables.iter().any(|t| t == table) {
                quick_check(&conn, path, Some(table))?;
            }
        }
        let run = conn
            .query_row(
                &format!(
                    "SELECT source_name, diagram, scenario_json, seed, duration_us,
                            engine_version, status, run_hash, {} FROM runs WHERE id = 1",
                    if version >= 5 {
                        "engine_stream"
                    } else {
                        "NULL"
                    }
                ),
                [],
                |r| {
                    Ok(RunRow {
                        source_name: r.get(0)?,
                        diagram: r.get(1)?,
                        scenario_json: r.get(2)?,
                        seed: r.get::<_, i64>(3)? as u64,
                        duration_us: r.get::<_, i64>(4)? as u64,
                        engine_version: r.get(5)?,
                        engine_stream: r.get::<_, Option<i64>>(8)?.map(|v| v as u32),
                        status: if r.get::<_, String>(6)? == "complete" {
                            Status::Complete
                        } else {
                            Status::Recording
                        },
                        run_hash: r.get(7)?,
                    })
                },
            )
            .optional()
            .map_err(err("reading the run"))?
            .ok_or_else(|| RecordError::Corrupt {
                path: path.to_path_buf(),
                detail: "no run in the file".into(),
            })?;
        let has_images = tables.iter().any(|t| t == "images");
        Ok(Recording {
            path: path.to_path_buf(),
            conn,
            run,
            version,
            has_images,
        })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The run's description.
    pub fn run(&self) -> &RunRow {
        &self.run
    }

    /// Whether the run was recorded by an engine with another random
    /// stream (known from the file; a file from before the stream was
    /// recorded says so only when its replay fails: see the module doc).
    pub fn older_engine(&self) -> Option<OlderEngine> {
        match self.run.engine_stream {
            Some(v) if v != ENGINE_STREAM => Some(OlderEngine { stream: Some(v) }),
            _ => None,
        }
    }

    fn older_engine_error(&self, stream: Option<u32>) -> RecordError {
        RecordError::OlderEngine {
            path: self.path.clone(),
            engine: OlderEngine { stream },
        }
    }

    /// The final summary as `simulate --json` printed it (complete runs).
    pub fn summary_json(&self) -> Result<Option<String>, RecordError> {
        self.conn
            .query_row("SELECT summary_json FROM runs WHERE id = 1", [], |r| {
                r.get(0)
            })
            .map_err(|e| sqlite_error(&self.path, "reading the summary", e))
    }

    /// The metric samples stored with the snapshot at `time_us`, by
    /// component then metric.
    pub fn metric_samples_at(&self, time_us: u64) -> Result<Vec<MetricSample>, RecordError> {
        self.samples("WHERE time_us = ?1", time_us as i64, usize::MAX)
    }

    /// Every metric sample in time order (then by component and metric),
    /// at most `limit` (one pass over the table, which has no index).
    pub fn metric_samples(&self, limit: usize) -> Result<Vec<MetricSample>, RecordError> {
        self.samples("WHERE ?1 = ?1", 0, limit)
    }

    fn samples(
        &self,
        filter: &str,
        arg: i64,
        limit: usize,
    ) -> Result<Vec<MetricSample>, RecordError> {
        let err = |doing| move |e| sqlite_error(&self.path, doing, e);
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT time_us, component, metric, value FROM metric_samples {filter}
                 ORDER BY time_us, component, metric LIMIT ?2"
            ))
            .map_err(err("reading metric samples"))?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt
            .query_map([arg, limit], |r| {
                Ok(MetricSample {
                    time_us: r.get::<_, i64>(0)? as u64,
                    component: r.get(1)?,
                    metric: r.get(2)?,
                    value: r.get(3)?,
                })
            })
            .map_err(err("reading metric samples"))?;
        rows.collect::<Result<_, _>>()
            .map_err(err("reading metric samples"))
    }

    /// Event rows.
    pub fn event_count(&self) -> Result<u64, RecordError> {
        self.conn
            .query_row("SELECT count(*) FROM events", [], |r| r.get::<_, i64>(0))
            .map(|n| n as u64)
            .map_err(|e| sqlite_error(&self.path, "counting events", e))
    }

    /// Up to `limit` events from event id `from` on, in id order.
    pub fn events(&self, from: u64, limit: usize) -> Result<Vec<EventRow>, RecordError> {
        if self.version < 4 {
            return self.json_events(from, limit);
        }
        let err = |doing| move |e| sqlite_error(&self.path, doing, e);
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT e.event_id, e.time_us, t.name, e.partition_no, e.log_offset, e.key,
                        e.schema_id, {}
                 FROM events e JOIN topics t ON t.id = e.topic_id
                 WHERE e.event_id >= ?1 ORDER BY e.event_id LIMIT ?2",
                PAYLOAD_COLUMNS.map(|c| format!("e.{c}")).join(", ")
            ))
            .map_err(err("reading events"))?;
        let rows = stmt
            .query_map([from as i64, limit as i64], |r| {
                let mut fields = [None; PAYLOAD_COLUMNS.len()];
                for (i, f) in fields.iter_mut().enumerate() {
                    *f = r.get(7 + i)?;
                }
                let cols = PayloadColumns {
                    schema_id: r.get(6)?,
                    fields,
                };
                Ok((event_row(r, String::new())?, cols))
            })
            .map_err(err("reading events"))?;
        let mut out = Vec::new();
        for row in rows {
            let (mut event, cols) = row.map_err(err("reading events"))?;
            let payload = cols
                .payload(event.key)
                .map_err(|detail| RecordError::Corrupt {
                    path: self.path.clone(),
                    detail: format!("event {}: {detail}", event.event_id),
                })?;
            event.payload = serde_json::to_string(&payload).map_err(|e| RecordError::Corrupt {
                path: self.path.clone(),
                detail: format!("event {}: {e}", event.event_id),
            })?;
            out.push(event);
        }
        Ok(out)
    }

    /// [`Recording::events`] of a version 1 to 3 file: payloads as JSON text.
    fn json_events(&self, from: u64, limit: usize) -> Result<Vec<EventRow>, RecordError> {
        let err = |doing| move |e| sqlite_error(&self.path, doing, e);
        let mut stmt = self
            .conn
            .prepare(
                "SELECT e.event_id, e.time_us, t.name, e.partition_no, e.log_offset, e.key, e.payload
                 FROM events e JOIN topics t ON t.id = e.topic_id
                 WHERE e.event_id >= ?1 ORDER BY e.event_id LIMIT ?2",
            )
            .map_err(err("reading events"))?;
        let rows = stmt
            .query_map([from as i64, limit as i64], |r| event_row(r, r.get(6)?))
            .map_err(err("reading events"))?;
        rows.collect::<Result<_, _>>()
            .map_err(err("reading events"))
    }

    /// Checks the whole file (`PRAGMA quick_check`): every page of every
    /// table. Its cost grows with the file, which a replay from the start
    /// (whose cost grows with the run) can afford. What blobs hold is not
    /// checked: an image's own checksum is, when it is restored (a replay
    /// from the start reads none).
    pub fn verify(&self) -> Result<(), RecordError> {
        quick_check(&self.conn, &self.path, None)
    }

    /// Pages in the file (`PRAGMA page_count`): what [`Recording::verify`] reads.
    pub fn page_count(&self) -> Result<u64, RecordError> {
        self.conn
            .query_row("PRAGMA page_count", [], |r| r.get::<_, i64>(0))
            .map(|n| n.max(0) as u64)
            .map_err(|e| sqlite_error(&self.path, "reading the page count", e))
    }

    /// Checks the file as [`Recording::verify`] does, in parts whose
    /// progress can be shown and stopped however large the file (see
    /// `check.rs` for what it covers): `tick(fraction)` is called every
    /// few milliseconds with the part done, from 0 to 1, never
    /// decreasing, and returns `false` to stop the check, which then fails
    /// with a replay error saying it was cancelled.
    pub fn verify_watched(
        &mut self,
        tick: impl FnMut(f32) -> bool + Send + 'static,
    ) -> Result<(), RecordError> {
        super::check::check_watched(&mut self.conn, &self.path, tick)
    }

    /// The times of the stored engine images, ascending (none in a file
    /// without the `images` table).
    pub fn image_times(&self) -> Result<Vec<u64>, RecordError> {
        if !self.has_images {
            return Ok(Vec::new());
        }
        let err = |doing| move |e| sqlite_error(&self.path, doing, e);
        let mut stmt = self
            .conn
            .prepare("SELECT time_us FROM images ORDER BY time_us")
            .map_err(err("reading image times"))?;
        let rows = stmt
            .query_map([], |r| r.get::<_, i64>(0).map(|t| t as u64))
            .map_err(err("reading image times"))?;
        rows.collect::<Result<_, _>>()
            .map_err(err("reading image times"))
    }

    /// The engine at virtual time `t`, reached through the stored images:
    /// the latest image at or before `t` is restored (its run hash checked
    /// against its row) and run forward to `t`. Returns the engine and the
    /// image's time; `None` when no image is at or before `t`, and for a
    /// run with `controls` (an image does not carry the engine step count
    /// that places a control: use [`Recording::reexecute_to`]). A damaged
    /// image is a [`RecordError::Image`].
    pub fn state_at(&self, t: VirtualTime) -> Result<Option<(Engine, u64)>, RecordError> {
        let Some((mut engine, time_us)) = self.image_at(t)? else {
            return Ok(None);
        };
        engine.run_until(t);
        Ok(Some((engine, time_us)))
    }

    /// The first half of [`Recording::state_at`]: the latest image at or
    /// before `t`, restored and checked, not yet run forward.
    pub fn image_at(&self, t: VirtualTime) -> Result<Option<(Engine, u64)>, RecordError> {
        if let Some(older) = self.older_engine() {
            return Err(self.older_engine_error(older.stream));
        }
        if !self.has_images || !self.controls()?.is_empty() {
            return Ok(None);
        }
        let row = self
            .conn
            .query_row(
                "SELECT time_us, run_hash, image FROM images WHERE time_us <= ?1
                 ORDER BY time_us DESC LIMIT 1",
                [t.as_us() as i64],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)? as u64,
                        r.get::<_, String>(1)?,
                        r.get::<_, Vec<u8>>(2)?,
                    ))
                },
            )
            .optional()
            .map_err(|e| sqlite_error(&self.path, "reading an engine image", e))?;
        let Some((time_us, hash, bytes)) = row else {
            return Ok(None);
        };
        let bad = |reason: String| RecordError::Image {
            path: self.path.clone(),
            time_us,
            reason,
        };
        let engine = match Engine::from_image(&bytes) {
            Ok(engine) => engine,
            // An image of an engine from before the stream was recorded.
            Err(_) if self.run.engine_stream.is_none() => {
                return Err(self.older_engine_error(None));
            }
            Err(e) => return Err(bad(e.to_string())),
        };
        let restored = format!("{:016x}", engine.run_hash());
        if restored != hash || engine.now().as_us() != time_us {
            return Err(bad(format!(
                "it holds the run at {} with hash {restored}, its row says {} with hash {hash}",
                engine.now(),
                VirtualTime::from_us(time_us)
            )));
        }
        Ok(Some((engine, time_us)))
    }

    /// The engine at virtual time `t` re-executed from the start, with
    /// the recorded controls applied where they were made.
    pub fn reexecute_to(&self, t: VirtualTime) -> Result<Engine, RecordError> {
        let mut engine = self.rebuild(false)?;
        let controls = self.controls()?;
        let (mut steps, mut next) = (0, 0);
        advance_engine(&mut engine, &mut steps, t, &controls, &mut next, |_, _| {
            Ok(())
        })?;
        Ok(engine)
    }

    /// The snapshot rows, in time order.
    pub fn snapshots(&self) -> Result<Vec<SnapshotRow>, RecordError> {
        let err = |doing| move |e| sqlite_error(&self.path, doing, e);
        let mut stmt = self
            .conn
            .prepare("SELECT time_us, events, deliveries, run_hash FROM snapshots ORDER BY id")
            .map_err(err("reading snapshots"))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(SnapshotRow {
                    time_us: r.get::<_, i64>(0)? as u64,
                    events: r.get::<_, i64>(1)? as u64,
                    deliveries: r.get::<_, i64>(2)? as u64,
                    run_hash: r.get(3)?,
                })
            })
            .map_err(err("reading snapshots"))?;
        rows.collect::<Result<_, _>>()
            .map_err(err("reading snapshots"))
    }

    /// The control inputs (faults, resets, added groups, sources stopped)
    /// made during the run, in order: the `controls` table, empty in a
    /// recording written before that table existed.
    pub fn controls(&self) -> Result<Vec<ControlRecord>, RecordError> {
        super::controls::read(&self.conn, &self.path)
    }

    /// A fresh engine for the recorded run: the diagram parsed again, its
    /// scenario derived again (and checked against the recorded one), the
    /// recorded seed. With `keep_all` the bus keeps every record, so a
    /// group added at the end can read the whole history; that changes
    /// nothing else (unless the bus fills up, which the replay's hash
    /// check would catch).
    ///
    /// A recording of an older engine ([`Recording::older_engine`]) is
    /// built as this engine derives its diagram, unchecked (its recorded
    /// scenario may be another engine's); one from before the stream was
    /// recorded whose scenario differs is [`RecordError::OlderEngine`].
    pub fn rebuild(&self, keep_all: bool) -> Result<Engine, RecordError> {
        self.build(keep_all, self.older_engine().is_none())
    }

    fn build(&self, keep_all: bool, check_scenario: bool) -> Result<Engine, RecordError> {
        let fail = |reason: String| RecordError::Replay {
            path: self.path.clone(),
            reason,
        };
        let chart = parse_flowchart(&self.run.diagram).map_err(|d| {
            fail(format!(
                "the recorded diagram does not parse:\n{}",
                d.render(&self.run.source_name, &self.run.diagram)
            ))
        })?;
        let graph = ArchGraph::from_flowchart(&chart);
        let mut scenario =
            scenario_for(&self.run.source_name, &self.run.diagram, &graph).map_err(fail)?;
        let json = serde_json::to_string(&scenario).map_err(|e| fail(e.to_string()))?;
        if check_scenario && json != self.run.scenario_json {
            if self.run.engine_stream.is_none() {
                return Err(self.older_engine_error(None));
            }
            return Err(fail(format!(
                "the scenario derived from the recorded diagram differs from the recorded one \
                 (recorded by eda-studio {}, this is {})",
                self.run.engine_version,
                env!("CARGO_PKG_VERSION")
            )));
        }
        if keep_all {
            scenario.retention = Retention::KeepAll;
        }
        Engine::new(&graph, scenario, self.run.seed)
            .map_err(|e| fail(format!("the recorded run does not build: {e}")))
    }

    /// Replays the run into a [`History`] up to its end (the last snapshot
    /// of an unfinished recording), checking the whole file first, then the
    /// run hash at every recorded snapshot and at the end.
    pub fn replay(
        &self,
        keep_all: bool,
        options: HistoryOptions,
    ) -> Result<(History, Verified), RecordError> {
        let engine = self.rebuild(keep_all)?;
        self.replay_from(engine, options)
    }

    /// As [`Recording::replay`], from an engine [`Recording::rebuild`]
    /// made (and the caller set up, e.g. with activity tracing on). The
    /// whole file is checked first ([`Recording::verify`]).
    pub fn replay_from(
        &self,
        engine: Engine,
        options: HistoryOptions,
    ) -> Result<(History, Verified), RecordError> {
        self.replay_with_progress(engine, options, |_, _| true)
    }

    /// As [`Recording::replay_from`], calling `progress(done_us, total_us)`
    /// with the virtual time replayed after each snapshot; it returns
    /// `false` to stop the replay (an error saying it was cancelled).
    pub fn replay_with_progress(
        &self,
        engine: Engine,
        options: HistoryOptions,
        progress: impl FnMut(u64, u64) -> bool,
    ) -> Result<(History, Verified), RecordError> {
        self.verify()?;
        self.replay_checked(engine, options, progress)
    }

    /// As [`Recording::replay_with_progress`] for a file the caller has
    /// checked already ([`Recording::verify_watched`]).
    pub fn replay_checked(
        &self,
        engine: Engine,
        options: HistoryOptions,
        progress: impl FnMut(u64, u64) -> bool,
    ) -> Result<(History, Verified), RecordError> {
        if let Some(older) = self.older_engine() {
            return Err(self.older_engine_error(older.stream));
        }
        self.advance_through(engine, options, progress, true)
    }

    /// Runs the recorded diagram, seed and controls on this engine up to
    /// the recording's end without comparing run hashes: for a recording
    /// of an older engine ([`Recording::older_engine`]), whose run this
    /// engine cannot reproduce. `engine` comes from
    /// [`Recording::rebuild_unchecked`]; `progress` as in
    /// [`Recording::replay_with_progress`].
    pub fn rerun(
        &self,
        engine: Engine,
        options: HistoryOptions,
        progress: impl FnMut(u64, u64) -> bool,
    ) -> Result<History, RecordError> {
        self.advance_through(engine, options, progress, false)
            .map(|(history, _)| history)
    }

    /// A fresh engine for [`Recording::rerun`]: as [`Recording::rebuild`],
    /// without comparing the derived scenario with the recorded one.
    pub fn rebuild_unchecked(&self) -> Result<Engine, RecordError> {
        self.build(false, false)
    }

    /// The replay's loop: snapshot by snapshot to the end, the hash
    /// compared at each when `checked`.
    fn advance_through(
        &self,
        engine: Engine,
        options: HistoryOptions,
        mut progress: impl FnMut(u64, u64) -> bool,
        checked: bool,
    ) -> Result<(History, Verified), RecordError> {
        let mut history = History::new(engine, options);
        let snapshots = self.snapshots()?;
        let controls = self.controls()?;
        let total_us = match self.run.status {
            Status::Complete => self.run.duration_us,
            Status::Recording => snapshots.last().map_or(0, |s| s.time_us),
        };
        let mut next = 0;
        for s in &snapshots {
            if !progress(history.head().now().as_us(), total_us) {
                return Err(RecordError::Replay {
                    path: self.path.clone(),
                    reason: "cancelled".into(),
                });
            }
            advance(
                &mut history,
                VirtualTime::from_us(s.time_us),
                &controls,
                &mut next,
            );
            if checked {
                self.check(s.time_us, &s.run_hash, history.head().run_hash())?;
            }
        }
        let complete = self.run.status == Status::Complete;
        if complete {
            advance(
                &mut history,
                VirtualTime::from_us(self.run.duration_us),
                &controls,
                &mut next,
            );
            if let Some(recorded) = &self.run.run_hash
                && checked
            {
                self.check(self.run.duration_us, recorded, history.head().run_hash())?;
            }
        }
        let run_hash = format!("{:016x}", history.head().run_hash());
        Ok((
            history,
            Verified {
                snapshots: snapshots.len(),
                complete,
                run_hash,
            },
        ))
    }

    fn check(&self, time_us: u64, recorded: &str, replayed: u64) -> Result<(), RecordError> {
        let replayed = format!("{replayed:016x}");
        if replayed == recorded {
            Ok(())
        } else if self.run.engine_stream.is_none() {
            // A file from before the stream was recorded: most likely made
            // by an older engine, which this one cannot reproduce.
            Err(self.older_engine_error(None))
        } else {
            Err(RecordError::Diverged {
                path: self.path.clone(),
                time_us,
                recorded: recorded.to_string(),
                replayed,
            })
        }
    }
}

/// The tables every use of a recording reads, checked whole at open.
const SMALL_TABLES: [&str; 5] = ["runs", "topics", "schemas", "snapshots", "controls"];

/// The names of the file's tables.
pub(super) fn table_names(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare("SELECT name FROM sqlite_master WHERE type = 'table'")?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    rows.collect()
}

/// `PRAGMA quick_check` of one table (with its indexes) or of the whole
/// file: anything but "ok" is [`RecordError::Corrupt`].
pub(super) fn quick_check(
    conn: &Connection,
    path: &Path,
    table: Option<&str>,
) -> Result<(), RecordError> {
    let sql = match table {
        Some(t) => format!("PRAGMA quick_check(\"{t}\")"),
        None => "PRAGMA quick_check(1)".to_string(),
    };
    let check: String = conn
        .query_row(&sql, [], |r| r.get(0))
        .map_err(|e| sqlite_error(path, "checking the file", e))?;
    if check == "ok" {
        Ok(())
    } else {
        Err(RecordError::Corrupt {
            path: path.to_path_buf(),
            detail: check,
        })
    }
}

/// Bytes of the file's write-ahead log (0 when there is none).
fn wal_bytes(path: &Path) -> u64 {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    std::fs::metadata(PathBuf::from(wal)).map_or(0, |m| m.len())
}

/// Why an SQLite file of `file_len` bytes with this 100-byte `header` is
/// shorter than the header says, if it is: the header's page count is
/// valid when its "version valid for" equals its change counter. A
/// non-empty write-ahead log may hold pages not yet in the file, so the
/// sizes are compared only without one.
fn truncation(header: &[u8; 100], file_len: u64, wal_len: u64) -> Option<String> {
    let word = |at: usize| {
        u32::from_be_bytes([header[at], header[at + 1], header[at + 2], header[at + 3]])
    };
    let page_size = match u16::from_be_bytes([header[16], header[17]]) {
        1 => 65_536,
        n => u64::from(n),
    };
    let pages = u64::from(word(28));
    if wal_len > 0 || word(24) != word(92) || pages == 0 {
        return None;
    }
    let expected = pages.saturating_mul(page_size);
    (file_len < expected).then(|| {
        format!("truncated: {file_len} bytes, its header says {pages} pages of {page_size} bytes")
    })
}

/// The scenario of a diagram as `simulate` derives it (its `%%
/// eda:scenario` lines over the default), errors rendered with `name`.
fn scenario_for(name: &str, text: &str, graph: &ArchGraph) -> Result<Scenario, String> {
    load_scenario(text, graph).map_err(|d| d.render(name, text))
}

/// An event row's first six columns (`event_id`, `time_us`, topic name,
/// `partition_no`, `log_offset`, `key`) with `payload`.
fn event_row(r: &rusqlite::Row<'_>, payload: String) -> rusqlite::Result<EventRow> {
    Ok(EventRow {
        event_id: r.get::<_, i64>(0)? as u64,
        time_us: r.get::<_, i64>(1)? as u64,
        topic: r.get(2)?,
        partition: r.get::<_, i64>(3)? as u32,
        offset: r.get::<_, i64>(4)? as u64,
        key: r.get::<_, i64>(5)? as u64,
        payload,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn a_file_shorter_than_its_header_says_is_truncated() {
        let mut header = [0u8; 100];
        header[16..18].copy_from_slice(&1u16.to_be_bytes()); // 65536
        header[24..28].copy_from_slice(&7u32.to_be_bytes());
        header[28..32].copy_from_slice(&10u32.to_be_bytes());
        header[92..96].copy_from_slice(&7u32.to_be_bytes());
        assert_eq!(truncation(&header, 10 * 65_536, 0), None);
        assert!(
            truncation(&header, 9 * 65_536, 0)
                .unwrap()
                .contains("10 pages")
        );
        // A write-ahead log may hold the pages; a stale count says nothing.
        assert_eq!(truncation(&header, 9 * 65_536, 4096), None);
        header[92..96].copy_from_slice(&6u32.to_be_bytes());
        assert_eq!(truncation(&header, 9 * 65_536, 0), None);
    }
}
