//! Export end to end: SVG output against golden files, PNG size, pixels and
//! rendered text, the headless `eda-studio export` command in every format,
//! Mermaid export re-parsing to the same model, JSON parsing back.
//!
//! Goldens live in tests/export/*.svg. They are drawn from a fixed
//! hand-made placement (below), not from the layered layout, so they change
//! only when the drawing changes. Regenerate after an intended change with
//! `UPDATE_GOLDENS=1 cargo test --test export` and review the diff.

use eda_studio::export::json::DiagramJson;
use eda_studio::export::text::{label_lines, text_width};
use eda_studio::export::{SvgOptions, to_png, to_svg};
use eda_studio::layout::shape::ShapeKind;
use eda_studio::layout::{Layout, NodeGeom, Point, Rect};
use eda_studio::model::{ArchGraph, file};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_eda-studio");

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/export")
}

fn read(name: &str) -> String {
    std::fs::read_to_string(dir().join(name)).expect("test diagram is readable")
}

fn open(text: &str) -> ArchGraph {
    file::open(text).expect("test diagram opens").graph
}

/// A fixed placement: longest-path ranks top to bottom (left to right for
/// LR) over the edges that go to later-declared nodes (so cycles are
/// broken), model order within a rank, nodes sized for their labels,
/// groups around their members and nested groups, straight edges.
fn hand_layout(g: &ArchGraph) -> Layout {
    let ids: Vec<_> = g.components().map(|c| c.id).collect();
    let mut rank: BTreeMap<_, usize> = ids.iter().map(|id| (*id, 0)).collect();
    for _ in 0..ids.len() {
        for e in g.connections() {
            let next = rank[&e.from] + 1;
            if e.from < e.to && rank[&e.to] < next {
                rank.insert(e.to, next);
            }
        }
    }
    let size = |c: &eda_studio::model::Component| {
        let lines = label_lines(&c.label, c.label_type);
        let text_w = lines
            .iter()
            .map(|l| text_width(l, 14.0))
            .fold(0.0, f32::max);
        ShapeKind::of(c.shape.as_ref()).box_size(text_w, 17.5 * lines.len().max(1) as f32)
    };
    let pitch = g.components().map(|c| size(c).0).fold(0.0, f32::max) + 50.0;
    let lr = g.meta.direction.as_str() == "LR";
    let mut slot: BTreeMap<usize, usize> = BTreeMap::new();
    let mut layout = Layout::default();
    for c in g.components() {
        let r = rank[&c.id];
        let i = slot.entry(r).or_insert(0);
        let (along, across) = (r as f32, *i as f32);
        *i += 1;
        let center = if lr {
            Point {
                x: 100.0 + along * pitch,
                y: 60.0 + across * 130.0,
            }
        } else {
            Point {
                x: 100.0 + across * pitch,
                y: 70.0 + along * 130.0,
            }
        };
        let (width, height) = size(c);
        layout.nodes.insert(
            c.id,
            NodeGeom {
                center,
                width,
                height,
            },
        );
    }
    // Groups come in closing order: inner groups before the ones around them.
    for group in g.groups() {
        let mut rects: Vec<Rect> = group
            .members
            .iter()
            .filter_map(|m| layout.nodes.get(m))
            .map(|n| Rect {
                min: Point {
                    x: n.center.x - n.width / 2.0 - 16.0,
                    y: n.center.y - n.height / 2.0 - 32.0,
                },
                max: Point {
                    x: n.center.x + n.width / 2.0 + 16.0,
                    y: n.center.y + n.height / 2.0 + 12.0,
                },
            })
            .collect();
        rects.extend(group.groups.iter().filter_map(|id| {
            layout.groups.get(id).map(|r| Rect {
                min: Point {
                    x: r.min.x - 12.0,
                    y: r.min.y - 30.0,
                },
                max: Point {
                    x: r.max.x + 12.0,
                    y: r.max.y + 12.0,
                },
            })
        }));
        if let Some(first) = rects.first().copied() {
            let rect = rects.iter().fold(first, |a, b| Rect {
                min: Point {
                    x: a.min.x.min(b.min.x),
                    y: a.min.y.min(b.min.y),
                },
                max: Point {
                    x: a.max.x.max(b.max.x),
                    y: a.max.y.max(b.max.y),
                },
            });
            layout.groups.insert(group.id, rect);
        }
    }
    for e in g.connections() {
        layout.edges.insert(
            e.id,
            vec![layout.nodes[&e.from].center, layout.nodes[&e.to].center],
        );
    }
    layout
}

/// Compares `actual` with the golden file, or rewrites it with UPDATE_GOLDENS=1.
fn check_golden(name: &str, actual: &str) {
    let path = dir().join(name);
    if std::env::var_os("UPDATE_GOLDENS").is_some() {
        std::fs::write(&path, actual).expect("golden is writable");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "no golden {}; run UPDATE_GOLDENS=1 cargo test --test export",
            path.display()
        )
    });
    if expected != actual {
        let line = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| expected.lines().count().min(actual.lines().count()));
        panic!(
            "{name} differs from its golden at line {}:\n  golden: {}\n  actual: {}\n\
             (UPDATE_GOLDENS=1 cargo test --test export regenerates it after an intended change)",
            line + 1,
            expected.lines().nth(line).unwrap_or("<end of file>"),
            actual.lines().nth(line).unwrap_or("<end of file>"),
        );
    }
}

fn svg_of(text: &str, dark: bool) -> String {
    let g = open(text);
    let opts = SvgOptions {
        dark,
        ..SvgOptions::default()
    };
    to_svg(&g, &hand_layout(&g), &opts)
}

#[test]
fn seed_svg_matches_its_golden() {
    check_golden("seed.svg", &svg_of(eda_studio::SEED_DIAGRAM, false));
}

#[test]
fn seed_dark_svg_matches_its_golden() {
    check_golden("seed-dark.svg", &svg_of(eda_studio::SEED_DIAGRAM, true));
}

#[test]
fn shape_showcase_svg_matches_its_golden() {
    let svg = svg_of(&read("shapes.mmd"), false);
    // Every outline kind is drawn, so the golden covers them all.
    for kind in [
        "rect",
        "rounded",
        "stadium",
        "subroutine",
        "cylinder",
        "circle",
        "double-circle",
        "diamond",
        "hexagon",
        "lean-right",
        "lean-left",
        "trapezoid",
        "inv-trapezoid",
        "odd",
        "ellipse",
    ] {
        assert!(svg.contains(&format!(" {kind}\" id=")), "no {kind} node");
    }
    check_golden("shapes.svg", &svg);
}

#[test]
fn arrow_showcase_svg_matches_its_golden() {
    let svg = svg_of(&read("arrows.mmd"), false);
    for marker in ["marker-arrow", "marker-circle", "marker-cross"] {
        assert!(svg.contains(marker), "no {marker}");
    }
    assert!(
        svg.contains(">Bold &amp; markdown</text>"),
        "markdown as text"
    );
    assert!(svg.contains(">Tom &amp; Jerry</text>") && svg.contains(">two lines</text>"));
    assert!(svg.contains("fill=\"#ffdddd\""), "classDef fill");
    assert!(svg.contains("stroke=\"#ff8800\""), "linkStyle stroke");
    assert!(svg.contains("id=\"group-inner\"") && svg.contains("id=\"group-outer\""));
    check_golden("arrows.svg", &svg);
}

/// RGBA pixels and size of a PNG.
fn decode(png: &[u8]) -> (u32, u32, Vec<[u8; 4]>) {
    let pixmap = resvg::tiny_skia::Pixmap::decode_png(png).expect("the PNG decodes");
    let pixels = pixmap
        .pixels()
        .iter()
        .map(|p| {
            let c = p.demultiply();
            [c.red(), c.green(), c.blue(), c.alpha()]
        })
        .collect();
    (pixmap.width(), pixmap.height(), pixels)
}

#[test]
fn png_has_the_svg_size_twice_at_2x_and_draws_the_labels() {
    let g = open(eda_studio::SEED_DIAGRAM);
    let layout = hand_layout(&g);
    let opts = SvgOptions::default();
    let one = to_png(&g, &layout, &opts, 1.0).expect("1x renders");
    let two = to_png(&g, &layout, &opts, 2.0).expect("2x renders");
    let (w1, h1, pixels) = decode(&one);
    let (w2, h2, _) = decode(&two);
    assert_eq!((w2, h2), (2 * w1, 2 * h1));
    let svg = to_svg(&g, &layout, &opts);
    assert!(
        svg.contains(&format!("width=\"{w1}\" height=\"{h1}\"")),
        "PNG is the SVG's size"
    );

    let background = [0xff, 0xff, 0xff, 0xff];
    let drawn = pixels.iter().filter(|p| **p != background).count();
    assert!(drawn > pixels.len() / 20, "only {drawn} pixels drawn");

    // Inside the Order Service box only its label is dark: the fill is a
    // light tint, the border and icon are the producer blue.
    let view_min = svg_view_min(&svg);
    let node = layout.nodes[&g.id_of("Producer1").expect("seed has Producer1")];
    let mut dark = 0;
    for y in (node.center.y - node.height / 2.0 + 4.0) as i32
        ..(node.center.y + node.height / 2.0 - 4.0) as i32
    {
        for x in (node.center.x - node.width / 2.0 + 4.0) as i32
            ..(node.center.x + node.width / 2.0 - 4.0) as i32
        {
            let (px, py) = (x - view_min.0, y - view_min.1);
            let p = pixels[(py as u32 * w1 + px as u32) as usize];
            if p[0] < 110 && p[1] < 110 && p[2] < 110 {
                dark += 1;
            }
        }
    }
    assert!(
        dark > 80,
        "label text not rendered: {dark} dark pixels in the node"
    );
}

/// The viewBox origin of an SVG we wrote.
fn svg_view_min(svg: &str) -> (i32, i32) {
    let start = svg.find("viewBox=\"").expect("a viewBox") + 9;
    let mut parts = svg[start..].split([' ', '"']);
    let mut next = || -> i32 {
        parts
            .next()
            .and_then(|v| v.parse().ok())
            .expect("viewBox numbers")
    };
    (next(), next())
}

#[test]
fn dark_png_has_a_dark_background() {
    let g = open(eda_studio::SEED_DIAGRAM);
    let opts = SvgOptions {
        dark: true,
        ..SvgOptions::default()
    };
    let png = to_png(&g, &hand_layout(&g), &opts, 1.0).expect("renders");
    let (_, _, pixels) = decode(&png);
    let corner = pixels[0];
    assert!(
        corner[0] < 60 && corner[1] < 60 && corner[2] < 60,
        "{corner:?}"
    );
}

#[test]
fn every_example_diagram_exports_with_the_layered_layout() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("diagrams");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).expect("diagrams/ is readable") {
        let path = entry.expect("a directory entry").path();
        if path.extension().is_none_or(|e| e != "mmd") {
            continue;
        }
        let g = open(&std::fs::read_to_string(&path).expect("readable"));
        let layout = eda_studio::layout::layered(&g, &Default::default());
        let svg = to_svg(&g, &layout, &SvgOptions::default());
        assert_eq!(
            svg.matches("class=\"node ").count(),
            g.component_count(),
            "{}: every node drawn",
            path.display()
        );
        let png = to_png(&g, &layout, &SvgOptions::default(), 1.0)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let (w, h, _) = decode(&png);
        assert!(w > 50 && h > 50, "{}: {w}x{h}", path.display());
        seen += 1;
    }
    assert!(seen >= 1, "no example diagrams found");
}

// --- the command ---

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("eda-export-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join(name)
}

fn export(args: &[&str]) -> Output {
    let out = Command::new(BIN)
        .arg("export")
        .args(args)
        // Headless: no display of any kind.
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .expect("the binary runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    out
}

fn seed_path() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("diagrams/eda-seed.mmd")
        .display()
        .to_string()
}

/// Width and height from a PNG file's IHDR chunk.
fn png_header_size(bytes: &[u8]) -> (u32, u32) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
    assert_eq!(&bytes[12..16], b"IHDR");
    let be = |i: usize| u32::from_be_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    (be(16), be(20))
}

#[test]
fn command_writes_png_at_1x_and_2x_without_a_display() {
    let (p1, p2) = (scratch("seed1.png"), scratch("seed2.png"));
    let seed = seed_path();
    for (path, scale) in [(&p1, "1"), (&p2, "2")] {
        let out = export(&[
            &seed,
            "--format",
            "png",
            "-o",
            path.to_str().expect("utf-8"),
            "--scale",
            scale,
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let (w1, h1) = png_header_size(&std::fs::read(&p1).expect("1x written"));
    let (w2, h2) = png_header_size(&std::fs::read(&p2).expect("2x written"));
    assert!(w1 > 200 && h1 > 200, "{w1}x{h1}");
    assert_eq!((w2, h2), (2 * w1, 2 * h1));
    let (_, _, pixels) = decode(&std::fs::read(&p1).expect("1x"));
    let colours: std::collections::BTreeSet<[u8; 4]> = pixels.into_iter().collect();
    assert!(colours.len() > 50, "a drawing, not a blank page");
}

#[test]
fn command_writes_svg_and_infers_the_format_from_the_extension() {
    let path = scratch("seed.svg");
    let out = export(&[
        &seed_path(),
        "-o",
        path.to_str().expect("utf-8"),
        "--theme",
        "dark",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let svg = std::fs::read_to_string(&path).expect("written");
    assert!(svg.starts_with("<svg ") && svg.contains("Order Service"));
    assert!(svg.contains("#1b1f24"), "dark background");
    // To standard output too.
    let out = export(&[&seed_path(), "--format", "svg"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("Event Bus - Kafka"));
}

#[test]
fn exported_mermaid_reparses_to_the_same_model() {
    for (name, text) in [
        ("seed", eda_studio::SEED_DIAGRAM.to_string()),
        ("shapes", read("shapes.mmd")),
        ("arrows", read("arrows.mmd")),
    ] {
        let input = scratch(&format!("{name}.mmd"));
        std::fs::write(&input, &text).expect("input written");
        let out = export(&[input.to_str().expect("utf-8"), "--format", "mermaid"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let exported = String::from_utf8(out.stdout).expect("utf-8 Mermaid");
        let (a, b) = (open(&text), open(&exported));
        assert_eq!(summary(&a), summary(&b), "{name}:\n{exported}");
    }
}

/// What must survive a Mermaid round trip (role classes may be added), in
/// a canonical order.
fn summary(g: &ArchGraph) -> Vec<String> {
    let mut out: Vec<String> = g
        .components()
        .map(|c| {
            format!(
                "node {} {:?} {:?} {} {:?}",
                c.key,
                c.label,
                c.shape.as_ref().map(|s| s.to_string()),
                c.role.class_name(),
                c.styles
            )
        })
        .collect();
    out.extend(g.connections().map(|e| {
        format!(
            "edge {} {} {:?} {} {} {} {:?}",
            g.key_of(e.from),
            g.key_of(e.to),
            e.label,
            e.stroke.as_str(),
            e.arrow_start.as_str(),
            e.arrow_end.as_str(),
            e.attrs.style
        )
    }));
    out.extend(g.groups().map(|gr| {
        let members: Vec<&str> = gr.members.iter().map(|m| g.key_of(*m)).collect();
        format!("group {} {:?} {:?}", gr.key, gr.title, members)
    }));
    // The writer may reorder declarations (top-level nodes first); the
    // model is the same set of things.
    out.sort();
    out
}

#[test]
fn exported_json_parses_back_with_model_and_layout() {
    let path = scratch("arrows.json");
    let input = dir().join("arrows.mmd");
    let out = export(&[
        input.to_str().expect("utf-8"),
        "-o",
        path.to_str().expect("utf-8"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: DiagramJson = serde_json::from_str(&std::fs::read_to_string(&path).expect("written"))
        .expect("valid JSON");
    let g = open(&read("arrows.mmd"));
    assert_eq!(doc.format, "eda-studio-diagram");
    assert_eq!(doc.version, 1);
    assert_eq!(doc.components.len(), g.component_count());
    assert_eq!(doc.connections.len(), g.connection_count());
    assert!(
        doc.components.iter().all(|c| c.position.is_some()),
        "every node laid out"
    );
    let hot = doc.components.iter().find(|c| c.key == "R").expect("R");
    assert_eq!(hot.style.fill.as_deref(), Some("#ffdddd"));
    assert_eq!(hot.style.stroke_width, 3.0);
    let inner = doc.groups.iter().find(|g| g.key == "inner").expect("inner");
    assert_eq!(inner.parent.as_deref(), Some("outer"));
    assert!(inner.rect.is_some());
}

#[test]
fn command_errors_are_clear() {
    // A diagram that does not parse: its diagnostic, exit 1.
    let bad = scratch("bad.mmd");
    std::fs::write(&bad, "graph TD\nA --> \n").expect("written");
    let out = export(&[bad.to_str().expect("utf-8"), "--format", "svg"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad.mmd:"));
    // No way to know the format.
    let out = export(&[
        &seed_path(),
        "-o",
        scratch("seed.xyz").to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--format"));
    // A scale that makes no sense.
    let out = export(&[
        &seed_path(),
        "--format",
        "png",
        "--scale",
        "0",
        "-o",
        "x.png",
    ]);
    assert_eq!(out.status.code(), Some(2));
    // A missing file.
    let out = export(&["/nonexistent/diagram.mmd", "--format", "svg"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read"));
}

/// The `d` attribute of the path drawn for the edge `from → to`.
fn edge_path<'s>(svg: &'s str, from: &str, to: &str) -> &'s str {
    let start = svg
        .find(&format!("id=\"edge-{from}-{to}-"))
        .unwrap_or_else(|| panic!("no edge {from} -> {to} in\n{svg}"));
    let rest = &svg[start..];
    let d = rest
        .find(" d=\"")
        .map(|i| &rest[i + 4..])
        .unwrap_or_default();
    &d[..d.find('"').unwrap_or(0)]
}

#[test]
fn a_saved_file_exports_its_long_edges_bent_around_the_nodes_between() {
    // B and C stand right between A and D: a straight A → D would cross them.
    let text = "flowchart TD\nA[Start] --> B[Step one] --> C[Step two] --> D[End]\nA --> D\n\n\
                %% eda:pos A 100 40\n%% eda:pos B 100 140\n%% eda:pos C 100 240\n%% eda:pos D 100 340\n";
    let src = scratch("bent.mmd");
    let out = scratch("bent.svg");
    std::fs::write(&src, text).expect("write diagram");
    let o = export(&[
        src.to_str().expect("utf-8 path"),
        "--format",
        "svg",
        "-o",
        out.to_str().expect("utf-8 path"),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let svg = std::fs::read_to_string(&out).expect("svg written");
    let skip = edge_path(&svg, "A", "D");
    assert!(skip.contains('Q'), "A → D has rounded bends: {skip}");
    // Every point of A → D stays clear of the column B and C stand in.
    let xs: Vec<f32> = skip
        .split(|c: char| c.is_ascii_alphabetic())
        .flat_map(|part| {
            let nums: Vec<f32> = part
                .split_whitespace()
                .filter_map(|n| n.parse().ok())
                .collect();
            nums.chunks(2)
                .filter(|c| c.len() == 2)
                .map(|c| c[0])
                .collect::<Vec<_>>()
        })
        .collect();
    let (lo, hi) = xs
        .iter()
        .fold((f32::MAX, f32::MIN), |(a, b), x| (a.min(*x), b.max(*x)));
    assert!(
        hi - lo > 40.0,
        "the edge leaves the column: x from {lo} to {hi}"
    );
    assert!(
        !edge_path(&svg, "B", "C").contains('Q'),
        "neighbours stay straight"
    );
}
