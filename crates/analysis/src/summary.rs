//! The versioned, redacted `Summary` of one application: what `sparkplane analyze --format json`
//! prints, what is exported and stored. Its JSON Schema is `schema/summary.schema.json`
//! (generated from these types; a test keeps it current).
//!
//! Names and units follow Spark History Server's REST API under snake_case names
//! (`executor_run_time` ms, `executor_cpu_time` ns, byte counts in bytes, times in epoch ms);
//! job and stage statuses keep the History Server's strings (`SUCCEEDED`, `COMPLETE`,
//! `SKIPPED`, …). Every free-form string (names, descriptions, failure reasons, plan text)
//! passes through [`Redactor`] first.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::app::AppInfo;
use crate::model::{self, IdleStretch, JobStatus, Model, StageStatus};
use crate::redact::Redactor;
use crate::sketch::Quantiles;

/// The summary format version. Additive changes (new optional fields) bump the minor part;
/// a removed or renamed field bumps the major part.
pub const SCHEMA_VERSION: &str = "1.0";

/// How an insight's severity ranks.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

/// The stable insight kinds (see DESIGN.md; add kinds, never rename).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum InsightKind {
    DataSkew,
    Spill,
    SmallFiles,
    TaskFailures,
    JobFailure,
    TinyTasks,
    LowCoreUtilization,
    GcPressure,
    LargeBroadcast,
    PythonUdf,
    NestedLoopJoin,
    DriverIdle,
}

impl InsightKind {
    /// Every kind, in the order of DESIGN.md.
    pub const ALL: [InsightKind; 12] = [
        Self::DataSkew,
        Self::Spill,
        Self::SmallFiles,
        Self::TaskFailures,
        Self::JobFailure,
        Self::TinyTasks,
        Self::LowCoreUtilization,
        Self::GcPressure,
        Self::LargeBroadcast,
        Self::PythonUdf,
        Self::NestedLoopJoin,
        Self::DriverIdle,
    ];

    /// The stable string (`data_skew`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DataSkew => "data_skew",
            Self::Spill => "spill",
            Self::SmallFiles => "small_files",
            Self::TaskFailures => "task_failures",
            Self::JobFailure => "job_failure",
            Self::TinyTasks => "tiny_tasks",
            Self::LowCoreUtilization => "low_core_utilization",
            Self::GcPressure => "gc_pressure",
            Self::LargeBroadcast => "large_broadcast",
            Self::PythonUdf => "python_udf",
            Self::NestedLoopJoin => "nested_loop_join",
            Self::DriverIdle => "driver_idle",
        }
    }
}

/// One value of an insight's evidence: a number, a list of ids, or a short (redacted) text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Evidence {
    Int(i64),
    Float(f64),
    Ids(Vec<u64>),
    Text(String),
}

impl From<i64> for Evidence {
    fn from(v: i64) -> Self {
        Self::Int(v)
    }
}
impl From<u64> for Evidence {
    fn from(v: u64) -> Self {
        Self::Int(i64::try_from(v).unwrap_or(i64::MAX))
    }
}
impl From<u32> for Evidence {
    fn from(v: u32) -> Self {
        Self::Int(i64::from(v))
    }
}
impl From<f64> for Evidence {
    fn from(v: f64) -> Self {
        Self::Float(v)
    }
}
impl From<Vec<u64>> for Evidence {
    fn from(v: Vec<u64>) -> Self {
        Self::Ids(v)
    }
}

/// A finding: what happened, how bad, what to change, the numbers behind it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Insight {
    pub kind: InsightKind,
    pub severity: Severity,
    pub title: String,
    /// What to change.
    pub message: String,
    /// Numbers and ids (stage ids, ratios, bytes, durations).
    pub evidence: BTreeMap<String, Evidence>,
    /// The threshold(s) that fired, by name.
    pub threshold: BTreeMap<String, f64>,
}

/// The application section. Field names are a contract (issue 4 + DESIGN.md); built from
/// [`AppInfo`] with free-form strings redacted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AppSummary {
    pub id: Option<String>,
    pub attempt_id: Option<String>,
    pub name: Option<String>,
    pub user: Option<String>,
    pub spark_version: Option<String>,
    /// Epoch ms.
    pub start_time: Option<i64>,
    /// Epoch ms.
    pub end_time: Option<i64>,
    pub duration_ms: Option<i64>,
    /// The log has the application's end event.
    pub completed: bool,
    /// `succeeded|failed|running|unknown`.
    pub status: AppStatus,
    /// Allow-listed, redacted Spark configuration.
    #[serde(default)]
    pub spark_conf: BTreeMap<String, String>,
}

pub use crate::app::AppStatus;

/// Application-wide totals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TotalsSummary {
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
    pub max_cores: u64,
    pub core_hours_allocated: f64,
    pub core_hours_used: f64,
    /// Share of allocated core time with no task running (0..=1).
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
    /// Time with no task running between application start and end (ms).
    pub driver_idle_ms: u64,
    /// Longest stretches with no task running (longest first).
    pub idle_stretches: Vec<IdleStretch>,
}

/// One job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct JobSummary {
    pub job_id: u32,
    pub status: JobStatus,
    pub name: String,
    pub num_tasks: u64,
    pub num_completed_tasks: u64,
    pub num_failed_tasks: u64,
    pub num_killed_tasks: u64,
    pub num_skipped_tasks: u64,
    pub stage_ids: Vec<u32>,
    pub sql_execution_id: Option<u64>,
    pub submission_time: Option<i64>,
    pub completion_time: Option<i64>,
    pub duration_ms: Option<i64>,
    pub failure_reason: Option<String>,
    pub description: Option<String>,
}

/// The slowest successful task of a stage attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SlowestTaskSummary {
    pub task_id: u64,
    pub duration_ms: u64,
    pub input_bytes: u64,
    pub shuffle_read_bytes: u64,
    pub input_share: f64,
    pub shuffle_read_share: f64,
}

/// One stage attempt, with History Server's numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct StageSummary {
    pub stage_id: u32,
    pub attempt_id: u32,
    pub name: String,
    pub status: StageStatus,
    pub job_ids: Vec<u32>,
    pub num_tasks: u64,
    pub num_complete_tasks: u64,
    pub num_failed_tasks: u64,
    pub num_killed_tasks: u64,
    pub submission_time: Option<i64>,
    pub first_task_launched_time: Option<i64>,
    pub completion_time: Option<i64>,
    pub duration_ms: Option<i64>,
    pub failure_reason: Option<String>,
    /// ms
    pub executor_run_time: u64,
    /// ns
    pub executor_cpu_time: u64,
    /// ms
    pub executor_deserialize_time: u64,
    /// ms
    pub jvm_gc_time: u64,
    pub result_size: u64,
    pub input_bytes: u64,
    pub input_records: u64,
    pub output_bytes: u64,
    pub output_records: u64,
    pub shuffle_read_bytes: u64,
    pub shuffle_read_records: u64,
    pub shuffle_remote_bytes_read: u64,
    /// ms
    pub shuffle_fetch_wait_time: u64,
    pub shuffle_write_bytes: u64,
    pub shuffle_write_records: u64,
    /// ns
    pub shuffle_write_time: u64,
    pub memory_bytes_spilled: u64,
    pub disk_bytes_spilled: u64,
    /// Sum over tasks of their peak execution memory (History Server's stage number).
    pub peak_execution_memory: u64,
    /// Task duration (finish − launch) quantiles in ms, as History Server's `taskSummary`
    /// computes them (ranks over the successful tasks; see `model::TaskStats::shs_duration`);
    /// absent when no task succeeded. Error vs `taskSummary`: exact below 256 ms, within 1/256
    /// of the exact value above.
    pub task_duration_quantiles: Option<Quantiles>,
    /// Successful tasks' `input + shuffle read` bytes quantiles (same error bound).
    pub task_read_bytes_quantiles: Option<Quantiles>,
    pub successful_tasks: u64,
    pub speculative_tasks: u64,
    /// `jvm_gc_time / executor_run_time` (0..=1).
    pub gc_time_share: f64,
    pub slowest_task: Option<SlowestTaskSummary>,
}

/// One executor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ExecutorSummary {
    pub executor_id: String,
    pub host: Option<String>,
    pub total_cores: u32,
    pub max_memory: Option<u64>,
    pub add_time: Option<i64>,
    pub remove_time: Option<i64>,
    pub remove_reason: Option<String>,
    pub total_tasks: u64,
    pub completed_tasks: u64,
    pub failed_tasks: u64,
    pub killed_tasks: u64,
    /// Σ task durations (ms).
    pub total_duration_ms: u64,
    pub total_gc_time_ms: u64,
    pub total_input_bytes: u64,
    pub total_shuffle_read_bytes: u64,
    pub total_shuffle_write_bytes: u64,
    pub peak_metrics: BTreeMap<String, i64>,
}

/// One SQL metric of a plan node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SqlMetricSummary {
    pub node_name: String,
    pub name: String,
    pub metric_type: String,
    pub value: i64,
    pub max_update: i64,
}

/// One SQL execution (plan text redacted).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SqlSummary {
    pub execution_id: u64,
    pub root_execution_id: Option<u64>,
    pub description: String,
    pub start_time: Option<i64>,
    pub end_time: Option<i64>,
    pub duration_ms: Option<i64>,
    pub failed: bool,
    pub error_message: Option<String>,
    pub job_ids: Vec<u32>,
    pub node_names: Vec<String>,
    /// Metrics with at least one update.
    pub metrics: Vec<SqlMetricSummary>,
    /// The final physical plan, literals and PII masked.
    pub physical_plan: String,
}

/// What the reader saw (issue 4's `diagnostics` contract; mirrors
/// `sparkplane_eventlog::Diagnostics`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
pub struct DiagnosticsSummary {
    /// Sum of `events_by_type` (unknown events included, malformed lines excluded).
    pub events_total: u64,
    /// `Event` string → count.
    pub events_by_type: BTreeMap<String, u64>,
    pub malformed_lines: u64,
    #[serde(default)]
    pub malformed: Vec<MalformedLineSummary>,
    pub unknown_events: u64,
    /// How many files were read.
    pub files: u64,
    #[serde(default)]
    pub file_names: Vec<String>,
    pub codec: serde_json::Value,
    #[serde(default)]
    pub in_progress: bool,
    #[serde(default)]
    pub truncated: bool,
    #[serde(default)]
    pub warnings: Vec<String>,
    /// Anything else the reader reports.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// A skipped line.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
pub struct MalformedLineSummary {
    pub file: String,
    pub line: u64,
    pub error: String,
}

impl From<&sparkplane_eventlog::Diagnostics> for DiagnosticsSummary {
    fn from(d: &sparkplane_eventlog::Diagnostics) -> Self {
        serde_json::to_value(d)
            .map(|mut v| {
                // Parse errors of malformed lines can quote the offending value.
                Redactor::shared().json_strings(&mut v);
                v
            })
            .and_then(serde_json::from_value)
            .unwrap_or_else(|_| DiagnosticsSummary {
                events_total: d.events_total,
                events_by_type: d.events_by_type.clone(),
                malformed_lines: d.malformed_lines,
                unknown_events: d.unknown_events,
                files: d.files,
                in_progress: d.in_progress,
                truncated: d.truncated,
                ..DiagnosticsSummary::default()
            })
    }
}

/// The whole summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Summary {
    /// Always [`SCHEMA_VERSION`].
    pub schema_version: String,
    pub app: AppSummary,
    pub totals: TotalsSummary,
    pub jobs: Vec<JobSummary>,
    pub stages: Vec<StageSummary>,
    pub executors: Vec<ExecutorSummary>,
    pub sql: Vec<SqlSummary>,
    pub insights: Vec<Insight>,
    pub diagnostics: DiagnosticsSummary,
    /// Running-task time per time bucket (the report's core-usage chart).
    #[serde(default)]
    pub usage: crate::report::usage::CoreUsage,
}

fn opt_text(r: &Redactor, s: Option<&str>) -> Option<String> {
    s.map(|s| r.message(s).into_owned())
}

impl AppSummary {
    fn new(info: &AppInfo, m: &Model, r: &Redactor) -> Self {
        let non_empty = |s: &str| (!s.is_empty()).then(|| s.to_owned());
        AppSummary {
            id: non_empty(&info.id),
            attempt_id: info.attempt_id.clone(),
            name: non_empty(&r.text(&info.name)),
            user: opt_text(r, info.user.as_deref()),
            spark_version: info.spark_version.clone(),
            start_time: info.start_time,
            end_time: info.end_time,
            duration_ms: info.duration_ms,
            completed: info.completed,
            status: info.status,
            spark_conf: r.conf_map(
                m.app
                    .spark_properties
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str())),
            ),
        }
    }
}

impl TotalsSummary {
    fn from_model(t: &model::Totals) -> Self {
        TotalsSummary {
            jobs: t.jobs,
            failed_jobs: t.failed_jobs,
            stages: t.stages,
            failed_stages: t.failed_stages,
            skipped_stages: t.skipped_stages,
            tasks: t.tasks,
            failed_tasks: t.failed_tasks,
            killed_tasks: t.killed_tasks,
            speculative_tasks: t.speculative_tasks,
            executors: t.executors,
            max_cores: t.max_cores,
            core_hours_allocated: t.core_hours_allocated(),
            core_hours_used: t.core_hours_used(),
            idle_share: t.idle_share,
            executor_run_time: t.executor_run_time,
            executor_cpu_time: t.executor_cpu_time,
            jvm_gc_time: t.jvm_gc_time,
            input_bytes: t.input_bytes,
            output_bytes: t.output_bytes,
            shuffle_read_bytes: t.shuffle_read_bytes,
            shuffle_write_bytes: t.shuffle_write_bytes,
            memory_bytes_spilled: t.memory_bytes_spilled,
            disk_bytes_spilled: t.disk_bytes_spilled,
            driver_idle_ms: t.driver_idle_ms,
            idle_stretches: t.idle_stretches.clone(),
        }
    }
}

impl StageSummary {
    fn from_model(s: &model::StageAttempt, r: &Redactor) -> Self {
        let m = &s.metrics;
        StageSummary {
            stage_id: s.stage_id,
            attempt_id: s.attempt_id,
            name: r.text(&s.name).into_owned(),
            status: s.status,
            job_ids: s.job_ids.clone(),
            num_tasks: s.num_tasks,
            num_complete_tasks: s.num_complete_tasks,
            num_failed_tasks: s.num_failed_tasks,
            num_killed_tasks: s.num_killed_tasks,
            submission_time: s.submission_time,
            first_task_launched_time: s.first_task_launched_time,
            completion_time: s.completion_time,
            duration_ms: s.duration_ms(),
            failure_reason: opt_text(r, s.failure_reason.as_deref()),
            executor_run_time: m.executor_run_time,
            executor_cpu_time: m.executor_cpu_time,
            executor_deserialize_time: m.executor_deserialize_time,
            jvm_gc_time: m.jvm_gc_time,
            result_size: m.result_size,
            input_bytes: m.input_bytes,
            input_records: m.input_records,
            output_bytes: m.output_bytes,
            output_records: m.output_records,
            shuffle_read_bytes: m.shuffle_read_bytes,
            shuffle_read_records: m.shuffle_read_records,
            shuffle_remote_bytes_read: m.shuffle_remote_bytes_read,
            shuffle_fetch_wait_time: m.shuffle_fetch_wait_time,
            shuffle_write_bytes: m.shuffle_write_bytes,
            shuffle_write_records: m.shuffle_write_records,
            shuffle_write_time: m.shuffle_write_time,
            memory_bytes_spilled: m.memory_bytes_spilled,
            disk_bytes_spilled: m.disk_bytes_spilled,
            peak_execution_memory: m.peak_execution_memory,
            task_duration_quantiles: s.tasks.shs_duration,
            task_read_bytes_quantiles: s.tasks.read_bytes,
            successful_tasks: s.tasks.successful_tasks,
            speculative_tasks: s.tasks.speculative_tasks,
            gc_time_share: s.tasks.gc_time_share,
            slowest_task: s.tasks.slowest.map(|t| SlowestTaskSummary {
                task_id: t.task_id,
                duration_ms: t.duration_ms,
                input_bytes: t.input_bytes,
                shuffle_read_bytes: t.shuffle_read_bytes,
                input_share: t.input_share,
                shuffle_read_share: t.shuffle_read_share,
            }),
        }
    }
}

impl Summary {
    /// Build the redacted summary of a model. `insights` come from
    /// [`crate::insights::evaluate`]; `diagnostics` from the reader.
    pub fn from_model(
        app: &AppInfo,
        model: &Model,
        insights: Vec<Insight>,
        diagnostics: DiagnosticsSummary,
    ) -> Self {
        let r = Redactor::shared();
        Summary {
            schema_version: SCHEMA_VERSION.to_owned(),
            app: AppSummary::new(app, model, r),
            totals: TotalsSummary::from_model(&model.totals),
            jobs: model
                .jobs
                .iter()
                .map(|j| JobSummary {
                    job_id: j.job_id,
                    status: j.status,
                    name: r.text(&j.name).into_owned(),
                    num_tasks: j.num_tasks,
                    num_completed_tasks: j.num_completed_tasks,
                    num_failed_tasks: j.num_failed_tasks,
                    num_killed_tasks: j.num_killed_tasks,
                    num_skipped_tasks: j.num_skipped_tasks,
                    stage_ids: j.stage_ids.clone(),
                    sql_execution_id: j.sql_execution_id,
                    submission_time: j.submission_time,
                    completion_time: j.completion_time,
                    duration_ms: j.duration_ms(),
                    failure_reason: opt_text(r, j.failure_reason.as_deref()),
                    description: j.description.as_deref().map(|d| r.sql(d)),
                })
                .collect(),
            stages: model
                .stages
                .iter()
                .map(|s| StageSummary::from_model(s, r))
                .collect(),
            executors: model
                .executors
                .iter()
                .map(|x| ExecutorSummary {
                    executor_id: x.executor_id.clone(),
                    host: x.host.as_deref().map(|h| r.text(h).into_owned()),
                    total_cores: x.total_cores,
                    max_memory: x.max_memory,
                    add_time: x.add_time,
                    remove_time: x.remove_time,
                    remove_reason: opt_text(r, x.remove_reason.as_deref()),
                    total_tasks: x.total_tasks,
                    completed_tasks: x.completed_tasks,
                    failed_tasks: x.failed_tasks,
                    killed_tasks: x.killed_tasks,
                    total_duration_ms: x.total_duration_ms,
                    total_gc_time_ms: x.total_gc_time_ms,
                    total_input_bytes: x.total_input_bytes,
                    total_shuffle_read_bytes: x.total_shuffle_read_bytes,
                    total_shuffle_write_bytes: x.total_shuffle_write_bytes,
                    peak_metrics: x.peak_metrics.clone(),
                })
                .collect(),
            sql: model
                .sql
                .iter()
                .map(|q| SqlSummary {
                    execution_id: q.execution_id,
                    root_execution_id: q.root_execution_id,
                    description: r.sql(&q.description),
                    start_time: q.start_time,
                    end_time: q.end_time,
                    duration_ms: q.duration_ms(),
                    failed: q.error_message.is_some(),
                    error_message: opt_text(r, q.error_message.as_deref()),
                    job_ids: q.job_ids.clone(),
                    node_names: q
                        .node_names
                        .iter()
                        .map(|n| r.text(n).into_owned())
                        .collect(),
                    metrics: q
                        .metrics
                        .iter()
                        .filter(|m| m.updates > 0)
                        .map(|m| SqlMetricSummary {
                            node_name: r.text(&m.node_name).into_owned(),
                            name: m.name.clone(),
                            metric_type: m.metric_type.clone(),
                            value: m.value,
                            max_update: m.max_update,
                        })
                        .collect(),
                    physical_plan: r.sql(&q.physical_plan),
                })
                .collect(),
            insights,
            diagnostics,
            usage: model.usage.clone(),
        }
    }

    /// The JSON Schema of [`Summary`] (what `schema/summary.schema.json` holds).
    pub fn json_schema() -> serde_json::Value {
        serde_json::to_value(schemars::schema_for!(Summary)).unwrap_or_default()
    }
}
