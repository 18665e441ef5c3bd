//! The Mermaid flowchart front end: a parser over `&str` that keeps byte
//! spans on every AST node, the lowering of the AST into the semantic
//! [`Flowchart`] (mermaid.js's FlowDB), diagnostics, and the canonical
//! printer. Must not know about simulation, layout or the GUI.
//!
//! Pipeline, mirroring mermaid.js 12.3.0 so results match it:
//! [`parse_document`] preprocesses the text as mermaid does (frontmatter,
//! directives and `%%` comments cut, entities encoded), tokenises it with a
//! scanner that follows mermaid's lexer rule order and state stack, and
//! builds the [`ast::Document`]; [`Flowchart::from_document`] then replays
//! the FlowDB's semantics (vertex merging, auto edge ids, subgraph
//! membership, `linkStyle`, `click`) and reports db-kind errors.

pub mod ast;
mod diagnostics;
mod flow;
mod hash;
mod id;
mod lower;
mod parser;
mod prep;
mod print;
mod shapes;
mod unicode;
mod view;
mod yaml;

pub use diagnostics::{Diagnostic, ErrorKind, Location, Span};
pub use flow::{
    Arrow, DiagramType, Direction, Edge, EdgeRef, End, Flowchart, Id, LabelType, LinkAttrs, Node,
    NodeAttrs, Rare, RareAttrs, RareList, Stroke, Subgraph, Unset,
};
pub use print::{is_plain_id, link_token, print_document, print_document_with_source};

/// Parses flowchart text into its syntax tree.
///
/// Only grammar-level problems are reported here (kind `parse`,
/// `unknown-diagram`, `not-flowchart`); semantic ones come from
/// [`Flowchart::from_document`].
pub fn parse_document(src: &str) -> Result<ast::Document, Diagnostic> {
    parser::parse_document(src)
}

/// Parses flowchart text into the semantic [`Flowchart`].
///
/// Equivalent to [`parse_document`] then [`Flowchart::from_document`], but
/// streams each statement into the FlowDB replay without building the tree
/// (several times faster on large diagrams). Errors come in the order
/// mermaid.js raises them: a semantic error in an earlier statement wins
/// over a later syntax error.
pub fn parse_flowchart(src: &str) -> Result<Flowchart, Diagnostic> {
    parser::parse_flowchart(src)
}
