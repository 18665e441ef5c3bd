//! Role inference: which role each component has, and why.
//!
//! The rules, tried in this order for each component; the first that
//! applies decides ([`RoleReason`] records which):
//!
//! 1. **Class.** A role class (`EB:::bus`, `class ES store`, aliases in
//!    [`Role::from_class`]). With several, the last applied wins (Mermaid
//!    applies classes in order); `check` warns about the conflict.
//! 2. **Keyword.** The first entry of the keyword table (`role.rs`) found
//!    in the label as whole words: "Schema Registry", "Dead Letter"/"DLQ",
//!    "Event Store", "Event Bus"/"Kafka"/"Broker", "Saga"/"Process Manager",
//!    "Write Model"/"Command", "Read Model"/"Projection", "Gateway",
//!    "Consumer"/"Indexer"/"Handler"/"Worker", "Producer"/"Publisher",
//!    "External". The label only, not the node id: the label is what the
//!    user reads. Keywords come before shapes so that an "Event Store"
//!    drawn as a cylinder is a store, not a database.
//! 3. **Storage.** A database shape (cylinder, `@{ shape: cyl }` and its
//!    aliases), else the word "Database" or "DB" in the label: a sink.
//! 4. **Topology**, over visible connections following their arrows, and
//!    using only roles decided by the steps before it, in three passes:
//!    - (a) fed by a bus (from rules 1–2) → consumer;
//!    - (b) points at a bus → producer (so a service that both reads from
//!      and writes to the bus is a consumer that publishes);
//!    - (c) nothing leaves it and a consumer or projection feeds it → sink.
//! 5. **Fallback**: external.
//!
//! Rules 1–3 look at the component alone, so a keyword beats topology: the
//! seed's "Write Model" points at the bus yet is a command handler. Each
//! step reads only the results of earlier steps and visits components and
//! connections in id order, so the result does not depend on anything but
//! the graph.
//!
//! After roles, each connection gets its kind (publish into a bus, deliver
//! out of one, plain) and its event type: the trimmed label of a publishing
//! connection, or of a delivering one into a consumer, projection or saga.
//! Unlabelled connections carry no event type; none is invented.

use super::graph::{ArchGraph, Component, ComponentId, ConnectionKind, EventType};
use super::role::{Role, RoleReason, contains_phrase, words};
use std::sync::LazyLock;

/// The keyword tables split into words once.
static KEYWORD_WORDS: LazyLock<Vec<(Vec<String>, &'static str, Role)>> = LazyLock::new(|| {
    super::role::KEYWORDS
        .iter()
        .map(|&(kw, role)| (words(kw), kw, role))
        .collect()
});
static STORAGE_WORDS: LazyLock<Vec<(Vec<String>, &'static str)>> = LazyLock::new(|| {
    super::role::STORAGE_WORDS
        .iter()
        .map(|&kw| (words(kw), kw))
        .collect()
});

/// The first keyword of the table found in a label (split with [`words`]).
pub(super) fn keyword_role(label: &[String]) -> Option<(&'static str, Role)> {
    KEYWORD_WORDS
        .iter()
        .find(|(phrase, _, _)| contains_phrase(label, phrase))
        .map(|&(_, kw, role)| (kw, role))
}

/// The first storage word ("Database", "DB") found in a label.
pub(super) fn storage_word(label: &[String]) -> Option<&'static str> {
    STORAGE_WORDS
        .iter()
        .find(|(phrase, _)| contains_phrase(label, phrase))
        .map(|&(_, kw)| kw)
}

/// Rules 1–3: what the component says about itself.
pub(super) fn intrinsic_role(c: &Component) -> Option<(Role, RoleReason)> {
    if let Some((class, role)) = c
        .classes
        .iter()
        .rev()
        .find_map(|class| Role::from_class(class).map(|r| (class, r)))
    {
        return Some((role, RoleReason::Class(class.clone())));
    }
    let label = words(&c.label);
    if let Some((kw, role)) = keyword_role(&label) {
        return Some((role, RoleReason::Keyword(kw)));
    }
    if let Some(shape) = c.shape.as_ref().filter(|s| s.is_database()) {
        return Some((
            Role::Sink,
            RoleReason::Shape(shape.as_mermaid().to_string()),
        ));
    }
    if let Some(kw) = storage_word(&label) {
        return Some((Role::Sink, RoleReason::Keyword(kw)));
    }
    None
}

/// Visible-flow adjacency over dense positions (components in id order):
/// `(neighbour position)` lists in connection order.
pub(super) struct Flow {
    /// Component ids; position `i` is `ids[i]`.
    pub ids: Vec<ComponentId>,
    /// Where events go from each position.
    pub down: Vec<Vec<usize>>,
    /// Where events come from into each position.
    pub up: Vec<Vec<usize>>,
}

impl Flow {
    pub(super) fn of(graph: &ArchGraph) -> Flow {
        let ids: Vec<ComponentId> = graph.nodes.keys().copied().collect();
        let mut down = vec![Vec::new(); ids.len()];
        let mut up = vec![Vec::new(); ids.len()];
        let pos = |id: ComponentId| ids.binary_search(&id).ok();
        for c in graph.connections() {
            let (Some(a), Some(b)) = (pos(c.from), pos(c.to)) else {
                continue;
            };
            if c.flows_forward() {
                down[a].push(b);
                up[b].push(a);
            }
            if c.flows_backward() {
                down[b].push(a);
                up[a].push(b);
            }
        }
        Flow { ids, down, up }
    }

    /// The position of `id`.
    pub(super) fn pos(&self, id: ComponentId) -> Option<usize> {
        self.ids.binary_search(&id).ok()
    }
}

impl ArchGraph {
    /// Re-derives every role, connection kind and event type (see the
    /// module doc for the rules). Linear in the size of the graph.
    pub(super) fn refresh(&mut self) {
        let flow = Flow::of(self);
        let mut decided: Vec<Option<(Role, RoleReason)>> = flow
            .ids
            .iter()
            .map(|&id| self.component(id).and_then(intrinsic_role))
            .collect();
        let role_at = |decided: &[Option<(Role, RoleReason)>], i: usize| {
            decided.get(i).and_then(|d| d.as_ref()).map(|(r, _)| *r)
        };

        // 4a: fed by a bus → consumer.
        for i in 0..flow.ids.len() {
            if decided[i].is_some() {
                continue;
            }
            if let Some(&bus) = flow.up[i]
                .iter()
                .find(|&&j| role_at(&decided, j) == Some(Role::Bus))
            {
                decided[i] = Some((Role::Consumer, RoleReason::FedByBus(flow.ids[bus])));
            }
        }
        // 4b: points at a bus → producer.
        for i in 0..flow.ids.len() {
            if decided[i].is_some() {
                continue;
            }
            if let Some(&bus) = flow.down[i]
                .iter()
                .find(|&&j| role_at(&decided, j) == Some(Role::Bus))
            {
                decided[i] = Some((Role::Producer, RoleReason::PublishesTo(flow.ids[bus])));
            }
        }
        // 4c: a leaf after a consumer or projection → sink.
        for i in 0..flow.ids.len() {
            if decided[i].is_some() || !flow.down[i].is_empty() {
                continue;
            }
            if let Some(&feeder) = flow.up[i].iter().find(|&&j| {
                matches!(
                    role_at(&decided, j),
                    Some(Role::Consumer | Role::Projection)
                )
            }) {
                decided[i] = Some((Role::Sink, RoleReason::LeafAfter(flow.ids[feeder])));
            }
        }

        for (i, d) in decided.into_iter().enumerate() {
            let (role, reason) = d.unwrap_or((Role::External, RoleReason::Fallback));
            if let Some(c) = self
                .nodes
                .get(&flow.ids[i])
                .and_then(|&ix| self.graph.node_weight_mut(ix))
            {
                c.role = role;
                c.role_reason = reason;
            }
        }

        let roles: Vec<Role> = flow
            .ids
            .iter()
            .map(|&id| self.component(id).map_or(Role::External, |c| c.role))
            .collect();
        let edge_ixs: Vec<_> = self.edges.values().copied().collect();
        for eix in edge_ixs {
            let Some(c) = self.graph.edge_weight_mut(eix) else {
                continue;
            };
            let role_of = |id| flow.pos(id).map_or(Role::External, |p| roles[p]);
            let (from, to) = (role_of(c.from), role_of(c.to));
            let (kind, far) = if !c.flows_forward() {
                (ConnectionKind::Plain, to)
            } else if to == Role::Bus && from != Role::Bus {
                (ConnectionKind::Publish, from)
            } else if from == Role::Bus && to != Role::Bus {
                (ConnectionKind::Deliver, to)
            } else {
                (ConnectionKind::Plain, to)
            };
            let label = c.label.trim();
            let names_event = match kind {
                ConnectionKind::Publish => true,
                ConnectionKind::Deliver => far.consumes_events(),
                ConnectionKind::Plain => false,
            };
            c.kind = kind;
            c.event_type = (names_event && !label.is_empty()).then(|| EventType::new(label));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mermaid::ast::BracketShape;
    use crate::model::graph::Shape;
    use crate::model::role::ReasonSource;

    /// A graph from `(key, label, shape)` nodes and `(from, to, label)` edges.
    fn graph(nodes: &[(&str, &str, Option<Shape>)], edges: &[(&str, &str, &str)]) -> ArchGraph {
        let mut g = ArchGraph::new();
        for (key, label, shape) in nodes {
            let id = g.add_component(key, label).expect("add");
            g.set_shape(id, shape.clone()).expect("shape");
        }
        for (from, to, label) in edges {
            let (a, b) = (g.id_of(from).expect("from"), g.id_of(to).expect("to"));
            g.connect(a, b, label).expect("connect");
        }
        g
    }

    fn role(g: &ArchGraph, key: &str) -> (Role, ReasonSource) {
        let c = g.component_by_key(key).expect("node");
        (c.role, c.role_reason.source())
    }

    const SQ: Option<Shape> = Some(Shape::Bracket(BracketShape::Square));

    #[test]
    fn keyword_beats_shape_for_an_event_store_cylinder() {
        let g = graph(
            &[(
                "ES",
                "Event Store",
                Some(Shape::Bracket(BracketShape::Cylinder)),
            )],
            &[],
        );
        assert_eq!(role(&g, "ES"), (Role::Store, ReasonSource::Keyword));
    }

    #[test]
    fn database_shapes_and_words_are_sinks() {
        let g = graph(
            &[
                ("A", "Orders", Some(Shape::Bracket(BracketShape::Cylinder))),
                ("B", "Orders", Some(Shape::Named("cyl".into()))),
                ("C", "Users DB", SQ),
                ("D", "Orders", Some(Shape::Named("doc".into()))),
            ],
            &[],
        );
        assert_eq!(role(&g, "A"), (Role::Sink, ReasonSource::Shape));
        assert_eq!(role(&g, "B"), (Role::Sink, ReasonSource::Shape));
        assert_eq!(role(&g, "C"), (Role::Sink, ReasonSource::Keyword));
        assert_eq!(role(&g, "D"), (Role::External, ReasonSource::Fallback));
    }

    #[test]
    fn keyword_beats_topology_for_a_write_model_pointing_at_the_bus() {
        let g = graph(
            &[("W", "Write Model", SQ), ("EB", "Kafka", SQ)],
            &[("W", "EB", "")],
        );
        assert_eq!(role(&g, "W"), (Role::Command, ReasonSource::Keyword));
    }

    #[test]
    fn topology_gives_producers_consumers_and_sinks() {
        let g = graph(
            &[
                ("P", "Orders", SQ),
                ("EB", "Broker", SQ),
                ("C", "Billing", SQ),
                ("S", "Ledger", SQ),
                ("X", "Nothing", SQ),
            ],
            &[("P", "EB", "OrderPlaced"), ("EB", "C", ""), ("C", "S", "")],
        );
        assert_eq!(role(&g, "P"), (Role::Producer, ReasonSource::Topology));
        assert_eq!(role(&g, "C"), (Role::Consumer, ReasonSource::Topology));
        assert_eq!(role(&g, "S"), (Role::Sink, ReasonSource::Topology));
        assert_eq!(role(&g, "X"), (Role::External, ReasonSource::Fallback));
        let p = g.component_by_key("P").expect("node P");
        let eb = g.id_of("EB").expect("node EB");
        assert_eq!(p.role_reason, RoleReason::PublishesTo(eb));
    }

    #[test]
    fn a_node_reading_and_writing_the_bus_is_a_consumer() {
        let g = graph(
            &[("EB", "Kafka", SQ), ("E", "Enricher", SQ)],
            &[("EB", "E", ""), ("E", "EB", "Enriched")],
        );
        assert_eq!(role(&g, "E"), (Role::Consumer, ReasonSource::Topology));
        assert_eq!(g.event_types(), vec![EventType::new("Enriched")]);
    }

    #[test]
    fn leaf_after_a_producer_is_not_a_sink() {
        let g = graph(
            &[("P", "Orders", SQ), ("EB", "Kafka", SQ), ("L", "Log", SQ)],
            &[("P", "EB", ""), ("P", "L", "")],
        );
        assert_eq!(role(&g, "L"), (Role::External, ReasonSource::Fallback));
    }

    #[test]
    fn class_overrides_keyword_and_last_class_wins() {
        let mut g = graph(&[("C", "Inventory Consumer", SQ)], &[]);
        let id = g.id_of("C").expect("node C");
        g.set_classes(
            id,
            vec!["bus".into(), "highlight".into(), "read-model".into()],
        )
        .expect("edit");
        assert_eq!(role(&g, "C"), (Role::Projection, ReasonSource::Class));
        // Back to inference when the classes go.
        g.set_classes(id, vec!["highlight".into()]).expect("edit");
        assert_eq!(role(&g, "C"), (Role::Consumer, ReasonSource::Keyword));
    }

    #[test]
    fn invisible_links_are_not_topology() {
        let mut g = graph(
            &[("P", "Orders", SQ), ("EB", "Kafka", SQ)],
            &[("P", "EB", "OrderPlaced")],
        );
        let e = g.connections().next().map(|c| c.id).expect("an edge");
        g.set_stroke(e, crate::mermaid::Stroke::Invisible)
            .expect("edit");
        assert_eq!(role(&g, "P"), (Role::External, ReasonSource::Fallback));
        assert!(g.event_types().is_empty());
    }

    #[test]
    fn labels_become_event_types_only_into_a_bus_or_into_consumers() {
        let g = graph(
            &[
                ("P", "Orders", SQ),
                ("EB", "Kafka", SQ),
                ("ES", "Event Store", SQ),
                ("C", "Billing Consumer", SQ),
                ("D", "Ledger DB", SQ),
            ],
            &[
                ("P", "EB", " OrderPlaced "),
                ("EB", "ES", "append"),
                ("EB", "C", "OrderPlaced"),
                ("C", "D", "write"),
            ],
        );
        let kinds: Vec<_> = g
            .connections()
            .map(|c| {
                (
                    c.kind,
                    c.event_type.as_ref().map(|t| t.as_str().to_string()),
                )
            })
            .collect();
        assert_eq!(
            kinds,
            vec![
                (ConnectionKind::Publish, Some("OrderPlaced".into())),
                (ConnectionKind::Deliver, None),
                (ConnectionKind::Deliver, Some("OrderPlaced".into())),
                (ConnectionKind::Plain, None),
            ]
        );
    }

    #[test]
    fn inference_is_deterministic() {
        let build = || {
            graph(
                &[
                    ("A", "a", SQ),
                    ("EB", "Kafka", SQ),
                    ("EB2", "Broker", SQ),
                    ("B", "b", SQ),
                ],
                &[
                    ("A", "EB", "x"),
                    ("A", "EB2", "y"),
                    ("EB2", "B", ""),
                    ("EB", "B", ""),
                ],
            )
        };
        let (g1, g2) = (build(), build());
        let r1: Vec<_> = g1.components().map(|c| c.role_reason.clone()).collect();
        let r2: Vec<_> = g2.components().map(|c| c.role_reason.clone()).collect();
        assert_eq!(r1, r2);
        // The first bus in connection order is the one named.
        let eb2 = g1.id_of("EB2").expect("node EB2");
        let b = g1.component_by_key("B").expect("node B");
        assert_eq!(b.role_reason, RoleReason::FedByBus(eb2));
    }
}
