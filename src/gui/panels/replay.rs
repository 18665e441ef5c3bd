//! The inspector's "Replay" section for a consumer group during a run:
//! reset the group to an offset or a time (then watch its lag jump and
//! drain), add a new consumer of the same topics that reads from the
//! oldest record kept (offset 0 while the live retention holds the whole
//! run) and catches up, and rebuild its projection from the event store with a window
//! showing its progress (with Cancel) while the driver replays the store,
//! then the diff of the sink state before and after.
//!
//! Reads only the frame ([`crate::live::ReplayFrame`] for the rebuild's
//! progress and outcome); emits [`Command::Sim`] with the engine's control
//! inputs.
//! Holds its small widget state (the offset and time typed) in egui's
//! memory, not in the app.

use crate::gui::command::Command;
use crate::gui::run::clock_label;
use crate::gui::theme::Theme;
use crate::live::{Command as LiveCommand, Frame, RebuildOutcome, RebuildProgress};
use crate::sim::{Fault, GroupParams, Retention, VirtualTime};

/// Draws the replay actions for `key` when it is a consumer group of the
/// frame's run, and the rebuild window when a rebuild has finished.
pub fn group_actions_ui(
    ui: &mut egui::Ui,
    frame: &Frame,
    key: &str,
    theme: &Theme,
    commands: &mut Vec<Command>,
) {
    rebuild_window_ui(ui.ctx(), frame, theme, commands);
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
    let added = ui
        .add_enabled(live, egui::Button::new("Add a consumer from offset 0"))
        .on_hover_text(format!(
            "A new consumer group reading {key}'s topics from the oldest record the bus \
             keeps ({}); watch its lag fall as it catches up",
            retention_reach(frame)
        ))
        .on_disabled_hover_text("Return to Live first");
    if added.clicked()
        && let Some(fault) = new_consumer(frame, key)
    {
        commands.push(Command::Sim(LiveCommand::Fault(fault)));
    }
    if let Some(r) = &frame.replay.rebuild
        && r.group == key
    {
        ui.label(egui::RichText::new(summary(r)).color(theme.ink_weak));
    }
}

/// How far back a new consumer can read, in words.
fn retention_reach(frame: &Frame) -> String {
    match frame.retention {
        Retention::KeepAll => "every record".into(),
        Retention::UntilConsumed => "what some group has not committed yet".into(),
        Retention::KeepLatest { records } => {
            format!("the latest {records} records of each partition")
        }
        r @ Retention::Time { .. } => format!("records within {r}"),
    }
}

/// A group reading `key`'s topics, named `<key>.new` (`.new2`, … when taken).
pub fn new_consumer(frame: &Frame, key: &str) -> Option<Fault> {
    let group = frame.groups.iter().find(|g| g.group == key)?;
    let mut topics: Vec<String> = group.partitions.iter().map(|p| p.topic.clone()).collect();
    topics.sort();
    topics.dedup();
    let taken = |n: &str| frame.groups.iter().any(|g| g.group == n);
    let name = (1..)
        .map(|i| match i {
            1 => format!("{key}.new"),
            i => format!("{key}.new{i}"),
        })
        .find(|n| !taken(n))?;
    Some(Fault::AddGroup {
        name,
        topics,
        params: GroupParams::default(),
    })
}

/// Memory key: the number of the rebuild whose window was closed.
const SHOWN_REBUILD: &str = "replay-rebuild-closed";

/// The rebuild's outcome in one line.
pub fn summary(r: &RebuildOutcome) -> String {
    let from = from_checkpoint(r.checkpoint, r.replayed);
    match &r.result {
        Err(e) => format!("Cannot rebuild {}: {e}", r.group),
        Ok(sinks) if sinks.iter().all(|d| d.identical) => {
            format!("Rebuilt {}{from}: identical", r.group)
        }
        Ok(sinks) => {
            let (a, c, d) = sinks.iter().fold((0, 0, 0), |(a, c, d), s| {
                (a + s.added, c + s.changed, d + s.removed)
            });
            format!(
                "Rebuilt {}{from}: {a} rows added, {c} changed, {d} removed",
                r.group
            )
        }
    }
}

/// " from a checkpoint at position P + N events" when the store's early
/// events were folded into a checkpoint (a long live run), else "".
fn from_checkpoint(checkpoint: u64, replayed: u64) -> String {
    if checkpoint == 0 {
        String::new()
    } else {
        format!(" from a checkpoint at position {checkpoint} + {replayed} events")
    }
}

/// The progress line of a rebuild under way.
pub fn progress_label(p: &RebuildProgress) -> String {
    if p.checkpoint == 0 {
        format!("{} of {} events replayed", p.done, p.total)
    } else {
        format!(
            "from a checkpoint at position {}: {} of {} later events replayed",
            p.checkpoint, p.done, p.total
        )
    }
}

/// Where the rebuild window opens (its top centre): over the canvas, clear
/// of the menu and the run toolbar it would otherwise cover.
fn window_pos(ctx: &egui::Context) -> egui::Pos2 {
    ctx.content_rect().center_top() + egui::vec2(0.0, 110.0)
}

fn rebuild_window_ui(
    ctx: &egui::Context,
    frame: &Frame,
    theme: &Theme,
    commands: &mut Vec<Command>,
) {
    if let Some(p) = &frame.replay.rebuilding {
        egui::Window::new("Projection rebuild")
            .collapsible(false)
            .default_width(420.0)
            .pivot(egui::Align2::CENTER_TOP)
            .default_pos(window_pos(ctx))
            .show(ctx, |ui| {
                ui.label(format!("Rebuilding {} from its event store…", p.group));
                ui.add(
                    egui::ProgressBar::new(p.fraction())
                        .text(progress_label(p))
                        .animate(true),
                );
                ui.horizontal(|ui| {
                    ui.label(
                        egui::RichText::new(format!(
                            "compared with the live state at {}",
                            clock_label(p.at_us)
                        ))
                        .color(theme.ink_weak),
                    );
                    if ui.button("Cancel rebuild").clicked() {
                        commands.push(Command::Sim(LiveCommand::CancelRebuild));
                    }
                });
            });
        return;
    }
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
        .pivot(egui::Align2::CENTER_TOP)
        .default_pos(window_pos(ctx))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gui::theme::ThemeKind;
    use crate::live::{RunState, SinkDiff, Speed};
    use egui_kittest::kittest::Queryable as _;

    /// A frame of the seed run with `replay` as the driver would fill it.
    fn frame(edit: impl FnOnce(&mut crate::live::ReplayFrame)) -> Frame {
        let text = crate::SEED_DIAGRAM;
        let chart = crate::mermaid::parse_flowchart(text).unwrap_or_else(|d| panic!("{d:?}"));
        let graph = crate::model::ArchGraph::from_flowchart(&chart);
        let scenario = crate::sim::load_scenario(text, &graph).unwrap_or_else(|d| panic!("{d:?}"));
        let engine = crate::sim::Engine::new(&graph, scenario, 1).unwrap_or_else(|e| panic!("{e}"));
        let mut f = Frame::capture(&engine, RunState::Paused, Speed::Factor(1.0), 1);
        edit(&mut f.replay);
        f
    }

    fn show(frame: Frame) -> Vec<Command> {
        let theme = Theme::new(ThemeKind::Dark);
        let mut h = egui_kittest::Harness::new_ui_state(
            move |ui, commands: &mut Vec<Command>| {
                group_actions_ui(ui, &frame, "Consumer1", &theme, commands);
            },
            Vec::new(),
        );
        // The progress bar animates: run a few frames, not to rest.
        h.run_steps(3);
        let progress = h.query_by_label_contains("events replayed").is_some();
        if progress {
            h.get_by_label("Cancel rebuild").click();
            h.run_steps(2);
        } else {
            // The window, and the line under the buttons.
            let shown = h
                .query_all_by_label("Rebuilt Consumer1: 1 rows added, 0 changed, 0 removed")
                .count();
            assert_eq!(shown, 2);
            h.get_by_label("sku 000017");
        }
        std::mem::take(h.state_mut())
    }

    #[test]
    fn a_rebuild_under_way_shows_its_progress_and_cancels() {
        let f = frame(|r| {
            r.rebuilding = Some(RebuildProgress {
                group: "Consumer1".into(),
                done: 300,
                total: 1200,
                at_us: 1_500_000,
                checkpoint: 0,
            });
        });
        let p = f.replay.rebuilding.clone().unwrap_or_else(|| panic!());
        assert_eq!(progress_label(&p), "300 of 1200 events replayed");
        let late = RebuildProgress {
            checkpoint: 88_000,
            ..p.clone()
        };
        assert_eq!(
            progress_label(&late),
            "from a checkpoint at position 88000: 300 of 1200 later events replayed"
        );
        assert_eq!(p.fraction(), 0.25);
        let commands = show(f);
        assert!(
            matches!(
                commands.as_slice(),
                [Command::Sim(LiveCommand::CancelRebuild)]
            ),
            "{commands:?}"
        );
    }

    #[test]
    fn a_finished_rebuild_shows_its_diff() {
        let f = frame(|r| {
            r.rebuilds = 1;
            r.rebuild = Some(RebuildOutcome {
                group: "Consumer1".into(),
                at_us: 1_500_000,
                checkpoint: 0,
                replayed: 1_000,
                result: Ok(vec![SinkDiff {
                    sink: "InvDB".into(),
                    identical: false,
                    added: 1,
                    changed: 0,
                    removed: 0,
                    rows: vec![crate::live::DiffRow {
                        key: "sku 000017".into(),
                        before: String::new(),
                        after: "99".into(),
                    }],
                }]),
            });
        });
        assert!(show(f).is_empty());
    }

    #[test]
    fn a_rebuild_from_a_checkpoint_says_so() {
        let outcome = RebuildOutcome {
            group: "ReadModel".into(),
            at_us: 3_000_000_000,
            checkpoint: 640_000,
            replayed: 12_345,
            result: Ok(Vec::new()),
        };
        assert_eq!(
            summary(&outcome),
            "Rebuilt ReadModel from a checkpoint at position 640000 + 12345 events: identical"
        );
        let whole = RebuildOutcome {
            checkpoint: 0,
            ..outcome
        };
        assert_eq!(summary(&whole), "Rebuilt ReadModel: identical");
    }
}
