//! Users, service IDs and their API keys (`/v1`). Platform Administrator only, except that a
//! principal may manage its own keys.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use sparkplane_iam::{Action, ApiKey, PrincipalKind, Resource};
use sparkplane_store::{ApiKeyRecord, Outcome, PrincipalRecord};

use crate::api::{check_text, rfc3339, ApiErrors};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{parse_json, parse_optional_json, Body};
use crate::state::{audit_event, AppState};

/// New user.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    /// Display name (1–128 characters).
    #[schema(min_length = 1, max_length = 128)]
    pub name: String,
    /// E-mail address.
    #[schema(max_length = 256)]
    pub email: Option<String>,
    /// Free text.
    #[schema(max_length = 1024)]
    pub description: Option<String>,
    /// Make the user a platform Administrator.
    #[serde(default)]
    pub administrator: bool,
}

/// New service ID.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewServiceId {
    /// Display name (1–128 characters).
    #[schema(min_length = 1, max_length = 128)]
    pub name: String,
    /// Free text.
    #[schema(max_length = 1024)]
    pub description: Option<String>,
}

/// A user or service ID.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PrincipalView {
    /// Principal id.
    pub id: String,
    /// `user` or `service_id`.
    #[serde(rename = "type")]
    pub kind: PrincipalKind,
    /// Display name.
    pub name: String,
    /// E-mail.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Free text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Platform Administrator.
    pub administrator: bool,
    /// RFC 3339.
    pub created_at: String,
}

impl From<PrincipalRecord> for PrincipalView {
    fn from(p: PrincipalRecord) -> Self {
        Self {
            id: p.id,
            kind: p.kind,
            name: p.name,
            email: p.email,
            description: p.description,
            administrator: p.administrator,
            created_at: rfc3339(p.created_at),
        }
    }
}

/// List of users.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UserList {
    /// Users, oldest first.
    pub users: Vec<PrincipalView>,
}

/// List of service IDs.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ServiceIdList {
    /// Service IDs, oldest first.
    pub service_ids: Vec<PrincipalView>,
}

/// Options of a new API key (the body may be empty).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewApiKey {
    /// Name.
    #[schema(max_length = 128)]
    pub name: Option<String>,
    /// Free text.
    #[schema(max_length = 1024)]
    pub description: Option<String>,
}

/// A new API key: the secret is shown once and never again.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ApiKeyCreated {
    /// Key id (also embedded in the key).
    pub id: String,
    /// The API key. Store it now: only its hash is kept.
    pub apikey: String,
    /// Owner.
    pub principal_id: String,
    /// Name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// RFC 3339.
    pub created_at: String,
}

/// An API key without its secret.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ApiKeyView {
    /// Key id.
    pub id: String,
    /// Owner.
    pub principal_id: String,
    /// Name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Free text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// RFC 3339.
    pub created_at: String,
}

/// API keys of a principal.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ApiKeyList {
    /// Active keys, oldest first.
    pub api_keys: Vec<ApiKeyView>,
}

fn principal_id(kind: PrincipalKind) -> String {
    let prefix = match kind {
        PrincipalKind::User => "usr",
        PrincipalKind::ServiceId => "sid",
    };
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

async fn create_principal(
    state: &AppState,
    caller: &Caller,
    resource: &str,
    record: PrincipalRecord,
) -> Result<(StatusCode, Json<PrincipalView>), ApiError> {
    let audit = audit_event(
        Some(&caller.0.id),
        "iam.principal.create",
        &format!("{resource}/{}", record.id),
        None,
        Outcome::Success,
        201,
    );
    state.store.create_principal(&record, &audit).await?;
    Ok((StatusCode::CREATED, Json(record.into())))
}

/// Create a user.
#[utoipa::path(post, path = "/v1/users", tag = "iam", request_body = NewUser,
    responses((status = 201, description = "Created", body = PrincipalView), ApiErrors))]
pub async fn create_user(
    State(state): State<AppState>,
    caller: Caller,
    body: Body,
) -> Result<(StatusCode, Json<PrincipalView>), ApiError> {
    state
        .check_platform(&caller.0, Action::PrincipalsManage, "/v1/users")
        .await?;
    let new: NewUser = parse_json(&body.0)?;
    check_text("name", &new.name, 1, 128)?;
    if let Some(e) = &new.email {
        check_text("email", e, 0, 256)?;
    }
    if let Some(d) = &new.description {
        check_text("description", d, 0, 1024)?;
    }
    let record = PrincipalRecord {
        id: principal_id(PrincipalKind::User),
        kind: PrincipalKind::User,
        name: new.name,
        email: new.email,
        description: new.description,
        administrator: new.administrator,
        created_at: sparkplane_store::now_ms(),
    };
    create_principal(&state, &caller, "/v1/users", record).await
}

/// List users.
#[utoipa::path(get, path = "/v1/users", tag = "iam",
    responses((status = 200, description = "Users", body = UserList), ApiErrors))]
pub async fn list_users(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<UserList>, ApiError> {
    state
        .check_platform(&caller.0, Action::PrincipalsManage, "/v1/users")
        .await?;
    let users = state
        .store
        .principals(PrincipalKind::User)
        .into_iter()
        .map(Into::into)
        .collect();
    Ok(Json(UserList { users }))
}

/// Create a service ID.
#[utoipa::path(post, path = "/v1/service_ids", tag = "iam", request_body = NewServiceId,
    responses((status = 201, description = "Created", body = PrincipalView), ApiErrors))]
pub async fn create_service_id(
    State(state): State<AppState>,
    caller: Caller,
    body: Body,
) -> Result<(StatusCode, Json<PrincipalView>), ApiError> {
    state
        .check_platform(&caller.0, Action::PrincipalsManage, "/v1/service_ids")
        .await?;
    let new: NewServiceId = parse_json(&body.0)?;
    check_text("name", &new.name, 1, 128)?;
    if let Some(d) = &new.description {
        check_text("description", d, 0, 1024)?;
    }
    let record = PrincipalRecord {
        id: principal_id(PrincipalKind::ServiceId),
        kind: PrincipalKind::ServiceId,
        name: new.name,
        email: None,
        description: new.description,
        administrator: false,
        created_at: sparkplane_store::now_ms(),
    };
    create_principal(&state, &caller, "/v1/service_ids", record).await
}

/// List service IDs.
#[utoipa::path(get, path = "/v1/service_ids", tag = "iam",
    responses((status = 200, description = "Service IDs", body = ServiceIdList), ApiErrors))]
pub async fn list_service_ids(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<ServiceIdList>, ApiError> {
    state
        .check_platform(&caller.0, Action::PrincipalsManage, "/v1/service_ids")
        .await?;
    let service_ids = state
        .store
        .principals(PrincipalKind::ServiceId)
        .into_iter()
        .map(Into::into)
        .collect();
    Ok(Json(ServiceIdList { service_ids }))
}

/// Check the caller may manage keys of principal `id` of `kind`; 404 if there is no such one.
async fn check_key_owner(
    state: &AppState,
    caller: &Caller,
    kind: PrincipalKind,
    id: &str,
    resource: &str,
) -> Result<(), ApiError> {
    state
        .check_resource(
            &caller.0,
            Action::ApiKeysManage,
            Resource::PrincipalOwned { owner: id },
            resource,
        )
        .await?;
    match state.store.principal(id) {
        Some(p) if p.kind == kind => Ok(()),
        _ => Err(ApiError::NotFound(format!("principal `{id}` not found"))),
    }
}

async fn create_key(
    state: AppState,
    caller: Caller,
    kind: PrincipalKind,
    id: String,
    body: Body,
) -> Result<(StatusCode, Json<ApiKeyCreated>), ApiError> {
    let resource = format!("/v1/{}s/{id}/api_keys", kind.as_str());
    check_key_owner(&state, &caller, kind, &id, &resource).await?;
    let opts: NewApiKey = parse_optional_json(&body.0)?.unwrap_or_default();
    if let Some(n) = &opts.name {
        check_text("name", n, 0, 128)?;
    }
    if let Some(d) = &opts.description {
        check_text("description", d, 0, 1024)?;
    }
    let key = tokio::task::spawn_blocking(ApiKey::generate)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let record = ApiKeyRecord {
        id: key.id.to_string(),
        principal_id: id.clone(),
        name: opts.name,
        description: opts.description,
        hash: key.hash.clone(),
        created_at: sparkplane_store::now_ms(),
    };
    let mut audit = audit_event(
        Some(&caller.0.id),
        "iam.api_key.create",
        &resource,
        None,
        Outcome::Success,
        201,
    );
    audit.detail = Some(format!("api_key={}", record.id));
    state.store.create_api_key(&record, &audit).await?;
    Ok((
        StatusCode::CREATED,
        Json(ApiKeyCreated {
            id: record.id,
            apikey: key.secret,
            principal_id: id,
            name: record.name,
            created_at: rfc3339(record.created_at),
        }),
    ))
}

fn list_keys(state: &AppState, id: &str) -> ApiKeyList {
    let api_keys = state
        .store
        .api_keys_of(id)
        .into_iter()
        .map(|k| ApiKeyView {
            id: k.id,
            principal_id: k.principal_id,
            name: k.name,
            description: k.description,
            created_at: rfc3339(k.created_at),
        })
        .collect();
    ApiKeyList { api_keys }
}

/// Create an API key for a user (Administrator, or the user itself).
#[utoipa::path(post, path = "/v1/users/{user_id}/api_keys", tag = "iam", request_body(content = Option<NewApiKey>),
    params(("user_id" = String, Path, description = "User id")),
    responses((status = 201, description = "Created; the key is shown once", body = ApiKeyCreated), ApiErrors))]
pub async fn create_user_key(
    State(state): State<AppState>,
    caller: Caller,
    Path(user_id): Path<String>,
    body: Body,
) -> Result<(StatusCode, Json<ApiKeyCreated>), ApiError> {
    create_key(state, caller, PrincipalKind::User, user_id, body).await
}

/// List a user's API keys (no secrets).
#[utoipa::path(get, path = "/v1/users/{user_id}/api_keys", tag = "iam",
    params(("user_id" = String, Path, description = "User id")),
    responses((status = 200, description = "Keys", body = ApiKeyList), ApiErrors))]
pub async fn list_user_keys(
    State(state): State<AppState>,
    caller: Caller,
    Path(user_id): Path<String>,
) -> Result<Json<ApiKeyList>, ApiError> {
    let resource = format!("/v1/users/{user_id}/api_keys");
    check_key_owner(&state, &caller, PrincipalKind::User, &user_id, &resource).await?;
    Ok(Json(list_keys(&state, &user_id)))
}

/// Create an API key for a service ID (Administrator).
#[utoipa::path(post, path = "/v1/service_ids/{service_id}/api_keys", tag = "iam", request_body(content = Option<NewApiKey>),
    params(("service_id" = String, Path, description = "Service ID")),
    responses((status = 201, description = "Created; the key is shown once", body = ApiKeyCreated), ApiErrors))]
pub async fn create_service_key(
    State(state): State<AppState>,
    caller: Caller,
    Path(service_id): Path<String>,
    body: Body,
) -> Result<(StatusCode, Json<ApiKeyCreated>), ApiError> {
    create_key(state, caller, PrincipalKind::ServiceId, service_id, body).await
}

/// List a service ID's API keys (no secrets).
#[utoipa::path(get, path = "/v1/service_ids/{service_id}/api_keys", tag = "iam",
    params(("service_id" = String, Path, description = "Service ID")),
    responses((status = 200, description = "Keys", body = ApiKeyList), ApiErrors))]
pub async fn list_service_keys(
    State(state): State<AppState>,
    caller: Caller,
    Path(service_id): Path<String>,
) -> Result<Json<ApiKeyList>, ApiError> {
    let resource = format!("/v1/service_ids/{service_id}/api_keys");
    check_key_owner(
        &state,
        &caller,
        PrincipalKind::ServiceId,
        &service_id,
        &resource,
    )
    .await?;
    Ok(Json(list_keys(&state, &service_id)))
}

/// Revoke an API key: tokens exchanged from it stop working at once.
#[utoipa::path(delete, path = "/v1/api_keys/{api_key_id}", tag = "iam",
    params(("api_key_id" = String, Path, description = "API key id")),
    responses((status = 204, description = "Revoked"), ApiErrors))]
pub async fn delete_key(
    State(state): State<AppState>,
    caller: Caller,
    Path(api_key_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let resource = format!("/v1/api_keys/{api_key_id}");
    let owner = state.store.api_key(&api_key_id).map(|k| k.principal_id);
    match owner {
        Some(owner) => {
            state
                .check_resource(
                    &caller.0,
                    Action::ApiKeysManage,
                    Resource::PrincipalOwned { owner: &owner },
                    &resource,
                )
                .await?;
        }
        None => {
            state
                .check_platform(&caller.0, Action::ApiKeysManage, &resource)
                .await?;
            return Err(ApiError::NotFound(format!(
                "API key `{api_key_id}` not found"
            )));
        }
    }
    let audit = audit_event(
        Some(&caller.0.id),
        "iam.api_key.delete",
        &resource,
        None,
        Outcome::Success,
        204,
    );
    state.store.revoke_api_key(&api_key_id, &audit).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An OIDC identity: the provider's issuer URL and the user's subject (`sub`) there.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OidcIdentity {
    /// The provider's issuer URL, exactly as in its ID tokens (`iss`).
    #[schema(
        min_length = 8,
        max_length = 512,
        pattern = r"^https?://[^\s/?#@]+(/\S*)?$"
    )]
    pub issuer: String,
    /// The user's subject at that provider (`sub`).
    #[schema(min_length = 1, max_length = 255, pattern = r"^[^\x00-\x1f\x7f]+$")]
    pub subject: String,
}

/// The OIDC identities bound to a user.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OidcIdentityList {
    pub oidc_identities: Vec<OidcIdentity>,
}

/// `^https?://[^\s/?#@]+(/\S*)?$`, the schema's pattern: a host, then an optional path.
fn issuer_like(s: &str) -> bool {
    let Some(rest) = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
    else {
        return false;
    };
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    !host.is_empty()
        && !host
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, '?' | '#' | '@'))
        && !path.chars().any(char::is_whitespace)
}

/// Check the caller is an Administrator and `user_id` a user; 404 if there is no such user.
async fn check_user(state: &AppState, caller: &Caller, user_id: &str) -> Result<String, ApiError> {
    let resource = format!("/v1/users/{user_id}/oidc_identities");
    state
        .check_platform(&caller.0, Action::PrincipalsManage, &resource)
        .await?;
    match state.store.principal(user_id) {
        Some(p) if p.kind == PrincipalKind::User => Ok(resource),
        _ => Err(ApiError::NotFound(format!("user `{user_id}` not found"))),
    }
}

async fn identities_of(state: &AppState, user_id: &str) -> Result<OidcIdentityList, ApiError> {
    let oidc_identities = state
        .store
        .oidc_identities_of(user_id)
        .await?
        .into_iter()
        .map(|(issuer, subject)| OidcIdentity { issuer, subject })
        .collect();
    Ok(OidcIdentityList { oidc_identities })
}

/// Bind an OIDC identity (issuer + subject) to a user (Administrator). Whoever the provider
/// signs in with that issuer and subject is then this user in the web portal, whatever e-mail
/// the provider sends (for providers that send no `email_verified`, such as Entra ID). An
/// identity bound to another user is a 409. Audited.
#[utoipa::path(post, path = "/v1/users/{user_id}/oidc_identities", tag = "iam", request_body = OidcIdentity,
    params(("user_id" = String, Path, description = "User id")),
    responses((status = 201, description = "Bound; the user's identities", body = OidcIdentityList),
        (status = 200, description = "Already bound to this user", body = OidcIdentityList),
        (status = 409, description = "Bound to another principal", body = crate::error::ErrorBody), ApiErrors))]
pub async fn link_oidc_identity(
    State(state): State<AppState>,
    caller: Caller,
    Path(user_id): Path<String>,
    body: Body,
) -> Result<(StatusCode, Json<OidcIdentityList>), ApiError> {
    let resource = check_user(&state, &caller, &user_id).await?;
    let id: OidcIdentity = parse_json(&body.0)?;
    check_text("issuer", &id.issuer, 8, 512)?;
    check_text("subject", &id.subject, 1, 255)?;
    if !issuer_like(&id.issuer) {
        return Err(ApiError::BadRequest(
            "field `issuer` must be the provider's issuer URL (https://host/…)".into(),
        ));
    }
    if id.subject.chars().any(|c| c < ' ' || c == '\x7f') {
        return Err(ApiError::BadRequest(
            "field `subject` must not hold control characters".into(),
        ));
    }
    match state.store.oidc_principal(&id.issuer, &id.subject).await? {
        Some(p) if p == user_id => {
            return Ok((StatusCode::OK, Json(identities_of(&state, &user_id).await?)))
        }
        Some(p) => {
            return Err(ApiError::Conflict(format!(
                "this identity is bound to principal `{p}`; unbind it there first"
            )))
        }
        None => {}
    }
    let mut audit = audit_event(
        Some(&caller.0.id),
        "iam.oidc_identity.link",
        &resource,
        None,
        Outcome::Success,
        201,
    );
    audit.detail = Some(format!("issuer={} subject={}", id.issuer, id.subject));
    state
        .store
        .link_oidc_identity(&id.issuer, &id.subject, &user_id, &audit)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(identities_of(&state, &user_id).await?),
    ))
}

/// The OIDC identities bound to a user (Administrator).
#[utoipa::path(get, path = "/v1/users/{user_id}/oidc_identities", tag = "iam",
    params(("user_id" = String, Path, description = "User id")),
    responses((status = 200, description = "The user's identities", body = OidcIdentityList), ApiErrors))]
pub async fn list_oidc_identities(
    State(state): State<AppState>,
    caller: Caller,
    Path(user_id): Path<String>,
) -> Result<Json<OidcIdentityList>, ApiError> {
    check_user(&state, &caller, &user_id).await?;
    Ok(Json(identities_of(&state, &user_id).await?))
}
