//! The insight table: every cell of `testdata/insight-expectations.json` (log × the 12 kinds:
//! `fire` must fire, `silent` must not, `any` is not checked) against the insights computed
//! with the default thresholds from the real log; the workload names of the shared logs
//! (issue 5's acceptance); and invariance: rewriting application names and paths in a log copy
//! changes no insight.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::{Path, PathBuf};

use serde_json::Value;
use sparkplane_analysis::insights::{evaluate, Thresholds};
use sparkplane_analysis::summary::{Insight, InsightKind};
use support::{app_in, model_of, root, shared_logs, skip_or_fail};

fn kinds_of(path: &Path) -> Vec<InsightKind> {
    evaluate(&model_of(path), &Thresholds::default())
        .into_iter()
        .map(|i| i.kind)
        .collect()
}

fn kind_named(s: &str) -> Option<InsightKind> {
    InsightKind::ALL.iter().copied().find(|k| k.as_str() == s)
}

/// Where a log named in the expectations file lives: a path relative to the workspace root,
/// `shared/…` (the shared logs), or a bare workload name searched in testdata and the shared
/// logs.
fn resolve(name: &str) -> Option<PathBuf> {
    let candidates = [
        root().join(name),
        root().join("testdata").join(name),
        root().join("testdata/eventlogs").join(name),
        root().join("..").join(name),
        shared_logs().join(name),
        shared_logs().join("generated").join(name),
        root().join(name.strip_prefix("shared/").unwrap_or(name)),
        root()
            .join("../shared")
            .join(name.strip_prefix("shared/").unwrap_or(name)),
    ];
    candidates.into_iter().find(|p| p.exists())
}

/// `(log name, kind → expectation)` rows from the expectations file, whatever its nesting: any
/// object whose keys include insight kinds mapped to `fire`/`silent`/`any` is a row, named by
/// its key (or its `log`/`path` field).
fn rows(v: &Value) -> Vec<(String, Vec<(InsightKind, String)>)> {
    let mut out = Vec::new();
    fn walk(name: Option<&str>, v: &Value, out: &mut Vec<(String, Vec<(InsightKind, String)>)>) {
        let Value::Object(m) = v else {
            if let Value::Array(a) = v {
                for x in a {
                    walk(name, x, out);
                }
            }
            return;
        };
        let mut cells = Vec::new();
        for (k, x) in m {
            if let (Some(kind), Some(e)) = (kind_named(k), x.as_str()) {
                if matches!(e, "fire" | "silent" | "any") {
                    cells.push((kind, e.to_owned()));
                }
            }
        }
        if !cells.is_empty() {
            let label = m
                .get("log")
                .or_else(|| m.get("path"))
                .and_then(Value::as_str)
                .or(name)
                .unwrap_or("?")
                .to_owned();
            out.push((label, cells));
            return;
        }
        for (k, x) in m {
            if k != "criteria" {
                walk(Some(k), x, out);
            }
        }
    }
    walk(None, v, &mut out);
    out
}

#[test]
fn every_cell_of_the_expectation_table_holds() {
    let file = root().join("testdata/insight-expectations.json");
    let Ok(text) = std::fs::read_to_string(&file) else {
        return skip_or_fail("testdata/insight-expectations.json is missing");
    };
    let v: Value = serde_json::from_str(&text).expect("expectations parse");
    let rows = rows(&v);
    assert!(!rows.is_empty(), "no rows in {file:?}");
    let mut failures = Vec::new();
    let (mut checked, mut missing) = (0, Vec::new());
    for (name, cells) in &rows {
        assert_eq!(
            cells.len(),
            InsightKind::ALL.len(),
            "{name}: every one of the 12 kinds needs a cell"
        );
        // The exact log, or (when the workload was regenerated under a new app id) the
        // workload directory it lived in.
        let parent = Path::new(name)
            .parent()
            .and_then(|p| p.to_str())
            .unwrap_or_default();
        let Some(path) = resolve(name).or_else(|| resolve(parent).filter(|p| p.is_dir())) else {
            missing.push(name.clone());
            continue;
        };
        let apps = if sparkplane_eventlog::is_application(&path) {
            vec![path.clone()]
        } else {
            sparkplane_eventlog::list_applications(&path)
                .ok()
                .filter(|a| !a.is_empty())
                .map(|a| a.into_iter().map(|e| e.path).collect::<Vec<_>>())
                .unwrap_or_else(|| vec![path.clone()])
        };
        for app in apps {
            let fired = kinds_of(&app);
            for (kind, e) in cells {
                checked += 1;
                let did = fired.contains(kind);
                match (e.as_str(), did) {
                    ("fire", false) => {
                        failures.push(format!("{name}: {} did not fire", kind.as_str()))
                    }
                    ("silent", true) => failures.push(format!("{name}: {} fired", kind.as_str())),
                    _ => {}
                }
            }
        }
    }
    if !missing.is_empty() {
        skip_or_fail(&format!("logs named in the table are missing: {missing:?}"));
    }
    eprintln!("checked {checked} cells of {} logs", rows.len());
    assert!(
        failures.is_empty(),
        "{} cell(s) fail:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Issue 5's acceptance on the shared Spark 4.3 logs: the workload names say what fires, and
/// clean workloads raise none of `data_skew`, `spill`, `task_failures`, `job_failure`.
#[test]
fn shared_workload_names_say_what_fires() {
    let g = shared_logs().join("generated");
    if !g.exists() {
        return skip_or_fail("../shared/eventlogs/generated is missing");
    }
    let must = [
        ("join_skew", InsightKind::DataSkew),
        ("join_skew_snappy", InsightKind::DataSkew),
        ("python_udf", InsightKind::PythonUdf),
        ("python_udf_plain", InsightKind::PythonUdf),
        ("many_small_tasks", InsightKind::TinyTasks),
        ("cache_pressure", InsightKind::GcPressure),
    ];
    for (w, kind) in must {
        let fired = kinds_of(&app_in(&g.join(w)));
        assert!(
            fired.contains(&kind),
            "{w}: {} did not fire ({fired:?})",
            kind.as_str()
        );
    }
    let bad = [
        InsightKind::DataSkew,
        InsightKind::Spill,
        InsightKind::TaskFailures,
        InsightKind::JobFailure,
    ];
    for w in [
        "etl_mixed",
        "etl_mixed_lz4",
        "etl_mixed_rolling",
        "python_udf",
        "cache_pressure",
    ] {
        let fired = kinds_of(&app_in(&g.join(w)));
        for k in bad {
            assert!(!fired.contains(&k), "{w} (clean): {} fired", k.as_str());
        }
    }
    let s35 = shared_logs().join("generated-spark35");
    if s35.exists() {
        assert!(kinds_of(&app_in(&s35.join("join_skew"))).contains(&InsightKind::DataSkew));
        assert!(kinds_of(&app_in(&s35.join("python_udf"))).contains(&InsightKind::PythonUdf));
        let fired = kinds_of(&app_in(&s35.join("etl_mixed")));
        for k in bad {
            assert!(
                !fired.contains(&k),
                "spark35 etl_mixed: {} fired",
                k.as_str()
            );
        }
    }
}

/// Uncompressed single-file (or single-file rolling) logs: the raw JSON lines can be rewritten.
fn plain_log_file(app: &Path) -> Option<PathBuf> {
    if app.is_file() {
        let n = app.file_name()?.to_string_lossy().into_owned();
        return (!n.contains('.')).then(|| app.to_path_buf());
    }
    let files: Vec<PathBuf> = std::fs::read_dir(app)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("events_"))
        })
        .collect();
    match files.as_slice() {
        [one] if !one.file_name()?.to_string_lossy().contains('.') => Some(one.clone()),
        _ => None,
    }
}

/// Rewrite the app name and every path-like string of a log's lines.
fn rewrite(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut app_name: Option<String> = None;
    for line in text.lines() {
        let mut v: Value = serde_json::from_str(line).expect("json line");
        if v["Event"] == "SparkListenerApplicationStart" {
            app_name = v["App Name"].as_str().map(str::to_owned);
        }
        let mut s = serde_json::to_string(&v).expect("json");
        if let Some(n) = &app_name {
            s = s.replace(&format!("\"{n}\""), "\"totally-different-name\"");
            v = serde_json::from_str(&s).expect("json");
            s = serde_json::to_string(&v).expect("json");
        }
        for (from, to) in [
            ("/tmp/gen-eventlogs-data", "/mnt/elsewhere/data-lake"),
            ("/work/steering/shared/tools", "/home/someone/jobs"),
            ("/tmp/", "/var/tmp/other/"),
            ("gen-eventlogs.py", "nightly_job.py"),
        ] {
            s = s.replace(from, to);
        }
        out.push_str(&s);
        out.push('\n');
    }
    out
}

fn strip_message(mut v: Vec<Insight>) -> Vec<Insight> {
    for i in &mut v {
        i.message.clear();
    }
    v
}

#[test]
fn renaming_apps_and_paths_changes_no_insight() {
    let mut logs: Vec<PathBuf> = Vec::new();
    for group in ["generated", "generated-spark35"] {
        let Ok(rd) = std::fs::read_dir(shared_logs().join(group)) else {
            continue;
        };
        for d in rd.flatten() {
            for a in sparkplane_eventlog::list_applications(&d.path()).unwrap_or_default() {
                logs.extend(plain_log_file(&a.path));
            }
        }
    }
    if logs.is_empty() {
        return skip_or_fail("no uncompressed shared log to rewrite");
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    for (i, log) in logs.iter().enumerate() {
        let text = std::fs::read_to_string(log).expect("read");
        let rewritten = rewrite(&text);
        assert_ne!(text, rewritten, "{log:?}: nothing was rewritten");
        let copy = tmp
            .path()
            .join(format!("local-{}", 1_700_000_000_000u64 + i as u64));
        std::fs::write(&copy, rewritten).expect("write");
        let th = Thresholds::default();
        let before = evaluate(&model_of(log), &th);
        let after = evaluate(&model_of(&copy), &th);
        assert_eq!(
            strip_message(before.clone()),
            strip_message(after.clone()),
            "{log:?}: insights changed after renaming"
        );
        // Messages are built from numbers only, so they are equal too.
        assert_eq!(before, after, "{log:?}: messages changed after renaming");
    }
}

#[test]
fn thresholds_change_what_fires() {
    let log = app_in(&shared_logs().join("generated/join_skew"));
    let model = model_of(&log);
    let mut th = Thresholds::default();
    assert!(evaluate(&model, &th)
        .iter()
        .any(|i| i.kind == InsightKind::DataSkew));
    th.set("data_skew.min_duration_ratio=50").expect("set");
    assert!(!evaluate(&model, &th)
        .iter()
        .any(|i| i.kind == InsightKind::DataSkew));
    // Both ratios and both minimums are required: each alone keeps the rule silent.
    for over in [
        "data_skew.min_read_ratio=1000",
        "data_skew.min_max_task_ms=60000",
        "data_skew.min_max_task_read_bytes=1g",
        "data_skew.min_tasks=100",
    ] {
        let mut th = Thresholds::default();
        th.set(over).expect("set");
        assert!(
            !evaluate(&model, &th)
                .iter()
                .any(|i| i.kind == InsightKind::DataSkew),
            "data_skew fired with {over}"
        );
    }
    let mut th = Thresholds::default();
    th.set("data_skew.enabled=false").expect("set");
    assert!(!evaluate(&model, &th)
        .iter()
        .any(|i| i.kind == InsightKind::DataSkew));
}
