//! `eda-studio check`: parse a diagram, build the model, print the report
//! (components by role with the reason, event types, warnings).
//!
//! Exit codes: 0 when the diagram loads (warnings allowed), 1 on a parse
//! error, a malformed `%% eda:scenario` line or an error finding; 2 (from `main`) when the file cannot be read.

use super::{Source, emit};
use anyhow::Result;
use eda_studio::mermaid::parse_flowchart;
use eda_studio::model::{ArchGraph, Report};
use std::path::Path;
use std::process::ExitCode;

/// Runs the subcommand on `file` (`-` for standard input; the built-in seed
/// diagram when `None`), printing text or, with `json`, JSON.
pub fn run(file: Option<&Path>, json: bool) -> Result<ExitCode> {
    let source = match file {
        Some(path) => Source::read(path)?,
        None => Source::seed(),
    };
    let chart = match parse_flowchart(&source.text) {
        Ok(chart) => chart,
        Err(diagnostic) => {
            if json {
                let value = diagnostic.to_json(&source.name, &source.text);
                emit(&format!("{}\n", serde_json::to_string_pretty(&value)?))?;
            } else {
                // The diagnostic is the whole message; nothing else to add.
                eprint!("{}", diagnostic.render(&source.name, &source.text));
            }
            return Ok(ExitCode::from(1));
        }
    };
    let graph = ArchGraph::from_flowchart(&chart);
    // The `%% eda:scenario` lines must read too: `simulate` would refuse them.
    if let Err(diagnostic) = eda_studio::sim::load_scenario(&source.text, &graph) {
        if json {
            let value = diagnostic.to_json(&source.name, &source.text);
            emit(&format!("{}\n", serde_json::to_string_pretty(&value)?))?;
        } else {
            eprint!("{}", diagnostic.render(&source.name, &source.text));
        }
        return Ok(ExitCode::from(1));
    }
    let report = Report::new(&graph, &source.name, &source.text);
    let out = if json {
        format!("{}\n", serde_json::to_string_pretty(&report)?)
    } else {
        report.render_text()
    };
    emit(&out)?;
    Ok(if report.has_errors() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
