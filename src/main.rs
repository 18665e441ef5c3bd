//! The `eda-studio` command line. No subcommand opens the designer on the
//! built-in seed diagram (until the GUI lands: `check` on it).

mod cli;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Visual designer and simulator for event-driven architectures (Mermaid flowcharts).
#[derive(Parser)]
#[command(name = "eda-studio", version, about)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Parse a flowchart and print its semantic model (corpus JSON with --json).
    Parse {
        /// The .mmd file, or - for standard input.
        file: PathBuf,
        /// Print JSON (the mermaid-corpus format); errors as JSON too.
        #[arg(long)]
        json: bool,
    },
    /// Summarise the architecture: components by role, event types, warnings.
    Check {
        /// The .mmd file, or - for standard input; the built-in seed diagram when omitted.
        file: Option<PathBuf>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print the diagram as canonical Mermaid.
    Fmt {
        /// The .mmd file, or - for standard input.
        file: PathBuf,
        /// Print nothing; exit 1 when the file is not canonical.
        #[arg(long)]
        check: bool,
        /// Rewrite the file in place.
        #[arg(long, short = 'w', conflicts_with = "check")]
        write: bool,
    },
    /// Run the diagram headless in the simulator and print a summary per component.
    Simulate {
        /// The .mmd file, or - for standard input; the built-in seed diagram when omitted.
        file: Option<PathBuf>,
        /// Seed of the run's random number generator (same seed, same run).
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Virtual time to simulate: 60s, 500ms, 2m, 1h, ...
        #[arg(long, default_value = "60s", value_parser = cli::simulate::parse_duration)]
        duration: u64,
        /// Print the metrics as JSON.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    let args = Args::parse();
    let result = match args.command {
        Some(Command::Parse { file, json }) => cli::parse::run(&file, json),
        Some(Command::Check { file, json }) => cli::check::run(file.as_deref(), json),
        Some(Command::Fmt { file, check, write }) => cli::fmt::run(&file, check, write),
        Some(Command::Simulate {
            file,
            seed,
            duration,
            json,
        }) => cli::simulate::run(file.as_deref(), seed, duration, json),
        None => cli::check::run(None, false),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("eda-studio: error: {err:#}");
            ExitCode::from(2)
        }
    }
}
