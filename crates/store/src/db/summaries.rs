//! Performance summaries: one row per (instance, origin, application id, attempt) with what the
//! listing, filters and trends need; the full summary JSON is an object at
//! [`summary_object_key`]. The contract for other parts of sparkplane is
//! `notes/summaries-contract.md` (and `docs/export.md` for users).
//!
//! Writes go through [`Store::upsert_summary`]: the row and its audit event commit together,
//! and a summary already stored is replaced (never duplicated); a stored copy that is further
//! along than the incoming one (a completed run, or more events of a growing log) is kept.

use std::fmt;
use std::str::FromStr;

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::insert_audit;
use super::sources::SourceObject;
use crate::crypto::{instance_scope, Keyring};
use crate::model::AuditEvent;
use crate::{Store, StoreError};

/// Most rows one page returns.
pub const MAX_PAGE: i64 = 1000;

/// Namespace of summary ids (UUIDv5 of the identity).
const ID_NAMESPACE: uuid::Uuid = uuid::Uuid::from_u128(0x6a1e_43b1_93c2_4f0e_9d2c_5f3e_8b71_0c24);

/// Where a summary came from; part of its identity.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Origin {
    /// Written by sparkplane's own runner at the end of a run.
    Runner,
    /// `POST …/performance_summaries` by a service ID holding the Exporter role.
    Exporter(String),
    /// `POST …/performance_summaries` by a Writer (or Manager).
    Writer(String),
    /// Found by the instance's event-log source of this name.
    Source(String),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Runner => f.write_str("runner"),
            Self::Exporter(p) => write!(f, "exporter:{p}"),
            Self::Writer(p) => write!(f, "writer:{p}"),
            Self::Source(n) => write!(f, "source:{n}"),
        }
    }
}

/// A string that is not a valid value of the type it was parsed as.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what} `{value}`")]
pub struct ParseError {
    /// What was parsed.
    pub what: &'static str,
    /// The value.
    pub value: String,
}

impl FromStr for Origin {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || ParseError {
            what: "origin",
            value: s.to_owned(),
        };
        if s == "runner" {
            return Ok(Self::Runner);
        }
        let (kind, rest) = s.split_once(':').ok_or_else(bad)?;
        if rest.is_empty() {
            return Err(bad());
        }
        match kind {
            "exporter" => Ok(Self::Exporter(rest.to_owned())),
            "writer" => Ok(Self::Writer(rest.to_owned())),
            "source" => Ok(Self::Source(rest.to_owned())),
            _ => Err(bad()),
        }
    }
}

/// The application's final (or current) state, as in the summary's `app.status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RunStatus {
    /// Ended successfully.
    Succeeded,
    /// Ended with a failure.
    Failed,
    /// Still being written.
    Running,
    /// No end event and not in progress (the driver died, or the log was cut).
    Unknown,
}

impl RunStatus {
    /// Stable string (`succeeded|failed|running|unknown`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Running => "running",
            Self::Unknown => "unknown",
        }
    }
}

impl FromStr for RunStatus {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "succeeded" => Ok(Self::Succeeded),
            "failed" => Ok(Self::Failed),
            "running" => Ok(Self::Running),
            "unknown" => Ok(Self::Unknown),
            _ => Err(ParseError {
                what: "status",
                value: s.to_owned(),
            }),
        }
    }
}

/// An insight's severity, ordered `Info < Warning < Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Worth knowing.
    Info,
    /// Worth changing.
    Warning,
    /// Costs a lot.
    Critical,
}

impl Severity {
    /// Stable string (`info|warning|critical`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Critical => "critical",
        }
    }
}

impl FromStr for Severity {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "info" => Ok(Self::Info),
            "warning" => Ok(Self::Warning),
            "critical" => Ok(Self::Critical),
            _ => Err(ParseError {
                what: "severity",
                value: s.to_owned(),
            }),
        }
    }
}

/// The id of the summary with this identity (stable: a UUIDv5 of the identity).
pub fn summary_id(instance_id: &str, origin: &Origin, app_id: &str, attempt: &str) -> String {
    let name = format!("{instance_id}\n{origin}\n{app_id}\n{attempt}");
    uuid::Uuid::new_v5(&ID_NAMESPACE, name.as_bytes()).to_string()
}

/// The object-store key of a summary's full JSON.
pub fn summary_object_key(instance_id: &str, summary_id: &str) -> String {
    format!("instances/{instance_id}/summaries/{summary_id}.json")
}

/// What [`Store::upsert_summary`] stores (the ingest code builds it from a validated summary).
#[derive(Debug, Clone, PartialEq)]
pub struct NewSummary {
    /// Instance.
    pub instance_id: String,
    /// Origin (identity).
    pub origin: Origin,
    /// Spark application id (identity).
    pub app_id: String,
    /// Attempt id; `"1"` when the application has none (identity, as in export keys).
    pub attempt: String,
    /// Application name (redacted).
    pub name: Option<String>,
    /// Final or current status.
    pub status: RunStatus,
    /// The log has the application's end event.
    pub completed: bool,
    /// Spark version.
    pub spark_version: Option<String>,
    /// Epoch ms.
    pub start_time: Option<i64>,
    /// Epoch ms.
    pub end_time: Option<i64>,
    /// Run time.
    pub duration_ms: Option<i64>,
    /// Allocated executor core-hours.
    pub core_hours: f64,
    /// Allocated executor memory GB-hours.
    pub memory_gb_hours: f64,
    /// Estimated cost (prices of the server), if prices are configured.
    pub cost: Option<f64>,
    /// (kind, severity) of each insight.
    pub insights: Vec<(String, Severity)>,
    /// Events the summary was built from (how far along a growing log is).
    pub events_total: i64,
    /// Where the event log is, if sparkplane knows it (runner runs, source objects).
    pub event_log: Option<String>,
    /// The sparkplane application id of runs of the runner.
    pub application_id: Option<String>,
    /// Size of the stored JSON.
    pub size_bytes: i64,
    /// SHA-256 (hex) of the stored JSON.
    pub sha256: String,
}

impl NewSummary {
    /// The id this summary has (and keeps across replacements).
    pub fn id(&self) -> String {
        summary_id(&self.instance_id, &self.origin, &self.app_id, &self.attempt)
    }
}

/// A stored summary row.
#[derive(Debug, Clone, PartialEq)]
pub struct SummaryRecord {
    /// Stable id (UUIDv5 of the identity).
    pub id: String,
    /// Instance.
    pub instance_id: String,
    /// Origin.
    pub origin: Origin,
    /// Spark application id.
    pub app_id: String,
    /// Attempt id (`"1"` when none).
    pub attempt: String,
    /// Application name.
    pub name: Option<String>,
    /// Status.
    pub status: RunStatus,
    /// The log has the end event.
    pub completed: bool,
    /// Spark version.
    pub spark_version: Option<String>,
    /// Epoch ms.
    pub start_time: Option<i64>,
    /// Epoch ms.
    pub end_time: Option<i64>,
    /// Run time.
    pub duration_ms: Option<i64>,
    /// Listing order: `start_time`, else the first ingest time.
    pub sort_time: i64,
    /// Allocated core-hours.
    pub core_hours: f64,
    /// Allocated memory GB-hours.
    pub memory_gb_hours: f64,
    /// Estimated cost.
    pub cost: Option<f64>,
    /// Insight kinds, sorted.
    pub insight_kinds: Vec<String>,
    /// Number of insights.
    pub insight_count: i64,
    /// Highest severity among the insights.
    pub top_severity: Option<Severity>,
    /// Events the summary was built from.
    pub events_total: i64,
    /// Event-log location, if known.
    pub event_log: Option<String>,
    /// sparkplane application id (runner runs).
    pub application_id: Option<String>,
    /// Object-store key of the full JSON.
    pub object_key: String,
    /// Size of the JSON.
    pub size_bytes: i64,
    /// SHA-256 (hex) of the JSON.
    pub sha256: String,
    /// First ingest (epoch ms).
    pub ingested_at: i64,
    /// Last replacement (epoch ms).
    pub updated_at: i64,
}

/// What an upsert did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpsertOutcome {
    /// A new summary.
    Inserted,
    /// Replaced the stored copy of the same identity.
    Replaced,
    /// The stored copy has the same bytes: nothing changed.
    Unchanged,
    /// The stored copy is further along (completed, or more events): kept, nothing changed.
    Outdated,
}

impl UpsertOutcome {
    /// Stable string.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Inserted => "inserted",
            Self::Replaced => "replaced",
            Self::Unchanged => "unchanged",
            Self::Outdated => "outdated",
        }
    }

    /// Whether the row (and so the object) is (to be) written.
    pub fn writes(self) -> bool {
        matches!(self, Self::Inserted | Self::Replaced)
    }
}

/// Decide what storing `new` over `old` does.
pub fn decide(old: Option<&SummaryRecord>, new: &NewSummary) -> UpsertOutcome {
    let Some(old) = old else {
        return UpsertOutcome::Inserted;
    };
    if old.sha256 == new.sha256 {
        return UpsertOutcome::Unchanged;
    }
    let older = (old.completed && !new.completed)
        || (old.completed == new.completed && new.events_total < old.events_total);
    if older {
        UpsertOutcome::Outdated
    } else {
        UpsertOutcome::Replaced
    }
}

/// Filters and page of [`Store::summaries`] (newest first: `sort_time` desc, then id desc).
#[derive(Debug, Clone, Default)]
pub struct SummaryQuery {
    /// Instance (required).
    pub instance_id: String,
    /// Only summaries with an insight of this kind.
    pub insight: Option<String>,
    /// Only this status.
    pub status: Option<RunStatus>,
    /// Only runs that started at or after (epoch ms).
    pub from: Option<i64>,
    /// Only runs that started before (epoch ms).
    pub to: Option<i64>,
    /// Only this exact application name.
    pub name: Option<String>,
    /// Only names containing this (case-sensitive; not indexed).
    pub name_contains: Option<String>,
    /// Only this origin.
    pub origin: Option<String>,
    /// Only this Spark application id.
    pub app_id: Option<String>,
    /// Keyset cursor: the `next` of the previous page (takes precedence over `offset`).
    pub cursor: Option<String>,
    /// Rows to skip (when no cursor).
    pub offset: i64,
    /// Page size (1..=[`MAX_PAGE`]).
    pub limit: i64,
    /// Also count all matching rows.
    pub with_total: bool,
}

/// One page of results.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The rows.
    pub items: Vec<T>,
    /// Cursor of the next page, if there may be one.
    pub next: Option<String>,
    /// All matching rows, if asked.
    pub total: Option<i64>,
}

fn cursor_of(r: &SummaryRecord) -> String {
    format!("{}.{}", r.sort_time, r.id)
}

fn parse_cursor(c: &str) -> Result<(i64, String), StoreError> {
    let bad = || StoreError::Invalid(format!("invalid cursor `{c}`"));
    let (t, id) = c.split_once('.').ok_or_else(bad)?;
    let t = t.parse::<i64>().map_err(|_| bad())?;
    if id.is_empty() || !id.chars().all(|ch| ch.is_ascii_hexdigit() || ch == '-') {
        return Err(bad());
    }
    Ok((t, id.to_owned()))
}

const COLUMNS: &str = "id, instance_id, origin, app_id, attempt, name, status, completed, \
    spark_version, start_time, end_time, duration_ms, sort_time, core_hours, memory_gb_hours, \
    cost, insight_kinds, insight_count, top_severity, events_total, event_log, application_id, \
    object_key, size_bytes, sha256, ingested_at, updated_at";

/// AEAD context of a row's sealed `name` (bound to the row id, so a name moved to another row
/// fails to open).
fn name_context(id: &str) -> String {
    format!("performance_summaries.name/{id}")
}

/// Blind-index context of `name_index` (the same for every row of an instance, so equal names
/// have equal hashes; the scope is the instance).
const NAME_INDEX_CONTEXT: &str = "performance_summaries.name_index";

/// What the `name` and `name_index` columns of a row hold: with a keyring, the sealed name and
/// its keyed hash; without one (offline tools, tests), the plaintext name and no hash.
async fn stored_name(
    keyring: Option<&Keyring>,
    instance_id: &str,
    id: &str,
    name: Option<&str>,
) -> Result<(Option<String>, Option<String>), StoreError> {
    match (keyring, name) {
        (Some(k), Some(n)) => {
            let scope = instance_scope(instance_id);
            let sealed = k
                .seal_value(&scope, &name_context(id), n.as_bytes())
                .await?;
            let index = k
                .blind_index(&scope, NAME_INDEX_CONTEXT, n.as_bytes())
                .await?;
            Ok((Some(sealed), Some(index)))
        }
        (_, n) => Ok((n.map(str::to_owned), None)),
    }
}

/// Decrypt a stored `name` (plaintext is returned as is: rows from before encryption at rest).
fn open_name(
    keyring: Option<&Keyring>,
    instance_id: &str,
    id: &str,
    stored: Option<String>,
) -> Result<Option<String>, StoreError> {
    super::sources::open_text(keyring, instance_id, &name_context(id), stored)
}

fn corrupt(e: impl fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

fn record_from_row(r: &AnyRow, keyring: Option<&Keyring>) -> Result<SummaryRecord, StoreError> {
    let kinds: String = r.try_get("insight_kinds")?;
    let top: Option<String> = r.try_get("top_severity")?;
    let id: String = r.try_get("id")?;
    let instance_id: String = r.try_get("instance_id")?;
    let name = open_name(keyring, &instance_id, &id, r.try_get("name")?)?;
    Ok(SummaryRecord {
        id,
        instance_id,
        origin: r.try_get::<String, _>("origin")?.parse().map_err(corrupt)?,
        app_id: r.try_get("app_id")?,
        attempt: r.try_get("attempt")?,
        name,
        status: r.try_get::<String, _>("status")?.parse().map_err(corrupt)?,
        completed: r.try_get::<i64, _>("completed")? != 0,
        spark_version: r.try_get("spark_version")?,
        start_time: r.try_get("start_time")?,
        end_time: r.try_get("end_time")?,
        duration_ms: r.try_get("duration_ms")?,
        sort_time: r.try_get("sort_time")?,
        core_hours: r.try_get("core_hours")?,
        memory_gb_hours: r.try_get("memory_gb_hours")?,
        cost: r.try_get("cost")?,
        insight_kinds: kinds
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        insight_count: r.try_get("insight_count")?,
        top_severity: top.map(|s| s.parse()).transpose().map_err(corrupt)?,
        events_total: r.try_get("events_total")?,
        event_log: r.try_get("event_log")?,
        application_id: r.try_get("application_id")?,
        object_key: r.try_get("object_key")?,
        size_bytes: r.try_get("size_bytes")?,
        sha256: r.try_get("sha256")?,
        ingested_at: r.try_get("ingested_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

fn record_of(new: &NewSummary, id: String, ingested_at: i64, now: i64) -> SummaryRecord {
    let mut kinds: Vec<String> = new.insights.iter().map(|(k, _)| k.clone()).collect();
    kinds.sort();
    kinds.dedup();
    SummaryRecord {
        object_key: summary_object_key(&new.instance_id, &id),
        id,
        instance_id: new.instance_id.clone(),
        origin: new.origin.clone(),
        app_id: new.app_id.clone(),
        attempt: new.attempt.clone(),
        name: new.name.clone(),
        status: new.status,
        completed: new.completed,
        spark_version: new.spark_version.clone(),
        start_time: new.start_time,
        end_time: new.end_time,
        duration_ms: new.duration_ms,
        sort_time: new.start_time.unwrap_or(ingested_at),
        core_hours: new.core_hours,
        memory_gb_hours: new.memory_gb_hours,
        cost: new.cost,
        insight_count: i64::try_from(new.insights.len()).unwrap_or(i64::MAX),
        insight_kinds: kinds,
        top_severity: new.insights.iter().map(|(_, s)| *s).max(),
        events_total: new.events_total,
        event_log: new.event_log.clone(),
        application_id: new.application_id.clone(),
        size_bytes: new.size_bytes,
        sha256: new.sha256.clone(),
        ingested_at,
        updated_at: now,
    }
}

async fn fetch_by_id(
    conn: &mut AnyConnection,
    keyring: Option<&Keyring>,
    id: &str,
) -> Result<Option<SummaryRecord>, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM performance_summaries WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await?;
    row.as_ref()
        .map(|r| record_from_row(r, keyring))
        .transpose()
}

async fn write_row(
    conn: &mut AnyConnection,
    rec: &SummaryRecord,
    (name, name_index): (Option<String>, Option<String>),
    insights: &[(String, Severity)],
    replace: bool,
) -> Result<(), StoreError> {
    if replace {
        sqlx::query("DELETE FROM performance_summary_insights WHERE summary_id = $1")
            .bind(&rec.id)
            .execute(&mut *conn)
            .await?;
        sqlx::query("DELETE FROM performance_summaries WHERE id = $1")
            .bind(&rec.id)
            .execute(&mut *conn)
            .await?;
    }
    sqlx::query(&format!(
        "INSERT INTO performance_summaries ({COLUMNS}, name_index) VALUES ($1, $2, $3, $4, $5, \
         $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, \
         $24, $25, $26, $27, $28)"
    ))
    .bind(&rec.id)
    .bind(&rec.instance_id)
    .bind(rec.origin.to_string())
    .bind(&rec.app_id)
    .bind(&rec.attempt)
    .bind(name)
    .bind(rec.status.as_str())
    .bind(i64::from(rec.completed))
    .bind(rec.spark_version.clone())
    .bind(rec.start_time)
    .bind(rec.end_time)
    .bind(rec.duration_ms)
    .bind(rec.sort_time)
    .bind(rec.core_hours)
    .bind(rec.memory_gb_hours)
    .bind(rec.cost)
    .bind(rec.insight_kinds.join(","))
    .bind(rec.insight_count)
    .bind(rec.top_severity.map(|s| s.as_str()))
    .bind(rec.events_total)
    .bind(rec.event_log.clone())
    .bind(rec.application_id.clone())
    .bind(&rec.object_key)
    .bind(rec.size_bytes)
    .bind(&rec.sha256)
    .bind(rec.ingested_at)
    .bind(rec.updated_at)
    .bind(name_index)
    .execute(&mut *conn)
    .await?;
    // One row per kind, with the kind's highest severity.
    let mut per_kind: std::collections::BTreeMap<&str, Severity> = Default::default();
    for (k, s) in insights {
        let e = per_kind.entry(k.as_str()).or_insert(*s);
        *e = (*e).max(*s);
    }
    for (kind, sev) in per_kind {
        sqlx::query(
            "INSERT INTO performance_summary_insights (summary_id, instance_id, kind, severity, sort_time) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&rec.id)
        .bind(&rec.instance_id)
        .bind(kind)
        .bind(sev.as_str())
        .bind(rec.sort_time)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

impl Store {
    /// Store a summary row (the caller has written its object at
    /// [`summary_object_key`] first when [`Store::preview_summary`] said it [`writes`]), with
    /// its audit event, in one transaction. Returns the row now stored and what happened.
    ///
    /// [`writes`]: UpsertOutcome::writes
    pub async fn upsert_summary(
        &self,
        new: &NewSummary,
        audit: &AuditEvent,
    ) -> Result<(SummaryRecord, UpsertOutcome), StoreError> {
        self.upsert_summary_in(new, audit, None).await
    }

    /// [`Store::upsert_summary`], also recording (in the same transaction) the checkpoints of
    /// the source objects the summary was made from and adding to the source's counters: a
    /// crash can never leave a summary stored but its objects unrecorded (or the reverse).
    pub async fn upsert_summary_from_source(
        &self,
        new: &NewSummary,
        audit: &AuditEvent,
        source_name: &str,
        objects: &[SourceObject],
    ) -> Result<(SummaryRecord, UpsertOutcome), StoreError> {
        self.upsert_summary_in(new, audit, Some((source_name, objects)))
            .await
    }

    async fn upsert_summary_in(
        &self,
        new: &NewSummary,
        audit: &AuditEvent,
        checkpoint: Option<(&str, &[SourceObject])>,
    ) -> Result<(SummaryRecord, UpsertOutcome), StoreError> {
        let id = new.id();
        let keyring = self.name_keyring();
        // Sealed before the transaction (the keyring may create the instance's data key).
        let stored = stored_name(keyring, &new.instance_id, &id, new.name.as_deref()).await?;
        let sealed_objects = match checkpoint {
            Some((source, objects)) => Some(
                self.sealed_source_objects(&new.instance_id, source, objects)
                    .await?,
            ),
            None => None,
        };
        let _w = self.write.lock().await;
        let mut tx = self.pool.begin().await?;
        let old = fetch_by_id(&mut tx, keyring, &id).await?;
        let outcome = decide(old.as_ref(), new);
        let rec = match (&old, outcome.writes()) {
            (Some(old), false) => old.clone(),
            (old, _) => {
                let now = crate::now_ms();
                let ingested_at = old.as_ref().map_or(audit.time.min(now), |o| o.ingested_at);
                let rec = record_of(new, id, ingested_at, now);
                write_row(&mut tx, &rec, stored, &new.insights, old.is_some()).await?;
                rec
            }
        };
        if let (Some((source, _)), Some(objects)) = (checkpoint, &sealed_objects) {
            let objects: Vec<SourceObject> = objects
                .iter()
                .map(|o| SourceObject {
                    outcome: outcome.as_str().to_owned(),
                    summary_id: Some(rec.id.clone()),
                    ..o.clone()
                })
                .collect();
            let ingested = i64::from(outcome.writes());
            super::sources::record_objects_in(
                &mut tx,
                &new.instance_id,
                source,
                &objects,
                ingested,
                0,
            )
            .await?;
        }
        let mut audit = audit.clone();
        if audit.detail.is_none() {
            audit.detail = Some(format!("summary={} outcome={}", rec.id, outcome.as_str()));
        }
        insert_audit(&mut tx, &audit).await?;
        tx.commit().await?;
        Ok((rec, outcome))
    }

    /// What [`Store::upsert_summary`] would do now (to skip writing an object that would not
    /// be used).
    pub async fn preview_summary(&self, new: &NewSummary) -> Result<UpsertOutcome, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let old = fetch_by_id(&mut conn, self.name_keyring(), &new.id()).await?;
        Ok(decide(old.as_ref(), new))
    }

    /// A summary of an instance by id.
    pub async fn summary(
        &self,
        instance_id: &str,
        id: &str,
    ) -> Result<Option<SummaryRecord>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM performance_summaries WHERE instance_id = $1 AND id = $2"
        ))
        .bind(instance_id)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref()
            .map(|r| record_from_row(r, self.name_keyring()))
            .transpose()
    }

    /// Summaries of a Spark application attempt in an instance (one per origin), newest
    /// update first.
    pub async fn summary_by_app(
        &self,
        instance_id: &str,
        app_id: &str,
        attempt: &str,
    ) -> Result<Vec<SummaryRecord>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM performance_summaries \
             WHERE instance_id = $1 AND app_id = $2 AND attempt = $3 ORDER BY updated_at DESC, id"
        ))
        .bind(instance_id)
        .bind(app_id)
        .bind(attempt)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| record_from_row(r, self.name_keyring()))
            .collect()
    }

    /// The summary of a sparkplane application (runner runs), if one was stored.
    pub async fn summary_by_application(
        &self,
        instance_id: &str,
        application_id: &str,
    ) -> Result<Option<SummaryRecord>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM performance_summaries \
             WHERE instance_id = $1 AND application_id = $2 ORDER BY updated_at DESC LIMIT 1"
        ))
        .bind(instance_id)
        .bind(application_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref()
            .map(|r| record_from_row(r, self.name_keyring()))
            .transpose()
    }

    /// Query summaries, newest first, with filters and pagination.
    pub async fn summaries(&self, q: &SummaryQuery) -> Result<Page<SummaryRecord>, StoreError> {
        if !(1..=MAX_PAGE).contains(&q.limit) {
            return Err(StoreError::Invalid(format!(
                "limit must be 1 to {MAX_PAGE}"
            )));
        }
        if q.offset < 0 {
            return Err(StoreError::Invalid("offset must be 0 or more".into()));
        }
        let cursor = q.cursor.as_deref().map(parse_cursor).transpose()?;
        let mut filter = String::from("s.instance_id = $1");
        let mut n = 1;
        let mut binds: Vec<Bind> = vec![Bind::Text(q.instance_id.clone())];
        let mut add = |sql: &str, v: Bind, filter: &mut String| {
            n += 1;
            filter.push_str(&sql.replace('?', &format!("${n}")));
            binds.push(v);
        };
        if let Some(k) = &q.insight {
            add(
                " AND s.id IN (SELECT i.summary_id FROM performance_summary_insights i \
                 WHERE i.instance_id = $1 AND i.kind = ?)",
                Bind::Text(k.clone()),
                &mut filter,
            );
        }
        if let Some(st) = q.status {
            add(
                " AND s.status = ?",
                Bind::Text(st.as_str().into()),
                &mut filter,
            );
        }
        if let Some(t) = q.from {
            add(" AND s.sort_time >= ?", Bind::Int(t), &mut filter);
        }
        if let Some(t) = q.to {
            add(" AND s.sort_time < ?", Bind::Int(t), &mut filter);
        }
        let keyring = self.name_keyring();
        if let Some(name) = &q.name {
            match keyring {
                Some(k) => {
                    let scope = instance_scope(&q.instance_id);
                    let index = k
                        .blind_index(&scope, NAME_INDEX_CONTEXT, name.as_bytes())
                        .await?;
                    add(" AND s.name_index = ?", Bind::Text(index), &mut filter);
                }
                None => add(" AND s.name = ?", Bind::Text(name.clone()), &mut filter),
            }
        }
        // Sealed names cannot be searched in SQL: filter the decrypted names in memory.
        let contains_in_memory = q.name_contains.as_ref().filter(|_| keyring.is_some());
        if let Some(part) = q.name_contains.as_ref().filter(|_| keyring.is_none()) {
            let escaped = part
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            add(
                " AND s.name LIKE ? ESCAPE '\\'",
                Bind::Text(format!("%{escaped}%")),
                &mut filter,
            );
        }
        if let Some(o) = &q.origin {
            add(" AND s.origin = ?", Bind::Text(o.clone()), &mut filter);
        }
        if let Some(a) = &q.app_id {
            add(" AND s.app_id = ?", Bind::Text(a.clone()), &mut filter);
        }
        if let Some(part) = contains_in_memory {
            let matching = self.name_indexes_containing(&q.instance_id, part).await?;
            if matching.is_empty() {
                return Ok(Page {
                    items: Vec::new(),
                    next: None,
                    total: q.with_total.then_some(0),
                });
            }
            if matching.len() <= MAX_NAME_INDEXES_IN_SQL {
                // The usual case (a search matches a few distinct names): SQL pages as usual.
                let mut list = String::new();
                for index in matching {
                    n += 1;
                    list.push_str(&format!("{}${n}", if list.is_empty() { "" } else { ", " }));
                    binds.push(Bind::Text(index));
                }
                filter.push_str(&format!(" AND s.name_index IN ({list})"));
            } else {
                return self
                    .summaries_name_contains(q, &matching, cursor, &filter, &binds)
                    .await;
            }
        }
        let total = if q.with_total {
            let sql = format!("SELECT COUNT(*) AS n FROM performance_summaries s WHERE {filter}");
            let row = bind_all(sqlx::query(&sql), &binds)
                .fetch_one(&self.pool)
                .await?;
            Some(row.try_get::<i64, _>("n")?)
        } else {
            None
        };
        let mut page_filter = filter.clone();
        let mut page_binds = binds.clone();
        let mut m = page_binds.len();
        if let Some((t, id)) = cursor {
            page_filter.push_str(&format!(
                " AND (s.sort_time < ${} OR (s.sort_time = ${} AND s.id < ${}))",
                m + 1,
                m + 1,
                m + 2
            ));
            page_binds.push(Bind::Int(t));
            page_binds.push(Bind::Text(id));
            m += 2;
        }
        // One more row than asked tells whether there is a next page.
        let mut sql = format!(
            "SELECT {COLUMNS} FROM performance_summaries s WHERE {page_filter} \
             ORDER BY s.sort_time DESC, s.id DESC LIMIT ${}",
            m + 1
        );
        page_binds.push(Bind::Int(q.limit + 1));
        if q.cursor.is_none() && q.offset > 0 {
            sql.push_str(&format!(" OFFSET ${}", m + 2));
            page_binds.push(Bind::Int(q.offset));
        }
        let rows = bind_all(sqlx::query(&sql), &page_binds)
            .fetch_all(&self.pool)
            .await?;
        let mut items = rows
            .iter()
            .map(|r| record_from_row(r, keyring))
            .collect::<Result<Vec<_>, _>>()?;
        let more = items.len() > usize::try_from(q.limit).unwrap_or(usize::MAX);
        items.truncate(usize::try_from(q.limit).unwrap_or(usize::MAX));
        let next = if more {
            items.last().map(cursor_of)
        } else {
            None
        };
        Ok(Page { items, next, total })
    }

    /// The keyring that seals application names, if encryption at rest is enabled.
    fn name_keyring(&self) -> Option<&Keyring> {
        self.keyring().map(|k| &**k)
    }

    /// The keyed hashes (`name_index`) of the instance's distinct application names that
    /// contain `part`. Sealed names cannot be searched in SQL: each distinct name (equal names
    /// have equal keyed hashes) is decrypted once, found through the covering index
    /// `(instance_id, name_index, sort_time, id)`.
    async fn name_indexes_containing(
        &self,
        instance_id: &str,
        part: &str,
    ) -> Result<std::collections::HashSet<String>, StoreError> {
        let keyring = self.name_keyring();
        let groups = sqlx::query(
            "SELECT s.name_index AS name_index, MIN(s.id) AS id FROM performance_summaries s \
             WHERE s.instance_id = $1 AND s.name_index IS NOT NULL GROUP BY s.name_index",
        )
        .bind(instance_id)
        .fetch_all(&self.pool)
        .await?;
        let mut index_of: std::collections::HashMap<String, String> =
            std::collections::HashMap::with_capacity(groups.len());
        for r in &groups {
            index_of.insert(r.try_get("id")?, r.try_get("name_index")?);
        }
        let ids: Vec<&String> = index_of.keys().collect();
        let mut matching = std::collections::HashSet::new();
        for chunk in ids.chunks(500) {
            let list: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "SELECT id, name FROM performance_summaries WHERE id IN ({})",
                list.join(", ")
            );
            let mut query = sqlx::query(&sql);
            for id in chunk {
                query = query.bind(id.as_str());
            }
            for r in query.fetch_all(&self.pool).await? {
                let id: String = r.try_get("id")?;
                let name = open_name(keyring, instance_id, &id, r.try_get("name")?)?;
                if name.is_some_and(|n| n.contains(part)) {
                    if let Some(index) = index_of.get(&id) {
                        matching.insert(index.clone());
                    }
                }
            }
        }
        Ok(matching)
    }

    /// [`Store::summaries`] with `name_contains` when the search matches too many distinct
    /// names for an SQL `IN` list: the ids, times and keyed hashes of the rows matching the
    /// other filters are read (bounded by the instance's summaries), matched against
    /// `matching`, and the page cut from the result.
    async fn summaries_name_contains(
        &self,
        q: &SummaryQuery,
        matching: &std::collections::HashSet<String>,
        cursor: Option<(i64, String)>,
        filter: &str,
        binds: &[Bind],
    ) -> Result<Page<SummaryRecord>, StoreError> {
        let keyring = self.name_keyring();
        let sql = format!(
            "SELECT s.id, s.sort_time, s.name_index FROM performance_summaries s WHERE {filter} \
             ORDER BY s.sort_time DESC, s.id DESC"
        );
        let rows = bind_all(sqlx::query(&sql), binds)
            .fetch_all(&self.pool)
            .await?;
        let mut hits: Vec<(i64, String)> = Vec::new();
        for r in &rows {
            let index: Option<String> = r.try_get("name_index")?;
            if index.is_some_and(|i| matching.contains(&i)) {
                hits.push((r.try_get("sort_time")?, r.try_get("id")?));
            }
        }
        let total = q
            .with_total
            .then(|| i64::try_from(hits.len()).unwrap_or(i64::MAX));
        let limit = usize::try_from(q.limit).unwrap_or(usize::MAX);
        let rest: Vec<(i64, String)> = match cursor {
            Some((t, id)) => hits
                .into_iter()
                .filter(|(st, i)| *st < t || (*st == t && *i < id))
                .collect(),
            None => hits
                .into_iter()
                .skip(usize::try_from(q.offset).unwrap_or(usize::MAX))
                .collect(),
        };
        let more = rest.len() > limit;
        let mut conn = self.pool.acquire().await?;
        let mut items = Vec::with_capacity(limit.min(rest.len()));
        for (_, id) in rest.iter().take(limit) {
            if let Some(rec) = fetch_by_id(&mut conn, keyring, id).await? {
                items.push(rec);
            }
        }
        let next = if more {
            items.last().map(cursor_of)
        } else {
            None
        };
        Ok(Page { items, next, total })
    }

    /// The `name` and `name_index` column values this store writes for application name
    /// `name` of summary `id` (sealed name and keyed hash when it has a keyring), for tools
    /// and benchmarks that seed rows in bulk.
    pub async fn summary_name_columns(
        &self,
        instance_id: &str,
        id: &str,
        name: Option<&str>,
    ) -> Result<(Option<String>, Option<String>), StoreError> {
        stored_name(self.name_keyring(), instance_id, id, name).await
    }

    /// Seal application names stored in plaintext (rows from before encryption at rest) and
    /// give them their keyed hash; called when the store is opened with a master key.
    pub(super) async fn seal_summary_names(&self) -> Result<(), StoreError> {
        let Some(k) = self.name_keyring() else {
            return Ok(());
        };
        let rows = sqlx::query(
            "SELECT id, instance_id, name FROM performance_summaries \
             WHERE name IS NOT NULL AND name_index IS NULL",
        )
        .fetch_all(&self.pool)
        .await?;
        for r in rows {
            let id: String = r.try_get("id")?;
            let instance_id: String = r.try_get("instance_id")?;
            let name = open_name(Some(k), &instance_id, &id, r.try_get("name")?)?;
            let (sealed, index) = stored_name(Some(k), &instance_id, &id, name.as_deref()).await?;
            sqlx::query(
                "UPDATE performance_summaries SET name = $1, name_index = $2 WHERE id = $3",
            )
            .bind(sealed)
            .bind(index)
            .bind(&id)
            .execute(&self.pool)
            .await?;
        }
        Ok(())
    }

    /// The last `limit` runs of an application name, oldest first (for trends).
    pub async fn summary_trend(
        &self,
        instance_id: &str,
        name: &str,
        limit: i64,
    ) -> Result<Vec<SummaryRecord>, StoreError> {
        let mut page = self
            .summaries(&SummaryQuery {
                instance_id: instance_id.to_owned(),
                name: Some(name.to_owned()),
                limit,
                ..Default::default()
            })
            .await?;
        page.items.reverse();
        Ok(page.items)
    }

    /// Delete a summary row (the caller deletes its object). `NotFound` if there was none.
    pub async fn delete_summary(
        &self,
        instance_id: &str,
        id: &str,
        audit: &AuditEvent,
    ) -> Result<SummaryRecord, StoreError> {
        let _w = self.write.lock().await;
        let mut tx = self.pool.begin().await?;
        let rec = fetch_by_id(&mut tx, self.name_keyring(), id)
            .await?
            .filter(|r| r.instance_id == instance_id)
            .ok_or(StoreError::NotFound)?;
        sqlx::query("DELETE FROM performance_summary_insights WHERE summary_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM performance_summaries WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(rec)
    }
}

/// Up to this many distinct matching names, a sealed-name search is an SQL `IN` list.
const MAX_NAME_INDEXES_IN_SQL: usize = 200;

#[derive(Debug, Clone)]
enum Bind {
    Text(String),
    Int(i64),
}

fn bind_all<'q>(
    mut q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    binds: &'q [Bind],
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    for b in binds {
        q = match b {
            Bind::Text(s) => q.bind(s.as_str()),
            Bind::Int(i) => q.bind(*i),
        };
    }
    q
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{InstanceRecord, Limits, Outcome};

    pub(crate) fn new_summary(instance: &str, app: &str, start: i64) -> NewSummary {
        NewSummary {
            instance_id: instance.into(),
            origin: Origin::Source("s3".into()),
            app_id: app.into(),
            attempt: "1".into(),
            name: Some("etl".into()),
            status: RunStatus::Succeeded,
            completed: true,
            spark_version: Some("4.0.0".into()),
            start_time: Some(start),
            end_time: Some(start + 1000),
            duration_ms: Some(1000),
            core_hours: 0.5,
            memory_gb_hours: 1.0,
            cost: Some(0.25),
            insights: vec![
                ("spill".into(), Severity::Warning),
                ("data_skew".into(), Severity::Critical),
            ],
            events_total: 100,
            event_log: None,
            application_id: None,
            size_bytes: 10,
            sha256: format!("{app}-{start}"),
        }
    }

    async fn store_with_instance() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let s = Store::open(&url).await.unwrap();
        let inst = InstanceRecord {
            id: "i1".into(),
            name: "i".into(),
            state: "active".into(),
            default_config: Default::default(),
            spark_version: "4.0".into(),
            limits: Limits::default(),
            created_at: 1,
            state_change_time: 1,
        };
        s.create_instance(&inst, &audit()).await.unwrap();
        (dir, s)
    }

    fn audit() -> AuditEvent {
        AuditEvent::new("x", "/x", Outcome::Success, 200, "r")
    }

    #[tokio::test]
    async fn names_sealed_and_still_queryable() {
        let (dir, s) = store_with_instance().await;
        // A row from before encryption at rest: plaintext, sealed when opened with a key.
        let mut legacy = new_summary("i1", "app-old", 500);
        legacy.name = Some("nightly MARKER-old-name".into());
        s.upsert_summary(&legacy, &audit()).await.unwrap();
        drop(s);
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let master = crate::crypto::MasterKey::generate();
        let s = Store::open_encrypted(&url, master).await.unwrap();
        let mut n = new_summary("i1", "app-new", 1000);
        n.name = Some("nightly MARKER-new-name".into());
        let (r, _) = s.upsert_summary(&n, &audit()).await.unwrap();
        assert_eq!(r.name.as_deref(), Some("nightly MARKER-new-name"));
        let raw: Vec<(String, Option<String>)> =
            sqlx::query("SELECT name, name_index FROM performance_summaries")
                .fetch_all(s.pool())
                .await
                .unwrap()
                .iter()
                .map(|r| (r.try_get("name").unwrap(), r.try_get("name_index").unwrap()))
                .collect();
        assert_eq!(raw.len(), 2);
        for (name, index) in &raw {
            assert!(name.starts_with(crate::crypto::VALUE_PREFIX), "{name}");
            assert!(!name.contains("MARKER") && index.is_some());
        }
        let base = SummaryQuery {
            instance_id: "i1".into(),
            limit: 10,
            with_total: true,
            ..Default::default()
        };
        for (name, app) in [
            ("nightly MARKER-old-name", "app-old"),
            ("nightly MARKER-new-name", "app-new"),
        ] {
            let p = s
                .summaries(&SummaryQuery {
                    name: Some(name.into()),
                    ..base.clone()
                })
                .await
                .unwrap();
            assert_eq!(p.total, Some(1));
            assert_eq!(p.items[0].app_id, app);
            assert_eq!(p.items[0].name.as_deref(), Some(name));
            let t = s.summary_trend("i1", name, 5).await.unwrap();
            assert_eq!(t.len(), 1);
        }
        let p = s
            .summaries(&SummaryQuery {
                name_contains: Some("MARKER".into()),
                limit: 1,
                ..base.clone()
            })
            .await
            .unwrap();
        assert_eq!(p.total, Some(2));
        assert_eq!(p.items[0].app_id, "app-new");
        let p2 = s
            .summaries(&SummaryQuery {
                name_contains: Some("MARKER".into()),
                limit: 1,
                cursor: p.next.clone(),
                ..base.clone()
            })
            .await
            .unwrap();
        assert_eq!(p2.items[0].app_id, "app-old");
        assert!(p2.next.is_none());
        let none = s
            .summaries(&SummaryQuery {
                name_contains: Some("new-name-x".into()),
                ..base.clone()
            })
            .await
            .unwrap();
        assert_eq!(none.total, Some(0));
        let got = s.summary("i1", &r.id).await.unwrap().unwrap();
        assert_eq!(got.name, r.name);
        // More distinct matching names than an SQL `IN` list takes: the in-memory path pages
        // the same way (offset, cursor, total, other filters).
        let many = MAX_NAME_INDEXES_IN_SQL + 30;
        for i in 0..many {
            let mut n = new_summary("i1", &format!("bulk-{i:04}"), 2000 + i as i64);
            n.name = Some(format!("bulk job {i}"));
            s.upsert_summary(&n, &audit()).await.unwrap();
        }
        let bulk = |limit, offset, cursor| SummaryQuery {
            name_contains: Some("bulk job".into()),
            limit,
            offset,
            cursor,
            ..base.clone()
        };
        let p = s.summaries(&bulk(7, 0, None)).await.unwrap();
        assert_eq!(p.total, Some(many as i64));
        assert_eq!(p.items[0].app_id, format!("bulk-{:04}", many - 1));
        let p2 = s.summaries(&bulk(7, 0, p.next.clone())).await.unwrap();
        assert_eq!(p2.items[0].app_id, format!("bulk-{:04}", many - 8));
        let p3 = s.summaries(&bulk(7, 7, None)).await.unwrap();
        assert_eq!(p3.items[0].app_id, p2.items[0].app_id);
        let one = s
            .summaries(&SummaryQuery {
                name_contains: Some("bulk job 17".into()),
                limit: 50,
                ..base.clone()
            })
            .await
            .unwrap();
        let mut got: Vec<String> = one.items.iter().map(|r| r.app_id.clone()).collect();
        got.sort();
        let mut want: Vec<String> = (0..many)
            .filter(|i| format!("bulk job {i}").contains("bulk job 17"))
            .map(|i| format!("bulk-{i:04}"))
            .collect();
        want.sort();
        assert_eq!(got, want);
    }

    #[test]
    fn origins_roundtrip() {
        for o in [
            Origin::Runner,
            Origin::Exporter("sid-1".into()),
            Origin::Writer("usr-1".into()),
            Origin::Source("logs:a".into()),
        ] {
            assert_eq!(o.to_string().parse::<Origin>().unwrap(), o);
        }
        assert!("source:".parse::<Origin>().is_err());
        assert!("other:x".parse::<Origin>().is_err());
    }

    #[tokio::test]
    async fn upsert_replaces_never_duplicates() {
        let (_d, s) = store_with_instance().await;
        let a = new_summary("i1", "app-1", 1000);
        let (r, o) = s.upsert_summary(&a, &audit()).await.unwrap();
        assert_eq!(o, UpsertOutcome::Inserted);
        assert_eq!(r.top_severity, Some(Severity::Critical));
        assert_eq!(r.insight_kinds, vec!["data_skew", "spill"]);
        let (_, o) = s.upsert_summary(&a, &audit()).await.unwrap();
        assert_eq!(o, UpsertOutcome::Unchanged);
        // A growing log: more events replaces; fewer is outdated.
        let mut grown = a.clone();
        grown.events_total = 200;
        grown.sha256 = "grown".into();
        grown.insights.clear();
        let (r2, o) = s.upsert_summary(&grown, &audit()).await.unwrap();
        assert_eq!(o, UpsertOutcome::Replaced);
        assert_eq!(r2.id, r.id);
        assert_eq!(r2.insight_count, 0);
        let (_, o) = s.upsert_summary(&a, &audit()).await.unwrap();
        assert_eq!(o, UpsertOutcome::Outdated);
        let q = SummaryQuery {
            instance_id: "i1".into(),
            limit: 10,
            with_total: true,
            ..Default::default()
        };
        let p = s.summaries(&q).await.unwrap();
        assert_eq!(p.total, Some(1));
        assert_eq!(p.items[0].sha256, "grown");
        let q = SummaryQuery {
            insight: Some("spill".into()),
            ..q
        };
        assert_eq!(s.summaries(&q).await.unwrap().items.len(), 0);
        assert_eq!(s.summary_by_app("i1", "app-1", "1").await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn filters_and_cursor_pages() {
        let (_d, s) = store_with_instance().await;
        for i in 0..25 {
            let mut n = new_summary("i1", &format!("app-{i}"), 1000 + i);
            if i % 2 == 0 {
                n.status = RunStatus::Failed;
                n.insights = vec![("job_failure".into(), Severity::Critical)];
            }
            if i % 5 == 0 {
                n.name = Some("nightly_100%".into());
            }
            s.upsert_summary(&n, &audit()).await.unwrap();
        }
        let base = SummaryQuery {
            instance_id: "i1".into(),
            limit: 10,
            ..Default::default()
        };
        let mut seen = Vec::new();
        let mut cursor = None;
        loop {
            let p = s
                .summaries(&SummaryQuery {
                    cursor: cursor.clone(),
                    ..base.clone()
                })
                .await
                .unwrap();
            seen.extend(p.items.iter().map(|r| r.sort_time));
            cursor = p.next;
            if cursor.is_none() {
                break;
            }
        }
        assert_eq!(seen, (1000..1025).rev().collect::<Vec<_>>());
        let p = s
            .summaries(&SummaryQuery {
                offset: 20,
                ..base.clone()
            })
            .await
            .unwrap();
        assert_eq!(p.items.len(), 5);
        let failed = s
            .summaries(&SummaryQuery {
                status: Some(RunStatus::Failed),
                insight: Some("job_failure".into()),
                from: Some(1010),
                to: Some(1020),
                with_total: true,
                ..base.clone()
            })
            .await
            .unwrap();
        assert_eq!(failed.total, Some(5));
        let named = s
            .summaries(&SummaryQuery {
                name_contains: Some("100%".into()),
                with_total: true,
                ..base.clone()
            })
            .await
            .unwrap();
        assert_eq!(named.total, Some(5));
        let trend = s.summary_trend("i1", "etl", 3).await.unwrap();
        assert_eq!(
            trend.iter().map(|r| r.sort_time).collect::<Vec<_>>(),
            vec![1022, 1023, 1024]
        );
        assert!(s
            .summaries(&SummaryQuery {
                cursor: Some("x".into()),
                ..base
            })
            .await
            .is_err());
    }
}
