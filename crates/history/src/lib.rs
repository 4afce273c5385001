//! A Spark History Server-compatible model of event logs: folds each application's events the
//! way Spark's `AppStatusListener` does and answers `/api/v1` with the same JSON as SHS.

pub mod http;
pub mod listener;
pub mod model;
pub mod s3;
pub mod sql;
pub mod sqlfmt;
pub mod tasks;
pub mod time;
pub mod zip;

use std::path::{Path, PathBuf};
use std::sync::LazyLock;
use std::time::SystemTime;

use regex::Regex;
use serde_json::{json, Value};

pub use listener::{AppState, AttemptListing};
use model::{ApplicationAttemptInfo, ApplicationInfo};
use time::format_gmt;

/// Errors of this crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    EventLog(#[from] sparkplane_eventlog::Error),
    #[error("event log {path} has no application start event")]
    NoApplication { path: PathBuf },
    #[error("i/o error on {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Spark 4's default `spark.redaction.regex`.
pub const REDACTION_REGEX: &str = "(?i)secret|password|token|access[.]?key|credential";
/// Spark 3.x's default `spark.redaction.regex` (an SHS 3.x redacts with this one).
pub const REDACTION_REGEX_SPARK3: &str = "(?i)secret|password|token|access[.]?key";

static REDACTION: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(REDACTION_REGEX).ok());

/// Spark's `Utils.REDACTION_REPLACEMENT_TEXT`.
pub const REDACTED: &str = "*********(redacted)";

/// One application attempt read from one event log.
#[derive(Debug)]
pub struct App {
    pub path: PathBuf,
    /// What `/applications` needs (read cheaply at scan time).
    pub listing: AttemptListing,
    /// The full fold, made on first use (listing a directory does not replay every log).
    state: std::sync::OnceLock<AppState>,
    pub in_progress: bool,
    /// Newest modification time of the log's files (epoch ms).
    pub last_updated: i64,
    /// Total size of the log's files (change detection).
    pub size: u64,
    /// Recently re-read task detail, newest last (bounded: [`TASK_CACHE`] entries).
    task_cache: std::sync::Mutex<Vec<(TaskKey, std::sync::Arc<tasks::StageTasks>)>>,
}

/// Which stage attempts a task re-read covers: one, or all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TaskKey {
    One(i64, i64),
    All,
}

/// How many task re-reads each application keeps.
const TASK_CACHE: usize = 4;

/// SHS's default quantiles for `withSummaries`/`taskSummary`.
pub const DEFAULT_QUANTILES: [f64; 5] = [0.0, 0.25, 0.5, 0.75, 1.0];

/// Folds a whole log. A torn or corrupt tail still leaves everything before it, as SHS's replay
/// does.
fn fold(log: &sparkplane_eventlog::EventLog) -> AppState {
    let mut state = AppState::new();
    let _ = log.for_each_raw(|name, line| state.on_line(name, line));
    state.finish();
    state
}

/// The listing from a scan of every line that parses only the start and end events.
fn listing_scan(log: &sparkplane_eventlog::EventLog) -> AttemptListing {
    use sparkplane_eventlog::names;
    let mut state = AppState::new();
    let _ = log.for_each_raw(|name, line| {
        if name == names::LOG_START
            || name == names::APPLICATION_START
            || name == names::APPLICATION_END
        {
            state.on_line(name, line);
        }
    });
    state.listing
}

/// How far into an uncompressed log the listing looks for the application start.
const HEAD_LINES: usize = 100;
/// How much of the end of an uncompressed log the listing reads for the application end
/// (SHS's `spark.history.fs.endEventReparseChunkSize` default).
const TAIL_BYTES: u64 = 1 << 20;

/// How a log file's bytes are read for the quick listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Raw {
    Plain,
    Zstd,
}

/// The codec of one file by its magic bytes (the name only when the file is empty), for the
/// codecs the quick listing reads itself; `None`: another codec.
fn raw_kind(f: &sparkplane_eventlog::LogFile) -> Option<Raw> {
    use sparkplane_eventlog::Codec;
    use std::io::Read;
    if sparkplane_eventlog::sealed::is_sealed(&f.path) {
        // Sealed at rest: no seeking or raw reads; the caller streams it whole.
        return None;
    }
    let mut head = [0u8; 4];
    let mut file = std::fs::File::open(&f.path).ok()?;
    let n = file.read(&mut head).ok()?;
    match (Codec::from_magic(&head[..n]), f.name_codec) {
        (Some(Codec::Zstd), _) => Some(Raw::Zstd),
        (Some(Codec::None) | None, Some(Codec::None) | None) if n == 0 || head[0] == b'{' => {
            Some(Raw::Plain)
        }
        (None, Some(Codec::Zstd)) if n == 0 => Some(Raw::Zstd),
        _ => None,
    }
}

fn open_raw(path: &Path, kind: Raw) -> Option<Box<dyn std::io::Read>> {
    let f = std::fs::File::open(path).ok()?;
    Some(match kind {
        Raw::Plain => Box::new(f),
        Raw::Zstd => Box::new(zstd::stream::read::Decoder::new(f).ok()?),
    })
}

/// Folds the application end event(s) found in `buf` (whole lines; `buf` may end mid-line).
fn end_events_in(buf: &[u8], st: &mut AppState) {
    use sparkplane_eventlog::names;
    let finder = memchr::memmem::Finder::new(names::APPLICATION_END.as_bytes());
    for hit in finder.find_iter(buf) {
        let start = memchr::memrchr(b'\n', &buf[..hit]).map_or(0, |i| i + 1);
        let end = memchr::memchr(b'\n', &buf[hit..]).map_or(buf.len(), |i| hit + i);
        let line = &buf[start..end];
        if let Ok(name) = sparkplane_eventlog::parse_name(line) {
            if name == names::APPLICATION_END {
                st.on_line(&name, line);
            }
        }
    }
}

/// The application end of an uncompressed file: its last MiB at most (SHS's end-event reparse),
/// read backwards in 64 KiB steps until the event is found.
fn plain_tail_end(path: &Path, st: &mut AppState) -> Option<()> {
    use std::io::{Read, Seek};
    const STEP: u64 = 64 << 10;
    let mut f = std::fs::File::open(path).ok()?;
    let len = f.metadata().ok()?.len();
    let mut from = len;
    let mut buf: Vec<u8> = Vec::new();
    while from > len.saturating_sub(TAIL_BYTES) {
        let start = from
            .saturating_sub(STEP)
            .max(len.saturating_sub(TAIL_BYTES));
        f.seek(std::io::SeekFrom::Start(start)).ok()?;
        let mut chunk = vec![0u8; usize::try_from(from - start).ok()?];
        f.read_exact(&mut chunk).ok()?;
        chunk.extend_from_slice(&buf);
        buf = chunk;
        from = start;
        // Lines cut at the front of the window are completed by the next step.
        let whole = if from == 0 {
            &buf[..]
        } else {
            memchr::memchr(b'\n', &buf).map_or(&buf[..0], |i| &buf[i + 1..])
        };
        end_events_in(whole, st);
        if st.listing.end_time.is_some() {
            break;
        }
    }
    Some(())
}

/// The application end of a compressed file: decompressed as a stream and searched, without
/// parsing any other event.
fn stream_end(mut r: Box<dyn std::io::Read>, st: &mut AppState) -> Option<()> {
    let mut buf: Vec<u8> = Vec::with_capacity(1 << 20);
    let mut chunk = vec![0u8; 1 << 20];
    loop {
        let n = r.read(&mut chunk).ok()?;
        if n == 0 {
            end_events_in(&buf, st);
            return Some(());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(cut) = memchr::memrchr(b'\n', &buf) {
            end_events_in(&buf[..cut], st);
            buf.drain(..=cut);
        }
    }
}

/// The listing of a plain or zstd log from its first lines and its application end event (the
/// last MiB of a plain log, a search of the decompressed stream of a zstd one), or `None` when
/// the log uses another codec or does not look like that (then the caller scans it all).
fn quick_listing(log: &sparkplane_eventlog::EventLog) -> Option<AttemptListing> {
    use sparkplane_eventlog::names;
    use std::io::BufRead;
    let files = log.files();
    let (first, last) = (files.first()?, files.last()?);
    let first_kind = raw_kind(first)?;
    let last_kind = raw_kind(last)?;
    let mut st = AppState::new();
    let mut reader = std::io::BufReader::new(open_raw(&first.path, first_kind)?);
    let mut line = Vec::new();
    for _ in 0..HEAD_LINES {
        line.clear();
        if reader.read_until(b'\n', &mut line).ok()? == 0 {
            break;
        }
        if line.first() != Some(&b'{') {
            return None;
        }
        if let Ok(name) = sparkplane_eventlog::parse_name(&line) {
            if name == names::LOG_START || name == names::APPLICATION_START {
                st.on_line(&name, &line);
            }
        }
        if st.listing.app_id.is_some() {
            break;
        }
    }
    st.listing.app_id.as_ref()?;
    match last_kind {
        Raw::Plain => plain_tail_end(&last.path, &mut st)?,
        Raw::Zstd => stream_end(open_raw(&last.path, Raw::Zstd)?, &mut st)?,
    }
    Some(st.listing)
}

/// A load's result: the app, or the log's path and why it could not be read.
type Loaded = Result<App, (PathBuf, String)>;

/// Loads the listings of `todo` (slot, path) on every core.
fn load_parallel(todo: &[(usize, PathBuf)]) -> Vec<(usize, Loaded)> {
    let load =
        |(i, p): &(usize, PathBuf)| (*i, App::load(p).map_err(|e| (p.clone(), e.to_string())));
    let threads = std::thread::available_parallelism()
        .map(std::num::NonZeroUsize::get)
        .unwrap_or(1)
        .min(todo.len());
    if threads <= 1 {
        return todo.iter().map(load).collect();
    }
    // Largest logs first, so one big log does not start last and finish long after the rest.
    let size = |p: &Path| -> u64 {
        match std::fs::read_dir(p) {
            Ok(rd) => rd
                .flatten()
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum(),
            Err(_) => std::fs::metadata(p).map_or(0, |m| m.len()),
        }
    };
    let mut order: Vec<(u64, &(usize, PathBuf))> = todo.iter().map(|t| (size(&t.1), t)).collect();
    order.sort_by_key(|(n, _)| std::cmp::Reverse(*n));
    let todo: Vec<&(usize, PathBuf)> = order.into_iter().map(|(_, t)| t).collect();
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut out = Vec::new();
                    loop {
                        let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(job) = todo.get(k).copied() else {
                            break;
                        };
                        out.push(load(job));
                    }
                    out
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_default())
            .collect()
    })
}

/// Epoch milliseconds now.
fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn file_stats(log: &sparkplane_eventlog::EventLog) -> (i64, u64) {
    let mut newest = 0i64;
    let mut size = 0u64;
    for f in log.files() {
        if let Ok(m) = std::fs::metadata(&f.path) {
            size += m.len();
            if let Ok(t) = m.modified() {
                let ms = t
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
                    .unwrap_or(0);
                newest = newest.max(ms);
            }
        }
    }
    (newest, size)
}

impl App {
    /// Scans one application's log (file, rolling dir or legacy dir) for its listing: an
    /// uncompressed log is read only at its head and tail (like SHS's end-event reparse), any
    /// other log is decompressed and scanned for its start and end events only. The full fold
    /// happens on the first request that needs it.
    pub fn load(path: &Path) -> Result<Self, Error> {
        let log = sparkplane_eventlog::open(path)?;
        let state = std::sync::OnceLock::new();
        let listing = match quick_listing(&log) {
            Some(l) => l,
            None => listing_scan(&log),
        };
        if listing.app_id.is_none() {
            return Err(Error::NoApplication {
                path: path.to_owned(),
            });
        }
        let (last_updated, size) = file_stats(&log);
        Ok(Self {
            path: path.to_owned(),
            listing,
            state,
            in_progress: log.in_progress(),
            last_updated,
            size,
            task_cache: std::sync::Mutex::new(Vec::new()),
        })
    }

    /// The application folded from its events (replayed on first use).
    pub fn state(&self) -> &AppState {
        self.state
            .get_or_init(|| match sparkplane_eventlog::open(&self.path) {
                Ok(log) => fold(&log),
                Err(_) => AppState::new(),
            })
    }

    fn stage_tasks(&self, key: TaskKey) -> std::sync::Arc<tasks::StageTasks> {
        let mut cache = self
            .task_cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(pos) = cache.iter().position(|(k, _)| *k == key) {
            let hit = cache.remove(pos);
            let v = hit.1.clone();
            cache.push(hit);
            return v;
        }
        let st = match sparkplane_eventlog::open(&self.path) {
            Ok(log) => match key {
                TaskKey::One(s, a) => tasks::read_tasks(&log, &|x, y| (x, y) == (s, a)),
                TaskKey::All => tasks::read_tasks(&log, &|_, _| true),
            },
            Err(_) => tasks::StageTasks::default(),
        };
        let v = std::sync::Arc::new(st);
        cache.push((key, v.clone()));
        if cache.len() > TASK_CACHE {
            cache.remove(0);
        }
        v
    }

    /// `stages/{id}/{attempt}/taskSummary` (`None`: no successful task, SHS answers 404).
    pub fn task_summary(&self, stage: i64, attempt: i64, quantiles: &[f64]) -> Option<Value> {
        let st = self.stage_tasks(TaskKey::One(stage, attempt));
        let rows = st.tasks.get(&(stage, attempt))?;
        tasks::task_summary(rows, quantiles, self.last_updated)
    }

    /// `stages/{id}/{attempt}/taskList` sorted by task id; `status` filters (upper case).
    pub fn task_list(
        &self,
        stage: i64,
        attempt: i64,
        offset: usize,
        length: usize,
        status: Option<&str>,
    ) -> Vec<Value> {
        let st = self.stage_tasks(TaskKey::One(stage, attempt));
        let mut rows: Vec<&tasks::TaskRow> = st
            .tasks
            .get(&(stage, attempt))
            .map(|v| v.iter().collect())
            .unwrap_or_default();
        rows.sort_by_key(|t| t.task_id);
        let logs = self.state().executor_logs();
        rows.into_iter()
            .filter(|t| status.is_none_or(|s| t.status.eq_ignore_ascii_case(s)))
            .skip(offset)
            .take(length)
            .map(|t| {
                let l = logs
                    .get(t.executor_id.as_str())
                    .cloned()
                    .unwrap_or_default();
                t.to_json(&l, self.last_updated)
            })
            .collect()
    }

    /// Adds `tasks` (task id → `TaskData`) and `executorSummary` to one stage attempt's JSON,
    /// as `details=true` (the default of `stages/{id}` and `stages/{id}/{attempt}`) does.
    pub fn add_details(&self, stage: &mut Value) {
        self.decorate_one(
            stage,
            &StageOptions {
                details: true,
                ..StageOptions::default()
            },
        );
    }

    /// Adds what `opts` asks for to one stage attempt's JSON (re-reads that attempt's tasks).
    pub fn decorate_one(&self, stage: &mut Value, opts: &StageOptions) {
        if !opts.details && !opts.with_summaries {
            return;
        }
        let (Some(id), Some(att)) = (
            stage.get("stageId").and_then(Value::as_i64),
            stage.get("attemptId").and_then(Value::as_i64),
        ) else {
            return;
        };
        let st = self.stage_tasks(TaskKey::One(id, att));
        self.decorate(stage, &st, opts);
    }

    fn decorate(&self, stage: &mut Value, st: &tasks::StageTasks, opts: &StageOptions) {
        let (Some(id), Some(att)) = (
            stage.get("stageId").and_then(Value::as_i64),
            stage.get("attemptId").and_then(Value::as_i64),
        ) else {
            return;
        };
        let key = (id, att);
        let lu = self.last_updated;
        let Some(m) = stage.as_object_mut() else {
            return;
        };
        if opts.details {
            let logs = self.state().executor_logs();
            let mut rows: Vec<&tasks::TaskRow> = st
                .tasks
                .get(&key)
                .map(|v| v.iter().collect())
                .unwrap_or_default();
            rows.sort_by_key(|t| t.task_id);
            let mut tasks = serde_json::Map::new();
            for t in rows {
                if !opts.task_status.is_empty()
                    && !opts
                        .task_status
                        .iter()
                        .any(|s| s.eq_ignore_ascii_case(t.status))
                {
                    continue;
                }
                let l = logs
                    .get(t.executor_id.as_str())
                    .cloned()
                    .unwrap_or_default();
                tasks.insert(t.task_id.to_string(), t.to_json(&l, lu));
            }
            m.insert("tasks".into(), Value::Object(tasks));
            m.insert(
                "executorSummary".into(),
                tasks::executor_summaries(st, key, lu),
            );
            if let Some(sp) = self.state().speculation_summary(id, att) {
                m.insert("speculationSummary".into(), sp);
            }
        }
        if opts.with_summaries {
            if let Some(d) = st
                .tasks
                .get(&key)
                .and_then(|rows| tasks::task_summary(rows, &opts.quantiles, lu))
            {
                m.insert("taskMetricsDistributions".into(), d);
            }
            if let Some(d) = tasks::executor_distributions(st, key, &opts.quantiles, lu) {
                m.insert("executorMetricsDistributions".into(), d);
            }
        }
    }

    /// `stages?withSummaries=true`: every stage with its task and executor distributions.
    pub fn stages_with_summaries(&self, quantiles: &[f64]) -> Vec<Value> {
        self.stage_list(&StageOptions {
            with_summaries: true,
            quantiles: quantiles.to_vec(),
            ..StageOptions::default()
        })
    }

    /// `stages` (newest first) with SHS's `status`, `details`, `taskStatus`, `withSummaries` and
    /// `quantiles` parameters.
    pub fn stage_list(&self, opts: &StageOptions) -> Vec<Value> {
        let stages: Vec<Value> = self
            .state()
            .stages()
            .into_iter()
            .filter(|s| {
                opts.status.is_empty()
                    || opts.status.iter().any(|x| x.eq_ignore_ascii_case(s.status))
            })
            // With details, `taskStatus` also drops stages with no task of those statuses.
            .filter(|s| {
                !opts.details
                    || opts.task_status.is_empty()
                    || opts.task_status.iter().any(|t| {
                        let n = match t.to_ascii_uppercase().as_str() {
                            "SUCCESS" => s.num_complete_tasks,
                            "FAILED" => s.num_failed_tasks,
                            "KILLED" => s.num_killed_tasks,
                            "RUNNING" => s.num_active_tasks,
                            _ => {
                                s.num_tasks
                                    - s.num_complete_tasks
                                    - s.num_failed_tasks
                                    - s.num_killed_tasks
                                    - s.num_active_tasks
                            }
                        };
                        n > 0
                    })
            })
            .filter_map(|s| serde_json::to_value(&s).ok())
            .collect();
        if !opts.details && !opts.with_summaries {
            return stages;
        }
        let st = self.stage_tasks(TaskKey::All);
        stages
            .into_iter()
            .map(|mut v| {
                self.decorate(&mut v, &st, opts);
                v
            })
            .collect()
    }

    /// The application id.
    pub fn id(&self) -> &str {
        self.listing.app_id.as_deref().unwrap_or("")
    }

    /// The attempt id, if the application has attempts.
    pub fn attempt_id(&self) -> Option<&str> {
        self.listing.attempt_id.as_deref()
    }

    /// Whether SHS lists the attempt as completed.
    pub fn completed(&self) -> bool {
        self.listing.end_time.is_some() && !self.in_progress
    }

    /// `ApplicationAttemptInfo` of this attempt.
    pub fn attempt_info(&self, log_dir: &str) -> ApplicationAttemptInfo {
        let l = &self.listing;
        let completed = self.completed();
        let end = if completed {
            l.end_time.unwrap_or(-1)
        } else {
            -1
        };
        ApplicationAttemptInfo {
            attempt_id: l.attempt_id.clone(),
            start_time: format_gmt(l.start_time),
            end_time: format_gmt(end),
            last_updated: format_gmt(self.last_updated),
            duration: if completed { end - l.start_time } else { 0 },
            spark_user: l.spark_user.clone(),
            completed,
            app_spark_version: l.spark_version.clone(),
            start_time_epoch: l.start_time,
            end_time_epoch: end,
            last_updated_epoch: self.last_updated,
            exit_code: if completed { l.exit_code } else { None },
            log_source_name: log_dir.to_owned(),
            log_source_full_path: log_dir.to_owned(),
        }
    }

    /// `logs`: the log's files as a zip (entries named relative to the log's parent dir).
    pub fn logs_zip(&self) -> Result<Vec<u8>, Error> {
        let log = sparkplane_eventlog::open(&self.path)?;
        let base = self.path.parent().unwrap_or(&self.path);
        let files: Vec<&Path> = log.files().iter().map(|f| f.path.as_path()).collect();
        zip::zip_files(base, &files).map_err(|source| Error::Io {
            path: self.path.clone(),
            source,
        })
    }

    /// `/sql` (`length <= 0`: all executions from `offset`… as SHS: all of them).
    pub fn sql_list(&self, details: bool, plan: bool, offset: usize, length: i64) -> Value {
        self.state()
            .sql
            .list(details, plan, offset, length, now_ms())
    }

    /// `/sql/{id}`.
    pub fn sql_execution(&self, id: i64, details: bool, plan: bool) -> Option<Value> {
        self.state().sql.execution(id, details, plan, now_ms())
    }

    /// `allexecutors` (`all`) or `executors`.
    pub fn executors(&self, all: bool) -> Vec<model::ExecutorSummary> {
        self.state().executors(all, self.completed(), now_ms())
    }

    /// `ApplicationInfo` holding only this attempt.
    pub fn info(&self, log_source: &str) -> ApplicationInfo {
        ApplicationInfo {
            id: self.id().to_owned(),
            name: self.listing.app_name.clone(),
            attempts: vec![self.attempt_info(log_source)],
        }
    }

    /// `/environment`, redacted (Spark 4's default regex) and sorted as SHS does.
    pub fn environment(&self) -> Value {
        self.environment_with(REDACTION.as_ref())
    }

    /// `/environment` redacted with `redaction` (SHS's `spark.redaction.regex`).
    pub fn environment_with(&self, redaction: Option<&Regex>) -> Value {
        let (env, rps) = self.state().environment_parts();
        let empty = Value::Null;
        let env = env.unwrap_or(&empty);
        let pairs = |key: &str, redact: bool| -> Value {
            let mut v: Vec<(String, String)> = env
                .get(key)
                .and_then(Value::as_object)
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_owned()))
                        .collect()
                })
                .unwrap_or_default();
            if redact {
                if let Some(re) = redaction {
                    for (k, val) in &mut v {
                        if re.is_match(k) || re.is_match(val) {
                            *val = REDACTED.to_owned();
                        }
                    }
                }
            }
            v.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Array(v.into_iter().map(|(k, v)| json!([k, v])).collect())
        };
        let jvm = |k: &str| {
            env.pointer(&format!("/JVM Information/{k}"))
                .cloned()
                .unwrap_or(Value::Null)
        };
        json!({
            "runtime": {
                "javaVersion": jvm("Java Version"),
                "javaHome": jvm("Java Home"),
                "scalaVersion": jvm("Scala Version"),
            },
            "sparkProperties": pairs("Spark Properties", true),
            "hadoopProperties": pairs("Hadoop Properties", true),
            "systemProperties": pairs("System Properties", true),
            "metricsProperties": pairs("Metrics Properties", true),
            "classpathEntries": pairs("Classpath Entries", false),
            "resourceProfiles": rps,
        })
    }
}

/// What a `stages` request asks for besides the stage list.
#[derive(Debug, Clone)]
pub struct StageOptions {
    /// `status=` (any of, case-insensitive); empty: all.
    pub status: Vec<String>,
    /// `details=true`: `tasks` and `executorSummary`.
    pub details: bool,
    /// `taskStatus=` filter of `tasks`; empty: all.
    pub task_status: Vec<String>,
    /// `withSummaries=true`: task and executor metric distributions.
    pub with_summaries: bool,
    /// `quantiles=` (sorted, as SHS sorts them for stage lists).
    pub quantiles: Vec<f64>,
}

impl Default for StageOptions {
    fn default() -> Self {
        Self {
            status: Vec::new(),
            details: false,
            task_status: Vec::new(),
            with_summaries: false,
            quantiles: DEFAULT_QUANTILES.to_vec(),
        }
    }
}

/// Query of `/applications`.
#[derive(Debug, Default, Clone)]
pub struct ListQuery {
    /// `completed` or `running`.
    pub status: Option<String>,
    pub min_date: Option<i64>,
    pub max_date: Option<i64>,
    pub min_end_date: Option<i64>,
    pub max_end_date: Option<i64>,
    pub limit: Option<usize>,
}

/// Every application of a log directory.
#[derive(Debug, Default)]
pub struct History {
    pub log_dir: PathBuf,
    /// Shared so a re-scan can work on a copy of the list while requests read the current one.
    pub apps: Vec<std::sync::Arc<App>>,
    /// Logs that could not be read, with why.
    pub errors: Vec<(PathBuf, String)>,
    /// What `logSourceName`/`logSourceFullPath` say instead of the directory's `file://` URL
    /// (a multi-tenant server does not show its own paths).
    pub source_label: Option<String>,
}

impl History {
    /// Scans `dir` and loads every application in it.
    pub fn load(dir: &Path) -> Result<Self, Error> {
        let mut h = Self {
            log_dir: dir.to_owned(),
            ..Self::default()
        };
        h.refresh()?;
        Ok(h)
    }

    /// Re-scans the directory: new logs are loaded, logs whose size or mtime changed are
    /// re-read, vanished logs are dropped. New and changed logs are read on every core.
    /// Returns how many logs were (re)loaded.
    pub fn refresh(&mut self) -> Result<usize, Error> {
        use std::collections::HashMap;
        use std::sync::Arc;
        let entries = sparkplane_eventlog::list_applications(&self.log_dir)?;
        let mut old: HashMap<PathBuf, Arc<App>> = std::mem::take(&mut self.apps)
            .into_iter()
            .map(|a| (a.path.clone(), a))
            .collect();
        self.errors.clear();
        // Slots in directory order: kept apps now, loaded ones after the parallel pass.
        let mut slots: Vec<Option<Arc<App>>> = Vec::with_capacity(entries.len());
        let mut todo: Vec<(usize, PathBuf)> = Vec::new();
        for e in entries {
            let prev = old.remove(&e.path);
            let unchanged = prev.as_ref().is_some_and(|a| {
                sparkplane_eventlog::open(&a.path)
                    .map(|log| file_stats(&log) == (a.last_updated, a.size))
                    .unwrap_or(false)
            });
            match prev {
                Some(a) if unchanged => slots.push(Some(a)),
                _ => {
                    todo.push((slots.len(), e.path));
                    slots.push(None);
                }
            }
        }
        let loaded = todo.len();
        for (i, res) in load_parallel(&todo) {
            match res {
                Ok(a) => slots[i] = Some(Arc::new(a)),
                Err((path, err)) => self.errors.push((path, err)),
            }
        }
        self.apps = slots.into_iter().flatten().collect();
        Ok(loaded - self.errors.len().min(loaded))
    }

    /// `file://` URL of the log directory (SHS's `logSourceName`).
    pub fn source_name(&self) -> String {
        if let Some(l) = &self.source_label {
            return l.clone();
        }
        let p = std::fs::canonicalize(&self.log_dir).unwrap_or_else(|_| self.log_dir.clone());
        format!("file://{}", p.display())
    }

    /// Attempts of one application, newest first as SHS lists them.
    pub fn attempts(&self, id: &str) -> Vec<&App> {
        let mut v: Vec<&App> = self
            .apps
            .iter()
            .map(|a| &**a)
            .filter(|a| a.id() == id)
            .collect();
        v.sort_by(|a, b| {
            b.listing
                .start_time
                .cmp(&a.listing.start_time)
                .then_with(|| b.attempt_id().cmp(&a.attempt_id()))
        });
        v
    }

    /// One attempt (`None` attempt = the only/newest one).
    pub fn app(&self, id: &str, attempt: Option<&str>) -> Option<&App> {
        let v = self.attempts(id);
        match attempt {
            None => v.into_iter().next(),
            Some(a) => v.into_iter().find(|x| x.attempt_id() == Some(a)),
        }
    }

    /// `ApplicationInfo` of one application.
    pub fn application(&self, id: &str) -> Option<ApplicationInfo> {
        let v = self.attempts(id);
        let first = v.first()?;
        let src = self.source_name();
        Some(ApplicationInfo {
            id: id.to_owned(),
            name: first.listing.app_name.clone(),
            attempts: v.iter().map(|a| a.attempt_info(&src)).collect(),
        })
    }

    /// `/applications` with SHS's filters, sorted like SHS (newest end, then start, first).
    pub fn applications(&self, q: &ListQuery) -> Vec<ApplicationInfo> {
        let mut ids: Vec<&str> = self.apps.iter().map(|a| a.id()).collect();
        ids.sort_unstable();
        ids.dedup();
        let mut infos: Vec<ApplicationInfo> = ids
            .into_iter()
            .filter_map(|id| self.application(id))
            .collect();
        infos.retain(|app| {
            app.attempts.iter().any(|a| {
                let status_ok = match q.status.as_deref() {
                    Some(s) if s.eq_ignore_ascii_case("completed") => a.completed,
                    Some(s) if s.eq_ignore_ascii_case("running") => !a.completed,
                    _ => true,
                };
                status_ok
                    && q.min_date.is_none_or(|d| a.start_time_epoch >= d)
                    && q.max_date.is_none_or(|d| a.start_time_epoch <= d)
                    && q.min_end_date.is_none_or(|d| a.end_time_epoch >= d)
                    && q.max_end_date.is_none_or(|d| a.end_time_epoch <= d)
            })
        });
        let key = |a: &ApplicationInfo| {
            a.attempts
                .first()
                .map(|x| (x.end_time_epoch, x.start_time_epoch))
                .unwrap_or((0, 0))
        };
        infos.sort_by_key(|a| std::cmp::Reverse(key(a)));
        if let Some(n) = q.limit {
            infos.truncate(n);
        }
        infos
    }
}

/// The Spark History Server release whose answers this crate reproduces.
pub const SHS_VERSION: &str = "4.3.0";

/// `/version` (`VersionInfo`).
pub fn version() -> Value {
    json!({ "spark": SHS_VERSION })
}
