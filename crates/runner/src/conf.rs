//! Spark configuration layering: platform defaults < instance `default_config` < app `conf` <
//! enforced settings. Pure functions only; the runner writes the result into a 0600 properties
//! file, never onto a command line.
//!
//! # Internal encryption policy
//! `"spark.ssl.enabled": "true"` in an instance's `default_config` or an app's `conf` is read as
//! "encrypt Spark's internal traffic". In Spark 4, `spark.ssl.enabled` only switches TLS on for
//! the web UIs and the standalone daemons' UIs — not for RPC — and `spark.ssl.rpc.enabled`
//! *replaces* AES-based `spark.network.crypto` (the two are exclusive). sparkplane therefore maps
//! the request to:
//! - `spark.authenticate=true` (always on anyway, per-instance secret),
//! - `spark.network.crypto.enabled=true` (AES-GCM for all RPC and block transfers, keyed from the
//!   authenticated handshake),
//! - `spark.io.encryption.enabled=true` (shuffle and spill files encrypted on disk),
//! - `spark.ssl.rpc.enabled=false` (keep AES network crypto in force),
//! - the UI: TLS (`spark.ssl.ui.enabled=true`) with a generated per-instance keystore when one is
//!   supplied, otherwise the UI is switched off rather than served in clear text;
//! - `spark.ssl.enabled=false` itself, so no other namespace expects a keystore it lacks.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// A flat Spark configuration (`key → value`), ordered so that output is deterministic.
pub type SparkConf = BTreeMap<String, String>;

/// Where a conf key came from, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConfLayer {
    /// The platform operator's defaults.
    Platform,
    /// The instance's `default_config`.
    Instance,
    /// The application's `conf`.
    App,
}

impl std::fmt::Display for ConfLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ConfLayer::Platform => "platform defaults",
            ConfLayer::Instance => "instance default_config",
            ConfLayer::App => "application conf",
        })
    }
}

/// Why a configuration was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfError {
    /// A user layer tried to set a key the platform controls.
    #[error("conf key `{key}` in the {layer} is controlled by sparkplane and may not be set")]
    ProtectedKey {
        /// The refused key.
        key: String,
        /// The layer it came from.
        layer: ConfLayer,
    },
    /// A key or value that cannot be written to a properties file safely.
    #[error("conf key `{key}` has an invalid key or value (empty key, or control characters)")]
    Invalid {
        /// The refused key.
        key: String,
    },
    /// An environment variable name that is not a plain identifier.
    #[error("environment variable name `{name}` is invalid")]
    InvalidEnvName {
        /// The refused name.
        name: String,
    },
}

/// Keys that isolation or security depend on: users (instance `default_config` and app `conf`)
/// may not set them. The server's default_configs validation can reuse this predicate.
pub fn is_protected_key(key: &str) -> bool {
    const EXACT: &[&str] = &[
        "spark.master",
        "spark.remote",
        "spark.submit.deployMode",
        "spark.eventLog.dir",
        "spark.eventLog.enabled",
        "spark.local.dir",
        "spark.driver.host",
        "spark.driver.bindAddress",
        "spark.ui.port",
        "spark.ssl.rpc.enabled",
        "spark.network.crypto.enabled",
        "spark.io.encryption.enabled",
        "spark.app.id",
        "spark.redaction.regex",
        "spark.kubernetes.authenticate",
    ];
    const PREFIXES: &[&str] = &[
        "spark.authenticate",
        "spark.sparkplane.",
        "spark.ssl.ui.",
        "spark.ssl.standalone.",
        "spark.ssl.historyServer.",
        "spark.ssl.keyStore",
        "spark.ssl.trustStore",
        "spark.ssl.keyPassword",
        "spark.master.",
        "spark.worker.",
        "spark.deploy.",
        "spark.history.",
    ];
    EXACT.contains(&key) || PREFIXES.iter().any(|p| key.starts_with(p))
}

/// Keys whose values are secrets: they are kept out of anything shown to users.
pub fn is_secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    k.contains("secret")
        || k.contains("password")
        || k.contains("token")
        || k.contains("accesskey")
        || k.contains("access.key")
}

/// What the platform forces onto every application of an instance.
#[derive(Debug, Clone)]
pub struct Enforced<'a> {
    /// `spark.master` for the chosen backend (`local[N]`, `spark://127.0.0.1:PORT`).
    pub master: String,
    /// The instance's event-log directory.
    pub event_log_dir: &'a Path,
    /// The application's scratch directory (`spark.local.dir`, `java.io.tmpdir`).
    pub local_dir: &'a Path,
    /// The per-instance Spark authentication secret.
    pub secret: &'a str,
    /// The instance id (recorded as `spark.sparkplane.instance`).
    pub instance_id: &'a str,
    /// The sparkplane application id (recorded as `spark.sparkplane.app`).
    pub app_id: &'a str,
    /// A keystore for UI TLS, used when encryption is requested.
    pub ui_keystore: Option<&'a Keystore>,
    /// The application's environment variables (also sent to executors).
    pub env: &'a BTreeMap<String, String>,
}

/// A PKCS#12 keystore and its password (a secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keystore {
    /// Keystore file.
    pub path: PathBuf,
    /// Store and key password.
    pub password: String,
}

/// The result of layering: everything a properties file needs, with secrets kept apart.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EffectiveConf {
    /// Non-secret settings (safe to show to Readers).
    pub public: SparkConf,
    /// Secret settings (only ever written to the 0600 properties file).
    #[serde(skip)]
    pub secret: SparkConf,
    /// Whether internal encryption was requested via `spark.ssl.enabled`.
    pub encrypted: bool,
}

impl EffectiveConf {
    /// The conf as shown to users: secrets replaced by `*********(redacted)`.
    pub fn redacted(&self) -> SparkConf {
        let mut out = self.public.clone();
        for k in self.secret.keys() {
            out.insert(k.clone(), "*********(redacted)".to_owned());
        }
        out
    }

    /// Java properties-file text holding every setting (public and secret).
    pub fn to_properties(&self) -> String {
        let mut all: Vec<(&String, &String)> =
            self.public.iter().chain(self.secret.iter()).collect();
        all.sort();
        let mut out = String::from("# written by sparkplane; mode 0600\n");
        for (k, v) in all {
            out.push_str(&escape_properties(k, true));
            out.push('=');
            out.push_str(&escape_properties(v, false));
            out.push('\n');
        }
        out
    }

    /// Total cores the application will hold (driver + executors), for quotas.
    /// `local[N]`: N. Standalone: `spark.driver.cores` (default 1) + `spark.cores.max`.
    pub fn cores(&self) -> u32 {
        let get = |k: &str| {
            self.public
                .get(k)
                .and_then(|v| v.trim().parse::<u32>().ok())
        };
        match self.public.get("spark.master") {
            Some(m) if m.starts_with("local[") => m
                .trim_start_matches("local[")
                .trim_end_matches(']')
                .parse::<u32>()
                .unwrap_or(1)
                .max(1),
            _ => get("spark.driver.cores").unwrap_or(1) + get("spark.cores.max").unwrap_or(1),
        }
    }
}

/// Escape a key or value for a Java properties file (ISO-8859-1 with `\uXXXX` escapes).
pub fn escape_properties(s: &str, is_key: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for (i, c) in s.chars().enumerate() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '=' | ':' | '#' | '!' if is_key || i == 0 => {
                out.push('\\');
                out.push(c);
            }
            ' ' if is_key || i == 0 => out.push_str("\\ "),
            c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out
}

fn truthy(v: Option<&String>) -> bool {
    v.is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
}

fn check_layer(conf: &SparkConf, layer: ConfLayer) -> Result<(), ConfError> {
    for (k, v) in conf {
        if k.trim().is_empty() || k.chars().any(char::is_control) || v.contains('\0') {
            return Err(ConfError::Invalid { key: k.clone() });
        }
        if layer != ConfLayer::Platform && is_protected_key(k) {
            return Err(ConfError::ProtectedKey {
                key: k.clone(),
                layer,
            });
        }
    }
    Ok(())
}

/// Check an environment variable name (`[A-Za-z_][A-Za-z0-9_]*`).
pub fn check_env_name(name: &str) -> Result<(), ConfError> {
    let mut chars = name.chars();
    let ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(ConfError::InvalidEnvName {
            name: name.to_owned(),
        })
    }
}

fn append_java_opt(conf: &mut SparkConf, key: &str, opt: &str) {
    let v = match conf.get(key) {
        Some(existing) if !existing.trim().is_empty() => format!("{existing} {opt}"),
        _ => opt.to_owned(),
    };
    conf.insert(key.to_owned(), v);
}

/// Layer the configuration: `platform < instance < app < enforced`. Protected keys in the
/// instance or app layer are refused (naming the key), as are malformed keys and env names.
pub fn layer(
    platform: &SparkConf,
    instance: &SparkConf,
    app: &SparkConf,
    enforced: &Enforced<'_>,
) -> Result<EffectiveConf, ConfError> {
    check_layer(platform, ConfLayer::Platform)?;
    check_layer(instance, ConfLayer::Instance)?;
    check_layer(app, ConfLayer::App)?;
    for name in enforced.env.keys() {
        check_env_name(name)?;
    }

    let mut conf: SparkConf = platform.clone();
    conf.extend(instance.iter().map(|(k, v)| (k.clone(), v.clone())));
    conf.extend(app.iter().map(|(k, v)| (k.clone(), v.clone())));

    let encrypted = truthy(conf.get("spark.ssl.enabled"));

    // Split user-supplied secrets (e.g. object-store keys) away from the public view.
    let mut secret = SparkConf::new();
    let keys: Vec<String> = conf.keys().filter(|k| is_secret_key(k)).cloned().collect();
    for k in keys {
        if let Some(v) = conf.remove(&k) {
            secret.insert(k, v);
        }
    }

    let local_dir = enforced.local_dir.display().to_string();
    let set = |c: &mut SparkConf, k: &str, v: &str| {
        c.insert(k.to_owned(), v.to_owned());
    };
    set(&mut conf, "spark.master", &enforced.master);
    set(&mut conf, "spark.submit.deployMode", "client");
    set(&mut conf, "spark.eventLog.enabled", "true");
    set(
        &mut conf,
        "spark.eventLog.dir",
        &format!("file:{}", enforced.event_log_dir.display()),
    );
    set(&mut conf, "spark.local.dir", &local_dir);
    set(&mut conf, "spark.driver.bindAddress", "127.0.0.1");
    set(&mut conf, "spark.driver.host", "127.0.0.1");
    set(&mut conf, "spark.ui.port", "0");
    set(&mut conf, "spark.authenticate", "true");
    set(&mut conf, "spark.sparkplane.instance", enforced.instance_id);
    set(&mut conf, "spark.sparkplane.app", enforced.app_id);
    secret.insert(
        "spark.authenticate.secret".to_owned(),
        enforced.secret.to_owned(),
    );
    let tmp_opt = format!("-Djava.io.tmpdir={local_dir}");
    append_java_opt(&mut conf, "spark.driver.extraJavaOptions", &tmp_opt);
    append_java_opt(&mut conf, "spark.executor.extraJavaOptions", &tmp_opt);
    for (k, v) in enforced.env {
        let key = format!("spark.executorEnv.{k}");
        if is_secret_key(k) {
            conf.remove(&key);
            secret.insert(key, v.clone());
        } else {
            conf.insert(key, v.clone());
        }
    }

    if encrypted {
        set(&mut conf, "spark.ssl.enabled", "false");
        set(&mut conf, "spark.ssl.rpc.enabled", "false");
        set(&mut conf, "spark.network.crypto.enabled", "true");
        set(&mut conf, "spark.io.encryption.enabled", "true");
        let ui_on = !conf
            .get("spark.ui.enabled")
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("false"));
        match enforced.ui_keystore {
            Some(ks) if ui_on => {
                set(&mut conf, "spark.ssl.ui.enabled", "true");
                set(
                    &mut conf,
                    "spark.ssl.ui.keyStore",
                    &ks.path.display().to_string(),
                );
                set(&mut conf, "spark.ssl.ui.keyStoreType", "PKCS12");
                set(&mut conf, "spark.ssl.ui.protocol", "TLSv1.3");
                secret.insert(
                    "spark.ssl.ui.keyStorePassword".to_owned(),
                    ks.password.clone(),
                );
                secret.insert("spark.ssl.ui.keyPassword".to_owned(), ks.password.clone());
            }
            _ => set(&mut conf, "spark.ui.enabled", "false"),
        }
    }

    Ok(EffectiveConf {
        public: conf,
        secret,
        encrypted,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(pairs: &[(&str, &str)]) -> SparkConf {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn enforced<'a>(env: &'a BTreeMap<String, String>, ks: Option<&'a Keystore>) -> Enforced<'a> {
        Enforced {
            master: "local[1]".into(),
            event_log_dir: Path::new("/data/i1/eventlogs"),
            local_dir: Path::new("/data/i1/apps/a1/tmp"),
            secret: "s3cr3t-value",
            instance_id: "i1",
            app_id: "a1",
            ui_keystore: ks,
            env,
        }
    }

    #[test]
    fn precedence_platform_instance_app() {
        let env = BTreeMap::new();
        let eff = layer(
            &c(&[
                ("spark.executor.memory", "1g"),
                ("spark.a", "p"),
                ("spark.b", "p"),
            ]),
            &c(&[("spark.a", "i"), ("spark.b", "i")]),
            &c(&[("spark.b", "a")]),
            &enforced(&env, None),
        )
        .unwrap();
        assert_eq!(eff.public["spark.executor.memory"], "1g");
        assert_eq!(eff.public["spark.a"], "i");
        assert_eq!(eff.public["spark.b"], "a");
        assert_eq!(eff.public["spark.master"], "local[1]");
        assert_eq!(eff.public["spark.eventLog.dir"], "file:/data/i1/eventlogs");
        assert_eq!(eff.public["spark.local.dir"], "/data/i1/apps/a1/tmp");
        assert_eq!(eff.public["spark.driver.bindAddress"], "127.0.0.1");
        assert_eq!(eff.public["spark.authenticate"], "true");
        assert!(!eff.encrypted);
        assert!(!eff.public.contains_key("spark.network.crypto.enabled"));
    }

    #[test]
    fn enforced_beats_platform_and_protected_keys_are_refused() {
        let env = BTreeMap::new();
        // The platform layer may set anything, enforced still wins.
        let eff = layer(
            &c(&[("spark.master", "yarn"), ("spark.local.dir", "/tmp")]),
            &SparkConf::new(),
            &SparkConf::new(),
            &enforced(&env, None),
        )
        .unwrap();
        assert_eq!(eff.public["spark.master"], "local[1]");
        assert_eq!(eff.public["spark.local.dir"], "/data/i1/apps/a1/tmp");
        for key in [
            "spark.master",
            "spark.authenticate",
            "spark.authenticate.secret",
            "spark.eventLog.dir",
            "spark.local.dir",
            "spark.driver.host",
            "spark.ssl.ui.keyStore",
        ] {
            let err = layer(
                &SparkConf::new(),
                &SparkConf::new(),
                &c(&[(key, "x")]),
                &enforced(&env, None),
            )
            .unwrap_err();
            assert_eq!(
                err,
                ConfError::ProtectedKey {
                    key: key.into(),
                    layer: ConfLayer::App
                }
            );
            let err = layer(
                &SparkConf::new(),
                &c(&[(key, "x")]),
                &SparkConf::new(),
                &enforced(&env, None),
            )
            .unwrap_err();
            assert!(err.to_string().contains(key), "{err}");
        }
    }

    #[test]
    fn secret_only_in_secret_part_and_redacted_view() {
        let env: BTreeMap<String, String> = [
            ("MY_TOKEN".to_owned(), "tok".to_owned()),
            ("MODE".to_owned(), "x".to_owned()),
        ]
        .into();
        let eff = layer(
            &SparkConf::new(),
            &SparkConf::new(),
            &c(&[("spark.hadoop.fs.s3a.secret.key", "AWSSECRET")]),
            &enforced(&env, None),
        )
        .unwrap();
        let public = serde_json::to_string(&eff).unwrap();
        assert!(!public.contains("s3cr3t-value"));
        assert!(!public.contains("AWSSECRET"));
        assert!(!public.contains("\"tok\""));
        assert_eq!(eff.secret["spark.authenticate.secret"], "s3cr3t-value");
        assert_eq!(eff.public["spark.executorEnv.MODE"], "x");
        assert_eq!(eff.secret["spark.executorEnv.MY_TOKEN"], "tok");
        let red = eff.redacted();
        assert_eq!(red["spark.authenticate.secret"], "*********(redacted)");
        let props = eff.to_properties();
        assert!(props.contains("spark.authenticate.secret=s3cr3t-value\n"));
        assert!(props.contains("spark.hadoop.fs.s3a.secret.key=AWSSECRET\n"));
    }

    #[test]
    fn ssl_enabled_maps_to_internal_encryption() {
        let env = BTreeMap::new();
        let ks = Keystore {
            path: "/data/i1/ui.p12".into(),
            password: "kspw".into(),
        };
        for (inst, app) in [
            (c(&[("spark.ssl.enabled", "true")]), SparkConf::new()),
            (SparkConf::new(), c(&[("spark.ssl.enabled", " TRUE ")])),
        ] {
            let eff = layer(&SparkConf::new(), &inst, &app, &enforced(&env, Some(&ks))).unwrap();
            assert!(eff.encrypted);
            for k in [
                "spark.authenticate",
                "spark.network.crypto.enabled",
                "spark.io.encryption.enabled",
                "spark.ssl.ui.enabled",
            ] {
                assert_eq!(eff.public[k], "true", "{k}");
            }
            assert_eq!(eff.public["spark.ssl.rpc.enabled"], "false");
            assert_eq!(eff.public["spark.ssl.enabled"], "false");
            assert_eq!(eff.secret["spark.ssl.ui.keyStorePassword"], "kspw");
        }
        // The app can turn it off again when the instance asked for it.
        let eff = layer(
            &SparkConf::new(),
            &c(&[("spark.ssl.enabled", "true")]),
            &c(&[("spark.ssl.enabled", "false")]),
            &enforced(&env, None),
        )
        .unwrap();
        assert!(!eff.encrypted);
        // Without a keystore the UI is switched off rather than served in clear.
        let eff = layer(
            &SparkConf::new(),
            &c(&[("spark.ssl.enabled", "true")]),
            &SparkConf::new(),
            &enforced(&env, None),
        )
        .unwrap();
        assert_eq!(eff.public["spark.ui.enabled"], "false");
    }

    #[test]
    fn properties_escaping_round_trips_shape() {
        assert_eq!(escape_properties("a=b:c", true), "a\\=b\\:c");
        assert_eq!(escape_properties(" x=y", false), "\\ x=y");
        assert_eq!(escape_properties("l1\nl2", false), "l1\\nl2");
        assert_eq!(escape_properties("é", false), "\\u00e9");
    }

    #[test]
    fn bad_env_names_and_keys_refused() {
        let env: BTreeMap<String, String> = [("A-B".to_owned(), "x".to_owned())].into();
        assert!(matches!(
            layer(
                &SparkConf::new(),
                &SparkConf::new(),
                &SparkConf::new(),
                &enforced(&env, None)
            ),
            Err(ConfError::InvalidEnvName { .. })
        ));
        let env = BTreeMap::new();
        assert!(matches!(
            layer(
                &SparkConf::new(),
                &SparkConf::new(),
                &c(&[("spark.x\n", "v")]),
                &enforced(&env, None)
            ),
            Err(ConfError::Invalid { .. })
        ));
    }

    #[test]
    fn cores_for_quota() {
        let env = BTreeMap::new();
        let mut e = enforced(&env, None);
        e.master = "local[3]".into();
        let eff = layer(&SparkConf::new(), &SparkConf::new(), &SparkConf::new(), &e).unwrap();
        assert_eq!(eff.cores(), 3);
        e.master = "spark://127.0.0.1:7077".into();
        let eff = layer(
            &SparkConf::new(),
            &SparkConf::new(),
            &c(&[("spark.cores.max", "2")]),
            &e,
        )
        .unwrap();
        assert_eq!(eff.cores(), 3);
    }
}
