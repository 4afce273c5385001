#!/usr/bin/env bash
# Builds the fuzz seed corpus (fuzz/corpus/reader, git-ignored) from small slices of the shared
# Spark event logs and committed test data: a selector byte (which codec name hint) + the bytes.
set -euo pipefail
cd "$(dirname "$0")"
out=corpus/reader
mkdir -p "$out"
python3 - "$out" <<'PY'
import os, sys, glob, hashlib
out = sys.argv[1]
names = ["app", "app.zstd", "app.lz4", "app.snappy", "app.lzf", "app.gz", "app.inprogress"]
def sel(path):
    for i, ext in enumerate(names):
        if i and path.endswith(ext[3:]):
            return i
    return 0
files = [f for f in glob.glob("../../shared/eventlogs/generated*/**/*", recursive=True)
         + glob.glob("../testdata/eventlogs/**/*", recursive=True)
         if os.path.isfile(f) and "/." not in f and "appstatus" not in f]
n = 0
for f in sorted(files):
    data = open(f, "rb").read()
    s = sel(f.replace(".inprogress", ""))
    # The start (headers, first blocks) and a few cuts, each at most 16 KiB.
    for start, length in [(0, 4096), (0, 16384), (len(data) // 2, 8192)]:
        chunk = data[start:start + length]
        if not chunk:
            continue
        blob = bytes([s]) + chunk
        name = hashlib.sha1(blob).hexdigest()
        open(os.path.join(out, name), "wb").write(blob)
        n += 1
print(f"{n} seeds in {out}")
PY
