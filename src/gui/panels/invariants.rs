//! The invariants dock tab: the engine's invariant checks at the frame's
//! moment, each with its outcome and count; a violated check is drawn in
//! the theme's error colour with its first violations and the events they
//! involve (topic/partition@offset, key, event id, group). Clicking a
//! violation selects the group involved on the canvas; clicking one of its
//! events also opens the event log on that event ([`InvariantsState::go_to`],
//! which the dock hands to the log tab).
//!
//! Reads only the frame's [`crate::sim::InvariantReport`]; emits
//! [`Command::SelectComponent`].

use crate::gui::command::Command;
use crate::gui::panels::dock::DockContext;
use crate::gui::run::clock_label;
use crate::sim::{Check, EventRef, Example, Invariant};

/// The tab's state: the violation last clicked.
#[derive(Debug, Default)]
pub struct InvariantsState {
    /// (check, index among its examples) of the violation clicked.
    pub picked: Option<(Invariant, usize)>,
    /// An event of a violation just clicked, for the event log to show
    /// (the dock takes it).
    pub go_to: Option<(Invariant, EventRef)>,
}

/// Draws the tab.
pub fn invariants_ui(
    ui: &mut egui::Ui,
    state: &mut InvariantsState,
    cx: &DockContext<'_>,
    commands: &mut Vec<Command>,
) {
    let Some(frame) = cx.frame else {
        ui.label(
            egui::RichText::new("Run the simulation to see its invariant checks.")
                .color(cx.theme.ink_weak),
        );
        return;
    };
    let report = &frame.invariants;
    let violated = Invariant::ALL
        .iter()
        .filter(|&&i| report.check(i).is_violated())
        .count();
    ui.horizontal(|ui| {
        let past = if frame.viewing_past { " (past)" } else { "" };
        ui.label(format!(
            "Checked up to {}{past}:",
            clock_label(frame.now_us)
        ));
        if violated == 0 {
            ui.label("no violation");
        } else {
            ui.colored_label(
                cx.theme.error,
                format!("{violated} of {} checks violated", Invariant::ALL.len()),
            );
        }
    });
    egui::ScrollArea::vertical()
        .id_salt("invariants")
        .auto_shrink([false, false])
        .show(ui, |ui| {
            egui::Grid::new("invariant-checks")
                .num_columns(3)
                .striped(true)
                .show(ui, |ui| {
                    for inv in Invariant::ALL {
                        check_row_ui(ui, inv, report.check(inv), cx);
                    }
                });
            for inv in Invariant::ALL {
                let examples: Vec<&Example> = report.examples_of(inv).collect();
                if examples.is_empty() {
                    continue;
                }
                ui.separator();
                ui.colored_label(cx.theme.error, egui::RichText::new(inv.title()).strong());
                for (i, x) in examples.into_iter().enumerate() {
                    example_ui(ui, state, inv, i, x, cx, commands);
                }
            }
        });
}

fn check_row_ui(ui: &mut egui::Ui, inv: Invariant, check: &Check, cx: &DockContext<'_>) {
    let theme = cx.theme;
    ui.label(inv.title()).on_hover_text(inv.meaning());
    match check {
        Check::Held => {
            ui.colored_label(theme.spark, "held");
            ui.label("");
        }
        Check::Violated { count, first } => {
            ui.colored_label(theme.error, egui::RichText::new(check.label()).strong())
                .on_hover_text(format!("{count} violations"));
            ui.add(egui::Label::new(egui::RichText::new(first).color(theme.error)).truncate())
                .on_hover_text(first);
        }
        Check::NotChecked { reason } => {
            ui.colored_label(theme.ink_weak, "not checked");
            ui.add(egui::Label::new(egui::RichText::new(reason).color(theme.ink_weak)).truncate())
                .on_hover_text(reason);
        }
    }
    ui.end_row();
}

fn example_ui(
    ui: &mut egui::Ui,
    state: &mut InvariantsState,
    inv: Invariant,
    i: usize,
    x: &Example,
    cx: &DockContext<'_>,
    commands: &mut Vec<Command>,
) {
    let picked = state.picked == Some((inv, i));
    let fill = if picked {
        cx.theme.error_line_bg
    } else {
        egui::Color32::TRANSPARENT
    };
    egui::Frame::new()
        .fill(fill)
        .stroke(egui::Stroke::new(1.0, cx.theme.error))
        .inner_margin(4.0)
        .corner_radius(3.0)
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            let what = egui::RichText::new(&x.what).color(cx.theme.error);
            let resp = ui
                .selectable_label(picked, what)
                .on_hover_text("Select the component involved on the canvas");
            if resp.clicked() {
                state.picked = Some((inv, i));
                if let Some(group) = x.events.first().map(|e| e.group.clone()) {
                    commands.push(Command::SelectComponent(group));
                }
            }
            for e in &x.events {
                let link = ui
                    .link(egui::RichText::new(event_text(e)).monospace())
                    .on_hover_text(
                        "Show this event in the Event log (its deliveries and causes) \
                         and select the group on the canvas",
                    );
                if link.clicked() {
                    state.picked = Some((inv, i));
                    state.go_to = Some((inv, e.clone()));
                    commands.push(Command::SelectComponent(e.group.clone()));
                }
            }
        });
}

/// `Consumer1  OrderCreated/3@41  key 17  event 1234`
pub fn event_text(e: &EventRef) -> String {
    let mut s = format!("{}  {}/{}@{}", e.group, e.topic, e.partition, e.offset);
    if let Some(k) = e.key {
        s.push_str(&format!("  key {k}"));
    }
    if let Some(id) = e.event_id {
        s.push_str(&format!("  event {id}"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_reads_as_its_place_on_the_bus() {
        let e = EventRef {
            group: "C".into(),
            topic: "T".into(),
            partition: 3,
            offset: 41,
            key: Some(17),
            event_id: None,
        };
        assert_eq!(event_text(&e), "C  T/3@41  key 17");
    }
}
