//! Virtual time: integer microseconds since the start of a run. The only
//! clock the engine knows; nothing here reads the wall clock.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A moment of virtual time, in microseconds since the run started.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct VirtualTime(pub u64);

impl VirtualTime {
    /// The start of every run.
    pub const ZERO: VirtualTime = VirtualTime(0);
    /// The far future: later than any action the engine schedules.
    pub const MAX: VirtualTime = VirtualTime(u64::MAX);

    /// `us` microseconds after the start.
    pub const fn from_us(us: u64) -> VirtualTime {
        VirtualTime(us)
    }

    /// `ms` milliseconds after the start (saturating).
    pub const fn from_millis(ms: u64) -> VirtualTime {
        VirtualTime(ms.saturating_mul(1_000))
    }

    /// `s` seconds after the start (saturating).
    pub const fn from_secs(s: u64) -> VirtualTime {
        VirtualTime(s.saturating_mul(1_000_000))
    }

    /// Microseconds since the start.
    pub const fn as_us(self) -> u64 {
        self.0
    }

    /// Seconds since the start, as a float (for reports only, never for logic).
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e6
    }

    /// This moment plus `us` microseconds, saturating at [`VirtualTime::MAX`].
    pub const fn plus_us(self, us: u64) -> VirtualTime {
        VirtualTime(self.0.saturating_add(us))
    }

    /// Microseconds from `earlier` to `self`; zero if `earlier` is later.
    pub const fn since_us(self, earlier: VirtualTime) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
}

impl fmt::Display for VirtualTime {
    /// Seconds with microsecond precision: `12.000345s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:06}s", self.0 / 1_000_000, self.0 % 1_000_000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_and_display() {
        assert_eq!(VirtualTime::from_secs(2).as_us(), 2_000_000);
        assert_eq!(VirtualTime::from_millis(3), VirtualTime(3_000));
        assert_eq!(VirtualTime(1_000_345).to_string(), "1.000345s");
        assert_eq!(VirtualTime(5).since_us(VirtualTime(9)), 0);
        assert_eq!(VirtualTime::MAX.plus_us(1), VirtualTime::MAX);
    }
}
