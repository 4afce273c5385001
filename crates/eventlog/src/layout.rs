//! Where an application's events are: a single file, a rolling `eventlog_v2_*` directory, or a
//! Spark 1.x legacy directory; and the applications in a `spark.eventLog.dir`.

use std::fs;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::codec::Codec;
use crate::error::Error;

/// How an application's log is laid out on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Layout {
    /// `<app id>[_<attempt>][.codec][.inprogress]`
    SingleFile,
    /// `eventlog_v2_<app id>[_<attempt>]/events_<N>_...` plus an `appstatus_*` marker.
    Rolling,
    /// Spark 1.x: a directory with `EVENT_LOG_1`, `SPARK_VERSION_*`, `COMPRESSION_CODEC_*` and
    /// (when finished) `APPLICATION_COMPLETE`.
    Legacy,
}

/// One file of an application's log, in reading order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogFile {
    pub path: PathBuf,
    /// The codec the file name (or legacy `COMPRESSION_CODEC_*` marker) says; the magic bytes
    /// decide when they disagree.
    pub name_codec: Option<Codec>,
}

/// Where one application's events are, as found by [`crate::open`].
#[derive(Debug, Clone)]
pub struct Located {
    pub path: PathBuf,
    pub layout: Layout,
    pub files: Vec<LogFile>,
    pub in_progress: bool,
    /// Spark version from a legacy `SPARK_VERSION_*` marker.
    pub spark_version: Option<String>,
    pub warnings: Vec<String>,
}

/// An application found in a directory of many (see [`crate::list_applications`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppEntry {
    pub path: PathBuf,
    /// The file or directory name.
    pub name: String,
    pub layout: Layout,
    /// Whether the name or status marker says the application is still running.
    pub in_progress: bool,
}

fn io_err(path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn read_dir_names(dir: &Path) -> Result<Vec<(String, PathBuf, bool)>, Error> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| io_err(dir, e))? {
        let entry = entry.map_err(|e| io_err(dir, e))?;
        let path = entry.path();
        let is_dir = path.is_dir();
        out.push((
            entry.file_name().to_string_lossy().into_owned(),
            path,
            is_dir,
        ));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// The index `N` of a rolling file `events_<N>_...`.
pub(crate) fn rolling_index(name: &str) -> Option<u64> {
    name.strip_prefix("events_")?
        .split('_')
        .next()?
        .parse()
        .ok()
}

fn is_hidden_or_crc(name: &str) -> bool {
    name.starts_with('.') || name.ends_with(".crc")
}

fn codec_of_log_name(name: &str) -> Option<Codec> {
    let name = crate::sealed::inner_name(name);
    let n = name.strip_suffix(".inprogress").unwrap_or(name);
    let n = n.strip_suffix(".compact").unwrap_or(n);
    Codec::from_file_name(n)
}

/// What kind of application directory `dir` is, if any.
fn dir_layout(dir: &Path, names: &[(String, PathBuf, bool)]) -> Option<Layout> {
    let dir_name = file_name(dir);
    if names
        .iter()
        .any(|(n, _, d)| !d && n.starts_with("EVENT_LOG_"))
    {
        return Some(Layout::Legacy);
    }
    if dir_name.starts_with("eventlog_v2_")
        || names
            .iter()
            .any(|(n, _, d)| !d && (rolling_index(n).is_some() || n.starts_with("appstatus_")))
    {
        return Some(Layout::Rolling);
    }
    None
}

/// Finds one application's files at `path`.
pub(crate) fn locate(path: &Path) -> Result<Located, Error> {
    let meta = fs::metadata(path).map_err(|e| io_err(path, e))?;
    if meta.is_file() {
        let name = file_name(path);
        return Ok(Located {
            path: path.to_path_buf(),
            layout: Layout::SingleFile,
            files: vec![LogFile {
                path: path.to_path_buf(),
                name_codec: codec_of_log_name(&name),
            }],
            in_progress: crate::sealed::inner_name(&name).ends_with(".inprogress"),
            spark_version: None,
            warnings: Vec::new(),
        });
    }
    let names = read_dir_names(path)?;
    match dir_layout(path, &names) {
        Some(Layout::Rolling) => locate_rolling(path, &names),
        Some(Layout::Legacy) => Ok(locate_legacy(path, &names)),
        _ => {
            let apps = list_applications(path)?;
            if apps.is_empty() {
                Err(Error::NotAnEventLog {
                    path: path.to_path_buf(),
                })
            } else {
                Err(Error::ManyApplications {
                    path: path.to_path_buf(),
                    count: apps.len(),
                })
            }
        }
    }
}

fn locate_rolling(dir: &Path, names: &[(String, PathBuf, bool)]) -> Result<Located, Error> {
    let mut warnings = Vec::new();
    let mut events: Vec<(u64, &String, &PathBuf)> = names
        .iter()
        .filter(|(n, _, d)| !d && !is_hidden_or_crc(n))
        .filter_map(|(n, p, _)| rolling_index(n).map(|i| (i, n, p)))
        .collect();
    // Numeric order of N (events_10 after events_9), compacted file first at equal index.
    events.sort_by(|a, b| {
        a.0.cmp(&b.0)
            .then_with(|| b.1.ends_with(".compact").cmp(&a.1.ends_with(".compact")))
    });
    if events.is_empty() {
        return Err(Error::NotAnEventLog {
            path: dir.to_path_buf(),
        });
    }
    // After compaction, the newest `.compact` file holds everything before it.
    if let Some(pos) = events.iter().rposition(|(_, n, _)| n.ends_with(".compact")) {
        if pos > 0 {
            warnings.push(format!(
                "compacted log: reading from {} (skipping {} older file(s))",
                events[pos].1, pos
            ));
        }
        events.drain(..pos);
    }
    // Two files with the same index (a compacted one and its original): keep the first.
    events.dedup_by(|b, a| a.0 == b.0);
    let status = names
        .iter()
        .find(|(n, _, d)| !d && n.starts_with("appstatus_") && !n.ends_with(".crc"));
    let in_progress = match status {
        Some((n, _, _)) => n.ends_with(".inprogress"),
        None => {
            warnings
                .push("rolling log has no appstatus_ marker; assuming it is in progress".into());
            true
        }
    };
    Ok(Located {
        path: dir.to_path_buf(),
        layout: Layout::Rolling,
        files: events
            .into_iter()
            .map(|(_, n, p)| LogFile {
                path: p.clone(),
                name_codec: codec_of_log_name(n),
            })
            .collect(),
        in_progress,
        spark_version: None,
        warnings,
    })
}

fn locate_legacy(dir: &Path, names: &[(String, PathBuf, bool)]) -> Located {
    let mut codec = None;
    let mut spark_version = None;
    let mut complete = false;
    let mut logs: Vec<(u64, &PathBuf)> = Vec::new();
    for (n, p, d) in names {
        if *d || is_hidden_or_crc(n) {
            continue;
        }
        if let Some(c) = n.strip_prefix("COMPRESSION_CODEC_") {
            codec = Codec::from_short_name(c);
        } else if let Some(v) = n.strip_prefix("SPARK_VERSION_") {
            spark_version = Some(v.to_owned());
        } else if n == "APPLICATION_COMPLETE" {
            complete = true;
        } else if let Some(i) = n.strip_prefix("EVENT_LOG_") {
            logs.push((i.parse().unwrap_or(u64::MAX), p));
        }
    }
    logs.sort();
    Located {
        path: dir.to_path_buf(),
        layout: Layout::Legacy,
        files: logs
            .into_iter()
            .map(|(_, p)| LogFile {
                path: p.clone(),
                name_codec: codec,
            })
            .collect(),
        in_progress: !complete,
        spark_version,
        warnings: Vec::new(),
    }
}

/// Whether `path` is one application's log (a file, rolling directory or legacy directory)
/// rather than a directory of many.
pub fn is_application(path: &Path) -> bool {
    if path.is_file() {
        return true;
    }
    match read_dir_names(path) {
        Ok(names) => dir_layout(path, &names).is_some(),
        Err(_) => false,
    }
}

/// The applications in a directory such as `spark.eventLog.dir`, sorted by name. Directories
/// that are not themselves application logs are searched too (up to 4 levels), so a tree of
/// workloads is listed whole. Hidden files, `.crc` files and status markers are skipped.
pub fn list_applications(dir: &Path) -> Result<Vec<AppEntry>, Error> {
    let mut out = Vec::new();
    collect_apps(dir, 0, &mut out)?;
    Ok(out)
}

fn collect_apps(dir: &Path, depth: usize, out: &mut Vec<AppEntry>) -> Result<(), Error> {
    for (name, path, is_dir) in read_dir_names(dir)? {
        if is_hidden_or_crc(&name) {
            continue;
        }
        if is_dir {
            let inner = read_dir_names(&path)?;
            match dir_layout(&path, &inner) {
                Some(layout @ Layout::Rolling) => {
                    let in_progress = !inner.iter().any(|(n, _, d)| {
                        !d && n.starts_with("appstatus_") && !n.ends_with(".inprogress")
                    });
                    out.push(AppEntry {
                        path,
                        name,
                        layout,
                        in_progress,
                    });
                }
                Some(layout) => {
                    let in_progress = !inner.iter().any(|(n, _, _)| n == "APPLICATION_COMPLETE");
                    out.push(AppEntry {
                        path,
                        name,
                        layout,
                        in_progress,
                    });
                }
                None if depth < 4 => collect_apps(&path, depth + 1, out)?,
                None => {}
            }
        } else if looks_like_log_file(&name) {
            out.push(AppEntry {
                in_progress: crate::sealed::inner_name(&name).ends_with(".inprogress"),
                path,
                name,
                layout: Layout::SingleFile,
            });
        }
    }
    Ok(())
}

/// Single event-log files are named after the application id; skip obvious non-logs
/// (documentation, JSON snapshots, scripts) that share a directory with logs.
fn looks_like_log_file(name: &str) -> bool {
    let name = crate::sealed::inner_name(name);
    const NOT_LOGS: &[&str] = &[
        ".md", ".json", ".txt", ".py", ".sh", ".html", ".csv", ".yaml", ".yml", ".toml",
    ];
    !name.starts_with("appstatus_") && !NOT_LOGS.iter().any(|ext| name.ends_with(ext))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rolling_index_parses() {
        assert_eq!(rolling_index("events_1_local-1"), Some(1));
        assert_eq!(rolling_index("events_12_app_1.zstd"), Some(12));
        assert_eq!(rolling_index("events_x_app"), None);
        assert_eq!(rolling_index("appstatus_app"), None);
    }

    #[test]
    fn codec_from_log_names() {
        assert_eq!(
            codec_of_log_name("events_3_app.lz4.compact"),
            Some(Codec::Lz4)
        );
        assert_eq!(
            codec_of_log_name("app_1.zstd.inprogress"),
            Some(Codec::Zstd)
        );
        assert_eq!(codec_of_log_name("local-1795548357922"), None);
    }
}
