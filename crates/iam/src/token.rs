//! Bearer tokens: HS256 JWTs naming the principal and the API key they were exchanged from,
//! valid one hour. Revocation is checked by the caller against the key's status.
//!
//! Application KMS tokens ([`AppKmsClaims`]) are a second kind, signed with the same key but
//! under another issuer: bound to one principal, instance and Spark application, they are
//! accepted only by that instance's KMS wrap/unwrap routes, while the application runs (the
//! caller checks the application's state), for [`APP_KMS_TOKEN_MAX_LIFETIME_SECS`] at most.
//! [`TokenSigner::verify`] refuses them and [`TokenSigner::verify_app_kms`] refuses ordinary
//! tokens.

use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

/// Lifetime of a bearer token.
pub const TOKEN_LIFETIME_SECS: i64 = 3600;
const ISSUER: &str = "sparkplane";
/// Longest life of an application KMS token (the app's end revokes it earlier).
pub const APP_KMS_TOKEN_MAX_LIFETIME_SECS: i64 = 12 * 3600;
const APP_KMS_ISSUER: &str = "sparkplane-app-kms";
/// The one scope application tokens carry.
pub const APP_KMS_SCOPE: &str = "kms.wrap_unwrap";

/// JWT claims.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    /// Principal id.
    pub sub: String,
    /// API key id the token was exchanged from.
    pub kid: String,
    /// Issuer (`sparkplane`).
    pub iss: String,
    /// Issued at (epoch seconds).
    pub iat: i64,
    /// Expiry (epoch seconds).
    pub exp: i64,
}

/// Claims of an application KMS token.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AppKmsClaims {
    /// Principal id of the submitter (the KMS checks its role on the instance).
    pub sub: String,
    /// API key id the submitter's token was exchanged from (revoking it revokes this token).
    pub kid: String,
    /// Issuer (`sparkplane-app-kms`).
    pub iss: String,
    /// Issued at (epoch seconds).
    pub iat: i64,
    /// Expiry (epoch seconds).
    pub exp: i64,
    /// Instance whose KMS accepts the token.
    pub inst: String,
    /// Spark application the token was handed to.
    pub app: String,
    /// Always [`APP_KMS_SCOPE`].
    pub scope: String,
}

/// Token errors (all mean HTTP 401 to a client).
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// Bad signature, malformed, wrong issuer, expired...
    #[error("invalid token: {0}")]
    Invalid(String),
    /// Signing failed.
    #[error("could not sign token: {0}")]
    Sign(String),
    /// The signing key is too short.
    #[error("token signing key must be at least 32 bytes")]
    WeakKey,
}

/// Issues and verifies tokens with one HMAC key.
pub struct TokenSigner {
    enc: EncodingKey,
    dec: DecodingKey,
    validation: Validation,
    app_validation: Validation,
}

impl TokenSigner {
    /// A signer from a secret of at least 32 bytes.
    pub fn new(secret: &[u8]) -> Result<Self, TokenError> {
        if secret.len() < 32 {
            return Err(TokenError::WeakKey);
        }
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        let mut app_validation = validation.clone();
        app_validation.set_issuer(&[APP_KMS_ISSUER]);
        Ok(Self {
            enc: EncodingKey::from_secret(secret),
            dec: DecodingKey::from_secret(secret),
            validation,
            app_validation,
        })
    }

    /// Issue a token for `principal` from key `key_id` at `now` (epoch seconds).
    pub fn issue(
        &self,
        principal: &str,
        key_id: &str,
        now: i64,
    ) -> Result<(String, Claims), TokenError> {
        self.issue_with_lifetime(principal, key_id, now, TOKEN_LIFETIME_SECS)
    }

    /// Issue with an explicit lifetime (tests mint expired tokens with a negative one).
    pub fn issue_with_lifetime(
        &self,
        principal: &str,
        key_id: &str,
        now: i64,
        lifetime_secs: i64,
    ) -> Result<(String, Claims), TokenError> {
        let claims = Claims {
            sub: principal.to_owned(),
            kid: key_id.to_owned(),
            iss: ISSUER.to_owned(),
            iat: now,
            exp: now + lifetime_secs,
        };
        let token = encode(&Header::new(Algorithm::HS256), &claims, &self.enc)
            .map_err(|e| TokenError::Sign(e.to_string()))?;
        Ok((token, claims))
    }

    /// Verify signature, issuer and expiry (application KMS tokens are refused).
    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        decode::<Claims>(token, &self.dec, &self.validation)
            .map(|d| d.claims)
            .map_err(|e| TokenError::Invalid(e.to_string()))
    }

    /// Issue an application KMS token for `principal` (whose token came from API key
    /// `key_id`), bound to application `app` of `instance`, valid `lifetime_secs` from `now`
    /// (capped at [`APP_KMS_TOKEN_MAX_LIFETIME_SECS`]).
    pub fn issue_app_kms(
        &self,
        principal: &str,
        key_id: &str,
        instance: &str,
        app: &str,
        now: i64,
        lifetime_secs: i64,
    ) -> Result<(String, AppKmsClaims), TokenError> {
        let claims = AppKmsClaims {
            sub: principal.to_owned(),
            kid: key_id.to_owned(),
            iss: APP_KMS_ISSUER.to_owned(),
            iat: now,
            exp: now + lifetime_secs.min(APP_KMS_TOKEN_MAX_LIFETIME_SECS),
            inst: instance.to_owned(),
            app: app.to_owned(),
            scope: APP_KMS_SCOPE.to_owned(),
        };
        let token = encode(&Header::new(Algorithm::HS256), &claims, &self.enc)
            .map_err(|e| TokenError::Sign(e.to_string()))?;
        Ok((token, claims))
    }

    /// Verify an application KMS token: signature, issuer, expiry, scope (ordinary tokens are
    /// refused). Whether its application still runs is the caller's check.
    pub fn verify_app_kms(&self, token: &str) -> Result<AppKmsClaims, TokenError> {
        let c = decode::<AppKmsClaims>(token, &self.dec, &self.app_validation)
            .map(|d| d.claims)
            .map_err(|e| TokenError::Invalid(e.to_string()))?;
        if c.scope != APP_KMS_SCOPE || c.exp - c.iat > APP_KMS_TOKEN_MAX_LIFETIME_SECS {
            return Err(TokenError::Invalid("not an application KMS token".into()));
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
    }

    #[test]
    fn roundtrip_expired_tampered() {
        let s = TokenSigner::new(&[7u8; 32]).unwrap();
        let (t, c) = s.issue("usr-1", "k1", now()).unwrap();
        assert_eq!(s.verify(&t).unwrap(), c);
        let (old, _) = s
            .issue_with_lifetime("usr-1", "k1", now() - 7200, 3600)
            .unwrap();
        assert!(s.verify(&old).is_err());
        let mut bad = t.clone().into_bytes();
        let n = bad.len() - 3;
        bad[n] = if bad[n] == b'A' { b'B' } else { b'A' };
        assert!(s.verify(std::str::from_utf8(&bad).unwrap()).is_err());
        let other = TokenSigner::new(&[8u8; 32]).unwrap();
        assert!(other.verify(&t).is_err());
    }

    #[test]
    fn app_kms_tokens_are_their_own_kind() {
        let s = TokenSigner::new(&[7u8; 32]).unwrap();
        let (t, c) = s
            .issue_app_kms("usr-1", "k1", "inst-a", "app-1", now(), 10 * 24 * 3600)
            .unwrap();
        assert_eq!(c.exp - c.iat, APP_KMS_TOKEN_MAX_LIFETIME_SECS, "capped");
        assert_eq!(s.verify_app_kms(&t).unwrap(), c);
        assert_eq!((c.inst.as_str(), c.app.as_str()), ("inst-a", "app-1"));
        // Not an ordinary token, and an ordinary token is not an app token.
        assert!(s.verify(&t).is_err());
        let (plain, _) = s.issue("usr-1", "k1", now()).unwrap();
        assert!(s.verify_app_kms(&plain).is_err());
        // Expired, or signed by another key: refused.
        let (old, _) = s
            .issue_app_kms("usr-1", "k1", "inst-a", "app-1", now() - 7200, 3600)
            .unwrap();
        assert!(s.verify_app_kms(&old).is_err());
        let other = TokenSigner::new(&[8u8; 32]).unwrap();
        assert!(other.verify_app_kms(&t).is_err());
    }
}
