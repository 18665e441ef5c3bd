//! Small gaps of the live designer, driven through its UI with
//! egui_kittest (headless): an invariant violation's events lead to the
//! event log (issue 5 §8), and a consumer added from the Replay section
//! commits as the run's other groups do (issue 5 §7).

mod common;

use common::{harness, select_node, send, step, wait_for_frame, wait_for_frame_within};
use eda_studio::gui::app::EdaApp;
use eda_studio::gui::panels::dock::DockTab;
use eda_studio::gui::panels::invariants::event_text;
use eda_studio::live::{Command as LiveCommand, Frame};
use eda_studio::model::ArchGraph;
use eda_studio::sim::{
    Example, Fault, GroupParams, Invariant, Scenario, ScheduledFault, VirtualTime,
};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
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

/// The selected components' Mermaid ids.
fn selected(h: &Harness<'_, EdaApp>) -> Vec<String> {
    h.state()
        .canvas
        .selection
        .nodes
        .iter()
        .filter_map(|id| h.state().doc.graph.component(*id).map(|c| c.key.clone()))
        .collect()
}

/// The seed with Consumer1 not idempotent, committing every 50 records,
/// slowed into a backlog and crashed at 0.7 s: it applies re-delivered
/// records again. Runs 1.5 s; the first duplicate reported.
fn duplicates_run(h: &mut Harness<'_, EdaApp>) -> Example {
    let graph: ArchGraph = h.state().doc.graph.clone();
    let mut scenario = Scenario::default_for(&graph);
    scenario.groups.insert(
        "Consumer1".into(),
        GroupParams {
            instances: 2,
            commit_every: 50,
            idempotent: false,
            ..GroupParams::default()
        },
    );
    let at = VirtualTime::from_millis;
    scenario.faults = vec![
        ScheduledFault {
            at: at(300),
            fault: Fault::Slow {
                component: "Consumer1".into(),
                factor: 20.0,
            },
        },
        ScheduledFault {
            at: at(700),
            fault: Fault::Crash {
                group: "Consumer1".into(),
                instance: 0,
                duration_us: Some(200_000),
            },
        },
    ];
    send(
        h,
        LiveCommand::Load {
            graph: Box::new(graph),
            scenario: Box::new(scenario),
        },
    );
    send(h, LiveCommand::StepBy(1_500_000));
    let frame = wait_for_frame(h, "the duplicates", |f| {
        f.now_us >= 1_500_000 && f.invariants.effects_applied_once.is_violated()
    });
    frame
        .invariants
        .examples_of(Invariant::EffectsAppliedOnce)
        .next()
        .cloned()
        .unwrap_or_else(|| panic!("an example: {:?}", frame.invariants))
}

#[test]
fn a_violations_event_opens_the_log_on_it_and_selects_its_group() {
    let mut h = harness();
    let example = duplicates_run(&mut h);
    let e = example.events[0].clone();
    let id = e
        .event_id
        .unwrap_or_else(|| panic!("a retained event: {e:?}"));
    let key = e.key.unwrap_or_else(|| panic!("a retained event: {e:?}"));
    open_tab(&mut h, "Invariants", &example.what);
    assert!(selected(&h).is_empty());

    // The event's line is listed; clicking it opens the log on it.
    let line = event_text(&e);
    let link = h
        .get_all_by_label(&line)
        .next()
        .unwrap_or_else(|| panic!("{line} is listed"));
    link.click();
    h.run_steps(2);
    assert_eq!(h.state().dock.tab, DockTab::Log);
    assert_eq!(selected(&h), [e.group.as_str()], "the group is selected");
    let log = &h.state().dock.log;
    assert_eq!(log.selected, Some(id));
    assert_eq!(log.key_text, key.to_string());
    assert_eq!(log.component.as_deref(), Some(e.group.as_str()));

    // The log finds the event, shows its row and its detail, and says
    // which violation it came from.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        h.run_steps(1);
        let found = h.state().dock.log.came_from.as_ref().and_then(|c| c.found);
        if found == Some(true) && h.query_by_label(&format!("Event #{id}")).is_some() {
            break;
        }
        assert_ne!(found, Some(false), "the event was not found in the log");
        assert!(Instant::now() < deadline, "the log never showed #{id}");
        std::thread::sleep(Duration::from_millis(10));
    }
    let f: std::sync::Arc<Frame> = common::latest_frame(&h);
    let page = f.log.page.as_ref().unwrap_or_else(|| panic!("a page"));
    assert!(
        page.rows.iter().all(|r| r.key == key),
        "filtered to key {key}"
    );
    assert!(page.rows.iter().any(|r| r.event_id == id));
    h.get_by_label(&format!("#{id}"));
    h.get_by_label_contains(&format!(
        "Violation of \"{}\": event #{id}",
        Invariant::EffectsAppliedOnce.title()
    ));
    let trace = f.log.trace.as_ref().unwrap_or_else(|| panic!("a trace"));
    assert_eq!(trace.event_id, id);

    // "Show all events" leaves the violation.
    h.get_by_label("Show all events").click();
    h.run_steps(2);
    assert!(h.state().dock.log.came_from.is_none());
    assert!(h.state().dock.log.key_text.is_empty());
}

#[test]
fn a_consumer_added_from_the_replay_section_commits_on_the_live_timer() {
    let mut h = harness();
    step(&mut h, 10_000_000);
    select_node(&mut h, "Consumer1");
    h.run_steps(3);
    // The panel says how the new group will commit: as the others do.
    h.get_by_label("commits 5 s (live default)");
    h.get_by_label("Add a consumer from offset 0").click();
    h.run_steps(2);
    let new = |f: &Frame| {
        f.groups
            .iter()
            .find(|g| g.group == "Consumer1.new")
            .cloned()
    };
    wait_for_frame_within(
        &mut h,
        Duration::from_secs(20),
        |_| "the new consumer never appeared".into(),
        |f| new(f).is_some(),
    );
    // A second of catching up (about 1,000 records behind): processed,
    // not committed yet — the 5 s timer has not fired.
    let f = step(&mut h, 1_000_000);
    let g = new(&f).unwrap_or_else(|| panic!("added"));
    let processed: u64 = g.partitions.iter().map(|p| p.processed).sum();
    let committed: u64 = g.partitions.iter().map(|p| p.committed).sum();
    assert!(processed > 500, "caught up on {processed}");
    assert!(
        committed < processed,
        "commits on the timer, not after every record: {committed} of {processed}"
    );
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

/// A recording as the designer saved one before `%% eda:live-defaults`
/// existed (schema version 4): the live run's default retention appended
/// to the diagram as a plain line, and groups that commit after every
/// record (live runs had no commit timer then). Made with `simulate` on
/// that text, then given the version 4 layout.
fn pre_mark_recording(dir: &std::path::Path) -> std::path::PathBuf {
    let diagram = dir.join("seed-then.mmd");
    let text = format!(
        "{}\n%% eda:scenario retention = keep-latest 131072\n",
        eda_studio::SEED_DIAGRAM.trim_end()
    );
    std::fs::write(&diagram, text).unwrap_or_else(|e| panic!("{e}"));
    let file = dir.join("then.sqlite");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_eda-studio"))
        .args(["simulate", "--duration", "3s", "--record"])
        .arg(&file)
        .arg(&diagram)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let conn = rusqlite::Connection::open(&file).unwrap_or_else(|e| panic!("{e}"));
    conn.execute_batch("ALTER TABLE runs DROP COLUMN engine_stream; PRAGMA user_version = 4;")
        .unwrap_or_else(|e| panic!("{e}"));
    file
}

/// Issue 5 §9: the scenario tab of a run opened from a recording saved
/// before the live defaults were marked says what the run does, not what
/// a live run of today would: its retention's origin is not recorded (not
/// "from the diagram"), and its groups commit after every record as
/// recorded (not "5 s (live default)").
#[test]
fn a_recording_from_before_the_live_defaults_mark_shows_its_settings_truthfully() {
    let dir = std::env::temp_dir().join(format!("eda-gui-gaps-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let file = pre_mark_recording(&dir);
    let mut h = harness();
    common::file_menu_with_path(&mut h, "Open Run…", &file);
    let (message, error) = status_after(&mut h, "Opening run");
    assert!(!error && message.starts_with("Opened run"), "{message}");
    let f = wait_for_frame(&mut h, "the opened run", |f| f.now_us > 0);

    // What the engine does: a commit after every record.
    for g in &f.groups {
        for p in &g.partitions {
            assert_eq!(
                p.committed + p.lag,
                p.high_watermark,
                "{} commits after every record: {p:?}",
                g.group
            );
        }
    }
    open_tab(&mut h, "Scenario", "Consumer1 commits");
    h.get_by_label("keep-latest 131,072 per partition (origin not recorded)");
    assert!(
        h.query_all_by_label_contains("from the diagram")
            .next()
            .is_none(),
        "nothing says the retention came from the diagram"
    );
    assert!(
        h.query_all_by_label("every record (as recorded)").count() >= 4,
        "every consumer commits as recorded"
    );
    assert!(h.query_by_label("5 s (live default)").is_none());
    // The bus tab says the same of the retention.
    open_tab(
        &mut h,
        "Bus",
        "read or not (a group left behind skips to the start offset) (origin not recorded)",
    );

    // Once the diagram is edited the run is no longer the recording's:
    // a live run of the diagram, with the live default.
    let edited = format!(
        "{}\n%% eda:scenario partitions = 4\n",
        h.state().doc.to_text().trim_end()
    );
    h.state_mut()
        .send(eda_studio::gui::command::Command::SourceEdit(edited));
    h.run_steps(3);
    open_tab(&mut h, "Scenario", "Consumer1 commits");
    let deadline = Instant::now() + Duration::from_secs(10);
    while h.query_all_by_label("5 s (live default)").count() < 4 {
        assert!(Instant::now() < deadline, "the live default after an edit");
        h.run_steps(2);
    }
    let _ = std::fs::remove_dir_all(&dir);
}
