//! An unchanged Python client written against Spark History Server's API gets the same output
//! from sparkplane's `/api/v1` as from Spark's own History Server on the same logs.
//! Needs `.venv` (pyspark) and Java; skips with a reason unless `SPARKPLANE_REQUIRE_ALL=1`.

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, RwLock};

fn root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

fn copy_dir(src: &std::path::Path, dst: &std::path::Path) {
    std::fs::create_dir_all(dst).unwrap();
    for e in std::fs::read_dir(src).unwrap().flatten() {
        let to = dst.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &to);
        } else {
            std::fs::copy(e.path(), to).unwrap();
        }
    }
}

#[test]
fn python_client_sees_the_same_as_against_shs() {
    let python = root().join(".venv/bin/python");
    let has_pyspark = python.is_file()
        && Command::new(&python)
            .args(["-c", "import pyspark"])
            .status()
            .is_ok_and(|s| s.success());
    if !has_pyspark {
        assert!(
            std::env::var("SPARKPLANE_REQUIRE_ALL").as_deref() != Ok("1"),
            "SPARKPLANE_REQUIRE_ALL=1 but .venv with pyspark is missing"
        );
        eprintln!("skipped: .venv with pyspark not found (run scripts/setup-deps.sh)");
        return;
    }
    // Three Spark 4.3 logs of different layouts/codecs (SHS 4.3 from .venv reads them).
    let tmp = std::env::temp_dir().join(format!("sparkplane-pyclient-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).unwrap();
    let shared = root().join("../shared/eventlogs/generated");
    for (dir, entry) in [
        ("etl_mixed_lz4", "local-1795549140019.lz4"),
        ("python_udf_plain", "local-1795549164214"),
        ("join_skew", "eventlog_v2_local-1795548370542"),
    ] {
        let src = shared.join(dir).join(entry);
        if src.is_dir() {
            copy_dir(&src, &tmp.join(entry));
        } else {
            std::fs::copy(&src, tmp.join(entry)).unwrap();
        }
    }
    let h = sparkplane_history::History::load(&tmp).unwrap();
    assert_eq!(h.apps.len(), 3);
    let shared = Arc::new(RwLock::new(h));
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(l.local_addr().unwrap()).unwrap();
            axum::serve(l, sparkplane_history::http::router(shared))
                .await
                .unwrap();
        });
    });
    let addr = rx.recv().unwrap();
    let port = 18_500 + (std::process::id() % 400);
    let out = Command::new(&python)
        .arg(root().join("crates/history/tests/py/compare_with_shs.py"))
        .arg(&tmp)
        .arg(format!("http://{addr}/api/v1"))
        .args(["--port", &port.to_string()])
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&tmp);
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "client outputs differ or SHS failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("identical"));
}
