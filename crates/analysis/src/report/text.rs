//! The terminal report: application header, insights (most severe first) with their evidence
//! and advice, then the slowest stages, the jobs and the executors. ANSI colours only when asked
//! (the CLI asks when standard output is a terminal).

use std::fmt::Write as _;

use crate::redact::Redactor;
use crate::summary::{Evidence, Severity, StageSummary, Summary};

use super::fmt;

/// Rendering options.
#[derive(Debug, Clone, Copy)]
pub struct TextOptions {
    /// Use ANSI colours.
    pub color: bool,
    /// Wrap prose at this many columns.
    pub width: usize,
    /// How many stages the stage table shows.
    pub top_stages: usize,
    /// How many jobs / executors the tables show.
    pub max_rows: usize,
}

impl Default for TextOptions {
    fn default() -> Self {
        Self {
            color: false,
            width: 100,
            top_stages: 10,
            max_rows: 20,
        }
    }
}

struct Style {
    on: bool,
}

impl Style {
    fn wrap(&self, code: &str, s: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_owned()
        }
    }
    fn bold(&self, s: &str) -> String {
        self.wrap("1", s)
    }
    fn dim(&self, s: &str) -> String {
        self.wrap("2", s)
    }
    fn severity(&self, sev: Severity) -> String {
        match sev {
            Severity::Critical => self.wrap("1;31", "CRITICAL"),
            Severity::Warning => self.wrap("1;33", "WARNING "),
            Severity::Info => self.wrap("1;36", "INFO    "),
        }
    }
}

/// Word-wrap `s` at `width`, each line prefixed by `indent`.
fn wrap(s: &str, width: usize, indent: &str) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for word in s.split_whitespace() {
        if !line.is_empty() && indent.len() + line.len() + 1 + word.chars().count() > width {
            out.push_str(indent);
            out.push_str(&line);
            out.push('\n');
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        out.push_str(indent);
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// Lay out `items` (kept whole) after `label`, wrapping at `width`.
fn wrap_items(label: &str, items: &[String], width: usize, indent: &str) -> String {
    let mut out = String::new();
    let mut line = format!("{indent}{label}");
    let mut first = true;
    for it in items {
        let sep = if first { " " } else { " · " };
        if !first && line.chars().count() + sep.len() + it.chars().count() > width {
            out.push_str(&line);
            out.push('\n');
            line = format!("{indent}  {it}");
        } else {
            line.push_str(sep);
            line.push_str(it);
        }
        first = false;
    }
    out.push_str(&line);
    out.push('\n');
    out
}

/// Shorten to `n` characters with an ellipsis.
fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(n.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// One evidence value for display.
pub(crate) fn evidence_value(name: &str, v: &Evidence) -> String {
    match v {
        Evidence::Int(i) => {
            if name.ends_with("_bytes") || name == "bytes" || name.ends_with("_spilled") {
                fmt::bytes(u64::try_from(*i).unwrap_or(0))
            } else if name.ends_with("_ms") {
                fmt::duration_i(*i)
            } else {
                i.to_string()
            }
        }
        Evidence::Float(f) => {
            if name.ends_with("_share") || name.ends_with("_rate") {
                fmt::pct(*f)
            } else if name.ends_with("_ratio") {
                fmt::times(*f)
            } else {
                format!("{f}")
            }
        }
        Evidence::Ids(ids) => fmt::ids(ids, 8),
        Evidence::Text(t) => Redactor::shared().text(t).into_owned(),
    }
}

/// A threshold value for display, by its name.
pub(crate) fn threshold_value(name: &str, v: f64) -> String {
    if name.ends_with("_bytes") {
        fmt::bytes(v as u64)
    } else if name.ends_with("_ms") {
        fmt::duration_ms(v as u64)
    } else if name.ends_with("_share") || name.ends_with("_rate") {
        fmt::pct(v)
    } else if name.ends_with("_ratio") {
        fmt::times(v)
    } else {
        format!("{v}")
    }
}

fn stage_wall_ms(s: &StageSummary) -> u64 {
    s.duration_ms
        .and_then(|d| u64::try_from(d).ok())
        .unwrap_or(0)
}

/// Render the terminal report.
pub fn render(s: &Summary, opt: &TextOptions) -> String {
    let r = Redactor::shared();
    let st = Style { on: opt.color };
    let mut o = String::new();
    let app = &s.app;
    let name = app.name.as_deref().map(|n| r.text(n).into_owned());
    let _ = writeln!(
        o,
        "{} {}",
        st.bold("sparkplane report —"),
        st.bold(name.as_deref().unwrap_or("(unnamed application)"))
    );
    let mut facts = vec![format!(
        "{}{}",
        app.id.as_deref().unwrap_or("unknown id"),
        app.attempt_id
            .as_deref()
            .map(|a| format!(" attempt {a}"))
            .unwrap_or_default()
    )];
    if let Some(v) = &app.spark_version {
        facts.push(format!("Spark {v}"));
    }
    facts.push(format!("status {:?}", app.status).to_lowercase());
    if let Some(d) = app.duration_ms {
        facts.push(format!("ran {}", fmt::duration_i(d)));
    }
    if let Some(t) = app.start_time {
        facts.push(format!("started {}", fmt::utc(t)));
    }
    let _ = writeln!(o, "{}", st.dim(&facts.join(" · ")));
    let t = &s.totals;
    let _ = writeln!(
        o,
        "jobs {} ({} failed) · stages {} · tasks {} ({} failed, {} killed) · executors {} · max cores {}",
        t.jobs,
        t.failed_jobs,
        t.stages,
        fmt::count(t.tasks),
        t.failed_tasks,
        t.killed_tasks,
        t.executors,
        t.max_cores
    );
    let _ = writeln!(
        o,
        "input {} · output {} · shuffle {} read / {} written · spill {} to disk · GC {} of task time",
        fmt::bytes(t.input_bytes),
        fmt::bytes(t.output_bytes),
        fmt::bytes(t.shuffle_read_bytes),
        fmt::bytes(t.shuffle_write_bytes),
        fmt::bytes(t.disk_bytes_spilled),
        fmt::pct(if t.executor_run_time > 0 {
            t.jvm_gc_time as f64 / t.executor_run_time as f64
        } else {
            0.0
        })
    );
    let _ = writeln!(
        o,
        "core time: {:.3} core-h used of {:.3} allocated (idle {}) · no task running for {}",
        t.core_hours_used,
        t.core_hours_allocated,
        fmt::pct(t.idle_share),
        fmt::duration_ms(t.driver_idle_ms)
    );

    // Insights.
    let _ = writeln!(o);
    if s.insights.is_empty() {
        let _ = writeln!(
            o,
            "{}",
            st.bold("INSIGHTS: none — nothing above the thresholds.")
        );
    } else {
        let _ = writeln!(
            o,
            "{}",
            st.bold(&format!("INSIGHTS ({})", s.insights.len()))
        );
        let mut ins: Vec<_> = s.insights.iter().collect();
        ins.sort_by_key(|i| std::cmp::Reverse(i.severity));
        for i in ins {
            let _ = writeln!(
                o,
                "  {} {} {}",
                st.severity(i.severity),
                st.bold(&r.text(&i.title)),
                st.dim(&format!("[{}]", i.kind.as_str()))
            );
            o.push_str(&wrap(&r.text(&i.message), opt.width, "      "));
            let ev: Vec<String> = i
                .evidence
                .iter()
                .map(|(k, v)| format!("{k}={}", evidence_value(k, v)))
                .collect();
            if !ev.is_empty() {
                o.push_str(&st.dim(&wrap_items("evidence:", &ev, opt.width, "      ")));
            }
            let th: Vec<String> = i
                .threshold
                .iter()
                .map(|(k, v)| format!("{k}={}", threshold_value(k, *v)))
                .collect();
            if !th.is_empty() {
                o.push_str(&st.dim(&wrap_items("threshold:", &th, opt.width, "      ")));
            }
        }
    }

    // Stages.
    let mut stages: Vec<&StageSummary> = s.stages.iter().collect();
    stages.sort_by_key(|x| std::cmp::Reverse(stage_wall_ms(x)));
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "{}",
        st.bold(&format!(
            "TOP STAGES by duration ({} of {})",
            stages.len().min(opt.top_stages),
            stages.len()
        ))
    );
    let _ = writeln!(
        o,
        "  {:>6} {:>3} {:<9} {:>7} {:>9} {:>9} {:>9} {:>10} {:>10} {:>10} {:>9} {:>5}  name",
        "stage",
        "att",
        "status",
        "tasks",
        "duration",
        "median",
        "max task",
        "input",
        "shuf read",
        "shuf write",
        "spill",
        "gc"
    );
    for x in stages.iter().take(opt.top_stages) {
        let q = x.task_duration_quantiles;
        let _ = writeln!(
            o,
            "  {:>6} {:>3} {:<9} {:>7} {:>9} {:>9} {:>9} {:>10} {:>10} {:>10} {:>9} {:>5}  {}",
            x.stage_id,
            x.attempt_id,
            format!("{:?}", x.status).to_lowercase(),
            fmt::count(x.num_tasks),
            x.duration_ms
                .map(fmt::duration_i)
                .unwrap_or_else(|| "-".into()),
            q.map(|q| fmt::duration_ms(q.median))
                .unwrap_or_else(|| "-".into()),
            q.map(|q| fmt::duration_ms(q.max))
                .unwrap_or_else(|| "-".into()),
            fmt::bytes(x.input_bytes),
            fmt::bytes(x.shuffle_read_bytes),
            fmt::bytes(x.shuffle_write_bytes),
            fmt::bytes(x.disk_bytes_spilled),
            fmt::pct(x.gc_time_share),
            clip(&r.text(&x.name), 40)
        );
    }

    // Jobs.
    let _ = writeln!(o);
    let _ = writeln!(o, "{}", st.bold(&format!("JOBS ({})", s.jobs.len())));
    let _ = writeln!(
        o,
        "  {:>5} {:<10} {:>9} {:>7} {:>7}  name",
        "job", "status", "duration", "tasks", "stages"
    );
    for j in s.jobs.iter().take(opt.max_rows) {
        let status = format!("{:?}", j.status).to_lowercase();
        let status = if status == "failed" {
            st.wrap("31", &format!("{status:<10}"))
        } else {
            format!("{status:<10}")
        };
        let _ = writeln!(
            o,
            "  {:>5} {} {:>9} {:>7} {:>7}  {}",
            j.job_id,
            status,
            j.duration_ms
                .map(fmt::duration_i)
                .unwrap_or_else(|| "-".into()),
            fmt::count(j.num_tasks),
            j.stage_ids.len(),
            clip(&r.text(&j.name), 50)
        );
        if let Some(reason) = &j.failure_reason {
            let first = reason.lines().next().unwrap_or("");
            o.push_str(&st.dim(&wrap(
                &format!("reason: {}", clip(&r.message(first), 300)),
                opt.width,
                "         ",
            )));
        }
    }
    if s.jobs.len() > opt.max_rows {
        let _ = writeln!(o, "  … {} more", s.jobs.len() - opt.max_rows);
    }

    // Executors.
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "{}",
        st.bold(&format!("EXECUTORS ({})", s.executors.len()))
    );
    let _ = writeln!(
        o,
        "  {:>8} {:>5} {:>7} {:>6} {:>10} {:>9} {:>10} {:>10}  removed",
        "id", "cores", "tasks", "failed", "task time", "gc", "input", "shuf read"
    );
    for x in s.executors.iter().take(opt.max_rows) {
        let _ = writeln!(
            o,
            "  {:>8} {:>5} {:>7} {:>6} {:>10} {:>9} {:>10} {:>10}  {}",
            clip(&r.text(&x.executor_id), 8),
            x.total_cores,
            fmt::count(x.total_tasks),
            x.failed_tasks,
            fmt::duration_ms(x.total_duration_ms),
            fmt::duration_ms(x.total_gc_time_ms),
            fmt::bytes(x.total_input_bytes),
            fmt::bytes(x.total_shuffle_read_bytes),
            x.remove_reason
                .as_deref()
                .map(|m| clip(&r.message(m), 60))
                .unwrap_or_default()
        );
    }
    if s.executors.len() > opt.max_rows {
        let _ = writeln!(o, "  … {} more", s.executors.len() - opt.max_rows);
    }
    o
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn wraps_and_clips() {
        assert_eq!(wrap("a bb ccc", 6, "  "), "  a bb\n  ccc\n");
        assert_eq!(clip("abcdef", 4), "abc…");
        assert_eq!(
            evidence_value("max_task_ms", &Evidence::Int(1500)),
            "1.50 s"
        );
        assert_eq!(evidence_value("read_ratio", &Evidence::Float(6.0)), "6.0×");
        assert_eq!(threshold_value("min_gc_share", 0.08), "8.0 %");
    }
}
