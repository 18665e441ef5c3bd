//! The panels of the designer window. Each reads state and emits
//! [`crate::gui::command::Command`]s; none applies an edit itself.

pub mod canvas;
pub mod inspector;
pub mod menu;
pub mod palette;
pub mod run;
pub mod source;
pub mod status;
