//! `sparkplane export --to s3://…` against a real S3 endpoint (moto_server), with faults
//! injected by tools/fault-proxy.py (issue 8).

#![allow(clippy::unwrap_used)]

mod export_support;

use std::time::Duration;

use export_support::*;

const KEY: &str = "spark/prod/local-1795597602833/1/summary.json";

#[test]
fn export_puts_one_redacted_object_and_rerun_replaces_it() {
    let Some(moto) = Moto::start() else { return };
    moto.create_bucket("perf");
    for run in 0..2 {
        let (out, took) = timed(sparkplane().args([
            "export",
            "--event-log",
            pii_log().to_str().unwrap(),
            "--to",
            "s3://perf/spark/prod/",
            "--s3-endpoint",
            &moto.endpoint(),
        ]));
        let stdout = text(&out.stdout);
        assert!(out.status.success(), "run {run}: {}", text(&out.stderr));
        assert!(
            stdout.contains("performance summary exported in ")
                && stdout.contains(&format!("s3://perf/{KEY}")),
            "{stdout}"
        );
        eprintln!("export run {run}: {took:?}: {stdout}");
        // Exactly one object, at the documented key, however often it is exported.
        assert_eq!(moto.keys("perf"), vec![KEY.to_owned()]);
    }
    let bytes = moto.get("perf", KEY);
    let summary: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert!(summary["schema_version"].is_string());
    assert_eq!(summary["app"]["id"], "local-1795597602833");
    assert!(summary["app"]["attempt_id"].is_null());
    assert!(summary["stages"].as_array().is_some_and(|s| !s.is_empty()));
    let raw = text(&bytes);
    for pii in planted() {
        assert!(
            !raw.contains(&pii),
            "planted PII {pii:?} reached the bucket"
        );
    }
}

#[test]
fn attempt_id_is_a_key_segment() {
    let Some(moto) = Moto::start() else { return };
    moto.create_bucket("perf");
    let log = root()
        .join("testdata/eventlogs/spark43/attempt_suffixed_single/local-1795593810027_1.zstd");
    let out = sparkplane()
        .args([
            "export",
            "--event-log",
            log.to_str().unwrap(),
            "--to",
            "s3://perf",
        ])
        .args(["--s3-endpoint", &moto.endpoint(), "--strict"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let keys = moto.keys("perf");
    assert_eq!(keys.len(), 1, "{keys:?}");
    let summary: serde_json::Value = serde_json::from_slice(&moto.get("perf", &keys[0])).unwrap();
    let app = &summary["app"];
    let attempt = app["attempt_id"].as_str().unwrap_or("1");
    assert_eq!(
        keys[0],
        format!("{}/{attempt}/summary.json", app["id"].as_str().unwrap())
    );
}

#[test]
fn upload_failures_never_fail_the_step_unless_strict() {
    let Some(moto) = Moto::start() else { return };
    moto.create_bucket("perf");
    let timeout = 5u64;
    for mode in ["down", "slow", "http500"] {
        let proxy = FaultProxy::start(moto.port, mode);
        for strict in [false, true] {
            let mut cmd = sparkplane();
            cmd.args(["export", "--event-log", pii_log().to_str().unwrap()])
                .args([
                    "--to",
                    "s3://perf/spark",
                    "--s3-endpoint",
                    &proxy.endpoint(),
                ])
                .args(["--timeout", &timeout.to_string()]);
            if strict {
                cmd.arg("--strict");
            }
            let (out, took) = timed(&mut cmd);
            let stderr = text(&out.stderr);
            eprintln!(
                "fault {mode} strict={strict}: {took:?} exit {:?}: {stderr}",
                out.status.code()
            );
            assert_eq!(
                out.status.code(),
                Some(if strict { 1 } else { 0 }),
                "{mode}: {stderr}"
            );
            assert!(
                stderr.contains("performance summary export failed after"),
                "{stderr}"
            );
            assert!(
                took <= Duration::from_secs(timeout + 2),
                "{mode}: took {took:?}"
            );
        }
    }
    assert!(moto.keys("perf").is_empty());
}

#[test]
fn slow_endpoint_is_bounded_by_the_default_timeout() {
    let Some(moto) = Moto::start() else { return };
    moto.create_bucket("perf");
    let proxy = FaultProxy::start(moto.port, "slow");
    let (out, took) = timed(
        sparkplane()
            .args(["export", "--event-log", pii_log().to_str().unwrap()])
            .args([
                "--to",
                "s3://perf/spark",
                "--s3-endpoint",
                &proxy.endpoint(),
            ]),
    );
    eprintln!("slow, default --timeout: {took:?}");
    assert_eq!(out.status.code(), Some(0));
    assert!(
        text(&out.stderr).contains("timed out"),
        "{}",
        text(&out.stderr)
    );
    assert!(
        took >= Duration::from_secs(19) && took <= Duration::from_secs(22),
        "{took:?}"
    );
}

#[test]
fn unreadable_log_is_reported_not_fatal() {
    // No endpoint needed: the analysis fails before any upload.
    let out = sparkplane()
        .args([
            "export",
            "--event-log",
            "/nonexistent/eventlog",
            "--to",
            "s3://perf/x",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stderr).contains("export failed"));
    let out = sparkplane()
        .args([
            "export",
            "--event-log",
            "/nonexistent/eventlog",
            "--to",
            "s3://perf/x",
            "--strict",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn help_documents_flags_and_examples() {
    let out = sparkplane().args(["export", "--help"]).output().unwrap();
    let help = text(&out.stdout);
    for needle in [
        "--event-log",
        "--to",
        "--server",
        "--instance",
        "--timeout",
        "--strict",
        "--s3-endpoint",
        "--region",
        "--apikey-file",
        "--cacert",
        "--insecure",
        "[default: 20]",
        "Examples:",
        "<prefix>/<app_id>/<attempt_id>/summary.json",
    ] {
        assert!(
            help.contains(needle),
            "export --help lacks {needle:?}:\n{help}"
        );
    }
    let out = sparkplane().args(["exec", "--help"]).output().unwrap();
    let help = text(&out.stdout);
    assert!(
        help.contains("spark-submit") && help.contains("Examples:"),
        "{help}"
    );
    // A destination is required for export.
    let out = sparkplane()
        .args(["export", "--event-log", "x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
