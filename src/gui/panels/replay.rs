//! The inspector's "Replay" section for a consumer group during a run:
//! reset the group to an offset or a time (then watch its lag jump and
//! drain), add a new consumer of the same topics that reads from the
//! oldest record kept (offset 0 while the live retention holds the whole
//! run) and catches up — committing as the run's other groups do (the
//! live 5 s timer unless the diagram says otherwise, shown beside the
//! button) — and rebuild its projection from the event store with a window
//! showing its progress (with Cancel) while the driver replays the store,
//! then the diff of the sink state before and after.
//!
//! Reads the frame ([`crate::live::ReplayFrame`] for the rebuild's
//! progress and outcome) and the document's scenario (for how a new group
//! commits); emits [`Command::Sim`] with the engine's control inputs.
//! Holds its small widget state (the offset and time typed) in egui's
//! memory, not in the app.
//!
//! Also the "Recorded run" window of a run opened from an older engine's
//! recording ([`stored_run_toggle_ui`]): what the file stores, as stored —
//! the snapshot at or before the moment shown with its metric samples per
//! component, and the last stored events — since the run on the canvas is
//! only this engine's re-run of it.

use crate::gui::command::Command;
use crate::gui::document::{Document, Positions, write};
use crate::gui::panels::scenario::commit_line;
use crate::gui::run::{OpenedRun, clock_label};
use crate::gui::theme::Theme;
use crate::live::StoredRun;
use crate::live::{
    Command as LiveCommand, Frame, LIVE_COMMIT_INTERVAL_US, RebuildOutcome, RebuildProgress,
    live_commits,
};
use crate::record::OlderEngine;
use crate::sim::{CommitSource, Fault, GroupParams, Retention, VirtualTime, load_scenario};

/// Draws the replay actions for `key` when it is a consumer group of the
/// frame's run, and the rebuild window when a rebuild has finished.
pub fn group_actions_ui(
    ui: &mut egui::Ui,
    doc: &Document,
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
    let name = new_consumer_name(frame, key);
    let (params, source) = new_group_params(ui, doc, name.as_deref().unwrap_or(key));
    let added = ui
        .horizontal(|ui| {
            let added = ui
                .add_enabled(live, egui::Button::new("Add a consumer from offset 0"))
                .on_hover_text(format!(
                    "A new consumer group reading {key}'s topics from the oldest record the \
                     bus keeps ({}); watch its lag fall as it catches up",
                    retention_reach(frame)
                ))
                .on_disabled_hover_text("Return to Live first");
            ui.label(
                egui::RichText::new(format!("commits {}", commit_line(&params, source)))
                    .color(theme.ink_weak),
            )
            .on_hover_text(
                "How the new group commits its offsets: as the run's other groups do \
                 (a crash re-delivers what it processed since its last commit)",
            );
            added
        })
        .inner;
    if added.clicked()
        && let Some(fault) = new_consumer(frame, key, params)
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

/// The name a group added beside `key` gets: `<key>.new` (`.new2`, …
/// when taken).
fn new_consumer_name(frame: &Frame, key: &str) -> Option<String> {
    let taken = |n: &str| frame.groups.iter().any(|g| g.group == n);
    (1..)
        .map(|i| match i {
            1 => format!("{key}.new"),
            i => format!("{key}.new{i}"),
        })
        .find(|n| !taken(n))
}

/// A group reading `key`'s topics, named as [`new_consumer_name`] says,
/// running with `params`.
pub fn new_consumer(frame: &Frame, key: &str, params: GroupParams) -> Option<Fault> {
    let group = frame.groups.iter().find(|g| g.group == key)?;
    let mut topics: Vec<String> = group.partitions.iter().map(|p| p.topic.clone()).collect();
    topics.sort();
    topics.dedup();
    Some(Fault::AddGroup {
        name: new_consumer_name(frame, key)?,
        topics,
        params,
    })
}

/// How group `name`, added to the live run of `doc`, runs: as a group the
/// diagram does not mention in a live run — the diagram's `*` settings,
/// committing on the live timer ([`live_commits`]) unless the diagram
/// chose otherwise — the same rule as a consumer drawn into the diagram
/// mid-run. Kept in egui's memory per document revision (the diagram is
/// parsed once per change, not per frame).
fn new_group_params(ui: &egui::Ui, doc: &Document, name: &str) -> (GroupParams, CommitSource) {
    let id = egui::Id::new(("replay-new-group", doc.revision, name));
    if let Some(known) = ui.data(|d| d.get_temp(id)) {
        return known;
    }
    let text = write(&doc.graph, &Positions::new());
    let found = match load_scenario(&text, &doc.graph) {
        Ok(mut scenario) => {
            live_commits(&mut scenario);
            (scenario.group_params(name), scenario.commit_source(name))
        }
        // The run shows the scenario's error; the group still commits as
        // a live run's groups do by default.
        Err(_) => (
            GroupParams {
                commit_interval_us: LIVE_COMMIT_INTERVAL_US,
                ..GroupParams::default()
            },
            CommitSource::LiveDefault,
        ),
    };
    ui.data_mut(|d| d.insert_temp(id, found));
    found
}

/// Memory key: whether the "Recorded run" window is open.
const STORED_OPEN: &str = "replay-stored-run-open";

/// The run toolbar's note on a run opened from an older engine's
/// recording: a toggle of the "Recorded run" window (open at first), which
/// shows what the file stores at the moment shown (`now_us`), as stored.
pub fn stored_run_toggle_ui(
    ui: &mut egui::Ui,
    opened: &OpenedRun,
    older: &OlderEngine,
    stored: &StoredRun,
    now_us: u64,
    theme: &Theme,
) {
    let id = egui::Id::new(STORED_OPEN);
    let mut open = ui.data(|d| d.get_temp(id)).unwrap_or(true);
    let note = egui::RichText::new("older engine's recording").color(theme.warning);
    let toggle = ui.selectable_label(open, note).on_hover_text(format!(
        "{}: {older}; the run on the canvas is this engine's re-run of its diagram, seed \
         and controls (recorded run hash {})",
        opened.path.display(),
        opened.recorded_hash.as_deref().unwrap_or("none")
    ));
    if toggle.clicked() {
        open = !open;
    }
    if open {
        stored_run_window_ui(ui.ctx(), &mut open, older, stored, now_us, theme);
    }
    ui.data_mut(|d| d.insert_temp(id, open));
}

/// The metrics a recording stores per component at each snapshot, with
/// the column titles the window gives them.
const STORED_METRICS: [(&str, &str); 4] = [
    ("events_in", "events in"),
    ("events_out", "events out"),
    ("lag", "lag"),
    ("dlq", "DLQ"),
];

fn stored_run_window_ui(
    ctx: &egui::Context,
    open: &mut bool,
    older: &OlderEngine,
    stored: &StoredRun,
    now_us: u64,
    theme: &Theme,
) {
    egui::Window::new("Recorded run")
        .open(open)
        .collapsible(true)
        .default_width(460.0)
        .pivot(egui::Align2::CENTER_TOP)
        .default_pos(window_pos(ctx))
        .show(ctx, |ui| {
            ui.label(egui::RichText::new(older.to_string()).color(theme.warning));
            ui.label(format!(
                "{} events stored, recorded run hash {}",
                stored.events,
                stored.run_hash.as_deref().unwrap_or("none (unfinished)")
            ));
            ui.separator();
            let Some((snap, samples)) = stored.snapshot_at(now_us) else {
                ui.weak("No snapshot stored.");
                return;
            };
            ui.label(format!(
                "Stored at {} (for the moment shown, {}): {} events, {} deliveries, \
                 run hash {}",
                clock_label(snap.time_us),
                clock_label(now_us),
                snap.events,
                snap.deliveries,
                snap.run_hash
            ));
            egui::ScrollArea::vertical()
                .id_salt("stored-run")
                .max_height(320.0)
                .show(ui, |ui| {
                    stored_metrics_ui(ui, samples);
                    ui.add_space(6.0);
                    egui::CollapsingHeader::new(format!(
                        "Last {} stored events",
                        stored.last_events.len()
                    ))
                    .show(ui, |ui| {
                        egui::Grid::new("stored-events")
                            .striped(true)
                            .show(ui, |ui| {
                                for title in ["event", "time", "topic", "part.", "offset", "key"] {
                                    ui.weak(title);
                                }
                                ui.end_row();
                                for e in &stored.last_events {
                                    ui.label(format!("#{}", e.event_id));
                                    ui.label(clock_label(e.time_us));
                                    ui.label(&e.topic);
                                    ui.label(e.partition.to_string());
                                    ui.label(e.offset.to_string());
                                    ui.label(e.key.to_string());
                                    ui.end_row();
                                }
                            });
                    });
                });
        });
}

/// One row per component of a stored snapshot's samples (in the order
/// stored: by component), one column per metric; "–" where none is stored.
fn stored_metrics_ui(ui: &mut egui::Ui, samples: &[crate::record::MetricSample]) {
    egui::Grid::new("stored-metrics")
        .striped(true)
        .show(ui, |ui| {
            ui.weak("component");
            for (_, title) in STORED_METRICS {
                ui.weak(title);
            }
            ui.end_row();
            let mut rest = samples;
            while let Some(first) = rest.first() {
                let n = rest
                    .iter()
                    .take_while(|m| m.component == first.component)
                    .count();
                let (row, next) = rest.split_at(n);
                ui.label(&first.component);
                for (metric, _) in STORED_METRICS {
                    match row.iter().find(|m| m.metric == metric) {
                        Some(m) => ui.label(m.value.to_string()),
                        None => ui.weak("–"),
                    };
                }
                ui.end_row();
                rest = next;
            }
        });
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
        let doc = Document::seed();
        let mut h = egui_kittest::Harness::new_ui_state(
            move |ui, commands: &mut Vec<Command>| {
                group_actions_ui(ui, &doc, &frame, "Consumer1", &theme, commands);
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
