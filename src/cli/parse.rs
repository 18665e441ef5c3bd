//! `eda-studio parse`: the parser's view of a file, as the mermaid-corpus
//! JSON (`--json`) or a short summary.

use super::Source;
use anyhow::Result;
use eda_studio::mermaid::parse_flowchart;
use std::process::ExitCode;

/// Parses `file` (or `-` for standard input). Success: the corpus JSON or a
/// summary on stdout, exit 0. A rejected diagram: the diagnostic (JSON on
/// stdout with `--json`, rendered on stderr otherwise), exit 1.
pub fn run(file: &std::path::Path, json: bool) -> Result<ExitCode> {
    let src = Source::read(file)?;
    match parse_flowchart(&src.text) {
        Ok(chart) => {
            if json {
                println!("{}", serde_json::to_string_pretty(&chart.to_corpus_json())?);
            } else {
                let direction = chart.direction.as_str();
                println!(
                    "{}: {} {direction}: {} nodes, {} edges, {} subgraphs, {} classDefs",
                    src.name,
                    chart.diagram_type.as_str(),
                    chart.nodes.len(),
                    chart.edges.len(),
                    chart.subgraphs.len(),
                    chart.class_defs.len()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(diag) => {
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&diag.to_json(&src.name, &src.text))?
                );
            } else {
                eprint!("{}", diag.render(&src.name, &src.text));
            }
            Ok(ExitCode::from(1))
        }
    }
}
