//! Failure rules: `task_failures`, `job_failure`.

use crate::model::{JobStatus, Model, StageAttempt, StageStatus};
use crate::summary::{Insight, InsightKind, Severity};

use super::{round2, Draft, JobFailure, TaskFailures};

/// `task_failures`: see [`TaskFailures`].
pub fn task_failures(model: &Model, th: &TaskFailures) -> Option<Insight> {
    let hit: Vec<&StageAttempt> = model
        .stages
        .iter()
        .filter(|s| s.num_failed_tasks > 0)
        .collect();
    let failed: u64 = hit.iter().map(|s| s.num_failed_tasks).sum();
    if failed < th.min_failed_tasks || failed == 0 {
        return None;
    }
    let rate = |s: &StageAttempt| {
        s.num_failed_tasks as f64 / (s.num_failed_tasks + s.num_complete_tasks).max(1) as f64
    };
    let worst = hit.iter().max_by(|a, b| rate(a).total_cmp(&rate(b)))?;
    let worst_rate = rate(worst);
    let severity = if worst_rate >= th.critical_failure_rate {
        Severity::Critical
    } else {
        Severity::Warning
    };
    let failed_stages = model
        .stages
        .iter()
        .filter(|s| s.status == StageStatus::Failed)
        .count() as u64;
    let mut ids: Vec<u64> = hit.iter().map(|s| u64::from(s.stage_id)).collect();
    ids.dedup();
    Some(
        Draft::new(InsightKind::TaskFailures, severity, "Task failures")
            .message(format!(
                "{failed} task attempt(s) failed in {} stage(s); in stage {} {} of its task attempts failed. Each failure re-runs the task (up to spark.task.maxFailures times) and often points at bad input rows, an exception in user code or executors running out of memory. Read the stage's failure reason below, fix the cause (guard the UDF against the bad values, give executors more memory), rather than raising spark.task.maxFailures.",
                ids.len(),
                worst.stage_id,
                crate::report::fmt::pct(worst_rate),
            ))
            .evidence("failed_tasks", failed)
            .evidence("stage_ids", ids)
            .evidence("stage_id", worst.stage_id)
            .evidence("stage_failure_rate", round2(worst_rate))
            .evidence("failed_stages", failed_stages)
            .threshold("min_failed_tasks", th.min_failed_tasks as f64)
            .build(),
    )
}

/// A job the user (or the application) cancelled on purpose — `cancelJobGroup`, `cancelJob`,
/// `cancelAllJobs` — ends as `JobFailed` too, but is not a failure. Spark's own message says
/// so (`[SPARK_JOB_CANCELLED] Job 0 cancelled part of cancelled job group …` in Spark 4,
/// `Job 0 cancelled …` before); a job cancelled because the SparkContext shut down still counts.
fn cancelled_on_purpose(reason: Option<&str>) -> bool {
    let Some(r) = reason else { return false };
    let cancelled =
        r.contains("SPARK_JOB_CANCELLED") || (r.starts_with("Job ") && r.contains(" cancelled"));
    cancelled && !r.contains("SparkContext was shut down")
}

/// `job_failure`: see [`JobFailure`]. Jobs cancelled on purpose are left out.
pub fn job_failure(model: &Model, th: &JobFailure) -> Option<Insight> {
    let failed: Vec<u64> = model
        .jobs
        .iter()
        .filter(|j| j.status == JobStatus::Failed)
        .filter(|j| !cancelled_on_purpose(j.failure_reason.as_deref()))
        .map(|j| u64::from(j.job_id))
        .collect();
    if (failed.len() as u64) < th.min_failed_jobs || failed.is_empty() {
        return None;
    }
    let failed_stages: Vec<u64> = model
        .stages
        .iter()
        .filter(|s| s.status == StageStatus::Failed)
        .map(|s| u64::from(s.stage_id))
        .collect();
    Some(
        Draft::new(InsightKind::JobFailure, Severity::Critical, "Job failed")
            .message(format!(
                "{} job(s) failed (job {}{}), so the run's results are missing or partial. The job's failure reason (below, with literal values masked) names the failing stage and the exception; fix that cause and re-run. If executors were lost, give them more memory (spark.executor.memory, spark.executor.memoryOverhead).",
                failed.len(),
                crate::report::fmt::ids(&failed, 5),
                if failed_stages.is_empty() {
                    String::new()
                } else {
                    format!("; failed stage {}", crate::report::fmt::ids(&failed_stages, 5))
                }
            ))
            .evidence("job_ids", failed.clone())
            .evidence("failed_jobs", failed.len() as u64)
            .evidence("failed_stage_ids", failed_stages)
            .threshold("min_failed_jobs", th.min_failed_jobs as f64)
            .build(),
    )
}

#[cfg(test)]
mod tests {
    use super::cancelled_on_purpose;

    #[test]
    fn cancellation_is_not_failure() {
        assert!(cancelled_on_purpose(Some(
            "[SPARK_JOB_CANCELLED] Job 0 cancelled part of cancelled job group g SQLSTATE: XXKDA"
        )));
        assert!(cancelled_on_purpose(Some(
            "Job 3 cancelled part of cancelled job group g"
        )));
        assert!(!cancelled_on_purpose(Some(
            "[SPARK_JOB_CANCELLED] Job 3 cancelled because SparkContext was shut down"
        )));
        assert!(!cancelled_on_purpose(Some(
            "Job aborted due to stage failure: Task 0 in stage 1.0 failed 4 times"
        )));
        assert!(!cancelled_on_purpose(None));
    }
}
