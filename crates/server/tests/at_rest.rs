//! Encryption at rest, end to end through the real router and a real SQLite data dir: plaintext
//! markers planted through the API and the store are found nowhere in the data dir (object
//! files, SQLite file and its -wal, secret files); after a master key rotation (API) and a
//! restart everything still reads; a flipped byte and two swapped objects give a clear
//! integrity error and are never served; the Parquet KMS wraps/unwraps under IAM with audit.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;

use axum::http::StatusCode;
use common::{Db, Harness};
use serde_json::json;

const MARKERS: &[&str] = &[
    "MARKER-default-config-7f3a",
    "MARKER-summary-body-91c2",
    "MARKER-source-secret-55d0",
    "MARKER-source-keyid-66e1",
    "MARKER-platform-object-2b8e",
    "MARKER-app-name-3d9f",
];

/// The analyzer's summary of a real event log, with this application name.
fn summary_named(name: &str) -> serde_json::Value {
    let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
    let path = root.join("testdata/eventlogs/spark43/pii_planted/eventlog_v2_local-1795597602833");
    let l = sparkplane_eventlog::open(&path).unwrap();
    let a = sparkplane_analysis::analyze(&l, &Default::default()).unwrap();
    let mut v = serde_json::to_value(&a.summary).unwrap();
    v["app"]["name"] = json!(name);
    v
}

/// The app names of `GET …/performance_summaries?<query>`.
async fn summary_names(h: &Harness, token: &str, id: &str, query: &str) -> Vec<String> {
    let (s, v) = h
        .call(
            "GET",
            &format!("/v3/analytics_engines/{id}/performance_summaries?{query}"),
            Some(token),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{query}: {v}");
    v["performance_summaries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Every file under `dir` (recursively) that contains `needle`.
fn files_containing(dir: &Path, needle: &[u8]) -> Vec<String> {
    let mut hits = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(bytes) = std::fs::read(&p) {
                if bytes.windows(needle.len()).any(|w| w == needle) {
                    hits.push(p.display().to_string());
                }
            }
        }
    }
    hits
}

async fn instance(h: &Harness) -> String {
    let (s, v) = h
        .call(
            "POST",
            "/v3/analytics_engines",
            Some(&h.admin_token),
            Some(json!({"name": "enc"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn markers_never_at_rest_rotation_and_integrity() {
    let h = Harness::new(Db::Sqlite).await.unwrap();
    let data = h.settings.data_dir.clone();
    let id = instance(&h).await;
    let user = h.user("mgr").await;
    let (_, key) = h.key(&user).await;
    let token = h.exchange(&key).await;
    let (s, v) = h
        .call(
            "PUT",
            &format!("/v3/analytics_engines/{id}/access_policies/{user}"),
            Some(&h.admin_token),
            Some(json!({"role": "Manager"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // 1. A default config value (sealed column).
    let (s, v) = h
        .call(
            "PATCH",
            &format!("/v3/analytics_engines/{id}/default_configs"),
            Some(&token),
            Some(json!({"spark.myapp.note": MARKERS[0]})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // 2. A summary object written through the store (instance key).
    let summary_key = format!("instances/{id}/summaries/planted.json");
    let body = format!("{{\"note\":\"{}\"}}", MARKERS[1]).repeat(5000);
    h.app
        .state
        .objects
        .put(&summary_key, body.clone().into_bytes())
        .await
        .unwrap();
    // 3. Source credentials (the ingest helper keeps them in the object store).
    let (s, v) = h
        .call(
            "PUT",
            &format!("/v3/analytics_engines/{id}/sources/logs"),
            Some(&token),
            Some(json!({
                "url": "s3://bucket/prefix",
                "endpoint": "http://127.0.0.1:9",
                "credentials": {"access_key_id": MARKERS[3], "secret_access_key": MARKERS[2]}
            })),
        )
        .await;
    assert!(s.is_success(), "{s} {v}");
    // 4. A platform-level object (platform key).
    h.app
        .state
        .objects
        .put("platform/planted", MARKERS[4].as_bytes().to_vec())
        .await
        .unwrap();
    // 5. A KMS key; wrap + unwrap (audited).
    let (s, v) = h
        .call(
            "POST",
            &format!("/v3/analytics_engines/{id}/kms/keys"),
            Some(&token),
            Some(json!({"name": "k1"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let dek = "AAECAwQFBgcICQoLDA0ODw==";
    let (s, w) = h
        .call(
            "POST",
            &format!("/v3/analytics_engines/{id}/kms/keys/k1/wrap"),
            Some(&token),
            Some(json!({"key": dek})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{w}");
    let wrapped = w["wrapped"].as_str().unwrap().to_owned();
    // 6. A summary whose application name holds a marker (sealed `name` + blind index).
    let app_name = format!("nightly-{}", MARKERS[5]);
    let (s, v) = h
        .call(
            "POST",
            &format!("/v3/analytics_engines/{id}/performance_summaries"),
            Some(&token),
            Some(summary_named(&app_name)),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");

    // The scan: nothing in plaintext, in any file of the data dir (WAL included).
    h.app.state.store.close().await;
    let h = h.restart().await;
    for m in MARKERS {
        let hits = files_containing(&data, m.as_bytes());
        assert!(hits.is_empty(), "marker {m} found in {hits:?}");
    }
    let db = data.join("sparkplane.db");
    assert!(db.exists());
    // The signing key and TLS-free setup: the signing key file is sealed.
    let sk = std::fs::read(data.join("token-signing-key")).unwrap();
    assert!(sk.starts_with(b"SPKF1"), "signing key sealed");

    // Rotate the master key through the API (Administrator only).
    let (s, _) = h
        .call("POST", "/v1/admin/rotate_master_key", Some(&token), None)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let before = std::fs::read(data.join("master-key")).unwrap();
    let (s, v) = h
        .call(
            "POST",
            "/v1/admin/rotate_master_key",
            Some(&h.admin_token),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(v["rewrapped_data_keys"].as_u64().unwrap() >= 2, "{v}");
    assert_ne!(std::fs::read(data.join("master-key")).unwrap(), before);
    // Still reads while running, and after a restart with the new key.
    let h = h.restart().await;
    let token = h.exchange(&key).await;
    let (s, v) = h
        .call(
            "GET",
            &format!("/v3/analytics_engines/{id}/default_configs"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["spark.myapp.note"], MARKERS[0], "{v}");
    // The sealed app name is still found by exact name and by `name_contains`, and served.
    let want = vec![app_name.clone()];
    assert_eq!(
        summary_names(&h, &token, &id, &format!("name={app_name}")).await,
        want
    );
    assert_eq!(
        summary_names(&h, &token, &id, "name_contains=MARKER-app").await,
        want
    );
    assert!(summary_names(&h, &token, &id, "name=nightly")
        .await
        .is_empty());
    assert_eq!(
        h.app.state.objects.get(&summary_key).await.unwrap(),
        body.as_bytes()
    );
    assert_eq!(
        h.app.state.objects.get("platform/planted").await.unwrap(),
        MARKERS[4].as_bytes()
    );
    let (s, u) = h
        .call(
            "POST",
            &format!("/v3/analytics_engines/{id}/kms/keys/k1/unwrap"),
            Some(&token),
            Some(json!({"wrapped": wrapped})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{u}");
    assert_eq!(u["key"], dek);
    let (s, v) = h
        .call(
            "GET",
            &format!("/v3/analytics_engines/{id}/audit_events?limit=100"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let actions: Vec<&str> = v["events"]
        .as_array()
        .or_else(|| v["audit_events"].as_array())
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert!(actions.contains(&"instance.kms.wrap"), "{actions:?}");
    assert!(actions.contains(&"instance.kms.unwrap"), "{actions:?}");

    // A flipped byte: integrity error, never the bytes.
    let obj = |k: &str| data.join("objects").join(k);
    let mut raw = std::fs::read(obj(&summary_key)).unwrap();
    let mid = raw.len() / 2;
    raw[mid] ^= 0x01;
    std::fs::write(obj(&summary_key), &raw).unwrap();
    let err = h.app.state.objects.get(&summary_key).await.unwrap_err();
    assert!(
        matches!(err, sparkplane_store::StoreError::Integrity(_)),
        "{err}"
    );
    assert!(err.to_string().contains("integrity"), "{err}");
    let api_err: sparkplane_server::error::ApiError = err.into();
    assert_eq!(
        api_err.status_code(),
        (StatusCode::INTERNAL_SERVER_ERROR, "integrity")
    );
    // Two swapped objects of the same instance: both refused.
    let a = format!("instances/{id}/files/a.txt");
    let b = format!("instances/{id}/files/b.txt");
    h.app.state.objects.put(&a, b"aaaa".to_vec()).await.unwrap();
    h.app.state.objects.put(&b, b"bbbb".to_vec()).await.unwrap();
    let tmp = obj(&a).with_extension("swap");
    std::fs::rename(obj(&a), &tmp).unwrap();
    std::fs::rename(obj(&b), obj(&a)).unwrap();
    std::fs::rename(&tmp, obj(&b)).unwrap();
    for k in [&a, &b] {
        assert!(matches!(
            h.app.state.objects.get(k).await,
            Err(sparkplane_store::StoreError::Integrity(_))
        ));
    }
    // A wrapped key from another instance's KMS key does not unwrap here.
    let (s, _) = h
        .call(
            "POST",
            &format!("/v3/analytics_engines/{id}/kms/keys/k1/unwrap"),
            Some(&token),
            Some(json!({"wrapped": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn kms_roles_sqlite() {
    kms_roles(Db::Sqlite).await;
}

/// Migration 0004 and the sealed KMS keys on PostgreSQL too.
#[tokio::test]
async fn kms_roles_postgres() {
    kms_roles(Db::Postgres).await;
}

async fn kms_roles(db: Db) {
    let Some(h) = Harness::new(db).await else {
        return;
    };
    let id = instance(&h).await;
    let mut tokens = Vec::new();
    for role in ["Manager", "Writer", "Reader"] {
        let u = h.user(role).await;
        let (_, k) = h.key(&u).await;
        let (s, _) = h
            .call(
                "PUT",
                &format!("/v3/analytics_engines/{id}/access_policies/{u}"),
                Some(&h.admin_token),
                Some(json!({"role": role})),
            )
            .await;
        assert_eq!(s, StatusCode::OK);
        tokens.push(h.exchange(&k).await);
    }
    let outsider = h.user("outsider").await;
    let (_, ok) = h.key(&outsider).await;
    let outsider = h.exchange(&ok).await;
    let keys = format!("/v3/analytics_engines/{id}/kms/keys");
    let create = |t: String| {
        let keys = keys.clone();
        let h = &h;
        async move {
            h.call("POST", &keys, Some(&t), Some(json!({"name": "k1"})))
                .await
                .0
        }
    };
    assert_eq!(create(tokens[1].clone()).await, StatusCode::FORBIDDEN);
    assert_eq!(create(outsider.clone()).await, StatusCode::NOT_FOUND);
    assert_eq!(create(h.admin_token.clone()).await, StatusCode::FORBIDDEN);
    assert_eq!(create(tokens[0].clone()).await, StatusCode::CREATED);
    assert_eq!(create(tokens[0].clone()).await, StatusCode::CONFLICT);
    let wrap = format!("{keys}/k1/wrap");
    let body = json!({"key": "AAECAwQFBgcICQoLDA0ODw=="});
    let (s, w) = h
        .call("POST", &wrap, Some(&tokens[1]), Some(body.clone()))
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = h
        .call("POST", &wrap, Some(&tokens[2]), Some(body.clone()))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "Reader may not wrap");
    let unwrap = format!("{keys}/k1/unwrap");
    let (s, u) = h
        .call("POST", &unwrap, Some(&tokens[2]), Some(w.clone()))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(u["key"], body["key"]);
    let (s, _) = h.call("POST", &unwrap, Some(&outsider), Some(w)).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "outsider learns nothing");
    let (s, _) = h
        .call(
            "POST",
            &format!("{keys}/nope/wrap"),
            Some(&tokens[1]),
            Some(body),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, v) = h.call("GET", &keys, Some(&tokens[2]), None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["keys"][0]["name"], "k1");
}

// ---- event-log sources: error texts sealed -------------------------------------------------

/// `moto_server` from the project venv on a loopback port (killed on drop).
struct Moto(std::process::Child, u16);

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Moto {
    fn start() -> Option<Moto> {
        let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
        let bin = root.join(".venv/bin/moto_server");
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
        let child = std::process::Command::new(bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let m = Moto(child, port);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(std::time::Instant::now() < deadline, "moto did not start");
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        Some(m)
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.1)
    }

    /// `curl -X PUT` (bucket or object; moto takes unsigned requests).
    fn put(&self, path: &str, body: Option<&Path>) {
        let mut cmd = std::process::Command::new("curl");
        cmd.args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "PUT"]);
        if let Some(b) = body {
            cmd.args([
                "-H",
                "Content-Type: application/octet-stream",
                "--data-binary",
            ])
            .arg(format!("@{}", b.display()));
        }
        let out = cmd
            .arg(format!("{}/{path}", self.endpoint()))
            .output()
            .unwrap();
        let code = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(code.starts_with('2'), "PUT {path}: {code}");
    }
}

/// A source's error texts can quote what a log held: the per-object error of a malformed
/// summary in a real (moto) bucket, and a poll's `last_error`, are sealed with the instance's
/// key (no marker in the data dir) yet read back (API for `last_error`, the store for the
/// checkpoints); plaintext rows from before are read and sealed at the next start.
#[tokio::test]
async fn source_error_texts_sealed() {
    const DETAIL: &str = "MARKER-source-detail-8c1e";
    const LAST_ERROR: &str = "MARKER-source-last-error-4a7b";
    const LEGACY: &str = "MARKER-source-legacy-detail-19fd";
    let Some(moto) = Moto::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let mut settings = sparkplane_server::Settings::for_data_dir(&dir.path().join("data"));
    // Only the poll at start and the one a source change wakes: nothing overwrites what the
    // test records.
    settings.ingest.source_poll_interval = std::time::Duration::from_secs(3600);
    let data = settings.data_dir.clone();
    let h = Harness::start(dir, settings).await;
    let id = instance(&h).await;
    let user = h.user("src-mgr").await;
    let (_, key) = h.key(&user).await;
    let token = h.exchange(&key).await;
    h.grant(&id, &user, "Manager").await;

    // A malformed summary in the bucket: its error quotes the bad value.
    let mut bad = summary_named("nightly");
    bad["schema_version"] = json!(format!("9.{DETAIL}"));
    let file = h.dir.path().join("summary.json");
    std::fs::write(&file, serde_json::to_vec(&bad).unwrap()).unwrap();
    moto.put("errs", None);
    moto.put("errs/logs/app-1/1/summary.json", Some(&file));
    std::fs::remove_file(&file).unwrap();
    let src = format!("/v3/analytics_engines/{id}/sources/logs");
    let (s, v) = h
        .call(
            "PUT",
            &src,
            Some(&token),
            Some(json!({"url": "s3://errs/logs", "endpoint": moto.endpoint(),
                "credentials": {"access_key_id": "test", "secret_access_key": "test"}})),
        )
        .await;
    assert!(s.is_success(), "{s} {v}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let (_, v) = h.call("GET", &src, Some(&token), None).await;
        if v["errors"].as_i64() == Some(1) && v["progress"]["polling"] == false {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no error recorded: {v}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let store = &h.app.state.store;
    let cps = store.source_checkpoints(&id, "logs").await.unwrap();
    let cp = &cps["logs/app-1/1/summary.json"];
    assert_eq!(cp.outcome, "error");
    assert!(
        cp.detail.as_deref().unwrap_or_default().contains(DETAIL),
        "{cp:?}"
    );
    // A poll error (what a failed listing records), read back by the API.
    store
        .finish_source_poll(
            &id,
            "logs",
            1,
            Some(&format!("listing failed: {LAST_ERROR}")),
        )
        .await
        .unwrap();
    let (_, v) = h.call("GET", &src, Some(&token), None).await;
    assert!(
        v["last_error"].as_str().unwrap().contains(LAST_ERROR),
        "{v}"
    );
    // Plaintext left by a server from before (written with SQL as such a server did).
    store.close().await;
    let url = h.settings.database_url.clone();
    assert!(url.starts_with("sqlite:"), "{url}");
    let db = sqlx::SqlitePool::connect(&url).await.unwrap();
    sqlx::query(
        "INSERT INTO event_log_source_objects (instance_id, source_name, object_key, \
         size_bytes, etag, last_modified, outcome, detail, summary_id, seen_at) \
         VALUES (?, 'logs', 'logs/old/eventlog', 1, NULL, 1, 'error', ?, NULL, 1)",
    )
    .bind(&id)
    .bind(format!("bad value {LEGACY}"))
    .execute(&db)
    .await
    .unwrap();
    db.close().await;
    assert!(!files_containing(&data, LEGACY.as_bytes()).is_empty());

    // The next start seals it; nothing in plaintext anywhere; everything still reads.
    let h = h.restart().await;
    let cps = h
        .app
        .state
        .store
        .source_checkpoints(&id, "logs")
        .await
        .unwrap();
    assert!(cps["logs/old/eventlog"]
        .detail
        .as_deref()
        .unwrap()
        .contains(LEGACY));
    assert!(cps["logs/app-1/1/summary.json"]
        .detail
        .as_deref()
        .unwrap()
        .contains(DETAIL));
    h.app.state.store.close().await;
    for m in [DETAIL, LAST_ERROR, LEGACY] {
        let hits = files_containing(&data, m.as_bytes());
        assert!(hits.is_empty(), "marker {m} found in {hits:?}");
    }
}

/// Uploaded files live sealed in the object store: the marker is nowhere in the data dir, the
/// file reads back, a flipped byte or two swapped files give an integrity error and never the
/// bytes, uploads into the working copy's reserved directory are refused, DELETE is idempotent.
#[tokio::test]
async fn uploaded_files_sealed_and_tampering_refused() {
    let h = Harness::new(Db::Sqlite).await.unwrap();
    let data = h.settings.data_dir.clone();
    let id = instance(&h).await;
    let (uid, _, token) = h.user_with_token("writer").await;
    h.grant(&id, &uid, "Writer").await;
    let marker = "MARKER-uploaded-file-4c7d";
    let files = format!("/v3/analytics_engines/{id}/files");
    let secret = format!("{files}/docs/secret.txt");
    for (path, body) in [
        ("docs/secret.txt", marker.repeat(3000)),
        ("docs/other.txt", "other".to_owned()),
    ] {
        let (s, v) = h
            .call_raw(
                "PUT",
                &format!("{files}/{path}"),
                Some(&token),
                Some(body.into_bytes()),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    assert_eq!(
        h.call_raw(
            "PUT",
            &format!("{files}/.sparkplane/library_sets/x/python/evil.py"),
            Some(&token),
            Some(b"x".to_vec())
        )
        .await
        .0,
        StatusCode::BAD_REQUEST
    );
    let hits = files_containing(&data, marker.as_bytes());
    assert!(hits.is_empty(), "marker found in {hits:?}");
    let (s, v) = h.call("GET", &secret, Some(&token), None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v.as_str(), Some(marker.repeat(3000).as_str()));
    // Two swapped files: both refused, with the integrity error code.
    let obj = |rel: &str| {
        data.join("objects/instances")
            .join(&id)
            .join("files")
            .join(rel)
    };
    let tmp = obj("swap.tmp");
    std::fs::rename(obj("docs/secret.txt"), &tmp).unwrap();
    std::fs::rename(obj("docs/other.txt"), obj("docs/secret.txt")).unwrap();
    std::fs::rename(&tmp, obj("docs/other.txt")).unwrap();
    for rel in ["docs/secret.txt", "docs/other.txt"] {
        let (s, v) = h
            .call("GET", &format!("{files}/{rel}"), Some(&token), None)
            .await;
        assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR, "{v}");
        assert_eq!(v["errors"][0]["code"], "integrity", "{v}");
        assert!(!v.to_string().contains("MARKER"), "{v}");
    }
    // Put back, then a flipped byte.
    std::fs::rename(obj("docs/secret.txt"), &tmp).unwrap();
    std::fs::rename(obj("docs/other.txt"), obj("docs/secret.txt")).unwrap();
    std::fs::rename(&tmp, obj("docs/other.txt")).unwrap();
    let (s, _) = h.call("GET", &secret, Some(&token), None).await;
    assert_eq!(s, StatusCode::OK);
    let mut raw = std::fs::read(obj("docs/secret.txt")).unwrap();
    let mid = raw.len() / 2;
    raw[mid] ^= 0x20;
    std::fs::write(obj("docs/secret.txt"), &raw).unwrap();
    let (s, v) = h.call("GET", &secret, Some(&token), None).await;
    assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR, "{v}");
    assert_eq!(v["errors"][0]["code"], "integrity", "{v}");
    assert!(!v.to_string().contains("MARKER"), "{v}");
    for _ in 0..2 {
        let (s, _) = h.call("DELETE", &secret, Some(&token), None).await;
        assert_eq!(s, StatusCode::NO_CONTENT);
    }
    assert!(!obj("docs/secret.txt").exists());
    let (s, _) = h.call("GET", &secret, Some(&token), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // Deleting the instance deletes its stored files.
    assert!(obj("docs/other.txt").exists());
    let (s, v) = h
        .call(
            "DELETE",
            &format!("/v3/analytics_engines/{id}"),
            Some(&h.admin_token),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    assert!(!obj("docs/other.txt").exists());
}
