//! The archive of a long live run: the seed diagram recorded as the live
//! driver records it (the live scenario, with its Kafka-like retention; a
//! window of `LIVE_SNAPSHOTS` snapshots every 30 s of virtual time (or
//! `PAST_SNAPSHOTS`; the archive's bytes `PAST_ARCHIVE_MB`), the
//! snapshots leaving it archived as slim compact images) for
//! `LIVE_ARCHIVE_HOURS` of virtual time (default 100: a one-hour run at
//! 100×), or until `LIVE_ARCHIVE_EVENTS` events when that is set. Prints
//! the archive's size as the run grows and the parts of a far seek
//! (restore, re-run), then measures seeks: the worst one before the window
//! (just before an archived image, so nearly a whole spacing is re-run,
//! from a freshly restored image), a typical one (half a spacing), one
//! inside the window, and archiving one snapshot (slim, encode + deflate).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use eda_studio::mermaid::parse_flowchart;
use eda_studio::model::ArchGraph;
use eda_studio::sim::{
    ArchiveOptions, Engine, History, HistoryOptions, LIVE_SNAPSHOT_EVERY_US, LIVE_SNAPSHOTS,
    Scenario, VirtualTime,
};
use std::hint::black_box;
use std::time::{Duration, Instant};

/// `name` from the environment, if set and a number.
fn env(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

/// The live run's history: `LIVE_SNAPSHOTS` and `ARCHIVE_BYTES` unless
/// `PAST_SNAPSHOTS` / `PAST_ARCHIVE_MB` (MiB) say otherwise (to compare
/// ways of spending the same memory).
fn live_history() -> History {
    let graph = ArchGraph::from_flowchart(&parse_flowchart(eda_studio::SEED_DIAGRAM).unwrap());
    let scenario = eda_studio::live::live_scenario(&graph, Scenario::default_for(&graph));
    let mut engine = Engine::new(&graph, scenario, 1).unwrap();
    engine.set_activity(true);
    engine.set_store_keep_latest(true);
    let mut archive = ArchiveOptions::default();
    if let Some(mb) = env("PAST_ARCHIVE_MB") {
        archive.max_bytes = (mb as usize) << 20;
    }
    History::sliding(
        engine,
        HistoryOptions {
            max_snapshots: env("PAST_SNAPSHOTS").map_or(LIVE_SNAPSHOTS, |n| n as usize),
            ..HistoryOptions::default()
        },
        LIVE_SNAPSHOT_EVERY_US,
    )
    .with_archive(archive)
}

/// The process's resident memory, MB (Linux; 0 elsewhere).
fn rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("VmRSS:"))?;
            line.split_whitespace().nth(1)?.parse::<f64>().ok()
        })
        .map_or(0.0, |kb| kb / 1e3)
}

fn report(h: &History, wall: Duration) {
    let n = h.archive_len().max(1);
    let (slim, anchors, largest) = h.archive_stats();
    eprintln!(
        "at {:>7.0} s virtual, {:>9} events ({:>6.1} s wall): {:>3} images ({slim} slim, {anchors} anchors), {:>5.1} MB ({:.1} MB of it shared series chunks; {:.2} MB each, largest {:.2} MB inflated), spacing {:>6.0} s, window from {:.0} s; process {:.0} MB resident",
        h.head().now().as_secs_f64(),
        h.head().events_produced(),
        wall.as_secs_f64(),
        h.archive_len(),
        h.archive_bytes() as f64 / 1e6,
        h.archive_series_bytes() as f64 / 1e6,
        h.archive_bytes() as f64 / 1e6 / n as f64,
        largest as f64 / 1e6,
        h.archive_spacing_us() as f64 / 1e6,
        h.window_start().as_secs_f64(),
        rss_mb(),
    );
}

fn archive(c: &mut Criterion) {
    let hours: u64 = std::env::var("LIVE_ARCHIVE_HOURS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let events: Option<u64> = std::env::var("LIVE_ARCHIVE_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok());
    let mut h = live_history();
    let started = Instant::now();
    let end = hours * 3_600;
    let mut next_report = 60;
    let mut worst_archiving = Duration::ZERO;
    for s in 1..=end {
        let before = h.archive_len();
        let t0 = Instant::now();
        h.run_until(VirtualTime::from_secs(s));
        if h.archive_len() != before {
            // Archiving happened in this second (along with the run).
            worst_archiving = worst_archiving.max(t0.elapsed());
        }
        let done = events.is_some_and(|n| h.head().events_produced() >= n);
        if s == next_report || s == end || done {
            report(&h, started.elapsed());
            next_report *= 4;
        }
        if done {
            break;
        }
    }
    assert_eq!(h.archive_error(), None);
    eprintln!(
        "slowest run_until(+1 s) that archived an image (inline, as without a worker): {:.1} ms",
        worst_archiving.as_secs_f64() * 1e3
    );

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
    // Where a far seek's time goes: restoring the image (inflate + decode)
    // against re-running to the moment.
    let typical = VirtualTime::from_us(gap_start.as_us() + gap_end.since_us(gap_start) / 2);
    for (name, t) in [("worst", worst), ("typical", typical)] {
        h.forget_cursor();
        let t0 = Instant::now();
        h.seek_toward(t, 1);
        let restored = t0.elapsed();
        h.seek(t);
        let total = t0.elapsed();
        eprintln!(
            "{name} seek to {:.0} s: restore {:.1} ms, re-run {:.1} ms, total {:.1} ms",
            t.as_secs_f64(),
            restored.as_secs_f64() * 1e3,
            (total - restored).as_secs_f64() * 1e3,
            total.as_secs_f64() * 1e3
        );
    }
    let in_window = VirtualTime::from_us(h.head().now().as_us() - LIVE_SNAPSHOT_EVERY_US / 2 - 1);
    group.bench_function("seek_typical_before_window", |b| {
        b.iter(|| {
            h.forget_cursor();
            h.seek(typical).events_produced()
        })
    });
    group.bench_function("seek_in_window", |b| {
        b.iter(|| {
            h.forget_cursor();
            h.seek(in_window).events_produced()
        })
    });
    let head = h.head().clone();
    group.bench_function("encode_and_deflate_one_image_whole", |b| {
        b.iter(|| {
            let image = head.to_image().unwrap();
            miniz_oxide::deflate::compress_to_vec(&image, 1).len()
        })
    });
    // What the driver does per archived snapshot now: the slimming on
    // its thread, the rest on the archive worker.
    let mut slim = live_history();
    slim.defer_archiving(true);
    slim.run_until(VirtualTime::from_secs(
        LIVE_SNAPSHOT_EVERY_US / 1_000_000 * 70,
    ));
    let jobs = slim.take_archive_jobs();
    let job = jobs.last().unwrap().clone();
    group.bench_function("encode_and_deflate_one_image_slim", |b| {
        b.iter(|| black_box(job.clone().encode()))
    });
    group.finish();
}

criterion_group!(benches, archive);
criterion_main!(benches);
