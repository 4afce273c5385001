//! Compression codecs Spark writes event logs with, detected by magic bytes and file name, and
//! streaming decoders that know their position in the compressed input (for error messages).
//!
//! - zstd: the `zstd` crate (several concatenated frames are read in turn).
//! - lz4: Spark uses lz4-java's `LZ4BlockOutputStream`, whose block framing (`LZ4Block` magic,
//!   token, lengths, xxhash32 checksum) is not the LZ4 frame format; the framing is implemented
//!   here over `lz4_flex::block`.
//! - snappy: snappy-java's `SnappyOutputStream` framing (`\x82SNAPPY\0` header, then
//!   `[u32 length][raw snappy block]` chunks) over `snap::raw`.
//! - lzf: Ning compress-lzf's `ZV` chunk framing with a small LZF block decoder written here:
//!   the LZF crates on crates.io decode raw LZF blocks only (not Ning's chunk framing) and are
//!   little maintained, while the decoder is ~30 lines with every bound checked.
//! - gzip: `flate2`'s multi-member decoder (archived logs, often several members).

use std::fmt;
use std::io::{self, BufReader, Read};

use serde::Serialize;

/// A compression codec of an event log file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Codec {
    #[default]
    None,
    Zstd,
    Lz4,
    Snappy,
    Lzf,
    Gzip,
}

impl Codec {
    /// The name used in diagnostics (`zstd`, `lz4`, `snappy`, `lzf`, `gzip`, `none`).
    pub fn as_str(self) -> &'static str {
        match self {
            Codec::None => "none",
            Codec::Zstd => "zstd",
            Codec::Lz4 => "lz4",
            Codec::Snappy => "snappy",
            Codec::Lzf => "lzf",
            Codec::Gzip => "gzip",
        }
    }

    /// The codec a file name's extension says (`.zstd`/`.zst`, `.lz4`, `.snappy`, `.lzf`,
    /// `.gz`/`.gzip`), ignoring a trailing `.inprogress`. `None` when the name has none.
    pub fn from_file_name(name: &str) -> Option<Codec> {
        let name = name.strip_suffix(".inprogress").unwrap_or(name);
        let ext = name.rsplit_once('.').map(|(_, e)| e)?;
        Codec::from_short_name(ext)
    }

    /// A Spark codec short name (`spark.io.compression.codec`) or class name.
    pub fn from_short_name(name: &str) -> Option<Codec> {
        let lower = name.to_ascii_lowercase();
        let last = lower.rsplit('.').next().unwrap_or(&lower);
        Some(match last {
            "zstd" | "zst" | "zstdcompressioncodec" => Codec::Zstd,
            "lz4" | "lz4compressioncodec" => Codec::Lz4,
            "snappy" | "snappycompressioncodec" => Codec::Snappy,
            "lzf" | "lzfcompressioncodec" => Codec::Lzf,
            "gz" | "gzip" => Codec::Gzip,
            _ => return None,
        })
    }

    /// The codec the first bytes of a file announce, if any.
    pub fn from_magic(head: &[u8]) -> Option<Codec> {
        if head.starts_with(&[0x28, 0xB5, 0x2F, 0xFD]) {
            Some(Codec::Zstd)
        } else if head.starts_with(LZ4_MAGIC) {
            Some(Codec::Lz4)
        } else if head.starts_with(SNAPPY_MAGIC) {
            Some(Codec::Snappy)
        } else if head.len() >= 3 && head.starts_with(b"ZV") && (head[2] == 0 || head[2] == 1) {
            Some(Codec::Lzf)
        } else if head.starts_with(&[0x1F, 0x8B]) {
            Some(Codec::Gzip)
        } else {
            None
        }
    }
}

impl fmt::Display for Codec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

const LZ4_MAGIC: &[u8] = b"LZ4Block";
const SNAPPY_MAGIC: &[u8] = b"\x82SNAPPY\0";
/// Largest block any of the block codecs may announce (lz4-java's maximum is 32 MiB).
const MAX_BLOCK: usize = 32 << 20;

/// Counts bytes pulled from the underlying (compressed) input.
pub(crate) struct Counting<R> {
    inner: R,
    pub(crate) count: u64,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        Ok(n)
    }
}

/// A decompressing reader that knows how far into the compressed input it is.
pub(crate) trait Decode: Read {
    /// Offset in the compressed input of the data being decoded (the start of the current
    /// block for block codecs; the bytes consumed by the decoder for stream codecs).
    fn compressed_offset(&self) -> u64;
}

struct Plain<R>(Counting<R>);
impl<R: Read> Read for Plain<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}
impl<R: Read> Decode for Plain<R> {
    fn compressed_offset(&self) -> u64 {
        self.0.count
    }
}

struct Zstd<'a, R: Read>(zstd::stream::read::Decoder<'a, BufReader<Counting<R>>>);
impl<R: Read> Read for Zstd<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}
impl<R: Read> Decode for Zstd<'_, R> {
    fn compressed_offset(&self) -> u64 {
        let b = self.0.get_ref();
        b.get_ref().count - b.buffer().len() as u64
    }
}

struct Gzip<R: Read>(flate2::bufread::MultiGzDecoder<BufReader<Counting<R>>>);
impl<R: Read> Read for Gzip<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}
impl<R: Read> Decode for Gzip<R> {
    fn compressed_offset(&self) -> u64 {
        let b = self.0.get_ref();
        b.get_ref().count - b.buffer().len() as u64
    }
}

/// Wraps `input` (positioned at the start of the file) in the decoder for `codec`.
pub(crate) fn decoder<'a, R: Read + 'a>(
    codec: Codec,
    input: R,
) -> io::Result<Box<dyn Decode + 'a>> {
    let counting = Counting {
        inner: input,
        count: 0,
    };
    Ok(match codec {
        Codec::None => Box::new(Plain(counting)),
        Codec::Zstd => {
            let buf = BufReader::with_capacity(128 << 10, counting);
            Box::new(Zstd(zstd::stream::read::Decoder::with_buffer(buf)?))
        }
        Codec::Gzip => {
            let buf = BufReader::with_capacity(64 << 10, counting);
            Box::new(Gzip(flate2::bufread::MultiGzDecoder::new(buf)))
        }
        Codec::Lz4 => Box::new(BlockReader::new(counting, Lz4Block::default())),
        Codec::Snappy => Box::new(BlockReader::new(counting, SnappyStream::default())),
        Codec::Lzf => Box::new(BlockReader::new(counting, LzfChunks)),
    })
}

fn corrupt(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.into())
}

fn eof(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::UnexpectedEof, msg.to_owned())
}

/// Reads exactly `buf.len()` bytes; `Ok(false)` on a clean EOF before the first byte,
/// `UnexpectedEof` on EOF after some bytes.
fn read_full<R: Read>(r: &mut R, buf: &mut [u8], what: &str) -> io::Result<bool> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) if got == 0 => return Ok(false),
            Ok(0) => return Err(eof(what)),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

/// One block format: reads the next block of decompressed data into `out`.
trait BlockFormat {
    /// Decodes the next block into `out` (cleared by the caller). Returns `Ok(false)` at a clean
    /// end of the stream.
    fn next_block<R: Read>(
        &mut self,
        input: &mut Counting<R>,
        scratch: &mut Vec<u8>,
        out: &mut Vec<u8>,
    ) -> io::Result<bool>;
}

/// A reader over a block format, keeping one decompressed block at a time.
struct BlockReader<R, F> {
    input: Counting<R>,
    format: F,
    scratch: Vec<u8>,
    out: Vec<u8>,
    pos: usize,
    block_start: u64,
    done: bool,
}

impl<R: Read, F: BlockFormat> BlockReader<R, F> {
    fn new(input: Counting<R>, format: F) -> Self {
        BlockReader {
            input,
            format,
            scratch: Vec::new(),
            out: Vec::new(),
            pos: 0,
            block_start: 0,
            done: false,
        }
    }
}

impl<R: Read, F: BlockFormat> Read for BlockReader<R, F> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos >= self.out.len() {
            if self.done {
                return Ok(0);
            }
            self.out.clear();
            self.pos = 0;
            self.block_start = self.input.count;
            if !self
                .format
                .next_block(&mut self.input, &mut self.scratch, &mut self.out)?
            {
                self.done = true;
            }
        }
        let n = buf.len().min(self.out.len() - self.pos);
        buf[..n].copy_from_slice(&self.out[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

impl<R: Read, F: BlockFormat> Decode for BlockReader<R, F> {
    fn compressed_offset(&self) -> u64 {
        self.block_start
    }
}

/// lz4-java `LZ4BlockOutputStream` framing: per block a 21-byte header
/// `"LZ4Block" | token | compressed len (LE i32) | decompressed len (LE i32) | checksum (LE i32)`
/// where `token = method (0x10 raw, 0x20 lz4) | (log2(block size) - 10)` and the checksum is
/// xxhash32 (seed `0x9747b28c`) of the decompressed bytes masked with `0x0FFFFFFF`. An empty block
/// ends a stream; another stream may follow (Spark reads concatenated streams).
#[derive(Default)]
struct Lz4Block {
    /// Whether the last block read was an end mark (so EOF here is a clean end).
    after_end_mark: bool,
}

const LZ4_SEED: u32 = 0x9747_b28c;

impl BlockFormat for Lz4Block {
    fn next_block<R: Read>(
        &mut self,
        input: &mut Counting<R>,
        scratch: &mut Vec<u8>,
        out: &mut Vec<u8>,
    ) -> io::Result<bool> {
        loop {
            let mut header = [0u8; 21];
            if !read_full(input, &mut header, "lz4 block header cut short")? {
                if self.after_end_mark {
                    return Ok(false);
                }
                return Err(eof("lz4 stream ends without its end mark"));
            }
            if &header[..8] != LZ4_MAGIC {
                return Err(corrupt("bad LZ4Block magic"));
            }
            let token = header[8];
            let method = token & 0xF0;
            let level = u32::from(token & 0x0F);
            let max_len = 1usize << (10 + level);
            let word = |i: usize| {
                i32::from_le_bytes([header[i], header[i + 1], header[i + 2], header[i + 3]])
            };
            let (clen, dlen, checksum) = (word(9), word(13), word(17));
            let (Ok(clen), Ok(dlen)) = (usize::try_from(clen), usize::try_from(dlen)) else {
                return Err(corrupt("negative lz4 block length"));
            };
            if dlen > max_len || dlen > MAX_BLOCK || clen > MAX_BLOCK {
                return Err(corrupt(format!(
                    "lz4 block lengths out of range (compressed {clen}, decompressed {dlen}, max {max_len})"
                )));
            }
            if dlen == 0 && clen == 0 {
                if method != 0x10 || checksum != 0 {
                    return Err(corrupt("bad lz4 end mark"));
                }
                self.after_end_mark = true;
                continue;
            }
            self.after_end_mark = false;
            if dlen == 0 || clen == 0 {
                return Err(corrupt("empty lz4 block with non-empty length"));
            }
            out.resize(dlen, 0);
            match method {
                0x10 => {
                    if clen != dlen {
                        return Err(corrupt("raw lz4 block with differing lengths"));
                    }
                    if !read_full(input, out, "lz4 block cut short")? {
                        return Err(eof("lz4 block cut short"));
                    }
                }
                0x20 => {
                    scratch.resize(clen, 0);
                    if !read_full(input, scratch, "lz4 block cut short")? {
                        return Err(eof("lz4 block cut short"));
                    }
                    match lz4_flex::block::decompress_into(scratch, out) {
                        Ok(n) if n == dlen => {}
                        Ok(n) => {
                            return Err(corrupt(format!(
                                "lz4 block decompressed to {n} bytes, header says {dlen}"
                            )))
                        }
                        Err(e) => return Err(corrupt(format!("lz4 block: {e}"))),
                    }
                }
                m => return Err(corrupt(format!("unknown lz4 block method 0x{m:02x}"))),
            }
            let actual = xxhash_rust::xxh32::xxh32(out, LZ4_SEED) & 0x0FFF_FFFF;
            // The checksum field is a Java int of the masked value.
            if actual != (checksum as u32) {
                return Err(corrupt("lz4 block checksum mismatch"));
            }
            return Ok(true);
        }
    }
}

/// snappy-java `SnappyOutputStream` framing: a 16-byte header (`\x82SNAPPY\0`, version and
/// compatible version as BE i32), then chunks of `[BE i32 length][raw snappy block]`. A new
/// header may appear between chunks (concatenated streams).
#[derive(Default)]
struct SnappyStream {
    header_seen: bool,
}

impl BlockFormat for SnappyStream {
    fn next_block<R: Read>(
        &mut self,
        input: &mut Counting<R>,
        scratch: &mut Vec<u8>,
        out: &mut Vec<u8>,
    ) -> io::Result<bool> {
        loop {
            let mut len = [0u8; 4];
            if !read_full(input, &mut len, "snappy chunk length cut short")? {
                if !self.header_seen {
                    return Err(eof("snappy stream without header"));
                }
                return Ok(false);
            }
            if len[0] == SNAPPY_MAGIC[0] {
                let mut rest = [0u8; 12];
                if !read_full(input, &mut rest, "snappy header cut short")? {
                    return Err(eof("snappy header cut short"));
                }
                if len[1..] != SNAPPY_MAGIC[1..4] || rest[..4] != SNAPPY_MAGIC[4..] {
                    return Err(corrupt("bad snappy stream header"));
                }
                self.header_seen = true;
                continue;
            }
            if !self.header_seen {
                return Err(corrupt("snappy stream does not start with its header"));
            }
            let clen = u32::from_be_bytes(len) as usize;
            if clen == 0 {
                continue;
            }
            if clen > MAX_BLOCK {
                return Err(corrupt(format!("snappy chunk length {clen} out of range")));
            }
            scratch.resize(clen, 0);
            if !read_full(input, scratch, "snappy chunk cut short")? {
                return Err(eof("snappy chunk cut short"));
            }
            let dlen = snap::raw::decompress_len(scratch)
                .map_err(|e| corrupt(format!("snappy chunk: {e}")))?;
            if dlen > MAX_BLOCK {
                return Err(corrupt(format!("snappy chunk expands to {dlen} bytes")));
            }
            out.resize(dlen, 0);
            let n = snap::raw::Decoder::new()
                .decompress(scratch, out)
                .map_err(|e| corrupt(format!("snappy chunk: {e}")))?;
            out.truncate(n);
            return Ok(true);
        }
    }
}

/// Ning compress-lzf chunks: `"ZV"`, type 0 (uncompressed: BE u16 length, data) or type 1
/// (compressed: BE u16 compressed length, BE u16 uncompressed length, LZF data).
struct LzfChunks;

impl BlockFormat for LzfChunks {
    fn next_block<R: Read>(
        &mut self,
        input: &mut Counting<R>,
        scratch: &mut Vec<u8>,
        out: &mut Vec<u8>,
    ) -> io::Result<bool> {
        loop {
            let mut head = [0u8; 5];
            if !read_full(input, &mut head, "lzf chunk header cut short")? {
                return Ok(false);
            }
            if &head[..2] != b"ZV" {
                return Err(corrupt("bad lzf chunk signature"));
            }
            let len = usize::from(u16::from_be_bytes([head[3], head[4]]));
            match head[2] {
                0 => {
                    out.resize(len, 0);
                    if !read_full(input, out, "lzf chunk cut short")? && len > 0 {
                        return Err(eof("lzf chunk cut short"));
                    }
                }
                1 => {
                    let mut ulen = [0u8; 2];
                    if !read_full(input, &mut ulen, "lzf chunk header cut short")? {
                        return Err(eof("lzf chunk header cut short"));
                    }
                    let ulen = usize::from(u16::from_be_bytes(ulen));
                    scratch.resize(len, 0);
                    if !read_full(input, scratch, "lzf chunk cut short")? && len > 0 {
                        return Err(eof("lzf chunk cut short"));
                    }
                    out.resize(ulen, 0);
                    lzf_decompress(scratch, out)?;
                }
                t => return Err(corrupt(format!("unknown lzf chunk type {t}"))),
            }
            if out.is_empty() {
                continue;
            }
            return Ok(true);
        }
    }
}

/// Decodes one LZF block (liblzf format) into exactly `out.len()` bytes.
fn lzf_decompress(input: &[u8], out: &mut [u8]) -> io::Result<()> {
    let bad = |what: &str| corrupt(format!("lzf data: {what}"));
    let (mut ip, mut op) = (0usize, 0usize);
    while ip < input.len() {
        let ctrl = usize::from(input[ip]);
        ip += 1;
        if ctrl < 32 {
            // Literal run of ctrl + 1 bytes.
            let n = ctrl + 1;
            let src = input
                .get(ip..ip + n)
                .ok_or_else(|| bad("literal past input"))?;
            let dst = out
                .get_mut(op..op + n)
                .ok_or_else(|| bad("literal past output"))?;
            dst.copy_from_slice(src);
            ip += n;
            op += n;
        } else {
            // Back reference: length in the top 3 bits (7 = extended), offset in 13 bits.
            let mut len = ctrl >> 5;
            if len == 7 {
                len += usize::from(*input.get(ip).ok_or_else(|| bad("length past input"))?);
                ip += 1;
            }
            let low = usize::from(*input.get(ip).ok_or_else(|| bad("offset past input"))?);
            ip += 1;
            let back = ((ctrl & 0x1F) << 8) + low + 1;
            let len = len + 2;
            let start = op
                .checked_sub(back)
                .ok_or_else(|| bad("reference before start"))?;
            if op + len > out.len() {
                return Err(bad("reference past output"));
            }
            // Overlapping copies are allowed (run-length style), so copy byte by byte.
            for i in 0..len {
                out[op + i] = out[start + i];
            }
            op += len;
        }
    }
    if op != out.len() {
        return Err(bad("shorter than its header says"));
    }
    Ok(())
}

/// Reads up to `n` bytes from the start of `r` (fewer at EOF).
pub(crate) fn read_head<R: Read>(r: &mut R, n: usize) -> io::Result<Vec<u8>> {
    let mut head = vec![0u8; n];
    let mut got = 0;
    while got < n {
        match r.read(&mut head[got..]) {
            Ok(0) => break,
            Ok(k) => got += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    head.truncate(got);
    Ok(head)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn magic_and_names() {
        assert_eq!(Codec::from_magic(b"LZ4Block\x25"), Some(Codec::Lz4));
        assert_eq!(
            Codec::from_magic(b"\x82SNAPPY\0\0\0\0\x01"),
            Some(Codec::Snappy)
        );
        assert_eq!(Codec::from_magic(b"ZV\x01\x00"), Some(Codec::Lzf));
        assert_eq!(Codec::from_magic(b"\x1f\x8b\x08"), Some(Codec::Gzip));
        assert_eq!(
            Codec::from_magic(&[0x28, 0xB5, 0x2F, 0xFD, 0]),
            Some(Codec::Zstd)
        );
        assert_eq!(Codec::from_magic(b"{\"Event\""), None);
        assert_eq!(
            Codec::from_file_name("events_1_app.zstd"),
            Some(Codec::Zstd)
        );
        assert_eq!(
            Codec::from_file_name("app-1.lz4.inprogress"),
            Some(Codec::Lz4)
        );
        assert_eq!(Codec::from_file_name("local-1795548357922"), None);
        assert_eq!(Codec::from_file_name("x.gz"), Some(Codec::Gzip));
        assert_eq!(
            Codec::from_short_name("org.apache.spark.io.LZFCompressionCodec"),
            Some(Codec::Lzf)
        );
    }

    #[test]
    fn lzf_literal_and_backref() {
        // "abcabcabc": literal "abc" then a back reference of length 6 at distance 3.
        let input = [2u8, b'a', b'b', b'c', (4 << 5) as u8, 2];
        let mut out = vec![0u8; 9];
        lzf_decompress(&input, &mut out).unwrap();
        assert_eq!(&out, b"abcabcabc");
        // A reference before the start is an error, not a panic.
        let mut out = vec![0u8; 4];
        assert!(lzf_decompress(&[(2 << 5) as u8, 9], &mut out).is_err());
    }
}
