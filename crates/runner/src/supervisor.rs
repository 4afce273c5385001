//! The per-application supervisor: a small process (`sparkplane supervise --app-dir DIR`) that
//! starts `spark-submit` in its own process group with a cleared environment, captures its
//! output, and records pid, Spark application id, exit status and timestamps durably in the
//! app directory. It outlives the server, so a restarted server re-attaches to it.
//!
//! Files in the app directory:
//! - `launch.json` (written by the runner, 0600): what to execute ([`LaunchSpec`]).
//! - `status.json` (written only by the supervisor): [`SupervisorStatus`].
//! - `supervisor.lock`: held (flock) by the supervisor for its whole life — liveness proof.
//! - `stop-requested`: created by the runner to ask for a stop (also sent as SIGTERM).
//! - `driver.log`: the driver's stdout and stderr.

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::error::RunnerError;
use crate::fsutil::{read_json, write_json};
use crate::procs;
use crate::state::{now_ms, EpochMs};

/// File names inside an app directory.
pub mod files {
    /// What to run.
    pub const LAUNCH: &str = "launch.json";
    /// Supervisor status.
    pub const STATUS: &str = "status.json";
    /// Liveness lock.
    pub const LOCK: &str = "supervisor.lock";
    /// Stop request marker.
    pub const STOP: &str = "stop-requested";
    /// Driver stdout + stderr.
    pub const DRIVER_LOG: &str = "driver.log";
    /// The supervisor's own stderr.
    pub const SUPERVISOR_LOG: &str = "supervisor.log";
}

/// What the supervisor executes.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct LaunchSpec {
    /// Program (spark-submit, or bwrap wrapping it).
    pub program: PathBuf,
    /// Its arguments (never a secret: they are visible in `ps`).
    pub args: Vec<String>,
    /// The complete environment (the process starts with an empty one).
    pub env: BTreeMap<String, String>,
    /// Working directory.
    pub cwd: PathBuf,
    /// Grace period between SIGTERM and SIGKILL on stop.
    pub stop_grace_ms: u64,
    /// Extra command-line fragments identifying this app's processes outside the driver's
    /// process group (standalone executors), killed on stop: every fragment must match.
    #[serde(default)]
    pub executor_markers: Vec<String>,
}

/// How the driver ended.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ExitInfo {
    /// Exit code, if it exited.
    pub code: Option<i32>,
    /// Signal, if it was killed by one.
    pub signal: Option<i32>,
    /// Whether the end was a requested stop.
    pub stopped: bool,
    /// Human-readable failure reason (from the driver log), if it failed.
    pub reason: Option<String>,
    /// When it ended.
    pub at: EpochMs,
}

impl ExitInfo {
    /// Whether the driver ended successfully (exit 0 and not stopped).
    pub fn succeeded(&self) -> bool {
        !self.stopped && self.code == Some(0)
    }
}

/// What the supervisor records (`status.json`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct SupervisorStatus {
    /// The supervisor's pid.
    pub supervisor_pid: u32,
    /// The supervisor's session id (every process of the app is in it).
    #[serde(default)]
    pub session_id: u32,
    /// When the supervisor started.
    pub supervisor_started_at: EpochMs,
    /// The driver process (spark-submit); also its process group id.
    pub driver_pid: Option<u32>,
    /// When spark-submit was started.
    pub submitted_at: Option<EpochMs>,
    /// The Spark application id (`local-…`, `app-…`).
    pub spark_app_id: Option<String>,
    /// The event-log path Spark reported.
    pub event_log: Option<String>,
    /// The driver's RPC port (to find its executors).
    pub driver_port: Option<u16>,
    /// When the Spark application id was seen.
    pub running_at: Option<EpochMs>,
    /// How it ended.
    pub exit: Option<ExitInfo>,
}

#[allow(clippy::expect_used)]
static EVENT_LOG_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"Logging events to file:(\S+)").expect("static regex"));
#[allow(clippy::expect_used)]
static APP_ID_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"((?:local|app)-\d{6,}(?:-\d{4,})?)").expect("static regex"));
#[allow(clippy::expect_used)]
static CLUSTER_ID_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"Connected to Spark cluster with app ID (\S+)").expect("static regex")
});
#[allow(clippy::expect_used)]
static DRIVER_PORT_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"Successfully started service 'sparkDriver' on port (\d+)").expect("static regex")
});
#[allow(clippy::expect_used)]
static REASON_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?:Exception in thread \S+ )?(?:[A-Za-z_][\w.$]*(?:Error|Exception|Exit)\b)(?::.*)?$",
    )
    .expect("static regex")
});

/// What one chunk of driver log told us.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct LogFacts {
    /// Spark application id.
    pub app_id: Option<String>,
    /// Event-log path.
    pub event_log: Option<String>,
    /// Driver RPC port.
    pub driver_port: Option<u16>,
}

/// Extract the Spark application id, event-log path and driver port from driver log text.
pub fn scan_log(text: &str) -> LogFacts {
    let mut facts = LogFacts::default();
    for line in text.lines() {
        if let Some(c) = EVENT_LOG_RE.captures(line) {
            let path = c[1].to_owned();
            if facts.app_id.is_none() {
                facts.app_id = APP_ID_RE.captures(&path).map(|m| m[1].to_owned());
            }
            facts.event_log = Some(path);
        }
        if let Some(c) = CLUSTER_ID_RE.captures(line) {
            facts.app_id = Some(c[1].to_owned());
        }
        if let Some(c) = DRIVER_PORT_RE.captures(line) {
            facts.driver_port = c[1].parse().ok();
        }
    }
    facts
}

/// The most telling error line at the end of a driver log (Python traceback's last line,
/// `Exception in thread "main" …`), truncated to 500 characters.
pub fn failure_reason(log_tail: &str) -> Option<String> {
    log_tail
        .lines()
        .map(str::trim)
        .rfind(|l| REASON_RE.is_match(l))
        .map(|l| l.chars().take(500).collect())
}

fn read_tail(path: &Path, max: u64) -> String {
    let Ok(mut f) = std::fs::File::open(path) else {
        return String::new();
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = f.seek(SeekFrom::Start(len.saturating_sub(max)));
    let mut buf = Vec::new();
    let _ = f.read_to_end(&mut buf);
    String::from_utf8_lossy(&buf).into_owned()
}

/// Run the supervisor for `app_dir` until the driver ends. Call this in a fresh child process
/// (it calls `setsid`, installs signal handlers, and blocks).
pub fn run(app_dir: &Path) -> Result<i32, RunnerError> {
    // Own session: the server's death (or its terminal's) does not reach us, and everything
    // the driver starts stays in this session unless it calls setsid itself.
    let _ = nix::unistd::setsid();
    let me = std::process::id();
    let sid = nix::unistd::getsid(None)
        .ok()
        .and_then(|s| u32::try_from(s.as_raw()).ok())
        .unwrap_or(0);
    let lock_path = app_dir.join(files::LOCK);
    let Some(_lock) = procs::try_lock(&lock_path)? else {
        return Err(RunnerError::Process(format!(
            "another supervisor holds {}",
            lock_path.display()
        )));
    };
    let status_path = app_dir.join(files::STATUS);
    let prior: Option<SupervisorStatus> = read_json(&status_path)?;
    if let Some(prior) = prior {
        if prior.driver_pid.is_some() || prior.exit.is_some() {
            // Exactly once: a driver was already started for this app.
            return Ok(0);
        }
    }
    let spec: LaunchSpec = read_json(&app_dir.join(files::LAUNCH))?.ok_or_else(|| {
        RunnerError::Process(format!("no {} in {}", files::LAUNCH, app_dir.display()))
    })?;

    let stop = Arc::new(AtomicBool::new(false));
    for sig in [
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGHUP,
    ] {
        signal_hook::flag::register(sig, Arc::clone(&stop))
            .map_err(|e| RunnerError::Process(format!("signal handler: {e}")))?;
    }

    let mut status = SupervisorStatus {
        supervisor_pid: me,
        session_id: sid,
        supervisor_started_at: now_ms(),
        ..Default::default()
    };
    let stop_file = app_dir.join(files::STOP);
    if stop_file.exists() || stop.load(Ordering::SeqCst) {
        status.exit = Some(ExitInfo {
            code: None,
            signal: None,
            stopped: true,
            reason: None,
            at: now_ms(),
        });
        write_json(&status_path, &status)?;
        return Ok(0);
    }

    let log_path = app_dir.join(files::DRIVER_LOG);
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(&log_path)
        .map_err(|e| RunnerError::io(&log_path, e))?;
    let log2 = log.try_clone().map_err(|e| RunnerError::io(&log_path, e))?;
    let mut child = match Command::new(&spec.program)
        .args(&spec.args)
        .env_clear()
        .envs(&spec.env)
        .current_dir(&spec.cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::from(log))
        .stderr(Stdio::from(log2))
        .process_group(0)
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            status.exit = Some(ExitInfo {
                code: None,
                signal: None,
                stopped: false,
                reason: Some(format!("could not start {}: {e}", spec.program.display())),
                at: now_ms(),
            });
            write_json(&status_path, &status)?;
            return Ok(1);
        }
    };
    let driver = child.id();
    status.driver_pid = Some(driver);
    status.submitted_at = Some(now_ms());
    write_json(&status_path, &status)?;

    let grace = Duration::from_millis(spec.stop_grace_ms);
    let mut scanned: u64 = 0;
    let mut stopped = false;
    let exit = loop {
        match child.try_wait() {
            Ok(Some(st)) => break st,
            Ok(None) => {}
            Err(e) => return Err(RunnerError::Process(format!("wait: {e}"))),
        }
        if !stopped && (stop.load(Ordering::SeqCst) || stop_file.exists()) {
            stopped = true;
            procs::kill_group(driver, grace);
            procs::kill_session(sid, me, grace);
        }
        // Scan new log output for the Spark app id.
        if status.spark_app_id.is_none() || status.driver_port.is_none() {
            let len = std::fs::metadata(&log_path).map(|m| m.len()).unwrap_or(0);
            if len > scanned {
                let text = read_range(&log_path, scanned, len);
                // Only consume complete lines.
                let consumed = text.rfind('\n').map(|i| i + 1).unwrap_or(0);
                let facts = scan_log(&text[..consumed]);
                scanned += consumed as u64;
                let mut changed = false;
                if status.driver_port.is_none() && facts.driver_port.is_some() {
                    status.driver_port = facts.driver_port;
                    changed = true;
                }
                if facts.event_log.is_some() {
                    status.event_log = facts.event_log;
                    changed = true;
                }
                if status.spark_app_id.is_none() && facts.app_id.is_some() {
                    status.spark_app_id = facts.app_id;
                    status.running_at = Some(now_ms());
                    changed = true;
                }
                if changed {
                    write_json(&status_path, &status)?;
                }
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    // Leftovers in the driver's group and session (`pyspark.daemon` makes its own process
    // group) and, on standalone, executors.
    let linger = if stopped {
        grace
    } else {
        Duration::from_millis(500)
    };
    procs::kill_group(driver, linger);
    procs::kill_session(sid, me, linger);
    if stopped || !exit.success() {
        kill_executors(&spec, &status);
    }
    // A late app-id line (fast apps) is still worth recording.
    if status.spark_app_id.is_none() || status.event_log.is_none() {
        let facts = scan_log(&read_tail(&log_path, 4 << 20));
        status.spark_app_id = status.spark_app_id.take().or(facts.app_id);
        status.event_log = status.event_log.take().or(facts.event_log);
    }
    let reason = if exit.success() || stopped {
        None
    } else {
        failure_reason(&read_tail(&log_path, 64 << 10)).or_else(|| {
            Some(match (exit.code(), exit.signal()) {
                (Some(c), _) => format!("spark-submit exited with status {c}"),
                (None, Some(s)) => format!("spark-submit killed by signal {s}"),
                _ => "spark-submit ended abnormally".to_owned(),
            })
        })
    };
    status.exit = Some(ExitInfo {
        code: exit.code(),
        signal: exit.signal(),
        stopped,
        reason,
        at: now_ms(),
    });
    write_json(&status_path, &status)?;
    Ok(0)
}

fn read_range(path: &Path, from: u64, to: u64) -> String {
    let Ok(mut f) = std::fs::File::open(path) else {
        return String::new();
    };
    let _ = f.seek(SeekFrom::Start(from));
    let mut buf = Vec::new();
    let _ = f.take(to.saturating_sub(from)).read_to_end(&mut buf);
    String::from_utf8_lossy(&buf).into_owned()
}

/// Kill this app's standalone executors (children of the instance's Worker, outside the
/// driver's process group), identified by `--app-id <id>` plus the driver URL port.
pub fn kill_executors(spec: &LaunchSpec, status: &SupervisorStatus) {
    let Some(app_id) = &status.spark_app_id else {
        return;
    };
    if spec.executor_markers.is_empty() {
        return;
    }
    let app_arg = format!("--app-id {app_id}");
    let port_arg = status
        .driver_port
        .map(|p| format!("@127.0.0.1:{p}"))
        .unwrap_or_default();
    let mut needles: Vec<&str> = vec!["CoarseGrainedExecutorBackend", &app_arg];
    if !port_arg.is_empty() {
        needles.push(&port_arg);
    }
    needles.extend(spec.executor_markers.iter().map(String::as_str));
    for _ in 0..50 {
        let pids = procs::find_processes(&needles);
        if pids.is_empty() {
            return;
        }
        for p in pids {
            procs::signal_process(p, nix::sys::signal::Signal::SIGKILL);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scans_app_id_from_local_and_standalone_logs() {
        let local = "26/11/25 08:01:08 INFO RollingEventLogFilesWriter: Logging events to file:/tmp/rt/ev/eventlog_v2_local-1795593668029/events_1_local-1795593668029.zstd\n";
        let f = scan_log(local);
        assert_eq!(f.app_id.as_deref(), Some("local-1795593668029"));
        assert!(f.event_log.unwrap().ends_with(".zstd"));
        let sa = "INFO Utils: Successfully started service 'sparkDriver' on port 40123.\n\
                  INFO StandaloneSchedulerBackend: Connected to Spark cluster with app ID app-20261125080101-0003\n";
        let f = scan_log(sa);
        assert_eq!(f.app_id.as_deref(), Some("app-20261125080101-0003"));
        assert_eq!(f.driver_port, Some(40123));
    }

    #[test]
    fn failure_reason_is_last_error_line() {
        let log = "INFO x\nTraceback (most recent call last):\n  File \"app.py\", line 3\nValueError: planted failure 42\nINFO ShutdownHookManager: Shutdown hook called\n";
        assert_eq!(
            failure_reason(log).as_deref(),
            Some("ValueError: planted failure 42")
        );
        let log = "Exception in thread \"main\" java.lang.ClassNotFoundException: Foo\n";
        assert!(failure_reason(log)
            .unwrap()
            .contains("ClassNotFoundException"));
        assert_eq!(failure_reason("all fine\n"), None);
    }
}
