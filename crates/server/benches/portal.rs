//! Portal server-time benchmark (`cargo bench -p sparkplane-server --bench portal`): the full
//! request path through the router (session lookup, policy check, store query, object read and
//! decryption, template rendering) for
//!   * the page of an application with 1,000 stages and 500 SQL executions, and
//!   * a page of an instance's run list holding 100,000 runs (seeded directly in SQLite, with
//!     application names sealed and blind-indexed as the server writes them), without and with
//!     a name search (`?q=`: names are decrypted and searched in memory),
//!
//! each measured over repeated requests (median, p95, max). Target: under 1 s each.
//!
//! Data lives under $SPARKPLANE_BENCH_DIR (default /tmp) and is removed afterwards.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use sha2::Digest;
use sparkplane_server::{build_app, Settings};
use sparkplane_store::{now_ms, AuditEvent, Origin, Outcome, PortalSession};
use tower::ServiceExt;

const RUNS: usize = 100_000;

async fn call(
    app: &axum::Router,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut b = Request::builder().method(method).uri(path);
    if let Some(t) = token {
        b = b.header("authorization", format!("Bearer {t}"));
    }
    let req = match body {
        Some(v) => b
            .header("content-type", "application/json")
            .body(Body::from(v.to_string()))
            .unwrap(),
        None => b.body(Body::empty()).unwrap(),
    };
    let res = app.clone().oneshot(req).await.unwrap();
    let s = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (s, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

async fn page(app: &axum::Router, path: &str, cookie: &str) -> (StatusCode, usize) {
    let req = Request::builder()
        .uri(path)
        .header("cookie", cookie)
        .body(Body::empty())
        .unwrap();
    let res = app.clone().oneshot(req).await.unwrap();
    let s = res.status();
    let n = res.into_body().collect().await.unwrap().to_bytes().len();
    (s, n)
}

fn big_summary() -> Value {
    let root = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/eventlogs/spark43/spill"
    );
    let file = std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| !p.to_string_lossy().ends_with(".json"))
        .unwrap();
    let log = sparkplane_eventlog::open(&file).unwrap();
    let a = sparkplane_analysis::analyze(&log, &sparkplane_analysis::Options::default()).unwrap();
    let mut s = serde_json::to_value(&a.summary).unwrap();
    let stage0 = s["stages"][0].clone();
    let start = s["app"]["start_time"].as_i64().unwrap_or(0);
    let span = s["app"]["duration_ms"].as_i64().unwrap_or(60_000).max(1000);
    let stages: Vec<Value> = (0..1000)
        .map(|i| {
            let mut st = stage0.clone();
            st["stage_id"] = json!(i);
            st["job_ids"] = json!([i / 5]);
            let t = start + span * i64::from(i) / 1000;
            st["submission_time"] = json!(t);
            st["first_task_launched_time"] = json!(t);
            st["completion_time"] = json!(t + span / 200);
            st["duration_ms"] = json!(span / 200);
            st
        })
        .collect();
    let job0 = s["jobs"][0].clone();
    let jobs: Vec<Value> = (0..200)
        .map(|j| {
            let mut jb = job0.clone();
            jb["job_id"] = json!(j);
            jb["stage_ids"] = json!((j * 5..j * 5 + 5).collect::<Vec<u32>>());
            let t = start + span * i64::from(j) / 200;
            jb["submission_time"] = json!(t);
            jb["completion_time"] = json!(t + span / 200);
            jb["duration_ms"] = json!(span / 200);
            jb["sql_execution_id"] = json!(j);
            jb
        })
        .collect();
    let plan: String = (0..60)
        .map(|i| format!("+- Project [col_{i}#{i}L, amount#{i}] (redacted literals)\n"))
        .collect();
    let sql: Vec<Value> = (0..500)
        .map(|q| json!({"execution_id": q, "root_execution_id": null, "description": format!("query {q}"),
            "start_time": start, "end_time": start + 1000, "duration_ms": 1000 + q, "failed": false,
            "error_message": null, "job_ids": [q % 200], "node_names": ["Project", "Filter"], "metrics": [],
            "physical_plan": plan}))
        .collect();
    s["stages"] = Value::Array(stages);
    s["jobs"] = Value::Array(jobs);
    s["sql"] = Value::Array(sql);
    s["app"]["id"] = json!("bench-big-app");
    s
}

fn stats(name: &str, mut d: Vec<Duration>, bytes: usize) {
    d.sort();
    let ms = |x: Duration| x.as_secs_f64() * 1000.0;
    let p95 = d[(d.len() * 95 / 100).min(d.len() - 1)];
    println!(
        "{name}: median {:.1} ms, p95 {:.1} ms, max {:.1} ms over {} requests ({} KiB page)",
        ms(d[d.len() / 2]),
        ms(p95),
        ms(d[d.len() - 1]),
        d.len(),
        bytes / 1024
    );
}

#[tokio::main]
async fn main() {
    let base = std::env::var("SPARKPLANE_BENCH_DIR")
        .unwrap_or_else(|_| std::env::temp_dir().display().to_string());
    let dir = tempfile::Builder::new()
        .prefix("portal-bench")
        .tempdir_in(base)
        .unwrap();
    let settings = Settings::for_data_dir(&dir.path().join("data"));
    let app = build_app(&settings).await.unwrap();
    let router = app.router.clone();
    let key = std::fs::read_to_string(settings.data_dir.join("admin-apikey")).unwrap();
    let req = Request::builder()
        .method("POST")
        .uri("/identity/token")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(format!(
            "grant_type=urn%3Aibm%3Aparams%3Aoauth%3Agrant-type%3Aapikey&apikey={}",
            key.trim()
        )))
        .unwrap();
    let res = router.clone().oneshot(req).await.unwrap();
    let v: Value =
        serde_json::from_slice(&res.into_body().collect().await.unwrap().to_bytes()).unwrap();
    let admin = v["access_token"].as_str().unwrap().to_owned();
    let (_, v) = call(
        &router,
        "POST",
        "/v3/analytics_engines",
        Some(&admin),
        Some(json!({"name": "bench"})),
    )
    .await;
    let inst = v["id"].as_str().unwrap().to_owned();
    let (_, v) = call(
        &router,
        "POST",
        "/v1/users",
        Some(&admin),
        Some(json!({"name": "viewer"})),
    )
    .await;
    let user = v["id"].as_str().unwrap().to_owned();
    let (s, _) = call(
        &router,
        "PUT",
        &format!("/v3/analytics_engines/{inst}/access_policies/{user}"),
        Some(&admin),
        Some(json!({"role": "Manager"})),
    )
    .await;
    assert!(s.is_success());
    // A portal session for the viewer.
    let secret = "bench-session-secret";
    let hash: String = sha2::Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let now = now_ms();
    let ev = AuditEvent::new("portal.login", "/ui/login", Outcome::Success, 303, "bench");
    app.state
        .store
        .create_portal_session(
            &PortalSession {
                id_hash: hash,
                principal_id: user.clone(),
                csrf_token: "x".into(),
                auth_method: "password".into(),
                created_at: now,
                last_seen_at: now,
                expires_at: now + 3_600_000,
            },
            &ev,
        )
        .await
        .unwrap();
    let cookie = format!("__Host-sparkplane_session={secret}");

    // 1. The big application, ingested through the one ingest path.
    let body = serde_json::to_vec(&big_summary()).unwrap();
    let ing = sparkplane_server::ingest::ingest_summary(
        &app.state,
        sparkplane_server::ingest::IngestRequest {
            instance_id: &inst,
            origin: Origin::Writer(user.clone()),
            bytes: &body,
            principal_id: Some(&user),
            event_log: None,
            application_id: None,
            checkpoint: None,
        },
    )
    .await
    .unwrap();
    let path = format!("/ui/i/{inst}/apps/{}", ing.record.id);
    let mut times = Vec::new();
    let mut size = 0;
    for _ in 0..20 {
        let t = Instant::now();
        let (s, n) = page(&router, &path, &cookie).await;
        times.push(t.elapsed());
        assert_eq!(s, StatusCode::OK);
        size = n;
    }
    stats("app page, 1,000 stages + 500 SQL executions", times, size);

    // 2. 100,000 runs seeded directly in SQLite (one transaction, multi-row inserts).
    let t = Instant::now();
    let db = settings.data_dir.join("sparkplane.db");
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let mut tx = pool.begin().await.unwrap();
    let kinds = [
        "spill",
        "data_skew",
        "gc_pressure",
        "small_files",
        "driver_idle",
    ];
    // Names sealed with the instance's key + blind index, as the server writes them.
    let mut names = Vec::with_capacity(RUNS);
    for i in 0..RUNS {
        let (sealed, index) = app
            .state
            .store
            .summary_name_columns(
                &inst,
                &format!("b-{i:08}"),
                Some(&format!("nightly-job-{}", i % 500)),
            )
            .await
            .unwrap();
        names.push((sealed.unwrap(), index.unwrap()));
    }
    println!("sealed {RUNS} names in {:.1} s", t.elapsed().as_secs_f64());
    for chunk in (0..RUNS).collect::<Vec<_>>().chunks(200) {
        let mut sql = String::from("INSERT INTO performance_summaries (id, instance_id, origin, app_id, attempt, name, name_index, status, completed, spark_version, start_time, end_time, duration_ms, sort_time, core_hours, memory_gb_hours, cost, insight_kinds, insight_count, top_severity, events_total, event_log, application_id, object_key, size_bytes, sha256, ingested_at, updated_at) VALUES ");
        let mut ins = String::from("INSERT INTO performance_summary_insights (summary_id, instance_id, kind, severity, sort_time) VALUES ");
        for (n, i) in chunk.iter().enumerate() {
            let sep = if n == 0 { "" } else { "," };
            let st = 1_700_000_000_000i64 + (*i as i64) * 60_000;
            let status = if i % 17 == 0 { "failed" } else { "succeeded" };
            let kind = kinds[i % kinds.len()];
            let (name, index) = &names[*i];
            sql.push_str(&format!("{sep}('b-{i:08}', '{inst}', 'writer:{user}', 'app-{i}', '1', '{name}', '{index}', '{status}', 1, '4.0', {st}, {}, 90000, {st}, 1.5, 6.0, 0.45, '{kind}', 1, 'warning', 1000, NULL, NULL, 'x', 10, 'x', {st}, {st})", st + 90_000));
            ins.push_str(&format!(
                "{sep}('b-{i:08}', '{inst}', '{kind}', 'warning', {st})"
            ));
        }
        sqlx::query(&sql).execute(&mut *tx).await.unwrap();
        sqlx::query(&ins).execute(&mut *tx).await.unwrap();
    }
    tx.commit().await.unwrap();
    pool.close().await;
    println!("seeded {RUNS} runs in {:.1} s", t.elapsed().as_secs_f64());
    for (name, q) in [
        ("run list, first page of 100,000", String::new()),
        (
            "run list, page 1,000 of 100,000 (offset 49,950)",
            "?page=1000".to_owned(),
        ),
        (
            "run list, search `job-42` in 100,000",
            "?q=job-42".to_owned(),
        ),
        (
            "run list, filter status+insight in 100,000",
            "?status=failed&insight=spill".to_owned(),
        ),
        ("run list live-refresh fragment", "/rows".to_owned()),
    ] {
        let path = format!("/ui/i/{inst}{q}");
        let mut times = Vec::new();
        let mut size = 0;
        for _ in 0..10 {
            let t = Instant::now();
            let (s, n) = page(&router, &path, &cookie).await;
            times.push(t.elapsed());
            assert_eq!(s, StatusCode::OK, "{path}");
            size = n;
        }
        stats(name, times, size);
    }
    app.state.store.close().await;
}
