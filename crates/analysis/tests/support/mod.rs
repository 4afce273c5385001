//! Shared helpers of the insights / PII / HTML-report tests: build a model and a summary from a
//! real event log on disk.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use sparkplane_analysis::insights::Thresholds;
use sparkplane_analysis::model::Model;
use sparkplane_analysis::{analyze, Analysis, Options, Summary};

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .canonicalize()
        .expect("workspace root")
}

/// `<root>/../shared/eventlogs`.
pub fn shared_logs() -> PathBuf {
    root().join("../shared/eventlogs")
}

/// Whether tests must fail (not skip) when an external tool or data set is missing.
pub fn require_all() -> bool {
    std::env::var("SPARKPLANE_REQUIRE_ALL").is_ok_and(|v| v == "1")
}

/// Skip (print why) or, under `SPARKPLANE_REQUIRE_ALL=1`, fail.
pub fn skip_or_fail(why: &str) {
    if require_all() {
        panic!("SPARKPLANE_REQUIRE_ALL=1 and {why}");
    }
    eprintln!("SKIPPED: {why}");
}

/// Analyse a log with the given thresholds.
pub fn analysis_with(path: &Path, thresholds: &Thresholds) -> Analysis {
    let log = sparkplane_eventlog::open(path).unwrap_or_else(|e| panic!("open {path:?}: {e}"));
    let options = Options {
        thresholds: thresholds.clone(),
    };
    analyze(&log, &options).unwrap_or_else(|e| panic!("analyze {path:?}: {e}"))
}

/// Fold a log into a model.
pub fn model_of(path: &Path) -> Model {
    analysis_with(path, &Thresholds::default()).model
}

/// Fold a log and build its redacted summary with the default thresholds.
pub fn summary_of(path: &Path) -> Summary {
    analysis_with(path, &Thresholds::default()).summary
}

/// The first application log under `dir` (a workload directory of the shared logs).
pub fn app_in(dir: &Path) -> PathBuf {
    let apps =
        sparkplane_eventlog::list_applications(dir).unwrap_or_else(|e| panic!("list {dir:?}: {e}"));
    apps.into_iter()
        .next()
        .unwrap_or_else(|| panic!("no application under {dir:?}"))
        .path
}
