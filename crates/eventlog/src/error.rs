//! Errors of the event-log reader.

use std::path::PathBuf;

use crate::codec::Codec;
use crate::diagnostics::Diagnostics;

/// Why a log could not be opened or read.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: not a Spark event log (no event files found)", path.display())]
    NotAnEventLog { path: PathBuf },
    #[error("{} is a directory of {count} applications, not one application's log", path.display())]
    ManyApplications { path: PathBuf, count: usize },
    #[error("{}: corrupt {codec} data at byte offset {offset} of the compressed file: {message}", path.display())]
    Corrupt {
        path: PathBuf,
        codec: Codec,
        /// Offset in the (compressed) file where the bad data starts, or the decoder's position
        /// when it noticed (stream codecs: zstd, gzip).
        offset: u64,
        message: String,
    },
    #[error("{}: line {line} is longer than {limit} bytes", path.display())]
    LineTooLong {
        path: PathBuf,
        line: u64,
        limit: usize,
    },
}

/// Reading stopped with an error; the events before it were delivered and are described by
/// `diagnostics`.
#[derive(Debug, thiserror::Error)]
#[error("{error}")]
pub struct ReadFailure {
    pub diagnostics: Diagnostics,
    #[source]
    pub error: Error,
}
