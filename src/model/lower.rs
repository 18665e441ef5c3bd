//! Lowering: the semantic [`Flowchart`] into an [`ArchGraph`].
//!
//! Every node becomes a component, every edge a connection, every subgraph
//! a group, in Mermaid's orders, so ids follow the file. Nothing is dropped:
//! attributes the model does not interpret ride along for printing.

use super::graph::{
    ArchGraph, Component, ComponentId, Connection, ConnectionId, ConnectionKind, DiagramMeta,
    EdgeAttrs, Group, GroupId, Shape,
};
use super::role::{Role, RoleReason};
use crate::mermaid::{EdgeRef, Flowchart, Node};
use std::collections::{BTreeMap, BTreeSet};

impl ArchGraph {
    /// Builds the model of a parsed flowchart and infers its roles.
    ///
    /// Infallible: whatever the parser accepted has a model. An edge or
    /// subgraph member naming a node the chart does not list (which the
    /// parser does not produce) gets a bare component or is skipped.
    pub fn from_flowchart(chart: &Flowchart) -> ArchGraph {
        let mut g = ArchGraph::new();
        g.meta = DiagramMeta {
            diagram_type: chart.diagram_type,
            direction: chart.direction,
            class_defs: chart.class_defs.clone(),
            link_style_default: chart.link_style_default.clone(),
            link_interpolate_default: chart.link_interpolate_default.clone(),
            title: chart.title.clone(),
            acc_title: chart.acc_title.clone(),
            acc_descr: chart.acc_descr.clone(),
            ..DiagramMeta::default()
        };
        for node in &chart.nodes {
            if !g.keys.contains_key(node.id.as_str()) {
                g.insert_component(component_of(node));
            }
        }
        for edge in chart.edge_refs() {
            let from = ensure_node(&mut g, edge.from());
            let to = ensure_node(&mut g, edge.to());
            g.insert_connection(connection_of(edge, from, to));
        }
        lower_groups(&mut g, chart);
        g.refresh();
        g
    }
}

fn ensure_node(g: &mut ArchGraph, key: &str) -> ComponentId {
    match g.keys.get(key) {
        Some(&id) => id,
        None => g.insert_component(component_of(&Node {
            id: key.into(),
            label: key.into(),
            ..Node::default()
        })),
    }
}

fn component_of(n: &Node) -> Component {
    Component {
        id: ComponentId::placeholder(),
        key: n.id.to_string(),
        label: n.label.to_string(),
        label_type: n.label_type,
        shape: n.shape.as_deref().map(Shape::from_mermaid),
        styles: (*n.styles).clone(),
        classes: (*n.classes).clone(),
        role: Role::External,
        role_reason: RoleReason::Fallback,
        attrs: (*n.attrs).clone(),
        span: Some(n.span),
    }
}

fn connection_of(e: EdgeRef<'_>, from: ComponentId, to: ComponentId) -> Connection {
    let attrs = e.attrs();
    Connection {
        id: ConnectionId::placeholder(),
        from,
        to,
        label: e.label().to_string(),
        label_type: e.label_type,
        stroke: e.stroke,
        arrow_start: e.arrow_start,
        arrow_end: e.arrow_end,
        kind: ConnectionKind::Plain,
        event_type: None,
        attrs: EdgeAttrs {
            mermaid_id: e.user_defined_id().then(|| e.id().into_owned()),
            length: e.length,
            style: attrs.style.clone(),
            interpolate: attrs.interpolate.clone(),
            classes: attrs.classes.clone(),
            animate: attrs.animate,
            animation: attrs.animation.clone(),
        },
        span: Some(e.span()),
    }
}

/// Subgraphs arrive in closing order, so a nested one always comes before
/// the one around it: a member that names an earlier subgraph is a child
/// group, any other member a component. A component or group belongs to
/// the first subgraph that claims it (Mermaid's rule).
fn lower_groups(g: &mut ArchGraph, chart: &Flowchart) {
    let mut by_key: BTreeMap<&str, GroupId> = BTreeMap::new();
    let mut lowered: Vec<(GroupId, &crate::mermaid::Subgraph)> = Vec::new();
    for s in &chart.subgraphs {
        if by_key.contains_key(s.id.as_str()) {
            continue;
        }
        let id = g.insert_group(Group {
            id: GroupId::placeholder(),
            key: s.id.clone(),
            title: s.title.clone(),
            label_type: s.label_type,
            direction: s.direction,
            members: Vec::new(),
            groups: Vec::new(),
            parent: None,
            classes: s.classes.clone(),
            span: Some(s.span),
        });
        if !s.metadata.is_empty() {
            g.meta.extras.group_metadata.insert(id, s.metadata.clone());
        }
        by_key.insert(s.id.as_str(), id);
        lowered.push((id, s));
    }
    let mut placed: BTreeSet<ComponentId> = BTreeSet::new();
    for (id, s) in lowered {
        let mut members = Vec::new();
        let mut children = Vec::new();
        for m in &s.members {
            if let Some(&child) = by_key.get(m.as_str())
                && child < id
            {
                if g.groups.get(&child).is_some_and(|c| c.parent.is_none()) {
                    children.push(child);
                    if let Some(c) = g.groups.get_mut(&child) {
                        c.parent = Some(id);
                    }
                }
            } else if let Some(&c) = g.keys.get(m.as_str())
                && placed.insert(c)
            {
                members.push(c);
            }
        }
        members.sort();
        children.sort();
        if let Some(group) = g.groups.get_mut(&id) {
            group.members = members;
            group.groups = children;
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::mermaid::{Arrow, Direction, Edge, Id, LabelType, Span, Stroke, Subgraph};

    fn node(id: &str, label: &str, shape: &str) -> Node {
        let at = crate::SEED_DIAGRAM.find(id).unwrap_or_default();
        Node {
            id: id.into(),
            label: label.into(),
            label_type: LabelType::Text,
            shape: Some(shape.to_string().into()),
            span: Span::new(at, at + id.len()),
            ..Node::default()
        }
    }

    /// Adds a plain `-->` edge at `at` to `chart`.
    fn add_edge(chart: &mut Flowchart, (from, to, label): (&str, &str, &str), at: usize) {
        let mut edge = Edge {
            stroke: Stroke::Normal,
            arrow_end: Arrow::Arrow,
            length: 1,
            ..Edge::default()
        };
        edge.set_span(Span::new(at, at + 3));
        chart.add_edge(from, to, label, edge);
    }

    /// The seed diagram as the parser should produce it, built by hand so
    /// the model can be tested without the parser. Node spans are the first
    /// mention of the id, edge spans the `-->` of their line.
    pub(crate) fn seed_flowchart() -> Flowchart {
        let src = crate::SEED_DIAGRAM;
        let line_start = |n: usize| -> usize {
            src.split_inclusive('\n')
                .take(n.saturating_sub(1))
                .map(str::len)
                .sum()
        };
        let arrow_on = |n: usize| -> usize {
            let start = line_start(n);
            start + src[start..].find("-->").unwrap_or_default()
        };
        let nodes = vec![
            node("Producer1", "Order Service", "square"),
            node("EB", "Event Bus - Kafka", "square"),
            node("Producer2", "User Service", "square"),
            node("Producer3", "Payment Service", "square"),
            node("ES", "Event Store", "cylinder"),
            node("Consumer1", "Inventory Consumer", "square"),
            node("Consumer2", "Notification Consumer", "square"),
            node("Consumer3", "Analytics Consumer", "square"),
            node("Consumer4", "Search Indexer", "square"),
            node("InvDB", "Inventory DB", "cylinder"),
            node("Email", "Email / Push", "square"),
            node("DW", "Data Warehouse", "cylinder"),
            node("Elastic", "Elasticsearch", "cylinder"),
            node("WriteModel", "Write Model - Commands", "square"),
            node("ReadModel", "Read Model - Projections", "square"),
            node("ReadDB", "Read DB - Materialized Views", "cylinder"),
            node("API", "API Gateway", "square"),
        ];
        let pairs = [
            ("Producer1", "EB", "OrderCreated", 2),
            ("Producer2", "EB", "UserRegistered", 3),
            ("Producer3", "EB", "PaymentProcessed", 4),
            ("EB", "ES", "", 5),
            ("EB", "Consumer1", "", 6),
            ("EB", "Consumer2", "", 7),
            ("EB", "Consumer3", "", 8),
            ("EB", "Consumer4", "", 9),
            ("Consumer1", "InvDB", "", 10),
            ("Consumer2", "Email", "", 11),
            ("Consumer3", "DW", "", 12),
            ("Consumer4", "Elastic", "", 13),
            ("WriteModel", "EB", "", 15),
            ("EB", "ReadModel", "", 16),
            ("ReadModel", "ReadDB", "", 17),
            ("API", "WriteModel", "", 19),
            ("API", "ReadDB", "", 20),
        ];
        let sub = line_start(14);
        let mut chart = Flowchart {
            direction: Direction::TB,
            nodes,
            subgraphs: vec![Subgraph {
                id: "CQRS".into(),
                title: "CQRS".into(),
                members: ["EB", "ReadDB", "ReadModel", "WriteModel"]
                    .map(Id::from)
                    .to_vec(),
                span: Span::new(sub, sub + 8),
                ..Subgraph::default()
            }],
            ..Flowchart::default()
        };
        for (f, t, l, ln) in pairs {
            add_edge(&mut chart, (f, t, l), arrow_on(ln));
        }
        chart
    }

    fn keys_with(g: &ArchGraph, role: Role) -> Vec<&str> {
        g.components_with_role(role)
            .map(|c| c.key.as_str())
            .collect()
    }

    #[test]
    fn seed_roles_are_inferred_exactly() {
        let g = ArchGraph::from_flowchart(&seed_flowchart());
        assert_eq!(
            keys_with(&g, Role::Producer),
            ["Producer1", "Producer2", "Producer3"]
        );
        assert_eq!(keys_with(&g, Role::Bus), ["EB"]);
        assert_eq!(keys_with(&g, Role::Store), ["ES"]);
        assert_eq!(
            keys_with(&g, Role::Consumer),
            ["Consumer1", "Consumer2", "Consumer3", "Consumer4"]
        );
        assert_eq!(keys_with(&g, Role::Projection), ["ReadModel"]);
        assert_eq!(keys_with(&g, Role::Command), ["WriteModel"]);
        assert_eq!(keys_with(&g, Role::Gateway), ["API"]);
        assert_eq!(
            keys_with(&g, Role::Sink),
            ["InvDB", "Email", "DW", "Elastic", "ReadDB"]
        );
        assert_eq!(g.component_count(), 17);
        let types: Vec<String> = g.event_types().iter().map(|t| t.to_string()).collect();
        assert_eq!(
            types,
            ["OrderCreated", "UserRegistered", "PaymentProcessed"]
        );
    }

    #[test]
    fn seed_topology_queries() {
        let g = ArchGraph::from_flowchart(&seed_flowchart());
        let id = |k: &str| g.id_of(k).expect("seed node");
        let keys = |ids: Vec<ComponentId>| -> Vec<String> {
            ids.into_iter().map(|i| g.key_of(i).to_string()).collect()
        };
        assert_eq!(
            keys(g.consumers_of(id("EB"))),
            [
                "Consumer1",
                "Consumer2",
                "Consumer3",
                "Consumer4",
                "ReadModel"
            ]
        );
        assert_eq!(
            keys(g.publishers_of(id("EB"))),
            ["Producer1", "Producer2", "Producer3", "WriteModel"]
        );
        assert_eq!(keys(g.sinks_of(id("Consumer3"))), ["DW"]);
        assert_eq!(keys(g.sinks_of(id("ReadModel"))), ["ReadDB"]);
        let route = g.event_route(&crate::model::EventType::new("OrderCreated"));
        assert_eq!(keys(route.producers), ["Producer1"]);
        assert_eq!(keys(route.buses), ["EB"]);
        assert_eq!(keys(route.stores), ["ES"]);
        assert_eq!(route.consumers.len(), 5);
    }

    #[test]
    fn seed_group_and_spans() {
        let g = ArchGraph::from_flowchart(&seed_flowchart());
        let cqrs: Vec<&Group> = g.groups().collect();
        assert_eq!(cqrs.len(), 1);
        let members: Vec<&str> = cqrs[0].members.iter().map(|&m| g.key_of(m)).collect();
        assert_eq!(members, ["EB", "WriteModel", "ReadModel", "ReadDB"]);
        assert_eq!(
            g.group_of(g.id_of("ReadDB").expect("ReadDB")),
            Some(cqrs[0].id)
        );
        assert!(g.components().all(|c| c.span.is_some()));
    }

    #[test]
    fn nested_subgraphs_become_nested_groups() {
        let mut chart = seed_flowchart();
        chart.subgraphs = vec![
            Subgraph {
                id: "Inner".into(),
                title: "Inner".into(),
                members: vec!["Consumer1".into()],
                ..Subgraph::default()
            },
            Subgraph {
                id: "Outer".into(),
                title: "Outer".into(),
                members: vec!["Inner".into(), "Consumer2".into(), "Consumer1".into()],
                ..Subgraph::default()
            },
        ];
        let g = ArchGraph::from_flowchart(&chart);
        let groups: Vec<&Group> = g.groups().collect();
        assert_eq!(groups[0].parent, Some(groups[1].id));
        assert_eq!(groups[1].groups, vec![groups[0].id]);
        // Consumer1 stays in the first subgraph that closed around it.
        assert_eq!(groups[1].members.len(), 1);
        assert_eq!(g.top_level_groups().count(), 1);
    }

    #[test]
    fn an_edge_to_an_unlisted_node_gets_a_bare_component() {
        let mut chart = Flowchart::default();
        add_edge(&mut chart, ("A", "B", ""), 0);
        let g = ArchGraph::from_flowchart(&chart);
        assert_eq!(g.component_count(), 2);
        assert_eq!(g.component_by_key("B").map(|b| b.label.as_str()), Some("B"));
    }
}
