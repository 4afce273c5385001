//! Event-log sources of an instance (a read-only bucket prefix the server polls) and their
//! checkpoints: every object handled, with the version (size, ETag, last modified) handled, so
//! a restart re-ingests nothing and a grown object is handled again. Source credentials are
//! not in the database (the server keeps them in the object store, encrypted).
//!
//! The error texts (`event_log_sources.last_error`, `event_log_source_objects.detail`) can
//! quote what a log held: with encryption at rest they are sealed with the instance's data key
//! (`spk1:` values bound to the row); plaintext from before is still read, and sealed when the
//! store is opened with a master key.

use std::collections::HashMap;

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::insert_audit;
use crate::crypto::{instance_scope, Keyring, VALUE_PREFIX};
use crate::model::AuditEvent;
use crate::{Store, StoreError};

fn last_error_context(source: &str) -> String {
    format!("event_log_sources.last_error/{source}")
}

fn detail_context(source: &str, object_key: &str) -> String {
    format!("event_log_source_objects.detail/{source}/{object_key}")
}

/// What an error-text column holds: sealed with the instance's data key when there is a
/// keyring, else (offline tools, tests) the text itself.
async fn seal_text(
    keyring: Option<&Keyring>,
    instance_id: &str,
    context: &str,
    text: Option<&str>,
) -> Result<Option<String>, StoreError> {
    match (keyring, text) {
        (Some(k), Some(t)) => Ok(Some(
            k.seal_value(&instance_scope(instance_id), context, t.as_bytes())
                .await?,
        )),
        (_, t) => Ok(t.map(str::to_owned)),
    }
}

/// Decrypt a sealed text column of an instance (error texts, app names; plaintext from before
/// encryption at rest is returned as is).
pub(super) fn open_text(
    keyring: Option<&Keyring>,
    instance_id: &str,
    context: &str,
    stored: Option<String>,
) -> Result<Option<String>, StoreError> {
    let Some(stored) = stored else {
        return Ok(None);
    };
    if !stored.starts_with(VALUE_PREFIX) {
        return Ok(Some(stored));
    }
    let Some(k) = keyring else {
        return Err(StoreError::Config(
            "the database is encrypted: a master key is needed to open it".into(),
        ));
    };
    let plain = k.open_value(&instance_scope(instance_id), context, &stored)?;
    String::from_utf8(plain.to_vec())
        .map(Some)
        .map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// Progress of a source.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceStats {
    /// End of the last finished poll (epoch ms).
    pub last_poll: Option<i64>,
    /// Error of the last poll (listing failed, bad credentials), if any.
    pub last_error: Option<String>,
    /// Objects under the prefix at the last poll.
    pub objects_seen: i64,
    /// Summaries ingested (inserted or replaced) since the source was created.
    pub ingested: i64,
    /// Logs or summaries that could not be ingested since the source was created.
    pub errors: i64,
}

/// A source (without its credentials).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceRecord {
    /// Instance.
    pub instance_id: String,
    /// Name, unique in the instance.
    pub name: String,
    /// `s3://bucket/prefix`.
    pub url: String,
    /// S3-compatible endpoint URL.
    pub endpoint: Option<String>,
    /// Region.
    pub region: Option<String>,
    /// Whether credentials are stored (else the server's environment / instance role is used).
    pub has_credentials: bool,
    /// Creation (epoch ms).
    pub created_at: i64,
    /// Last change of the definition (epoch ms).
    pub updated_at: i64,
    /// Progress.
    pub stats: SourceStats,
}

/// The checkpoint of one object of a source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceObject {
    /// Full object key in the bucket.
    pub key: String,
    /// Size handled.
    pub size: i64,
    /// ETag handled.
    pub etag: Option<String>,
    /// Last modified (epoch ms).
    pub last_modified: i64,
    /// `ingested`, `unchanged`, `skipped` or `error`.
    pub outcome: String,
    /// Error or skip reason.
    pub detail: Option<String>,
    /// Summary it went into.
    pub summary_id: Option<String>,
}

impl SourceObject {
    /// Whether this checkpoint covers the listed version of the object.
    pub fn covers(&self, size: i64, etag: Option<&str>, last_modified: i64) -> bool {
        self.size == size && self.etag.as_deref() == etag && self.last_modified == last_modified
    }
}

const COLUMNS: &str = "instance_id, name, url, endpoint, region, has_credentials, created_at, \
    updated_at, last_poll, last_error, objects_seen, ingested, errors";

fn source_from_row(r: &AnyRow, keyring: Option<&Keyring>) -> Result<SourceRecord, StoreError> {
    let instance_id: String = r.try_get("instance_id")?;
    let name: String = r.try_get("name")?;
    let last_error = open_text(
        keyring,
        &instance_id,
        &last_error_context(&name),
        r.try_get("last_error")?,
    )?;
    Ok(SourceRecord {
        instance_id,
        name,
        url: r.try_get("url")?,
        endpoint: r.try_get("endpoint")?,
        region: r.try_get("region")?,
        has_credentials: r.try_get::<i64, _>("has_credentials")? != 0,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        stats: SourceStats {
            last_poll: r.try_get("last_poll")?,
            last_error,
            objects_seen: r.try_get("objects_seen")?,
            ingested: r.try_get("ingested")?,
            errors: r.try_get("errors")?,
        },
    })
}

impl Store {
    fn text_keyring(&self) -> Option<&Keyring> {
        self.keyring().map(|k| &**k)
    }

    /// `objects` with their `detail` sealed for the database (see [`seal_text`]).
    pub(super) async fn sealed_source_objects(
        &self,
        instance_id: &str,
        source: &str,
        objects: &[SourceObject],
    ) -> Result<Vec<SourceObject>, StoreError> {
        let k = self.text_keyring();
        let mut out = Vec::with_capacity(objects.len());
        for o in objects {
            let detail = seal_text(
                k,
                instance_id,
                &detail_context(source, &o.key),
                o.detail.as_deref(),
            )
            .await?;
            out.push(SourceObject {
                detail,
                ..o.clone()
            });
        }
        Ok(out)
    }

    /// Seal the error texts of sources and their objects stored in plaintext (rows from before
    /// they were sealed); called when the store is opened with a master key.
    pub(super) async fn seal_source_texts(&self) -> Result<(), StoreError> {
        let Some(k) = self.text_keyring() else {
            return Ok(());
        };
        let rows = sqlx::query(
            "SELECT instance_id, name, last_error FROM event_log_sources \
             WHERE last_error IS NOT NULL AND last_error NOT LIKE 'spk1:%'",
        )
        .fetch_all(&self.pool)
        .await?;
        for r in rows {
            let (inst, name): (String, String) = (r.try_get("instance_id")?, r.try_get("name")?);
            let plain: Option<String> = r.try_get("last_error")?;
            let sealed =
                seal_text(Some(k), &inst, &last_error_context(&name), plain.as_deref()).await?;
            sqlx::query(
                "UPDATE event_log_sources SET last_error = $1 WHERE instance_id = $2 AND name = $3",
            )
            .bind(sealed)
            .bind(&inst)
            .bind(&name)
            .execute(&self.pool)
            .await?;
        }
        let rows = sqlx::query(
            "SELECT instance_id, source_name, object_key, detail FROM event_log_source_objects \
             WHERE detail IS NOT NULL AND detail NOT LIKE 'spk1:%'",
        )
        .fetch_all(&self.pool)
        .await?;
        for r in rows {
            let inst: String = r.try_get("instance_id")?;
            let source: String = r.try_get("source_name")?;
            let key: String = r.try_get("object_key")?;
            let plain: Option<String> = r.try_get("detail")?;
            let sealed = seal_text(
                Some(k),
                &inst,
                &detail_context(&source, &key),
                plain.as_deref(),
            )
            .await?;
            sqlx::query(
                "UPDATE event_log_source_objects SET detail = $1 \
                 WHERE instance_id = $2 AND source_name = $3 AND object_key = $4",
            )
            .bind(sealed)
            .bind(&inst)
            .bind(&source)
            .bind(&key)
            .execute(&self.pool)
            .await?;
        }
        Ok(())
    }

    /// Whether the store was closed (background tasks of a stopped server end on it).
    pub fn is_closed(&self) -> bool {
        self.pool.is_closed()
    }

    /// Create or replace a source definition. A changed URL or endpoint forgets the
    /// checkpoints and progress (it is another bucket). Returns the stored record and whether
    /// it was created.
    pub async fn put_source(
        &self,
        s: &SourceRecord,
        audit: &AuditEvent,
    ) -> Result<(SourceRecord, bool), StoreError> {
        let keyring = self.text_keyring();
        // The kept error (if the definition keeps its progress), sealed before the transaction
        // (the keyring may create the instance's data key).
        let kept_error = match self.source(&s.instance_id, &s.name).await? {
            Some(o) => {
                seal_text(
                    keyring,
                    &s.instance_id,
                    &last_error_context(&s.name),
                    o.stats.last_error.as_deref(),
                )
                .await?
            }
            None => None,
        };
        let _w = self.write.lock().await;
        let mut tx = self.pool.begin().await?;
        let old = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM event_log_sources WHERE instance_id = $1 AND name = $2"
        ))
        .bind(&s.instance_id)
        .bind(&s.name)
        .fetch_optional(&mut *tx)
        .await?
        .as_ref()
        .map(|r| source_from_row(r, keyring))
        .transpose()?;
        let mut rec = s.clone();
        match &old {
            Some(o) if o.url == s.url && o.endpoint == s.endpoint => {
                rec.created_at = o.created_at;
                rec.stats = o.stats.clone();
            }
            Some(o) => {
                rec.created_at = o.created_at;
                rec.stats = SourceStats::default();
                sqlx::query(
                    "DELETE FROM event_log_source_objects WHERE instance_id = $1 AND source_name = $2",
                )
                .bind(&s.instance_id)
                .bind(&s.name)
                .execute(&mut *tx)
                .await?;
            }
            None => rec.stats = SourceStats::default(),
        }
        sqlx::query("DELETE FROM event_log_sources WHERE instance_id = $1 AND name = $2")
            .bind(&s.instance_id)
            .bind(&s.name)
            .execute(&mut *tx)
            .await?;
        sqlx::query(&format!(
            "INSERT INTO event_log_sources ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
        ))
        .bind(&rec.instance_id)
        .bind(&rec.name)
        .bind(&rec.url)
        .bind(rec.endpoint.clone())
        .bind(rec.region.clone())
        .bind(i64::from(rec.has_credentials))
        .bind(rec.created_at)
        .bind(rec.updated_at)
        .bind(rec.stats.last_poll)
        .bind(rec.stats.last_error.as_ref().and(kept_error))
        .bind(rec.stats.objects_seen)
        .bind(rec.stats.ingested)
        .bind(rec.stats.errors)
        .execute(&mut *tx)
        .await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok((rec, old.is_none()))
    }

    /// A source of an instance.
    pub async fn source(
        &self,
        instance_id: &str,
        name: &str,
    ) -> Result<Option<SourceRecord>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM event_log_sources WHERE instance_id = $1 AND name = $2"
        ))
        .bind(instance_id)
        .bind(name)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref()
            .map(|r| source_from_row(r, self.text_keyring()))
            .transpose()
    }

    /// Sources of an instance, by name.
    pub async fn sources_of(&self, instance_id: &str) -> Result<Vec<SourceRecord>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM event_log_sources WHERE instance_id = $1 ORDER BY name"
        ))
        .bind(instance_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| source_from_row(r, self.text_keyring()))
            .collect()
    }

    /// Every source of every live instance (the poller's work list).
    pub async fn all_sources(&self) -> Result<Vec<SourceRecord>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {} FROM event_log_sources s JOIN instances i ON i.id = s.instance_id \
             WHERE i.state <> 'deleted' ORDER BY s.instance_id, s.name",
            COLUMNS
                .split(", ")
                .map(|c| format!("s.{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| source_from_row(r, self.text_keyring()))
            .collect()
    }

    /// Delete a source and its checkpoints (its summaries stay). `NotFound` if none.
    pub async fn delete_source(
        &self,
        instance_id: &str,
        name: &str,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        let _w = self.write.lock().await;
        let mut tx = self.pool.begin().await?;
        let n = sqlx::query("DELETE FROM event_log_sources WHERE instance_id = $1 AND name = $2")
            .bind(instance_id)
            .bind(name)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        sqlx::query(
            "DELETE FROM event_log_source_objects WHERE instance_id = $1 AND source_name = $2",
        )
        .bind(instance_id)
        .bind(name)
        .execute(&mut *tx)
        .await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The checkpoints of a source, by object key.
    pub async fn source_checkpoints(
        &self,
        instance_id: &str,
        name: &str,
    ) -> Result<HashMap<String, SourceObject>, StoreError> {
        let rows = sqlx::query(
            "SELECT object_key, size_bytes, etag, last_modified, outcome, detail, summary_id \
             FROM event_log_source_objects WHERE instance_id = $1 AND source_name = $2",
        )
        .bind(instance_id)
        .bind(name)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let key: String = r.try_get("object_key")?;
                let detail = open_text(
                    self.text_keyring(),
                    instance_id,
                    &detail_context(name, &key),
                    r.try_get("detail")?,
                )?;
                let o = SourceObject {
                    key,
                    size: r.try_get("size_bytes")?,
                    etag: r.try_get("etag")?,
                    last_modified: r.try_get("last_modified")?,
                    outcome: r.try_get("outcome")?,
                    detail,
                    summary_id: r.try_get("summary_id")?,
                };
                Ok((o.key.clone(), o))
            })
            .collect()
    }

    /// Record the checkpoints of the objects of one handled log (all at once) and add to the
    /// source's counters (logs that failed: `errors`; skipped objects: neither).
    pub async fn record_source_objects(
        &self,
        instance_id: &str,
        name: &str,
        objects: &[SourceObject],
        ingested: i64,
        errors: i64,
    ) -> Result<(), StoreError> {
        let objects = self
            .sealed_source_objects(instance_id, name, objects)
            .await?;
        let mut tx = self.pool.begin().await?;
        record_objects_in(&mut tx, instance_id, name, &objects, ingested, errors).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Record the end of a poll.
    pub async fn finish_source_poll(
        &self,
        instance_id: &str,
        name: &str,
        objects_seen: i64,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        let error = seal_text(
            self.text_keyring(),
            instance_id,
            &last_error_context(name),
            error,
        )
        .await?;
        sqlx::query(
            "UPDATE event_log_sources SET last_poll = $1, last_error = $2, objects_seen = $3 \
             WHERE instance_id = $4 AND name = $5",
        )
        .bind(crate::now_ms())
        .bind(error)
        .bind(objects_seen)
        .bind(instance_id)
        .bind(name)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

/// Record checkpoints (whose `detail` is already sealed: [`Store::sealed_source_objects`]).
pub(super) async fn record_objects_in(
    conn: &mut AnyConnection,
    instance_id: &str,
    name: &str,
    objects: &[SourceObject],
    ingested: i64,
    errors: i64,
) -> Result<(), StoreError> {
    let now = crate::now_ms();
    for o in objects {
        sqlx::query(
            "INSERT INTO event_log_source_objects (instance_id, source_name, object_key, size_bytes, \
             etag, last_modified, outcome, detail, summary_id, seen_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             ON CONFLICT (instance_id, source_name, object_key) DO UPDATE SET \
             size_bytes = excluded.size_bytes, etag = excluded.etag, \
             last_modified = excluded.last_modified, outcome = excluded.outcome, \
             detail = excluded.detail, summary_id = excluded.summary_id, seen_at = excluded.seen_at",
        )
        .bind(instance_id)
        .bind(name)
        .bind(&o.key)
        .bind(o.size)
        .bind(o.etag.clone())
        .bind(o.last_modified)
        .bind(&o.outcome)
        .bind(o.detail.clone())
        .bind(o.summary_id.clone())
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    if ingested != 0 || errors != 0 {
        sqlx::query(
            "UPDATE event_log_sources SET ingested = ingested + $1, errors = errors + $2 \
             WHERE instance_id = $3 AND name = $4",
        )
        .bind(ingested)
        .bind(errors)
        .bind(instance_id)
        .bind(name)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}
