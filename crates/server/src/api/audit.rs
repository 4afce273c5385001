//! Audit log queries: platform-wide (Administrator) and per instance (Manager).

use axum::extract::{Path, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use sparkplane_iam::Action;
use sparkplane_store::{AuditEvent, AuditQuery};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::api::{rfc3339, ApiErrors};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::Query;
use crate::state::AppState;

/// Filters and pagination (newest first).
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// Only events of this principal.
    pub principal_id: Option<String>,
    /// Only this action (`instance.create`, `authenticate`, …).
    pub action: Option<String>,
    /// `success` or `denied`.
    pub outcome: Option<OutcomeParam>,
    /// Only events at or after this time (RFC 3339).
    #[param(format = DateTime)]
    pub since: Option<String>,
    /// Only events before this time (RFC 3339).
    #[param(format = DateTime)]
    pub until: Option<String>,
    /// Page cursor: the `next_start` of the previous page.
    pub start: Option<String>,
    /// Page size (1–200, default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
}

/// Outcome filter.
#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeParam {
    /// Changes made.
    Success,
    /// Refused requests.
    Denied,
}

/// Platform audit filters: also by instance.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PlatformAuditParams {
    /// Only events of this instance.
    pub instance_id: Option<String>,
    /// Only events of this principal.
    pub principal_id: Option<String>,
    /// Only this action.
    pub action: Option<String>,
    /// `success` or `denied`.
    pub outcome: Option<OutcomeParam>,
    /// Only events at or after this time (RFC 3339).
    #[param(format = DateTime)]
    pub since: Option<String>,
    /// Only events before this time (RFC 3339).
    #[param(format = DateTime)]
    pub until: Option<String>,
    /// Page cursor: the `next_start` of the previous page.
    pub start: Option<String>,
    /// Page size (1–200, default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
}

/// One audit event.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuditEventView {
    /// Event id.
    pub id: String,
    /// RFC 3339.
    pub time: String,
    /// Caller (absent when unauthenticated).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal_id: Option<String>,
    /// Action.
    pub action: String,
    /// Resource path.
    pub resource: String,
    /// Instance concerned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<String>,
    /// `success` or `denied`.
    pub outcome: String,
    /// HTTP status answered.
    pub status: i64,
    /// Request id.
    pub request_id: String,
    /// Non-secret detail.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// A page of audit events.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuditPage {
    /// Events, newest first.
    pub audit_events: Vec<AuditEventView>,
    /// Page size used.
    pub limit: u32,
    /// Cursor of the next page (absent on the last page).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_start: Option<String>,
}

fn parse_time(field: &str, v: &Option<String>) -> Result<Option<i64>, ApiError> {
    v.as_deref()
        .map(|s| {
            // RFC 3339 allows a leap second (`:60`); count it as the second before.
            let s = s.replace(":60", ":59");
            OffsetDateTime::parse(&s, &Rfc3339)
                .map(|t| i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX))
                .map_err(|e| {
                    ApiError::BadRequest(format!("invalid query parameter `{field}`: {e}"))
                })
        })
        .transpose()
}

fn check_len(field: &str, v: &Option<String>) -> Result<(), ApiError> {
    match v {
        Some(s) if s.len() > 256 => Err(ApiError::BadRequest(format!(
            "query parameter `{field}` is too long"
        ))),
        _ => Ok(()),
    }
}

fn non_empty(v: Option<String>) -> Option<String> {
    v.filter(|s| !s.is_empty())
}

async fn page(state: &AppState, p: PlatformAuditParams) -> Result<Json<AuditPage>, ApiError> {
    // An empty text parameter (`?action=`) means "not given" (times must be valid).
    let p = PlatformAuditParams {
        instance_id: non_empty(p.instance_id),
        principal_id: non_empty(p.principal_id),
        action: non_empty(p.action),
        outcome: p.outcome,
        since: p.since,
        until: p.until,
        start: non_empty(p.start),
        limit: p.limit,
    };
    let limit = p.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::BadRequest(
            "query parameter `limit` must be between 1 and 200".into(),
        ));
    }
    for (f, v) in [
        ("instance_id", &p.instance_id),
        ("principal_id", &p.principal_id),
        ("action", &p.action),
        ("start", &p.start),
    ] {
        check_len(f, v)?;
    }
    let q = AuditQuery {
        since: parse_time("since", &p.since)?,
        until: parse_time("until", &p.until)?,
        instance_id: p.instance_id,
        principal_id: p.principal_id,
        action: p.action,
        outcome: p.outcome.map(|o| match o {
            OutcomeParam::Success => "success".to_owned(),
            OutcomeParam::Denied => "denied".to_owned(),
        }),
        start: p.start,
        limit: i64::from(limit) + 1,
    };
    let mut events = state.store.audit_events(&q).await?;
    let next_start = if events.len() > limit as usize {
        events.truncate(limit as usize);
        events.last().map(|e| e.id.clone())
    } else {
        None
    };
    Ok(Json(AuditPage {
        audit_events: events.into_iter().map(view).collect(),
        limit,
        next_start,
    }))
}

fn view(e: AuditEvent) -> AuditEventView {
    AuditEventView {
        id: e.id,
        time: rfc3339(e.time),
        principal_id: e.principal_id,
        action: e.action,
        resource: e.resource,
        instance_id: e.instance_id,
        outcome: e.outcome,
        status: e.status,
        request_id: e.request_id,
        detail: e.detail,
    }
}

/// Platform audit log (Administrator).
#[utoipa::path(get, path = "/v1/audit_events", tag = "audit", params(PlatformAuditParams),
    responses((status = 200, description = "A page of events", body = AuditPage), ApiErrors))]
pub async fn platform(
    State(state): State<AppState>,
    caller: Caller,
    Query(p): Query<PlatformAuditParams>,
) -> Result<Json<AuditPage>, ApiError> {
    state
        .check_platform(&caller.0, Action::PlatformAuditRead, "/v1/audit_events")
        .await?;
    page(&state, p).await
}

/// The instance's audit log (Manager, or Administrator).
#[utoipa::path(get, path = "/v3/analytics_engines/{instance_id}/audit_events", tag = "audit",
    params(("instance_id" = String, Path, description = "Instance id"), AuditParams),
    responses((status = 200, description = "A page of events", body = AuditPage), ApiErrors))]
pub async fn instance(
    State(state): State<AppState>,
    caller: Caller,
    Path(instance_id): Path<String>,
    Query(p): Query<AuditParams>,
) -> Result<Json<AuditPage>, ApiError> {
    let path = format!("/v3/analytics_engines/{instance_id}/audit_events");
    state
        .check_instance(&caller.0, &instance_id, Action::InstanceAuditRead, &path)
        .await?;
    let p = PlatformAuditParams {
        instance_id: Some(instance_id),
        principal_id: p.principal_id,
        action: p.action,
        outcome: p.outcome,
        since: p.since,
        until: p.until,
        start: p.start,
        limit: p.limit,
    };
    page(&state, p).await
}
