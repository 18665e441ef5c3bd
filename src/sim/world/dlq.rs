//! Replaying a group's dead-letter queue ([`crate::sim::Fault::ReplayDlq`]).
//!
//! A replay is a control input: asking for one hands the letters kept in
//! the group's DLQ at that moment (oldest first) to the group's **replay
//! consumer**, which reads them as the group's own work, one at a time,
//! the way a partition worker reads a partition:
//! - it runs on one live instance of the group (the lowest-numbered; it
//!   moves when that one crashes or leaves, and waits while none is up);
//! - each attempt takes the group's service time (slowed by `slow ×N`,
//!   plus a schema-registry lookup when the instance has not cached the
//!   letter's schema id) and, in a group with a concurrency cap, a slot
//!   of its instance, queued behind the partitions first come first
//!   served;
//! - an attempt fails as a delivery does: the type is poisoned (and the
//!   record was not validated by a registry at its producer), the
//!   registry cannot decode it (no schema id, or an uncached id while the
//!   registry is down), or the failure probability; a failed attempt is
//!   retried after the group's back-off, and after the last one the
//!   letter goes back to the DLQ as a new dead letter;
//! - what succeeds goes through the same side-effect step as a delivery
//!   (dedupe, event store, sinks, reactions, metrics and time series, the
//!   run hash);
//! - it commits like a worker, every `commit_every` letters and when it
//!   has none left, or in a group with a `commit_interval_us` (a live run's
//!   auto-commit) only on the group's timer: a committed letter leaves the DLQ (`records`) and is
//!   counted in `replayed`, so the DLQ drains over virtual time. A crash
//!   of its instance loses the attempt in flight and re-reads from the
//!   last commit: letters applied but not committed are applied again (a
//!   duplicate without idempotency, as any re-delivery).
//!
//! Every attempt's end is remembered in the DLQ's bounded
//! [`DeadLetterTopic::replay_log`](crate::sim::DeadLetterTopic::replay_log)
//! (applied, skipped, failed, dead-lettered again, or abandoned by a crash
//! or rebalance), so the event log can list a letter's replay attempts at
//! any moment of the run ([`Engine::dlq_replay_attempts`]).
//!
//! Replayed records are applied out of offset order on purpose, so they
//! bypass the per-key order check. A run that never replays has no replay
//! consumer: its only cost is an emptiness check where a crash or
//! rebalance happens and a sentinel comparison where a capped group wakes
//! a slot waiter.
//!
//! Part of the engine: reaches into [`Engine`]'s private state, which is
//! why it is a child module of `world`; it must not depend on anything
//! above `sim`.

use super::super::clock::VirtualTime;
use super::super::consumer::{
    DeadLetter, DeliveryError, GroupReplayAttempt, ReplayAttempt, ReplayOutcome, UNOWNED,
};
use super::super::cqrs::HANDLER_SOURCE;
use super::super::invariants::EventRef;
use super::super::rng::to_us;
use super::super::state::Applied;
use super::{Action, Engine, TAG_DEAD, TAG_FAILED, push, schema};
use serde::{Deserialize, Serialize};

/// The slot-waiter entry standing for a group's replay consumer (worker
/// indices never reach it).
pub(super) const REPLAY_WAITER: u32 = u32::MAX - 1;

/// A group's replay consumer (engine-internal): it reads the first `todo`
/// kept letters of the group's DLQ.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct DlqReplay {
    /// Leading kept letters of the DLQ it has to replay (processed ones
    /// included until they are committed).
    todo: usize,
    /// Letters processed since the last commit; the next one is at this index.
    position: usize,
    /// The instance it runs on, or [`UNOWNED`].
    instance: u32,
    /// Whether a letter is in service or waiting to be retried.
    busy: bool,
    /// Whether the scheduler holds an action for it (maybe of an older epoch).
    pending: bool,
    /// Bumped when in-flight work is abandoned; older actions are ignored.
    epoch: u32,
    /// Attempts at the letter in service.
    attempt: u32,
    /// When the attempt in service started.
    started: VirtualTime,
    /// Whether it is queued for a slot of its instance.
    waiting_slot: bool,
}

impl DlqReplay {
    /// Letters processed since the last commit.
    pub(super) fn processed_since_commit(&self) -> usize {
        self.position
    }
}

impl Engine {
    /// Hands group `g`'s kept dead letters to its replay consumer (see the
    /// module doc); refused when there is nothing new to replay.
    pub(super) fn replay_dlq(&mut self, g: usize) -> Result<(), String> {
        let dlq = &self.groups[g].dead_letters;
        let under_way = self.dlq_replays.get(&(g as u32)).map_or(0, |r| r.todo);
        if dlq.records.len() <= under_way {
            return Err(if under_way > 0 {
                format!("{} is being replayed ({under_way} letters left)", dlq.name)
            } else if dlq.waiting() > 0 {
                format!(
                    "{} keeps none of its {} records (over limits.max_dead_letters)",
                    dlq.name,
                    dlq.waiting()
                )
            } else {
                format!("{} is empty", dlq.name)
            });
        }
        let todo = dlq.records.len();
        if !self.dlq_replays.contains_key(&(g as u32)) {
            // One more consumer, so one more pending action at most.
            let limit = self.scenario.limits.max_pending_actions;
            if self.queue.capacity() >= limit {
                return Err(format!(
                    "a replay consumer would need {} pending actions, over the limit of {limit}",
                    self.queue.capacity() + 1
                ));
            }
            self.queue.grow(1);
            let replay = DlqReplay {
                todo: 0,
                position: 0,
                instance: self.replay_owner(g),
                busy: false,
                pending: false,
                epoch: 0,
                attempt: 0,
                started: self.now,
                waiting_slot: false,
            };
            self.dlq_replays.insert(g as u32, replay);
        }
        if let Some(r) = self.dlq_replays.get_mut(&(g as u32)) {
            r.todo = todo;
        }
        self.replay_try_start(g);
        Ok(())
    }

    /// The instance a replay consumer of group `g` runs on: its
    /// lowest-numbered live one.
    fn replay_owner(&self, g: usize) -> u32 {
        self.groups[g]
            .alive
            .iter()
            .position(|&a| a)
            .map_or(UNOWNED, |i| i as u32)
    }

    /// Letters of group `group`'s DLQ a replay is working through
    /// (processed ones until they are committed).
    pub fn dlq_replay_left(&self, group: &str) -> usize {
        let g = self.groups.iter().position(|x| x.name == group);
        g.and_then(|g| self.dlq_replays.get(&(g as u32)))
            .map_or(0, |r| r.todo)
    }

    /// Every attempt of a DLQ replay at event `event_id` that the groups'
    /// replay logs still hold (the latest [`crate::sim::MAX_REPLAY_LOG`]
    /// per group), each group's in start order, plus one in service at
    /// this moment as [`ReplayOutcome::InService`].
    pub fn dlq_replay_attempts(&self, event_id: u64) -> Vec<GroupReplayAttempt> {
        let mut out = Vec::new();
        for (g, grp) in self.groups.iter().enumerate() {
            let log = &grp.dead_letters.replay_log;
            let with_group = |attempt: ReplayAttempt| GroupReplayAttempt {
                group: grp.name.clone(),
                attempt,
            };
            out.extend(
                log.iter()
                    .filter(|a| a.event_id == event_id)
                    .map(|&a| with_group(a)),
            );
            let Some(r) = self.dlq_replays.get(&(g as u32)) else {
                continue;
            };
            // Busy is also "waiting to be retried": in service only when
            // the attempt under way has not ended (is not the last logged).
            let Some(letter) = self.replay_letter(g).filter(|_| r.busy) else {
                continue;
            };
            let ended = log
                .back()
                .is_some_and(|a| a.event_id == letter.event_id && a.attempt == r.attempt);
            if letter.event_id == event_id && !ended {
                out.push(with_group(ReplayAttempt {
                    event_id,
                    instance: r.instance,
                    attempt: r.attempt,
                    start: r.started,
                    end: r.started,
                    outcome: ReplayOutcome::InService,
                }));
            }
        }
        out
    }

    /// Remembers how group `g`'s replay consumer's attempt under way ended.
    fn log_replay_attempt(&mut self, g: usize, outcome: ReplayOutcome) {
        let Some(r) = self.dlq_replays.get(&(g as u32)) else {
            return;
        };
        let Some(letter) = self.replay_letter(g) else {
            return;
        };
        let attempt = ReplayAttempt {
            event_id: letter.event_id,
            instance: r.instance,
            attempt: r.attempt,
            start: r.started,
            end: self.now,
            outcome,
        };
        self.groups[g].dead_letters.log_replay(attempt);
    }

    /// Whether every replay consumer has replayed and committed all it was given.
    pub(super) fn replays_idle(&self) -> bool {
        self.dlq_replays.values().all(|r| r.todo == 0 && !r.busy)
    }

    /// Instance `i` of group `g` crashed: its replay consumer (if it ran
    /// there) loses the attempt in flight and rewinds to its last commit.
    /// Called before the group rebalances.
    pub(super) fn replay_crash(&mut self, g: usize, i: u32) {
        let Some(r) = self.dlq_replays.get_mut(&(g as u32)) else {
            return;
        };
        if r.instance != i {
            return;
        }
        if r.busy {
            self.log_replay_attempt(g, ReplayOutcome::Abandoned);
        }
        let Some(r) = self.dlq_replays.get_mut(&(g as u32)) else {
            return;
        };
        let was_busy = r.busy;
        let lost = r.position as u64;
        r.busy = false;
        r.attempt = 0;
        r.epoch = r.epoch.wrapping_add(1);
        r.position = 0;
        r.instance = UNOWNED;
        let waiting = std::mem::take(&mut r.waiting_slot);
        self.groups[g].counters.redelivered += lost;
        if waiting && let Some(q) = self.groups[g].slot_waiters.get_mut(i as usize) {
            q.retain(|&w| w != REPLAY_WAITER);
        }
        if was_busy {
            self.free_slot(g, i);
        }
    }

    /// Group `g` rebalanced: its replay consumer moves to the instance
    /// that owns it now; a live previous owner commits what it processed
    /// and drops the letter in service, which the new owner reads again.
    pub(super) fn replay_rebalance(&mut self, g: usize) {
        let owner = self.replay_owner(g);
        let Some(r) = self.dlq_replays.get_mut(&(g as u32)) else {
            return;
        };
        let old = r.instance;
        if old != owner {
            if old != UNOWNED {
                if r.busy {
                    self.log_replay_attempt(g, ReplayOutcome::Abandoned);
                }
                let Some(r) = self.dlq_replays.get_mut(&(g as u32)) else {
                    return;
                };
                let was_busy = r.busy;
                r.busy = false;
                r.attempt = 0;
                r.epoch = r.epoch.wrapping_add(1);
                let waiting = std::mem::take(&mut r.waiting_slot);
                if waiting && let Some(q) = self.groups[g].slot_waiters.get_mut(old as usize) {
                    q.retain(|&w| w != REPLAY_WAITER);
                }
                if was_busy {
                    self.free_slot(g, old);
                    self.wake(g, old);
                }
                self.replay_commit(g);
            }
            if let Some(r) = self.dlq_replays.get_mut(&(g as u32)) {
                r.instance = owner;
            }
        }
        self.replay_try_start(g);
    }

    /// A slot of its instance freed up for group `g`'s waiting replay consumer.
    pub(super) fn replay_woken(&mut self, g: usize) {
        if let Some(r) = self.dlq_replays.get_mut(&(g as u32)) {
            r.waiting_slot = false;
        }
        self.replay_try_start(g);
    }

    /// Starts the next letter of group `g`'s replay consumer, if it is
    /// owned, idle, has no action pending, has a letter and (capped
    /// groups) gets a slot.
    fn replay_try_start(&mut self, g: usize) {
        let Some(r) = self.dlq_replays.get(&(g as u32)) else {
            return;
        };
        if r.busy || r.pending || r.instance == UNOWNED || r.position >= r.todo {
            return;
        }
        if self.groups[g].params.concurrency > 0 && !self.replay_take_slot(g) {
            return;
        }
        self.replay_begin_attempt(g);
    }

    /// Takes a slot of the replay consumer's instance, or queues it for one.
    fn replay_take_slot(&mut self, g: usize) -> bool {
        let Some(r) = self.dlq_replays.get_mut(&(g as u32)) else {
            return false;
        };
        let i = r.instance as usize;
        self.groups[g].take_slot(i, &mut r.waiting_slot, REPLAY_WAITER)
    }

    /// The letter group `g`'s replay consumer is at.
    fn replay_letter(&self, g: usize) -> Option<&DeadLetter> {
        let r = self.dlq_replays.get(&(g as u32))?;
        self.groups[g].dead_letters.records.get(r.position)
    }

    /// Starts one attempt at the letter the replay consumer is at: the
    /// group's service time plus a registry lookup if one is needed.
    fn replay_begin_attempt(&mut self, g: usize) {
        let Some(letter) = self.replay_letter(g) else {
            debug_assert!(false, "a replay past the DLQ's kept letters");
            return;
        };
        let (event_id, source) = (letter.event_id, letter.source);
        let Ok(t) = self.topic_ix(&letter.topic) else {
            debug_assert!(false, "dead letter of an unknown topic {}", letter.topic);
            return;
        };
        let Some(instance) = self.dlq_replays.get(&(g as u32)).map(|r| r.instance) else {
            return;
        };
        let lookup_us = self.registry.as_deref().map_or(0, |reg| {
            if reg.group_uses(g as u32) {
                let id = reg.record_id(t, source, self.sources.len());
                reg.lookup_cost_us(g as u32, instance, id)
            } else {
                0
            }
        });
        let grp = &self.groups[g];
        let mut service_us = grp.params.service.sample_us(&mut self.rng);
        if grp.slow_factor != 1.0 {
            service_us = to_us(service_us as f64 * grp.slow_factor);
        }
        service_us += lookup_us;
        let now = self.now;
        let end = now.plus_us(service_us);
        let (component, bus) = (grp.component, self.topics[t as usize].bus);
        let Some(r) = self.dlq_replays.get_mut(&(g as u32)) else {
            return;
        };
        r.busy = true;
        r.pending = true;
        r.attempt += 1;
        r.started = now;
        push(&mut self.queue, end, Action::ReplayDone(g as u32, r.epoch));
        if self.activity.is_on() {
            self.activity.record(bus, component, t, event_id, now, end);
        }
    }

    /// A retry of the replay consumer's letter is due (epoch `epoch`).
    pub(super) fn on_replay_retry(&mut self, g: u32, epoch: u32) {
        let g = g as usize;
        let Some(r) = self.dlq_replays.get_mut(&(g as u32)) else {
            return;
        };
        r.pending = false;
        if epoch != r.epoch || !r.busy {
            self.replay_try_start(g);
        } else {
            self.replay_begin_attempt(g);
        }
    }

    /// An attempt of the replay consumer of group `g` ends (epoch
    /// `epoch`): the letter is applied, retried after a back-off, or
    /// dead-lettered again.
    pub(super) fn on_replay_done(&mut self, g: u32, epoch: u32) {
        let g = g as usize;
        let now = self.now;
        let Some(r) = self.dlq_replays.get_mut(&(g as u32)) else {
            return;
        };
        r.pending = false;
        if epoch != r.epoch || !r.busy {
            self.replay_try_start(g);
            return;
        }
        let (instance, attempt, started) = (r.instance, r.attempt, r.started);
        let Some(letter) = self.replay_letter(g).cloned() else {
            debug_assert!(false, "a replay past the DLQ's kept letters");
            return;
        };
        let Ok(t) = self.topic_ix(&letter.topic) else {
            debug_assert!(false, "dead letter of an unknown topic {}", letter.topic);
            return;
        };
        if let Some(error) = self.replay_error(g, instance, t, &letter) {
            let grp = &mut self.groups[g];
            grp.counters.failures += 1;
            self.hash.add(now.0);
            self.hash.add(TAG_FAILED | letter.offset);
            if attempt < grp.params.retry.max_attempts {
                grp.counters.retries += 1;
                let delay = grp.params.retry.backoff.delay_us(attempt);
                let retry_at = now.plus_us(delay);
                self.log_replay_attempt(g, ReplayOutcome::Failed { retry_at });
                if let Some(r) = self.dlq_replays.get_mut(&(g as u32)) {
                    r.pending = true;
                    push(
                        &mut self.queue,
                        retry_at,
                        Action::ReplayRetry(g as u32, r.epoch),
                    );
                }
                return;
            }
            grp.counters.dead_lettered += 1;
            self.hash.add(TAG_DEAD | letter.offset);
            self.hash.add(g as u64);
            self.log_replay_attempt(g, ReplayOutcome::DeadLetteredAgain);
            let again = DeadLetter {
                error,
                attempts: attempt,
                at: now,
                ..letter
            };
            self.replay_finish(g, Some(again));
            return;
        }
        let service_us = now.since_us(started);
        if let Some(n) = self.groups[g]
            .processed_by_instance
            .get_mut(instance as usize)
        {
            *n += 1;
        }
        let outcome = self.apply_replayed(g, t, &letter, service_us);
        self.log_replay_attempt(g, outcome);
        self.replay_finish(g, None);
    }

    /// Why instance `i` of group `g` fails this attempt at `letter` of
    /// topic `t`, if it does (the checks of a delivery, see the module doc).
    fn replay_error(
        &mut self,
        g: usize,
        i: u32,
        t: u32,
        letter: &DeadLetter,
    ) -> Option<DeliveryError> {
        let sources = self.sources.len();
        if self.topics[t as usize].poisoned
            && !schema::validated(self.registry.as_deref(), t, letter.source, sources)
        {
            return Some(DeliveryError::Poisoned);
        }
        if let Some(e) = self
            .registry
            .as_deref_mut()
            .and_then(|reg| schema::decode_error(reg, g as u32, i, t, letter.source, sources))
        {
            return Some(e);
        }
        let own = self.groups[g].params.failure_probability;
        let mut extra = self.fail_probability;
        if let Some(&p) = self.group_fail.get(g) {
            extra = 1.0 - (1.0 - extra) * (1.0 - p);
        }
        let p_fail = 1.0 - (1.0 - own) * (1.0 - extra);
        (p_fail > 0.0 && self.rng.open01() < p_fail).then_some(DeliveryError::Transient)
    }

    /// The replay consumer of group `g` is done with its letter (applied,
    /// or dead-lettered again as `again`): advance, commit when due, give
    /// the slot back, start the next one.
    fn replay_finish(&mut self, g: usize, again: Option<DeadLetter>) {
        let Some(r) = self.dlq_replays.get_mut(&(g as u32)) else {
            return;
        };
        r.busy = false;
        r.attempt = 0;
        r.position += 1;
        let (i, position, todo) = (r.instance, r.position, r.todo);
        // A timed group (a live run's 5 s auto-commit) commits only on its
        // timer, as its partition workers do (`on_auto_commit`).
        let params = &self.groups[g].params;
        let every = params.commit_every.max(1) as usize;
        if params.commit_interval_us == 0 && (position >= every || position >= todo) {
            self.replay_commit(g);
        }
        // After the commit, so a full DLQ has room for it.
        if let Some(letter) = again {
            self.groups[g].dead_letters.push(letter);
        }
        if self.groups[g].params.concurrency > 0 {
            self.free_slot(g, i);
            self.wake(g, i);
        }
        self.replay_try_start(g);
    }

    /// Commits the replay consumer's processed letters: they leave the DLQ.
    pub(super) fn replay_commit(&mut self, g: usize) {
        let Some(r) = self.dlq_replays.get_mut(&(g as u32)) else {
            return;
        };
        let n = r.position;
        r.todo -= n;
        r.position = 0;
        self.groups[g].dead_letters.commit_replayed(n);
    }

    /// The side-effect step of a delivery, for a replayed dead letter of
    /// topic `t` that took `service_us`: mirrors the end of a successful
    /// attempt in `on_done` (kept apart so the hot path stays as it is).
    /// Says whether the letter was applied, applied again or skipped.
    fn apply_replayed(
        &mut self,
        g: usize,
        t: u32,
        letter: &DeadLetter,
        service_us: u64,
    ) -> ReplayOutcome {
        let now = self.now;
        let (p, offset) = (letter.partition, letter.offset);
        let w = self.group_workers(g).find(|&w| {
            let worker = &self.workers[w as usize];
            worker.topic == t && worker.partition == p
        });
        let seen_before = w.is_some_and(|w| self.workers[w as usize].applied.contains(offset));
        let sojourn_us = now.since_us(letter.produced_at);

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
            if group.read_views
                && letter.source == HANDLER_SOURCE
                && let Some(h) = &mut self.handler
            {
                h.staleness_us.record(sojourn_us);
                self.series.record_staleness(sojourn_us);
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
        let m = &mut self.metrics[group.component as usize];
        m.events_in += 1;
        self.series
            .record_delivery(g as u32, m, service_us, sojourn_us);
        self.metrics[topic.bus as usize].events_out += 1;
        if react {
            self.react(g as u32, t, letter.key);
        }
        match (apply, seen_before) {
            (false, _) => ReplayOutcome::SkippedDuplicate,
            (true, true) => ReplayOutcome::Reapplied,
            (true, false) => ReplayOutcome::Applied,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::{
        Arrival, Backoff, Check, History, HistoryOptions, Invariant, Retention, RetryPolicy,
        Scenario, ServiceTime, SinkState, VirtualTime,
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

    fn poison(e: &mut Engine, topic: &str, from_ms: u64, to_ms: u64) {
        let topic = topic.to_string();
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

    fn poison_orders(e: &mut Engine, from_ms: u64, to_ms: u64) {
        poison(e, "OrderCreated", from_ms, to_ms);
    }

    /// One producer (`Tick`, 100/s, one partition) and one consumer `C`
    /// serving each record in exactly 1 ms, 3 attempts 5 ms apart.
    fn ticks(c: GroupParams) -> Engine {
        let chart = crate::mermaid::parse_flowchart(
            "flowchart LR\nP[Order Service] -->|Tick| EB[Kafka]\nEB --> C[Consumer]\n",
        )
        .expect("parses");
        let g = ArchGraph::from_flowchart(&chart);
        let mut s = Scenario::default_for(&g);
        s.partitions = 1;
        s.sources[0].arrival = Arrival::Constant { rate_per_s: 100.0 };
        s.groups.insert("C".into(), c);
        Engine::new(&g, s, 1).expect("builds")
    }

    fn tick_params() -> GroupParams {
        GroupParams {
            service: ServiceTime::Constant { us: 1_000 },
            retry: RetryPolicy {
                max_attempts: 3,
                backoff: Backoff::Constant { delay_us: 5_000 },
            },
            ..GroupParams::default()
        }
    }

    /// `C` of [`ticks`] with the records of 0..200 ms poisoned, run to 1 s.
    fn ticks_dead_lettered(c: GroupParams) -> (Engine, u64) {
        let mut e = ticks(c);
        poison(&mut e, "Tick", 0, 200);
        e.run_until(VirtualTime::from_secs(1));
        let n = e.dead_letters("C").map_or(0, |d| d.records.len() as u64);
        assert!(n >= 10, "records were dead-lettered: {n}");
        (e, n)
    }

    fn kept(e: &Engine, group: &str) -> u64 {
        e.dead_letters(group).map_or(0, |d| d.records.len() as u64)
    }

    #[test]
    fn a_replay_takes_the_groups_service_time_per_letter_and_drains_over_time() {
        let (mut e, n) = ticks_dead_lettered(tick_params());
        let before = e.component_metrics("C").expect("C").clone();
        let t0 = e.now();
        e.apply_fault(replay_dlq("C")).expect("replay");
        // Nothing happens at the moment of the replay: the letters wait
        // in the DLQ and are served one after another, 1 ms each.
        assert_eq!(kept(&e, "C"), n);
        assert_eq!(
            e.component_metrics("C").expect("C").events_in,
            before.events_in
        );
        assert!(!e.can_replay_dlq("C"), "all of them are being replayed");
        let half = n / 2;
        e.run_until(t0.plus_us(half * 1_000 + 500));
        assert_eq!(kept(&e, "C"), n - half, "one letter per millisecond");
        let dlq = e.dead_letters("C").expect("C");
        assert_eq!((dlq.replayed, dlq.waiting()), (half, n - half));
        e.run_until(t0.plus_us(n * 1_000 - 1));
        assert_eq!(kept(&e, "C"), 1, "the last one is still in service");
        e.run_until(t0.plus_us(n * 1_000));
        let dlq = e.dead_letters("C").expect("C");
        assert_eq!((kept(&e, "C"), dlq.replayed, dlq.len), (0, n, n));
        // The replayed work is the group's work: counted, timed, charted.
        let after = e.component_metrics("C").expect("C");
        let live = (n * 1_000 / 10_000) + 1; // live ticks meanwhile, 1 per 10 ms
        assert!(
            after.events_in >= before.events_in + n
                && after.events_in <= before.events_in + n + live,
            "{} → {}",
            before.events_in,
            after.events_in
        );
        assert!(after.processing_us.count() >= before.processing_us.count() + n);
        assert_eq!(after.processing_us.max(), 1_000);
        assert!(
            after.end_to_end_us.max() >= 800_000,
            "a replayed record's end-to-end time runs from its append"
        );
        assert_eq!(
            e.delivery_counters("C").map(|c| c.duplicates_applied),
            Some(0)
        );
        assert!(!e.invariants().any_violated(), "{:?}", e.invariants());
    }

    #[test]
    fn a_timed_group_commits_its_replayed_letters_on_its_timer_only() {
        // A live run's auto-commit (every 1 s here): `commit_every` does
        // not apply, and a replay that has applied every letter still keeps
        // them in the DLQ until the next tick.
        let (mut e, n) = ticks_dead_lettered(GroupParams {
            commit_every: 1,
            commit_interval_us: 1_000_000,
            ..tick_params()
        });
        let t0 = e.now();
        e.apply_fault(replay_dlq("C")).expect("replay");
        e.run_until(t0.plus_us(n * 1_000 + 5_000));
        assert!(e.now() < VirtualTime::from_secs(2), "before the next tick");
        let dlq = e.dead_letters("C").expect("C");
        assert_eq!(
            (kept(&e, "C"), dlq.replayed),
            (n, 0),
            "applied, not committed"
        );
        assert_eq!(e.dlq_replay_left("C"), n as usize);
        e.run_until(VirtualTime::from_secs(2).plus_us(1));
        let dlq = e.dead_letters("C").expect("C");
        assert_eq!(
            (kept(&e, "C"), dlq.replayed),
            (0, n),
            "committed on the tick"
        );
        assert_eq!(e.dlq_replay_left("C"), 0);
        assert!(!e.invariants().any_violated(), "{:?}", e.invariants());
    }

    #[test]
    fn replay_while_still_poisoned_retries_with_back_off_then_dead_letters_again() {
        let (mut e, n) = ticks_dead_lettered(tick_params());
        // No live records meanwhile: the DLQ holds only what the replay puts back.
        assert!(e.drain(VirtualTime::from_secs(2)));
        let failures = e.delivery_counters("C").map_or(0, |c| c.failures);
        e.apply_fault(Fault::PoisonType {
            topic: "Tick".into(),
        })
        .expect("poison again");
        let t0 = e.now();
        e.apply_fault(replay_dlq("C")).expect("replay");
        // Each letter: 3 attempts of 1 ms with 5 ms between them = 13 ms.
        e.run_until(t0.plus_us(13_000 * n));
        let dlq = e.dead_letters("C").expect("C");
        assert_eq!(dlq.records.len() as u64, n, "all back in the DLQ");
        assert_eq!((dlq.len, dlq.replayed), (2 * n, n));
        let at: Vec<u64> = dlq.records.iter().map(|l| l.at.since_us(t0)).collect();
        let expected: Vec<u64> = (1..=n).map(|k| 13_000 * k).collect();
        assert_eq!(at, expected, "dead-lettered again after their back-offs");
        assert!(dlq.records.iter().all(|l| l.attempts == 3));
        let c = e.delivery_counters("C").expect("C");
        assert_eq!(c.failures, failures + 3 * n);
    }

    #[test]
    fn replay_respects_the_groups_concurrency_cap() {
        let params = GroupParams {
            concurrency: 1,
            ..tick_params()
        };
        let (mut e, n) = ticks_dead_lettered(params);
        e.apply_fault(replay_dlq("C")).expect("replay");
        let mut replayed_while_live = false;
        for _ in 0..20_000 {
            if kept(&e, "C") == 0 {
                break;
            }
            e.step();
            let busy_workers = e.workers.iter().filter(|w| w.busy).count();
            let replaying = e.dlq_replays.get(&0).is_some_and(|r| r.busy);
            assert!(
                busy_workers + usize::from(replaying) <= 1,
                "one slot: {busy_workers} workers and the replay in service at {}",
                e.now()
            );
            replayed_while_live |= e.workers.iter().any(|w| w.waiting_slot);
        }
        assert_eq!(kept(&e, "C"), 0, "the replay of {n} letters ended");
        assert!(
            replayed_while_live,
            "live records waited for the replay's slot"
        );
    }

    #[test]
    fn a_crash_during_a_replay_re_reads_from_its_last_commit() {
        let run = |idempotent: bool| {
            let params = GroupParams {
                instances: 2,
                commit_every: 5,
                idempotent,
                ..tick_params()
            };
            let (mut e, n) = ticks_dead_lettered(params);
            let t0 = e.now();
            e.apply_fault(replay_dlq("C")).expect("replay");
            e.run_until(t0.plus_us(7_500));
            // Letters 0..5 committed (left the DLQ); 5 and 6 applied, not
            // committed; 7 in service on instance 0.
            assert_eq!(kept(&e, "C"), n - 5);
            let crash = Fault::Crash {
                group: "C".into(),
                instance: 0,
                duration_us: None,
            };
            let before = e.delivery_counters("C").expect("C");
            e.apply_fault(crash).expect("crash");
            let c = e.delivery_counters("C").expect("C");
            assert!(c.redelivered >= before.redelivered + 2, "{c:?}");
            assert!(e.drain(VirtualTime::from_secs(5)), "the replay finished");
            assert_eq!(kept(&e, "C"), 0);
            let processed = e.group_instances("C").expect("C");
            assert!(processed[1].processed >= n - 5, "instance 1 took over");
            e
        };
        let e = run(false);
        let c = e.delivery_counters("C").expect("C");
        assert_eq!(c.duplicates_applied, 2, "letters 5 and 6 applied twice");
        let e = run(true);
        let c = e.delivery_counters("C").expect("C");
        assert_eq!((c.duplicates_applied, c.deduped), (0, 2));
    }

    /// [`ticks_dead_lettered`] with the sources stopped once the letters
    /// are in (so only the replay delivers from then on), its replay asked
    /// for and run until letters 0..5 are committed, 5 and 6 applied but
    /// not committed and 7 in service: the event ids of the letters, in
    /// replay order, and `C`'s deliveries and dedupe skips before the
    /// replay.
    fn replay_under_way(params: GroupParams) -> (Engine, Vec<u64>, (u64, u64)) {
        let (mut e, _) = ticks_dead_lettered(GroupParams {
            commit_every: 5,
            ..params
        });
        assert!(e.drain(VirtualTime::from_secs(2)), "the live records drain");
        let letters: Vec<u64> = e
            .dead_letters("C")
            .expect("C")
            .records
            .iter()
            .map(|l| l.event_id)
            .collect();
        let before = (
            e.component_metrics("C").expect("C").events_in,
            e.delivery_counters("C").expect("C").deduped,
        );
        let t0 = e.now();
        e.apply_fault(replay_dlq("C")).expect("replay");
        e.run_until(t0.plus_us(7_500));
        assert_eq!(kept(&e, "C"), letters.len() as u64 - 5);
        (e, letters, before)
    }

    /// [`tick_params`] with `instances` instances and idempotency on.
    fn idempotent(instances: u32) -> GroupParams {
        GroupParams {
            instances,
            idempotent: true,
            ..tick_params()
        }
    }

    fn crash(instance: u32, duration_us: Option<u64>) -> Fault {
        Fault::Crash {
            group: "C".into(),
            instance,
            duration_us,
        }
    }

    /// Checks that the replay of `letters` is over and applied each one
    /// exactly once (idempotent `C`): the DLQ is empty, every letter's id
    /// is in the dedupe store, and the deliveries since `before` are the
    /// letters plus the `redelivered` ones skipped as duplicates.
    fn assert_replayed_once(e: &Engine, letters: &[u64], before: (u64, u64), redelivered: u64) {
        let n = letters.len() as u64;
        let dlq = e.dead_letters("C").expect("C");
        assert_eq!((kept(e, "C"), dlq.waiting(), dlq.replayed), (0, 0, n));
        assert_eq!(e.dlq_replay_left("C"), 0);
        let dedupe = &e.groups[0].dedupe;
        assert!(
            letters.iter().all(|&id| dedupe.contains(id)),
            "every letter applied"
        );
        let c = e.delivery_counters("C").expect("C");
        let deliveries = e.component_metrics("C").expect("C").events_in - before.0;
        assert_eq!(
            (deliveries, c.deduped - before.1),
            (n + redelivered, redelivered),
            "each letter applied once, the re-read ones skipped"
        );
        assert_eq!(c.duplicates_applied, 0);
        assert!(!e.invariants().any_violated(), "{:?}", e.invariants());
    }

    #[test]
    fn a_replay_on_a_lone_instance_waits_out_its_crash_and_goes_on_after_the_restart() {
        let (mut e, letters, before) = replay_under_way(idempotent(1));
        let n = letters.len() as u64;
        e.apply_fault(crash(0, Some(50_000))).expect("crash");
        let down = e.now();
        // Down: nothing is replayed, nothing leaves the DLQ, nothing is lost.
        e.run_until(down.plus_us(49_000));
        assert_eq!(
            kept(&e, "C"),
            n - 5,
            "no progress while the instance is down"
        );
        assert_eq!(e.dlq_replay_left("C"), letters.len() - 5);
        let c = e.component_metrics("C").expect("C").events_in;
        assert_eq!(
            c - before.0,
            7,
            "letters 0..7 were delivered before the crash"
        );
        // Restarted: it re-reads from letter 5 and finishes.
        e.run_until(down.plus_us(50_000 + 1_000 * (n - 5) + 1));
        assert_replayed_once(&e, &letters, before, 2);
        assert!(e.group_instances("C").expect("C")[0].alive);
    }

    #[test]
    fn a_replay_moves_to_a_live_instance_when_its_instance_crashes_for_good() {
        let (mut e, letters, before) = replay_under_way(idempotent(2));
        let on_0 = e.group_instances("C").expect("C")[0].processed;
        e.apply_fault(crash(0, None)).expect("crash");
        assert!(e.drain(VirtualTime::from_secs(5)), "the replay finished");
        assert_replayed_once(&e, &letters, before, 2);
        let instances = e.group_instances("C").expect("C");
        assert_eq!(instances[0].processed, on_0, "instance 0 stayed down");
        assert!(instances[1].processed >= letters.len() as u64 - 5);
    }

    #[test]
    fn a_replay_with_every_instance_down_keeps_its_letters_until_one_restarts() {
        let (mut e, letters, before) = replay_under_way(idempotent(2));
        let n = letters.len() as u64;
        e.apply_fault(crash(0, None)).expect("crash 0");
        e.apply_fault(crash(1, None)).expect("crash 1");
        let snapshot = |e: &Engine| {
            (
                kept(e, "C"),
                e.dlq_replay_left("C"),
                e.component_metrics("C").expect("C").events_in,
            )
        };
        let down = snapshot(&e);
        assert_eq!(down.0, n - 5);
        // A long outage: the replay waits, loses nothing, applies nothing.
        assert!(
            !e.drain(VirtualTime::from_secs(60)),
            "no live instance: no drain"
        );
        assert_eq!(snapshot(&e), down);
        assert_eq!(e.dead_letters("C").expect("C").replayed, 5);
        e.apply_fault(Fault::Restart {
            group: "C".into(),
            instance: 1,
        })
        .expect("restart 1");
        assert!(e.drain(VirtualTime::from_secs(70)), "the replay finished");
        assert_replayed_once(&e, &letters, before, 2);
        assert!(e.group_instances("C").expect("C")[1].processed >= n - 5);
        let report = e.invariants_after_drain(1_000_000);
        assert_eq!(report.nothing_lost, Check::Held);
    }

    #[test]
    fn without_idempotency_a_crashed_replay_applies_its_uncommitted_letters_twice() {
        let (mut e, letters, before) = replay_under_way(tick_params());
        e.apply_fault(crash(0, Some(10_000))).expect("crash");
        assert!(e.drain(VirtualTime::from_secs(5)), "the replay finished");
        let n = letters.len() as u64;
        assert_eq!(
            (kept(&e, "C"), e.dead_letters("C").expect("C").replayed),
            (0, n)
        );
        let c = e.delivery_counters("C").expect("C");
        assert_eq!((c.duplicates_applied, c.deduped), (2, 0), "letters 5 and 6");
        let deliveries = e.component_metrics("C").expect("C").events_in - before.0;
        assert_eq!(deliveries, n + 2);
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
        let produced_before = e.events_produced();

        e.apply_fault(replay_dlq("Consumer1")).expect("replay");
        assert_eq!(kept(&e, "Consumer1"), n, "not at once");
        e.run_until(VirtualTime::from_secs(2));

        let after = e.dead_letters("Consumer1").expect("Consumer1");
        assert!(after.records.is_empty(), "{after:?}");
        assert_eq!((after.waiting(), after.replayed, after.len), (0, n, n));
        let live_orders = e
            .topics()
            .iter()
            .find(|t| t.name() == "OrderCreated")
            .map_or(0, |t| {
                t.partitions()
                    .iter()
                    .map(|p| p.high_watermark().0)
                    .sum::<u64>()
            });
        assert!(live_orders > 0 && e.events_produced() > produced_before);
        // Every replayed record applied once, on top of the live ones.
        let c1 = e.component_metrics("Consumer1").expect("c1").events_in;
        assert!(c1 >= applied_before + n, "{applied_before} + {n} > {c1}");
        assert!(inventory_orders(&e) >= orders + n);
        // Other groups' DLQs are theirs to replay.
        assert!(e.dead_letters("Consumer2").is_some_and(|d| d.waiting() > 0));
        assert_eq!(
            e.delivery_counters("Consumer1")
                .map(|c| c.duplicates_applied),
            Some(0)
        );
        let log = e.fault_log();
        assert!(
            log.iter()
                .any(|r| r.fault == replay_dlq("Consumer1") && r.refused.is_none())
        );
        assert!(!e.invariants().any_violated(), "{:?}", e.invariants());
        let drained = e.invariants_after_drain(10_000_000);
        assert_eq!(drained.nothing_lost, Check::Held);
    }

    #[test]
    fn replaying_an_empty_dlq_or_one_under_way_is_refused_and_logged() {
        let mut e = seed(|_| {});
        e.run_until(VirtualTime::from_millis(100));
        let err = e.apply_fault(replay_dlq("Consumer1"));
        assert!(err.is_err());
        let refused = e.fault_log().last().and_then(|r| r.refused.clone());
        assert!(refused.is_some_and(|r| r.contains("Consumer1.DLQ is empty")));
        assert!(e.apply_fault(replay_dlq("Nope")).is_err());

        let (mut e, _) = ticks_dead_lettered(tick_params());
        e.apply_fault(replay_dlq("C")).expect("replay");
        let again = e.apply_fault(replay_dlq("C"));
        let refused = e.fault_log().last().and_then(|r| r.refused.clone());
        assert!(again.is_err());
        assert!(
            refused.is_some_and(|r| r.contains("C.DLQ is being replayed")),
            "{:?}",
            e.fault_log().last()
        );
    }

    #[test]
    fn letters_dead_lettered_during_a_replay_join_a_second_one() {
        let (mut e, n) = ticks_dead_lettered(tick_params());
        e.apply_fault(replay_dlq("C")).expect("replay");
        // A new poisoned record arrives while the replay runs.
        e.apply_fault(Fault::PoisonNext {
            topic: Some("Tick".into()),
        })
        .expect("poison next");
        let t0 = e.now();
        e.run_until(t0.plus_us(50_000));
        assert_eq!(kept(&e, "C"), n.saturating_sub(50) + 1);
        e.apply_fault(replay_dlq("C"))
            .expect("the new letter is new work");
        assert!(e.drain(VirtualTime::from_secs(5)));
        let dlq = e.dead_letters("C").expect("C");
        assert_eq!((kept(&e, "C"), dlq.replayed, dlq.len), (0, n + 1, n + 1));
    }

    #[test]
    fn an_engine_image_taken_mid_replay_goes_on_the_same_way() {
        let params = GroupParams {
            instances: 2,
            commit_every: 3,
            ..tick_params()
        };
        let (mut live, n) = ticks_dead_lettered(params);
        let t0 = live.now();
        live.apply_fault(replay_dlq("C")).expect("replay");
        live.run_until(t0.plus_us(4_500));
        assert!(live.dlq_replay_left("C") > 0 && kept(&live, "C") < n);
        let image = live.to_image().expect("encodes");
        let mut restored = Engine::from_image(&image).expect("decodes");
        for e in [&mut live, &mut restored] {
            e.apply_fault(Fault::Crash {
                group: "C".into(),
                instance: 0,
                duration_us: Some(2_000),
            })
            .expect("crash mid-replay");
            e.run_until(VirtualTime::from_secs(2));
        }
        assert_eq!(kept(&restored, "C"), 0);
        assert_eq!(restored.run_hash(), live.run_hash());
        assert_eq!(restored.dead_letters("C"), live.dead_letters("C"));
        assert_eq!(restored.delivery_counters("C"), live.delivery_counters("C"));
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
        let n = past
            .dead_letters("Consumer1")
            .map_or(0, |d| d.records.len());
        // About 1 ms a letter: half-way through.
        let during = h.state_at(VirtualTime::from_millis(600 + n as u64 / 2));
        assert!(
            during
                .dead_letters("Consumer1")
                .is_some_and(|d| d.replayed > 0 && !d.records.is_empty() && d.records.len() < n),
            "draining half-way"
        );
        let after = h.seek(VirtualTime::from_millis(900));
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
