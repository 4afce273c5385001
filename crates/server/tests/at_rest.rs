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
