//! `eda-studio replay FILE`: open a recording made by `simulate --record`,
//! re-execute the run (checking its hash at every recorded snapshot and
//! at the end), then:
//! - `--at T` (repeatable): the state of every component at virtual time
//!   `T`, reached through the replay's in-memory snapshots;
//! - `--rebuild NAME`: let the finished run's backlog drain, rebuild
//!   group `NAME`'s projection from the event store and compare it with
//!   the live one;
//! - `--reset GROUP --to OFFSET|TIME`: move a group back (an offset is a
//!   bare number, a time has a unit: `12s`), stop the sources and let it
//!   catch up;
//! - `--add-consumer NAME [--topics A,B]`: add a group to the finished run
//!   and feed it the whole history from offset 0.
//!
//! With none of them, the state at the end. `--json` prints one JSON
//! object instead of text. A recording of an older engine (another
//! random stream) is not replayed: it is said so, and what it stores is
//! shown as stored — the run's figures, and at each moment asked the
//! snapshot at or before it with its metric samples; actions are refused. Exit codes: 0 when the replay matched; 1 when
//! an action was refused; 2 (from `main`) when the file is not a readable
//! recording or the replay diverged.

use super::emit;
use super::simulate::{parse_duration, render_text};
use anyhow::{Context, Result, bail};
use eda_studio::record::{OlderEngine, RecordError, Recording};
use eda_studio::sim::{Engine, Fault, History, HistoryOptions, VirtualTime};
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

/// How long a reset or added group may take to catch up: one virtual hour.
const CATCH_UP_LIMIT_US: u64 = 3_600_000_000;

/// Where `--reset` moves a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetTo {
    /// An offset in every partition (clamped to what is retained).
    Offset(u64),
    /// The first record appended at or after this time.
    Time(u64),
}

/// Parses `--to`: a bare number is an offset, a number with a unit a time.
pub fn parse_reset_to(text: &str) -> Result<ResetTo, String> {
    let t = text.trim();
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        return t
            .parse()
            .map(ResetTo::Offset)
            .map_err(|_| format!("offset `{text}` is too large"));
    }
    parse_time(t).map(ResetTo::Time)
}

/// Parses a moment of virtual time: a duration from the start, `0` allowed.
pub fn parse_time(text: &str) -> Result<u64, String> {
    match text.trim() {
        "0" | "0s" | "0ms" | "0us" => Ok(0),
        other => parse_duration(other),
    }
}

/// What `replay` was asked to do.
#[derive(Debug, Clone)]
pub struct Options<'a> {
    /// The recording.
    pub file: &'a Path,
    /// Moments to show.
    pub at: Vec<u64>,
    /// A group whose projection to rebuild.
    pub rebuild: Option<String>,
    /// A group to reset, and where to.
    pub reset: Option<(String, ResetTo)>,
    /// A group to add.
    pub add_consumer: Option<String>,
    /// The topics the added group reads (all when empty).
    pub topics: Vec<String>,
    /// Re-execute from the start even when the recording has images.
    pub from_zero: bool,
    /// Print JSON.
    pub json: bool,
}

/// Runs `replay`.
pub fn run(options: Options<'_>) -> Result<ExitCode> {
    let opening = Instant::now();
    let recording = Recording::open(options.file)?;
    let open_ms = opening.elapsed().as_secs_f64() * 1e3;
    if let Some(older) = recording.older_engine() {
        return stored(&recording, older, &options);
    }
    let older = |e: &anyhow::Error| match e.downcast_ref::<RecordError>() {
        Some(RecordError::OlderEngine { engine, .. }) => Some(*engine),
        _ => None,
    };
    let mut outcome = replayed(&recording, &options, open_ms, options.from_zero);
    // A file from before the stream was recorded whose images an older
    // engine wrote: this engine may still reproduce its run, so re-execute
    // it from the start, every snapshot's hash checked.
    if !options.from_zero && outcome.as_ref().is_err_and(|e| older(e).is_some()) {
        outcome = replayed(&recording, &options, open_ms, true);
    }
    match outcome {
        // A file from before the stream was recorded that this engine
        // does not reproduce.
        Err(e) => match older(&e) {
            Some(engine) => stored(&recording, engine, &options),
            None => Err(e),
        },
        done => done,
    }
}

/// What a recording of an older engine stores, as stored: the run's
/// figures, and at each moment asked (the end when none) the snapshot at
/// or before it with its metric samples. Actions need a replay: refused
/// (exit code 1).
fn stored(recording: &Recording, older: OlderEngine, options: &Options<'_>) -> Result<ExitCode> {
    let run = recording.run();
    let snapshots = recording.snapshots()?;
    let complete = run.run_hash.is_some();
    let end_us = if complete {
        run.duration_us
    } else {
        snapshots.last().map_or(0, |s| s.time_us)
    };
    let events = recording.event_count()?;
    let hash = run
        .run_hash
        .clone()
        .or_else(|| snapshots.last().map(|s| s.run_hash.clone()))
        .unwrap_or_default();
    let mut text = String::new();
    let _ = writeln!(text, "{}: {older}", options.file.display());
    let _ = writeln!(
        text,
        "recorded: {} (seed {}), {}{}, {events} events stored, run hash {hash}",
        run.source_name,
        run.seed,
        VirtualTime::from_us(end_us),
        if complete { "" } else { " (unfinished)" },
    );
    let moments = if options.at.is_empty() {
        vec![end_us]
    } else {
        options.at.clone()
    };
    let mut states = Vec::new();
    for at in moments {
        if at > end_us {
            bail!(
                "--at {}: after the end of the recording ({})",
                VirtualTime::from_us(at),
                VirtualTime::from_us(end_us)
            );
        }
        let Some(snap) = snapshots.iter().rev().find(|s| s.time_us <= at) else {
            let _ = writeln!(
                text,
                "
no snapshot stored at or before {}",
                VirtualTime::from_us(at)
            );
            states.push(json!({ "at_us": at, "snapshot": Value::Null }));
            continue;
        };
        let _ = writeln!(
            text,
            "
stored at {} (the snapshot at {}): {} events, {} deliveries, run hash {}",
            VirtualTime::from_us(at),
            VirtualTime::from_us(snap.time_us),
            snap.events,
            snap.deliveries,
            snap.run_hash
        );
        let samples = recording.metric_samples_at(snap.time_us)?;
        let mut rows: Vec<(String, Vec<(String, i64)>)> = Vec::new();
        for m in &samples {
            match rows.last_mut() {
                Some((c, values)) if *c == m.component => values.push((m.metric.clone(), m.value)),
                _ => rows.push((m.component.clone(), vec![(m.metric.clone(), m.value)])),
            }
        }
        let metrics = ["events_in", "events_out", "lag", "dlq"];
        let width = rows.iter().map(|(c, _)| c.len()).max().unwrap_or(9).max(9);
        let _ = write!(text, "  {:<width$}", "component");
        for m in metrics {
            let _ = write!(text, " {m:>10}");
        }
        text.push('\n');
        for (component, values) in &rows {
            let _ = write!(text, "  {component:<width$}");
            for m in metrics {
                let v = values.iter().find(|(n, _)| n == m).map(|(_, v)| *v);
                let _ = write!(text, " {:>10}", v.map_or("-".into(), |v| v.to_string()));
            }
            text.push('\n');
        }
        let samples: Vec<Value> = samples
            .iter()
            .map(|m| json!({ "component": m.component, "metric": m.metric, "value": m.value }))
            .collect();
        states.push(json!({
            "at_us": at,
            "snapshot": {
                "time_us": snap.time_us,
                "events": snap.events,
                "deliveries": snap.deliveries,
                "run_hash": snap.run_hash,
            },
            "metric_samples": samples,
        }));
    }
    let asked: Vec<&str> = [
        options.rebuild.as_ref().map(|_| "--rebuild"),
        options.reset.as_ref().map(|_| "--reset"),
        options.add_consumer.as_ref().map(|_| "--add-consumer"),
    ]
    .into_iter()
    .flatten()
    .collect();
    for flag in &asked {
        let _ = writeln!(
            text,
            "
{flag}: refused: it needs the run replayed, which this engine cannot do"
        );
    }
    let out = json!({
        "recording": options.file.display().to_string(),
        "seed": run.seed,
        "complete": complete,
        "older_engine": {
            "stream": older.stream,
            "message": older.to_string(),
        },
        "reproducible": false,
        "run_hash": hash,
        "events": events,
        "end_us": end_us,
        "states": states,
        "refused": asked,
    });
    if options.json {
        emit(&format!("{}\n", serde_json::to_string_pretty(&out)?))?;
    } else {
        emit(&text)?;
    }
    Ok(if asked.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The replay of a recording this engine reproduces, and what was asked of it.
fn replayed(
    recording: &Recording,
    options: &Options<'_>,
    open_ms: f64,
    from_zero: bool,
) -> Result<ExitCode> {
    let only_moments = !options.at.is_empty()
        && options.rebuild.is_none()
        && options.reset.is_none()
        && options.add_consumer.is_none();
    if only_moments && !from_zero && !recording.image_times()?.is_empty() {
        return moments_from_images(recording, options, open_ms);
    }
    // Resets and added groups read history the bus would have trimmed:
    // replay with the bus keeping everything (the hash check below proves
    // that changed nothing else).
    let keep_all = options.add_consumer.is_some() || options.reset.is_some();
    let (mut history, verified) = recording.replay(keep_all, HistoryOptions::default())?;
    let name = recording.run().source_name.clone();
    let end = history.head().now();
    let mut text = String::new();
    let mut out = json!({
        "recording": options.file.display().to_string(),
        "seed": recording.run().seed,
        "complete": verified.complete,
        "snapshots_verified": verified.snapshots,
        "run_hash": verified.run_hash,
        "end_us": end.as_us(),
    });
    let _ = writeln!(
        text,
        "{}: replayed {} of {name} (seed {}), run hash {} matches the recording at {} snapshot{}{}",
        options.file.display(),
        end,
        recording.run().seed,
        verified.run_hash,
        verified.snapshots,
        if verified.snapshots == 1 { "" } else { "s" },
        if verified.complete {
            " and at the end"
        } else {
            " (the recording is unfinished: replayed up to its last snapshot)"
        }
    );

    let nothing_asked = options.at.is_empty()
        && options.rebuild.is_none()
        && options.reset.is_none()
        && options.add_consumer.is_none();
    let moments: Vec<u64> = if nothing_asked {
        vec![end.as_us()]
    } else {
        options.at.clone()
    };
    let mut states = Vec::new();
    for at in moments {
        if at > end.as_us() {
            bail!(
                "--at {}: after the end of the recording ({end})",
                VirtualTime::from_us(at)
            );
        }
        let t = VirtualTime::from_us(at);
        let summary = history.seek(t).summary();
        let _ = writeln!(text, "\nstate at {t}:");
        text.push_str(&render_text(&name, &summary));
        states.push(json!({ "at_us": at, "summary": summary }));
    }
    out["states"] = Value::Array(states);

    let mut refused = false;
    if let Some(group) = &options.rebuild {
        // Groups stop at different offsets mid-flight: let the finished
        // run's backlog drain first, so the two are comparable.
        let limit = history.head().now().plus_us(CATCH_UP_LIMIT_US);
        if !history.drain(limit) {
            let _ = writeln!(
                text,
                "\nthe backlog did not drain within an hour of virtual time; comparing as it is"
            );
        }
        let head = history.head();
        let rebuilt = head
            .rebuild_projection(group)
            .map_err(|reason| anyhow::anyhow!("--rebuild {group}: {reason}"))?;
        let mut sinks = Vec::new();
        for (sink, state) in rebuilt {
            let equal = head.sink_state(&sink) == Some(&state);
            let _ = writeln!(
                text,
                "\nrebuilt {sink} from the event store for {group}: {} the live projection",
                if equal { "equals" } else { "DIFFERS from" }
            );
            sinks.push(json!({ "sink": sink, "equals_live": equal }));
        }
        out["rebuild"] = json!({ "group": group, "sinks": sinks });
    }

    if let Some((group, to)) = &options.reset {
        let before = group_lag(history.head(), group)
            .with_context(|| format!("--reset {group}: no consumer group `{group}`"))?;
        history.stop_sources();
        let fault = match *to {
            ResetTo::Offset(offset) => Fault::ResetToOffset {
                group: group.clone(),
                offset,
            },
            ResetTo::Time(us) => Fault::ResetToTime {
                group: group.clone(),
                at: VirtualTime::from_us(us),
            },
        };
        match history.apply(fault) {
            Ok(()) => {
                let report = catch_up(&mut history, group, before, "after the reset")?;
                text.push_str(&report.0);
                out["reset"] = report.1;
            }
            Err(e) => {
                refused = true;
                let _ = writeln!(text, "\n--reset {group}: refused: {e}");
                out["reset"] = json!({ "group": group, "refused": e.to_string() });
            }
        }
    }

    if let Some(group) = &options.add_consumer {
        let topics = if options.topics.is_empty() {
            history
                .head()
                .topics()
                .iter()
                .map(|t| t.name().to_string())
                .collect()
        } else {
            options.topics.clone()
        };
        let params = history.head().scenario().default_group;
        history.stop_sources();
        let fault = Fault::AddGroup {
            name: group.clone(),
            topics: topics.clone(),
            params,
        };
        match history.apply(fault) {
            Ok(()) => {
                let report = catch_up(&mut history, group, 0, "when added")?;
                let head = history.head();
                let read = head.component_metrics(group).map_or(0, |m| m.events_in);
                let wanted: u64 = head
                    .topics()
                    .iter()
                    .filter(|t| topics.iter().any(|n| n == t.name()))
                    .map(|t| t.appended())
                    .sum();
                let _ = writeln!(
                    text,
                    "\nadded consumer {group} reading {}: it processed {read} of the {wanted} events in the history, from offset 0",
                    topics.join(", ")
                );
                text.push_str(&report.0);
                out["add_consumer"] = json!({ "group": group, "topics": topics, "processed": read, "history": wanted, "catch_up": report.1 });
            }
            Err(e) => {
                refused = true;
                let _ = writeln!(text, "\n--add-consumer {group}: refused: {e}");
                out["add_consumer"] = json!({ "group": group, "refused": e.to_string() });
            }
        }
    }

    if options.json {
        emit(&format!("{}\n", serde_json::to_string_pretty(&out)?))?;
    } else {
        emit(&text)?;
    }
    Ok(if refused {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// `--at` through the recording's engine images: each moment restores
/// the nearest image at or before it and runs forward (no re-execution
/// from the start; `--from-zero` does that and checks every snapshot).
/// The wall time of opening the file and of reaching each moment goes to
/// standard error (standard output stays the same run to run).
fn moments_from_images(
    recording: &Recording,
    options: &Options<'_>,
    open_ms: f64,
) -> Result<ExitCode> {
    let run = recording.run();
    let snapshots = recording.snapshots()?;
    let (end_us, run_hash) = match (&run.run_hash, snapshots.last()) {
        (Some(hash), _) => (run.duration_us, hash.clone()),
        (None, Some(last)) => (last.time_us, last.run_hash.clone()),
        (None, None) => (0, String::new()),
    };
    let complete = run.run_hash.is_some();
    let name = run.source_name.clone();
    let mut text = String::new();
    let _ = writeln!(
        text,
        "{}: {name} (seed {}), {} recorded{}, run hash {run_hash}; moments restored from the stored engine images (--from-zero re-executes and checks every snapshot)",
        options.file.display(),
        run.seed,
        VirtualTime::from_us(end_us),
        if complete { "" } else { " (unfinished)" },
    );
    let mut states = Vec::new();
    for &at in &options.at {
        if at > end_us {
            bail!(
                "--at {}: after the end of the recording ({})",
                VirtualTime::from_us(at),
                VirtualTime::from_us(end_us)
            );
        }
        let t = VirtualTime::from_us(at);
        let seeking = Instant::now();
        let cpu_before = thread_cpu_ms();
        let (engine, image_us, restore_ms) = match recording.image_at(t)? {
            Some((mut engine, image_us)) => {
                let restore_ms = seeking.elapsed().as_secs_f64() * 1e3;
                engine.run_until(t);
                (engine, image_us, restore_ms)
            }
            None => (recording.reexecute_to(t)?, 0, 0.0),
        };
        let seek_ms = seeking.elapsed().as_secs_f64() * 1e3;
        let cpu = match (cpu_before, thread_cpu_ms()) {
            (Some(a), Some(b)) => format!(", {:.1} ms on the CPU", b - a),
            _ => String::new(),
        };
        eprintln!(
            "eda-studio: reached {t} in {seek_ms:.1} ms wall{cpu}: image at {} read and restored in {restore_ms:.1} ms, run forward in {:.1} ms (the file opened in {open_ms:.1} ms)",
            VirtualTime::from_us(image_us),
            seek_ms - restore_ms,
        );
        let summary = engine.summary();
        let _ = writeln!(
            text,
            "\nstate at {t} (from the image at {}):",
            VirtualTime::from_us(image_us)
        );
        text.push_str(&render_text(&name, &summary));
        states.push(json!({ "at_us": at, "image_at_us": image_us, "summary": summary }));
    }
    let out = json!({
        "recording": options.file.display().to_string(),
        "seed": run.seed,
        "complete": complete,
        "reached_through": "images",
        "snapshots_verified": 0,
        "run_hash": run_hash,
        "end_us": end_us,
        "states": states,
    });
    if options.json {
        emit(&format!("{}\n", serde_json::to_string_pretty(&out)?))?;
    } else {
        emit(&text)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// This thread's time on the CPU so far, in milliseconds, where Linux
/// says (`/proc/thread-self/schedstat`): on a loaded machine the wall time
/// of a seek is mostly waiting for a CPU.
fn thread_cpu_ms() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = text.split_whitespace().next()?.parse().ok()?;
    Some(ns as f64 / 1e6)
}

/// A group's total lag now, if it exists.
fn group_lag(engine: &Engine, group: &str) -> Option<u64> {
    engine
        .partition_lags(group)
        .map(|p| p.iter().map(|l| l.lag).sum())
}

/// Lets `group` catch up (sources stopped); says how it went.
fn catch_up(
    history: &mut History,
    group: &str,
    before: u64,
    what: &str,
) -> Result<(String, Value)> {
    let start = history.head().now();
    let after_reset = group_lag(history.head(), group).unwrap_or(0);
    let replayed_before = history
        .head()
        .delivery_counters(group)
        .map_or(0, |c| c.replayed);
    let drained = history.drain(start.plus_us(CATCH_UP_LIMIT_US));
    let head = history.head();
    let lag_end = group_lag(head, group).unwrap_or(0);
    let counters = head.delivery_counters(group).unwrap_or_default();
    let took = head.now().since_us(start);
    let mut text = String::new();
    let _ = writeln!(
        text,
        "{group}: lag {before} before, {after_reset} {what}; {} in {} of virtual time; lag now {lag_end}; {} records replayed, {} dead-lettered",
        if drained {
            "caught up"
        } else {
            "did NOT catch up"
        },
        VirtualTime::from_us(took),
        counters.replayed - replayed_before,
        counters.dead_lettered,
    );
    Ok((
        text,
        json!({
            "group": group,
            "lag_before": before,
            "lag_after_reset": after_reset,
            "caught_up": drained,
            "took_us": took,
            "lag_end": lag_end,
            "replayed": counters.replayed - replayed_before,
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reset_target_is_an_offset_or_a_time() {
        assert_eq!(parse_reset_to("0"), Ok(ResetTo::Offset(0)));
        assert_eq!(parse_reset_to("120"), Ok(ResetTo::Offset(120)));
        assert_eq!(parse_reset_to("12s"), Ok(ResetTo::Time(12_000_000)));
        assert_eq!(parse_reset_to("0s"), Ok(ResetTo::Time(0)));
        assert!(parse_reset_to("").is_err());
        assert!(parse_reset_to("twelve").is_err());
        assert!(parse_reset_to("99999999999999999999999").is_err());
        assert_eq!(parse_time("0"), Ok(0));
        assert_eq!(parse_time("1.5s"), Ok(1_500_000));
    }
}
