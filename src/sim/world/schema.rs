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
use super::super::cqrs::HANDLER_SOURCE;
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
        let handler = self.handler.as_ref().map(|h| (key(h.component), h.topic));
        let wiring = Wiring {
            topics: &topics,
            sources: &sources,
            groups: &groups,
            reactions: &reactions,
            handler: handler.as_ref().map(|(k, t)| (k.as_str(), *t)),
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

    /// The registry check of the event the command in handler slot `s`
    /// would publish, before the handler appends it: true to go on; false
    /// when the slot waits for a lookup (its `Handled` action comes again
    /// then) or the registry refuses the event (the command is rejected,
    /// counted in `rejected_schema`, and the slot takes the next one).
    pub(super) fn registry_admits_command(&mut self, s: usize) -> bool {
        let now = self.now;
        let Some(h) = self.handler.as_ref() else {
            return true;
        };
        let poisoned = self.topics[h.topic as usize].poisoned;
        let Some(reg) = self.registry.as_deref_mut() else {
            return true;
        };
        if !reg.source_uses(HANDLER_SOURCE) {
            return true;
        }
        match reg.prepare(HANDLER_SOURCE, now, poisoned) {
            ProduceOutcome::Publish => true,
            ProduceOutcome::Wait(until) => {
                push(&mut self.queue, until, Action::Handled(s as u32));
                false
            }
            ProduceOutcome::Unregistered | ProduceOutcome::Malformed => {
                self.hash.add(now.0);
                self.hash.add(TAG_REGISTRY | u64::from(HANDLER_SOURCE));
                if let Some(h) = self.handler.as_mut() {
                    h.slots[s].busy = false;
                    h.counters.rejected_schema += 1;
                }
                self.start_commands();
                false
            }
        }
    }

    /// Counts the accepted command's event as serialized with its schema
    /// (the handler uses the registry).
    pub(super) fn registry_count_command(&mut self) {
        if let Some(reg) = self.registry.as_deref_mut() {
            reg.count_produced(HANDLER_SOURCE);
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
        let mut sources = sources;
        if let Some(h) = &self.handler {
            sources.push((
                self.metrics[h.component as usize].key.clone(),
                self.topics[h.topic as usize].name.clone(),
            ));
        }
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

    fn kinds(e: &Engine, group: &str) -> (u64, u64) {
        let dlq = e.dead_letters(group).expect(group);
        let n = |k: DeliveryError| dlq.records.iter().filter(|l| l.error == k).count() as u64;
        (
            n(DeliveryError::RegistryDown),
            n(DeliveryError::Undecodable),
        )
    }

    #[test]
    fn a_dlq_replay_looks_schema_ids_up_again() {
        let mut e = engine(|s| {
            if let Some(b) = s.groups.get_mut("B") {
                b.retry.max_attempts = 2;
            }
        });
        e.run_until(VirtualTime::from_millis(100));
        // The registry goes down and B's instance restarts with an empty
        // cache: P1's records (id 1) fail as "registry down", P2's (no
        // id) as undecodable.
        let down = |instance| Fault::Crash {
            group: "R".into(),
            instance,
            duration_us: None,
        };
        e.apply_fault(down(0)).expect("registry down");
        e.apply_fault(Fault::Crash {
            group: "B".into(),
            instance: 0,
            duration_us: Some(1_000),
        })
        .expect("B restarts");
        e.run_until(VirtualTime::from_millis(500));
        e.stop_sources();
        assert!(e.drain(VirtualTime::from_secs(2)));
        let (registry_down, undecodable) = kinds(&e, "B");
        assert!(
            registry_down > 10 && undecodable > 10,
            "{registry_down} {undecodable}"
        );
        let applied = e.component_metrics("B").expect("B").events_in;

        // Replayed while the registry is still down: every letter fails
        // again, for the same reason, after its attempts.
        let failed_lookups = e.registry().expect("registry").counters.lookups_failed;
        e.apply_fault(Fault::ReplayDlq { group: "B".into() })
            .expect("replay");
        assert!(e.drain(VirtualTime::from_secs(4)));
        assert_eq!(kinds(&e, "B"), (registry_down, undecodable));
        let reg = e.registry().expect("registry");
        assert_eq!(
            reg.counters.lookups_failed,
            failed_lookups + 2 * registry_down,
            "each attempt asked the registry"
        );
        assert_eq!(e.component_metrics("B").expect("B").events_in, applied);

        // Back up: the replay looks id 1 up once and applies P1's
        // records; P2's still carry no id and go back to the DLQ.
        e.apply_fault(Fault::Restart {
            group: "R".into(),
            instance: 0,
        })
        .expect("registry up");
        let served = e.registry().expect("registry").counters.lookups_served;
        e.apply_fault(Fault::ReplayDlq { group: "B".into() })
            .expect("replay");
        assert!(e.drain(VirtualTime::from_secs(6)));
        assert_eq!(kinds(&e, "B"), (0, undecodable));
        let reg = e.registry().expect("registry");
        assert_eq!(reg.counters.lookups_served, served + 1);
        assert_eq!(reg.consumers[0].cached_ids, vec![1]);
        assert_eq!(
            e.component_metrics("B").expect("B").events_in,
            applied + registry_down
        );
    }

    /// A gateway, a command handler publishing `OrderPlacedV2` and a
    /// producer of `OrderPlacedV1`; the handler, the producer and `B` use
    /// the registry.
    const CQRS: &str = "flowchart LR
    GW[API Gateway]:::gateway --> CH[Order Handler]:::command
    CH -->|OrderPlacedV2| K[[Kafka]]
    P[Checkout]:::producer -->|OrderPlacedV1| K
    K -->|OrderPlacedV2| B[Billing]:::consumer
    K -->|OrderPlacedV1| B
    P -.-> R[(Schema Registry)]:::schema
    B -.-> R
";

    fn cqrs(text: &str, edit: impl FnOnce(&mut Scenario)) -> Engine {
        let chart = crate::mermaid::parse_flowchart(text).expect("parses");
        let g = ArchGraph::from_flowchart(&chart);
        let mut s = Scenario::default_for(&g);
        assert!(s.cqrs.is_some(), "a command path");
        edit(&mut s);
        Engine::new(&g, s, 5).expect("builds")
    }

    fn with_handler_edge() -> String {
        format!("{CQRS}    CH -.-> R\n")
    }

    fn accepted(e: &Engine) -> u64 {
        e.cqrs_summary().map_or(0, |c| c.counters.accepted)
    }

    #[test]
    fn the_command_handler_serializes_through_the_registry() {
        // Not connected: its events carry no schema id, so B cannot read them.
        let mut e = cqrs(CQRS, |_| {});
        e.run_until(VirtualTime::from_secs(1));
        assert!(appended(&e, "OrderPlacedV2") > 20);
        let b = e.delivery_counters("B").expect("B");
        assert!(b.dead_lettered > 0, "{b:?}");
        assert_eq!(e.registry().expect("registry").producers.len(), 1);

        // Connected: it looks its schema up once and B decodes its events.
        let mut e = cqrs(&with_handler_edge(), |_| {});
        e.run_until(VirtualTime::from_secs(1));
        assert!(appended(&e, "OrderPlacedV2") > 20);
        assert_eq!(e.delivery_counters("B").expect("B").failures, 0);
        let reg = e.registry().expect("registry");
        let ch = reg
            .producers
            .iter()
            .find(|p| p.client == "CH (OrderPlacedV2)")
            .expect("the handler is a client");
        assert_eq!((ch.lookups, ch.cached_ids.len()), (1, 1));
        let v2 = &reg.subjects[0].versions[1];
        assert_eq!(v2.produced, accepted(&e), "{reg:?}");
    }

    #[test]
    fn the_handlers_first_event_waits_for_the_lookup() {
        let run = |lookup_us: u64| {
            let mut e = cqrs(&with_handler_edge(), |s| {
                if let Some(r) = s.registry.as_mut() {
                    r.lookup_us = lookup_us;
                }
            });
            e.run_until(VirtualTime::from_millis(250));
            e
        };
        let fast = run(0);
        assert!(accepted(&fast) > 5 && appended(&fast, "OrderPlacedV2") > 5);
        let slow = run(300_000);
        assert_eq!(accepted(&slow), 0, "its slots wait for the lookup");
        assert_eq!(appended(&slow, "OrderPlacedV2"), 0);
        let mut slow = slow;
        slow.run_until(VirtualTime::from_secs(1));
        assert!(accepted(&slow) > 5 && appended(&slow, "OrderPlacedV2") > 5);
        let reg = slow.registry().expect("registry");
        assert_eq!(reg.producers.iter().map(|p| p.lookups).sum::<u64>(), 2);
    }

    #[test]
    fn a_refused_event_rejects_its_command_before_the_append() {
        // V2 breaks V1 under backward: not registered.
        let mut e = cqrs(&with_handler_edge(), |s| {
            if let Some(r) = s.registry.as_mut() {
                r.changes
                    .insert("OrderPlacedV2".into(), SchemaChange::Breaking);
            }
        });
        e.run_until(VirtualTime::from_secs(1));
        let c = e.cqrs_summary().expect("cqrs").counters;
        assert!(c.rejected_schema > 20, "{c:?}");
        assert_eq!(c.accepted, 0, "{c:?}");
        assert_eq!(appended(&e, "OrderPlacedV2"), 0);
        let reg = e.registry().expect("registry");
        assert_eq!(reg.counters.rejected_unregistered, c.rejected_schema);
        assert!(appended(&e, "OrderPlacedV1") > 20, "P's version is fine");

        // A poisoned type: malformed events are refused too.
        let mut e = cqrs(&with_handler_edge(), |_| {});
        e.apply_fault(Fault::PoisonType {
            topic: "OrderPlacedV2".into(),
        })
        .expect("poison");
        e.run_until(VirtualTime::from_secs(1));
        let c = e.cqrs_summary().expect("cqrs").counters;
        assert!(c.rejected_schema > 20 && c.accepted == 0, "{c:?}");
        assert_eq!(
            e.registry().expect("registry").counters.rejected_malformed,
            c.rejected_schema
        );
    }
}
