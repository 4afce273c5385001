//! End to end, with the real binaries (issue 8): `sparkplane export --to s3://…` into a bucket
//! (moto_server) that a source of a real `sparkplane serve` polls, and `sparkplane export
//! --server URL --instance ID` with an Exporter service key against the same server. Each run
//! appears once in `performance_summaries`, however often it is exported; the Exporter key
//! reads nothing and writes into no other instance.
#![allow(clippy::unwrap_used)]
#![cfg(feature = "server")]

mod export_support;

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use export_support::*;
use serde_json::{json, Value};

const GRANT: &str = "urn:ibm:params:oauth:grant-type:apikey";

struct Server {
    child: Child,
    port: u16,
    data: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn start(data: &Path) -> Server {
        let port = free_port();
        let mut child = Command::new(env!("CARGO_BIN_EXE_sparkplane"))
            .arg("serve")
            .arg("--data-dir")
            .arg(data)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(["--source-poll-seconds", "1"])
            .env_remove("SPARKPLANE_DATABASE_URL")
            .env_remove("SPARKPLANE_CONFIG")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || for _ in std::io::BufReader::new(stdout).lines() {});
        let s = Server {
            child,
            port,
            data: data.to_path_buf(),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if s.data.join("tls-cert.pem").exists() {
                if let Ok(r) = s.client().get(s.url("/healthz")).send() {
                    if r.status() == 200 {
                        return s;
                    }
                }
            }
            assert!(Instant::now() < deadline, "server did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn cert(&self) -> PathBuf {
        self.data.join("tls-cert.pem")
    }

    fn client(&self) -> reqwest::blocking::Client {
        let pem = std::fs::read(self.cert()).unwrap();
        reqwest::blocking::Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap()
    }

    fn base(&self) -> String {
        format!("https://localhost:{}", self.port)
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base())
    }

    fn token(&self, apikey: &str) -> String {
        let r = self
            .client()
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
        let mut req = self
            .client()
            .request(method.parse().unwrap(), self.url(path))
            .bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().unwrap();
        let status = r.status().as_u16();
        let text = r.text().unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    fn ok(&self, method: &str, path: &str, token: &str, body: Option<Value>) -> Value {
        let (s, v) = self.call(method, path, token, body);
        assert!((200..300).contains(&s), "{method} {path}: {s} {v}");
        v
    }
}

fn export(args: &[&str]) -> std::process::Output {
    let mut cmd = sparkplane();
    cmd.args([
        "export",
        "--event-log",
        pii_log().to_str().unwrap(),
        "--strict",
    ])
    .args(args);
    cmd.output().unwrap()
}

#[test]
fn exported_runs_appear_once_by_bucket_and_by_server() {
    let Some(moto) = Moto::start() else { return };
    moto.create_bucket("perf");
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    let admin_key = std::fs::read_to_string(dir.path().join("data/admin-apikey")).unwrap();
    let admin = server.token(admin_key.trim());

    let inst = server.ok(
        "POST",
        "/v3/analytics_engines",
        &admin,
        Some(json!({"name": "prod"})),
    )["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let other = server.ok(
        "POST",
        "/v3/analytics_engines",
        &admin,
        Some(json!({"name": "other"})),
    )["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let sid = server.ok(
        "POST",
        "/v1/service_ids",
        &admin,
        Some(json!({"name": "exporter"})),
    )["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let exporter_key = server.ok(
        "POST",
        &format!("/v1/service_ids/{sid}/api_keys"),
        &admin,
        None,
    )["apikey"]
        .as_str()
        .unwrap()
        .to_owned();
    let usr = server.ok(
        "POST",
        "/v1/users",
        &admin,
        Some(json!({"name": "manager"})),
    )["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let user_key = server.ok("POST", &format!("/v1/users/{usr}/api_keys"), &admin, None)["apikey"]
        .as_str()
        .unwrap()
        .to_owned();
    for (who, role) in [(&sid, "Exporter"), (&usr, "Manager")] {
        server.ok(
            "PUT",
            &format!("/v3/analytics_engines/{inst}/access_policies/{who}"),
            &admin,
            Some(json!({"role": role})),
        );
    }
    let mgr = server.token(&user_key);
    let list = |origin: &str| {
        server.ok(
            "GET",
            &format!("/v3/analytics_engines/{inst}/performance_summaries?origin={origin}"),
            &mgr,
            None,
        )
    };

    // 1. Bucket mode: export twice, a source polls the bucket.
    server.ok(
        "PUT",
        &format!("/v3/analytics_engines/{inst}/sources/exports"),
        &mgr,
        Some(
            json!({"url": "s3://perf/spark/prod", "endpoint": moto.endpoint(),
                    "credentials": {"access_key_id": "test", "secret_access_key": "test"}}),
        ),
    );
    let wait_poll_after = |t: Instant| {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let v = server.ok(
                "GET",
                &format!("/v3/analytics_engines/{inst}/sources/exports"),
                &mgr,
                None,
            );
            // A poll that started after `t` has finished (1 s interval).
            if t.elapsed() > Duration::from_secs(3) && v["progress"]["polling"] == false {
                return v;
            }
            assert!(Instant::now() < deadline, "{v}");
            std::thread::sleep(Duration::from_millis(200));
        }
    };
    for run in 0..2 {
        let out = export(&[
            "--to",
            "s3://perf/spark/prod/",
            "--s3-endpoint",
            &moto.endpoint(),
        ]);
        assert!(out.status.success(), "run {run}: {}", text(&out.stderr));
        let v = wait_poll_after(Instant::now());
        assert_eq!(v["errors"], 0, "{v}");
        let l = list("source:exports");
        assert_eq!(l["total_count"], 1, "run {run}: {l}");
        assert_eq!(
            l["performance_summaries"][0]["app_id"],
            "local-1795597602833"
        );
    }

    // 2. Server mode with the Exporter key: twice, one summary.
    let url = server.base();
    let cert = server.cert();
    let server_export = |instance: &str| {
        let mut cmd = sparkplane();
        cmd.args([
            "export",
            "--event-log",
            pii_log().to_str().unwrap(),
            "--strict",
        ])
        .args(["--server", &url, "--instance", instance, "--timeout", "10"])
        .arg("--cacert")
        .arg(&cert)
        .env("SPARKPLANE_APIKEY", &exporter_key);
        cmd.output().unwrap()
    };
    for run in 0..2 {
        let out = server_export(&inst);
        assert!(out.status.success(), "run {run}: {}", text(&out.stderr));
        assert!(text(&out.stdout).contains("performance summary exported in "));
        let l = list(&format!("exporter:{sid}"));
        assert_eq!(l["total_count"], 1, "run {run}: {l}");
    }
    let l = list(&format!("exporter:{sid}"));
    let id = l["performance_summaries"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let v = server.ok(
        "GET",
        &format!("/v3/analytics_engines/{inst}/performance_summaries/{id}"),
        &mgr,
        None,
    );
    let raw = v.to_string();
    for pii in planted() {
        assert!(!raw.contains(&pii), "planted PII {pii:?} stored");
    }

    // 3. The Exporter key reads nothing and writes into no other instance.
    let exp = server.token(&exporter_key);
    for path in [
        format!("/v3/analytics_engines/{inst}/performance_summaries"),
        format!("/v3/analytics_engines/{inst}/performance_summaries/{id}"),
        format!("/v3/analytics_engines/{inst}"),
        format!("/v3/analytics_engines/{inst}/sources/exports"),
    ] {
        let (s, _) = server.call("GET", &path, &exp, None);
        assert_eq!(s, 403, "{path}");
    }
    let out = server_export(&other);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("HTTP 404"),
        "{}",
        text(&out.stderr)
    );
}
