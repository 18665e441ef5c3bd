//! The inspector's "Replay" section for a consumer group during a run:
//! reset the group to an offset or a time (then watch its lag jump and
//! drain), and rebuild its projection from the event store with a window
//! showing the diff of the sink state before and after.
//!
//! Reads only the frame ([`crate::live::ReplayFrame`] for the rebuild's
//! outcome); emits [`Command::Sim`] with the engine's control inputs.
//! Holds its small widget state (the offset and time typed) in egui's
//! memory, not in the app.

use crate::gui::command::Command;
use crate::gui::run::clock_label;
use crate::gui::theme::Theme;
use crate::live::{Command as LiveCommand, Frame, RebuildOutcome};
use crate::sim::{Fault, VirtualTime};

/// Draws the replay actions for `key` when it is a consumer group of the
/// frame's run, and the rebuild window when a rebuild has finished.
pub fn group_actions_ui(
    ui: &mut egui::Ui,
    frame: &Frame,
    key: &str,
    theme: &Theme,
    commands: &mut Vec<Command>,
) {
    rebuild_window_ui(ui.ctx(), frame, theme);
    if !frame.groups.iter().any(|g| g.group == key) {
        return;
    }
    ui.separator();
    let live = !frame.viewing_past;
    let rebuild = ui
        .horizontal(|ui| {
            ui.strong("Replay");
            ui.add_enabled(live, egui::Button::new("Rebuild projection"))
        })
        .inner
        .on_hover_text(
            "Rebuild the sinks this group writes from the event store, then compare with the live state",
        )
        .on_disabled_hover_text("Return to Live first");
    if rebuild.clicked() {
        commands.push(Command::Sim(LiveCommand::RebuildProjection(
            key.to_string(),
        )));
        ui.data_mut(|d| d.insert_temp(egui::Id::new(SHOWN_REBUILD), u64::MAX));
    }
    let offset_id = ui.id().with(("reset-offset", key));
    let time_id = ui.id().with(("reset-time", key));
    let mut offset: u64 = ui.data(|d| d.get_temp(offset_id)).unwrap_or(0);
    let mut secs: f64 = ui.data(|d| d.get_temp(time_id)).unwrap_or(0.0);
    let fault = |f: Fault| Command::Sim(LiveCommand::Fault(f));
    ui.horizontal(|ui| {
        let button = ui
            .add_enabled(live, egui::Button::new("Reset to offset"))
            .on_hover_text(
                "Move every partition of the group to this offset; it re-reads from there",
            )
            .on_disabled_hover_text("Return to Live first");
        ui.add(egui::DragValue::new(&mut offset).range(0..=u64::MAX));
        if button.clicked() {
            commands.push(fault(Fault::ResetToOffset {
                group: key.to_string(),
                offset,
            }));
        }
    });
    ui.horizontal(|ui| {
        let button = ui
            .add_enabled(live, egui::Button::new("Reset to time"))
            .on_hover_text("Move every partition to its first record at or after this virtual time")
            .on_disabled_hover_text("Return to Live first");
        let max = frame.now_us as f64 / 1e6;
        ui.add(
            egui::DragValue::new(&mut secs)
                .range(0.0..=max)
                .speed(0.01)
                .suffix(" s"),
        );
        if button.clicked() {
            commands.push(fault(Fault::ResetToTime {
                group: key.to_string(),
                at: VirtualTime::from_us((secs * 1e6) as u64),
            }));
        }
    });
    ui.data_mut(|d| {
        d.insert_temp(offset_id, offset);
        d.insert_temp(time_id, secs);
    });
    if let Some(r) = &frame.replay.rebuild
        && r.group == key
    {
        ui.label(egui::RichText::new(summary(r)).color(theme.ink_weak));
    }
}

/// Memory key: the number of the rebuild whose window was closed.
const SHOWN_REBUILD: &str = "replay-rebuild-closed";

/// The rebuild's outcome in one line.
pub fn summary(r: &RebuildOutcome) -> String {
    match &r.result {
        Err(e) => format!("Cannot rebuild {}: {e}", r.group),
        Ok(sinks) if sinks.iter().all(|d| d.identical) => {
            format!("Rebuilt {}: identical", r.group)
        }
        Ok(sinks) => {
            let (a, c, d) = sinks.iter().fold((0, 0, 0), |(a, c, d), s| {
                (a + s.added, c + s.changed, d + s.removed)
            });
            format!(
                "Rebuilt {}: {a} rows added, {c} changed, {d} removed",
                r.group
            )
        }
    }
}

fn rebuild_window_ui(ctx: &egui::Context, frame: &Frame, theme: &Theme) {
    let Some(r) = &frame.replay.rebuild else {
        return;
    };
    let closed_id = egui::Id::new(SHOWN_REBUILD);
    let closed: u64 = ctx.data(|d| d.get_temp(closed_id)).unwrap_or(0);
    if closed == frame.replay.rebuilds {
        return;
    }
    let mut open = true;
    egui::Window::new("Projection rebuild")
        .open(&mut open)
        .collapsible(false)
        .default_width(420.0)
        .show(ctx, |ui| {
            ui.label(summary(r));
            ui.label(
                egui::RichText::new(format!("at {}", clock_label(r.at_us))).color(theme.ink_weak),
            );
            let Ok(sinks) = &r.result else {
                return;
            };
            for d in sinks {
                ui.separator();
                if d.identical {
                    ui.label(format!("{}: identical", d.sink));
                    continue;
                }
                ui.strong(format!(
                    "{}: {} added, {} changed, {} removed",
                    d.sink, d.added, d.changed, d.removed
                ));
                egui::Grid::new(("rebuild-diff", &d.sink))
                    .num_columns(3)
                    .striped(true)
                    .show(ui, |ui| {
                        ui.strong("row");
                        ui.strong("before");
                        ui.strong("after");
                        ui.end_row();
                        for row in &d.rows {
                            ui.label(&row.key);
                            ui.label(&row.before);
                            ui.label(&row.after);
                            ui.end_row();
                        }
                    });
            }
        });
    if !open {
        ctx.data_mut(|d| d.insert_temp(closed_id, frame.replay.rebuilds));
    }
}
