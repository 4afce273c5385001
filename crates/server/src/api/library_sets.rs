//! Library sets (IBM's `ae.spark.librarysets`): immutable, named bundles of Python packages and
//! jars an instance's Managers build once and applications ask for with
//! `"conf": {"ae.spark.librarysets": "name[,name…]"}`.
//!
//! Code security: Python packages come from PyPI only as pinned wheels with hashes
//! (`pip install --require-hashes --only-binary=:all:`: no build script runs); uploaded wheels
//! and jars (uploaded files of the instance) must match the sha256 given, stay under size
//! limits, and hold no archive path that could escape. The set is built in a temporary
//! directory inside the instance's own area, packed into one tar archive and stored sealed in
//! the object store (`crate::workcopy`); the temporary directory is removed. At submission the
//! sets an app names are unpacked into the instance's working copy
//! (`.sparkplane/library_sets/<name>/`), which only that instance's sandbox sees and which is
//! wiped when the instance has no live application, so sets of one instance are invisible to
//! others. Creating and deleting are Manager-only on purpose (a set is code that runs in every
//! application that names it) and audited.

use std::path::{Component, Path as FsPath, PathBuf};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sparkplane_iam::Action;
use sparkplane_store::{LibrarySetRecord, Outcome, StoreError};

use crate::api::{rfc3339, ApiErrors};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{parse_json, Body};
use crate::state::{audit_event, AppState};
use crate::workcopy::{self, SetObject};

/// The application conf key naming the sets to use.
pub const CONF_KEY: &str = "ae.spark.librarysets";
/// Largest uploaded file of a set.
pub const MAX_FILE_BYTES: u64 = 100 * 1024 * 1024;
/// Largest total of a set's uploaded files.
pub const MAX_TOTAL_BYTES: u64 = 500 * 1024 * 1024;
const MAX_PYTHON: usize = 100;
const MAX_FILES: usize = 50;

/// A file of the instance's area to include, with its expected hash.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LibraryFile {
    /// Path in the instance's files area (uploaded with `PUT …/files/{path}`): a `.whl` or `.jar`.
    #[schema(min_length = 1, max_length = 1024)]
    pub path: String,
    /// Its SHA-256, hex.
    #[schema(min_length = 64, max_length = 64, pattern = "^[0-9a-fA-F]{64}$")]
    pub sha256: String,
}

/// A new library set.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewLibrarySet {
    /// Name: 1–64 of `A-Z a-z 0-9 _ . -`, not starting with `.`.
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = "^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}$"
    )]
    pub name: String,
    /// Python requirements, each `package==version --hash=sha256:<hex>` (pip --require-hashes;
    /// every dependency needs a hash).
    #[serde(default)]
    #[schema(max_items = 100)]
    pub python: Vec<String>,
    /// Wheels and jars from the instance's files area.
    #[serde(default)]
    #[schema(max_items = 50)]
    pub files: Vec<LibraryFile>,
}

/// A library set as answered.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LibrarySetView {
    /// Name.
    pub name: String,
    /// Python requirements as given.
    pub python: Vec<String>,
    /// Files as given.
    pub files: Vec<LibraryFile>,
    /// Jars on the class path (paths in the instance's area).
    pub jars: Vec<String>,
    /// Who created it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    /// Creation time (RFC 3339).
    #[serde(default)]
    pub created_at: String,
}

/// The instance's library sets.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LibrarySetList {
    /// Sets by name.
    pub library_sets: Vec<LibrarySetView>,
}

fn sets_path(instance_id: &str) -> String {
    format!("/v3/analytics_engines/{instance_id}/library_sets")
}

/// A set as kept in the database: the answered view plus the key of its sealed archive
/// (absent for sets imported from data dirs that predate it: [`workcopy::legacy_set_key`]).
#[derive(Serialize, Deserialize)]
struct Stored {
    #[serde(flatten)]
    view: LibrarySetView,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    object: Option<String>,
}

fn object_key(rec: &LibrarySetRecord) -> Result<String, ApiError> {
    let s: Stored = serde_json::from_str(&rec.manifest)
        .map_err(|e| ApiError::Internal(format!("library set manifest: {e}")))?;
    Ok(s.object
        .unwrap_or_else(|| workcopy::legacy_set_key(&rec.instance_id, &rec.name)))
}

fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// `pkg==version --hash=sha256:<64 hex>` (one or more hashes), nothing else (no options, URLs
/// or paths).
fn valid_requirement(r: &str) -> bool {
    let mut parts = r.split_whitespace();
    let Some(spec) = parts.next() else {
        return false;
    };
    let Some((pkg, ver)) = spec.split_once("==") else {
        return false;
    };
    let pkg_ok = !pkg.is_empty()
        && pkg.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'[' | b']' | b',')
        });
    let ver_ok = !ver.is_empty()
        && ver
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'+' | b'!'));
    let mut hashes = 0;
    for p in parts {
        match p.strip_prefix("--hash=sha256:") {
            Some(h) if h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()) => hashes += 1,
            _ => return false,
        }
    }
    pkg_ok && ver_ok && hashes > 0
}

/// Decrypt the set's uploaded files from the object store into `inputs/<n>/<file name>` of the
/// build directory, refusing missing and oversized ones.
async fn fetch_inputs(
    state: &AppState,
    instance_id: &str,
    build_dir: &FsPath,
    files: &[LibraryFile],
) -> Result<Vec<PathBuf>, ApiError> {
    let mut out = Vec::new();
    for (i, f) in files.iter().enumerate() {
        workcopy::check_rel(&f.path).map_err(|_| {
            ApiError::BadRequest(format!(
                "file `{}` is not inside the instance's area",
                f.path
            ))
        })?;
        let key = workcopy::file_key(instance_id, &f.path);
        let not_found = || ApiError::BadRequest(format!("file `{}` not found", f.path));
        let info = state.objects.head(&key).await?.ok_or_else(not_found)?;
        // The sealed size exceeds the plaintext by a header and a tag per 64 KiB.
        if info.stored_size > MAX_FILE_BYTES + MAX_FILE_BYTES / 1024 + 64 {
            return Err(ApiError::BadRequest(format!(
                "file `{}` is larger than {MAX_FILE_BYTES} bytes",
                f.path
            )));
        }
        let name = FsPath::new(&f.path)
            .file_name()
            .map(|n| n.to_owned())
            .ok_or_else(not_found)?;
        let target = build_dir.join("inputs").join(i.to_string()).join(name);
        workcopy::fetch_to(&state.objects, &key, &target)
            .await
            .map_err(|e| match e {
                ApiError::Integrity(d) => ApiError::Integrity(format!("file `{}`: {d}", f.path)),
                e if matches!(&e, ApiError::NotFound(_)) => not_found(),
                other => other,
            })?;
        out.push(target);
    }
    Ok(out)
}

/// Every entry name of a zip archive (wheel, jar) must stay inside the extraction directory.
fn check_archive(path: &FsPath, rel: &str) -> Result<(), ApiError> {
    let f = std::fs::File::open(path)
        .map_err(|e| ApiError::BadRequest(format!("file `{rel}`: {e}")))?;
    let z = zip::ZipArchive::new(f)
        .map_err(|e| ApiError::BadRequest(format!("file `{rel}` is not a valid archive: {e}")))?;
    for name in z.file_names() {
        let p = FsPath::new(name);
        if name.contains('\\')
            || name.contains('\0')
            || p.components()
                .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
        {
            return Err(ApiError::BadRequest(format!(
                "file `{rel}`: archive entry `{name}` would be written outside its directory (refused)"
            )));
        }
    }
    Ok(())
}

fn sha256_file(path: &FsPath) -> std::io::Result<(String, u64)> {
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    let n = std::io::copy(&mut f, &mut h)?;
    Ok((hex_lower(&h.finalize()), n))
}

fn hex_lower(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Build the set into `dir` (created here): check the files (`inputs`, decrypted copies of
/// `new.files` in order), install the wheels and the requirements with pip (binary only,
/// hashes required), copy the jars. Returns the jars' paths relative to the working copy.
fn build(
    python: &FsPath,
    dir: &FsPath,
    rel_dir: &str,
    new: &NewLibrarySet,
    inputs: &[PathBuf],
) -> Result<Vec<String>, ApiError> {
    let mut total = 0u64;
    let mut wheels = Vec::new();
    let mut jars = Vec::new();
    for (f, src) in new.files.iter().zip(inputs) {
        let src = src.clone();
        let meta = std::fs::metadata(&src)
            .map_err(|_| ApiError::BadRequest(format!("file `{}` not found", f.path)))?;
        if !meta.is_file() {
            return Err(ApiError::BadRequest(format!("`{}` is not a file", f.path)));
        }
        if meta.len() > MAX_FILE_BYTES {
            return Err(ApiError::BadRequest(format!(
                "file `{}` is larger than {MAX_FILE_BYTES} bytes",
                f.path
            )));
        }
        total += meta.len();
        if total > MAX_TOTAL_BYTES {
            return Err(ApiError::BadRequest(format!(
                "the set's files are larger than {MAX_TOTAL_BYTES} bytes together"
            )));
        }
        let (got, _) = sha256_file(&src).map_err(|e| ApiError::Internal(e.to_string()))?;
        if !got.eq_ignore_ascii_case(&f.sha256) {
            return Err(ApiError::BadRequest(format!(
                "file `{}`: sha256 is {got}, expected {}: hash mismatch, refused",
                f.path, f.sha256
            )));
        }
        check_archive(&src, &f.path)?;
        let file_name = src
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if file_name.ends_with(".whl") {
            wheels.push(src);
        } else if file_name.ends_with(".jar") {
            jars.push((src, file_name));
        } else {
            return Err(ApiError::BadRequest(format!(
                "file `{}`: only .whl and .jar files can be in a library set",
                f.path
            )));
        }
    }
    let py_dir = dir.join("python");
    let jar_dir = dir.join("jars");
    for d in [dir, &py_dir, &jar_dir] {
        std::fs::create_dir_all(d).map_err(|e| ApiError::Internal(e.to_string()))?;
    }
    let pip = |args: Vec<std::ffi::OsString>| -> Result<(), ApiError> {
        let out = std::process::Command::new(python)
            .args([
                "-m",
                "pip",
                "install",
                "--isolated",
                "--disable-pip-version-check",
            ])
            .args([
                "--no-input",
                "--no-compile",
                "--only-binary=:all:",
                "--target",
            ])
            .arg(&py_dir)
            .args(args)
            .env_remove("PIP_CONFIG_FILE")
            .output()
            .map_err(|e| ApiError::Internal(format!("pip: {e}")))?;
        if out.status.success() {
            Ok(())
        } else {
            let err = String::from_utf8_lossy(&out.stderr);
            let tail: String = err.lines().rev().take(6).collect::<Vec<_>>().join(" | ");
            Err(ApiError::BadRequest(format!("pip refused the set: {tail}")))
        }
    };
    if !wheels.is_empty() {
        let mut a: Vec<std::ffi::OsString> = vec!["--no-index".into(), "--no-deps".into()];
        a.extend(wheels.iter().map(|w| w.clone().into_os_string()));
        pip(a)?;
    }
    if !new.python.is_empty() {
        let req = dir.join("requirements.txt");
        std::fs::write(&req, new.python.join("\n") + "\n")
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        pip(vec![
            "--require-hashes".into(),
            "-r".into(),
            req.into_os_string(),
        ])?;
    }
    let mut rels = Vec::new();
    for (src, name) in jars {
        std::fs::copy(&src, jar_dir.join(&name)).map_err(|e| ApiError::Internal(e.to_string()))?;
        rels.push(format!("{rel_dir}/jars/{name}"));
    }
    Ok(rels)
}

fn view(rec: &LibrarySetRecord) -> Result<LibrarySetView, ApiError> {
    let s: Stored = serde_json::from_str(&rec.manifest)
        .map_err(|e| ApiError::Internal(format!("library set manifest: {e}")))?;
    let mut v = s.view;
    v.created_by = rec.created_by.clone();
    v.created_at = rfc3339(rec.created_at);
    Ok(v)
}

/// Build an immutable library set (Manager). Audited.
#[utoipa::path(post, path = "/v3/analytics_engines/{instance_id}/library_sets", tag = "library_sets",
    params(("instance_id" = String, Path, description = "Instance id")),
    request_body = NewLibrarySet,
    responses((status = 201, description = "Built", body = LibrarySetView),
              (status = 409, description = "A set of that name exists", body = crate::error::ErrorBody),
              ApiErrors))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Path(instance_id): Path<String>,
    body: Body,
) -> Result<(StatusCode, Json<LibrarySetView>), ApiError> {
    let path = sets_path(&instance_id);
    state
        .check_instance(&caller.0, &instance_id, Action::LibrarySetsManage, &path)
        .await?;
    let new: NewLibrarySet = parse_json(&body.0)?;
    if !valid_name(&new.name) {
        return Err(ApiError::BadRequest(
            "field `name` must be 1 to 64 of A-Z a-z 0-9 _ . - (not starting with .)".into(),
        ));
    }
    if new.python.is_empty() && new.files.is_empty() {
        return Err(ApiError::BadRequest(
            "a library set needs `python` requirements or `files`".into(),
        ));
    }
    if new.python.len() > MAX_PYTHON || new.files.len() > MAX_FILES {
        return Err(ApiError::BadRequest(format!(
            "at most {MAX_PYTHON} python requirements and {MAX_FILES} files"
        )));
    }
    for r in &new.python {
        if !valid_requirement(r) {
            return Err(ApiError::BadRequest(format!(
                "python requirement `{r}`: must be `package==version --hash=sha256:<hex>`; every \
                 dependency needs a pinned version and a hash (pip --require-hashes)"
            )));
        }
    }
    if state
        .store
        .library_set(&instance_id, &new.name)
        .await?
        .is_some()
    {
        return Err(ApiError::Conflict(format!(
            "a library set named `{}` exists (sets are immutable)",
            new.name
        )));
    }
    let python = state
        .library_python
        .clone()
        .ok_or_else(|| ApiError::Unavailable("Python for library sets is not configured".into()))?;
    // Built in a temporary directory inside the instance's area (never in the working copy,
    // which the runner may wipe), packed, stored sealed; the directory goes in every case.
    let build_id = uuid::Uuid::new_v4().simple().to_string();
    let staging = state
        .runner_dir
        .join("instances")
        .join(&instance_id)
        .join(format!(".libset-build-{build_id}"));
    let key = workcopy::set_key(&instance_id, &new.name, &build_id);
    let built = build_and_store(&state, &instance_id, python, &staging, &key, new).await;
    let _ = tokio::fs::remove_dir_all(&staging).await;
    let (new, jars) = built?;
    let view = LibrarySetView {
        name: new.name.clone(),
        python: new.python,
        files: new.files,
        jars,
        created_by: Some(caller.0.id.clone()),
        created_at: String::new(),
    };
    let stored = Stored {
        view,
        object: Some(key.clone()),
    };
    let manifest = serde_json::to_string(&stored).map_err(|e| ApiError::Internal(e.to_string()))?;
    let view = stored.view;
    let mut audit = audit_event(
        Some(&caller.0.id),
        Action::LibrarySetsManage.as_str(),
        &format!("{path}/{}", new.name),
        Some(&instance_id),
        Outcome::Success,
        201,
    );
    audit.detail = Some(format!(
        "create library set {} ({} python, {} files)",
        new.name,
        view.python.len(),
        view.files.len()
    ));
    let rec = LibrarySetRecord {
        instance_id: instance_id.clone(),
        name: new.name.clone(),
        manifest,
        created_by: Some(caller.0.id.clone()),
        created_at: audit.time,
    };
    let created = state.store.create_library_set(&rec, &audit).await;
    if !matches!(created, Ok(true)) {
        // Lost a race (or failed): this build's archive belongs to no set.
        if let Err(e) = state.objects.delete(&key).await {
            tracing::warn!(key = %key, error = %e, "deleting an unused library set archive");
        }
    }
    if !created? {
        return Err(ApiError::Conflict(format!(
            "a library set named `{}` exists (sets are immutable)",
            new.name
        )));
    }
    Ok((StatusCode::CREATED, Json(self::view(&rec)?)))
}

/// Fetch the inputs, build (pip), pack and store the set under `key`. Returns the request and
/// the jars' paths.
async fn build_and_store(
    state: &AppState,
    instance_id: &str,
    python: PathBuf,
    staging: &FsPath,
    key: &str,
    new: NewLibrarySet,
) -> Result<(NewLibrarySet, Vec<String>), ApiError> {
    let s = staging.to_owned();
    tokio::task::spawn_blocking(move || {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&s)
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?
    .map_err(|e| ApiError::Internal(format!("{}: {e}", staging.display())))?;
    let inputs = fetch_inputs(state, instance_id, staging, &new.files).await?;
    let (s, rel) = (staging.to_owned(), workcopy::set_rel(&new.name));
    let (new, jars) = tokio::task::spawn_blocking(move || {
        let r = build(&python, &s.join("set"), &rel, &new, &inputs).and_then(|jars| {
            workcopy::pack_set(&s.join("set"), &s.join("set.tar"))
                .map_err(|e| ApiError::Internal(format!("packing the library set: {e}")))?;
            Ok(jars)
        });
        r.map(|jars| (new, jars))
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))??;
    workcopy::store_file(&state.objects, key, &staging.join("set.tar")).await?;
    Ok((new, jars))
}

/// List the instance's library sets (any role).
#[utoipa::path(get, path = "/v3/analytics_engines/{instance_id}/library_sets", tag = "library_sets",
    params(("instance_id" = String, Path, description = "Instance id")),
    responses((status = 200, description = "Sets", body = LibrarySetList), ApiErrors))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(instance_id): Path<String>,
) -> Result<Json<LibrarySetList>, ApiError> {
    let path = sets_path(&instance_id);
    state
        .check_instance(&caller.0, &instance_id, Action::ConfigRead, &path)
        .await?;
    let library_sets = state
        .store
        .library_sets(&instance_id)
        .await?
        .iter()
        .map(view)
        .collect::<Result<_, _>>()?;
    Ok(Json(LibrarySetList { library_sets }))
}

/// One library set (any role).
#[utoipa::path(get, path = "/v3/analytics_engines/{instance_id}/library_sets/{name}", tag = "library_sets",
    params(("instance_id" = String, Path, description = "Instance id"),
           ("name" = String, Path, description = "Set name")),
    responses((status = 200, description = "The set", body = LibrarySetView), ApiErrors))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path((instance_id, name)): Path<(String, String)>,
) -> Result<Json<LibrarySetView>, ApiError> {
    let path = format!("{}/{name}", sets_path(&instance_id));
    state
        .check_instance(&caller.0, &instance_id, Action::ConfigRead, &path)
        .await?;
    match state.store.library_set(&instance_id, &name).await? {
        Some(r) => Ok(Json(view(&r)?)),
        None => Err(ApiError::NotFound(format!(
            "library set `{name}` not found"
        ))),
    }
}

/// Delete a library set (Manager). Audited.
#[utoipa::path(delete, path = "/v3/analytics_engines/{instance_id}/library_sets/{name}", tag = "library_sets",
    params(("instance_id" = String, Path, description = "Instance id"),
           ("name" = String, Path, description = "Set name")),
    responses((status = 204, description = "Deleted"), ApiErrors))]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path((instance_id, name)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let path = format!("{}/{name}", sets_path(&instance_id));
    state
        .check_instance(&caller.0, &instance_id, Action::LibrarySetsManage, &path)
        .await?;
    let mut audit = audit_event(
        Some(&caller.0.id),
        Action::LibrarySetsManage.as_str(),
        &path,
        Some(&instance_id),
        Outcome::Success,
        204,
    );
    audit.detail = Some(format!("delete library set {name}"));
    let key = match state.store.library_set(&instance_id, &name).await? {
        Some(rec) => Some(object_key(&rec)?),
        None => None,
    };
    state
        .store
        .delete_library_set(&instance_id, &name, &audit)
        .await
        .map_err(|e| match e {
            StoreError::NotFound => ApiError::NotFound(format!("library set `{name}` not found")),
            other => other.into(),
        })?;
    // The archive goes; a working copy that holds the set keeps it until its apps end (it is
    // wiped then), and no new app can name it.
    if let Some(key) = key {
        if let Err(e) = state.objects.delete(&key).await {
            if !workcopy::is_not_found(&e) {
                return Err(e.into());
            }
        }
    }
    Ok(StatusCode::NO_CONTENT)
}

/// At submit: put the sets named by `ae.spark.librarysets` (app conf, else the instance's
/// default_config) on the driver's and executors' Python path and class path, as unpacked in
/// the working copy `area`. A set that does not exist IN THIS INSTANCE is refused (400), so one
/// instance cannot use another's. Returns the sets to materialise into the working copy.
pub async fn apply(
    state: &AppState,
    instance: &sparkplane_store::InstanceRecord,
    area: &FsPath,
    details: &mut sparkplane_runner::ApplicationDetails,
) -> Result<Vec<SetObject>, ApiError> {
    let names = match details
        .conf
        .get(CONF_KEY)
        .or_else(|| instance.default_config.get(CONF_KEY))
    {
        Some(v) => v.clone(),
        None => return Ok(Vec::new()),
    };
    let mut sets = Vec::new();
    let mut py_paths = Vec::new();
    for name in names.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let rec = match state.store.library_set(&instance.id, name).await? {
            Some(r) if valid_name(name) => r,
            _ => {
                return Err(ApiError::BadRequest(format!(
                    "conf `{CONF_KEY}`: library set `{name}` not found in this instance"
                )))
            }
        };
        let v = view(&rec)?;
        sets.push(SetObject {
            name: name.to_owned(),
            key: object_key(&rec)?,
        });
        py_paths.push(
            area.join(workcopy::set_rel(name))
                .join("python")
                .display()
                .to_string(),
        );
        details.jars.extend(v.jars);
    }
    if py_paths.is_empty() {
        return Ok(sets);
    }
    let join = |old: Option<&String>| {
        let mut v = py_paths.clone();
        if let Some(o) = old.filter(|o| !o.is_empty()) {
            v.push(o.clone());
        }
        v.join(":")
    };
    let env = join(details.env.get("PYTHONPATH"));
    details.env.insert("PYTHONPATH".into(), env);
    let key = "spark.executorEnv.PYTHONPATH";
    let exec = join(
        details
            .conf
            .get(key)
            .or_else(|| instance.default_config.get(key)),
    );
    details.conf.insert(key.into(), exec);
    Ok(sets)
}
