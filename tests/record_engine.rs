//! Recordings carry the engine's random stream (issue 3 §7): one made by
//! an older engine — a file written here with its `runs.engine_stream`
//! patched to an older stream through rusqlite — is said to be one, by
//! the library, the `replay` command and the designer's Open Run, instead
//! of a bare hash mismatch, and what it stores is still shown as stored.
//! A file from before the stream was recorded (schema version 4) still
//! replays when this engine reproduces it.

mod common;

use eda_studio::record::{ENGINE_STREAM, OlderEngine, RecordError, Recording};
use eda_studio::sim::HistoryOptions;
use egui_kittest::kittest::Queryable as _;
use rusqlite::Connection;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const MESSAGE: &str = "recorded by an older engine (random stream v1); this engine cannot \
                       reproduce it exactly — its recorded events and metrics are shown as stored";

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_eda-studio"))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("runs: {e}"))
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap_or_else(|| panic!("utf-8 path"))
}

/// The seed diagram recorded for 3 s into a fresh file; its run hash.
fn recorded(name: &str) -> (PathBuf, String) {
    recorded_with(name, &[])
}

/// [`recorded`] with `extra` `simulate` options.
fn recorded_with(name: &str, extra: &[&str]) -> (PathBuf, String) {
    let dir = std::env::temp_dir().join(format!("eda-stream-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let file = dir.join("run.sqlite");
    let mut args = vec![
        "simulate",
        "--duration",
        "3s",
        "--json",
        "--record",
        path(&file),
    ];
    args.extend_from_slice(extra);
    let out = run(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}"));
    let hash = json["run_hash"]
        .as_str()
        .unwrap_or_else(|| panic!("a hash: {json}"))
        .to_string();
    (file, hash)
}

fn sql(file: &Path, statements: &str) {
    let conn = Connection::open(file).unwrap_or_else(|e| panic!("{e}"));
    conn.execute_batch(statements)
        .unwrap_or_else(|e| panic!("{statements}: {e}"));
}

fn remove(file: &Path) {
    if let Some(dir) = file.parent() {
        let _ = std::fs::remove_dir_all(dir);
    }
}

#[test]
fn a_recording_of_an_older_stream_is_said_to_be_one_and_not_replayed() {
    let (file, hash) = recorded("lib");
    let rec = Recording::open(&file).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(rec.run().engine_stream, Some(ENGINE_STREAM));
    assert_eq!(rec.older_engine(), None);
    drop(rec);

    sql(&file, "UPDATE runs SET engine_stream = 1");
    let rec = Recording::open(&file).unwrap_or_else(|e| panic!("{e}"));
    let older = rec.older_engine();
    assert_eq!(older, Some(OlderEngine { stream: Some(1) }));
    assert_eq!(older.map(|o| o.to_string()).as_deref(), Some(MESSAGE));
    match rec.replay(false, HistoryOptions::default()) {
        Err(e @ RecordError::OlderEngine { .. }) => {
            assert!(e.to_string().ends_with(MESSAGE), "{e}")
        }
        Err(e) => panic!("not an older-engine error: {e}"),
        Ok(_) => panic!("an older engine's run replayed as if reproducible"),
    }
    // Its rows are read as stored.
    assert!(rec.event_count().unwrap_or(0) > 100);
    let snapshots = rec.snapshots().unwrap_or_else(|e| panic!("{e}"));
    let last = snapshots.last().unwrap_or_else(|| panic!("snapshots"));
    let samples = rec
        .metric_samples_at(last.time_us)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        samples
            .iter()
            .any(|m| m.component == "Consumer1" && m.metric == "events_in")
    );
    assert_eq!(rec.run().run_hash.as_deref(), Some(hash.as_str()));
    remove(&file);
}

#[test]
fn a_version_4_file_without_a_stream_replays_or_says_it_is_older() {
    let (file, hash) = recorded("v4");
    // The version 4 layout: no `engine_stream`.
    sql(
        &file,
        "ALTER TABLE runs DROP COLUMN engine_stream; PRAGMA user_version = 4;",
    );
    let rec = Recording::open(&file).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(rec.run().engine_stream, None);
    assert_eq!(rec.older_engine(), None, "unknown until replayed");
    let (_, verified) = rec
        .replay(false, HistoryOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(verified.run_hash, hash);
    drop(rec);
    // One this engine does not reproduce (another engine's hashes).
    sql(&file, "UPDATE snapshots SET run_hash = '0123456789abcdef'");
    let rec = Recording::open(&file).unwrap_or_else(|e| panic!("{e}"));
    match rec.replay(false, HistoryOptions::default()) {
        Err(RecordError::OlderEngine { engine, .. }) => assert_eq!(engine.stream, None),
        Err(e) => panic!("not an older-engine error: {e}"),
        Ok(_) => panic!("replayed"),
    }
    remove(&file);
}

/// A version 4 file whose engine images an older engine wrote (`EDAIMG01`
/// headers, as every file from before the image version bump has): the
/// images pass the integrity check (same header layout, checksums intact),
/// this engine cannot restore them, so `replay --at` re-executes the run
/// from the start, checked at every snapshot, instead of calling it an
/// older engine's run.
#[test]
fn a_version_4_file_with_older_images_replays_from_the_start() {
    let (file, _) = recorded_with("img1", &["--image-every", "1s"]);
    sql(
        &file,
        "ALTER TABLE runs DROP COLUMN engine_stream; PRAGMA user_version = 4;",
    );
    {
        let conn = Connection::open(&file).unwrap_or_else(|e| panic!("{e}"));
        let images: Vec<(i64, Vec<u8>)> = conn
            .prepare("SELECT id, image FROM images")
            .and_then(|mut s| {
                s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<Result<_, _>>()
            })
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(images.len() >= 2, "images every second: {}", images.len());
        for (id, mut image) in images {
            assert_eq!(&image[..6], b"EDAIMG");
            image[6..8].copy_from_slice(b"01");
            conn.execute(
                "UPDATE images SET image = ?1 WHERE id = ?2",
                rusqlite::params![image, id],
            )
            .unwrap_or_else(|e| panic!("{e}"));
        }
    }
    let rec = Recording::open(&file).unwrap_or_else(|e| panic!("{e}"));
    rec.verify()
        .unwrap_or_else(|e| panic!("an older image is not damage: {e}"));
    drop(rec);
    let out = run(&["replay", path(&file), "--at", "2500ms"]);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("matches the recording"),
        "re-executed and checked: {stdout}\n{stderr}"
    );
    assert!(!stdout.contains("older engine"), "{stdout}");
    remove(&file);
}

#[test]
fn replay_shows_an_older_engines_recording_as_stored() {
    let (file, hash) = recorded("cli");
    sql(&file, "UPDATE runs SET engine_stream = 1");
    let out = run(&["replay", path(&file), "--at", "2s"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains(MESSAGE), "{stdout}");
    assert!(
        !stdout.contains("diverged") && !stdout.contains("mismatch"),
        "{stdout}"
    );
    assert!(stdout.contains(&format!("run hash {hash}")), "{stdout}");
    assert!(stdout.contains("stored at 2"), "{stdout}");
    assert!(stdout.contains("Consumer1"), "{stdout}");

    let out = run(&["replay", path(&file), "--json"]);
    let json: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(json["older_engine"]["stream"], 1);
    assert_eq!(json["reproducible"], false);
    let samples = &json["states"][0]["metric_samples"];
    assert!(samples.as_array().is_some_and(|a| !a.is_empty()), "{json}");

    // What needs a replay is refused.
    let out = run(&["replay", path(&file), "--rebuild", "Consumer1"]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("--rebuild: refused"), "{stdout}");
    remove(&file);
}

#[test]
fn open_run_says_an_older_engine_made_the_recording() {
    let (file, hash) = recorded("gui");
    sql(&file, "UPDATE runs SET engine_stream = 1");
    let mut h = common::harness();
    common::file_menu_with_path(&mut h, "Open Run…", &file);
    let deadline = Instant::now() + Duration::from_secs(20);
    let (message, error) = loop {
        let status = h.state().ui.status.clone().unwrap_or_default();
        if !status.0.starts_with("Opening run") && !status.0.is_empty() {
            break status;
        }
        assert!(Instant::now() < deadline, "still {status:?}");
        h.run_steps(1);
        std::thread::sleep(Duration::from_millis(10));
    };
    assert!(message.contains(MESSAGE), "{message}");
    assert!(
        message.contains("the run on the canvas is this engine's re-run"),
        "{message}"
    );
    assert!(message.contains(&hash), "the recorded hash: {message}");
    assert!(!message.contains("does not match"), "{message}");
    assert!(!error, "not a failure: {message}");
    let opened = h
        .state()
        .run
        .opened
        .clone()
        .unwrap_or_else(|| panic!("opened"));
    assert_eq!(opened.older_engine, Some(OlderEngine { stream: Some(1) }));
    assert!(!opened.verified());
    // The toolbar says so too, not "replay mismatch".
    h.run_steps(3);
    h.get_by_label("older engine's recording");
    assert!(h.query_by_label_contains("replay mismatch").is_none());
    // Its window shows what the file stores at the moment shown, as stored.
    let rec = Recording::open(&file).unwrap_or_else(|e| panic!("{e}"));
    let snapshots = rec.snapshots().unwrap_or_else(|e| panic!("{e}"));
    let last = snapshots.last().unwrap_or_else(|| panic!("snapshots"));
    h.get_by_label("Recorded run");
    h.get_by_label_contains(&format!(
        "{} events, {} deliveries, run hash {}",
        last.events, last.deliveries, last.run_hash
    ));
    let stored = opened.stored.as_ref().unwrap_or_else(|| panic!("stored"));
    let (_, samples) = stored
        .snapshot_at(u64::MAX)
        .unwrap_or_else(|| panic!("a snapshot"));
    assert_eq!(
        samples,
        &rec.metric_samples_at(last.time_us)
            .unwrap_or_else(|e| panic!("{e}"))
    );
    assert!(
        h.query_all_by_label("Consumer1").count() >= 1,
        "a row per component"
    );
    // The toggle closes it.
    h.get_by_label("older engine's recording").click();
    h.run_steps(2);
    assert!(h.query_by_label("Recorded run").is_none());
    remove(&file);
}
