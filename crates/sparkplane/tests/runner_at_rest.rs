//! Encryption at rest of the runner's files, end to end through the real `sparkplane serve`
//! and real Spark: two apps (one with Spark's single-file event log, one with a rolling
//! `eventlog_v2_*` directory) whose name, a conf value and a printed line carry a marker run;
//! while they run, a properties file holds the instance secret (0600); once they have ended (and
//! their completion hooks have run) no file under the data dir holds the marker or the secret, no
//! properties file is left, and the secret is sealed — yet the driver log, the app's details,
//! its performance summary and the per-instance History Server (listing and stages) still
//! answer, also after a restart. A flipped byte in a sealed log is refused, never served.
#![allow(clippy::unwrap_used)]
#![cfg(feature = "server")]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::json;

mod export_support;

use export_support::serve::{self, Api};
use export_support::{free_port, root, Proc};

/// Reads its tag from the conf, waits for `gate` in its working directory (so the test can
/// look at the running app's files), prints a line with the tag, runs a small shuffle.
const TAGGED_APP: &str = r#"
import os, time
from pyspark.sql import SparkSession
spark = SparkSession.builder.getOrCreate()
tag = spark.conf.get("spark.myjob.tag")
deadline = time.time() + 120
while not os.path.exists("gate") and time.time() < deadline:
    time.sleep(0.2)
n = spark.range(0, 2000, numPartitions=2).selectExpr("id % 3 as k").groupBy("k").count().count()
print("TAGGED-LINE " + tag + " groups=" + str(n))
spark.stop()
"#;

/// Every file under `dir` (recursively) whose bytes contain `needle`.
fn files_containing(dir: &Path, needle: &[u8]) -> Vec<PathBuf> {
    let mut hits = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            let Ok(meta) = std::fs::symlink_metadata(&p) else {
                continue;
            };
            if meta.is_dir() {
                stack.push(p);
            } else if meta.is_file() {
                if let Ok(bytes) = std::fs::read(&p) {
                    if bytes.windows(needle.len()).any(|w| w == needle) {
                        hits.push(p);
                    }
                }
            }
        }
    }
    hits
}

/// Every file under `dir` whose name satisfies `pred`.
fn files_named(dir: &Path, pred: &dyn Fn(&str) -> bool) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if pred(&e.file_name().to_string_lossy()) {
                out.push(p);
            }
        }
    }
    out
}

fn start(data: &Path, home: &Path, port: u16) -> Proc {
    let child = serve::spawn(
        serve::serve_command(data)
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--insecure-http")
            .arg("--spark-home")
            .arg(home),
    );
    Proc(child)
}

fn wait_for(secs: u64, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    f()
}

#[test]
fn finished_runs_leave_no_plaintext_in_the_runner_area() {
    let Some(home) = sparkplane_runner::find_spark_home(&root()) else {
        assert!(
            std::env::var("SPARKPLANE_REQUIRE_ALL").as_deref() != Ok("1"),
            "Spark (pip pyspark in .venv or SPARK_HOME) is required"
        );
        eprintln!("skipping: Spark not found (run scripts/setup-deps.sh)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let port = free_port();
    let mut server = Some(start(&data, &home, port));
    let s = serve::wait_ready(30, || Some(Api::http(port, Duration::from_secs(30))));
    let admin = s.admin_token(&data);
    let (st, inst) = s.call(
        "POST",
        "/v3/analytics_engines",
        &admin,
        Some(json!({"name": "sealed-runs"})),
    );
    assert_eq!(st, 201, "{inst}");
    let inst = inst["id"].as_str().unwrap().to_owned();
    let w = s.principal_on(&admin, &inst, "w", "Writer");

    // The marker is in no file we upload: only in the name and a conf value.
    // Letters only (digit runs could look like PII to the summary's redaction).
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
        ^ u128::from(std::process::id());
    let marker: String = std::iter::successors(Some(seed), |n| Some(n / 26))
        .take(14)
        .map(|n| char::from(b'a' + (n % 26) as u8))
        .collect();
    let marker = format!("MRK{marker}");
    let r = s
        .client
        .put(s.url(&format!(
            "/v3/analytics_engines/{inst}/files/jobs/tagged.py"
        )))
        .bearer_auth(&w)
        .body(TAGGED_APP)
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let apps = format!("/v3/analytics_engines/{inst}/spark_applications");
    // Two runs: Spark's default single-file event log, and a rolling `eventlog_v2_*` one.
    let runs: Vec<(String, String)> = [("single", false), ("rolling", true)]
        .iter()
        .map(|(kind, rolling)| {
            let name = format!("job-{marker}-{kind}");
            let mut conf = json!({"spark.myjob.tag": marker,
                "spark.sql.shuffle.partitions": "2",
                "spark.ui.enabled": "false",
                "spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"});
            if *rolling {
                conf["spark.eventLog.rolling.enabled"] = json!("true");
            }
            let (st, v) = s.call(
                "POST",
                &apps,
                &w,
                Some(json!({"application_details": {
                    "application": "jobs/tagged.py", "name": name, "conf": conf}})),
            );
            assert_eq!(st, 202, "{v}");
            (v["id"].as_str().unwrap().to_owned(), name)
        })
        .collect();
    let inst_dir = data.join("runner/instances").join(&inst);
    let app_dir = |id: &str| inst_dir.join("apps").join(id);

    // While they run: the properties file (0600) holds the secret and the conf; the secret
    // file itself is sealed, and so are the requests and records.
    for (id, _) in &runs {
        s.wait_state(&inst, &w, id, &["running"], 240);
    }
    let props = app_dir(&runs[0].0).join("spark.properties");
    let text = std::fs::read_to_string(&props).unwrap();
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&props).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);
    assert!(text.contains(&marker), "conf not in the properties file");
    let secret = text
        .lines()
        .find_map(|l| l.strip_prefix("spark.authenticate.secret="))
        .map(|v| v.trim().to_owned())
        .expect("secret in the properties file");
    assert!(secret.len() >= 32, "{secret}");
    assert!(!inst_dir.join("secret").exists(), "plaintext secret file");
    let sealed_secret = std::fs::read(inst_dir.join("secret.spk")).unwrap();
    assert!(!sealed_secret
        .windows(secret.len())
        .any(|w| w == secret.as_bytes()));
    for (id, _) in &runs {
        let d = app_dir(id);
        assert!(
            !d.join("request.json").exists() && !d.join("record.json").exists(),
            "request/record in plaintext"
        );
        std::fs::write(d.join("home/gate"), "go").unwrap();
    }

    for (id, _) in &runs {
        let v = s.wait_state(&inst, &w, id, serve::FINAL, 240);
        assert_eq!(v["state"], "finished", "{v}");
        // The completion hook has run and the runner sealed what the run left.
        let d = app_dir(id);
        assert!(
            wait_for(120, || d.join("driver.log.spk").is_file()
                && !d.join("driver.log").exists()
                && d.join("summary.json.spk").is_file()
                && !d.join("status.json").exists()),
            "driver log / summary not sealed: {:?}",
            std::fs::read_dir(&d)
                .unwrap()
                .flatten()
                .map(|e| e.file_name())
                .collect::<Vec<_>>()
        );
    }
    let logs: Vec<String> = std::fs::read_dir(inst_dir.join("eventlogs"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        logs.len() == 2
            && logs
                .iter()
                .all(|n| n.ends_with(".spk") && !n.starts_with("eventlog_v2_")),
        "event logs not all sealed: {logs:?}"
    );

    let check_reads = |s: &Api| {
        for (id, name) in &runs {
            check_run(s, &apps, &inst, &w, id, name, &marker, &secret);
        }
    };
    check_reads(&s);

    // At rest: neither the marker nor the secret in any file; no properties file is left.
    let scan = |what: &str, needle: &str| {
        let hits = files_containing(&data, needle.as_bytes());
        assert!(hits.is_empty(), "{what} found in plaintext in {hits:?}");
    };
    scan("the marker", &marker);
    scan("the instance secret", &secret);
    let left = files_named(&data, &|n| n.ends_with(".properties"));
    assert!(left.is_empty(), "properties files left: {left:?}");

    // After a restart: records, request, logs and history are opened again.
    drop(server.take());
    server = Some(start(&data, &home, port));
    let s = serve::wait_ready(30, || Some(Api::http(port, Duration::from_secs(30))));
    check_reads(&s);
    scan("the marker (after a restart)", &marker);

    // A flipped byte in the sealed driver log: an error, and not a byte of the log served.
    let (id, _) = &runs[0];
    let sealed_log = app_dir(id).join("driver.log.spk");
    let mut b = std::fs::read(&sealed_log).unwrap();
    let mid = b.len() / 2;
    b[mid] ^= 0x40;
    std::fs::write(&sealed_log, b).unwrap();
    let (st, v) = s.call("GET", &format!("{apps}/{id}/logs"), &w, None);
    assert!(st >= 500, "{st}: {v}");
    assert!(!v.to_string().contains("TAGGED-LINE"), "{v}");
    drop(server);
}

/// What a finished run answers: its driver log line, its details, its summary, and the
/// instance's History Server listing and stages.
#[allow(clippy::too_many_arguments)]
fn check_run(
    s: &Api,
    apps: &str,
    inst: &str,
    w: &str,
    id: &str,
    name: &str,
    marker: &str,
    secret: &str,
) {
    // The driver log shows the printed line (opened from the sealed file).
    let (st, log) = s.call("GET", &format!("{apps}/{id}/logs"), w, None);
    assert_eq!(st, 200, "{log}");
    let log = log.as_str().unwrap_or_default().to_owned();
    assert!(
        log.contains(&format!("TAGGED-LINE {marker} groups=3")),
        "{log}"
    );
    assert!(!log.contains(secret), "secret in the driver log");
    // The app's details show its name (sealed request and record).
    let (st, d) = s.call("GET", &format!("{apps}/{id}"), w, None);
    assert_eq!(st, 200, "{d}");
    assert_eq!(d["application_details"]["name"], name, "{d}");
    assert_eq!(d["state"], "finished", "{d}");
    let spark_id = d["spark_application_id"].as_str().unwrap().to_owned();
    // The performance summary.
    let (st, p) = s.call("GET", &format!("{apps}/{id}/performance"), w, None);
    assert_eq!(st, 200, "{p}");
    assert_eq!(p["app"]["id"], spark_id.as_str(), "{p}");
    // The per-instance History Server reads the sealed event log.
    let hist = format!("/v3/analytics_engines/{inst}/spark_history/api/v1");
    let (st, l) = s.call("GET", &format!("{hist}/applications"), w, None);
    assert_eq!(st, 200, "{l}");
    let listed = l
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == spark_id.as_str())
        .unwrap_or_else(|| panic!("{spark_id} not listed: {l}"));
    assert_eq!(listed["name"], name, "{listed}");
    assert_eq!(listed["attempts"][0]["completed"], true, "{listed}");
    let (st, stages) = s.call(
        "GET",
        &format!("{hist}/applications/{spark_id}/stages"),
        w,
        None,
    );
    assert_eq!(st, 200, "{stages}");
    assert!(stages.as_array().is_some_and(|a| !a.is_empty()), "{stages}");
}
