//! Bearer-token authentication: every request's token is verified (signature, issuer, expiry)
//! and its API key checked against the live key set, so a revoked key's tokens fail at once.
//!
//! Application KMS tokens (minted at submit, see `api::kms::fill_app_conf`) are accepted only
//! by [`KmsCaller`] — the KMS wrap/unwrap routes of their instance — and only while their
//! application has not reached a terminal state in the runner (whose records survive restarts).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use sparkplane_iam::Principal;

use crate::error::ApiError;
use crate::state::AppState;

/// The authenticated caller of a request.
pub struct Caller(pub Principal);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match authenticate(parts, state) {
            Ok(p) => Ok(Caller(p)),
            Err((principal, message)) => {
                let resource = parts.uri.path().to_owned();
                Err(state
                    .deny(
                        principal.as_deref(),
                        "authenticate",
                        &resource,
                        None,
                        ApiError::Unauthorized(message.into()),
                    )
                    .await)
            }
        }
    }
}

fn bearer_token(parts: &Parts) -> Result<&str, (Option<String>, &'static str)> {
    let header = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .ok_or((None, "missing bearer token"))?;
    let value = header
        .to_str()
        .map_err(|_| (None, "malformed Authorization header"))?;
    Ok(value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .ok_or((None, "Authorization must be `Bearer <token>`"))?
        .trim())
}

fn authenticate(
    parts: &Parts,
    state: &AppState,
) -> Result<Principal, (Option<String>, &'static str)> {
    let token = bearer_token(parts)?;
    let claims = match state.signer.verify(token) {
        Ok(c) => c,
        Err(_) => {
            return Err(match state.signer.verify_app_kms(token) {
                Ok(app) => (
                    Some(app.sub),
                    "this is an application's KMS token: it is accepted only by the KMS \
                     wrap/unwrap routes of its instance",
                ),
                Err(_) => (None, "invalid or expired token"),
            })
        }
    };
    principal(state, &claims.kid, claims.sub)
}

fn principal(
    state: &AppState,
    kid: &str,
    sub: String,
) -> Result<Principal, (Option<String>, &'static str)> {
    if !state.store.key_active_for(kid, &sub) {
        return Err((Some(sub), "the API key of this token was revoked"));
    }
    let (kind, administrator) = state
        .store
        .principal_kind_admin(&sub)
        .ok_or((Some(sub.clone()), "unknown principal"))?;
    Ok(Principal {
        id: sub,
        kind,
        administrator,
    })
}

/// The caller of a KMS wrap/unwrap route: an ordinary bearer token's principal, or the
/// submitter of a running application presenting the application's KMS token (bound to the
/// instance in the route's path).
pub struct KmsCaller {
    /// Whose role on the instance the route checks.
    pub principal: Principal,
    /// The application whose KMS token this is, if it is one.
    pub app: Option<String>,
}

impl FromRequestParts<AppState> for KmsCaller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let resource = parts.uri.path().to_owned();
        let app_claims = bearer_token(parts)
            .ok()
            .and_then(|t| state.signer.verify_app_kms(t).ok());
        let Some(claims) = app_claims else {
            return Caller::from_request_parts(parts, state)
                .await
                .map(|c| KmsCaller {
                    principal: c.0,
                    app: None,
                });
        };
        let refuse = |message: String| {
            let mut ev = crate::state::audit_event(
                Some(&claims.sub),
                "authenticate",
                &resource,
                Some(&claims.inst),
                sparkplane_store::Outcome::Denied,
                401,
            );
            ev.detail = Some(format!("app={}", claims.app));
            (ev, ApiError::Unauthorized(message))
        };
        let checked = match app_route_instance(&resource) {
            Some(inst) if inst == claims.inst => {
                match principal(state, &claims.kid, claims.sub.clone()) {
                    Ok(p) => app_running(state, &claims.inst, &claims.app)
                        .await
                        .map(|()| p)
                        .map_err(refuse),
                    Err((_, m)) => Err(refuse(m.to_owned())),
                }
            }
            _ => Err(refuse(format!(
                "this application's KMS token is accepted only by the KMS wrap/unwrap routes \
                 of instance {}",
                claims.inst
            ))),
        };
        match checked {
            Ok(principal) => Ok(KmsCaller {
                principal,
                app: Some(claims.app),
            }),
            Err((ev, err)) => {
                if let Err(e) = state.store.record_audit(&ev).await {
                    return Err(ApiError::Internal(format!(
                        "could not record audit event: {e}"
                    )));
                }
                Err(err)
            }
        }
    }
}

/// The instance of a KMS wrap/unwrap path
/// (`/v3/analytics_engines/{instance}/kms/keys/{key}/wrap|unwrap`).
fn app_route_instance(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("/v3/analytics_engines/")?;
    let (inst, rest) = rest.split_once('/')?;
    let rest = rest.strip_prefix("kms/keys/")?;
    let (key, op) = rest.split_once('/')?;
    (!inst.is_empty() && !key.is_empty() && matches!(op, "wrap" | "unwrap")).then_some(inst)
}

/// Whether the runner still runs application `app` of `instance` (its records are on disk, so
/// an application that ended while the server was down is seen as ended after a restart).
async fn app_running(state: &AppState, instance: &str, app: &str) -> Result<(), String> {
    let Some(runner) = state.runner.clone() else {
        return Err("Spark is not configured on this server: application tokens are void".into());
    };
    let (i, a) = (instance.to_owned(), app.to_owned());
    let got = tokio::task::spawn_blocking(move || runner.get(&i, &a))
        .await
        .map_err(|e| e.to_string())?;
    match got {
        Ok(rec) if !rec.state().is_terminal() => Ok(()),
        Ok(rec) => Err(format!(
            "application {app} has ended ({}): its KMS token is revoked",
            rec.state()
        )),
        Err(_) => Err(format!(
            "application {app} is not known to this server: its KMS token is revoked"
        )),
    }
}
