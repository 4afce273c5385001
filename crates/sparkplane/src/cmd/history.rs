//! `sparkplane history`: a Spark History Server-compatible `/api/v1` over a log directory, local
//! or `s3://bucket/prefix`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use sparkplane_history::http::LogSource;

#[derive(clap::Args)]
pub struct Args {
    /// Directory of Spark event logs (files, rolling directories, legacy directories), or
    /// `s3://bucket/prefix` (credentials and region from the `AWS_*` environment).
    #[arg(long)]
    log_dir: String,
    /// Endpoint of an S3-compatible store (for `s3://` log directories), e.g.
    /// `http://127.0.0.1:9000`.
    #[arg(long)]
    s3_endpoint: Option<String>,
    /// Local directory `s3://` logs are mirrored into (default: a new directory under the
    /// system's temporary directory).
    #[arg(long)]
    cache_dir: Option<PathBuf>,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:18080")]
    listen: SocketAddr,
    /// Seconds between re-scans of the directory for new and growing logs.
    #[arg(long, default_value_t = 10)]
    rescan_secs: u64,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let source = if args.log_dir.starts_with("s3://") {
        let mirror = args.cache_dir.unwrap_or_else(|| {
            std::env::temp_dir().join(format!("sparkplane-history-{}", std::process::id()))
        });
        LogSource::S3 {
            url: args.log_dir,
            endpoint: args.s3_endpoint,
            mirror,
        }
    } else if args.log_dir.contains("://") {
        anyhow::bail!("--log-dir must be a local directory or s3://bucket/prefix");
    } else {
        LogSource::Dir(PathBuf::from(args.log_dir))
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(sparkplane_history::http::serve(
        source,
        args.listen,
        Duration::from_secs(args.rescan_secs.max(1)),
    ))
    .context("history server")?;
    Ok(ExitCode::SUCCESS)
}
