//! The scenario stored in the diagram file: `%% eda:scenario` comment
//! lines, which Mermaid drops before parsing, so the `.mmd` stays valid
//! Mermaid that renders anywhere and one file is the whole project.
//!
//! # Syntax
//! One setting per line (diff-friendly). Each line starts with
//! `%% eda:scenario`, then either `KEY = VALUE` or `fault …`:
//!
//! ```text
//! %% eda:scenario partitions = 6
//! %% eda:scenario retention = keep-all            (or until-consumed)
//! %% eda:scenario retention = keep-latest 100000  (records per partition, read or not)
//! %% eda:scenario retention = time 10m            (records younger than that, read or not)
//! %% eda:scenario sample = 100ms                  (metric sample interval)
//! %% eda:scenario bus-capacity = 1000000          (records kept on the bus, at most)
//! %% eda:scenario cqrs = off                      (no gateway-driven command path)
//!
//! %% eda:scenario Producer1.rate = 100/s poisson  (or constant; /ms, /min, /h)
//! %% eda:scenario Producer1.burst = 2000/s for 200ms every 5s   (or off)
//! %% eda:scenario Producer1.keys = 10000 zipf 1.1 (or uniform)
//! %% eda:scenario Producer1.schema = order        (order, user, payment, generic)
//! %% eda:scenario Billing/InvoiceSent.rate = 5/s  (one source of a component publishing several types)
//!
//! %% eda:scenario Consumer1.instances = 3
//! %% eda:scenario Consumer1.service = lognormal p50 2ms p99 40ms   (or exp 1ms, const 400us)
//! %% eda:scenario Consumer1.concurrency = 4       (records per instance at once; 0 = one per partition)
//! %% eda:scenario Consumer1.fail = 2%             (or a probability: 0.02)
//! %% eda:scenario Consumer1.attempts = 4          (dead-lettered after 4 failed attempts)
//! %% eda:scenario Consumer1.backoff = 10ms x2 max 1s    (or a constant: 50ms)
//! %% eda:scenario Consumer1.idempotent = on       (or off)
//! %% eda:scenario Consumer1.commit-every = 50     (records; or a time: 5s, as Kafka's auto-commit)
//! %% eda:scenario Consumer1.assignor = round-robin (or range)
//! %% eda:scenario Consumer1.queue = 500 throttle  (per partition; or shed; or unbounded)
//! %% eda:scenario *.service = exp 1ms             (every consumer group)
//! %% eda:scenario Store.snapshot-every = 100       (an event store: a snapshot of each aggregate every 100 versions)
//! %% eda:scenario Saga.on = OrderPlaced -> ReserveStock       (publish when applying; the edge
//! %% eda:scenario Payments.on = ChargePayment -> PaymentFailed 8%   stops being a source)
//!
//! %% eda:scenario API.place-order = 40/s          (the gateway: also pay, register, queries)
//! %% eda:scenario API.keys = 10000 uniform
//! %% eda:scenario WriteModel.concurrency = 4      (the command handler: also service, attempts, queue = N)
//!
//! %% eda:scenario fault crash Consumer1 at 10s for 5s        (instance 0; Consumer1#2 for another)
//! %% eda:scenario fault restart Consumer1#0 at 30s
//! %% eda:scenario fault slow Elastic 10x from 20s until 40s  (a group, or a sink: its writers)
//! %% eda:scenario fault fail 5% from 10s until 20s           (every attempt, every group)
//! %% eda:scenario fault fail Inventory 20% from 10s          (one group's attempts, or a sink's writers)
//! %% eda:scenario fault poison UserRegistered from 5s until 6s
//! %% eda:scenario fault cure UserRegistered at 9s
//! %% eda:scenario fault poison-next OrderCreated at 3s       (or any topic: fault poison-next at 3s)
//! %% eda:scenario fault add-instance Consumer1 at 12s
//! %% eda:scenario fault remove-instance Consumer1 at 14s
//! %% eda:scenario fault reset Consumer3 to offset 0 at 30s   (or: to 12s — the first record appended then)
//! %% eda:scenario fault add-group Audit reading OrderCreated, UserRegistered at 30s
//!
//! %% eda:scenario Registry.compat = backward      (the schema registry: or forward, full, none)
//! %% eda:scenario Registry.lookup = 2ms           (latency of a lookup not yet cached)
//! %% eda:scenario Registry.change = OrderPlacedV2 add-required   (or add-optional, remove-required, breaking)
//! %% eda:scenario fault crash Registry at 20s for 3s         (the registry is down: uncached lookups fail)
//! ```
//!
//! Durations take `us`, `ms`, `s`, `m`/`min` or `h` and may be decimal
//! (`1.5s`); rates are `N/s`, `N/ms`, `N/min` or `N/h`; factors `10x`
//! (or `x10`); counts may use `_` (`10_000`). Components are Mermaid ids;
//! topics are event types (`Type@Bus` when one type is on several buses).
//! `*.` lines apply before the others, whatever their place; the rest
//! apply in file order, so a later line wins. Everything a file does not
//! set comes from [`Scenario::default_for`]. A group added by
//! `add-group` runs with the `*.` settings.
//!
//! Lines are read from the parsed [`Document`] (its `%%` comments, at any
//! depth), so errors carry byte spans: a malformed line or an unknown name
//! is a [`Diagnostic`] pointing at the offending word, with a hint (the
//! expected form, or the nearest names).
//!
//! [`Scenario::to_lines`] prints a scenario back as these lines — only
//! what differs from the diagram's default — and
//! [`replace_scenario_lines`] swaps them into a file's text.
//!
//! Depends on `mermaid` (AST, diagnostics) and `model`; knows nothing of
//! the engine's state.

use super::bus::Assignor;
use super::clock::VirtualTime;
use super::fault::{Fault, ScheduledFault};
use super::registry::{Compatibility, SchemaChange};
use super::scenario::{
    Arrival, Backoff, Backpressure, Burst, CommitSource, CqrsSpec, GroupParams, KeyDist, KeySpace,
    QueueBound, ReactionSpec, Retention, RetentionSource, Scenario, Schema, ServiceTime,
    SourceSpec, consuming_nodes,
};
use crate::mermaid::ast::{Document, Item, Statement};
use crate::mermaid::{Diagnostic, Span};
use crate::model::ArchGraph;
use std::collections::BTreeSet;
use std::fmt::Write as _;

/// The word after `%%` that marks a scenario line.
pub const SCENARIO_TAG: &str = "eda:scenario";

/// One `%% eda:scenario …` line of a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScenarioLine<'a> {
    /// The whole comment, `%%` to the end of the line.
    pub span: Span,
    /// What follows the tag, verbatim.
    pub body: &'a str,
    /// Byte offset of `body` in the source.
    pub body_start: usize,
}

/// The scenario lines of a document, in source order (subgraphs included).
pub fn scenario_lines(doc: &Document) -> Vec<ScenarioLine<'_>> {
    let mut out = Vec::new();
    let mut stack: Vec<std::slice::Iter<'_, Item>> = vec![doc.leading.iter(), doc.items.iter()];
    stack.reverse();
    while let Some(top) = stack.last_mut() {
        let Some(item) = top.next() else {
            stack.pop();
            continue;
        };
        match item {
            Item::Comment(c) => {
                let trimmed = c.text.trim_start();
                if let Some(rest) = trimmed.strip_prefix(SCENARIO_TAG)
                    && (rest.is_empty() || rest.starts_with(char::is_whitespace))
                {
                    let skipped = c.text.len() - rest.len();
                    out.push(ScenarioLine {
                        span: c.span,
                        body: rest,
                        body_start: c.span.start + 2 + skipped,
                    });
                }
            }
            Item::Statement(Statement::Subgraph(sg)) => stack.push(sg.items.iter()),
            _ => {}
        }
    }
    out.sort_by_key(|l| l.span.start);
    out
}

/// The scenario of a diagram file: [`Scenario::default_for`] the graph,
/// with the document's `%% eda:scenario` lines applied.
pub fn scenario_from_document(graph: &ArchGraph, doc: &Document) -> Result<Scenario, Diagnostic> {
    Scenario::from_lines(graph, &scenario_lines(doc))
}

/// The scenario of diagram text `src` whose graph is `graph` (built from
/// the same text): parses the document for its comments, then
/// [`scenario_from_document`].
pub fn load_scenario(src: &str, graph: &ArchGraph) -> Result<Scenario, Diagnostic> {
    scenario_from_document(graph, &crate::mermaid::parse_document(src)?)
}

/// `src` with its scenario lines replaced by `lines` (each a full
/// `%% eda:scenario …` line, as [`Scenario::to_lines`] gives): the old
/// ones are removed where they were and the new ones appended at the end.
/// Fails when `src` does not parse.
pub fn replace_scenario_lines(src: &str, lines: &[String]) -> Result<String, Diagnostic> {
    let doc = crate::mermaid::parse_document(src)?;
    let mut out = String::with_capacity(src.len());
    let mut at = 0;
    for line in scenario_lines(&doc) {
        // Drop the comment and its line break.
        let line_start = src[..line.span.start].rfind('\n').map_or(0, |i| i + 1);
        let only_blank_before = src[line_start..line.span.start].trim().is_empty();
        let start = if only_blank_before {
            line_start
        } else {
            line.span.start
        };
        let mut end = line.span.end;
        if only_blank_before {
            if src[end..].starts_with("\r\n") {
                end += 2;
            } else if src[end..].starts_with('\n') {
                end += 1;
            }
        }
        out.push_str(&src[at..start.max(at)]);
        at = end.max(at);
    }
    out.push_str(&src[at..]);
    if !lines.is_empty() && !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    for l in lines {
        out.push_str(l);
        out.push('\n');
    }
    Ok(out)
}

// ----- reading ------------------------------------------------------------

/// A word of a line with its absolute byte span.
#[derive(Debug, Clone, Copy)]
struct Tok<'a> {
    text: &'a str,
    span: Span,
}

fn tokenize<'a>(line: &ScenarioLine<'a>) -> Vec<Tok<'a>> {
    let mut toks = Vec::new();
    let body = line.body;
    let mut start: Option<usize> = None;
    let flush = |toks: &mut Vec<Tok<'a>>, s: usize, e: usize| {
        if e > s {
            toks.push(Tok {
                text: &body[s..e],
                span: Span::new(line.body_start + s, line.body_start + e),
            });
        }
    };
    for (i, c) in body.char_indices() {
        if c.is_whitespace() || c == '=' || c == ',' {
            if let Some(s) = start.take() {
                flush(&mut toks, s, i);
            }
            if c == '=' || c == ',' {
                flush(&mut toks, i, i + 1);
            }
        } else if start.is_none() {
            start = Some(i);
        }
    }
    if let Some(s) = start {
        flush(&mut toks, s, body.len());
    }
    toks
}

/// The words of one line, consumed left to right.
struct Cursor<'a> {
    toks: Vec<Tok<'a>>,
    at: usize,
    /// Where the line ends (for "expected more" errors).
    end: Span,
}

type Res<T> = Result<T, Diagnostic>;

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<Tok<'a>> {
        self.toks.get(self.at).copied()
    }

    fn next(&mut self, what: &str) -> Res<Tok<'a>> {
        match self.toks.get(self.at) {
            Some(&t) => {
                self.at += 1;
                Ok(t)
            }
            None => Err(Diagnostic::parse(self.end, format!("expected {what}"))),
        }
    }

    fn eat(&mut self, word: &str) -> bool {
        if self
            .peek()
            .is_some_and(|t| t.text.eq_ignore_ascii_case(word))
        {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, word: &str, hint: &str) -> Res<()> {
        let t = self.next(&format!("`{word}`"))?;
        if t.text.eq_ignore_ascii_case(word) {
            Ok(())
        } else {
            Err(bad(
                t,
                &format!("expected `{word}`, found `{}`", t.text),
                hint,
            ))
        }
    }

    fn done(&self, hint: &str) -> Res<()> {
        match self.peek() {
            None => Ok(()),
            Some(t) => Err(bad(
                t,
                &format!("unexpected `{}` at the end of the setting", t.text),
                hint,
            )),
        }
    }
}

fn bad(t: Tok<'_>, message: &str, hint: &str) -> Diagnostic {
    let d = Diagnostic::parse(t.span, message);
    if hint.is_empty() {
        d
    } else {
        d.with_hint(hint)
    }
}

fn number(t: Tok<'_>, text: &str, what: &str, hint: &str) -> Res<f64> {
    let clean = text.replace('_', "");
    match clean.parse::<f64>() {
        Ok(x) if x.is_finite() && x >= 0.0 && !clean.is_empty() => Ok(x),
        _ => Err(bad(t, &format!("`{}` is not {what}", t.text), hint)),
    }
}

fn count(t: Tok<'_>, what: &str, hint: &str) -> Res<u64> {
    let clean = t.text.replace('_', "");
    clean
        .parse::<u64>()
        .map_err(|_| bad(t, &format!("`{}` is not {what}", t.text), hint))
}

fn count_u32(t: Tok<'_>, what: &str, hint: &str) -> Res<u32> {
    let n = count(t, what, hint)?;
    u32::try_from(n).map_err(|_| bad(t, &format!("`{}` is too large for {what}", t.text), hint))
}

const DURATION_HINT: &str = "a duration such as 250us, 10ms, 1.5s, 2m or 1h";

/// A duration in (possibly fractional) microseconds.
fn duration_f(t: Tok<'_>) -> Res<f64> {
    let text = t.text;
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_'))
        .unwrap_or(text.len());
    let (num, unit) = text.split_at(split);
    let scale = match unit {
        "us" | "µs" => 1.0,
        "ms" => 1e3,
        "s" => 1e6,
        "m" | "min" => 60e6,
        "h" => 3600e6,
        "" if num.replace('_', "") == "0" => 1.0,
        _ => {
            return Err(bad(
                t,
                &format!("`{text}` is not a duration"),
                DURATION_HINT,
            ));
        }
    };
    let x = number(t, num, "a duration", DURATION_HINT)? * scale;
    if x > 1e15 {
        return Err(bad(
            t,
            &format!("`{text}` is too long"),
            "at most about 30 years",
        ));
    }
    Ok(x)
}

/// A duration in whole microseconds.
fn duration(t: Tok<'_>) -> Res<u64> {
    let x = duration_f(t)?;
    if x.fract() != 0.0 {
        return Err(bad(
            t,
            &format!("`{}` is not a whole number of microseconds", t.text),
            DURATION_HINT,
        ));
    }
    Ok(x as u64)
}

const RATE_HINT: &str = "a rate such as 100/s, 2/ms, 600/min or 10/h";

fn rate(t: Tok<'_>) -> Res<f64> {
    let Some((num, unit)) = t.text.split_once('/') else {
        return Err(bad(t, &format!("`{}` is not a rate", t.text), RATE_HINT));
    };
    let per_s = match unit {
        "s" => 1.0,
        "ms" => 1e3,
        "us" | "µs" => 1e6,
        "min" | "m" => 1.0 / 60.0,
        "h" => 1.0 / 3600.0,
        _ => return Err(bad(t, &format!("`{}` is not a rate", t.text), RATE_HINT)),
    };
    Ok(number(t, num, "a rate", RATE_HINT)? * per_s)
}

const FACTOR_HINT: &str = "a factor such as 10x (or x10)";

fn factor(t: Tok<'_>) -> Res<f64> {
    let text = t.text;
    let num = text
        .strip_suffix('x')
        .or_else(|| text.strip_suffix('×'))
        .or_else(|| text.strip_prefix('x'))
        .or_else(|| text.strip_prefix('×'))
        .ok_or_else(|| bad(t, &format!("`{text}` is not a factor"), FACTOR_HINT))?;
    number(t, num, "a factor", FACTOR_HINT)
}

fn on_off(t: Tok<'_>) -> Res<bool> {
    match t.text.to_ascii_lowercase().as_str() {
        "on" | "true" | "yes" => Ok(true),
        "off" | "false" | "no" => Ok(false),
        _ => Err(bad(
            t,
            &format!("`{}` is neither on nor off", t.text),
            "on or off",
        )),
    }
}

/// Names the lines may use, for checks and suggestions.
struct Names {
    components: Vec<String>,
    groups: BTreeSet<String>,
    topics: BTreeSet<String>,
    /// Groups that are event stores (they take `snapshot-every`).
    stores: BTreeSet<String>,
}

impl Names {
    fn of(graph: &ArchGraph, s: &Scenario) -> Names {
        let mut topics: BTreeSet<String> = s.sources.iter().map(|x| x.event_type.clone()).collect();
        if let Some(c) = &s.cqrs {
            topics.insert(c.event_type.clone());
        }
        for (&bus, d) in &graph.event_catalog().buses {
            for ty in d.by_type.keys() {
                topics.insert(ty.as_str().to_string());
                topics.insert(format!("{}@{}", ty.as_str(), graph.key_of(bus)));
            }
        }
        for x in &s.sources {
            topics.insert(format!("{}@{}", x.event_type, x.bus));
        }
        Names {
            components: graph.components().map(|c| c.key.clone()).collect(),
            groups: consuming_nodes(graph)
                .into_iter()
                .map(|c| graph.key_of(c).to_string())
                .collect(),
            topics,
            stores: consuming_nodes(graph)
                .into_iter()
                .filter(|&c| graph.component(c).map(|x| x.role) == Some(crate::model::Role::Store))
                .map(|c| graph.key_of(c).to_string())
                .collect(),
        }
    }

    fn component(&self, t: Tok<'_>) -> Res<()> {
        if self.components.iter().any(|c| c == t.text) {
            return Ok(());
        }
        Err(unknown(t, "component", self.components.iter()))
    }

    fn group(&self, t: Tok<'_>) -> Res<()> {
        if self.groups.contains(t.text) {
            return Ok(());
        }
        if self.components.iter().any(|c| c == t.text) {
            return Err(bad(
                t,
                &format!(
                    "`{}` is not a consumer group (nothing it reads from a bus)",
                    t.text
                ),
                &format!("groups: {}", list(self.groups.iter())),
            ));
        }
        Err(unknown(t, "consumer group", self.groups.iter()))
    }

    fn topic(&self, t: Tok<'_>) -> Res<()> {
        if self.topics.contains(t.text) {
            return Ok(());
        }
        Err(unknown(t, "topic (event type)", self.topics.iter()))
    }
}

fn list<'a>(names: impl Iterator<Item = &'a String>) -> String {
    let v: Vec<String> = names.take(12).map(|n| format!("`{n}`")).collect();
    v.join(", ")
}

fn unknown<'a>(t: Tok<'_>, what: &str, names: impl Iterator<Item = &'a String>) -> Diagnostic {
    let names: Vec<&String> = names.collect();
    let near = near_names(t.text, names.iter().map(|s| s.as_str()));
    let hint = if near.is_empty() {
        format!("known: {}", list(names.iter().copied()))
    } else {
        let q: Vec<String> = near.iter().map(|n| format!("`{n}`")).collect();
        format!("did you mean {}?", q.join(" or "))
    };
    Diagnostic::db(t.span, format!("unknown {what} `{}`", t.text)).with_hint(hint)
}

/// Up to three names within a small edit distance of `wanted`, best first.
fn near_names<'a>(wanted: &str, names: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let w = wanted.to_lowercase();
    let mut scored: Vec<(usize, &str)> = names
        .filter_map(|n| {
            let d = levenshtein(&w, &n.to_lowercase());
            let limit = (w.chars().count() / 3).max(2);
            (d <= limit).then_some((d, n))
        })
        .collect();
    scored.sort();
    scored.into_iter().take(3).map(|(_, n)| n).collect()
}

fn levenshtein(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().take(100).collect();
    let b: Vec<char> = b.chars().take(100).collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut diag = row[0];
        row[0] = i;
        for j in 1..=b.len() {
            let up = row[j];
            row[j] = (diag + usize::from(a[i - 1] != b[j - 1]))
                .min(up + 1)
                .min(row[j - 1] + 1);
            diag = up;
        }
    }
    row[b.len()]
}

/// What a line's target names.
enum Target {
    /// `*`: every group.
    AllGroups,
    /// Sources by index.
    Sources(Vec<usize>),
    /// A consumer group.
    Group(String),
    /// The CQRS gateway.
    Gateway,
    /// The CQRS command handler.
    Handler,
}

const SOURCE_KEYS: &str = "rate, burst, keys, schema";
const GROUP_KEYS: &str = "instances, service, concurrency, fail, attempts, backoff, idempotent, commit-every, assignor, queue";
const GATEWAY_KEYS: &str = "place-order, pay, register, queries, keys";
const HANDLER_KEYS: &str = "concurrency, service, attempts, queue";
const GLOBAL_KEYS: &str = "partitions, retention, sample, bus-capacity, cqrs";

impl Scenario {
    /// [`Scenario::default_for`] the graph with `lines` applied (see the
    /// module doc for the syntax); the first malformed line or unknown
    /// name is the error.
    pub fn from_lines(
        graph: &ArchGraph,
        lines: &[ScenarioLine<'_>],
    ) -> Result<Scenario, Diagnostic> {
        let mut s = Scenario::default_for(graph);
        let names = Names::of(graph, &s);
        let mut parsed: Vec<Cursor<'_>> = lines
            .iter()
            .map(|l| Cursor {
                toks: tokenize(l),
                at: 0,
                end: Span::new(l.span.end, l.span.end),
            })
            .collect();
        // `*.` lines first.
        parsed.sort_by_key(|c| c.toks.first().is_none_or(|t| !t.text.starts_with("*.")));
        for mut c in parsed {
            apply_line(&mut s, &names, &mut c)?;
        }
        Ok(s)
    }
}

fn apply_line(s: &mut Scenario, names: &Names, c: &mut Cursor<'_>) -> Res<()> {
    let Some(first) = c.peek() else {
        return Err(Diagnostic::parse(c.end, "empty scenario line").with_hint(
            "write `KEY = VALUE` (e.g. `Producer1.rate = 100/s`) or `fault …`; see the README",
        ));
    };
    if first.text == "fault" {
        c.at += 1;
        return fault_line(s, names, c);
    }
    let key = c.next("a setting")?;
    c.expect("=", "settings read `KEY = VALUE`")?;
    match key.text.rsplit_once('.') {
        None => global_setting(s, key, c),
        Some((target, field)) => {
            let target_tok = Tok {
                text: target,
                span: Span::new(key.span.start, key.span.start + target.len()),
            };
            let field_tok = Tok {
                text: field,
                span: Span::new(key.span.start + target.len() + 1, key.span.end),
            };
            if field == "on" {
                return reaction_line(s, names, target_tok, c);
            }
            if s.registry.as_ref().is_some_and(|r| r.component == target) {
                return registry_setting(s, names, field_tok, c);
            }
            if field == "snapshot-every" {
                return snapshot_setting(s, names, target_tok, c);
            }
            let target = resolve_target(s, names, target_tok, field)?;
            target_setting(s, target, field_tok, c)
        }
    }
}

fn global_setting(s: &mut Scenario, key: Tok<'_>, c: &mut Cursor<'_>) -> Res<()> {
    match key.text {
        "partitions" => {
            let t = c.next("a partition count")?;
            s.partitions = count_u32(t, "a partition count", "a whole number, e.g. 6")?;
        }
        "retention" => {
            s.retention = retention(c)?;
            s.retention_source = RetentionSource::Diagram;
        }
        "sample" => s.sample_interval_us = duration(c.next("a duration")?)?,
        "bus-capacity" => {
            let t = c.next("a record count")?;
            s.limits.max_queued_records =
                usize::try_from(count(t, "a record count", "a whole number")?)
                    .unwrap_or(usize::MAX);
        }
        "cqrs" => {
            let t = c.next("off")?;
            if on_off(t)? {
                return Err(bad(
                    t,
                    "the command path comes from the diagram; only `cqrs = off` can be set",
                    "set its rates on the gateway instead, e.g. `API.place-order = 40/s`",
                ));
            }
            s.cqrs = None;
        }
        _ => {
            let known = GLOBAL_KEYS
                .split(", ")
                .map(String::from)
                .collect::<Vec<_>>();
            let near = near_names(key.text, known.iter().map(|k| k.as_str()));
            let hint = if near.is_empty() {
                format!("global settings: {GLOBAL_KEYS}; component settings read `Id.setting = …`")
            } else {
                format!("did you mean `{}`?", near[0])
            };
            return Err(
                Diagnostic::parse(key.span, format!("unknown setting `{}`", key.text))
                    .with_hint(hint),
            );
        }
    }
    c.done("one setting per line")
}

/// As the value of a `retention = …` line.
impl std::fmt::Display for Retention {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Retention::KeepAll => f.write_str("keep-all"),
            Retention::UntilConsumed => f.write_str("until-consumed"),
            Retention::KeepLatest { records } => write!(f, "keep-latest {records}"),
            Retention::Time { us } => write!(f, "time {}", fmt_us(us)),
        }
    }
}

const RETENTION_HINT: &str =
    "until-consumed, keep-all, keep-latest N (records per partition) or time T (e.g. time 10m)";

/// A retention: `until-consumed`, `keep-all`, `keep-latest N` or `time T`.
fn retention(c: &mut Cursor<'_>) -> Res<Retention> {
    let t = c.next("a retention")?;
    Ok(match t.text {
        "keep-all" => Retention::KeepAll,
        "until-consumed" => Retention::UntilConsumed,
        "keep-latest" => {
            let n = c.next("a record count")?;
            let hint = "records kept per partition, e.g. keep-latest 100000";
            match count(n, "a record count", hint)? {
                0 => return Err(bad(n, "keep-latest keeps at least 1 record", hint)),
                records => Retention::KeepLatest { records },
            }
        }
        "time" => {
            let d = c.next("a duration")?;
            match duration(d)? {
                0 => {
                    return Err(bad(
                        d,
                        "time retention keeps records for more than 0",
                        "e.g. time 10m",
                    ));
                }
                us => Retention::Time { us },
            }
        }
        _ => {
            return Err(bad(
                t,
                &format!("unknown retention `{}`", t.text),
                RETENTION_HINT,
            ));
        }
    })
}

/// `Store.snapshot-every = N`: the event store writes a snapshot of each
/// aggregate every N versions (0 = none).
fn snapshot_setting(s: &mut Scenario, names: &Names, t: Tok<'_>, c: &mut Cursor<'_>) -> Res<()> {
    names.component(t)?;
    if !names.stores.contains(t.text) {
        let stores: Vec<&str> = names.stores.iter().map(String::as_str).collect();
        let hint = if stores.is_empty() {
            "only an event store a bus feeds keeps snapshots; this diagram has none".to_string()
        } else {
            format!("event stores here: {}", stores.join(", "))
        };
        return Err(Diagnostic::parse(
            t.span,
            format!(
                "`{}` is not an event store, so it keeps no snapshots",
                t.text
            ),
        )
        .with_hint(hint));
    }
    let v = c.next("a version count")?;
    let every = count_u32(
        v,
        "a version count",
        "versions of a stream between snapshots, e.g. 100 (0 = no snapshots)",
    )?;
    if every == 0 {
        s.snapshot_every.remove(t.text);
    } else {
        s.snapshot_every.insert(t.text.to_string(), every);
    }
    c.done("one setting per line")
}

/// What `t` names, for setting `field`: a component that both reads a bus
/// and publishes to one takes source settings as a source and the others
/// as a group.
fn resolve_target(s: &Scenario, names: &Names, t: Tok<'_>, field: &str) -> Res<Target> {
    if t.text == "*" {
        return Ok(Target::AllGroups);
    }
    let (comp, ty) = match t.text.split_once('/') {
        Some((c, ty)) => (c, Some(ty)),
        None => (t.text, None),
    };
    let comp_tok = Tok {
        text: comp,
        span: Span::new(t.span.start, t.span.start + comp.len()),
    };
    names.component(comp_tok)?;
    if let Some(ty) = ty {
        let hits: Vec<usize> = s
            .sources
            .iter()
            .enumerate()
            .filter(|(_, x)| x.component == comp && x.event_type == ty)
            .map(|(i, _)| i)
            .collect();
        if hits.is_empty() {
            let types: Vec<String> = s
                .sources
                .iter()
                .filter(|x| x.component == comp)
                .map(|x| x.event_type.clone())
                .collect();
            let ty_tok = Tok {
                text: ty,
                span: Span::new(comp_tok.span.end + 1, t.span.end),
            };
            return Err(if types.is_empty() {
                bad(ty_tok, &format!("`{comp}` publishes no events"), "")
            } else {
                unknown(ty_tok, &format!("event type of `{comp}`"), types.iter())
            });
        }
        return Ok(Target::Sources(hits));
    }
    let sources: Vec<usize> = s
        .sources
        .iter()
        .enumerate()
        .filter(|(_, x)| x.component == comp)
        .map(|(i, _)| i)
        .collect();
    if !sources.is_empty() && SOURCE_KEYS.split(", ").any(|k| k == field) {
        return Ok(Target::Sources(sources));
    }
    if let Some(c) = &s.cqrs {
        if c.gateway == comp {
            return Ok(Target::Gateway);
        }
        if c.handler == comp {
            return Ok(Target::Handler);
        }
    }
    if names.groups.contains(comp) {
        return Ok(Target::Group(comp.to_string()));
    }
    if sources.is_empty() {
        return Err(bad(
            comp_tok,
            &format!(
                "`{comp}` is neither a source, a consumer group, the gateway nor the command handler: nothing to set"
            ),
            "sources publish to a bus; groups are what a bus feeds",
        ));
    }
    Ok(Target::Sources(sources))
}

fn target_setting(s: &mut Scenario, target: Target, field: Tok<'_>, c: &mut Cursor<'_>) -> Res<()> {
    match target {
        Target::Sources(ix) => {
            let start = c.at;
            for &i in &ix {
                c.at = start;
                source_setting(&mut s.sources[i], field, c)?;
            }
        }
        Target::AllGroups => {
            let start = c.at;
            let mut g = s.default_group;
            group_setting(&mut g, field, c)?;
            for p in s.groups.values_mut() {
                c.at = start;
                group_setting(p, field, c)?;
            }
            s.default_group = g;
            if field.text == "commit-every" {
                s.commit_sources.insert("*".into(), CommitSource::Diagram);
            }
        }
        Target::Group(name) => {
            let mut p = s.group_params(&name);
            group_setting(&mut p, field, c)?;
            if field.text == "commit-every" {
                s.commit_sources.insert(name.clone(), CommitSource::Diagram);
            }
            s.groups.insert(name, p);
        }
        Target::Gateway => {
            if let Some(spec) = &mut s.cqrs {
                gateway_setting(spec, field, c)?;
            }
        }
        Target::Handler => {
            if let Some(spec) = &mut s.cqrs {
                handler_setting(spec, field, c)?;
            }
        }
    }
    c.done("one setting per line")
}

fn unknown_field(field: Tok<'_>, what: &str, keys: &str) -> Diagnostic {
    let known: Vec<&str> = keys.split(", ").collect();
    let near = near_names(field.text, known.iter().copied());
    let hint = if near.is_empty() {
        format!("{what} settings: {keys}")
    } else {
        format!("did you mean `{}`? ({what} settings: {keys})", near[0])
    };
    Diagnostic::parse(
        field.span,
        format!("`{}` is not a {what} setting", field.text),
    )
    .with_hint(hint)
}

fn source_setting(src: &mut SourceSpec, field: Tok<'_>, c: &mut Cursor<'_>) -> Res<()> {
    match field.text {
        "rate" => {
            let r = rate(c.next("a rate")?)?;
            let poisson = match c.peek() {
                Some(t) if t.text == "poisson" => {
                    c.at += 1;
                    true
                }
                Some(t) if t.text == "constant" => {
                    c.at += 1;
                    false
                }
                Some(t) => {
                    return Err(bad(
                        t,
                        &format!("unknown arrival process `{}`", t.text),
                        "poisson or constant (for bursts, add a `.burst = …` line)",
                    ));
                }
                None => true,
            };
            src.arrival = if poisson {
                Arrival::Poisson { rate_per_s: r }
            } else {
                Arrival::Constant { rate_per_s: r }
            };
        }
        "burst" => {
            if c.eat("off") {
                src.burst = None;
                return Ok(());
            }
            let hint = "bursts read `RATE for DURATION every DURATION`, e.g. `2000/s for 200ms every 5s`, or `off`";
            let r = rate(c.next("a rate")?)?;
            c.expect("for", hint)?;
            let length_us = duration(c.next("a duration")?)?;
            c.expect("every", hint)?;
            let every_tok = c.next("a duration")?;
            let every_us = duration(every_tok)?;
            if length_us == 0 || every_us <= length_us {
                return Err(bad(
                    every_tok,
                    "a burst must be shorter than its period",
                    hint,
                ));
            }
            src.burst = Some(Burst {
                rate_per_s: r,
                length_us,
                every_us,
            });
        }
        "keys" => src.keys = key_space(c)?,
        "schema" => {
            let t = c.next("a schema")?;
            src.schema = match t.text {
                "order" => Schema::Order,
                "user" => Schema::User,
                "payment" => Schema::Payment,
                "generic" => Schema::Generic,
                _ => {
                    return Err(bad(
                        t,
                        &format!("unknown schema `{}`", t.text),
                        "order, user, payment or generic",
                    ));
                }
            };
        }
        _ => return Err(unknown_field(field, "source", SOURCE_KEYS)),
    }
    Ok(())
}

fn key_space(c: &mut Cursor<'_>) -> Res<KeySpace> {
    let hint = "keys read `COUNT uniform` or `COUNT zipf EXPONENT`, e.g. `10000 zipf 1.1`";
    let n = count(c.next("a key count")?, "a key count", hint)?;
    let dist = if c.eat("zipf") {
        let t = c.next("a Zipf exponent")?;
        KeyDist::Zipf {
            exponent: number(t, t.text, "a Zipf exponent", hint)?,
        }
    } else {
        c.eat("uniform");
        KeyDist::Uniform
    };
    Ok(KeySpace { count: n, dist })
}

const SERVICE_HINT: &str =
    "service times read `exp 1ms`, `const 400us` or `lognormal p50 2ms p99 40ms`";

fn service(c: &mut Cursor<'_>) -> Res<ServiceTime> {
    let t = c.next("a service time")?;
    match t.text {
        "exp" | "exponential" => Ok(ServiceTime::Exponential {
            mean_us: duration_f(c.next("a mean duration")?)?,
        }),
        "const" | "constant" => Ok(ServiceTime::Constant {
            us: duration(c.next("a duration")?)?,
        }),
        "lognormal" => {
            c.expect("p50", SERVICE_HINT)?;
            let p50_us = duration_f(c.next("a duration")?)?;
            c.expect("p99", SERVICE_HINT)?;
            let p99_tok = c.next("a duration")?;
            let p99_us = duration_f(p99_tok)?;
            if p99_us < p50_us {
                return Err(bad(p99_tok, "the p99 is below the p50", SERVICE_HINT));
            }
            Ok(ServiceTime::LogNormal { p50_us, p99_us })
        }
        _ => Err(bad(
            t,
            &format!("unknown service-time distribution `{}`", t.text),
            SERVICE_HINT,
        )),
    }
}

fn group_setting(g: &mut GroupParams, field: Tok<'_>, c: &mut Cursor<'_>) -> Res<()> {
    match field.text {
        "instances" => {
            let t = c.next("an instance count")?;
            g.instances = count_u32(t, "an instance count", "a whole number ≥ 1")?;
        }
        "service" => g.service = service(c)?,
        "concurrency" => {
            let t = c.next("a concurrency")?;
            g.concurrency = count_u32(t, "a concurrency", "a whole number; 0 = one per partition")?;
        }
        "fail" => {
            let t = c.next("a failure rate")?;
            let hint = "a percentage such as 2% or a probability such as 0.02";
            g.failure_probability = match t.text.strip_suffix('%') {
                Some(p) => number(t, p, "a percentage", hint)? / 100.0,
                None => {
                    let p = number(t, t.text, "a probability", hint)?;
                    if p > 1.0 {
                        return Err(bad(t, "a probability is at most 1", hint));
                    }
                    p
                }
            };
        }
        "attempts" => {
            let t = c.next("an attempt count")?;
            g.retry.max_attempts = count_u32(
                t,
                "an attempt count",
                "attempts per record, the first included (1 = no retries)",
            )?;
        }
        "backoff" => {
            let first = duration(c.next("a delay")?)?;
            g.retry.backoff = match c.peek() {
                None => Backoff::Constant { delay_us: first },
                Some(_) => {
                    let hint = "exponential backoff reads `INITIAL xFACTOR max MAX`, e.g. `10ms x2 max 1s`";
                    let f = factor(c.next("a factor")?)?;
                    c.expect("max", hint)?;
                    let max_us = duration(c.next("a duration")?)?;
                    Backoff::Exponential {
                        initial_us: first,
                        factor: f,
                        max_us,
                    }
                }
            };
        }
        "idempotent" => g.idempotent = on_off(c.next("on or off")?)?,
        "commit-every" => {
            let t = c.next("a record count or a duration")?;
            let hint = "records between commits (≥ 1), or the time between them (e.g. 5s)";
            if t.text
                .ends_with(|ch: char| ch.is_ascii_digit() || ch == '_')
            {
                g.commit_every = count_u32(t, "a record count", hint)?;
                g.commit_interval_us = 0;
            } else {
                match duration(t)? {
                    0 => return Err(bad(t, "commits need a time between them above 0", hint)),
                    us => g.commit_interval_us = us,
                }
            }
        }
        "assignor" => {
            let t = c.next("an assignor")?;
            g.assignor = match t.text {
                "range" => Assignor::Range,
                "round-robin" => Assignor::RoundRobin,
                _ => {
                    return Err(bad(
                        t,
                        &format!("unknown assignor `{}`", t.text),
                        "range or round-robin",
                    ));
                }
            };
        }
        "queue" => {
            let hint = "queues read `N shed`, `N throttle` (records per partition) or `unbounded`";
            if c.eat("unbounded") {
                g.queue = None;
                return Ok(());
            }
            let capacity = count_u32(c.next("a queue bound")?, "a queue bound", hint)?;
            let t = c.next("shed or throttle")?;
            let policy = match t.text {
                "shed" => Backpressure::Shed,
                "throttle" => Backpressure::Throttle,
                _ => return Err(bad(t, &format!("unknown policy `{}`", t.text), hint)),
            };
            g.queue = Some(QueueBound { capacity, policy });
        }
        _ => return Err(unknown_field(field, "consumer-group", GROUP_KEYS)),
    }
    Ok(())
}

fn gateway_setting(spec: &mut CqrsSpec, field: Tok<'_>, c: &mut Cursor<'_>) -> Res<()> {
    let slot = match field.text {
        "place-order" => &mut spec.place_order_per_s,
        "pay" => &mut spec.pay_per_s,
        "register" => &mut spec.register_per_s,
        "queries" => &mut spec.query_per_s,
        "keys" => {
            spec.keys = key_space(c)?;
            return Ok(());
        }
        _ => return Err(unknown_field(field, "gateway", GATEWAY_KEYS)),
    };
    *slot = rate(c.next("a rate")?)?;
    Ok(())
}

fn handler_setting(spec: &mut CqrsSpec, field: Tok<'_>, c: &mut Cursor<'_>) -> Res<()> {
    match field.text {
        "concurrency" => {
            let t = c.next("a concurrency")?;
            spec.concurrency = count_u32(t, "a concurrency", "commands handled at once, ≥ 1")?;
        }
        "service" => spec.service = service(c)?,
        "attempts" => {
            let t = c.next("an attempt count")?;
            spec.max_attempts =
                count_u32(t, "an attempt count", "attempts per command on conflicts")?;
        }
        "queue" => {
            let t = c.next("a queue bound")?;
            spec.queue_capacity = count_u32(
                t,
                "a queue bound",
                "commands waiting at most; more are shed",
            )?;
        }
        _ => return Err(unknown_field(field, "command-handler", HANDLER_KEYS)),
    }
    Ok(())
}

const REACTION_HINT: &str = "reactions read `Id.on = EVENT -> EVENT [P%]`, e.g. `Saga.on = OrderPlaced -> ReserveStock` or `Payments.on = ChargePayment -> PaymentFailed 8%`";

/// `Id.on = ON -> EMIT [P%]`: the group publishes EMIT when it applies ON.
fn reaction_line(s: &mut Scenario, names: &Names, target: Tok<'_>, c: &mut Cursor<'_>) -> Res<()> {
    names.component(target)?;
    names.group(target)?;
    let on = c.next("an event type")?;
    names.topic(on)?;
    c.expect("->", REACTION_HINT)?;
    let emit = c.next("an event type")?;
    let probability = match c.peek() {
        None => 1.0,
        Some(t) => {
            c.at += 1;
            match t.text.strip_suffix('%') {
                Some(p) => number(t, p, "a percentage", REACTION_HINT)? / 100.0,
                None => {
                    let p = number(t, t.text, "a probability", REACTION_HINT)?;
                    if p > 1.0 {
                        return Err(bad(t, "a probability is at most 1", REACTION_HINT));
                    }
                    p
                }
            }
        }
    };
    c.done(REACTION_HINT)?;
    let comp = target.text;
    let bus = if let Some(i) = s
        .sources
        .iter()
        .position(|x| x.component == comp && x.event_type == emit.text)
    {
        // The edge becomes a reaction: no longer an independent source.
        s.sources.remove(i).bus
    } else if let Some(r) = s
        .reactions
        .iter()
        .find(|r| r.component == comp && r.emit == emit.text)
    {
        r.bus.clone()
    } else {
        let mut types: Vec<String> = s
            .sources
            .iter()
            .filter(|x| x.component == comp)
            .map(|x| x.event_type.clone())
            .collect();
        types.extend(
            s.reactions
                .iter()
                .filter(|r| r.component == comp)
                .map(|r| r.emit.clone()),
        );
        return Err(if types.is_empty() {
            bad(
                emit,
                &format!("`{comp}` publishes nothing to a bus"),
                "draw an edge from it to a bus, labelled with the event type",
            )
        } else {
            let near = near_names(emit.text, types.iter().map(String::as_str));
            let hint = match near.first() {
                Some(n) => format!("did you mean `{n}`?"),
                None => format!("it publishes {}", list(types.iter())),
            };
            Diagnostic::db(
                emit.span,
                format!("`{comp}` has no edge publishing `{}` to a bus", emit.text),
            )
            .with_hint(hint)
        });
    };
    s.reactions.push(ReactionSpec {
        component: comp.to_string(),
        on: on.text.to_string(),
        emit: emit.text.to_string(),
        bus,
        probability,
    });
    Ok(())
}

const REGISTRY_KEYS: &str = "compat, lookup, change";

fn registry_setting(
    s: &mut Scenario,
    names: &Names,
    field: Tok<'_>,
    c: &mut Cursor<'_>,
) -> Res<()> {
    let Some(reg) = &mut s.registry else {
        return Err(bad(field, "the diagram has no schema registry", ""));
    };
    match field.text {
        "compat" => {
            let t = c.next("a compatibility mode")?;
            reg.compat = Compatibility::from_word(t.text).ok_or_else(|| {
                bad(
                    t,
                    &format!("unknown compatibility `{}`", t.text),
                    "backward, forward, full or none",
                )
            })?;
        }
        "lookup" => {
            let t = c.next("a duration")?;
            let us = duration(t)?;
            if us > super::registry::MAX_LOOKUP_US {
                return Err(bad(t, "a lookup over one hour", DURATION_HINT));
            }
            reg.lookup_us = us;
        }
        "change" => {
            let ty = c.next("an event type")?;
            names.topic(ty)?;
            let t = c.next("a schema change")?;
            let change = SchemaChange::from_word(t.text).ok_or_else(|| {
                bad(
                    t,
                    &format!("unknown schema change `{}`", t.text),
                    "add-optional, add-required, remove-required or breaking",
                )
            })?;
            reg.changes.insert(ty.text.to_string(), change);
        }
        _ => return Err(unknown_field(field, "schema registry", REGISTRY_KEYS)),
    }
    c.done("one setting per line")
}

const FAULT_KINDS: &str = "crash, restart, slow, fail, poison, cure, poison-next, add-instance, remove-instance, replay-dlq, reset, add-group";

/// `GROUP` or `GROUP#N`.
fn group_instance(names: &Names, c: &mut Cursor<'_>) -> Res<(String, u32)> {
    let t = c.next("a consumer group")?;
    let (name, inst) = match t.text.split_once('#') {
        Some((n, i)) => {
            let itok = Tok {
                text: i,
                span: Span::new(t.span.start + n.len() + 1, t.span.end),
            };
            (
                n,
                count_u32(itok, "an instance number", "GROUP#N, N from 0")?,
            )
        }
        None => (t.text, 0),
    };
    names.group(Tok {
        text: name,
        span: Span::new(t.span.start, t.span.start + name.len()),
    })?;
    Ok((name.to_string(), inst))
}

fn when(c: &mut Cursor<'_>, hint: &str) -> Res<VirtualTime> {
    let t = c.next("`at TIME`")?;
    if !(t.text == "at" || t.text == "from") {
        return Err(bad(
            t,
            &format!("expected `at` or `from`, found `{}`", t.text),
            hint,
        ));
    }
    Ok(VirtualTime::from_us(duration(c.next("a time")?)?))
}

fn until(c: &mut Cursor<'_>, from: VirtualTime) -> Res<Option<VirtualTime>> {
    if !c.eat("until") {
        return Ok(None);
    }
    let t = c.next("a time")?;
    let end = VirtualTime::from_us(duration(t)?);
    if end < from {
        return Err(bad(
            t,
            "`until` is before the start",
            "until TIME ≥ the start",
        ));
    }
    Ok(Some(end))
}

fn fault_line(s: &mut Scenario, names: &Names, c: &mut Cursor<'_>) -> Res<()> {
    let kind = c.next("a fault kind")?;
    let mut push = |at: VirtualTime, fault: Fault| s.faults.push(ScheduledFault { at, fault });
    let hint = fault_hint(kind.text);
    match kind.text {
        "crash" | "restart"
            if c.peek().is_some_and(|t| {
                let name = t.text.strip_suffix("#0").unwrap_or(t.text);
                s.registry.as_ref().is_some_and(|r| r.component == name)
            }) =>
        {
            let t = c.next("the registry")?;
            let group = t.text.strip_suffix("#0").unwrap_or(t.text).to_string();
            let at = when(c, hint)?;
            if kind.text == "restart" {
                push(at, Fault::Restart { group, instance: 0 });
            } else {
                let duration_us = if c.eat("for") {
                    Some(duration(c.next("a duration")?)?)
                } else {
                    None
                };
                push(
                    at,
                    Fault::Crash {
                        group,
                        instance: 0,
                        duration_us,
                    },
                );
            }
        }
        "crash" => {
            let (group, instance) = group_instance(names, c)?;
            let at = when(c, hint)?;
            let duration_us = if c.eat("for") {
                Some(duration(c.next("a duration")?)?)
            } else {
                None
            };
            push(
                at,
                Fault::Crash {
                    group,
                    instance,
                    duration_us,
                },
            );
        }
        "restart" => {
            let (group, instance) = group_instance(names, c)?;
            push(when(c, hint)?, Fault::Restart { group, instance });
        }
        "slow" => {
            let t = c.next("a component")?;
            if !names.groups.contains(t.text) {
                names.component(t)?;
            }
            let f = factor(c.next("a factor")?)?;
            let at = when(c, hint)?;
            let end = until(c, at)?;
            let component = t.text.to_string();
            push(
                at,
                Fault::Slow {
                    component: component.clone(),
                    factor: f,
                },
            );
            if let Some(end) = end {
                push(
                    end,
                    Fault::Slow {
                        component,
                        factor: 1.0,
                    },
                );
            }
        }
        "fail" => {
            let component = match c.peek() {
                Some(t) if !t.text.ends_with('%') => {
                    c.at += 1;
                    if !names.groups.contains(t.text) {
                        names.component(t)?;
                    }
                    Some(t.text.to_string())
                }
                _ => None,
            };
            let t = c.next("a percentage")?;
            let p = t
                .text
                .strip_suffix('%')
                .ok_or_else(|| bad(t, &format!("`{}` is not a percentage", t.text), hint))?;
            let percent = number(t, p, "a percentage", hint)?;
            if !(0.0..=100.0).contains(&percent) {
                return Err(bad(t, &format!("`{}` is not 0%..100%", t.text), hint));
            }
            let at = when(c, hint)?;
            let end = until(c, at)?;
            let fault = |percent: f64| match &component {
                Some(component) => Fault::FailGroup {
                    component: component.clone(),
                    percent,
                },
                None => Fault::FailDeliveries { percent },
            };
            push(at, fault(percent));
            if let Some(end) = end {
                push(end, fault(0.0));
            }
        }
        "poison" => {
            let t = c.next("a topic")?;
            names.topic(t)?;
            let at = when(c, hint)?;
            let end = until(c, at)?;
            let topic = t.text.to_string();
            push(
                at,
                Fault::PoisonType {
                    topic: topic.clone(),
                },
            );
            if let Some(end) = end {
                push(end, Fault::CurePoisonType { topic });
            }
        }
        "cure" => {
            let t = c.next("a topic")?;
            names.topic(t)?;
            push(
                when(c, hint)?,
                Fault::CurePoisonType {
                    topic: t.text.to_string(),
                },
            );
        }
        "poison-next" => {
            let topic = match c.peek() {
                Some(t) if t.text != "at" && t.text != "from" => {
                    c.at += 1;
                    names.topic(t)?;
                    Some(t.text.to_string())
                }
                _ => None,
            };
            push(when(c, hint)?, Fault::PoisonNext { topic });
        }
        "add-instance" | "remove-instance" | "replay-dlq" => {
            let t = c.next("a consumer group")?;
            names.group(t)?;
            let group = t.text.to_string();
            let at = when(c, hint)?;
            push(
                at,
                match kind.text {
                    "add-instance" => Fault::AddInstance { group },
                    "remove-instance" => Fault::RemoveInstance { group },
                    _ => Fault::ReplayDlq { group },
                },
            );
        }
        "reset" => {
            let t = c.next("a consumer group")?;
            names.group(t)?;
            let group = t.text.to_string();
            c.expect("to", hint)?;
            let fault = if c.eat("offset") {
                let offset = count(c.next("an offset")?, "an offset", hint)?;
                Fault::ResetToOffset { group, offset }
            } else {
                let at = VirtualTime::from_us(duration(c.next("a time")?)?);
                Fault::ResetToTime { group, at }
            };
            push(when(c, hint)?, fault);
        }
        "add-group" => {
            let t = c.next("a new group's name")?;
            if names.components.iter().any(|n| n == t.text) {
                return Err(bad(
                    t,
                    &format!("`{}` is already a component", t.text),
                    "pick a new name",
                ));
            }
            c.expect("reading", hint)?;
            let mut topics = Vec::new();
            loop {
                let tt = c.next("a topic")?;
                names.topic(tt)?;
                topics.push(tt.text.to_string());
                if !c.eat(",") {
                    break;
                }
            }
            let at = when(c, hint)?;
            push(
                at,
                Fault::AddGroup {
                    name: t.text.to_string(),
                    topics,
                    params: s.default_group,
                },
            );
        }
        _ => {
            let known: Vec<&str> = FAULT_KINDS.split(", ").collect();
            let near = near_names(kind.text, known.iter().copied());
            let h = match near.first() {
                Some(n) => format!("did you mean `{n}`? (faults: {FAULT_KINDS})"),
                None => format!("faults: {FAULT_KINDS}"),
            };
            return Err(
                Diagnostic::parse(kind.span, format!("unknown fault `{}`", kind.text)).with_hint(h),
            );
        }
    }
    c.done(hint)
}

fn fault_hint(kind: &str) -> &'static str {
    match kind {
        "crash" => "fault crash GROUP[#N] at TIME [for DURATION]",
        "restart" => "fault restart GROUP[#N] at TIME",
        "slow" => "fault slow COMPONENT 10x from TIME [until TIME]",
        "fail" => "fault fail [COMPONENT] 5% from TIME [until TIME]",
        "poison" => "fault poison TOPIC from TIME [until TIME]",
        "cure" => "fault cure TOPIC at TIME",
        "poison-next" => "fault poison-next [TOPIC] at TIME",
        "add-instance" => "fault add-instance GROUP at TIME",
        "remove-instance" => "fault remove-instance GROUP at TIME",
        "replay-dlq" => "fault replay-dlq GROUP at TIME",
        "reset" => "fault reset GROUP to offset N at TIME (or: to TIME at TIME)",
        "add-group" => "fault add-group NAME reading TOPIC[, TOPIC…] at TIME",
        _ => "",
    }
}

// ----- printing -----------------------------------------------------------

/// A duration in whole µs, in the largest unit that keeps it exact.
fn fmt_us(us: u64) -> String {
    const UNITS: [(u64, &str); 5] = [
        (3_600_000_000, "h"),
        (60_000_000, "m"),
        (1_000_000, "s"),
        (1_000, "ms"),
        (1, "us"),
    ];
    if us == 0 {
        return "0s".into();
    }
    for (scale, unit) in UNITS {
        if us.is_multiple_of(scale) {
            return format!("{}{unit}", us / scale);
        }
    }
    format!("{us}us")
}

/// A fractional duration: whole µs as [`fmt_us`], else µs as written by Rust
/// (the shortest text that reads back to the same `f64`).
fn fmt_us_f(us: f64) -> String {
    if us.fract() == 0.0 && (0.0..1e15).contains(&us) {
        fmt_us(us as u64)
    } else {
        format!("{us}us")
    }
}

fn fmt_rate(r: f64) -> String {
    format!("{r}/s")
}

fn fmt_service(s: &ServiceTime) -> String {
    match *s {
        ServiceTime::Constant { us } => format!("const {}", fmt_us(us)),
        ServiceTime::Exponential { mean_us } => format!("exp {}", fmt_us_f(mean_us)),
        ServiceTime::LogNormal { p50_us, p99_us } => {
            format!(
                "lognormal p50 {} p99 {}",
                fmt_us_f(p50_us),
                fmt_us_f(p99_us)
            )
        }
    }
}

fn fmt_keys(k: &KeySpace) -> String {
    match k.dist {
        KeyDist::Uniform => format!("{} uniform", k.count),
        KeyDist::Zipf { exponent } => format!("{} zipf {exponent}", k.count),
    }
}

fn fmt_probability(p: f64) -> String {
    let pct = p * 100.0;
    if pct / 100.0 == p {
        format!("{pct}%")
    } else {
        format!("{p}")
    }
}

/// `commit_source`: where the group's commit setting came from; the
/// diagram's is written even when it is the default (a live run keeps it),
/// a live run's default never is.
fn group_lines(
    out: &mut Vec<String>,
    target: &str,
    g: &GroupParams,
    base: &GroupParams,
    commit_source: CommitSource,
) {
    let mut line = |field: &str, value: String| out.push(format!("{target}.{field} = {value}"));
    if g.instances != base.instances {
        line("instances", g.instances.to_string());
    }
    if g.service != base.service {
        line("service", fmt_service(&g.service));
    }
    if g.concurrency != base.concurrency {
        line("concurrency", g.concurrency.to_string());
    }
    if g.failure_probability != base.failure_probability {
        line("fail", fmt_probability(g.failure_probability));
    }
    if g.retry.max_attempts != base.retry.max_attempts {
        line("attempts", g.retry.max_attempts.to_string());
    }
    if g.retry.backoff != base.retry.backoff {
        let v = match g.retry.backoff {
            Backoff::Constant { delay_us } => fmt_us(delay_us),
            Backoff::Exponential {
                initial_us,
                factor,
                max_us,
            } => format!("{} x{factor} max {}", fmt_us(initial_us), fmt_us(max_us)),
        };
        line("backoff", v);
    }
    if g.idempotent != base.idempotent {
        line("idempotent", if g.idempotent { "on" } else { "off" }.into());
    }
    let commit_differs =
        (g.commit_every, g.commit_interval_us) != (base.commit_every, base.commit_interval_us);
    let commit = match commit_source {
        CommitSource::Diagram => true,
        CommitSource::LiveDefault => false,
        CommitSource::Default => commit_differs,
    };
    if commit {
        let v = match g.commit_interval_us {
            0 => g.commit_every.to_string(),
            us => fmt_us(us),
        };
        line("commit-every", v);
    }
    if g.assignor != base.assignor {
        let a = match g.assignor {
            Assignor::Range => "range",
            Assignor::RoundRobin => "round-robin",
        };
        line("assignor", a.into());
    }
    if g.queue != base.queue {
        let v = match g.queue {
            None => "unbounded".into(),
            Some(q) => format!(
                "{} {}",
                q.capacity,
                match q.policy {
                    Backpressure::Shed => "shed",
                    Backpressure::Throttle => "throttle",
                }
            ),
        };
        line("queue", v);
    }
}

fn fault_text(f: &ScheduledFault) -> String {
    let at = fmt_us(f.at.as_us());
    match &f.fault {
        Fault::Crash {
            group,
            instance,
            duration_us,
        } => {
            let mut t = format!("crash {group}");
            if *instance != 0 {
                let _ = write!(t, "#{instance}");
            }
            let _ = write!(t, " at {at}");
            if let Some(d) = duration_us {
                let _ = write!(t, " for {}", fmt_us(*d));
            }
            t
        }
        Fault::Restart { group, instance } => format!("restart {group}#{instance} at {at}"),
        Fault::Slow { component, factor } => format!("slow {component} {factor}x from {at}"),
        Fault::FailDeliveries { percent } => format!("fail {percent}% from {at}"),
        Fault::FailGroup { component, percent } => {
            format!("fail {component} {percent}% from {at}")
        }
        Fault::PoisonNext { topic: Some(t) } => format!("poison-next {t} at {at}"),
        Fault::PoisonNext { topic: None } => format!("poison-next at {at}"),
        Fault::PoisonType { topic } => format!("poison {topic} from {at}"),
        Fault::CurePoisonType { topic } => format!("cure {topic} at {at}"),
        Fault::AddInstance { group } => format!("add-instance {group} at {at}"),
        Fault::RemoveInstance { group } => format!("remove-instance {group} at {at}"),
        Fault::ReplayDlq { group } => format!("replay-dlq {group} at {at}"),
        Fault::ResetToOffset { group, offset } => {
            format!("reset {group} to offset {offset} at {at}")
        }
        Fault::ResetToTime { group, at: to } => {
            format!("reset {group} to {} at {at}", fmt_us(to.as_us()))
        }
        Fault::AddGroup { name, topics, .. } => {
            format!("add-group {name} reading {} at {at}", topics.join(", "))
        }
    }
}

impl Scenario {
    /// This scenario as `%% eda:scenario` lines: what differs from
    /// [`Scenario::default_for`] the graph, so
    /// `Scenario::from_lines(graph, lines)` gives it back. Not expressible
    /// (and left out): sources or groups the diagram does not imply, a
    /// command path on other components than the diagram's, limits other
    /// than the bus capacity, and the settings of a group added by a
    /// fault (it takes the `*.` settings).
    pub fn to_lines(&self, graph: &ArchGraph) -> Vec<String> {
        let base = Scenario::default_for(graph);
        let mut out: Vec<String> = Vec::new();
        if self.partitions != base.partitions {
            out.push(format!("partitions = {}", self.partitions));
        }
        // Written even when it is the default: the diagram chose it, and a
        // live run keeps a chosen retention (see `RetentionSource`).
        if self.retention != base.retention || self.retention_source == RetentionSource::Diagram {
            out.push(format!("retention = {}", self.retention));
        }
        if self.sample_interval_us != base.sample_interval_us {
            out.push(format!("sample = {}", fmt_us(self.sample_interval_us)));
        }
        if self.limits.max_queued_records != base.limits.max_queued_records {
            out.push(format!("bus-capacity = {}", self.limits.max_queued_records));
        }
        match (&self.cqrs, &base.cqrs) {
            (None, Some(_)) => out.push("cqrs = off".into()),
            (Some(c), Some(b)) if c.gateway == b.gateway && c.handler == b.handler => {
                let gw = &c.gateway;
                for (field, v, bv) in [
                    ("place-order", c.place_order_per_s, b.place_order_per_s),
                    ("pay", c.pay_per_s, b.pay_per_s),
                    ("register", c.register_per_s, b.register_per_s),
                    ("queries", c.query_per_s, b.query_per_s),
                ] {
                    if v != bv {
                        out.push(format!("{gw}.{field} = {}", fmt_rate(v)));
                    }
                }
                if c.keys != b.keys {
                    out.push(format!("{gw}.keys = {}", fmt_keys(&c.keys)));
                }
                let h = &c.handler;
                if c.concurrency != b.concurrency {
                    out.push(format!("{h}.concurrency = {}", c.concurrency));
                }
                if c.service != b.service {
                    out.push(format!("{h}.service = {}", fmt_service(&c.service)));
                }
                if c.max_attempts != b.max_attempts {
                    out.push(format!("{h}.attempts = {}", c.max_attempts));
                }
                if c.queue_capacity != b.queue_capacity {
                    out.push(format!("{h}.queue = {}", c.queue_capacity));
                }
            }
            _ => {}
        }
        for src in &self.sources {
            let Some(b) = base.sources.iter().find(|b| {
                b.component == src.component && b.bus == src.bus && b.event_type == src.event_type
            }) else {
                continue;
            };
            let several = base
                .sources
                .iter()
                .filter(|x| x.component == src.component)
                .count()
                > 1;
            let target = if several {
                format!("{}/{}", src.component, src.event_type)
            } else {
                src.component.clone()
            };
            if src.arrival != b.arrival {
                let v = match src.arrival {
                    Arrival::Poisson { rate_per_s } => format!("{} poisson", fmt_rate(rate_per_s)),
                    Arrival::Constant { rate_per_s } => {
                        format!("{} constant", fmt_rate(rate_per_s))
                    }
                };
                out.push(format!("{target}.rate = {v}"));
            }
            if src.burst != b.burst {
                let v = match src.burst {
                    None => "off".into(),
                    Some(x) => format!(
                        "{} for {} every {}",
                        fmt_rate(x.rate_per_s),
                        fmt_us(x.length_us),
                        fmt_us(x.every_us)
                    ),
                };
                out.push(format!("{target}.burst = {v}"));
            }
            if src.keys != b.keys {
                out.push(format!("{target}.keys = {}", fmt_keys(&src.keys)));
            }
            if src.schema != b.schema {
                let v = match src.schema {
                    Schema::Order => "order",
                    Schema::User => "user",
                    Schema::Payment => "payment",
                    Schema::Generic => "generic",
                };
                out.push(format!("{target}.schema = {v}"));
            }
        }
        let star = self.commit_sources.get("*").copied().unwrap_or_default();
        group_lines(
            &mut out,
            "*",
            &self.default_group,
            &base.default_group,
            star,
        );
        for (name, g) in &self.groups {
            if base.groups.contains_key(name) {
                // A group takes `*`'s commit setting unless it has its own.
                let own = self.commit_sources.get(name.as_str()).copied();
                let source = own.unwrap_or(CommitSource::Default);
                group_lines(&mut out, name, g, &self.default_group, source);
            }
        }
        for (store, every) in &self.snapshot_every {
            if base.snapshot_every.get(store) != Some(every) {
                out.push(format!("{store}.snapshot-every = {every}"));
            }
        }
        for r in &self.reactions {
            let p = if r.probability == 1.0 {
                String::new()
            } else {
                format!(" {}", fmt_probability(r.probability))
            };
            out.push(format!("{}.on = {} -> {}{p}", r.component, r.on, r.emit));
        }
        if let (Some(r), Some(b)) = (&self.registry, &base.registry)
            && r.component == b.component
        {
            let id = &r.component;
            if r.compat != b.compat {
                out.push(format!("{id}.compat = {}", r.compat.word()));
            }
            if r.lookup_us != b.lookup_us {
                out.push(format!("{id}.lookup = {}", fmt_us(r.lookup_us)));
            }
            for (ty, change) in &r.changes {
                if b.changes.get(ty) != Some(change) {
                    out.push(format!("{id}.change = {ty} {}", change.word()));
                }
            }
        }
        for f in &self.faults {
            out.push(format!("fault {}", fault_text(f)));
        }
        out.into_iter()
            .map(|l| format!("%% {SCENARIO_TAG} {l}"))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::Fault;

    fn graph() -> ArchGraph {
        let chart = crate::mermaid::parse_flowchart(crate::SEED_DIAGRAM).expect("seed parses");
        ArchGraph::from_flowchart(&chart)
    }

    fn with_lines(lines: &str) -> String {
        format!("{}\n{lines}", crate::SEED_DIAGRAM.trim_end())
    }

    fn load(src: &str) -> Result<Scenario, Diagnostic> {
        let doc = crate::mermaid::parse_document(src)?;
        let chart = crate::mermaid::parse_flowchart(src)?;
        scenario_from_document(&ArchGraph::from_flowchart(&chart), &doc)
    }

    fn err(lines: &str) -> String {
        let src = with_lines(lines);
        match load(&src) {
            Ok(s) => panic!("accepted: {s:?}"),
            Err(d) => d.render("x.mmd", &src),
        }
    }

    #[test]
    fn store_snapshot_every_round_trips_and_malformed_values_point_at_them() {
        let g = graph();
        let s = load(&with_lines("%% eda:scenario ES.snapshot-every = 100\n")).expect("loads");
        assert_eq!(s.snapshot_every.get("ES"), Some(&100));
        assert_eq!(s.to_lines(&g), ["%% eda:scenario ES.snapshot-every = 100"]);
        let again = load(&with_lines(&s.to_lines(&g).join("\n"))).expect("reloads");
        assert_eq!(again, s);
        let off = load(&with_lines("%% eda:scenario ES.snapshot-every = 0\n")).expect("loads");
        assert!(off.snapshot_every.is_empty());
        // Errors point at the file's line and the word.
        let line = crate::SEED_DIAGRAM.trim_end().lines().count() + 1;
        let text = "%% eda:scenario ES.snapshot-every = often";
        let col = text.find("often").map_or(0, |c| c + 1);
        let e = err(&format!("{text}\n"));
        assert!(e.starts_with(&format!("x.mmd:{line}:{col}: error:")), "{e}");
        assert!(e.contains("`often` is not a version count"), "{e}");
        let e = err("%% eda:scenario Consumer1.snapshot-every = 10\n");
        assert!(e.contains("`Consumer1` is not an event store"), "{e}");
        assert!(e.contains("event stores here: ES"), "{e}");
        let e = err("%% eda:scenario Nope.snapshot-every = 10\n");
        assert!(e.contains("unknown component `Nope`"), "{e}");
        let e = err("%% eda:scenario ES.snapshot-every = 10 20\n");
        assert!(e.contains("one setting per line"), "{e}");
    }

    #[test]
    fn no_lines_is_the_default_scenario() {
        let g = graph();
        let s = load(crate::SEED_DIAGRAM).expect("loads");
        assert_eq!(s, Scenario::default_for(&g));
        assert!(s.to_lines(&g).is_empty());
    }

    #[test]
    fn lines_set_what_they_say() {
        let s = load(&with_lines(
            "%% eda:scenario partitions = 6\n\
             %% eda:scenario Producer1.rate = 250/s constant\n\
             %% eda:scenario Producer1.burst = 2000/s for 200ms every 5s\n\
             %% eda:scenario Producer2.keys = 1_000 zipf 1.2\n\
             %% eda:scenario Consumer1.service = lognormal p50 2ms p99 40ms\n\
             %% eda:scenario Consumer1.queue = 500 throttle\n\
             %% eda:scenario *.idempotent = on\n\
             %% eda:scenario Consumer2.idempotent = off\n\
             %% eda:scenario API.queries = 2/ms\n\
             %% eda:scenario fault crash Consumer1#1 at 10s for 5s\n\
             %% eda:scenario fault slow Elastic 10x from 20s until 40s\n",
        ))
        .expect("loads");
        assert_eq!(s.partitions, 6);
        assert_eq!(
            s.sources[0].arrival,
            Arrival::Constant { rate_per_s: 250.0 }
        );
        assert_eq!(
            s.sources[0].burst,
            Some(Burst {
                rate_per_s: 2000.0,
                length_us: 200_000,
                every_us: 5_000_000
            })
        );
        assert_eq!(s.sources[1].keys.dist, KeyDist::Zipf { exponent: 1.2 });
        assert_eq!(s.sources[1].keys.count, 1000);
        let c1 = s.group_params("Consumer1");
        assert_eq!(
            c1.service,
            ServiceTime::LogNormal {
                p50_us: 2000.0,
                p99_us: 40_000.0
            }
        );
        assert_eq!(c1.queue.map(|q| q.policy), Some(Backpressure::Throttle));
        assert!(c1.idempotent, "the *. line applies before the others");
        assert!(!s.group_params("Consumer2").idempotent);
        assert!(s.group_params("ES").idempotent);
        assert_eq!(s.cqrs.as_ref().map(|c| c.query_per_s), Some(2000.0));
        assert_eq!(s.faults.len(), 3);
        assert_eq!(
            s.faults[0].fault,
            Fault::Crash {
                group: "Consumer1".into(),
                instance: 1,
                duration_us: Some(5_000_000)
            }
        );
        assert_eq!(s.faults[2].at, VirtualTime::from_secs(40));
    }

    #[test]
    fn errors_point_at_the_word_with_a_hint() {
        let e = err("%% eda:scenario Consumr1.instances = 2\n");
        assert!(
            e.starts_with("x.mmd:21:17: error: unknown component `Consumr1`"),
            "{e}"
        );
        assert!(e.contains("did you mean `Consumer1`"), "{e}");
        let e = err("%% eda:scenario Consumer1.service = gaussian 1ms\n");
        assert!(e.contains("x.mmd:21:37:"), "{e}");
        assert!(e.contains("hint: service times read"), "{e}");
        let e = err("%% eda:scenario fault crash Consumer1 at 10 s\n");
        assert!(e.contains("`10` is not a duration"), "{e}");
        let e = err("%% eda:scenario Producer1.rate = 100\n");
        assert!(e.contains("not a rate") && e.contains("100/s"), "{e}");
        let e = err("%% eda:scenario fault poison UserRegisterd from 1s\n");
        assert!(e.contains("did you mean `UserRegistered`"), "{e}");
        let e = err("%% eda:scenario Consumer1.instances 2\n");
        assert!(e.contains("expected `=`"), "{e}");
        let e = err("%% eda:scenario fault explode Consumer1 at 1s\n");
        assert!(e.contains("unknown fault"), "{e}");
        let e = err("%% eda:scenario Producer1.rate = 100/s poisson extra\n");
        assert!(e.contains("unexpected `extra`"), "{e}");
        let e = err("%% eda:scenario InvDB.instances = 2\n");
        assert!(e.contains("nothing to set"), "{e}");
        let e = err("%% eda:scenario fault crash InvDB at 1s\n");
        assert!(e.contains("not a consumer group"), "{e}");
        let e = err("%% eda:scenario partitons = 4\n");
        assert!(e.contains("did you mean `partitions`"), "{e}");
        let e = err("%% eda:scenario\n");
        assert!(e.contains("empty scenario line"), "{e}");
    }

    #[test]
    fn commit_every_reads_a_count_or_a_time_and_prints_what_was_written() {
        let g = graph();
        let seed = crate::SEED_DIAGRAM;
        let plain = load(seed).expect("loads");
        assert_eq!(plain.commit_source("Consumer1"), CommitSource::Default);
        let s = load(&format!(
            "{seed}%% eda:scenario *.commit-every = 5s\n\
             %% eda:scenario Consumer1.commit-every = 1\n\
             %% eda:scenario Consumer2.commit-every = 1.5s\n"
        ))
        .expect("loads");
        let c1 = s.group_params("Consumer1");
        assert_eq!((c1.commit_every, c1.commit_interval_us), (1, 0));
        assert_eq!(s.group_params("Consumer2").commit_interval_us, 1_500_000);
        assert_eq!(s.group_params("Consumer3").commit_interval_us, 5_000_000);
        assert_eq!(s.default_group.commit_interval_us, 5_000_000);
        for name in ["Consumer1", "Consumer3"] {
            assert_eq!(s.commit_source(name), CommitSource::Diagram, "{name}");
        }
        // The explicit every-record commit is printed though it is the
        // headless default: a live run would otherwise replace it.
        let lines = s.to_lines(&g);
        for want in [
            "%% eda:scenario *.commit-every = 5s",
            "%% eda:scenario Consumer1.commit-every = 1",
            "%% eda:scenario Consumer2.commit-every = 1500ms",
        ] {
            assert!(lines.iter().any(|l| l == want), "{want} not in {lines:?}");
        }
        assert!(!lines.iter().any(|l| l.contains("Consumer3")), "{lines:?}");
        let text = replace_scenario_lines(seed, &lines).expect("replaced");
        assert_eq!(load(&text).expect("reloads"), s);
        // A live default is never written.
        let mut live = plain.clone();
        live.default_group.commit_interval_us = 5_000_000;
        for p in live.groups.values_mut() {
            p.commit_interval_us = 5_000_000;
        }
        live.commit_sources
            .insert("*".into(), CommitSource::LiveDefault);
        assert_eq!(live.to_lines(&g), plain.to_lines(&g));
        let e = err("%% eda:scenario Consumer1.commit-every = 0s\n");
        assert!(e.contains("above 0"), "{e}");
        let e = err("%% eda:scenario Consumer1.commit-every = soon\n");
        assert!(e.contains("not a duration"), "{e}");
    }

    #[test]
    fn an_explicit_until_consumed_is_remembered_and_printed_back() {
        let g = graph();
        // Not written: the default, nothing printed.
        let plain = load(crate::SEED_DIAGRAM).expect("loads");
        assert_eq!(plain.retention, Retention::UntilConsumed);
        assert_eq!(plain.retention_source, RetentionSource::Default);
        assert!(plain.to_lines(&g).is_empty(), "{:?}", plain.to_lines(&g));
        // Written, though it is the default: kept through a print.
        let src = with_lines("%% eda:scenario retention = until-consumed\n");
        let s = load(&src).expect("loads");
        assert_eq!(s.retention, Retention::UntilConsumed);
        assert_eq!(s.retention_source, RetentionSource::Diagram);
        assert_ne!(s, plain, "the scenario knows the diagram chose it");
        let lines = s.to_lines(&g);
        assert_eq!(lines, ["%% eda:scenario retention = until-consumed"]);
        let printed = with_lines(&(lines.join("\n") + "\n"));
        assert_eq!(load(&printed).expect("reloads"), s);
        assert_eq!(
            replace_scenario_lines(&src, &lines).expect("parses"),
            src,
            "rewriting the lines leaves the file as it was"
        );
        // A later default scenario line does not forget it.
        let twice = with_lines(
            "%% eda:scenario retention = until-consumed\n%% eda:scenario partitions = 4\n",
        );
        let s = load(&twice).expect("loads");
        assert_eq!(s.retention_source, RetentionSource::Diagram);
        assert_eq!(s.to_lines(&g).len(), 2);
    }

    /// `fmt` (the printer over the parsed file) and Save (the model's
    /// writer, once the diagram changed) both keep an explicit
    /// `until-consumed`, which then still reads as the diagram's.
    #[test]
    fn fmt_and_save_keep_an_explicit_until_consumed() {
        let line = "%% eda:scenario retention = until-consumed";
        let src = with_lines(&format!("{line}\n"));
        let doc = crate::mermaid::parse_document(&src).expect("parses");
        let formatted = crate::mermaid::print_document_with_source(&doc, &src);
        let opened = crate::model::file::open(&src).expect("opens");
        let none = std::collections::BTreeMap::new();
        let saved = crate::model::write::to_mermaid(&opened.graph, &none, None);
        for (what, text) in [("fmt", formatted), ("save", saved)] {
            assert!(text.contains(line), "{what}: {text}");
            let s = load(&text).expect(what);
            assert_eq!(
                (s.retention, s.retention_source),
                (Retention::UntilConsumed, RetentionSource::Diagram),
                "{what}"
            );
        }
    }

    #[test]
    fn kafka_retentions_round_trip_and_malformed_ones_point_at_the_word() {
        let g = graph();
        for (line, want) in [
            (
                "retention = keep-latest 100_000",
                Retention::KeepLatest { records: 100_000 },
            ),
            ("retention = time 10m", Retention::Time { us: 600_000_000 }),
            ("retention = time 1.5s", Retention::Time { us: 1_500_000 }),
            ("retention = keep-all", Retention::KeepAll),
        ] {
            let s = load(&with_lines(&format!("%% eda:scenario {line}\n"))).expect(line);
            assert_eq!(s.retention, want, "{line}");
            let printed = s.to_lines(&g);
            let again = load(&with_lines(&printed.join("\n"))).expect("reloads");
            assert_eq!(again, s, "{printed:?}");
        }
        let line = crate::SEED_DIAGRAM.trim_end().lines().count() + 1;
        for (text, word, message) in [
            (
                "%% eda:scenario retention = keep-latest lots",
                "lots",
                "`lots` is not a record count",
            ),
            (
                "%% eda:scenario retention = keep-latest 0",
                "0",
                "keeps at least 1 record",
            ),
            (
                "%% eda:scenario retention = time forever",
                "forever",
                "`forever` is not a duration",
            ),
            ("%% eda:scenario retention = time 0s", "0s", "more than 0"),
            (
                "%% eda:scenario retention = keep-latest 10 records",
                "records",
                "",
            ),
            (
                "%% eda:scenario retention = forever",
                "forever",
                "unknown retention `forever`",
            ),
        ] {
            let col = text.rfind(word).map_or(0, |c| c + 1);
            let e = err(&format!("{text}\n"));
            assert!(e.starts_with(&format!("x.mmd:{line}:{col}: error:")), "{e}");
            assert!(e.contains(message), "{e}");
        }
        // A missing value points past the key's `=`.
        let e = err("%% eda:scenario retention = time\n");
        assert!(e.contains("a duration"), "{e}");
        assert!(e.starts_with(&format!("x.mmd:{line}:")), "{e}");
    }

    #[test]
    fn lines_inside_subgraphs_count() {
        let src = crate::SEED_DIAGRAM.replace(
            "subgraph CQRS\n",
            "subgraph CQRS\n    %% eda:scenario ReadModel.instances = 2\n",
        );
        assert_ne!(src, crate::SEED_DIAGRAM);
        let s = load(&src).expect("loads");
        assert_eq!(s.group_params("ReadModel").instances, 2);
    }

    #[test]
    fn every_setting_prints_back_to_itself() {
        let g = graph();
        let mut s = Scenario::default_for(&g);
        s.partitions = 7;
        // Printed, a retention is the diagram's (it reads back as such).
        s.retention = Retention::KeepAll;
        s.retention_source = RetentionSource::Diagram;
        s.sample_interval_us = 250_000;
        s.limits.max_queued_records = 123_456;
        s.sources[0].arrival = Arrival::Constant { rate_per_s: 33.3 };
        s.sources[0].burst = Some(Burst {
            rate_per_s: 1e3,
            length_us: 1_500,
            every_us: 2_000_000,
        });
        s.sources[1].keys = KeySpace {
            count: 77,
            dist: KeyDist::Zipf { exponent: 0.99 },
        };
        s.sources[2].schema = Schema::Generic;
        s.default_group.service = ServiceTime::Exponential { mean_us: 1234.5 };
        s.default_group.retry.backoff = Backoff::Constant { delay_us: 7 };
        for p in s.groups.values_mut() {
            *p = s.default_group;
        }
        let c = s.groups.get_mut("Consumer3").expect("Consumer3");
        *c = GroupParams {
            instances: 4,
            service: ServiceTime::LogNormal {
                p50_us: 900.0,
                p99_us: 12_345.6,
            },
            assignor: Assignor::RoundRobin,
            failure_probability: 0.07,
            retry: crate::sim::RetryPolicy {
                max_attempts: 9,
                backoff: Backoff::Exponential {
                    initial_us: 3_000,
                    factor: 1.5,
                    max_us: 90_000_000,
                },
            },
            idempotent: true,
            commit_every: 20,
            commit_interval_us: 0,
            concurrency: 3,
            queue: Some(QueueBound {
                capacity: 99,
                policy: Backpressure::Shed,
            }),
        };
        // A commit setting read back is the diagram's.
        s.commit_sources
            .insert("Consumer3".into(), CommitSource::Diagram);
        if let Some(q) = &mut s.cqrs {
            q.pay_per_s = 0.5;
            q.query_per_s = 1e4;
            q.keys.count = 50;
            q.concurrency = 9;
            q.service = ServiceTime::Constant { us: 1 };
            q.max_attempts = 2;
            q.queue_capacity = 17;
        }
        let at = |s: u64| VirtualTime::from_millis(s);
        for (t, f) in [
            (
                1,
                Fault::Crash {
                    group: "ES".into(),
                    instance: 0,
                    duration_us: None,
                },
            ),
            (
                2,
                Fault::Crash {
                    group: "ES".into(),
                    instance: 3,
                    duration_us: Some(1),
                },
            ),
            (
                3,
                Fault::Restart {
                    group: "ES".into(),
                    instance: 0,
                },
            ),
            (
                4,
                Fault::Slow {
                    component: "Elastic".into(),
                    factor: 2.5,
                },
            ),
            (5, Fault::FailDeliveries { percent: 12.5 }),
            (6, Fault::PoisonNext { topic: None }),
            (
                7,
                Fault::PoisonNext {
                    topic: Some("OrderCreated".into()),
                },
            ),
            (
                8,
                Fault::PoisonType {
                    topic: "UserRegistered".into(),
                },
            ),
            (
                9,
                Fault::CurePoisonType {
                    topic: "UserRegistered".into(),
                },
            ),
            (
                10,
                Fault::AddInstance {
                    group: "Consumer1".into(),
                },
            ),
            (
                11,
                Fault::RemoveInstance {
                    group: "Consumer1".into(),
                },
            ),
            (
                12,
                Fault::ResetToOffset {
                    group: "Consumer2".into(),
                    offset: 5,
                },
            ),
            (
                13,
                Fault::ResetToTime {
                    group: "Consumer2".into(),
                    at: at(1),
                },
            ),
            (
                14,
                Fault::AddGroup {
                    name: "Audit".into(),
                    topics: vec!["OrderCreated".into(), "PaymentProcessed".into()],
                    params: s.default_group,
                },
            ),
        ] {
            s.faults.push(ScheduledFault {
                at: at(t),
                fault: f,
            });
        }
        let lines = s.to_lines(&g);
        let src = with_lines(&(lines.join("\n") + "\n"));
        let back = load(&src).unwrap_or_else(|d| panic!("{}", d.render("rt", &src)));
        assert_eq!(back, s, "{}", lines.join("\n"));
        assert!(lines.iter().all(|l| l.starts_with("%% eda:scenario ")));
        // The file stays a valid flowchart and replacing the lines is idempotent.
        let replaced = replace_scenario_lines(&src, &lines).expect("parses");
        assert_eq!(replaced, src);
        let cleared = replace_scenario_lines(&src, &[]).expect("parses");
        assert_eq!(cleared.trim_end(), crate::SEED_DIAGRAM.trim_end());
        let off = Scenario {
            cqrs: None,
            ..Scenario::default_for(&g)
        };
        assert_eq!(off.to_lines(&g), ["%% eda:scenario cqrs = off"]);
    }

    const SAGA: &str = "flowchart LR
    P[Order Service] -->|OrderPlaced| B[[Kafka]]
    B -->|OrderPlaced| S{{Order Saga}}:::saga
    S -->|ReserveStock| B
    B -->|ReserveStock| I[Inventory Worker]:::consumer
    I -->|StockReserved| B
    B -->|StockReserved| S
    S -->|ChargePayment| B
";

    #[test]
    fn reactions_replace_their_sources_and_print_back() {
        let src = format!(
            "{SAGA}%% eda:scenario S.on = OrderPlaced -> ReserveStock\n\
             %% eda:scenario I.on = ReserveStock -> StockReserved 90%\n\
             %% eda:scenario S.on = StockReserved -> ChargePayment\n"
        );
        let s = load(&src).unwrap_or_else(|d| panic!("{}", d.render("saga", &src)));
        let sources: Vec<&str> = s.sources.iter().map(|x| x.event_type.as_str()).collect();
        assert_eq!(sources, ["OrderPlaced"], "reacting edges are not sources");
        assert_eq!(s.reactions.len(), 3);
        assert_eq!(s.reactions[1].probability, 0.9);
        let g = ArchGraph::from_flowchart(&crate::mermaid::parse_flowchart(&src).expect("parses"));
        let lines = s.to_lines(&g);
        let back = load(&format!("{SAGA}{}\n", lines.join("\n"))).expect("loads");
        assert_eq!(back, s, "{lines:?}");
        let bad = format!("{SAGA}%% eda:scenario S.on = OrderPlaced -> Shipped\n");
        let e = load(&bad).expect_err("S does not publish Shipped");
        assert!(e.message.contains("no edge publishing `Shipped`"), "{e:?}");
        let bad = format!("{SAGA}%% eda:scenario P.on = OrderPlaced -> OrderPlaced\n");
        assert!(load(&bad).is_err(), "P reads no bus");
    }

    #[test]
    fn near_names_finds_typos() {
        let names = ["Consumer1", "Consumer2", "ReadModel"];
        assert_eq!(
            near_names("consumer1", names.iter().copied())[0],
            "Consumer1"
        );
        assert!(near_names("Elastic", names.iter().copied()).is_empty());
        assert_eq!(levenshtein("kitten", "sitting"), 3);
    }
}

#[cfg(test)]
mod registry_and_fail_tests {
    use super::*;
    use crate::sim::{Compatibility, SchemaChange};

    const REG: &str = "flowchart LR
    P[Checkout v1]:::producer -->|OrderPlacedV1| K[[Kafka]]
    Q[Checkout v2]:::producer -->|OrderPlacedV2| K
    K -->|OrderPlacedV2| B[Billing]:::consumer
    B --> DB[(Billing DB)]
    P -.-> R[(Schema Registry)]:::schema
    B -.-> R
";

    fn load(src: &str) -> Result<(Scenario, ArchGraph), Diagnostic> {
        let doc = crate::mermaid::parse_document(src)?;
        let chart = crate::mermaid::parse_flowchart(src)?;
        let g = ArchGraph::from_flowchart(&chart);
        Ok((scenario_from_document(&g, &doc)?, g))
    }

    fn err(lines: &str) -> String {
        let src = format!("{REG}{lines}");
        match load(&src) {
            Ok((s, _)) => panic!("accepted: {s:?}"),
            Err(d) => d.render("r.mmd", &src),
        }
    }

    #[test]
    fn registry_settings_and_group_faults_print_back_to_themselves() {
        let lines = "%% eda:scenario R.compat = full
%% eda:scenario R.lookup = 2ms
%% eda:scenario R.change = OrderPlacedV2 add-required
%% eda:scenario fault fail B 20% from 10s until 12s
%% eda:scenario fault fail DB 5% from 1s
%% eda:scenario fault fail 3% from 4s
%% eda:scenario fault crash R at 20s for 3s
%% eda:scenario fault restart R at 30s
";
        let (s, g) = load(&format!("{REG}{lines}")).expect("loads");
        let reg = s.registry.as_ref().expect("a registry");
        assert_eq!(reg.component, "R");
        assert_eq!(reg.compat, Compatibility::Full);
        assert_eq!(reg.lookup_us, 2_000);
        assert_eq!(
            reg.changes.get("OrderPlacedV2"),
            Some(&SchemaChange::AddRequired)
        );
        let faults: Vec<&Fault> = s.faults.iter().map(|f| &f.fault).collect();
        assert_eq!(
            faults[0],
            &Fault::FailGroup {
                component: "B".into(),
                percent: 20.0
            }
        );
        assert_eq!(
            faults[1],
            &Fault::FailGroup {
                component: "B".into(),
                percent: 0.0
            }
        );
        assert_eq!(faults[3], &Fault::FailDeliveries { percent: 3.0 });
        assert_eq!(
            faults[4],
            &Fault::Crash {
                group: "R".into(),
                instance: 0,
                duration_us: Some(3_000_000)
            }
        );
        let printed = s.to_lines(&g);
        let back_src = format!("{REG}{}\n", printed.join("\n"));
        let (back, _) = load(&back_src).expect("printed lines load");
        assert_eq!(back, s, "{}", printed.join("\n"));
        // A diagram without a registry node has none, and prints none.
        let seed = crate::mermaid::parse_flowchart(crate::SEED_DIAGRAM).expect("seed");
        assert!(
            Scenario::default_for(&ArchGraph::from_flowchart(&seed))
                .registry
                .is_none()
        );
    }

    #[test]
    fn malformed_registry_and_fail_lines_point_at_the_word() {
        // The lines start on line 8 of the file.
        let e = err("%% eda:scenario R.compat = sideways\n");
        assert!(
            e.starts_with("r.mmd:8:28: error: unknown compatibility `sideways`"),
            "{e}"
        );
        assert!(e.contains("backward, forward, full or none"), "{e}");
        let e = err("%% eda:scenario R.lookup = 2 ms\n");
        assert!(
            e.contains("r.mmd:8:28:") && e.contains("not a duration"),
            "{e}"
        );
        let e = err("%% eda:scenario R.change = OrderPlacedV3 breaking\n");
        assert!(e.contains("unknown topic"), "{e}");
        let e = err("%% eda:scenario R.change = OrderPlacedV2 shuffled\n");
        assert!(e.contains("unknown schema change `shuffled`"), "{e}");
        let e = err("%% eda:scenario R.compt = full\n");
        assert!(e.contains("did you mean `compat`"), "{e}");
        let e = err("%% eda:scenario fault fail Bling 20% from 1s\n");
        assert!(e.contains("unknown component `Bling`"), "{e}");
        let e = err("%% eda:scenario fault fail B 120% from 1s\n");
        assert!(e.contains("`120%` is not 0%..100%"), "{e}");
        let e = err("%% eda:scenario fault fail B twenty from 1s\n");
        assert!(e.contains("not a percentage"), "{e}");
        let e = err("%% eda:scenario fault crash R at soon\n");
        assert!(e.contains("not a duration"), "{e}");
    }
}
