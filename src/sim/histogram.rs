//! Log-bucketed latency histograms (HDR-style): values below 64 are exact;
//! above, each power of two is split into 64 linear sub-buckets, and a
//! percentile is the midpoint of the bucket holding it, clamped to the
//! exact min and max, so it is within 1/128 (0.8%) of the true value.
//!
//! [`Histogram`] is a whole run's (count, sum, min and max exact, so the
//! mean is exact; values at or above 2^40 µs, 12.7 days, are clamped into
//! the last bucket). [`IntervalHistogram`] is one sample interval's, for
//! the time series: O(1) to record, its percentiles taken by one walk over
//! the occupied buckets when the interval closes, which also empties it
//! and can fold it into another (the whole system's interval); values
//! saturate at `u32::MAX` µs (71 minutes).
//!
//! Must not depend on anything outside `sim`.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

const SUB_BITS: u32 = 6;
const SUB: u64 = 1 << SUB_BITS;
const MAX_EXP: u32 = 40;
const BUCKETS: usize = (SUB + (MAX_EXP - SUB_BITS + 1) as u64 * SUB) as usize;

/// Latency histogram over microsecond values.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Histogram {
    counts: Box<[u64]>,
    count: u64,
    sum: u128,
    min: u64,
    max: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram::new()
    }
}

#[inline]
fn bucket_of(v: u64) -> usize {
    let v = v.min((1u64 << (MAX_EXP + 1)) - 1);
    if v < SUB {
        return v as usize;
    }
    let exp = 63 - v.leading_zeros(); // >= SUB_BITS
    let shift = exp - SUB_BITS;
    let sub = (v >> shift) - SUB;
    (SUB + u64::from(shift) * SUB + sub) as usize
}

/// The smallest and largest value a bucket holds.
fn bucket_range(i: usize) -> (u64, u64) {
    let i = i as u64;
    if i < SUB {
        return (i, i);
    }
    let shift = (i - SUB) / SUB;
    let sub = (i - SUB) % SUB;
    let lo = (SUB + sub) << shift;
    (lo, lo + (1u64 << shift) - 1)
}

/// The value reported for the `rank`-th smallest of `n` values, found in
/// bucket `i`: the exact min or max at the ends, else the bucket's
/// midpoint clamped to them.
#[inline]
fn value_at(i: usize, rank: u64, n: u64, min: u64, max: u64) -> u64 {
    if rank >= n {
        return max;
    }
    if rank <= 1 {
        return min;
    }
    let (lo, hi) = bucket_range(i);
    (lo + (hi - lo) / 2).clamp(min, max)
}

/// The 1-based rank of quantile `q` among `n` values: `ceil(q·n)`, at
/// least 1 (the rank [`Histogram::quantile`] reports).
#[inline]
pub(crate) fn rank(q: f64, n: u64) -> u64 {
    // `f64::ceil` by hand: without SSE4.1 it is a libm call, and an
    // interval takes four ranks. Same result for every `x` below 2^53.
    let x = q.clamp(0.0, 1.0) * n as f64;
    let whole = x as u64;
    let ceil = if (whole as f64) < x { whole + 1 } else { whole };
    ceil.clamp(1, n.max(1))
}

/// Buckets of an [`IntervalHistogram`]: every value below 2^32.
const INTERVAL_BUCKETS: usize = (SUB + (31 - SUB_BITS + 1) as u64 * SUB) as usize;
/// Its buckets in blocks of 64, one occupancy word each.
const INTERVAL_WORDS: usize = INTERVAL_BUCKETS / 64;
const _: () = assert!(INTERVAL_WORDS * 64 == INTERVAL_BUCKETS);

/// One sample interval's values, bucketed like [`Histogram`] up to
/// `u32::MAX` µs, with an occupancy bitmap so that closing the interval
/// visits only the buckets it used.
///
/// Recording is a bucket index, two stores and a min/max; the percentiles
/// of the interval ([`IntervalHistogram::take_quantiles`]) cost a few
/// instructions per occupied bucket, however many values there were.
/// Counts are `u32`: an interval that would pass `u32::MAX` values halves
/// every count and goes on (its percentiles stay those of the values'
/// distribution).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IntervalHistogram {
    /// Block `w` holds buckets `64·w ..`; bit `i` of `occupied[w]` is set
    /// when bucket `64·w + i` is not empty.
    counts: Box<[[u32; 64]; INTERVAL_WORDS]>,
    occupied: [u64; INTERVAL_WORDS],
    count: u64,
    min: u64,
    max: u64,
}

impl Default for IntervalHistogram {
    fn default() -> Self {
        IntervalHistogram {
            counts: Box::new([[0; 64]; INTERVAL_WORDS]),
            occupied: [0; INTERVAL_WORDS],
            count: 0,
            min: u64::MAX,
            max: 0,
        }
    }
}

impl IntervalHistogram {
    /// Adds one value (µs; saturated at `u32::MAX`). Inlined into the
    /// engine's delivery path, twice a delivery.
    #[inline(always)]
    pub(crate) fn record(&mut self, us: u64) {
        self.record_in(bucket_of(us), us);
    }

    /// [`IntervalHistogram::record`] of a value whose [`Histogram`] bucket
    /// `b` is known (the delivery path files each value in both).
    #[inline(always)]
    pub(crate) fn record_in(&mut self, b: usize, us: u64) {
        // Monotonic buckets: a value past u32::MAX lands past the last.
        let b = b.min(INTERVAL_BUCKETS - 1);
        let us = us.min(u64::from(u32::MAX));
        if self.count >= u64::from(u32::MAX) {
            self.halve();
        }
        let (w, i) = (b / 64, b % 64);
        if let (Some(block), Some(bits)) = (self.counts.get_mut(w), self.occupied.get_mut(w)) {
            block[i] += 1;
            *bits |= 1 << i;
        }
        self.count += 1;
        self.min = self.min.min(us);
        self.max = self.max.max(us);
    }

    /// Adds `n` copies of a value (restoring a thinned old image).
    fn record_n(&mut self, us: u64, n: u32) {
        for _ in 0..n {
            self.record(us);
        }
    }

    /// Halves every count (rounding up, so no occupied bucket empties):
    /// keeps a `u32` count from overflowing in an endless interval.
    #[cold]
    #[inline(never)]
    fn halve(&mut self) {
        let mut count = 0;
        for c in self.counts.as_flattened_mut() {
            *c = c.div_ceil(2);
            count += u64::from(*c);
        }
        self.count = count;
    }

    /// Values recorded since the interval opened (after any halving).
    #[cfg(test)]
    fn count(&self) -> u64 {
        self.count
    }

    /// The value at each quantile of `qs` (ascending) of the interval's
    /// values — as [`Histogram::quantile`] ranks and reports them, so
    /// within 1/128 of the exact `ceil(q·n)`-th smallest, the smallest and
    /// largest exact (all 0 when empty) — then empties the interval. Its
    /// counts, min and max are added to `merge` on the way, so a combined
    /// interval costs no second pass over the values.
    pub(crate) fn take_quantiles<const N: usize>(
        &mut self,
        qs: [f64; N],
        mut merge: Option<&mut IntervalHistogram>,
    ) -> [u64; N] {
        let mut out = [0; N];
        if self.count == 0 {
            return out;
        }
        if let Some(m) = merge.as_deref_mut() {
            while m.count + self.count > u64::from(u32::MAX) {
                m.halve();
                self.halve();
            }
            m.count += self.count;
            m.min = m.min.min(self.min);
            m.max = m.max.max(self.max);
        }
        let (count, min, max) = (self.count, self.min, self.max);
        let ranks = qs.map(|q| rank(q, count));
        // The rank the walk is heading for (past the last: never reached).
        let mut next = 0;
        let mut target = ranks.first().copied().unwrap_or(u64::MAX);
        let mut seen = 0u64;
        // Only the blocks between the smallest and largest value's hold
        // any (a half-open range: `..=` loops compile to more tests).
        let first = bucket_of(min) / 64;
        let end = (bucket_of(max) / 64 + 1).min(INTERVAL_WORDS);
        let blocks = self.counts.iter_mut().zip(self.occupied.iter_mut());
        for (w, (block, occupied)) in blocks.enumerate().take(end).skip(first) {
            let mut bits = std::mem::take(occupied);
            if bits == 0 {
                continue;
            }
            let mut into = match merge.as_deref_mut() {
                Some(m) => {
                    m.occupied[w] |= bits;
                    Some(&mut m.counts[w])
                }
                None => None,
            };
            while bits != 0 {
                let i = bits.trailing_zeros() as usize % 64;
                bits &= bits - 1;
                let n = std::mem::take(&mut block[i]);
                if let Some(into) = into.as_deref_mut() {
                    into[i] += n;
                }
                seen += u64::from(n);
                if seen >= target {
                    // Rare: at most N times a walk.
                    while seen >= target {
                        out[next] = value_at(w * 64 + i, target, count, min, max);
                        next += 1;
                        target = ranks.get(next).copied().unwrap_or(u64::MAX);
                    }
                }
            }
        }
        self.count = 0;
        self.min = u64::MAX;
        self.max = 0;
        out
    }

    /// Adds `n` values to bucket `b` (restoring an image; min and max set
    /// by the caller). Past `u32::MAX` values in all, both sides are halved.
    fn add_bucket(&mut self, b: usize, mut n: u32) {
        while self.count + u64::from(n) > u64::from(u32::MAX) {
            self.halve();
            n = n.div_ceil(2);
        }
        let (w, i) = (b / 64, b % 64);
        if let (Some(block), Some(bits)) = (self.counts.get_mut(w), self.occupied.get_mut(w)) {
            block[i] += n;
            *bits |= 1 << i;
            self.count += u64::from(n);
        }
    }
}

/// An [`IntervalHistogram`] as stored in engine images: only its occupied
/// buckets, as `(bucket, count)` pairs.
#[derive(Serialize, Deserialize)]
struct IntervalImage {
    buckets: Vec<(u32, u32)>,
    count: u64,
    min: u64,
    max: u64,
}

/// What images made before interval histograms stored instead: the
/// interval's raw values (every `2^stride_log2`-th one once thinned).
#[derive(Deserialize)]
struct IntervalValuesImage {
    values: Vec<u32>,
    #[serde(rename = "seen")]
    _seen: serde::de::IgnoredAny,
    stride_log2: u32,
}

/// Either form, told apart by shape (the old one's first field is a list
/// of numbers, the new one's a list of pairs).
#[derive(Deserialize)]
#[serde(untagged)]
enum StoredInterval {
    Buckets(IntervalImage),
    Values(IntervalValuesImage),
}

impl Serialize for IntervalHistogram {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let buckets = self
            .counts
            .as_flattened()
            .iter()
            .enumerate()
            .filter(|(_, c)| **c > 0)
            .map(|(b, c)| (b as u32, *c))
            .collect();
        IntervalImage {
            buckets,
            count: self.count,
            min: self.min,
            max: self.max,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for IntervalHistogram {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut h = IntervalHistogram::default();
        match StoredInterval::deserialize(d)? {
            StoredInterval::Buckets(img) => {
                for (b, n) in img.buckets {
                    if n == 0 || b as usize >= INTERVAL_BUCKETS {
                        return Err(serde::de::Error::custom(format!(
                            "interval histogram bucket {b} (count {n}) out of range"
                        )));
                    }
                    h.add_bucket(b as usize, n);
                }
                if h.count != img.count || (h.count > 0 && img.min > img.max) {
                    return Err(serde::de::Error::custom(format!(
                        "interval histogram counts {} values, its buckets {}",
                        img.count, h.count
                    )));
                }
                h.min = img.min;
                h.max = img.max;
            }
            StoredInterval::Values(old) => {
                let weight = 1u32.checked_shl(old.stride_log2).unwrap_or(1);
                for v in old.values {
                    h.record_n(u64::from(v), weight);
                }
            }
        }
        Ok(h)
    }
}

impl Histogram {
    /// An empty histogram.
    pub fn new() -> Histogram {
        Histogram {
            counts: vec![0; BUCKETS].into_boxed_slice(),
            count: 0,
            sum: 0,
            min: u64::MAX,
            max: 0,
        }
    }

    /// Adds one value.
    #[inline]
    pub fn record(&mut self, value_us: u64) {
        self.record_returning_bucket(value_us);
    }

    /// Adds one value and says which bucket took it (for
    /// [`IntervalHistogram::record_in`]).
    #[inline(always)]
    pub(crate) fn record_returning_bucket(&mut self, value_us: u64) -> usize {
        let b = bucket_of(value_us);
        if let Some(c) = self.counts.get_mut(b) {
            *c += 1;
        }
        self.count += 1;
        self.sum += u128::from(value_us);
        self.min = self.min.min(value_us);
        self.max = self.max.max(value_us);
        b
    }

    /// How many values were recorded.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The exact mean (0 when empty).
    pub fn mean(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum as f64 / self.count as f64
        }
    }

    /// The exact smallest value (0 when empty).
    pub fn min(&self) -> u64 {
        if self.count == 0 { 0 } else { self.min }
    }

    /// The exact largest value.
    pub fn max(&self) -> u64 {
        self.max
    }

    /// The value at quantile `q` (0..=1): the midpoint of the bucket holding
    /// the `ceil(q·count)`-th smallest value, clamped to [min, max] (the
    /// exact min or max when that is the smallest or largest). 0 when empty.
    pub fn quantile(&self, q: f64) -> u64 {
        if self.count == 0 {
            return 0;
        }
        let rank = rank(q, self.count);
        let mut seen = 0u64;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return value_at(i, rank, self.count, self.min, self.max);
            }
        }
        self.max
    }

    /// The usual percentiles, for reports.
    pub fn summary(&self) -> LatencySummary {
        LatencySummary {
            count: self.count,
            mean_us: self.mean(),
            min_us: self.min(),
            p50_us: self.quantile(0.50),
            p95_us: self.quantile(0.95),
            p99_us: self.quantile(0.99),
            p999_us: self.quantile(0.999),
            max_us: self.max(),
        }
    }
}

/// Percentiles of a [`Histogram`], in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LatencySummary {
    /// Values recorded.
    pub count: u64,
    /// Exact mean.
    pub mean_us: f64,
    /// Exact minimum.
    pub min_us: u64,
    /// Median.
    pub p50_us: u64,
    /// 95th percentile.
    pub p95_us: u64,
    /// 99th percentile.
    pub p99_us: u64,
    /// 99.9th percentile.
    pub p999_us: u64,
    /// Exact maximum.
    pub max_us: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_cover_values_contiguously() {
        let mut prev_hi = None;
        for i in 0..BUCKETS {
            let (lo, hi) = bucket_range(i);
            assert!(lo <= hi);
            if let Some(p) = prev_hi {
                assert_eq!(lo, p + 1, "gap before bucket {i}");
            }
            assert_eq!(bucket_of(lo), i);
            assert_eq!(bucket_of(hi), i);
            prev_hi = Some(hi);
        }
    }

    #[test]
    fn percentiles_of_uniform_values() {
        let mut h = Histogram::new();
        for v in 1..=100_000u64 {
            h.record(v);
        }
        let s = h.summary();
        assert_eq!(s.count, 100_000);
        assert_eq!(s.min_us, 1);
        assert_eq!(s.max_us, 100_000);
        assert!((s.mean_us - 50_000.5).abs() < 1e-6);
        for (got, want) in [
            (s.p50_us, 50_000.0),
            (s.p95_us, 95_000.0),
            (s.p99_us, 99_000.0),
            (s.p999_us, 99_900.0),
        ] {
            assert!(
                (got as f64 / want - 1.0).abs() < 1.0 / 64.0,
                "got {got}, want {want}"
            );
        }
    }

    #[test]
    fn small_values_are_exact_and_empty_is_zero() {
        let mut h = Histogram::new();
        assert_eq!(h.quantile(0.5), 0);
        for v in [3, 3, 7, 9] {
            h.record(v);
        }
        assert_eq!(h.quantile(0.5), 3);
        assert_eq!(h.quantile(0.75), 7);
        assert_eq!(h.quantile(1.0), 9);
        h.record(u64::MAX);
        assert_eq!(h.max(), u64::MAX);
    }

    /// A deterministic stream of uniform numbers in (0, 1).
    struct Uniform(u64);

    impl Uniform {
        fn next(&mut self) -> f64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            ((self.0 >> 11) as f64 + 0.5) / (1u64 << 53) as f64
        }
    }

    const QS: [f64; 6] = [0.0, 0.5, 0.95, 0.99, 0.999, 1.0];

    /// The exact `ceil(q·n)`-th smallest value for each of [`QS`].
    fn exact(values: &[u64]) -> [u64; 6] {
        let mut sorted = values.to_vec();
        sorted.sort_unstable();
        QS.map(|q| sorted[rank(q, sorted.len() as u64) as usize - 1])
    }

    /// Records `values` in an interval histogram and checks every figure
    /// against the exact one: within 1/128, and min and max exact.
    fn check_interval(name: &str, values: &[u64]) {
        let mut h = IntervalHistogram::default();
        for &v in values {
            h.record(v);
        }
        assert_eq!(h.count(), values.len() as u64);
        let got = h.take_quantiles(QS, None);
        let want = exact(values);
        for ((q, g), w) in QS.iter().zip(got).zip(want) {
            assert!(
                g.abs_diff(w) as f64 <= w as f64 / 128.0,
                "{name} (n = {}): q {q}: {g} vs exact {w}",
                values.len()
            );
        }
        assert_eq!((got[0], got[5]), (want[0], want[5]), "{name}: min, max");
        assert_eq!(h, IntervalHistogram::default(), "{name}: emptied");
    }

    #[test]
    fn interval_percentiles_are_within_bound_of_exact_ones() {
        let mut u = Uniform(0x2545_f491_4f6c_dd1d);
        for n in [1usize, 2, 3, 5, 10, 100, 1_000, 20_000] {
            // Exponential of mean 1 ms.
            let exp: Vec<u64> = (0..n).map(|_| (-1_000.0 * u.next().ln()) as u64).collect();
            check_interval("exponential", &exp);
            // Lognormal: median 2 ms, a long tail (σ = 1.2).
            let logn: Vec<u64> = (0..n)
                .map(|_| {
                    let z = (-2.0 * u.next().ln()).sqrt()
                        * (2.0 * std::f64::consts::PI * u.next()).cos();
                    (2_000.0 * (1.2 * z).exp()) as u64
                })
                .collect();
            check_interval("lognormal", &logn);
            // Uniform over the whole u32 range, and tiny values (exact).
            let wide: Vec<u64> = (0..n).map(|_| (u.next() * 4e9) as u64).collect();
            check_interval("wide", &wide);
            let tiny: Vec<u64> = (0..n).map(|_| (u.next() * 70.0) as u64).collect();
            check_interval("tiny values", &tiny);
        }
        check_interval("constant", &[12_345; 999]);
        check_interval("single", &[777_777]);
        check_interval("zero", &[0]);
    }

    #[test]
    fn an_empty_interval_reports_zero_and_huge_values_saturate() {
        let mut h = IntervalHistogram::default();
        assert_eq!(h.take_quantiles(QS, None), [0; 6]);
        h.record(u64::MAX);
        h.record(1);
        let max = u64::from(u32::MAX);
        assert_eq!(h.take_quantiles([0.0, 1.0], None), [1, max]);
    }

    #[test]
    fn merged_intervals_equal_one_interval_of_all_values() {
        let mut u = Uniform(7);
        let (mut a, mut b, mut all, mut merged) = (
            IntervalHistogram::default(),
            IntervalHistogram::default(),
            IntervalHistogram::default(),
            IntervalHistogram::default(),
        );
        let mut whole = Histogram::new();
        for i in 0..5_000 {
            let v = (-800.0 * u.next().ln()) as u64 + if i % 3 == 0 { 50_000 } else { 0 };
            if i % 2 == 0 { &mut a } else { &mut b }.record(v);
            all.record(v);
            whole.record(v);
        }
        let qa = a.take_quantiles(QS, Some(&mut merged));
        b.take_quantiles(QS, Some(&mut merged));
        assert_eq!(merged, all, "same buckets, count, min and max");
        let q = merged.take_quantiles(QS, None);
        assert_eq!(q, QS.map(|x| whole.quantile(x)), "as the whole run reports");
        assert_ne!(qa, q);
    }

    #[test]
    fn a_full_interval_halves_its_counts_and_goes_on() {
        let mut h = IntervalHistogram::default();
        // Near u32::MAX values in two buckets, 3:1.
        h.add_bucket(bucket_of(100), 3 * (u32::MAX / 4));
        h.add_bucket(bucket_of(10_000), u32::MAX / 4 - 8);
        h.min = 100;
        h.max = 10_000;
        for _ in 0..100 {
            h.record(10_000);
        }
        assert!(h.count() < u64::from(u32::MAX), "{}", h.count());
        let q = h.take_quantiles([0.5, 0.74, 0.76, 1.0], None);
        assert_eq!(q, [100, 100, 10_000, 10_000]);
    }

    #[test]
    fn interval_images_round_trip_and_old_raw_values_still_load() {
        let mut h = IntervalHistogram::default();
        for v in [5u64, 5, 900, 70_000, 3] {
            h.record(v);
        }
        let bytes = rmp_serde::to_vec(&h).expect("encodes");
        let back: IntervalHistogram = rmp_serde::from_slice(&bytes).expect("decodes");
        assert_eq!(back, h);
        let json = serde_json::to_string(&h).expect("json");
        assert_eq!(
            serde_json::from_str::<IntervalHistogram>(&json).ok(),
            Some(h)
        );

        // The older form, a struct of raw values (as an array, the way
        // images encode structs), thinned to every 2nd value.
        #[derive(Serialize)]
        struct Old {
            values: Vec<u32>,
            seen: u64,
            stride_log2: u32,
        }
        let old = Old {
            values: vec![40, 10, 30],
            seen: 6,
            stride_log2: 1,
        };
        let bytes = rmp_serde::to_vec(&old).expect("encodes");
        let mut back: IntervalHistogram = rmp_serde::from_slice(&bytes).expect("old form");
        assert_eq!(back.count(), 6, "each kept value stands for 2");
        assert_eq!(back.take_quantiles([0.0, 0.5, 1.0], None), [10, 30, 40]);
        let empty = Old {
            values: vec![],
            seen: 0,
            stride_log2: 0,
        };
        let bytes = rmp_serde::to_vec(&empty).expect("encodes");
        let back: IntervalHistogram = rmp_serde::from_slice(&bytes).expect("old empty");
        assert_eq!(back, IntervalHistogram::default());

        // A bucket past the end is refused, not a panic.
        let bad = IntervalImage {
            buckets: vec![(INTERVAL_BUCKETS as u32, 1)],
            count: 1,
            min: 1,
            max: 1,
        };
        let bytes = rmp_serde::to_vec(&bad).expect("encodes");
        assert!(rmp_serde::from_slice::<IntervalHistogram>(&bytes).is_err());
    }
}
