//! The run's only source of randomness: one xoshiro256++ generator seeded
//! from the run's seed, plus the few distributions the engine samples.
//!
//! # Why this generator
//! The engine draws several numbers per delivery (a service time, an
//! arrival gap, a key, payload fields), so the generator sits on the hot
//! path. xoshiro256++ (Blackman and Vigna) is a few adds, xors and
//! rotations per 64 bits, passes the usual statistical batteries, and its
//! whole state is four words, which is what an engine image stores. The
//! state is filled from the seed by SplitMix64, as its authors advise, so
//! nearby seeds give unrelated streams and the state is never all zero.
//!
//! # Exponential draws: the ziggurat
//! Exponential times (Poisson arrivals, exponential service) are drawn
//! with Marsaglia and Tsang's ziggurat rather than as `−ln U`: the area
//! under e^−x is covered by 256 layers of equal area — 255 rectangles
//! stacked on a base strip that also holds the tail beyond
//! [`ZIG_R`]. One 64-bit number picks a layer (low 8 bits) and a point
//! across it (high 53 bits); about 98.9% of the time the point lies
//! under the next narrower layer, hence under the curve, and is returned
//! after one multiply and one compare. Otherwise it is in the layer's
//! wedge (accepted if a uniform height falls under e^−x, one `exp`) or
//! in the tail (memoryless: [`ZIG_R`] plus a fresh exponential, drawn
//! as `−ln U`). Every branch returns exactly the exponential
//! distribution; the unit tests check its mean, variance, quantiles and
//! tail.
//!
//! Floating point is used only to shape samples (`ln`, `exp`, `sqrt`,
//! `cos`, the ziggurat's tables, built once with `exp`/`ln`), and every
//! sample is rounded to whole microseconds or integers before it touches
//! the simulation, so a run is reproducible on one platform; libm
//! differences between platforms could in principle change a last bit.

use serde::{Deserialize, Serialize};
use std::sync::LazyLock;

/// The engine's seeded random number generator (xoshiro256++).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimRng {
    /// The xoshiro256++ state; never all zero.
    s: [u64; 4],
}

/// z such that Φ(z) = 0.99, for the lognormal fitted to a p50 and a p99.
pub(crate) const Z_P99: f64 = 2.326_347_874_040_841;

/// Layers of the exponential ziggurat.
const ZIG_LAYERS: usize = 256;

/// Where the exponential ziggurat's tail starts (the widest layer's right
/// edge), for 256 layers (Marsaglia and Tsang).
const ZIG_R: f64 = 7.697_117_470_131_05;

/// Each layer's area (Marsaglia and Tsang's `v` for 256 layers): the base
/// strip's r·e^−r plus the tail's e^−r, and so every rectangle's.
const ZIG_V: f64 = 0.003_949_659_822_581_557;

/// The exponential ziggurat: `x[i]` is layer `i`'s width (`x[0]` the base
/// strip's width as if it were a rectangle, `x[1] = r`, down to
/// `x[256] = 0`), `f[i] = e^−x[i]`.
struct Ziggurat {
    x: [f64; ZIG_LAYERS + 1],
    f: [f64; ZIG_LAYERS + 1],
}

impl Ziggurat {
    /// Builds the tables: each layer `i ≥ 1` spans heights
    /// `f(x[i])..f(x[i+1])` and has width `x[i]`, so
    /// `x[i+1] = f⁻¹(f(x[i]) + v / x[i])`.
    fn new() -> Ziggurat {
        let mut x = [0.0; ZIG_LAYERS + 1];
        let mut f = [0.0; ZIG_LAYERS + 1];
        x[0] = ZIG_V / (-ZIG_R).exp();
        x[1] = ZIG_R;
        for i in 1..ZIG_LAYERS - 1 {
            x[i + 1] = -(ZIG_V / x[i] + (-x[i]).exp()).ln();
        }
        x[ZIG_LAYERS] = 0.0;
        for i in 0..=ZIG_LAYERS {
            f[i] = (-x[i]).exp();
        }
        Ziggurat { x, f }
    }
}

static ZIGGURAT: LazyLock<Ziggurat> = LazyLock::new(Ziggurat::new);

/// SplitMix64's step: the next state and its output.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// 53 random bits as a float in `[0, 1)`.
#[inline]
fn unit53(bits: u64) -> f64 {
    (bits >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

impl SimRng {
    /// A generator whose whole stream is fixed by `seed`.
    pub fn new(seed: u64) -> SimRng {
        let mut sm = seed;
        let s = [
            splitmix64(&mut sm),
            splitmix64(&mut sm),
            splitmix64(&mut sm),
            splitmix64(&mut sm),
        ];
        // SplitMix64's output is a bijection of distinct states, so four
        // outputs are never all zero — the one state xoshiro cannot leave.
        debug_assert!(s.iter().any(|&w| w != 0), "xoshiro state all zero");
        SimRng { s }
    }

    /// 64 random bits (xoshiro256++).
    #[inline(always)]
    pub fn next_u64(&mut self) -> u64 {
        let [s0, s1, s2, s3] = self.s;
        let out = s0.wrapping_add(s3).rotate_left(23).wrapping_add(s0);
        let t = s1 << 17;
        let s2 = s2 ^ s0;
        let s3 = s3 ^ s1;
        let s1 = s1 ^ s2;
        let s0 = s0 ^ s3;
        let s2 = s2 ^ t;
        let s3 = s3.rotate_left(45);
        self.s = [s0, s1, s2, s3];
        out
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
            // The threshold 2^64 mod n is below n: only a low part under
            // n can be rejected, so the division is skipped otherwise.
            if low >= n || low >= n.wrapping_neg() % n {
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
    #[inline(always)]
    pub fn exponential(&mut self, mean: f64) -> f64 {
        mean * self.standard_exponential()
    }

    /// Exponential with mean 1, by the ziggurat (see the module doc).
    #[inline(always)]
    pub fn standard_exponential(&mut self) -> f64 {
        let zig = &*ZIGGURAT;
        loop {
            let bits = self.next_u64();
            let i = (bits & 0xff) as usize;
            let x = unit53(bits) * zig.x[i];
            if x < zig.x[i + 1] {
                return x;
            }
            if let Some(x) = self.exponential_slow(zig, i, x) {
                return x;
            }
        }
    }

    /// The ziggurat's rare cases: the tail (layer 0 beyond r) or a wedge
    /// (the part of layer `i` right of `x[i+1]`); `None` when the wedge's
    /// point lies above the curve and the draw starts over.
    #[cold]
    #[inline(never)]
    fn exponential_slow(&mut self, zig: &Ziggurat, i: usize, x: f64) -> Option<f64> {
        if i == 0 {
            // Beyond r the exponential is r plus a fresh exponential.
            return Some(ZIG_R - self.open01().ln());
        }
        let y = zig.f[i] + (zig.f[i + 1] - zig.f[i]) * unit53(self.next_u64());
        (y < (-x).exp()).then_some(x)
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
    //
    // Below 2^63 the conversion goes through `i64`, one instruction on
    // x86-64 (clamped at 0 for negatives); `as u64` alone costs a dozen
    // for the range it never sees. NaN and huge values take the `u64`
    // path, which gives what it always gave.
    let y = x + 0.5;
    if y < 9.0e18 {
        (y as i64).max(0) as u64
    } else {
        y as u64
    }
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
    fn seeding_and_stream_match_an_independent_implementation() {
        // SplitMix64 from 0 starts with its well-known first output; the
        // xoshiro256++ words were computed by a separate Python version
        // of both algorithms.
        let mut sm = 0;
        assert_eq!(splitmix64(&mut sm), 0xe220_a839_7b1d_cdaf);
        let mut r = SimRng::new(0);
        let got: Vec<u64> = (0..4).map(|_| r.next_u64()).collect();
        assert_eq!(
            got,
            [
                0x5317_5d61_490b_23df,
                0x61da_6f3d_c380_d507,
                0x5c0f_df91_ec9a_7bfc,
                0x02ee_bf8c_3bbe_5e1a
            ]
        );
    }

    #[test]
    fn an_image_of_the_generator_goes_on_with_the_same_stream() {
        let mut r = SimRng::new(42);
        r.next_u64();
        let bytes = rmp_serde::to_vec(&r).expect("encodes");
        let mut back: SimRng = rmp_serde::from_slice(&bytes).expect("decodes");
        for _ in 0..16 {
            assert_eq!(back.next_u64(), r.next_u64());
        }
    }

    #[test]
    fn below_and_range_stay_in_range_and_are_uniform() {
        let mut r = SimRng::new(1);
        for _ in 0..1000 {
            assert!(r.below(3) < 3);
            let x = r.range_inclusive(5, 6);
            assert!((5..=6).contains(&x));
        }
        // Seven buckets, 70,000 draws: each count within 5 sd of 10,000.
        let mut counts = [0u32; 7];
        for _ in 0..70_000 {
            counts[r.below(7) as usize] += 1;
        }
        for c in counts {
            assert!((9_550..=10_450).contains(&c), "{counts:?}");
        }
        assert_eq!(r.below(1), 0);
        assert!(r.below(u64::MAX) < u64::MAX);
    }

    #[test]
    fn ziggurat_layers_narrow_upwards_and_have_equal_areas() {
        let z = Ziggurat::new();
        assert!(z.x[0] > z.x[1] && z.x[1] == ZIG_R);
        for i in 1..ZIG_LAYERS {
            assert!(z.x[i + 1] < z.x[i], "layer {i} not narrower");
        }
        assert!(z.x[ZIG_LAYERS - 1] > 0.0);
        assert_eq!(z.x[ZIG_LAYERS], 0.0);
        // Base strip: rectangle r·f(r) plus the tail e^−r.
        let base = ZIG_R * (-ZIG_R).exp() + (-ZIG_R).exp();
        assert!((base / ZIG_V - 1.0).abs() < 1e-9, "base {base}");
        for i in 1..ZIG_LAYERS {
            let area = z.x[i] * (z.f[i + 1] - z.f[i]);
            assert!((area / ZIG_V - 1.0).abs() < 1e-6, "layer {i}: {area}");
        }
    }

    /// `n` standard exponential draws from seed `seed`.
    fn draws(seed: u64, n: usize) -> Vec<f64> {
        let mut r = SimRng::new(seed);
        (0..n).map(|_| r.standard_exponential()).collect()
    }

    #[test]
    fn exponential_has_mean_and_variance_one() {
        let n = 1_000_000;
        let xs = draws(1, n);
        assert!(xs.iter().all(|&x| x >= 0.0 && x.is_finite()));
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        // sd of the mean 1/√n = 0.001; of the variance √(8/n) ≈ 0.0028.
        assert!((mean - 1.0).abs() < 0.005, "mean {mean}");
        assert!((var - 1.0).abs() < 0.015, "variance {var}");
        let mut r = SimRng::new(3);
        let m = (0..200_000).map(|_| r.exponential(1000.0)).sum::<f64>() / 200_000.0;
        assert!((m - 1000.0).abs() < 15.0, "scaled mean {m}");
    }

    #[test]
    fn exponential_fills_equal_probability_bins_evenly() {
        // 100 bins of probability 1/100 each (edges −ln(1 − k/100)): a
        // chi-square with 99 degrees of freedom, whose 99.99th percentile
        // is about 158. The last bin holds the tail beyond 4.6, and the
        // upper bins straddle ziggurat layers, wedges included.
        let n = 1_000_000;
        let bins = 100usize;
        let mut counts = vec![0u64; bins];
        for x in draws(2, n) {
            let k = ((1.0 - (-x).exp()) * bins as f64) as usize;
            counts[k.min(bins - 1)] += 1;
        }
        let expected = n as f64 / bins as f64;
        let chi2: f64 = counts
            .iter()
            .map(|&c| (c as f64 - expected).powi(2) / expected)
            .sum();
        assert!(chi2 < 158.0, "chi-square {chi2}: {counts:?}");
    }

    #[test]
    fn exponential_tail_beyond_the_ziggurat_is_right() {
        // P(X > t) = e^−t, counted against its binomial sd (5 sd allowed)
        // at points inside the layers, at the tail's start r and beyond it.
        let n = 2_000_000;
        let xs = draws(4, n);
        for t in [0.5, 1.0, 3.0, 6.0, ZIG_R, 9.0, 11.0] {
            let p = (-t).exp();
            let want = n as f64 * p;
            let sd = (n as f64 * p * (1.0 - p)).sqrt();
            let got = xs.iter().filter(|&&x| x > t).count() as f64;
            assert!(
                (got - want).abs() < 5.0 * sd + 1.0,
                "P(X > {t}): {got} of {n}, expected {want:.1}"
            );
        }
        // Beyond r, the excess is itself exponential (memoryless): mean 1.
        let excess: Vec<f64> = xs
            .iter()
            .filter(|&&x| x > ZIG_R)
            .map(|x| x - ZIG_R)
            .collect();
        let mean = excess.iter().sum::<f64>() / excess.len() as f64;
        let sd = 1.0 / (excess.len() as f64).sqrt();
        assert!(
            (mean - 1.0).abs() < 5.0 * sd,
            "tail excess mean {mean} of {}",
            excess.len()
        );
    }

    #[test]
    fn to_us_rounds_half_up_and_saturates() {
        assert_eq!(to_us(0.0), 0);
        assert_eq!(to_us(2.49), 2);
        assert_eq!(to_us(2.5), 3);
        assert_eq!(to_us(-0.7), 0);
        assert_eq!(to_us(-5.0), 0);
        assert_eq!(to_us(f64::NAN), 0);
        assert_eq!(to_us(8.9e18), 8_900_000_000_000_000_000);
        assert_eq!(to_us(1.0e19), 10_000_000_000_000_000_000);
        assert_eq!(to_us(f64::INFINITY), u64::MAX);
        assert_eq!(to_us(1.0e30), u64::MAX);
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
