//! File ▸ Export: writes the document as SVG, PNG (1×), Mermaid or JSON
//! through the shared `export` module, from the canvas's own geometry.

use super::command::ExportFormat;
use super::document::Document;
use crate::export::{SvgOptions, to_json, to_png, to_svg};
use anyhow::{Context as _, Result};
use std::path::Path;

/// Writes `doc` as `format` to `path`; `dark` picks the dark palette.
pub fn export(doc: &Document, format: ExportFormat, path: &Path, dark: bool) -> Result<()> {
    let layout = doc.layout();
    let opts = SvgOptions {
        dark,
        ..SvgOptions::default()
    };
    let bytes = match format {
        ExportFormat::Mermaid => doc.to_text().into_bytes(),
        ExportFormat::Svg => to_svg(&doc.graph, &layout, &opts).into_bytes(),
        ExportFormat::Png => {
            to_png(&doc.graph, &layout, &opts, 1.0).context("cannot draw the PNG")?
        }
        ExportFormat::Json => to_json(&doc.graph, &layout).into_bytes(),
    };
    std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_format_writes_a_non_empty_file() {
        let doc = Document::seed();
        let dir = std::env::temp_dir().join(format!("eda-gui-export-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
        for format in ExportFormat::ALL {
            let path = dir.join(format!("seed.{}", format.extension()));
            export(&doc, format, &path, false).unwrap_or_else(|e| panic!("{format:?}: {e:#}"));
            let len = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
            assert!(len > 100, "{format:?} wrote {len} bytes");
        }
        let svg = std::fs::read_to_string(dir.join("seed.svg")).unwrap_or_default();
        assert!(svg.contains("Event Bus"), "labels are in the SVG");
        let _ = std::fs::remove_dir_all(dir);
    }
}
