//! Submission overhead: from `Runner::submit` accepting an app (`accepted_at`) to its
//! supervisor having started `spark-submit` (`submitted_at` in status.json). Real Spark
//! (pip pyspark); each app is stopped as soon as its driver process exists.
//!
//! `cargo bench -p sparkplane-runner --bench submit_overhead` (ITER=N to change the count).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use sparkplane_runner::{find_spark_home, ApplicationDetails, InstanceSpec, Runner, RunnerConfig};

fn main() {
    let root = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
    let Some(home) = find_spark_home(&root) else {
        eprintln!("SKIPPED: pyspark not found (scripts/setup-deps.sh)");
        return;
    };
    let iters: usize = std::env::var("ITER")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let data = std::env::temp_dir().join(format!("sparkplane-bench-{}", std::process::id()));
    let mut cfg = RunnerConfig::new(data.clone(), home);
    cfg.python = Some(root.join(".venv/bin/python"));
    cfg.supervisor = vec![env!("CARGO_BIN_EXE_sparkplane-supervise").into()];
    cfg.stop_grace = Duration::from_secs(2);
    let r = Runner::without_completion(cfg).unwrap();
    r.ensure_instance(InstanceSpec::local("bench")).unwrap();
    std::fs::write(
        r.files_dir("bench").unwrap().join("app.py"),
        "import time\ntime.sleep(60)\n",
    )
    .unwrap();
    let mut overhead = Vec::new();
    let mut call = Vec::new();
    for _ in 0..iters {
        let t = Instant::now();
        let rec = r
            .submit(
                "bench",
                ApplicationDetails {
                    application: "app.py".into(),
                    ..Default::default()
                },
            )
            .unwrap();
        call.push(t.elapsed().as_secs_f64() * 1000.0);
        let status = r.app_dir("bench", &rec.id).unwrap().join("status.json");
        let deadline = Instant::now() + Duration::from_secs(30);
        let submitted_at = loop {
            let v: serde_json::Value = std::fs::read(&status)
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok())
                .unwrap_or_default();
            if let Some(at) = v["submitted_at"].as_u64() {
                break at;
            }
            assert!(Instant::now() < deadline, "spark-submit never started");
            std::thread::sleep(Duration::from_millis(2));
        };
        overhead.push(submitted_at.saturating_sub(rec.lifecycle.accepted_at()) as f64);
        r.stop("bench", &rec.id).unwrap();
        r.wait_until("bench", &rec.id, Duration::from_secs(30), |a| {
            a.state().is_terminal()
        })
        .unwrap();
    }
    let stats = |v: &mut Vec<f64>| {
        v.sort_by(|a, b| a.total_cmp(b));
        let q = |p: f64| v[((v.len() - 1) as f64 * p).round() as usize];
        format!(
            "median {:.1} ms, p90 {:.1} ms, max {:.1} ms (n={})",
            q(0.5),
            q(0.9),
            q(1.0),
            v.len()
        )
    };
    println!(
        "submit() call (validate, persist, spawn supervisor): {}",
        stats(&mut call)
    );
    println!("accepted -> spark-submit started: {}", stats(&mut overhead));
    let _ = std::fs::remove_dir_all(&data);
}
