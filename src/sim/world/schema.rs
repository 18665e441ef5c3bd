//! The engine's side of the schema registry (`sim/registry.rs`): building
//! it from the engine's wiring, the producer's check before a record is
//! published, the lookup latency a consumer's attempt pays, the
//! consumer's deserialization, and the registry's crash and restart.
//!
//! Every hook sits behind a check of `Engine::registry` (an `Option`), so
//! a diagram without a schema-registry node runs exactly as before and
//! pays one branch where a hook is.

use super::super::bus::Offset;
use super::super::consumer::DeliveryError;
use super::super::fault::Fault;
use super::super::registry::{DecodeFailure, ProduceOutcome, Registry, RegistrySummary, Wiring};
use super::super::scenario::Payload;
use super::{Action, Engine, push};
use crate::model::ArchGraph;

/// Hash-word tag of a record refused at the producer by the registry.
const TAG_REGISTRY: u64 = 1 << 58;

/// The event type of a topic name (`Type@Bus` → `Type`).
fn event_type(topic: &str) -> &str {
    topic.split('@').next().unwrap_or(topic)
}

impl Engine {
    /// Builds the registry when the scenario has one (at the end of
    /// [`Engine::new`]).
    pub(super) fn attach_registry(&mut self, graph: &ArchGraph) {
        let Some(spec) = &self.scenario.registry else {
            return;
        };
        let topics: Vec<String> = self.topics.iter().map(|t| t.name.clone()).collect();
        let key = |slot: u32| self.metrics[slot as usize].key.clone();
        let sources: Vec<(String, u32)> = self
            .sources
            .iter()
            .map(|s| (key(s.component), s.topic))
            .collect();
        let groups: Vec<String> = self.groups.iter().map(|g| g.name.clone()).collect();
        let reactions: Vec<(String, String, u32, String)> = self
            .groups
            .iter()
            .flat_map(|g| g.reactions.iter())
            .map(|r| {
                (
                    key(r.component),
                    event_type(&topics[r.on as usize]).to_string(),
                    r.out,
                    event_type(&topics[r.out as usize]).to_string(),
                )
            })
            .collect();
        let wiring = Wiring {
            topics: &topics,
            sources: &sources,
            groups: &groups,
            reactions: &reactions,
        };
        self.registry = Some(Box::new(Registry::new(spec, graph, &wiring)));
    }

    /// The producer's registry check of source `s`'s record (`key`,
    /// `payload`): true to publish it now; false when it is held for a
    /// lookup (offered again when the lookup ends) or refused (counted;
    /// the source's next arrival is scheduled).
    pub(super) fn registry_admits(&mut self, s: u32, key: u64, payload: Payload) -> bool {
        let now = self.now;
        let t = self.sources[s as usize].topic;
        let poisoned = self.topics[t as usize].poisoned;
        let Some(reg) = self.registry.as_deref_mut() else {
            return true;
        };
        match reg.produce(s, now, poisoned) {
            ProduceOutcome::Publish => true,
            ProduceOutcome::Wait(until) => {
                self.sources[s as usize].held = Some((key, payload));
                push(&mut self.queue, until, Action::Emit(s));
                false
            }
            ProduceOutcome::Unregistered | ProduceOutcome::Malformed => {
                self.hash.add(now.0);
                self.hash.add(TAG_REGISTRY | u64::from(s));
                let next = self.sources[s as usize].next_arrival(now, &mut self.rng);
                push(&mut self.queue, next, Action::Emit(s));
                false
            }
        }
    }

    /// The extra service time worker `w`'s next attempt pays to look up
    /// the schema id of the record at its position (0 when its group does
    /// not use the registry, the id is cached, or the registry is down).
    #[inline]
    pub(super) fn registry_lookup_us(&self, w: u32) -> u64 {
        let Some(reg) = self.registry.as_deref() else {
            return 0;
        };
        let worker = &self.workers[w as usize];
        if !reg.group_uses(worker.group) {
            return 0;
        }
        let log = &self.topics[worker.topic as usize].partitions[worker.partition as usize];
        let Some(record) = log.get(Offset(worker.position)) else {
            return 0;
        };
        let id = reg.record_id(worker.topic, record.source, self.sources.len());
        reg.lookup_cost_us(worker.group, worker.instance, id)
    }

    /// A crash or restart naming the registry takes it down or brings it
    /// up; `None` when `fault` is not about the registry.
    pub(super) fn registry_fault(&mut self, fault: &Fault) -> Option<Result<(), String>> {
        let name = self.registry.as_deref()?.name.clone();
        let up = self.registry.as_deref()?.up;
        let result = match fault {
            Fault::Crash {
                group,
                instance,
                duration_us,
            } if *group == name => {
                if *instance != 0 {
                    return Some(Err(format!("{name} has one instance (0), not {instance}")));
                }
                if !up {
                    return Some(Err(format!("{name} is already down")));
                }
                if let Some(d) = duration_us {
                    let restart = Fault::Restart {
                        group: name.clone(),
                        instance: 0,
                    };
                    if let Err(e) = self.schedule_fault(self.now.plus_us(*d), restart) {
                        return Some(Err(e.to_string()));
                    }
                }
                false
            }
            Fault::Restart { group, .. } if *group == name => {
                if up {
                    return Some(Err(format!("{name} is already up")));
                }
                true
            }
            _ => return None,
        };
        if let Some(reg) = self.registry.as_deref_mut() {
            reg.up = result;
        }
        Some(Ok(()))
    }

    /// Whether `key` is the schema registry of this run.
    pub(super) fn is_registry(&self, key: &str) -> bool {
        self.registry.as_deref().is_some_and(|r| r.name == key)
    }

    /// The schema registry's state (subjects, versions and ids, lookups,
    /// refusals, its clients' caches), if the diagram has one.
    pub fn registry(&self) -> Option<RegistrySummary> {
        let reg = self.registry.as_deref()?;
        let sources: Vec<(String, String)> = self
            .sources
            .iter()
            .map(|s| {
                (
                    self.metrics[s.component as usize].key.clone(),
                    self.topics[s.topic as usize].name.clone(),
                )
            })
            .collect();
        let groups: Vec<String> = self.groups.iter().map(|g| g.name.clone()).collect();
        Some(reg.summary(&sources, &groups))
    }
}

/// Whether instance `i` of group `g` fails to deserialize a record of
/// topic `t` written by `source` (`sources`: how many sources the engine
/// has); `None` when it decodes or the group does not use the registry.
#[inline]
pub(super) fn decode_error(
    reg: &mut Registry,
    g: u32,
    i: u32,
    t: u32,
    source: u32,
    sources: usize,
) -> Option<DeliveryError> {
    if !reg.group_uses(g) {
        return None;
    }
    let id = reg.record_id(t, source, sources);
    match reg.decode(g, i, id) {
        Ok(()) => None,
        Err(DecodeFailure::NoSchemaId) => Some(DeliveryError::Undecodable),
        Err(DecodeFailure::RegistryDown) => Some(DeliveryError::RegistryDown),
    }
}

/// Whether a record of topic `t` from `source` was checked against its
/// schema at the producer, so a poisoned type never reached it (its
/// producer refused the malformed records instead).
pub(super) fn validated(reg: Option<&Registry>, t: u32, source: u32, sources: usize) -> bool {
    reg.is_some_and(|r| r.record_id(t, source, sources).is_some())
}

#[cfg(test)]
mod tests {
    use super::super::super::{Compatibility, Fault, Scenario, SchemaChange, VirtualTime};
    use super::*;

    /// Two producers of two versions; only `P1` and `B` use the registry.
    const DIAGRAM: &str = "flowchart LR
    P1[Checkout v1]:::producer -->|OrderPlacedV1| K[[Kafka]]
    P2[Checkout v2]:::producer -->|OrderPlacedV2| K
    K -->|OrderPlacedV1| B[Billing]:::consumer
    K -->|OrderPlacedV2| B
    P1 -.-> R[(Schema Registry)]:::schema
    B -.-> R
";

    fn engine(edit: impl FnOnce(&mut Scenario)) -> Engine {
        let chart = crate::mermaid::parse_flowchart(DIAGRAM).expect("parses");
        let g = ArchGraph::from_flowchart(&chart);
        let mut s = Scenario::default_for(&g);
        edit(&mut s);
        Engine::new(&g, s, 3).expect("builds")
    }

    fn appended(e: &Engine, topic: &str) -> u64 {
        let t = e.topics().iter().find(|t| t.name() == topic).expect(topic);
        t.partitions().iter().map(|p| p.high_watermark().0).sum()
    }

    #[test]
    fn records_without_a_schema_id_fail_deserialization_and_are_dead_lettered() {
        let mut e = engine(|s| {
            if let Some(b) = s.groups.get_mut("B") {
                b.retry.max_attempts = 2;
            }
        });
        e.run_until(VirtualTime::from_secs(2));
        let reg = e.registry().expect("a registry");
        let b = e.delivery_counters("B").expect("B");
        // P2 writes without the registry: each of its records fails every
        // attempt at B and ends in B's DLQ; P1's decode.
        let v2 = appended(&e, "OrderPlacedV2");
        assert!(v2 > 100, "{v2}");
        assert!(
            b.dead_lettered + 30 >= v2 && b.dead_lettered <= v2,
            "{b:?} of {v2}"
        );
        assert_eq!(b.failures, reg.counters.undecodable, "{reg:?}");
        assert!(reg.counters.undecodable >= 2 * b.dead_lettered, "{reg:?}");
        let letters = e.dead_letters("B").expect("B");
        assert!(
            letters
                .records
                .iter()
                .all(|l| l.error == DeliveryError::Undecodable && l.topic == "OrderPlacedV2")
        );
        // B's one instance looked up P1's schema id once, then cached it.
        assert_eq!(reg.consumers.len(), 1);
        assert_eq!(reg.consumers[0].cached_ids, vec![1]);
        assert_eq!(reg.producers.len(), 1, "only P1 uses the registry");
        assert_eq!(reg.counters.lookups_served, 2, "{reg:?}");
    }

    #[test]
    fn an_incompatible_version_is_refused_at_the_producer_and_never_reaches_the_bus() {
        // V2 breaks V1: the registry refuses it under backward.
        let mut e = engine(|s| {
            let r = s.registry.as_mut().expect("registry");
            r.compat = Compatibility::Backward;
            r.changes
                .insert("OrderPlacedV2".into(), SchemaChange::Breaking);
        });
        e.run_until(VirtualTime::from_secs(1));
        let reg = e.registry().expect("registry");
        assert!(reg.subjects[0].versions[1].refused.is_some(), "{reg:?}");
        assert_eq!(reg.subjects[0].versions[1].id, None);
        assert_eq!(reg.counters.rejected_unregistered, 0, "P2 does not use it");

        // With P2 wired to the registry, its V2 records are refused.
        let text = format!("{DIAGRAM}    P2 -.-> R\n");
        let chart = crate::mermaid::parse_flowchart(&text).expect("parses");
        let g = ArchGraph::from_flowchart(&chart);
        let mut s = Scenario::default_for(&g);
        if let Some(r) = s.registry.as_mut() {
            r.changes
                .insert("OrderPlacedV2".into(), SchemaChange::Breaking);
        }
        let mut e = Engine::new(&g, s, 3).expect("builds");
        e.run_until(VirtualTime::from_secs(1));
        let reg = e.registry().expect("registry");
        assert!(reg.counters.rejected_unregistered > 50, "{reg:?}");
        assert_eq!(
            appended(&e, "OrderPlacedV2"),
            0,
            "nothing refused is appended"
        );
        assert!(appended(&e, "OrderPlacedV1") > 50);
        assert_eq!(e.delivery_counters("B").expect("B").failures, 0);
    }

    #[test]
    fn lookups_cost_their_latency_once_per_client() {
        let slow = |lookup_us: u64| {
            let mut e = engine(|s| {
                if let Some(r) = s.registry.as_mut() {
                    r.lookup_us = lookup_us;
                }
            });
            e.run_until(VirtualTime::from_secs(2));
            e
        };
        let (fast, slow) = (slow(0), slow(300_000));
        let max = |e: &Engine| {
            e.component_metrics("B")
                .expect("B")
                .processing_us
                .summary()
                .max_us
        };
        // The first V1 record at B waits 300 ms for its lookup; only once.
        assert!(max(&slow) >= 300_000, "{}", max(&slow));
        assert!(max(&fast) < 100_000, "{}", max(&fast));
        let reg = slow.registry().expect("registry");
        assert_eq!(reg.counters.lookups_served, 2, "{reg:?}");
    }

    #[test]
    fn a_registry_crash_and_restart_are_faults_of_the_run() {
        let mut e = engine(|_| {});
        e.run_until(VirtualTime::from_millis(100));
        let crash = Fault::Crash {
            group: "R".into(),
            instance: 0,
            duration_us: Some(500_000),
        };
        e.apply_fault(crash.clone())
            .expect("the registry goes down");
        assert!(!e.registry().expect("registry").up);
        assert!(e.apply_fault(crash).is_err(), "already down");
        e.run_until(VirtualTime::from_millis(700));
        assert!(e.registry().expect("registry").up, "restarted by itself");
        assert!(
            e.apply_fault(Fault::Restart {
                group: "R".into(),
                instance: 0
            })
            .is_err(),
            "already up"
        );
        // Instance 0 of B had its id cached: it never noticed.
        assert_eq!(e.registry().expect("registry").counters.lookups_failed, 0);
    }
}
