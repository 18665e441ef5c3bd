//! Events flowing on the canvas and the bus tab, driven through the UI with
//! egui_kittest: step the seed diagram, see dots on its edges, the event
//! store's position on its badge, and the bus tab's partition rows with
//! the engine's offsets.

mod common;

use common::{harness, latest_frame, step_100ms, wait_for_frame};
use eda_studio::gui::app::EdaApp;
use eda_studio::live::Frame;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use std::collections::BTreeSet;

#[test]
fn stepping_the_seed_moves_dots_on_its_edges_and_the_bus_tab_lists_partitions() {
    let mut h = harness();
    step_100ms(&mut h, 12);
    h.run_steps(2);
    let frame = latest_frame(&h);
    let flow = &frame.flow;

    // Dots, on the diagram's own edges, coloured by a type in the legend.
    let doc = &h.state().doc;
    let edges: BTreeSet<(String, String)> = doc
        .graph
        .connections()
        .map(|c| {
            (
                doc.graph.key_of(c.from).to_string(),
                doc.graph.key_of(c.to).to_string(),
            )
        })
        .collect();
    assert!(!flow.dots.is_empty(), "events are in transit at 1.2 s");
    for d in &flow.dots {
        let lane = &flow.lanes[d.lane as usize];
        assert!(
            edges.contains(&(lane.from.clone(), lane.to.clone())),
            "{lane:?}"
        );
        assert!(
            flow.type_name(lane.color).is_some(),
            "{lane:?} in the legend"
        );
    }
    let names: Vec<&str> = flow.legend.iter().map(|l| l.name.as_str()).collect();
    assert!(names.contains(&"OrderCreated"), "{names:?}");
    assert!(
        flow.lanes.iter().any(|l| l.from == "EB" && l.to == "ES"),
        "the bus feeds the event store"
    );

    // The event store's badge shows its position and streams.
    let es = flow.store("ES").unwrap_or_else(|| panic!("ES is a store"));
    assert!(es.position > 0);
    let badge = h
        .state()
        .canvas
        .badges
        .get("ES")
        .cloned()
        .unwrap_or_default();
    assert!(
        badge.contains(&format!("pos {}", es.position)) && badge.contains("streams"),
        "{badge}"
    );

    // The bus tab: a row per partition of every topic, with its end offset.
    h.get_all_by_label("Bus")
        .last()
        .unwrap_or_else(|| panic!("the Bus tab"))
        .click();
    h.run_steps(3);
    let topic = flow
        .topics
        .iter()
        .find(|t| t.name == "OrderCreated")
        .unwrap_or_else(|| panic!("an OrderCreated topic"));
    for p in 0..topic.partitions.len() {
        let label = format!("OrderCreated/{p}");
        assert!(h.query_by_label(&label).is_some(), "no row {label}");
    }
    let end = topic.partitions[0].high.to_string();
    assert!(
        h.query_all_by_label(&end).next().is_some(),
        "the end offset {end} is shown"
    );
    assert!(
        h.query_by_label_contains(&format!("Event store ES: position {}", es.position))
            .is_some(),
        "the store's position is in the tab"
    );
    // A group's cell: committed offset and lag of its partition 0.
    let c1 = consumer1_partition(&frame, "OrderCreated", 0);
    let cell = format!("{} · lag {} · i{}", c1.committed, c1.lag, c1.instance);
    assert!(
        h.query_all_by_label(&cell).next().is_some(),
        "no cell {cell}"
    );
}

/// Consumer1's offsets and lag on `topic`/`partition` in `frame`.
fn consumer1_partition<'a>(
    frame: &'a Frame,
    topic: &str,
    partition: u32,
) -> &'a eda_studio::sim::PartitionLag {
    frame
        .groups
        .iter()
        .find(|g| g.group == "Consumer1")
        .and_then(|g| {
            g.partitions
                .iter()
                .find(|p| p.topic == topic && p.partition == partition)
        })
        .unwrap_or_else(|| panic!("Consumer1 reads {topic}/{partition}"))
}

/// The expanded bus's grid as drawn in the last frame: its rows of cells,
/// the header first.
fn bus_grid(h: &Harness<'_, EdaApp>) -> Vec<Vec<String>> {
    h.state()
        .canvas
        .overlay
        .bus_grids
        .get("EB")
        .cloned()
        .unwrap_or_default()
}

/// The grid's row of `topic/partition`, checked against `frame`: the end
/// offset, and Consumer1's committed offset and lag.
fn check_row(grid: &[Vec<String>], frame: &Frame, topic: &str, partition: u32) {
    let header = &grid[0];
    let col = header
        .iter()
        .position(|c| c.starts_with("Consumer1"))
        .unwrap_or_else(|| panic!("a Consumer1 column: {header:?}"));
    let label = format!("{topic}/{partition}");
    let row = grid
        .iter()
        .find(|r| r[0] == label)
        .unwrap_or_else(|| panic!("no row {label}: {grid:?}"));
    let t = frame
        .flow
        .topics
        .iter()
        .find(|t| t.name == topic)
        .unwrap_or_else(|| panic!("{topic}"));
    assert_eq!(row[1], t.partitions[partition as usize].high.to_string());
    let p = consumer1_partition(frame, topic, partition);
    assert_eq!(row[col], format!("{} · {}", p.committed, p.lag));
}

#[test]
fn the_bus_node_expands_into_its_partition_grid_on_the_canvas_and_travels_in_time() {
    let mut h = harness();
    step_100ms(&mut h, 10);
    h.run_steps(3);
    assert!(bus_grid(&h).is_empty(), "collapsed at first");
    h.get_by_label("Expand bus EB partitions").click();
    h.run_steps(3);
    let frame = h.state().run.frame.clone().unwrap_or_else(|| panic!());
    let grid = bus_grid(&h);
    let partitions: usize = frame.flow.topics.iter().map(|t| t.partitions.len()).sum();
    assert_eq!(grid.len(), 1 + partitions.min(24), "{grid:?}");
    check_row(&grid, &frame, "OrderCreated", 0);
    h.get_by_label("Partitions of EB");
    // Beside the bus, following the camera.
    let bus = h
        .state()
        .node_screen_rect("EB")
        .unwrap_or_else(|| panic!("EB on the canvas"));
    let before = h.state().canvas.zoom;
    h.state_mut()
        .send(eda_studio::gui::command::Command::Zoom(1.25));
    h.run_steps(3);
    assert!(h.state().canvas.zoom > before);
    let moved = h
        .state()
        .node_screen_rect("EB")
        .unwrap_or_else(|| panic!("EB on the canvas"));
    assert_ne!(bus, moved);
    assert_eq!(bus_grid(&h), grid, "the same moment, another zoom");

    // Scrub back: the grid shows that moment's offsets.
    let ctx = h.ctx.clone();
    let app = h.state_mut();
    app.run
        .apply(&app.doc, eda_studio::live::Command::Seek(400_000), &ctx);
    let past = wait_for_frame(&mut h, "the past moment", |f| {
        f.viewing_past && f.now_us == 400_000
    });
    h.run_steps(3);
    let then = bus_grid(&h);
    check_row(&then, &past, "OrderCreated", 0);
    assert_ne!(then, grid, "offsets moved on between 0.4 s and 1 s");

    h.get_by_label("Collapse bus EB partitions").click();
    h.run_steps(3);
    assert!(bus_grid(&h).is_empty());
    // A click on the grid closes it too (it may cover its toggle).
    h.get_by_label("Expand bus EB partitions").click();
    h.run_steps(3);
    assert!(!bus_grid(&h).is_empty());
    h.get_by_label("Partitions of EB").click();
    h.run_steps(3);
    assert!(bus_grid(&h).is_empty());
}

/// The lag a badge says ("… · lag 123 …").
fn badge_lag(h: &egui_kittest::Harness<'_, eda_studio::gui::app::EdaApp>, key: &str) -> u64 {
    let text = h
        .state()
        .canvas
        .badges
        .get(key)
        .cloned()
        .unwrap_or_else(|| panic!("no badge for {key}: {:?}", h.state().canvas.badges));
    text.split(" · ")
        .find_map(|part| part.strip_prefix("lag ")?.parse().ok())
        .unwrap_or_else(|| panic!("no lag in {text:?}"))
}

#[test]
fn a_consumer_added_mid_run_is_a_ghost_on_the_canvas_whose_badge_lag_falls() {
    use common::{select_node, send, step};
    let mut h = harness();
    step(&mut h, 60_000_000);
    // A producer's badge is a rate, like the others'.
    let producer = h
        .state()
        .canvas
        .badges
        .get("Producer1")
        .cloned()
        .unwrap_or_default();
    let rate: f64 = producer
        .strip_suffix("/s out")
        .and_then(|r| r.parse().ok())
        .unwrap_or_else(|| panic!("a rate out: {producer:?}"));
    assert!((50.0..200.0).contains(&rate), "{producer}");
    assert!(h.state().canvas.overlay.ghosts.is_empty(), "no ghost yet");

    select_node(&mut h, "Consumer1");
    h.run_steps(3);
    h.get_by_label("Add a consumer from offset 0").click();
    let added = common::wait_for_frame_up_to(
        &mut h,
        std::time::Duration::from_secs(20),
        "the new consumer",
        |f| f.groups.iter().any(|g| g.group == "Consumer1.new"),
    );
    let added_us = added.now_us;
    h.run_steps(3);
    let ghost = h
        .state()
        .canvas
        .overlay
        .ghosts
        .get("Consumer1.new")
        .copied()
        .unwrap_or_else(|| panic!("a ghost node: {:?}", h.state().canvas.overlay));
    let canvas = h.state().canvas.rect;
    assert!(
        canvas.intersects(ghost),
        "on the canvas: {ghost:?} {canvas:?}"
    );
    let behind = badge_lag(&h, "Consumer1.new");
    assert!(behind > 3_000, "a minute behind: lag {behind}");

    // A virtual minute later its badge says it has caught up.
    step(&mut h, 60_000_000);
    let now = badge_lag(&h, "Consumer1.new");
    assert!(now < 50, "caught up: lag {now} (was {behind})");
    // Its badge gives a rate, as every consumer's does, not a count.
    let text = h.state().canvas.badges["Consumer1.new"].clone();
    let rate: f64 = text
        .split(" · ")
        .next()
        .and_then(|r| r.strip_suffix("/s")?.parse().ok())
        .unwrap_or_else(|| panic!("a rate first: {text:?}"));
    assert!(rate > 10.0, "keeping up with the bus: {text:?}");

    // A moment before it was added has no ghost.
    send(&mut h, eda_studio::live::Command::Seek(added_us / 2));
    wait_for_frame(&mut h, "the past", |f| {
        f.viewing_past && f.now_us <= added_us / 2
    });
    h.run_steps(3);
    assert!(
        h.state().canvas.overlay.ghosts.is_empty(),
        "no ghost before it was added: {:?}",
        h.state().canvas.overlay.ghosts
    );
    assert!(!h.state().canvas.badges.contains_key("Consumer1.new"));
    send(&mut h, eda_studio::live::Command::Live);
    wait_for_frame(&mut h, "live again", |f| !f.viewing_past);
    h.run_steps(3);
    assert!(
        h.state()
            .canvas
            .overlay
            .ghosts
            .contains_key("Consumer1.new")
    );
}
