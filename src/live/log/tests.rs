#![allow(clippy::unwrap_used)]

use super::*;
use crate::mermaid::parse_flowchart;
use crate::model::ArchGraph;
use crate::sim::{Fault, HistoryOptions, Record, Scenario};

fn history(retention: Retention, seed: u64) -> History {
    let g = ArchGraph::from_flowchart(&parse_flowchart(crate::SEED_DIAGRAM).unwrap());
    let mut scenario = Scenario::default_for(&g);
    scenario.retention = retention;
    let engine = Engine::new(&g, scenario, seed).unwrap();
    History::new(
        engine,
        HistoryOptions {
            snapshot_every_steps: 2_000,
            max_snapshots: 64,
        },
    )
}

/// Every retained record passing `filter`, in time order, the slow way.
fn brute(engine: &Engine, filter: &LogFilter) -> Vec<(u64, u32, Record)> {
    let routes = engine.topic_routes();
    let mut out = Vec::new();
    for (t, topic) in engine.topics().iter().enumerate() {
        let route = &routes[t];
        for (p, log) in topic.partitions().iter().enumerate() {
            for o in log.low_watermark().0..log.high_watermark().0 {
                let r = *log.get(Offset(o)).unwrap();
                let touches = |c: &String| {
                    route.bus == *c
                        || route.groups.contains(c)
                        || route.sinks.contains(c)
                        || route.producer(r.source) == c
                };
                let pass = filter
                    .event_type
                    .as_ref()
                    .is_none_or(|ty| *ty == route.event_type)
                    && filter.key.is_none_or(|k| k == r.key)
                    && filter.component.as_ref().is_none_or(touches)
                    && filter.from_us.is_none_or(|f| r.produced_at.as_us() >= f)
                    && filter.to_us.is_none_or(|f| r.produced_at.as_us() <= f);
                if pass {
                    out.push((t as u64, p as u32, r));
                }
            }
        }
    }
    out.sort_by_key(|(_, _, r)| (r.produced_at, r.event_id));
    out
}

fn page(
    state: &mut LogState,
    engine: &Engine,
    filter: &LogFilter,
    first: u64,
    count: u32,
) -> LogPage {
    state.set_query(filter.clone(), first, count);
    state.view(engine).page.unwrap()
}

fn ids(rows: &[LogRow]) -> Vec<u64> {
    rows.iter().map(|r| r.event_id).collect()
}

#[test]
fn pages_are_the_matching_records_in_time_order() {
    let mut h = history(Retention::KeepAll, 1);
    h.run_until(VirtualTime::from_secs(2));
    let engine = h.head();
    let mut state = LogState::default();
    let all = LogFilter::default();
    let p = page(&mut state, engine, &all, 0, 100);
    assert_eq!(p.total, engine.events_produced());
    assert_eq!(p.retained, p.total, "keep-all keeps everything");
    assert!(p.keep_all);
    assert_eq!(p.matching, p.total);
    assert_eq!(p.rows.len(), 100);
    let expected = brute(engine, &all);
    assert_eq!(expected.len() as u64, p.matching);
    // Pages at any start, including the tail, are slices of the whole.
    for first in [0, 1, 99, 333, p.matching - 7] {
        let got = page(&mut state, engine, &all, first, 50);
        assert_eq!(got.first, first);
        let want: Vec<u64> = expected
            .iter()
            .skip(first as usize)
            .take(50)
            .map(|(_, _, r)| r.event_id)
            .collect();
        assert_eq!(ids(&got.rows), want, "page at {first}");
    }
    let tail = page(&mut state, engine, &all, TAIL, 20);
    assert_eq!(tail.first, tail.matching - 20);
    assert_eq!(
        ids(&tail.rows),
        expected[expected.len() - 20..]
            .iter()
            .map(|(_, _, r)| r.event_id)
            .collect::<Vec<_>>()
    );
    let w = tail.rows.windows(2);
    assert!(
        w.clone()
            .all(|w| (w[0].time_us, w[0].event_id) < (w[1].time_us, w[1].event_id))
    );
    // Rows name where they are and what they carry.
    let row = &tail.rows[0];
    let (t, partition, record) = expected[expected.len() - 20];
    assert_eq!(row.topic, engine.topics()[t as usize].name());
    assert_eq!(row.partition, partition);
    assert_eq!(row.key, record.key);
    assert_eq!(row.payload, record.payload);
    assert_eq!(
        page(&mut state, engine, &all, p.matching + 5, 10).rows,
        vec![]
    );
    assert!(p.types.contains(&"UserRegistered".to_string()));
    assert!(p.components.contains(&"Consumer4".to_string()));
}

#[test]
fn filters_match_a_scan_of_every_record() {
    let mut h = history(Retention::KeepAll, 2);
    h.run_until(VirtualTime::from_secs(2));
    let engine = h.head();
    let key = brute(engine, &LogFilter::default())[10].2.key;
    let filters = [
        LogFilter {
            event_type: Some("UserRegistered".into()),
            ..LogFilter::default()
        },
        LogFilter {
            key: Some(key),
            ..LogFilter::default()
        },
        LogFilter {
            component: Some("Producer2".into()),
            ..LogFilter::default()
        },
        LogFilter {
            component: Some("WriteModel".into()),
            ..LogFilter::default()
        },
        LogFilter {
            component: Some("InvDB".into()),
            event_type: Some("OrderCreated".into()),
            ..LogFilter::default()
        },
        LogFilter {
            from_us: Some(500_000),
            to_us: Some(1_250_000),
            ..LogFilter::default()
        },
        LogFilter {
            component: Some("Producer1".into()),
            from_us: Some(700_000),
            ..LogFilter::default()
        },
        LogFilter {
            event_type: Some("NoSuchType".into()),
            ..LogFilter::default()
        },
    ];
    let mut state = LogState::default();
    for filter in &filters {
        let want = brute(engine, filter);
        let p = page(&mut state, engine, filter, 0, MAX_PAGE_ROWS);
        assert_eq!(p.matching, want.len() as u64, "{filter:?}");
        let n = want.len().min(MAX_PAGE_ROWS as usize);
        let want_ids: Vec<u64> = want[..n].iter().map(|(_, _, r)| r.event_id).collect();
        assert_eq!(ids(&p.rows), want_ids, "{filter:?}");
        if let Some(k) = filter.key {
            assert!(p.rows.iter().all(|r| r.key == k));
        }
    }
    // A producer filter shows only what it published.
    let p = page(&mut state, engine, &filters[2], 0, 50);
    assert!(!p.rows.is_empty());
    assert!(
        p.rows
            .iter()
            .all(|r| r.producer == "Producer2" && r.event_type == "UserRegistered")
    );
    // Asking for more rows than a page holds gets a page.
    let p = page(&mut state, engine, &LogFilter::default(), 0, 100_000);
    assert_eq!(p.rows.len(), MAX_PAGE_ROWS as usize);
}

#[test]
fn the_key_index_grows_with_the_run_and_scans_only_what_is_new() {
    let mut h = history(Retention::KeepAll, 3);
    h.run_until(VirtualTime::from_secs(1));
    let key = brute(h.head(), &LogFilter::default())[3].2.key;
    let filter = LogFilter {
        key: Some(key),
        ..LogFilter::default()
    };
    let mut state = LogState::default();
    let first = page(&mut state, h.head(), &filter, 0, 100);
    assert!(first.indexed > 0);
    let again = page(&mut state, h.head(), &filter, 0, 100);
    assert_eq!(again.indexed, 0, "nothing new, nothing scanned");
    h.run_until(VirtualTime::from_secs(2));
    let later = page(&mut state, h.head(), &filter, 0, 100);
    assert!(
        later.indexed > 0 && later.indexed < later.retained / 2,
        "{}",
        later.indexed
    );
    assert_eq!(later.matching, brute(h.head(), &filter).len() as u64);
    assert!(later.matching >= first.matching);
}

#[test]
fn a_past_moment_shows_only_what_was_on_the_bus_then() {
    for retention in [Retention::KeepAll, Retention::UntilConsumed] {
        let mut h = history(retention, 4);
        h.run_until(VirtualTime::from_secs(3));
        // A key with events on the bus at one of the moments looked at.
        let key = [1_500, 400, 2_900]
            .into_iter()
            .find_map(|ms| {
                let past = h.state_at(VirtualTime::from_millis(ms));
                brute(&past, &LogFilter::default())
                    .last()
                    .map(|(_, _, r)| r.key)
            })
            .unwrap();
        let filters = [
            LogFilter::default(),
            LogFilter {
                key: Some(key),
                ..LogFilter::default()
            },
            LogFilter {
                component: Some("Producer3".into()),
                ..LogFilter::default()
            },
        ];
        let mut state = LogState::default();
        for filter in &filters {
            // Index at the head first, then look back: the index must
            // cover what the past held and the head has dropped.
            page(&mut state, h.head(), filter, 0, 10);
            for ms in [1_500, 400, 2_900] {
                let past = h.state_at(VirtualTime::from_millis(ms));
                let p = page(&mut state, &past, filter, TAIL, 100);
                let want = brute(&past, filter);
                assert_eq!(p.total, past.events_produced(), "{retention:?}");
                assert_eq!(
                    p.matching,
                    want.len() as u64,
                    "{retention:?} {filter:?} at {ms} ms"
                );
                let tail: Vec<u64> = want[want.len().saturating_sub(100)..]
                    .iter()
                    .map(|(_, _, r)| r.event_id)
                    .collect();
                assert_eq!(ids(&p.rows), tail, "{retention:?} {filter:?} at {ms} ms");
                assert!(p.rows.iter().all(|r| r.time_us <= ms * 1_000));
            }
        }
        if retention == Retention::UntilConsumed {
            let p = page(&mut state, h.head(), &LogFilter::default(), 0, 10);
            assert!(!p.keep_all);
            assert!(
                p.retained < p.total,
                "until-consumed drops what was committed"
            );
        }
    }
}

/// Seed 5 run to `secs` with the next user event after 300 ms poisoned:
/// the history and that event's id (in Consumer2's DLQ by then).
fn dead_lettered_user_event(secs: u64) -> (History, u64) {
    let mut h = history(Retention::UntilConsumed, 5);
    h.run_until(VirtualTime::from_millis(300));
    h.apply(Fault::PoisonNext {
        topic: Some("UserRegistered".into()),
    })
    .unwrap();
    let poisoned = h.head().events_produced();
    h.run_until(VirtualTime::from_secs(secs));
    // The next event may be of another type: find the poisoned one.
    let id = (poisoned..h.head().events_produced())
        .find(|&id| {
            h.head()
                .dead_letters("Consumer2")
                .is_some_and(|d| d.records.iter().any(|l| l.event_id == id))
        })
        .unwrap();
    (h, id)
}

#[test]
fn a_trace_is_cut_to_the_moment_shown() {
    let (h, id) = dead_lettered_user_event(4);
    let mut state = LogState::default();
    state.select(&h, Some(id));
    let view = state.view(h.head()).trace.unwrap();
    assert_eq!(view.state, TraceState::Complete);
    let event = view.event.clone().unwrap();
    assert!(event.poisoned);
    assert!(view.pending.is_empty());
    assert!(view.dead_lettered_by.contains(&"Consumer2".to_string()));
    assert!(view.edges.contains(&("Producer2".into(), "EB".into())));
    let failed = view
        .attempts
        .iter()
        .filter(|a| matches!(a.outcome, crate::sim::AttemptOutcome::Failed { .. }))
        .count();
    assert!(failed > 0);

    // Before it was published: nothing to show yet.
    let before = h.state_at(VirtualTime::from_us(event.produced_at.as_us() - 1));
    let early = state.view(&before).trace.unwrap();
    assert_eq!(early.state, TraceState::NotYetPublished);
    assert!(early.attempts.is_empty() && early.edges.is_empty());
    // Between its first attempt and its dead-lettering: some attempts,
    // groups still pending, no dead letter yet.
    let first_end = view.attempts.iter().map(|a| a.end).min().unwrap();
    let mid = h.state_at(first_end);
    let partial = state.view(&mid).trace.unwrap();
    assert!(!partial.attempts.is_empty());
    assert!(partial.attempts.len() < view.attempts.len());
    assert!(!partial.pending.is_empty());
    assert!(partial.dead_lettered_by.is_empty());
    // Unselecting drops it.
    state.select(&h, None);
    assert!(state.view(h.head()).trace.is_none());
}

#[test]
fn a_dlq_replay_of_the_event_is_listed_as_of_the_moment_shown() {
    use crate::sim::ReplayOutcome;
    let (mut h, id) = dead_lettered_user_event(2);
    let asked = h.head().now();
    h.apply(Fault::ReplayDlq {
        group: "Consumer2".into(),
    })
    .unwrap();
    h.run_until(VirtualTime::from_secs(3));
    assert!(
        h.head()
            .dead_letters("Consumer2")
            .is_some_and(|d| d.records.iter().all(|l| l.event_id != id)),
        "replayed and committed: the letter left the DLQ"
    );
    let mut state = LogState::default();
    state.select(&h, Some(id));

    // Now: one replay attempt, by Consumer2, applied (poison-next poisons
    // the record's delivery, not the replay), after the dead-lettering.
    let view = state.view(h.head()).trace.unwrap();
    assert!(view.dead_lettered_by.contains(&"Consumer2".to_string()));
    let [replay] = view.replays.as_slice() else {
        panic!("one replay attempt: {:?}", view.replays)
    };
    assert_eq!(replay.group, "Consumer2");
    assert_eq!(replay.attempt.event_id, id);
    assert_eq!(replay.attempt.attempt, 1);
    assert_eq!(replay.attempt.outcome, ReplayOutcome::Applied);
    let dead_at = view.attempts.iter().map(|a| a.end).max().unwrap();
    assert!(asked >= dead_at);
    assert_eq!(
        replay.attempt.start, asked,
        "it starts on the letter at once"
    );
    assert!(replay.attempt.end > replay.attempt.start);

    // Scrubbed back before the replay: dead-lettered, no replay yet.
    let before = state
        .view(&h.state_at(VirtualTime::from_us(asked.as_us() - 1)))
        .trace
        .unwrap();
    assert!(before.dead_lettered_by.contains(&"Consumer2".to_string()));
    assert!(before.replays.is_empty(), "{:?}", before.replays);
    // During the attempt: in service on the same instance.
    let during = h.state_at(replay.attempt.start.plus_us(1));
    let mid = state.view(&during).trace.unwrap();
    let [in_service] = mid.replays.as_slice() else {
        panic!("the attempt under way: {:?}", mid.replays)
    };
    assert_eq!(in_service.attempt.outcome, ReplayOutcome::InService);
    assert_eq!(
        (in_service.attempt.instance, in_service.attempt.start),
        (replay.attempt.instance, replay.attempt.start)
    );
}

#[test]
fn the_driver_answers_queries_and_traces_for_the_moment_shown() {
    use crate::live::{Command, LiveHandle};
    use std::time::Duration;
    let g = ArchGraph::from_flowchart(&parse_flowchart(crate::SEED_DIAGRAM).unwrap());
    let mut scenario = Scenario::default_for(&g);
    scenario.retention = Retention::KeepAll;
    let mut live = LiveHandle::start(g, scenario, 9, || {}).unwrap();
    let wait = Duration::from_secs(20);
    assert!(
        live.frame().log.page.is_none(),
        "no page before the UI asks"
    );
    live.send(Command::StepBy(1_000_000)).unwrap();
    live.send(Command::LogQuery {
        filter: LogFilter::default(),
        first: TAIL,
        count: 10,
    })
    .unwrap();
    let f = live.wait_for(wait, |f| f.now_us == 1_000_000 && f.log.page.is_some());
    let page = f.log.page.clone().unwrap();
    assert_eq!(page.total, f.events_produced);
    assert_eq!(page.rows.len(), 10);
    let newest = page.rows.last().unwrap().event_id;
    assert_eq!(
        newest,
        f.events_produced - 1,
        "keep-all: the newest event is the last row"
    );

    live.send(Command::TraceEvent(Some(newest - 50))).unwrap();
    let f = live.wait_for(wait, |f| f.log.trace.is_some());
    let trace = f.log.trace.clone().unwrap();
    assert_eq!(trace.event_id, newest - 50);
    assert!(trace.event.is_some());

    // Half-way back: the page and the trace are the past moment's.
    live.send(Command::Seek(500_000)).unwrap();
    let f = live.wait_for(wait, |f| f.viewing_past && f.now_us == 500_000);
    let page = f.log.page.clone().unwrap();
    assert_eq!(page.total, f.events_produced);
    assert!(page.total < newest);
    assert!(page.rows.iter().all(|r| r.time_us <= 500_000));
    assert_eq!(
        f.log.trace.as_ref().unwrap().state,
        TraceState::NotYetPublished
    );

    // A reset forgets the trace but keeps the query.
    live.send(Command::Reset { seed: None }).unwrap();
    let f = live.wait_for(wait, |f| f.now_us == 0 && !f.viewing_past);
    assert!(f.log.trace.is_none());
    assert_eq!(f.log.page.as_ref().map(|p| p.total), Some(0));
}
