//! The inspector's live tables and the invariants tab, driven through the
//! designer's UI with egui_kittest (headless): select a component during
//! a run and read its state; replay a dead-letter queue; see the checks.

mod common;

use common::{harness, select_node, send, type_into_spin, wait_for_frame};
use eda_studio::live::Command as LiveCommand;
use eda_studio::sim::{Fault, INITIAL_STOCK, Invariant};
use egui_kittest::kittest::Queryable as _;

#[test]
fn selecting_the_inventory_db_during_a_run_shows_its_stock_table() {
    let mut h = harness();
    // Run one virtual second, then look at the inventory.
    send(&mut h, LiveCommand::StepBy(1_000_000));
    wait_for_frame(&mut h, "one second", |f| f.now_us >= 1_000_000);
    select_node(&mut h, "InvDB");
    let frame = wait_for_frame(&mut h, "the InvDB detail", |f| {
        f.detail.as_ref().is_some_and(|d| d.key == "InvDB")
    });
    h.run_steps(2);
    let detail = frame.detail.as_ref().unwrap_or_else(|| panic!("detail"));
    let stock = detail
        .table("Stock per sku (lowest first)")
        .unwrap_or_else(|| panic!("a stock table: {detail:?}"));
    assert!(stock.total > 0, "orders took stock");
    // The table is on screen: its title with the count, its columns, and
    // the lowest stock's cell.
    let title = format!("Stock per sku (lowest first) ({})", stock.total);
    let title = if stock.total > stock.rows.len() as u64 {
        format!(
            "Stock per sku (lowest first) ({} of {})",
            stock.rows.len(),
            stock.total
        )
    } else {
        title
    };
    h.get_by_label(&title);
    h.get_by_label("sku");
    let lowest = &stock.rows[0];
    let stock_col = stock
        .column("stock")
        .unwrap_or_else(|| panic!("stock column"));
    let value: i64 = lowest[stock_col].parse().unwrap_or_else(|e| panic!("{e}"));
    assert!(value < INITIAL_STOCK, "the lowest sku lost stock");
    assert!(
        !h.get_all_by_label(&lowest[stock_col])
            .collect::<Vec<_>>()
            .is_empty(),
        "the lowest stock is shown"
    );
    h.get_by_label("throughput");
    h.get_by_label("events in / out");

    // The invariants tab lists every check with its outcome.
    h.get_by_label("Invariants").click();
    h.run_steps(2);
    for inv in Invariant::ALL {
        h.get_by_label(inv.title());
    }
    assert!(!h.get_all_by_label("held").collect::<Vec<_>>().is_empty());
    assert!(
        !h.get_all_by_label("not checked")
            .collect::<Vec<_>>()
            .is_empty()
    );
}

#[test]
fn replay_dlq_button_empties_a_groups_dead_letter_queue() {
    let mut h = harness();
    let poison = Fault::PoisonType {
        topic: "OrderCreated".into(),
    };
    send(&mut h, LiveCommand::Fault(poison));
    send(&mut h, LiveCommand::StepBy(500_000));
    send(
        &mut h,
        LiveCommand::Fault(Fault::CurePoisonType {
            topic: "OrderCreated".into(),
        }),
    );
    wait_for_frame(&mut h, "half a second poisoned", |f| f.now_us >= 500_000);
    select_node(&mut h, "Consumer1");
    let frame = wait_for_frame(&mut h, "Consumer1 with dead letters", |f| {
        f.detail
            .as_ref()
            .is_some_and(|d| d.key == "Consumer1" && d.can_replay_dlq)
    });
    let waiting = frame
        .detail
        .as_ref()
        .and_then(|d| d.metrics.dlq_waiting)
        .unwrap_or(0);
    assert!(waiting > 0, "orders were dead-lettered");
    h.run_steps(2);
    assert!(
        h.query_all_by_label_contains("Dead-letter queue")
            .next()
            .is_some(),
        "the DLQ table is shown"
    );
    assert!(
        h.query_all_by_label_contains("p99").next().is_some(),
        "latency percentiles are shown"
    );
    // The badge alerts while letters wait.
    let badge = h
        .state()
        .canvas
        .badges
        .get("Consumer1")
        .cloned()
        .unwrap_or_default();
    assert!(badge.contains(&format!("DLQ {waiting}")), "{badge}");
    assert!(h.state().canvas.overlay.alerts.contains("Consumer1"));
    h.get_by_label("Replay DLQ").click();
    // The replay is the group's work over virtual time: at the moment it
    // is asked for, the letters are still waiting (and being replayed).
    let asked = wait_for_frame(&mut h, "the replay under way", |f| {
        f.detail
            .as_ref()
            .is_some_and(|d| d.key == "Consumer1" && !d.can_replay_dlq)
    });
    let still = asked.detail.as_ref().and_then(|d| d.metrics.dlq_waiting);
    assert_eq!(still, Some(waiting), "nothing replayed in no time");
    // A live run's groups commit every 5 s of virtual time: the replayed
    // letters leave the DLQ at the group's next commit (at 5 s here).
    send(&mut h, LiveCommand::StepBy(5_000_000));
    let after = wait_for_frame(&mut h, "the DLQ replayed", |f| {
        f.detail
            .as_ref()
            .is_some_and(|d| d.key == "Consumer1" && d.metrics.dlq_waiting == Some(0))
    });
    let detail = after.detail.as_ref().unwrap_or_else(|| panic!("detail"));
    assert!(!detail.can_replay_dlq);
    assert!(
        after.faults.iter().any(|r| r.fault
            == Fault::ReplayDlq {
                group: "Consumer1".into()
            }
            && r.refused.is_none()),
        "the replay is in the fault log: {:?}",
        after.faults
    );
    h.run_steps(2);
    assert!(
        h.query_by_label("Replay DLQ").is_none(),
        "nothing left to replay"
    );
    // Emptied, and with the failures out of the sparkline's window, the
    // badge is quiet: it says how things are now, not what happened once.
    common::step(&mut h, 8_000_000);
    let badge = h
        .state()
        .canvas
        .badges
        .get("Consumer1")
        .cloned()
        .unwrap_or_default();
    assert!(!badge.contains("DLQ") && !badge.contains("fail"), "{badge}");
    assert!(
        !h.state().canvas.overlay.alerts.contains("Consumer1"),
        "{badge} alerts"
    );
}

#[test]
fn a_duplicates_violation_is_listed_with_its_events_and_selects_the_group() {
    use eda_studio::model::ArchGraph;
    use eda_studio::sim::{GroupParams, Scenario, VirtualTime};
    let mut h = harness();
    // Consumer1 without idempotency, committing every 50 records, slowed
    // into a backlog and crashed: it applies re-delivered records again.
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
        eda_studio::sim::ScheduledFault {
            at: at(300),
            fault: Fault::Slow {
                component: "Consumer1".into(),
                factor: 20.0,
            },
        },
        eda_studio::sim::ScheduledFault {
            at: at(700),
            fault: Fault::Crash {
                group: "Consumer1".into(),
                instance: 0,
                duration_us: Some(200_000),
            },
        },
    ];
    send(
        &mut h,
        LiveCommand::Load {
            graph: Box::new(graph),
            scenario: Box::new(scenario),
        },
    );
    send(&mut h, LiveCommand::StepBy(1_500_000));
    let example = wait_for_duplicates(&mut h);
    assert_eq!(example.events[0].group, "Consumer1");

    // Let the dock, opened by the run, settle before clicking its tab.
    h.run_steps(3);
    h.get_by_label("Invariants").click();
    h.run_steps(2);
    let violation = || egui::accesskit::Role::Button;
    h.get_by_role_and_label(violation(), &example.what);
    // The event involved is listed under it.
    let e = &example.events[0];
    let place = format!("{}/{}@{}", e.topic, e.partition, e.offset);
    assert!(
        h.query_all_by_label_contains(&place).next().is_some(),
        "{place} is listed"
    );
    assert!(h.state().canvas.selection.nodes.is_empty());
    h.get_by_role_and_label(violation(), &example.what).click();
    h.run_steps(2);
    let selected: Vec<String> = h
        .state()
        .canvas
        .selection
        .nodes
        .iter()
        .filter_map(|id| h.state().doc.graph.component(*id).map(|c| c.key.clone()))
        .collect();
    assert_eq!(selected, ["Consumer1"], "the group involved is selected");
}

/// Clicks the dock tab `name` until it shows (a click that lands while
/// the dock is still growing into place misses it).
fn open_tab(
    h: &mut egui_kittest::Harness<'_, eda_studio::gui::app::EdaApp>,
    name: &str,
    shows: &str,
) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while h.query_all_by_label_contains(shows).next().is_none() {
        assert!(
            std::time::Instant::now() < deadline,
            "the {name} tab never showed {shows}"
        );
        if let Some(tab) = h.query_all_by_label(name).last() {
            tab.click();
        }
        h.run_steps(2);
    }
}

#[test]
fn duplicates_set_up_in_the_scenario_tab_show_in_the_invariants_tab_after_a_crash() {
    use common::{right_click_on, step};
    use egui::accesskit::{Role, Toggled};
    use egui_kittest::kittest::NodeT as _;
    let mut h = harness();
    step(&mut h, 200_000);
    // Consumer1 not idempotent (the default) and committing every 50
    // records, set up in the Scenario tab and applied.
    open_tab(&mut h, "Scenario", "Consumer1 commits");
    h.get_by_label("Consumer1 commits").click();
    h.run_steps(2);
    h.get_by_label("by records").click();
    h.run_steps(3);
    let idempotent = h.get_by_label("Consumer1 idempotent");
    if idempotent.accesskit_node().toggled() == Some(Toggled::True) {
        idempotent.click();
        h.run_steps(2);
    }
    assert_ne!(
        h.get_by_label("Consumer1 idempotent")
            .accesskit_node()
            .toggled(),
        Some(Toggled::True),
        "idempotency off"
    );
    type_into_spin(&mut h, "Consumer1 commit every", "50");
    h.get_by_label("Apply").click();
    h.run_steps(3);
    let text = h.state().doc.to_text();
    assert!(
        text.contains("%% eda:scenario Consumer1.commit-every = 50"),
        "saved into the diagram: {text}"
    );
    wait_for_frame(&mut h, "the reload", |f| f.now_us == 0);
    step(&mut h, 2_000_000);
    assert!(
        !latest_violated(&h),
        "no duplicates before the crash: {:?}",
        common::latest_frame(&h).invariants
    );

    // Consumer1 slowed (the command the fault menu's "Slow down" sends)
    // so it falls behind: a consumer that keeps up commits each time it
    // catches up, so a crash would find nothing uncommitted.
    send(
        &mut h,
        LiveCommand::Fault(Fault::Slow {
            component: "Consumer1".into(),
            factor: 50.0,
        }),
    );
    step(&mut h, 1_000_000);
    // Crash Consumer1 from its right-click menu, then restart it: the
    // records it processed since its last commit come again.
    right_click_on(&mut h, "Consumer1");
    h.get_by_label("Crash instance 0").click();
    h.run_steps(2);
    step(&mut h, 500_000);
    right_click_on(&mut h, "Consumer1");
    h.get_by_label("Restart instance 0").click();
    h.run_steps(2);
    step(&mut h, 1_500_000);
    let example = wait_for_duplicates(&mut h);
    assert_eq!(example.events[0].group, "Consumer1");

    // The Invariants tab lists it, highlighted, with the events involved.
    h.key_press(egui::Key::Escape);
    open_tab(&mut h, "Invariants", &example.what);
    h.get_by_role_and_label(Role::Button, &example.what);
    let e = &example.events[0];
    let place = format!("{}/{}@{}", e.topic, e.partition, e.offset);
    assert!(
        h.query_all_by_label_contains(&place).next().is_some(),
        "{place} is listed"
    );
}

/// Waits for the duplicates invariant to be violated; its first example.
fn wait_for_duplicates(
    h: &mut egui_kittest::Harness<'_, eda_studio::gui::app::EdaApp>,
) -> eda_studio::sim::Example {
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

fn latest_violated(h: &egui_kittest::Harness<'_, eda_studio::gui::app::EdaApp>) -> bool {
    common::latest_frame(h)
        .invariants
        .effects_applied_once
        .is_violated()
}
