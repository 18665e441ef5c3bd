//! End-to-end tests of the `eda-studio` binary's diagnostics: what a user
//! sees when a file is rejected, unreadable, not UTF-8 or not a flowchart,
//! in text and in JSON, from a file and from standard input.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_eda-studio");

/// The result of one run, with the streams as text.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    fn from(output: Output) -> Run {
        let run = Run {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        };
        assert!(
            !run.stderr.contains("panicked at") && !run.stdout.contains("panicked at"),
            "the binary panicked:\n{}",
            run.stderr
        );
        run
    }

    fn describe(&self) -> String {
        format!(
            "exit code {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.code, self.stdout, self.stderr
        )
    }

    fn assert_code(&self, code: i32) -> &Self {
        assert_eq!(self.code, Some(code), "{}", self.describe());
        self
    }

    fn assert_failed(&self) -> &Self {
        assert!(
            matches!(self.code, Some(c) if c != 0),
            "expected a failure: {}",
            self.describe()
        );
        self
    }
}

fn run(args: &[&str]) -> Run {
    run_with_stdin(args, None)
}

/// How long one run may take before it counts as a hang.
const RUN_LIMIT: Duration = Duration::from_secs(60);

fn run_with_stdin(args: &[&str], stdin: Option<&[u8]>) -> Run {
    let mut child = Command::new(BIN)
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        // Headless on any machine: with a display, no subcommand would open
        // the designer window instead of checking.
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .env_remove("WAYLAND_SOCKET")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start eda-studio");
    // Drain both pipes on their own threads so a full pipe cannot block the
    // child while we wait for it with a deadline.
    let mut stdout = child.stdout.take().expect("stdout pipe");
    let mut stderr = child.stderr.take().expect("stderr pipe");
    let out = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stdout.read_to_end(&mut buf);
        buf
    });
    let err = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stderr.read_to_end(&mut buf);
        buf
    });
    if let Some(bytes) = stdin {
        let mut pipe = child.stdin.take().expect("stdin pipe");
        pipe.write_all(bytes).expect("write stdin");
    }
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for eda-studio") {
            break status;
        }
        if started.elapsed() > RUN_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("eda-studio {args:?} did not finish within {RUN_LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Run::from(Output {
        status,
        stdout: out.join().expect("stdout reader"),
        stderr: err.join().expect("stderr reader"),
    })
}

/// Writes `bytes` to a fresh file under Cargo's per-target temp directory.
fn temp_file(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-tests");
    std::fs::create_dir_all(&dir).expect("create temp dir");
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write temp file");
    path
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("temp paths are UTF-8")
}

/// Finds the JSON object a `--json` run printed on stdout (or stderr).
fn json_of(run: &Run) -> serde_json::Value {
    for text in [&run.stdout, &run.stderr] {
        if let Ok(value) = serde_json::from_str::<serde_json::Value>(text.trim()) {
            return value;
        }
    }
    panic!("no JSON document in the output: {}", run.describe())
}

const END_AS_NODE: &str = "graph TD\nA --> end\n";

/// Checks the rendered diagnostic for `A --> end` at line 2, column 7.
fn assert_end_keyword_diagnostic(run: &Run, file: &str) {
    run.assert_code(1);
    let err = &run.stderr;
    let head = format!("{file}:2:7: ");
    let at = err
        .find(&head)
        .unwrap_or_else(|| panic!("no `{head}…` diagnostic on stderr: {}", run.describe()));
    let mut lines = err[at..].lines();
    let _message = lines.next();
    let source_line = lines.next().expect("the source line follows the message");
    assert!(
        source_line.ends_with("A --> end"),
        "second line should echo the source line: {source_line:?}"
    );
    let caret = lines.next().expect("a caret line follows the source line");
    let column_of = |line: &str, needle: &str| line.find(needle).map(|i| line[..i].chars().count());
    assert_eq!(
        column_of(caret, "^"),
        column_of(source_line, "end"),
        "the caret should sit under `end`:\n{source_line}\n{caret}"
    );
    assert!(
        err.contains("hint:") && err.contains("keyword"),
        "the diagnostic should hint that `end` is a keyword: {}",
        run.describe()
    );
}

#[test]
fn rejected_file_shows_location_source_line_caret_and_hint() {
    let path = temp_file("end-as-node.mmd", END_AS_NODE.as_bytes());
    let file = path_str(&path);
    for subcommand in ["check", "parse"] {
        let run = run(&[subcommand, file]);
        assert_end_keyword_diagnostic(&run, file);
    }
}

#[test]
fn fmt_rejects_with_the_same_diagnostic() {
    let path = temp_file("fmt-end-as-node.mmd", END_AS_NODE.as_bytes());
    let file = path_str(&path);
    assert_end_keyword_diagnostic(&run(&["fmt", file]), file);
    assert_end_keyword_diagnostic(&run(&["fmt", "--check", file]), file);
    let before = std::fs::read(&path).expect("read back");
    assert_end_keyword_diagnostic(&run(&["fmt", "-w", file]), file);
    assert_eq!(
        std::fs::read(&path).expect("read back"),
        before,
        "fmt -w must not touch a rejected file"
    );
}

#[test]
fn stdin_is_read_with_dash_and_named_in_diagnostics() {
    let run_ok = run_with_stdin(
        &["parse", "-", "--json"],
        Some(eda_studio::SEED_DIAGRAM.as_bytes()),
    );
    run_ok.assert_code(0);
    let json = json_of(&run_ok);
    assert_eq!(json["direction"], "TB", "{json}");
    assert!(
        json["nodes"].as_array().is_some_and(|n| !n.is_empty()),
        "{json}"
    );

    let run_err = run_with_stdin(&["check", "-"], Some(END_AS_NODE.as_bytes()));
    assert_end_keyword_diagnostic(&run_err, "<stdin>");
}

#[test]
fn other_diagram_types_are_refused() {
    for (name, src) in [
        ("sequence.mmd", "sequenceDiagram\n  Alice->>Bob: Hi\n"),
        ("class.mmd", "classDiagram\n  Animal <|-- Duck\n"),
        ("state.mmd", "stateDiagram-v2\n  [*] --> Still\n"),
        ("pie.mmd", "pie title Pets\n  \"Dogs\" : 386\n"),
        ("gantt.mmd", "gantt\n  title A Gantt Diagram\n"),
    ] {
        let path = temp_file(name, src.as_bytes());
        let file = path_str(&path);
        let text = run(&["check", file]);
        text.assert_code(1);
        assert!(
            text.stderr.contains("only flowcharts are supported"),
            "{name}: {}",
            text.describe()
        );
        assert!(
            text.stderr.contains(&format!("{file}:1:1")),
            "{name}: {}",
            text.describe()
        );

        let json = run(&["parse", file, "--json"]);
        json.assert_code(1);
        assert_eq!(
            json_of(&json)["kind"],
            "not-flowchart",
            "{name}: {}",
            json.describe()
        );
    }
}

#[test]
fn no_diagram_type_at_all_is_refused() {
    let path = temp_file("not-mermaid.mmd", b"hello world\n");
    let run = run(&["check", path_str(&path)]);
    run.assert_code(1);
    assert!(run.stderr.contains(":1:1: "), "{}", run.describe());
}

#[test]
fn json_errors_carry_kind_line_and_column() {
    let path = temp_file("json-end-as-node.mmd", END_AS_NODE.as_bytes());
    let file = path_str(&path);
    for subcommand in ["parse", "check"] {
        let run = run(&[subcommand, file, "--json"]);
        run.assert_code(1);
        let json = json_of(&run);
        assert_eq!(json["kind"], "parse", "{json}");
        assert_eq!(json["line"], 2, "{json}");
        assert_eq!(json["column"], 7, "{json}");
        assert_eq!(json["file"], file, "{json}");
        assert!(
            json["error"].as_str().is_some_and(|m| !m.is_empty()),
            "{json}"
        );
    }
}

#[test]
fn non_utf8_file_is_a_clear_error() {
    let path = temp_file("latin1.mmd", b"graph TD\nA[caf\xe9] --> B\n");
    let file = path_str(&path);
    for args in [
        vec!["check", file],
        vec!["parse", file, "--json"],
        vec!["fmt", file],
    ] {
        let run = run(&args);
        run.assert_failed();
        assert!(
            run.stderr.contains("UTF-8") && run.stderr.contains(&format!("{file}:2:6")),
            "{args:?}: {}",
            run.describe()
        );
    }
}

#[test]
fn missing_file_is_a_clear_error() {
    let missing = Path::new(env!("CARGO_TARGET_TMPDIR")).join("no-such-dir/no-such-file.mmd");
    let file = path_str(&missing);
    for args in [vec!["check", file], vec!["parse", file], vec!["fmt", file]] {
        let run = run(&args);
        run.assert_failed();
        assert!(
            run.stderr.contains(file) && run.stderr.to_lowercase().contains("no such file"),
            "{args:?}: {}",
            run.describe()
        );
    }
}

#[test]
fn long_lines_are_cut_around_the_caret() {
    let src = format!("graph TD\nA[{}] --> end\n", "x".repeat(100_000));
    let path = temp_file("long-line.mmd", src.as_bytes());
    let run = run(&["check", path_str(&path)]);
    run.assert_code(1);
    assert!(
        run.stderr.len() < 2_000,
        "a 100 kB line must not be echoed whole ({} bytes of stderr)",
        run.stderr.len()
    );
}

#[test]
fn no_subcommand_without_a_display_checks_the_built_in_seed() {
    let run = run(&[]);
    run.assert_code(0);
    assert!(!run.stdout.trim().is_empty(), "{}", run.describe());
    assert!(run.stderr.contains("no display"), "{}", run.describe());
}

#[test]
fn the_seed_diagram_checks_and_parses_as_the_corpus_says() {
    run(&["check", "diagrams/eda-seed.mmd"]).assert_code(0);
    let parsed = run(&["parse", "diagrams/eda-seed.mmd", "--json"]);
    parsed.assert_code(0);
    let expected_path = std::env::var_os("EDA_CORPUS_DIR")
        .map_or_else(
            || Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/mermaid-corpus"),
            PathBuf::from,
        )
        .join("000-eda-seed.json");
    match std::fs::read_to_string(&expected_path) {
        Ok(text) => {
            let expected: serde_json::Value = serde_json::from_str(&text).expect("corpus JSON");
            assert_eq!(
                json_of(&parsed),
                expected,
                "parse --json differs from {}",
                expected_path.display()
            );
        }
        Err(err) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "{}: {err}",
                expected_path.display()
            );
            eprintln!("warning: {}: {err}; not compared", expected_path.display());
        }
    }
}
