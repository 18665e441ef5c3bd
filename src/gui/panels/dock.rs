//! The bottom dock of the live run: tabs for the event log, charts,
//! invariants, the scenario and the bus. Each tab lives in its own module
//! with its own state; this module only lays the tabs out and passes each
//! the same [`DockContext`].
//!
//! Reads the document and the latest live frame; emits
//! [`Command`]s. It must not talk to the driver directly. An event clicked
//! under a violation in the invariants tab switches to the event log,
//! which shows it ([`log::LogState::reveal`]).

use std::sync::Arc;

use super::canvas::Selection;
use super::{bus_view, charts, invariants, log, scenario};
use crate::gui::command::Command;
use crate::gui::document::Document;
use crate::gui::run::OpenedSettings;
use crate::gui::theme::Theme;
use crate::live::Frame;

/// A tab of the dock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DockTab {
    /// Every event, filtered, with its deliveries and causation.
    #[default]
    Log,
    /// Throughput, latency, lag and staleness over time.
    Charts,
    /// The engine's invariant checks.
    Invariants,
    /// Rates, partitions, instances, retries, idempotency.
    Scenario,
    /// Topics × partitions, offsets and lag per group.
    Bus,
}

impl DockTab {
    /// Every tab, in the order shown.
    pub const ALL: [DockTab; 5] = [
        DockTab::Log,
        DockTab::Charts,
        DockTab::Invariants,
        DockTab::Scenario,
        DockTab::Bus,
    ];

    /// The tab's title.
    pub fn title(self) -> &'static str {
        match self {
            DockTab::Log => "Event log",
            DockTab::Charts => "Charts",
            DockTab::Invariants => "Invariants",
            DockTab::Scenario => "Scenario",
            DockTab::Bus => "Bus",
        }
    }
}

/// What every tab may read.
pub struct DockContext<'a> {
    /// The open diagram.
    pub doc: &'a Document,
    /// The latest frame of the live run, once it has started.
    pub frame: Option<&'a Arc<Frame>>,
    /// The settings of the run, when it is a recording opened (and not
    /// reloaded since).
    pub opened: Option<&'a OpenedSettings>,
    /// The canvas selection.
    pub selection: &'a Selection,
    /// Colours.
    pub theme: &'a Theme,
}

/// The dock's state: which tab, and each tab's own state.
#[derive(Debug, Default)]
pub struct DockState {
    /// The tab shown.
    pub tab: DockTab,
    /// The event log's filters, scroll and selected event.
    pub log: log::LogState,
    /// The charts' choices.
    pub charts: charts::ChartsState,
    /// The invariants panel's selection.
    pub invariants: invariants::InvariantsState,
    /// The scenario being edited.
    pub scenario: scenario::ScenarioState,
    /// The bus view's choices.
    pub bus: bus_view::BusViewState,
}

/// Draws the tab strip and the current tab.
pub fn dock_ui(
    ui: &mut egui::Ui,
    state: &mut DockState,
    cx: &DockContext<'_>,
    commands: &mut Vec<Command>,
) {
    ui.horizontal(|ui| {
        for tab in DockTab::ALL {
            ui.selectable_value(&mut state.tab, tab, tab.title());
        }
    });
    ui.separator();
    match state.tab {
        DockTab::Log => log::log_ui(ui, &mut state.log, cx, commands),
        DockTab::Charts => charts::charts_ui(ui, &mut state.charts, cx, commands),
        DockTab::Invariants => {
            invariants::invariants_ui(ui, &mut state.invariants, cx, commands);
            // An event of a violation clicked: the log shows it.
            if let Some((inv, event)) = state.invariants.go_to.take() {
                state.log.reveal(inv, &event);
                state.tab = DockTab::Log;
                ui.ctx().request_repaint();
            }
        }
        DockTab::Scenario => scenario::scenario_ui(ui, &mut state.scenario, cx, commands),
        DockTab::Bus => bus_view::bus_view_ui(ui, &mut state.bus, cx, commands),
    }
}
