//! The HTML report of real logs: self-contained (no network), every chart has data points, and —
//! in headless Chromium (Debian `chromium` driven by npm `playwright-core`, see
//! `tests/browser/check-report.mjs`) — no request leaves the page, no console error, and the
//! screenshot is not blank. Screenshots are saved under `<workspace>/out/html-report/`.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use sparkplane_analysis::report::html;
use support::{app_in, root, shared_logs, skip_or_fail, summary_of};

/// Logs whose reports are rendered: a skewed join, a clean ETL, and a many-task run.
fn cases() -> Vec<(&'static str, PathBuf)> {
    let g = shared_logs().join("generated");
    [
        ("join_skew", app_in(&g.join("join_skew"))),
        ("etl_mixed", app_in(&g.join("etl_mixed"))),
        ("many_small_tasks", app_in(&g.join("many_small_tasks"))),
        (
            "spark35_etl_mixed",
            app_in(&shared_logs().join("generated-spark35/etl_mixed")),
        ),
    ]
    .into_iter()
    .chain(
        // Planted cases of the project's own test data, when present.
        ["job_failure", "driver_idle", "spill"]
            .into_iter()
            .map(|w| (w, root().join("testdata/eventlogs/spark43").join(w)))
            .filter(|(_, d)| d.exists())
            .map(|(w, d)| (w, app_in(&d))),
    )
    .collect()
}

fn out_dir() -> PathBuf {
    let d = root().join("out/html-report");
    std::fs::create_dir_all(&d).expect("create out/html-report");
    d
}

fn render(path: &Path) -> String {
    html::render(&summary_of(path))
}

/// Static checks that need no browser.
#[test]
fn report_is_self_contained_and_charts_have_points() {
    for (name, path) in cases() {
        let page = render(&path);
        assert!(page.starts_with("<!doctype html>"), "{name}");
        assert!(
            page.contains(&format!(
                "<meta http-equiv=\"Content-Security-Policy\" content=\"{}\">",
                html::CSP
            )),
            "{name}: CSP missing"
        );
        assert!(html::CSP.starts_with("default-src 'none'"));
        for bad in [
            "<link",
            "<script src",
            "<img src=\"http",
            "url(http",
            "@import",
            "<iframe",
        ] {
            assert!(!page.contains(bad), "{name}: page contains {bad}");
        }
        for proto in ["src=\"http", "href=\"http", "src=\"//", "href=\"//"] {
            assert!(!page.contains(proto), "{name}: external reference {proto}");
        }
        for chart in ["timeline", "usage", "distribution"] {
            let start = page
                .find(&format!("data-chart=\"{chart}\""))
                .unwrap_or_else(|| panic!("{name}: no {chart} chart"));
            let end = start + page[start..].find("</svg>").expect("svg closes");
            let points = page[start..end].matches("data-point=").count();
            assert!(points > 0, "{name}: chart {chart} has no data points");
        }
        std::fs::write(out_dir().join(format!("{name}.html")), &page).expect("write html");
    }
}

#[test]
fn skew_report_shows_the_insight_card() {
    let page = render(&app_in(&shared_logs().join("generated/join_skew")));
    assert!(page.contains("data-kind=\"data_skew\""));
    assert!(page.contains("skewJoin"));
}

fn have(cmd: &str, arg: &str) -> bool {
    Command::new(cmd)
        .arg(arg)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Render in headless Chromium and check network, console, charts and pixels.
#[test]
fn report_renders_in_chromium() {
    let chromium =
        std::env::var("SPARKPLANE_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let harness = root().join("tests/browser");
    if !have("node", "--version") {
        return skip_or_fail("node is not installed (scripts/setup-deps.sh installs it)");
    }
    if !Path::new(&chromium).exists() {
        return skip_or_fail(&format!(
            "{chromium} is missing (apt-get install chromium; scripts/setup-deps.sh)"
        ));
    }
    if !harness.join("node_modules/playwright-core").exists() {
        return skip_or_fail("tests/browser/node_modules is missing (npm ci in tests/browser)");
    }
    let dir = out_dir();
    let mut cmd = Command::new("node");
    cmd.arg(harness.join("check-report.mjs"))
        .env("SPARKPLANE_CHROMIUM", &chromium);
    let cases = cases();
    for (name, path) in &cases {
        let html_path = dir.join(format!("{name}.html"));
        std::fs::write(&html_path, render(path)).expect("write html");
        cmd.arg(&html_path).arg(dir.join(format!("{name}.png")));
    }
    let out = cmd.output().expect("run node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "browser check failed\nstdout: {stdout}\nstderr: {stderr}"
    );
    let results: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("harness prints JSON lines"))
        .collect();
    assert_eq!(
        results.len(),
        cases.len(),
        "one result per report: {stdout}"
    );
    for ((name, _), v) in cases.iter().zip(&results) {
        assert_eq!(
            v["external_requests"].as_array().map(Vec::len),
            Some(0),
            "{name}: {v}"
        );
        assert_eq!(
            v["console_errors"].as_array().map(Vec::len),
            Some(0),
            "{name}: {v}"
        );
        for chart in ["timeline", "usage", "distribution"] {
            assert!(
                v["charts"][chart].as_u64().unwrap_or(0) > 0,
                "{name}: chart {chart} has no points in the browser: {v}"
            );
        }
        assert!(
            v["luma_stddev"].as_f64().unwrap_or(0.0) > 8.0,
            "{name}: blank? {v}"
        );
        assert!(
            v["distinct_colors"].as_u64().unwrap_or(0) > 64,
            "{name}: blank? {v}"
        );
        let png = dir.join(format!("{name}.png"));
        assert!(png.exists());
        eprintln!("{name}: screenshot {}", png.display());
    }
}

/// The browser check can fail: a page that loads from the network, logs an error and is blank
/// is rejected.
#[test]
fn browser_check_rejects_a_bad_page() {
    let chromium =
        std::env::var("SPARKPLANE_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let harness = root().join("tests/browser");
    if !have("node", "--version")
        || !Path::new(&chromium).exists()
        || !harness.join("node_modules/playwright-core").exists()
    {
        return skip_or_fail("node, chromium or tests/browser/node_modules is missing");
    }
    let dir = out_dir();
    let page = dir.join("bad-page.html");
    std::fs::write(
        &page,
        "<!doctype html><html><head><link rel=\"stylesheet\" href=\"http://127.0.0.1:9/x.css\"></head>\
<body><script>console.error('boom')</script><svg data-chart=\"timeline\"></svg></body></html>",
    )
    .expect("write");
    let out = Command::new("node")
        .arg(harness.join("check-report.mjs"))
        .arg(&page)
        .arg(dir.join("bad-page.png"))
        .env("SPARKPLANE_CHROMIUM", &chromium)
        .output()
        .expect("run node");
    assert!(!out.status.success(), "the harness accepted a bad page");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("harness prints JSON");
    let failures = v["failures"].to_string();
    for f in ["network", "console", "timeline", "blank"] {
        assert!(failures.contains(f), "missing failure {f}: {v}");
    }
}
