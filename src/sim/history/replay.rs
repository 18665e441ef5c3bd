//! Re-running a slice of a recorded run, and tracing one event with it.
//!
//! [`Replay`] is a copy of a snapshot stepped forward one action at a
//! time, with the recorded control inputs re-applied at exactly the step
//! they were made after, so it repeats the live run action for action
//! (the run is deterministic). It stops at the head: a replay never runs
//! ahead of what was recorded.
//!
//! [`Tracer`] uses it to answer "what happened to event N" without
//! keeping per-delivery data for the whole run: it starts a replay at the
//! latest snapshot taken before N was published, turns the engine's
//! delivery tap on ([`Engine::trace_event`]) and runs until every
//! subscribed group is done with N (or the head, or the step budget). The
//! cause of N — the record a reacting group was applying when it published
//! N — is seen the same way, and so is the cause's cause, each with a
//! short replay of its own.

use super::{Cursor, History, apply};
use crate::sim::world::{Engine, EventTrace, TracedEvent};

/// Causes followed up the chain (reactions cannot loop, so chains are
/// short; this only bounds a pathological scenario).
pub const MAX_CHAIN: usize = 8;

/// A slice of a recorded run being re-executed (see the module doc).
#[derive(Debug, Clone)]
pub struct Replay {
    cursor: Cursor,
}

impl Replay {
    /// The replayed engine.
    pub fn engine(&self) -> &Engine {
        &self.cursor.engine
    }

    /// The replayed engine, to turn a tap on.
    pub fn engine_mut(&mut self) -> &mut Engine {
        &mut self.cursor.engine
    }

    /// Engine steps of the recorded run replayed so far (from its start).
    pub fn steps(&self) -> u64 {
        self.cursor.steps
    }

    /// Runs the next action, first re-applying the controls made at this
    /// point of `history` (which must be the history this replay came
    /// from). False when the replay has reached the head or nothing is
    /// pending.
    pub fn step(&mut self, history: &History) -> bool {
        let c = &mut self.cursor;
        while let Some(control) = history.log.get(c.controls) {
            if control.steps > c.steps {
                break;
            }
            if c.engine.now() < control.at {
                // Made after a `run_until` moved the clock past the last action.
                c.engine.run_until(control.at);
            }
            let _ = apply(&mut c.engine, &control.control);
            c.controls += 1;
        }
        if c.steps >= history.live.steps || c.engine.step().is_none() {
            return false;
        }
        c.steps += 1;
        true
    }

    /// Whether the replay has caught up with the head of `history`.
    pub fn at_head(&self, history: &History) -> bool {
        self.cursor.steps >= history.live.steps
    }
}

impl History {
    /// A replay from the latest snapshot taken before event `event_id` was
    /// published; from the latest archived image before it when the event
    /// is older than every snapshot (see [`History::with_archive`]); else
    /// from the first snapshot.
    pub fn replay_before_event(&self, event_id: u64) -> Replay {
        let i = self
            .snapshots
            .partition_point(|s| s.engine.events_produced() <= event_id);
        let cursor = match i.checked_sub(1).and_then(|i| self.snapshots.get(i)) {
            Some(s) => s.clone(),
            None => self
                .archive
                .as_ref()
                .and_then(|a| {
                    let rejected = self.live.engine.rejected_publishes();
                    a.before_event(event_id, &self.log, rejected)
                })
                .and_then(|a| a.restore(&self.live.engine).ok())
                .unwrap_or_else(|| self.snapshots[0].clone()),
        };
        Replay { cursor }
    }
}

/// Where a [`Tracer`] stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TraceStatus {
    /// Published, every subscribed group done with it, causes followed.
    Complete,
    /// Caught up with the head of the run; more may happen as it runs on.
    AtHead,
    /// Stopped at the step budget of this call; call again to go on.
    Budget,
}

/// Traces one event of a recorded run (see the module doc).
#[derive(Debug, Clone)]
pub struct Tracer {
    event_id: u64,
    main: Replay,
    /// The replay finding the cause of `chain.last()`, if one is under way.
    cause_replay: Option<Replay>,
    /// Causes, nearest first: the event's cause, its cause, …
    chain: Vec<TracedEvent>,
    chain_done: bool,
    steps_run: u64,
}

impl Tracer {
    /// Starts tracing event `event_id` of `history`.
    pub fn start(history: &History, event_id: u64) -> Tracer {
        let mut main = history.replay_before_event(event_id);
        main.engine_mut().trace_event(event_id);
        Tracer {
            event_id,
            main,
            cause_replay: None,
            chain: Vec::new(),
            chain_done: false,
            steps_run: 0,
        }
    }

    /// The event traced.
    pub fn event_id(&self) -> u64 {
        self.event_id
    }

    /// What has been seen of the event so far.
    pub fn trace(&self) -> Option<&EventTrace> {
        self.main.engine().event_trace()
    }

    /// The causes found so far, nearest first (the first is the trace's own
    /// `cause`).
    pub fn chain(&self) -> &[TracedEvent] {
        &self.chain
    }

    /// Engine steps replayed so far, over every replay of this trace.
    pub fn steps_run(&self) -> u64 {
        self.steps_run
    }

    /// Replays at most `max_steps` more steps of `history` (the history
    /// the tracer started on) toward a complete trace.
    pub fn advance(&mut self, history: &History, max_steps: u64) -> TraceStatus {
        let mut budget = max_steps;
        // The event itself, at least until it is published.
        while !self.published() {
            if budget == 0 {
                return TraceStatus::Budget;
            }
            if !self.main.step(history) {
                return TraceStatus::AtHead;
            }
            budget -= 1;
            self.steps_run += 1;
        }
        if !self.follow_causes(history, &mut budget) {
            return TraceStatus::Budget;
        }
        loop {
            if self.trace().is_none_or(EventTrace::is_complete) {
                return TraceStatus::Complete;
            }
            if budget == 0 {
                return TraceStatus::Budget;
            }
            if !self.main.step(history) {
                return TraceStatus::AtHead;
            }
            budget -= 1;
            self.steps_run += 1;
        }
    }

    fn published(&self) -> bool {
        self.trace().is_some_and(|t| t.event.is_some())
    }

    /// Walks up the causes; false when the budget ran out first.
    fn follow_causes(&mut self, history: &History, budget: &mut u64) -> bool {
        while !self.chain_done {
            let last = match self.chain.last() {
                Some(c) => c.clone(),
                None => match self.trace().and_then(|t| t.cause.clone()) {
                    Some(cause) => {
                        self.chain.push(cause.clone());
                        cause
                    }
                    None => {
                        self.chain_done = true;
                        break;
                    }
                },
            };
            if self.chain.len() > MAX_CHAIN {
                self.chain_done = true;
                break;
            }
            let replay = self.cause_replay.get_or_insert_with(|| {
                let mut r = history.replay_before_event(last.event_id);
                r.engine_mut().trace_event(last.event_id);
                r
            });
            loop {
                let seen = replay.engine().event_trace().and_then(|t| t.event.as_ref());
                if seen.is_some() {
                    break;
                }
                if *budget == 0 {
                    return false;
                }
                if !replay.step(history) {
                    break;
                }
                *budget -= 1;
                self.steps_run += 1;
            }
            let cause = replay.engine().event_trace().and_then(|t| t.cause.clone());
            self.cause_replay = None;
            match cause {
                Some(c) => self.chain.push(c),
                None => self.chain_done = true,
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ArchGraph;
    use crate::sim::{AttemptOutcome, Fault, HistoryOptions, Scenario, VirtualTime};

    fn graph(text: &str) -> ArchGraph {
        ArchGraph::from_flowchart(&crate::mermaid::parse_flowchart(text).expect("parses"))
    }

    fn small() -> HistoryOptions {
        HistoryOptions {
            snapshot_every_steps: 400,
            max_snapshots: 16,
        }
    }

    #[test]
    fn a_replay_to_the_head_repeats_the_run_with_its_controls() {
        let g = graph(crate::SEED_DIAGRAM);
        let engine = Engine::new(&g, Scenario::default_for(&g), 11).expect("builds");
        let mut h = History::new(engine, small());
        h.run_until(VirtualTime::from_millis(300));
        h.apply(Fault::Crash {
            group: "Consumer1".into(),
            instance: 0,
            duration_us: Some(100_000),
        })
        .expect("crash");
        h.step();
        h.apply(Fault::PoisonNext { topic: None }).expect("poison");
        h.run_until(VirtualTime::from_millis(900));
        for id in [0, 40, 150] {
            let mut r = h.replay_before_event(id);
            assert!(r.engine().events_produced() <= id);
            // The tap watches; it changes nothing.
            r.engine_mut().trace_event(id);
            while r.step(&h) {}
            assert!(r.engine().event_trace().is_some_and(|t| t.event.is_some()));
            assert!(r.at_head(&h));
            assert_eq!(
                r.engine().run_hash(),
                h.head().run_hash(),
                "from before {id}"
            );
        }
    }

    #[test]
    fn a_poisoned_event_shows_its_failed_attempts_and_the_dead_lettering() {
        let g = graph(crate::SEED_DIAGRAM);
        let engine = Engine::new(&g, Scenario::default_for(&g), 5).expect("builds");
        let attempts = engine
            .scenario()
            .group_params("Consumer1")
            .retry
            .max_attempts;
        let mut h = History::new(engine, small());
        h.run_until(VirtualTime::from_millis(200));
        h.apply(Fault::PoisonNext {
            topic: Some("OrderCreated".into()),
        })
        .expect("poison");
        h.run_until(VirtualTime::from_secs(5));
        let dead = h.head().dead_letters("Consumer1").expect("a group");
        let letter = dead
            .records
            .first()
            .expect("the poisoned event was dead-lettered");
        let id = letter.event_id;

        let mut tracer = Tracer::start(&h, id);
        assert_eq!(tracer.advance(&h, u64::MAX), TraceStatus::Complete);
        let trace = tracer.trace().expect("a trace");
        let event = trace.event.as_ref().expect("published");
        assert_eq!(event.event_id, id);
        assert_eq!(event.topic, "OrderCreated");
        assert_eq!(event.producer, "Producer1");
        assert_eq!(event.bus, "EB");
        assert!(event.poisoned);
        assert!(trace.pending.is_empty(), "{:?}", trace.pending);
        assert!(trace.subscribers.contains(&"Consumer1".to_string()));
        // Every subscriber tried it `attempts` times, failing each, and
        // dead-lettered it at the last; each retry starts when promised.
        for group in &trace.subscribers {
            let mine: Vec<_> = trace
                .attempts
                .iter()
                .filter(|a| &a.group == group)
                .collect();
            assert_eq!(mine.len() as u32, attempts, "{group}: {mine:?}");
            for (n, pair) in mine.windows(2).enumerate() {
                let AttemptOutcome::Failed { retry_at } = pair[0].outcome else {
                    panic!("{group} attempt {n}: {:?}", pair[0].outcome)
                };
                assert_eq!(pair[1].start, retry_at, "{group}");
                assert_eq!(pair[1].attempt, pair[0].attempt + 1);
            }
            let last = mine.last().expect("attempts");
            assert_eq!(last.outcome, AttemptOutcome::DeadLettered, "{group}");
        }
        let by_consumer1 = trace
            .attempts
            .iter()
            .find(|a| a.group == "Consumer1" && a.outcome == AttemptOutcome::DeadLettered)
            .expect("Consumer1 dead-lettered it");
        assert_eq!(by_consumer1.end, letter.at);
        assert_eq!(letter.attempts, attempts);
        // Nothing was applied, so no sink edge is on its path.
        assert!(trace.edges.contains(&("Producer1".into(), "EB".into())));
        assert!(trace.edges.contains(&("EB".into(), "Consumer1".into())));
        assert!(!trace.edges.iter().any(|(a, _)| a == "Consumer1"));
    }

    const SAGA: &str = "flowchart LR
    P[Order Service] -->|OrderPlaced| B[[Kafka]]
    B -->|OrderPlaced| S{{Order Saga}}:::saga
    S -->|ReserveStock| B
    B -->|ReserveStock| I[Inventory Worker]:::consumer
    I -->|StockReserved| B
    B -->|StockReserved| S
    S -->|ChargePayment| B
%% eda:scenario S.on = OrderPlaced -> ReserveStock
%% eda:scenario I.on = ReserveStock -> StockReserved
%% eda:scenario S.on = StockReserved -> ChargePayment
%% eda:scenario retention = keep-all
";

    #[test]
    fn a_saga_event_shows_its_causes_and_its_effects() {
        let g = graph(SAGA);
        let scenario = crate::sim::load_scenario(SAGA, &g).expect("scenario");
        let engine = Engine::new(&g, scenario, 3).expect("builds");
        let mut h = History::new(engine, small());
        h.run_until(VirtualTime::from_secs(2));
        let head = h.head();
        let topic = |name: &str| {
            head.topics()
                .iter()
                .find(|t| t.name() == name)
                .unwrap_or_else(|| panic!("{name}"))
        };
        // A StockReserved event from the middle of the run.
        let reserved = topic("StockReserved").partitions()[0]
            .get(crate::sim::Offset(5))
            .copied()
            .expect("StockReserved events");
        let mut tracer = Tracer::start(&h, reserved.event_id);
        assert_eq!(tracer.advance(&h, u64::MAX), TraceStatus::Complete);
        let trace = tracer.trace().expect("a trace").clone();
        let event = trace.event.as_ref().expect("published");
        assert_eq!(event.producer, "I");
        assert_eq!(event.key, reserved.key);
        // Its causes: the ReserveStock I applied, then the OrderPlaced S applied.
        let chain = tracer.chain();
        assert_eq!(chain.len(), 2, "{chain:?}");
        assert_eq!(chain[0].topic, "ReserveStock");
        assert_eq!(chain[0].producer, "S");
        assert_eq!(Some(&chain[0]), trace.cause.as_ref());
        assert_eq!(chain[1].topic, "OrderPlaced");
        assert_eq!(chain[1].producer, "P");
        assert!(chain.iter().all(|c| c.key == reserved.key));
        assert!(chain[1].produced_at <= chain[0].produced_at);
        assert!(chain[0].produced_at <= event.produced_at);
        // And what it caused: S applied it and published a ChargePayment.
        assert_eq!(trace.caused.len(), 1, "{:?}", trace.caused);
        assert_eq!(trace.caused[0].topic, "ChargePayment");
        assert_eq!(trace.caused[0].producer, "S");
        // The cause, traced on its own, lists this event among its effects.
        let mut up = Tracer::start(&h, chain[0].event_id);
        assert_eq!(up.advance(&h, u64::MAX), TraceStatus::Complete);
        let caused = &up.trace().expect("a trace").caused;
        assert!(
            caused.iter().any(|c| c.event_id == reserved.event_id),
            "{caused:?}"
        );
    }

    #[test]
    fn a_trace_stops_at_the_head_and_goes_on_as_the_run_does() {
        let g = graph(crate::SEED_DIAGRAM);
        let engine = Engine::new(&g, Scenario::default_for(&g), 2).expect("builds");
        let mut h = History::new(engine, small());
        h.run_until(VirtualTime::from_millis(500));
        // The newest event: the groups have not all finished with it yet.
        let id = h.head().events_produced() - 1;
        let mut tracer = Tracer::start(&h, id);
        let first = tracer.advance(&h, u64::MAX);
        assert_eq!(first, TraceStatus::AtHead);
        assert_ne!(tracer.advance(&h, 0), TraceStatus::Complete);
        h.run_until(VirtualTime::from_millis(900));
        assert_eq!(tracer.advance(&h, u64::MAX), TraceStatus::Complete);
        let trace = tracer.trace().expect("a trace");
        assert_eq!(trace.event.as_ref().map(|e| e.event_id), Some(id));
        assert!(trace.attempts.iter().all(|a| a.start <= a.end));
    }
}
