//! What the live-run GUI tests (`tests/gui_live_*.rs`) share: the
//! designer in an egui_kittest harness, waiting for the simulation's
//! frames, clicking on the canvas, talking to the driver, and the seed
//! run rebuilt headless to check what a frame shows against.
//!
//! Each test file is its own crate and uses only part of this.
#![allow(dead_code)]

use eda_studio::gui::Options;
use eda_studio::gui::app::EdaApp;
use eda_studio::gui::command::Command;
use eda_studio::live::{Command as LiveCommand, Frame, live_scenario};
use eda_studio::model::ArchGraph;
use eda_studio::sim::{Engine, SinkState, VirtualTime, load_scenario};
use egui::accesskit::Role;
use egui::{Modifiers, Pos2, vec2};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use std::path::Path;
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

/// [`wait_for_frame`] for at most `timeout` (runs that take a while to
/// reach the moment waited for).
pub fn wait_for_frame_up_to(
    h: &mut Harness<'_, EdaApp>,
    timeout: Duration,
    what: &str,
    pred: impl Fn(&Frame) -> bool,
) -> Arc<Frame> {
    wait_for_frame_within(
        h,
        timeout,
        |_| format!("timed out waiting for {what}"),
        pred,
    )
}

/// The simulation frame the designer holds now (there must be one).
pub fn latest_frame(h: &Harness<'_, EdaApp>) -> Arc<Frame> {
    h.state()
        .run
        .frame
        .clone()
        .unwrap_or_else(|| panic!("a frame"))
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

/// The seed diagram's run with `seed`, rebuilt headless the way the live
/// driver builds it (the diagram's scenario made a live one) and run to
/// `now_us`: the engine's state at the moment a frame shows, which an
/// inspector value or badge for that moment must equal.
pub fn seed_engine_at(seed: u64, now_us: u64) -> Engine {
    let text = eda_studio::SEED_DIAGRAM;
    let chart = eda_studio::mermaid::parse_flowchart(text).unwrap_or_else(|d| panic!("{d:?}"));
    let g = ArchGraph::from_flowchart(&chart);
    let scenario = load_scenario(text, &g).unwrap_or_else(|d| panic!("{d:?}"));
    let scenario = live_scenario(&g, scenario);
    let mut engine = Engine::new(&g, scenario, seed).unwrap_or_else(|e| panic!("{e}"));
    engine.run_until(VirtualTime::from_us(now_us));
    engine
}

/// Checks the InvDB inspector of `frame` (a moment of the seed run)
/// against `engine` at that moment: the lowest-stock row of the "Stock per
/// sku" table is the engine's lowest sku and its stock, and the inspector
/// draws that stock.
pub fn assert_lowest_stock_shown(h: &Harness<'_, EdaApp>, frame: &Frame, engine: &Engine) {
    let Some(SinkState::Inventory(inv)) = engine.sink_state("InvDB") else {
        panic!("InvDB is an inventory")
    };
    let (sku, stock) = *inv.lowest(1).first().unwrap_or_else(|| panic!("a sku"));
    let detail = frame.detail.as_ref().unwrap_or_else(|| panic!("detail"));
    let table = detail
        .table("Stock per sku (lowest first)")
        .unwrap_or_else(|| panic!("a stock table"));
    let col = |name: &str| table.column(name).unwrap_or_else(|| panic!("{name}"));
    assert_eq!(table.rows[0][col("sku")], sku.to_string());
    assert_eq!(
        table.rows[0][col("stock")],
        stock.to_string(),
        "stock at {} µs",
        frame.now_us
    );
    assert!(
        h.get_all_by_label(&stock.to_string()).next().is_some(),
        "the inspector shows stock {stock}"
    );
}

/// File ▸ `item`, then the typed-path prompt (no native dialog in tests)
/// answered with `path`.
pub fn file_menu_with_path(h: &mut Harness<'_, EdaApp>, item: &str, path: &Path) {
    h.get_by_label("File").click_accesskit();
    h.run_steps(2);
    h.get_by_label_contains(item).click_accesskit();
    h.run_steps(2);
    match &mut h.state_mut().ui.path_prompt {
        Some((_, text)) => *text = path.display().to_string(),
        None => panic!("{item} asks for a path"),
    }
    h.run_steps(1);
    h.get_by_label("OK").click_accesskit();
    h.run_steps(3);
}

/// Types `text` over the value of the spin button labelled `label` and
/// presses Enter.
pub fn type_into_spin(h: &mut Harness<'_, EdaApp>, label: &str, text: &str) {
    h.get_by_role_and_label(Role::SpinButton, label).click();
    h.run_steps(2);
    h.key_press_modifiers(Modifiers::COMMAND, egui::Key::A);
    h.run_steps(1);
    h.event(egui::Event::Text(text.into()));
    h.run_steps(1);
    h.key_press(egui::Key::Enter);
    h.run_steps(3);
}
