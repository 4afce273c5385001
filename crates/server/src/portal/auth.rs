//! Login and logout: the login page, local password login (argon2, rate-limited), the OIDC
//! code flow (start and callback), and who counts as an authorized user. All audited.

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use sparkplane_iam::PrincipalKind;
use sparkplane_store::{now_ms, Outcome, PortalSession, PrincipalRecord};

use super::oidc::{random_token, Identity};
use super::pages::{render, PageError};
use super::session::{
    cookie, current, login_cookie, safe_next, same, session_cookie, set_cookie, sha256_hex,
};
use super::views::{LoginPage, NotAuthorizedPage};
use super::PortalState;
use crate::extract::ClientAddr;
use crate::state::audit_event;

/// Query of the login page.
#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
}

fn csrf_cookie(state: &PortalState) -> &'static str {
    if state.portal.secure {
        "__Host-sparkplane_login_csrf"
    } else {
        "sparkplane_login_csrf"
    }
}

fn login_page_response(
    state: &PortalState,
    next: &str,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    let csrf = random_token();
    let page = LoginPage {
        oidc: state.portal.oidc.is_some(),
        issuer: state
            .portal
            .oidc
            .as_ref()
            .map(|o| o.issuer().to_owned())
            .unwrap_or_default(),
        error,
        next: next.to_owned(),
        csrf: csrf.clone(),
    };
    let cookie = set_cookie(&state.portal, csrf_cookie(state), &csrf, Some(3600));
    let mut res = render(&page).into_response();
    *res.status_mut() = status;
    if let Ok(v) = cookie.parse() {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

/// `GET /ui/login`.
pub async fn login_page(
    State(state): State<PortalState>,
    headers: HeaderMap,
    Query(q): Query<LoginQuery>,
) -> Response {
    let next = safe_next(q.next.as_deref());
    if let Ok(Some(_)) = current(&state, &headers).await {
        return Redirect::to(&next).into_response();
    }
    login_page_response(&state, &next, None, StatusCode::OK)
}

/// Form of `POST /ui/login`.
#[derive(Deserialize)]
pub struct PasswordForm {
    username: String,
    password: String,
    csrf: Option<String>,
    next: Option<String>,
}

/// Whether a principal may use the portal at all: a user with a role on some instance (its
/// access policies), or a platform Administrator.
fn authorized(state: &PortalState, p: &PrincipalRecord) -> bool {
    p.kind == PrincipalKind::User
        && (p.administrator || !state.app.store.instances_with_role(&p.id).is_empty())
}

async fn start_session(
    state: &PortalState,
    p: &PrincipalRecord,
    method: &str,
    next: &str,
    detail: String,
) -> Result<Response, PageError> {
    let secret = random_token();
    let now = now_ms();
    let s = PortalSession {
        id_hash: sha256_hex(&secret),
        principal_id: p.id.clone(),
        csrf_token: random_token(),
        auth_method: method.to_owned(),
        created_at: now,
        last_seen_at: now,
        expires_at: now.saturating_add(state.portal.absolute_ms),
    };
    let mut ev = audit_event(
        Some(&p.id),
        "portal.login",
        "/ui/login",
        None,
        Outcome::Success,
        303,
    );
    ev.detail = Some(detail);
    state
        .app
        .store
        .create_portal_session(&s, &ev)
        .await
        .map_err(PageError::store)?;
    let portal = &state.portal;
    let mut res = Redirect::to(next).into_response();
    let h = res.headers_mut();
    let max_age = portal.absolute_ms / 1000;
    for c in [
        set_cookie(portal, session_cookie(portal), &secret, Some(max_age)),
        set_cookie(portal, login_cookie(portal), "", Some(0)),
        set_cookie(portal, csrf_cookie(state), "", Some(0)),
    ] {
        if let Ok(v) = c.parse() {
            h.append(header::SET_COOKIE, v);
        }
    }
    Ok(res)
}

async fn denied(state: &PortalState, principal: Option<&str>, status: u16, detail: String) {
    let mut ev = audit_event(
        principal,
        "portal.login",
        "/ui/login",
        None,
        Outcome::Denied,
        status,
    );
    ev.detail = Some(detail);
    let _ = state.app.store.record_audit(&ev).await;
}

/// `POST /ui/login`: local username (principal name, id or e-mail) and password.
pub async fn login_password(
    State(state): State<PortalState>,
    peer: ClientAddr,
    headers: HeaderMap,
    Form(f): Form<PasswordForm>,
) -> Result<Response, PageError> {
    let next = safe_next(f.next.as_deref());
    let cookie_csrf = cookie(&headers, csrf_cookie(&state)).unwrap_or_default();
    let form_csrf = f.csrf.as_deref().unwrap_or_default();
    if cookie_csrf.is_empty() || !same(cookie_csrf, form_csrf) {
        denied(
            &state,
            None,
            403,
            "login form without a valid CSRF token".into(),
        )
        .await;
        return Err(PageError::Forbidden(
            "The login form expired or did not come from this site (CSRF check failed). Reload the page and try again."
                .into(),
        ));
    }
    let ip_key = format!(
        "portal-ip:{}",
        peer.0
            .map(|a| a.to_string())
            .unwrap_or_else(|| "local".into())
    );
    let username = f.username.trim().to_owned();
    let user_key = format!("portal-user:{}", username.to_lowercase());
    let limiter = &state.portal.limiter;
    if !limiter.allowed(&ip_key) || !limiter.allowed(&user_key) {
        denied(
            &state,
            None,
            429,
            format!("rate limited (user `{username}`)"),
        )
        .await;
        return Ok(login_page_response(
            &state,
            &next,
            Some("Too many failed attempts. Wait a few minutes and try again.".into()),
            StatusCode::TOO_MANY_REQUESTS,
        ));
    }
    let store = &state.app.store;
    let candidates: Vec<PrincipalRecord> = store
        .principals(PrincipalKind::User)
        .into_iter()
        .filter(|p| {
            p.id == username
                || p.name == username
                || p.email
                    .as_deref()
                    .is_some_and(|e| e.eq_ignore_ascii_case(&username))
        })
        .collect();
    let principal = match candidates.as_slice() {
        [one] => Some(one.clone()),
        _ => None,
    };
    let hash = match &principal {
        Some(p) => store
            .portal_password(&p.id)
            .await
            .map_err(PageError::store)?,
        None => None,
    };
    let password = f.password;
    let ok = {
        let _permit = state
            .app
            .hashing
            .acquire()
            .await
            .map_err(|e| PageError::Internal(e.to_string()))?;
        // Unknown users cost the same hashing work as known ones (no user enumeration).
        let h = hash.clone().unwrap_or_else(|| {
            "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$9sTbSlTio3Biev89thdrlKKiCaYsjjYVJxGAL3swxpQ".into()
        });
        tokio::task::spawn_blocking(move || super::password::verify(&password, &h))
            .await
            .map_err(|e| PageError::Internal(e.to_string()))?
    };
    match principal {
        Some(p) if ok && hash.is_some() => {
            if !authorized(&state, &p) {
                denied(&state, Some(&p.id), 403, "no role on any instance".into()).await;
                return Ok(not_authorized(&p.name, None));
            }
            start_session(&state, &p, "password", &next, "password login".into()).await
        }
        p => {
            limiter.record_failure(&ip_key);
            limiter.record_failure(&user_key);
            denied(
                &state,
                p.as_ref().map(|p| p.id.as_str()),
                401,
                format!("bad user name or password (user `{username}`)"),
            )
            .await;
            Ok(login_page_response(
                &state,
                &next,
                Some("Wrong user name or password.".into()),
                StatusCode::UNAUTHORIZED,
            ))
        }
    }
}

fn redirect_uri(
    state: &PortalState,
    headers: &HeaderMap,
    uri: &axum::http::Uri,
) -> Result<String, PageError> {
    let oidc = state.portal.oidc.as_ref().ok_or(PageError::NotFound)?;
    if let Some(u) = oidc.redirect_url() {
        return Ok(u.to_owned());
    }
    // HTTP/1.1 sends `Host`; HTTP/2 the `:authority` pseudo-header (in the URI).
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| uri.authority().map(|a| a.as_str()))
        .filter(|h| {
            !h.is_empty()
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
        })
        .ok_or_else(|| PageError::BadRequest("missing or invalid Host header".into()))?;
    let scheme = if state.portal.secure { "https" } else { "http" };
    Ok(format!("{scheme}://{host}/ui/auth/callback"))
}

/// `GET /ui/auth/oidc`: send the browser to the provider (state, nonce, PKCE S256).
pub async fn oidc_start(
    State(state): State<PortalState>,
    headers: HeaderMap,
    uri: axum::http::Uri,
    Query(q): Query<LoginQuery>,
) -> Result<Response, PageError> {
    let oidc = state.portal.oidc.as_ref().ok_or(PageError::NotFound)?;
    let next = safe_next(q.next.as_deref());
    let redirect = redirect_uri(&state, &headers, &uri)?;
    let (login_state, url) = oidc.start(&redirect, &next).await.map_err(|e| {
        tracing::warn!(error = %e, "OIDC login could not start");
        PageError::Unavailable(
            "The identity provider cannot be reached right now. Try again in a minute.".into(),
        )
    })?;
    let mut res = Redirect::to(&url).into_response();
    let c = set_cookie(
        &state.portal,
        login_cookie(&state.portal),
        &login_state,
        Some(600),
    );
    if let Ok(v) = c.parse() {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(res)
}

/// Query of the OIDC callback.
#[derive(Debug, Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

fn not_authorized(name: &str, email: Option<&str>) -> Response {
    let page = NotAuthorizedPage {
        name: name.to_owned(),
        email: email.map(str::to_owned),
    };
    let mut res = render(&page).into_response();
    *res.status_mut() = StatusCode::FORBIDDEN;
    res
}

/// The principal an OIDC identity stands for: a bound (issuer, subject) first; else a user
/// whose e-mail equals the identity's, only when the provider says `email_verified: true`.
async fn principal_for(
    state: &PortalState,
    id: &Identity,
) -> Result<Option<PrincipalRecord>, PageError> {
    let store = &state.app.store;
    if let Some(pid) = store
        .oidc_principal(&id.issuer, &id.subject)
        .await
        .map_err(PageError::store)?
    {
        return Ok(store.principal(&pid));
    }
    let Some(email) = id.email.as_deref().filter(|_| id.email_verified) else {
        return Ok(None);
    };
    let matches: Vec<PrincipalRecord> = store
        .principals(PrincipalKind::User)
        .into_iter()
        .filter(|p| {
            p.email
                .as_deref()
                .is_some_and(|e| e.eq_ignore_ascii_case(email))
        })
        .collect();
    Ok(match matches.as_slice() {
        [one] => Some(one.clone()),
        _ => None,
    })
}

/// `GET /ui/auth/callback`: check `state` against this browser's cookie, exchange the code,
/// verify the ID token and nonce, and let in only users on an access policy.
pub async fn oidc_callback(
    State(state): State<PortalState>,
    peer: ClientAddr,
    headers: HeaderMap,
    Query(q): Query<CallbackQuery>,
) -> Result<Response, PageError> {
    let oidc = state.portal.oidc.as_ref().ok_or(PageError::NotFound)?;
    let ip_key = format!(
        "portal-ip:{}",
        peer.0
            .map(|a| a.to_string())
            .unwrap_or_else(|| "local".into())
    );
    if !state.portal.limiter.allowed(&ip_key) {
        denied(&state, None, 429, "rate limited (OIDC callback)".into()).await;
        return Err(PageError::TooManyRequests);
    }
    if let Some(err) = q.error {
        denied(
            &state,
            None,
            401,
            format!(
                "provider error `{err}`: {}",
                q.error_description.unwrap_or_default()
            ),
        )
        .await;
        return Err(PageError::BadRequest(format!(
            "The identity provider did not complete the login ({err})."
        )));
    }
    let (Some(code), Some(login_state)) = (q.code, q.state) else {
        return Err(PageError::BadRequest("missing code or state".into()));
    };
    let bound = cookie(&headers, login_cookie(&state.portal)).unwrap_or_default();
    let fail = |detail: String| {
        let state = state.clone();
        async move {
            state.portal.limiter.record_failure(&ip_key);
            denied(&state, None, 400, detail).await;
        }
    };
    if bound.is_empty() || !same(bound, &login_state) {
        fail("OIDC state does not match this browser's login".into()).await;
        return Err(PageError::BadRequest(
            "This login did not start in this browser (state mismatch). Start again from the login page."
                .into(),
        ));
    }
    let Some(pending) = oidc.take_pending(&login_state) else {
        fail("OIDC state unknown or expired".into()).await;
        return Err(PageError::BadRequest(
            "This login expired or was already used. Start again from the login page.".into(),
        ));
    };
    let id = match oidc.finish(&code, &pending).await {
        Ok(id) => id,
        Err(e) => {
            fail(format!("OIDC: {e}")).await;
            return Err(PageError::BadRequest(format!(
                "The login could not be verified: {e}"
            )));
        }
    };
    let who = format!(
        "iss={} sub={} email={} email_verified={}",
        id.issuer,
        id.subject,
        id.email.as_deref().unwrap_or("-"),
        id.email_verified
    );
    let display = id
        .name
        .clone()
        .or_else(|| id.email.clone())
        .unwrap_or_else(|| id.subject.clone());
    match principal_for(&state, &id).await? {
        Some(p) if authorized(&state, &p) => {
            start_session(
                &state,
                &p,
                "oidc",
                &pending.return_to,
                format!("oidc {who}"),
            )
            .await
        }
        Some(p) => {
            denied(
                &state,
                Some(&p.id),
                403,
                format!("no role on any instance: {who}"),
            )
            .await;
            Ok(not_authorized(&display, id.email.as_deref()))
        }
        None => {
            let why = if id.email.is_some() && !id.email_verified {
                "e-mail not verified by the provider"
            } else {
                "not on any access policy"
            };
            denied(&state, None, 403, format!("{why}: {who}")).await;
            Ok(not_authorized(&display, id.email.as_deref()))
        }
    }
}

/// Form of `POST /ui/logout`.
#[derive(Deserialize)]
pub struct LogoutForm {
    csrf: Option<String>,
}

/// `POST /ui/logout`: end the session (CSRF-checked) and clear the cookie.
pub async fn logout(
    State(state): State<PortalState>,
    viewer: super::session::Viewer,
    Form(f): Form<LogoutForm>,
) -> Result<Response, PageError> {
    viewer
        .check_csrf(&state, f.csrf.as_deref(), "/ui/logout")
        .await?;
    let ev = audit_event(
        Some(&viewer.principal.id),
        "portal.logout",
        "/ui/logout",
        None,
        Outcome::Success,
        303,
    );
    state
        .app
        .store
        .end_portal_session(&viewer.session.id_hash, &ev)
        .await
        .map_err(PageError::store)?;
    let mut res = Redirect::to("/ui/login?next=/ui/").into_response();
    let c = set_cookie(&state.portal, session_cookie(&state.portal), "", Some(0));
    if let Ok(v) = c.parse() {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(res)
}
