//! OpenID Connect relying party: the authorization-code flow with PKCE (S256), `state` and
//! `nonce`, ID-token verification against the provider's JWKS, and the userinfo call.
//!
//! Hand-written over `reqwest` + `jsonwebtoken` (both already in the workspace) instead of the
//! `openidconnect` crate: the flow is ~300 lines, and `openidconnect` would add its own HTTP,
//! crypto and serde stacks (dozens of crates) to a 2-core build for the same result.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::config::OidcSettings;

/// Failures of the OIDC flow. Messages never hold tokens or secrets.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    /// The provider could not be reached or answered badly.
    #[error("identity provider: {0}")]
    Provider(String),
    /// The ID token or the callback did not verify.
    #[error("login response rejected: {0}")]
    Invalid(String),
    /// Configuration problem (CA file, secret).
    #[error("OIDC configuration: {0}")]
    Config(String),
}

/// The provider's discovery document (what the flow needs of it).
#[derive(Debug, Clone, Deserialize)]
pub struct Discovery {
    /// Must equal the configured issuer.
    pub issuer: String,
    /// Where the browser is sent.
    pub authorization_endpoint: String,
    /// Code exchange.
    pub token_endpoint: String,
    /// Signing keys.
    pub jwks_uri: String,
    /// Claims of the user (e-mail, when not in the ID token).
    #[serde(default)]
    pub userinfo_endpoint: Option<String>,
    /// RP-initiated logout.
    #[serde(default)]
    pub end_session_endpoint: Option<String>,
}

/// A login in flight, keyed by its `state`.
#[derive(Debug, Clone)]
pub struct PendingLogin {
    /// The `nonce` the ID token must carry.
    pub nonce: String,
    /// PKCE code verifier.
    pub verifier: String,
    /// The redirect URI used (must be repeated in the code exchange).
    pub redirect_uri: String,
    /// Portal path to return to after login.
    pub return_to: String,
    created: Instant,
}

/// The verified identity of a login.
#[derive(Debug, Clone)]
pub struct Identity {
    /// Issuer (as configured).
    pub issuer: String,
    /// Subject.
    pub subject: String,
    /// E-mail claim, if any.
    pub email: Option<String>,
    /// Whether the provider says the e-mail is verified (`email_verified: true`).
    pub email_verified: bool,
    /// Display name claim.
    pub name: Option<String>,
}

#[derive(Debug, Deserialize)]
struct TokenResponse {
    id_token: Option<String>,
    access_token: Option<String>,
}

#[derive(Debug, Deserialize)]
struct IdClaims {
    sub: String,
    #[serde(default)]
    nonce: Option<String>,
    #[serde(default)]
    azp: Option<String>,
    #[serde(default)]
    aud: serde_json::Value,
    #[serde(flatten)]
    rest: serde_json::Map<String, serde_json::Value>,
}

const PENDING_TTL: Duration = Duration::from_secs(600);
const MAX_PENDING: usize = 10_000;
const DISCOVERY_TTL: Duration = Duration::from_secs(3600);

/// The relying party: settings, HTTP client, cached discovery and keys, logins in flight.
pub struct Oidc {
    settings: OidcSettings,
    secret: String,
    http: reqwest::Client,
    discovery: tokio::sync::Mutex<Option<(Discovery, Instant)>>,
    jwks: tokio::sync::Mutex<Option<JwkSet>>,
    pending: Mutex<HashMap<String, PendingLogin>>,
}

/// 32 random bytes, base64url.
pub fn random_token() -> String {
    let mut b = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut b);
    URL_SAFE_NO_PAD.encode(b)
}

/// PKCE S256 challenge of a verifier.
pub fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

impl Oidc {
    /// A relying party for `settings` with the client secret resolved by the caller.
    pub fn new(settings: OidcSettings, secret: String) -> Result<Self, OidcError> {
        let mut b = reqwest::Client::builder()
            .use_rustls_tls()
            .timeout(Duration::from_secs(15))
            .redirect(reqwest::redirect::Policy::none());
        if let Some(path) = &settings.ca_file {
            let pem = std::fs::read(path)
                .map_err(|e| OidcError::Config(format!("{}: {e}", path.display())))?;
            for cert in reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| OidcError::Config(format!("{}: {e}", path.display())))?
            {
                b = b.add_root_certificate(cert);
            }
        }
        let http = b.build().map_err(|e| OidcError::Config(e.to_string()))?;
        Ok(Self {
            settings,
            secret,
            http,
            discovery: tokio::sync::Mutex::new(None),
            jwks: tokio::sync::Mutex::new(None),
            pending: Mutex::new(HashMap::new()),
        })
    }

    /// The configured issuer.
    pub fn issuer(&self) -> &str {
        &self.settings.issuer
    }

    /// A fixed redirect URI, if configured.
    pub fn redirect_url(&self) -> Option<&str> {
        self.settings.redirect_url.as_deref()
    }

    /// The discovery document (cached for an hour).
    pub async fn discovery(&self) -> Result<Discovery, OidcError> {
        let mut guard = self.discovery.lock().await;
        if let Some((d, at)) = guard.as_ref() {
            if at.elapsed() < DISCOVERY_TTL {
                return Ok(d.clone());
            }
        }
        let url = format!("{}/.well-known/openid-configuration", self.settings.issuer);
        let d: Discovery = self.get_json(&url).await?;
        if d.issuer.trim_end_matches('/') != self.settings.issuer {
            return Err(OidcError::Provider(format!(
                "discovery names issuer `{}`, configured `{}`",
                d.issuer, self.settings.issuer
            )));
        }
        *guard = Some((d.clone(), Instant::now()));
        Ok(d)
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, OidcError> {
        let res = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| OidcError::Provider(format!("{url}: {e}")))?;
        if !res.status().is_success() {
            return Err(OidcError::Provider(format!("{url}: HTTP {}", res.status())));
        }
        res.json()
            .await
            .map_err(|e| OidcError::Provider(format!("{url}: {e}")))
    }

    /// Start a login: remember state/nonce/verifier and return (state, authorization URL).
    pub async fn start(
        &self,
        redirect_uri: &str,
        return_to: &str,
    ) -> Result<(String, String), OidcError> {
        let d = self.discovery().await?;
        let state = random_token();
        let nonce = random_token();
        let verifier = random_token();
        let challenge = pkce_challenge(&verifier);
        {
            let mut p = self
                .pending
                .lock()
                .map_err(|_| OidcError::Config("lock poisoned".into()))?;
            p.retain(|_, v| v.created.elapsed() < PENDING_TTL);
            if p.len() >= MAX_PENDING {
                return Err(OidcError::Provider("too many logins in flight".into()));
            }
            p.insert(
                state.clone(),
                PendingLogin {
                    nonce: nonce.clone(),
                    verifier,
                    redirect_uri: redirect_uri.to_owned(),
                    return_to: return_to.to_owned(),
                    created: Instant::now(),
                },
            );
        }
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.settings.client_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("scope", "openid email profile")
            .append_pair("state", &state)
            .append_pair("nonce", &nonce)
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256")
            .finish();
        let sep = if d.authorization_endpoint.contains('?') {
            '&'
        } else {
            '?'
        };
        Ok((state, format!("{}{sep}{query}", d.authorization_endpoint)))
    }

    /// Take (one use) the login in flight for `state`.
    pub fn take_pending(&self, state: &str) -> Option<PendingLogin> {
        let mut p = self.pending.lock().ok()?;
        p.remove(state)
            .filter(|v| v.created.elapsed() < PENDING_TTL)
    }

    /// Finish a login: exchange the code (with the PKCE verifier), verify the ID token
    /// (signature, issuer, audience, expiry, nonce) and read the user's claims.
    pub async fn finish(&self, code: &str, pending: &PendingLogin) -> Result<Identity, OidcError> {
        let d = self.discovery().await?;
        let res = self
            .http
            .post(&d.token_endpoint)
            .basic_auth(
                form_urlencoded::byte_serialize(self.settings.client_id.as_bytes())
                    .collect::<String>(),
                Some(form_urlencoded::byte_serialize(self.secret.as_bytes()).collect::<String>()),
            )
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", pending.redirect_uri.as_str()),
                ("code_verifier", pending.verifier.as_str()),
            ])
            .send()
            .await
            .map_err(|e| OidcError::Provider(format!("token endpoint: {e}")))?;
        if !res.status().is_success() {
            let status = res.status();
            let body = res.text().await.unwrap_or_default();
            let error = serde_json::from_str::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_owned))
                .unwrap_or_default();
            return Err(OidcError::Provider(format!(
                "token endpoint: HTTP {status} {error}"
            )));
        }
        let tokens: TokenResponse = res
            .json()
            .await
            .map_err(|e| OidcError::Provider(format!("token endpoint: {e}")))?;
        let id_token = tokens
            .id_token
            .ok_or_else(|| OidcError::Invalid("no id_token in the token response".into()))?;
        let claims = self.verify_id_token(&d, &id_token).await?;
        if claims.nonce.as_deref() != Some(pending.nonce.as_str()) {
            return Err(OidcError::Invalid("nonce does not match".into()));
        }
        let aud_many = claims.aud.as_array().is_some_and(|a| a.len() > 1);
        if aud_many && claims.azp.as_deref() != Some(self.settings.client_id.as_str()) {
            return Err(OidcError::Invalid("azp is not this client".into()));
        }
        let mut all = claims.rest;
        // The e-mail may be only at the userinfo endpoint (e.g. when the provider keeps ID
        // tokens small); its `sub` must be the ID token's.
        if !all.contains_key("email") {
            if let (Some(url), Some(at)) = (&d.userinfo_endpoint, &tokens.access_token) {
                let info: serde_json::Map<String, serde_json::Value> = {
                    let res = self
                        .http
                        .get(url)
                        .bearer_auth(at)
                        .send()
                        .await
                        .map_err(|e| OidcError::Provider(format!("userinfo: {e}")))?;
                    if !res.status().is_success() {
                        return Err(OidcError::Provider(format!(
                            "userinfo: HTTP {}",
                            res.status()
                        )));
                    }
                    res.json()
                        .await
                        .map_err(|e| OidcError::Provider(format!("userinfo: {e}")))?
                };
                if info.get("sub").and_then(|v| v.as_str()) != Some(claims.sub.as_str()) {
                    return Err(OidcError::Invalid(
                        "userinfo subject differs from the ID token's".into(),
                    ));
                }
                for (k, v) in info {
                    all.entry(k).or_insert(v);
                }
            }
        }
        let email = all.get("email").and_then(|v| v.as_str()).map(str::to_owned);
        // Only a JSON `true` counts (some providers send the string "true": accepted too).
        let email_verified = match all.get("email_verified") {
            Some(serde_json::Value::Bool(b)) => *b,
            Some(serde_json::Value::String(s)) => s == "true",
            _ => false,
        };
        let name = all
            .get("name")
            .or_else(|| all.get("preferred_username"))
            .and_then(|v| v.as_str())
            .map(str::to_owned);
        Ok(Identity {
            issuer: self.settings.issuer.clone(),
            subject: claims.sub,
            email,
            email_verified,
            name,
        })
    }

    async fn verify_id_token(&self, d: &Discovery, token: &str) -> Result<IdClaims, OidcError> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|e| OidcError::Invalid(format!("ID token header: {e}")))?;
        const ALLOWED: [Algorithm; 8] = [
            Algorithm::RS256,
            Algorithm::RS384,
            Algorithm::RS512,
            Algorithm::PS256,
            Algorithm::PS384,
            Algorithm::PS512,
            Algorithm::ES256,
            Algorithm::ES384,
        ];
        if !ALLOWED.contains(&header.alg) {
            return Err(OidcError::Invalid(format!(
                "ID token algorithm {:?} not accepted",
                header.alg
            )));
        }
        let key = self.key_for(d, header.kid.as_deref(), header.alg).await?;
        let mut v = Validation::new(header.alg);
        v.set_issuer(&[self.settings.issuer.as_str(), d.issuer.as_str()]);
        v.set_audience(&[self.settings.client_id.as_str()]);
        v.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        v.leeway = 60;
        let data = jsonwebtoken::decode::<IdClaims>(token, &key, &v)
            .map_err(|e| OidcError::Invalid(format!("ID token: {e}")))?;
        Ok(data.claims)
    }

    async fn key_for(
        &self,
        d: &Discovery,
        kid: Option<&str>,
        alg: Algorithm,
    ) -> Result<DecodingKey, OidcError> {
        let mut guard = self.jwks.lock().await;
        for attempt in 0..2 {
            if guard.is_none() || attempt == 1 {
                let set: JwkSet = self.get_json(&d.jwks_uri).await?;
                *guard = Some(set);
            }
            if let Some(set) = guard.as_ref() {
                let found = set.keys.iter().find(|k| match kid {
                    Some(kid) => k.common.key_id.as_deref() == Some(kid),
                    None => k
                        .common
                        .key_algorithm
                        .is_none_or(|a| format!("{a:?}") == format!("{alg:?}")),
                });
                if let Some(jwk) = found {
                    return DecodingKey::from_jwk(jwk)
                        .map_err(|e| OidcError::Invalid(format!("JWKS key: {e}")));
                }
            }
        }
        Err(OidcError::Invalid(
            "ID token key not in the provider's JWKS".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_s256_matches_rfc7636_example() {
        // RFC 7636 appendix B.
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        assert_ne!(random_token(), random_token());
        assert_eq!(random_token().len(), 43);
    }
}
