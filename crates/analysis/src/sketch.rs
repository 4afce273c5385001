//! A bounded-memory quantile sketch for non-negative integers (task durations in ms, bytes).
//!
//! [`LogHistogram`] is a log-bucketed histogram in the style of HdrHistogram: values below
//! `2 * SUB_BUCKETS` (256) get a bucket each and are therefore **exact**; larger values fall in
//! buckets whose width is at most `value / SUB_BUCKETS`, and a quantile inside such a bucket is
//! reported as the bucket's midpoint. The reported value therefore differs from the exact one by
//! at most [`RELATIVE_ERROR`] (`1 / 256`, 0.39 %) of the exact value. Minimum and maximum are
//! tracked exactly.
//!
//! Ranks follow Spark History Server's `taskSummary`: for `n` values sorted ascending, quantile
//! `q` is the value at 0-based index `min(floor(q * n), n - 1)`.
//!
//! Memory is one `(bucket, count)` pair per distinct bucket in use (at most ~7,400 for the whole
//! `u64` range, typically tens), independent of how many values were recorded.

use serde::{Deserialize, Serialize};

/// Sub-buckets per power of two above the exact range.
const SUB_BITS: u32 = 7;
const SUB_BUCKETS: u64 = 1 << SUB_BITS;

/// Upper bound of `|reported - exact| / exact` for any quantile (0 below 256).
pub const RELATIVE_ERROR: f64 = 1.0 / (2 * SUB_BUCKETS) as f64;

/// Streaming histogram with exact small values and ≤ [`RELATIVE_ERROR`] above.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogHistogram {
    /// `(bucket index, count)`, sorted by bucket index.
    buckets: Vec<(u32, u64)>,
    count: u64,
    min: u64,
    max: u64,
}

fn bucket_of(v: u64) -> u32 {
    if v < 2 * SUB_BUCKETS {
        return v as u32;
    }
    let e = 63 - v.leading_zeros();
    let shift = e - SUB_BITS;
    ((u64::from(shift) + 1) * SUB_BUCKETS + ((v >> shift) - SUB_BUCKETS)) as u32
}

/// Inclusive value range `[lo, hi]` of a bucket.
fn bucket_range(idx: u32) -> (u64, u64) {
    let idx = u64::from(idx);
    if idx < 2 * SUB_BUCKETS {
        return (idx, idx);
    }
    let shift = idx / SUB_BUCKETS - 1;
    let sub = idx % SUB_BUCKETS + SUB_BUCKETS;
    let lo = sub << shift;
    (lo, lo + ((1u64 << shift) - 1))
}

impl LogHistogram {
    /// An empty histogram.
    pub fn new() -> Self {
        Self::default()
    }

    /// Record one value.
    pub fn record(&mut self, v: u64) {
        if self.count == 0 {
            self.min = v;
            self.max = v;
        } else {
            self.min = self.min.min(v);
            self.max = self.max.max(v);
        }
        self.count += 1;
        let b = bucket_of(v);
        // Values of one stage cluster: the last bucket touched is the likeliest hit.
        match self.buckets.binary_search_by_key(&b, |&(idx, _)| idx) {
            Ok(i) => self.buckets[i].1 += 1,
            Err(i) => self.buckets.insert(i, (b, 1)),
        }
    }

    /// Number of values recorded.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Smallest value recorded (exact), if any.
    pub fn min(&self) -> Option<u64> {
        (self.count > 0).then_some(self.min)
    }

    /// Largest value recorded (exact), if any.
    pub fn max(&self) -> Option<u64> {
        (self.count > 0).then_some(self.max)
    }

    /// Value at quantile `q` (0..=1) with History Server's rank rule; `None` when empty.
    pub fn quantile(&self, q: f64) -> Option<u64> {
        self.quantile_of(q, self.count)
    }

    /// Value at History Server's rank for quantile `q` of a population of `n` values
    /// (`min(floor(q * n), n - 1)`), looked up in this histogram's ascending order. `n` may be
    /// smaller than [`LogHistogram::count`]: the History Server ranks task durations by the
    /// number of successful tasks while its duration index also holds failed and killed ones.
    pub fn quantile_of(&self, q: f64, n: u64) -> Option<u64> {
        let n = n.min(self.count);
        if n == 0 {
            return None;
        }
        let q = q.clamp(0.0, 1.0);
        let rank = ((q * n as f64) as u64).min(n - 1);
        if rank == 0 {
            return Some(self.min);
        }
        if rank == self.count - 1 {
            return Some(self.max);
        }
        let mut seen = 0u64;
        for &(idx, c) in &self.buckets {
            seen += c;
            if seen > rank {
                let (lo, hi) = bucket_range(idx);
                let mid = lo + (hi - lo) / 2;
                return Some(mid.clamp(self.min, self.max));
            }
        }
        Some(self.max)
    }

    /// The five quantiles reported for a stage.
    pub fn quantiles(&self) -> Option<Quantiles> {
        self.quantiles_of(self.count)
    }

    /// The five quantiles with ranks taken from a population of `n` (see
    /// [`LogHistogram::quantile_of`]).
    pub fn quantiles_of(&self, n: u64) -> Option<Quantiles> {
        Some(Quantiles {
            min: self.quantile_of(0.0, n)?,
            p25: self.quantile_of(0.25, n)?,
            median: self.quantile_of(0.5, n)?,
            p75: self.quantile_of(0.75, n)?,
            max: self.quantile_of(1.0, n)?,
        })
    }

    /// Number of distinct buckets in use (memory is proportional to this).
    pub fn buckets_in_use(&self) -> usize {
        self.buckets.len()
    }
}

/// Five-number summary (History Server quantiles 0, 0.25, 0.5, 0.75, 1.0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Quantiles {
    pub min: u64,
    pub p25: u64,
    pub median: u64,
    pub p75: u64,
    pub max: u64,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn exact(sorted: &[u64], q: f64) -> u64 {
        let n = sorted.len() as u64;
        let i = ((q * n as f64) as u64).min(n - 1);
        sorted[i as usize]
    }

    #[test]
    fn bucket_ranges_tile_the_line() {
        let mut next = 0u64;
        for idx in 0..3000u32 {
            let (lo, hi) = bucket_range(idx);
            assert_eq!(lo, next, "bucket {idx}");
            assert!(hi >= lo);
            assert_eq!(bucket_of(lo), idx);
            assert_eq!(bucket_of(hi), idx);
            next = hi + 1;
        }
        assert_eq!(bucket_of(u64::MAX), bucket_of(u64::MAX - 1));
    }

    #[test]
    fn small_values_are_exact() {
        let mut h = LogHistogram::new();
        let vals: Vec<u64> = (0..255).rev().collect();
        for v in &vals {
            h.record(*v);
        }
        let mut s = vals.clone();
        s.sort_unstable();
        for q in [0.0, 0.05, 0.25, 0.5, 0.75, 0.95, 1.0] {
            assert_eq!(h.quantile(q), Some(exact(&s, q)));
        }
        assert_eq!(LogHistogram::new().quantiles(), None);
    }

    proptest! {
        #[test]
        fn quantiles_within_stated_error(vals in proptest::collection::vec(0u64..5_000_000, 1..400)) {
            let mut h = LogHistogram::new();
            for v in &vals { h.record(*v); }
            let mut s = vals.clone();
            s.sort_unstable();
            for q in [0.0, 0.25, 0.5, 0.75, 1.0, 0.1, 0.99] {
                let got = h.quantile(q).unwrap() as f64;
                let want = exact(&s, q) as f64;
                prop_assert!((got - want).abs() <= want * RELATIVE_ERROR,
                    "q={q} got={got} want={want}");
            }
            prop_assert_eq!(h.min(), s.first().copied());
            prop_assert_eq!(h.max(), s.last().copied());
        }
    }

    #[test]
    fn memory_stays_bounded_over_a_million_values() {
        let mut h = LogHistogram::new();
        for i in 0..1_000_000u64 {
            h.record((i * 7919) % 3_600_000);
        }
        assert!(h.buckets_in_use() < 2_500, "{}", h.buckets_in_use());
        assert_eq!(h.count(), 1_000_000);
    }
}
