//! Server-side inline SVG charts of an application page: the job/stage timeline, executor
//! usage (running tasks against allocated cores), and task-duration distributions. Every text
//! is escaped here; the SVG uses presentation attributes and classes only (no script).

use std::fmt::Write;

use sparkplane_analysis::report::html::{nice_step, time_step};
use sparkplane_analysis::Summary;

/// Width of every chart's view box.
const W: f64 = 960.0;
/// Left gutter for labels.
const LEFT: f64 = 110.0;
const RIGHT: f64 = 16.0;

/// Escape text for SVG/HTML.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

fn time_label(ms: f64) -> String {
    let s = ms / 1000.0;
    if s < 60.0 {
        if s.fract() == 0.0 {
            format!("{s:.0}s")
        } else {
            format!("{s:.1}s")
        }
    } else if s < 3600.0 {
        let m = (s / 60.0).floor();
        let r = s - m * 60.0;
        if r < 0.5 {
            format!("{m:.0}m")
        } else {
            format!("{m:.0}m{r:.0}s")
        }
    } else {
        let h = (s / 3600.0).floor();
        let m = ((s - h * 3600.0) / 60.0).round();
        format!("{h:.0}h{m:02.0}")
    }
}

fn dur_label(ms: f64) -> String {
    if ms < 1000.0 {
        format!("{ms:.0} ms")
    } else {
        time_label(ms)
    }
}

/// The run's time span (epoch ms) from the app, jobs and stages.
fn span(s: &Summary) -> Option<(i64, i64)> {
    let mut lo = s.app.start_time;
    let mut hi = s.app.end_time;
    let mut see = |t: Option<i64>| {
        if let Some(t) = t {
            lo = Some(lo.map_or(t, |l| l.min(t)));
            hi = Some(hi.map_or(t, |h| h.max(t)));
        }
    };
    for j in &s.jobs {
        see(j.submission_time);
        see(j.completion_time);
    }
    for st in &s.stages {
        see(st.submission_time);
        see(st.completion_time);
    }
    match (lo, hi) {
        (Some(l), Some(h)) if h > l => Some((l, h)),
        (Some(l), _) => Some((l, l + 1000)),
        _ => None,
    }
}

fn time_axis(o: &mut String, range: f64, top: f64, bottom: f64) {
    let step = time_step(range, 8.0);
    let x_of = |t: f64| LEFT + t / range * (W - LEFT - RIGHT);
    let mut t = 0.0;
    while t <= range + 0.5 {
        let x = x_of(t);
        let _ = write!(
            o,
            r#"<line class="grid" x1="{x:.1}" x2="{x:.1}" y1="{top:.1}" y2="{bottom:.1}"/><text class="tick" x="{x:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            bottom + 14.0,
            time_label(t)
        );
        t += step;
    }
}

fn empty(title: &str, msg: &str) -> String {
    format!(
        r#"<svg class="chart" viewBox="0 0 {W} 60" role="img" aria-label="{}"><text class="empty" x="{}" y="34" text-anchor="middle">{}</text></svg>"#,
        esc(title),
        W / 2.0,
        esc(msg)
    )
}

const MAX_JOB_ROWS: usize = 32;

/// Jobs as rows on the run's time axis, each with its stages drawn inside it.
pub fn timeline(s: &Summary) -> String {
    let Some((t0, t1)) = span(s) else {
        return empty("Job timeline", "No timing information in this summary");
    };
    let mut jobs: Vec<&sparkplane_analysis::summary::JobSummary> = s
        .jobs
        .iter()
        .filter(|j| j.submission_time.is_some())
        .collect();
    if jobs.is_empty() {
        return empty("Job timeline", "No jobs ran");
    }
    let total = jobs.len();
    if jobs.len() > MAX_JOB_ROWS {
        jobs.sort_by_key(|j| std::cmp::Reverse(j.duration_ms.unwrap_or(0)));
        jobs.truncate(MAX_JOB_ROWS);
    }
    jobs.sort_by_key(|j| (j.submission_time, j.job_id));
    let range = (t1 - t0) as f64;
    let row_h = 22.0;
    let top = 8.0;
    let bottom = top + row_h * jobs.len() as f64;
    let h = bottom + 26.0;
    let x_of = |t: i64| LEFT + ((t - t0) as f64 / range).clamp(0.0, 1.0) * (W - LEFT - RIGHT);
    let stage_of: std::collections::HashMap<u32, &sparkplane_analysis::summary::StageSummary> =
        s.stages.iter().map(|st| (st.stage_id, st)).collect();
    let mut o = String::with_capacity(8192);
    let _ = write!(
        o,
        r#"<svg class="chart" data-chart="timeline" viewBox="0 0 {W} {h:.0}" role="img" aria-label="Job and stage timeline">"#
    );
    time_axis(&mut o, range, top, bottom);
    let mut points = 0usize;
    for (i, j) in jobs.iter().enumerate() {
        let y = top + row_h * i as f64;
        let start = j.submission_time.unwrap_or(t0);
        let end = j.completion_time.unwrap_or(t1);
        let x0 = x_of(start);
        let x1 = x_of(end).max(x0 + 2.0);
        let status = format!("{:?}", j.status).to_lowercase();
        let _ = write!(
            o,
            r#"<text class="label" x="{:.1}" y="{:.1}" text-anchor="end">Job {}</text><rect class="job {status}" x="{x0:.1}" y="{:.1}" width="{:.1}" height="{:.1}" rx="3"><title>Job {} · {} · {}</title></rect>"#,
            LEFT - 8.0,
            y + row_h * 0.68,
            j.job_id,
            y + 3.0,
            x1 - x0,
            row_h - 6.0,
            j.job_id,
            esc(&status),
            dur_label(j.duration_ms.unwrap_or(end - start) as f64),
        );
        points += 1;
        for sid in j.stage_ids.iter().take(200) {
            let Some(st) = stage_of.get(sid) else {
                continue;
            };
            let (Some(a), Some(b)) = (
                st.first_task_launched_time.or(st.submission_time),
                st.completion_time,
            ) else {
                continue;
            };
            let sx0 = x_of(a);
            let sx1 = x_of(b).max(sx0 + 1.5);
            let sst = format!("{:?}", st.status).to_lowercase();
            let _ = write!(
                o,
                r#"<rect class="stage {sst}" x="{sx0:.1}" y="{:.1}" width="{:.1}" height="{:.1}" rx="1.5"><title>Stage {} · {} · {}</title></rect>"#,
                y + 7.0,
                sx1 - sx0,
                row_h - 14.0,
                st.stage_id,
                esc(&st.name.chars().take(80).collect::<String>()),
                dur_label(st.duration_ms.unwrap_or(b - a) as f64)
            );
        }
    }
    if total > jobs.len() {
        let _ = write!(
            o,
            r#"<text class="note" x="{:.1}" y="{:.1}" text-anchor="end">{} longest of {} jobs</text>"#,
            W - RIGHT,
            h - 2.0,
            jobs.len(),
            total
        );
    }
    let _ = write!(o, r#"<desc data-points="{points}"></desc></svg>"#);
    o
}

/// Running tasks (area) against allocated cores (step line) over the run.
pub fn usage(s: &Summary) -> String {
    let u = &s.usage;
    if u.task_ms.is_empty() || u.bucket_ms == 0 {
        return empty("Executor usage", "No task activity recorded");
    }
    let t0 = u.start_time;
    let t_end = t0 + (u.bucket_ms as i64) * (u.task_ms.len() as i64);
    let t1 = s.app.end_time.unwrap_or(t_end).max(t_end);
    let range = (t1 - t0).max(1) as f64;
    // Allocated cores: executors' add/remove events.
    let mut events: Vec<(i64, i64)> = Vec::new();
    // Local mode has only the driver; otherwise the driver runs no tasks.
    let only_driver = s.executors.iter().all(|e| e.executor_id == "driver");
    for e in &s.executors {
        if e.executor_id == "driver" && !only_driver {
            continue;
        }
        let c = i64::from(e.total_cores);
        events.push((e.add_time.unwrap_or(t0).max(t0), c));
        if let Some(r) = e.remove_time {
            events.push((r, -c));
        }
    }
    events.sort();
    let running: Vec<f64> = u.running().collect();
    let max_running = running.iter().copied().fold(0.0, f64::max);
    let mut cores = 0i64;
    let mut max_cores = 0i64;
    for (_, d) in &events {
        cores += d;
        max_cores = max_cores.max(cores);
    }
    let y_max = (max_running.max(max_cores as f64)).max(1.0) * 1.1;
    let step = nice_step(y_max, 4.0);
    let (top, bottom) = (10.0, 190.0);
    let h = bottom + 26.0;
    let x_of = |t: i64| LEFT + ((t - t0) as f64 / range).clamp(0.0, 1.0) * (W - LEFT - RIGHT);
    let y_of = |v: f64| bottom - v / y_max * (bottom - top);
    let mut o = String::with_capacity(8192);
    let _ = write!(
        o,
        r#"<svg class="chart" data-chart="usage" viewBox="0 0 {W} {h:.0}" role="img" aria-label="Running tasks and allocated cores">"#
    );
    let mut v = 0.0;
    while v <= y_max {
        let y = y_of(v);
        let _ = write!(
            o,
            r#"<line class="grid" x1="{LEFT}" x2="{:.1}" y1="{y:.1}" y2="{y:.1}"/><text class="tick" x="{:.1}" y="{:.1}" text-anchor="end">{v}</text>"#,
            W - RIGHT,
            LEFT - 8.0,
            y + 4.0
        );
        v += step;
    }
    time_axis(&mut o, range, top, bottom);
    let _ = write!(
        o,
        r#"<text class="axis" x="14" y="{:.1}" transform="rotate(-90 14 {:.1})" text-anchor="middle">cores / tasks</text>"#,
        (top + bottom) / 2.0,
        (top + bottom) / 2.0
    );
    // Area of running tasks.
    let mut d = format!("M{:.1},{bottom:.1}", x_of(t0));
    for (i, r) in running.iter().enumerate() {
        let a = t0 + (u.bucket_ms as i64) * i as i64;
        let b = a + u.bucket_ms as i64;
        let y = y_of(*r);
        let _ = write!(d, " L{:.1},{y:.1} L{:.1},{y:.1}", x_of(a), x_of(b));
    }
    let _ = write!(d, " L{:.1},{bottom:.1} Z", x_of(t_end));
    let _ = write!(o, r#"<path class="area" d="{d}"/>"#);
    // Step line of allocated cores.
    if !events.is_empty() {
        let mut c = 0i64;
        let mut p = format!("M{:.1},{:.1}", x_of(t0), y_of(0.0));
        for (t, delta) in &events {
            let x = x_of(*t);
            let _ = write!(p, " L{x:.1},{:.1}", y_of(c as f64));
            c += delta;
            let _ = write!(p, " L{x:.1},{:.1}", y_of(c as f64));
        }
        let _ = write!(p, " L{:.1},{:.1}", x_of(t1), y_of(c as f64));
        let _ = write!(o, r#"<path class="cores" d="{p}"/>"#);
    }
    let _ = write!(
        o,
        r#"<g class="legend"><rect class="area" x="{:.1}" y="14" width="12" height="12"/><text x="{:.1}" y="24">running tasks</text><line class="cores" x1="{:.1}" x2="{:.1}" y1="20" y2="20"/><text x="{:.1}" y="24">allocated cores</text></g>"#,
        W - 300.0,
        W - 282.0,
        W - 170.0,
        W - 150.0,
        W - 144.0
    );
    let _ = write!(o, r#"<desc data-points="{}"></desc></svg>"#, running.len());
    o
}

const DIST_STAGES: usize = 10;

/// Task-duration box plots (min, p25, median, p75, max) of the longest stages.
pub fn distribution(s: &Summary) -> String {
    let mut stages: Vec<(&sparkplane_analysis::summary::StageSummary, _)> = s
        .stages
        .iter()
        .filter_map(|st| st.task_duration_quantiles.as_ref().map(|q| (st, q)))
        .collect();
    if stages.is_empty() {
        return empty("Task durations", "No task durations recorded");
    }
    let total = stages.len();
    stages.sort_by_key(|(st, _)| std::cmp::Reverse(st.executor_run_time));
    stages.truncate(DIST_STAGES);
    stages.sort_by_key(|(st, _)| st.stage_id);
    let max = stages.iter().map(|(_, q)| q.max).max().unwrap_or(1).max(1) as f64 * 1.05;
    let row_h = 26.0;
    let top = 8.0;
    let bottom = top + row_h * stages.len() as f64;
    let h = bottom + 26.0;
    let x_of = |v: u64| LEFT + (v as f64 / max).clamp(0.0, 1.0) * (W - LEFT - RIGHT);
    let mut o = String::with_capacity(4096);
    let _ = write!(
        o,
        r#"<svg class="chart" data-chart="distribution" viewBox="0 0 {W} {h:.0}" role="img" aria-label="Task duration distribution per stage">"#
    );
    let step = nice_step(max, 6.0);
    let mut v = 0.0;
    while v <= max {
        let x = LEFT + v / max * (W - LEFT - RIGHT);
        let _ = write!(
            o,
            r#"<line class="grid" x1="{x:.1}" x2="{x:.1}" y1="{top:.1}" y2="{bottom:.1}"/><text class="tick" x="{x:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            bottom + 14.0,
            dur_label(v)
        );
        v += step;
    }
    for (i, (st, q)) in stages.iter().enumerate() {
        let y = top + row_h * i as f64;
        let mid = y + row_h / 2.0;
        let skew = q.median > 0 && q.max as f64 / q.median as f64 >= 4.0;
        let cls = if skew { "box skew" } else { "box" };
        let _ = write!(
            o,
            r#"<text class="label" x="{:.1}" y="{:.1}" text-anchor="end">Stage {}</text><line class="whisker" x1="{:.1}" x2="{:.1}" y1="{mid:.1}" y2="{mid:.1}"/><line class="whisker" x1="{:.1}" x2="{:.1}" y1="{:.1}" y2="{:.1}"/><line class="whisker" x1="{:.1}" x2="{:.1}" y1="{:.1}" y2="{:.1}"/><rect class="{cls}" x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" rx="2"><title>Stage {}: min {} · p25 {} · median {} · p75 {} · max {}</title></rect><line class="median" x1="{:.1}" x2="{:.1}" y1="{:.1}" y2="{:.1}"/>"#,
            LEFT - 8.0,
            mid + 4.0,
            st.stage_id,
            x_of(q.min),
            x_of(q.max),
            x_of(q.min),
            x_of(q.min),
            mid - 5.0,
            mid + 5.0,
            x_of(q.max),
            x_of(q.max),
            mid - 5.0,
            mid + 5.0,
            x_of(q.p25),
            y + 5.0,
            (x_of(q.p75) - x_of(q.p25)).max(2.0),
            row_h - 10.0,
            st.stage_id,
            dur_label(q.min as f64),
            dur_label(q.p25 as f64),
            dur_label(q.median as f64),
            dur_label(q.p75 as f64),
            dur_label(q.max as f64),
            x_of(q.median),
            x_of(q.median),
            y + 4.0,
            y + row_h - 4.0
        );
    }
    if total > stages.len() {
        let _ = write!(
            o,
            r#"<text class="note" x="{:.1}" y="{:.1}" text-anchor="end">{} busiest of {} stages</text>"#,
            W - RIGHT,
            h - 2.0,
            stages.len(),
            total
        );
    }
    let _ = write!(o, r#"<desc data-points="{}"></desc></svg>"#, stages.len());
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_and_escape() {
        assert_eq!(nice_step(100.0, 4.0), 50.0);
        assert_eq!(time_step(60_000.0, 8.0), 1e4);
        assert_eq!(time_label(90_000.0), "1m30s");
        assert_eq!(esc("<a&\"b'>"), "&lt;a&amp;&quot;b&#39;&gt;");
    }
}
