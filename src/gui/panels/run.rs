//! The run toolbar: Run/Pause, Step (one event), a step by a chosen slice
//! of virtual time (1 ms to 1 min, remembered for the session), the speed,
//! Reset with a seed, and the run's virtual clock and deliveries per
//! second. It reads the [`LiveRun`] and emits [`Command::Sim`]s; it never
//! talks to the driver itself.

use crate::gui::command::Command;
use crate::gui::run::{LiveRun, SPEEDS, clock_label, speed_label};
use crate::gui::theme::Theme;
use crate::live::{Command as LiveCommand, RunState, Speed};

/// Virtual time the slice button advances until another slice is
/// chosen, microseconds.
pub const STEP_SLICE_US: u64 = 100_000;

/// The slices of virtual time the step button offers, microseconds.
pub const STEP_SLICES_US: [u64; 6] = [1_000, 10_000, 100_000, 1_000_000, 10_000_000, 60_000_000];

/// A slice as its button says it: "1 ms", "100 ms", "1 s", "1 min".
pub fn slice_label(us: u64) -> String {
    match us {
        us if us >= 60_000_000 && us.is_multiple_of(60_000_000) => {
            format!("{} min", us / 60_000_000)
        }
        us if us >= 1_000_000 && us.is_multiple_of(1_000_000) => format!("{} s", us / 1_000_000),
        us if us >= 1_000 && us.is_multiple_of(1_000) => format!("{} ms", us / 1_000),
        us => format!("{us} µs"),
    }
}

/// The slice chosen this session (kept in egui's memory, so a reloaded
/// run keeps it).
fn slice_id() -> egui::Id {
    egui::Id::new("run-step-slice")
}

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
        let mut slice = ui.data(|d| d.get_temp(slice_id()).unwrap_or(STEP_SLICE_US));
        if ui
            .add_enabled(
                paused,
                egui::Button::new(format!("+{}", slice_label(slice))),
            )
            .on_hover_text(format!(
                "Advance virtual time by {} (choose the slice beside)",
                slice_label(slice)
            ))
            .clicked()
        {
            commands.push(Command::Sim(LiveCommand::StepBy(slice)));
        }
        let before = slice;
        let picker = egui::ComboBox::from_id_salt("run-step-slice")
            .selected_text("")
            .width(12.0)
            .show_ui(ui, |ui| {
                for us in STEP_SLICES_US {
                    ui.selectable_value(&mut slice, us, format!("Step {}", slice_label(us)));
                }
            })
            .response;
        picker.widget_info(|| {
            egui::WidgetInfo::labeled(egui::WidgetType::ComboBox, true, "Step slice")
        });
        picker.on_hover_text("The slice of virtual time a step advances");
        if slice != before {
            ui.data_mut(|d| d.insert_temp(slice_id(), slice));
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
                    if let (Some(older), Some(stored)) = (&o.older_engine, &o.stored) {
                        super::replay::stored_run_toggle_ui(ui, o, older, stored, f.now_us, theme);
                    } else if o.verified() {
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
/// reached; "Live" returns to the latest. Under the rail, the recent
/// window (quick to show, from snapshots) is drawn solid and the older
/// part, re-run from the run's archived images, dashed; a seek there that
/// takes more than a frame shows its progress instead of freezing.
fn timeline_ui(
    ui: &mut egui::Ui,
    frame: &crate::live::Frame,
    theme: &Theme,
    commands: &mut Vec<Command>,
) {
    let timeline = &frame.timeline;
    ui.horizontal(|ui| {
        let head_s = frame.head_us as f64 / 1e6;
        // While a seek is under way the handle stays where it was dropped.
        let shown_us = timeline.seeking.map_or(frame.now_us, |s| s.to_us);
        let mut at_s = shown_us as f64 / 1e6;
        // Room for the clock label (and the note on an archived moment's log).
        let reserved = if timeline.log_missing_until_us.is_some() {
            480.0
        } else {
            260.0
        };
        let width = (ui.available_width() - reserved).max(120.0);
        ui.spacing_mut().slider_width = width;
        let slider = ui.add(
            egui::Slider::new(&mut at_s, 0.0..=head_s)
                .show_value(false)
                .text("Time"),
        );
        let archived = archived_span(timeline, frame.head_us);
        let rail = Rail::of(slider.rect);
        paint_spans(ui, slider.rect, &rail, archived, frame.head_us, theme);
        let over_archive = archived.is_some_and(|(_, end)| {
            slider
                .hover_pos()
                .is_some_and(|p| p.x < rail.x_of(end, frame.head_us))
        });
        let slider = if over_archive {
            slider.on_hover_text(archive_hover(timeline))
        } else {
            slider.on_hover_text("Drag to see the run as it was at any moment")
        };
        if slider.changed() {
            let us = (at_s * 1e6).round().clamp(0.0, frame.head_us as f64) as u64;
            commands.push(Command::Sim(LiveCommand::Seek(us)));
        }
        if ui
            .add_enabled(
                frame.viewing_past || timeline.seeking.is_some(),
                egui::Button::new("Live"),
            )
            .on_hover_text("Back to the latest moment")
            .clicked()
        {
            commands.push(Command::Sim(LiveCommand::Live));
        }
        if let Some(seeking) = timeline.seeking {
            ui.add(
                egui::ProgressBar::new(seeking.fraction())
                    .desired_width(120.0)
                    .text(format!("re-running to {}", clock_label(seeking.to_us))),
            )
            .on_hover_text(format!(
                "Re-running the run from {} (an archived image) to {}; meanwhile the \
                 picture shows the moment reached so far, {}",
                clock_label(seeking.from_us),
                clock_label(seeking.to_us),
                clock_label(seeking.at_us)
            ));
            ui.label(
                egui::RichText::new(format!("showing {}", clock_label(frame.now_us)))
                    .monospace()
                    .color(theme.ink_weak),
            );
            return;
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
        if let Some(until) = timeline.log_missing_until_us {
            ui.label(
                egui::RichText::new(format!(
                    "events before {} not kept here",
                    clock_label(until)
                ))
                .color(theme.ink_weak),
            )
            .on_hover_text(
                "This moment was re-run from an archived image, which keeps only the records \
                 some group had still to read: the event log and the bus's offsets show what \
                 was published before this time only in part. Everything else is as it was.",
            );
        }
    });
}

/// The part of the timeline reached only through the archive, `(from,
/// to)` in µs, when there is one.
fn archived_span(timeline: &crate::live::TimelineFrame, head_us: u64) -> Option<(u64, u64)> {
    let end = timeline.window_start_us.min(head_us);
    (end > timeline.earliest_us).then_some((timeline.earliest_us, end))
}

/// Where the slider puts the moments: its handle travels between these
/// x coordinates (the rail less the handle's radius, as egui lays it out).
struct Rail {
    left: f32,
    right: f32,
}

impl Rail {
    fn of(slider: egui::Rect) -> Rail {
        let radius = slider.height() / 2.5;
        Rail {
            left: slider.left() + radius,
            right: (slider.right() - radius).max(slider.left() + radius),
        }
    }

    fn x_of(&self, us: u64, head_us: u64) -> f32 {
        if head_us == 0 {
            return self.left;
        }
        let f = (us as f64 / head_us as f64).clamp(0.0, 1.0) as f32;
        self.left + f * (self.right - self.left)
    }
}

/// Underlines the rail: dashed over the archived part, solid over the
/// recent window.
fn paint_spans(
    ui: &egui::Ui,
    slider: egui::Rect,
    rail: &Rail,
    archived: Option<(u64, u64)>,
    head_us: u64,
    theme: &Theme,
) {
    let y = slider.bottom() - 1.0;
    let painter = ui.painter();
    let window_from = archived.map_or(rail.left, |(_, end)| rail.x_of(end, head_us));
    painter.line_segment(
        [egui::pos2(window_from, y), egui::pos2(rail.right, y)],
        egui::Stroke::new(2.0, theme.spark),
    );
    if let Some((from, to)) = archived {
        let points = [
            egui::pos2(rail.x_of(from, head_us), y),
            egui::pos2(rail.x_of(to, head_us), y),
        ];
        painter.extend(egui::Shape::dashed_line(
            &points,
            egui::Stroke::new(2.0, theme.ink_weak),
            4.0,
            3.0,
        ));
    }
}

fn archive_hover(timeline: &crate::live::TimelineFrame) -> String {
    format!(
        "Before {} (dashed) the run is kept as {} compact images ({:.1} MB), one every {} \
         or so: a moment there is re-run from the image before it, which can take a few \
         seconds (progress shows beside the Live button); its event log lacks the records every \
         group had read by then. From {} on (solid) it is quick.",
        clock_label(timeline.window_start_us),
        timeline.archived_images,
        timeline.archive_bytes as f64 / 1e6,
        span_label(timeline.archive_spacing_us),
        clock_label(timeline.window_start_us),
    )
}

/// A stretch of virtual time, rounded for reading: `30 s`, `16 min`, `2.1 h`.
fn span_label(us: u64) -> String {
    let s = us as f64 / 1e6;
    if s < 120.0 {
        format!("{s:.0} s")
    } else if s < 7_200.0 {
        format!("{:.0} min", s / 60.0)
    } else {
        format!("{:.1} h", s / 3_600.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_slices_read_in_the_unit_that_fits() {
        let labels: Vec<String> = STEP_SLICES_US.iter().map(|&us| slice_label(us)).collect();
        assert_eq!(labels, ["1 ms", "10 ms", "100 ms", "1 s", "10 s", "1 min"]);
        assert_eq!(slice_label(STEP_SLICE_US), "100 ms");
        assert_eq!(slice_label(1_500), "1500 µs");
    }

    #[test]
    fn spans_read_in_the_unit_that_fits() {
        assert_eq!(span_label(30_000_000), "30 s");
        assert_eq!(span_label(960_000_000), "16 min");
        assert_eq!(span_label(7_680_000_000), "2.1 h");
    }

    #[test]
    fn the_archived_span_is_the_part_before_the_window() {
        let mut t = crate::live::TimelineFrame {
            earliest_us: 0,
            window_start_us: 5_000_000,
            ..Default::default()
        };
        assert_eq!(archived_span(&t, 9_000_000), Some((0, 5_000_000)));
        t.window_start_us = 0;
        assert_eq!(archived_span(&t, 9_000_000), None, "no archive yet");
        let rail = Rail::of(egui::Rect::from_min_size(
            egui::pos2(100.0, 0.0),
            egui::vec2(200.0, 25.0),
        ));
        assert_eq!(rail.x_of(0, 10), 110.0);
        assert_eq!(rail.x_of(10, 10), 290.0);
        assert_eq!(rail.x_of(5, 10), 200.0);
    }
}
