//! Settings: command-line flags > `SPARKPLANE_*` environment variables > optional TOML file >
//! defaults. Flags and env are resolved by clap in the binary and arrive here as a layer.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::ServerError;

/// One layer of settings; every field optional. Also the TOML file's shape.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsLayer {
    /// Data directory.
    pub data_dir: Option<PathBuf>,
    /// Listen address.
    pub listen: Option<SocketAddr>,
    /// `sqlite://…` or `postgres://…`.
    pub database_url: Option<String>,
    /// Local directory or `s3://bucket/prefix`.
    pub object_store: Option<String>,
    /// S3-compatible endpoint URL.
    pub s3_endpoint: Option<String>,
    /// PEM certificate chain.
    pub tls_cert: Option<PathBuf>,
    /// PEM private key.
    pub tls_key: Option<PathBuf>,
    /// Serve plain HTTP (warning).
    pub insecure_http: Option<bool>,
    /// Log filter (`info`, `sparkplane_server=debug`, …).
    pub log: Option<String>,
    /// Web portal login through an OIDC provider (TOML table `[oidc]`; flags `--oidc-*`).
    pub oidc: Option<crate::portal::OidcLayer>,
    /// Confinement of Spark applications: `auto` (default), `bwrap`, `none`.
    pub sandbox: Option<SandboxMode>,
    /// Backend of instances that do not choose one (`sparkplane.backend`): `local`, `standalone`.
    pub spark_backend: Option<SparkBackend>,
    /// File holding the master key of encryption at rest (default: `<data_dir>/master-key`,
    /// generated with mode 0600 on first start).
    pub master_key_file: Option<PathBuf>,
    /// Summaries ingest and event-log sources (TOML table `[ingest]`: prices, poll interval).
    pub ingest: Option<crate::ingest::IngestLayer>,
}

/// How Spark applications are confined (`--sandbox`, TOML `sandbox`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SandboxMode {
    /// bubblewrap when it works here, else plain processes (logged).
    #[default]
    Auto,
    /// bubblewrap; the server refuses to start if it does not work.
    Bwrap,
    /// Plain processes (own directories, cleared environment) only.
    None,
}

impl std::str::FromStr for SandboxMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(Self::Auto),
            "bwrap" | "bubblewrap" => Ok(Self::Bwrap),
            "none" => Ok(Self::None),
            _ => Err(format!("`{s}`: expected auto, bwrap or none")),
        }
    }
}

/// Where an instance's applications run (`--spark-backend`, TOML `spark_backend`, or the
/// instance's own `default_config` key `sparkplane.backend`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SparkBackend {
    /// `spark-submit --master local[N]` per application.
    #[default]
    Local,
    /// The instance's own standalone Master + Worker, started by sparkplane.
    Standalone,
}

impl std::str::FromStr for SparkBackend {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "local" => Ok(Self::Local),
            "standalone" => Ok(Self::Standalone),
            _ => Err(format!("`{s}`: expected local or standalone")),
        }
    }
}

impl SettingsLayer {
    /// Fill every unset field of `self` from `lower`.
    pub fn or(self, lower: SettingsLayer) -> SettingsLayer {
        SettingsLayer {
            data_dir: self.data_dir.or(lower.data_dir),
            listen: self.listen.or(lower.listen),
            database_url: self.database_url.or(lower.database_url),
            object_store: self.object_store.or(lower.object_store),
            s3_endpoint: self.s3_endpoint.or(lower.s3_endpoint),
            tls_cert: self.tls_cert.or(lower.tls_cert),
            tls_key: self.tls_key.or(lower.tls_key),
            insecure_http: self.insecure_http.or(lower.insecure_http),
            log: self.log.or(lower.log),
            oidc: crate::portal::OidcLayer::merge(self.oidc, lower.oidc),
            sandbox: self.sandbox.or(lower.sandbox),
            spark_backend: self.spark_backend.or(lower.spark_backend),
            master_key_file: self.master_key_file.or(lower.master_key_file),
            ingest: crate::ingest::IngestLayer::merge(self.ingest, lower.ingest),
        }
    }

    /// Read a TOML settings file.
    pub fn from_toml_file(path: &Path) -> Result<SettingsLayer, ServerError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ServerError::Config(format!("{}: {e}", path.display())))?;
        toml::from_str(&text).map_err(|e| ServerError::Config(format!("{}: {e}", path.display())))
    }
}

/// Resolved settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Data directory (created 0700).
    pub data_dir: PathBuf,
    /// Listen address.
    pub listen: SocketAddr,
    /// Database URL.
    pub database_url: String,
    /// Object store spec.
    pub object_store: String,
    /// S3 endpoint.
    pub s3_endpoint: Option<String>,
    /// TLS certificate and key files (both or neither).
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Plain HTTP.
    pub insecure_http: bool,
    /// Log filter.
    pub log: String,
    /// OIDC login of the web portal (`None`: local passwords only).
    pub oidc: Option<crate::portal::OidcSettings>,
    /// Spark and the per-app supervisor; `None`: application routes answer 503.
    pub runner: Option<RunnerSettings>,
    /// Confinement of Spark applications.
    pub sandbox: SandboxMode,
    /// Default backend of instances.
    pub spark_backend: SparkBackend,
    /// Master key file of encryption at rest; `None`: `<data_dir>/master-key`.
    pub master_key_file: Option<PathBuf>,
    /// Summaries ingest: cost prices and the source poll interval.
    pub ingest: crate::ingest::IngestSettings,
}

/// How the server runs Spark applications (see `sparkplane_runner`).
#[derive(Debug, Clone)]
pub struct RunnerSettings {
    /// `$SPARK_HOME` (with `bin/spark-submit`).
    pub spark_home: PathBuf,
    /// Python for PySpark; `None` = `python3` on `PATH`.
    pub python: Option<PathBuf>,
    /// The supervisor command (`[sparkplane, "supervise"]`).
    pub supervisor: Vec<std::ffi::OsString>,
}

impl Settings {
    /// Apply defaults to a merged layer.
    pub fn resolve(layer: SettingsLayer) -> Result<Settings, ServerError> {
        let data_dir = layer
            .data_dir
            .unwrap_or_else(|| PathBuf::from("./sparkplane-data"));
        let database_url = layer
            .database_url
            .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("sparkplane.db").display()));
        let object_store = layer
            .object_store
            .unwrap_or_else(|| data_dir.join("objects").display().to_string());
        let tls = match (layer.tls_cert, layer.tls_key) {
            (Some(c), Some(k)) => Some((c, k)),
            (None, None) => None,
            _ => {
                return Err(ServerError::Config(
                    "--tls-cert and --tls-key go together".into(),
                ))
            }
        };
        Ok(Settings {
            listen: layer
                .listen
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8443))),
            data_dir,
            database_url,
            object_store,
            s3_endpoint: layer.s3_endpoint,
            tls,
            insecure_http: layer.insecure_http.unwrap_or(false),
            log: layer.log.unwrap_or_else(|| "info".into()),
            oidc: crate::portal::OidcSettings::resolve(layer.oidc).map_err(ServerError::Config)?,
            runner: None,
            sandbox: layer.sandbox.unwrap_or_default(),
            spark_backend: layer.spark_backend.unwrap_or_default(),
            master_key_file: layer.master_key_file,
            ingest: crate::ingest::IngestLayer::resolve(layer.ingest.as_ref())
                .map_err(ServerError::Config)?,
        })
    }

    /// Defaults for a data directory (tests).
    pub fn for_data_dir(dir: &Path) -> Settings {
        let layer = SettingsLayer {
            data_dir: Some(dir.to_path_buf()),
            ..Default::default()
        };
        match Settings::resolve(layer) {
            Ok(s) => s,
            Err(_) => unreachable!("defaults always resolve"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sandbox_and_backend_settings() {
        let file: SettingsLayer =
            toml::from_str("sandbox = \"none\"\nspark_backend = \"standalone\"").unwrap();
        let s = Settings::resolve(SettingsLayer::default().or(file)).unwrap();
        assert_eq!(s.sandbox, SandboxMode::None);
        assert_eq!(s.spark_backend, SparkBackend::Standalone);
        let d = Settings::resolve(SettingsLayer::default()).unwrap();
        assert_eq!(
            d.sandbox,
            SandboxMode::Auto,
            "bubblewrap when available by default"
        );
        assert_eq!(d.spark_backend, SparkBackend::Local);
        assert!(toml::from_str::<SettingsLayer>("sandbox = \"chroot\"").is_err());
        assert_eq!("bwrap".parse::<SandboxMode>(), Ok(SandboxMode::Bwrap));
        assert!("yarn".parse::<SparkBackend>().is_err());
    }

    #[test]
    fn precedence_and_defaults() {
        let file: SettingsLayer =
            toml::from_str("listen = \"127.0.0.1:9000\"\nlog = \"debug\"").unwrap();
        let flags = SettingsLayer {
            listen: Some("127.0.0.1:9100".parse().unwrap()),
            ..Default::default()
        };
        let s = Settings::resolve(flags.or(file)).unwrap();
        assert_eq!(s.listen.port(), 9100);
        assert_eq!(s.log, "debug");
        assert!(s.database_url.ends_with("sparkplane-data/sparkplane.db"));
        assert!(toml::from_str::<SettingsLayer>("bogus = 1").is_err());
    }
}
