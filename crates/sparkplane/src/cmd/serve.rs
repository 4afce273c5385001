//! `sparkplane serve`: the control-plane server. Settings come from flags, then `SPARKPLANE_*`
//! environment variables (clap resolves both), then the optional `--config` TOML file.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use sparkplane_server::{Settings, SettingsLayer};

#[derive(clap::Args)]
pub struct Args {
    /// TOML settings file (keys: data_dir, listen, database_url, object_store, s3_endpoint,
    /// tls_cert, tls_key, insecure_http, log, sandbox, spark_backend, master_key_file, [ingest]). Flags
    /// and env vars take precedence.
    #[arg(long, env = "SPARKPLANE_CONFIG")]
    config: Option<PathBuf>,
    /// Data directory (default ./sparkplane-data).
    #[arg(long, env = "SPARKPLANE_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Address to listen on (default 127.0.0.1:8443).
    #[arg(long, env = "SPARKPLANE_LISTEN")]
    listen: Option<SocketAddr>,
    /// Database: sqlite://PATH (default <data-dir>/sparkplane.db) or postgres://…
    #[arg(long, env = "SPARKPLANE_DATABASE_URL")]
    database_url: Option<String>,
    /// Object store: a directory (default <data-dir>/objects) or s3://bucket/prefix.
    #[arg(long, env = "SPARKPLANE_OBJECT_STORE")]
    object_store: Option<String>,
    /// Endpoint URL of an S3-compatible store.
    #[arg(long, env = "SPARKPLANE_S3_ENDPOINT")]
    s3_endpoint: Option<String>,
    /// PEM certificate chain (with --tls-key); default: a self-signed one in the data dir.
    #[arg(long, env = "SPARKPLANE_TLS_CERT")]
    tls_cert: Option<PathBuf>,
    /// PEM private key (with --tls-cert).
    #[arg(long, env = "SPARKPLANE_TLS_KEY")]
    tls_key: Option<PathBuf>,
    /// Serve plain HTTP instead of HTTPS (insecure; logs a warning).
    #[arg(long, env = "SPARKPLANE_INSECURE_HTTP")]
    insecure_http: bool,
    /// Log filter (default info), e.g. `sparkplane_server=debug`.
    #[arg(long, env = "SPARKPLANE_LOG")]
    log: Option<String>,
    /// Spark installation for running applications (default: the project's `.venv` pyspark).
    #[arg(long, env = "SPARK_HOME")]
    spark_home: Option<PathBuf>,
    /// Confinement of Spark applications: auto (bubblewrap when it works, the default), bwrap
    /// (refuse to start without it), none.
    #[arg(long, env = "SPARKPLANE_SANDBOX", value_name = "auto|bwrap|none")]
    sandbox: Option<sparkplane_server::SandboxMode>,
    /// Backend of instances whose default_config has no `sparkplane.backend`: local (default,
    /// spark-submit --master local[N]) or standalone (the instance's own Master + Worker).
    #[arg(
        long,
        env = "SPARKPLANE_SPARK_BACKEND",
        value_name = "local|standalone"
    )]
    spark_backend: Option<sparkplane_server::SparkBackend>,
    /// Master key of encryption at rest (64 hex digits, mode 0600); default: generated into
    /// <data-dir>/master-key on first start. Keep it off the data volume in production.
    #[arg(long, env = "SPARKPLANE_MASTER_KEY_FILE")]
    master_key_file: Option<PathBuf>,
    /// Web portal login through an OIDC provider.
    #[command(flatten)]
    oidc: Box<OidcArgs>,
    /// Summaries ingest: cost prices and the event-log source poll interval.
    #[command(flatten)]
    ingest: Box<IngestArgs>,
}

/// `--price-core-hour`, `--price-memory-gb-hour`, `--source-poll-seconds`,
/// `--source-endpoint-allow` (TOML `[ingest]`).
#[derive(clap::Args)]
struct IngestArgs {
    /// Price of one allocated executor core-hour in run cost estimates (default 0.05).
    #[arg(long, env = "SPARKPLANE_PRICE_CORE_HOUR")]
    price_core_hour: Option<f64>,
    /// Price of one allocated executor memory GB-hour in run cost estimates (default 0.005).
    #[arg(long, env = "SPARKPLANE_PRICE_MEMORY_GB_HOUR")]
    price_memory_gb_hour: Option<f64>,
    /// Seconds between polls of the instances' event-log sources (default 60).
    #[arg(long, env = "SPARKPLANE_SOURCE_POLL_SECONDS")]
    source_poll_seconds: Option<u64>,
    /// Only these S3 endpoint hosts may event-log sources use (comma-separated `host`,
    /// `host:port` or `*.suffix`, e.g. `*.amazonaws.com,minio.corp:9000`); default: any host
    /// except instance-metadata and link-local addresses, which are always refused.
    #[arg(long, env = "SPARKPLANE_SOURCE_ENDPOINT_ALLOW", value_delimiter = ',')]
    source_endpoint_allow: Option<Vec<String>>,
}

impl IngestArgs {
    fn layer(self) -> Option<sparkplane_server::ingest::IngestLayer> {
        let l = sparkplane_server::ingest::IngestLayer {
            price_core_hour: self.price_core_hour,
            price_memory_gb_hour: self.price_memory_gb_hour,
            source_poll_seconds: self.source_poll_seconds,
            source_endpoint_allow: self.source_endpoint_allow,
        };
        (l.price_core_hour.is_some()
            || l.price_memory_gb_hour.is_some()
            || l.source_poll_seconds.is_some()
            || l.source_endpoint_allow.is_some())
        .then_some(l)
    }
}

/// Spark for the runner: `--spark-home` / `SPARK_HOME`, else the pip `pyspark` of a `.venv` in
/// the working directory or in the source tree this binary was built from.
fn runner_settings(spark_home: Option<PathBuf>) -> Option<sparkplane_server::RunnerSettings> {
    // An explicit but wrong --spark-home is passed on: the server then says what is missing.
    let home = spark_home.or_else(|| {
        let build_root = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
        [PathBuf::from("."), build_root]
            .iter()
            .find_map(|root| sparkplane_runner::find_spark_home(root))
    })?;
    // Absolute: applications run with another working directory (and under bubblewrap).
    let home = std::fs::canonicalize(&home).unwrap_or(home);
    // <venv>/lib/pythonX.Y/site-packages/pyspark → <venv>/bin/python
    let python = home
        .ancestors()
        .nth(4)
        .map(|venv| venv.join("bin/python"))
        .filter(|p| p.is_file());
    let exe = std::env::current_exe().ok()?;
    Some(sparkplane_server::RunnerSettings {
        spark_home: home,
        python,
        supervisor: vec![exe.into_os_string(), "supervise".into()],
    })
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let flags = SettingsLayer {
        data_dir: args.data_dir,
        listen: args.listen,
        database_url: args.database_url,
        object_store: args.object_store,
        s3_endpoint: args.s3_endpoint,
        tls_cert: args.tls_cert,
        tls_key: args.tls_key,
        insecure_http: args.insecure_http.then_some(true),
        log: args.log,
        sandbox: args.sandbox,
        spark_backend: args.spark_backend,
        master_key_file: args.master_key_file,
        oidc: args.oidc.layer(),
        ingest: (*args.ingest).layer(),
    };
    let file = match &args.config {
        Some(path) => SettingsLayer::from_toml_file(path)?,
        None => SettingsLayer::default(),
    };
    let mut settings = Settings::resolve(flags.or(file))?;
    settings.runner = runner_settings(args.spark_home);
    sparkplane_server::telemetry::init(&settings.log);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(sparkplane_server::serve(settings))?;
    Ok(ExitCode::SUCCESS)
}

/// `--oidc-*`: the portal's OpenID Connect provider (see docs/portal.md).
#[derive(clap::Args)]
struct OidcArgs {
    /// OIDC issuer URL (discovery at <issuer>/.well-known/openid-configuration).
    #[arg(long, env = "SPARKPLANE_OIDC_ISSUER")]
    oidc_issuer: Option<String>,
    /// OAuth client id registered at the provider.
    #[arg(long, env = "SPARKPLANE_OIDC_CLIENT_ID")]
    oidc_client_id: Option<String>,
    /// OAuth client secret (prefer the environment variable: argv is visible to `ps`). Kept
    /// encrypted in the object store; later starts may omit it.
    #[arg(long, env = "SPARKPLANE_OIDC_CLIENT_SECRET", hide_env_values = true)]
    oidc_client_secret: Option<String>,
    /// Extra PEM CA certificate(s) to trust for the provider.
    #[arg(long, env = "SPARKPLANE_OIDC_CA_FILE")]
    oidc_ca_file: Option<PathBuf>,
    /// Allow a plain-http issuer on a loopback address (tests only).
    #[arg(long, env = "SPARKPLANE_OIDC_INSECURE_LOOPBACK")]
    oidc_insecure_loopback: bool,
    /// Redirect URI registered at the provider (default https://<host>/ui/auth/callback).
    #[arg(long, env = "SPARKPLANE_OIDC_REDIRECT_URL")]
    oidc_redirect_url: Option<String>,
}

impl OidcArgs {
    fn layer(self) -> Option<sparkplane_server::portal::OidcLayer> {
        let l = sparkplane_server::portal::OidcLayer {
            issuer: self.oidc_issuer,
            client_id: self.oidc_client_id,
            client_secret: self.oidc_client_secret,
            ca_file: self.oidc_ca_file,
            insecure_loopback: self.oidc_insecure_loopback.then_some(true),
            redirect_url: self.oidc_redirect_url,
        };
        (!l.is_empty()).then_some(l)
    }
}
