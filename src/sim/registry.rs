//! The schema registry: subjects with registered schema versions under a
//! compatibility mode, schema ids, the lookups producers and consumers
//! make, and what the registry refuses.
//!
//! # What it models
//! - **Subjects**: one per event type, versions inferred from the names
//!   (`OrderPlacedV1`, `OrderPlacedV2` are versions 1 and 2 of subject
//!   `OrderPlaced`; a name without a `V<n>` suffix is version 1 of its own
//!   subject), and from reactions (`Upcaster.on = LegacyOrderV1 ->
//!   OrderPlacedV2`: an event upcast into a higher version of another
//!   subject is an older version of that subject).
//! - **Registration**: at the start every version is registered in
//!   ascending order and checked against the latest registered one with
//!   the [`Compatibility`] mode; what a version changes is a
//!   [`SchemaChange`] (an optional field added by default). A version the
//!   mode refuses gets no schema id.
//! - **Producers** that use the registry (a connection to or from the
//!   registry node) serialize with a schema id: the first record needs a
//!   lookup (the `lookup` latency, then cached for that producer); a
//!   version that is not registered, or a payload that does not match its
//!   schema (a poisoned event type), is rejected at the producer and never
//!   reaches the bus. Producers that do not use it write no schema id.
//! - **The command handler** (the CQRS write model) that uses the
//!   registry serializes the event of an accepted command the same way:
//!   the first one waits for the lookup (its slot stays busy), later ones
//!   use the cached id; while the registry is down it tries again every
//!   [`RETRY_US`]; a refused version (or a poisoned event type) rejects
//!   the command before it is appended. Its records carry the id.
//! - **Consumers** that use the registry look up each schema id on first
//!   sight, once per instance (a restarted instance starts with an empty
//!   cache); a record without a schema id fails deserialization every
//!   time (retries, then the DLQ).
//! - **Outage**: `crash Registry` takes it down; lookups then fail
//!   (producers wait and try again every [`RETRY_US`]; a consumer's
//!   attempt fails and goes the retry/DLQ path), so an outage is visible
//!   only to instances that need a lookup.
//!
//! A diagram without a schema-registry node has no registry, and the
//! engine's only cost is a check of an `Option` on the paths it hooks.
//!
//! **One registry per run**: a diagram with several schema-registry nodes
//! runs with the first (in source order); components connected only to
//! the others use no registry. `check` and the designer's findings warn
//! at each ignored node, with its line (`extra-schema-registry`), so the
//! shortcut is never silent. (Several registries would need a scenario
//! section per registry and a schema-id space per registry, with records
//! a consumer of another registry cannot decode; a diagram rarely wants
//! that, and the warning says what the run does instead.)
//!
//! Pure data and rules: no engine internals, no RNG, no clock of its own
//! (times come in as arguments). Must not depend on `live`, `gui`, `record`.

use super::clock::VirtualTime;
use super::cqrs::HANDLER_SOURCE;
use crate::model::{ArchGraph, Role};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// How long a lookup takes by default, virtual µs.
pub const DEFAULT_LOOKUP_US: u64 = 1_000;
/// How often a producer waiting for a registry that is down tries again.
pub const RETRY_US: u64 = 100_000;
/// The longest lookup latency a scenario may set (one hour).
pub const MAX_LOOKUP_US: u64 = 3_600_000_000;

/// What a new version of a subject must stay compatible with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Compatibility {
    /// Readers of the new version can read data of the previous one.
    #[default]
    Backward,
    /// Readers of the previous version can read data of the new one.
    Forward,
    /// Both.
    Full,
    /// No check.
    None,
}

impl Compatibility {
    /// Every mode, as written in a scenario.
    pub const ALL: [Compatibility; 4] = [
        Compatibility::Backward,
        Compatibility::Forward,
        Compatibility::Full,
        Compatibility::None,
    ];

    /// Its scenario word.
    pub fn word(self) -> &'static str {
        match self {
            Compatibility::Backward => "backward",
            Compatibility::Forward => "forward",
            Compatibility::Full => "full",
            Compatibility::None => "none",
        }
    }

    /// The mode a scenario word names.
    pub fn from_word(w: &str) -> Option<Compatibility> {
        Compatibility::ALL.into_iter().find(|c| c.word() == w)
    }

    /// Whether a version making `change` may follow the latest one.
    pub fn allows(self, change: SchemaChange) -> bool {
        match self {
            Compatibility::Backward => change.backward(),
            Compatibility::Forward => change.forward(),
            Compatibility::Full => change.backward() && change.forward(),
            Compatibility::None => true,
        }
    }
}

/// What a version changes compared with the version before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SchemaChange {
    /// Adds a field with a default: compatible both ways.
    #[default]
    AddOptional,
    /// Adds a field without a default: old data lacks it (not backward),
    /// old readers ignore it (forward).
    AddRequired,
    /// Removes a field old readers need: new readers ignore it in old
    /// data (backward), old readers miss it in new data (not forward).
    RemoveRequired,
    /// Changes a field's type: compatible neither way.
    Breaking,
}

impl SchemaChange {
    /// Every change, as written in a scenario.
    pub const ALL: [SchemaChange; 4] = [
        SchemaChange::AddOptional,
        SchemaChange::AddRequired,
        SchemaChange::RemoveRequired,
        SchemaChange::Breaking,
    ];

    /// Its scenario word.
    pub fn word(self) -> &'static str {
        match self {
            SchemaChange::AddOptional => "add-optional",
            SchemaChange::AddRequired => "add-required",
            SchemaChange::RemoveRequired => "remove-required",
            SchemaChange::Breaking => "breaking",
        }
    }

    /// The change a scenario word names.
    pub fn from_word(w: &str) -> Option<SchemaChange> {
        SchemaChange::ALL.into_iter().find(|c| c.word() == w)
    }

    fn backward(self) -> bool {
        matches!(
            self,
            SchemaChange::AddOptional | SchemaChange::RemoveRequired
        )
    }

    fn forward(self) -> bool {
        matches!(self, SchemaChange::AddOptional | SchemaChange::AddRequired)
    }
}

/// The registry part of a scenario (present when the diagram has a
/// schema-registry node).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistrySpec {
    /// The registry's Mermaid id.
    pub component: String,
    /// The compatibility mode of every subject.
    pub compat: Compatibility,
    /// How long one lookup takes (virtual µs).
    pub lookup_us: u64,
    /// What a version (by event type) changes from the one before it;
    /// versions not listed add an optional field.
    pub changes: BTreeMap<String, SchemaChange>,
}

impl RegistrySpec {
    /// The registry of `graph`: its first schema-registry node, with the
    /// default mode and latency; `None` when it has none.
    pub fn for_graph(graph: &ArchGraph) -> Option<RegistrySpec> {
        let reg = graph
            .components()
            .find(|c| c.role == Role::SchemaRegistry)?;
        Some(RegistrySpec {
            component: reg.key.clone(),
            compat: Compatibility::default(),
            lookup_us: DEFAULT_LOOKUP_US,
            changes: BTreeMap::new(),
        })
    }

    /// Checks the numbers.
    pub fn validate(&self) -> Result<(), String> {
        if self.lookup_us > MAX_LOOKUP_US {
            return Err(format!(
                "registry lookup {} µs is over one hour",
                self.lookup_us
            ));
        }
        Ok(())
    }
}

/// `OrderPlacedV2` → (`OrderPlaced`, 2); a name without a `V<n>` suffix
/// (or with nothing before it) is version 1 of itself.
pub fn split_version(event_type: &str) -> (&str, u32) {
    let digits = event_type
        .bytes()
        .rev()
        .take_while(u8::is_ascii_digit)
        .count();
    let cut = event_type.len() - digits;
    if digits == 0 || digits > 6 || cut < 2 {
        return (event_type, 1);
    }
    let head = &event_type[..cut];
    match head.strip_suffix(['V', 'v']) {
        Some(base) if !base.is_empty() => {
            let n = event_type[cut..].parse().unwrap_or(1);
            (base, n)
        }
        _ => (event_type, 1),
    }
}

/// One version of a subject.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemaVersion {
    /// Its version number.
    pub version: u32,
    /// The event type (topic) that carries it.
    pub event_type: String,
    /// What it changes from the version before.
    pub change: SchemaChange,
    /// Its schema id; `None` when the registry refused it.
    pub id: Option<u32>,
    /// Why it was refused, if it was.
    pub refused: Option<String>,
    /// Records serialized with it (accepted at the producer).
    pub produced: u64,
    /// Records refused at the producer (version not registered, or a
    /// payload that does not match it).
    pub rejected: u64,
}

/// A subject: the versions of one event's schema.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject {
    /// Its name (the event type without its version suffix).
    pub name: String,
    /// Its versions, ascending.
    pub versions: Vec<SchemaVersion>,
}

/// What the registry and its clients did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RegistryCounters {
    /// Lookups answered (producers and consumer instances).
    pub lookups_served: u64,
    /// Lookups that failed because the registry was down.
    pub lookups_failed: u64,
    /// Records refused at the producer: their version is not registered.
    pub rejected_unregistered: u64,
    /// Records refused at the producer: their payload does not match the
    /// registered schema (a poisoned event type).
    pub rejected_malformed: u64,
    /// Delivery attempts that failed deserialization at a consumer (no
    /// schema id in the record).
    pub undecodable: u64,
}

/// What a producer using the registry does with a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProduceOutcome {
    /// Serialize and publish it now.
    Publish,
    /// Hold it: a lookup is under way (or the registry is down); offer it
    /// again at this time.
    Wait(VirtualTime),
    /// Refuse it: the version is not registered.
    Unregistered,
    /// Refuse it: it does not match its schema.
    Malformed,
}

/// Why a consumer could not deserialize a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeFailure {
    /// The record carries no schema id it could look up.
    NoSchemaId,
    /// The id is not cached and the registry is down.
    RegistryDown,
}

/// A producer's use of the registry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct ProducerState {
    /// `(subject, version)` index of what it writes, if it uses the registry.
    schema: Option<(u32, u32)>,
    cached: bool,
    /// When the lookup under way ends (or the next try, when down).
    lookup_until: Option<VirtualTime>,
    lookups: u64,
}

/// The registry of a running engine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Registry {
    /// The registry's Mermaid id.
    pub name: String,
    /// Its compatibility mode.
    pub compat: Compatibility,
    /// Lookup latency, virtual µs.
    pub lookup_us: u64,
    /// Whether it is up (a crash takes it down).
    pub up: bool,
    /// Its subjects, by name.
    pub subjects: Vec<Subject>,
    /// Its counters.
    pub counters: RegistryCounters,
    /// Per topic index: `(subject, version)` indices.
    topic_schema: Vec<(u32, u32)>,
    /// Per source index.
    producers: Vec<ProducerState>,

    /// Per topic: whether reactions publishing to it use the registry.
    reactions_use: Vec<bool>,
    /// Per group: whether it uses the registry.
    groups_use: Vec<bool>,
    /// Per group, per instance: the schema ids it has cached.
    caches: Vec<Vec<BTreeSet<u32>>>,
    /// The command handler's use of it (`None`: no handler).
    #[serde(default)]
    handler: Option<ProducerState>,
}

/// What the engine tells the registry about itself when it is built.
pub struct Wiring<'a> {
    /// Topic names (event types, maybe `Type@Bus`), by index.
    pub topics: &'a [String],
    /// Per source: its component's Mermaid id and topic index.
    pub sources: &'a [(String, u32)],
    /// Per group: its name (Mermaid id).
    pub groups: &'a [String],
    /// Reactions: (reacting component's Mermaid id, `on` type, output topic index, `emit` type).
    pub reactions: &'a [(String, String, u32, String)],
    /// The command handler's Mermaid id and topic index, if there is one.
    pub handler: Option<(&'a str, u32)>,
}

impl Registry {
    /// Builds the registry of `spec` for an engine wired as `wiring`:
    /// subjects from the topics' names (and reactions), every version
    /// registered in order under the mode, and which producers, reactions
    /// and groups use it (those with a connection to or from it).
    pub fn new(spec: &RegistrySpec, graph: &ArchGraph, wiring: &Wiring<'_>) -> Registry {
        let users = registry_users(graph, &spec.component);
        // A type upcast into a higher version of another subject belongs to it.
        let mut renamed: BTreeMap<&str, &str> = BTreeMap::new();
        for (_, on, _, emit) in wiring.reactions {
            let (a, va) = split_version(on);
            let (b, vb) = split_version(emit);
            if a != b && va < vb {
                renamed.insert(on.as_str(), b);
            }
        }
        let mut by_subject: BTreeMap<String, BTreeMap<u32, String>> = BTreeMap::new();
        for name in wiring.topics {
            let ty = name.split('@').next().unwrap_or(name);
            let (base, v) = split_version(ty);
            let subject = renamed.get(ty).copied().unwrap_or(base);
            by_subject
                .entry(subject.to_string())
                .or_default()
                .entry(v)
                .or_insert_with(|| ty.to_string());
        }
        let mut next_id = 1;
        let mut subjects = Vec::new();
        for (name, versions) in by_subject {
            let mut out: Vec<SchemaVersion> = Vec::new();
            for (version, event_type) in versions {
                let change = spec.changes.get(&event_type).copied().unwrap_or_default();
                let latest = out.iter().rev().find(|v| v.id.is_some());
                let refused = match latest {
                    Some(l) if !spec.compat.allows(change) => Some(format!(
                        "{} ({}) is not {} compatible with version {}",
                        event_type,
                        change.word(),
                        spec.compat.word(),
                        l.version
                    )),
                    _ => None,
                };
                let id = refused.is_none().then(|| {
                    next_id += 1;
                    next_id - 1
                });
                out.push(SchemaVersion {
                    version,
                    event_type,
                    change,
                    id,
                    refused,
                    produced: 0,
                    rejected: 0,
                });
            }
            subjects.push(Subject {
                name,
                versions: out,
            });
        }
        let locate = |name: &str| -> (u32, u32) {
            let ty = name.split('@').next().unwrap_or(name);
            for (s, subj) in subjects.iter().enumerate() {
                if let Some(v) = subj.versions.iter().position(|v| v.event_type == ty) {
                    return (s as u32, v as u32);
                }
            }
            debug_assert!(false, "topic {name} has no subject");
            (0, 0)
        };
        let topic_schema: Vec<(u32, u32)> = wiring.topics.iter().map(|t| locate(t)).collect();
        let producers = wiring
            .sources
            .iter()
            .map(|(component, t)| ProducerState {
                schema: users
                    .contains(component.as_str())
                    .then(|| topic_schema[*t as usize]),
                cached: false,
                lookup_until: None,
                lookups: 0,
            })
            .collect();
        let mut reactions_use = vec![false; wiring.topics.len()];
        for (component, _, out, _) in wiring.reactions {
            if users.contains(component.as_str()) {
                reactions_use[*out as usize] = true;
            }
        }
        let handler = wiring.handler.map(|(component, t)| ProducerState {
            schema: users.contains(component).then(|| topic_schema[t as usize]),
            cached: false,
            lookup_until: None,
            lookups: 0,
        });
        let groups_use: Vec<bool> = wiring
            .groups
            .iter()
            .map(|g| users.contains(g.as_str()))
            .collect();
        Registry {
            name: spec.component.clone(),
            compat: spec.compat,
            lookup_us: spec.lookup_us,
            up: true,
            subjects,
            counters: RegistryCounters::default(),
            topic_schema,
            producers,
            reactions_use,
            caches: vec![Vec::new(); groups_use.len()],
            groups_use,
            handler,
        }
    }

    fn version(&self, (s, v): (u32, u32)) -> Option<&SchemaVersion> {
        self.subjects.get(s as usize)?.versions.get(v as usize)
    }

    fn version_mut(&mut self, (s, v): (u32, u32)) -> Option<&mut SchemaVersion> {
        self.subjects
            .get_mut(s as usize)?
            .versions
            .get_mut(v as usize)
    }

    /// The schema id of topic `t`'s version, if registered.
    pub fn topic_id(&self, t: u32) -> Option<u32> {
        let at = *self.topic_schema.get(t as usize)?;
        self.version(at)?.id
    }

    /// The registry state of source `s` ([`HANDLER_SOURCE`]: the command handler).
    fn producer(&self, s: u32) -> Option<&ProducerState> {
        if s == HANDLER_SOURCE {
            self.handler.as_ref()
        } else {
            self.producers.get(s as usize)
        }
    }

    /// Whether source `s` ([`HANDLER_SOURCE`]: the command handler)
    /// serializes through the registry.
    pub fn source_uses(&self, s: u32) -> bool {
        self.producer(s).is_some_and(|p| p.schema.is_some())
    }

    /// What source `s` does with its next record at `now`, its topic
    /// `poisoned` or not (see the module doc). A wait starts or finishes a
    /// lookup; the caller holds the record and offers it again then.
    pub fn produce(&mut self, s: u32, now: VirtualTime, poisoned: bool) -> ProduceOutcome {
        let outcome = self.prepare(s, now, poisoned);
        if outcome == ProduceOutcome::Publish {
            self.count_produced(s);
        }
        outcome
    }

    /// Counts a record of source `s` serialized with its schema (after
    /// [`Registry::prepare`] said [`ProduceOutcome::Publish`]).
    pub fn count_produced(&mut self, s: u32) {
        if let Some(at) = self.producer(s).and_then(|p| p.schema)
            && let Some(v) = self.version_mut(at)
        {
            v.produced += 1;
        }
    }

    /// [`Registry::produce`] without counting a record published: the
    /// command handler asks before it appends, and counts with
    /// [`Registry::count_produced`] once the command is accepted.
    pub fn prepare(&mut self, s: u32, now: VirtualTime, poisoned: bool) -> ProduceOutcome {
        let (up, lookup_us) = (self.up, self.lookup_us);
        let state = if s == HANDLER_SOURCE {
            self.handler.as_mut()
        } else {
            self.producers.get_mut(s as usize)
        };
        let Some(p) = state else {
            return ProduceOutcome::Publish;
        };
        let Some(at) = p.schema else {
            return ProduceOutcome::Publish;
        };
        if !p.cached {
            match p.lookup_until {
                Some(until) if now < until => return ProduceOutcome::Wait(until),
                Some(_) if up => {
                    p.cached = true;
                    p.lookup_until = None;
                    p.lookups += 1;
                    self.counters.lookups_served += 1;
                }
                _ if !up => {
                    let next = now.plus_us(RETRY_US);
                    p.lookup_until = Some(next);
                    self.counters.lookups_failed += 1;
                    return ProduceOutcome::Wait(next);
                }
                _ if lookup_us > 0 => {
                    let until = now.plus_us(lookup_us);
                    p.lookup_until = Some(until);
                    return ProduceOutcome::Wait(until);
                }
                _ => {
                    p.cached = true;
                    p.lookups += 1;
                    self.counters.lookups_served += 1;
                }
            }
        }
        let registered = self.version(at).is_some_and(|v| v.id.is_some());
        let outcome = if !registered {
            self.counters.rejected_unregistered += 1;
            ProduceOutcome::Unregistered
        } else if poisoned {
            self.counters.rejected_malformed += 1;
            ProduceOutcome::Malformed
        } else {
            ProduceOutcome::Publish
        };
        if outcome != ProduceOutcome::Publish
            && let Some(v) = self.version_mut(at)
        {
            v.rejected += 1;
        }
        outcome
    }

    /// Whether group `g` deserializes through the registry.
    #[inline]
    pub fn group_uses(&self, g: u32) -> bool {
        self.groups_use.get(g as usize).copied().unwrap_or(false)
    }

    /// The schema id a record of topic `t` written by `source` carries
    /// (`None`: written without the registry).
    pub fn record_id(&self, t: u32, source: u32, sources: usize) -> Option<u32> {
        let uses = if (source as usize) < sources || source == HANDLER_SOURCE {
            self.source_uses(source)
        } else {
            self.reactions_use.get(t as usize).copied().unwrap_or(false)
        };
        if uses { self.topic_id(t) } else { None }
    }

    /// Whether instance `i` of group `g` would need a lookup for `id`
    /// that the registry can answer now (the attempt then takes the
    /// lookup latency longer).
    pub fn lookup_cost_us(&self, g: u32, i: u32, id: Option<u32>) -> u64 {
        let Some(id) = id else { return 0 };
        let cached = self
            .caches
            .get(g as usize)
            .and_then(|c| c.get(i as usize))
            .is_some_and(|c| c.contains(&id));
        if cached || !self.up {
            0
        } else {
            self.lookup_us
        }
    }

    /// Instance `i` of group `g` deserializes a record carrying `id`:
    /// from its cache, or by a lookup (cached then), or not at all.
    pub fn decode(&mut self, g: u32, i: u32, id: Option<u32>) -> Result<(), DecodeFailure> {
        let Some(id) = id else {
            self.counters.undecodable += 1;
            return Err(DecodeFailure::NoSchemaId);
        };
        let Some(group) = self.caches.get_mut(g as usize) else {
            return Ok(());
        };
        if group.len() <= i as usize {
            group.resize(i as usize + 1, BTreeSet::new());
        }
        let cache = &mut group[i as usize];
        if cache.contains(&id) {
            return Ok(());
        }
        if !self.up {
            self.counters.lookups_failed += 1;
            return Err(DecodeFailure::RegistryDown);
        }
        cache.insert(id);
        self.counters.lookups_served += 1;
        Ok(())
    }

    /// Instance `i` of group `g` went down: a restarted process starts
    /// with an empty cache.
    pub fn forget_instance(&mut self, g: u32, i: u32) {
        if let Some(c) = self
            .caches
            .get_mut(g as usize)
            .and_then(|c| c.get_mut(i as usize))
        {
            c.clear();
        }
    }

    /// A group added mid-run (it does not use the registry: it has no
    /// connection in the diagram).
    pub fn add_group(&mut self) {
        self.groups_use.push(false);
        self.caches.push(Vec::new());
    }

    /// The registry in brief, for the summary and the inspector.
    /// `source_names`: (component, event type) per source, then the
    /// command handler's if there is one.
    pub fn summary(
        &self,
        source_names: &[(String, String)],
        group_names: &[String],
    ) -> RegistrySummary {
        let producers = self
            .producers
            .iter()
            .chain(&self.handler)
            .zip(source_names)
            .filter(|(p, _)| p.schema.is_some())
            .map(|(p, (component, event_type))| ClientSummary {
                client: format!("{component} ({event_type})"),
                cached_ids: if p.cached {
                    p.schema
                        .and_then(|at| self.version(at))
                        .and_then(|v| v.id)
                        .into_iter()
                        .collect()
                } else {
                    Vec::new()
                },
                lookups: p.lookups,
            })
            .collect();
        let mut consumers = Vec::new();
        for (g, name) in group_names.iter().enumerate() {
            if !self.group_uses(g as u32) {
                continue;
            }
            let caches = self.caches.get(g).map_or(&[][..], Vec::as_slice);
            if caches.is_empty() {
                consumers.push(ClientSummary {
                    client: format!("{name}#0"),
                    cached_ids: Vec::new(),
                    lookups: 0,
                });
            }
            for (i, c) in caches.iter().enumerate() {
                consumers.push(ClientSummary {
                    client: format!("{name}#{i}"),
                    cached_ids: c.iter().copied().collect(),
                    lookups: c.len() as u64,
                });
            }
        }
        RegistrySummary {
            component: self.name.clone(),
            up: self.up,
            compat: self.compat,
            lookup_us: self.lookup_us,
            subjects: self.subjects.clone(),
            counters: self.counters,
            producers,
            consumers,
        }
    }
}

/// The components with a connection to or from the registry `key`.
fn registry_users<'g>(graph: &'g ArchGraph, key: &str) -> BTreeSet<&'g str> {
    let Some(reg) = graph.id_of(key) else {
        return BTreeSet::new();
    };
    graph
        .connections()
        .filter_map(|c| {
            if c.to == reg {
                Some(graph.key_of(c.from))
            } else if c.from == reg {
                Some(graph.key_of(c.to))
            } else {
                None
            }
        })
        .collect()
}

/// One client of the registry in brief.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientSummary {
    /// `Producer (Type)` or `Group#instance`.
    pub client: String,
    /// The schema ids it has cached.
    pub cached_ids: Vec<u32>,
    /// Lookups it made (a consumer instance: ids it looked up since it
    /// last started).
    pub lookups: u64,
}

/// The registry's state, for `simulate` and the inspector.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistrySummary {
    /// Its Mermaid id.
    pub component: String,
    /// Whether it is up.
    pub up: bool,
    /// Its compatibility mode.
    pub compat: Compatibility,
    /// Lookup latency, virtual µs.
    pub lookup_us: u64,
    /// Subjects and versions, with ids and refusals.
    pub subjects: Vec<Subject>,
    /// What it and its clients did.
    pub counters: RegistryCounters,
    /// Producers using it.
    pub producers: Vec<ClientSummary>,
    /// Consumer instances using it.
    pub consumers: Vec<ClientSummary>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(text: &str) -> ArchGraph {
        match crate::mermaid::parse_flowchart(text) {
            Ok(chart) => ArchGraph::from_flowchart(&chart),
            Err(d) => panic!("{}", d.render("test", text)),
        }
    }

    const DIAGRAM: &str = "flowchart LR\n  P[Checkout]:::producer -->|OrderPlacedV1| K[[Kafka]]\n  Q[Checkout2]:::producer -->|OrderPlacedV2| K\n  K -->|OrderPlacedV2| B[Billing]:::consumer\n  P -.-> R[(Schema Registry)]:::schema\n  Q -.-> R\n  B -.-> R\n";

    fn registry(compat: Compatibility, change: Option<SchemaChange>) -> Registry {
        let g = graph(DIAGRAM);
        let mut spec = RegistrySpec::for_graph(&g).expect("a registry node");
        spec.compat = compat;
        if let Some(c) = change {
            spec.changes.insert("OrderPlacedV2".into(), c);
        }
        let topics = ["OrderPlacedV1".to_string(), "OrderPlacedV2".to_string()];
        let sources = [("P".to_string(), 0), ("Q".to_string(), 1)];
        let groups = ["B".to_string()];
        Registry::new(
            &spec,
            &g,
            &Wiring {
                topics: &topics,
                sources: &sources,
                groups: &groups,
                reactions: &[],
                handler: None,
            },
        )
    }

    #[test]
    fn versions_come_from_the_names() {
        assert_eq!(split_version("OrderPlacedV2"), ("OrderPlaced", 2));
        assert_eq!(split_version("OrderPlacedv10"), ("OrderPlaced", 10));
        assert_eq!(split_version("OrderPlaced"), ("OrderPlaced", 1));
        assert_eq!(split_version("V2"), ("V2", 1));
        assert_eq!(split_version("Order2"), ("Order2", 1));
        assert_eq!(split_version(""), ("", 1));
        let r = registry(Compatibility::Backward, None);
        assert_eq!(r.subjects.len(), 1);
        let ids: Vec<Option<u32>> = r.subjects[0].versions.iter().map(|v| v.id).collect();
        assert_eq!(ids, vec![Some(1), Some(2)]);
    }

    #[test]
    fn the_mode_decides_which_versions_register() {
        let cases = [
            (Compatibility::Backward, SchemaChange::AddRequired, false),
            (Compatibility::Forward, SchemaChange::AddRequired, true),
            (Compatibility::Backward, SchemaChange::RemoveRequired, true),
            (Compatibility::Forward, SchemaChange::RemoveRequired, false),
            (Compatibility::Full, SchemaChange::AddOptional, true),
            (Compatibility::Full, SchemaChange::AddRequired, false),
            (Compatibility::None, SchemaChange::Breaking, true),
            (Compatibility::Backward, SchemaChange::Breaking, false),
        ];
        for (mode, change, registered) in cases {
            let r = registry(mode, Some(change));
            let v2 = &r.subjects[0].versions[1];
            assert_eq!(v2.id.is_some(), registered, "{mode:?} {change:?}");
            assert_eq!(v2.refused.is_some(), !registered, "{mode:?} {change:?}");
        }
    }

    #[test]
    fn a_producer_looks_up_once_then_publishes_from_its_cache() {
        let mut r = registry(Compatibility::Backward, None);
        r.lookup_us = 2_000;
        let t0 = VirtualTime::from_millis(10);
        let until = t0.plus_us(2_000);
        assert_eq!(r.produce(0, t0, false), ProduceOutcome::Wait(until));
        assert_eq!(
            r.produce(0, t0.plus_us(1_000), false),
            ProduceOutcome::Wait(until)
        );
        assert_eq!(r.produce(0, until, false), ProduceOutcome::Publish);
        assert_eq!(
            r.produce(0, until.plus_us(5), false),
            ProduceOutcome::Publish
        );
        assert_eq!(r.counters.lookups_served, 1);
        assert_eq!(r.subjects[0].versions[0].produced, 2);
        // A malformed payload is refused at the producer.
        assert_eq!(
            r.produce(0, until.plus_us(9), true),
            ProduceOutcome::Malformed
        );
        assert_eq!(r.counters.rejected_malformed, 1);
    }

    #[test]
    fn an_unregistered_version_is_rejected_at_the_producer() {
        let mut r = registry(Compatibility::Full, Some(SchemaChange::AddRequired));
        r.lookup_us = 0;
        let t = VirtualTime::from_millis(1);
        assert_eq!(r.produce(1, t, false), ProduceOutcome::Unregistered);
        assert_eq!(r.produce(0, t, false), ProduceOutcome::Publish);
        assert_eq!(r.counters.rejected_unregistered, 1);
        assert_eq!(r.subjects[0].versions[1].rejected, 1);
    }

    #[test]
    fn an_outage_hurts_only_whoever_needs_a_lookup() {
        let mut r = registry(Compatibility::Backward, None);
        r.lookup_us = 0;
        let t = VirtualTime::from_millis(1);
        let id = r.record_id(1, 1, 2);
        assert_eq!(id, Some(2));
        assert_eq!(r.decode(0, 0, id), Ok(()));
        r.up = false;
        // Instance 0 has the id; instance 1 needs a lookup and fails.
        assert_eq!(r.decode(0, 0, id), Ok(()));
        assert_eq!(r.decode(0, 1, id), Err(DecodeFailure::RegistryDown));
        assert_eq!(r.lookup_cost_us(0, 1, id), 0, "no lookup while down");
        // A producer with no cached id waits and tries again.
        assert_eq!(
            r.produce(0, t, false),
            ProduceOutcome::Wait(t.plus_us(RETRY_US))
        );
        // A restarted instance forgets what it had.
        r.forget_instance(0, 0);
        assert_eq!(r.decode(0, 0, id), Err(DecodeFailure::RegistryDown));
        r.up = true;
        assert_eq!(r.decode(0, 0, id), Ok(()));
        assert_eq!(
            r.produce(0, t.plus_us(RETRY_US), false),
            ProduceOutcome::Publish
        );
        assert_eq!(r.counters.lookups_failed, 3);
        // A record written without the registry cannot be decoded.
        assert_eq!(r.decode(0, 0, None), Err(DecodeFailure::NoSchemaId));
    }

    #[test]
    fn an_upcast_type_joins_the_subject_it_is_upcast_into() {
        let g = graph(DIAGRAM);
        let spec = RegistrySpec::for_graph(&g).expect("registry");
        let topics = ["LegacyOrderV1".to_string(), "OrderPlacedV2".to_string()];
        let reactions = [(
            "B".to_string(),
            "LegacyOrderV1".to_string(),
            1,
            "OrderPlacedV2".to_string(),
        )];
        let r = Registry::new(
            &spec,
            &g,
            &Wiring {
                topics: &topics,
                sources: &[],
                groups: &[],
                reactions: &reactions,
                handler: None,
            },
        );
        assert_eq!(r.subjects.len(), 1, "{:?}", r.subjects);
        assert_eq!(r.subjects[0].name, "OrderPlaced");
        assert!(r.reactions_use[1], "B uses the registry");
    }
}
