//! `POST /identity/token`: exchange an API key for a bearer token (IBM IAM shape).

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use sparkplane_iam::apikey;
use sparkplane_store::Outcome;

use crate::api::ApiErrors;
use crate::error::ApiError;
use crate::extract::{Body, ClientAddr};
use crate::state::{audit_event, AppState};

const GRANT_TYPE: &str = "urn:ibm:params:oauth:grant-type:apikey";
const RESOURCE: &str = "/identity/token";
const ACTION: &str = "iam.token.create";

/// The only grant type.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub enum GrantType {
    /// Exchange an API key.
    #[serde(rename = "urn:ibm:params:oauth:grant-type:apikey")]
    ApiKey,
}

/// Form fields of a token request.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct TokenRequest {
    /// Must be `urn:ibm:params:oauth:grant-type:apikey`.
    pub grant_type: GrantType,
    /// The API key (`spk_…`).
    #[schema(min_length = 1)]
    pub apikey: String,
}

/// A bearer token.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TokenResponse {
    /// The JWT to send as `Authorization: Bearer …`.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until expiry (3600).
    pub expires_in: i64,
    /// Expiry, epoch seconds.
    pub expiration: i64,
}

/// Exchange an API key for a bearer token valid for one hour.
#[utoipa::path(
    post,
    path = "/identity/token",
    tag = "identity",
    security(()),
    request_body(content = TokenRequest, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "A bearer token", body = TokenResponse), ApiErrors)
)]
pub async fn token(
    State(state): State<AppState>,
    peer: ClientAddr,
    body: Body,
) -> Result<Json<TokenResponse>, ApiError> {
    let client = peer
        .0
        .map(|a| a.to_string())
        .unwrap_or_else(|| "local".into());
    let client_key = format!("ip:{client}");
    if !state.limiter.allowed(&client_key) {
        return Err(deny(&state, None, ApiError::TooManyRequests).await);
    }
    let form: Vec<(String, String)> = serde_urlencoded::from_bytes(&body.0)
        .map_err(|e| ApiError::BadRequest(format!("invalid form body: {e}")))?;
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let grant = field("grant_type")
        .ok_or_else(|| ApiError::BadRequest("missing field `grant_type`".into()))?;
    if grant != GRANT_TYPE {
        return Err(ApiError::BadRequest(format!(
            "field `grant_type` must be `{GRANT_TYPE}`"
        )));
    }
    let presented =
        field("apikey").ok_or_else(|| ApiError::BadRequest("missing field `apikey`".into()))?;
    let invalid = || ApiError::Unauthorized("the API key is not valid".into());
    let Ok((key_id, secret)) = apikey::parse(presented) else {
        state.limiter.record_failure(&client_key);
        return Err(deny(&state, None, invalid()).await);
    };
    let key_key = format!("key:{key_id}");
    if !state.limiter.allowed(&key_key) {
        return Err(deny(&state, None, ApiError::TooManyRequests).await);
    }
    let Some(record) = state.store.api_key(key_id.as_str()) else {
        state.limiter.record_failure(&client_key);
        state.limiter.record_failure(&key_key);
        return Err(deny(&state, None, invalid()).await);
    };
    let ok = {
        let _permit = state
            .hashing
            .acquire()
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        let secret = secret.to_owned();
        let hash = record.hash.clone();
        tokio::task::spawn_blocking(move || apikey::verify(&secret, &hash))
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?
    };
    if !ok {
        state.limiter.record_failure(&client_key);
        state.limiter.record_failure(&key_key);
        state
            .metrics
            .token_exchanges
            .get_or_create(&vec![("outcome".into(), "denied".into())])
            .inc();
        return Err(deny(&state, Some(&record.principal_id), invalid()).await);
    }
    let now = sparkplane_store::now_ms() / 1000;
    let (access_token, claims) = state
        .signer
        .issue(&record.principal_id, key_id.as_str(), now)
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let mut ev = audit_event(
        Some(&record.principal_id),
        ACTION,
        RESOURCE,
        None,
        Outcome::Success,
        200,
    );
    ev.detail = Some(format!("api_key={key_id}"));
    state.store.record_audit(&ev).await?;
    state
        .metrics
        .token_exchanges
        .get_or_create(&vec![("outcome".into(), "success".into())])
        .inc();
    Ok(Json(TokenResponse {
        access_token,
        token_type: "Bearer".into(),
        expires_in: claims.exp - claims.iat,
        expiration: claims.exp,
    }))
}

async fn deny(state: &AppState, principal: Option<&str>, err: ApiError) -> ApiError {
    state.deny(principal, ACTION, RESOURCE, None, err).await
}
