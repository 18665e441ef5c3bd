//! The designer driven through its UI with egui_kittest, headless: the
//! flows of a user building a diagram, saving it and opening it again.
//!
//! The canvas draws shapes, not widgets, so nodes are found by the screen
//! position the app reports for them; menu items, palette entries and text
//! fields are found through accessibility, by role and label.

use eda_studio::gui::Options;
use eda_studio::gui::app::EdaApp;
use eda_studio::gui::document::Document;
use egui::{Event, Key, Modifiers, Pos2, vec2};
use egui_kittest::Harness;
use egui_kittest::kittest::{By, Queryable as _};

mod common;

use common::{center, click_at, harness};
use std::collections::BTreeMap;

/// Drags with the primary button from `from` to `to` in `steps` moves.
fn drag(h: &mut Harness<'_, EdaApp>, from: Pos2, to: Pos2) {
    h.hover_at(from);
    h.run_steps(1);
    h.drag_at(from);
    h.run_steps(1);
    let steps = 8;
    for i in 1..=steps {
        h.hover_at(from + (to - from) * (i as f32 / steps as f32));
        h.run_steps(1);
    }
    h.drop_at(to);
    h.run_steps(2);
}

fn positions_by_key(doc: &Document) -> BTreeMap<String, Pos2> {
    doc.positions
        .iter()
        .filter_map(|(id, p)| Some((doc.graph.component(*id)?.key.clone(), *p)))
        .collect()
}

#[test]
fn build_a_consumer_save_and_reopen_the_same_diagram() {
    let mut h = harness();
    let components = h.state().doc.graph.component_count();

    // Drag the bus 120 points to the right: one undo step.
    let eb = center(&h, "EB");
    let eb_layout = h.state().doc.position(
        h.state()
            .doc
            .graph
            .id_of("EB")
            .unwrap_or_else(|| panic!("EB")),
    );
    drag(&mut h, eb, eb + vec2(120.0, 0.0));
    let moved = h.state().doc.position(
        h.state()
            .doc
            .graph
            .id_of("EB")
            .unwrap_or_else(|| panic!("EB")),
    );
    let zoom = h.state().canvas.zoom;
    assert!(
        (moved.x - eb_layout.x) * zoom > 60.0,
        "the bus moved {} points",
        (moved.x - eb_layout.x) * zoom
    );
    assert!(h.state().history.can_undo());

    // Drag a consumer from the palette onto empty canvas below the diagram.
    let button = h.get_by_label_contains("Consumer").rect().center();
    let canvas = h.state().canvas.rect;
    let drop = Pos2::new(canvas.center().x, canvas.max.y - 60.0);
    drag(&mut h, button, drop);
    assert_eq!(
        h.state().doc.graph.component_count(),
        components + 1,
        "palette drop adds one"
    );
    let key = h
        .state()
        .doc
        .graph
        .components()
        .last()
        .map(|c| c.key.clone())
        .unwrap_or_default();
    let new_id = h
        .state()
        .doc
        .graph
        .id_of(&key)
        .unwrap_or_else(|| panic!("{key}"));
    assert_eq!(
        h.state().doc.graph.component(new_id).map(|c| c.role),
        Some(eda_studio::model::Role::Consumer)
    );

    // Connect the bus to it: drag from the bus's connection handle.
    let eb_rect = h
        .state()
        .node_screen_rect("EB")
        .unwrap_or_else(|| panic!("EB"));
    let handle = Pos2::new(eb_rect.max.x, eb_rect.center().y);
    let edges = h.state().doc.graph.connection_count();
    let target = center(&h, &key);
    drag(&mut h, handle, target);
    assert_eq!(
        h.state().doc.graph.connection_count(),
        edges + 1,
        "a connection was drawn"
    );
    let eb_id = h
        .state()
        .doc
        .graph
        .id_of("EB")
        .unwrap_or_else(|| panic!("EB"));
    assert!(h.state().doc.graph.downstream(eb_id).contains(&new_id));

    // Rename it: double-click, select all, type, Enter.
    let at = center(&h, &key);
    click_at(&mut h, at);
    click_at(&mut h, at);
    h.run_steps(1);
    assert!(
        h.state().canvas.rename.is_some(),
        "double-click opens the rename field"
    );
    h.key_press_modifiers(Modifiers::COMMAND, Key::A);
    h.event(Event::Text("Billing Consumer".into()));
    h.run_steps(1);
    h.key_press(Key::Enter);
    h.run_steps(2);
    let label = |h: &Harness<'_, EdaApp>| {
        h.state()
            .doc
            .graph
            .component(new_id)
            .map(|c| c.label.clone())
            .unwrap_or_default()
    };
    assert_eq!(label(&h), "Billing Consumer");

    // Undo the rename, redo it.
    h.key_press_modifiers(Modifiers::COMMAND, Key::Z);
    h.run_steps(1);
    assert_ne!(label(&h), "Billing Consumer", "undo reverts the rename");
    h.key_press_modifiers(Modifiers::COMMAND, Key::Y);
    h.run_steps(1);
    assert_eq!(label(&h), "Billing Consumer", "redo renames again");

    // Save through Ctrl+S and the typed-path prompt (no native dialog here).
    let dir = std::env::temp_dir().join(format!("eda-gui-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let path = dir.join("built.mmd");
    h.key_press_modifiers(Modifiers::COMMAND, Key::S);
    h.run_steps(2);
    h.event(Event::Text(path.display().to_string()));
    h.run_steps(1);
    h.get_by_label("OK").click();
    h.run_steps(2);
    assert!(
        !h.state().doc.is_dirty(),
        "saved: {:?}",
        h.state().ui.status
    );

    // Reopen: the same model and the same positions.
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}"));
    let reopened =
        Document::from_text(&text, Some(path.clone())).unwrap_or_else(|e| panic!("{}", e.render()));
    assert_eq!(reopened.to_text(), h.state().doc.to_text(), "same model");
    let (a, b) = (
        positions_by_key(&reopened),
        positions_by_key(&h.state().doc),
    );
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (k, p) in &a {
        assert!((b[k] - *p).length() < 0.1, "{k}: {p:?} vs {:?}", b[k]);
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_broken_source_edit_shows_a_diagnostic_and_keeps_the_canvas() {
    let mut h = harness();
    h.state_mut().ui.show_source = true;
    h.run_steps(2);
    let before = h.state().doc.to_text();
    let count = h.state().doc.graph.component_count();
    let editor = h.get_by_role(egui::accesskit::Role::MultilineTextInput);
    editor.focus();
    h.run_steps(1);
    h.key_press_modifiers(Modifiers::COMMAND, Key::End);
    h.event(Event::Text("\nBroken --> [oops\n".into()));
    // Past the debounce.
    h.run_steps(15);
    let error = h.state().source.error_line().unwrap_or_default();
    assert!(error.contains(":"), "a file:line:col diagnostic: {error:?}");
    let shown = h
        .get_all_by_label_contains(&error[..error.len().min(20)])
        .count()
        > 0;
    assert!(shown, "the diagnostic is on screen");
    assert_eq!(h.state().doc.graph.component_count(), count, "canvas kept");
    assert_eq!(h.state().doc.to_text(), before, "model kept");

    // Fixing the text applies it.
    h.key_press(Key::Backspace);
    for _ in 0.."Broken --> [oops\n".len() {
        h.key_press(Key::Backspace);
    }
    h.event(Event::Text("\nFixed --> EB\n".into()));
    h.run_steps(15);
    assert!(
        h.state().source.error.is_none(),
        "{:?}",
        h.state().source.error_line()
    );
    assert!(
        h.state().doc.graph.id_of("Fixed").is_some(),
        "the fixed text reached the canvas"
    );
}

#[test]
fn pasting_mermaid_imports_it_with_fresh_ids() {
    let mut h = harness();
    let count = h.state().doc.graph.component_count();
    h.event(Event::Paste(
        "flowchart LR\nEB[Another bus] --> X[Sink]\n".into(),
    ));
    h.run_steps(2);
    let g = &h.state().doc.graph;
    assert_eq!(g.component_count(), count + 2);
    assert!(
        g.id_of("EB2").is_some(),
        "EB was taken, so the pasted one is EB2"
    );
    h.key_press_modifiers(Modifiers::COMMAND, Key::Z);
    h.run_steps(1);
    assert_eq!(
        h.state().doc.graph.component_count(),
        count,
        "paste is one undo step"
    );
}

#[test]
fn opening_a_broken_file_keeps_the_document_and_shows_the_error() {
    let mut h = harness();
    let dir = std::env::temp_dir().join(format!("eda-gui-broken-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let path = dir.join("broken.mmd");
    std::fs::write(&path, "flowchart TD\nA --> B\nC --> [\n").unwrap_or_else(|e| panic!("{e}"));
    let before = h.state().doc.to_text();
    h.state_mut()
        .send(eda_studio::gui::command::Command::Open(path.clone()));
    h.run_steps(2);
    assert_eq!(h.state().doc.to_text(), before);
    assert!(h.state().ui.show_source);
    let error = h.state().source.error_line().unwrap_or_default();
    assert!(error.contains("broken.mmd:3:"), "{error}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn click_a_node_delete_it_and_undo() {
    let mut h = harness();
    let count = h.state().doc.graph.component_count();
    let at = center(&h, "Email");
    click_at(&mut h, at);
    let email = h.state().doc.graph.id_of("Email");
    assert!(email.is_some_and(|id| h.state().canvas.selection.nodes.contains(&id)));
    h.key_press(Key::Delete);
    h.run_steps(1);
    assert_eq!(h.state().doc.graph.component_count(), count - 1);
    assert!(h.state().doc.graph.id_of("Email").is_none());
    h.key_press_modifiers(Modifiers::COMMAND, Key::Z);
    h.run_steps(1);
    assert_eq!(h.state().doc.graph.component_count(), count);
    assert_eq!(
        h.state().doc.graph.id_of("Email"),
        email,
        "undo restores the same id"
    );
}

#[test]
fn new_with_unsaved_changes_asks_first() {
    let mut h = harness();
    let at = center(&h, "ES");
    drag(&mut h, at, at + vec2(60.0, 40.0));
    assert!(h.state().doc.is_dirty());
    h.key_press_modifiers(Modifiers::COMMAND, Key::N);
    h.run_steps(2);
    assert!(
        h.state().doc.graph.component_count() > 0,
        "nothing lost before the answer"
    );
    h.get_by_label("Cancel").click();
    h.run_steps(2);
    assert!(
        h.state().doc.graph.component_count() > 0,
        "cancel keeps the diagram"
    );
    h.key_press_modifiers(Modifiers::COMMAND, Key::N);
    h.run_steps(2);
    h.get_by_label("Discard").click();
    h.run_steps(2);
    assert_eq!(
        h.state().doc.graph.component_count(),
        0,
        "discard starts afresh"
    );
}

/// Waits, for at most 5 s, until the latest simulation frame satisfies `pred`.
fn wait_for_frame(
    h: &mut Harness<'_, EdaApp>,
    what: &str,
    pred: impl Fn(&eda_studio::live::Frame) -> bool,
) -> std::sync::Arc<eda_studio::live::Frame> {
    common::wait_for_frame_within(
        h,
        std::time::Duration::from_secs(5),
        |h| {
            format!(
                "timed out waiting for {what}; last frame: {:?}",
                h.state()
                    .run
                    .frame
                    .as_ref()
                    .map(|f| (f.seq, f.now_us, f.state))
            )
        },
        pred,
    )
}

#[test]
fn the_step_slice_is_chosen_and_kept_for_the_session() {
    let mut h = harness();
    h.get_by_label("+100 ms").click();
    wait_for_frame(&mut h, "the first step", |f| f.now_us == 100_000);
    // Choose one second: the button says so and steps by it.
    h.get_by_label("Step slice").click();
    h.run_steps(2);
    h.get_by_label("Step 1 s").click();
    h.run_steps(2);
    assert!(h.query_by_label("+100 ms").is_none());
    h.get_by_label("+1 s").click();
    let f = wait_for_frame(&mut h, "a one-second step", |f| f.now_us > 100_000);
    assert_eq!(f.now_us, 1_100_000, "a step advances exactly the slice");
    // One minute, also kept across a Reset.
    h.get_by_label("Step slice").click();
    h.run_steps(2);
    h.get_by_label("Step 1 min").click();
    h.run_steps(2);
    h.get_by_label("Reset").click();
    wait_for_frame(&mut h, "the reset", |f| f.now_us == 0);
    h.run_steps(2);
    h.get_by_label("+1 min").click();
    let f = common::wait_for_frame_within(
        &mut h,
        std::time::Duration::from_secs(60),
        |_| "timed out waiting for a one-minute step".into(),
        |f| f.now_us > 0,
    );
    assert_eq!(f.now_us, 60_000_000);
}

#[test]
fn run_pause_step_and_speed_drive_the_live_simulation() {
    use eda_studio::live::{RunState, Speed};
    let mut h = harness();
    assert!(h.state().run.frame.is_none(), "nothing runs before Run");

    // Two steps of 100 ms from time zero, paused.
    h.get_by_label("+100 ms").click();
    let f = wait_for_frame(&mut h, "the first 100 ms step", |f| f.now_us > 0);
    assert_eq!(f.now_us, 100_000);
    assert_eq!(f.state, RunState::Paused);
    h.get_by_label("+100 ms").click();
    let f = wait_for_frame(&mut h, "the second step", |f| f.now_us > 100_000);
    assert_eq!(f.now_us, 200_000, "a step advances exactly 100 ms");

    // One event: the engine does one action; a new frame comes back.
    let before = f.seq;
    h.get_by_label("Step").click();
    let f = wait_for_frame(&mut h, "the one-event step", |f| f.seq > before);
    assert!(f.now_us >= 200_000);

    // Faster, then run: virtual time advances on its own.
    h.get_by_label("Speed").click();
    h.run_steps(1);
    h.get_by_label("100×").click();
    let f = wait_for_frame(&mut h, "speed 100×", |f| f.speed == Speed::Factor(100.0));
    let start = f.now_us;
    h.get_by_label("Run").click();
    let f = wait_for_frame(&mut h, "time to advance while running", |f| {
        f.state == RunState::Running && f.now_us > start + 200_000
    });
    assert!(f.deliveries > 0, "events flow: {f:?}");
    std::thread::sleep(std::time::Duration::from_millis(50));
    assert!(
        h.ctx.has_requested_repaint(),
        "a running simulation asks for repaints"
    );

    // Space pauses; time then stands still.
    h.key_press(Key::Space);
    let paused = wait_for_frame(&mut h, "pause", |f| f.state == RunState::Paused);
    for _ in 0..10 {
        h.run_steps(1);
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let later = h
        .state()
        .run
        .frame
        .clone()
        .unwrap_or_else(|| panic!("a frame"));
    assert_eq!(later.now_us, paused.now_us, "paused time stands still");
    // Paused, the driver sends nothing: no repaint is asked for.
    h.hover_at(Pos2::new(5.0, 880.0));
    h.run_steps(3);
    std::thread::sleep(std::time::Duration::from_millis(50));
    assert!(
        !h.ctx.has_requested_repaint(),
        "an idle paused window does not repaint"
    );

    // The badges show the frame's numbers.
    h.run_steps(1);
    let app = h.state();
    let frame = common::latest_frame(&h);
    assert!(!app.canvas.badges.is_empty(), "badges are drawn");
    let mut checked = 0;
    for c in &frame.components {
        let Some(badge) = app.canvas.badges.get(&c.key) else {
            continue;
        };
        let per_s = |r: f64| {
            if r < 10.0 {
                format!("{r:.1}/s")
            } else {
                format!("{r:.0}/s")
            }
        };
        let rate = per_s(c.rate_in_per_s);
        if c.events_in == 0 && c.events_out > 0 {
            // A producer shows the rate it sends at, not a running count.
            let out = format!("{} out", per_s(c.rate_out_per_s));
            assert!(badge.starts_with(&out), "{}: {badge} vs {out}", c.key);
        } else {
            assert!(badge.starts_with(&rate), "{}: {badge} vs {rate}", c.key);
        }
        if let Some(lag) = c.lag {
            assert!(badge.contains(&format!("lag {lag}")), "{}: {badge}", c.key);
            checked += 1;
        }
    }
    assert!(checked > 0, "some consumer group shows its lag");
}

#[test]
fn the_timeline_shows_a_past_moment_exactly_and_live_returns() {
    let mut h = harness();
    for step in 1..=5u64 {
        h.get_by_label("+100 ms").click();
        wait_for_frame(&mut h, "a 100 ms step", |f| f.now_us >= step * 100_000);
    }
    // Click the scrubber: whatever moment it lands on, the picture is the
    // run at exactly that moment.
    h.get_by_label("Time").click();
    let past = wait_for_frame(&mut h, "a past moment", |f| f.viewing_past);
    assert_eq!(past.head_us, 500_000);
    assert!(
        past.now_us > 0 && past.now_us < 500_000,
        "{:?}",
        past.now_us
    );
    let engine = common::seed_engine_at(past.seed, past.now_us);
    assert_eq!(past.run_hash, format!("{:016x}", engine.run_hash()));
    for c in &past.components {
        let m = engine
            .component_metrics(&c.key)
            .unwrap_or_else(|| panic!("{}", c.key));
        assert_eq!(c.events_in, m.events_in, "{} at {} µs", c.key, past.now_us);
    }
    // The badges show the past moment too.
    h.run_steps(2);
    let frame = common::latest_frame(&h);
    assert_eq!(frame.now_us, past.now_us);

    h.get_by_label("Live").click();
    let live = wait_for_frame(&mut h, "back to live", |f| !f.viewing_past);
    assert_eq!(live.now_us, 500_000);
}

/// A fresh temporary directory for one test.
fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("eda-gui-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    dir
}

/// eframe's key-value store kept in memory: what the app writes on exit
/// and reads on start.
#[derive(Default)]
struct MemoryStorage(BTreeMap<String, String>);

impl eframe::Storage for MemoryStorage {
    fn get_string(&self, key: &str) -> Option<String> {
        self.0.get(key).cloned()
    }
    fn set_string(&mut self, key: &str, value: String) {
        self.0.insert(key.to_string(), value);
    }
    fn remove_string(&mut self, key: &str) {
        self.0.remove(key);
    }
    fn flush(&mut self) {}
}

fn harness_with(storage: Option<&MemoryStorage>, options: Options) -> Harness<'static, EdaApp> {
    let mut h = Harness::builder()
        .with_size(vec2(1400.0, 900.0))
        .with_step_dt(1.0 / 30.0)
        .with_max_steps(20)
        .build_eframe(|cc| {
            EdaApp::new(
                &cc.egui_ctx,
                storage.map(|s| s as &dyn eframe::Storage),
                options,
            )
        });
    h.run_steps(3);
    h
}

#[test]
fn open_recent_survives_a_restart() {
    let dir = temp_dir("recent");
    let path = dir.join("recent.mmd");
    std::fs::write(&path, "flowchart LR\nP[Orders] --> EB[Kafka]\n")
        .unwrap_or_else(|e| panic!("{e}"));
    let mut storage = MemoryStorage::default();
    {
        let mut h = harness_with(None, Options::default());
        h.state_mut()
            .send(eda_studio::gui::command::Command::Open(path.clone()));
        h.run_steps(2);
        assert_eq!(h.state().doc.path.as_deref(), Some(path.as_path()));
        // What eframe does when the window closes.
        eframe::App::save(h.state_mut(), &mut storage);
    }
    let mut h = harness_with(Some(&storage), Options::default());
    assert!(
        h.state().doc.path.is_none(),
        "a restart opens the seed, not the file"
    );
    let canonical = path.canonicalize().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(h.state().ui.recent.first(), Some(&canonical));
    // File ▸ Open Recent lists it, and choosing it opens it.
    h.get_by_label("File").click_accesskit();
    h.run_steps(2);
    h.get_by_label_contains("Open Recent").click_accesskit();
    h.run_steps(2);
    h.get_by_label(&canonical.display().to_string())
        .click_accesskit();
    h.run_steps(3);
    assert_eq!(h.state().doc.path.as_deref(), Some(canonical.as_path()));
    assert!(h.state().doc.graph.id_of("EB").is_some());
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn autosaved_work_is_offered_back_after_a_crash() {
    let dir = temp_dir("autosave");
    let recovery = dir.join("autosave.mmd");
    let origin = dir.join("orders.mmd");
    // The previous run wrote its recovery file and never cleared it.
    let mut left = eda_studio::gui::files::Autosave::at(recovery.clone());
    left.write(
        "flowchart LR\nP[Orders] --> EB[Kafka]\nEB --> C[Billing]\n",
        Some(&origin),
        7,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let options = Options {
        autosave: Some(eda_studio::gui::files::Autosave::at(recovery.clone())),
        ..Options::default()
    };
    let mut h = harness_with(None, options);
    assert!(
        h.get_all_by_label_contains("Recover unsaved work").count() > 0,
        "the offer is on screen"
    );
    assert!(h.state().doc.graph.id_of("Billing").is_none());
    h.get_by_label("Recover").click();
    h.run_steps(3);
    let doc = &h.state().doc;
    assert!(
        doc.graph.id_of("C").is_some(),
        "the recovered diagram is open"
    );
    assert_eq!(doc.graph.component_count(), 3);
    assert_eq!(doc.path.as_deref(), Some(origin.as_path()));
    assert!(doc.is_dirty(), "recovered work is unsaved");
    let _ = std::fs::remove_dir_all(dir);
}

/// A file dropped onto the window, as the windowing backend hands it over.
#[derive(Debug)]
struct DroppedPath(std::path::PathBuf);

impl egui::DroppedFile for DroppedPath {
    fn path(&self) -> &std::path::Path {
        &self.0
    }
    fn bytes(&self) -> Result<Vec<u8>, String> {
        std::fs::read(&self.0).map_err(|e| e.to_string())
    }
}

#[test]
fn a_dropped_mmd_file_opens() {
    let dir = temp_dir("drop");
    let path = dir.join("dropped.mmd");
    std::fs::write(&path, "flowchart TD\nGW[Gateway] --> Q[Queue]\n")
        .unwrap_or_else(|e| panic!("{e}"));
    let mut h = harness();
    h.input_mut()
        .dropped_files
        .push(std::sync::Arc::new(DroppedPath(path.clone())));
    h.run_steps(3);
    assert_eq!(h.state().doc.path.as_deref(), Some(path.as_path()));
    assert!(h.state().doc.graph.id_of("GW").is_some());
    assert!(h.state().doc.graph.id_of("Q").is_some());
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn dragging_a_group_title_moves_its_members() {
    let mut h = harness();
    let doc = &h.state().doc;
    let (gid, rect) = eda_studio::gui::document::group_rects(doc)
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("the seed has a subgraph"));
    let group = doc.graph.group(gid).unwrap_or_else(|| panic!("group"));
    let members: Vec<_> = group.members.clone();
    assert!(!members.is_empty());
    let before: Vec<Pos2> = members.iter().map(|m| doc.position(*m)).collect();
    let outside: Vec<(eda_studio::model::ComponentId, Pos2)> = doc
        .graph
        .components()
        .filter(|c| !members.contains(&c.id))
        .map(|c| (c.id, doc.position(c.id)))
        .collect();
    // Grab the title band, a little inside the top-left corner.
    let title = h
        .state()
        .layout_to_screen(Pos2::new(rect.min.x + 12.0, rect.min.y + 8.0));
    drag(&mut h, title, title + vec2(80.0, 50.0));
    let doc = &h.state().doc;
    let zoom = h.state().canvas.zoom;
    for (m, p) in members.iter().zip(&before) {
        let d = doc.position(*m) - *p;
        assert!(
            (d.x * zoom - 80.0).abs() < 2.0 && (d.y * zoom - 50.0).abs() < 2.0,
            "member moved by {d:?} at zoom {zoom}"
        );
    }
    for (id, p) in outside {
        assert_eq!(doc.position(id), p, "components outside stay");
    }
    // One undo step puts the whole group back.
    h.key_press_modifiers(Modifiers::COMMAND, Key::Z);
    h.run_steps(1);
    for (m, p) in members.iter().zip(&before) {
        assert_eq!(h.state().doc.position(*m), *p);
    }
}

#[test]
fn save_on_an_untitled_document_resumes_the_pending_new() {
    let dir = temp_dir("save-resume");
    let path = dir.join("untitled.mmd");
    let mut h = harness();
    let at = center(&h, "ES");
    drag(&mut h, at, at + vec2(60.0, 40.0));
    assert!(h.state().doc.is_dirty() && h.state().doc.path.is_none());

    // New → Save → the path prompt is cancelled: nothing happens.
    h.key_press_modifiers(Modifiers::COMMAND, Key::N);
    h.run_steps(2);
    h.get_by_label("Save").click();
    h.run_steps(2);
    assert!(
        h.state().ui.path_prompt.is_some(),
        "Save on an untitled diagram asks where"
    );
    h.get_by_label("Cancel").click_accesskit();
    h.run_steps(3);
    assert!(h.state().ui.path_prompt.is_none(), "the prompt closed");
    assert!(
        h.state().doc.graph.component_count() > 0,
        "cancelled: diagram kept"
    );
    assert!(h.state().doc.is_dirty());
    // A later, unrelated save does not start the abandoned New.
    h.key_press_modifiers(Modifiers::COMMAND | Modifiers::SHIFT, Key::S);
    h.run_steps(2);
    h.event(Event::Text(dir.join("other.mmd").display().to_string()));
    h.run_steps(1);
    h.get_by_label("OK").click();
    h.run_steps(3);
    assert!(!h.state().doc.is_dirty());
    assert!(h.state().doc.graph.component_count() > 0, "no New after it");

    // Dirty again, untitled again (a fresh harness), and this time saved.
    let mut h = harness();
    let at = center(&h, "ES");
    drag(&mut h, at, at + vec2(60.0, 40.0));
    h.key_press_modifiers(Modifiers::COMMAND, Key::N);
    h.run_steps(2);
    h.get_by_label("Save").click();
    h.run_steps(2);
    h.event(Event::Text(path.display().to_string()));
    h.run_steps(1);
    h.get_by_label("OK").click();
    h.run_steps(4);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("saved: {e}"));
    assert!(text.contains("EB"), "the diagram was saved first");
    assert_eq!(
        h.state().doc.graph.component_count(),
        0,
        "then the New went ahead"
    );
    assert!(!h.state().doc.is_dirty());
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn the_inspector_edits_an_edge_event_type_with_undo() {
    let mut h = harness();
    let (id, old) = {
        let g = &h.state().doc.graph;
        let c = g
            .connections()
            .find(|c| {
                c.event_type.is_some() && c.kind == eda_studio::model::ConnectionKind::Publish
            })
            .unwrap_or_else(|| panic!("the seed publishes an event"));
        (c.id, c.label.clone())
    };
    h.state_mut().canvas.selection.edges.insert(id);
    h.run_steps(2);
    // The label field holds the same text; the event type field is next.
    let fields: Vec<_> = h
        .get_all(By::new().role(egui::accesskit::Role::TextInput).value(&old))
        .collect();
    assert_eq!(fields.len(), 2, "label and event type");
    fields[1].focus();
    drop(fields);
    h.run_steps(1);
    h.key_press_modifiers(Modifiers::COMMAND, Key::A);
    h.event(Event::Text("InvoiceRaised".into()));
    h.run_steps(1);
    h.key_press(Key::Enter);
    h.run_steps(2);
    let event = |h: &Harness<'_, EdaApp>| {
        h.state()
            .doc
            .graph
            .connection(id)
            .and_then(|c| c.event_type.as_ref().map(|e| e.as_str().to_string()))
    };
    assert_eq!(event(&h).as_deref(), Some("InvoiceRaised"));
    assert!(
        h.state()
            .doc
            .graph
            .event_types()
            .iter()
            .any(|e| e.as_str() == "InvoiceRaised"),
        "the catalogue has the new type"
    );
    h.state_mut().send(eda_studio::gui::command::Command::Undo);
    h.run_steps(2);
    assert_eq!(event(&h), Some(old));
}

#[test]
fn pasting_nodes_keeps_their_class_defs() {
    let mut h = harness();
    h.event(Event::Paste(
        "flowchart LR\nX[Hot path]:::hot --> Y[Cold]:::cold\nclassDef hot fill:#ff0000,color:#ffffff\nclassDef cold fill:#0000ff\nclassDef unused fill:#00ff00\n".into(),
    ));
    h.run_steps(2);
    let meta = &h.state().doc.graph.meta;
    assert_eq!(
        meta.class_defs.get("hot").map(Vec::as_slice),
        Some(&["fill:#ff0000".to_string(), "color:#ffffff".to_string()][..])
    );
    assert!(meta.class_defs.contains_key("cold"));
    assert!(
        !meta.class_defs.contains_key("unused"),
        "only what the nodes use"
    );
    let text = h.state().doc.to_text();
    assert!(
        text.contains("classDef hot fill:#ff0000,color:#ffffff"),
        "{text}"
    );
    h.key_press_modifiers(Modifiers::COMMAND, Key::Z);
    h.run_steps(1);
    assert!(
        !h.state().doc.graph.meta.class_defs.contains_key("hot"),
        "the paste, classDefs included, is one undo step"
    );
}
