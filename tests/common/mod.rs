//! What the live-run GUI tests (`tests/gui_live_*.rs`) share: the
//! designer in an egui_kittest harness, waiting for the simulation's
//! frames, clicking on the canvas, talking to the driver.
//!
//! Each test file is its own crate and uses only part of this.
#![allow(dead_code)]

use eda_studio::gui::Options;
use eda_studio::gui::app::EdaApp;
use eda_studio::gui::command::Command;
use eda_studio::live::{Command as LiveCommand, Frame};
use egui::{Modifiers, Pos2, vec2};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a test waits for a frame unless it says otherwise.
pub const WAIT: Duration = Duration::from_secs(10);

/// The designer on the seed diagram, 1400 × 900, a few frames in.
pub fn harness() -> Harness<'static, EdaApp> {
    let mut h = Harness::builder()
        .with_size(vec2(1400.0, 900.0))
        .with_step_dt(1.0 / 30.0)
        .with_max_steps(20)
        .build_eframe(|cc| EdaApp::new(&cc.egui_ctx, None, Options::default()));
    h.run_steps(3);
    h
}

/// Runs UI frames until the latest simulation frame satisfies `pred`, for
/// at most [`WAIT`].
pub fn wait_for_frame(
    h: &mut Harness<'_, EdaApp>,
    what: &str,
    pred: impl Fn(&Frame) -> bool,
) -> Arc<Frame> {
    wait_for_frame_within(h, WAIT, |_| format!("timed out waiting for {what}"), pred)
}

/// Runs UI frames (sleeping a little, so the driver thread gets its turn)
/// until the latest simulation frame satisfies `pred`; after `timeout`
/// fails with what `describe` says of the harness then.
pub fn wait_for_frame_within(
    h: &mut Harness<'_, EdaApp>,
    timeout: Duration,
    describe: impl Fn(&Harness<'_, EdaApp>) -> String,
    pred: impl Fn(&Frame) -> bool,
) -> Arc<Frame> {
    let deadline = Instant::now() + timeout;
    loop {
        h.run_steps(1);
        if let Some(frame) = h.state().run.frame.clone()
            && pred(&frame)
        {
            return frame;
        }
        assert!(Instant::now() < deadline, "{}", describe(h));
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Where component `key`'s centre is drawn now.
pub fn center(h: &Harness<'_, EdaApp>, key: &str) -> Pos2 {
    h.state()
        .node_screen_pos(key)
        .unwrap_or_else(|| panic!("no component {key}"))
}

/// A primary click at `at` (hover, press, release).
pub fn click_at(h: &mut Harness<'_, EdaApp>, at: Pos2) {
    h.hover_at(at);
    h.run_steps(1);
    h.drag_at(at);
    h.drop_at(at);
    h.run_steps(1);
}

/// Clicks component `key` on the canvas; it must then be the selection.
pub fn select_node(h: &mut Harness<'_, EdaApp>, key: &str) {
    // The dock opens when the run starts and the canvas shrinks: let the
    // layout settle before reading where the node is.
    h.run_steps(5);
    let at = h
        .state()
        .node_screen_pos(key)
        .unwrap_or_else(|| panic!("no component {key} on the canvas"));
    click_at(h, at);
    let selected = h.state().canvas.selection.nodes.len();
    assert_eq!(selected, 1, "clicking {key} selects it");
}

/// Sends a command to the live driver as a panel would.
pub fn send(h: &mut Harness<'_, EdaApp>, command: LiveCommand) {
    let ctx = h.ctx.clone();
    let app = h.state_mut();
    app.run.apply(&app.doc, command, &ctx);
}

/// Clicks the run toolbar's "+100 ms" `times` times, waiting for each step.
pub fn step_100ms(h: &mut Harness<'_, EdaApp>, times: u64) {
    for step in 1..=times {
        h.get_by_label("+100 ms").click();
        wait_for_frame(h, "a 100 ms step", |f| f.now_us >= step * 100_000);
    }
}

/// Advances the paused run by `us` as the app would, and waits (20 s at
/// most) for the frame.
pub fn step(h: &mut Harness<'_, EdaApp>, us: u64) -> Arc<Frame> {
    let target = h.state().run.frame.as_ref().map_or(0, |f| f.now_us) + us;
    h.state_mut().send(Command::Sim(LiveCommand::StepBy(us)));
    let f = wait_for_frame_within(
        h,
        Duration::from_secs(20),
        |_| "timed out waiting for a step".to_string(),
        |f| f.now_us >= target,
    );
    h.run_steps(2);
    f
}

/// Right-clicks component `key` where it is drawn now.
pub fn right_click_on(h: &mut Harness<'_, EdaApp>, key: &str) {
    h.run_steps(3);
    let at = center(h, key);
    h.hover_at(at);
    h.run_steps(1);
    for pressed in [true, false] {
        h.event(egui::Event::PointerButton {
            pos: at,
            button: egui::PointerButton::Secondary,
            pressed,
            modifiers: Modifiers::NONE,
        });
    }
    h.run_steps(2);
}
