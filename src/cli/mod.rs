//! Subcommand implementations; `anyhow` lives here and in `main.rs` only.

pub mod check;
pub mod fmt;
pub mod parse;
pub mod simulate;
mod source;

#[allow(unused_imports)] // used by the subcommands as they land
pub use source::Source;
