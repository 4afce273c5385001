//! `s3://bucket/prefix` log directories: the objects under the prefix are mirrored into a
//! local directory (new objects fetched, changed ones — new size, ETag or modification time —
//! fetched again, vanished ones removed), which is then served like any log directory. Rolling
//! logs gain objects and in-progress logs are re-uploaded as they grow, so each re-scan fetches
//! only what changed. Credentials and region come from the usual `AWS_*` environment.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use futures_util::TryStreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as ObjPath;
use object_store::ObjectStore;

use crate::Error;

/// What a mirrored object looked like when it was fetched.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    size: u64,
    etag: Option<String>,
    modified_ms: i64,
}

/// A local mirror of the event logs under an S3 prefix.
pub struct S3Mirror {
    store: Arc<dyn ObjectStore>,
    prefix: ObjPath,
    url: String,
    /// The local directory the logs are mirrored into.
    pub dir: PathBuf,
    seen: HashMap<PathBuf, Seen>,
}

impl std::fmt::Debug for S3Mirror {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Mirror")
            .field("url", &self.url)
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

fn err(url: &str, e: impl std::fmt::Display) -> Error {
    Error::Io {
        path: PathBuf::from(url),
        source: std::io::Error::other(e.to_string()),
    }
}

/// `(bucket, prefix)` of `s3://bucket[/prefix]`.
pub fn parse_url(url: &str) -> Option<(&str, &str)> {
    let rest = url.strip_prefix("s3://")?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    (!bucket.is_empty()).then_some((bucket, prefix.trim_matches('/')))
}

/// A relative path made of normal components only (an object key cannot escape the mirror).
fn safe_relative(key: &str) -> Option<PathBuf> {
    let p = PathBuf::from(key);
    let ok = !key.is_empty() && p.components().all(|c| matches!(c, Component::Normal(_)));
    ok.then_some(p)
}

impl S3Mirror {
    /// A mirror of `url` (`s3://bucket/prefix`) into `dir`; `endpoint` for S3-compatible stores.
    pub fn open(url: &str, endpoint: Option<&str>, dir: PathBuf) -> Result<Self, Error> {
        let (bucket, prefix) =
            parse_url(url).ok_or_else(|| err(url, "expected s3://bucket/prefix"))?;
        let mut b = AmazonS3Builder::from_env().with_bucket_name(bucket);
        if let Some(ep) = endpoint {
            b = b
                .with_endpoint(ep)
                .with_allow_http(ep.starts_with("http://"));
        }
        let store = b.build().map_err(|e| err(url, e))?;
        std::fs::create_dir_all(&dir).map_err(|source| Error::Io {
            path: dir.clone(),
            source,
        })?;
        Ok(Self {
            store: Arc::new(store),
            prefix: ObjPath::from(prefix),
            url: url.to_owned(),
            dir,
            seen: HashMap::new(),
        })
    }

    /// Brings the mirror up to date. Returns how many objects were fetched.
    pub async fn sync(&mut self) -> Result<usize, Error> {
        let prefix = (!self.prefix.as_ref().is_empty()).then_some(&self.prefix);
        let objects: Vec<object_store::ObjectMeta> = self
            .store
            .list(prefix)
            .try_collect()
            .await
            .map_err(|e| err(&self.url, e))?;
        let mut present = std::collections::HashSet::new();
        let mut fetched = 0;
        for o in objects {
            let key = o.location.as_ref();
            let rel = key
                .strip_prefix(self.prefix.as_ref())
                .unwrap_or(key)
                .trim_start_matches('/');
            let Some(rel) = safe_relative(rel) else {
                continue;
            };
            let seen = Seen {
                size: o.size,
                etag: o.e_tag.clone(),
                modified_ms: o.last_modified.timestamp_millis(),
            };
            present.insert(rel.clone());
            if self.seen.get(&rel) == Some(&seen) {
                continue;
            }
            let bytes = self
                .store
                .get(&o.location)
                .await
                .map_err(|e| err(&self.url, e))?
                .bytes()
                .await
                .map_err(|e| err(&self.url, e))?;
            let dst = self.dir.join(&rel);
            write_mirrored(&dst, &bytes, o.last_modified.into()).map_err(|source| Error::Io {
                path: dst.clone(),
                source,
            })?;
            self.seen.insert(rel, seen);
            fetched += 1;
        }
        let gone: Vec<PathBuf> = self
            .seen
            .keys()
            .filter(|k| !present.contains(*k))
            .cloned()
            .collect();
        for rel in gone {
            self.seen.remove(&rel);
            let p = self.dir.join(&rel);
            let _ = std::fs::remove_file(&p);
            // Drop a rolling log's directory once it is empty.
            if let Some(parent) = p.parent().filter(|d| *d != self.dir) {
                let _ = std::fs::remove_dir(parent);
            }
        }
        Ok(fetched)
    }
}

/// Writes `bytes` to `dst` through a temporary file and gives it the object's modification
/// time (what `lastUpdated` reports).
fn write_mirrored(
    dst: &Path,
    bytes: &[u8],
    modified: std::time::SystemTime,
) -> std::io::Result<()> {
    if let Some(parent) = dst.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let tmp = dst.with_file_name(format!(
        ".{}.part",
        dst.file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default()
    ));
    std::fs::write(&tmp, bytes)?;
    std::fs::File::options()
        .write(true)
        .open(&tmp)?
        .set_modified(modified)?;
    std::fs::rename(&tmp, dst)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_keys() {
        assert_eq!(parse_url("s3://b/logs/x/"), Some(("b", "logs/x")));
        assert_eq!(parse_url("s3://b"), Some(("b", "")));
        assert_eq!(parse_url("s3:///x"), None);
        assert!(safe_relative("eventlog_v2_a/events_1_a").is_some());
        assert!(safe_relative("../x").is_none());
        assert!(safe_relative("/x").is_none());
    }
}
