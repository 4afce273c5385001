//! `sparkplane analyze`: read an event log (or a directory of many) and print a report.
//!
//! The per-application report is built by [`build_report`]; extend [`Report`] (and the text
//! rendering in [`write_text`]) to print more of the analysis.

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use serde::Serialize;
use sparkplane_analysis::app::AppInfo;
use sparkplane_analysis::{self as analysis, Summary};
use sparkplane_eventlog::{self as eventlog, Diagnostics};

const EXAMPLES: &str = "\
Examples:
  sparkplane analyze /tmp/spark-events/eventlog_v2_local-1795548357922
  sparkplane analyze app-20260101-0001.zstd --format json
  sparkplane analyze /tmp/spark-events --format json --output apps.json   # every application
  sparkplane analyze eventlog_v2_local-1795548357922 --format html --output report.html
  sparkplane analyze app.zstd --config thresholds.toml --threshold data_skew.min_duration_ratio=8
  sparkplane analyze app.zstd --threshold spill.min_disk_spill_bytes=64m

Formats: text (terminal report: insights first, most severe first; colours on a terminal unless
NO_COLOR is set), json (the versioned Summary), html (one self-contained page with charts, no
network access; needs a single application).

Thresholds: --config FILE reads a TOML file with one table per insight kind, --threshold
KIND.NAME=VALUE (repeatable) overrides one value after it; sizes take k/m/g suffixes; every kind
has `enabled`. Kinds, names and defaults:
  data_skew            min_duration_ratio=5.0 min_read_ratio=5.0 min_max_task_ms=1000
                       min_max_task_read_bytes=256k min_tasks=4 critical_max_task_ms=600000
  spill                min_disk_spill_bytes=1m critical_disk_spill_bytes=1g
  small_files          min_files=100 max_avg_file_bytes=3m target_file_bytes=128m
  task_failures        min_failed_tasks=1 critical_failure_rate=0.5
  job_failure          min_failed_jobs=1
  tiny_tasks           min_tasks=1000 max_median_task_ms=500 decrease_ratio=10
  low_core_utilization min_idle_share=0.5 min_busy_ms=5000 min_cores=2 critical_idle_share=0.8
  gc_pressure          min_gc_share=0.08 critical_gc_share=0.15 min_stage_run_time_ms=5000
  large_broadcast      min_broadcast_bytes=64m critical_broadcast_bytes=1g
  python_udf           min_nodes=1
  nested_loop_join     min_nodes=1
  driver_idle          min_idle_ms=10000 min_idle_share=0.25 critical_idle_share=0.5

PATH may be a single event-log file (plain, zstd, lz4, snappy, lzf, gzip; .inprogress too), a
rolling eventlog_v2_* directory, a Spark 1.x directory (EVENT_LOG_1), or a directory of many
applications (spark.eventLog.dir).

Exit status: 0 ok; 1 the report was printed but the log is partly corrupt (corrupt compressed
data, malformed lines, or an unreadable application in a directory); 2 the input is unreadable.";

/// Output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
    Html,
}

#[derive(clap::Args)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    /// Event-log file, rolling or legacy log directory, or a directory of many applications.
    pub path: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Write the report to FILE instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Insight thresholds from a TOML file (tables named after the insight kinds).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Override one insight threshold, e.g. `data_skew.min_duration_ratio=8` (repeatable).
    #[arg(long = "threshold", value_name = "KIND.NAME=VALUE")]
    pub thresholds: Vec<String>,
}

/// The analysis options from `--config` and `--threshold`.
fn options(args: &Args) -> anyhow::Result<analysis::Options> {
    let mut thresholds = match &args.config {
        Some(file) => {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            analysis::insights::Thresholds::from_toml_str(&text)
                .with_context(|| format!("in {}", file.display()))?
        }
        None => analysis::insights::Thresholds::default(),
    };
    for t in &args.thresholds {
        thresholds.set(t)?;
    }
    Ok(analysis::Options { thresholds })
}

/// The report of one application. Its JSON form is the full [`Summary`] (plus `error` when
/// reading stopped early).
#[derive(Debug, Serialize)]
pub struct Report {
    #[serde(skip)]
    pub app: AppInfo,
    #[serde(skip)]
    pub diagnostics: Diagnostics,
    #[serde(flatten)]
    pub summary: Summary,
    /// Where reading stopped early (corrupt data), if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Report {
    /// Whether the log was read only in part or had malformed lines.
    pub fn partly_corrupt(&self) -> bool {
        self.error.is_some() || self.diagnostics.malformed_lines > 0
    }
}

/// Reads one application's log and builds its report. `Err` when the log cannot be opened or
/// read at all; a log that is corrupt part-way gives a report with `error` set.
pub fn build_report(path: &Path, options: &analysis::Options) -> Result<Report, eventlog::Error> {
    let log = eventlog::open(path)?;
    let analysis = match analysis::analyze(&log, options) {
        Ok(a) => a,
        Err(analysis::AnalyzeError::Unreadable(e)) => return Err(e),
    };
    let (mut app, mut summary) = (analysis.app, analysis.summary);
    if app.id.is_empty() {
        app.id = id_from_path(path);
        summary.app.id = Some(app.id.clone());
    }
    Ok(Report {
        app,
        diagnostics: analysis.diagnostics,
        summary,
        error: analysis.read_error,
    })
}

/// An application id from a log's file or directory name (for logs without `App ID`).
fn id_from_path(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = name.strip_prefix("eventlog_v2_").unwrap_or(&name);
    let name = name.strip_suffix(".inprogress").unwrap_or(name);
    match name.rsplit_once('.') {
        Some((stem, ext)) if eventlog::Codec::from_short_name(ext).is_some() => stem.to_owned(),
        _ => name.to_owned(),
    }
}

/// One row of a many-application run: a report, or why the application could not be read.
#[derive(Serialize)]
#[serde(untagged)]
enum Entry {
    Report(Box<Report>),
    Unreadable { path: PathBuf, error: String },
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let path = &args.path;
    if !path.exists() {
        anyhow::bail!("{}: no such file or directory", path.display());
    }
    let options = options(&args)?;
    let color = args.output.is_none()
        && io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").is_none();
    if args.format == Format::Html && !eventlog::is_application(path) {
        anyhow::bail!(
            "{}: --format html reports one application; point PATH at one log",
            path.display()
        );
    }
    let mut out: Box<dyn Write> = match &args.output {
        Some(file) => Box::new(BufWriter::new(
            File::create(file).with_context(|| format!("cannot create {}", file.display()))?,
        )),
        None => Box::new(BufWriter::new(io::stdout().lock())),
    };
    let code = if eventlog::is_application(path) {
        let report = build_report(path, &options)?;
        match args.format {
            Format::Json => {
                serde_json::to_writer_pretty(&mut out, &report)?;
                writeln!(out)?;
            }
            Format::Text => {
                let opts = analysis::report::text::TextOptions {
                    color,
                    ..Default::default()
                };
                out.write_all(analysis::report::text::render(&report.summary, &opts).as_bytes())?;
                writeln!(out)?;
                write_text(&mut out, &report)?
            }
            Format::Html => {
                out.write_all(analysis::report::html::render(&report.summary).as_bytes())?
            }
        }
        if let Some(e) = &report.error {
            eprintln!("sparkplane: warning: {e}");
        }
        u8::from(report.partly_corrupt())
    } else {
        let apps = eventlog::list_applications(path)?;
        if apps.is_empty() {
            anyhow::bail!("{}: no Spark event logs found", path.display());
        }
        let bar = if io::stderr().is_terminal() {
            indicatif::ProgressBar::new(apps.len() as u64)
        } else {
            indicatif::ProgressBar::hidden()
        };
        let mut entries = Vec::with_capacity(apps.len());
        for app in &apps {
            bar.set_message(app.name.clone());
            entries.push(match build_report(&app.path, &options) {
                Ok(r) => Entry::Report(Box::new(r)),
                Err(e) => Entry::Unreadable {
                    path: app.path.clone(),
                    error: e.to_string(),
                },
            });
            bar.inc(1);
        }
        bar.finish_and_clear();
        match args.format {
            Format::Json => {
                serde_json::to_writer_pretty(&mut out, &entries)?;
                writeln!(out)?;
            }
            Format::Text | Format::Html => write_rows(&mut out, &apps, &entries)?,
        }
        let bad = entries.iter().any(|e| match e {
            Entry::Report(r) => r.partly_corrupt(),
            Entry::Unreadable { .. } => true,
        });
        u8::from(bad)
    };
    out.flush()?;
    Ok(ExitCode::from(code))
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| v.to_string())
}

fn duration(ms: Option<i64>) -> String {
    match ms {
        Some(ms) if ms >= 60_000 => format!("{}m{:02}s", ms / 60_000, (ms % 60_000) / 1000),
        Some(ms) => format!("{:.1}s", ms as f64 / 1000.0),
        None => "-".to_owned(),
    }
}

/// `YYYY-MM-DD HH:MM:SS UTC` for epoch milliseconds.
fn utc(ms: Option<i64>) -> String {
    let Some(ms) = ms else { return "-".to_owned() };
    let secs = ms.div_euclid(1000);
    let (days, sod) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        sod / 3600,
        (sod % 3600) / 60,
        sod % 60
    )
}

/// The log section of the text report (after the analysis report): what was read. Names come
/// from the redacted summary, never from the raw application info.
pub fn write_text(out: &mut dyn Write, r: &Report) -> io::Result<()> {
    let (a, d) = (&r.app, &r.diagnostics);
    writeln!(out, "LOG")?;
    writeln!(
        out,
        "Application   {} ({})",
        r.summary.app.name.as_deref().unwrap_or("-"),
        a.id
    )?;
    writeln!(out, "Attempt       {}", opt(a.attempt_id.as_ref()))?;
    writeln!(out, "User          {}", opt(r.summary.app.user.as_ref()))?;
    writeln!(out, "Spark         {}", opt(a.spark_version.as_ref()))?;
    writeln!(
        out,
        "Status        {}{}",
        serde_json::to_value(a.status)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default(),
        if a.completed {
            " (completed)"
        } else {
            " (no end event)"
        }
    )?;
    writeln!(out, "Started       {}", utc(a.start_time))?;
    writeln!(out, "Ended         {}", utc(a.end_time))?;
    writeln!(out, "Duration      {}", duration(a.duration_ms))?;
    writeln!(
        out,
        "Files         {} ({}{}{})",
        d.files,
        d.codec,
        if d.in_progress { ", in progress" } else { "" },
        if d.truncated { ", truncated" } else { "" }
    )?;
    writeln!(
        out,
        "Events        {} total, {} malformed line(s), {} unknown",
        d.events_total, d.malformed_lines, d.unknown_events
    )?;
    for (name, n) in &d.events_by_type {
        writeln!(out, "  {n:>9}  {name}")?;
    }
    for m in &d.malformed {
        writeln!(out, "Malformed     {} line {}: {}", m.file, m.line, m.error)?;
    }
    for w in &d.warnings {
        writeln!(out, "Warning       {w}")?;
    }
    if let Some(e) = &r.error {
        writeln!(out, "Error         {e}")?;
    }
    Ok(())
}

/// One row per application.
fn write_rows(
    out: &mut dyn Write,
    apps: &[eventlog::AppEntry],
    entries: &[Entry],
) -> io::Result<()> {
    writeln!(
        out,
        "{:<28} {:<24} {:<9} {:>9} {:>9} {:<6} PATH",
        "APP ID", "NAME", "STATUS", "DURATION", "EVENTS", "CODEC"
    )?;
    for (app, entry) in apps.iter().zip(entries) {
        match entry {
            Entry::Report(r) => {
                let status = serde_json::to_value(r.app.status)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                writeln!(
                    out,
                    "{:<28} {:<24} {:<9} {:>9} {:>9} {:<6} {}{}",
                    r.app.id,
                    r.summary.app.name.as_deref().unwrap_or("-"),
                    status,
                    duration(r.app.duration_ms),
                    r.diagnostics.events_total,
                    r.diagnostics.codec,
                    app.path.display(),
                    if r.partly_corrupt() {
                        "  (partly corrupt)"
                    } else {
                        ""
                    }
                )?;
            }
            Entry::Unreadable { path, error } => {
                writeln!(
                    out,
                    "{:<28} unreadable: {error}  {}",
                    app.name,
                    path.display()
                )?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_times() {
        assert_eq!(utc(Some(0)), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(Some(1_795_549_174_967)), "2026-11-24 19:39:34 UTC");
        assert_eq!(duration(Some(2500)), "2.5s");
        assert_eq!(duration(Some(125_000)), "2m05s");
    }

    #[test]
    fn help_lists_every_threshold() {
        for (name, _) in sparkplane_analysis::insights::Thresholds::default().names() {
            let (kind, field) = name.split_once('.').unwrap_or_default();
            if field == "enabled" {
                continue;
            }
            let line = EXAMPLES
                .lines()
                .skip_while(|l| !l.trim_start().starts_with(kind))
                .take(2)
                .collect::<String>();
            assert!(line.contains(&format!("{field}=")), "help misses {name}");
        }
    }

    #[test]
    fn ids_from_paths() {
        assert_eq!(id_from_path(Path::new("/x/eventlog_v2_local-1")), "local-1");
        assert_eq!(
            id_from_path(Path::new("/x/local-2.lz4.inprogress")),
            "local-2"
        );
        assert_eq!(id_from_path(Path::new("/x/app-3")), "app-3");
    }
}
