//! Reading a diagram from a file or standard input, with clear errors for
//! missing, unreadable and non-UTF-8 input.

use anyhow::{Context, Result, bail};
use eda_studio::mermaid::Location;
use std::io::Read;
use std::path::Path;

/// A diagram's text and the name used in diagnostics.
pub struct Source {
    /// `file` as given, `<stdin>`, or `<built-in seed>`.
    pub name: String,
    /// The whole text.
    pub text: String,
}

impl Source {
    /// Reads `path` (`-` is standard input). Non-UTF-8 input is an error
    /// that says where the first invalid byte is.
    pub fn read(path: &Path) -> Result<Source> {
        let (name, bytes) = if path.as_os_str() == "-" {
            let mut buf = Vec::new();
            std::io::stdin()
                .read_to_end(&mut buf)
                .context("cannot read standard input")?;
            ("<stdin>".to_string(), buf)
        } else {
            let bytes =
                std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
            (path.display().to_string(), bytes)
        };
        match String::from_utf8(bytes) {
            Ok(text) => Ok(Source { name, text }),
            Err(err) => {
                let valid = err.utf8_error().valid_up_to();
                let bytes = err.as_bytes();
                let prefix = String::from_utf8_lossy(&bytes[..valid]);
                let loc = Location::of(&prefix, valid);
                bail!(
                    "{name}:{}:{}: file is not valid UTF-8 (byte 0x{:02x} at offset {valid}); Mermaid files are UTF-8 text",
                    loc.line,
                    loc.column,
                    bytes[valid]
                )
            }
        }
    }

    /// The built-in seed diagram.
    pub fn seed() -> Source {
        Source {
            name: "<built-in seed: diagrams/eda-seed.mmd>".to_string(),
            text: eda_studio::SEED_DIAGRAM.to_string(),
        }
    }
}
