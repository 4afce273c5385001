//! `sparkplane analyze` exit codes and JSON contract names, on real logs and damaged copies.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")).to_path_buf()
}

fn shared(rel: &str) -> PathBuf {
    root().join("../shared/eventlogs").join(rel)
}

fn analyze(args: &[&std::ffi::OsStr]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sparkplane"))
        .arg("analyze")
        .args(args)
        .output()
        .expect("run sparkplane");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn one_application_json_has_the_contract_names() {
    let log = shared("generated/etl_mixed/eventlog_v2_local-1795548357922");
    let (code, out, err) = analyze(&[log.as_os_str(), "--format".as_ref(), "json".as_ref()]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    for key in [
        "id",
        "attempt_id",
        "name",
        "spark_version",
        "start_time",
        "end_time",
        "duration_ms",
        "completed",
        "status",
    ] {
        assert!(v["app"].get(key).is_some(), "app.{key} missing");
    }
    assert_eq!(v["app"]["id"], "local-1795548357922");
    assert_eq!(v["app"]["completed"], true);
    let d = &v["diagnostics"];
    for key in [
        "events_total",
        "events_by_type",
        "malformed_lines",
        "unknown_events",
        "files",
        "codec",
    ] {
        assert!(d.get(key).is_some(), "diagnostics.{key} missing");
    }
    assert_eq!(d["events_total"], 112);
    assert_eq!(d["codec"], "zstd");
    assert_eq!(d["files"], 1);
}

#[test]
fn directory_of_many_applications_prints_an_array() {
    let dir = shared("generated-spark35");
    let (code, out, err) = analyze(&[dir.as_os_str(), "--format".as_ref(), "json".as_ref()]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(v.as_array().map(Vec::len), Some(3));
    let (code, text, _) = analyze(&[dir.as_os_str()]);
    assert_eq!(code, 0);
    assert_eq!(
        text.lines().filter(|l| l.contains("local-")).count(),
        3,
        "{text}"
    );
}

#[test]
fn unreadable_input_exits_2_with_one_line() {
    let (code, out, err) = analyze(&["/nonexistent/eventlog".as_ref()]);
    assert_eq!(code, 2);
    assert!(out.is_empty());
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

#[test]
fn partly_corrupt_log_exits_1_with_the_report() {
    // A real zstd log with its second half damaged.
    let src = shared(
        "generated/join_skew/eventlog_v2_local-1795548370542/events_1_local-1795548370542.zstd",
    );
    let mut bytes = std::fs::read(&src).expect("read");
    let plain = zstd::decode_all(&bytes[..]).expect("decode");
    // Re-encode as two frames so the first half survives the damage.
    let cut = plain.len() / 2
        + plain[plain.len() / 2..]
            .iter()
            .position(|b| *b == b'\n')
            .expect("nl")
        + 1;
    bytes = zstd::encode_all(&plain[..cut], 3).expect("zstd");
    let first = bytes.len();
    bytes.extend(zstd::encode_all(&plain[cut..], 3).expect("zstd"));
    let mid = first + (bytes.len() - first) / 2;
    for b in &mut bytes[mid..mid + 32] {
        *b ^= 0xA5;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let f = dir.path().join("local-1795548370542.zstd");
    std::fs::write(&f, &bytes).expect("write");
    let (code, out, err) = analyze(&[f.as_os_str(), "--format".as_ref(), "json".as_ref()]);
    assert_eq!(code, 1, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("report still printed");
    assert!(v["diagnostics"]["events_total"].as_u64().unwrap_or(0) > 0);
    assert!(err.contains("byte offset"), "{err}");
}
