//! Core usage over time, for the report's "running tasks vs allocated cores" chart.
//!
//! [`CoreUsageBuilder`] folds task intervals into at most [`MAX_BUCKETS`] time buckets: it
//! starts with [`INITIAL_BUCKET_MS`]-wide buckets and doubles their width (merging pairs)
//! whenever the run outgrows them, so memory stays bounded whatever the number of tasks or the
//! length of the run. Each bucket holds the task-milliseconds that overlap it; divided by the
//! bucket width that is the average number of running tasks.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Most buckets kept.
pub const MAX_BUCKETS: usize = 240;
/// Width of a bucket before any doubling.
pub const INITIAL_BUCKET_MS: u64 = 100;

/// Running-task time per time bucket.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CoreUsage {
    /// Epoch ms where the first bucket starts (the application start, or the first task).
    pub start_time: i64,
    /// Width of every bucket (ms).
    pub bucket_ms: u64,
    /// Task-milliseconds overlapping each bucket (÷ `bucket_ms` = average running tasks).
    pub task_ms: Vec<u64>,
}

impl CoreUsage {
    /// Average running tasks per bucket.
    pub fn running(&self) -> impl Iterator<Item = f64> + '_ {
        let w = self.bucket_ms.max(1) as f64;
        self.task_ms.iter().map(move |&t| t as f64 / w)
    }
}

/// Folds task intervals into a [`CoreUsage`].
#[derive(Debug, Clone)]
pub struct CoreUsageBuilder {
    origin: Option<i64>,
    bucket_ms: u64,
    task_ms: Vec<u64>,
}

impl Default for CoreUsageBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl CoreUsageBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self {
            origin: None,
            bucket_ms: INITIAL_BUCKET_MS,
            task_ms: Vec::new(),
        }
    }

    /// Anchor the first bucket (the application start). Ignored once tasks were added.
    pub fn set_origin(&mut self, t: i64) {
        if self.task_ms.is_empty() && t > 0 {
            self.origin = Some(t);
        }
    }

    /// Add one task that ran from `launch` to `finish` (epoch ms).
    pub fn add(&mut self, launch: i64, finish: i64) {
        if finish <= launch || launch <= 0 {
            return;
        }
        let origin = *self.origin.get_or_insert(launch);
        let a = u64::try_from(launch - origin).unwrap_or(0);
        let b = u64::try_from(finish - origin).unwrap_or(0);
        if b <= a {
            return;
        }
        while b.div_ceil(self.bucket_ms) as usize > MAX_BUCKETS {
            self.coarsen();
        }
        let w = self.bucket_ms;
        let last = ((b - 1) / w) as usize;
        if self.task_ms.len() <= last {
            self.task_ms.resize(last + 1, 0);
        }
        let mut i = (a / w) as usize;
        while i <= last {
            let lo = (i as u64 * w).max(a);
            let hi = ((i as u64 + 1) * w).min(b);
            self.task_ms[i] += hi.saturating_sub(lo);
            i += 1;
        }
    }

    fn coarsen(&mut self) {
        self.bucket_ms *= 2;
        let merged: Vec<u64> = self.task_ms.chunks(2).map(|c| c.iter().sum()).collect();
        self.task_ms = merged;
    }

    /// The usage series.
    pub fn finish(self) -> CoreUsage {
        CoreUsage {
            start_time: self.origin.unwrap_or(0),
            bucket_ms: self.bucket_ms,
            task_ms: self.task_ms,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn spreads_intervals_and_stays_bounded() {
        let mut b = CoreUsageBuilder::new();
        b.set_origin(1_000);
        b.add(1_000, 1_250); // 100 + 100 + 50
        b.add(1_050, 1_150);
        let u = b.clone().finish();
        assert_eq!(u.bucket_ms, 100);
        assert_eq!(u.task_ms, vec![150, 150, 50]);
        // A long run coarsens the buckets but keeps the total.
        b.add(1_000, 1_000 + 3_600_000);
        let u = b.finish();
        assert!(u.task_ms.len() <= MAX_BUCKETS);
        assert_eq!(u.task_ms.iter().sum::<u64>(), 350 + 3_600_000);
    }
}
