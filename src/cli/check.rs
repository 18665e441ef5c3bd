//! `eda-studio check`.

use anyhow::{Result, bail};
use std::process::ExitCode;

/// Runs the subcommand (placeholder until its owner lands it).
pub fn run(_file: Option<&std::path::Path>, _json: bool) -> Result<ExitCode> {
    bail!("`check` is not implemented yet")
}
