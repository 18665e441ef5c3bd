//! The timeline scrubber over the whole run (egui_kittest, headless): a
//! run whose recent window of snapshots is small, so its start is kept
//! only in the archive of compact images; clicking the scrubber there
//! shows the inspector's inventory exactly as a headless engine had it
//! at that moment, and hovering there says how that part is reached.

mod common;

use common::{
    assert_lowest_stock_shown, click_at, harness, seed_engine_at, select_node, send,
    wait_for_frame_up_to,
};
use eda_studio::gui::app::EdaApp;
use eda_studio::live::{Command as LiveCommand, Frame, PastOptions};
use eda_studio::sim::ArchiveOptions;
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
    wait_for_frame_up_to(h, Duration::from_secs(60), what, pred)
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
    let engine = seed_engine_at(past.seed, past.now_us);
    for c in &past.components {
        let m = engine
            .component_metrics(&c.key)
            .unwrap_or_else(|| panic!("{}", c.key));
        assert_eq!(c.events_in, m.events_in, "{} at {} µs", c.key, past.now_us);
    }
    assert_lowest_stock_shown(&h, &past, &engine);

    h.get_by_role_and_label(Role::Button, "Live").click();
    let live = wait_for_frame(&mut h, "back to live", |f| !f.viewing_past);
    assert_eq!(live.now_us, head.head_us);
}
