//! Event-log sources of an instance (`/v3/analytics_engines/{instance_id}/sources/{name}`),
//! Manager only: a read-only bucket prefix the server polls for event logs and exported
//! summaries (see [`crate::sources`]). Credentials are kept encrypted in the object store and
//! never returned.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use sparkplane_iam::Action;
use sparkplane_store::{Outcome, SourceRecord};

use crate::api::{check_text, rfc3339, ApiErrors};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{parse_json, Body};
use crate::sources::{credentials_key, parse_url, Credentials, Progress};
use crate::state::{audit_event, AppState};

fn base_path(instance_id: &str) -> String {
    format!("/v3/analytics_engines/{instance_id}/sources")
}

/// Body of `PUT …/sources/{name}`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceRequest {
    /// `s3://bucket/prefix` to poll (read-only).
    #[schema(
        pattern = r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[A-Za-z0-9_=+-][A-Za-z0-9_=+.-]*)*/?$"
    )]
    pub url: String,
    /// S3-compatible endpoint URL (`https://…`); AWS when absent.
    #[schema(pattern = r"^https?://[^\s@]+$")]
    pub endpoint: Option<String>,
    /// Region (default `us-east-1`).
    #[schema(min_length = 1, max_length = 64)]
    pub region: Option<String>,
    /// Read-only credentials; without them requests are unsigned (public buckets only).
    pub credentials: Option<Credentials>,
}

/// A source as answered (never with its credentials).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SourceView {
    /// Name.
    pub name: String,
    /// `s3://bucket/prefix`.
    pub url: String,
    /// Endpoint URL.
    pub endpoint: Option<String>,
    /// Region.
    pub region: Option<String>,
    /// `"redacted"` when credentials are stored, else null.
    pub credentials: Option<String>,
    /// Created (RFC 3339).
    pub created_at: String,
    /// Last change (RFC 3339).
    pub updated_at: String,
    /// End of the last poll (RFC 3339).
    pub last_poll: Option<String>,
    /// Error of the last poll.
    pub last_error: Option<String>,
    /// Objects under the prefix at the last poll.
    pub objects_seen: i64,
    /// Summaries ingested (new or replaced) since the source was created.
    pub ingested: i64,
    /// Logs that could not be ingested since the source was created.
    pub errors: i64,
    /// The current (or last) poll.
    pub progress: Progress,
}

/// All sources of an instance.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SourceList {
    /// Sources by name.
    pub sources: Vec<SourceView>,
}

fn view(state: &AppState, s: &SourceRecord) -> SourceView {
    SourceView {
        name: s.name.clone(),
        url: s.url.clone(),
        endpoint: s.endpoint.clone(),
        region: s.region.clone(),
        credentials: s.has_credentials.then(|| "redacted".to_owned()),
        created_at: rfc3339(s.created_at),
        updated_at: rfc3339(s.updated_at),
        last_poll: s.stats.last_poll.map(rfc3339),
        last_error: s.stats.last_error.clone(),
        objects_seen: s.stats.objects_seen,
        ingested: s.stats.ingested,
        errors: s.stats.errors,
        progress: state.ingest.sources().progress(&s.instance_id, &s.name),
    }
}

fn check_name(name: &str) -> Result<(), ApiError> {
    let ok = (1..=63).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(ApiError::BadRequest(
            "source name must be 1 to 63 of a-z, 0-9, `-`, `_`, starting with a letter or digit"
                .into(),
        ))
    }
}

fn check_request(r: &SourceRequest) -> Result<(), ApiError> {
    parse_url(&r.url).map_err(|e| ApiError::BadRequest(format!("field `url`: {e}")))?;
    if let Some(ep) = &r.endpoint {
        let ok = url_like(ep);
        if !ok {
            return Err(ApiError::BadRequest(
                "field `endpoint` must be an http:// or https:// URL".into(),
            ));
        }
    }
    if let Some(region) = &r.region {
        check_text("region", region, 1, 64)?;
    }
    if let Some(c) = &r.credentials {
        check_text("credentials.access_key_id", &c.access_key_id, 1, 256)?;
        check_text(
            "credentials.secret_access_key",
            &c.secret_access_key,
            1,
            256,
        )?;
        if let Some(t) = &c.session_token {
            check_text("credentials.session_token", t, 1, 4096)?;
        }
    }
    Ok(())
}

fn url_like(s: &str) -> bool {
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"));
    rest.is_some_and(|r| !r.is_empty() && !r.chars().any(|c| c.is_whitespace() || c == '@'))
}

/// Create or replace a source (Manager). Polling starts at once.
#[utoipa::path(put, path = "/v3/analytics_engines/{instance_id}/sources/{name}", tag = "sources",
    params(("instance_id" = String, Path, description = "Instance id"),
           ("name" = String, Path, description = "Source name", pattern = r"^[a-z0-9][a-z0-9_-]{0,62}$")),
    request_body = SourceRequest,
    responses((status = 201, description = "Created", body = SourceView),
              (status = 200, description = "Replaced", body = SourceView), ApiErrors))]
pub async fn put(
    State(state): State<AppState>,
    caller: Caller,
    Path((instance_id, name)): Path<(String, String)>,
    body: Body,
) -> Result<(StatusCode, Json<SourceView>), ApiError> {
    let path = format!("{}/{name}", base_path(&instance_id));
    state
        .check_instance(&caller.0, &instance_id, Action::ConfigWrite, &path)
        .await?;
    check_name(&name)?;
    let req: SourceRequest = parse_json(&body.0)?;
    check_request(&req)?;
    if let Some(ep) = &req.endpoint {
        state
            .ingest
            .sources()
            .check_endpoint(ep)
            .map_err(|e| ApiError::BadRequest(format!("field `endpoint`: {e}")))?;
    }
    let key = credentials_key(&instance_id, &name);
    match &req.credentials {
        Some(c) => {
            let bytes = serde_json::to_vec(c)
                .map_err(|e| ApiError::Internal(format!("credentials: {e}")))?;
            state.objects.put(&key, bytes).await?;
        }
        None => {
            // No credentials now: forget earlier ones (a missing object is fine).
            let _ = state.objects.delete(&key).await;
        }
    }
    let now = sparkplane_store::now_ms();
    let rec = SourceRecord {
        instance_id: instance_id.clone(),
        name: name.clone(),
        url: req.url.trim_end_matches('/').to_owned(),
        endpoint: req.endpoint.clone(),
        region: req.region.clone(),
        has_credentials: req.credentials.is_some(),
        created_at: now,
        updated_at: now,
        stats: Default::default(),
    };
    let audit = audit_event(
        Some(&caller.0.id),
        "instance.sources.write",
        &path,
        Some(&instance_id),
        Outcome::Success,
        200,
    );
    let (stored, created) = state.store.put_source(&rec, &audit).await?;
    state.ingest.sources().wake();
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(view(&state, &stored))))
}

/// Read a source and its progress (Manager). Credentials are never returned.
#[utoipa::path(get, path = "/v3/analytics_engines/{instance_id}/sources/{name}", tag = "sources",
    params(("instance_id" = String, Path, description = "Instance id"),
           ("name" = String, Path, description = "Source name", pattern = r"^[a-z0-9][a-z0-9_-]{0,62}$")),
    responses((status = 200, description = "The source", body = SourceView), ApiErrors))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path((instance_id, name)): Path<(String, String)>,
) -> Result<Json<SourceView>, ApiError> {
    let path = format!("{}/{name}", base_path(&instance_id));
    state
        .check_instance(&caller.0, &instance_id, Action::ConfigWrite, &path)
        .await?;
    let rec = state
        .store
        .source(&instance_id, &name)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("source `{name}` not found")))?;
    Ok(Json(view(&state, &rec)))
}

/// Delete a source (Manager): polling stops; summaries already ingested stay.
#[utoipa::path(delete, path = "/v3/analytics_engines/{instance_id}/sources/{name}", tag = "sources",
    params(("instance_id" = String, Path, description = "Instance id"),
           ("name" = String, Path, description = "Source name", pattern = r"^[a-z0-9][a-z0-9_-]{0,62}$")),
    responses((status = 204, description = "Deleted"), ApiErrors))]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path((instance_id, name)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let path = format!("{}/{name}", base_path(&instance_id));
    state
        .check_instance(&caller.0, &instance_id, Action::ConfigWrite, &path)
        .await?;
    let audit = audit_event(
        Some(&caller.0.id),
        "instance.sources.delete",
        &path,
        Some(&instance_id),
        Outcome::Success,
        204,
    );
    state
        .store
        .delete_source(&instance_id, &name, &audit)
        .await
        .map_err(|e| match e {
            sparkplane_store::StoreError::NotFound => {
                ApiError::NotFound(format!("source `{name}` not found"))
            }
            other => other.into(),
        })?;
    let _ = state
        .objects
        .delete(&credentials_key(&instance_id, &name))
        .await;
    Ok(StatusCode::NO_CONTENT)
}

/// List the sources of an instance (Manager).
#[utoipa::path(get, path = "/v3/analytics_engines/{instance_id}/sources", tag = "sources",
    params(("instance_id" = String, Path, description = "Instance id")),
    responses((status = 200, description = "Sources", body = SourceList), ApiErrors))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(instance_id): Path<String>,
) -> Result<Json<SourceList>, ApiError> {
    let path = base_path(&instance_id);
    state
        .check_instance(&caller.0, &instance_id, Action::ConfigWrite, &path)
        .await?;
    let all = state.store.sources_of(&instance_id).await?;
    Ok(Json(SourceList {
        sources: all.iter().map(|s| view(&state, s)).collect(),
    }))
}
