//! The delivery tap: while on, the engine watches one event — where it was
//! published, every attempt any group made at it, what caused it (the
//! record a reacting group was applying) and what it caused — so that an
//! [`EventTrace`] can be had for any event of a run by re-running a slice
//! of it (see [`crate::sim::Tracer`]) instead of keeping per-delivery data
//! for the whole run.
//!
//! Off (the default), the engine pays one `is_some` check per publish and
//! per finished attempt, and nothing per event in memory. The tap lives
//! beside the engine's state, never in [`Record`]: causation is not stored
//! anywhere, it is observed again when the reaction happens.
//!
//! Also here: [`Engine::topic_routes`], who publishes to and reads from
//! each topic, which the event log needs to name producers and filter by
//! component. Part of `sim`: no wall-clock time, no GUI types.

use super::{Engine, REACTION_SOURCE};
use crate::sim::bus::{Offset, Record};
use crate::sim::clock::VirtualTime;
use crate::sim::cqrs::HANDLER_SOURCE;
use crate::sim::scenario::Payload;
use serde::Serialize;

/// Attempts of one event a trace keeps (a poisoned event under a long
/// retry policy makes `max_attempts` per group).
pub const MAX_TRACED_ATTEMPTS: usize = 1024;
/// Events caused by one event that a trace keeps.
pub const MAX_TRACED_EFFECTS: usize = 256;

/// How one delivery attempt of an event ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum AttemptOutcome {
    /// Processed and its side effect applied.
    Processed,
    /// Processed again (a re-delivery after a crash or a reset) and its
    /// side effect applied again.
    Reapplied,
    /// Processed, but the group's dedupe store had seen it: skipped as a
    /// duplicate.
    SkippedDuplicate,
    /// Failed; the group retries it at `retry_at`.
    Failed {
        /// When the next attempt starts.
        retry_at: VirtualTime,
    },
    /// Failed for the last time: moved to the group's dead-letter topic.
    DeadLettered,
}

impl AttemptOutcome {
    /// Whether the group is done with the event after this attempt.
    pub fn is_final(self) -> bool {
        !matches!(self, AttemptOutcome::Failed { .. })
    }
}

/// One delivery attempt of a traced event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeliveryAttempt {
    /// The consumer group (its component's Mermaid id).
    pub group: String,
    /// The group's instance that worked on it.
    pub instance: u32,
    /// 1 for the first attempt of this delivery, 2 for its first retry, …
    pub attempt: u32,
    /// When the attempt started.
    pub start: VirtualTime,
    /// When it ended.
    pub end: VirtualTime,
    /// How it ended.
    pub outcome: AttemptOutcome,
}

/// An event as it was published: where it went and what it carried.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TracedEvent {
    /// Unique per run, in publish order.
    pub event_id: u64,
    /// The topic's name (the event type, `Type@Bus` when on several buses).
    pub topic: String,
    /// Partition within the topic.
    pub partition: u32,
    /// Offset within the partition.
    pub offset: u64,
    /// The aggregate id it is keyed by.
    pub key: u64,
    /// When it was appended.
    pub produced_at: VirtualTime,
    /// The component that published it (Mermaid id).
    pub producer: String,
    /// The bus it was published to (Mermaid id).
    pub bus: String,
    /// Its fields.
    pub payload: Payload,
    /// Poisoned by a fault: every attempt at it fails.
    pub poisoned: bool,
}

/// Everything the tap saw of one event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventTrace {
    /// The event watched.
    pub event_id: u64,
    /// Where and what it was, once published.
    pub event: Option<TracedEvent>,
    /// The groups subscribed to its topic when it was published.
    pub subscribers: Vec<String>,
    /// Those not yet done with it (processed, skipped or dead-lettered).
    pub pending: Vec<String>,
    /// Every attempt, in the order they ended (at most [`MAX_TRACED_ATTEMPTS`]).
    pub attempts: Vec<DeliveryAttempt>,
    /// The event whose application made a group publish this one (reactions).
    pub cause: Option<TracedEvent>,
    /// The events its application made groups publish (at most [`MAX_TRACED_EFFECTS`]).
    pub caused: Vec<TracedEvent>,
    /// The diagram edges it travelled, `(from, to)` Mermaid ids: producer →
    /// bus, bus → each group that worked on it, group → its sinks when applied.
    pub edges: Vec<(String, String)>,
}

impl EventTrace {
    fn new(event_id: u64) -> EventTrace {
        EventTrace {
            event_id,
            event: None,
            subscribers: Vec::new(),
            pending: Vec::new(),
            attempts: Vec::new(),
            cause: None,
            caused: Vec::new(),
            edges: Vec::new(),
        }
    }

    /// Whether it was published and every subscribed group is done with it.
    pub fn is_complete(&self) -> bool {
        self.event.is_some() && self.pending.is_empty()
    }

    fn add_edge(&mut self, from: &str, to: &str) {
        if !self.edges.iter().any(|(a, b)| a == from && b == to) {
            self.edges.push((from.to_string(), to.to_string()));
        }
    }
}

/// The engine-side state of a trace (see the module doc).
#[derive(Debug, Clone)]
pub(crate) struct DeliveryTap {
    trace: EventTrace,
    /// Groups (indices) subscribed and not done with the event.
    pending: Vec<u32>,
    /// The record the last processed delivery applied — the cause of what
    /// a reaction publishes next: (group, topic, partition, offset, record).
    applying: Option<(u32, u32, u32, u64, Record)>,
}

/// Who publishes to and reads from one topic.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TopicRoute {
    /// The topic's name.
    pub topic: String,
    /// The event type it carries (the name without `@Bus`).
    pub event_type: String,
    /// The bus (Mermaid id).
    pub bus: String,
    /// Each stream into it: the [`Record::source`] its records carry and
    /// the publishing component (Mermaid id).
    pub producers: Vec<(u32, String)>,
    /// The consumer groups reading it.
    pub groups: Vec<String>,
    /// The sinks those groups write to.
    pub sinks: Vec<String>,
}

impl TopicRoute {
    /// The component that published a record with this `source`.
    pub fn producer(&self, source: u32) -> &str {
        self.producers
            .iter()
            .find(|(s, _)| *s == source)
            .map_or("?", |(_, k)| k.as_str())
    }
}

impl Engine {
    /// Starts watching event `event_id` (replacing any trace): its publish,
    /// every delivery attempt at it, its cause and its effects. Meant for
    /// a re-run of a slice of a recorded run; costs nothing when off.
    pub fn trace_event(&mut self, event_id: u64) {
        self.trace = Some(Box::new(DeliveryTap {
            trace: EventTrace::new(event_id),
            pending: Vec::new(),
            applying: None,
        }));
    }

    /// What the trace has seen so far.
    pub fn event_trace(&self) -> Option<&EventTrace> {
        self.trace.as_ref().map(|t| &t.trace)
    }

    /// Stops watching and returns what was seen.
    pub fn stop_trace(&mut self) -> Option<EventTrace> {
        self.trace.take().map(|t| t.trace)
    }

    /// Per topic (in [`Engine::topics`] order): its producers, bus, groups
    /// and their sinks.
    pub fn topic_routes(&self) -> Vec<TopicRoute> {
        let key = |slot: u32| self.metrics[slot as usize].key.clone();
        self.topics
            .iter()
            .enumerate()
            .map(|(t, topic)| {
                let t = t as u32;
                let bus = key(topic.bus);
                let mut producers: Vec<(u32, String)> = self
                    .sources
                    .iter()
                    .enumerate()
                    .filter(|(_, s)| s.topic == t)
                    .map(|(i, s)| (i as u32, key(s.component)))
                    .collect();
                for g in &self.groups {
                    for r in g.reactions.iter().filter(|r| r.out == t) {
                        if !producers.iter().any(|(s, _)| *s == REACTION_SOURCE) {
                            producers.push((REACTION_SOURCE, key(r.component)));
                        }
                    }
                }
                if let Some(h) = self.handler.as_ref().filter(|h| h.topic == t) {
                    producers.push((HANDLER_SOURCE, key(h.component)));
                }
                let mut groups = Vec::new();
                let mut sinks: Vec<String> = Vec::new();
                for &(g, _) in &topic.subscriptions {
                    let grp = &self.groups[g as usize];
                    groups.push(grp.name.clone());
                    for &s in &grp.sinks {
                        let k = key(s);
                        if !sinks.contains(&k) {
                            sinks.push(k);
                        }
                    }
                }
                let suffix = format!("@{bus}");
                let event_type = topic
                    .name
                    .strip_suffix(&suffix)
                    .unwrap_or(&topic.name)
                    .to_string();
                TopicRoute {
                    topic: topic.name.clone(),
                    event_type,
                    bus,
                    producers,
                    groups,
                    sinks,
                }
            })
            .collect()
    }

    /// The component that published a record of topic `t` with `source`.
    fn producer_key(&self, t: u32, source: u32, reacting: Option<u32>) -> String {
        let key = |slot: u32| self.metrics[slot as usize].key.clone();
        match source {
            HANDLER_SOURCE => self
                .handler
                .as_ref()
                .map_or_else(|| "?".to_string(), |h| key(h.component)),
            REACTION_SOURCE => reacting
                .map(|g| self.groups[g as usize].name.clone())
                .or_else(|| {
                    self.groups.iter().find_map(|g| {
                        g.reactions
                            .iter()
                            .find(|r| r.out == t)
                            .map(|r| key(r.component))
                    })
                })
                .unwrap_or_else(|| "?".to_string()),
            s => self
                .sources
                .get(s as usize)
                .map_or_else(|| "?".to_string(), |src| key(src.component)),
        }
    }

    fn traced_event(
        &self,
        t: u32,
        p: u32,
        offset: u64,
        record: &Record,
        reacting: Option<u32>,
    ) -> TracedEvent {
        let topic = &self.topics[t as usize];
        TracedEvent {
            event_id: record.event_id,
            topic: topic.name.clone(),
            partition: p,
            offset,
            key: record.key,
            produced_at: record.produced_at,
            producer: self.producer_key(t, record.source, reacting),
            bus: self.metrics[topic.bus as usize].key.clone(),
            payload: record.payload,
            poisoned: record.poisoned,
        }
    }

    /// Hook: a record of `key` was just published on `t/p` by `source`
    /// (`self.produced` is its event id, not yet counted).
    #[cold]
    pub(super) fn trace_published(
        &mut self,
        t: u32,
        p: u32,
        key: u64,
        payload: Payload,
        source: u32,
    ) {
        let Some(tap) = &self.trace else { return };
        let event_id = self.produced;
        let applying = tap.applying;
        let watched = tap.trace.event_id;
        let cause_is_watched = source == REACTION_SOURCE
            && applying.is_some_and(|(_, _, _, _, r)| r.event_id == watched)
            && tap.trace.caused.len() < MAX_TRACED_EFFECTS;
        if event_id != watched && !cause_is_watched {
            return;
        }
        let log = &self.topics[t as usize].partitions[p as usize];
        let offset = log.high_watermark().0.saturating_sub(1);
        let record = log
            .get(Offset(offset))
            .copied()
            .filter(|r| r.event_id == event_id)
            .unwrap_or(Record {
                key,
                produced_at: self.now,
                source,
                payload,
                event_id,
                poisoned: false,
            });
        let reacting_group = applying
            .filter(|_| source == REACTION_SOURCE)
            .map(|(g, ..)| g);
        let me = self.traced_event(t, p, offset, &record, reacting_group);
        let cause = match applying {
            Some((_, at, ap, aoff, arec)) if source == REACTION_SOURCE => {
                Some(self.traced_event(at, ap, aoff, &arec, None))
            }
            _ => None,
        };
        let subscriptions: Vec<u32> = self.topics[t as usize]
            .subscriptions
            .iter()
            .map(|&(g, _)| g)
            .collect();
        let names: Vec<String> = subscriptions
            .iter()
            .map(|&g| self.groups[g as usize].name.clone())
            .collect();
        let Some(tap) = &mut self.trace else { return };
        if event_id == watched {
            let trace = &mut tap.trace;
            trace.add_edge(&me.producer, &me.bus);
            if source == HANDLER_SOURCE
                && let Some(h) = &self.handler
            {
                let gateway = &self.metrics[h.gateway as usize].key;
                trace.add_edge(gateway, &me.producer);
            }
            trace.event = Some(me);
            trace.cause = cause;
            trace.subscribers = names.clone();
            trace.pending = names;
            tap.pending = subscriptions;
        } else {
            tap.trace.caused.push(me);
        }
    }

    /// Hook: worker `w` finished an attempt at `record` (at `offset`) with
    /// `outcome`; called before the worker moves on.
    #[cold]
    pub(super) fn trace_attempt(
        &mut self,
        w: u32,
        offset: u64,
        record: &Record,
        outcome: AttemptOutcome,
    ) {
        let worker = &self.workers[w as usize];
        let (g, t, p) = (worker.group, worker.topic, worker.partition);
        let (instance, attempt, start) = (worker.instance, worker.attempt, worker.started);
        let now = self.now;
        let Some(tap) = &mut self.trace else { return };
        if matches!(
            outcome,
            AttemptOutcome::Processed | AttemptOutcome::Reapplied
        ) {
            tap.applying = Some((g, t, p, offset, *record));
        }
        if record.event_id != tap.trace.event_id {
            return;
        }
        let group = &self.groups[g as usize];
        let trace = &mut tap.trace;
        if trace.attempts.len() < MAX_TRACED_ATTEMPTS {
            trace.attempts.push(DeliveryAttempt {
                group: group.name.clone(),
                instance,
                attempt,
                start,
                end: now,
                outcome,
            });
        }
        let bus = &self.metrics[self.topics[t as usize].bus as usize].key;
        trace.add_edge(bus, &group.name);
        if matches!(
            outcome,
            AttemptOutcome::Processed | AttemptOutcome::Reapplied
        ) {
            for &s in &group.sinks {
                trace.add_edge(&group.name, &self.metrics[s as usize].key);
            }
        }
        if outcome.is_final() {
            tap.pending.retain(|&x| x != g);
            trace.pending.retain(|n| n != &group.name);
        }
    }
}
