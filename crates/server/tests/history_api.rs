//! The per-instance Spark History Server API (`/v3/analytics_engines/{id}/spark_history/api/v1`)
//! through the real router and database: real event logs in the instance's event-log area are
//! answered as Spark's own History Server answered them (the committed goldens), behind IAM
//! (Reader; 404 without a role; 401 without a token), and a run known only from an exported
//! summary answers 404 saying it has no event log.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};

use axum::http::StatusCode;
use common::{Db, Harness};
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

fn shared() -> PathBuf {
    root().join("../shared/eventlogs")
}

/// Copies a log (file or directory) into `dir`, leaving the copies writable.
fn copy_log(src: &Path, dir: &Path) {
    let dst = dir.join(src.file_name().unwrap());
    if src.is_dir() {
        std::fs::create_dir_all(&dst).unwrap();
        for e in std::fs::read_dir(src).unwrap() {
            let e = e.unwrap();
            let to = dst.join(e.file_name());
            std::fs::write(&to, std::fs::read(e.path()).unwrap()).unwrap();
        }
    } else {
        std::fs::write(&dst, std::fs::read(src).unwrap()).unwrap();
    }
}

/// The only log inside a workload directory of the shared logs.
fn log_of(workload: &str) -> PathBuf {
    let d = shared().join("generated").join(workload);
    std::fs::read_dir(&d)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| !p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .unwrap()
}

/// Fields that cannot be equal (as in crates/history's golden test).
fn strip(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for k in [
                "lastUpdated",
                "lastUpdatedEpoch",
                "logSourceName",
                "logSourceFullPath",
                "_snapshot_note",
            ] {
                m.remove(k);
            }
            m.values_mut().for_each(strip);
        }
        Value::Array(a) => a.iter_mut().for_each(strip),
        _ => {}
    }
}

fn golden(app: &str, name: &str) -> Value {
    let p = root()
        .join("testdata/shs-snapshots/generated")
        .join(app)
        .join(format!("{name}.json"));
    let mut v: Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
    strip(&mut v);
    v
}

fn message(v: &Value) -> String {
    v["errors"][0]["message"].as_str().unwrap_or("").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instance_history_api_answers_like_spark_behind_iam() {
    if !shared().is_dir() {
        assert!(
            std::env::var("SPARKPLANE_REQUIRE_ALL").as_deref() != Ok("1"),
            "../shared/eventlogs is missing and SPARKPLANE_REQUIRE_ALL=1"
        );
        eprintln!("SKIP: ../shared/eventlogs not found");
        return;
    }
    let h = Harness::new(Db::Sqlite).await.unwrap();
    let inst = h.instance("history").await;
    let (reader, _, reader_tok) = h.user_with_token("reader").await;
    h.grant(&inst, &reader, "Reader").await;
    let (writer, _, writer_tok) = h.user_with_token("writer").await;
    h.grant(&inst, &writer, "Writer").await;
    let (_, _, stranger_tok) = h.user_with_token("stranger").await;

    // The runner writes each run's event log here (spark.eventLog.dir of the instance).
    let logs = h
        .settings
        .data_dir
        .join("runner/instances")
        .join(&inst)
        .join("eventlogs");
    std::fs::create_dir_all(&logs).unwrap();
    copy_log(&log_of("etl_mixed_rolling"), &logs); // rolling eventlog_v2_ directory
    copy_log(&log_of("join_skew_snappy"), &logs); // single snappy file
    let base = format!("/v3/analytics_engines/{inst}/spark_history/api/v1");

    // Listing, as a Reader.
    let (s, v) = h
        .call(
            "GET",
            &format!("{base}/applications"),
            Some(&reader_tok),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let mut ids: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, ["local-1795549153146", "local-1795549175760"]);
    // The tenant does not see the server's paths.
    assert_eq!(
        v[0]["attempts"][0]["logSourceName"],
        format!("instance:{inst}/eventlogs")
    );

    // Each endpoint equals what Spark's History Server answered for the same log.
    for app in ["local-1795549175760", "local-1795549153146"] {
        for (endpoint, file) in [
            ("", "app"),
            ("/jobs", "jobs"),
            ("/stages", "stages"),
            ("/allexecutors", "allexecutors"),
            ("/sql", "sql"),
            (
                "/sql?details=false&planDescription=false&offset=1&length=2",
                "sql_paged",
            ),
        ] {
            let (s, mut v) = h
                .call(
                    "GET",
                    &format!("{base}/applications/{app}{endpoint}"),
                    Some(&reader_tok),
                    None,
                )
                .await;
            assert_eq!(s, StatusCode::OK, "{app}{endpoint}: {v}");
            strip(&mut v);
            assert_eq!(v, golden(app, file), "{app}{endpoint} differs from SHS");
        }
    }
    let (s, v) = h
        .call("GET", &format!("{base}/version"), Some(&reader_tok), None)
        .await;
    assert_eq!((s, v["spark"].as_str()), (StatusCode::OK, Some("4.3.0")));
    let (s, v) = h
        .call(
            "GET",
            &format!("{base}/applications/local-1795549175760/logs"),
            Some(&reader_tok),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(v.as_str().unwrap().starts_with("PK"), "a zip");

    // IAM: no token → 401; no role (also the platform admin) → 404, the instance not leaked.
    let (s, _) = h
        .call("GET", &format!("{base}/applications"), None, None)
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    for tok in [&stranger_tok, &h.admin_token] {
        let (s, v) = h
            .call("GET", &format!("{base}/applications"), Some(tok), None)
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
        assert!(message(&v).contains("not found"), "{v}");
    }

    // Errors in the API's JSON shape.
    let (s, v) = h
        .call(
            "GET",
            &format!("{base}/applications/local-1795549175760/stages/999"),
            Some(&reader_tok),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(message(&v).contains("unknown stage"), "{v}");
    let (s, v) = h
        .call(
            "GET",
            &format!("{base}/applications/local-1795549175760/stages/0/0/taskSummary?quantiles=2"),
            Some(&reader_tok),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    let (s, v) = h
        .call(
            "GET",
            &format!("{base}/applications/local-404/jobs"),
            Some(&reader_tok),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(message(&v).contains("unknown app"), "{v}");

    // A run that arrived only as an exported summary: 404 that says so.
    let log = sparkplane_eventlog::open(&log_of("join_skew")).unwrap();
    let analysis =
        sparkplane_analysis::analyze(&log, &sparkplane_analysis::analyze::Options::default())
            .unwrap();
    let mut summary = serde_json::to_value(&analysis.summary).unwrap();
    summary["app"]["id"] = Value::from("local-1700000000001");
    let (s, v) = h
        .call(
            "POST",
            &format!("/v3/analytics_engines/{inst}/performance_summaries"),
            Some(&writer_tok),
            Some(summary),
        )
        .await;
    assert!(s.is_success(), "{s} {v}");
    let (s, v) = h
        .call(
            "GET",
            &format!("{base}/applications/local-1700000000001/jobs"),
            Some(&reader_tok),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(
        message(&v).contains("only as an exported performance summary")
            && message(&v).contains("no event log"),
        "{v}"
    );

    // A log that appears later is picked up (re-scan at most every 2 s).
    copy_log(&log_of("cache_pressure"), &logs);
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let (s, v) = h
        .call(
            "GET",
            &format!("{base}/applications/local-1795548379938/sql"),
            Some(&reader_tok),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let mut v = v;
    strip(&mut v);
    assert_eq!(v, golden("local-1795548379938", "sql"));
}
