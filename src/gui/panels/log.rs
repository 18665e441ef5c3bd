//! The event log tab: every event on the bus at the frame's moment, in a
//! virtualised table with filters (type, key, component, time), and the
//! selected event's detail — its fields, every delivery attempt of it, the
//! attempts of DLQ replays at it (listed apart, as replays) and its
//! causation chain.
//!
//! The table never holds the log: it asks the driver for the page of rows
//! it can see ([`LiveCommand::LogQuery`]) and draws the frame's page; rows
//! outside it show as `…` for the frame or two until the page arrives.
//! Selecting an event sends [`LiveCommand::TraceEvent`]; the driver
//! replays the slice of the run that event lived in and the frame carries
//! the result, cut to the moment shown. The canvas draws the event's path
//! from the same trace (`log_overlay.rs`).
//!
//! An event of an invariant violation, clicked in the Invariants tab,
//! arrives through [`LogState::reveal`]: the log is filtered to the
//! event's key and group, the event selected (its detail opens), and the
//! table scrolled to its row — found by a binary search over pages of the
//! filtered log by event id, which is time order — with a line above the
//! table saying which violation it came from.
//!
//! Reads the frame; emits commands. Must not touch the simulation.

use crate::gui::command::Command;
use crate::gui::panels::dock::DockContext;
use crate::gui::theme::Theme;
use crate::live::{
    Command as LiveCommand, EventTraceView, Frame, LogFilter, LogPage, LogRow, MAX_PAGE_ROWS, TAIL,
    TraceState, payload_fields, payload_line,
};
use crate::sim::{
    AttemptOutcome, DeliveryAttempt, EventRef, GroupReplayAttempt, Invariant, ReplayOutcome,
    Retention, TracedEvent,
};
use egui::{Color32, RichText};
use egui_extras::{Column, TableBuilder};

/// Height of a table row.
const ROW_HEIGHT: f32 = 18.0;
/// Rows asked for beyond the visible ones, on each side.
const MARGIN_ROWS: u64 = 60;
/// Most rows the table scrolls over at once; a longer log is reached with
/// the "rows from" slider (a scroll area of millions of rows loses
/// precision in `f32`).
const TABLE_WINDOW: u64 = 100_000;
/// Width of the selected event's detail pane.
const DETAIL_WIDTH: f32 = 420.0;
/// Frames to wait for an answer before asking again.
const RESEND_FRAMES: u64 = 30;

/// The tab's state: filters, scroll window, selection, and what was asked.
#[derive(Debug)]
pub struct LogState {
    /// Type filter (an event type), or any.
    pub event_type: Option<String>,
    /// Key filter as typed.
    pub key_text: String,
    /// Component filter (a Mermaid id), or any.
    pub component: Option<String>,
    /// Time filter as typed, seconds.
    pub from_text: String,
    /// Time filter as typed, seconds.
    pub to_text: String,
    /// Show the newest events, scrolled to the bottom.
    pub follow: bool,
    /// The selected event.
    pub selected: Option<u64>,
    /// Rank of the table's first row when not following.
    window_start: u64,
    /// Ranks (within the window) of the rows drawn last frame.
    visible: Option<(u64, u64)>,
    /// The last query sent, and the frame seq it was sent at.
    sent_query: Option<(LogFilter, u64, u32)>,
    sent_query_seq: u64,
    sent_trace: Option<Option<u64>>,
    sent_trace_seq: u64,
    /// The event being looked for, to scroll to.
    seeking: Option<Seek>,
    /// A row to scroll the table to on the next frame (window rank).
    scroll_to: Option<u64>,
    /// Where the shown event came from (an invariant's violation), said
    /// above the table until the filters change.
    pub came_from: Option<CameFrom>,
}

/// An event of an invariant violation the log was asked to show.
#[derive(Debug, Clone, PartialEq)]
pub struct CameFrom {
    /// The line above the table.
    pub text: String,
    /// The filter set for it (the line goes once the filter changes).
    filter: LogFilter,
    /// Whether the event was found on the bus (`None`: still looking).
    pub found: Option<bool>,
}

/// A binary search for an event's rank among the matching rows: pages
/// asked at `probe` narrow `lo..hi` by comparing event ids (time order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Seek {
    event_id: u64,
    lo: u64,
    hi: u64,
    probe: u64,
}

impl Seek {
    fn new(event_id: u64) -> Seek {
        Seek {
            event_id,
            lo: 0,
            hi: u64::MAX,
            probe: 0,
        }
    }

    /// Reads an answered page at `probe`: the event's rank when the page
    /// holds it, else the next probe, or `Err` when no rank is left.
    fn step(&mut self, page: &LogPage) -> Result<Option<u64>, ()> {
        if let Some(i) = page.rows.iter().position(|r| r.event_id == self.event_id) {
            return Ok(Some(page.first + i as u64));
        }
        self.hi = self.hi.min(page.matching);
        match (page.rows.first(), page.rows.last()) {
            (Some(a), Some(b)) if self.event_id > a.event_id && self.event_id < b.event_id => {
                // Between two rows of the page, yet not in it: not there.
                return Err(());
            }
            (Some(a), _) if self.event_id < a.event_id => self.hi = self.hi.min(page.first),
            (Some(_), _) => self.lo = self.lo.max(page.first + page.rows.len() as u64),
            (None, _) => self.hi = self.hi.min(page.first),
        }
        if self.lo >= self.hi {
            return Err(());
        }
        let half = u64::from(MAX_PAGE_ROWS) / 2;
        self.probe = (self.lo + (self.hi - self.lo) / 2)
            .saturating_sub(half)
            .max(self.lo);
        Ok(None)
    }
}

impl Default for LogState {
    fn default() -> Self {
        LogState {
            event_type: None,
            key_text: String::new(),
            component: None,
            from_text: String::new(),
            to_text: String::new(),
            follow: true,
            selected: None,
            window_start: 0,
            visible: None,
            sent_query: None,
            sent_query_seq: 0,
            sent_trace: None,
            sent_trace_seq: 0,
            seeking: None,
            scroll_to: None,
            came_from: None,
        }
    }
}

/// A typed number of seconds as microseconds.
fn seconds_us(text: &str) -> Result<Option<u64>, ()> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    match t.trim_end_matches('s').trim().parse::<f64>() {
        Ok(s) if s.is_finite() && s >= 0.0 => Ok(Some((s * 1e6).round() as u64)),
        _ => Err(()),
    }
}

impl LogState {
    /// Shows `event`, involved in a violation of `inv`: the log filtered
    /// to its key and group, the event selected and scrolled to. A record
    /// the bus no longer kept when the violation was seen (no key, no
    /// event id) is said so, with the log filtered to the group.
    pub fn reveal(&mut self, inv: Invariant, event: &EventRef) {
        *self = LogState {
            sent_query: self.sent_query.take(),
            sent_query_seq: self.sent_query_seq,
            sent_trace: self.sent_trace.take(),
            sent_trace_seq: self.sent_trace_seq,
            follow: false,
            component: Some(event.group.clone()),
            ..LogState::default()
        };
        let place = format!(
            "{} {}/{}@{}",
            event.group, event.topic, event.partition, event.offset
        );
        let text = match (event.key, event.event_id) {
            (Some(key), Some(id)) => {
                self.key_text = key.to_string();
                self.selected = Some(id);
                self.seeking = Some(Seek::new(id));
                format!(
                    "Violation of \"{}\": event #{id} ({place}, key {key}), \
                     selected below; the log shows key {key} in {}'s topics",
                    inv.title(),
                    event.group
                )
            }
            _ => format!(
                "Violation of \"{}\": {place} was no longer on the bus when the \
                 violation was seen; the log shows {}'s topics",
                inv.title(),
                event.group
            ),
        };
        let found = if self.seeking.is_some() {
            None
        } else {
            Some(false)
        };
        self.came_from = Some(CameFrom {
            text,
            filter: self.filter().0,
            found,
        });
    }

    /// Advances the search for the event to reveal with the frame's page.
    fn seek_step(&mut self, page: Option<&LogPage>) {
        if self.seeking.is_none() {
            return;
        }
        let (filter, _) = self.filter();
        let (Some(seek), Some(page)) = (self.seeking.as_mut(), page) else {
            return;
        };
        if page.query.filter != filter || page.query.first != seek.probe {
            return;
        }
        match seek.step(page) {
            Ok(None) => {}
            Ok(Some(rank)) => {
                self.seeking = None;
                self.follow = false;
                self.window_start = rank.saturating_sub(TABLE_WINDOW / 2);
                let window = page.matching.min(TABLE_WINDOW);
                self.window_start = self.window_start.min(page.matching - window);
                self.scroll_to = Some(rank - self.window_start);
                if let Some(c) = &mut self.came_from {
                    c.found = Some(true);
                }
            }
            Err(()) => {
                self.seeking = None;
                if let Some(c) = &mut self.came_from {
                    c.found = Some(false);
                }
            }
        }
    }

    /// The filter the fields describe, and which fields do not parse.
    fn filter(&self) -> (LogFilter, Vec<&'static str>) {
        let mut bad = Vec::new();
        let key = match self.key_text.trim() {
            "" => None,
            t => t.parse().map_err(|_| bad.push("key")).ok(),
        };
        let from_us = seconds_us(&self.from_text).unwrap_or_else(|()| {
            bad.push("from");
            None
        });
        let to_us = seconds_us(&self.to_text).unwrap_or_else(|()| {
            bad.push("to");
            None
        });
        let filter = LogFilter {
            event_type: self.event_type.clone(),
            key,
            component: self.component.clone(),
            from_us,
            to_us,
        };
        (filter, bad)
    }
}

/// A virtual time with microseconds: `12.000345 s`.
fn time_label(us: u64) -> String {
    format!("{}.{:06} s", us / 1_000_000, us % 1_000_000)
}

/// Draws the tab.
pub fn log_ui(
    ui: &mut egui::Ui,
    state: &mut LogState,
    cx: &DockContext<'_>,
    commands: &mut Vec<Command>,
) {
    let Some(frame) = cx.frame else {
        ui.label("Run the simulation to see its events here.");
        return;
    };
    let page = frame.log.page.as_ref();
    state.seek_step(page);
    let (filter, bad) = state.filter();
    filters_ui(ui, state, frame, page, &bad);
    summary_ui(ui, frame, page, cx.theme);
    came_from_ui(ui, state, &filter, cx.theme);
    ui.separator();

    let matching = page.map_or(0, |p| p.matching);
    let window = matching.min(TABLE_WINDOW);
    if state.follow {
        state.window_start = matching - window;
    } else {
        state.window_start = state.window_start.min(matching - window);
    }
    if matching > TABLE_WINDOW && !state.follow {
        ui.horizontal(|ui| {
            ui.label("Rows from");
            let max = matching - window;
            ui.add(egui::Slider::new(&mut state.window_start, 0..=max));
        });
    }

    let mut clicked: Option<u64> = None;
    let detail_width = if frame.log.trace.is_some() {
        (ui.available_width() * 0.45).min(DETAIL_WIDTH)
    } else {
        0.0
    };
    let table_width = ui.available_width() - detail_width;
    let height = ui.available_height();
    ui.horizontal_top(|ui| {
        let down = egui::Layout::top_down(egui::Align::Min);
        let scroll_to = state.scroll_to.take();
        let table = ui.allocate_ui_with_layout(egui::vec2(table_width, height), down, |ui| {
            state.visible = table_ui(ui, state, page, window, scroll_to, &mut clicked);
        });
        // Scrolling back through the log stops following the newest.
        let scrolled_up = ui.input(|i| {
            i.events
                .iter()
                .any(|e| matches!(e, egui::Event::MouseWheel { delta, .. } if delta.y > 0.0))
        });
        if state.follow && scrolled_up && table.response.contains_pointer() {
            state.follow = false;
        }
        if let Some(trace) = &frame.log.trace {
            ui.separator();
            ui.allocate_ui_with_layout(egui::vec2(detail_width, height), down, |ui| {
                egui::ScrollArea::both()
                    .id_salt("event detail")
                    .auto_shrink([false, false])
                    .show(ui, |ui| detail_ui(ui, frame, trace, cx.theme, &mut clicked));
            });
        }
    });
    if let Some(id) = clicked {
        state.selected = if state.selected == Some(id) {
            None
        } else {
            Some(id)
        };
    }

    send_query(state, frame, filter, commands);
    send_trace(state, frame, commands);
}

fn filters_ui(
    ui: &mut egui::Ui,
    state: &mut LogState,
    frame: &Frame,
    page: Option<&LogPage>,
    bad: &[&str],
) {
    let types = page.map_or(&[][..], |p| p.types.as_slice());
    let components = page.map_or(&[][..], |p| p.components.as_slice());
    ui.horizontal_wrapped(|ui| {
        choice_ui(ui, "Type", &mut state.event_type, types, |t| t.to_string());
        text_field_ui(ui, "Key", &mut state.key_text, "any", 70.0);
        choice_ui(ui, "Component", &mut state.component, components, |key| {
            component_label(frame, key)
        });
        text_field_ui(ui, "From", &mut state.from_text, "s", 50.0);
        text_field_ui(ui, "To", &mut state.to_text, "s", 50.0);
        ui.checkbox(&mut state.follow, "Follow newest");
        if ui.button("Clear filters").clicked() {
            state.event_type = None;
            state.key_text.clear();
            state.component = None;
            state.from_text.clear();
            state.to_text.clear();
        }
        for field in bad {
            ui.colored_label(
                ui.visuals().error_fg_color,
                format!("{field}: not a number"),
            );
        }
    });
}

/// A labelled one-line text field.
fn text_field_ui(ui: &mut egui::Ui, label: &str, text: &mut String, hint: &str, width: f32) {
    let label = ui.label(label);
    ui.add(
        egui::TextEdit::singleline(text)
            .desired_width(width)
            .hint_text(hint),
    )
    .labelled_by(label.id);
}

/// A component as the filter lists it: its label (its Mermaid id when it
/// has none, or is not in the run).
fn component_label(frame: &Frame, key: &str) -> String {
    frame
        .component(key)
        .map(|c| c.label.trim())
        .filter(|l| !l.is_empty())
        .map_or_else(|| key.to_string(), str::to_string)
}

/// A combo box of `options` (shown as `show` says, with the option itself
/// on hover when that differs) with "any" first.
fn choice_ui(
    ui: &mut egui::Ui,
    label: &str,
    value: &mut Option<String>,
    options: &[String],
    show: impl Fn(&str) -> String,
) {
    let shown = value.as_deref().map_or_else(|| "any".to_string(), &show);
    let response = egui::ComboBox::from_label(label)
        .selected_text(shown)
        .width(130.0)
        .show_ui(ui, |ui| {
            ui.selectable_value(value, None, "any");
            for o in options {
                let text = show(o);
                let item = ui.selectable_value(value, Some(o.clone()), &text);
                if text != *o {
                    item.on_hover_text(format!("id {o}"));
                }
            }
        })
        .response;
    if let Some(v) = value.as_deref()
        && show(v) != v
    {
        response.on_hover_text(format!("id {v}"));
    }
}

/// The line saying which violation the shown event came from, with a way
/// back to the whole log; gone once the filters change.
fn came_from_ui(ui: &mut egui::Ui, state: &mut LogState, filter: &LogFilter, theme: &Theme) {
    let Some(came) = &state.came_from else {
        return;
    };
    if came.filter != *filter {
        state.came_from = None;
        return;
    }
    let mut clear = false;
    egui::Frame::new()
        .fill(theme.error_line_bg)
        .stroke(egui::Stroke::new(1.0, theme.error))
        .inner_margin(4.0)
        .corner_radius(3.0)
        .show(ui, |ui| {
            ui.horizontal_wrapped(|ui| {
                ui.colored_label(theme.error, &came.text);
                match came.found {
                    None => {
                        ui.weak("(looking for it…)");
                    }
                    Some(false) => {
                        ui.colored_label(
                            theme.warning,
                            "not on the bus at this moment (dropped by the retention, \
                             or not published yet)",
                        );
                    }
                    Some(true) => {}
                }
                clear = ui.button("Show all events").clicked();
            });
        });
    if clear {
        state.came_from = None;
        state.key_text.clear();
        state.component = None;
        state.follow = true;
    }
}

fn summary_ui(ui: &mut egui::Ui, frame: &Frame, page: Option<&LogPage>, theme: &Theme) {
    let Some(p) = page else {
        ui.label("Loading the log…");
        return;
    };
    ui.horizontal_wrapped(|ui| {
        ui.label(format!(
            "{} matching · {} on the bus · {} published by {}",
            p.matching,
            p.retained,
            p.total,
            time_label(frame.now_us)
        ));
        if frame.viewing_past {
            ui.colored_label(theme.warning, "(a past moment)");
        }
        if p.retained < p.total {
            let dropped = p.total - p.retained;
            ui.colored_label(
                theme.ink_weak,
                dropped_text(dropped, p.retention, frame.timeline.log_missing_until_us),
            );
        }
    });
}

/// What the summary says of the `dropped` events published but not in the
/// log: at a moment re-run from an archived image (`missing_until_us`)
/// the image, not the retention, is why older ones are missing.
fn dropped_text(dropped: u64, retention: Retention, missing_until_us: Option<u64>) -> String {
    match missing_until_us {
        Some(until) => format!(
            "{dropped} older events are not shown: this moment was re-run from an archived \
             image, which keeps only the records some group had still to read (events \
             before {} in part)",
            time_label(until)
        ),
        None => format!("{dropped} older events {}", dropped_why(retention)),
    }
}

/// Why events published are no longer on the bus, by retention.
pub fn dropped_why(retention: Retention) -> String {
    match retention {
        Retention::KeepAll => "were refused or never kept (the bus was full)".into(),
        Retention::UntilConsumed => "were dropped once every group had committed them \
             (retention until-consumed; `%% eda:scenario retention = keep-latest N` keeps \
             the latest N of each partition)"
            .into(),
        Retention::KeepLatest { records } => format!(
            "were dropped: the bus keeps the latest {records} records of each partition \
             (retention {retention}), read or not"
        ),
        Retention::Time { .. } => format!(
            "were dropped: the bus keeps records younger than {} (retention {retention}), \
             read or not",
            retention.to_string().trim_start_matches("time ")
        ),
    }
}

/// The virtualised table; returns the window ranks of the rows drawn.
fn table_ui(
    ui: &mut egui::Ui,
    state: &LogState,
    page: Option<&LogPage>,
    window: u64,
    scroll_to: Option<u64>,
    clicked: &mut Option<u64>,
) -> Option<(u64, u64)> {
    let mut seen: Option<(u64, u64)> = None;
    let row_spacing = ui.spacing().item_spacing.y;
    let body_height = ui.available_height();
    // Each column at least as wide as what it shows now (up to a cap, so
    // the payload keeps room); wider by dragging.
    let mut widths = content_widths(ui, page);
    // Narrower than that (the event's detail beside it): shrink them all
    // alike, so the table keeps to its side and the payload keeps 60 points.
    let spacing = ui.spacing().item_spacing.x * (COLUMNS.len() + 1) as f32;
    let room = (ui.available_width() - spacing - 60.0).max(0.0);
    let wanted: f32 = widths.iter().sum();
    let squeezed = wanted > room;
    if squeezed {
        let k = room / wanted;
        for w in &mut widths {
            *w = (*w * k).max(16.0);
        }
    }
    let mut table = TableBuilder::new(ui)
        .id_salt("event log")
        .striped(true)
        .resizable(true)
        .auto_shrink([false, false])
        .sense(egui::Sense::click());
    for w in widths {
        // Squeezed, a column is held at its share (a width dragged wider
        // earlier would push the detail off the dock).
        let max = if squeezed { w } else { f32::INFINITY };
        table = table.column(Column::auto().at_least(w).at_most(max).clip(true));
    }
    table = table.column(Column::remainder().at_least(60.0).clip(true));
    if state.follow {
        // Pinned to the newest row: an explicit offset (the scroll area
        // clamps it to the bottom), not an animated scroll that would need
        // frames a paused run does not ask for.
        let row = ROW_HEIGHT + row_spacing;
        let body = (body_height - ROW_HEIGHT - 2.0 - 2.0 * row_spacing).max(row);
        table = table
            .animate_scrolling(false)
            .vertical_scroll_offset((window as f32 * row - body).max(0.0));
    } else if let Some(row) = scroll_to.and_then(|r| usize::try_from(r).ok()) {
        table = table
            .animate_scrolling(false)
            .scroll_to_row(row, Some(egui::Align::Center));
    }
    table
        .header(ROW_HEIGHT + 2.0, |mut header| {
            for title in COLUMNS.iter().chain(["Payload"].iter()) {
                header.col(|ui| {
                    ui.strong(*title);
                });
            }
        })
        .body(|body| {
            body.rows(ROW_HEIGHT, window as usize, |mut row| {
                let i = row.index() as u64;
                seen = Some(seen.map_or((i, i), |(a, b)| (a.min(i), b.max(i))));
                let rank = state.window_start + i;
                let r = page.and_then(|p| {
                    rank.checked_sub(p.first)
                        .and_then(|k| p.rows.get(usize::try_from(k).ok()?))
                });
                let Some(r) = r else {
                    row.col(|ui| {
                        ui.weak("…");
                    });
                    return;
                };
                let selected = state.selected == Some(r.event_id);
                row.set_selected(selected);
                row.col(|ui| {
                    if ui
                        .selectable_label(selected, format!("#{}", r.event_id))
                        .clicked()
                    {
                        *clicked = Some(r.event_id);
                    }
                });
                row_cells(&mut row, r);
                if row.response().clicked() {
                    *clicked = Some(r.event_id);
                }
            });
        });
    seen
}

/// The table's columns before the payload.
const COLUMNS: [&str; 7] = [
    "Event", "Produced", "Topic", "Part.", "Offset", "Key", "Producer",
];
/// Widest a column is made to fit its content (it can be dragged wider).
const COLUMN_CAP: [f32; 7] = [90.0, 110.0, 220.0, 50.0, 80.0, 70.0, 180.0];

/// The texts of a row's cells before the payload, as the table shows them.
fn cell_texts(r: &LogRow) -> [String; 7] {
    let topic = if r.poisoned {
        format!("{} (poisoned)", r.topic)
    } else {
        r.topic.clone()
    };
    [
        format!("#{}", r.event_id),
        time_label(r.time_us),
        topic,
        r.partition.to_string(),
        r.offset.to_string(),
        r.key.to_string(),
        r.producer.clone(),
    ]
}

/// How wide each column before the payload must be to show the page's
/// longest text and its title whole (capped by [`COLUMN_CAP`]).
fn content_widths(ui: &egui::Ui, page: Option<&LogPage>) -> [f32; 7] {
    let mut longest: [String; 7] = COLUMNS.map(str::to_string);
    for r in page.map_or(&[][..], |p| p.rows.as_slice()) {
        for (l, text) in longest.iter_mut().zip(cell_texts(r)) {
            if text.chars().count() > l.chars().count() {
                *l = text;
            }
        }
    }
    let font = egui::TextStyle::Body.resolve(ui.style());
    // A selectable label's padding and a little air.
    let pad = 2.0 * ui.spacing().button_padding.x + 4.0;
    let mut out = [0.0; 7];
    for (i, text) in longest.into_iter().enumerate() {
        let w = ui
            .painter()
            .layout_no_wrap(text, font.clone(), egui::Color32::WHITE)
            .size()
            .x;
        out[i] = (w + pad).min(COLUMN_CAP[i]);
    }
    out
}

fn row_cells(row: &mut egui_extras::TableRow<'_, '_>, r: &LogRow) {
    let cell = |row: &mut egui_extras::TableRow<'_, '_>, text: String| {
        row.col(|ui| {
            ui.add(egui::Label::new(text).selectable(false).truncate());
        });
    };
    cell(row, time_label(r.time_us));
    if r.poisoned {
        row.col(|ui| {
            let text =
                RichText::new(format!("{} (poisoned)", r.topic)).color(ui.visuals().error_fg_color);
            ui.add(egui::Label::new(text).selectable(false).truncate())
                .on_hover_text("poisoned: every attempt at it fails");
        });
    } else {
        cell(row, r.topic.clone());
    }
    cell(row, r.partition.to_string());
    cell(row, r.offset.to_string());
    cell(row, r.key.to_string());
    cell(row, r.producer.clone());
    cell(row, payload_line(&r.payload));
}

/// The selected event: fields, deliveries, causes and effects.
fn detail_ui(
    ui: &mut egui::Ui,
    frame: &Frame,
    trace: &EventTraceView,
    theme: &Theme,
    clicked: &mut Option<u64>,
) {
    ui.horizontal(|ui| {
        ui.heading(format!("Event #{}", trace.event_id));
        if ui.small_button("Close").on_hover_text("Unselect").clicked() {
            *clicked = Some(trace.event_id);
        }
    });
    match trace.state {
        TraceState::Complete => {}
        TraceState::Tracing => {
            ui.weak(format!(
                "Replaying the run… ({} steps)",
                trace.steps_replayed
            ));
        }
        TraceState::Waiting => {
            ui.weak("Some groups have not finished with it yet; following the run.");
        }
        TraceState::GaveUp => {
            ui.colored_label(
                theme.warning,
                format!(
                    "Stopped following it after {} replayed steps; groups still pending.",
                    trace.steps_replayed
                ),
            );
        }
        TraceState::NotYetPublished => {
            ui.weak("Not published yet at this moment.");
            return;
        }
    }
    let Some(event) = &trace.event else {
        return;
    };
    egui::Grid::new("event fields")
        .num_columns(2)
        .striped(true)
        .show(ui, |ui| {
            let mut field = |name: &str, value: String| {
                ui.weak(name);
                ui.label(value);
                ui.end_row();
            };
            field("time", time_label(event.produced_at.as_us()));
            field(
                "topic",
                format!(
                    "{} / partition {} / offset {}",
                    event.topic, event.partition, event.offset
                ),
            );
            field("key", event.key.to_string());
            field("producer", format!("{} to {}", event.producer, event.bus));
            if event.poisoned {
                field("poisoned", "yes: every attempt fails".to_string());
            }
            for (name, value) in payload_fields(&event.payload) {
                field(name, value);
            }
        });

    ui.add_space(6.0);
    ui.strong("Deliveries");
    if trace.attempts.is_empty() {
        ui.weak("No group has started on it yet.");
    } else {
        // Four narrow columns, so the grid fits the pane beside the table.
        egui::Grid::new("event deliveries")
            .num_columns(4)
            .striped(true)
            .show(ui, |ui| {
                for title in ["Group #inst.", "Start", "Took", "Outcome"] {
                    ui.weak(title);
                }
                ui.end_row();
                for a in &trace.attempts {
                    ui.label(format!("{} #{}", a.group, a.instance));
                    ui.label(time_label(a.start.as_us()));
                    if a.end.as_us() > frame.now_us {
                        ui.weak("…");
                        ui.label("in progress");
                    } else {
                        ui.label(took_label(a.start.as_us(), a.end.as_us()));
                        let (text, color) = outcome_text(a, theme);
                        ui.colored_label(color, text);
                    }
                    ui.end_row();
                }
            });
    }
    if !trace.pending.is_empty() {
        ui.weak(format!(
            "Not done with it yet: {}",
            trace.pending.join(", ")
        ));
    }
    if !trace.replays.is_empty() {
        replays_ui(ui, &trace.replays, theme);
    }

    ui.add_space(6.0);
    ui.strong("Causation");
    if trace.chain.is_empty() {
        ui.weak(format!(
            "Published by {} (no event caused it).",
            event.producer
        ));
    }
    for (n, cause) in trace.chain.iter().enumerate() {
        let what = if n == 0 {
            "caused by"
        } else {
            "which was caused by"
        };
        event_link_ui(ui, what, cause, clicked);
    }
    if trace.caused.is_empty() {
        ui.weak("It caused no event (so far).");
    }
    for effect in &trace.caused {
        event_link_ui(ui, "caused", effect, clicked);
    }
}

fn event_link_ui(ui: &mut egui::Ui, what: &str, e: &TracedEvent, clicked: &mut Option<u64>) {
    ui.horizontal(|ui| {
        ui.weak(what);
        if ui
            .link(format!("#{} {}", e.event_id, e.topic))
            .on_hover_text(format!(
                "published by {} at {}",
                e.producer,
                time_label(e.produced_at.as_us())
            ))
            .clicked()
        {
            *clicked = Some(e.event_id);
        }
        ui.weak(format!("by {}", e.producer));
    });
}

/// The attempts of DLQ replays at the event, apart from its deliveries.
fn replays_ui(ui: &mut egui::Ui, replays: &[GroupReplayAttempt], theme: &Theme) {
    ui.add_space(6.0);
    ui.strong("DLQ replay attempts")
        .on_hover_text("A replay of the group's dead-letter queue worked on it again");
    egui::Grid::new("event dlq replays")
        .num_columns(5)
        .striped(true)
        .show(ui, |ui| {
            for title in ["Group #inst.", "Try", "Start", "Took", "Outcome"] {
                ui.weak(title);
            }
            ui.end_row();
            for r in replays {
                let a = &r.attempt;
                ui.label(format!("{} #{}", r.group, a.instance));
                ui.label(a.attempt.to_string());
                ui.label(time_label(a.start.as_us()));
                if a.outcome == ReplayOutcome::InService {
                    ui.weak("…");
                } else {
                    ui.label(took_label(a.start.as_us(), a.end.as_us()));
                }
                let (text, color) = replay_outcome_text(a.outcome, theme);
                ui.colored_label(color, text);
                ui.end_row();
            }
        });
}

/// How long an attempt took, in the unit that fits: "700 µs", "12.5 ms", "2.00 s".
fn took_label(start_us: u64, end_us: u64) -> String {
    let us = end_us.saturating_sub(start_us);
    match us {
        0..1_000 => format!("{us} µs"),
        1_000..1_000_000 => format!("{:.1} ms", us as f64 / 1e3),
        _ => format!("{:.2} s", us as f64 / 1e6),
    }
}

fn replay_outcome_text(outcome: ReplayOutcome, theme: &Theme) -> (String, Color32) {
    match outcome {
        ReplayOutcome::Applied => ("replayed: applied".into(), theme.spark),
        ReplayOutcome::Reapplied => ("replayed: applied again (duplicate)".into(), theme.warning),
        ReplayOutcome::SkippedDuplicate => {
            ("replayed: skipped as duplicate".into(), theme.ink_weak)
        }
        ReplayOutcome::Failed { retry_at } => (
            format!("replay failed, retry at {}", time_label(retry_at.as_us())),
            theme.warning,
        ),
        ReplayOutcome::DeadLetteredAgain => {
            ("replay failed: dead-lettered again".into(), theme.error)
        }
        ReplayOutcome::Abandoned => (
            "replay abandoned (instance crashed or rebalanced)".into(),
            theme.warning,
        ),
        ReplayOutcome::InService => ("replay in progress".into(), theme.ink_weak),
    }
}

fn outcome_text(a: &DeliveryAttempt, theme: &Theme) -> (String, Color32) {
    match a.outcome {
        AttemptOutcome::Processed => ("processed".into(), theme.spark),
        AttemptOutcome::Reapplied => ("processed again (duplicate)".into(), theme.warning),
        AttemptOutcome::SkippedDuplicate => ("skipped as duplicate".into(), theme.ink_weak),
        AttemptOutcome::Failed { retry_at } => (
            format!(
                "failed, retry at +{}",
                took_label(a.end.as_us(), retry_at.as_us())
            ),
            theme.warning,
        ),
        AttemptOutcome::DeadLettered => ("dead-lettered".into(), theme.error),
    }
}

/// Asks for the page the table shows, when it is not the one asked last
/// (or the answer is overdue).
fn send_query(state: &mut LogState, frame: &Frame, filter: LogFilter, commands: &mut Vec<Command>) {
    let shown = state.visible.map_or(60, |(a, b)| b - a + 1);
    let count = (shown + 2 * MARGIN_ROWS).min(u64::from(MAX_PAGE_ROWS)) as u32;
    let (first, count) = if let Some(seek) = state.seeking {
        (seek.probe, MAX_PAGE_ROWS)
    } else if state.follow {
        (TAIL, count)
    } else {
        let (a, b) = state.visible.unwrap_or((0, shown));
        let (a, b) = (state.window_start + a, state.window_start + b);
        // Keep the page asked last if it still covers what is visible.
        if let Some((f, first, n)) = &state.sent_query
            && *f == filter
            && *first != TAIL
            && *first <= a
            && b < first + u64::from(*n)
        {
            (*first, *n)
        } else {
            (a.saturating_sub(MARGIN_ROWS), count)
        }
    };
    let query = (filter, first, count);
    let answered = frame
        .log
        .page
        .as_ref()
        .is_some_and(|p| p.query.filter == query.0 && p.query.first == query.1);
    let changed = state.sent_query.as_ref() != Some(&query);
    let overdue = !answered && frame.seq > state.sent_query_seq + RESEND_FRAMES;
    if changed || overdue {
        commands.push(Command::Sim(LiveCommand::LogQuery {
            filter: query.0.clone(),
            first: query.1,
            count: query.2,
        }));
        state.sent_query = Some(query);
        state.sent_query_seq = frame.seq;
    }
}

/// Tells the driver which event to trace, once per change (again if the
/// answer is overdue).
fn send_trace(state: &mut LogState, frame: &Frame, commands: &mut Vec<Command>) {
    let shown = frame.log.trace.as_ref().map(|t| t.event_id);
    let changed = state.sent_trace != Some(state.selected);
    let overdue = shown != state.selected && frame.seq > state.sent_trace_seq + RESEND_FRAMES;
    if changed || overdue {
        commands.push(Command::Sim(LiveCommand::TraceEvent(state.selected)));
        state.sent_trace = Some(state.selected);
        state.sent_trace_seq = frame.seq;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_filters_parse_or_say_which_field_is_wrong() {
        let mut s = LogState {
            key_text: " 42 ".into(),
            from_text: "1.5".into(),
            to_text: "2s".into(),
            event_type: Some("OrderCreated".into()),
            ..LogState::default()
        };
        let (f, bad) = s.filter();
        assert!(bad.is_empty());
        assert_eq!(f.key, Some(42));
        assert_eq!(f.from_us, Some(1_500_000));
        assert_eq!(f.to_us, Some(2_000_000));
        assert_eq!(f.event_type.as_deref(), Some("OrderCreated"));
        s.key_text = "abc".into();
        s.to_text = "-3".into();
        let (f, bad) = s.filter();
        assert_eq!(bad, ["key", "to"]);
        assert_eq!(f.key, None);
        assert_eq!(f.to_us, None);
        assert_eq!(time_label(12_000_345), "12.000345 s");
    }

    /// The page of `matching` rows with even event ids (0, 2, 4, …) that a
    /// query at `first` gets.
    fn page_of(matching: u64, first: u64) -> LogPage {
        let rows = (first..matching.min(first + u64::from(MAX_PAGE_ROWS)))
            .map(|rank| LogRow {
                event_id: 2 * rank,
                time_us: rank,
                topic: "T".into(),
                event_type: "T".into(),
                partition: 0,
                offset: rank,
                key: 7,
                producer: "P".into(),
                payload: crate::sim::Payload::Generic { entity_id: 7 },
                poisoned: false,
            })
            .collect();
        LogPage {
            query: crate::live::LogQuery {
                filter: LogFilter::default(),
                first,
                count: MAX_PAGE_ROWS,
            },
            total: matching,
            retained: matching,
            matching,
            first,
            rows,
            keep_all: true,
            retention: Retention::KeepAll,
            types: Vec::new(),
            components: Vec::new(),
            indexed: 0,
        }
    }

    /// Searches `matching` rows for `event_id`: its rank, or `None`, and
    /// the pages it took.
    fn search(matching: u64, event_id: u64) -> (Option<u64>, u32) {
        let mut seek = Seek::new(event_id);
        for pages in 1..=64 {
            match seek.step(&page_of(matching, seek.probe)) {
                Ok(Some(rank)) => return (Some(rank), pages),
                Ok(None) => {}
                Err(()) => return (None, pages),
            }
        }
        panic!("no answer in 64 pages")
    }

    #[test]
    fn a_violations_event_is_found_by_halving_pages_of_the_log() {
        // A short log: the first page holds it.
        assert_eq!(search(120, 2 * 77), (Some(77), 1));
        // Millions of rows: a binary search, pages of 500.
        let (rank, pages) = search(3_000_000, 2 * 2_345_678);
        assert_eq!(rank, Some(2_345_678));
        assert!(pages <= 14, "{pages} pages");
        for at in [0, 499, 500, 2_999_999] {
            assert_eq!(search(3_000_000, 2 * at).0, Some(at), "rank {at}");
        }
        // An id the log does not hold (odd: between two rows; beyond the end).
        assert_eq!(search(3_000_000, 2 * 1_000_000 + 1).0, None);
        assert_eq!(search(3_000_000, 2 * 3_000_000).0, None);
        assert_eq!(search(0, 4).0, None);
    }

    #[test]
    fn revealing_an_event_filters_the_log_to_its_key_and_group_and_selects_it() {
        let mut s = LogState {
            event_type: Some("X".into()),
            to_text: "3".into(),
            ..LogState::default()
        };
        let e = EventRef {
            group: "Consumer1".into(),
            topic: "OrderCreated".into(),
            partition: 3,
            offset: 41,
            key: Some(17),
            event_id: Some(1234),
        };
        s.reveal(Invariant::EffectsAppliedOnce, &e);
        let (f, bad) = s.filter();
        assert!(bad.is_empty());
        assert_eq!(f.key, Some(17));
        assert_eq!(f.component.as_deref(), Some("Consumer1"));
        assert_eq!(
            (f.event_type, f.to_us),
            (None, None),
            "other filters cleared"
        );
        assert_eq!(s.selected, Some(1234));
        assert!(!s.follow);
        let came = s.came_from.clone().unwrap_or_else(|| panic!("said"));
        assert!(came.text.contains("event #1234"), "{}", came.text);
        assert_eq!(came.found, None);
        // A record no longer kept: said so at once, the group's topics shown.
        let gone = EventRef {
            key: None,
            event_id: None,
            ..e
        };
        s.reveal(Invariant::EffectsAppliedOnce, &gone);
        assert_eq!(s.selected, None);
        assert!(s.key_text.is_empty());
        let came = s.came_from.clone().unwrap_or_else(|| panic!("said"));
        assert_eq!(came.found, Some(false));
        assert!(came.text.contains("no longer on the bus"), "{}", came.text);
    }

    #[test]
    fn an_archived_moment_says_the_image_not_the_retention_left_events_out() {
        let keep = Retention::KeepLatest { records: 100 };
        let live = dropped_text(7, keep, None);
        assert!(live.contains("latest 100 records"), "{live}");
        let archived = dropped_text(7, keep, Some(3_000_000));
        assert!(archived.contains("archived image"), "{archived}");
        assert!(archived.contains("3.000000 s"), "{archived}");
        assert!(!archived.contains("latest 100"), "{archived}");
    }
}
