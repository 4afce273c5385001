//! The object store: a local directory by default, or S3 (and S3-compatible stores).

use std::sync::Arc;

use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ObjectStore, PutPayload};

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
                })
            }
        }
    }

    fn full(&self, key: &str) -> Path {
        let mut p = self.prefix.clone();
        for part in key.split('/').filter(|s| !s.is_empty()) {
            p = p.child(part);
        }
        p
    }

    /// Write an object.
    pub async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), StoreError> {
        self.store
            .put(&self.full(key), PutPayload::from(bytes))
            .await?;
        Ok(())
    }

    /// Read an object.
    pub async fn get(&self, key: &str) -> Result<Vec<u8>, StoreError> {
        let r = self.store.get(&self.full(key)).await?;
        Ok(r.bytes().await?.to_vec())
    }

    /// Delete an object.
    pub async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.store.delete(&self.full(key)).await?;
        Ok(())
    }

    /// The underlying store (for streaming users).
    pub fn inner(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }
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
