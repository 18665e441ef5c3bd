//! The architecture model: components, connections and groups over
//! petgraph's `StableGraph`, with roles inferred or taken from classes.
//! Built from a [`crate::mermaid::Flowchart`]; must not draw anything.
