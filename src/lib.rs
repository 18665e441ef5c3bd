//! eda-studio: a visual designer and simulator for event-driven
//! architectures whose file format is the Mermaid flowchart.
//!
//! # Layout
//! - [`mermaid`]: the flowchart front end: nom parser with byte spans, AST,
//!   the semantic [`mermaid::Flowchart`] (what mermaid.js's FlowDB holds),
//!   diagnostics and the canonical printer. Knows nothing of simulation.
//! - [`model`]: the architecture model [`model::ArchGraph`] over petgraph:
//!   components with roles, connections, groups; role inference and checks.
//! - [`gui`]: the designer window (eframe): canvas, palette, inspector,
//!   Mermaid source pane; open, edit, save, export.
//! - [`export`]: SVG (the canvas's look), PNG (resvg), JSON (model +
//!   layout), and the shared palette, role icons and style resolution.
//! - [`layout`]: positions for a graph: the shared [`layout::Layout`] type
//!   and the layered layout for diagrams that have none.
//! - [`live`]: the tokio driver that paces the engine against wall-clock
//!   time for the GUI: commands in, frames out.
//! - [`sim`]: the deterministic discrete-event simulation engine (virtual
//!   clock, seeded RNG, Kafka-like bus, consumer groups, metrics).
//! - [`record`]: run recordings in SQLite (`simulate --record`, `replay`):
//!   written in batched transactions, read back with clear errors for
//!   wrong files, replayed exactly (hash-checked).
//!
//! Dependencies point one way: `mermaid → model → …`; nothing lower imports
//! anything higher.

pub mod export;
pub mod gui;
pub mod layout;
pub mod live;
pub mod mermaid;
pub mod model;
pub mod record;
pub mod sim;

/// The reference diagram, embedded as the default document.
pub const SEED_DIAGRAM: &str = include_str!("../diagrams/eda-seed.mmd");
