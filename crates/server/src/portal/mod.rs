//! The web portal: server-rendered pages (askama templates in `crates/server/templates/`, one
//! small vanilla-JS file, charts as inline SVG) behind OIDC login or a local password.
//!
//! Routes live under `/ui/` (and `/` redirects there). Who may see an instance is exactly its
//! access policies; instance data goes through the same [`AppState::check_instance`] policy
//! check as the REST API, so an instance the viewer has no role on answers 404.
//!
//! Layout: [`config`] settings, [`oidc`] the relying party, [`password`] local passwords,
//! `session` cookies/CSRF/the viewer extractor, `auth` login and logout, `pages` the data
//! pages, `runs` the run list query, `charts` SVG charts, `views` template structs.

pub mod admin;
mod auth;
mod charts;
pub mod config;
pub mod oidc;
mod pages;
pub mod password;
mod runs;
mod session;
mod views;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Path, Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use sparkplane_iam::FailureLimiter;

use crate::error::REQUEST_ID;
use crate::metrics::HttpLabels;
use crate::state::AppState;
use crate::ServerError;

pub use config::{OidcLayer, OidcSettings};

/// Object-store key of the OIDC client secret (encrypted at rest by the object store's
/// platform data key).
pub const CLIENT_SECRET_KEY: &str = "platform/oidc/client_secret";

/// Idle timeout of a portal session.
pub const SESSION_IDLE: Duration = Duration::from_secs(30 * 60);
/// Absolute lifetime of a portal session.
pub const SESSION_ABSOLUTE: Duration = Duration::from_secs(12 * 3600);

/// Portal-wide state next to the API's.
pub struct Portal {
    /// The OIDC relying party, when configured.
    pub oidc: Option<oidc::Oidc>,
    /// Failed logins per client address and per user name (consulted before hashing).
    pub limiter: FailureLimiter,
    /// Served over TLS: `Secure` cookies with the `__Host-` prefix.
    pub secure: bool,
    /// Idle timeout (ms).
    pub idle_ms: i64,
    /// Absolute lifetime (ms).
    pub absolute_ms: i64,
}

/// Handler state: the API's state plus the portal's.
#[derive(Clone)]
pub struct PortalState {
    /// Store, objects, runner, metrics.
    pub app: AppState,
    /// Sessions, OIDC.
    pub portal: Arc<Portal>,
}

/// Resolve the OIDC client secret: a secret given at this start is stored (encrypted) in the
/// object store; without one, the stored secret is used.
async fn client_secret(app: &AppState, given: Option<&str>) -> Result<String, ServerError> {
    if let Some(s) = given {
        let stored = app.objects.get(CLIENT_SECRET_KEY).await.ok();
        if stored.as_deref() != Some(s.as_bytes()) {
            app.objects
                .put(CLIENT_SECRET_KEY, s.as_bytes().to_vec())
                .await?;
        }
        return Ok(s.to_owned());
    }
    match app.objects.get(CLIENT_SECRET_KEY).await {
        Ok(b) => String::from_utf8(b)
            .map_err(|_| ServerError::Config(format!("{CLIENT_SECRET_KEY}: not UTF-8"))),
        Err(e) => Err(ServerError::Config(format!(
            "no OIDC client secret: pass --oidc-client-secret (or SPARKPLANE_OIDC_CLIENT_SECRET) once; \
             it is then kept encrypted in the object store ({e})"
        ))),
    }
}

/// Build the portal's routes (merged next to the API's by [`crate::build_app`]).
pub async fn router(
    app: AppState,
    oidc: Option<&OidcSettings>,
    secure: bool,
) -> Result<Router, ServerError> {
    let oidc = match oidc {
        Some(s) => {
            let secret = client_secret(&app, s.client_secret.as_deref()).await?;
            Some(
                oidc::Oidc::new(s.clone(), secret)
                    .map_err(|e| ServerError::Config(e.to_string()))?,
            )
        }
        None => None,
    };
    let portal = Arc::new(Portal {
        oidc,
        limiter: FailureLimiter::new(10, Duration::from_secs(300)),
        secure,
        idle_ms: i64::try_from(SESSION_IDLE.as_millis()).unwrap_or(i64::MAX),
        absolute_ms: i64::try_from(SESSION_ABSOLUTE.as_millis()).unwrap_or(i64::MAX),
    });
    let state = PortalState { app, portal };
    Ok(routes(state))
}

fn routes(state: PortalState) -> Router {
    Router::new()
        .route("/", get(|| async { Redirect::to("/ui/") }))
        .route("/ui", get(|| async { Redirect::to("/ui/") }))
        .route("/ui/", get(pages::instances))
        .route(
            "/ui/login",
            get(auth::login_page).post(auth::login_password),
        )
        .route("/ui/auth/oidc", get(auth::oidc_start))
        .route("/ui/auth/callback", get(auth::oidc_callback))
        .route("/ui/logout", post(auth::logout))
        .route("/ui/static/{file}", get(static_file))
        .route("/ui/audit", get(pages::audit))
        .route("/ui/i/{instance}", get(pages::runs))
        .route("/ui/i/{instance}/rows", get(pages::runs_rows))
        .route("/ui/i/{instance}/apps/{summary}", get(pages::app))
        .route(
            "/ui/i/{instance}/apps/{summary}/log",
            get(pages::driver_log),
        )
        .route("/ui/i/{instance}/settings", get(pages::settings))
        .route(
            "/ui/i/{instance}/settings/access",
            post(pages::settings_access),
        )
        .route(
            "/ui/{*rest}",
            get(|| async { pages::PageError::NotFound.into_response() }),
        )
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware,
        ))
        .with_state(state)
}

const CSS: &str = include_str!("../../static/portal.css");
const JS: &str = include_str!("../../static/portal.js");

async fn static_file(Path(file): Path<String>) -> Response {
    let (body, ctype) = match file.as_str() {
        "portal.css" => (CSS, "text/css; charset=utf-8"),
        "portal.js" => (JS, "text/javascript; charset=utf-8"),
        _ => return pages::PageError::NotFound.into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, ctype),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        body,
    )
        .into_response()
}

/// Content Security Policy of every portal answer: nothing from elsewhere, no inline script.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
    img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; \
    object-src 'none'";

/// Per request: request id (for audit events), security headers, metrics.
async fn middleware(State(state): State<PortalState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = uuid::Uuid::new_v4().simple().to_string();
    let method = req.method().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let is_static = route.starts_with("/ui/static/");
    let mut res = REQUEST_ID.scope(id.clone(), next.run(req)).await;
    let status = res.status();
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&id) {
        h.insert("x-request-id", v);
    }
    if !is_static {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    if state.portal.secure {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    let labels = HttpLabels {
        method,
        route,
        status: status.as_u16(),
    };
    state.app.metrics.requests.get_or_create(&labels).inc();
    state
        .app
        .metrics
        .latency
        .get_or_create(&labels)
        .observe(started.elapsed().as_secs_f64());
    res
}
