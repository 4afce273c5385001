//! Folding events into a [`Model`], one event at a time, mirroring Spark's `AppStatusListener`
//! (and `SQLAppStatusListener` for SQL metrics) so that the numbers agree with the History
//! Server's.

use std::collections::{BTreeMap, HashMap};

use sparkplane_eventlog::events::{self as ev, Event, SparkPlanInfo, TaskEnd, TaskMetrics};

use super::{
    AppFacts, Executor, IdleStretch, Job, JobStatus, Model, SlowestTask, SqlExecution, SqlMetric,
    StageAttempt, StageStatus, TaskMetricSums, TaskStats, Totals,
};
use crate::sketch::LogHistogram;

type StageKey = (u32, u32);

/// How long after its last event a log's file time may be and still count as Spark's write.
const MAX_FILE_TIME_LAG_MS: i64 = 10_000;

fn u32_of(v: i64) -> u32 {
    u32::try_from(v).unwrap_or(0)
}

fn nn(v: Option<i64>) -> u64 {
    v.map_or(0, |x| u64::try_from(x).unwrap_or(0))
}

/// Per-stage-attempt state while folding.
struct StageState {
    attempt: StageAttempt,
    /// Still in `AppStatusListener.liveStages` (metrics of ending tasks are applied).
    live: bool,
    durations: LogHistogram,
    /// Every started task's duration, whatever its end (History Server's duration index).
    durations_all: LogHistogram,
    run_times: LogHistogram,
    read_bytes: LogHistogram,
    slowest: Option<(u64, u64, u64, u64)>,
}

impl StageState {
    fn new(info: &ev::StageInfo<'_>) -> Self {
        Self {
            attempt: StageAttempt {
                stage_id: u32_of(info.stage_id),
                attempt_id: u32_of(info.attempt()),
                name: info.stage_name.to_string(),
                status: StageStatus::Pending,
                job_ids: Vec::new(),
                num_tasks: nn(Some(info.number_of_tasks)),
                num_active_tasks: 0,
                num_complete_tasks: 0,
                num_failed_tasks: 0,
                num_killed_tasks: 0,
                submission_time: info.submission_time,
                first_task_launched_time: None,
                completion_time: info.completion_time,
                failure_reason: info.failure_reason.as_deref().map(str::to_owned),
                metrics: TaskMetricSums::default(),
                tasks: TaskStats {
                    successful_tasks: 0,
                    duration: None,
                    shs_duration: None,
                    read_bytes: None,
                    run_time: None,
                    slowest: None,
                    gc_time_share: 0.0,
                    speculative_tasks: 0,
                },
                peak_executor_metrics: BTreeMap::new(),
            },
            live: true,
            durations: LogHistogram::new(),
            durations_all: LogHistogram::new(),
            run_times: LogHistogram::new(),
            read_bytes: LogHistogram::new(),
            slowest: None,
        }
    }

    /// `getOrCreateStage`: refresh the stage info fields.
    fn set_info(&mut self, info: &ev::StageInfo<'_>) {
        let a = &mut self.attempt;
        a.name = info.stage_name.to_string();
        a.num_tasks = nn(Some(info.number_of_tasks));
        a.submission_time = info.submission_time;
        a.completion_time = info.completion_time;
        a.failure_reason = info.failure_reason.as_deref().map(str::to_owned);
    }
}

struct JobState {
    job: Job,
    live: bool,
}

struct SqlState {
    exec: SqlExecution,
}

/// Where an SQL accumulator's updates go.
#[derive(Clone, Copy)]
struct MetricSlot {
    exec: usize,
    metric: usize,
}

/// Folds events into a [`Model`]. Feed every event with [`ModelBuilder::push`], then call
/// [`ModelBuilder::finish`].
#[derive(Default)]
pub struct ModelBuilder {
    app: AppFacts,
    jobs: BTreeMap<u32, JobState>,
    /// Jobs started and not yet ended (History Server's `liveJobs`).
    live_jobs: Vec<u32>,
    stages: BTreeMap<StageKey, StageState>,
    /// Stage id → jobs whose stage lists contain it (for `stage.jobs` at submission).
    executors: Vec<Executor>,
    executor_index: HashMap<String, usize>,
    sql: Vec<SqlState>,
    sql_index: HashMap<u64, usize>,
    accum_slots: HashMap<i64, MetricSlot>,
    /// The tasks running now, with their stage attempt and launch time (the only per-task
    /// state; bounded by the number of task slots).
    running: HashMap<i64, (StageKey, i64)>,
    idle_since: Option<i64>,
    idle_ms: u64,
    idle: Vec<IdleStretch>,
    last_finish: Option<i64>,
    core_ms_used: u64,
    speculative_tasks: u64,
    last_updated: Option<i64>,
    /// Running-task time per time bucket (for the report's core-usage chart).
    usage: crate::report::usage::CoreUsageBuilder,
}

impl ModelBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    fn touch_time(&mut self, t: i64) {
        if t > 0 {
            self.app.last_event_time = Some(self.app.last_event_time.map_or(t, |x| x.max(t)));
        }
    }

    /// When the log was last written (epoch ms; its file time). The History Server measures
    /// tasks that never ended up to this time; without it the last event's time is used.
    pub fn set_last_updated(&mut self, epoch_ms: Option<i64>) {
        self.last_updated = epoch_ms;
    }

    /// Fold one event.
    pub fn push(&mut self, event: &Event<'_>) {
        match event {
            Event::LogStart(e) => self.app.spark_version = Some(e.spark_version.to_string()),
            Event::ApplicationStart(e) => {
                self.app.name = Some(e.app_name.to_string());
                self.app.app_id = e.app_id.as_deref().map(str::to_owned);
                self.app.attempt_id = e.app_attempt_id.as_deref().map(str::to_owned);
                self.app.user = e.user.as_deref().map(str::to_owned);
                self.app.start_time = Some(e.timestamp);
                self.usage.set_origin(e.timestamp);
                self.idle_since.get_or_insert(e.timestamp);
                self.touch_time(e.timestamp);
            }
            Event::ApplicationEnd(e) => {
                self.app.end_time = Some(e.timestamp);
                self.app.exit_code = e.exit_code;
                self.touch_time(e.timestamp);
            }
            Event::EnvironmentUpdate(e) => {
                for (k, v) in e.spark_properties.iter() {
                    self.app.spark_properties.insert(k.to_owned(), v.to_owned());
                }
                self.app.local_mode = self
                    .app
                    .spark_properties
                    .get("spark.master")
                    .is_some_and(|m| m.starts_with("local"));
            }
            Event::JobStart(e) => self.job_start(e),
            Event::JobEnd(e) => self.job_end(e),
            Event::StageSubmitted(e) => self.stage_submitted(e),
            Event::StageCompleted(e) => self.stage_completed(e),
            Event::TaskStart(e) => self.task_start(e),
            Event::TaskEnd(e) => self.task_end(e),
            Event::ExecutorAdded(e) => {
                let i = self.executor(&e.executor_id);
                let x = &mut self.executors[i];
                x.host = Some(e.executor_info.host.to_string());
                x.total_cores = u32_of(e.executor_info.total_cores);
                x.add_time = Some(e.timestamp);
                self.touch_time(e.timestamp);
            }
            Event::ExecutorRemoved(e) => {
                let i = self.executor(&e.executor_id);
                let x = &mut self.executors[i];
                x.remove_time = Some(e.timestamp);
                x.remove_reason = e.removed_reason.as_deref().map(str::to_owned);
                self.touch_time(e.timestamp);
            }
            Event::BlockManagerAdded(e) => {
                let i = self.executor(&e.block_manager_id.executor_id);
                let x = &mut self.executors[i];
                if x.host.is_none() && !e.block_manager_id.host.is_empty() {
                    x.host = Some(e.block_manager_id.host.to_string());
                }
                if let Some(m) = e.maximum_memory {
                    x.max_memory = u64::try_from(m).ok();
                }
            }
            Event::StageExecutorMetrics(e) => {
                let key = (u32_of(e.stage_id), u32_of(e.stage_attempt_id.unwrap_or(0)));
                if let Some(s) = self.stages.get_mut(&key) {
                    merge_peaks(&mut s.attempt.peak_executor_metrics, &e.executor_metrics);
                }
                let i = self.executor(&e.executor_id);
                merge_peaks(&mut self.executors[i].peak_metrics, &e.executor_metrics);
            }
            Event::SqlExecutionStart(e) => self.sql_start(e),
            Event::SqlExecutionEnd(e) => {
                if let Some(&i) = u64::try_from(e.execution_id)
                    .ok()
                    .and_then(|id| self.sql_index.get(&id))
                {
                    let x = &mut self.sql[i].exec;
                    x.end_time = Some(e.time);
                    x.error_message = e
                        .error_message
                        .as_deref()
                        .filter(|m| !m.is_empty())
                        .map(str::to_owned);
                }
                self.touch_time(e.time);
            }
            Event::SqlAdaptiveExecutionUpdate(e) => {
                if let Some(&i) = u64::try_from(e.execution_id)
                    .ok()
                    .and_then(|id| self.sql_index.get(&id))
                {
                    self.sql[i].exec.physical_plan = e.physical_plan_description.to_string();
                    self.sql[i].exec.node_names.clear();
                    self.register_plan(i, &e.spark_plan_info);
                }
            }
            Event::SqlAdaptiveSqlMetricUpdates(e) => {
                if let Some(&i) = u64::try_from(e.execution_id)
                    .ok()
                    .and_then(|id| self.sql_index.get(&id))
                {
                    for m in &e.sql_plan_metrics {
                        self.register_metric(i, "", m);
                    }
                }
            }
            Event::DriverAccumUpdates(e) => {
                for &(id, v) in &e.accum_updates {
                    self.add_accum(id, v);
                }
            }
            _ => {}
        }
    }

    fn executor(&mut self, id: &str) -> usize {
        if let Some(&i) = self.executor_index.get(id) {
            return i;
        }
        let i = self.executors.len();
        self.executors.push(Executor {
            executor_id: id.to_owned(),
            host: None,
            total_cores: 0,
            max_memory: None,
            add_time: None,
            remove_time: None,
            remove_reason: None,
            total_tasks: 0,
            completed_tasks: 0,
            failed_tasks: 0,
            killed_tasks: 0,
            total_duration_ms: 0,
            total_gc_time_ms: 0,
            total_input_bytes: 0,
            total_shuffle_read_bytes: 0,
            total_shuffle_write_bytes: 0,
            peak_metrics: BTreeMap::new(),
        });
        self.executor_index.insert(id.to_owned(), i);
        i
    }

    /// `getOrCreateStage`: a stage key that is not live (never seen, or already finished and
    /// dropped by the History Server) starts afresh, as the History Server does.
    fn stage_entry(&mut self, info: &ev::StageInfo<'_>) -> &mut StageState {
        let key = (u32_of(info.stage_id), u32_of(info.attempt()));
        let fresh = !self.stages.get(&key).is_some_and(|s| s.live);
        if fresh {
            self.stages.insert(key, StageState::new(info));
        }
        let s = self
            .stages
            .get_mut(&key)
            .unwrap_or_else(|| unreachable!("inserted above"));
        s.set_info(info);
        s
    }

    fn job_start(&mut self, e: &ev::JobStart<'_>) {
        let job_id = u32_of(e.job_id);
        let num_tasks: u64 = e
            .stage_infos
            .iter()
            .filter(|s| s.completion_time.is_none())
            .map(|s| nn(Some(s.number_of_tasks)))
            .sum();
        let name = e
            .stage_infos
            .iter()
            .max_by_key(|s| s.stage_id)
            .map(|s| s.stage_name.to_string())
            .unwrap_or_default();
        let stage_ids: Vec<u32> = if e.stage_ids.is_empty() {
            e.stage_infos.iter().map(|s| u32_of(s.stage_id)).collect()
        } else {
            e.stage_ids.iter().map(|&s| u32_of(s)).collect()
        };
        let job = Job {
            job_id,
            status: JobStatus::Running,
            name,
            description: e.properties.get("spark.job.description").map(str::to_owned),
            job_group: e.properties.get("spark.jobGroup.id").map(str::to_owned),
            sql_execution_id: e
                .properties
                .get("spark.sql.execution.id")
                .and_then(|v| v.parse().ok()),
            stage_ids,
            num_tasks,
            num_completed_tasks: 0,
            num_failed_tasks: 0,
            num_killed_tasks: 0,
            num_skipped_tasks: 0,
            num_skipped_stages: 0,
            num_failed_stages: 0,
            submission_time: e.submission_time.filter(|&t| t > 0),
            completion_time: None,
            failure_reason: None,
        };
        if let Some(t) = e.submission_time {
            self.touch_time(t);
        }
        self.jobs.insert(job_id, JobState { job, live: true });
        if !self.live_jobs.contains(&job_id) {
            self.live_jobs.push(job_id);
        }
        for info in &e.stage_infos {
            let s = self.stage_entry(info);
            if !s.attempt.job_ids.contains(&job_id) {
                s.attempt.job_ids.push(job_id);
            }
        }
    }

    fn job_end(&mut self, e: &ev::JobEnd<'_>) {
        let job_id = u32_of(e.job_id);
        let Some(js) = self.jobs.get_mut(&job_id) else {
            return;
        };
        if !js.live {
            return;
        }
        js.live = false;
        let stage_ids = js.job.stage_ids.clone();
        let mut skipped_stages = 0;
        let mut skipped_tasks = 0;
        self.live_jobs.retain(|&j| j != job_id);
        for &sid in &stage_ids {
            for (_, s) in self.stages.range_mut((sid, 0)..=(sid, u32::MAX)) {
                if s.live && s.attempt.status == StageStatus::Pending {
                    s.attempt.status = StageStatus::Skipped;
                    s.live = false;
                    skipped_stages += 1;
                    skipped_tasks += s.attempt.num_tasks;
                }
            }
        }
        let job = &mut self
            .jobs
            .get_mut(&job_id)
            .unwrap_or_else(|| unreachable!())
            .job;
        job.num_skipped_stages += skipped_stages;
        job.num_skipped_tasks += skipped_tasks;
        if e.job_result.succeeded() {
            job.status = JobStatus::Succeeded;
        } else {
            job.status = JobStatus::Failed;
            job.failure_reason = e
                .job_result
                .exception
                .as_ref()
                .and_then(|x| x.message.as_deref())
                .map(str::to_owned);
        }
        job.completion_time = e.completion_time.filter(|&t| t > 0);
        if let Some(t) = e.completion_time {
            self.touch_time(t);
        }
    }

    fn stage_submitted(&mut self, e: &ev::StageSubmitted<'_>) {
        let stage_id = u32_of(e.stage_info.stage_id);
        let job_ids: Vec<u32> = self
            .live_jobs
            .iter()
            .filter_map(|id| self.jobs.get(id))
            .filter(|j| j.job.stage_ids.contains(&stage_id))
            .map(|j| j.job.job_id)
            .collect();
        let s = self.stage_entry(&e.stage_info);
        s.attempt.status = StageStatus::Active;
        s.attempt.job_ids = job_ids;
        if let Some(t) = e.stage_info.submission_time {
            self.touch_time(t);
        }
    }

    fn stage_completed(&mut self, e: &ev::StageCompleted<'_>) {
        let info = &e.stage_info;
        let key = (u32_of(info.stage_id), u32_of(info.attempt()));
        let Some(s) = self.stages.get_mut(&key).filter(|s| s.live) else {
            return;
        };
        s.set_info(info);
        s.attempt.status = if info.failure_reason.is_some() {
            StageStatus::Failed
        } else if info.submission_time.is_some() {
            StageStatus::Complete
        } else {
            StageStatus::Skipped
        };
        if s.attempt.num_active_tasks == 0 {
            s.live = false;
        }
        let status = s.attempt.status;
        let num_tasks = s.attempt.num_tasks;
        let job_ids = s.attempt.job_ids.clone();
        for j in job_ids {
            if let Some(js) = self.jobs.get_mut(&j) {
                match status {
                    StageStatus::Skipped => {
                        js.job.num_skipped_stages += 1;
                        js.job.num_skipped_tasks += num_tasks;
                    }
                    StageStatus::Failed => js.job.num_failed_stages += 1,
                    _ => {}
                }
            }
        }
        if let Some(t) = info.completion_time {
            self.touch_time(t);
        }
    }

    fn task_start(&mut self, e: &ev::TaskStart<'_>) {
        let key = (u32_of(e.stage_id), u32_of(e.stage_attempt_id.unwrap_or(0)));
        let info = &e.task_info;
        if self.running.is_empty() {
            if let Some(since) = self.idle_since.take() {
                self.record_idle(since, info.launch_time);
            }
        }
        self.running.insert(info.task_id, (key, info.launch_time));
        if info.speculative {
            self.speculative_tasks += 1;
        }
        if let Some(s) = self.stages.get_mut(&key).filter(|s| s.live) {
            s.attempt.num_active_tasks += 1;
            let t = info.launch_time;
            s.attempt.first_task_launched_time =
                Some(s.attempt.first_task_launched_time.map_or(t, |f| f.min(t)));
            if info.speculative {
                s.attempt.tasks.speculative_tasks += 1;
            }
        }
        let i = self.executor(&info.executor_id);
        self.executors[i].total_tasks += 1;
        self.touch_time(info.launch_time);
    }

    fn record_idle(&mut self, start: i64, end: i64) {
        if end <= start {
            return;
        }
        let d = end - start;
        self.idle_ms += u64::try_from(d).unwrap_or(0);
        let st = IdleStretch {
            start_time: start,
            end_time: end,
            duration_ms: d,
        };
        if self.idle.len() < Totals::MAX_IDLE_STRETCHES {
            self.idle.push(st);
        } else if let Some(min) = self
            .idle
            .iter_mut()
            .min_by_key(|s| s.duration_ms)
            .filter(|m| m.duration_ms < d)
        {
            *min = st;
        }
    }

    fn task_end(&mut self, e: &TaskEnd<'_>) {
        let key = (u32_of(e.stage_id), u32_of(e.stage_attempt_id.unwrap_or(0)));
        let info = &e.task_info;
        let was_running = self.running.remove(&info.task_id).is_some();
        let finish = info.finish_time;
        let duration = if finish > 0 {
            u64::try_from(finish - info.launch_time).unwrap_or(0)
        } else {
            0
        };
        self.core_ms_used += duration;
        if finish > 0 {
            self.usage.add(info.launch_time, finish);
            self.last_finish = Some(self.last_finish.map_or(finish, |f| f.max(finish)));
            self.touch_time(finish);
        }
        if self.running.is_empty() && finish > 0 {
            // Idle from the latest finish seen (ends may be logged slightly out of order).
            self.idle_since = self.last_finish;
        }
        let reason = e.task_end_reason.reason.as_ref();
        let (completed, failed, killed) = match reason {
            "Success" => (1, 0, 0),
            "TaskKilled" | "TaskCommitDenied" => (0, 0, 1),
            _ => (0, 1, 0),
        };
        let metrics = if was_running {
            e.task_metrics.as_ref()
        } else {
            None
        };
        let sums = metrics.map(sums_of);
        if let Some(s) = self.stages.get_mut(&key) {
            if s.live {
                if let Some(m) = &sums {
                    add_sums(&mut s.attempt.metrics, m);
                }
                s.attempt.num_active_tasks = s.attempt.num_active_tasks.saturating_sub(1);
                s.attempt.num_complete_tasks += completed;
                s.attempt.num_failed_tasks += failed;
                s.attempt.num_killed_tasks += killed;
                if let Some(tem) = &e.task_executor_metrics {
                    merge_peaks(&mut s.attempt.peak_executor_metrics, tem);
                }
                if s.attempt.num_active_tasks == 0
                    && matches!(
                        s.attempt.status,
                        StageStatus::Complete | StageStatus::Failed
                    )
                {
                    s.live = false;
                }
                for j in &s.attempt.job_ids {
                    if let Some(js) = self.jobs.get_mut(j) {
                        js.job.num_completed_tasks += completed;
                        js.job.num_failed_tasks += failed;
                        js.job.num_killed_tasks += killed;
                    }
                }
            }
            if was_running {
                s.durations_all.record(duration);
            }
            // The task summary covers successful tasks that the History Server stored.
            if was_running && completed == 1 {
                if let Some(m) = &sums {
                    s.durations.record(duration);
                    s.run_times.record(m.executor_run_time);
                    let read = m.input_bytes + m.shuffle_read_bytes;
                    s.read_bytes.record(read);
                    if s.slowest.is_none_or(|(_, d, _, _)| duration > d) {
                        s.slowest = Some((
                            u64::try_from(info.task_id).unwrap_or(0),
                            duration,
                            m.input_bytes,
                            m.shuffle_read_bytes,
                        ));
                    }
                }
            }
        }
        let i = self.executor(&info.executor_id);
        let x = &mut self.executors[i];
        x.completed_tasks += completed;
        x.failed_tasks += failed;
        x.killed_tasks += killed;
        x.total_duration_ms += duration;
        if let Some(m) = &sums {
            x.total_gc_time_ms += m.jvm_gc_time;
            x.total_input_bytes += m.input_bytes;
            x.total_shuffle_read_bytes += m.shuffle_read_bytes;
            x.total_shuffle_write_bytes += m.shuffle_write_bytes;
        }
        if let Some(tem) = &e.task_executor_metrics {
            merge_peaks(&mut x.peak_metrics, tem);
        }
        if completed == 1 {
            for a in &info.accumulables {
                if self.accum_slots.contains_key(&a.id) {
                    if let Some(v) = a.update.as_ref().and_then(|u| u.as_i64()) {
                        self.add_accum(a.id, v);
                    }
                }
            }
        }
    }

    fn sql_start(&mut self, e: &ev::SqlExecutionStart<'_>) {
        let Ok(id) = u64::try_from(e.execution_id) else {
            return;
        };
        let i = self.sql.len();
        self.sql.push(SqlState {
            exec: SqlExecution {
                execution_id: id,
                root_execution_id: e.root_execution_id.and_then(|r| u64::try_from(r).ok()),
                description: e.description.to_string(),
                start_time: Some(e.time),
                end_time: None,
                error_message: None,
                physical_plan: e.physical_plan_description.to_string(),
                node_names: Vec::new(),
                metrics: Vec::new(),
                job_ids: Vec::new(),
            },
        });
        self.sql_index.insert(id, i);
        self.register_plan(i, &e.spark_plan_info);
        self.touch_time(e.time);
    }

    fn register_plan(&mut self, exec: usize, plan: &SparkPlanInfo<'_>) {
        self.sql[exec]
            .exec
            .node_names
            .push(plan.node_name.to_string());
        for m in &plan.metrics {
            self.register_metric(exec, &plan.node_name, m);
        }
        for c in &plan.children {
            self.register_plan(exec, c);
        }
    }

    fn register_metric(&mut self, exec: usize, node: &str, m: &ev::SqlPlanMetric<'_>) {
        if self.accum_slots.contains_key(&m.accumulator_id) {
            return;
        }
        let metrics = &mut self.sql[exec].exec.metrics;
        let slot = MetricSlot {
            exec,
            metric: metrics.len(),
        };
        metrics.push(SqlMetric {
            node_name: node.to_owned(),
            name: m.name.to_string(),
            metric_type: m.metric_type.to_string(),
            accumulator_id: u64::try_from(m.accumulator_id).unwrap_or(0),
            value: 0,
            max_update: 0,
            updates: 0,
        });
        self.accum_slots.insert(m.accumulator_id, slot);
    }

    fn add_accum(&mut self, id: i64, v: i64) {
        if let Some(slot) = self.accum_slots.get(&id) {
            let m = &mut self.sql[slot.exec].exec.metrics[slot.metric];
            m.value = m.value.saturating_add(v);
            m.max_update = m.max_update.max(v);
            m.updates += 1;
        }
    }

    /// Finish folding: compute per-stage statistics and totals.
    pub fn finish(self) -> Model {
        let ModelBuilder {
            app,
            jobs,
            mut stages,
            mut executors,
            sql,
            running,
            idle_since,
            mut idle_ms,
            mut idle,
            core_ms_used,
            speculative_tasks,
            usage,
            last_updated,
            ..
        } = self;
        let end = app.end_time.or(app.last_event_time);
        // Tasks that never ended: the History Server gives them the time they had been running
        // when the log was last updated (its file time, else the last event's time).
        // A file time far after the last event is a copy's or checkout's time, not Spark's.
        let last_updated = last_updated.filter(|&t| {
            app.last_event_time
                .is_none_or(|e| t >= e && t - e <= MAX_FILE_TIME_LAG_MS)
        });
        // An application without its end event is replayed as in progress, and there the History
        // Server leaves such tasks out of its duration index (observed on Spark 3.5 and 4.3).
        let last_updated = last_updated
            .or(app.last_event_time)
            .filter(|_| app.end_time.is_some());
        if let Some(last) = last_updated {
            for (key, launch) in running.values() {
                if let Some(s) = stages.get_mut(key) {
                    s.durations_all
                        .record(u64::try_from(last - launch).unwrap_or(0));
                }
            }
        }
        // A trailing idle stretch up to the application end.
        if let (Some(since), Some(end)) = (idle_since, app.end_time) {
            if running.is_empty() && end > since {
                let d = end - since;
                idle_ms += u64::try_from(d).unwrap_or(0);
                idle.push(IdleStretch {
                    start_time: since,
                    end_time: end,
                    duration_ms: d,
                });
            }
        }
        idle.sort_by_key(|s| std::cmp::Reverse(s.duration_ms));
        idle.truncate(Totals::MAX_IDLE_STRETCHES);

        let mut jobs: Vec<Job> = jobs.into_values().map(|j| j.job).collect();
        jobs.sort_by_key(|j| j.job_id);

        let stages: Vec<StageAttempt> = stages
            .into_values()
            .map(|s| {
                let mut a = s.attempt;
                let m = a.metrics;
                a.tasks.successful_tasks = s.durations.count();
                a.tasks.duration = s.durations.quantiles();
                a.tasks.shs_duration = s.durations_all.quantiles_of(s.durations.count());
                a.tasks.run_time = s.run_times.quantiles();
                a.tasks.read_bytes = s.read_bytes.quantiles();
                a.tasks.gc_time_share = ratio(m.jvm_gc_time, m.executor_run_time);
                a.tasks.slowest = s.slowest.map(|(task_id, d, inp, shr)| SlowestTask {
                    task_id,
                    duration_ms: d,
                    input_bytes: inp,
                    shuffle_read_bytes: shr,
                    input_share: ratio(inp, m.input_bytes),
                    shuffle_read_share: ratio(shr, m.shuffle_read_bytes),
                });
                a
            })
            .collect();

        let mut sql: Vec<SqlExecution> = sql.into_iter().map(|s| s.exec).collect();
        sql.sort_by_key(|x| x.execution_id);
        for j in &jobs {
            if let Some(id) = j.sql_execution_id {
                if let Ok(i) = sql.binary_search_by_key(&id, |x| x.execution_id) {
                    sql[i].job_ids.push(j.job_id);
                }
            }
        }

        let mut totals = Totals {
            jobs: jobs.len() as u64,
            failed_jobs: jobs
                .iter()
                .filter(|j| j.status == JobStatus::Failed)
                .count() as u64,
            stages: stages.len() as u64,
            failed_stages: count(&stages, StageStatus::Failed),
            skipped_stages: count(&stages, StageStatus::Skipped),
            speculative_tasks,
            executors: executors.len() as u64,
            core_ms_used,
            driver_idle_ms: idle_ms,
            idle_stretches: idle,
            ..Totals::default()
        };
        for s in &stages {
            let m = &s.metrics;
            totals.tasks += s.num_complete_tasks + s.num_failed_tasks + s.num_killed_tasks;
            totals.failed_tasks += s.num_failed_tasks;
            totals.killed_tasks += s.num_killed_tasks;
            totals.executor_run_time += m.executor_run_time;
            totals.executor_cpu_time += m.executor_cpu_time;
            totals.jvm_gc_time += m.jvm_gc_time;
            totals.input_bytes += m.input_bytes;
            totals.output_bytes += m.output_bytes;
            totals.shuffle_read_bytes += m.shuffle_read_bytes;
            totals.shuffle_write_bytes += m.shuffle_write_bytes;
            totals.memory_bytes_spilled += m.memory_bytes_spilled;
            totals.disk_bytes_spilled += m.disk_bytes_spilled;
        }
        // Core time allocated: each executor's cores from its addition to its removal (or the
        // application's end); and the most cores alive at once.
        let mut edges: Vec<(i64, i64)> = Vec::new();
        for x in &mut executors {
            let (Some(add), Some(stop)) = (x.add_time, x.remove_time.or(end)) else {
                continue;
            };
            if stop > add {
                let cores = i64::from(x.total_cores);
                totals.core_ms_allocated +=
                    u64::from(x.total_cores).saturating_mul(u64::try_from(stop - add).unwrap_or(0));
                edges.push((add, cores));
                edges.push((stop, -cores));
            }
        }
        edges.sort_unstable();
        let mut alive = 0i64;
        for (_, d) in edges {
            alive += d;
            totals.max_cores = totals.max_cores.max(u64::try_from(alive).unwrap_or(0));
        }
        totals.idle_share = if totals.core_ms_allocated > 0 {
            (1.0 - totals.core_ms_used as f64 / totals.core_ms_allocated as f64).clamp(0.0, 1.0)
        } else {
            0.0
        };

        Model {
            app,
            jobs,
            stages,
            executors,
            sql,
            totals,
            usage: usage.finish(),
        }
    }
}

fn count(stages: &[StageAttempt], st: StageStatus) -> u64 {
    stages.iter().filter(|s| s.status == st).count() as u64
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

fn merge_peaks(into: &mut BTreeMap<String, i64>, from: &sparkplane_eventlog::NumMap<'_>) {
    for (k, v) in from.iter() {
        match into.get_mut(k) {
            Some(x) => *x = (*x).max(v),
            None => {
                into.insert(k.to_owned(), v);
            }
        }
    }
}

fn sums_of(m: &TaskMetrics) -> TaskMetricSums {
    let sr = m.shuffle_read_metrics.as_ref();
    let sw = m.shuffle_write_metrics.as_ref();
    let inp = m.input_metrics.as_ref();
    let out = m.output_metrics.as_ref();
    let remote = nn(sr.and_then(|x| x.remote_bytes_read));
    TaskMetricSums {
        executor_deserialize_time: nn(m.executor_deserialize_time),
        executor_deserialize_cpu_time: nn(m.executor_deserialize_cpu_time),
        executor_run_time: nn(m.executor_run_time),
        executor_cpu_time: nn(m.executor_cpu_time),
        result_size: nn(m.result_size),
        jvm_gc_time: nn(m.jvm_gc_time),
        result_serialization_time: nn(m.result_serialization_time),
        memory_bytes_spilled: nn(m.memory_bytes_spilled),
        disk_bytes_spilled: nn(m.disk_bytes_spilled),
        peak_execution_memory: nn(m.peak_execution_memory),
        input_bytes: nn(inp.and_then(|x| x.bytes_read)),
        input_records: nn(inp.and_then(|x| x.records_read)),
        output_bytes: nn(out.and_then(|x| x.bytes_written)),
        output_records: nn(out.and_then(|x| x.records_written)),
        shuffle_read_bytes: remote + nn(sr.and_then(|x| x.local_bytes_read)),
        shuffle_read_records: nn(sr.and_then(|x| x.total_records_read)),
        shuffle_remote_bytes_read: remote,
        shuffle_fetch_wait_time: nn(sr.and_then(|x| x.fetch_wait_time)),
        shuffle_write_bytes: nn(sw.and_then(|x| x.shuffle_bytes_written)),
        shuffle_write_records: nn(sw.and_then(|x| x.shuffle_records_written)),
        shuffle_write_time: nn(sw.and_then(|x| x.shuffle_write_time)),
    }
}

fn add_sums(a: &mut TaskMetricSums, b: &TaskMetricSums) {
    a.executor_deserialize_time += b.executor_deserialize_time;
    a.executor_deserialize_cpu_time += b.executor_deserialize_cpu_time;
    a.executor_run_time += b.executor_run_time;
    a.executor_cpu_time += b.executor_cpu_time;
    a.result_size += b.result_size;
    a.jvm_gc_time += b.jvm_gc_time;
    a.result_serialization_time += b.result_serialization_time;
    a.memory_bytes_spilled += b.memory_bytes_spilled;
    a.disk_bytes_spilled += b.disk_bytes_spilled;
    a.peak_execution_memory += b.peak_execution_memory;
    a.input_bytes += b.input_bytes;
    a.input_records += b.input_records;
    a.output_bytes += b.output_bytes;
    a.output_records += b.output_records;
    a.shuffle_read_bytes += b.shuffle_read_bytes;
    a.shuffle_read_records += b.shuffle_read_records;
    a.shuffle_remote_bytes_read += b.shuffle_remote_bytes_read;
    a.shuffle_fetch_wait_time += b.shuffle_fetch_wait_time;
    a.shuffle_write_bytes += b.shuffle_write_bytes;
    a.shuffle_write_records += b.shuffle_write_records;
    a.shuffle_write_time += b.shuffle_write_time;
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use sparkplane_eventlog::parse_line;

    fn fold(lines: &[String]) -> Model {
        let mut b = ModelBuilder::new();
        for l in lines {
            let (_, ev) = parse_line(l.as_bytes()).unwrap();
            b.push(&ev);
        }
        b.finish()
    }

    fn stage_info(id: u32, tasks: u32, extra: &str) -> String {
        format!(
            r#"{{"Stage ID":{id},"Stage Attempt ID":0,"Stage Name":"s{id}","Number of Tasks":{tasks},"RDD Info":[],"Accumulables":[]{extra}}}"#
        )
    }

    fn task(
        kind: &str,
        id: u32,
        stage: u32,
        launch: i64,
        finish: i64,
        reason: &str,
        run: u64,
    ) -> String {
        let metrics = format!(
            r#","Task Metrics":{{"Executor Run Time":{run},"JVM GC Time":1,"Input Metrics":{{"Bytes Read":100,"Records Read":1}}}}"#
        );
        format!(
            r#"{{"Event":"SparkListener{kind}","Stage ID":{stage},"Stage Attempt ID":0,"Task End Reason":{{"Reason":"{reason}"}},"Task Info":{{"Task ID":{id},"Index":{id},"Attempt":0,"Launch Time":{launch},"Executor ID":"1","Host":"h","Locality":"ANY","Speculative":false,"Getting Result Time":0,"Finish Time":{finish},"Failed":false,"Killed":false,"Accumulables":[]}}{}}}"#,
            if kind == "TaskEnd" {
                metrics
            } else {
                String::new()
            }
        )
    }

    /// A job over stages 0 and 1 where stage 0 never runs: SKIPPED at job end, with its tasks
    /// counted as skipped; failed and killed tasks add their metrics as the History Server does;
    /// a task end without a start adds no metrics.
    #[test]
    fn follows_history_server_semantics() {
        let lines = vec![
            r#"{"Event":"SparkListenerApplicationStart","App Name":"a","App ID":"app-1","Timestamp":1000,"User":"u"}"#.to_owned(),
            r#"{"Event":"SparkListenerExecutorAdded","Timestamp":1000,"Executor ID":"1","Executor Info":{"Host":"h","Total Cores":2}}"#.to_owned(),
            format!(
                r#"{{"Event":"SparkListenerJobStart","Job ID":0,"Submission Time":1100,"Stage Infos":[{},{}],"Stage IDs":[0,1],"Properties":{{}}}}"#,
                stage_info(0, 4, ""),
                stage_info(1, 3, "")
            ),
            format!(
                r#"{{"Event":"SparkListenerStageSubmitted","Stage Info":{},"Properties":{{}}}}"#,
                stage_info(1, 3, r#","Submission Time":1200"#)
            ),
            task("TaskStart", 1, 1, 1300, 0, "Success", 0),
            task("TaskStart", 2, 1, 1300, 0, "Success", 0),
            task("TaskEnd", 1, 1, 1300, 1400, "Success", 90),
            task("TaskEnd", 2, 1, 1300, 1500, "ExceptionFailure", 150),
            task("TaskStart", 3, 1, 1600, 0, "Success", 0),
            task("TaskStart", 4, 1, 1600, 0, "Success", 0),
            task("TaskEnd", 3, 1, 1600, 1700, "Success", 80),
            task("TaskEnd", 4, 1, 1600, 1650, "TaskKilled", 40),
            // An end whose start was never logged: counted, but adds no metrics.
            task("TaskEnd", 9, 1, 1600, 1650, "Success", 1000),
            format!(
                r#"{{"Event":"SparkListenerStageCompleted","Stage Info":{}}}"#,
                stage_info(1, 3, r#","Submission Time":1200,"Completion Time":1800"#)
            ),
            r#"{"Event":"SparkListenerJobEnd","Job ID":0,"Completion Time":1900,"Job Result":{"Result":"JobSucceeded"}}"#.to_owned(),
            r#"{"Event":"SparkListenerApplicationEnd","Timestamp":3000}"#.to_owned(),
        ];
        let m = fold(&lines);
        assert_eq!(m.stages.len(), 2);
        let s0 = &m.stages[0];
        assert_eq!(s0.status, StageStatus::Skipped);
        assert_eq!(s0.metrics, TaskMetricSums::default());
        let s1 = &m.stages[1];
        assert_eq!(s1.status, StageStatus::Complete);
        assert_eq!(
            (
                s1.num_complete_tasks,
                s1.num_failed_tasks,
                s1.num_killed_tasks
            ),
            (3, 1, 1)
        );
        assert_eq!(s1.metrics.executor_run_time, 90 + 150 + 80 + 40);
        assert_eq!(s1.metrics.input_bytes, 400);
        assert_eq!(s1.metrics.jvm_gc_time, 4);
        // Quantiles over the two successful started tasks (100 ms and 100 ms).
        assert_eq!(s1.tasks.successful_tasks, 2);
        assert_eq!(s1.tasks.duration.map(|q| q.max), Some(100));
        let j = &m.jobs[0];
        assert_eq!(j.status, JobStatus::Succeeded);
        assert_eq!(j.num_tasks, 7);
        assert_eq!(j.num_skipped_tasks, 4);
        assert_eq!(
            (
                j.num_completed_tasks,
                j.num_failed_tasks,
                j.num_killed_tasks
            ),
            (3, 1, 1)
        );
        // Idle: 1000..1300, 1500..1600, 1700..3000.
        assert_eq!(m.totals.driver_idle_ms, 300 + 100 + 1300);
        assert_eq!(m.totals.idle_stretches[0].duration_ms, 1300);
        // 2 cores × 2 s allocated; 100+200+100+50+50 ms used.
        assert_eq!(m.totals.core_ms_allocated, 4000);
        assert_eq!(m.totals.core_ms_used, 500);
        assert_eq!(m.totals.max_cores, 2);
    }

    /// SQL metrics: plan accumulators get driver updates and successful tasks' updates (a
    /// failed task's are dropped); adaptive re-planning replaces plan text and node names.
    #[test]
    fn sql_metrics_fold_from_driver_and_task_updates() {
        let plan = |name: &str, acc: u32| {
            format!(
                r#"{{"nodeName":"{name}","simpleString":"{name}","children":[{{"nodeName":"Scan parquet","simpleString":"x","children":[],"metadata":{{}},"metrics":[{{"name":"number of files read","accumulatorId":7,"metricType":"sum"}},{{"name":"number of output rows","accumulatorId":{acc},"metricType":"sum"}}]}}],"metadata":{{}},"metrics":[]}}"#
            )
        };
        let task_end = |id: u32, reason: &str, rows: u32| {
            format!(
                r#"{{"Event":"SparkListenerTaskEnd","Stage ID":0,"Stage Attempt ID":0,"Task End Reason":{{"Reason":"{reason}"}},"Task Info":{{"Task ID":{id},"Index":{id},"Attempt":0,"Launch Time":10,"Executor ID":"1","Host":"h","Locality":"ANY","Speculative":false,"Getting Result Time":0,"Finish Time":20,"Failed":false,"Killed":false,"Accumulables":[{{"ID":8,"Name":"number of output rows","Update":"{rows}","Value":"{rows}","Internal":true,"Count Failed Values":true,"Metadata":"sql"}}]}}}}"#
            )
        };
        let lines = vec![
            format!(
                r#"{{"Event":"org.apache.spark.sql.execution.ui.SparkListenerSQLExecutionStart","executionId":3,"description":"select 1","details":"","physicalPlanDescription":"== Physical Plan ==\nA","sparkPlanInfo":{},"time":5}}"#,
                plan("Project", 8)
            ),
            r#"{"Event":"org.apache.spark.sql.execution.ui.SparkListenerDriverAccumUpdates","executionId":3,"accumUpdates":[[7,42]]}"#.to_owned(),
            task_end(1, "Success", 10),
            task_end(2, "Success", 5),
            task_end(3, "ExceptionFailure", 1000),
            format!(
                r#"{{"Event":"org.apache.spark.sql.execution.ui.SparkListenerSQLAdaptiveExecutionUpdate","executionId":3,"physicalPlanDescription":"== Physical Plan ==\nB","sparkPlanInfo":{}}}"#,
                plan("BroadcastNestedLoopJoin", 8)
            ),
            r#"{"Event":"org.apache.spark.sql.execution.ui.SparkListenerSQLExecutionEnd","executionId":3,"time":50,"errorMessage":""}"#.to_owned(),
        ];
        let m = fold(&lines);
        let q = &m.sql[0];
        assert_eq!(q.duration_ms(), Some(45));
        assert_eq!(q.error_message, None);
        assert!(q.physical_plan.ends_with('B'));
        assert_eq!(
            q.node_names,
            vec!["BroadcastNestedLoopJoin", "Scan parquet"]
        );
        let metric = |name: &str| q.metrics.iter().find(|x| x.name == name).unwrap();
        assert_eq!(metric("number of files read").value, 42);
        assert_eq!(metric("number of output rows").value, 15);
        assert_eq!(metric("number of output rows").max_update, 10);
        assert_eq!(metric("number of output rows").updates, 2);
    }
}
