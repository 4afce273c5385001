//! The streaming line reader: decompress, split lines with `memchr` in one reused buffer, peek
//! the `Event` name, deserialize the line once into its typed variant.

use std::borrow::Cow;
use std::fs::File;
use std::io::{self, Cursor, Read};
use std::path::Path;

use serde::de::IgnoredAny;
use serde::Deserialize;

use crate::codec::{self, Codec, Decode};
use crate::diagnostics::Diagnostics;
use crate::error::Error;
use crate::events::{names, Event, Exclusion, ExclusionKind};

/// Initial size of the line buffer (small inputs stay small).
const BUF_START: usize = 64 << 10;
/// The buffer grows to this size for large inputs (fewer, larger reads); beyond it, it grows
/// only for lines longer than the buffer.
const BUF_SIZE: usize = 1 << 20;
/// Longest line accepted (bounds memory on garbage input).
pub const MAX_LINE_BYTES: usize = 128 << 20;

/// Why a line is not a usable event.
#[derive(Debug, thiserror::Error)]
pub enum LineError {
    #[error("not valid JSON: {0}")]
    Json(#[source] serde_json::Error),
    #[error("invalid UTF-8 after byte {0}")]
    Utf8(usize),
    #[error("JSON without an \"Event\" field")]
    NoEventName,
    #[error("bad {name} event: {source}")]
    BadEvent {
        name: String,
        #[source]
        source: serde_json::Error,
    },
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(rename = "Event", borrow)]
    event: Option<Cow<'a, str>>,
}

/// The `Event` name when the line starts the way Spark writes it (`{"Event":"...",`).
fn peek_name(line: &[u8]) -> Option<&str> {
    let rest = line.strip_prefix(b"{\"Event\":\"")?;
    let end = memchr::memchr(b'"', rest)?;
    let name = &rest[..end];
    if name.contains(&b'\\') {
        return None;
    }
    std::str::from_utf8(name).ok()
}

/// Whether an event name belongs to Apache Spark itself (core events are written with their
/// simple class name, others with their `org.apache.spark.` class name).
fn is_spark_event(name: &str) -> bool {
    (name.starts_with("SparkListener") && !name.contains('.'))
        || name.starts_with("org.apache.spark.")
}

/// Parses one event-log line (without its newline). Returns the `Event` string as written and
/// the typed event. The whole line is validated as JSON.
pub fn parse_line(line: &[u8]) -> Result<(Cow<'_, str>, Event<'_>), LineError> {
    // Validate UTF-8 once for the whole line (fast for ASCII), so the JSON parser need not
    // validate each string again.
    let text = std::str::from_utf8(line).map_err(|e| LineError::Utf8(e.valid_up_to()))?;
    let name: Cow<'_, str> = match peek_name(line) {
        Some(n) => Cow::Borrowed(n),
        None => {
            let env: Envelope<'_> = serde_json::from_str(text).map_err(LineError::Json)?;
            env.event.ok_or(LineError::NoEventName)?
        }
    };
    let event = typed(&name, text).map_err(|source| {
        if source.is_syntax() || source.is_eof() {
            LineError::Json(source)
        } else {
            LineError::BadEvent {
                name: name.to_string(),
                source,
            }
        }
    })?;
    Ok((name, event))
}

fn typed<'a>(name: &Cow<'a, str>, line: &'a str) -> Result<Event<'a>, serde_json::Error> {
    use serde_json::from_str as p;
    Ok(match name.as_ref() {
        names::TASK_END => Event::TaskEnd(p(line)?),
        names::TASK_START => Event::TaskStart(p(line)?),
        names::TASK_GETTING_RESULT => Event::TaskGettingResult(p(line)?),
        names::STAGE_SUBMITTED => Event::StageSubmitted(p(line)?),
        names::STAGE_COMPLETED => Event::StageCompleted(p(line)?),
        names::JOB_START => Event::JobStart(p(line)?),
        names::JOB_END => Event::JobEnd(p(line)?),
        names::LOG_START => Event::LogStart(p(line)?),
        names::APPLICATION_START => Event::ApplicationStart(p(line)?),
        names::APPLICATION_END => Event::ApplicationEnd(p(line)?),
        names::ENVIRONMENT_UPDATE => Event::EnvironmentUpdate(p(line)?),
        names::EXECUTOR_ADDED => Event::ExecutorAdded(p(line)?),
        names::EXECUTOR_REMOVED => Event::ExecutorRemoved(p(line)?),
        names::BLOCK_MANAGER_ADDED => Event::BlockManagerAdded(p(line)?),
        names::BLOCK_MANAGER_REMOVED => Event::BlockManagerRemoved(p(line)?),
        names::STAGE_EXECUTOR_METRICS => Event::StageExecutorMetrics(p(line)?),
        names::EXECUTOR_METRICS_UPDATE => Event::ExecutorMetricsUpdate(p(line)?),
        names::UNPERSIST_RDD => Event::UnpersistRdd(p(line)?),
        names::RESOURCE_PROFILE_ADDED => Event::ResourceProfileAdded(p(line)?),
        names::SQL_EXECUTION_START => Event::SqlExecutionStart(p(line)?),
        names::SQL_EXECUTION_END => Event::SqlExecutionEnd(p(line)?),
        names::SQL_ADAPTIVE_EXECUTION_UPDATE => Event::SqlAdaptiveExecutionUpdate(p(line)?),
        names::SQL_ADAPTIVE_SQL_METRIC_UPDATES => Event::SqlAdaptiveSqlMetricUpdates(p(line)?),
        names::DRIVER_ACCUM_UPDATES => Event::DriverAccumUpdates(p(line)?),
        other => {
            if let Some(kind) = ExclusionKind::from_event_name(other) {
                Event::Exclusion(Exclusion {
                    kind,
                    fields: p(line)?,
                })
            } else {
                // Validate the line so counts agree with a JSON-per-line reader.
                let _: IgnoredAny = p(line)?;
                if is_spark_event(other) {
                    Event::Other { name: name.clone() }
                } else {
                    Event::Unknown { name: name.clone() }
                }
            }
        }
    })
}

/// The `Event` name of a line, validating the whole line as JSON (without typing it).
pub fn parse_name(line: &[u8]) -> Result<Cow<'_, str>, LineError> {
    let text = std::str::from_utf8(line).map_err(|e| LineError::Utf8(e.valid_up_to()))?;
    match peek_name(line) {
        Some(n) => {
            serde_json::from_str::<IgnoredAny>(text).map_err(LineError::Json)?;
            Ok(Cow::Borrowed(n))
        }
        None => {
            let env: Envelope<'_> = serde_json::from_str(text).map_err(LineError::Json)?;
            env.event.ok_or(LineError::NoEventName)
        }
    }
}

/// Whether an event name is modelled or defined by Apache Spark (not counted as unknown).
fn is_known(name: &str) -> bool {
    is_spark_event(name) || ExclusionKind::from_event_name(name).is_some()
}

/// What to do with each complete, non-empty line.
pub(crate) trait LineSink {
    fn line(&mut self, line: &[u8], file: &str, line_no: u64, diag: &mut Diagnostics);
}

/// Typed events: count each line or record it as malformed, and deliver the event.
pub(crate) struct Typed<F>(pub(crate) F);

impl<F: FnMut(Event<'_>)> LineSink for Typed<F> {
    fn line(&mut self, line: &[u8], file: &str, line_no: u64, diag: &mut Diagnostics) {
        match parse_line(line) {
            Ok((name, event)) => {
                diag.count(&name);
                if matches!(event, Event::Unknown { .. }) {
                    diag.unknown_events += 1;
                }
                (self.0)(event);
            }
            Err(e) => diag.malformed(file, line_no, e.to_string()),
        }
    }
}

/// Raw lines: the `Event` name and the line's JSON bytes (validated, not typed).
pub(crate) struct Raw<F>(pub(crate) F);

impl<F: FnMut(&str, &[u8])> LineSink for Raw<F> {
    fn line(&mut self, line: &[u8], file: &str, line_no: u64, diag: &mut Diagnostics) {
        match parse_name(line) {
            Ok(name) => {
                diag.count(&name);
                if !is_known(&name) {
                    diag.unknown_events += 1;
                }
                (self.0)(&name, line);
            }
            Err(e) => diag.malformed(file, line_no, e.to_string()),
        }
    }
}

/// Reusable state for reading files one after another.
pub(crate) struct LineReader {
    buf: Vec<u8>,
}

impl LineReader {
    pub(crate) fn new() -> Self {
        LineReader {
            buf: vec![0; BUF_START],
        }
    }

    /// Reads one file's decompressed stream to its end, delivering events.
    fn read_decoded<S: LineSink>(
        &mut self,
        dec: &mut dyn Decode,
        path: &Path,
        file: &str,
        codec: Codec,
        diag: &mut Diagnostics,
        sink: &mut S,
    ) -> Result<(), Error> {
        let buf = &mut self.buf;
        let (mut start, mut end, mut scanned) = (0usize, 0usize, 0usize);
        let mut line_no = 0u64;
        loop {
            // Deliver every complete line in the buffer.
            while let Some(i) = memchr::memchr(b'\n', &buf[scanned..end]) {
                let nl = scanned + i;
                line_no += 1;
                let line = buf[start..nl].trim_ascii();
                if !line.is_empty() {
                    sink.line(line, file, line_no, diag);
                }
                start = nl + 1;
                scanned = start;
            }
            scanned = end;
            // Make room: move the partial line to the front, grow for long lines.
            if start > 0 {
                buf.copy_within(start..end, 0);
                end -= start;
                scanned -= start;
                start = 0;
            }
            if end == buf.len() || (buf.len() < BUF_SIZE && end > buf.len() / 2) {
                if end == buf.len() && buf.len() >= MAX_LINE_BYTES {
                    return Err(Error::LineTooLong {
                        path: path.to_path_buf(),
                        line: line_no + 1,
                        limit: MAX_LINE_BYTES,
                    });
                }
                let new_len = (buf.len() * 2).min(MAX_LINE_BYTES);
                buf.resize(new_len, 0);
            }
            match dec.read(&mut buf[end..]) {
                Ok(0) => break,
                Ok(n) => {
                    end += n;
                    diag.bytes += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                    diag.truncated = true;
                    diag.warnings.push(format!(
                        "{file}: compressed data ends inside a block/frame (byte {}): {e}; \
                         read what was complete",
                        dec.compressed_offset()
                    ));
                    if end > start {
                        diag.warnings.push(format!(
                            "{file}: incomplete last line ({} bytes) ignored",
                            end - start
                        ));
                    }
                    return Ok(());
                }
                Err(e) if codec == Codec::None => {
                    return Err(Error::Io {
                        path: path.to_path_buf(),
                        source: e,
                    })
                }
                Err(e) => {
                    return Err(Error::Corrupt {
                        path: path.to_path_buf(),
                        codec,
                        offset: dec.compressed_offset(),
                        message: e.to_string(),
                    })
                }
            }
        }
        // A last line without its newline: complete JSON (deliver it) or torn (ignore).
        let rest = buf[start..end].trim_ascii();
        if !rest.is_empty() {
            line_no += 1;
            if serde_json::from_slice::<IgnoredAny>(rest).is_ok() {
                sink.line(rest, file, line_no, diag);
            } else {
                diag.truncated = true;
                diag.warnings.push(format!(
                    "{file}: torn last line {line_no} ({} bytes) ignored",
                    rest.len()
                ));
            }
        }
        Ok(())
    }

    /// Detects the codec of `input` (magic bytes, then `name_codec`) and reads it.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn read_input<R: Read, S: LineSink>(
        &mut self,
        mut input: R,
        path: &Path,
        name_codec: Option<Codec>,
        first_file: bool,
        diag: &mut Diagnostics,
        sink: &mut S,
    ) -> Result<(), Error> {
        let file = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string());
        let io_err = |source| Error::Io {
            path: path.to_path_buf(),
            source,
        };
        let head = codec::read_head(&mut input, 16).map_err(io_err)?;
        let codec = choose_codec(&head, name_codec, &file, diag);
        diag.files += 1;
        diag.file_names.push(file.clone());
        if first_file {
            diag.codec = codec;
        } else if diag.codec != codec {
            diag.warnings.push(format!(
                "{file}: codec {codec} differs from the first file's"
            ));
        }
        if head.is_empty() {
            diag.warnings.push(format!("{file}: empty file"));
            return Ok(());
        }
        let mut dec =
            codec::decoder(codec, Cursor::new(head).chain(input)).map_err(|e| Error::Corrupt {
                path: path.to_path_buf(),
                codec,
                offset: 0,
                message: e.to_string(),
            })?;
        self.read_decoded(dec.as_mut(), path, &file, codec, diag, sink)
    }
}

fn choose_codec(
    head: &[u8],
    name_codec: Option<Codec>,
    file: &str,
    diag: &mut Diagnostics,
) -> Codec {
    match (Codec::from_magic(head), name_codec) {
        (Some(m), Some(n)) if m != n => {
            diag.warnings.push(format!(
                "{file}: name says {n} but the data is {m}; reading it as {m}"
            ));
            m
        }
        (Some(m), _) => m,
        (None, Some(n)) if head.trim_ascii_start().starts_with(b"{") => {
            diag.warnings.push(format!(
                "{file}: name says {n} but the data is plain JSON; reading it as plain"
            ));
            Codec::None
        }
        (None, Some(n)) => n,
        (None, None) => Codec::None,
    }
}

/// Opens and reads one file of a log.
pub(crate) fn read_path<S: LineSink>(
    reader: &mut LineReader,
    path: &Path,
    name_codec: Option<Codec>,
    first_file: bool,
    diag: &mut Diagnostics,
    sink: &mut S,
) -> Result<(), Error> {
    let io_err = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    if crate::sealed::is_sealed(path) {
        let input = crate::sealed::open(path).map_err(io_err)?;
        return reader.read_input(input, path, name_codec, first_file, diag, sink);
    }
    let file = File::open(path).map_err(io_err)?;
    reader.read_input(file, path, name_codec, first_file, diag, sink)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn peeks_spark_style_names() {
        assert_eq!(
            peek_name(br#"{"Event":"SparkListenerLogStart","Spark Version":"4.3.0"}"#),
            Some("SparkListenerLogStart")
        );
        assert_eq!(peek_name(br#"{ "Event": "X"}"#), None);
        assert_eq!(peek_name(br#"{"Event":"a\"b"}"#), None);
    }

    #[test]
    fn parses_with_fallback_envelope() {
        let (name, ev) =
            parse_line(br#"{"Spark Version":"1.6.3", "Event" : "SparkListenerLogStart"}"#).unwrap();
        assert_eq!(name, "SparkListenerLogStart");
        assert!(matches!(ev, Event::LogStart(l) if l.spark_version == "1.6.3"));
    }

    #[test]
    fn classifies_other_and_unknown() {
        let (_, ev) = parse_line(br#"{"Event":"SparkListenerBlockUpdated","x":1}"#).unwrap();
        assert!(matches!(ev, Event::Other { .. }));
        let (_, ev) = parse_line(br#"{"Event":"com.acme.MyEvent","x":1}"#).unwrap();
        assert!(matches!(ev, Event::Unknown { .. }));
        let (_, ev) = parse_line(
            br#"{"Event":"SparkListenerExecutorBlacklisted","time":5,"executorId":"1","taskFailures":3}"#,
        )
        .unwrap();
        match ev {
            Event::Exclusion(e) => {
                assert_eq!(e.kind, ExclusionKind::ExecutorExcluded);
                assert_eq!(e.fields.task_failures, Some(3));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn rejects_bad_lines() {
        assert!(matches!(
            parse_line(b"{\"Event\":\"SparkListenerTaskEnd\""),
            Err(LineError::Json(_))
        ));
        assert!(matches!(
            parse_line(b"{\"x\":1}"),
            Err(LineError::NoEventName)
        ));
        assert!(matches!(
            parse_line(b"{\"Event\":\"com.x.Y\",}"),
            Err(LineError::Json(_))
        ));
        assert!(matches!(
            parse_line(br#"{"Event":"SparkListenerJobEnd","Job ID":"seven"}"#),
            Err(LineError::BadEvent { .. })
        ));
    }

    #[test]
    fn borrows_strings_without_escapes() {
        let line = br#"{"Event":"SparkListenerApplicationStart","App Name":"a","App ID":"local-1","Timestamp":1,"User":"u\u00e9"}"#;
        let (_, ev) = parse_line(line).unwrap();
        let Event::ApplicationStart(a) = ev else {
            panic!()
        };
        assert!(matches!(a.app_name, Cow::Borrowed("a")));
        assert!(matches!(a.app_id, Some(Cow::Borrowed("local-1"))));
        assert_eq!(a.user.as_deref(), Some("ué"));
    }
}
