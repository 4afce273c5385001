//! Real Spark, standalone backend: the runner starts the instance's own Master + Worker on
//! loopback; an app finishes (env reaches the executors), a long app is stopped with its
//! executors gone, a client with another instance's secret is refused by the master, and the
//! cluster is stopped with no JVM left behind.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::*;
use sparkplane_runner::{AppState, ApplicationDetails, Backend, InstanceSpec, Quota, Sandbox};

fn standalone(id: &str) -> InstanceSpec {
    InstanceSpec {
        id: id.into(),
        default_config: Default::default(),
        quota: Quota::default(),
        backend: Backend::Standalone {
            worker_cores: 1,
            worker_memory: "1g".into(),
        },
    }
}

#[test]
fn standalone_finish_stop_wrong_secret_and_shutdown() {
    let _g = serial();
    let data = tempfile::tempdir().unwrap();
    let Some(r) = runner(data.path(), Sandbox::None) else {
        return;
    };
    let t0 = Instant::now();
    r.ensure_instance(standalone("sa")).unwrap();
    let _cleanup = Cleanup(&r, "sa");
    let cluster = r.cluster("sa").expect("cluster started");
    eprintln!(
        "cluster up in {:.1}s: {cluster:?}",
        t0.elapsed().as_secs_f64()
    );
    // Daemons: loopback only, secret not on their command lines.
    let secret = std::fs::read_to_string(r.instance_dir("sa").unwrap().join("secret")).unwrap();
    let daemons = [cluster.master_pid, cluster.worker_pid];
    for p in daemons {
        let c = sparkplane_runner::procs::cmdline(p).unwrap();
        assert!(!c.contains(secret.trim()));
    }
    let open = non_loopback_listeners(&daemons);
    assert!(open.is_empty(), "{open:?}");
    // The daemons read their properties (with the secret) at start only: the file is gone.
    let sa_dir = r.instance_dir("sa").unwrap().join("standalone");
    assert!(
        !sa_dir.join("daemon.properties").exists(),
        "daemon.properties left"
    );

    put_app(&r, "sa", "ok.py", OK_APP);
    put_app(&r, "sa", "long.py", LONG_APP);
    let ok = r
        .submit(
            "sa",
            ApplicationDetails {
                application: "ok.py".into(),
                env: BTreeMap::from([("SP_MARK".to_owned(), "on-standalone".to_owned())]),
                ..Default::default()
            },
        )
        .unwrap();
    let o = r
        .wait_until("sa", &ok.id, Duration::from_secs(240), |a| {
            a.state().is_terminal()
        })
        .unwrap();
    let log = r.driver_log("sa", &ok.id).unwrap();
    assert_eq!(o.state(), AppState::Finished, "{o:?}\n{log}");
    assert!(
        o.spark_app_id.as_deref().unwrap().starts_with("app-"),
        "{o:?}"
    );
    assert!(log.contains("EXECUTOR_ENV=on-standalone"), "{log}");

    let long = r
        .submit(
            "sa",
            ApplicationDetails {
                application: "long.py".into(),
                ..Default::default()
            },
        )
        .unwrap();
    let l = r
        .wait_until("sa", &long.id, Duration::from_secs(180), |a| {
            a.state() == AppState::Running
        })
        .unwrap();
    assert_eq!(l.state(), AppState::Running, "{l:?}");
    let spark_id = l.spark_app_id.clone().unwrap();
    let app_arg = format!("--app-id {spark_id}");
    let executors =
        || sparkplane_runner::procs::find_processes(&["CoarseGrainedExecutorBackend", &app_arg]);
    assert!(
        wait_for(Duration::from_secs(120), || !executors().is_empty()),
        "no executor for {spark_id}"
    );
    for p in executors() {
        assert!(!sparkplane_runner::procs::cmdline(p)
            .unwrap()
            .contains(secret.trim()));
    }
    r.stop("sa", &long.id).unwrap();
    let s = r
        .wait_until("sa", &long.id, Duration::from_secs(60), |a| {
            a.state().is_terminal()
        })
        .unwrap();
    assert_eq!(s.state(), AppState::Stopped);
    assert!(
        wait_for(Duration::from_secs(20), || executors().is_empty()),
        "executors of a stopped app remain: {:?}",
        executors()
    );
    let app_dir = r.app_dir("sa", &long.id).unwrap();
    assert!(pgrep(&app_dir.display().to_string()).is_empty());

    // Another instance's secret: the master refuses the client.
    wrong_secret_is_refused(&r, &cluster.master_url(), data.path());

    // Shutdown: master, worker gone.
    r.shutdown_instance("sa").unwrap();
    assert!(wait_for(Duration::from_secs(20), || daemons
        .iter()
        .all(|p| !sparkplane_runner::procs::process_alive(*p))));
    assert!(r.cluster("sa").is_none());
    eprintln!("standalone test: {:.1}s", t0.elapsed().as_secs_f64());
}

/// Run spark-submit by hand against `master` with a different secret: registration must fail
/// with an authentication error, and the master must never register the app.
fn wrong_secret_is_refused(r: &sparkplane_runner::Runner, master: &str, tmp: &std::path::Path) {
    let (home, python) = spark().unwrap();
    let dir = tmp.join("intruder");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("app.py"), OK_APP).unwrap();
    std::fs::write(
        dir.join("p.properties"),
        format!(
            "spark.master={master}\nspark.authenticate=true\nspark.authenticate.secret=not-the-instance-secret\nspark.driver.host=127.0.0.1\nspark.driver.bindAddress=127.0.0.1\nspark.ui.enabled=false\n"
        ),
    )
    .unwrap();
    let log = std::fs::File::create(dir.join("out.log")).unwrap();
    let mut child = std::process::Command::new(home.join("bin/spark-submit"))
        .args([
            "--properties-file",
            &dir.join("p.properties").display().to_string(),
        ])
        .arg(dir.join("app.py"))
        .env("PYSPARK_PYTHON", &python)
        .env("SPARK_LOCAL_IP", "127.0.0.1")
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .process_group(0)
        .spawn()
        .unwrap();
    use std::os::unix::process::CommandExt;
    let refused = wait_for(Duration::from_secs(90), || {
        let out = std::fs::read_to_string(dir.join("out.log")).unwrap_or_default();
        out.contains("Failed to connect to master") || out.contains("All masters are unresponsive")
    });
    let out = std::fs::read_to_string(dir.join("out.log")).unwrap_or_default();
    sparkplane_runner::procs::kill_group(child.id(), Duration::from_secs(2));
    let _ = child.wait();
    assert!(refused, "intruder was not refused:\n{out}");
    assert!(
        out.contains("SaslException") || out.contains("Authentication failed"),
        "refused, but not by authentication:\n{out}"
    );
    for l in out
        .lines()
        .filter(|l| l.contains("Exception") || l.contains("Failed to connect"))
        .take(4)
    {
        eprintln!("intruder: {l}");
    }
    assert!(!out.contains("Connected to Spark cluster"), "{out}");
    let master_log =
        std::fs::read_to_string(r.instance_dir("sa").unwrap().join("standalone/master.log"))
            .unwrap();
    // Only our two apps ever registered.
    assert_eq!(
        master_log.matches("Registering app").count(),
        2,
        "{master_log}"
    );
}
