//! `eda-studio simulate`: run a diagram headless in the simulation engine
//! with the scenario of its `%% eda:scenario` lines, then print a summary
//! per component (events in, throughput per virtual second, events out,
//! lag at the end, end-to-end latency p50/p95/p99, retries, dead
//! letters, duplicates applied, rebalances), one line per sink with its
//! state (lowest stock, orders by status, documents indexed,
//! notifications sent, warehouse aggregates), the CQRS figures (commands
//! accepted and rejected, conflicts, read-model staleness p50/p99,
//! queries), the invariants checked (for "nothing lost" and "projection
//! rebuilt from the store", a copy of the run is drained after it stops)
//! and the run hash, or with `--json` the whole
//! [`RunSummary`](eda_studio::sim::RunSummary).
//!
//! With `--record FILE` the run is also written to an SQLite recording
//! (see [`eda_studio::record`]); `eda-studio replay FILE` reads it back.
//! On a terminal, a progress bar on standard error shows virtual time.
//!
//! Exit codes: 0 after a run; 1 when the diagram does not parse or cannot
//! be simulated, or when an invariant was violated (the summary is still
//! printed); 2 (from `main`) when the file cannot be read. The wall
//! time of the run goes to standard error, so standard output is the same
//! for the same file, duration and seed.

use super::{Source, emit};
use anyhow::{Context, Result};
use eda_studio::mermaid::parse_flowchart;
use eda_studio::model::ArchGraph;
use eda_studio::record::{Recorder, RunInfo};
use eda_studio::sim::{Check, Engine, OrderStatus, RunSummary, Scenario, SinkReport, VirtualTime};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::fmt::Write as _;
use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

/// Slices a run is cut into: the progress bar moves and the recording
/// takes a snapshot at the end of each.
const SLICES: u64 = 100;

/// How long a copy of the finished run may take to drain when checking
/// that nothing was lost: one virtual hour.
const DRAIN_LIMIT_US: u64 = 3_600_000_000;

/// Without `--image-every`, a recording stores an engine image whenever
/// this many events were produced since the last one (looked at every
/// 1/1024 of the run) and the events recorded since outweigh the last
/// image ([`Recorder::image_due`]): a replay then re-executes about this
/// many events' deliveries from the nearest image (tens of milliseconds)
/// where images are small, and images never take much more than two
/// thirds of the file where they are large (a busy run's backlog).
const IMAGE_EVERY_EVENTS: u64 = 32 * 1024;

/// Looks at whether an image is due this often, as a fraction of the run.
const IMAGE_CHECKS_PER_RUN: u64 = 1024;

/// The longest run `--duration` accepts: one virtual year.
const MAX_DURATION_US: u64 = 365 * 24 * 3600 * 1_000_000;

/// Parses a duration such as `60s`, `500ms`, `250us`, `2m`, `1h` or `1.5s`
/// (a bare number is seconds) into microseconds.
pub fn parse_duration(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let scale: f64 = match unit.trim() {
        "" | "s" | "sec" => 1e6,
        "ms" => 1e3,
        "us" | "µs" => 1.0,
        "m" | "min" => 60e6,
        "h" => 3600e6,
        other => {
            return Err(format!(
                "unknown unit `{other}` in `{text}`: use us, ms, s, m or h (e.g. 60s)"
            ));
        }
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration (e.g. 60s, 500ms, 2m)"))?;
    let us = value * scale;
    if !(us.is_finite() && us >= 1.0 && us <= MAX_DURATION_US as f64) {
        return Err(format!("`{text}` is out of range: from 1us to 365 days"));
    }
    Ok(us.round() as u64)
}

/// What `simulate` was asked to do.
#[derive(Debug, Clone, Copy)]
pub struct Options<'a> {
    /// The diagram (`-` for standard input; the built-in seed when `None`).
    pub file: Option<&'a Path>,
    /// The seed.
    pub seed: u64,
    /// Virtual time to simulate.
    pub duration_us: u64,
    /// Print JSON.
    pub json: bool,
    /// Write a recording here.
    pub record: Option<&'a Path>,
    /// Virtual time between the recording's engine images (a default
    /// from the duration when `None`).
    pub image_every_us: Option<u64>,
}

/// Runs the diagram for `duration_us` of virtual time with `seed`.
pub fn run(options: Options<'_>) -> Result<ExitCode> {
    let Options {
        file,
        seed,
        duration_us,
        json,
        record,
        image_every_us,
    } = options;
    let (image_step_us, by_events) = match image_every_us {
        Some(every) => (every.max(1), false),
        None => ((duration_us / IMAGE_CHECKS_PER_RUN).max(1), true),
    };
    let mut next_image = 0;
    let source = match file {
        Some(path) => Source::read(path)?,
        None => Source::seed(),
    };
    let chart = match parse_flowchart(&source.text) {
        Ok(chart) => chart,
        Err(diagnostic) => {
            eprint!("{}", diagnostic.render(&source.name, &source.text));
            return Ok(ExitCode::from(1));
        }
    };
    let graph = ArchGraph::from_flowchart(&chart);
    // The file's `%% eda:scenario` lines over the diagram's default.
    let scenario: Scenario = match eda_studio::sim::load_scenario(&source.text, &graph) {
        Ok(scenario) => scenario,
        Err(diagnostic) => {
            eprint!("{}", diagnostic.render(&source.name, &source.text));
            return Ok(ExitCode::from(1));
        }
    };
    let mut engine = match Engine::new(&graph, scenario, seed) {
        Ok(engine) => engine,
        Err(err) => {
            eprintln!("{}: cannot simulate: {err}", source.name);
            return Ok(ExitCode::from(1));
        }
    };
    let mut recorder = match record {
        Some(path) => {
            let info = RunInfo {
                source_name: &source.name,
                diagram: &source.text,
                duration_us,
            };
            let mut r = Recorder::create(path, info, &mut engine)
                .with_context(|| format!("cannot record to {}", path.display()))?;
            r.snapshot(&mut engine)?;
            Some(r)
        }
        None => None,
    };
    let bar = progress_bar(duration_us);
    let started = Instant::now();
    for i in 1..=SLICES {
        // The last slice ends exactly at the duration.
        let t = if i == SLICES {
            duration_us
        } else {
            duration_us / SLICES * i
        };
        if let Some(r) = &mut recorder {
            // Cutting the run at the images changes nothing: `run_until`
            // runs the same actions however the time is sliced.
            while next_image <= t {
                engine.run_until(VirtualTime::from_us(next_image));
                let due = r.image_due(&engine, IMAGE_EVERY_EVENTS);
                if next_image == 0 || !by_events || due {
                    r.image(&mut engine)?;
                }
                next_image = next_image.saturating_add(image_step_us);
            }
        }
        engine.run_until(VirtualTime::from_us(t));
        if let Some(r) = &mut recorder {
            r.collect(&mut engine)?;
            if i < SLICES {
                r.snapshot(&mut engine)?;
            }
        }
        if let Some(bar) = &bar {
            bar.set_position(engine.now().as_us() / 1000);
            bar.set_message(format!("{} events", engine.events_produced()));
        }
    }
    let mut summary = engine.summary();
    let wall = started.elapsed().as_secs_f64();
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    // The run stops mid-flight; drain a copy to check that nothing is lost
    // and that projections rebuilt from the store equal the live ones.
    let drained = engine.invariants_after_drain(DRAIN_LIMIT_US);
    summary.invariants.nothing_lost = drained.nothing_lost;
    summary.invariants.projection_rebuild = drained.projection_rebuild;
    let finishing = Instant::now();
    let stats = match recorder {
        Some(r) => Some(r.finish(&mut engine, &summary)?),
        None => None,
    };
    let record_wall = wall + finishing.elapsed().as_secs_f64();
    let out = if json {
        format!("{}\n", serde_json::to_string_pretty(&summary)?)
    } else {
        render_text(&source.name, &summary)
    };
    emit(&out)?;
    let violated = summary.invariants.any_violated();
    let deliveries = summary.deliveries as f64;
    eprintln!(
        "eda-studio: {} virtual in {wall:.3} s wall ({:.0} events/s, {:.0} deliveries/s)",
        VirtualTime::from_us(summary.now_us),
        summary.events_produced as f64 / wall.max(1e-9),
        deliveries / wall.max(1e-9),
    );
    if let (Some(stats), Some(path)) = (stats, record) {
        eprintln!(
            "eda-studio: recorded {} events, {} snapshots, {} engine images in {} transactions to {} ({} bytes, {:.1} bytes/event; {:.0} events/s with the simulation; writer busy {:.3} s, the simulation waited {:.3} s for it)",
            stats.events,
            stats.snapshots,
            stats.images,
            stats.transactions,
            path.display(),
            stats.file_bytes,
            stats.file_bytes as f64 / (stats.events.max(1)) as f64,
            stats.events as f64 / record_wall.max(1e-9),
            stats.writer_busy.as_secs_f64(),
            stats.engine_waited.as_secs_f64(),
        );
    }
    if violated {
        eprintln!("eda-studio: an invariant was violated (see the summary)");
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// A progress bar over virtual milliseconds, on standard error, only when
/// it is a terminal.
fn progress_bar(duration_us: u64) -> Option<ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::with_draw_target(Some(duration_us / 1000), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(
        "{spinner} [{bar:40}] {pos}/{len} virtual ms, {msg}, {elapsed}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    Some(bar)
}

/// The readable summary: a table of components, then the totals and hash.
pub(super) fn render_text(name: &str, s: &RunSummary) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{name}: {} simulated, seed {}",
        VirtualTime::from_us(s.now_us),
        s.seed
    );
    let key_width = s
        .components
        .iter()
        .map(|c| c.key.chars().count())
        .max()
        .unwrap_or(0)
        .max("component".len());
    let seconds = s.now_us as f64 / 1e6;
    let _ = writeln!(
        out,
        "{:<key_width$}  {:<15}  {:>10}  {:>9}  {:>10}  {:>8}  {:>10}  {:>10}  {:>10}  {:>8}  {:>6}  {:>6}  {:>6}",
        "component",
        "role",
        "in",
        "in/s",
        "out",
        "lag",
        "e2e p50 ms",
        "e2e p95 ms",
        "e2e p99 ms",
        "retries",
        "dlq",
        "dups",
        "rebal"
    );
    for c in &s.components {
        let dash = || "-".to_string();
        let lag = c.lag.map_or_else(dash, |l| l.to_string());
        let [p50, p95, p99] = c.end_to_end_us.filter(|l| l.count > 0).map_or_else(
            || [dash(), dash(), dash()],
            |l| [l.p50_us, l.p95_us, l.p99_us].map(ms),
        );
        let rate = if seconds > 0.0 {
            format!("{:.1}", c.events_in as f64 / seconds)
        } else {
            dash()
        };
        let counters = c.delivery.map(|d| {
            [
                d.retries,
                d.dead_lettered,
                d.duplicates_applied,
                d.rebalances,
            ]
            .map(|n| n.to_string())
        });
        let [retries, dlq, dups, rebal] =
            counters.unwrap_or_else(|| [dash(), dash(), dash(), dash()]);
        let _ = writeln!(
            out,
            "{:<key_width$}  {:<15}  {:>10}  {:>9}  {:>10}  {:>8}  {:>10}  {:>10}  {:>10}  {:>8}  {:>6}  {:>6}  {:>6}",
            c.key,
            c.role.title(),
            c.events_in,
            rate,
            c.events_out,
            lag,
            p50,
            p95,
            p99,
            retries,
            dlq,
            dups,
            rebal
        );
    }
    for g in s
        .groups
        .iter()
        .filter(|g| g.delivery.skipped_by_retention > 0)
    {
        let _ = writeln!(
            out,
            "group {}: {} records skipped by retention (dropped from the bus before it read them)",
            g.group, g.delivery.skipped_by_retention
        );
    }
    for sink in &s.sinks {
        let _ = writeln!(
            out,
            "sink {} ({}): {}",
            sink.key,
            sink.kind.title(),
            sink_line(&sink.state)
        );
    }
    if let Some(c) = &s.cqrs {
        let n = &c.counters;
        let _ = writeln!(
            out,
            "cqrs {}: {} commands, {} accepted, rejected {} unknown order / {} duplicate / {} conflict, {} shed; {} conflicts ({} accepted after retry)",
            c.handler,
            n.commands,
            n.accepted,
            n.rejected_unknown_order,
            n.rejected_duplicate,
            n.rejected_conflict,
            n.shed,
            n.conflicts,
            n.accepted_after_conflict
        );
        let st = &c.staleness_us;
        let _ = writeln!(
            out,
            "cqrs read-model staleness ms: p50 {} p99 {} max {} over {}; queries {} ({} hits, {} stale reads)",
            ms(st.p50_us),
            ms(st.p99_us),
            ms(st.max_us),
            st.count,
            n.queries,
            n.query_hits,
            n.stale_reads
        );
    }
    if let Some(r) = &s.registry {
        let n = &r.counters;
        let _ = writeln!(
            out,
            "schema registry {} ({}, {}, lookup {} ms): {} lookups served, {} failed; rejected at the producer: {} unregistered, {} malformed; {} undecodable attempts",
            r.component,
            if r.up { "up" } else { "down" },
            r.compat.word(),
            ms(r.lookup_us),
            n.lookups_served,
            n.lookups_failed,
            n.rejected_unregistered,
            n.rejected_malformed,
            n.undecodable
        );
        for subject in &r.subjects {
            for v in &subject.versions {
                let status = match (v.id, &v.refused) {
                    (Some(id), _) => format!("id {id}"),
                    (None, Some(why)) => format!("refused: {why}"),
                    (None, None) => "not registered".to_string(),
                };
                let _ = writeln!(
                    out,
                    "schema {} v{} ({}): {status}; {} produced, {} rejected",
                    subject.name, v.version, v.event_type, v.produced, v.rejected
                );
            }
        }
    }
    let inv = &s.invariants;
    for (name, check) in [
        ("per-key order", &inv.per_key_order),
        ("nothing lost", &inv.nothing_lost),
        ("no duplicate side effects", &inv.no_duplicate_effects),
        ("projection rebuilt from the store", &inv.projection_rebuild),
    ] {
        let detail = match check {
            Check::Held => String::new(),
            Check::Violated { first, .. } => format!(" (first: {first})"),
            Check::NotChecked { reason } => format!(" ({reason})"),
        };
        let _ = writeln!(out, "invariant {name}: {}{detail}", check.label());
    }
    if !s.faults.is_empty() {
        let refused = s.faults.iter().filter(|f| f.refused.is_some()).count();
        let _ = writeln!(
            out,
            "faults: {} applied, {refused} refused",
            s.faults.len() - refused
        );
    }
    let _ = writeln!(
        out,
        "events produced: {}, deliveries: {}, rejected: {}",
        s.events_produced, s.deliveries, s.rejected
    );
    let _ = writeln!(out, "run hash: {}", s.run_hash);
    out
}

/// One line of a sink's state: the figures a reader looks for first.
fn sink_line(state: &SinkReport) -> String {
    let pairs = |m: &mut dyn Iterator<Item = (String, u64)>| {
        m.map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match state {
        SinkReport::Inventory {
            orders,
            units_taken,
            skus_touched,
            lowest_stock,
        } => {
            let lowest = lowest_stock
                .iter()
                .map(|(sku, n)| format!("sku {sku}: {n}"))
                .collect::<Vec<_>>()
                .join(", ");
            format!(
                "{orders} orders took {units_taken} units over {skus_touched} skus; lowest stock {lowest}"
            )
        }
        SinkReport::ReadViews {
            orders_by_status,
            users,
            payments,
            paid_cents,
        } => {
            let by = pairs(&mut orders_by_status.iter().map(|(k, &v)| {
                let name = match k {
                    OrderStatus::Created => "created",
                    OrderStatus::Paid => "paid",
                    OrderStatus::PaymentOnly => "payment-only",
                };
                (name.to_string(), v)
            }));
            format!(
                "orders {by}; {users} users; {payments} payments of {:.2} in all",
                *paid_cents as f64 / 100.0
            )
        }
        SinkReport::Warehouse {
            by_type,
            hour_buckets,
        } => {
            let by = by_type
                .iter()
                .map(|(t, x)| format!("{t} {} ({:.2})", x.count, x.amount_cents as f64 / 100.0))
                .collect::<Vec<_>>()
                .join(", ");
            format!("{by}; {hour_buckets} hour buckets")
        }
        SinkReport::SearchIndex { documents, terms } => {
            format!("{documents} documents indexed, {terms} terms")
        }
        SinkReport::Notifications { sent, recent } => format!(
            "sent {}; last {} kept",
            pairs(&mut sent.iter().map(|(k, &v)| (k.clone(), v))),
            recent.len()
        ),
        SinkReport::Counter { by_type } => pairs(&mut by_type.iter().map(|(k, &v)| (k.clone(), v))),
    }
}

fn ms(us: u64) -> String {
    format!("{:.3}", us as f64 / 1e3)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("60s"), Ok(60_000_000));
        assert_eq!(parse_duration("60"), Ok(60_000_000));
        assert_eq!(parse_duration("1.5s"), Ok(1_500_000));
        assert_eq!(parse_duration("500ms"), Ok(500_000));
        assert_eq!(parse_duration("250us"), Ok(250));
        assert_eq!(parse_duration("2m"), Ok(120_000_000));
        assert_eq!(parse_duration("1h"), Ok(3_600_000_000));
        assert!(parse_duration("").is_err());
        assert!(parse_duration("5 parsecs").is_err());
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("400d").is_err());
        assert!(parse_duration("1e400").is_err());
    }

    #[test]
    fn text_summary_shows_delivery_columns_and_violations() {
        let graph = ArchGraph::from_flowchart(
            &parse_flowchart(eda_studio::SEED_DIAGRAM).expect("seed parses"),
        );
        let mut engine =
            Engine::new(&graph, Scenario::default_for(&graph), 1).expect("seed builds");
        engine.run_until(VirtualTime::from_millis(200));
        let mut summary = engine.summary();
        let text = render_text("seed", &summary);
        for word in [
            "retries",
            "dlq",
            "dups",
            "rebal",
            "invariant per-key order: held",
        ] {
            assert!(text.contains(word), "missing {word}:\n{text}");
        }
        summary.invariants.nothing_lost = Check::Violated {
            count: 2,
            first: "ES lost OrderCreated/0@3".into(),
        };
        assert!(summary.invariants.any_violated());
        let text = render_text("seed", &summary);
        assert!(
            text.contains("invariant nothing lost: VIOLATED ×2 (first: ES lost OrderCreated/0@3)"),
            "{text}"
        );
    }
}
