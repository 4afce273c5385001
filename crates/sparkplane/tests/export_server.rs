//! `sparkplane export --server URL --instance ID`: the client side of the ingestion contract
//! (`POST /identity/token`, then `POST /v3/analytics_engines/{id}/performance_summaries` with a
//! bearer token), against a tiny HTTP server in this test — the real server route is issue 6/8's
//! server part.

#![allow(clippy::unwrap_used)]

mod export_support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use export_support::*;

const KEY: &str = "exp-key-PLANTED-0123456789";
const TOKEN: &str = "bearer-token-42";

#[derive(Debug, Clone)]
struct Request {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A one-thread HTTP/1.1 server that plays the sparkplane side of the contract and records
/// every request. `summary_status` is what the summaries route answers.
fn serve(summary_status: u16) -> (String, Arc<Mutex<Vec<Request>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut writer = stream;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                let mut parts = line.split_whitespace();
                let (method, path) = (
                    parts.next().unwrap_or_default().to_owned(),
                    parts.next().unwrap_or_default().to_owned(),
                );
                let mut headers = Vec::new();
                loop {
                    let mut h = String::new();
                    reader.read_line(&mut h).unwrap();
                    let h = h.trim_end();
                    if h.is_empty() {
                        break;
                    }
                    if let Some((k, v)) = h.split_once(':') {
                        headers.push((k.trim().to_owned(), v.trim().to_owned()));
                    }
                }
                let len = headers
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                    .map_or(0, |(_, v)| v.parse().unwrap());
                let mut body = vec![0; len];
                reader.read_exact(&mut body).unwrap();
                let req = Request {
                    method,
                    path,
                    headers,
                    body,
                };
                let (status, answer) = if req.path == "/identity/token" {
                    let form = String::from_utf8_lossy(&req.body).into_owned();
                    if form.contains("grant_type=urn%3Aibm%3Aparams%3Aoauth%3Agrant-type%3Aapikey")
                        && form.contains(&format!("apikey={KEY}"))
                    {
                        (
                            200,
                            format!(
                                r#"{{"access_token":"{TOKEN}","token_type":"Bearer","expires_in":3600}}"#
                            ),
                        )
                    } else {
                        (400, r#"{"errors":[{"code":"invalid_apikey","message":"bad key"}],"trace":"t1"}"#.to_owned())
                    }
                } else if req.path.ends_with("/performance_summaries")
                    && req.header("authorization") == Some(&format!("Bearer {TOKEN}"))
                {
                    (
                        summary_status,
                        r#"{"errors":[{"code":"forbidden","message":"no"}],"trace":"t2"}"#
                            .to_owned(),
                    )
                } else {
                    (
                        401,
                        r#"{"errors":[{"code":"unauthorized","message":"no token"}],"trace":"t3"}"#
                            .to_owned(),
                    )
                };
                log.lock().unwrap().push(req);
                let _ = write!(
                    writer,
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{answer}",
                    answer.len()
                );
            }
        }
    });
    (url, seen)
}

fn export_to(url: &str, key: Option<&str>, strict: bool) -> std::process::Output {
    let mut cmd = sparkplane();
    cmd.args(["export", "--event-log", pii_log().to_str().unwrap()])
        .args(["--server", url, "--instance", "inst-1", "--timeout", "5"]);
    if let Some(key) = key {
        cmd.env("SPARKPLANE_APIKEY", key);
    }
    if strict {
        cmd.arg("--strict");
    }
    cmd.output().unwrap()
}

#[test]
fn posts_the_summary_with_a_bearer_token() {
    let (url, seen) = serve(201);
    let out = export_to(&url, Some(KEY), true);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.contains("performance summary exported in "),
        "{stdout}"
    );
    assert!(!stdout.contains(KEY) && !stderr.contains(KEY));
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(
        (seen[0].method.as_str(), seen[0].path.as_str()),
        ("POST", "/identity/token")
    );
    let post = &seen[1];
    assert_eq!(post.method, "POST");
    assert_eq!(
        post.path,
        "/v3/analytics_engines/inst-1/performance_summaries"
    );
    assert_eq!(post.header("content-type"), Some("application/json"));
    let summary: serde_json::Value = serde_json::from_slice(&post.body).unwrap();
    assert_eq!(summary["app"]["id"], "local-1795597602833");
    let raw = text(&post.body);
    for pii in planted() {
        assert!(!raw.contains(&pii), "planted PII {pii:?} was posted");
    }
}

#[test]
fn refusals_are_reported_and_fail_only_with_strict() {
    // A refused key, then a refused summary (e.g. an Exporter key of another instance: 404).
    let (url, _) = serve(201);
    let out = export_to(&url, Some("wrong-key"), false);
    assert_eq!(out.status.code(), Some(0));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("token exchange refused: HTTP 400: invalid_apikey"),
        "{stderr}"
    );
    assert!(!stderr.contains("wrong-key"));

    let (url, _) = serve(404);
    let out = export_to(&url, Some(KEY), true);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("summary refused: HTTP 404"),
        "{}",
        text(&out.stderr)
    );

    // No key at all: nothing is sent, the error says where a key comes from.
    let (url, seen) = serve(201);
    let out = export_to(&url, None, false);
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stderr).contains("SPARKPLANE_APIKEY"));
    assert!(seen.lock().unwrap().is_empty());
}

#[test]
fn apikey_file_and_down_server() {
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("key");
    std::fs::write(&key_file, format!("{KEY}\n")).unwrap();
    let (url, seen) = serve(201);
    let out = sparkplane()
        .args(["export", "--event-log", pii_log().to_str().unwrap()])
        .args(["--server", &url, "--instance", "inst-1", "--strict"])
        .arg("--apikey-file")
        .arg(&key_file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(seen.lock().unwrap().len(), 2);

    // Nothing listens on this port.
    let port = free_port();
    let out = export_to(&format!("http://127.0.0.1:{port}"), Some(KEY), true);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("export failed"));
}

/// A TLS server (Python `ssl`, self-signed certificate for 127.0.0.1 made by `openssl`) that
/// plays the same contract; returns its URL, the certificate file and the process.
fn tls_server(dir: &std::path::Path) -> Option<(String, std::path::PathBuf, Proc)> {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let made = std::process::Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args([
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-addext",
            "basicConstraints=critical,CA:FALSE",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output();
    if !made.is_ok_and(|o| o.status.success()) && missing("openssl") {
        return None;
    }
    let script = format!(
        r#"
import http.server, json, ssl, sys
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get('Content-Length', 0)))
        if self.path == '/identity/token' and b'apikey={KEY}' in body:
            code, answer = 200, json.dumps({{"access_token": "{TOKEN}"}})
        elif self.path.endswith('/performance_summaries') and self.headers.get('Authorization') == 'Bearer {TOKEN}':
            json.loads(body)
            code, answer = 201, '{{}}'
        else:
            code, answer = 401, '{{"errors":[{{"code":"unauthorized","message":"no"}}]}}'
        data = answer.encode()
        self.send_response(code)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)
srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[1], sys.argv[2])
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
print(srv.server_address[1], flush=True)
srv.serve_forever()
"#
    );
    let mut child = std::process::Command::new("python3")
        .args(["-c", &script])
        .arg(&cert)
        .arg(&key)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port: u16 = line.trim().parse().unwrap();
    Some((format!("https://127.0.0.1:{port}"), cert, Proc(child)))
}

#[test]
fn tls_is_verified_unless_told_otherwise() {
    let dir = tempfile::tempdir().unwrap();
    let Some((url, cert, _server)) = tls_server(dir.path()) else {
        return;
    };
    let run = |extra: &[&std::ffi::OsStr]| {
        let mut cmd = sparkplane();
        cmd.args(["export", "--event-log", pii_log().to_str().unwrap()])
            .args([
                "--server",
                &url,
                "--instance",
                "inst-1",
                "--strict",
                "--timeout",
                "5",
            ])
            .args(extra)
            .env("SPARKPLANE_APIKEY", KEY);
        cmd.output().unwrap()
    };
    // Verification is on by default: a self-signed certificate is refused.
    let out = run(&[]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.to_lowercase().contains("certificate"), "{stderr}");
    // Trusting the server's certificate, or turning verification off, works.
    let out = run(&["--cacert".as_ref(), cert.as_os_str()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("performance summary exported in "));
    let out = run(&["--insecure".as_ref()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
}
