//! The entry point: one application's events in, its [`Model`] and redacted [`Summary`] out.
//!
//! ```no_run
//! use sparkplane_analysis::{analyze, Options};
//!
//! let log = sparkplane_eventlog::open("eventlog_v2_local-1795548357922".as_ref())?;
//! let analysis = analyze(&log, &Options::default())?;
//! println!("{}", serde_json::to_string_pretty(&analysis.summary)?);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::io::Read;

use sparkplane_eventlog::{Diagnostics, Event, EventLog, ReadFailure};

use crate::app::{AppInfo, AppInfoBuilder};
use crate::insights::{self, Thresholds};
use crate::model::{Model, ModelBuilder};
use crate::summary::{DiagnosticsSummary, Summary};

/// What to analyse with.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Insight thresholds (defaults: the documented ones).
    pub thresholds: Thresholds,
}

/// Why an analysis produced nothing.
#[derive(Debug, thiserror::Error)]
pub enum AnalyzeError {
    /// The log could not be read at all (no event was delivered).
    #[error(transparent)]
    Unreadable(#[from] sparkplane_eventlog::Error),
}

/// One application's analysis.
#[derive(Debug, Clone)]
pub struct Analysis {
    /// The application section before redaction.
    pub app: AppInfo,
    /// What the reader saw.
    pub diagnostics: Diagnostics,
    /// The raw (unredacted) model; keep it in memory only.
    pub model: Model,
    /// The redacted summary: what may be printed, exported and stored.
    pub summary: Summary,
    /// Where reading stopped early (corrupt data part-way), if it did. The model and summary
    /// cover the events read before it.
    pub read_error: Option<String>,
}

/// Folds events of one application; [`analyze`] and [`analyze_stream`] drive it, and callers
/// with their own event source can too.
#[derive(Default)]
pub struct Analyzer {
    app: AppInfoBuilder,
    model: ModelBuilder,
}

impl Analyzer {
    /// An empty analyzer.
    pub fn new() -> Self {
        Self::default()
    }

    /// The Spark version a legacy log directory names (used when the log has no `LogStart`).
    pub fn spark_version_hint(&mut self, version: Option<&str>) {
        self.app.spark_version_hint(version);
    }

    /// When the log was last written (epoch ms), as the History Server takes it: the
    /// modification time of the (last) events file.
    pub fn last_updated_hint(&mut self, epoch_ms: Option<i64>) {
        self.model.set_last_updated(epoch_ms);
    }

    /// Fold one event.
    pub fn push(&mut self, event: &Event<'_>) {
        self.app.on_event(event);
        self.model.push(event);
    }

    /// Build the model, the insights and the summary.
    pub fn finish(self, diagnostics: &Diagnostics, options: &Options) -> (AppInfo, Model, Summary) {
        let app: AppInfo = self.app.finish(diagnostics.in_progress);
        let model = self.model.finish();
        let found = insights::evaluate(&model, &options.thresholds);
        let summary =
            Summary::from_model(&app, &model, found, DiagnosticsSummary::from(diagnostics));
        (app, model, summary)
    }
}

fn conclude(
    analyzer: Analyzer,
    result: Result<Diagnostics, ReadFailure>,
    options: &Options,
) -> Result<Analysis, AnalyzeError> {
    let (diagnostics, read_error) = match result {
        Ok(d) => (d, None),
        Err(f) if f.diagnostics.events_total == 0 => return Err(f.error.into()),
        Err(f) => (f.diagnostics, Some(f.error.to_string())),
    };
    let (app, model, summary) = analyzer.finish(&diagnostics, options);
    Ok(Analysis {
        app,
        diagnostics,
        model,
        summary,
        read_error,
    })
}

/// A file's modification time in epoch ms.
fn modified_ms(path: &std::path::Path) -> Option<i64> {
    let t = std::fs::metadata(path).ok()?.modified().ok()?;
    let d = t.duration_since(std::time::UNIX_EPOCH).ok()?;
    i64::try_from(d.as_millis()).ok()
}

/// Analyse one application's log.
pub fn analyze(log: &EventLog, options: &Options) -> Result<Analysis, AnalyzeError> {
    let mut analyzer = Analyzer::new();
    analyzer.spark_version_hint(log.spark_version_hint());
    analyzer.last_updated_hint(log.files().last().and_then(|f| modified_ms(&f.path)));
    let result = log.for_each(|e| analyzer.push(&e));
    conclude(analyzer, result, options)
}

/// Analyse one log file's bytes from any reader (codec detected from magic bytes, else `name`).
pub fn analyze_stream<R: Read>(
    input: R,
    name: &str,
    options: &Options,
) -> Result<Analysis, AnalyzeError> {
    let mut analyzer = Analyzer::new();
    let result = sparkplane_eventlog::read_stream(input, name, |e| analyzer.push(&e));
    conclude(analyzer, result, options)
}
