//! The canonical printer end to end: round trips over the mermaid corpus and
//! generated diagrams, golden files for the canonical style (`tests/fmt/`),
//! and the `eda-studio fmt` command line.
//!
//! The corpus is `../shared/mermaid-corpus` next to the crate, or wherever
//! `EDA_CORPUS_DIR` points. Regenerate the golden files with
//! `UPDATE_GOLDEN=1 cargo test --test fmt golden` and review the diff.

use eda_studio::mermaid::{
    is_plain_id, parse_document, parse_flowchart, print_document, print_document_with_source,
};
use proptest::prelude::*;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

// ---------------------------------------------------------------- helpers

fn corpus_dir() -> PathBuf {
    let dir = match std::env::var_os("EDA_CORPUS_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/mermaid-corpus"),
    };
    assert!(
        dir.join("INDEX.tsv").is_file(),
        "mermaid corpus not found at {} (no INDEX.tsv); set EDA_CORPUS_DIR to the corpus directory",
        dir.display()
    );
    dir
}

/// The corpus files mermaid accepts (`valid` = `yes` in `INDEX.tsv`).
fn accepted_corpus_files() -> Vec<PathBuf> {
    let dir = corpus_dir();
    let index = fs::read_to_string(dir.join("INDEX.tsv")).expect("INDEX.tsv is readable");
    let files: Vec<PathBuf> = index
        .lines()
        .skip(1)
        .filter_map(|line| {
            let cols: Vec<&str> = line.split('\t').collect();
            (cols.len() >= 3 && cols[2].trim() == "yes").then(|| dir.join(cols[0]))
        })
        .collect();
    assert!(!files.is_empty(), "INDEX.tsv lists no accepted files");
    files
}

/// What went wrong with one text, or `None` when it round-trips: the printed
/// text must mean the same (whole corpus JSON) and print to itself.
fn round_trip_problem(src: &str) -> Option<String> {
    let doc = match parse_document(src) {
        Ok(doc) => doc,
        Err(e) => return Some(format!("parse_document rejects the input: {e}")),
    };
    let want = match parse_flowchart(src) {
        Ok(f) => f.to_corpus_json(),
        Err(e) => return Some(format!("parse_flowchart rejects the input: {e}")),
    };
    for (variant, printed) in [
        (
            "print_document_with_source",
            print_document_with_source(&doc, src),
        ),
        ("print_document", print_document(&doc)),
    ] {
        match parse_flowchart(&printed) {
            Ok(f) if f.to_corpus_json() == want => {}
            Ok(f) => {
                return Some(format!(
                    "{variant}: printed text means something else\n--- printed:\n{printed}\n--- want:\n{want:#}\n--- got:\n{:#}",
                    f.to_corpus_json()
                ));
            }
            Err(e) => {
                return Some(format!(
                    "{variant}: printed text does not parse: {}\n--- printed:\n{printed}",
                    e.render("printed", &printed)
                ));
            }
        }
        let again = match parse_document(&printed) {
            Ok(doc) if variant == "print_document" => print_document(&doc),
            Ok(doc) => print_document_with_source(&doc, &printed),
            Err(e) => return Some(format!("{variant}: reparse failed: {e}")),
        };
        if again != printed {
            return Some(format!(
                "{variant}: not idempotent\n--- first:\n{printed}\n--- second:\n{again}"
            ));
        }
    }
    None
}

// ---------------------------------------------------------------- corpus

#[test]
fn every_accepted_corpus_file_round_trips_and_is_idempotent() {
    let files = accepted_corpus_files();
    let mut failures = Vec::new();
    for path in &files {
        let src = fs::read_to_string(path).expect("corpus file is UTF-8");
        if let Some(problem) = round_trip_problem(&src) {
            failures.push(format!("{}: {problem}", path.display()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} accepted corpus files fail the printer round trip:\n\n{}",
        failures.len(),
        files.len(),
        failures.join("\n\n")
    );
}

// ---------------------------------------------------------------- golden files

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fmt")
}

/// `tests/fmt/<name>.mmd` prints exactly as `<name>.canonical.mmd`, which
/// means the same and is itself canonical.
#[test]
fn golden_files_print_canonically() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut inputs: Vec<PathBuf> = fs::read_dir(golden_dir())
        .expect("tests/fmt exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension().is_some_and(|x| x == "mmd")
                && !p.to_string_lossy().ends_with(".canonical.mmd")
        })
        .collect();
    inputs.sort();
    assert!(!inputs.is_empty(), "no golden inputs in tests/fmt");
    for input in inputs {
        let src = fs::read_to_string(&input).expect("golden input is readable");
        let doc = parse_document(&src)
            .unwrap_or_else(|e| panic!("{}", e.render(&input.display().to_string(), &src)));
        let printed = print_document_with_source(&doc, &src);
        let expected_path = input.with_extension("canonical.mmd");
        if update {
            fs::write(&expected_path, &printed).expect("golden file is writable");
        }
        let expected = fs::read_to_string(&expected_path)
            .unwrap_or_else(|_| panic!("missing {}", expected_path.display()));
        assert_eq!(
            printed,
            expected,
            "{} does not print as {}",
            input.display(),
            expected_path.display()
        );
        assert_eq!(round_trip_problem(&src), None, "{}", input.display());
        assert_eq!(
            round_trip_problem(&expected),
            None,
            "{}",
            expected_path.display()
        );
    }
}

#[test]
fn seed_diagram_round_trips() {
    assert_eq!(round_trip_problem(eda_studio::SEED_DIAGRAM), None);
}

// ---------------------------------------------------------------- generated diagrams

/// Pieces a generated diagram is made of: each a valid Mermaid fragment.
fn node_strategy() -> impl Strategy<Value = String> {
    let id = prop::sample::select(vec![
        "A",
        "B",
        "c1",
        "svc.orders",
        "svc-pay",
        "v2/api",
        "ops",
        "xray",
        "o1",
        "End",
        "endpoint",
        "default.node",
        "用户",
        "42",
        "mydirection",
        "LR1",
        "TB2",
    ]);
    let shape = prop::sample::select(vec![
        "",
        "[Order Service]",
        "(round)",
        "([stadium])",
        "[[sub]]",
        "[(Event Store)]",
        "((circle))",
        "(((double)))",
        ">odd]",
        "{decision}",
        "{{hex}}",
        "[/lean/]",
        "[\\lean\\]",
        "[/trap\\]",
        "[\\inv/]",
        "(-ellipse-)",
        "[\"quoted (x) #quot;y#quot;\"]",
        "[\"`**md** _x_`\"]",
        "[ padded ]",
        "@{ shape: cyl, label: \"DB\" }",
    ]);
    let class = prop::sample::select(vec!["", "", ":::store", ":::bus"]);
    (id, shape, class).prop_map(|(id, shape, class)| {
        // `@{}` goes after `:::class` in mermaid's grammar.
        if shape.starts_with('@') {
            format!("{id}{class}{shape}")
        } else {
            format!("{id}{shape}{class}")
        }
    })
}

fn link_strategy() -> impl Strategy<Value = String> {
    let arrow = prop::sample::select(vec![
        "-->", "--->", "---", "----", "==>", "===", "-.->", "-..->", "-.-", "~~~", "--o", "--x",
        "<-->", "o--o", "x--x", "<==>", "<-.->", "e2@-->", "e3@==>",
    ]);
    let label = prop::sample::select(vec![
        "",
        "|yes|",
        "|\"quoted\"|",
        "|`md`|",
        "| spaced |",
        "|\"`**md**`\"|",
    ]);
    let inline = prop::sample::select(vec![
        "-- text -->",
        "-- f(x) -->",
        "== thick ==>",
        "-. dotted .->",
        "<-- both -->",
        "-- \"str (x)\" ---",
        "-- a|b -->",
        "-- box -->",
        "e1@-- id label -->",
    ]);
    let spaces = prop::sample::select(vec!["", " "]);
    prop_oneof![
        (arrow, label, spaces.clone()).prop_map(|(a, l, s)| {
            if a == "~~~" && l.contains('`') {
                format!("{s}{a}{s}")
            } else {
                format!("{s}{a}{l}{s}")
            }
        }),
        (inline, spaces).prop_map(|(i, s)| format!("{s}{i}{s}")),
    ]
    .prop_map(|l| {
        // Guard the `---o` quirk in the generator itself: a link always
        // ends in a space so the generated input means what it says.
        if l.ends_with(' ') { l } else { format!("{l} ") }
    })
}

fn group_strategy() -> impl Strategy<Value = String> {
    prop::collection::vec(node_strategy(), 1..3).prop_map(|nodes| nodes.join(" & "))
}

fn statement_strategy() -> impl Strategy<Value = String> {
    let chain = (
        group_strategy(),
        prop::collection::vec((link_strategy(), group_strategy()), 0..3),
    )
        .prop_map(|(head, rest)| {
            let mut s = head;
            for (link, group) in rest {
                let edge_id = link.trim_start().starts_with('e') && link.contains('@');
                if edge_id && s.ends_with('}') {
                    // Mermaid allows no blank between `@{ … }` and an edge id.
                    s.push_str(link.trim_start());
                } else {
                    if !s.ends_with(' ') && !link.starts_with(' ') {
                        s.push(' ');
                    }
                    s.push_str(&link);
                }
                s.push_str(&group);
            }
            s
        });
    prop_oneof![
        6 => chain,
        1 => Just("%% a comment".to_string()),
        1 => Just("classDef store fill:#eef,stroke:#333".to_string()),
        1 => Just("class A,B bus".to_string()),
        1 => Just("style A fill:#f96".to_string()),
        1 => Just("direction LR".to_string()),
        1 => Just("click A \"https://example.com\" \"tip\" _blank".to_string()),
        1 => Just("linkStyle default stroke:#999".to_string()),
        1 => Just("accTitle: The title".to_string()),
        1 => Just("e2@{ animate: true }".to_string()),
        1 => Just(String::new()),
    ]
}

/// A flat list of lines: statements plus `subgraph` / `end` markers that
/// nest properly.
fn diagram_strategy() -> impl Strategy<Value = String> {
    let header = prop::sample::select(vec![
        "flowchart LR",
        "graph TD",
        "flowchart",
        "graph >",
        "flowchart-elk BT",
    ]);
    let line = prop_oneof![
        8 => statement_strategy().prop_map(Some),
        1 => Just(None),
    ];
    let sub_header = prop::sample::select(vec![
        "subgraph",
        "subgraph one",
        "subgraph ide1 [one]",
        "subgraph \"Quoted\"",
        "subgraph Some Title",
        "subgraph g2[\"`**md**`\"]",
    ]);
    let sep = prop::sample::select(vec!["\n", "\n", ";", "\n\n", ";\n", "\n    "]);
    (
        header,
        prop::collection::vec((line, sub_header, any::<bool>(), sep), 0..24),
    )
        .prop_map(|(header, lines)| {
            // Each entry: the line and whether it is a node/link line. Only
            // those may be joined by `;`: after `style`, `classDef`, `click`,
            // `direction`, a `%%` comment or a subgraph header mermaid reads
            // on to the end of the line, and a comment must start its line.
            let mut parts: Vec<(String, bool)> = Vec::new();
            let mut depth = 0usize;
            for (line, sub, close, sep) in lines {
                let part = match line {
                    Some(stmt) => {
                        let chain = !stmt.is_empty()
                            && ![
                                "%%",
                                "classDef",
                                "class ",
                                "style",
                                "direction",
                                "click",
                                "linkStyle",
                                "accTitle",
                            ]
                            .iter()
                            .any(|k| stmt.starts_with(k));
                        (stmt, chain)
                    }
                    None if close && depth > 0 => {
                        depth -= 1;
                        ("end".to_string(), false)
                    }
                    None => {
                        depth += 1;
                        (sub.to_string(), false)
                    }
                };
                parts.push((format!("{sep}\u{0}"), false));
                parts.push(part);
            }
            for _ in 0..depth {
                parts.push(("\n\u{0}".to_string(), false));
                parts.push(("end".to_string(), false));
            }
            let mut out = format!("{header}\n");
            for i in 0..parts.len() {
                let (text, _) = &parts[i];
                if let Some(sep) = text.strip_suffix('\u{0}') {
                    let both_chains =
                        i > 0 && parts[i - 1].1 && parts.get(i + 1).is_some_and(|p| p.1);
                    out.push_str(if sep.starts_with(';') && !both_chains {
                        "\n"
                    } else {
                        sep
                    });
                } else {
                    out.push_str(text);
                }
            }
            out.push('\n');
            out
        })
}

// 256 cases by default; `PROPTEST_CASES=20000` for a longer hunt.
proptest! {
    /// Whatever our parser accepts prints to text that means the same and is
    /// a fixed point of the printer.
    #[test]
    fn generated_diagrams_round_trip(src in diagram_strategy()) {
        prop_assume!(parse_flowchart(&src).is_ok());
        if let Some(problem) = round_trip_problem(&src) {
            prop_assert!(false, "input:\n{}\n{}", src, problem);
        }
    }
}

proptest! {
    /// An id `is_plain_id` accepts reads back as itself in every position
    /// the printer puts ids in.
    #[test]
    fn plain_ids_read_back_everywhere(
        id in "(end|class|style|default|direction|call|href|click|graph|sub|_top|o|x|v|LR|[a-zA-Z0-9_.-]){1,5}"
    ) {
        if !is_plain_id(&id) {
            return Ok(());
        }
        let src = format!(
            "flowchart LR\n{id}\n{id} --> Q & {id}\nQ --> {id}:::c\n{id} & Q ---|t| {id}[L]\nQ --> {id}\nLR1 --> Q\n"
        );
        let chart = parse_flowchart(&src);
        prop_assert!(chart.is_ok(), "{id}: {:?}", chart.err());
        let chart = chart.unwrap_or_default();
        let ends: Vec<(&str, &str)> =
            chart.edge_refs().map(|e| (e.from(), e.to())).collect();
        let id = id.as_str();
        prop_assert_eq!(
            ends,
            vec![(id, "Q"), (id, id), ("Q", id), (id, id), ("Q", id), ("Q", id), ("LR1", "Q")]
        );
        prop_assert_eq!(round_trip_problem(&src), None);
    }
}

#[test]
fn plain_id_rules() {
    for ok in [
        "A",
        "svc.orders",
        "svc-pay",
        "endpoint",
        "default",
        "node_1",
        "42",
        "ops",
        "xray",
    ] {
        assert!(is_plain_id(ok), "{ok}");
    }
    for bad in [
        "",
        "end",
        "end-x",
        "end.x",
        "1end",
        "style1",
        "classDef",
        "class2",
        "1class",
        "a-",
        "-a",
        "a--b",
        "a..b",
        "a b",
        "mydirection",
        "用户",
        "a:b",
        "_top",
    ] {
        assert!(!is_plain_id(bad), "{bad}");
    }
}

// ---------------------------------------------------------------- the command line

const MESSY: &str = "graph TD;A-->B;B-- yes -->C[ Done ]\n\n\nsubgraph S\nC\nend\n";
const CANONICAL: &str = "graph TD\nA --> B\nB -->|yes| C[Done]\n\nsubgraph S\n    C\nend\n";

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_eda-studio"))
}

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!(
            "eda-fmt-test-{tag}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }

    fn file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        fs::write(&path, text).expect("write temp file");
        path
    }

    fn entries(&self) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(&self.0)
            .expect("read temp dir")
            .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect();
        names.sort();
        names
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn run(args: &[&std::ffi::OsStr], stdin: Option<&str>) -> Output {
    let mut cmd = bin();
    cmd.arg("fmt").args(args);
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn eda-studio");
    if let Some(text) = stdin {
        use std::io::Write;
        let mut pipe = child.stdin.take().expect("stdin pipe");
        // The command may exit before reading (`-w -`): a broken pipe is fine.
        let _ = pipe.write_all(text.as_bytes());
    }
    child.wait_with_output().expect("eda-studio runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn cli_prints_canonical_text_to_stdout() {
    let dir = TempDir::new("print");
    let path = dir.file("messy.mmd", MESSY);
    let out = run(&[path.as_os_str()], None);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    assert_eq!(text(&out.stdout), CANONICAL);
    assert_eq!(
        fs::read_to_string(&path).expect("read"),
        MESSY,
        "plain fmt must not write"
    );
}

#[test]
fn cli_reads_standard_input() {
    let out = run(&["-".as_ref()], Some(MESSY));
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    assert_eq!(text(&out.stdout), CANONICAL);

    let out = run(&["--check".as_ref(), "-".as_ref()], Some(MESSY));
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).starts_with("<stdin>: not canonical\n"));
}

#[test]
fn cli_check_is_silent_and_exits_0_on_canonical_files() {
    let dir = TempDir::new("check-ok");
    let path = dir.file("ok.mmd", CANONICAL);
    let out = run(&["--check".as_ref(), path.as_os_str()], None);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    assert!(out.stdout.is_empty() && out.stderr.is_empty());
}

#[test]
fn cli_check_exits_1_with_a_diff_on_non_canonical_files() {
    let dir = TempDir::new("check-bad");
    let path = dir.file("bad.mmd", MESSY);
    let out = run(&["--check".as_ref(), path.as_os_str()], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let err = text(&out.stderr);
    let name = path.display().to_string();
    assert!(
        err.starts_with(&format!("{name}: not canonical\n")),
        "{err}"
    );
    assert!(err.contains("@@ -1,"), "{err}");
    assert!(
        err.contains("\n-graph TD;A-->B;B-- yes -->C[ Done ]\n"),
        "{err}"
    );
    assert!(err.contains("\n+graph TD\n+A --> B\n"), "{err}");
    assert_eq!(
        fs::read_to_string(&path).expect("read"),
        MESSY,
        "--check must not write"
    );
}

#[test]
fn cli_check_diff_is_short_for_long_files() {
    let dir = TempDir::new("check-long");
    let body: String = (0..500).map(|i| format!("N{i}-->M{i}\n")).collect();
    let path = dir.file("long.mmd", &format!("graph LR\n{body}"));
    let out = run(&["--check".as_ref(), path.as_os_str()], None);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.lines().count() < 40, "diff too long:\n{err}");
    assert!(err.contains("more differences follow"), "{err}");
}

#[test]
fn cli_write_rewrites_in_place_and_leaves_canonical_files_alone() {
    let dir = TempDir::new("write");
    let path = dir.file("d.mmd", MESSY);
    let out = run(&["-w".as_ref(), path.as_os_str()], None);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    assert!(out.stdout.is_empty());
    assert_eq!(fs::read_to_string(&path).expect("read"), CANONICAL);
    assert_eq!(
        dir.entries(),
        vec!["d.mmd".to_string()],
        "no temp file left behind"
    );

    // Already canonical: the file is not replaced (same inode on Unix).
    #[cfg(unix)]
    let inode = {
        use std::os::unix::fs::MetadataExt;
        fs::metadata(&path).expect("stat").ino()
    };
    let out = run(&["--write".as_ref(), path.as_os_str()], None);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(fs::read_to_string(&path).expect("read"), CANONICAL);
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        assert_eq!(fs::metadata(&path).expect("stat").ino(), inode);
    }
}

#[test]
fn cli_write_keeps_file_permissions() {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let dir = TempDir::new("perm");
        let path = dir.file("p.mmd", MESSY);
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).expect("chmod");
        let out = run(&["-w".as_ref(), path.as_os_str()], None);
        assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
        let mode = fs::metadata(&path).expect("stat").permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
    }
}

#[test]
fn cli_errors_are_rendered_and_nothing_is_written() {
    let dir = TempDir::new("error");
    let broken = "graph TD\nA --> end\n";
    let path = dir.file("broken.mmd", broken);
    for flags in [&[][..], &["--check"][..], &["-w"][..]] {
        let mut args: Vec<&std::ffi::OsStr> = flags.iter().map(|f| f.as_ref()).collect();
        args.push(path.as_os_str());
        let out = run(&args, None);
        assert_eq!(out.status.code(), Some(1), "flags {flags:?}");
        assert!(out.stdout.is_empty(), "flags {flags:?}");
        let err = text(&out.stderr);
        assert!(
            err.starts_with(&format!("{}:2:", path.display())),
            "flags {flags:?}: {err}"
        );
        assert_eq!(fs::read_to_string(&path).expect("read"), broken);
    }
    // A semantic error (mermaid rejects an unknown @{shape}) is an error too.
    let path = dir.file("shape.mmd", "flowchart TD\nA@{ shape: nope }\n");
    let out = run(&["-w".as_ref(), path.as_os_str()], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("error"), "{}", text(&out.stderr));
}

#[test]
fn cli_unreadable_input_and_write_to_stdin_exit_2() {
    let out = run(&["/definitely/not/here.mmd".as_ref()], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("cannot read"));

    let out = run(&["-w".as_ref(), "-".as_ref()], Some(MESSY));
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("standard input"));
}

#[test]
fn cli_write_through_a_symlink_rewrites_the_target() {
    #[cfg(unix)]
    {
        let dir = TempDir::new("symlink");
        let target = dir.file("real.mmd", MESSY);
        let link = dir.0.join("link.mmd");
        std::os::unix::fs::symlink(&target, &link).expect("symlink");
        let out = run(&["-w".as_ref(), link.as_os_str()], None);
        assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
        assert!(
            fs::symlink_metadata(&link)
                .expect("lstat")
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read_to_string(&target).expect("read"), CANONICAL);
    }
}
