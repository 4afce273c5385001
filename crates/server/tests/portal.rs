//! Web portal in-process: local password login (argon2, `admin set-password`), CSRF on the
//! login form and on logout, failed-login rate limiting, the not-authorized page, session end,
//! the Administrator's audit page, and HTML 404s; on SQLite and (when configured) PostgreSQL.
#![allow(clippy::unwrap_used)]

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{Db, Harness};
use serde_json::Value;

const PW: &str = "correct horse battery staple";

fn text(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

fn csrf_in(html: &str) -> String {
    let i = html.find("name=\"csrf\" value=\"").unwrap() + 19;
    html[i..i + html[i..].find('"').unwrap()].to_owned()
}

fn cookie_of(h: &axum::http::HeaderMap, name: &str) -> Option<String> {
    h.get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with(&format!("{name}=")))
        .map(|c| c.split(';').next().unwrap().to_owned())
}

async fn get(h: &Harness, path: &str, cookie: &str) -> (StatusCode, Value, axum::http::HeaderMap) {
    h.raw(
        Request::builder()
            .uri(path)
            .header("cookie", cookie)
            .body(Body::empty())
            .unwrap(),
    )
    .await
}

async fn post(
    h: &Harness,
    path: &str,
    cookie: &str,
    form: &str,
) -> (StatusCode, Value, axum::http::HeaderMap) {
    h.raw(
        Request::builder()
            .method("POST")
            .uri(path)
            .header("cookie", cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(form.to_owned()))
            .unwrap(),
    )
    .await
}

/// The login page's CSRF cookie and token.
async fn login_form(h: &Harness) -> (String, String) {
    let (s, v, headers) = get(h, "/ui/login", "").await;
    assert_eq!(s, 200);
    let c = cookie_of(&headers, "__Host-sparkplane_login_csrf").unwrap();
    (c, csrf_in(text(&v)))
}

async fn login(h: &Harness, user: &str, pw: &str) -> (StatusCode, Value, axum::http::HeaderMap) {
    let (c, t) = login_form(h).await;
    post(
        h,
        "/ui/login",
        &c,
        &format!(
            "csrf={t}&username={user}&password={}&next=%2Fui%2Faudit",
            pw.replace(' ', "+")
        ),
    )
    .await
}

async fn suite(h: Harness) {
    // Anonymous: redirected to login; unknown portal paths are HTML 404s.
    let (s, _, headers) = get(&h, "/ui/", "").await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(headers["location"]
        .to_str()
        .unwrap()
        .starts_with("/ui/login"));
    let (s, v, _) = get(&h, "/ui/nope", "").await;
    assert_eq!(s, 404);
    assert!(text(&v).contains("<html"));

    sparkplane_server::portal::admin::set_password(&h.settings, "admin", PW)
        .await
        .unwrap();
    assert!(
        sparkplane_server::portal::admin::set_password(&h.settings, "admin", "short")
            .await
            .is_err()
    );

    // Wrong password: 401 page; no CSRF token: 403.
    let (s, v, _) = login(&h, "admin", "wrong password here").await;
    assert_eq!(s, 401);
    assert!(text(&v).contains("Wrong user name or password"));
    let (c, _) = login_form(&h).await;
    let (s, _, _) = post(
        &h,
        "/ui/login",
        &c,
        &format!("username=admin&password={}", PW.replace(' ', "+")),
    )
    .await;
    assert_eq!(s, 403);

    // Right password: a Secure, HttpOnly, SameSite=Lax session; back to `next`.
    let (s, _, headers) = login(&h, "admin", PW).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert_eq!(headers["location"], "/ui/audit");
    let raw = headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("__Host-sparkplane_session="))
        .unwrap();
    for attr in ["Secure", "HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(raw.contains(attr), "{raw}");
    }
    let session = cookie_of(&headers, "__Host-sparkplane_session").unwrap();
    let (s, v, headers) = get(&h, "/ui/audit", &session).await;
    assert_eq!(s, 200);
    assert!(text(&v).contains("portal.login"));
    assert!(headers["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("frame-ancestors 'none'"));
    let (s, v, _) = get(&h, "/ui/", &session).await;
    assert_eq!(s, 200);
    assert!(text(&v).contains("No instances yet"));
    // The Administrator has no role on an instance: its pages are 404 (no data leaks).
    let inst = h.instance("secret-data").await;
    let (s, _, _) = get(&h, &format!("/ui/i/{inst}"), &session).await;
    assert_eq!(s, 404);

    // Logout needs the CSRF token, then ends the session for good.
    let csrf = csrf_in(text(&v));
    let (s, _, _) = post(&h, "/ui/logout", &session, "").await;
    assert_eq!(s, 403);
    let (s, _, _) = post(&h, "/ui/logout", &session, &format!("csrf={csrf}")).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (s, _, _) = get(&h, "/ui/", &session).await;
    assert_eq!(s, StatusCode::SEE_OTHER);

    // Idle timeout: a session unused for more than 30 minutes is ended (audited).
    let (_, _, headers) = login(&h, "admin", PW).await;
    let session = cookie_of(&headers, "__Host-sparkplane_session").unwrap();
    let secret = session.split_once('=').unwrap().1;
    let hash: String = sha2::Digest::finalize(sha2::Digest::chain_update(
        <sha2::Sha256 as sha2::Digest>::new(),
        secret.as_bytes(),
    ))
    .iter()
    .map(|b| format!("{b:02x}"))
    .collect();
    let (s, _, _) = get(&h, "/ui/", &session).await;
    assert_eq!(s, 200);
    h.app
        .state
        .store
        .touch_portal_session(&hash, sparkplane_store::now_ms() - 31 * 60 * 1000)
        .await
        .unwrap();
    let (s, _, _) = get(&h, "/ui/", &session).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(!h.audit("action=portal.session.expire").await.is_empty());

    // A user with a password but no role anywhere: "not authorized", no session.
    h.user("nobody").await;
    sparkplane_server::portal::admin::set_password(&h.settings, "nobody", PW)
        .await
        .unwrap();
    let (s, v, headers) = login(&h, "nobody", PW).await;
    assert_eq!(s, 403);
    assert!(text(&v).contains("Not authorized"));
    assert!(cookie_of(&headers, "__Host-sparkplane_session").is_none());

    // Failed logins are rate-limited per user name (before any hashing).
    let mut limited = false;
    for _ in 0..12 {
        let (s, _, _) = login(&h, "ratelimited", "wrong password!!").await;
        if s == StatusCode::TOO_MANY_REQUESTS {
            limited = true;
            break;
        }
        assert_eq!(s, 401);
    }
    assert!(limited, "login attempts were not rate-limited");
    // Everything above is audited.
    let events = h.audit("action=portal.login").await;
    assert!(events.iter().any(|e| e["outcome"] == "denied"));
    assert!(events.iter().any(|e| e["outcome"] == "success"));
    assert!(!h.audit("action=portal.logout").await.is_empty());
    assert!(!h.audit("action=portal.csrf").await.is_empty());
}

#[tokio::test]
async fn portal_local_login_sqlite() {
    suite(Harness::new(Db::Sqlite).await.unwrap()).await;
}

#[tokio::test]
async fn portal_local_login_postgres() {
    if let Some(h) = Harness::new(Db::Postgres).await {
        suite(h).await;
    }
}
