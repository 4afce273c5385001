//! The object store: a local directory by default, or S3 (and S3-compatible stores).
//!
//! With a [`Keyring`] attached ([`Objects::with_keyring`], what the server does) every object
//! is encrypted transparently on [`Objects::put`] / [`Objects::put_stream`] and authenticated
//! on [`Objects::get`] / [`Objects::get_stream`]: keys under `instances/<id>/` use that
//! instance's data key, all others the platform data key, and the object key is bound as
//! associated data (see [`crate::crypto`]). A tampered, truncated or swapped object gives
//! [`StoreError::Integrity`] and is never returned.

use std::sync::Arc;

use bytes::Bytes;
use futures_util::stream::{BoxStream, StreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ObjectStore, PutPayload, WriteMultipart};
use tokio::io::{AsyncRead, AsyncReadExt};

use crate::crypto::{Keyring, ObjectOpener, HEADER_LEN, SEGMENT};
use crate::StoreError;

/// Where objects go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ObjectStoreSpec {
    /// A local directory (created if missing).
    Local(std::path::PathBuf),
    /// `s3://bucket/prefix`, with an optional endpoint for S3-compatible stores. Credentials
    /// come from the usual AWS environment variables.
    S3 {
        /// Bucket name.
        bucket: String,
        /// Key prefix (may be empty).
        prefix: String,
        /// Endpoint URL (`http://127.0.0.1:9000`).
        endpoint: Option<String>,
    },
}

impl ObjectStoreSpec {
    /// Parse `s3://bucket/prefix` or a local path.
    pub fn parse(spec: &str, endpoint: Option<String>) -> Result<Self, StoreError> {
        if let Some(rest) = spec.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(StoreError::Config(format!("no bucket in `{spec}`")));
            }
            Ok(Self::S3 {
                bucket: bucket.to_owned(),
                prefix: prefix.trim_matches('/').to_owned(),
                endpoint,
            })
        } else if spec.contains("://") {
            Err(StoreError::Config(format!(
                "unsupported object store `{spec}` (use a path or s3://)"
            )))
        } else {
            Ok(Self::Local(spec.into()))
        }
    }
}

/// A handle on the object store, with every key under one prefix.
#[derive(Clone)]
pub struct Objects {
    store: Arc<dyn ObjectStore>,
    prefix: Path,
    description: String,
    keyring: Option<Arc<Keyring>>,
}

impl std::fmt::Debug for Objects {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.description)
    }
}

impl Objects {
    /// Open (for a local directory: create) the store.
    pub fn open(spec: &ObjectStoreSpec) -> Result<Self, StoreError> {
        match spec {
            ObjectStoreSpec::Local(dir) => {
                std::fs::create_dir_all(dir)
                    .map_err(|e| StoreError::Config(format!("{}: {e}", dir.display())))?;
                let fs = LocalFileSystem::new_with_prefix(dir)?;
                Ok(Self {
                    store: Arc::new(fs),
                    prefix: Path::default(),
                    description: format!("local directory {}", dir.display()),
                    keyring: None,
                })
            }
            ObjectStoreSpec::S3 {
                bucket,
                prefix,
                endpoint,
            } => {
                let mut b = AmazonS3Builder::from_env().with_bucket_name(bucket);
                if let Some(ep) = endpoint {
                    b = b
                        .with_endpoint(ep)
                        .with_allow_http(ep.starts_with("http://"));
                }
                Ok(Self {
                    store: Arc::new(b.build()?),
                    prefix: Path::from(prefix.as_str()),
                    description: format!("s3://{bucket}/{prefix}"),
                    keyring: None,
                })
            }
        }
    }

    /// Encrypt every object at rest with `keyring` from now on (what the server does).
    pub fn with_keyring(mut self, keyring: Arc<Keyring>) -> Self {
        self.keyring = Some(keyring);
        self
    }

    /// Whether objects are encrypted at rest.
    pub fn encrypted(&self) -> bool {
        self.keyring.is_some()
    }

    /// The canonical form of a key (bound as associated data): parts joined by `/`.
    fn canonical(key: &str) -> String {
        key.split('/')
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join("/")
    }

    fn full(&self, key: &str) -> Path {
        let mut p = self.prefix.clone();
        for part in key.split('/').filter(|s| !s.is_empty()) {
            p = p.child(part);
        }
        p
    }

    /// Write an object (encrypted when a keyring is attached).
    pub async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), StoreError> {
        let bytes = match &self.keyring {
            Some(k) => k.seal_object(&Self::canonical(key), &bytes).await?,
            None => bytes,
        };
        self.store
            .put(&self.full(key), PutPayload::from(bytes))
            .await?;
        Ok(())
    }

    /// Read an object (authenticated and decrypted when a keyring is attached; nothing is
    /// returned unless the whole object verified).
    pub async fn get(&self, key: &str) -> Result<Vec<u8>, StoreError> {
        let r = self.store.get(&self.full(key)).await?;
        let bytes = r.bytes().await?;
        match &self.keyring {
            Some(k) => k.open_object(&Self::canonical(key), &bytes),
            None => Ok(bytes.to_vec()),
        }
    }

    /// Write an object from a reader with bounded memory (64 KiB segments, multipart upload).
    /// Returns the plaintext size.
    pub async fn put_stream(
        &self,
        key: &str,
        mut reader: impl AsyncRead + Unpin + Send,
    ) -> Result<u64, StoreError> {
        let upload = self.store.put_multipart(&self.full(key)).await?;
        let mut w = WriteMultipart::new(upload);
        let mut sealer = match &self.keyring {
            Some(k) => Some(k.object_sealer(&Self::canonical(key)).await?),
            None => None,
        };
        if let Some(s) = sealer.as_mut() {
            w.write(&s.take_header());
        }
        let mut total = 0u64;
        let mut cur = read_segment(&mut reader).await?;
        loop {
            let next = if cur.len() == SEGMENT {
                read_segment(&mut reader).await?
            } else {
                Vec::new()
            };
            total += cur.len() as u64;
            let last = next.is_empty();
            match sealer.as_mut() {
                Some(s) if last => w.write(&s.last(&cur)?),
                Some(s) => w.write(&s.next(&cur)?),
                None => w.write(&cur),
            }
            if last {
                break;
            }
            cur = next;
        }
        w.finish().await?;
        Ok(total)
    }

    /// Read an object as a stream of verified plaintext chunks with bounded memory. A segment
    /// that fails authentication ends the stream with [`StoreError::Integrity`] (segments
    /// before it were authentic; truncation is detected at the end). Consumers that must not
    /// act on a partial object use [`Objects::get`].
    pub async fn get_stream(
        &self,
        key: &str,
    ) -> Result<BoxStream<'static, Result<Bytes, StoreError>>, StoreError> {
        let inner = self.store.get(&self.full(key)).await?.into_stream();
        let Some(keyring) = self.keyring.clone() else {
            return Ok(inner.map(|r| r.map_err(StoreError::from)).boxed());
        };
        let key = Self::canonical(key);
        struct St {
            inner: BoxStream<'static, object_store::Result<Bytes>>,
            buf: Vec<u8>,
            opener: Option<ObjectOpener>,
            done: bool,
        }
        let st = St {
            inner,
            buf: Vec::new(),
            opener: None,
            done: false,
        };
        let stream = futures_util::stream::unfold(st, move |mut st| {
            let keyring = keyring.clone();
            let key = key.clone();
            async move {
                if st.done {
                    return None;
                }
                loop {
                    if st.opener.is_none() && st.buf.len() >= HEADER_LEN {
                        match keyring.object_opener(&key, &st.buf[..HEADER_LEN]) {
                            Ok(o) => {
                                st.opener = Some(o);
                                st.buf.drain(..HEADER_LEN);
                            }
                            Err(e) => {
                                st.done = true;
                                return Some((Err(e), st));
                            }
                        }
                    }
                    if let Some(o) = st.opener.as_mut() {
                        if st.buf.len() > ObjectOpener::CT_SEGMENT {
                            let seg: Vec<u8> = st.buf.drain(..ObjectOpener::CT_SEGMENT).collect();
                            let r = o.next(&seg).map(Bytes::from);
                            st.done = r.is_err();
                            return Some((r, st));
                        }
                    }
                    match st.inner.next().await {
                        Some(Ok(b)) => st.buf.extend_from_slice(&b),
                        Some(Err(e)) => {
                            st.done = true;
                            return Some((Err(e.into()), st));
                        }
                        None => {
                            st.done = true;
                            let r = match st.opener.as_mut() {
                                Some(o) => o.last(&st.buf).map(Bytes::from),
                                None => keyring.object_opener(&key, &st.buf).map(|_| Bytes::new()),
                            };
                            return Some((r, st));
                        }
                    }
                }
            }
        });
        Ok(stream.boxed())
    }

    /// Delete an object.
    pub async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.store.delete(&self.full(key)).await?;
        Ok(())
    }

    /// The objects whose keys start with `prefix` (a whole-part prefix: `instances/i1/files`
    /// lists `instances/i1/files/…`, never `instances/i1/files2/…`), keys relative to this
    /// handle's prefix. A prefix with no object gives an empty list.
    pub async fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>, StoreError> {
        let base = self.full(prefix);
        let mut out = Vec::new();
        let mut st = self.store.list(Some(&base));
        while let Some(meta) = st.next().await {
            let meta = match meta {
                Ok(m) => m,
                Err(object_store::Error::NotFound { .. }) => break,
                Err(e) => return Err(e.into()),
            };
            let Some(rest) = meta.location.prefix_match(&self.prefix) else {
                continue;
            };
            let mut parts = Vec::new();
            for part in rest {
                let decoded = percent_encoding::percent_decode_str(part.as_ref())
                    .decode_utf8()
                    .map_err(|e| {
                        StoreError::Corrupt(format!("object key {}: {e}", meta.location))
                    })?;
                parts.push(decoded.into_owned());
            }
            out.push(ObjectInfo::new(parts.join("/"), &meta));
        }
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    /// What the store knows about one object (no content is read), or `None` if it does not
    /// exist.
    pub async fn head(&self, key: &str) -> Result<Option<ObjectInfo>, StoreError> {
        match self.store.head(&self.full(key)).await {
            Ok(meta) => Ok(Some(ObjectInfo::new(Self::canonical(key), &meta))),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// The underlying store. It sees RAW (encrypted) bytes: use `put_stream` / `get_stream`
    /// for streaming, never this, to read or write contents.
    pub fn inner(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }
}

/// An object as listed: its key and a version string that changes whenever it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    /// Key (relative to the [`Objects`] handle's prefix, parts joined by `/`).
    pub key: String,
    /// Stored size in bytes (of the sealed object when encrypted).
    pub stored_size: u64,
    /// Changes whenever the object is (re)written: ETag, modification time and size.
    pub version: String,
}

impl ObjectInfo {
    fn new(key: String, meta: &object_store::ObjectMeta) -> Self {
        ObjectInfo {
            key,
            stored_size: meta.size,
            version: format!(
                "{}|{}|{}",
                meta.e_tag.as_deref().unwrap_or(""),
                meta.last_modified.timestamp_nanos_opt().unwrap_or_default(),
                meta.size
            ),
        }
    }
}

/// Read up to one full segment (fewer bytes only at EOF).
async fn read_segment(r: &mut (impl AsyncRead + Unpin)) -> Result<Vec<u8>, StoreError> {
    let mut buf = vec![0u8; SEGMENT];
    let mut n = 0;
    while n < SEGMENT {
        let k = r
            .read(&mut buf[n..])
            .await
            .map_err(|e| StoreError::Config(format!("reading object data: {e}")))?;
        if k == 0 {
            break;
        }
        n += k;
    }
    buf.truncate(n);
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn local_roundtrip() {
        let dir = tempfile::tempdir().unwrap();
        let o = Objects::open(&ObjectStoreSpec::Local(dir.path().join("objects"))).unwrap();
        o.put("a/b.json", b"{}".to_vec()).await.unwrap();
        assert_eq!(o.get("a/b.json").await.unwrap(), b"{}");
        assert!(dir.path().join("objects/a/b.json").exists());
        o.delete("a/b.json").await.unwrap();
        assert!(o.get("a/b.json").await.is_err());
    }

    #[tokio::test]
    async fn encrypted_roundtrip_stream_and_integrity() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let store = crate::Store::open_encrypted(&url, crate::MasterKey::generate())
            .await
            .unwrap();
        let o = Objects::open(&ObjectStoreSpec::Local(dir.path().join("objects")))
            .unwrap()
            .with_keyring(store.keyring().unwrap().clone());
        let marker = b"MARKER-object-plaintext".repeat(10_000);
        o.put("instances/i1/f.bin", marker.clone()).await.unwrap();
        let raw = std::fs::read(dir.path().join("objects/instances/i1/f.bin")).unwrap();
        assert!(!raw.windows(8).any(|w| w == b"MARKER-o"));
        assert_eq!(o.get("instances/i1/f.bin").await.unwrap(), marker);
        // Streaming both ways, several segments.
        let n = o
            .put_stream("instances/i1/s.bin", std::io::Cursor::new(marker.clone()))
            .await
            .unwrap();
        assert_eq!(n, marker.len() as u64);
        let mut got = Vec::new();
        let mut st = o.get_stream("instances/i1/s.bin").await.unwrap();
        while let Some(c) = st.next().await {
            got.extend_from_slice(&c.unwrap());
        }
        assert_eq!(got, marker);
        assert_eq!(o.get("instances/i1/s.bin").await.unwrap(), marker);
        // Swapped objects fail.
        std::fs::rename(
            dir.path().join("objects/instances/i1/s.bin"),
            dir.path().join("objects/instances/i1/g.bin"),
        )
        .unwrap();
        assert!(matches!(
            o.get("instances/i1/g.bin").await,
            Err(StoreError::Integrity(_))
        ));
        // A flipped byte fails, streaming too.
        let mut t = raw.clone();
        t[raw.len() / 2] ^= 0x40;
        std::fs::write(dir.path().join("objects/instances/i1/f.bin"), t).unwrap();
        assert!(matches!(
            o.get("instances/i1/f.bin").await,
            Err(StoreError::Integrity(_))
        ));
        let mut st = o.get_stream("instances/i1/f.bin").await.unwrap();
        let mut failed = false;
        while let Some(c) = st.next().await {
            failed |= matches!(c, Err(StoreError::Integrity(_)));
        }
        assert!(failed);
    }

    #[tokio::test]
    async fn list_and_head_with_odd_names() {
        let dir = tempfile::tempdir().unwrap();
        let o = Objects::open(&ObjectStoreSpec::Local(dir.path().join("objects"))).unwrap();
        assert!(o.list("instances/i1/files").await.unwrap().is_empty());
        assert_eq!(o.head("instances/i1/files/x").await.unwrap(), None);
        for k in ["instances/i1/files/a b%#.py", "instances/i1/files/d/e.txt"] {
            o.put(k, b"x".to_vec()).await.unwrap();
        }
        o.put("instances/i1/files2/no", b"x".to_vec())
            .await
            .unwrap();
        let keys: Vec<String> = o
            .list("instances/i1/files")
            .await
            .unwrap()
            .into_iter()
            .map(|i| i.key)
            .collect();
        assert_eq!(
            keys,
            ["instances/i1/files/a b%#.py", "instances/i1/files/d/e.txt"]
        );
        let v1 = o.head("instances/i1/files/d/e.txt").await.unwrap().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        o.put("instances/i1/files/d/e.txt", b"yy".to_vec())
            .await
            .unwrap();
        let v2 = o.head("instances/i1/files/d/e.txt").await.unwrap().unwrap();
        assert_ne!(v1.version, v2.version);
    }

    #[test]
    fn parse_specs() {
        assert_eq!(
            ObjectStoreSpec::parse("s3://bkt/a/b/", None).unwrap(),
            ObjectStoreSpec::S3 {
                bucket: "bkt".into(),
                prefix: "a/b".into(),
                endpoint: None
            }
        );
        assert!(ObjectStoreSpec::parse("gs://x", None).is_err());
    }
}
