//! Per-task detail (`taskList`, `taskSummary`, `withSummaries`), re-read from the log on demand
//! so that only app-level aggregates stay in memory.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};
use sparkplane_eventlog::{events, Event};

use crate::time::format_gmt;

/// One task of one stage attempt, as SHS's `TaskData` holds it.
#[derive(Debug, Clone)]
pub struct TaskRow {
    pub task_id: i64,
    pub index: i64,
    pub attempt: i64,
    pub partition_id: i64,
    pub launch_time: i64,
    pub result_fetch_start: Option<i64>,
    pub finish_time: i64,
    pub executor_id: String,
    pub host: String,
    pub status: &'static str,
    pub locality: String,
    pub speculative: bool,
    pub error_message: Option<String>,
    pub metrics: Option<Metrics>,
    pub executor_metrics: Option<BTreeMap<String, i64>>,
}

/// Task metrics flattened (SHS `TaskMetrics`, push-merged fields are always 0 here).
#[derive(Debug, Clone, Copy, Default)]
pub struct Metrics {
    pub deser_time: i64,
    pub deser_cpu: i64,
    pub run_time: i64,
    pub cpu_time: i64,
    pub result_size: i64,
    pub gc_time: i64,
    pub ser_time: i64,
    pub mem_spill: i64,
    pub disk_spill: i64,
    pub peak_mem: i64,
    pub in_bytes: i64,
    pub in_records: i64,
    pub out_bytes: i64,
    pub out_records: i64,
    pub sr_remote_blocks: i64,
    pub sr_local_blocks: i64,
    pub sr_fetch_wait: i64,
    pub sr_remote_bytes: i64,
    pub sr_remote_disk: i64,
    pub sr_local_bytes: i64,
    pub sr_records: i64,
    pub sr_remote_reqs: i64,
    pub sw_bytes: i64,
    pub sw_time: i64,
    pub sw_records: i64,
}

impl Metrics {
    fn from(m: &events::TaskMetrics) -> Self {
        let g = |v: Option<i64>| v.unwrap_or(0);
        let sr = m.shuffle_read_metrics.clone().unwrap_or_default();
        let sw = m.shuffle_write_metrics.clone().unwrap_or_default();
        let i = m.input_metrics.clone().unwrap_or_default();
        let o = m.output_metrics.clone().unwrap_or_default();
        Self {
            deser_time: g(m.executor_deserialize_time),
            deser_cpu: g(m.executor_deserialize_cpu_time),
            run_time: g(m.executor_run_time),
            cpu_time: g(m.executor_cpu_time),
            result_size: g(m.result_size),
            gc_time: g(m.jvm_gc_time),
            ser_time: g(m.result_serialization_time),
            mem_spill: g(m.memory_bytes_spilled),
            disk_spill: g(m.disk_bytes_spilled),
            peak_mem: g(m.peak_execution_memory),
            in_bytes: g(i.bytes_read),
            in_records: g(i.records_read),
            out_bytes: g(o.bytes_written),
            out_records: g(o.records_written),
            sr_remote_blocks: g(sr.remote_blocks_fetched),
            sr_local_blocks: g(sr.local_blocks_fetched),
            sr_fetch_wait: g(sr.fetch_wait_time),
            sr_remote_bytes: g(sr.remote_bytes_read),
            sr_remote_disk: g(sr.remote_bytes_read_to_disk),
            sr_local_bytes: g(sr.local_bytes_read),
            sr_records: g(sr.total_records_read),
            sr_remote_reqs: g(sr.remote_requests_duration),
            sw_bytes: g(sw.shuffle_bytes_written),
            sw_time: g(sw.shuffle_write_time),
            sw_records: g(sw.shuffle_records_written),
        }
    }

    fn to_json(self) -> Value {
        json!({
            "executorDeserializeTime": self.deser_time,
            "executorDeserializeCpuTime": self.deser_cpu,
            "executorRunTime": self.run_time,
            "executorCpuTime": self.cpu_time,
            "resultSize": self.result_size,
            "jvmGcTime": self.gc_time,
            "resultSerializationTime": self.ser_time,
            "memoryBytesSpilled": self.mem_spill,
            "diskBytesSpilled": self.disk_spill,
            "peakExecutionMemory": self.peak_mem,
            "inputMetrics": {"bytesRead": self.in_bytes, "recordsRead": self.in_records},
            "outputMetrics": {"bytesWritten": self.out_bytes, "recordsWritten": self.out_records},
            "shuffleReadMetrics": {
                "remoteBlocksFetched": self.sr_remote_blocks,
                "localBlocksFetched": self.sr_local_blocks,
                "fetchWaitTime": self.sr_fetch_wait,
                "remoteBytesRead": self.sr_remote_bytes,
                "remoteBytesReadToDisk": self.sr_remote_disk,
                "localBytesRead": self.sr_local_bytes,
                "recordsRead": self.sr_records,
                "remoteReqsDuration": self.sr_remote_reqs,
                "shufflePushReadMetrics": push_zeros(),
            },
            "shuffleWriteMetrics": {
                "bytesWritten": self.sw_bytes,
                "writeTime": self.sw_time,
                "recordsWritten": self.sw_records,
            },
        })
    }
}

fn push_zeros() -> Value {
    json!({
        "corruptMergedBlockChunks": 0, "mergedFetchFallbackCount": 0,
        "remoteMergedBlocksFetched": 0, "localMergedBlocksFetched": 0,
        "remoteMergedChunksFetched": 0, "localMergedChunksFetched": 0,
        "remoteMergedBytesRead": 0, "localMergedBytesRead": 0, "remoteMergedReqsDuration": 0,
    })
}

impl TaskRow {
    /// `duration` as SHS computes it: a task still running at the end of the log has run
    /// until the log's last update (`last_updated`, epoch ms).
    pub fn duration(&self, last_updated: i64) -> i64 {
        if self.finish_time > 0 {
            self.finish_time - self.launch_time
        } else {
            last_updated - self.launch_time
        }
    }

    fn getting_result_time(&self, last_updated: i64) -> i64 {
        match (self.result_fetch_start, Some(self.duration(last_updated))) {
            (Some(f), Some(d)) if f > 0 && d > 0 => self.launch_time + d - f,
            _ => 0,
        }
    }

    fn scheduler_delay(&self, lu: i64) -> i64 {
        match &self.metrics {
            Some(m) => {
                let d = self.duration(lu);
                (d - m.run_time - m.deser_time - m.ser_time - self.getting_result_time(lu)).max(0)
            }
            None => 0,
        }
    }

    /// SHS `TaskData` JSON.
    pub fn to_json(&self, executor_logs: &BTreeMap<String, String>, lu: i64) -> Value {
        let mut m = Map::new();
        m.insert("taskId".into(), json!(self.task_id));
        m.insert("index".into(), json!(self.index));
        m.insert("attempt".into(), json!(self.attempt));
        m.insert("partitionId".into(), json!(self.partition_id));
        m.insert("launchTime".into(), json!(format_gmt(self.launch_time)));
        if let Some(f) = self.result_fetch_start.filter(|f| *f > 0) {
            m.insert("resultFetchStart".into(), json!(format_gmt(f)));
        }
        m.insert("duration".into(), json!(self.duration(lu)));
        m.insert("executorId".into(), json!(self.executor_id));
        m.insert("host".into(), json!(self.host));
        m.insert("status".into(), json!(self.status));
        m.insert("taskLocality".into(), json!(self.locality));
        m.insert("speculative".into(), json!(self.speculative));
        m.insert("accumulatorUpdates".into(), json!([]));
        if let Some(e) = &self.error_message {
            m.insert("errorMessage".into(), json!(e));
        }
        if let Some(x) = &self.metrics {
            m.insert("taskMetrics".into(), x.to_json());
        }
        m.insert("executorLogs".into(), json!(executor_logs));
        m.insert("schedulerDelay".into(), json!(self.scheduler_delay(lu)));
        m.insert(
            "gettingResultTime".into(),
            json!(self.getting_result_time(lu)),
        );
        Value::Object(m)
    }
}

/// Spark's `TaskEndReason.toErrorString` for the reasons an event log carries.
fn error_message(line: &[u8], reason: &str) -> Option<String> {
    let v: Value = serde_json::from_slice(line).ok()?;
    let r = v.get("Task End Reason")?;
    let s = |k: &str| r.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    Some(match reason {
        "Success" => return None,
        "TaskKilled" => s("Kill Reason"),
        "ExceptionFailure" => {
            let full = s("Full Stack Trace");
            if full.is_empty() {
                format!("{}: {}", s("Class Name"), s("Description"))
            } else {
                full
            }
        }
        "FetchFailed" => {
            let bm = r.get("Block Manager Address");
            let bms = bm.map_or_else(
                || "null".to_owned(),
                |b| {
                    format!(
                        "BlockManagerId({}, {}, {}, None)",
                        b.get("Executor ID").and_then(Value::as_str).unwrap_or(""),
                        b.get("Host").and_then(Value::as_str).unwrap_or(""),
                        b.get("Port").and_then(Value::as_i64).unwrap_or(0)
                    )
                },
            );
            format!(
                "FetchFailed({bms}, shuffleId={}, mapIndex={}, mapId={}, reduceId={}, message=\n{}\n)",
                r.get("Shuffle ID").and_then(Value::as_i64).unwrap_or(0),
                r.get("Map Index").and_then(Value::as_i64).unwrap_or(0),
                r.get("Map ID").and_then(Value::as_i64).unwrap_or(0),
                r.get("Reduce ID").and_then(Value::as_i64).unwrap_or(0),
                s("Message")
            )
        }
        "ExecutorLostFailure" => {
            let by_app = r
                .get("Exit Caused By App")
                .and_then(Value::as_bool)
                .unwrap_or(true);
            let why = if by_app {
                "caused by one of the running tasks"
            } else {
                "unrelated to the running tasks"
            };
            format!(
                "ExecutorLostFailure (executor {} exited {why}) Reason: {}",
                s("Executor ID"),
                s("Loss Reason")
            )
        }
        "TaskResultLost" => "TaskResultLost (result lost from block manager)".to_owned(),
        "Resubmitted" => "Resubmitted (resubmitted due to lost executor)".to_owned(),
        "TaskCommitDenied" => format!(
            "TaskCommitDenied (Driver denied task commit) for job: {}, partition: {}, attemptNumber: {}",
            r.get("Job ID").and_then(Value::as_i64).unwrap_or(0),
            r.get("Partition ID").and_then(Value::as_i64).unwrap_or(0),
            r.get("Attempt Number").and_then(Value::as_i64).unwrap_or(0)
        ),
        _ => "UnknownReason".to_owned(),
    })
}

/// Tasks of the stage attempts selected by `want`, keyed by (stage, attempt), plus the peak
/// executor metrics per (stage, attempt, executor) from `SparkListenerStageExecutorMetrics`.
#[derive(Debug, Default)]
pub struct StageTasks {
    pub tasks: BTreeMap<(i64, i64), Vec<TaskRow>>,
    pub exec_peaks: BTreeMap<(i64, i64, String), BTreeMap<String, i64>>,
}

/// Re-reads `log` and collects tasks of the stage attempts `want` accepts.
pub fn read_tasks(
    log: &sparkplane_eventlog::EventLog,
    want: &dyn Fn(i64, i64) -> bool,
) -> StageTasks {
    let mut out = StageTasks::default();
    let mut live: BTreeMap<i64, ((i64, i64), usize)> = BTreeMap::new();
    let _ = log.for_each_raw(|name, line| {
        use events::names as n;
        if name != n::TASK_START
            && name != n::TASK_END
            && name != n::TASK_GETTING_RESULT
            && name != n::STAGE_EXECUTOR_METRICS
        {
            return;
        }
        let Ok((_, ev)) = sparkplane_eventlog::parse_line(line) else {
            return;
        };
        match ev {
            Event::TaskStart(t) => {
                let key = (t.stage_id, t.stage_attempt_id.unwrap_or(0));
                if !want(key.0, key.1) {
                    return;
                }
                let i = &t.task_info;
                let v = out.tasks.entry(key).or_default();
                live.insert(i.task_id, (key, v.len()));
                v.push(TaskRow {
                    task_id: i.task_id,
                    index: i.index,
                    attempt: i.attempt,
                    partition_id: i.partition_id.unwrap_or(-1),
                    launch_time: i.launch_time,
                    result_fetch_start: None,
                    finish_time: 0,
                    executor_id: i.executor_id.to_string(),
                    host: i.host.to_string(),
                    status: "RUNNING",
                    locality: i.locality.to_string(),
                    speculative: i.speculative,
                    error_message: None,
                    metrics: None,
                    executor_metrics: None,
                });
            }
            Event::TaskGettingResult(t) => {
                if let Some((key, pos)) = live.get(&t.task_info.task_id) {
                    if let Some(r) = out.tasks.get_mut(key).and_then(|v| v.get_mut(*pos)) {
                        r.result_fetch_start = Some(t.task_info.getting_result_time);
                        r.status = "GET RESULT";
                    }
                }
            }
            Event::TaskEnd(t) => {
                let Some((key, pos)) = live.remove(&t.task_info.task_id) else {
                    return;
                };
                let Some(r) = out.tasks.get_mut(&key).and_then(|v| v.get_mut(pos)) else {
                    return;
                };
                let i = &t.task_info;
                let reason = t.task_end_reason.reason.as_ref();
                r.finish_time = i.finish_time;
                if i.getting_result_time > 0 {
                    r.result_fetch_start = Some(i.getting_result_time);
                }
                r.status = if i.failed {
                    "FAILED"
                } else if i.killed.unwrap_or(false) {
                    "KILLED"
                } else {
                    "SUCCESS"
                };
                r.error_message = error_message(line, reason);
                r.metrics = t.task_metrics.as_ref().map(Metrics::from);
                r.executor_metrics = t
                    .task_executor_metrics
                    .as_ref()
                    .map(|m| m.iter().map(|(k, v)| (k.to_owned(), v)).collect());
            }
            Event::StageExecutorMetrics(m) => {
                let key = (m.stage_id, m.stage_attempt_id.unwrap_or(0));
                if !want(key.0, key.1) {
                    return;
                }
                let e = out
                    .exec_peaks
                    .entry((key.0, key.1, m.executor_id.to_string()))
                    .or_default();
                for (k, v) in m.executor_metrics.iter() {
                    let x = e.entry(k.to_owned()).or_insert(0);
                    *x = (*x).max(v);
                }
            }
            _ => {}
        }
    });
    out
}

fn pick(sorted: &[f64], quantiles: &[f64]) -> Vec<f64> {
    let n = sorted.len();
    if n == 0 {
        return vec![0.0; quantiles.len()];
    }
    quantiles
        .iter()
        .map(|q| {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let i = ((q * n as f64) as usize).min(n - 1);
            sorted[i]
        })
        .collect()
}

#[allow(clippy::cast_precision_loss)]
fn dist<T>(rows: &[T], quantiles: &[f64], f: impl Fn(&T) -> i64) -> Value {
    let mut v: Vec<f64> = rows.iter().map(|r| f(r) as f64).collect();
    v.sort_by(f64::total_cmp);
    json!(pick(&v, quantiles))
}

/// `TaskMetricDistributions` over the successful tasks with metrics (`None` when there are
/// none, like SHS).
pub fn task_summary(tasks: &[TaskRow], quantiles: &[f64], lu: i64) -> Option<Value> {
    struct S<'a> {
        t: &'a TaskRow,
        m: Metrics,
    }
    let rows: Vec<S<'_>> = tasks
        .iter()
        .filter(|t| t.status == "SUCCESS")
        .filter_map(|t| t.metrics.map(|m| S { t, m }))
        .collect();
    if rows.is_empty() {
        return None;
    }
    let d = |f: &dyn Fn(&S<'_>) -> i64| dist(&rows, quantiles, f);
    // SHS's duration index holds every task (failed and killed ones too), while the quantile
    // positions come from the number of successful tasks.
    #[allow(clippy::cast_precision_loss)]
    let over_all = |f: &dyn Fn(&TaskRow) -> Option<i64>| {
        let mut all: Vec<f64> = tasks.iter().filter_map(f).map(|v| v as f64).collect();
        all.sort_by(f64::total_cmp);
        let n = rows.len();
        json!(quantiles
            .iter()
            .map(|q| {
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                let i = ((q * n as f64) as usize).min(n - 1);
                all.get(i).copied().unwrap_or(f64::NAN)
            })
            .collect::<Vec<f64>>())
    };
    let duration = over_all(&|t| Some(t.duration(lu)));
    let zeros = json!(vec![0.0; quantiles.len()]);
    Some(json!({
        "quantiles": quantiles,
        "duration": duration,
        "executorDeserializeTime": d(&|s| s.m.deser_time),
        "executorDeserializeCpuTime": d(&|s| s.m.deser_cpu),
        "executorRunTime": d(&|s| s.m.run_time),
        "executorCpuTime": d(&|s| s.m.cpu_time),
        "resultSize": d(&|s| s.m.result_size),
        "jvmGcTime": d(&|s| s.m.gc_time),
        "resultSerializationTime": d(&|s| s.m.ser_time),
        "gettingResultTime": d(&|s| s.t.getting_result_time(lu)),
        // Tasks without metrics (still running) are not in SHS's scheduler-delay index.
        "schedulerDelay": over_all(&|t| t.metrics.map(|_| t.scheduler_delay(lu))),
        "peakExecutionMemory": d(&|s| s.m.peak_mem),
        "memoryBytesSpilled": d(&|s| s.m.mem_spill),
        "diskBytesSpilled": d(&|s| s.m.disk_spill),
        "inputMetrics": {
            "bytesRead": d(&|s| s.m.in_bytes),
            "recordsRead": d(&|s| s.m.in_records),
        },
        "outputMetrics": {
            "bytesWritten": d(&|s| s.m.out_bytes),
            "recordsWritten": d(&|s| s.m.out_records),
        },
        "shuffleReadMetrics": {
            "readBytes": d(&|s| s.m.sr_local_bytes + s.m.sr_remote_bytes),
            "readRecords": d(&|s| s.m.sr_records),
            "remoteBlocksFetched": d(&|s| s.m.sr_remote_blocks),
            "localBlocksFetched": d(&|s| s.m.sr_local_blocks),
            "fetchWaitTime": d(&|s| s.m.sr_fetch_wait),
            "remoteBytesRead": d(&|s| s.m.sr_remote_bytes),
            "remoteBytesReadToDisk": d(&|s| s.m.sr_remote_disk),
            "totalBlocksFetched": d(&|s| s.m.sr_local_blocks + s.m.sr_remote_blocks),
            "remoteReqsDuration": d(&|s| s.m.sr_remote_reqs),
            "shufflePushReadMetricsDist": {
                "corruptMergedBlockChunks": zeros, "mergedFetchFallbackCount": zeros,
                "remoteMergedBlocksFetched": zeros, "localMergedBlocksFetched": zeros,
                "remoteMergedChunksFetched": zeros, "localMergedChunksFetched": zeros,
                "remoteMergedBytesRead": zeros, "localMergedBytesRead": zeros,
                "remoteMergedReqsDuration": zeros,
            },
        },
        "shuffleWriteMetrics": {
            "writeBytes": d(&|s| s.m.sw_bytes),
            "writeRecords": d(&|s| s.m.sw_records),
            "writeTime": d(&|s| s.m.sw_time),
        },
    }))
}

/// One executor's share of a stage (`ExecutorStageSummary`, the fields distributions use).
#[derive(Debug, Default, Clone)]
struct ExecStage {
    task_time: i64,
    failed: i64,
    succeeded: i64,
    killed: i64,
    m: Metrics,
    peaks: Option<BTreeMap<String, i64>>,
}

fn exec_stage_summaries(st: &StageTasks, key: (i64, i64), lu: i64) -> BTreeMap<String, ExecStage> {
    let mut per: BTreeMap<String, ExecStage> = BTreeMap::new();
    for t in st.tasks.get(&key).map(Vec::as_slice).unwrap_or(&[]) {
        if t.finish_time <= 0 {
            continue;
        }
        let e = per.entry(t.executor_id.clone()).or_default();
        e.task_time += t.duration(lu);
        match t.status {
            "SUCCESS" => e.succeeded += 1,
            "KILLED" => e.killed += 1,
            _ => e.failed += 1,
        }
        if let Some(tem) = &t.executor_metrics {
            let p = e.peaks.get_or_insert_with(BTreeMap::new);
            for (k, v) in tem {
                let x = p.entry(k.clone()).or_insert(0);
                *x = (*x).max(*v);
            }
        }
        if let Some(m) = t.metrics {
            let x = &mut e.m;
            x.in_bytes += m.in_bytes;
            x.in_records += m.in_records;
            x.out_bytes += m.out_bytes;
            x.out_records += m.out_records;
            x.sr_local_bytes += m.sr_local_bytes + m.sr_remote_bytes;
            x.sr_records += m.sr_records;
            x.sw_bytes += m.sw_bytes;
            x.sw_records += m.sw_records;
            x.mem_spill += m.mem_spill;
            x.disk_spill += m.disk_spill;
        }
    }
    for ((s, a, ex), p) in &st.exec_peaks {
        if (*s, *a) == key {
            let e = per.entry(ex.clone()).or_default();
            let q = e.peaks.get_or_insert_with(BTreeMap::new);
            for (k, v) in p {
                let x = q.entry(k.clone()).or_insert(0);
                *x = (*x).max(*v);
            }
        }
    }
    per
}

/// `ExecutorStageSummary` per executor (`stages/{id}?details=true`'s `executorSummary`).
pub fn executor_summaries(st: &StageTasks, key: (i64, i64), lu: i64) -> Value {
    let per = exec_stage_summaries(st, key, lu);
    let mut out = Map::new();
    for (id, e) in per {
        let mut m = Map::new();
        m.insert("taskTime".into(), json!(e.task_time));
        m.insert("failedTasks".into(), json!(e.failed));
        m.insert("succeededTasks".into(), json!(e.succeeded));
        m.insert("killedTasks".into(), json!(e.killed));
        m.insert("inputBytes".into(), json!(e.m.in_bytes));
        m.insert("inputRecords".into(), json!(e.m.in_records));
        m.insert("outputBytes".into(), json!(e.m.out_bytes));
        m.insert("outputRecords".into(), json!(e.m.out_records));
        m.insert("shuffleRead".into(), json!(e.m.sr_local_bytes));
        m.insert("shuffleReadRecords".into(), json!(e.m.sr_records));
        m.insert("shuffleWrite".into(), json!(e.m.sw_bytes));
        m.insert("shuffleWriteRecords".into(), json!(e.m.sw_records));
        m.insert("memoryBytesSpilled".into(), json!(e.m.mem_spill));
        m.insert("diskBytesSpilled".into(), json!(e.m.disk_spill));
        m.insert("isBlacklistedForStage".into(), json!(false));
        if let Some(p) = &e.peaks {
            m.insert("peakMemoryMetrics".into(), json!(p));
        }
        m.insert("isExcludedForStage".into(), json!(false));
        out.insert(id, Value::Object(m));
    }
    Value::Object(out)
}

/// `ExecutorMetricsDistributions` of one stage attempt.
pub fn executor_distributions(
    st: &StageTasks,
    key: (i64, i64),
    quantiles: &[f64],
    lu: i64,
) -> Option<Value> {
    let per = exec_stage_summaries(st, key, lu);
    let mut names: Vec<String> = Vec::new();
    for e in per.values() {
        for k in e.peaks.iter().flat_map(BTreeMap::keys) {
            if !names.contains(k) {
                names.push(k.clone());
            }
        }
    }
    if per.is_empty() {
        return None;
    }
    let rows: Vec<ExecStage> = per.into_values().collect();
    let d = |f: &dyn Fn(&ExecStage) -> i64| dist(&rows, quantiles, f);
    let mut peak = Map::new();
    names.sort();
    for n in &names {
        peak.insert(
            n.clone(),
            d(&|e| {
                e.peaks
                    .as_ref()
                    .and_then(|p| p.get(n).copied())
                    .unwrap_or(0)
            }),
        );
    }
    Some(json!({
        "quantiles": quantiles,
        "taskTime": d(&|e| e.task_time),
        "failedTasks": d(&|e| e.failed),
        "succeededTasks": d(&|e| e.succeeded),
        "killedTasks": d(&|e| e.killed),
        "inputBytes": d(&|e| e.m.in_bytes),
        "inputRecords": d(&|e| e.m.in_records),
        "outputBytes": d(&|e| e.m.out_bytes),
        "outputRecords": d(&|e| e.m.out_records),
        "shuffleRead": d(&|e| e.m.sr_local_bytes),
        "shuffleReadRecords": d(&|e| e.m.sr_records),
        "shuffleWrite": d(&|e| e.m.sw_bytes),
        "shuffleWriteRecords": d(&|e| e.m.sw_records),
        "memoryBytesSpilled": d(&|e| e.m.mem_spill),
        "diskBytesSpilled": d(&|e| e.m.disk_spill),
        "peakMemoryMetrics": peak,
    }))
}
