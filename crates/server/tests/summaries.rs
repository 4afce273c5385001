//! Performance summaries and event-log sources (issue 8, server side), on SQLite and on
//! PostgreSQL (`SPARKPLANE_TEST_DATABASE_URL`), against a real S3 endpoint (`moto_server` from
//! the project venv) for sources. Summaries are made by the real analyzer from the real event
//! logs in `testdata/eventlogs`.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Db, Harness};
use futures_util::StreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as ObjPath;
use object_store::{ObjectStore, PutPayload};
use serde_json::{json, Value};
use sparkplane_server::Settings;

macro_rules! on_both {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                if let Some(h) = super::harness(super::Db::Sqlite).await { super::$name(h).await }
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(h) = super::harness(super::Db::Postgres).await { super::$name(h).await }
            }
        }
    )*};
}

on_both!(
    ingest_query_and_permissions,
    sources_ingest_every_layout_once,
    source_of_1000_logs_survives_a_restart,
);

/// A server with a 1 s source poll interval.
async fn harness(db: Db) -> Option<Harness> {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings::for_data_dir(&dir.path().join("data"));
    if db == Db::Postgres {
        settings.database_url = common::fresh_pg_url().await?;
    }
    settings.ingest.source_poll_interval = Duration::from_secs(1);
    Some(Harness::start(dir, settings).await)
}

fn root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

fn log(rel: &str) -> PathBuf {
    root().join("testdata/eventlogs").join(rel)
}

/// The analyzer's summary of a real log, as JSON.
fn summary_of(path: &Path) -> Value {
    let l = sparkplane_eventlog::open(path).unwrap();
    let a = sparkplane_analysis::analyze(&l, &Default::default()).unwrap();
    serde_json::to_value(&a.summary).unwrap()
}

fn pii_log() -> PathBuf {
    log("spark43/pii_planted/eventlog_v2_local-1795597602833")
}

fn planted() -> Vec<String> {
    let text = std::fs::read_to_string(root().join("testdata/pii-planted.json")).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    v["planted"]
        .as_object()
        .unwrap()
        .values()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect()
}

fn summaries(instance: &str) -> String {
    format!("/v3/analytics_engines/{instance}/performance_summaries")
}

async fn ingest_query_and_permissions(h: Harness) {
    let a = h.instance("team-a").await;
    let b = h.instance("team-b").await;
    let exporter = h.service_id("exporter").await;
    let (_, exporter_key) = h.key(&exporter).await;
    h.grant(&a, &exporter, "Exporter").await;
    let exp = h.exchange(&exporter_key).await;
    let (writer, _, wtok) = h.user_with_token("writer").await;
    h.grant(&a, &writer, "Writer").await;
    let (reader, _, rtok) = h.user_with_token("reader").await;
    h.grant(&a, &reader, "Reader").await;

    let summary = summary_of(&pii_log());
    let body = serde_json::to_vec(&summary).unwrap();

    // Exporter: 201 once, then 200 "unchanged": never a duplicate.
    let (s, v) = h
        .call_raw("POST", &summaries(&a), Some(&exp), Some(body.clone()))
        .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["outcome"], "inserted");
    let id = v["id"].as_str().unwrap().to_owned();
    assert_eq!(
        v["performance_summary"]["origin"],
        format!("exporter:{exporter}")
    );
    assert!(v["performance_summary"]["core_hours"].as_f64().unwrap() > 0.0);
    assert!(v["performance_summary"]["cost"].as_f64().unwrap() > 0.0);
    let (s, v) = h
        .call_raw("POST", &summaries(&a), Some(&exp), Some(body.clone()))
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (v["outcome"].as_str(), v["id"].as_str()),
        (Some("unchanged"), Some(id.as_str()))
    );

    // The Exporter reads nothing, and writes into no other instance.
    for path in [
        summaries(&a),
        format!("{}/{id}", summaries(&a)),
        format!("{}/trends?name=x", summaries(&a)),
        format!("/v3/analytics_engines/{a}"),
        format!("/v3/analytics_engines/{a}/spark_applications"),
        format!("/v3/analytics_engines/{a}/default_configs"),
        format!("/v3/analytics_engines/{a}/sources"),
    ] {
        let (s, v) = h.call("GET", &path, Some(&exp), None).await;
        assert_eq!(s, 403, "{path}: {v}");
    }
    let (s, _) = h
        .call_raw("POST", &summaries(&b), Some(&exp), Some(body.clone()))
        .await;
    assert_eq!(s, 404);
    let (s, _) = h.call("GET", &summaries(&b), Some(&exp), None).await;
    assert_eq!(s, 404);
    // A Reader may not write; the Administrator without a role reads no summaries.
    let (s, _) = h
        .call_raw("POST", &summaries(&a), Some(&rtok), Some(body.clone()))
        .await;
    assert_eq!(s, 403);
    let (s, _) = h
        .call("GET", &summaries(&a), Some(&h.admin_token), None)
        .await;
    assert_eq!(s, 404);

    // The full summary comes back, with no planted PII.
    let (s, v) = h
        .call("GET", &format!("{}/{id}", summaries(&a)), Some(&rtok), None)
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["summary"]["app"]["id"], "local-1795597602833");
    assert_eq!(v["performance_summary"]["id"], id.as_str());
    let raw = v.to_string();
    for pii in planted() {
        assert!(!raw.contains(&pii), "planted PII {pii:?} is served");
    }
    let (s, _) = h
        .call(
            "GET",
            &format!("{}/00000000-0000-0000-0000-000000000000", summaries(&a)),
            Some(&rtok),
            None,
        )
        .await;
    assert_eq!(s, 404);

    // Server-side redaction: a modified client sends PII; it is not stored.
    let mut dirty = summary.clone();
    dirty["app"]["id"] = json!("local-1");
    dirty["app"]["name"] = json!("report for jane.doe@example.com");
    dirty["jobs"][0]["description"] = json!("SELECT * FROM t WHERE ssn = '123-45-6789'");
    dirty["app"]["spark_conf"]["spark.executor.memory"] = json!("4g");
    dirty["app"]["spark_conf"]["spark.hadoop.fs.s3a.secret.key"] = json!("AKIAxSECRET");
    dirty["unknown_field"] = json!("anything");
    let (s, v) = h
        .call("POST", &summaries(&a), Some(&wtok), Some(dirty))
        .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(
        v["performance_summary"]["origin"],
        format!("writer:{writer}")
    );
    let dirty_id = v["id"].as_str().unwrap().to_owned();
    let (_, v) = h
        .call(
            "GET",
            &format!("{}/{dirty_id}", summaries(&a)),
            Some(&rtok),
            None,
        )
        .await;
    let raw = v.to_string();
    for bad in [
        "jane.doe@example.com",
        "123-45-6789",
        "AKIAxSECRET",
        "unknown_field",
    ] {
        assert!(!raw.contains(bad), "{bad} stored: {raw}");
    }
    assert_eq!(
        v["summary"]["app"]["spark_conf"]["spark.executor.memory"],
        "4g"
    );

    // A growing log: a summary with more events replaces; an older one is kept.
    let mut grown = summary.clone();
    grown["app"]["id"] = json!("local-2");
    grown["app"]["completed"] = json!(false);
    grown["app"]["status"] = json!("running");
    let n = grown["diagnostics"]["events_total"].as_u64().unwrap();
    let (s, v) = h
        .call("POST", &summaries(&a), Some(&wtok), Some(grown.clone()))
        .await;
    assert_eq!((s.as_u16(), v["outcome"].as_str()), (201, Some("inserted")));
    let mut done = grown.clone();
    done["app"]["completed"] = json!(true);
    done["app"]["status"] = json!("succeeded");
    done["diagnostics"]["events_total"] = json!(n + 10);
    let (s, v) = h
        .call("POST", &summaries(&a), Some(&wtok), Some(done))
        .await;
    assert_eq!(
        (s.as_u16(), v["outcome"].as_str()),
        (200, Some("replaced")),
        "{v}"
    );
    assert_eq!(v["performance_summary"]["status"], "succeeded");
    let (s, v) = h
        .call("POST", &summaries(&a), Some(&wtok), Some(grown))
        .await;
    assert_eq!(
        (s.as_u16(), v["outcome"].as_str()),
        (200, Some("outdated")),
        "{v}"
    );

    // Refusals: schema, no app id, size.
    let (s, v) = h
        .call(
            "POST",
            &summaries(&a),
            Some(&wtok),
            Some(json!({"schema_version": "1.0", "app": {}})),
        )
        .await;
    assert_eq!(s, 400, "{v}");
    assert!(v["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("schema"));
    let mut no_id = summary.clone();
    no_id["app"]["id"] = Value::Null;
    let (s, v) = h
        .call("POST", &summaries(&a), Some(&wtok), Some(no_id))
        .await;
    assert_eq!(s, 400, "{v}");
    let mut big = summary.clone();
    big["app"]["name"] = json!("x".repeat(17 * 1024 * 1024));
    let (s, _) = h.call("POST", &summaries(&a), Some(&wtok), Some(big)).await;
    assert_eq!(s, 413);

    // Many runs of one application name: filters, pages, trends.
    for i in 0..30 {
        let mut s2 = summary.clone();
        s2["app"]["id"] = json!(format!("local-90{i:02}"));
        s2["app"]["name"] = json!("nightly");
        s2["app"]["start_time"] = json!(1_800_000_000_000i64 + i * 86_400_000);
        s2["app"]["duration_ms"] = json!(60_000 + i * 1000);
        if i % 3 == 0 {
            s2["app"]["status"] = json!("failed");
        }
        let (s, v) = h.call("POST", &summaries(&a), Some(&wtok), Some(s2)).await;
        assert_eq!(s, 201, "{v}");
    }
    let list = |q: String| {
        let h = &h;
        let rtok = rtok.clone();
        let a = a.clone();
        async move {
            let (s, v) = h
                .call("GET", &format!("{}?{q}", summaries(&a)), Some(&rtok), None)
                .await;
            assert_eq!(s, 200, "{q}: {v}");
            v
        }
    };
    let v = list("name=nightly&status=failed".into()).await;
    assert_eq!(v["total_count"], 10);
    let v = list("name=nightly&from=2027-01-16T00:00:00Z&to=1801728000000".into()).await;
    assert!(v["total_count"].as_i64().unwrap() > 0);
    for r in v["performance_summaries"].as_array().unwrap() {
        let t = r["start_time"].as_str().unwrap();
        assert!(("2027-01-16".."2027-02-06").contains(&&t[..10]), "{t}");
    }
    let kind = summary["insights"][0]["kind"].as_str().map(str::to_owned);
    if let Some(kind) = kind {
        let v = list(format!("insight={kind}")).await;
        assert!(v["total_count"].as_i64().unwrap() >= 31);
    }
    let (s, _) = h
        .call(
            "GET",
            &format!("{}?insight=nope", summaries(&a)),
            Some(&rtok),
            None,
        )
        .await;
    assert_eq!(s, 400);
    let (s, _) = h
        .call(
            "GET",
            &format!("{}?start=bogus", summaries(&a)),
            Some(&rtok),
            None,
        )
        .await;
    assert_eq!(s, 400);
    // Cursor pages cover every run once, newest first.
    let mut seen = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let q = match &next {
            Some(c) => format!("name=nightly&limit=7&start={c}"),
            None => "name=nightly&limit=7".into(),
        };
        let v = list(q).await;
        for r in v["performance_summaries"].as_array().unwrap() {
            seen.push(r["app_id"].as_str().unwrap().to_owned());
        }
        next = v["next"].as_str().map(str::to_owned);
        if next.is_none() {
            break;
        }
    }
    let want: Vec<String> = (0..30).rev().map(|i| format!("local-90{i:02}")).collect();
    assert_eq!(seen, want);
    let v = list("name=nightly&limit=5&offset=25".into()).await;
    assert_eq!(v["performance_summaries"].as_array().unwrap().len(), 5);
    // Trends: oldest first, with duration and cost.
    let (s, v) = h
        .call(
            "GET",
            &format!("{}/trends?name=nightly&limit=10", summaries(&a)),
            Some(&rtok),
            None,
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let runs = v["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 10);
    assert_eq!(runs[0]["app_id"], "local-9020");
    assert_eq!(runs[9]["duration_ms"], 89_000);
    assert!(runs.iter().all(|r| r["cost"].as_f64().unwrap() > 0.0));
    assert_eq!(v["median_duration_ms"], 85_000);

    // Every ingest is audited with its outcome.
    let events = h
        .app
        .state
        .store
        .audit_events(&sparkplane_store::AuditQuery {
            action: Some("summary.ingest".into()),
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(events.iter().any(|e| e
        .detail
        .as_deref()
        .is_some_and(|d| d.contains("outcome=unchanged"))));
}

// ---- sources ---------------------------------------------------------------------------

struct Moto {
    child: Child,
    port: u16,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Moto {
    fn start() -> Option<Moto> {
        let bin = root().join(".venv/bin/moto_server");
        if !bin.exists() {
            assert!(
                std::env::var("SPARKPLANE_REQUIRE_ALL").as_deref() != Ok("1"),
                "moto_server is missing from .venv (scripts/setup-deps.sh installs it)"
            );
            eprintln!("SKIP: moto_server not installed");
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let m = Moto { child, port };
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "moto did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(m)
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn bucket(&self, name: &str) -> Arc<dyn ObjectStore> {
        let out = Command::new("curl")
            .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "PUT"])
            .arg(format!("{}/{name}", self.endpoint()))
            .output()
            .unwrap();
        assert!(String::from_utf8_lossy(&out.stdout).starts_with('2'));
        Arc::new(
            AmazonS3Builder::new()
                .with_bucket_name(name)
                .with_region("us-east-1")
                .with_endpoint(self.endpoint())
                .with_allow_http(true)
                .with_access_key_id("test")
                .with_secret_access_key("test")
                .build()
                .unwrap(),
        )
    }
}

async fn put(s: &Arc<dyn ObjectStore>, key: &str, bytes: Vec<u8>) {
    s.put(&ObjPath::from(key), PutPayload::from(bytes))
        .await
        .unwrap();
}

/// Upload a local log (file or directory) under `key`.
async fn upload(s: &Arc<dyn ObjectStore>, local: &Path, key: &str) {
    if local.is_dir() {
        for e in std::fs::read_dir(local).unwrap() {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_str().unwrap().to_owned();
            put(s, &format!("{key}/{name}"), std::fs::read(&p).unwrap()).await;
        }
    } else {
        put(s, key, std::fs::read(local).unwrap()).await;
    }
}

/// (key, etag) of every object: to prove the poller never writes to a source.
async fn snapshot(s: &Arc<dyn ObjectStore>) -> Vec<(String, Option<String>)> {
    use futures_util::TryStreamExt;
    let mut v: Vec<_> = s
        .list(None)
        .map_ok(|o| (o.location.to_string(), o.e_tag))
        .try_collect()
        .await
        .unwrap();
    v.sort();
    v
}

/// The decompressed JSON lines of a real log (read by sparkplane-eventlog).
fn plain_lines(path: &Path) -> Vec<String> {
    let mut lines = Vec::new();
    sparkplane_eventlog::open(path)
        .unwrap()
        .for_each_raw(|_, line| lines.push(String::from_utf8(line.to_vec()).unwrap()))
        .unwrap();
    lines
}

fn gzip(text: &str) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(text.as_bytes()).unwrap();
    e.finish().unwrap()
}

async fn put_source(h: &Harness, inst: &str, token: &str, name: &str, body: Value) -> Value {
    let (s, v) = h
        .call(
            "PUT",
            &format!("/v3/analytics_engines/{inst}/sources/{name}"),
            Some(token),
            Some(body),
        )
        .await;
    assert!(s == 201 || s == 200, "{v}");
    v
}

async fn get_source(h: &Harness, inst: &str, token: &str, name: &str) -> Value {
    let (s, v) = h
        .call(
            "GET",
            &format!("/v3/analytics_engines/{inst}/sources/{name}"),
            Some(token),
            None,
        )
        .await;
    assert_eq!(s, 200, "{v}");
    v
}

/// Wait until a poll finished after `after` (epoch ms) with `ingested >= n`.
async fn wait_ingested(h: &Harness, inst: &str, token: &str, name: &str, n: i64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let v = get_source(h, inst, token, name).await;
        if v["ingested"].as_i64().unwrap() >= n
            && v["progress"]["polling"] == false
            && v["last_poll"].is_string()
        {
            return v;
        }
        assert!(Instant::now() < deadline, "source did not ingest {n}: {v}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn ingest_audits(h: &Harness) -> Vec<String> {
    h.app
        .state
        .store
        .audit_events(&sparkplane_store::AuditQuery {
            action: Some("summary.ingest".into()),
            limit: 100_000,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.detail.unwrap_or_default())
        .collect()
}

async fn sources_ingest_every_layout_once(h: Harness) {
    let Some(moto) = Moto::start() else { return };
    let bucket = moto.bucket("tenant-logs");
    let inst = h.instance("ops").await;
    let (mgr, _, mtok) = h.user_with_token("manager").await;
    h.grant(&inst, &mgr, "Manager").await;
    let (rdr, _, rtok) = h.user_with_token("reader").await;
    h.grant(&inst, &rdr, "Reader").await;

    // Every codec, rolling and single files, in progress, legacy 1.x, an exported summary,
    // and the Databricks cluster-log-delivery layout.
    let logs = [
        (
            "spark43/codec_zstd_single/local-1795593810027.zstd",
            "spark/local-1795593810027.zstd",
        ),
        ("spark43/codec_lz4_single", "spark/"),
        ("spark43/codec_snappy_single", "spark/"),
        ("spark43/codec_lzf_single", "spark/"),
        ("spark43/gzip_multimember", "spark/"),
        ("spark43/inprogress_plain_single", "spark/"),
        (
            "spark43/rolling_3files_zstd/eventlog_v2_local-1795594202668",
            "spark/eventlog_v2_local-1795594202668",
        ),
        ("spark35/codec_zstd_rolling", "spark35/"),
        ("spark1x/legacy_1x_plain", "legacy/"),
    ];
    let mut expected_apps = std::collections::BTreeSet::new();
    // Logs (units) uploaded; two of them are the same application (zstd and gzip copies).
    let mut units = 0usize;
    for (local, key) in logs {
        let p = log(local);
        if key.ends_with('/') {
            // A directory of logs (one or more per test case): upload its entries.
            for e in std::fs::read_dir(&p).unwrap() {
                let e = e.unwrap().path();
                let name = e.file_name().unwrap().to_str().unwrap().to_owned();
                if name.starts_with('.') {
                    continue;
                }
                let dest = if local.starts_with("spark1x") {
                    format!("{key}{}/{name}", p.file_name().unwrap().to_str().unwrap())
                } else {
                    format!("{key}{name}")
                };
                upload(&bucket, &e, &dest).await;
                let l = sparkplane_eventlog::open(&e).unwrap();
                let a = sparkplane_analysis::analyze(&l, &Default::default()).unwrap();
                expected_apps.insert(a.summary.app.id.clone().unwrap());
                units += 1;
            }
        } else {
            upload(&bucket, &p, key).await;
            let a = sparkplane_analysis::analyze(
                &sparkplane_eventlog::open(&p).unwrap(),
                &Default::default(),
            )
            .unwrap();
            expected_apps.insert(a.summary.app.id.clone().unwrap());
            units += 1;
        }
    }
    // Exported summary (`<prefix>/<app_id>/<attempt>/summary.json`) of the PII log.
    let exported = summary_of(&pii_log());
    put(
        &bucket,
        "exports/local-1795597602833/1/summary.json",
        serde_json::to_vec(&exported).unwrap(),
    )
    .await;
    expected_apps.insert("local-1795597602833".into());
    units += 1;
    // Databricks: <cluster>/eventlog/<cluster>_<ip>/<n>/ with two rotated parts + live file.
    let lines = plain_lines(&log("spark43/clean_small/eventlog_v2_local-1795594986851"));
    let third = lines.len() / 3;
    let dbx = "dbx/0101-abc/eventlog/0101-abc_10_0_0_1/4421";
    put(
        &bucket,
        &format!("{dbx}/eventlog-2026-01-01--10-00.gz"),
        gzip(&lines[..third].join("\n")),
    )
    .await;
    put(
        &bucket,
        &format!("{dbx}/eventlog-2026-01-01--11-00.gz"),
        gzip(&lines[third..2 * third].join("\n")),
    )
    .await;
    put(
        &bucket,
        &format!("{dbx}/eventlog"),
        (lines[2 * third..].join("\n") + "\n").into_bytes(),
    )
    .await;
    expected_apps.insert("local-1795594986851".into());
    units += 1;
    // Things that are not logs are ignored.
    put(&bucket, "spark/_SUCCESS", Vec::new()).await;
    put(&bucket, "spark/notes.txt", b"hello".to_vec()).await;

    let before = snapshot(&bucket).await;
    let secret = "moto-secret-PLANTED-42";
    let body = json!({
        "url": "s3://tenant-logs/",
        "endpoint": moto.endpoint(),
        "region": "us-east-1",
        "credentials": {"access_key_id": "test", "secret_access_key": secret}
    });
    // Only a Manager manages sources.
    let (s, _) = h
        .call(
            "PUT",
            &format!("/v3/analytics_engines/{inst}/sources/logs"),
            Some(&rtok),
            Some(body.clone()),
        )
        .await;
    assert_eq!(s, 403);
    let (s, v) = h
        .call(
            "PUT",
            &format!("/v3/analytics_engines/{inst}/sources/logs"),
            Some(&mtok),
            Some(json!({"url": "http://x/y"})),
        )
        .await;
    assert_eq!(s, 400, "{v}");
    // SSRF guard: a source may never point the server at an instance-metadata service.
    for ep in ["http://169.254.169.254", "http://metadata.google.internal"] {
        let (s, v) = h
            .call(
                "PUT",
                &format!("/v3/analytics_engines/{inst}/sources/meta"),
                Some(&mtok),
                Some(json!({"url": "s3://meta-bucket/p", "endpoint": ep})),
            )
            .await;
        assert_eq!(s, 400, "{ep}: {v}");
        assert!(v.to_string().contains("instance-metadata"), "{v}");
    }
    let v = put_source(&h, &inst, &mtok, "logs", body).await;
    assert_eq!(v["credentials"], "redacted");
    assert!(!v.to_string().contains(secret));

    let n = i64::try_from(expected_apps.len()).unwrap();
    let v = wait_ingested(&h, &inst, &mtok, "logs", units as i64).await;
    assert_eq!(v["errors"], 0, "{v}");
    assert!(!v.to_string().contains(secret));
    // The credentials are stored encrypted: the secret is nowhere in the data dir.
    let data = h.settings.data_dir.clone();
    let out = Command::new("grep")
        .args(["-r", "-l", secret])
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        out.stdout.is_empty(),
        "secret found in {}",
        String::from_utf8_lossy(&out.stdout)
    );

    let (s, v) = h
        .call(
            "GET",
            &format!("{}?limit=100", summaries(&inst)),
            Some(&rtok),
            None,
        )
        .await;
    assert_eq!(s, 200);
    let got: std::collections::BTreeSet<String> = v["performance_summaries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            assert_eq!(r["origin"], "source:logs");
            r["app_id"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(got, expected_apps);
    assert_eq!(v["total_count"], n);
    // Logs know where they came from; the in-progress single file is "running".
    let rows = v["performance_summaries"].as_array().unwrap();
    assert!(
        rows.iter()
            .any(|r| r["event_log"]
                == "s3://tenant-logs/dbx/0101-abc/eventlog/0101-abc_10_0_0_1/4421")
    );
    assert!(rows.iter().any(|r| r["status"] == "running"));

    // Polls go on; nothing is ingested twice, and the source is never written to.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(ingest_audits(&h).await.len(), units);
    assert_eq!(snapshot(&bucket).await, before);

    // The live Databricks file grows: its summary is replaced (same id), nothing duplicated.
    let first = rows
        .iter()
        .find(|r| r["app_id"] == "local-1795594986851")
        .unwrap()["id"]
        .clone();
    put(
        &bucket,
        &format!("{dbx}/eventlog"),
        (lines[2 * third..].join("\n") + "\n" + &lines[..1].join("\n") + "\n").into_bytes(),
    )
    .await;
    let v = wait_ingested(&h, &inst, &mtok, "logs", units as i64 + 1).await;
    assert_eq!(v["errors"], 0, "{v}");
    let (_, v) = h
        .call(
            "GET",
            &format!("{}?app_id=local-1795594986851", summaries(&inst)),
            Some(&rtok),
            None,
        )
        .await;
    assert_eq!(v["total_count"], 1);
    assert_eq!(v["performance_summaries"][0]["id"], first);

    // Delete: the source goes, its summaries stay.
    let (s, _) = h
        .call(
            "DELETE",
            &format!("/v3/analytics_engines/{inst}/sources/logs"),
            Some(&mtok),
            None,
        )
        .await;
    assert_eq!(s, 204);
    let (s, _) = h
        .call(
            "GET",
            &format!("/v3/analytics_engines/{inst}/sources/logs"),
            Some(&mtok),
            None,
        )
        .await;
    assert_eq!(s, 404);
    let (_, v) = h.call("GET", &summaries(&inst), Some(&rtok), None).await;
    assert_eq!(v["total_count"], n);
}

async fn source_of_1000_logs_survives_a_restart(h: Harness) {
    const LOGS: usize = 1000;
    let Some(moto) = Moto::start() else { return };
    let bucket = moto.bucket("many-logs");
    // A real small log, made smaller (no environment / AQE plan events), with its app id
    // rewritten per copy.
    let lines = plain_lines(&log("spark43/clean_small/eventlog_v2_local-1795594986851"));
    let base: String = lines
        .iter()
        .filter(|l| {
            !l.contains("SparkListenerEnvironmentUpdate")
                && !l.contains("SQLAdaptiveExecutionUpdate")
        })
        .map(|l| format!("{l}\n"))
        .collect();
    let started = Instant::now();
    let uploads = (0..LOGS).map(|i| {
        let app = format!("local-{}", 1_700_000_000_000u64 + i as u64);
        let bytes = gzip(&base.replace("local-1795594986851", &app));
        let bucket = bucket.clone();
        async move { put(&bucket, &format!("prod/{app}.gz"), bytes).await }
    });
    futures_util::stream::iter(uploads)
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await;
    eprintln!("uploaded {LOGS} logs in {:?}", started.elapsed());

    let inst = h.instance("many").await;
    let (mgr, _, mtok) = h.user_with_token("manager").await;
    h.grant(&inst, &mgr, "Manager").await;
    let started = Instant::now();
    put_source(
        &h,
        &inst,
        &mtok,
        "prod",
        json!({"url": "s3://many-logs/prod", "endpoint": moto.endpoint(),
               "credentials": {"access_key_id": "test", "secret_access_key": "test"}}),
    )
    .await;
    // Restart mid-way, once the progress figure shows a part done.
    let seen_progress;
    loop {
        let v = get_source(&h, &inst, &mtok, "prod").await;
        let done = v["progress"]["done"].as_u64().unwrap();
        if v["progress"]["polling"] == true && done >= 100 {
            assert_eq!(v["progress"]["found"], LOGS as u64);
            seen_progress = Some(v);
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(600), "{v}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!(
        "progress before restart: {}",
        seen_progress.unwrap()["progress"]
    );
    let h = h.restart().await;
    let v = wait_ingested(&h, &inst, &mtok, "prod", LOGS as i64).await;
    let took = started.elapsed();
    eprintln!(
        "ingested {LOGS} logs from a source in {took:?} ({:.1} logs/s), across a restart: {v}",
        LOGS as f64 / took.as_secs_f64()
    );
    assert_eq!(v["errors"], 0);
    assert_eq!(v["ingested"], LOGS as i64);
    assert_eq!(v["objects_seen"], LOGS as i64);
    // Each log was ingested exactly once: no re-ingest after the restart.
    let audits = ingest_audits(&h).await;
    assert_eq!(audits.len(), LOGS, "{:?}", &audits[..audits.len().min(5)]);
    assert!(audits.iter().all(|d| d.contains("outcome=inserted")));
    let (_, v) = h
        .call(
            "GET",
            &format!("{}?limit=1", summaries(&inst)),
            Some(&mtok),
            None,
        )
        .await;
    assert_eq!(v["total_count"], LOGS as i64);
}
