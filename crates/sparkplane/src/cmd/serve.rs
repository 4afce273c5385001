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
    /// tls_cert, tls_key, insecure_http, log). Flags and env vars take precedence.
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
