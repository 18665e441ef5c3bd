//! Why an engine could not be built.

use thiserror::Error;

/// An engine could not be built from a graph and a scenario.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum SimError {
    /// The scenario names a component the diagram does not have.
    #[error("scenario names component `{0}`, which is not in the diagram")]
    UnknownComponent(String),
    /// The scenario configures a group for a node no bus feeds.
    #[error("scenario configures a consumer group for `{0}`, which no bus feeds")]
    NotAGroup(String),
    /// A source publishes to something that is not a bus.
    #[error("source `{source_key}` publishes to `{bus}`, which is not a bus")]
    NotABus {
        /// The source's component key.
        source_key: String,
        /// The target's key.
        bus: String,
    },
    /// A scenario value is out of its allowed range.
    #[error("scenario: {what} is {value}, allowed {allowed}")]
    OutOfRange {
        /// Which setting.
        what: String,
        /// The value given.
        value: String,
        /// The allowed range.
        allowed: String,
    },
    /// The model needs more pending actions than the limit allows.
    #[error("the model needs {needed} pending actions, over the limit of {limit}")]
    TooManyActions {
        /// Actions the model can have pending at once.
        needed: usize,
        /// [`super::Limits::max_pending_actions`].
        limit: usize,
    },
    /// Too many control inputs pending at once.
    #[error("{pending} control inputs pending, the limit is {limit}")]
    TooManyControls {
        /// Control inputs pending.
        pending: usize,
        /// [`super::Limits::max_pending_controls`].
        limit: usize,
    },
    /// A reaction (a group publishing when it applies an event) cannot be wired.
    #[error("scenario reaction: {0}")]
    Reaction(String),
    /// A fault or control input cannot be applied.
    #[error("fault `{fault}` refused: {reason}")]
    FaultRefused {
        /// The fault, as written.
        fault: String,
        /// Why.
        reason: String,
    },
}
