//! The `eda-studio` command line. No subcommand opens the designer window
//! on the built-in seed diagram; `eda-studio FILE` opens it on FILE. With
//! no display (ssh, CI) both print the `check` report instead.

mod cli;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Visual designer and simulator for event-driven architectures (Mermaid flowcharts).
#[derive(Parser)]
#[command(
    name = "eda-studio",
    version,
    about,
    args_conflicts_with_subcommands = true
)]
struct Args {
    /// Diagram to open in the designer window (the built-in seed when
    /// omitted). A file named like a subcommand needs a path: ./check
    file: Option<PathBuf>,
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
    /// Export the diagram as SVG, PNG, Mermaid or JSON (headless, no display needed).
    Export {
        /// The .mmd file, or - for standard input.
        file: PathBuf,
        /// Output format; inferred from the -o file's extension when omitted.
        #[arg(long, short = 'f', value_enum)]
        format: Option<cli::export::Format>,
        /// Output file; standard output when omitted or -.
        #[arg(long, short = 'o')]
        output: Option<PathBuf>,
        /// PNG pixels per layout pixel: 1, or 2 for high-DPI.
        #[arg(long, default_value = "1", value_parser = cli::export::parse_scale)]
        scale: f32,
        /// Colour theme of SVG and PNG output.
        #[arg(long, value_enum, default_value_t)]
        theme: cli::export::Theme,
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
        /// Also write the run to this SQLite recording (replaced if it is one).
        #[arg(long, value_name = "FILE")]
        record: Option<PathBuf>,
        /// Virtual time between the recording's engine images (default: one per 32k events).
        #[arg(long, value_name = "DURATION", requires = "record", value_parser = cli::simulate::parse_duration)]
        image_every: Option<u64>,
    },
    /// Replay a recording: the state at any moment, projection rebuilds,
    /// group resets, consumers added to the finished run.
    Replay {
        /// The recording (made by `simulate --record`).
        file: PathBuf,
        /// Show the state of every component at this virtual time (repeatable): 30s, 1500ms, ...
        #[arg(long, value_parser = cli::replay::parse_time)]
        at: Vec<u64>,
        /// Rebuild this group's projection from the event store and compare it with the live one.
        #[arg(long, value_name = "GROUP")]
        rebuild: Option<String>,
        /// Reset this consumer group (with --to) and let it catch up.
        #[arg(long, value_name = "GROUP", requires = "to")]
        reset: Option<String>,
        /// Where --reset moves the group: an offset (120) or a time (12s).
        #[arg(long, value_name = "OFFSET|TIME", requires = "reset", value_parser = cli::replay::parse_reset_to)]
        to: Option<cli::replay::ResetTo>,
        /// Add a consumer group to the finished run and feed it the whole history.
        #[arg(long, value_name = "NAME")]
        add_consumer: Option<String>,
        /// The topics the added consumer reads (comma-separated; all when omitted).
        #[arg(long, value_delimiter = ',', requires = "add_consumer")]
        topics: Vec<String>,
        /// Reach --at moments by re-executing from the start (checking every
        /// snapshot's hash) instead of restoring the stored engine images.
        #[arg(long)]
        from_zero: bool,
        /// Print JSON.
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
        Some(Command::Export {
            file,
            format,
            output,
            scale,
            theme,
        }) => cli::export::run(&cli::export::Request {
            file: &file,
            format,
            out: output.as_deref(),
            scale,
            theme,
        }),
        Some(Command::Simulate {
            file,
            seed,
            duration,
            json,
            record,
            image_every,
        }) => cli::simulate::run(cli::simulate::Options {
            file: file.as_deref(),
            seed,
            duration_us: duration,
            json,
            record: record.as_deref(),
            image_every_us: image_every,
        }),
        Some(Command::Replay {
            file,
            at,
            rebuild,
            reset,
            to,
            add_consumer,
            topics,
            from_zero,
            json,
        }) => cli::replay::run(cli::replay::Options {
            file: &file,
            at,
            rebuild,
            reset: reset.zip(to),
            add_consumer,
            topics,
            from_zero,
            json,
        }),
        None if eda_studio::gui::display_available() => {
            eda_studio::gui::run(args.file).map(|()| ExitCode::SUCCESS)
        }
        None => {
            // Headless (ssh, CI): say why no window, and check the diagram instead.
            eprintln!(
                "eda-studio: no display (DISPLAY / WAYLAND_DISPLAY unset): checking the diagram instead of opening the designer"
            );
            cli::check::run(args.file.as_deref(), false)
        }
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("eda-studio: error: {err:#}");
            ExitCode::from(2)
        }
    }
}
