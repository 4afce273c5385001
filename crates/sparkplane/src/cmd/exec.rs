//! `sparkplane exec -- spark-submit …`: run a Spark job unchanged, then export its event log.
//!
//! The job's stdio is inherited and its exit code returned as is; the export starts only after
//! the job has ended and is bounded by `--timeout`, so it neither slows nor fails the job.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, SystemTime};

use anyhow::Context;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use super::export::{export_log, TargetArgs};

const EXAMPLES: &str = "\
Examples:
  sparkplane exec --to s3://perf-bucket/spark -- spark-submit --master yarn app.py
  SPARKPLANE_APIKEY=… sparkplane exec --server https://sparkplane.example.com \\
      --instance 3f2a… -- spark-submit --class com.example.Etl etl.jar 2026-01-01

Unless the command line sets spark.eventLog.enabled / spark.eventLog.dir (with --conf), exec adds
`--conf spark.eventLog.enabled=true --conf spark.eventLog.dir=file:<temporary dir>` right after
spark-submit, and removes that directory after the export. With the user's own (local) log
directory, the run's log is the newest application log modified since the job started. The
exit status is the job's own (128+N when it was killed by signal N); the export's outcome is
only printed. SIGINT/SIGTERM/SIGHUP sent to exec are forwarded to the job.";

#[derive(clap::Args, Debug)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    #[command(flatten)]
    pub target: TargetArgs,
    /// The job's command line, after `--` (normally spark-submit and its arguments).
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

const ENABLED: &str = "spark.eventLog.enabled";
const DIR: &str = "spark.eventLog.dir";

/// The value the command line gives a Spark conf (`--conf K=V`, `--conf=K=V`, `-c K=V`).
fn user_conf<'a>(argv: &'a [String], key: &str) -> Option<&'a str> {
    let mut found = None;
    let mut it = argv.iter();
    while let Some(arg) = it.next() {
        let kv = if arg == "--conf" || arg == "-c" {
            it.next().map(String::as_str)
        } else {
            arg.strip_prefix("--conf=")
        };
        if let Some((k, v)) = kv.and_then(|kv| kv.split_once('=')) {
            if k.trim() == key {
                found = Some(v);
            }
        }
    }
    found
}

/// Whether `program` is spark-submit (so Spark options may be inserted after it).
fn is_spark_submit(program: &str) -> bool {
    Path::new(program)
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with("spark-submit"))
}

/// A local directory from a `spark.eventLog.dir` value, if it is local.
fn local_dir(value: &str) -> Option<PathBuf> {
    if let Some(rest) = value.strip_prefix("file://") {
        return Some(PathBuf::from(rest));
    }
    if let Some(rest) = value.strip_prefix("file:") {
        return Some(PathBuf::from(rest));
    }
    (!value.contains("://")).then(|| PathBuf::from(value))
}

/// The newest entry of `dir` modified at or after `since` (the run's event log).
fn newest_log(dir: &Path, since: SystemTime) -> Option<PathBuf> {
    let since = since.checked_sub(Duration::from_secs(2)).unwrap_or(since);
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .filter_map(|e| {
            let modified = e.metadata().ok()?.modified().ok()?;
            (modified >= since).then(|| (modified, e.path()))
        })
        .max()
        .map(|(_, path)| path)
}

/// A fresh private temporary directory for the event log.
fn temp_log_dir() -> anyhow::Result<PathBuf> {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let dir = std::env::temp_dir().join(format!("sparkplane-exec-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
}

fn exit_code(status: std::process::ExitStatus) -> u8 {
    if let Some(code) = status.code() {
        return u8::try_from(code & 0xff).unwrap_or(1);
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = status.signal() {
            return u8::try_from((128 + sig) & 0xff).unwrap_or(1);
        }
    }
    1
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let Some((program, rest)) = args.command.split_first() else {
        anyhow::bail!("give the job's command after --");
    };
    let mut argv: Vec<String> = rest.to_vec();
    let mut own_dir = None;
    let log_dir = if !is_spark_submit(program) {
        eprintln!(
            "sparkplane exec: {program} is not spark-submit: not adding event-log settings; \
             nothing to export"
        );
        None
    } else if user_conf(&argv, ENABLED).is_some_and(|v| v.trim() != "true") {
        eprintln!("sparkplane exec: {ENABLED} is off on the command line; nothing to export");
        None
    } else {
        let dir = match user_conf(&argv, DIR) {
            Some(value) => local_dir(value),
            None => {
                let dir = temp_log_dir()?;
                own_dir = Some(dir.clone());
                Some(dir)
            }
        };
        let mut injected = Vec::new();
        if user_conf(&argv, ENABLED).is_none() {
            injected.extend(["--conf".to_owned(), format!("{ENABLED}=true")]);
        }
        if let Some(dir) = &own_dir {
            injected.extend(["--conf".to_owned(), format!("{DIR}=file:{}", dir.display())]);
        }
        argv.splice(0..0, injected);
        if dir.is_none() {
            eprintln!("sparkplane exec: {DIR} is not a local directory; nothing to export");
        }
        dir
    };

    // While the job runs, exec itself must not die of SIGINT/SIGTERM/SIGHUP (the job's exit
    // code is what the caller gets): they are forwarded to the job instead.
    let mut signals =
        Signals::new([SIGINT, SIGTERM, SIGHUP]).context("cannot install signal handlers")?;
    let forwarder = signals.handle();
    let started = SystemTime::now();
    let mut child = Command::new(program)
        .args(&argv)
        .spawn()
        .with_context(|| format!("cannot run {program}"))?;
    let pid = i32::try_from(child.id()).ok().map(Pid::from_raw);
    let forwarding = std::thread::spawn(move || {
        for sig in signals.forever() {
            if let (Some(pid), Ok(sig)) = (pid, Signal::try_from(sig)) {
                // The job may have ended already; nothing to do then.
                let _ = kill(pid, sig);
            }
        }
    });
    let status = child.wait().context("cannot wait for the job")?;
    forwarder.close();
    let _ = forwarding.join();
    let code = exit_code(status);
    // From here on a signal ends exec at once, still with the job's exit code.
    if let Ok(mut late) = Signals::new([SIGINT, SIGTERM, SIGHUP]) {
        std::thread::spawn(move || {
            if late.forever().next().is_some() {
                std::process::exit(i32::from(code));
            }
        });
    }

    if let Some(dir) = &log_dir {
        if !args.target.has_destination() {
            eprintln!("sparkplane exec: no --to or --server given; the summary is not exported");
        } else {
            match newest_log(dir, started) {
                None => eprintln!(
                    "sparkplane exec: performance summary not exported: no event log of this run in {}",
                    dir.display()
                ),
                Some(log) => match export_log(&log, &args.target) {
                    Ok(line) => println!("{line}"),
                    Err(line) => eprintln!("sparkplane exec: {line}"),
                },
            }
        }
    }
    if let Some(dir) = own_dir {
        // Best effort: a leftover temporary directory is harmless.
        let _ = std::fs::remove_dir_all(dir);
    }
    Ok(ExitCode::from(code))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(args: &[&str]) -> Vec<String> {
        args.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn finds_user_confs() {
        let argv = v(&[
            "--conf",
            "spark.eventLog.dir=/x",
            "--conf=spark.eventLog.enabled=true",
            "app.py",
        ]);
        assert_eq!(user_conf(&argv, DIR), Some("/x"));
        assert_eq!(user_conf(&argv, ENABLED), Some("true"));
        assert_eq!(
            user_conf(&v(&["-c", "spark.eventLog.dir=file:/y"]), DIR),
            Some("file:/y")
        );
        assert_eq!(user_conf(&v(&["app.py", "--conf"]), DIR), None);
        assert_eq!(local_dir("file:///tmp/e"), Some(PathBuf::from("/tmp/e")));
        assert_eq!(local_dir("hdfs://nn/e"), None);
        assert!(is_spark_submit("/opt/spark/bin/spark-submit"));
        assert!(!is_spark_submit("python"));
    }
}
