//! End to end, how long a click on the timeline scrubber takes to show the
//! exact moment clicked (egui_kittest, headless: the app's UI logic runs
//! every step, nothing is rasterised): the seed diagram is run at Max in
//! the live driver until `GUI_SEEK_EVENTS` events (10,000,000 by default)
//! are on the record, paused, and the scrubber is clicked at moments
//! spread over the archived part of the run, in a scattered order. Each
//! time is from the UI step that sends the seek to the end of the first
//! UI step that has the frame of that moment (with the inspector's tables
//! of a selected component) in hand.
//!
//! `PAST_SNAPSHOTS` and `PAST_ARCHIVE_MB` (MiB) set the run's window and
//! archive (to compare ways of spending the same memory).
//!
//! A measurement, not a check: `#[ignore]`d, run it in a release build:
//! `cargo test --release --test gui_seek_latency -- --ignored --nocapture`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{harness, select_node, send};
use eda_studio::live::{Command as LiveCommand, Speed};
use eda_studio::sim::ArchiveOptions;
use egui::accesskit::Role;
use egui_kittest::kittest::Queryable as _;
use std::time::{Duration, Instant};

#[test]
#[ignore = "a measurement of a 10-million-event run: run it in release"]
fn a_click_on_the_scrubber_shows_the_exact_moment() {
    let events: u64 = std::env::var("GUI_SEEK_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000_000);
    let mut h = harness();
    // `PAST_SNAPSHOTS` / `PAST_ARCHIVE_MB` (MiB): another way to keep the past.
    let env = |name: &str| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
    };
    if let Some(n) = env("PAST_SNAPSHOTS") {
        h.state_mut().run.past.snapshots = n;
    }
    if let Some(mb) = env("PAST_ARCHIVE_MB") {
        h.state_mut().run.past.archive = Some(ArchiveOptions {
            max_bytes: mb << 20,
            ..ArchiveOptions::default()
        });
    }
    send(&mut h, LiveCommand::SetSpeed(Speed::Max));
    send(&mut h, LiveCommand::Run);
    let started = Instant::now();
    loop {
        h.run_steps(1);
        let f = h.state().run.frame.clone();
        if f.is_some_and(|f| f.events_produced >= events) {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(1200), "the run");
        std::thread::sleep(Duration::from_millis(100));
    }
    send(&mut h, LiveCommand::Pause);
    h.run_steps(5);
    select_node(&mut h, "InvDB");
    let head = h.state().run.frame.clone().unwrap();
    let window = head.timeline.window_start_us;
    let share = window as f32 / head.head_us.max(1) as f32;
    eprintln!(
        "run: {} events, {:.0} s virtual, {:.1} s wall; archive {} images, {:.1} MB; window from {:.0} s",
        head.events_produced,
        head.head_us as f64 / 1e6,
        started.elapsed().as_secs_f64(),
        head.timeline.archived_images,
        head.timeline.archive_bytes as f64 / 1e6,
        window as f64 / 1e6,
    );
    // What a UI step costs by itself (the app at the head, paused).
    let idle = Instant::now();
    h.run_steps(20);
    let step_ms = idle.elapsed().as_secs_f64() * 1e3 / 20.0;
    let n = 41u32;
    let mut steps_taken = Vec::new();
    let mut ms = Vec::new();
    let mut last = head.now_us;
    for j in 0..n {
        let fraction = share * ((j * 17) % n) as f32 / n as f32;
        let r = h.get_by_role_and_label(Role::Slider, "Time").rect();
        let radius = r.height() / 2.5;
        let at = egui::pos2(
            r.left() + radius + fraction * (r.width() - 2.0 * radius),
            r.center().y,
        );
        h.hover_at(at);
        h.run_steps(1);
        let clicked = Instant::now();
        h.drag_at(at);
        h.drop_at(at);
        h.run_steps(1);
        let mut steps = 1;
        let shown = loop {
            let f = h.state().run.frame.clone().unwrap();
            if f.viewing_past
                && f.timeline.seeking.is_none()
                && f.now_us != last
                && f.detail.as_ref().is_some_and(|d| d.key == "InvDB")
            {
                break f;
            }
            assert!(clicked.elapsed() < Duration::from_secs(30), "the seek");
            h.run_steps(1);
            steps += 1;
        };
        steps_taken.push(steps);
        ms.push(clicked.elapsed().as_secs_f64() * 1e3);
        last = shown.now_us;
    }
    ms.sort_by(f64::total_cmp);
    eprintln!(
        "click to the moment shown: {} clicks, {:.1} / {:.1} / {:.1} / {:.1} ms (best / median / 90% / worst)",
        ms.len(),
        ms[0],
        ms[ms.len() / 2],
        ms[ms.len() * 9 / 10],
        ms[ms.len() - 1]
    );
    steps_taken.sort_unstable();
    eprintln!(
        "a UI step alone: {step_ms:.1} ms; UI steps from the click to the moment: median {}, most {}",
        steps_taken[steps_taken.len() / 2],
        steps_taken[steps_taken.len() - 1]
    );
    assert!(ms.len() == n as usize);
}
