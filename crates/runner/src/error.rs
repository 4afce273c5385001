//! The runner's error type.

use std::path::{Path, PathBuf};

use crate::conf::ConfError;
use crate::state::InvalidTransition;

/// Everything that can go wrong in the runner.
#[derive(Debug, thiserror::Error)]
pub enum RunnerError {
    /// A file-system operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The path involved.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A state file could not be read or written as JSON.
    #[error("{path}: bad JSON: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: serde_json::Error,
    },
    /// The configuration was refused.
    #[error(transparent)]
    Conf(#[from] ConfError),
    /// An illegal state change was requested.
    #[error(transparent)]
    Transition(#[from] InvalidTransition),
    /// Unknown instance.
    #[error("instance `{0}` is not known to the runner")]
    UnknownInstance(String),
    /// Unknown application.
    #[error("application `{0}` not found")]
    UnknownApp(String),
    /// An identifier with characters that are not allowed.
    #[error("invalid identifier `{0}` (allowed: letters, digits, `-`, `_`; 1–64 chars)")]
    InvalidId(String),
    /// A path in the request escapes the instance's area or does not exist.
    #[error("`{0}` is not a file in the instance's area")]
    BadPath(String),
    /// Requested input that this runner does not support.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// Spark is not installed where expected.
    #[error("Spark not found: {0}")]
    SparkMissing(String),
    /// A process could not be started or signalled.
    #[error("process error: {0}")]
    Process(String),
    /// The OS random source failed.
    #[error("random source failed: {0}")]
    Random(String),
    /// The standalone cluster failed to start.
    #[error("standalone cluster: {0}")]
    Cluster(String),
}

impl RunnerError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        RunnerError::Io {
            path: path.to_owned(),
            source,
        }
    }
}
