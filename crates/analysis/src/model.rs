//! The performance model folded from one application's event stream.
//!
//! Everything here is *raw*: descriptions, failure reasons and plan text are kept as Spark wrote
//! them (the [`crate::summary`] redacts on the way out). Numbers follow Spark History Server's
//! meanings (see `AppStatusListener`): a stage attempt's metrics sum the final metrics of every
//! task that ended in it (successful, failed and killed alike), `num_complete_tasks` counts
//! successful ends, `num_killed_tasks` counts `TaskKilled` and `TaskCommitDenied` ends, every
//! other unsuccessful end is a failure, and stages listed by a job that never got submitted are
//! `SKIPPED` once that job ends. Units: times in ms, except `executor_cpu_time` in ns.
//!
//! The model never holds per-task data for the whole application: tasks are folded into sums
//! and [`LogHistogram`] sketches as they end; only the set of running task ids is kept.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::sketch::{LogHistogram, Quantiles};

mod fold;

pub use fold::ModelBuilder;

/// Job status, with History Server's strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum JobStatus {
    Running,
    Succeeded,
    Failed,
    Unknown,
}

/// Stage-attempt status, with History Server's strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StageStatus {
    Active,
    Complete,
    Failed,
    Pending,
    Skipped,
}

/// A job (`SparkListenerJobStart` .. `SparkListenerJobEnd`).
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub job_id: u32,
    pub status: JobStatus,
    /// Name as the History Server shows it: the name of the job's last stage (a call site).
    pub name: String,
    /// `spark.job.description` (raw; may hold user text).
    pub description: Option<String>,
    pub job_group: Option<String>,
    pub sql_execution_id: Option<u64>,
    pub stage_ids: Vec<u32>,
    /// Tasks of the job's stages that had not completed when the job was submitted.
    pub num_tasks: u64,
    pub num_completed_tasks: u64,
    pub num_failed_tasks: u64,
    pub num_killed_tasks: u64,
    pub num_skipped_tasks: u64,
    pub num_skipped_stages: u32,
    pub num_failed_stages: u32,
    pub submission_time: Option<i64>,
    pub completion_time: Option<i64>,
    /// Raw failure text from `JobFailed` (raw; may hold user data).
    pub failure_reason: Option<String>,
}

impl Job {
    /// `completion_time - submission_time`, when both are known.
    pub fn duration_ms(&self) -> Option<i64> {
        Some(self.completion_time? - self.submission_time?)
    }
}

/// Sums of task metrics over the tasks of a stage attempt (History Server's stage numbers).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskMetricSums {
    pub executor_deserialize_time: u64,
    pub executor_deserialize_cpu_time: u64,
    pub executor_run_time: u64,
    /// Nanoseconds.
    pub executor_cpu_time: u64,
    pub result_size: u64,
    pub jvm_gc_time: u64,
    pub result_serialization_time: u64,
    pub memory_bytes_spilled: u64,
    pub disk_bytes_spilled: u64,
    /// Sum over tasks of each task's peak execution memory (History Server's stage number).
    pub peak_execution_memory: u64,
    pub input_bytes: u64,
    pub input_records: u64,
    pub output_bytes: u64,
    pub output_records: u64,
    /// Local + remote bytes read.
    pub shuffle_read_bytes: u64,
    pub shuffle_read_records: u64,
    pub shuffle_remote_bytes_read: u64,
    pub shuffle_fetch_wait_time: u64,
    pub shuffle_write_bytes: u64,
    pub shuffle_write_records: u64,
    /// Nanoseconds.
    pub shuffle_write_time: u64,
}

/// The slowest successful task of a stage attempt and what it read.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SlowestTask {
    pub task_id: u64,
    pub duration_ms: u64,
    pub input_bytes: u64,
    pub shuffle_read_bytes: u64,
    /// The task's share of the stage attempt's input bytes (0..=1; 0 when the stage read none).
    pub input_share: f64,
    /// The task's share of the stage attempt's shuffle-read bytes (0..=1).
    pub shuffle_read_share: f64,
}

/// Task-level distribution facts the insight rules use (all from successful tasks).
#[derive(Debug, Clone, PartialEq)]
pub struct TaskStats {
    /// Successful tasks (the population of the quantiles below).
    pub successful_tasks: u64,
    /// Task duration (finish − launch) quantiles, ms; error bound: [`crate::sketch::RELATIVE_ERROR`].
    pub duration: Option<Quantiles>,
    /// Task duration quantiles as History Server's `taskSummary` computes them: ranks from the
    /// number of successful tasks (`min(floor(q·n), n−1)`), values from its duration index,
    /// which holds every task that started and ended (failed and killed ones included) and, in a
    /// completed application, tasks that never ended, measured up to the log's last write.
    /// Equal to `duration` when every task succeeded.
    pub shs_duration: Option<Quantiles>,
    /// Per-task `input bytes + shuffle read bytes` quantiles.
    pub read_bytes: Option<Quantiles>,
    /// Per-task executor run time quantiles, ms.
    pub run_time: Option<Quantiles>,
    pub slowest: Option<SlowestTask>,
    /// `jvm_gc_time / executor_run_time` over all tasks of the attempt (0 when no run time).
    pub gc_time_share: f64,
    /// Speculative task launches seen in this attempt.
    pub speculative_tasks: u64,
}

/// One attempt of one stage.
#[derive(Debug, Clone, PartialEq)]
pub struct StageAttempt {
    pub stage_id: u32,
    pub attempt_id: u32,
    pub name: String,
    pub status: StageStatus,
    pub job_ids: Vec<u32>,
    pub num_tasks: u64,
    pub num_active_tasks: u64,
    pub num_complete_tasks: u64,
    pub num_failed_tasks: u64,
    pub num_killed_tasks: u64,
    pub submission_time: Option<i64>,
    pub first_task_launched_time: Option<i64>,
    pub completion_time: Option<i64>,
    /// Raw failure text (may hold user data).
    pub failure_reason: Option<String>,
    pub metrics: TaskMetricSums,
    pub tasks: TaskStats,
    /// Peak executor memory metrics reported for this attempt (name → bytes / count).
    pub peak_executor_metrics: BTreeMap<String, i64>,
}

impl StageAttempt {
    /// `completion_time - submission_time`, when both are known.
    pub fn duration_ms(&self) -> Option<i64> {
        Some(self.completion_time? - self.submission_time?)
    }
}

/// An executor (the `driver` executor in local mode included).
#[derive(Debug, Clone, PartialEq)]
pub struct Executor {
    pub executor_id: String,
    pub host: Option<String>,
    pub total_cores: u32,
    /// Storage memory of its block manager (bytes), when reported.
    pub max_memory: Option<u64>,
    pub add_time: Option<i64>,
    pub remove_time: Option<i64>,
    /// Raw removal reason.
    pub remove_reason: Option<String>,
    pub total_tasks: u64,
    pub completed_tasks: u64,
    pub failed_tasks: u64,
    pub killed_tasks: u64,
    /// Sum of task durations (ms).
    pub total_duration_ms: u64,
    pub total_gc_time_ms: u64,
    pub total_input_bytes: u64,
    pub total_shuffle_read_bytes: u64,
    pub total_shuffle_write_bytes: u64,
    /// Peak executor metrics (`JVMHeapMemory`, `ProcessTreeJVMRSSMemory`, …).
    pub peak_metrics: BTreeMap<String, i64>,
}

/// One SQL metric of a plan node, with the value aggregated from task and driver updates.
#[derive(Debug, Clone, PartialEq)]
pub struct SqlMetric {
    pub node_name: String,
    pub name: String,
    /// Spark's metric type: `sum`, `size`, `timing`, `nsTiming`, `average`.
    pub metric_type: String,
    pub accumulator_id: u64,
    /// Sum of all updates (for `size`/`timing` metrics, the total).
    pub value: i64,
    /// Largest single update (e.g. the biggest task's share).
    pub max_update: i64,
    pub updates: u64,
}

/// One SQL execution (`SparkListenerSQLExecutionStart` .. `End`).
#[derive(Debug, Clone, PartialEq)]
pub struct SqlExecution {
    pub execution_id: u64,
    pub root_execution_id: Option<u64>,
    /// Raw description (usually the SQL text or call site).
    pub description: String,
    pub start_time: Option<i64>,
    pub end_time: Option<i64>,
    /// Raw error message when the execution failed.
    pub error_message: Option<String>,
    /// The latest physical plan text (after adaptive re-planning), raw.
    pub physical_plan: String,
    /// Every node name of the latest plan tree, in pre-order.
    pub node_names: Vec<String>,
    pub metrics: Vec<SqlMetric>,
    pub job_ids: Vec<u32>,
}

impl SqlExecution {
    /// `end_time - start_time`, when both are known.
    pub fn duration_ms(&self) -> Option<i64> {
        Some(self.end_time? - self.start_time?)
    }
}

/// A stretch of time with no task running while the application was up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct IdleStretch {
    pub start_time: i64,
    pub end_time: i64,
    pub duration_ms: i64,
}

/// Application-wide totals.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Totals {
    pub jobs: u64,
    pub failed_jobs: u64,
    pub stages: u64,
    pub failed_stages: u64,
    pub skipped_stages: u64,
    pub tasks: u64,
    pub failed_tasks: u64,
    pub killed_tasks: u64,
    pub speculative_tasks: u64,
    pub executors: u64,
    /// Most cores allocated at one time.
    pub max_cores: u64,
    /// Σ executor cores × time alive (ms), up to the app end (or the last event seen).
    pub core_ms_allocated: u64,
    /// Σ task durations (ms): the core time tasks actually occupied.
    pub core_ms_used: u64,
    /// `1 - used / allocated` (0 when nothing was allocated).
    pub idle_share: f64,
    pub executor_run_time: u64,
    pub executor_cpu_time: u64,
    pub jvm_gc_time: u64,
    pub input_bytes: u64,
    pub output_bytes: u64,
    pub shuffle_read_bytes: u64,
    pub shuffle_write_bytes: u64,
    pub memory_bytes_spilled: u64,
    pub disk_bytes_spilled: u64,
    /// Total time with no task running between app start and end (ms).
    pub driver_idle_ms: u64,
    /// The longest idle stretches (at most [`Totals::MAX_IDLE_STRETCHES`], longest first).
    pub idle_stretches: Vec<IdleStretch>,
}

impl Totals {
    /// How many idle stretches are kept.
    pub const MAX_IDLE_STRETCHES: usize = 20;

    /// Core-hours allocated.
    pub fn core_hours_allocated(&self) -> f64 {
        self.core_ms_allocated as f64 / 3_600_000.0
    }

    /// Core-hours used by tasks.
    pub fn core_hours_used(&self) -> f64 {
        self.core_ms_used as f64 / 3_600_000.0
    }
}

/// Application facts the model needs besides the `app` section.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AppFacts {
    pub app_id: Option<String>,
    pub attempt_id: Option<String>,
    pub name: Option<String>,
    pub user: Option<String>,
    pub spark_version: Option<String>,
    pub start_time: Option<i64>,
    pub end_time: Option<i64>,
    pub exit_code: Option<i64>,
    /// Latest event timestamp seen (for in-progress logs).
    pub last_event_time: Option<i64>,
    /// Spark properties from `SparkListenerEnvironmentUpdate` (raw, unredacted).
    pub spark_properties: BTreeMap<String, String>,
    /// True when the application ran in local mode (`spark.master` starts with `local`).
    pub local_mode: bool,
}

/// The whole model of one application.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Model {
    pub app: AppFacts,
    /// Sorted by job id.
    pub jobs: Vec<Job>,
    /// Sorted by (stage id, attempt id).
    pub stages: Vec<StageAttempt>,
    /// Sorted by executor id as added.
    pub executors: Vec<Executor>,
    /// Sorted by execution id.
    pub sql: Vec<SqlExecution>,
    pub totals: Totals,
    /// Running tasks over time (bounded buckets), for the report's core-usage chart.
    pub usage: crate::report::usage::CoreUsage,
}

impl Model {
    /// Stage attempts of one stage id.
    pub fn stage_attempts(&self, stage_id: u32) -> impl Iterator<Item = &StageAttempt> {
        self.stages.iter().filter(move |s| s.stage_id == stage_id)
    }
}

/// Re-exported so rule code can build sketches for its own tests.
pub type Histogram = LogHistogram;
