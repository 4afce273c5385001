//! Ingestion throughput and listing latency of performance summaries, through the real server
//! set-up (`build_app`: encrypted object store, the configured database).
//!
//! ```text
//! cargo run --release -p sparkplane-server --example ingest_bench -- \
//!     [--database-url postgres://…] [--count 2000] [--rows 100000]
//! ```
//! `--count` summaries (a real summary of `testdata`, app id rewritten per copy) are ingested
//! one at a time and then 4 at a time; `--rows` rows are then stored directly in the table and
//! the listing queries of the API are timed on that instance.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use sparkplane_server::ingest::IngestRequest;
use sparkplane_server::{build_app, Settings};
use sparkplane_store::{
    AuditEvent, NewSummary, Origin, Outcome, RunStatus, Severity, SummaryQuery,
};

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let count: usize = arg("--count").map_or(2000, |v| v.parse().unwrap());
    let rows: usize = arg("--rows").map_or(100_000, |v| v.parse().unwrap());
    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings::for_data_dir(&dir.path().join("data"));
    if let Some(url) = arg("--database-url") {
        settings.database_url = url;
    }
    let app = build_app(&settings).await.expect("server set-up");
    let state = app.state.clone();
    let backend = format!("{:?}", state.store.backend());

    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let log = sparkplane_eventlog::open(
        format!("{root}/testdata/eventlogs/spark43/pii_planted/eventlog_v2_local-1795597602833")
            .as_ref(),
    )
    .unwrap();
    let summary = sparkplane_analysis::analyze(&log, &Default::default())
        .unwrap()
        .summary;
    let base = serde_json::to_string(&summary).unwrap();
    println!(
        "backend {backend}; summary {} bytes, {} stages, {} insights",
        base.len(),
        summary.stages.len(),
        summary.insights.len()
    );
    let now = sparkplane_store::now_ms();
    let inst = sparkplane_store::InstanceRecord {
        id: "bench-instance".into(),
        name: "bench".into(),
        state: "active".into(),
        default_config: Default::default(),
        spark_version: "4.0".into(),
        limits: Default::default(),
        created_at: now,
        state_change_time: now,
    };
    let audit = || AuditEvent::new("bench", "/bench", Outcome::Success, 200, "bench");
    state.store.create_instance(&inst, &audit()).await.unwrap();

    for (label, concurrency) in [("sequential", 1usize), ("4 at a time", 4)] {
        let docs: Vec<Vec<u8>> = (0..count)
            .map(|i| {
                base.replace(
                    "local-1795597602833",
                    &format!("local-{concurrency}{i:012}"),
                )
                .into_bytes()
            })
            .collect();
        let started = Instant::now();
        let ingest = state.ingest.clone();
        use futures_util::StreamExt;
        futures_util::stream::iter(docs.iter().map(|d| {
            let ingest = ingest.clone();
            async move {
                ingest
                    .ingest(IngestRequest {
                        instance_id: "bench-instance",
                        origin: Origin::Runner,
                        bytes: d,
                        principal_id: None,
                        event_log: None,
                        application_id: None,
                        checkpoint: None,
                    })
                    .await
                    .unwrap();
            }
        }))
        .buffer_unordered(concurrency)
        .collect::<Vec<_>>()
        .await;
        let s = started.elapsed().as_secs_f64();
        println!(
            "ingest {label}: {count} summaries in {s:.2} s = {:.0} summaries/s",
            count as f64 / s
        );
    }

    // Listing with many rows (stored directly: the row is what listing reads).
    let kinds = [
        "data_skew",
        "spill",
        "small_files",
        "gc_pressure",
        "driver_idle",
    ];
    let started = Instant::now();
    for i in 0..rows {
        let new = NewSummary {
            instance_id: "bench-instance".into(),
            origin: Origin::Source("bench".into()),
            app_id: format!("app-{i:09}"),
            attempt: "1".into(),
            name: Some(format!("job-{}", i % 50)),
            status: if i % 10 == 0 {
                RunStatus::Failed
            } else {
                RunStatus::Succeeded
            },
            completed: true,
            spark_version: Some("4.0.0".into()),
            start_time: Some(1_700_000_000_000 + i as i64 * 60_000),
            end_time: Some(1_700_000_000_000 + i as i64 * 60_000 + 30_000),
            duration_ms: Some(30_000),
            core_hours: 1.0,
            memory_gb_hours: 4.0,
            cost: Some(0.07),
            insights: if i % 7 == 0 {
                vec![(kinds[i % kinds.len()].into(), Severity::Warning)]
            } else {
                vec![]
            },
            events_total: 100,
            event_log: None,
            application_id: None,
            size_bytes: 1000,
            sha256: format!("{i}"),
        };
        state.store.upsert_summary(&new, &audit()).await.unwrap();
    }
    println!(
        "stored {rows} rows directly in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let q = |f: &dyn Fn(&mut SummaryQuery)| {
        let mut q = SummaryQuery {
            instance_id: "bench-instance".into(),
            limit: 50,
            with_total: true,
            ..Default::default()
        };
        f(&mut q);
        q
    };
    let cases: Vec<(&str, SummaryQuery)> = vec![
        ("first page (+count)", q(&|_| {})),
        ("status=failed", q(&|q| q.status = Some(RunStatus::Failed))),
        ("insight=spill", q(&|q| q.insight = Some("spill".into()))),
        ("name=job-7", q(&|q| q.name = Some("job-7".into()))),
        (
            "time range (1 day)",
            q(&|q| {
                q.from = Some(1_700_000_000_000 + 30_000 * 60_000);
                q.to = Some(1_700_000_000_000 + 31_440 * 60_000);
            }),
        ),
        ("offset 50,000", q(&|q| q.offset = 50_000)),
        (
            "cursor page deep",
            q(&|q| {
                q.cursor = Some(format!(
                    "{}.{}",
                    1_700_000_000_000i64 + 40_000 * 60_000,
                    "ffffffff-ffff-ffff-ffff-ffffffffffff"
                ))
            }),
        ),
    ];
    for (label, query) in cases {
        let started = Instant::now();
        let mut n = 0;
        for _ in 0..10 {
            n = state.store.summaries(&query).await.unwrap().items.len();
        }
        println!(
            "list {label}: {:.1} ms per page ({n} rows, total counted)",
            started.elapsed().as_secs_f64() * 100.0
        );
    }
    state.store.close().await;
}
