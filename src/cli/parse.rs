//! `eda-studio parse`.

use anyhow::{Result, bail};
use std::process::ExitCode;

/// Runs the subcommand (placeholder until its owner lands it).
pub fn run(_file: &std::path::Path, _json: bool) -> Result<ExitCode> {
    bail!("`parse` is not implemented yet")
}
