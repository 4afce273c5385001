//! A port of Spark's `SQLAppStatusListener` (replay mode), `SparkPlanGraph` and `SqlResource`:
//! SQL executions with their plan graph and metric values, as `/sql` and `/sql/{id}` answer.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::{json, Value};
use sparkplane_eventlog::events;

use crate::sqlfmt::{needs_max, scala_int_order, string_value};
use crate::time::format_gmt;

/// One node of a plan graph (`SparkPlanGraphNode`, or a `SparkPlanGraphCluster`).
#[derive(Debug, Clone)]
struct GraphNode {
    id: i64,
    name: String,
    desc: String,
    /// `(name, accumulator id, metric type)`.
    metrics: Vec<(String, i64, String)>,
    /// The cluster (WholeStageCodegen) this node is inside, by cluster name.
    cluster: Option<String>,
}

/// `SparkPlanGraph`: every node (cluster members and clusters) and the edges.
#[derive(Debug, Clone, Default)]
pub struct PlanGraph {
    nodes: Vec<GraphNode>,
    edges: Vec<(i64, i64)>,
}

/// `SparkPlanInfo` equality (node name, simple string, children), as a string key.
fn plan_key(p: &Value) -> String {
    let mut s = String::new();
    fn walk(p: &Value, s: &mut String) {
        s.push('(');
        s.push_str(p.get("nodeName").and_then(Value::as_str).unwrap_or(""));
        s.push('\u{1}');
        s.push_str(p.get("simpleString").and_then(Value::as_str).unwrap_or(""));
        for c in children(p) {
            walk(c, s);
        }
        s.push(')');
    }
    walk(p, &mut s);
    s
}

fn children(p: &Value) -> &[Value] {
    p.get("children")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

fn plan_metrics(p: &Value) -> Vec<(String, i64, String)> {
    p.get("metrics")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|m| {
                    Some((
                        m.get("name")?.as_str()?.to_owned(),
                        m.get("accumulatorId")?.as_i64()?,
                        m.get("metricType")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_owned(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

struct Builder {
    next: i64,
    /// Top-level nodes in creation order; a cluster's members follow in `members`.
    top: Vec<GraphNode>,
    members: HashMap<i64, Vec<GraphNode>>,
    edges: Vec<(i64, i64)>,
    exchanges: HashMap<String, i64>,
}

impl Builder {
    fn build(&mut self, p: &Value, parent: Option<i64>, cluster: Option<(i64, &str)>) {
        let name = p.get("nodeName").and_then(Value::as_str).unwrap_or("");
        let first = children(p).first();
        if name.starts_with("WholeStageCodegen") {
            let id = self.next;
            self.next += 1;
            self.top.push(GraphNode {
                id,
                name: name.to_owned(),
                desc: p
                    .get("simpleString")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned(),
                metrics: plan_metrics(p),
                cluster: None,
            });
            self.members.insert(id, Vec::new());
            if let Some(c) = first {
                self.build(c, parent, Some((id, name)));
            }
            return;
        }
        if name == "InputAdapter" {
            if let Some(c) = first {
                self.build(c, parent, None);
            }
            return;
        }
        if name.ends_with("QueryStage") {
            if let Some(c) = first {
                if let Some(&node) = self.exchanges.get(&plan_key(c)) {
                    if let Some(par) = parent {
                        self.edges.push((node, par));
                    }
                } else {
                    self.build(c, parent, None);
                }
            }
            return;
        }
        if name == "Subquery" && cluster.is_some() {
            self.build(p, parent, None);
            return;
        }
        if name == "Subquery" {
            if let Some(&node) = self.exchanges.get(&plan_key(p)) {
                if let Some(par) = parent {
                    self.edges.push((node, par));
                }
                return;
            }
        }
        if name == "ReusedSubquery" {
            if let Some(c) = first {
                self.build(c, parent, cluster);
            }
            return;
        }
        if name == "ReusedExchange" {
            if let Some(&node) = first.and_then(|c| self.exchanges.get(&plan_key(c))) {
                if let Some(par) = parent {
                    self.edges.push((node, par));
                }
                return;
            }
        }
        let id = self.next;
        self.next += 1;
        let node = GraphNode {
            id,
            name: name.to_owned(),
            desc: p
                .get("simpleString")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned(),
            metrics: plan_metrics(p),
            cluster: cluster.map(|(_, n)| n.to_owned()),
        };
        match cluster.and_then(|(cid, _)| self.members.get_mut(&cid)) {
            Some(m) => m.push(node),
            None => self.top.push(node),
        }
        if name.contains("Exchange") || name == "Subquery" {
            self.exchanges.insert(plan_key(p), id);
        }
        if let Some(par) = parent {
            self.edges.push((id, par));
        }
        for c in children(p) {
            self.build(c, Some(id), cluster);
        }
    }
}

impl PlanGraph {
    /// `SparkPlanGraph(planInfo)`.
    pub fn from_plan(plan: &Value) -> Self {
        let mut b = Builder {
            next: 0,
            top: Vec::new(),
            members: HashMap::new(),
            edges: Vec::new(),
            exchanges: HashMap::new(),
        };
        b.build(plan, None, None);
        // `allNodes`: a cluster's members, then the cluster.
        let mut nodes = Vec::new();
        for n in b.top {
            if let Some(m) = b.members.remove(&n.id) {
                nodes.extend(m);
            }
            nodes.push(n);
        }
        Self {
            nodes,
            edges: b.edges,
        }
    }

    /// `(accumulator id, metric type)` of every metric, as `allNodes.flatMap(metrics).toMap`.
    fn metrics(&self) -> Vec<(i64, String)> {
        let mut seen = HashMap::new();
        let mut out: Vec<(i64, String)> = Vec::new();
        for n in &self.nodes {
            for (_, id, t) in &n.metrics {
                match seen.get(id) {
                    Some(&i) => out[i] = (*id, t.clone()),
                    None => {
                        seen.insert(*id, out.len());
                        out.push((*id, t.clone()));
                    }
                }
            }
        }
        out
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum JobStatus {
    Running,
    Succeeded,
    Failed,
}

#[derive(Debug, Default)]
struct Execution {
    id: i64,
    root_id: i64,
    query_id: Option<String>,
    description: Option<String>,
    plan_description: Option<String>,
    modified_configs: Option<Value>,
    metric_types: HashMap<i64, String>,
    graph: PlanGraph,
    submission_time: i64,
    completion_time: Option<i64>,
    error_message: Option<String>,
    /// Job ids in first-insertion order, with their status.
    jobs: Vec<(i64, JobStatus)>,
    /// Stage ids in first-insertion order.
    stages: Vec<i64>,
    stage_set: HashSet<i64>,
    driver_updates: Vec<(i64, i64)>,
    metric_values: Option<HashMap<i64, String>>,
    end_events: usize,
    live: bool,
}

#[derive(Debug)]
struct StageMetrics {
    stage_id: i64,
    attempt_id: i64,
    num_tasks: usize,
    exec_id: i64,
    task_indices: HashMap<i64, i64>,
    completed: HashSet<i64>,
    values: HashMap<i64, Vec<i64>>,
    /// accumulator id → (max value, task id)
    max: HashMap<i64, (i64, i64)>,
}

/// The SQL side of one application.
#[derive(Debug, Default)]
pub struct SqlState {
    execs: BTreeMap<i64, Execution>,
    stage_metrics: HashMap<i64, StageMetrics>,
}

const EXECUTION_ID: &str = "spark.sql.execution.id";

impl SqlState {
    fn live_exec(&mut self, id: i64) -> Option<&mut Execution> {
        self.execs.get_mut(&id).filter(|e| e.live)
    }

    fn get_or_create(&mut self, id: i64) -> &mut Execution {
        let e = self.execs.entry(id).or_insert_with(|| Execution {
            id,
            root_id: id,
            submission_time: -1,
            live: true,
            ..Execution::default()
        });
        e.live = true;
        e
    }

    /// One of the `org.apache.spark.sql.execution.ui.*` events, as raw JSON.
    pub fn on_sql_event(&mut self, name: &str, v: &Value) {
        let Some(id) = v.get("executionId").and_then(Value::as_i64) else {
            return;
        };
        let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
        match name.rsplit('.').next().unwrap_or("") {
            "SparkListenerSQLExecutionStart" => {
                let graph = v
                    .get("sparkPlanInfo")
                    .map(PlanGraph::from_plan)
                    .unwrap_or_default();
                let e = self.get_or_create(id);
                e.root_id = v
                    .get("rootExecutionId")
                    .and_then(Value::as_i64)
                    .unwrap_or(id);
                e.query_id = s("queryId");
                e.description = s("description");
                e.plan_description = s("physicalPlanDescription");
                e.modified_configs = v.get("modifiedConfigs").cloned();
                for (mid, t) in graph.metrics() {
                    e.metric_types.insert(mid, t);
                }
                e.graph = graph;
                e.submission_time = v.get("time").and_then(Value::as_i64).unwrap_or(-1);
                self.update(id, false);
            }
            "SparkListenerSQLAdaptiveExecutionUpdate" => {
                let graph = v
                    .get("sparkPlanInfo")
                    .map(PlanGraph::from_plan)
                    .unwrap_or_default();
                let e = self.get_or_create(id);
                e.plan_description = s("physicalPlanDescription");
                for (mid, t) in graph.metrics() {
                    e.metric_types.insert(mid, t);
                }
                e.graph = graph;
                self.update(id, false);
            }
            "SparkListenerSQLAdaptiveSQLMetricUpdates" => {
                let e = self.get_or_create(id);
                for m in v
                    .get("sqlPlanMetrics")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if let Some(mid) = m.get("accumulatorId").and_then(Value::as_i64) {
                        let t = m.get("metricType").and_then(Value::as_str).unwrap_or("");
                        e.metric_types.insert(mid, t.to_owned());
                    }
                }
                self.update(id, false);
            }
            "SparkListenerSQLExecutionEnd" => {
                let Some(e) = self.live_exec(id) else {
                    return;
                };
                e.completion_time = v.get("time").and_then(Value::as_i64);
                e.error_message = match v.get("errorMessage") {
                    Some(Value::String(m)) => Some(m.clone()),
                    _ => None,
                };
                let values = self.aggregate(id);
                if let Some(e) = self.execs.get_mut(&id) {
                    if e.metric_values.is_none() {
                        e.metric_values = Some(values);
                    }
                    e.end_events += 1;
                }
                self.remove_stale(id);
                self.update(id, true);
            }
            "SparkListenerDriverAccumUpdates" => {
                let Some(e) = self.live_exec(id) else {
                    return;
                };
                for u in v
                    .get("accumUpdates")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if let (Some(a), Some(b)) = (
                        u.get(0).and_then(Value::as_i64),
                        u.get(1).and_then(Value::as_i64),
                    ) {
                        e.driver_updates.push((a, b));
                    }
                }
            }
            _ => {}
        }
    }

    fn update(&mut self, id: i64, _force: bool) {
        let done = self
            .execs
            .get(&id)
            .is_some_and(|e| e.live && e.end_events > e.jobs.len());
        if done {
            self.remove_stale(id);
            if let Some(e) = self.execs.get_mut(&id) {
                e.live = false;
            }
        }
    }

    fn remove_stale(&mut self, id: i64) {
        let active: HashSet<i64> = self
            .execs
            .values()
            .filter(|e| e.live && e.id != id)
            .flat_map(|e| e.stages.iter().copied())
            .collect();
        self.stage_metrics.retain(|k, _| active.contains(k));
    }

    fn is_sql_stage(&self, stage: i64) -> bool {
        self.execs
            .values()
            .any(|e| e.live && e.stage_set.contains(&stage))
    }

    /// `onJobStart`.
    pub fn on_job_start(&mut self, j: &events::JobStart<'_>) {
        let Some(id) = j
            .properties
            .get(EXECUTION_ID)
            .and_then(|s| s.trim().parse::<i64>().ok())
        else {
            return;
        };
        let e = match self.execs.get_mut(&id) {
            Some(e) if !e.live => {
                // Read back from the store: it ends once its jobs end again.
                e.live = true;
                e.end_events = e.jobs.len() + 1;
                e
            }
            _ => self.get_or_create(id),
        };
        let has_metrics = !e.metric_types.is_empty();
        match e.jobs.iter_mut().find(|(k, _)| *k == j.job_id) {
            Some(x) => x.1 = JobStatus::Running,
            None => e.jobs.push((j.job_id, JobStatus::Running)),
        }
        for s in &j.stage_ids {
            if e.stage_set.insert(*s) {
                e.stages.push(*s);
            }
        }
        if has_metrics {
            for s in &j.stage_infos {
                self.stage_metrics.insert(
                    s.stage_id,
                    StageMetrics {
                        stage_id: s.stage_id,
                        attempt_id: 0,
                        num_tasks: usize::try_from(s.number_of_tasks).unwrap_or(0),
                        exec_id: id,
                        task_indices: HashMap::new(),
                        completed: HashSet::new(),
                        values: HashMap::new(),
                        max: HashMap::new(),
                    },
                );
            }
        }
        self.update(id, true);
    }

    /// `onJobEnd`.
    pub fn on_job_end(&mut self, j: &events::JobEnd<'_>) {
        let status = if j.job_result.succeeded() {
            JobStatus::Succeeded
        } else {
            JobStatus::Failed
        };
        let ids: Vec<i64> = self
            .execs
            .values_mut()
            .filter(|e| e.live)
            .filter_map(|e| {
                let x = e.jobs.iter_mut().find(|(k, _)| *k == j.job_id)?;
                x.1 = status;
                e.end_events += 1;
                Some(e.id)
            })
            .collect();
        for id in ids {
            self.update(id, false);
        }
    }

    /// `onStageSubmitted`.
    pub fn on_stage_submitted(&mut self, info: &events::StageInfo<'_>) {
        if !self.is_sql_stage(info.stage_id) {
            return;
        }
        let attempt = info.attempt();
        if let Some(m) = self.stage_metrics.get_mut(&info.stage_id) {
            if m.attempt_id != attempt {
                *m = StageMetrics {
                    stage_id: m.stage_id,
                    attempt_id: attempt,
                    num_tasks: m.num_tasks,
                    exec_id: m.exec_id,
                    task_indices: HashMap::new(),
                    completed: HashSet::new(),
                    values: HashMap::new(),
                    max: HashMap::new(),
                };
            }
        }
    }

    /// `onTaskStart`.
    pub fn on_task_start(&mut self, t: &events::TaskStart<'_>) {
        if let Some(m) = self.stage_metrics.get_mut(&t.stage_id) {
            if m.attempt_id == t.stage_attempt_id.unwrap_or(0) {
                m.task_indices
                    .insert(t.task_info.task_id, t.task_info.index);
            }
        }
    }

    /// `onTaskEnd`.
    pub fn on_task_end(&mut self, t: &events::TaskEnd<'_>) {
        if self.stage_metrics.is_empty() || !self.is_sql_stage(t.stage_id) {
            return;
        }
        let info = &t.task_info;
        let succeeded = info.finish_time > 0 && !info.failed && !info.killed.unwrap_or(false);
        let Some(m) = self.stage_metrics.get_mut(&t.stage_id) else {
            return;
        };
        if m.attempt_id != t.stage_attempt_id.unwrap_or(0) {
            return;
        }
        let Some(types) = self.execs.get(&m.exec_id).map(|e| &e.metric_types) else {
            return;
        };
        let idx = info.index;
        m.task_indices.insert(info.task_id, idx);
        if m.completed.contains(&idx) {
            return;
        }
        let Ok(slot) = usize::try_from(idx) else {
            return;
        };
        for a in &info.accumulables {
            let Some(t) = types.get(&a.id) else {
                continue;
            };
            let Some(value) = a.update.as_ref().and_then(|u| u.as_i64()) else {
                continue;
            };
            let n = m.num_tasks;
            let arr = m.values.entry(a.id).or_insert_with(|| vec![0; n]);
            if slot < arr.len() {
                arr[slot] = value;
            }
            if needs_max(t) {
                let e = m.max.entry(a.id).or_insert((value, info.task_id));
                if value > e.0 {
                    *e = (value, info.task_id);
                }
            }
        }
        if succeeded {
            m.completed.insert(idx);
        }
    }

    /// `aggregateMetrics`: accumulator id → the printed value.
    fn aggregate(&self, id: i64) -> HashMap<i64, String> {
        let Some(e) = self.execs.get(&id) else {
            return HashMap::new();
        };
        let stages: Vec<&StageMetrics> = scala_int_order(&e.stages)
            .into_iter()
            .filter_map(|s| self.stage_metrics.get(&s))
            .collect();
        let mut max_all: HashMap<i64, [i64; 4]> = HashMap::new();
        for st in &stages {
            for (aid, (v, task)) in &st.max {
                if !e.metric_types.contains_key(aid) {
                    continue;
                }
                let m = max_all
                    .entry(*aid)
                    .or_insert([*v, st.stage_id, st.attempt_id, *task]);
                if *v > m[0] {
                    *m = [*v, st.stage_id, st.attempt_id, *task];
                }
            }
        }
        let mut driver: HashMap<i64, Vec<i64>> = HashMap::new();
        for (aid, v) in &e.driver_updates {
            if e.metric_types.contains_key(aid) {
                driver.entry(*aid).or_default().push(*v);
            }
        }
        let mut ids: HashSet<i64> = stages
            .iter()
            .flat_map(|s| s.values.keys().copied())
            .filter(|k| e.metric_types.contains_key(k))
            .collect();
        ids.extend(driver.keys().copied());
        let mut out = HashMap::new();
        for aid in ids {
            let t = e.metric_types.get(&aid).map_or("", String::as_str);
            let dv = driver.get(&aid).map(Vec::as_slice).unwrap_or(&[]);
            let mut max = max_all.get(&aid).copied();
            if max.is_some_and(|m| dv.iter().any(|d| *d > m[0])) {
                max = None;
            }
            let mut values: Vec<i64> = Vec::new();
            for st in &stages {
                if let Some(v) = st.values.get(&aid) {
                    values.extend_from_slice(v);
                }
            }
            values.extend_from_slice(dv);
            if t == "sum" {
                values = vec![values.iter().fold(0i64, |a, b| a.wrapping_add(*b))];
            }
            out.insert(aid, string_value(t, &values, max));
        }
        out
    }

    /// What SHS does when replay stops: executions still running get their metrics so far.
    pub fn finish(&mut self) {
        let live: Vec<i64> = self
            .execs
            .values()
            .filter(|e| e.live && e.metric_values.is_none())
            .map(|e| e.id)
            .collect();
        for id in live {
            let v = self.aggregate(id);
            if let Some(e) = self.execs.get_mut(&id) {
                e.metric_values = Some(v);
            }
        }
        self.stage_metrics.clear();
    }

    /// Execution ids, ascending.
    pub fn ids(&self) -> Vec<i64> {
        self.execs.keys().copied().collect()
    }

    /// `ExecutionData` of one execution (`now`: epoch ms for a running one's duration).
    pub fn execution(&self, id: i64, details: bool, plan: bool, now: i64) -> Option<Value> {
        let e = self.execs.get(&id)?;
        let (mut running, mut success, mut failed) = (Vec::new(), Vec::new(), Vec::new());
        let ids: Vec<i64> = e.jobs.iter().map(|j| j.0).collect();
        for j in scala_int_order(&ids) {
            match e.jobs.iter().find(|x| x.0 == j).map(|x| x.1) {
                Some(JobStatus::Running) => running.push(j),
                Some(JobStatus::Succeeded) => success.push(j),
                Some(JobStatus::Failed) => failed.push(j),
                None => {}
            }
        }
        let status = match (&e.completion_time, &e.error_message) {
            (None, _) => "RUNNING",
            (Some(_), Some(m)) if !m.is_empty() => "FAILED",
            _ => "COMPLETED",
        };
        let nodes: Vec<Value> = if details {
            let empty = HashMap::new();
            let values = e.metric_values.as_ref().unwrap_or(&empty);
            let mut v: Vec<&GraphNode> = e.graph.nodes.iter().collect();
            v.sort_by_key(|n| std::cmp::Reverse(n.id));
            v.into_iter()
                .map(|n| {
                    let metrics: Vec<Value> = n
                        .metrics
                        .iter()
                        .filter_map(|(name, aid, _)| {
                            let mv = values.get(aid)?;
                            let mv = mv.strip_prefix('\n').unwrap_or(mv);
                            Some(json!({"name": name.trim(), "value": mv}))
                        })
                        .collect();
                    let mut o = serde_json::Map::new();
                    o.insert("nodeId".into(), json!(n.id));
                    o.insert("nodeName".into(), json!(n.name.trim()));
                    o.insert("desc".into(), json!(n.desc));
                    if let Some(c) = n.cluster.as_deref().map(str::trim) {
                        if let Some(wid) = c
                            .strip_prefix("WholeStageCodegen (")
                            .and_then(|r| r.strip_suffix(')'))
                            .and_then(|r| r.parse::<i64>().ok())
                        {
                            o.insert("wholeStageCodegenId".into(), json!(wid));
                        }
                    }
                    o.insert("metrics".into(), Value::Array(metrics));
                    Value::Object(o)
                })
                .collect()
        } else {
            Vec::new()
        };
        let edges: Vec<Value> = if details {
            e.graph
                .edges
                .iter()
                .map(|(f, t)| json!({"fromId": f, "toId": t}))
                .collect()
        } else {
            Vec::new()
        };
        let mut o = serde_json::Map::new();
        o.insert("id".into(), json!(e.id));
        o.insert("status".into(), json!(status));
        if let Some(d) = &e.description {
            o.insert("description".into(), json!(d));
        }
        let pd = if plan {
            e.plan_description.clone()
        } else {
            Some(String::new())
        };
        if let Some(pd) = pd {
            o.insert("planDescription".into(), json!(pd));
        }
        o.insert(
            "submissionTime".into(),
            json!(format_gmt(e.submission_time)),
        );
        o.insert(
            "duration".into(),
            json!(e.completion_time.unwrap_or(now) - e.submission_time),
        );
        o.insert("runningJobIds".into(), json!(running));
        o.insert("successJobIds".into(), json!(success));
        o.insert("failedJobIds".into(), json!(failed));
        o.insert("nodes".into(), Value::Array(nodes));
        o.insert("edges".into(), Value::Array(edges));
        if let Some(q) = &e.query_id {
            o.insert("queryId".into(), json!(q));
        }
        if let Some(m) = &e.error_message {
            o.insert("errorMessage".into(), json!(m));
        }
        o.insert("rootExecutionId".into(), json!(e.root_id));
        if let Some(c) = &e.modified_configs {
            o.insert("modifiedConfigs".into(), c.clone());
        }
        Some(Value::Object(o))
    }

    /// `/sql` (`offset`, `length`: `length <= 0` means all).
    pub fn list(&self, details: bool, plan: bool, offset: usize, length: i64, now: i64) -> Value {
        let ids = self.ids();
        let it = ids.into_iter();
        let v: Vec<Value> = if length <= 0 {
            it.filter_map(|i| self.execution(i, details, plan, now))
                .collect()
        } else {
            it.skip(offset)
                .take(usize::try_from(length).unwrap_or(usize::MAX))
                .filter_map(|i| self.execution(i, details, plan, now))
                .collect()
        };
        Value::Array(v)
    }
}
