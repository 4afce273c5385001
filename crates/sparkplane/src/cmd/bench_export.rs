//! `sparkplane bench export`: time the server's end-of-run path — analyse an event log, write
//! the redacted summary, queue it in the outbox (SQLite) and deliver it through the ingest
//! service (encrypted object in a local directory + summary row) — exactly as the completion
//! hook of `sparkplane serve` runs it.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use sparkplane_runner::{AnalyzeCompletion, AppRecord, Lifecycle, RunCompletion, SparkConf};
use sparkplane_server::ingest::{Ingestor, Prices};
use sparkplane_server::outbox::{ExportCompletion, Exporter, RetryPolicy};
use sparkplane_store::{AuditEvent, InstanceRecord, Limits, ObjectStoreSpec, Objects, Outcome};

#[derive(clap::Args)]
pub struct ExportArgs {
    /// The event log to analyse and export (file or rolling directory).
    event_log: PathBuf,
    /// How many times to run the whole path.
    #[arg(long, default_value_t = 3)]
    runs: u32,
    /// Working directory for the SQLite database, the object store and the app directory
    /// (default: a temporary directory, removed afterwards).
    #[arg(long)]
    work_dir: Option<PathBuf>,
}

fn record(instance_id: &str, app_id: &str, event_log: &std::path::Path) -> AppRecord {
    AppRecord {
        id: app_id.to_owned(),
        instance_id: instance_id.to_owned(),
        name: Some("bench".into()),
        application: "bench.py".into(),
        lifecycle: Lifecycle::accepted(0),
        cores: 1,
        effective_conf: SparkConf::new(),
        env_names: Vec::new(),
        spark_app_id: None,
        event_log: Some(event_log.to_owned()),
        failure_reason: None,
        exit_code: Some(0),
        launched: true,
        launched_at: Some(0),
        completion_done: false,
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

pub fn run(a: ExportArgs) -> anyhow::Result<ExitCode> {
    let tmp;
    let work = match &a.work_dir {
        Some(d) => d.clone(),
        None => {
            tmp = tempfile_dir()?;
            tmp.clone()
        }
    };
    std::fs::create_dir_all(&work).with_context(|| work.display().to_string())?;
    let size: u64 = sparkplane_eventlog::open(&a.event_log)?
        .files()
        .iter()
        .filter_map(|f| std::fs::metadata(&f.path).ok())
        .map(|m| m.len())
        .sum();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let db = format!("sqlite://{}", work.join("bench.db").display());
    // As the server opens them: encryption at rest on the database and the objects.
    let (store, _) = rt.block_on(sparkplane_server::at_rest::open_store(&db, None, &work))?;
    let store = Arc::new(store);
    let keyring = store
        .keyring()
        .cloned()
        .context("encryption at rest is not enabled")?;
    let objects =
        Objects::open(&ObjectStoreSpec::Local(work.join("objects")))?.with_keyring(keyring);
    let inst = InstanceRecord {
        id: "bench-instance".into(),
        name: "bench".into(),
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
    if store.instance(&inst.id).is_none() {
        let audit = AuditEvent::new("bench", "/bench", Outcome::Success, 201, "bench");
        rt.block_on(store.create_instance(&inst, &audit))?;
    }
    let ingest = Ingestor::new(
        store.clone(),
        objects,
        Prices::default(),
        std::time::Duration::from_secs(3600),
    );
    let exporter = Exporter::new(ingest, RetryPolicy::default());
    let hook = ExportCompletion::new(exporter, rt.handle().clone());
    let (mut analyse, mut total) = (Vec::new(), Vec::new());
    for run in 0..a.runs.max(1) {
        let app_id = format!("bench-app-{run}");
        let app_dir = work.join("apps").join(&app_id);
        std::fs::create_dir_all(&app_dir)?;
        std::fs::write(app_dir.join("driver.log"), "")?;
        let t = Instant::now();
        AnalyzeCompletion::summarize(&a.event_log, &app_dir).map_err(anyhow::Error::msg)?;
        analyse.push(t.elapsed().as_secs_f64() * 1000.0);
        let rec = record(&inst.id, &app_id, &a.event_log);
        let t = Instant::now();
        let line = hook
            .on_finished(&rec, Some(&a.event_log), &app_dir)
            .unwrap_or_default();
        total.push(t.elapsed().as_secs_f64() * 1000.0);
        if !line.contains("exported in") {
            anyhow::bail!("export failed: {line}");
        }
        eprintln!("run {run}: {line}");
    }
    let queued = rt.block_on(store.outbox_len())?;
    println!(
        "event log: {:.1} MB on disk ({})",
        size as f64 / 1e6,
        a.event_log.display()
    );
    println!(
        "analyse only:               median {:.0} ms over {} runs",
        median(&mut analyse),
        analyse.len()
    );
    println!(
        "analyse + queue + export:   median {:.0} ms (min {:.0}, max {:.0})",
        median(&mut total.clone()),
        total.iter().copied().fold(f64::INFINITY, f64::min),
        total.iter().copied().fold(0.0, f64::max)
    );
    println!("outbox rows left: {queued}");
    rt.block_on(store.close());
    if a.work_dir.is_none() {
        let _ = std::fs::remove_dir_all(&work);
    }
    Ok(ExitCode::SUCCESS)
}

fn tempfile_dir() -> anyhow::Result<PathBuf> {
    let d = std::env::temp_dir().join(format!("sparkplane-bench-export-{}", std::process::id()));
    std::fs::create_dir_all(&d)?;
    Ok(d)
}
