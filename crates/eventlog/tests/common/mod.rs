//! Test helpers: writers for every codec's framing (the reader's formats, written from the
//! documented layouts), and a real Spark log to use as content.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};

pub fn root() -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")).to_path_buf()
}

/// A real Spark 4.3 log (plain, 28 events).
pub fn sample_log() -> Vec<u8> {
    std::fs::read(root().join("../shared/eventlogs/generated/python_udf_plain/local-1795549164214"))
        .expect("shared sample log")
}

/// The first `n` lines of the sample log.
pub fn sample_lines(n: usize) -> Vec<u8> {
    let all = sample_log();
    let mut out = Vec::new();
    for line in all.split_inclusive(|b| *b == b'\n').take(n) {
        out.extend_from_slice(line);
    }
    out
}

/// lz4-java `LZ4BlockOutputStream` framing with `block` bytes per block, plus the end mark.
pub fn lz4_block(data: &[u8], block: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let level = (block.next_power_of_two().trailing_zeros().max(10) - 10) as u8;
    for chunk in data.chunks(block) {
        let compressed = lz4_flex::block::compress(chunk);
        let check = xxhash_rust::xxh32::xxh32(chunk, 0x9747_b28c) & 0x0FFF_FFFF;
        out.extend_from_slice(b"LZ4Block");
        out.push(0x20 | level);
        out.extend_from_slice(&(compressed.len() as i32).to_le_bytes());
        out.extend_from_slice(&(chunk.len() as i32).to_le_bytes());
        out.extend_from_slice(&(check as i32).to_le_bytes());
        out.extend_from_slice(&compressed);
    }
    out.extend_from_slice(b"LZ4Block");
    out.push(0x10 | level);
    out.extend_from_slice(&[0u8; 12]);
    out
}

/// snappy-java `SnappyOutputStream` framing.
pub fn snappy_stream(data: &[u8], block: usize) -> Vec<u8> {
    let mut out = b"\x82SNAPPY\0".to_vec();
    out.extend_from_slice(&1i32.to_be_bytes());
    out.extend_from_slice(&1i32.to_be_bytes());
    let mut enc = snap::raw::Encoder::new();
    for chunk in data.chunks(block) {
        let c = enc.compress_vec(chunk).expect("snappy");
        out.extend_from_slice(&(c.len() as i32).to_be_bytes());
        out.extend_from_slice(&c);
    }
    out
}

/// Ning LZF chunks, uncompressed type (compressed chunks are covered by real Spark logs).
pub fn lzf_plain_chunks(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for chunk in data.chunks(0xFFFF) {
        out.extend_from_slice(b"ZV\0");
        out.extend_from_slice(&(chunk.len() as u16).to_be_bytes());
        out.extend_from_slice(chunk);
    }
    out
}

pub fn zstd_frames(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for p in parts {
        out.extend(zstd::encode_all(*p, 3).expect("zstd"));
    }
    out
}

pub fn gzip_members(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for p in parts {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(p).expect("gzip");
        out.extend(e.finish().expect("gzip"));
    }
    out
}

pub fn write(path: &Path, data: &[u8]) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("mkdir");
    }
    std::fs::write(path, data).expect("write");
}
