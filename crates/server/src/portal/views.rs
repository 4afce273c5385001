//! Template structs of the portal pages (askama, `crates/server/templates/`) and the small
//! formatting helpers they use. Templates escape everything; only the SVG charts (built and
//! escaped by `charts`) are inserted as markup.

use askama::Template;
use sparkplane_store::RunStatus;

/// What every page's frame shows: who is logged in, the logout form's CSRF token.
pub struct Nav {
    /// Display name.
    pub user: String,
    /// E-mail, if known.
    pub email: String,
    /// CSRF token of the session (logout and every form).
    pub csrf: String,
    /// Platform Administrator (audit link).
    pub admin: bool,
}

/// The login page.
#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage {
    pub oidc: bool,
    pub issuer: String,
    pub error: Option<String>,
    pub next: String,
    pub csrf: String,
}

/// Logged in at the provider, but on no access policy.
#[derive(Template)]
#[template(path = "not_authorized.html")]
pub struct NotAuthorizedPage {
    pub name: String,
    pub email: Option<String>,
}

/// An error page.
#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub status: u16,
    pub title: String,
    pub message: String,
}

/// One instance card.
pub struct InstanceCard {
    pub id: String,
    pub name: String,
    pub role: String,
    pub spark_version: String,
    pub created: String,
    pub runs: i64,
}

/// `/ui/`: the instances the viewer may see.
#[derive(Template)]
#[template(path = "instances.html")]
pub struct InstancesPage {
    pub nav: Nav,
    pub instances: Vec<InstanceCard>,
}

/// Validated run-list filters.
#[derive(Debug, Clone, Default)]
pub struct RunsFilter {
    pub q: Option<String>,
    pub status: Option<RunStatus>,
    pub insight: Option<String>,
    pub page: i64,
}

impl RunsFilter {
    /// Query string for these filters at `page`.
    pub fn query(&self, page: i64) -> String {
        let mut s = form_urlencoded::Serializer::new(String::new());
        if let Some(q) = &self.q {
            s.append_pair("q", q);
        }
        if let Some(st) = self.status {
            s.append_pair("status", st.as_str());
        }
        if let Some(i) = &self.insight {
            s.append_pair("insight", i);
        }
        if page > 1 {
            s.append_pair("page", &page.to_string());
        }
        s.finish()
    }
    /// The search text (empty when none).
    pub fn q_text(&self) -> &str {
        self.q.as_deref().unwrap_or("")
    }
    /// Selected status string (empty when none).
    pub fn status_text(&self) -> &str {
        self.status.map(|s| s.as_str()).unwrap_or("")
    }
    /// Selected insight kind (empty when none).
    pub fn insight_text(&self) -> &str {
        self.insight.as_deref().unwrap_or("")
    }
}

/// One run in the list.
pub struct RunRow {
    pub href: String,
    pub name: String,
    pub app_id: String,
    pub attempt: String,
    pub status: String,
    pub started: String,
    pub duration: String,
    pub cost: Option<String>,
    pub core_hours: String,
    pub top_severity: String,
    pub insights: Vec<String>,
    pub more_insights: usize,
    pub origin: String,
}

/// A runner application that has not ended.
pub struct ActiveRow {
    pub id: String,
    pub name: String,
    pub state: String,
}

/// The polled part of the run list (table, pager, active runs).
#[derive(Template)]
#[template(path = "runs_rows.html")]
pub struct RunsRows {
    pub rows: Vec<RunRow>,
    pub active: Vec<ActiveRow>,
    pub total: i64,
    pub first: i64,
    pub last: i64,
    pub prev: Option<String>,
    pub next: Option<String>,
    pub poll: String,
}

/// Tabs of an instance's pages.
pub struct InstanceHeader {
    pub id: String,
    pub name: String,
    pub role: String,
    pub manager: bool,
    pub tab: &'static str,
}

/// `/ui/i/{id}`: the run list.
#[derive(Template)]
#[template(path = "runs.html")]
pub struct RunsPage {
    pub nav: Nav,
    pub inst: InstanceHeader,
    pub filter: RunsFilter,
    pub kinds: Vec<&'static str>,
    pub statuses: Vec<&'static str>,
    pub rows: RunsRows,
}

/// A headline number.
pub struct Kpi {
    pub label: &'static str,
    pub value: String,
    pub sub: String,
    pub tone: &'static str,
}

/// One insight.
pub struct InsightView {
    pub severity: String,
    pub kind: String,
    pub title: String,
    pub message: String,
    pub evidence: Vec<(String, String)>,
    pub thresholds: Vec<(String, String)>,
}

/// A stage row.
pub struct StageRow {
    pub id: String,
    pub name: String,
    pub status: String,
    pub tasks: String,
    pub duration: String,
    pub input: String,
    pub shuffle_read: String,
    pub shuffle_write: String,
    pub spill: String,
    pub median: String,
    pub max: String,
}

/// A job row.
pub struct JobRow {
    pub id: u32,
    pub name: String,
    pub status: String,
    pub stages: String,
    pub tasks: String,
    pub duration: String,
}

/// An SQL execution.
pub struct SqlRow {
    pub id: u64,
    pub description: String,
    pub status: String,
    pub duration: String,
    pub jobs: String,
    pub plan: String,
}

/// An executor row.
pub struct ExecRow {
    pub id: String,
    pub host: String,
    pub cores: u32,
    pub tasks: String,
    pub duration: String,
    pub gc: String,
    pub input: String,
    pub shuffle: String,
    pub removed: String,
}

/// `/ui/i/{id}/apps/{summary}`: one application.
#[derive(Template)]
#[template(path = "app.html")]
pub struct AppPage {
    pub nav: Nav,
    pub inst: InstanceHeader,
    pub name: String,
    pub app_id: String,
    pub attempt: String,
    pub status: String,
    pub spark_version: String,
    pub started: String,
    pub ended: String,
    pub origin: String,
    pub cost: String,
    pub kpis: Vec<Kpi>,
    pub insights: Vec<InsightView>,
    pub timeline_svg: String,
    pub usage_svg: String,
    pub dist_svg: String,
    pub stages: Vec<StageRow>,
    pub stages_total: usize,
    pub jobs: Vec<JobRow>,
    pub jobs_total: usize,
    pub sql: Vec<SqlRow>,
    pub sql_total: usize,
    pub executors: Vec<ExecRow>,
    pub executors_total: usize,
    pub log_href: Option<String>,
    pub warnings: Vec<String>,
}

/// Driver log page.
#[derive(Template)]
#[template(path = "log.html")]
pub struct LogPage {
    pub nav: Nav,
    pub inst: InstanceHeader,
    pub name: String,
    pub back: String,
    pub text: String,
    pub truncated: bool,
}

/// A policy row on the settings page.
pub struct PolicyRow {
    pub principal_id: String,
    pub name: String,
    pub email: String,
    pub kind: String,
    pub role: String,
}

/// A source row on the settings page.
pub struct SourceRow {
    pub name: String,
    pub url: String,
    pub last_poll: String,
    pub ingested: i64,
    pub errors: i64,
    pub last_error: String,
}

/// A library set row on the settings page.
pub struct LibraryRow {
    pub name: String,
    pub created: String,
    pub summary: String,
}

/// `/ui/i/{id}/settings` (Manager).
#[derive(Template)]
#[template(path = "settings.html")]
pub struct SettingsPage {
    pub nav: Nav,
    pub inst: InstanceHeader,
    pub configs: Vec<(String, String)>,
    pub policies: Vec<PolicyRow>,
    pub sources: Vec<SourceRow>,
    pub libraries: Vec<LibraryRow>,
    pub roles: Vec<&'static str>,
    pub message: Option<String>,
}

/// One audit event row.
pub struct AuditRow {
    pub time: String,
    pub principal: String,
    pub action: String,
    pub resource: String,
    pub instance: String,
    pub outcome: String,
    pub status: i64,
    pub detail: String,
}

/// `/ui/audit` (Administrator).
#[derive(Template)]
#[template(path = "audit.html")]
pub struct AuditPage {
    pub nav: Nav,
    pub events: Vec<AuditRow>,
    pub action: String,
    pub outcome: String,
    pub next: Option<String>,
}

/// Epoch ms → `2026-11-25 10:45 UTC`.
pub fn utc(ms: i64) -> String {
    let s = sparkplane_analysis::report::fmt::utc(ms);
    s.trim_end_matches(" UTC").to_owned()
}

/// Milliseconds → `1 h 02 min`, `3.4 s`.
pub fn dur(ms: i64) -> String {
    sparkplane_analysis::report::fmt::duration_ms(u64::try_from(ms).unwrap_or(0))
}

/// Bytes → `1.2 GiB`.
pub fn bytes(b: u64) -> String {
    sparkplane_analysis::report::fmt::bytes(b)
}

/// Thousands separators.
pub fn count(n: u64) -> String {
    sparkplane_analysis::report::fmt::count(n)
}
