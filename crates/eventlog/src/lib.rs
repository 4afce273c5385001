//! Open any Spark event log (single file, rolling directory, legacy 1.x directory; every codec
//! Spark writes; in-progress or truncated) and stream typed events in order, with bounded memory.
//! No analysis happens here.
//!
//! ```no_run
//! use sparkplane_eventlog::{open, Event};
//!
//! let log = open("eventlog_v2_local-1795548357922".as_ref())?;
//! let mut tasks = 0;
//! let diagnostics = log.for_each(|ev| {
//!     if let Event::TaskEnd(t) = ev {
//!         tasks += 1;
//!         let _run_ms = t.task_metrics.and_then(|m| m.executor_run_time);
//!     }
//! })?;
//! println!("{tasks} tasks, {} events", diagnostics.events_total);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Memory: one line buffer (64 KiB growing to 1 MiB; beyond that only for longer lines, at most
//! [`MAX_LINE_BYTES`]) and one decompressed block at a time; events borrow from the buffer and
//! live for the duration of the callback.

// `ReadFailure` carries the diagnostics of what was read before the failure; it is returned once
// per read, never in a loop, so its size does not matter.
#![allow(clippy::result_large_err)]

mod codec;
mod de;
mod diagnostics;
mod error;
pub mod events;
mod layout;
mod reader;
pub mod sealed;

use std::io::Read;
use std::path::{Path, PathBuf};

pub use codec::Codec;
pub use de::{AccumValue, NumMap, StrMap};
pub use diagnostics::{Diagnostics, MalformedLine, MAX_MALFORMED_DETAILS};
pub use error::{Error, ReadFailure};
pub use events::*;
pub use layout::{is_application, list_applications, AppEntry, Layout, LogFile};
pub use reader::{parse_line, parse_name, LineError, MAX_LINE_BYTES};

/// One application's event log, located but not yet read. Reading is done by
/// [`EventLog::for_each`], which can be called more than once.
#[derive(Debug, Clone)]
pub struct EventLog {
    located: layout::Located,
}

/// Opens one application's log: a single file (any codec, `.inprogress` or not), a rolling
/// `eventlog_v2_*` directory, or a Spark 1.x legacy directory. A directory of many applications
/// is an [`Error::ManyApplications`]; use [`list_applications`] for it.
pub fn open(path: &Path) -> Result<EventLog, Error> {
    Ok(EventLog {
        located: layout::locate(path)?,
    })
}

impl EventLog {
    /// The path that was opened.
    pub fn path(&self) -> &Path {
        &self.located.path
    }

    pub fn layout(&self) -> Layout {
        self.located.layout
    }

    /// The files that will be read, in order (after `.crc` skipping and compaction).
    pub fn files(&self) -> &[LogFile] {
        &self.located.files
    }

    /// Whether the file name or status marker says the application had not finished.
    pub fn in_progress(&self) -> bool {
        self.located.in_progress
    }

    /// The Spark version a legacy directory's `SPARK_VERSION_*` marker names (newer logs carry
    /// it in [`Event::LogStart`]).
    pub fn spark_version_hint(&self) -> Option<&str> {
        self.located.spark_version.as_deref()
    }

    /// Streams every event, in order, to `f`. Events borrow from the reader's buffer and are
    /// valid during the call only.
    ///
    /// Malformed lines, unknown events, a torn last line and an incomplete last compressed block
    /// are not errors: they are reported in the returned [`Diagnostics`]. Unreadable or corrupt
    /// input stops the read with a [`ReadFailure`] carrying the diagnostics of what was delivered
    /// before it.
    pub fn for_each<F: FnMut(Event<'_>)>(&self, f: F) -> Result<Diagnostics, ReadFailure> {
        self.read_with(&mut reader::Typed(f))
    }

    /// Streams every event's `Event` name and raw JSON line (validated as JSON, not typed), in
    /// order. Counts and failures as in [`EventLog::for_each`].
    pub fn for_each_raw<F: FnMut(&str, &[u8])>(&self, f: F) -> Result<Diagnostics, ReadFailure> {
        self.read_with(&mut reader::Raw(f))
    }

    fn read_with<S: reader::LineSink>(&self, sink: &mut S) -> Result<Diagnostics, ReadFailure> {
        let mut diag = Diagnostics {
            in_progress: self.located.in_progress,
            warnings: self.located.warnings.clone(),
            ..Diagnostics::default()
        };
        let mut reader = reader::LineReader::new();
        for (i, file) in self.located.files.iter().enumerate() {
            if let Err(error) = reader::read_path(
                &mut reader,
                &file.path,
                file.name_codec,
                i == 0,
                &mut diag,
                sink,
            ) {
                return Err(ReadFailure {
                    diagnostics: diag,
                    error,
                });
            }
        }
        Ok(diag)
    }
}

/// Reads an event log from any byte stream (one file's contents), detecting the codec from its
/// magic bytes, else from `name`'s extension. `name` is used in diagnostics and errors.
pub fn read_stream<R: Read, F: FnMut(Event<'_>)>(
    input: R,
    name: &str,
    f: F,
) -> Result<Diagnostics, ReadFailure> {
    let path = PathBuf::from(name);
    let mut diag = Diagnostics {
        in_progress: name.ends_with(".inprogress"),
        ..Diagnostics::default()
    };
    let name_codec = path
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(Codec::from_file_name);
    let mut reader = reader::LineReader::new();
    match reader.read_input(
        input,
        &path,
        name_codec,
        true,
        &mut diag,
        &mut reader::Typed(f),
    ) {
        Ok(()) => Ok(diag),
        Err(error) => Err(ReadFailure {
            diagnostics: diag,
            error,
        }),
    }
}
