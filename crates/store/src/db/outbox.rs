//! The export outbox (migration 0005): end-of-run summary exports not yet delivered. The
//! server's completion hook queues a row before it tries the export; its retry task reads due
//! rows, reschedules failures with backoff and deletes delivered ones.

use sqlx::Row;

use super::Store;
use crate::StoreError;

/// One queued export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    /// Instance of the application.
    pub instance_id: String,
    /// sparkplane application id.
    pub app_id: String,
    /// The redacted summary JSON file to deliver.
    pub summary_path: String,
    /// The driver log to append the outcome to.
    pub log_path: String,
    /// The event log the summary was made from.
    pub event_log: Option<String>,
    /// When it was first queued (epoch ms).
    pub created_at: i64,
    /// Failed attempts so far.
    pub attempts: i64,
    /// Not to be tried before (epoch ms).
    pub next_attempt_at: i64,
    /// The last failure.
    pub last_error: Option<String>,
}

const COLUMNS: &str = "instance_id, app_id, summary_path, log_path, event_log, created_at, \
                       attempts, next_attempt_at, last_error";

fn entry(r: &sqlx::any::AnyRow) -> Result<OutboxEntry, StoreError> {
    Ok(OutboxEntry {
        instance_id: r.try_get("instance_id")?,
        app_id: r.try_get("app_id")?,
        summary_path: r.try_get("summary_path")?,
        log_path: r.try_get("log_path")?,
        event_log: r.try_get("event_log")?,
        created_at: r.try_get("created_at")?,
        attempts: r.try_get("attempts")?,
        next_attempt_at: r.try_get("next_attempt_at")?,
        last_error: r.try_get("last_error")?,
    })
}

impl Store {
    /// Queue an export (committed when this returns); replaces a queued row of the same app.
    pub async fn outbox_put(&self, e: &OutboxEntry) -> Result<(), StoreError> {
        sqlx::query(&format!(
            "INSERT INTO export_outbox ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (instance_id, app_id) DO UPDATE SET summary_path = excluded.summary_path, \
             log_path = excluded.log_path, event_log = excluded.event_log, \
             next_attempt_at = excluded.next_attempt_at"
        ))
        .bind(&e.instance_id)
        .bind(&e.app_id)
        .bind(&e.summary_path)
        .bind(&e.log_path)
        .bind(e.event_log.as_deref())
        .bind(e.created_at)
        .bind(e.attempts)
        .bind(e.next_attempt_at)
        .bind(e.last_error.as_deref())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Up to `limit` queued exports due at `now`, oldest due first.
    pub async fn outbox_due(&self, now: i64, limit: i64) -> Result<Vec<OutboxEntry>, StoreError> {
        sqlx::query(&format!(
            "SELECT {COLUMNS} FROM export_outbox WHERE next_attempt_at <= $1 \
             ORDER BY next_attempt_at, instance_id, app_id LIMIT $2"
        ))
        .bind(now)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(entry)
        .collect()
    }

    /// One queued export.
    pub async fn outbox_get(
        &self,
        instance_id: &str,
        app_id: &str,
    ) -> Result<Option<OutboxEntry>, StoreError> {
        sqlx::query(&format!(
            "SELECT {COLUMNS} FROM export_outbox WHERE instance_id = $1 AND app_id = $2"
        ))
        .bind(instance_id)
        .bind(app_id)
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(entry)
        .transpose()
    }

    /// Record a failed attempt and when to try again.
    pub async fn outbox_reschedule(
        &self,
        instance_id: &str,
        app_id: &str,
        attempts: i64,
        next_attempt_at: i64,
        error: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE export_outbox SET attempts = $1, next_attempt_at = $2, last_error = $3 \
             WHERE instance_id = $4 AND app_id = $5",
        )
        .bind(attempts)
        .bind(next_attempt_at)
        .bind(error)
        .bind(instance_id)
        .bind(app_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Remove a delivered (or abandoned) export.
    pub async fn outbox_delete(&self, instance_id: &str, app_id: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM export_outbox WHERE instance_id = $1 AND app_id = $2")
            .bind(instance_id)
            .bind(app_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// How many exports are queued.
    pub async fn outbox_len(&self) -> Result<i64, StoreError> {
        let r = sqlx::query("SELECT COUNT(*) AS n FROM export_outbox")
            .fetch_one(&self.pool)
            .await?;
        Ok(r.try_get("n")?)
    }
}
