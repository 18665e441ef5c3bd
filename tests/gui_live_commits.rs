//! Offset commits in a live run, driven through the designer's UI with
//! egui_kittest (headless): the seed diagram with nothing configured
//! commits every 5 s (Kafka's auto-commit), so crashing a consumer from
//! its right-click menu and restarting it re-delivers what it processed
//! since its last commit — applied twice without idempotency, and shown
//! in the Invariants tab; never with it. The Scenario tab says where the
//! commit setting came from and writes it into the diagram only when the
//! user chose one.

mod common;

use common::{file_menu_with_path, harness, right_click_on, step, type_into_spin, wait_for_frame};
use eda_studio::gui::app::EdaApp;
use eda_studio::live::Frame;
use eda_studio::sim::{Check, Example, Invariant};
use egui::accesskit::{Role, Toggled};
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT as _, Queryable as _};
use std::time::{Duration, Instant};

/// Clicks the dock tab `name` until it shows `shows` (a click that lands
/// while the dock is still growing into place misses it).
fn open_tab(h: &mut Harness<'_, EdaApp>, name: &str, shows: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while h.query_all_by_label_contains(shows).next().is_none() {
        assert!(
            Instant::now() < deadline,
            "the {name} tab never showed {shows}"
        );
        if let Some(tab) = h.query_all_by_label(name).last() {
            tab.click();
        }
        h.run_steps(2);
    }
}

/// Crashes Consumer1's only instance from its right-click menu at the
/// moment shown, runs 1 s, restarts it the same way and runs 2 s more.
fn crash_and_restart_consumer1(h: &mut Harness<'_, EdaApp>) -> std::sync::Arc<Frame> {
    h.key_press(egui::Key::Escape);
    right_click_on(h, "Consumer1");
    h.get_by_label("Crash instance 0").click();
    h.run_steps(2);
    step(h, 1_000_000);
    right_click_on(h, "Consumer1");
    h.get_by_label("Restart instance 0").click();
    h.run_steps(2);
    step(h, 2_000_000)
}

fn consumer1_redelivered(f: &Frame) -> (u64, u64) {
    let c1 = f
        .groups
        .iter()
        .find(|g| g.group == "Consumer1")
        .unwrap_or_else(|| panic!("Consumer1 in {:?}", f.groups));
    (c1.delivery.redelivered, c1.delivery.duplicates_applied)
}

/// The first duplicate the invariants report, once there is one.
fn wait_for_duplicates(h: &mut Harness<'_, EdaApp>) -> Example {
    let frame = wait_for_frame(h, "the duplicates", |f| {
        f.invariants.effects_applied_once.is_violated()
    });
    frame
        .invariants
        .examples_of(Invariant::EffectsAppliedOnce)
        .next()
        .cloned()
        .unwrap_or_else(|| panic!("an example: {:?}", frame.invariants))
}

#[test]
fn a_crash_on_the_seed_with_the_live_defaults_shows_duplicates_applied() {
    let mut h = harness();
    step(&mut h, 2_000_000);
    // The Scenario tab says the commits are the live default's, and the
    // diagram says nothing of them.
    open_tab(&mut h, "Scenario", "Consumer1 commits");
    assert!(
        h.query_all_by_label("5 s (live default)").count() >= 4,
        "every consumer shows the live default"
    );
    assert!(!h.state().doc.to_text().contains("commit-every"));
    let f = common::latest_frame(&h);
    assert_eq!(consumer1_redelivered(&f), (0, 0));
    assert!(!f.invariants.effects_applied_once.is_violated());

    let f = crash_and_restart_consumer1(&mut h);
    let (redelivered, duplicates) = consumer1_redelivered(&f);
    // What it processed in the 2 s before the crash (about 100 events/s),
    // none of it committed yet.
    assert!(redelivered > 100, "re-delivered {redelivered}");
    assert_eq!(
        duplicates, redelivered,
        "idempotency off: all applied again"
    );
    let example = wait_for_duplicates(&mut h);
    assert_eq!(example.events[0].group, "Consumer1");

    // The Invariants tab shows the violation, with the events involved.
    open_tab(&mut h, "Invariants", &example.what);
    h.get_by_role_and_label(Role::Button, &example.what);
    assert!(
        h.query_all_by_label_contains("VIOLATED").next().is_some(),
        "the check's row says it was violated"
    );
    let e = &example.events[0];
    let place = format!("{}/{}@{}", e.topic, e.partition, e.offset);
    assert!(
        h.query_all_by_label_contains(&place).next().is_some(),
        "{place} is listed"
    );
}

#[test]
fn the_same_crash_with_idempotency_on_applies_nothing_twice() {
    let mut h = harness();
    step(&mut h, 100_000);
    open_tab(&mut h, "Scenario", "Consumer1 idempotent");
    if h.get_by_label("Consumer1 idempotent")
        .accesskit_node()
        .toggled()
        != Some(Toggled::True)
    {
        h.get_by_label("Consumer1 idempotent").click();
        h.run_steps(2);
    }
    h.get_by_label("Apply").click();
    h.run_steps(3);
    let text = h.state().doc.to_text();
    assert!(
        text.contains("%% eda:scenario Consumer1.idempotent = on"),
        "{text}"
    );
    assert!(
        !text.contains("commit-every"),
        "the live default is not written: {text}"
    );
    wait_for_frame(&mut h, "the reload", |f| f.now_us == 0);
    step(&mut h, 2_000_000);

    let f = crash_and_restart_consumer1(&mut h);
    let (redelivered, duplicates) = consumer1_redelivered(&f);
    assert!(redelivered > 100, "re-delivered {redelivered}");
    assert_eq!(duplicates, 0);
    assert!(!f.invariants.effects_applied_once.is_violated());
    assert_eq!(f.invariants.no_duplicate_effects, Check::Held);
    assert_eq!(
        f.invariants
            .examples_of(Invariant::EffectsAppliedOnce)
            .count(),
        0
    );
}

/// Picks `option` in group `group`'s commit mode box.
fn pick_commit_mode(h: &mut Harness<'_, EdaApp>, group: &str, option: &str) {
    h.get_by_label(&format!("{group} commits")).click();
    h.run_steps(2);
    h.get_by_label(option).click();
    h.run_steps(3);
}

#[test]
fn a_commit_setting_chosen_in_the_scenario_tab_is_written_and_the_default_is_not() {
    let mut h = harness();
    step(&mut h, 100_000);
    open_tab(&mut h, "Scenario", "Consumer1 commits");
    // Every record, on catching up: the headless behaviour, written out
    // (a live run would otherwise replace it with its default).
    pick_commit_mode(&mut h, "Consumer1", "by records");
    assert!(
        h.query_all_by_label("5 s (live default)").count() >= 3,
        "the others keep the default"
    );
    h.get_by_label("Apply").click();
    h.run_steps(3);
    let text = h.state().doc.to_text();
    assert!(
        text.contains("%% eda:scenario Consumer1.commit-every = 1\n"),
        "{text}"
    );
    assert_eq!(text.matches("commit-every").count(), 1, "{text}");
    h.run_steps(3);
    assert!(
        h.query_all_by_label("(from the diagram)").next().is_some(),
        "it says it comes from the diagram now"
    );

    // On a timer: the value typed is written as a time.
    pick_commit_mode(&mut h, "Consumer1", "on a timer");
    type_into_spin(&mut h, "Consumer1 commit every", "2");
    h.get_by_label("Apply").click();
    h.run_steps(3);
    let text = h.state().doc.to_text();
    assert!(
        text.contains("%% eda:scenario Consumer1.commit-every = 2s\n"),
        "{text}"
    );

    // Back to the live default: nothing written any more.
    pick_commit_mode(&mut h, "Consumer1", "live default");
    h.get_by_label("Apply").click();
    h.run_steps(3);
    let text = h.state().doc.to_text();
    assert!(!text.contains("commit-every"), "{text}");
}

/// Runs UI frames while the status bar starts with `while_`; the status then.
fn status_after(h: &mut Harness<'_, EdaApp>, while_: &str) -> (String, bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let status = h.state().ui.status.clone().unwrap_or_default();
        if !status.0.starts_with(while_) && !status.0.is_empty() {
            return status;
        }
        assert!(Instant::now() < deadline, "still {status:?}");
        h.run_steps(1);
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A run saved with the live defaults (retention, commits) reopens saying
/// they are the live defaults, not the diagram's, and the document is the
/// diagram as the user had it.
#[test]
fn a_saved_run_reopens_with_its_live_defaults_said_so() {
    use eda_studio::sim::RetentionSource;
    let dir = std::env::temp_dir().join(format!("eda-gui-commits-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let file = dir.join("run.sqlite");
    let mut h = harness();
    let before = h.state().doc.to_text();
    step(&mut h, 1_000_000);
    file_menu_with_path(&mut h, "Save Run…", &file);
    let (message, error) = status_after(&mut h, "Saving");
    assert!(!error && message.starts_with("Saved the run"), "{message}");

    let mut h = harness();
    file_menu_with_path(&mut h, "Open Run…", &file);
    let (message, error) = status_after(&mut h, "Opening run");
    assert!(!error && message.starts_with("Opened run"), "{message}");
    let f = wait_for_frame(&mut h, "the opened run", |f| f.now_us > 0);
    assert_eq!(f.retention_source, RetentionSource::LiveDefault);
    let text = h.state().doc.to_text();
    assert!(
        !text.contains("eda:scenario") && !text.contains("eda:live-defaults"),
        "the user's diagram, without the defaults' lines: {text}"
    );
    assert_eq!(text.lines().count(), before.lines().count(), "{text}");
    open_tab(&mut h, "Scenario", "Consumer1 commits");
    h.get_by_label("keep-latest 131,072 per partition (live default)");
    assert!(
        h.query_all_by_label_contains("from the diagram")
            .next()
            .is_none(),
        "nothing says it came from the diagram"
    );
    assert!(h.query_all_by_label("5 s (live default)").count() >= 4);
    let _ = std::fs::remove_dir_all(&dir);
}
