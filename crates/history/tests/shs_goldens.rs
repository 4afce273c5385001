//! Compares sparkplane's `/api/v1` answers with Spark History Server's saved answers
//! (`tools/shs-snapshot.py`) for every log that has a snapshot.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;
use sparkplane_history::{App, History, StageOptions};

/// Fields that cannot be equal, by name, with the reason (also in README.md).
const SKIPPED: &[(&str, &str)] = &[
    (
        "lastUpdated",
        "modification time of the log file copy SHS read",
    ),
    (
        "lastUpdatedEpoch",
        "modification time of the log file copy SHS read",
    ),
    (
        "logSourceName",
        "the temporary directory SHS was pointed at",
    ),
    (
        "logSourceFullPath",
        "the temporary directory SHS was pointed at",
    ),
    ("_snapshot_note", "added by tools/shs-snapshot.py"),
];

fn root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

fn strip(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for (k, _) in SKIPPED {
                m.remove(*k);
            }
            m.values_mut().for_each(strip);
        }
        Value::Array(a) => a.iter_mut().for_each(strip),
        _ => {}
    }
}

/// What tools/shs-snapshot.py does to /environment before saving it.
fn slim_environment(env: &mut Value) {
    if let Some(m) = env.as_object_mut() {
        m.insert("classpathEntries".into(), Value::Array(vec![]));
        if let Some(Value::Array(hp)) = m.get_mut("hadoopProperties") {
            hp.retain(|p| {
                p.get(0)
                    .and_then(Value::as_str)
                    .is_some_and(|k| k.starts_with("fs.s3a."))
            });
        }
        if let Some(Value::Array(sp)) = m.get_mut("systemProperties") {
            for p in sp.iter_mut() {
                if p.get(0).and_then(Value::as_str) == Some("java.class.path") {
                    if let Some(a) = p.as_array_mut() {
                        a.truncate(1);
                    }
                }
            }
        }
    }
}

fn snapshot_dirs() -> BTreeMap<String, PathBuf> {
    let mut map = BTreeMap::new();
    let roots = [
        root().join("../shared/eventlogs/shs-snapshots"),
        root().join("testdata/shs-snapshots"),
    ];
    for r in roots {
        let Ok(groups) = std::fs::read_dir(&r) else {
            continue;
        };
        for g in groups.flatten() {
            let Ok(apps) = std::fs::read_dir(g.path()) else {
                continue;
            };
            for a in apps.flatten() {
                if a.path().join("app.json").is_file() {
                    // testdata (read second) wins: it has the extra endpoints.
                    map.insert(a.file_name().to_string_lossy().into_owned(), a.path());
                }
            }
        }
    }
    map
}

fn log_dirs() -> Vec<PathBuf> {
    vec![
        root().join("../shared/eventlogs/generated"),
        root().join("../shared/eventlogs/generated-spark35"),
        root().join("testdata/eventlogs/spark43"),
        root().join("testdata/eventlogs/spark35"),
        root().join("testdata/eventlogs/spark1x"),
    ]
}

fn load_raw(p: &Path) -> Option<Value> {
    serde_json::from_slice(&std::fs::read(p).ok()?).ok()
}

fn load(p: &Path) -> Option<Value> {
    let s = std::fs::read(p).ok()?;
    let mut v: Value = serde_json::from_slice(&s).ok()?;
    strip(&mut v);
    Some(v)
}

fn ours(app: &App, endpoint: &str, shs: &str) -> Value {
    let mut v = match endpoint {
        "app" => serde_json::to_value(app.info("")).unwrap(),
        "jobs" => serde_json::to_value(app.state().jobs()).unwrap(),
        "stages" => serde_json::to_value(app.state().stages()).unwrap(),
        "executors" => serde_json::to_value(app.executors(false)).unwrap(),
        "allexecutors" => serde_json::to_value(app.executors(true)).unwrap(),
        "environment" => {
            // SHS redacts with its own release's default regex.
            let regex = if shs.starts_with("3.") {
                sparkplane_history::REDACTION_REGEX_SPARK3
            } else {
                sparkplane_history::REDACTION_REGEX
            };
            let mut e = app.environment_with(regex::Regex::new(regex).ok().as_ref());
            slim_environment(&mut e);
            e
        }
        "stages_with_summaries" => {
            serde_json::to_value(app.stages_with_summaries(&sparkplane_history::DEFAULT_QUANTILES))
                .unwrap()
        }
        "version" => serde_json::to_value(sparkplane_history::version()).unwrap(),
        "sql" => app.sql_list(true, true, 0, -1),
        // tools/shs-snapshot.py's SQL_PAGED, STAGES_FILTERED and STAGES_DETAILS.
        "sql_paged" => app.sql_list(false, false, 1, 2),
        "stages_filtered" => serde_json::to_value(app.stage_list(&StageOptions {
            status: vec!["complete".into(), "failed".into()],
            with_summaries: true,
            quantiles: vec![0.1, 0.9],
            ..StageOptions::default()
        }))
        .unwrap(),
        "stages_details" => serde_json::to_value(app.stage_list(&StageOptions {
            details: true,
            task_status: vec!["SUCCESS".into(), "FAILED".into()],
            ..StageOptions::default()
        }))
        .unwrap(),
        _ => Value::Null,
    };
    strip(&mut v);
    if endpoint.starts_with("sql") && shs.starts_with("3.") {
        drop_spark4_sql_fields(&mut v);
    }
    if endpoint.starts_with("sql") {
        drop_running_sql_duration(&mut v);
    }
    if !app.completed() && endpoint.contains("executors") {
        drop_running_driver_duration(&mut v);
    }
    v
}

/// Fields SHS 3.5's `ExecutionData` does not have (it answers a Spark 3.5 log without them).
const SPARK4_SQL_FIELDS: &[&str] = &[
    "errorMessage",
    "queryId",
    "rootExecutionId",
    "modifiedConfigs",
];

fn drop_spark4_sql_fields(v: &mut Value) {
    let one = |e: &mut Value| {
        if let Some(m) = e.as_object_mut() {
            for k in SPARK4_SQL_FIELDS {
                m.remove(*k);
            }
            // Plan graph nodes have no `desc` in SHS 3.5.
            if let Some(Value::Array(nodes)) = m.get_mut("nodes") {
                for n in nodes {
                    if let Some(n) = n.as_object_mut() {
                        n.remove("desc");
                    }
                }
            }
        }
    };
    match v {
        Value::Array(a) => a.iter_mut().for_each(one),
        e => one(e),
    }
}

/// A running SQL execution's `duration` is "now - submission" at request time.
fn drop_running_sql_duration(v: &mut Value) {
    let one = |e: &mut Value| {
        if e.get("status").and_then(Value::as_str) == Some("RUNNING") {
            if let Some(m) = e.as_object_mut() {
                m.remove("duration");
            }
        }
    };
    match v {
        Value::Array(a) => a.iter_mut().for_each(one),
        e => one(e),
    }
}

/// A running application's driver `totalDuration` is "now - start" at request time.
fn drop_running_driver_duration(v: &mut Value) {
    if let Value::Array(a) = v {
        for e in a {
            if e.get("id").and_then(Value::as_str) == Some("driver") {
                if let Some(m) = e.as_object_mut() {
                    m.remove("totalDuration");
                }
            }
        }
    }
}

fn first_diff(a: &Value, b: &Value, path: &str) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for k in x.keys().chain(y.keys()) {
                match (x.get(k), y.get(k)) {
                    (Some(p), Some(q)) => {
                        if let Some(d) = first_diff(p, q, &format!("{path}.{k}")) {
                            return Some(d);
                        }
                    }
                    (p, q) => return Some(format!("{path}.{k}: ours={p:?} shs={q:?}")),
                }
            }
            None
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, (p, q))| first_diff(p, q, &format!("{path}[{i}]"))),
        (Value::Array(x), Value::Array(y)) => {
            Some(format!("{path}: len ours={} shs={}", x.len(), y.len()))
        }
        _ if a == b => None,
        _ => {
            let s = |v: &Value| v.to_string().chars().take(200).collect::<String>();
            Some(format!("{path}: ours={} shs={}", s(a), s(b)))
        }
    }
}

fn shs_version(sdir: &Path) -> Option<String> {
    let v = load(&sdir.join("snapshot-info.json"))?;
    v.get("history_server_spark_version")?
        .as_str()
        .map(str::to_owned)
}

pub const ENDPOINTS: &[&str] = &[
    "app",
    "jobs",
    "stages",
    "executors",
    "allexecutors",
    "environment",
    "stages_with_summaries",
    "version",
    "sql",
    "sql_paged",
    "stages_filtered",
    "stages_details",
];

#[test]
fn endpoints_equal_shs_snapshots() {
    let snaps = snapshot_dirs();
    assert!(!snaps.is_empty(), "no SHS snapshots found");
    let mut matched: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let mut failures = Vec::new();
    for dir in log_dirs() {
        let Ok(mut h) = History::load(&dir) else {
            continue;
        };
        for app in &mut h.apps {
            let app = std::sync::Arc::get_mut(app).unwrap();
            let key = match app.attempt_id() {
                Some(a) => format!("{}_{a}", app.id()),
                None => app.id().to_owned(),
            };
            let Some(sdir) = snaps.get(&key) else {
                continue;
            };
            // Tasks still running when the log ends have run "until the log's last update":
            // use the modification time of the copy SHS read, so durations are comparable.
            if let Some(lu) = load_raw(&sdir.join("app.json")).and_then(|v| {
                v.pointer("/attempts/0/lastUpdatedEpoch")
                    .and_then(Value::as_i64)
            }) {
                app.last_updated = lu;
            }
            let app = &*app;
            for ep in ENDPOINTS {
                let Some(theirs) = load(&sdir.join(format!("{ep}.json"))) else {
                    continue;
                };
                let mut theirs = theirs;
                if ep.starts_with("sql") {
                    drop_running_sql_duration(&mut theirs);
                }
                if !app.completed() && ep.contains("executors") {
                    drop_running_driver_duration(&mut theirs);
                }
                if *ep == "version"
                    && shs_version(sdir).as_deref() != Some(sparkplane_history::SHS_VERSION)
                {
                    // The snapshot was taken with another SHS release (e.g. 3.5.8).
                    continue;
                }
                let mine = ours(app, ep, shs_version(sdir).as_deref().unwrap_or(""));
                let e = matched.entry(ep).or_default();
                e.1 += 1;
                match first_diff(&mine, &theirs, "") {
                    None => e.0 += 1,
                    Some(d) => failures.push(format!("{key} {ep}: {d}")),
                }
            }
            // jobs/{id}: likewise (the tool saves jobs/<id>.json only when it differs).
            if let Some(Value::Array(list)) = load(&sdir.join("jobs.json")) {
                for entry in list {
                    let Some(id) = entry.get("jobId").and_then(Value::as_i64) else {
                        continue;
                    };
                    let theirs = load(&sdir.join(format!("jobs/{id}.json"))).unwrap_or(entry);
                    let mut mine = serde_json::to_value(app.state().job(id)).unwrap();
                    strip(&mut mine);
                    let e = matched.entry("jobs/{id}").or_default();
                    e.1 += 1;
                    match first_diff(&mine, &theirs, "") {
                        None => e.0 += 1,
                        Some(d) => failures.push(format!("{key} jobs/{id}: {d}")),
                    }
                }
            }
            // sql/{id}: SHS's answer is saved when it differs from the list entry.
            let shs = shs_version(sdir).unwrap_or_default();
            if let Some(Value::Array(list)) = load(&sdir.join("sql.json")) {
                for entry in list {
                    let Some(id) = entry.get("id").and_then(Value::as_i64) else {
                        continue;
                    };
                    let mut theirs = load(&sdir.join(format!("sql/{id}.json"))).unwrap_or(entry);
                    drop_running_sql_duration(&mut theirs);
                    let mut mine = app.sql_execution(id, true, true).unwrap_or(Value::Null);
                    strip(&mut mine);
                    if shs.starts_with("3.") {
                        drop_spark4_sql_fields(&mut mine);
                    }
                    drop_running_sql_duration(&mut mine);
                    let e = matched.entry("sql/{id}").or_default();
                    e.1 += 1;
                    match first_diff(&mine, &theirs, "") {
                        None => e.0 += 1,
                        Some(d) => failures.push(format!("{key} sql/{id}: {d}")),
                    }
                }
            }
            // Per stage attempt: taskSummary and taskList.
            let Ok(stages) = std::fs::read_dir(sdir.join("stages")) else {
                continue;
            };
            for st in stages.flatten() {
                let name = st.file_name().to_string_lossy().into_owned();
                let Some((sid, att)) = name.split_once('_') else {
                    continue;
                };
                let (Ok(sid), Ok(att)) = (sid.parse::<i64>(), att.parse::<i64>()) else {
                    continue;
                };
                if let Some(mut theirs) = load(&st.path().join("taskSummary.json")) {
                    if theirs.get("error").and_then(Value::as_str) == Some("HTTP 404") {
                        theirs = Value::Null;
                    }
                    let mut mine = app
                        .task_summary(sid, att, &sparkplane_history::DEFAULT_QUANTILES)
                        .unwrap_or(Value::Null);
                    strip(&mut mine);
                    let e = matched.entry("taskSummary").or_default();
                    e.1 += 1;
                    match first_diff(&mine, &theirs, "") {
                        None => e.0 += 1,
                        Some(d) => failures.push(format!("{key} taskSummary {name}: {d}")),
                    }
                }
                if let Some(theirs) = load(&st.path().join("taskList.json")) {
                    let mut mine = Value::Array(app.task_list(sid, att, 0, 100_000, None));
                    strip(&mut mine);
                    let e = matched.entry("taskList").or_default();
                    e.1 += 1;
                    match first_diff(&mine, &theirs, "") {
                        None => e.0 += 1,
                        Some(d) => failures.push(format!("{key} taskList {name}: {d}")),
                    }
                }
            }
        }
    }
    for (ep, (ok, n)) in &matched {
        println!("{ep}: {ok}/{n} answers match SHS exactly");
    }
    for f in &failures {
        println!("DIFF {f}");
    }
    assert!(
        failures.is_empty(),
        "{} endpoint answers differ from SHS",
        failures.len()
    );
}
