//! Conformance with mermaid.js 12.3.0 on the shared corpus: every `.mmd`
//! is parsed with the library and compared with the `.json` mermaid
//! produced (accept/reject and error kind; for accepted files the whole
//! corpus JSON: direction, nodes, edges in order, subgraphs, classDefs,
//! classes and the optional fields). Known disagreements are listed in
//! `tests/corpus-gaps.txt` so the list stays honest in both directions.
//!
//! The corpus lives in `../shared/mermaid-corpus` beside the checkout
//! (override with `EDA_CORPUS_DIR`); a missing corpus fails loudly.

use eda_studio::mermaid::{Flowchart, parse_document, parse_flowchart};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn corpus_dir() -> PathBuf {
    let dir = std::env::var_os("EDA_CORPUS_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/mermaid-corpus"),
        PathBuf::from,
    );
    assert!(
        dir.join("INDEX.tsv").is_file(),
        "mermaid corpus not found at {} (expected INDEX.tsv there); set EDA_CORPUS_DIR to the \
         mermaid-corpus directory",
        dir.display()
    );
    dir
}

fn corpus_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "mmd"))
        .collect();
    files.sort();
    files
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn expected_json(mmd: &Path) -> Value {
    let path = mmd.with_extension("json");
    serde_json::from_str(&read(&path))
        .unwrap_or_else(|e| panic!("{}: bad JSON: {e}", path.display()))
}

/// The corpus generator wrote `classes` with plain JavaScript object
/// assignment, where `obj["__proto__"] = …` sets the prototype instead of a
/// key: the corpus can never contain that key, whatever mermaid's FlowDB
/// holds (it does hold it). Drop it from our side before comparing.
fn normalise(mut got: Value) -> Value {
    if let Some(classes) = got.get_mut("classes").and_then(Value::as_object_mut) {
        classes.remove("__proto__");
    }
    got
}

/// Field-level differences between two corpus JSON documents.
fn differences(expected: &Value, got: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let (Some(e), Some(g)) = (expected.as_object(), got.as_object()) else {
        return vec![format!("expected {expected}, got {got}")];
    };
    let keys: std::collections::BTreeSet<&String> = e.keys().chain(g.keys()).collect();
    for key in keys {
        let (ev, gv) = (e.get(key), g.get(key));
        if ev == gv {
            continue;
        }
        match (ev, gv) {
            (Some(Value::Array(ea)), Some(Value::Array(ga))) => {
                if ea.len() != ga.len() {
                    out.push(format!("{key}: {} expected, {} got", ea.len(), ga.len()));
                }
                for (i, (x, y)) in ea.iter().zip(ga).enumerate() {
                    if x != y {
                        out.push(format!("{key}[{i}]: expected {x}, got {y}"));
                        break;
                    }
                }
            }
            _ => out.push(format!(
                "{key}: expected {}, got {}",
                ev.map_or("nothing".into(), Value::to_string),
                gv.map_or("nothing".into(), Value::to_string)
            )),
        }
    }
    out
}

/// `None` when `file` agrees with mermaid, else why not.
fn check(file: &Path) -> Option<String> {
    let src = read(file);
    let expected = expected_json(file);
    let expected_kind = expected.get("kind").and_then(Value::as_str);
    match (parse_flowchart(&src), expected_kind) {
        (Ok(chart), None) => {
            let diffs = differences(&expected, &normalise(chart.to_corpus_json()));
            (!diffs.is_empty()).then(|| diffs.join("; "))
        }
        (Ok(_), Some(kind)) => Some(format!("accepted, but mermaid rejects it ({kind})")),
        (Err(d), None) => Some(format!(
            "rejected ({}), but mermaid accepts it: {}",
            d.kind.as_str(),
            d.render(&file.display().to_string(), &src)
        )),
        (Err(d), Some(kind)) if d.kind.as_str() == kind => None,
        (Err(d), Some(kind)) => Some(format!(
            "rejected as {}, mermaid says {kind}: {}",
            d.kind.as_str(),
            d.message
        )),
    }
}

fn gaps() -> BTreeMap<String, String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus-gaps.txt");
    read(&path)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (file, reason) = l.split_once(char::is_whitespace).unwrap_or((l, ""));
            (file.to_string(), reason.trim().to_string())
        })
        .collect()
}

#[test]
fn corpus_matches_mermaid() {
    let dir = corpus_dir();
    let files = corpus_files(&dir);
    assert!(
        files.len() >= 118,
        "expected the 118-file corpus in {}, found {} .mmd files",
        dir.display(),
        files.len()
    );
    let gaps = gaps();
    let mut problems = Vec::new();
    let mut passed = 0;
    for file in &files {
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let result = check(file);
        match (&result, gaps.contains_key(&name)) {
            (None, false) => passed += 1,
            (None, true) => problems.push(format!(
                "{name}: passes now; remove it from tests/corpus-gaps.txt"
            )),
            (Some(why), false) => problems.push(format!("{name}: {why}")),
            (Some(_), true) => {}
        }
    }
    for listed in gaps.keys() {
        if !files.iter().any(|f| {
            f.file_name()
                .is_some_and(|n| n.to_string_lossy() == listed.as_str())
        }) {
            problems.push(format!(
                "{listed}: listed in tests/corpus-gaps.txt but not in the corpus"
            ));
        }
    }
    eprintln!(
        "corpus: {passed}/{} files agree with mermaid.js ({} known gaps)",
        files.len(),
        gaps.len()
    );
    assert!(
        problems.is_empty(),
        "corpus conformance problems:\n{}",
        problems.join("\n")
    );
}

/// `parse_flowchart` streams into the FlowDB replay; `parse_document` then
/// `Flowchart::from_document` goes through the tree. Both must agree.
#[test]
fn tree_and_streaming_paths_agree_on_the_corpus() {
    let dir = corpus_dir();
    for file in corpus_files(&dir) {
        let src = read(&file);
        let streamed = parse_flowchart(&src)
            .map(|c| c.to_corpus_json())
            .map_err(|d| d.kind);
        let via_tree = parse_document(&src)
            .and_then(|doc| Flowchart::from_document(&doc))
            .map(|c| c.to_corpus_json())
            .map_err(|d| d.kind);
        assert_eq!(streamed, via_tree, "{}", file.display());
    }
}

#[test]
fn cli_parse_json_matches_corpus() {
    let dir = corpus_dir();
    let bin = env!("CARGO_BIN_EXE_eda-studio");
    let picks = [
        "000-eda-seed.mmd",
        "041-doc-flowchart-lr-subgraph-top-direct.mmd",
        "044-doc-flowchart-lr-a-b-b-c-c-d-click-a.mmd",
        "070-spec-flowchart-tb-a-shape-this-shape.mmd",
        "112-spec-graph-td-end-node-end-node-end-n.mmd",
    ];
    for name in picks {
        let path = dir.join(name);
        let out = Command::new(bin)
            .args(["parse", &path.to_string_lossy(), "--json"])
            .output()
            .unwrap_or_else(|e| panic!("cannot run {bin}: {e}"));
        let stdout = String::from_utf8_lossy(&out.stdout);
        let got: Value = serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("{name}: stdout is not JSON ({e}): {stdout}"));
        let expected = expected_json(&path);
        match expected.get("kind") {
            Some(kind) => {
                assert_eq!(
                    out.status.code(),
                    Some(1),
                    "{name}: a rejected file exits 1"
                );
                assert_eq!(got.get("kind"), Some(kind), "{name}: error kind");
                for key in ["error", "line", "column", "file"] {
                    assert!(
                        got.get(key).is_some(),
                        "{name}: error JSON lacks `{key}`: {got}"
                    );
                }
            }
            None => {
                assert_eq!(
                    out.status.code(),
                    Some(0),
                    "{name}: an accepted file exits 0"
                );
                let diffs = differences(&expected, &normalise(got));
                assert!(diffs.is_empty(), "{name}: {}", diffs.join("; "));
            }
        }
    }
}

#[test]
fn cli_parse_without_json_renders_the_diagnostic() {
    let dir = corpus_dir();
    let bin = env!("CARGO_BIN_EXE_eda-studio");
    let path = dir.join("112-spec-graph-td-end-node-end-node-end-n.mmd");
    let out = Command::new(bin)
        .args(["parse", &path.to_string_lossy()])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {bin}: {e}"));
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(":1:10: error:"), "{stderr}");
    assert!(stderr.contains("`end` is a keyword"), "{stderr}");
    let ok = Command::new(bin)
        .args(["parse", &dir.join("000-eda-seed.mmd").to_string_lossy()])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {bin}: {e}"));
    assert_eq!(ok.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&ok.stdout).contains("17 nodes, 17 edges, 1 subgraphs"));
}
