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

/// `low_core_utilization`: see [`LowCoreUtilization`]. The window runs from the first task
/// launch to the application end (start-up before the first task is left out); the allocated
/// core time in it is estimated as `max_cores × window`, capped by the allocated total. The
/// message splits the idle core time into driver-only stretches (no task at all) and
/// under-filled stages (tasks running on fewer cores than allocated).
pub fn low_core_utilization(model: &Model, th: &LowCoreUtilization) -> Option<Insight> {
    let t = &model.totals;
    let duration = app_duration(model)?;
    let leading = leading_idle(model);
    let window = duration.saturating_sub(leading);
    if window < th.min_busy_ms || t.max_cores < th.min_cores {
        return None;
    }
    let allocated = (t.max_cores * window).min(if t.core_ms_allocated > 0 {
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
    // Idle core time with no task at all (driver-only), and while tasks ran.
    let no_task = t.driver_idle_ms.saturating_sub(leading) * t.max_cores;
    let idle_core_ms = allocated.saturating_sub(t.core_ms_used);
    let no_task = no_task.min(idle_core_ms);
    let underfilled = idle_core_ms - no_task;
    Some(
        Draft::new(
            InsightKind::LowCoreUtilization,
            severity,
            "Low core utilization",
        )
        .message(format!(
            "After the first task started, {} of the {} allocated cores' time was idle ({} of {} core time): {} while no task ran at all (driver-only time) and {} while stages ran fewer tasks than cores. Give stages at least 2–3 tasks per core (raise spark.sql.shuffle.partitions or .repartition() the input), shorten driver-only work, or allocate fewer cores (spark.executor.cores / spark.executor.instances, or spark.dynamicAllocation.enabled=true so idle executors are released).",
            fmt::pct(idle),
            t.max_cores,
            fmt::duration_ms(idle_core_ms),
            fmt::duration_ms(allocated),
            fmt::duration_ms(no_task),
            fmt::duration_ms(underfilled),
        ))
        .evidence("idle_share", round2(idle))
        .evidence("window_ms", window)
        .evidence("max_cores", t.max_cores)
        .evidence("used_core_ms", t.core_ms_used)
        .evidence("allocated_core_ms", allocated)
        .evidence("no_task_idle_core_ms", no_task)
        .evidence("underfilled_idle_core_ms", underfilled)
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
