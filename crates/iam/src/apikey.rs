//! API keys: `spk_<key id>_<secret>`. The key id is public and indexes the stored record, so an
//! exchange costs one lookup and ONE argon2 verification. Only the argon2 hash of the secret is
//! stored.

use std::fmt;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::Engine;
use rand::rngs::OsRng;
use rand::RngCore;

const PREFIX: &str = "spk_";
const KEY_ID_LEN: usize = 24;

/// Errors about API keys.
#[derive(Debug, thiserror::Error)]
pub enum ApiKeyError {
    /// The string is not shaped like a sparkplane API key.
    #[error("malformed API key")]
    Malformed,
    /// Hashing failed (argon2 parameters).
    #[error("could not hash API key: {0}")]
    Hash(String),
}

/// The public identifier of an API key (lower-case hex, fixed length).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KeyId(String);

impl KeyId {
    /// Parse a key id as it appears in URLs and keys.
    pub fn parse(s: &str) -> Result<Self, ApiKeyError> {
        let ok = s.len() == KEY_ID_LEN
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(ApiKeyError::Malformed)
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A freshly generated key: the full secret string is shown once, only `hash` is stored.
pub struct ApiKey {
    /// Public id.
    pub id: KeyId,
    /// The whole key as given to the user (`spk_<id>_<secret>`). Never log or store it.
    pub secret: String,
    /// argon2id PHC string of the secret part.
    pub hash: String,
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKey")
            .field("id", &self.id)
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl ApiKey {
    /// Generate a new random key (96-bit id, 256-bit secret) and hash it.
    pub fn generate() -> Result<Self, ApiKeyError> {
        let mut id = [0u8; KEY_ID_LEN / 2];
        OsRng.fill_bytes(&mut id);
        let id = KeyId(id.iter().map(|b| format!("{b:02x}")).collect());
        let mut secret = [0u8; 32];
        OsRng.fill_bytes(&mut secret);
        let secret_part = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret);
        let hash = hash_secret(&secret_part)?;
        Ok(Self {
            secret: format!("{PREFIX}{id}_{secret_part}"),
            id,
            hash,
        })
    }
}

/// Split a presented key into its id and secret part (no hashing).
pub fn parse(presented: &str) -> Result<(KeyId, &str), ApiKeyError> {
    let rest = presented
        .strip_prefix(PREFIX)
        .ok_or(ApiKeyError::Malformed)?;
    let (id, secret) = rest.split_once('_').ok_or(ApiKeyError::Malformed)?;
    if secret.is_empty() || secret.len() > 128 {
        return Err(ApiKeyError::Malformed);
    }
    Ok((KeyId::parse(id)?, secret))
}

fn hash_secret(secret: &str) -> Result<String, ApiKeyError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(secret.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ApiKeyError::Hash(e.to_string()))
}

/// ONE argon2 verification of `secret` against a stored PHC hash (constant-time compare inside).
pub fn verify(secret: &str, stored_hash: &str) -> bool {
    match PasswordHash::new(stored_hash) {
        Ok(parsed) => Argon2::default()
            .verify_password(secret.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generate_parse_verify() {
        let k = ApiKey::generate().unwrap();
        let (id, secret) = parse(&k.secret).unwrap();
        assert_eq!(id, k.id);
        assert!(verify(secret, &k.hash));
        assert!(!verify("nope", &k.hash));
        assert!(!k.hash.contains(secret));
        assert!(parse("spk_zz_abc").is_err());
        assert!(parse("garbage").is_err());
    }
}
