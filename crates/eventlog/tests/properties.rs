//! Property tests: any truncation of a valid log (plain or compressed) yields a prefix of the full
//! event sequence and never panics; random byte flips and random bytes never panic.

mod common;

use common::*;
use proptest::prelude::*;
use sparkplane_eventlog::read_stream;

/// The events (as debug strings) read from `bytes`, whether the read ended well or not.
fn events(bytes: &[u8], name: &str) -> Vec<String> {
    let mut out = Vec::new();
    let _ = read_stream(bytes, name, |ev| out.push(format!("{ev:?}")));
    out
}

fn encoded() -> Vec<(&'static str, Vec<u8>)> {
    let plain = sample_log();
    let lines: Vec<&[u8]> = plain.split_inclusive(|b| *b == b'\n').collect();
    vec![
        ("log", plain.clone()),
        ("log.zstd", zstd_frames(&lines)),
        ("log.lz4", lz4_block(&plain, 1 << 12)),
        ("log.snappy", snappy_stream(&plain, 1 << 12)),
        ("log.lzf", lzf_plain_chunks(&plain)),
        ("log.gz", gzip_members(&lines)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn truncation_yields_a_prefix(which in 0usize..6, frac in 0.0f64..=1.0) {
        let all = encoded();
        let (name, bytes) = &all[which];
        let full = events(bytes, name);
        prop_assert!(!full.is_empty());
        let cut = ((bytes.len() as f64) * frac) as usize;
        let got = events(&bytes[..cut.min(bytes.len())], name);
        prop_assert!(got.len() <= full.len(), "{} {} > {}", name, got.len(), full.len());
        prop_assert_eq!(&got[..], &full[..got.len()], "{} cut at {}", name, cut);
    }

    #[test]
    fn byte_flips_never_panic(which in 0usize..6, flips in prop::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 1..8)) {
        let all = encoded();
        let (name, bytes) = &all[which];
        let mut bytes = bytes.clone();
        for (idx, x) in flips {
            let i = idx.index(bytes.len());
            bytes[i] ^= x;
        }
        let _ = events(&bytes, name);
    }

    #[test]
    fn random_bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..4096), which in 0usize..6) {
        let names = ["x", "x.zstd", "x.lz4", "x.snappy", "x.lzf", "x.gz"];
        let mut data = data;
        // Often start with a codec's magic so the decoders see the rest.
        let magics: [&[u8]; 6] = [b"{\"Event\":\"", &[0x28, 0xB5, 0x2F, 0xFD], b"LZ4Block", b"\x82SNAPPY\0\0\0\0\x01\0\0\0\x01", b"ZV\x01", &[0x1f, 0x8b, 8, 0]];
        let mut v = magics[which].to_vec();
        v.append(&mut data);
        let _ = events(&v, names[which]);
    }
}

/// Every cut point of a small compressed log (exhaustive, not sampled) gives a prefix.
#[test]
fn every_cut_of_a_small_lz4_and_snappy_log_is_a_prefix() {
    let plain = sample_lines(4);
    for (name, bytes) in [
        ("s.lz4", lz4_block(&plain, 1 << 10)),
        ("s.snappy", snappy_stream(&plain, 1 << 10)),
    ] {
        let full = events(&bytes, name);
        assert_eq!(full.len(), 4);
        for cut in (0..bytes.len()).step_by(7) {
            let got = events(&bytes[..cut], name);
            assert_eq!(&got[..], &full[..got.len()], "{name} cut {cut}");
        }
    }
}
