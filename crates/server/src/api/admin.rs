//! Platform administration of encryption at rest (`/v1/admin`): rotating the master key while
//! the server runs. Administrator only; audited.

use axum::extract::State;
use axum::Json;
use serde::Serialize;
use sparkplane_iam::Action;
use sparkplane_store::Outcome;

use crate::api::ApiErrors;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::{audit_event, AppState};

/// Result of a master key rotation.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RotationResult {
    /// Data keys re-wrapped with the new master key.
    pub rewrapped_data_keys: usize,
    /// Public identifier (a hash) of the new master key.
    pub master_key_id: String,
}

const RESOURCE: &str = "/v1/admin/rotate_master_key";

/// Rotate the master key of encryption at rest: a new key is generated and stored in place of
/// the master key file, and every data key is re-wrapped with it in one transaction. Objects
/// and sealed values are not rewritten (their data keys do not change).
#[utoipa::path(post, path = "/v1/admin/rotate_master_key", tag = "admin",
    responses((status = 200, description = "Rotated", body = RotationResult), ApiErrors))]
pub async fn rotate_master_key(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<RotationResult>, ApiError> {
    state
        .check_platform(&caller.0, Action::MasterKeyRotate, RESOURCE)
        .await?;
    let mut audit = audit_event(
        Some(&caller.0.id),
        Action::MasterKeyRotate.as_str(),
        RESOURCE,
        None,
        Outcome::Success,
        200,
    );
    let old = state
        .store
        .keyring()
        .map(|k| k.master_id())
        .unwrap_or_default();
    audit.detail = Some(format!("from master key {old}"));
    let (n, id) = crate::at_rest::rotate(&state.store, &state.master_key_file, &audit)
        .await
        .map_err(|e| ApiError::Internal(format!("master key rotation: {e}")))?;
    tracing::info!(rewrapped = n, master_key_id = %id, "master key rotated");
    Ok(Json(RotationResult {
        rewrapped_data_keys: n,
        master_key_id: id,
    }))
}
