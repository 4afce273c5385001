//! The HTTP API: routes, OpenAPI document, and the request middleware (request id, JSON error
//! bodies for framework errors, metrics, security headers).

pub mod admin;
pub mod applications;
pub mod audit;
pub mod history;
pub mod identity;
pub mod instances;
pub mod kms;
pub mod library_sets;
pub mod ops;
pub mod principals;
pub mod sources;
pub mod summaries;

use std::time::Instant;

use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ErrorBody, REQUEST_ID};
use crate::extract::MAX_BODY_BYTES;
use crate::metrics::HttpLabels;
use crate::state::AppState;

/// Error answers every route may give (all with the `ErrorBody` shape).
#[allow(dead_code)]
#[derive(utoipa::IntoResponses)]
pub enum ApiErrors {
    /// Bad input.
    #[response(status = 400, description = "Bad input; the message names the field")]
    BadRequest(ErrorBody),
    /// No or bad credentials.
    #[response(
        status = 401,
        description = "Missing, invalid, expired or revoked token"
    )]
    Unauthorized(ErrorBody),
    /// Role does not allow the action.
    #[response(status = 403, description = "The caller's role does not allow this")]
    Forbidden(ErrorBody),
    /// Not found, or no role on the instance.
    #[response(status = 404, description = "Not found (or no role on the instance)")]
    NotFound(ErrorBody),
    /// Method not allowed.
    #[response(status = 405, description = "Method not allowed")]
    MethodNotAllowed(ErrorBody),
    /// Body too large.
    #[response(status = 413, description = "Body larger than 1 MiB")]
    PayloadTooLarge(ErrorBody),
    /// Unsupported media type.
    #[response(status = 415, description = "Unsupported media type")]
    UnsupportedMediaType(ErrorBody),
    /// Rate limited.
    #[response(status = 429, description = "Too many failed attempts")]
    TooManyRequests(ErrorBody),
    /// Not ready.
    #[response(status = 503, description = "Not ready")]
    Unavailable(ErrorBody),
}

struct SecurityAddon;

impl utoipa::Modify for SecurityAddon {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "sparkplane",
        description = "Self-hosted serverless Spark control plane (IBM Analytics Engine v3 shapes)."
    ),
    modifiers(&SecurityAddon),
    security(("bearer" = [])),
    components(schemas(ErrorBody, audit::OutcomeParam, instances::SparkConf, instances::SparkConfPatch, summaries::InsightKindName, summaries::RunStatusName))
)]
struct ApiDoc;

/// The OpenAPI document (served on `/openapi.json`).
#[utoipa::path(get, path = "/openapi.json", tag = "ops", security(()),
    responses((status = 200, description = "This document", body = Object), ApiErrors))]
pub async fn openapi_json(State(state): State<AppState>) -> Response {
    let doc = state.openapi.get().cloned().unwrap_or_default();
    ([(header::CONTENT_TYPE, "application/json")], doc).into_response()
}

/// Build the router and its OpenAPI document from the same route list.
pub fn router(state: AppState) -> (Router, utoipa::openapi::OpenApi) {
    let (router, api) = OpenApiRouter::<AppState>::with_openapi(ApiDoc::openapi())
        .routes(routes!(identity::token))
        .routes(routes!(principals::create_user, principals::list_users))
        .routes(routes!(
            principals::create_service_id,
            principals::list_service_ids
        ))
        .routes(routes!(
            principals::create_user_key,
            principals::list_user_keys
        ))
        .routes(routes!(
            principals::create_service_key,
            principals::list_service_keys
        ))
        .routes(routes!(principals::delete_key))
        .routes(routes!(
            principals::link_oidc_identity,
            principals::list_oidc_identities
        ))
        .routes(routes!(audit::platform))
        .routes(routes!(instances::create, instances::list))
        .routes(routes!(instances::get, instances::delete))
        .routes(routes!(instances::get_state))
        .routes(routes!(
            instances::get_configs,
            instances::put_configs,
            instances::patch_configs
        ))
        .routes(routes!(instances::get_runtime, instances::put_runtime))
        .routes(routes!(instances::get_limits, instances::put_limits))
        .routes(routes!(instances::list_policies))
        .routes(routes!(instances::put_policy, instances::delete_policy))
        .routes(routes!(audit::instance))
        .routes(routes!(applications::submit, applications::list))
        .routes(routes!(applications::get, applications::stop))
        .routes(routes!(applications::get_state))
        .routes(routes!(applications::logs))
        .routes(routes!(applications::performance))
        // Spark's own REST API per instance: not in the OpenAPI document (see api/history.rs).
        .route(history::PATH, axum::routing::get(history::api_v1))
        .merge(
            OpenApiRouter::new()
                .routes(routes!(
                    applications::put_file,
                    applications::get_file,
                    applications::delete_file
                ))
                .layer(DefaultBodyLimit::max(applications::MAX_FILE_BYTES)),
        )
        // Performance summaries (bodies up to 16 MiB) and event-log sources (issue 8).
        .merge(
            OpenApiRouter::new()
                .routes(routes!(summaries::ingest, summaries::list))
                .layer(DefaultBodyLimit::max(crate::ingest::MAX_SUMMARY_BYTES)),
        )
        .routes(routes!(summaries::trends))
        .routes(routes!(summaries::get))
        .routes(routes!(sources::list))
        .routes(routes!(sources::put, sources::get, sources::delete))
        .routes(routes!(admin::rotate_master_key))
        .routes(routes!(kms::create_key, kms::list_keys))
        .routes(routes!(kms::wrap))
        .routes(routes!(kms::unwrap))
        .routes(routes!(library_sets::create, library_sets::list))
        .routes(routes!(library_sets::get, library_sets::delete))
        .routes(routes!(ops::healthz))
        .routes(routes!(ops::metrics))
        .routes(routes!(openapi_json))
        .split_for_parts();
    (router_with_state(router, state), openapi_path_names(api))
}

/// axum spells a catch-all segment `{*path}`; OpenAPI has no such syntax, so the document
/// names the same parameter `{path}`.
fn openapi_path_names(mut api: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    let paths = std::mem::take(&mut api.paths.paths);
    api.paths.paths = paths
        .into_iter()
        .map(|(path, item)| (path.replace("{*", "{"), item))
        .collect();
    api
}

fn router_with_state(router: Router<AppState>, state: AppState) -> Router {
    router
        .fallback(fallback)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware,
        ))
        .with_state(state)
}

async fn fallback() -> ApiError {
    ApiError::NotFound("no such route".into())
}

/// Per request: a fresh request id (task-local for error bodies and audit, `x-request-id` on
/// the answer), JSON bodies for framework errors, security headers, and metrics.
async fn middleware(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = uuid::Uuid::new_v4().simple().to_string();
    let method = req.method().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let mut res = REQUEST_ID.scope(id.clone(), next.run(req)).await;
    let status = res.status();
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if (status.is_client_error() || status.is_server_error()) && !is_json {
        let headers = res.headers().clone();
        res = REQUEST_ID
            .scope(id.clone(), async {
                ApiError::from_status(status).into_response()
            })
            .await;
        *res.status_mut() = status;
        for name in [header::ALLOW, header::WWW_AUTHENTICATE, header::RETRY_AFTER] {
            if let Some(v) = headers.get(&name) {
                res.headers_mut().insert(name, v.clone());
            }
        }
    }
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&id) {
        h.insert("x-request-id", v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if status == StatusCode::UNAUTHORIZED && !h.contains_key(header::WWW_AUTHENTICATE) {
        h.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    let labels = HttpLabels {
        method,
        route,
        status: status.as_u16(),
    };
    state.metrics.requests.get_or_create(&labels).inc();
    state
        .metrics
        .latency
        .get_or_create(&labels)
        .observe(started.elapsed().as_secs_f64());
    res
}

/// Epoch ms → RFC 3339.
pub fn rfc3339(ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

/// Check a free-text field's length in characters.
pub fn check_text(field: &str, v: &str, min: usize, max: usize) -> Result<(), ApiError> {
    let n = v.chars().count();
    if n < min || n > max {
        return Err(ApiError::BadRequest(format!(
            "field `{field}` must be {min} to {max} characters"
        )));
    }
    Ok(())
}
