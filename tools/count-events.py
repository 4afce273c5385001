#!/usr/bin/env python3
"""Independent reference counter for Spark event logs (expected values for sparkplane's tests).

Usage:
  python tools/count-events.py [--write FILE] [--spark-check] [PATH ...]

With no PATH it scans ../shared/eventlogs and testdata/eventlogs (relative to the workspace
root, i.e. this script's parent directory). Every event log found is counted by its "Event"
field; `--write FILE` writes (merges into) the expected-values JSON, keyed by the log's path
relative to the workspace root. Without --write the result is printed.

This deliberately does NOT use sparkplane's Rust reader. Decoders (all in Python):
  * zstd   — `zstandard` decompressobj, frame after frame (Spark's zstd-jni output may hold
             several concatenated frames; an in-progress file ends in an unfinished frame).
  * lz4    — lz4-java `LZ4Block` stream parsed here (21-byte block headers: magic "LZ4Block",
             token, compressed len, decompressed len, xxhash32 checksum) over
             `lz4.block.decompress(..., uncompressed_size=n)`; method 0x10 = raw, 0x20 = LZ4.
  * snappy — snappy-java stream (`\\x82SNAPPY\\0`, version, compatible version, then blocks of
             4-byte big-endian length + raw snappy) over `snappy.uncompress`.
  * lzf    — a pure-Python LZF decoder over compress-lzf's "ZV" chunk framing
             (type 0 = stored, 1 = compressed). Cross-checked against Spark's own codec with
             --spark-check.
  * gzip   — zlib, member after member (multi-member archives).
  * plain  — as is.
The codec is taken from the file name (.zstd/.zst, .lz4, .snappy, .lzf, .gz) and confirmed or
overridden by magic bytes.

Layouts: a single file `<app id>[_<attempt>][.codec][.inprogress]`; a rolling directory
`eventlog_v2_*` (events_<N>_* files in numeric order of N; if `.compact` files exist, reading
starts at the newest compact file and skips files with a smaller or equal N; `appstatus_*`
marker says whether the app is in progress; `.crc` and hidden files skipped); a Spark 1.x
legacy directory (EVENT_LOG_<n> files, SPARK_VERSION_*, optional COMPRESSION_CODEC_<codec>,
APPLICATION_COMPLETE marker).

Counting rules (the contract the Rust reader's tests compare against):
  * events_by_type: count of lines that are JSON objects with a string "Event" field, by that
    value (unknown/custom event types included); events_total = sum of events_by_type.
  * malformed_lines: lines that are not such objects (bad JSON, non-object, no "Event").
  * The final fragment of an IN-PROGRESS log (single file with .inprogress, rolling dir whose
    appstatus marker ends in .inprogress, or legacy dir without APPLICATION_COMPLETE) that is
    not valid JSON is a torn write: dropped, not malformed (`torn_tail_dropped`: 1). This is
    what Spark's ReplayListenerBus does with `maybeTruncated`. An unfinished last compressed
    block/frame of an in-progress file is likewise dropped (`truncated_compressed_tail`).
  * A valid final line without a trailing newline is counted.
  * Empty lines (only whitespace) count as malformed (Spark writes none).

--spark-check additionally decodes every compressed file with Spark's own
org.apache.spark.io.CompressionCodec (through py4j, pyspark's JVM) and checks that the
event counts agree; the result is stored per log as "spark_codec_check".
"""
import argparse
import json
import os
import re
import struct
import sys
import tempfile
import zlib

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
DEFAULT_SCAN = [os.path.join(ROOT, "..", "shared", "eventlogs"), os.path.join(ROOT, "testdata", "eventlogs")]
CHUNK = 1 << 20


class Truncated(Exception):
    """The compressed stream ended inside a block/frame."""


# ---------------------------------------------------------------------------------------------
# Decoders: each is a generator of decompressed byte chunks over a binary file object.
# A stream cut short raises Truncated after yielding everything that was complete.

def dec_plain(f):
    while True:
        b = f.read(CHUNK)
        if not b:
            return
        yield b


def dec_zstd(f):
    import zstandard
    d = zstandard.ZstdDecompressor()
    obj = d.decompressobj()
    started = False  # bytes fed into the current frame
    while True:
        chunk = f.read(CHUNK)
        if not chunk:
            break
        while chunk:
            out = obj.decompress(chunk)
            started = True
            if out:
                yield out
            if obj.eof:
                chunk = obj.unused_data
                obj = d.decompressobj()
                started = False
            else:
                chunk = b""
    if started and not obj.eof:
        raise Truncated("zstd frame not finished")


def _read_exact(f, n):
    b = f.read(n)
    if len(b) < n:
        raise Truncated(f"wanted {n} bytes, got {len(b)}")
    return b


def dec_lz4(f):
    import lz4.block
    while True:
        magic = f.read(8)
        if not magic:
            return
        if magic != b"LZ4Block":
            if len(magic) < 8 and b"LZ4Block".startswith(magic):
                raise Truncated("partial LZ4Block header")
            raise ValueError(f"bad LZ4Block magic {magic!r} at offset {f.tell() - len(magic)}")
        hdr = _read_exact(f, 13)
        token = hdr[0]
        clen, dlen, _checksum = struct.unpack("<iii", hdr[1:13])
        method = token & 0xF0
        if clen == 0 and dlen == 0:
            continue  # end-of-stream mark; another stream may follow (concatenation)
        data = _read_exact(f, clen)
        if method == 0x10:
            yield data
        elif method == 0x20:
            yield lz4.block.decompress(data, uncompressed_size=dlen)
        else:
            raise ValueError(f"unknown LZ4Block method {method:#x}")


SNAPPY_MAGIC = b"\x82SNAPPY\x00"


def dec_snappy(f):
    import snappy
    unc = getattr(snappy, "uncompress", None) or snappy.decompress
    head = f.read(16)
    if len(head) < 16:
        if head and not SNAPPY_MAGIC.startswith(head[:8]):
            raise ValueError("bad snappy-java header")
        if head:
            raise Truncated("partial snappy header")
        return
    if head[:8] != SNAPPY_MAGIC:
        raise ValueError(f"bad snappy-java magic {head[:8]!r}")
    while True:
        lb = f.read(4)
        if not lb:
            return
        if len(lb) < 4:
            raise Truncated("partial snappy block length")
        if lb == SNAPPY_MAGIC[:4]:  # a concatenated stream: skip its 16-byte header
            rest = _read_exact(f, 12)
            if rest[:4] != SNAPPY_MAGIC[4:]:
                raise ValueError("bad concatenated snappy header")
            continue
        (n,) = struct.unpack(">i", lb)
        data = _read_exact(f, n)
        yield unc(data)


def lzf_decompress(inp, expected):
    out = bytearray()
    ip, n = 0, len(inp)
    while ip < n:
        ctrl = inp[ip]
        ip += 1
        if ctrl < 32:
            run = ctrl + 1
            out += inp[ip:ip + run]
            ip += run
        else:
            length = ctrl >> 5
            ref = len(out) - ((ctrl & 0x1F) << 8) - 1
            if length == 7:
                length += inp[ip]
                ip += 1
            ref -= inp[ip]
            ip += 1
            length += 2
            if ref < 0:
                raise ValueError("LZF back-reference before start")
            if ref + length <= len(out):
                out += out[ref:ref + length]
            else:
                for i in range(length):
                    out.append(out[ref + i])
    if len(out) != expected:
        raise ValueError(f"LZF chunk decoded to {len(out)} bytes, header says {expected}")
    return bytes(out)


def dec_lzf(f):
    while True:
        h = f.read(3)
        if not h:
            return
        if len(h) < 3:
            raise Truncated("partial LZF chunk header")
        if h[:2] != b"ZV":
            raise ValueError(f"bad LZF chunk magic {h[:2]!r}")
        if h[2] == 0:
            (ln,) = struct.unpack(">H", _read_exact(f, 2))
            yield _read_exact(f, ln)
        elif h[2] == 1:
            clen, ulen = struct.unpack(">HH", _read_exact(f, 4))
            yield lzf_decompress(_read_exact(f, clen), ulen)
        else:
            raise ValueError(f"unknown LZF chunk type {h[2]}")


def dec_gzip(f):
    obj = zlib.decompressobj(16 + zlib.MAX_WBITS)
    started = False
    while True:
        chunk = f.read(CHUNK)
        if not chunk:
            break
        while chunk:
            out = obj.decompress(chunk)
            started = True
            if out:
                yield out
            if obj.eof:
                chunk = obj.unused_data
                obj = zlib.decompressobj(16 + zlib.MAX_WBITS)
                started = False
            else:
                chunk = b""
    if started and not obj.eof:
        raise Truncated("gzip member not finished")


DECODERS = {"plain": dec_plain, "zstd": dec_zstd, "lz4": dec_lz4, "snappy": dec_snappy,
            "lzf": dec_lzf, "gzip": dec_gzip}
SUFFIXES = {".zstd": "zstd", ".zst": "zstd", ".lz4": "lz4", ".snappy": "snappy", ".lzf": "lzf",
            ".gz": "gzip"}


def codec_by_magic(path):
    with open(path, "rb") as f:
        m = f.read(8)
    if m.startswith(b"\x28\xb5\x2f\xfd"):
        return "zstd"
    if m == b"LZ4Block":
        return "lz4"
    if m == SNAPPY_MAGIC:
        return "snappy"
    if m.startswith(b"ZV") and len(m) > 2 and m[2] in (0, 1):
        return "lzf"
    if m.startswith(b"\x1f\x8b"):
        return "gzip"
    return None


def codec_by_name(name):
    name = re.sub(r"\.(inprogress|compact)$", "", name)
    name = re.sub(r"\.(inprogress|compact)$", "", name)
    for suf, c in SUFFIXES.items():
        if name.endswith(suf):
            return c
    return None


def file_codec(path, hint=None):
    by_magic = codec_by_magic(path)
    by_name = codec_by_name(os.path.basename(path)) or hint
    # Magic bytes win (a file may be misnamed); an empty file has no magic.
    return by_magic or by_name or "plain"


# ---------------------------------------------------------------------------------------------
# Layouts

def rolling_files(d):
    """(ordered file list, in_progress) for an eventlog_v2_* directory."""
    names = [n for n in os.listdir(d) if not n.startswith(".") and not n.endswith(".crc")]
    status = [n for n in names if n.startswith("appstatus_")]
    in_progress = any(n.endswith(".inprogress") for n in status) or not status
    ev = []
    for n in names:
        m = re.match(r"events_(\d+)_", n)
        if m:
            ev.append((int(m.group(1)), n.endswith(".compact"), n))
    compacts = [i for i, c, _ in ev if c]
    start = max(compacts) if compacts else None
    chosen = []
    for i, c, n in sorted(ev):
        if start is not None:
            if i < start or (i == start and not c):
                continue
        chosen.append(os.path.join(d, n))
    return chosen, in_progress


def legacy_files(d):
    names = os.listdir(d)
    codec = None
    for n in names:
        if n.startswith("COMPRESSION_CODEC_"):
            codec = n[len("COMPRESSION_CODEC_"):].lower()
            codec = {"org.apache.spark.io.lzfcompressioncodec": "lzf",
                     "org.apache.spark.io.snappycompressioncodec": "snappy",
                     "org.apache.spark.io.lz4compressioncodec": "lz4"}.get(codec, codec)
    ev = sorted((int(n[len("EVENT_LOG_"):]), n) for n in names
                if re.fullmatch(r"EVENT_LOG_\d+", n))
    in_progress = "APPLICATION_COMPLETE" not in names
    return [os.path.join(d, n) for _, n in ev], in_progress, codec


def describe(path):
    """(layout, files, in_progress, codec_hint) for a log path."""
    base = os.path.basename(path.rstrip("/"))
    if os.path.isdir(path):
        if base.startswith("eventlog_v2_"):
            files, inprog = rolling_files(path)
            return "rolling", files, inprog, None
        files, inprog, codec = legacy_files(path)
        return "legacy", files, inprog, codec
    return "single", [path], base.endswith(".inprogress"), None


def is_log_dir(path):
    base = os.path.basename(path)
    if base.startswith("eventlog_v2_"):
        return True
    try:
        return any(re.fullmatch(r"EVENT_LOG_\d+", n) for n in os.listdir(path))
    except OSError:
        return False


def discover(root):
    """Every event log under root (skipping shs-snapshots and non-log files)."""
    out = []
    if os.path.isfile(root) or is_log_dir(root):
        return [root]
    for dp, dns, fns in os.walk(root):
        keep = []
        for dn in sorted(dns):
            p = os.path.join(dp, dn)
            if dn.startswith(".") or dn in ("shs-snapshots",):
                continue
            if is_log_dir(p):
                out.append(p)
            else:
                keep.append(dn)
        dns[:] = keep
        for fn in sorted(fns):
            if fn.startswith(".") or fn.endswith((".crc", ".md", ".json", ".py", ".sh", ".txt")):
                continue
            out.append(os.path.join(dp, fn))
    return sorted(out)


# ---------------------------------------------------------------------------------------------
# Counting

class Counter:
    def __init__(self):
        self.by_type = {}
        self.malformed = 0
        self.torn = 0
        self.app = {}

    def line(self, raw):
        try:
            obj = json.loads(raw)
        except ValueError:
            return False
        if not isinstance(obj, dict) or not isinstance(obj.get("Event"), str):
            return False
        ev = obj["Event"]
        self.by_type[ev] = self.by_type.get(ev, 0) + 1
        if ev == "SparkListenerLogStart":
            self.app.setdefault("spark_version", obj.get("Spark Version"))
        elif ev == "SparkListenerApplicationStart":
            self.app.setdefault("app_id", obj.get("App ID"))
            self.app.setdefault("attempt_id", obj.get("App Attempt ID"))
            self.app.setdefault("app_name", obj.get("App Name"))
        elif ev == "SparkListenerApplicationEnd":
            self.app["has_application_end"] = True
        return True


def count_stream(chunks, counter, last_file_of_inprogress):
    """Feed decompressed chunks of one file; returns the diagnostics for the file."""
    diag = {}
    buf = b""
    try:
        for c in chunks:
            buf += c
            if b"\n" not in c:
                continue
            lines = buf.split(b"\n")
            buf = lines.pop()
            for ln in lines:
                if not counter.line(ln):
                    counter.malformed += 1
    except Truncated as e:
        if not last_file_of_inprogress:
            raise
        diag["truncated_compressed_tail"] = str(e)
    if buf:
        if not counter.line(buf):
            if last_file_of_inprogress:
                counter.torn += 1
            else:
                counter.malformed += 1
    return diag


def count_log(path, decoder_override=None):
    layout, files, in_progress, hint = describe(path)
    counter = Counter()
    codecs, diags = [], {}
    for i, fp in enumerate(files):
        codec = decoder_override(fp, hint) if decoder_override else None
        c = file_codec(fp, hint)
        codecs.append(c)
        last = in_progress and i == len(files) - 1
        with open(fp, "rb") as f:
            chunks = codec if codec is not None else DECODERS[c](f)
            d = count_stream(chunks, counter, last)
        if d:
            diags[os.path.basename(fp)] = d
    res = {
        "events_by_type": dict(sorted(counter.by_type.items())),
        "events_total": sum(counter.by_type.values()),
        "malformed_lines": counter.malformed,
        "layout": layout,
        "codec": sorted(set(codecs))[0] if len(set(codecs)) == 1 else sorted(set(codecs)),
        "in_progress": in_progress,
        "files": [os.path.basename(x) for x in files],
        "torn_tail_dropped": counter.torn,
    }
    if diags:
        res["truncated_compressed_tail"] = True
    res.update({k: v for k, v in counter.app.items()})
    return res


# ---------------------------------------------------------------------------------------------
# Cross-check with Spark's own CompressionCodec through py4j

class SparkCodecs:
    def __init__(self):
        from pyspark.java_gateway import launch_gateway
        self.gw = launch_gateway()
        self.jvm = self.gw.jvm
        self.conf = self.jvm.org.apache.spark.SparkConf()

    def decode_to_file(self, path, codec):
        """Decode with Spark's codec into a temp file; returns (path, error or None)."""
        from py4j.protocol import Py4JJavaError
        jvm = self.jvm
        name = {"zstd": "zstd", "lz4": "lz4", "snappy": "snappy", "lzf": "lzf"}[codec]
        cc = jvm.org.apache.spark.io.CompressionCodec.createCodec(self.conf, name)
        fd, tmp = tempfile.mkstemp(prefix="sparkcodec-")
        os.close(fd)
        fin = jvm.java.io.FileInputStream(path)
        fout = jvm.java.io.FileOutputStream(tmp)
        err = None
        try:
            cin = cc.compressedInputStream(fin)
            jvm.org.apache.commons.io.IOUtils.copyLarge(cin, fout, self.gw.new_array(jvm.byte, 65536))
        except Py4JJavaError as e:  # a truncated in-progress stream: keep what was written
            err = str(e.java_exception)
        finally:
            fout.close()
            fin.close()
        return tmp, err

    def count(self, path):
        """Counts with Spark's codec for compressed files, plain reading otherwise."""
        tmps = []

        def override(fp, hint):
            c = file_codec(fp, hint)
            if c in ("plain", "gzip"):
                return None
            tmp, err = self.decode_to_file(fp, c)
            tmps.append(tmp)

            def gen():
                with open(tmp, "rb") as f:
                    yield from dec_plain(f)
                if err:
                    raise Truncated("spark codec: " + err.splitlines()[0])
            return gen()
        try:
            return count_log(path, override)
        finally:
            for t in tmps:
                os.unlink(t)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("paths", nargs="*")
    ap.add_argument("--write", help="expected-values JSON to write (merged with existing keys)")
    ap.add_argument("--spark-check", action="store_true",
                    help="also decode compressed files with Spark's CompressionCodec via py4j")
    ap.add_argument("--replace", action="store_true", help="with --write: drop keys not scanned now")
    a = ap.parse_args()
    roots = a.paths or [p for p in DEFAULT_SCAN if os.path.exists(p)]
    logs = []
    for r in roots:
        logs += discover(os.path.abspath(r))
    spark = SparkCodecs() if a.spark_check else None
    result, failures = {}, 0
    for p in logs:
        key = os.path.relpath(p, ROOT)
        r = count_log(p)
        if spark and r["codec"] not in ("plain",):
            s = spark.count(p)
            same = (s["events_by_type"] == r["events_by_type"] and s["malformed_lines"] == r["malformed_lines"])
            r["spark_codec_check"] = "match" if same else "MISMATCH"
            if r["codec"] == "gzip":
                r["spark_codec_check"] = "n/a (gzip is not a Spark codec)"
            elif not same:
                failures += 1
                print(f"MISMATCH {key}: python={r['events_by_type']} spark={s['events_by_type']}", file=sys.stderr)
        result[key] = r
        print(f"{key}: {r['events_total']} events, {r['malformed_lines']} malformed, codec={r['codec']}"
              + (f", spark={r['spark_codec_check']}" if "spark_codec_check" in r else ""), file=sys.stderr)
    if a.write:
        old = {}
        if os.path.exists(a.write) and not a.replace:
            with open(a.write) as f:
                old = json.load(f)
        for k, v in result.items():  # keep an earlier spark check if not re-run
            if "spark_codec_check" not in v and k in old and "spark_codec_check" in old[k] \
                    and old[k].get("events_by_type") == v["events_by_type"]:
                v["spark_codec_check"] = old[k]["spark_codec_check"]
        old.update(result)
        with open(a.write, "w") as f:
            json.dump(dict(sorted(old.items())), f, indent=1, sort_keys=False)
            f.write("\n")
    else:
        json.dump(result, sys.stdout, indent=1)
        print()
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
