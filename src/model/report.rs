//! [`Report`]: what `eda-studio check` shows, as data (JSON) and as text.
//!
//! Built from an [`ArchGraph`] and the text it came from (for line numbers
//! and Mermaid's size limit). Components are named by their Mermaid ids,
//! which is what a user can find in the file.

use super::graph::{ArchGraph, ComponentId, GroupId};
use super::role::{ReasonSource, Role, RoleReason};
use super::validate::{Check, Severity, render_limits, sort_findings, validate};
use crate::mermaid::Span;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// At most this many consumers are named per event type in a report.
pub const LIST_LIMIT: usize = 100;

/// The result of checking a diagram.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The file name used in locations.
    pub file: String,
    /// Counts.
    pub summary: Summary,
    /// Components grouped by role, in [`Role::ALL`] order; empty roles left out.
    pub roles: Vec<RoleSection>,
    /// Event types in order of first appearance.
    pub event_types: Vec<EventTypeEntry>,
    /// Top-level groups (subgraphs), with nested ones inside.
    pub groups: Vec<GroupEntry>,
    /// Warnings and errors in source order.
    pub findings: Vec<FindingEntry>,
}

/// Counts of what the diagram holds and what was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Components.
    pub components: usize,
    /// Connections.
    pub connections: usize,
    /// Groups (all levels).
    pub groups: usize,
    /// Distinct event types.
    pub event_types: usize,
    /// Findings of [`Severity::Warning`].
    pub warnings: usize,
    /// Findings of [`Severity::Error`].
    pub errors: usize,
}

/// The components that have one role.
#[derive(Debug, Clone, Serialize)]
pub struct RoleSection {
    /// The role (its class name in JSON).
    pub role: Role,
    /// Its human name (`event store`).
    pub title: &'static str,
    /// Its components, in diagram order.
    pub components: Vec<ComponentEntry>,
}

/// One component in the report.
#[derive(Debug, Clone, Serialize)]
pub struct ComponentEntry {
    /// Mermaid id.
    pub id: String,
    /// Label.
    pub label: String,
    /// Mermaid shape name, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shape: Option<String>,
    /// Classes as written.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub classes: Vec<String>,
    /// The group it is directly in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Why it has its role.
    pub reason: ReasonEntry,
    /// 1-based line of its first mention.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// 1-based column of its first mention.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
}

/// Why a component has its role, for people and for programs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReasonEntry {
    /// class, keyword, shape, topology or fallback.
    pub source: ReasonSource,
    /// E.g. `keyword "Event Bus"`, `topology: points at bus EB`.
    pub text: String,
}

/// One event type: who publishes it, where, and who gets it.
#[derive(Debug, Clone, Serialize)]
pub struct EventTypeEntry {
    /// The event type name.
    pub name: String,
    /// Mermaid ids of producers.
    pub producers: Vec<String>,
    /// Mermaid ids of the buses carrying it.
    pub buses: Vec<String>,
    /// Mermaid ids of the consumers, projections and sagas that get it
    /// (the first [`LIST_LIMIT`]; a busy bus times many event types would
    /// otherwise make the report quadratic).
    pub consumers: Vec<String>,
    /// How many get it in all.
    pub consumer_count: usize,
    /// Mermaid ids of the event stores it is appended to.
    pub stores: Vec<String>,
}

/// A group (subgraph). Groups are listed flat, each parent before its
/// children, so a deeply nested file does not make a deeply nested report.
#[derive(Debug, Clone, Serialize)]
pub struct GroupEntry {
    /// Mermaid subgraph id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Mermaid id of the group it is inside, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// Nesting depth (0 at the top level).
    pub depth: usize,
    /// Mermaid ids of the components directly inside.
    pub members: Vec<String>,
    /// Mermaid ids of the groups directly inside.
    pub groups: Vec<String>,
}

/// A finding with its place in the file.
#[derive(Debug, Clone, Serialize)]
pub struct FindingEntry {
    /// warning or error.
    pub severity: Severity,
    /// Which check (kebab-case).
    pub check: Check,
    /// What is wrong.
    pub message: String,
    /// Mermaid id of the component concerned, if one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub component: Option<String>,
    /// 1-based line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// 1-based column.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
}

/// How a role reason reads in a report.
pub fn describe_reason(graph: &ArchGraph, reason: &RoleReason) -> String {
    match reason {
        RoleReason::Class(class) => format!("class {class}"),
        RoleReason::Keyword(kw) => format!("keyword \"{kw}\""),
        RoleReason::Shape(shape) => format!("shape {shape}"),
        RoleReason::FedByBus(bus) => format!("topology: fed by bus {}", graph.key_of(*bus)),
        RoleReason::PublishesTo(bus) => format!("topology: points at bus {}", graph.key_of(*bus)),
        RoleReason::LeafAfter(up) => {
            let role = graph.component(*up).map_or(Role::Consumer, |c| c.role);
            format!("topology: leaf after {role} {}", graph.key_of(*up))
        }
        RoleReason::Fallback => "fallback: no rule matched".to_string(),
    }
}

impl Report {
    /// Checks `graph`, which was read from `text` (the file called `file`).
    /// Pass an empty `text` for a graph that has no source.
    pub fn new(graph: &ArchGraph, file: &str, text: &str) -> Report {
        let mut wanted: Vec<usize> = graph
            .components()
            .filter_map(|c| c.span)
            .map(|s| s.start)
            .collect();
        let found = {
            let mut found = validate(graph);
            found.extend(render_limits(graph, text));
            sort_findings(&mut found);
            found
        };
        wanted.extend(found.iter().filter_map(|f| f.span).map(|s| s.start));
        let places = locate_all(text, wanted);
        let locate = |span: Option<Span>| span.and_then(|s| places.get(&s.start).copied());
        let group_of: BTreeMap<ComponentId, &str> = graph
            .groups()
            .flat_map(|g| g.members.iter().map(move |&m| (m, g.key.as_str())))
            .collect();
        let mut roles = Vec::new();
        for role in Role::ALL {
            let components: Vec<ComponentEntry> = graph
                .components_with_role(role)
                .map(|c| {
                    let loc = locate(c.span);
                    ComponentEntry {
                        id: c.key.clone(),
                        label: c.label.clone(),
                        shape: c.shape.as_ref().map(|s| s.as_mermaid().to_string()),
                        classes: c.classes.clone(),
                        group: group_of.get(&c.id).map(|g| g.to_string()),
                        reason: ReasonEntry {
                            source: c.role_reason.source(),
                            text: describe_reason(graph, &c.role_reason),
                        },
                        line: loc.map(|(l, _)| l),
                        column: loc.map(|(_, c)| c),
                    }
                })
                .collect();
            if !components.is_empty() {
                roles.push(RoleSection {
                    role,
                    title: role.title(),
                    components,
                });
            }
        }

        let keys = |ids: &[ComponentId]| -> Vec<String> {
            ids.iter().map(|&i| graph.key_of(i).to_string()).collect()
        };
        let catalog = graph.event_catalog();
        let event_types: Vec<EventTypeEntry> = catalog
            .types
            .iter()
            .map(|info| EventTypeEntry {
                name: info.event.to_string(),
                producers: keys(&info.producers),
                buses: keys(&info.buses),
                consumers: catalog
                    .consumers(info)
                    .take(LIST_LIMIT)
                    .map(|c| graph.key_of(c).to_string())
                    .collect(),
                consumer_count: catalog.consumer_count(info),
                stores: keys(&catalog.stores(info)),
            })
            .collect();

        let groups = group_entries(graph);

        let findings: Vec<FindingEntry> = found
            .into_iter()
            .map(|f| {
                let loc = locate(f.span);
                FindingEntry {
                    severity: f.severity,
                    check: f.check,
                    message: f.message,
                    component: f.component.map(|c| graph.key_of(c).to_string()),
                    line: loc.map(|(l, _)| l),
                    column: loc.map(|(_, c)| c),
                }
            })
            .collect();

        let count = |sev| findings.iter().filter(|f| f.severity == sev).count();
        Report {
            file: file.to_string(),
            summary: Summary {
                components: graph.component_count(),
                connections: graph.connection_count(),
                groups: graph.groups().count(),
                event_types: event_types.len(),
                warnings: count(Severity::Warning),
                errors: count(Severity::Error),
            },
            roles,
            event_types,
            groups,
            findings,
        }
    }

    /// Whether any finding is an error (`check` then exits 1).
    pub fn has_errors(&self) -> bool {
        self.summary.errors > 0
    }

    /// The report as JSON.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }

    /// The report as aligned plain text for a terminal.
    pub fn render_text(&self) -> String {
        let mut out = String::new();
        let s = &self.summary;
        let _ = writeln!(out, "{}", self.file);
        let _ = writeln!(
            out,
            "{} · {} · {} · {}",
            plural(s.components, "component"),
            plural(s.connections, "connection"),
            plural(s.groups, "group"),
            plural(s.event_types, "event type"),
        );

        let all = || self.roles.iter().flat_map(|r| &r.components);
        let label_w = all().map(|c| width(&c.label)).max().unwrap_or(0);
        let id_w = all().map(|c| width(&c.id)).max().unwrap_or(0);
        out.push_str("\nComponents\n");
        for section in &self.roles {
            let _ = writeln!(out, "  {} ({})", section.title, section.components.len());
            for c in &section.components {
                let line = format!(
                    "    {}  {}  {}",
                    pad(&c.label, label_w),
                    pad(&c.id, id_w),
                    c.reason.text
                );
                let _ = writeln!(out, "{}", line.trim_end());
            }
        }

        if !self.event_types.is_empty() {
            out.push_str("\nEvent types\n");
            // The open-ended list goes last so the other columns stay narrow.
            let mut rows: Vec<Vec<String>> = vec![
                ["event", "produced by", "bus", "stored in", "consumed by"]
                    .map(String::from)
                    .to_vec(),
            ];
            for e in &self.event_types {
                rows.push(vec![
                    e.name.clone(),
                    names(&e.producers, e.producers.len()),
                    names(&e.buses, e.buses.len()),
                    names(&e.stores, e.stores.len()),
                    names(&e.consumers, e.consumer_count),
                ]);
            }
            if self.event_types.iter().all(|e| e.stores.is_empty()) {
                for r in &mut rows {
                    r.remove(3);
                }
            }
            let cols = rows[0].len();
            let widths: Vec<usize> = (0..cols)
                .map(|i| rows.iter().map(|r| width(&r[i])).max().unwrap_or(0))
                .collect();
            for r in &rows {
                let cells: Vec<String> = (0..cols).map(|i| pad(&r[i], widths[i])).collect();
                let _ = writeln!(out, "  {}", cells.join("  ").trim_end());
            }
        }

        if !self.groups.is_empty() {
            out.push_str("\nGroups\n");
            // Indent nesting, but not without bound.
            let indent = |g: &GroupEntry| "  ".repeat(g.depth.min(8));
            let title_w = self
                .groups
                .iter()
                .map(|g| width(&indent(g)) + width(&group_name(g)))
                .max()
                .unwrap_or(0);
            for g in &self.groups {
                let mut inside: Vec<String> = g.members.clone();
                inside.extend(g.groups.iter().map(|c| format!("[{c}]")));
                let name = format!("{}{}", indent(g), group_name(g));
                let line = format!("  {}  {}", pad(&name, title_w), inside.join(", "));
                let _ = writeln!(out, "{}", line.trim_end());
            }
        }

        out.push('\n');
        for f in &self.findings {
            let place = match (f.line, f.column) {
                (Some(l), Some(c)) => format!("{}:{l}:{c}: ", self.file),
                _ => format!("{}: ", self.file),
            };
            let _ = writeln!(out, "{place}{}: {}", f.severity.as_str(), f.message);
        }
        let verdict = match (s.errors, s.warnings) {
            (0, 0) => "No problems found.".to_string(),
            (0, w) => format!("{}, no errors.", plural(w, "warning")),
            (e, w) => format!("{}, {}.", plural(e, "error"), plural(w, "warning")),
        };
        if !self.findings.is_empty() {
            out.push('\n');
        }
        let _ = writeln!(out, "{verdict}");
        out
    }
}

/// Groups in pre-order (each parent before its children), iteratively.
fn group_entries(graph: &ArchGraph) -> Vec<GroupEntry> {
    let key = |id: GroupId| graph.group(id).map_or(String::new(), |g| g.key.clone());
    let mut out = Vec::new();
    let mut stack: Vec<(GroupId, usize)> = graph
        .top_level_groups()
        .map(|g| (g.id, 0))
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let mut visited = std::collections::BTreeSet::new();
    while let Some((id, depth)) = stack.pop() {
        let Some(g) = graph.group(id) else {
            continue;
        };
        if !visited.insert(id) {
            continue;
        }
        stack.extend(g.groups.iter().rev().map(|&c| (c, depth + 1)));
        out.push(GroupEntry {
            id: g.key.clone(),
            title: g.title.clone(),
            parent: g.parent.map(key),
            depth,
            members: g
                .members
                .iter()
                .map(|&m| graph.key_of(m).to_string())
                .collect(),
            groups: g.groups.iter().map(|&c| key(c)).collect(),
        });
    }
    out
}

/// Line and column (1-based, columns in characters, as
/// [`crate::mermaid::Location`] counts them) of every offset, in one sweep
/// over the text: per-offset counting from the start would be quadratic on
/// big diagrams.
fn locate_all(text: &str, mut offsets: Vec<usize>) -> BTreeMap<usize, (usize, usize)> {
    offsets.sort_unstable();
    offsets.dedup();
    let mut out = BTreeMap::new();
    let mut pending = offsets.into_iter().peekable();
    let (mut line, mut column) = (1, 1);
    for (at, ch) in text.char_indices() {
        let next = at + ch.len_utf8();
        // An offset inside a character belongs to that character.
        while let Some(&offset) = pending.peek() {
            if offset >= next {
                break;
            }
            out.insert(offset, (line, column));
            pending.next();
        }
        if pending.peek().is_none() {
            return out;
        }
        if ch == '\n' {
            line += 1;
            column = 1;
        } else {
            column += 1;
        }
    }
    for offset in pending {
        out.insert(offset, (line, column));
    }
    out
}

fn group_name(g: &GroupEntry) -> String {
    if g.title == g.id {
        g.id.clone()
    } else {
        format!("{} ({})", g.id, g.title)
    }
}

/// At most this many names in one cell of the text report.
const TEXT_NAMES: usize = 8;

/// `a, b, c`, cut to [`TEXT_NAMES`] with `+N more`; `-` when empty.
fn names(shown: &[String], total: usize) -> String {
    if shown.is_empty() {
        return "-".to_string();
    }
    let cut = shown.len().min(TEXT_NAMES);
    let mut out = shown[..cut].join(", ");
    if total > cut {
        let _ = write!(out, " +{} more", total - cut);
    }
    out
}

fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// Display width in characters (close enough for labels; no East Asian
/// width table in the dependency tree).
fn width(s: &str) -> usize {
    s.chars().count()
}

fn pad(s: &str, w: usize) -> String {
    let mut out = s.to_string();
    out.extend(std::iter::repeat_n(' ', w.saturating_sub(width(s))));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::lower::tests::seed_flowchart;

    #[test]
    fn seed_report_has_no_findings_and_all_roles() {
        let g = ArchGraph::from_flowchart(&seed_flowchart());
        let r = Report::new(&g, "seed.mmd", crate::SEED_DIAGRAM);
        assert!(r.findings.is_empty(), "{:?}", r.findings);
        let roles: Vec<(Role, usize)> = r
            .roles
            .iter()
            .map(|s| (s.role, s.components.len()))
            .collect();
        assert_eq!(
            roles,
            vec![
                (Role::Producer, 3),
                (Role::Gateway, 1),
                (Role::Command, 1),
                (Role::Bus, 1),
                (Role::Store, 1),
                (Role::Consumer, 4),
                (Role::Projection, 1),
                (Role::Sink, 5),
            ]
        );
        let text = r.render_text();
        assert!(text.contains("No problems found."), "{text}");
        assert!(text.contains("topology: points at bus EB"), "{text}");
        assert!(text.contains("OrderCreated"), "{text}");
    }

    #[test]
    fn text_columns_line_up() {
        let g = ArchGraph::from_flowchart(&seed_flowchart());
        let text = Report::new(&g, "seed.mmd", crate::SEED_DIAGRAM).render_text();
        // Every component row starts its id column at the same place.
        let cols: Vec<usize> = ["Producer1", "EB", "ReadDB", "Consumer4"]
            .iter()
            .filter_map(|id| {
                text.lines()
                    .find(|l| l.starts_with("    ") && l.contains(&format!("  {id}  ")))
                    .and_then(|l| l.find(&format!("  {id}  ")))
            })
            .collect();
        assert_eq!(cols.len(), 4, "{text}");
        assert!(cols.windows(2).all(|w| w[0] == w[1]), "{text}");
    }

    #[test]
    fn findings_carry_file_line_and_column() {
        let mut chart = seed_flowchart();
        // Cut the bus off from Consumer4 so it is fed by nothing.
        let cut = chart
            .edge_refs()
            .position(|e| e.from() == "EB" && e.to() == "Consumer4");
        assert!(cut.is_some(), "the seed has EB --> Consumer4");
        if let Some(i) = cut {
            chart.edges.remove(i);
        }
        let g = ArchGraph::from_flowchart(&chart);
        let r = Report::new(&g, "seed.mmd", crate::SEED_DIAGRAM);
        assert_eq!(r.findings.len(), 1, "{:?}", r.findings);
        let f = &r.findings[0];
        assert_eq!(f.check, Check::UnfedConsumer);
        assert_eq!((f.line, f.column), (Some(9), Some(8)));
        let text = r.render_text();
        assert!(
            text.contains(
                "seed.mmd:9:8: warning: consumer Consumer4 (Search Indexer) is not fed by any bus"
            ),
            "{text}"
        );
        let json = r.to_json();
        assert_eq!(json["findings"][0]["check"], "unfed-consumer");
        assert_eq!(json["summary"]["warnings"], 1);
    }
}

#[cfg(test)]
mod locate_tests {
    use super::locate_all;
    use crate::mermaid::Location;

    #[test]
    fn one_sweep_agrees_with_location_of() {
        let text = "graph TD\nA[é] --> B\r\n  C --> 😀D\n";
        let offsets: Vec<usize> = (0..=text.len() + 3).collect();
        let places = locate_all(text, offsets.clone());
        for at in offsets {
            let loc = Location::of(text, at);
            assert_eq!(
                places.get(&at),
                Some(&(loc.line, loc.column)),
                "offset {at}"
            );
        }
    }
}
