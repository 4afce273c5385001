//! Isolation with bubblewrap (Debian `bubblewrap`): instance B's app cannot open A's files by
//! absolute path, cannot see other instances' directories, and cannot reach A's driver UI (each
//! local-backend app has its own network namespace), while A's app reaches its own.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use sparkplane_runner::{AppState, ApplicationDetails, InstanceSpec, Sandbox};

/// Instance A: a driver with a UI that checks it can read its own file and reach its own UI,
/// then idles.
const A_APP: &str = r#"
import sys, time, urllib.request
print("OWN_FILE=" + open(sys.argv[1]).read().strip(), flush=True)
from pyspark.sql import SparkSession
s = SparkSession.builder.getOrCreate()
url = s.sparkContext.uiWebUrl
print("UI_URL=" + url, flush=True)
print("OWN_UI=" + str(urllib.request.urlopen(url + "/jobs/", timeout=10).status), flush=True)
time.sleep(600)
"#;

/// Instance B: tries A's file, A's instance directory listing and A's UI.
const B_APP: &str = r#"
import os, sys, urllib.request
path, url, root = sys.argv[1], sys.argv[2], sys.argv[3]
try:
    print("A_FILE=" + open(path).read().strip())
except OSError as e:
    print("A_FILE=BLOCKED " + type(e).__name__)
print("INSTANCES=" + ",".join(sorted(os.listdir(root))))
try:
    urllib.request.urlopen(url + "/jobs/", timeout=5)
    print("A_UI=REACHED")
except Exception as e:
    print("A_UI=BLOCKED " + type(e).__name__)
"#;

#[test]
fn bubblewrap_isolates_instances() {
    let _g = serial();
    if !which("bwrap") {
        let msg = "bwrap not installed (Debian bubblewrap; scripts/setup-deps.sh installs it)";
        assert!(
            std::env::var("SPARKPLANE_REQUIRE_ALL").as_deref() != Ok("1"),
            "{msg}"
        );
        eprintln!("SKIPPED: {msg}");
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let Some(r) = runner(data.path(), Sandbox::Bubblewrap) else {
        return;
    };
    let t0 = Instant::now();
    r.ensure_instance(InstanceSpec::local("iso-a")).unwrap();
    r.ensure_instance(InstanceSpec::local("iso-b")).unwrap();
    let _cleanup_a = Cleanup(&r, "iso-a");
    let _cleanup_b = Cleanup(&r, "iso-b");
    put_app(&r, "iso-a", "a.py", A_APP);
    put_app(&r, "iso-a", "private.txt", "A-PRIVATE-MARKER");
    put_app(&r, "iso-b", "b.py", B_APP);
    let a_file = r.files_dir("iso-a").unwrap().join("private.txt");
    for inst in ["iso-a", "iso-b"] {
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(r.instance_dir(inst).unwrap())
                .unwrap()
                .permissions(),
        );
        assert_eq!(mode & 0o777, 0o700);
    }

    let a = r
        .submit(
            "iso-a",
            ApplicationDetails {
                application: "a.py".into(),
                arguments: vec![a_file.display().to_string()],
                ..Default::default()
            },
        )
        .unwrap();
    let mut ui = String::new();
    assert!(
        wait_for(Duration::from_secs(180), || {
            r.poll().unwrap();
            let log = r.driver_log("iso-a", &a.id).unwrap();
            if let Some(l) = log.lines().find(|l| l.starts_with("UI_URL=")) {
                ui = l.trim_start_matches("UI_URL=").to_owned();
            }
            log.contains("OWN_UI=")
        }),
        "A did not start: {}",
        r.driver_log("iso-a", &a.id).unwrap()
    );
    let a_log = r.driver_log("iso-a", &a.id).unwrap();
    assert!(a_log.contains("OWN_FILE=A-PRIVATE-MARKER"), "{a_log}");
    assert!(
        a_log.contains("OWN_UI=200"),
        "positive control failed: {a_log}"
    );
    assert!(ui.starts_with("http://127.0.0.1:"), "{ui}");
    // Not even the host's loopback has A's UI: it lives in A's own network namespace.
    let port = ui.rsplit(':').next().unwrap();
    let ss = std::process::Command::new("ss")
        .args(["-ltnH"])
        .output()
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&ss.stdout).contains(&format!(":{port} ")),
        "A's UI visible in the host network namespace"
    );

    let b = r
        .submit(
            "iso-b",
            ApplicationDetails {
                application: "b.py".into(),
                arguments: vec![
                    a_file.display().to_string(),
                    ui.clone(),
                    data.path().join("instances").display().to_string(),
                ],
                ..Default::default()
            },
        )
        .unwrap();
    let bb = r
        .wait_until("iso-b", &b.id, Duration::from_secs(120), |x| {
            x.state().is_terminal()
        })
        .unwrap();
    let b_log = r.driver_log("iso-b", &b.id).unwrap();
    assert_eq!(bb.state(), AppState::Finished, "{bb:?}\n{b_log}");
    assert!(b_log.contains("A_FILE=BLOCKED"), "{b_log}");
    assert!(!b_log.contains("A-PRIVATE-MARKER"), "{b_log}");
    assert!(b_log.contains("INSTANCES=iso-b\n"), "{b_log}");
    assert!(b_log.contains("A_UI=BLOCKED"), "{b_log}");

    r.stop("iso-a", &a.id).unwrap();
    let s = r
        .wait_until("iso-a", &a.id, Duration::from_secs(60), |x| {
            x.state().is_terminal()
        })
        .unwrap();
    assert_eq!(s.state(), AppState::Stopped);
    let app_dir = r.app_dir("iso-a", &a.id).unwrap();
    assert!(wait_for(Duration::from_secs(10), || pgrep(
        &app_dir.display().to_string()
    )
    .is_empty()));
    eprintln!("isolation test: {:.1}s", t0.elapsed().as_secs_f64());
}

/// Instance S (standalone, under bubblewrap): an executor task reads its own instance's file
/// (positive control) but not another instance's file by absolute path, and sees no other
/// instance directory.
const S_APP: &str = r#"
import os, sys
from pyspark.sql import SparkSession
own, other, root = sys.argv[1], sys.argv[2], sys.argv[3]
def probe(_):
    out = []
    try:
        out.append("EXEC_OWN=" + open(own).read().strip())
    except OSError as e:
        out.append("EXEC_OWN=BLOCKED " + type(e).__name__)
    try:
        out.append("EXEC_OTHER=" + open(other).read().strip())
    except OSError as e:
        out.append("EXEC_OTHER=BLOCKED " + type(e).__name__)
    out.append("EXEC_INSTANCES=" + ",".join(sorted(os.listdir(root))))
    out.append("EXEC_PID_NS_INIT=" + open("/proc/1/cmdline").read().split("\0")[0])
    return out
s = SparkSession.builder.getOrCreate()
for line in s.sparkContext.parallelize([1], 1).flatMap(probe).collect():
    print(line)
"#;

#[test]
fn bubblewrap_confines_standalone_executors() {
    let _g = serial();
    if !which("bwrap") {
        let msg = "bwrap not installed (Debian bubblewrap; scripts/setup-deps.sh installs it)";
        assert!(
            std::env::var("SPARKPLANE_REQUIRE_ALL").as_deref() != Ok("1"),
            "{msg}"
        );
        eprintln!("SKIPPED: {msg}");
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let Some(r) = runner(data.path(), Sandbox::Bubblewrap) else {
        return;
    };
    let t0 = Instant::now();
    r.ensure_instance(InstanceSpec::local("iso-other")).unwrap();
    put_app(&r, "iso-other", "private.txt", "OTHER-PRIVATE-MARKER");
    r.ensure_instance(InstanceSpec {
        id: "iso-s".into(),
        default_config: Default::default(),
        quota: Default::default(),
        backend: sparkplane_runner::Backend::Standalone {
            worker_cores: 1,
            worker_memory: "1g".into(),
        },
    })
    .unwrap();
    let _cleanup = Cleanup(&r, "iso-s");
    put_app(&r, "iso-s", "s.py", S_APP);
    put_app(&r, "iso-s", "own.txt", "S-OWN-MARKER");
    let own = r.files_dir("iso-s").unwrap().join("own.txt");
    let other = r.files_dir("iso-other").unwrap().join("private.txt");
    let app = r
        .submit(
            "iso-s",
            ApplicationDetails {
                application: "s.py".into(),
                arguments: vec![
                    own.display().to_string(),
                    other.display().to_string(),
                    data.path().join("instances").display().to_string(),
                ],
                ..Default::default()
            },
        )
        .unwrap();
    let done = r
        .wait_until("iso-s", &app.id, Duration::from_secs(240), |x| {
            x.state().is_terminal()
        })
        .unwrap();
    let log = r.driver_log("iso-s", &app.id).unwrap();
    assert_eq!(done.state(), AppState::Finished, "{done:?}\n{log}");
    assert!(
        log.contains("EXEC_OWN=S-OWN-MARKER"),
        "positive control failed:\n{log}"
    );
    assert!(log.contains("EXEC_OTHER=BLOCKED"), "{log}");
    assert!(!log.contains("OTHER-PRIVATE-MARKER"), "{log}");
    assert!(log.contains("EXEC_INSTANCES=iso-s\n"), "{log}");
    // The executor runs in the Worker's own PID namespace (bwrap is its init).
    assert!(log.contains("EXEC_PID_NS_INIT=bwrap"), "{log}");
    eprintln!(
        "standalone isolation test: {:.1}s",
        t0.elapsed().as_secs_f64()
    );
}
