//! Application request and record types (IBM Analytics Engine v3 shapes), and the per-instance
//! settings the runner needs.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::conf::SparkConf;
use crate::error::RunnerError;
use crate::state::{AppState, Lifecycle};

/// `application_details` of `POST …/spark_applications`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplicationDetails {
    /// The main file: a path in the instance's `files/` area (relative, or absolute inside it).
    pub application: String,
    /// Main class (JVM apps).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    /// Arguments passed to the app.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub arguments: Vec<String>,
    /// Spark conf.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub conf: SparkConf,
    /// Environment variables for the driver and (via `spark.executorEnv.*`) the executors.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// Jars (files in the instance area).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub jars: Vec<String>,
    /// Maven coordinates.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub packages: Vec<String>,
    /// Files (in the instance area).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<String>,
    /// Archives (in the instance area).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub archives: Vec<String>,
    /// Application name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Requested runtime (`{"spark_version": "4.3"}`), checked against the installed Spark.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime: Option<Runtime>,
}

/// `application_details.runtime`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Runtime {
    /// Wanted Spark version (prefix match: "4.3" matches 4.3.0).
    pub spark_version: String,
}

/// Where an instance's applications run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Backend {
    /// `spark-submit --master local[N]` per app (N = `spark.driver.cores`, default 1).
    Local,
    /// The instance's own standalone Master + Worker on loopback.
    Standalone {
        /// Worker cores.
        worker_cores: u32,
        /// Worker memory (`1g`).
        worker_memory: String,
    },
}

/// Per-instance limits (IBM `resource_consumption_limits`). `None` = unlimited.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quota {
    /// Max applications in `submitted`/`running` at once.
    pub max_concurrent_apps: Option<u32>,
    /// Max cores held by running applications at once.
    pub max_cores: Option<u32>,
}

impl Quota {
    /// Whether one more app holding `app_cores` may start while `active` apps hold `cores`.
    /// An app larger than `max_cores` may still run alone (otherwise it would wait forever).
    pub fn admits(&self, active: u32, cores: u32, app_cores: u32) -> bool {
        self.max_concurrent_apps.is_none_or(|m| active < m)
            && self
                .max_cores
                .is_none_or(|m| cores.saturating_add(app_cores) <= m || active == 0)
    }
}

/// What the runner needs to know about an instance (the server owns the truth and hands it
/// over with [`crate::Runner::ensure_instance`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceSpec {
    /// Instance id.
    pub id: String,
    /// The instance's `default_config`.
    #[serde(default)]
    pub default_config: SparkConf,
    /// Limits.
    #[serde(default)]
    pub quota: Quota,
    /// Backend.
    pub backend: Backend,
}

impl InstanceSpec {
    /// A local-backend instance with no quota and an empty default_config.
    pub fn local(id: &str) -> Self {
        InstanceSpec {
            id: id.to_owned(),
            default_config: SparkConf::new(),
            quota: Quota::default(),
            backend: Backend::Local,
        }
    }
}

/// Everything the runner knows about one application; this is what the API shows (secrets are
/// redacted in `effective_conf`, `env` values are not kept here).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppRecord {
    /// sparkplane application id.
    pub id: String,
    /// Owning instance.
    pub instance_id: String,
    /// Application name.
    pub name: Option<String>,
    /// The main file as requested.
    pub application: String,
    /// State and timestamps.
    pub lifecycle: Lifecycle,
    /// Cores the app counts against the quota.
    pub cores: u32,
    /// Effective conf, secrets redacted.
    pub effective_conf: SparkConf,
    /// Names of the app's environment variables (values are never shown).
    pub env_names: Vec<String>,
    /// Spark's own application id.
    pub spark_app_id: Option<String>,
    /// The event log (file or rolling directory).
    pub event_log: Option<PathBuf>,
    /// Failure reason, when failed.
    pub failure_reason: Option<String>,
    /// Driver exit code.
    pub exit_code: Option<i32>,
    /// Whether a supervisor has been started for it.
    pub launched: bool,
    /// When the supervisor was started (epoch ms).
    pub launched_at: Option<u64>,
    /// Whether the end-of-run hook has completed.
    pub completion_done: bool,
}

impl AppRecord {
    /// Current state.
    pub fn state(&self) -> AppState {
        self.lifecycle.state()
    }
}

/// Check an instance or application id: 1–64 of `[A-Za-z0-9_-]`.
pub fn check_id(id: &str) -> Result<(), RunnerError> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(RunnerError::InvalidId(id.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ibm_shape_parses_and_rejects_unknown_fields() {
        let d: ApplicationDetails = serde_json::from_str(
            r#"{"application":"app.py","arguments":["1"],"conf":{"spark.x":"y"},"env":{"A":"b"},"runtime":{"spark_version":"4.3"}}"#,
        )
        .unwrap();
        assert_eq!(d.application, "app.py");
        assert_eq!(d.runtime.unwrap().spark_version, "4.3");
        assert!(
            serde_json::from_str::<ApplicationDetails>(r#"{"application":"a","bogus":1}"#).is_err()
        );
    }

    #[test]
    fn quota_admission() {
        let none = Quota::default();
        assert!(none.admits(100, 1000, 8));
        let q = Quota {
            max_concurrent_apps: Some(2),
            max_cores: Some(4),
        };
        assert!(q.admits(0, 0, 2));
        assert!(q.admits(1, 2, 2));
        assert!(!q.admits(1, 2, 3), "cores over the limit");
        assert!(!q.admits(2, 2, 1), "too many apps");
        assert!(q.admits(0, 0, 16), "a big app may run alone");
        assert!(!q.admits(1, 1, 16));
    }

    #[test]
    fn ids() {
        check_id("inst-1_A").unwrap();
        for bad in ["", "../x", "a/b", "a b", &"x".repeat(65)] {
            assert!(check_id(bad).is_err(), "{bad}");
        }
    }
}
