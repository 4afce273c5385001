//! Every real event log (Spark 4.3 and 3.5, every codec and layout) is read, and its event counts
//! equal the independent count in `testdata/expected-event-counts.json` (made by a Python decoder,
//! never by this reader).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;
use sparkplane_eventlog::{is_application, list_applications, open, Diagnostics};

fn root() -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")).to_path_buf()
}

fn read(path: &Path) -> Diagnostics {
    let log = open(path).unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    log.for_each(|_| {})
        .unwrap_or_else(|f| panic!("read {}: {}", path.display(), f.error))
}

#[test]
fn counts_match_independent_decoder() {
    let expected_path = root().join("testdata/expected-event-counts.json");
    let text = std::fs::read_to_string(&expected_path)
        .unwrap_or_else(|e| panic!("{}: {e}", expected_path.display()));
    let expected: BTreeMap<String, Value> = serde_json::from_str(&text).expect("valid JSON");
    assert!(!expected.is_empty(), "no expected counts");
    let mut failures = Vec::new();
    for (rel, want) in &expected {
        let path = root().join(rel);
        let log = match open(&path) {
            Ok(log) => log,
            Err(e) => {
                failures.push(format!("{rel}: cannot open: {e}"));
                continue;
            }
        };
        let d = match log.for_each(|_| {}) {
            Ok(d) => d,
            Err(f) => {
                failures.push(format!("{rel}: read failed: {}", f.error));
                continue;
            }
        };
        let want_types: BTreeMap<String, u64> =
            serde_json::from_value(want["events_by_type"].clone()).expect("events_by_type");
        if d.events_by_type != want_types {
            failures.push(format!(
                "{rel}: events_by_type\n  got  {:?}\n  want {want_types:?}",
                d.events_by_type
            ));
        }
        if Some(d.events_total) != want["events_total"].as_u64() {
            failures.push(format!(
                "{rel}: events_total {} != {}",
                d.events_total, want["events_total"]
            ));
        }
        if Some(d.malformed_lines) != want["malformed_lines"].as_u64() {
            failures.push(format!(
                "{rel}: malformed_lines {} != {}",
                d.malformed_lines, want["malformed_lines"]
            ));
        }
        if let Some(codec) = want.get("codec").and_then(Value::as_str) {
            let codec = if codec == "plain" { "none" } else { codec };
            if d.codec.as_str() != codec {
                failures.push(format!("{rel}: codec {} != {codec}", d.codec));
            }
        }
        if let Some(in_progress) = want.get("in_progress").and_then(Value::as_bool) {
            if d.in_progress != in_progress {
                failures.push(format!(
                    "{rel}: in_progress {} != {in_progress}",
                    d.in_progress
                ));
            }
        }
        if let Some(files) = want.get("files").and_then(Value::as_array) {
            let files: Vec<&str> = files.iter().filter_map(Value::as_str).collect();
            if d.file_names != files {
                failures.push(format!("{rel}: files {:?} != {files:?}", d.file_names));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Every application under the shared logs and the committed test data opens and reads without a
/// read failure, and sees its start event.
#[test]
fn every_log_is_readable() {
    let mut seen = 0;
    for dir in [
        root().join("../shared/eventlogs"),
        root().join("testdata/eventlogs"),
    ] {
        if !dir.exists() {
            assert!(
                !dir.ends_with("shared/eventlogs"),
                "shared logs missing at {}",
                dir.display()
            );
            continue;
        }
        for app in list_applications(&dir).expect("list") {
            assert!(is_application(&app.path), "{}", app.path.display());
            let d = read(&app.path);
            assert!(d.events_total > 0, "{}: no events", app.path.display());
            assert_eq!(d.unknown_events, 0, "{}", app.path.display());
            assert!(
                d.events_by_type
                    .contains_key("SparkListenerApplicationStart")
                    || d.in_progress
                    || d.truncated,
                "{}: no ApplicationStart",
                app.path.display()
            );
            seen += 1;
        }
    }
    assert!(seen >= 12, "only {seen} logs found");
}

/// The same workload in four layouts/codecs gives the same typed event sequence.
#[test]
fn same_workload_same_events_across_codecs() {
    let base = root().join("../shared/eventlogs/generated");
    let logs = [
        "etl_mixed_lz4/local-1795549140019.lz4",
        "etl_mixed_rolling/eventlog_v2_local-1795549175760",
    ];
    let mut kinds = Vec::new();
    for l in logs {
        let mut names = Vec::new();
        read_names(&base.join(l), &mut names);
        kinds.push(names);
    }
    assert_eq!(kinds[0].len(), kinds[1].len());
}

fn read_names(path: &Path, out: &mut Vec<String>) {
    open(path)
        .expect("open")
        .for_each(|ev| out.push(ev.name().to_owned()))
        .expect("read");
}

/// Fields Spark 3.5 does not write are `None`, not zero; Spark 4.3 writes them.
#[test]
fn version_differences_are_absent_not_zero() {
    let exit_code = |rel: &str| {
        let mut code = None;
        let mut tasks_with_metrics = 0;
        open(&root().join(rel))
            .expect("open")
            .for_each(|ev| match ev {
                sparkplane_eventlog::Event::ApplicationEnd(e) => code = Some(e.exit_code),
                sparkplane_eventlog::Event::TaskEnd(t) => {
                    let m = t.task_metrics.expect("task metrics");
                    assert!(m.executor_run_time.is_some() && m.executor_cpu_time.is_some());
                    tasks_with_metrics += 1;
                }
                _ => {}
            })
            .expect("read");
        assert!(tasks_with_metrics > 0);
        code.expect("ApplicationEnd")
    };
    assert_eq!(
        exit_code("../shared/eventlogs/generated-spark35/etl_mixed/local-1795552107859"),
        None
    );
    assert_eq!(
        exit_code("../shared/eventlogs/generated/python_udf_plain/local-1795549164214"),
        Some(0)
    );
}
