//! Object keys of exported summaries: `<prefix>/<app_id>/<attempt_id>/summary.json`.

use std::fmt;
use std::str::FromStr;

use sparkplane_analysis::Summary;

/// The attempt segment used for an application without attempt ids (local, standalone,
/// Kubernetes and YARN-client runs): Spark numbers attempts from 1, and such a run is its
/// first and only attempt. The summary's own `app.attempt_id` stays `null`.
pub const NO_ATTEMPT: &str = "1";

/// Why a key could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The summary has no application id.
    #[error("the event log has no application id")]
    NoAppId,
    /// A segment is empty, `.`/`..`, too long, or has `/`, `\` or control characters.
    #[error("{what} {value:?} is not a valid key segment")]
    BadSegment { what: &'static str, value: String },
    /// A bucket URL that is not `s3://bucket[/prefix]`.
    #[error("{0:?} is not an s3://bucket[/prefix] URL")]
    BadBucketUrl(String),
}

/// One path segment of a key: non-empty, not `.`/`..`, at most 255 bytes, no `/`, `\` or
/// control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment(String);

impl Segment {
    /// Checks `value` as the segment named `what` (for the error message).
    pub fn new(what: &'static str, value: &str) -> Result<Self, KeyError> {
        let bad = value.is_empty()
            || value == "."
            || value == ".."
            || value.len() > 255
            || value
                .chars()
                .any(|c| c == '/' || c == '\\' || c.is_control());
        if bad {
            return Err(KeyError::BadSegment {
                what,
                value: value.to_owned(),
            });
        }
        Ok(Segment(value.to_owned()))
    }

    /// The segment text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Segment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `s3://bucket[/prefix]`: a bucket name and a prefix without leading or trailing slashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketUrl {
    bucket: String,
    prefix: String,
}

impl BucketUrl {
    /// The bucket name.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The prefix (may be empty), without leading or trailing `/`.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The full object key of `key` under this prefix.
    pub fn object_key(&self, key: &SummaryKey) -> String {
        if self.prefix.is_empty() {
            key.relative()
        } else {
            format!("{}/{}", self.prefix, key.relative())
        }
    }
}

impl FromStr for BucketUrl {
    type Err = KeyError;

    fn from_str(s: &str) -> Result<Self, KeyError> {
        let bad = || KeyError::BadBucketUrl(s.to_owned());
        let rest = s.strip_prefix("s3://").ok_or_else(bad)?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let bucket_ok = (3..=63).contains(&bucket.len())
            && bucket
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
        if !bucket_ok {
            return Err(bad());
        }
        let prefix = prefix.trim_matches('/');
        if !prefix.is_empty() {
            for part in prefix.split('/') {
                Segment::new("prefix segment", part).map_err(|_| bad())?;
            }
        }
        Ok(BucketUrl {
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
        })
    }
}

impl fmt::Display for BucketUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.prefix.is_empty() {
            write!(f, "s3://{}", self.bucket)
        } else {
            write!(f, "s3://{}/{}", self.bucket, self.prefix)
        }
    }
}

/// The key of one summary below a prefix: `<app_id>/<attempt_id>/summary.json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SummaryKey {
    app_id: Segment,
    attempt: Segment,
}

impl SummaryKey {
    /// The key of an application attempt; `None` attempt → [`NO_ATTEMPT`].
    pub fn new(app_id: &str, attempt_id: Option<&str>) -> Result<Self, KeyError> {
        Ok(SummaryKey {
            app_id: Segment::new("application id", app_id)?,
            attempt: Segment::new("attempt id", attempt_id.unwrap_or(NO_ATTEMPT))?,
        })
    }

    /// The key of a summary (its `app.id` and `app.attempt_id`).
    pub fn for_summary(summary: &Summary) -> Result<Self, KeyError> {
        let app_id = summary.app.id.as_deref().ok_or(KeyError::NoAppId)?;
        Self::new(app_id, summary.app.attempt_id.as_deref())
    }

    /// `<app_id>/<attempt_id>/summary.json`.
    pub fn relative(&self) -> String {
        format!("{}/{}/summary.json", self.app_id, self.attempt)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        let url: BucketUrl = "s3://perf-bucket/spark/prod/".parse().unwrap();
        assert_eq!(url.bucket(), "perf-bucket");
        assert_eq!(url.prefix(), "spark/prod");
        let k = SummaryKey::new("local-1795597602833", None).unwrap();
        assert_eq!(
            url.object_key(&k),
            "spark/prod/local-1795597602833/1/summary.json"
        );
        let k = SummaryKey::new("application_1_0001", Some("2")).unwrap();
        let bare: BucketUrl = "s3://perf-bucket".parse().unwrap();
        assert_eq!(bare.object_key(&k), "application_1_0001/2/summary.json");
    }

    #[test]
    fn rejects_bad_input() {
        for bad in [
            "s3://",
            "http://b/x",
            "s3://B/x",
            "s3://ab",
            "s3://bucket/a/../b",
        ] {
            assert!(bad.parse::<BucketUrl>().is_err(), "{bad}");
        }
        for bad in ["", ".", "..", "a/b", "a\\b", "a\nb"] {
            assert!(SummaryKey::new(bad, None).is_err(), "{bad:?}");
            assert!(SummaryKey::new("app", Some(bad)).is_err(), "{bad:?}");
        }
    }
}
