//! Events flowing on the canvas and the bus tab, driven through the UI with
//! egui_kittest: step the seed diagram, see dots on its edges, the event
//! store's position on its badge, and the bus tab's partition rows with
//! the engine's offsets.

use eda_studio::gui::Options;
use eda_studio::gui::app::EdaApp;
use eda_studio::live::Frame;
use egui::vec2;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn harness() -> Harness<'static, EdaApp> {
    let mut h = Harness::builder()
        .with_size(vec2(1400.0, 900.0))
        .with_step_dt(1.0 / 30.0)
        .with_max_steps(20)
        .build_eframe(|cc| EdaApp::new(&cc.egui_ctx, None, Options::default()));
    h.run_steps(3);
    h
}

/// Runs UI frames until the latest simulation frame satisfies `pred`.
fn wait_for_frame(
    h: &mut Harness<'_, EdaApp>,
    what: &str,
    pred: impl Fn(&Frame) -> bool,
) -> Arc<Frame> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        h.run_steps(1);
        if let Some(frame) = h.state().run.frame.clone()
            && pred(&frame)
        {
            return frame;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn stepping_the_seed_moves_dots_on_its_edges_and_the_bus_tab_lists_partitions() {
    let mut h = harness();
    for step in 1..=12u64 {
        h.get_by_label("+100 ms").click();
        wait_for_frame(&mut h, "a 100 ms step", |f| f.now_us >= step * 100_000);
    }
    h.run_steps(2);
    let frame = h
        .state()
        .run
        .frame
        .clone()
        .unwrap_or_else(|| panic!("a frame"));
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
    let c1 = frame
        .groups
        .iter()
        .find(|g| g.group == "Consumer1")
        .and_then(|g| {
            g.partitions
                .iter()
                .find(|p| p.topic == "OrderCreated" && p.partition == 0)
        })
        .unwrap_or_else(|| panic!("Consumer1 reads OrderCreated/0"));
    let cell = format!("{} · lag {} · i{}", c1.committed, c1.lag, c1.instance);
    assert!(
        h.query_all_by_label(&cell).next().is_some(),
        "no cell {cell}"
    );
}
