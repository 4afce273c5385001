//! Spark applications through the real `sparkplane serve` binary and real Spark (pip pyspark):
//! upload through `files`, submit, follow `/state`, read details, logs and `/performance`; a
//! failing app ends `failed` with its reason; a long app stopped with DELETE ends `stopped` with
//! no process left. Three Spark runs, started together.
#![allow(clippy::unwrap_used)]
#![cfg(feature = "server")]

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const GRANT: &str = "urn:ibm:params:oauth:grant-type:apikey";

fn root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

fn spark_home() -> Option<PathBuf> {
    sparkplane_runner::find_spark_home(&root())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Server {
    child: std::cell::RefCell<Child>,
    port: u16,
    client: reqwest::blocking::Client,
    data: PathBuf,
    spark_home: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let c = self.child.get_mut();
        let _ = c.kill();
        let _ = c.wait();
    }
}

impl Server {
    fn start(data: &Path, spark_home: &Path) -> Server {
        let port = free_port();
        let s = Server {
            child: std::cell::RefCell::new(Self::spawn(data, spark_home, port)),
            port,
            client: reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            data: data.to_path_buf(),
            spark_home: spark_home.to_path_buf(),
        };
        s.wait_ready();
        s
    }

    /// SIGKILL the server and start it again on the same port and data dir.
    fn kill9_and_restart(&self) {
        let mut c = self.child.borrow_mut();
        c.kill().unwrap();
        c.wait().unwrap();
        *c = Self::spawn(&self.data, &self.spark_home, self.port);
        drop(c);
        self.wait_ready();
    }

    fn spawn(data: &Path, spark_home: &Path, port: u16) -> Child {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_sparkplane"));
        cmd.arg("serve")
            .arg("--data-dir")
            .arg(data)
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--insecure-http")
            .arg("--spark-home")
            .arg(spark_home)
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        for var in [
            "SPARKPLANE_LISTEN",
            "SPARKPLANE_DATA_DIR",
            "SPARKPLANE_DATABASE_URL",
            "SPARKPLANE_CONFIG",
        ] {
            cmd.env_remove(var);
        }
        let mut child = cmd.spawn().expect("spawn sparkplane serve");
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || for _ in std::io::BufReader::new(stdout).lines() {});
        child
    }

    fn wait_ready(&self) {
        let s = self;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(r) = s.client.get(s.url("/healthz")).send() {
                if r.status() == 200 {
                    break;
                }
            }
            assert!(Instant::now() < deadline, "server did not become ready");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn token(&self, apikey: &str) -> String {
        let r = self
            .client
            .post(self.url("/identity/token"))
            .form(&[("grant_type", GRANT), ("apikey", apikey)])
            .send()
            .unwrap();
        assert_eq!(r.status(), 200);
        r.json::<Value>().unwrap()["access_token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    fn call(&self, method: &str, path: &str, token: &str, body: Option<Value>) -> (u16, Value) {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut rb = self.client.request(m, self.url(path)).bearer_auth(token);
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let r = rb.send().unwrap();
        let status = r.status().as_u16();
        let text = r.text().unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
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

const OK_APP: &str = r#"
from pyspark.sql import SparkSession
spark = SparkSession.builder.appName("apps-api-ok").getOrCreate()
df = spark.range(0, 20000, numPartitions=4)
print("rows", df.groupBy((df.id % 7).alias("k")).count().count())
spark.stop()
"#;

const FAIL_APP: &str = r#"
from pyspark.sql import SparkSession
spark = SparkSession.builder.appName("apps-api-fail").getOrCreate()
spark.range(10).count()
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
    let admin_key = std::fs::read_to_string(data.join("admin-apikey")).unwrap();
    let admin = s.token(admin_key.trim());

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
            "conf": {"spark.sql.shuffle.partitions": "2", "spark.my.password": "hunter2"},
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
            "--wait",
            "--",
            "an-arg",
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
    let fail = submit("jobs/fail.py", json!({}));
    let long = submit(&long_name, json!({"arguments": ["forever"]}));

    let state = |id: &str| {
        let (st, v) = s.call("GET", &format!("{apps}/{id}/state"), &w, None);
        assert_eq!(st, 200, "{v}");
        v
    };
    let wait = |id: &str, want: &[&str], secs: u64| {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let v = state(id);
            if want.contains(&v["state"].as_str().unwrap()) {
                return v;
            }
            assert!(
                Instant::now() < deadline,
                "{id}: still {v}, wanted {want:?}"
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    };

    // Stop the long one once it runs, after a kill -9 of the server: the restarted server
    // re-attaches to the running apps (and `submit --wait` rides over the gap).
    wait(&long, &["running"], 180);
    s.kill9_and_restart();
    assert_eq!(state(&long)["state"], "running");
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
    let v = wait(&ok, &["finished", "failed", "stopped"], 10);
    assert_eq!(v["state"], "finished", "{v}");
    assert!(
        v["start_time"].is_string() && v["finish_time"].is_string(),
        "{v}"
    );
    let v = wait(&fail, &["finished", "failed", "stopped"], 240);
    assert_eq!(v["state"], "failed", "{v}");

    // Details: ids, times, redaction.
    let (st, d) = s.call("GET", &format!("{apps}/{ok}"), &w, None);
    assert_eq!(st, 200, "{d}");
    assert_eq!(d["id"], ok);
    assert!(d["spark_application_id"].is_string(), "{d}");
    assert!(d["submission_time"].is_string(), "{d}");
    assert_eq!(d["application_details"]["application"], "ok.py");
    assert_eq!(d["application_details"]["arguments"][0], "an-arg");
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
    let admin_key = std::fs::read_to_string(data.join("admin-apikey")).unwrap();
    let admin = s.token(admin_key.trim());
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
