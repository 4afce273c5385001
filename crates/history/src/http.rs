//! `/api/v1` over a [`History`], as an axum router. Paths are parsed by hand after
//! `/api/v1/applications/` because `{id}/{attempt}` and `{id}/jobs` share a shape.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::Value;

use crate::time::parse_date;
use crate::{App, History, ListQuery};

/// Shared state of the server.
pub type Shared = Arc<RwLock<History>>;

/// The `/api/v1` router.
pub fn router(history: Shared) -> Router {
    Router::new()
        .route("/api/v1/version", get(|| async { Json(crate::version()) }))
        .route("/api/v1/applications", get(applications))
        .route("/api/v1/applications/", get(applications))
        .route("/api/v1/applications/{*rest}", get(app_route))
        .with_state(history)
}

fn not_found(msg: impl Into<String>) -> Response {
    (StatusCode::NOT_FOUND, msg.into()).into_response()
}

fn bad_request(msg: impl Into<String>) -> Response {
    (StatusCode::BAD_REQUEST, msg.into()).into_response()
}

fn read(h: &Shared) -> std::sync::RwLockReadGuard<'_, History> {
    h.read().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A 400 answer's message.
type BadRequest = String;

fn date_param(q: &HashMap<String, String>, key: &str) -> Result<Option<i64>, BadRequest> {
    match q.get(key) {
        None => Ok(None),
        Some(s) => parse_date(s)
            .map(Some)
            .ok_or_else(|| format!("Couldn't parse date: {s}")),
    }
}

fn list_query(q: &HashMap<String, String>) -> Result<ListQuery, BadRequest> {
    Ok(ListQuery {
        status: q.get("status").cloned(),
        min_date: date_param(q, "minDate")?,
        max_date: date_param(q, "maxDate")?,
        min_end_date: date_param(q, "minEndDate")?,
        max_end_date: date_param(q, "maxEndDate")?,
        limit: match q.get("limit") {
            None => None,
            Some(s) => Some(s.parse().map_err(|_| format!("bad limit: {s}"))?),
        },
    })
}

async fn applications(
    State(h): State<Shared>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    match list_query(&q) {
        Ok(q) => Json(read(&h).applications(&q)).into_response(),
        Err(r) => bad_request(r),
    }
}

const SUB: &[&str] = &[
    "jobs",
    "stages",
    "executors",
    "allexecutors",
    "environment",
    "sql",
    "logs",
    "storage",
];

async fn app_route(
    State(h): State<Shared>,
    Path(rest): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let parts: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let Some((&id, tail)) = parts.split_first() else {
        return not_found("no application id");
    };
    let hist = read(&h);
    // `{id}/{attempt}/...` when the next segment is not an endpoint name.
    let (attempt, tail) = match tail.split_first() {
        Some((first, t)) if !SUB.contains(first) => (Some(*first), t),
        _ => (None, tail),
    };
    if tail.is_empty() {
        return match (attempt, hist.application(id)) {
            (None, Some(info)) => Json(info).into_response(),
            (Some(a), Some(_)) => match hist.app(id, Some(a)) {
                Some(app) => Json(app.attempt_info(&hist.source_name())).into_response(),
                None => not_found(format!("unknown app {id}, attempt {a}")),
            },
            _ => not_found(format!("unknown app: {id}")),
        };
    }
    let Some(app) = hist.app(id, attempt) else {
        return not_found(format!("no such app: {id}"));
    };
    endpoint(&hist, app, tail, &q)
}

fn json<T: serde::Serialize>(v: T) -> Response {
    Json(v).into_response()
}

fn endpoint(hist: &History, app: &App, tail: &[&str], q: &HashMap<String, String>) -> Response {
    match tail {
        ["jobs"] => {
            let statuses: Vec<String> = q
                .get("status")
                .map(|s| s.split(',').map(str::to_uppercase).collect())
                .unwrap_or_default();
            let jobs: Vec<_> = app
                .state()
                .jobs()
                .into_iter()
                .filter(|j| statuses.is_empty() || statuses.iter().any(|s| s == j.status))
                .collect();
            json(jobs)
        }
        ["jobs", id] => match id.parse::<i64>().ok().and_then(|i| app.state().job(i)) {
            Some(j) => json(j),
            None => not_found(format!("unknown job: {id}")),
        },
        ["stages"] => stages(app, q),
        ["stages", id] => match id.parse::<i64>() {
            Ok(i) => {
                let v = app.state().stage_attempts(i);
                if v.is_empty() {
                    not_found(format!("unknown stage: {id}"))
                } else {
                    let details = q.get("details").is_none_or(|d| d != "false");
                    let v: Vec<Value> = v
                        .into_iter()
                        .filter_map(|s| serde_json::to_value(s).ok())
                        .map(|mut s| {
                            if details {
                                app.add_details(&mut s);
                            }
                            s
                        })
                        .collect();
                    json(v)
                }
            }
            Err(_) => not_found(format!("unknown stage: {id}")),
        },
        ["stages", id, attempt, "taskSummary"] => {
            let (Ok(i), Ok(a)) = (id.parse::<i64>(), attempt.parse::<i64>()) else {
                return not_found("unknown stage");
            };
            let q = match quantiles(q) {
                Ok(q) => q,
                Err(r) => return bad_request(r),
            };
            if app
                .state()
                .stage_attempts(i)
                .iter()
                .all(|s| s.attempt_id != a)
            {
                return not_found(format!("unknown stage {id} attempt {attempt}"));
            }
            match app.task_summary(i, a, &q) {
                Some(v) => json(v),
                None => not_found(format!(
                    "No tasks reported metrics for {id} / {attempt} yet."
                )),
            }
        }
        ["stages", id, attempt, "taskList"] => {
            let (Ok(i), Ok(a)) = (id.parse::<i64>(), attempt.parse::<i64>()) else {
                return not_found("unknown stage");
            };
            let num = |k: &str, d: usize| q.get(k).and_then(|v| v.parse().ok()).unwrap_or(d);
            let status = q.get("status").map(|s| s.to_uppercase());
            json(app.task_list(i, a, num("offset", 0), num("length", 20), status.as_deref()))
        }
        ["stages", id, attempt] => {
            let (Ok(i), Ok(a)) = (id.parse::<i64>(), attempt.parse::<i64>()) else {
                return not_found("unknown stage");
            };
            match app
                .state()
                .stage_attempts(i)
                .into_iter()
                .find(|s| s.attempt_id == a)
            {
                Some(s) => {
                    let Ok(mut s) = serde_json::to_value(s) else {
                        return not_found("unknown stage");
                    };
                    if q.get("details").is_none_or(|d| d != "false") {
                        app.add_details(&mut s);
                    }
                    json(s)
                }
                None => not_found(format!(
                    "unknown attempt for stage {id}.  Found attempts: []"
                )),
            }
        }
        ["executors"] => json(app.executors(false)),
        ["allexecutors"] => json(app.executors(true)),
        ["environment"] => json(app.environment()),
        ["logs"] => match app.logs_zip() {
            Ok(bytes) => {
                let name = match app.attempt_id() {
                    Some(a) => format!("eventLogs-{}-{a}.zip", app.id()),
                    None => format!("eventLogs-{}.zip", app.id()),
                };
                (
                    [
                        (
                            axum::http::header::CONTENT_TYPE,
                            "application/octet-stream".to_owned(),
                        ),
                        (
                            axum::http::header::CONTENT_DISPOSITION,
                            format!("attachment; filename={name}"),
                        ),
                    ],
                    bytes,
                )
                    .into_response()
            }
            Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
        },
        _ => {
            let _ = hist;
            not_found("unknown endpoint")
        }
    }
}

/// `quantiles=0.0,0.5,…` (SHS's default when absent).
fn quantiles(q: &HashMap<String, String>) -> Result<Vec<f64>, BadRequest> {
    match q.get("quantiles") {
        None => Ok(crate::DEFAULT_QUANTILES.to_vec()),
        Some(s) => s
            .split(',')
            .map(|x| {
                x.trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|v| (0.0..=1.0).contains(v))
                    .ok_or_else(|| format!("Bad value for parameter \"quantiles\": {s}"))
            })
            .collect(),
    }
}

fn stages(app: &App, q: &HashMap<String, String>) -> Response {
    let statuses: Vec<String> = q
        .get("status")
        .map(|s| s.split(',').map(str::to_uppercase).collect())
        .unwrap_or_default();
    let with_summaries = q.get("withSummaries").is_some_and(|v| v == "true");
    let v: Vec<Value> = if with_summaries {
        let qs = match quantiles(q) {
            Ok(q) => q,
            Err(r) => return bad_request(r),
        };
        app.stages_with_summaries(&qs)
    } else {
        app.state()
            .stages()
            .into_iter()
            .filter_map(|s| serde_json::to_value(s).ok())
            .collect()
    };
    let v: Vec<Value> = v
        .into_iter()
        .filter(|s| {
            statuses.is_empty()
                || s.get("status")
                    .and_then(Value::as_str)
                    .is_some_and(|st| statuses.iter().any(|x| x == st))
        })
        .collect();
    json(v)
}

/// Loads `log_dir`, then serves `/api/v1` on `listen` until the process ends, re-scanning the
/// directory every `rescan` for new and grown logs.
pub async fn serve(
    log_dir: std::path::PathBuf,
    listen: std::net::SocketAddr,
    rescan: std::time::Duration,
) -> Result<(), crate::Error> {
    let dir = log_dir.clone();
    let history = tokio::task::spawn_blocking(move || History::load(&dir))
        .await
        .map_err(|e| crate::Error::Io {
            path: log_dir.clone(),
            source: std::io::Error::other(e),
        })??;
    for (p, e) in &history.errors {
        eprintln!("sparkplane history: skipped {}: {e}", p.display());
    }
    eprintln!(
        "sparkplane history: {} application attempt(s) from {}",
        history.apps.len(),
        log_dir.display()
    );
    let shared: Shared = Arc::new(RwLock::new(history));
    let bg = shared.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(rescan).await;
            let s = bg.clone();
            // Re-scan outside the lock, then swap: readers are never blocked by a scan.
            let _ = tokio::task::spawn_blocking(move || {
                let (dir, mut apps) = {
                    let mut g = s.write().unwrap_or_else(std::sync::PoisonError::into_inner);
                    (g.log_dir.clone(), std::mem::take(&mut g.apps))
                };
                let mut h = History {
                    log_dir: dir,
                    apps: std::mem::take(&mut apps),
                    errors: Vec::new(),
                };
                let _ = h.refresh();
                let mut g = s.write().unwrap_or_else(std::sync::PoisonError::into_inner);
                *g = h;
            })
            .await;
        }
    });
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|source| crate::Error::Io {
            path: log_dir.clone(),
            source,
        })?;
    eprintln!("sparkplane history: listening on http://{listen}/api/v1");
    axum::serve(listener, router(shared))
        .await
        .map_err(|source| crate::Error::Io {
            path: log_dir,
            source,
        })
}
