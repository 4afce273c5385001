//! The control-plane HTTP(S) API of sparkplane: axum routes in IBM Analytics Engine v3 shapes,
//! bearer-token authentication, the OpenAPI document, metrics, TLS, and the `serve` entry point.
//!
//! Layout: [`config`] settings, [`telemetry`] logging, [`error`] the one error type and its HTTP
//! mapping, [`auth`] token checks, [`state`] shared state and the authorization helper, [`api`]
//! handlers, [`tls`] certificates.
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod api;
pub mod auth;
pub mod config;
pub mod error;
pub mod extract;
mod fsutil;
pub mod metrics;
pub mod state;
pub mod telemetry;
pub mod tls;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum_server::accept::NoDelayAcceptor;
use axum_server::tls_rustls::RustlsAcceptor;
use rand::RngCore;
use sparkplane_iam::{ApiKey, FailureLimiter, PrincipalKind, TokenSigner};
use sparkplane_store::{ApiKeyRecord, ObjectStoreSpec, Objects, Outcome, PrincipalRecord, Store};

pub use config::{RunnerSettings, Settings, SettingsLayer};
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

fn load_or_create_signing_key(data_dir: &Path) -> Result<Vec<u8>, ServerError> {
    let path = data_dir.join(SIGNING_KEY_FILE);
    match std::fs::read(&path) {
        Ok(k) if k.len() >= 32 => Ok(k),
        Ok(_) => Err(ServerError::Iam(format!(
            "{}: key shorter than 32 bytes",
            path.display()
        ))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut key = vec![0u8; 64];
            rand::rngs::OsRng.fill_bytes(&mut key);
            fsutil::write_private(&path, &key)?;
            Ok(key)
        }
        Err(e) => Err(ServerError::Io(format!("{}: {e}", path.display()))),
    }
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

/// Open the store, bootstrap, and build the router.
pub async fn build_app(settings: &Settings) -> Result<App, ServerError> {
    fsutil::ensure_private_dir(&settings.data_dir)?;
    let store = Arc::new(Store::open(&settings.database_url).await?);
    let objects = Objects::open(&ObjectStoreSpec::parse(
        &settings.object_store,
        settings.s3_endpoint.clone(),
    )?)?;
    let signer = TokenSigner::new(&load_or_create_signing_key(&settings.data_dir)?)
        .map_err(|e| ServerError::Iam(e.to_string()))?;
    let new_admin_key = bootstrap_admin(&store, &settings.data_dir).await?;
    let hashing_permits = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        * 2;
    let runner_dir = settings.data_dir.join("runner");
    let runner = match &settings.runner {
        Some(rs) => {
            let mut cfg =
                sparkplane_runner::RunnerConfig::new(runner_dir.clone(), rs.spark_home.clone());
            cfg.python = rs.python.clone();
            cfg.supervisor = rs.supervisor.clone();
            match sparkplane_runner::Runner::new(
                cfg,
                Arc::new(sparkplane_runner::AnalyzeCompletion),
            ) {
                Ok(r) => Some(r),
                Err(e) => {
                    tracing::warn!(error = %e, "Spark runner not available; application routes answer 503");
                    None
                }
            }
        }
        None => None,
    };
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
    }));
    let (router, api) = api::router(state.clone());
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
        let (certs, key) = tls::load(&cert, &key)?;
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
