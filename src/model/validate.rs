//! Topology checks: what is probably a mistake in an architecture diagram.
//!
//! Each problem is reported once, at its cause: an isolated component gets
//! only "isolated"; a consumer no bus feeds is not also reported as
//! unreachable; events on a bus with no consumers are reported on the bus,
//! not once per event type. All findings are warnings today (the diagram
//! still loads and simulates); [`Severity::Error`] is for checks that make
//! a diagram unusable, and `check` exits 1 on any.

use super::graph::{ArchGraph, Component, ComponentId, ConnectionKind};
use super::infer::Flow;
use super::role::{ReasonSource, Role};
use crate::mermaid::Span;
use serde::Serialize;
use std::collections::BTreeSet;

/// Mermaid's default `maxEdges`: renderers refuse diagrams with more edges.
pub const MERMAID_MAX_EDGES: usize = 500;
/// Mermaid's default `maxTextSize`, in UTF-16 code units (JavaScript's
/// `String.length`): renderers refuse longer diagram text.
pub const MERMAID_MAX_TEXT_SIZE: usize = 50_000;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Probably a mistake; the diagram still works.
    Warning,
    /// The diagram cannot be used as it is.
    Error,
}

impl Severity {
    /// `warning` or `error`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// Which check produced a finding (stable names for JSON and tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Check {
    /// A component has role classes naming different roles.
    ConflictingRoleClasses,
    /// No rule gave a component a role; it is treated as external.
    UnknownRole,
    /// A component has no connections at all.
    Isolated,
    /// A consumer that no bus (or store, or dead-letter queue) feeds.
    UnfedConsumer,
    /// A projection with no bus or event store feeding it.
    ProjectionWithoutInput,
    /// A bus nothing publishes to.
    BusWithoutProducers,
    /// A bus that feeds no consumer, projection or saga.
    BusWithoutConsumers,
    /// An event type published but delivered to no consumer.
    UnconsumedEventType,
    /// An event type subscribed to but published by nobody.
    UnproducedEventType,
    /// Components no producer, gateway, command handler or external reaches.
    Unreachable,
    /// More connections than mermaid.js renders.
    TooManyEdgesForMermaid,
    /// More text than mermaid.js renders.
    TooLargeForMermaid,
    /// A schema registry after the first: the simulator uses only the
    /// first one, so this one and its connections are ignored in a run.
    ExtraSchemaRegistry,
}

impl Check {
    /// The kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Check::ConflictingRoleClasses => "conflicting-role-classes",
            Check::UnknownRole => "unknown-role",
            Check::Isolated => "isolated",
            Check::UnfedConsumer => "unfed-consumer",
            Check::ProjectionWithoutInput => "projection-without-input",
            Check::BusWithoutProducers => "bus-without-producers",
            Check::BusWithoutConsumers => "bus-without-consumers",
            Check::UnconsumedEventType => "unconsumed-event-type",
            Check::UnproducedEventType => "unproduced-event-type",
            Check::Unreachable => "unreachable",
            Check::TooManyEdgesForMermaid => "too-many-edges-for-mermaid",
            Check::TooLargeForMermaid => "too-large-for-mermaid",
            Check::ExtraSchemaRegistry => "extra-schema-registry",
        }
    }
}

/// One problem found in a diagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Warning or error.
    pub severity: Severity,
    /// Which check.
    pub check: Check,
    /// One sentence, naming components by Mermaid id (and label).
    pub message: String,
    /// The component it is about, if one.
    pub component: Option<ComponentId>,
    /// Where in the source to point, if known.
    pub span: Option<Span>,
}

impl Finding {
    fn warn(check: Check, component: Option<&Component>, message: String) -> Finding {
        Finding {
            severity: Severity::Warning,
            check,
            message,
            component: component.map(|c| c.id),
            span: component.and_then(|c| c.span),
        }
    }
}

/// `Key (Label)`, or just `Key` when the label is the id.
pub fn display_name(c: &Component) -> String {
    if c.label == c.key || c.label.is_empty() {
        c.key.clone()
    } else {
        format!("{} ({})", c.key, c.label)
    }
}

/// Runs the topology checks. Findings come in source order.
pub fn validate(graph: &ArchGraph) -> Vec<Finding> {
    let flow = Flow::of(graph);
    let comps: Vec<&Component> = flow
        .ids
        .iter()
        .filter_map(|&id| graph.component(id))
        .collect();
    debug_assert_eq!(comps.len(), flow.ids.len(), "every id has a component");
    let role = |i: usize| comps.get(i).map_or(Role::External, |c| c.role);
    let isolated = |i: usize| flow.up[i].is_empty() && flow.down[i].is_empty();
    let fed_by = |i: usize, roles: &[Role]| flow.up[i].iter().any(|&j| roles.contains(&role(j)));

    let mut out = Vec::new();
    // Components whose finding already explains why nothing reaches them.
    let mut explained: BTreeSet<usize> = BTreeSet::new();

    for (i, c) in comps.iter().enumerate() {
        let role_classes: Vec<(&str, Role)> = c
            .classes
            .iter()
            .filter_map(|cl| Role::from_class(cl).map(|r| (cl.as_str(), r)))
            .collect();
        if role_classes.iter().any(|&(_, r)| r != c.role) {
            let names: Vec<&str> = role_classes.iter().map(|&(n, _)| n).collect();
            out.push(Finding::warn(
                Check::ConflictingRoleClasses,
                Some(c),
                format!(
                    "{} has role classes {}; the last, {}, wins",
                    display_name(c),
                    names.join(", "),
                    names.last().copied().unwrap_or_default()
                ),
            ));
        }
        if isolated(i) {
            out.push(Finding::warn(
                Check::Isolated,
                Some(c),
                format!(
                    "{} {} is not connected to anything",
                    c.role,
                    display_name(c)
                ),
            ));
            explained.insert(i);
            continue;
        }
        if c.role_reason.source() == ReasonSource::Fallback {
            out.push(Finding::warn(
                Check::UnknownRole,
                Some(c),
                format!(
                    "cannot tell what {} is, so it is treated as external; say what it is with a class, e.g. `{}:::consumer`",
                    display_name(c),
                    c.key
                ),
            ));
        }
        match c.role {
            Role::Consumer if !fed_by(i, &[Role::Bus, Role::Store, Role::DeadLetter]) => {
                out.push(Finding::warn(
                    Check::UnfedConsumer,
                    Some(c),
                    format!(
                        "consumer {} is not fed by any bus, so it never receives events",
                        display_name(c)
                    ),
                ));
                explained.insert(i);
            }
            Role::Projection if !fed_by(i, &[Role::Bus, Role::Store]) => {
                out.push(Finding::warn(
                    Check::ProjectionWithoutInput,
                    Some(c),
                    format!(
                        "projection {} has no input from a bus or event store, so it never updates",
                        display_name(c)
                    ),
                ));
                explained.insert(i);
            }
            Role::Bus => {
                if flow.up[i].is_empty() {
                    out.push(Finding::warn(
                        Check::BusWithoutProducers,
                        Some(c),
                        format!(
                            "nothing publishes to bus {}, so it carries no events",
                            display_name(c)
                        ),
                    ));
                    explained.insert(i);
                }
                if graph.consumers_of(c.id).is_empty() {
                    let types = types_published_to(graph, c.id);
                    let what = if types.is_empty() {
                        String::new()
                    } else {
                        format!(", so nobody processes {}", types.join(", "))
                    };
                    out.push(Finding::warn(
                        Check::BusWithoutConsumers,
                        Some(c),
                        format!(
                            "bus {} feeds no consumer, projection or saga{what}",
                            display_name(c)
                        ),
                    ));
                }
            }
            _ => {}
        }
    }

    extra_registry_check(graph, &mut out);
    event_type_checks(graph, &mut out);
    unreachable_check(&flow, &comps, &explained, &mut out);
    sort_findings(&mut out);
    out
}

/// Event types published into `bus`, in order.
/// Every schema registry after the first (in source order) is ignored by
/// the simulator (`sim::registry` builds one registry, from the first):
/// say so at the node, naming the clients that run without one.
fn extra_registry_check(graph: &ArchGraph, out: &mut Vec<Finding>) {
    let mut registries = graph
        .components()
        .filter(|c| c.role == Role::SchemaRegistry);
    let Some(first) = registries.next() else {
        return;
    };
    for extra in registries {
        let clients: BTreeSet<&str> = graph
            .connections()
            .filter_map(|c| {
                if c.to == extra.id {
                    Some(graph.key_of(c.from))
                } else if c.from == extra.id {
                    Some(graph.key_of(c.to))
                } else {
                    None
                }
            })
            .collect();
        let clients = if clients.is_empty() {
            String::new()
        } else {
            let names: Vec<&str> = clients.into_iter().collect();
            format!(
                "; its connections to {} are ignored (they use no registry unless connected to {})",
                names.join(", "),
                first.key
            )
        };
        out.push(Finding::warn(
            Check::ExtraSchemaRegistry,
            Some(extra),
            format!(
                "schema registry {} is not simulated: a run uses only the first registry, {}{clients}",
                display_name(extra),
                display_name(first)
            ),
        ));
    }
}

fn types_published_to(graph: &ArchGraph, bus: ComponentId) -> Vec<String> {
    let mut types: Vec<String> = Vec::new();
    for c in graph.incoming(bus).into_iter().chain(graph.outgoing(bus)) {
        if c.kind == ConnectionKind::Publish
            && let Some(t) = &c.event_type
            && !types.iter().any(|x| x == t.as_str())
        {
            types.push(t.to_string());
        }
    }
    types
}

fn event_type_checks(graph: &ArchGraph, out: &mut Vec<Finding>) {
    let catalog = graph.event_catalog();
    let bus_has_consumers = |b: &ComponentId| {
        catalog
            .buses
            .get(b)
            .is_some_and(|d| !d.to_all.is_empty() || d.by_type.values().any(|v| !v.is_empty()))
    };
    for info in &catalog.types {
        let t = &info.event;
        let first = |kind: ConnectionKind| {
            info.connections
                .iter()
                .filter_map(|&c| graph.connection(c))
                .find(|c| c.kind == kind)
        };
        let buses = info
            .buses
            .iter()
            .map(|&b| graph.key_of(b))
            .collect::<Vec<_>>()
            .join(", ");
        if info.producers.is_empty() {
            if let Some(c) = first(ConnectionKind::Deliver) {
                out.push(Finding {
                    severity: Severity::Warning,
                    check: Check::UnproducedEventType,
                    message: format!(
                        "event type {t} is subscribed to on {buses} but nothing publishes it"
                    ),
                    component: None,
                    span: c.span,
                });
            }
        } else if catalog.consumer_count(info) == 0
            // A bus with no consumers at all is reported on the bus instead.
            && info.buses.iter().any(bus_has_consumers)
            && let Some(c) = first(ConnectionKind::Publish)
        {
            out.push(Finding {
                severity: Severity::Warning,
                check: Check::UnconsumedEventType,
                message: format!(
                    "event type {t} is published to {buses} but no consumer subscribes to it"
                ),
                component: None,
                span: c.span,
            });
        }
    }
}

/// Components that no event source reaches, reported once per connected
/// cluster, and not when a finding in the cluster already says why.
fn unreachable_check(
    flow: &Flow,
    comps: &[&Component],
    explained: &BTreeSet<usize>,
    out: &mut Vec<Finding>,
) {
    let n = comps.len();
    let mut reached = vec![false; n];
    let mut stack: Vec<usize> = (0..n).filter(|&i| comps[i].role.originates()).collect();
    for &i in &stack {
        reached[i] = true;
    }
    while let Some(i) = stack.pop() {
        for &j in &flow.down[i] {
            if !reached[j] {
                reached[j] = true;
                stack.push(j);
            }
        }
    }
    let lost = |i: usize| {
        !reached[i]
            && comps[i].role != Role::SchemaRegistry
            && !(flow.up[i].is_empty() && flow.down[i].is_empty())
    };
    let mut seen = vec![false; n];
    for start in 0..n {
        if seen[start] || !lost(start) {
            continue;
        }
        // The weakly connected cluster of lost components around `start`.
        let mut cluster = vec![start];
        seen[start] = true;
        let mut at = 0;
        while at < cluster.len() {
            let i = cluster[at];
            at += 1;
            for &j in flow.down[i].iter().chain(&flow.up[i]) {
                if !seen[j] && lost(j) {
                    seen[j] = true;
                    cluster.push(j);
                }
            }
        }
        if cluster.iter().any(|i| explained.contains(i)) {
            continue;
        }
        cluster.sort();
        let first = comps[cluster[0]];
        let what = if cluster.len() == 1 {
            display_name(first)
        } else {
            let names: Vec<&str> = cluster.iter().map(|&i| comps[i].key.as_str()).collect();
            names.join(", ")
        };
        let message =
            format!("no producer, gateway, command handler or external system reaches {what}");
        out.push(Finding::warn(Check::Unreachable, Some(first), message));
    }
}

/// Checks against mermaid.js's default render limits (`maxEdges`,
/// `maxTextSize`). eda-studio accepts larger diagrams; this warns that
/// other Mermaid renderers would refuse them.
pub fn render_limits(graph: &ArchGraph, text: &str) -> Vec<Finding> {
    let mut out = Vec::new();
    let edges = graph.connection_count();
    if edges > MERMAID_MAX_EDGES {
        let span = graph
            .connections()
            .nth(MERMAID_MAX_EDGES)
            .and_then(|c| c.span);
        out.push(Finding {
            severity: Severity::Warning,
            check: Check::TooManyEdgesForMermaid,
            message: format!(
                "the diagram has {edges} connections; mermaid.js renderers refuse more than {MERMAID_MAX_EDGES} (maxEdges), eda-studio accepts it"
            ),
            component: None,
            span,
        });
    }
    // Count like JavaScript's `String.length`, and stop once past the limit.
    let mut units = 0usize;
    let mut over_at = None;
    for (at, ch) in text.char_indices() {
        units += ch.len_utf16();
        if units > MERMAID_MAX_TEXT_SIZE {
            over_at = Some(at);
            break;
        }
    }
    if let Some(at) = over_at {
        let total: usize = units
            + text[at..]
                .chars()
                .skip(1)
                .map(char::len_utf16)
                .sum::<usize>();
        out.push(Finding {
            severity: Severity::Warning,
            check: Check::TooLargeForMermaid,
            message: format!(
                "the diagram is {total} characters long; mermaid.js renderers refuse more than {MERMAID_MAX_TEXT_SIZE} (maxTextSize), eda-studio accepts it"
            ),
            component: None,
            span: Some(Span::new(at, at)),
        });
    }
    out
}

/// Source order (findings without a place first), then by check.
pub(super) fn sort_findings(findings: &mut [Finding]) {
    findings.sort_by_key(|f| (f.span.map(|s| s.start), f.check));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mermaid::ast::BracketShape;
    use crate::model::graph::Shape;

    fn graph(nodes: &[(&str, &str)], edges: &[(&str, &str, &str)]) -> ArchGraph {
        let mut g = ArchGraph::new();
        for (key, label) in nodes {
            g.add_component(key, label).expect("add");
        }
        for (from, to, label) in edges {
            let (a, b) = (g.id_of(from).expect("from"), g.id_of(to).expect("to"));
            g.connect(a, b, label).expect("connect");
        }
        g
    }

    fn checks(g: &ArchGraph) -> Vec<(Check, Option<String>)> {
        validate(g)
            .into_iter()
            .map(|f| (f.check, f.component.map(|c| g.key_of(c).to_string())))
            .collect()
    }

    fn healthy() -> ArchGraph {
        graph(
            &[
                ("P", "Order Service"),
                ("EB", "Kafka"),
                ("C", "Billing Consumer"),
                ("D", "Billing DB"),
            ],
            &[("P", "EB", "OrderPlaced"), ("EB", "C", ""), ("C", "D", "")],
        )
    }

    #[test]
    fn a_healthy_pipeline_has_no_findings() {
        assert_eq!(checks(&healthy()), vec![]);
    }

    #[test]
    fn consumer_that_no_bus_feeds() {
        let mut g = healthy();
        let c = g.add_component("C2", "Audit Consumer").expect("add");
        let d = g.add_component("D2", "Audit DB").expect("add");
        g.connect(c, d, "").expect("connect");
        // Reported as unfed, not again as unreachable.
        assert_eq!(checks(&g), vec![(Check::UnfedConsumer, Some("C2".into()))]);
    }

    #[test]
    fn projection_without_store_or_bus_input() {
        let mut g = healthy();
        let p = g.add_component("RM", "Read Model").expect("add");
        let c = g.id_of("C").expect("C");
        g.connect(c, p, "").expect("connect");
        assert_eq!(
            checks(&g),
            vec![(Check::ProjectionWithoutInput, Some("RM".into()))]
        );
    }

    #[test]
    fn bus_without_producers_or_consumers() {
        let g = graph(
            &[("EB", "Kafka"), ("X", "Kafka Broker")],
            &[("X", "EB", "")],
        );
        let found = checks(&g);
        assert!(found.contains(&(Check::BusWithoutProducers, Some("X".into()))));
        assert!(found.contains(&(Check::BusWithoutConsumers, Some("EB".into()))));
        assert!(found.contains(&(Check::BusWithoutConsumers, Some("X".into()))));
        // The bus explains it: no separate unreachable finding.
        assert!(!found.iter().any(|(c, _)| *c == Check::Unreachable));
    }

    #[test]
    fn bus_without_consumers_names_the_unprocessed_events() {
        let g = graph(
            &[("P", "Orders"), ("EB", "Kafka")],
            &[("P", "EB", "OrderPlaced")],
        );
        let f = validate(&g);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].check, Check::BusWithoutConsumers);
        assert!(f[0].message.contains("OrderPlaced"), "{}", f[0].message);
    }

    #[test]
    fn event_type_nobody_subscribes_to() {
        let g = graph(
            &[("P", "Orders"), ("EB", "Kafka"), ("C", "Billing Consumer")],
            &[
                ("P", "EB", "OrderPlaced"),
                ("P", "EB", "OrderShipped"),
                ("EB", "C", "OrderPlaced"),
            ],
        );
        let f = validate(&g);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].check, Check::UnconsumedEventType);
        assert!(f[0].message.contains("OrderShipped"), "{}", f[0].message);
    }

    #[test]
    fn isolated_component_gets_one_finding() {
        let mut g = healthy();
        g.add_component("Lonely", "Lonely").expect("add");
        assert_eq!(checks(&g), vec![(Check::Isolated, Some("Lonely".into()))]);
    }

    #[test]
    fn unreachable_cluster_is_reported_once() {
        let mut g = healthy();
        let a = g.add_component("A", "Archive").expect("add");
        let b = g.add_component("B", "Cold Storage").expect("add");
        g.set_shape(a, Some(Shape::Bracket(BracketShape::Cylinder)))
            .expect("shape");
        g.set_shape(b, Some(Shape::Bracket(BracketShape::Cylinder)))
            .expect("shape");
        g.connect(a, b, "").expect("connect");
        let f = validate(&g);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].check, Check::Unreachable);
        assert!(f[0].message.ends_with("reaches A, B"), "{}", f[0].message);
    }

    #[test]
    fn unknown_role_and_conflicting_classes() {
        let mut g = healthy();
        let x = g.add_component("X", "Mystery").expect("add");
        let p = g.id_of("P").expect("P");
        g.connect(p, x, "").expect("connect");
        let c = g.id_of("C").expect("C");
        g.set_classes(c, vec!["bus".into(), "consumer".into()])
            .expect("classes");
        assert_eq!(
            checks(&g),
            vec![
                (Check::ConflictingRoleClasses, Some("C".into())),
                (Check::UnknownRole, Some("X".into())),
            ]
        );
    }

    #[test]
    fn render_limits_warn_past_mermaid_defaults() {
        let mut g = ArchGraph::new();
        let a = g.add_component("A", "A").expect("add");
        let b = g.add_component("B", "B").expect("add");
        for _ in 0..=MERMAID_MAX_EDGES {
            g.connect(a, b, "").expect("connect");
        }
        let text = "x".repeat(MERMAID_MAX_TEXT_SIZE);
        let f = render_limits(&g, &text);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].check, Check::TooManyEdgesForMermaid);
        let text = format!("{text}é");
        let f = render_limits(&ArchGraph::new(), &text);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].check, Check::TooLargeForMermaid);
        assert!(
            f[0].message.contains("50001 characters"),
            "{}",
            f[0].message
        );
    }
}

#[cfg(test)]
mod more_tests {
    use super::*;

    #[test]
    fn a_second_schema_registry_is_named_with_its_line() {
        let text = "flowchart LR\n  P[Checkout]:::producer -->|A| K[[Kafka]]\n  K -->|A| B[Billing]:::consumer\n  P -.-> R1[(Registry)]:::schema\n  B -.-> R2[(Second Registry)]:::schema\n";
        let chart = crate::mermaid::parse_flowchart(text).expect("parses");
        let g = ArchGraph::from_flowchart(&chart);
        let findings = validate(&g);
        let found: Vec<&Finding> = findings
            .iter()
            .filter(|f| f.check == Check::ExtraSchemaRegistry)
            .collect();
        let [f] = found.as_slice() else {
            panic!("one finding: {found:?}")
        };
        assert!(
            f.message.contains("R2 (Second Registry) is not simulated"),
            "{}",
            f.message
        );
        assert!(
            f.message.contains("only the first registry, R1 (Registry)"),
            "{}",
            f.message
        );
        assert!(
            f.message.contains("connections to B are ignored"),
            "{}",
            f.message
        );
        let span = f.span.expect("a span");
        let line = text[..span.start].matches('\n').count() + 1;
        assert_eq!(line, 5, "R2 is declared on line 5");
        // One registry: no finding.
        let one = text.replace("R2[(Second Registry)]:::schema", "R1");
        let chart = crate::mermaid::parse_flowchart(&one).expect("parses");
        let g = ArchGraph::from_flowchart(&chart);
        assert!(
            validate(&g)
                .iter()
                .all(|f| f.check != Check::ExtraSchemaRegistry)
        );
    }

    #[test]
    fn event_type_subscribed_to_but_never_published() {
        let mut g = ArchGraph::new();
        let p = g.add_component("P", "Orders").expect("add");
        let eb = g.add_component("EB", "Kafka").expect("add");
        let c = g.add_component("C", "Billing Consumer").expect("add");
        g.connect(p, eb, "OrderPlaced").expect("connect");
        g.connect(eb, c, "OrderCancelled").expect("connect");
        let f = validate(&g);
        let checks: Vec<Check> = f.iter().map(|f| f.check).collect();
        assert_eq!(
            checks,
            [Check::UnconsumedEventType, Check::UnproducedEventType],
            "{f:?}"
        );
        assert!(f[1].message.contains("OrderCancelled"), "{}", f[1].message);
    }
}
