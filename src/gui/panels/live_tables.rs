//! The inspector's "Live" section: the selected component's state while a
//! run goes, as the frame's [`ComponentDetail`] describes it — its metrics
//! (throughput, latency percentiles, errors, retries, DLQ, duplicates,
//! conflicts) and its tables (stock per sku, views, aggregates, documents,
//! notifications, partitions with offsets and lag, instances, the DLQ),
//! with a "Replay DLQ" button on a group with dead letters.
//!
//! Reads only the frame (what the engine computed for the frame's moment,
//! past or present); emits [`Command::Sim`] for the replay. Knows nothing
//! of the engine's types beyond the frame.

use std::sync::Arc;

use crate::gui::command::Command;
use crate::gui::run::clock_label;
use crate::gui::theme::Theme;
use crate::live::{ComponentDetail, Frame, Table, duration_label};
use crate::sim::{Fault, LatencySummary};

/// Height of one table row, in points.
const ROW_HEIGHT: f32 = 18.0;
/// A table scrolls past this height.
const TABLE_HEIGHT: f32 = 180.0;

/// Draws the live state of component `key` from `frame`.
pub fn live_tables_ui(
    ui: &mut egui::Ui,
    frame: &Arc<Frame>,
    key: &str,
    theme: &Theme,
    commands: &mut Vec<Command>,
) {
    ui.separator();
    ui.horizontal(|ui| {
        ui.strong("Live");
        let when = if frame.viewing_past {
            format!("at {} (past)", clock_label(frame.now_us))
        } else {
            format!("at {}", clock_label(frame.now_us))
        };
        ui.label(egui::RichText::new(when).color(theme.ink_weak));
    });
    let detail = frame
        .detail
        .as_ref()
        .filter(|d| frame.selected.as_deref() == Some(key) && d.key == key);
    let Some(detail) = detail else {
        let text = if frame.selected.as_deref() == Some(key) {
            "The simulation has no such component (edited since the run started)."
        } else {
            "Waiting for the simulation…"
        };
        ui.label(egui::RichText::new(text).color(theme.ink_weak));
        return;
    };
    egui::ScrollArea::both()
        .id_salt("live-tables")
        .auto_shrink([false, true])
        .show(ui, |ui| {
            metrics_ui(ui, detail, frame, theme);
            if detail.can_replay_dlq {
                replay_button_ui(ui, detail, frame, commands);
            }
            for table in &detail.tables {
                table_ui(ui, table, theme);
            }
        });
}

fn replay_button_ui(
    ui: &mut egui::Ui,
    detail: &ComponentDetail,
    frame: &Frame,
    commands: &mut Vec<Command>,
) {
    let waiting = detail.metrics.dlq_waiting.unwrap_or(0);
    let button = ui
        .add_enabled(!frame.viewing_past, egui::Button::new("Replay DLQ"))
        .on_hover_text(format!(
            "Re-deliver the {waiting} dead-lettered records to {} now; what still fails goes back to the DLQ",
            detail.key
        ))
        .on_disabled_hover_text("Return to Live to replay the DLQ");
    if button.clicked() {
        commands.push(Command::Sim(crate::live::Command::Fault(
            Fault::ReplayDlq {
                group: detail.key.clone(),
            },
        )));
    }
}

fn metrics_ui(ui: &mut egui::Ui, d: &ComponentDetail, frame: &Frame, theme: &Theme) {
    let m = &d.metrics;
    let rate = frame.component(&d.key).map_or(0.0, |c| c.rate_in_per_s);
    egui::Grid::new("live-metrics")
        .num_columns(2)
        .striped(true)
        .show(ui, |ui| {
            let row = |ui: &mut egui::Ui, name: &str, value: String, bad: bool| {
                ui.label(name);
                if bad {
                    ui.colored_label(theme.error, value);
                } else {
                    ui.label(value);
                }
                ui.end_row();
            };
            row(
                ui,
                "throughput",
                format!("{rate:.1}/s now, {:.1}/s average", m.throughput_per_s),
                false,
            );
            row(
                ui,
                "events in / out",
                format!("{} / {}", m.events_in, m.events_out),
                false,
            );
            if m.rejected + m.shed > 0 {
                row(
                    ui,
                    "rejected / shed",
                    format!("{} / {}", m.rejected, m.shed),
                    true,
                );
            }
            if let Some(p) = &m.processing_us {
                row(ui, "processing", percentiles(p), false);
            }
            if let Some(p) = &m.end_to_end_us {
                row(ui, "end to end", percentiles(p), false);
            }
            if let Some(c) = &m.delivery {
                row(ui, "errors", c.failures.to_string(), c.failures > 0);
                row(ui, "retries", c.retries.to_string(), false);
                let dlq = match m.dlq_waiting {
                    Some(w) => format!("{w} waiting, {} in all", c.dead_lettered),
                    None => c.dead_lettered.to_string(),
                };
                row(ui, "DLQ", dlq, m.dlq_waiting.unwrap_or(0) > 0);
                row(
                    ui,
                    "duplicates applied",
                    c.duplicates_applied.to_string(),
                    c.duplicates_applied > 0,
                );
                row(ui, "deduplicated", c.deduped.to_string(), false);
                row(ui, "rebalances", c.rebalances.to_string(), false);
                if c.skipped_by_retention > 0 {
                    row(
                        ui,
                        "skipped by retention",
                        c.skipped_by_retention.to_string(),
                        true,
                    );
                }
            }
            if let Some(n) = m.conflicts {
                row(ui, "conflicts", n.to_string(), false);
            }
        });
}

/// `p50 1.0 ms · p95 … · p99 … · p999 …`
fn percentiles(p: &LatencySummary) -> String {
    if p.count == 0 {
        return "—".into();
    }
    let f = duration_label;
    format!(
        "p50 {} · p95 {} · p99 {} · p999 {}",
        f(p.p50_us),
        f(p.p95_us),
        f(p.p99_us),
        f(p.p999_us)
    )
}

/// One table under a collapsible title, virtualised (only the visible
/// rows are laid out) and scrolling past [`TABLE_HEIGHT`].
fn table_ui(ui: &mut egui::Ui, table: &Table, theme: &Theme) {
    let shown = table.rows.len() as u64;
    let title = if table.total > shown {
        format!("{} ({shown} of {})", table.title, table.total)
    } else {
        format!("{} ({})", table.title, table.total)
    };
    egui::CollapsingHeader::new(title)
        .id_salt(("live-table", &table.title))
        .default_open(true)
        .show(ui, |ui| {
            if table.rows.is_empty() {
                ui.label(egui::RichText::new("empty").color(theme.ink_weak));
                return;
            }
            egui_extras::TableBuilder::new(ui)
                .id_salt(("live-table-body", &table.title))
                .striped(true)
                .resizable(false)
                .vscroll(true)
                .max_scroll_height(TABLE_HEIGHT)
                .columns(egui_extras::Column::auto(), table.columns.len())
                .header(ROW_HEIGHT, |mut header| {
                    for c in &table.columns {
                        header.col(|ui| {
                            ui.strong(*c);
                        });
                    }
                })
                .body(|body| {
                    body.rows(ROW_HEIGHT, table.rows.len(), |mut row| {
                        let Some(cells) = table.rows.get(row.index()) else {
                            return;
                        };
                        for cell in cells {
                            row.col(|ui| {
                                ui.add(egui::Label::new(cell).extend());
                            });
                        }
                    });
                });
        });
}
