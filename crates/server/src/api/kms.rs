//! The per-instance KMS for Parquet modular encryption
//! (`/v3/analytics_engines/{instance_id}/kms/keys`): Managers create named master keys (their
//! material is generated here, sealed with the instance's data key, and never leaves the
//! server); Writers wrap and Readers unwrap Parquet data keys with them. Every wrap and unwrap,
//! allowed or denied, is audited (with the application's id when an application's KMS token
//! made the call).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sparkplane_iam::Action;
use sparkplane_store::{crypto, Outcome, StoreError};

use crate::api::{rfc3339, ApiErrors};
use crate::auth::{Caller, KmsCaller};
use crate::error::ApiError;
use crate::extract::{parse_json, Body};
use crate::state::{audit_event, AppState};

/// Largest data key accepted for wrapping (Parquet uses 16–32 bytes).
const MAX_DATA_KEY: usize = 64;

/// New KMS master key.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewKmsKey {
    /// Key name: 1–64 of `A-Z a-z 0-9 _ . -` (what `parquet.encryption.column.keys` names).
    #[schema(min_length = 1, max_length = 64, pattern = "^[A-Za-z0-9_.-]{1,64}$")]
    pub name: String,
}

/// A KMS master key (its material is never shown).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct KmsKeyView {
    /// Key name.
    pub name: String,
    /// Who created it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    /// Creation time (RFC 3339).
    pub created_at: String,
}

/// The instance's KMS keys.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct KmsKeyList {
    /// Keys by name.
    pub keys: Vec<KmsKeyView>,
}

/// A data key to wrap.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WrapRequest {
    /// The data key, base64 (at most 64 bytes).
    #[schema(max_length = 100)]
    pub key: String,
}

/// A wrapped data key.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WrappedKey {
    /// The wrapped key (opaque base64, stored by Parquet in the file's metadata).
    #[schema(max_length = 400)]
    pub wrapped: String,
}

/// An unwrapped data key.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UnwrappedKey {
    /// The data key, base64.
    pub key: String,
}

fn keys_path(instance_id: &str) -> String {
    format!("/v3/analytics_engines/{instance_id}/kms/keys")
}

fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

fn context(instance_id: &str, key: &str) -> String {
    format!("{instance_id}/{key}")
}

/// The audit detail of a wrap/unwrap: the key, and the application whose token made the call.
fn detail(key: &str, caller: &KmsCaller) -> String {
    match &caller.app {
        Some(app) => format!("key={key} app={app}"),
        None => format!("key={key}"),
    }
}

/// Create a named KMS master key (Manager).
#[utoipa::path(post, path = "/v3/analytics_engines/{instance_id}/kms/keys", tag = "kms",
    params(("instance_id" = String, Path, description = "Instance id")),
    request_body = NewKmsKey,
    responses((status = 201, description = "Created", body = KmsKeyView),
              (status = 409, description = "A key of that name exists", body = crate::error::ErrorBody),
              ApiErrors))]
pub async fn create_key(
    State(state): State<AppState>,
    caller: Caller,
    Path(instance_id): Path<String>,
    body: Body,
) -> Result<(StatusCode, Json<KmsKeyView>), ApiError> {
    let path = keys_path(&instance_id);
    state
        .check_instance(&caller.0, &instance_id, Action::KmsKeysManage, &path)
        .await?;
    let new: NewKmsKey = parse_json(&body.0)?;
    if !valid_name(&new.name) {
        return Err(ApiError::BadRequest(
            "field `name` must be 1 to 64 of A-Z a-z 0-9 _ . -".into(),
        ));
    }
    let mut material = crypto::Zeroizing::new([0u8; 32]);
    rand::rngs::OsRng.fill_bytes(material.as_mut());
    let mut audit = audit_event(
        Some(&caller.0.id),
        Action::KmsKeysManage.as_str(),
        &format!("{path}/{}", new.name),
        Some(&instance_id),
        Outcome::Success,
        201,
    );
    audit.detail = Some(format!("key={}", new.name));
    let created = state
        .store
        .create_kms_key(
            &instance_id,
            &new.name,
            material.as_ref(),
            Some(&caller.0.id),
            &audit,
        )
        .await?;
    if !created {
        return Err(ApiError::Conflict(format!(
            "a KMS key named `{}` exists",
            new.name
        )));
    }
    Ok((
        StatusCode::CREATED,
        Json(KmsKeyView {
            name: new.name,
            created_by: Some(caller.0.id.clone()),
            created_at: rfc3339(audit.time),
        }),
    ))
}

/// List the instance's KMS keys (names only; any role on the instance).
#[utoipa::path(get, path = "/v3/analytics_engines/{instance_id}/kms/keys", tag = "kms",
    params(("instance_id" = String, Path, description = "Instance id")),
    responses((status = 200, description = "Keys", body = KmsKeyList), ApiErrors))]
pub async fn list_keys(
    State(state): State<AppState>,
    caller: Caller,
    Path(instance_id): Path<String>,
) -> Result<Json<KmsKeyList>, ApiError> {
    let path = keys_path(&instance_id);
    state
        .check_instance(&caller.0, &instance_id, Action::ConfigRead, &path)
        .await?;
    let keys = state
        .store
        .kms_keys(&instance_id)
        .await?
        .into_iter()
        .map(|k| KmsKeyView {
            name: k.name,
            created_by: k.created_by,
            created_at: rfc3339(k.created_at),
        })
        .collect();
    Ok(Json(KmsKeyList { keys }))
}

async fn material(
    state: &AppState,
    caller: &KmsCaller,
    instance_id: &str,
    key: &str,
    action: Action,
    path: &str,
) -> Result<crypto::Zeroizing<Vec<u8>>, ApiError> {
    state
        .check_instance(&caller.principal, instance_id, action, path)
        .await?;
    match state.store.kms_key_material(instance_id, key).await? {
        Some(m) => Ok(m),
        None => Err(state
            .deny(
                Some(&caller.principal.id),
                action.as_str(),
                path,
                Some(instance_id),
                ApiError::NotFound(format!("KMS key `{key}` not found")),
            )
            .await),
    }
}

/// Wrap a Parquet data key with a KMS key (Writer, Manager). Audited.
#[utoipa::path(post, path = "/v3/analytics_engines/{instance_id}/kms/keys/{key}/wrap", tag = "kms",
    params(("instance_id" = String, Path, description = "Instance id"),
           ("key" = String, Path, description = "KMS key name")),
    request_body = WrapRequest,
    responses((status = 200, description = "Wrapped", body = WrappedKey), ApiErrors))]
pub async fn wrap(
    State(state): State<AppState>,
    caller: KmsCaller,
    Path((instance_id, key)): Path<(String, String)>,
    body: Body,
) -> Result<Json<WrappedKey>, ApiError> {
    let path = format!("{}/{key}/wrap", keys_path(&instance_id));
    let m = material(&state, &caller, &instance_id, &key, Action::KmsWrap, &path).await?;
    let req: WrapRequest = parse_json(&body.0)?;
    let plain = crypto::Zeroizing::new(
        B64.decode(req.key.trim())
            .map_err(|_| ApiError::BadRequest("field `key` must be base64".into()))?,
    );
    if plain.is_empty() || plain.len() > MAX_DATA_KEY {
        return Err(ApiError::BadRequest(format!(
            "field `key` must be 1 to {MAX_DATA_KEY} bytes"
        )));
    }
    let wrapped = crypto::kms_wrap(&m, &context(&instance_id, &key), &plain)?;
    let mut audit = audit_event(
        Some(&caller.principal.id),
        Action::KmsWrap.as_str(),
        &path,
        Some(&instance_id),
        Outcome::Success,
        200,
    );
    audit.detail = Some(detail(&key, &caller));
    state.store.record_audit(&audit).await?;
    Ok(Json(WrappedKey { wrapped }))
}

/// Unwrap a Parquet data key with a KMS key (Reader, Writer, Manager). Audited.
#[utoipa::path(post, path = "/v3/analytics_engines/{instance_id}/kms/keys/{key}/unwrap", tag = "kms",
    params(("instance_id" = String, Path, description = "Instance id"),
           ("key" = String, Path, description = "KMS key name")),
    request_body = WrappedKey,
    responses((status = 200, description = "Unwrapped", body = UnwrappedKey), ApiErrors))]
pub async fn unwrap(
    State(state): State<AppState>,
    caller: KmsCaller,
    Path((instance_id, key)): Path<(String, String)>,
    body: Body,
) -> Result<Json<UnwrappedKey>, ApiError> {
    let path = format!("{}/{key}/unwrap", keys_path(&instance_id));
    let m = material(
        &state,
        &caller,
        &instance_id,
        &key,
        Action::KmsUnwrap,
        &path,
    )
    .await?;
    let req: WrappedKey = parse_json(&body.0)?;
    let plain = match crypto::kms_unwrap(&m, &context(&instance_id, &key), &req.wrapped) {
        Ok(p) => p,
        Err(StoreError::Integrity(_)) => {
            return Err(state
                .deny(
                    Some(&caller.principal.id),
                    Action::KmsUnwrap.as_str(),
                    &path,
                    Some(&instance_id),
                    ApiError::BadRequest(
                        "field `wrapped` was not wrapped by this key of this instance".into(),
                    ),
                )
                .await)
        }
        Err(e) => return Err(e.into()),
    };
    let mut audit = audit_event(
        Some(&caller.principal.id),
        Action::KmsUnwrap.as_str(),
        &path,
        Some(&instance_id),
        Outcome::Success,
        200,
    );
    audit.detail = Some(detail(&key, &caller));
    state.store.record_audit(&audit).await?;
    Ok(Json(UnwrappedKey {
        key: B64.encode(&*plain),
    }))
}

// ---- Spark applications: the KMS client on the classpath, its settings in the properties file

/// The Java `KmsClient` source (compiled with `javac` against the Spark installation's jars on
/// first use).
const KMS_CLIENT_JAVA: &str = include_str!("../../../../java/kms-client/SparkplaneKmsClient.java");
/// Its class name (`parquet.encryption.kms.client.class`).
pub const KMS_CLIENT_CLASS: &str = "io.sparkplane.kms.SparkplaneKmsClient";
const FACTORY: &str = "spark.hadoop.parquet.crypto.factory.class";
const TOKEN: &str = "spark.hadoop.parquet.encryption.key.access.token";

/// What applications need to reach the KMS: the server's HTTPS URL, the certificate to trust,
/// and the compiled client jar.
pub struct AppKms {
    url: String,
    truststore: std::path::PathBuf,
    spark_jars: std::path::PathBuf,
    build_dir: std::path::PathBuf,
    jar: tokio::sync::OnceCell<Result<std::path::PathBuf, String>>,
}

impl AppKms {
    /// For a server on `listen` (HTTPS with `cert`) running Spark from `spark_home`.
    pub fn new(
        listen: std::net::SocketAddr,
        cert: std::path::PathBuf,
        spark_home: &std::path::Path,
        build_dir: std::path::PathBuf,
    ) -> Self {
        let host = if listen.ip().is_unspecified() {
            "127.0.0.1".to_owned()
        } else if listen.is_ipv6() {
            format!("[{}]", listen.ip())
        } else {
            listen.ip().to_string()
        };
        Self {
            url: format!("https://{host}:{}", listen.port()),
            truststore: cert,
            spark_jars: spark_home.join("jars"),
            build_dir,
            jar: tokio::sync::OnceCell::new(),
        }
    }

    /// The client jar, compiled once per server start.
    async fn jar(&self) -> Result<std::path::PathBuf, ApiError> {
        let (jars, dir) = (self.spark_jars.clone(), self.build_dir.clone());
        self.jar
            .get_or_init(|| async move {
                tokio::task::spawn_blocking(move || compile_client(&jars, &dir))
                    .await
                    .map_err(|e| e.to_string())
                    .and_then(|r| r)
            })
            .await
            .clone()
            .map_err(|e| {
                ApiError::Unavailable(format!("the Parquet KMS client is unavailable: {e}"))
            })
    }
}

fn compile_client(
    spark_jars: &std::path::Path,
    dir: &std::path::Path,
) -> Result<std::path::PathBuf, String> {
    use std::process::Command;
    let src = dir.join("src/io/sparkplane/kms");
    let classes = dir.join("classes");
    let _ = std::fs::remove_dir_all(&classes);
    std::fs::create_dir_all(&src).map_err(|e| e.to_string())?;
    std::fs::create_dir_all(&classes).map_err(|e| e.to_string())?;
    let java = src.join("SparkplaneKmsClient.java");
    std::fs::write(&java, KMS_CLIENT_JAVA).map_err(|e| e.to_string())?;
    let out = Command::new("javac")
        .args(["--release", "17", "-nowarn", "-cp"])
        .arg(format!("{}/*", spark_jars.display()))
        .arg("-d")
        .arg(&classes)
        .arg(&java)
        .output()
        .map_err(|e| format!("javac: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "javac failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let jar = dir.join("sparkplane-kms-client.jar");
    let out = Command::new("jar")
        .arg("cf")
        .arg(&jar)
        .arg("-C")
        .arg(&classes)
        .arg(".")
        .output()
        .map_err(|e| format!("jar: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "jar failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(jar)
}

/// If the application (or its instance's default_config) turns on Parquet modular encryption
/// (`spark.hadoop.parquet.crypto.factory.class`), fill in what reaching the instance's KMS
/// takes — the client class, the KMS URL and instance id, the truststore, the client jar on the
/// driver and executor class paths — and, unless the app set its own, an application KMS
/// token as `parquet.encryption.key.access.token` (see [`app_kms_token`]). The token is a
/// secret conf: the runner writes it only into the 0600 properties file, never argv.
pub async fn fill_app_conf(
    state: &AppState,
    instance: &sparkplane_store::InstanceRecord,
    bearer: Option<&str>,
    app_id: &str,
    files_area: &std::path::Path,
    conf: &mut std::collections::BTreeMap<String, String>,
) -> Result<(), ApiError> {
    if !conf.contains_key(FACTORY) && !instance.default_config.contains_key(FACTORY) {
        return Ok(());
    }
    let Some(kms) = state.kms_apps.as_ref() else {
        return Ok(());
    };
    let jar = kms.jar().await?;
    // Inside the instance's area: the only part of the data dir its sandbox sees.
    let dir = files_area.join(".sparkplane");
    let (jar_dst, cert_dst) = (
        dir.join("sparkplane-kms-client.jar"),
        dir.join("kms-truststore.pem"),
    );
    let (truststore, jd, cd) = (kms.truststore.clone(), jar_dst.clone(), cert_dst.clone());
    tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(jd.parent().unwrap_or(&jd))?;
        std::fs::copy(&jar, &jd)?;
        std::fs::copy(&truststore, &cd)?;
        Ok(())
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?
    .map_err(|e| ApiError::Internal(format!("KMS client files: {e}")))?;
    let set = |conf: &mut std::collections::BTreeMap<String, String>, k: &str, v: String| {
        conf.entry(k.to_owned()).or_insert(v);
    };
    set(
        conf,
        "spark.hadoop.parquet.encryption.kms.client.class",
        KMS_CLIENT_CLASS.to_owned(),
    );
    set(
        conf,
        "spark.hadoop.parquet.encryption.kms.instance.url",
        kms.url.clone(),
    );
    set(
        conf,
        "spark.hadoop.parquet.encryption.kms.instance.id",
        instance.id.clone(),
    );
    set(
        conf,
        "spark.hadoop.sparkplane.kms.truststore",
        cert_dst.display().to_string(),
    );
    for cp in [
        "spark.driver.extraClassPath",
        "spark.executor.extraClassPath",
    ] {
        let j = jar_dst.display().to_string();
        let v = match conf.get(cp).or_else(|| instance.default_config.get(cp)) {
            Some(old) if !old.is_empty() => format!("{old}:{j}"),
            _ => j,
        };
        conf.insert(cp.to_owned(), v);
    }
    if !conf.contains_key(TOKEN) {
        if let Some(t) = bearer.and_then(|b| app_kms_token(state, b, &instance.id, app_id)) {
            conf.insert(TOKEN.to_owned(), t);
        }
    }
    Ok(())
}

/// The KMS token handed to application `app_id` of `instance_id` submitted with bearer token
/// `bearer`: bound to the submitter (and the API key its token came from), the instance and
/// the application; accepted only by that instance's KMS wrap/unwrap routes, with the
/// submitter's role there, until the application reaches a terminal state (or
/// [`sparkplane_iam::APP_KMS_TOKEN_MAX_LIFETIME_SECS`] passes, or the API key is revoked).
/// `None` if `bearer` is not a valid ordinary token.
pub fn app_kms_token(
    state: &AppState,
    bearer: &str,
    instance_id: &str,
    app_id: &str,
) -> Option<String> {
    let claims = state.signer.verify(bearer).ok()?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs();
    let (token, _) = state
        .signer
        .issue_app_kms(
            &claims.sub,
            &claims.kid,
            instance_id,
            app_id,
            i64::try_from(now).ok()?,
            sparkplane_iam::APP_KMS_TOKEN_MAX_LIFETIME_SECS,
        )
        .ok()?;
    Some(token)
}

/// The bearer token of a request (`Authorization: Bearer …`).
pub fn bearer(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}
