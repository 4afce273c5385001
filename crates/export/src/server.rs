//! Server mode: exchange an Exporter service key for a bearer token (`POST /identity/token`),
//! then `POST /v3/analytics_engines/{instance_id}/performance_summaries`.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::key::Segment;
use crate::ExportError;

/// An API key. Its `Debug` never shows the value.
#[derive(Clone)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps a key (surrounding whitespace, e.g. a file's trailing newline, is dropped).
    pub fn new(key: &str) -> Option<Self> {
        let key = key.trim();
        (!key.is_empty()).then(|| ApiKey(key.to_owned()))
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

/// How the server's certificate is checked. Verification is on unless `Insecure`.
#[derive(Debug, Clone, Default)]
pub enum TlsTrust {
    /// The platform's web PKI roots.
    #[default]
    System,
    /// Also trust the PEM CA certificate(s) in this file (a local server's self-signed cert).
    CaFile(PathBuf),
    /// Accept any certificate (local testing only).
    Insecure,
}

/// A server destination.
#[derive(Debug, Clone)]
pub struct ServerTarget {
    /// Base URL, e.g. `https://sparkplane.example.com:8443`.
    pub url: url::Url,
    /// The instance the summary belongs to.
    pub instance: Segment,
    /// The Exporter service key.
    pub api_key: ApiKey,
    /// Certificate checking.
    pub tls: TlsTrust,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
}

/// The first error message of an IAE-style error body, else the body's start.
fn error_message(body: &str) -> String {
    #[derive(Deserialize)]
    struct Errors {
        errors: Vec<ErrorItem>,
    }
    #[derive(Deserialize)]
    struct ErrorItem {
        #[serde(default)]
        code: String,
        #[serde(default)]
        message: String,
    }
    if let Ok(e) = serde_json::from_str::<Errors>(body) {
        if let Some(first) = e.errors.first() {
            return format!("{}: {}", first.code, first.message);
        }
    }
    body.chars().take(300).collect()
}

fn endpoint(base: &url::Url, path: &str) -> String {
    format!("{}{}", base.as_str().trim_end_matches('/'), path)
}

pub(crate) async fn post(
    target: &ServerTarget,
    body: Vec<u8>,
    timeout: Duration,
) -> Result<String, ExportError> {
    let mut builder = reqwest::Client::builder()
        .use_rustls_tls()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(5)));
    match &target.tls {
        TlsTrust::System => {}
        TlsTrust::CaFile(path) => {
            let pem = std::fs::read(path)
                .map_err(|e| ExportError::CaCert(format!("{}: {e}", path.display())))?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| ExportError::CaCert(format!("{}: {e}", path.display())))?;
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
        TlsTrust::Insecure => builder = builder.danger_accept_invalid_certs(true),
    }
    let http_err = |url: &str| {
        let url = url.to_owned();
        move |source: reqwest::Error| {
            let mut detail = source.to_string();
            let mut cause = std::error::Error::source(&source);
            while let Some(c) = cause {
                detail.push_str(": ");
                detail.push_str(&c.to_string());
                cause = c.source();
            }
            ExportError::Http { url, detail }
        }
    };
    let client = builder.build().map_err(http_err(target.url.as_str()))?;

    let token_url = endpoint(&target.url, "/identity/token");
    let resp = client
        .post(&token_url)
        .header("Accept", "application/json")
        .form(&[
            ("grant_type", "urn:ibm:params:oauth:grant-type:apikey"),
            ("apikey", target.api_key.0.as_str()),
        ])
        .send()
        .await
        .map_err(http_err(&token_url))?;
    let status = resp.status();
    let text = resp.text().await.map_err(http_err(&token_url))?;
    if !status.is_success() {
        return Err(ExportError::Token {
            status: status.as_u16(),
            message: error_message(&text),
        });
    }
    let token: TokenAnswer = serde_json::from_str(&text).map_err(|e| ExportError::Token {
        status: status.as_u16(),
        message: format!("no access_token in the answer: {e}"),
    })?;

    let url = endpoint(
        &target.url,
        &format!(
            "/v3/analytics_engines/{}/performance_summaries",
            target.instance
        ),
    );
    let resp = client
        .post(&url)
        .bearer_auth(&token.access_token)
        .header("Content-Type", "application/json")
        .header("Accept", "application/json")
        .body(body)
        .send()
        .await
        .map_err(http_err(&url))?;
    let status = resp.status();
    if !status.is_success() {
        let text = resp.text().await.unwrap_or_default();
        return Err(ExportError::Rejected {
            status: status.as_u16(),
            message: error_message(&text),
        });
    }
    Ok(url)
}
