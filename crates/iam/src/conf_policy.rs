//! Which Spark conf keys an instance's `default_config` (or an application's `conf`) may set.
//! Keys that would break isolation or security are refused; keys and values are checked so
//! they can be written safely into a properties file.

/// Why a conf entry is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfError {
    /// The key is reserved by the platform.
    #[error("configuration key `{0}` may not be set: it is managed by the platform")]
    Forbidden(String),
    /// The key is empty, too long or has characters outside `[A-Za-z0-9._-]`.
    #[error("configuration key `{0}` is not a valid key")]
    BadKey(String),
    /// The value is too long or has control characters.
    #[error(
        "value of configuration key `{0}` is not valid (control characters or over 8192 bytes)"
    )]
    BadValue(String),
}

/// Exact keys the platform owns.
const FORBIDDEN_EXACT: &[&str] = &[
    "spark.master",
    "spark.submit.deployMode",
    "spark.eventLog.dir",
    "spark.eventLog.enabled",
    "spark.history.fs.logDirectory",
    "spark.local.dir",
    "spark.driver.host",
    "spark.driver.bindAddress",
    "spark.driver.port",
    "spark.driver.blockManager.port",
    "spark.blockManager.port",
    "spark.port.maxRetries",
    "spark.redaction.regex",
    "spark.network.crypto.enabled",
    "spark.io.encryption.enabled",
];

/// Key prefixes the platform owns.
const FORBIDDEN_PREFIXES: &[&str] = &[
    "spark.authenticate",
    "spark.ui.",
    "spark.jars.ivy",
    "spark.ssl.",
    "spark.network.crypto.",
    "spark.io.encryption.",
    "spark.kubernetes.",
];

/// Keys allowed although a prefix above would forbid them.
const ALLOWED_EXCEPTIONS: &[&str] = &["spark.ssl.enabled"];

/// Check one conf key.
pub fn check_key(key: &str) -> Result<(), ConfError> {
    let well_formed = !key.is_empty()
        && key.len() <= 256
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if !well_formed {
        return Err(ConfError::BadKey(key.to_owned()));
    }
    if ALLOWED_EXCEPTIONS.contains(&key) {
        return Ok(());
    }
    let forbidden = FORBIDDEN_EXACT.contains(&key)
        || FORBIDDEN_PREFIXES.iter().any(|p| key.starts_with(p))
        || key.ends_with(".port");
    if forbidden {
        return Err(ConfError::Forbidden(key.to_owned()));
    }
    Ok(())
}

/// Check one conf entry (key and value).
pub fn check_entry(key: &str, value: &str) -> Result<(), ConfError> {
    check_key(key)?;
    if value.len() > 8192 || value.chars().any(char::is_control) {
        return Err(ConfError::BadValue(key.to_owned()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forbidden_and_allowed() {
        for k in [
            "spark.master",
            "spark.authenticate",
            "spark.authenticate.secret",
            "spark.eventLog.dir",
            "spark.local.dir",
            "spark.driver.host",
            "spark.ui.port",
            "spark.jars.ivy",
            "spark.driver.bindAddress",
        ] {
            assert_eq!(check_key(k), Err(ConfError::Forbidden(k.into())), "{k}");
        }
        for k in [
            "spark.executor.memory",
            "spark.sql.shuffle.partitions",
            "spark.ssl.enabled",
            "ae.spark.librarysets",
        ] {
            assert_eq!(check_key(k), Ok(()), "{k}");
        }
        assert!(check_key("bad key").is_err());
        assert!(check_entry("spark.x", "a\nspark.master=x").is_err());
    }
}
