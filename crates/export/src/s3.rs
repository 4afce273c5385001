//! Bucket mode: one `PutObject` of the summary JSON, credentials from the AWS environment.

use std::time::Duration;

use object_store::aws::AmazonS3Builder;
use object_store::path::Path;
use object_store::{Attribute, Attributes, ClientOptions, ObjectStore, PutOptions, RetryConfig};

use crate::key::SummaryKey;
use crate::{BucketTarget, ExportError};

/// Puts `body` at `<prefix>/<key>`; returns `s3://bucket/key`. A second put of the same key
/// replaces the object (S3 keys are unique), so a retry never duplicates a summary.
pub(crate) async fn put(
    target: &BucketTarget,
    key: &SummaryKey,
    body: Vec<u8>,
    timeout: Duration,
) -> Result<String, ExportError> {
    let mut builder = AmazonS3Builder::from_env()
        .with_bucket_name(target.url.bucket())
        .with_client_options(
            ClientOptions::new()
                .with_timeout(timeout)
                .with_connect_timeout(timeout.min(Duration::from_secs(5))),
        )
        .with_retry(RetryConfig {
            max_retries: 2,
            retry_timeout: timeout,
            ..RetryConfig::default()
        });
    if let Some(endpoint) = &target.endpoint {
        builder = builder
            .with_endpoint(endpoint)
            .with_allow_http(endpoint.starts_with("http://"));
    } else if let Ok(endpoint) = std::env::var("AWS_ENDPOINT_URL") {
        builder = builder.with_allow_http(endpoint.starts_with("http://"));
    }
    if let Some(region) = &target.region {
        builder = builder.with_region(region);
    } else if std::env::var_os("AWS_REGION").is_none() {
        if let Ok(region) = std::env::var("AWS_DEFAULT_REGION") {
            builder = builder.with_region(region);
        }
    }
    let store = builder.build()?;
    let object_key = target.url.object_key(key);
    let options = PutOptions {
        attributes: Attributes::from_iter([(Attribute::ContentType, "application/json")]),
        ..PutOptions::default()
    };
    store
        .put_opts(&Path::from(object_key.as_str()), body.into(), options)
        .await?;
    Ok(format!("s3://{}/{}", target.url.bucket(), object_key))
}
