//! The event log tab driven through the UI with egui_kittest, headless:
//! run the seed diagram a little, see its events in the log, filter them
//! by type, select an event and see its deliveries — a poisoned one's
//! failed attempts and dead-lettering among them, and its DLQ replay
//! attempts once the group's DLQ is replayed (none when scrubbed back to
//! before the replay).

mod common;

use common::{harness, select_node, send, step};
use eda_studio::gui::app::EdaApp;
use eda_studio::gui::command::Command;
use eda_studio::gui::panels::dock::DockTab;
use eda_studio::live::{Command as LiveCommand, Frame, TraceState};
use eda_studio::sim::{AttemptOutcome, Fault, ReplayOutcome};
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use std::sync::Arc;

/// Runs UI frames until the latest frame satisfies `pred`, for at most
/// [`common::WAIT`]; a timeout says what the log and its trace were.
fn wait_for(h: &mut Harness<'_, EdaApp>, what: &str, pred: impl Fn(&Frame) -> bool) -> Arc<Frame> {
    let describe = |h: &Harness<'_, EdaApp>| {
        format!(
            "timed out waiting for {what}; selected {:?}; log: {:?}",
            h.state().dock.log.selected,
            h.state().run.frame.as_ref().map(|f| (
                f.log
                    .page
                    .as_ref()
                    .map(|p| (p.matching, p.rows.len(), p.query.clone())),
                f.log
                    .trace
                    .as_ref()
                    .map(|t| (t.event_id, t.state, t.pending.clone()))
            ))
        )
    };
    common::wait_for_frame_within(h, common::WAIT, describe, pred)
}

#[test]
fn the_log_lists_events_filters_them_and_shows_a_poisoned_events_deliveries() {
    let mut h = harness();
    // The seed diagram keeping every event, with one poisoned user event.
    let text = format!(
        "{}%% eda:scenario retention = keep-all\n\
         %% eda:scenario fault poison-next UserRegistered at 100ms\n",
        eda_studio::SEED_DIAGRAM
    );
    h.state_mut().send(Command::OpenText("seed".into(), text));
    h.run_steps(2);
    for step in 1..=8u64 {
        h.get_by_label("+100 ms").click();
        wait_for(&mut h, "a 100 ms step", |f| f.now_us >= step * 100_000);
    }

    // The dock opened on the log: it asks for the newest page and shows it.
    let f = wait_for(&mut h, "the log's first page", |f| {
        f.log.page.as_ref().is_some_and(|p| !p.rows.is_empty())
    });
    let page = f.log.page.clone().unwrap_or_else(|| panic!("a page"));
    assert_eq!(page.total, f.events_produced);
    assert_eq!(page.matching, page.total, "keep-all keeps every event");
    h.run_steps(2);
    let newest = page.rows.last().unwrap_or_else(|| panic!("rows"));
    h.get_by_role_and_label(Role::Button, &format!("#{}", newest.event_id));

    // Filter by type: only UserRegistered events remain.
    h.get_by_role_and_label(Role::ComboBox, "Type").click();
    h.run_steps(1);
    // The popup's items take clicks from its second frame on.
    h.run_steps(2);
    h.get_by_role_and_label(Role::Button, "UserRegistered")
        .click();
    let f = wait_for(&mut h, "the type filter", |f| {
        f.log.page.as_ref().is_some_and(|p| {
            p.query.filter.event_type.as_deref() == Some("UserRegistered") && !p.rows.is_empty()
        })
    });
    let page = f.log.page.clone().unwrap_or_else(|| panic!("a page"));
    assert!(
        page.matching < page.total,
        "{} of {}",
        page.matching,
        page.total
    );
    assert!(page.rows.iter().all(|r| r.event_type == "UserRegistered"));

    // Stop following the newest and narrow the time: the poisoned event
    // (the first user event after 100 ms) is among the few rows left.
    h.get_by_label("Follow newest").click();
    h.run_steps(1);
    for (field, value) in [("From", "0.1"), ("To", "0.16")] {
        h.get_by_role_and_label(Role::TextInput, field).click();
        h.run_steps(1);
        h.get_by_role_and_label(Role::TextInput, field)
            .type_text(value);
        h.run_steps(1);
    }
    let f = wait_for(&mut h, "the time filter", |f| {
        f.log.page.as_ref().is_some_and(|p| {
            p.query.filter.to_us == Some(160_000) && p.rows.iter().any(|r| r.poisoned)
        })
    });
    let page = f.log.page.clone().unwrap_or_else(|| panic!("a page"));
    let poisoned = page
        .rows
        .iter()
        .find(|r| r.poisoned)
        .unwrap_or_else(|| panic!("a poisoned row"));
    h.run_steps(2);
    h.get_by_role_and_label(Role::Button, &format!("#{}", poisoned.event_id))
        .click();
    let f = wait_for(&mut h, "the poisoned event's trace", |f| {
        f.log
            .trace
            .as_ref()
            .is_some_and(|t| t.event_id == poisoned.event_id && t.state == TraceState::Complete)
    });
    let trace = f.log.trace.clone().unwrap_or_else(|| panic!("a trace"));
    assert!(trace.dead_lettered_by.contains(&"Consumer2".to_string()));
    assert!(
        trace
            .attempts
            .iter()
            .any(|a| matches!(a.outcome, AttemptOutcome::Failed { .. }))
    );
    // The detail pane lists the deliveries; the canvas draws the path.
    h.run_steps(2);
    h.get_by_label("Deliveries");
    assert!(h.query_all_by_label("dead-lettered").count() >= 1);
    assert!(
        h.query_all_by_label_contains("failed, retry at").count() >= 1,
        "failed attempts show when they are retried"
    );
    assert!(
        h.query_by_label(&format!("Event #{}", poisoned.event_id))
            .is_some()
    );

    // A healthy event: every group processed it.
    let healthy = page
        .rows
        .iter()
        .find(|r| !r.poisoned)
        .unwrap_or_else(|| panic!("a healthy row"));
    h.get_by_role_and_label(Role::Button, &format!("#{}", healthy.event_id))
        .click();
    let f = wait_for(&mut h, "the healthy event's trace", |f| {
        f.log
            .trace
            .as_ref()
            .is_some_and(|t| t.event_id == healthy.event_id && t.state == TraceState::Complete)
    });
    let trace = f.log.trace.clone().unwrap_or_else(|| panic!("a trace"));
    assert!(trace.pending.is_empty());
    assert!(
        trace.subscribers.iter().all(|g| trace
            .attempts
            .iter()
            .any(|a| &a.group == g && a.outcome == AttemptOutcome::Processed)),
        "{trace:?}"
    );
    h.run_steps(2);
    assert!(h.query_all_by_label("processed").count() >= trace.subscribers.len());
}

#[test]
fn a_dead_lettered_events_dlq_replay_is_listed_with_its_deliveries() {
    let mut h = harness();
    let text = format!(
        "{}%% eda:scenario fault poison-next UserRegistered at 100ms\n",
        eda_studio::SEED_DIAGRAM
    );
    h.state_mut().send(Command::OpenText("seed".into(), text));
    h.run_steps(2);
    step(&mut h, 1_000_000);

    // The dead letter, as Consumer2's inspector lists it.
    select_node(&mut h, "Consumer2");
    let f = wait_for(&mut h, "Consumer2's dead letter", |f| {
        f.detail
            .as_ref()
            .and_then(|d| d.table("Dead-letter queue"))
            .is_some_and(|t| !t.rows.is_empty())
    });
    let detail = f.detail.as_ref().unwrap_or_else(|| panic!("detail"));
    let dlq = detail
        .table("Dead-letter queue")
        .unwrap_or_else(|| panic!("a DLQ table"));
    let col = dlq.column("event").unwrap_or_else(|| panic!("event"));
    let id: u64 = dlq.rows[0][col].parse().unwrap_or_else(|e| panic!("{e}"));
    let asked_us = f.now_us;
    send(
        &mut h,
        LiveCommand::Fault(Fault::ReplayDlq {
            group: "Consumer2".into(),
        }),
    );
    step(&mut h, 500_000);

    // The event's detail: its deliveries, then the replay's attempt.
    h.state_mut().dock.tab = DockTab::Log;
    h.state_mut().dock.log.selected = Some(id);
    let f = wait_for(&mut h, "the trace with the replay", |f| {
        f.log.trace.as_ref().is_some_and(|t| {
            t.event_id == id && t.state == TraceState::Complete && !t.replays.is_empty()
        })
    });
    let trace = f.log.trace.clone().unwrap_or_else(|| panic!("a trace"));
    assert!(trace.dead_lettered_by.contains(&"Consumer2".to_string()));
    let [replay] = trace.replays.as_slice() else {
        panic!("one replay attempt: {:?}", trace.replays)
    };
    assert_eq!(replay.group, "Consumer2");
    assert_eq!(replay.attempt.outcome, ReplayOutcome::Applied);
    assert!(replay.attempt.start.as_us() >= asked_us);
    h.run_steps(3);
    h.get_by_label("DLQ replay attempts");
    h.get_by_label("replayed: applied");
    assert!(h.query_all_by_label("dead-lettered").count() >= 1);

    // Scrubbed back to before the replay: dead-lettered, not replayed yet.
    send(&mut h, LiveCommand::Seek(asked_us - 1));
    let f = wait_for(&mut h, "the moment before the replay", |f| {
        f.viewing_past
            && f.now_us == asked_us - 1
            && f.log.trace.as_ref().is_some_and(|t| t.event_id == id)
    });
    let trace = f.log.trace.clone().unwrap_or_else(|| panic!("a trace"));
    assert!(trace.replays.is_empty(), "{:?}", trace.replays);
    assert!(trace.dead_lettered_by.contains(&"Consumer2".to_string()));
    h.run_steps(3);
    assert!(h.query_by_label("DLQ replay attempts").is_none());
    assert!(h.query_all_by_label("dead-lettered").count() >= 1);
}
