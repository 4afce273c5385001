"""Unit tests of tools/count-events.py's decoders and counting rules on synthetic inputs.

Run:  .venv/bin/python -m unittest tools/test_count_events.py
(The real logs are cross-checked against Spark's own codecs by `count-events.py --spark-check`.)
"""
import gzip
import io
import os
import struct
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import count_events_shim as ce  # noqa: E402

LINES = [b'{"Event":"SparkListenerLogStart","Spark Version":"4.3.0"}',
         b'{"Event":"SparkListenerApplicationStart","App ID":"local-1","Timestamp":1}',
         b'{"Event":"com.example.Custom","x":1}',
         b'{"Event":"SparkListenerApplicationEnd","Timestamp":2}']
TEXT = b"\n".join(LINES) + b"\n"


def decode(codec, data):
    return b"".join(ce.DECODERS[codec](io.BytesIO(data)))


def lz4block(data, raw=False):
    import lz4.block
    out = b""
    for i in range(0, len(data), 40):
        chunk = data[i:i + 40]
        comp = chunk if raw else lz4.block.compress(chunk, store_size=False)
        out += b"LZ4Block" + bytes([0x10 if raw else 0x20]) + struct.pack("<iii", len(comp), len(chunk), 0) + comp
    return out + b"LZ4Block" + bytes([0x10]) + struct.pack("<iii", 0, 0, 0)


def snappy_stream(data):
    import snappy
    comp = getattr(snappy, "compress")
    out = b"\x82SNAPPY\x00" + struct.pack(">ii", 1, 1)
    for i in range(0, len(data), 50):
        c = comp(data[i:i + 50])
        out += struct.pack(">i", len(c)) + c
    return out


class Decoders(unittest.TestCase):
    def test_zstd_concatenated_frames(self):
        import zstandard
        c = zstandard.ZstdCompressor()
        data = b"".join(c.compress(ln + b"\n") for ln in LINES)
        self.assertEqual(decode("zstd", data), TEXT)

    def test_zstd_truncated_frame_raises_truncated_after_prefix(self):
        import zstandard
        data = zstandard.ZstdCompressor().compress(TEXT)
        with self.assertRaises(ce.Truncated):
            decode("zstd", data[:-3])

    def test_lz4block_compressed_raw_and_concatenated(self):
        self.assertEqual(decode("lz4", lz4block(TEXT)), TEXT)
        self.assertEqual(decode("lz4", lz4block(TEXT[:60], raw=True) + lz4block(TEXT[60:])), TEXT)

    def test_lz4block_truncated(self):
        with self.assertRaises(ce.Truncated):
            decode("lz4", lz4block(TEXT)[:-30])

    def test_snappy_stream_and_concatenated_streams(self):
        self.assertEqual(decode("snappy", snappy_stream(TEXT)), TEXT)
        self.assertEqual(decode("snappy", snappy_stream(TEXT[:70]) + snappy_stream(TEXT[70:])), TEXT)

    def test_lzf_stored_and_compressed_chunks(self):
        # "abcabcabc": literal run "abc" (ctrl 2) then a back-reference of length 6 at distance 3
        # (ctrl = (6-2)<<5 | 0 = 0x80, offset byte 2 => distance 3).
        comp = bytes([2]) + b"abc" + bytes([0x80, 2])
        data = b"ZV\x00" + struct.pack(">H", 4) + b"xyz\n" + b"ZV\x01" + struct.pack(">HH", len(comp), 9) + comp
        self.assertEqual(decode("lzf", data), b"xyz\nabcabcabc")

    def test_gzip_members(self):
        data = gzip.compress(TEXT[:33]) + gzip.compress(TEXT[33:])
        self.assertEqual(decode("gzip", data), TEXT)


class Counting(unittest.TestCase):
    def count_file(self, name, content):
        d = tempfile.mkdtemp()
        p = os.path.join(d, name)
        with open(p, "wb") as f:
            f.write(content)
        return ce.count_log(p)

    def test_counts_unknown_and_malformed(self):
        r = self.count_file("local-1", TEXT.replace(LINES[2], LINES[2] + b"\nnot json\n[1]\n{\"a\":1}"))
        self.assertEqual(r["events_total"], 4)
        self.assertEqual(r["events_by_type"]["com.example.Custom"], 1)
        self.assertEqual(r["malformed_lines"], 3)

    def test_torn_tail_of_inprogress_is_dropped(self):
        r = self.count_file("local-1.inprogress", TEXT + b'{"Event":"SparkListenerTa')
        self.assertEqual((r["events_total"], r["malformed_lines"], r["torn_tail_dropped"]), (4, 0, 1))

    def test_torn_tail_of_completed_log_is_malformed(self):
        r = self.count_file("local-1", TEXT + b'{"Event":"SparkListenerTa')
        self.assertEqual((r["events_total"], r["malformed_lines"]), (4, 1))

    def test_valid_last_line_without_newline_counts(self):
        r = self.count_file("local-1.inprogress", TEXT.rstrip(b"\n"))
        self.assertEqual((r["events_total"], r["torn_tail_dropped"]), (4, 0))

    def test_rolling_numeric_order_and_compact(self):
        d = os.path.join(tempfile.mkdtemp(), "eventlog_v2_local-1")
        os.makedirs(d)
        for n in (1, 2, 10):
            with open(os.path.join(d, f"events_{n}_local-1"), "wb") as f:
                f.write(LINES[0] + b"\n")
        open(os.path.join(d, "appstatus_local-1"), "wb").close()
        files, inprog = ce.rolling_files(d)
        self.assertEqual([os.path.basename(f) for f in files], ["events_1_local-1", "events_2_local-1", "events_10_local-1"])
        self.assertFalse(inprog)
        with open(os.path.join(d, "events_2_local-1.compact"), "wb") as f:
            f.write(LINES[1] + b"\n")
        files, _ = ce.rolling_files(d)
        self.assertEqual([os.path.basename(f) for f in files], ["events_2_local-1.compact", "events_10_local-1"])


if __name__ == "__main__":
    unittest.main()
