//! The designer's file format end to end: open → model → write → open
//! gives the same model, writing is idempotent, positions and scenario
//! lines round-trip, one moved node is one changed line, edits re-read as
//! edited, and what the model does not interpret (comments, directives,
//! frontmatter, click) survives.

use eda_studio::layout::Point;
use eda_studio::mermaid::{
    Arrow, Direction, LabelType, NodeAttrs, Stroke, parse_document, parse_flowchart,
    print_document_with_source,
};
use eda_studio::model::file::{Opened, open};
use eda_studio::model::write::{role_class_styles, to_mermaid};
use eda_studio::model::{ArchGraph, Role};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// What must survive a save and reopen.
#[derive(Debug, PartialEq)]
struct Summary {
    components: BTreeMap<String, ComponentSummary>,
    connections: Vec<ConnectionSummary>,
    groups: BTreeMap<String, GroupSummary>,
    class_defs: BTreeMap<String, Vec<String>>,
    direction: Direction,
    elk: bool,
    link_style_default: Option<Vec<String>>,
    link_interpolate_default: Option<String>,
    title: Option<String>,
    acc_title: Option<String>,
    acc_descr: Option<String>,
}

#[derive(Debug, PartialEq)]
struct ComponentSummary {
    label: String,
    markdown: bool,
    shape: Option<String>,
    role: Role,
    styles: Vec<String>,
    /// Classes other than role classes and Mermaid's `clickable`, sorted
    /// (their order does not change how Mermaid draws them).
    classes: Vec<String>,
    /// The role classes, in order (the last one wins).
    role_classes: Vec<String>,
    attrs: NodeAttrs,
}

#[derive(Debug, PartialEq)]
struct ConnectionSummary {
    from: String,
    to: String,
    label: String,
    markdown: bool,
    stroke: Stroke,
    arrow_start: Arrow,
    arrow_end: Arrow,
    length: u8,
    mermaid_id: Option<String>,
    style: Vec<String>,
    interpolate: Option<String>,
    classes: Vec<String>,
    animate: Option<bool>,
    animation: Option<String>,
}

#[derive(Debug, PartialEq)]
struct GroupSummary {
    title: String,
    direction: Option<Direction>,
    members: Vec<String>,
    groups: Vec<String>,
    parent: Option<String>,
    classes: Vec<String>,
}

fn summary(g: &ArchGraph, had_role_class: &dyn Fn(&str) -> bool) -> Summary {
    let components = g
        .components()
        .map(|c| {
            let mut classes: Vec<String> = c
                .classes
                .iter()
                .filter(|k| Role::from_class(k).is_none() && *k != "clickable")
                .cloned()
                .collect();
            classes.sort();
            // A role written as a class where the source had none is the
            // writer's doing: compare it only where the source had one.
            let role_classes = if had_role_class(&c.key) {
                c.classes
                    .iter()
                    .filter(|k| Role::from_class(k).is_some())
                    .cloned()
                    .collect()
            } else {
                Vec::new()
            };
            let summary = ComponentSummary {
                label: shown(&c.label),
                markdown: c.label_type == LabelType::Markdown,
                shape: c.shape.as_ref().map(|s| s.as_mermaid().to_string()),
                role: c.role,
                styles: c.styles.clone(),
                classes,
                role_classes,
                attrs: c.attrs.clone(),
            };
            (c.key.clone(), summary)
        })
        .collect();
    let connections = g
        .connections()
        .map(|c| ConnectionSummary {
            from: g.key_of(c.from).to_string(),
            to: g.key_of(c.to).to_string(),
            label: shown(&c.label),
            markdown: c.label_type == LabelType::Markdown,
            stroke: c.stroke,
            arrow_start: c.arrow_start,
            arrow_end: c.arrow_end,
            length: c.attrs.length,
            mermaid_id: c.attrs.mermaid_id.clone(),
            style: c.attrs.style.clone(),
            interpolate: c.attrs.interpolate.clone(),
            classes: c.attrs.classes.clone(),
            animate: c.attrs.animate,
            animation: c.attrs.animation.clone(),
        })
        .collect();
    let group_key = |id| g.group(id).map(|gr| gr.key.clone()).unwrap_or_default();
    let groups = g
        .groups()
        .map(|gr| {
            let mut members: Vec<String> = gr
                .members
                .iter()
                .map(|&m| g.key_of(m).to_string())
                .collect();
            members.sort();
            let mut groups: Vec<String> = gr.groups.iter().map(|&c| group_key(c)).collect();
            groups.sort();
            let summary = GroupSummary {
                title: shown(&gr.title),
                direction: gr.direction,
                members,
                groups,
                parent: gr.parent.map(group_key),
                classes: gr.classes.clone(),
            };
            (gr.key.clone(), summary)
        })
        .collect();
    // The writer adds readable `classDef`s for role classes the user did
    // not define; leave those out.
    let class_defs = g
        .meta
        .class_defs
        .iter()
        .filter(|(name, styles)| {
            !Role::from_class(name).is_some_and(|r| {
                role_class_styles(r)
                    .iter()
                    .map(|s| s.to_string())
                    .eq(styles.iter().cloned())
            })
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let meta = &g.meta;
    Summary {
        components,
        connections,
        groups,
        class_defs,
        direction: match meta.direction {
            Direction::TD => Direction::TB,
            d => d,
        },
        elk: meta.diagram_type == eda_studio::mermaid::DiagramType::FlowchartElk,
        link_style_default: meta.link_style_default.clone(),
        link_interpolate_default: meta.link_interpolate_default.clone(),
        title: meta.title.clone(),
        acc_title: meta.acc_title.clone(),
        acc_descr: meta.acc_descr.clone(),
    }
}

/// A label as Mermaid draws it, for the characters the writer can only
/// write as entities (`<` opening a tag never closed, a leading backtick, `%%`).
fn shown(label: &str) -> String {
    label
        .replace("&lt;", "<")
        .replace("&#96;", "`")
        .replace("&#37;", "%")
}

fn role_class_keys(g: &ArchGraph) -> Vec<String> {
    g.components()
        .filter(|c| c.classes.iter().any(|k| Role::from_class(k).is_some()))
        .map(|c| c.key.clone())
        .collect()
}

fn opened(name: &str, text: &str) -> Opened {
    match open(text) {
        Ok(o) => o,
        Err(diags) => {
            let all: Vec<String> = diags.iter().map(|d| d.render(name, text)).collect();
            panic!("{name} does not open:\n{}\n{text}", all.join(""))
        }
    }
}

/// Writes `g`, re-opens the text and checks the model, the idempotence and
/// the positions; returns the text.
fn round_trip(name: &str, g: &ArchGraph, positions: &BTreeMap<String, Point>) -> String {
    let written = to_mermaid(g, positions, None);
    let again = opened(&format!("{name} (written)"), &written);
    assert!(
        again.warnings.is_empty(),
        "{name}: warnings on the written file:\n{written}"
    );
    let with_role = role_class_keys(g);
    let had = |k: &str| with_role.iter().any(|w| w == k);
    let (before, after) = (summary(g, &had), summary(&again.graph, &had));
    assert!(
        before == after,
        "{name}: the written file reads back differently:\n{written}\n{}",
        debug_diff(&before, &after)
    );
    let kept: BTreeMap<String, Point> = positions
        .iter()
        .filter(|(k, _)| g.id_of(k).is_some())
        .map(|(k, v)| (k.clone(), *v))
        .collect();
    assert_eq!(again.positions, kept, "{name}: positions");
    // Saved files are canonical: `eda-studio fmt --check` accepts them.
    let doc = parse_document(&written).unwrap_or_default();
    assert_eq!(
        print_document_with_source(&doc, &written),
        written,
        "{name}: the written file is not canonical"
    );
    let rewritten = to_mermaid(&again.graph, &again.positions, None);
    assert_eq!(
        written, rewritten,
        "{name}: writing is not idempotent:\n{written}\n---- vs ----\n{rewritten}"
    );
    written
}

/// The lines of the pretty `Debug` forms that differ (`-` before, `+` after).
fn debug_diff(a: &Summary, b: &Summary) -> String {
    let (a, b) = (format!("{a:#?}"), format!("{b:#?}"));
    let (a, b): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
    let mut out = String::new();
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        if x != y {
            out.push_str(&format!("{i}: - {x}\n{i}: + {y}\n"));
        }
    }
    if a.len() != b.len() {
        out.push_str(&format!("({} lines before, {} after)\n", a.len(), b.len()));
    }
    out
}

fn corpus() -> Vec<(String, String)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/mermaid-corpus");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "mmd"));
    files.sort();
    files
        .into_iter()
        .filter_map(|p| {
            let text = std::fs::read_to_string(&p).ok()?;
            Some((p.file_name()?.to_string_lossy().into_owned(), text))
        })
        .collect()
}

/// A position for every component, on a grid, with a half-pixel here and there.
fn grid(g: &ArchGraph) -> BTreeMap<String, Point> {
    g.components()
        .enumerate()
        .map(|(i, c)| {
            let x = (i % 5) as f32 * 180.0 + if i % 3 == 0 { 0.5 } else { 0.0 };
            let y = (i / 5) as f32 * 90.0 - 40.0;
            (c.key.clone(), Point { x, y })
        })
        .collect()
}

#[test]
fn seed_round_trips_with_roles_as_classes() {
    let o = opened("seed", eda_studio::SEED_DIAGRAM);
    let positions = grid(&o.graph);
    let written = round_trip("seed", &o.graph, &positions);
    assert!(written.starts_with("graph TD\n"), "{written}");
    assert!(
        written.contains("EB[Event Bus - Kafka]:::bus\n"),
        "{written}"
    );
    assert!(
        written.contains("Producer1 -->|OrderCreated| EB\n"),
        "{written}"
    );
    assert!(written.contains("    ReadDB[(Read DB - Materialized Views)]:::sink\n"));
    assert_eq!(written.matches("classDef bus ").count(), 1);
    // Reopened, roles come from the classes, not inference.
    let again = opened("seed written", &written);
    let eb = again
        .graph
        .component_by_key("EB")
        .map(|c| c.role_reason.clone());
    assert!(
        matches!(eb, Some(eda_studio::model::RoleReason::Class(_))),
        "{eb:?}"
    );
    assert_eq!(again.graph.components_with_role(Role::Consumer).count(), 4);
    assert_eq!(again.graph.event_types().len(), 3);
    // A position block at the end, one sorted line per component.
    let pos: Vec<&str> = written
        .lines()
        .filter(|l| l.starts_with("%% eda:pos "))
        .collect();
    assert_eq!(pos.len(), 17);
    let mut sorted = pos.clone();
    sorted.sort();
    assert_eq!(pos, sorted);
    assert!(written.ends_with(&format!("{}\n", pos[16])));
    let api = positions.get("API").copied().unwrap_or_default();
    let line = format!("%% eda:pos API {} {}", api.x, api.y);
    assert!(pos.contains(&line.as_str()), "{pos:?}");
}

#[test]
fn every_accepted_corpus_file_round_trips() {
    let mut checked = 0;
    let mut failed = Vec::new();
    for (name, text) in corpus() {
        let Ok(o) = open(&text) else { continue };
        checked += 1;
        // Every file is tried; the failures are listed together.
        let result = std::panic::catch_unwind(|| {
            let written = round_trip(&name, &o.graph, &grid(&o.graph));
            assert!(parse_flowchart(&written).is_ok(), "{name}");
        });
        if result.is_err() {
            failed.push(name);
        }
    }
    assert!(failed.is_empty(), "{} files fail: {failed:?}", failed.len());
    assert!(checked > 80, "only {checked} corpus files opened");
}

#[test]
fn fmt_keeps_the_written_file_as_is() {
    for (name, text) in corpus()
        .into_iter()
        .chain([("seed".to_string(), eda_studio::SEED_DIAGRAM.to_string())])
    {
        let Ok(o) = open(&text) else { continue };
        let written = to_mermaid(&o.graph, &grid(&o.graph), None);
        let doc = parse_document(&written).unwrap_or_default();
        let formatted = print_document_with_source(&doc, &written);
        // The canonical printer may respell, but what it prints opens to
        // the same model and the same positions.
        let a = opened(&name, &written);
        let b = opened(&format!("{name} (fmt)"), &formatted);
        let keys = role_class_keys(&a.graph);
        let had = |k: &str| keys.iter().any(|w| w == k);
        assert_eq!(summary(&a.graph, &had), summary(&b.graph, &had), "{name}");
        assert_eq!(a.positions, b.positions, "{name}");
        // And it is already canonical: `fmt --check` passes on saved files.
        assert_eq!(formatted, written, "{name}: not canonical");
    }
}

/// The lines of `a` and `b` that differ, as (line number, a, b), when both
/// have the same number of lines.
fn changed_lines<'a>(a: &'a str, b: &'a str) -> Vec<(usize, &'a str, &'a str)> {
    assert_eq!(a.lines().count(), b.lines().count(), "{a}\n---\n{b}");
    a.lines()
        .zip(b.lines())
        .enumerate()
        .filter(|(_, (x, y))| x != y)
        .map(|(i, (x, y))| (i + 1, x, y))
        .collect()
}

#[test]
fn moving_one_node_changes_one_line() {
    let o = opened("seed", eda_studio::SEED_DIAGRAM);
    let mut positions = grid(&o.graph);
    let before = to_mermaid(&o.graph, &positions, None);
    if let Some(p) = positions.get_mut("Consumer3") {
        p.x += 42.0;
        p.y -= 7.5;
    }
    let after = to_mermaid(&o.graph, &positions, None);
    let changed = changed_lines(&before, &after);
    assert_eq!(changed.len(), 1, "{changed:?}");
    assert!(changed[0].2.starts_with("%% eda:pos Consumer3 "));
    let reread = opened("moved", &after);
    assert_eq!(reread.positions, positions);
}

#[test]
fn edits_re_read_as_edited() {
    let o = opened("seed", eda_studio::SEED_DIAGRAM);
    let mut g = o.graph;
    let mut positions = grid(&g);
    let eb = g.id_of("EB").expect("seed has EB");
    let audit = g.add_component("Audit", "Audit Consumer").expect("add");
    g.connect(eb, audit, "").expect("connect");
    let sink = g.add_component("AuditLog", "Audit Log").expect("add");
    g.set_shape(
        sink,
        Some(eda_studio::model::Shape::Named("lin-cyl".into())),
    )
    .expect("shape");
    g.connect(audit, sink, "writes").expect("connect");
    positions.insert("Audit".into(), Point { x: 10.0, y: 20.0 });
    // Rename, override a role, remove a component with its connections.
    let c1 = g.id_of("Consumer1").expect("seed has Consumer1");
    g.rename_component(c1, "Inventory").expect("rename");
    positions.insert(
        "Inventory".into(),
        positions.get("Consumer1").copied().unwrap_or_default(),
    );
    positions.remove("Consumer1");
    let c2 = g.id_of("Consumer2").expect("seed has Consumer2");
    g.set_role(c2, Some(Role::Saga)).expect("role");
    let email = g.id_of("Email").expect("seed has Email");
    g.remove_component(email).expect("remove");
    let written = round_trip("edited seed", &g, &positions);
    let again = opened("edited", &written);
    let role = |k: &str| again.graph.component_by_key(k).map(|c| c.role);
    assert_eq!(role("Audit"), Some(Role::Consumer));
    assert_eq!(role("AuditLog"), Some(Role::Sink));
    assert_eq!(role("Consumer2"), Some(Role::Saga));
    assert_eq!(role("Inventory"), Some(Role::Consumer));
    assert_eq!(role("Email"), None);
    assert!(written.contains("Inventory --> InvDB\n"), "{written}");
    assert!(
        written.contains("Audit -->|writes| AuditLog\n"),
        "{written}"
    );
    assert!(
        written.contains("AuditLog[Audit Log]@{ shape: lin-cyl }:::")
            || written.contains("AuditLog[Audit Log]:::sink@{ shape: lin-cyl }"),
        "{written}"
    );
    assert_eq!(
        again.positions.get("Audit"),
        Some(&Point { x: 10.0, y: 20.0 })
    );
    assert!(!written.contains("eda:pos Email"));
}

#[test]
fn a_role_change_is_a_one_line_change() {
    let o = opened("seed", eda_studio::SEED_DIAGRAM);
    let mut g = o.graph.clone();
    let positions = grid(&g);
    let before = to_mermaid(&g, &positions, None);
    let api = g.id_of("API").expect("seed has API");
    g.set_role(api, Some(Role::External)).expect("role");
    let after = to_mermaid(&g, &positions, None);
    // The class line changes; a classDef for the new role may be added.
    let old: Vec<&str> = before.lines().collect();
    let new: Vec<&str> = after.lines().collect();
    let removed: Vec<&&str> = old.iter().filter(|l| !new.contains(l)).collect();
    let added: Vec<&&str> = new.iter().filter(|l| !old.contains(l)).collect();
    // The gateway classDef goes with its last user (it was never read
    // from the file); one for `external` comes with the first.
    assert_eq!(
        removed,
        [
            &"API[API Gateway]:::gateway",
            &"classDef gateway fill:#ede7f6,stroke:#5e35b1,color:#261447"
        ]
    );
    assert_eq!(
        added,
        [
            &"API[API Gateway]:::external",
            &"classDef external fill:#fafafa,stroke:#9e9e9e,color:#212121,stroke-dasharray:5 5"
        ]
    );
    // Once saved and reopened, the role classDefs are the file's own and
    // stay: a role change is then the declaration line alone.
    let reopened = opened("saved", &before).graph;
    let mut g = reopened.clone();
    let api = g.id_of("API").expect("API");
    g.set_role(api, Some(Role::Saga)).expect("role");
    let before = to_mermaid(&reopened, &positions, None);
    let after = to_mermaid(&g, &positions, None);
    let old: Vec<&str> = before.lines().collect();
    let new: Vec<&str> = after.lines().collect();
    let removed: Vec<&&str> = old.iter().filter(|l| !new.contains(l)).collect();
    assert_eq!(removed, [&"API[API Gateway]:::gateway"]);
    let added: Vec<&&str> = new.iter().filter(|l| !old.contains(l)).collect();
    assert_eq!(added.len(), 2, "{added:?}");
    assert!(added.contains(&&"API[API Gateway]:::saga"));
}

const ANNOTATED: &str = "---
title: Orders
config:
  theme: forest
---
%%{init: {\"flowchart\": {\"curve\": \"basis\"}}}%%
%% The order pipeline
flowchart LR
    accTitle: Orders
    %% producers first
    Orders[Order Service] -->|OrderPlaced| Bus[(Kafka)]:::bus
    Bus --> Billing
    %% a comment about the dotted link
    Billing -.->|invoice| Mail{{Mailer}}
    subgraph Back [Back office]
        direction TB
        %% inside the block
        Billing
    end
    click Mail href \"https://example.com/mail\" \"Open the mailer\" _blank
    click Orders call openOrders()
    style Mail fill:#ffd,stroke:#aa0
    linkStyle 1 stroke:#f00,stroke-width:2px
    classDef hot fill:#f99
    class Billing hot
    %% the end
%% eda:scenario source Orders rate=5/s
%% eda:pos Orders 10 20
%% eda:scenario consumer Billing fail=0.1
";

#[test]
fn what_the_model_does_not_interpret_survives() {
    let o = opened("annotated", ANNOTATED);
    assert_eq!(
        o.scenario,
        [
            "%% eda:scenario source Orders rate=5/s",
            "%% eda:scenario consumer Billing fail=0.1"
        ]
    );
    assert_eq!(o.positions.get("Orders"), Some(&Point { x: 10.0, y: 20.0 }));
    let written = round_trip("annotated", &o.graph, &o.positions);
    for kept in [
        "---\ntitle: Orders\nconfig:\n  theme: forest\n---\n",
        "%%{init: {\"flowchart\": {\"curve\": \"basis\"}}}%%\n%% The order pipeline\nflowchart LR\n",
        "accTitle: Orders\n",
        "%% producers first\nOrders[Order Service]:::producer\n",
        "%% a comment about the dotted link\nBilling -.->|invoice| Mail\n",
        "subgraph Back [Back office]\n    direction TB\n    %% inside the block\n    Billing:::consumer\nend\n",
        "click Mail href \"https://example.com/mail\" \"Open the mailer\" _blank\n",
        "click Orders call openOrders()\n",
        "style Mail fill:#ffd,stroke:#aa0\n",
        "linkStyle 1 stroke:#f00,stroke-width:2px\n",
        "classDef hot fill:#f99\n",
        "class Billing hot\n",
        "%% the end\n",
        "\n%% eda:scenario source Orders rate=5/s\n%% eda:scenario consumer Billing fail=0.1\n\n%% eda:pos Orders 10 20\n",
    ] {
        assert!(written.contains(kept), "missing {kept:?} in\n{written}");
    }
    assert_eq!(written.matches("eda:pos").count(), 1);
    assert_eq!(written.matches("eda:scenario").count(), 2);
    // A renamed node takes its comment, click and style along.
    let mut g = o.graph.clone();
    let mail = g.id_of("Mail").expect("Mail");
    g.rename_component(mail, "Mailer").expect("rename");
    let renamed = round_trip("renamed", &g, &o.positions);
    assert!(renamed.contains("Billing -.->|invoice| Mailer\n"));
    assert!(renamed.contains("click Mailer href"));
    assert!(renamed.contains("style Mailer fill"));
    // A removed one leaves its comment at the bottom.
    let billing = g.id_of("Billing").expect("Billing");
    g.remove_component(billing).expect("remove");
    let removed = round_trip("removed", &g, &o.positions);
    assert!(removed.contains("%% inside the block"), "{removed}");
}

#[test]
fn scenario_lines_can_be_replaced() {
    let o = opened("annotated", ANNOTATED);
    let lines = vec![
        "%% eda:scenario seed 7".to_string(),
        "eda:scenario duration 10s".to_string(),
    ];
    let written = to_mermaid(&o.graph, &o.positions, Some(&lines));
    let again = opened("replaced", &written);
    assert_eq!(
        again.scenario,
        ["%% eda:scenario seed 7", "%% eda:scenario duration 10s"]
    );
    assert_eq!(written.matches("eda:scenario").count(), 2);
    let none = to_mermaid(&o.graph, &o.positions, Some(&[]));
    assert!(!none.contains("eda:scenario"));
}

#[test]
fn malformed_position_lines_are_errors_with_locations() {
    let text = "graph TD\nA --> B\n%% eda:pos A 1 2\n%% eda:pos B 3 north\n";
    let Err(diags) = open(text) else {
        panic!("a bad position line was accepted")
    };
    assert_eq!(diags.len(), 1);
    let rendered = diags[0].render("d.mmd", text);
    assert!(rendered.starts_with("d.mmd:4:16: error:"), "{rendered}");
    assert!(rendered.contains("^^^^^"), "{rendered}");
    let ok = opened("unknown id", "graph TD\nA --> B\n%% eda:pos Z 1 2\n");
    assert_eq!(ok.warnings.len(), 1);
    // An unknown id is dropped on the next save.
    let written = to_mermaid(&ok.graph, &ok.positions, None);
    assert!(!written.contains("eda:pos Z"), "{written}");
}

#[test]
fn labels_that_need_quotes_get_them() {
    let mut g = ArchGraph::new();
    let a = g.add_component("A", "Orders (v2) | main").expect("add");
    let b = g.add_component("B", "say \"hi\"; #1").expect("add");
    let c = g.add_component("C", "end").expect("add");
    let e = g.connect(a, b, "a -- b").expect("connect");
    g.connect(b, c, "x|y").expect("connect");
    g.set_stroke(e, Stroke::Thick).expect("stroke");
    g.set_arrows(e, Arrow::Circle, Arrow::Circle)
        .expect("arrows");
    let written = to_mermaid(&g, &BTreeMap::new(), None);
    let again = opened("quoted", &written);
    let label = |k: &str| again.graph.component_by_key(k).map(|c| c.label.clone());
    assert_eq!(label("A").as_deref(), Some("Orders (v2) | main"));
    // Mermaid has no bare `"` in a label: it is written and read as an entity.
    assert_eq!(label("B").as_deref(), Some("say &quot;hi&quot;; #1"));
    assert_eq!(label("C").as_deref(), Some("end"));
    let labels: Vec<&str> = again
        .graph
        .connections()
        .map(|c| c.label.as_str())
        .collect();
    assert_eq!(labels, ["a -- b", "x|y"]);
    let first = again
        .graph
        .connections()
        .next()
        .map(|c| (c.stroke, c.arrow_start));
    assert_eq!(first, Some((Stroke::Thick, Arrow::Circle)));
}

#[test]
fn deeply_nested_groups_write_without_recursion() {
    let depth = 20_000;
    let mut text = String::from("flowchart TD\n");
    for i in 0..depth {
        text.push_str(&format!("subgraph g{i}\nn{i}\n"));
    }
    text.push_str(&"end\n".repeat(depth));
    let o = opened("deep", &text);
    let written = to_mermaid(&o.graph, &BTreeMap::new(), None);
    let again = opened("deep written", &written);
    assert_eq!(again.graph.groups().count(), depth);
    assert_eq!(
        again.graph.groups().filter(|g| g.parent.is_none()).count(),
        1
    );
    assert_eq!(to_mermaid(&again.graph, &BTreeMap::new(), None), written);
}

mod edits {
    //! Random edit sequences on the seed: whatever the designer does, the
    //! saved file reads back as the edited model and saves identically.
    use super::*;
    use eda_studio::model::Shape;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Edit {
        Add(String),
        Connect(usize, usize, String),
        Remove(usize),
        Rename(usize, String),
        Role(usize, Option<usize>),
        Label(usize, String),
        Shape(usize, usize),
        Stroke(usize, usize, usize, usize),
        EdgeLabel(usize, String),
        Disconnect(usize),
        Group(usize, String),
        Move(usize, usize),
    }

    /// Labels as a user types them: letters, digits, blanks inside and the
    /// characters Mermaid gives meaning to. (Mermaid has no bare `"` and
    /// reads `#x;` as an entity, so those are left out.)
    fn text() -> impl Strategy<Value = String> {
        "[a-zA-Z0-9 ()\\[\\]{}|&;:<>/\\\\=.,%@'`~*+é-]{0,16}".prop_map(|s| s.trim().to_string())
    }

    fn edit() -> impl Strategy<Value = Edit> {
        prop_oneof![
            text().prop_map(Edit::Add),
            (any::<usize>(), any::<usize>(), text()).prop_map(|(a, b, l)| Edit::Connect(a, b, l)),
            any::<usize>().prop_map(Edit::Remove),
            (any::<usize>(), text()).prop_map(|(a, k)| Edit::Rename(a, k)),
            (any::<usize>(), proptest::option::of(0..Role::ALL.len()))
                .prop_map(|(a, r)| Edit::Role(a, r)),
            (any::<usize>(), text()).prop_map(|(a, l)| Edit::Label(a, l)),
            (any::<usize>(), 0..20usize).prop_map(|(a, s)| Edit::Shape(a, s)),
            (any::<usize>(), 0..4usize, 0..4usize, 0..4usize)
                .prop_map(|(e, s, a, b)| Edit::Stroke(e, s, a, b)),
            (any::<usize>(), text()).prop_map(|(e, l)| Edit::EdgeLabel(e, l)),
            any::<usize>().prop_map(Edit::Disconnect),
            (any::<usize>(), text()).prop_map(|(a, t)| Edit::Group(a, t)),
            (any::<usize>(), any::<usize>()).prop_map(|(a, g)| Edit::Move(a, g)),
        ]
    }

    fn pick<T: Copy>(v: &[T], i: usize) -> Option<T> {
        (!v.is_empty()).then(|| v[i % v.len()])
    }

    fn apply(g: &mut ArchGraph, e: &Edit) {
        let comps: Vec<_> = g.components().map(|c| c.id).collect();
        let conns: Vec<_> = g.connections().map(|c| c.id).collect();
        let groups: Vec<_> = g.groups().map(|gr| gr.id).collect();
        // Edits a user could not make (an id already taken, …) are refused
        // by the model; the result does not matter here.
        match e {
            Edit::Add(label) => {
                let key = g.unique_key(label);
                let _ = g.add_component(&key, label);
            }
            Edit::Connect(a, b, l) => {
                if let (Some(a), Some(b)) = (pick(&comps, *a), pick(&comps, *b)) {
                    let _ = g.connect(a, b, l);
                }
            }
            Edit::Remove(a) => {
                if let Some(a) = pick(&comps, *a) {
                    let _ = g.remove_component(a);
                }
            }
            Edit::Rename(a, k) => {
                if let Some(a) = pick(&comps, *a) {
                    let key = g.unique_key(k);
                    let _ = g.rename_component(a, &key);
                }
            }
            Edit::Role(a, r) => {
                if let Some(a) = pick(&comps, *a) {
                    let _ = g.set_role(a, r.map(|r| Role::ALL[r]));
                }
            }
            Edit::Label(a, l) => {
                // An empty label needs brackets: Mermaid cannot write it
                // on a node without a shape (the writer adds a rectangle).
                if let Some(a) = pick(&comps, *a)
                    && !(l.is_empty() && g.component(a).is_some_and(|c| c.shape.is_none()))
                {
                    let _ = g.set_label(a, l);
                }
            }
            Edit::Shape(a, s) => {
                if let Some(a) = pick(&comps, *a) {
                    let shapes = eda_studio::mermaid::ast::BracketShape::ALL;
                    let shape = match s {
                        s if *s < shapes.len() => Some(Shape::Bracket(shapes[*s])),
                        16 => Some(Shape::Named("doc".into())),
                        17 => Some(Shape::Named("cyl".into())),
                        18 => Some(Shape::Named("hex".into())),
                        // No shape: only for labels other than the empty
                        // one, which Mermaid cannot write without brackets.
                        _ if g.component(a).is_some_and(|c| !c.label.is_empty()) => None,
                        _ => Some(Shape::Named("rounded".into())),
                    };
                    let _ = g.set_shape(a, shape);
                }
            }
            Edit::Stroke(e, s, a, b) => {
                if let Some(e) = pick(&conns, *e) {
                    let strokes = [
                        Stroke::Normal,
                        Stroke::Thick,
                        Stroke::Dotted,
                        Stroke::Invisible,
                    ];
                    let arrows = [Arrow::None, Arrow::Arrow, Arrow::Cross, Arrow::Circle];
                    let stroke = strokes[*s];
                    let _ = g.set_stroke(e, stroke);
                    // What Mermaid can draw: a start marker only when it
                    // matches the end marker, no markers on an invisible link.
                    let (start, end) = match (stroke, arrows[*a], arrows[*b]) {
                        (Stroke::Invisible, _, _) => (Arrow::None, Arrow::None),
                        (_, s, e) if s == e => (s, e),
                        (_, _, e) => (Arrow::None, e),
                    };
                    let _ = g.set_arrows(e, start, end);
                }
            }
            Edit::EdgeLabel(e, l) => {
                if let Some(e) = pick(&conns, *e) {
                    let _ = g.set_connection_label(e, l);
                }
            }
            Edit::Disconnect(e) => {
                if let Some(e) = pick(&conns, *e) {
                    let _ = g.disconnect(e);
                }
            }
            Edit::Group(a, title) => {
                let key = g.unique_key(&format!("G{title}"));
                if let (Ok(gid), Some(a)) = (g.add_group(&key, title), pick(&comps, *a)) {
                    let _ = g.move_to_group(a, Some(gid));
                }
            }
            Edit::Move(a, gi) => {
                if let Some(a) = pick(&comps, *a) {
                    let _ = g.move_to_group(a, pick(&groups, *gi));
                }
            }
        }
    }

    proptest! {
        // Under CI a fixed seed, so a run is reproducible; elsewhere fresh
        // cases every run (PROPTEST_RNG_SEED=N replays one).
        #![proptest_config(ProptestConfig {
            cases: 96,
            rng_seed: if std::env::var_os("CI").is_some() {
                proptest::test_runner::RngSeed::Fixed(0x00ED_A5A7E)
            } else {
                ProptestConfig::default().rng_seed
            },
            ..ProptestConfig::default()
        })]

        #[test]
        fn edited_diagrams_save_and_reopen(edits in proptest::collection::vec(edit(), 0..24)) {
            let mut g = opened("seed", eda_studio::SEED_DIAGRAM).graph;
            for e in &edits {
                apply(&mut g, e);
            }
            let positions = grid(&g);
            round_trip("edited", &g, &positions);
        }
    }
}
