//! The panels of the designer window. Each reads state and emits
//! [`crate::gui::command::Command`]s; none applies an edit itself.

pub mod badges;
pub mod bus_view;
pub mod canvas;
pub mod charts;
pub mod dock;
pub mod fault_menu;
pub mod flow;
mod ghosts;
mod graph_canvas;
pub mod inspector;
pub mod invariants;
pub mod live_tables;
pub mod log;
pub mod log_overlay;
pub mod menu;
pub mod palette;
pub mod replay;
pub mod run;
pub mod scenario;
pub mod source;
pub mod status;
