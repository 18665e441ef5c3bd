//! The fault menu's "fail X% of deliveries" aimed at the right-clicked
//! group, and the charts' lag per partition of the selected group, driven
//! through the UI with egui_kittest on the seed diagram.

mod common;

use common::{harness, right_click_on, select_node, step, wait_for_frame};
use eda_studio::live::{ChartKind, Frame};
use eda_studio::sim::Fault;
use egui_kittest::kittest::Queryable as _;

fn failures(f: &Frame, key: &str) -> u64 {
    f.component(key)
        .and_then(|c| c.delivery)
        .map_or(0, |d| d.failures)
}

#[test]
fn fail_deliveries_from_the_menu_hits_only_that_group_and_its_partitions_are_charted() {
    let mut h = harness();
    step(&mut h, 1_000_000);
    select_node(&mut h, "Consumer1");
    let f = step(&mut h, 200_000);
    let charts = f.charts.as_ref().expect("charts");
    assert_eq!(charts.component.as_deref(), Some("Consumer1"));
    let lines = charts.chart(ChartKind::PartitionLag).count();
    let partitions = f
        .groups
        .iter()
        .find(|g| g.group == "Consumer1")
        .map_or(0, |g| g.partitions.len());
    assert!(
        lines >= 2 && lines == partitions.min(12),
        "{lines} of {partitions}"
    );

    right_click_on(&mut h, "Consumer1");
    // A submenu's button reads "Fail deliveries ⏵".
    h.get_by_label_contains("Fail deliveries").hover();
    h.run_steps(3);
    h.get_by_label("Fail").click();
    h.run_steps(2);
    let f = wait_for_frame(&mut h, "the fault", |f| {
        f.faults.iter().any(|r| {
            r.fault
                == Fault::FailGroup {
                    component: "Consumer1".into(),
                    percent: 10.0,
                }
        })
    });
    assert!(
        f.faults.iter().all(|r| r.refused.is_none()),
        "{:?}",
        f.faults
    );
    let f = step(&mut h, 2_000_000);
    assert!(
        failures(&f, "Consumer1") > 10,
        "{}",
        failures(&f, "Consumer1")
    );
    for c in f.components.iter().filter(|c| c.delivery.is_some()) {
        if c.key != "Consumer1" {
            assert_eq!(failures(&f, &c.key), 0, "{} failed too", c.key);
        }
    }
}
