//! Fold typed Spark events into a performance model, derive insights, redact PII, and produce the
//! versioned `Summary` (and its text/HTML reports). No I/O beyond a `Read`.

pub mod analyze;
pub mod app;
pub mod insights;
pub mod model;
pub mod redact;
pub mod report;
pub mod sketch;
pub mod summary;

pub use analyze::{analyze, analyze_stream, Analysis, AnalyzeError, Analyzer, Options};
pub use summary::Summary;
