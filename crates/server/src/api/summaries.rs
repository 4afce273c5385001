//! Performance summaries of an instance (`/v3/analytics_engines/{instance_id}/performance_summaries`):
//! ingest (Exporter, Writer, Manager), list with filters and pagination, read one, and trends
//! per application name (Reader). The work is in [`crate::ingest`] and `sparkplane_store`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use sparkplane_analysis::summary::InsightKind;
use sparkplane_iam::{Action, Role};
use sparkplane_store::{Origin, RunStatus, StoreError, SummaryQuery, SummaryRecord, UpsertOutcome};
use time::format_description::well_known::Rfc3339;

use crate::api::{rfc3339, ApiErrors};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{Body, Query};
use crate::ingest::IngestRequest;
use crate::state::AppState;

const DEFAULT_LIMIT: i64 = 50;
const DEFAULT_TREND_RUNS: i64 = 100;
const MAX_LIMIT: i64 = 1000;

fn base_path(instance_id: &str) -> String {
    format!("/v3/analytics_engines/{instance_id}/performance_summaries")
}

/// One stored summary (its listing row).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SummaryView {
    /// Stable id (the same summary ingested again keeps it).
    pub id: String,
    /// `runner`, `exporter:<principal>`, `writer:<principal>` or `source:<name>`.
    pub origin: String,
    /// Spark application id.
    pub app_id: String,
    /// Attempt id (`1` when the application has none).
    pub attempt: String,
    /// Application name.
    pub name: Option<String>,
    /// `succeeded`, `failed`, `running` or `unknown`.
    pub status: String,
    /// The log has the application's end event.
    pub completed: bool,
    /// Spark version.
    pub spark_version: Option<String>,
    /// Start (RFC 3339).
    pub start_time: Option<String>,
    /// End (RFC 3339).
    pub end_time: Option<String>,
    /// Run time (ms).
    pub duration_ms: Option<i64>,
    /// Allocated executor core-hours.
    pub core_hours: f64,
    /// Allocated executor memory GB-hours.
    pub memory_gb_hours: f64,
    /// Estimated cost at the server's prices when ingested.
    pub cost: Option<f64>,
    /// Insight kinds found.
    pub insight_kinds: Vec<String>,
    /// Number of insights.
    pub insight_count: i64,
    /// Highest insight severity.
    pub top_severity: Option<String>,
    /// Where the event log is, when sparkplane knows it.
    pub event_log: Option<String>,
    /// sparkplane application id (runs of this instance's runner).
    pub application_id: Option<String>,
    /// First ingest (RFC 3339).
    pub ingested_at: String,
    /// Last replacement (RFC 3339).
    pub updated_at: String,
}

impl From<&SummaryRecord> for SummaryView {
    fn from(r: &SummaryRecord) -> Self {
        SummaryView {
            id: r.id.clone(),
            origin: r.origin.to_string(),
            app_id: r.app_id.clone(),
            attempt: r.attempt.clone(),
            name: r.name.clone(),
            status: r.status.as_str().to_owned(),
            completed: r.completed,
            spark_version: r.spark_version.clone(),
            start_time: r.start_time.map(rfc3339),
            end_time: r.end_time.map(rfc3339),
            duration_ms: r.duration_ms,
            core_hours: r.core_hours,
            memory_gb_hours: r.memory_gb_hours,
            cost: r.cost,
            insight_kinds: r.insight_kinds.clone(),
            insight_count: r.insight_count,
            top_severity: r.top_severity.map(|s| s.as_str().to_owned()),
            event_log: r.event_log.clone(),
            application_id: r.application_id.clone(),
            ingested_at: rfc3339(r.ingested_at),
            updated_at: rfc3339(r.updated_at),
        }
    }
}

/// Answer of an ingest.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IngestAnswer {
    /// Summary id.
    pub id: String,
    /// `inserted`, `replaced`, `unchanged` (same bytes) or `outdated` (the stored copy is
    /// further along and was kept).
    pub outcome: String,
    /// The stored row.
    pub performance_summary: SummaryView,
}

/// Ingest a performance summary (JSON of `schema/summary.schema.json`, at most 16 MiB).
/// Exporter, Writer or Manager. Re-sending the same application attempt replaces the stored
/// copy (or keeps it when it is further along); it never duplicates it.
#[utoipa::path(post, path = "/v3/analytics_engines/{instance_id}/performance_summaries", tag = "performance",
    params(("instance_id" = String, Path, description = "Instance id")),
    request_body(content = Object, description = "A summary (schema/summary.schema.json)", content_type = "application/json"),
    responses(
        (status = 201, description = "Stored (new)", body = IngestAnswer),
        (status = 200, description = "Replaced, unchanged or outdated", body = IngestAnswer),
        ApiErrors))]
pub async fn ingest(
    State(state): State<AppState>,
    caller: Caller,
    Path(instance_id): Path<String>,
    body: Body,
) -> Result<(StatusCode, Json<IngestAnswer>), ApiError> {
    let path = base_path(&instance_id);
    let (_, role) = state
        .check_instance(&caller.0, &instance_id, Action::SummaryWrite, &path)
        .await?;
    let origin = match role {
        Some(Role::Exporter) => Origin::Exporter(caller.0.id.clone()),
        _ => Origin::Writer(caller.0.id.clone()),
    };
    let done = state
        .ingest
        .ingest(IngestRequest {
            instance_id: &instance_id,
            origin,
            bytes: &body.0,
            principal_id: Some(&caller.0.id),
            event_log: None,
            application_id: None,
            checkpoint: None,
        })
        .await?;
    let status = if done.outcome == UpsertOutcome::Inserted {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(IngestAnswer {
            id: done.record.id.clone(),
            outcome: done.outcome.as_str().to_owned(),
            performance_summary: SummaryView::from(&done.record),
        }),
    ))
}

/// Filters of a summary list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only runs with an insight of this kind (`data_skew`, `spill`, …).
    #[param(value_type = Option<InsightKindName>)]
    pub insight: Option<String>,
    /// Only runs with this status (`succeeded`, `failed`, `running`, `unknown`).
    #[param(value_type = Option<RunStatusName>)]
    pub status: Option<String>,
    /// Only runs that started at or after this time (RFC 3339, or epoch ms).
    #[param(value_type = Option<String>, format = DateTime)]
    pub from: Option<String>,
    /// Only runs that started before this time (RFC 3339, or epoch ms).
    #[param(value_type = Option<String>, format = DateTime)]
    pub to: Option<String>,
    /// Only runs of this exact application name.
    pub name: Option<String>,
    /// Only runs whose name contains this text.
    pub name_contains: Option<String>,
    /// Only summaries of this origin (`runner`, `source:<name>`, …).
    pub origin: Option<String>,
    /// Only this Spark application id.
    pub app_id: Option<String>,
    /// Page size (1–1000, default 50).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
    /// Rows to skip (ignored with `start`).
    #[param(minimum = 0)]
    pub offset: Option<i64>,
    /// Cursor: the `next` of the previous page.
    #[param(pattern = r"^-?[0-9]{1,19}\.[0-9a-f-]{1,64}$")]
    pub start: Option<String>,
}

/// Insight kinds (documents `ListQuery::insight`; the handler refuses others with 400).
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum InsightKindName {
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

/// Run statuses (documents `ListQuery::status`).
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum RunStatusName {
    Succeeded,
    Failed,
    Running,
    Unknown,
}

/// A page of summaries, newest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SummaryList {
    /// The summaries.
    pub performance_summaries: Vec<SummaryView>,
    /// Cursor of the next page (`start=`), if there is one.
    pub next: Option<String>,
    /// All summaries matching the filters.
    pub total_count: i64,
}

fn parse_time(field: &str, v: &str) -> Result<i64, ApiError> {
    if let Ok(ms) = v.parse::<i64>() {
        return Ok(ms);
    }
    time::OffsetDateTime::parse(v, &Rfc3339)
        .map(|t| i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX))
        .map_err(|_| {
            ApiError::BadRequest(format!(
                "query parameter `{field}` must be RFC 3339 or epoch milliseconds"
            ))
        })
}

fn parse_insight(v: &str) -> Result<String, ApiError> {
    InsightKind::ALL
        .iter()
        .find(|k| k.as_str() == v)
        .map(|k| k.as_str().to_owned())
        .ok_or_else(|| {
            ApiError::BadRequest(format!(
                "query parameter `insight`: unknown insight kind `{v}`"
            ))
        })
}

fn store_err(e: StoreError) -> ApiError {
    match e {
        StoreError::Invalid(m) => ApiError::BadRequest(m),
        other => other.into(),
    }
}

/// List performance summaries (Reader), newest first, with filters and pagination.
#[utoipa::path(get, path = "/v3/analytics_engines/{instance_id}/performance_summaries", tag = "performance",
    params(("instance_id" = String, Path, description = "Instance id"), ListQuery),
    responses((status = 200, description = "Summaries", body = SummaryList), ApiErrors))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(instance_id): Path<String>,
    Query(q): Query<ListQuery>,
) -> Result<Json<SummaryList>, ApiError> {
    let path = base_path(&instance_id);
    state
        .check_instance(&caller.0, &instance_id, Action::DataRead, &path)
        .await?;
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::BadRequest(
            "query parameter `limit` must be 1 to 1000".into(),
        ));
    }
    let offset = q.offset.unwrap_or(0);
    if offset < 0 {
        return Err(ApiError::BadRequest(
            "query parameter `offset` must be 0 or more".into(),
        ));
    }
    let status = q
        .status
        .as_deref()
        .map(|s| {
            s.parse::<RunStatus>().map_err(|_| {
                ApiError::BadRequest(format!(
                    "query parameter `status`: expected succeeded, failed, running or unknown, got `{s}`"
                ))
            })
        })
        .transpose()?;
    let query = SummaryQuery {
        instance_id: instance_id.clone(),
        insight: q.insight.as_deref().map(parse_insight).transpose()?,
        status,
        from: q
            .from
            .as_deref()
            .map(|v| parse_time("from", v))
            .transpose()?,
        to: q.to.as_deref().map(|v| parse_time("to", v)).transpose()?,
        name: q.name,
        name_contains: q.name_contains,
        origin: q.origin,
        app_id: q.app_id,
        cursor: q.start,
        offset,
        limit,
        with_total: true,
    };
    let page = state.store.summaries(&query).await.map_err(store_err)?;
    Ok(Json(SummaryList {
        performance_summaries: page.items.iter().map(SummaryView::from).collect(),
        next: page.next,
        total_count: page.total.unwrap_or(0),
    }))
}

/// One summary with its full JSON.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SummaryDetail {
    /// The listing row.
    pub performance_summary: SummaryView,
    /// The full summary (schema/summary.schema.json).
    #[schema(value_type = Object)]
    pub summary: serde_json::Value,
}

/// Read one performance summary (Reader).
#[utoipa::path(get, path = "/v3/analytics_engines/{instance_id}/performance_summaries/{summary_id}", tag = "performance",
    params(("instance_id" = String, Path, description = "Instance id"),
           ("summary_id" = String, Path, description = "Summary id")),
    responses((status = 200, description = "The summary", body = SummaryDetail), ApiErrors))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path((instance_id, summary_id)): Path<(String, String)>,
) -> Result<Json<SummaryDetail>, ApiError> {
    let path = format!("{}/{summary_id}", base_path(&instance_id));
    state
        .check_instance(&caller.0, &instance_id, Action::DataRead, &path)
        .await?;
    let not_found = || ApiError::NotFound(format!("performance summary `{summary_id}` not found"));
    let rec = state
        .store
        .summary(&instance_id, &summary_id)
        .await?
        .ok_or_else(not_found)?;
    let bytes = state.objects.get(&rec.object_key).await?;
    let summary = serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::Internal(format!("stored summary {}: {e}", rec.id)))?;
    Ok(Json(SummaryDetail {
        performance_summary: SummaryView::from(&rec),
        summary,
    }))
}

/// Trend query.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TrendQuery {
    /// Application name (exact).
    pub name: String,
    /// Most recent runs to include (1–1000, default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
}

/// One run in a trend.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TrendPoint {
    /// Summary id.
    pub id: String,
    /// Spark application id.
    pub app_id: String,
    /// Start (RFC 3339).
    pub start_time: Option<String>,
    /// Status.
    pub status: String,
    /// Run time (ms).
    pub duration_ms: Option<i64>,
    /// Core-hours.
    pub core_hours: f64,
    /// Memory GB-hours.
    pub memory_gb_hours: f64,
    /// Estimated cost.
    pub cost: Option<f64>,
    /// Number of insights.
    pub insight_count: i64,
}

/// Duration and cost of an application's runs over time.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Trend {
    /// Application name.
    pub name: String,
    /// Runs, oldest first.
    pub runs: Vec<TrendPoint>,
    /// Median run time of these runs (ms).
    pub median_duration_ms: Option<i64>,
    /// Median cost of these runs.
    pub median_cost: Option<f64>,
    /// Last run's duration relative to the median (1.0 = as usual).
    pub last_duration_ratio: Option<f64>,
}

fn median_i64(mut v: Vec<i64>) -> Option<i64> {
    v.sort_unstable();
    v.get(v.len() / 2).copied()
}

fn median_f64(mut v: Vec<f64>) -> Option<f64> {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied()
}

/// Duration and cost over the runs of one application name (Reader).
#[utoipa::path(get, path = "/v3/analytics_engines/{instance_id}/performance_summaries/trends", tag = "performance",
    params(("instance_id" = String, Path, description = "Instance id"), TrendQuery),
    responses((status = 200, description = "Trend", body = Trend), ApiErrors))]
pub async fn trends(
    State(state): State<AppState>,
    caller: Caller,
    Path(instance_id): Path<String>,
    Query(q): Query<TrendQuery>,
) -> Result<Json<Trend>, ApiError> {
    let path = format!("{}/trends", base_path(&instance_id));
    state
        .check_instance(&caller.0, &instance_id, Action::DataRead, &path)
        .await?;
    let limit = q.limit.unwrap_or(DEFAULT_TREND_RUNS);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::BadRequest(
            "query parameter `limit` must be 1 to 1000".into(),
        ));
    }
    let runs = state
        .store
        .summary_trend(&instance_id, &q.name, limit)
        .await
        .map_err(store_err)?;
    let durations: Vec<i64> = runs.iter().filter_map(|r| r.duration_ms).collect();
    let median = median_i64(durations);
    let last_ratio = match (runs.last().and_then(|r| r.duration_ms), median) {
        (Some(l), Some(m)) if m > 0 => Some(l as f64 / m as f64),
        _ => None,
    };
    Ok(Json(Trend {
        median_duration_ms: median,
        median_cost: median_f64(runs.iter().filter_map(|r| r.cost).collect()),
        last_duration_ratio: last_ratio,
        runs: runs
            .iter()
            .map(|r| TrendPoint {
                id: r.id.clone(),
                app_id: r.app_id.clone(),
                start_time: r.start_time.map(rfc3339),
                status: r.status.as_str().to_owned(),
                duration_ms: r.duration_ms,
                core_hours: r.core_hours,
                memory_gb_hours: r.memory_gb_hours,
                cost: r.cost,
                insight_count: r.insight_count,
            })
            .collect(),
        name: q.name,
    }))
}
