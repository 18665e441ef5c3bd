//! JSON export: the model and its layout in one document, for tools that
//! want the architecture without parsing Mermaid.
//!
//! # Format (version 1)
//! ```json
//! {
//!   "format": "eda-studio-diagram",
//!   "version": 1,
//!   "direction": "TB",                    // TB, TD, BT, LR or RL
//!   "title": null,                        // frontmatter title, if any
//!   "components": [{
//!     "key": "EB",                        // the Mermaid node id
//!     "label": "Event Bus - Kafka",
//!     "role": "bus",                      // the role's class name
//!     "shape": "square",                  // Mermaid's shape name, null without brackets
//!     "outline": "rect",                  // the outline drawn (see layout::shape)
//!     "classes": ["bus"], "styles": ["fill:#f9f"],
//!     "style": {"fill": "#…", "stroke": "#…", "stroke_width": 1.5,
//!               "text_color": "#…", "dash": null},   // resolved, light theme
//!     "group": "CQRS",                    // the enclosing subgraph's key, or null
//!     "position": {"x": 0, "y": 0, "width": 150, "height": 50}  // centre and size, or null
//!   }],
//!   "connections": [{
//!     "from": "Producer1", "to": "EB", "label": "OrderCreated",
//!     "stroke": "normal",                 // normal, thick, dotted, invisible
//!     "arrow_start": "none", "arrow_end": "arrow",   // none, arrow, circle, cross
//!     "kind": "publish",                  // publish, deliver, plain
//!     "event_type": "OrderCreated",       // or null
//!     "route": [{"x": 0, "y": 0}, …]      // polyline, empty when not laid out
//!   }],
//!   "groups": [{"key": "CQRS", "title": "CQRS", "parent": null,
//!               "members": ["WriteModel"], "groups": [],
//!               "rect": {"min": {"x":…,"y":…}, "max": {…}}}],   // or null
//!   "class_defs": {"hot": ["fill:#f9f"]},
//!   "bounds": {"min": {…}, "max": {…}}
//! }
//! ```
//! Items are in the model's order (Mermaid's). References between items use
//! Mermaid keys, which are stable across files, not internal ids. The
//! version goes up when a field changes meaning or disappears; new fields
//! may appear without a version change.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::layout::shape::ShapeKind;
use crate::layout::{Layout, Point, Rect};
use crate::model::{ArchGraph, ConnectionKind};

use super::style::{EdgeStyle, NodeStyle};

/// The value of the `format` field.
pub const FORMAT: &str = "eda-studio-diagram";
/// The current `version`.
pub const VERSION: u32 = 1;

/// The whole exported document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiagramJson {
    /// Always [`FORMAT`].
    pub format: String,
    /// [`VERSION`] when written by this build.
    pub version: u32,
    /// The graph direction.
    pub direction: String,
    /// The frontmatter title.
    pub title: Option<String>,
    /// Every component.
    pub components: Vec<ComponentJson>,
    /// Every connection.
    pub connections: Vec<ConnectionJson>,
    /// Every group (subgraph).
    pub groups: Vec<GroupJson>,
    /// `classDef` declarations by class name.
    pub class_defs: BTreeMap<String, Vec<String>>,
    /// The box enclosing the layout.
    pub bounds: Rect,
}

/// One component.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComponentJson {
    pub key: String,
    pub label: String,
    pub role: String,
    pub shape: Option<String>,
    pub outline: String,
    pub classes: Vec<String>,
    pub styles: Vec<String>,
    pub style: StyleJson,
    pub group: Option<String>,
    pub position: Option<PositionJson>,
}

/// A resolved node or edge style, colours as `#rrggbb`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StyleJson {
    pub fill: Option<String>,
    pub stroke: String,
    pub stroke_width: f32,
    pub text_color: String,
    pub dash: Option<Vec<f32>>,
}

/// A node box: centre and size.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PositionJson {
    pub x: f32,
    pub y: f32,
    pub width: f32,
    pub height: f32,
}

/// One connection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectionJson {
    pub from: String,
    pub to: String,
    pub label: String,
    pub stroke: String,
    pub arrow_start: String,
    pub arrow_end: String,
    pub kind: String,
    pub event_type: Option<String>,
    pub style: StyleJson,
    pub route: Vec<Point>,
}

/// One group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupJson {
    pub key: String,
    pub title: String,
    pub parent: Option<String>,
    pub members: Vec<String>,
    pub groups: Vec<String>,
    pub rect: Option<Rect>,
}

/// The document for a graph and its layout.
pub fn diagram_json(graph: &ArchGraph, layout: &Layout) -> DiagramJson {
    let group_key = |id| graph.group(id).map(|g| g.key.clone());
    let components = graph
        .components()
        .map(|c| {
            let style = NodeStyle::resolve(c, &graph.meta, false);
            ComponentJson {
                key: c.key.clone(),
                label: c.label.clone(),
                role: c.role.class_name().to_string(),
                shape: c.shape.as_ref().map(|s| s.as_mermaid().to_string()),
                outline: ShapeKind::of(c.shape.as_ref()).name().to_string(),
                classes: c.classes.clone(),
                styles: c.styles.clone(),
                style: StyleJson {
                    fill: (style.fill.a > 0).then(|| style.fill.hex()),
                    stroke: style.stroke.hex(),
                    stroke_width: style.stroke_width,
                    text_color: style.text_color.hex(),
                    dash: style.dash,
                },
                group: graph.group_of(c.id).and_then(group_key),
                position: layout.nodes.get(&c.id).map(|g| PositionJson {
                    x: g.center.x,
                    y: g.center.y,
                    width: g.width,
                    height: g.height,
                }),
            }
        })
        .collect();
    let connections = graph
        .connections()
        .map(|e| {
            let style = EdgeStyle::resolve(e, &graph.meta, false);
            ConnectionJson {
                from: graph.key_of(e.from).to_string(),
                to: graph.key_of(e.to).to_string(),
                label: e.label.clone(),
                stroke: e.stroke.as_str().to_string(),
                arrow_start: e.arrow_start.as_str().to_string(),
                arrow_end: e.arrow_end.as_str().to_string(),
                kind: match e.kind {
                    ConnectionKind::Publish => "publish",
                    ConnectionKind::Deliver => "deliver",
                    ConnectionKind::Plain => "plain",
                }
                .to_string(),
                event_type: e.event_type.as_ref().map(|t| t.as_str().to_string()),
                style: StyleJson {
                    fill: None,
                    stroke: style.stroke.hex(),
                    stroke_width: style.width,
                    text_color: style.text_color.hex(),
                    dash: style.dash,
                },
                route: layout.edges.get(&e.id).cloned().unwrap_or_default(),
            }
        })
        .collect();
    let groups = graph
        .groups()
        .map(|g| GroupJson {
            key: g.key.clone(),
            title: g.title.clone(),
            parent: g.parent.and_then(group_key),
            members: g
                .members
                .iter()
                .map(|m| graph.key_of(*m).to_string())
                .collect(),
            groups: g.groups.iter().filter_map(|id| group_key(*id)).collect(),
            rect: layout.groups.get(&g.id).copied(),
        })
        .collect();
    DiagramJson {
        format: FORMAT.to_string(),
        version: VERSION,
        direction: graph.meta.direction.as_str().to_string(),
        title: graph.meta.title.clone(),
        components,
        connections,
        groups,
        class_defs: graph.meta.class_defs.clone(),
        bounds: layout.bounds,
    }
}

/// The document as pretty-printed JSON text.
pub fn to_json(graph: &ArchGraph, layout: &Layout) -> String {
    // Serialising plain structs of strings and finite-or-not floats cannot
    // fail except on non-finite floats, which serde_json writes as null.
    match serde_json::to_string_pretty(&diagram_json(graph, layout)) {
        Ok(mut text) => {
            text.push('\n');
            text
        }
        Err(err) => format!("{{\"error\": {:?}}}\n", err.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::NodeGeom;
    use crate::mermaid::parse_flowchart;

    #[test]
    fn the_seed_round_trips_through_json() {
        let g = ArchGraph::from_flowchart(&parse_flowchart(crate::SEED_DIAGRAM).expect("seed"));
        let mut layout = Layout::default();
        let first = g.components().next().expect("seed has components");
        layout.nodes.insert(
            first.id,
            NodeGeom {
                center: Point { x: 10.0, y: 20.0 },
                width: 100.0,
                height: 40.0,
            },
        );
        let text = to_json(&g, &layout);
        let back: DiagramJson = serde_json::from_str(&text).expect("parses back");
        assert_eq!(back, diagram_json(&g, &layout));
        assert_eq!(back.version, VERSION);
        assert_eq!(back.components.len(), g.component_count());
        assert_eq!(back.connections.len(), g.connection_count());
        let eb = back
            .components
            .iter()
            .find(|c| c.key == "EB")
            .expect("the bus");
        assert_eq!(eb.role, "bus");
        assert_eq!(back.components[0].position.map(|p| p.x), Some(10.0));
        assert!(back.components[1].position.is_none());
        let cqrs = back.groups.iter().find(|g| g.key == "CQRS").expect("CQRS");
        assert!(cqrs.members.contains(&"WriteModel".to_string()));
        let write_model = back
            .components
            .iter()
            .find(|c| c.key == "WriteModel")
            .expect("write model");
        assert_eq!(write_model.group.as_deref(), Some("CQRS"));
        let published = back
            .connections
            .iter()
            .find(|c| c.label == "OrderCreated")
            .expect("an event edge");
        assert_eq!(published.kind, "publish");
        assert_eq!(published.event_type.as_deref(), Some("OrderCreated"));
    }
}
