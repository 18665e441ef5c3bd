//! The timeline scrubber over the whole run (egui_kittest, headless): a
//! run whose recent window of snapshots is small, so its start is kept
//! only in the archive of compact images; clicking the scrubber there
//! shows the inspector's inventory exactly as a headless engine had it
//! at that moment, and hovering there says how that part is reached.

mod common;

use common::{click_at, harness, select_node, send, wait_for_frame_within};
use eda_studio::gui::app::EdaApp;
use eda_studio::live::{Command as LiveCommand, Frame, PastOptions};
use eda_studio::model::ArchGraph;
use eda_studio::sim::{ArchiveOptions, Engine, SinkState, VirtualTime, load_scenario};
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use std::sync::Arc;
use std::time::Duration;

fn wait_for_frame(
    h: &mut Harness<'_, EdaApp>,
    what: &str,
    pred: impl Fn(&Frame) -> bool,
) -> Arc<Frame> {
    wait_for_frame_within(
        h,
        Duration::from_secs(60),
        |_| format!("timed out waiting for {what}"),
        pred,
    )
}

/// Where the scrubber puts `fraction` of the run (0 = its start).
fn on_scrubber(h: &Harness<'_, EdaApp>, fraction: f32) -> egui::Pos2 {
    let r = h.get_by_role_and_label(Role::Slider, "Time").rect();
    // The handle travels the rail less its radius at each end.
    let radius = r.height() / 2.5;
    egui::pos2(
        r.left() + radius + fraction * (r.width() - 2.0 * radius),
        r.center().y,
    )
}

#[test]
fn scrubbing_into_the_archive_shows_the_inventory_as_the_engine_had_it_then() {
    let mut h = harness();
    // A window of 4 snapshots half a virtual second apart: after 8 s the
    // first 6 s are reachable only through the archive.
    h.state_mut().run.past = PastOptions {
        snapshots: 4,
        snapshot_every_us: 500_000,
        archive: Some(ArchiveOptions {
            max_images: 8,
            max_bytes: usize::MAX,
        }),
    };
    send(&mut h, LiveCommand::StepBy(8_000_000));
    let head = wait_for_frame(&mut h, "eight seconds", |f| f.now_us >= 8_000_000);
    assert_eq!(head.timeline.earliest_us, 0);
    let window = head.timeline.window_start_us;
    assert!(window >= 6_000_000, "{:?}", head.timeline);
    assert!(head.timeline.archived_images >= 2, "{:?}", head.timeline);
    select_node(&mut h, "InvDB");
    h.run_steps(3);

    // Hovering the archived part says how it is reached.
    let at = on_scrubber(&h, 0.3);
    h.hover_at(at);
    h.run_steps(30);
    assert!(
        h.get_all_by_label_contains("compact images")
            .next()
            .is_some(),
        "the hover text over the archived part"
    );

    click_at(&mut h, at);
    let past = wait_for_frame(&mut h, "the archived moment's InvDB detail", |f| {
        f.viewing_past
            && f.timeline.seeking.is_none()
            && f.detail.as_ref().is_some_and(|d| d.key == "InvDB")
    });
    assert!(
        past.now_us > 0 && past.now_us < window,
        "an archived moment: {} (window from {window})",
        past.now_us
    );
    h.run_steps(2);

    // The same run, headless, to that moment.
    let text = eda_studio::SEED_DIAGRAM;
    let chart = eda_studio::mermaid::parse_flowchart(text).unwrap_or_else(|d| panic!("{d:?}"));
    let g = ArchGraph::from_flowchart(&chart);
    let scenario = load_scenario(text, &g).unwrap_or_else(|d| panic!("{d:?}"));
    let mut engine = Engine::new(&g, scenario, past.seed).unwrap_or_else(|e| panic!("{e}"));
    engine.run_until(VirtualTime::from_us(past.now_us));
    for c in &past.components {
        let m = engine
            .component_metrics(&c.key)
            .unwrap_or_else(|| panic!("{}", c.key));
        assert_eq!(c.events_in, m.events_in, "{} at {} µs", c.key, past.now_us);
    }
    let Some(SinkState::Inventory(inv)) = engine.sink_state("InvDB") else {
        panic!("InvDB is an inventory")
    };
    let (sku, stock) = *inv.lowest(1).first().unwrap_or_else(|| panic!("a sku"));
    let detail = past.detail.as_ref().unwrap_or_else(|| panic!("detail"));
    let table = detail
        .table("Stock per sku (lowest first)")
        .unwrap_or_else(|| panic!("a stock table"));
    let col = |name: &str| table.column(name).unwrap_or_else(|| panic!("{name}"));
    assert_eq!(table.rows[0][col("sku")], sku.to_string());
    assert_eq!(
        table.rows[0][col("stock")],
        stock.to_string(),
        "stock at {} µs",
        past.now_us
    );
    assert!(
        h.get_all_by_label(&stock.to_string()).next().is_some(),
        "the inspector shows stock {stock}"
    );

    h.get_by_role_and_label(Role::Button, "Live").click();
    let live = wait_for_frame(&mut h, "back to live", |f| !f.viewing_past);
    assert_eq!(live.now_us, head.head_us);
}
