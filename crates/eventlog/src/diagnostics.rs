//! What the reader saw: event counts, skipped lines, files, codec, in-progress and truncation.
//! The JSON names of [`Diagnostics`] are a contract other tools read.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::codec::Codec;

/// How many malformed lines are kept with details (all are counted).
pub const MAX_MALFORMED_DETAILS: usize = 100;

/// A line that could not be parsed (skipped).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MalformedLine {
    /// File name (not the full path).
    pub file: String,
    /// 1-based line number within that file.
    pub line: u64,
    pub error: String,
}

/// Counts and findings of one read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Diagnostics {
    /// Sum of `events_by_type` (unknown events included, malformed lines excluded).
    pub events_total: u64,
    /// `Event` string → count.
    pub events_by_type: BTreeMap<String, u64>,
    /// Number of lines that were not valid JSON events (skipped).
    pub malformed_lines: u64,
    /// The first [`MAX_MALFORMED_DETAILS`] malformed lines.
    pub malformed: Vec<MalformedLine>,
    /// Events neither modelled nor defined by Apache Spark (custom listeners, vendors).
    pub unknown_events: u64,
    /// How many files were read.
    pub files: u64,
    /// The names of the files read, in order.
    pub file_names: Vec<String>,
    /// The codec of the (first) file.
    pub codec: Codec,
    /// The log says the application had not finished when it was read.
    pub in_progress: bool,
    /// The log ended in a torn last line or an incomplete compressed block/frame.
    pub truncated: bool,
    pub warnings: Vec<String>,
    /// Bytes of (decompressed) JSON read.
    pub bytes: u64,
}

impl Diagnostics {
    pub(crate) fn count(&mut self, name: &str) {
        self.events_total += 1;
        if let Some(n) = self.events_by_type.get_mut(name) {
            *n += 1;
        } else {
            self.events_by_type.insert(name.to_owned(), 1);
        }
    }

    pub(crate) fn malformed(&mut self, file: &str, line: u64, error: String) {
        self.malformed_lines += 1;
        if self.malformed.len() < MAX_MALFORMED_DETAILS {
            self.malformed.push(MalformedLine {
                file: file.to_owned(),
                line,
                error,
            });
        }
    }
}
