//! The one error type of the API and its single mapping to HTTP:
//! `{"errors":[{"code","message"}],"trace":"<request id>"}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use sparkplane_store::StoreError;

tokio::task_local! {
    /// The id of the request being handled (set by the request middleware).
    pub static REQUEST_ID: String;
}

/// The current request id, or `-` outside a request.
pub fn request_id() -> String {
    REQUEST_ID
        .try_with(Clone::clone)
        .unwrap_or_else(|_| "-".to_owned())
}

/// Everything a handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: bad input; the message names the field.
    #[error("{0}")]
    BadRequest(String),
    /// 401: missing, malformed, expired, tampered or revoked credentials.
    #[error("{0}")]
    Unauthorized(String),
    /// 403: the caller's role does not allow the action.
    #[error("{0}")]
    Forbidden(String),
    /// 404: no such thing (or the caller has no role on it).
    #[error("{0}")]
    NotFound(String),
    /// 405.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// 409.
    #[error("{0}")]
    Conflict(String),
    /// 413: body over the limit.
    #[error("request body is larger than allowed (1 MiB; 64 MiB for files)")]
    PayloadTooLarge,
    /// 415.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 429: too many failed attempts.
    #[error("too many failed attempts; retry later")]
    TooManyRequests,
    /// 503: not ready.
    #[error("{0}")]
    Unavailable(String),
    /// 500: logged with detail, answered without it.
    #[error("internal error")]
    Internal(String),
    /// 500: stored data failed its integrity check (encryption at rest): logged with detail,
    /// never served.
    #[error(
        "stored data failed its integrity check (tampered, truncated or swapped); it is not served"
    )]
    Integrity(String),
}

/// One error entry.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorEntry {
    /// Stable machine-readable code.
    pub code: String,
    /// Human-readable message.
    pub message: String,
}

/// Error body of every non-2xx answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// The errors (one).
    pub errors: Vec<ErrorEntry>,
    /// Request id, also in the `x-request-id` header and the audit log.
    pub trace: String,
}

impl ApiError {
    /// HTTP status and stable code.
    pub fn status_code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            Self::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            Self::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            Self::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            Self::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            Self::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            Self::UnsupportedMediaType(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            Self::TooManyRequests => (StatusCode::TOO_MANY_REQUESTS, "too_many_requests"),
            Self::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal_error"),
            Self::Integrity(_) => (StatusCode::INTERNAL_SERVER_ERROR, "integrity"),
        }
    }

    /// The error for a non-JSON error answer produced outside the handlers (axum defaults).
    pub fn from_status(status: StatusCode) -> ApiError {
        match status {
            StatusCode::BAD_REQUEST => Self::BadRequest("bad request".into()),
            StatusCode::UNAUTHORIZED => Self::Unauthorized("authentication required".into()),
            StatusCode::FORBIDDEN => Self::Forbidden("forbidden".into()),
            StatusCode::NOT_FOUND => Self::NotFound("no such route".into()),
            StatusCode::METHOD_NOT_ALLOWED => Self::MethodNotAllowed,
            StatusCode::PAYLOAD_TOO_LARGE => Self::PayloadTooLarge,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => {
                Self::UnsupportedMediaType("unsupported media type".into())
            }
            StatusCode::TOO_MANY_REQUESTS => Self::TooManyRequests,
            s if s.is_client_error() => {
                Self::BadRequest(s.canonical_reason().unwrap_or("bad request").into())
            }
            s => Self::Internal(format!("status {s}")),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiError::NotFound("not found".into()),
            StoreError::Integrity(detail) => ApiError::Integrity(detail),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_code();
        if let Self::Internal(detail) = &self {
            tracing::error!(%detail, "internal error");
        }
        if let Self::Integrity(detail) = &self {
            tracing::error!(%detail, "integrity check failed");
        }
        let body = ErrorBody {
            errors: vec![ErrorEntry {
                code: code.to_owned(),
                message: self.to_string(),
            }],
            trace: request_id(),
        };
        (status, axum::Json(body)).into_response()
    }
}
