//! Shared by the process-level tests: a real S3 endpoint (moto_server), the fault proxy, boto3
//! checks; `serve`: a real `sparkplane serve` and its REST API.
#![allow(dead_code, clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub mod serve;

pub fn root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

pub fn venv_bin(name: &str) -> PathBuf {
    root().join(".venv/bin").join(name)
}

/// Skips (prints why) or, with SPARKPLANE_REQUIRE_ALL=1, fails.
pub fn missing(what: &str) -> bool {
    if std::env::var("SPARKPLANE_REQUIRE_ALL").as_deref() == Ok("1") {
        panic!("{what} is required (SPARKPLANE_REQUIRE_ALL=1); run scripts/setup-deps.sh");
    }
    eprintln!("SKIP: {what} not available (run scripts/setup-deps.sh)");
    true
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A child process killed when dropped.
pub struct Proc(pub Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// moto_server on a free loopback port.
pub struct Moto {
    pub port: u16,
    _proc: Proc,
}

impl Moto {
    /// Starts moto (`None` when it is not installed and REQUIRE_ALL is off).
    pub fn start() -> Option<Moto> {
        Self::start_with_env(&[])
    }

    pub fn start_with_env(env: &[(&str, &str)]) -> Option<Moto> {
        let bin = venv_bin("moto_server");
        if !bin.exists() && missing("moto_server (.venv: pip install 'moto[server]')") {
            return None;
        }
        let port = free_port();
        let child = Command::new(bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto_server");
        let moto = Moto {
            port,
            _proc: Proc(child),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "moto_server did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(moto)
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Runs a boto3 snippet with `s3` (and `iam`) clients on this endpoint; returns stdout.
    pub fn boto(&self, script: &str) -> String {
        let prelude = format!(
            "import boto3, json, sys\n\
             s3 = boto3.client('s3', endpoint_url='{e}', region_name='us-east-1', aws_access_key_id='test', aws_secret_access_key='test')\n\
             iam = boto3.client('iam', endpoint_url='{e}', region_name='us-east-1', aws_access_key_id='test', aws_secret_access_key='test')\n",
            e = self.endpoint()
        );
        let out = Command::new(venv_bin("python"))
            .args(["-c", &format!("{prelude}{script}")])
            .output()
            .expect("run python");
        assert!(
            out.status.success(),
            "boto3 script failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    pub fn create_bucket(&self, bucket: &str) {
        self.boto(&format!("s3.create_bucket(Bucket='{bucket}')"));
    }

    /// Every key in the bucket.
    pub fn keys(&self, bucket: &str) -> Vec<String> {
        let out = self.boto(&format!(
            "print(json.dumps([o['Key'] for o in s3.list_objects_v2(Bucket='{bucket}').get('Contents', [])]))"
        ));
        serde_json::from_str(&out).unwrap()
    }

    /// One object's bytes.
    pub fn get(&self, bucket: &str, key: &str) -> Vec<u8> {
        let out = self.boto(&format!(
            "sys.stdout.buffer.write(s3.get_object(Bucket='{bucket}', Key='{key}')['Body'].read())"
        ));
        out.into_bytes()
    }
}

/// tools/fault-proxy.py in front of `target_port`.
pub struct FaultProxy {
    pub port: u16,
    _proc: Proc,
}

impl FaultProxy {
    pub fn start(target_port: u16, mode: &str) -> FaultProxy {
        Self::start_on(target_port, mode, None)
    }

    /// On `listen_port` (a free one when `None`).
    pub fn start_on(target_port: u16, mode: &str, listen_port: Option<u16>) -> FaultProxy {
        let mut cmd = Command::new("python3");
        cmd.arg(root().join("tools/fault-proxy.py")).args([
            "--target",
            &format!("127.0.0.1:{target_port}"),
            "--mode",
            mode,
        ]);
        if let Some(port) = listen_port {
            cmd.args(["--listen-port", &port.to_string()]);
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .spawn()
            .expect("start tools/fault-proxy.py");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .strip_prefix("LISTENING ")
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("fault proxy said {line:?}"));
        FaultProxy {
            port,
            _proc: Proc(child),
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

pub fn sparkplane() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sparkplane"));
    cmd.env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_PROFILE")
        .env_remove("SPARKPLANE_APIKEY")
        .env_remove("SPARKPLANE_URL")
        .env_remove("SPARKPLANE_INSTANCE");
    cmd
}

/// Runs `cmd`, returning its output and wall time.
pub fn timed(cmd: &mut Command) -> (Output, Duration) {
    let started = Instant::now();
    let out = cmd.output().expect("run sparkplane");
    (out, started.elapsed())
}

pub fn pii_log() -> PathBuf {
    root().join("testdata/eventlogs/spark43/pii_planted/eventlog_v2_local-1795597602833")
}

/// The planted PII strings of the analyzer's PII test.
pub fn planted() -> Vec<String> {
    let text = std::fs::read_to_string(root().join("testdata/pii-planted.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["planted"]
        .as_object()
        .unwrap()
        .values()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect()
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

pub fn exists(p: &Path) -> bool {
    p.exists()
}
