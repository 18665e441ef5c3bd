//! How the window's parts keep their places while a run goes: the canvas
//! after it moved on the screen without any input (the nodes must be drawn
//! where the badges, the dots and the hit-testing put them), the inspector
//! and the run dock keeping their size whatever they show, and the
//! projection rebuild window opening clear of the run toolbar.

use eda_studio::gui::app::EdaApp;
use eda_studio::gui::command::Command;
use eda_studio::gui::panels::dock::DockTab;
use eda_studio::live::Command as LiveCommand;
use egui::{Pos2, Shape};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;

mod common;

use common::{harness, select_node, send, step, wait_for_frame};

/// Where the label `text` was painted in the last frame (its centre).
fn painted_label(h: &Harness<'_, EdaApp>, text: &str) -> Option<Pos2> {
    fn find(shape: &Shape, text: &str) -> Option<Pos2> {
        match shape {
            Shape::Text(t) if t.galley.text() == text => Some(t.visual_bounding_rect().center()),
            Shape::Vec(shapes) => shapes.iter().find_map(|s| find(s, text)),
            _ => None,
        }
    }
    h.output().shapes.iter().find_map(|c| find(&c.shape, text))
}

#[test]
fn nodes_stay_under_their_badges_when_the_canvas_moves_without_input() {
    let mut h = harness();
    let before = h.state().canvas.rect;
    // The first step of a run shows the time slider above the canvas.
    h.state_mut().send(Command::Sim(LiveCommand::Pause));
    step(&mut h, 100_000);
    h.run_steps(3);
    let after = h.state().canvas.rect;
    assert!(
        after.min.y > before.min.y + 5.0,
        "the canvas moved down: {before:?} -> {after:?}"
    );
    let expected = h
        .state()
        .node_screen_rect("Producer1")
        .unwrap_or_else(|| panic!("Producer1 is drawn"))
        .center();
    let painted = painted_label(&h, "Order Service")
        .unwrap_or_else(|| panic!("the label Order Service is painted"));
    assert!(
        (painted - expected).length() < 3.0,
        "Order Service painted at {painted:?}, its box is centred at {expected:?}"
    );
}

#[test]
fn the_inspector_and_the_dock_keep_their_size_whatever_they_show() {
    let mut h = harness();
    h.state_mut().ui.show_dock = Some(true);
    h.state_mut().dock.tab = DockTab::Invariants;
    h.run_steps(3);
    let canvas = h.state().canvas.rect;
    let screen = h.ctx.content_rect();
    // The dock shows one line ("Run the simulation …") and keeps its
    // default height all the same.
    assert!(
        screen.max.y - canvas.max.y > 220.0,
        "the dock is {} high",
        screen.max.y - canvas.max.y
    );
    // A connection's inspector is narrower than the panel: the panel keeps
    // its width, so the canvas does not move.
    let edge = h
        .state()
        .doc
        .graph
        .connections()
        .next()
        .map(|c| c.id)
        .unwrap_or_else(|| panic!("a connection"));
    h.state_mut().canvas.selection.edges.insert(edge);
    h.run_steps(4);
    let with_edge = h.state().canvas.rect;
    assert!(
        (with_edge.max.x - canvas.max.x).abs() < 1.0,
        "the inspector's edge moved from {} to {}",
        canvas.max.x,
        with_edge.max.x
    );
    h.state_mut().dock.tab = DockTab::Log;
    h.run_steps(3);
    h.state_mut().dock.tab = DockTab::Invariants;
    h.run_steps(3);
    assert!(
        (h.state().canvas.rect.max.y - with_edge.max.y).abs() < 1.0,
        "switching tabs moved the canvas's bottom from {} to {}",
        with_edge.max.y,
        h.state().canvas.rect.max.y
    );
}

#[test]
fn the_rebuild_window_opens_clear_of_the_run_toolbar() {
    let mut h = harness();
    send(&mut h, LiveCommand::StepBy(1_000_000));
    wait_for_frame(&mut h, "1 s", |f| f.now_us >= 1_000_000);
    select_node(&mut h, "Consumer1");
    wait_for_frame(&mut h, "the Consumer1 detail", |f| {
        f.detail.as_ref().is_some_and(|d| d.key == "Consumer1")
    });
    h.run_steps(2);
    let toolbar = h.get_by_label("Reset").rect();
    h.get_by_label("Rebuild projection").click();
    wait_for_frame(&mut h, "the rebuild", |f| f.replay.rebuilds == 1);
    h.run_steps(3);
    let title = h.get_by_label("Projection rebuild").rect();
    assert!(
        title.min.y > toolbar.max.y,
        "the window's title at {title:?} is below the toolbar's Reset button at {toolbar:?}"
    );
}

#[test]
fn badges_keep_clear_of_the_legend() {
    let mut h = harness();
    h.state_mut().send(Command::Sim(LiveCommand::Pause));
    step(&mut h, 2_000_000);
    h.run_steps(3);
    let legend = *h
        .state()
        .canvas
        .overlay
        .avoided
        .first()
        .unwrap_or_else(|| panic!("the legend is shown"));
    // Pan the view so that the Inventory DB sits right over the legend:
    // the place under it, where its badge goes first, is the legend's.
    let node = h
        .state()
        .node_screen_rect("InvDB")
        .unwrap_or_else(|| panic!("InvDB is drawn"));
    let shift = egui::vec2(
        legend.center().x - node.center().x,
        legend.min.y + 4.0 - node.max.y,
    );
    h.state_mut().canvas.pan += shift;
    h.run_steps(3);
    let node = h
        .state()
        .node_screen_rect("InvDB")
        .unwrap_or_else(|| panic!("InvDB is drawn"));
    assert!(
        node.max.y < legend.min.y + 6.0 && node.max.y > legend.min.y,
        "InvDB {node:?} sits on the legend {legend:?}"
    );
    let badge = h
        .state()
        .canvas
        .overlay
        .badge_rects
        .get("InvDB")
        .copied()
        .unwrap_or_else(|| panic!("InvDB has a badge"));
    assert!(
        !badge.intersects(legend),
        "InvDB's badge {badge:?} is under the legend {legend:?}"
    );
}

/// The on-screen box of the node labelled `label` level with `row` (a
/// table header), for labels that also appear elsewhere.
fn on_row(h: &Harness<'_, EdaApp>, label: &str, row: egui::Rect) -> egui::Rect {
    h.query_all_by_label(label)
        .map(|n| n.rect())
        .find(|r| (r.center().y - row.center().y).abs() < 4.0)
        .unwrap_or_else(|| panic!("no {label} level with {row:?}"))
}

/// How wide `text` is in the body font.
fn text_width(h: &Harness<'_, EdaApp>, text: &str) -> f32 {
    let font = egui::TextStyle::Body.resolve(&h.ctx.global_style());
    h.ctx.fonts_mut(|f| {
        f.layout_no_wrap(text.to_string(), font, egui::Color32::WHITE)
            .size()
            .x
    })
}

#[test]
fn the_event_log_shows_its_columns_whole_and_its_detail_fits_the_dock() {
    let mut h = harness();
    // Two minutes in: six-digit times and five-digit ids.
    step(&mut h, 120_000_000);
    h.state_mut().dock.tab = DockTab::Log;
    let f = wait_for_frame(&mut h, "a page of the log", |f| {
        f.log.page.as_ref().is_some_and(|p| p.rows.len() > 20)
    });
    h.run_steps(4);
    let page = f.log.page.clone().unwrap_or_else(|| panic!("a page"));
    let produced = h.get_by_label("Produced").rect();
    let header = |label: &str| on_row(&h, label, produced);
    // The event ids (#1234) fit left of the next column.
    let newest = page.rows.last().unwrap_or_else(|| panic!("a row"));
    let id = format!("#{}", newest.event_id);
    let event_col = header("Topic").min.x - produced.min.x;
    assert!(newest.event_id >= 1_000, "{id}");
    let id_box = h
        .query_all_by_label(&id)
        .next()
        .unwrap_or_else(|| panic!("{id} is listed"))
        .rect();
    assert!(
        id_box.max.x <= produced.min.x + 1.0,
        "{id} ends at {} past the Produced column at {}",
        id_box.max.x,
        produced.min.x
    );
    // Topics and producers fit their columns.
    for (col, next, texts) in [
        (
            "Topic",
            "Part.",
            page.rows
                .iter()
                .map(|r| r.topic.clone())
                .collect::<Vec<_>>(),
        ),
        (
            "Producer",
            "Payload",
            page.rows.iter().map(|r| r.producer.clone()).collect(),
        ),
        (
            "Produced",
            "Topic",
            page.rows
                .iter()
                .map(|r| format!("{}.{:06} s", r.time_us / 1_000_000, r.time_us % 1_000_000))
                .collect(),
        ),
    ] {
        let width = header(next).min.x - header(col).min.x;
        let widest = texts
            .iter()
            .map(|t| text_width(&h, t))
            .fold(0.0_f32, f32::max);
        assert!(
            width >= widest,
            "the {col} column is {width} wide for texts {widest} wide"
        );
    }
    assert!(event_col > 0.0);

    // The component filter lists labels, not Mermaid ids.
    h.get_by_label("Component").click();
    h.run_steps(2);
    let label = f
        .component("Consumer1")
        .map(|c| c.label.clone())
        .unwrap_or_else(|| panic!("Consumer1"));
    assert_ne!(label, "Consumer1");
    assert!(
        h.query_all_by_label(&label).count() >= 1,
        "{label} is offered"
    );
    h.key_press(egui::Key::Escape);
    h.run_steps(2);

    // The selected event's detail fits the dock, its deliveries included.
    h.state_mut().dock.log.selected = Some(newest.event_id.saturating_sub(200));
    wait_for_frame(&mut h, "the trace", |f| {
        f.log
            .trace
            .as_ref()
            .is_some_and(|t| t.event.is_some() && !t.attempts.is_empty())
    });
    h.run_steps(4);
    let dock_right = outcome_fits_the_dock(&h, "at 1400 points");
    for n in h.query_all_by_label_contains("processed") {
        assert!(n.rect().max.x <= dock_right, "{:?} is cut off", n.rect());
    }
    // In a narrower window too (or beside a wider inspector): the table
    // gives way rather than pushing the detail off the dock.
    h.set_size(egui::vec2(1250.0, 900.0));
    h.run_steps(6);
    outcome_fits_the_dock(&h, "at 1250 points");
}

/// Asserts the event detail's Outcome column ends inside the dock
/// (`when` names the window size); the dock's right edge.
fn outcome_fits_the_dock(
    h: &egui_kittest::Harness<'_, eda_studio::gui::app::EdaApp>,
    when: &str,
) -> f32 {
    let dock_right = h.state().canvas.rect.max.x;
    let outcome = h.get_by_label("Outcome").rect();
    assert!(
        outcome.max.x <= dock_right,
        "{when} the Outcome column ends at {} past the dock's edge at {dock_right}",
        outcome.max.x
    );
    dock_right
}
