#![allow(clippy::unwrap_used)]

use super::*;
use crate::mermaid::parse_flowchart;
use crate::sim::Fault;

const WAIT: Duration = Duration::from_secs(20);

fn seed_graph() -> ArchGraph {
    ArchGraph::from_flowchart(&parse_flowchart(crate::SEED_DIAGRAM).unwrap())
}

fn start(seed: u64) -> LiveHandle {
    let g = seed_graph();
    let scenario = Scenario::default_for(&g);
    LiveHandle::start(g, scenario, seed, || {}).unwrap()
}

#[test]
fn starts_paused_at_time_zero_and_steps_by_virtual_time() {
    let mut live = start(1);
    let first = live.frame();
    assert_eq!(first.state, RunState::Paused);
    assert_eq!(first.now_us, 0);
    live.send(Command::StepBy(1_000_000)).unwrap();
    let f = live.wait_for(WAIT, |f| f.now_us >= 1_000_000);
    assert_eq!(f.now_us, 1_000_000);
    assert_eq!(f.state, RunState::Paused);
    assert!(
        f.deliveries > 0,
        "a second of the seed diagram delivers events"
    );
}

#[test]
fn a_stepped_run_is_the_same_run_as_the_engine_alone() {
    let mut live = start(7);
    live.send(Command::StepBy(2_000_000)).unwrap();
    let f = live.wait_for(WAIT, |f| f.now_us >= 2_000_000);

    let g = seed_graph();
    let mut engine = Engine::new(&g, Scenario::default_for(&g), 7).unwrap();
    engine.run_until(VirtualTime::from_us(2_000_000));
    assert_eq!(f.run_hash, format!("{:016x}", engine.run_hash()));
    assert_eq!(f.deliveries, engine.deliveries());
}

#[test]
fn step_event_processes_one_action() {
    let mut live = start(1);
    live.send(Command::StepEvent).unwrap();
    let f = live.wait_for(WAIT, |f| f.seq >= 1);
    let g = seed_graph();
    let mut engine = Engine::new(&g, Scenario::default_for(&g), 1).unwrap();
    engine.step();
    assert_eq!(f.now_us, engine.now().as_us());
    assert_eq!(f.run_hash, format!("{:016x}", engine.run_hash()));
}

#[test]
fn pause_stops_virtual_time() {
    let mut live = start(1);
    live.send(Command::SetSpeed(Speed::Max)).unwrap();
    live.send(Command::Run).unwrap();
    let running = live.wait_for(WAIT, |f| f.now_us > 2_000_000);
    assert_eq!(running.state, RunState::Running);
    live.send(Command::Pause).unwrap();
    let paused = live.wait_for(WAIT, |f| f.state == RunState::Paused);
    assert_eq!(paused.state, RunState::Paused);
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(live.frame().now_us, paused.now_us);
}

#[test]
fn paced_time_never_runs_ahead_of_wall_clock_times_speed() {
    let mut live = start(1);
    live.send(Command::SetSpeed(Speed::Factor(50.0))).unwrap();
    let started = Instant::now();
    live.send(Command::Run).unwrap();
    let f = live.wait_for(WAIT, |f| f.now_us >= 1_000_000);
    let wall = started.elapsed();
    assert!(f.now_us >= 1_000_000, "time advanced: {}", f.now_us);
    // Virtual time is at most wall time × speed (plus one frame of slack).
    let bound = (wall + FRAME_INTERVAL).as_secs_f64() * 50.0 * 1e6;
    assert!(
        (f.now_us as f64) <= bound,
        "{} µs after {wall:?} at 50×",
        f.now_us
    );
}

#[test]
fn speed_is_clamped_to_the_supported_range() {
    assert_eq!(Speed::Factor(0.0).clamped(), Speed::Factor(0.1));
    assert_eq!(Speed::Factor(1e9).clamped(), Speed::Factor(1000.0));
    assert_eq!(Speed::Factor(f64::NAN).clamped(), Speed::Factor(1.0));
    assert_eq!(Speed::Max.clamped(), Speed::Max);
}

#[test]
fn a_crash_shows_in_the_frame_and_a_bad_fault_is_an_error_not_a_panic() {
    let mut live = start(1);
    live.send(Command::StepBy(500_000)).unwrap();
    live.wait_for(WAIT, |f| f.now_us >= 500_000);
    let group = live.frame().groups[0].group.clone();
    let before = live.frame().groups[0].instances;
    live.send(Command::Fault(Fault::Crash {
        group: group.clone(),
        instance: 0,
        duration_us: None,
    }))
    .unwrap();
    let f = live.wait_for(WAIT, |f| !f.faults.is_empty());
    let g = f.groups.iter().find(|g| g.group == group).unwrap();
    assert_eq!(g.instances, before - 1);

    live.send(Command::Fault(Fault::Crash {
        group: "NoSuchGroup".into(),
        instance: 0,
        duration_us: None,
    }))
    .unwrap();
    let f = live.wait_for(WAIT, |f| f.error.is_some());
    assert!(
        f.error.as_deref().unwrap_or("").contains("NoSuchGroup"),
        "{:?}",
        f.error
    );
}

#[test]
fn reset_returns_to_time_zero_with_the_new_seed() {
    let mut live = start(1);
    live.send(Command::StepBy(1_000_000)).unwrap();
    live.wait_for(WAIT, |f| f.now_us >= 1_000_000);
    live.send(Command::Reset { seed: Some(42) }).unwrap();
    let f = live.wait_for(WAIT, |f| f.seed == 42);
    assert_eq!(f.seed, 42);
    assert_eq!(f.now_us, 0);
    assert_eq!(f.deliveries, 0);
}

#[test]
fn frames_carry_component_badges_and_bounded_sparklines() {
    let mut live = start(1);
    live.send(Command::StepBy(30_000_000)).unwrap();
    let f = live.wait_for(WAIT, |f| f.now_us >= 30_000_000);
    assert_eq!(f.components.len(), seed_graph().component_count());
    let busy = f
        .components
        .iter()
        .find(|c| c.lag.is_some() && c.events_in > 0)
        .expect("a consumer group took events in");
    assert!(busy.spark_rate.len() <= frame::SPARK_SAMPLES);
    assert!(!busy.spark_rate.is_empty());
    assert!(busy.spark_rate.iter().any(|&r| r > 0.0));
    assert!(busy.processing_us.is_some());
}

#[test]
fn dropping_the_handle_stops_the_driver() {
    let live = start(1);
    live.send(Command::SetSpeed(Speed::Max)).unwrap();
    live.send(Command::Run).unwrap();
    drop(live); // joins the thread: the test would hang if it did not stop
}

#[test]
fn seek_shows_a_past_moment_exactly_and_live_returns_to_the_head() {
    let mut live = start(3);
    live.send(Command::StepBy(3_000_000)).unwrap();
    live.wait_for(WAIT, |f| f.now_us >= 3_000_000);
    live.send(Command::Seek(1_000_000)).unwrap();
    let past = live.wait_for(WAIT, |f| f.viewing_past);
    assert!(past.viewing_past);
    assert_eq!(past.now_us, 1_000_000);
    assert_eq!(past.head_us, 3_000_000);

    let g = seed_graph();
    let mut engine = Engine::new(&g, Scenario::default_for(&g), 3).unwrap();
    engine.run_until(VirtualTime::from_us(1_000_000));
    assert_eq!(past.run_hash, format!("{:016x}", engine.run_hash()));
    assert_eq!(past.deliveries, engine.deliveries());

    live.send(Command::Live).unwrap();
    let head = live.wait_for(WAIT, |f| !f.viewing_past);
    assert_eq!(head.now_us, 3_000_000);
    assert!(head.deliveries > past.deliveries);
}

#[test]
fn a_seek_past_the_head_is_clamped_to_it() {
    let mut live = start(1);
    live.send(Command::StepBy(1_000_000)).unwrap();
    live.wait_for(WAIT, |f| f.now_us >= 1_000_000);
    live.send(Command::Seek(99_000_000)).unwrap();
    let f = live.wait_for(WAIT, |f| f.viewing_past);
    assert_eq!(f.now_us, 1_000_000);
}

/// The seed diagram run live with its defaults, Consumer1 crashed at 3 s
/// and restarted at 4 s: its commits come every 5 s (the live default),
/// so the crash re-delivers what it processed since 0 s and, without
/// idempotency, applies it again; with idempotency, never.
fn crash_consumer1(scenario_lines: &str) -> Arc<Frame> {
    let text = format!("{}{scenario_lines}", crate::SEED_DIAGRAM);
    let g = ArchGraph::from_flowchart(&parse_flowchart(&text).unwrap());
    let scenario = crate::sim::load_scenario(&text, &g).unwrap();
    let mut live = LiveHandle::start(g, scenario, 3, || {}).unwrap();
    let crash = Fault::Crash {
        group: "Consumer1".into(),
        instance: 0,
        duration_us: None,
    };
    live.send(Command::StepBy(3_000_000)).unwrap();
    live.wait_for(WAIT, |f| f.now_us >= 3_000_000);
    live.send(Command::Fault(crash)).unwrap();
    live.send(Command::StepBy(1_000_000)).unwrap();
    live.wait_for(WAIT, |f| f.now_us >= 4_000_000);
    let restart = Fault::Restart {
        group: "Consumer1".into(),
        instance: 0,
    };
    live.send(Command::Fault(restart)).unwrap();
    live.send(Command::StepBy(2_000_000)).unwrap();
    live.wait_for(WAIT, |f| f.now_us >= 6_000_000)
}

#[test]
fn a_crash_with_the_live_defaults_applies_duplicates_without_idempotency() {
    let f = crash_consumer1("");
    let c1 = f.groups.iter().find(|g| g.group == "Consumer1").unwrap();
    // About 3 s of Consumer1's ~100 events/s.
    assert!(
        c1.delivery.redelivered > 100,
        "re-delivered {:?}",
        c1.delivery
    );
    assert_eq!(c1.delivery.duplicates_applied, c1.delivery.redelivered);
    let report = &f.invariants;
    assert!(report.effects_applied_once.is_violated(), "{report:?}");
    let example = report
        .examples_of(crate::sim::Invariant::EffectsAppliedOnce)
        .next()
        .unwrap();
    assert_eq!(example.events[0].group, "Consumer1");
    // The other groups never crashed: nothing re-delivered.
    for g in f.groups.iter().filter(|g| g.group != "Consumer1") {
        assert_eq!(g.delivery.redelivered, 0, "{}", g.group);
    }
}

#[test]
fn a_crash_with_the_live_defaults_applies_nothing_twice_when_idempotent() {
    let f = crash_consumer1("%% eda:scenario Consumer1.idempotent = on\n");
    let c1 = f.groups.iter().find(|g| g.group == "Consumer1").unwrap();
    assert!(c1.delivery.redelivered > 100, "{:?}", c1.delivery);
    assert_eq!(c1.delivery.duplicates_applied, 0, "{:?}", c1.delivery);
    assert_eq!(c1.delivery.deduped, c1.delivery.redelivered);
    let report = &f.invariants;
    assert!(!report.effects_applied_once.is_violated(), "{report:?}");
    assert_eq!(report.no_duplicate_effects, crate::sim::Check::Held);
}

#[test]
fn a_diagram_that_commits_every_record_keeps_it_live() {
    let f = crash_consumer1("%% eda:scenario Consumer1.commit-every = 1\n");
    let c1 = f.groups.iter().find(|g| g.group == "Consumer1").unwrap();
    // Committed on catching up: at most the record in service is lost.
    assert!(c1.delivery.duplicates_applied <= 6, "{:?}", c1.delivery);
}
