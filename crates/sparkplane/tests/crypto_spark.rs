//! Issue 10 with real Spark (pip pyspark) and the real `sparkplane serve` binary over TLS.
//!
//! Parquet modular encryption with keys held by sparkplane's per-instance KMS: the Java
//! `KmsClient` (java/kms-client, compiled here with javac against Spark's jars) wraps the keys of
//! a DataFrame with an `ssn` column encrypted by key `k1` (footer key `k2`); the file ends with
//! `PARE` and holds none of the values; a principal with a role on the instance reads the rows
//! back; a principal of another instance gets the KMS's authorization error; the audit log shows
//! the wraps and unwraps; the client refuses a server whose certificate is not the trusted one;
//! through the runner the KMS settings and the caller's token are filled in.
//!
//! Library sets: a wheel built here is imported inside a UDF on standalone executors; a wrong
//! hash and a requirement without a hash are refused; another instance cannot use the set.
#![allow(clippy::unwrap_used)]
#![cfg(feature = "server")]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

mod export_support;

use export_support::serve::{self, Api};
use export_support::{free_port, root, Proc};

/// The venv's python and Spark's jars, or `None` after printing why (a failure with
/// `SPARKPLANE_REQUIRE_ALL=1`).
fn pyspark() -> Option<(PathBuf, PathBuf)> {
    let python = root().join(".venv/bin/python");
    match sparkplane_runner::find_spark_home(&root()) {
        Some(home) if python.is_file() => Some((python, home.join("jars"))),
        _ => {
            export_support::missing("pyspark (.venv)");
            None
        }
    }
}

/// `sparkplane serve` over TLS; the calls go through its [`Api`].
struct Server {
    api: Api,
    _child: Proc,
}

impl std::ops::Deref for Server {
    type Target = Api;
    fn deref(&self) -> &Api {
        &self.api
    }
}

impl Server {
    fn start(data: &Path, extra: &[&str]) -> Server {
        let port = free_port();
        let child = Proc(serve::spawn(
            serve::serve_command(data)
                .arg("--listen")
                .arg(format!("127.0.0.1:{port}"))
                .args(extra),
        ));
        // Submitting to a standalone instance starts its Master + Worker first: long timeout.
        let api = serve::wait_ready(60, || {
            Api::tls(data, "127.0.0.1", port, Duration::from_secs(240))
        });
        Server { api, _child: child }
    }
}

const SCRIPT: &str = r#"
import os, sys
from pyspark.sql import SparkSession
mode, path = sys.argv[1], sys.argv[2]
b = (SparkSession.builder.master("local[2]").appName("kms-" + mode)
     .config("spark.ui.enabled", "false")
     .config("spark.hadoop.parquet.crypto.factory.class",
             "org.apache.parquet.crypto.keytools.PropertiesDrivenCryptoFactory")
     .config("spark.hadoop.parquet.encryption.kms.client.class",
             "io.sparkplane.kms.SparkplaneKmsClient")
     .config("spark.hadoop.parquet.encryption.kms.instance.url", os.environ["KMS_URL"])
     .config("spark.hadoop.parquet.encryption.kms.instance.id", os.environ["KMS_INSTANCE"])
     .config("spark.hadoop.sparkplane.kms.truststore", os.environ["KMS_TRUSTSTORE"])
     # The token comes from the environment into the session conf: never on a command line.
     .config("spark.hadoop.parquet.encryption.key.access.token", os.environ["KMS_TOKEN"]))
spark = b.getOrCreate()
spark.sparkContext.setLogLevel("ERROR")
try:
    if mode == "write":
        rows = [(i, "SSN-%03d-55-%04d" % (i, i), "name%d" % i) for i in range(50)]
        df = spark.createDataFrame(rows, ["id", "ssn", "name"])
        (df.write.mode("overwrite")
           .option("parquet.encryption.column.keys", "k1:ssn")
           .option("parquet.encryption.footer.key", "k2")
           .parquet(path))
    got = spark.read.parquet(path).orderBy("id").collect()
    print("ROWS", len(got), got[7]["ssn"])
except Exception as e:
    print("FAILED", str(e)[:4000])
    sys.exit(3)
finally:
    spark.stop()
"#;

fn run_spark(
    python: &Path,
    jar: &Path,
    script: &Path,
    mode: &str,
    out: &Path,
    env: &[(&str, &str)],
) -> (bool, String) {
    let o = Command::new(python)
        .arg(script)
        .arg(mode)
        .arg(out)
        .env(
            "PYSPARK_SUBMIT_ARGS",
            format!("--driver-class-path {} pyspark-shell", jar.display()),
        )
        .envs(env.iter().copied())
        .env_remove("SPARK_HOME")
        .output()
        .unwrap();
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    (o.status.success(), text)
}

#[test]
fn parquet_modular_encryption_through_the_kms() {
    let Some((python, jars)) = pyspark() else {
        return;
    };
    let t = tempfile::tempdir().unwrap();
    let jar = t.path().join("sparkplane-kms-client.jar");
    let st = Command::new(root().join("java/kms-client/build.sh"))
        .arg(&jars)
        .arg(&jar)
        .status()
        .unwrap();
    assert!(st.success(), "javac of the KMS client");
    let script = t.path().join("kms.py");
    std::fs::write(&script, SCRIPT).unwrap();

    let data = t.path().join("data");
    let s = Server::start(&data, &[]);
    let admin_key = std::fs::read_to_string(data.join("admin-apikey")).unwrap();
    let admin = s.token(admin_key.trim());
    let mk = |name: &str| {
        let (st, v) = s.call(
            "POST",
            "/v3/analytics_engines",
            &admin,
            Some(json!({"name": name})),
        );
        assert_eq!(st, 201, "{v}");
        v["id"].as_str().unwrap().to_owned()
    };
    let (a, b) = (mk("a"), mk("b"));
    let manager_a = s.principal_on(&admin, &a, "mgr-a", "Manager");
    let reader_a = s.principal_on(&admin, &a, "reader-a", "Reader");
    let manager_b = s.principal_on(&admin, &b, "mgr-b", "Manager");
    for k in ["k1", "k2"] {
        let (st, v) = s.call(
            "POST",
            &format!("/v3/analytics_engines/{a}/kms/keys"),
            &manager_a,
            Some(json!({"name": k})),
        );
        assert_eq!(st, 201, "{v}");
    }
    let trust = data.join("tls-cert.pem").display().to_string();
    let url = s.base.clone();
    let out = t.path().join("enc.parquet");
    let env = |token: &str, trust: &str| -> Vec<(&'static str, String)> {
        vec![
            ("KMS_URL", url.clone()),
            ("KMS_INSTANCE", a.clone()),
            ("KMS_TRUSTSTORE", trust.to_owned()),
            ("KMS_TOKEN", token.to_owned()),
        ]
    };
    let run = |mode: &str, e: Vec<(&'static str, String)>| {
        let e: Vec<(&str, &str)> = e.iter().map(|(k, v)| (*k, v.as_str())).collect();
        run_spark(&python, &jar, &script, mode, &out, &e)
    };

    // Write (Manager of A: wraps) and read back in the same app.
    let (ok, text) = run("write", env(&manager_a, &trust));
    assert!(ok, "write failed:\n{text}");
    assert!(text.contains("ROWS 50 SSN-007-55-0007"), "{text}");
    // Every part file: encrypted footer (PARE), no value in the raw bytes.
    let mut parts = 0;
    for e in std::fs::read_dir(&out).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "parquet") {
            let raw = std::fs::read(&p).unwrap();
            assert!(
                raw.ends_with(b"PARE"),
                "{} footer not encrypted",
                p.display()
            );
            assert!(
                !raw.windows(4).any(|w| w == b"SSN-"),
                "plaintext ssn in {}",
                p.display()
            );
            assert!(!raw.windows(5).any(|w| w == b"name7"), "footer-key data");
            parts += 1;
        }
    }
    assert!(parts > 0);
    // A Reader of A reads the rows back in another app (unwraps).
    let (ok, text) = run("read", env(&reader_a, &trust));
    assert!(ok, "reader of A failed:\n{text}");
    assert!(text.contains("ROWS 50 SSN-007-55-0007"), "{text}");
    // A principal of another instance: the KMS's authorization error.
    let (ok, text) = run("read", env(&manager_b, &trust));
    assert!(!ok, "principal of B read A's data:\n{text}");
    assert!(
        text.contains("sparkplane KMS authorization error"),
        "expected the KMS authorization error:\n{text}"
    );
    // A server certificate other than the trusted one: refused by the client.
    let other = t.path().join("other-cert.pem");
    let g = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
        ])
        .args(["-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"])
        .arg("-keyout")
        .arg(t.path().join("other-key.pem"))
        .arg("-out")
        .arg(&other)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(g.success(), "openssl req");
    let (ok, text) = run("read", env(&reader_a, &other.display().to_string()));
    assert!(
        !ok,
        "client accepted an untrusted server certificate:\n{text}"
    );
    assert!(
        text.contains("PKIX") || text.contains("SSLHandshake") || text.contains("certification"),
        "expected a TLS verification failure:\n{text}"
    );
    // The audit shows the wraps and the unwraps (and the denied unwrap of B's principal is in
    // the platform log).
    let (st, v) = s.call(
        "GET",
        &format!("/v3/analytics_engines/{a}/audit_events?limit=200"),
        &manager_a,
        None,
    );
    assert_eq!(st, 200);
    let evs = v["audit_events"].as_array().unwrap();
    let count = |action: &str, outcome: &str| {
        evs.iter()
            .filter(|e| e["action"] == action && e["outcome"] == outcome)
            .count()
    };
    assert!(count("instance.kms.wrap", "success") >= 2, "{v}");
    assert!(count("instance.kms.unwrap", "success") >= 2, "{v}");
    let (st, v) = s.call("GET", "/v1/audit_events?limit=200", &admin, None);
    assert_eq!(st, 200);
    assert!(
        v["audit_events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "instance.kms.unwrap" && e["outcome"] == "denied"),
        "denied unwrap audited"
    );
    // `sparkplane admin rotate-master-key` against the running server: the KMS keys (sealed
    // with the instance's data key) still work afterwards.
    let o = Command::new(env!("CARGO_BIN_EXE_sparkplane"))
        .args(["admin", "rotate-master-key"])
        .env("SPARKPLANE_URL", &url)
        .env("SPARKPLANE_APIKEY", admin_key.trim())
        .env("SPARKPLANE_CA_CERT", &trust)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{text} {}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(text.contains("master key rotated"), "{text}");
    let (st, w) = s.call(
        "POST",
        &format!("/v3/analytics_engines/{a}/kms/keys/k1/wrap"),
        &manager_a,
        Some(json!({"key": "AAECAwQFBgcICQoLDA0ODw=="})),
    );
    assert_eq!(st, 200, "{w}");
    let (st, u) = s.call(
        "POST",
        &format!("/v3/analytics_engines/{a}/kms/keys/k1/unwrap"),
        &reader_a,
        Some(w),
    );
    assert_eq!(st, 200, "{u}");
}

const RUNNER_APP: &str = r#"
import os
from pyspark.sql import SparkSession
spark = SparkSession.builder.appName("kms-runner").getOrCreate()
path = os.path.abspath("enc.parquet")
rows = [(i, "SSN-%03d-55-%04d" % (i, i)) for i in range(20)]
(spark.createDataFrame(rows, ["id", "ssn"]).write.mode("overwrite")
    .option("parquet.encryption.column.keys", "k1:ssn")
    .option("parquet.encryption.footer.key", "k2")
    .parquet(path))
got = spark.read.parquet(path).orderBy("id").collect()
print("KMSROWS", len(got), "tail", got[3]["ssn"].split("-")[-1])
# Test only: hand the KMS token the platform gave this app to the test (a file in the app's
# working dir), then keep running until the test says so.
import time
tok = spark.sparkContext._jsc.hadoopConfiguration().get("parquet.encryption.key.access.token")
with open("kms-token.tmp", "w") as f:
    f.write(tok or "")
os.rename("kms-token.tmp", "kms-token.txt")
deadline = time.time() + 300
while not os.path.exists("kms-go") and time.time() < deadline:
    time.sleep(0.2)
spark.stop()
open("kms-done", "w").close()
"#;

/// The file named `name` somewhere under `dir`.
fn find_file(dir: &Path, name: &str) -> Option<PathBuf> {
    for e in std::fs::read_dir(dir).ok()?.flatten() {
        let p = e.path();
        if p.file_name().is_some_and(|n| n == name) {
            return Some(p);
        }
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            if let Some(f) = find_file(&p, name) {
                return Some(f);
            }
        }
    }
    None
}

/// Polls for [`find_file`] for `secs` at most.
fn wait_file(dir: &Path, name: &str, secs: u64) -> PathBuf {
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(f) = find_file(dir, name) {
            return f;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no {name} under {} after {secs} s",
            dir.display()
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// Through the runner: an app that only turns the crypto factory on gets the KMS client on
/// its class path, the KMS URL, truststore and a KMS token scoped to the app filled in by
/// the platform (the token only in the 0600 properties file, redacted in the app's details).
/// The app's token (which the app hands to the test) works for its instance's wrap/unwrap
/// while the app runs, is refused by every other route and by another instance's KMS, and is
/// refused once the app has ended — here while the server was down, so after a restart.
/// `--sandbox none`: under bubblewrap the local backend has no network to reach the KMS.
#[test]
fn runner_fills_in_the_kms_settings_and_an_app_scoped_token() {
    if pyspark().is_none() {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let data = t.path().join("data");
    let s = Server::start(&data, &["--sandbox", "none"]);
    let admin = s.admin_token(&data);
    let (st, v) = s.call(
        "POST",
        "/v3/analytics_engines",
        &admin,
        Some(json!({"name": "pme", "default_config": {
            "spark.hadoop.parquet.crypto.factory.class":
                "org.apache.parquet.crypto.keytools.PropertiesDrivenCryptoFactory"}})),
    );
    assert_eq!(st, 201, "{v}");
    let inst = v["id"].as_str().unwrap().to_owned();
    let manager = s.principal_on(&admin, &inst, "mgr", "Manager");
    for k in ["k1", "k2"] {
        let (st, v) = s.call(
            "POST",
            &format!("/v3/analytics_engines/{inst}/kms/keys"),
            &manager,
            Some(json!({"name": k})),
        );
        assert_eq!(st, 201, "{v}");
    }
    let writer = s.principal_on(&admin, &inst, "writer", "Writer");
    let r = s
        .client
        .put(s.url(&format!("/v3/analytics_engines/{inst}/files/kms_app.py")))
        .bearer_auth(&writer)
        .body(RUNNER_APP)
        .send()
        .unwrap();
    assert_eq!(r.status(), 201);
    let apps = format!("/v3/analytics_engines/{inst}/spark_applications");
    let (st, v) = s.call(
        "POST",
        &apps,
        &writer,
        Some(json!({"application_details": {"application": "kms_app.py"}})),
    );
    assert_eq!(st, 202, "{v}");
    let id = v["id"].as_str().unwrap().to_owned();
    // Another instance with a key of the same name, for the cross-instance check.
    let (st, v) = s.call(
        "POST",
        "/v3/analytics_engines",
        &admin,
        Some(json!({"name": "pme-other"})),
    );
    assert_eq!(st, 201, "{v}");
    let other = v["id"].as_str().unwrap().to_owned();
    let other_mgr = s.principal_on(&admin, &other, "mgr-other", "Manager");
    let (st, v) = s.call(
        "POST",
        &format!("/v3/analytics_engines/{other}/kms/keys"),
        &other_mgr,
        Some(json!({"name": "k1"})),
    );
    assert_eq!(st, 201, "{v}");

    // The token the app was given, while the app runs.
    let token_file = wait_file(&data, "kms-token.txt", 240);
    let app_token = std::fs::read_to_string(&token_file).unwrap();
    assert!(app_token.len() > 40, "no token in the app's conf");
    assert_ne!(app_token, writer, "the app got the submitter's own token");
    let wrap_a = format!("/v3/analytics_engines/{inst}/kms/keys/k1/wrap");
    let data_key = json!({"key": "AAECAwQFBgcICQoLDA0ODw=="});
    let (st, w) = s.call("POST", &wrap_a, &app_token, Some(data_key.clone()));
    assert_eq!(st, 200, "app token on its instance's wrap: {w}");
    let (st, u) = s.call(
        "POST",
        &format!("/v3/analytics_engines/{inst}/kms/keys/k1/unwrap"),
        &app_token,
        Some(w.clone()),
    );
    assert_eq!(st, 200, "app token on its instance's unwrap: {u}");
    // Any other route: 401 with a clear message.
    for (method, path, body) in [
        ("GET", apps.clone(), None),
        ("GET", format!("{apps}/{id}"), None),
        (
            "GET",
            format!("/v3/analytics_engines/{inst}/kms/keys"),
            None,
        ),
        (
            "POST",
            format!("/v3/analytics_engines/{inst}/kms/keys"),
            Some(json!({"name": "k9"})),
        ),
        ("GET", format!("/v3/analytics_engines/{inst}"), None),
        ("GET", "/v1/audit_events".to_owned(), None),
    ] {
        let (st, v) = s.call(method, &path, &app_token, body);
        assert_eq!(st, 401, "{method} {path} with the app token: {v}");
        assert!(
            v.to_string()
                .contains("accepted only by the KMS wrap/unwrap routes"),
            "{method} {path}: {v}"
        );
    }
    // Another instance's KMS: refused (not even a 404 that would tell the instance exists).
    let (st, v) = s.call(
        "POST",
        &format!("/v3/analytics_engines/{other}/kms/keys/k1/wrap"),
        &app_token,
        Some(data_key.clone()),
    );
    assert_eq!(st, 401, "app token on another instance's KMS: {v}");
    assert!(
        v.to_string()
            .contains(&format!("wrap/unwrap routes of instance {inst}")),
        "{v}"
    );
    // The token never shows in the app's details.
    let (st, d) = s.call("GET", &format!("{apps}/{id}"), &writer, None);
    assert_eq!(st, 200);
    assert!(!d.to_string().contains(&writer), "token visible: {d}");
    assert!(
        !d.to_string().contains(&app_token),
        "app token visible: {d}"
    );

    // The server goes down; the app ends meanwhile; after a restart the token is refused.
    drop(s);
    std::fs::write(token_file.with_file_name("kms-go"), b"").unwrap();
    let done = wait_file(&data, "kms-done", 120);
    assert_eq!(done.parent(), token_file.parent());
    std::thread::sleep(Duration::from_secs(3));
    let s = Server::start(&data, &["--sandbox", "none"]);
    let (st, v) = s.call("POST", &wrap_a, &app_token, Some(data_key.clone()));
    assert_eq!(st, 401, "app token after the app ended: {v}");
    assert!(
        v.to_string()
            .contains(&format!("application {id} has ended")),
        "{v}"
    );
    let state = s.wait_state(&inst, &writer, &id, serve::FINAL, 60)["state"].clone();
    let (_, log) = s.call("GET", &format!("{apps}/{id}/logs"), &writer, None);
    let log = log.to_string();
    assert_eq!(state, "finished", "{log}");
    assert!(log.contains("KMSROWS 20 tail 0003"), "{log}");
    assert!(!log.contains(&app_token), "token in the driver log");
    let (st, v) = s.call("POST", &wrap_a, &app_token, Some(data_key));
    assert_eq!(st, 401, "{v}");
    // The app's wraps and unwraps are audited (the Manager made none).
    let (st, v) = s.call(
        "GET",
        &format!("/v3/analytics_engines/{inst}/audit_events?limit=200"),
        &manager,
        None,
    );
    assert_eq!(st, 200);
    let evs = v["audit_events"].as_array().unwrap();
    let writer_events = |action: &str| {
        evs.iter()
            .filter(|e| e["action"] == action && e["outcome"] == "success")
            .count()
    };
    assert!(writer_events("instance.kms.wrap") >= 2, "{v}");
    assert!(writer_events("instance.kms.unwrap") >= 1, "{v}");
    // Each names the application whose token made it; the refused calls are audited too.
    let app_detail = format!("app={id}");
    assert!(
        evs.iter()
            .filter(|e| e["action"] == "instance.kms.wrap" && e["outcome"] == "success")
            .all(|e| e["detail"]
                .as_str()
                .is_some_and(|d| d.contains(&app_detail))),
        "{v}"
    );
    assert!(
        evs.iter().any(|e| e["action"] == "authenticate"
            && e["outcome"] == "denied"
            && e["detail"].as_str() == Some(app_detail.as_str())),
        "refused app-token call not audited: {v}"
    );
}

/// A pure-Python wheel made by hand (zip + dist-info), as pip installs it.
const MAKE_WHEEL: &str = r#"
import sys, zipfile, hashlib, base64
out = sys.argv[1]
files = {
    "sparkplibdemo/__init__.py": "def magic(x):\n    return x * 7 + 1\n",
    "sparkplibdemo-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: sparkplibdemo\nVersion: 1.0\n",
    "sparkplibdemo-1.0.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
}
record = []
for n, c in files.items():
    d = base64.urlsafe_b64encode(hashlib.sha256(c.encode()).digest()).rstrip(b"=").decode()
    record.append("%s,sha256=%s,%d" % (n, d, len(c)))
record.append("sparkplibdemo-1.0.dist-info/RECORD,,")
files["sparkplibdemo-1.0.dist-info/RECORD"] = "\n".join(record) + "\n"
with zipfile.ZipFile(out, "w") as z:
    for n, c in files.items():
        z.writestr(n, c)
"#;

const LIBSET_APP: &str = r#"
import os
from pyspark.sql import SparkSession
from pyspark.sql.functions import udf
spark = SparkSession.builder.appName("libset-udf").getOrCreate()
import sparkplibdemo
@udf("string")
def f(x):
    import sparkplibdemo, os
    return "%d|%s" % (sparkplibdemo.magic(x), os.getcwd())
rows = spark.range(0, 4, numPartitions=2).select(f("id").alias("v")).collect()
vals = sorted(int(r.v.split("|")[0]) for r in rows)
cwds = sorted(set(r.v.split("|")[1] for r in rows))
print("LIBSET", vals, "DRIVER", sparkplibdemo.magic(1), "DRIVER_CWD", os.getcwd(), "EXEC_CWDS", cwds)
spark.stop()
"#;

#[test]
fn library_set_wheel_in_a_udf_on_standalone_executors() {
    let Some((python, _)) = pyspark() else {
        return;
    };
    let t = tempfile::tempdir().unwrap();
    let wheel = t.path().join("sparkplibdemo-1.0-py3-none-any.whl");
    let st = Command::new(&python)
        .arg("-c")
        .arg(MAKE_WHEEL)
        .arg(&wheel)
        .status()
        .unwrap();
    assert!(st.success());
    let wheel_bytes = std::fs::read(&wheel).unwrap();
    let sha = {
        let o = Command::new("sha256sum").arg(&wheel).output().unwrap();
        String::from_utf8_lossy(&o.stdout)
            .split_whitespace()
            .next()
            .unwrap()
            .to_owned()
    };
    let data = t.path().join("data");
    let s = Server::start(&data, &[]);
    let admin = s.admin_token(&data);
    let mk = |name: &str, cfg: Value| {
        let (st, v) = s.call(
            "POST",
            "/v3/analytics_engines",
            &admin,
            Some(json!({"name": name, "default_config": cfg})),
        );
        assert_eq!(st, 201, "{v}");
        v["id"].as_str().unwrap().to_owned()
    };
    let a = mk(
        "libs-a",
        json!({"sparkplane.backend": "standalone",
               "sparkplane.standalone.worker_cores": "2", "spark.cores.max": "2"}),
    );
    let b = mk("libs-b", json!({}));
    let mgr_a = s.principal_on(&admin, &a, "lib-mgr-a", "Manager");
    let writer_a = s.principal_on(&admin, &a, "lib-writer-a", "Writer");
    let mgr_b = s.principal_on(&admin, &b, "lib-mgr-b", "Manager");
    let put = |inst: &str, tok: &str, path: &str, body: Vec<u8>| {
        let r = s
            .client
            .put(s.url(&format!("/v3/analytics_engines/{inst}/files/{path}")))
            .bearer_auth(tok)
            .body(body)
            .send()
            .unwrap();
        assert_eq!(r.status(), 201);
    };
    let wpath = "wheels/sparkplibdemo-1.0-py3-none-any.whl";
    put(&a, &mgr_a, wpath, wheel_bytes.clone());
    put(
        &a,
        &writer_a,
        "libset_app.py",
        LIBSET_APP.as_bytes().to_vec(),
    );
    put(&b, &mgr_b, "libset_app.py", LIBSET_APP.as_bytes().to_vec());
    let sets = format!("/v3/analytics_engines/{a}/library_sets");
    // Writers may not build sets (Managers only, on purpose).
    let body = json!({"name": "demo", "files": [{"path": wpath, "sha256": sha}]});
    let (st, _) = s.call("POST", &sets, &writer_a, Some(body.clone()));
    assert_eq!(st, 403);
    // A wrong hash is refused with a clear error.
    let (st, v) = s.call(
        "POST",
        &sets,
        &mgr_a,
        Some(json!({"name": "bad", "files": [{"path": wpath, "sha256": "0".repeat(64)}]})),
    );
    assert_eq!(st, 400, "{v}");
    assert!(v.to_string().contains("hash mismatch"), "{v}");
    // Every dependency needs a hash.
    let (st, v) = s.call(
        "POST",
        &sets,
        &mgr_a,
        Some(json!({"name": "nohash", "python": ["six==1.16.0"]})),
    );
    assert_eq!(st, 400, "{v}");
    assert!(
        v.to_string().contains("needs a pinned version and a hash"),
        "{v}"
    );
    // The good set.
    let (st, v) = s.call("POST", &sets, &mgr_a, Some(body.clone()));
    assert_eq!(st, 201, "{v}");
    let (st, _) = s.call("POST", &sets, &mgr_a, Some(body));
    assert_eq!(st, 409, "immutable");
    let (st, v) = s.call("GET", &sets, &writer_a, None);
    assert_eq!(st, 200);
    assert_eq!(v["library_sets"][0]["name"], "demo", "{v}");
    // Instance B neither sees nor uses A's set.
    let (st, v) = s.call(
        "GET",
        &format!("/v3/analytics_engines/{b}/library_sets"),
        &mgr_b,
        None,
    );
    assert_eq!((st, v["library_sets"].as_array().unwrap().len()), (200, 0));
    let (st, v) = s.call(
        "POST",
        &format!("/v3/analytics_engines/{b}/spark_applications"),
        &mgr_b,
        Some(
            json!({"application_details": {"application": "libset_app.py",
            "conf": {"ae.spark.librarysets": "demo"}}}),
        ),
    );
    assert_eq!(st, 400, "{v}");
    assert!(v.to_string().contains("not found in this instance"), "{v}");
    // A's app imports the wheel on the driver and inside a UDF on standalone executors.
    let apps = format!("/v3/analytics_engines/{a}/spark_applications");
    let (st, v) = s.call(
        "POST",
        &apps,
        &writer_a,
        Some(
            json!({"application_details": {"application": "libset_app.py",
            "conf": {"ae.spark.librarysets": "demo"}}}),
        ),
    );
    assert_eq!(st, 202, "{v}");
    let id = v["id"].as_str().unwrap().to_owned();
    let state = s.wait_state(&a, &writer_a, &id, serve::FINAL, 300)["state"].clone();
    let (_, log) = s.call("GET", &format!("{apps}/{id}/logs"), &writer_a, None);
    let log = log
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| log.to_string());
    assert_eq!(state, "finished", "{log}");
    let line = log
        .lines()
        .find(|l| l.starts_with("LIBSET"))
        .unwrap_or_else(|| panic!("no LIBSET line:\n{log}"));
    assert!(line.contains("LIBSET [1, 8, 15, 22] DRIVER 8"), "{line}");
    // The UDF ran in executor processes of the standalone Worker (their work dir), not in the
    // driver.
    let driver_cwd = line
        .split("DRIVER_CWD ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap();
    let exec = line.split("EXEC_CWDS ").nth(1).unwrap();
    assert!(!exec.contains(&format!("'{driver_cwd}'")), "{line}");
    assert!(
        exec.contains("standalone"),
        "executor cwd not in the Worker: {line}"
    );
}
