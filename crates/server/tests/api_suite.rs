//! The API suite: behaviour of every route family, run on SQLite and on PostgreSQL
//! (`SPARKPLANE_TEST_DATABASE_URL`; required when `SPARKPLANE_REQUIRE_ALL=1`).
#![allow(clippy::unwrap_used)]

mod common;

use axum::body::Body;
use axum::http::Request;
use common::{Db, Harness};
use serde_json::{json, Value};

macro_rules! on_both {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                if let Some(h) = super::Harness::new(super::Db::Sqlite).await { super::$name(h).await }
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(h) = super::Harness::new(super::Db::Postgres).await { super::$name(h).await }
            }
        }
    )*};
}

on_both!(
    token_endpoint,
    principals_and_own_keys,
    instances_lifecycle,
    default_configs_merge_and_refusals,
    bad_input_writes_nothing,
    revocation_is_immediate,
    bad_keys_are_rate_limited,
    access_policies_and_exporter,
    audit_filters_pagination_and_no_secrets,
    runtime_and_limits,
    restart_keeps_everything,
    ops_endpoints,
);

async fn token_endpoint(h: Harness) {
    let (s, v) = h.token_request(&h.admin_key).await;
    assert_eq!(s, 200);
    assert_eq!(v["token_type"], "Bearer");
    assert_eq!(v["expires_in"], 3600);
    assert!(v["expiration"].as_i64().unwrap() > common::now() + 3500);
    assert_eq!(v["access_token"].as_str().unwrap().split('.').count(), 3);
    let post = |body: &'static str| {
        Request::builder()
            .method("POST")
            .uri("/identity/token")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap()
    };
    let (s, v, _) = h.raw(post("grant_type=password&apikey=x")).await;
    assert_eq!(s, 400, "{v}");
    assert!(v["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("grant_type"));
    let (s, v, _) = h
        .raw(post("grant_type=urn:ibm:params:oauth:grant-type:apikey"))
        .await;
    assert_eq!(s, 400);
    assert!(v["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("apikey"));
    let (s, _) = h.token_request("spk_000000000000000000000000_nope").await;
    assert_eq!(s, 401);
    // A correct key id with a wrong secret.
    let wrong = format!("{}x", &h.admin_key[..h.admin_key.len() - 1]);
    let (s, _) = h.token_request(&wrong).await;
    assert_eq!(s, 401);
}

async fn principals_and_own_keys(h: Harness) {
    let (alice, _, alice_t) = h.user_with_token("alice").await;
    let (s, v) = h.call("GET", "/v1/users", Some(&h.admin_token), None).await;
    assert_eq!(s, 200);
    let names: Vec<&str> = v["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["admin", "alice"]);
    assert_eq!(v["users"][1]["type"], "user");
    let sid = h.service_id("exporter").await;
    let (s, v) = h
        .call("GET", "/v1/service_ids", Some(&h.admin_token), None)
        .await;
    assert_eq!(
        (s.as_u16(), v["service_ids"][0]["id"].as_str()),
        (200, Some(sid.as_str()))
    );
    // A user manages its own keys, not others'.
    let (s, v) = h
        .call(
            "POST",
            &format!("/v1/users/{alice}/api_keys"),
            Some(&alice_t),
            Some(json!({"name": "laptop"})),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let own = v["id"].as_str().unwrap().to_owned();
    assert!(v["apikey"].as_str().unwrap().starts_with("spk_"));
    let (s, v) = h
        .call(
            "GET",
            &format!("/v1/users/{alice}/api_keys"),
            Some(&alice_t),
            None,
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(v["api_keys"].as_array().unwrap().len(), 2);
    assert!(
        !v.to_string().contains("spk_"),
        "listing must not show secrets"
    );
    let (s, _) = h
        .call(
            "DELETE",
            &format!("/v1/api_keys/{own}"),
            Some(&alice_t),
            None,
        )
        .await;
    assert_eq!(s, 204);
    let (s, _) = h
        .call(
            "DELETE",
            &format!("/v1/api_keys/{own}"),
            Some(&h.admin_token),
            None,
        )
        .await;
    assert_eq!(s, 404);
    let (s, _) = h
        .call(
            "POST",
            &format!("/v1/service_ids/{sid}/api_keys"),
            Some(&alice_t),
            None,
        )
        .await;
    assert_eq!(s, 403);
    let (s, _) = h
        .call(
            "POST",
            "/v1/users/usr-nope/api_keys",
            Some(&h.admin_token),
            None,
        )
        .await;
    assert_eq!(s, 404);
    // A service ID's keys are not under /v1/users.
    let (s, _) = h
        .call(
            "POST",
            &format!("/v1/users/{sid}/api_keys"),
            Some(&h.admin_token),
            None,
        )
        .await;
    assert_eq!(s, 404);
}

async fn instances_lifecycle(h: Harness) {
    let body = json!({"name": "analytics", "default_config": {"spark.executor.memory": "2g"},
                      "default_runtime": {"spark_version": "3.5"}});
    let (s, v) = h
        .call(
            "POST",
            "/v3/analytics_engines",
            Some(&h.admin_token),
            Some(body),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let id = v["id"].as_str().unwrap().to_owned();
    assert_eq!(v["state"], "active");
    assert_eq!(v["default_runtime"]["spark_version"], "3.5");
    assert_eq!(v["default_config"]["spark.executor.memory"], "2g");
    // The Administrator has no role: not listed, metadata readable, data not.
    let (_, v) = h
        .call("GET", "/v3/analytics_engines", Some(&h.admin_token), None)
        .await;
    assert_eq!(v["analytics_engines"].as_array().unwrap().len(), 0);
    let (s, v) = h
        .call(
            "GET",
            &format!("/v3/analytics_engines/{id}"),
            Some(&h.admin_token),
            None,
        )
        .await;
    assert_eq!(s, 200);
    assert!(
        v.get("default_config").is_none(),
        "admin without role must not see the config: {v}"
    );
    let (reader, _, reader_t) = h.user_with_token("reader").await;
    h.grant(&id, &reader, "Reader").await;
    let (_, v) = h
        .call("GET", "/v3/analytics_engines", Some(&reader_t), None)
        .await;
    let list = v["analytics_engines"].as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(
        (list[0]["id"].as_str(), list[0]["role"].as_str()),
        (Some(id.as_str()), Some("Reader"))
    );
    let (s, v) = h
        .call(
            "GET",
            &format!("/v3/analytics_engines/{id}/state"),
            Some(&reader_t),
            None,
        )
        .await;
    assert_eq!((s.as_u16(), v), (200, json!({"id": id, "state": "active"})));
    let (s, _) = h
        .call(
            "DELETE",
            &format!("/v3/analytics_engines/{id}"),
            Some(&h.admin_token),
            None,
        )
        .await;
    assert_eq!(s, 204);
    for t in [&reader_t, &h.admin_token] {
        let (s, _) = h
            .call("GET", &format!("/v3/analytics_engines/{id}"), Some(t), None)
            .await;
        assert_eq!(s, 404);
    }
    let (_, v) = h
        .call("GET", "/v3/analytics_engines", Some(&reader_t), None)
        .await;
    assert_eq!(v["analytics_engines"].as_array().unwrap().len(), 0);
    let (s, _) = h
        .call(
            "DELETE",
            &format!("/v3/analytics_engines/{id}"),
            Some(&h.admin_token),
            None,
        )
        .await;
    assert_eq!(s, 404);
}

async fn default_configs_merge_and_refusals(h: Harness) {
    let id = h.instance("cfg").await;
    let (mgr, _, t) = h.user_with_token("mgr").await;
    h.grant(&id, &mgr, "Manager").await;
    let url = format!("/v3/analytics_engines/{id}/default_configs");
    let (s, v) = h
        .call(
            "PUT",
            &url,
            Some(&t),
            Some(json!({"spark.a": "1", "spark.b": "2"})),
        )
        .await;
    assert_eq!(
        (s.as_u16(), v.clone()),
        (200, json!({"spark.a": "1", "spark.b": "2"}))
    );
    let (s, v) = h
        .call(
            "PATCH",
            &url,
            Some(&t),
            Some(json!({"spark.b": null, "spark.c": "3"})),
        )
        .await;
    assert_eq!(
        (s.as_u16(), v),
        (200, json!({"spark.a": "1", "spark.c": "3"}))
    );
    let (s, v) = h
        .call("PUT", &url, Some(&t), Some(json!({"spark.z": "9"})))
        .await;
    assert_eq!((s.as_u16(), v), (200, json!({"spark.z": "9"})));
    let before = h.audit("limit=200").await.len();
    for key in [
        "spark.master",
        "spark.authenticate",
        "spark.authenticate.secret",
        "spark.eventLog.dir",
        "spark.local.dir",
        "spark.driver.host",
        "spark.driver.bindAddress",
        "spark.ui.port",
        "spark.jars.ivy",
    ] {
        for method in ["PUT", "PATCH"] {
            let (s, v) = h
                .call(method, &url, Some(&t), Some(json!({ key: "x" })))
                .await;
            assert_eq!(s, 400, "{method} {key}: {v}");
            let msg = v["errors"][0]["message"].as_str().unwrap();
            assert!(msg.contains(key), "message must name {key}: {msg}");
        }
        let (s, _) = h
            .call(
                "POST",
                "/v3/analytics_engines",
                Some(&h.admin_token),
                Some(json!({"name": "x", "default_config": {key: "x"}})),
            )
            .await;
        assert_eq!(s, 400);
    }
    let (s, v) = h
        .call("PUT", &url, Some(&t), Some(json!({"spark.x": 5})))
        .await;
    assert_eq!(s, 400);
    assert!(
        v["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("spark.x"),
        "{v}"
    );
    let (s, _) = h
        .call(
            "PATCH",
            &url,
            Some(&t),
            Some(json!({"spark.x": "a\nspark.master=local"})),
        )
        .await;
    assert_eq!(s, 400);
    let (s, _) = h
        .call("PATCH", &url, Some(&t), Some(json!({"bad key": "1"})))
        .await;
    assert_eq!(s, 400);
    let (_, v) = h.call("GET", &url, Some(&t), None).await;
    assert_eq!(
        v,
        json!({"spark.z": "9"}),
        "refused requests must change nothing"
    );
    assert_eq!(
        h.audit("limit=200").await.len(),
        before,
        "refused input must write no audit event"
    );
}

async fn bad_input_writes_nothing(h: Harness) {
    let users_before = h
        .call("GET", "/v1/users", Some(&h.admin_token), None)
        .await
        .1["users"]
        .as_array()
        .unwrap()
        .len();
    let audit_before = h.audit("limit=200").await.len();
    let cases: Vec<(Vec<u8>, u16, &str)> = vec![
        (b"{\"name\": ".to_vec(), 400, ""),
        (b"[1,2]".to_vec(), 400, ""),
        (br#"{"name": "x", "admin": true}"#.to_vec(), 400, "admin"),
        (br#"{"name": 42}"#.to_vec(), 400, "name"),
        (
            br#"{"name": "x", "administrator": "yes"}"#.to_vec(),
            400,
            "administrator",
        ),
        (br#"{"name": ""}"#.to_vec(), 400, "name"),
        (br#"{}"#.to_vec(), 400, "name"),
        (vec![b' '; 2 * 1024 * 1024], 413, ""),
    ];
    for (body, want, field) in cases {
        let (s, v) = h
            .call_raw("POST", "/v1/users", Some(&h.admin_token), Some(body))
            .await;
        assert_eq!(s.as_u16(), want, "{v}");
        assert!(
            v["errors"][0]["code"].is_string() && v["trace"].is_string(),
            "error shape: {v}"
        );
        assert!(
            v["errors"][0]["message"].as_str().unwrap().contains(field),
            "must name `{field}`: {v}"
        );
    }
    let big = json!({"name": "x", "default_config": {"spark.big": "y".repeat(1100 * 1024)}});
    let (s, _) = h
        .call(
            "POST",
            "/v3/analytics_engines",
            Some(&h.admin_token),
            Some(big),
        )
        .await;
    assert_eq!(s, 413);
    let id = h.instance("limits").await;
    let (s, v) = h
        .call(
            "PUT",
            &format!("/v3/analytics_engines/{id}/resource_consumption_limits"),
            Some(&h.admin_token),
            Some(json!({"max_cores": "8"})),
        )
        .await;
    assert_eq!(s, 403, "authorization comes before validation: {v}");
    let users_after = h
        .call("GET", "/v1/users", Some(&h.admin_token), None)
        .await
        .1["users"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(users_before, users_after);
    // Only the instance creation and the denied PUT above were audited.
    assert_eq!(h.audit("limit=200").await.len(), audit_before + 2);
}

async fn revocation_is_immediate(h: Harness) {
    let (_, kid, t) = h.user_with_token("leaver").await;
    let (s, _) = h.call("GET", "/v3/analytics_engines", Some(&t), None).await;
    assert_eq!(s, 200);
    let (s, _) = h
        .call(
            "DELETE",
            &format!("/v1/api_keys/{kid}"),
            Some(&h.admin_token),
            None,
        )
        .await;
    assert_eq!(s, 204);
    let (s, v) = h.call("GET", "/v3/analytics_engines", Some(&t), None).await;
    assert_eq!(s, 401, "{v}");
    // Tampered and foreign-signed tokens.
    let other = sparkplane_iam::TokenSigner::new(&[1u8; 32]).unwrap();
    let (forged, _) = other.issue("usr-x", &kid, common::now()).unwrap();
    let (s, _) = h
        .call("GET", "/v3/analytics_engines", Some(&forged), None)
        .await;
    assert_eq!(s, 401);
}

async fn bad_keys_are_rate_limited(h: Harness) {
    let mut statuses = Vec::new();
    for _ in 0..15 {
        statuses.push(
            h.token_request("spk_0123456789abcdef01234567_wrong")
                .await
                .0
                .as_u16(),
        );
    }
    assert!(statuses[..10].iter().all(|s| *s == 401), "{statuses:?}");
    assert!(statuses[10..].iter().all(|s| *s == 429), "{statuses:?}");
    let denied = h
        .audit("outcome=denied&action=iam.token.create&limit=200")
        .await;
    assert_eq!(denied.len(), 15);
}

async fn access_policies_and_exporter(h: Harness) {
    let id = h.instance("acl").await;
    let (mgr, _, mgr_t) = h.user_with_token("mgr").await;
    h.grant(&id, &mgr, "Manager").await;
    let bob = h.user("bob").await;
    let sid = h.service_id("exporter").await;
    let url = |p: &str| format!("/v3/analytics_engines/{id}/access_policies/{p}");
    let (s, v) = h
        .call(
            "PUT",
            &url(&bob),
            Some(&mgr_t),
            Some(json!({"role": "Exporter"})),
        )
        .await;
    assert_eq!(s, 400, "{v}");
    let (s, _) = h
        .call(
            "PUT",
            &url(&bob),
            Some(&mgr_t),
            Some(json!({"role": "Owner"})),
        )
        .await;
    assert_eq!(s, 400);
    let (s, v) = h
        .call(
            "PUT",
            &url(&sid),
            Some(&mgr_t),
            Some(json!({"role": "Exporter"})),
        )
        .await;
    assert_eq!(
        (s.as_u16(), v),
        (200, json!({"principal_id": sid, "role": "Exporter"}))
    );
    let (s, _) = h
        .call(
            "PUT",
            &url("usr-unknown"),
            Some(&mgr_t),
            Some(json!({"role": "Reader"})),
        )
        .await;
    assert_eq!(s, 404);
    let (s, v) = h
        .call(
            "GET",
            &format!("/v3/analytics_engines/{id}/access_policies"),
            Some(&mgr_t),
            None,
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(v["access_policies"].as_array().unwrap().len(), 2);
    // The Exporter may read nothing.
    let (_, key) = h.key(&sid).await;
    let sid_t = h.exchange(&key).await;
    for path in [
        format!("/v3/analytics_engines/{id}"),
        format!("/v3/analytics_engines/{id}/default_configs"),
    ] {
        let (s, _) = h.call("GET", &path, Some(&sid_t), None).await;
        assert_eq!(s, 403, "{path}");
    }
    let (s, _) = h.call("DELETE", &url(&sid), Some(&mgr_t), None).await;
    assert_eq!(s, 204);
    let (s, _) = h
        .call(
            "GET",
            &format!("/v3/analytics_engines/{id}"),
            Some(&sid_t),
            None,
        )
        .await;
    assert_eq!(s, 404, "after revocation the instance is invisible");
    let (s, _) = h.call("DELETE", &url(&sid), Some(&mgr_t), None).await;
    assert_eq!(s, 404);
}

async fn audit_filters_pagination_and_no_secrets(h: Harness) {
    let id = h.instance("audited").await;
    let (mgr, _, mgr_t) = h.user_with_token("mgr").await;
    h.grant(&id, &mgr, "Manager").await;
    for i in 0..5 {
        let (s, _) = h
            .call(
                "PATCH",
                &format!("/v3/analytics_engines/{id}/default_configs"),
                Some(&mgr_t),
                Some(json!({ format!("spark.k{i}"): "v" })),
            )
            .await;
        assert_eq!(s, 200);
    }
    let (s, _) = h.call("GET", "/v1/users", Some(&mgr_t), None).await;
    assert_eq!(s, 403);
    let (s, _) = h.call("GET", "/v1/users", Some("garbage"), None).await;
    assert_eq!(s, 401);
    let denied = h.audit("outcome=denied&limit=200").await;
    assert!(denied
        .iter()
        .any(|e| e["status"] == 403 && e["principal_id"] == mgr.as_str()));
    assert!(denied.iter().any(|e| e["status"] == 401
        && e["action"] == "authenticate"
        && e.get("principal_id").is_none()));
    // Instance audit log: only this instance, paginated without overlap.
    let base = format!("/v3/analytics_engines/{id}/audit_events");
    let mut seen = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let q = match &next {
            Some(s) => format!("{base}?limit=2&start={s}"),
            None => format!("{base}?limit=2"),
        };
        let (s, v) = h.call("GET", &q, Some(&mgr_t), None).await;
        assert_eq!(s, 200, "{v}");
        for e in v["audit_events"].as_array().unwrap() {
            assert_eq!(e["instance_id"], id.as_str());
            seen.push(e["id"].as_str().unwrap().to_owned());
        }
        match v["next_start"].as_str() {
            Some(s) => next = Some(s.to_owned()),
            None => break,
        }
    }
    // create + grant + 5 patches.
    assert_eq!(seen.len(), 7, "{seen:?}");
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.reverse();
    sorted.dedup();
    assert_eq!(sorted, seen, "newest first, no duplicates");
    let patches = h
        .audit(&format!(
            "instance_id={id}&action=instance.default_configs.update&limit=200"
        ))
        .await;
    assert_eq!(patches.len(), 5);
    assert!(patches.iter().all(
        |e| e["principal_id"] == mgr.as_str() && e["request_id"].as_str().unwrap().len() == 32
    ));
    let (s, _) = h
        .call(
            "GET",
            "/v1/audit_events?limit=0",
            Some(&h.admin_token),
            None,
        )
        .await;
    assert_eq!(s, 400);
    let (s, _) = h
        .call(
            "GET",
            "/v1/audit_events?since=yesterday",
            Some(&h.admin_token),
            None,
        )
        .await;
    assert_eq!(s, 400);
    let (s, _) = h
        .call(
            "GET",
            "/v1/audit_events?bogus=1",
            Some(&h.admin_token),
            None,
        )
        .await;
    assert_eq!(s, 400);
    let future = h.audit("since=2999-01-01T00:00:00Z").await;
    assert!(future.is_empty());
    // No secret ever lands in the audit log.
    let all = serde_json::to_string(&h.audit("limit=200").await).unwrap();
    assert!(!all.contains("spk_"), "API key in audit log");
    assert!(!all.contains(&h.admin_token[..20]), "token in audit log");
}

async fn runtime_and_limits(h: Harness) {
    let id = h.instance("rt").await;
    let (mgr, _, t) = h.user_with_token("mgr").await;
    h.grant(&id, &mgr, "Manager").await;
    let rt = format!("/v3/analytics_engines/{id}/default_runtime");
    let (s, v) = h.call("GET", &rt, Some(&t), None).await;
    assert_eq!((s.as_u16(), v), (200, json!({"spark_version": "4.3"})));
    let (s, v) = h
        .call("PUT", &rt, Some(&t), Some(json!({"spark_version": "3.5"})))
        .await;
    assert_eq!((s.as_u16(), v), (200, json!({"spark_version": "3.5"})));
    let (s, _) = h
        .call(
            "PUT",
            &rt,
            Some(&t),
            Some(json!({"spark_version": "latest"})),
        )
        .await;
    assert_eq!(s, 400);
    let lim = format!("/v3/analytics_engines/{id}/resource_consumption_limits");
    let (s, v) = h.call("GET", &lim, Some(&t), None).await;
    assert_eq!(s, 200);
    assert_eq!(v["max_cores"], 150);
    let new = json!({"max_cores": 8, "max_memory": "32G", "max_concurrent_applications": 2});
    let (s, v) = h.call("PUT", &lim, Some(&t), Some(new.clone())).await;
    assert_eq!((s.as_u16(), v), (200, new.clone()));
    for bad in [
        json!({"max_cores": 0, "max_memory": "32G", "max_concurrent_applications": 2}),
        json!({"max_cores": 8, "max_memory": "lots", "max_concurrent_applications": 2}),
        json!({"max_cores": 8, "max_memory": "32G"}),
        json!({"max_cores": -1, "max_memory": "32G", "max_concurrent_applications": 2}),
    ] {
        let (s, v) = h.call("PUT", &lim, Some(&t), Some(bad)).await;
        assert_eq!(s, 400, "{v}");
    }
    let (_, v) = h.call("GET", &lim, Some(&t), None).await;
    assert_eq!(v, new);
}

async fn restart_keeps_everything(h: Harness) {
    let id = h.instance("durable").await;
    let (alice, _, alice_t) = h.user_with_token("alice").await;
    let (_, alice_key) = h.key(&alice).await;
    h.grant(&id, &alice, "Manager").await;
    let (s, _) = h
        .call(
            "PUT",
            &format!("/v3/analytics_engines/{id}/default_configs"),
            Some(&alice_t),
            Some(json!({"spark.a": "1"})),
        )
        .await;
    assert_eq!(s, 200);
    let (_, revoked_key) = h.key(&alice).await;
    let revoked_id = revoked_key[4..28].to_owned();
    let (s, _) = h
        .call(
            "DELETE",
            &format!("/v1/api_keys/{revoked_id}"),
            Some(&h.admin_token),
            None,
        )
        .await;
    assert_eq!(s, 204);
    let audit_before = h.audit("limit=200").await;
    let old_admin_token = h.admin_token.clone();
    let h = h.restart().await;
    // Tokens issued before the restart still verify (signing key kept); keys still exchange.
    let (s, v) = h
        .call(
            "GET",
            &format!("/v3/analytics_engines/{id}/default_configs"),
            Some(&alice_t),
            None,
        )
        .await;
    assert_eq!((s.as_u16(), v), (200, json!({"spark.a": "1"})));
    let (s, _) = h
        .call("GET", "/v1/users", Some(&old_admin_token), None)
        .await;
    assert_eq!(s, 200);
    h.exchange(&alice_key).await;
    let (s, _) = h.token_request(&revoked_key).await;
    assert_eq!(s, 401, "a revoked key stays revoked");
    let (_, v) = h
        .call("GET", "/v3/analytics_engines", Some(&alice_t), None)
        .await;
    assert_eq!(v["analytics_engines"][0]["role"], "Manager");
    let audit_after = h.audit("limit=200").await;
    for e in &audit_before {
        assert!(audit_after.contains(e), "audit event lost: {e}");
    }
    assert!(!h.dir.path().join("data/admin-apikey.tmp").exists());
}

async fn ops_endpoints(h: Harness) {
    let (s, v) = h.call("GET", "/healthz", None, None).await;
    assert_eq!((s.as_u16(), v), (200, json!({"status": "ok"})));
    let (s, v) = h.call("GET", "/metrics", None, None).await;
    assert_eq!(s, 200);
    let text = v.as_str().unwrap();
    assert!(text.contains("sparkplane_http_requests_total"), "{text}");
    assert!(text.contains("route=\"/healthz\""), "{text}");
    let req = Request::builder()
        .uri("/v1/users")
        .body(Body::empty())
        .unwrap();
    let (s, v, headers) = h.raw(req).await;
    assert_eq!(s, 401);
    assert_eq!(v["errors"][0]["code"], "unauthorized");
    assert_eq!(
        headers["x-request-id"].to_str().unwrap(),
        v["trace"].as_str().unwrap()
    );
    let (s, v) = h.call("PUT", "/v1/users", Some(&h.admin_token), None).await;
    assert_eq!(
        (s.as_u16(), v["errors"][0]["code"].as_str()),
        (405, Some("method_not_allowed"))
    );
    let _: Value = v;
}
