//! Uploaded files and library sets encrypted at rest, with real Spark (pip pyspark) and the real
//! `sparkplane serve` binary: an uploaded file and a library set (a wheel built here) each hold
//! a plaintext marker that is found nowhere in the data dir; the file reads back through the
//! API; a real app of the instance reads the file by its working-copy path and imports the set;
//! once the app has finished the working copy is gone and the markers are again nowhere in the
//! data dir. A second app rebuilds the working copy from the store (it is not kept in between).
#![allow(clippy::unwrap_used)]
#![cfg(feature = "server")]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

mod export_support;

use export_support::serve::{self, Api};
use export_support::{free_port, root, Proc};

/// Spark and the venv's python, or `None` after printing why (a failure with
/// `SPARKPLANE_REQUIRE_ALL=1`).
fn spark() -> Option<(PathBuf, PathBuf)> {
    let python = root().join(".venv/bin/python");
    match sparkplane_runner::find_spark_home(&root()) {
        Some(home) if python.is_file() => Some((home, python)),
        _ => {
            export_support::missing("pyspark (.venv)");
            None
        }
    }
}

/// Every file under `dir` (recursively, not following links) that contains `needle`.
fn files_containing(dir: &Path, needle: &[u8]) -> Vec<String> {
    let mut hits = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            let Ok(ft) = e.file_type() else { continue };
            if ft.is_dir() {
                stack.push(p);
            } else if ft.is_file() {
                if let Ok(bytes) = std::fs::read(&p) {
                    if bytes.windows(needle.len()).any(|w| w == needle) {
                        hits.push(p.display().to_string());
                    }
                }
            }
        }
    }
    hits
}

/// SHA-256 (hex) by coreutils' `sha256sum`.
fn sha256_hex(b: &[u8]) -> String {
    use std::io::Write;
    let mut c = Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    c.stdin.take().unwrap().write_all(b).unwrap();
    let out = c.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}

/// A pure-Python wheel made by hand (zip, stored uncompressed: the marker is in its bytes).
const MAKE_WHEEL: &str = r#"
import sys, zipfile, hashlib, base64
out, marker = sys.argv[1], sys.argv[2]
files = {
    "sealedlib/__init__.py": "import hashlib\nMARKER = %r\ndef digest():\n    return hashlib.sha256(MARKER.encode()).hexdigest()\n" % marker,
    "sealedlib-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: sealedlib\nVersion: 1.0\n",
    "sealedlib-1.0.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
}
record = []
for n, c in files.items():
    d = base64.urlsafe_b64encode(hashlib.sha256(c.encode()).digest()).rstrip(b"=").decode()
    record.append("%s,sha256=%s,%d" % (n, d, len(c)))
record.append("sealedlib-1.0.dist-info/RECORD,,")
files["sealedlib-1.0.dist-info/RECORD"] = "\n".join(record) + "\n"
with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as z:
    for n, c in files.items():
        z.writestr(n, c)
"#;

/// Reads the file named by argv[1] (an absolute working-copy path) and imports the set's
/// module; prints only digests (the driver log must not hold the markers either).
const APP: &str = r#"
import hashlib, sys
from pyspark.sql import SparkSession
spark = SparkSession.builder.appName("files-at-rest").getOrCreate()
print("ROWS", spark.range(0, 100, numPartitions=2).count())
with open(sys.argv[1], "rb") as f:
    print("FILE_SHA", hashlib.sha256(f.read()).hexdigest())
import sealedlib
print("LIB_SHA", sealedlib.digest())
spark.stop()
"#;

fn log_of(s: &Api, inst: &str, tok: &str, id: &str) -> String {
    let (_, log) = s.call(
        "GET",
        &format!("/v3/analytics_engines/{inst}/spark_applications/{id}/logs"),
        tok,
        None,
    );
    log.as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| log.to_string())
}

#[test]
fn files_and_library_sets_sealed_working_copy_only_while_apps_run() {
    let Some((home, python)) = spark() else {
        return;
    };
    let t0 = Instant::now();
    let t = tempfile::tempdir().unwrap();
    let data = t.path().join("data");
    let pid = std::process::id();
    let file_marker = format!("MARKER-uploaded-file-{pid}-5a1e");
    let lib_marker = format!("MARKER-library-set-{pid}-c0de");
    // The wheel with the library marker.
    let wheel = t.path().join("sealedlib-1.0-py3-none-any.whl");
    let st = Command::new(&python)
        .arg("-c")
        .arg(MAKE_WHEEL)
        .arg(&wheel)
        .arg(&lib_marker)
        .status()
        .unwrap();
    assert!(st.success());
    let wheel_bytes = std::fs::read(&wheel).unwrap();
    assert!(
        wheel_bytes
            .windows(lib_marker.len())
            .any(|w| w == lib_marker.as_bytes()),
        "the wheel holds the marker in plaintext (the test can fail)"
    );
    std::fs::remove_file(&wheel).unwrap();

    let port = free_port();
    let _server = Proc(serve::spawn(
        serve::serve_command(&data)
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--insecure-http")
            .arg("--spark-home")
            .arg(&home),
    ));
    let s = serve::wait_ready(30, || Some(Api::http(port, Duration::from_secs(120))));
    let admin = s.admin_token(&data);
    let (st, v) = s.call(
        "POST",
        "/v3/analytics_engines",
        &admin,
        Some(json!({"name": "sealed-files"})),
    );
    assert_eq!(st, 201, "{v}");
    let inst = v["id"].as_str().unwrap().to_owned();
    let mgr = s.principal_on(&admin, &inst, "files-mgr", "Manager");
    let put = |path: &str, body: Vec<u8>| {
        let r = s
            .client
            .put(s.url(&format!("/v3/analytics_engines/{inst}/files/{path}")))
            .bearer_auth(&mgr)
            .body(body)
            .send()
            .unwrap();
        let status = r.status().as_u16();
        (status, r.text().unwrap())
    };
    let wpath = "wheels/sealedlib-1.0-py3-none-any.whl";
    assert_eq!(put(wpath, wheel_bytes.clone()).0, 201);
    assert_eq!(
        put("data/secret.txt", file_marker.clone().into_bytes()).0,
        201
    );
    assert_eq!(put("app.py", APP.as_bytes().to_vec()).0, 201);
    // The reserved directory of the working copy is not writable through uploads.
    let (st, v) = put(".sparkplane/library_sets/x/python/evil.py", b"x".to_vec());
    assert_eq!(st, 400, "{v}");
    let (st, v) = s.call(
        "POST",
        &format!("/v3/analytics_engines/{inst}/library_sets"),
        &mgr,
        Some(json!({"name": "sealed", "files": [{"path": wpath, "sha256": sha256_hex(&wheel_bytes)}]})),
    );
    assert_eq!(st, 201, "{v}");

    let working_copy = data.join("runner/instances").join(&inst).join("files");
    let scan = |when: &str| {
        for m in [&file_marker, &lib_marker] {
            let hits = files_containing(&data, m.as_bytes());
            assert!(
                hits.is_empty(),
                "{when}: marker {m} in plaintext at {hits:?}"
            );
        }
    };
    scan("after upload and library set build");
    // The uploads read back (decrypted) through the API.
    let (st, v) = s.call(
        "GET",
        &format!("/v3/analytics_engines/{inst}/files/data/secret.txt"),
        &mgr,
        None,
    );
    assert_eq!((st, v.as_str()), (200, Some(file_marker.as_str())));

    let submit = || {
        let (st, v) = s.call(
            "POST",
            &format!("/v3/analytics_engines/{inst}/spark_applications"),
            &mgr,
            Some(json!({"application_details": {
                "application": "app.py",
                "arguments": [working_copy.join("data/secret.txt").display().to_string()],
                "conf": {"ae.spark.librarysets": "sealed", "spark.ui.enabled": "false"}}})),
        );
        assert_eq!(st, 202, "{v}");
        v["id"].as_str().unwrap().to_owned()
    };
    let gone = |what: &str| {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let left: Vec<_> = std::fs::read_dir(&working_copy)
                .map(|rd| rd.flatten().map(|e| e.file_name()).collect())
                .unwrap_or_default();
            if left.is_empty() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{what}: working copy still holds {left:?}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    };
    for round in 1..=2 {
        let id = submit();
        let v = s.wait_state(&inst, &mgr, &id, serve::FINAL, 240);
        let log = log_of(&s, &inst, &mgr, &id);
        assert_eq!(v["state"], "finished", "round {round}: {v}\n{log}");
        assert!(
            log.contains(&format!("FILE_SHA {}", sha256_hex(file_marker.as_bytes()))),
            "round {round}: the app did not read the file from the working copy:\n{log}"
        );
        assert!(
            log.contains(&format!("LIB_SHA {}", sha256_hex(lib_marker.as_bytes()))),
            "round {round}: the app did not import the library set:\n{log}"
        );
        gone(&format!("round {round}"));
        scan(&format!("after app {round} finished"));
    }
    eprintln!(
        "files + library sets at rest with real Spark: 2 runs in {:.1} s",
        t0.elapsed().as_secs_f64()
    );
}

/// Without Spark: a data dir from before files were encrypted at rest (plaintext uploads in the
/// instance's `files/`) is imported into the store at start and the plaintext removed.
#[test]
fn plaintext_uploads_of_an_old_data_dir_are_imported_and_removed() {
    let t = tempfile::tempdir().unwrap();
    let data = t.path().join("data");
    let start = || {
        let port = free_port();
        let p = Proc(serve::spawn(
            serve::serve_command(&data)
                .arg("--listen")
                .arg(format!("127.0.0.1:{port}"))
                .arg("--insecure-http")
                .arg("--spark-home")
                .arg(t.path().join("no-spark-here")),
        ));
        let api = serve::wait_ready(30, || Some(Api::http(port, Duration::from_secs(30))));
        (p, api)
    };
    let (p, s) = start();
    let admin = s.admin_token(&data);
    let (st, v) = s.call(
        "POST",
        "/v3/analytics_engines",
        &admin,
        Some(json!({"name": "legacy"})),
    );
    assert_eq!(st, 201, "{v}");
    let inst = v["id"].as_str().unwrap().to_owned();
    let w = s.principal_on(&admin, &inst, "legacy-writer", "Writer");
    drop(p);
    // What an older sparkplane left: plaintext uploads, a fetched app, KMS client files.
    let marker = format!("MARKER-legacy-upload-{}", std::process::id());
    let files = data.join("runner/instances").join(&inst).join("files");
    for (rel, body) in [
        ("jobs/old.py", marker.as_str()),
        ("_fetched/0123/app.py", marker.as_str()),
        (".sparkplane/kms-truststore.pem", "cert"),
    ] {
        std::fs::create_dir_all(files.join(rel).parent().unwrap()).unwrap();
        std::fs::write(files.join(rel), body).unwrap();
    }
    assert!(!files_containing(&data, marker.as_bytes()).is_empty());
    let (_p, s) = start();
    let hits = files_containing(&data, marker.as_bytes());
    assert!(hits.is_empty(), "plaintext left: {hits:?}");
    assert_eq!(std::fs::read_dir(&files).unwrap().count(), 0);
    let (st, v) = s.call(
        "GET",
        &format!("/v3/analytics_engines/{inst}/files/jobs/old.py"),
        &w,
        None,
    );
    assert_eq!((st, v.as_str()), (200, Some(marker.as_str())));
    // Only uploads are imported (fetched applications are working-copy only).
    let (st, _) = s.call(
        "GET",
        &format!("/v3/analytics_engines/{inst}/files/_fetched/0123/app.py"),
        &w,
        None,
    );
    assert_eq!(st, 404);
    let _: Value = v;
}
