//! The end-of-run hook. The server implements [`RunCompletion`] to analyse the event log,
//! store the summary and export it through its durable outbox. The runner calls it on a
//! background thread once per terminal application (again after a restart if it had not
//! returned), and nothing it does can change the app's final state.

use std::path::Path;

use crate::app::AppRecord;

/// Called once an application has reached a terminal state.
pub trait RunCompletion: Send + Sync {
    /// `event_log` is Spark's event log (a file or a rolling `eventlog_v2_*` directory); `None`
    /// if the app never got as far as writing one. Returns a line to append to the app's driver
    /// log (e.g. `performance summary exported in 12 ms`), if any. Implementations must be
    /// idempotent: after a restart the runner may call them again for the same app.
    fn on_finished(&self, app: &AppRecord, event_log: Option<&Path>) -> Option<String>;
}

/// Does nothing (the default until the server supplies its analyse + store + export hook).
#[derive(Debug, Default, Clone, Copy)]
pub struct NoopCompletion;

impl RunCompletion for NoopCompletion {
    fn on_finished(&self, _app: &AppRecord, _event_log: Option<&Path>) -> Option<String> {
        None
    }
}
