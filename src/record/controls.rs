//! The control inputs of a run in a recording — faults applied or
//! scheduled, sources stopped — as rows of the `controls` table, and a
//! recording made after the fact from a [`History`]: the run re-executed
//! from its start with its controls applied where they were made.
//!
//! A control is placed by the engine step count and the virtual time at
//! which it was made, exactly as [`History`] places it when it seeks, so a
//! replay that applies the rows reproduces the run hash.
//!
//! Must not depend on `gui`, `cli` or `live`.

use super::write::{RecordStats, Recorder, RunInfo};
use super::{RecordError, sqlite_error};
use crate::sim::{Control, ControlRecord, Engine, Fault, History, RunSummary, VirtualTime};
use rusqlite::{Connection, params};
use std::path::Path;

/// Virtual time between snapshots of a recording made from a history.
const SNAPSHOT_EVERY_US: u64 = 1_000_000;

/// A `controls` row: what `action` names, and the fault as JSON.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct ControlRow {
    pub steps: u64,
    pub time_us: u64,
    pub action: &'static str,
    pub at_us: Option<u64>,
    pub fault_json: Option<String>,
}

impl ControlRow {
    /// The row of a control record.
    pub(super) fn of(record: &ControlRecord) -> Result<ControlRow, serde_json::Error> {
        let (action, at_us, fault) = match &record.control {
            Control::Apply(f) => ("apply", None, Some(f)),
            Control::Schedule(at, f) => ("schedule", Some(at.as_us()), Some(f)),
            Control::StopSources => ("stop-sources", None, None),
        };
        Ok(ControlRow {
            steps: record.steps,
            time_us: record.at.as_us(),
            action,
            at_us,
            fault_json: fault.map(serde_json::to_string).transpose()?,
        })
    }
}

/// Writes `row` in the writer's open transaction.
pub(super) fn insert(tx: &rusqlite::Transaction<'_>, row: &ControlRow) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO controls (steps, time_us, action, at_us, fault_json) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            row.steps as i64,
            row.time_us as i64,
            row.action,
            row.at_us.map(|t| t as i64),
            row.fault_json
        ],
    )?;
    Ok(())
}

/// Reads the control records of a recording, in the order they were made.
/// A recording written before the table existed has none.
pub(super) fn read(conn: &Connection, path: &Path) -> Result<Vec<ControlRecord>, RecordError> {
    let err = |doing| move |e| sqlite_error(path, doing, e);
    let exists: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'controls'",
            [],
            |r| r.get(0),
        )
        .map_err(err("looking for the controls"))?;
    if exists == 0 {
        return Ok(Vec::new());
    }
    let mut stmt = conn
        .prepare("SELECT steps, time_us, action, at_us, fault_json FROM controls ORDER BY id")
        .map_err(err("reading the controls"))?;
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)? as u64,
                r.get::<_, i64>(1)? as u64,
                r.get::<_, String>(2)?,
                r.get::<_, Option<i64>>(3)?,
                r.get::<_, Option<String>>(4)?,
            ))
        })
        .map_err(err("reading the controls"))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(err("reading the controls"))?;
    let corrupt = |detail: String| RecordError::Corrupt {
        path: path.to_path_buf(),
        detail,
    };
    let mut out = Vec::with_capacity(rows.len());
    for (i, (steps, time_us, action, at_us, fault_json)) in rows.into_iter().enumerate() {
        let fault = |json: Option<String>| -> Result<Fault, RecordError> {
            let json =
                json.ok_or_else(|| corrupt(format!("control {i} ({action}) has no fault")))?;
            serde_json::from_str(&json)
                .map_err(|e| corrupt(format!("control {i}: not a fault: {e}")))
        };
        let control = match action.as_str() {
            "apply" => Control::Apply(fault(fault_json)?),
            "schedule" => {
                let at = at_us.ok_or_else(|| corrupt(format!("control {i} has no time")))?;
                Control::Schedule(VirtualTime::from_us(at as u64), fault(fault_json)?)
            }
            "stop-sources" => Control::StopSources,
            other => return Err(corrupt(format!("control {i}: unknown action {other:?}"))),
        };
        out.push(ControlRecord {
            steps,
            at: VirtualTime::from_us(time_us),
            control,
        });
    }
    Ok(out)
}

/// Runs `history` forward to `t`, applying the controls from `next` on
/// that were made at or before `t` after the step count they were made
/// after — as [`History`] re-applies its own when it seeks.
pub(super) fn advance(
    history: &mut History,
    t: VirtualTime,
    controls: &[ControlRecord],
    next: &mut usize,
) {
    while let Some(c) = controls.get(*next) {
        if c.at > t {
            break;
        }
        while history.steps() < c.steps && history.head().next_time().is_some_and(|n| n <= c.at) {
            history.step();
        }
        if history.head().now() < c.at {
            history.run_until(c.at);
        }
        // A refused control is refused again: the fault log says so.
        let _ = match &c.control {
            Control::Apply(f) => history.apply(f.clone()),
            Control::Schedule(at, f) => history.schedule(*at, f.clone()),
            Control::StopSources => {
                history.stop_sources();
                Ok(())
            }
        };
        *next += 1;
    }
    history.run_until(t);
}

/// The same rule as [`advance`] on a plain engine that counts its own
/// steps: calls `made` with each control as it is applied.
pub(super) fn advance_engine(
    engine: &mut Engine,
    steps: &mut u64,
    t: VirtualTime,
    controls: &[ControlRecord],
    next: &mut usize,
    mut made: impl FnMut(&mut Engine, &ControlRecord) -> Result<(), RecordError>,
) -> Result<(), RecordError> {
    while let Some(c) = controls.get(*next) {
        if c.at > t {
            break;
        }
        while *steps < c.steps && engine.next_time().is_some_and(|n| n <= c.at) {
            engine.step();
            *steps += 1;
        }
        if engine.now() < c.at {
            *steps += engine.run_until(c.at);
        }
        let _ = match &c.control {
            Control::Apply(f) => engine.apply_fault(f.clone()),
            Control::Schedule(at, f) => engine.schedule_fault(*at, f.clone()),
            Control::StopSources => {
                engine.stop_sources();
                Ok(())
            }
        };
        made(engine, c)?;
        *next += 1;
    }
    *steps += engine.run_until(t);
    Ok(())
}

/// Records the run that `live` holds, up to its head's time, into `path`:
/// `fresh` (the engine the run started from: same diagram, scenario and
/// seed) is run again with the live run's controls, tapped by a
/// [`Recorder`], with a snapshot every virtual second. Returns what was
/// written and the recorded run hash, which equals the live head's when
/// the live run stopped at a time boundary (not in the middle of the
/// events of one microsecond, as single steps can leave it).
pub fn record_history(
    path: &Path,
    info: RunInfo<'_>,
    mut engine: Engine,
    live: &History,
) -> Result<(RecordStats, String), RecordError> {
    let end = live.head().now().as_us();
    let controls = live.controls();
    let info = RunInfo {
        duration_us: end,
        ..info
    };
    let mut recorder = Recorder::create(path, info, &mut engine)?;
    let (mut steps, mut next, mut t) = (0, 0, 0);
    loop {
        advance_engine(
            &mut engine,
            &mut steps,
            VirtualTime::from_us(t),
            controls,
            &mut next,
            |e, c| {
                recorder.collect(e)?;
                recorder.control(c)
            },
        )?;
        recorder.snapshot(&mut engine)?;
        if t >= end {
            break;
        }
        t = (t + SNAPSHOT_EVERY_US).min(end);
    }
    let summary: RunSummary = engine.summary();
    let hash = format!("{:016x}", engine.run_hash());
    let stats = recorder.finish(&mut engine, &summary)?;
    Ok((stats, hash))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::mermaid::parse_flowchart;
    use crate::model::ArchGraph;
    use crate::record::Recording;
    use crate::sim::{HistoryOptions, load_scenario};

    fn fresh(seed: u64) -> Engine {
        let text = crate::SEED_DIAGRAM;
        let graph = ArchGraph::from_flowchart(&parse_flowchart(text).unwrap());
        let scenario = load_scenario(text, &graph).unwrap();
        Engine::new(&graph, scenario, seed).unwrap()
    }

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("eda-controls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        let _ = std::fs::remove_file(&path);
        path
    }

    fn info() -> RunInfo<'static> {
        RunInfo {
            source_name: "<seed>",
            diagram: crate::SEED_DIAGRAM,
            duration_us: 0,
        }
    }

    /// A live run with GUI-like controls at odd moments, some steps taken
    /// one at a time.
    fn live_run() -> History {
        let mut h = History::new(fresh(5), HistoryOptions::default());
        let group = h.head().group_names().next().unwrap().to_string();
        h.run_until(VirtualTime::from_us(700_000));
        h.apply(Fault::Crash {
            group: group.clone(),
            instance: 0,
            duration_us: None,
        })
        .unwrap();
        for _ in 0..37 {
            h.step();
        }
        h.apply(Fault::Slow {
            component: group.clone(),
            factor: 3.0,
        })
        .unwrap();
        h.run_until(VirtualTime::from_us(1_900_000));
        h.apply(Fault::Restart {
            group: group.clone(),
            instance: 0,
        })
        .unwrap();
        h.schedule(
            VirtualTime::from_us(2_600_000),
            Fault::ResetToOffset { group, offset: 0 },
        )
        .unwrap();
        h.run_until(VirtualTime::from_us(3_000_000));
        h
    }

    #[test]
    fn a_saved_history_replays_to_the_live_hash_with_its_controls() {
        let live = live_run();
        let live_hash = format!("{:016x}", live.head().run_hash());
        let path = scratch("saved.sqlite");
        let (stats, hash) = record_history(&path, info(), fresh(5), &live).unwrap();
        assert_eq!(hash, live_hash);
        assert!(stats.snapshots >= 3);

        let rec = Recording::open(&path).unwrap();
        let controls = rec.controls().unwrap();
        assert_eq!(controls, live.controls());
        let (replayed, verified) = rec.replay(false, HistoryOptions::default()).unwrap();
        assert_eq!(verified.run_hash, live_hash);
        assert!(verified.complete);
        assert_eq!(replayed.controls(), live.controls());
        assert_eq!(replayed.head().fault_log(), live.head().fault_log());
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn controls_change_the_run_so_dropping_them_is_caught() {
        let live = live_run();
        let plain = {
            let mut h = History::new(fresh(5), HistoryOptions::default());
            h.run_until(VirtualTime::from_us(3_000_000));
            h
        };
        assert_ne!(live.head().run_hash(), plain.head().run_hash());
        // A recording whose control rows are gone no longer replays.
        let path = scratch("tampered.sqlite");
        record_history(&path, info(), fresh(5), &live).unwrap();
        let conn = Connection::open(&path).unwrap();
        conn.execute("DELETE FROM controls", []).unwrap();
        drop(conn);
        let rec = Recording::open(&path).unwrap();
        let err = rec.replay(false, HistoryOptions::default()).unwrap_err();
        assert!(matches!(err, RecordError::Diverged { .. }), "{err}");
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn a_moment_of_a_run_with_controls_is_re_executed_with_them() {
        let live = live_run();
        let path = scratch("moment.sqlite");
        record_history(&path, info(), fresh(5), &live).unwrap();
        let rec = Recording::open(&path).unwrap();
        // Images do not place controls: none is used for such a run.
        assert!(
            rec.state_at(VirtualTime::from_us(2_000_000))
                .unwrap()
                .is_none()
        );
        for t in [650_000, 1_950_000, 2_700_000, 3_000_000] {
            let t = VirtualTime::from_us(t);
            let engine = rec.reexecute_to(t).unwrap();
            assert_eq!(engine.run_hash(), live.state_at(t).run_hash(), "at {t}");
            assert_eq!(engine.fault_log(), live.state_at(t).fault_log(), "at {t}");
        }
        let _ = std::fs::remove_file(&path);
    }

    /// Files of older schema versions — version 1 without `controls` or
    /// `images`, version 2 with `images` only, version 3 with both; all
    /// three with JSON payloads — still open, list their events and replay.
    #[test]
    fn older_files_without_controls_or_images_open_and_replay() {
        let mut plain = History::new(fresh(7), HistoryOptions::default());
        plain.run_until(VirtualTime::from_us(2_000_000));
        let hash = format!("{:016x}", plain.head().run_hash());
        let path = scratch("v4.sqlite");
        record_history(&path, info(), fresh(7), &plain).unwrap();
        let events = Recording::open(&path).unwrap().events(0, 1 << 20).unwrap();
        assert!(events.len() > 100, "{}", events.len());
        let _ = std::fs::remove_file(&path);
        // The version 3 layout of `events`, payloads as JSON text.
        let json_payloads = format!(
            "DROP VIEW event_log;
             ALTER TABLE events RENAME TO events4;
             CREATE TABLE events (event_id INTEGER PRIMARY KEY, time_us INTEGER NOT NULL,
                 topic_id INTEGER NOT NULL, partition_no INTEGER NOT NULL,
                 log_offset INTEGER NOT NULL, key INTEGER NOT NULL, payload TEXT NOT NULL);
             INSERT INTO events SELECT e.event_id, e.time_us, e.topic_id, e.partition_no,
                 e.log_offset, e.key, {} FROM events4 e;
             DROP TABLE events4; DROP TABLE schemas;",
            super::super::columns::payload_json_sql()
        );
        for (version, ddl) in [
            (1, "DROP TABLE controls; DROP TABLE images;"),
            (2, "DROP TABLE controls;"),
            (3, ""),
        ] {
            let path = scratch(&format!("v{version}.sqlite"));
            record_history(&path, info(), fresh(7), &plain).unwrap();
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(&format!(
                "{json_payloads} {ddl} PRAGMA user_version = {version};"
            ))
            .unwrap();
            drop(conn);
            let rec = Recording::open(&path).unwrap();
            assert_eq!(rec.events(0, 1 << 20).unwrap(), events, "version {version}");
            assert!(rec.controls().unwrap().is_empty());
            assert!(rec.image_times().unwrap().is_empty());
            let t = VirtualTime::from_us(1_500_000);
            assert!(rec.state_at(t).unwrap().is_none());
            assert_eq!(
                rec.reexecute_to(t).unwrap().run_hash(),
                plain.state_at(t).run_hash()
            );
            let (_, verified) = rec.replay(false, HistoryOptions::default()).unwrap();
            assert_eq!(verified.run_hash, hash, "version {version}");
            let _ = std::fs::remove_file(&path);
        }
        // A newer version is refused, naming the versions read.
        let path = scratch("v99.sqlite");
        record_history(&path, info(), fresh(7), &plain).unwrap();
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch("PRAGMA user_version = 99;").unwrap();
        drop(conn);
        let err = Recording::open(&path).unwrap_err();
        assert!(
            matches!(err, RecordError::Version { found: 99, .. }),
            "{err}"
        );
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn a_bad_control_row_is_a_clear_error_not_a_panic() {
        let live = live_run();
        let path = scratch("bad.sqlite");
        record_history(&path, info(), fresh(5), &live).unwrap();
        let conn = Connection::open(&path).unwrap();
        conn.execute("UPDATE controls SET fault_json = '{\"kind\":\"melt\"}'", [])
            .unwrap();
        drop(conn);
        let rec = Recording::open(&path).unwrap();
        let err = rec.controls().unwrap_err();
        assert!(err.to_string().contains("not a fault"), "{err}");
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn every_fault_round_trips_through_its_json() {
        let group = "G".to_string();
        let params = fresh(1).scenario().default_group;
        let faults = [
            Fault::Crash {
                group: group.clone(),
                instance: 1,
                duration_us: Some(5),
            },
            Fault::Slow {
                component: group.clone(),
                factor: 0.1 + 0.2,
            },
            Fault::FailDeliveries { percent: 12.5 },
            Fault::PoisonNext { topic: None },
            Fault::ResetToTime {
                group: group.clone(),
                at: VirtualTime::from_us(42),
            },
            Fault::AddGroup {
                name: "New".into(),
                topics: vec!["OrderPlaced".into()],
                params,
            },
        ];
        for f in faults {
            let json = serde_json::to_string(&f).unwrap();
            let back: Fault = serde_json::from_str(&json).unwrap();
            assert_eq!(back, f, "{json}");
        }
    }
}
