//! A real `sparkplane serve` for process-level tests: the command line, waiting for
//! `/healthz`, the API key → token exchange, JSON calls, following an app to a final state.

use std::io::BufRead;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

pub const GRANT: &str = "urn:ibm:params:oauth:grant-type:apikey";

/// The states an application does not leave.
pub const FINAL: &[&str] = &["finished", "failed", "stopped"];

/// Settings a developer's environment could hold; tests start from none of them.
const SERVE_ENV: [&str; 9] = [
    "SPARKPLANE_LISTEN",
    "SPARKPLANE_DATA_DIR",
    "SPARKPLANE_DATABASE_URL",
    "SPARKPLANE_CONFIG",
    "SPARKPLANE_OBJECT_STORE",
    "SPARKPLANE_S3_ENDPOINT",
    "SPARKPLANE_MASTER_KEY_FILE",
    "SPARKPLANE_SANDBOX",
    "SPARKPLANE_SPARK_BACKEND",
];

/// `sparkplane serve --data-dir <data>` with none of the `SPARKPLANE_*` settings inherited
/// (set them again with `.env` after this), stdout piped (see [`spawn`]), stderr dropped.
pub fn serve_command(data: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sparkplane"));
    cmd.arg("serve")
        .arg("--data-dir")
        .arg(data)
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for var in SERVE_ENV {
        cmd.env_remove(var);
    }
    cmd
}

/// Spawns `cmd` and keeps draining its stdout (a closed pipe would kill the server).
pub fn spawn(cmd: &mut Command) -> Child {
    let mut child = cmd.spawn().expect("spawn sparkplane serve");
    if let Some(stdout) = child.stdout.take() {
        std::thread::spawn(move || for _ in std::io::BufReader::new(stdout).lines() {});
    }
    child
}

/// The server's self-signed certificate (written at its first start).
pub fn tls_cert(data: &Path) -> Option<reqwest::Certificate> {
    let pem = std::fs::read(data.join("tls-cert.pem")).ok()?;
    Some(reqwest::Certificate::from_pem(&pem).unwrap())
}

/// Calls `connect` until it gives a client whose `/healthz` answers 200, for `secs` at most.
pub fn wait_ready(secs: u64, mut connect: impl FnMut() -> Option<Api>) -> Api {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(api) = connect() {
            if api.healthy() {
                return api;
            }
        }
        assert!(Instant::now() < deadline, "server did not become ready");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A client of one server's REST API.
#[derive(Clone)]
pub struct Api {
    pub client: reqwest::blocking::Client,
    pub base: String,
}

impl Api {
    /// Plain HTTP on 127.0.0.1 (`--insecure-http`).
    pub fn http(port: u16, timeout: Duration) -> Api {
        Api {
            client: reqwest::blocking::Client::builder()
                .timeout(timeout)
                .build()
                .unwrap(),
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    /// HTTPS to `host:port` trusting the server's own certificate (`None` before it exists).
    pub fn tls(data: &Path, host: &str, port: u16, timeout: Duration) -> Option<Api> {
        Some(Api {
            client: reqwest::blocking::Client::builder()
                .add_root_certificate(tls_cert(data)?)
                .timeout(timeout)
                .build()
                .unwrap(),
            base: format!("https://{host}:{port}"),
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn healthy(&self) -> bool {
        self.client
            .get(self.url("/healthz"))
            .send()
            .is_ok_and(|r| r.status() == 200)
    }

    /// `method path` with a bearer token and an optional JSON body: the status and the body
    /// (JSON, or the text as a JSON string).
    pub fn call(&self, method: &str, path: &str, token: &str, body: Option<Value>) -> (u16, Value) {
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

    /// The bearer token for an API key.
    pub fn token(&self, apikey: &str) -> String {
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

    /// The Administrator's token (its key is in `<data>/admin-apikey` after the first start).
    pub fn admin_token(&self, data: &Path) -> String {
        let key = std::fs::read_to_string(data.join("admin-apikey")).unwrap();
        self.token(key.trim())
    }

    /// Polls an application's `/state` until it is one of `want`; returns the last answer.
    pub fn wait_state(&self, inst: &str, token: &str, id: &str, want: &[&str], secs: u64) -> Value {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let (st, v) = self.call(
                "GET",
                &format!("/v3/analytics_engines/{inst}/spark_applications/{id}/state"),
                token,
                None,
            );
            assert_eq!(st, 200, "{v}");
            if want.contains(&v["state"].as_str().unwrap_or("")) {
                return v;
            }
            assert!(
                Instant::now() < deadline,
                "{id}: still {v}, wanted {want:?}"
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    /// A new user with `role` on `instance`: its bearer token.
    pub fn principal_on(&self, admin: &str, instance: &str, name: &str, role: &str) -> String {
        let (s, u) = self.call("POST", "/v1/users", admin, Some(json!({"name": name})));
        assert_eq!(s, 201, "{u}");
        let uid = u["id"].as_str().unwrap();
        let (s, k) = self.call("POST", &format!("/v1/users/{uid}/api_keys"), admin, None);
        assert_eq!(s, 201, "{k}");
        let (s, v) = self.call(
            "PUT",
            &format!("/v3/analytics_engines/{instance}/access_policies/{uid}"),
            admin,
            Some(json!({"role": role})),
        );
        assert_eq!(s, 200, "{v}");
        self.token(k["apikey"].as_str().unwrap())
    }
}
