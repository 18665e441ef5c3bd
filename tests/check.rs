//! End-to-end tests of the architecture model and `eda-studio check`: the
//! seed's roles and event types through the library and through the binary,
//! role overrides by class, topology warnings with locations, Mermaid's
//! render limits, and parse errors.

use eda_studio::SEED_DIAGRAM;
use eda_studio::mermaid::parse_flowchart;
use eda_studio::model::{ArchGraph, Check, ReasonSource, Report, Role};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_eda-studio");

fn model(src: &str) -> ArchGraph {
    match parse_flowchart(src) {
        Ok(chart) => ArchGraph::from_flowchart(&chart),
        Err(d) => panic!("the diagram should parse:\n{}", d.render("test.mmd", src)),
    }
}

fn keys(g: &ArchGraph, role: Role) -> Vec<String> {
    g.components_with_role(role)
        .map(|c| c.key.clone())
        .collect()
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    fn describe(&self) -> String {
        format!(
            "exit code {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.code, self.stdout, self.stderr
        )
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", self.describe()))
    }
}

fn run(args: &[&str], stdin: Option<&str>) -> Run {
    let mut child = Command::new(BIN)
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start eda-studio");
    if let Some(text) = stdin {
        let mut pipe = child.stdin.take().expect("stdin pipe");
        pipe.write_all(text.as_bytes()).expect("write stdin");
    }
    let out = child.wait_with_output().expect("wait for eda-studio");
    let run = Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(
        !run.stderr.contains("panicked at"),
        "the binary panicked: {}",
        run.describe()
    );
    run
}

fn temp_file(name: &str, text: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("check-tests");
    std::fs::create_dir_all(&dir).expect("create temp dir");
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write temp file");
    path
}

/// The ids listed under `role` in a `check --json` report.
fn json_role(report: &serde_json::Value, role: &str) -> Vec<String> {
    report["roles"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["role"] == role)
        .flat_map(|s| s["components"].as_array().cloned().unwrap_or_default())
        .filter_map(|c| c["id"].as_str().map(String::from))
        .collect()
}

fn strings(ids: &[&str]) -> Vec<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

/// What the seed must infer, role by role (class name, ids in diagram order).
const SEED_ROLES: &[(&str, &[&str])] = &[
    ("producer", &["Producer1", "Producer2", "Producer3"]),
    ("gateway", &["API"]),
    ("command", &["WriteModel"]),
    ("bus", &["EB"]),
    ("store", &["ES"]),
    (
        "consumer",
        &["Consumer1", "Consumer2", "Consumer3", "Consumer4"],
    ),
    ("projection", &["ReadModel"]),
    ("sink", &["InvDB", "Email", "DW", "Elastic", "ReadDB"]),
];

const SEED_EVENTS: &[&str] = &["OrderCreated", "UserRegistered", "PaymentProcessed"];

#[test]
fn seed_roles_and_event_types_via_the_library() {
    let g = model(SEED_DIAGRAM);
    assert_eq!(g.component_count(), 17);
    for &(class, ids) in SEED_ROLES {
        let role = Role::from_class(class).expect("a role class");
        assert_eq!(keys(&g, role), strings(ids), "role {class}");
    }
    for role in [
        Role::Saga,
        Role::DeadLetter,
        Role::SchemaRegistry,
        Role::External,
    ] {
        assert!(keys(&g, role).is_empty(), "no {role} in the seed");
    }
    let types: Vec<String> = g.event_types().iter().map(|t| t.to_string()).collect();
    assert_eq!(types, strings(SEED_EVENTS));

    // Write Model points at the bus but the keyword decides.
    let wm = g.component_by_key("WriteModel").expect("WriteModel");
    assert_eq!(wm.role_reason.source(), ReasonSource::Keyword);
    // Producers are producers by topology; ES is a store despite its cylinder.
    let p1 = g.component_by_key("Producer1").expect("Producer1");
    assert_eq!(p1.role_reason.source(), ReasonSource::Topology);
    let es = g.component_by_key("ES").expect("ES");
    assert_eq!(es.role_reason.source(), ReasonSource::Keyword);

    // Topology queries the simulator relies on.
    let id = |k: &str| g.id_of(k).expect("seed id");
    let names =
        |ids: Vec<_>| -> Vec<String> { ids.into_iter().map(|i| g.key_of(i).to_string()).collect() };
    assert_eq!(
        names(g.consumers_of(id("EB"))),
        strings(&[
            "Consumer1",
            "Consumer2",
            "Consumer3",
            "Consumer4",
            "ReadModel"
        ])
    );
    assert_eq!(names(g.sinks_of(id("Consumer1"))), strings(&["InvDB"]));
    assert_eq!(names(g.sinks_of(id("Consumer2"))), strings(&["Email"]));

    let report = Report::new(&g, "seed.mmd", SEED_DIAGRAM);
    assert!(report.findings.is_empty(), "{:?}", report.findings);
}

#[test]
fn seed_roles_and_event_types_via_the_binary() {
    // No FILE: the built-in seed.
    let out = run(&["check", "--json"], None);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    let report = out.json();
    for &(class, ids) in SEED_ROLES {
        assert_eq!(json_role(&report, class), strings(ids), "role {class}");
    }
    let events: Vec<&str> = report["event_types"]
        .as_array()
        .expect("event_types")
        .iter()
        .filter_map(|e| e["name"].as_str())
        .collect();
    assert_eq!(events, SEED_EVENTS);
    let first = &report["event_types"][0];
    assert_eq!(first["producers"], serde_json::json!(["Producer1"]));
    assert_eq!(first["buses"], serde_json::json!(["EB"]));
    assert_eq!(first["stores"], serde_json::json!(["ES"]));
    assert_eq!(report["summary"]["warnings"], 0);
    assert_eq!(report["findings"], serde_json::json!([]));

    // The same file by path gives the same report, named after the file.
    let by_path = run(&["check", "diagrams/eda-seed.mmd", "--json"], None);
    assert_eq!(by_path.code, Some(0), "{}", by_path.describe());
    let mut by_path = by_path.json();
    assert_eq!(by_path["file"], "diagrams/eda-seed.mmd");
    by_path["file"] = report["file"].clone();
    assert_eq!(by_path, report);
}

#[test]
fn seed_text_report_reads_well() {
    let out = run(&["check"], None);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    let text = &out.stdout;
    for needle in [
        "17 components · 17 connections · 1 group · 3 event types",
        "  producer (3)",
        "  consumer (4)",
        "  sink (5)",
        "topology: points at bus EB",
        "keyword \"Write Model\"",
        "keyword \"Event Store\"",
        "topology: leaf after consumer Consumer2",
        "OrderCreated",
        "No problems found.",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
    // Rows line up: the id column starts at the same place on every row.
    let id_cols: Vec<usize> = text
        .lines()
        .filter(|l| l.starts_with("    "))
        .filter_map(|l| {
            let trimmed = l.trim_start();
            let label_end = trimmed.find("  ")?;
            let after = &trimmed[label_end..];
            Some(l.len() - trimmed.len() + label_end + (after.len() - after.trim_start().len()))
        })
        .collect();
    assert_eq!(id_cols.len(), 17, "{text}");
    assert!(id_cols.windows(2).all(|w| w[0] == w[1]), "{text}");
    assert!(out.stderr.is_empty(), "{}", out.describe());
}

#[test]
fn a_class_overrides_the_inferred_role() {
    let src = format!(
        "{SEED_DIAGRAM}\nclass Consumer1 projection\nConsumer2:::projection\nclassDef projection fill:#eef\n"
    );
    let g = model(&src);
    assert_eq!(
        keys(&g, Role::Projection),
        strings(&["Consumer1", "Consumer2", "ReadModel"])
    );
    assert_eq!(
        keys(&g, Role::Consumer),
        strings(&["Consumer3", "Consumer4"])
    );
    let c1 = g.component_by_key("Consumer1").expect("Consumer1");
    assert_eq!(c1.role_reason.source(), ReasonSource::Class);

    // Through the binary, from standard input.
    let out = run(&["check", "-", "--json"], Some(&src));
    assert_eq!(out.code, Some(0), "{}", out.describe());
    let report = out.json();
    assert_eq!(
        json_role(&report, "projection"),
        strings(&["Consumer1", "Consumer2", "ReadModel"])
    );
    let text = run(&["check", "-"], Some(&src));
    assert!(
        text.stdout.contains("class projection"),
        "{}",
        text.describe()
    );
}

#[test]
fn set_role_is_written_as_a_class_and_survives_reinference() {
    let mut g = model(SEED_DIAGRAM);
    let c1 = g.id_of("Consumer1").expect("Consumer1");
    g.set_role(c1, Some(Role::Saga)).expect("set role");
    let c = g.component(c1).expect("still there");
    assert_eq!(
        (c.role, c.classes.clone()),
        (Role::Saga, strings(&["saga"]))
    );
    // Editing elsewhere re-infers; the chosen role stays.
    let eb = g.id_of("EB").expect("EB");
    g.set_label(eb, "Kafka").expect("relabel");
    assert_eq!(g.component(c1).map(|c| c.role), Some(Role::Saga));
    // Back to inference.
    g.set_role(c1, None).expect("clear role");
    assert_eq!(g.component(c1).map(|c| c.role), Some(Role::Consumer));
}

#[test]
fn topology_warnings_point_at_the_node() {
    let src = "\
graph LR
P[Order Service] -->|OrderPlaced| EB[Kafka]
P -->|OrderShipped| EB
EB -->|OrderPlaced| C1[Billing Consumer]
C1 --> DB1[(Billing DB)]
C2[Audit Consumer] --> DB2[(Audit DB)]
RM[Read Model] --> RDB[(Read DB)]
C1 --> RM
Q[Broker]
Lonely[Lonely]
";
    let path = temp_file("warnings.mmd", src);
    let file = path.to_str().expect("UTF-8 temp path");
    let out = run(&["check", file], None);
    assert_eq!(out.code, Some(0), "warnings only: {}", out.describe());
    let text = &out.stdout;
    for needle in [
        format!(
            "{file}:3:3: warning: event type OrderShipped is published to EB but no consumer subscribes to it"
        ),
        format!("{file}:6:1: warning: consumer C2 (Audit Consumer) is not fed by any bus"),
        format!(
            "{file}:7:1: warning: projection RM (Read Model) has no input from a bus or event store"
        ),
        format!("{file}:9:1: warning: bus Q (Broker) is not connected to anything"),
        format!("{file}:10:1: warning: external Lonely is not connected to anything"),
    ] {
        assert!(text.contains(&needle), "missing {needle:?} in:\n{text}");
    }
    assert!(text.contains("5 warnings, no errors."), "{text}");

    let json = run(&["check", file, "--json"], None);
    assert_eq!(json.code, Some(0), "{}", json.describe());
    let report = json.json();
    let checks: Vec<&str> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| f["check"].as_str())
        .collect();
    assert_eq!(
        checks,
        [
            "unconsumed-event-type",
            "unfed-consumer",
            "projection-without-input",
            "isolated",
            "isolated"
        ]
    );
    assert_eq!(report["findings"][1]["line"], 6);
    assert_eq!(report["findings"][1]["column"], 1);
    assert_eq!(report["findings"][1]["component"], "C2");
}

#[test]
fn a_bus_without_producers_or_consumers_is_reported_on_the_bus() {
    let src = "graph TD\nEB[Event Bus] --> ES[(Event Store)]\n";
    let g = model(src);
    let report = Report::new(&g, "bus.mmd", src);
    let checks: Vec<Check> = report.findings.iter().map(|f| f.check).collect();
    assert_eq!(
        checks,
        [Check::BusWithoutProducers, Check::BusWithoutConsumers],
        "{:?}",
        report.findings
    );
}

#[test]
fn diagrams_beyond_mermaid_limits_are_accepted_with_a_warning() {
    let mut src = String::from("graph LR\n");
    for i in 0..501 {
        src.push_str(&format!("A{i} --> B{i}\n"));
    }
    src.push_str(&format!("%% {}\n", "x".repeat(50_000)));
    let path = temp_file("big.mmd", &src);
    let file = path.to_str().expect("UTF-8 temp path");
    let out = run(&["check", file], None);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    // Pointed at the 501st edge, where mermaid.js would stop.
    assert!(
        out.stdout.contains(&format!("{file}:502:"))
            && out.stdout.contains(
                "warning: the diagram has 501 connections; mermaid.js renderers refuse more than 500 (maxEdges), eda-studio accepts it"
            ),
        "{}",
        out.describe()
    );
    assert!(
        out.stdout
            .contains("mermaid.js renderers refuse more than 50000 (maxTextSize)"),
        "{}",
        out.describe()
    );
}

#[test]
fn parse_errors_exit_1_with_a_rendered_diagnostic() {
    let src = "graph TD\nA --> end\n";
    let path = temp_file("broken.mmd", src);
    let file = path.to_str().expect("UTF-8 temp path");
    let out = run(&["check", file], None);
    assert_eq!(out.code, Some(1), "{}", out.describe());
    assert!(
        out.stderr.contains(&format!("{file}:2:")),
        "{}",
        out.describe()
    );
    assert!(out.stdout.is_empty(), "{}", out.describe());

    let json = run(&["check", file, "--json"], None);
    assert_eq!(json.code, Some(1), "{}", json.describe());
    let err = json.json();
    assert_eq!(err["file"], file);
    assert_eq!(err["line"], 2);
    assert!(
        err["error"].as_str().is_some_and(|m| !m.is_empty()),
        "{err}"
    );
}

#[test]
fn a_role_override_survives_printing_and_reparsing() {
    let src = format!("{SEED_DIAGRAM}\nclass Consumer1 projection\nConsumer2:::saga\n");
    let doc = match eda_studio::mermaid::parse_document(&src) {
        Ok(doc) => doc,
        Err(d) => panic!("parses:\n{}", d.render("override.mmd", &src)),
    };
    let printed = eda_studio::mermaid::print_document(&doc);
    let g = model(&printed);
    assert_eq!(
        keys(&g, Role::Projection),
        strings(&["Consumer1", "ReadModel"]),
        "{printed}"
    );
    assert_eq!(keys(&g, Role::Saga), strings(&["Consumer2"]), "{printed}");
    assert_eq!(
        keys(&g, Role::Consumer),
        strings(&["Consumer3", "Consumer4"]),
        "{printed}"
    );
}
