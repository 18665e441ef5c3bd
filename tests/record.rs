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
    let _ = std::fs::remove_dir_all(&dir);
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
    let _ = std::fs::remove_dir_all(&dir);
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
    let _ = std::fs::remove_dir_all(&dir);
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
    // 8 KiB of garbage over the page boundary nearest a third of the file
    // (garbage only in a page's unused space damages nothing).
    let page_size = match u16::from_be_bytes([whole[16], whole[17]]) {
        1 => 65_536,
        n => usize::from(n),
    };
    let boundary = (whole.len() / 3 / page_size).max(1) * page_size;
    let mut bad = whole.clone();
    for b in &mut bad[boundary - 4096..boundary + 4096] {
        *b = 0xA5;
    }
    std::fs::write(&mangled, &bad).expect("write");
    // Opening checks what every use reads; a replay from the start checks
    // every page first.
    let e = Recording::open(&mangled)
        .and_then(|r| r.replay(false, HistoryOptions::default()))
        .expect_err("refused");
    assert!(matches!(e, RecordError::Corrupt { .. }), "mangled: {e:?}");
    // So does Open Run's watched check, which goes table by table and
    // reads the images piece by piece.
    let e = Recording::open(&mangled)
        .and_then(|mut r| r.verify_watched(|_| true))
        .expect_err("refused");
    assert!(matches!(e, RecordError::Corrupt { .. }), "mangled: {e:?}");

    // The CLI says so too, with the file name, and exits 2.
    for (path, words) in [
        (&random, "not an eda-studio recording"),
        (&foreign, "application id"),
        (&truncated, "damaged"),
        (&mangled, "damaged"),
        (&missing, "cannot open"),
    ] {
        let out = bin().arg("replay").arg(path).output().expect("runs");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains(words), "{path:?}: {err}");
        assert!(err.contains(&*path.to_string_lossy()), "{err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    let _ = std::fs::remove_dir_all(&dir);
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
    let _ = std::fs::remove_dir_all(&dir);
}

/// Where `needle` occurs in `hay`.
fn find_all(hay: &[u8], needle: &[u8]) -> Vec<usize> {
    hay.windows(needle.len())
        .enumerate()
        .filter(|(_, w)| *w == needle)
        .map(|(i, _)| i)
        .collect()
}

/// `replay --at` opens the file cheaply and checks only what it reads:
/// damage in the pages it reads is still a clear error, never a wrong
/// state or a panic.
#[test]
fn damage_in_a_page_that_replay_at_reads_is_a_clear_error() {
    let dir = scratch("seek-damage");
    let file = dir.join("run.sqlite");
    let out = simulate(&[
        "--duration",
        "3s",
        "--seed",
        "9",
        "--json",
        "--record",
        file.to_str().expect("utf-8 path"),
        "--image-every",
        "1s",
    ]);
    json_of(&out);
    let whole = std::fs::read(&file).expect("read");
    // Where each image's row starts in the file: its first bytes (header,
    // length and checksum) in the leaf page that holds the row, and in any
    // stale copy a page split left behind.
    let conn = rusqlite::Connection::open(&file).expect("opens");
    let starts_of = |time_us: i64| -> Vec<usize> {
        let image: Vec<u8> = conn
            .query_row(
                "SELECT image FROM images WHERE time_us = ?1",
                [time_us],
                |r| r.get(0),
            )
            .expect("an image");
        let at = find_all(&whole, &image[..64]);
        assert!(!at.is_empty(), "the image at {time_us} us is in the file");
        at
    };
    let (at_1s, at_2s) = (starts_of(1_000_000), starts_of(2_000_000));
    drop(conn);
    let page_size = usize::from(u16::from_be_bytes([whole[16], whole[17]]));
    let page_size = if page_size == 1 { 65_536 } else { page_size };
    let replay_at = |path: &Path, at: &str| {
        let out = bin()
            .args(["replay", path.to_str().expect("utf-8"), "--at", at])
            .output()
            .expect("runs");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    assert_eq!(replay_at(&file, "1500ms").0, Some(0));

    // A byte inside the image at 1 s (past its header): SQLite cannot tell,
    // the image's checksum does.
    let mut bad = whole.clone();
    for at in &at_1s {
        bad[at + 40] ^= 0x5A;
    }
    let flipped = dir.join("flipped.sqlite");
    std::fs::write(&flipped, &bad).expect("write");
    let e = Recording::open(&flipped)
        .expect("opening reads no image")
        .state_at(eda_studio::sim::VirtualTime::from_us(1_500_000))
        .expect_err("the image is damaged");
    assert!(
        matches!(
            e,
            RecordError::Image {
                time_us: 1_000_000,
                ..
            }
        ),
        "{e:?}"
    );
    let (code, err) = replay_at(&flipped, "1500ms");
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("damaged") && err.contains("--from-zero"),
        "{err}"
    );
    // Open Run's check reads every image's bytes: it finds the flip.
    let e = Recording::open(&flipped)
        .and_then(|mut r| r.verify_watched(|_| true))
        .expect_err("the image is damaged");
    assert!(
        matches!(e, RecordError::Corrupt { .. }) && e.to_string().contains("1000000 us"),
        "{e:?}"
    );

    // The b-tree page that holds the row of the image at 2 s: SQLite
    // refuses it when the replay reads it.
    let mut bad = whole.clone();
    for at in &at_2s {
        let page = at / page_size * page_size;
        for b in &mut bad[page..page + 12] {
            *b = 0xA5;
        }
    }
    let broken = dir.join("broken-page.sqlite");
    std::fs::write(&broken, &bad).expect("write");
    let e = Recording::open(&broken)
        .expect("opening reads no image")
        .state_at(eda_studio::sim::VirtualTime::from_us(2_500_000))
        .expect_err("its page is damaged");
    assert!(matches!(e, RecordError::Corrupt { .. }), "{e:?}");
    let e = Recording::open(&broken)
        .and_then(|mut r| r.verify_watched(|_| true))
        .expect_err("its page is damaged");
    assert!(matches!(e, RecordError::Corrupt { .. }), "{e:?}");
    let (code, err) = replay_at(&broken, "2500ms");
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("damaged"), "{err}");
    assert!(err.contains(&*broken.to_string_lossy()), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
