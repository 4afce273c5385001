//! The JSON shapes of Spark's `/api/v1` (`org.apache.spark.status.api.v1`), field for field.
//! `Option` fields that SHS omits when empty are skipped; dates are SHS's GMT strings.

use std::collections::BTreeMap;

use serde::Serialize;

/// `ApplicationInfo`.
#[derive(Debug, Clone, Serialize)]
pub struct ApplicationInfo {
    pub id: String,
    pub name: String,
    pub attempts: Vec<ApplicationAttemptInfo>,
}

/// `ApplicationAttemptInfo`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationAttemptInfo {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempt_id: Option<String>,
    pub start_time: String,
    pub end_time: String,
    pub last_updated: String,
    pub duration: i64,
    pub spark_user: String,
    pub completed: bool,
    pub app_spark_version: String,
    pub start_time_epoch: i64,
    pub end_time_epoch: i64,
    pub last_updated_epoch: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i64>,
    pub log_source_name: String,
    pub log_source_full_path: String,
}

/// `JobData`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobData {
    pub job_id: i64,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub submission_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completion_time: Option<String>,
    pub stage_ids: Vec<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_group: Option<String>,
    pub job_tags: Vec<String>,
    pub status: &'static str,
    pub num_tasks: i64,
    pub num_active_tasks: i64,
    pub num_completed_tasks: i64,
    pub num_skipped_tasks: i64,
    pub num_failed_tasks: i64,
    pub num_killed_tasks: i64,
    pub num_completed_indices: i64,
    pub num_active_stages: i64,
    pub num_completed_stages: i64,
    pub num_skipped_stages: i64,
    pub num_failed_stages: i64,
    pub killed_tasks_summary: BTreeMap<String, i64>,
}

/// Summed task metrics of a stage (the numeric part of `StageData`).
#[derive(Debug, Clone, Copy, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StageMetrics {
    pub executor_deserialize_time: i64,
    pub executor_deserialize_cpu_time: i64,
    pub executor_run_time: i64,
    pub executor_cpu_time: i64,
    pub result_size: i64,
    pub jvm_gc_time: i64,
    pub result_serialization_time: i64,
    pub memory_bytes_spilled: i64,
    pub disk_bytes_spilled: i64,
    pub peak_execution_memory: i64,
    pub input_bytes: i64,
    pub input_records: i64,
    pub output_bytes: i64,
    pub output_records: i64,
    pub shuffle_remote_blocks_fetched: i64,
    pub shuffle_local_blocks_fetched: i64,
    pub shuffle_fetch_wait_time: i64,
    pub shuffle_remote_bytes_read: i64,
    pub shuffle_remote_bytes_read_to_disk: i64,
    pub shuffle_local_bytes_read: i64,
    pub shuffle_read_bytes: i64,
    pub shuffle_read_records: i64,
    pub shuffle_corrupt_merged_block_chunks: i64,
    pub shuffle_merged_fetch_fallback_count: i64,
    pub shuffle_merged_remote_blocks_fetched: i64,
    pub shuffle_merged_local_blocks_fetched: i64,
    pub shuffle_merged_remote_chunks_fetched: i64,
    pub shuffle_merged_local_chunks_fetched: i64,
    pub shuffle_merged_remote_bytes_read: i64,
    pub shuffle_merged_local_bytes_read: i64,
    pub shuffle_remote_reqs_duration: i64,
    pub shuffle_merged_remote_reqs_duration: i64,
    pub shuffle_write_bytes: i64,
    pub shuffle_write_time: i64,
    pub shuffle_write_records: i64,
}

/// `AccumulableInfo`.
#[derive(Debug, Clone, Serialize)]
pub struct AccumulableInfo {
    pub id: i64,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub update: Option<String>,
    pub value: String,
}

/// `StageData` (without `tasks`/`executorSummary`, which only `details=true` adds).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StageData {
    pub status: &'static str,
    pub stage_id: i64,
    pub attempt_id: i64,
    pub num_tasks: i64,
    pub num_active_tasks: i64,
    pub num_complete_tasks: i64,
    pub num_failed_tasks: i64,
    pub num_killed_tasks: i64,
    pub num_completed_indices: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub submission_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_task_launched_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completion_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
    #[serde(flatten)]
    pub metrics: StageMetrics,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub details: String,
    pub scheduling_pool: String,
    pub rdd_ids: Vec<i64>,
    pub accumulator_updates: Vec<AccumulableInfo>,
    pub killed_tasks_summary: BTreeMap<String, i64>,
    pub resource_profile_id: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peak_executor_metrics: Option<BTreeMap<String, i64>>,
    pub is_shuffle_push_enabled: bool,
    pub shuffle_mergers_count: i64,
}

/// `MemoryMetrics`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MemoryMetrics {
    pub used_on_heap_storage_memory: i64,
    pub used_off_heap_storage_memory: i64,
    pub total_on_heap_storage_memory: i64,
    pub total_off_heap_storage_memory: i64,
}

/// `ExecutorSummary`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutorSummary {
    pub id: String,
    pub host_port: String,
    pub is_active: bool,
    pub rdd_blocks: i64,
    pub memory_used: i64,
    pub disk_used: i64,
    pub total_cores: i64,
    pub max_tasks: i64,
    pub active_tasks: i64,
    pub failed_tasks: i64,
    pub completed_tasks: i64,
    pub total_tasks: i64,
    pub total_duration: i64,
    #[serde(rename = "totalGCTime")]
    pub total_gc_time: i64,
    pub total_input_bytes: i64,
    pub total_shuffle_read: i64,
    pub total_shuffle_write: i64,
    pub is_blacklisted: bool,
    pub max_memory: i64,
    pub add_time: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remove_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remove_reason: Option<String>,
    pub executor_logs: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_metrics: Option<MemoryMetrics>,
    pub blacklisted_in_stages: Vec<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peak_memory_metrics: Option<BTreeMap<String, i64>>,
    pub attributes: BTreeMap<String, String>,
    pub resources: BTreeMap<String, serde_json::Value>,
    pub resource_profile_id: i64,
    pub is_excluded: bool,
    pub excluded_in_stages: Vec<i64>,
}
