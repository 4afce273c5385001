//! Real Spark (pip pyspark), local backend: finish, fail with reason, quota → waiting, stop with
//! no orphans, secret absent from every command line, no listener beyond loopback.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::*;
use sparkplane_runner::{AppState, ApplicationDetails, InstanceSpec, Quota, Sandbox};

#[test]
fn local_finish_fail_quota_stop() {
    let _g = serial();
    let data = tempfile::tempdir().unwrap();
    let Some(r) = analyzing_runner(data.path(), Sandbox::None) else {
        return;
    };
    let t0 = Instant::now();
    let mut spec = InstanceSpec::local("inst-a");
    spec.quota = Quota {
        max_concurrent_apps: Some(2),
        max_cores: None,
    };
    spec.default_config
        .insert("spark.sql.shuffle.partitions".into(), "2".into());
    r.ensure_instance(spec).unwrap();
    let _cleanup = Cleanup(&r, "inst-a");
    put_app(&r, "inst-a", "ok.py", OK_APP);
    put_app(&r, "inst-a", "fail.py", FAIL_APP);
    put_app(&r, "inst-a", "long.py", LONG_APP);

    let long = r
        .submit(
            "inst-a",
            ApplicationDetails {
                application: "long.py".into(),
                name: Some("long".into()),
                ..Default::default()
            },
        )
        .unwrap();
    let fail = r
        .submit(
            "inst-a",
            ApplicationDetails {
                application: "fail.py".into(),
                ..Default::default()
            },
        )
        .unwrap();
    let ok = r
        .submit(
            "inst-a",
            ApplicationDetails {
                application: "ok.py".into(),
                env: BTreeMap::from([("SP_MARK".to_owned(), "hello-executor".to_owned())]),
                ..Default::default()
            },
        )
        .unwrap();
    // Quota of 2: the third app waits.
    assert_eq!(ok.state(), AppState::Waiting, "{ok:?}");
    assert!(ok.lifecycle.waiting_at().is_some());
    assert_eq!(r.list("inst-a", Some(AppState::Waiting)).unwrap().len(), 1);
    // Secrets are not in the record.
    let secret = std::fs::read_to_string(r.instance_dir("inst-a").unwrap().join("secret")).unwrap();
    assert!(!serde_json::to_string(&long)
        .unwrap()
        .contains(secret.trim()));
    assert_eq!(
        long.effective_conf["spark.authenticate.secret"],
        "*********(redacted)"
    );

    // The failing app ends `failed` with its reason; that frees a slot for `ok`.
    let f = r
        .wait_until("inst-a", &fail.id, Duration::from_secs(120), |a| {
            a.state().is_terminal()
        })
        .unwrap();
    assert_eq!(f.state(), AppState::Failed, "{f:?}");
    assert_eq!(
        f.failure_reason.as_deref(),
        Some("ValueError: planted failure 42"),
        "{f:?}"
    );
    assert_eq!(f.exit_code, Some(1));

    let o = r
        .wait_until("inst-a", &ok.id, Duration::from_secs(240), |a| {
            a.state().is_terminal()
        })
        .unwrap();
    let log = r.driver_log("inst-a", &ok.id).unwrap();
    assert_eq!(o.state(), AppState::Finished, "{o:?}\n{log}");
    assert!(log.contains("EXECUTOR_ENV=hello-executor"), "{log}");
    assert!(log.contains("COUNT=1000"));
    let spark_id = o.spark_app_id.clone().unwrap();
    assert!(spark_id.starts_with("local-"), "{spark_id}");
    let ev = o.event_log.clone().unwrap();
    assert!(ev.starts_with(r.instance_dir("inst-a").unwrap().join("eventlogs")));
    assert!(ev.exists(), "{}", ev.display());
    // End-of-run hook: the summary is written and the time logged.
    let ok_dir = r.app_dir("inst-a", &ok.id).unwrap();
    assert!(wait_for(Duration::from_secs(60), || {
        r.get("inst-a", &ok.id).unwrap().completion_done
    }));
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(ok_dir.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["app"]["id"], spark_id.as_str(), "{summary}");
    let log = r.driver_log("inst-a", &ok.id).unwrap();
    assert!(
        log.lines().any(
            |l| l.starts_with("sparkplane: performance summary exported in ") && l.ends_with(" ms")
        ),
        "{log}"
    );
    let lc = &o.lifecycle;
    assert!(lc.accepted_at() <= lc.waiting_at().unwrap());
    assert!(lc.waiting_at().unwrap() <= lc.submitted_at().unwrap());
    assert!(lc.submitted_at().unwrap() <= lc.running_at().unwrap());
    assert!(lc.running_at().unwrap() <= lc.ended_at().unwrap());

    // The long app is running; its JVM's command line holds no secret, nothing listens beyond
    // loopback.
    let l = r
        .wait_until("inst-a", &long.id, Duration::from_secs(120), |a| {
            a.state() == AppState::Running
        })
        .unwrap();
    assert_eq!(l.state(), AppState::Running, "{l:?}");
    let app_dir = r.app_dir("inst-a", &long.id).unwrap();
    assert!(wait_for(Duration::from_secs(120), || {
        r.driver_log("inst-a", &long.id)
            .unwrap()
            .contains("LONG_STARTED")
    }));
    let status: serde_json::Value =
        serde_json::from_slice(&std::fs::read(app_dir.join("status.json")).unwrap()).unwrap();
    let pgid = u32::try_from(status["driver_pid"].as_u64().unwrap()).unwrap();
    let sid = u32::try_from(status["session_id"].as_u64().unwrap()).unwrap();
    let session = || sparkplane_runner::procs::session_members(sid);
    // Wait for the Python worker (the sleeping task) to exist in the app's session.
    assert!(wait_for(Duration::from_secs(60), || {
        session().iter().any(|p| {
            sparkplane_runner::procs::cmdline(*p).is_some_and(|c| c.contains("pyspark.daemon"))
        })
    }));
    let members = session();
    let jvms: Vec<u32> = members
        .iter()
        .copied()
        .filter(|p| sparkplane_runner::procs::cmdline(*p).is_some_and(|c| c.contains("java")))
        .collect();
    assert!(!jvms.is_empty(), "no driver JVM among {members:?}");
    for p in &members {
        let raw = std::fs::read(format!("/proc/{p}/cmdline")).unwrap_or_default();
        assert!(
            !String::from_utf8_lossy(&raw).contains(secret.trim()),
            "secret on the command line of pid {p}"
        );
    }
    let props = app_dir.join("spark.properties");
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&props).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);
    assert!(std::fs::read_to_string(&props)
        .unwrap()
        .contains(secret.trim()));
    let open = non_loopback_listeners(&members);
    assert!(open.is_empty(), "listeners beyond loopback: {open:?}");

    // Stop: the whole tree goes, the state is `stopped`.
    r.stop("inst-a", &long.id).unwrap();
    let s = r
        .wait_until("inst-a", &long.id, Duration::from_secs(60), |a| {
            a.state().is_terminal()
        })
        .unwrap();
    assert_eq!(s.state(), AppState::Stopped, "{s:?}");
    // Terminal: the properties file (secret + conf) is gone.
    assert!(!props.exists(), "spark.properties left after the app ended");
    assert!(wait_for(Duration::from_secs(10), || group_members(pgid).is_empty()));
    assert!(
        wait_for(Duration::from_secs(10), || session().is_empty()),
        "{:?}",
        session()
    );
    for p in members {
        assert!(!sparkplane_runner::procs::process_alive(p), "orphan {p}");
    }
    assert!(
        pgrep(&app_dir.display().to_string()).is_empty(),
        "orphans of the app remain"
    );
    // Stop is idempotent.
    assert_eq!(
        r.stop("inst-a", &long.id).unwrap().state(),
        AppState::Stopped
    );
    eprintln!("local lifecycle test: {:.1}s", t0.elapsed().as_secs_f64());
}

/// No JVM needed: a full quota keeps apps `waiting`; stopping a waiting app is immediate and
/// idempotent; bad submissions are refused before anything is persisted.
#[test]
fn waiting_apps_stop_at_once_and_bad_requests_are_refused() {
    let _g = serial();
    let data = tempfile::tempdir().unwrap();
    let Some(r) = runner(data.path(), Sandbox::None) else {
        return;
    };
    let mut spec = InstanceSpec::local("q0");
    spec.quota.max_concurrent_apps = Some(0);
    r.ensure_instance(spec).unwrap();
    put_app(&r, "q0", "ok.py", OK_APP);
    let details = |conf: &[(&str, &str)]| ApplicationDetails {
        application: "ok.py".into(),
        conf: conf
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        ..Default::default()
    };
    let a = r.submit("q0", details(&[])).unwrap();
    assert_eq!(a.state(), AppState::Waiting);
    r.poll().unwrap();
    assert_eq!(r.get("q0", &a.id).unwrap().state(), AppState::Waiting);
    let s = r.stop("q0", &a.id).unwrap();
    assert_eq!(s.state(), AppState::Stopped);
    assert!(s.lifecycle.ended_at().is_some());
    assert_eq!(r.stop("q0", &a.id).unwrap(), s, "idempotent");
    assert!(!r.app_dir("q0", &a.id).unwrap().join("status.json").exists());

    let before = r.list("q0", None).unwrap().len();
    let err = r
        .submit("q0", details(&[("spark.authenticate", "false")]))
        .unwrap_err();
    assert!(err.to_string().contains("spark.authenticate"), "{err}");
    let err = r
        .submit(
            "q0",
            ApplicationDetails {
                application: "../../iso/files/x.py".into(),
                ..Default::default()
            },
        )
        .unwrap_err();
    assert!(
        matches!(err, sparkplane_runner::RunnerError::BadPath(_)),
        "{err}"
    );
    let err = r
        .submit(
            "q0",
            ApplicationDetails {
                application: "ok.py".into(),
                env: BTreeMap::from([("LD_PRELOAD".to_owned(), "/x.so".to_owned())]),
                ..Default::default()
            },
        )
        .unwrap_err();
    assert!(err.to_string().contains("LD_PRELOAD"), "{err}");
    let err = r
        .submit(
            "q0",
            ApplicationDetails {
                application: "ok.py".into(),
                runtime: Some(sparkplane_runner::Runtime {
                    spark_version: "3.1".into(),
                }),
                ..Default::default()
            },
        )
        .unwrap_err();
    assert!(err.to_string().contains("3.1"), "{err}");
    let ok_rt = r
        .submit(
            "q0",
            ApplicationDetails {
                application: "ok.py".into(),
                runtime: Some(sparkplane_runner::Runtime {
                    spark_version: r
                        .spark_version()
                        .unwrap()
                        .split('.')
                        .take(2)
                        .collect::<Vec<_>>()
                        .join("."),
                }),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(r.list("q0", None).unwrap().len(), before + 1);
    r.stop("q0", &ok_rt.id).unwrap();
    assert!(
        r.get("other", &a.id).is_err(),
        "apps are scoped to their instance"
    );
}
