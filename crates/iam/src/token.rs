//! Bearer tokens: HS256 JWTs naming the principal and the API key they were exchanged from,
//! valid one hour. Revocation is checked by the caller against the key's status.

use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

/// Lifetime of a bearer token.
pub const TOKEN_LIFETIME_SECS: i64 = 3600;
const ISSUER: &str = "sparkplane";

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
        Ok(Self {
            enc: EncodingKey::from_secret(secret),
            dec: DecodingKey::from_secret(secret),
            validation,
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

    /// Verify signature, issuer and expiry.
    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        decode::<Claims>(token, &self.dec, &self.validation)
            .map(|d| d.claims)
            .map_err(|e| TokenError::Invalid(e.to_string()))
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
}
