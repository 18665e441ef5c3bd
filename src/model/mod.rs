//! The architecture model: components, connections and groups over
//! petgraph's `StableGraph`, with roles inferred or taken from classes.
//! Built from a [`crate::mermaid::Flowchart`]; must not draw anything, and
//! knows nothing of layout or simulation (they read it).
//!
//! - [`ArchGraph`] (`graph.rs`): the model, its stable ids, topology queries
//!   and the edits a designer makes.
//! - [`Role`], [`RoleReason`] (`role.rs`): the roles, their Mermaid classes
//!   and label keywords; the inference rules are in `infer.rs`.
//! - [`ArchGraph::from_flowchart`] (`lower.rs`): Mermaid → model.
//! - [`validate`], [`render_limits`] (`validate.rs`): topology warnings.
//! - [`Report`] (`report.rs`): what `eda-studio check` prints.
//! - [`file`], [`write`], [`positions`]: the designer's saved file: open a
//!   `.mmd` with its positions and scenario lines ([`file::open`]), save
//!   the model back as Mermaid ([`write::to_mermaid`]).

pub mod file;
mod graph;
mod infer;
mod lower;
pub mod positions;
pub use positions::Point;
mod report;
mod role;
mod validate;
pub mod write;

/// A component's Mermaid attributes the model carries but does not interpret.
pub use crate::mermaid::NodeAttrs;
pub use graph::{
    ArchGraph, Component, ComponentId, Connection, ConnectionId, ConnectionKind, DiagramMeta,
    EdgeAttrs, EventRoute, EventType, Group, GroupId, ModelError, RemovedComponent, Shape,
    check_key,
};
pub use report::{
    ComponentEntry, EventTypeEntry, FindingEntry, GroupEntry, ReasonEntry, Report, RoleSection,
    Summary, describe_reason,
};
pub use role::{ReasonSource, Role, RoleReason};
pub use validate::{
    Check, Finding, MERMAID_MAX_EDGES, MERMAID_MAX_TEXT_SIZE, Severity, display_name,
    render_limits, validate,
};
