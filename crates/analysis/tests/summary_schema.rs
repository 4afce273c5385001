//! The committed JSON Schema (`schema/summary.schema.json`) is what the `Summary` type generates,
//! and every summary made from a real log validates against it. Regenerate the file with
//! `SPARKPLANE_BLESS=1 cargo test -p sparkplane-analysis --test summary_schema -- committed`.
//!
//! Also: the analysis reads metrics, never names — rewriting the application name and every
//! path in a log changes no number and no insight.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use sparkplane_analysis::{analyze, analyze_stream, Options, Summary};

fn root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

fn schema_path() -> PathBuf {
    root().join("schema/summary.schema.json")
}

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

#[test]
fn committed_schema_is_current() {
    let generated = serde_json::to_string_pretty(&Summary::json_schema()).unwrap() + "\n";
    let path = schema_path();
    if std::env::var_os("SPARKPLANE_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "{} is out of date: run SPARKPLANE_BLESS=1 cargo test -p sparkplane-analysis --test summary_schema -- committed",
        path.display()
    );
}

#[test]
fn every_summary_validates() {
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(schema_path()).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let mut logs = Vec::new();
    logs_under(&root().join("../shared/eventlogs"), &mut logs);
    logs_under(&root().join("testdata/eventlogs"), &mut logs);
    assert!(logs.len() >= 12);
    let mut checked = 0;
    for log in &logs {
        let Ok(opened) = sparkplane_eventlog::open(log) else {
            continue;
        };
        let Ok(a) = analyze(&opened, &Options::default()) else {
            continue;
        };
        let json = serde_json::to_value(&a.summary).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&json)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .take(5)
            .collect();
        assert!(errors.is_empty(), "{}: {errors:?}", log.display());
        assert_eq!(json["schema_version"], "1.0");
        // A summary round-trips through its own type.
        let back: Summary = serde_json::from_value(json).unwrap();
        assert_eq!(back.stages.len(), a.summary.stages.len());
        checked += 1;
    }
    println!("{checked} summaries validated");
    assert!(checked >= 12);
}

/// Numbers and insights only: the parts that must not depend on names.
fn fingerprint(s: &Summary) -> serde_json::Value {
    let mut v = serde_json::json!({
        "totals": s.totals,
        "jobs": s.jobs.iter().map(|j| (j.job_id, j.status, j.num_tasks, j.duration_ms)).collect::<Vec<_>>(),
        "stages": s.stages.iter().map(|st| {
            let mut x = serde_json::to_value(st).unwrap();
            x.as_object_mut().unwrap().remove("name");
            x
        }).collect::<Vec<_>>(),
        "insights": s.insights.iter().map(|i| (i.kind, i.severity, &i.evidence)).collect::<Vec<_>>(),
    });
    v["sql_nodes"] = serde_json::json!(s.sql.iter().map(|q| &q.node_names).collect::<Vec<_>>());
    v
}

#[test]
fn renaming_the_app_and_its_paths_changes_no_result() {
    let shared = root().join("../shared/eventlogs");
    for log in [
        "generated/python_udf_plain/local-1795549164214",
        "generated-spark35/join_skew/local-1795552119225",
        "generated-spark35/etl_mixed/local-1795552107859",
    ] {
        let bytes = std::fs::read_to_string(shared.join(log)).unwrap();
        let original = analyze_stream(bytes.as_bytes(), log, &Options::default()).unwrap();
        let renamed_text = bytes
            .replace(
                "/work/steering/shared/tools/gen-eventlogs.py",
                "/opt/jobs/x/y/z/nightly_report.py",
            )
            .replace("/work/steering", "/home/somebody")
            .replace("\"App Name\":\"", "\"App Name\":\"renamed ");
        assert_ne!(renamed_text, bytes, "{log}: nothing was rewritten");
        let renamed = analyze_stream(renamed_text.as_bytes(), log, &Options::default()).unwrap();
        assert_ne!(original.summary.app.name, renamed.summary.app.name);
        assert_eq!(
            fingerprint(&original.summary),
            fingerprint(&renamed.summary),
            "{log}: results changed after renaming"
        );
    }
}
