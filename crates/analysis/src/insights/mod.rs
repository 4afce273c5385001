//! Insight rules: what went wrong in a run and what to change.
//!
//! Each of the twelve kinds of [`InsightKind`] is one rule over the [`Model`], with thresholds
//! in [`Thresholds`] (defaults documented on each field, with the source they come from). The
//! thresholds load from a TOML file ([`Thresholds::from_toml_str`]) whose tables are named after
//! the kinds, and single values can be overridden by `kind.name=value`
//! ([`Thresholds::set`], the CLI's `--threshold`):
//!
//! ```toml
//! [data_skew]
//! min_duration_ratio = 8.0
//! min_max_task_ms = 30000
//!
//! [driver_idle]
//! enabled = false
//! ```
//!
//! | kind | fires when (defaults) | rule |
//! |---|---|---|
//! | `data_skew` | a stage's slowest task ≥ 5× the median duration **and** ≥ 5× the median bytes read, slowest ≥ 1 s and ≥ 256 KiB, ≥ 4 tasks | [`stages::data_skew`] |
//! | `spill` | a stage spilled ≥ 1 MiB to disk | [`stages::spill`] |
//! | `small_files` | a SQL execution read or wrote > 100 files averaging < 3 MiB | [`plans::small_files`] |
//! | `task_failures` | ≥ 1 failed task attempt (killed tasks do not count) | [`failures::task_failures`] |
//! | `job_failure` | ≥ 1 failed job (jobs cancelled on purpose do not count) | [`failures::job_failure`] |
//! | `tiny_tasks` | a stage with > 1,000 tasks whose median task is < 500 ms | [`stages::tiny_tasks`] |
//! | `low_core_utilization` | ≥ 50 % of allocated core time idle after the first task started (≥ 5 s, ≥ 2 cores) | [`time::low_core_utilization`] |
//! | `gc_pressure` | a stage with ≥ 5 s of task time spends ≥ 8 % of it in GC | [`stages::gc_pressure`] |
//! | `large_broadcast` | a broadcast exchange of ≥ 64 MiB | [`plans::large_broadcast`] |
//! | `python_udf` | a `BatchEvalPython` (row-at-a-time Python UDF) node in a plan | [`plans::python_udf`] |
//! | `nested_loop_join` | a `BroadcastNestedLoopJoin` or `CartesianProduct` node in a plan | [`plans::nested_loop_join`] |
//! | `driver_idle` | ≥ 10 s and ≥ 25 % of the run with no task running, after the first task | [`time::driver_idle`] |
//!
//! Rules read numbers only (never names or paths), so renaming an application or its paths
//! cannot change what fires. Messages are built from numbers and fixed text only; no string from
//! the log is copied into an insight.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::Model;
use crate::summary::{Evidence, Insight, InsightKind, Severity};

pub mod failures;
pub mod plans;
pub mod stages;
pub mod time;

/// Errors from loading or overriding thresholds.
#[derive(Debug, thiserror::Error)]
pub enum ThresholdError {
    /// The TOML config does not parse or names an unknown kind/threshold.
    #[error("invalid thresholds config: {0}")]
    Config(String),
    /// `--threshold` was not `kind.name=value`.
    #[error("threshold override `{0}` is not of the form kind.name=value")]
    Syntax(String),
    /// `kind.name` is not a known threshold.
    #[error("unknown threshold `{0}` (see `sparkplane analyze --help` for the list)")]
    Unknown(String),
    /// The value does not fit the threshold's type.
    #[error("threshold `{name}` needs {expected}, got `{value}`")]
    Value {
        name: String,
        expected: &'static str,
        value: String,
    },
}

/// Every rule's thresholds. `Default` is the documented defaults.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Thresholds {
    pub data_skew: DataSkew,
    pub spill: Spill,
    pub small_files: SmallFiles,
    pub task_failures: TaskFailures,
    pub job_failure: JobFailure,
    pub tiny_tasks: TinyTasks,
    pub low_core_utilization: LowCoreUtilization,
    pub gc_pressure: GcPressure,
    pub large_broadcast: LargeBroadcast,
    pub python_udf: PythonUdf,
    pub nested_loop_join: NestedLoopJoin,
    pub driver_idle: DriverIdle,
}

const KIB: u64 = 1024;
const MIB: u64 = 1024 * 1024;
const GIB: u64 = 1024 * 1024 * 1024;

/// `data_skew`: a stage whose slowest task runs far longer than its median **and** reads far
/// more. Both ratios are required so that a slow task that read nothing special (JIT warm-up,
/// GC, a slow disk) is not called skew; the absolute minimums keep tiny stages silent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DataSkew {
    pub enabled: bool,
    /// Slowest / median task duration. Default 5. Sources: DataFlint's `PartitionSkewAlert`
    /// (`max / median executorRunTime > 10`, max > 5 s) — lowered to 5 because the byte ratio
    /// below is also required; Databricks' Spark UI guide calls max > 1.5 × p75 suspicious.
    pub min_duration_ratio: f64,
    /// Bytes the slowest task read / median task bytes read (input + shuffle read). Default 5:
    /// Spark AQE's `spark.sql.adaptive.skewJoin.skewedPartitionFactor` (5).
    pub min_read_ratio: f64,
    /// The slowest task must run at least this long (ms). Default 1,000 (DataFlint uses 5,000 on
    /// clusters; local-mode runs are shorter).
    pub min_max_task_ms: u64,
    /// The slowest task must read at least this much. Default 256 KiB (local-mode test data;
    /// AQE's own `skewedPartitionThresholdInBytes` is 256 MiB on clusters).
    pub min_max_task_read_bytes: u64,
    /// Stages with fewer successful tasks have no meaningful median. Default 4.
    pub min_tasks: u64,
    /// Critical when the slowest task also runs at least this long (ms). Default 10 min.
    pub critical_max_task_ms: u64,
}

impl Default for DataSkew {
    fn default() -> Self {
        Self {
            enabled: true,
            min_duration_ratio: 5.0,
            min_read_ratio: 5.0,
            min_max_task_ms: 1_000,
            min_max_task_read_bytes: 256 * KIB,
            min_tasks: 4,
            critical_max_task_ms: 600_000,
        }
    }
}

/// `spill`: execution memory ran out and data went to disk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Spill {
    pub enabled: bool,
    /// A stage spilling at least this many bytes to disk fires. Default 1 MiB. Source:
    /// Databricks' Spark UI guide ("the first thing to look for in a long-running stage is
    /// spill"): any real spill matters; the minimum only ignores noise.
    pub min_disk_spill_bytes: u64,
    /// Critical when the run spilled at least this much to disk in total. Default 1 GiB.
    pub critical_disk_spill_bytes: u64,
}

impl Default for Spill {
    fn default() -> Self {
        Self {
            enabled: true,
            min_disk_spill_bytes: MIB,
            critical_disk_spill_bytes: GIB,
        }
    }
}

/// `small_files`: many files read or written with a small average size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmallFiles {
    pub enabled: bool,
    /// More than this many files in one SQL execution. Default 100. Source: DataFlint's
    /// `MemorySQLInputOutputAlerts` (`FILES_READ_TOO_HIGH_THREASHOLD = 100`).
    pub min_files: u64,
    /// Average file size below this. Default 3 MiB. Source: DataFlint
    /// (`BYTE_READ_TOO_SMALL_THRESHOLD = 3 MiB`).
    pub max_avg_file_bytes: u64,
    /// File size to aim for in the advice. Default 128 MiB (DataFlint's `IDEAL_FILE_SIZE`,
    /// Spark's `spark.sql.files.maxPartitionBytes`).
    pub target_file_bytes: u64,
}

impl Default for SmallFiles {
    fn default() -> Self {
        Self {
            enabled: true,
            min_files: 100,
            max_avg_file_bytes: 3 * MIB,
            target_file_bytes: 128 * MIB,
        }
    }
}

/// `task_failures`: task attempts that failed (killed/speculation losers do not count).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TaskFailures {
    pub enabled: bool,
    /// At least this many failed task attempts in the run. Default 1: every failure costs a
    /// retry and often hides a data problem.
    pub min_failed_tasks: u64,
    /// Critical when a stage's failure rate (failed / (failed + completed)) reaches this.
    /// Default 0.5. Source: Dr. Elephant's `StagesHeuristic`
    /// (`DEFAULT_TASK_FAILURE_RATE_SEVERITY_THRESHOLDS`: low 0.1, moderate 0.3, severe 0.5).
    pub critical_failure_rate: f64,
}

impl Default for TaskFailures {
    fn default() -> Self {
        Self {
            enabled: true,
            min_failed_tasks: 1,
            critical_failure_rate: 0.5,
        }
    }
}

/// `job_failure`: a job ended with `JobFailed`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JobFailure {
    pub enabled: bool,
    /// At least this many failed jobs. Default 1.
    pub min_failed_jobs: u64,
}

impl Default for JobFailure {
    fn default() -> Self {
        Self {
            enabled: true,
            min_failed_jobs: 1,
        }
    }
}

/// `tiny_tasks`: many tasks whose median duration is dominated by scheduling overhead.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TinyTasks {
    pub enabled: bool,
    /// A stage with more tasks than this. Default 1,000. Source: DataFlint's `SmallTasksAlert`
    /// uses 5,000 (`LARGE_TASKS_NUM_THRESHOLD`); lowered to 1,000 because with a median under
    /// 500 ms a task's fixed cost (scheduling, deserialisation, result handling: tens of ms)
    /// is already a large share of the stage at a thousand tasks (measured on the
    /// `rolling_3files_zstd` test log: 3 × 3,000 tasks with a 56 ms median).
    pub min_tasks: u64,
    /// … whose median task duration is below this (ms). Default 500. Source: DataFlint
    /// (`MEDIAN_TASK_TIME_THRESHOLD_MS = 500`).
    pub max_median_task_ms: u64,
    /// The advice suggests dividing the task count by this. Default 10 (DataFlint's
    /// `TASKS_RECOMMENDED_DECREASE_RATIO`).
    pub decrease_ratio: u64,
}

impl Default for TinyTasks {
    fn default() -> Self {
        Self {
            enabled: true,
            min_tasks: 1_000,
            max_median_task_ms: 500,
            decrease_ratio: 10,
        }
    }
}

/// `low_core_utilization`: allocated cores sat idle — while the driver worked alone (no task at
/// all) or while stages ran fewer tasks than cores. The JVM/session start-up before the first
/// task is left out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LowCoreUtilization {
    pub enabled: bool,
    /// Share of allocated core time idle after the first task started. Default 0.5. Source: DataFlint's
    /// `WastedCoresAlertsReducer` (`WASTED_CORES_RATIO_THRESHOLD = 50 %`); Sparklens reports the
    /// same "core compute hours wasted" figure.
    pub min_idle_share: f64,
    /// Only runs lasting at least this long after the first task started (ms). Default 5,000.
    pub min_busy_ms: u64,
    /// Only runs with at least this many cores (one core cannot be partly idle). Default 2.
    pub min_cores: u64,
    /// Critical from this idle share. Default 0.8.
    pub critical_idle_share: f64,
}

impl Default for LowCoreUtilization {
    fn default() -> Self {
        Self {
            enabled: true,
            min_idle_share: 0.5,
            min_busy_ms: 5_000,
            min_cores: 2,
            critical_idle_share: 0.8,
        }
    }
}

/// `gc_pressure`: tasks spend a large share of their time in JVM garbage collection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GcPressure {
    pub enabled: bool,
    /// `jvm_gc_time / executor_run_time` of a stage. Default 0.08. Source: Dr. Elephant's
    /// `ExecutorGcHeuristic` (`DEFAULT_GC_SEVERITY_A_THRESHOLDS`: low 0.08, moderate 0.09,
    /// severe 0.1, critical 0.15).
    pub min_gc_share: f64,
    /// Critical from this share. Default 0.15 (Dr. Elephant's critical).
    pub critical_gc_share: f64,
    /// Only stages with at least this much task run time (ms). Default 5,000. Dr. Elephant
    /// requires 5 minutes of executor run time per application; per stage and for local-mode
    /// runs 5 seconds keeps millisecond stages (where one young GC is 50 %) silent.
    pub min_stage_run_time_ms: u64,
}

impl Default for GcPressure {
    fn default() -> Self {
        Self {
            enabled: true,
            min_gc_share: 0.08,
            critical_gc_share: 0.15,
            min_stage_run_time_ms: 5_000,
        }
    }
}

/// `large_broadcast`: a broadcast exchange shipping a large table to every executor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LargeBroadcast {
    pub enabled: bool,
    /// A `BroadcastExchange` whose `data size` reaches this. Default 64 MiB: over six times
    /// Spark's default `spark.sql.autoBroadcastJoinThreshold` (10 MiB), so someone raised the
    /// threshold or forced a broadcast hint; and above the 32 MiB that Spark 4 reports for even
    /// a tiny long-keyed hash relation (its first memory page: measured on the shared
    /// `etl_mixed` log, a 5,000-row broadcast).
    pub min_broadcast_bytes: u64,
    /// Critical from this size. Default 1 GiB. Source: DataFlint's `BroadcastTooLargeAlert`
    /// (`BROADCAST_SIZE_THRESHOLD = 1 GiB`).
    pub critical_broadcast_bytes: u64,
}

impl Default for LargeBroadcast {
    fn default() -> Self {
        Self {
            enabled: true,
            min_broadcast_bytes: 64 * MIB,
            critical_broadcast_bytes: GIB,
        }
    }
}

/// `python_udf`: row-at-a-time Python UDFs (`BatchEvalPython`): every row is pickled to a Python
/// worker and back. Vectorised (`ArrowEvalPython`, pandas UDF) nodes do not fire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PythonUdf {
    pub enabled: bool,
    /// At least this many such plan nodes in the run. Default 1.
    pub min_nodes: u64,
}

impl Default for PythonUdf {
    fn default() -> Self {
        Self {
            enabled: true,
            min_nodes: 1,
        }
    }
}

/// `nested_loop_join`: `BroadcastNestedLoopJoin` / `CartesianProduct` compare every row pair.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NestedLoopJoin {
    pub enabled: bool,
    /// At least this many such plan nodes in the run. Default 1. Source: DataFlint's
    /// `LargeCrossJoinScanAlert` flags cross joins; any nested-loop join is quadratic.
    pub min_nodes: u64,
}

impl Default for NestedLoopJoin {
    fn default() -> Self {
        Self {
            enabled: true,
            min_nodes: 1,
        }
    }
}

/// `driver_idle`: long stretches with no task running after the first task started (the
/// driver computing alone, collecting, sleeping). The stretch before the first task (JVM and
/// session start-up) is left out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DriverIdle {
    pub enabled: bool,
    /// At least this much idle time (ms). Default 10,000.
    pub min_idle_ms: u64,
    /// … and at least this share of the application's duration. Default 0.25. Source:
    /// Sparklens splits wall-clock time into driver-only and executor time and flags runs whose
    /// driver-only share is large.
    pub min_idle_share: f64,
    /// Critical from this share. Default 0.5.
    pub critical_idle_share: f64,
}

impl Default for DriverIdle {
    fn default() -> Self {
        Self {
            enabled: true,
            min_idle_ms: 10_000,
            min_idle_share: 0.25,
            critical_idle_share: 0.5,
        }
    }
}

impl Thresholds {
    /// Parse a TOML config (tables named after the kinds; missing values keep their defaults).
    pub fn from_toml_str(s: &str) -> Result<Self, ThresholdError> {
        toml::from_str(s).map_err(|e| ThresholdError::Config(e.to_string()))
    }

    /// The thresholds as TOML (what `--print-thresholds`-style output and docs show).
    pub fn to_toml_string(&self) -> String {
        toml::to_string(self).unwrap_or_default()
    }

    /// Every `kind.name` that [`Thresholds::set`] accepts, with its current value.
    pub fn names(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if let Ok(toml::Value::Table(t)) = toml::Value::try_from(self) {
            for (kind, v) in t {
                if let toml::Value::Table(fields) = v {
                    for (name, val) in fields {
                        out.push((format!("{kind}.{name}"), val.to_string()));
                    }
                }
            }
        }
        out
    }

    /// Override one threshold from `kind.name=value` (the CLI's `--threshold`).
    pub fn set(&mut self, assignment: &str) -> Result<(), ThresholdError> {
        let (path, value) = assignment
            .split_once('=')
            .ok_or_else(|| ThresholdError::Syntax(assignment.to_owned()))?;
        let (path, value) = (path.trim(), value.trim());
        let (kind, name) = path
            .split_once('.')
            .ok_or_else(|| ThresholdError::Syntax(assignment.to_owned()))?;
        let mut root =
            toml::Value::try_from(&*self).map_err(|e| ThresholdError::Config(e.to_string()))?;
        let slot = root
            .get_mut(kind)
            .and_then(|k| k.get_mut(name))
            .ok_or_else(|| ThresholdError::Unknown(path.to_owned()))?;
        let bad = |expected| ThresholdError::Value {
            name: path.to_owned(),
            expected,
            value: value.to_owned(),
        };
        *slot = match slot {
            toml::Value::Boolean(_) => {
                toml::Value::Boolean(value.parse().map_err(|_| bad("true or false"))?)
            }
            toml::Value::Integer(_) => toml::Value::Integer(
                parse_size(value)
                    .and_then(|v| i64::try_from(v).ok())
                    .ok_or_else(|| bad("a non-negative integer (k/m/g suffixes allowed)"))?,
            ),
            toml::Value::Float(_) => {
                let v: f64 = value.parse().map_err(|_| bad("a number"))?;
                if !v.is_finite() {
                    return Err(bad("a finite number"));
                }
                toml::Value::Float(v)
            }
            _ => return Err(ThresholdError::Unknown(path.to_owned())),
        };
        *self = root
            .try_into()
            .map_err(|e: toml::de::Error| ThresholdError::Config(e.to_string()))?;
        Ok(())
    }
}

/// `123`, `64k`, `32m`, `1g` (binary units, case-insensitive; `kb`/`mib` spellings too).
fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim().to_ascii_lowercase().replace('_', "");
    let digits_end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(digits_end);
    let n: u64 = num.parse().ok()?;
    let mult = match unit.trim() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => KIB,
        "m" | "mb" | "mib" => MIB,
        "g" | "gb" | "gib" => GIB,
        _ => return None,
    };
    n.checked_mul(mult)
}

/// One rule: the model and all thresholds in, at most one insight out.
type Rule = fn(&Model, &Thresholds) -> Option<Insight>;

/// Run every enabled rule over the model. Sorted most severe first, then by kind order.
pub fn evaluate(model: &Model, th: &Thresholds) -> Vec<Insight> {
    let mut out: Vec<Insight> = Vec::new();
    let rules: [(bool, Rule); 12] = [
        (th.data_skew.enabled, |m, t| {
            stages::data_skew(m, &t.data_skew)
        }),
        (th.spill.enabled, |m, t| stages::spill(m, &t.spill)),
        (th.small_files.enabled, |m, t| {
            plans::small_files(m, &t.small_files)
        }),
        (th.task_failures.enabled, |m, t| {
            failures::task_failures(m, &t.task_failures)
        }),
        (th.job_failure.enabled, |m, t| {
            failures::job_failure(m, &t.job_failure)
        }),
        (th.tiny_tasks.enabled, |m, t| {
            stages::tiny_tasks(m, &t.tiny_tasks)
        }),
        (th.low_core_utilization.enabled, |m, t| {
            time::low_core_utilization(m, &t.low_core_utilization)
        }),
        (th.gc_pressure.enabled, |m, t| {
            stages::gc_pressure(m, &t.gc_pressure)
        }),
        (th.large_broadcast.enabled, |m, t| {
            plans::large_broadcast(m, &t.large_broadcast)
        }),
        (th.python_udf.enabled, |m, t| {
            plans::python_udf(m, &t.python_udf)
        }),
        (th.nested_loop_join.enabled, |m, t| {
            plans::nested_loop_join(m, &t.nested_loop_join)
        }),
        (th.driver_idle.enabled, |m, t| {
            time::driver_idle(m, &t.driver_idle)
        }),
    ];
    for (enabled, rule) in rules {
        if enabled {
            out.extend(rule(model, th));
        }
    }
    let order = |k: InsightKind| InsightKind::ALL.iter().position(|x| *x == k);
    out.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(order(a.kind).cmp(&order(b.kind)))
    });
    out
}

/// Builder used by the rules: keeps insight construction in one place.
pub(crate) struct Draft {
    insight: Insight,
}

impl Draft {
    pub(crate) fn new(kind: InsightKind, severity: Severity, title: impl Into<String>) -> Self {
        Self {
            insight: Insight {
                kind,
                severity,
                title: title.into(),
                message: String::new(),
                evidence: BTreeMap::new(),
                threshold: BTreeMap::new(),
            },
        }
    }

    pub(crate) fn message(mut self, m: impl Into<String>) -> Self {
        self.insight.message = m.into();
        self
    }

    pub(crate) fn evidence(mut self, name: &str, v: impl Into<Evidence>) -> Self {
        self.insight.evidence.insert(name.to_owned(), v.into());
        self
    }

    pub(crate) fn threshold(mut self, name: &str, v: f64) -> Self {
        self.insight.threshold.insert(name.to_owned(), v);
        self
    }

    pub(crate) fn build(self) -> Insight {
        self.insight
    }
}

/// Round a ratio for evidence (2 decimals).
pub(crate) fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// `a / b` with `b` floored at 1 (ratios of counts and bytes where the median may be 0).
pub(crate) fn ratio(a: u64, b: u64) -> f64 {
    a as f64 / b.max(1) as f64
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn defaults_roundtrip_through_toml() {
        let t = Thresholds::default();
        let s = t.to_toml_string();
        assert_eq!(Thresholds::from_toml_str(&s).unwrap(), t);
        assert_eq!(Thresholds::from_toml_str("").unwrap(), t);
    }

    #[test]
    fn config_overrides_and_rejects_unknown() {
        let t = Thresholds::from_toml_str("[data_skew]\nmin_duration_ratio = 8.0\n").unwrap();
        assert_eq!(t.data_skew.min_duration_ratio, 8.0);
        assert_eq!(t.data_skew.min_read_ratio, 5.0);
        assert!(Thresholds::from_toml_str("[data_skew]\nbogus = 1\n").is_err());
        assert!(Thresholds::from_toml_str("[bogus]\nx = 1\n").is_err());
    }

    #[test]
    fn set_parses_each_type() {
        let mut t = Thresholds::default();
        t.set("data_skew.min_duration_ratio=7.5").unwrap();
        t.set("spill.min_disk_spill_bytes=64m").unwrap();
        t.set("driver_idle.enabled=false").unwrap();
        t.set("gc_pressure.min_stage_run_time_ms = 100").unwrap();
        assert_eq!(t.data_skew.min_duration_ratio, 7.5);
        assert_eq!(t.spill.min_disk_spill_bytes, 64 * MIB);
        assert!(!t.driver_idle.enabled);
        assert_eq!(t.gc_pressure.min_stage_run_time_ms, 100);
        assert!(matches!(
            t.set("data_skew.nope=1"),
            Err(ThresholdError::Unknown(_))
        ));
        assert!(matches!(t.set("data_skew"), Err(ThresholdError::Syntax(_))));
        assert!(matches!(
            t.set("spill.min_disk_spill_bytes=-1"),
            Err(ThresholdError::Value { .. })
        ));
        assert!(matches!(
            t.set("data_skew.min_duration_ratio=abc"),
            Err(ThresholdError::Value { .. })
        ));
        assert!(t.names().iter().any(|(n, _)| n == "tiny_tasks.min_tasks"));
    }
}
