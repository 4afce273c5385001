//! Web portal acceptance: the real `sparkplane serve` (TLS, self-signed), a real OIDC provider
//! (npm `oidc-provider` under node, loopback http), and real Chromium driven by
//! `tests/browser/portal.mjs` (npm `playwright-core`). Seeds two instances with summaries of
//! testdata event logs through `POST …/performance_summaries`, then runs the browser checks:
//! login through the provider, run list, app page with charts, 404 across instances, CSRF,
//! logout, unlisted and unverified users. Screenshots go to `docs/screenshots/`.
//!
//! Needs node, /usr/bin/chromium and `tests/browser/node_modules` (scripts/setup-deps.sh);
//! without them it skips, unless SPARKPLANE_REQUIRE_ALL=1 (then it fails).
#![allow(clippy::unwrap_used)]
#![cfg(feature = "server")]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

mod export_support;

use export_support::serve::{self, Api};
use export_support::{free_port, root, Proc};

const CLIENT_ID: &str = "sparkplane-portal";
const CLIENT_SECRET: &str = "portal-test-client-secret-0123456789";

fn missing_tools() -> Option<String> {
    let browser = root().join("tests/browser/node_modules");
    let chromium =
        std::env::var("SPARKPLANE_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if Command::new("node").arg("--version").output().is_err() {
        return Some("node not found".into());
    }
    if !Path::new(&chromium).exists() {
        return Some(format!("{chromium} not found"));
    }
    for m in ["playwright-core", "oidc-provider"] {
        if !browser.join(m).exists() {
            return Some(format!(
                "tests/browser/node_modules/{m} missing (run scripts/setup-deps.sh)"
            ));
        }
    }
    None
}

fn analyze(log: &Path) -> Vec<u8> {
    let out = Command::new(env!("CARGO_BIN_EXE_sparkplane"))
        .arg("analyze")
        .arg(log)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "analyze {}: {}",
        log.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// The event log of a testdata workload directory (its one file or rolling directory).
fn log_of(workload: &str) -> PathBuf {
    let dir = root().join("testdata/eventlogs/spark43").join(workload);
    let mut entries: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy().to_string();
            !n.starts_with('.') && !n.ends_with(".json") && !n.ends_with(".md")
        })
        .collect();
    entries.sort();
    entries.into_iter().next().unwrap()
}

#[test]
fn portal_in_chromium_with_a_real_oidc_provider() {
    if let Some(why) = missing_tools() {
        if std::env::var("SPARKPLANE_REQUIRE_ALL").as_deref() == Ok("1") {
            panic!("{why} and SPARKPLANE_REQUIRE_ALL=1");
        }
        eprintln!("SKIP: {why}");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let sport = free_port();
    let oport = free_port();
    let issuer = format!("http://127.0.0.1:{oport}");
    let redirect = format!("https://127.0.0.1:{sport}/ui/auth/callback");

    // The OIDC provider.
    let mut provider = Command::new("node")
        .arg(root().join("tests/browser/oidc-provider.mjs"))
        .args([&oport.to_string(), CLIENT_ID, CLIENT_SECRET, &redirect])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let out = provider.stdout.take().unwrap();
    let provider = Proc(provider);
    let mut reader = BufReader::new(out);
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    assert!(line.starts_with("ready "), "oidc-provider: {line}");
    // Keep draining its stdout (a closed pipe would kill it).
    std::thread::spawn(move || for _ in reader.lines() {});

    // The server, with the client secret in the environment (never on argv).
    let server = Proc(serve::spawn(
        serve::serve_command(&data)
            .args(["--listen", &format!("127.0.0.1:{sport}")])
            .env("SPARKPLANE_OIDC_ISSUER", &issuer)
            .env("SPARKPLANE_OIDC_CLIENT_ID", CLIENT_ID)
            .env("SPARKPLANE_OIDC_CLIENT_SECRET", CLIENT_SECRET)
            .env("SPARKPLANE_OIDC_INSECURE_LOOPBACK", "true"),
    ));
    let base = format!("https://127.0.0.1:{sport}");
    // No redirects followed: the portal's 303s are checked as such.
    let api = serve::wait_ready(60, || {
        Some(Api {
            client: reqwest::blocking::Client::builder()
                .add_root_certificate(serve::tls_cert(&data)?)
                .danger_accept_invalid_hostnames(true)
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            base: base.clone(),
        })
    });
    let admin = api.admin_token(&data);

    // The client secret is kept encrypted in the object store, never in plain text.
    let secret_obj = data.join("objects/platform/oidc/client_secret");
    let stored = std::fs::read(&secret_obj).unwrap();
    assert!(
        !stored
            .windows(CLIENT_SECRET.len())
            .any(|w| w == CLIENT_SECRET.as_bytes()),
        "client secret stored in plain text"
    );

    // Principals, instances, policies.
    let user = |name: &str, email: &str| {
        let (s, v) = api.call(
            "POST",
            "/v1/users",
            &admin,
            Some(json!({"name": name, "email": email})),
        );
        assert_eq!(s, 201, "{v}");
        v["id"].as_str().unwrap().to_owned()
    };
    let alice = user("alice", "alice@example.com");
    let carol = user("carol", "carol@example.com");
    let dave = user("dave", "dave@example.com");
    let instance = |name: &str| {
        let (s, v) = api.call(
            "POST",
            "/v3/analytics_engines",
            &admin,
            Some(json!({"name": name})),
        );
        assert_eq!(s, 201, "{v}");
        v["id"].as_str().unwrap().to_owned()
    };
    let a = instance("analytics-prod");
    let b = instance("finance-etl");
    let grant = |inst: &str, p: &str, role: &str| {
        let (s, v) = api.call(
            "PUT",
            &format!("/v3/analytics_engines/{inst}/access_policies/{p}"),
            &admin,
            Some(json!({"role": role})),
        );
        assert!(s == 200 || s == 201, "{s} {v}");
    };
    grant(&a, &alice, "Manager");
    grant(&a, &carol, "Reader");
    grant(&b, &dave, "Reader");
    // erin's provider e-mail is not verified: she gets in through her bound OIDC identity.
    let (s, v) = api.call("POST", "/v1/users", &admin, Some(json!({"name": "erin"})));
    assert_eq!(s, 201, "{v}");
    let erin = v["id"].as_str().unwrap().to_owned();
    grant(&b, &erin, "Reader");
    let bind = json!({"issuer": issuer, "subject": "erin"});
    let ids = format!("/v1/users/{erin}/oidc_identities");
    let (s, v) = api.call("POST", &ids, &admin, Some(bind.clone()));
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["oidc_identities"][0]["subject"], "erin", "{v}");
    let (s, v) = api.call("POST", &ids, &admin, Some(bind.clone()));
    assert_eq!(s, 200, "binding again is a no-op: {v}");
    let (s, v) = api.call(
        "POST",
        &format!("/v1/users/{dave}/oidc_identities"),
        &admin,
        Some(bind.clone()),
    );
    assert_eq!(s, 409, "one identity, one user: {v}");
    let (s, v) = api.call("GET", &ids, &admin, None);
    assert_eq!(
        (s, v["oidc_identities"].as_array().map(Vec::len)),
        (200, Some(1)),
        "{v}"
    );
    let (s, v) = api.call(
        "POST",
        "/v1/users/usr-nobody/oidc_identities",
        &admin,
        Some(bind.clone()),
    );
    assert_eq!(s, 404, "{v}");
    // An exporter service ID writes the summaries.
    let (s, v) = api.call(
        "POST",
        "/v1/service_ids",
        &admin,
        Some(json!({"name": "exporter"})),
    );
    assert_eq!(s, 201, "{v}");
    let sid = v["id"].as_str().unwrap().to_owned();
    grant(&a, &sid, "Exporter");
    grant(&b, &sid, "Exporter");
    let (s, v) = api.call(
        "POST",
        &format!("/v1/service_ids/{sid}/api_keys"),
        &admin,
        Some(json!({"name": "ci"})),
    );
    assert_eq!(s, 201, "{v}");
    let exporter = api.token(v["apikey"].as_str().unwrap());
    let (s, v) = api.call(
        "POST",
        &format!("/v1/users/{erin}/oidc_identities"),
        &exporter,
        Some(json!({"issuer": issuer, "subject": "someone"})),
    );
    assert_eq!(s, 403, "only Administrators bind identities: {v}");
    let ingest = |inst: &str, workload: &str| -> String {
        let body: Value = serde_json::from_slice(&analyze(&log_of(workload))).unwrap();
        let (s, v) = api.call(
            "POST",
            &format!("/v3/analytics_engines/{inst}/performance_summaries"),
            &exporter,
            Some(body),
        );
        assert!(s == 200 || s == 201, "{workload}: {s} {v}");
        v["id"].as_str().unwrap().to_owned()
    };
    for w in [
        "spill",
        "gc_pressure",
        "task_failures",
        "small_files",
        "nested_loop_join",
        "driver_idle",
        "large_broadcast",
        "job_failure",
    ] {
        ingest(&a, w);
    }
    let app_b = ingest(&b, "clean_small");

    // Local password login of the Administrator (set with `sparkplane admin set-password`
    // is tested in the server crate); here: anonymous pages redirect to login.
    let r = api.client.get(format!("{base}/ui/")).send().unwrap();
    assert_eq!(r.status(), 303);

    let shots = root().join("docs/screenshots");
    let status = Command::new("node")
        .arg(root().join("tests/browser/portal.mjs"))
        .env("BASE", &base)
        .env("ISSUER", &issuer)
        .env("INSTANCE_A", &a)
        .env("INSTANCE_B", &b)
        .env("APP_B", &app_b)
        .env("SHOTS", &shots)
        .status()
        .unwrap();
    drop(server);
    drop(provider);
    assert!(status.success(), "tests/browser/portal.mjs failed");
}
