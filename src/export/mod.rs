//! Export: a diagram and its layout written out as SVG, PNG or JSON (Mermaid
//! export is the designer's save, [`crate::model::write::to_mermaid`]).
//!
//! - [`svg`]: [`to_svg`], the canvas's look as a deterministic SVG document.
//! - [`png`]: [`to_png`], that SVG rasterised with resvg at 1× or 2×, with a
//!   font database that really has the font the labels need.
//! - [`json`]: [`to_json`], model + layout, versioned.
//! - [`style`]: the shared look: palette, role colours and icons, and
//!   `classDef`/`style`/`linkStyle` resolution; the canvas uses it too.
//! - [`text`]: label lines as shown (`<br>`, entities, markdown) and a text
//!   width estimate.
//!
//! Reads the model and a computed [`crate::layout::Layout`]; never lays out,
//! never touches the GUI, the simulation or the file system.

pub mod json;
pub mod png;
pub mod style;
pub mod svg;
pub mod text;

pub use json::{DiagramJson, to_json};
pub use png::{PngError, to_png};
pub use svg::{SvgOptions, to_svg};
