//! `sparkplane exec -- spark-submit …` with real Spark (pyspark from the project venv) and a real
//! S3 endpoint (moto_server): the job's exit code is returned unchanged, its event log is found
//! and exported after it, and a failing endpoint changes nothing for the job (issue 8).

#![allow(clippy::unwrap_used)]

mod export_support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use export_support::*;

const OK_APP: &str = r#"
from pyspark.sql import SparkSession
spark = SparkSession.builder.appName("exec_ok").getOrCreate()
print("rows:", spark.range(0, 1000, numPartitions=2).selectExpr("sum(id)").collect()[0][0])
spark.stop()
"#;

const FAILING_APP: &str = r#"
import sys
from pyspark.sql import SparkSession
spark = SparkSession.builder.appName("exec_fail").getOrCreate()
spark.range(0, 100, numPartitions=2).count()
spark.stop()
sys.exit(3)
"#;

fn spark_submit() -> Option<PathBuf> {
    let home = root().join(".venv/lib/python3.11/site-packages/pyspark");
    let bin = home.join("bin/spark-submit");
    let java = std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join("java").is_file()));
    if (!bin.exists() || !java) && missing("pyspark 4.3 in .venv and java") {
        return None;
    }
    Some(bin)
}

fn exec(target: &[&str], submit: &Path, spark_args: &[&str], app: &Path) -> (Output, Duration) {
    let home = submit.parent().unwrap().parent().unwrap();
    let mut cmd = sparkplane();
    cmd.arg("exec")
        .args(target)
        .arg("--")
        .arg(submit)
        .args(["--master", "local[1]", "--conf", "spark.ui.enabled=false"])
        .args(spark_args)
        .arg(app)
        .env("SPARK_HOME", home)
        .env("PYSPARK_PYTHON", venv_bin("python"));
    let started = Instant::now();
    let out: Output = Command::output(&mut cmd).unwrap();
    (out, started.elapsed())
}

#[test]
fn exec_returns_the_job_exit_code_and_exports_its_log() {
    let Some(submit) = spark_submit() else { return };
    let Some(moto) = Moto::start() else { return };
    moto.create_bucket("perf");
    let dir = tempfile::tempdir().unwrap();
    let (ok_app, failing_app) = (dir.path().join("ok.py"), dir.path().join("fail.py"));
    std::fs::write(&ok_app, OK_APP).unwrap();
    std::fs::write(&failing_app, FAILING_APP).unwrap();
    let endpoint = moto.endpoint();
    let to = ["--to", "s3://perf/exec", "--s3-endpoint", endpoint.as_str()];

    // 1. A succeeding job, event-log confs injected (temporary dir): exit 0, one summary.
    let (out, took) = exec(&to, &submit, &[], &ok_app);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    eprintln!("ok job: {took:?}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stdout.contains("rows: 499500"), "{stdout}");
    assert!(
        stdout.contains("performance summary exported in "),
        "{stdout}\n{stderr}"
    );
    let keys = moto.keys("perf");
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(
        keys[0].starts_with("exec/local-") && keys[0].ends_with("/1/summary.json"),
        "{keys:?}"
    );
    let summary: serde_json::Value = serde_json::from_slice(&moto.get("perf", &keys[0])).unwrap();
    assert_eq!(summary["app"]["name"], "exec_ok");
    assert_eq!(
        keys[0],
        format!(
            "exec/{}/1/summary.json",
            summary["app"]["id"].as_str().unwrap()
        )
    );

    // 2. A failing job with the user's own event-log dir: its exit code (3) comes back, the log
    //    stays in the user's dir and is exported.
    let user_logs = dir.path().join("events");
    std::fs::create_dir(&user_logs).unwrap();
    let dir_conf = format!("spark.eventLog.dir=file://{}", user_logs.display());
    let user_args = [
        "--conf",
        "spark.eventLog.enabled=true",
        "--conf",
        dir_conf.as_str(),
    ];
    let (out, took) = exec(&to, &submit, &user_args, &failing_app);
    eprintln!("failing job: {took:?}");
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("performance summary exported in "));
    let logs: Vec<_> = std::fs::read_dir(&user_logs).unwrap().collect();
    assert_eq!(logs.len(), 1, "the user's dir keeps the run's log");
    assert_eq!(moto.keys("perf").len(), 2);

    // 3. The endpoint is down: the job's own exit code, and the export costs at most its timeout.
    let proxy = FaultProxy::start(moto.port, "slow");
    let slow = proxy.endpoint();
    let to_slow = [
        "--to",
        "s3://perf/slow",
        "--s3-endpoint",
        slow.as_str(),
        "--timeout",
        "3",
    ];
    let (out, took) = exec(&to_slow, &submit, &[], &failing_app);
    let stderr = text(&out.stderr);
    eprintln!("failing job, slow endpoint: {took:?}");
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("performance summary export failed after"),
        "{stderr}"
    );
    assert_eq!(moto.keys("perf").len(), 2);
}

#[test]
fn exec_without_destination_still_runs_the_job() {
    let out = sparkplane()
        .args(["exec", "--", "sh", "-c", "exit 7"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(7));
    let out = sparkplane()
        .args([
            "exec",
            "--to",
            "s3://perf/x",
            "--",
            "sh",
            "-c",
            "kill -TERM $$",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(128 + 15));
    // A SIGTERM sent to exec goes to the job; exec returns what the job then returns.
    let out = sparkplane()
        .args(["exec", "--", "sh", "-c"])
        .arg("trap 'exit 9' TERM; kill -TERM $PPID; sleep 5 >/dev/null 2>&1 & wait")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(9));
}
