//! Each instance's own Spark History Server: Spark's monitoring REST API (`/api/v1`, answered
//! by `sparkplane-history`) over the event logs the runner wrote into the instance's area, at
//! `/v3/analytics_engines/{instance_id}/spark_history/api/v1/…`, for callers with Reader (or
//! more) on the instance. Errors use the API's JSON error shape; an application that only
//! arrived as an exported performance summary answers 404 saying it has no event log.
//!
//! The route family is not in the OpenAPI document: it is Spark's API (arrays, objects and zip
//! files under one catch-all path), documented by Spark's monitoring guide.

use std::collections::HashMap;
use std::path::{Path as FsPath, PathBuf};
use std::sync::{Arc, LazyLock, Mutex, RwLock};
use std::time::{Duration, Instant};

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use sparkplane_history::http::{answer, rescan_once, ErrorMessage, Params, Shared};
use sparkplane_history::History;
use sparkplane_iam::Action;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;

/// The route (axum syntax).
pub const PATH: &str = "/v3/analytics_engines/{instance_id}/spark_history/api/v1/{*path}";

/// How stale an instance's listing may be before a request re-scans its event-log directory.
const RESCAN: Duration = Duration::from_secs(2);

/// One instance's history: the folded applications and when the directory was last scanned.
struct Cached {
    history: Shared,
    scanned: Mutex<Instant>,
}

/// Histories by event-log directory (one per instance, kept until the instance is deleted;
/// per-task detail is not kept in memory, see `sparkplane-history`).
static CACHE: LazyLock<Mutex<HashMap<PathBuf, Arc<Cached>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// The instance's event-log directory (where the runner points `spark.eventLog.dir`).
fn event_log_dir(state: &AppState, instance_id: &str) -> PathBuf {
    state
        .runner_dir
        .join("instances")
        .join(instance_id)
        .join("eventlogs")
}

/// Forget a deleted instance's history (called when the instance is deleted).
pub fn forget(state: &AppState, instance_id: &str) {
    CACHE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .remove(&event_log_dir(state, instance_id));
}

/// The instance's history, re-scanned when older than [`RESCAN`].
fn history_of(dir: &FsPath, instance_id: &str) -> Arc<Cached> {
    let cached = {
        let mut cache = CACHE
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        cache
            .entry(dir.to_owned())
            .or_insert_with(|| {
                Arc::new(Cached {
                    history: Arc::new(RwLock::new(History {
                        log_dir: dir.to_owned(),
                        source_label: Some(format!("instance:{instance_id}/eventlogs")),
                        ..History::default()
                    })),
                    scanned: Mutex::new(Instant::now() - RESCAN * 2),
                })
            })
            .clone()
    };
    let stale = {
        let mut t = cached
            .scanned
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let stale = t.elapsed() >= RESCAN;
        if stale {
            *t = Instant::now();
        }
        stale
    };
    if stale && dir.is_dir() {
        // Re-scans a copy of the list and swaps it in: concurrent requests are not blocked.
        rescan_once(&cached.history);
    }
    cached
}

/// The application id (and attempt) a `/api/v1` path is about, if any.
fn app_of(path: &str) -> Option<(&str, Option<&str>)> {
    let rest = path.trim_matches('/').strip_prefix("applications/")?;
    let mut it = rest.split('/').filter(|s| !s.is_empty());
    let id = it.next()?;
    let attempt = it.next().filter(|s| s.chars().all(|c| c.is_ascii_digit()));
    Some((id, attempt))
}

/// Spark's monitoring REST API over the instance's event logs (Reader).
pub async fn api_v1(
    State(state): State<AppState>,
    caller: Caller,
    Path((instance_id, path)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let resource = format!("/v3/analytics_engines/{instance_id}/spark_history/api/v1/{path}");
    let (inst, _) = state
        .check_instance(&caller.0, &instance_id, Action::DataRead, &resource)
        .await?;
    let params = Params::new(
        form_urlencoded::parse(query.unwrap_or_default().as_bytes())
            .into_owned()
            .collect(),
    );
    let dir = event_log_dir(&state, &inst.id);
    let id = inst.id.clone();
    let p = path.clone();
    let res = tokio::task::spawn_blocking(move || {
        let cached = history_of(&dir, &id);
        let h = cached
            .history
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let known = app_of(&p).is_none_or(|(app, _)| !h.attempts(app).is_empty());
        (answer(&h, &p, &params), known)
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?;
    let (res, known) = res;
    if res.status().is_success() {
        return Ok(res);
    }
    let msg = res
        .extensions()
        .get::<ErrorMessage>()
        .map_or_else(|| "not found".to_owned(), |m| m.0.clone());
    if !known {
        if let Some((app, attempt)) = app_of(&path) {
            return Err(unknown_app(&state, &inst.id, app, attempt).await);
        }
    }
    Err(match res.status() {
        StatusCode::BAD_REQUEST => ApiError::BadRequest(msg),
        StatusCode::NOT_FOUND => ApiError::NotFound(msg),
        s => ApiError::Internal(format!("{s}: {msg}")),
    })
}

/// The 404 for an application id with no event log in the instance: says so when the run is
/// known from an exported performance summary.
async fn unknown_app(
    state: &AppState,
    instance_id: &str,
    app: &str,
    attempt: Option<&str>,
) -> ApiError {
    let found = state
        .store
        .summary_by_app(instance_id, app, attempt.unwrap_or("1"))
        .await
        .ok()
        .and_then(|v| v.into_iter().next());
    match found {
        Some(rec) => ApiError::NotFound(format!(
            "application `{app}` arrived in this instance only as an exported performance summary \
             (origin {}); it has no event log here, so the History Server API has no detail for \
             it. Its summary: /v3/analytics_engines/{instance_id}/performance_summaries/{}",
            rec.origin, rec.id
        )),
        None => ApiError::NotFound(format!(
            "unknown app: {app} (no event log of it in this instance)"
        )),
    }
}
