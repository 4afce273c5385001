//! Spark applications of an instance (`/v3/analytics_engines/{instance_id}/spark_applications`)
//! and its upload area (`…/files/{path}`), in IBM Analytics Engine v3 shapes. The work is done
//! by `sparkplane_runner`; this module authorizes, validates, audits and shapes answers.

use std::collections::BTreeMap;
use std::path::{Component, Path as FsPath, PathBuf};

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use sparkplane_iam::Action;
use sparkplane_runner::{
    AppRecord, AppState as RunState, ApplicationDetails, Backend, InstanceSpec, Quota, Runner,
    RunnerError,
};
use sparkplane_store::{InstanceRecord, Outcome};

use crate::api::{rfc3339, ApiErrors};
use crate::auth::Caller;
use crate::config::SparkBackend;
use crate::error::ApiError;
use crate::extract::{parse_json, Body, Query};
use crate::state::{audit_event, AppState};
use crate::workcopy;

const REDACTED: &str = "*********(redacted)";
const DEFAULT_LIMIT: usize = 100;
/// Largest file `PUT …/files/{path}` accepts (other routes: 1 MiB).
pub const MAX_FILE_BYTES: usize = 64 * 1024 * 1024;
const MAX_LIMIT: usize = 1000;

/// Body of `POST …/spark_applications`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitRequest {
    /// What to run.
    #[schema(value_type = ApplicationDetailsDoc)]
    pub application_details: ApplicationDetails,
}

/// The documented shape of `application_details` (the runner's `ApplicationDetails`, which is
/// what the handler parses; unknown fields are refused with 400 naming them).
#[derive(utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct ApplicationDetailsDoc {
    /// The application file: a path in the instance's `files` area.
    application: String,
    /// Main class (JVM applications).
    class: Option<String>,
    /// Arguments passed to the application.
    arguments: Option<Vec<String>>,
    /// Spark configuration (platform-managed keys are refused).
    conf: Option<std::collections::BTreeMap<String, String>>,
    /// Environment of the driver and executors.
    env: Option<std::collections::BTreeMap<String, String>>,
    /// Extra jars (paths in the instance's area).
    jars: Option<Vec<String>>,
    /// Maven coordinates.
    packages: Option<Vec<String>>,
    /// Extra files (paths in the instance's area).
    files: Option<Vec<String>>,
    /// Extra archives (paths in the instance's area).
    archives: Option<Vec<String>>,
    /// Display name.
    name: Option<String>,
    /// Requested runtime.
    runtime: Option<RuntimeDoc>,
}

/// The documented shape of `application_details.runtime`.
#[derive(utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct RuntimeDoc {
    /// Must match the installed Spark (e.g. `4.3`).
    spark_version: String,
}

/// Answer of `POST …/spark_applications`.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Accepted {
    /// Application id.
    pub id: String,
    /// `accepted`.
    pub state: String,
}

/// One application (`GET …/spark_applications/{application_id}`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ApplicationView {
    /// Application id.
    pub id: String,
    /// `accepted|waiting|submitted|running|finished|failed|stopped`.
    pub state: String,
    /// The request, with secret-looking conf values and all env values redacted.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub application_details: Option<serde_json::Value>,
    /// Spark's own application id, once running.
    pub spark_application_id: Option<String>,
    /// RFC 3339: accepted.
    pub submission_time: String,
    /// RFC 3339: started (`spark-submit` running).
    pub start_time: Option<String>,
    /// RFC 3339: ended.
    pub finish_time: Option<String>,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
    /// Driver exit code, once ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// Effective Spark conf (secrets redacted); only on the single-application answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub effective_conf: Option<BTreeMap<String, String>>,
}

/// `GET …/spark_applications`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ApplicationList {
    /// Oldest first.
    pub applications: Vec<ApplicationView>,
    /// `start` value for the next page, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_start: Option<String>,
}

/// `GET …/spark_applications/{application_id}/state`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ApplicationState {
    /// Application id.
    pub id: String,
    /// State.
    pub state: String,
    /// RFC 3339.
    pub start_time: Option<String>,
    /// RFC 3339.
    pub finish_time: Option<String>,
}

/// Query of `GET …/spark_applications`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only applications in this state.
    #[param(value_type = Option<StateName>)]
    pub state: Option<String>,
    /// Page size (1–1000, default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<usize>,
    /// Offset from a previous answer's `next_start`.
    pub start: Option<String>,
}

/// The application states a list may be filtered by (documents `ListQuery::state`; the
/// handler parses the string itself so an unknown state gets an error naming it).
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum StateName {
    Accepted,
    Waiting,
    Submitted,
    Running,
    Finished,
    Failed,
    Stopped,
}

/// Answer of `PUT …/files/{path}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FileView {
    /// Path inside the instance's area (use it as `application`, `files`, `jars`…).
    pub path: String,
    /// Bytes.
    pub size: u64,
}

fn ms(v: Option<u64>) -> Option<String> {
    v.and_then(|m| i64::try_from(m).ok()).map(rfc3339)
}

fn view(r: &AppRecord, details: Option<serde_json::Value>, full: bool) -> ApplicationView {
    let l = &r.lifecycle;
    ApplicationView {
        id: r.id.clone(),
        state: r.state().as_str().to_owned(),
        application_details: details,
        spark_application_id: r.spark_app_id.clone(),
        submission_time: ms(Some(l.accepted_at())).unwrap_or_default(),
        start_time: ms(l.submitted_at().or(l.running_at())),
        finish_time: ms(l.ended_at()),
        failure_reason: r.failure_reason.clone(),
        exit_code: r.exit_code,
        effective_conf: full.then(|| redacted_conf(&r.effective_conf)),
    }
}

fn map_err(e: RunnerError) -> ApiError {
    match e {
        RunnerError::UnknownApp(id) => ApiError::NotFound(format!("application `{id}` not found")),
        RunnerError::InvalidId(_) => ApiError::NotFound("application not found".into()),
        e @ (RunnerError::BadPath(_)
        | RunnerError::Conf(_)
        | RunnerError::Unsupported(_)
        | RunnerError::Transition(_)) => ApiError::BadRequest(e.to_string()),
        RunnerError::SparkMissing(m) => ApiError::Unavailable(format!("Spark not available: {m}")),
        e => ApiError::Internal(e.to_string()),
    }
}

fn runner(state: &AppState) -> Result<Runner, ApiError> {
    state.runner.clone().ok_or_else(|| {
        ApiError::Unavailable("Spark is not configured on this server (--spark-home)".into())
    })
}

/// Keys of an instance's `default_config` that configure sparkplane itself (never passed to
/// Spark): `sparkplane.backend` (`local` | `standalone`), `sparkplane.standalone.worker_cores`,
/// `sparkplane.standalone.worker_memory`.
pub const BACKEND_KEY: &str = "sparkplane.backend";
const WORKER_CORES_KEY: &str = "sparkplane.standalone.worker_cores";
const WORKER_MEMORY_KEY: &str = "sparkplane.standalone.worker_memory";

fn spec(inst: &InstanceRecord, default_backend: SparkBackend) -> Result<InstanceSpec, ApiError> {
    let u = |v: Option<i64>| v.and_then(|n| u32::try_from(n).ok());
    let cfg = &inst.default_config;
    let bad = |k: &str, v: &str, want: &str| {
        ApiError::BadRequest(format!(
            "instance default_config `{k}` = `{v}`: expected {want}"
        ))
    };
    let kind = match cfg.get(BACKEND_KEY) {
        None => default_backend,
        Some(v) => v
            .trim()
            .parse::<SparkBackend>()
            .map_err(|_| bad(BACKEND_KEY, v, "local or standalone"))?,
    };
    let backend = match kind {
        SparkBackend::Local => Backend::Local,
        SparkBackend::Standalone => {
            let worker_cores = match cfg.get(WORKER_CORES_KEY) {
                None => 2,
                Some(v) => v
                    .trim()
                    .parse::<u32>()
                    .ok()
                    .filter(|n| (1..=256).contains(n))
                    .ok_or_else(|| bad(WORKER_CORES_KEY, v, "1 to 256"))?,
            };
            let worker_memory = match cfg.get(WORKER_MEMORY_KEY) {
                None => "1g".to_owned(),
                Some(v) => {
                    let t = v.trim();
                    let ok = t.len() <= 8
                        && t.strip_suffix(['m', 'g']).is_some_and(|n| {
                            !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())
                        });
                    if !ok {
                        return Err(bad(WORKER_MEMORY_KEY, v, "a size like 512m or 2g"));
                    }
                    t.to_owned()
                }
            };
            Backend::Standalone {
                worker_cores,
                worker_memory,
            }
        }
    };
    Ok(InstanceSpec {
        id: inst.id.clone(),
        // `sparkplane.*` keys configure sparkplane, not Spark.
        default_config: cfg
            .iter()
            .filter(|(k, _)| !k.starts_with("sparkplane."))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        quota: Quota {
            max_concurrent_apps: u(inst.limits.max_concurrent_applications),
            max_cores: u(inst.limits.max_cores),
        },
        backend,
    })
}

/// Run a blocking runner call on the blocking pool, first handing the instance to the runner
/// (always when `refresh`, else once per server start).
async fn with_runner<T, F>(
    state: &AppState,
    inst: &InstanceRecord,
    refresh: bool,
    f: F,
) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&Runner) -> Result<T, RunnerError> + Send + 'static,
{
    let r = runner(state)?;
    let known = state
        .runner_instances
        .lock()
        .map(|s| s.contains(&inst.id))
        .unwrap_or(false);
    let spec = if refresh || !known {
        Some(spec(inst, state.spark_backend)?)
    } else {
        None
    };
    let id = inst.id.clone();
    let out = tokio::task::spawn_blocking(move || {
        if let Some(spec) = spec {
            r.ensure_instance(spec)?;
        }
        f(&r)
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?
    .map_err(map_err)?;
    if let Ok(mut s) = state.runner_instances.lock() {
        s.insert(id);
    }
    Ok(out)
}

async fn audit_ok(
    state: &AppState,
    caller: &Caller,
    action: Action,
    path: &str,
    instance_id: &str,
    status: u16,
    detail: Option<String>,
) -> Result<(), ApiError> {
    let mut ev = audit_event(
        Some(&caller.0.id),
        action.as_str(),
        path,
        Some(instance_id),
        Outcome::Success,
        status,
    );
    ev.detail = detail;
    state.store.record_audit(&ev).await?;
    Ok(())
}

fn apps_path(instance_id: &str) -> String {
    format!("/v3/analytics_engines/{instance_id}/spark_applications")
}

/// Environment variables given to executors/drivers through conf keys: values never shown.
const ENV_CONF_PREFIXES: &[&str] = &[
    "spark.executorEnv.",
    "spark.yarn.appMasterEnv.",
    "spark.kubernetes.driverEnv.",
];

fn redacted_conf(conf: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let red = sparkplane_analysis::redact::Redactor::shared();
    conf.iter()
        .map(|(k, v)| {
            let hide = ENV_CONF_PREFIXES.iter().any(|p| k.starts_with(p))
                || sparkplane_runner::conf::is_secret_key(k)
                || red.is_sensitive(k, v);
            let v = if hide { REDACTED.to_owned() } else { v.clone() };
            (k.clone(), v)
        })
        .collect()
}

/// The request as stored (opened if sealed at rest), with env values and secret-looking conf
/// values redacted.
fn redacted_details(r: &Runner, instance_id: &str, app_id: &str) -> Option<serde_json::Value> {
    let mut d: ApplicationDetails = r.request(instance_id, app_id).ok()??;
    d.conf = redacted_conf(&d.conf);
    for v in d.env.values_mut() {
        *v = REDACTED.to_owned();
    }
    serde_json::to_value(&d).ok()
}

/// How `application_details.application = "s3://bucket/key"` is fetched into the instance's
/// area before submission: through the server's S3 endpoint, with the app's own credentials
/// (`spark.hadoop.fs.s3a.access.key` / `.secret.key` / `.session.token` in its `conf`, the keys
/// Spark itself would use) or unsigned when it gives none — never with the server's credentials
/// — and never from the platform's own bucket.
#[derive(Debug, Clone, Default)]
pub struct FetchSettings {
    /// The server's S3 endpoint (`--s3-endpoint`); `None` = AWS.
    pub endpoint: Option<String>,
    /// The platform's own bucket (`--object-store s3://bucket/…`), refused.
    pub platform_bucket: Option<String>,
}

impl FetchSettings {
    /// From the server's `--s3-endpoint` and `--object-store` settings.
    pub fn new(endpoint: Option<String>, object_store: &str) -> Self {
        let platform_bucket = object_store
            .strip_prefix("s3://")
            .map(|r| r.split('/').next().unwrap_or_default().to_owned());
        FetchSettings {
            endpoint,
            platform_bucket,
        }
    }
}

/// Where fetched application files go inside the instance's area.
const FETCHED_DIR: &str = "_fetched";
const FETCH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// `s3://bucket/key` (or `s3a://`) → (bucket, key, file name), checked.
fn parse_s3_url(url: &str) -> Result<Option<(&str, &str, &str)>, ApiError> {
    let Some(rest) = url
        .strip_prefix("s3://")
        .or_else(|| url.strip_prefix("s3a://"))
    else {
        if url.contains("://") {
            return Err(ApiError::BadRequest(format!(
                "application `{url}`: only s3:// object-store URLs (or files of the instance's area) are supported"
            )));
        }
        return Ok(None);
    };
    let bad = || {
        ApiError::BadRequest(format!(
            "application `{url}`: expected s3://bucket/path/file"
        ))
    };
    let (bucket, key) = rest.split_once('/').ok_or_else(bad)?;
    let name = key.rsplit('/').next().unwrap_or_default();
    let ok_name = !name.is_empty()
        && name.len() <= 128
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if bucket.is_empty() || key.len() > 1024 || !ok_name {
        return Err(bad());
    }
    Ok(Some((bucket, key, name)))
}

/// If `details.application` is an object-store URL, download it into the instance's area and
/// point `application` at the copy.
async fn fetch_application(
    state: &AppState,
    instance_id: &str,
    details: &mut ApplicationDetails,
) -> Result<(), ApiError> {
    let url = details.application.clone();
    let Some((bucket, key, name)) = parse_s3_url(&url)? else {
        return Ok(());
    };
    let fetch = &state.app_fetch;
    if fetch.platform_bucket.as_deref() == Some(bucket) {
        return Err(ApiError::BadRequest(format!(
            "application `{url}`: `{bucket}` is the platform's own bucket"
        )));
    }
    let conf = |k: &str| {
        details
            .conf
            .get(&format!("spark.hadoop.fs.s3a.{k}"))
            .cloned()
    };
    let mut b = object_store::aws::AmazonS3Builder::new()
        .with_bucket_name(bucket)
        .with_region(conf("endpoint.region").unwrap_or_else(|| "us-east-1".into()))
        .with_retry(object_store::RetryConfig {
            max_retries: 2,
            retry_timeout: std::time::Duration::from_secs(20),
            ..Default::default()
        });
    if let Some(ep) = &fetch.endpoint {
        b = b
            .with_endpoint(ep)
            .with_allow_http(ep.starts_with("http://"));
    }
    match (conf("access.key"), conf("secret.key")) {
        (Some(id), Some(secret)) => {
            b = b.with_access_key_id(id).with_secret_access_key(secret);
            if let Some(t) = conf("session.token") {
                b = b.with_token(t);
            }
        }
        _ => b = b.with_skip_signature(true),
    }
    let failed = |e: String| ApiError::BadRequest(format!("could not fetch `{url}`: {e}"));
    let store = b.build().map_err(|e| failed(e.to_string()))?;
    let path = object_store::path::Path::from(key);
    let got = tokio::time::timeout(FETCH_TIMEOUT, async {
        let r = object_store::ObjectStore::get(&store, &path).await?;
        if r.meta.size > MAX_FILE_BYTES as u64 {
            return Ok(None);
        }
        r.bytes().await.map(Some)
    })
    .await
    .map_err(|_| failed(format!("timed out after {} s", FETCH_TIMEOUT.as_secs())))?
    .map_err(|e| failed(e.to_string()))?
    .ok_or_else(|| failed(format!("larger than {MAX_FILE_BYTES} bytes")))?;
    let rel = format!("{FETCHED_DIR}/{}/{name}", uuid::Uuid::new_v4().simple());
    let target = file_in_area(&files_area(state, instance_id), &rel)?;
    tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        if let Some(parent) = target.parent() {
            private_dirs(parent)?;
        }
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&target)?;
        f.write_all(&got)?;
        f.sync_all()
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?
    .map_err(|e| ApiError::Internal(format!("storing the fetched application: {e}")))?;
    details.application = rel;
    Ok(())
}

/// Submit a Spark application (Writer).
#[utoipa::path(post, path = "/v3/analytics_engines/{instance_id}/spark_applications", tag = "applications",
    params(("instance_id" = String, Path, description = "Instance id")),
    request_body = SubmitRequest,
    responses((status = 202, description = "Accepted", body = Accepted), ApiErrors))]
pub async fn submit(
    State(state): State<AppState>,
    caller: Caller,
    Path(instance_id): Path<String>,
    headers: axum::http::HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    let path = apps_path(&instance_id);
    let (inst, _) = state
        .check_instance(&caller.0, &instance_id, Action::AppWrite, &path)
        .await?;
    let req: SubmitRequest = parse_json(&body.0)?;
    let mut details = req.application_details;
    if details.application.trim().is_empty() {
        return Err(ApiError::BadRequest(
            "field `application_details.application` is required".into(),
        ));
    }
    for k in details.conf.keys() {
        if sparkplane_runner::conf::is_protected_key(k) {
            return Err(ApiError::BadRequest(format!(
                "application_details.conf: key `{k}` is set by the platform and may not be set"
            )));
        }
    }
    runner(&state)?;
    // The runner knows the instance (sandbox, cluster) before its working copy is pinned: the
    // pin keeps the runner from wiping it while files are decrypted into it and the app is
    // submitted (from then on the live app keeps it).
    with_runner(&state, &inst, true, |_| Ok(())).await?;
    let pin = {
        let (r, id) = (runner(&state)?, inst.id.clone());
        tokio::task::spawn_blocking(move || r.pin_workarea(&id))
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?
            .map_err(map_err)?
    };
    let area = pin.dir().to_owned();
    // Parquet modular encryption: the KMS client, its URL and a KMS token bound to this app
    // (so its id is chosen before the runner accepts it).
    let app_id = Runner::new_app_id().map_err(|e| ApiError::Internal(e.to_string()))?;
    let token = crate::api::kms::bearer(&headers);
    crate::api::kms::fill_app_conf(&state, &inst, token, &app_id, &area, &mut details.conf).await?;
    let sets = crate::api::library_sets::apply(&state, &inst, &area, &mut details).await?;
    fetch_application(&state, &inst.id, &mut details).await?;
    workcopy::materialise(&state.objects, &inst.id, &area, &sets).await?;
    let id = inst.id.clone();
    let rec = with_runner(&state, &inst, false, move |r| {
        r.submit_as(&id, &app_id, details)
    })
    .await?;
    drop(pin);
    audit_ok(
        &state,
        &caller,
        Action::AppWrite,
        &format!("{path}/{}", rec.id),
        &instance_id,
        202,
        Some("submit".into()),
    )
    .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(Accepted {
            id: rec.id,
            state: "accepted".into(),
        }),
    ))
}

/// List an instance's applications (Reader).
#[utoipa::path(get, path = "/v3/analytics_engines/{instance_id}/spark_applications", tag = "applications",
    params(("instance_id" = String, Path, description = "Instance id"), ListQuery),
    responses((status = 200, description = "Applications", body = ApplicationList), ApiErrors))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(instance_id): Path<String>,
    Query(q): Query<ListQuery>,
) -> Result<Json<ApplicationList>, ApiError> {
    let path = apps_path(&instance_id);
    let (inst, _) = state
        .check_instance(&caller.0, &instance_id, Action::DataRead, &path)
        .await?;
    let filter = match q.state.as_deref() {
        None => None,
        Some(s) => Some(s.parse::<RunState>().map_err(|_| {
            ApiError::BadRequest(format!(
                "invalid query parameter `state`: `{s}` is not one of accepted, waiting, submitted, running, finished, failed, stopped"
            ))
        })?),
    };
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::BadRequest(format!(
            "invalid query parameter `limit`: must be 1 to {MAX_LIMIT}"
        )));
    }
    let start: usize = match q.start.as_deref() {
        None => 0,
        Some(s) => s.parse().map_err(|_| {
            ApiError::BadRequest("invalid query parameter `start`: not a page token".into())
        })?,
    };
    let all = if state.runner.is_none() {
        Vec::new()
    } else {
        let id = inst.id.clone();
        with_runner(&state, &inst, false, move |r| r.list(&id, filter)).await?
    };
    let applications = all
        .iter()
        .skip(start)
        .take(limit)
        .map(|r| view(r, None, false))
        .collect();
    let next = start.saturating_add(limit);
    Ok(Json(ApplicationList {
        applications,
        next_start: (next < all.len()).then(|| next.to_string()),
    }))
}

async fn record_of(
    state: &AppState,
    caller: &Caller,
    instance_id: &str,
    app_id: &str,
    action: Action,
    path: &str,
) -> Result<(Runner, AppRecord, PathBuf), ApiError> {
    let (inst, _) = state
        .check_instance(&caller.0, instance_id, action, path)
        .await?;
    let not_found = || ApiError::NotFound(format!("application `{app_id}` not found"));
    if state.runner.is_none() {
        return Err(not_found());
    }
    let app = app_id.to_owned();
    let id = inst.id.clone();
    with_runner(state, &inst, false, move |r| {
        let rec = r.get(&id, &app)?;
        let dir = r.app_dir(&id, &app)?;
        Ok((r.clone(), rec, dir))
    })
    .await
}

/// Get one application (Reader).
#[utoipa::path(get, path = "/v3/analytics_engines/{instance_id}/spark_applications/{application_id}", tag = "applications",
    params(("instance_id" = String, Path, description = "Instance id"),
           ("application_id" = String, Path, description = "Application id")),
    responses((status = 200, description = "The application", body = ApplicationView), ApiErrors))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path((instance_id, app_id)): Path<(String, String)>,
) -> Result<Json<ApplicationView>, ApiError> {
    let path = format!("{}/{app_id}", apps_path(&instance_id));
    let (r, rec, _) = record_of(
        &state,
        &caller,
        &instance_id,
        &app_id,
        Action::DataRead,
        &path,
    )
    .await?;
    let (iid, aid) = (instance_id.clone(), app_id.clone());
    let details = tokio::task::spawn_blocking(move || redacted_details(&r, &iid, &aid))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(Json(view(&rec, details, true)))
}

/// Get an application's state (Reader).
#[utoipa::path(get, path = "/v3/analytics_engines/{instance_id}/spark_applications/{application_id}/state", tag = "applications",
    params(("instance_id" = String, Path, description = "Instance id"),
           ("application_id" = String, Path, description = "Application id")),
    responses((status = 200, description = "State", body = ApplicationState), ApiErrors))]
pub async fn get_state(
    State(state): State<AppState>,
    caller: Caller,
    Path((instance_id, app_id)): Path<(String, String)>,
) -> Result<Json<ApplicationState>, ApiError> {
    let path = format!("{}/{app_id}/state", apps_path(&instance_id));
    let (_, rec, _) = record_of(
        &state,
        &caller,
        &instance_id,
        &app_id,
        Action::DataRead,
        &path,
    )
    .await?;
    let v = view(&rec, None, false);
    Ok(Json(ApplicationState {
        id: v.id,
        state: v.state,
        start_time: v.start_time,
        finish_time: v.finish_time,
    }))
}

/// Stop an application (Writer); idempotent, it ends `stopped`.
#[utoipa::path(delete, path = "/v3/analytics_engines/{instance_id}/spark_applications/{application_id}", tag = "applications",
    params(("instance_id" = String, Path, description = "Instance id"),
           ("application_id" = String, Path, description = "Application id")),
    responses((status = 204, description = "Stopping or already ended"), ApiErrors))]
pub async fn stop(
    State(state): State<AppState>,
    caller: Caller,
    Path((instance_id, app_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let path = format!("{}/{app_id}", apps_path(&instance_id));
    let (r, _, _) = record_of(
        &state,
        &caller,
        &instance_id,
        &app_id,
        Action::AppWrite,
        &path,
    )
    .await?;
    let (i, a) = (instance_id.clone(), app_id.clone());
    tokio::task::spawn_blocking(move || r.stop(&i, &a))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(map_err)?;
    audit_ok(
        &state,
        &caller,
        Action::AppWrite,
        &path,
        &instance_id,
        204,
        Some("stop".into()),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The driver log, redacted (Reader).
#[utoipa::path(get, path = "/v3/analytics_engines/{instance_id}/spark_applications/{application_id}/logs", tag = "applications",
    params(("instance_id" = String, Path, description = "Instance id"),
           ("application_id" = String, Path, description = "Application id")),
    responses((status = 200, description = "Driver log", body = String, content_type = "text/plain"), ApiErrors))]
pub async fn logs(
    State(state): State<AppState>,
    caller: Caller,
    Path((instance_id, app_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let path = format!("{}/{app_id}/logs", apps_path(&instance_id));
    let (r, _, _) = record_of(
        &state,
        &caller,
        &instance_id,
        &app_id,
        Action::DataRead,
        &path,
    )
    .await?;
    let text = tokio::task::spawn_blocking(move || {
        r.driver_log(&instance_id, &app_id).map(|t| {
            sparkplane_analysis::redact::Redactor::shared()
                .text(&t)
                .into_owned()
        })
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?
    .map_err(map_err)?;
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response())
}

/// The performance summary of an ended application (Reader): the stored summary once the
/// end-of-run export delivered it, before that the run's own copy.
#[utoipa::path(get, path = "/v3/analytics_engines/{instance_id}/spark_applications/{application_id}/performance", tag = "applications",
    params(("instance_id" = String, Path, description = "Instance id"),
           ("application_id" = String, Path, description = "Application id")),
    responses((status = 200, description = "Summary JSON (schema_version, app, stages, insights, …)", body = Object), ApiErrors))]
pub async fn performance(
    State(state): State<AppState>,
    caller: Caller,
    Path((instance_id, app_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let path = format!("{}/{app_id}/performance", apps_path(&instance_id));
    let (r, rec, _) = record_of(
        &state,
        &caller,
        &instance_id,
        &app_id,
        Action::DataRead,
        &path,
    )
    .await?;
    // The stored (exported) summary; until the outbox has delivered it, the run's own copy.
    if let Some(rec) = state
        .store
        .summary_by_application(&instance_id, &app_id)
        .await?
    {
        let b = state.objects.get(&rec.object_key).await?;
        return Ok(([(header::CONTENT_TYPE, "application/json")], b).into_response());
    }
    // (Sealed at rest once the run's completion hook has returned.)
    let (iid, aid) = (instance_id.clone(), app_id.clone());
    let own = tokio::task::spawn_blocking(move || r.run_summary(&iid, &aid))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    match own {
        Some(b) => Ok(([(header::CONTENT_TYPE, "application/json")], b).into_response()),
        None => Err(ApiError::NotFound(format!(
            "performance summary of application `{app_id}` is not available yet (state {}); it is written when the run ends",
            rec.state()
        ))),
    }
}

/// After an instance is deleted: delete its uploaded files and library sets from the object
/// store, stop its applications (and any cluster of it; the runner then wipes its working
/// copy). Failures are logged; the instance is gone either way.
pub async fn shutdown_instance(state: &AppState, instance_id: &str) {
    if let Err(e) = workcopy::delete_instance_objects(&state.objects, instance_id).await {
        tracing::warn!(instance = %instance_id, error = %e, "deleting the files of a deleted instance");
    }
    let Some(r) = state.runner.clone() else {
        return;
    };
    if let Ok(mut s) = state.runner_instances.lock() {
        s.remove(instance_id);
    }
    let id = instance_id.to_owned();
    let res = tokio::task::spawn_blocking(move || r.shutdown_instance(&id)).await;
    match res {
        Ok(Ok(())) | Ok(Err(RunnerError::UnknownInstance(_))) => {}
        Ok(Err(e)) => {
            tracing::warn!(instance = %instance_id, error = %e, "stopping the applications of a deleted instance")
        }
        Err(e) => {
            tracing::warn!(instance = %instance_id, error = %e, "stopping the applications of a deleted instance")
        }
    }
}

/// The instance's working copy (same directory the runner resolves `application` in).
fn files_area(state: &AppState, instance_id: &str) -> PathBuf {
    workcopy::working_copy(state, instance_id)
}

/// `rel` as a path inside `area`, refusing anything that could escape it.
fn file_in_area(area: &FsPath, rel: &str) -> Result<PathBuf, ApiError> {
    let bad = || ApiError::BadRequest(format!("path `{rel}` is not inside the instance's area"));
    let p = FsPath::new(rel);
    if rel.is_empty()
        || rel.len() > 1024
        || rel.contains('\0')
        || p.components().any(|c| !matches!(c, Component::Normal(_)))
    {
        return Err(bad());
    }
    let full = area.join(p);
    // No component may be a symlink (it could point out of the area).
    let mut cur = area.to_path_buf();
    for c in p.components() {
        cur.push(c);
        if std::fs::symlink_metadata(&cur).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(bad());
        }
    }
    Ok(full)
}

fn private_dirs(dir: &FsPath) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

fn files_path(instance_id: &str, rel: &str) -> String {
    format!("/v3/analytics_engines/{instance_id}/files/{rel}")
}

/// Upload a file into the instance's area (Writer). Raw bytes, at most 64 MiB. Stored sealed
/// in the object store; apps see it in the working copy from their submission on.
#[utoipa::path(put, path = "/v3/analytics_engines/{instance_id}/files/{*path}", tag = "files",
    params(("instance_id" = String, Path, description = "Instance id"),
           ("path" = String, Path, description = "Path inside the instance's area")),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, description = "Stored", body = FileView), ApiErrors))]
pub async fn put_file(
    State(state): State<AppState>,
    caller: Caller,
    Path((instance_id, rel)): Path<(String, String)>,
    body: Body,
) -> Result<(StatusCode, Json<FileView>), ApiError> {
    let path = files_path(&instance_id, &rel);
    state
        .check_instance(&caller.0, &instance_id, Action::AppWrite, &path)
        .await?;
    workcopy::check_rel(&rel)?;
    let size = body.0.len() as u64;
    state
        .objects
        .put(&workcopy::file_key(&instance_id, &rel), body.0.to_vec())
        .await?;
    audit_ok(
        &state,
        &caller,
        Action::AppWrite,
        &path,
        &instance_id,
        201,
        Some(format!("upload {size} bytes")),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(FileView { path: rel, size })))
}

/// Download a file of the instance's area (Writer).
#[utoipa::path(get, path = "/v3/analytics_engines/{instance_id}/files/{*path}", tag = "files",
    params(("instance_id" = String, Path, description = "Instance id"),
           ("path" = String, Path, description = "Path inside the instance's area")),
    responses((status = 200, description = "The bytes", body = Vec<u8>, content_type = "application/octet-stream"), ApiErrors))]
pub async fn get_file(
    State(state): State<AppState>,
    caller: Caller,
    Path((instance_id, rel)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let path = files_path(&instance_id, &rel);
    state
        .check_instance(&caller.0, &instance_id, Action::AppWrite, &path)
        .await?;
    workcopy::check_rel(&rel)?;
    // Verified whole before a byte is served: a tampered object is an integrity error.
    match state
        .objects
        .get(&workcopy::file_key(&instance_id, &rel))
        .await
    {
        Ok(b) => Ok(([(header::CONTENT_TYPE, "application/octet-stream")], b).into_response()),
        Err(e) if workcopy::is_not_found(&e) => {
            Err(ApiError::NotFound(format!("file `{rel}` not found")))
        }
        Err(sparkplane_store::StoreError::Integrity(d)) => {
            Err(ApiError::Integrity(format!("stored file `{rel}`: {d}")))
        }
        Err(e) => Err(e.into()),
    }
}

/// Delete a file of the instance's area (Writer); idempotent. Also removed from the working
/// copy if it is there.
#[utoipa::path(delete, path = "/v3/analytics_engines/{instance_id}/files/{*path}", tag = "files",
    params(("instance_id" = String, Path, description = "Instance id"),
           ("path" = String, Path, description = "Path inside the instance's area")),
    responses((status = 204, description = "Deleted (or absent)"), ApiErrors))]
pub async fn delete_file(
    State(state): State<AppState>,
    caller: Caller,
    Path((instance_id, rel)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let path = files_path(&instance_id, &rel);
    state
        .check_instance(&caller.0, &instance_id, Action::AppWrite, &path)
        .await?;
    workcopy::check_rel(&rel)?;
    match state
        .objects
        .delete(&workcopy::file_key(&instance_id, &rel))
        .await
    {
        Ok(()) => {}
        Err(e) if workcopy::is_not_found(&e) => {}
        Err(e) => return Err(e.into()),
    }
    // Gone from a working copy too (a running app that opened it keeps its handle).
    workcopy::forget(&files_area(&state, &instance_id), &rel).await?;
    audit_ok(
        &state,
        &caller,
        Action::AppWrite,
        &path,
        &instance_id,
        204,
        Some("delete file".into()),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instance(cfg: &[(&str, &str)]) -> InstanceRecord {
        InstanceRecord {
            id: "i1".into(),
            name: "n".into(),
            state: "active".into(),
            default_config: cfg
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            spark_version: "4.3".into(),
            limits: sparkplane_store::Limits {
                max_cores: Some(4),
                max_memory: None,
                max_concurrent_applications: Some(2),
            },
            created_at: 0,
            state_change_time: 0,
        }
    }

    #[test]
    fn backend_from_instance_setting_or_server_default() {
        let local = spec(&instance(&[]), SparkBackend::Local).unwrap();
        assert_eq!(local.backend, Backend::Local);
        assert_eq!(local.quota.max_concurrent_apps, Some(2));
        let sa = spec(&instance(&[]), SparkBackend::Standalone).unwrap();
        assert!(matches!(
            sa.backend,
            Backend::Standalone {
                worker_cores: 2,
                ..
            }
        ));
        let s = spec(
            &instance(&[
                ("sparkplane.backend", "standalone"),
                ("sparkplane.standalone.worker_cores", "3"),
                ("sparkplane.standalone.worker_memory", "2g"),
                ("spark.executor.memory", "1g"),
            ]),
            SparkBackend::Local,
        )
        .unwrap();
        assert_eq!(
            s.backend,
            Backend::Standalone {
                worker_cores: 3,
                worker_memory: "2g".into()
            }
        );
        // sparkplane.* keys configure sparkplane and never reach Spark.
        assert_eq!(
            s.default_config.keys().collect::<Vec<_>>(),
            ["spark.executor.memory"]
        );
        let l = spec(
            &instance(&[("sparkplane.backend", "local")]),
            SparkBackend::Standalone,
        );
        assert_eq!(l.unwrap().backend, Backend::Local);
        for bad in [
            ("sparkplane.backend", "yarn"),
            ("sparkplane.standalone.worker_cores", "0"),
            ("sparkplane.standalone.worker_memory", "lots"),
        ] {
            let i = instance(&[("sparkplane.backend", "standalone"), bad]);
            assert!(spec(&i, SparkBackend::Local).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn object_store_urls() {
        assert_eq!(
            parse_s3_url("s3://b/jobs/app.py").unwrap(),
            Some(("b", "jobs/app.py", "app.py"))
        );
        assert_eq!(parse_s3_url("jobs/app.py").unwrap(), None);
        for bad in [
            "s3://b",
            "s3:///k.py",
            "s3://b/dir/",
            "s3://b/.hidden",
            "http://x/a.py",
            "gs://b/a.py",
        ] {
            assert!(parse_s3_url(bad).is_err(), "{bad}");
        }
        let f = FetchSettings::new(None, "s3://platform/prefix");
        assert_eq!(f.platform_bucket.as_deref(), Some("platform"));
        assert_eq!(
            FetchSettings::new(None, "/var/objects").platform_bucket,
            None
        );
    }

    #[test]
    fn paths_escaping_the_area_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let area = dir.path();
        for bad in ["../x", "/etc/passwd", "a/../../b", "", "./a"] {
            assert!(file_in_area(area, bad).is_err(), "{bad}");
        }
        std::os::unix::fs::symlink("/etc", area.join("link")).unwrap();
        assert!(file_in_area(area, "link/passwd").is_err());
        assert_eq!(file_in_area(area, "a/b.py").unwrap(), area.join("a/b.py"));
    }
}
