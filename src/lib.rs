//! eda-studio: a visual designer and simulator for event-driven
//! architectures whose file format is the Mermaid flowchart.
//!
//! # Layout
//! - [`mermaid`]: the flowchart front end: nom parser with byte spans, AST,
//!   the semantic [`mermaid::Flowchart`] (what mermaid.js's FlowDB holds),
//!   diagnostics and the canonical printer. Knows nothing of simulation.
//! - [`model`]: the architecture model [`model::ArchGraph`] over petgraph:
//!   components with roles, connections, groups; role inference and checks.
//! - [`layout`]: positions for a graph: the shared [`layout::Layout`] type
//!   and the layered layout for diagrams that have none.
//! - [`sim`]: the deterministic discrete-event simulation engine (virtual
//!   clock, seeded RNG, Kafka-like bus, consumer groups, metrics).
//!
//! Dependencies point one way: `mermaid → model → …`; nothing lower imports
//! anything higher.

pub mod layout;
pub mod mermaid;
pub mod model;
pub mod sim;

/// The reference diagram, embedded as the default document.
pub const SEED_DIAGRAM: &str = include_str!("../diagrams/eda-seed.mmd");
