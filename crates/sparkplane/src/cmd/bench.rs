//! `sparkplane bench`: generate large event logs by replaying a real one, and measure the reader.
//!
//! Speed and memory targets are measured here (release build), never in timed unit tests.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use serde::Serialize;
use sparkplane_eventlog as eventlog;

const EXAMPLES: &str = "\
Examples:
  sparkplane bench gen-log --size 1GiB --out /work/bench-data/big.json
  sparkplane bench gen-log --size 1GiB --out /work/bench-data/big.zstd --zstd
  sparkplane bench read /work/bench-data/big.json
  sparkplane bench read /work/bench-data/big.zstd --json

Build with --release. `read` reports MB/s of decompressed JSON parsed into typed events on one
core, and the process's peak RSS (VmHWM).";

#[derive(clap::Args)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Write a large event log by replaying a real log's job/stage/task/SQL events with fresh ids.
    GenLog(GenArgs),
    /// Read an event log into typed events and report throughput and peak memory.
    Read(ReadArgs),
    /// Time the server's end-of-run path on a log: analyse, outbox (SQLite), export (local store).
    #[cfg(feature = "server")]
    Export(super::bench_export::ExportArgs),
}

#[derive(clap::Args)]
struct GenArgs {
    /// Uncompressed size to reach, e.g. 1GiB, 256MiB, 100MB.
    #[arg(long, value_parser = parse_size)]
    size: u64,
    /// Output file.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Compress the output with zstd (level 1, as Spark does by default).
    #[arg(long)]
    zstd: bool,
    /// The real log to replay (default: the shared many_small_tasks log, next to the workspace).
    #[arg(long, value_name = "PATH")]
    template: Option<PathBuf>,
}

#[derive(clap::Args)]
struct ReadArgs {
    /// The event log to read.
    path: PathBuf,
    /// Only split lines and validate JSON (no typed events), for comparison.
    #[arg(long)]
    raw: bool,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        Command::GenLog(a) => gen_log(a),
        Command::Read(a) => read(a),
        #[cfg(feature = "server")]
        Command::Export(a) => super::bench_export::run(a),
    }
}

fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num.parse().map_err(|_| format!("bad size {s:?}"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1_000,
        "kib" => 1 << 10,
        "m" | "mb" => 1_000_000,
        "mib" => 1 << 20,
        "g" | "gb" => 1_000_000_000,
        "gib" => 1 << 30,
        other => return Err(format!("unknown size unit {other:?}")),
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("size {s:?} too large"))
}

fn default_template() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(
        "../../../shared/eventlogs/generated/many_small_tasks/eventlog_v2_local-1795548412010",
    )
}

/// Keys whose integer values are ids (shifted per replay round so ids stay unique).
const ID_KEYS: &[(&str, IdKind)] = &[
    ("\"Job ID\":", IdKind::Job),
    ("\"Stage ID\":", IdKind::Stage),
    ("\"Stage IDs\":[", IdKind::StageList),
    ("\"Task ID\":", IdKind::Task),
    ("\"executionId\":", IdKind::Execution),
    ("\"rootExecutionId\":", IdKind::Execution),
];
/// Keys whose values are epoch-ms times (shifted per round so time moves forward).
const TIME_KEYS: &[&str] = &[
    "\"Submission Time\":",
    "\"Completion Time\":",
    "\"Launch Time\":",
    "\"Finish Time\":",
    "\"Timestamp\":",
    "\"time\":",
];

#[derive(Clone, Copy)]
enum IdKind {
    Job,
    Stage,
    StageList,
    Task,
    Execution,
}

#[derive(Default, Clone, Copy)]
struct Offsets {
    job: i64,
    stage: i64,
    task: i64,
    execution: i64,
    time: i64,
}

/// Copies `line` to `out`, adding the round's offsets to ids and times (numbers only; a zero
/// time stays zero: Spark writes 0 for "not yet").
fn shift_line(line: &[u8], off: &Offsets, out: &mut Vec<u8>) {
    let mut edits: Vec<(usize, usize, i64)> = Vec::new();
    let number_at = |pos: usize| -> Option<(usize, i64)> {
        let digits = line[pos..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        let v = std::str::from_utf8(&line[pos..pos + digits])
            .ok()?
            .parse()
            .ok()?;
        Some((digits, v))
    };
    for (key, kind) in ID_KEYS {
        for at in memchr::memmem::find_iter(line, key.as_bytes()) {
            let mut pos = at + key.len();
            let delta = match kind {
                IdKind::Job => off.job,
                IdKind::Stage | IdKind::StageList => off.stage,
                IdKind::Task => off.task,
                IdKind::Execution => off.execution,
            };
            while let Some((len, _)) = number_at(pos) {
                edits.push((pos, len, delta));
                if !matches!(kind, IdKind::StageList) || line.get(pos + len) != Some(&b',') {
                    break;
                }
                pos += len + 1;
            }
        }
    }
    for key in TIME_KEYS {
        for at in memchr::memmem::find_iter(line, key.as_bytes()) {
            let pos = at + key.len();
            if let Some((len, v)) = number_at(pos) {
                if len > 0 && v > 0 {
                    edits.push((pos, len, off.time));
                }
            }
        }
    }
    edits.sort_unstable_by_key(|e| e.0);
    let mut last = 0;
    for (pos, len, delta) in edits {
        if pos < last {
            continue;
        }
        out.extend_from_slice(&line[last..pos]);
        let v: i64 = std::str::from_utf8(&line[pos..pos + len])
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        out.extend_from_slice(v.saturating_add(delta).to_string().as_bytes());
        last = pos + len;
    }
    out.extend_from_slice(&line[last..]);
}

fn gen_log(a: GenArgs) -> anyhow::Result<ExitCode> {
    let template = a.template.unwrap_or_else(default_template);
    let log =
        eventlog::open(&template).with_context(|| format!("template {}", template.display()))?;
    // Header (before the first job/SQL event), body (replayed), trailer (application end).
    let (mut header, mut body, mut trailer) = (Vec::new(), Vec::new(), Vec::new());
    let mut max = Offsets::default();
    let (mut t_min, mut t_max) = (i64::MAX, 0i64);
    log.for_each_raw(|name, line| {
        let in_body = !body.is_empty();
        if name == eventlog::names::APPLICATION_END {
            trailer.push(line.to_vec());
        } else if in_body
            || name == eventlog::names::JOB_START
            || name == eventlog::names::SQL_EXECUTION_START
        {
            body.push(line.to_vec());
        } else {
            header.push(line.to_vec());
        }
    })
    .map_err(|f| f.error)?;
    anyhow::ensure!(!body.is_empty(), "template has no job events to replay");
    // Id and time ranges of the body, for the per-round offsets.
    log.for_each(|ev| match ev {
        eventlog::Event::JobStart(j) => max.job = max.job.max(j.job_id + 1),
        eventlog::Event::StageSubmitted(s) => max.stage = max.stage.max(s.stage_info.stage_id + 1),
        eventlog::Event::TaskEnd(t) => {
            max.task = max.task.max(t.task_info.task_id + 1);
            t_min = t_min.min(t.task_info.launch_time);
            t_max = t_max.max(t.task_info.finish_time);
        }
        eventlog::Event::SqlExecutionStart(s) => {
            max.execution = max.execution.max(s.execution_id + 1)
        }
        _ => {}
    })
    .map_err(|f| f.error)?;
    max.time = (t_max - t_min).max(1000);

    let file = File::create(&a.out).with_context(|| format!("create {}", a.out.display()))?;
    let mut out: Box<dyn Write> = if a.zstd {
        Box::new(
            zstd::stream::write::Encoder::new(BufWriter::with_capacity(1 << 20, file), 1)?
                .auto_finish(),
        )
    } else {
        Box::new(BufWriter::with_capacity(1 << 20, file))
    };
    let started = Instant::now();
    let mut written = 0u64;
    let emit = |line: &[u8], out: &mut Box<dyn Write>, written: &mut u64| -> std::io::Result<()> {
        out.write_all(line)?;
        out.write_all(b"\n")?;
        *written += line.len() as u64 + 1;
        Ok(())
    };
    for l in &header {
        emit(l, &mut out, &mut written)?;
    }
    let mut buf = Vec::with_capacity(1 << 16);
    let mut round = 0i64;
    let mut events = header.len() as u64;
    'outer: loop {
        let off = Offsets {
            job: max.job * round,
            stage: max.stage * round,
            task: max.task * round,
            execution: max.execution * round,
            time: max.time * round,
        };
        for l in &body {
            buf.clear();
            shift_line(l, &off, &mut buf);
            emit(&buf, &mut out, &mut written)?;
            events += 1;
            if written >= a.size {
                break 'outer;
            }
        }
        round += 1;
    }
    for l in &trailer {
        buf.clear();
        shift_line(
            l,
            &Offsets {
                time: max.time * round,
                ..Offsets::default()
            },
            &mut buf,
        );
        emit(&buf, &mut out, &mut written)?;
        events += 1;
    }
    out.flush()?;
    drop(out);
    eprintln!(
        "wrote {} ({} bytes of JSON, {events} events, {} replay rounds of {}) in {:.1}s",
        a.out.display(),
        written,
        round + 1,
        template.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

#[derive(Serialize)]
struct ReadResult {
    path: PathBuf,
    codec: eventlog::Codec,
    mode: &'static str,
    events: u64,
    json_bytes: u64,
    compressed_bytes: u64,
    /// Wall-clock seconds.
    seconds: f64,
    /// JSON MB per wall-clock second.
    mb_per_s: f64,
    /// CPU seconds this (single-threaded) read used; on a shared machine this, not wall time,
    /// measures one core's speed.
    cpu_seconds: Option<f64>,
    /// JSON MB per CPU second: the one-core throughput.
    mb_per_cpu_s: Option<f64>,
    peak_rss_mib: Option<f64>,
}

/// CPU time this process has run, from `/proc/self/schedstat` (nanoseconds on CPU).
fn cpu_seconds() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/schedstat").ok()?;
    let ns: f64 = s.split_whitespace().next()?.parse().ok()?;
    Some(ns / 1e9)
}

/// Peak resident set size of this process (Linux `VmHWM`), in MiB.
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn read(a: ReadArgs) -> anyhow::Result<ExitCode> {
    let log = eventlog::open(&a.path)?;
    let compressed_bytes = log
        .files()
        .iter()
        .filter_map(|f| std::fs::metadata(&f.path).ok())
        .map(|m| m.len())
        .sum();
    let cpu_start = cpu_seconds();
    let started = Instant::now();
    // Touch a field of each typed event so the parse cannot be optimised away.
    let mut checksum = 0i64;
    let result = if a.raw {
        log.for_each_raw(|_, line| checksum = checksum.wrapping_add(line.len() as i64))
    } else {
        log.for_each(|ev| {
            if let eventlog::Event::TaskEnd(t) = ev {
                checksum = checksum.wrapping_add(t.task_info.task_id);
            }
        })
    };
    let seconds = started.elapsed().as_secs_f64();
    let cpu = match (cpu_start, cpu_seconds()) {
        (Some(a), Some(b)) if b > a => Some(b - a),
        _ => None,
    };
    let d = result.map_err(|f| f.error)?;
    std::hint::black_box(checksum);
    let r = ReadResult {
        path: a.path,
        codec: d.codec,
        mode: if a.raw { "raw" } else { "typed" },
        events: d.events_total,
        json_bytes: d.bytes,
        compressed_bytes,
        seconds,
        mb_per_s: d.bytes as f64 / 1e6 / seconds,
        cpu_seconds: cpu,
        mb_per_cpu_s: cpu.map(|c| d.bytes as f64 / 1e6 / c),
        peak_rss_mib: peak_rss_mib(),
    };
    if a.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    } else {
        println!(
            "{} ({}, {}): {} events, {:.1} MB JSON in {:.2}s = {:.0} MB/s wall; {} CPU s = {} MB/s per core; peak RSS {} MiB",
            r.path.display(),
            r.codec,
            r.mode,
            r.events,
            r.json_bytes as f64 / 1e6,
            r.seconds,
            r.mb_per_s,
            r.cpu_seconds.map_or("?".to_owned(), |c| format!("{c:.2}")),
            r.mb_per_cpu_s.map_or("?".to_owned(), |m| format!("{m:.0}")),
            r.peak_rss_mib.map_or("?".to_owned(), |m| format!("{m:.1}"))
        );
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_size("100MB"), Ok(100_000_000));
        assert_eq!(parse_size("42"), Ok(42));
        assert!(parse_size("1XB").is_err());
    }

    #[test]
    fn shifts_ids_and_times() {
        let line = br#"{"Event":"SparkListenerJobStart","Job ID":3,"Submission Time":100,"Stage IDs":[4,5],"Finish Time":0,"Stage Infos":[{"Stage ID":4}]}"#;
        let mut out = Vec::new();
        shift_line(
            line,
            &Offsets {
                job: 10,
                stage: 100,
                task: 0,
                execution: 0,
                time: 1000,
            },
            &mut out,
        );
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            r#"{"Event":"SparkListenerJobStart","Job ID":13,"Submission Time":1100,"Stage IDs":[104,105],"Finish Time":0,"Stage Infos":[{"Stage ID":104}]}"#
        );
    }
}
