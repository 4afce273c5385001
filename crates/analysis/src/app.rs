//! The application-level fold: who/what/when of a run and whether it succeeded.

use serde::{Deserialize, Serialize};
use sparkplane_eventlog::Event;

/// How a run ended, as far as its log tells.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema, Default,
)]
#[serde(rename_all = "lowercase")]
pub enum AppStatus {
    /// Ended with exit code 0, or (no exit code, Spark < 4) without a failed final job.
    Succeeded,
    /// Ended with a non-zero exit code, or (no exit code) its final job failed.
    Failed,
    /// No `ApplicationEnd` and the log says it is still being written.
    Running,
    /// No `ApplicationEnd` and the log is not marked in progress (e.g. the driver died).
    #[default]
    Unknown,
}

/// The application a log describes (`app` in the summary JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema, Default)]
pub struct AppInfo {
    pub id: String,
    pub attempt_id: Option<String>,
    pub name: String,
    pub user: Option<String>,
    pub spark_version: Option<String>,
    /// Epoch ms.
    pub start_time: Option<i64>,
    /// Epoch ms.
    pub end_time: Option<i64>,
    pub duration_ms: Option<i64>,
    /// Whether the log has the application's end event.
    pub completed: bool,
    pub status: AppStatus,
}

/// Folds events into an [`AppInfo`]: call [`AppInfoBuilder::on_event`] for each event, then
/// [`AppInfoBuilder::finish`].
#[derive(Debug, Clone, Default)]
pub struct AppInfoBuilder {
    info: AppInfo,
    exit_code: Option<i64>,
    last_job_failed: bool,
}

impl AppInfoBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn on_event(&mut self, event: &Event<'_>) {
        match event {
            Event::LogStart(e) => self.info.spark_version = Some(e.spark_version.to_string()),
            Event::ApplicationStart(e) => {
                if let Some(id) = &e.app_id {
                    self.info.id = id.to_string();
                }
                self.info.attempt_id = e.app_attempt_id.as_ref().map(|a| a.to_string());
                self.info.name = e.app_name.to_string();
                self.info.user = e.user.as_ref().map(|u| u.to_string());
                self.info.start_time = Some(e.timestamp);
            }
            Event::ApplicationEnd(e) => {
                self.info.end_time = Some(e.timestamp);
                self.info.completed = true;
                self.exit_code = e.exit_code;
            }
            Event::JobEnd(e) => self.last_job_failed = !e.job_result.succeeded(),
            _ => {}
        }
    }

    /// Sets the Spark version when the log has no `LogStart` (legacy directories name it).
    pub fn spark_version_hint(&mut self, version: Option<&str>) {
        if self.info.spark_version.is_none() {
            self.info.spark_version = version.map(str::to_owned);
        }
    }

    /// The application info; `in_progress` is what the log's name/marker says.
    pub fn finish(mut self, in_progress: bool) -> AppInfo {
        let info = &mut self.info;
        info.duration_ms = match (info.start_time, info.end_time) {
            (Some(s), Some(e)) => Some(e.saturating_sub(s)),
            _ => None,
        };
        info.status = match (info.completed, self.exit_code) {
            (true, Some(0)) => AppStatus::Succeeded,
            (true, Some(_)) => AppStatus::Failed,
            (true, None) if self.last_job_failed => AppStatus::Failed,
            (true, None) => AppStatus::Succeeded,
            (false, _) if in_progress => AppStatus::Running,
            (false, _) => AppStatus::Unknown,
        };
        self.info
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use sparkplane_eventlog::parse_line;

    fn fold(lines: &[&str], in_progress: bool) -> AppInfo {
        let mut b = AppInfoBuilder::new();
        for l in lines {
            let (_, ev) = parse_line(l.as_bytes()).unwrap();
            b.on_event(&ev);
        }
        b.finish(in_progress)
    }

    const START: &str = r#"{"Event":"SparkListenerApplicationStart","App Name":"n","App ID":"app-1","Timestamp":1000,"User":"u","App Attempt ID":"2"}"#;

    #[test]
    fn succeeded_failed_running_unknown() {
        let ok = fold(
            &[
                START,
                r#"{"Event":"SparkListenerApplicationEnd","Timestamp":3500,"ExitCode":0}"#,
            ],
            false,
        );
        assert_eq!(ok.status, AppStatus::Succeeded);
        assert_eq!(ok.duration_ms, Some(2500));
        assert_eq!(ok.attempt_id.as_deref(), Some("2"));
        assert!(ok.completed);

        let failed = fold(
            &[
                START,
                r#"{"Event":"SparkListenerApplicationEnd","Timestamp":3500,"ExitCode":1}"#,
            ],
            false,
        );
        assert_eq!(failed.status, AppStatus::Failed);

        let failed_job = fold(
            &[
                START,
                r#"{"Event":"SparkListenerJobEnd","Job ID":0,"Completion Time":2,"Job Result":{"Result":"JobFailed","Exception":{"Message":"boom"}}}"#,
                r#"{"Event":"SparkListenerApplicationEnd","Timestamp":3500}"#,
            ],
            false,
        );
        assert_eq!(failed_job.status, AppStatus::Failed);

        let running = fold(&[START], true);
        assert_eq!(running.status, AppStatus::Running);
        assert!(!running.completed);
        assert_eq!(running.duration_ms, None);
        assert_eq!(fold(&[START], false).status, AppStatus::Unknown);
    }

    #[test]
    fn serializes_contract_names() {
        let v = serde_json::to_value(fold(&[START], true)).unwrap();
        for key in [
            "id",
            "attempt_id",
            "name",
            "spark_version",
            "start_time",
            "end_time",
            "duration_ms",
            "completed",
            "status",
        ] {
            assert!(v.get(key).is_some(), "{key}");
        }
        assert_eq!(v["status"], "running");
    }
}
