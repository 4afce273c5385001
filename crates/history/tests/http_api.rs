//! `/api/v1` over HTTP: routing, query parameters and status codes, against real logs and the
//! saved Spark History Server answers.

#![allow(clippy::unwrap_used)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use serde_json::Value;
use sparkplane_history::History;

fn root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

fn get(addr: SocketAddr, path: &str) -> (u16, Vec<u8>) {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).unwrap();
    let head_end = buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let code: u16 = head.split(' ').nth(1).unwrap().parse().unwrap();
    let mut body = buf[head_end + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        let mut out = Vec::new();
        let mut rest = &body[..];
        loop {
            let nl = rest.windows(2).position(|w| w == b"\r\n").unwrap();
            let n = usize::from_str_radix(std::str::from_utf8(&rest[..nl]).unwrap().trim(), 16)
                .unwrap();
            if n == 0 {
                break;
            }
            out.extend_from_slice(&rest[nl + 2..nl + 2 + n]);
            rest = &rest[nl + 2 + n + 2..];
        }
        body = out;
    }
    (code, body)
}

fn json(addr: SocketAddr, path: &str) -> Value {
    let (code, body) = get(addr, path);
    assert_eq!(code, 200, "{path}: {}", String::from_utf8_lossy(&body));
    serde_json::from_slice(&body).unwrap()
}

fn start() -> SocketAddr {
    let h = History::load(&root().join("../shared/eventlogs/generated")).unwrap();
    let shared = Arc::new(RwLock::new(h));
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(l.local_addr().unwrap()).unwrap();
            axum::serve(l, sparkplane_history::http::router(shared))
                .await
                .unwrap();
        });
    });
    rx.recv().unwrap()
}

fn snapshot(app: &str, file: &str) -> Value {
    let p = root().join(format!("testdata/shs-snapshots/generated/{app}/{file}"));
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

#[test]
fn api_v1_over_http() {
    let addr = start();
    let app = "local-1795548357922";

    let apps = json(addr, "/api/v1/applications");
    assert_eq!(apps.as_array().unwrap().len(), 9);
    let ends: Vec<i64> = apps
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["attempts"][0]["endTimeEpoch"].as_i64().unwrap())
        .collect();
    assert!(
        ends.windows(2).all(|w| w[0] >= w[1]),
        "newest first: {ends:?}"
    );
    assert_eq!(
        json(addr, "/api/v1/applications?limit=2")
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        json(addr, "/api/v1/applications?status=running")
            .as_array()
            .unwrap()
            .len(),
        0
    );
    assert_eq!(
        json(
            addr,
            "/api/v1/applications?status=completed&minDate=2026-11-24T19:30:00.000GMT"
        )
        .as_array()
        .unwrap()
        .len(),
        4
    );
    assert_eq!(get(addr, "/api/v1/applications?minDate=yesterday").0, 400);

    assert_eq!(
        json(addr, &format!("/api/v1/applications/{app}"))["name"],
        "etl_mixed"
    );
    assert_eq!(get(addr, "/api/v1/applications/nope/jobs").0, 404);
    assert_eq!(get(addr, "/api/v1/applications/nope").0, 404);

    assert_eq!(
        json(addr, &format!("/api/v1/applications/{app}/jobs")),
        snapshot(app, "jobs.json")
    );
    let jobs = snapshot(app, "jobs.json");
    assert_eq!(
        json(addr, &format!("/api/v1/applications/{app}/jobs/9")),
        jobs[0]
    );
    assert_eq!(
        get(addr, &format!("/api/v1/applications/{app}/jobs/99")).0,
        404
    );
    assert_eq!(
        json(
            addr,
            &format!("/api/v1/applications/{app}/jobs?status=failed")
        ),
        Value::Array(vec![])
    );

    assert_eq!(
        json(addr, &format!("/api/v1/applications/{app}/stages")),
        snapshot(app, "stages.json")
    );
    assert_eq!(
        json(
            addr,
            &format!("/api/v1/applications/{app}/stages?withSummaries=true")
        ),
        snapshot(app, "stages_with_summaries.json")
    );
    let skipped = json(
        addr,
        &format!("/api/v1/applications/{app}/stages?status=skipped"),
    );
    assert!(skipped
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["status"] == "SKIPPED"));
    let st = json(
        addr,
        &format!("/api/v1/applications/{app}/stages/12?details=false"),
    );
    assert_eq!(st[0], snapshot(app, "stages.json")[0]);
    assert_eq!(
        json(
            addr,
            &format!("/api/v1/applications/{app}/stages/12/0?details=false")
        ),
        snapshot(app, "stages.json")[0]
    );
    let detailed = json(addr, &format!("/api/v1/applications/{app}/stages/12/0"));
    assert_eq!(
        detailed["tasks"]["15"],
        snapshot(app, "stages/12_0/taskList.json")[0]
    );
    assert_eq!(detailed["executorSummary"]["driver"]["succeededTasks"], 1);
    assert_eq!(
        json(
            addr,
            &format!(
                "/api/v1/applications/{app}/stages/12/0/taskSummary?quantiles=0.0,0.25,0.5,0.75,1.0"
            )
        ),
        snapshot(app, "stages/12_0/taskSummary.json")
    );
    assert_eq!(
        json(
            addr,
            &format!("/api/v1/applications/{app}/stages/12/0/taskList?length=100000")
        ),
        snapshot(app, "stages/12_0/taskList.json")
    );
    let one = json(
        addr,
        &format!("/api/v1/applications/{app}/stages/10/0/taskList?offset=1&length=1"),
    );
    assert_eq!(one.as_array().unwrap().len(), 1);
    assert_eq!(one[0], snapshot(app, "stages/10_0/taskList.json")[1]);
    assert_eq!(
        get(
            addr,
            &format!("/api/v1/applications/{app}/stages/12/0/taskSummary?quantiles=2")
        )
        .0,
        400
    );

    assert_eq!(
        json(addr, &format!("/api/v1/applications/{app}/allexecutors")),
        snapshot(app, "allexecutors.json")
    );
    let env = json(addr, &format!("/api/v1/applications/{app}/environment"));
    assert_eq!(env["runtime"], snapshot(app, "environment.json")["runtime"]);
    assert_eq!(json(addr, "/api/v1/version"), snapshot(app, "version.json"));

    // logs: a zip whose single stored entry is the log file, byte for byte.
    let lz4 = "local-1795549140019";
    let (code, zip) = get(addr, &format!("/api/v1/applications/{lz4}/logs"));
    assert_eq!(code, 200);
    let file = root().join(format!(
        "../shared/eventlogs/generated/etl_mixed_lz4/{lz4}.lz4"
    ));
    let data = std::fs::read(file).unwrap();
    assert_eq!(&zip[..4], b"PK\x03\x04");
    let name_len = u16::from_le_bytes([zip[26], zip[27]]) as usize;
    assert_eq!(&zip[30..30 + name_len], format!("{lz4}.lz4").as_bytes());
    assert_eq!(&zip[30 + name_len..30 + name_len + data.len()], &data[..]);
    let eocd = zip.len() - 22;
    assert_eq!(&zip[eocd..eocd + 4], b"PK\x05\x06");
}
