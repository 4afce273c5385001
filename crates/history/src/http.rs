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

fn date_param(q: &HashMap<String, String>, key: &str) -> Result<Option<i64>, Response> {
    match q.get(key) {
        None => Ok(None),
        Some(s) => parse_date(s)
            .map(Some)
            .ok_or_else(|| bad_request(format!("Couldn't parse date: {s}"))),
    }
}

fn list_query(q: &HashMap<String, String>) -> Result<ListQuery, Response> {
    Ok(ListQuery {
        status: q.get("status").cloned(),
        min_date: date_param(q, "minDate")?,
        max_date: date_param(q, "maxDate")?,
        min_end_date: date_param(q, "minEndDate")?,
        max_end_date: date_param(q, "maxEndDate")?,
        limit: match q.get("limit") {
            None => None,
            Some(s) => Some(s.parse().map_err(|_| bad_request(format!("bad limit: {s}")))?),
        },
    })
}

async fn applications(
    State(h): State<Shared>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    match list_query(&q) {
        Ok(q) => Json(read(&h).applications(&q)).into_response(),
        Err(r) => r,
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
                .state
                .jobs()
                .into_iter()
                .filter(|j| statuses.is_empty() || statuses.iter().any(|s| s == j.status))
                .collect();
            json(jobs)
        }
        ["jobs", id] => match id.parse::<i64>().ok().and_then(|i| app.state.job(i)) {
            Some(j) => json(j),
            None => not_found(format!("unknown job: {id}")),
        },
        ["stages"] => stages(app, q),
        ["stages", id] => match id.parse::<i64>() {
            Ok(i) => {
                let v = app.state.stage_attempts(i);
                if v.is_empty() {
                    not_found(format!("unknown stage: {id}"))
                } else {
                    json(v)
                }
            }
            Err(_) => not_found(format!("unknown stage: {id}")),
        },
        ["stages", id, attempt] => {
            let (Ok(i), Ok(a)) = (id.parse::<i64>(), attempt.parse::<i64>()) else {
                return not_found("unknown stage");
            };
            match app
                .state
                .stage_attempts(i)
                .into_iter()
                .find(|s| s.attempt_id == a)
            {
                Some(s) => json(s),
                None => not_found(format!("unknown attempt for stage {id}.  Found attempts: []")),
            }
        }
        ["executors"] => json(app.executors(false)),
        ["allexecutors"] => json(app.executors(true)),
        ["environment"] => json(app.environment()),
        _ => {
            let _ = hist;
            not_found("unknown endpoint")
        }
    }
}

fn stages(app: &App, q: &HashMap<String, String>) -> Response {
    let statuses: Vec<String> = q
        .get("status")
        .map(|s| s.split(',').map(str::to_uppercase).collect())
        .unwrap_or_default();
    let v: Vec<Value> = app
        .state
        .stages()
        .into_iter()
        .filter(|s| statuses.is_empty() || statuses.iter().any(|x| x == s.status))
        .filter_map(|s| serde_json::to_value(s).ok())
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
