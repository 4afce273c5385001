//! Typed Spark listener events, deserialized from borrowed JSON.
//!
//! Field names are exactly the JSON names Spark's `JsonProtocol` writes (core events use
//! `"Title Case"` names; SQL and exclusion events are Jackson-serialised case classes with
//! `camelCase` names). Every field that is absent in some Spark version (1.x–4.x) is an `Option`:
//! absent is `None`, never zero. All numbers are `i64`: Spark writes Java `int`/`long`, and a few
//! Spark versions have written negative values for metrics, which must not make a line
//! unreadable. Strings borrow from the line buffer when they contain no escapes.

use std::borrow::Cow;

use serde::Deserialize;

use crate::de::{AccumValue, NumMap, StrMap};

/// A string borrowed from the event line when possible.
pub type Str<'a> = Cow<'a, str>;

/// One Spark listener event. Variants the analysis needs are typed; other events defined by Spark
/// are [`Event::Other`] and custom/vendor events are [`Event::Unknown`] (both counted, not parsed).
// An event is passed by value once per line and never stored in bulk; boxing the large
// variants would cost an allocation per event on the hot path.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Event<'a> {
    LogStart(LogStart<'a>),
    ApplicationStart(ApplicationStart<'a>),
    ApplicationEnd(ApplicationEnd),
    EnvironmentUpdate(EnvironmentUpdate<'a>),
    JobStart(JobStart<'a>),
    JobEnd(JobEnd<'a>),
    StageSubmitted(StageSubmitted<'a>),
    StageCompleted(StageCompleted<'a>),
    TaskStart(TaskStart<'a>),
    TaskGettingResult(TaskGettingResult<'a>),
    TaskEnd(TaskEnd<'a>),
    ExecutorAdded(ExecutorAdded<'a>),
    ExecutorRemoved(ExecutorRemoved<'a>),
    BlockManagerAdded(BlockManagerAdded<'a>),
    BlockManagerRemoved(BlockManagerRemoved<'a>),
    StageExecutorMetrics(StageExecutorMetrics<'a>),
    ExecutorMetricsUpdate(ExecutorMetricsUpdate<'a>),
    UnpersistRdd(UnpersistRdd),
    ResourceProfileAdded(ResourceProfileAdded),
    /// Executor/node excluded or un-excluded (and the pre-3.1 "blacklisted" names).
    Exclusion(Exclusion<'a>),
    SqlExecutionStart(SqlExecutionStart<'a>),
    SqlExecutionEnd(SqlExecutionEnd<'a>),
    SqlAdaptiveExecutionUpdate(SqlAdaptiveExecutionUpdate<'a>),
    SqlAdaptiveSqlMetricUpdates(SqlAdaptiveSqlMetricUpdates<'a>),
    DriverAccumUpdates(DriverAccumUpdates),
    /// An event defined by Apache Spark that sparkplane does not model (counted only).
    Other {
        name: Str<'a>,
    },
    /// A custom or vendor event (counted in `unknown_events`, otherwise skipped).
    Unknown {
        name: Str<'a>,
    },
}

impl Event<'_> {
    /// The `Event` string of this event as Spark writes it (for [`Event::Exclusion`], the
    /// exclusion's own name).
    pub fn name(&self) -> &str {
        match self {
            Event::LogStart(_) => names::LOG_START,
            Event::ApplicationStart(_) => names::APPLICATION_START,
            Event::ApplicationEnd(_) => names::APPLICATION_END,
            Event::EnvironmentUpdate(_) => names::ENVIRONMENT_UPDATE,
            Event::JobStart(_) => names::JOB_START,
            Event::JobEnd(_) => names::JOB_END,
            Event::StageSubmitted(_) => names::STAGE_SUBMITTED,
            Event::StageCompleted(_) => names::STAGE_COMPLETED,
            Event::TaskStart(_) => names::TASK_START,
            Event::TaskGettingResult(_) => names::TASK_GETTING_RESULT,
            Event::TaskEnd(_) => names::TASK_END,
            Event::ExecutorAdded(_) => names::EXECUTOR_ADDED,
            Event::ExecutorRemoved(_) => names::EXECUTOR_REMOVED,
            Event::BlockManagerAdded(_) => names::BLOCK_MANAGER_ADDED,
            Event::BlockManagerRemoved(_) => names::BLOCK_MANAGER_REMOVED,
            Event::StageExecutorMetrics(_) => names::STAGE_EXECUTOR_METRICS,
            Event::ExecutorMetricsUpdate(_) => names::EXECUTOR_METRICS_UPDATE,
            Event::UnpersistRdd(_) => names::UNPERSIST_RDD,
            Event::ResourceProfileAdded(_) => names::RESOURCE_PROFILE_ADDED,
            Event::Exclusion(e) => e.kind.name(),
            Event::SqlExecutionStart(_) => names::SQL_EXECUTION_START,
            Event::SqlExecutionEnd(_) => names::SQL_EXECUTION_END,
            Event::SqlAdaptiveExecutionUpdate(_) => names::SQL_ADAPTIVE_EXECUTION_UPDATE,
            Event::SqlAdaptiveSqlMetricUpdates(_) => names::SQL_ADAPTIVE_SQL_METRIC_UPDATES,
            Event::DriverAccumUpdates(_) => names::DRIVER_ACCUM_UPDATES,
            Event::Other { name } | Event::Unknown { name } => name,
        }
    }
}

/// The `Event` strings Spark writes.
pub mod names {
    pub const LOG_START: &str = "SparkListenerLogStart";
    pub const APPLICATION_START: &str = "SparkListenerApplicationStart";
    pub const APPLICATION_END: &str = "SparkListenerApplicationEnd";
    pub const ENVIRONMENT_UPDATE: &str = "SparkListenerEnvironmentUpdate";
    pub const JOB_START: &str = "SparkListenerJobStart";
    pub const JOB_END: &str = "SparkListenerJobEnd";
    pub const STAGE_SUBMITTED: &str = "SparkListenerStageSubmitted";
    pub const STAGE_COMPLETED: &str = "SparkListenerStageCompleted";
    pub const TASK_START: &str = "SparkListenerTaskStart";
    pub const TASK_GETTING_RESULT: &str = "SparkListenerTaskGettingResult";
    pub const TASK_END: &str = "SparkListenerTaskEnd";
    pub const EXECUTOR_ADDED: &str = "SparkListenerExecutorAdded";
    pub const EXECUTOR_REMOVED: &str = "SparkListenerExecutorRemoved";
    pub const BLOCK_MANAGER_ADDED: &str = "SparkListenerBlockManagerAdded";
    pub const BLOCK_MANAGER_REMOVED: &str = "SparkListenerBlockManagerRemoved";
    pub const STAGE_EXECUTOR_METRICS: &str = "SparkListenerStageExecutorMetrics";
    pub const EXECUTOR_METRICS_UPDATE: &str = "SparkListenerExecutorMetricsUpdate";
    pub const UNPERSIST_RDD: &str = "SparkListenerUnpersistRDD";
    pub const RESOURCE_PROFILE_ADDED: &str = "SparkListenerResourceProfileAdded";
    pub const SQL_EXECUTION_START: &str =
        "org.apache.spark.sql.execution.ui.SparkListenerSQLExecutionStart";
    pub const SQL_EXECUTION_END: &str =
        "org.apache.spark.sql.execution.ui.SparkListenerSQLExecutionEnd";
    pub const SQL_ADAPTIVE_EXECUTION_UPDATE: &str =
        "org.apache.spark.sql.execution.ui.SparkListenerSQLAdaptiveExecutionUpdate";
    pub const SQL_ADAPTIVE_SQL_METRIC_UPDATES: &str =
        "org.apache.spark.sql.execution.ui.SparkListenerSQLAdaptiveSQLMetricUpdates";
    pub const DRIVER_ACCUM_UPDATES: &str =
        "org.apache.spark.sql.execution.ui.SparkListenerDriverAccumUpdates";
}

/// Which exclusion event an [`Exclusion`] is. Spark < 3.1 wrote "Blacklisted" names for the same
/// events; they map to the same kinds (and [`ExclusionKind::name`] returns the modern name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExclusionKind {
    ExecutorExcluded,
    ExecutorUnexcluded,
    NodeExcluded,
    NodeUnexcluded,
    ExecutorExcludedForStage,
    NodeExcludedForStage,
}

impl ExclusionKind {
    /// Maps an `Event` string (modern or legacy "blacklisted") to a kind.
    pub fn from_event_name(name: &str) -> Option<Self> {
        Some(match name {
            "SparkListenerExecutorExcluded" | "SparkListenerExecutorBlacklisted" => {
                Self::ExecutorExcluded
            }
            "SparkListenerExecutorUnexcluded" | "SparkListenerExecutorUnblacklisted" => {
                Self::ExecutorUnexcluded
            }
            "SparkListenerNodeExcluded" | "SparkListenerNodeBlacklisted" => Self::NodeExcluded,
            "SparkListenerNodeUnexcluded" | "SparkListenerNodeUnblacklisted" => {
                Self::NodeUnexcluded
            }
            "SparkListenerExecutorExcludedForStage"
            | "SparkListenerExecutorBlacklistedForStage" => Self::ExecutorExcludedForStage,
            "SparkListenerNodeExcludedForStage" | "SparkListenerNodeBlacklistedForStage" => {
                Self::NodeExcludedForStage
            }
            _ => return None,
        })
    }

    /// The modern (Spark ≥ 3.1) event name.
    pub fn name(self) -> &'static str {
        match self {
            Self::ExecutorExcluded => "SparkListenerExecutorExcluded",
            Self::ExecutorUnexcluded => "SparkListenerExecutorUnexcluded",
            Self::NodeExcluded => "SparkListenerNodeExcluded",
            Self::NodeUnexcluded => "SparkListenerNodeUnexcluded",
            Self::ExecutorExcludedForStage => "SparkListenerExecutorExcludedForStage",
            Self::NodeExcludedForStage => "SparkListenerNodeExcludedForStage",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct LogStart<'a> {
    #[serde(rename = "Spark Version", borrow)]
    pub spark_version: Cow<'a, str>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ApplicationStart<'a> {
    #[serde(rename = "App Name", borrow)]
    pub app_name: Cow<'a, str>,
    /// Absent in Spark 1.0 logs.
    #[serde(
        rename = "App ID",
        borrow,
        default,
        deserialize_with = "crate::de::opt_cow"
    )]
    pub app_id: Option<Cow<'a, str>>,
    #[serde(rename = "Timestamp")]
    pub timestamp: i64,
    #[serde(
        rename = "User",
        borrow,
        default,
        deserialize_with = "crate::de::opt_cow"
    )]
    pub user: Option<Cow<'a, str>>,
    /// Only in cluster-managed (YARN, ...) runs.
    #[serde(
        rename = "App Attempt ID",
        borrow,
        default,
        deserialize_with = "crate::de::opt_cow"
    )]
    pub app_attempt_id: Option<Cow<'a, str>>,
    #[serde(rename = "Driver Logs", borrow, default)]
    pub driver_logs: Option<StrMap<'a>>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ApplicationEnd {
    #[serde(rename = "Timestamp")]
    pub timestamp: i64,
    /// Written by Spark ≥ 4.0 only.
    #[serde(rename = "ExitCode", default)]
    pub exit_code: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct EnvironmentUpdate<'a> {
    #[serde(rename = "JVM Information", borrow, default)]
    pub jvm_information: StrMap<'a>,
    #[serde(rename = "Spark Properties", borrow, default)]
    pub spark_properties: StrMap<'a>,
    #[serde(rename = "Hadoop Properties", borrow, default)]
    pub hadoop_properties: StrMap<'a>,
    #[serde(rename = "System Properties", borrow, default)]
    pub system_properties: StrMap<'a>,
    #[serde(rename = "Classpath Entries", borrow, default)]
    pub classpath_entries: StrMap<'a>,
    /// Spark ≥ 3.4.
    #[serde(rename = "Metrics Properties", borrow, default)]
    pub metrics_properties: Option<StrMap<'a>>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct JobStart<'a> {
    #[serde(rename = "Job ID")]
    pub job_id: i64,
    /// Absent in Spark 1.0/1.1 logs.
    #[serde(rename = "Submission Time", default)]
    pub submission_time: Option<i64>,
    #[serde(rename = "Stage Infos", borrow, default)]
    pub stage_infos: Vec<StageInfo<'a>>,
    #[serde(rename = "Stage IDs", default)]
    pub stage_ids: Vec<i64>,
    #[serde(rename = "Properties", borrow, default)]
    pub properties: StrMap<'a>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct JobEnd<'a> {
    #[serde(rename = "Job ID")]
    pub job_id: i64,
    #[serde(rename = "Completion Time", default)]
    pub completion_time: Option<i64>,
    #[serde(rename = "Job Result", borrow)]
    pub job_result: JobResult<'a>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct JobResult<'a> {
    /// `JobSucceeded` or `JobFailed`.
    #[serde(rename = "Result", borrow)]
    pub result: Cow<'a, str>,
    #[serde(rename = "Exception", borrow, default)]
    pub exception: Option<ExceptionInfo<'a>>,
}

impl JobResult<'_> {
    pub fn succeeded(&self) -> bool {
        self.result == "JobSucceeded"
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ExceptionInfo<'a> {
    #[serde(
        rename = "Message",
        borrow,
        default,
        deserialize_with = "crate::de::opt_cow"
    )]
    pub message: Option<Cow<'a, str>>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct StageSubmitted<'a> {
    #[serde(rename = "Stage Info", borrow)]
    pub stage_info: StageInfo<'a>,
    #[serde(rename = "Properties", borrow, default)]
    pub properties: Option<StrMap<'a>>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct StageCompleted<'a> {
    #[serde(rename = "Stage Info", borrow)]
    pub stage_info: StageInfo<'a>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct StageInfo<'a> {
    #[serde(rename = "Stage ID")]
    pub stage_id: i64,
    /// Absent in Spark 1.0/1.1 logs (attempt 0).
    #[serde(rename = "Stage Attempt ID", default)]
    pub stage_attempt_id: Option<i64>,
    #[serde(rename = "Stage Name", borrow, default)]
    pub stage_name: Cow<'a, str>,
    #[serde(rename = "Number of Tasks", default)]
    pub number_of_tasks: i64,
    #[serde(rename = "RDD Info", borrow, default)]
    pub rdd_info: Vec<RddInfo<'a>>,
    #[serde(rename = "Parent IDs", default)]
    pub parent_ids: Option<Vec<i64>>,
    #[serde(
        rename = "Details",
        borrow,
        default,
        deserialize_with = "crate::de::opt_cow"
    )]
    pub details: Option<Cow<'a, str>>,
    #[serde(rename = "Submission Time", default)]
    pub submission_time: Option<i64>,
    #[serde(rename = "Completion Time", default)]
    pub completion_time: Option<i64>,
    #[serde(
        rename = "Failure Reason",
        borrow,
        default,
        deserialize_with = "crate::de::opt_cow"
    )]
    pub failure_reason: Option<Cow<'a, str>>,
    #[serde(rename = "Accumulables", borrow, default)]
    pub accumulables: Vec<Accumulable<'a>>,
    /// Spark ≥ 3.1.
    #[serde(rename = "Resource Profile Id", default)]
    pub resource_profile_id: Option<i64>,
}

impl StageInfo<'_> {
    /// The attempt number (0 when the Spark version did not write it).
    pub fn attempt(&self) -> i64 {
        self.stage_attempt_id.unwrap_or(0)
    }
}

/// The parts of an RDD's description that the analysis uses.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RddInfo<'a> {
    #[serde(rename = "RDD ID")]
    pub rdd_id: i64,
    #[serde(rename = "Name", borrow, default)]
    pub name: Cow<'a, str>,
    #[serde(rename = "Number of Partitions", default)]
    pub number_of_partitions: Option<i64>,
    #[serde(rename = "Number of Cached Partitions", default)]
    pub number_of_cached_partitions: Option<i64>,
    #[serde(rename = "Memory Size", default)]
    pub memory_size: Option<i64>,
    #[serde(rename = "Disk Size", default)]
    pub disk_size: Option<i64>,
}

/// An accumulator value as Spark writes it in `Accumulables`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Accumulable<'a> {
    #[serde(rename = "ID")]
    pub id: i64,
    #[serde(
        rename = "Name",
        borrow,
        default,
        deserialize_with = "crate::de::opt_cow"
    )]
    pub name: Option<Cow<'a, str>>,
    #[serde(rename = "Update", borrow, default)]
    pub update: Option<AccumValue<'a>>,
    #[serde(rename = "Value", borrow, default)]
    pub value: Option<AccumValue<'a>>,
    #[serde(rename = "Internal", default)]
    pub internal: Option<bool>,
    #[serde(rename = "Count Failed Values", default)]
    pub count_failed_values: Option<bool>,
    /// `"sql"` for SQL metrics.
    #[serde(
        rename = "Metadata",
        borrow,
        default,
        deserialize_with = "crate::de::opt_cow"
    )]
    pub metadata: Option<Cow<'a, str>>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TaskStart<'a> {
    #[serde(rename = "Stage ID")]
    pub stage_id: i64,
    #[serde(rename = "Stage Attempt ID", default)]
    pub stage_attempt_id: Option<i64>,
    #[serde(rename = "Task Info", borrow)]
    pub task_info: TaskInfo<'a>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TaskGettingResult<'a> {
    #[serde(rename = "Task Info", borrow)]
    pub task_info: TaskInfo<'a>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TaskEnd<'a> {
    #[serde(rename = "Stage ID")]
    pub stage_id: i64,
    #[serde(rename = "Stage Attempt ID", default)]
    pub stage_attempt_id: Option<i64>,
    /// `ResultTask` or `ShuffleMapTask`.
    #[serde(
        rename = "Task Type",
        borrow,
        default,
        deserialize_with = "crate::de::opt_cow"
    )]
    pub task_type: Option<Cow<'a, str>>,
    #[serde(rename = "Task End Reason", borrow)]
    pub task_end_reason: TaskEndReason<'a>,
    #[serde(rename = "Task Info", borrow)]
    pub task_info: TaskInfo<'a>,
    /// Spark ≥ 3.0: peak executor metrics during the task.
    #[serde(rename = "Task Executor Metrics", borrow, default)]
    pub task_executor_metrics: Option<NumMap<'a>>,
    /// Absent (or null) for some failed tasks.
    #[serde(rename = "Task Metrics", default)]
    pub task_metrics: Option<TaskMetrics>,
}

/// Why a task ended. `reason` is `Success`, `ExceptionFailure`, `FetchFailed`, `TaskKilled`,
/// `ExecutorLostFailure`, `TaskCommitDenied`, `TaskResultLost`, `Resubmitted` or `UnknownReason`;
/// the other fields are present for the reasons that have them.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TaskEndReason<'a> {
    #[serde(rename = "Reason", borrow)]
    pub reason: Cow<'a, str>,
    #[serde(
        rename = "Class Name",
        borrow,
        default,
        deserialize_with = "crate::de::opt_cow"
    )]
    pub class_name: Option<Cow<'a, str>>,
    #[serde(
        rename = "Description",
        borrow,
        default,
        deserialize_with = "crate::de::opt_cow"
    )]
    pub description: Option<Cow<'a, str>>,
    #[serde(
        rename = "Message",
        borrow,
        default,
        deserialize_with = "crate::de::opt_cow"
    )]
    pub message: Option<Cow<'a, str>>,
    #[serde(
        rename = "Kill Reason",
        borrow,
        default,
        deserialize_with = "crate::de::opt_cow"
    )]
    pub kill_reason: Option<Cow<'a, str>>,
    #[serde(
        rename = "Loss Reason",
        borrow,
        default,
        deserialize_with = "crate::de::opt_cow"
    )]
    pub loss_reason: Option<Cow<'a, str>>,
    #[serde(
        rename = "Executor ID",
        borrow,
        default,
        deserialize_with = "crate::de::opt_cow"
    )]
    pub executor_id: Option<Cow<'a, str>>,
    #[serde(rename = "Exit Caused By App", default)]
    pub exit_caused_by_app: Option<bool>,
    #[serde(rename = "Shuffle ID", default)]
    pub shuffle_id: Option<i64>,
}

impl TaskEndReason<'_> {
    pub fn is_success(&self) -> bool {
        self.reason == "Success"
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TaskInfo<'a> {
    #[serde(rename = "Task ID")]
    pub task_id: i64,
    #[serde(rename = "Index", default)]
    pub index: i64,
    #[serde(rename = "Attempt", default)]
    pub attempt: i64,
    /// Spark ≥ 3.3.
    #[serde(rename = "Partition ID", default)]
    pub partition_id: Option<i64>,
    #[serde(rename = "Launch Time", default)]
    pub launch_time: i64,
    #[serde(rename = "Executor ID", borrow, default)]
    pub executor_id: Cow<'a, str>,
    #[serde(rename = "Host", borrow, default)]
    pub host: Cow<'a, str>,
    #[serde(rename = "Locality", borrow, default)]
    pub locality: Cow<'a, str>,
    #[serde(rename = "Speculative", default)]
    pub speculative: bool,
    /// 0 when the task did not fetch its result remotely.
    #[serde(rename = "Getting Result Time", default)]
    pub getting_result_time: i64,
    /// 0 while the task runs.
    #[serde(rename = "Finish Time", default)]
    pub finish_time: i64,
    #[serde(rename = "Failed", default)]
    pub failed: bool,
    /// Spark ≥ 2.0.
    #[serde(rename = "Killed", default)]
    pub killed: Option<bool>,
    #[serde(rename = "Accumulables", borrow, default)]
    pub accumulables: Vec<Accumulable<'a>>,
}

/// Task metrics. Every field is optional: they were added across Spark versions.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct TaskMetrics {
    /// ms
    #[serde(rename = "Executor Deserialize Time", default)]
    pub executor_deserialize_time: Option<i64>,
    /// ns (Spark ≥ 2.1)
    #[serde(rename = "Executor Deserialize CPU Time", default)]
    pub executor_deserialize_cpu_time: Option<i64>,
    /// ms
    #[serde(rename = "Executor Run Time", default)]
    pub executor_run_time: Option<i64>,
    /// ns (Spark ≥ 2.1)
    #[serde(rename = "Executor CPU Time", default)]
    pub executor_cpu_time: Option<i64>,
    #[serde(rename = "Peak Execution Memory", default)]
    pub peak_execution_memory: Option<i64>,
    #[serde(rename = "Result Size", default)]
    pub result_size: Option<i64>,
    /// ms
    #[serde(rename = "JVM GC Time", default)]
    pub jvm_gc_time: Option<i64>,
    /// ms
    #[serde(rename = "Result Serialization Time", default)]
    pub result_serialization_time: Option<i64>,
    #[serde(rename = "Memory Bytes Spilled", default)]
    pub memory_bytes_spilled: Option<i64>,
    #[serde(rename = "Disk Bytes Spilled", default)]
    pub disk_bytes_spilled: Option<i64>,
    #[serde(rename = "Shuffle Read Metrics", default)]
    pub shuffle_read_metrics: Option<ShuffleReadMetrics>,
    #[serde(rename = "Shuffle Write Metrics", default)]
    pub shuffle_write_metrics: Option<ShuffleWriteMetrics>,
    #[serde(rename = "Input Metrics", default)]
    pub input_metrics: Option<InputMetrics>,
    #[serde(rename = "Output Metrics", default)]
    pub output_metrics: Option<OutputMetrics>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct ShuffleReadMetrics {
    #[serde(rename = "Remote Blocks Fetched", default)]
    pub remote_blocks_fetched: Option<i64>,
    #[serde(rename = "Local Blocks Fetched", default)]
    pub local_blocks_fetched: Option<i64>,
    /// ms
    #[serde(rename = "Fetch Wait Time", default)]
    pub fetch_wait_time: Option<i64>,
    #[serde(rename = "Remote Bytes Read", default)]
    pub remote_bytes_read: Option<i64>,
    /// Spark ≥ 2.3.
    #[serde(rename = "Remote Bytes Read To Disk", default)]
    pub remote_bytes_read_to_disk: Option<i64>,
    /// Spark ≥ 1.6.
    #[serde(rename = "Local Bytes Read", default)]
    pub local_bytes_read: Option<i64>,
    /// Spark ≥ 1.6.
    #[serde(rename = "Total Records Read", default)]
    pub total_records_read: Option<i64>,
    /// Spark ≥ 3.2.
    #[serde(rename = "Remote Requests Duration", default)]
    pub remote_requests_duration: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct ShuffleWriteMetrics {
    #[serde(rename = "Shuffle Bytes Written", default)]
    pub shuffle_bytes_written: Option<i64>,
    /// ns
    #[serde(rename = "Shuffle Write Time", default)]
    pub shuffle_write_time: Option<i64>,
    /// Spark ≥ 1.6.
    #[serde(rename = "Shuffle Records Written", default)]
    pub shuffle_records_written: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct InputMetrics {
    #[serde(rename = "Bytes Read", default)]
    pub bytes_read: Option<i64>,
    #[serde(rename = "Records Read", default)]
    pub records_read: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct OutputMetrics {
    #[serde(rename = "Bytes Written", default)]
    pub bytes_written: Option<i64>,
    #[serde(rename = "Records Written", default)]
    pub records_written: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ExecutorAdded<'a> {
    #[serde(rename = "Timestamp")]
    pub timestamp: i64,
    #[serde(rename = "Executor ID", borrow)]
    pub executor_id: Cow<'a, str>,
    #[serde(rename = "Executor Info", borrow)]
    pub executor_info: ExecutorInfo<'a>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ExecutorInfo<'a> {
    #[serde(rename = "Host", borrow)]
    pub host: Cow<'a, str>,
    #[serde(rename = "Total Cores")]
    pub total_cores: i64,
    /// Spark ≥ 3.1.
    #[serde(rename = "Resource Profile Id", default)]
    pub resource_profile_id: Option<i64>,
    #[serde(rename = "Registration Time", default)]
    pub registration_time: Option<i64>,
    #[serde(rename = "Request Time", default)]
    pub request_time: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ExecutorRemoved<'a> {
    #[serde(rename = "Timestamp")]
    pub timestamp: i64,
    #[serde(rename = "Executor ID", borrow)]
    pub executor_id: Cow<'a, str>,
    #[serde(
        rename = "Removed Reason",
        borrow,
        default,
        deserialize_with = "crate::de::opt_cow"
    )]
    pub removed_reason: Option<Cow<'a, str>>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct BlockManagerId<'a> {
    #[serde(rename = "Executor ID", borrow)]
    pub executor_id: Cow<'a, str>,
    #[serde(rename = "Host", borrow, default)]
    pub host: Cow<'a, str>,
    #[serde(rename = "Port", default)]
    pub port: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct BlockManagerAdded<'a> {
    #[serde(rename = "Block Manager ID", borrow)]
    pub block_manager_id: BlockManagerId<'a>,
    #[serde(rename = "Maximum Memory", default)]
    pub maximum_memory: Option<i64>,
    /// Spark ≥ 1.4.
    #[serde(rename = "Timestamp", default)]
    pub timestamp: Option<i64>,
    /// Spark ≥ 2.3.
    #[serde(rename = "Maximum Onheap Memory", default)]
    pub maximum_onheap_memory: Option<i64>,
    /// Spark ≥ 2.3.
    #[serde(rename = "Maximum Offheap Memory", default)]
    pub maximum_offheap_memory: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct BlockManagerRemoved<'a> {
    #[serde(rename = "Block Manager ID", borrow)]
    pub block_manager_id: BlockManagerId<'a>,
    #[serde(rename = "Timestamp", default)]
    pub timestamp: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct StageExecutorMetrics<'a> {
    #[serde(rename = "Executor ID", borrow)]
    pub executor_id: Cow<'a, str>,
    #[serde(rename = "Stage ID")]
    pub stage_id: i64,
    #[serde(rename = "Stage Attempt ID", default)]
    pub stage_attempt_id: Option<i64>,
    #[serde(rename = "Executor Metrics", borrow, default)]
    pub executor_metrics: NumMap<'a>,
}

/// Periodic executor heartbeat (only logged with `spark.eventLog.logStageExecutorMetrics`
/// or by old versions); kept minimal.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ExecutorMetricsUpdate<'a> {
    #[serde(rename = "Executor ID", borrow)]
    pub executor_id: Cow<'a, str>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct UnpersistRdd {
    #[serde(rename = "RDD ID")]
    pub rdd_id: i64,
}

/// Kept minimal: only the profile id.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ResourceProfileAdded {
    #[serde(rename = "Resource Profile Id")]
    pub resource_profile_id: i64,
}

/// Executor/node exclusion events (Jackson-serialised; camelCase names).
#[derive(Debug, Clone, PartialEq)]
pub struct Exclusion<'a> {
    pub kind: ExclusionKind,
    pub fields: ExclusionFields<'a>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ExclusionFields<'a> {
    #[serde(default)]
    pub time: Option<i64>,
    #[serde(
        rename = "executorId",
        borrow,
        default,
        deserialize_with = "crate::de::opt_cow"
    )]
    pub executor_id: Option<Cow<'a, str>>,
    #[serde(
        rename = "hostId",
        borrow,
        default,
        deserialize_with = "crate::de::opt_cow"
    )]
    pub host_id: Option<Cow<'a, str>>,
    #[serde(rename = "taskFailures", default)]
    pub task_failures: Option<i64>,
    #[serde(rename = "executorFailures", default)]
    pub executor_failures: Option<i64>,
    #[serde(rename = "stageId", default)]
    pub stage_id: Option<i64>,
    #[serde(rename = "stageAttemptId", default)]
    pub stage_attempt_id: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SqlExecutionStart<'a> {
    #[serde(rename = "executionId")]
    pub execution_id: i64,
    /// Spark ≥ 3.5.
    #[serde(rename = "rootExecutionId", default)]
    pub root_execution_id: Option<i64>,
    #[serde(borrow, default)]
    pub description: Cow<'a, str>,
    #[serde(borrow, default)]
    pub details: Cow<'a, str>,
    #[serde(rename = "physicalPlanDescription", borrow, default)]
    pub physical_plan_description: Cow<'a, str>,
    #[serde(rename = "sparkPlanInfo", borrow)]
    pub spark_plan_info: SparkPlanInfo<'a>,
    pub time: i64,
    /// Spark ≥ 3.4.
    #[serde(rename = "modifiedConfigs", borrow, default)]
    pub modified_configs: Option<StrMap<'a>>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SqlExecutionEnd<'a> {
    #[serde(rename = "executionId")]
    pub execution_id: i64,
    pub time: i64,
    /// Spark ≥ 3.4; `""` when the execution succeeded.
    #[serde(
        rename = "errorMessage",
        borrow,
        default,
        deserialize_with = "crate::de::opt_cow"
    )]
    pub error_message: Option<Cow<'a, str>>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SqlAdaptiveExecutionUpdate<'a> {
    #[serde(rename = "executionId")]
    pub execution_id: i64,
    #[serde(rename = "physicalPlanDescription", borrow, default)]
    pub physical_plan_description: Cow<'a, str>,
    #[serde(rename = "sparkPlanInfo", borrow)]
    pub spark_plan_info: SparkPlanInfo<'a>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SqlAdaptiveSqlMetricUpdates<'a> {
    #[serde(rename = "executionId")]
    pub execution_id: i64,
    #[serde(rename = "sqlPlanMetrics", borrow, default)]
    pub sql_plan_metrics: Vec<SqlPlanMetric<'a>>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct DriverAccumUpdates {
    #[serde(rename = "executionId")]
    pub execution_id: i64,
    /// `(accumulator id, value)` pairs.
    #[serde(rename = "accumUpdates", default)]
    pub accum_updates: Vec<(i64, i64)>,
}

/// A node of a physical plan (recursive).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SparkPlanInfo<'a> {
    #[serde(rename = "nodeName", borrow)]
    pub node_name: Cow<'a, str>,
    #[serde(rename = "simpleString", borrow, default)]
    pub simple_string: Cow<'a, str>,
    #[serde(borrow, default)]
    pub children: Vec<SparkPlanInfo<'a>>,
    #[serde(borrow, default)]
    pub metadata: StrMap<'a>,
    #[serde(borrow, default)]
    pub metrics: Vec<SqlPlanMetric<'a>>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SqlPlanMetric<'a> {
    #[serde(borrow)]
    pub name: Cow<'a, str>,
    #[serde(rename = "accumulatorId")]
    pub accumulator_id: i64,
    #[serde(rename = "metricType", borrow, default)]
    pub metric_type: Cow<'a, str>,
}
