//! [`ArchGraph`]: components and connections over petgraph's `StableGraph`,
//! groups beside it, and the mutations a designer needs.
//!
//! Ids ([`ComponentId`], [`ConnectionId`], [`GroupId`]) are our own
//! counters, not petgraph indices: petgraph reuses the slots of removed
//! nodes, and an undo stack or an open inspector must never find its id
//! pointing at a different component. Ids are handed out in creation order,
//! so iterating by id is Mermaid's order (first mention for nodes, creation
//! for edges, closing for subgraphs).
//!
//! Roles, connection kinds and event types are derived: every mutation that
//! can change them re-runs the inference (linear in the graph), so they are
//! never stale. A role the user chose is stored as a role class, the same way
//! the Mermaid file says it, so it survives re-inference and printing.

use super::role::{Role, RoleReason};
use crate::mermaid::ast::BracketShape;
use crate::mermaid::{Arrow, DiagramType, Direction, LabelType, NodeAttrs, Span, Stroke};
use petgraph::Direction as Dir;
use petgraph::stable_graph::{EdgeIndex, NodeIndex, StableDiGraph};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(u32);

        impl $name {
            /// The raw number (creation order within one graph).
            pub fn get(self) -> u32 {
                self.0
            }

            /// A stand-in for an item not inserted yet; insertion assigns the real id.
            pub(super) fn placeholder() -> Self {
                Self(0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($prefix, "{}"), self.0)
            }
        }
    };
}

id_type!(
    /// Identifies a component for the life of its graph; never reused.
    ComponentId,
    "c"
);
id_type!(
    /// Identifies a connection for the life of its graph; never reused.
    ConnectionId,
    "e"
);
id_type!(
    /// Identifies a group (Mermaid subgraph) for the life of its graph; never reused.
    GroupId,
    "g"
);

/// A node shape: one of the bracket syntaxes (whose vertex-type names the
/// parser's [`BracketShape`] owns), or any other `@{ shape: … }` name kept
/// verbatim, so the Mermaid text round-trips.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Shape {
    /// `A[text]`, `A(text)`, `A[(text)]`, ...
    Bracket(BracketShape),
    /// Any other `@{ shape: name }`, verbatim (`cyl`, `doc`, `hex`, ...).
    Named(String),
}

/// `@{ shape: … }` names (and aliases) that draw a database.
const DATABASE_SHAPE_NAMES: &[&str] = &[
    "cyl",
    "cylinder",
    "database",
    "db",
    "das",
    "h-cyl",
    "horizontal-cylinder",
    "lin-cyl",
    "disk",
    "lined-cylinder",
];

impl Shape {
    /// The shape Mermaid's FlowDB reports for `name` (a vertex type or an
    /// `@{shape}` name).
    pub fn from_mermaid(name: &str) -> Shape {
        BracketShape::ALL
            .into_iter()
            .find(|b| b.mermaid_type() == name)
            .map_or_else(|| Shape::Named(name.to_string()), Shape::Bracket)
    }

    /// The name Mermaid's FlowDB uses; inverse of [`Shape::from_mermaid`].
    pub fn as_mermaid(&self) -> &str {
        match self {
            Shape::Bracket(b) => b.mermaid_type(),
            Shape::Named(name) => name,
        }
    }

    /// Whether the shape draws a database (a cylinder of any kind).
    pub fn is_database(&self) -> bool {
        match self {
            Shape::Bracket(BracketShape::Cylinder) => true,
            Shape::Named(name) => DATABASE_SHAPE_NAMES.contains(&name.as_str()),
            _ => false,
        }
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_mermaid())
    }
}

/// An edge's Mermaid attributes that the model carries but does not interpret.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EdgeAttrs {
    /// The user's edge id (`e1@-->`); `None` for Mermaid's automatic ids.
    pub mermaid_id: Option<String>,
    /// 1 for `-->`, 2 for `--->`, ...
    pub length: u8,
    /// `linkStyle` declarations.
    pub style: Vec<String>,
    /// `linkStyle … interpolate X` or `@{ curve: X }`.
    pub interpolate: Option<String>,
    /// Classes applied to the edge.
    pub classes: Vec<String>,
    /// `@{ animate: }`
    pub animate: Option<bool>,
    /// `@{ animation: }`
    pub animation: Option<String>,
}

/// A box on the diagram: a service, the bus, a store, a database, ...
#[derive(Debug, Clone, PartialEq)]
pub struct Component {
    /// Stable model id.
    pub id: ComponentId,
    /// The Mermaid node id (`Producer1`); unique in the graph.
    pub key: String,
    /// The text shown (`Order Service`).
    pub label: String,
    /// How the label is written in Mermaid.
    pub label_type: LabelType,
    /// The shape; `None` for a node that never had brackets.
    pub shape: Option<Shape>,
    /// `style` declarations, in order.
    pub styles: Vec<String>,
    /// Mermaid classes in order of application, role classes included.
    pub classes: Vec<String>,
    /// The role (derived; see [`RoleReason`] for the rules).
    pub role: Role,
    /// Why it has that role.
    pub role_reason: RoleReason,
    /// Other Mermaid attributes, carried for printing.
    pub attrs: NodeAttrs,
    /// Where the node was first mentioned in the source, if it came from one.
    pub span: Option<Span>,
}

/// What a connection means for events (derived from the roles at its ends).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ConnectionKind {
    /// Into a bus from something that is not a bus: publishes events.
    Publish,
    /// Out of a bus to something that is not a bus: delivers events.
    Deliver,
    /// Anything else (calls, writes, queries, bus-to-bus links).
    Plain,
}

/// The name of an event type (`OrderCreated`), from a connection label.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct EventType(String);

impl EventType {
    /// An event type called `name`.
    pub fn new(name: impl Into<String>) -> Self {
        EventType(name.into())
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An arrow between two components.
#[derive(Debug, Clone, PartialEq)]
pub struct Connection {
    /// Stable model id.
    pub id: ConnectionId,
    /// Where it starts.
    pub from: ComponentId,
    /// Where it ends.
    pub to: ComponentId,
    /// The edge label (empty when none).
    pub label: String,
    /// How the label is written in Mermaid.
    pub label_type: LabelType,
    /// Line style.
    pub stroke: Stroke,
    /// Marker at `from`.
    pub arrow_start: Arrow,
    /// Marker at `to`.
    pub arrow_end: Arrow,
    /// Publish / deliver / plain (derived).
    pub kind: ConnectionKind,
    /// The event type the label names, when it names one (derived): the
    /// label of a publishing connection, or of a delivering connection into
    /// a consumer, projection or saga (a subscription to that type).
    pub event_type: Option<EventType>,
    /// Other Mermaid attributes, carried for printing.
    pub attrs: EdgeAttrs,
    /// Where the link is in the source, if it came from one.
    pub span: Option<Span>,
}

impl Connection {
    /// Whether events flow `from` → `to`: every visible link, as drawn.
    pub fn flows_forward(&self) -> bool {
        self.stroke != Stroke::Invisible
    }

    /// Whether events also flow `to` → `from`: visible links with a marker
    /// at the start (`<-->`, `o--o`, `x--x`).
    pub fn flows_backward(&self) -> bool {
        self.stroke != Stroke::Invisible && self.arrow_start != Arrow::None
    }
}

/// A Mermaid subgraph: a titled box around components and other groups.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// Stable model id.
    pub id: GroupId,
    /// The Mermaid subgraph id (`CQRS`, or `subGraph0` when untitled).
    pub key: String,
    /// The title shown.
    pub title: String,
    /// How the title is written in Mermaid.
    pub label_type: LabelType,
    /// `direction` inside the subgraph, if any.
    pub direction: Option<Direction>,
    /// Components directly inside, in order.
    pub members: Vec<ComponentId>,
    /// Groups directly inside, in order.
    pub groups: Vec<GroupId>,
    /// The group this one is inside, if any.
    pub parent: Option<GroupId>,
    /// Classes applied to the subgraph.
    pub classes: Vec<String>,
    /// Where the `subgraph` keyword is, if it came from source.
    pub span: Option<Span>,
}

/// Diagram-level Mermaid settings, carried for printing.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DiagramMeta {
    /// `flowchart-v2` or `flowchart-elk`.
    pub diagram_type: DiagramType,
    /// Graph direction.
    pub direction: Direction,
    /// `classDef name styles`, by name.
    pub class_defs: BTreeMap<String, Vec<String>>,
    /// `linkStyle default …` styles.
    pub link_style_default: Option<Vec<String>>,
    /// `linkStyle default interpolate X`.
    pub link_interpolate_default: Option<String>,
    /// Frontmatter `title:`.
    pub title: Option<String>,
    /// `accTitle:`
    pub acc_title: Option<String>,
    /// `accDescr:`
    pub acc_descr: Option<String>,
    /// What the file holds that the model does not interpret (comments,
    /// frontmatter, `click` statements, …), kept for saving; see
    /// [`super::file`]. Empty unless the model came from [`super::file::open`].
    pub extras: super::file::FileExtras,
}

/// What went wrong with a model edit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    /// The component id is not (or no longer) in the graph.
    #[error("no component {0} in the diagram")]
    UnknownComponent(ComponentId),
    /// The connection id is not (or no longer) in the graph.
    #[error("no connection {0} in the diagram")]
    UnknownConnection(ConnectionId),
    /// The group id is not (or no longer) in the graph.
    #[error("no group {0} in the diagram")]
    UnknownGroup(GroupId),
    /// Another component or group already has this Mermaid id.
    #[error("the id `{0}` is already used in the diagram")]
    DuplicateKey(String),
    /// The text cannot be a Mermaid node or subgraph id.
    #[error("`{key}` cannot be a Mermaid id: {why}")]
    InvalidKey {
        /// The rejected id.
        key: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// Restoring an item whose id is taken (it was restored already).
    #[error("{0} is already in the diagram")]
    IdInUse(String),
    /// Putting a group inside itself or one of its descendants.
    #[error("group {0} cannot be moved inside itself")]
    GroupCycle(GroupId),
}

/// A component taken out by [`ArchGraph::remove_component`], with what was
/// attached to it, so that [`ArchGraph::restore_component`] can undo.
#[derive(Debug, Clone, PartialEq)]
pub struct RemovedComponent {
    /// The component as it was.
    pub component: Component,
    /// Its connections (both directions), in id order.
    pub connections: Vec<Connection>,
    /// The group it was in.
    pub group: Option<GroupId>,
}

/// Lowercase words that start Mermaid statements and so cannot be ids.
const RESERVED_KEYS: &[&str] = &[
    "end",
    "graph",
    "flowchart",
    "flowchart-elk",
    "subgraph",
    "style",
    "class",
    "classDef",
    "click",
    "linkStyle",
    "direction",
];

/// Checks that `key` can be written as a Mermaid node or subgraph id.
pub fn check_key(key: &str) -> Result<(), ModelError> {
    let invalid = |why| {
        Err(ModelError::InvalidKey {
            key: key.to_string(),
            why,
        })
    };
    if key.is_empty() {
        return invalid("it is empty");
    }
    if !key
        .chars()
        .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
    {
        return invalid("use letters, digits, `_` and `-` only");
    }
    if key.starts_with('-') {
        return invalid("it cannot start with `-`");
    }
    if RESERVED_KEYS.contains(&key) {
        return invalid("it is a Mermaid keyword");
    }
    if !crate::mermaid::is_plain_id(key) && !reads_back_as_id(key) {
        return invalid(
            "Mermaid would read part of it as a keyword (`end-…`, `1class`, `_self`, …)",
        );
    }
    Ok(())
}

/// Whether `key`, written where a saved file writes ids (a declaration
/// with a class, both ends of a link), parses back as that one node.
/// [`crate::mermaid::is_plain_id`] is a quick yes for ordinary ids; this
/// settles the rest (`classifier`, `Dé`, …) with the parser itself.
fn reads_back_as_id(key: &str) -> bool {
    let text = format!("flowchart TB\n{key}[x]:::c\n{key} --> {key}\nclass {key} d\n");
    crate::mermaid::parse_flowchart(&text)
        .is_ok_and(|chart| chart.nodes.len() == 1 && chart.nodes[0].id == key)
}

/// The architecture: components and connections in a petgraph
/// `StableDiGraph`, groups beside it, and diagram settings.
///
/// Read it with the accessors and topology queries; change it only with the
/// mutation methods, which keep ids, keys, groups and derived roles
/// consistent.
#[derive(Debug, Clone, Default)]
pub struct ArchGraph {
    pub(super) graph: StableDiGraph<Component, Connection>,
    pub(super) nodes: BTreeMap<ComponentId, NodeIndex>,
    pub(super) edges: BTreeMap<ConnectionId, EdgeIndex>,
    pub(super) keys: BTreeMap<String, ComponentId>,
    pub(super) groups: BTreeMap<GroupId, Group>,
    pub(super) next_component: u32,
    pub(super) next_connection: u32,
    pub(super) next_group: u32,
    /// Diagram-level Mermaid settings (direction, classDefs, title, ...).
    pub meta: DiagramMeta,
}

impl ArchGraph {
    /// An empty diagram.
    pub fn new() -> Self {
        Self::default()
    }

    // ----- reading -------------------------------------------------------

    /// The underlying petgraph, for graph algorithms. Node and edge weights
    /// are the components and connections; indices are not stable ids.
    pub fn petgraph(&self) -> &StableDiGraph<Component, Connection> {
        &self.graph
    }

    /// The petgraph index of a component.
    pub fn node_index(&self, id: ComponentId) -> Option<NodeIndex> {
        self.nodes.get(&id).copied()
    }

    /// Number of components.
    pub fn component_count(&self) -> usize {
        self.nodes.len()
    }

    /// Number of connections.
    pub fn connection_count(&self) -> usize {
        self.edges.len()
    }

    /// The component with `id`.
    pub fn component(&self, id: ComponentId) -> Option<&Component> {
        self.nodes
            .get(&id)
            .and_then(|&ix| self.graph.node_weight(ix))
    }

    /// The component whose Mermaid id is `key`.
    pub fn component_by_key(&self, key: &str) -> Option<&Component> {
        self.keys.get(key).and_then(|&id| self.component(id))
    }

    /// The id of the component whose Mermaid id is `key`.
    pub fn id_of(&self, key: &str) -> Option<ComponentId> {
        self.keys.get(key).copied()
    }

    /// All components, in creation (Mermaid first-mention) order.
    pub fn components(&self) -> impl Iterator<Item = &Component> + '_ {
        self.nodes
            .values()
            .filter_map(|&ix| self.graph.node_weight(ix))
    }

    /// Components with `role`, in order.
    pub fn components_with_role(&self, role: Role) -> impl Iterator<Item = &Component> + '_ {
        self.components().filter(move |c| c.role == role)
    }

    /// The connection with `id`.
    pub fn connection(&self, id: ConnectionId) -> Option<&Connection> {
        self.edges
            .get(&id)
            .and_then(|&ix| self.graph.edge_weight(ix))
    }

    /// All connections, in creation (Mermaid edge) order.
    pub fn connections(&self) -> impl Iterator<Item = &Connection> + '_ {
        self.edges
            .values()
            .filter_map(|&ix| self.graph.edge_weight(ix))
    }

    /// The group with `id`.
    pub fn group(&self, id: GroupId) -> Option<&Group> {
        self.groups.get(&id)
    }

    /// All groups, in creation (Mermaid closing) order.
    pub fn groups(&self) -> impl Iterator<Item = &Group> + '_ {
        self.groups.values()
    }

    /// Groups not inside another group, in order.
    pub fn top_level_groups(&self) -> impl Iterator<Item = &Group> + '_ {
        self.groups.values().filter(|g| g.parent.is_none())
    }

    /// The group a component is directly inside.
    pub fn group_of(&self, id: ComponentId) -> Option<GroupId> {
        self.groups
            .values()
            .find(|g| g.members.contains(&id))
            .map(|g| g.id)
    }

    /// The Mermaid id of a component (`?` if it is gone), for messages.
    pub fn key_of(&self, id: ComponentId) -> &str {
        self.component(id).map_or("?", |c| c.key.as_str())
    }

    // ----- topology ------------------------------------------------------

    /// Connections leaving `id` (as drawn), in id order.
    pub fn outgoing(&self, id: ComponentId) -> Vec<&Connection> {
        self.touching(id, Dir::Outgoing)
    }

    /// Connections arriving at `id` (as drawn), in id order.
    pub fn incoming(&self, id: ComponentId) -> Vec<&Connection> {
        self.touching(id, Dir::Incoming)
    }

    fn touching(&self, id: ComponentId, dir: Dir) -> Vec<&Connection> {
        let Some(&ix) = self.nodes.get(&id) else {
            return Vec::new();
        };
        let mut out: Vec<&Connection> = self
            .graph
            .edges_directed(ix, dir)
            .map(|e| e.weight())
            .collect();
        out.sort_by_key(|c| c.id);
        out
    }

    /// Where events flow from `id`: the other ends of its visible
    /// connections, following arrows (`<-->` both ways), deduplicated, in
    /// connection order. Each comes with the first connection that leads there.
    pub fn downstream_links(&self, id: ComponentId) -> Vec<(ConnectionId, ComponentId)> {
        let mut out: Vec<(ConnectionId, ComponentId)> = Vec::new();
        for c in self.outgoing(id) {
            if c.flows_forward() {
                out.push((c.id, c.to));
            }
        }
        for c in self.incoming(id) {
            if c.flows_backward() {
                out.push((c.id, c.from));
            }
        }
        dedup_links(out)
    }

    /// Where events flow into `id` from; the mirror of [`ArchGraph::downstream_links`].
    pub fn upstream_links(&self, id: ComponentId) -> Vec<(ConnectionId, ComponentId)> {
        let mut out: Vec<(ConnectionId, ComponentId)> = Vec::new();
        for c in self.incoming(id) {
            if c.flows_forward() {
                out.push((c.id, c.from));
            }
        }
        for c in self.outgoing(id) {
            if c.flows_backward() {
                out.push((c.id, c.to));
            }
        }
        dedup_links(out)
    }

    /// Components events flow to from `id`, in connection order.
    pub fn downstream(&self, id: ComponentId) -> Vec<ComponentId> {
        self.downstream_links(id)
            .into_iter()
            .map(|(_, c)| c)
            .collect()
    }

    /// Components events flow from into `id`, in connection order.
    pub fn upstream(&self, id: ComponentId) -> Vec<ComponentId> {
        self.upstream_links(id)
            .into_iter()
            .map(|(_, c)| c)
            .collect()
    }

    /// Downstream components that have `role`.
    pub fn downstream_with_role(&self, id: ComponentId, role: Role) -> Vec<ComponentId> {
        self.downstream_where(id, |r| r == role)
    }

    /// Upstream components that have `role`.
    pub fn upstream_with_role(&self, id: ComponentId, role: Role) -> Vec<ComponentId> {
        self.upstream(id)
            .into_iter()
            .filter(|&c| self.component(c).is_some_and(|c| c.role == role))
            .collect()
    }

    fn downstream_where(&self, id: ComponentId, keep: impl Fn(Role) -> bool) -> Vec<ComponentId> {
        self.downstream(id)
            .into_iter()
            .filter(|&c| self.component(c).is_some_and(|c| keep(c.role)))
            .collect()
    }

    /// The consumers a bus feeds: downstream consumers, projections and sagas.
    pub fn consumers_of(&self, bus: ComponentId) -> Vec<ComponentId> {
        self.downstream_where(bus, Role::consumes_events)
    }

    /// Everything that publishes into a bus (any role), in connection order.
    pub fn publishers_of(&self, bus: ComponentId) -> Vec<ComponentId> {
        self.upstream(bus)
    }

    /// The sinks a component writes to.
    pub fn sinks_of(&self, id: ComponentId) -> Vec<ComponentId> {
        self.downstream_with_role(id, Role::Sink)
    }

    /// The buses a component is fed by.
    pub fn buses_feeding(&self, id: ComponentId) -> Vec<ComponentId> {
        self.upstream_with_role(id, Role::Bus)
    }

    /// Every event type named in the diagram, in order of first appearance.
    pub fn event_types(&self) -> Vec<EventType> {
        let mut seen = std::collections::BTreeSet::new();
        self.connections()
            .filter_map(|c| c.event_type.as_ref())
            .filter(|t| seen.insert(*t))
            .cloned()
            .collect()
    }

    /// Who produces an event type, which buses carry it, and who receives
    /// it (see [`EventCatalog`] for the rules). Empty if no connection names it.
    pub fn event_route(&self, event: &EventType) -> EventRoute {
        let catalog = self.event_catalog();
        catalog
            .types
            .iter()
            .find(|t| &t.event == event)
            .map(|t| catalog.route(t))
            .unwrap_or_default()
    }

    /// Every event type and what every bus delivers, in one pass.
    pub fn event_catalog(&self) -> EventCatalog {
        let role = |id| self.component(id).map_or(Role::External, |c| c.role);
        let mut index: BTreeMap<&EventType, usize> = BTreeMap::new();
        let mut types: Vec<EventTypeInfo> = Vec::new();
        let mut buses: BTreeMap<ComponentId, BusDeliveries> = BTreeMap::new();
        for c in self.connections() {
            // Kinds are oriented: a publish ends at the bus, a delivery starts there.
            if c.kind == ConnectionKind::Deliver {
                let d = buses.entry(c.from).or_default();
                let target = role(c.to);
                if target.consumes_events() {
                    match &c.event_type {
                        None => d.to_all.push(c.to),
                        Some(t) => d.by_type.entry(t.clone()).or_default().push(c.to),
                    }
                } else if target == Role::Store {
                    d.stores.push(c.to);
                }
            }
            let Some(t) = &c.event_type else {
                continue;
            };
            let i = *index.entry(t).or_insert_with(|| {
                types.push(EventTypeInfo {
                    event: t.clone(),
                    producers: Vec::new(),
                    buses: Vec::new(),
                    connections: Vec::new(),
                });
                types.len() - 1
            });
            let info = &mut types[i];
            info.connections.push(c.id);
            match c.kind {
                ConnectionKind::Publish => {
                    info.producers.push(c.from);
                    info.buses.push(c.to);
                }
                ConnectionKind::Deliver => info.buses.push(c.from),
                ConnectionKind::Plain => {}
            }
        }
        for info in &mut types {
            dedup_in_order(&mut info.producers);
            dedup_in_order(&mut info.buses);
        }
        for d in buses.values_mut() {
            dedup_in_order(&mut d.to_all);
            dedup_in_order(&mut d.stores);
            // Whoever gets everything does not also need a subscription.
            let all: std::collections::BTreeSet<ComponentId> = d.to_all.iter().copied().collect();
            for subs in d.by_type.values_mut() {
                dedup_in_order(subs);
                subs.retain(|c| !all.contains(c));
            }
        }
        EventCatalog { types, buses }
    }

    // ----- editing components -------------------------------------------

    /// A Mermaid id not used yet: `base` if free, else `base2`, `base3`, ...
    /// Characters that cannot be in an id are dropped; `Node` if none remain.
    pub fn unique_key(&self, base: &str) -> String {
        let mut stem: String = base
            .chars()
            .filter(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if stem.is_empty() || check_key(&stem).is_err() {
            stem = format!("Node{stem}");
        }
        if !self.key_taken(&stem) {
            return stem;
        }
        (2u64..)
            .map(|n| format!("{stem}{n}"))
            .find(|k| !self.key_taken(k))
            .unwrap_or(stem)
    }

    fn key_taken(&self, key: &str) -> bool {
        self.keys.contains_key(key) || self.groups.values().any(|g| g.key == key)
    }

    /// Adds a component with Mermaid id `key`, shown as `label`, drawn as a
    /// rectangle. Its role is inferred until one is set.
    pub fn add_component(&mut self, key: &str, label: &str) -> Result<ComponentId, ModelError> {
        check_key(key)?;
        if self.key_taken(key) {
            return Err(ModelError::DuplicateKey(key.to_string()));
        }
        let id = self.insert_component(Component {
            id: ComponentId(0),
            key: key.to_string(),
            label: label.to_string(),
            label_type: LabelType::Text,
            shape: Some(Shape::Bracket(BracketShape::Square)),
            styles: Vec::new(),
            classes: Vec::new(),
            role: Role::External,
            role_reason: RoleReason::Fallback,
            attrs: NodeAttrs::default(),
            span: None,
        });
        self.refresh();
        Ok(id)
    }

    /// Inserts a component as given, with the next id; no checks, no refresh.
    pub(super) fn insert_component(&mut self, mut component: Component) -> ComponentId {
        let id = ComponentId(self.next_component);
        self.next_component += 1;
        component.id = id;
        self.keys.insert(component.key.clone(), id);
        let ix = self.graph.add_node(component);
        self.nodes.insert(id, ix);
        id
    }

    /// Removes a component and its connections. Keep the result to undo
    /// with [`ArchGraph::restore_component`].
    pub fn remove_component(&mut self, id: ComponentId) -> Result<RemovedComponent, ModelError> {
        let ix = *self
            .nodes
            .get(&id)
            .ok_or(ModelError::UnknownComponent(id))?;
        let mut attached: Vec<ConnectionId> = self
            .graph
            .edges_directed(ix, Dir::Outgoing)
            .chain(self.graph.edges_directed(ix, Dir::Incoming))
            .map(|e| e.weight().id)
            .collect();
        attached.sort();
        attached.dedup();
        let mut connections = Vec::with_capacity(attached.len());
        for cid in attached {
            if let Some(eix) = self.edges.remove(&cid)
                && let Some(c) = self.graph.remove_edge(eix)
            {
                connections.push(c);
            }
        }
        let group = self.group_of(id);
        for g in self.groups.values_mut() {
            g.members.retain(|&m| m != id);
        }
        self.nodes.remove(&id);
        let component = self
            .graph
            .remove_node(ix)
            .ok_or(ModelError::UnknownComponent(id))?;
        self.keys.remove(&component.key);
        self.refresh();
        Ok(RemovedComponent {
            component,
            connections,
            group,
        })
    }

    /// Puts back a removed component with its id, connections and group.
    /// Connections to components that are gone since are left out; the
    /// group is skipped if it is gone.
    pub fn restore_component(&mut self, removed: RemovedComponent) -> Result<(), ModelError> {
        let RemovedComponent {
            component,
            connections,
            group,
        } = removed;
        let id = component.id;
        if self.nodes.contains_key(&id) {
            return Err(ModelError::IdInUse(id.to_string()));
        }
        check_key(&component.key)?;
        if self.key_taken(&component.key) {
            return Err(ModelError::DuplicateKey(component.key));
        }
        self.next_component = self.next_component.max(id.0 + 1);
        self.keys.insert(component.key.clone(), id);
        let ix = self.graph.add_node(component);
        self.nodes.insert(id, ix);
        for c in connections {
            if self.nodes.contains_key(&c.from)
                && self.nodes.contains_key(&c.to)
                && !self.edges.contains_key(&c.id)
            {
                self.insert_connection_with_id(c);
            }
        }
        if let Some(g) = group.and_then(|g| self.groups.get_mut(&g)) {
            g.members.push(id);
            g.members.sort();
        }
        self.refresh();
        Ok(())
    }

    fn component_mut(&mut self, id: ComponentId) -> Result<&mut Component, ModelError> {
        self.nodes
            .get(&id)
            .and_then(|&ix| self.graph.node_weight_mut(ix))
            .ok_or(ModelError::UnknownComponent(id))
    }

    /// Changes a component's Mermaid id. Returns the old one.
    pub fn rename_component(&mut self, id: ComponentId, key: &str) -> Result<String, ModelError> {
        check_key(key)?;
        let old = self
            .component(id)
            .ok_or(ModelError::UnknownComponent(id))?
            .key
            .clone();
        if old == key {
            return Ok(old);
        }
        if self.key_taken(key) {
            return Err(ModelError::DuplicateKey(key.to_string()));
        }
        self.component_mut(id)?.key = key.to_string();
        self.keys.remove(&old);
        self.keys.insert(key.to_string(), id);
        Ok(old)
    }

    /// Changes the text shown. Returns the old label. Re-infers roles.
    pub fn set_label(&mut self, id: ComponentId, label: &str) -> Result<String, ModelError> {
        let c = self.component_mut(id)?;
        let old = std::mem::replace(&mut c.label, label.to_string());
        self.refresh();
        Ok(old)
    }

    /// Changes the shape (`None`: no brackets). Returns the old one. Re-infers roles.
    pub fn set_shape(
        &mut self,
        id: ComponentId,
        shape: Option<Shape>,
    ) -> Result<Option<Shape>, ModelError> {
        let c = self.component_mut(id)?;
        let old = std::mem::replace(&mut c.shape, shape);
        self.refresh();
        Ok(old)
    }

    /// Replaces the `style` declarations. Returns the old ones.
    pub fn set_styles(
        &mut self,
        id: ComponentId,
        styles: Vec<String>,
    ) -> Result<Vec<String>, ModelError> {
        let c = self.component_mut(id)?;
        Ok(std::mem::replace(&mut c.styles, styles))
    }

    /// Replaces the classes (role classes included). Returns the old ones.
    /// Re-infers roles.
    pub fn set_classes(
        &mut self,
        id: ComponentId,
        classes: Vec<String>,
    ) -> Result<Vec<String>, ModelError> {
        let c = self.component_mut(id)?;
        let old = std::mem::replace(&mut c.classes, classes);
        self.refresh();
        Ok(old)
    }

    /// Fixes the role (`Some`) or returns it to inference (`None`).
    ///
    /// The choice is written as the role's canonical class (replacing any
    /// other role class), as a user would write `Consumer1:::projection`,
    /// so it survives re-inference and printing. Returns the old classes,
    /// which [`ArchGraph::set_classes`] takes to undo.
    pub fn set_role(
        &mut self,
        id: ComponentId,
        role: Option<Role>,
    ) -> Result<Vec<String>, ModelError> {
        let c = self.component_mut(id)?;
        let old = c.classes.clone();
        c.classes.retain(|class| Role::from_class(class).is_none());
        if let Some(role) = role {
            c.classes.push(role.class_name().to_string());
        }
        self.refresh();
        Ok(old)
    }

    // ----- editing connections ------------------------------------------

    /// Connects `from` to `to` with a plain arrow (`-->`), labelled `label`
    /// unless it is empty.
    pub fn connect(
        &mut self,
        from: ComponentId,
        to: ComponentId,
        label: &str,
    ) -> Result<ConnectionId, ModelError> {
        for id in [from, to] {
            if !self.nodes.contains_key(&id) {
                return Err(ModelError::UnknownComponent(id));
            }
        }
        let id = self.insert_connection(Connection {
            id: ConnectionId(0),
            from,
            to,
            label: label.to_string(),
            label_type: LabelType::Text,
            stroke: Stroke::Normal,
            arrow_start: Arrow::None,
            arrow_end: Arrow::Arrow,
            kind: ConnectionKind::Plain,
            event_type: None,
            attrs: EdgeAttrs {
                length: 1,
                ..EdgeAttrs::default()
            },
            span: None,
        });
        self.refresh();
        Ok(id)
    }

    /// Inserts a connection with the next id; the ends must exist. No refresh.
    pub(super) fn insert_connection(&mut self, mut connection: Connection) -> ConnectionId {
        connection.id = ConnectionId(self.next_connection);
        self.next_connection += 1;
        let id = connection.id;
        self.insert_connection_with_id(connection);
        id
    }

    fn insert_connection_with_id(&mut self, connection: Connection) {
        let (Some(&a), Some(&b)) = (
            self.nodes.get(&connection.from),
            self.nodes.get(&connection.to),
        ) else {
            debug_assert!(false, "connection ends must exist before insertion");
            return;
        };
        self.next_connection = self.next_connection.max(connection.id.0 + 1);
        let id = connection.id;
        let eix = self.graph.add_edge(a, b, connection);
        self.edges.insert(id, eix);
    }

    /// Removes a connection and returns it (undo with [`ArchGraph::restore_connection`]).
    pub fn disconnect(&mut self, id: ConnectionId) -> Result<Connection, ModelError> {
        let eix = self
            .edges
            .remove(&id)
            .ok_or(ModelError::UnknownConnection(id))?;
        let c = self
            .graph
            .remove_edge(eix)
            .ok_or(ModelError::UnknownConnection(id))?;
        self.refresh();
        Ok(c)
    }

    /// Puts back a removed connection with its id.
    pub fn restore_connection(&mut self, connection: Connection) -> Result<(), ModelError> {
        if self.edges.contains_key(&connection.id) {
            return Err(ModelError::IdInUse(connection.id.to_string()));
        }
        for id in [connection.from, connection.to] {
            if !self.nodes.contains_key(&id) {
                return Err(ModelError::UnknownComponent(id));
            }
        }
        self.insert_connection_with_id(connection);
        self.refresh();
        Ok(())
    }

    fn connection_mut(&mut self, id: ConnectionId) -> Result<&mut Connection, ModelError> {
        self.edges
            .get(&id)
            .and_then(|&ix| self.graph.edge_weight_mut(ix))
            .ok_or(ModelError::UnknownConnection(id))
    }

    /// Changes a connection's label (an event type on a publishing
    /// connection). Returns the old label.
    pub fn set_connection_label(
        &mut self,
        id: ConnectionId,
        label: &str,
    ) -> Result<String, ModelError> {
        let c = self.connection_mut(id)?;
        let old = std::mem::replace(&mut c.label, label.to_string());
        self.refresh();
        Ok(old)
    }

    /// Changes the line style. Returns the old one.
    pub fn set_stroke(&mut self, id: ConnectionId, stroke: Stroke) -> Result<Stroke, ModelError> {
        let c = self.connection_mut(id)?;
        let old = std::mem::replace(&mut c.stroke, stroke);
        self.refresh();
        Ok(old)
    }

    /// Changes the end markers (`start`, `end`). Returns the old ones.
    pub fn set_arrows(
        &mut self,
        id: ConnectionId,
        start: Arrow,
        end: Arrow,
    ) -> Result<(Arrow, Arrow), ModelError> {
        let c = self.connection_mut(id)?;
        let old = (c.arrow_start, c.arrow_end);
        c.arrow_start = start;
        c.arrow_end = end;
        self.refresh();
        Ok(old)
    }

    // ----- editing groups -----------------------------------------------

    /// Adds an empty top-level group with subgraph id `key` and `title`.
    pub fn add_group(&mut self, key: &str, title: &str) -> Result<GroupId, ModelError> {
        check_key(key)?;
        if self.key_taken(key) {
            return Err(ModelError::DuplicateKey(key.to_string()));
        }
        Ok(self.insert_group(Group {
            id: GroupId(0),
            key: key.to_string(),
            title: title.to_string(),
            label_type: LabelType::Text,
            direction: None,
            members: Vec::new(),
            groups: Vec::new(),
            parent: None,
            classes: Vec::new(),
            span: None,
        }))
    }

    /// Inserts a group with the next id, as given; no checks.
    pub(super) fn insert_group(&mut self, mut group: Group) -> GroupId {
        let id = GroupId(self.next_group);
        self.next_group += 1;
        group.id = id;
        self.groups.insert(id, group);
        id
    }

    /// Removes a group; what was inside moves to its parent (or to the top level).
    pub fn remove_group(&mut self, id: GroupId) -> Result<Group, ModelError> {
        let group = self
            .groups
            .remove(&id)
            .ok_or(ModelError::UnknownGroup(id))?;
        for child in &group.groups {
            if let Some(c) = self.groups.get_mut(child) {
                c.parent = group.parent;
            }
        }
        if let Some(parent) = group.parent.and_then(|p| self.groups.get_mut(&p)) {
            parent.groups.retain(|&g| g != id);
            parent.groups.extend(group.groups.iter().copied());
            parent.members.extend(group.members.iter().copied());
            parent.members.sort();
            parent.groups.sort();
        }
        Ok(group)
    }

    /// Changes a group's title. Returns the old one.
    pub fn set_group_title(&mut self, id: GroupId, title: &str) -> Result<String, ModelError> {
        let g = self
            .groups
            .get_mut(&id)
            .ok_or(ModelError::UnknownGroup(id))?;
        Ok(std::mem::replace(&mut g.title, title.to_string()))
    }

    /// Moves a component into a group (`None`: out of any group). Returns
    /// the group it was in.
    pub fn move_to_group(
        &mut self,
        id: ComponentId,
        group: Option<GroupId>,
    ) -> Result<Option<GroupId>, ModelError> {
        if !self.nodes.contains_key(&id) {
            return Err(ModelError::UnknownComponent(id));
        }
        if let Some(g) = group
            && !self.groups.contains_key(&g)
        {
            return Err(ModelError::UnknownGroup(g));
        }
        let old = self.group_of(id);
        for g in self.groups.values_mut() {
            g.members.retain(|&m| m != id);
        }
        if let Some(g) = group.and_then(|g| self.groups.get_mut(&g)) {
            g.members.push(id);
            g.members.sort();
        }
        Ok(old)
    }

    /// Nests a group inside another (`None`: top level). Returns the old parent.
    pub fn set_group_parent(
        &mut self,
        id: GroupId,
        parent: Option<GroupId>,
    ) -> Result<Option<GroupId>, ModelError> {
        let old = self
            .groups
            .get(&id)
            .ok_or(ModelError::UnknownGroup(id))?
            .parent;
        if let Some(p) = parent {
            if !self.groups.contains_key(&p) {
                return Err(ModelError::UnknownGroup(p));
            }
            // Walk up from the new parent; meeting `id` means a cycle.
            let mut at = Some(p);
            while let Some(g) = at {
                if g == id {
                    return Err(ModelError::GroupCycle(id));
                }
                at = self.groups.get(&g).and_then(|g| g.parent);
            }
        }
        if let Some(o) = old.and_then(|o| self.groups.get_mut(&o)) {
            o.groups.retain(|&g| g != id);
        }
        if let Some(p) = parent.and_then(|p| self.groups.get_mut(&p)) {
            p.groups.push(id);
            p.groups.sort();
        }
        if let Some(g) = self.groups.get_mut(&id) {
            g.parent = parent;
        }
        Ok(old)
    }
}

fn dedup_links(mut links: Vec<(ConnectionId, ComponentId)>) -> Vec<(ConnectionId, ComponentId)> {
    links.sort_by_key(|&(c, _)| c);
    let mut seen = std::collections::BTreeSet::new();
    links.retain(|&(_, other)| seen.insert(other));
    links
}

fn dedup_in_order(v: &mut Vec<ComponentId>) {
    let mut seen = std::collections::BTreeSet::new();
    v.retain(|&id| seen.insert(id));
}

/// Event types and what each bus delivers ([`ArchGraph::event_catalog`]).
///
/// An event type is named by the label of a publishing connection (into a
/// bus) or of a delivering connection into a consumer, projection or saga.
/// A bus delivers every event type it carries to the consumers,
/// projections and sagas it feeds over unlabelled connections; one fed
/// over a labelled connection subscribes to that type only. A bus also
/// appends everything to the event stores it feeds.
///
/// Compact on purpose: a bus's unfiltered consumers are listed once, not
/// once per event type, so a bus with thousands of event types and
/// consumers costs their sum, not their product.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EventCatalog {
    /// Event types in order of first appearance.
    pub types: Vec<EventTypeInfo>,
    /// What each bus delivers, by bus (buses that deliver nothing are absent).
    pub buses: BTreeMap<ComponentId, BusDeliveries>,
}

/// An event type, who publishes it and where ([`EventCatalog`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventTypeInfo {
    /// The event type.
    pub event: EventType,
    /// Components that publish it, in diagram order.
    pub producers: Vec<ComponentId>,
    /// Buses it is published to or subscribed from, in diagram order.
    pub buses: Vec<ComponentId>,
    /// The connections labelled with it (publishing and subscribing), in order.
    pub connections: Vec<ConnectionId>,
}

/// What one bus delivers ([`EventCatalog`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BusDeliveries {
    /// Consumers, projections and sagas fed without a label: they get
    /// every event type the bus carries. In connection order.
    pub to_all: Vec<ComponentId>,
    /// Consumers fed over a connection labelled with an event type, which
    /// get that type only (those already in `to_all` are left out).
    pub by_type: BTreeMap<EventType, Vec<ComponentId>>,
    /// Event stores the bus appends every event to.
    pub stores: Vec<ComponentId>,
}

impl EventCatalog {
    /// Who gets `info`'s event type: for each of its buses, the unfiltered
    /// consumers, then the subscribers to this type; without repeats.
    pub fn consumers<'a>(
        &'a self,
        info: &'a EventTypeInfo,
    ) -> impl Iterator<Item = ComponentId> + 'a {
        let mut seen = std::collections::BTreeSet::new();
        info.buses
            .iter()
            .filter_map(|b| self.buses.get(b))
            .flat_map(|d| {
                d.to_all
                    .iter()
                    .chain(d.by_type.get(&info.event).into_iter().flatten())
            })
            .copied()
            .filter(move |&c| seen.insert(c))
    }

    /// How many components get `info`'s event type; cheap for the usual
    /// single bus.
    pub fn consumer_count(&self, info: &EventTypeInfo) -> usize {
        match info.buses.as_slice() {
            [bus] => self.buses.get(bus).map_or(0, |d| {
                d.to_all.len() + d.by_type.get(&info.event).map_or(0, Vec::len)
            }),
            _ => self.consumers(info).count(),
        }
    }

    /// The event stores `info`'s event type is appended to.
    pub fn stores(&self, info: &EventTypeInfo) -> Vec<ComponentId> {
        let mut out: Vec<ComponentId> = info
            .buses
            .iter()
            .filter_map(|b| self.buses.get(b))
            .flat_map(|d| d.stores.iter().copied())
            .collect();
        dedup_in_order(&mut out);
        out
    }

    /// Everything about one event type, with full lists.
    pub fn route(&self, info: &EventTypeInfo) -> EventRoute {
        EventRoute {
            producers: info.producers.clone(),
            buses: info.buses.clone(),
            consumers: self.consumers(info).collect(),
            stores: self.stores(info),
            connections: info.connections.clone(),
        }
    }
}

/// Who produces an event type, which buses carry it, and who gets it
/// ([`ArchGraph::event_route`]). Each list is in diagram order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EventRoute {
    /// Components that publish it.
    pub producers: Vec<ComponentId>,
    /// Buses it is published to or subscribed from.
    pub buses: Vec<ComponentId>,
    /// Consumers, projections and sagas those buses deliver it to.
    pub consumers: Vec<ComponentId>,
    /// Event stores those buses append it to.
    pub stores: Vec<ComponentId>,
    /// The connections labelled with it (publishing and subscribing), in order.
    pub connections: Vec<ConnectionId>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pipeline() -> (ArchGraph, [ComponentId; 3]) {
        let mut g = ArchGraph::new();
        let p = g.add_component("P", "Order Service").expect("add");
        let eb = g.add_component("EB", "Kafka").expect("add");
        let c = g.add_component("C", "Billing").expect("add");
        g.connect(p, eb, "OrderPlaced").expect("connect");
        g.connect(eb, c, "").expect("connect");
        (g, [p, eb, c])
    }

    #[test]
    fn edits_re_infer_roles() {
        let (mut g, [p, eb, c]) = pipeline();
        assert_eq!(g.component(c).map(|c| c.role), Some(Role::Consumer));
        g.set_label(eb, "Orders").expect("relabel");
        // Without a bus, nothing is a producer or consumer any more.
        assert_eq!(g.component(p).map(|c| c.role), Some(Role::External));
        assert!(g.event_types().is_empty());
        g.set_shape(eb, Some(Shape::Named("cyl".into())))
            .expect("shape");
        assert_eq!(g.component(eb).map(|c| c.role), Some(Role::Sink));
        g.set_role(eb, Some(Role::Bus)).expect("role");
        assert_eq!(g.component(c).map(|c| c.role), Some(Role::Consumer));
        assert_eq!(g.event_types(), vec![EventType::new("OrderPlaced")]);
    }

    #[test]
    fn ids_are_never_reused() {
        let (mut g, [_, _, c]) = pipeline();
        g.remove_component(c).expect("remove");
        let d = g.add_component("D", "Other").expect("add");
        assert_ne!(c, d);
        assert_eq!(g.component(c), None);
        assert_eq!(g.remove_component(c), Err(ModelError::UnknownComponent(c)));
    }

    #[test]
    fn remove_and_restore_component_round_trips() {
        let (mut g, [p, eb, _]) = pipeline();
        let group = g.add_group("Core", "Core").expect("group");
        g.move_to_group(eb, Some(group)).expect("move");
        let before: Vec<Connection> = g.connections().cloned().collect();
        let removed = g.remove_component(eb).expect("remove");
        assert_eq!(g.connection_count(), 0);
        assert_eq!(removed.connections.len(), 2);
        assert_eq!(g.component(p).map(|c| c.role), Some(Role::External));
        assert!(g.group(group).is_some_and(|g| g.members.is_empty()));
        g.restore_component(removed.clone()).expect("restore");
        let after: Vec<Connection> = g.connections().cloned().collect();
        assert_eq!(before, after);
        assert_eq!(g.group_of(eb), Some(group));
        assert_eq!(g.component(p).map(|c| c.role), Some(Role::Producer));
        assert_eq!(
            g.restore_component(removed),
            Err(ModelError::IdInUse(eb.to_string()))
        );
    }

    #[test]
    fn disconnect_and_restore_connection() {
        let (mut g, [p, _, _]) = pipeline();
        let e = g.outgoing(p)[0].id;
        let conn = g.disconnect(e).expect("disconnect");
        assert_eq!(g.component(p).map(|c| c.role), Some(Role::External));
        g.restore_connection(conn).expect("restore");
        assert_eq!(
            g.connection(e).map(|c| c.label.as_str()),
            Some("OrderPlaced")
        );
        assert_eq!(g.component(p).map(|c| c.role), Some(Role::Producer));
    }

    #[test]
    fn keys_are_checked_and_unique() {
        let (mut g, [p, _, _]) = pipeline();
        assert_eq!(
            g.add_component("P", "again"),
            Err(ModelError::DuplicateKey("P".into()))
        );
        assert!(matches!(
            g.add_component("end", "x"),
            Err(ModelError::InvalidKey { .. })
        ));
        assert!(matches!(
            g.add_component("a b", "x"),
            Err(ModelError::InvalidKey { .. })
        ));
        assert!(matches!(
            g.rename_component(p, ""),
            Err(ModelError::InvalidKey { .. })
        ));
        assert_eq!(g.rename_component(p, "Orders"), Ok("P".to_string()));
        assert_eq!(g.id_of("Orders"), Some(p));
        assert_eq!(g.id_of("P"), None);
        assert_eq!(g.unique_key("Orders"), "Orders2");
        assert_eq!(g.unique_key("New Consumer!"), "NewConsumer");
        assert_eq!(g.unique_key(""), "Node");
        assert_eq!(g.unique_key("end"), "Nodeend");
        for bad in ["end-x", "1class", "_self"] {
            assert!(
                matches!(check_key(bad), Err(ModelError::InvalidKey { .. })),
                "{bad}"
            );
        }
        for good in ["classifier", "Dé", "endpoint", "svc-pay"] {
            assert_eq!(check_key(good), Ok(()), "{good}");
        }
    }

    #[test]
    fn connect_checks_both_ends() {
        let (mut g, [p, _, c]) = pipeline();
        g.remove_component(c).expect("remove");
        assert_eq!(g.connect(p, c, ""), Err(ModelError::UnknownComponent(c)));
    }

    #[test]
    fn groups_nest_without_cycles() {
        let (mut g, [p, eb, _]) = pipeline();
        let outer = g.add_group("Outer", "Outer").expect("group");
        let inner = g.add_group("Inner", "Inner").expect("group");
        assert_eq!(g.set_group_parent(inner, Some(outer)), Ok(None));
        assert_eq!(
            g.set_group_parent(outer, Some(inner)),
            Err(ModelError::GroupCycle(outer))
        );
        assert_eq!(
            g.set_group_parent(outer, Some(outer)),
            Err(ModelError::GroupCycle(outer))
        );
        g.move_to_group(p, Some(inner)).expect("move");
        g.move_to_group(eb, Some(outer)).expect("move");
        assert_eq!(g.top_level_groups().count(), 1);
        // Removing the inner group hands its members to the outer one.
        g.remove_group(inner).expect("remove group");
        assert_eq!(g.group_of(p), Some(outer));
        assert!(g.group(outer).is_some_and(|o| o.groups.is_empty()));
        assert_eq!(g.move_to_group(p, None), Ok(Some(outer)));
        assert_eq!(g.group_of(p), None);
        assert_eq!(
            g.add_group("EB", "clash"),
            Err(ModelError::DuplicateKey("EB".into()))
        );
    }

    #[test]
    fn bidirectional_links_flow_both_ways() {
        let (mut g, [p, eb, c]) = pipeline();
        let e = g.outgoing(eb)[0].id;
        g.set_arrows(e, Arrow::Arrow, Arrow::Arrow).expect("arrows");
        assert_eq!(g.downstream(c), vec![eb]);
        assert_eq!(g.upstream(eb), vec![p, c]);
    }

    #[test]
    fn shapes_round_trip_their_mermaid_names() {
        for name in [
            "square",
            "round",
            "stadium",
            "subroutine",
            "cylinder",
            "circle",
            "doublecircle",
            "odd",
            "diamond",
            "hexagon",
            "lean_right",
            "lean_left",
            "trapezoid",
            "inv_trapezoid",
            "ellipse",
            "rect",
            "cyl",
            "doc",
        ] {
            assert_eq!(Shape::from_mermaid(name).as_mermaid(), name);
        }
        assert!(Shape::from_mermaid("cylinder").is_database());
        assert!(Shape::from_mermaid("lin-cyl").is_database());
        assert!(!Shape::from_mermaid("doc").is_database());
    }
}
