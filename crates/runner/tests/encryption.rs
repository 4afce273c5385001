//! Internal encryption on the standalone backend: with `spark.ssl.enabled=true` (sparkplane's
//! policy → AES network crypto + I/O encryption + UI TLS) a `tshark` capture on loopback during a
//! cross-executor shuffle of rows carrying a planted marker shows no marker, and no shuffle or
//! spill file contains it. Positive control: the same app without it shows the marker in both.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use sparkplane_runner::{
    AppState, ApplicationDetails, Backend, InstanceSpec, Quota, Runner, Sandbox,
};

/// The marker is assembled on the executors ("ZQX" + "MARK…"), so it never crosses the
/// Python ↔ JVM bridge of the driver; it only exists in shuffle data.
const MARKER: &str = "ZQXMARK7731";
const APP: &str = r#"
import time
from pyspark.sql import SparkSession
s = SparkSession.builder.getOrCreate()
df = s.range(0, 20000, 1, 4).selectExpr("id % 4 as k", "concat('ZQX', 'MARK7731', cast(id as string)) as v")
n = df.repartition(4, "k").selectExpr("length(v) as l").groupBy().sum("l").first()[0]
print("SHUFFLED=" + str(n), flush=True)
time.sleep(5)
"#;

fn start_capture(pcap: &Path, filter: &str) -> Child {
    let err = pcap.with_extension("err");
    let child = Command::new("tshark")
        .args(["-i", "lo", "-q", "-f", filter, "-w"])
        .arg(pcap)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .unwrap();
    assert!(
        wait_for(Duration::from_secs(30), || std::fs::read_to_string(&err)
            .is_ok_and(|t| t.contains("Capturing on"))),
        "tshark did not start: {}",
        std::fs::read_to_string(&err).unwrap_or_default()
    );
    child
}

fn stop_capture(mut c: Child) {
    sparkplane_runner::procs::signal_process(c.id(), nix::sys::signal::Signal::SIGINT);
    let _ = c.wait();
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn files_containing(dir: &Path, needle: &[u8]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if std::fs::read(&p).is_ok_and(|b| contains(&b, needle)) {
                out.push(p);
            }
        }
    }
    out
}

/// Run the marker app; returns (capture has marker, scratch files with marker, shuffle files seen).
fn run(r: &Runner, tmp: &Path, name: &str, encrypted: bool) -> (bool, Vec<PathBuf>, usize) {
    let mut conf = sparkplane_runner::SparkConf::new();
    for k in [
        "spark.shuffle.compress",
        "spark.shuffle.spill.compress",
        "spark.broadcast.compress",
        "spark.rdd.compress",
    ] {
        conf.insert(k.into(), "false".into());
    }
    conf.insert("spark.executor.cores".into(), "1".into());
    // Two executors on one host: make the shuffle cross the network (no host-local disk reads),
    // start the job only when both are registered, and pin block managers to known ports.
    conf.insert("spark.shuffle.readHostLocalDisk".into(), "false".into());
    conf.insert(
        "spark.scheduler.minRegisteredResourcesRatio".into(),
        "1.0".into(),
    );
    conf.insert(
        "spark.scheduler.maxRegisteredResourcesWaitingTime".into(),
        "90s".into(),
    );
    let port = free_port();
    conf.insert("spark.blockManager.port".into(), port.to_string());
    conf.insert("spark.sql.adaptive.enabled".into(), "false".into());
    if encrypted {
        conf.insert("spark.ssl.enabled".into(), "true".into());
    }
    let pcap = tmp.join(format!("{name}.pcap"));
    let cap = start_capture(&pcap, &format!("tcp portrange {port}-{}", port + 20));
    let app = r
        .submit(
            "enc",
            ApplicationDetails {
                application: "marker.py".into(),
                conf,
                ..Default::default()
            },
        )
        .unwrap();
    let inst = r.instance_dir("enc").unwrap();
    let app_dir = r.app_dir("enc", &app.id).unwrap();
    let mut scratch = Vec::new();
    let mut shuffle_files = 0;
    let shuffled = wait_for(Duration::from_secs(240), || {
        r.poll().unwrap();
        r.driver_log("enc", &app.id).unwrap().contains("SHUFFLED=")
            || r.get("enc", &app.id).unwrap().state().is_terminal()
    });
    let log = r.driver_log("enc", &app.id).unwrap();
    assert!(shuffled && log.contains("SHUFFLED="), "{log}");
    // While the app pauses, its shuffle files exist: scan every scratch dir.
    for d in [
        inst.join("standalone/local"),
        app_dir.join("tmp"),
        inst.join("standalone/work"),
    ] {
        scratch.extend(files_containing(&d, MARKER.as_bytes()));
        shuffle_files += count_files(&d, ".data");
    }
    let done = r
        .wait_until("enc", &app.id, Duration::from_secs(120), |a| {
            a.state().is_terminal()
        })
        .unwrap();
    assert_eq!(done.state(), AppState::Finished, "{done:?}\n{log}");
    if encrypted {
        assert_eq!(done.effective_conf["spark.network.crypto.enabled"], "true");
        assert_eq!(done.effective_conf["spark.io.encryption.enabled"], "true");
        assert_eq!(done.effective_conf["spark.ssl.ui.enabled"], "true");
        // The driver UI is served over TLS with the generated keystore.
        let log = r.driver_log("enc", &app.id).unwrap();
        assert!(log.contains("Spark web UI at https://"), "{log}");
    }
    stop_capture(cap);
    let bytes = std::fs::read(&pcap).unwrap();
    assert!(bytes.len() > 1_000, "capture too small: {}", bytes.len());
    (contains(&bytes, MARKER.as_bytes()), scratch, shuffle_files)
}

fn count_files(dir: &Path, suffix: &str) -> usize {
    let mut n = 0;
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.to_string_lossy().ends_with(suffix) {
                n += 1;
            }
        }
    }
    n
}

#[test]
fn ssl_enabled_encrypts_shuffle_on_the_wire_and_on_disk() {
    let _g = serial();
    if !which("tshark") {
        let msg = "tshark not installed (scripts/setup-deps.sh installs it)";
        assert!(
            std::env::var("SPARKPLANE_REQUIRE_ALL").as_deref() != Ok("1"),
            "{msg}"
        );
        eprintln!("SKIPPED: {msg}");
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let Some(r) = runner(data.path(), Sandbox::None) else {
        return;
    };
    let t0 = Instant::now();
    r.ensure_instance(InstanceSpec {
        id: "enc".into(),
        default_config: Default::default(),
        quota: Quota::default(),
        backend: Backend::Standalone {
            worker_cores: 2,
            worker_memory: "2g".into(),
        },
    })
    .unwrap();
    let _cleanup = Cleanup(&r, "enc");
    put_app(&r, "enc", "marker.py", APP);

    let (wire, disk, n) = run(&r, data.path(), "plain", false);
    assert!(n > 0, "no shuffle files seen");
    assert!(
        wire,
        "positive control: marker not seen on the wire without encryption"
    );
    assert!(
        !disk.is_empty(),
        "positive control: marker not in shuffle files without encryption"
    );

    let (wire, disk, n) = run(&r, data.path(), "encrypted", true);
    assert!(n > 0, "no shuffle files seen");
    assert!(
        !wire,
        "marker visible on loopback with spark.ssl.enabled=true"
    );
    assert!(disk.is_empty(), "marker in scratch files: {disk:?}");
    let ks = r.instance_dir("enc").unwrap().join("ui-keystore.p12");
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&ks).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);

    r.shutdown_instance("enc").unwrap();
    eprintln!("encryption test: {:.1}s", t0.elapsed().as_secs_f64());
}
