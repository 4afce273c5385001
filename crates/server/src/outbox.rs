//! End-of-run export of performance summaries through a durable outbox.
//!
//! [`ExportCompletion`] is the runner's completion hook in the server: when an application ends
//! it analyses the event log into the redacted summary (`<app dir>/summary.json`, 0600), queues
//! an export row in the tenant database (migration 0005) — committed before anything is tried —
//! and tries the export once at once. [`spawn_retry`] runs the background task that retries
//! queued rows with exponential backoff until the object-store write and the summary upsert
//! succeed, then deletes the row. A restarted server resumes the queue (rows are durable) and
//! the runner calls the hook again for any application whose hook had not returned, which only
//! replaces that application's row. Delivery is idempotent (same object key, summaries replaced
//! by identity), so every summary arrives exactly once. Nothing here can change an
//! application's final state: the runner has recorded it before the hook runs, and failures are
//! only logged (server log and the application's driver log) and retried.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sparkplane_runner::{AnalyzeCompletion, AppRecord, RunCompletion};
use sparkplane_store::{now_ms, Origin, OutboxEntry, Store};

use crate::error::ApiError;
use crate::ingest::{IngestRequest, Ingestor};
use tokio::sync::Notify;

/// Retry timing of the outbox.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Delay after the first failure; doubles with each further failure.
    pub base: Duration,
    /// Longest delay between attempts.
    pub max: Duration,
    /// Longest time one delivery attempt may take (the object store's own retries included).
    pub attempt_timeout: Duration,
    /// How often the queue is looked at when nothing wakes the task.
    pub poll: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            base: Duration::from_millis(500),
            max: Duration::from_secs(60),
            attempt_timeout: Duration::from_secs(10),
            poll: Duration::from_secs(1),
        }
    }
}

impl RetryPolicy {
    /// The defaults, with `SPARKPLANE_EXPORT_RETRY_MAX_MS` and `SPARKPLANE_EXPORT_TIMEOUT_MS`
    /// (milliseconds) applied when set.
    pub fn from_env() -> Self {
        let ms = |name: &str| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
                .filter(|n| *n > 0)
                .map(Duration::from_millis)
        };
        let mut p = RetryPolicy::default();
        if let Some(d) = ms("SPARKPLANE_EXPORT_RETRY_MAX_MS") {
            p.max = d;
            p.base = p.base.min(d);
        }
        if let Some(d) = ms("SPARKPLANE_EXPORT_TIMEOUT_MS") {
            p.attempt_timeout = d;
        }
        p
    }

    /// The delay after `failures` failed attempts (1 = the first failure).
    pub fn delay(&self, failures: i64) -> Duration {
        let shift = u32::try_from(failures.saturating_sub(1).clamp(0, 20)).unwrap_or(20);
        self.base.saturating_mul(1u32 << shift).min(self.max)
    }
}

/// What the export needs: the ingest service (tenant database + object store) and the retry
/// timing.
#[derive(Clone)]
pub struct Exporter {
    ingest: Ingestor,
    store: Arc<Store>,
    policy: RetryPolicy,
    wake: Arc<Notify>,
    /// Opens summaries the runner has sealed at rest (`summary.json.spk`) for a retry.
    at_rest: Option<Arc<crate::runner_at_rest::RunnerAtRest>>,
}

impl std::fmt::Debug for Exporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Exporter")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

/// Why one delivery attempt failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The summary file could not be read (the row is dropped: nothing to deliver).
    #[error("summary {path}: {source}")]
    Summary {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The instance no longer exists (the row is dropped).
    #[error("instance `{0}` no longer exists")]
    InstanceGone(String),
    /// The outbox table failed (retried).
    #[error(transparent)]
    Store(#[from] sparkplane_store::StoreError),
    /// The ingest (object store write + summary upsert) refused or failed; refusals of the
    /// summary itself (400, 413) are not retried.
    #[error("ingest: {0}")]
    Ingest(ApiError),
    /// The attempt took longer than allowed (retried).
    #[error("timed out after {0} ms")]
    Timeout(u128),
}

impl ExportError {
    fn permanent(&self) -> bool {
        matches!(
            self,
            ExportError::Summary { .. }
                | ExportError::InstanceGone(_)
                | ExportError::Ingest(ApiError::BadRequest(_) | ApiError::PayloadTooLarge)
        )
    }
}

fn append_line(path: &Path, line: &str) {
    if let Ok(mut f) = std::fs::OpenOptions::new().append(true).open(path) {
        let _ = writeln!(f, "{line}");
    }
}

impl Exporter {
    /// An exporter that delivers through the server's ingest service.
    pub fn new(ingest: Ingestor, policy: RetryPolicy) -> Self {
        Exporter {
            store: ingest.store().clone(),
            ingest,
            policy,
            wake: Arc::new(Notify::new()),
            at_rest: None,
        }
    }

    /// Read summaries the runner sealed after the first attempt through `at_rest`.
    pub fn with_at_rest(mut self, at_rest: Arc<crate::runner_at_rest::RunnerAtRest>) -> Self {
        self.at_rest = Some(at_rest);
        self
    }

    /// Append a line to an app's driver log: the plaintext while the run's files are not yet
    /// sealed, else the sealed log (re-sealed with the line).
    async fn append_line(&self, path: &Path, line: &str) {
        let sealed = sparkplane_runner::at_rest::sealed_path(path);
        match self.at_rest.clone() {
            Some(a) if !path.exists() && sealed.is_file() => {
                let (p, l) = (path.to_owned(), line.to_owned());
                let res = tokio::task::spawn_blocking(move || a.append_line(&p, &l)).await;
                if let Ok(Err(e)) = res {
                    tracing::warn!(log = %path.display(), error = %e, "could not append to a sealed driver log");
                }
            }
            _ => append_line(path, line),
        }
    }

    /// The run's summary: the plaintext the completion hook wrote, or (on a retry after the
    /// runner sealed it) `<path>.spk` opened with the instance's key.
    async fn read_summary(&self, path: &Path) -> std::io::Result<Vec<u8>> {
        match tokio::fs::read(path).await {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let Some(a) = self.at_rest.clone() else {
                    return Err(e);
                };
                let sealed = sparkplane_runner::at_rest::sealed_path(path);
                if !sealed.is_file() {
                    return Err(e);
                }
                tokio::task::spawn_blocking(move || {
                    use std::io::Read;
                    let mut out = Vec::new();
                    a.open_path(&sealed)?.read_to_end(&mut out)?;
                    Ok(out)
                })
                .await
                .map_err(std::io::Error::other)?
            }
            other => other,
        }
    }

    /// The retry timing.
    pub fn policy(&self) -> RetryPolicy {
        self.policy
    }

    /// The final delivery of one summary: the server's one ingest function (object-store
    /// write, then the tenant-database upsert). Idempotent: the summary's identity (instance,
    /// `runner`, Spark app id, attempt) always lands on the same object and row.
    async fn deliver(&self, e: &OutboxEntry) -> Result<(), ExportError> {
        if self.store.instance(&e.instance_id).is_none() {
            return Err(ExportError::InstanceGone(e.instance_id.clone()));
        }
        let path = PathBuf::from(&e.summary_path);
        let bytes = self
            .read_summary(&path)
            .await
            .map_err(|source| ExportError::Summary { path, source })?;
        self.ingest
            .ingest(IngestRequest {
                instance_id: &e.instance_id,
                origin: Origin::Runner,
                bytes: &bytes,
                principal_id: None,
                event_log: e.event_log.clone(),
                application_id: Some(e.app_id.clone()),
                checkpoint: None,
            })
            .await
            .map_err(ExportError::Ingest)?;
        Ok(())
    }

    /// One attempt, bounded by the policy's timeout; on success the row is deleted.
    pub async fn attempt(&self, e: &OutboxEntry) -> Result<(), ExportError> {
        let t = self.policy.attempt_timeout;
        match tokio::time::timeout(t, self.deliver(e)).await {
            Ok(Ok(())) => {
                self.store.outbox_delete(&e.instance_id, &e.app_id).await?;
                Ok(())
            }
            Ok(Err(err)) => Err(err),
            Err(_) => Err(ExportError::Timeout(t.as_millis())),
        }
    }

    /// After a failed attempt: drop the row if retrying cannot help (saying so in the driver
    /// log when `log`), else reschedule it.
    async fn failed(&self, e: &OutboxEntry, err: &ExportError, log: bool) {
        if err.permanent() {
            tracing::warn!(instance = %e.instance_id, app = %e.app_id, error = %err, "summary export abandoned");
            if log {
                self.append_line(
                    Path::new(&e.log_path),
                    &format!("sparkplane: performance summary export abandoned: {err}"),
                )
                .await;
            }
            if let Err(db) = self.store.outbox_delete(&e.instance_id, &e.app_id).await {
                tracing::warn!(error = %db, "export outbox: could not delete a row");
            }
            return;
        }
        let attempts = e.attempts.saturating_add(1);
        let delay = self.policy.delay(attempts);
        let next = now_ms().saturating_add(i64::try_from(delay.as_millis()).unwrap_or(i64::MAX));
        tracing::warn!(instance = %e.instance_id, app = %e.app_id, attempts, retry_in_ms = delay.as_millis() as u64, error = %err, "summary export failed; will retry");
        if let Err(db) = self
            .store
            .outbox_reschedule(&e.instance_id, &e.app_id, attempts, next, &err.to_string())
            .await
        {
            tracing::warn!(error = %db, "export outbox: could not reschedule a row");
        }
    }

    /// Deliver every due row once; returns how many were delivered.
    pub async fn run_due(&self) -> Result<usize, sparkplane_store::StoreError> {
        let due = self.store.outbox_due(now_ms(), 64).await?;
        let mut delivered = 0;
        for e in due {
            let t0 = Instant::now();
            match self.attempt(&e).await {
                Ok(()) => {
                    delivered += 1;
                    tracing::info!(instance = %e.instance_id, app = %e.app_id, attempts = e.attempts + 1, "summary exported from the outbox");
                    self.append_line(
                        Path::new(&e.log_path),
                        &format!(
                            "sparkplane: performance summary exported in {} ms (from the outbox, after {} failed attempts)",
                            t0.elapsed().as_millis(),
                            e.attempts
                        ),
                    ).await;
                }
                Err(err) => self.failed(&e, &err, true).await,
            }
        }
        Ok(delivered)
    }

    /// Queue and try one export at once (the completion hook). Returns the driver-log line,
    /// with the time since `t0` (the start of the analysis).
    pub async fn export_now(
        &self,
        app: &AppRecord,
        summary: &Path,
        log: &Path,
        event_log: Option<&Path>,
        t0: Instant,
    ) -> String {
        let now = now_ms();
        // Keep the retry task off the row while the first attempt runs.
        let hold = i64::try_from(self.policy.attempt_timeout.as_millis())
            .unwrap_or(i64::MAX)
            .saturating_add(1000);
        let entry = OutboxEntry {
            instance_id: app.instance_id.clone(),
            app_id: app.id.clone(),
            summary_path: summary.display().to_string(),
            log_path: log.display().to_string(),
            event_log: event_log.map(|p| p.display().to_string()),
            created_at: now,
            attempts: 0,
            next_attempt_at: now.saturating_add(hold),
            last_error: None,
        };
        if let Err(e) = self.store.outbox_put(&entry).await {
            tracing::warn!(app = %app.id, error = %e, "could not queue the summary export");
            return format!("sparkplane: performance summary export could not be queued: {e}");
        }
        match self.attempt(&entry).await {
            Ok(()) => format!(
                "sparkplane: performance summary exported in {} ms",
                t0.elapsed().as_millis()
            ),
            Err(err) => {
                self.failed(&entry, &err, false).await;
                self.wake.notify_one();
                if err.permanent() {
                    format!("sparkplane: performance summary export abandoned: {err}")
                } else {
                    format!(
                        "sparkplane: performance summary export failed after {} ms ({err}); queued for retry",
                        t0.elapsed().as_millis()
                    )
                }
            }
        }
    }
}

/// Run the outbox's retry task on the current runtime until the server stops.
pub fn spawn_retry(exporter: Exporter) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            if let Err(e) = exporter.run_due().await {
                tracing::warn!(error = %e, "export outbox: could not read the queue");
            }
            let poll = exporter.policy.poll;
            tokio::select! {
                () = tokio::time::sleep(poll) => {}
                () = exporter.wake.notified() => {}
            }
        }
    })
}

/// The server's completion hook: analyse, write the summary, queue and try its export.
pub struct ExportCompletion {
    exporter: Exporter,
    rt: tokio::runtime::Handle,
}

impl ExportCompletion {
    /// A hook that runs the export on `rt` (the server's runtime).
    pub fn new(exporter: Exporter, rt: tokio::runtime::Handle) -> Self {
        ExportCompletion { exporter, rt }
    }
}

impl RunCompletion for ExportCompletion {
    fn on_finished(
        &self,
        app: &AppRecord,
        event_log: Option<&Path>,
        app_dir: &Path,
    ) -> Option<String> {
        let event_log = event_log?;
        let t0 = Instant::now();
        if let Err(e) = AnalyzeCompletion::summarize(event_log, app_dir) {
            tracing::warn!(app = %app.id, error = %e, "analysis of the event log failed");
            return Some(format!("sparkplane: performance summary failed: {e}"));
        }
        let analysed = t0.elapsed();
        let line = self.rt.block_on(self.exporter.export_now(
            app,
            &app_dir.join("summary.json"),
            &app_dir.join(sparkplane_runner::supervisor::files::DRIVER_LOG),
            Some(event_log),
            t0,
        ));
        tracing::info!(app = %app.id, analyse_ms = analysed.as_millis() as u64, total_ms = t0.elapsed().as_millis() as u64, "end-of-run analysis and export");
        Some(line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let p = RetryPolicy {
            base: Duration::from_millis(500),
            max: Duration::from_secs(5),
            ..RetryPolicy::default()
        };
        assert_eq!(p.delay(1), Duration::from_millis(500));
        assert_eq!(p.delay(2), Duration::from_secs(1));
        assert_eq!(p.delay(4), Duration::from_secs(4));
        assert_eq!(p.delay(5), Duration::from_secs(5));
        assert_eq!(p.delay(500), Duration::from_secs(5));
    }
}
