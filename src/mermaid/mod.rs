//! The Mermaid flowchart front end: a lexer-free nom parser over `&str`
//! that keeps byte spans on every AST node, the lowering of the AST into the
//! semantic [`Flowchart`] (mermaid.js's FlowDB), diagnostics, and the
//! canonical printer. Must not know about simulation, layout or the GUI.

mod diagnostics;
mod flow;

pub use diagnostics::{Diagnostic, ErrorKind, Location, Span};
pub use flow::{Arrow, DiagramType, Direction, Edge, Flowchart, LabelType, Node, Stroke, Subgraph};
