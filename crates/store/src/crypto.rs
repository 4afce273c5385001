//! Envelope encryption at rest (AES-256-GCM).
//!
//! * A **master key** (32 bytes) lives outside the database: `--master-key-file`, or a file
//!   generated into the data dir with mode 0600 on first start ([`MasterKey::load_or_create`]).
//! * A **data key** per scope — one per instance (`instance/<id>`) and one for platform-level
//!   objects (`platform`) — is generated on first use, wrapped (AES-256-GCM) by the master key
//!   and stored in the `data_keys` table. Rotating the master key re-wraps the data keys only;
//!   no object has to be re-encrypted ([`Keyring::rotate_master`]).
//! * **Objects** are sealed with the data key of their scope in 64 KiB segments with the STREAM
//!   construction (`aead::stream`, big-endian 32-bit counter + last-segment flag in the nonce):
//!   memory stays bounded for large objects, and reordering, truncation or extension of
//!   segments fails authentication. The scope and the object key are bound as associated data
//!   of every segment, so an object copied or swapped to another key (or instance) fails.
//! * **Values** (secrets and user text in DB columns, small secret files) are sealed as one
//!   AES-256-GCM message bound to a scope and a context string ([`Keyring::seal_value`]).
//!
//! Every authentication failure is reported as [`StoreError::Integrity`]; no byte of a
//! message whose tag did not verify is returned (for streams: no byte of a segment that did not
//! verify).

use std::collections::HashMap;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use aes_gcm::aead::stream::{DecryptorBE32, EncryptorBE32};
use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use rand_core::RngCore;
use sha2::{Digest, Sha256};
use sqlx::{AnyPool, Row};
pub use zeroize::Zeroizing;

use crate::StoreError;

/// Plaintext bytes per object segment.
pub const SEGMENT: usize = 64 * 1024;
const TAG: usize = 16;
/// Size of an encrypted segment (plaintext + GCM tag).
const CT_SEGMENT: usize = SEGMENT + TAG;
/// Nonce prefix of the STREAM construction for a 96-bit nonce: 12 - 4 (counter) - 1 (flag).
const NONCE_PREFIX: usize = 7;
/// `SPKE` + version + flags + segment size (u32 BE) + nonce prefix.
pub const HEADER_LEN: usize = 4 + 1 + 1 + 4 + NONCE_PREFIX;
const MAGIC: &[u8; 4] = b"SPKE";
const VERSION: u8 = 1;
/// Prefix of sealed values (base64 text).
pub const VALUE_PREFIX: &str = "spk1:";
/// Magic of sealed files.
const FILE_MAGIC: &[u8; 5] = b"SPKF1";

/// The scope of platform-level objects and values.
pub const PLATFORM: &str = "platform";

fn integrity(what: impl std::fmt::Display) -> StoreError {
    StoreError::Integrity(what.to_string())
}

fn io_err(path: &Path, e: std::io::Error) -> StoreError {
    StoreError::Config(format!("{}: {e}", path.display()))
}

/// The key scope of an object key: `instances/<id>/…` → `instance/<id>`, else `platform`.
pub fn scope_of_object(key: &str) -> String {
    let mut parts = key.split('/').filter(|s| !s.is_empty());
    match (parts.next(), parts.next()) {
        (Some("instances"), Some(id)) => instance_scope(id),
        _ => PLATFORM.to_owned(),
    }
}

/// The scope of an instance's data key.
pub fn instance_scope(instance_id: &str) -> String {
    format!("instance/{instance_id}")
}

/// The 256-bit master key. Never stored in the database.
pub struct MasterKey(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MasterKey({})", self.id())
    }
}

impl MasterKey {
    /// A fresh random key.
    pub fn generate() -> Self {
        let mut k = Zeroizing::new([0u8; 32]);
        OsRng.fill_bytes(k.as_mut());
        Self(k)
    }

    /// From 32 raw bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// Parse a key file: 64 hex digits or base64 of 32 bytes (surrounding whitespace ignored),
    /// or exactly 32 raw bytes.
    pub fn parse(bytes: &[u8]) -> Result<Self, StoreError> {
        let bad = || {
            StoreError::Config(
                "master key must be 64 hex digits, base64 of 32 bytes, or 32 raw bytes".into(),
            )
        };
        let text = std::str::from_utf8(bytes).map(str::trim).unwrap_or("");
        let decoded = Zeroizing::new(if text.len() == 64 {
            hex::decode(text).map_err(|_| bad())?
        } else if !text.is_empty() && bytes.len() != 32 {
            B64.decode(text).map_err(|_| bad())?
        } else {
            bytes.to_vec()
        });
        let arr: [u8; 32] = decoded.as_slice().try_into().map_err(|_| bad())?;
        Ok(Self::from_bytes(arr))
    }

    /// Read a key file (it must not be readable by group or others).
    pub fn load(path: &Path) -> Result<Self, StoreError> {
        let meta = std::fs::metadata(path).map_err(|e| io_err(path, e))?;
        if meta.permissions().mode() & 0o077 != 0 {
            return Err(StoreError::Config(format!(
                "{}: master key file must not be accessible by group or others (chmod 600)",
                path.display()
            )));
        }
        let bytes = Zeroizing::new(std::fs::read(path).map_err(|e| io_err(path, e))?);
        Self::parse(&bytes)
    }

    /// `given` if set (it must exist), else `<data_dir>/master-key`, generated (0600) if missing.
    /// Returns the key and the file it lives in.
    pub fn load_or_create(
        given: Option<&Path>,
        data_dir: &Path,
    ) -> Result<(Self, PathBuf), StoreError> {
        if let Some(p) = given {
            return Ok((Self::load(p)?, p.to_path_buf()));
        }
        let path = data_dir.join(MASTER_KEY_FILE);
        if path.exists() {
            return Ok((Self::load(&path)?, path));
        }
        let key = Self::generate();
        key.write_to(&path)?;
        Ok((key, path))
    }

    /// Write the key as hex to a new 0600 file (atomically: temporary file + rename).
    pub fn write_to(&self, path: &Path) -> Result<(), StoreError> {
        let text = Zeroizing::new(format!("{}\n", hex::encode(self.0.as_ref())));
        write_private(path, text.as_bytes())
    }

    /// A short public identifier (not secret: a hash of the key), stored next to wrapped keys
    /// to say which master key wrapped them.
    pub fn id(&self) -> String {
        let mut h = Sha256::new();
        h.update(b"sparkplane/master-key-id/v1\0");
        h.update(self.0.as_ref());
        hex::encode(&h.finalize()[..8])
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(self.0.as_ref()))
    }
}

/// File name of the generated master key in the data dir.
pub const MASTER_KEY_FILE: &str = "master-key";

/// Atomically write a 0600 file (temporary file + fsync + rename).
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let tmp = path.with_extension("tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| io_err(&tmp, e))?;
    f.write_all(bytes).map_err(|e| io_err(&tmp, e))?;
    f.sync_all().map_err(|e| io_err(&tmp, e))?;
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| io_err(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| io_err(path, e))?;
    Ok(())
}

/// An unwrapped data key.
struct DataKey(Zeroizing<[u8; 32]>);

impl DataKey {
    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(self.0.as_ref()))
    }

    /// A subkey for keyed hashes (blind indexes), derived so it never equals the AEAD key.
    fn mac(&self, context: &str) -> Hmac<Sha256> {
        let mut derive = <Hmac<Sha256> as Mac>::new_from_slice(self.0.as_ref())
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        derive.update(b"sparkplane/blind-index/v1");
        let sub = derive.finalize().into_bytes();
        let mut m = <Hmac<Sha256> as Mac>::new_from_slice(&sub)
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        m.update(context.as_bytes());
        m.update(b"\0");
        m
    }
}

fn wrap_aad(scope: &str) -> Vec<u8> {
    [b"sparkplane/data-key/v1\0".as_slice(), scope.as_bytes()].concat()
}

fn value_aad(scope: &str, context: &str) -> Vec<u8> {
    [
        b"sparkplane/value/v1\0".as_slice(),
        scope.as_bytes(),
        b"\0",
        context.as_bytes(),
    ]
    .concat()
}

fn object_aad(scope: &str, key: &str, header: &[u8]) -> Vec<u8> {
    [
        b"sparkplane/object/v1\0".as_slice(),
        scope.as_bytes(),
        b"\0",
        key.as_bytes(),
        b"\0",
        header,
    ]
    .concat()
}

/// Seal `plain` as `nonce || ciphertext+tag`.
fn seal_raw(cipher: &Aes256Gcm, plain: &[u8], aad: &[u8]) -> Result<Vec<u8>, StoreError> {
    let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
    let ct = cipher
        .encrypt(&nonce, Payload { msg: plain, aad })
        .map_err(|_| integrity("encryption failed"))?;
    Ok([nonce.as_slice(), &ct].concat())
}

fn open_raw(
    cipher: &Aes256Gcm,
    sealed: &[u8],
    aad: &[u8],
    what: &str,
) -> Result<Zeroizing<Vec<u8>>, StoreError> {
    if sealed.len() < 12 + TAG {
        return Err(integrity(format!("{what}: sealed value too short")));
    }
    let (n, ct) = sealed.split_at(12);
    cipher
        .decrypt(Nonce::from_slice(n), Payload { msg: ct, aad })
        .map(Zeroizing::new)
        .map_err(|_| {
            integrity(format!(
                "{what}: authentication failed (tampered, moved, or sealed with another key)"
            ))
        })
}

/// Master key + data keys: everything that encrypts at rest.
pub struct Keyring {
    pool: AnyPool,
    master: RwLock<MasterKey>,
    keys: RwLock<HashMap<String, Arc<DataKey>>>,
    create: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring")
            .field("master", &self.master_id())
            .finish_non_exhaustive()
    }
}

impl Keyring {
    /// Load and unwrap every stored data key with `master` (fails clearly if they were wrapped
    /// by another master key). `pool` must be migrated.
    pub async fn open(pool: AnyPool, master: MasterKey) -> Result<Self, StoreError> {
        let rows = sqlx::query("SELECT scope, wrapped, master_key_id FROM data_keys")
            .fetch_all(&pool)
            .await?;
        let mut keys = HashMap::new();
        let cipher = master.cipher();
        for r in rows {
            let scope: String = r.try_get("scope")?;
            let wrapped: String = r.try_get("wrapped")?;
            let mk: String = r.try_get("master_key_id")?;
            if mk != master.id() {
                return Err(StoreError::Config(format!(
                    "data key `{scope}` is wrapped by master key {mk}, but the master key given is {} \
                     (wrong --master-key-file?)",
                    master.id()
                )));
            }
            let dk = unwrap_key(&cipher, &scope, &wrapped)?;
            keys.insert(scope, Arc::new(dk));
        }
        Ok(Self {
            pool,
            master: RwLock::new(master),
            keys: RwLock::new(keys),
            create: tokio::sync::Mutex::new(()),
        })
    }

    /// Identifier of the current master key.
    pub fn master_id(&self) -> String {
        match self.master.read() {
            Ok(m) => m.id(),
            Err(p) => p.into_inner().id(),
        }
    }

    fn cached(&self, scope: &str) -> Option<Arc<DataKey>> {
        match self.keys.read() {
            Ok(k) => k.get(scope).cloned(),
            Err(p) => p.into_inner().get(scope).cloned(),
        }
    }

    /// The data key of a scope, created (and stored wrapped) on first use.
    async fn key(&self, scope: &str) -> Result<Arc<DataKey>, StoreError> {
        if let Some(k) = self.cached(scope) {
            return Ok(k);
        }
        let _g = self.create.lock().await;
        if let Some(k) = self.cached(scope) {
            return Ok(k);
        }
        let mut raw = Zeroizing::new([0u8; 32]);
        OsRng.fill_bytes(raw.as_mut());
        let dk = DataKey(raw);
        let (wrapped, mid) = {
            let m = self.master.read().map_err(|_| integrity("keyring lock"))?;
            (
                B64.encode(seal_raw(&m.cipher(), dk.0.as_ref(), &wrap_aad(scope))?),
                m.id(),
            )
        };
        let now = crate::now_ms();
        // Another process on the same database (an admin command) may have created it first:
        // keep whichever row won and use its key.
        sqlx::query(
            "INSERT INTO data_keys (scope, wrapped, master_key_id, created_at, rewrapped_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (scope) DO NOTHING",
        )
        .bind(scope)
        .bind(wrapped)
        .bind(mid)
        .bind(now)
        .bind(now)
        .execute(&self.pool)
        .await?;
        let row = sqlx::query("SELECT wrapped FROM data_keys WHERE scope = $1")
            .bind(scope)
            .fetch_one(&self.pool)
            .await?;
        let stored: String = row.try_get("wrapped")?;
        let dk = {
            let m = self.master.read().map_err(|_| integrity("keyring lock"))?;
            Arc::new(unwrap_key(&m.cipher(), scope, &stored)?)
        };
        if let Ok(mut k) = self.keys.write() {
            k.insert(scope.to_owned(), dk.clone());
        }
        Ok(dk)
    }

    /// An existing data key (reads never create keys).
    fn existing(&self, scope: &str, what: &str) -> Result<Arc<DataKey>, StoreError> {
        self.cached(scope)
            .ok_or_else(|| integrity(format!("{what}: no data key for scope `{scope}`")))
    }

    /// Re-wrap every data key with `new` in one transaction, then use `new`. `stage` is called
    /// with the new key BEFORE the commit so the caller can persist it next to the old one
    /// (e.g. `master-key.new`); the commit only happens if staging succeeded, so a crash never
    /// leaves data keys wrapped by a key that was not saved. Returns how many data keys were
    /// re-wrapped.
    pub async fn rotate_master(
        &self,
        new: MasterKey,
        stage: impl FnOnce(&MasterKey) -> Result<(), StoreError>,
    ) -> Result<usize, StoreError> {
        let _g = self.create.lock().await;
        let snapshot: Vec<(String, Arc<DataKey>)> = match self.keys.read() {
            Ok(k) => k.iter().map(|(s, d)| (s.clone(), d.clone())).collect(),
            Err(p) => p
                .into_inner()
                .iter()
                .map(|(s, d)| (s.clone(), d.clone()))
                .collect(),
        };
        let cipher = new.cipher();
        let mid = new.id();
        let now = crate::now_ms();
        stage(&new)?;
        let mut tx = self.pool.begin().await?;
        for (scope, dk) in &snapshot {
            let wrapped = B64.encode(seal_raw(&cipher, dk.0.as_ref(), &wrap_aad(scope))?);
            sqlx::query(
                "UPDATE data_keys SET wrapped = $1, master_key_id = $2, rewrapped_at = $3 WHERE scope = $4",
            )
            .bind(wrapped)
            .bind(&mid)
            .bind(now)
            .bind(scope)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        match self.master.write() {
            Ok(mut m) => *m = new,
            Err(p) => *p.into_inner() = new,
        }
        Ok(snapshot.len())
    }

    // ---- values ------------------------------------------------------------------------

    /// Seal a value for a DB column or a small file: `spk1:<base64>`, bound to `scope` and
    /// `context` (e.g. `instances.default_config/<id>`).
    pub async fn seal_value(
        &self,
        scope: &str,
        context: &str,
        plain: &[u8],
    ) -> Result<String, StoreError> {
        let dk = self.key(scope).await?;
        let sealed = seal_raw(&dk.cipher(), plain, &value_aad(scope, context))?;
        Ok(format!("{VALUE_PREFIX}{}", B64.encode(sealed)))
    }

    /// Open a value sealed by [`Keyring::seal_value`] with the same scope and context.
    pub fn open_value(
        &self,
        scope: &str,
        context: &str,
        sealed: &str,
    ) -> Result<Zeroizing<Vec<u8>>, StoreError> {
        let b64 = sealed
            .strip_prefix(VALUE_PREFIX)
            .ok_or_else(|| integrity(format!("{context}: value is not sealed")))?;
        let raw = B64
            .decode(b64)
            .map_err(|_| integrity(format!("{context}: sealed value is not base64")))?;
        let dk = self.existing(scope, context)?;
        open_raw(&dk.cipher(), &raw, &value_aad(scope, context), context)
    }

    /// A keyed hash (HMAC-SHA256 under a subkey of the scope's data key) to look up or compare
    /// an encrypted value without storing it in plaintext (a "blind index").
    pub async fn blind_index(
        &self,
        scope: &str,
        context: &str,
        value: &[u8],
    ) -> Result<String, StoreError> {
        let dk = self.key(scope).await?;
        let mut m = dk.mac(context);
        m.update(value);
        Ok(hex::encode(m.finalize().into_bytes()))
    }

    /// Write a secret file sealed with the platform data key (0600, atomic), bound to its file
    /// name.
    pub async fn seal_file(&self, path: &Path, plain: &[u8]) -> Result<(), StoreError> {
        let ctx = file_context(path);
        let dk = self.key(PLATFORM).await?;
        let sealed = seal_raw(&dk.cipher(), plain, &value_aad(PLATFORM, &ctx))?;
        write_private(path, &[FILE_MAGIC.as_slice(), &sealed].concat())
    }

    /// Read a file written by [`Keyring::seal_file`]. `Ok(None)` if it does not exist; a file
    /// that is not sealed gives `StoreError::Integrity` unless `allow_plain` (migration of files
    /// written before encryption at rest: the caller re-seals them).
    pub fn open_file(
        &self,
        path: &Path,
        allow_plain: bool,
    ) -> Result<Option<FileContents>, StoreError> {
        let bytes = match std::fs::read(path) {
            Ok(b) => Zeroizing::new(b),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_err(path, e)),
        };
        let ctx = file_context(path);
        match bytes.strip_prefix(FILE_MAGIC.as_slice()) {
            Some(sealed) => {
                let dk = self.existing(PLATFORM, &ctx)?;
                let plain = open_raw(&dk.cipher(), sealed, &value_aad(PLATFORM, &ctx), &ctx)?;
                Ok(Some(FileContents {
                    bytes: plain,
                    was_plain: false,
                }))
            }
            None if allow_plain => Ok(Some(FileContents {
                bytes,
                was_plain: true,
            })),
            None => Err(integrity(format!("{}: not sealed", path.display()))),
        }
    }

    // ---- objects -----------------------------------------------------------------------

    /// Start sealing an object stored under `key`.
    pub async fn object_sealer(&self, key: &str) -> Result<ObjectSealer, StoreError> {
        let scope = scope_of_object(key);
        let dk = self.key(&scope).await?;
        let mut prefix = [0u8; NONCE_PREFIX];
        OsRng.fill_bytes(&mut prefix);
        let mut header = Vec::with_capacity(HEADER_LEN);
        header.extend_from_slice(MAGIC);
        header.push(VERSION);
        header.push(0);
        header.extend_from_slice(&(SEGMENT as u32).to_be_bytes());
        header.extend_from_slice(&prefix);
        let aad = object_aad(&scope, key, &header);
        let enc = EncryptorBE32::from_aead(dk.cipher(), prefix.as_slice().into());
        Ok(ObjectSealer {
            enc: Some(enc),
            aad,
            header: Some(header),
        })
    }

    /// Start opening an object stored under `key`, given its first [`HEADER_LEN`] bytes.
    pub fn object_opener(&self, key: &str, header: &[u8]) -> Result<ObjectOpener, StoreError> {
        let scope = scope_of_object(key);
        if header.len() < HEADER_LEN || &header[..4] != MAGIC {
            return Err(integrity(format!(
                "object `{key}` is not encrypted by sparkplane (refused)"
            )));
        }
        if header[4] != VERSION || header[5] != 0 {
            return Err(integrity(format!(
                "object `{key}`: unknown encryption format {}",
                header[4]
            )));
        }
        let seg = u32::from_be_bytes([header[6], header[7], header[8], header[9]]) as usize;
        if seg != SEGMENT {
            return Err(integrity(format!(
                "object `{key}`: unexpected segment size {seg}"
            )));
        }
        let dk = self.existing(&scope, &format!("object `{key}`"))?;
        let header = &header[..HEADER_LEN];
        let aad = object_aad(&scope, key, header);
        let dec = DecryptorBE32::from_aead(dk.cipher(), header[10..HEADER_LEN].into());
        Ok(ObjectOpener {
            dec: Some(dec),
            aad,
            key: key.to_owned(),
        })
    }

    /// Seal a whole object in memory.
    pub async fn seal_object(&self, key: &str, plain: &[u8]) -> Result<Vec<u8>, StoreError> {
        let mut s = self.object_sealer(key).await?;
        let n_segments = plain.len().div_ceil(SEGMENT).max(1);
        let mut out = Vec::with_capacity(HEADER_LEN + plain.len() + n_segments * TAG);
        out.extend(s.take_header());
        let mut chunks = plain.chunks(SEGMENT).peekable();
        if chunks.peek().is_none() {
            out.extend(s.last(&[])?);
        }
        while let Some(c) = chunks.next() {
            if chunks.peek().is_some() {
                out.extend(s.next(c)?);
            } else {
                out.extend(s.last(c)?);
            }
        }
        Ok(out)
    }

    /// Open a whole object in memory; nothing is returned unless every segment verified.
    pub fn open_object(&self, key: &str, sealed: &[u8]) -> Result<Vec<u8>, StoreError> {
        let mut o = self.object_opener(key, sealed)?;
        let body = &sealed[HEADER_LEN..];
        let mut out = Vec::with_capacity(body.len());
        let mut rest = body;
        while rest.len() > CT_SEGMENT {
            let (seg, r) = rest.split_at(CT_SEGMENT);
            out.extend(o.next(seg)?);
            rest = r;
        }
        out.extend(o.last(rest)?);
        Ok(out)
    }
}

/// Wrap a (Parquet) data key with a KMS master key's 32-byte `material`, bound to `context`
/// (instance and key name): base64 of `nonce || ciphertext+tag`.
pub fn kms_wrap(material: &[u8], context: &str, plain: &[u8]) -> Result<String, StoreError> {
    let cipher = Aes256Gcm::new_from_slice(material)
        .map_err(|_| integrity("KMS key material has the wrong length"))?;
    let aad = [b"sparkplane/kms/v1\0".as_slice(), context.as_bytes()].concat();
    Ok(B64.encode(seal_raw(&cipher, plain, &aad)?))
}

/// Unwrap what [`kms_wrap`] made with the same material and context.
pub fn kms_unwrap(
    material: &[u8],
    context: &str,
    wrapped: &str,
) -> Result<Zeroizing<Vec<u8>>, StoreError> {
    let cipher = Aes256Gcm::new_from_slice(material)
        .map_err(|_| integrity("KMS key material has the wrong length"))?;
    let raw = B64
        .decode(wrapped.trim())
        .map_err(|_| integrity("wrapped key is not base64"))?;
    let aad = [b"sparkplane/kms/v1\0".as_slice(), context.as_bytes()].concat();
    open_raw(&cipher, &raw, &aad, "wrapped key")
}

/// Contents of a secret file.
pub struct FileContents {
    /// The plaintext (zeroed on drop).
    pub bytes: Zeroizing<Vec<u8>>,
    /// The file was not sealed yet (written before encryption at rest): re-seal it.
    pub was_plain: bool,
}

fn file_context(path: &Path) -> String {
    format!(
        "file/{}",
        path.file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default()
    )
}

fn unwrap_key(cipher: &Aes256Gcm, scope: &str, wrapped: &str) -> Result<DataKey, StoreError> {
    let raw = B64
        .decode(wrapped)
        .map_err(|_| integrity(format!("data key `{scope}`: not base64")))?;
    let plain = open_raw(
        cipher,
        &raw,
        &wrap_aad(scope),
        &format!("data key `{scope}`"),
    )?;
    let arr: [u8; 32] = plain
        .as_slice()
        .try_into()
        .map_err(|_| integrity(format!("data key `{scope}`: wrong length")))?;
    Ok(DataKey(Zeroizing::new(arr)))
}

/// Seals one object segment by segment (see [`Keyring::object_sealer`]).
pub struct ObjectSealer {
    enc: Option<EncryptorBE32<Aes256Gcm>>,
    aad: Vec<u8>,
    header: Option<Vec<u8>>,
}

impl ObjectSealer {
    /// The header (returned once; empty afterwards).
    pub fn take_header(&mut self) -> Vec<u8> {
        self.header.take().unwrap_or_default()
    }

    /// Seal a full, non-final segment of exactly [`SEGMENT`] bytes.
    pub fn next(&mut self, segment: &[u8]) -> Result<Vec<u8>, StoreError> {
        if segment.len() != SEGMENT {
            return Err(integrity("non-final segment must be full"));
        }
        let enc = self
            .enc
            .as_mut()
            .ok_or_else(|| integrity("object already finished"))?;
        enc.encrypt_next(Payload {
            msg: segment,
            aad: &self.aad,
        })
        .map_err(|_| integrity("encryption failed"))
    }

    /// Seal the final segment (0 to [`SEGMENT`] bytes).
    pub fn last(&mut self, segment: &[u8]) -> Result<Vec<u8>, StoreError> {
        let enc = self
            .enc
            .take()
            .ok_or_else(|| integrity("object already finished"))?;
        enc.encrypt_last(Payload {
            msg: segment,
            aad: &self.aad,
        })
        .map_err(|_| integrity("encryption failed"))
    }
}

/// Opens one object segment by segment (see [`Keyring::object_opener`]).
pub struct ObjectOpener {
    dec: Option<DecryptorBE32<Aes256Gcm>>,
    aad: Vec<u8>,
    key: String,
}

impl ObjectOpener {
    fn fail(&self) -> StoreError {
        integrity(format!(
            "object `{}` failed authentication (tampered, truncated, or swapped with another object)",
            self.key
        ))
    }

    /// Open a non-final segment of exactly `SEGMENT + 16` bytes.
    pub fn next(&mut self, segment: &[u8]) -> Result<Vec<u8>, StoreError> {
        if segment.len() != CT_SEGMENT {
            return Err(self.fail());
        }
        let aad = std::mem::take(&mut self.aad);
        let r = match self.dec.as_mut() {
            Some(d) => d.decrypt_next(Payload {
                msg: segment,
                aad: &aad,
            }),
            None => Err(aes_gcm::aead::Error),
        };
        self.aad = aad;
        r.map_err(|_| self.fail())
    }

    /// Open the final segment.
    pub fn last(&mut self, segment: &[u8]) -> Result<Vec<u8>, StoreError> {
        let Some(d) = self.dec.take() else {
            return Err(self.fail());
        };
        d.decrypt_last(Payload {
            msg: segment,
            aad: &self.aad,
        })
        .map_err(|_| self.fail())
    }

    /// Size of an encrypted non-final segment.
    pub const CT_SEGMENT: usize = CT_SEGMENT;
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn keyring() -> (tempfile::TempDir, crate::Store, Keyring) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("k.db").display());
        let s = crate::Store::open(&url).await.unwrap();
        let k = Keyring::open(s.pool().clone(), MasterKey::generate())
            .await
            .unwrap();
        (dir, s, k)
    }

    #[tokio::test]
    async fn objects_roundtrip_bind_and_detect() {
        let (_d, _s, k) = keyring().await;
        for len in [0, 1, SEGMENT - 1, SEGMENT, SEGMENT + 1, 3 * SEGMENT + 17] {
            let plain: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let key = "instances/i1/files/a.bin";
            let sealed = k.seal_object(key, &plain).await.unwrap();
            assert_eq!(k.open_object(key, &sealed).unwrap(), plain, "len {len}");
            // Bound to its key and its instance.
            assert!(matches!(
                k.open_object("instances/i1/files/b.bin", &sealed),
                Err(StoreError::Integrity(_))
            ));
            // Every flipped byte is detected.
            for pos in [0, 5, HEADER_LEN, sealed.len() - 1] {
                let mut t = sealed.clone();
                t[pos] ^= 1;
                assert!(matches!(
                    k.open_object(key, &t),
                    Err(StoreError::Integrity(_))
                ));
            }
            // Truncation at a segment boundary is detected (last flag).
            if len > SEGMENT {
                let t = &sealed[..HEADER_LEN + CT_SEGMENT];
                assert!(k.open_object(key, t).is_err());
            }
        }
        let other = k.seal_object("instances/i2/x", b"x").await.unwrap();
        assert!(k.open_object("instances/i1/x", &other).is_err());
        assert!(k.open_object("a", b"{}").is_err(), "plaintext refused");
    }

    #[tokio::test]
    async fn values_and_rotation() {
        let (_d, s, k) = keyring().await;
        let v = k.seal_value("instance/a", "ctx", b"hello").await.unwrap();
        assert!(!v.contains("hello"));
        assert_eq!(&*k.open_value("instance/a", "ctx", &v).unwrap(), b"hello");
        assert!(k.open_value("instance/a", "other", &v).is_err());
        assert!(k.open_value("instance/b", "ctx", &v).is_err());
        let o = k.seal_object("platform/x", b"data").await.unwrap();
        let new = MasterKey::generate();
        let new_id = new.id();
        let copy = MasterKey::parse(hex::encode(new.0.as_ref()).as_bytes()).unwrap();
        assert_eq!(k.rotate_master(new, |_| Ok(())).await.unwrap(), 2);
        assert_eq!(k.master_id(), new_id);
        // Reopen with the new master: the same data keys come back.
        let k2 = Keyring::open(s.pool().clone(), copy).await.unwrap();
        assert_eq!(&*k2.open_value("instance/a", "ctx", &v).unwrap(), b"hello");
        assert_eq!(k2.open_object("platform/x", &o).unwrap(), b"data");
        // The old master key no longer opens the keyring.
        assert!(Keyring::open(s.pool().clone(), MasterKey::generate())
            .await
            .is_err());
    }

    #[test]
    fn master_key_parsing_and_scopes() {
        let k = MasterKey::generate();
        let hexed = format!("  {}\n", hex::encode(k.0.as_ref()));
        assert_eq!(MasterKey::parse(hexed.as_bytes()).unwrap().id(), k.id());
        let b = B64.encode(k.0.as_ref());
        assert_eq!(MasterKey::parse(b.as_bytes()).unwrap().id(), k.id());
        assert!(MasterKey::parse(b"short").is_err());
        assert_eq!(scope_of_object("instances/abc/x/y"), "instance/abc");
        assert_eq!(scope_of_object("/instances/abc"), "instance/abc");
        assert_eq!(scope_of_object("summaries/abc"), PLATFORM);
    }
}
