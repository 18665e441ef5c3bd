//! Replaying a group's dead-letter queue ([`crate::sim::Fault::ReplayDlq`]).
//!
//! A replay is a control input, so it runs as one action of the scheduler
//! at one moment of virtual time, like every other fault: the kept dead
//! letters are taken out of the DLQ, oldest first, and each gets the
//! group's attempts again, drawing failures from the one RNG. What is
//! applied goes through the same side-effect step as a delivery (dedupe,
//! event store, sinks, reactions, the run hash); what still fails goes
//! back to the DLQ as a new dead letter. Replayed records are applied out
//! of offset order on purpose, so they bypass the per-key order check.
//!
//! Simplification: the attempts of a replay take no virtual time (no
//! service time, no back-off between them).
//!
//! Part of the engine: reaches into [`Engine`]'s private state, which is
//! why it is a child module of `world`; it must not depend on anything
//! above `sim`.

use super::super::consumer::{DeadLetter, DeliveryError};
use super::super::invariants::EventRef;
use super::super::state::Applied;
use super::{Engine, TAG_DEAD, TAG_FAILED};

impl Engine {
    /// Re-delivers group `g`'s kept dead letters to it now (see the module doc).
    pub(super) fn replay_dlq(&mut self, g: usize) -> Result<(), String> {
        let dlq = &mut self.groups[g].dead_letters;
        if dlq.records.is_empty() {
            return Err(if dlq.waiting() > 0 {
                format!(
                    "{} keeps none of its {} records (over limits.max_dead_letters)",
                    dlq.name,
                    dlq.waiting()
                )
            } else {
                format!("{} is empty", dlq.name)
            });
        }
        for letter in dlq.take_for_replay() {
            self.redeliver(g, letter);
        }
        Ok(())
    }

    /// One dead letter back to group `g`: its attempts, then the side
    /// effect or the DLQ again.
    fn redeliver(&mut self, g: usize, letter: DeadLetter) {
        let now = self.now;
        let Ok(t) = self.topic_ix(&letter.topic) else {
            debug_assert!(false, "dead letter of an unknown topic {}", letter.topic);
            return;
        };
        let poisoned = self.topics[t as usize].poisoned;
        let grp = &mut self.groups[g];
        let max_attempts = grp.params.retry.max_attempts.max(1);
        let own = grp.params.failure_probability;
        let mut extra = self.fail_probability;
        if let Some(&p) = self.group_fail.get(g) {
            extra = 1.0 - (1.0 - extra) * (1.0 - p);
        }
        let p_fail = 1.0 - (1.0 - own) * (1.0 - extra);
        let mut failed = None;
        for attempt in 1..=max_attempts {
            failed = if poisoned {
                Some(DeliveryError::Poisoned)
            } else if p_fail > 0.0 && self.rng.open01() < p_fail {
                Some(DeliveryError::Transient)
            } else {
                None
            };
            if failed.is_none() {
                break;
            }
            grp.counters.failures += 1;
            self.hash.add(now.0);
            self.hash.add(TAG_FAILED | letter.offset);
            if attempt < max_attempts {
                grp.counters.retries += 1;
            }
        }
        if let Some(error) = failed {
            grp.counters.dead_lettered += 1;
            self.hash.add(TAG_DEAD | letter.offset);
            self.hash.add(g as u64);
            grp.dead_letters.push(DeadLetter {
                error,
                attempts: max_attempts,
                at: now,
                ..letter
            });
            return;
        }
        self.apply_replayed(g, t, &letter);
    }

    /// The side-effect step of a delivery, for a replayed dead letter of
    /// topic `t`: mirrors the end of a successful attempt in `on_done`
    /// (kept apart so the hot path stays as it is).
    fn apply_replayed(&mut self, g: usize, t: u32, letter: &DeadLetter) {
        let now = self.now;
        let (p, offset) = (letter.partition, letter.offset);
        let w = self.group_workers(g).find(|&w| {
            let worker = &self.workers[w as usize];
            worker.topic == t && worker.partition == p
        });
        let seen_before = w.is_some_and(|w| self.workers[w as usize].applied.contains(offset));

        self.hash.add(now.0);
        self.hash
            .add((u64::from(t) << 40) ^ (u64::from(p) << 20) ^ g as u64);
        self.hash.add(offset ^ letter.key.rotate_left(32));
        self.deliveries += 1;

        let topic = &self.topics[t as usize];
        let group = &mut self.groups[g];
        let idempotent = group.params.idempotent;
        let apply = !(idempotent && group.dedupe.contains(letter.event_id));
        if !apply {
            group.counters.deduped += 1;
        } else {
            if seen_before {
                group.counters.duplicates_applied += 1;
                let name = &group.name;
                let describe = || {
                    let text = format!(
                        "{name} applied {}/{p}@{offset} (event {}) twice at {now}, replaying its DLQ",
                        topic.name, letter.event_id
                    );
                    let event = EventRef {
                        group: name.clone(),
                        topic: topic.name.clone(),
                        partition: p,
                        offset,
                        key: Some(letter.key),
                        event_id: Some(letter.event_id),
                    };
                    (text, vec![event])
                };
                if idempotent {
                    self.duplicate_effects.record_events(now, describe);
                } else {
                    self.unguarded_duplicates.record_events(now, describe);
                }
            }
            if let Some(w) = w {
                self.workers[w as usize].applied.insert(offset);
            }
            if idempotent {
                group.dedupe.insert(letter.event_id);
            }
            let applied = Applied {
                topic: t,
                event_id: letter.event_id,
                key: letter.key,
                produced_at: letter.produced_at,
                payload: letter.payload,
            };
            if let Some(store) = &mut group.store {
                store.append_event(applied);
            }
            let max = self.scenario.limits.max_sink_entries;
            for (&s, &i) in group.sinks.iter().zip(&group.sink_states) {
                self.metrics[s as usize].events_in += 1;
                if !self.sink_states[i as usize].apply(&applied, max) {
                    self.sink_overflow[i as usize] += 1;
                }
            }
        }
        let react = apply && !group.reactions.is_empty();
        self.metrics[group.component as usize].events_in += 1;
        self.metrics[topic.bus as usize].events_out += 1;
        if react {
            self.react(g as u32, t, letter.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::{
        Check, History, HistoryOptions, Invariant, Retention, Scenario, SinkState, VirtualTime,
    };
    use super::*;
    use crate::model::ArchGraph;
    use crate::sim::{Fault, GroupParams};

    fn replay_dlq(group: &str) -> Fault {
        Fault::ReplayDlq {
            group: group.to_string(),
        }
    }

    fn seed(scenario: impl FnOnce(&mut Scenario)) -> Engine {
        let chart = crate::mermaid::parse_flowchart(crate::SEED_DIAGRAM).expect("seed parses");
        let g = ArchGraph::from_flowchart(&chart);
        let mut s = Scenario::default_for(&g);
        scenario(&mut s);
        Engine::new(&g, s, 7).expect("seed builds")
    }

    fn inventory_orders(e: &Engine) -> u64 {
        match e.sink_state("InvDB") {
            Some(SinkState::Inventory(inv)) => inv.orders,
            other => panic!("InvDB is not an inventory: {other:?}"),
        }
    }

    fn poison_orders(e: &mut Engine, from_ms: u64, to_ms: u64) {
        let topic = "OrderCreated".to_string();
        let at = VirtualTime::from_millis;
        e.schedule_fault(
            at(from_ms),
            Fault::PoisonType {
                topic: topic.clone(),
            },
        )
        .expect("poison");
        e.schedule_fault(at(to_ms), Fault::CurePoisonType { topic })
            .expect("cure");
    }

    #[test]
    fn replay_after_the_cure_empties_the_dlq_and_applies_every_record() {
        let mut e = seed(|_| {});
        poison_orders(&mut e, 200, 500);
        e.run_until(VirtualTime::from_secs(1));
        let dlq = e.dead_letters("Consumer1").expect("Consumer1").clone();
        let n = dlq.records.len() as u64;
        assert!(n > 5, "orders were dead-lettered: {n}");
        assert!(
            dlq.records
                .iter()
                .all(|l| l.error == DeliveryError::Poisoned)
        );
        let orders = inventory_orders(&e);
        let applied_before = e.component_metrics("Consumer1").expect("c1").events_in;

        e.apply_fault(replay_dlq("Consumer1")).expect("replay");

        let after = e.dead_letters("Consumer1").expect("Consumer1");
        assert!(after.records.is_empty(), "{after:?}");
        assert_eq!((after.waiting(), after.replayed, after.len), (0, n, n));
        assert_eq!(
            inventory_orders(&e),
            orders + n,
            "every record applied once"
        );
        let c1 = e.component_metrics("Consumer1").expect("c1").events_in;
        assert_eq!(c1, applied_before + n);
        // Other groups' DLQs are theirs to replay.
        assert!(e.dead_letters("Consumer2").is_some_and(|d| d.waiting() > 0));
        assert_eq!(
            e.delivery_counters("Consumer1")
                .map(|c| c.duplicates_applied),
            Some(0)
        );
        let log = e.fault_log();
        assert_eq!(
            log.last().map(|r| (&r.fault, &r.refused)),
            Some((&replay_dlq("Consumer1"), &None))
        );
        assert!(!e.invariants().any_violated(), "{:?}", e.invariants());
    }

    #[test]
    fn replay_while_still_poisoned_dead_letters_again() {
        let mut e = seed(|_| {});
        poison_orders(&mut e, 200, 5_000);
        e.run_until(VirtualTime::from_secs(1));
        let n = e
            .dead_letters("Consumer1")
            .map_or(0, |d| d.records.len() as u64);
        assert!(n > 0);
        let failures = e.delivery_counters("Consumer1").map_or(0, |c| c.failures);
        let orders = inventory_orders(&e);
        e.apply_fault(replay_dlq("Consumer1")).expect("replay");
        let dlq = e.dead_letters("Consumer1").expect("Consumer1");
        assert_eq!(dlq.records.len() as u64, n, "back in the DLQ");
        assert_eq!((dlq.len, dlq.replayed), (2 * n, n));
        assert_eq!(inventory_orders(&e), orders);
        let attempts = u64::from(e.scenario().group_params("Consumer1").retry.max_attempts);
        let now = e.delivery_counters("Consumer1").map_or(0, |c| c.failures);
        assert_eq!(now, failures + n * attempts);
    }

    #[test]
    fn replaying_an_empty_dlq_is_refused_and_logged() {
        let mut e = seed(|_| {});
        e.run_until(VirtualTime::from_millis(100));
        let err = e.apply_fault(replay_dlq("Consumer1"));
        assert!(err.is_err());
        let refused = e.fault_log().last().and_then(|r| r.refused.clone());
        assert!(refused.is_some_and(|r| r.contains("Consumer1.DLQ is empty")));
        assert!(e.apply_fault(replay_dlq("Nope")).is_err());
    }

    #[test]
    fn a_replay_is_a_control_input_time_travel_reproduces() {
        let mut e = seed(|_| {});
        poison_orders(&mut e, 100, 300);
        let mut h = History::new(
            e,
            HistoryOptions {
                snapshot_every_steps: 400,
                max_snapshots: 8,
            },
        );
        h.run_until(VirtualTime::from_millis(600));
        h.apply(replay_dlq("Consumer1")).expect("replay");
        h.run_until(VirtualTime::from_millis(900));
        let head = h.head().run_hash();
        assert_eq!(h.state_at(VirtualTime::from_millis(900)).run_hash(), head);
        let past = h.state_at(VirtualTime::from_millis(599));
        assert!(
            past.dead_letters("Consumer1")
                .is_some_and(|d| d.replayed == 0 && d.waiting() > 0)
        );
        let after = h.seek(VirtualTime::from_millis(600));
        assert!(
            after
                .dead_letters("Consumer1")
                .is_some_and(|d| d.replayed > 0 && d.records.is_empty())
        );
    }

    #[test]
    fn crash_without_idempotency_lists_the_duplicated_events() {
        let mut e = seed(|s| {
            s.retention = Retention::KeepAll;
            s.groups.insert(
                "Consumer1".into(),
                GroupParams {
                    instances: 2,
                    commit_every: 50,
                    idempotent: false,
                    ..GroupParams::default()
                },
            );
        });
        // A backlog (20× slower), so commits come every 50 records and the
        // crash finds work processed but not committed.
        e.schedule_fault(
            VirtualTime::from_millis(300),
            Fault::Slow {
                component: "Consumer1".into(),
                factor: 20.0,
            },
        )
        .expect("slow");
        e.schedule_fault(
            VirtualTime::from_millis(700),
            Fault::Crash {
                group: "Consumer1".into(),
                instance: 0,
                duration_us: Some(200_000),
            },
        )
        .expect("crash");
        e.run_until(VirtualTime::from_secs(2));
        let dups = e
            .delivery_counters("Consumer1")
            .map_or(0, |c| c.duplicates_applied);
        assert!(dups > 0, "the crash re-delivered applied records");
        let inv = e.invariants();
        assert_eq!(
            inv.effects_applied_once,
            Check::Violated {
                count: dups,
                first: inv
                    .examples_of(Invariant::EffectsAppliedOnce)
                    .next()
                    .map(|x| x.what.clone())
                    .unwrap_or_default(),
            }
        );
        assert!(
            !inv.any_violated(),
            "an at-least-once design, not an engine fault"
        );
        let examples: Vec<_> = inv.examples_of(Invariant::EffectsAppliedOnce).collect();
        assert!(!examples.is_empty() && examples.len() <= crate::sim::MAX_EXAMPLES);
        for x in &examples {
            assert!(x.what.contains("idempotency off"), "{}", x.what);
            let [ev] = x.events.as_slice() else {
                panic!("one event per duplicate: {x:?}")
            };
            assert_eq!(ev.group, "Consumer1");
            // The event listed is the record at that place on the bus.
            let topic = e
                .topics()
                .iter()
                .find(|t| t.name == ev.topic)
                .expect("topic");
            let record = topic.partitions[ev.partition as usize]
                .get(crate::sim::Offset(ev.offset))
                .expect("kept (KeepAll)");
            assert_eq!(
                (ev.key, ev.event_id),
                (Some(record.key), Some(record.event_id))
            );
        }
    }
}

#[cfg(test)]
mod text_tests {
    use crate::model::ArchGraph;
    use crate::sim::{Fault, ScheduledFault, VirtualTime, load_scenario};

    #[test]
    fn a_scheduled_replay_reads_and_writes_as_a_scenario_line() {
        let src = format!(
            "{}%% eda:scenario fault replay-dlq Consumer1 at 2s\n",
            crate::SEED_DIAGRAM
        );
        let chart = crate::mermaid::parse_flowchart(&src).expect("parses");
        let g = ArchGraph::from_flowchart(&chart);
        let s = load_scenario(&src, &g).expect("loads");
        let replay = ScheduledFault {
            at: VirtualTime::from_secs(2),
            fault: Fault::ReplayDlq {
                group: "Consumer1".into(),
            },
        };
        assert_eq!(s.faults, vec![replay]);
        let lines = s.to_lines(&g);
        assert!(
            lines
                .iter()
                .any(|l| l.ends_with("fault replay-dlq Consumer1 at 2s")),
            "{lines:?}"
        );
        let bad = format!(
            "{}%% eda:scenario fault replay-dlq Nope at 2s\n",
            crate::SEED_DIAGRAM
        );
        assert!(
            load_scenario(&bad, &g).is_err(),
            "an unknown group is a diagnostic"
        );
    }
}
