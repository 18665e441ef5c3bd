//! Component roles, their Mermaid class names, and the label keywords that
//! suggest them. The inference itself (which rule wins) is in `infer.rs`.

use super::graph::ComponentId;
use serde::{Deserialize, Serialize};
use std::fmt;

/// What a component does in an event-driven architecture.
///
/// Each role has one canonical Mermaid class name ([`Role::class_name`]),
/// which is what the designer writes back (`EB:::bus`), and a few accepted
/// aliases ([`Role::from_class`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Role {
    /// Publishes events to a bus (`producer`; aliases `publisher`).
    #[serde(rename = "producer")]
    Producer,
    /// Entry point for outside requests (`gateway`; aliases `api`, `api-gateway`).
    #[serde(rename = "gateway")]
    Gateway,
    /// Command handler / write model: validates commands, emits events
    /// (`command`; aliases `command-handler`, `write-model`, `aggregate`).
    #[serde(rename = "command")]
    Command,
    /// Event bus / broker with topics and partitions (`bus`; aliases
    /// `broker`, `event-bus`, `message-bus`, `kafka`, `topic`).
    #[serde(rename = "bus")]
    Bus,
    /// Append-only event store (`store`; aliases `event-store`).
    #[serde(rename = "store")]
    Store,
    /// Subscribes to a bus and reacts to events (`consumer`; aliases
    /// `subscriber`, `worker`, `handler`, `event-handler`, `listener`, `indexer`).
    #[serde(rename = "consumer")]
    Consumer,
    /// CQRS read side: builds a read model from events (`projection`;
    /// aliases `projector`, `read-model`).
    #[serde(rename = "projection")]
    Projection,
    /// Long-running process reacting to events with commands (`saga`;
    /// aliases `process-manager`, `orchestrator`).
    #[serde(rename = "saga")]
    Saga,
    /// Where events go after repeated failures (`dlq`; aliases
    /// `dead-letter`, `dead-letter-queue`).
    #[serde(rename = "dlq")]
    DeadLetter,
    /// Schema registry consulted by producers and consumers (`schema`;
    /// aliases `schema-registry`, `registry`).
    #[serde(rename = "schema")]
    SchemaRegistry,
    /// Database or other sink that a consumer or projection writes to
    /// (`sink`; aliases `database`, `db`, `datastore`).
    #[serde(rename = "sink")]
    Sink,
    /// Outside the architecture: not simulated beyond its connections
    /// (`external`; aliases `ext`, `actor`). Also the fallback role.
    #[serde(rename = "external")]
    External,
}

impl Role {
    /// Every role, in the order reports list them (roughly the direction
    /// events flow: sources, bus, processing, storage, outside).
    pub const ALL: [Role; 12] = [
        Role::Producer,
        Role::Gateway,
        Role::Command,
        Role::Bus,
        Role::Store,
        Role::Consumer,
        Role::Projection,
        Role::Saga,
        Role::DeadLetter,
        Role::SchemaRegistry,
        Role::Sink,
        Role::External,
    ];

    /// The canonical Mermaid class name (`producer`, `bus`, `store`, ...).
    pub fn class_name(self) -> &'static str {
        match self {
            Role::Producer => "producer",
            Role::Gateway => "gateway",
            Role::Command => "command",
            Role::Bus => "bus",
            Role::Store => "store",
            Role::Consumer => "consumer",
            Role::Projection => "projection",
            Role::Saga => "saga",
            Role::DeadLetter => "dlq",
            Role::SchemaRegistry => "schema",
            Role::Sink => "sink",
            Role::External => "external",
        }
    }

    /// A human name for reports (`event store`, `command handler`, ...).
    pub fn title(self) -> &'static str {
        match self {
            Role::Producer => "producer",
            Role::Gateway => "gateway",
            Role::Command => "command handler",
            Role::Bus => "bus",
            Role::Store => "event store",
            Role::Consumer => "consumer",
            Role::Projection => "projection",
            Role::Saga => "saga",
            Role::DeadLetter => "dead-letter queue",
            Role::SchemaRegistry => "schema registry",
            Role::Sink => "sink",
            Role::External => "external",
        }
    }

    /// The role a Mermaid class names, if it names one.
    ///
    /// Case, `-` and `_` are ignored, so `Event-Store`, `event_store` and
    /// `eventstore` are all [`Role::Store`]. Classes that name no role
    /// (`highlight`, ...) give `None` and are left alone.
    pub fn from_class(class: &str) -> Option<Role> {
        let norm: String = class
            .chars()
            .filter(|c| *c != '-' && *c != '_')
            .map(|c| c.to_ascii_lowercase())
            .collect();
        let role = match norm.as_str() {
            "producer" | "publisher" | "eventproducer" => Role::Producer,
            "gateway" | "api" | "apigateway" => Role::Gateway,
            "command" | "commandhandler" | "cmd" | "writemodel" | "aggregate" => Role::Command,
            "bus" | "eventbus" | "messagebus" | "broker" | "kafka" | "topic" => Role::Bus,
            "store" | "eventstore" => Role::Store,
            "consumer" | "subscriber" | "worker" | "handler" | "eventhandler" | "listener"
            | "indexer" => Role::Consumer,
            "projection" | "projector" | "readmodel" => Role::Projection,
            "saga" | "processmanager" | "orchestrator" => Role::Saga,
            "dlq" | "deadletter" | "deadletterqueue" => Role::DeadLetter,
            "schema" | "schemaregistry" | "registry" => Role::SchemaRegistry,
            "sink" | "database" | "db" | "datastore" => Role::Sink,
            "external" | "ext" | "actor" => Role::External,
            _ => return None,
        };
        Some(role)
    }

    /// Whether this role processes the events a bus delivers (consumer,
    /// projection, saga): what "the consumers a bus feeds" means.
    pub fn consumes_events(self) -> bool {
        matches!(self, Role::Consumer | Role::Projection | Role::Saga)
    }

    /// Whether events or commands can originate here (producer, gateway,
    /// command handler, external). Reachability starts from these.
    pub fn originates(self) -> bool {
        matches!(
            self,
            Role::Producer | Role::Gateway | Role::Command | Role::External
        )
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.title())
    }
}

/// Why a component has its role: the inference rule that decided it.
///
/// Rules are tried in this order and the first that applies wins (see
/// `infer.rs` for the full statement): a role class, a label keyword, a
/// database shape or word, then topology (fed by a bus, points at a bus,
/// leaf after a consumer or projection), then the fallback.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RoleReason {
    /// A role class on the node (`EB:::bus`, `class ES store`); the class as written.
    Class(String),
    /// A keyword in the label (`Kafka`, `Event Store`, ...), as listed in the keyword table.
    Keyword(&'static str),
    /// A database shape (`[(...)]`, `@{ shape: cyl }`); the shape name.
    Shape(String),
    /// A bus feeds it, so it consumes: the first such bus.
    FedByBus(ComponentId),
    /// It points at a bus, so it produces: the first such bus.
    PublishesTo(ComponentId),
    /// Nothing leaves it and a consumer or projection feeds it, so it is a
    /// sink: the first such feeder.
    LeafAfter(ComponentId),
    /// No rule applied; the role is [`Role::External`].
    Fallback,
}

impl RoleReason {
    /// Which kind of rule decided.
    pub fn source(&self) -> ReasonSource {
        match self {
            RoleReason::Class(_) => ReasonSource::Class,
            RoleReason::Keyword(_) => ReasonSource::Keyword,
            RoleReason::Shape(_) => ReasonSource::Shape,
            RoleReason::FedByBus(_) | RoleReason::PublishesTo(_) | RoleReason::LeafAfter(_) => {
                ReasonSource::Topology
            }
            RoleReason::Fallback => ReasonSource::Fallback,
        }
    }
}

/// The kind of rule behind a [`RoleReason`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ReasonSource {
    /// A role class given by the user.
    Class,
    /// A label keyword.
    Keyword,
    /// A database shape.
    Shape,
    /// The component's connections.
    Topology,
    /// Nothing matched.
    Fallback,
}

impl ReasonSource {
    /// The lowercase name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            ReasonSource::Class => "class",
            ReasonSource::Keyword => "keyword",
            ReasonSource::Shape => "shape",
            ReasonSource::Topology => "topology",
            ReasonSource::Fallback => "fallback",
        }
    }
}

/// Label keywords, in precedence order: the first entry found anywhere in a
/// label decides. More specific phrases come before the words they contain
/// ("Command Handler" is a command handler, not a consumer; "Dead Letter
/// Queue" is not a bus). Matching is by whole words, case-insensitive,
/// camelCase split (`EventStore` is "Event Store"), and the last word may
/// carry a plural `s` ("Write Model - Commands").
pub(crate) const KEYWORDS: &[(&str, Role)] = &[
    ("Schema Registry", Role::SchemaRegistry),
    ("Dead Letter", Role::DeadLetter),
    ("Deadletter", Role::DeadLetter),
    ("DLQ", Role::DeadLetter),
    ("Event Store", Role::Store),
    ("Event Bus", Role::Bus),
    ("Message Bus", Role::Bus),
    ("Kafka", Role::Bus),
    ("Broker", Role::Bus),
    ("Pulsar", Role::Bus),
    ("RabbitMQ", Role::Bus),
    ("Kinesis", Role::Bus),
    ("Saga", Role::Saga),
    ("Process Manager", Role::Saga),
    ("Write Model", Role::Command),
    ("Command", Role::Command),
    ("Read Model", Role::Projection),
    ("Projection", Role::Projection),
    ("Projector", Role::Projection),
    ("Gateway", Role::Gateway),
    ("Consumer", Role::Consumer),
    ("Indexer", Role::Consumer),
    ("Handler", Role::Consumer),
    ("Worker", Role::Consumer),
    ("Subscriber", Role::Consumer),
    ("Producer", Role::Producer),
    ("Publisher", Role::Producer),
    ("External", Role::External),
];

/// Label words that mean a database when the shape does not already say so.
pub(crate) const STORAGE_WORDS: &[&str] = &["Database", "DB"];

/// Splits a label into lowercase words: on anything not alphanumeric, at
/// camelCase humps (`EventBus`, `APIGateway`) and between letters and
/// digits (`Consumer1`).
pub(crate) fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for run in text.split(|c: char| !c.is_alphanumeric()) {
        let chars: Vec<char> = run.chars().collect();
        let mut start = 0;
        for i in 1..chars.len() {
            let (prev, cur) = (chars[i - 1], chars[i]);
            let next_lower = chars.get(i + 1).is_some_and(|c| c.is_lowercase());
            let hump = (prev.is_lowercase() && cur.is_uppercase())
                || (prev.is_uppercase() && cur.is_uppercase() && next_lower)
                || (prev.is_alphabetic() && cur.is_numeric())
                || (prev.is_numeric() && cur.is_alphabetic());
            if hump {
                out.push(chars[start..i].iter().collect::<String>().to_lowercase());
                start = i;
            }
        }
        if start < chars.len() {
            out.push(chars[start..].iter().collect::<String>().to_lowercase());
        }
    }
    out
}

/// Whether `phrase` (already split into words) occurs in `label` as whole
/// consecutive words; the phrase's last word also matches its plural.
pub(crate) fn contains_phrase(label: &[String], phrase: &[String]) -> bool {
    let Some((last, init)) = phrase.split_last() else {
        return false;
    };
    if label.len() < phrase.len() {
        return false;
    }
    label.windows(phrase.len()).any(|w| {
        let (w_last, w_init) = match w.split_last() {
            Some(split) => split,
            None => return false,
        };
        w_init == init && (w_last == last || w_last.strip_suffix('s') == Some(last.as_str()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::infer::keyword_role;

    #[test]
    fn class_names_round_trip() {
        for role in Role::ALL {
            assert_eq!(Role::from_class(role.class_name()), Some(role));
        }
    }

    #[test]
    fn class_aliases_ignore_case_dashes_and_underscores() {
        assert_eq!(Role::from_class("Event-Store"), Some(Role::Store));
        assert_eq!(Role::from_class("event_store"), Some(Role::Store));
        assert_eq!(Role::from_class("DATABASE"), Some(Role::Sink));
        assert_eq!(Role::from_class("dead-letter"), Some(Role::DeadLetter));
        assert_eq!(Role::from_class("highlight"), None);
        assert_eq!(Role::from_class(""), None);
    }

    #[test]
    fn words_split_on_punctuation_humps_and_digits() {
        assert_eq!(words("Event Bus - Kafka"), ["event", "bus", "kafka"]);
        assert_eq!(words("APIGateway"), ["api", "gateway"]);
        assert_eq!(words("EventStore"), ["event", "store"]);
        assert_eq!(words("Consumer1"), ["consumer", "1"]);
        assert_eq!(words("PaymentDLQ"), ["payment", "dlq"]);
        assert_eq!(words("Email / Push"), ["email", "push"]);
        assert_eq!(words(""), Vec::<String>::new());
    }

    #[test]
    fn keywords_match_whole_words_and_plurals() {
        let kw = |label: &str| keyword_role(&words(label)).map(|(_, r)| r);
        assert_eq!(kw("Write Model - Commands"), Some(Role::Command));
        assert_eq!(kw("Read Model - Projections"), Some(Role::Projection));
        assert_eq!(kw("Search Indexer"), Some(Role::Consumer));
        assert_eq!(kw("Command Handler"), Some(Role::Command));
        assert_eq!(kw("Dead Letter Queue"), Some(Role::DeadLetter));
        assert_eq!(kw("Orders DLQ"), Some(Role::DeadLetter));
        assert_eq!(kw("Confluent Schema Registry"), Some(Role::SchemaRegistry));
        assert_eq!(kw("Order Saga"), Some(Role::Saga));
        // Substrings of other words do not count.
        assert_eq!(kw("Elasticsearch"), None);
        assert_eq!(kw("Commandeer"), None);
        assert_eq!(kw("Order Service"), None);
    }
}
