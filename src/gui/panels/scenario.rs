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
//! run's frame when there is one; and how each group commits and where
//! that came from: "5 s (live default)" (Kafka's auto-commit, which a live
//! run uses unless the diagram says otherwise: [`crate::live::live_commits`])
//! or the diagram's `commit-every` line. The live default is never
//! written into the diagram; a setting chosen here is, even the headless
//! default (every record), since a live run would otherwise replace it.
//!
//! A run opened from a recording saved before recordings marked the live
//! run's defaults (`%% eda:live-defaults`) is told apart
//! ([`crate::gui::run::OpenedSettings::defaults_recorded`]): its retention
//! line may be that time's live default appended to the diagram, so its
//! origin is "not recorded"; and its groups commit as recorded (after
//! every record: live runs had no commit timer then), which the commits
//! column says instead of the live default a new run would use.
//!
//! Reads the document's scenario through `sim::load_scenario` and prints
//! it with `Scenario::to_lines`; never touches the engine (only `live`'s
//! rule for its defaults).

use crate::gui::command::{Command, Edit};
use crate::gui::document::{Document, Positions, write};
use crate::gui::panels::dock::DockContext;
use crate::sim::{
    Arrival, CommitSource, GroupParams, MAX_COMMIT_INTERVAL_US, Retention, RetentionSource,
    Scenario, SourceSpec, load_scenario,
};

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
            let saved_ui = |ui: &mut egui::Ui| {
                ui.label("Saved in the diagram as:");
                let mut text = if lines.is_empty() {
                    "(nothing: the diagram's default scenario)".to_string()
                } else {
                    lines.join("\n")
                };
                ui.add(
                    egui::TextEdit::multiline(&mut text)
                        .code_editor()
                        .interactive(false)
                        .desired_width(f32::INFINITY),
                );
            };
            // The groups' grid needs about 750 points: side by side only
            // where both columns have room, else one under the other.
            if ui.available_width() >= WIDE_LAYOUT {
                ui.columns(2, |cols| {
                    settings_ui(&mut cols[0], &mut working, cx);
                    faults_ui(&mut cols[1], &mut working, state, cx);
                    cols[1].separator();
                    saved_ui(&mut cols[1]);
                });
            } else {
                settings_ui(ui, &mut working, cx);
                ui.separator();
                faults_ui(ui, &mut working, state, cx);
                ui.separator();
                saved_ui(ui);
            }
        });
    if revert {
        state.sync(doc, true);
    } else {
        state.working = Some(working);
    }
}

/// The tab's width from which settings and faults sit side by side.
const WIDE_LAYOUT: f32 = 1_500.0;

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
    format!(
        "{} ({})",
        retention_what(retention),
        retention_origin(source)
    )
}

/// A retention in a few words: "keep-latest 131,072 per partition".
fn retention_what(retention: Retention) -> String {
    match retention {
        Retention::KeepLatest { records } => {
            format!("keep-latest {} per partition", grouped(records))
        }
        other => other.to_string(),
    }
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

/// Said of a retention line in a recording that does not mark the live
/// run's defaults.
pub const ORIGIN_NOT_RECORDED: &str = "origin not recorded";

/// Where the running bus's retention came from, in a few words: as the
/// frame says ([`retention_origin`]), except for a recording that does not
/// mark the live run's defaults, whose retention line's origin is
/// [`ORIGIN_NOT_RECORDED`].
pub fn run_retention_origin(cx: &DockContext<'_>, source: RetentionSource) -> &'static str {
    let unmarked = cx.opened.is_some_and(|o| !o.defaults_recorded);
    if unmarked && source == RetentionSource::Diagram {
        ORIGIN_NOT_RECORDED
    } else {
        retention_origin(source)
    }
}

/// The retention the bus runs with (the run's, when one is going) and
/// where it came from.
fn retention_ui(ui: &mut egui::Ui, s: &Scenario, cx: &DockContext<'_>) {
    let (line, hover) = match cx.frame {
        Some(f) if run_retention_origin(cx, f.retention_source) == ORIGIN_NOT_RECORDED => (
            format!("{} ({ORIGIN_NOT_RECORDED})", retention_what(f.retention)),
            "What the opened run's bus keeps, as its recorded diagram says. The \
             recording predates the mark of the live run's defaults: the designer of \
             that time appended its live default retention to the diagram as a plain \
             line, so whether the diagram or that default chose it is not recorded",
        ),
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
            ui.label("commits").on_hover_text(
                "When a worker commits the offsets it processed: a crash re-delivers \
                 those not yet committed (duplicates, unless idempotent). A live run \
                 commits every 5 s, as Kafka's auto-commit does, unless the diagram \
                 says otherwise: on a timer, or every N records and on catching up",
            );
            ui.end_row();
            let live = {
                let mut live = s.clone();
                crate::live::live_commits(&mut live);
                live
            };
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
                let source = commit_ui(ui, name, &mut p, &live, s, cx);
                ui.end_row();
                match source {
                    Some(CommitSource::Diagram) => {
                        s.commit_sources.insert(name.clone(), CommitSource::Diagram);
                    }
                    Some(_) => {
                        s.commit_sources.remove(name.as_str());
                    }
                    None => {}
                }
                if p != before {
                    s.groups.insert(name.clone(), p);
                }
            }
        });
}

/// How a group commits, as the scenario tab offers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CommitMode {
    /// The live run's default (nothing written into the diagram).
    LiveDefault,
    /// On a timer the diagram sets.
    Timer,
    /// Every N records and on catching up.
    Records,
}

impl CommitMode {
    fn label(self) -> &'static str {
        match self {
            CommitMode::LiveDefault => "live default",
            CommitMode::Timer => "on a timer",
            CommitMode::Records => "by records",
        }
    }
}

/// Where a group's commit setting came from, in a few words.
pub fn commit_origin(source: CommitSource) -> &'static str {
    match source {
        CommitSource::Diagram => "from the diagram",
        CommitSource::LiveDefault => "live default",
        CommitSource::Default => "default",
    }
}

/// A group's commit setting and where it came from: "5 s (live default)",
/// "50 records (from the diagram)".
pub fn commit_line(p: &GroupParams, source: CommitSource) -> String {
    format!("{} ({})", commit_what(p), commit_origin(source))
}

/// How often a group commits: "every record", "50 records", "5 s".
fn commit_what(p: &GroupParams) -> String {
    match (p.commit_interval_us, p.commit_every) {
        (0, 1) => "every record".to_string(),
        (0, n) => format!("{n} records"),
        (us, _) => duration_label(us),
    }
}

/// `us` in the largest unit that shows it whole enough: 5 s, 1.5 s, 250 ms.
fn duration_label(us: u64) -> String {
    if us >= 1_000_000 {
        format!("{} s", us as f64 / 1e6)
    } else if us >= 1_000 {
        format!("{} ms", us as f64 / 1e3)
    } else {
        format!("{us} µs")
    }
}

/// Group `name`'s commits: the mode (live default, timer, records), the
/// value and where it came from. `p` is the group as the diagram gives
/// it, `live` the scenario as a live run uses it. Returns the group's new
/// commit source when the user changed it (`Diagram`: written into the
/// diagram on Apply; another: written no more).
fn commit_ui(
    ui: &mut egui::Ui,
    name: &str,
    p: &mut GroupParams,
    live: &Scenario,
    s: &Scenario,
    cx: &DockContext<'_>,
) -> Option<CommitSource> {
    let shown = live.group_params(name);
    let source = live.commit_source(name);
    let mode = match (source, shown.commit_interval_us) {
        (CommitSource::LiveDefault, _) => CommitMode::LiveDefault,
        (_, 0) => CommitMode::Records,
        _ => CommitMode::Timer,
    };
    // Under a `*.commit-every` line there is no live default to go back to.
    let star_written = s.commit_sources.get("*") == Some(&CommitSource::Diagram);
    let mut changed = None;
    ui.horizontal(|ui| {
        let mut picked = mode;
        egui::ComboBox::from_id_salt(("commits", name))
            .selected_text(mode.label())
            .width(90.0)
            .show_ui(ui, |ui| {
                for m in [
                    CommitMode::LiveDefault,
                    CommitMode::Timer,
                    CommitMode::Records,
                ] {
                    if m == CommitMode::LiveDefault && star_written {
                        continue;
                    }
                    ui.selectable_value(&mut picked, m, m.label());
                }
            })
            .response
            .widget_info(|| {
                egui::WidgetInfo::labeled(
                    egui::WidgetType::ComboBox,
                    true,
                    format!("{name} commits"),
                )
            });
        if picked != mode {
            let defaults = GroupParams::default();
            match picked {
                CommitMode::LiveDefault => {
                    p.commit_every = defaults.commit_every;
                    p.commit_interval_us = 0;
                    changed = Some(CommitSource::Default);
                }
                CommitMode::Timer => {
                    p.commit_interval_us = match shown.commit_interval_us {
                        0 => crate::live::LIVE_COMMIT_INTERVAL_US,
                        us => us,
                    };
                    changed = Some(CommitSource::Diagram);
                }
                CommitMode::Records => {
                    p.commit_interval_us = 0;
                    changed = Some(CommitSource::Diagram);
                }
            }
        }
        let editable = changed.map_or(mode, |_| picked);
        match editable {
            CommitMode::LiveDefault => {}
            CommitMode::Timer => {
                let mut secs = p.commit_interval_us as f64 / 1e6;
                let max_s = MAX_COMMIT_INTERVAL_US as f64 / 1e6;
                let r = ui.add(
                    egui::DragValue::new(&mut secs)
                        .range(0.001..=max_s)
                        .speed(0.1)
                        .max_decimals(3)
                        .suffix(" s"),
                );
                r.widget_info(|| commit_info(name, secs));
                if r.changed() {
                    p.commit_interval_us = (secs * 1e6).round().max(1_000.0) as u64;
                    changed = Some(CommitSource::Diagram);
                }
            }
            CommitMode::Records => {
                let r = ui.add(
                    egui::DragValue::new(&mut p.commit_every)
                        .range(1..=s.limits.max_commit_every.max(1))
                        .suffix(" records"),
                );
                let every = f64::from(p.commit_every);
                r.widget_info(|| commit_info(name, every));
                if r.changed() {
                    changed = Some(CommitSource::Diagram);
                }
            }
        }
        let now = changed.map_or(source, |c| match c {
            CommitSource::Diagram => CommitSource::Diagram,
            _ => CommitSource::LiveDefault,
        });
        let recorded = cx.opened.filter(|o| !o.defaults_recorded);
        let line = match (now, changed, recorded) {
            (_, None, Some(o)) => {
                let p = o.scenario.group_params(name);
                format!("{} (as recorded)", commit_what(&p))
            }
            (CommitSource::LiveDefault, _, _) => {
                let mut live_p = *p;
                live_p.commit_interval_us = crate::live::LIVE_COMMIT_INTERVAL_US;
                commit_line(&live_p, CommitSource::LiveDefault)
            }
            (_, Some(_), _) => "(edited)".to_string(),
            (source, None, None) => format!("({})", commit_origin(source)),
        };
        let hover = if recorded.is_some() && changed.is_none() {
            "How the opened run commits: as its recording says. It was saved before \
             recordings marked the live run's defaults, when live runs committed after \
             every record; run again from this diagram, the group commits as set here"
        } else {
            "Where this group's commit setting comes from: the live default is \
             never written into the diagram; a setting chosen here is, on Apply"
        };
        ui.label(egui::RichText::new(line).color(cx.theme.ink_weak))
            .on_hover_text(hover);
    });
    changed
}

/// The value of group `name`'s commit setting, as assistive tools read it.
fn commit_info(name: &str, value: f64) -> egui::WidgetInfo {
    let mut info = egui::WidgetInfo::drag_value(true, value);
    info.label = Some(format!("{name} commit every"));
    info
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
