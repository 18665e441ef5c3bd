//! The run toolbar: Run/Pause, Step (one event), Step 100 ms, the speed,
//! Reset with a seed, and the run's virtual clock and deliveries per
//! second. It reads the [`LiveRun`] and emits [`Command::Sim`]s; it never
//! talks to the driver itself.

use crate::gui::command::Command;
use crate::gui::run::{LiveRun, SPEEDS, clock_label, speed_label};
use crate::gui::theme::Theme;
use crate::live::{Command as LiveCommand, RunState, Speed};

/// Virtual time the "+100 ms" button advances, microseconds.
pub const STEP_SLICE_US: u64 = 100_000;

/// Draws the run toolbar.
pub fn run_toolbar_ui(
    ui: &mut egui::Ui,
    run: &mut LiveRun,
    theme: &Theme,
    commands: &mut Vec<Command>,
) {
    let frame = run.frame.clone();
    let state = frame.as_ref().map(|f| f.state);
    ui.horizontal(|ui| {
        let running = state == Some(RunState::Running);
        let (label, tip) = if running {
            ("Pause", "Pause the simulation (Space)")
        } else {
            ("Run", "Run the simulation (Space)")
        };
        if ui.button(label).on_hover_text(tip).clicked() {
            commands.push(Command::Sim(run.toggle()));
        }
        let paused = !running;
        if ui
            .add_enabled(paused, egui::Button::new("Step"))
            .on_hover_text("Process one event")
            .clicked()
        {
            commands.push(Command::Sim(LiveCommand::StepEvent));
        }
        if ui
            .add_enabled(paused, egui::Button::new("+100 ms"))
            .on_hover_text("Advance virtual time by 100 ms")
            .clicked()
        {
            commands.push(Command::Sim(LiveCommand::StepBy(STEP_SLICE_US)));
        }
        ui.separator();
        let current = frame.as_ref().map_or(Speed::Factor(1.0), |f| f.speed);
        egui::ComboBox::from_label("Speed")
            .selected_text(speed_label(current))
            .width(70.0)
            .show_ui(ui, |ui| {
                for speed in SPEEDS {
                    if ui
                        .selectable_label(speed == current, speed_label(speed))
                        .clicked()
                    {
                        commands.push(Command::Sim(LiveCommand::SetSpeed(speed)));
                    }
                }
            })
            .response
            .on_hover_text("Speed: virtual seconds per wall-clock second");
        ui.separator();
        ui.label("Seed");
        let seed = ui.add(
            egui::TextEdit::singleline(&mut run.seed_text)
                .id_salt("run-seed")
                .desired_width(70.0),
        );
        let bad_seed = run.typed_seed().is_none();
        if bad_seed {
            seed.clone().on_hover_text("The seed is a whole number");
        }
        let enter = seed.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        if (ui
            .add_enabled(!bad_seed, egui::Button::new("Reset"))
            .on_hover_text("Start again from time zero with this seed")
            .clicked()
            || enter)
            && let Some(seed) = run.typed_seed()
        {
            commands.push(Command::Sim(LiveCommand::Reset { seed: Some(seed) }));
        }
        ui.separator();
        match &frame {
            Some(f) => {
                ui.label(
                    egui::RichText::new(format!("t = {}", clock_label(f.now_us)))
                        .monospace()
                        .color(theme.ink),
                );
                ui.label(
                    egui::RichText::new(format!("{:.0} deliveries/s", f.deliveries_per_wall_s))
                        .monospace()
                        .color(theme.ink_weak),
                );
                let state = match f.state {
                    RunState::Running => "running",
                    RunState::Paused => "paused",
                    RunState::Finished => "finished",
                };
                ui.label(egui::RichText::new(state).color(theme.ink_weak));
                ui.label(
                    egui::RichText::new(format!("hash {}", f.run_hash))
                        .monospace()
                        .color(theme.ink_weak),
                )
                .on_hover_text("The run hash: equal hashes, identical runs");
                if let Some(o) = &run.opened {
                    if o.verified() {
                        ui.label(egui::RichText::new("replayed exactly").color(theme.ink_weak))
                            .on_hover_text(format!(
                                "{} replays to its recorded hash",
                                o.path.display()
                            ));
                    } else {
                        let recorded = o.recorded_hash.as_deref().unwrap_or("none");
                        ui.label(
                            egui::RichText::new(format!(
                                "replay mismatch: recorded hash {recorded}"
                            ))
                            .color(theme.error),
                        );
                    }
                }
            }
            None => {
                ui.label(egui::RichText::new("not started").color(theme.ink_weak));
            }
        }
        if let Some(e) = &run.error {
            ui.label(egui::RichText::new(e).color(theme.error));
        }
    });
    if let Some(f) = frame.as_ref().filter(|f| f.head_us > 0) {
        timeline_ui(ui, f, theme, commands);
    }
}

/// The timeline scrubber: any moment from zero to the latest one the run
/// reached, shown from the driver's snapshots; "Live" returns to the latest.
fn timeline_ui(
    ui: &mut egui::Ui,
    frame: &crate::live::Frame,
    theme: &Theme,
    commands: &mut Vec<Command>,
) {
    ui.horizontal(|ui| {
        let head_s = frame.head_us as f64 / 1e6;
        let mut at_s = frame.now_us as f64 / 1e6;
        let width = (ui.available_width() - 260.0).max(120.0);
        ui.spacing_mut().slider_width = width;
        let slider = ui
            .add(
                egui::Slider::new(&mut at_s, 0.0..=head_s)
                    .show_value(false)
                    .text("Time"),
            )
            .on_hover_text("Drag to see the run as it was at any moment");
        if slider.changed() {
            let us = (at_s * 1e6).round().clamp(0.0, frame.head_us as f64) as u64;
            commands.push(Command::Sim(LiveCommand::Seek(us)));
        }
        if ui
            .add_enabled(frame.viewing_past, egui::Button::new("Live"))
            .on_hover_text("Back to the latest moment")
            .clicked()
        {
            commands.push(Command::Sim(LiveCommand::Live));
        }
        let text = if frame.viewing_past {
            format!(
                "{} of {}",
                clock_label(frame.now_us),
                clock_label(frame.head_us)
            )
        } else {
            "live".to_string()
        };
        ui.label(egui::RichText::new(text).monospace().color(theme.ink_weak));
    });
}
