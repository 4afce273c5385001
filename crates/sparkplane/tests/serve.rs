//! Process-level tests of `sparkplane serve` (the real binary): TLS versions with openssl,
//! SIGKILL in the middle of a burst of writes, restart, settings precedence.
#![allow(clippy::unwrap_used)]
#![cfg(feature = "server")]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

mod export_support;

use export_support::free_port;
use export_support::serve::{self, Api};

/// `sparkplane serve` over TLS (the certificate checked for `localhost`); the calls go
/// through its [`Api`].
struct Server {
    child: Child,
    port: u16,
    data: PathBuf,
    api: Api,
}

impl std::ops::Deref for Server {
    type Target = Api;
    fn deref(&self) -> &Api {
        &self.api
    }
}

impl Server {
    fn start(data: &Path, extra: &[&str], envs: &[(&str, &str)]) -> Server {
        let port = free_port();
        Self::start_on(data, port, extra, envs)
    }

    fn start_on(data: &Path, port: u16, extra: &[&str], envs: &[(&str, &str)]) -> Server {
        let mut cmd = serve::serve_command(data);
        if !extra.contains(&"--config") {
            cmd.arg("--listen").arg(format!("127.0.0.1:{port}"));
        }
        let child = serve::spawn(cmd.args(extra).envs(envs.iter().copied()));
        let api = serve::wait_ready(30, || {
            Api::tls(data, "localhost", port, Duration::from_secs(10))
        });
        Server {
            child,
            port,
            data: data.to_path_buf(),
            api,
        }
    }

    fn admin_token(&self) -> String {
        self.api.admin_token(&self.data)
    }

    fn kill9(mut self) {
        self.child.kill().unwrap(); // SIGKILL
        self.child.wait().unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn get_all_users(s: &Server, token: &str) -> Vec<String> {
    let v: Value = s
        .client
        .get(s.url("/v1/users"))
        .bearer_auth(token)
        .send()
        .unwrap()
        .json()
        .unwrap();
    v["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_owned())
        .collect()
}

fn all_audit(s: &Server, token: &str, query: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut start: Option<String> = None;
    loop {
        let mut url = s.url(&format!("/v1/audit_events?limit=200&{query}"));
        if let Some(st) = &start {
            url.push_str(&format!("&start={st}"));
        }
        let v: Value = s
            .client
            .get(url)
            .bearer_auth(token)
            .send()
            .unwrap()
            .json()
            .unwrap();
        out.extend(v["audit_events"].as_array().unwrap().iter().cloned());
        match v["next_start"].as_str() {
            Some(n) => start = Some(n.to_owned()),
            None => return out,
        }
    }
}

/// SIGKILL in the middle of a burst of writes: every acknowledged write is there after a
/// restart, each with its audit event; the bootstrap key still works.
#[test]
fn sigkill_during_write_burst_loses_no_acknowledged_write() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let s = Server::start(&data, &[], &[]);
    let token = s.admin_token();
    let inst: Value = s
        .client
        .post(s.url("/v3/analytics_engines"))
        .bearer_auth(&token)
        .json(&json!({"name": "burst"}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let inst = inst["id"].as_str().unwrap().to_owned();
    // The Administrator holds no role by default: grant itself Manager to write the config.
    let admin_id = get_all_users(&s, &token)[0].clone();
    let r = s
        .client
        .put(s.url(&format!(
            "/v3/analytics_engines/{inst}/access_policies/{admin_id}"
        )))
        .bearer_auth(&token)
        .json(&json!({"role": "Manager"}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let acked_users = Arc::new(Mutex::new(Vec::<String>::new()));
    let acked_keys = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut workers = Vec::new();
    for w in 0..4 {
        let client = s.client.clone();
        let base = s.url("");
        let token = token.clone();
        let inst = inst.clone();
        let users = acked_users.clone();
        let keys = acked_keys.clone();
        workers.push(std::thread::spawn(move || {
            for i in 0.. {
                let r = if w % 2 == 0 {
                    client
                        .post(format!("{base}/v1/users"))
                        .bearer_auth(&token)
                        .json(&json!({"name": format!("u{w}-{i}")}))
                        .send()
                } else {
                    let key = format!("spark.burst.w{w}.k{i}");
                    let r = client
                        .patch(format!(
                            "{base}/v3/analytics_engines/{inst}/default_configs"
                        ))
                        .bearer_auth(&token)
                        .json(&json!({ key.clone(): "v" }))
                        .send();
                    if matches!(&r, Ok(resp) if resp.status() == 200) {
                        keys.lock().unwrap().push(key);
                    }
                    r
                };
                match r {
                    Ok(resp) if resp.status() == 201 => {
                        let v: Value = resp.json().unwrap();
                        users
                            .lock()
                            .unwrap()
                            .push(v["id"].as_str().unwrap().to_owned());
                    }
                    Ok(resp) if resp.status() == 200 => {}
                    _ => return,
                }
            }
        }));
    }
    std::thread::sleep(Duration::from_millis(1500));
    s.kill9();
    for w in workers {
        w.join().unwrap();
    }
    let users = acked_users.lock().unwrap().clone();
    let keys = acked_keys.lock().unwrap().clone();
    assert!(
        users.len() > 10 && keys.len() > 10,
        "burst too small: {} users, {} keys",
        users.len(),
        keys.len()
    );

    let s = Server::start(&data, &[], &[]);
    let token = s.admin_token();
    let present = get_all_users(&s, &token);
    let audit = all_audit(&s, &token, "action=iam.principal.create");
    for u in &users {
        assert!(present.contains(u), "acknowledged user {u} lost");
        assert!(
            audit
                .iter()
                .any(|e| e["resource"].as_str().unwrap().ends_with(u.as_str())),
            "audit event of {u} lost"
        );
    }
    let cfg: Value = s
        .client
        .get(s.url(&format!("/v3/analytics_engines/{inst}/default_configs")))
        .bearer_auth(&token)
        .send()
        .unwrap()
        .json()
        .unwrap();
    let patches = all_audit(
        &s,
        &token,
        &format!("instance_id={inst}&action=instance.default_configs.update"),
    );
    for k in &keys {
        assert_eq!(cfg[k.as_str()], "v", "acknowledged config key {k} lost");
        let detail = format!("keys={k}");
        assert!(
            patches.iter().any(|e| e["detail"] == detail.as_str()),
            "audit event of patch {k} lost"
        );
    }
    eprintln!(
        "SIGKILL burst: {} users and {} config patches acknowledged, all present with audit",
        users.len(),
        keys.len()
    );
}

fn openssl_connects(port: u16, args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl")
        .args([
            "s_client",
            "-connect",
            &format!("127.0.0.1:{port}"),
            "-servername",
            "localhost",
        ])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("openssl");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let negotiated = text
        .lines()
        .any(|l| l.trim_start().starts_with("Protocol") && l.contains("TLSv1"))
        || text.contains("New, TLSv1");
    (
        out.status.success() && negotiated && !text.contains("Cipher is (NONE)"),
        text,
    )
}

/// TLS 1.0/1.1 refused, 1.2/1.3 accepted, with a positive control proving the client
/// command can speak TLS 1.1.
#[test]
fn tls_versions() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&dir.path().join("data"), &[], &[]);
    let weak = ["-cipher", "DEFAULT:@SECLEVEL=0"];
    let (ok11, text) = openssl_connects(s.port, &["-tls1_1", weak[0], weak[1]]);
    assert!(!ok11, "TLS 1.1 must be refused:\n{text}");
    let (ok10, text) = openssl_connects(s.port, &["-tls1", weak[0], weak[1]]);
    assert!(!ok10, "TLS 1.0 must be refused:\n{text}");
    let (ok12, text) = openssl_connects(s.port, &["-tls1_2"]);
    assert!(
        ok12 && text.contains("TLSv1.2"),
        "TLS 1.2 must connect:\n{text}"
    );
    let (ok13, text) = openssl_connects(s.port, &["-tls1_3"]);
    assert!(
        ok13 && text.contains("TLSv1.3"),
        "TLS 1.3 must connect:\n{text}"
    );

    // Positive control: the same TLS 1.1 client command connects to a server that allows it.
    let cert = dir.path().join("c.pem");
    let key = dir.path().join("k.pem");
    let st = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success());
    let port = free_port();
    let mut control = Command::new("openssl")
        .args([
            "s_server",
            "-accept",
            &port.to_string(),
            "-tls1_1",
            weak[0],
            weak[1],
            "-www",
        ])
        .arg("-cert")
        .arg(&cert)
        .arg("-key")
        .arg(&key)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut result = (false, String::new());
    for _ in 0..50 {
        std::thread::sleep(Duration::from_millis(100));
        result = openssl_connects(port, &["-tls1_1", weak[0], weak[1]]);
        if result.0 {
            break;
        }
    }
    let _ = control.kill();
    let _ = control.wait();
    assert!(
        result.0 && result.1.contains("TLSv1.1"),
        "positive control failed:\n{}",
        result.1
    );
}

/// Settings precedence: flag > env > TOML file; plain HTTP only with --insecure-http.
#[test]
fn settings_precedence_and_insecure_http() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (file_port, env_port) = (free_port(), free_port());
    let cfg = dir.path().join("sparkplane.toml");
    std::fs::write(
        &cfg,
        format!(
            "listen = \"127.0.0.1:{file_port}\"\ndata_dir = \"{}\"\n",
            data.display()
        ),
    )
    .unwrap();
    let cfg_s = cfg.to_str().unwrap();
    // env beats the file
    let s = Server::start_on(
        &data,
        env_port,
        &["--config", cfg_s],
        &[("SPARKPLANE_LISTEN", &format!("127.0.0.1:{env_port}"))],
    );
    drop(s);
    // the file alone
    let s = Server::start_on(&data, file_port, &["--config", cfg_s], &[]);
    drop(s);
    // plain HTTP only when asked
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_sparkplane"))
        .args([
            "serve",
            "--insecure-http",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(&data)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let client = reqwest::blocking::Client::new();
    let mut ok = false;
    for _ in 0..100 {
        std::thread::sleep(Duration::from_millis(100));
        if let Ok(r) = client
            .get(format!("http://127.0.0.1:{port}/healthz"))
            .send()
        {
            ok = r.status() == 200;
            break;
        }
    }
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    assert!(ok, "plain HTTP with --insecure-http");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("insecure-http"),
        "warning logged"
    );
    // The admin key was written once, on the first start, mode 0600.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(data.join("admin-apikey"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
}
