//! Scrubbing a long live run: the seed diagram is run at Max speed in the
//! live driver until 10 million events are on the record, then each
//! iteration asks for a different past moment and waits for the driver's
//! frame of it (the engine state from the nearest snapshot plus every
//! panel's data: dots window, log page, tables, charts) — everything the
//! GUI needs to redraw that moment.
//!
//! `LIVE_SEEK_EVENTS` overrides the 10,000,000 (e.g. 1000000 for a quick look);
//! `PAST_SNAPSHOTS` and `PAST_ARCHIVE_MB` (MiB) the run's window and
//! archive (to compare ways of spending the same memory).
//! After criterion's figures it prints every seek's time sorted into the
//! moments before the snapshot window (re-run from an archived image) and
//! inside it: the worst case is what the 100 ms target is about. Then a
//! sweep: 301 moments evenly spread before the window, in a scattered
//! order (so each re-runs from an image), which lands near the end of
//! every gap between images — where the worst case is — more surely than
//! criterion's 97 moments.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use eda_studio::live::{Command, LiveHandle, PastOptions, Speed};
use eda_studio::mermaid::parse_flowchart;
use eda_studio::model::ArchGraph;
use eda_studio::sim::{ArchiveOptions, Scenario};
use std::time::{Duration, Instant};

fn seek(c: &mut Criterion) {
    let events: u64 = std::env::var("LIVE_SEEK_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000_000);
    let graph = ArchGraph::from_flowchart(&parse_flowchart(eda_studio::SEED_DIAGRAM).unwrap());
    let scenario = Scenario::default_for(&graph);
    let env = |name: &str| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
    };
    let mut past = PastOptions::default();
    if let Some(n) = env("PAST_SNAPSHOTS") {
        past.snapshots = n;
    }
    if let Some(mb) = env("PAST_ARCHIVE_MB") {
        past.archive = Some(ArchiveOptions {
            max_bytes: mb << 20,
            ..ArchiveOptions::default()
        });
    }
    let mut live = LiveHandle::start_with_past(graph, scenario, 1, past, || {}).unwrap();
    live.send(Command::SetSpeed(Speed::Max)).unwrap();
    live.send(Command::Run).unwrap();
    let reached = live.wait_for(Duration::from_secs(600), |f| f.events_produced >= events);
    live.send(Command::Pause).unwrap();
    let head = reached.head_us;
    eprintln!(
        "run: {} events, {} deliveries, {:.1} s virtual",
        reached.events_produced,
        reached.deliveries,
        head as f64 / 1e6
    );
    let window_start = reached.timeline.window_start_us;
    eprintln!(
        "archive: {} images, {:.1} MB, longest gap {:.0} s; window from {:.0} s",
        reached.timeline.archived_images,
        reached.timeline.archive_bytes as f64 / 1e6,
        reached.timeline.archive_spacing_us as f64 / 1e6,
        window_start as f64 / 1e6
    );
    let mut i = 0u64;
    let mut times: Vec<(bool, Duration)> = Vec::new();
    c.bench_function("live/seek_past_moment", |b| {
        b.iter(|| {
            i += 1;
            // Moments spread over the run, never the same twice in a row.
            let t = head / 97 * ((i * 37) % 97);
            let started = Instant::now();
            live.send(Command::Seek(t)).unwrap();
            let f = live.wait_for(Duration::from_secs(30), |f| f.viewing_past && f.now_us == t);
            times.push((t < window_start, started.elapsed()));
            assert_eq!(f.now_us, t, "the frame of the moment asked for");
        })
    });
    // The sweep (see the module doc).
    let n = 301u64;
    let mut swept = Vec::new();
    for j in 0..n {
        let t = window_start / n * ((j * 113) % n);
        let started = Instant::now();
        live.send(Command::Seek(t)).unwrap();
        live.wait_for(Duration::from_secs(30), |f| f.viewing_past && f.now_us == t);
        swept.push((true, started.elapsed()));
    }
    for (set, archived, name) in [
        (&times, true, "before the window"),
        (&times, false, "in the window"),
        (&swept, true, "sweep before the window"),
    ] {
        let mut ms: Vec<f64> = set
            .iter()
            .filter(|(a, _)| *a == archived)
            .map(|(_, d)| d.as_secs_f64() * 1e3)
            .collect();
        ms.sort_by(f64::total_cmp);
        if let (Some(first), Some(last)) = (ms.first(), ms.last()) {
            eprintln!(
                "{name}: {} seeks, {first:.1} / {:.1} / {:.1} / {last:.1} ms (best / median / 90% / worst)",
                ms.len(),
                ms[ms.len() / 2],
                ms[ms.len() * 9 / 10],
            );
        }
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(Duration::from_secs(8));
    targets = seek
}
criterion_main!(benches);
