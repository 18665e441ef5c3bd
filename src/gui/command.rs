//! Edits and their undo: every change to the document is an [`Edit`];
//! applying one returns the edit that undoes it, so the [`History`] only
//! stacks edits. Panels never change the document: they send
//! [`Command`]s, which the app applies once per frame.
//!
//! Depends on the model's edit methods (which return their undo data) and
//! on [`Document`]; knows nothing of egui widgets.

use super::document::{Document, Positions};
use crate::mermaid::{Arrow, Stroke};
use crate::model::{
    ArchGraph, ComponentId, Connection, ConnectionId, ModelError, RemovedComponent, Role, Shape,
};
use egui::Pos2;
use std::path::PathBuf;

/// One reversible change to the document.
#[derive(Debug, Clone)]
pub enum Edit {
    /// Puts components at these centres.
    Move(Vec<(ComponentId, Pos2)>),
    /// Adds a component (the key must be free).
    Add {
        /// Mermaid id.
        key: String,
        /// Text shown.
        label: String,
        /// Role class to set, if any.
        role: Option<Role>,
        /// Shape, when not the default rectangle.
        shape: Option<Shape>,
        /// Where its centre goes.
        at: Pos2,
    },
    /// Removes a component with its connections.
    Remove(ComponentId),
    /// Puts a removed component back where it was.
    Restore(Box<RemovedComponent>, Pos2),
    /// Connects two components with a plain arrow.
    Connect {
        /// Source.
        from: ComponentId,
        /// Target.
        to: ComponentId,
        /// Label (an event type when it publishes to a bus).
        label: String,
    },
    /// Removes a connection.
    Disconnect(ConnectionId),
    /// Puts a removed connection back.
    Reconnect(Box<Connection>),
    /// Changes a component's label.
    SetLabel(ComponentId, String),
    /// Changes a component's Mermaid id.
    Rename(ComponentId, String),
    /// Changes a component's shape.
    SetShape(ComponentId, Option<Shape>),
    /// Replaces a component's `style` declarations.
    SetStyles(ComponentId, Vec<String>),
    /// Fixes a component's role (or returns it to inference).
    SetRole(ComponentId, Option<Role>),
    /// Replaces a component's classes.
    SetClasses(ComponentId, Vec<String>),
    /// Changes a connection's label.
    SetEdgeLabel(ConnectionId, String),
    /// Changes a connection's line style.
    SetStroke(ConnectionId, Stroke),
    /// Changes a connection's end markers (start, end).
    SetArrows(ConnectionId, Arrow, Arrow),
    /// Replaces the whole model and positions (a source-pane edit, a re-layout).
    Replace(Box<(ArchGraph, Positions)>),
    /// Several edits as one undo step, applied in order.
    Batch(Vec<Edit>),
    /// Replaces the `%% eda:scenario` lines (whole lines, `%%` included)
    /// the file is saved with.
    SetScenario(Vec<String>),
}

impl Edit {
    /// Applies the edit and returns the edit that undoes it. On error the
    /// document is unchanged (a batch undoes what it had applied).
    pub fn apply(self, doc: &mut Document) -> Result<Edit, ModelError> {
        let g = &mut doc.graph;
        let inverse = match self {
            Edit::Move(moves) => {
                let old = moves
                    .iter()
                    .map(|(id, _)| (*id, doc.positions.get(id).copied().unwrap_or(Pos2::ZERO)))
                    .collect();
                for (id, p) in moves {
                    if g.component(id).is_some() {
                        doc.positions.insert(id, p);
                    }
                }
                Edit::Move(old)
            }
            Edit::Add {
                key,
                label,
                role,
                shape,
                at,
            } => {
                let id = g.add_component(&key, &label)?;
                if role.is_some() {
                    g.set_role(id, role)?;
                }
                if shape.is_some() {
                    g.set_shape(id, shape)?;
                }
                doc.positions.insert(id, at);
                Edit::Remove(id)
            }
            Edit::Remove(id) => {
                let at = doc.positions.remove(&id).unwrap_or(Pos2::ZERO);
                let removed = g.remove_component(id)?;
                Edit::Restore(Box::new(removed), at)
            }
            Edit::Restore(removed, at) => {
                let id = removed.component.id;
                g.restore_component(*removed)?;
                doc.positions.insert(id, at);
                Edit::Remove(id)
            }
            Edit::Connect { from, to, label } => Edit::Disconnect(g.connect(from, to, &label)?),
            Edit::Disconnect(id) => Edit::Reconnect(Box::new(g.disconnect(id)?)),
            Edit::Reconnect(c) => {
                let id = c.id;
                g.restore_connection(*c)?;
                Edit::Disconnect(id)
            }
            Edit::SetLabel(id, label) => Edit::SetLabel(id, g.set_label(id, &label)?),
            Edit::Rename(id, key) => Edit::Rename(id, g.rename_component(id, &key)?),
            Edit::SetShape(id, shape) => Edit::SetShape(id, g.set_shape(id, shape)?),
            Edit::SetStyles(id, styles) => Edit::SetStyles(id, g.set_styles(id, styles)?),
            Edit::SetRole(id, role) => Edit::SetClasses(id, g.set_role(id, role)?),
            Edit::SetClasses(id, classes) => Edit::SetClasses(id, g.set_classes(id, classes)?),
            Edit::SetEdgeLabel(id, label) => {
                Edit::SetEdgeLabel(id, g.set_connection_label(id, &label)?)
            }
            Edit::SetStroke(id, stroke) => Edit::SetStroke(id, g.set_stroke(id, stroke)?),
            Edit::SetArrows(id, start, end) => {
                let (s, e) = g.set_arrows(id, start, end)?;
                Edit::SetArrows(id, s, e)
            }
            Edit::Replace(next) => {
                let (graph, positions) = *next;
                let old_graph = std::mem::replace(&mut doc.graph, graph);
                let old_positions = std::mem::replace(&mut doc.positions, positions);
                Edit::Replace(Box::new((old_graph, old_positions)))
            }
            Edit::SetScenario(lines) => {
                Edit::SetScenario(std::mem::replace(&mut g.meta.extras.scenario, lines))
            }
            Edit::Batch(edits) => {
                let mut undo = Vec::with_capacity(edits.len());
                for edit in edits {
                    match edit.apply(doc) {
                        Ok(inv) => undo.push(inv),
                        Err(err) => {
                            // Roll back what this batch did, newest first.
                            for inv in undo.into_iter().rev() {
                                let _ = inv.apply(doc);
                            }
                            return Err(err);
                        }
                    }
                }
                undo.reverse();
                Edit::Batch(undo)
            }
        };
        doc.touch();
        Ok(inverse)
    }
}

/// Undo and redo stacks of inverse edits.
#[derive(Debug, Default)]
pub struct History {
    undo: Vec<Edit>,
    redo: Vec<Edit>,
}

/// Most undo steps kept; older ones are dropped.
const HISTORY_LIMIT: usize = 500;

impl History {
    /// Applies `edit` as a new undo step (clears the redo stack).
    pub fn apply(&mut self, doc: &mut Document, edit: Edit) -> Result<(), ModelError> {
        let inverse = edit.apply(doc)?;
        self.record(inverse);
        Ok(())
    }

    /// Records an edit already made (a finished drag): `inverse` undoes it.
    pub fn record(&mut self, inverse: Edit) {
        self.undo.push(inverse);
        if self.undo.len() > HISTORY_LIMIT {
            self.undo.remove(0);
        }
        self.redo.clear();
    }

    /// Folds `inverse` (of an edit just made) into the newest undo step, so
    /// both undo together.
    pub fn merge_last(&mut self, inverse: Edit) {
        match self.undo.pop() {
            Some(last) => self.undo.push(Edit::Batch(vec![inverse, last])),
            None => self.undo.push(inverse),
        }
    }

    /// Undoes the newest step. Returns false when there is none.
    pub fn undo(&mut self, doc: &mut Document) -> Result<bool, ModelError> {
        let Some(edit) = self.undo.pop() else {
            return Ok(false);
        };
        self.redo.push(edit.apply(doc)?);
        Ok(true)
    }

    /// Redoes the newest undone step. Returns false when there is none.
    pub fn redo(&mut self, doc: &mut Document) -> Result<bool, ModelError> {
        let Some(edit) = self.redo.pop() else {
            return Ok(false);
        };
        self.undo.push(edit.apply(doc)?);
        Ok(true)
    }

    /// Whether there is something to undo.
    pub fn can_undo(&self) -> bool {
        !self.undo.is_empty()
    }

    /// Whether there is something to redo.
    pub fn can_redo(&self) -> bool {
        !self.redo.is_empty()
    }

    /// Forgets everything (a new document).
    pub fn clear(&mut self) {
        self.undo.clear();
        self.redo.clear();
    }
}

/// What a panel asks the app to do; applied once per frame, in order.
#[derive(Debug, Clone)]
pub enum Command {
    /// Apply an edit as one undo step.
    Edit(Edit),
    /// A drag finished: the edit was already made live; record its inverse.
    Record(Edit),
    /// Undo the newest step.
    Undo,
    /// Redo the newest undone step.
    Redo,
    /// Start a new, empty document (asks first if there are changes).
    New,
    /// Show the open dialog.
    OpenDialog,
    /// Open this file (asks first if there are changes).
    Open(PathBuf),
    /// Open this text as a new untitled document (an example).
    OpenText(String, String),
    /// Save to the current file (or ask where).
    Save,
    /// Ask where to save.
    SaveAs,
    /// Save to this file.
    SaveTo(PathBuf),
    /// Export in a format to a file.
    Export(ExportFormat, PathBuf),
    /// Ask where to save the live run as a recording (File ▸ Save Run).
    SaveRunDialog,
    /// Save the live run as a recording in this file.
    SaveRunTo(PathBuf),
    /// Ask which recording to open (File ▸ Open Run).
    OpenRunDialog,
    /// Open this recording: its diagram and its run, paused at its end
    /// (replayed off the UI thread, with progress in the status bar).
    OpenRun(PathBuf),
    /// Stop opening a recording.
    CancelOpenRun,
    /// Ask where to export.
    ExportDialog(ExportFormat),
    /// Quit (asks first if there are changes).
    Quit,
    /// Copy the selection to the clipboard as Mermaid.
    Copy,
    /// Copy, then delete the selection.
    Cut,
    /// Import Mermaid text (the clipboard's) next to the diagram.
    Paste(String),
    /// Copy and paste the selection in one step.
    Duplicate,
    /// Delete the selection.
    Delete,
    /// Select everything.
    SelectAll,
    /// Zoom and pan so that everything is visible.
    Fit,
    /// Zoom by a factor around the canvas centre.
    Zoom(f32),
    /// Recompute every position with the layered layout (one undo step).
    Relayout,
    /// Add a component of palette kind `PALETTE[index]` at a layout-space point.
    AddComponent(usize, Pos2),
    /// Apply the source pane's text: it parsed, replace the model with it.
    SourceEdit(String),
    /// Drive the live simulation of the document (run, pause, step, speed, reset).
    Sim(crate::live::Command),
    /// Select the component with this Mermaid id, alone (a panel pointing
    /// at it, e.g. a violated invariant's group).
    SelectComponent(String),
}

/// File ▸ Export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// Scalable vector graphics with the canvas's look.
    Svg,
    /// PNG rasterised from the SVG.
    Png,
    /// Canonical Mermaid text.
    Mermaid,
    /// The model and layout as JSON.
    Json,
}

impl ExportFormat {
    /// Every format, for the menu.
    pub const ALL: [ExportFormat; 4] = [
        ExportFormat::Svg,
        ExportFormat::Png,
        ExportFormat::Mermaid,
        ExportFormat::Json,
    ];

    /// The file extension.
    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::Svg => "svg",
            ExportFormat::Png => "png",
            ExportFormat::Mermaid => "mmd",
            ExportFormat::Json => "json",
        }
    }

    /// The menu name.
    pub fn title(self) -> &'static str {
        match self {
            ExportFormat::Svg => "SVG…",
            ExportFormat::Png => "PNG…",
            ExportFormat::Mermaid => "Mermaid…",
            ExportFormat::Json => "JSON…",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use egui::pos2;

    fn text_of(doc: &Document) -> String {
        doc.to_text()
    }

    #[test]
    fn every_edit_undoes_to_the_same_text() {
        let mut doc = Document::seed();
        let before = text_of(&doc);
        let eb = doc.graph.id_of("EB");
        let es = doc.graph.id_of("ES");
        let (Some(eb), Some(es)) = (eb, es) else {
            panic!("seed has EB and ES")
        };
        let edge = doc.graph.connections().next().map(|c| c.id);
        let Some(edge) = edge else {
            panic!("seed has edges")
        };
        let edits = vec![
            Edit::Move(vec![(eb, pos2(5.0, 6.0))]),
            Edit::Add {
                key: "New1".into(),
                label: "New".into(),
                role: Some(Role::Consumer),
                shape: None,
                at: pos2(1.0, 2.0),
            },
            Edit::Remove(eb),
            Edit::Connect {
                from: es,
                to: eb,
                label: "X".into(),
            },
            Edit::Disconnect(edge),
            Edit::SetLabel(es, "Store!".into()),
            Edit::Rename(es, "Store9".into()),
            Edit::SetShape(es, None),
            Edit::SetStyles(es, vec!["fill:#f00".into()]),
            Edit::SetRole(es, Some(Role::Saga)),
            Edit::SetEdgeLabel(edge, "Y".into()),
            Edit::SetStroke(edge, Stroke::Dotted),
            Edit::SetArrows(edge, Arrow::Circle, Arrow::Cross),
            Edit::SetScenario(vec!["%% eda:scenario partitions = 6".into()]),
        ];
        for edit in edits {
            let mut history = History::default();
            let name = format!("{edit:?}");
            history
                .apply(&mut doc, edit)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            let after = text_of(&doc);
            assert_ne!(after, before, "{name} changed nothing");
            assert!(history.undo(&mut doc).is_ok_and(|b| b), "{name}");
            assert_eq!(text_of(&doc), before, "{name} did not undo");
            assert!(history.redo(&mut doc).is_ok_and(|b| b), "{name}");
            assert_eq!(text_of(&doc), after, "{name} did not redo");
            assert!(history.undo(&mut doc).is_ok_and(|b| b), "{name}");
        }
    }

    #[test]
    fn a_failing_batch_leaves_the_document_as_it_was() {
        let mut doc = Document::seed();
        let before = text_of(&doc);
        let edit = Edit::Batch(vec![
            Edit::Add {
                key: "Fresh".into(),
                label: "Fresh".into(),
                role: None,
                shape: None,
                at: Pos2::ZERO,
            },
            Edit::Add {
                key: "EB".into(),
                label: "dup".into(),
                role: None,
                shape: None,
                at: Pos2::ZERO,
            },
        ]);
        assert!(History::default().apply(&mut doc, edit).is_err());
        assert_eq!(text_of(&doc), before);
    }
}
