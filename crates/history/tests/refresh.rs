//! New and growing logs are picked up by `History::refresh`.

#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::path::PathBuf;

use sparkplane_history::History;

fn root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

#[test]
fn new_and_growing_logs_are_picked_up() {
    let shared = root().join("../shared/eventlogs/generated");
    let dir = std::env::temp_dir().join(format!("sparkplane-refresh-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();

    // A log still being written: the first half of a real uncompressed log.
    let full = std::fs::read(shared.join("python_udf_plain/local-1795549164214")).unwrap();
    let lines: Vec<&[u8]> = full.split_inclusive(|b| *b == b'\n').collect();
    let half = lines.len() / 2;
    let growing = dir.join("local-1795549164214.inprogress");
    std::fs::write(&growing, lines[..half].concat()).unwrap();

    let mut h = History::load(&dir).unwrap();
    assert_eq!(h.apps.len(), 1);
    assert!(!h.apps[0].completed());
    let jobs_before = h.apps[0].state().jobs().len();

    // A new log appears.
    std::fs::copy(
        shared.join("etl_mixed_lz4/local-1795549140019.lz4"),
        dir.join("local-1795549140019.lz4"),
    )
    .unwrap();
    // The growing log grows to its end (ApplicationEnd included).
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&growing)
        .unwrap();
    f.write_all(&lines[half..].concat()).unwrap();
    drop(f);

    assert_eq!(h.refresh().unwrap(), 2, "one new and one grown log re-read");
    assert_eq!(h.apps.len(), 2);
    let app = h.app("local-1795549164214", None).unwrap();
    assert!(app.state().jobs().len() > jobs_before);
    let listed = h.applications(&sparkplane_history::ListQuery::default());
    assert_eq!(listed.len(), 2);

    // Unchanged logs are not re-read.
    assert_eq!(h.refresh().unwrap(), 0);
    std::fs::remove_dir_all(&dir).unwrap();
}
