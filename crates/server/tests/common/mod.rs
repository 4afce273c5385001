//! Test harness: the real router in-process against a real database (SQLite in a temp dir,
//! or a fresh database on the PostgreSQL server named by `SPARKPLANE_TEST_DATABASE_URL`).
#![allow(clippy::unwrap_used)]
#![allow(dead_code)]

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use sparkplane_server::{build_app, App, Settings};
use tower::ServiceExt;

pub const GRANT: &str = "urn:ibm:params:oauth:grant-type:apikey";

/// Which database a suite runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

pub struct Harness {
    pub app: App,
    pub dir: tempfile::TempDir,
    pub settings: Settings,
    pub admin_key: String,
    pub admin_token: String,
}

/// A fresh PostgreSQL database URL, or None (with a printed reason) when no server is
/// configured. With SPARKPLANE_REQUIRE_ALL=1 a missing server is a failure.
pub async fn fresh_pg_url() -> Option<String> {
    let Ok(base) = std::env::var("SPARKPLANE_TEST_DATABASE_URL") else {
        if std::env::var("SPARKPLANE_REQUIRE_ALL").as_deref() == Ok("1") {
            panic!("SPARKPLANE_TEST_DATABASE_URL is not set and SPARKPLANE_REQUIRE_ALL=1");
        }
        eprintln!("SKIP: SPARKPLANE_TEST_DATABASE_URL not set (PostgreSQL suite not run)");
        return None;
    };
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(&base)
        .await
        .expect("connect to test PostgreSQL");
    let name = format!("sp_test_{}", uuid_like());
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .expect("create database");
    let mut url = url::Url::parse(&base).expect("database url");
    url.set_path(&format!("/{name}"));
    Some(url.to_string())
}

fn uuid_like() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let n = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{:x}{:x}", n, std::process::id())
}

impl Harness {
    /// A started app on `db`, or None when that database is not available (skip).
    pub async fn new(db: Db) -> Option<Harness> {
        let dir = tempfile::tempdir().unwrap();
        let mut settings = Settings::for_data_dir(&dir.path().join("data"));
        if db == Db::Postgres {
            settings.database_url = fresh_pg_url().await?;
        }
        Some(Self::start(dir, settings).await)
    }

    pub async fn start(dir: tempfile::TempDir, settings: Settings) -> Harness {
        let app = build_app(&settings).await.expect("build app");
        let admin_key = std::fs::read_to_string(settings.data_dir.join("admin-apikey"))
            .unwrap()
            .trim()
            .to_owned();
        let mut h = Harness {
            app,
            dir,
            settings,
            admin_key: admin_key.clone(),
            admin_token: String::new(),
        };
        h.admin_token = h.exchange(&admin_key).await;
        h
    }

    /// Stop (close the DB) and start again on the same data dir and database.
    pub async fn restart(self) -> Harness {
        self.app.state.store.close().await;
        let Harness { dir, settings, .. } = self;
        Self::start(dir, settings).await
    }

    pub async fn raw(&self, req: Request<Body>) -> (StatusCode, Value, axum::http::HeaderMap) {
        let res = self.app.router.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        let v = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        (status, v, headers)
    }

    /// Call with an optional bearer token and an optional raw body.
    pub async fn call_raw(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> (StatusCode, Value) {
        let mut b = Request::builder()
            .method(Method::from_bytes(method.as_bytes()).unwrap())
            .uri(path);
        if let Some(t) = token {
            b = b.header("authorization", format!("Bearer {t}"));
        }
        let req = match body {
            Some(bytes) => b
                .header("content-type", "application/json")
                .body(Body::from(bytes))
                .unwrap(),
            None => b.body(Body::empty()).unwrap(),
        };
        let (s, v, _) = self.raw(req).await;
        (s, v)
    }

    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        self.call_raw(
            method,
            path,
            token,
            body.map(|b| serde_json::to_vec(&b).unwrap()),
        )
        .await
    }

    /// Exchange an API key (status, body).
    pub async fn token_request(&self, apikey: &str) -> (StatusCode, Value) {
        let form = format!("grant_type={}&apikey={}", GRANT, apikey);
        let req = Request::builder()
            .method("POST")
            .uri("/identity/token")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(form))
            .unwrap();
        let (s, v, _) = self.raw(req).await;
        (s, v)
    }

    pub async fn exchange(&self, apikey: &str) -> String {
        let (s, v) = self.token_request(apikey).await;
        assert_eq!(s, StatusCode::OK, "token exchange: {v}");
        v["access_token"].as_str().unwrap().to_owned()
    }

    /// Admin creates a user; returns its id.
    pub async fn user(&self, name: &str) -> String {
        let (s, v) = self
            .call(
                "POST",
                "/v1/users",
                Some(&self.admin_token),
                Some(json!({"name": name})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        v["id"].as_str().unwrap().to_owned()
    }

    pub async fn service_id(&self, name: &str) -> String {
        let (s, v) = self
            .call(
                "POST",
                "/v1/service_ids",
                Some(&self.admin_token),
                Some(json!({"name": name})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        v["id"].as_str().unwrap().to_owned()
    }

    /// Admin creates a key for a principal; returns (key id, api key).
    pub async fn key(&self, principal: &str) -> (String, String) {
        let kind = if principal.starts_with("usr-") {
            "users"
        } else {
            "service_ids"
        };
        let (s, v) = self
            .call(
                "POST",
                &format!("/v1/{kind}/{principal}/api_keys"),
                Some(&self.admin_token),
                None,
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        (
            v["id"].as_str().unwrap().to_owned(),
            v["apikey"].as_str().unwrap().to_owned(),
        )
    }

    /// A user with a key and a token: (user id, key id, token).
    pub async fn user_with_token(&self, name: &str) -> (String, String, String) {
        let id = self.user(name).await;
        let (kid, key) = self.key(&id).await;
        let token = self.exchange(&key).await;
        (id, kid, token)
    }

    pub async fn instance(&self, name: &str) -> String {
        let (s, v) = self
            .call(
                "POST",
                "/v3/analytics_engines",
                Some(&self.admin_token),
                Some(json!({"name": name})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        v["id"].as_str().unwrap().to_owned()
    }

    pub async fn grant(&self, instance: &str, principal: &str, role: &str) {
        let (s, v) = self
            .call(
                "PUT",
                &format!("/v3/analytics_engines/{instance}/access_policies/{principal}"),
                Some(&self.admin_token),
                Some(json!({"role": role})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }

    /// The token-signing key of this server (to mint expired tokens in tests).
    pub fn signer(&self) -> sparkplane_iam::TokenSigner {
        let key = std::fs::read(self.settings.data_dir.join("token-signing-key")).unwrap();
        sparkplane_iam::TokenSigner::new(&key).unwrap()
    }

    pub async fn audit(&self, query: &str) -> Vec<Value> {
        let (s, v) = self
            .call(
                "GET",
                &format!("/v1/audit_events?{query}"),
                Some(&self.admin_token),
                None,
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        v["audit_events"].as_array().unwrap().clone()
    }
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}
