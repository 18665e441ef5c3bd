//! Run recordings: a simulation run written to an SQLite file that anyone
//! can open with `sqlite3`, and read back to replay the run exactly.
//!
//! # What it owns
//! - [`Recorder`] (`write.rs`): taps an [`Engine`](crate::sim::Engine)'s
//!   published records and writes them, with snapshots of every
//!   component's state and metric samples, from a writer thread, one
//!   transaction (one sync) per batch of events — never per event.
//! - [`Recording`] (`read.rs`): opens a file, refuses anything that is
//!   not an intact eda-studio recording with a clear [`RecordError`],
//!   rebuilds the engine from the recorded diagram and seed, and replays
//!   it into a [`History`](crate::sim::History), checking the run hash at
//!   every recorded snapshot.
//! - `controls.rs`: the control inputs of a run (faults applied or
//!   scheduled, sources stopped) as rows of `controls`, applied by the
//!   replay where they were made; and [`record_history`], which records a
//!   run held in a [`History`](crate::sim::History) after the fact (the
//!   designer's Save Run).
//!
//! Must not hold GUI state or depend on `gui`, `cli` or `live`.
//!
//! # Schema (version 5; one run per file)
//! `PRAGMA application_id` is `0x45444131` ("EDA1") and `user_version` 5
//! (versions 1 to 4 are read too, as they are: they have no
//! `runs.engine_stream`; versions 1 to 3 hold each event's payload as JSON
//! text in `payload`; version 1 has no `images` or `controls`, version 2
//! no `controls`), so a foreign SQLite file is told apart at once.
//! Pages of 64 KiB. Journal: WAL with `synchronous = NORMAL`: each batch
//! is one transaction; a process killed mid-write (even by SIGKILL)
//! leaves every committed batch readable and the rest rolled back (a
//! power cut may also lose the last batches, never the file).
//!
//! ```sql
//! runs(id, source_name, diagram, scenario_json, seed, duration_us,
//!      engine_version,                    -- eda-studio's version
//!      engine_stream,                     -- ENGINE_STREAM of the engine (v5 on)
//!      status,                            -- 'recording' or 'complete'
//!      run_hash, events, deliveries,      -- set when complete
//!      summary_json, created_at)          -- the final RunSummary as JSON
//! topics(id, name, event_type, partitions)
//! schemas(id, name)                       -- 0 order, 1 user, 2 payment, 3 generic
//! events(event_id PRIMARY KEY, time_us, topic_id, partition_no,
//!        log_offset, key, schema_id,      -- schema_id: schemas(id)
//!        aggregate_id,                    -- NULL: the aggregate id is `key`
//!        user_id, sku, quantity,          -- the payload's fields as integers,
//!        amount_cents, email_domain,      -- NULL where its schema has none
//!        payment_id, method)              -- (email_domain, method: indexes)
//! snapshots(id, time_us, events, deliveries, run_hash, state_json)
//!                                         -- per group lag, committed offsets, DLQ;
//!                                         -- per sink its state in brief
//! metric_samples(time_us, component, metric, value)
//!                                         -- at each snapshot: events_in, events_out,
//!                                         -- lag and dlq per component
//! images(id, time_us, events, run_hash, image)
//!                                         -- about every 32k events (fewer where images
//!                                         -- are large: Recorder::image_due): the whole engine
//!                                         -- (Engine::to_image; EDAIMG02 header with
//!                                         -- length and checksum, MessagePack body);
//!                                         -- index images_by_time(time_us)
//! controls(id, steps, time_us, action,   -- control inputs in the order made:
//!          at_us, fault_json)             -- 'apply' | 'schedule' (at at_us) |
//!                                         -- 'stop-sources'; made at time_us after
//!                                         -- `steps` engine steps; the fault as JSON
//!                                         -- ({"kind": "crash", "group": ..})
//! event_log                               -- VIEW: events with time_s, topic name,
//!                                         -- event type, schema name and the
//!                                         -- payload as JSON ({"schema":"order",..})
//! ```
//!
//! An event row takes about 42 bytes (SQLite stores each integer in the
//! bytes it needs); the images add about 48 bytes per event on the
//! 10M-event `tests/benches/seed-speed.mmd` run, and never much more
//! than twice the events' bytes on a busy run whose images carry a
//! large backlog ([`IMAGE_TO_EVENT_BYTES`]).
//!
//! For example: `sqlite3 run.sqlite "select topic, count(*) from event_log
//! group by topic"`, `select sku, sum(quantity) from events where
//! schema_id = 0 group by sku`, or `select time_us, value from
//! metric_samples where component = 'Consumer1' and metric = 'lag'`.
//!
//! # Checking a file
//! [`Recording::open`] costs the same however long the run: it checks the
//! SQLite header (a file shorter than its page count is truncated), the
//! application id, the version, the tables, the run row, and runs
//! `quick_check` on the small tables every use reads. Events and images
//! are checked as they are read: SQLite refuses a damaged page, and an
//! image carries its own length and checksum. [`Recording::verify`] checks
//! every page; a replay from the start ([`Recording::replay`]) runs it.
//! File ▸ Open Run runs [`Recording::verify_watched`] instead (`check.rs`):
//! the tables but `images` by `quick_check`, then every image's bytes
//! against its checksum, with its progress shown and Cancel prompt on a
//! file of gigabytes; it does not check the free-page list or that every
//! page is used once (see `check.rs`), and checks the images' contents,
//! which `quick_check` does not.

//! # Replay
//! The engine is deterministic, so the diagram, scenario and seed are the
//! run: [`Recording::replay`] re-executes it and proves it did so exactly
//! by comparing the run hash with the one recorded at each snapshot and at
//! the end, applying the recorded `controls` where they were made (a
//! recording from before that table existed has none). Snapshots in the
//! file are readable state summaries for `sqlite3` users and checkpoints
//! for that proof. Images are restorable engines: [`Recording::state_at`]
//! restores the latest image at or before a moment (checking its run hash
//! against its row) and runs forward from there, so reaching any moment
//! costs one image decode and at most one image interval of simulation,
//! however long the run. A run with controls is re-executed from its start
//! instead ([`Recording::reexecute_to`]): an image does not carry the step
//! count that places a control.
//!
//! # Recordings of an older engine
//! A replay reproduces a run only on an engine with the same random
//! stream and rules. A recording keeps the [`ENGINE_STREAM`] of the engine
//! that made it; one whose stream is not this engine's is not replayed
//! (its hashes could only mismatch): [`Recording::older_engine`] says so
//! before anything runs, and replaying it is
//! [`RecordError::OlderEngine`]. Its stored events, snapshots and metric
//! samples stay readable as stored, and [`Recording::rerun`] runs its
//! diagram, seed and controls on this engine, unchecked. A file from
//! before the stream was recorded (versions 1 to 4) is replayed as usual;
//! if it diverges (or its scenario or images no longer match this
//! engine) that is the same [`RecordError::OlderEngine`], with the stream
//! unknown.

mod check;
mod columns;
mod controls;
mod read;
mod write;

pub use controls::record_history;

pub use check::CHECK_TICK_OPS;
pub use read::{
    EventRow, MetricSample, OlderEngine, Recording, RunRow, SnapshotRow, Status, Verified,
};
pub use write::{EVENT_ROW_BYTES, IMAGE_TO_EVENT_BYTES, RecordStats, Recorder, RunInfo};

use std::path::PathBuf;

/// `PRAGMA application_id` of a recording: "EDA1".
pub const APPLICATION_ID: i32 = 0x4544_4131;
/// `PRAGMA user_version` of the schema this module writes and reads:
/// version 5 records the engine's random stream (`runs.engine_stream`);
/// version 4 stores each event's payload as integer columns (versions
/// 1 to 3 as JSON text in `payload`).
pub const SCHEMA_VERSION: i32 = 5;
/// The version of the engine's random stream and rules that a run's
/// hash depends on, recorded in `runs.engine_stream`: bump it whenever
/// the same diagram, scenario and seed give another run.
/// 1: ChaCha8 with `-ln U` exponential draws (to 2026-11-28);
/// 2: xoshiro256++ seeded by SplitMix64, ziggurat exponential draws.
pub const ENGINE_STREAM: u32 = 2;
/// The oldest schema version this module reads. Older files may lack
/// `controls` (none were made) or `images` (`replay --at` then
/// re-executes from the start): both are looked up by name, not by
/// version, since version 1 files were written both with and without
/// `controls` and version 2 files have `images` but no `controls`.
pub const OLDEST_READABLE_VERSION: i32 = 1;

/// The schema, created in the file's first transaction (the `schemas`
/// rows with it).
fn schema_sql() -> String {
    let names: Vec<String> = columns::SCHEMA_NAMES
        .iter()
        .enumerate()
        .map(|(i, n)| format!("({i}, '{n}')"))
        .collect();
    format!(
        "
CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    source_name TEXT NOT NULL,
    diagram TEXT NOT NULL,
    scenario_json TEXT NOT NULL,
    seed INTEGER NOT NULL,
    duration_us INTEGER NOT NULL,
    engine_version TEXT NOT NULL,
    engine_stream INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('recording', 'complete')),
    run_hash TEXT,
    events INTEGER,
    deliveries INTEGER,
    summary_json TEXT,
    created_at TEXT NOT NULL
);
CREATE TABLE topics (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    event_type TEXT NOT NULL,
    partitions INTEGER NOT NULL
);
CREATE TABLE schemas (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL
);
INSERT INTO schemas (id, name) VALUES {names};
CREATE TABLE events (
    event_id INTEGER PRIMARY KEY,
    time_us INTEGER NOT NULL,
    topic_id INTEGER NOT NULL,
    partition_no INTEGER NOT NULL,
    log_offset INTEGER NOT NULL,
    key INTEGER NOT NULL,
    schema_id INTEGER NOT NULL,
    aggregate_id INTEGER,
    user_id INTEGER,
    sku INTEGER,
    quantity INTEGER,
    amount_cents INTEGER,
    email_domain INTEGER,
    payment_id INTEGER,
    method INTEGER
);
CREATE TABLE snapshots (
    id INTEGER PRIMARY KEY,
    time_us INTEGER NOT NULL,
    events INTEGER NOT NULL,
    deliveries INTEGER NOT NULL,
    run_hash TEXT NOT NULL,
    state_json TEXT NOT NULL
);
CREATE TABLE metric_samples (
    time_us INTEGER NOT NULL,
    component TEXT NOT NULL,
    metric TEXT NOT NULL,
    value INTEGER NOT NULL
);
CREATE TABLE images (
    id INTEGER PRIMARY KEY,
    time_us INTEGER NOT NULL,
    events INTEGER NOT NULL,
    run_hash TEXT NOT NULL,
    image BLOB NOT NULL
);
CREATE INDEX images_by_time ON images (time_us);
CREATE TABLE controls (
    id INTEGER PRIMARY KEY,
    steps INTEGER NOT NULL,
    time_us INTEGER NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('apply', 'schedule', 'stop-sources')),
    at_us INTEGER,
    fault_json TEXT
);
CREATE VIEW event_log AS
    SELECT e.event_id, e.time_us, e.time_us / 1e6 AS time_s, t.name AS topic,
           t.event_type, e.partition_no, e.log_offset, e.key, s.name AS schema,
           {payload} AS payload
    FROM events e JOIN topics t ON t.id = e.topic_id JOIN schemas s ON s.id = e.schema_id;
",
        names = names.join(", "),
        payload = columns::payload_json_sql(),
    )
}

/// What can go wrong reading or writing a recording.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The file does not exist or cannot be read.
    #[error("{path}: cannot open: {reason}")]
    Open {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// Not an SQLite database at all (random bytes, a text file, empty).
    #[error("{path}: not an eda-studio recording (not an SQLite database)")]
    NotSqlite {
        /// The file.
        path: PathBuf,
    },
    /// An SQLite database, but not one this program wrote.
    #[error(
        "{path}: not an eda-studio recording (an SQLite database with application id {found:#x}, expected {APPLICATION_ID:#x})"
    )]
    Foreign {
        /// The file.
        path: PathBuf,
        /// Its application id.
        found: i32,
    },
    /// A recording of another schema version.
    #[error(
        "{path}: recording schema version {found}, this program reads versions {OLDEST_READABLE_VERSION} to {SCHEMA_VERSION}"
    )]
    Version {
        /// The file.
        path: PathBuf,
        /// Its version.
        found: i32,
    },
    /// Truncated or damaged.
    #[error("{path}: the recording is damaged ({detail}); it cannot be read")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What SQLite found.
        detail: String,
    },
    /// A file that exists and is not a recording would be overwritten.
    #[error("{path}: exists and is not an eda-studio recording; not overwriting it")]
    WouldOverwrite {
        /// The file.
        path: PathBuf,
    },
    /// The recorded diagram no longer builds the same run.
    #[error("{path}: cannot replay: {reason}")]
    Replay {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// Made by an engine with another random stream: this engine cannot
    /// reproduce it (its stored rows are still readable).
    #[error("{path}: {engine}")]
    OlderEngine {
        /// The file.
        path: PathBuf,
        /// Which engine made it.
        engine: OlderEngine,
    },
    /// The replay left the recorded run.
    #[error(
        "{path}: the replay diverged from the recording at {time_us} us: run hash {replayed}, recorded {recorded}"
    )]
    Diverged {
        /// The file.
        path: PathBuf,
        /// The snapshot's time.
        time_us: u64,
        /// The hash recorded.
        recorded: String,
        /// The hash replayed.
        replayed: String,
    },
    /// Any other SQLite failure, with what was being done.
    #[error("{path}: {doing}: {source}")]
    Sqlite {
        /// The file.
        path: PathBuf,
        /// What was being done.
        doing: &'static str,
        /// SQLite's error.
        source: rusqlite::Error,
    },
    /// A stored engine image is damaged or does not restore.
    #[error(
        "{path}: the engine image at {time_us} us cannot be restored: {reason} (replay with --from-zero to re-execute instead)"
    )]
    Image {
        /// The file.
        path: PathBuf,
        /// The image's virtual time.
        time_us: u64,
        /// Why.
        reason: String,
    },
    /// The writer thread stopped (its error is reported instead when known).
    #[error("{path}: the recording writer stopped unexpectedly")]
    WriterGone {
        /// The file.
        path: PathBuf,
    },
}

/// Maps an SQLite error to [`RecordError`]: damage is [`RecordError::Corrupt`],
/// "not a database" is [`RecordError::NotSqlite`], the rest keep `doing`.
fn sqlite_error(path: &std::path::Path, doing: &'static str, e: rusqlite::Error) -> RecordError {
    use rusqlite::ErrorCode;
    let path = path.to_path_buf();
    match e.sqlite_error_code() {
        Some(ErrorCode::NotADatabase) => RecordError::NotSqlite { path },
        Some(ErrorCode::DatabaseCorrupt) => RecordError::Corrupt {
            path,
            detail: e.to_string(),
        },
        _ => RecordError::Sqlite {
            path,
            doing,
            source: e,
        },
    }
}

/// The event type of a topic name (`Type@Bus` names carry their bus).
fn event_type(topic: &str) -> &str {
    topic.split('@').next().unwrap_or(topic)
}
