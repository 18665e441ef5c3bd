//! The run's only source of randomness: one ChaCha8 generator seeded from
//! the run's seed, plus the few distributions the engine samples.
//!
//! Floating point is used only to shape samples (`ln`, `sqrt`, `cos`), and
//! every sample is rounded to whole microseconds or integers before it
//! touches the simulation, so a run is reproducible on one platform; libm
//! differences between platforms could in principle change a last bit.

use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

/// The engine's seeded random number generator.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SimRng {
    inner: ChaCha8Rng,
}

/// z such that Φ(z) = 0.99, for the lognormal fitted to a p50 and a p99.
pub(crate) const Z_P99: f64 = 2.326_347_874_040_841;

impl SimRng {
    /// A generator whose whole stream is fixed by `seed`.
    pub fn new(seed: u64) -> SimRng {
        SimRng {
            inner: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    /// 64 random bits.
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.inner.next_u64()
    }

    /// Uniform in the open interval (0, 1): never 0, so `ln` is finite.
    #[inline]
    pub fn open01(&mut self) -> f64 {
        // 53 random bits, shifted by half an ulp off zero.
        ((self.next_u64() >> 11) as f64 + 0.5) * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform integer in `0..n` (`n > 0`), without modulo bias (Lemire).
    #[inline]
    pub fn below(&mut self, n: u64) -> u64 {
        debug_assert!(n > 0, "below(0) has no values");
        let n = n.max(1);
        loop {
            let m = u128::from(self.next_u64()) * u128::from(n);
            let low = m as u64;
            if low >= n.wrapping_neg() % n {
                return (m >> 64) as u64;
            }
        }
    }

    /// Uniform integer in `lo..=hi`.
    #[inline]
    pub fn range_inclusive(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi.saturating_sub(lo).saturating_add(1))
    }

    /// Exponential with the given mean (same unit as the mean).
    #[inline]
    pub fn exponential(&mut self, mean: f64) -> f64 {
        -mean * self.open01().ln()
    }

    /// Standard normal (Box–Muller; one of the pair is discarded so that
    /// the stream position never depends on hidden state).
    #[inline]
    pub fn standard_normal(&mut self) -> f64 {
        let u1 = self.open01();
        let u2 = self.open01();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// Lognormal whose median is `p50` and whose 99th percentile is `p99`.
    pub fn lognormal_p50_p99(&mut self, p50: f64, p99: f64) -> f64 {
        let mu = p50.ln();
        let sigma = (p99.ln() - mu).max(0.0) / Z_P99;
        (mu + sigma * self.standard_normal()).exp()
    }
}

/// Rounds a non-negative sample to whole microseconds (saturating; NaN is 0).
#[inline]
pub(crate) fn to_us(x: f64) -> u64 {
    // `as` saturates and maps NaN (and negatives) to 0, which is what a
    // duration wants. `x + 0.5` truncated rounds half up like `round()`
    // for x ≥ 0, without the libm call `round()` is on baseline x86-64 —
    // it sits on the hot path (every service time and arrival gap).
    (x + 0.5) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream_other_seed_other_stream() {
        let a: Vec<u64> = (0..8)
            .map({
                let mut r = SimRng::new(7);
                move |_| r.next_u64()
            })
            .collect();
        let b: Vec<u64> = (0..8)
            .map({
                let mut r = SimRng::new(7);
                move |_| r.next_u64()
            })
            .collect();
        let c: Vec<u64> = (0..8)
            .map({
                let mut r = SimRng::new(8);
                move |_| r.next_u64()
            })
            .collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn exponential_mean_and_below_range() {
        let mut r = SimRng::new(1);
        let n = 200_000;
        let mean = (0..n).map(|_| r.exponential(1000.0)).sum::<f64>() / f64::from(n);
        assert!((mean - 1000.0).abs() < 15.0, "mean {mean}");
        for _ in 0..1000 {
            assert!(r.below(3) < 3);
            let x = r.range_inclusive(5, 6);
            assert!((5..=6).contains(&x));
        }
    }

    #[test]
    fn lognormal_hits_its_median_and_p99() {
        let mut r = SimRng::new(2);
        let mut xs: Vec<f64> = (0..100_000)
            .map(|_| r.lognormal_p50_p99(1000.0, 5000.0))
            .collect();
        xs.sort_by(f64::total_cmp);
        let p50 = xs[50_000];
        let p99 = xs[99_000];
        assert!((p50 / 1000.0 - 1.0).abs() < 0.03, "p50 {p50}");
        assert!((p99 / 5000.0 - 1.0).abs() < 0.06, "p99 {p99}");
    }
}
