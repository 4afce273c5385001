//! The end-of-run export outbox without Spark: a real event log, the real encrypted SQLite
//! store and object stores. With the object store unreachable the export is queued (durably)
//! and the driver log says so; a new exporter on the same database (a restarted server)
//! delivers it exactly once; rows that cannot succeed are dropped, not retried forever.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sparkplane_runner::{AppRecord, Lifecycle, RunCompletion, SparkConf};
use sparkplane_server::ingest::{Ingestor, Prices};
use sparkplane_server::outbox::{ExportCompletion, Exporter, RetryPolicy};
use sparkplane_store::{
    AuditEvent, InstanceRecord, Limits, ObjectStoreSpec, Objects, Outcome, Store,
};

fn root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// Three real logs (three Spark app ids).
const LOGS: [(&str, &str); 3] = [
    ("clean_small", "local-1795594986851"),
    ("job_failure", "local-1795594576285"),
    ("killed_tasks", "local-1795594871301"),
];

fn event_log(i: usize) -> PathBuf {
    let (dir, id) = LOGS[i];
    root().join(format!("testdata/eventlogs/spark43/{dir}/eventlog_v2_{id}"))
}

fn record(app_id: &str, spark_id: &str, log: &Path) -> AppRecord {
    AppRecord {
        id: app_id.into(),
        instance_id: "inst-1".into(),
        name: None,
        application: "app.py".into(),
        lifecycle: Lifecycle::accepted(1),
        cores: 1,
        effective_conf: SparkConf::new(),
        env_names: Vec::new(),
        spark_app_id: Some(spark_id.into()),
        event_log: Some(log.to_owned()),
        failure_reason: None,
        exit_code: Some(0),
        launched: true,
        launched_at: Some(1),
        completion_done: false,
    }
}

fn policy() -> RetryPolicy {
    RetryPolicy {
        base: Duration::from_millis(100),
        max: Duration::from_millis(300),
        attempt_timeout: Duration::from_secs(2),
        poll: Duration::from_millis(100),
    }
}

async fn open(dir: &Path) -> Arc<Store> {
    let url = format!("sqlite://{}", dir.join("db.sqlite").display());
    let (store, _) = sparkplane_server::at_rest::open_store(&url, None, dir)
        .await
        .unwrap();
    Arc::new(store)
}

fn exporter(store: &Arc<Store>, objects: ObjectStoreSpec) -> Exporter {
    let keyring = store.keyring().cloned().unwrap();
    let objects = Objects::open(&objects).unwrap().with_keyring(keyring);
    let ingest = Ingestor::new(
        store.clone(),
        objects,
        Prices::default(),
        Duration::from_secs(3600),
    );
    Exporter::new(ingest, policy())
}

#[test]
fn queued_while_the_store_is_down_then_delivered_once_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let store = rt.block_on(open(dir.path()));
    let inst = InstanceRecord {
        id: "inst-1".into(),
        name: "i".into(),
        state: "active".into(),
        default_config: Default::default(),
        spark_version: "4.3".into(),
        limits: Limits {
            max_cores: None,
            max_memory: None,
            max_concurrent_applications: None,
        },
        created_at: 0,
        state_change_time: 0,
    };
    let audit = AuditEvent::new("test", "/test", Outcome::Success, 201, "test");
    rt.block_on(store.create_instance(&inst, &audit)).unwrap();

    // The object store is unreachable (nothing listens on the port).
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let down = ObjectStoreSpec::S3 {
        bucket: "perf".into(),
        prefix: "sp".into(),
        endpoint: Some(format!("http://127.0.0.1:{closed}")),
    };
    std::env::set_var("AWS_ACCESS_KEY_ID", "test");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "test");
    std::env::set_var("AWS_REGION", "us-east-1");
    let hook = ExportCompletion::new(exporter(&store, down), rt.handle().clone());
    let mut app_dirs = Vec::new();
    for (i, app) in ["app-1", "app-2", "app-3"].into_iter().enumerate() {
        let app_dir = dir.path().join(app);
        std::fs::create_dir_all(&app_dir).unwrap();
        std::fs::write(app_dir.join("driver.log"), "").unwrap();
        let t0 = Instant::now();
        let log = event_log(i);
        let line = hook
            .on_finished(&record(app, LOGS[i].1, &log), Some(&log), &app_dir)
            .unwrap();
        assert!(line.contains("queued for retry"), "{line}");
        assert!(t0.elapsed() < Duration::from_secs(30), "{:?}", t0.elapsed());
        assert!(app_dir.join("summary.json").is_file());
        app_dirs.push(app_dir);
    }
    assert_eq!(rt.block_on(store.outbox_len()).unwrap(), 3);
    assert!(rt
        .block_on(store.summary_by_application("inst-1", "app-1"))
        .unwrap()
        .is_none());
    // app-3's summary disappears: its row cannot succeed and is dropped, with a log line.
    std::fs::remove_file(app_dirs[2].join("summary.json")).unwrap();

    // "Restart": a new exporter on the same database, the store reachable (a local dir).
    let local = dir.path().join("objects");
    let up = exporter(&store, ObjectStoreSpec::Local(local.clone()));
    std::thread::sleep(policy().max);
    let delivered = rt.block_on(up.run_due()).unwrap();
    assert_eq!(delivered, 2);
    assert_eq!(rt.block_on(store.outbox_len()).unwrap(), 0);
    assert_eq!(
        rt.block_on(up.run_due()).unwrap(),
        0,
        "nothing delivered twice"
    );
    for (i, app) in ["app-1", "app-2"].into_iter().enumerate() {
        let rec = rt
            .block_on(store.summary_by_application("inst-1", app))
            .unwrap()
            .unwrap();
        assert_eq!(rec.app_id, LOGS[i].1);
        let dir = &app_dirs[i];
        let log = std::fs::read_to_string(dir.join("driver.log")).unwrap();
        assert!(
            log.contains("performance summary exported in"),
            "{app}: {log}"
        );
    }
    let log3 = std::fs::read_to_string(app_dirs[2].join("driver.log")).unwrap();
    assert!(log3.contains("export abandoned"), "{log3}");
    // One object per delivered summary, under the instance's prefix.
    let files: Vec<_> = walk(&local);
    assert_eq!(files.len(), 2, "{files:?}");
    assert!(files
        .iter()
        .all(|f| f.starts_with(local.join("instances/inst-1/summaries"))));
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}
