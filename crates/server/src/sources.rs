//! Event-log sources: a background task polls each instance's read-only bucket prefixes
//! (`PUT …/sources/{name}`), finds event logs and exported summaries, analyses new and grown
//! ones and ingests their summaries with origin `source:<name>`.
//!
//! What it recognises below the prefix (keys relative to it):
//! - `…/summary.json` — a summary exported by `sparkplane export --to s3://…`
//!   (`<app_id>/<attempt>/summary.json`): ingested as is.
//! - `…/eventlog_v2_<app>/events_<n>_<app>[.codec]` — a rolling event-log directory.
//! - `…/EVENT_LOG_1`, `SPARK_VERSION_*`, … — a Spark 1.x legacy log directory.
//! - `…/<dir>/eventlog` plus `eventlog-YYYY-MM-DD--HH-MM.gz` — Databricks cluster log delivery
//!   (`<cluster>/eventlog/<cluster>_<ip>/<n>/`): the rotated parts (oldest first, gunzipped)
//!   then the live file make one log.
//! - any other file named like a Spark event log (`local-…`, `app-…`, `application_…`,
//!   `spark-…`, any codec, `.inprogress`) — a single-file log.
//!
//! Checkpoints (object key, size, ETag, last modified) are stored with each summary in one
//! transaction, so a restart re-ingests nothing and a grown object is analysed again. The
//! poller only lists and reads: it never writes to the source.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Weak};
use std::time::Duration;

use futures_util::{StreamExt, TryStreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as ObjPath;
use object_store::{ObjectMeta, ObjectStore};
use serde::{Deserialize, Serialize};
use sparkplane_store::{Origin, SourceObject, SourceRecord};

use crate::ingest::{Checkpoint, IngestRequest, Ingestor};

/// Default time between polls of all sources.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(60);
/// Logs analysed at once per source.
const CONCURRENCY: usize = 4;
/// Largest exported summary read from a source.
const MAX_SUMMARY_OBJECT: u64 = crate::ingest::MAX_SUMMARY_BYTES as u64;

/// Read-only credentials of a source (kept encrypted in the object store, never returned).
#[derive(Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    /// Access key id.
    #[schema(min_length = 1, max_length = 256)]
    pub access_key_id: String,
    /// Secret access key.
    #[schema(min_length = 1, max_length = 256)]
    pub secret_access_key: String,
    /// Session token (temporary credentials).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1, max_length = 4096)]
    pub session_token: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Credentials(<redacted>)")
    }
}

/// Object-store key of a source's credentials.
pub fn credentials_key(instance_id: &str, name: &str) -> String {
    format!("instances/{instance_id}/sources/{name}/credentials.json")
}

/// Live progress of a source's current (or last) poll.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct Progress {
    /// A poll is running.
    pub polling: bool,
    /// Logs and summaries found new or grown by the current (last) poll.
    pub found: u64,
    /// Of those, handled so far.
    pub done: u64,
    /// Of those, failed.
    pub failed: u64,
}

/// The poller's shared state.
pub struct SourcesState {
    poll_interval: Duration,
    endpoint_policy: std::sync::RwLock<crate::endpoint_policy::EndpointPolicy>,
    progress: std::sync::Mutex<HashMap<(String, String), Progress>>,
    wake: tokio::sync::Notify,
}

impl SourcesState {
    /// New state.
    pub fn new(poll_interval: Duration) -> Self {
        SourcesState {
            poll_interval,
            endpoint_policy: Default::default(),
            progress: std::sync::Mutex::new(HashMap::new()),
            wake: tokio::sync::Notify::new(),
        }
    }

    /// Set which S3 endpoints sources may use (checked on save and before every poll).
    pub fn set_endpoint_policy(&self, policy: crate::endpoint_policy::EndpointPolicy) {
        if let Ok(mut p) = self.endpoint_policy.write() {
            *p = policy;
        }
    }

    /// Whether a source may use `endpoint`; the error says why not.
    pub fn check_endpoint(&self, endpoint: &str) -> Result<(), String> {
        match self.endpoint_policy.read() {
            Ok(p) => p.check(endpoint),
            Err(_) => Err("endpoint policy unavailable".into()),
        }
    }

    /// Progress of a source.
    pub fn progress(&self, instance_id: &str, name: &str) -> Progress {
        self.with(|m| {
            m.get(&(instance_id.to_owned(), name.to_owned()))
                .cloned()
                .unwrap_or_default()
        })
    }

    /// Poll now (a source was created or changed).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    fn with<T>(&self, f: impl FnOnce(&mut HashMap<(String, String), Progress>) -> T) -> T {
        match self.progress.lock() {
            Ok(mut m) => f(&mut m),
            Err(p) => f(&mut p.into_inner()),
        }
    }

    fn update(&self, s: &SourceRecord, f: impl FnOnce(&mut Progress)) {
        self.with(|m| {
            f(m.entry((s.instance_id.clone(), s.name.clone()))
                .or_default())
        });
    }
}

/// Why a source could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The definition is unusable.
    #[error("{0}")]
    Config(String),
    /// Listing or reading failed.
    #[error("{0}")]
    Read(String),
    /// Analysis or ingest failed.
    #[error("{0}")]
    Ingest(String),
    /// The server is stopping (its store was closed).
    #[error("server stopping")]
    Stopped,
}

/// `s3://bucket/prefix` → (bucket, prefix without slashes at the ends).
pub fn parse_url(url: &str) -> Result<(String, String), SourceError> {
    let rest = url
        .strip_prefix("s3://")
        .ok_or_else(|| SourceError::Config("url must be s3://bucket/prefix".into()))?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let valid_bucket = (3..=63).contains(&bucket.len())
        && bucket
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && bucket.starts_with(|c: char| c.is_ascii_alphanumeric())
        && bucket.ends_with(|c: char| c.is_ascii_alphanumeric());
    if !valid_bucket {
        return Err(SourceError::Config(format!(
            "`{bucket}` is not a valid bucket name"
        )));
    }
    let prefix = prefix.trim_end_matches('/');
    let segment_ok = |p: &str| {
        let mut chars = p.chars();
        chars
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric() || "_=+-".contains(c))
            && chars.all(|c| c.is_ascii_alphanumeric() || "_=+.-".contains(c))
    };
    if !prefix.is_empty() && !prefix.split('/').all(segment_ok) {
        return Err(SourceError::Config(
            "prefix segments are letters, digits and `_=+-.` (not starting with `.`), without `//`"
                .into(),
        ));
    }
    Ok((bucket.to_owned(), prefix.to_owned()))
}

/// A read-only client for the source. Without credentials, requests are unsigned (public
/// buckets): the server's own credentials are never used for a tenant's source.
fn client(
    s: &SourceRecord,
    creds: Option<&Credentials>,
) -> Result<Arc<dyn ObjectStore>, SourceError> {
    let (bucket, _) = parse_url(&s.url)?;
    let mut b = AmazonS3Builder::new()
        .with_bucket_name(bucket)
        .with_region(s.region.clone().unwrap_or_else(|| "us-east-1".into()));
    if let Some(ep) = &s.endpoint {
        b = b
            .with_endpoint(ep)
            .with_allow_http(ep.starts_with("http://"))
            .with_virtual_hosted_style_request(false);
    }
    b = match creds {
        Some(c) => {
            let b = b
                .with_access_key_id(&c.access_key_id)
                .with_secret_access_key(&c.secret_access_key);
            match &c.session_token {
                Some(t) => b.with_token(t),
                None => b,
            }
        }
        None => b.with_skip_signature(true),
    };
    b.build()
        .map(|s| Arc::new(s) as Arc<dyn ObjectStore>)
        .map_err(|e| SourceError::Config(e.to_string()))
}

/// What a group of objects is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnitKind {
    /// An exported summary.
    Summary,
    /// A single-file event log.
    File,
    /// A rolling (`eventlog_v2_*`) or legacy event-log directory.
    Directory,
    /// A Databricks cluster-log-delivery `eventlog` directory.
    Databricks,
}

/// One log (or exported summary) and its objects.
#[derive(Debug, Clone)]
pub struct Unit {
    /// Key of the file, or of the directory (no trailing slash).
    pub key: String,
    /// Kind.
    pub kind: UnitKind,
    /// Objects (for directories: all files of it).
    pub objects: Vec<ObjectMeta>,
}

const CODECS: &[&str] = &[".zstd", ".zst", ".lz4", ".snappy", ".lzf", ".gz"];
const APP_PREFIXES: &[&str] = &[
    "local-",
    "app-",
    "application_",
    "spark-",
    "driver-",
    "eventlog_",
];

fn looks_like_log_file(name: &str) -> bool {
    let mut n = name.strip_suffix(".inprogress").unwrap_or(name);
    for c in CODECS {
        if let Some(s) = n.strip_suffix(c) {
            n = s;
            break;
        }
    }
    APP_PREFIXES.iter().any(|p| n.starts_with(p)) && !n.contains('/')
}

fn is_databricks_part(name: &str) -> bool {
    if name == "eventlog" {
        return true;
    }
    // eventlog-2024-01-31--10-00.gz
    let Some(stamp) = name
        .strip_prefix("eventlog-")
        .and_then(|s| s.strip_suffix(".gz"))
    else {
        return false;
    };
    stamp.len() == 17
        && stamp.chars().enumerate().all(|(i, c)| match i {
            4 | 7 | 10 | 11 | 14 => c == '-',
            _ => c.is_ascii_digit(),
        })
}

fn is_legacy_part(name: &str) -> bool {
    name.starts_with("EVENT_LOG_")
        || name.starts_with("SPARK_VERSION_")
        || name.starts_with("COMPRESSION_CODEC_")
        || name == "APPLICATION_COMPLETE"
}

/// Group listed objects into logs and summaries; other objects are ignored.
pub fn group(objects: Vec<ObjectMeta>) -> Vec<Unit> {
    let mut units: BTreeMap<String, Unit> = BTreeMap::new();
    for o in objects {
        let key = o.location.to_string();
        let (dir, name) = key.rsplit_once('/').unwrap_or(("", key.as_str()));
        if name.starts_with('.') || name.starts_with('_') {
            continue;
        }
        let (unit_key, kind) = if name == "summary.json" {
            (key.clone(), UnitKind::Summary)
        } else if let Some(i) = dir.split('/').position(|p| p.starts_with("eventlog_v2_")) {
            let parts: Vec<&str> = dir.split('/').collect();
            (parts[..=i].join("/"), UnitKind::Directory)
        } else if is_legacy_part(name) && !dir.is_empty() {
            (dir.to_owned(), UnitKind::Directory)
        } else if is_databricks_part(name) && !dir.is_empty() {
            (dir.to_owned(), UnitKind::Databricks)
        } else if looks_like_log_file(name) {
            (key.clone(), UnitKind::File)
        } else {
            continue;
        };
        units
            .entry(unit_key.clone())
            .or_insert_with(|| Unit {
                key: unit_key,
                kind,
                objects: Vec::new(),
            })
            .objects
            .push(o);
    }
    units.into_values().collect()
}

fn checkpoint_of(o: &ObjectMeta) -> SourceObject {
    SourceObject {
        key: o.location.to_string(),
        size: i64::try_from(o.size).unwrap_or(i64::MAX),
        etag: o.e_tag.clone(),
        last_modified: o.last_modified.timestamp_millis(),
        outcome: String::new(),
        detail: None,
        summary_id: None,
    }
}

/// Start the poller. It holds the ingest service weakly and ends once the server's state is
/// dropped.
pub fn spawn_poller(ingestor: &Ingestor) -> tokio::task::JoinHandle<()> {
    let weak = ingestor.downgrade();
    tokio::spawn(async move {
        loop {
            let Some(ing) = Ingestor::upgrade(&weak) else {
                return;
            };
            if ing.store().is_closed() {
                return;
            }
            poll_all(&ing).await;
            let interval = ing.sources().poll_interval;
            let woken = ing.clone();
            drop(ing);
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = woken.sources().wake.notified() => {}
            }
            drop(woken);
            if weak.strong_count() == 0 {
                return;
            }
        }
    })
}

async fn poll_all(ing: &Ingestor) {
    let sources = match ing.store().all_sources().await {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "sources: could not list sources");
            return;
        }
    };
    for s in sources {
        poll_source(ing, &s).await;
    }
}

async fn load_credentials(
    ing: &Ingestor,
    s: &SourceRecord,
) -> Result<Option<Credentials>, SourceError> {
    if !s.has_credentials {
        return Ok(None);
    }
    let bytes = ing
        .objects()
        .get(&credentials_key(&s.instance_id, &s.name))
        .await
        .map_err(|e| SourceError::Config(format!("credentials unavailable: {e}")))?;
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| SourceError::Config(format!("stored credentials unreadable: {e}")))
}

/// Poll one source now: list, find new and grown logs, ingest them. Returns how many logs
/// were handled.
pub async fn poll_source(ing: &Ingestor, s: &SourceRecord) -> usize {
    let store = ing.store().clone();
    let result = poll_inner(ing, s).await;
    if matches!(result, Err(SourceError::Stopped)) {
        return 0;
    }
    let (seen, err) = match &result {
        Ok((seen, _)) => (*seen, None),
        Err(e) => (s.stats.objects_seen, Some(e.to_string())),
    };
    ing.sources().update(s, |p| p.polling = false);
    if let Some(e) = &err {
        tracing::warn!(instance = %s.instance_id, source = %s.name, error = %e, "source poll failed");
    }
    if let Err(e) = store
        .finish_source_poll(&s.instance_id, &s.name, seen, err.as_deref())
        .await
    {
        tracing::warn!(instance = %s.instance_id, source = %s.name, error = %e, "source: could not record poll");
    }
    result.map(|(_, n)| n).unwrap_or(0)
}

async fn poll_inner(ing: &Ingestor, s: &SourceRecord) -> Result<(i64, usize), SourceError> {
    if let Some(ep) = &s.endpoint {
        ing.sources()
            .check_endpoint(ep)
            .map_err(SourceError::Config)?;
    }
    let creds = load_credentials(ing, s).await?;
    let client = client(s, creds.as_ref())?;
    let (_, prefix) = parse_url(&s.url)?;
    let prefix_path = (!prefix.is_empty()).then(|| ObjPath::from(prefix.as_str()));
    let listed: Vec<ObjectMeta> = client
        .list(prefix_path.as_ref())
        .try_collect()
        .await
        .map_err(|e| SourceError::Read(format!("listing {}: {e}", s.url)))?;
    let seen = i64::try_from(listed.len()).unwrap_or(i64::MAX);
    let done = ing
        .store()
        .source_checkpoints(&s.instance_id, &s.name)
        .await
        .map_err(|e| SourceError::Read(e.to_string()))?;
    let todo: Vec<Unit> = group(listed)
        .into_iter()
        .filter(|u| {
            u.objects.iter().any(|o| {
                let c = checkpoint_of(o);
                !done
                    .get(&c.key)
                    .is_some_and(|d| d.covers(c.size, c.etag.as_deref(), c.last_modified))
            })
        })
        .collect();
    let found = todo.len();
    ing.sources().update(s, |p| {
        *p = Progress {
            polling: true,
            found: found as u64,
            done: 0,
            failed: 0,
        }
    });
    if found > 0 {
        tracing::info!(instance = %s.instance_id, source = %s.name, objects = seen, new_or_grown = found, "source poll: logs to ingest");
    }
    let mut results = futures_util::stream::iter(todo)
        .map(|u| {
            let client = client.clone();
            async move {
                let r = if ing.store().is_closed() {
                    Err(SourceError::Stopped)
                } else {
                    handle_unit(ing, s, &client, &u).await
                };
                (u, r)
            }
        })
        .buffer_unordered(CONCURRENCY);
    let mut handled = 0usize;
    while let Some((unit, r)) = results.next().await {
        if matches!(r, Err(SourceError::Stopped)) {
            return Err(SourceError::Stopped);
        }
        handled += 1;
        if let Err(e) = &r {
            tracing::warn!(instance = %s.instance_id, source = %s.name, key = %unit.key, error = %e, "source: log not ingested");
            let objects: Vec<SourceObject> = unit
                .objects
                .iter()
                .map(|o| SourceObject {
                    outcome: "error".into(),
                    detail: Some(e.to_string().chars().take(500).collect()),
                    ..checkpoint_of(o)
                })
                .collect();
            if let Err(e) = ing
                .store()
                .record_source_objects(&s.instance_id, &s.name, &objects, 0, 1)
                .await
            {
                tracing::warn!(error = %e, "source: could not record a failed log");
            }
        }
        ing.sources().update(s, |p| {
            p.done += 1;
            p.failed += u64::from(r.is_err());
        });
        if handled % 100 == 0 || handled == found {
            tracing::info!(instance = %s.instance_id, source = %s.name, done = handled, total = found, "source poll progress");
        }
    }
    Ok((seen, handled))
}

async fn handle_unit(
    ing: &Ingestor,
    s: &SourceRecord,
    client: &Arc<dyn ObjectStore>,
    u: &Unit,
) -> Result<(), SourceError> {
    let json = match u.kind {
        UnitKind::Summary => {
            let o = &u.objects[0];
            if o.size > MAX_SUMMARY_OBJECT {
                return Err(SourceError::Ingest(format!(
                    "summary is {} bytes (limit {MAX_SUMMARY_OBJECT})",
                    o.size
                )));
            }
            client
                .get(&o.location)
                .await
                .map_err(|e| SourceError::Read(e.to_string()))?
                .bytes()
                .await
                .map_err(|e| SourceError::Read(e.to_string()))?
                .to_vec()
        }
        _ => analyse_unit(client, u).await?,
    };
    let (bucket, _) = parse_url(&s.url)?;
    let event_log = (u.kind != UnitKind::Summary).then(|| format!("s3://{bucket}/{}", u.key));
    let checkpoint = Checkpoint {
        source: s.name.clone(),
        objects: u.objects.iter().map(checkpoint_of).collect(),
    };
    ing.ingest(IngestRequest {
        instance_id: &s.instance_id,
        origin: Origin::Source(s.name.clone()),
        bytes: &json,
        principal_id: None,
        event_log,
        application_id: None,
        checkpoint: Some(checkpoint),
    })
    .await
    .map_err(|e| SourceError::Ingest(format!("{e}")))?;
    Ok(())
}

async fn download(
    client: &Arc<dyn ObjectStore>,
    o: &ObjectMeta,
    to: &Path,
) -> Result<(), SourceError> {
    use tokio::io::AsyncWriteExt;
    let read = |e: object_store::Error| SourceError::Read(format!("{}: {e}", o.location));
    let mut stream = client.get(&o.location).await.map_err(read)?.into_stream();
    let mut f = tokio::fs::File::create(to)
        .await
        .map_err(|e| SourceError::Read(format!("{}: {e}", to.display())))?;
    while let Some(chunk) = stream.next().await {
        f.write_all(&chunk.map_err(read)?)
            .await
            .map_err(|e| SourceError::Read(format!("{}: {e}", to.display())))?;
    }
    f.flush()
        .await
        .map_err(|e| SourceError::Read(format!("{}: {e}", to.display())))?;
    Ok(())
}

fn base_name(key: &str) -> &str {
    key.rsplit('/').next().unwrap_or(key)
}

/// Download a log's objects to a temporary directory and analyse them there.
async fn analyse_unit(client: &Arc<dyn ObjectStore>, u: &Unit) -> Result<Vec<u8>, SourceError> {
    let tmp = tempfile::tempdir().map_err(|e| SourceError::Read(e.to_string()))?;
    let log_path: PathBuf = match u.kind {
        UnitKind::File => {
            let p = tmp.path().join(base_name(&u.key));
            download(client, &u.objects[0], &p).await?;
            p
        }
        UnitKind::Directory => {
            let dir = tmp.path().join(base_name(&u.key));
            tokio::fs::create_dir(&dir)
                .await
                .map_err(|e| SourceError::Read(e.to_string()))?;
            for o in &u.objects {
                let rel = o.location.to_string();
                let name = rel
                    .strip_prefix(&format!("{}/", u.key))
                    .unwrap_or(base_name(&rel));
                if name.contains('/') {
                    continue; // nested deeper than the log directory
                }
                download(client, o, &dir.join(name)).await?;
            }
            dir
        }
        UnitKind::Databricks => {
            let parts = tmp.path().join("parts");
            tokio::fs::create_dir(&parts)
                .await
                .map_err(|e| SourceError::Read(e.to_string()))?;
            let mut names = Vec::new();
            for o in &u.objects {
                let name = base_name(o.location.as_ref()).to_owned();
                download(client, o, &parts.join(&name)).await?;
                names.push(name);
            }
            let out = tmp.path().join("eventlog");
            let out2 = out.clone();
            tokio::task::spawn_blocking(move || join_databricks(&parts, names, &out2))
                .await
                .map_err(|e| SourceError::Ingest(e.to_string()))??;
            out
        }
        UnitKind::Summary => return Err(SourceError::Ingest("not a log".into())),
    };
    let json = tokio::task::spawn_blocking(move || -> Result<Vec<u8>, SourceError> {
        let log = sparkplane_eventlog::open(&log_path)
            .map_err(|e| SourceError::Ingest(format!("not a readable event log: {e}")))?;
        let a = sparkplane_analysis::analyze(&log, &sparkplane_analysis::Options::default())
            .map_err(|e| SourceError::Ingest(format!("analysis failed: {e}")))?;
        serde_json::to_vec(&a.summary).map_err(|e| SourceError::Ingest(e.to_string()))
    })
    .await
    .map_err(|e| SourceError::Ingest(e.to_string()))??;
    drop(tmp);
    Ok(json)
}

/// Databricks: rotated `eventlog-<time>.gz` parts (oldest first: the names sort by time),
/// gunzipped, then the live `eventlog`, as one plain file.
fn join_databricks(dir: &Path, mut names: Vec<String>, out: &Path) -> Result<(), SourceError> {
    use std::io::Write;
    let io = |e: std::io::Error| SourceError::Read(e.to_string());
    names.sort_by_key(|n| (n == "eventlog", n.clone()));
    let mut w = std::io::BufWriter::new(std::fs::File::create(out).map_err(io)?);
    for n in names {
        let f = std::fs::File::open(dir.join(&n)).map_err(io)?;
        let mut r: Box<dyn std::io::Read> = if n.ends_with(".gz") {
            Box::new(flate2::read::MultiGzDecoder::new(std::io::BufReader::new(
                f,
            )))
        } else {
            Box::new(std::io::BufReader::new(f))
        };
        let n_bytes = std::io::copy(&mut r, &mut w).map_err(io)?;
        if n_bytes > 0 {
            // A part may end without a newline; never glue two events together.
            w.write_all(b"\n").map_err(io)?;
        }
    }
    w.flush().map_err(io)
}

impl Ingestor {
    /// A weak handle (the poller's).
    pub fn downgrade(&self) -> WeakIngestor {
        WeakIngestor(Arc::downgrade(&self.0))
    }

    /// Upgrade a weak handle.
    pub fn upgrade(w: &WeakIngestor) -> Option<Ingestor> {
        w.0.upgrade().map(Ingestor)
    }
}

/// A weak [`Ingestor`].
pub struct WeakIngestor(Weak<crate::ingest::IngestorInner>);

impl WeakIngestor {
    fn strong_count(&self) -> usize {
        self.0.strong_count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(key: &str) -> ObjectMeta {
        ObjectMeta {
            location: ObjPath::from(key),
            last_modified: chrono::DateTime::<chrono::Utc>::default(),
            size: 1,
            e_tag: Some("e".into()),
            version: None,
        }
    }

    #[test]
    fn groups_layouts() {
        let units = group(vec![
            meta("p/local-1/1/summary.json"),
            meta("p/eventlog_v2_local-2/events_1_local-2.zstd"),
            meta("p/eventlog_v2_local-2/events_2_local-2.zstd"),
            meta("p/eventlog_v2_local-2/appstatus_local-2.inprogress"),
            meta("p/c1/eventlog/c1_10_0_0_1/123/eventlog"),
            meta("p/c1/eventlog/c1_10_0_0_1/123/eventlog-2024-01-31--10-00.gz"),
            meta("p/app-2024-0001.lz4"),
            meta("p/application_1_2.inprogress"),
            meta("p/_SUCCESS"),
            meta("p/readme.txt"),
            meta("p/legacy/EVENT_LOG_1"),
            meta("p/legacy/SPARK_VERSION_1.6.0"),
        ]);
        let kinds: Vec<(String, UnitKind, usize)> = units
            .iter()
            .map(|u| (u.key.clone(), u.kind, u.objects.len()))
            .collect();
        assert_eq!(
            kinds,
            vec![
                ("p/app-2024-0001.lz4".into(), UnitKind::File, 1),
                ("p/application_1_2.inprogress".into(), UnitKind::File, 1),
                (
                    "p/c1/eventlog/c1_10_0_0_1/123".into(),
                    UnitKind::Databricks,
                    2
                ),
                ("p/eventlog_v2_local-2".into(), UnitKind::Directory, 3),
                ("p/legacy".into(), UnitKind::Directory, 2),
                ("p/local-1/1/summary.json".into(), UnitKind::Summary, 1),
            ]
        );
    }

    #[test]
    fn urls() {
        assert_eq!(
            parse_url("s3://my-bucket/a/b/").unwrap(),
            ("my-bucket".into(), "a/b".into())
        );
        assert!(parse_url("s3://B/x").is_err());
        assert!(parse_url("gs://bucket/x").is_err());
        assert!(parse_url("s3://bucket/../x").is_err());
    }
}
