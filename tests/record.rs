//! Recordings end to end: the real binary writes them, the library reads
//! them back; a run killed with SIGKILL mid-write reopens intact; wrong
//! files get clear errors, never a panic.

use eda_studio::record::{RecordError, Recording, Status};
use eda_studio::sim::HistoryOptions;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_eda-studio"))
}

/// A fresh scratch directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("eda-record-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn simulate(args: &[&str]) -> Output {
    bin().arg("simulate").args(args).output().expect("runs")
}

fn json_of(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON on stdout")
}

fn record(dir: &Path, duration: &str, seed: &str) -> (PathBuf, serde_json::Value) {
    let file = dir.join("run.sqlite");
    let out = simulate(&[
        "--duration",
        duration,
        "--seed",
        seed,
        "--json",
        "--record",
        file.to_str().expect("utf-8 path"),
    ]);
    (file, json_of(&out))
}

#[test]
fn recording_holds_the_run_and_replays_to_its_hash() {
    let dir = scratch("replays");
    let (file, summary) = record(&dir, "4s", "11");
    let rec = Recording::open(&file).expect("opens");
    let run = rec.run();
    assert_eq!(run.status, Status::Complete);
    assert_eq!(run.seed, 11);
    assert_eq!(run.duration_us, 4_000_000);
    assert_eq!(run.run_hash.as_deref(), summary["run_hash"].as_str());
    assert_eq!(
        run.diagram,
        eda_studio::SEED_DIAGRAM,
        "the diagram text is kept"
    );
    let produced = summary["events_produced"].as_u64().expect("count");
    assert!(produced > 500, "{produced}");
    assert_eq!(rec.event_count().expect("count"), produced);
    // Every event once, ids 0.., offsets dense per partition.
    let events = rec.events(0, usize::MAX >> 1).expect("events");
    assert!(
        events
            .iter()
            .enumerate()
            .all(|(i, e)| e.event_id == i as u64)
    );
    let mut next: std::collections::BTreeMap<(String, u32), u64> = Default::default();
    for e in &events {
        let n = next.entry((e.topic.clone(), e.partition)).or_insert(0);
        assert_eq!(e.offset, *n, "{e:?}");
        *n += 1;
        assert!(e.payload.starts_with("{\"schema\":"), "{}", e.payload);
    }
    let snapshots = rec.snapshots().expect("snapshots");
    assert!(snapshots.len() >= 100, "{}", snapshots.len());
    assert!(snapshots.windows(2).all(|w| w[0].time_us <= w[1].time_us));
    let (history, verified) = rec
        .replay(false, HistoryOptions::default())
        .expect("replays");
    assert!(verified.complete);
    assert_eq!(verified.snapshots, snapshots.len());
    assert_eq!(
        Some(verified.run_hash.as_str()),
        summary["run_hash"].as_str()
    );
    assert_eq!(history.head().events_produced(), produced);
}

#[test]
fn a_recording_is_queryable_with_plain_sql() {
    let dir = scratch("sql");
    let (file, summary) = record(&dir, "2s", "3");
    let conn = rusqlite::Connection::open(&file).expect("sqlite opens it");
    let by_topic: i64 = conn
        .query_row(
            "SELECT count(*) FROM event_log WHERE topic = 'OrderCreated' AND schema = 'order'",
            [],
            |r| r.get(0),
        )
        .expect("view");
    assert!(by_topic > 50, "{by_topic}");
    let lag_samples: i64 = conn
        .query_row(
            "SELECT count(*) FROM metric_samples WHERE component = 'Consumer1' AND metric = 'lag'",
            [],
            |r| r.get(0),
        )
        .expect("samples");
    assert!(lag_samples >= 100, "{lag_samples}");
    let hash: String = conn
        .query_row("SELECT run_hash FROM runs", [], |r| r.get(0))
        .expect("run");
    assert_eq!(Some(hash.as_str()), summary["run_hash"].as_str());
}

#[test]
fn killed_mid_recording_reopens_with_every_committed_batch() {
    let dir = scratch("kill");
    let file = dir.join("killed.sqlite");
    let mut child = bin()
        .args(["simulate", "--duration", "3h", "--seed", "5", "--record"])
        .arg(&file)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawns");
    // Wait until a few batches are committed, then kill -9.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let committed = Recording::open(&file)
            .and_then(|r| r.snapshots())
            .map_or(0, |s| s.len());
        if committed >= 4 {
            break;
        }
        assert!(Instant::now() < deadline, "the recording did not start");
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the run ended before the kill: {status}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().expect("SIGKILL");
    let status = child.wait().expect("reaped");
    assert!(!status.success());

    let rec = Recording::open(&file).expect("a killed recording reopens");
    assert_eq!(rec.run().status, Status::Recording);
    let snapshots = rec.snapshots().expect("snapshots");
    assert!(snapshots.len() >= 4);
    let events = rec.event_count().expect("events");
    let last = snapshots.last().expect("one");
    assert!(
        events >= last.events,
        "events {events} < {} at the last snapshot",
        last.events
    );
    // No gap: the committed events are exactly ids 0..events.
    let max_id: i64 = rusqlite::Connection::open(&file)
        .expect("opens")
        .query_row("SELECT max(event_id) FROM events", [], |r| r.get(0))
        .expect("max");
    assert_eq!(max_id as u64 + 1, events);
    // And the replay matches every committed snapshot.
    let (history, verified) = rec
        .replay(false, HistoryOptions::default())
        .expect("replays");
    assert!(!verified.complete);
    assert_eq!(verified.snapshots, snapshots.len());
    assert_eq!(history.head().now().as_us(), last.time_us);
}

#[test]
fn wrong_files_get_clear_errors() {
    let dir = scratch("wrong");
    let open_err = |p: &Path| Recording::open(p).expect_err("refused");

    let missing = dir.join("missing.sqlite");
    assert!(matches!(open_err(&missing), RecordError::Open { .. }));

    let empty = dir.join("empty.sqlite");
    std::fs::write(&empty, b"").expect("write");
    assert!(matches!(open_err(&empty), RecordError::NotSqlite { .. }));

    let random = dir.join("random.sqlite");
    let bytes: Vec<u8> = (0..10_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&random, &bytes).expect("write");
    let e = open_err(&random);
    assert!(matches!(e, RecordError::NotSqlite { .. }), "{e}");
    assert!(e.to_string().contains("not an eda-studio recording"), "{e}");

    let foreign = dir.join("foreign.sqlite");
    {
        let c = rusqlite::Connection::open(&foreign).expect("create");
        c.execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
            .expect("write");
    }
    let e = open_err(&foreign);
    assert!(matches!(e, RecordError::Foreign { .. }), "{e}");

    // A real recording, truncated, then one with garbage in its middle.
    let (file, _) = record(&dir, "3s", "2");
    let whole = std::fs::read(&file).expect("read");
    assert!(whole.len() > 16 * 4096, "{}", whole.len());
    let truncated = dir.join("truncated.sqlite");
    std::fs::write(&truncated, &whole[..whole.len() / 2]).expect("write");
    let e = open_err(&truncated);
    assert!(matches!(e, RecordError::Corrupt { .. }), "truncated: {e:?}");
    let mangled = dir.join("mangled.sqlite");
    let mut bad = whole.clone();
    for b in &mut bad[whole.len() / 3..whole.len() / 3 + 8192] {
        *b = 0xA5;
    }
    std::fs::write(&mangled, &bad).expect("write");
    let e = open_err(&mangled);
    assert!(matches!(e, RecordError::Corrupt { .. }), "mangled: {e:?}");

    // The CLI says so too, with the file name, and exits 2.
    for (path, words) in [
        (&random, "not an eda-studio recording"),
        (&foreign, "application id"),
        (&truncated, "damaged"),
        (&missing, "cannot open"),
    ] {
        let out = bin().arg("replay").arg(path).output().expect("runs");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains(words), "{path:?}: {err}");
        assert!(err.contains(&*path.to_string_lossy()), "{err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

#[test]
fn recording_over_a_file_that_is_not_a_recording_is_refused() {
    let dir = scratch("overwrite");
    let precious = dir.join("notes.txt");
    std::fs::write(&precious, "keep me").expect("write");
    let out = simulate(&[
        "--duration",
        "1s",
        "--record",
        precious.to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not overwriting"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read_to_string(&precious).expect("read"), "keep me");
    // An earlier recording is replaced.
    let (file, first) = record(&dir, "1s", "1");
    let (_, second) = record(&dir, "2s", "2");
    let rec = Recording::open(&file).expect("opens");
    assert_eq!(rec.run().seed, 2);
    assert_ne!(first["run_hash"], second["run_hash"]);
}
