//! The authorization matrix: every route × every kind of caller, with the expected status
//! written out below as a literal table (deliberately NOT derived from the policy table in
//! `sparkplane-iam`). Runs on SQLite, and on PostgreSQL when configured.
#![allow(clippy::unwrap_used)]

mod common;

use common::{now, Db, Harness};
use serde_json::{json, Value};

/// Columns of the table, in order.
const CALLERS: [&str; 10] = [
    "none",
    "garbage",
    "expired",
    "tampered",
    "revoked",
    "Reader",
    "Writer",
    "Manager",
    "Administrator",
    "Manager of another instance",
];

/// (method, path, expected status per caller in `CALLERS` order).
/// Placeholders: {A} a fresh instance per cell on which Reader/Writer/Manager (and the revoked
/// caller, as Manager) hold roles, {U} a user without roles (Reader on {A}), {S} a service ID,
/// {K} a fresh API key of {U}.
#[rustfmt::skip]
const MATRIX: &[(&str, &str, [u16; 10])] = &[
    //                                                              none garb expd tamp revk Read Writ Mngr Admn OthM
    ("GET",    "/healthz",                                          [200, 200, 200, 200, 200, 200, 200, 200, 200, 200]),
    ("GET",    "/metrics",                                          [200, 200, 200, 200, 200, 200, 200, 200, 200, 200]),
    ("GET",    "/openapi.json",                                     [200, 200, 200, 200, 200, 200, 200, 200, 200, 200]),
    ("POST",   "/identity/token",                                   [200, 200, 200, 200, 200, 200, 200, 200, 200, 200]),
    ("GET",    "/v1/users",                                         [401, 401, 401, 401, 401, 403, 403, 403, 200, 403]),
    ("POST",   "/v1/users",                                         [401, 401, 401, 401, 401, 403, 403, 403, 201, 403]),
    ("GET",    "/v1/service_ids",                                   [401, 401, 401, 401, 401, 403, 403, 403, 200, 403]),
    ("POST",   "/v1/service_ids",                                   [401, 401, 401, 401, 401, 403, 403, 403, 201, 403]),
    ("GET",    "/v1/users/{U}/api_keys",                            [401, 401, 401, 401, 401, 403, 403, 403, 200, 403]),
    ("POST",   "/v1/users/{U}/api_keys",                            [401, 401, 401, 401, 401, 403, 403, 403, 201, 403]),
    ("GET",    "/v1/users/{U}/oidc_identities",                     [401, 401, 401, 401, 401, 403, 403, 403, 200, 403]),
    ("POST",   "/v1/users/{U}/oidc_identities",                     [401, 401, 401, 401, 401, 403, 403, 403, 201, 403]),
    ("GET",    "/v1/service_ids/{S}/api_keys",                      [401, 401, 401, 401, 401, 403, 403, 403, 200, 403]),
    ("POST",   "/v1/service_ids/{S}/api_keys",                      [401, 401, 401, 401, 401, 403, 403, 403, 201, 403]),
    ("DELETE", "/v1/api_keys/{K}",                                  [401, 401, 401, 401, 401, 403, 403, 403, 204, 403]),
    ("GET",    "/v1/audit_events",                                  [401, 401, 401, 401, 401, 403, 403, 403, 200, 403]),
    ("POST",   "/v3/analytics_engines",                             [401, 401, 401, 401, 401, 403, 403, 403, 201, 403]),
    ("GET",    "/v3/analytics_engines",                             [401, 401, 401, 401, 401, 200, 200, 200, 200, 200]),
    ("GET",    "/v3/analytics_engines/{A}",                         [401, 401, 401, 401, 401, 200, 200, 200, 200, 404]),
    ("DELETE", "/v3/analytics_engines/{A}",                         [401, 401, 401, 401, 401, 403, 403, 403, 204, 404]),
    ("GET",    "/v3/analytics_engines/{A}/state",                   [401, 401, 401, 401, 401, 200, 200, 200, 200, 404]),
    ("GET",    "/v3/analytics_engines/{A}/default_configs",         [401, 401, 401, 401, 401, 200, 200, 200, 403, 404]),
    ("PUT",    "/v3/analytics_engines/{A}/default_configs",         [401, 401, 401, 401, 401, 403, 403, 200, 403, 404]),
    ("PATCH",  "/v3/analytics_engines/{A}/default_configs",         [401, 401, 401, 401, 401, 403, 403, 200, 403, 404]),
    ("GET",    "/v3/analytics_engines/{A}/default_runtime",         [401, 401, 401, 401, 401, 200, 200, 200, 403, 404]),
    ("PUT",    "/v3/analytics_engines/{A}/default_runtime",         [401, 401, 401, 401, 401, 403, 403, 200, 403, 404]),
    ("GET",    "/v3/analytics_engines/{A}/resource_consumption_limits", [401, 401, 401, 401, 401, 200, 200, 200, 403, 404]),
    ("PUT",    "/v3/analytics_engines/{A}/resource_consumption_limits", [401, 401, 401, 401, 401, 403, 403, 200, 403, 404]),
    ("GET",    "/v3/analytics_engines/{A}/access_policies",         [401, 401, 401, 401, 401, 403, 403, 200, 200, 404]),
    ("PUT",    "/v3/analytics_engines/{A}/access_policies/{U}",     [401, 401, 401, 401, 401, 403, 403, 200, 200, 404]),
    ("DELETE", "/v3/analytics_engines/{A}/access_policies/{U}",     [401, 401, 401, 401, 401, 403, 403, 204, 204, 404]),
    ("GET",    "/v3/analytics_engines/{A}/audit_events",            [401, 401, 401, 401, 401, 403, 403, 200, 200, 404]),
    // Spark applications and files (no Spark runner in this harness: nothing has been
    // submitted; the submission is refused for its protected conf key before it reaches the
    // runner). Instance data: Administrator without a role gets 404, like no role at all.
    ("POST",   "/v3/analytics_engines/{A}/spark_applications",      [401, 401, 401, 401, 401, 403, 400, 400, 404, 404]),
    ("GET",    "/v3/analytics_engines/{A}/spark_applications",      [401, 401, 401, 401, 401, 200, 200, 200, 404, 404]),
    ("GET",    "/v3/analytics_engines/{A}/spark_applications/{X}",  [401, 401, 401, 401, 401, 404, 404, 404, 404, 404]),
    ("DELETE", "/v3/analytics_engines/{A}/spark_applications/{X}",  [401, 401, 401, 401, 401, 403, 404, 404, 404, 404]),
    ("GET",    "/v3/analytics_engines/{A}/spark_applications/{X}/state", [401, 401, 401, 401, 401, 404, 404, 404, 404, 404]),
    ("GET",    "/v3/analytics_engines/{A}/spark_applications/{X}/logs", [401, 401, 401, 401, 401, 404, 404, 404, 404, 404]),
    ("GET",    "/v3/analytics_engines/{A}/spark_applications/{X}/performance", [401, 401, 401, 401, 401, 404, 404, 404, 404, 404]),
    ("PUT",    "/v3/analytics_engines/{A}/files/{F}",               [401, 401, 401, 401, 401, 403, 201, 201, 404, 404]),
    ("GET",    "/v3/analytics_engines/{A}/files/{F}",               [401, 401, 401, 401, 401, 403, 404, 404, 404, 404]),
    ("DELETE", "/v3/analytics_engines/{A}/files/{F}",               [401, 401, 401, 401, 401, 403, 204, 204, 404, 404]),
    // Encryption at rest, Parquet KMS, library sets ({KN}, {LN}: a KMS key / set that does
    // not exist; wrap/unwrap are instance data: Administrator without a role gets 404).
    ("POST",   "/v1/admin/rotate_master_key",                       [401, 401, 401, 401, 401, 403, 403, 403, 200, 403]),
    ("POST",   "/v3/analytics_engines/{A}/kms/keys",                [401, 401, 401, 401, 401, 403, 403, 201, 403, 404]),
    ("GET",    "/v3/analytics_engines/{A}/kms/keys",                [401, 401, 401, 401, 401, 200, 200, 200, 403, 404]),
    ("POST",   "/v3/analytics_engines/{A}/kms/keys/{KN}/wrap",      [401, 401, 401, 401, 401, 403, 404, 404, 404, 404]),
    ("POST",   "/v3/analytics_engines/{A}/kms/keys/{KN}/unwrap",    [401, 401, 401, 401, 401, 404, 404, 404, 404, 404]),
    ("POST",   "/v3/analytics_engines/{A}/library_sets",            [401, 401, 401, 401, 401, 403, 403, 400, 403, 404]),
    ("GET",    "/v3/analytics_engines/{A}/library_sets",            [401, 401, 401, 401, 401, 200, 200, 200, 403, 404]),
    ("GET",    "/v3/analytics_engines/{A}/library_sets/{LN}",       [401, 401, 401, 401, 401, 404, 404, 404, 403, 404]),
    ("DELETE", "/v3/analytics_engines/{A}/library_sets/{LN}",       [401, 401, 401, 401, 401, 403, 403, 404, 403, 404]),
    // Performance summaries and event-log sources (issue 8). The POST body is empty (400 once
    // authorized); trends without its required `name` is 400 for everyone authenticated;
    // {SM} is a summary that does not exist; {LN} a source that does not exist.
    ("POST",   "/v3/analytics_engines/{A}/performance_summaries",   [401, 401, 401, 401, 401, 403, 400, 400, 403, 404]),
    ("GET",    "/v3/analytics_engines/{A}/performance_summaries",   [401, 401, 401, 401, 401, 200, 200, 200, 404, 404]),
    ("GET",    "/v3/analytics_engines/{A}/performance_summaries/trends", [401, 401, 401, 401, 401, 400, 400, 400, 400, 400]),
    ("GET",    "/v3/analytics_engines/{A}/performance_summaries/{SM}", [401, 401, 401, 401, 401, 404, 404, 404, 404, 404]),
    ("GET",    "/v3/analytics_engines/{A}/sources",                 [401, 401, 401, 401, 401, 403, 403, 200, 403, 404]),
    ("PUT",    "/v3/analytics_engines/{A}/sources/{LN}",            [401, 401, 401, 401, 401, 403, 403, 201, 403, 404]),
    ("GET",    "/v3/analytics_engines/{A}/sources/{LN}",            [401, 401, 401, 401, 401, 403, 403, 404, 403, 404]),
    ("DELETE", "/v3/analytics_engines/{A}/sources/{LN}",            [401, 401, 401, 401, 401, 403, 403, 404, 403, 404]),
];

/// An application id that does not exist.
const NO_APP: &str = "00000000-0000-0000-0000-000000000000";
/// A file path in an instance's area.
const FILE: &str = "jobs/app.py";

/// A valid body for each mutating route.
fn body_for(method: &str, path: &str) -> Option<Value> {
    let p = path;
    match method {
        "POST" if p == "/v1/users" => Some(json!({"name": "matrix-user"})),
        "POST" if p == "/v1/service_ids" => Some(json!({"name": "matrix-sid"})),
        "POST" if p == "/v3/analytics_engines" => Some(json!({"name": "matrix-instance"})),
        "PUT" if p.ends_with("/default_configs") => Some(json!({"spark.executor.cores": "2"})),
        "PATCH" if p.ends_with("/default_configs") => Some(json!({"spark.executor.memory": "4g"})),
        "PUT" if p.ends_with("/default_runtime") => Some(json!({"spark_version": "3.5"})),
        "PUT" if p.ends_with("/resource_consumption_limits") => {
            Some(json!({"max_cores": 8, "max_memory": "32G", "max_concurrent_applications": 2}))
        }
        "PUT" if p.contains("/access_policies/") => Some(json!({"role": "Reader"})),
        "POST" if p.ends_with("/spark_applications") => Some(json!({"application_details": {
            "application": "app.py", "conf": {"spark.master": "local[4]"}}})),
        // A source whose endpoint refuses connections at once (the poll fails, logged).
        "PUT" if p.contains("/sources/") => {
            Some(json!({"url": "s3://matrix-bucket/logs", "endpoint": "http://127.0.0.1:9"}))
        }
        "PUT" if p.contains("/files/") => Some(json!({"not": "python, but bytes are bytes"})),
        "POST" if p.ends_with("/oidc_identities") => {
            Some(json!({"issuer": "https://idp.example.com", "subject": "matrix-subject"}))
        }
        "POST" if p.ends_with("/kms/keys") => Some(json!({"name": "k1"})),
        "POST" if p.ends_with("/wrap") => Some(json!({"key": "AAECAwQFBgcICQoLDA0ODw=="})),
        "POST" if p.ends_with("/unwrap") => Some(json!({"wrapped": "AAAA"})),
        // Refused before anything is built: a requirement without a hash.
        "POST" if p.ends_with("/library_sets") => {
            Some(json!({"name": "m", "python": ["six==1.16.0"]}))
        }
        _ => None,
    }
}

fn tamper(token: &str, admin_id: &str) -> String {
    use base64::Engine;
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let parts: Vec<&str> = token.split('.').collect();
    let mut claims: Value = serde_json::from_slice(&engine.decode(parts[1]).unwrap()).unwrap();
    claims["sub"] = json!(admin_id);
    format!(
        "{}.{}.{}",
        parts[0],
        engine.encode(serde_json::to_vec(&claims).unwrap()),
        parts[2]
    )
}

async fn run_matrix(db: Db) {
    let Some(h) = Harness::new(db).await else {
        return;
    };
    let admin_id = {
        let (_, v) = h.call("GET", "/v1/users", Some(&h.admin_token), None).await;
        v["users"][0]["id"].as_str().unwrap().to_owned()
    };
    let (reader, _, reader_t) = h.user_with_token("reader").await;
    let (writer, _, writer_t) = h.user_with_token("writer").await;
    let (manager, manager_kid, manager_t) = h.user_with_token("manager").await;
    let (other, _, other_t) = h.user_with_token("other-manager").await;
    let (revoked, revoked_kid, revoked_t) = h.user_with_token("revoked").await;
    let u = h.user("no-role").await;
    let s = h.service_id("sid").await;
    let b = h.instance("B").await;
    h.grant(&b, &other, "Manager").await;
    let (st, v) = h
        .call(
            "DELETE",
            &format!("/v1/api_keys/{revoked_kid}"),
            Some(&h.admin_token),
            None,
        )
        .await;
    assert_eq!(st, 204, "{v}");
    let (expired_t, _) = h
        .signer()
        .issue_with_lifetime(&manager, &manager_kid, now() - 7200, 3600)
        .unwrap();
    let tampered_t = tamper(&manager_t, &admin_id);

    let tokens: [Option<String>; 10] = [
        None,
        Some("garbage".into()),
        Some(expired_t),
        Some(tampered_t),
        Some(revoked_t),
        Some(reader_t),
        Some(writer_t),
        Some(manager_t),
        Some(h.admin_token.clone()),
        Some(other_t),
    ];

    let mut failures = Vec::new();
    let mut cells = 0;
    for (method, template, expected) in MATRIX {
        for (col, token) in tokens.iter().enumerate() {
            // Fresh fixtures per cell so destructive cells do not affect the others.
            let mut path = template.to_string();
            if path.contains("{A}") {
                let a = h.instance("A").await;
                for (p, r) in [
                    (&reader, "Reader"),
                    (&writer, "Writer"),
                    (&manager, "Manager"),
                    (&revoked, "Manager"),
                    (&u, "Reader"),
                ] {
                    h.grant(&a, p, r).await;
                }
                path = path.replace("{A}", &a);
            }
            if path.contains("{K}") {
                let (kid, _) = h.key(&u).await;
                path = path.replace("{K}", &kid);
            }
            path = path
                .replace("{U}", &u)
                .replace("{S}", &s)
                .replace("{X}", NO_APP)
                .replace("{F}", FILE)
                .replace("{KN}", "nokey")
                .replace("{LN}", "noset")
                .replace("{SM}", NO_APP);
            let (status, body) = if path == "/identity/token" {
                h.token_request(&h.admin_key).await
            } else {
                h.call(method, &path, token.as_deref(), body_for(method, &path))
                    .await
            };
            cells += 1;
            if status.as_u16() != expected[col] {
                failures.push(format!(
                    "{method} {template} as {}: expected {}, got {status} {body}",
                    CALLERS[col], expected[col]
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {cells} cells wrong ({db:?}):\n{}",
        failures.len(),
        failures.join("\n")
    );
    eprintln!("authorization matrix ({db:?}): {cells} cells, all as expected");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorization_matrix_sqlite() {
    run_matrix(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorization_matrix_postgres() {
    run_matrix(Db::Postgres).await;
}

/// Every route in the OpenAPI document is one the matrix covers, and vice versa; every
/// documented route is served by the router (no fallback 404 "no such route").
#[tokio::test]
async fn openapi_lists_every_route() {
    let h = Harness::new(Db::Sqlite).await.unwrap();
    let (s, doc) = h.call("GET", "/openapi.json", None, None).await;
    assert_eq!(s, 200);
    let mut documented = std::collections::BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if ["get", "put", "post", "delete", "patch"].contains(&method.as_str()) {
                documented.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    let normalise = |p: &str| {
        p.replace("{A}", "{instance_id}")
            .replace("/users/{U}/", "/users/{user_id}/")
            .replace("/service_ids/{S}/", "/service_ids/{service_id}/")
            .replace("{K}", "{api_key_id}")
            .replace("{U}", "{principal_id}")
            .replace("{X}", "{application_id}")
            .replace("{F}", "{path}")
            .replace("{KN}", "{key}")
            .replace("{LN}", "{name}")
            .replace("{SM}", "{summary_id}")
    };
    let tested: std::collections::BTreeSet<(String, String)> = MATRIX
        .iter()
        .map(|(m, p, _)| (m.to_string(), normalise(p)))
        .collect();
    assert_eq!(
        documented, tested,
        "OpenAPI paths differ from the routes under test"
    );
    for (method, path) in &documented {
        let concrete = path.replace('{', "x").replace('}', "");
        let (s, v) = h.call(method, &concrete, Some(&h.admin_token), None).await;
        let fallback = s == 404 && v["errors"][0]["message"] == "no such route";
        assert!(!fallback, "{method} {path} is documented but not routed");
    }
    let (s, v) = h.call("GET", "/v3/nope", Some(&h.admin_token), None).await;
    assert_eq!(
        (s.as_u16(), v["errors"][0]["message"].as_str()),
        (404, Some("no such route"))
    );
}
