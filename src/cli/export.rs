//! `eda-studio export`: writes a diagram as SVG, PNG, Mermaid or JSON
//! without opening a window (no display needed).
//!
//! The file is opened as the designer opens it (saved `%% eda:pos`
//! positions kept); nodes without a saved position are laid out. Mermaid
//! output is what the designer's Save writes.
//!
//! Exit codes: 0 on success, 1 when the diagram does not parse, 2 (from
//! `main`) when a file cannot be read or written or an argument is bad.

use super::Source;
use anyhow::{Context, Result, bail};
use clap::ValueEnum;
use eda_studio::export::png::{Fonts, PREFERRED_FAMILY};
use eda_studio::export::text::text_width;
use eda_studio::export::{SvgOptions, to_json, to_png, to_svg};
use eda_studio::layout::{self, Layout, LayoutOptions, Point, TextMeasure};
use eda_studio::model::{ArchGraph, file, write};
use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// SVG with the canvas's look.
    Svg,
    /// PNG rasterised from the SVG.
    Png,
    /// Canonical Mermaid, as the designer saves it.
    Mermaid,
    /// Model and layout as JSON.
    Json,
}

impl Format {
    /// The format an output file name implies (`.svg`, `.png`, `.mmd`, `.json`).
    fn from_path(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        Some(match ext.as_str() {
            "svg" => Format::Svg,
            "png" => Format::Png,
            "mmd" | "mermaid" => Format::Mermaid,
            "json" => Format::Json,
            _ => return None,
        })
    }
}

/// The colour theme of SVG and PNG output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum Theme {
    /// Dark text on white.
    #[default]
    Light,
    /// Light text on a dark background.
    Dark,
}

/// What the user asked for.
pub struct Request<'a> {
    /// The diagram (`-` for standard input).
    pub file: &'a Path,
    /// The format; inferred from `out`'s extension when `None`.
    pub format: Option<Format>,
    /// Where to write; standard output when `None` or `-`.
    pub out: Option<&'a Path>,
    /// PNG pixels per layout unit.
    pub scale: f32,
    /// SVG/PNG theme.
    pub theme: Theme,
}

/// Parses `--scale`: a number from 0.05 to 8 (1 and 2 are the usual ones;
/// less than 1 shrinks a diagram too large for one picture).
pub fn parse_scale(text: &str) -> std::result::Result<f32, String> {
    let scale: f32 = text
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a number (use 1 or 2)"))?;
    if !(0.05..=8.0).contains(&scale) {
        return Err(format!("scale {scale} is out of range 0.05–8 (use 1 or 2)"));
    }
    Ok(scale)
}

/// Runs the subcommand.
pub fn run(req: &Request) -> Result<ExitCode> {
    let out = req.out.filter(|p| p.as_os_str() != "-");
    let format = match (req.format, out) {
        (Some(format), _) => format,
        (None, Some(path)) => match Format::from_path(path) {
            Some(format) => format,
            None => bail!(
                "cannot tell the format from {}; give --format svg|png|mermaid|json",
                path.display()
            ),
        },
        (None, None) => bail!("give --format svg|png|mermaid|json (or -o with an extension)"),
    };
    if format == Format::Png && out.is_none() && std::io::stdout().is_terminal() {
        bail!("not writing a PNG to the terminal; give -o FILE.png or redirect the output");
    }
    let source = Source::read(req.file)?;
    let opened = match file::open(&source.text) {
        Ok(opened) => opened,
        Err(diagnostics) => {
            for d in &diagnostics {
                eprint!("{}", d.render(&source.name, &source.text));
            }
            return Ok(ExitCode::from(1));
        }
    };
    let graph = &opened.graph;
    let bytes = match format {
        Format::Mermaid => write::to_mermaid(graph, &opened.positions, None).into_bytes(),
        Format::Svg | Format::Png | Format::Json => {
            let layout = layout_for(graph, &opened.positions);
            let opts = SvgOptions {
                dark: req.theme == Theme::Dark,
                ..SvgOptions::default()
            };
            match format {
                Format::Svg => to_svg(graph, &layout, &opts).into_bytes(),
                Format::Png => {
                    let fonts = Fonts::shared().context("cannot draw the PNG")?;
                    if fonts.family != PREFERRED_FAMILY {
                        eprintln!(
                            "eda-studio: note: {PREFERRED_FAMILY} is not installed; labels are drawn with {} (apt-get install fonts-dejavu-core)",
                            fonts.family
                        );
                    }
                    to_png(graph, &layout, &opts, req.scale)
                        .with_context(|| format!("cannot draw {} as PNG", source.name))?
                }
                _ => to_json(graph, &layout).into_bytes(),
            }
        }
    };
    match out {
        Some(path) => write_file(path, &bytes)?,
        None => {
            let mut stdout = std::io::stdout().lock();
            match stdout.write_all(&bytes).and_then(|()| stdout.flush()) {
                Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => {}
                other => other.context("cannot write to standard output")?,
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes through a temporary file beside `path`, so a failed export never
/// leaves half a file where a good one was.
fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut tmp = PathBuf::from(path);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    tmp.set_file_name(format!(".{name}.tmp"));
    std::fs::write(&tmp, bytes).with_context(|| format!("cannot write {}", path.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))
}

/// Positions for every node: saved ones kept, the rest laid out (the whole
/// diagram with the layered layout when nothing was saved). Text is
/// measured for DejaVu Sans, the font the PNG is drawn with.
fn layout_for(graph: &ArchGraph, saved: &BTreeMap<String, Point>) -> Layout {
    let opts = LayoutOptions {
        measure: TextMeasure::new(|text, font_size| {
            let lines: Vec<&str> = text.split('\n').collect();
            let width = lines
                .iter()
                .map(|l| text_width(l, font_size))
                .fold(0.0, f32::max);
            (width, lines.len() as f32 * font_size * 1.25)
        }),
        ..LayoutOptions::default()
    };
    if saved.is_empty() {
        layout::layered(graph, &opts)
    } else {
        layout::with_positions(graph, saved, &opts)
    }
}
