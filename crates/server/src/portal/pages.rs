//! The data pages: instances, an instance's runs (with a polled fragment for live state), an
//! application, its driver log, instance settings (Manager) and the audit log (Administrator).
//! Every instance page goes through [`AppState::check_instance`], the API's policy check.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use sparkplane_analysis::summary::Evidence;
use sparkplane_analysis::Summary;
use sparkplane_iam::{Action, Role};
use sparkplane_store::{AuditQuery, InstanceRecord, Outcome, StoreError};

use super::charts;
use super::runs::{self, RunsQuery, KINDS, PAGE_SIZE};
use super::session::Viewer;
use super::views::*;
use super::PortalState;
use crate::error::ApiError;
use crate::state::audit_event;

/// Why a page cannot be shown; rendered as an HTML error page.
#[derive(Debug)]
pub enum PageError {
    /// 400.
    BadRequest(String),
    /// 401 (background requests without a session).
    Unauthorized,
    /// 403 with a message.
    Forbidden(String),
    /// 404 (also: no role on the instance).
    NotFound,
    /// 429.
    TooManyRequests,
    /// 503.
    Unavailable(String),
    /// 500 (logged, not shown).
    Internal(String),
}

impl PageError {
    /// Map a store failure.
    pub fn store(e: StoreError) -> PageError {
        PageError::Internal(e.to_string())
    }
}

impl From<ApiError> for PageError {
    fn from(e: ApiError) -> Self {
        match e {
            ApiError::NotFound(_) => PageError::NotFound,
            ApiError::Forbidden(m) => PageError::Forbidden(m),
            ApiError::BadRequest(m) => PageError::BadRequest(m),
            ApiError::Unauthorized(_) => PageError::Unauthorized,
            ApiError::TooManyRequests => PageError::TooManyRequests,
            ApiError::Unavailable(m) => PageError::Unavailable(m),
            other => PageError::Internal(other.to_string()),
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, title, message) = match self {
            PageError::BadRequest(m) => (StatusCode::BAD_REQUEST, "Bad request", m),
            PageError::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                "Signed out",
                "Your session ended. Sign in again.".into(),
            ),
            PageError::Forbidden(m) => (StatusCode::FORBIDDEN, "Not allowed", m),
            PageError::NotFound => (
                StatusCode::NOT_FOUND,
                "Not found",
                "There is nothing here, or you have no access to it.".into(),
            ),
            PageError::TooManyRequests => (
                StatusCode::TOO_MANY_REQUESTS,
                "Too many attempts",
                "Too many failed attempts. Wait a few minutes and try again.".into(),
            ),
            PageError::Unavailable(m) => (StatusCode::SERVICE_UNAVAILABLE, "Unavailable", m),
            PageError::Internal(m) => {
                tracing::error!(error = %m, "portal page failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    "The server could not show this page. The error was logged.".into(),
                )
            }
        };
        let page = ErrorPage {
            status: status.as_u16(),
            title: title.into(),
            message,
        };
        let mut res = render(&page).into_response();
        *res.status_mut() = status;
        res
    }
}

/// Render a template (500 page on a template error).
pub fn render<T: Template>(t: &T) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                "template error",
            )
                .into_response()
        }
    }
}

fn nav(v: &Viewer) -> Nav {
    Nav {
        user: v.record.name.clone(),
        email: v.record.email.clone().unwrap_or_default(),
        csrf: v.session.csrf_token.clone(),
        admin: v.principal.administrator,
    }
}

async fn instance(
    state: &PortalState,
    v: &Viewer,
    id: &str,
    action: Action,
    tab: &'static str,
) -> Result<(InstanceRecord, InstanceHeader), PageError> {
    let resource = format!("/ui/i/{id}");
    let (inst, role) = state
        .app
        .check_instance(&v.principal, id, action, &resource)
        .await?;
    let role_s = role.map(|r| r.as_str().to_owned()).unwrap_or_else(|| {
        if v.principal.administrator {
            "Administrator".into()
        } else {
            String::new()
        }
    });
    let header = InstanceHeader {
        id: inst.id.clone(),
        name: inst.name.clone(),
        role: role_s,
        manager: role == Some(Role::Manager),
        tab,
    };
    Ok((inst, header))
}

/// `GET /ui/`: instances the viewer holds a role on.
pub async fn instances(State(state): State<PortalState>, v: Viewer) -> Result<Response, PageError> {
    let mut list = state.app.store.instances_with_role(&v.principal.id);
    list.sort_by(|a, b| a.0.name.cmp(&b.0.name));
    let mut cards = Vec::with_capacity(list.len());
    for (inst, role) in list {
        let runs = if matches!(role, Role::Reader | Role::Writer | Role::Manager) {
            let q = sparkplane_store::SummaryQuery {
                instance_id: inst.id.clone(),
                limit: 1,
                with_total: true,
                ..Default::default()
            };
            state
                .app
                .store
                .summaries(&q)
                .await
                .map_err(PageError::store)?
                .total
                .unwrap_or(0)
        } else {
            0
        };
        cards.push(InstanceCard {
            id: inst.id.clone(),
            name: inst.name.clone(),
            role: role.as_str().to_owned(),
            spark_version: inst.spark_version.clone(),
            created: utc(inst.created_at),
            runs,
        });
    }
    Ok(render(&InstancesPage {
        nav: nav(&v),
        instances: cards,
    }))
}

async fn rows(
    state: &PortalState,
    instance_id: &str,
    filter: &RunsFilter,
) -> Result<RunsRows, PageError> {
    let (rows, total) = runs::page(state, instance_id, filter).await?;
    let active = runs::active(state, instance_id).await;
    let first = if rows.is_empty() {
        0
    } else {
        (filter.page - 1) * PAGE_SIZE + 1
    };
    let last = (filter.page - 1) * PAGE_SIZE + rows.len() as i64;
    let base = format!("/ui/i/{instance_id}");
    let link = |p: i64| {
        let q = filter.query(p);
        if q.is_empty() {
            base.clone()
        } else {
            format!("{base}?{q}")
        }
    };
    let q = filter.query(filter.page);
    Ok(RunsRows {
        rows,
        active,
        total,
        first,
        last,
        prev: (filter.page > 1).then(|| link(filter.page - 1)),
        next: (last < total).then(|| link(filter.page + 1)),
        poll: if q.is_empty() {
            format!("{base}/rows")
        } else {
            format!("{base}/rows?{q}")
        },
    })
}

/// `GET /ui/i/{instance}`: the run list.
pub async fn runs(
    State(state): State<PortalState>,
    v: Viewer,
    Path(id): Path<String>,
    Query(q): Query<RunsQuery>,
) -> Result<Response, PageError> {
    let (inst, header) = instance(&state, &v, &id, Action::DataRead, "runs").await?;
    let filter = q.filter()?;
    let rows = rows(&state, &inst.id, &filter).await?;
    Ok(render(&RunsPage {
        nav: nav(&v),
        inst: header,
        filter,
        kinds: KINDS.to_vec(),
        statuses: vec!["succeeded", "failed", "running", "unknown"],
        rows,
    }))
}

/// `GET /ui/i/{instance}/rows`: the polled fragment of the run list.
pub async fn runs_rows(
    State(state): State<PortalState>,
    v: Viewer,
    Path(id): Path<String>,
    Query(q): Query<RunsQuery>,
) -> Result<Response, PageError> {
    let (inst, _) = instance(&state, &v, &id, Action::DataRead, "runs").await?;
    let filter = q.filter()?;
    Ok(render(&rows(&state, &inst.id, &filter).await?))
}

fn evidence_text(key: &str, e: &Evidence) -> String {
    let k = key.to_ascii_lowercase();
    match e {
        Evidence::Int(i) => {
            let u = u64::try_from(*i).unwrap_or(0);
            if k.contains("bytes") {
                bytes(u)
            } else if k.ends_with("_ms") || k.ends_with("time") {
                dur(*i)
            } else {
                count(u)
            }
        }
        Evidence::Float(f) => {
            if k.contains("share") || k.contains("ratio_pct") {
                format!("{:.1} %", f * 100.0)
            } else if f.fract() == 0.0 {
                format!("{f:.0}")
            } else {
                format!("{f:.2}")
            }
        }
        Evidence::Ids(ids) => sparkplane_analysis::report::fmt::ids(ids, 12),
        Evidence::Text(t) => t.clone(),
    }
}

fn human(key: &str) -> String {
    let s = key.replace('_', " ");
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

/// Dollars: cents from $1, else three significant digits (`$0.00421`).
pub fn money(c: f64) -> String {
    if c >= 1.0 || c <= 0.0 {
        format!("${c:.2}")
    } else {
        let digits = (2 - c.log10().floor() as i32).clamp(2, 8) as usize;
        format!("${c:.digits$}")
    }
}

fn lower_debug<T: std::fmt::Debug>(t: &T) -> String {
    format!("{t:?}").to_lowercase()
}

const TABLE_ROWS: usize = 50;
const MAX_PLANS: usize = 40;
const MAX_PLAN_CHARS: usize = 20_000;

/// Build the application page from a summary (pure; benchmarked).
pub fn app_page(
    nav: Nav,
    inst: InstanceHeader,
    rec: &sparkplane_store::SummaryRecord,
    s: &Summary,
    log_href: Option<String>,
) -> AppPage {
    let t = &s.totals;
    let mut kpis = vec![
        Kpi {
            label: "Duration",
            value: s.app.duration_ms.map(dur).unwrap_or_else(|| "—".into()),
            sub: format!("{} jobs · {} stages", count(t.jobs), count(t.stages)),
            tone: "",
        },
        Kpi {
            label: "Tasks",
            value: count(t.tasks),
            sub: format!(
                "{} failed · {} killed",
                count(t.failed_tasks),
                count(t.killed_tasks)
            ),
            tone: if t.failed_tasks > 0 { "warn" } else { "" },
        },
        Kpi {
            label: "Core-hours used",
            value: format!("{:.2}", t.core_hours_used),
            sub: format!("of {:.2} allocated", t.core_hours_allocated),
            tone: "",
        },
        Kpi {
            label: "Idle cores",
            value: sparkplane_analysis::report::fmt::pct(t.idle_share),
            sub: format!(
                "{} executors · {} cores max",
                count(t.executors),
                count(t.max_cores)
            ),
            tone: if t.idle_share >= 0.5 { "warn" } else { "" },
        },
        Kpi {
            label: "Shuffle",
            value: bytes(t.shuffle_read_bytes),
            sub: format!("read · {} written", bytes(t.shuffle_write_bytes)),
            tone: "",
        },
        Kpi {
            label: "Spill",
            value: bytes(t.disk_bytes_spilled),
            sub: format!("disk · {} memory", bytes(t.memory_bytes_spilled)),
            tone: if t.disk_bytes_spilled > 0 { "warn" } else { "" },
        },
    ];
    if t.executor_run_time > 0 {
        kpis.push(Kpi {
            label: "GC time",
            value: sparkplane_analysis::report::fmt::pct(
                t.jvm_gc_time as f64 / t.executor_run_time as f64,
            ),
            sub: format!(
                "{} of task time",
                dur(i64::try_from(t.jvm_gc_time).unwrap_or(0))
            ),
            tone: if t.jvm_gc_time * 10 >= t.executor_run_time {
                "warn"
            } else {
                ""
            },
        });
    }
    kpis.push(Kpi {
        label: "Input",
        value: bytes(t.input_bytes),
        sub: format!("{} output", bytes(t.output_bytes)),
        tone: "",
    });
    let mut insights: Vec<&sparkplane_analysis::summary::Insight> = s.insights.iter().collect();
    insights.sort_by_key(|i| std::cmp::Reverse(i.severity));
    let insights = insights
        .into_iter()
        .map(|i| InsightView {
            severity: lower_debug(&i.severity),
            kind: i.kind.as_str().to_owned(),
            title: i.title.clone(),
            message: i.message.clone(),
            evidence: i
                .evidence
                .iter()
                .map(|(k, e)| (human(k), evidence_text(k, e)))
                .collect(),
            thresholds: i
                .threshold
                .iter()
                .map(|(k, v)| {
                    let text = if k.contains("bytes") && *v >= 0.0 {
                        bytes(*v as u64)
                    } else {
                        format!("{v}")
                    };
                    (human(k), text)
                })
                .collect(),
        })
        .collect();
    let mut stages: Vec<&sparkplane_analysis::summary::StageSummary> = s.stages.iter().collect();
    stages.sort_by_key(|st| std::cmp::Reverse(st.duration_ms.unwrap_or(0)));
    let stages_rows = stages
        .iter()
        .take(TABLE_ROWS)
        .map(|st| StageRow {
            id: if st.attempt_id > 0 {
                format!("{}.{}", st.stage_id, st.attempt_id)
            } else {
                st.stage_id.to_string()
            },
            name: st.name.chars().take(120).collect(),
            status: lower_debug(&st.status),
            tasks: if st.num_failed_tasks > 0 {
                format!(
                    "{} ({} failed)",
                    count(st.num_tasks),
                    count(st.num_failed_tasks)
                )
            } else {
                count(st.num_tasks)
            },
            duration: st.duration_ms.map(dur).unwrap_or_else(|| "—".into()),
            input: bytes(st.input_bytes),
            shuffle_read: bytes(st.shuffle_read_bytes),
            shuffle_write: bytes(st.shuffle_write_bytes),
            spill: bytes(st.disk_bytes_spilled),
            median: st
                .task_duration_quantiles
                .as_ref()
                .map(|q| dur(i64::try_from(q.median).unwrap_or(0)))
                .unwrap_or_else(|| "—".into()),
            max: st
                .task_duration_quantiles
                .as_ref()
                .map(|q| dur(i64::try_from(q.max).unwrap_or(0)))
                .unwrap_or_else(|| "—".into()),
        })
        .collect();
    let mut jobs: Vec<&sparkplane_analysis::summary::JobSummary> = s.jobs.iter().collect();
    jobs.sort_by_key(|j| j.job_id);
    let jobs_rows = jobs
        .iter()
        .take(TABLE_ROWS)
        .map(|j| JobRow {
            id: j.job_id,
            name: j
                .description
                .clone()
                .unwrap_or_else(|| j.name.clone())
                .chars()
                .take(120)
                .collect(),
            status: lower_debug(&j.status),
            stages: sparkplane_analysis::report::fmt::ids(&j.stage_ids, 8),
            tasks: count(j.num_tasks),
            duration: j.duration_ms.map(dur).unwrap_or_else(|| "—".into()),
        })
        .collect();
    let mut sql: Vec<&sparkplane_analysis::summary::SqlSummary> = s.sql.iter().collect();
    sql.sort_by_key(|q| std::cmp::Reverse(q.duration_ms.unwrap_or(0)));
    let sql_rows = sql
        .iter()
        .take(MAX_PLANS)
        .map(|q| {
            let mut plan: String = q.physical_plan.chars().take(MAX_PLAN_CHARS).collect();
            if plan.len() < q.physical_plan.len() {
                plan.push_str("\n… (plan cut)");
            }
            SqlRow {
                id: q.execution_id,
                description: q.description.chars().take(160).collect(),
                status: if q.failed { "failed" } else { "succeeded" }.into(),
                duration: q.duration_ms.map(dur).unwrap_or_else(|| "—".into()),
                jobs: sparkplane_analysis::report::fmt::ids(&q.job_ids, 8),
                plan,
            }
        })
        .collect();
    let mut execs: Vec<&sparkplane_analysis::summary::ExecutorSummary> =
        s.executors.iter().collect();
    execs.sort_by_key(|e| std::cmp::Reverse(e.total_duration_ms));
    let exec_rows = execs
        .iter()
        .take(TABLE_ROWS)
        .map(|e| ExecRow {
            id: e.executor_id.clone(),
            host: e.host.clone().unwrap_or_default(),
            cores: e.total_cores,
            tasks: if e.failed_tasks > 0 {
                format!(
                    "{} ({} failed)",
                    count(e.total_tasks),
                    count(e.failed_tasks)
                )
            } else {
                count(e.total_tasks)
            },
            duration: dur(i64::try_from(e.total_duration_ms).unwrap_or(0)),
            gc: dur(i64::try_from(e.total_gc_time_ms).unwrap_or(0)),
            input: bytes(e.total_input_bytes),
            shuffle: format!(
                "{} / {}",
                bytes(e.total_shuffle_read_bytes),
                bytes(e.total_shuffle_write_bytes)
            ),
            removed: e.remove_reason.clone().unwrap_or_default(),
        })
        .collect();
    let mut warnings = s.diagnostics.warnings.clone();
    if s.diagnostics.truncated {
        warnings.push("The event log was cut short; numbers cover what was written.".into());
    }
    if s.diagnostics.in_progress {
        warnings.push("The run was still in progress when this summary was made.".into());
    }
    AppPage {
        nav,
        inst,
        name: s
            .app
            .name
            .clone()
            .or_else(|| rec.name.clone())
            .unwrap_or_else(|| rec.app_id.clone()),
        app_id: rec.app_id.clone(),
        attempt: rec.attempt.clone(),
        status: rec.status.as_str().to_owned(),
        spark_version: s.app.spark_version.clone().unwrap_or_default(),
        started: s.app.start_time.map(utc).unwrap_or_default(),
        ended: s.app.end_time.map(utc).unwrap_or_default(),
        origin: rec.origin.to_string(),
        cost: rec
            .cost
            .map(money)
            .unwrap_or_else(|| format!("{:.2} core-h", rec.core_hours)),
        kpis,
        insights,
        timeline_svg: charts::timeline(s),
        usage_svg: charts::usage(s),
        dist_svg: charts::distribution(s),
        stages: stages_rows,
        stages_total: s.stages.len(),
        jobs: jobs_rows,
        jobs_total: s.jobs.len(),
        sql: sql_rows,
        sql_total: s.sql.len(),
        executors: exec_rows,
        executors_total: s.executors.len(),
        log_href,
        warnings,
    }
}

async fn summary_of(
    state: &PortalState,
    instance_id: &str,
    summary_id: &str,
) -> Result<(sparkplane_store::SummaryRecord, Summary), PageError> {
    let rec = state
        .app
        .store
        .summary(instance_id, summary_id)
        .await
        .map_err(PageError::store)?
        .ok_or(PageError::NotFound)?;
    let bytes = state
        .app
        .objects
        .get(&rec.object_key)
        .await
        .map_err(PageError::store)?;
    let s: Summary = tokio::task::spawn_blocking(move || serde_json::from_slice(&bytes))
        .await
        .map_err(|e| PageError::Internal(e.to_string()))?
        .map_err(|e| PageError::Internal(format!("summary {summary_id}: {e}")))?;
    Ok((rec, s))
}

/// `GET /ui/i/{instance}/apps/{summary}`.
pub async fn app(
    State(state): State<PortalState>,
    v: Viewer,
    Path((id, summary_id)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let (inst, header) = instance(&state, &v, &id, Action::DataRead, "runs").await?;
    let (rec, s) = summary_of(&state, &inst.id, &summary_id).await?;
    let log_href = (rec.application_id.is_some() && state.app.runner.is_some())
        .then(|| format!("/ui/i/{}/apps/{}/log", inst.id, rec.id));
    let page =
        tokio::task::spawn_blocking(move || app_page(nav(&v), header, &rec, &s, log_href).render())
            .await
            .map_err(|e| PageError::Internal(e.to_string()))?
            .map_err(|e| PageError::Internal(e.to_string()))?;
    Ok(Html(page).into_response())
}

const MAX_LOG_BYTES: usize = 512 * 1024;

/// `GET /ui/i/{instance}/apps/{summary}/log`: the run's driver log (redacted, last 512 KiB).
pub async fn driver_log(
    State(state): State<PortalState>,
    v: Viewer,
    Path((id, summary_id)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let (inst, header) = instance(&state, &v, &id, Action::DataRead, "runs").await?;
    let rec = state
        .app
        .store
        .summary(&inst.id, &summary_id)
        .await
        .map_err(PageError::store)?
        .ok_or(PageError::NotFound)?;
    let (Some(app_id), Some(runner)) = (rec.application_id.clone(), state.app.runner.clone())
    else {
        return Err(PageError::NotFound);
    };
    let instance_id = inst.id.clone();
    let text = tokio::task::spawn_blocking(move || runner.driver_log(&instance_id, &app_id))
        .await
        .map_err(|e| PageError::Internal(e.to_string()))?
        .map_err(|_| PageError::NotFound)?;
    let text = sparkplane_analysis::redact::Redactor::shared()
        .text(&text)
        .into_owned();
    let truncated = text.len() > MAX_LOG_BYTES;
    let text = if truncated {
        let mut start = text.len() - MAX_LOG_BYTES;
        while !text.is_char_boundary(start) {
            start += 1;
        }
        text[start..].to_owned()
    } else {
        text
    };
    Ok(render(&LogPage {
        nav: nav(&v),
        inst: header,
        name: rec.name.clone().unwrap_or_else(|| rec.app_id.clone()),
        back: format!("/ui/i/{}/apps/{}", inst.id, rec.id),
        text,
        truncated,
    }))
}

/// Query of the settings page.
#[derive(Deserialize)]
pub struct SettingsQuery {
    msg: Option<String>,
}

/// `GET /ui/i/{instance}/settings` (Manager): default configs, access policies, sources,
/// library sets.
pub async fn settings(
    State(state): State<PortalState>,
    v: Viewer,
    Path(id): Path<String>,
    Query(q): Query<SettingsQuery>,
) -> Result<Response, PageError> {
    let (inst, header) = instance(&state, &v, &id, Action::AccessWrite, "settings").await?;
    if !header.manager {
        return Err(PageError::NotFound);
    }
    let store = &state.app.store;
    let configs: Vec<(String, String)> = inst
        .default_config
        .iter()
        .map(|(k, v)| {
            let secret = sparkplane_runner::conf::is_secret_key(k);
            (
                k.clone(),
                if secret {
                    "*********(redacted)".into()
                } else {
                    v.clone()
                },
            )
        })
        .collect();
    let mut policies: Vec<PolicyRow> = store
        .policies_of(&inst.id)
        .into_iter()
        .map(|(pid, role)| {
            let p = store.principal(&pid);
            PolicyRow {
                name: p.as_ref().map(|p| p.name.clone()).unwrap_or_default(),
                email: p.as_ref().and_then(|p| p.email.clone()).unwrap_or_default(),
                kind: p
                    .as_ref()
                    .map(|p| p.kind.as_str().replace('_', " "))
                    .unwrap_or_default(),
                principal_id: pid,
                role: role.as_str().to_owned(),
            }
        })
        .collect();
    policies.sort_by(|a, b| a.name.cmp(&b.name));
    let sources = store
        .sources_of(&inst.id)
        .await
        .map_err(PageError::store)?
        .into_iter()
        .map(|s| SourceRow {
            name: s.name,
            url: s.url,
            last_poll: s.stats.last_poll.map(utc).unwrap_or_else(|| "never".into()),
            ingested: s.stats.ingested,
            errors: s.stats.errors,
            last_error: s.stats.last_error.unwrap_or_default(),
        })
        .collect();
    let libraries = store
        .library_sets(&inst.id)
        .await
        .map_err(PageError::store)?
        .into_iter()
        .map(|l| {
            let summary = serde_json::from_str::<serde_json::Value>(&l.manifest)
                .ok()
                .and_then(|m| {
                    m.as_object().map(|o| {
                        o.iter()
                            .map(|(k, v)| {
                                let n = v.as_array().map(|a| a.len()).unwrap_or(1);
                                format!("{k}: {n}")
                            })
                            .collect::<Vec<_>>()
                            .join(" · ")
                    })
                })
                .unwrap_or_default();
            LibraryRow {
                name: l.name,
                created: utc(l.created_at),
                summary,
            }
        })
        .collect();
    let message = match q.msg.as_deref() {
        Some("granted") => Some("Access granted.".into()),
        Some("revoked") => Some("Access revoked.".into()),
        _ => None,
    };
    Ok(render(&SettingsPage {
        nav: nav(&v),
        inst: header,
        configs,
        policies,
        sources,
        libraries,
        roles: vec!["Reader", "Writer", "Manager"],
        message,
    }))
}

/// Form of `POST /ui/i/{instance}/settings/access`.
#[derive(Deserialize)]
pub struct AccessForm {
    csrf: Option<String>,
    /// `grant` or `revoke`.
    op: String,
    /// Principal id, or a user's e-mail.
    principal: String,
    role: Option<String>,
}

/// `POST /ui/i/{instance}/settings/access` (Manager, CSRF-checked): grant or revoke a role.
pub async fn settings_access(
    State(state): State<PortalState>,
    v: Viewer,
    Path(id): Path<String>,
    Form(f): Form<AccessForm>,
) -> Result<Response, PageError> {
    let resource = format!("/ui/i/{id}/settings/access");
    v.check_csrf(&state, f.csrf.as_deref(), &resource).await?;
    let (inst, header) = instance(&state, &v, &id, Action::AccessWrite, "settings").await?;
    if !header.manager {
        return Err(PageError::NotFound);
    }
    let store = &state.app.store;
    let wanted = f.principal.trim();
    let target = store
        .principal(wanted)
        .or_else(|| {
            let m: Vec<_> = store
                .principals(sparkplane_iam::PrincipalKind::User)
                .into_iter()
                .filter(|p| {
                    p.email
                        .as_deref()
                        .is_some_and(|e| e.eq_ignore_ascii_case(wanted))
                })
                .collect();
            (m.len() == 1).then(|| m[0].clone())
        })
        .ok_or_else(|| PageError::BadRequest(format!("no principal `{wanted}`")))?;
    let policy_path = format!(
        "/v3/analytics_engines/{}/access_policies/{}",
        inst.id, target.id
    );
    let msg = match f.op.as_str() {
        "grant" => {
            let role: Role = f
                .role
                .as_deref()
                .unwrap_or("")
                .parse()
                .map_err(|_| PageError::BadRequest("choose a role".into()))?;
            if !role.allowed_for(target.kind) {
                return Err(PageError::BadRequest(format!(
                    "role {role} is not allowed for this principal"
                )));
            }
            let mut ev = audit_event(
                Some(&v.principal.id),
                "instance.access.grant",
                &policy_path,
                Some(&inst.id),
                Outcome::Success,
                200,
            );
            ev.detail = Some(format!("principal={} role={role} (portal)", target.id));
            store
                .set_policy(&inst.id, &target.id, role, &ev)
                .await
                .map_err(PageError::store)?;
            "granted"
        }
        "revoke" => {
            if target.id == v.principal.id {
                return Err(PageError::BadRequest(
                    "you cannot revoke your own access here".into(),
                ));
            }
            let mut ev = audit_event(
                Some(&v.principal.id),
                "instance.access.revoke",
                &policy_path,
                Some(&inst.id),
                Outcome::Success,
                204,
            );
            ev.detail = Some(format!("principal={} (portal)", target.id));
            match store.delete_policy(&inst.id, &target.id, &ev).await {
                Ok(()) | Err(StoreError::NotFound) => {}
                Err(e) => return Err(PageError::store(e)),
            }
            "revoked"
        }
        other => {
            return Err(PageError::BadRequest(format!(
                "unknown operation `{other}`"
            )))
        }
    };
    Ok(Redirect::to(&format!("/ui/i/{}/settings?msg={msg}", inst.id)).into_response())
}

/// Query of the audit page.
#[derive(Deserialize)]
pub struct AuditQueryForm {
    action: Option<String>,
    outcome: Option<String>,
    start: Option<String>,
}

/// `GET /ui/audit` (Administrator): platform audit events, newest first.
pub async fn audit(
    State(state): State<PortalState>,
    v: Viewer,
    Query(q): Query<AuditQueryForm>,
) -> Result<Response, PageError> {
    state
        .app
        .check_platform(&v.principal, Action::PlatformAuditRead, "/ui/audit")
        .await
        .map_err(|_| PageError::NotFound)?;
    let nonempty = |s: Option<String>| s.filter(|s| !s.trim().is_empty());
    let action = nonempty(q.action);
    let outcome = nonempty(q.outcome);
    if let Some(o) = &outcome {
        if o != "success" && o != "denied" {
            return Err(PageError::BadRequest("outcome is success or denied".into()));
        }
    }
    let limit = 100;
    let events = state
        .app
        .store
        .audit_events(&AuditQuery {
            action: action.clone(),
            outcome: outcome.clone(),
            start: nonempty(q.start),
            limit: limit + 1,
            ..Default::default()
        })
        .await
        .map_err(PageError::store)?;
    let more = events.len() > limit as usize;
    let names: BTreeMap<String, String> = state
        .app
        .store
        .principals(sparkplane_iam::PrincipalKind::User)
        .into_iter()
        .chain(
            state
                .app
                .store
                .principals(sparkplane_iam::PrincipalKind::ServiceId),
        )
        .map(|p| (p.id, p.name))
        .collect();
    let rows: Vec<AuditRow> = events
        .iter()
        .take(limit as usize)
        .map(|e| AuditRow {
            time: utc(e.time),
            principal: e
                .principal_id
                .as_ref()
                .map(|p| names.get(p).cloned().unwrap_or_else(|| p.clone()))
                .unwrap_or_else(|| "—".into()),
            action: e.action.clone(),
            resource: e.resource.clone(),
            instance: e.instance_id.clone().unwrap_or_default(),
            outcome: e.outcome.clone(),
            status: e.status,
            detail: e.detail.clone().unwrap_or_default(),
        })
        .collect();
    let next = if more {
        events.get(limit as usize - 1).map(|last| {
            let mut s = form_urlencoded::Serializer::new(String::new());
            if let Some(a) = &action {
                s.append_pair("action", a);
            }
            if let Some(o) = &outcome {
                s.append_pair("outcome", o);
            }
            s.append_pair("start", &last.id);
            format!("/ui/audit?{}", s.finish())
        })
    } else {
        None
    };
    Ok(render(&AuditPage {
        nav: nav(&v),
        events: rows,
        action: action.unwrap_or_default(),
        outcome: outcome.unwrap_or_default(),
        next,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_and_evidence_formats() {
        assert_eq!(money(12.345), "$12.35");
        assert_eq!(money(0.00178), "$0.00178");
        assert_eq!(money(0.0), "$0.00");
        assert_eq!(
            evidence_text("disk_bytes_spilled", &Evidence::Int(1_048_576)),
            "1.00 MiB"
        );
        assert_eq!(
            evidence_text("stage_ids", &Evidence::Ids(vec![1, 2])),
            "1, 2"
        );
        assert_eq!(human("max_ratio"), "Max ratio");
    }
}
