#!/usr/bin/env python3
"""Baseline for `sparkplane bench read`: a plain CPython `json.loads` per line over an event log.

Usage: tools/bench-python-json.py FILE    (plain, or .zstd via the `zstandard` package)
Prints JSON: events, json_bytes, seconds, mb_per_s (decompressed JSON bytes per wall second),
cpu_seconds and mb_per_cpu_s (per CPU second: one core's speed on a shared machine).
Run with the project venv: .venv/bin/python tools/bench-python-json.py /work/bench-data/big.json
"""
import io
import json
import sys
import time


def open_log(path):
    with open(path, "rb") as f:
        magic = f.read(4)
    if magic == b"\x28\xb5\x2f\xfd":
        import zstandard  # only needed for zstd logs

        raw = open(path, "rb")
        return io.BufferedReader(zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True), 1 << 20)
    return open(path, "rb", buffering=1 << 20)


def main():
    path = sys.argv[1]
    events = 0
    nbytes = 0
    start = time.perf_counter()
    cpu_start = time.process_time()
    with open_log(path) as f:
        for line in f:
            nbytes += len(line)
            if not line.strip():
                continue
            try:
                json.loads(line)
            except ValueError:
                if line.endswith(b"\n"):
                    raise
                break  # torn last line of an in-progress log
            events += 1
    seconds = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    print(json.dumps({"path": path, "events": events, "json_bytes": nbytes, "seconds": round(seconds, 3),
                      "mb_per_s": round(nbytes / 1e6 / seconds, 1), "cpu_seconds": round(cpu, 3),
                      "mb_per_cpu_s": round(nbytes / 1e6 / cpu, 1)}))


if __name__ == "__main__":
    main()
