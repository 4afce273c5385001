//! The run list of an instance: filters from the query string, one page from the summaries
//! store (newest first), and the runner's active applications for live state.

use serde::Deserialize;
use sparkplane_store::{RunStatus, SummaryQuery, SummaryRecord};

use super::pages::PageError;
use super::views::{ActiveRow, RunRow, RunsFilter};
use super::PortalState;

/// Rows per page of the run list.
pub const PAGE_SIZE: i64 = 50;

/// Query string of the run list.
#[derive(Debug, Default, Deserialize)]
pub struct RunsQuery {
    /// Name contains (case-insensitive).
    pub q: Option<String>,
    /// `succeeded|failed|running|unknown`.
    pub status: Option<String>,
    /// Insight kind.
    pub insight: Option<String>,
    /// 1-based page.
    pub page: Option<i64>,
}

impl RunsQuery {
    /// Validated filters.
    pub fn filter(&self) -> Result<RunsFilter, PageError> {
        let q = self
            .q
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| s.chars().take(200).collect::<String>());
        let status = match self.status.as_deref().filter(|s| !s.is_empty()) {
            None => None,
            Some(s) => Some(
                s.parse::<RunStatus>()
                    .map_err(|_| PageError::BadRequest(format!("unknown status `{s}`")))?,
            ),
        };
        let insight = match self.insight.as_deref().filter(|s| !s.is_empty()) {
            None => None,
            Some(k) if KINDS.contains(&k) => Some(k.to_owned()),
            Some(k) => return Err(PageError::BadRequest(format!("unknown insight kind `{k}`"))),
        };
        let page = self.page.unwrap_or(1).clamp(1, 1_000_000);
        Ok(RunsFilter {
            q,
            status,
            insight,
            page,
        })
    }
}

/// Insight kinds offered as filters (DESIGN.md).
pub const KINDS: [&str; 12] = [
    "data_skew",
    "spill",
    "small_files",
    "task_failures",
    "job_failure",
    "tiny_tasks",
    "low_core_utilization",
    "gc_pressure",
    "large_broadcast",
    "python_udf",
    "nested_loop_join",
    "driver_idle",
];

/// One page of runs and the total matching.
pub async fn page(
    state: &PortalState,
    instance_id: &str,
    f: &RunsFilter,
) -> Result<(Vec<RunRow>, i64), PageError> {
    let q = SummaryQuery {
        instance_id: instance_id.to_owned(),
        insight: f.insight.clone(),
        status: f.status,
        name_contains: f.q.clone(),
        offset: (f.page - 1).saturating_mul(PAGE_SIZE),
        limit: PAGE_SIZE,
        with_total: true,
        ..Default::default()
    };
    let p = state
        .app
        .store
        .summaries(&q)
        .await
        .map_err(PageError::store)?;
    let total = p.total.unwrap_or(p.items.len() as i64);
    Ok((p.items.iter().map(|r| row(instance_id, r)).collect(), total))
}

fn row(instance_id: &str, r: &SummaryRecord) -> RunRow {
    RunRow {
        href: format!("/ui/i/{instance_id}/apps/{}", r.id),
        name: r.name.clone().unwrap_or_else(|| r.app_id.clone()),
        app_id: r.app_id.clone(),
        attempt: r.attempt.clone(),
        status: r.status.as_str().to_owned(),
        started: r.start_time.map(super::views::utc).unwrap_or_default(),
        duration: r
            .duration_ms
            .map(|d| super::views::dur(d.max(0)))
            .unwrap_or_else(|| "—".into()),
        cost: r.cost.map(super::pages::money),
        core_hours: format!("{:.2}", r.core_hours),
        top_severity: r
            .top_severity
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default(),
        insights: r.insight_kinds.iter().take(3).cloned().collect(),
        more_insights: r.insight_kinds.len().saturating_sub(3),
        origin: r.origin.to_string(),
    }
}

/// The runner's applications of the instance that have not ended (live state).
pub async fn active(state: &PortalState, instance_id: &str) -> Vec<ActiveRow> {
    let Some(runner) = state.app.runner.clone() else {
        return Vec::new();
    };
    let id = instance_id.to_owned();
    let recs = tokio::task::spawn_blocking(move || runner.list(&id, None))
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default();
    recs.iter()
        .filter(|r| {
            matches!(
                r.state().to_string().as_str(),
                "accepted" | "waiting" | "submitted" | "running"
            )
        })
        .take(20)
        .map(|r| ActiveRow {
            id: r.id.clone(),
            name: r.name.clone().unwrap_or_else(|| r.application.clone()),
            state: r.state().to_string(),
        })
        .collect()
}
