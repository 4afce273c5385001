//! `sparkplane history`: a Spark History Server-compatible `/api/v1` over a log directory.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;

#[derive(clap::Args)]
pub struct Args {
    /// Directory of Spark event logs (files, rolling directories, legacy directories).
    #[arg(long)]
    log_dir: PathBuf,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:18080")]
    listen: SocketAddr,
    /// Seconds between re-scans of the directory for new and growing logs.
    #[arg(long, default_value_t = 10)]
    rescan_secs: u64,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.log_dir.to_string_lossy().contains("://") {
        anyhow::bail!("only local log directories are supported so far (no s3:// yet)");
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(sparkplane_history::http::serve(
        args.log_dir,
        args.listen,
        Duration::from_secs(args.rescan_secs.max(1)),
    ))
    .context("history server")?;
    Ok(ExitCode::SUCCESS)
}
