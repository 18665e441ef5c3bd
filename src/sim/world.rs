//! The engine: builds topics, sources, groups and workers from a graph and
//! a scenario, then runs the event loop. All state changes happen in
//! [`Engine::step`], one action at a time, in `(time, seq)` order —
//! faults and control inputs included, so a run with faults is exactly as
//! reproducible as one without.

use super::bus::{Offset, PartitionLog, Record, Topic, assign, partition_for};
use super::clock::VirtualTime;
use super::consumer::{
    DeadLetter, DeadLetterTopic, DedupeStore, DeliveryCounters, DeliveryError, EventStore, Group,
    UNOWNED, Worker,
};
use super::cqrs::{self, CqrsSummary, HANDLER_SOURCE, Handler, Outcome};
use super::error::SimError;
use super::fault::{Fault, FaultRecord, ScheduledFault};
use super::history::Published;
use super::invariants::{Check, EventRef, Invariant, InvariantReport, Violations};
use super::metrics::{
    ComponentMetrics, ComponentSummary, GroupLayout, GroupSample, GroupSummary, PartitionLag,
    RunHash, RunSummary, TimeSeries,
};
use super::producer::Source;
use super::rng::{SimRng, to_us};
use super::scenario::{
    Backpressure, GroupParams, KeySampler, Limits, Retention, Scenario, consuming_nodes,
};
use super::state::{Applied, SinkKind, SinkState, SinkSummary};
use crate::model::{ArchGraph, ComponentId, Role};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

mod dlq;
mod inspect;
mod rebuild;
mod retention;
mod schema;

pub use rebuild::ProjectionRebuild;

pub use inspect::InstanceState;
mod trace;

pub use trace::{
    AttemptOutcome, DeliveryAttempt, EventTrace, MAX_TRACED_ATTEMPTS, TopicRoute, TracedEvent,
};

/// Something that happens at a moment of virtual time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
enum Action {
    /// Source `0` emits its next record.
    Emit(u32),
    /// Worker `0` finishes an attempt at the record in service; ignored
    /// unless the worker is still in epoch `1`.
    Done(u32, u32),
    /// Worker `0` retries the record in service after a backoff (epoch `1`).
    Retry(u32, u32),
    /// Take a metrics sample.
    Sample,
    /// Apply pending control input `0`.
    Control(u64),
    /// The gateway sends its next command or query.
    Command,
    /// The command handler's slot `0` finishes the command in service.
    Handled(u32),
    /// Group `0`'s DLQ replay consumer finishes an attempt (epoch `1`).
    ReplayDone(u32, u32),
    /// Group `0`'s DLQ replay consumer retries its letter (epoch `1`).
    ReplayRetry(u32, u32),
    /// Group `0`'s workers commit their positions (a timed commit:
    /// [`GroupParams::commit_interval_us`]).
    AutoCommit(u32),
}

/// Hash-word tags for what is not a plain delivery.
const TAG_FAILED: u64 = 1 << 62;
const TAG_DEAD: u64 = 1 << 61;
const TAG_CONTROL: u64 = 1 << 60;
const TAG_SHED: u64 = 1 << 59;

/// How often a producer blocked by a full consumer queue looks again.
const THROTTLE_POLL_US: u64 = 1_000;

/// A deterministic discrete-event simulation of one architecture.
///
/// Built from a graph, a [`Scenario`] and a seed; advanced with
/// [`Engine::step`], [`Engine::run_until`] or [`Engine::drain`]; driven by
/// control inputs ([`Engine::apply_fault`], [`Engine::schedule_fault`]);
/// observed through read-only accessors, [`Engine::metrics`],
/// [`Engine::invariants`] and [`Engine::summary`]. The same graph, scenario
/// and seed always give the same history and [`Engine::run_hash`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Engine {
    seed: u64,
    now: VirtualTime,
    queue: super::scheduler::Scheduler<Action>,
    rng: SimRng,
    scenario: Scenario,
    topics: Vec<Topic>,
    sources: Vec<Source>,
    groups: Vec<Group>,
    workers: Vec<Worker>,
    metrics: Vec<ComponentMetrics>,
    /// Metric slots `..diagram_components` are the diagram's components;
    /// groups added mid-run get slots after them.
    diagram_components: usize,
    /// In an image with everything that drives later samples (sources,
    /// bound, the open interval's values), see [`super::metrics::image`].
    #[serde(with = "super::metrics::image")]
    series: TimeSeries,
    hash: RunHash,
    queued_records: usize,
    produced: u64,
    deliveries: u64,
    rejected: u64,
    /// Pending control inputs by id (each has one `Control` action).
    controls: BTreeMap<u64, Fault>,
    next_control: u64,
    fault_log: Vec<FaultRecord>,
    /// Extra failure probability of every attempt (fault: fail X%).
    fail_probability: f64,
    /// Poison marks for the next records: `Some(topic)` or any topic.
    poison_next: Vec<Option<u32>>,
    sources_stopped: bool,
    order: Violations,
    duplicate_effects: Violations,
    /// Side effects applied twice by groups without idempotency.
    unguarded_duplicates: Violations,
    /// The sinks' states; `sink_slots[i]` is state `i`'s metric slot.
    sink_states: Vec<SinkState>,
    sink_slots: Vec<u32>,
    /// Events a sink dropped because a map of its state was full.
    sink_overflow: Vec<u64>,
    /// The CQRS command path, if the scenario has one.
    handler: Option<Handler>,
    /// Per topic: whether a subscribed group bounds its queue (producers
    /// then check it before appending).
    bounded_topics: Vec<bool>,
    /// Records published since the last [`Engine::take_published`], when
    /// tapped (recordings read every event, even those trimmed later).
    #[serde(skip)]
    tap: Option<Vec<Published>>,
    /// The delivery tap watching one event, when on (see `trace.rs`);
    /// off in an image, as in a clone.
    #[serde(skip)]
    trace: Option<Box<trace::DeliveryTap>>,
    /// Hops recorded for the canvas's moving dots, when on; off in an
    /// image, as in a clone.
    #[serde(skip)]
    activity: super::activity::Activity,
    /// Extra failure probability of each group's attempts (fault: fail
    /// X% at one group), by group; empty until such a fault runs.
    #[serde(default)]
    group_fail: Vec<f64>,
    /// The schema registry, when the diagram has one (`world/schema.rs`).
    #[serde(default)]
    registry: Option<Box<super::registry::Registry>>,
    /// Replay consumers of the groups whose DLQ was replayed, by group
    /// (`world/dlq.rs`); empty in a run without a replay.
    #[serde(default)]
    dlq_replays: BTreeMap<u32, dlq::DlqReplay>,
    /// Records groups never read because retention dropped them first
    /// (reported by "nothing lost").
    #[serde(default)]
    retention_losses: Violations,
}

impl Engine {
    /// Builds the engine: one topic per (bus, event type) with
    /// `scenario.partitions` partitions, one source per scenario source,
    /// one consumer group per node a bus feeds, partitions assigned to
    /// instances; schedules each source's first arrival, the first sample
    /// and the scenario's faults (whose names must exist, or be groups the
    /// schedule adds).
    pub fn new(graph: &ArchGraph, scenario: Scenario, seed: u64) -> Result<Engine, SimError> {
        scenario.validate()?;
        let mut rng = SimRng::new(seed);

        // Components, in graph order, index = metric slot.
        let mut metrics = Vec::new();
        let mut slot: BTreeMap<ComponentId, u32> = BTreeMap::new();
        for c in graph.components() {
            slot.insert(c.id, metrics.len() as u32);
            metrics.push(ComponentMetrics::new(&c.key, &c.label, c.role));
        }
        let resolve = |key: &str| -> Result<ComponentId, SimError> {
            graph
                .id_of(key)
                .ok_or_else(|| SimError::UnknownComponent(key.to_string()))
        };

        // Topics: from the sources, then from typed subscriptions.
        let mut topic_ix: BTreeMap<(ComponentId, String), u32> = BTreeMap::new();
        let mut topic_keys: Vec<(ComponentId, String)> = Vec::new();
        let mut add_topic = |bus: ComponentId, ty: &str| -> u32 {
            *topic_ix.entry((bus, ty.to_string())).or_insert_with(|| {
                topic_keys.push((bus, ty.to_string()));
                (topic_keys.len() - 1) as u32
            })
        };
        let mut sources = Vec::new();
        for spec in &scenario.sources {
            let from = resolve(&spec.component)?;
            let bus = resolve(&spec.bus)?;
            if graph.component(bus).map(|c| c.role) != Some(Role::Bus) {
                return Err(SimError::NotABus {
                    source_key: spec.component.clone(),
                    bus: spec.bus.clone(),
                });
            }
            let topic = add_topic(bus, &spec.event_type);
            sources.push(Source {
                component: slot[&from],
                bus: slot[&bus],
                topic,
                arrival: spec.arrival,
                burst: spec.burst,
                keys: KeySampler::new(&spec.keys),
                schema: spec.schema,
                emitted: 0,
                held: None,
                throttled_since: None,
            });
        }
        // Reactions publish to topics of their own.
        let mut reaction_wiring = Vec::new();
        for spec in &scenario.reactions {
            let from = resolve(&spec.component)?;
            let bus = resolve(&spec.bus)?;
            if graph.component(bus).map(|c| c.role) != Some(Role::Bus) {
                return Err(SimError::NotABus {
                    source_key: spec.component.clone(),
                    bus: spec.bus.clone(),
                });
            }
            reaction_wiring.push((from, bus, add_topic(bus, &spec.emit)));
        }
        let mut cqrs_wiring = None;
        if let Some(spec) = &scenario.cqrs {
            let gateway = resolve(&spec.gateway)?;
            let handler = resolve(&spec.handler)?;
            let bus = resolve(&spec.bus)?;
            if graph.component(bus).map(|c| c.role) != Some(Role::Bus) {
                return Err(SimError::NotABus {
                    source_key: spec.handler.clone(),
                    bus: spec.bus.clone(),
                });
            }
            let read_db = match &spec.read_db {
                Some(k) => Some(slot[&resolve(k)?]),
                None => None,
            };
            let topic = add_topic(bus, &spec.event_type);
            cqrs_wiring = Some(([slot[&gateway], slot[&handler], slot[&bus]], topic, read_db));
        }
        let catalog = graph.event_catalog();
        for (&bus, d) in &catalog.buses {
            for ty in d.by_type.keys() {
                add_topic(bus, ty.as_str());
            }
        }
        let mut type_buses: BTreeMap<&str, BTreeSet<ComponentId>> = BTreeMap::new();
        for (bus, ty) in &topic_keys {
            type_buses.entry(ty).or_default().insert(*bus);
        }
        let mut topics: Vec<Topic> = topic_keys
            .iter()
            .map(|(bus, ty)| Topic {
                name: if type_buses.get(ty.as_str()).map_or(0, BTreeSet::len) > 1 {
                    format!("{ty}@{}", graph.key_of(*bus))
                } else {
                    ty.clone()
                },
                bus: slot[bus],
                partitions: vec![PartitionLog::default(); scenario.partitions as usize],
                subscriptions: Vec::new(),
                poisoned: false,
            })
            .collect();

        // Groups: each consuming node once; its topics from every bus feeding it.
        let nodes = consuming_nodes(graph);
        let node_set: BTreeSet<&str> = nodes.iter().map(|&c| graph.key_of(c)).collect();
        if let Some(k) = scenario
            .groups
            .keys()
            .find(|k| !node_set.contains(k.as_str()))
        {
            resolve(k)?;
            return Err(SimError::NotAGroup(k.clone()));
        }
        let mut groups = Vec::new();
        let mut workers = Vec::new();
        for &node in &nodes {
            let mut subs: BTreeSet<u32> = BTreeSet::new();
            for (&bus, d) in &catalog.buses {
                let all = d.to_all.contains(&node) || d.stores.contains(&node);
                for (i, (b, ty)) in topic_keys.iter().enumerate() {
                    let typed = d
                        .by_type
                        .iter()
                        .any(|(t, cs)| t.as_str() == ty && cs.contains(&node));
                    if *b == bus && (all || typed) {
                        subs.insert(i as u32);
                    }
                }
            }
            let key = graph.key_of(node);
            let params = scenario.group_params(key);
            let is_store = graph.component(node).map(|c| c.role) == Some(Role::Store);
            let group = build_group(
                GroupSpec {
                    component: slot[&node],
                    name: key,
                    params,
                    topics: subs.into_iter().collect(),
                    sinks: graph.sinks_of(node).iter().map(|s| slot[s]).collect(),
                    is_store,
                },
                groups.len() as u32,
                &mut topics,
                &mut workers,
                &scenario.limits,
            );
            groups.push(group);
        }

        wire_reactions(
            &scenario,
            &reaction_wiring,
            &mut groups,
            &topic_keys,
            |id| slot[&id],
            graph,
        )?;

        // Sink states: one per component some group writes to, its kind
        // from its label.
        let mut sink_ix: BTreeMap<u32, u32> = BTreeMap::new();
        let mut sink_states = Vec::new();
        let mut sink_slots = Vec::new();
        for g in &mut groups {
            for &s in &g.sinks {
                let i = *sink_ix.entry(s).or_insert_with(|| {
                    let m = &metrics[s as usize];
                    sink_states.push(SinkState::new(SinkKind::for_label(&m.label, &m.key)));
                    sink_slots.push(s);
                    (sink_states.len() - 1) as u32
                });
                g.sink_states.push(i);
                g.read_views |= sink_states[i as usize].kind() == SinkKind::ReadViews;
            }
        }
        let sink_overflow = vec![0; sink_states.len()];
        let handler = match (&scenario.cqrs, cqrs_wiring) {
            (Some(spec), Some((slots, topic, read_db))) => Some(Handler::new(
                spec,
                slots,
                topic,
                read_db.and_then(|s| sink_ix.get(&s).copied()),
                scenario.limits.max_streams,
            )),
            _ => None,
        };

        // One pending action per source and per worker, plus the sampler,
        // plus the control inputs.
        let handler_actions = handler.as_ref().map_or(0, |h| 1 + h.slots.len());
        // And one per group committing on a timer.
        let timed = |g: &Group| g.params.commit_interval_us > 0;
        let timed_groups = groups.iter().filter(|g| timed(g)).count();
        let needed = sources.len()
            + workers.len()
            + 1
            + handler_actions
            + timed_groups
            + scenario.limits.max_pending_controls;
        let limit = scenario.limits.max_pending_actions;
        if needed > limit {
            return Err(SimError::TooManyActions { needed, limit });
        }
        let mut queue = super::scheduler::Scheduler::with_capacity(needed);

        let layout: Vec<GroupLayout<'_>> = groups
            .iter()
            .map(|g| GroupLayout {
                name: &g.name,
                read_views: g.read_views,
            })
            .collect();
        let mut series = TimeSeries::for_engine(
            scenario.sample_interval_us,
            scenario.limits.max_samples,
            &metrics,
            &layout,
            handler.as_ref().map(|h| h.name.as_str()),
        );
        series.add_partitions(workers.iter().map(|w| {
            let t = &topics[w.topic as usize];
            (
                groups[w.group as usize].name.as_str(),
                t.name.as_str(),
                w.partition,
            )
        }));

        for (i, s) in sources.iter().enumerate() {
            let first = s.next_arrival(VirtualTime::ZERO, &mut rng);
            push(&mut queue, first, Action::Emit(i as u32));
        }
        if let Some(h) = &handler {
            let first = h.next_arrival(VirtualTime::ZERO, &mut rng);
            push(&mut queue, first, Action::Command);
        }
        push(&mut queue, VirtualTime::ZERO, Action::Sample);
        for (g, group) in groups.iter().enumerate().filter(|(_, g)| timed(g)) {
            let first = VirtualTime::from_us(group.params.commit_interval_us);
            push(&mut queue, first, Action::AutoCommit(g as u32));
        }

        let diagram_components = metrics.len();
        let schedule = scenario.faults.clone();
        let mut engine = Engine {
            seed,
            now: VirtualTime::ZERO,
            queue,
            rng,
            scenario,
            topics,
            sources,
            groups,
            workers,
            metrics,
            diagram_components,
            series,
            hash: RunHash::default(),
            queued_records: 0,
            produced: 0,
            deliveries: 0,
            rejected: 0,
            controls: BTreeMap::new(),
            next_control: 0,
            fault_log: Vec::new(),
            fail_probability: 0.0,
            poison_next: Vec::new(),
            sources_stopped: false,
            order: Violations::default(),
            duplicate_effects: Violations::default(),
            unguarded_duplicates: Violations::default(),
            sink_states,
            sink_slots,
            sink_overflow,
            handler,
            tap: None,
            trace: None,
            activity: Default::default(),
            bounded_topics: Vec::new(),
            group_fail: Vec::new(),
            registry: None,
            dlq_replays: BTreeMap::new(),
            retention_losses: Violations::default(),
        };
        engine.update_bounded_topics();
        engine.attach_registry(graph);
        engine.attach_snapshots();
        let added: BTreeSet<&str> = schedule
            .iter()
            .filter_map(|f| match &f.fault {
                Fault::AddGroup { name, .. } => Some(name.as_str()),
                _ => None,
            })
            .collect();
        for ScheduledFault { at, fault } in &schedule {
            engine.check_names(fault, &added, graph)?;
            engine.schedule_fault(*at, fault.clone())?;
        }
        Ok(engine)
    }

    /// Puts back what an image does not carry (see `sim::image`): the
    /// DLQ bound that is not serialized, and the mark that the event
    /// stores' logs start after the image.
    pub(crate) fn after_restore(&mut self) {
        let limits = self.scenario.limits;
        for g in &mut self.groups {
            g.dead_letters.set_capacity(limits.max_dead_letters);
            if let Some(store) = &mut g.store {
                store.mark_log_missing();
            }
        }
    }

    /// Runs the earliest pending action and returns its time; `None` when
    /// nothing is pending (a diagram with no sources).
    pub fn step(&mut self) -> Option<VirtualTime> {
        let (t, action) = self.queue.pop()?;
        self.run_action(t, action);
        Some(t)
    }

    /// Runs `action`, popped from the queue, at its time `t`. Inlined into
    /// the loops that pop: a call per action would save and restore the
    /// whole delivery path's registers and frame every time.
    #[inline(always)]
    fn run_action(&mut self, t: VirtualTime, action: Action) {
        debug_assert!(t >= self.now, "time went backwards: {t} < {}", self.now);
        self.now = t;
        match action {
            Action::Emit(s) => self.on_emit(s),
            Action::Done(w, epoch) => self.on_done(w, epoch),
            Action::Retry(w, epoch) => self.on_retry(w, epoch),
            Action::Sample => self.on_sample(),
            Action::Command => self.on_command(),
            Action::Handled(slot) => self.on_handled(slot as usize),
            Action::ReplayDone(g, epoch) => self.on_replay_done(g, epoch),
            Action::ReplayRetry(g, epoch) => self.on_replay_retry(g, epoch),
            Action::AutoCommit(g) => self.on_auto_commit(g),
            Action::Control(id) => {
                if let Some(fault) = self.controls.remove(&id) {
                    let _ = self.apply_fault(fault);
                }
            }
        }
    }

    /// Runs every action due at or before `t`, then sets the clock to `t`
    /// (never backwards). Returns how many actions ran.
    pub fn run_until(&mut self, t: VirtualTime) -> u64 {
        let mut steps = 0;
        while let Some((at, action)) = self.queue.pop_due(t) {
            self.run_action(at, action);
            steps += 1;
        }
        self.now = self.now.max(t);
        steps
    }

    /// Recomputes which topics have a subscriber with a bounded queue.
    fn update_bounded_topics(&mut self) {
        self.bounded_topics = self
            .topics
            .iter()
            .map(|t| {
                t.subscriptions
                    .iter()
                    .any(|&(g, _)| self.groups[g as usize].params.queue.is_some())
            })
            .collect();
    }

    /// Stops every source: no record is produced from now on.
    pub fn stop_sources(&mut self) {
        self.sources_stopped = true;
    }

    /// Stops the sources, then runs until every group has processed or
    /// dead-lettered everything on the bus and committed it, or until
    /// `deadline` (a group with no live instance never drains). Returns
    /// whether the run drained; a drained run checks "nothing lost".
    pub fn drain(&mut self, deadline: VirtualTime) -> bool {
        self.stop_sources();
        while !self.is_drained() {
            match self.queue.peek_time() {
                Some(t) if t <= deadline => {
                    self.step();
                }
                _ => break,
            }
        }
        self.is_drained()
    }

    /// Checks "nothing lost" on a run stopped mid-flight: drains a copy of
    /// the engine (sources stopped, faults still pending keep running) for
    /// at most `limit_us` of virtual time and reports its verdict. This
    /// engine is left as it is.
    pub fn nothing_lost_after_drain(&self, limit_us: u64) -> Check {
        self.invariants_after_drain(limit_us).nothing_lost
    }

    /// The invariants of a copy of the engine drained for at most
    /// `limit_us` of virtual time (see [`Engine::nothing_lost_after_drain`]);
    /// the checks made only on drained runs ("nothing lost", "a projection
    /// rebuilt from the store equals the live one") are not checked when
    /// the copy does not drain. This engine is left as it is.
    pub fn invariants_after_drain(&self, limit_us: u64) -> InvariantReport {
        let mut probe = self.clone();
        let deadline = probe.now.plus_us(limit_us);
        let drained = probe.drain(deadline);
        let mut report = probe.invariants();
        if !drained {
            let not = Check::NotChecked {
                reason: format!(
                    "the backlog did not drain within {} of virtual time",
                    VirtualTime::from_us(limit_us)
                ),
            };
            report.nothing_lost = not.clone();
            report.projection_rebuild = not;
        }
        report
    }

    /// Whether the sources are stopped and every worker is idle, caught up
    /// and committed.
    pub fn is_drained(&self) -> bool {
        self.sources_stopped
            && self
                .handler
                .as_ref()
                .is_none_or(|h| h.queue.is_empty() && h.slots.iter().all(|s| !s.busy))
            && self.replays_idle()
            && self.workers.iter().all(|w| {
                let high = self.high(w);
                !w.busy && w.position == high && w.committed == high
            })
    }

    // ----- control inputs ----------------------------------------------

    /// Schedules `fault` at `at` (or now, if `at` is past). Refused when
    /// [`Limits::max_pending_controls`] are already pending or a number is
    /// out of range; names are resolved when it runs.
    pub fn schedule_fault(&mut self, at: VirtualTime, fault: Fault) -> Result<(), SimError> {
        fault.validate(&self.scenario.limits)?;
        let limit = self.scenario.limits.max_pending_controls;
        if self.controls.len() >= limit {
            return Err(SimError::TooManyControls {
                pending: self.controls.len(),
                limit,
            });
        }
        let id = self.next_control;
        self.next_control += 1;
        self.controls.insert(id, fault);
        push(&mut self.queue, at.max(self.now), Action::Control(id));
        Ok(())
    }

    /// Applies `fault` now and records it in the fault log (applied or
    /// refused, with the reason).
    pub fn apply_fault(&mut self, fault: Fault) -> Result<(), SimError> {
        let outcome = fault
            .validate(&self.scenario.limits)
            .map_err(|e| e.to_string())
            .and_then(|()| self.apply(&fault));
        self.hash.add(self.now.0);
        self.hash.add(TAG_CONTROL | u64::from(outcome.is_ok()));
        if self.fault_log.len() < self.scenario.limits.max_fault_log {
            self.fault_log.push(FaultRecord {
                at: self.now,
                fault: fault.clone(),
                refused: outcome.clone().err(),
            });
        }
        outcome.map_err(|reason| SimError::FaultRefused {
            fault: format!("{fault:?}"),
            reason,
        })
    }

    /// The faults applied or refused so far (the first
    /// [`Limits::max_fault_log`]).
    pub fn fault_log(&self) -> &[FaultRecord] {
        &self.fault_log
    }

    fn apply(&mut self, fault: &Fault) -> Result<(), String> {
        if self.registry.is_some()
            && let Some(outcome) = self.registry_fault(fault)
        {
            return outcome;
        }
        match fault {
            Fault::Crash {
                group,
                instance,
                duration_us,
            } => {
                let g = self.group_ix(group)?;
                self.instance_up(g, *instance, true)?;
                if let Some(d) = duration_us {
                    let restart = Fault::Restart {
                        group: group.clone(),
                        instance: *instance,
                    };
                    self.schedule_fault(self.now.plus_us(*d), restart)
                        .map_err(|e| e.to_string())?;
                }
                self.crash(g, *instance);
                Ok(())
            }
            Fault::Restart { group, instance } => {
                let g = self.group_ix(group)?;
                self.instance_up(g, *instance, false)?;
                self.groups[g].alive[*instance as usize] = true;
                self.rebalance(g);
                Ok(())
            }
            Fault::Slow { component, factor } => {
                let slot = self.metrics[..self.diagram_components]
                    .iter()
                    .position(|m| m.key == *component)
                    .map(|i| i as u32);
                let mut hit = false;
                for grp in &mut self.groups {
                    if grp.name == *component || slot.is_some_and(|s| grp.sinks.contains(&s)) {
                        grp.slow_factor = *factor;
                        hit = true;
                    }
                }
                if hit {
                    Ok(())
                } else {
                    Err(format!("`{component}` is neither a group nor a sink"))
                }
            }
            Fault::FailDeliveries { percent } => {
                self.fail_probability = percent / 100.0;
                Ok(())
            }
            Fault::FailGroup { component, percent } => {
                let slot = self.metrics[..self.diagram_components]
                    .iter()
                    .position(|m| m.key == *component)
                    .map(|i| i as u32);
                let hit: Vec<usize> = (0..self.groups.len())
                    .filter(|&g| {
                        let grp = &self.groups[g];
                        grp.name == *component || slot.is_some_and(|s| grp.sinks.contains(&s))
                    })
                    .collect();
                if hit.is_empty() {
                    return Err(format!("`{component}` is neither a group nor a sink"));
                }
                self.group_fail.resize(self.groups.len(), 0.0);
                for g in hit {
                    self.group_fail[g] = percent / 100.0;
                }
                Ok(())
            }
            Fault::PoisonNext { topic } => {
                let t = match topic {
                    Some(name) => Some(self.topic_ix(name)?),
                    None => None,
                };
                if self.poison_next.len() >= self.scenario.limits.max_pending_controls {
                    return Err("too many poison marks pending".into());
                }
                self.poison_next.push(t);
                Ok(())
            }
            Fault::PoisonType { topic } | Fault::CurePoisonType { topic } => {
                let t = self.topic_ix(topic)?;
                self.topics[t as usize].poisoned = matches!(fault, Fault::PoisonType { .. });
                Ok(())
            }
            Fault::AddInstance { group } => {
                let g = self.group_ix(group)?;
                let max = self.scenario.limits.max_instances as usize;
                let grp = &mut self.groups[g];
                if grp.alive.len() >= max {
                    return Err(format!("{group} already has {max} instances"));
                }
                grp.alive.push(true);
                grp.processed_by_instance.push(0);
                self.rebalance(g);
                Ok(())
            }
            Fault::RemoveInstance { group } => {
                let g = self.group_ix(group)?;
                let Some(i) = self.groups[g].alive.iter().rposition(|&a| a) else {
                    return Err(format!("{group} has no live instance"));
                };
                self.groups[g].alive[i] = false;
                self.rebalance(g);
                Ok(())
            }
            Fault::ResetToOffset { group, offset } => {
                let g = self.group_ix(group)?;
                for w in self.group_workers(g) {
                    let log = self.log_of(w);
                    let target = (*offset).clamp(log.low_watermark().0, log.high_watermark().0);
                    self.reset_worker(w, target);
                }
                Ok(())
            }
            Fault::ResetToTime { group, at } => {
                let g = self.group_ix(group)?;
                for w in self.group_workers(g) {
                    let target = self.log_of(w).offset_for_time(*at).0;
                    self.reset_worker(w, target);
                }
                Ok(())
            }
            Fault::AddGroup {
                name,
                topics,
                params,
            } => self.add_group(name, topics, *params),
            Fault::ReplayDlq { group } => {
                let g = self.group_ix(group)?;
                self.replay_dlq(g)
            }
        }
    }

    /// Resolves the names a scheduled fault uses, at build time.
    fn check_names(
        &self,
        fault: &Fault,
        added: &BTreeSet<&str>,
        graph: &ArchGraph,
    ) -> Result<(), SimError> {
        let known_group = |n: &str| self.groups.iter().any(|g| g.name == n) || added.contains(n);
        let bad = |reason: String| SimError::FaultRefused {
            fault: format!("{fault:?}"),
            reason,
        };
        match fault {
            Fault::Crash { group, .. } | Fault::Restart { group, .. }
                if self.is_registry(group) =>
            {
                Ok(())
            }
            Fault::Crash { group, .. }
            | Fault::Restart { group, .. }
            | Fault::AddInstance { group }
            | Fault::RemoveInstance { group }
            | Fault::ResetToOffset { group, .. }
            | Fault::ResetToTime { group, .. }
            | Fault::ReplayDlq { group }
                if !known_group(group) =>
            {
                Err(bad(format!("no consumer group `{group}`")))
            }
            Fault::Slow { component, .. } | Fault::FailGroup { component, .. }
                if !known_group(component) && graph.id_of(component).is_none() =>
            {
                Err(bad(format!("no component `{component}`")))
            }
            Fault::PoisonNext { topic: Some(t) }
            | Fault::PoisonType { topic: t }
            | Fault::CurePoisonType { topic: t } => self.topic_ix(t).map(|_| ()).map_err(bad),
            Fault::AddGroup { topics, .. } => {
                for t in topics {
                    self.topic_ix(t).map_err(bad)?;
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn group_ix(&self, name: &str) -> Result<usize, String> {
        self.groups
            .iter()
            .position(|g| g.name == name)
            .ok_or_else(|| format!("no consumer group `{name}`"))
    }

    fn topic_ix(&self, name: &str) -> Result<u32, String> {
        self.topics
            .iter()
            .position(|t| t.name == name)
            .map(|i| i as u32)
            .ok_or_else(|| format!("no topic `{name}`"))
    }

    /// Checks that instance `i` of group `g` exists and is up (`up`) or down.
    fn instance_up(&self, g: usize, i: u32, up: bool) -> Result<(), String> {
        let grp = &self.groups[g];
        match grp.alive.get(i as usize) {
            None => Err(format!("{} has no instance {i}", grp.name)),
            Some(&a) if a != up => Err(format!(
                "instance {i} of {} is already {}",
                grp.name,
                if a { "up" } else { "down" }
            )),
            Some(_) => Ok(()),
        }
    }

    fn group_workers(&self, g: usize) -> std::ops::Range<u32> {
        self.groups[g].first_worker..self.groups[g].end_worker
    }

    fn log_of(&self, w: u32) -> &PartitionLog {
        let worker = &self.workers[w as usize];
        &self.topics[worker.topic as usize].partitions[worker.partition as usize]
    }

    /// Instance `i` of group `g` dies: its workers lose their in-flight
    /// record and rewind to the last commit; then the group rebalances.
    fn crash(&mut self, g: usize, i: u32) {
        self.groups[g].alive[i as usize] = false;
        let mut lost = 0;
        for w in self.group_workers(g) {
            let worker = &mut self.workers[w as usize];
            if worker.instance != i {
                continue;
            }
            let was_busy = worker.abandon();
            lost += worker.position - worker.committed;
            worker.position = worker.committed;
            worker.expect_next = worker.committed;
            worker.since_commit = 0;
            worker.instance = UNOWNED;
            if was_busy {
                self.free_slot(g, i);
            }
        }
        if let Some(reg) = self.registry.as_deref_mut() {
            reg.forget_instance(g as u32, i);
        }
        self.groups[g].counters.redelivered += lost;
        if !self.dlq_replays.is_empty() {
            self.replay_crash(g, i);
        }
        self.rebalance(g);
    }

    /// Reassigns group `g`'s partitions over its live instances with its
    /// assignor. Only partitions that change owner are revoked (cooperative
    /// rebalancing); a live previous owner commits what it processed
    /// first and drops the record in service, which the new owner re-reads.
    fn rebalance(&mut self, g: usize) {
        let grp = &mut self.groups[g];
        grp.counters.rebalances += 1;
        let live: Vec<u32> = (0..grp.alive.len() as u32)
            .filter(|&i| grp.alive[i as usize])
            .collect();
        let counts: Vec<u32> = grp
            .topics
            .iter()
            .map(|&t| self.topics[t as usize].partitions.len() as u32)
            .collect();
        let owners = assign(grp.params.assignor, &counts, live.len() as u32);
        let mut w = grp.first_worker;
        for per_topic in &owners {
            for &o in per_topic {
                let new = if live.is_empty() {
                    UNOWNED
                } else {
                    live[o as usize]
                };
                let old = self.workers[w as usize].instance;
                if old != new {
                    if old != UNOWNED {
                        if self.workers[w as usize].abandon() {
                            self.free_slot(g, old);
                        }
                        self.commit(w);
                    }
                    self.workers[w as usize].instance = new;
                }
                w += 1;
            }
        }
        for i in 0..self.groups[g].slots_busy.len() as u32 {
            self.wake(g, i);
        }
        for w in self.group_workers(g) {
            self.try_start(w);
        }
        if !self.dlq_replays.is_empty() {
            self.replay_rebalance(g);
        }
    }

    /// Moves worker `w` to `target`, dropping in-flight work. Whatever was
    /// applied before and is re-applied now counts as a replay.
    fn reset_worker(&mut self, w: u32, target: u64) {
        let now = self.now;
        let high = self.high(&self.workers[w as usize]);
        let worker = &mut self.workers[w as usize];
        let was_busy = worker.abandon();
        let i = worker.instance;
        worker.integrate(now, high);
        worker.replay_below = worker.replay_below.max(worker.applied.end());
        worker.position = target;
        worker.committed = target;
        worker.since_commit = 0;
        worker.expect_next = target;
        // Records a forward reset skips are handled: the operator chose to.
        let skipped = target.saturating_sub(worker.finished_upto);
        worker.finished_upto = worker.finished_upto.max(target);
        let g = worker.group as usize;
        self.groups[g].skipped += skipped;
        let (t, p) = (worker.topic, worker.partition);
        self.trim(t, p);
        if was_busy {
            self.free_slot(g, i);
            self.wake(g, i);
        }
        self.try_start(w);
    }

    /// A new group reading `topics` from the oldest retained offsets.
    fn add_group(
        &mut self,
        name: &str,
        topics: &[String],
        params: GroupParams,
    ) -> Result<(), String> {
        if self.groups.iter().any(|g| g.name == name) {
            return Err(format!("a group `{name}` exists"));
        }
        let mut subs = BTreeSet::new();
        for t in topics {
            subs.insert(self.topic_ix(t)?);
        }
        let new_workers: usize = subs
            .iter()
            .map(|&t| self.topics[t as usize].partitions.len())
            .sum();
        let l = &self.scenario.limits;
        let timer = usize::from(params.commit_interval_us > 0);
        let needed = self.sources.len()
            + self.workers.len()
            + new_workers
            + 1
            + timer
            + l.max_pending_controls;
        if needed > l.max_pending_actions {
            return Err(format!(
                "the model would need {needed} pending actions, over the limit of {}",
                l.max_pending_actions
            ));
        }
        self.queue.grow(new_workers + timer);
        let component = self.metrics.len() as u32;
        self.metrics
            .push(ComponentMetrics::new(name, name, Role::Consumer));
        let g = self.groups.len() as u32;
        let group = build_group(
            GroupSpec {
                component,
                name,
                params,
                topics: subs.into_iter().collect(),
                sinks: Vec::new(),
                is_store: false,
            },
            g,
            &mut self.topics,
            &mut self.workers,
            &self.scenario.limits,
        );
        self.groups.push(group);
        self.update_bounded_topics();
        self.series.add_component(name, component);
        self.series.add_group(name, g);
        let names: Vec<(String, u32)> = self
            .group_workers(g as usize)
            .map(|w| {
                let w = &self.workers[w as usize];
                (self.topics[w.topic as usize].name.clone(), w.partition)
            })
            .collect();
        self.series
            .add_partitions(names.iter().map(|(t, p)| (name, t.as_str(), *p)));
        if let Some(reg) = self.registry.as_deref_mut() {
            reg.add_group();
        }
        for w in self.group_workers(g as usize) {
            let now = self.now;
            let worker = &mut self.workers[w as usize];
            worker.lag_since = now;
            self.try_start(w);
        }
        if timer > 0 {
            let at = self.now.plus_us(params.commit_interval_us);
            push(&mut self.queue, at, Action::AutoCommit(g));
        }
        Ok(())
    }

    // ----- the event loop ----------------------------------------------

    fn on_emit(&mut self, s: u32) {
        if self.sources_stopped {
            return;
        }
        let now = self.now;
        let src = &mut self.sources[s as usize];
        let (key, payload) = match src.held.take() {
            Some(held) => held,
            None => {
                let key = src.keys.sample(&mut self.rng);
                let payload = src.schema.generate(key, &mut self.rng);
                src.emitted += 1;
                (key, payload)
            }
        };
        let (component, bus, t) = (src.component, src.bus, src.topic);
        if self.registry.is_some() && !self.registry_admits(s, key, payload) {
            return;
        }
        if self.bounded_topics[t as usize] {
            match self.full_queue(t, key) {
                Some(Backpressure::Throttle) => {
                    // A blocking send: hold the record, look again shortly.
                    let src = &mut self.sources[s as usize];
                    src.held = Some((key, payload));
                    src.throttled_since.get_or_insert(now);
                    push(
                        &mut self.queue,
                        now.plus_us(THROTTLE_POLL_US),
                        Action::Emit(s),
                    );
                    return;
                }
                Some(Backpressure::Shed) => {
                    self.metrics[component as usize].shed += 1;
                    self.hash.add(TAG_SHED | u64::from(s));
                    let next = self.sources[s as usize].next_arrival(now, &mut self.rng);
                    push(&mut self.queue, next, Action::Emit(s));
                    return;
                }
                None => {
                    if let Some(since) = self.sources[s as usize].throttled_since.take() {
                        self.metrics[component as usize].throttled_us += now.since_us(since);
                    }
                }
            }
        }
        let next = self.sources[s as usize].next_arrival(now, &mut self.rng);
        push(&mut self.queue, next, Action::Emit(s));
        self.publish(t, key, payload, s, component, bus);
    }

    /// The backpressure policy of a group whose queue for `key`'s partition
    /// of topic `t` is full (`throttle` wins over `shed`), if any is.
    fn full_queue(&self, t: u32, key: u64) -> Option<Backpressure> {
        let topic = &self.topics[t as usize];
        let p = partition_for(key, topic.partitions.len() as u32).0;
        let high = topic.partitions[p as usize].high_watermark().0;
        let mut full = None;
        for &(g, base) in &topic.subscriptions {
            if let Some(q) = self.groups[g as usize].params.queue {
                let waiting = high - self.workers[(base + p) as usize].position;
                if waiting >= u64::from(q.capacity) {
                    full = match (full, q.policy) {
                        (Some(Backpressure::Throttle), _) | (_, Backpressure::Throttle) => {
                            Some(Backpressure::Throttle)
                        }
                        _ => Some(Backpressure::Shed),
                    };
                }
            }
        }
        full
    }

    /// Appends a record of `key` to topic `t` for `source` (published by
    /// metric slot `component` to `bus`) and starts the workers it feeds;
    /// false when the bus was full (the record is counted as rejected).
    #[inline]
    fn publish(
        &mut self,
        t: u32,
        key: u64,
        payload: super::scenario::Payload,
        source: u32,
        component: u32,
        bus: u32,
    ) -> bool {
        let now = self.now;
        let retention = self.scenario.retention;
        let topic = &mut self.topics[t as usize];
        let n = topic.partitions.len() as u32;
        let p = partition_for(key, n).0;
        if topic.subscriptions.is_empty() && !retention.keeps_unsubscribed() {
            // Nobody reads it: advance the watermark, keep nothing.
            topic.partitions[p as usize].skip();
        } else if self.queued_records >= self.scenario.limits.max_queued_records {
            self.metrics[component as usize].rejected += 1;
            self.rejected += 1;
            return false;
        } else {
            let poisoned = match self
                .poison_next
                .iter()
                .position(|m| m.is_none_or(|x| x == t))
            {
                Some(i) => {
                    self.poison_next.remove(i);
                    true
                }
                None => false,
            };
            let log = &mut topic.partitions[p as usize];
            let high = log.high_watermark().0;
            for &(_, base) in &topic.subscriptions {
                self.workers[(base + p) as usize].integrate(now, high);
            }
            log.append(Record {
                key,
                produced_at: now,
                source,
                payload,
                event_id: self.produced,
                poisoned,
            });
            self.queued_records += 1;
            if retention.drops_unread() {
                self.retain(t, p);
            }
        }
        if self.tap.is_some() {
            self.tap_published(t, p, key, payload, source);
        }
        if self.trace.is_some() {
            self.trace_published(t, p, key, payload, source);
        }
        if self.activity.is_on() {
            let id = self.produced;
            self.activity.record(component, bus, t, id, now, now);
        }
        self.produced += 1;
        self.metrics[component as usize].events_out += 1;
        self.metrics[bus as usize].events_in += 1;
        // `try_start` on each subscribed worker, with the partition's high
        // watermark read once (starting one never appends to it).
        let topic = &self.topics[t as usize];
        let (subs, high) = (
            topic.subscriptions.len(),
            topic.partitions[p as usize].high_watermark().0,
        );
        for i in 0..subs {
            let w = self.topics[t as usize].subscriptions[i].1 + p;
            let worker = &self.workers[w as usize];
            if !(worker.busy
                || worker.pending
                || worker.instance == UNOWNED
                || worker.position >= high)
            {
                self.start(w);
            }
        }
        true
    }

    // ----- the CQRS command path ---------------------------------------

    /// The gateway's arrival: a query is answered from the read DB at once;
    /// a command joins the handler's queue.
    fn on_command(&mut self) {
        if self.sources_stopped {
            return;
        }
        let Some(h) = &mut self.handler else { return };
        let arrival = h.draw(&mut self.rng);
        let next = h.next_arrival(self.now, &mut self.rng);
        push(&mut self.queue, next, Action::Command);
        self.metrics[h.gateway as usize].events_out += 1;
        match arrival {
            cqrs::Arrival::Query(id) => {
                h.counters.queries += 1;
                if self.activity.is_on()
                    && let Some(&db) = h.read_db.and_then(|i| self.sink_slots.get(i as usize))
                {
                    let (now, q) = (self.now, super::activity::QUERY_TOPIC);
                    let n = h.counters.queries;
                    self.activity.record(h.gateway, db, q, n, now, now);
                }
                let found = h
                    .read_db
                    .and_then(|i| self.sink_states.get(i as usize))
                    .is_some_and(|s| match s {
                        SinkState::ReadViews(v) => v.order(id).is_some_and(|o| o.placed > 0),
                        _ => false,
                    });
                if found {
                    h.counters.query_hits += 1;
                } else if h.knows_order(id) {
                    h.counters.stale_reads += 1;
                }
            }
            cqrs::Arrival::Command(cmd) => {
                if h.enqueue(cmd) {
                    self.metrics[h.component as usize].events_in += 1;
                    if self.activity.is_on() {
                        let now = self.now;
                        let n = h.counters.commands;
                        self.activity
                            .record(h.gateway, h.component, h.topic, n, now, now);
                    }
                    self.start_commands();
                }
            }
        }
    }

    /// Fills the handler's idle slots from its queue: each loads its
    /// aggregate's version now and works for a service time.
    fn start_commands(&mut self) {
        let Some(h) = &mut self.handler else { return };
        for s in 0..h.slots.len() {
            if h.slots[s].busy {
                continue;
            }
            let Some(cmd) = h.queue.pop_front() else {
                break;
            };
            let loaded = h.version(cmd);
            h.slots[s] = cqrs::Slot {
                busy: true,
                cmd,
                loaded,
                attempt: 1,
            };
            let mut us = h.service.sample_us(&mut self.rng);
            let m = &mut self.metrics[h.component as usize];
            m.processing_us.record(us);
            if us == 0 {
                us = 1;
            }
            push(
                &mut self.queue,
                self.now.plus_us(us),
                Action::Handled(s as u32),
            );
        }
    }

    /// Slot `s` is done working: append (and publish) or retry or reject.
    fn on_handled(&mut self, s: usize) {
        if self.registry.is_some() && !self.registry_admits_command(s) {
            return;
        }
        let Some(h) = &mut self.handler else { return };
        let outcome = h.finish(s);
        let cmd = h.slots[s].cmd;
        self.hash.add(self.now.0);
        self.hash
            .add(HANDLER_SOURCE as u64 ^ (cmd.id << 2) ^ outcome_code(&outcome));
        match outcome {
            Outcome::Retry => {
                // Reload and work again.
                let loaded = h.version(cmd);
                let slot = &mut h.slots[s];
                slot.loaded = loaded;
                slot.attempt += 1;
                let us = h.service.sample_us(&mut self.rng).max(1);
                self.metrics[h.component as usize].processing_us.record(us);
                push(
                    &mut self.queue,
                    self.now.plus_us(us),
                    Action::Handled(s as u32),
                );
                return;
            }
            Outcome::Rejected => {
                h.slots[s].busy = false;
            }
            Outcome::Accepted => {
                h.slots[s].busy = false;
                let (t, component, bus) = (h.topic, h.component, h.bus);
                let payload = self.command_payload(cmd);
                if self.registry.is_some() {
                    self.registry_count_command();
                }
                if !self.publish(t, cmd.id, payload, HANDLER_SOURCE, component, bus)
                    && let Some(h) = &mut self.handler
                {
                    h.counters.publish_rejected += 1;
                }
            }
        }
        self.start_commands();
    }

    /// The event an accepted command publishes.
    fn command_payload(&mut self, cmd: cqrs::Command) -> super::scenario::Payload {
        use super::scenario::Schema;
        let schema = match cmd.kind {
            cqrs::CommandKind::PlaceOrder => Schema::Order,
            cqrs::CommandKind::Pay => Schema::Payment,
            cqrs::CommandKind::Register => Schema::User,
        };
        schema.generate(cmd.id, &mut self.rng)
    }

    /// Starts the record at the worker's position, if it is owned, idle,
    /// has no action pending and has something to read.
    ///
    /// The checks are inlined at every caller: a worker that finishes a
    /// record has mostly caught up, so the call after each delivery ends
    /// here; the start itself is a call.
    #[inline(always)]
    fn try_start(&mut self, w: u32) {
        let worker = &self.workers[w as usize];
        let log = self.log_of(w);
        if worker.busy
            || worker.pending
            || worker.instance == UNOWNED
            || worker.position >= log.high_watermark().0
        {
            return;
        }
        self.start(w);
    }

    /// [`Engine::try_start`] past its checks: skips what retention
    /// dropped, takes a slot where the group caps concurrency, and begins
    /// an attempt.
    ///
    /// The usual case — nothing dropped, no cap, no registry — begins the
    /// attempt here with the worker, its group and its partition looked
    /// up once; the rest goes through [`Engine::start_general`].
    #[inline(never)]
    fn start(&mut self, w: u32) {
        let worker = &mut self.workers[w as usize];
        let g = &self.groups[worker.group as usize];
        let log = &self.topics[worker.topic as usize].partitions[worker.partition as usize];
        if worker.position < log.low_watermark().0
            || g.params.concurrency > 0
            || self.registry.is_some()
        {
            self.start_general(w);
            return;
        }
        let mut service_us = g.params.service.sample_us(&mut self.rng);
        if g.slow_factor != 1.0 {
            service_us = to_us(service_us as f64 * g.slow_factor);
        }
        worker.busy = true;
        worker.pending = true;
        worker.attempt += 1;
        worker.started = self.now;
        push(
            &mut self.queue,
            self.now.plus_us(service_us),
            Action::Done(w, worker.epoch),
        );
        if self.activity.is_on() {
            self.record_attempt(w, service_us);
        }
    }

    /// [`Engine::start`] in general.
    #[cold]
    #[inline(never)]
    fn start_general(&mut self, w: u32) {
        let worker = &self.workers[w as usize];
        let log = self.log_of(w);
        if worker.position < log.low_watermark().0 {
            // Retention dropped records it had not read (never under
            // until-consumed or keep-all).
            if !self.skip_to_log_start(w) {
                return;
            }
        }
        let worker = &self.workers[w as usize];
        if self.groups[worker.group as usize].params.concurrency > 0 && !self.take_slot(w) {
            return;
        }
        self.begin_attempt(w);
    }

    /// Takes a slot of the worker's instance for a new record, or queues
    /// the worker for one (concurrency-capped groups only).
    fn take_slot(&mut self, w: u32) -> bool {
        let worker = &mut self.workers[w as usize];
        let (g, i) = (worker.group as usize, worker.instance as usize);
        self.groups[g].take_slot(i, &mut worker.waiting_slot, w)
    }

    /// Gives back a slot of instance `i` of group `g`.
    fn free_slot(&mut self, g: usize, i: u32) {
        let grp = &mut self.groups[g];
        if grp.params.concurrency > 0
            && let Some(n) = grp.slots_busy.get_mut(i as usize)
        {
            *n = n.saturating_sub(1);
        }
    }

    /// Starts waiting workers of instance `i` of group `g` while it has free slots.
    fn wake(&mut self, g: usize, i: u32) {
        loop {
            let grp = &mut self.groups[g];
            let cap = grp.params.concurrency;
            let Some(busy) = grp.slots_busy.get(i as usize).copied() else {
                return;
            };
            if busy >= cap {
                return;
            }
            let Some(next) = grp.slot_waiters[i as usize].pop_front() else {
                return;
            };
            if next == dlq::REPLAY_WAITER {
                self.replay_woken(g);
                continue;
            }
            self.workers[next as usize].waiting_slot = false;
            self.try_start(next);
        }
    }

    /// Starts one attempt at the record at the worker's position.
    #[inline(always)]
    fn begin_attempt(&mut self, w: u32) {
        let lookup_us = if self.registry.is_some() {
            self.registry_lookup_us(w)
        } else {
            0
        };
        let worker = &mut self.workers[w as usize];
        let g = &self.groups[worker.group as usize];
        let mut service_us = g.params.service.sample_us(&mut self.rng);
        if g.slow_factor != 1.0 {
            service_us = to_us(service_us as f64 * g.slow_factor);
        }
        service_us += lookup_us;
        worker.busy = true;
        worker.pending = true;
        worker.attempt += 1;
        worker.started = self.now;
        push(
            &mut self.queue,
            self.now.plus_us(service_us),
            Action::Done(w, worker.epoch),
        );
        if self.activity.is_on() {
            self.record_attempt(w, service_us);
        }
    }

    /// Records the hop of the attempt worker `w` just began (activity on).
    #[cold]
    fn record_attempt(&mut self, w: u32, service_us: u64) {
        let worker = &self.workers[w as usize];
        let topic = &self.topics[worker.topic as usize];
        let to = self.groups[worker.group as usize].component;
        let event = topic.partitions[worker.partition as usize]
            .get(Offset(worker.position))
            .map_or(u64::MAX, |r| r.event_id);
        let (from, t, now) = (topic.bus, worker.topic, self.now);
        let end = now.plus_us(service_us);
        self.activity.record(from, to, t, event, now, end);
    }

    fn on_retry(&mut self, w: u32, epoch: u32) {
        let worker = &mut self.workers[w as usize];
        worker.pending = false;
        if epoch != worker.epoch || !worker.busy {
            self.try_start(w);
        } else {
            self.begin_attempt(w);
        }
    }

    fn on_done(&mut self, w: u32, epoch: u32) {
        let now = self.now;
        let worker = &mut self.workers[w as usize];
        worker.pending = false;
        if epoch != worker.epoch || !worker.busy {
            // Work abandoned by a crash, rebalance or reset.
            self.try_start(w);
            return;
        }
        let (g, t, p) = (worker.group, worker.topic, worker.partition);
        let topic = &self.topics[t as usize];
        let log = &topic.partitions[p as usize];
        let offset = worker.position;
        let Some(&record) = log.get(Offset(offset)) else {
            debug_assert!(
                self.scenario.retention.drops_unread(),
                "record {offset} of {}/{p} not retained",
                topic.name
            );
            self.lost_in_service(w);
            return;
        };
        let group = &mut self.groups[g as usize];

        // Did this attempt fail?
        let sources = self.sources.len();
        let poisoned = record.poisoned
            || (topic.poisoned
                && !schema::validated(self.registry.as_deref(), t, record.source, sources));
        let error =
            if poisoned {
                Some(DeliveryError::Poisoned)
            } else if let Some(e) = self.registry.as_deref_mut().and_then(|r| {
                schema::decode_error(r, g, worker.instance, t, record.source, sources)
            }) {
                Some(e)
            } else if group.params.failure_probability == 0.0
                && self.fail_probability == 0.0
                && self.group_fail.is_empty()
            {
                // Nothing can fail: no probability to work out.
                None
            } else {
                let own = group.params.failure_probability;
                let mut extra = self.fail_probability;
                if let Some(&p) = self.group_fail.get(g as usize) {
                    extra = 1.0 - (1.0 - extra) * (1.0 - p);
                }
                let p_fail = 1.0 - (1.0 - own) * (1.0 - extra);
                (p_fail > 0.0 && self.rng.open01() < p_fail).then_some(DeliveryError::Transient)
            };
        if let Some(error) = error {
            group.counters.failures += 1;
            self.hash.add(now.0);
            self.hash.add(TAG_FAILED | offset);
            if worker.attempt < group.params.retry.max_attempts {
                group.counters.retries += 1;
                let delay = group.params.retry.backoff.delay_us(worker.attempt);
                worker.pending = true;
                push(
                    &mut self.queue,
                    now.plus_us(delay),
                    Action::Retry(w, worker.epoch),
                );
                if self.trace.is_some() {
                    let retry_at = now.plus_us(delay);
                    let outcome = trace::AttemptOutcome::Failed { retry_at };
                    self.trace_attempt(w, offset, &record, outcome);
                }
                return;
            }
            group.counters.dead_lettered += 1;
            group.dead_letters.push(DeadLetter {
                topic: topic.name.clone(),
                partition: p,
                offset,
                key: record.key,
                event_id: record.event_id,
                error,
                attempts: worker.attempt,
                at: now,
                produced_at: record.produced_at,
                payload: record.payload,
                source: record.source,
            });
            self.hash.add(TAG_DEAD | offset);
            self.hash.add(u64::from(g));
            if self.trace.is_some() {
                self.trace_attempt(w, offset, &record, trace::AttemptOutcome::DeadLettered);
            }
            self.finish_outlined(w, offset);
            return;
        }

        // Processed: apply the side effect unless the dedupe store has seen it.
        let service_us = now.since_us(worker.started);
        worker.processed += 1;
        let sojourn_us = now.since_us(record.produced_at);
        worker.sojourn_sum_us += u128::from(sojourn_us);
        let instance = worker.instance;
        let seen_before = worker.applied.contains(offset);
        let replay = offset < worker.replay_below;

        // Three words, not six: (topic, partition, group) and (offset,
        // key) are folded first — as distinguishing, half the hashing.
        self.hash.add(now.0);
        self.hash
            .add((u64::from(t) << 40) ^ (u64::from(p) << 20) ^ u64::from(g));
        self.hash.add(offset ^ record.key.rotate_left(32));
        self.deliveries += 1;

        if let Some(n) = group.processed_by_instance.get_mut(instance as usize) {
            *n += 1;
        }
        let idempotent = group.params.idempotent;
        let apply = !(idempotent && group.dedupe.contains(record.event_id));
        let react = apply && !group.reactions.is_empty();
        if !apply {
            group.counters.deduped += 1;
        } else {
            // A replay after a reset is asked for, not a duplicate — unless
            // the group promised idempotency, which a replay must honour too.
            if seen_before && replay && !idempotent {
                group.counters.replayed += 1;
            } else if seen_before {
                group.counters.duplicates_applied += 1;
                let name = &group.name;
                let describe = || {
                    let off = if idempotent { "" } else { " (idempotency off)" };
                    let text = format!(
                        "{name} applied {}/{p}@{offset} (event {}) twice at {now}{off}",
                        topic.name, record.event_id
                    );
                    let event = EventRef {
                        group: name.clone(),
                        topic: topic.name.clone(),
                        partition: p,
                        offset,
                        key: Some(record.key),
                        event_id: Some(record.event_id),
                    };
                    (text, vec![event])
                };
                if idempotent {
                    self.duplicate_effects.record_events(now, describe);
                } else {
                    self.unguarded_duplicates.record_events(now, describe);
                }
            }
            worker.applied.insert(offset);
            if idempotent {
                group.dedupe.insert(record.event_id);
            }
            let applied = Applied {
                topic: t,
                event_id: record.event_id,
                key: record.key,
                produced_at: record.produced_at,
                payload: record.payload,
            };
            if let Some(store) = &mut group.store {
                store.append_event(applied);
            }
            if group.read_views
                && record.source == HANDLER_SOURCE
                && let Some(h) = &mut self.handler
            {
                h.staleness_us.record(sojourn_us);
                self.series.record_staleness(sojourn_us);
            }
            let max = self.scenario.limits.max_sink_entries;
            for (&s, &i) in group.sinks.iter().zip(&group.sink_states) {
                self.metrics[s as usize].events_in += 1;
                if self.activity.is_on() {
                    let from = group.component;
                    self.activity.record(from, s, t, record.event_id, now, now);
                }
                if !self.sink_states[i as usize].apply(&applied, max) {
                    self.sink_overflow[i as usize] += 1;
                }
            }
        }
        let m = &mut self.metrics[group.component as usize];
        m.events_in += 1;
        self.series.record_delivery(g, m, service_us, sojourn_us);
        self.metrics[topic.bus as usize].events_out += 1;
        if self.trace.is_some() {
            let outcome = match (apply, seen_before) {
                (false, _) => trace::AttemptOutcome::SkippedDuplicate,
                (true, true) => trace::AttemptOutcome::Reapplied,
                (true, false) => trace::AttemptOutcome::Processed,
            };
            self.trace_attempt(w, offset, &record, outcome);
        }
        if react {
            self.react(g, t, record.key);
        }
        self.finish(w, offset);
    }

    /// Group `g` applied a record of topic `t` with `key`: it publishes
    /// what its reactions to `t` say (same key, a payload of the output
    /// type's schema).
    #[cold]
    fn react(&mut self, g: u32, t: u32, key: u64) {
        for i in 0..self.groups[g as usize].reactions.len() {
            let r = self.groups[g as usize].reactions[i];
            if r.on != t || (r.probability < 1.0 && self.rng.open01() >= r.probability) {
                continue;
            }
            let payload = r.schema.generate(key, &mut self.rng);
            self.publish(r.out, key, payload, REACTION_SOURCE, r.component, r.bus);
        }
    }

    /// [`Engine::finish`] as a call, for the rare paths.
    #[inline(never)]
    fn finish_outlined(&mut self, w: u32, offset: u64) {
        self.finish(w, offset);
    }

    /// The record at `offset` is done with (applied or dead-lettered):
    /// check the order, advance, commit when due, start the next one.
    /// Inlined into the delivery path, which ends with it.
    #[inline(always)]
    fn finish(&mut self, w: u32, offset: u64) {
        if offset != self.workers[w as usize].expect_next {
            self.order_broken(w, offset);
        }
        let now = self.now;
        // Split borrows of the fields, so that the worker, its group and
        // its partition are looked up once for the commit and the restart.
        let worker = &mut self.workers[w as usize];
        worker.expect_next = offset + 1;
        worker.position = offset + 1;
        worker.finished_upto = worker.finished_upto.max(offset + 1);
        worker.busy = false;
        worker.attempt = 0;
        worker.since_commit += 1;
        let (g, i, t, p) = (
            worker.group as usize,
            worker.instance,
            worker.topic,
            worker.partition,
        );
        let params = &self.groups[g].params;
        let concurrency = params.concurrency;
        let log = &mut self.topics[t as usize].partitions[p as usize];
        let high = log.high_watermark().0;
        // `try_start`'s checks, read while at hand: neither a commit nor a
        // trim changes them (a trim moves the low watermark only).
        let next = !worker.pending && i != UNOWNED && worker.position < high;
        // A timed group commits only on its timer (`on_auto_commit`).
        if params.commit_interval_us == 0
            && (worker.since_commit >= params.commit_every || worker.position >= high)
            && commit_worker(worker, log, now)
        {
            self.trim(t, p);
        }
        #[cfg(debug_assertions)]
        self.check_holders(t, p);
        if concurrency > 0 {
            // Waiting partitions first, then this one again (FIFO, no starvation).
            self.free_slot(g, i);
            self.wake(g, i);
            self.try_start(w);
        } else if next {
            self.start(w);
        }
    }

    /// Records that worker `w` finished `offset` out of order.
    #[cold]
    #[inline(never)]
    fn order_broken(&mut self, w: u32, offset: u64) {
        let worker = &self.workers[w as usize];
        let (expected, g) = (worker.expect_next, worker.group);
        let (t, p) = (worker.topic, worker.partition);
        let name = &self.groups[g as usize].name;
        let topic = &self.topics[t as usize];
        let now = self.now;
        self.order.record_events(now, || {
            let text = format!(
                "{name} finished {}/{p}@{offset}, expected @{expected}, at {now}",
                topic.name
            );
            let event = |o: u64| {
                let r = topic.partitions[p as usize].get(Offset(o));
                EventRef {
                    group: name.clone(),
                    topic: topic.name.clone(),
                    partition: p,
                    offset: o,
                    key: r.map(|r| r.key),
                    event_id: r.map(|r| r.event_id),
                }
            };
            (text, vec![event(offset), event(expected)])
        });
    }

    /// Group `g`'s timed commit: each of its workers commits what it has
    /// processed, caught up or not (Kafka's auto-commit, made from the
    /// poll loop every `auto.commit.interval.ms`); then the next one is
    /// scheduled. A crashed instance's workers were rewound to their last
    /// commit, so there is nothing of theirs to commit.
    fn on_auto_commit(&mut self, g: u32) {
        for w in self.group_workers(g as usize) {
            let worker = &self.workers[w as usize];
            if worker.position > worker.committed {
                self.commit(w);
            }
        }
        // The group's replay consumer, if any, commits on the same poll.
        if self
            .dlq_replays
            .get(&g)
            .is_some_and(|r| r.processed_since_commit() > 0)
        {
            self.replay_commit(g as usize);
        }
        let every = self.groups[g as usize].params.commit_interval_us.max(1);
        push(
            &mut self.queue,
            self.now.plus_us(every),
            Action::AutoCommit(g),
        );
    }

    /// Commits the worker's position and drops what every group committed.
    fn commit(&mut self, w: u32) {
        let now = self.now;
        let worker = &mut self.workers[w as usize];
        let (t, p) = (worker.topic, worker.partition);
        let log = &mut self.topics[t as usize].partitions[p as usize];
        if commit_worker(worker, log, now) {
            self.trim(t, p);
        }
        #[cfg(debug_assertions)]
        self.check_holders(t, p);
    }

    /// Debug builds, after a commit: under until-consumed retention some
    /// group still holds the oldest record of `t/p` (else it would have
    /// been dropped), and the count of holders kept beside the log, when
    /// known, is not above the true one — a count too high would skip a
    /// trim; too low only costs a scan.
    #[cfg(debug_assertions)]
    fn check_holders(&self, t: u32, p: u32) {
        if self.scenario.retention != Retention::UntilConsumed {
            return;
        }
        let topic = &self.topics[t as usize];
        let log = &topic.partitions[p as usize];
        let low = log.low_watermark().0;
        let committed: Vec<u64> = topic
            .subscriptions
            .iter()
            .map(|&(_, base)| self.workers[(base + p) as usize].committed)
            .collect();
        if let Some(&min) = committed.iter().min() {
            debug_assert!(
                min <= low,
                "{}/{p}: every group committed past {low} (at least to {min}) and nothing was dropped",
                topic.name
            );
        }
        let holding = committed.iter().filter(|&&c| c <= low).count();
        debug_assert!(
            log.holders() as usize <= holding,
            "{}/{p}: {} holders counted, {holding} hold {low}",
            topic.name,
            log.holders()
        );
    }

    /// Drops the records of `t/p` every subscribed group has committed
    /// (under [`Retention::UntilConsumed`]).
    #[inline]
    fn trim(&mut self, t: u32, p: u32) {
        if self.scenario.retention != Retention::UntilConsumed {
            return;
        }
        self.trim_scan(t, p);
    }

    /// [`Engine::trim`] past its retention check: one pass over the
    /// subscriptions finds the smallest commit and how many groups are at
    /// it; when some group still holds the oldest record, their count is
    /// kept beside the log (each commit past it counts one down, see
    /// [`Engine::commit`]), else the records below the smallest commit
    /// are dropped and the groups at the new low watermark are counted.
    #[inline(never)]
    fn trim_scan(&mut self, t: u32, p: u32) {
        let topic = &mut self.topics[t as usize];
        let log = &mut topic.partitions[p as usize];
        let oldest = log.low_watermark().0;
        let mut low = log.high_watermark().0;
        let mut at_low = 0u32;
        for &(_, base) in &topic.subscriptions {
            let committed = self.workers[(base + p) as usize].committed;
            if committed < low {
                low = committed;
                at_low = 1;
            } else if committed == low {
                at_low += 1;
            }
        }
        if low > oldest {
            self.queued_records -= log.trim_below(Offset(low));
        }
        if log.low_watermark().0 == low {
            log.set_holders(at_low);
        } else {
            log.set_holders(0);
        }
    }

    #[inline(never)]
    fn on_sample(&mut self) {
        if let Retention::Time { .. } = self.scenario.retention {
            for t in 0..self.topics.len() as u32 {
                for p in 0..self.topics[t as usize].partitions.len() as u32 {
                    self.retain(t, p);
                }
            }
        }
        // Each worker's lag is read once: it is charted per partition and
        // summed per group.
        let worker_lags = self.worker_lags();
        let groups: Vec<GroupSample> = self
            .groups
            .iter()
            .map(|g| GroupSample {
                lag: worker_lags
                    .get(g.first_worker as usize..g.end_worker as usize)
                    .map_or(0, |l| l.iter().sum()),
                dlq: g.dead_letters.waiting(),
                duplicates: g.counters.duplicates_applied,
                failures: g.counters.failures,
            })
            .collect();
        let conflicts = self.handler.as_ref().map_or(0, |h| h.counters.conflicts);
        let charted = worker_lags.len().min(super::metrics::MAX_PARTITION_SERIES);
        let interval = self.series.sample(
            self.now,
            &self.metrics,
            &groups,
            conflicts,
            &worker_lags[..charted],
        );
        push(&mut self.queue, self.now.plus_us(interval), Action::Sample);
    }

    /// Every worker's lag ([`Engine::lag`]), by worker: read subscription
    /// by subscription, whose workers are a run of the worker list in
    /// partition order, so that no worker looks its partition up.
    fn worker_lags(&self) -> Vec<u64> {
        let mut lags = vec![0; self.workers.len()];
        let mut filled = 0;
        for topic in &self.topics {
            for &(_, base) in &topic.subscriptions {
                let base = base as usize;
                let n = topic.partitions.len();
                if let (Some(out), Some(workers)) = (
                    lags.get_mut(base..base + n),
                    self.workers.get(base..base + n),
                ) {
                    for ((lag, w), log) in out.iter_mut().zip(workers).zip(&topic.partitions) {
                        *lag = log.high_watermark().0 - w.position;
                    }
                    filled += n;
                }
            }
        }
        if filled != self.workers.len() {
            // Some worker outside the runs (never built so): one by one.
            return self.workers.iter().map(|w| self.lag(w)).collect();
        }
        lags
    }

    fn group_lag(&self, g: usize) -> u64 {
        let group = &self.groups[g];
        self.workers[group.first_worker as usize..group.end_worker as usize]
            .iter()
            .map(|w| self.lag(w))
            .sum()
    }

    /// Records of the worker's partition appended and not yet processed,
    /// the one in service included: from its position, not its last
    /// commit, which a group committing in batches or on a timer leaves
    /// behind (the same with a commit per record). A crash rewinds the
    /// position to the commit, so the re-delivered records count again.
    fn lag(&self, w: &Worker) -> u64 {
        self.high(w) - w.position
    }

    fn high(&self, w: &Worker) -> u64 {
        self.topics[w.topic as usize].partitions[w.partition as usize]
            .high_watermark()
            .0
    }

    // ----- read-only state ---------------------------------------------

    /// The virtual clock.
    pub fn now(&self) -> VirtualTime {
        self.now
    }

    /// The seed the run was built with.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The scenario the run was built with.
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// Actions waiting in the scheduler.
    pub fn pending_actions(&self) -> usize {
        self.queue.len()
    }

    /// When the next pending action is due (`None` when nothing is pending).
    pub fn next_time(&self) -> Option<VirtualTime> {
        self.queue.peek_time()
    }

    /// Starts (`true`) or stops keeping every record published, for
    /// [`Engine::take_published`]. Off by default: it costs a copy per record.
    pub fn set_tap(&mut self, on: bool) {
        self.tap = on.then(|| self.tap.take().unwrap_or_default());
    }

    /// Starts (`true`) or stops recording hops for the canvas's moving dots
    /// (see [`super::activity`]). Off by default and in clones; a run's
    /// history and hash are the same either way.
    pub fn set_activity(&mut self, on: bool) {
        self.activity.set(on);
    }

    /// Makes every event store keep its latest `limits.max_store_events`
    /// events (dropping the oldest) instead of the first ones, so a live
    /// run's memory plateaus; the dropped events fold into a checkpoint of
    /// each projection the store feeds (`store_base.rs`), from which a
    /// rebuild goes on. A run's history and hash are the same either way.
    pub fn set_store_keep_latest(&mut self, on: bool) {
        for store in self.groups.iter_mut().filter_map(|g| g.store.as_mut()) {
            store.set_keep_latest(on);
        }
        if on {
            // Trimmed events fold into checkpoints, so rebuilds still work.
            self.track_store_bases();
        }
    }

    /// Each group's event-store position (0 for groups without a store).
    pub(crate) fn store_positions(&self) -> Vec<u64> {
        self.groups
            .iter()
            .map(|g| g.store.as_ref().map_or(0, EventStore::store_len))
            .collect()
    }

    /// Drops the stores' logged events up to `positions` (per group, as
    /// [`Engine::store_positions`] gives them): a live history's window
    /// moved past them. Nothing a run does depends on the log.
    pub(crate) fn trim_store_logs(&mut self, positions: &[u64]) {
        for (g, &p) in self.groups.iter_mut().zip(positions) {
            if let Some(store) = g.store.as_mut() {
                store.trim_log_through(p);
            }
        }
    }

    /// Turns on the aggregate snapshots the scenario asks for
    /// (`scenario.snapshot_every`, by event-store id).
    fn attach_snapshots(&mut self) {
        for g in &mut self.groups {
            if let (Some(store), Some(&every)) =
                (g.store.as_mut(), self.scenario.snapshot_every.get(&g.name))
            {
                store.set_snapshot_every(every);
            }
        }
    }

    /// The hops recorded since activity was turned on, if it is on.
    pub fn activity(&self) -> Option<&super::activity::ActivityLog> {
        self.activity.log()
    }

    /// Moves the records published since the last call (while tapped) to `into`.
    pub fn take_published(&mut self, into: &mut Vec<Published>) {
        if let Some(tap) = &mut self.tap {
            into.append(tap);
        }
    }

    /// Keeps the record just published on `t/p` for the tap.
    #[cold]
    fn tap_published(
        &mut self,
        t: u32,
        p: u32,
        key: u64,
        payload: super::scenario::Payload,
        source: u32,
    ) {
        let log = &self.topics[t as usize].partitions[p as usize];
        let offset = log.high_watermark().0.saturating_sub(1);
        let record = log.get(Offset(offset)).copied().unwrap_or(Record {
            key,
            produced_at: self.now,
            source,
            payload,
            event_id: self.produced,
            poisoned: false,
        });
        if let Some(tap) = &mut self.tap {
            tap.push(Published {
                topic: t,
                partition: p,
                offset,
                record,
            });
        }
    }

    /// Records retained on the bus (appended, not yet committed by every group).
    pub fn queued_records(&self) -> usize {
        self.queued_records
    }

    /// Records appended to the bus so far.
    pub fn events_produced(&self) -> u64 {
        self.produced
    }

    /// Deliveries completed so far (record × group).
    pub fn deliveries(&self) -> u64 {
        self.deliveries
    }

    /// Fingerprint of every delivery so far (see [`RunHash`]).
    pub fn run_hash(&self) -> u64 {
        self.hash.value()
    }

    /// The topics, in creation order (sources first, then subscriptions).
    pub fn topics(&self) -> &[Topic] {
        &self.topics
    }

    /// The consumer groups' names (their components' Mermaid ids), in order.
    pub fn group_names(&self) -> impl Iterator<Item = &str> + '_ {
        self.groups.iter().map(|g| g.name.as_str())
    }

    /// The topics a group subscribes to, by name.
    pub fn group_topics(&self, group: &str) -> Option<Vec<&str>> {
        let g = self.groups.iter().find(|g| g.name == group)?;
        Some(
            g.topics
                .iter()
                .map(|&t| self.topics[t as usize].name())
                .collect(),
        )
    }

    /// Per-component counters and histograms, in diagram order.
    pub fn metrics(&self) -> &[ComponentMetrics] {
        &self.metrics
    }

    /// The metrics of component `key`.
    pub fn component_metrics(&self, key: &str) -> Option<&ComponentMetrics> {
        self.metrics.iter().find(|m| m.key == key)
    }

    /// The sampled time series.
    pub fn series(&self) -> &TimeSeries {
        &self.series
    }

    /// Takes the sealed chunks out of the time series (see
    /// `metrics::SealedSamples`): the history's archive keeps them beside
    /// an image, shared with its other images, instead of encoding them.
    pub(crate) fn detach_sealed_samples(&mut self) -> super::metrics::SealedSamples {
        self.series.detach_sealed()
    }

    /// Puts back chunks taken by [`Engine::detach_sealed_samples`]
    /// (false, and nothing changed, when they are another series').
    pub(crate) fn attach_sealed_samples(&mut self, sealed: super::metrics::SealedSamples) -> bool {
        self.series.attach_sealed(sealed)
    }

    /// Controls scheduled and not yet run that move a group backwards
    /// (see `history::rewinds`).
    pub(crate) fn pending_rewinds(&self) -> usize {
        self.controls
            .values()
            .filter(|f| super::history::rewinds(f))
            .count()
    }

    /// Per-partition state of one group, with its lag and time-averaged
    /// lag up to now.
    pub fn partition_lags(&self, group: &str) -> Option<Vec<PartitionLag>> {
        let g = self.groups.iter().find(|g| g.name == group)?;
        let elapsed = self.now.as_us();
        Some(
            self.workers[g.first_worker as usize..g.end_worker as usize]
                .iter()
                .map(|w| {
                    let high = self.high(w);
                    let lag = self.lag(w);
                    let oldest = self.topics[w.topic as usize].partitions[w.partition as usize]
                        .get(Offset(w.position));
                    // The integral runs over the committed lag (`integrate`).
                    let open = high - w.committed;
                    let area =
                        w.lag_area + u128::from(open) * u128::from(self.now.since_us(w.lag_since));
                    PartitionLag {
                        topic: self.topics[w.topic as usize].name.clone(),
                        partition: w.partition,
                        instance: w.instance,
                        committed: w.committed,
                        high_watermark: high,
                        lag,
                        lag_us: oldest.map_or(0, |r| self.now.since_us(r.produced_at)),
                        lag_time_avg: if elapsed == 0 {
                            0.0
                        } else {
                            area as f64 / elapsed as f64
                        },
                        processed: w.processed,
                        mean_sojourn_us: if w.processed == 0 {
                            0.0
                        } else {
                            w.sojourn_sum_us as f64 / w.processed as f64
                        },
                    }
                })
                .collect(),
        )
    }

    /// Everything `simulate` reports, ready to print or serialize.
    pub fn summary(&self) -> RunSummary {
        let group_of: BTreeMap<u32, usize> = self
            .groups
            .iter()
            .enumerate()
            .map(|(i, g)| (g.component, i))
            .collect();
        let components = self
            .metrics
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let g = group_of.get(&(i as u32)).copied();
                ComponentSummary {
                    key: m.key.clone(),
                    label: m.label.clone(),
                    role: m.role,
                    events_in: m.events_in,
                    events_out: m.events_out,
                    rejected: m.rejected,
                    shed: m.shed,
                    throttled_us: m.throttled_us
                        + self
                            .sources
                            .iter()
                            .filter(|s| s.component == i as u32)
                            .filter_map(|s| s.throttled_since)
                            .map(|t| self.now.since_us(t))
                            .max()
                            .unwrap_or(0),
                    lag: g.map(|g| self.group_lag(g)),
                    processing_us: g.map(|_| m.processing_us.summary()),
                    end_to_end_us: g.map(|_| m.end_to_end_us.summary()),
                    delivery: g.map(|g| self.groups[g].counters),
                }
            })
            .collect();
        let groups = self
            .groups
            .iter()
            .map(|g| GroupSummary {
                group: g.name.clone(),
                instances: g.alive.iter().filter(|&&a| a).count() as u32,
                idempotent: g.params.idempotent,
                delivery: g.counters,
                dlq_topic: g.dead_letters.name.clone(),
                dlq_len: g.dead_letters.len,
                store_len: g.store.as_ref().map(EventStore::store_len),
                partitions: self.partition_lags(&g.name).unwrap_or_default(),
            })
            .collect();
        RunSummary {
            seed: self.seed,
            now_us: self.now.as_us(),
            run_hash: format!("{:016x}", self.run_hash()),
            events_produced: self.produced,
            deliveries: self.deliveries,
            rejected: self.rejected,
            components,
            groups,
            series: self.series.clone(),
            invariants: self.invariants(),
            faults: self.fault_log.clone(),
            sinks: self.sink_summaries(),
            cqrs: self.cqrs_summary(),
            registry: self.registry(),
        }
    }

    /// A group's delivery counters (retries, DLQ, duplicates, rebalances).
    pub fn delivery_counters(&self, group: &str) -> Option<DeliveryCounters> {
        self.groups
            .iter()
            .find(|g| g.name == group)
            .map(|g| g.counters)
    }

    /// A group's dead-letter topic.
    pub fn dead_letters(&self, group: &str) -> Option<&DeadLetterTopic> {
        self.groups
            .iter()
            .find(|g| g.name == group)
            .map(|g| &g.dead_letters)
    }

    /// The event store a group appends to (event-store nodes only).
    pub fn event_store(&self, group: &str) -> Option<&EventStore> {
        self.groups
            .iter()
            .find(|g| g.name == group)
            .and_then(|g| g.store.as_ref())
    }

    /// Live instances of a group, by number.
    pub fn live_instances(&self, group: &str) -> Option<Vec<u32>> {
        let g = self.groups.iter().find(|g| g.name == group)?;
        Some(
            (0..g.alive.len() as u32)
                .filter(|&i| g.alive[i as usize])
                .collect(),
        )
    }

    // ----- sink state and projection rebuild ----------------------------

    /// The state of sink `key` (a component some group writes to).
    pub fn sink_state(&self, key: &str) -> Option<&SinkState> {
        let i = self
            .sink_slots
            .iter()
            .position(|&s| self.metrics[s as usize].key == key)?;
        self.sink_states.get(i)
    }

    /// The CQRS command path's figures, if the scenario has one.
    pub fn cqrs_summary(&self) -> Option<CqrsSummary> {
        let h = self.handler.as_ref()?;
        Some(CqrsSummary {
            handler: h.name.clone(),
            counters: h.counters,
            queued: h.queue.len() as u64,
            staleness_us: h.staleness_us.summary(),
        })
    }

    /// Every sink's state in brief, in the order groups first write to them.
    pub fn sink_summaries(&self) -> Vec<SinkSummary> {
        let name = |t: u32| {
            self.topics
                .get(t as usize)
                .map_or_else(|| format!("#{t}"), |x| x.name.clone())
        };
        self.sink_states
            .iter()
            .zip(&self.sink_slots)
            .zip(&self.sink_overflow)
            .map(|((state, &slot), &overflow)| SinkSummary {
                key: self.metrics[slot as usize].key.clone(),
                kind: state.kind(),
                overflow,
                state: state.summary(&name),
            })
            .collect()
    }

    /// The first event-store group (other than `g`) reading every topic of group `g`.
    fn store_for(&self, g: usize) -> Option<usize> {
        let topics = &self.groups[g].topics;
        self.groups.iter().enumerate().position(|(i, s)| {
            i != g && s.store.is_some() && topics.iter().all(|t| s.topics.contains(t))
        })
    }

    /// "A projection rebuilt from offset 0 equals the live one", for every
    /// group writing to sinks, on a drained run; a group is left out (and
    /// said why) when the two are not expected to match: it or its store
    /// dead-lettered or skipped records, applied duplicates or replays
    /// without idempotency, or a sink is shared or overflowed.
    fn rebuild_check(&self) -> Check {
        if !self.is_drained() {
            return Check::NotChecked {
                reason: "the run was not drained".into(),
            };
        }
        let mut writers: BTreeMap<u32, u32> = BTreeMap::new();
        for grp in &self.groups {
            for &i in &grp.sink_states {
                *writers.entry(i).or_insert(0) += 1;
            }
        }
        let mut violations = Violations::default();
        let mut checked = 0;
        let mut why_not: Option<String> = None;
        for (g, grp) in self.groups.iter().enumerate() {
            if grp.sink_states.is_empty() {
                continue;
            }
            let Some(st) = self.store_for(g) else {
                why_not
                    .get_or_insert_with(|| format!("no event store reads {}'s topics", grp.name));
                continue;
            };
            let store = &self.groups[st];
            let unclean = |x: &super::consumer::Group| {
                let c = x.counters;
                if c.dead_lettered > 0 {
                    Some(format!(
                        "{} dead-lettered {} records",
                        x.name, c.dead_lettered
                    ))
                } else if x.skipped > 0 {
                    Some(format!(
                        "{} skipped {} records in a reset",
                        x.name, x.skipped
                    ))
                } else if !x.params.idempotent && c.duplicates_applied + c.replayed > 0 {
                    Some(format!("{} applied duplicates without idempotency", x.name))
                } else {
                    None
                }
            };
            let shared = grp.sink_states.iter().find_map(|&i| {
                let key = &self.metrics[self.sink_slots[i as usize] as usize].key;
                if writers.get(&i).copied().unwrap_or(0) > 1 {
                    Some(format!("sink {key} has several writers"))
                } else if self.sink_overflow[i as usize] > 0 {
                    Some(format!("sink {key} overflowed"))
                } else {
                    None
                }
            });
            if let Some(reason) = unclean(grp).or_else(|| unclean(store)).or(shared) {
                why_not.get_or_insert(reason);
                continue;
            }
            let rebuilt = match self.rebuild_projection(&grp.name) {
                Ok(r) => r,
                Err(reason) => {
                    why_not.get_or_insert(reason);
                    continue;
                }
            };
            checked += 1;
            for ((key, state), &i) in rebuilt.iter().zip(&grp.sink_states) {
                if *state != self.sink_states[i as usize] {
                    let (name, store_name) = (&grp.name, &store.name);
                    violations.record(|| {
                        format!("{key} rebuilt from {store_name} differs from what {name} applied")
                    });
                }
            }
        }
        if checked == 0 {
            return Check::NotChecked {
                reason: why_not.unwrap_or_else(|| "no group writes to a sink".into()),
            };
        }
        violations.check()
    }

    /// The invariants as checked so far (see the `invariants` module doc).
    pub fn invariants(&self) -> InvariantReport {
        let mut examples: Vec<super::invariants::Example> =
            self.order.examples(Invariant::PerKeyOrder).collect();
        let nothing_lost = if self.is_drained() {
            let mut lost = Violations::default();
            for w in &self.workers {
                let high = self.high(w);
                if w.finished_upto < high || w.committed < high {
                    let g = &self.groups[w.group as usize].name;
                    let topic = &self.topics[w.topic as usize];
                    lost.record_events(self.now, || {
                        let text = format!(
                            "{g} finished {}/{} up to {} of {high}, committed {}",
                            topic.name, w.partition, w.finished_upto, w.committed
                        );
                        let first = w.finished_upto.min(w.committed);
                        let r = topic.partitions[w.partition as usize].get(Offset(first));
                        let event = EventRef {
                            group: g.clone(),
                            topic: topic.name.clone(),
                            partition: w.partition,
                            offset: first,
                            key: r.map(|r| r.key),
                            event_id: r.map(|r| r.event_id),
                        };
                        (text, vec![event])
                    });
                }
            }
            examples.extend(lost.examples(Invariant::NothingLost));
            let dropped = &self.retention_losses;
            examples.extend(dropped.examples(Invariant::NothingLost));
            match (lost.check(), dropped.check()) {
                (Check::Held, d) => d,
                (Check::Violated { count, first }, Check::Violated { count: d, .. }) => {
                    Check::Violated {
                        count: count + d,
                        first,
                    }
                }
                (l, _) => l,
            }
        } else {
            Check::NotChecked {
                reason: "the run was not drained".into(),
            }
        };
        let no_duplicate_effects = if self.groups.iter().any(|g| g.params.idempotent) {
            self.duplicate_effects.check()
        } else {
            Check::NotChecked {
                reason: "no group is idempotent".into(),
            }
        };
        examples.extend(
            self.duplicate_effects
                .examples(Invariant::NoDuplicateEffects),
        );
        let (guarded, unguarded) = (&self.duplicate_effects, &self.unguarded_duplicates);
        let effects_applied_once = match unguarded.first.as_ref().or(guarded.first.as_ref()) {
            Some(first) => Check::Violated {
                count: guarded.count + unguarded.count,
                first: first.clone(),
            },
            None => Check::Held,
        };
        examples.extend(
            unguarded
                .examples(Invariant::EffectsAppliedOnce)
                .chain(guarded.examples(Invariant::EffectsAppliedOnce))
                .take(super::invariants::MAX_EXAMPLES),
        );
        InvariantReport {
            per_key_order: self.order.check(),
            nothing_lost,
            no_duplicate_effects,
            projection_rebuild: self.rebuild_check(),
            effects_applied_once,
            examples,
        }
    }
}

/// Commits `worker`'s position in `log`, its partition; says whether the
/// records every group committed may now be dropped ([`Engine::trim`]).
///
/// Only a worker that was at the low watermark can move it, so for the
/// others nothing is looked at; of those that were, the log counts how
/// many still hold the oldest record, and only the last to commit past
/// it sends the engine over the groups.
#[inline(always)]
fn commit_worker(worker: &mut Worker, log: &mut PartitionLog, now: VirtualTime) -> bool {
    let old = worker.committed;
    worker.integrate(now, log.high_watermark().0);
    worker.committed = worker.position;
    worker.since_commit = 0;
    let low = log.low_watermark().0;
    if old != low {
        if old < low {
            // Not one of the holders counted (a group behind the log):
            // the count no longer says who holds the oldest record.
            log.set_holders(0);
        }
        return false;
    }
    if worker.committed == low {
        // Still holding it.
        return false;
    }
    // One holder fewer: the scan waits for the last of them.
    let holders = log.holders();
    if holders > 1 {
        log.set_holders(holders - 1);
        return false;
    }
    if holders == 1 {
        log.set_holders(0);
    }
    true
}

/// A word for the run hash: what the handler did.
fn outcome_code(o: &Outcome) -> u64 {
    match o {
        Outcome::Accepted => 1,
        Outcome::Retry => 2,
        Outcome::Rejected => 3,
    }
}

/// Schedules an action; the capacity was proven sufficient in [`Engine::new`].
#[inline(always)]
fn push(queue: &mut super::scheduler::Scheduler<Action>, t: VirtualTime, a: Action) {
    let pushed = queue.push(t, a);
    assert!(
        pushed.is_ok(),
        "scheduler over its proven bound: {a:?} at {t}"
    );
}

/// `Record::source` of an event a group published in reaction.
pub(crate) const REACTION_SOURCE: u32 = u32::MAX - 1;

/// Attaches the scenario's reactions to their groups (`wiring[i]`: the
/// reacting component, its bus and the output topic of reaction `i`) and
/// refuses a loop of event types, which would publish forever.
fn wire_reactions(
    scenario: &Scenario,
    wiring: &[(ComponentId, ComponentId, u32)],
    groups: &mut [Group],
    topic_keys: &[(ComponentId, String)],
    slot: impl Fn(ComponentId) -> u32,
    graph: &ArchGraph,
) -> Result<(), SimError> {
    let mut edges: BTreeSet<(u32, u32)> = BTreeSet::new();
    for (spec, &(from, bus, out)) in scenario.reactions.iter().zip(wiring) {
        let key = graph.key_of(from);
        let Some(grp) = groups.iter_mut().find(|g| g.name == key) else {
            return Err(SimError::Reaction(format!(
                "`{key}` reads no bus, so it cannot react to `{}`",
                spec.on
            )));
        };
        let Some(on) = grp
            .topics
            .iter()
            .copied()
            .find(|&t| topic_keys[t as usize].1 == spec.on)
        else {
            return Err(SimError::Reaction(format!(
                "`{key}` does not read `{}`",
                spec.on
            )));
        };
        edges.insert((on, out));
        grp.reactions.push(super::consumer::Reaction {
            on,
            out,
            probability: spec.probability,
            component: slot(from),
            bus: slot(bus),
            schema: super::scenario::Schema::for_event_type(&spec.emit),
        });
    }
    // Kahn's algorithm over the event types reactions connect.
    let mut indegree: BTreeMap<u32, usize> = BTreeMap::new();
    for &(a, b) in &edges {
        indegree.entry(a).or_insert(0);
        *indegree.entry(b).or_insert(0) += 1;
    }
    let mut ready: Vec<u32> = indegree
        .iter()
        .filter(|&(_, &d)| d == 0)
        .map(|(&t, _)| t)
        .collect();
    let mut done = 0;
    while let Some(t) = ready.pop() {
        done += 1;
        for &(_, b) in edges.range((t, 0)..=(t, u32::MAX)) {
            if let Some(d) = indegree.get_mut(&b) {
                *d -= 1;
                if *d == 0 {
                    ready.push(b);
                }
            }
        }
    }
    if done < indegree.len() {
        let looped: Vec<&str> = indegree
            .iter()
            .filter(|&(_, &d)| d > 0)
            .map(|(&t, _)| topic_keys[t as usize].1.as_str())
            .collect();
        return Err(SimError::Reaction(format!(
            "reactions form a loop through {}: every event would cause another forever",
            looped.join(", ")
        )));
    }
    Ok(())
}

/// What a new group is made from.
struct GroupSpec<'a> {
    component: u32,
    name: &'a str,
    params: GroupParams,
    /// Topic indices, ascending.
    topics: Vec<u32>,
    sinks: Vec<u32>,
    is_store: bool,
}

/// Builds group number `g` and its workers (appended to `workers`, and
/// subscribed on `topics`), each starting at its partition's oldest
/// retained offset, partitions spread over the instances by the assignor.
fn build_group(
    spec: GroupSpec<'_>,
    g: u32,
    topics: &mut [Topic],
    workers: &mut Vec<Worker>,
    limits: &Limits,
) -> Group {
    let params = spec.params;
    let counts: Vec<u32> = spec
        .topics
        .iter()
        .map(|&t| topics[t as usize].partitions.len() as u32)
        .collect();
    let owners = assign(params.assignor, &counts, params.instances);
    let first_worker = workers.len() as u32;
    for (&t, owners) in spec.topics.iter().zip(&owners) {
        let topic = &mut topics[t as usize];
        topic.subscriptions.push((g, workers.len() as u32));
        for (p, &instance) in owners.iter().enumerate() {
            let start = topic.partitions[p].low_watermark().0;
            workers.push(Worker::new(g, t, p as u32, instance, start));
        }
    }
    Group {
        component: spec.component,
        name: spec.name.to_string(),
        params,
        topics: spec.topics,
        first_worker,
        end_worker: workers.len() as u32,
        sinks: spec.sinks,
        processed_by_instance: vec![0; params.instances as usize],
        alive: vec![true; params.instances as usize],
        slow_factor: 1.0,
        dedupe: DedupeStore::new(if params.idempotent {
            limits.max_dedupe_ids
        } else {
            0
        }),
        dead_letters: DeadLetterTopic::new(spec.name, limits.max_dead_letters),
        store: spec
            .is_store
            .then(|| EventStore::with_log(limits.max_streams, limits.max_store_events)),
        sink_states: Vec::new(),
        read_views: false,
        skipped: 0,
        counters: DeliveryCounters::default(),
        slots_busy: Vec::new(),
        slot_waiters: Vec::new(),
        reactions: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::scenario::{GroupParams, KeySpace, ServiceTime};
    use crate::sim::{Assignor, SourceSpec};

    fn graph(text: &str) -> ArchGraph {
        match crate::mermaid::parse_flowchart(text) {
            Ok(chart) => ArchGraph::from_flowchart(&chart),
            Err(d) => panic!("{}", d.render("test", text)),
        }
    }

    fn seed_engine(seed: u64) -> Engine {
        let g = graph(crate::SEED_DIAGRAM);
        Engine::new(&g, Scenario::default_for(&g), seed).expect("seed builds")
    }

    #[test]
    fn seed_diagram_has_six_groups_on_four_topics() {
        let e = seed_engine(1);
        let names: Vec<&str> = e.group_names().collect();
        assert_eq!(
            names,
            [
                "Consumer1",
                "Consumer2",
                "Consumer3",
                "Consumer4",
                "ReadModel",
                "ES"
            ]
        );
        let topics: Vec<&str> = e.topics().iter().map(Topic::name).collect();
        assert_eq!(
            topics,
            [
                "OrderCreated",
                "UserRegistered",
                "PaymentProcessed",
                "WriteModelEvent"
            ]
        );
        for g in names {
            assert_eq!(e.group_topics(g).map(|t| t.len()), Some(4), "{g}");
            assert_eq!(e.partition_lags(g).map(|p| p.len()), Some(12), "{g}");
        }
        // One pending emission per source plus the sampler.
        assert_eq!(e.pending_actions(), 5);
    }

    #[test]
    fn every_event_reaches_every_group_and_its_sinks() {
        let mut e = seed_engine(9);
        e.run_until(VirtualTime::from_secs(5));
        let produced = e.events_produced();
        assert!(produced > 1500, "{produced}");
        for g in ["Consumer1", "ES", "ReadModel"] {
            let m = e.component_metrics(g).expect("group metrics");
            let lag: u64 = e
                .partition_lags(g)
                .expect("lags")
                .iter()
                .map(|p| p.lag)
                .sum();
            assert_eq!(m.events_in + lag, produced, "{g}: nothing lost");
        }
        let c1 = e.component_metrics("Consumer1").expect("c1").events_in;
        assert_eq!(e.component_metrics("InvDB").expect("sink").events_in, c1);
        assert_eq!(e.deliveries(), 6 * produced - e.queued_lag_total());
        assert_eq!(e.now(), VirtualTime::from_secs(5));
    }

    impl Engine {
        fn queued_lag_total(&self) -> u64 {
            (0..self.groups.len()).map(|g| self.group_lag(g)).sum()
        }
    }

    #[test]
    fn same_seed_same_hash_and_step_order() {
        let mut a = seed_engine(5);
        let mut b = seed_engine(5);
        for _ in 0..10_000 {
            assert_eq!(a.step(), b.step());
        }
        assert_eq!(a.run_hash(), b.run_hash());
        assert_ne!(a.run_hash(), RunHash::default().value());
    }

    fn one_queue(service: ServiceTime, rate_per_s: f64, limits: Limits) -> Engine {
        let g = graph("flowchart LR\nP[Order Service] -->|Tick| EB[Kafka]\nEB --> C[Consumer]\n");
        let mut s = Scenario::default_for(&g);
        s.partitions = 1;
        s.sources[0].arrival = Arrival::Constant { rate_per_s };
        s.groups.insert(
            "C".into(),
            GroupParams {
                service,
                ..GroupParams::default()
            },
        );
        s.limits = limits;
        Engine::new(&g, s, 1).expect("builds")
    }

    use super::super::scenario::{Arrival, Limits};

    #[test]
    fn constant_rate_constant_service_is_exact() {
        // 1000/s, 400 µs each: every record waits for nothing.
        let mut e = one_queue(ServiceTime::Constant { us: 400 }, 1000.0, Limits::default());
        e.run_until(VirtualTime::from_secs(1));
        assert_eq!(e.events_produced(), 1000);
        let m = e.component_metrics("C").expect("C");
        assert_eq!(m.end_to_end_us.min(), 400);
        assert_eq!(m.end_to_end_us.max(), 400);
        let lag = &e.partition_lags("C").expect("C")[0];
        // The last record (at 1.000000 s) is in service: lag 1.
        assert_eq!((lag.lag, lag.committed, lag.high_watermark), (1, 999, 1000));
        assert_eq!(lag.lag_us, 0, "the record in service was appended just now");
        assert!(
            (lag.lag_time_avg - 0.4).abs() < 0.01,
            "{}",
            lag.lag_time_avg
        );
    }

    #[test]
    fn full_bus_rejects_and_stays_bounded() {
        let limits = Limits {
            max_queued_records: 50,
            ..Limits::default()
        };
        // 1000/s into a consumer that takes 10 ms each: the bus fills up.
        let mut e = one_queue(ServiceTime::Constant { us: 10_000 }, 1000.0, limits);
        e.run_until(VirtualTime::from_secs(2));
        assert!(e.queued_records() <= 50);
        let p = e.component_metrics("P").expect("P");
        assert!(p.rejected > 1500, "{}", p.rejected);
        assert_eq!(p.events_out + p.rejected, 2000);
        // 50 records ahead at 10 ms each: the oldest has waited ~0.5 s.
        let lag = &e.partition_lags("C").expect("C")[0];
        assert!((400_000..600_000).contains(&lag.lag_us), "{lag:?}");
    }

    #[test]
    fn instances_share_partitions_by_assignor() {
        let g = graph(crate::SEED_DIAGRAM);
        let mut s = Scenario::default_for(&g);
        s.partitions = 4;
        s.groups.insert(
            "Consumer1".into(),
            GroupParams {
                instances: 3,
                assignor: Assignor::RoundRobin,
                ..GroupParams::default()
            },
        );
        let mut e = Engine::new(&g, s, 3).expect("builds");
        e.run_until(VirtualTime::from_secs(2));
        let lags = e.partition_lags("Consumer1").expect("lags");
        let owners: Vec<u32> = lags.iter().map(|p| p.instance).collect();
        assert_eq!(owners, [0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0]);
        let g1 = &e.groups[0];
        assert!(g1.processed_by_instance.iter().all(|&n| n > 0));
    }

    #[test]
    fn bad_scenarios_are_errors_not_panics() {
        let g = graph(crate::SEED_DIAGRAM);
        let mut s = Scenario::default_for(&g);
        s.sources.push(SourceSpec {
            component: "Nope".into(),
            ..s.sources[0].clone()
        });
        assert_eq!(
            Engine::new(&g, s, 1).err(),
            Some(SimError::UnknownComponent("Nope".into()))
        );
        let mut s = Scenario::default_for(&g);
        s.sources[0].bus = "ES".into();
        assert!(matches!(
            Engine::new(&g, s, 1),
            Err(SimError::NotABus { .. })
        ));
        let mut s = Scenario::default_for(&g);
        s.groups.insert("API".into(), GroupParams::default());
        assert_eq!(
            Engine::new(&g, s, 1).err(),
            Some(SimError::NotAGroup("API".into()))
        );
        let mut s = Scenario::default_for(&g);
        s.sources[0].keys = KeySpace {
            count: 0,
            ..KeySpace::default()
        };
        assert!(Engine::new(&g, s, 1).is_err());
        let mut s = Scenario::default_for(&g);
        s.limits.max_pending_actions = 3;
        assert!(matches!(
            Engine::new(&g, s, 1),
            Err(SimError::TooManyActions { .. })
        ));
    }

    // ----- slice 2: failures, retries, DLQ, idempotency, faults --------

    use crate::sim::scenario::{Backoff, Retention, RetryPolicy};
    use crate::sim::{Check, DeliveryError, Fault, ScheduledFault};

    const TWO_GROUPS: &str = "flowchart LR\nP[Order Service] -->|Tick| EB[Kafka]\nEB --> A[Consumer A]\nEB --> B[Consumer B]\n";

    fn two_groups(
        seed: u64,
        a: GroupParams,
        b: GroupParams,
        faults: Vec<ScheduledFault>,
    ) -> Engine {
        let g = graph(TWO_GROUPS);
        let mut s = Scenario::default_for(&g);
        s.sources[0].arrival = Arrival::Poisson { rate_per_s: 2000.0 };
        s.groups.insert("A".into(), a);
        s.groups.insert("B".into(), b);
        s.faults = faults;
        Engine::new(&g, s, seed).expect("builds")
    }

    fn at(ms: u64, fault: Fault) -> ScheduledFault {
        ScheduledFault {
            at: VirtualTime::from_millis(ms),
            fault,
        }
    }

    fn assert_held(e: &Engine) {
        let inv = e.invariants();
        assert_eq!(inv.per_key_order, Check::Held, "{inv:?}");
        assert_eq!(inv.nothing_lost, Check::Held, "{inv:?}");
        assert!(!inv.any_violated(), "{inv:?}");
    }

    #[test]
    fn poisoned_record_is_retried_with_backoff_then_dead_lettered() {
        let mut e = one_queue(
            ServiceTime::Constant { us: 1_000 },
            100.0,
            Limits::default(),
        );
        let grp = &mut e.groups[0];
        grp.params.retry = RetryPolicy {
            max_attempts: 3,
            backoff: Backoff::Constant { delay_us: 5_000 },
        };
        e.apply_fault(Fault::PoisonNext { topic: None })
            .expect("poison");
        e.run_until(VirtualTime::from_millis(100));
        // Record 0 arrives at 10 ms: attempts end at 11, 17 and 23 ms, then
        // it is dead-lettered. Record 1 (20 ms) waits for it: done at 24 ms.
        let dlq = e.dead_letters("C").expect("C");
        assert_eq!(dlq.len, 1);
        let letter = &dlq.records[0];
        assert_eq!(
            (letter.offset, letter.attempts, letter.error, letter.at),
            (0, 3, DeliveryError::Poisoned, VirtualTime::from_millis(23))
        );
        assert_eq!(dlq.name, "C.DLQ");
        let c = e.delivery_counters("C").expect("C");
        assert_eq!((c.failures, c.retries, c.dead_lettered), (3, 2, 1));
        let m = e.component_metrics("C").expect("C");
        assert_eq!(m.end_to_end_us.max(), 4_000, "record 1 waited for the DLQ");
        assert_eq!(m.events_in, 8, "records 1..=8 applied, 9 in service");
        assert!(e.drain(VirtualTime::from_secs(1)));
        assert_held(&e);
    }

    #[test]
    fn exponential_backoff_doubles_and_caps() {
        let b = Backoff::Exponential {
            initial_us: 100,
            factor: 2.0,
            max_us: 500,
        };
        let delays: Vec<u64> = (1..=5).map(|n| b.delay_us(n)).collect();
        assert_eq!(delays, [100, 200, 400, 500, 500]);
    }

    #[test]
    fn random_failures_end_applied_once_or_dead_lettered() {
        let flaky = GroupParams {
            failure_probability: 0.3,
            retry: RetryPolicy {
                max_attempts: 2,
                backoff: Backoff::Constant { delay_us: 200 },
            },
            service: ServiceTime::Exponential { mean_us: 200.0 },
            ..GroupParams::default()
        };
        let mut e = two_groups(4, flaky, GroupParams::default(), Vec::new());
        e.run_until(VirtualTime::from_secs(2));
        assert!(e.drain(VirtualTime::from_secs(10)));
        assert_held(&e);
        let produced = e.events_produced();
        let c = e.delivery_counters("A").expect("A");
        let applied = e.component_metrics("A").expect("A").events_in;
        // P(dead) = 0.3² = 9%.
        assert!(c.dead_lettered > produced / 20, "{c:?} of {produced}");
        assert!(c.retries > produced / 5, "{c:?}");
        assert_eq!(applied + c.dead_lettered, produced);
        assert_eq!(c.failures, c.retries + c.dead_lettered);
        assert_eq!(e.dead_letters("A").map(|d| d.len), Some(c.dead_lettered));
        assert_eq!(e.delivery_counters("B").expect("B").failures, 0);
    }

    fn batchy(idempotent: bool) -> GroupParams {
        GroupParams {
            instances: 2,
            idempotent,
            commit_every: 50,
            service: ServiceTime::Exponential { mean_us: 300.0 },
            ..GroupParams::default()
        }
    }

    #[test]
    fn crash_redelivers_from_last_commit_dupes_only_without_idempotency() {
        let crash = |g: &str| {
            at(
                1_000,
                Fault::Crash {
                    group: g.into(),
                    instance: 0,
                    duration_us: Some(500_000),
                },
            )
        };
        // A backlog from 0.5 s (10× slower), so commits come every 50
        // records and a crash at 1 s finds work processed but uncommitted.
        let slow = |g: &str, ms, factor| {
            at(
                ms,
                Fault::Slow {
                    component: g.into(),
                    factor,
                },
            )
        };
        let faults = vec![
            slow("A", 500, 10.0),
            slow("B", 500, 10.0),
            crash("A"),
            crash("B"),
            slow("A", 1_000, 1.0),
            slow("B", 1_000, 1.0),
        ];
        let mut e = two_groups(11, batchy(true), batchy(false), faults);
        e.run_until(VirtualTime::from_millis(1_200));
        assert_eq!(e.live_instances("A"), Some(vec![1]));
        let owners: Vec<u32> = e
            .partition_lags("A")
            .expect("A")
            .iter()
            .map(|p| p.instance)
            .collect();
        assert_eq!(owners, [1, 1, 1], "instance 1 took over");
        e.run_until(VirtualTime::from_secs(3));
        assert_eq!(e.live_instances("B"), Some(vec![0, 1]));
        assert!(e.drain(VirtualTime::from_secs(10)));
        assert_held(&e);
        assert_eq!(e.invariants().no_duplicate_effects, Check::Held);
        let produced = e.events_produced();
        let a = e.delivery_counters("A").expect("A");
        let b = e.delivery_counters("B").expect("B");
        assert_eq!((a.rebalances, b.rebalances), (2, 2));
        assert!(
            b.redelivered > 0 && b.duplicates_applied == b.redelivered,
            "{b:?}"
        );
        assert_eq!(a.duplicates_applied, 0, "{a:?}");
        assert_eq!(a.deduped, a.redelivered, "{a:?}");
        let a_in = e.component_metrics("A").expect("A").events_in;
        let b_in = e.component_metrics("B").expect("B").events_in;
        assert_eq!(a_in, produced + a.deduped);
        assert_eq!(b_in, produced + b.duplicates_applied);
    }

    /// A group committing every 2 s on a timer, never slowed: it keeps up,
    /// yet a crash re-delivers what it processed since its last commit (a
    /// group committing on catching up would re-deliver nothing).
    #[test]
    fn timed_commits_redeliver_up_to_an_interval_after_a_crash() {
        let timed = |idempotent| GroupParams {
            instances: 2,
            idempotent,
            commit_interval_us: 2_000_000,
            service: ServiceTime::Exponential { mean_us: 300.0 },
            ..GroupParams::default()
        };
        let crash = |g: &str| {
            at(
                3_500,
                Fault::Crash {
                    group: g.into(),
                    instance: 0,
                    duration_us: Some(500_000),
                },
            )
        };
        let faults = vec![crash("A"), crash("B")];
        let mut e = two_groups(5, timed(true), timed(false), faults);
        e.run_until(VirtualTime::from_millis(1_999));
        let committed = |e: &Engine, g| -> u64 {
            e.partition_lags(g)
                .expect(g)
                .iter()
                .map(|p| p.committed)
                .sum()
        };
        assert_eq!(committed(&e, "B"), 0, "nothing committed before the timer");
        e.run_until(VirtualTime::from_millis(2_001));
        assert!(committed(&e, "B") > 3_000, "all committed at 2 s");
        e.run_until(VirtualTime::from_secs(6));
        assert!(e.drain(VirtualTime::from_secs(20)));
        assert_held(&e);
        let (a, b) = (
            e.delivery_counters("A").expect("A"),
            e.delivery_counters("B").expect("B"),
        );
        // 1.5 s of instance 0's share of 2000/s, about 1,000 records.
        assert!(b.redelivered > 500, "{b:?}");
        assert_eq!(b.duplicates_applied, b.redelivered, "{b:?}");
        assert!(e.invariants().effects_applied_once.is_violated());
        assert_eq!(
            (a.duplicates_applied, a.deduped),
            (0, a.redelivered),
            "{a:?}"
        );
        assert_eq!(e.invariants().no_duplicate_effects, Check::Held);
    }

    /// The timer adds one pending action per timed group, and one more for
    /// a timed group added mid-run.
    #[test]
    fn a_timed_group_added_mid_run_commits_on_its_timer() {
        let timed = GroupParams {
            commit_interval_us: 1_000_000,
            ..GroupParams::default()
        };
        let mut e = two_groups(3, timed, GroupParams::default(), Vec::new());
        e.run_until(VirtualTime::from_millis(500));
        let topic = e.topics()[0].name().to_string();
        e.apply_fault(Fault::AddGroup {
            name: "Late".into(),
            topics: vec![topic],
            params: timed,
        })
        .expect("added");
        e.run_until(VirtualTime::from_millis(1_400));
        let committed = |e: &Engine| -> u64 {
            let lags = e.partition_lags("Late").expect("Late");
            lags.iter().map(|p| p.committed).sum()
        };
        assert_eq!(committed(&e), 0);
        e.run_until(VirtualTime::from_millis(1_600));
        assert!(committed(&e) > 1_000, "{}", committed(&e));
        assert!(e.drain(VirtualTime::from_secs(10)));
        assert_held(&e);
    }

    #[test]
    fn slow_component_multiplies_service_time() {
        let mut e = one_queue(ServiceTime::Constant { us: 400 }, 100.0, Limits::default());
        e.schedule_fault(
            VirtualTime::from_millis(500),
            Fault::Slow {
                component: "C".into(),
                factor: 3.0,
            },
        )
        .expect("slow");
        e.run_until(VirtualTime::from_secs(1));
        let m = e.component_metrics("C").expect("C");
        assert_eq!((m.processing_us.min(), m.processing_us.max()), (400, 1_200));
        assert!(
            e.apply_fault(Fault::Slow {
                component: "Nope".into(),
                factor: 2.0
            })
            .is_err()
        );
        assert_eq!(e.fault_log().len(), 2);
        assert!(e.fault_log()[1].refused.is_some());
    }

    #[test]
    fn reset_to_offset_and_to_time_replay_with_keep_all() {
        let g = graph(TWO_GROUPS);
        let mut s = Scenario::default_for(&g);
        s.partitions = 2;
        s.retention = Retention::KeepAll;
        s.faults = vec![
            at(
                1_000,
                Fault::ResetToOffset {
                    group: "A".into(),
                    offset: 0,
                },
            ),
            at(
                1_500,
                Fault::ResetToTime {
                    group: "B".into(),
                    at: VirtualTime::from_millis(700),
                },
            ),
        ];
        let mut e = Engine::new(&g, s, 2).expect("builds");
        e.run_until(VirtualTime::from_millis(1_000));
        let before = e.events_produced();
        assert!(
            e.partition_lags("A")
                .expect("A")
                .iter()
                .all(|p| p.committed == 0)
        );
        e.run_until(VirtualTime::from_millis(1_500));
        let expected: Vec<u64> = e.topics()[0]
            .partitions()
            .iter()
            .map(|l| l.offset_for_time(VirtualTime::from_millis(700)).0)
            .collect();
        let committed: Vec<u64> = e
            .partition_lags("B")
            .expect("B")
            .iter()
            .map(|p| p.committed)
            .collect();
        assert_eq!(committed, expected);
        assert!(e.drain(VirtualTime::from_secs(10)));
        assert_held(&e);
        let a = e.delivery_counters("A").expect("A");
        // Everything applied before the reset (all but the one in service) is replayed.
        assert!(
            a.replayed + 1 >= before && a.replayed <= before,
            "{a:?} {before}"
        );
        assert_eq!(a.duplicates_applied, 0);
        assert_eq!(e.queued_records() as u64, e.events_produced(), "kept all");
    }

    #[test]
    fn group_added_mid_run_catches_up_from_offset_zero() {
        let g = graph(TWO_GROUPS);
        let mut s = Scenario::default_for(&g);
        s.retention = Retention::KeepAll;
        s.faults = vec![at(
            2_000,
            Fault::AddGroup {
                name: "Audit".into(),
                topics: vec!["Tick".into()],
                params: GroupParams {
                    service: ServiceTime::Constant { us: 100 },
                    ..GroupParams::default()
                },
            },
        )];
        let mut e = Engine::new(&g, s, 8).expect("builds");
        e.run_until(VirtualTime::from_millis(2_001));
        let lag: u64 = e
            .partition_lags("Audit")
            .expect("added")
            .iter()
            .map(|p| p.lag)
            .sum();
        assert!(lag > 100, "starts at 0 with history behind it: {lag}");
        e.run_until(VirtualTime::from_secs(3));
        assert!(e.drain(VirtualTime::from_secs(10)));
        assert_held(&e);
        let audit = e.component_metrics("Audit").expect("metrics");
        assert_eq!(audit.events_in, e.events_produced());
        let summary = e.summary();
        assert_eq!(summary.groups.len(), 3);
        let lag_series = summary.series.find("Audit", "lag").expect("series");
        assert_eq!(lag_series.values.len(), summary.series.times.len());
        // Its throughput is sampled like a diagram component's: zero
        // before it was added, then counting up to everything it read.
        let read = summary
            .series
            .find("Audit", "events_in")
            .expect("events_in");
        assert_eq!(read.values.len(), summary.series.times.len());
        let before = summary
            .series
            .times
            .iter()
            .zip(read.values.iter())
            .filter(|(t, _)| t.as_us() < 2_000_000)
            .map(|(_, v)| v)
            .max();
        assert_eq!(before, Some(0), "nothing read before it existed");
        assert_eq!(read.values.iter().last(), Some(audit.events_in));
    }

    #[test]
    fn add_and_remove_instances_rebalance() {
        let mut e = two_groups(
            3,
            GroupParams::default(),
            GroupParams::default(),
            Vec::new(),
        );
        e.run_until(VirtualTime::from_millis(300));
        e.apply_fault(Fault::AddInstance { group: "A".into() })
            .expect("add");
        e.apply_fault(Fault::AddInstance { group: "A".into() })
            .expect("add");
        assert_eq!(e.live_instances("A"), Some(vec![0, 1, 2]));
        let owners: Vec<u32> = e
            .partition_lags("A")
            .expect("A")
            .iter()
            .map(|p| p.instance)
            .collect();
        assert_eq!(owners, [0, 1, 2]);
        e.run_until(VirtualTime::from_millis(600));
        e.apply_fault(Fault::RemoveInstance { group: "A".into() })
            .expect("remove");
        assert_eq!(e.live_instances("A"), Some(vec![0, 1]));
        e.run_until(VirtualTime::from_secs(1));
        assert!(e.drain(VirtualTime::from_secs(5)));
        assert_held(&e);
        let a = e.delivery_counters("A").expect("A");
        assert_eq!(
            (a.rebalances, a.duplicates_applied),
            (3, 0),
            "clean joins and leaves commit first"
        );
        assert!(
            e.apply_fault(Fault::Restart {
                group: "A".into(),
                instance: 0
            })
            .is_err()
        );
        assert!(
            e.apply_fault(Fault::Crash {
                group: "Z".into(),
                instance: 0,
                duration_us: None
            })
            .is_err()
        );
    }

    #[test]
    fn event_store_positions_and_stream_versions() {
        let mut e = seed_engine(6);
        e.run_until(VirtualTime::from_secs(2));
        let applied = e.component_metrics("ES").expect("ES").events_in;
        let store = e.event_store("ES").expect("ES is an event store");
        assert_eq!(store.store_len(), applied);
        assert!(applied > 500);
        assert!(e.event_store("Consumer1").is_none());
        let store = e.event_store("ES").expect("ES");
        let versions: u64 = (1..=10_000).filter_map(|k| store.stream_version(k)).sum();
        assert_eq!(versions, store.store_len());
        assert_eq!(e.summary().groups[5].store_len, Some(applied));
    }

    #[test]
    fn same_seed_same_hash_with_faults() {
        let faults = || {
            vec![
                at(200, Fault::FailDeliveries { percent: 5.0 }),
                at(
                    300,
                    Fault::Crash {
                        group: "A".into(),
                        instance: 1,
                        duration_us: Some(200_000),
                    },
                ),
                at(
                    400,
                    Fault::PoisonNext {
                        topic: Some("Tick".into()),
                    },
                ),
                at(
                    500,
                    Fault::Slow {
                        component: "B".into(),
                        factor: 4.0,
                    },
                ),
                at(
                    600,
                    Fault::ResetToOffset {
                        group: "B".into(),
                        offset: 0,
                    },
                ),
            ]
        };
        let run = |f| {
            let mut e = two_groups(9, batchy(false), batchy(true), f);
            e.run_until(VirtualTime::from_secs(1));
            e
        };
        let (a, b, plain) = (run(faults()), run(faults()), run(Vec::new()));
        assert_eq!(a.run_hash(), b.run_hash(), "seed 9");
        assert_eq!(a.summary(), b.summary(), "seed 9");
        assert_ne!(a.run_hash(), plain.run_hash());
        assert_eq!(a.fault_log().len(), 6, "{:?}", a.fault_log());
        assert!(a.fault_log().iter().all(|f| f.refused.is_none()));
    }

    #[test]
    fn scenario_faults_are_checked_at_build() {
        let g = graph(TWO_GROUPS);
        let mut s = Scenario::default_for(&g);
        s.faults = vec![at(
            1,
            Fault::Crash {
                group: "Nope".into(),
                instance: 0,
                duration_us: None,
            },
        )];
        assert!(matches!(
            Engine::new(&g, s, 1),
            Err(SimError::FaultRefused { .. })
        ));
        let mut s = Scenario::default_for(&g);
        s.faults = vec![at(1, Fault::FailDeliveries { percent: 150.0 })];
        assert!(matches!(
            Engine::new(&g, s, 1),
            Err(SimError::OutOfRange { .. })
        ));
        let mut s = Scenario::default_for(&g);
        s.faults = vec![at(
            1,
            Fault::PoisonType {
                topic: "Nope".into(),
            },
        )];
        assert!(Engine::new(&g, s, 1).is_err());
        let mut s = Scenario::default_for(&g);
        s.default_group.failure_probability = 2.0;
        assert!(Engine::new(&g, s, 1).is_err());
    }

    #[test]
    fn pending_actions_stay_within_the_proven_bound_under_faults() {
        let faults = (0..20)
            .map(|i| {
                at(
                    50 * i,
                    Fault::Crash {
                        group: if i % 2 == 0 { "A" } else { "B" }.into(),
                        instance: (i % 2) as u32,
                        duration_us: Some(30_000),
                    },
                )
            })
            .collect();
        let mut e = two_groups(5, batchy(false), batchy(true), faults);
        let workers = e.workers.len();
        for _ in 0..50_000 {
            e.step();
            let controls = e.controls.len();
            // Sources + one per worker + sampler + controls.
            assert!(
                e.pending_actions() <= 1 + workers + 1 + controls,
                "{}",
                e.pending_actions()
            );
        }
        assert!(e.drain(VirtualTime::from_secs(30)));
        assert_held(&e);
    }

    #[test]
    fn nothing_lost_after_drain_checks_a_copy() {
        let mut e = seed_engine(4);
        e.run_until(VirtualTime::from_secs(1));
        let hash = e.run_hash();
        assert_eq!(e.nothing_lost_after_drain(60_000_000), Check::Held);
        assert_eq!(e.run_hash(), hash, "the engine itself did not move");
        assert!(matches!(
            e.invariants().nothing_lost,
            Check::NotChecked { .. }
        ));
        // A group with no live instance never drains.
        e.apply_fault(Fault::RemoveInstance {
            group: "Consumer2".into(),
        })
        .expect("remove");
        e.run_until(VirtualTime::from_millis(1_100));
        assert!(matches!(
            e.nothing_lost_after_drain(1_000_000),
            Check::NotChecked { .. }
        ));
    }

    #[test]
    fn rebuild_check_says_why_it_was_not_made() {
        let mut e = two_groups(
            1,
            GroupParams::default(),
            GroupParams::default(),
            Vec::new(),
        );
        e.run_until(VirtualTime::from_millis(200));
        assert!(matches!(
            e.invariants().projection_rebuild,
            Check::NotChecked { .. }
        ));
        assert!(e.drain(VirtualTime::from_secs(5)));
        assert_eq!(
            e.invariants().projection_rebuild,
            Check::NotChecked {
                reason: "no group writes to a sink".into()
            }
        );
        // A poisoned type ends in every DLQ: the rebuild would not match.
        let mut e = seed_engine(3);
        e.apply_fault(Fault::PoisonType {
            topic: "UserRegistered".into(),
        })
        .expect("poison");
        e.run_until(VirtualTime::from_millis(300));
        assert!(e.drain(VirtualTime::from_secs(30)));
        match e.invariants().projection_rebuild {
            Check::NotChecked { reason } => assert!(reason.contains("dead-lettered"), "{reason}"),
            other => panic!("{other:?}"),
        }
        // The sinks still hold what was applied.
        let sinks = e.sink_summaries();
        assert_eq!(sinks.len(), 5);
        assert!(e.sink_state("InvDB").is_some() && e.sink_state("Consumer1").is_none());
    }

    fn idempotent_a(seed: u64, faults: Vec<ScheduledFault>) -> Engine {
        let a = GroupParams {
            idempotent: true,
            retry: RetryPolicy {
                max_attempts: 1,
                backoff: Backoff::Constant { delay_us: 0 },
            },
            ..GroupParams::default()
        };
        let g = graph(TWO_GROUPS);
        let mut s = Scenario::default_for(&g);
        s.retention = Retention::KeepAll;
        s.groups.insert("A".into(), a);
        s.faults = faults;
        Engine::new(&g, s, seed).expect("builds")
    }

    /// Found by the property test: a record dead-lettered (never applied)
    /// and applied after a reset was taken for a duplicate.
    #[test]
    fn dead_lettered_then_replayed_is_not_a_duplicate() {
        let mut e = idempotent_a(
            1,
            vec![
                at(0, Fault::FailDeliveries { percent: 100.0 }),
                at(300, Fault::FailDeliveries { percent: 0.0 }),
                at(
                    400,
                    Fault::ResetToOffset {
                        group: "A".into(),
                        offset: 0,
                    },
                ),
            ],
        );
        e.run_until(VirtualTime::from_secs(1));
        assert!(e.drain(VirtualTime::from_secs(5)));
        let a = e.delivery_counters("A").expect("A");
        assert!(a.dead_lettered > 10, "{a:?}");
        assert_eq!(a.duplicates_applied, 0, "{a:?}");
        // Every record applied exactly once: the dead-lettered ones after the
        // reset, the others before it (and deduped after).
        let applied = e.component_metrics("A").expect("A").events_in - a.deduped;
        assert_eq!(applied, e.events_produced());
        assert_held(&e);
        assert_eq!(e.invariants().no_duplicate_effects, Check::Held);
    }

    /// Found by the property test: records skipped by a forward reset and
    /// applied after a reset back were taken for duplicates.
    #[test]
    fn forward_reset_gap_applied_later_is_not_a_duplicate() {
        let reset = |ms, offset| {
            at(
                ms,
                Fault::ResetToOffset {
                    group: "A".into(),
                    offset,
                },
            )
        };
        let mut e = idempotent_a(2, vec![reset(100, 10), reset(300, 0)]);
        e.run_until(VirtualTime::from_secs(1));
        assert!(e.drain(VirtualTime::from_secs(5)));
        let a = e.delivery_counters("A").expect("A");
        assert!(a.deduped > 0, "{a:?}");
        assert_eq!(a.duplicates_applied, 0, "{a:?}");
        assert_eq!(e.invariants().no_duplicate_effects, Check::Held);
        assert_held(&e);
    }
}
