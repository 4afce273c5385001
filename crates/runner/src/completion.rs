//! The end-of-run hook. The server implements [`RunCompletion`] to analyse the event log,
//! store the summary and export it through its durable outbox. The runner calls it on a
//! background thread once per terminal application (again after a restart if it had not
//! returned), and nothing it does can change the app's final state.

use std::path::Path;
use std::time::Instant;

use crate::app::AppRecord;
use crate::fsutil::write_atomic;

/// Called once an application has reached a terminal state.
pub trait RunCompletion: Send + Sync {
    /// `event_log` is Spark's event log (a file or a rolling `eventlog_v2_*` directory); `None`
    /// if the app never got as far as writing one. `app_dir` is the app's private directory.
    /// Returns a line to append to the app's driver log (e.g. `performance summary exported in
    /// 12 ms`), if any. Implementations must be idempotent: after a restart the runner may call
    /// them again for the same app.
    fn on_finished(
        &self,
        app: &AppRecord,
        event_log: Option<&Path>,
        app_dir: &Path,
    ) -> Option<String>;
}

/// Does nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoopCompletion;

impl RunCompletion for NoopCompletion {
    fn on_finished(&self, _: &AppRecord, _: Option<&Path>, _: &Path) -> Option<String> {
        None
    }
}

/// The default hook: analyse the event log with `sparkplane_analysis` and write the redacted
/// summary to `<app dir>/summary.json` (0600), logging `performance summary exported in N ms`.
/// The server's hook does the same and then stores and exports the summary (outbox).
#[derive(Debug, Default, Clone, Copy)]
pub struct AnalyzeCompletion;

impl AnalyzeCompletion {
    /// Analyse `event_log` and write `summary.json` into `app_dir`.
    pub fn summarize(event_log: &Path, app_dir: &Path) -> Result<(), String> {
        let log = sparkplane_eventlog::open(event_log).map_err(|e| e.to_string())?;
        let analysis =
            sparkplane_analysis::analyze(&log, &sparkplane_analysis::analyze::Options::default())
                .map_err(|e| e.to_string())?;
        let json = serde_json::to_vec_pretty(&analysis.summary).map_err(|e| e.to_string())?;
        write_atomic(&app_dir.join("summary.json"), &json, 0o600).map_err(|e| e.to_string())
    }
}

impl RunCompletion for AnalyzeCompletion {
    fn on_finished(
        &self,
        app: &AppRecord,
        event_log: Option<&Path>,
        app_dir: &Path,
    ) -> Option<String> {
        let event_log = event_log?;
        let t0 = Instant::now();
        match Self::summarize(event_log, app_dir) {
            Ok(()) => Some(format!(
                "sparkplane: performance summary exported in {} ms",
                t0.elapsed().as_millis()
            )),
            Err(e) => {
                tracing::warn!(app = %app.id, error = %e, "runner: analysis failed");
                Some(format!("sparkplane: performance summary failed: {e}"))
            }
        }
    }
}
