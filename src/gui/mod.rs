//! The designer window: an eframe (glow) app that opens, edits, lays out,
//! saves and exports architecture diagrams, the file staying Mermaid.
//!
//! - [`app`]: the shell; owns state split by concern and applies commands
//!   once per frame.
//! - [`command`]: [`command::Edit`]s that return their inverse, the undo
//!   [`command::History`], and the [`command::Command`]s panels emit.
//! - [`document`]: the model with positions and file; text in and out.
//! - [`panels`]: canvas, palette, inspector, source pane, menu, status bar.
//! - [`run`]: the live simulation of the document (driver handle, latest frame).
//! - [`theme`]: every colour and size, dark and light.
//! - [`files`], [`examples`], [`export`], [`timer`], [`look`].
//!
//! Sits at the top of the crate: uses the model, layout, export and live; nothing
//! imports it. Never touches simulation internals.

pub mod app;
pub mod command;
pub mod document;
pub mod examples;
pub mod export;
pub mod files;
pub mod look;
pub mod panels;
pub mod run;
pub mod theme;
pub mod timer;

pub use app::{EdaApp, Options};

use anyhow::{Result, anyhow};
use std::path::PathBuf;

/// Whether a window can be opened here (an X11 or Wayland display is set).
pub fn display_available() -> bool {
    ["DISPLAY", "WAYLAND_DISPLAY", "WAYLAND_SOCKET"]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|s| !s.is_empty()))
}

/// Opens the designer window on `file` (the built-in seed diagram when
/// `None`) and returns when it closes.
///
/// `EDA_STUDIO_BENCH_FRAMES=N` renders N frames as fast as possible, prints
/// frame times and exits; `EDA_STUDIO_BENCH_EDIT=1` moves a node every frame.
/// `EDA_STUDIO_BENCH_RUN=1|100|max` also runs the simulation at that speed
/// from the first frame and prints its throughput at the end.
/// `EDA_STUDIO_SOURCE_PANE=1` starts with the source pane open.
pub fn run(file: Option<PathBuf>) -> Result<()> {
    let started = std::time::Instant::now();
    let bench_frames = std::env::var("EDA_STUDIO_BENCH_FRAMES")
        .ok()
        .and_then(|v| v.parse().ok());
    let options = Options {
        file,
        native_dialogs: true,
        autosave: if bench_frames.is_some() {
            None
        } else {
            files::Autosave::in_data_dir()
        },
        bench_frames,
        bench_edit: std::env::var_os("EDA_STUDIO_BENCH_EDIT").is_some(),
        bench_run: std::env::var("EDA_STUDIO_BENCH_RUN")
            .ok()
            .and_then(|v| bench_speed(&v)),
        started: Some(started),
        show_source: std::env::var_os("EDA_STUDIO_SOURCE_PANE").is_some(),
    };
    let mut native = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("eda-studio")
            .with_app_id("eda-studio")
            .with_inner_size([1400.0, 900.0])
            .with_drag_and_drop(true),
        ..Default::default()
    };
    if bench_frames.is_some() {
        // Measure frame cost, not the wait for the display.
        native.glow_options.vsync = false;
    }
    eframe::run_native(
        "eda-studio",
        native,
        Box::new(move |cc| Ok(Box::new(EdaApp::new(&cc.egui_ctx, cc.storage, options)))),
    )
    .map_err(|e| anyhow!("cannot open the window: {e}"))
}

/// The speed `EDA_STUDIO_BENCH_RUN` names: a factor (`100`, `0.5`) or `max`.
fn bench_speed(text: &str) -> Option<crate::live::Speed> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("max") {
        return Some(crate::live::Speed::Max);
    }
    text.trim_end_matches(['x', '×'])
        .parse::<f64>()
        .ok()
        .filter(|f| f.is_finite() && *f > 0.0)
        .map(crate::live::Speed::Factor)
}
