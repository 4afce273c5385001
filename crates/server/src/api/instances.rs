//! Instances (`/v3/analytics_engines`), their default configs, runtime, limits and access
//! policies. IBM Analytics Engine v3 shapes.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use sparkplane_iam::{conf_policy, Action, Role};
use sparkplane_store::{InstanceRecord, Limits, Outcome};

use crate::api::{check_text, rfc3339, ApiErrors};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{parse_json, Body};
use crate::state::{audit_event, AppState};

const DEFAULT_SPARK_VERSION: &str = "4.3";
const DEFAULT_MAX_CORES: i64 = 150;
const DEFAULT_MAX_MEMORY: &str = "600G";
const DEFAULT_MAX_CONCURRENT: i64 = 16;

/// The Spark runtime of an instance.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Runtime {
    /// Spark version (`major.minor` or `major.minor.patch`).
    #[schema(pattern = "^[0-9]{1,2}\\.[0-9]{1,2}(\\.[0-9]{1,3})?$", example = "4.3")]
    pub spark_version: String,
}

/// Resource consumption limits of an instance.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsumptionLimits {
    /// Cores of all running applications together.
    #[schema(minimum = 1, maximum = 100000)]
    #[serde(deserialize_with = "crate::extract::whole_u32")]
    pub max_cores: u32,
    /// Memory of all running applications together (`600G`, `512M`).
    #[schema(pattern = "^[1-9][0-9]{0,6}[GgMm]$", example = "600G")]
    pub max_memory: String,
    /// Applications running at once (more wait).
    #[schema(minimum = 1, maximum = 10000)]
    #[serde(deserialize_with = "crate::extract::whole_u32")]
    pub max_concurrent_applications: u32,
}

/// Body of `POST /v3/analytics_engines`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewInstance {
    /// Display name (1–128 characters).
    #[schema(min_length = 1, max_length = 128)]
    pub name: String,
    /// Instance-level Spark configuration (string values).
    #[serde(default)]
    #[schema(value_type = SparkConf)]
    pub default_config: BTreeMap<String, String>,
    /// Spark runtime (default 4.3).
    pub default_runtime: Option<Runtime>,
}

/// An instance.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct InstanceView {
    /// Instance id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// `active`.
    pub state: String,
    /// RFC 3339.
    pub state_change_time: String,
    /// RFC 3339.
    pub created_at: String,
    /// Spark runtime.
    pub default_runtime: Runtime,
    /// Instance-level Spark configuration (omitted for callers that may not read it).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<SparkConf>)]
    pub default_config: Option<BTreeMap<String, String>>,
    /// The caller's role on the instance, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
}

/// Instances the caller has a role on.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct InstanceList {
    /// Oldest first.
    pub analytics_engines: Vec<InstanceView>,
}

/// Instance state.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct InstanceState {
    /// Instance id.
    pub id: String,
    /// `active`.
    pub state: String,
}

/// One grant.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AccessPolicy {
    /// Principal id.
    pub principal_id: String,
    /// Role.
    pub role: Role,
}

/// All grants of an instance.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AccessPolicyList {
    /// Grants.
    pub access_policies: Vec<AccessPolicy>,
}

/// Body of `PUT …/access_policies/{principal_id}`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantRequest {
    /// Role to grant (`Exporter` for service IDs only).
    pub role: Role,
}

const KEY_PATTERN: &str = "^[A-Za-z0-9._-]{1,256}$";
const VALUE_PATTERN: &str = "^[^\\x00-\\x1f\\x7f-\\x9f]{0,8192}$";

fn string_schema(pattern: &str) -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .pattern(Some(pattern))
        .build()
}

fn additional(
    o: utoipa::openapi::Object,
) -> utoipa::openapi::schema::AdditionalProperties<utoipa::openapi::schema::Schema> {
    utoipa::openapi::schema::AdditionalProperties::RefOr(utoipa::openapi::RefOr::T(
        utoipa::openapi::schema::Schema::Object(o),
    ))
}

/// Spark configuration: conf keys to string values. Keys the platform manages
/// (`spark.master`, `spark.authenticate*`, `spark.eventLog.dir`, `spark.local.dir`,
/// `spark.driver.host`, `spark.driver.bindAddress`, `spark.ui.*`, ports, …) are refused.
pub struct SparkConf;

impl utoipa::PartialSchema for SparkConf {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::Object)
            .description(Some(
                "Spark configuration (string values); platform-managed keys are refused",
            ))
            .property_names(Some(string_schema(KEY_PATTERN)))
            .additional_properties(Some(additional(string_schema(VALUE_PATTERN))))
            .max_properties(Some(1000))
            .into()
    }
}

impl utoipa::ToSchema for SparkConf {}

/// A merge patch of a Spark configuration: a `null` value removes the key.
pub struct SparkConfPatch;

impl utoipa::PartialSchema for SparkConfPatch {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        let value = utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::SchemaType::from_iter([
                utoipa::openapi::schema::Type::String,
                utoipa::openapi::schema::Type::Null,
            ]))
            .pattern(Some(VALUE_PATTERN))
            .build();
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::Object)
            .description(Some("Keys to set; a null value removes the key"))
            .property_names(Some(string_schema(KEY_PATTERN)))
            .additional_properties(Some(additional(value)))
            .max_properties(Some(1000))
            .into()
    }
}

impl utoipa::ToSchema for SparkConfPatch {}

fn view(i: InstanceRecord, role: Option<Role>, with_config: bool) -> InstanceView {
    InstanceView {
        id: i.id,
        name: i.name,
        state: i.state,
        state_change_time: rfc3339(i.state_change_time),
        created_at: rfc3339(i.created_at),
        default_runtime: Runtime {
            spark_version: i.spark_version,
        },
        default_config: with_config.then_some(i.default_config),
        role,
    }
}

fn check_config(cfg: &BTreeMap<String, String>) -> Result<(), ApiError> {
    if cfg.len() > 1000 {
        return Err(ApiError::BadRequest(
            "field `default_config` has more than 1000 keys".into(),
        ));
    }
    for (k, v) in cfg {
        conf_policy::check_entry(k, v)
            .map_err(|e| ApiError::BadRequest(format!("default_config: {e}")))?;
    }
    Ok(())
}

fn check_version(v: &str) -> Result<(), ApiError> {
    let parts: Vec<&str> = v.split('.').collect();
    let ok = (2..=3).contains(&parts.len())
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()))
        && parts[0].len() <= 2
        && parts[1].len() <= 2;
    if ok {
        Ok(())
    } else {
        Err(ApiError::BadRequest(format!(
            "field `spark_version`: `{v}` is not a Spark version like 4.3"
        )))
    }
}

fn check_limits(l: &ConsumptionLimits) -> Result<Limits, ApiError> {
    if !(1..=100_000).contains(&l.max_cores) {
        return Err(ApiError::BadRequest(
            "field `max_cores` must be between 1 and 100000".into(),
        ));
    }
    if !(1..=10_000).contains(&l.max_concurrent_applications) {
        return Err(ApiError::BadRequest(
            "field `max_concurrent_applications` must be between 1 and 10000".into(),
        ));
    }
    let m = l.max_memory.as_bytes();
    let ok = m.len() >= 2
        && m.len() <= 8
        && m[0] != b'0'
        && m[..m.len() - 1].iter().all(u8::is_ascii_digit)
        && matches!(m[m.len() - 1], b'G' | b'g' | b'M' | b'm');
    if !ok {
        return Err(ApiError::BadRequest(
            "field `max_memory` must look like `600G` or `512M`".into(),
        ));
    }
    Ok(Limits {
        max_cores: Some(i64::from(l.max_cores)),
        max_memory: Some(l.max_memory.clone()),
        max_concurrent_applications: Some(i64::from(l.max_concurrent_applications)),
    })
}

fn limits_view(l: &Limits) -> ConsumptionLimits {
    ConsumptionLimits {
        max_cores: l
            .max_cores
            .and_then(|v| u32::try_from(v).ok())
            .unwrap_or(DEFAULT_MAX_CORES as u32),
        max_memory: l
            .max_memory
            .clone()
            .unwrap_or_else(|| DEFAULT_MAX_MEMORY.into()),
        max_concurrent_applications: l
            .max_concurrent_applications
            .and_then(|v| u32::try_from(v).ok())
            .unwrap_or(DEFAULT_MAX_CONCURRENT as u32),
    }
}

fn instance_path(id: &str) -> String {
    format!("/v3/analytics_engines/{id}")
}

/// Create an instance (platform Administrator).
#[utoipa::path(post, path = "/v3/analytics_engines", tag = "instances", request_body = NewInstance,
    responses((status = 201, description = "Created", body = InstanceView), ApiErrors))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    body: Body,
) -> Result<(StatusCode, Json<InstanceView>), ApiError> {
    state
        .check_platform(&caller.0, Action::InstanceCreate, "/v3/analytics_engines")
        .await?;
    let new: NewInstance = parse_json(&body.0)?;
    check_text("name", &new.name, 1, 128)?;
    check_config(&new.default_config)?;
    let spark_version = match new.default_runtime {
        Some(r) => {
            check_version(&r.spark_version)?;
            r.spark_version
        }
        None => DEFAULT_SPARK_VERSION.into(),
    };
    let now = sparkplane_store::now_ms();
    let record = InstanceRecord {
        id: uuid::Uuid::new_v4().to_string(),
        name: new.name,
        state: "active".into(),
        default_config: new.default_config,
        spark_version,
        limits: Limits {
            max_cores: Some(DEFAULT_MAX_CORES),
            max_memory: Some(DEFAULT_MAX_MEMORY.into()),
            max_concurrent_applications: Some(DEFAULT_MAX_CONCURRENT),
        },
        created_at: now,
        state_change_time: now,
    };
    let audit = audit_event(
        Some(&caller.0.id),
        Action::InstanceCreate.as_str(),
        &instance_path(&record.id),
        Some(&record.id),
        Outcome::Success,
        201,
    );
    state.store.create_instance(&record, &audit).await?;
    Ok((StatusCode::CREATED, Json(view(record, None, true))))
}

/// List the instances the caller has a role on.
#[utoipa::path(get, path = "/v3/analytics_engines", tag = "instances",
    responses((status = 200, description = "Instances", body = InstanceList), ApiErrors))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<InstanceList>, ApiError> {
    let analytics_engines = state
        .store
        .instances_with_role(&caller.0.id)
        .into_iter()
        .map(|(i, role)| {
            let cfg = role != Role::Exporter;
            view(i, Some(role), cfg)
        })
        .collect();
    Ok(Json(InstanceList { analytics_engines }))
}

/// Get an instance.
#[utoipa::path(get, path = "/v3/analytics_engines/{instance_id}", tag = "instances",
    params(("instance_id" = String, Path, description = "Instance id")),
    responses((status = 200, description = "The instance", body = InstanceView), ApiErrors))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(instance_id): Path<String>,
) -> Result<Json<InstanceView>, ApiError> {
    let path = instance_path(&instance_id);
    let (inst, role) = state
        .check_instance(&caller.0, &instance_id, Action::InstanceRead, &path)
        .await?;
    let with_config = sparkplane_iam::authorize(
        &caller.0,
        Action::ConfigRead,
        sparkplane_iam::Resource::Instance { caller_role: role },
    ) == sparkplane_iam::Decision::Allow;
    Ok(Json(view(inst, role, with_config)))
}

/// Delete an instance (platform Administrator).
#[utoipa::path(delete, path = "/v3/analytics_engines/{instance_id}", tag = "instances",
    params(("instance_id" = String, Path, description = "Instance id")),
    responses((status = 204, description = "Deleted"), ApiErrors))]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(instance_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let path = instance_path(&instance_id);
    state
        .check_instance(&caller.0, &instance_id, Action::InstanceDelete, &path)
        .await?;
    let audit = audit_event(
        Some(&caller.0.id),
        Action::InstanceDelete.as_str(),
        &path,
        Some(&instance_id),
        Outcome::Success,
        204,
    );
    state.store.delete_instance(&instance_id, &audit).await?;
    crate::api::applications::shutdown_instance(&state, &instance_id).await;
    crate::api::history::forget(&state, &instance_id);
    Ok(StatusCode::NO_CONTENT)
}

/// Get an instance's state.
#[utoipa::path(get, path = "/v3/analytics_engines/{instance_id}/state", tag = "instances",
    params(("instance_id" = String, Path, description = "Instance id")),
    responses((status = 200, description = "State", body = InstanceState), ApiErrors))]
pub async fn get_state(
    State(state): State<AppState>,
    caller: Caller,
    Path(instance_id): Path<String>,
) -> Result<Json<InstanceState>, ApiError> {
    let path = format!("{}/state", instance_path(&instance_id));
    let (inst, _) = state
        .check_instance(&caller.0, &instance_id, Action::InstanceRead, &path)
        .await?;
    Ok(Json(InstanceState {
        id: inst.id,
        state: inst.state,
    }))
}

/// Get the instance's default Spark configuration.
#[utoipa::path(get, path = "/v3/analytics_engines/{instance_id}/default_configs", tag = "instances",
    params(("instance_id" = String, Path, description = "Instance id")),
    responses((status = 200, description = "Configuration", body = SparkConf), ApiErrors))]
pub async fn get_configs(
    State(state): State<AppState>,
    caller: Caller,
    Path(instance_id): Path<String>,
) -> Result<Json<BTreeMap<String, String>>, ApiError> {
    let path = format!("{}/default_configs", instance_path(&instance_id));
    let (inst, _) = state
        .check_instance(&caller.0, &instance_id, Action::ConfigRead, &path)
        .await?;
    Ok(Json(inst.default_config))
}

async fn write_configs(
    state: &AppState,
    caller: &Caller,
    instance_id: &str,
    f: impl FnOnce(&mut BTreeMap<String, String>),
    action: &str,
    keys: Vec<&String>,
) -> Result<Json<BTreeMap<String, String>>, ApiError> {
    let path = format!("{}/default_configs", instance_path(instance_id));
    let mut audit = audit_event(
        Some(&caller.0.id),
        action,
        &path,
        Some(instance_id),
        Outcome::Success,
        200,
    );
    // Key names only: values may be secrets.
    let names: Vec<&str> = keys.iter().map(|k| k.as_str()).collect();
    audit.detail = Some(format!("keys={}", names.join(",")));
    let now = audit.time;
    let rec = state
        .store
        .update_instance(
            instance_id,
            |i| {
                f(&mut i.default_config);
                i.state_change_time = now;
            },
            &audit,
        )
        .await?;
    Ok(Json(rec.default_config))
}

/// Replace the instance's default Spark configuration (Manager).
#[utoipa::path(put, path = "/v3/analytics_engines/{instance_id}/default_configs", tag = "instances",
    params(("instance_id" = String, Path, description = "Instance id")),
    request_body = SparkConf,
    responses((status = 200, description = "New configuration", body = SparkConf), ApiErrors))]
pub async fn put_configs(
    State(state): State<AppState>,
    caller: Caller,
    Path(instance_id): Path<String>,
    body: Body,
) -> Result<Json<BTreeMap<String, String>>, ApiError> {
    let path = format!("{}/default_configs", instance_path(&instance_id));
    state
        .check_instance(&caller.0, &instance_id, Action::ConfigWrite, &path)
        .await?;
    let new: BTreeMap<String, String> = parse_json(&body.0)?;
    check_config(&new)?;
    let keys = new.keys().cloned().collect::<Vec<_>>();
    write_configs(
        &state,
        &caller,
        &instance_id,
        |c| *c = new,
        "instance.default_configs.replace",
        keys.iter().collect(),
    )
    .await
}

/// Merge into the instance's default Spark configuration; a `null` value removes the key
/// (Manager).
#[utoipa::path(patch, path = "/v3/analytics_engines/{instance_id}/default_configs", tag = "instances",
    params(("instance_id" = String, Path, description = "Instance id")),
    request_body = SparkConfPatch,
    responses((status = 200, description = "New configuration", body = SparkConf), ApiErrors))]
pub async fn patch_configs(
    State(state): State<AppState>,
    caller: Caller,
    Path(instance_id): Path<String>,
    body: Body,
) -> Result<Json<BTreeMap<String, String>>, ApiError> {
    let path = format!("{}/default_configs", instance_path(&instance_id));
    state
        .check_instance(&caller.0, &instance_id, Action::ConfigWrite, &path)
        .await?;
    let patch: BTreeMap<String, Option<String>> = parse_json(&body.0)?;
    if patch.len() > 1000 {
        return Err(ApiError::BadRequest("more than 1000 keys".into()));
    }
    for (k, v) in &patch {
        let checked = match v {
            Some(v) => conf_policy::check_entry(k, v),
            None => conf_policy::check_key(k),
        };
        checked.map_err(|e| ApiError::BadRequest(format!("default_config: {e}")))?;
    }
    let keys = patch.keys().cloned().collect::<Vec<_>>();
    let merge = |c: &mut BTreeMap<String, String>| {
        for (k, v) in patch {
            match v {
                Some(v) => {
                    c.insert(k, v);
                }
                None => {
                    c.remove(&k);
                }
            }
        }
    };
    write_configs(
        &state,
        &caller,
        &instance_id,
        merge,
        "instance.default_configs.update",
        keys.iter().collect(),
    )
    .await
}

/// Get the instance's default Spark runtime.
#[utoipa::path(get, path = "/v3/analytics_engines/{instance_id}/default_runtime", tag = "instances",
    params(("instance_id" = String, Path, description = "Instance id")),
    responses((status = 200, description = "Runtime", body = Runtime), ApiErrors))]
pub async fn get_runtime(
    State(state): State<AppState>,
    caller: Caller,
    Path(instance_id): Path<String>,
) -> Result<Json<Runtime>, ApiError> {
    let path = format!("{}/default_runtime", instance_path(&instance_id));
    let (inst, _) = state
        .check_instance(&caller.0, &instance_id, Action::ConfigRead, &path)
        .await?;
    Ok(Json(Runtime {
        spark_version: inst.spark_version,
    }))
}

/// Set the instance's default Spark runtime (Manager).
#[utoipa::path(put, path = "/v3/analytics_engines/{instance_id}/default_runtime", tag = "instances",
    params(("instance_id" = String, Path, description = "Instance id")),
    request_body = Runtime,
    responses((status = 200, description = "Runtime", body = Runtime), ApiErrors))]
pub async fn put_runtime(
    State(state): State<AppState>,
    caller: Caller,
    Path(instance_id): Path<String>,
    body: Body,
) -> Result<Json<Runtime>, ApiError> {
    let path = format!("{}/default_runtime", instance_path(&instance_id));
    state
        .check_instance(&caller.0, &instance_id, Action::ConfigWrite, &path)
        .await?;
    let new: Runtime = parse_json(&body.0)?;
    check_version(&new.spark_version)?;
    let audit = audit_event(
        Some(&caller.0.id),
        "instance.default_runtime.replace",
        &path,
        Some(&instance_id),
        Outcome::Success,
        200,
    );
    let v = new.spark_version.clone();
    let rec = state
        .store
        .update_instance(&instance_id, |i| i.spark_version = v, &audit)
        .await?;
    Ok(Json(Runtime {
        spark_version: rec.spark_version,
    }))
}

/// Get the instance's resource consumption limits.
#[utoipa::path(get, path = "/v3/analytics_engines/{instance_id}/resource_consumption_limits", tag = "instances",
    params(("instance_id" = String, Path, description = "Instance id")),
    responses((status = 200, description = "Limits", body = ConsumptionLimits), ApiErrors))]
pub async fn get_limits(
    State(state): State<AppState>,
    caller: Caller,
    Path(instance_id): Path<String>,
) -> Result<Json<ConsumptionLimits>, ApiError> {
    let path = format!(
        "{}/resource_consumption_limits",
        instance_path(&instance_id)
    );
    let (inst, _) = state
        .check_instance(&caller.0, &instance_id, Action::ConfigRead, &path)
        .await?;
    Ok(Json(limits_view(&inst.limits)))
}

/// Set the instance's resource consumption limits (Manager).
#[utoipa::path(put, path = "/v3/analytics_engines/{instance_id}/resource_consumption_limits", tag = "instances",
    params(("instance_id" = String, Path, description = "Instance id")),
    request_body = ConsumptionLimits,
    responses((status = 200, description = "Limits", body = ConsumptionLimits), ApiErrors))]
pub async fn put_limits(
    State(state): State<AppState>,
    caller: Caller,
    Path(instance_id): Path<String>,
    body: Body,
) -> Result<Json<ConsumptionLimits>, ApiError> {
    let path = format!(
        "{}/resource_consumption_limits",
        instance_path(&instance_id)
    );
    state
        .check_instance(&caller.0, &instance_id, Action::ConfigWrite, &path)
        .await?;
    let new: ConsumptionLimits = parse_json(&body.0)?;
    let limits = check_limits(&new)?;
    let audit = audit_event(
        Some(&caller.0.id),
        "instance.resource_consumption_limits.replace",
        &path,
        Some(&instance_id),
        Outcome::Success,
        200,
    );
    let rec = state
        .store
        .update_instance(&instance_id, |i| i.limits = limits, &audit)
        .await?;
    Ok(Json(limits_view(&rec.limits)))
}

/// List the instance's access policies (Manager or Administrator).
#[utoipa::path(get, path = "/v3/analytics_engines/{instance_id}/access_policies", tag = "access",
    params(("instance_id" = String, Path, description = "Instance id")),
    responses((status = 200, description = "Grants", body = AccessPolicyList), ApiErrors))]
pub async fn list_policies(
    State(state): State<AppState>,
    caller: Caller,
    Path(instance_id): Path<String>,
) -> Result<Json<AccessPolicyList>, ApiError> {
    let path = format!("{}/access_policies", instance_path(&instance_id));
    state
        .check_instance(&caller.0, &instance_id, Action::AccessRead, &path)
        .await?;
    let access_policies = state
        .store
        .policies_of(&instance_id)
        .into_iter()
        .map(|(principal_id, role)| AccessPolicy { principal_id, role })
        .collect();
    Ok(Json(AccessPolicyList { access_policies }))
}

/// Grant a role on the instance (Manager or Administrator).
#[utoipa::path(put, path = "/v3/analytics_engines/{instance_id}/access_policies/{principal_id}", tag = "access",
    params(("instance_id" = String, Path, description = "Instance id"),
           ("principal_id" = String, Path, description = "User or service ID")),
    request_body = GrantRequest,
    responses((status = 200, description = "Granted", body = AccessPolicy), ApiErrors))]
pub async fn put_policy(
    State(state): State<AppState>,
    caller: Caller,
    Path((instance_id, principal_id)): Path<(String, String)>,
    body: Body,
) -> Result<Json<AccessPolicy>, ApiError> {
    let path = format!(
        "{}/access_policies/{principal_id}",
        instance_path(&instance_id)
    );
    state
        .check_instance(&caller.0, &instance_id, Action::AccessWrite, &path)
        .await?;
    let grant: GrantRequest = parse_json(&body.0)?;
    let Some(target) = state.store.principal(&principal_id) else {
        return Err(ApiError::NotFound(format!(
            "principal `{principal_id}` not found"
        )));
    };
    if !grant.role.allowed_for(target.kind) {
        return Err(ApiError::BadRequest(
            "field `role`: Exporter is for service IDs only".into(),
        ));
    }
    let mut audit = audit_event(
        Some(&caller.0.id),
        Action::AccessWrite.as_str(),
        &path,
        Some(&instance_id),
        Outcome::Success,
        200,
    );
    audit.detail = Some(format!("role={}", grant.role));
    state
        .store
        .set_policy(&instance_id, &principal_id, grant.role, &audit)
        .await?;
    Ok(Json(AccessPolicy {
        principal_id,
        role: grant.role,
    }))
}

/// Revoke a principal's role on the instance (Manager or Administrator).
#[utoipa::path(delete, path = "/v3/analytics_engines/{instance_id}/access_policies/{principal_id}", tag = "access",
    params(("instance_id" = String, Path, description = "Instance id"),
           ("principal_id" = String, Path, description = "User or service ID")),
    responses((status = 204, description = "Revoked"), ApiErrors))]
pub async fn delete_policy(
    State(state): State<AppState>,
    caller: Caller,
    Path((instance_id, principal_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let path = format!(
        "{}/access_policies/{principal_id}",
        instance_path(&instance_id)
    );
    state
        .check_instance(&caller.0, &instance_id, Action::AccessWrite, &path)
        .await?;
    let mut audit = audit_event(
        Some(&caller.0.id),
        Action::AccessWrite.as_str(),
        &path,
        Some(&instance_id),
        Outcome::Success,
        204,
    );
    audit.detail = Some("role=none".into());
    state
        .store
        .delete_policy(&instance_id, &principal_id, &audit)
        .await
        .map_err(|e| match e {
            sparkplane_store::StoreError::NotFound => ApiError::NotFound(format!(
                "principal `{principal_id}` has no role on this instance"
            )),
            other => other.into(),
        })?;
    Ok(StatusCode::NO_CONTENT)
}
