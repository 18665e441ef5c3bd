//! The bus tab of the run dock: topics × partitions with their end offsets
//! (high watermarks), and for each consumer group its committed offset,
//! lag (coloured by size) and owning instance per partition; above them
//! the groups' instance assignment and the event stores' global position
//! and stream count.
//!
//! When a bus is selected on the canvas the tab shows that bus only;
//! otherwise every bus. The same grid ([`partition_grid`]) is what an
//! expanded bus node shows on the canvas (`badges.rs`). Reads the frame;
//! emits nothing.

use std::collections::BTreeMap;

use crate::gui::command::Command;
use crate::gui::panels::dock::DockContext;
use crate::gui::theme::Theme;
use crate::live::Frame;
use crate::model::Role;
use crate::sim::{PartitionLag, Retention};
use egui::{Color32, RichText};
use egui_extras::{Column, TableBuilder};

/// Lag above which a cell warns.
const LAG_WARN: u64 = 10;
/// Lag above which a cell alarms.
const LAG_ALARM: u64 = 100;
/// Height of a table row.
const ROW_HEIGHT: f32 = 18.0;

/// The tab's state.
#[derive(Debug, Default)]
pub struct BusViewState {}

/// One row of the table: a partition of a topic.
pub(super) struct Row<'a> {
    pub topic: &'a str,
    pub partition: u32,
    pub low: u64,
    pub high: u64,
}

/// A group's name and its partitions by (topic, partition number).
pub(super) type GroupCells<'a> = (&'a str, BTreeMap<(&'a str, u32), &'a PartitionLag>);

/// The partitions of `bus` (every bus when `None`) as rows, and the
/// groups reading any of them with their committed offset and lag per
/// partition, from `frame` (the moment shown).
pub(super) fn partition_grid<'a>(
    frame: &'a Frame,
    bus: Option<&str>,
) -> (Vec<Row<'a>>, Vec<GroupCells<'a>>) {
    let rows: Vec<Row<'a>> = frame
        .flow
        .topics
        .iter()
        .filter(|t| bus.is_none_or(|b| t.bus == b))
        .flat_map(|t| {
            t.partitions.iter().enumerate().map(|(p, ends)| Row {
                topic: &t.name,
                partition: p as u32,
                low: ends.low,
                high: ends.high,
            })
        })
        .collect();
    let cells = frame
        .groups
        .iter()
        .filter(|g| {
            g.partitions
                .iter()
                .any(|p| rows.iter().any(|r| r.topic == p.topic))
        })
        .map(|g| {
            let by = g
                .partitions
                .iter()
                .map(|p| ((p.topic.as_str(), p.partition), p))
                .collect();
            (g.group.as_str(), by)
        })
        .collect();
    (rows, cells)
}

/// The text of a partition's row label, `Topic/p`.
pub fn partition_label(topic: &str, partition: u32) -> String {
    format!("{topic}/{partition}")
}

/// The colour of a lag.
pub(super) fn lag_color(lag: u64, theme: &Theme) -> Color32 {
    match lag {
        0 => theme.spark,
        l if l <= LAG_WARN => theme.ink,
        l if l <= LAG_ALARM => theme.warning,
        _ => theme.error,
    }
}

/// Draws the tab.
pub fn bus_view_ui(
    ui: &mut egui::Ui,
    _state: &mut BusViewState,
    cx: &DockContext<'_>,
    _commands: &mut Vec<Command>,
) {
    let Some(frame) = cx.frame else {
        ui.label("Run the simulation to see its topics, partitions and offsets.");
        return;
    };
    // A bus selected on the canvas is shown alone.
    let selected_bus = cx.selection.nodes.iter().find_map(|&id| {
        let c = cx.doc.graph.component(id)?;
        (c.role == Role::Bus).then(|| c.key.clone())
    });
    let flow = &frame.flow;
    ui.horizontal_wrapped(|ui| {
        match &selected_bus {
            Some(bus) => ui.strong(format!("Bus {bus}")),
            None => ui.strong("Every bus"),
        };
        for s in &flow.stores {
            ui.separator();
            ui.label(format!(
                "Event store {}: position {} · {} streams",
                s.key, s.position, s.streams
            ));
        }
    });
    ui.horizontal_wrapped(|ui| {
        for g in &frame.groups {
            ui.label(
                RichText::new(assignment(g.group.as_str(), &g.partitions, g.instances)).small(),
            );
        }
    });
    let origin = super::scenario::run_retention_origin(cx, frame.retention_source);
    ui.label(RichText::new(format!("{} ({origin})", retention_text(frame.retention))).small())
        .on_hover_text(
            "A group added or reset later can read back to the start offset; \
             set it with `%% eda:scenario retention = …` in the diagram",
        );
    let (rows, cells) = partition_grid(frame, selected_bus.as_deref());
    if rows.is_empty() {
        ui.label("No topics yet.");
        return;
    }
    if flow.topics_truncated {
        ui.colored_label(
            cx.theme.warning,
            "Too many partitions: the first ones are shown.",
        );
    }
    egui::ScrollArea::horizontal()
        .id_salt("bus table scroll")
        .show(ui, |ui| partition_table(ui, &rows, &cells, cx.theme));
}

/// What the bus keeps, in one line.
pub fn retention_text(retention: Retention) -> String {
    match retention {
        Retention::UntilConsumed => {
            "Retention until-consumed: a record is dropped once every group committed it".into()
        }
        Retention::KeepAll => "Retention keep-all: every record is kept".into(),
        Retention::KeepLatest { records } => format!(
            "Retention keep-latest {records}: each partition keeps its latest {records} \
             records, read or not (a group left behind skips to the start offset)"
        ),
        Retention::Time { .. } => format!(
            "Retention {retention}: records are kept that long, read or not \
             (a group left behind skips to the start offset)"
        ),
    }
}

/// "Group: 2 instances — i0: 3, i1: 3 partitions" from its partitions.
fn assignment(group: &str, partitions: &[PartitionLag], instances: u32) -> String {
    let mut by: BTreeMap<u32, usize> = BTreeMap::new();
    let mut unowned = 0;
    for p in partitions {
        if p.instance == u32::MAX {
            unowned += 1;
        } else {
            *by.entry(p.instance).or_default() += 1;
        }
    }
    let mut text = format!("{group}: {instances} up");
    for (i, n) in by {
        text.push_str(&format!(" · i{i}×{n}"));
    }
    if unowned > 0 {
        text.push_str(&format!(" · {unowned} unowned"));
    }
    text
}

fn partition_table(ui: &mut egui::Ui, rows: &[Row<'_>], cells: &[GroupCells<'_>], theme: &Theme) {
    TableBuilder::new(ui)
        .id_salt("bus partitions")
        .striped(true)
        .auto_shrink([false, true])
        .column(Column::auto().at_least(140.0))
        .column(Column::auto().at_least(70.0))
        .column(Column::auto().at_least(60.0))
        .columns(Column::auto().at_least(150.0), cells.len())
        .header(ROW_HEIGHT + 2.0, |mut header| {
            header.col(|ui| {
                ui.strong("Partition");
            });
            header.col(|ui| {
                ui.strong("End offset");
            });
            header.col(|ui| {
                ui.strong("Retained").on_hover_text(
                    "Records still on the bus, from the start offset to the end offset; \
                     what the retention keeps (see the line above the table)",
                );
            });
            for (group, _) in cells {
                header.col(|ui| {
                    ui.strong(*group)
                        .on_hover_text("committed offset · lag · owning instance");
                });
            }
        })
        .body(|body| {
            body.rows(ROW_HEIGHT, rows.len(), |mut row| {
                let r = &rows[row.index()];
                row.col(|ui| {
                    ui.label(partition_label(r.topic, r.partition));
                });
                row.col(|ui| {
                    ui.monospace(r.high.to_string());
                });
                row.col(|ui| {
                    ui.monospace((r.high - r.low.min(r.high)).to_string());
                });
                for (_, by) in cells {
                    row.col(|ui| {
                        let Some(p) = by.get(&(r.topic, r.partition)) else {
                            return;
                        };
                        let owner = if p.instance == u32::MAX {
                            "–".to_string()
                        } else {
                            format!("i{}", p.instance)
                        };
                        let text = format!("{} · lag {} · {owner}", p.committed, p.lag);
                        let text = RichText::new(text)
                            .monospace()
                            .color(lag_color(p.lag, theme));
                        ui.add(egui::Label::new(text).extend())
                            .on_hover_text(format!(
                                "committed {} of {} · oldest unprocessed waited {:.1} ms",
                                p.committed,
                                p.high_watermark,
                                p.lag_us as f64 / 1000.0
                            ));
                    });
                }
            });
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lag(instance: u32) -> PartitionLag {
        PartitionLag {
            topic: "T".into(),
            partition: 0,
            instance,
            committed: 0,
            high_watermark: 0,
            lag: 0,
            lag_us: 0,
            lag_time_avg: 0.0,
            processed: 0,
            mean_sojourn_us: 0.0,
        }
    }

    #[test]
    fn assignment_counts_partitions_per_instance() {
        let parts = [lag(0), lag(1), lag(0), lag(u32::MAX)];
        assert_eq!(
            assignment("C", &parts, 2),
            "C: 2 up · i0×2 · i1×1 · 1 unowned"
        );
    }

    #[test]
    fn lag_colours_grow_with_the_lag() {
        let theme = Theme::new(crate::gui::theme::ThemeKind::Dark);
        assert_eq!(lag_color(0, &theme), theme.spark);
        assert_eq!(lag_color(5, &theme), theme.ink);
        assert_eq!(lag_color(50, &theme), theme.warning);
        assert_eq!(lag_color(5_000, &theme), theme.error);
        assert_eq!(partition_label("OrderCreated", 2), "OrderCreated/2");
    }
}
