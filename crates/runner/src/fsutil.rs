//! Small file-system helpers: durable JSON writes, private directories and files.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::RunnerError;

/// Create `dir` (and parents) and set it to mode 0700.
pub fn private_dir(dir: &Path) -> Result<(), RunnerError> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| RunnerError::io(dir, e))?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(|e| RunnerError::io(dir, e))
}

/// Write `bytes` to `path` durably and atomically with `mode`: write a temp file in the same
/// directory, fsync it, rename it over `path`, fsync the directory.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<(), RunnerError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp.{}", std::process::id()));
    {
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(&tmp)
            .map_err(|e| RunnerError::io(&tmp, e))?;
        f.set_permissions(fs::Permissions::from_mode(mode))
            .map_err(|e| RunnerError::io(&tmp, e))?;
        f.write_all(bytes).map_err(|e| RunnerError::io(&tmp, e))?;
        f.sync_all().map_err(|e| RunnerError::io(&tmp, e))?;
    }
    fs::rename(&tmp, path).map_err(|e| RunnerError::io(path, e))?;
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Write `value` as pretty JSON, durably (0600).
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), RunnerError> {
    let bytes = serde_json::to_vec_pretty(value).map_err(|e| RunnerError::Json {
        path: path.to_owned(),
        source: e,
    })?;
    write_atomic(path, &bytes, 0o600)
}

/// Read JSON from `path`; `Ok(None)` if the file does not exist.
pub fn read_json<T: DeserializeOwned>(path: &Path) -> Result<Option<T>, RunnerError> {
    match fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| RunnerError::Json {
                path: path.to_owned(),
                source: e,
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(RunnerError::io(path, e)),
    }
}

/// 32 random bytes, hex encoded.
pub fn random_hex(bytes: usize) -> Result<String, RunnerError> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| RunnerError::Random(e.to_string()))?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_sets_mode_and_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.json");
        write_json(&p, &vec![1, 2]).unwrap();
        write_json(&p, &vec![3]).unwrap();
        let v: Vec<i32> = read_json(&p).unwrap().unwrap();
        assert_eq!(v, vec![3]);
        let mode = fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1, "no temp left");
        let none: Option<Vec<i32>> = read_json(&dir.path().join("nope")).unwrap();
        assert!(none.is_none());
        assert_eq!(random_hex(16).unwrap().len(), 32);
    }
}
