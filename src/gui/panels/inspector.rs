//! The inspector: edits the selected component (id, label, role, shape,
//! style) or connection (label, stroke, arrows). Text fields commit when
//! they lose focus or on Enter, so one edit is one undo step.
//!
//! Reads the document; emits [`Command::Edit`]s.

use crate::gui::command::{Command, Edit};
use crate::gui::document::Document;
use crate::gui::panels::canvas::Selection;
use crate::gui::theme::Theme;
use crate::mermaid::ast::BracketShape;
use crate::mermaid::{Arrow, Stroke};
use crate::model::{
    ComponentId, Connection, ConnectionId, ConnectionKind, ReasonSource, Role, Shape,
};

/// What the inspector's text fields hold while being edited.
#[derive(Debug, Default)]
pub struct InspectorState {
    target: Option<Target>,
    revision: u64,
    key: String,
    label: String,
    style: String,
    /// The selected connection's event type being edited.
    event: String,
    /// Event types counted at this revision (counting walks the graph).
    event_types: Option<(u64, usize)>,
    /// The live run's latest frame, once a run has started (set by the
    /// app each frame): the selected component's live tables come from it.
    pub live: Option<std::sync::Arc<crate::live::Frame>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Node(ComponentId),
    Edge(ConnectionId),
}

/// Draws the inspector for the current selection.
pub fn inspector_ui(
    ui: &mut egui::Ui,
    doc: &Document,
    selection: &Selection,
    state: &mut InspectorState,
    theme: &Theme,
    commands: &mut Vec<Command>,
) {
    ui.heading("Inspector");
    let target = match (selection.nodes.len(), selection.edges.len()) {
        (1, 0) => selection.nodes.first().map(|id| Target::Node(*id)),
        (0, 1) => selection.edges.first().map(|id| Target::Edge(*id)),
        _ => None,
    };
    let editing = ui.ctx().text_edit_focused();
    if target != state.target || (doc.revision != state.revision && !editing) {
        refresh(state, doc, target);
    }
    match target {
        Some(Target::Node(id)) => node_ui(ui, doc, id, state, theme, commands),
        Some(Target::Edge(id)) => edge_ui(ui, doc, id, state, commands),
        None if selection.is_empty() => {
            ui.label(
                egui::RichText::new("Select a component or a connection.").color(theme.ink_weak),
            );
            diagram_summary_ui(ui, doc, state);
        }
        None => {
            ui.label(format!(
                "{} components, {} connections selected",
                selection.nodes.len(),
                selection.edges.len()
            ));
        }
    }
    if let (Some(Target::Node(id)), Some(frame)) = (target, state.live.clone())
        && let Some(c) = doc.graph.component(id)
    {
        super::replay::group_actions_ui(ui, doc, &frame, &c.key, theme, commands);
        super::live_tables::live_tables_ui(ui, &frame, &c.key, theme, commands);
    }
}

fn refresh(state: &mut InspectorState, doc: &Document, target: Option<Target>) {
    state.target = target;
    state.revision = doc.revision;
    match target {
        Some(Target::Node(id)) => {
            if let Some(c) = doc.graph.component(id) {
                state.key = c.key.clone();
                state.label = c.label.clone();
                state.style = c.styles.join(",");
            }
        }
        Some(Target::Edge(id)) => {
            if let Some(c) = doc.graph.connection(id) {
                state.label = c.label.clone();
                state.event = c
                    .event_type
                    .as_ref()
                    .map_or_else(String::new, |e| e.as_str().to_string());
            }
        }
        None => {}
    }
}

fn committed(resp: &egui::Response, ui: &egui::Ui) -> bool {
    resp.lost_focus() || (resp.has_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)))
}

fn node_ui(
    ui: &mut egui::Ui,
    doc: &Document,
    id: ComponentId,
    state: &mut InspectorState,
    theme: &Theme,
    commands: &mut Vec<Command>,
) {
    let Some(c) = doc.graph.component(id) else {
        return;
    };
    egui::Grid::new("node-inspector")
        .num_columns(2)
        .show(ui, |ui| {
            ui.label("Id");
            let resp = ui.add(egui::TextEdit::singleline(&mut state.key).desired_width(150.0));
            if committed(&resp, ui) && state.key != c.key {
                commands.push(Command::Edit(Edit::Rename(
                    id,
                    state.key.trim().to_string(),
                )));
            }
            ui.end_row();

            ui.label("Label");
            let resp = ui.add(egui::TextEdit::singleline(&mut state.label).desired_width(150.0));
            if committed(&resp, ui) && state.label != c.label {
                commands.push(Command::Edit(Edit::SetLabel(id, state.label.clone())));
            }
            ui.end_row();

            ui.label("Role");
            let fixed = c.role_reason.source() == ReasonSource::Class;
            let current = if fixed {
                c.role.title().to_string()
            } else {
                format!("{} (inferred)", c.role.title())
            };
            egui::ComboBox::from_id_salt("role")
                .selected_text(current)
                .show_ui(ui, |ui| {
                    if ui.selectable_label(!fixed, "inferred").clicked() && fixed {
                        commands.push(Command::Edit(Edit::SetRole(id, None)));
                    }
                    for role in Role::ALL {
                        if ui
                            .selectable_label(fixed && c.role == role, role.title())
                            .clicked()
                        {
                            commands.push(Command::Edit(Edit::SetRole(id, Some(role))));
                        }
                    }
                });
            ui.end_row();

            ui.label("Shape");
            let shape_name = c
                .shape
                .as_ref()
                .map_or("none", |s| s.as_mermaid())
                .to_string();
            egui::ComboBox::from_id_salt("shape")
                .selected_text(shape_name)
                .show_ui(ui, |ui| {
                    for b in BracketShape::ALL {
                        let this = Some(Shape::Bracket(b));
                        if ui
                            .selectable_label(c.shape == this, b.mermaid_type())
                            .clicked()
                        {
                            commands.push(Command::Edit(Edit::SetShape(id, this)));
                        }
                    }
                });
            ui.end_row();

            ui.label("Style");
            let resp = ui
                .add(egui::TextEdit::singleline(&mut state.style).desired_width(150.0))
                .on_hover_text("CSS declarations, comma separated: fill:#f9f,stroke:#333");
            if committed(&resp, ui) && state.style != c.styles.join(",") {
                let styles = state
                    .style
                    .split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect();
                commands.push(Command::Edit(Edit::SetStyles(id, styles)));
            }
            ui.end_row();
        });
    ui.separator();
    ui.label(
        egui::RichText::new(format!(
            "Why {}: {}",
            c.role.title(),
            crate::model::describe_reason(&doc.graph, &c.role_reason)
        ))
        .small()
        .color(theme.ink_weak),
    );
    let ups = doc.graph.upstream(id).len();
    let downs = doc.graph.downstream(id).len();
    ui.label(format!("{ups} in, {downs} out"));
}

fn edge_ui(
    ui: &mut egui::Ui,
    doc: &Document,
    id: ConnectionId,
    state: &mut InspectorState,
    commands: &mut Vec<Command>,
) {
    let Some(c) = doc.graph.connection(id) else {
        return;
    };
    ui.label(format!(
        "{} → {}",
        doc.graph.key_of(c.from),
        doc.graph.key_of(c.to)
    ));
    egui::Grid::new("edge-inspector")
        .num_columns(2)
        .show(ui, |ui| {
            ui.label("Label");
            let resp = ui.add(egui::TextEdit::singleline(&mut state.label).desired_width(150.0));
            if committed(&resp, ui) && state.label != c.label {
                commands.push(Command::Edit(Edit::SetEdgeLabel(id, state.label.clone())));
            }
            ui.end_row();

            ui.label("Event type");
            event_type_ui(ui, doc, c, state, commands);
            ui.end_row();

            ui.label("Stroke");
            egui::ComboBox::from_id_salt("stroke")
                .selected_text(c.stroke.as_str())
                .show_ui(ui, |ui| {
                    for s in [
                        Stroke::Normal,
                        Stroke::Thick,
                        Stroke::Dotted,
                        Stroke::Invisible,
                    ] {
                        if ui.selectable_label(c.stroke == s, s.as_str()).clicked() && c.stroke != s
                        {
                            commands.push(Command::Edit(Edit::SetStroke(id, s)));
                        }
                    }
                });
            ui.end_row();

            for (name, start) in [("Start", true), ("End", false)] {
                ui.label(name);
                let current = if start { c.arrow_start } else { c.arrow_end };
                egui::ComboBox::from_id_salt(name)
                    .selected_text(current.as_str())
                    .show_ui(ui, |ui| {
                        for a in [Arrow::None, Arrow::Arrow, Arrow::Circle, Arrow::Cross] {
                            if ui.selectable_label(current == a, a.as_str()).clicked()
                                && current != a
                            {
                                let (s, e) = if start {
                                    (a, c.arrow_end)
                                } else {
                                    (c.arrow_start, a)
                                };
                                commands.push(Command::Edit(Edit::SetArrows(id, s, e)));
                            }
                        }
                    });
                ui.end_row();
            }
        });
    ui.label(format!("Kind: {:?}", c.kind));
}

/// The event type of a connection that carries events (into a bus, or
/// out of one to a consumer, projection or saga). The model keeps it as
/// the connection's label, so editing it is a label edit (one undo step);
/// other connections carry no event and show a dash.
fn event_type_ui(
    ui: &mut egui::Ui,
    doc: &Document,
    c: &Connection,
    state: &mut InspectorState,
    commands: &mut Vec<Command>,
) {
    let carries = match c.kind {
        ConnectionKind::Publish => true,
        ConnectionKind::Deliver => doc
            .graph
            .component(c.to)
            .is_some_and(|t| t.role.consumes_events()),
        ConnectionKind::Plain => false,
    };
    if !carries {
        ui.label("—").on_hover_text(
            "Only connections into a bus, or from a bus to a consumer, carry events",
        );
        return;
    }
    let resp = ui
        .add(
            egui::TextEdit::singleline(&mut state.event)
                .id_salt("event-type")
                .hint_text("OrderPlaced")
                .desired_width(150.0),
        )
        .on_hover_text("The event this connection carries (written as its label)");
    let current = c.event_type.as_ref().map_or("", |e| e.as_str());
    if committed(&resp, ui) && state.event.trim() != current {
        let event = state.event.trim().to_string();
        state.label = event.clone();
        commands.push(Command::Edit(Edit::SetEdgeLabel(c.id, event)));
    }
}

fn diagram_summary_ui(ui: &mut egui::Ui, doc: &Document, state: &mut InspectorState) {
    ui.separator();
    ui.label(format!(
        "{}, {}, {}",
        counted(doc.graph.component_count(), "component", "components"),
        counted(doc.graph.connection_count(), "connection", "connections"),
        counted(doc.graph.groups().count(), "subgraph", "subgraphs")
    ));
    let events = match state.event_types {
        Some((rev, n)) if rev == doc.revision => n,
        _ => {
            let n = doc.graph.event_types().len();
            state.event_types = Some((doc.revision, n));
            n
        }
    };
    if events > 0 {
        ui.label(counted(events, "event type", "event types"));
    }
}

/// `n` with the noun that agrees with it: `1 subgraph`, `0 subgraphs`.
fn counted(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_agree_with_their_noun() {
        assert_eq!(counted(1, "subgraph", "subgraphs"), "1 subgraph");
        assert_eq!(counted(0, "subgraph", "subgraphs"), "0 subgraphs");
        assert_eq!(counted(17, "component", "components"), "17 components");
    }
}
