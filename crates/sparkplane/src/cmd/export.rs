//! `sparkplane export`: analyse one event log locally and upload only its redacted summary
//! (to a bucket or a sparkplane server). Upload failures never fail the job step unless
//! `--strict`. The upload logic lives in the `sparkplane-export` crate.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use sparkplane_analysis as analysis;
use sparkplane_export::{self as export, ApiKey, BucketTarget, Destination, Segment, ServerTarget};

const EXAMPLES: &str = "\
Examples:
  # Bucket mode: AWS credentials from the environment (keys, web identity, instance role).
  sparkplane export --event-log /tmp/spark-events/local-1795597602833 \\
      --to s3://perf-bucket/spark
  sparkplane export --event-log eventlog_v2_app-1 --to s3://perf/spark \\
      --s3-endpoint http://127.0.0.1:9000 --region eu-west-1

  # Server mode: an Exporter service key in SPARKPLANE_APIKEY (or --apikey-file).
  SPARKPLANE_APIKEY=… sparkplane export --event-log app.zstd \\
      --server https://sparkplane.example.com --instance 3f2a…
  sparkplane export --event-log app.zstd --server https://127.0.0.1:8443 \\
      --instance 3f2a… --apikey-file key.txt --cacert server.pem

Only the summary is uploaded (analysed locally; no row data; PII redacted). In a bucket it is
written to <prefix>/<app_id>/<attempt_id>/summary.json (attempt_id `1` for an application
without attempt ids); exporting again replaces it. On success it prints `performance summary
exported in N ms`. It always exits 0 (an unreadable log, or an endpoint that is down, slow or
failing, is reported on stderr) unless --strict, then 1. It never takes longer than --timeout
(plus a moment to exit). See docs/export.md.";

/// Where and how to export (shared by `export` and `exec`).
#[derive(clap::Args, Debug, Clone)]
pub struct TargetArgs {
    /// Bucket mode: upload to this S3 bucket and prefix.
    #[arg(long, value_name = "s3://BUCKET/PREFIX", conflicts_with = "server")]
    pub to: Option<String>,
    /// Server mode: the sparkplane server's base URL.
    #[arg(
        long,
        value_name = "URL",
        env = "SPARKPLANE_URL",
        requires = "instance"
    )]
    pub server: Option<String>,
    /// Server mode: the instance the summary belongs to.
    #[arg(long, value_name = "ID", env = "SPARKPLANE_INSTANCE")]
    pub instance: Option<String>,
    /// Give up on the export after SECS seconds (analysis, token exchange and upload together).
    #[arg(long, value_name = "SECS", default_value_t = 20)]
    pub timeout: u64,
    /// Bucket mode: a custom S3 endpoint (MinIO, moto, …); `http://` allowed.
    #[arg(long, value_name = "URL")]
    pub s3_endpoint: Option<String>,
    /// Bucket mode: the bucket's region (default: AWS_REGION / AWS_DEFAULT_REGION / us-east-1).
    #[arg(long, value_name = "R")]
    pub region: Option<String>,
    /// Server mode: read the Exporter API key from FILE instead of SPARKPLANE_APIKEY.
    #[arg(long, value_name = "FILE")]
    pub apikey_file: Option<PathBuf>,
    /// Server mode: trust the PEM CA certificate(s) in FILE (e.g. a local server's self-signed cert).
    #[arg(long, value_name = "FILE", conflicts_with = "insecure")]
    pub cacert: Option<PathBuf>,
    /// Server mode: do not verify the server's TLS certificate (local testing only).
    #[arg(long)]
    pub insecure: bool,
}

impl TargetArgs {
    /// Whether a destination was given.
    pub fn has_destination(&self) -> bool {
        self.to.is_some() || self.server.is_some()
    }

    fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout)
    }

    /// The destination these flags name.
    fn destination(&self) -> anyhow::Result<Destination> {
        if let Some(to) = &self.to {
            return Ok(Destination::Bucket(BucketTarget {
                url: to.parse()?,
                endpoint: self.s3_endpoint.clone(),
                region: self.region.clone(),
            }));
        }
        let (Some(server), Some(instance)) = (&self.server, &self.instance) else {
            anyhow::bail!("give --to s3://BUCKET/PREFIX or --server URL --instance ID");
        };
        let url =
            export::Url::parse(server).map_err(|e| anyhow::anyhow!("--server {server:?}: {e}"))?;
        let key_text = match &self.apikey_file {
            Some(file) => std::fs::read_to_string(file)
                .map_err(|e| anyhow::anyhow!("--apikey-file {}: {e}", file.display()))?,
            None => std::env::var("SPARKPLANE_APIKEY").unwrap_or_default(),
        };
        let api_key = ApiKey::new(&key_text).ok_or_else(|| {
            anyhow::anyhow!(
                "server mode needs an Exporter API key in SPARKPLANE_APIKEY or --apikey-file"
            )
        })?;
        let tls = match (&self.cacert, self.insecure) {
            (Some(file), _) => export::TlsTrust::CaFile(file.clone()),
            (None, true) => export::TlsTrust::Insecure,
            (None, false) => export::TlsTrust::System,
        };
        Ok(Destination::Server(ServerTarget {
            url,
            instance: Segment::new("instance id", instance)?,
            api_key,
            tls,
        }))
    }
}

#[derive(clap::Args, Debug)]
#[command(after_help = EXAMPLES)]
#[command(group(clap::ArgGroup::new("destination").required(true).args(["to", "server"])))]
pub struct Args {
    /// The event log: a file (any codec, .inprogress too) or a rolling eventlog_v2_* directory.
    #[arg(long, value_name = "PATH")]
    pub event_log: PathBuf,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Exit 1 when the export fails (default: report the error and exit 0).
    #[arg(long)]
    pub strict: bool,
}

/// Analyses `path` and uploads its summary, all within `target.timeout` (the analysis runs on
/// a worker thread that is abandoned if it overruns). Returns the success line or the error.
pub fn export_log(path: &Path, target: &TargetArgs) -> Result<String, String> {
    let started = Instant::now();
    let timeout = target.timeout();
    let (tx, rx) = mpsc::channel();
    let (path, target_args) = (path.to_path_buf(), target.clone());
    let spawned = std::thread::Builder::new()
        .name("export".into())
        .spawn(move || {
            let result = (|| -> anyhow::Result<export::Exported> {
                let dest = target_args.destination()?;
                let report = super::analyze::build_report(&path, &analysis::Options::default())
                    .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
                let left = timeout.saturating_sub(started.elapsed());
                Ok(export::export(&report.summary, &dest, left)?)
            })();
            // The receiver may have given up already; nothing to do then.
            let _ = tx.send(result);
        });
    if let Err(e) = spawned {
        return Err(format!("cannot start the export: {e}"));
    }
    let ms = || started.elapsed().as_millis();
    match rx.recv_timeout(timeout + Duration::from_millis(500)) {
        Ok(Ok(done)) => Ok(format!(
            "performance summary exported in {} ms to {} ({} bytes)",
            ms(),
            done.location,
            done.bytes
        )),
        Ok(Err(e)) => Err(format!(
            "performance summary export failed after {} ms: {e}",
            ms()
        )),
        Err(_) => Err(format!(
            "performance summary export failed after {} ms: timed out (--timeout {} s)",
            ms(),
            timeout.as_secs()
        )),
    }
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match export_log(&args.event_log, &args.target) {
        Ok(line) => {
            println!("{line}");
            Ok(ExitCode::SUCCESS)
        }
        Err(line) => {
            eprintln!("sparkplane export: {line}");
            Ok(if args.strict {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            })
        }
    }
}
