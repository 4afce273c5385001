//! Fold typed Spark events into a performance model, derive insights, redact PII, and produce the
//! versioned `Summary` (and its text/HTML reports). No I/O beyond a `Read`.
