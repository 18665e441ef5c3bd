//! The fault menu: right-click a component of a running simulation to
//! crash or restart one of its instances, slow it down ×N, fail a share
//! of its deliveries (or every group's), poison the next event, add or
//! remove an instance; crash or restart the schema registry. Each
//! choice is one [`Fault`] sent to the driver as [`LiveCommand::Fault`];
//! the effects show in the badges and charts as the run goes on.
//!
//! Independent of how the canvas draws and hit-tests: it takes the
//! canvas's [`egui::Response`] and a function from a screen point to the
//! Mermaid id under it, so any canvas can host it. Reads the latest
//! [`Frame`] (which groups exist, which instances are up, which topics a
//! source publishes to); never the engine.

use crate::gui::command::Command;
use crate::live::{Command as LiveCommand, Frame};
use crate::sim::Fault;
use egui::Pos2;

/// The menu's state: what it was opened on and the values typed in it.
#[derive(Debug, Clone)]
pub struct FaultMenuState {
    /// The component the open menu is for (Mermaid id).
    pub target: Option<String>,
    /// Restart a crashed instance by itself after `restart_after_s`.
    pub restart_later: bool,
    /// Seconds (virtual) before an automatic restart.
    pub restart_after_s: f64,
    /// The custom slow-down factor.
    pub slow_factor: f64,
    /// The share of deliveries to fail, as typed (percent).
    pub fail_percent: String,
}

impl FaultMenuState {
    /// The "Restart after N s" choice of a crash.
    fn restart_after_ui(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            ui.checkbox(&mut self.restart_later, "Restart after");
            ui.add(
                egui::DragValue::new(&mut self.restart_after_s)
                    .range(0.001..=3_600.0)
                    .speed(0.5)
                    .suffix(" s"),
            );
        });
    }

    /// How long a crash lasts before its automatic restart (virtual µs),
    /// if one was chosen.
    fn restart_after_us(&self) -> Option<u64> {
        self.restart_later
            .then(|| (self.restart_after_s * 1e6).round().max(1.0) as u64)
    }
}

impl Default for FaultMenuState {
    fn default() -> Self {
        FaultMenuState {
            target: None,
            restart_later: false,
            restart_after_s: 5.0,
            slow_factor: 3.0,
            fail_percent: "10".into(),
        }
    }
}

/// Opens the fault menu on a secondary click over a component of a
/// running simulation (`hit` maps a screen point to the Mermaid id under
/// it) and draws it while it is open.
pub fn node_menu(
    response: &egui::Response,
    live: Option<&Frame>,
    state: &mut FaultMenuState,
    commands: &mut Vec<Command>,
    hit: impl Fn(Pos2) -> Option<String>,
) {
    let Some(frame) = live else {
        state.target = None;
        return;
    };
    let clicked = response.secondary_clicked();
    if clicked {
        state.target = response.interact_pointer_pos().and_then(hit);
    }
    let Some(key) = state.target.clone() else {
        return;
    };
    let shown = response.context_menu(|ui| fault_menu_ui(ui, &key, frame, state, commands));
    // The popup opens at the end of the frame of the click.
    if shown.is_none() && !clicked {
        state.target = None;
    }
}

/// The menu's contents for component `key`.
pub fn fault_menu_ui(
    ui: &mut egui::Ui,
    key: &str,
    frame: &Frame,
    state: &mut FaultMenuState,
    commands: &mut Vec<Command>,
) {
    let mut send = |fault: Fault| commands.push(Command::Sim(LiveCommand::Fault(fault)));
    let label = frame.component(key).map_or(key, |c| c.label.as_str());
    ui.strong(label);
    ui.separator();
    let charts = frame.charts.as_ref();
    let instances = charts.and_then(|c| c.instances_of(key));
    if let Some(inst) = instances {
        let group = key.to_string();
        state.restart_after_ui(ui);
        for (i, up) in inst.up.iter().enumerate() {
            let instance = i as u32;
            if *up {
                if ui.button(format!("Crash instance {i}")).clicked() {
                    send(Fault::Crash {
                        group: group.clone(),
                        instance,
                        duration_us: state.restart_after_us(),
                    });
                    ui.close();
                }
            } else if ui.button(format!("Restart instance {i}")).clicked() {
                send(Fault::Restart {
                    group: group.clone(),
                    instance,
                });
                ui.close();
            }
        }
        ui.separator();
        if ui.button("Add instance").clicked() {
            send(Fault::AddInstance {
                group: group.clone(),
            });
            ui.close();
        }
        let any_up = inst.up.iter().any(|u| *u);
        if ui
            .add_enabled(any_up, egui::Button::new("Remove instance"))
            .clicked()
        {
            send(Fault::RemoveInstance {
                group: group.clone(),
            });
            ui.close();
        }
        ui.separator();
    }
    let is_source = charts.is_some_and(|c| !c.topics_of(key).is_empty());
    let slowable = frame.component(key).is_some_and(|c| {
        use crate::model::Role;
        !matches!(
            c.role,
            Role::Bus | Role::Producer | Role::Gateway | Role::Command | Role::SchemaRegistry
        )
    });
    if slowable && !is_source {
        // Groups, and sinks (the engine slows the groups writing to them).
        ui.menu_button("Slow down", |ui| {
            for factor in [2.0, 5.0, 10.0] {
                if ui.button(format!("Slow ×{factor}")).clicked() {
                    send(Fault::Slow {
                        component: key.to_string(),
                        factor,
                    });
                    ui.close();
                }
            }
            ui.horizontal(|ui| {
                ui.add(
                    egui::DragValue::new(&mut state.slow_factor)
                        .range(0.01..=1_000.0)
                        .speed(0.1)
                        .prefix("×"),
                );
                if ui.button("Slow").clicked() {
                    send(Fault::Slow {
                        component: key.to_string(),
                        factor: state.slow_factor,
                    });
                    ui.close();
                }
            });
            if ui.button("Normal speed (×1)").clicked() {
                send(Fault::Slow {
                    component: key.to_string(),
                    factor: 1.0,
                });
                ui.close();
            }
        });
    }
    if instances.is_some() || (slowable && !is_source) {
        // A group, or a sink (the engine fails the groups writing to it).
        ui.menu_button("Fail deliveries", |ui| {
            ui.weak(format!("{label}'s attempts fail with this chance."));
            ui.horizontal(|ui| {
                ui.add(egui::TextEdit::singleline(&mut state.fail_percent).desired_width(48.0));
                ui.label("%");
                let percent = parse_percent(&state.fail_percent);
                if ui
                    .add_enabled(percent.is_some(), egui::Button::new("Fail"))
                    .clicked()
                    && let Some(percent) = percent
                {
                    send(fail_here(key, percent));
                    ui.close();
                }
            });
            if ui.button("Stop failing (0%)").clicked() {
                send(fail_here(key, 0.0));
                ui.close();
            }
            ui.separator();
            let percent = parse_percent(&state.fail_percent);
            if ui
                .add_enabled(
                    percent.is_some(),
                    egui::Button::new("Fail every group's deliveries"),
                )
                .clicked()
                && let Some(percent) = percent
            {
                send(Fault::FailDeliveries { percent });
                ui.close();
            }
            if ui.button("Stop failing everywhere (0%)").clicked() {
                send(Fault::FailDeliveries { percent: 0.0 });
                ui.close();
            }
        });
    }
    if frame
        .component(key)
        .is_some_and(|c| c.role == crate::model::Role::SchemaRegistry)
    {
        // The engine refuses (in its fault log) a crash of a registry
        // already down and a restart of one up.
        state.restart_after_ui(ui);
        if ui.button("Crash registry").clicked() {
            send(Fault::Crash {
                group: key.to_string(),
                instance: 0,
                duration_us: state.restart_after_us(),
            });
            ui.close();
        }
        if ui.button("Restart registry").clicked() {
            send(Fault::Restart {
                group: key.to_string(),
                instance: 0,
            });
            ui.close();
        }
    }
    let topics = poison_topics(frame, key);
    ui.menu_button("Poison next event", |ui| {
        for topic in &topics {
            if ui.button(format!("Next {topic}")).clicked() {
                send(Fault::PoisonNext {
                    topic: Some(topic.clone()),
                });
                ui.close();
            }
        }
        if ui.button("Next event of any type").clicked() {
            send(Fault::PoisonNext { topic: None });
            ui.close();
        }
    });
}

/// "Fail X% of deliveries" at component `key` (a group, or a sink's writers).
pub fn fail_here(key: &str, percent: f64) -> Fault {
    Fault::FailGroup {
        component: key.to_string(),
        percent,
    }
}

/// The topics worth poisoning from `key`: what a source publishes, or
/// what a group reads.
fn poison_topics(frame: &Frame, key: &str) -> Vec<String> {
    let published = frame
        .charts
        .as_ref()
        .map(|c| c.topics_of(key).to_vec())
        .unwrap_or_default();
    if !published.is_empty() {
        return published;
    }
    let mut read: Vec<String> = Vec::new();
    if let Some(g) = frame.groups.iter().find(|g| g.group == key) {
        for p in &g.partitions {
            if !read.contains(&p.topic) {
                read.push(p.topic.clone());
            }
        }
    }
    read
}

/// A percentage typed by the user: a number in 0..=100 (`%` allowed).
pub fn parse_percent(text: &str) -> Option<f64> {
    let v: f64 = text.trim().trim_end_matches('%').trim().parse().ok()?;
    (v.is_finite() && (0.0..=100.0).contains(&v)).then_some(v)
}

/// `badge` with the number of `key`'s instances that are down appended
/// (crashed or removed), which also makes the badge alert.
pub fn with_down_instances(badge: (String, bool), frame: &Frame, key: &str) -> (String, bool) {
    let down = frame
        .charts
        .as_ref()
        .and_then(|c| c.instances_of(key))
        .map_or(0, |i| i.down());
    match down {
        0 => badge,
        n => (format!("{} · {n} down", badge.0), true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_are_checked() {
        assert_eq!(parse_percent(" 12.5 "), Some(12.5));
        assert_eq!(parse_percent("40%"), Some(40.0));
        assert_eq!(parse_percent("101"), None);
        assert_eq!(parse_percent("-1"), None);
        assert_eq!(parse_percent("NaN"), None);
        assert_eq!(parse_percent("lots"), None);
    }
}
