//! Portal sessions: the cookie (Secure, HttpOnly, SameSite=Lax, `__Host-` prefix over TLS),
//! idle and absolute expiry, the per-session CSRF token, and the [`Viewer`] extractor.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method};
use axum::response::{IntoResponse, Redirect, Response};
use sha2::{Digest, Sha256};
use sparkplane_iam::Principal;
use sparkplane_store::{now_ms, Outcome, PortalSession, PrincipalRecord};
use subtle::ConstantTimeEq;

use super::pages::PageError;
use super::{Portal, PortalState};
use crate::state::audit_event;

/// Hex SHA-256.
pub fn sha256_hex(s: &str) -> String {
    Sha256::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Name of the session cookie.
pub fn session_cookie(p: &Portal) -> &'static str {
    if p.secure {
        "__Host-sparkplane_session"
    } else {
        "sparkplane_session"
    }
}

/// Name of the cookie binding an OIDC login in flight to this browser.
pub fn login_cookie(p: &Portal) -> &'static str {
    if p.secure {
        "__Host-sparkplane_login"
    } else {
        "sparkplane_login"
    }
}

/// `Set-Cookie` value (Path=/, HttpOnly, SameSite=Lax, Secure over TLS).
pub fn set_cookie(p: &Portal, name: &str, value: &str, max_age_s: Option<i64>) -> String {
    let mut c = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax");
    if p.secure {
        c.push_str("; Secure");
    }
    if let Some(a) = max_age_s {
        c.push_str(&format!("; Max-Age={a}"));
    }
    c
}

/// A cookie's value from the request.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Constant-time string equality.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// The logged-in user of a portal request.
pub struct Viewer {
    /// For policy checks.
    pub principal: Principal,
    /// Name, e-mail.
    pub record: PrincipalRecord,
    /// The session (CSRF token).
    pub session: PortalSession,
}

impl Viewer {
    /// Refuse a form post whose `csrf` field is missing or wrong (audited).
    pub async fn check_csrf(
        &self,
        state: &PortalState,
        given: Option<&str>,
        resource: &str,
    ) -> Result<(), PageError> {
        if given.is_some_and(|g| same(g, &self.session.csrf_token)) {
            return Ok(());
        }
        let mut ev = audit_event(
            Some(&self.principal.id),
            "portal.csrf",
            resource,
            None,
            Outcome::Denied,
            403,
        );
        ev.detail = Some("missing or wrong CSRF token".into());
        let _ = state.app.store.record_audit(&ev).await;
        Err(PageError::Forbidden(
            "This form has expired or did not come from this site (CSRF check failed). Reload the page and try again."
                .into(),
        ))
    }
}

/// Why there is no viewer.
pub enum NoViewer {
    /// Send the browser to the login page.
    Login(String),
    /// A background (polling) request: 401.
    Unauthorized,
    /// Store failure.
    Error(PageError),
}

impl IntoResponse for NoViewer {
    fn into_response(self) -> Response {
        match self {
            NoViewer::Login(next) => {
                let q = form_urlencoded::Serializer::new(String::new())
                    .append_pair("next", &next)
                    .finish();
                Redirect::to(&format!("/ui/login?{q}")).into_response()
            }
            NoViewer::Unauthorized => PageError::Unauthorized.into_response(),
            NoViewer::Error(e) => e.into_response(),
        }
    }
}

/// The live session of a request, if any: looked up by the cookie's hash, ended when idle or
/// past its absolute lifetime (audited), touched at most once a minute.
pub async fn current(
    state: &PortalState,
    headers: &HeaderMap,
) -> Result<Option<Viewer>, PageError> {
    let p = &state.portal;
    let Some(secret) = cookie(headers, session_cookie(p)) else {
        return Ok(None);
    };
    let hash = sha256_hex(secret);
    let store = &state.app.store;
    let Some(s) = store
        .portal_session(&hash)
        .await
        .map_err(PageError::store)?
    else {
        return Ok(None);
    };
    let now = now_ms();
    let expired = if now >= s.expires_at {
        Some("absolute")
    } else if now.saturating_sub(s.last_seen_at) >= p.idle_ms {
        Some("idle")
    } else {
        None
    };
    if let Some(why) = expired {
        let mut ev = audit_event(
            Some(&s.principal_id),
            "portal.session.expire",
            "/ui/",
            None,
            Outcome::Success,
            200,
        );
        ev.detail = Some(format!("{why} timeout"));
        store
            .end_portal_session(&hash, &ev)
            .await
            .map_err(PageError::store)?;
        return Ok(None);
    }
    let Some(record) = store.principal(&s.principal_id) else {
        return Ok(None);
    };
    if now.saturating_sub(s.last_seen_at) > 60_000 {
        store
            .touch_portal_session(&hash, now)
            .await
            .map_err(PageError::store)?;
    }
    Ok(Some(Viewer {
        principal: Principal {
            id: record.id.clone(),
            kind: record.kind,
            administrator: record.administrator,
        },
        record,
        session: s,
    }))
}

impl FromRequestParts<PortalState> for Viewer {
    type Rejection = NoViewer;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &PortalState,
    ) -> Result<Self, Self::Rejection> {
        match current(state, &parts.headers).await {
            Ok(Some(v)) => Ok(v),
            Ok(None) => {
                let background = parts.headers.contains_key("x-portal-poll");
                if background || parts.method != Method::GET {
                    Err(NoViewer::Unauthorized)
                } else {
                    let next = parts
                        .uri
                        .path_and_query()
                        .map(|p| p.as_str().to_owned())
                        .unwrap_or_else(|| "/ui/".into());
                    Err(NoViewer::Login(next))
                }
            }
            Err(e) => Err(NoViewer::Error(e)),
        }
    }
}

/// A safe local return path (`/ui/…` only; never another origin).
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with("/ui/")
                && !n.starts_with("//")
                && !n.contains('\\')
                && !n.contains("://")
                && !n.starts_with("/ui/login")
                && !n.starts_with("/ui/auth/") =>
        {
            n.to_owned()
        }
        _ => "/ui/".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_local() {
        assert_eq!(safe_next(Some("/ui/i/x")), "/ui/i/x");
        assert_eq!(safe_next(Some("https://evil.example/")), "/ui/");
        assert_eq!(safe_next(Some("//evil.example/ui/")), "/ui/");
        assert_eq!(safe_next(Some("/ui/login?next=/ui/")), "/ui/");
        assert_eq!(safe_next(None), "/ui/");
    }

    #[test]
    fn cookies_parse_and_compare() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            "a=1; sparkplane_session=xyz".parse().unwrap(),
        );
        assert_eq!(cookie(&h, "sparkplane_session"), Some("xyz"));
        assert_eq!(cookie(&h, "b"), None);
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd"));
        assert!(!same("abc", "ab"));
    }
}
