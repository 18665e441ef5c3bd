//! Reading a recording: open with checks that turn every kind of wrong
//! file into a [`RecordError`], then rebuild and replay the run.

use super::controls::{advance, advance_engine};
use super::{APPLICATION_ID, OLDEST_READABLE_VERSION, RecordError, SCHEMA_VERSION, sqlite_error};
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
    /// Opens `path`, checking that it is an SQLite database, written by
    /// eda-studio in this schema version, and intact.
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
        drop(file);
        // Read-write so that SQLite can roll back a batch a killed writer left.
        let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE)
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
        let check: String = conn
            .query_row("PRAGMA quick_check(1)", [], |r| r.get(0))
            .map_err(err("checking the file"))?;
        if check != "ok" {
            return Err(RecordError::Corrupt {
                path: path.to_path_buf(),
                detail: check,
            });
        }
        let run = conn
            .query_row(
                "SELECT source_name, diagram, scenario_json, seed, duration_us,
                        engine_version, status, run_hash FROM runs WHERE id = 1",
                [],
                |r| {
                    Ok(RunRow {
                        source_name: r.get(0)?,
                        diagram: r.get(1)?,
                        scenario_json: r.get(2)?,
                        seed: r.get::<_, i64>(3)? as u64,
                        duration_us: r.get::<_, i64>(4)? as u64,
                        engine_version: r.get(5)?,
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
        let has_images: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'images'",
                [],
                |r| r.get(0),
            )
            .map_err(err("looking for the images"))?;
        Ok(Recording {
            path: path.to_path_buf(),
            conn,
            run,
            has_images: has_images > 0,
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

    /// Event rows.
    pub fn event_count(&self) -> Result<u64, RecordError> {
        self.conn
            .query_row("SELECT count(*) FROM events", [], |r| r.get::<_, i64>(0))
            .map(|n| n as u64)
            .map_err(|e| sqlite_error(&self.path, "counting events", e))
    }

    /// Up to `limit` events from event id `from` on, in id order.
    pub fn events(&self, from: u64, limit: usize) -> Result<Vec<EventRow>, RecordError> {
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
            .query_map([from as i64, limit as i64], |r| {
                Ok(EventRow {
                    event_id: r.get::<_, i64>(0)? as u64,
                    time_us: r.get::<_, i64>(1)? as u64,
                    topic: r.get(2)?,
                    partition: r.get::<_, i64>(3)? as u32,
                    offset: r.get::<_, i64>(4)? as u64,
                    key: r.get::<_, i64>(5)? as u64,
                    payload: r.get(6)?,
                })
            })
            .map_err(err("reading events"))?;
        rows.collect::<Result<_, _>>()
            .map_err(err("reading events"))
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
        let mut engine = Engine::from_image(&bytes).map_err(|e| bad(e.to_string()))?;
        let restored = format!("{:016x}", engine.run_hash());
        if restored != hash || engine.now().as_us() != time_us {
            return Err(bad(format!(
                "it holds the run at {} with hash {restored}, its row says {} with hash {hash}",
                engine.now(),
                VirtualTime::from_us(time_us)
            )));
        }
        engine.run_until(t);
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
    pub fn rebuild(&self, keep_all: bool) -> Result<Engine, RecordError> {
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
        if json != self.run.scenario_json {
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
    /// of an unfinished recording), checking the run hash at every
    /// recorded snapshot and at the end.
    pub fn replay(
        &self,
        keep_all: bool,
        options: HistoryOptions,
    ) -> Result<(History, Verified), RecordError> {
        let engine = self.rebuild(keep_all)?;
        self.replay_from(engine, options)
    }

    /// As [`Recording::replay`], from an engine [`Recording::rebuild`]
    /// made (and the caller set up, e.g. with activity tracing on).
    pub fn replay_from(
        &self,
        engine: Engine,
        options: HistoryOptions,
    ) -> Result<(History, Verified), RecordError> {
        let mut history = History::new(engine, options);
        let snapshots = self.snapshots()?;
        let controls = self.controls()?;
        let mut next = 0;
        for s in &snapshots {
            advance(
                &mut history,
                VirtualTime::from_us(s.time_us),
                &controls,
                &mut next,
            );
            self.check(s.time_us, &s.run_hash, history.head().run_hash())?;
        }
        let complete = self.run.status == Status::Complete;
        if complete {
            advance(
                &mut history,
                VirtualTime::from_us(self.run.duration_us),
                &controls,
                &mut next,
            );
            if let Some(recorded) = &self.run.run_hash {
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

/// The scenario of a diagram as `simulate` derives it (its `%%
/// eda:scenario` lines over the default), errors rendered with `name`.
fn scenario_for(name: &str, text: &str, graph: &ArchGraph) -> Result<Scenario, String> {
    load_scenario(text, graph).map_err(|d| d.render(name, text))
}
