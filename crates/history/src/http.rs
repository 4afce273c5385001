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
        .route("/api/v1/{*rest}", get(api_v1))
        .with_state(history)
}

/// The message of an error answer (also its plain-text body), for callers that wrap errors
/// in their own shape.
#[derive(Debug, Clone)]
pub struct ErrorMessage(pub String);

fn error(status: StatusCode, msg: impl Into<String>) -> Response {
    let msg = msg.into();
    let mut r = (status, msg.clone()).into_response();
    r.extensions_mut().insert(ErrorMessage(msg));
    r
}

fn not_found(msg: impl Into<String>) -> Response {
    error(StatusCode::NOT_FOUND, msg)
}

fn bad_request(msg: impl Into<String>) -> Response {
    error(StatusCode::BAD_REQUEST, msg)
}

async fn api_v1(
    State(h): State<Shared>,
    Path(rest): Path<String>,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    answer(&read(&h), &rest, &Params::new(q))
}

/// Answers one request for `/api/v1/{path}` from `hist` (`path` without the `/api/v1/`
/// prefix). Errors are plain-text answers that carry an [`ErrorMessage`] extension.
pub fn answer(hist: &History, path: &str, q: &Params) -> Response {
    let path = path.trim_matches('/');
    match path {
        "version" => Json(crate::version()).into_response(),
        "applications" => match list_query(q) {
            Ok(q) => Json(hist.applications(&q)).into_response(),
            Err(r) => bad_request(r),
        },
        _ => match path.strip_prefix("applications/") {
            Some(rest) => app_answer(hist, rest, q),
            None => not_found(format!("unknown endpoint: {path}")),
        },
    }
}

fn read(h: &Shared) -> std::sync::RwLockReadGuard<'_, History> {
    h.read().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A 400 answer's message.
type BadRequest = String;

/// Query parameters, repeated ones kept (`status=a&status=b`, as JAX-RS list parameters).
#[derive(Debug, Default, Clone)]
pub struct Params(Vec<(String, String)>);

impl Params {
    /// Parameters in request order.
    pub fn new(pairs: Vec<(String, String)>) -> Self {
        Self(pairs)
    }

    /// The first value of `key`.
    pub fn get(&self, key: &str) -> Option<&String> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Every value of `key`, comma-separated values split too.
    pub fn all(&self, key: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .flat_map(|(_, v)| v.split(','))
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// A JAX-RS `Boolean` parameter: `true` (any case) is true, any other value false.
    pub fn flag(&self, key: &str, default: bool) -> bool {
        self.get(key)
            .map_or(default, |v| v.eq_ignore_ascii_case("true"))
    }
}

impl From<HashMap<String, String>> for Params {
    fn from(m: HashMap<String, String>) -> Self {
        Self(m.into_iter().collect())
    }
}

fn date_param(q: &Params, key: &str) -> Result<Option<i64>, BadRequest> {
    match q.get(key) {
        None => Ok(None),
        Some(s) => parse_date(s)
            .map(Some)
            .ok_or_else(|| format!("Couldn't parse date: {s}")),
    }
}

fn list_query(q: &Params) -> Result<ListQuery, BadRequest> {
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

fn app_answer(hist: &History, rest: &str, q: &Params) -> Response {
    let parts: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let Some((&id, tail)) = parts.split_first() else {
        return not_found("no application id");
    };
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
    endpoint(hist, app, tail, q)
}

fn json<T: serde::Serialize>(v: T) -> Response {
    Json(v).into_response()
}

/// One endpoint under `applications/{id}[/{attempt}]/` (`tail`: the path after it).
pub fn endpoint(hist: &History, app: &App, tail: &[&str], q: &Params) -> Response {
    match tail {
        ["jobs"] => {
            let statuses: Vec<String> = q.all("status").iter().map(|s| s.to_uppercase()).collect();
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
        ["stages", id] => {
            let opts = match stage_options(q, true) {
                Ok(o) => o,
                Err(r) => return bad_request(r),
            };
            let v = id
                .parse::<i64>()
                .map(|i| app.state().stage_attempts(i))
                .unwrap_or_default();
            if v.is_empty() {
                return not_found(format!("unknown stage: {id}"));
            }
            let v: Vec<Value> = v
                .into_iter()
                .filter_map(|s| serde_json::to_value(s).ok())
                .map(|mut s| {
                    app.decorate_one(&mut s, &opts);
                    s
                })
                .collect();
            json(v)
        }
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
            let opts = match stage_options(q, true) {
                Ok(o) => o,
                Err(r) => return bad_request(r),
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
                    app.decorate_one(&mut s, &opts);
                    json(s)
                }
                None => not_found(format!(
                    "unknown attempt for stage {id}.  Found attempts: []"
                )),
            }
        }
        ["sql"] => {
            let num = |k: &str, d: i64| -> Result<i64, String> {
                match q.get(k) {
                    None => Ok(d),
                    Some(v) => v
                        .parse::<i32>()
                        .map(i64::from)
                        .map_err(|_| format!("bad value for parameter {k}: {v}")),
                }
            };
            let (offset, length) = match (num("offset", 0), num("length", -1)) {
                (Ok(o), Ok(l)) => (o, l),
                (Err(r), _) | (_, Err(r)) => return not_found(r),
            };
            json(app.sql_list(
                q.flag("details", true),
                q.flag("planDescription", true),
                usize::try_from(offset).unwrap_or(0),
                length,
            ))
        }
        ["sql", id] => {
            let exec = id
                .bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| id.parse::<i64>().ok())
                .flatten()
                .and_then(|i| {
                    app.sql_execution(i, q.flag("details", true), q.flag("planDescription", true))
                });
            match exec {
                Some(v) => json(v),
                None => not_found(format!("unknown query execution id: {id}")),
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
fn quantiles(q: &Params) -> Result<Vec<f64>, BadRequest> {
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

/// The options of a `stages` request; `details_default`: `stages/{id}` shows details unless
/// `details=false`, the list does not unless `details=true`.
fn stage_options(q: &Params, details_default: bool) -> Result<crate::StageOptions, BadRequest> {
    let mut quantiles = quantiles(q)?;
    quantiles.sort_by(f64::total_cmp);
    Ok(crate::StageOptions {
        status: q.all("status"),
        details: q.flag("details", details_default),
        task_status: q.all("taskStatus"),
        with_summaries: q.flag("withSummaries", false),
        quantiles,
    })
}

fn stages(app: &App, q: &Params) -> Response {
    match stage_options(q, false) {
        Ok(o) => json(app.stage_list(&o)),
        Err(r) => bad_request(r),
    }
}

/// Re-scans a shared history on a copy of its application list (unchanged applications are
/// shared, not re-read), then swaps it in: readers see the old list until then.
pub fn rescan_once(shared: &Shared) {
    let mut h = {
        let g = read(shared);
        History {
            log_dir: g.log_dir.clone(),
            apps: g.apps.clone(),
            source_label: g.source_label.clone(),
            errors: Vec::new(),
        }
    };
    if let Err(e) = h.refresh() {
        eprintln!(
            "sparkplane history: re-scan of {} failed: {e}",
            h.log_dir.display()
        );
        return;
    }
    let mut g = shared
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    *g = h;
}

/// Where the logs come from.
#[derive(Debug, Clone)]
pub enum LogSource {
    /// A local directory.
    Dir(std::path::PathBuf),
    /// `s3://bucket/prefix`, mirrored into `mirror` (see [`crate::s3`]).
    S3 {
        url: String,
        endpoint: Option<String>,
        mirror: std::path::PathBuf,
    },
}

/// Loads the logs of `source`, then serves `/api/v1` on `listen` until the process ends,
/// re-scanning every `rescan` for new and grown logs.
pub async fn serve(
    source: LogSource,
    listen: std::net::SocketAddr,
    rescan: std::time::Duration,
) -> Result<(), crate::Error> {
    let (log_dir, label, mut mirror) = match source {
        LogSource::Dir(d) => (d, None, None),
        LogSource::S3 {
            url,
            endpoint,
            mirror,
        } => {
            let mut m = crate::s3::S3Mirror::open(&url, endpoint.as_deref(), mirror)?;
            m.sync().await?;
            (m.dir.clone(), Some(url), Some(m))
        }
    };
    let dir = log_dir.clone();
    let mut history = tokio::task::spawn_blocking(move || History::load(&dir))
        .await
        .map_err(|e| crate::Error::Io {
            path: log_dir.clone(),
            source: std::io::Error::other(e),
        })??;
    history.source_label.clone_from(&label);
    for (p, e) in &history.errors {
        eprintln!("sparkplane history: skipped {}: {e}", p.display());
    }
    eprintln!(
        "sparkplane history: {} application attempt(s) from {}",
        history.apps.len(),
        label
            .as_deref()
            .map_or_else(|| log_dir.display().to_string(), str::to_owned)
    );
    let shared: Shared = Arc::new(RwLock::new(history));
    let bg = shared.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(rescan).await;
            if let Some(m) = mirror.as_mut() {
                if let Err(e) = m.sync().await {
                    eprintln!("sparkplane history: fetching new logs failed: {e}");
                }
            }
            let s = bg.clone();
            let _ = tokio::task::spawn_blocking(move || rescan_once(&s)).await;
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
