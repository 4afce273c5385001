//! Uploaded files and built library sets at rest, and the instance's **working copy**.
//!
//! At rest, an instance's uploaded files are objects `instances/<id>/files/<path>` and each
//! library set is one tar archive `instances/<id>/library_sets/<name>/<build>.tar` in the
//! encrypted object store (sealed with the instance's data key, the object key bound as
//! associated data; see `sparkplane_store::crypto`). Nothing of them stays in plaintext on disk.
//!
//! Apps need real files, so before a submission the server pins the instance's working copy
//! (`<runner>/instances/<id>/files/`, [`sparkplane_runner::WorkareaPin`]) and [`materialise`]s
//! into it every stored file of the instance and the library sets the app names (skipping what
//! is already there in the same version). The runner wipes the working copy as soon as the
//! instance has no live application and no pin (see `sparkplane_runner`'s `workarea` module).
//!
//! [`import_legacy`] moves the plaintext files and built sets of data dirs from before this
//! into the store at start.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex};

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use sparkplane_store::{Objects, Store, StoreError};
use tokio::io::AsyncWriteExt;

use crate::error::ApiError;
use crate::state::AppState;

/// The working copy's directory of server-owned things (library sets, KMS client files, the
/// materialisation manifest). Uploads may not write into it.
pub const RESERVED_DIR: &str = ".sparkplane";
/// Where a set is unpacked in the working copy (relative to it).
pub fn set_rel(name: &str) -> String {
    format!("{RESERVED_DIR}/library_sets/{name}")
}
const MANIFEST: &str = ".sparkplane/materialised.json";
/// Where `application = "s3://…"` copies go (working copy only, never stored).
const FETCHED_DIR: &str = "_fetched";

/// Object key prefix of an instance's uploaded files.
pub fn files_prefix(instance_id: &str) -> String {
    format!("instances/{instance_id}/files")
}

/// Object key of an uploaded file.
pub fn file_key(instance_id: &str, rel: &str) -> String {
    format!("{}/{rel}", files_prefix(instance_id))
}

/// Object key of a library set's archive (`build` makes every build's key unique).
pub fn set_key(instance_id: &str, name: &str, build: &str) -> String {
    format!("instances/{instance_id}/library_sets/{name}/{build}.tar")
}

/// Object key of a set imported from an old data dir.
pub fn legacy_set_key(instance_id: &str, name: &str) -> String {
    set_key(instance_id, name, "imported")
}

/// `rel` as a relative path of normal components (no `..`, no `.`, no empty part, no absolute
/// part, no NUL: one spelling per file, as object key and as working-copy path), at most 1024
/// bytes, not in the reserved directory.
pub fn check_rel(rel: &str) -> Result<(), ApiError> {
    let p = Path::new(rel);
    let ok = !rel.is_empty()
        && rel.len() <= 1024
        && !rel.contains('\0')
        && rel.split('/').all(|part| !matches!(part, "" | "." | ".."))
        && p.components().all(|c| matches!(c, Component::Normal(_)))
        && p.components().next() != Some(Component::Normal(RESERVED_DIR.as_ref()));
    if ok {
        Ok(())
    } else {
        Err(ApiError::BadRequest(format!(
            "path `{rel}` is not inside the instance's area (or is in the reserved `{RESERVED_DIR}/`)"
        )))
    }
}

/// `rel` inside `dir`, refusing a symlink on the way (it could point out of the working copy).
fn in_dir(dir: &Path, rel: &str) -> Result<PathBuf, ApiError> {
    let mut cur = dir.to_path_buf();
    for c in Path::new(rel).components() {
        cur.push(c);
        if std::fs::symlink_metadata(&cur).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(ApiError::BadRequest(format!(
                "path `{rel}` is not inside the instance's area"
            )));
        }
    }
    Ok(cur)
}

/// Whether a store error says the object does not exist.
pub fn is_not_found(e: &StoreError) -> bool {
    matches!(
        e,
        StoreError::NotFound | StoreError::Objects(object_store::Error::NotFound { .. })
    )
}

/// A store error as an API error, a missing object as 404.
pub fn api_err(e: StoreError) -> ApiError {
    if is_not_found(&e) {
        ApiError::NotFound("not found".into())
    } else {
        e.into()
    }
}

fn io(what: &Path, e: impl std::fmt::Display) -> ApiError {
    ApiError::Internal(format!("{}: {e}", what.display()))
}

/// Stream a stored object into `target` (0600), through a temp file renamed into place only
/// once the whole object verified. Returns the plaintext size.
pub async fn fetch_to(objects: &Objects, key: &str, target: &Path) -> Result<u64, ApiError> {
    let parent = target.parent().unwrap_or(target);
    tokio::fs::create_dir_all(parent)
        .await
        .map_err(|e| io(parent, e))?;
    let tmp = parent.join(format!(".fetch-{}", uuid::Uuid::new_v4().simple()));
    let res = async {
        let mut stream = objects.get_stream(key).await.map_err(api_err)?;
        let mut f = tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .await
            .map_err(|e| io(&tmp, e))?;
        let mut n = 0u64;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk?;
            n += chunk.len() as u64;
            f.write_all(&chunk).await.map_err(|e| io(&tmp, e))?;
        }
        f.flush().await.map_err(|e| io(&tmp, e))?;
        drop(f);
        tokio::fs::rename(&tmp, target)
            .await
            .map_err(|e| io(target, e))?;
        Ok::<u64, ApiError>(n)
    }
    .await;
    if res.is_err() {
        let _ = tokio::fs::remove_file(&tmp).await;
    }
    res
}

/// What was materialised into a working copy, by version (the manifest file).
#[derive(Debug, Default, Serialize, Deserialize)]
struct Manifest {
    /// File path → (stored version, plaintext size).
    #[serde(default)]
    files: BTreeMap<String, (String, u64)>,
    /// Set name → object key + stored version.
    #[serde(default)]
    sets: BTreeMap<String, String>,
}

/// One materialisation at a time per instance (their manifest and renames would race).
static LOCKS: LazyLock<Mutex<BTreeMap<String, Arc<tokio::sync::Mutex<()>>>>> =
    LazyLock::new(|| Mutex::new(BTreeMap::new()));

fn instance_lock(instance_id: &str) -> Arc<tokio::sync::Mutex<()>> {
    LOCKS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .entry(instance_id.to_owned())
        .or_default()
        .clone()
}

/// A library set to put into the working copy: its name and object key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetObject {
    /// Set name.
    pub name: String,
    /// Object key of its archive.
    pub key: String,
}

/// Decrypt the instance's stored files and the `sets` into the working copy `dir` (pinned by
/// the caller), skipping what is there in the same version. A stored file or set that fails
/// authentication fails the whole call with an integrity error and is never written.
pub async fn materialise(
    objects: &Objects,
    instance_id: &str,
    dir: &Path,
    sets: &[SetObject],
) -> Result<(), ApiError> {
    let lock = instance_lock(instance_id);
    let _guard = lock.lock().await;
    let manifest_path = dir.join(MANIFEST);
    let mut manifest: Manifest = match tokio::fs::read(&manifest_path).await {
        Ok(b) => serde_json::from_slice(&b).unwrap_or_default(),
        Err(_) => Manifest::default(),
    };
    let prefix = files_prefix(instance_id);
    for obj in objects.list(&prefix).await? {
        let Some(rel) = obj
            .key
            .strip_prefix(&prefix)
            .map(|r| r.trim_start_matches('/'))
        else {
            continue;
        };
        if check_rel(rel).is_err() {
            tracing::warn!(key = %obj.key, "skipping a stored file with an unusable path");
            continue;
        }
        let target = in_dir(dir, rel)?;
        if let Some((version, size)) = manifest.files.get(rel) {
            let same = tokio::fs::metadata(&target)
                .await
                .is_ok_and(|m| m.is_file() && m.len() == *size);
            if same && *version == obj.version {
                continue;
            }
        }
        let n = fetch_to(objects, &obj.key, &target)
            .await
            .map_err(|e| match e {
                ApiError::Integrity(d) => {
                    ApiError::Integrity(format!("stored file `{rel}` of the instance: {d}"))
                }
                other => other,
            })?;
        manifest.files.insert(rel.to_owned(), (obj.version, n));
    }
    let sets_dir = dir.join(RESERVED_DIR).join("library_sets");
    for set in sets {
        let info = objects.head(&set.key).await?.ok_or_else(|| {
            ApiError::Internal(format!(
                "library set `{}`: its stored archive is missing",
                set.name
            ))
        })?;
        let version = format!("{}#{}", set.key, info.version);
        let target = sets_dir.join(&set.name);
        if manifest.sets.get(&set.name) == Some(&version) && target.is_dir() {
            continue;
        }
        let tag = uuid::Uuid::new_v4().simple().to_string();
        let tar_path = sets_dir.join(format!(".unpack-{tag}.tar"));
        let fetched = fetch_to(objects, &set.key, &tar_path).await;
        if let Err(e) = fetched {
            return Err(match e {
                ApiError::Integrity(d) => {
                    ApiError::Integrity(format!("library set `{}`: {d}", set.name))
                }
                other => other,
            });
        }
        let unpack_dir = sets_dir.join(format!(".unpack-{tag}"));
        let (t, u, tp) = (target.clone(), unpack_dir.clone(), tar_path.clone());
        let res = tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            crate::fsutil::create_private_dirs(&u)?;
            let mut a = tar::Archive::new(std::fs::File::open(&tp)?);
            a.set_preserve_permissions(false);
            a.set_unpack_xattrs(false);
            a.unpack(&u)?;
            match std::fs::remove_dir_all(&t) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
            std::fs::rename(&u, &t)
        })
        .await
        .map_err(|e| ApiError::Internal(e.to_string()));
        let _ = tokio::fs::remove_file(&tar_path).await;
        if !matches!(res, Ok(Ok(()))) {
            let _ = tokio::fs::remove_dir_all(&unpack_dir).await;
        }
        res?.map_err(|e| io(&target, e))?;
        manifest.sets.insert(set.name.clone(), version);
    }
    let bytes = serde_json::to_vec(&manifest).map_err(|e| ApiError::Internal(e.to_string()))?;
    let mp = manifest_path.clone();
    tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        if let Some(p) = mp.parent() {
            crate::fsutil::create_private_dirs(p)?;
        }
        let tmp = mp.with_extension(format!("tmp{}", std::process::id()));
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(&bytes)?;
        std::fs::rename(&tmp, &mp)
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?
    .map_err(|e| io(&manifest_path, e))?;
    Ok(())
}

/// Delete every stored file and library-set archive of a (deleted) instance.
pub async fn delete_instance_objects(
    objects: &Objects,
    instance_id: &str,
) -> Result<usize, ApiError> {
    let mut n = 0;
    for prefix in [
        files_prefix(instance_id),
        format!("instances/{instance_id}/library_sets"),
    ] {
        for obj in objects.list(&prefix).await? {
            match objects.delete(&obj.key).await {
                Ok(()) => n += 1,
                Err(e) if is_not_found(&e) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(n)
}

/// Remove an uploaded file from the working copy, if it is there (after a DELETE).
pub async fn forget(dir: &Path, rel: &str) -> Result<(), ApiError> {
    let target = in_dir(dir, rel)?;
    match tokio::fs::remove_file(&target).await {
        Ok(()) => Ok(()),
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::IsADirectory
            ) || target.is_dir() =>
        {
            Ok(())
        }
        Err(e) => Err(io(&target, e)),
    }
}

/// Pack a built set (`python/` and `jars/` under `dir`) into the tar file `out`. Symlinks are
/// stored as links, never followed.
pub fn pack_set(dir: &Path, out: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(out)?;
    let mut b = tar::Builder::new(f);
    b.follow_symlinks(false);
    for sub in ["python", "jars"] {
        let p = dir.join(sub);
        if p.is_dir() {
            b.append_dir_all(sub, &p)?;
        }
    }
    b.into_inner()?.sync_all()
}

/// Store a packed set file under `key` (streamed, sealed).
pub async fn store_file(objects: &Objects, key: &str, file: &Path) -> Result<u64, ApiError> {
    let f = tokio::fs::File::open(file).await.map_err(|e| io(file, e))?;
    Ok(objects.put_stream(key, f).await?)
}

/// Every regular file under `dir` (relative paths), not following symlinks.
fn walk(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(dir.join(&rel)) else {
            continue;
        };
        for e in rd.flatten() {
            let Ok(ft) = e.file_type() else { continue };
            let r = rel.join(e.file_name());
            if ft.is_dir() {
                stack.push(r);
            } else if ft.is_file() {
                if let Some(s) = r.to_str() {
                    out.push(s.to_owned());
                }
            }
        }
    }
    out.sort();
    out
}

/// At start: move the plaintext uploads and built library sets of data dirs from before
/// encryption of files at rest into the object store, then remove them (an instance with live
/// apps keeps them as its working copy, wiped when they end). Failures are logged; files that
/// could not be stored are left where they are.
pub async fn import_legacy(
    runner_dir: &Path,
    objects: &Objects,
    store: &Store,
    runner: Option<&sparkplane_runner::Runner>,
) {
    let Ok(rd) = std::fs::read_dir(runner_dir.join("instances")) else {
        return;
    };
    for e in rd.flatten() {
        let Some(id) = e.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        let files = e.path().join("files");
        if files.join(sparkplane_runner::WORKAREA_MARKER).exists() {
            continue; // A working copy, not legacy data.
        }
        let all = walk(&files);
        if all.is_empty() {
            continue;
        }
        match import_instance(&id, &files, &all, objects, store).await {
            Ok((n, sets)) => {
                tracing::info!(instance = %id, files = n, library_sets = sets,
                    "imported plaintext files into the encrypted object store")
            }
            Err(err) => {
                tracing::warn!(instance = %id, error = %err,
                    "importing plaintext files into the object store failed; they stay for now");
                continue;
            }
        }
        // Live apps may be using them: let the runner wipe them as a working copy.
        let live = runner.and_then(|r| {
            r.list(&id, None)
                .ok()
                .map(|l| l.iter().any(|a| !a.state().is_terminal()))
        });
        if live == Some(true) {
            if let Some(Err(err)) = runner.map(|r| r.pin_workarea(&id).map(drop)) {
                tracing::warn!(instance = %id, error = %err, "marking the working copy");
            }
            continue;
        }
        if let Err(err) = clear_dir(&files) {
            tracing::warn!(instance = %id, error = %err, "removing imported plaintext files");
        }
    }
}

/// Import one instance's legacy files; returns (files, sets) stored.
async fn import_instance(
    id: &str,
    files: &Path,
    all: &[String],
    objects: &Objects,
    store: &Store,
) -> Result<(usize, usize), ApiError> {
    let mut n = 0;
    let mut set_names = std::collections::BTreeSet::new();
    let sets_rel = format!("{RESERVED_DIR}/library_sets/");
    for rel in all {
        if let Some(rest) = rel.strip_prefix(&sets_rel) {
            if let Some((name, _)) = rest.split_once('/') {
                if !name.starts_with('.') {
                    set_names.insert(name.to_owned());
                }
            }
            continue;
        }
        if rel.starts_with(&format!("{RESERVED_DIR}/"))
            || rel.starts_with(&format!("{FETCHED_DIR}/"))
        {
            continue; // KMS client files, fetched applications: nothing to keep.
        }
        if check_rel(rel).is_err() {
            continue;
        }
        store_file(objects, &file_key(id, rel), &files.join(rel)).await?;
        n += 1;
    }
    let mut sets = 0;
    for name in set_names {
        if store.library_set(id, &name).await?.is_none() {
            continue;
        }
        let key = legacy_set_key(id, &name);
        if objects.head(&key).await?.is_some() {
            continue;
        }
        let tar = files
            .parent()
            .unwrap_or(files)
            .join(format!(".import-{}.tar", uuid::Uuid::new_v4().simple()));
        let (d, t) = (files.join(set_rel(&name)), tar.clone());
        let packed = tokio::task::spawn_blocking(move || pack_set(&d, &t))
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?
            .map_err(|e| io(&tar, e));
        let stored = match packed {
            Ok(()) => store_file(objects, &key, &tar).await.map(drop),
            Err(e) => Err(e),
        };
        let _ = std::fs::remove_file(&tar);
        stored?;
        sets += 1;
    }
    Ok((n, sets))
}

/// Empty `dir` (rename it away first, so a crash leaves no half-deleted tree under its name).
fn clear_dir(dir: &Path) -> std::io::Result<()> {
    let trash = dir.with_file_name(format!(".files-wipe-{}", uuid::Uuid::new_v4().simple()));
    std::fs::rename(dir, &trash)?;
    crate::fsutil::create_private_dirs(dir)?;
    std::fs::remove_dir_all(&trash)
}

/// The instance's working copy directory (same path the runner resolves `application` in).
pub fn working_copy(state: &AppState, instance_id: &str) -> PathBuf {
    state
        .runner_dir
        .join("instances")
        .join(instance_id)
        .join("files")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_only_and_the_reserved_dir_is_refused() {
        for bad in [
            "../x",
            "/etc/passwd",
            "a/../../b",
            "",
            "./a",
            "a/./b",
            "a//b",
            "a/",
            ".sparkplane/library_sets/x/python/evil.py",
            ".sparkplane",
        ] {
            assert!(check_rel(bad).is_err(), "{bad}");
        }
        for ok in ["a.py", "jobs/x.whl", "x/.sparkplane/y", "_fetched/a"] {
            assert!(check_rel(ok).is_ok(), "{ok}");
        }
        let t = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink("/etc", t.path().join("link")).unwrap();
        assert!(in_dir(t.path(), "link/passwd").is_err());
    }

    #[test]
    fn pack_keeps_links_as_links() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path().join("set");
        std::fs::create_dir_all(d.join("python/pkg")).unwrap();
        std::fs::write(d.join("python/pkg/__init__.py"), "X = 1\n").unwrap();
        std::os::unix::fs::symlink("/etc/hostname", d.join("python/link")).unwrap();
        let out = t.path().join("s.tar");
        pack_set(&d, &out).unwrap();
        let mut a = tar::Archive::new(std::fs::File::open(&out).unwrap());
        let kinds: Vec<(String, bool)> = a
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (
                    e.path().unwrap().display().to_string(),
                    e.header().entry_type().is_symlink(),
                )
            })
            .collect();
        assert!(
            kinds.contains(&("python/pkg/__init__.py".into(), false)),
            "{kinds:?}"
        );
        assert!(kinds.contains(&("python/link".into(), true)), "{kinds:?}");
    }
}
