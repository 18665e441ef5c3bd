//! Faults, charts and the scenario panel driven through the UI with
//! egui_kittest: right-click the Inventory Consumer of the seed diagram,
//! crash it and see its lag badge and lag chart rise, restart it and see
//! the lag drain; click a chart to go back in time; edit a producer's rate
//! in the Scenario tab, apply it, and find the `%% eda:scenario` line in
//! the document's text.

mod common;

use common::{center, click_at, harness, right_click_on, step};
use eda_studio::gui::app::EdaApp;
use eda_studio::gui::command::Command;
use eda_studio::gui::panels::dock::DockTab;
use eda_studio::live::{ChartKind, Frame};
use egui::{Key, Modifiers};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Runs UI frames until the latest simulation frame satisfies `pred` (20 s at most).
fn wait_for_frame(
    h: &mut Harness<'_, EdaApp>,
    what: &str,
    pred: impl Fn(&Frame) -> bool,
) -> Arc<Frame> {
    common::wait_for_frame_up_to(h, Duration::from_secs(20), what, pred)
}

fn last_lag(f: &Frame) -> f64 {
    f.charts
        .as_ref()
        .and_then(|c| c.chart(ChartKind::Lag).next())
        .and_then(|l| l.points.last())
        .map_or(-1.0, |p| p[1])
}

fn badge(h: &Harness<'_, EdaApp>, key: &str) -> String {
    h.state()
        .canvas
        .badges
        .get(key)
        .cloned()
        .unwrap_or_default()
}

#[test]
fn crash_from_the_menu_raises_the_lag_restart_drains_it_and_charts_seek() {
    let mut h = harness();
    step(&mut h, 2_000_000);
    // Select the Inventory Consumer: the charts follow the selection.
    h.run_steps(3);
    let at = center(&h, "Consumer1");
    click_at(&mut h, at);
    let f = step(&mut h, 100_000);
    assert!(last_lag(&f) < 50.0, "healthy: {}", last_lag(&f));

    right_click_on(&mut h, "Consumer1");
    h.get_by_label("Crash instance 0").click();
    h.run_steps(2);
    let f = wait_for_frame(&mut h, "the crash", |f| {
        f.charts
            .as_ref()
            .and_then(|c| c.instances_of("Consumer1"))
            .is_some_and(|i| i.down() == 1)
    });
    let crashed_at = f.now_us;
    let f = step(&mut h, 3_000_000);
    let charts = f.charts.as_ref().unwrap_or_else(|| panic!("charts"));
    assert_eq!(charts.component.as_deref(), Some("Consumer1"));
    let lag = last_lag(&f);
    assert!(lag > 800.0, "the lag series rises while crashed: {lag}");
    let text = badge(&h, "Consumer1");
    assert!(text.contains("1 down"), "{text}");
    let lag_badge = f.component("Consumer1").and_then(|c| c.lag).unwrap_or(0);
    assert!(lag_badge > 800, "{text}");
    assert!(text.contains(&format!("lag {lag_badge}")), "{text}");

    right_click_on(&mut h, "Consumer1");
    h.get_by_label("Restart instance 0").click();
    h.run_steps(2);
    wait_for_frame(&mut h, "the restart", |f| {
        f.charts
            .as_ref()
            .and_then(|c| c.instances_of("Consumer1"))
            .is_some_and(|i| i.down() == 0)
    });
    let f = step(&mut h, 5_000_000);
    assert!(last_lag(&f) < 50.0, "drained: {}", last_lag(&f));
    let text = badge(&h, "Consumer1");
    assert!(!text.contains("down"), "{text}");

    // The Charts tab draws the lag chart; a click on it seeks there.
    h.get_by_label("Charts").click();
    h.run_steps(3);
    h.get_by_label("Charts of Inventory Consumer");
    let rect = h
        .state()
        .dock
        .charts
        .plot_rects
        .iter()
        .find(|(k, _)| *k == ChartKind::Lag)
        .map(|(_, r)| *r)
        .unwrap_or_else(|| panic!("a lag chart"));
    click_at(&mut h, rect.center());
    let past = wait_for_frame(&mut h, "the seek", |f| f.viewing_past);
    let head = past.head_us as f64;
    let asked = h.state().dock.charts.last_seek_us.unwrap_or(0);
    assert_eq!(past.now_us, asked);
    // The middle of the chart is near the middle of the run.
    assert!(
        (past.now_us as f64 / head - 0.5).abs() < 0.2,
        "{} of {head}",
        past.now_us
    );
    assert!(crashed_at > 0);
}

#[test]
fn a_rate_edited_in_the_scenario_tab_is_applied_into_the_document() {
    let mut h = harness();
    step(&mut h, 200_000);
    h.get_by_label("Scenario").click();
    let deadline = Instant::now() + Duration::from_secs(10);
    let spin = egui::accesskit::Role::SpinButton;
    while h
        .query_by_role_and_label(spin, "Producer1 · OrderCreated")
        .is_none()
    {
        assert!(
            Instant::now() < deadline,
            "no rate field in the Scenario tab"
        );
        // A click that landed while the dock was still growing into place
        // missed the tab: click it again.
        if h.state().dock.tab != DockTab::Scenario {
            h.get_by_label("Scenario").click();
        }
        h.run_steps(1);
        std::thread::sleep(Duration::from_millis(10));
    }
    h.get_by_role_and_label(spin, "Producer1 · OrderCreated")
        .click();
    h.run_steps(2);
    h.key_press_modifiers(Modifiers::COMMAND, Key::A);
    h.run_steps(1);
    // The value is now a text field with the focus: type over it.
    h.event(egui::Event::Text("250".into()));
    h.run_steps(1);
    h.key_press(Key::Enter);
    h.run_steps(3);
    let line = "%% eda:scenario Producer1.rate = 250/s poisson";
    let graph = h.state().doc.graph.clone();
    let edited = h
        .state()
        .dock
        .scenario
        .working
        .as_ref()
        .map(|s| s.to_lines(&graph))
        .unwrap_or_default();
    assert!(edited.iter().any(|l| l == line), "{edited:?}");
    assert!(!h.state().doc.to_text().contains(line), "not before Apply");
    h.get_by_label("Apply").click();
    h.run_steps(3);
    let text = h.state().doc.to_text();
    assert!(text.contains(line), "{text}");
    // The run reloads with it (back to time zero): Producer1 publishes
    // at the new rate.
    wait_for_frame(&mut h, "the reload", |f| f.now_us == 0);
    let f = step(&mut h, 4_000_000);
    let out = f.component("Producer1").map_or(0, |c| c.events_out);
    assert!((700..1300).contains(&out), "≈ 250/s for 4 s: {out}");
    // One undo step takes it back out.
    h.state_mut().send(Command::Undo);
    h.run_steps(2);
    assert!(!h.state().doc.to_text().contains(line));
}
