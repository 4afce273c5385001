//! Upload one application's redacted performance [`Summary`] out of the Spark platform it ran
//! on: into an S3 bucket (`<prefix>/<app_id>/<attempt_id>/summary.json`) or to a sparkplane
//! server (`POST /v3/analytics_engines/{instance_id}/performance_summaries` with an Exporter
//! service key). Nothing but the summary leaves the machine, and every export is bounded by a
//! timeout so a job step that runs it is never held up by a slow or absent endpoint.
//!
//! ```no_run
//! use std::time::Duration;
//! use sparkplane_export::{export, Destination};
//!
//! # fn demo(summary: &sparkplane_analysis::Summary) -> Result<(), Box<dyn std::error::Error>> {
//! let dest = Destination::bucket("s3://perf-bucket/spark".parse()?);
//! let done = export(summary, &dest, Duration::from_secs(20))?;
//! println!("performance summary exported in {} ms to {}", done.elapsed.as_millis(), done.location);
//! # Ok(()) }
//! ```

mod key;
mod s3;
mod server;

use std::time::{Duration, Instant};

pub use key::{BucketUrl, KeyError, Segment, SummaryKey, NO_ATTEMPT};
pub use server::{ApiKey, ServerTarget, TlsTrust};
pub use url::Url;

use sparkplane_analysis::Summary;

/// Where a summary goes.
#[derive(Debug, Clone)]
pub enum Destination {
    /// An S3 (or S3-compatible) bucket, credentials from the usual AWS environment.
    Bucket(BucketTarget),
    /// A sparkplane server's ingestion route, with an Exporter service key.
    Server(ServerTarget),
}

impl Destination {
    /// A bucket destination with the default endpoint and region (from the environment).
    pub fn bucket(url: BucketUrl) -> Self {
        Destination::Bucket(BucketTarget {
            url,
            endpoint: None,
            region: None,
        })
    }
}

/// A bucket destination.
#[derive(Debug, Clone)]
pub struct BucketTarget {
    /// `s3://bucket/prefix`.
    pub url: BucketUrl,
    /// A custom S3 endpoint (MinIO, moto, …); `http://` is allowed for it.
    pub endpoint: Option<String>,
    /// The bucket's region; else `AWS_REGION`/`AWS_DEFAULT_REGION`, else `us-east-1`.
    pub region: Option<String>,
}

/// A finished export.
#[derive(Debug, Clone)]
pub struct Exported {
    /// Where the summary went (`s3://bucket/key` or the server URL it was posted to).
    pub location: String,
    /// Size of the uploaded JSON.
    pub bytes: usize,
    /// Wall time of the whole export.
    pub elapsed: Duration,
}

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The summary has no application id, or its ids are not usable as key segments.
    #[error("summary cannot be keyed: {0}")]
    Key(#[from] KeyError),
    /// The summary could not be serialised.
    #[error("cannot serialise the summary: {0}")]
    Serialize(#[from] serde_json::Error),
    /// The S3 client could not be configured or the upload failed.
    #[error("S3 upload failed: {0}")]
    S3(#[from] object_store::Error),
    /// The server could not be reached or answered garbage.
    #[error("request to {url} failed: {detail}")]
    Http {
        url: String,
        /// The client error with its causes (e.g. the certificate check that failed).
        detail: String,
    },
    /// The server refused the API key exchange.
    #[error("token exchange refused: HTTP {status}: {message}")]
    Token { status: u16, message: String },
    /// The server refused the summary.
    #[error("summary refused: HTTP {status}: {message}")]
    Rejected { status: u16, message: String },
    /// The CA certificate file for `--cacert` is unreadable or not PEM.
    #[error("CA certificate: {0}")]
    CaCert(String),
    /// The export did not finish within its timeout.
    #[error("export timed out after {} ms", .0.as_millis())]
    TimedOut(Duration),
    /// The async runtime could not be started.
    #[error("cannot start the I/O runtime: {0}")]
    Runtime(#[from] std::io::Error),
}

/// Uploads `summary` to `dest`, giving up after `timeout` (the whole export: token exchange,
/// connection, retries and upload). Blocking; runs its own small runtime.
pub fn export(
    summary: &Summary,
    dest: &Destination,
    timeout: Duration,
) -> Result<Exported, ExportError> {
    let started = Instant::now();
    let body = serde_json::to_vec(summary)?;
    let key = SummaryKey::for_summary(summary)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let work = async {
        match dest {
            Destination::Bucket(target) => s3::put(target, &key, body.clone(), timeout).await,
            Destination::Server(target) => server::post(target, body.clone(), timeout).await,
        }
    };
    let result = runtime.block_on(async { tokio::time::timeout(timeout, work).await });
    // Never wait for stragglers (a blocking DNS lookup, a half-open connection).
    runtime.shutdown_background();
    let location = result.map_err(|_| ExportError::TimedOut(timeout))??;
    Ok(Exported {
        location,
        bytes: body.len(),
        elapsed: started.elapsed(),
    })
}
