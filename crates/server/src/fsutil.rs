//! Files holding secrets: created with mode 0600, directories 0700.

use std::os::unix::fs::DirBuilderExt;
use std::path::Path;

use crate::ServerError;

fn io(path: &Path, e: std::io::Error) -> ServerError {
    ServerError::Io(format!("{}: {e}", path.display()))
}

/// Create a directory and its missing parents with mode 0700 (an existing one is left as is).
pub fn create_private_dirs(path: &Path) -> std::io::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
}

/// Create a directory (and parents) with mode 0700 if missing.
pub fn ensure_private_dir(path: &Path) -> Result<(), ServerError> {
    if !path.exists() {
        create_private_dirs(path).map_err(|e| io(path, e))?;
    }
    Ok(())
}

/// Atomically write a 0600 file (temporary file + fsync + rename): the store's
/// [`sparkplane_store::crypto::write_private`], with the server's error.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<(), ServerError> {
    sparkplane_store::crypto::write_private(path, bytes).map_err(|e| ServerError::Io(e.to_string()))
}
