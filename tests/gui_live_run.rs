//! Run flows through the designer's UI with egui_kittest (headless) that
//! the other live tests do not cover: scrub to a past moment and read an
//! inspector table equal to a headless engine's state then; Save Run and
//! Open Run from the File menu, the opened run paused at its end with the
//! recorded hash in the run toolbar; a wrong file is a status-bar error.

mod common;

use common::{
    assert_lowest_stock_shown, click_at, file_menu_with_path, harness, latest_frame,
    seed_engine_at, select_node, send, wait_for_frame_up_to,
};
use eda_studio::gui::app::EdaApp;
use eda_studio::live::{Command as LiveCommand, Frame, RunState};
use eda_studio::sim::Fault;
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("eda-gui-run-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    dir
}

/// Runs UI frames until the latest simulation frame satisfies `pred` (20 s at most).
fn wait_for_frame(
    h: &mut Harness<'_, EdaApp>,
    what: &str,
    pred: impl Fn(&Frame) -> bool,
) -> Arc<Frame> {
    wait_for_frame_up_to(h, Duration::from_secs(20), what, pred)
}

fn status(h: &Harness<'_, EdaApp>) -> (String, bool) {
    h.state().ui.status.clone().unwrap_or_default()
}

/// Open Run replays off the UI thread: runs UI frames until its outcome
/// is in the status bar, and returns it.
fn open_run_outcome(h: &mut Harness<'_, EdaApp>) -> (String, bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while status(h).0.starts_with("Opening run") {
        assert!(Instant::now() < deadline, "the open never ended");
        h.run_steps(1);
        std::thread::sleep(Duration::from_millis(10));
    }
    status(h)
}

#[test]
fn scrubbing_shows_the_inventory_as_the_engine_had_it_then() {
    let mut h = harness();
    send(&mut h, LiveCommand::StepBy(2_000_000));
    wait_for_frame(&mut h, "two seconds", |f| f.now_us >= 2_000_000);
    h.run_steps(5);
    let at = h
        .state()
        .node_screen_pos("InvDB")
        .unwrap_or_else(|| panic!("InvDB on the canvas"));
    click_at(&mut h, at);
    // Click the scrubber: some past moment.
    h.get_by_role_and_label(Role::Slider, "Time").click();
    let past = wait_for_frame(&mut h, "the past InvDB detail", |f| {
        f.viewing_past && f.detail.as_ref().is_some_and(|d| d.key == "InvDB")
    });
    assert!(
        past.now_us > 0 && past.now_us < 2_000_000,
        "{}",
        past.now_us
    );
    h.run_steps(2);

    // The same run, headless, to that moment.
    let engine = seed_engine_at(past.seed, past.now_us);
    assert_lowest_stock_shown(&h, &past, &engine);
}

#[test]
fn save_run_then_open_run_restores_it_paused_at_its_end_with_its_hash() {
    let dir = scratch("save-open");
    let file = dir.join("run.sqlite");
    let mut h = harness();
    // A run with a control input made from the GUI.
    send(&mut h, LiveCommand::StepBy(800_000));
    wait_for_frame(&mut h, "0.8 s", |f| f.now_us >= 800_000);
    send(
        &mut h,
        LiveCommand::Fault(Fault::Crash {
            group: "Consumer1".into(),
            instance: 0,
            duration_us: None,
        }),
    );
    send(&mut h, LiveCommand::StepBy(700_000));
    let live = wait_for_frame(&mut h, "1.5 s", |f| f.now_us >= 1_500_000);
    assert_eq!(live.faults.len(), 1, "the crash was applied");

    file_menu_with_path(&mut h, "Save Run…", &file);
    let deadline = Instant::now() + Duration::from_secs(20);
    while !status(&h).0.starts_with("Saved the run") {
        assert!(
            Instant::now() < deadline,
            "no save outcome: {:?}",
            status(&h)
        );
        h.run_steps(1);
        std::thread::sleep(Duration::from_millis(10));
    }
    let (message, error) = status(&h);
    assert!(!error, "{message}");
    assert!(
        message.contains(&live.run_hash),
        "{message} vs {}",
        live.run_hash
    );

    // A fresh designer opens it.
    let mut h = harness();
    file_menu_with_path(&mut h, "Open Run…", &file);
    let (message, error) = open_run_outcome(&mut h);
    assert!(!error, "{message}");
    assert!(message.starts_with("Opened run"), "{message}");
    let opened = wait_for_frame(&mut h, "the opened run", |f| f.now_us > 0);
    assert_eq!(opened.now_us, live.now_us, "paused at the recording's end");
    assert_eq!(opened.state, RunState::Paused);
    assert_eq!(opened.run_hash, live.run_hash, "the recorded hash");
    assert_eq!(
        opened.faults, live.faults,
        "the GUI's crash is in the replay"
    );
    h.run_steps(2);
    h.get_by_label(&format!("hash {}", live.run_hash));
    h.get_by_label("replayed exactly");
    assert!(
        h.state().doc.graph.id_of("Consumer1").is_some(),
        "the recorded diagram"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn opening_a_file_that_is_not_a_recording_is_a_status_error() {
    let dir = scratch("not-a-run");
    let mut h = harness();
    let before = h.state().doc.graph.component_count();
    for (name, bytes) in [
        ("junk.sqlite", b"not a database at all".as_slice()),
        ("empty.sqlite", b"".as_slice()),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("{e}"));
        file_menu_with_path(&mut h, "Open Run…", &path);
        let (message, error) = open_run_outcome(&mut h);
        assert!(error, "{name}: {message}");
        assert!(
            message.contains("not an eda-studio recording"),
            "{name}: {message}"
        );
    }
    let missing = dir.join("missing.sqlite");
    file_menu_with_path(&mut h, "Open Run…", &missing);
    let (message, error) = open_run_outcome(&mut h);
    assert!(error && message.contains("cannot open"), "{message}");
    assert_eq!(
        h.state().doc.graph.component_count(),
        before,
        "document kept"
    );
    assert!(h.state().run.frame.is_none(), "no run started");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_inspector_resets_a_group_and_rebuilds_its_projection() {
    let mut h = harness();
    send(&mut h, LiveCommand::StepBy(1_500_000));
    wait_for_frame(&mut h, "1.5 s", |f| f.now_us >= 1_500_000);
    select_node(&mut h, "Consumer1");
    wait_for_frame(&mut h, "the Consumer1 detail", |f| {
        f.detail.as_ref().is_some_and(|d| d.key == "Consumer1")
    });
    h.run_steps(2);

    // Reset to time 0: the group goes back to its first retained records.
    h.get_by_label("Reset to time").click();
    let f = wait_for_frame(&mut h, "the reset", |f| !f.faults.is_empty());
    match &f.faults[0].fault {
        Fault::ResetToTime { group, at } => {
            assert_eq!(group, "Consumer1");
            assert_eq!(at.as_us(), 0);
        }
        other => panic!("{other:?}"),
    }
    assert!(f.faults[0].refused.is_none(), "{:?}", f.faults[0]);

    // Rebuild: the window shows the diff of InvDB.
    h.get_by_label("Rebuild projection").click();
    let f = wait_for_frame(&mut h, "the rebuild", |f| f.replay.rebuilds == 1);
    let outcome = f
        .replay
        .rebuild
        .clone()
        .unwrap_or_else(|| panic!("an outcome"));
    assert_eq!(outcome.group, "Consumer1");
    let sinks = outcome.result.clone().unwrap_or_else(|e| panic!("{e}"));
    assert!(sinks.iter().any(|d| d.sink == "InvDB"), "{sinks:?}");
    h.run_steps(3);
    h.get_by_label("Projection rebuild");
    let line = eda_studio::gui::panels::replay::summary(&outcome);
    assert!(h.get_all_by_label(&line).count() >= 1, "{line} shown");
}

#[test]
fn a_long_rebuild_shows_its_progress_then_the_diff() {
    let mut h = harness();
    // A busy seed: the event store's log grows by thousands a second.
    let text = format!(
        "{}%% eda:scenario Producer1.rate = 20000/s constant\n\
         %% eda:scenario ES.service = const 10us\n",
        eda_studio::SEED_DIAGRAM
    );
    h.state_mut()
        .send(eda_studio::gui::command::Command::OpenText(
            "busy".into(),
            text,
        ));
    h.run_steps(2);
    // A log long enough (~1.2M events) that the rebuild spans dozens of
    // driver ticks even when the test threads are starved of CPU: with 4 s
    // (~80k events) a loaded CI run once finished it between two UI polls.
    send(&mut h, LiveCommand::StepBy(60_000_000));
    common::wait_for_frame_within(
        &mut h,
        Duration::from_secs(120),
        |_| "timed out waiting for 60 s".to_string(),
        |f| f.now_us >= 60_000_000,
    );
    select_node(&mut h, "Consumer1");
    wait_for_frame(&mut h, "the Consumer1 detail", |f| {
        f.detail.as_ref().is_some_and(|d| d.key == "Consumer1")
    });
    h.run_steps(2);

    h.get_by_label("Rebuild projection").click();
    let started = Instant::now();
    let deadline = Instant::now() + Duration::from_secs(60);
    let (mut partway, mut bar_shown, mut total) = (false, false, 0);
    let done = loop {
        h.run_steps(1);
        let f = latest_frame(&h);
        if let Some(p) = &f.replay.rebuilding {
            total = p.total;
            if p.done > 0 && p.done < p.total {
                partway = true;
                bar_shown |= h.query_by_label_contains("events replayed").is_some();
            }
        }
        if f.replay.rebuilds == 1 {
            break f;
        }
        assert!(Instant::now() < deadline, "the rebuild never ended");
        std::thread::sleep(Duration::from_millis(5));
    };
    eprintln!("rebuilt {total} events in {:?}", started.elapsed());
    assert!(total > 10_000, "a long log: {total}");
    assert!(partway, "a frame showed the rebuild part way");
    assert!(bar_shown, "the window showed its progress");
    let outcome = done.replay.rebuild.clone().unwrap_or_else(|| panic!());
    let sinks = outcome.result.clone().unwrap_or_else(|e| panic!("{e}"));
    assert!(sinks.iter().any(|d| d.sink == "InvDB"), "{sinks:?}");
    h.run_steps(3);
    assert!(h.query_by_label_contains("events replayed").is_none());
    let line = eda_studio::gui::panels::replay::summary(&outcome);
    assert!(h.get_all_by_label(&line).count() >= 1, "{line} shown");
}
