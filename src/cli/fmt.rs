//! `eda-studio fmt`.

use anyhow::{Result, bail};
use std::process::ExitCode;

/// Runs the subcommand (placeholder until its owner lands it).
pub fn run(_file: &std::path::Path, _check: bool, _write: bool) -> Result<ExitCode> {
    bail!("`fmt` is not implemented yet")
}
