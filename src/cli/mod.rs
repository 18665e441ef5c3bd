//! Subcommand implementations; `anyhow` lives here and in `main.rs` only.

pub mod check;
pub mod export;
pub mod fmt;
pub mod parse;
pub mod replay;
pub mod simulate;
mod source;

pub use source::Source;

use anyhow::{Context, Result};
use std::io::Write;

/// Writes to standard output; a closed pipe (`check | head`) is not an error.
pub fn emit(text: &str) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("cannot write to standard output"),
    }
}
