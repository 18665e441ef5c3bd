//! The "Scenario" dock tab: edits the run's scenario — each producer's
//! rate, partitions per topic, each consumer group's instances, attempts,
//! idempotency, records between offset commits and failure rate, and the
//! fault schedule — and shows it as
//! the `%% eda:scenario` lines it will be saved as. "Apply" writes those
//! lines into the document as one undoable edit ([`Edit::SetScenario`]),
//! so Save puts them in the `.mmd` and the run reloads with them.
//!
//! It also says which retention the bus runs with and where it came from
//! (the diagram's `retention` line, or the live run's default), from the
//! run's frame when there is one.
//!
//! Reads the document's scenario through `sim::load_scenario` and prints
//! it with `Scenario::to_lines`; never touches the engine.

use crate::gui::command::{Command, Edit};
use crate::gui::document::{Document, Positions, write};
use crate::gui::panels::dock::DockContext;
use crate::sim::{Arrival, Retention, RetentionSource, Scenario, SourceSpec, load_scenario};

/// The tab's state: the scenario being edited and what it came from.
#[derive(Debug, Default)]
pub struct ScenarioState {
    /// The scenario as edited (`None` until loaded, or when the document's
    /// lines do not load).
    pub working: Option<Scenario>,
    /// The document's scenario lines the working copy started from.
    loaded_lines: Vec<String>,
    /// The document revision the working copy was loaded at.
    loaded_revision: Option<u64>,
    /// Why the document's scenario did not load, or a fault line was refused.
    pub error: Option<String>,
    /// A `fault …` line being typed.
    pub new_fault: String,
}

impl ScenarioState {
    /// Loads the document's scenario when the document changed and
    /// nothing is being edited (or always, with `force`).
    fn sync(&mut self, doc: &Document, force: bool) {
        let changed = self.loaded_revision != Some(doc.revision);
        let editing = self
            .working
            .as_ref()
            .is_some_and(|w| w.to_lines(&doc.graph) != self.loaded_lines);
        if !(force || (changed && !editing)) {
            return;
        }
        self.loaded_revision = Some(doc.revision);
        match scenario_of(doc) {
            Ok(s) => {
                self.loaded_lines = s.to_lines(&doc.graph);
                self.working = Some(s);
                self.error = None;
            }
            Err(e) => {
                self.working = None;
                self.error = Some(e);
            }
        }
    }
}

/// The document's scenario: its `%% eda:scenario` lines over the default.
fn scenario_of(doc: &Document) -> Result<Scenario, String> {
    let text = write(&doc.graph, &Positions::new());
    load_scenario(&text, &doc.graph).map_err(|d| d.render("scenario", &text))
}

/// The scenario with one more `fault …` line, as the file syntax reads it.
fn with_fault_line(doc: &Document, s: &Scenario, line: &str) -> Result<Scenario, String> {
    let body = line.trim();
    let body = body.strip_prefix("fault").unwrap_or(body).trim();
    if body.is_empty() {
        return Err("type a fault, e.g. `crash Consumer1 at 10s for 5s`".into());
    }
    let mut lines = s.to_lines(&doc.graph);
    lines.push(format!("%% {} fault {body}", crate::sim::SCENARIO_TAG));
    let mut graph = doc.graph.clone();
    graph.meta.extras.scenario = lines;
    let text = write(&graph, &Positions::new());
    load_scenario(&text, &graph).map_err(|d| d.message.clone())
}

/// The rate of a source's arrival process.
fn rate_mut(src: &mut SourceSpec) -> &mut f64 {
    match &mut src.arrival {
        Arrival::Poisson { rate_per_s } | Arrival::Constant { rate_per_s } => rate_per_s,
    }
}

/// Draws the tab.
pub fn scenario_ui(
    ui: &mut egui::Ui,
    state: &mut ScenarioState,
    cx: &DockContext<'_>,
    commands: &mut Vec<Command>,
) {
    state.sync(cx.doc, false);
    let doc = cx.doc;
    let Some(mut working) = state.working.take() else {
        ui.colored_label(
            cx.theme.error,
            state
                .error
                .as_deref()
                .unwrap_or("The scenario did not load."),
        );
        if ui.button("Reload").clicked() {
            state.sync(doc, true);
        }
        return;
    };
    let lines = working.to_lines(&doc.graph);
    let edited = lines != state.loaded_lines;
    let mut revert = false;
    ui.horizontal(|ui| {
        if ui
            .add_enabled(edited, egui::Button::new("Apply"))
            .on_hover_text(
                "Write these lines into the diagram (undoable); the run restarts with them",
            )
            .clicked()
        {
            commands.push(Command::Edit(Edit::SetScenario(lines.clone())));
            state.loaded_lines = lines.clone();
        }
        if ui
            .add_enabled(edited, egui::Button::new("Revert"))
            .clicked()
        {
            revert = true;
        }
        ui.weak(if edited {
            "edited, not applied"
        } else {
            "as saved in the diagram"
        });
    });
    ui.separator();
    egui::ScrollArea::vertical()
        .id_salt("scenario-scroll")
        .show(ui, |ui| {
            ui.columns(2, |cols| {
                settings_ui(&mut cols[0], &mut working, cx);
                faults_ui(&mut cols[1], &mut working, state, cx);
                cols[1].separator();
                cols[1].label("Saved in the diagram as:");
                let mut text = if lines.is_empty() {
                    "(nothing: the diagram's default scenario)".to_string()
                } else {
                    lines.join("\n")
                };
                cols[1].add(
                    egui::TextEdit::multiline(&mut text)
                        .code_editor()
                        .interactive(false)
                        .desired_width(f32::INFINITY),
                );
            });
        });
    if revert {
        state.sync(doc, true);
    } else {
        state.working = Some(working);
    }
}

/// Where a retention came from, as the scenario tab and the bus tab say it.
pub fn retention_origin(source: RetentionSource) -> &'static str {
    match source {
        RetentionSource::Diagram => "from the diagram",
        RetentionSource::LiveDefault => "live default",
        RetentionSource::Default => "default",
    }
}

/// A retention and where it came from, in a few words: "keep-latest
/// 131,072 per partition (live default)", "until-consumed (from the diagram)".
pub fn retention_line(retention: Retention, source: RetentionSource) -> String {
    let what = match retention {
        Retention::KeepLatest { records } => {
            format!("keep-latest {} per partition", grouped(records))
        }
        other => other.to_string(),
    };
    format!("{what} ({})", retention_origin(source))
}

/// `n` with its digits in groups of three: 131,072.
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The retention the bus runs with (the run's, when one is going) and
/// where it came from.
fn retention_ui(ui: &mut egui::Ui, s: &Scenario, cx: &DockContext<'_>) {
    let (line, hover) = match cx.frame {
        Some(f) => (
            retention_line(f.retention, f.retention_source),
            "What the running bus keeps. Unless the diagram writes \
             `%% eda:scenario retention = …`, a live run keeps the latest \
             records of each partition, so a consumer added later reads from offset 0",
        ),
        None => (
            retention_line(s.retention, s.retention_source),
            "What the diagram asks for. Unless it writes a retention line, a live \
             run keeps the latest records of each partition instead",
        ),
    };
    ui.horizontal(|ui| {
        ui.label("Retention");
        ui.monospace(line).on_hover_text(hover);
    });
}

/// Partitions, producer rates and the groups' settings.
fn settings_ui(ui: &mut egui::Ui, s: &mut Scenario, cx: &DockContext<'_>) {
    retention_ui(ui, s, cx);
    ui.horizontal(|ui| {
        ui.label("Partitions per topic");
        ui.add(egui::DragValue::new(&mut s.partitions).range(1..=s.limits.max_partitions.max(1)));
    });
    ui.strong("Producers");
    egui::Grid::new("scenario-sources")
        .striped(true)
        .show(ui, |ui| {
            for src in &mut s.sources {
                let name = ui.label(format!("{} · {}", src.component, src.event_type));
                ui.add(
                    egui::DragValue::new(rate_mut(src))
                        .range(0.0..=1e6)
                        .speed(1.0)
                        .suffix(" /s"),
                )
                .labelled_by(name.id);
                ui.end_row();
            }
        });
    ui.strong("Consumer groups");
    let groups: Vec<String> = cx
        .frame
        .map(|f| f.groups.iter().map(|g| g.group.clone()).collect())
        .unwrap_or_else(|| s.groups.keys().cloned().collect());
    egui::Grid::new("scenario-groups")
        .striped(true)
        .show(ui, |ui| {
            ui.label("group");
            ui.label("instances");
            ui.label("attempts");
            ui.label("fail %");
            ui.label("idempotent");
            ui.label("commit every").on_hover_text(
                "Records a worker processes between offset commits: a crash \
                 re-delivers those not yet committed (duplicates, unless idempotent)",
            );
            ui.end_row();
            let max_instances = s.limits.max_instances.max(1);
            for name in groups.iter().filter(|g| cx.doc.graph.id_of(g).is_some()) {
                let mut p = s.group_params(name);
                let before = p;
                ui.label(name);
                ui.add(egui::DragValue::new(&mut p.instances).range(1..=max_instances));
                ui.add(egui::DragValue::new(&mut p.retry.max_attempts).range(1..=100));
                let mut percent = p.failure_probability * 100.0;
                ui.add(
                    egui::DragValue::new(&mut percent)
                        .range(0.0..=100.0)
                        .speed(0.5)
                        .max_decimals(2),
                );
                p.failure_probability = (percent / 100.0).clamp(0.0, 1.0);
                ui.checkbox(&mut p.idempotent, "")
                    .widget_info(|| idempotent_info(name, p.idempotent));
                ui.add(
                    egui::DragValue::new(&mut p.commit_every)
                        .range(1..=s.limits.max_commit_every.max(1))
                        .suffix(" records"),
                )
                .widget_info(|| {
                    let mut info = egui::WidgetInfo::drag_value(true, f64::from(p.commit_every));
                    info.label = Some(format!("{name} commit every"));
                    info
                });
                ui.end_row();
                if p != before {
                    s.groups.insert(name.clone(), p);
                }
            }
        });
}

/// The checkbox of group `name`'s idempotency, as assistive tools (and
/// tests) read it.
fn idempotent_info(name: &str, on: bool) -> egui::WidgetInfo {
    egui::WidgetInfo::selected(
        egui::WidgetType::Checkbox,
        true,
        on,
        format!("{name} idempotent"),
    )
}

/// The fault schedule: remove entries, add one typed in the file's syntax.
fn faults_ui(ui: &mut egui::Ui, s: &mut Scenario, state: &mut ScenarioState, cx: &DockContext<'_>) {
    let doc = cx.doc;
    ui.strong("Fault schedule");
    let mut remove = None;
    let lines = s.to_lines(&doc.graph);
    let prefix = format!("%% {} fault ", crate::sim::SCENARIO_TAG);
    let fault_lines: Vec<&str> = lines
        .iter()
        .filter_map(|l| l.strip_prefix(prefix.as_str()))
        .collect();
    if s.faults.is_empty() {
        ui.weak("No faults scheduled.");
    }
    for (i, _) in s.faults.iter().enumerate() {
        ui.horizontal(|ui| {
            if ui.small_button("✕").on_hover_text("Remove").clicked() {
                remove = Some(i);
            }
            ui.monospace(fault_lines.get(i).copied().unwrap_or("?"));
        });
    }
    if let Some(i) = remove {
        s.faults.remove(i);
    }
    ui.horizontal(|ui| {
        ui.add(
            egui::TextEdit::singleline(&mut state.new_fault)
                .hint_text("crash Consumer1 at 10s for 5s")
                .desired_width(220.0),
        );
        if ui.button("Add fault").clicked() {
            match with_fault_line(doc, s, &state.new_fault) {
                Ok(next) => {
                    s.faults = next.faults;
                    state.new_fault.clear();
                    state.error = None;
                }
                Err(e) => state.error = Some(e),
            }
        }
    });
    if let Some(e) = &state.error {
        ui.colored_label(cx.theme.error, e);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fault_line_is_read_with_the_file_syntax() {
        let doc = Document::seed();
        let s = scenario_of(&doc).unwrap_or_else(|e| panic!("{e}"));
        let next = with_fault_line(&doc, &s, "crash Consumer1 at 10s for 5s")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(next.faults.len(), s.faults.len() + 1);
        let lines = next.to_lines(&doc.graph);
        assert!(
            lines
                .iter()
                .any(|l| l.ends_with("fault crash Consumer1 at 10s for 5s")),
            "{lines:?}"
        );
        let bad = with_fault_line(&doc, &s, "crash Nobody at 10s");
        assert!(bad.is_err());
        assert!(with_fault_line(&doc, &s, "  ").is_err());
    }

    #[test]
    fn a_retention_line_says_what_is_kept_and_where_it_came_from() {
        assert_eq!(
            retention_line(
                Retention::KeepLatest { records: 131_072 },
                RetentionSource::LiveDefault
            ),
            "keep-latest 131,072 per partition (live default)"
        );
        assert_eq!(
            retention_line(Retention::UntilConsumed, RetentionSource::Diagram),
            "until-consumed (from the diagram)"
        );
        assert_eq!(
            retention_line(
                Retention::KeepLatest { records: 500 },
                RetentionSource::Diagram
            ),
            "keep-latest 500 per partition (from the diagram)"
        );
        assert_eq!(grouped(1_572_864), "1,572,864");
        assert_eq!(grouped(100), "100");
    }

    #[test]
    fn applying_keeps_an_explicit_until_consumed() {
        let mut doc = Document::seed();
        doc.graph.meta.extras.scenario =
            vec!["%% eda:scenario retention = until-consumed".to_string()];
        let mut s = scenario_of(&doc).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.retention_source, RetentionSource::Diagram);
        s.partitions = 4;
        let lines = s.to_lines(&doc.graph);
        assert!(
            lines
                .iter()
                .any(|l| l == "%% eda:scenario retention = until-consumed"),
            "{lines:?}"
        );
    }

    #[test]
    fn edits_print_as_scenario_lines() {
        let doc = Document::seed();
        let mut s = scenario_of(&doc).unwrap_or_else(|e| panic!("{e}"));
        *rate_mut(&mut s.sources[0]) = 250.0;
        let mut p = s.group_params("Consumer1");
        p.instances = 3;
        p.idempotent = true;
        s.groups.insert("Consumer1".into(), p);
        let lines = s.to_lines(&doc.graph);
        for want in [
            "%% eda:scenario Producer1.rate = 250/s poisson",
            "%% eda:scenario Consumer1.instances = 3",
            "%% eda:scenario Consumer1.idempotent = on",
        ] {
            assert!(lines.iter().any(|l| l == want), "{want} not in {lines:?}");
        }
    }
}
