//! The archive of a long live run: the seed diagram recorded as the live
//! driver records it (a window of `LIVE_SNAPSHOTS` snapshots every 30 s
//! of virtual time, the snapshots leaving it archived as compact images)
//! for `LIVE_ARCHIVE_HOURS` of virtual time (default 100: a one-hour run
//! at 100×). Prints the archive's size as the run grows, then measures
//! seeks: the worst one before the window (just before an archived image,
//! so nearly a whole spacing is re-run, from a freshly restored image),
//! one inside the window, and archiving one snapshot (encode + deflate).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use eda_studio::mermaid::parse_flowchart;
use eda_studio::model::ArchGraph;
use eda_studio::sim::{
    ArchiveOptions, Engine, History, HistoryOptions, LIVE_SNAPSHOT_EVERY_US, LIVE_SNAPSHOTS,
    Scenario, VirtualTime,
};
use std::time::{Duration, Instant};

fn live_history() -> History {
    let graph = ArchGraph::from_flowchart(&parse_flowchart(eda_studio::SEED_DIAGRAM).unwrap());
    let mut engine = Engine::new(&graph, Scenario::default_for(&graph), 1).unwrap();
    engine.set_activity(true);
    engine.set_store_keep_latest(true);
    History::sliding(
        engine,
        HistoryOptions {
            max_snapshots: LIVE_SNAPSHOTS,
            ..HistoryOptions::default()
        },
        LIVE_SNAPSHOT_EVERY_US,
    )
    .with_archive(ArchiveOptions::default())
}

fn report(h: &History, wall: Duration) {
    let n = h.archive_len().max(1);
    eprintln!(
        "at {:>7.0} s virtual ({:>6.1} s wall): {:>3} images, {:>5.1} MB ({:.2} MB each), spacing {:>6.0} s, window from {:.0} s",
        h.head().now().as_secs_f64(),
        wall.as_secs_f64(),
        h.archive_len(),
        h.archive_bytes() as f64 / 1e6,
        h.archive_bytes() as f64 / 1e6 / n as f64,
        h.archive_spacing_us() as f64 / 1e6,
        h.window_start().as_secs_f64(),
    );
}

fn archive(c: &mut Criterion) {
    let hours: u64 = std::env::var("LIVE_ARCHIVE_HOURS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let mut h = live_history();
    let started = Instant::now();
    let end = hours * 3_600;
    let mut next_report = 60;
    for s in 1..=end {
        h.run_until(VirtualTime::from_secs(s));
        if s == next_report || s == end {
            report(&h, started.elapsed());
            next_report *= 4;
        }
    }
    assert_eq!(h.archive_error(), None);

    // The widest gap between an archived image and the next one (or the
    // window): a moment just before its end re-runs the whole gap.
    let mut starts: Vec<VirtualTime> = h.archive_times().collect();
    starts.push(h.window_start());
    let (gap_start, gap_end) = starts
        .windows(2)
        .map(|w| (w[0], w[1]))
        .max_by_key(|(a, b)| b.since_us(*a))
        .unwrap();
    let worst = VirtualTime::from_us(gap_end.as_us() - 1);
    eprintln!(
        "worst seek: to {} s, from the image at {} s ({} s of virtual time to re-run)",
        worst.as_secs_f64(),
        gap_start.as_secs_f64(),
        worst.since_us(gap_start) / 1_000_000
    );
    let mut group = c.benchmark_group("archive");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.bench_function("seek_worst_before_window", |b| {
        b.iter(|| {
            h.forget_cursor();
            h.seek(worst).events_produced()
        })
    });
    let in_window = VirtualTime::from_us(h.head().now().as_us() - LIVE_SNAPSHOT_EVERY_US / 2 - 1);
    group.bench_function("seek_in_window", |b| {
        b.iter(|| {
            h.forget_cursor();
            h.seek(in_window).events_produced()
        })
    });
    let head = h.head().clone();
    group.bench_function("encode_and_deflate_one_image", |b| {
        b.iter(|| {
            let image = head.to_image().unwrap();
            miniz_oxide::deflate::compress_to_vec(&image, 1).len()
        })
    });
    group.finish();
}

criterion_group!(benches, archive);
criterion_main!(benches);
