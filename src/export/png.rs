//! PNG export: the SVG export rasterised with resvg at a chosen scale.
//!
//! resvg draws no text at all when the font family an SVG asks for is not in
//! its font database, and says nothing. So the database is built here on
//! purpose: DejaVu Sans from its usual path when present (the font the SVG
//! names first), then the system fonts; `sans-serif` is pointed at DejaVu
//! Sans, or at the first family found when DejaVu is missing. With no font at
//! all, export fails with [`PngError::NoFont`] instead of writing a picture
//! without labels.
//!
//! Depends on the SVG export and resvg only; needs no display.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use resvg::tiny_skia;
use resvg::usvg;

use crate::layout::Layout;
use crate::model::ArchGraph;

use super::svg::{SvgOptions, to_svg};

/// The font the SVG export names first and the PNG renders with.
pub const PREFERRED_FAMILY: &str = "DejaVu Sans";

/// Where Debian's fonts-dejavu-core puts DejaVu Sans.
const DEJAVU_FILES: &[&str] = &[
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
];

/// The largest picture side accepted, in pixels (a bad scale or a runaway
/// layout must not allocate gigabytes).
pub const MAX_SIDE: u32 = 16_384;

/// What went wrong rasterising.
#[derive(Debug, thiserror::Error)]
pub enum PngError {
    /// No font is installed, so labels would silently vanish.
    #[error(
        "no font found to draw labels with; install DejaVu Sans (Debian/Ubuntu: apt-get install fonts-dejavu-core)"
    )]
    NoFont,
    /// The scale is not a positive finite number.
    #[error("scale must be a positive number, got {0}")]
    BadScale(f32),
    /// The picture would be too large (or empty).
    #[error(
        "the picture would be {width:.0}×{height:.0} pixels; each side must be 1–{MAX_SIDE} (a scale of at most {fits:.2} fits)"
    )]
    BadSize {
        width: f32,
        height: f32,
        /// The largest scale that fits, for the message.
        fits: f32,
    },
    /// resvg rejected the SVG (a bug in the SVG export if it happens).
    #[error("cannot read the generated SVG: {0}")]
    Svg(#[from] usvg::Error),
    /// Encoding the pixels failed.
    #[error("cannot encode the PNG: {0}")]
    Encode(String),
}

/// The font database used for PNG export: loaded once per process.
pub struct Fonts {
    db: Arc<usvg::fontdb::Database>,
    /// The family `sans-serif` resolves to.
    pub family: String,
}

impl Fonts {
    /// The process-wide font database (built on first use).
    pub fn shared() -> Result<&'static Fonts, PngError> {
        static FONTS: OnceLock<Option<Fonts>> = OnceLock::new();
        FONTS
            .get_or_init(|| Fonts::load(DEJAVU_FILES, true))
            .as_ref()
            .ok_or(PngError::NoFont)
    }

    /// Builds a database from `files` (missing ones are skipped) and, with
    /// `system`, the system fonts; `None` when it ends up empty.
    pub fn load(files: &[&str], system: bool) -> Option<Fonts> {
        let mut db = usvg::fontdb::Database::new();
        for file in files {
            if Path::new(file).is_file() {
                // A broken font file is as good as a missing one.
                let _ = db.load_font_file(file);
            }
        }
        if system {
            db.load_system_fonts();
        }
        let has = |name: &str| {
            db.faces()
                .any(|f| f.families.iter().any(|(family, _)| family == name))
        };
        let family = if has(PREFERRED_FAMILY) {
            PREFERRED_FAMILY.to_string()
        } else {
            // Any family at all beats no text; prefer one that calls itself sans.
            let mut families: Vec<&str> = db
                .faces()
                .flat_map(|f| f.families.iter().map(|(name, _)| name.as_str()))
                .collect();
            families.sort_unstable();
            families.dedup();
            let sans = families
                .iter()
                .find(|f| f.to_ascii_lowercase().contains("sans"))
                .or(families.first())?;
            sans.to_string()
        };
        db.set_sans_serif_family(family.clone());
        Some(Fonts {
            db: Arc::new(db),
            family,
        })
    }
}

/// The diagram as PNG bytes at `scale` (1 for 1 px per layout unit, 2 for
/// high-DPI), drawn from [`to_svg`] with the given options.
pub fn to_png(
    graph: &ArchGraph,
    layout: &Layout,
    opts: &SvgOptions,
    scale: f32,
) -> Result<Vec<u8>, PngError> {
    let svg = to_svg(graph, layout, opts);
    svg_to_png(&svg, scale, Fonts::shared()?)
}

/// Rasterises an SVG document with the given fonts.
pub fn svg_to_png(svg: &str, scale: f32, fonts: &Fonts) -> Result<Vec<u8>, PngError> {
    if !scale.is_finite() || scale <= 0.0 {
        return Err(PngError::BadScale(scale));
    }
    let options = usvg::Options {
        font_family: fonts.family.clone(),
        fontdb: fonts.db.clone(),
        ..usvg::Options::default()
    };
    let tree = usvg::Tree::from_str(svg, &options)?;
    let size = tree.size();
    let (width, height) = (size.width() * scale, size.height() * scale);
    let side_ok = |v: f32| v.is_finite() && v >= 1.0 && v <= MAX_SIDE as f32;
    let too_big = PngError::BadSize {
        width,
        height,
        fits: MAX_SIDE as f32 / size.width().max(size.height()).max(1.0),
    };
    if !side_ok(width) || !side_ok(height) {
        return Err(too_big);
    }
    let mut pixmap =
        tiny_skia::Pixmap::new(width.ceil() as u32, height.ceil() as u32).ok_or(too_big)?;
    resvg::render(
        &tree,
        tiny_skia::Transform::from_scale(scale, scale),
        &mut pixmap.as_mut(),
    );
    pixmap
        .encode_png()
        .map_err(|err| PngError::Encode(err.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT_SVG: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40" viewBox="0 0 120 40" font-family="DejaVu Sans, sans-serif" font-size="20"><rect width="120" height="40" fill="#ffffff"/><text x="10" y="28" fill="#000000">Hello</text></svg>"##;

    fn dark_pixels(png: &[u8]) -> usize {
        let pixmap = tiny_skia::Pixmap::decode_png(png).expect("our PNG decodes");
        pixmap
            .pixels()
            .iter()
            .filter(|p| p.red() < 100 && p.alpha() > 200)
            .count()
    }

    #[test]
    fn text_is_drawn_with_the_loaded_font() {
        let fonts = Fonts::shared().expect("this machine has a font");
        let png = svg_to_png(TEXT_SVG, 1.0, fonts).expect("renders");
        assert!(dark_pixels(&png) > 30, "the word was drawn");
    }

    #[test]
    fn an_unknown_family_falls_back_to_sans_serif() {
        let fonts = Fonts::shared().expect("this machine has a font");
        let svg = TEXT_SVG.replace("DejaVu Sans, sans-serif", "NoSuchFont, sans-serif");
        let png = svg_to_png(&svg, 1.0, fonts).expect("renders");
        assert!(dark_pixels(&png) > 30);
    }

    #[test]
    fn no_font_is_an_error_not_a_blank_picture() {
        assert!(Fonts::load(&["/nonexistent/font.ttf"], false).is_none());
    }

    #[test]
    fn scale_doubles_the_size_and_bad_scales_are_refused() {
        let fonts = Fonts::shared().expect("this machine has a font");
        let one = svg_to_png(TEXT_SVG, 1.0, fonts).expect("1x");
        let two = svg_to_png(TEXT_SVG, 2.0, fonts).expect("2x");
        let p1 = tiny_skia::Pixmap::decode_png(&one).expect("decodes");
        let p2 = tiny_skia::Pixmap::decode_png(&two).expect("decodes");
        assert_eq!((p1.width(), p1.height()), (120, 40));
        assert_eq!((p2.width(), p2.height()), (240, 80));
        for bad in [0.0, -1.0, f32::NAN, 1e6] {
            assert!(svg_to_png(TEXT_SVG, bad, fonts).is_err(), "{bad}");
        }
    }
}
