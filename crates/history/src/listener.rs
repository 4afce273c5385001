//! A port of Spark's `AppStatusListener` (replay mode): folds one application's events into the
//! live entities SHS keeps, then renders them as [`crate::model`] shapes.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use serde_json::Value;
use sparkplane_eventlog::AccumValue;
use sparkplane_eventlog::{events, Event};

use crate::model::{
    AccumulableInfo, ExecutorSummary, JobData, MemoryMetrics, StageData, StageMetrics,
};
use crate::time::format_gmt;

const JOB_DESCRIPTION: &str = "spark.job.description";
const JOB_GROUP: &str = "spark.jobGroup.id";
const JOB_TAGS: &str = "spark.job.tags";
const SCHEDULER_POOL: &str = "spark.scheduler.pool";
const SQL_EVENT_PREFIX: &str = "org.apache.spark.sql.execution.ui.";

/// Peak executor metrics (`ExecutorMetrics`): unset until the first update.
#[derive(Debug, Clone, Default)]
struct Peaks(Option<BTreeMap<String, i64>>);

impl Peaks {
    fn update<'a>(&mut self, it: impl Iterator<Item = (&'a str, i64)>) {
        let m = self.0.get_or_insert_with(BTreeMap::new);
        for (k, v) in it {
            // Look up before inserting: the keys repeat for every task (no allocation then).
            match m.get_mut(k) {
                Some(e) => *e = (*e).max(v),
                None => {
                    m.insert(k.to_owned(), v.max(0));
                }
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StageStatus {
    Pending,
    Active,
    Complete,
    Failed,
    Skipped,
}

impl StageStatus {
    fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Active => "ACTIVE",
            Self::Complete => "COMPLETE",
            Self::Failed => "FAILED",
            Self::Skipped => "SKIPPED",
        }
    }
}

#[derive(Debug, Clone)]
struct StageInfoOwned {
    name: String,
    num_tasks: i64,
    rdd_ids: Vec<i64>,
    details: String,
    submission_time: Option<i64>,
    completion_time: Option<i64>,
    failure_reason: Option<String>,
    accumulables: Vec<AccumulableInfo>,
    resource_profile_id: i64,
}

fn accum_str(v: &AccumValue<'_>) -> String {
    match v {
        AccumValue::Int(n) => n.to_string(),
        AccumValue::Float(f) => f.to_string(),
        AccumValue::Bool(b) => b.to_string(),
        AccumValue::Str(s) => s.to_string(),
        AccumValue::Other => String::new(),
    }
}

impl StageInfoOwned {
    fn from(i: &events::StageInfo<'_>) -> Self {
        let mut accumulables: Vec<AccumulableInfo> = i
            .accumulables
            .iter()
            .filter(|a| !a.internal.unwrap_or(false) && a.metadata.as_deref() != Some("sql"))
            .map(|a| AccumulableInfo {
                id: a.id,
                name: a.name.as_deref().unwrap_or("").to_owned(),
                update: a.update.as_ref().map(accum_str),
                value: a.value.as_ref().map(accum_str).unwrap_or_default(),
            })
            .collect();
        accumulables.sort_by_key(|a| a.id);
        Self {
            name: i.stage_name.to_string(),
            num_tasks: i.number_of_tasks,
            rdd_ids: i.rdd_info.iter().map(|r| r.rdd_id).collect(),
            details: i.details.as_deref().unwrap_or("").to_owned(),
            submission_time: i.submission_time,
            completion_time: i.completion_time,
            failure_reason: i.failure_reason.as_deref().map(str::to_owned),
            accumulables,
            resource_profile_id: i.resource_profile_id.unwrap_or(0),
        }
    }
}

#[derive(Debug, Clone)]
struct LiveStage {
    id: i64,
    attempt: i64,
    info: StageInfoOwned,
    status: StageStatus,
    jobs: Vec<i64>,
    description: Option<String>,
    scheduling_pool: String,
    active_tasks: i64,
    completed_tasks: i64,
    failed_tasks: i64,
    killed_tasks: i64,
    completed_indices: HashSet<i64>,
    first_launch_time: i64,
    metrics: StageMetrics,
    killed_summary: BTreeMap<String, i64>,
    peaks: Peaks,
    /// `LiveSpeculationStageSummary` (tasks, active, completed, failed, killed), once a
    /// speculative task started.
    speculation: Option<[i64; 5]>,
    /// Still in `liveStages` (receives task updates).
    live: bool,
}

impl LiveStage {
    /// A stage attempt as `LiveStage`'s constructor makes it in Spark: pending, no tasks yet.
    fn fresh((id, attempt): (i64, i64), info: StageInfoOwned) -> LiveStage {
        LiveStage {
            id,
            attempt,
            info,
            status: StageStatus::Pending,
            jobs: Vec::new(),
            description: None,
            scheduling_pool: "default".to_owned(),
            active_tasks: 0,
            completed_tasks: 0,
            failed_tasks: 0,
            killed_tasks: 0,
            completed_indices: HashSet::new(),
            first_launch_time: i64::MAX,
            metrics: StageMetrics::default(),
            killed_summary: BTreeMap::new(),
            peaks: Peaks::default(),
            speculation: None,
            live: true,
        }
    }
}

#[derive(Debug, Clone)]
struct LiveJob {
    id: i64,
    name: String,
    description: Option<String>,
    submission_time: Option<i64>,
    completion_time: Option<i64>,
    stage_ids: Vec<i64>,
    job_group: Option<String>,
    job_tags: Vec<String>,
    status: &'static str,
    num_tasks: i64,
    active_tasks: i64,
    completed_tasks: i64,
    skipped_tasks: i64,
    failed_tasks: i64,
    killed_tasks: i64,
    completed_indices: HashSet<(i64, i64)>,
    active_stages: i64,
    completed_stages: BTreeSet<i64>,
    skipped_stages: BTreeSet<i64>,
    failed_stages: i64,
    killed_summary: BTreeMap<String, i64>,
    live: bool,
}

#[derive(Debug, Clone, Default)]
struct LiveExecutor {
    id: String,
    add_time: i64,
    host: String,
    host_port: Option<String>,
    is_active: bool,
    total_cores: i64,
    max_tasks: i64,
    active_tasks: i64,
    failed_tasks: i64,
    completed_tasks: i64,
    total_tasks: i64,
    total_duration: i64,
    total_gc_time: i64,
    total_input_bytes: i64,
    total_shuffle_read: i64,
    total_shuffle_write: i64,
    max_memory: i64,
    total_on_heap: i64,
    total_off_heap: i64,
    remove_time: Option<i64>,
    remove_reason: Option<String>,
    executor_logs: BTreeMap<String, String>,
    attributes: BTreeMap<String, String>,
    resources: BTreeMap<String, Value>,
    resource_profile_id: i64,
    is_excluded: bool,
    excluded_in_stages: BTreeSet<i64>,
    peaks: Peaks,
}

/// What `/applications` says about an attempt, as `FsHistoryProvider`'s listing computes it.
#[derive(Debug, Clone, Default)]
pub struct AttemptListing {
    pub app_id: Option<String>,
    pub app_name: String,
    pub attempt_id: Option<String>,
    pub start_time: i64,
    pub end_time: Option<i64>,
    pub spark_user: String,
    pub spark_version: String,
    pub exit_code: Option<i64>,
}

/// One application folded from its events.
#[derive(Debug, Default)]
pub struct AppState {
    pub listing: AttemptListing,
    stages: BTreeMap<(i64, i64), LiveStage>,
    jobs: BTreeMap<i64, LiveJob>,
    executors: BTreeMap<String, LiveExecutor>,
    default_cpus_per_task: i64,
    resource_profiles: BTreeMap<i64, Value>,
    /// Raw `SparkListenerEnvironmentUpdate` (the newest).
    environment: Option<Value>,
    cpus_per_rp: HashMap<i64, i64>,
    /// SQL executions (`SQLAppStatusListener`).
    pub sql: crate::sql::SqlState,
}

fn tags(props: &sparkplane_eventlog::StrMap<'_>) -> Vec<String> {
    let set: BTreeSet<String> = props
        .get(JOB_TAGS)
        .map(|t| {
            t.split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    set.into_iter().collect()
}

impl AppState {
    /// A new, empty application.
    pub fn new() -> Self {
        Self {
            default_cpus_per_task: 1,
            ..Self::default()
        }
    }

    /// Folds one raw event line (name already extracted).
    pub fn on_line(&mut self, name: &str, line: &[u8]) {
        match name {
            events::names::RESOURCE_PROFILE_ADDED => {
                if let Ok(v) = serde_json::from_slice::<Value>(line) {
                    self.on_resource_profile(&v);
                }
                return;
            }
            events::names::ENVIRONMENT_UPDATE => {
                if let Ok(v) = serde_json::from_slice::<Value>(line) {
                    if let Some(c) = v
                        .pointer("/Spark Properties/spark.task.cpus")
                        .and_then(Value::as_str)
                        .and_then(|s| s.parse().ok())
                    {
                        self.default_cpus_per_task = c;
                    }
                    self.environment = Some(v);
                }
                return;
            }
            events::names::EXECUTOR_ADDED => {
                if let Ok(v) = serde_json::from_slice::<Value>(line) {
                    self.on_executor_added(&v);
                }
                return;
            }
            n if n.starts_with(SQL_EVENT_PREFIX) => {
                if let Ok(v) = serde_json::from_slice::<Value>(line) {
                    self.sql.on_sql_event(n, &v);
                }
                return;
            }
            _ => {}
        }
        if let Ok((_, ev)) = sparkplane_eventlog::parse_line(line) {
            self.on_event(ev);
        }
    }

    fn on_resource_profile(&mut self, v: &Value) {
        let id = v
            .get("Resource Profile Id")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        let mut exec = serde_json::Map::new();
        if let Some(m) = v
            .get("Executor Resource Requests")
            .and_then(Value::as_object)
        {
            for (k, r) in m {
                exec.insert(
                    k.clone(),
                    serde_json::json!({
                        "resourceName": r.get("Resource Name").cloned().unwrap_or(Value::Null),
                        "amount": r.get("Amount").cloned().unwrap_or(Value::Null),
                        "discoveryScript": r.get("Discovery Script").cloned().unwrap_or(Value::Null),
                        "vendor": r.get("Vendor").cloned().unwrap_or(Value::Null),
                    }),
                );
            }
        }
        let mut task = serde_json::Map::new();
        if let Some(m) = v.get("Task Resource Requests").and_then(Value::as_object) {
            for (k, r) in m {
                let amount = r.get("Amount").and_then(Value::as_f64).unwrap_or(0.0);
                if k == "cpus" {
                    #[allow(clippy::cast_possible_truncation)]
                    self.cpus_per_rp.insert(id, amount as i64);
                }
                task.insert(
                    k.clone(),
                    serde_json::json!({
                        "resourceName": r.get("Resource Name").cloned().unwrap_or(Value::Null),
                        "amount": amount,
                    }),
                );
            }
        }
        self.resource_profiles.insert(
            id,
            serde_json::json!({"id": id, "executorResources": exec, "taskResources": task}),
        );
    }

    fn executor(&mut self, id: &str, time: i64) -> &mut LiveExecutor {
        self.executors
            .entry(id.to_owned())
            .or_insert_with(|| LiveExecutor {
                id: id.to_owned(),
                add_time: time,
                total_on_heap: -1,
                total_off_heap: 0,
                ..LiveExecutor::default()
            })
    }

    fn on_executor_added(&mut self, v: &Value) {
        let Some(id) = v.get("Executor ID").and_then(Value::as_str) else {
            return;
        };
        let time = v.get("Timestamp").and_then(Value::as_i64).unwrap_or(0);
        let info = v.get("Executor Info").cloned().unwrap_or(Value::Null);
        let rp = info
            .get("Resource Profile Id")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        let cpus = self
            .cpus_per_rp
            .get(&rp)
            .copied()
            .unwrap_or(self.default_cpus_per_task)
            .max(1);
        let str_map = |key: &str| -> BTreeMap<String, String> {
            info.get(key)
                .and_then(Value::as_object)
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_owned()))
                        .collect()
                })
                .unwrap_or_default()
        };
        let logs = str_map("Log Urls");
        let attributes = str_map("Attributes");
        let resources: BTreeMap<String, Value> = info
            .get("Resources")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .map(|(k, r)| {
                        (
                            k.clone(),
                            serde_json::json!({
                                "name": r.get("name").cloned().unwrap_or(Value::Null),
                                "addresses": r.get("addresses").cloned().unwrap_or(Value::Null),
                            }),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let exec = self.executor(id, time);
        exec.host = info
            .get("Host")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        exec.is_active = true;
        exec.total_cores = info.get("Total Cores").and_then(Value::as_i64).unwrap_or(0);
        exec.max_tasks = exec.total_cores / cpus;
        exec.executor_logs = logs;
        exec.attributes = attributes;
        exec.resources = resources;
        exec.resource_profile_id = rp;
    }

    fn on_event(&mut self, ev: Event<'_>) {
        match ev {
            Event::LogStart(l) => self.listing.spark_version = l.spark_version.to_string(),
            Event::ApplicationStart(a) => {
                self.listing.app_id = a.app_id.as_deref().map(str::to_owned);
                self.listing.app_name = a.app_name.to_string();
                self.listing.attempt_id = a.app_attempt_id.as_deref().map(str::to_owned);
                self.listing.start_time = a.timestamp;
                self.listing.spark_user = a.user.as_deref().unwrap_or("").to_owned();
                if let Some(logs) = a.driver_logs {
                    if let Some(d) = self.executors.get_mut("driver") {
                        d.executor_logs = logs
                            .iter()
                            .map(|(k, v)| (k.to_owned(), v.to_owned()))
                            .collect();
                    }
                }
            }
            Event::ApplicationEnd(e) => {
                self.listing.end_time = Some(e.timestamp);
                self.listing.exit_code = e.exit_code;
            }
            Event::JobStart(j) => {
                self.on_job_start(&j);
                self.sql.on_job_start(&j);
            }
            Event::JobEnd(j) => {
                self.on_job_end(&j);
                self.sql.on_job_end(&j);
            }
            Event::StageSubmitted(s) => {
                self.on_stage_submitted(&s);
                self.sql.on_stage_submitted(&s.stage_info);
            }
            Event::StageCompleted(s) => self.on_stage_completed(&s),
            Event::TaskStart(t) => {
                self.on_task_start(&t);
                self.sql.on_task_start(&t);
            }
            Event::TaskEnd(t) => {
                self.on_task_end(&t);
                self.sql.on_task_end(&t);
            }
            Event::ExecutorRemoved(e) => {
                if let Some(x) = self.executors.get_mut(e.executor_id.as_ref()) {
                    if x.is_active {
                        x.is_active = false;
                        x.remove_time = Some(e.timestamp);
                        x.remove_reason = e.removed_reason.as_deref().map(str::to_owned);
                    }
                }
            }
            Event::BlockManagerAdded(b) => {
                let time = b.timestamp.unwrap_or(0);
                let exec = self.executor(&b.block_manager_id.executor_id, time);
                exec.host_port = Some(match b.block_manager_id.port {
                    Some(p) => format!("{}:{}", b.block_manager_id.host, p),
                    None => b.block_manager_id.host.to_string(),
                });
                if let Some(on) = b.maximum_onheap_memory {
                    exec.total_on_heap = on;
                    exec.total_off_heap = b.maximum_offheap_memory.unwrap_or(0);
                }
                exec.is_active = true;
                exec.max_memory = b.maximum_memory.unwrap_or(0);
            }
            Event::StageExecutorMetrics(m) => {
                if let Some(x) = self.executors.get_mut(m.executor_id.as_ref()) {
                    x.peaks.update(m.executor_metrics.iter());
                }
                let key = (m.stage_id, m.stage_attempt_id.unwrap_or(0));
                if let Some(s) = self.stages.get_mut(&key).filter(|s| s.live) {
                    s.peaks.update(m.executor_metrics.iter());
                }
            }
            Event::Exclusion(x) => self.on_exclusion(&x),
            _ => {}
        }
    }

    fn on_exclusion(&mut self, x: &events::Exclusion<'_>) {
        use events::ExclusionKind as K;
        let f = &x.fields;
        match x.kind {
            K::ExecutorExcluded | K::ExecutorUnexcluded => {
                if let Some(e) = f
                    .executor_id
                    .as_deref()
                    .and_then(|id| self.executors.get_mut(id))
                    .filter(|e| e.is_active)
                {
                    e.is_excluded = x.kind == K::ExecutorExcluded;
                }
            }
            K::NodeExcluded | K::NodeUnexcluded => {
                let host = f.host_id.as_deref().unwrap_or("");
                for e in self.executors.values_mut() {
                    if e.is_active && e.host == host && e.id != "driver" {
                        e.is_excluded = x.kind == K::NodeExcluded;
                    }
                }
            }
            K::ExecutorExcludedForStage => {
                if let (Some(id), Some(stage)) = (f.executor_id.as_deref(), f.stage_id) {
                    if let Some(e) = self.executors.get_mut(id).filter(|e| e.is_active) {
                        e.excluded_in_stages.insert(stage);
                    }
                }
            }
            K::NodeExcludedForStage => {
                let host = f.host_id.as_deref().unwrap_or("");
                if let Some(stage) = f.stage_id {
                    for e in self.executors.values_mut() {
                        if e.is_active && e.host == host && e.id != "driver" {
                            e.excluded_in_stages.insert(stage);
                        }
                    }
                }
            }
        }
    }

    fn stage_entry(&mut self, info: &events::StageInfo<'_>) -> &mut LiveStage {
        let key = (info.stage_id, info.attempt());
        let owned = StageInfoOwned::from(info);
        let s = self
            .stages
            .entry(key)
            .or_insert_with(|| LiveStage::fresh(key, owned.clone()));
        if !s.live {
            // computeIfAbsent on a removed key creates a fresh LiveStage in Spark.
            *s = LiveStage::fresh(key, owned.clone());
        }
        s.info = owned;
        s
    }

    fn on_job_start(&mut self, j: &events::JobStart<'_>) {
        let num_tasks = j
            .stage_infos
            .iter()
            .filter(|s| s.completion_time.is_none())
            .map(|s| s.number_of_tasks)
            .sum();
        let name = j
            .stage_infos
            .iter()
            .max_by_key(|s| s.stage_id)
            .map(|s| s.stage_name.to_string())
            .unwrap_or_default();
        let job = LiveJob {
            id: j.job_id,
            name,
            description: j.properties.get(JOB_DESCRIPTION).map(str::to_owned),
            submission_time: j.submission_time.filter(|t| *t > 0),
            completion_time: None,
            stage_ids: j.stage_ids.clone(),
            job_group: j.properties.get(JOB_GROUP).map(str::to_owned),
            job_tags: tags(&j.properties),
            status: "RUNNING",
            num_tasks,
            active_tasks: 0,
            completed_tasks: 0,
            skipped_tasks: 0,
            failed_tasks: 0,
            killed_tasks: 0,
            completed_indices: HashSet::new(),
            active_stages: 0,
            completed_stages: BTreeSet::new(),
            skipped_stages: BTreeSet::new(),
            failed_stages: 0,
            killed_summary: BTreeMap::new(),
            live: true,
        };
        self.jobs.insert(j.job_id, job);
        for info in &j.stage_infos {
            let s = self.stage_entry(info);
            s.jobs.push(j.job_id);
        }
    }

    fn on_job_end(&mut self, e: &events::JobEnd<'_>) {
        let Some(job) = self.jobs.get_mut(&e.job_id).filter(|j| j.live) else {
            return;
        };
        job.live = false;
        for s in self.stages.values_mut() {
            if s.live && job.stage_ids.contains(&s.id) && s.status == StageStatus::Pending {
                s.status = StageStatus::Skipped;
                job.skipped_stages.insert(s.id);
                job.skipped_tasks += s.info.num_tasks;
                job.active_stages = (job.active_stages - 1).max(0);
                s.live = false;
            }
        }
        job.status = if e.job_result.succeeded() {
            "SUCCEEDED"
        } else {
            "FAILED"
        };
        job.completion_time = e.completion_time.filter(|t| *t > 0);
    }

    fn on_stage_submitted(&mut self, e: &events::StageSubmitted<'_>) {
        let live_jobs: Vec<i64> = self
            .jobs
            .values()
            .filter(|j| j.live && j.stage_ids.contains(&e.stage_info.stage_id))
            .map(|j| j.id)
            .collect();
        let sid = e.stage_info.stage_id;
        let s = self.stage_entry(&e.stage_info);
        s.status = StageStatus::Active;
        s.scheduling_pool = e
            .properties
            .as_ref()
            .and_then(|p| p.get(SCHEDULER_POOL))
            .unwrap_or("default")
            .to_owned();
        s.jobs.clone_from(&live_jobs);
        s.description = e
            .properties
            .as_ref()
            .and_then(|p| p.get(JOB_DESCRIPTION))
            .map(str::to_owned);
        for id in live_jobs {
            if let Some(j) = self.jobs.get_mut(&id) {
                j.completed_stages.remove(&sid);
                j.active_stages += 1;
            }
        }
    }

    fn on_stage_completed(&mut self, e: &events::StageCompleted<'_>) {
        let key = (e.stage_info.stage_id, e.stage_info.attempt());
        let Some(s) = self.stages.get_mut(&key).filter(|s| s.live) else {
            return;
        };
        s.info = StageInfoOwned::from(&e.stage_info);
        s.status = if s.info.failure_reason.is_some() {
            StageStatus::Failed
        } else if s.info.submission_time.is_some() {
            StageStatus::Complete
        } else {
            StageStatus::Skipped
        };
        let (status, sid, ntasks) = (s.status, s.id, s.info.num_tasks);
        if s.active_tasks == 0 {
            s.live = false;
        }
        for id in s.jobs.clone() {
            if let Some(j) = self.jobs.get_mut(&id) {
                match status {
                    StageStatus::Complete => {
                        j.completed_stages.insert(sid);
                    }
                    StageStatus::Skipped => {
                        j.skipped_stages.insert(sid);
                        j.skipped_tasks += ntasks;
                    }
                    _ => j.failed_stages += 1,
                }
                j.active_stages = (j.active_stages - 1).max(0);
            }
        }
    }

    fn on_task_start(&mut self, t: &events::TaskStart<'_>) {
        let key = (t.stage_id, t.stage_attempt_id.unwrap_or(0));
        if let Some(s) = self.stages.get_mut(&key).filter(|s| s.live) {
            s.active_tasks += 1;
            s.first_launch_time = s.first_launch_time.min(t.task_info.launch_time);
            if t.task_info.speculative {
                let sp = s.speculation.get_or_insert([0; 5]);
                sp[0] += 1;
                sp[1] += 1;
            }
            for id in s.jobs.clone() {
                if let Some(j) = self.jobs.get_mut(&id) {
                    j.active_tasks += 1;
                }
            }
        }
        if let Some(x) = self
            .executors
            .get_mut(t.task_info.executor_id.as_ref())
            .filter(|x| x.is_active)
        {
            x.active_tasks += 1;
            x.total_tasks += 1;
        }
    }

    fn on_task_end(&mut self, t: &events::TaskEnd<'_>) {
        let reason = t.task_end_reason.reason.as_ref();
        let (completed, failed, killed) = match reason {
            "Success" => (1, 0, 0),
            "TaskKilled" | "TaskCommitDenied" => (0, 0, 1),
            _ => (0, 1, 0),
        };
        let kill_key = match reason {
            "TaskKilled" => Some(
                t.task_end_reason
                    .kill_reason
                    .as_deref()
                    .unwrap_or("")
                    .to_owned(),
            ),
            "TaskCommitDenied" => Some("TaskCommitDenied".to_owned()),
            _ => None,
        };
        let info = &t.task_info;
        let duration = if info.finish_time > 0 {
            info.finish_time - info.launch_time
        } else {
            0
        };
        let key = (t.stage_id, t.stage_attempt_id.unwrap_or(0));
        if let Some(s) = self.stages.get_mut(&key).filter(|s| s.live) {
            if let Some(m) = &t.task_metrics {
                add_metrics(&mut s.metrics, m);
            }
            s.active_tasks -= 1;
            s.completed_tasks += completed;
            if info.speculative {
                let sp = s.speculation.get_or_insert([0; 5]);
                sp[1] -= 1;
                sp[2] += completed;
                sp[3] += failed;
                sp[4] += killed;
            }
            if completed > 0 {
                s.completed_indices.insert(info.index);
            }
            s.failed_tasks += failed;
            s.killed_tasks += killed;
            if let Some(k) = &kill_key {
                *s.killed_summary.entry(k.clone()).or_insert(0) += 1;
            }
            if let Some(tem) = &t.task_executor_metrics {
                s.peaks.update(tem.iter());
            }
            let remove = s.active_tasks == 0
                && matches!(s.status, StageStatus::Complete | StageStatus::Failed);
            let jobs = s.jobs.clone();
            if remove {
                s.live = false;
            }
            for id in jobs {
                if let Some(j) = self.jobs.get_mut(&id) {
                    j.active_tasks -= 1;
                    j.completed_tasks += completed;
                    if completed > 0 {
                        j.completed_indices.insert((t.stage_id, info.index));
                    }
                    j.failed_tasks += failed;
                    j.killed_tasks += killed;
                    if let Some(k) = &kill_key {
                        *j.killed_summary.entry(k.clone()).or_insert(0) += 1;
                    }
                }
            }
        }
        if let Some(x) = self
            .executors
            .get_mut(info.executor_id.as_ref())
            .filter(|x| x.is_active)
        {
            x.active_tasks -= 1;
            x.completed_tasks += completed;
            x.failed_tasks += failed;
            x.total_duration += duration;
            if let Some(tem) = &t.task_executor_metrics {
                x.peaks.update(tem.iter());
            }
            if reason != "Resubmitted" {
                if let Some(m) = &t.task_metrics {
                    x.total_gc_time += m.jvm_gc_time.unwrap_or(0);
                    x.total_input_bytes += m
                        .input_metrics
                        .as_ref()
                        .and_then(|i| i.bytes_read)
                        .unwrap_or(0);
                    if let Some(r) = &m.shuffle_read_metrics {
                        x.total_shuffle_read +=
                            r.local_bytes_read.unwrap_or(0) + r.remote_bytes_read.unwrap_or(0);
                    }
                    x.total_shuffle_write += m
                        .shuffle_write_metrics
                        .as_ref()
                        .and_then(|w| w.shuffle_bytes_written)
                        .unwrap_or(0);
                }
            }
        }
    }

    /// `jobs`, newest first.
    pub fn jobs(&self) -> Vec<JobData> {
        self.jobs.values().rev().map(job_api).collect()
    }

    /// One job.
    pub fn job(&self, id: i64) -> Option<JobData> {
        self.jobs.get(&id).map(job_api)
    }

    /// `stages`, newest (stage id, attempt) first.
    pub fn stages(&self) -> Vec<StageData> {
        self.stages.values().rev().map(stage_api).collect()
    }

    /// All attempts of one stage, oldest first.
    pub fn stage_attempts(&self, id: i64) -> Vec<StageData> {
        self.stages
            .range((id, i64::MIN)..=(id, i64::MAX))
            .map(|(_, s)| stage_api(s))
            .collect()
    }

    /// `speculationSummary` of a stage attempt (only once a speculative task ran in it).
    pub fn speculation_summary(&self, stage: i64, attempt: i64) -> Option<Value> {
        let sp = self.stages.get(&(stage, attempt))?.speculation?;
        Some(serde_json::json!({
            "numTasks": sp[0],
            "numActiveTasks": sp[1],
            "numCompletedTasks": sp[2],
            "numFailedTasks": sp[3],
            "numKilledTasks": sp[4],
        }))
    }

    /// `allexecutors` (sorted by id) or `executors` (active only, by id descending).
    /// `now` (epoch ms) is what SHS uses as the end of a running application: the driver's
    /// `totalDuration` is the application's duration so far.
    pub fn executors(&self, all: bool, completed: bool, now: i64) -> Vec<ExecutorSummary> {
        let app_duration = match (completed, self.listing.end_time) {
            (true, Some(end)) => end - self.listing.start_time,
            _ => now - self.listing.start_time,
        };
        let render = |e: &LiveExecutor| {
            let mut x = exec_api(e);
            if e.id == "driver" {
                // SHS 4 reports the driver's uptime and its JVM's own GC time.
                x.total_duration = app_duration;
                x.total_gc_time = e
                    .peaks
                    .0
                    .as_ref()
                    .and_then(|p| p.get("TotalGCTime").copied())
                    .unwrap_or(0);
            }
            x
        };
        if all {
            self.executors.values().map(render).collect()
        } else {
            self.executors
                .values()
                .rev()
                .filter(|e| e.is_active)
                .map(render)
                .collect()
        }
    }

    /// Executor id → its log URLs (for `taskList`).
    pub fn executor_logs(&self) -> HashMap<&str, BTreeMap<String, String>> {
        self.executors
            .iter()
            .map(|(k, v)| (k.as_str(), v.executor_logs.clone()))
            .collect()
    }

    /// The raw environment update and the resource profiles (for `environment`).
    pub fn environment_parts(&self) -> (Option<&Value>, Vec<&Value>) {
        (
            self.environment.as_ref(),
            self.resource_profiles.values().collect(),
        )
    }

    /// Marks every job, stage and executor the way SHS leaves an application whose log ended
    /// (SHS keeps live entities as they are when replay stops; SQL executions still running get
    /// their metrics so far).
    pub fn finish(&mut self) {
        self.sql.finish();
    }
}

fn add_metrics(s: &mut StageMetrics, m: &events::TaskMetrics) {
    let g = |v: Option<i64>| v.unwrap_or(0);
    s.executor_deserialize_time += g(m.executor_deserialize_time);
    s.executor_deserialize_cpu_time += g(m.executor_deserialize_cpu_time);
    s.executor_run_time += g(m.executor_run_time);
    s.executor_cpu_time += g(m.executor_cpu_time);
    s.result_size += g(m.result_size);
    s.jvm_gc_time += g(m.jvm_gc_time);
    s.result_serialization_time += g(m.result_serialization_time);
    s.memory_bytes_spilled += g(m.memory_bytes_spilled);
    s.disk_bytes_spilled += g(m.disk_bytes_spilled);
    s.peak_execution_memory += g(m.peak_execution_memory);
    if let Some(i) = &m.input_metrics {
        s.input_bytes += g(i.bytes_read);
        s.input_records += g(i.records_read);
    }
    if let Some(o) = &m.output_metrics {
        s.output_bytes += g(o.bytes_written);
        s.output_records += g(o.records_written);
    }
    if let Some(r) = &m.shuffle_read_metrics {
        s.shuffle_remote_blocks_fetched += g(r.remote_blocks_fetched);
        s.shuffle_local_blocks_fetched += g(r.local_blocks_fetched);
        s.shuffle_fetch_wait_time += g(r.fetch_wait_time);
        s.shuffle_remote_bytes_read += g(r.remote_bytes_read);
        s.shuffle_remote_bytes_read_to_disk += g(r.remote_bytes_read_to_disk);
        s.shuffle_local_bytes_read += g(r.local_bytes_read);
        s.shuffle_read_bytes += g(r.local_bytes_read) + g(r.remote_bytes_read);
        s.shuffle_read_records += g(r.total_records_read);
        s.shuffle_remote_reqs_duration += g(r.remote_requests_duration);
    }
    if let Some(w) = &m.shuffle_write_metrics {
        s.shuffle_write_bytes += g(w.shuffle_bytes_written);
        s.shuffle_write_time += g(w.shuffle_write_time);
        s.shuffle_write_records += g(w.shuffle_records_written);
    }
}

fn job_api(j: &LiveJob) -> JobData {
    JobData {
        job_id: j.id,
        name: j.name.clone(),
        description: j.description.clone(),
        submission_time: j.submission_time.map(format_gmt),
        completion_time: j.completion_time.map(format_gmt),
        stage_ids: j.stage_ids.clone(),
        job_group: j.job_group.clone(),
        job_tags: j.job_tags.clone(),
        status: j.status,
        num_tasks: j.num_tasks,
        num_active_tasks: j.active_tasks,
        num_completed_tasks: j.completed_tasks,
        num_skipped_tasks: j.skipped_tasks,
        num_failed_tasks: j.failed_tasks,
        num_killed_tasks: j.killed_tasks,
        num_completed_indices: len(j.completed_indices.len()),
        num_active_stages: j.active_stages,
        num_completed_stages: len(j.completed_stages.len()),
        num_skipped_stages: len(j.skipped_stages.len()),
        num_failed_stages: j.failed_stages,
        killed_tasks_summary: j.killed_summary.clone(),
    }
}

fn len(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn stage_api(s: &LiveStage) -> StageData {
    StageData {
        status: s.status.as_str(),
        stage_id: s.id,
        attempt_id: s.attempt,
        num_tasks: s.info.num_tasks,
        num_active_tasks: s.active_tasks,
        num_complete_tasks: s.completed_tasks,
        num_failed_tasks: s.failed_tasks,
        num_killed_tasks: s.killed_tasks,
        num_completed_indices: len(s.completed_indices.len()),
        submission_time: s.info.submission_time.map(format_gmt),
        first_task_launched_time: (s.first_launch_time < i64::MAX)
            .then(|| format_gmt(s.first_launch_time)),
        completion_time: s.info.completion_time.map(format_gmt),
        failure_reason: s.info.failure_reason.clone(),
        metrics: s.metrics,
        name: s.info.name.clone(),
        description: s.description.clone(),
        details: s.info.details.clone(),
        scheduling_pool: s.scheduling_pool.clone(),
        rdd_ids: s.info.rdd_ids.clone(),
        accumulator_updates: s.info.accumulables.clone(),
        killed_tasks_summary: s.killed_summary.clone(),
        resource_profile_id: s.info.resource_profile_id,
        peak_executor_metrics: s.peaks.0.clone(),
        is_shuffle_push_enabled: false,
        shuffle_mergers_count: 0,
    }
}

fn exec_api(e: &LiveExecutor) -> ExecutorSummary {
    ExecutorSummary {
        id: e.id.clone(),
        host_port: e.host_port.clone().unwrap_or_else(|| e.host.clone()),
        is_active: e.is_active,
        rdd_blocks: 0,
        memory_used: 0,
        disk_used: 0,
        total_cores: e.total_cores,
        max_tasks: e.max_tasks,
        active_tasks: e.active_tasks,
        failed_tasks: e.failed_tasks,
        completed_tasks: e.completed_tasks,
        total_tasks: e.total_tasks,
        total_duration: e.total_duration,
        total_gc_time: e.total_gc_time,
        total_input_bytes: e.total_input_bytes,
        total_shuffle_read: e.total_shuffle_read,
        total_shuffle_write: e.total_shuffle_write,
        is_blacklisted: e.is_excluded,
        max_memory: e.max_memory,
        add_time: format_gmt(e.add_time),
        remove_time: e.remove_time.map(format_gmt),
        remove_reason: e.remove_reason.clone(),
        executor_logs: e.executor_logs.clone(),
        memory_metrics: (e.total_on_heap >= 0).then_some(MemoryMetrics {
            used_on_heap_storage_memory: 0,
            used_off_heap_storage_memory: 0,
            total_on_heap_storage_memory: e.total_on_heap,
            total_off_heap_storage_memory: e.total_off_heap,
        }),
        blacklisted_in_stages: e.excluded_in_stages.iter().copied().collect(),
        peak_memory_metrics: e.peaks.0.clone(),
        attributes: e.attributes.clone(),
        resources: e.resources.clone(),
        resource_profile_id: e.resource_profile_id,
        is_excluded: e.is_excluded,
        excluded_in_stages: e.excluded_in_stages.iter().copied().collect(),
    }
}
