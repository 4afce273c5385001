//! Shared helpers for the runner's real-Spark tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use sparkplane_runner::{find_spark_home, Runner, RunnerConfig, Sandbox};

pub fn root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// Spark JVMs are heavy on a small machine: run the real-Spark tests one at a time.
pub fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Spark home and python, or `None` (skip) — a failure when `SPARKPLANE_REQUIRE_ALL=1`.
pub fn spark() -> Option<(PathBuf, PathBuf)> {
    let home = find_spark_home(&root());
    let python = root().join(".venv/bin/python");
    match home {
        Some(h) if python.exists() && which("java") => Some((h, python)),
        _ => {
            let msg = "pyspark (project .venv) or java not found; run scripts/setup-deps.sh";
            if std::env::var("SPARKPLANE_REQUIRE_ALL").as_deref() == Ok("1") {
                panic!("{msg}");
            }
            eprintln!("SKIPPED: {msg}");
            None
        }
    }
}

pub fn which(cmd: &str) -> bool {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(cmd).is_file()))
        .unwrap_or(false)
}

pub fn config(data: &Path, home: &Path, python: &Path, sandbox: Sandbox) -> RunnerConfig {
    let mut cfg = RunnerConfig::new(data.to_owned(), home.to_owned());
    cfg.python = Some(python.to_owned());
    cfg.supervisor = vec![env!("CARGO_BIN_EXE_sparkplane-supervise").into()];
    cfg.stop_grace = Duration::from_secs(3);
    cfg.sandbox = sandbox;
    // Tiny test apps on a 2-core machine: C1-only JIT and the serial GC cut the JVMs' CPU
    // time by about 40% (platform layer: tests that set these keys still win).
    for k in [
        "spark.driver.extraJavaOptions",
        "spark.executor.extraJavaOptions",
    ] {
        cfg.platform_defaults
            .insert(k.into(), QUICK_JVM_OPTS.into());
    }
    cfg
}

/// JVM options that make tiny test apps cheaper.
pub const QUICK_JVM_OPTS: &str = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC";

pub fn runner(data: &Path, sandbox: Sandbox) -> Option<Runner> {
    let (home, python) = spark()?;
    Some(Runner::without_completion(config(data, &home, &python, sandbox)).unwrap())
}

/// A runner whose end-of-run hook analyses the event log (`summary.json` in the app dir).
pub fn analyzing_runner(data: &Path, sandbox: Sandbox) -> Option<Runner> {
    let (home, python) = spark()?;
    let hook = std::sync::Arc::new(sparkplane_runner::AnalyzeCompletion);
    Some(Runner::new(config(data, &home, &python, sandbox), hook).unwrap())
}

/// Write `body` as `name` into the instance's files area.
pub fn put_app(r: &Runner, inst: &str, name: &str, body: &str) {
    std::fs::write(r.files_dir(inst).unwrap().join(name), body).unwrap();
}

/// A tiny PySpark app that succeeds and prints what an executor sees of `$SP_MARK`.
pub const OK_APP: &str = r#"
import os
from pyspark.sql import SparkSession
s = SparkSession.builder.getOrCreate()
sc = s.sparkContext
seen = sc.parallelize([1], 1).map(lambda _: os.environ.get("SP_MARK", "unset")).collect()
print("EXECUTOR_ENV=" + seen[0])
print("COUNT=" + str(s.range(1000).count()))
s.stop()
"#;

/// Fails before starting Spark (quick).
pub const FAIL_APP: &str = r#"
raise ValueError("planted failure 42")
"#;

/// Runs a job whose task sleeps for 10 minutes (a Python worker stays busy).
pub const LONG_APP: &str = r#"
import time
from pyspark.sql import SparkSession
s = SparkSession.builder.getOrCreate()
print("LONG_STARTED", flush=True)
s.sparkContext.parallelize([1], 1).map(lambda x: time.sleep(600) or x).count()
"#;

/// Pids of processes whose command line contains `needle`.
pub fn pgrep(needle: &str) -> Vec<u32> {
    sparkplane_runner::procs::find_processes(&[needle])
}

/// Pids whose process group is `pgid`.
pub fn group_members(pgid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            if let Some((_, rest)) = stat.rsplit_once(')') {
                let f: Vec<&str> = rest.split_whitespace().collect();
                if f.first() != Some(&"Z")
                    && f.get(2).and_then(|g| g.parse::<u32>().ok()) == Some(pgid)
                {
                    out.push(pid);
                }
            }
        }
    }
    out
}

pub fn wait_for(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + timeout;
    while std::time::Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    f()
}

/// TCP listeners (from `ss -ltnp`) that are not bound to loopback, owned by `pids`.
pub fn non_loopback_listeners(pids: &[u32]) -> Vec<String> {
    let out = std::process::Command::new("ss")
        .args(["-ltnpH"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| pids.iter().any(|p| l.contains(&format!("pid={p},"))))
        .filter(|l| {
            let local = l.split_whitespace().nth(3).unwrap_or("");
            !(local.starts_with("127.")
                || local.starts_with("[::1]")
                || local.starts_with("[::ffff:127."))
        })
        .map(str::to_owned)
        .collect()
}

/// Stops every app of an instance (and its standalone cluster) when dropped, so a failing test
/// leaves no JVM behind.
pub struct Cleanup<'a>(pub &'a Runner, pub &'static str);

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        let _ = self.0.shutdown_instance(self.1);
    }
}

/// A free TCP port on loopback.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
