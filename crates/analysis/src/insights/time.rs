//! Time-line rules: `low_core_utilization`, `driver_idle`.

use crate::model::Model;
use crate::report::fmt;
use crate::summary::{Insight, InsightKind, Severity};

use super::{round2, Draft, DriverIdle, LowCoreUtilization};

/// Application duration (end, or last event seen, minus start), ms.
fn app_duration(model: &Model) -> Option<u64> {
    let start = model.app.start_time?;
    let end = model.app.end_time.or(model.app.last_event_time)?;
    u64::try_from(end - start).ok()
}

/// Time from application start to the first task launch (JVM and session start-up).
fn leading_idle(model: &Model) -> u64 {
    let first = model
        .stages
        .iter()
        .filter_map(|s| s.first_task_launched_time)
        .min();
    match (model.app.start_time, first) {
        (Some(s), Some(f)) => u64::try_from(f - s).unwrap_or(0),
        _ => 0,
    }
}

/// `low_core_utilization`: see [`LowCoreUtilization`]. Busy time is the application's duration
/// minus the time with no task running; the allocated core time during it is estimated as
/// `max_cores × busy` (capped by the allocated total).
pub fn low_core_utilization(model: &Model, th: &LowCoreUtilization) -> Option<Insight> {
    let t = &model.totals;
    let duration = app_duration(model)?;
    let busy = duration.saturating_sub(t.driver_idle_ms);
    if busy < th.min_busy_ms || t.max_cores < th.min_cores {
        return None;
    }
    let allocated = (t.max_cores * busy).min(if t.core_ms_allocated > 0 {
        t.core_ms_allocated
    } else {
        u64::MAX
    });
    if allocated == 0 {
        return None;
    }
    let idle = 1.0 - (t.core_ms_used as f64 / allocated as f64).min(1.0);
    if idle < th.min_idle_share {
        return None;
    }
    let severity = if idle >= th.critical_idle_share {
        Severity::Critical
    } else {
        Severity::Warning
    };
    Some(
        Draft::new(
            InsightKind::LowCoreUtilization,
            severity,
            "Low core utilization",
        )
        .message(format!(
            "While tasks were running ({} of the run), {} of the {} allocated cores' time was idle: stages had fewer runnable tasks than cores, or waited on a few stragglers. Give stages at least 2–3 tasks per core (raise spark.sql.shuffle.partitions or .repartition() the input), or allocate fewer cores (spark.executor.cores / spark.executor.instances, or spark.dynamicAllocation.enabled=true so idle executors are released).",
            fmt::duration_ms(busy),
            fmt::pct(idle),
            t.max_cores,
        ))
        .evidence("idle_share", round2(idle))
        .evidence("busy_ms", busy)
        .evidence("max_cores", t.max_cores)
        .evidence("core_ms_used", t.core_ms_used)
        .evidence("core_ms_allocated_busy", allocated)
        .threshold("min_idle_share", th.min_idle_share)
        .threshold("min_busy_ms", th.min_busy_ms as f64)
        .build(),
    )
}

/// `driver_idle`: see [`DriverIdle`].
pub fn driver_idle(model: &Model, th: &DriverIdle) -> Option<Insight> {
    let t = &model.totals;
    let duration = app_duration(model)?;
    if duration == 0 {
        return None;
    }
    let leading = leading_idle(model);
    let idle = t.driver_idle_ms.saturating_sub(leading);
    let share = idle as f64 / duration as f64;
    if idle < th.min_idle_ms || share < th.min_idle_share {
        return None;
    }
    let start = model.app.start_time.unwrap_or(0);
    let longest = t
        .idle_stretches
        .iter()
        .filter(|s| s.start_time > start || leading == 0)
        .max_by_key(|s| s.duration_ms);
    let severity = if share >= th.critical_idle_share {
        Severity::Critical
    } else {
        Severity::Warning
    };
    let mut d = Draft::new(InsightKind::DriverIdle, severity, "Driver-only time")
        .message(format!(
            "For {} ({} of the run) after the first task started, no task was running on any executor{}: the driver was working alone (Python or pandas code, collect()/toPandas() of large results, file listing, sleeps) while executors sat idle. Move that work into Spark (DataFrame operations instead of driver-side loops), avoid collecting large results, and enable spark.dynamicAllocation.enabled so executors are released while the driver works.",
            fmt::duration_ms(idle),
            fmt::pct(share),
            longest
                .map(|s| format!(
                    "; the longest stretch lasted {}, starting {} into the run",
                    fmt::duration_i(s.duration_ms),
                    fmt::duration_i(s.start_time - start)
                ))
                .unwrap_or_default(),
        ))
        .evidence("idle_ms", idle)
        .evidence("idle_share", round2(share))
        .evidence("startup_idle_ms", leading)
        .evidence("app_duration_ms", duration)
        .threshold("min_idle_ms", th.min_idle_ms as f64)
        .threshold("min_idle_share", th.min_idle_share);
    if let Some(s) = longest {
        d = d
            .evidence("longest_idle_ms", s.duration_ms)
            .evidence("longest_idle_start_offset_ms", s.start_time - start);
    }
    Some(d.build())
}
