//! The HTML report: one self-contained page (inline CSS and SVG, no script, no network) with
//! the application header, insight cards, a job/stage timeline, core usage over time, the
//! task-duration distribution of the slowest stages, tables of stages, jobs and executors, and
//! the redacted SQL plans.
//!
//! Built with plain string building rather than a template engine: the page is mostly charts
//! whose SVG coordinates are computed in loops, which templates would only wrap; every piece of
//! text goes through [`esc`] (HTML escaping) after [`Redactor`] (defence in depth — the summary
//! is already redacted). The page carries a `Content-Security-Policy` of `default-src 'none'`
//! plus inline styles, so even a bug could not make it load anything.
//!
//! Every chart is an `<svg data-chart="…">` whose data marks carry `data-point`, which the
//! browser test counts.

use std::fmt::Write as _;

use crate::redact::Redactor;
use crate::summary::{AppStatus, Insight, Severity, StageSummary, Summary};

use super::fmt;
use super::text::{evidence_value, threshold_value};

/// The page's Content-Security-Policy.
pub const CSP: &str =
    "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:";

/// Escape text for HTML element content and attribute values.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            _ => o.push(c),
        }
    }
    o
}

/// Redact (PII pass) and escape a string from the summary.
fn t(s: &str) -> String {
    esc(&Redactor::shared().text(s))
}

/// Redact (quoted strings + PII) and escape a free-form message from the summary.
fn msg(s: &str) -> String {
    esc(&Redactor::shared().message(s))
}

const STYLE: &str = r#"
:root{--bg:#f4f6fb;--card:#fff;--ink:#172033;--muted:#5b6579;--line:#e3e7ef;--accent:#4f46e5;
--crit:#dc2626;--warn:#d97706;--info:#0284c7;--ok:#059669;--bar:#6366f1;--bar2:#a5b4fc}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif}
.hero{background:linear-gradient(135deg,#111827 0%,#1e1b4b 55%,#312e81 100%);color:#fff;padding:28px 40px 30px}
.brand{font-size:12px;letter-spacing:.14em;text-transform:uppercase;opacity:.7;margin-bottom:6px}
.brand b{color:#a5b4fc}
h1{margin:0 0 6px;font-size:28px;font-weight:650;display:flex;align-items:center;gap:12px;flex-wrap:wrap}
.pill{font-size:12px;font-weight:600;padding:3px 10px;border-radius:999px;text-transform:uppercase;letter-spacing:.06em}
.pill.succeeded{background:#065f46;color:#d1fae5}.pill.failed{background:#991b1b;color:#fee2e2}
.pill.running{background:#1e40af;color:#dbeafe}.pill.unknown{background:#374151;color:#e5e7eb}
.facts{opacity:.8;font-size:13px}
.facts span+span:before{content:"·";margin:0 8px;opacity:.6}
.kpis{display:grid;grid-template-columns:repeat(auto-fit,minmax(130px,1fr));gap:12px;margin-top:20px}
.kpi{background:rgba(255,255,255,.08);border:1px solid rgba(255,255,255,.12);border-radius:12px;padding:10px 14px}
.kpi .v{font-size:20px;font-weight:650;white-space:nowrap}.kpi .l{font-size:11px;text-transform:uppercase;letter-spacing:.08em;opacity:.7}
main{max-width:1280px;margin:0 auto;padding:24px 40px 48px}
section{margin-top:28px}
h2{font-size:17px;margin:0 0 12px;display:flex;align-items:baseline;gap:10px}
h2 small{font-weight:400;color:var(--muted);font-size:12px}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:14px}
.card{background:var(--card);border-radius:12px;padding:16px 18px;box-shadow:0 1px 2px rgba(16,24,40,.06),0 1px 3px rgba(16,24,40,.08);border-left:5px solid var(--info)}
.card.critical{border-left-color:var(--crit)}.card.warning{border-left-color:var(--warn)}
.card h3{margin:0 0 6px;font-size:15px;display:flex;align-items:center;gap:8px}
.sev{font-size:10px;font-weight:700;padding:2px 8px;border-radius:999px;letter-spacing:.08em;color:#fff;background:var(--info)}
.critical .sev{background:var(--crit)}.warning .sev{background:var(--warn)}
.kind{margin-left:auto;font:11px ui-monospace,SFMono-Regular,Menlo,monospace;color:var(--muted)}
.card p{margin:6px 0 10px;color:#27324a}
.chips{display:flex;flex-wrap:wrap;gap:6px}
.chip{font-size:11.5px;background:#eef1f8;border-radius:6px;padding:2px 7px;color:#334}
.chip b{font-weight:600;color:#111}
.chip.th{background:#fff7ed;color:#7c2d12}
.none{background:var(--card);border-radius:12px;padding:18px;color:var(--muted);border-left:5px solid var(--ok)}
.panel{background:var(--card);border-radius:12px;padding:14px 16px 8px;box-shadow:0 1px 2px rgba(16,24,40,.06),0 1px 3px rgba(16,24,40,.08)}
.grid2{display:grid;grid-template-columns:1fr 1fr;gap:16px}
@media (max-width:1000px){.grid2{grid-template-columns:1fr}}
svg.chart{width:100%;height:auto;display:block}
svg text{font:11px system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;fill:#5b6579}
svg .lbl{fill:#27324a}
.legend{display:flex;gap:14px;font-size:12px;color:var(--muted);margin:2px 0 8px;flex-wrap:wrap}
.legend i{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:5px;vertical-align:-1px}
table{width:100%;border-collapse:collapse;background:var(--card);border-radius:12px;overflow:hidden;box-shadow:0 1px 2px rgba(16,24,40,.06)}
th,td{padding:6px 10px;text-align:right;border-bottom:1px solid var(--line);white-space:nowrap;font-variant-numeric:tabular-nums}
th{background:#f8f9fc;font-size:11px;text-transform:uppercase;letter-spacing:.06em;color:var(--muted)}
td.l,th.l{text-align:left}td.name div{max-width:230px;overflow:hidden;text-overflow:ellipsis}
.tw{overflow-x:auto;border-radius:12px}
tr.bad td{background:#fef2f2}
.st{font-size:11px;font-weight:600;padding:1px 7px;border-radius:999px;background:#eef1f8}
.st.failed{background:#fee2e2;color:#991b1b}.st.complete,.st.succeeded{background:#d1fae5;color:#065f46}
.st.skipped{background:#f3f4f6;color:#6b7280}
details{background:var(--card);border-radius:10px;margin-bottom:8px;box-shadow:0 1px 2px rgba(16,24,40,.06)}
summary{cursor:pointer;padding:10px 14px;font-weight:550}
summary small{color:var(--muted);font-weight:400;margin-left:8px}
pre{margin:0;padding:12px 16px;background:#0f172a;color:#e2e8f0;font:12px/1.45 ui-monospace,SFMono-Regular,Menlo,monospace;overflow:auto;border-radius:0 0 10px 10px;max-height:520px}
.note{color:var(--muted);font-size:12px;margin-top:6px}
footer{color:var(--muted);font-size:12px;text-align:center;padding:24px}
"#;

/// Render the whole page.
pub fn render(s: &Summary) -> String {
    let mut o = String::with_capacity(64 * 1024);
    let title = s
        .app
        .name
        .as_deref()
        .map(t)
        .unwrap_or_else(|| "(unnamed application)".into());
    let _ = write!(
        o,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">\
<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
<meta name=\"referrer\" content=\"no-referrer\">\
<title>{title} — sparkplane report</title><style>{STYLE}</style></head><body>\n"
    );
    header(&mut o, s, &title);
    o.push_str("<main>\n");
    insights(&mut o, &s.insights);
    timeline(&mut o, s);
    o.push_str("<div class=\"grid2\">");
    usage(&mut o, s);
    distribution(&mut o, s);
    o.push_str("</div>");
    stages_table(&mut o, s);
    jobs_table(&mut o, s);
    executors_table(&mut o, s);
    conf_table(&mut o, s);
    sql_plans(&mut o, s);
    let _ = write!(
        o,
        "</main><footer>Generated by sparkplane · summary schema {} · literal values in plans and \
descriptions are masked as <code>***</code>; e-mail, SSN, card and phone numbers are masked \
everywhere.</footer></body></html>",
        esc(&s.schema_version)
    );
    o.push('\n');
    o
}

fn status_class(st: AppStatus) -> &'static str {
    match st {
        AppStatus::Succeeded => "succeeded",
        AppStatus::Failed => "failed",
        AppStatus::Running => "running",
        AppStatus::Unknown => "unknown",
    }
}

fn header(o: &mut String, s: &Summary, title: &str) {
    let a = &s.app;
    let tt = &s.totals;
    let _ = write!(
        o,
        "<header class=\"hero\"><div class=\"brand\"><b>sparkplane</b> · Spark run report</div>\
<h1>{title}<span class=\"pill {c}\">{c}</span></h1><div class=\"facts\">",
        c = status_class(a.status)
    );
    let mut facts: Vec<String> = Vec::new();
    if let Some(id) = &a.id {
        facts.push(t(id));
    }
    if let Some(att) = &a.attempt_id {
        facts.push(format!("attempt {}", t(att)));
    }
    if let Some(v) = &a.spark_version {
        facts.push(format!("Spark {}", t(v)));
    }
    if let Some(st) = a.start_time {
        facts.push(format!("started {}", fmt::utc(st)));
    }
    if let Some(u) = &a.user {
        facts.push(format!("user {}", t(u)));
    }
    facts.push(format!(
        "{} executor{} · {} cores",
        tt.executors,
        if tt.executors == 1 { "" } else { "s" },
        tt.max_cores
    ));
    for f in facts {
        let _ = write!(o, "<span>{f}</span>");
    }
    o.push_str("</div><div class=\"kpis\">");
    let gc = if tt.executor_run_time > 0 {
        tt.jvm_gc_time as f64 / tt.executor_run_time as f64
    } else {
        0.0
    };
    let util = if tt.core_hours_allocated > 0.0 {
        (tt.core_hours_used / tt.core_hours_allocated).min(1.0)
    } else {
        0.0
    };
    let kpis = [
        (
            a.duration_ms
                .map(|d| fmt::duration_short(u64::try_from(d).unwrap_or(0)))
                .unwrap_or_else(|| "–".into()),
            "duration",
        ),
        (format!("{} / {}", tt.jobs, tt.stages), "jobs / stages"),
        (fmt::count(tt.tasks), "tasks"),
        (fmt::bytes(tt.input_bytes), "input"),
        (fmt::bytes(tt.shuffle_read_bytes), "shuffle read"),
        (fmt::bytes(tt.disk_bytes_spilled), "spilled to disk"),
        (fmt::pct(gc), "GC share"),
        (fmt::pct(util), "core utilization"),
        (s.insights.len().to_string(), "insights"),
    ];
    for (v, l) in kpis {
        let _ = write!(
            o,
            "<div class=\"kpi\"><div class=\"v\">{}</div><div class=\"l\">{}</div></div>",
            esc(&v),
            esc(l)
        );
    }
    o.push_str("</div></header>\n");
}

/// `max_task_read_bytes` → `max task read` (the value carries the unit).
fn human_key(k: &str) -> String {
    let k = k
        .strip_suffix("_bytes")
        .or_else(|| k.strip_suffix("_ms"))
        .unwrap_or(k);
    k.replace('_', " ")
}

fn sev_class(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "critical",
        Severity::Warning => "warning",
        Severity::Info => "info",
    }
}

fn insights(o: &mut String, list: &[Insight]) {
    let _ = write!(
        o,
        "<section id=\"insights\"><h2>Insights <small>{} found · most severe first</small></h2>",
        list.len()
    );
    if list.is_empty() {
        o.push_str(
            "<div class=\"none\">No insight fired: no skew, spill, failures or waste above the \
thresholds.</div></section>\n",
        );
        return;
    }
    let mut v: Vec<&Insight> = list.iter().collect();
    v.sort_by_key(|i| std::cmp::Reverse(i.severity));
    o.push_str("<div class=\"cards\">");
    for i in v {
        let c = sev_class(i.severity);
        let _ = write!(
            o,
            "<article class=\"card {c}\" data-kind=\"{k}\"><h3><span class=\"sev\">{c}</span>{}\
<span class=\"kind\">{k}</span></h3><p>{}</p><div class=\"chips\">",
            t(&i.title),
            t(&i.message),
            k = i.kind.as_str()
        );
        for (k, v) in &i.evidence {
            let _ = write!(
                o,
                "<span class=\"chip\" title=\"{}\">{} <b>{}</b></span>",
                esc(k),
                esc(&human_key(k)),
                esc(&evidence_value(k, v))
            );
        }
        for (k, v) in &i.threshold {
            let _ = write!(
                o,
                "<span class=\"chip th\" title=\"threshold that fired\">{} ≥ <b>{}</b></span>",
                esc(&human_key(k.trim_start_matches("min_"))),
                esc(&threshold_value(k, *v))
            );
        }
        o.push_str("</div></article>");
    }
    o.push_str("</div></section>\n");
}

/// The time span of the run: app start/end, widened to what the jobs and stages cover.
fn span(s: &Summary) -> Option<(i64, i64)> {
    let mut lo = s.app.start_time;
    let mut hi = s.app.end_time;
    let mut widen = |x: Option<i64>| {
        if let Some(x) = x.filter(|x| *x > 0) {
            lo = Some(lo.map_or(x, |l| l.min(x)));
            hi = Some(hi.map_or(x, |h| h.max(x)));
        }
    };
    for j in &s.jobs {
        widen(j.submission_time);
        widen(j.completion_time);
    }
    for st in &s.stages {
        widen(st.submission_time);
        widen(st.completion_time);
    }
    let (lo, hi) = (lo?, hi?);
    Some((lo, hi.max(lo + 1)))
}

/// A "nice" tick step (1, 2, 5 × 10^k) for `range` split into about `ticks` parts (1 for an
/// empty or non-finite range). Also used by the web portal's charts.
pub fn nice_step(range: f64, ticks: f64) -> f64 {
    if range <= 0.0 || !range.is_finite() {
        return 1.0;
    }
    let raw = (range / ticks).max(1e-9);
    let mag = 10f64.powf(raw.log10().floor());
    let f = raw / mag;
    let n = if f <= 1.0 {
        1.0
    } else if f <= 2.0 {
        2.0
    } else if f <= 5.0 {
        5.0
    } else {
        10.0
    };
    n * mag
}

/// A time-axis step (ms: 100 ms … 2 days) giving at most `max_ticks` ticks over `range_ms`.
/// Also used by the web portal's charts.
pub fn time_step(range_ms: f64, max_ticks: f64) -> f64 {
    const STEPS: [f64; 22] = [
        100.0, 200.0, 500.0, 1e3, 2e3, 5e3, 10e3, 15e3, 30e3, 60e3, 120e3, 300e3, 600e3, 900e3,
        1_800e3, 3_600e3, 7_200e3, 10_800e3, 21_600e3, 43_200e3, 86_400e3, 172_800e3,
    ];
    STEPS
        .iter()
        .copied()
        .find(|s| range_ms / s <= max_ticks)
        .unwrap_or(range_ms / max_ticks)
}

/// A tick label for an offset in ms, in the unit of the step.
fn tick_label(ms: f64, step: f64) -> String {
    if step >= 3_600e3 {
        let h = (ms / 3_600e3).floor();
        let m = ((ms - h * 3_600e3) / 60e3).round();
        if m > 0.0 {
            format!("{h:.0} h {m:.0}")
        } else {
            format!("{h:.0} h")
        }
    } else if step >= 60e3 {
        format!("{:.0} min", ms / 60e3)
    } else if step >= 1e3 {
        format!("{:.0} s", ms / 1e3)
    } else {
        format!("{:.1} s", ms / 1e3)
    }
}

fn secs_label(ms: f64) -> String {
    tick_label(ms, time_step(ms.max(1.0), 1.0))
}

/// Vertical grid lines and labels for a time axis `[0, range_ms]` mapped to `[x0, x1]`.
fn time_axis(o: &mut String, range_ms: f64, x0: f64, x1: f64, top: f64, bottom: f64) {
    let step = time_step(range_ms, 8.0);
    let mut v = 0.0;
    while v <= range_ms + 1e-6 {
        let x = x0 + (x1 - x0) * v / range_ms;
        let _ = write!(
            o,
            "<line x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{top:.1}\" y2=\"{bottom:.1}\" stroke=\"#e3e7ef\"/>\
<text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            bottom + 14.0,
            tick_label(v, step)
        );
        v += step;
    }
}

const MAX_TIMELINE_ROWS: usize = 48;

fn timeline(o: &mut String, s: &Summary) {
    o.push_str("<section id=\"timeline\"><h2>Timeline <small>jobs and their stages over the run; hatched: no task running</small></h2><div class=\"panel\">");
    let Some((t0, t1)) = span(s) else {
        o.push_str("<p class=\"note\">No timing information in this log.</p></div></section>");
        return;
    };
    let range = (t1 - t0) as f64;
    // Rows: each job, followed by its stages (longest first if there are too many).
    enum Row<'a> {
        Job(&'a crate::summary::JobSummary),
        Stage(&'a StageSummary),
    }
    let mut rows: Vec<Row<'_>> = Vec::new();
    let mut stage_rows = 0usize;
    let budget = MAX_TIMELINE_ROWS.saturating_sub(s.jobs.len().min(MAX_TIMELINE_ROWS / 2));
    let total_stages = s
        .stages
        .iter()
        .filter(|x| x.submission_time.is_some())
        .count();
    let per_job_cap = if total_stages > budget {
        (budget / s.jobs.len().max(1)).max(1)
    } else {
        usize::MAX
    };
    for j in s.jobs.iter().take(MAX_TIMELINE_ROWS / 2) {
        rows.push(Row::Job(j));
        let mut st: Vec<&StageSummary> = s
            .stages
            .iter()
            .filter(|x| j.stage_ids.contains(&x.stage_id) && x.submission_time.is_some())
            .filter(|x| x.job_ids.first().is_none_or(|f| *f == j.job_id))
            .collect();
        st.sort_by_key(|x| std::cmp::Reverse(x.duration_ms.unwrap_or(0)));
        st.truncate(per_job_cap);
        st.sort_by_key(|x| (x.submission_time, x.stage_id, x.attempt_id));
        for x in st {
            if stage_rows < budget {
                rows.push(Row::Stage(x));
                stage_rows += 1;
            }
        }
    }
    if s.jobs.is_empty() {
        for x in s
            .stages
            .iter()
            .filter(|x| x.submission_time.is_some())
            .take(budget)
        {
            rows.push(Row::Stage(x));
        }
    }
    let (w, lw, rh) = (1180.0_f64, 190.0_f64, 19.0_f64);
    let (x0, x1) = (lw, w - 16.0);
    let top = 8.0;
    let h = top + rows.len() as f64 * rh + 26.0;
    let xs = |tm: i64| x0 + (x1 - x0) * ((tm - t0) as f64 / range).clamp(0.0, 1.0);
    let _ = write!(
        o,
        "<div class=\"legend\"><span><i style=\"background:#312e81\"></i>job</span>\
<span><i style=\"background:#6366f1\"></i>stage running tasks</span>\
<span><i style=\"background:#c7d2fe\"></i>stage waiting for first task</span>\
<span><i style=\"background:#dc2626\"></i>failed</span>\
<span><i style=\"background:#fde68a\"></i>no task running</span></div>\
<svg class=\"chart\" data-chart=\"timeline\" viewBox=\"0 0 {w} {h:.0}\" role=\"img\" aria-label=\"Job and stage timeline\">\
<defs><pattern id=\"hatch\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\">\
<rect width=\"6\" height=\"6\" fill=\"#fffbeb\"/><line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"#fde68a\" stroke-width=\"3\"/></pattern></defs>"
    );
    let bottom = top + rows.len() as f64 * rh;
    // Idle stretches behind everything.
    for st in &s.totals.idle_stretches {
        let (a, b) = (xs(st.start_time), xs(st.end_time));
        if b - a >= 0.5 {
            let _ = write!(
                o,
                "<rect x=\"{a:.1}\" y=\"{top:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"url(#hatch)\"><title>no task running for {}</title></rect>",
                b - a,
                bottom - top,
                fmt::duration_i(st.duration_ms)
            );
        }
    }
    time_axis(o, range, x0, x1, top, bottom);
    for (i, row) in rows.iter().enumerate() {
        let y = top + i as f64 * rh;
        match row {
            Row::Job(j) => {
                let failed = matches!(j.status, crate::model::JobStatus::Failed);
                let (a, b) = (
                    j.submission_time.map(xs).unwrap_or(x0),
                    j.completion_time.or(s.app.end_time).map(xs).unwrap_or(x1),
                );
                let _ = write!(
                    o,
                    "<text class=\"lbl\" x=\"6\" y=\"{:.1}\" font-weight=\"600\">job {}</text>\
<rect data-point=\"job\" data-id=\"{}\" x=\"{a:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" rx=\"3\" fill=\"{}\">\
<title>job {} · {} · {} tasks · {}</title></rect>",
                    y + 13.0,
                    j.job_id,
                    j.job_id,
                    y + 3.0,
                    (b - a).max(1.5),
                    rh - 6.0,
                    if failed { "#dc2626" } else { "#312e81" },
                    j.job_id,
                    format!("{:?}", j.status).to_lowercase(),
                    j.num_tasks,
                    j.duration_ms.map(fmt::duration_i).unwrap_or_default()
                );
            }
            Row::Stage(x) => {
                let failed = matches!(x.status, crate::model::StageStatus::Failed);
                let a = x.submission_time.map(xs).unwrap_or(x0);
                let f = x.first_task_launched_time.map(xs).unwrap_or(a).max(a);
                let b = x
                    .completion_time
                    .or(s.app.end_time)
                    .map(xs)
                    .unwrap_or(x1)
                    .max(f);
                let name = t(&x.name);
                let short: String = name.chars().take(22).collect();
                let _ = write!(
                    o,
                    "<text x=\"18\" y=\"{:.1}\"><title>{name}</title>stage {}{} · {}</text>",
                    y + 13.0,
                    x.stage_id,
                    if x.attempt_id > 0 {
                        format!(".{}", x.attempt_id)
                    } else {
                        String::new()
                    },
                    esc(&fmt::count(x.num_tasks))
                        + if x.num_tasks == 1 { " task" } else { " tasks" },
                );
                let _ = short;
                if f - a >= 0.5 {
                    let _ = write!(
                        o,
                        "<rect x=\"{a:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" rx=\"2\" fill=\"#c7d2fe\"/>",
                        y + 4.0,
                        f - a,
                        rh - 8.0
                    );
                }
                let _ = write!(
                    o,
                    "<rect data-point=\"stage\" data-id=\"{}\" x=\"{f:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" rx=\"2\" fill=\"{}\">\
<title>stage {} attempt {} · {} · {} tasks · {} · median task {}</title></rect>",
                    x.stage_id,
                    y + 4.0,
                    (b - f).max(1.5),
                    rh - 8.0,
                    if failed { "#dc2626" } else { "#6366f1" },
                    x.stage_id,
                    x.attempt_id,
                    format!("{:?}", x.status).to_lowercase(),
                    x.num_tasks,
                    x.duration_ms.map(fmt::duration_i).unwrap_or_default(),
                    x.task_duration_quantiles
                        .map(|q| fmt::duration_ms(q.median))
                        .unwrap_or_else(|| "–".into())
                );
            }
        }
    }
    o.push_str("</svg>");
    let shown_stages = rows.iter().filter(|r| matches!(r, Row::Stage(_))).count();
    if shown_stages < total_stages || s.jobs.len() > MAX_TIMELINE_ROWS / 2 {
        let _ = write!(
            o,
            "<p class=\"note\">Showing {} of {} jobs and {} of {} stages (the longest).</p>",
            s.jobs.len().min(MAX_TIMELINE_ROWS / 2),
            s.jobs.len(),
            shown_stages,
            total_stages
        );
    }
    o.push_str("</div></section>\n");
}

/// Allocated cores at time `tm`, from the executors' add/remove times.
fn cores_at(s: &Summary, tm: i64) -> f64 {
    s.executors
        .iter()
        .filter(|x| x.add_time.is_none_or(|a| a <= tm) && x.remove_time.is_none_or(|r| r > tm))
        .map(|x| f64::from(x.total_cores))
        .sum()
}

fn usage(o: &mut String, s: &Summary) {
    o.push_str("<section id=\"usage\"><h2>Core usage <small>running tasks vs allocated cores</small></h2><div class=\"panel\">");
    let u = &s.usage;
    if u.task_ms.is_empty() || u.bucket_ms == 0 {
        o.push_str("<p class=\"note\">No task ran.</p></div></section>");
        return;
    }
    let end = span(s).map(|(_, b)| b).unwrap_or(u.start_time);
    let n_total =
        (((end - u.start_time).max(1) as u64).div_ceil(u.bucket_ms) as usize).max(u.task_ms.len());
    let running: Vec<f64> = (0..n_total)
        .map(|i| {
            u.task_ms
                .get(i)
                .map_or(0.0, |&v| v as f64 / u.bucket_ms as f64)
        })
        .collect();
    let cores: Vec<f64> = (0..n_total)
        .map(|i| {
            cores_at(
                s,
                u.start_time + (i as i64) * u.bucket_ms as i64 + u.bucket_ms as i64 / 2,
            )
        })
        .collect();
    let ymax = running
        .iter()
        .chain(cores.iter())
        .fold(1.0_f64, |m, v| m.max(*v))
        * 1.15;
    let (w, h) = (580.0_f64, 250.0_f64);
    let (x0, x1, top, bottom) = (40.0, w - 12.0, 10.0, h - 26.0);
    let dx = (x1 - x0) / n_total as f64;
    let ys = |v: f64| bottom - (bottom - top) * v / ymax;
    let _ = write!(
        o,
        "<div class=\"legend\"><span><i style=\"background:#818cf8\"></i>running tasks (average per {})</span>\
<span><i style=\"background:#0f172a\"></i>allocated cores</span></div>\
<svg class=\"chart\" data-chart=\"usage\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"Core usage over time\">",
        fmt::duration_ms(u.bucket_ms)
    );
    // y grid
    let step = nice_step(ymax, 4.0).max(1.0);
    let mut v = 0.0;
    while v <= ymax {
        let y = ys(v);
        let _ = write!(
            o,
            "<line x1=\"{x0}\" x2=\"{x1}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#eef1f6\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{v}</text>",
            x0 - 6.0,
            y + 4.0
        );
        v += step;
    }
    let range_ms = (n_total as u64 * u.bucket_ms) as f64;
    time_axis(o, range_ms, x0, x1, top, bottom);
    // Area of running tasks (a step shape).
    let mut path = format!("M{x0:.1},{bottom:.1}");
    for (i, r) in running.iter().enumerate() {
        let xa = x0 + i as f64 * dx;
        let y = ys(*r);
        let _ = write!(path, " L{xa:.1},{y:.1} L{:.1},{y:.1}", xa + dx);
    }
    let _ = write!(path, " L{x1:.1},{bottom:.1} Z");
    let _ = write!(
        o,
        "<path d=\"{path}\" fill=\"#818cf8\" fill-opacity=\".55\" stroke=\"#4f46e5\" stroke-width=\"1\"/>"
    );
    // Invisible hover targets carrying the data points.
    for (i, (r, c)) in running.iter().zip(cores.iter()).enumerate() {
        let xa = x0 + i as f64 * dx;
        let _ = write!(
            o,
            "<rect data-point=\"usage\" x=\"{xa:.2}\" y=\"{top}\" width=\"{dx:.2}\" height=\"{:.1}\" fill=\"transparent\"><title>{}: {r:.2} running / {c} cores</title></rect>",
            bottom - top,
            secs_label(i as f64 * u.bucket_ms as f64)
        );
    }
    // Allocated cores: step line.
    let mut line = String::new();
    for (i, c) in cores.iter().enumerate() {
        let xa = x0 + i as f64 * dx;
        let y = ys(*c);
        let _ = write!(
            line,
            "{}{xa:.1},{y:.1} L{:.1},{y:.1}",
            if i == 0 { "M" } else { " L" },
            xa + dx
        );
    }
    let _ = write!(
        o,
        "<path d=\"{line}\" fill=\"none\" stroke=\"#0f172a\" stroke-width=\"1.6\" stroke-dasharray=\"5 3\"/>"
    );
    o.push_str("</svg></div></section>\n");
}

const DIST_STAGES: usize = 8;

fn distribution(o: &mut String, s: &Summary) {
    o.push_str("<section id=\"distribution\"><h2>Task durations <small>slowest stages: min, p25, median, p75, max (log scale)</small></h2><div class=\"panel\">");
    let mut st: Vec<&StageSummary> = s
        .stages
        .iter()
        .filter(|x| x.task_duration_quantiles.is_some())
        .collect();
    st.sort_by_key(|x| std::cmp::Reverse(x.duration_ms.unwrap_or(0)));
    st.truncate(DIST_STAGES);
    if st.is_empty() {
        o.push_str("<p class=\"note\">No successful task.</p></div></section>");
        return;
    }
    let qs: Vec<_> = st
        .iter()
        .filter_map(|x| x.task_duration_quantiles.map(|q| (*x, q)))
        .collect();
    let lo = qs.iter().map(|(_, q)| q.min.max(1)).min().unwrap_or(1) as f64;
    let hi = qs.iter().map(|(_, q)| q.max.max(1)).max().unwrap_or(1) as f64;
    let l0 = lo.log10().floor();
    let l1 = (hi.log10().ceil()).max(l0 + 1.0);
    let (w, rh) = (580.0_f64, 26.0_f64);
    let (x0, x1, top) = (120.0, w - 26.0, 8.0);
    let bottom = top + qs.len() as f64 * rh;
    let h = bottom + 26.0;
    let xs = |v: u64| x0 + (x1 - x0) * (((v.max(1) as f64).log10() - l0) / (l1 - l0));
    let _ = write!(
        o,
        "<div class=\"legend\"><span><i style=\"background:#a5b4fc\"></i>p25–p75</span>\
<span><i style=\"background:#312e81\"></i>median</span><span><i style=\"background:#94a3b8\"></i>min–max</span></div>\
<svg class=\"chart\" data-chart=\"distribution\" viewBox=\"0 0 {w} {h:.0}\" role=\"img\" aria-label=\"Task duration distribution\">"
    );
    let mut e = l0;
    while e <= l1 + 1e-9 {
        let v = 10f64.powf(e);
        let x = x0 + (x1 - x0) * ((e - l0) / (l1 - l0));
        let _ = write!(
            o,
            "<line x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{top}\" y2=\"{bottom:.1}\" stroke=\"#e3e7ef\"/><text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            bottom + 14.0,
            fmt::duration_ms(v as u64)
        );
        e += 1.0;
    }
    for (i, (x, q)) in qs.iter().enumerate() {
        let y = top + i as f64 * rh;
        let cy = y + rh / 2.0;
        let _ = write!(
            o,
            "<text class=\"lbl\" x=\"6\" y=\"{:.1}\">stage {}{} <tspan fill=\"#8a93a6\">· {} tasks</tspan></text>",
            cy + 4.0,
            x.stage_id,
            if x.attempt_id > 0 {
                format!(".{}", x.attempt_id)
            } else {
                String::new()
            },
            fmt::count(x.successful_tasks)
        );
        let _ = write!(
            o,
            "<g data-point=\"stage\" data-id=\"{}\"><title>stage {}: min {} · p25 {} · median {} · p75 {} · max {}</title>\
<line x1=\"{:.1}\" x2=\"{:.1}\" y1=\"{cy:.1}\" y2=\"{cy:.1}\" stroke=\"#94a3b8\" stroke-width=\"1.5\"/>\
<line x1=\"{:.1}\" x2=\"{:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"#94a3b8\" stroke-width=\"1.5\"/>\
<line x1=\"{:.1}\" x2=\"{:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"#94a3b8\" stroke-width=\"1.5\"/>\
<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" rx=\"3\" fill=\"#a5b4fc\" stroke=\"#6366f1\"/>\
<line x1=\"{:.1}\" x2=\"{:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"#312e81\" stroke-width=\"2.5\"/></g>",
            x.stage_id,
            x.stage_id,
            fmt::duration_ms(q.min),
            fmt::duration_ms(q.p25),
            fmt::duration_ms(q.median),
            fmt::duration_ms(q.p75),
            fmt::duration_ms(q.max),
            xs(q.min),
            xs(q.max),
            xs(q.min),
            xs(q.min),
            cy - 5.0,
            cy + 5.0,
            xs(q.max),
            xs(q.max),
            cy - 5.0,
            cy + 5.0,
            xs(q.p25),
            cy - 7.0,
            (xs(q.p75) - xs(q.p25)).max(2.0),
            14.0,
            xs(q.median),
            xs(q.median),
            cy - 8.0,
            cy + 8.0
        );
    }
    o.push_str("</svg></div></section>\n");
}

fn st_badge(s: &str) -> String {
    let c = s.to_lowercase();
    format!("<span class=\"st {c}\">{c}</span>")
}

const TABLE_ROWS: usize = 40;

fn stages_table(o: &mut String, s: &Summary) {
    let mut st: Vec<&StageSummary> = s.stages.iter().collect();
    st.sort_by_key(|x| std::cmp::Reverse(x.duration_ms.unwrap_or(0)));
    let _ = write!(
        o,
        "<section id=\"stages\"><h2>Stages <small>{} attempts{}</small></h2><div class=\"tw\"><table><thead><tr>\
<th>stage</th><th class=\"l\">status</th><th>tasks</th><th>failed</th><th>duration</th><th>median task</th>\
<th>max task</th><th>input</th><th>shuffle read</th><th>shuffle write</th><th>spill (disk)</th><th>GC</th><th class=\"l\">name</th></tr></thead><tbody>",
        st.len(),
        if st.len() > TABLE_ROWS {
            format!(", the {TABLE_ROWS} longest")
        } else {
            String::new()
        }
    );
    for x in st.iter().take(TABLE_ROWS) {
        let q = x.task_duration_quantiles;
        let status = format!("{:?}", x.status);
        let _ = write!(
            o,
            "<tr{}><td>{}{}</td><td class=\"l\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
<td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"l name\" title=\"{n}\"><div>{n}</div></td></tr>",
            if x.num_failed_tasks > 0 { " class=\"bad\"" } else { "" },
            x.stage_id,
            if x.attempt_id > 0 { format!(".{}", x.attempt_id) } else { String::new() },
            st_badge(&status),
            fmt::count(x.num_tasks),
            x.num_failed_tasks,
            x.duration_ms.map(fmt::duration_i).unwrap_or_else(|| "–".into()),
            q.map(|q| fmt::duration_ms(q.median)).unwrap_or_else(|| "–".into()),
            q.map(|q| fmt::duration_ms(q.max)).unwrap_or_else(|| "–".into()),
            fmt::bytes(x.input_bytes),
            fmt::bytes(x.shuffle_read_bytes),
            fmt::bytes(x.shuffle_write_bytes),
            fmt::bytes(x.disk_bytes_spilled),
            fmt::pct(x.gc_time_share),
            n = t(&x.name)
        );
    }
    o.push_str("</tbody></table></div>");
    let failed: Vec<&&StageSummary> = st.iter().filter(|x| x.failure_reason.is_some()).collect();
    for x in failed.iter().take(10) {
        if let Some(r) = &x.failure_reason {
            let _ = write!(
                o,
                "<details><summary>Failure of stage {} attempt {}</summary><pre>{}</pre></details>",
                x.stage_id,
                x.attempt_id,
                msg(&clip_lines(r, 40))
            );
        }
    }
    o.push_str("</section>\n");
}

fn clip_lines(s: &str, n: usize) -> String {
    let mut v: Vec<&str> = s.lines().take(n).collect();
    if s.lines().count() > n {
        v.push("…");
    }
    v.join("\n")
}

fn jobs_table(o: &mut String, s: &Summary) {
    let _ = write!(
        o,
        "<section id=\"jobs\"><h2>Jobs <small>{}</small></h2><div class=\"tw\"><table><thead><tr><th>job</th><th class=\"l\">status</th>\
<th>duration</th><th>tasks</th><th>failed tasks</th><th>stages</th><th>SQL</th><th class=\"l\">name</th></tr></thead><tbody>",
        s.jobs.len()
    );
    for j in s.jobs.iter().take(TABLE_ROWS) {
        let status = format!("{:?}", j.status);
        let _ = write!(
            o,
            "<tr{}><td>{}</td><td class=\"l\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"l name\" title=\"{n}\"><div>{n}</div></td></tr>",
            if j.num_failed_tasks > 0 || status == "Failed" { " class=\"bad\"" } else { "" },
            j.job_id,
            st_badge(&status),
            j.duration_ms.map(fmt::duration_i).unwrap_or_else(|| "–".into()),
            fmt::count(j.num_tasks),
            j.num_failed_tasks,
            j.stage_ids.len(),
            j.sql_execution_id.map(|i| i.to_string()).unwrap_or_else(|| "–".into()),
            n = t(&j.name)
        );
    }
    o.push_str("</tbody></table></div>");
    if s.jobs.len() > TABLE_ROWS {
        let _ = write!(
            o,
            "<p class=\"note\">… and {} more jobs.</p>",
            s.jobs.len() - TABLE_ROWS
        );
    }
    for j in s
        .jobs
        .iter()
        .filter(|j| j.failure_reason.is_some())
        .take(10)
    {
        if let Some(r) = &j.failure_reason {
            let _ = write!(
                o,
                "<details><summary>Failure of job {}</summary><pre>{}</pre></details>",
                j.job_id,
                msg(&clip_lines(r, 40))
            );
        }
    }
    o.push_str("</section>\n");
}

fn executors_table(o: &mut String, s: &Summary) {
    let _ = write!(
        o,
        "<section id=\"executors\"><h2>Executors <small>{}</small></h2><div class=\"tw\"><table><thead><tr><th class=\"l\">id</th>\
<th>cores</th><th>tasks</th><th>failed</th><th>task time</th><th>GC time</th><th>input</th><th>shuffle read</th>\
<th>shuffle write</th><th>added</th><th class=\"l\">removed</th></tr></thead><tbody>",
        s.executors.len()
    );
    let t0 = s.app.start_time.unwrap_or(0);
    for x in s.executors.iter().take(TABLE_ROWS) {
        let _ = write!(
            o,
            "<tr><td class=\"l\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"l name\"><div>{}</div></td></tr>",
            t(&x.executor_id),
            x.total_cores,
            fmt::count(x.total_tasks),
            x.failed_tasks,
            fmt::duration_ms(x.total_duration_ms),
            fmt::duration_ms(x.total_gc_time_ms),
            fmt::bytes(x.total_input_bytes),
            fmt::bytes(x.total_shuffle_read_bytes),
            fmt::bytes(x.total_shuffle_write_bytes),
            x.add_time.map(|a| format!("+{}", fmt::duration_i(a - t0))).unwrap_or_else(|| "–".into()),
            x.remove_reason.as_deref().map(msg).unwrap_or_default()
        );
    }
    o.push_str("</tbody></table></div></section>\n");
}

fn conf_table(o: &mut String, s: &Summary) {
    let conf = &s.app.spark_conf;
    let _ = write!(
        o,
        "<section id=\"conf\"><h2>Configuration <small>{} performance-relevant Spark settings \
(everything else — Hadoop and system properties, classpath, environment — is not kept)</small></h2>",
        conf.len()
    );
    if !conf.is_empty() {
        o.push_str("<details><summary>Show settings</summary><div class=\"tw\"><table><tbody>");
        for (k, v) in conf {
            let _ = write!(
                o,
                "<tr><td class=\"l\">{}</td><td class=\"l\">{}</td></tr>",
                esc(k),
                t(v)
            );
        }
        o.push_str("</tbody></table></div></details>");
    }
    o.push_str("</section>\n");
}

const MAX_PLANS: usize = 30;

fn sql_plans(o: &mut String, s: &Summary) {
    let _ = write!(
        o,
        "<section id=\"sql\"><h2>SQL executions <small>{} · physical plans with literals masked</small></h2>",
        s.sql.len()
    );
    if s.sql.is_empty() {
        o.push_str("<p class=\"note\">No SQL executions in this run.</p>");
    }
    let r = Redactor::shared();
    let mut list: Vec<_> = s.sql.iter().collect();
    list.sort_by_key(|q| std::cmp::Reverse(q.duration_ms.unwrap_or(0)));
    for q in list.iter().take(MAX_PLANS) {
        let desc = r.sql(&q.description);
        let desc: String = desc.chars().take(140).collect();
        let _ = write!(
            o,
            "<details data-sql=\"{}\"><summary>SQL {} <small>{}{} · {} job(s){}</small></summary><pre>{}</pre></details>",
            q.execution_id,
            q.execution_id,
            esc(&desc),
            q.duration_ms.map(|d| format!(" · {}", fmt::duration_i(d))).unwrap_or_default(),
            q.job_ids.len(),
            if q.failed { " · failed" } else { "" },
            esc(&r.sql(&q.physical_plan))
        );
    }
    if s.sql.len() > MAX_PLANS {
        let _ = write!(
            o,
            "<p class=\"note\">Showing the {MAX_PLANS} longest of {} SQL executions.</p>",
            s.sql.len()
        );
    }
    o.push_str("</section>\n");
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        assert_eq!(
            esc("<a href='x'>&\"</a>"),
            "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;"
        );
    }

    #[test]
    fn nice_steps() {
        assert_eq!(nice_step(10_000.0, 8.0), 2_000.0);
        assert_eq!(nice_step(7.0, 4.0), 2.0);
    }
}
