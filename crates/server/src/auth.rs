//! Bearer-token authentication: every request's token is verified (signature, issuer, expiry)
//! and its API key checked against the live key set, so a revoked key's tokens fail at once.

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

fn authenticate(
    parts: &Parts,
    state: &AppState,
) -> Result<Principal, (Option<String>, &'static str)> {
    let header = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .ok_or((None, "missing bearer token"))?;
    let value = header
        .to_str()
        .map_err(|_| (None, "malformed Authorization header"))?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .ok_or((None, "Authorization must be `Bearer <token>`"))?
        .trim();
    let claims = state
        .signer
        .verify(token)
        .map_err(|_| (None, "invalid or expired token"))?;
    if !state.store.key_active_for(&claims.kid, &claims.sub) {
        return Err((Some(claims.sub), "the API key of this token was revoked"));
    }
    let (kind, administrator) = state
        .store
        .principal_kind_admin(&claims.sub)
        .ok_or((Some(claims.sub.clone()), "unknown principal"))?;
    Ok(Principal {
        id: claims.sub,
        kind,
        administrator,
    })
}
