//! Spark applications through the real `sparkplane serve` binary and real Spark (pip pyspark):
//! upload through `files`, submit, follow `/state`, read details, logs and `/performance`; a
//! failing app ends `failed` with its reason; a long app stopped with DELETE ends `stopped` with
//! no process left. Three Spark runs, started together.
#![allow(clippy::unwrap_used)]
#![cfg(feature = "server")]

use std::cell::RefCell;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

mod export_support;

use export_support::serve::{self, Api};
use export_support::{free_port, root};

fn spark_home() -> Option<PathBuf> {
    sparkplane_runner::find_spark_home(&root())
}

/// `sparkplane serve --insecure-http` that can be killed and restarted on the same port and
/// data dir; the calls go through its [`Api`].
struct Server {
    child: RefCell<Option<Child>>,
    port: u16,
    api: Api,
    data: PathBuf,
    spark_home: PathBuf,
    extra: Vec<String>,
    envs: Vec<(String, String)>,
}

impl std::ops::Deref for Server {
    type Target = Api;
    fn deref(&self) -> &Api {
        &self.api
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(c) = self.child.get_mut() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Server {
    fn start(data: &Path, spark_home: &Path) -> Server {
        Self::start_with(data, spark_home, &[], &[])
    }

    /// `sparkplane serve` with extra flags and environment variables.
    fn start_with(data: &Path, spark_home: &Path, extra: &[&str], envs: &[(&str, &str)]) -> Server {
        let port = free_port();
        let mut s = Server {
            child: RefCell::new(None),
            port,
            // The first submission of a standalone instance starts its Master and Worker
            // (10–20 s, much more while the other Spark tests load both cores).
            api: Api::http(port, Duration::from_secs(120)),
            data: data.to_path_buf(),
            spark_home: spark_home.to_path_buf(),
            extra: extra.iter().map(|a| (*a).to_owned()).collect(),
            envs: envs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        };
        *s.child.get_mut() = Some(s.spawn());
        s.wait_ready();
        s
    }

    /// SIGKILL the server (applications keep running under their supervisors).
    fn kill9(&self) {
        if let Some(mut c) = self.child.borrow_mut().take() {
            c.kill().unwrap();
            c.wait().unwrap();
        }
    }

    /// Start it again on the same port and data dir.
    fn restart(&self) {
        *self.child.borrow_mut() = Some(self.spawn());
        self.wait_ready();
    }

    fn spawn(&self) -> Child {
        serve::spawn(
            serve::serve_command(&self.data)
                .arg("--listen")
                .arg(format!("127.0.0.1:{}", self.port))
                .arg("--insecure-http")
                .arg("--spark-home")
                .arg(&self.spark_home)
                .args(&self.extra)
                .envs(self.envs.iter().map(|(k, v)| (k, v))),
        )
    }

    fn wait_ready(&self) {
        serve::wait_ready(30, || Some(self.api.clone()));
    }

    fn put_file(&self, inst: &str, path: &str, token: &str, bytes: &str) -> (u16, Value) {
        let r = self
            .client
            .put(self.url(&format!("/v3/analytics_engines/{inst}/files/{path}")))
            .bearer_auth(token)
            .body(bytes.to_owned())
            .send()
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().unwrap_or(Value::Null))
    }
}

/// Waits for the gate file named by its first argument (if any) before its last job, so the
/// test can make it end while the server is down.
const OK_APP: &str = r#"
import os, sys, time
from pyspark.sql import SparkSession
spark = SparkSession.builder.appName("apps-api-ok").getOrCreate()
df = spark.range(0, 20000, numPartitions=4)
while len(sys.argv) > 1 and not os.path.exists(sys.argv[1]):
    time.sleep(0.2)
print("rows", df.groupBy((df.id % 7).alias("k")).count().count())
spark.stop()
"#;

const FAIL_APP: &str = r#"
import os, sys, time
from pyspark.sql import SparkSession
spark = SparkSession.builder.appName("apps-api-fail").getOrCreate()
spark.range(10).count()
while len(sys.argv) > 1 and not os.path.exists(sys.argv[1]):
    time.sleep(0.2)
raise ValueError("planted failure 42")
"#;

const LONG_APP: &str = r#"
import time
from pyspark.sql import SparkSession
spark = SparkSession.builder.appName("apps-api-long").getOrCreate()
spark.range(10).count()
for _ in range(600):
    time.sleep(1)
"#;

fn pgrep(marker: &str) -> String {
    let out = Command::new("pgrep")
        .arg("-af")
        .arg(marker)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.contains("pgrep"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn submit_track_stop_with_real_spark() {
    let Some(home) = spark_home() else {
        assert!(
            std::env::var("SPARKPLANE_REQUIRE_ALL").as_deref() != Ok("1"),
            "Spark (pip pyspark in .venv or SPARK_HOME) is required"
        );
        eprintln!("skipping: Spark not found (run scripts/setup-deps.sh)");
        return;
    };
    let t0 = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let s = Server::start(&data, &home);
    let admin = s.admin_token(&data);

    // An instance and a Writer on it.
    let (st, inst) = s.call(
        "POST",
        "/v3/analytics_engines",
        &admin,
        Some(json!({"name": "apps"})),
    );
    assert_eq!(st, 201, "{inst}");
    let inst = inst["id"].as_str().unwrap().to_owned();
    let (st, user) = s.call("POST", "/v1/users", &admin, Some(json!({"name": "writer"})));
    assert_eq!(st, 201, "{user}");
    let uid = user["id"].as_str().unwrap().to_owned();
    let (st, key) = s.call(
        "POST",
        &format!("/v1/users/{uid}/api_keys"),
        &admin,
        Some(json!({})),
    );
    assert_eq!(st, 201, "{key}");
    let (st, v) = s.call(
        "PUT",
        &format!("/v3/analytics_engines/{inst}/access_policies/{uid}"),
        &admin,
        Some(json!({"role": "Writer"})),
    );
    assert_eq!(st, 200, "{v}");
    let w = s.token(key["apikey"].as_str().unwrap());

    // Upload; paths escaping the area are refused; the file reads back.
    let marker = format!("sleepy_{}", std::process::id());
    let long_name = format!("jobs/{marker}.py");
    for (p, body) in [
        ("jobs/ok.py", OK_APP),
        ("jobs/fail.py", FAIL_APP),
        (long_name.as_str(), LONG_APP),
    ] {
        let (st, v) = s.put_file(&inst, p, &w, body);
        assert_eq!(st, 201, "{p}: {v}");
        assert_eq!(v["size"], body.len());
    }
    let (st, v) = s.put_file(&inst, "jobs/..%2F..%2Fescape.py", &w, "x");
    assert_eq!(st, 400, "{v}");
    let (st, v) = s.call(
        "GET",
        &format!("/v3/analytics_engines/{inst}/files/jobs/ok.py"),
        &w,
        None,
    );
    assert_eq!((st, v.as_str()), (200, Some(OK_APP)));

    let apps = format!("/v3/analytics_engines/{inst}/spark_applications");
    // Refusals: protected conf key (named), a path outside the area, an unknown field.
    let (st, v) = s.call(
        "POST",
        &apps,
        &w,
        Some(json!({"application_details": {"application": "jobs/ok.py",
            "conf": {"spark.eventLog.dir": "/tmp/x"}}})),
    );
    assert_eq!(st, 400, "{v}");
    assert!(v.to_string().contains("spark.eventLog.dir"), "{v}");
    let (st, v) = s.call(
        "POST",
        &apps,
        &w,
        Some(json!({"application_details": {"application": "/etc/passwd"}})),
    );
    assert_eq!(st, 400, "{v}");
    let (st, v) = s.call(
        "POST",
        &apps,
        &w,
        Some(json!({"application_details": {"application": "jobs/ok.py", "bogus": 1}})),
    );
    assert_eq!(st, 400, "{v}");

    // Three real runs at once.
    let submit = |app: &str, extra: Value| {
        let mut d = json!({"application": app, "name": app,
            "conf": {"spark.sql.shuffle.partitions": "2", "spark.my.password": "hunter2",
                "spark.driver.extraJavaOptions": QUICK_JVM_OPTS},
            "env": {"GREETING": "hello-secret-env"},
            "runtime": {"spark_version": "4"}});
        if let Value::Object(m) = extra {
            for (k, v) in m {
                d[k] = v;
            }
        }
        let (st, v) = s.call("POST", &apps, &w, Some(json!({"application_details": d})));
        assert_eq!(st, 202, "{v}");
        assert_eq!(v["state"], "accepted");
        v["id"].as_str().unwrap().to_owned()
    };
    // The finishing and the failing app wait for this file before their last step: it is
    // created while the server is down.
    let gate = data.join("runner/instances").join(&inst).join("files/gate");
    let gate_str = gate.display().to_string();
    // The successful one through the CLI: `sparkplane submit --wait` uploads and follows it.
    let ok_file = dir.path().join("ok.py");
    std::fs::write(&ok_file, OK_APP).unwrap();
    let cli_env = [
        ("SPARKPLANE_URL", s.url("")),
        (
            "SPARKPLANE_APIKEY",
            key["apikey"].as_str().unwrap().to_owned(),
        ),
    ];
    let mut cli = Command::new(env!("CARGO_BIN_EXE_sparkplane"))
        .args(["submit", "--instance", &inst])
        .arg(&ok_file)
        .args([
            "--conf",
            "spark.sql.shuffle.partitions=2",
            "--conf",
            &format!("spark.driver.extraJavaOptions={QUICK_JVM_OPTS}"),
            "--wait",
            "--",
            &gate_str,
        ])
        .envs(cli_env.iter().map(|(k, v)| (k, v)))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut cli_out = std::io::BufReader::new(cli.stdout.take().unwrap());
    let mut ok = String::new();
    cli_out.read_line(&mut ok).unwrap();
    let ok = ok.trim().to_owned();
    assert_eq!(ok.len(), 36, "CLI printed no application id: {ok:?}");
    let fail = submit("jobs/fail.py", json!({"arguments": [gate_str]}));
    let long = submit(&long_name, json!({"arguments": ["forever"]}));

    let state = |id: &str| {
        let (st, v) = s.call("GET", &format!("{apps}/{id}/state"), &w, None);
        assert_eq!(st, 200, "{v}");
        v
    };
    let wait = |id: &str, want: &[&str], secs: u64| s.wait_state(&inst, &w, id, want, secs);

    // Kill -9 the server while all three run; during the downtime the finishing and the
    // failing app end (their supervisors record it), the long one keeps running. The restarted
    // server re-attaches: every state is right (and `submit --wait` rides over the gap).
    for id in [&ok, &fail, &long] {
        wait(id, &["running"], 180);
    }
    s.kill9();
    std::fs::write(&gate, "go").unwrap();
    let app_dir = |id: &str| {
        data.join("runner/instances")
            .join(&inst)
            .join("apps")
            .join(id)
    };
    let ended = |id: &str| {
        std::fs::read_to_string(app_dir(id).join("status.json"))
            .ok()
            .and_then(|t| serde_json::from_str::<Value>(&t).ok())
            .is_some_and(|v| !v["exit"].is_null())
    };
    let deadline = Instant::now() + Duration::from_secs(120);
    while !(ended(&ok) && ended(&fail)) {
        assert!(
            Instant::now() < deadline,
            "apps did not end while the server was down"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    assert!(!ended(&long), "the long app ended");
    s.restart();
    assert_eq!(state(&long)["state"], "running");
    assert_eq!(state(&ok)["state"], "finished");
    assert_eq!(state(&fail)["state"], "failed");
    assert!(!pgrep(&marker).is_empty(), "long app's processes not found");
    let (st, v) = s.call("DELETE", &format!("{apps}/{long}"), &w, None);
    assert_eq!(st, 204, "{v}");
    let v = wait(&long, &["stopped"], 60);
    assert!(v["finish_time"].is_string(), "{v}");
    let (st, _) = s.call("DELETE", &format!("{apps}/{long}"), &w, None);
    assert_eq!(st, 204, "DELETE is idempotent");
    let deadline = Instant::now() + Duration::from_secs(15);
    while !pgrep(&marker).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(pgrep(&marker), "", "processes of the stopped app remain");

    let cli_status = cli.wait().unwrap();
    assert!(cli_status.success(), "submit --wait: {cli_status}");
    let v = wait(&ok, serve::FINAL, 10);
    assert_eq!(v["state"], "finished", "{v}");
    assert!(
        v["start_time"].is_string() && v["finish_time"].is_string(),
        "{v}"
    );
    let v = wait(&fail, serve::FINAL, 240);
    assert_eq!(v["state"], "failed", "{v}");

    // Details: ids, times, redaction.
    let (st, d) = s.call("GET", &format!("{apps}/{ok}"), &w, None);
    assert_eq!(st, 200, "{d}");
    assert_eq!(d["id"], ok);
    assert!(d["spark_application_id"].is_string(), "{d}");
    assert!(d["submission_time"].is_string(), "{d}");
    assert_eq!(d["application_details"]["application"], "ok.py");
    assert_eq!(d["application_details"]["arguments"][0], gate_str.as_str());
    let (_, f) = s.call("GET", &format!("{apps}/{fail}"), &w, None);
    let text = f.to_string();
    assert!(
        !text.contains("hunter2") && !text.contains("hello-secret-env"),
        "{f}"
    );
    assert!(
        f["effective_conf"]["spark.sql.shuffle.partitions"] == "2",
        "{f}"
    );
    assert!(
        f["failure_reason"]
            .as_str()
            .unwrap_or("")
            .contains("planted failure 42"),
        "{f}"
    );

    // List with filter and pagination.
    let (st, l) = s.call("GET", &format!("{apps}?state=finished"), &w, None);
    assert_eq!(st, 200, "{l}");
    let ids: Vec<&str> = l["applications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [ok.as_str()]);
    let (_, l) = s.call("GET", &format!("{apps}?limit=2"), &w, None);
    assert_eq!(l["applications"].as_array().unwrap().len(), 2, "{l}");
    assert_eq!(l["next_start"], "2");
    let (st, _) = s.call("GET", &format!("{apps}?state=bogus"), &w, None);
    assert_eq!(st, 400);

    // Performance summary and the log line that says it was made.
    let deadline = Instant::now() + Duration::from_secs(60);
    let perf = loop {
        let (st, p) = s.call("GET", &format!("{apps}/{ok}/performance"), &w, None);
        if st == 200 {
            break p;
        }
        assert_eq!(st, 404, "{p}");
        assert!(Instant::now() < deadline, "no summary: {p}");
        std::thread::sleep(Duration::from_millis(500));
    };
    assert!(perf["app"].is_object(), "{perf}");
    assert!(!perf["stages"].as_array().unwrap().is_empty(), "{perf}");
    let (st, log) = s.call("GET", &format!("{apps}/{ok}/logs"), &w, None);
    assert_eq!(st, 200);
    let log = log.as_str().unwrap_or_default().to_owned();
    assert!(log.contains("performance summary exported in"), "{log}");
    let (st, _) = s.call("GET", &format!("{apps}/nope/state"), &w, None);
    assert_eq!(st, 404);

    // CLI: list and logs.
    let cli = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_sparkplane"))
            .args(["apps", "--instance", &inst])
            .args(args)
            .envs(cli_env.iter().map(|(k, v)| (k, v)))
            .output()
            .unwrap();
        assert!(out.status.success(), "apps {args:?}: {out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let listed = cli(&["list", "--state", "failed"]);
    assert!(listed.contains(&fail) && !listed.contains(&ok), "{listed}");
    assert!(cli(&["logs", &ok]).contains("performance summary exported in"));
    assert!(cli(&["get", &fail]).contains("planted failure 42"));
    eprintln!(
        "apps API with real Spark: 3 runs in {:.1} s",
        t0.elapsed().as_secs_f64()
    );
}

/// Without Spark: the upload area works (size limit, paths, idempotent delete) and submission
/// answers 503 saying Spark is not configured.
#[test]
fn files_without_spark() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let s = Server::start(&data, &dir.path().join("no-spark-here"));
    let admin = s.admin_token(&data);
    let (_, inst) = s.call(
        "POST",
        "/v3/analytics_engines",
        &admin,
        Some(json!({"name": "files"})),
    );
    let inst = inst["id"].as_str().unwrap().to_owned();
    let (_, user) = s.call("POST", "/v1/users", &admin, Some(json!({"name": "m"})));
    let uid = user["id"].as_str().unwrap().to_owned();
    let (_, key) = s.call(
        "POST",
        &format!("/v1/users/{uid}/api_keys"),
        &admin,
        Some(json!({})),
    );
    s.call(
        "PUT",
        &format!("/v3/analytics_engines/{inst}/access_policies/{uid}"),
        &admin,
        Some(json!({"role": "Manager"})),
    );
    let m = s.token(key["apikey"].as_str().unwrap());
    let big = "x".repeat(2 * 1024 * 1024);
    let (st, v) = s.put_file(&inst, "deps/big.zip", &m, &big);
    assert_eq!(st, 201, "{v}");
    let too_big = "x".repeat(64 * 1024 * 1024 + 1);
    let (st, _) = s.put_file(&inst, "deps/huge.zip", &m, &too_big);
    assert_eq!(st, 413);
    let f = format!("/v3/analytics_engines/{inst}/files/deps/big.zip");
    let r = s.client.get(s.url(&f)).bearer_auth(&m).send().unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().unwrap().len(), big.len());
    for _ in 0..2 {
        let (st, _) = s.call("DELETE", &f, &m, None);
        assert_eq!(st, 204);
    }
    let (st, _) = s.call("GET", &f, &m, None);
    assert_eq!(st, 404);
    let (st, _) = s.put_file(&inst, "a/..%2F..%2F..%2Fescape", &m, "x");
    assert_eq!(st, 400);
    let (st, v) = s.call(
        "POST",
        &format!("/v3/analytics_engines/{inst}/spark_applications"),
        &m,
        Some(json!({"application_details": {"application": "deps/big.zip"}})),
    );
    assert_eq!(st, 503, "{v}");
    // The administrator without a role sees no application data.
    let (st, _) = s.call(
        "GET",
        &format!("/v3/analytics_engines/{inst}/spark_applications"),
        &admin,
        None,
    );
    assert_eq!(st, 404);
}

/// Spark, or `None` after printing why (a failure with `SPARKPLANE_REQUIRE_ALL=1`).
fn spark_or_skip() -> Option<PathBuf> {
    let home = spark_home();
    if home.is_none() {
        assert!(
            std::env::var("SPARKPLANE_REQUIRE_ALL").as_deref() != Ok("1"),
            "Spark (pip pyspark in .venv or SPARK_HOME) is required"
        );
        eprintln!("skipping: Spark not found (run scripts/setup-deps.sh)");
    }
    home
}

/// A new instance (`body` as for `POST /v3/analytics_engines`) and a new user with `role` on
/// it; returns the instance id and the user's token.
fn tenant(s: &Server, admin: &str, body: Value, role: &str) -> (String, String) {
    let (st, inst) = s.call("POST", "/v3/analytics_engines", admin, Some(body));
    assert_eq!(st, 201, "{inst}");
    let inst = inst["id"].as_str().unwrap().to_owned();
    let token = s.principal_on(admin, &inst, "u", role);
    (inst, token)
}

/// Submit `application_details`; returns the id.
fn submit_app(s: &Server, inst: &str, token: &str, details: Value) -> String {
    let (st, v) = s.call(
        "POST",
        &format!("/v3/analytics_engines/{inst}/spark_applications"),
        token,
        Some(json!({ "application_details": details })),
    );
    assert_eq!(st, 202, "{v}");
    v["id"].as_str().unwrap().to_owned()
}

fn driver_log(s: &Server, inst: &str, token: &str, id: &str) -> String {
    let (st, v) = s.call(
        "GET",
        &format!("/v3/analytics_engines/{inst}/spark_applications/{id}/logs"),
        token,
        None,
    );
    assert_eq!(st, 200, "{v}");
    v.as_str().unwrap_or_default().to_owned()
}

/// Reads a file by absolute path and lists a directory; no Spark session (cheap). If it could
/// read the file and a gate path is given, it waits for the gate before ending (its instance's
/// working copy, which holds the file, exists only while it runs).
const READER_APP: &str = r#"
import os, sys, time
readable = False
try:
    print("FILE=" + open(sys.argv[1]).read().strip())
    readable = True
except OSError as e:
    print("FILE=BLOCKED " + type(e).__name__)
try:
    print("INSTANCES=" + ",".join(sorted(os.listdir(sys.argv[2]))))
except OSError as e:
    print("INSTANCES=BLOCKED " + type(e).__name__)
deadline = time.time() + 180
while readable and len(sys.argv) > 3 and not os.path.exists(sys.argv[3]) and time.time() < deadline:
    time.sleep(0.2)
"#;

/// `sparkplane serve` turns bubblewrap on by default: an app of instance B cannot open A's
/// file by absolute path nor see A's directory, while A's app reads its own (positive control).
#[test]
fn sandbox_keeps_instances_apart() {
    let Some(home) = spark_or_skip() else { return };
    let bwrap_ok = Command::new("bwrap")
        .args(["--ro-bind", "/", "/", "--unshare-pid", "--", "true"])
        .status()
        .is_ok_and(|s| s.success());
    if !bwrap_ok {
        assert!(
            std::env::var("SPARKPLANE_REQUIRE_ALL").as_deref() != Ok("1"),
            "bwrap (Debian bubblewrap) is required"
        );
        eprintln!("skipping: bwrap not available");
        return;
    }
    // A's application comes from an object-store URL (fetched into A's area at submission).
    let Some(moto) = export_support::Moto::start() else {
        return;
    };
    moto.create_bucket("code");
    moto.boto(&format!(
        "s3.put_object(Bucket='code', Key='jobs/reader.py', Body={READER_APP:?})"
    ));
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let s = Server::start_with(&data, &home, &["--s3-endpoint", &moto.endpoint()], &[]);
    let admin = s.admin_token(&s.data);
    let (a, ta) = tenant(&s, &admin, json!({"name": "iso-a"}), "Writer");
    let (b, tb) = tenant(&s, &admin, json!({"name": "iso-b"}), "Writer");
    let marker = format!("isolation-marker-{}", std::process::id());
    assert_eq!(s.put_file(&a, "private.txt", &ta, &marker).0, 201);
    assert_eq!(s.put_file(&b, "reader.py", &tb, READER_APP).0, 201);
    let instances = data.join("runner/instances");
    // The file is in A's working copy (decrypted from the store at submission) while A's app
    // runs: A's app holds it open until the gate exists, so B's app reads while it is there.
    let a_file = instances.join(&a).join("files/private.txt");
    let gate = instances.join(&a).join("files/gate");
    let args = json!([
        a_file.display().to_string(),
        instances.display().to_string(),
        gate.display().to_string()
    ]);
    let s3_conf = json!({"spark.hadoop.fs.s3a.access.key": "test",
                         "spark.hadoop.fs.s3a.secret.key": "test"});
    let (st, v) = s.call(
        "POST",
        &format!("/v3/analytics_engines/{a}/spark_applications"),
        &ta,
        Some(
            json!({"application_details": {"application": "s3://code/jobs/missing.py",
            "conf": s3_conf}}),
        ),
    );
    assert_eq!(st, 400, "{v}");
    assert!(v.to_string().contains("could not fetch"), "{v}");
    let app_a = submit_app(
        &s,
        &a,
        &ta,
        json!({"application": "s3://code/jobs/reader.py", "arguments": args, "conf": s3_conf}),
    );
    s.wait_state(&a, &ta, &app_a, &["submitted", "running"], 120);
    let app_b = submit_app(
        &s,
        &b,
        &tb,
        json!({"application": "reader.py", "arguments": args}),
    );
    let v = s.wait_state(&b, &tb, &app_b, serve::FINAL, 120);
    assert_eq!(v["state"], "finished", "{v}");
    // Without the sandbox the same read succeeds (the test can fail): same user, same files.
    assert_eq!(std::fs::read_to_string(&a_file).unwrap(), marker);
    let (_, v) = s.call(
        "GET",
        &format!("/v3/analytics_engines/{a}/spark_applications/{app_a}/state"),
        &ta,
        None,
    );
    assert!(
        !serve::FINAL.contains(&v["state"].as_str().unwrap_or("")),
        "A's app ended before B's read: {v}"
    );
    std::fs::write(&gate, "go").unwrap();
    for (inst, t, id) in [(&a, &ta, &app_a), (&b, &tb, &app_b)] {
        let v = s.wait_state(inst, t, id, serve::FINAL, 120);
        assert_eq!(
            v["state"],
            "finished",
            "{v}: {}",
            driver_log(&s, inst, t, id)
        );
    }
    let log_a = driver_log(&s, &a, &ta, &app_a);
    let log_b = driver_log(&s, &b, &tb, &app_b);
    assert!(log_a.contains(&format!("FILE={marker}")), "{log_a}");
    assert!(log_a.contains(&format!("INSTANCES={a}\n")), "{log_a}");
    assert!(log_b.contains("FILE=BLOCKED"), "{log_b}");
    assert!(!log_b.contains(&marker), "{log_b}");
    assert!(log_b.contains(&format!("INSTANCES={b}\n")), "{log_b}");
    // A's working copy is wiped once it has no live app: the plaintext is gone.
    let deadline = Instant::now() + Duration::from_secs(20);
    while a_file.exists() {
        assert!(
            Instant::now() < deadline,
            "A's working copy outlived its app"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

const SHORT_APP: &str = r#"
from pyspark.sql import SparkSession
spark = SparkSession.builder.getOrCreate()
print("rows", spark.range(0, 1000, numPartitions=2).selectExpr("id % 3 AS k").groupBy("k").count().count())
spark.stop()
"#;

/// An instance whose `default_config` says `sparkplane.backend=standalone` runs on its own
/// Master + Worker started by sparkplane: an app finishes on it; a long one stopped with DELETE
/// ends `stopped` with its driver and executors gone; deleting the instance stops the cluster.
#[test]
fn standalone_backend_through_the_api() {
    let Some(home) = spark_or_skip() else { return };
    let t0 = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let s = Server::start(&data, &home);
    let admin = s.admin_token(&s.data);
    let (inst, w) = tenant(
        &s,
        &admin,
        json!({"name": "sa", "default_config": {"sparkplane.backend": "standalone",
            "sparkplane.standalone.worker_cores": "2", "spark.cores.max": "1"}}),
        "Writer",
    );
    let marker = format!("sa_sleepy_{}", std::process::id());
    assert_eq!(s.put_file(&inst, "short.py", &w, SHORT_APP).0, 201);
    assert_eq!(
        s.put_file(&inst, &format!("{marker}.py"), &w, LONG_APP).0,
        201
    );
    let short = submit_app(
        &s,
        &inst,
        &w,
        json!({"application": "short.py", "conf": QUICK_JVM.clone()}),
    );
    let long = submit_app(
        &s,
        &inst,
        &w,
        json!({"application": format!("{marker}.py"), "conf": QUICK_JVM.clone()}),
    );
    let v = s.wait_state(&inst, &w, &short, serve::FINAL, 240);
    assert_eq!(
        v["state"],
        "finished",
        "{v}: {}",
        driver_log(&s, &inst, &w, &short)
    );
    let (_, d) = s.call(
        "GET",
        &format!("/v3/analytics_engines/{inst}/spark_applications/{short}"),
        &w,
        None,
    );
    let master = d["effective_conf"]["spark.master"].as_str().unwrap_or("");
    assert!(master.starts_with("spark://127.0.0.1:"), "{d}");
    // Once the run is over, the Worker's dir for it (the executors' copies of the app's files,
    // their stdout/stderr) is removed: nothing of it stays in plaintext.
    let spark_id = d["spark_application_id"]
        .as_str()
        .expect("spark id")
        .to_owned();
    let work = data
        .join("runner/instances")
        .join(&inst)
        .join("standalone/work")
        .join(&spark_id);
    let until = Instant::now() + Duration::from_secs(60);
    while work.exists() && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(250));
    }
    assert!(!work.exists(), "{} still exists", work.display());
    assert!(
        !d["effective_conf"]
            .as_object()
            .unwrap()
            .keys()
            .any(|k| k.starts_with("sparkplane.")),
        "{d}"
    );
    s.wait_state(&inst, &w, &long, &["running"], 180);
    let spark_id = s
        .call(
            "GET",
            &format!("/v3/analytics_engines/{inst}/spark_applications/{long}"),
            &w,
            None,
        )
        .1["spark_application_id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Its executor runs under the instance's Worker.
    let deadline = Instant::now() + Duration::from_secs(60);
    while pgrep(&format!("CoarseGrainedExecutorBackend.*{spark_id}")).is_empty() {
        assert!(Instant::now() < deadline, "no executor of {spark_id}");
        std::thread::sleep(Duration::from_millis(300));
    }
    let (st, v) = s.call(
        "DELETE",
        &format!("/v3/analytics_engines/{inst}/spark_applications/{long}"),
        &w,
        None,
    );
    assert_eq!(st, 204, "{v}");
    s.wait_state(&inst, &w, &long, &["stopped"], 60);
    let deadline = Instant::now() + Duration::from_secs(20);
    let leftovers = || {
        format!(
            "{}{}",
            pgrep(&marker),
            pgrep(&format!("CoarseGrainedExecutorBackend.*{spark_id}"))
        )
    };
    while !leftovers().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(leftovers(), "", "processes of the stopped app remain");
    // The instance's Master and Worker run until the instance is deleted.
    let inst_dir = data.join("runner/instances").join(&inst);
    let daemons = || pgrep(&format!("deploy\\..*{}", inst_dir.display()));
    assert!(daemons().contains("deploy.master.Master"), "{}", daemons());
    let (st, v) = s.call(
        "DELETE",
        &format!("/v3/analytics_engines/{inst}"),
        &admin,
        None,
    );
    assert!(st == 204 || st == 200, "{st} {v}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !daemons().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(daemons(), "", "the instance's cluster outlived it");
    eprintln!(
        "standalone through the API: {:.1} s",
        t0.elapsed().as_secs_f64()
    );
}

const TINY_OK: &str = r#"
from pyspark.sql import SparkSession
spark = SparkSession.builder.getOrCreate()
spark.range(0, 100, numPartitions=1).count()
spark.stop()
"#;

const TINY_FAIL: &str = r#"
from pyspark.sql import SparkSession
spark = SparkSession.builder.getOrCreate()
spark.range(0, 100, numPartitions=1).count()
raise RuntimeError("planted export-test failure")
"#;

/// C1-only JIT and the serial GC: about 40% less CPU for tiny apps' JVMs.
const QUICK_JVM_OPTS: &str = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC";

/// Conf that makes tiny test apps cheaper on a small machine: no UI, quick JVMs.
static QUICK_JVM: std::sync::LazyLock<Value> = std::sync::LazyLock::new(|| {
    json!({"spark.ui.enabled": "false",
           "spark.driver.extraJavaOptions": QUICK_JVM_OPTS,
           "spark.executor.extraJavaOptions": QUICK_JVM_OPTS})
});

/// Export fault injection: with the object store unreachable, 10 apps (7 finishing, 3
/// failing; quota 2, so some wait) still end in their true states and their exports are
/// queued in the durable outbox; the server is killed (-9) and, once the store is back,
/// restarted: every summary arrives exactly once (objects in the bucket, rows in the DB).
#[test]
fn export_outbox_survives_an_unreachable_store() {
    let Some(home) = spark_or_skip() else { return };
    let Some(moto) = export_support::Moto::start() else {
        return;
    };
    moto.create_bucket("perf");
    let t0 = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // The store's endpoint: a proxy to moto while the files are uploaded and the apps
    // submitted (uploads are kept sealed in the store, and decrypted into the instance's
    // working copy at each submission), then a closed port, then a proxy to moto again.
    let store_port = free_port();
    let endpoint = format!("http://127.0.0.1:{store_port}");
    let up = export_support::FaultProxy::start_on(moto.port, "pass", Some(store_port));
    let summaries = || -> Vec<String> {
        moto.keys("perf")
            .into_iter()
            .filter(|k| k.contains("/summaries/"))
            .collect()
    };
    let s = Server::start_with(
        &data,
        &home,
        &["--object-store", "s3://perf/sp", "--s3-endpoint", &endpoint],
        &[
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
            ("AWS_REGION", "us-east-1"),
            ("SPARKPLANE_EXPORT_RETRY_MAX_MS", "2000"),
            ("SPARKPLANE_EXPORT_TIMEOUT_MS", "3000"),
        ],
    );
    let admin = s.admin_token(&s.data);
    let (inst, m) = tenant(&s, &admin, json!({"name": "outbox"}), "Manager");
    let (st, v) = s.call(
        "PUT",
        &format!("/v3/analytics_engines/{inst}/resource_consumption_limits"),
        &m,
        Some(json!({"max_cores": 4, "max_memory": "8G", "max_concurrent_applications": 2})),
    );
    assert_eq!(st, 200, "{v}");
    assert_eq!(s.put_file(&inst, "ok.py", &m, TINY_OK).0, 201);
    assert_eq!(s.put_file(&inst, "fail.py", &m, TINY_FAIL).0, 201);
    let apps: Vec<(String, &str)> = (0..10)
        .map(|i| {
            let (file, want) = if i % 3 == 2 {
                ("fail.py", "failed")
            } else {
                ("ok.py", "finished")
            };
            (
                submit_app(
                    &s,
                    &inst,
                    &m,
                    json!({"application": file, "conf": QUICK_JVM.clone()}),
                ),
                want,
            )
        })
        .collect();
    drop(up);
    let (_, waiting) = s.call(
        "GET",
        &format!("/v3/analytics_engines/{inst}/spark_applications?state=waiting"),
        &m,
        None,
    );
    assert!(
        !waiting["applications"].as_array().unwrap().is_empty(),
        "quota 2: some of 10 apps must wait: {waiting}"
    );
    for (id, want) in &apps {
        let v = s.wait_state(&inst, &m, id, serve::FINAL, 600);
        assert_eq!(v["state"], *want, "{v}: {}", driver_log(&s, &inst, &m, id));
    }
    // Every export was tried, failed and queued; the bucket is empty.
    for (id, _) in &apps {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let log = driver_log(&s, &inst, &m, id);
            if log.contains("queued for retry") {
                assert!(!log.contains("exported in"), "{log}");
                break;
            }
            assert!(Instant::now() < deadline, "{id}: export not tried: {log}");
            std::thread::sleep(Duration::from_millis(500));
        }
    }
    assert!(summaries().is_empty());
    let (st, _) = s.call(
        "GET",
        &format!(
            "/v3/analytics_engines/{inst}/spark_applications/{}/performance",
            apps[0].0
        ),
        &m,
        None,
    );
    assert_eq!(st, 200, "the summary is readable before it is exported");
    let down_for = t0.elapsed();

    // The server is killed with the exports still queued; the store comes back; the restarted
    // server resumes its outbox: every summary arrives, once.
    s.kill9();
    let proxy = export_support::FaultProxy::start_on(moto.port, "pass", Some(store_port));
    assert_eq!(proxy.port, store_port);
    s.restart();
    let deadline = Instant::now() + Duration::from_secs(60);
    while summaries().len() < apps.len() {
        assert!(
            Instant::now() < deadline,
            "summaries missing: {:?}",
            summaries()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    std::thread::sleep(Duration::from_secs(3));
    // Exactly once: one object per app in the bucket, one runner summary row per app.
    let keys = summaries();
    assert_eq!(keys.len(), apps.len(), "{keys:?}");
    let prefix = format!("sp/instances/{inst}/summaries/");
    assert!(keys.iter().all(|k| k.starts_with(&prefix)), "{keys:?}");
    let (st, rows) = s.call(
        "GET",
        &format!("/v3/analytics_engines/{inst}/performance_summaries?origin=runner&limit=100"),
        &m,
        None,
    );
    assert_eq!(st, 200, "{rows}");
    let rows = rows["performance_summaries"].as_array().unwrap().clone();
    assert_eq!(rows.len(), apps.len(), "{rows:?}");
    for (id, want_state) in &apps {
        let log = driver_log(&s, &inst, &m, id);
        assert_eq!(
            log.matches("performance summary exported in").count(),
            1,
            "{log}"
        );
        assert_eq!(
            rows.iter()
                .filter(|r| r["application_id"].as_str() == Some(id.as_str()))
                .count(),
            1,
            "{id}: {rows:?}"
        );
        let (st, summary) = s.call(
            "GET",
            &format!("/v3/analytics_engines/{inst}/spark_applications/{id}/performance"),
            &m,
            None,
        );
        assert_eq!(st, 200, "{summary}");
        let (_, d) = s.call(
            "GET",
            &format!("/v3/analytics_engines/{inst}/spark_applications/{id}"),
            &m,
            None,
        );
        assert_eq!(summary["app"]["id"], d["spark_application_id"], "{id}");
        // The app's state never changed because of the export.
        assert_eq!(
            s.wait_state(&inst, &m, id, &[want_state], 1)["state"],
            *want_state
        );
    }
    eprintln!(
        "export outbox: 10 apps ended with the store down in {:.1} s; all exported {:.1} s later",
        down_for.as_secs_f64(),
        t0.elapsed().as_secs_f64() - down_for.as_secs_f64()
    );
}
