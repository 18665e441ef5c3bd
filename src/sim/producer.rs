//! Sources: a component publishing one event type to one topic, with an
//! arrival process (Poisson or constant, optionally with periodic bursts),
//! a key sampler and a payload schema. A source blocked by backpressure
//! holds its next record until there is room (see `world.rs`).

use super::clock::VirtualTime;
use super::rng::{SimRng, to_us};
use super::scenario::{Arrival, Burst, KeySampler, Payload, Schema};
use serde::{Deserialize, Serialize};

/// A running source (engine-internal state).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Source {
    /// Metric index of the publishing component.
    pub component: u32,
    /// Metric index of the bus.
    pub bus: u32,
    /// Topic index.
    pub topic: u32,
    pub arrival: Arrival,
    pub burst: Option<Burst>,
    pub keys: KeySampler,
    pub schema: Schema,
    /// Arrivals so far (accepted, rejected or shed).
    pub emitted: u64,
    /// A record held back by a throttling consumer queue: (key, payload).
    pub held: Option<(u64, Payload)>,
    /// When the source started being throttled (if it is).
    pub throttled_since: Option<VirtualTime>,
}

impl Source {
    /// When the next arrival after the one at `now` happens (`emitted`
    /// counts the arrivals so far). Constant-rate sources without bursts
    /// put the n-th arrival at round(n / rate), so rounding never drifts.
    ///
    /// With bursts the rate is piecewise constant: a gap drawn at the
    /// current phase's rate that would cross into the next phase is
    /// dropped and drawing starts again at the boundary with the new rate
    /// — exact for a Poisson process (it is memoryless).
    #[inline]
    pub fn next_arrival(&self, now: VirtualTime, rng: &mut SimRng) -> VirtualTime {
        let Some(burst) = self.burst else {
            return match self.arrival {
                Arrival::Poisson { rate_per_s } => {
                    now.plus_us(to_us(rng.exponential(1e6 / rate_per_s)))
                }
                Arrival::Constant { rate_per_s } => {
                    let due = VirtualTime(to_us((self.emitted + 1) as f64 * 1e6 / rate_per_s));
                    // Behind schedule after a throttled stretch: go on from now.
                    if due >= now {
                        due
                    } else {
                        now.plus_us(to_us(1e6 / rate_per_s).max(1))
                    }
                }
            };
        };
        let mut t = now.0;
        loop {
            let (in_burst, phase_end) = burst.phase(t);
            let rate = if in_burst {
                burst.rate_per_s
            } else {
                self.arrival.rate_per_s()
            };
            let gap = match self.arrival {
                Arrival::Poisson { .. } => to_us(rng.exponential(1e6 / rate)),
                Arrival::Constant { .. } => to_us(1e6 / rate).max(1),
            };
            let next = t.saturating_add(gap);
            if next < phase_end {
                return VirtualTime(next);
            }
            t = phase_end;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::scenario::{KeySpace, Payload};

    fn source(arrival: Arrival, burst: Option<Burst>) -> Source {
        Source {
            component: 0,
            bus: 0,
            topic: 0,
            arrival,
            burst,
            keys: KeySampler::new(&KeySpace::default()),
            schema: Schema::Generic,
            emitted: 0,
            held: None::<(u64, Payload)>,
            throttled_since: None,
        }
    }

    /// Counts arrivals in `0..until_us`.
    fn arrivals(s: &mut Source, until_us: u64, windows: &mut [u64; 2]) -> u64 {
        let mut rng = SimRng::new(11);
        let mut t = VirtualTime::ZERO;
        let mut n = 0;
        loop {
            t = s.next_arrival(t, &mut rng);
            if t.0 >= until_us {
                return n;
            }
            s.emitted += 1;
            n += 1;
            if let Some(b) = s.burst {
                windows[usize::from(b.phase(t.0).0)] += 1;
            }
        }
    }

    #[test]
    fn bursts_raise_the_rate_only_inside_their_windows() {
        // 100/s, bursts of 2000/s for 100 ms every second: over 100 s,
        // 90 s × 100 + 10 s × 2000 = 29,000 expected.
        let burst = Burst {
            rate_per_s: 2000.0,
            length_us: 100_000,
            every_us: 1_000_000,
        };
        let mut w = [0; 2];
        let mut s = source(Arrival::Poisson { rate_per_s: 100.0 }, Some(burst));
        let n = arrivals(&mut s, 100_000_000, &mut w);
        assert!((28_000..30_000).contains(&n), "{n}");
        assert!((19_000..21_000).contains(&w[1]), "{w:?}");
        assert!((8_500..9_500).contains(&w[0]), "{w:?}");
        let mut w = [0; 2];
        let mut s = source(Arrival::Constant { rate_per_s: 100.0 }, Some(burst));
        let n = arrivals(&mut s, 10_000_000, &mut w);
        assert!((2_850..2_950).contains(&n), "{n} {w:?}");
    }
}
