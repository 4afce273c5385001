//! Stage-level rules: `data_skew`, `spill`, `tiny_tasks`, `gc_pressure`.

use crate::model::{Model, StageAttempt, StageStatus};
use crate::report::fmt;
use crate::summary::{Insight, InsightKind, Severity};

use super::{ratio, round2, DataSkew, Draft, GcPressure, Spill, TinyTasks};

/// Stage attempts that ran tasks (skipped/pending ones have nothing to judge).
fn ran(model: &Model) -> impl Iterator<Item = &StageAttempt> {
    model
        .stages
        .iter()
        .filter(|s| !matches!(s.status, StageStatus::Skipped | StageStatus::Pending))
}

fn stage_ids(stages: &[&StageAttempt]) -> Vec<u64> {
    let mut ids: Vec<u64> = stages.iter().map(|s| u64::from(s.stage_id)).collect();
    ids.dedup();
    ids
}

/// `data_skew`: see [`DataSkew`] for the thresholds and their sources.
pub fn data_skew(model: &Model, th: &DataSkew) -> Option<Insight> {
    struct Hit<'a> {
        stage: &'a StageAttempt,
        max_ms: u64,
        median_ms: u64,
        dur_ratio: f64,
        max_read: u64,
        median_read: u64,
        read_ratio: f64,
    }
    let mut hits: Vec<Hit<'_>> = Vec::new();
    for s in ran(model) {
        if s.tasks.successful_tasks < th.min_tasks {
            continue;
        }
        let (Some(d), Some(r)) = (s.tasks.duration, s.tasks.read_bytes) else {
            continue;
        };
        // What the slowest task itself read (input + shuffle read); the largest read of any
        // task when the model did not keep the slowest task.
        let slowest_read = s
            .tasks
            .slowest
            .map_or(r.max, |t| t.input_bytes + t.shuffle_read_bytes);
        let dur_ratio = ratio(d.max, d.median);
        let read_ratio = ratio(slowest_read, r.median);
        if dur_ratio >= th.min_duration_ratio
            && read_ratio >= th.min_read_ratio
            && d.max >= th.min_max_task_ms
            && slowest_read >= th.min_max_task_read_bytes
        {
            hits.push(Hit {
                stage: s,
                max_ms: d.max,
                median_ms: d.median,
                dur_ratio,
                max_read: slowest_read,
                median_read: r.median,
                read_ratio,
            });
        }
    }
    // The worst stage is the one whose straggler wasted the most time.
    let worst = hits
        .iter()
        .max_by_key(|h| h.max_ms.saturating_sub(h.median_ms))?;
    let severity = if worst.max_ms >= th.critical_max_task_ms {
        Severity::Critical
    } else {
        Severity::Warning
    };
    let stages: Vec<&StageAttempt> = hits.iter().map(|h| h.stage).collect();
    Some(
        Draft::new(InsightKind::DataSkew, severity, "Data skew")
            .message(format!(
                "In stage {} the slowest task ran {} as long as the median task ({} vs {}) and read {} as much ({} vs {}): one key holds most of the data, and the stage waits for that one task. Salt the hot join or grouping key (add a random suffix and aggregate twice), or enable adaptive execution with spark.sql.adaptive.enabled=true and spark.sql.adaptive.skewJoin.enabled=true so Spark splits skewed partitions; filter or pre-aggregate the hot key before the join.{}",
                worst.stage.stage_id,
                fmt::times(worst.dur_ratio),
                fmt::duration_ms(worst.max_ms),
                fmt::duration_ms(worst.median_ms),
                fmt::times(worst.read_ratio),
                fmt::bytes(worst.max_read),
                fmt::bytes(worst.median_read),
                if hits.len() > 1 {
                    format!(" {} stages are affected.", hits.len())
                } else {
                    String::new()
                }
            ))
            .evidence("stage_ids", stage_ids(&stages))
            .evidence("stage_id", worst.stage.stage_id)
            .evidence("max_task_ms", worst.max_ms)
            .evidence("median_task_ms", worst.median_ms)
            .evidence("duration_ratio", round2(worst.dur_ratio))
            .evidence("max_task_read_bytes", worst.max_read)
            .evidence("median_task_read_bytes", worst.median_read)
            .evidence("read_ratio", round2(worst.read_ratio))
            .threshold("min_duration_ratio", th.min_duration_ratio)
            .threshold("min_read_ratio", th.min_read_ratio)
            .threshold("min_max_task_ms", th.min_max_task_ms as f64)
            .threshold("min_max_task_read_bytes", th.min_max_task_read_bytes as f64)
            .build(),
    )
}

/// `spill`: see [`Spill`].
pub fn spill(model: &Model, th: &Spill) -> Option<Insight> {
    let hits: Vec<&StageAttempt> = ran(model)
        .filter(|s| s.metrics.disk_bytes_spilled >= th.min_disk_spill_bytes)
        .collect();
    let worst = hits.iter().max_by_key(|s| s.metrics.disk_bytes_spilled)?;
    let disk: u64 = hits.iter().map(|s| s.metrics.disk_bytes_spilled).sum();
    let mem: u64 = hits.iter().map(|s| s.metrics.memory_bytes_spilled).sum();
    let severity = if disk >= th.critical_disk_spill_bytes {
        Severity::Critical
    } else {
        Severity::Warning
    };
    let read = worst.metrics.input_bytes + worst.metrics.shuffle_read_bytes;
    Some(
        Draft::new(InsightKind::Spill, severity, "Spill to disk")
            .message(format!(
                "{} stage(s) ran out of execution memory and spilled {} to disk ({} in memory); stage {} spilled the most ({} to disk while reading {}). Give each task more memory: raise spark.executor.memory (or spark.memory.fraction), run fewer concurrent tasks per executor (lower spark.executor.cores), or make partitions smaller by raising spark.sql.shuffle.partitions or enabling spark.sql.adaptive.enabled.",
                hits.len(),
                fmt::bytes(disk),
                fmt::bytes(mem),
                worst.stage_id,
                fmt::bytes(worst.metrics.disk_bytes_spilled),
                fmt::bytes(read),
            ))
            .evidence("stage_ids", stage_ids(&hits))
            .evidence("stage_id", worst.stage_id)
            .evidence("disk_bytes_spilled", disk)
            .evidence("memory_bytes_spilled", mem)
            .evidence("stage_disk_bytes_spilled", worst.metrics.disk_bytes_spilled)
            .evidence("stage_read_bytes", read)
            .threshold("min_disk_spill_bytes", th.min_disk_spill_bytes as f64)
            .build(),
    )
}

/// `tiny_tasks`: see [`TinyTasks`].
pub fn tiny_tasks(model: &Model, th: &TinyTasks) -> Option<Insight> {
    let hits: Vec<&StageAttempt> = ran(model)
        .filter(|s| {
            s.num_tasks > th.min_tasks
                && s.tasks
                    .duration
                    .is_some_and(|d| d.median < th.max_median_task_ms)
        })
        .collect();
    let worst = hits.iter().max_by_key(|s| s.num_tasks)?;
    let median = worst.tasks.duration.map_or(0, |d| d.median);
    let tasks: u64 = hits.iter().map(|s| s.num_tasks).sum();
    let suggested = worst.num_tasks.div_ceil(th.decrease_ratio.max(1));
    Some(
        Draft::new(InsightKind::TinyTasks, Severity::Warning, "Many tiny tasks")
            .message(format!(
                "{} stage(s) ran {} tasks in all; stage {} ran {} tasks with a median of {}, so scheduling and task start-up dominate the work. Use fewer, larger partitions: coalesce or repartition to about {} partitions (e.g. .coalesce({})), raise spark.sql.files.maxPartitionBytes for file scans, lower spark.sql.shuffle.partitions, or let adaptive execution coalesce shuffle partitions (spark.sql.adaptive.coalescePartitions.enabled=true).",
                hits.len(),
                fmt::count(tasks),
                worst.stage_id,
                fmt::count(worst.num_tasks),
                fmt::duration_ms(median),
                fmt::count(suggested),
                suggested,
            ))
            .evidence("stage_ids", stage_ids(&hits))
            .evidence("stage_id", worst.stage_id)
            .evidence("num_tasks", worst.num_tasks)
            .evidence("median_task_ms", median)
            .evidence("total_tasks", tasks)
            .evidence("suggested_partitions", suggested)
            .threshold("min_tasks", th.min_tasks as f64)
            .threshold("max_median_task_ms", th.max_median_task_ms as f64)
            .build(),
    )
}

/// `gc_pressure`: see [`GcPressure`].
pub fn gc_pressure(model: &Model, th: &GcPressure) -> Option<Insight> {
    let share = |s: &StageAttempt| ratio(s.metrics.jvm_gc_time, s.metrics.executor_run_time);
    let hits: Vec<&StageAttempt> = ran(model)
        .filter(|s| {
            s.metrics.executor_run_time >= th.min_stage_run_time_ms && share(s) >= th.min_gc_share
        })
        .collect();
    let worst = hits.iter().max_by(|a, b| share(a).total_cmp(&share(b)))?;
    let worst_share = share(worst);
    let severity = if worst_share >= th.critical_gc_share {
        Severity::Critical
    } else {
        Severity::Warning
    };
    let gc: u64 = hits.iter().map(|s| s.metrics.jvm_gc_time).sum();
    Some(
        Draft::new(InsightKind::GcPressure, severity, "GC pressure")
            .message(format!(
                "Tasks of stage {} spent {} of their run time in JVM garbage collection ({} of {}); {} stage(s) are above {}. Give executors more heap (spark.executor.memory) or run fewer tasks per executor (spark.executor.cores), cache serialized or on disk (persist(StorageLevel.MEMORY_AND_DISK_SER)) and unpersist what is no longer used, and avoid building large objects per row.",
                worst.stage_id,
                fmt::pct(worst_share),
                fmt::duration_ms(worst.metrics.jvm_gc_time),
                fmt::duration_ms(worst.metrics.executor_run_time),
                hits.len(),
                fmt::pct(th.min_gc_share),
            ))
            .evidence("stage_ids", stage_ids(&hits))
            .evidence("stage_id", worst.stage_id)
            .evidence("gc_share", round2(worst_share))
            .evidence("jvm_gc_time_ms", worst.metrics.jvm_gc_time)
            .evidence("executor_run_time_ms", worst.metrics.executor_run_time)
            .evidence("total_gc_time_ms", gc)
            .threshold("min_gc_share", th.min_gc_share)
            .threshold("min_stage_run_time_ms", th.min_stage_run_time_ms as f64)
            .build(),
    )
}
