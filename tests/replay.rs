//! `simulate --record` then `replay`, end to end through the real binary:
//! the state at a moment equals a run stopped there, projections rebuild,
//! groups reset and catch up, a consumer added to a finished run reads the
//! whole history; bad requests are refused with a pointed message.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_eda-studio"))
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("runs")
}

fn ok_json(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON on stdout")
}

/// Records the seed diagram for `duration` with `seed` into a fresh file.
fn recorded(name: &str, duration: &str, seed: &str) -> (PathBuf, serde_json::Value) {
    recorded_with(name, duration, seed, &[])
}

/// [`recorded`] with `extra` arguments for `simulate`.
fn recorded_with(
    name: &str,
    duration: &str,
    seed: &str,
    extra: &[&str],
) -> (PathBuf, serde_json::Value) {
    let dir = std::env::temp_dir().join(format!("eda-replay-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let file = dir.join("run.sqlite");
    let mut args = vec![
        "simulate",
        "--duration",
        duration,
        "--seed",
        seed,
        "--json",
        "--record",
        path(&file),
    ];
    args.extend_from_slice(extra);
    let out = run(&args);
    (file, ok_json(&out))
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

#[test]
fn state_at_a_moment_equals_a_run_stopped_there() {
    let (file, full) = recorded("at", "3s", "21");
    let out = ok_json(&run(&[
        "replay",
        path(&file),
        "--at",
        "1250ms",
        "--at",
        "0",
        "--json",
    ]));
    assert_eq!(out["run_hash"], full["run_hash"], "the replay matched");
    assert_eq!(out["complete"], true);
    let short = ok_json(&run(&[
        "simulate",
        "--duration",
        "1250ms",
        "--seed",
        "21",
        "--json",
    ]));
    let at = &out["states"][0]["summary"];
    assert_eq!(at["now_us"], 1_250_000);
    assert_eq!(at["run_hash"], short["run_hash"]);
    assert_eq!(at["events_produced"], short["events_produced"]);
    assert_eq!(at["groups"], short["groups"], "lags and offsets too");
    assert_eq!(at["sinks"], short["sinks"], "sink state too");
    let zero = &out["states"][1]["summary"];
    assert_eq!(zero["events_produced"], 0);
}

#[test]
fn text_replay_shows_the_component_table() {
    let (file, full) = recorded("text", "1s", "2");
    let out = run(&["replay", path(&file), "--at", "500ms"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let hash = full["run_hash"].as_str().expect("hash");
    assert!(
        text.contains(&format!(
            "run hash {hash}; moments restored from the stored engine images"
        )),
        "{text}"
    );
    let again = run(&["replay", path(&file), "--at", "500ms", "--from-zero"]);
    assert!(
        String::from_utf8_lossy(&again.stdout)
            .contains(&format!("run hash {hash} matches the recording")),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert!(
        text.contains("state at 500.000ms") || text.contains("state at 0.5"),
        "{text}"
    );
    for word in ["Consumer1", "e2e p99 ms", "invariant per-key order"] {
        assert!(text.contains(word), "{word}: {text}");
    }
}

#[test]
fn rebuild_from_the_store_equals_the_live_projection() {
    let (file, _) = recorded("rebuild", "2s", "4");
    let out = ok_json(&run(&[
        "replay",
        path(&file),
        "--rebuild",
        "Consumer1",
        "--json",
    ]));
    let sinks = out["rebuild"]["sinks"].as_array().expect("sinks");
    assert!(!sinks.is_empty());
    assert!(sinks.iter().all(|s| s["equals_live"] == true), "{sinks:?}");
    let bad = run(&["replay", path(&file), "--rebuild", "Nope"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("--rebuild Nope: no consumer group `Nope`"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
}

#[test]
fn reset_to_an_offset_or_a_time_catches_up() {
    let (file, _) = recorded("reset", "2s", "6");
    let out = ok_json(&run(&[
        "replay",
        path(&file),
        "--reset",
        "Consumer3",
        "--to",
        "0",
        "--json",
    ]));
    let r = &out["reset"];
    assert_eq!(r["caught_up"], true, "{r}");
    assert_eq!(r["lag_end"], 0);
    let after = r["lag_after_reset"].as_u64().expect("lag");
    assert!(after > 100, "reset to 0 rewinds the whole history: {r}");
    assert_eq!(
        r["replayed"].as_u64(),
        Some(after - r["lag_before"].as_u64().expect("lag"))
    );

    let by_time = ok_json(&run(&[
        "replay",
        path(&file),
        "--reset",
        "Consumer3",
        "--to",
        "1s",
        "--json",
    ]));
    let t = &by_time["reset"];
    assert_eq!(t["caught_up"], true);
    let after_t = t["lag_after_reset"].as_u64().expect("lag");
    assert!(after_t > 0 && after_t < after, "{t} vs {r}");

    let refused = run(&["replay", path(&file), "--reset", "Nope", "--to", "0"]);
    assert_ne!(refused.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("no consumer group `Nope`"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let no_to = run(&["replay", path(&file), "--reset", "Consumer3"]);
    assert_eq!(no_to.status.code(), Some(2), "--to is required");
}

#[test]
fn a_consumer_added_to_a_finished_run_reads_the_whole_history() {
    let (file, full) = recorded("add", "2s", "8");
    let out = ok_json(&run(&[
        "replay",
        path(&file),
        "--add-consumer",
        "Audit",
        "--json",
    ]));
    let a = &out["add_consumer"];
    // The whole history: what the run produced, plus what commands in
    // flight at the end published while the run drained.
    assert_eq!(a["processed"], a["history"], "{a}");
    let produced = full["events_produced"].as_u64().expect("count");
    let history = a["history"].as_u64().expect("count");
    assert!((produced..produced + 5).contains(&history), "{a}");
    assert_eq!(a["catch_up"]["caught_up"], true);
    assert_eq!(
        out["run_hash"], full["run_hash"],
        "keeping the bus changed nothing"
    );

    let one = ok_json(&run(&[
        "replay",
        path(&file),
        "--add-consumer",
        "Audit",
        "--topics",
        "OrderCreated",
        "--json",
    ]));
    let o = &one["add_consumer"];
    assert_eq!(o["processed"], o["history"]);
    assert!(o["processed"].as_u64() < a["processed"].as_u64());

    let bad = run(&[
        "replay",
        path(&file),
        "--add-consumer",
        "Audit",
        "--topics",
        "Nope",
    ]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&bad.stdout).contains("no topic `Nope`"),
        "{}",
        String::from_utf8_lossy(&bad.stdout)
    );
}

#[test]
fn moments_after_the_end_are_refused() {
    let (file, _) = recorded("late", "1s", "1");
    let out = run(&["replay", path(&file), "--at", "5s"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("after the end of the recording"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bad = run(&["replay", path(&file), "--at", "soon"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("soon"));
}

#[test]
fn no_progress_bar_when_stderr_is_not_a_terminal() {
    let out = run(&["simulate", "--duration", "1s"]);
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("virtual ms"), "{err}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("run hash"), "{text}");
}

/// Records the seed diagram for 3 s with an engine image every 500 ms.
fn recorded_with_images(name: &str) -> PathBuf {
    recorded_with(name, "3s", "33", &["--image-every", "500ms"]).0
}

#[test]
fn a_moment_reached_through_an_image_equals_one_reached_from_zero() {
    let file = recorded_with_images("image");
    let images: i64 = rusqlite::Connection::open(&file)
        .expect("opens")
        .query_row("SELECT count(*) FROM images", [], |r| r.get(0))
        .expect("count");
    assert_eq!(images, 7, "0, 0.5 s, …, 3 s");
    let via_image = ok_json(&run(&["replay", path(&file), "--at", "1250ms", "--json"]));
    assert_eq!(via_image["reached_through"], "images");
    assert_eq!(via_image["states"][0]["image_at_us"], 1_000_000);
    let from_zero = ok_json(&run(&[
        "replay",
        path(&file),
        "--at",
        "1250ms",
        "--from-zero",
        "--json",
    ]));
    assert_eq!(from_zero["snapshots_verified"], 101, "at 0 and every 1%");
    let (a, b) = (
        &via_image["states"][0]["summary"],
        &from_zero["states"][0]["summary"],
    );
    assert_eq!(a["run_hash"], b["run_hash"]);
    assert_eq!(a, b, "the whole state: metrics, groups, sinks, series");
    // A stopped run agrees too.
    let short = ok_json(&run(&[
        "simulate",
        "--duration",
        "1250ms",
        "--seed",
        "33",
        "--json",
    ]));
    assert_eq!(a["run_hash"], short["run_hash"]);
    assert_eq!(a["sinks"], short["sinks"]);
}

#[test]
fn a_damaged_image_is_refused_with_a_clear_error() {
    let file = recorded_with_images("damaged");
    let conn = rusqlite::Connection::open(&file).expect("opens");
    let mut image: Vec<u8> = conn
        .query_row(
            "SELECT image FROM images WHERE time_us = 1000000",
            [],
            |r| r.get(0),
        )
        .expect("the image at 1 s");
    let mid = image.len() / 2;
    image[mid] ^= 0x10;
    conn.execute(
        "UPDATE images SET image = ?1 WHERE time_us = 1000000",
        [&image],
    )
    .expect("damages");
    drop(conn);
    let out = run(&["replay", path(&file), "--at", "1250ms"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("engine image at 1000000 us") && err.contains("--from-zero"),
        "{err}"
    );
    // Other moments and a replay from zero still work.
    ok_json(&run(&["replay", path(&file), "--at", "2s", "--json"]));
    ok_json(&run(&[
        "replay",
        path(&file),
        "--at",
        "1250ms",
        "--from-zero",
        "--json",
    ]));
}
