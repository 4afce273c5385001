//! Ingestion of performance summaries: THE one way a summary gets into sparkplane (the
//! `POST …/performance_summaries` route, the runner's end-of-run outbox and the event-log
//! source poller all call [`ingest_summary`]).
//!
//! Steps: size limit ([`MAX_SUMMARY_BYTES`], 413 beyond); JSON Schema validation against
//! `schema/summary.schema.json` (the published contract: errors name the path), then typed
//! deserialization into [`Summary`] (so what is stored is exactly the typed summary:
//! unknown fields, which could carry anything, are dropped); redaction again server-side with
//! the analyzer's [`Redactor`] (a client may be old, modified or buggy); cost from core-hours and
//! memory-GB-hours at the server's [`Prices`]; then the object
//! `instances/<instance>/summaries/<id>.json`, then the row with its audit event.

use std::sync::{Arc, OnceLock};

use sha2::{Digest, Sha256};
use sparkplane_analysis::redact::Redactor;
use sparkplane_analysis::summary::{AppStatus, Evidence, Severity as InsightSeverity};
use sparkplane_analysis::Summary;
use sparkplane_store::{
    summary_object_key, NewSummary, Objects, Origin, Outcome, RunStatus, Severity, SourceObject,
    Store, SummaryRecord, UpsertOutcome,
};

use crate::error::ApiError;
use crate::state::{audit_event, AppState};

/// Largest summary accepted (bytes of JSON).
pub const MAX_SUMMARY_BYTES: usize = 16 * 1024 * 1024;

/// The published summary schema.
const SCHEMA: &str = include_str!("../../../schema/summary.schema.json");

/// Summary format major version this server reads.
const SCHEMA_MAJOR: &str = "1";

/// Prices of the cost estimate (per allocated core-hour and per allocated memory GB-hour).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prices {
    /// Price of one core-hour.
    pub core_hour: f64,
    /// Price of one GB-hour of executor memory.
    pub memory_gb_hour: f64,
}

impl Default for Prices {
    /// Placeholder list prices (same unit as the operator's currency); set your own with
    /// `--price-core-hour` / `--price-memory-gb-hour`.
    fn default() -> Self {
        Prices {
            core_hour: 0.05,
            memory_gb_hour: 0.005,
        }
    }
}

impl Prices {
    /// Cost of a run.
    pub fn cost(&self, core_hours: f64, memory_gb_hours: f64) -> f64 {
        core_hours * self.core_hour + memory_gb_hours * self.memory_gb_hour
    }
}

/// Ingest settings as one layer (TOML table `[ingest]`; flags `--price-core-hour`,
/// `--price-memory-gb-hour`, `--source-poll-seconds`, `--source-endpoint-allow`).
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IngestLayer {
    /// Price of one allocated core-hour.
    pub price_core_hour: Option<f64>,
    /// Price of one allocated memory GB-hour.
    pub price_memory_gb_hour: Option<f64>,
    /// Seconds between polls of the event-log sources.
    pub source_poll_seconds: Option<u64>,
    /// The only S3 endpoint hosts sources may use (`host`, `host:port`, `*.suffix`).
    pub source_endpoint_allow: Option<Vec<String>>,
}

impl IngestLayer {
    /// Fill the unset fields of `high` from `low`.
    pub fn merge(high: Option<Self>, low: Option<Self>) -> Option<Self> {
        match (high, low) {
            (Some(h), Some(l)) => Some(IngestLayer {
                price_core_hour: h.price_core_hour.or(l.price_core_hour),
                price_memory_gb_hour: h.price_memory_gb_hour.or(l.price_memory_gb_hour),
                source_poll_seconds: h.source_poll_seconds.or(l.source_poll_seconds),
                source_endpoint_allow: h.source_endpoint_allow.or(l.source_endpoint_allow),
            }),
            (h, l) => h.or(l),
        }
    }

    /// Apply defaults and check the values.
    pub fn resolve(layer: Option<&Self>) -> Result<IngestSettings, String> {
        let d = IngestSettings::default();
        let Some(l) = layer else {
            return Ok(d);
        };
        let price = |name: &str, v: Option<f64>, default: f64| match v {
            None => Ok(default),
            Some(p) if p.is_finite() && p >= 0.0 => Ok(p),
            Some(p) => Err(format!("{name} must be a price of 0 or more, got {p}")),
        };
        let secs = l
            .source_poll_seconds
            .unwrap_or(d.source_poll_interval.as_secs());
        if secs == 0 {
            return Err("source_poll_seconds must be 1 or more".into());
        }
        Ok(IngestSettings {
            prices: Prices {
                core_hour: price("price_core_hour", l.price_core_hour, d.prices.core_hour)?,
                memory_gb_hour: price(
                    "price_memory_gb_hour",
                    l.price_memory_gb_hour,
                    d.prices.memory_gb_hour,
                )?,
            },
            source_poll_interval: std::time::Duration::from_secs(secs),
            source_endpoint_policy: l
                .source_endpoint_allow
                .clone()
                .map(crate::endpoint_policy::EndpointPolicy::allow_only)
                .unwrap_or_default(),
        })
    }
}

/// Resolved ingest settings.
#[derive(Debug, Clone, PartialEq)]
pub struct IngestSettings {
    /// Prices of the cost estimate.
    pub prices: Prices,
    /// Time between polls of the event-log sources.
    pub source_poll_interval: std::time::Duration,
    /// Which S3 endpoints sources may use.
    pub source_endpoint_policy: crate::endpoint_policy::EndpointPolicy,
}

impl Default for IngestSettings {
    fn default() -> Self {
        IngestSettings {
            prices: Prices::default(),
            source_poll_interval: crate::sources::DEFAULT_POLL_INTERVAL,
            source_endpoint_policy: Default::default(),
        }
    }
}

/// The ingest service: the store, the object store, prices and per-summary locks. Cheap to
/// clone; built once in [`crate::build_app`] (kept in [`crate::state::Inner::ingest`]) and
/// handed to whatever ingests (routes, outbox, source poller).
#[derive(Clone)]
pub struct Ingestor(pub(crate) Arc<IngestorInner>);

pub(crate) struct IngestorInner {
    store: Arc<Store>,
    objects: Objects,
    prices: Prices,
    /// Serialises ingests of the same summary id (object write + row upsert), striped.
    locks: Vec<tokio::sync::Mutex<()>>,
    sources: crate::sources::SourcesState,
}

impl Ingestor {
    /// A new ingest service.
    pub fn new(
        store: Arc<Store>,
        objects: Objects,
        prices: Prices,
        poll_interval: std::time::Duration,
    ) -> Self {
        Ingestor(Arc::new(IngestorInner {
            store,
            objects,
            prices,
            locks: (0..64).map(|_| tokio::sync::Mutex::new(())).collect(),
            sources: crate::sources::SourcesState::new(poll_interval),
        }))
    }

    /// Prices of the cost estimate.
    pub fn prices(&self) -> Prices {
        self.0.prices
    }

    /// The tenant database.
    pub fn store(&self) -> &Arc<Store> {
        &self.0.store
    }

    /// The object store.
    pub fn objects(&self) -> &Objects {
        &self.0.objects
    }

    /// The source poller's state.
    pub fn sources(&self) -> &crate::sources::SourcesState {
        &self.0.sources
    }

    fn lock_for(&self, id: &str) -> &tokio::sync::Mutex<()> {
        let h = id.bytes().fold(0usize, |a, b| {
            a.wrapping_mul(31).wrapping_add(usize::from(b))
        });
        &self.0.locks[h % self.0.locks.len()]
    }

    /// Ingest one summary into an instance (already authorized by the caller): see the
    /// module documentation. Errors: 413 too large, 400 invalid, 500 store failures.
    pub async fn ingest(&self, req: IngestRequest<'_>) -> Result<Ingested, ApiError> {
        let (new, json) = prepare(&self.0.prices, &req)?;
        let id = new.id();
        let _guard = self.lock_for(&id).lock().await;
        let store = &self.0.store;
        let preview = store.preview_summary(&new).await?;
        if preview.writes() {
            self.0
                .objects
                .put(&summary_object_key(req.instance_id, &id), json)
                .await?;
        }
        let resource = format!(
            "/v3/analytics_engines/{}/performance_summaries/{id}",
            req.instance_id
        );
        let status = if preview == UpsertOutcome::Inserted {
            201
        } else {
            200
        };
        let audit = audit_event(
            req.principal_id,
            "summary.ingest",
            &resource,
            Some(req.instance_id),
            Outcome::Success,
            status,
        );
        let (record, outcome) = match &req.checkpoint {
            Some(cp) => {
                store
                    .upsert_summary_from_source(&new, &audit, &cp.source, &cp.objects)
                    .await?
            }
            None => store.upsert_summary(&new, &audit).await?,
        };
        tracing::debug!(summary = %record.id, origin = %record.origin, outcome = outcome.as_str(), "summary ingested");
        Ok(Ingested { record, outcome })
    }
}

/// The source objects a summary was made from, recorded with it (see
/// [`Store::upsert_summary_from_source`]).
#[derive(Debug, Clone)]
pub struct Checkpoint {
    /// Source name.
    pub source: String,
    /// Objects (outcome and summary id are filled in by the store).
    pub objects: Vec<SourceObject>,
}

/// One summary to ingest.
#[derive(Debug, Clone)]
pub struct IngestRequest<'a> {
    /// Instance it goes into (the caller has authorized this).
    pub instance_id: &'a str,
    /// Origin (part of the identity).
    pub origin: Origin,
    /// The summary JSON.
    pub bytes: &'a [u8],
    /// Principal for the audit event (None: the server itself, e.g. a source).
    pub principal_id: Option<&'a str>,
    /// Where the event log is, if known.
    pub event_log: Option<String>,
    /// sparkplane application id (runner runs).
    pub application_id: Option<String>,
    /// Source objects to checkpoint with the summary (source poller only).
    pub checkpoint: Option<Checkpoint>,
}

/// What an ingest did.
#[derive(Debug, Clone)]
pub struct Ingested {
    /// The row now stored.
    pub record: SummaryRecord,
    /// Inserted, replaced, unchanged or outdated.
    pub outcome: UpsertOutcome,
}

fn validator() -> Result<&'static jsonschema::Validator, ApiError> {
    static V: OnceLock<Result<jsonschema::Validator, String>> = OnceLock::new();
    V.get_or_init(|| {
        let schema: serde_json::Value =
            serde_json::from_str(SCHEMA).map_err(|e| format!("summary schema: {e}"))?;
        jsonschema::validator_for(&schema).map_err(|e| format!("summary schema: {e}"))
    })
    .as_ref()
    .map_err(|e| ApiError::Internal(e.clone()))
}

/// Validate and parse a summary: schema first (errors name the JSON path), then typed.
pub fn parse_summary(bytes: &[u8]) -> Result<Summary, ApiError> {
    if bytes.len() > MAX_SUMMARY_BYTES {
        return Err(ApiError::PayloadTooLarge);
    }
    let value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| ApiError::BadRequest(format!("summary is not valid JSON: {e}")))?;
    if !value.is_object() {
        return Err(ApiError::BadRequest("summary must be a JSON object".into()));
    }
    let problems: Vec<String> = validator()?
        .iter_errors(&value)
        .take(5)
        .map(|e| {
            let path = e.instance_path().to_string();
            let path = if path.is_empty() { "/".into() } else { path };
            format!("{path}: {e}")
        })
        .collect();
    if !problems.is_empty() {
        return Err(ApiError::BadRequest(format!(
            "summary does not match schema/summary.schema.json: {}",
            problems.join("; ")
        )));
    }
    let summary: Summary = serde_json::from_value(value)
        .map_err(|e| ApiError::BadRequest(format!("invalid summary: {e}")))?;
    let major = summary.schema_version.split('.').next().unwrap_or("");
    if major != SCHEMA_MAJOR {
        return Err(ApiError::BadRequest(format!(
            "unsupported schema_version `{}` (this server reads {SCHEMA_MAJOR}.x)",
            summary.schema_version
        )));
    }
    Ok(summary)
}

fn text(r: &Redactor, s: &mut String) {
    if let std::borrow::Cow::Owned(o) = r.text(s) {
        *s = o;
    }
}

fn message(r: &Redactor, s: &mut String) {
    if let std::borrow::Cow::Owned(o) = r.message(s) {
        *s = o;
    }
}

/// Redact again, server-side, every free-form string the analyzer redacts (same rules, so a
/// summary from an honest exporter comes out unchanged).
pub fn redact_again(s: &mut Summary) {
    let r = Redactor::shared();
    if let Some(n) = s.app.name.as_mut() {
        text(r, n);
    }
    if let Some(u) = s.app.user.as_mut() {
        message(r, u);
    }
    s.app.spark_conf = r.conf_map(
        s.app
            .spark_conf
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str())),
    );
    for j in &mut s.jobs {
        text(r, &mut j.name);
        if let Some(f) = j.failure_reason.as_mut() {
            message(r, f);
        }
        if let Some(d) = j.description.as_mut() {
            *d = r.sql(d);
        }
    }
    for st in &mut s.stages {
        text(r, &mut st.name);
        if let Some(f) = st.failure_reason.as_mut() {
            message(r, f);
        }
    }
    for x in &mut s.executors {
        if let Some(h) = x.host.as_mut() {
            text(r, h);
        }
        if let Some(f) = x.remove_reason.as_mut() {
            message(r, f);
        }
    }
    for q in &mut s.sql {
        q.description = r.sql(&q.description);
        if let Some(e) = q.error_message.as_mut() {
            message(r, e);
        }
        for n in &mut q.node_names {
            text(r, n);
        }
        for m in &mut q.metrics {
            text(r, &mut m.node_name);
        }
        q.physical_plan = r.sql(&q.physical_plan);
    }
    for i in &mut s.insights {
        text(r, &mut i.title);
        text(r, &mut i.message);
        for v in i.evidence.values_mut() {
            if let Evidence::Text(t) = v {
                message(r, t);
            }
        }
    }
    let d = &mut s.diagnostics;
    for w in &mut d.warnings {
        message(r, w);
    }
    for m in &mut d.malformed {
        message(r, &mut m.error);
        text(r, &mut m.file);
    }
    for f in &mut d.file_names {
        text(r, f);
    }
    for v in d.extra.values_mut() {
        r.json_strings(v);
    }
}

/// A Spark memory size (`4g`, `512m`, `1024` = MiB, `2gb`) in GiB.
pub fn spark_memory_gib(s: &str) -> Option<f64> {
    let s = s.trim().to_ascii_lowercase();
    let s = s.strip_suffix('b').unwrap_or(&s);
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(i) => s.split_at(i),
        None => (s, "m"),
    };
    let n: f64 = num.parse().ok()?;
    let gib = match unit {
        "k" => n / (1024.0 * 1024.0),
        "m" => n / 1024.0,
        "g" => n,
        "t" => n * 1024.0,
        "p" => n * 1024.0 * 1024.0,
        _ => return None,
    };
    (gib.is_finite() && gib >= 0.0).then_some(gib)
}

/// Allocated memory GB-hours: each executor's lifetime (added → removed, else application
/// end) times its memory (`spark.executor.memory` + an explicit `spark.executor.memoryOverhead`;
/// the driver's entry in local mode: `spark.driver.memory`; Spark's default 1g when unset).
pub fn memory_gb_hours(s: &Summary) -> f64 {
    let conf = &s.app.spark_conf;
    let mem = |key: &str, overhead: &str| {
        conf.get(key)
            .and_then(|v| spark_memory_gib(v))
            .unwrap_or(1.0)
            + conf
                .get(overhead)
                .and_then(|v| spark_memory_gib(v))
                .unwrap_or(0.0)
    };
    let executor = mem("spark.executor.memory", "spark.executor.memoryOverhead");
    let driver = mem("spark.driver.memory", "spark.driver.memoryOverhead");
    let end = s.app.end_time;
    s.executors
        .iter()
        .filter_map(|x| {
            let from = x.add_time?;
            let to = x.remove_time.or(end)?;
            let hours = (to - from).max(0) as f64 / 3_600_000.0;
            let gib = if x.executor_id == "driver" {
                driver
            } else {
                executor
            };
            Some(hours * gib)
        })
        .sum()
}

fn run_status(s: AppStatus) -> RunStatus {
    match s {
        AppStatus::Succeeded => RunStatus::Succeeded,
        AppStatus::Failed => RunStatus::Failed,
        AppStatus::Running => RunStatus::Running,
        AppStatus::Unknown => RunStatus::Unknown,
    }
}

fn severity(s: InsightSeverity) -> Severity {
    match s {
        InsightSeverity::Info => Severity::Info,
        InsightSeverity::Warning => Severity::Warning,
        InsightSeverity::Critical => Severity::Critical,
    }
}

/// An application or attempt id usable as an identity part.
fn check_id(what: &str, v: &str) -> Result<(), ApiError> {
    if v.is_empty() || v.len() > 255 || v.chars().any(char::is_control) {
        return Err(ApiError::BadRequest(format!(
            "summary `{what}` must be 1 to 255 characters without control characters"
        )));
    }
    Ok(())
}

/// Prepare a summary for storage: validated, redacted again, with its row.
pub fn prepare(
    prices: &Prices,
    req: &IngestRequest<'_>,
) -> Result<(NewSummary, Vec<u8>), ApiError> {
    let mut summary = parse_summary(req.bytes)?;
    redact_again(&mut summary);
    let app_id = summary
        .app
        .id
        .clone()
        .ok_or_else(|| ApiError::BadRequest("summary has no `app.id`".into()))?;
    check_id("app.id", &app_id)?;
    let attempt = summary
        .app
        .attempt_id
        .clone()
        .unwrap_or_else(|| "1".to_owned());
    check_id("app.attempt_id", &attempt)?;
    let json = serde_json::to_vec(&summary)
        .map_err(|e| ApiError::Internal(format!("serialize summary: {e}")))?;
    let core_hours = summary.totals.core_hours_allocated.max(0.0);
    let mem_hours = memory_gb_hours(&summary);
    let new = NewSummary {
        instance_id: req.instance_id.to_owned(),
        origin: req.origin.clone(),
        app_id,
        attempt,
        name: summary.app.name.clone(),
        status: run_status(summary.app.status),
        completed: summary.app.completed,
        spark_version: summary.app.spark_version.clone(),
        start_time: summary.app.start_time,
        end_time: summary.app.end_time,
        duration_ms: summary.app.duration_ms,
        core_hours,
        memory_gb_hours: mem_hours,
        cost: Some(prices.cost(core_hours, mem_hours)),
        insights: summary
            .insights
            .iter()
            .map(|i| (i.kind.as_str().to_owned(), severity(i.severity)))
            .collect(),
        events_total: i64::try_from(summary.diagnostics.events_total).unwrap_or(i64::MAX),
        event_log: req.event_log.clone(),
        application_id: req.application_id.clone(),
        size_bytes: i64::try_from(json.len()).unwrap_or(i64::MAX),
        sha256: hex(&Sha256::digest(&json)),
    };
    Ok((new, json))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Ingest one summary through the server's [`Ingestor`].
pub async fn ingest_summary(
    state: &AppState,
    req: IngestRequest<'_>,
) -> Result<Ingested, ApiError> {
    state.ingest.ingest(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_sizes() {
        assert_eq!(spark_memory_gib("4g"), Some(4.0));
        assert_eq!(spark_memory_gib("512m"), Some(0.5));
        assert_eq!(spark_memory_gib("1024"), Some(1.0));
        assert_eq!(spark_memory_gib("2GB"), Some(2.0));
        assert_eq!(spark_memory_gib("x"), None);
    }

    #[test]
    fn refuses_bad_summaries() {
        assert!(matches!(
            parse_summary(b"{\"schema_version\":\"1.0\"}"),
            Err(ApiError::BadRequest(m)) if m.contains("schema")
        ));
        assert!(matches!(
            parse_summary(b"[1]"),
            Err(ApiError::BadRequest(_))
        ));
        let big = vec![b' '; MAX_SUMMARY_BYTES + 1];
        assert!(matches!(
            parse_summary(&big),
            Err(ApiError::PayloadTooLarge)
        ));
    }
}
