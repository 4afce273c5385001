//! Encryption at rest in the server: the master key file (and a rotation left half-way), the
//! sealed token-signing key and TLS private key in the data dir. The mechanism itself lives in
//! [`sparkplane_store::crypto`].

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rand::RngCore;
use sparkplane_store::{Keyring, MasterKey, Store, StoreError};

use crate::ServerError;

/// `<master key file>.new`: a rotated key staged before the database commit.
pub fn pending_path(master: &Path) -> PathBuf {
    let mut name = master.file_name().unwrap_or_default().to_os_string();
    name.push(".new");
    master.with_file_name(name)
}

/// Open the database with the master key (generated on first start). If a rotation was
/// interrupted after staging the new key, whichever key the data keys are wrapped by wins and
/// the files are put in order.
pub async fn open_store(
    url: &str,
    given: Option<&Path>,
    data_dir: &Path,
) -> Result<(Store, PathBuf), ServerError> {
    let (master, path) = MasterKey::load_or_create(given, data_dir)?;
    let pending = pending_path(&path);
    match Store::open_encrypted(url, master).await {
        Ok(store) => {
            if pending.exists() {
                // The rotation never committed: the staged key is unused.
                let _ = std::fs::remove_file(&pending);
            }
            Ok((store, path))
        }
        Err(StoreError::Config(msg)) if pending.exists() => {
            let new = MasterKey::load(&pending)?;
            let store = Store::open_encrypted(url, new).await.map_err(|e| {
                ServerError::Config(format!("{msg}; the staged rotated key fails too: {e}"))
            })?;
            std::fs::rename(&pending, &path)
                .map_err(|e| ServerError::Io(format!("{}: {e}", path.display())))?;
            tracing::info!("completed an interrupted master key rotation");
            Ok((store, path))
        }
        Err(e) => Err(e.into()),
    }
}

/// Rotate the master key while serving: generate a new key, stage it next to the current
/// file, re-wrap every data key in one transaction (with `audit`), then replace the file.
pub async fn rotate(
    store: &Store,
    master_file: &Path,
    audit: &sparkplane_store::AuditEvent,
) -> Result<(usize, String), ServerError> {
    let pending = pending_path(master_file);
    let new = MasterKey::generate();
    let id = new.id();
    let n = store
        .rotate_master_key(new, |k| k.write_to(&pending), audit)
        .await?;
    std::fs::rename(&pending, master_file)
        .map_err(|e| ServerError::Io(format!("{}: {e}", master_file.display())))?;
    Ok((n, id))
}

fn keyring(store: &Store) -> Result<&Arc<Keyring>, ServerError> {
    store
        .keyring()
        .ok_or_else(|| ServerError::Config("encryption at rest is not enabled".into()))
}

/// The token-signing key: sealed in the data dir (created on first start; a plaintext key from
/// before encryption at rest is sealed in place).
pub async fn load_or_create_signing_key(
    store: &Store,
    path: &Path,
) -> Result<Vec<u8>, ServerError> {
    let k = keyring(store)?;
    match k.open_file(path, true)? {
        Some(c) if c.bytes.len() < 32 => Err(ServerError::Iam(format!(
            "{}: key shorter than 32 bytes",
            path.display()
        ))),
        Some(c) => {
            if c.was_plain {
                k.seal_file(path, &c.bytes).await?;
            }
            Ok(c.bytes.to_vec())
        }
        None => {
            let mut key = vec![0u8; 64];
            rand::rngs::OsRng.fill_bytes(&mut key);
            k.seal_file(path, &key).await?;
            Ok(key)
        }
    }
}

/// The PEM of the TLS private key: a key generated into the data dir is sealed there (and
/// sealed in place if it is still plaintext); a key file given by the operator is read as is.
pub async fn tls_key_pem(
    store: &Store,
    path: &Path,
    in_data_dir: bool,
) -> Result<Vec<u8>, ServerError> {
    if !in_data_dir {
        return std::fs::read(path)
            .map_err(|e| ServerError::Tls(format!("{}: {e}", path.display())));
    }
    let k = keyring(store)?;
    let c = k
        .open_file(path, true)?
        .ok_or_else(|| ServerError::Tls(format!("{}: missing", path.display())))?;
    if c.was_plain {
        k.seal_file(path, &c.bytes).await?;
    }
    Ok(c.bytes.to_vec())
}
