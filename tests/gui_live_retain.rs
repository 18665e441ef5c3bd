//! Issue 5 §7, "add a new consumer mid-run and watch it catch up from
//! offset 0", driven through the designer's UI with egui_kittest: minutes
//! into a live run of the seed diagram the Replay section adds a consumer,
//! which starts at offset 0 (the live run's retention kept the whole run)
//! and whose lag then falls to about 0; the bus tab says what it retains
//! and that it is the live default. A diagram that writes `retention =
//! until-consumed` runs with it, and the scenario and bus tabs say so.

mod common;

use common::{harness, select_node, step, wait_for_frame_within};
use eda_studio::gui::command::Command;
use eda_studio::gui::panels::bus_view::retention_text;
use eda_studio::gui::panels::dock::DockTab;
use eda_studio::sim::{Retention, RetentionSource};
use egui_kittest::kittest::Queryable as _;
use std::time::Duration;

fn lag(f: &eda_studio::live::Frame, group: &str) -> Option<u64> {
    f.groups
        .iter()
        .find(|g| g.group == group)
        .map(|g| g.partitions.iter().map(|p| p.lag).sum())
}

#[test]
fn a_consumer_added_minutes_into_a_run_starts_at_offset_0_and_catches_up() {
    let mut h = harness();
    // Four minutes of the seed diagram.
    let f = step(&mut h, 240_000_000);
    let Retention::KeepLatest { records } = f.retention else {
        panic!("a live run keeps the latest records: {:?}", f.retention)
    };
    assert!(records >= 100_000, "{records}");

    select_node(&mut h, "Consumer1");
    h.run_steps(3);
    h.get_by_label("Add a consumer from offset 0").click();
    h.run_steps(2);
    let f = wait_for_frame_within(
        &mut h,
        Duration::from_secs(20),
        |_| "the new consumer never appeared".into(),
        |f| lag(f, "Consumer1.new").is_some(),
    );
    let group = f
        .groups
        .iter()
        .find(|g| g.group == "Consumer1.new")
        .unwrap_or_else(|| panic!("added"));
    assert!(
        group.partitions.iter().all(|p| p.committed == 0),
        "starts at offset 0: {:?}",
        group.partitions
    );
    // Consumer1 reads OrderCreated: 4 minutes at 100/s behind it.
    let behind = lag(&f, "Consumer1.new").unwrap_or(0);
    assert!(behind > 20_000, "{behind}");

    // A virtual minute later it has caught up.
    let f = step(&mut h, 60_000_000);
    let now = lag(&f, "Consumer1.new").unwrap_or(u64::MAX);
    assert!(now < 20, "caught up: lag {now} (was {behind})");

    // The bus tab says what the bus keeps.
    let tab = h
        .get_all_by_label("Bus")
        .last()
        .unwrap_or_else(|| panic!("the Bus tab"));
    tab.click();
    h.run_steps(3);
    h.get_by_label(&format!(
        "{} (live default)",
        retention_text(Retention::KeepLatest { records })
    ));
}

#[test]
fn a_diagram_that_writes_until_consumed_runs_with_it_and_says_so() {
    let mut h = harness();
    let line = "%% eda:scenario retention = until-consumed";
    let text = format!("{}{line}\n", eda_studio::SEED_DIAGRAM);
    h.state_mut()
        .send(Command::OpenText("explicit".into(), text));
    h.run_steps(2);
    // Past the first of the live run's commits, 5 s in.
    let f = step(&mut h, 6_000_000);
    assert_eq!(
        (f.retention, f.retention_source),
        (Retention::UntilConsumed, RetentionSource::Diagram)
    );
    // Until-consumed at work: what every group committed is gone.
    let dropped: u64 = f
        .flow
        .topics
        .iter()
        .flat_map(|t| &t.partitions)
        .map(|p| p.low)
        .sum();
    assert!(
        dropped > 0,
        "committed records dropped: {:?}",
        f.flow.topics
    );

    h.state_mut().dock.tab = DockTab::Scenario;
    h.run_steps(3);
    h.get_by_label("until-consumed (from the diagram)");
    h.state_mut().dock.tab = DockTab::Bus;
    h.run_steps(3);
    h.get_by_label(&format!(
        "{} (from the diagram)",
        retention_text(Retention::UntilConsumed)
    ));
    assert!(
        h.state().doc.to_text().contains(line),
        "the document keeps its line"
    );
}
