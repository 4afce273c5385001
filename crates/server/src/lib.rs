//! The control-plane HTTP(S) API of sparkplane: axum routes in IBM Analytics Engine v3 shapes,
//! bearer-token authentication, the OpenAPI document, metrics, TLS, and the `serve` entry point.
//!
//! Layout: [`config`] settings, [`telemetry`] logging, [`error`] the one error type and its HTTP
//! mapping, [`auth`] token checks, [`state`] shared state and the authorization helper, [`api`]
//! handlers, [`tls`] certificates.
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod api;
pub mod at_rest;
pub mod auth;
pub mod config;
pub mod endpoint_policy;
pub mod error;
pub mod extract;
mod fsutil;
pub mod ingest;
pub mod metrics;
pub mod outbox;
pub mod portal;
pub mod runner_at_rest;
pub mod sources;
pub mod state;
pub mod telemetry;
pub mod tls;
pub mod workcopy;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum_server::accept::NoDelayAcceptor;
use axum_server::tls_rustls::RustlsAcceptor;
use sparkplane_iam::{ApiKey, FailureLimiter, PrincipalKind, TokenSigner};
use sparkplane_store::{ApiKeyRecord, ObjectStoreSpec, Objects, Outcome, PrincipalRecord, Store};

pub use config::{RunnerSettings, SandboxMode, Settings, SettingsLayer, SparkBackend};
use state::{AppState, Inner};

/// Failures starting or running the server.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// Bad settings.
    #[error("configuration: {0}")]
    Config(String),
    /// Filesystem.
    #[error("{0}")]
    Io(String),
    /// Store.
    #[error(transparent)]
    Store(#[from] sparkplane_store::StoreError),
    /// TLS set-up.
    #[error("TLS: {0}")]
    Tls(String),
    /// Keys and tokens.
    #[error("IAM: {0}")]
    Iam(String),
}

/// Name of the token-signing key file in the data dir.
pub const SIGNING_KEY_FILE: &str = "token-signing-key";
/// Name of the bootstrap Administrator API key file in the data dir.
pub const ADMIN_KEY_FILE: &str = "admin-apikey";

/// A built application: router, state, and the bootstrap key if it was just created.
pub struct App {
    /// The router (all routes and middleware).
    pub router: Router,
    /// Shared state.
    pub state: AppState,
    /// The bootstrap Administrator API key, only on the first start.
    pub new_admin_key: Option<String>,
}

async fn bootstrap_admin(store: &Store, data_dir: &Path) -> Result<Option<String>, ServerError> {
    if store.principal_count() > 0 {
        return Ok(None);
    }
    let key = tokio::task::spawn_blocking(ApiKey::generate)
        .await
        .map_err(|e| ServerError::Iam(e.to_string()))?
        .map_err(|e| ServerError::Iam(e.to_string()))?;
    let now = sparkplane_store::now_ms();
    let admin = PrincipalRecord {
        id: format!("usr-{}", uuid::Uuid::new_v4().simple()),
        kind: PrincipalKind::User,
        name: "admin".into(),
        email: None,
        description: Some("bootstrap platform Administrator".into()),
        administrator: true,
        created_at: now,
    };
    let record = ApiKeyRecord {
        id: key.id.to_string(),
        principal_id: admin.id.clone(),
        name: Some("bootstrap".into()),
        description: None,
        hash: key.hash.clone(),
        created_at: now,
    };
    let mut audit = sparkplane_store::AuditEvent::new(
        "iam.bootstrap",
        "/v1/users",
        Outcome::Success,
        201,
        "bootstrap",
    );
    audit.principal_id = Some(admin.id.clone());
    audit.detail = Some(format!("api_key={}", record.id));
    // The file first (0600), then the commit: a crash in between leaves a key that does not
    // work yet, and the next start bootstraps again and replaces the file.
    fsutil::write_private(
        &data_dir.join(ADMIN_KEY_FILE),
        format!("{}\n", key.secret).as_bytes(),
    )?;
    store.bootstrap(&admin, &record, &audit).await?;
    Ok(Some(key.secret))
}

/// The runner's confinement for `--sandbox` (`bwrap` refuses to start without a working bwrap).
fn sandbox_for(mode: config::SandboxMode) -> Result<sparkplane_runner::Sandbox, ServerError> {
    use sparkplane_runner::Sandbox;
    let found = || Sandbox::detect();
    let s = match mode {
        config::SandboxMode::None => Sandbox::None,
        config::SandboxMode::Auto => found(),
        config::SandboxMode::Bwrap => match found() {
            Sandbox::Bubblewrap => Sandbox::Bubblewrap,
            Sandbox::None => {
                return Err(ServerError::Config(
                    "--sandbox bwrap: `bwrap` is missing or cannot create namespaces here".into(),
                ))
            }
        },
    };
    match s {
        Sandbox::Bubblewrap => tracing::info!("Spark applications run under bubblewrap"),
        Sandbox::None if mode == config::SandboxMode::None => {
            tracing::warn!("--sandbox none: instances' applications are not confined by bubblewrap")
        }
        Sandbox::None => tracing::warn!(
            "bubblewrap not available: instances' applications are not confined by it (install bubblewrap)"
        ),
    }
    Ok(s)
}

/// Open the store, bootstrap, and build the router.
pub async fn build_app(settings: &Settings) -> Result<App, ServerError> {
    fsutil::ensure_private_dir(&settings.data_dir)?;
    // Encryption at rest: the master key unwraps the data keys; objects, sealed columns and
    // the secret files of the data dir are encrypted with them.
    let (store, master_key_file) = at_rest::open_store(
        &settings.database_url,
        settings.master_key_file.as_deref(),
        &settings.data_dir,
    )
    .await?;
    let store = Arc::new(store);
    let keyring = store
        .keyring()
        .cloned()
        .ok_or_else(|| ServerError::Config("encryption at rest is not enabled".into()))?;
    let objects = Objects::open(&ObjectStoreSpec::parse(
        &settings.object_store,
        settings.s3_endpoint.clone(),
    )?)?
    .with_keyring(keyring.clone());
    let signing_key =
        at_rest::load_or_create_signing_key(&store, &settings.data_dir.join(SIGNING_KEY_FILE))
            .await?;
    let signer = TokenSigner::new(&signing_key).map_err(|e| ServerError::Iam(e.to_string()))?;
    let new_admin_key = bootstrap_admin(&store, &settings.data_dir).await?;
    let hashing_permits = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        * 2;
    // Summaries ingest: the POST route, the runner's outbox and the event-log source poller.
    let ingest = ingest::Ingestor::new(
        store.clone(),
        objects.clone(),
        settings.ingest.prices,
        settings.ingest.source_poll_interval,
    );
    ingest
        .sources()
        .set_endpoint_policy(settings.ingest.source_endpoint_policy.clone());
    let runner_dir = settings.data_dir.join("runner");
    let runner = match &settings.runner {
        Some(rs) => {
            let mut cfg =
                sparkplane_runner::RunnerConfig::new(runner_dir.clone(), rs.spark_home.clone());
            cfg.python = rs.python.clone();
            cfg.supervisor = rs.supervisor.clone();
            cfg.sandbox = sandbox_for(settings.sandbox)?;
            // The runner's secrets and finished runs' logs are sealed with the instance's data
            // key; sealed event logs are readable by the analysis and the History Server.
            let runner_at_rest = Arc::new(runner_at_rest::RunnerAtRest::new(
                keyring.clone(),
                &runner_dir,
                tokio::runtime::Handle::current(),
            ));
            runner_at_rest.register_eventlog_opener();
            cfg.at_rest = Some(runner_at_rest.clone());
            // End-of-run analysis + export through the durable outbox (retried in the
            // background from here on, including rows left by a previous run).
            let exporter = outbox::Exporter::new(ingest.clone(), outbox::RetryPolicy::from_env())
                .with_at_rest(runner_at_rest);
            outbox::spawn_retry(exporter.clone());
            let hook = outbox::ExportCompletion::new(exporter, tokio::runtime::Handle::current());
            match sparkplane_runner::Runner::new(cfg, Arc::new(hook)) {
                Ok(r) => Some(r),
                Err(e) => {
                    tracing::warn!(error = %e, "Spark runner not available; application routes answer 503");
                    None
                }
            }
        }
        None => None,
    };
    // Fold in what supervisors recorded while the server was down before answering anything.
    if let Some(r) = &runner {
        if let Err(e) = r.poll() {
            tracing::warn!(error = %e, "runner: first poll failed");
        }
    }
    // Uploads and library sets of data dirs from before they were encrypted at rest go into
    // the object store (helper "files", workcopy.rs).
    workcopy::import_legacy(&runner_dir, &objects, &store, runner.as_ref()).await;
    let monitor = runner
        .as_ref()
        .map(|r| r.spawn_monitor(Duration::from_millis(500)));
    let state = AppState(Arc::new(Inner {
        store,
        objects,
        signer,
        limiter: FailureLimiter::new(10, Duration::from_secs(60)),
        hashing: tokio::sync::Semaphore::new(hashing_permits),
        metrics: metrics::Metrics::default(),
        openapi: std::sync::OnceLock::new(),
        runner,
        runner_dir,
        runner_instances: std::sync::Mutex::new(std::collections::HashSet::new()),
        monitor,
        spark_backend: settings.spark_backend,
        app_fetch: api::applications::FetchSettings::new(
            settings.s3_endpoint.clone(),
            &settings.object_store,
        ),
        master_key_file,
        ingest: ingest.clone(),
        kms_apps: match (&settings.runner, settings.insecure_http) {
            (Some(rs), false) => Some(api::kms::AppKms::new(
                settings.listen,
                settings
                    .tls
                    .as_ref()
                    .map(|(c, _)| c.clone())
                    .unwrap_or_else(|| settings.data_dir.join("tls-cert.pem")),
                &rs.spark_home,
                settings.data_dir.join("runner").join("kms-client"),
            )),
            _ => None,
        },
        library_python: settings
            .runner
            .as_ref()
            .map(|rs| rs.python.clone().unwrap_or_else(|| "python3".into())),
    }));
    sources::spawn_poller(&ingest);
    let (router, api) = api::router(state.clone());
    // The web portal (/ and /ui/…): HTML pages with their own middleware and error pages.
    let router = router.merge(
        portal::router(
            state.clone(),
            settings.oidc.as_ref(),
            !settings.insecure_http,
        )
        .await?,
    );
    let json = api
        .to_json()
        .map_err(|e| ServerError::Config(e.to_string()))?;
    let _ = state.openapi.set(json);
    Ok(App {
        router,
        state,
        new_admin_key,
    })
}

/// Run `sparkplane serve` until SIGTERM / Ctrl-C.
pub async fn serve(settings: Settings) -> Result<(), ServerError> {
    let app = build_app(&settings).await?;
    if let Some(key) = &app.new_admin_key {
        println!(
            "bootstrap Administrator API key (shown once; also in {}):\n{key}",
            settings.data_dir.join(ADMIN_KEY_FILE).display()
        );
    }
    let handle = axum_server::Handle::new();
    let shutdown = handle.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        shutdown.graceful_shutdown(Some(Duration::from_secs(10)));
    });
    let service = app
        .router
        .into_make_service_with_connect_info::<SocketAddr>();
    let store = app.state.store.clone();
    let result = if settings.insecure_http {
        tracing::warn!(listen = %settings.listen, "serving plain HTTP (--insecure-http): tokens and keys travel unencrypted");
        println!(
            "listening on http://{} (INSECURE: plain HTTP)",
            settings.listen
        );
        axum_server::bind(settings.listen)
            .acceptor(NoDelayAcceptor::new())
            .handle(handle)
            .serve(service)
            .await
    } else {
        let (cert, key, generated) =
            tls::ensure_cert(&settings.data_dir, settings.tls.as_ref(), settings.listen)?;
        let in_data_dir = settings.tls.is_none();
        let key_pem = at_rest::tls_key_pem(&app.state.store, &key, in_data_dir).await?;
        let (certs, key) = tls::load_pem(&cert, &key, &key_pem)?;
        let fp = certs.first().map(tls::fingerprint).unwrap_or_default();
        if generated {
            println!("generated self-signed TLS certificate {}", cert.display());
        }
        println!("TLS certificate SHA-256 fingerprint: {fp}");
        let cfg = tls::server_config(certs, key)?;
        println!("listening on https://{}", settings.listen);
        let rustls = axum_server::tls_rustls::RustlsConfig::from_config(cfg);
        // TCP_NODELAY: a response is often two TLS records; without it Nagle's algorithm and
        // delayed ACKs stall keep-alive connections by tens of milliseconds.
        let acceptor = RustlsAcceptor::new(rustls).acceptor(NoDelayAcceptor::new());
        axum_server::bind(settings.listen)
            .acceptor(acceptor)
            .handle(handle)
            .serve(service)
            .await
    };
    store.close().await;
    result.map_err(|e| ServerError::Io(format!("{}: {e}", settings.listen)))
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
