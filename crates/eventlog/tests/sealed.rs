//! Sealed logs (`<name>.spk`) are read through the registered opener, with the codec and
//! `.inprogress` of the inner name; plain logs in the same directory are read as before; a
//! sealed log no opener handles is an error, not garbage.
#![allow(clippy::unwrap_used)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A stand-in "cipher" for this crate's contract only (the real one lives in the server and is
/// tested there): every byte XOR 0x5a, and a header a real log never starts with.
const HEADER: &[u8] = b"TESTSEAL";

fn seal(plain: &[u8]) -> Vec<u8> {
    HEADER
        .iter()
        .copied()
        .chain(plain.iter().map(|b| b ^ 0x5a))
        .collect()
}

fn root() -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")).join("testdata/eventlogs/spark43")
}

fn count(path: &Path) -> u64 {
    sparkplane_eventlog::open(path)
        .unwrap()
        .for_each(|_| {})
        .unwrap()
        .events_total
}

#[test]
fn sealed_logs_go_through_the_registered_opener() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().to_owned();
    let mine = base.clone();
    sparkplane_eventlog::sealed::register_opener(Arc::new(move |p: &Path| {
        if !p.starts_with(&mine) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::Unsupported,
                "not mine",
            ));
        }
        let mut b = Vec::new();
        std::fs::File::open(p)?.read_to_end(&mut b)?;
        let body = b
            .strip_prefix(HEADER)
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidData, "not sealed"))?;
        let plain: Vec<u8> = body.iter().map(|x| x ^ 0x5a).collect();
        Ok(Box::new(std::io::Cursor::new(plain)) as Box<dyn Read + Send>)
    }));

    // A zstd single-file log, sealed whole: the inner name gives the codec.
    let orig = root().join("codec_zstd_single/local-1795593810027.zstd");
    let want = count(&orig);
    assert!(want > 10);
    let sealed = base.join("local-1795593810027.zstd.spk");
    std::fs::write(&sealed, seal(&std::fs::read(&orig).unwrap())).unwrap();
    let log = sparkplane_eventlog::open(&sealed).unwrap();
    assert_eq!(
        log.files()[0].name_codec,
        Some(sparkplane_eventlog::Codec::Zstd)
    );
    assert!(!log.in_progress());
    let d = log.for_each(|_| {}).unwrap();
    assert_eq!(d.events_total, want);

    // A rolling log's events as plain JSON lines, sealed as `<app id>.inprogress.spk`.
    let rolling = root().join("clean_small/eventlog_v2_local-1795594986851");
    let mut lines = Vec::new();
    sparkplane_eventlog::open(&rolling)
        .unwrap()
        .for_each_raw(|_, l| {
            lines.extend_from_slice(l);
            lines.push(b'\n');
        })
        .unwrap();
    let sealed2 = base.join("local-1795594986851.inprogress.spk");
    std::fs::write(&sealed2, seal(&lines)).unwrap();
    assert_eq!(count(&sealed2), count(&rolling));
    // A plain log next to them is read as it is.
    std::fs::copy(&orig, base.join("local-1795593810027.zstd")).unwrap();

    let apps = sparkplane_eventlog::list_applications(&base).unwrap();
    let names: Vec<(&str, bool)> = apps
        .iter()
        .map(|a| (a.name.as_str(), a.in_progress))
        .collect();
    assert_eq!(
        names,
        [
            ("local-1795593810027.zstd", false),
            ("local-1795593810027.zstd.spk", false),
            ("local-1795594986851.inprogress.spk", true),
        ]
    );
    assert!(sparkplane_eventlog::open(&sealed2).unwrap().in_progress());

    // Tampered (not sealed at all) and outside every opener's area: errors, never events.
    std::fs::write(&sealed, std::fs::read(&orig).unwrap()).unwrap();
    assert!(sparkplane_eventlog::open(&sealed)
        .unwrap()
        .for_each(|_| {})
        .is_err());
    let other = tempfile::tempdir().unwrap();
    let foreign = other.path().join("local-1.spk");
    std::fs::write(&foreign, seal(&lines)).unwrap();
    let err = sparkplane_eventlog::open(&foreign)
        .unwrap()
        .for_each(|_| {})
        .unwrap_err();
    assert!(err.to_string().contains("no key"), "{err}");
}
