//! sparkplane's stage and job numbers must equal what Spark's own History Server answers for the
//! same log.
//!
//! For every event log under `../shared/eventlogs` and `testdata/eventlogs` that has a History
//! Server snapshot (`<snapshots>/<app id>/stages.json`, `jobs.json`) under
//! `../shared/eventlogs/shs-snapshots` or `testdata/shs-snapshots` (both searched recursively,
//! so new logs and snapshots are picked up as they are added), every stage attempt (skipped ones
//! included) and every job are compared field by field. Task-duration quantiles are compared with
//! the History Server's `taskSummary` where a snapshot has one (`stages_with_summaries.json`, the
//! answer of `stages?withSummaries=true`, and `stages/<id>_<attempt>/taskSummary.json`): exact
//! below 256 ms, within `sketch::RELATIVE_ERROR` (1/256) above (plus 10 ms for stage attempts
//! with tasks that never ended: see `check_quantile`).
//!
//! Extra snapshot roots can be given in `SPARKPLANE_SHS_SNAPSHOTS` (colon-separated).

#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde_json::Value;
use sparkplane_analysis::model::{Model, StageStatus};
use sparkplane_analysis::sketch::RELATIVE_ERROR;

fn root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

fn model_of(path: &Path) -> Model {
    let log = sparkplane_eventlog::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    match sparkplane_analysis::analyze(&log, &sparkplane_analysis::Options::default()) {
        Ok(a) => a.model,
        Err(e) => panic!("{}: {e}", path.display()),
    }
}

/// Every directory holding a `stages.json`, by its name (the app id).
fn snapshot_dirs(dir: &Path, out: &mut HashMap<String, PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            if p.join("stages.json").is_file() {
                let name = e.file_name().to_string_lossy().into_owned();
                out.insert(name, p.clone());
            }
            snapshot_dirs(&p, out);
        }
    }
}

/// Every application log under `dir` (recursively, skipping snapshot directories).
fn logs_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = rd.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let p = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('.')
            || name.ends_with(".crc")
            || name.ends_with(".md")
            || name.ends_with(".json")
            || name.contains("snapshots")
        {
            continue;
        }
        if sparkplane_eventlog::is_application(&p) {
            out.push(p);
        } else if p.is_dir() {
            logs_under(&p, out);
        }
    }
}

fn load(p: &Path) -> Value {
    let text = std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn num(v: &Value, key: &str) -> i64 {
    v.get(key)
        .and_then(Value::as_i64)
        .unwrap_or_else(|| panic!("no number {key} in {v}"))
}

fn status_str(s: StageStatus) -> &'static str {
    match s {
        StageStatus::Active => "ACTIVE",
        StageStatus::Complete => "COMPLETE",
        StageStatus::Failed => "FAILED",
        StageStatus::Pending => "PENDING",
        StageStatus::Skipped => "SKIPPED",
    }
}

#[derive(Default)]
struct Tally {
    logs: usize,
    stage_attempts: usize,
    jobs: usize,
    quantile_sets: usize,
    mismatches: Vec<String>,
}

/// Compares one quantile list from SHS (`[min, p25, median, p75, max]`) with ours.
///
/// Tasks that never ended are measured by the History Server up to the log file's time; a fresh
/// checkout has no such time, so sparkplane then uses the last event's time: for stage attempts
/// with such tasks (`open_tasks`) 10 ms more are allowed.
fn check_quantile(t: &mut Tally, what: &str, shs: &[f64], ours: [u64; 5], open_tasks: bool) {
    for (i, (&want, got)) in shs.iter().zip(ours).enumerate() {
        let got = got as f64;
        let tol = if want < 256.0 {
            0.0
        } else {
            want * RELATIVE_ERROR
        } + if open_tasks { 10.0 } else { 0.0 };
        if (got - want).abs() > tol + 1e-9 {
            t.mismatches.push(format!(
                "{what} quantile #{i}: ours {got}, SHS {want} (tolerance {tol})"
            ));
        }
    }
}

/// The five standard quantiles' durations out of a `taskMetricsDistributions` object, if the
/// History Server was asked for exactly 0, 0.25, 0.5, 0.75, 1.0.
fn shs_duration_quantiles(dist: &Value) -> Option<Vec<f64>> {
    let qs: Vec<f64> = dist
        .get("quantiles")?
        .as_array()?
        .iter()
        .filter_map(Value::as_f64)
        .collect();
    let d: Vec<f64> = dist
        .get("duration")?
        .as_array()?
        .iter()
        .filter_map(Value::as_f64)
        .collect();
    let want = [0.0, 0.25, 0.5, 0.75, 1.0];
    let mut out = Vec::new();
    for w in want {
        let i = qs.iter().position(|q| (q - w).abs() < 1e-9)?;
        out.push(*d.get(i)?);
    }
    Some(out)
}

fn compare(t: &mut Tally, log: &Path, snap: &Path, m: &Model) {
    let tag = log.display().to_string();
    let stages = load(&snap.join("stages.json"));
    let stages = stages
        .as_array()
        .unwrap_or_else(|| panic!("{}: not a list", snap.display()));
    let ours: BTreeMap<(u32, u32), _> = m
        .stages
        .iter()
        .map(|s| ((s.stage_id, s.attempt_id), s))
        .collect();
    let mut seen = 0;
    for st in stages {
        let key = (num(st, "stageId") as u32, num(st, "attemptId") as u32);
        let Some(s) = ours.get(&key) else {
            t.mismatches.push(format!("{tag}: stage {key:?} missing"));
            continue;
        };
        seen += 1;
        t.stage_attempts += 1;
        let x = &s.metrics;
        let pairs: [(&str, u64); 14] = [
            ("numTasks", s.num_tasks),
            ("numCompleteTasks", s.num_complete_tasks),
            ("numFailedTasks", s.num_failed_tasks),
            ("numKilledTasks", s.num_killed_tasks),
            ("executorRunTime", x.executor_run_time),
            ("executorCpuTime", x.executor_cpu_time),
            ("jvmGcTime", x.jvm_gc_time),
            ("inputBytes", x.input_bytes),
            ("outputBytes", x.output_bytes),
            ("shuffleReadBytes", x.shuffle_read_bytes),
            ("shuffleWriteBytes", x.shuffle_write_bytes),
            ("memoryBytesSpilled", x.memory_bytes_spilled),
            ("diskBytesSpilled", x.disk_bytes_spilled),
            ("peakExecutionMemory", x.peak_execution_memory),
        ];
        for (k, v) in pairs {
            if num(st, k) != v as i64 {
                t.mismatches.push(format!(
                    "{tag}: stage {key:?} {k}: ours {v}, SHS {}",
                    num(st, k)
                ));
            }
        }
        let status = st.get("status").and_then(Value::as_str).unwrap_or("");
        if status != status_str(s.status) {
            t.mismatches.push(format!(
                "{tag}: stage {key:?} status: ours {:?}, SHS {status}",
                s.status
            ));
        }
        // Task-duration quantiles, when the snapshot carries a task summary.
        if let Some(dist) = st.get("taskMetricsDistributions") {
            if let (Some(shs), Some(q)) = (shs_duration_quantiles(dist), s.tasks.shs_duration) {
                t.quantile_sets += 1;
                check_quantile(
                    t,
                    &format!("{tag}: stage {key:?}"),
                    &shs,
                    [q.min, q.p25, q.median, q.p75, q.max],
                    s.num_active_tasks > 0,
                );
            }
        }
    }
    if seen != m.stages.len() {
        t.mismatches.push(format!(
            "{tag}: SHS lists {seen} stage attempts, sparkplane {}",
            m.stages.len()
        ));
    }
    // Stage summaries asked with withSummaries=true / taskSummary, in files of their own.
    for name in ["stages_with_summaries.json"] {
        let p = snap.join(name);
        if p.is_file() {
            for st in load(&p).as_array().into_iter().flatten() {
                let key = (num(st, "stageId") as u32, num(st, "attemptId") as u32);
                let Some(s) = ours.get(&key) else { continue };
                if let (Some(dist), Some(q)) =
                    (st.get("taskMetricsDistributions"), s.tasks.shs_duration)
                {
                    if let Some(shs) = shs_duration_quantiles(dist) {
                        t.quantile_sets += 1;
                        check_quantile(
                            t,
                            &format!("{tag}: stage {key:?}"),
                            &shs,
                            [q.min, q.p25, q.median, q.p75, q.max],
                            s.num_active_tasks > 0,
                        );
                    }
                }
            }
        }
    }
    // `stages/<stage id>_<attempt>/taskSummary.json` (`/stages/<id>/<attempt>/taskSummary`).
    if let Ok(rd) = std::fs::read_dir(snap.join("stages")) {
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let mut it = name.split('_').filter_map(|x| x.parse::<u32>().ok());
            let (Some(sid), Some(att)) = (it.next(), it.next()) else {
                continue;
            };
            let p = e.path().join("taskSummary.json");
            let Some(s) = ours.get(&(sid, att)).filter(|_| p.is_file()) else {
                continue;
            };
            let dist = load(&p);
            if let (Some(shs), Some(q)) = (shs_duration_quantiles(&dist), s.tasks.shs_duration) {
                t.quantile_sets += 1;
                check_quantile(
                    t,
                    &format!("{tag}: stage ({sid}, {att}) taskSummary"),
                    &shs,
                    [q.min, q.p25, q.median, q.p75, q.max],
                    s.num_active_tasks > 0,
                );
            }
        }
    }

    let jobs = load(&snap.join("jobs.json"));
    let jobs = jobs
        .as_array()
        .unwrap_or_else(|| panic!("{}: jobs not a list", snap.display()));
    for j in jobs {
        let id = num(j, "jobId") as u32;
        t.jobs += 1;
        let Some(ours) = m.jobs.iter().find(|x| x.job_id == id) else {
            t.mismatches.push(format!("{tag}: job {id} missing"));
            continue;
        };
        let status = j.get("status").and_then(Value::as_str).unwrap_or("");
        let our_status = serde_json::to_value(ours.status).unwrap_or_default();
        if our_status.as_str() != Some(status) {
            t.mismatches.push(format!(
                "{tag}: job {id} status: ours {our_status}, SHS {status}"
            ));
        }
        for (k, v) in [
            ("numTasks", ours.num_tasks),
            ("numCompletedTasks", ours.num_completed_tasks),
            ("numFailedTasks", ours.num_failed_tasks),
            ("numKilledTasks", ours.num_killed_tasks),
            ("numSkippedTasks", ours.num_skipped_tasks),
        ] {
            if num(j, k) != v as i64 {
                t.mismatches
                    .push(format!("{tag}: job {id} {k}: ours {v}, SHS {}", num(j, k)));
            }
        }
    }
    if jobs.len() != m.jobs.len() {
        t.mismatches.push(format!(
            "{tag}: SHS lists {} jobs, sparkplane {}",
            jobs.len(),
            m.jobs.len()
        ));
    }
    t.logs += 1;
}

#[test]
fn stage_and_job_numbers_equal_history_server() {
    let root = root();
    let shared = root.join("../shared/eventlogs");
    let mut snaps = HashMap::new();
    snapshot_dirs(&shared.join("shs-snapshots"), &mut snaps);
    snapshot_dirs(&root.join("testdata/shs-snapshots"), &mut snaps);
    // Extra snapshot roots (colon-separated), e.g. fresh ones made with tools/shs-snapshot.py.
    if let Some(extra) = std::env::var_os("SPARKPLANE_SHS_SNAPSHOTS") {
        for dir in std::env::split_paths(&extra) {
            snapshot_dirs(&dir, &mut snaps);
        }
    }
    assert!(!snaps.is_empty(), "no History Server snapshots found");

    let mut shared_logs = Vec::new();
    logs_under(&shared, &mut shared_logs);
    let mut own_logs = Vec::new();
    logs_under(&root.join("testdata/eventlogs"), &mut own_logs);
    assert!(shared_logs.len() >= 12, "shared logs: {shared_logs:?}");

    let mut t = Tally::default();
    let mut per_log = Vec::new();
    for (log, must_have_snapshot) in shared_logs
        .iter()
        .map(|l| (l, true))
        .chain(own_logs.iter().map(|l| (l, false)))
    {
        let m = model_of(log);
        let Some(id) = m.app.app_id.clone() else {
            assert!(!must_have_snapshot, "{}: no app id", log.display());
            continue;
        };
        // Snapshot directories are named `<app id>[_<attempt id>]`.
        let with_attempt = m.app.attempt_id.as_ref().map(|a| format!("{id}_{a}"));
        let Some(snap) = with_attempt
            .and_then(|k| snaps.get(&k))
            .or_else(|| snaps.get(&id))
        else {
            assert!(
                !must_have_snapshot,
                "{}: no History Server snapshot for {id}",
                log.display()
            );
            continue;
        };
        let before = t.stage_attempts;
        compare(&mut t, log, snap, &m);
        per_log.push(format!(
            "{} ({id}): {} stage attempts",
            log.strip_prefix(&root).unwrap_or(log).display(),
            t.stage_attempts - before
        ));
    }
    println!("{}", per_log.join("\n"));
    println!(
        "compared {} logs, {} stage attempts, {} jobs, {} task-duration quantile sets",
        t.logs, t.stage_attempts, t.jobs, t.quantile_sets
    );
    assert!(
        t.mismatches.is_empty(),
        "{} mismatches:\n{}",
        t.mismatches.len(),
        t.mismatches.join("\n")
    );
    assert!(t.logs >= 12);
}
