//! Planted-PII tests: personal data and secrets planted in an event log must not appear anywhere
//! in the JSON summary, the text report or the HTML report; and the over-redaction controls (app
//! ids, timestamps, byte counts, stage ids) must survive.
//!
//! Two sources of planted logs:
//! - `testdata/eventlogs/**/pii_planted*` with the planted strings listed in
//!   `testdata/pii-planted.json` (a real Spark run, see `tools/gen-eventlogs.py`);
//! - a synthetic copy of a real shared log with PII edited into every kind of string a log
//!   holds (always available, so this test never depends on the generated data).
#![allow(clippy::unwrap_used)]

mod support;

use std::path::{Path, PathBuf};

use serde_json::Value;
use sparkplane_analysis::redact::Redactor;
use sparkplane_analysis::report::{html, text};
use sparkplane_analysis::Summary;
use support::{root, shared_logs, skip_or_fail, summary_of};

/// The three outputs a user can see.
fn outputs(s: &Summary) -> [(&'static str, String); 3] {
    [
        ("json", serde_json::to_string_pretty(s).expect("json")),
        ("text", text::render(s, &text::TextOptions::default())),
        ("html", html::render(s)),
    ]
}

fn assert_absent(s: &Summary, planted: &[String]) {
    for (fmt, out) in outputs(s) {
        for p in planted {
            assert!(
                !out.contains(p.as_str()),
                "planted string {p:?} appears in the {fmt} output"
            );
        }
    }
}

/// Strings planted by the synthetic log below.
const PLANTED: &[&str] = &[
    "alice.smith@example.com",
    "AKIAPLANTEDSECRET1234",
    "hunter2-db-password",
    "s3cr3t-token-value",
    "bob@corp.example",
    "123-45-6789",
    "carol@example.org",
    "078-05-1120",
    "dave@example.net",
    "4111111111111111",
    "Zaphod Beeblebrox",
    "erin@example.com",
    "frank@example.com",
    "+1 415 555 0132",
    "grace@example.com",
    "4012 8888 8888 1881",
    "(212) 555-0187",
    "heidi@example.com",
    "2024-03-15",
    "SECRET_ENV_VALUE",
];

/// Edit a real log's events to plant PII in every kind of string it holds.
fn plant(v: &mut Value) {
    let ev = v["Event"].as_str().unwrap_or_default().to_owned();
    match ev.as_str() {
        "SparkListenerApplicationStart" => {
            v["App Name"] = "etl for alice.smith@example.com".into();
        }
        "SparkListenerEnvironmentUpdate" => {
            let sp = &mut v["Spark Properties"];
            if let Some(m) = sp.as_object_mut() {
                m.insert(
                    "spark.hadoop.fs.s3a.secret.key".into(),
                    "AKIAPLANTEDSECRET1234".into(),
                );
                m.insert(
                    "spark.executor.db.password".into(),
                    "hunter2-db-password".into(),
                );
                m.insert(
                    "spark.executor.apiToken".into(),
                    "s3cr3t-token-value".into(),
                );
                m.insert(
                    "spark.executorEnv.DB_PASS".into(),
                    "SECRET_ENV_VALUE".into(),
                );
                m.insert("spark.executor.memory".into(), "2g".into());
            }
            if let Some(m) = v["System Properties"].as_object_mut() {
                m.insert(
                    "sun.java.command".into(),
                    "org.apache.spark.deploy.SparkSubmit --conf spark.x=bob@corp.example job.py --ssn 123-45-6789"
                        .into(),
                );
            }
        }
        "org.apache.spark.sql.execution.ui.SparkListenerSQLExecutionStart" => {
            v["description"] =
                "SELECT * FROM users WHERE email = 'carol@example.org' AND ssn = '078-05-1120' AND signup >= DATE '2024-03-15'"
                    .into();
            let plan = v["physicalPlanDescription"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            v["physicalPlanDescription"] = format!(
                "{plan}\n(99) Scan parquet \nLocation: InMemoryFileIndex [file:/data/users/erin@example.com/part-0]\n\
PushedFilters: [IsNotNull(email), EqualTo(email,dave@example.net), In(card, [4111111111111111,5555555555554444])]\n\
PartitionFilters: [isnotnull(dt#7), (dt#7 = 2024-03-15)]\n\
Condition : ((name#3 = Zaphod Beeblebrox) AND (phone#4 = (212) 555-0187))\n"
            )
            .into();
        }
        "SparkListenerJobStart" => {
            if let Some(p) = v["Properties"].as_object_mut() {
                p.insert(
                    "spark.job.description".into(),
                    "backfill for frank@example.com, call +1 415 555 0132".into(),
                );
            }
        }
        "SparkListenerStageCompleted" => {
            v["Stage Info"]["Failure Reason"] =
                "org.apache.spark.api.python.PythonException: ValueError: bad row for grace@example.com card 4012 8888 8888 1881"
                    .into();
        }
        "SparkListenerTaskEnd" if v["Task Info"]["Task ID"].as_i64() == Some(0) => {
            v["Task End Reason"] = serde_json::json!({
                "Reason": "ExceptionFailure",
                "Class Name": "org.apache.spark.api.python.PythonException",
                "Description": "ValueError: invalid email heidi@example.com",
                "Stack Trace": [],
                "Full Stack Trace": "Traceback: ValueError: invalid email heidi@example.com",
                "Accumulator Updates": []
            });
            v["Task Info"]["Failed"] = true.into();
        }
        _ => {}
    }
}

/// A real uncompressed single-file log to plant into.
fn source_log() -> Option<PathBuf> {
    let dir = shared_logs().join("generated/etl_mixed_rolling");
    let apps = sparkplane_eventlog::list_applications(&dir).ok()?;
    let app = apps.into_iter().next()?.path;
    // The rolling directory holds one uncompressed events file.
    std::fs::read_dir(&app)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("events_"))
        })
}

fn planted_copy(dir: &Path) -> PathBuf {
    let src = source_log().expect("shared log etl_mixed_rolling");
    let text = std::fs::read_to_string(&src).expect("read log");
    let mut out = String::new();
    for line in text.lines() {
        let mut v: Value = serde_json::from_str(line).expect("json line");
        plant(&mut v);
        out.push_str(&serde_json::to_string(&v).expect("json"));
        out.push('\n');
    }
    let path = dir.join("local-1795549175760");
    std::fs::write(&path, out).expect("write planted log");
    path
}

#[test]
fn synthetic_planted_log_leaks_nothing() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let log = planted_copy(tmp.path());
    let s = summary_of(&log);
    // The planting reached the model (otherwise the test proves nothing).
    assert!(s.app.spark_conf.contains_key("spark.executor.db.password"));
    assert!(s
        .sql
        .iter()
        .any(|q| q.physical_plan.contains("PushedFilters")));
    assert!(s.jobs.iter().any(|j| j.description.is_some()));
    assert!(s.stages.iter().any(|st| st.failure_reason.is_some()));
    let planted: Vec<String> = PLANTED.iter().map(|s| s.to_string()).collect();
    assert_absent(&s, &planted);

    // Structure survives the masking.
    let json = serde_json::to_string(&s).expect("json");
    assert!(json.contains("EqualTo(email,***)"), "{json}");
    assert!(json.contains("(name#3 = ***)"));
    assert!(json.contains("*********(redacted)"));
    assert!(!json.contains("spark.executorEnv"));
    assert!(!json.contains("sun.java.command"));
    assert!(!json.contains("spark.hadoop.fs.s3a"));
    assert_eq!(
        s.app
            .spark_conf
            .get("spark.executor.memory")
            .map(String::as_str),
        Some("2g")
    );
}

#[test]
fn over_redaction_controls_survive() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let log = planted_copy(tmp.path());
    let s = summary_of(&log);
    let id = s.app.id.clone().expect("app id");
    assert_eq!(id, "local-1795549175760");
    let start = s.app.start_time.expect("start").to_string();
    let bytes = s.totals.shuffle_read_bytes.to_string();
    assert!(s.totals.shuffle_read_bytes > 0);
    for (fmt, out) in outputs(&s) {
        assert!(out.contains(&id), "{fmt}: app id masked");
        if fmt == "json" {
            assert!(out.contains(&start), "json: start timestamp masked");
            assert!(out.contains(&bytes), "json: byte count masked");
            assert!(out.contains("\"stage_id\": 2"), "json: stage id masked");
        }
    }
    let r = Redactor::shared();
    for keep in [
        "application_1700000000000_0001",
        "local-1795548357922",
        "app-20241125075823-0003",
        "1795549179151",
        "5368709120",
        "4111111111111112", // not Luhn-valid
    ] {
        assert_eq!(r.text(keep), keep);
        assert_eq!(r.sql(keep), keep);
        assert_eq!(r.message(keep), keep);
    }
}

/// Redacting already-redacted plan text of every shared log changes nothing.
#[test]
fn redaction_of_real_plans_is_idempotent() {
    let r = Redactor::shared();
    for group in ["generated", "generated-spark35"] {
        let Ok(rd) = std::fs::read_dir(shared_logs().join(group)) else {
            continue;
        };
        for d in rd.flatten() {
            for app in sparkplane_eventlog::list_applications(&d.path()).unwrap_or_default() {
                let s = summary_of(&app.path);
                for q in &s.sql {
                    assert_eq!(r.sql(&q.physical_plan), q.physical_plan);
                    assert_eq!(r.sql(&q.description), q.description);
                    // Structure survives: node ids and expression ids stay.
                    if q.physical_plan.contains("#") {
                        assert!(q.physical_plan.contains("== Physical Plan =="));
                    }
                }
            }
        }
    }
}

/// The real Spark run with planted PII (`pii_planted`), when the test data has it.
#[test]
fn generated_pii_planted_log_leaks_nothing() {
    let list = root().join("testdata/pii-planted.json");
    let Ok(text) = std::fs::read_to_string(&list) else {
        return skip_or_fail(
            "testdata/pii-planted.json is missing (made by tools/gen-eventlogs.py)",
        );
    };
    let v: Value = serde_json::from_str(&text).expect("pii-planted.json parses");
    let planted = planted_strings(&v);
    assert!(!planted.is_empty(), "no planted strings listed in {list:?}");
    let logs = find_named(&root().join("testdata/eventlogs"), "pii_planted");
    if logs.is_empty() {
        return skip_or_fail("no pii_planted log under testdata/eventlogs");
    }
    for dir in logs {
        for app in sparkplane_eventlog::list_applications(&dir).unwrap_or_default() {
            let s = summary_of(&app.path);
            assert_absent(&s, &planted);
            // The over-redaction controls hold on the real run too.
            let json = serde_json::to_string(&s).expect("json");
            if let Some(id) = &s.app.id {
                assert!(json.contains(id.as_str()));
            }
        }
    }
}

/// Every string value in the planted list (any JSON shape: array, or object of arrays/strings).
fn planted_strings(v: &Value) -> Vec<String> {
    let mut out = Vec::new();
    /// Keys whose strings are over-redaction controls or prose, not planted secrets.
    fn not_planted(k: &str) -> bool {
        let k = k.to_ascii_lowercase();
        [
            "invalid",
            "control",
            "keep",
            "survive",
            "unmasked",
            "description",
            "note",
            "comment",
        ]
        .iter()
        .any(|w| k.contains(w))
    }
    fn walk(v: &Value, out: &mut Vec<String>, key: Option<&str>) {
        if key.is_some_and(not_planted) {
            return;
        }
        match v {
            Value::String(s) if s.len() >= 4 => out.push(s.clone()),
            Value::Array(a) => a.iter().for_each(|x| walk(x, out, key)),
            Value::Object(m) => m.iter().for_each(|(k, x)| walk(x, out, Some(k))),
            _ => {}
        }
    }
    walk(v, &mut out, None);
    out
}

/// Directories (any depth) whose name starts with `prefix`.
fn find_named(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with(prefix))
        {
            out.push(p);
        } else if p.is_dir() {
            out.extend(find_named(&p, prefix));
        }
    }
    out
}
