//! Sources: a component publishing one event type to one topic, with an
//! arrival process, a key sampler and a payload schema.

use super::clock::VirtualTime;
use super::rng::{SimRng, to_us};
use super::scenario::{Arrival, KeySampler, Schema};

/// A running source (engine-internal state).
#[derive(Debug, Clone)]
pub(crate) struct Source {
    /// Metric index of the publishing component.
    pub component: u32,
    /// Metric index of the bus.
    pub bus: u32,
    /// Topic index.
    pub topic: u32,
    pub arrival: Arrival,
    pub keys: KeySampler,
    pub schema: Schema,
    /// Arrivals so far (accepted or rejected).
    pub emitted: u64,
}

impl Source {
    /// When the next arrival after the one at `now` happens (`emitted`
    /// counts the arrivals so far). Constant-rate sources put the n-th
    /// arrival at round(n / rate), so rounding never drifts.
    #[inline]
    pub fn next_arrival(&self, now: VirtualTime, rng: &mut SimRng) -> VirtualTime {
        match self.arrival {
            Arrival::Poisson { rate_per_s } => {
                now.plus_us(to_us(rng.exponential(1e6 / rate_per_s)))
            }
            Arrival::Constant { rate_per_s } => {
                VirtualTime(to_us((self.emitted + 1) as f64 * 1e6 / rate_per_s))
            }
        }
    }
}
