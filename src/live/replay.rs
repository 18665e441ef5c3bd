//! Saving the live run as a recording and opening a recording as a live
//! run: the driver's side of File ▸ Save Run / Open Run.
//!
//! Saving re-executes the run from its start with the controls the user
//! applied (the [`History`]'s control log) into an SQLite recording
//! ([`crate::record::record_history`]), on the driver thread; the outcome
//! reaches the UI in [`ReplayFrame`]. Opening replays a recording
//! ([`crate::record::Recording`]) into a [`History`] whose head is the
//! recorded run's end, checked against the recorded run hash.
//!
//! Rebuild a projection: the engine replays the group's events from its
//! event store into fresh sink states ([`Engine::rebuild_projection`]);
//! this module diffs them against the live states ([`RebuildOutcome`]).
//!
//! Owns no simulation rules (those are in `sim`) and no file format (that
//! is `record`); must not depend on egui.

use crate::mermaid::parse_flowchart;
use crate::model::ArchGraph;
use crate::record::{RecordError, Recording, RunInfo, record_history};
use crate::sim::{Engine, History, HistoryOptions, Scenario, SinkState, load_scenario};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What the UI learns about Save Run (in every frame after it finished).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReplayFrame {
    /// Counts the saves finished, so the UI notices a new outcome.
    pub saves: u64,
    /// The last save: the file and the run hash written, or why not.
    pub saved: Option<Result<Saved, String>>,
    /// Counts the rebuilds finished, so the UI notices a new one.
    pub rebuilds: u64,
    /// The last projection rebuild and its diff.
    pub rebuild: Option<RebuildOutcome>,
}

/// A recording written by Save Run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Saved {
    /// The file.
    pub path: PathBuf,
    /// The run hash recorded at its end.
    pub run_hash: String,
    /// Whether it equals the live run's hash (it does unless the run was
    /// left between the events of one microsecond by single steps).
    pub matches_live: bool,
}

/// Writes the live run in `history` (built from `graph` and `scenario`)
/// to a recording at `path`; `diagram` is the document's text, stored so
/// that Open Run rebuilds the same run.
pub fn save(
    history: &History,
    graph: &ArchGraph,
    scenario: &Scenario,
    path: &Path,
    source_name: &str,
    diagram: &str,
) -> Result<Saved, String> {
    let seed = history.head().seed();
    let fresh = Engine::new(graph, scenario.clone(), seed)
        .map_err(|e| format!("cannot rebuild the run to save it: {e}"))?;
    let info = RunInfo {
        source_name,
        diagram,
        duration_us: 0,
    };
    let (_, run_hash) =
        record_history(path, info, fresh, history).map_err(|e| format!("Save Run: {e}"))?;
    let live = format!("{:016x}", history.head().run_hash());
    Ok(Saved {
        path: path.to_path_buf(),
        matches_live: run_hash == live,
        run_hash,
    })
}

/// A recording replayed, ready to become a live run.
pub struct Opened {
    /// The recorded diagram's text.
    pub diagram: String,
    /// Its file name when recorded.
    pub source_name: String,
    /// The diagram's model.
    pub graph: ArchGraph,
    /// Its scenario.
    pub scenario: Scenario,
    /// The replayed run, its head at the recording's end.
    pub history: History,
    /// The run hash the file records (at its end, or its last snapshot
    /// for an unfinished recording).
    pub recorded_hash: Option<String>,
    /// The replay's run hash at its end.
    pub replayed_hash: String,
}

impl std::fmt::Debug for Opened {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Opened")
            .field("source_name", &self.source_name)
            .field("recorded_hash", &self.recorded_hash)
            .field("replayed_hash", &self.replayed_hash)
            .finish_non_exhaustive()
    }
}

/// Opens and replays the recording at `path`. Every wrong file (missing,
/// not SQLite, foreign, damaged, diverging) is an error that says so.
pub fn open(path: &Path) -> Result<Opened, RecordError> {
    let rec = Recording::open(path)?;
    let mut engine = rec.rebuild(false)?;
    // As a live run's engine: the edges' dots need the activity trace.
    engine.set_activity(true);
    let (history, verified) = rec.replay_from(engine, HistoryOptions::default())?;
    let run = rec.run();
    let fail = |reason: String| RecordError::Replay {
        path: path.to_path_buf(),
        reason,
    };
    // `replay` parsed both already; this cannot fail where it did not.
    let chart = parse_flowchart(&run.diagram)
        .map_err(|_| fail("the recorded diagram does not parse".into()))?;
    let graph = ArchGraph::from_flowchart(&chart);
    let scenario = load_scenario(&run.diagram, &graph)
        .map_err(|d| fail(format!("scenario: {}", d.message)))?;
    let recorded_hash = match &run.run_hash {
        Some(h) => Some(h.clone()),
        None => rec.snapshots()?.last().map(|s| s.run_hash.clone()),
    };
    Ok(Opened {
        diagram: run.diagram.clone(),
        source_name: run.source_name.clone(),
        graph,
        scenario,
        history,
        recorded_hash,
        replayed_hash: verified.run_hash,
    })
}

/// Rows of a rebuild's diff kept for the window (the counts are exact).
pub const MAX_DIFF_ROWS: usize = 50;

/// A projection rebuilt from its event store and compared with the live
/// state ([`super::Command::RebuildProjection`]).
#[derive(Debug, Clone, PartialEq)]
pub struct RebuildOutcome {
    /// The group whose projection was rebuilt.
    pub group: String,
    /// Virtual time of the state compared.
    pub at_us: u64,
    /// Per sink the group writes to, the differences; or why the engine
    /// could not rebuild it.
    pub result: Result<Vec<SinkDiff>, String>,
}

/// One sink's state before (live) and after (rebuilt).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SinkDiff {
    /// The sink's Mermaid id.
    pub sink: String,
    /// Whether the rebuilt state equals the live one exactly.
    pub identical: bool,
    /// Rows only the rebuilt state has.
    pub added: u64,
    /// Rows both have with different values.
    pub changed: u64,
    /// Rows only the live state has.
    pub removed: u64,
    /// The first [`MAX_DIFF_ROWS`] differing rows.
    pub rows: Vec<DiffRow>,
}

/// A differing row: its key and its value before and after ("" = absent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffRow {
    /// What the row is (`sku 17`, `orders_by_status.shipped`).
    pub key: String,
    /// The live value.
    pub before: String,
    /// The rebuilt value.
    pub after: String,
}

/// Rebuilds `group`'s projection in `engine` from its event store and
/// diffs it against the live sink states. The engine is not changed.
pub fn rebuild(engine: &Engine, group: &str) -> RebuildOutcome {
    let result = engine.rebuild_projection(group).map(|sinks| {
        sinks
            .into_iter()
            .map(|(sink, after)| {
                let before = engine.sink_state(&sink);
                diff_sink(engine, sink, before, &after)
            })
            .collect()
    });
    RebuildOutcome {
        group: group.to_string(),
        at_us: engine.now().as_us(),
        result,
    }
}

fn diff_sink(
    engine: &Engine,
    sink: String,
    before: Option<&SinkState>,
    after: &SinkState,
) -> SinkDiff {
    let identical = before == Some(after);
    let (old, new) = (
        before.map(|b| rows_of(engine, b)).unwrap_or_default(),
        rows_of(engine, after),
    );
    let mut d = SinkDiff {
        sink,
        identical,
        added: 0,
        changed: 0,
        removed: 0,
        rows: Vec::new(),
    };
    let mut push = |key: &String, b: Option<&String>, a: Option<&String>| {
        if d.rows.len() < MAX_DIFF_ROWS {
            d.rows.push(DiffRow {
                key: key.clone(),
                before: b.cloned().unwrap_or_default(),
                after: a.cloned().unwrap_or_default(),
            });
        }
    };
    for (k, a) in &new {
        match old.get(k) {
            None => {
                d.added += 1;
                push(k, None, Some(a));
            }
            Some(b) if b != a => {
                d.changed += 1;
                push(k, Some(b), Some(a));
            }
            Some(_) => {}
        }
    }
    for (k, b) in &old {
        if !new.contains_key(k) {
            d.removed += 1;
            push(k, Some(b), None);
        }
    }
    d
}

/// A sink's state as keyed rows: every sku's stock for an inventory, the
/// leaves of the sink's report (counts per status, type, channel, …)
/// for the others.
fn rows_of(engine: &Engine, state: &SinkState) -> BTreeMap<String, String> {
    let mut rows = BTreeMap::new();
    if let SinkState::Inventory(inv) = state {
        for (sku, stock) in inv.lowest(inv.skus()) {
            rows.insert(format!("sku {sku:06}"), stock.to_string());
        }
        return rows;
    }
    let topics = engine.topics();
    let name = |t: u32| {
        topics
            .get(t as usize)
            .map_or_else(|| t.to_string(), |x| x.name().to_string())
    };
    if let Ok(json) = serde_json::to_value(state.summary(&name)) {
        flatten("", &json, &mut rows);
    }
    rows
}

fn flatten(prefix: &str, v: &serde_json::Value, rows: &mut BTreeMap<String, String>) {
    let join = |k: &str| {
        if prefix.is_empty() {
            k.to_string()
        } else {
            format!("{prefix}.{k}")
        }
    };
    match v {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                flatten(&join(k), v, rows);
            }
        }
        serde_json::Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                flatten(&join(&i.to_string()), v, rows);
            }
        }
        leaf => {
            rows.insert(prefix.to_string(), leaf.to_string());
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::sim::{Fault, VirtualTime};

    fn seed_run() -> (ArchGraph, Scenario) {
        let text = crate::SEED_DIAGRAM;
        let graph = ArchGraph::from_flowchart(&parse_flowchart(text).unwrap());
        let scenario = load_scenario(text, &graph).unwrap();
        (graph, scenario)
    }

    #[test]
    fn a_saved_run_opens_at_its_end_with_the_same_hash_and_controls() {
        let (graph, scenario) = seed_run();
        let engine = Engine::new(&graph, scenario.clone(), 9).unwrap();
        let group = engine.group_names().next().unwrap().to_string();
        let mut h = History::new(engine, HistoryOptions::default());
        h.run_until(VirtualTime::from_us(1_200_000));
        h.apply(Fault::ResetToOffset {
            group: group.clone(),
            offset: 0,
        })
        .unwrap();
        h.run_until(VirtualTime::from_us(2_000_000));
        let dir = std::env::temp_dir().join(format!("eda-live-replay-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("run.sqlite");
        let saved = save(
            &h,
            &graph,
            &scenario,
            &path,
            "seed.mmd",
            crate::SEED_DIAGRAM,
        )
        .unwrap();
        assert!(saved.matches_live);

        let opened = open(&path).unwrap();
        assert_eq!(
            opened.recorded_hash.as_deref(),
            Some(saved.run_hash.as_str())
        );
        assert_eq!(opened.replayed_hash, saved.run_hash);
        assert_eq!(opened.history.head().now(), h.head().now());
        assert_eq!(opened.history.controls(), h.controls());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_rebuild_of_an_untouched_projection_is_identical_and_a_lost_one_differs() {
        let (graph, scenario) = seed_run();
        let mut engine = Engine::new(&graph, scenario, 3).unwrap();
        engine.run_until(VirtualTime::from_us(2_000_000));
        let groups: Vec<String> = engine.group_names().map(str::to_string).collect();
        let rebuilt: Vec<RebuildOutcome> = groups.iter().map(|g| rebuild(&engine, g)).collect();
        let ok: Vec<&RebuildOutcome> = rebuilt.iter().filter(|r| r.result.is_ok()).collect();
        assert!(
            !ok.is_empty(),
            "some group of the seed is a projection: {rebuilt:?}"
        );
        for r in &rebuilt {
            if let Ok(sinks) = &r.result {
                for d in sinks {
                    // In flight events may still be missing from the live state.
                    assert_eq!(d.removed, 0, "{}: {d:?}", r.group);
                }
            }
        }
        // Against an empty state (what a lost projection would rebuild
        // to), every live row is reported removed.
        let sink = match &ok[0].result {
            Ok(sinks) => sinks[0].sink.clone(),
            Err(e) => panic!("{e}"),
        };
        let live = engine.sink_state(&sink).unwrap();
        let empty = SinkState::new(live.kind());
        let d = diff_sink(&engine, sink.clone(), Some(live), &empty);
        assert!(!d.identical);
        assert_eq!(d.removed as usize, rows_of(&engine, live).len(), "{d:?}");
        assert!(d.removed > 0 && d.rows.len() <= MAX_DIFF_ROWS);
        let d = diff_sink(&engine, sink, Some(&empty), live);
        assert_eq!(
            (d.added, d.removed),
            (rows_of(&engine, live).len() as u64, 0)
        );
    }

    #[test]
    fn a_group_without_a_projection_says_why() {
        let (graph, scenario) = seed_run();
        let engine = Engine::new(&graph, scenario, 3).unwrap();
        let r = rebuild(&engine, "NoSuchGroup");
        assert!(r.result.is_err());
    }

    #[test]
    fn a_file_that_is_not_a_recording_is_an_error() {
        let dir = std::env::temp_dir().join(format!("eda-live-notrec-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("junk.sqlite");
        std::fs::write(&path, b"definitely not sqlite").unwrap();
        let err = open(&path).unwrap_err();
        assert!(
            err.to_string().contains("not an eda-studio recording"),
            "{err}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
