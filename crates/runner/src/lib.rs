//! Run Spark applications (spark-submit; local / standalone backends), layer their configuration,
//! sandbox them per instance, track their state machine and logs, and analyse + export at the end.
//!
//! The server drives it through [`Runner`]: [`Runner::ensure_instance`] (sandbox, secret,
//! standalone cluster), [`Runner::submit`], [`Runner::get`] / [`Runner::list`] /
//! [`Runner::driver_log`], [`Runner::stop`], and [`Runner::spawn_monitor`] (or [`Runner::poll`]).
//! Each application runs under its own supervisor process ([`supervisor::run`], exposed as the
//! hidden `sparkplane supervise --app-dir DIR`), which survives a server restart; a new
//! [`Runner::new`] on the same data dir re-attaches. At the end of each run the server's
//! [`RunCompletion`] hook is called.

#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod app;
pub mod at_rest;
pub mod completion;
pub mod conf;
mod error;
pub mod fsutil;
pub mod procs;
mod runner;
pub mod standalone;
pub mod state;
pub mod supervisor;

pub use app::{AppRecord, ApplicationDetails, Backend, InstanceSpec, Quota, Runtime};
pub use at_rest::{AtRest, SealWriter};
pub use completion::{AnalyzeCompletion, NoopCompletion, RunCompletion};
pub use conf::{ConfError, EffectiveConf, SparkConf};
pub use error::RunnerError;
pub use runner::{
    default_platform_conf, find_spark_home, resolve_in_area, spark_version, MonitorHandle, Runner,
    RunnerConfig, Sandbox, WorkareaPin, WORKAREA_MARKER,
};
pub use state::{AppState, EpochMs, InvalidTransition, Lifecycle};
