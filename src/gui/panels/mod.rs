//! The panels of the designer window. Each reads state and emits
//! [`crate::gui::command::Command`]s; none applies an edit itself.

pub mod bus_view;
pub mod canvas;
pub mod charts;
pub mod dock;
pub mod inspector;
pub mod invariants;
pub mod log;
pub mod menu;
pub mod palette;
pub mod run;
pub mod scenario;
pub mod source;
pub mod status;
