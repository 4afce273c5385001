//! Re-attach: a controlling process (this test binary re-executed) submits apps and is killed
//! with SIGKILL while they run. A new runner on the same data dir finds every app: the one that
//! ended meanwhile gets its true state and end time, the running one is tracked and can be
//! stopped, the waiting one is started — nothing lost, nothing started twice.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::*;
use sparkplane_runner::{AppState, ApplicationDetails, InstanceSpec, Quota, Runner, Sandbox};

const CONTROLLER_ENV: &str = "SPARKPLANE_RUNNER_TEST_CONTROLLER";

fn instance() -> InstanceSpec {
    let mut spec = InstanceSpec::local("ra");
    spec.quota = Quota {
        max_concurrent_apps: Some(2),
        max_cores: None,
    };
    spec
}

/// The controlling process (only does something when re-executed by the test below).
#[test]
#[ignore = "helper process for reattach_after_kill_9"]
fn controller() {
    let Some(data) = std::env::var_os(CONTROLLER_ENV).map(PathBuf::from) else {
        return;
    };
    let r = runner(&data, Sandbox::None).unwrap();
    r.ensure_instance(instance()).unwrap();
    put_app(&r, "ra", "ok.py", OK_APP);
    put_app(&r, "ra", "long.py", LONG_APP);
    let mut ids = Vec::new();
    for (app, name) in [("ok.py", "short"), ("long.py", "long"), ("ok.py", "queued")] {
        let rec = r
            .submit(
                "ra",
                ApplicationDetails {
                    application: app.into(),
                    name: Some(name.into()),
                    ..Default::default()
                },
            )
            .unwrap();
        ids.push(rec.id);
    }
    std::fs::write(data.join("ids.json"), serde_json::to_vec(&ids).unwrap()).unwrap();
    let _monitor = r.spawn_monitor(Duration::from_millis(200));
    std::thread::sleep(Duration::from_secs(3600));
}

fn status(r: &Runner, id: &str) -> serde_json::Value {
    let p = r.app_dir("ra", id).unwrap().join("status.json");
    std::fs::read(&p)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(serde_json::Value::Null)
}

fn read_ids(data: &Path) -> Option<Vec<String>> {
    serde_json::from_slice(&std::fs::read(data.join("ids.json")).ok()?).ok()
}

#[test]
fn reattach_after_kill_9() {
    let _g = serial();
    if spark().is_none() {
        return;
    }
    let t0 = Instant::now();
    let data = tempfile::tempdir().unwrap();
    let mut ctl = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", "controller", "--nocapture"])
        .env(CONTROLLER_ENV, data.path())
        .spawn()
        .unwrap();
    assert!(wait_for(Duration::from_secs(60), || read_ids(data.path()).is_some()));
    let ids = read_ids(data.path()).unwrap();
    let (short, long, queued) = (&ids[0], &ids[1], &ids[2]);
    // An observer runner (no polling) to read files.
    let obs = runner(data.path(), Sandbox::None).unwrap();
    obs.ensure_instance(instance()).unwrap();
    // Wait until the long app's driver is up and the short one has a Spark id.
    assert!(wait_for(Duration::from_secs(180), || {
        status(&obs, long)["spark_app_id"].is_string()
            && status(&obs, short)["spark_app_id"].is_string()
    }));
    ctl.kill().unwrap(); // SIGKILL
    let _ = ctl.wait();
    drop(obs);

    // Nobody watches now; the short app ends on its own and its supervisor records it.
    assert!(
        wait_for(Duration::from_secs(180), || {
            let p = data
                .path()
                .join(format!("instances/ra/apps/{short}/status.json"));
            std::fs::read_to_string(p).is_ok_and(|s| s.contains("\"exit\": {"))
        }),
        "short app did not end"
    );

    // Restart.
    let r = runner(data.path(), Sandbox::None).unwrap();
    r.ensure_instance(instance()).unwrap();
    let _cleanup = Cleanup(&r, "ra");
    r.poll().unwrap();
    let all = r.list("ra", None).unwrap();
    assert_eq!(all.len(), 3, "{all:?}");
    let s = r.get("ra", short).unwrap();
    assert_eq!(s.state(), AppState::Finished, "{s:?}");
    let exit_at = status(&r, short)["exit"]["at"].as_u64().unwrap();
    assert_eq!(
        s.lifecycle.ended_at(),
        Some(exit_at),
        "true end time, not restart time"
    );
    let l = r.get("ra", long).unwrap();
    assert_eq!(l.state(), AppState::Running, "{l:?}");

    // The queued app starts now that a slot is free, and finishes.
    let q = r
        .wait_until("ra", queued, Duration::from_secs(240), |a| {
            a.state().is_terminal()
        })
        .unwrap();
    assert_eq!(q.state(), AppState::Finished, "{q:?}");
    assert!(q.lifecycle.waiting_at().is_some());

    // Stop the re-attached long app: whole tree gone.
    let sid = u32::try_from(status(&r, long)["session_id"].as_u64().unwrap()).unwrap();
    assert!(!sparkplane_runner::procs::session_members(sid).is_empty());
    r.stop("ra", long).unwrap();
    let l = r
        .wait_until("ra", long, Duration::from_secs(60), |a| {
            a.state().is_terminal()
        })
        .unwrap();
    assert_eq!(l.state(), AppState::Stopped);
    assert!(wait_for(Duration::from_secs(10), || {
        sparkplane_runner::procs::session_members(sid).is_empty()
    }));

    // Nothing duplicated: each driver started exactly once.
    for id in &ids {
        let log = r.driver_log("ra", id).unwrap();
        assert_eq!(
            log.matches("INFO SparkContext: Running Spark version")
                .count(),
            1,
            "app {id} started more than once"
        );
    }
    eprintln!("reattach test: {:.1}s", t0.elapsed().as_secs_f64());
}
