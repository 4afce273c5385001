#!/usr/bin/env bash
# End-to-end benchmark of `sparkplane analyze --format json` against Spark's own History Server
# on the same (large, generated) event log.
#
# Usage: tools/bench-vs-shs.sh [LOG] [--no-shs]
#   LOG      an uncompressed single-file event log (default: /work/bench-data/big.json, made
#            with `sparkplane bench gen-log --size 1GiB` when missing)
#   --no-shs only measure sparkplane
# Env:     SPARKPLANE (binary; default target/release/sparkplane, built if missing)
#          VENV (a venv with pyspark; default .venv), SPARK_DAEMON_MEMORY (default 12g),
#          SHS_PORT (default 18480)
#
# Reports, for sparkplane: wall seconds, CPU seconds (user+sys), MB/s per core used
# (= bytes / CPU seconds) and peak RSS (GNU time's "Maximum resident set size").
# For the History Server: start-up (process start → its REST API answers), then from ready to
# the application being listed, and from listed to its /api/v1/applications/<id>/stages answer
# (the replay); "ready → /stages" is the sum of the last two and is what the ratio uses. On a
# busy machine wall times mislead, so the History Server JVM's CPU seconds over the same span are
# also compared with sparkplane's CPU seconds. Finally every stage attempt's numbers from both
# are compared (the SHS agreement, at scale).
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
log="${1:-/work/bench-data/big.json}"
run_shs=1
[[ "${2:-}" == "--no-shs" || "${1:-}" == "--no-shs" ]] && run_shs=0
[[ "${1:-}" == "--no-shs" ]] && log=/work/bench-data/big.json
bin="${SPARKPLANE:-$here/target/release/sparkplane}"
venv="${VENV:-$here/.venv}"
port="${SHS_PORT:-18480}"

if [[ ! -x "$bin" ]]; then
  (cd "$here" && cargo build --release -p sparkplane --no-default-features)
fi
if [[ ! -f "$log" ]]; then
  mkdir -p "$(dirname "$log")"
  "$bin" bench gen-log --size 1GiB --out "$log"
fi
bytes=$(stat -c %s "$log")
echo "log: $log ($bytes bytes)"

# --- sparkplane -------------------------------------------------------------------------
tfile=$(mktemp)
/usr/bin/time -v "$bin" analyze "$log" --format json --output /tmp/sparkplane-bench-summary.json 2>"$tfile" || {
  cat "$tfile"; exit 1; }
wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$tfile" |
  awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }')
user=$(awk -F': ' '/User time/ {print $2}' "$tfile")
sys=$(awk -F': ' '/System time/ {print $2}' "$tfile")
rss_kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$tfile")
rm -f "$tfile"
python3 - "$bytes" "$wall" "$user" "$sys" "$rss_kb" <<'EOF'
import sys
b, wall, user, sys_, rss = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
cpu = user + sys_
print(f"sparkplane analyze --format json: wall {wall:.2f} s, cpu {cpu:.2f} s "
      f"({cpu / wall:.2f} cores), {b / 1e6 / cpu:.0f} MB/s per core used, "
      f"{b / 1e6 / wall:.0f} MB/s wall, peak RSS {rss / 1024:.0f} MiB")
open("/tmp/sparkplane-bench-wall", "w").write(f"{wall} {cpu}\n")
EOF

[[ $run_shs == 1 ]] || exit 0

# --- Spark History Server ---------------------------------------------------------------
spark_home=$("$venv/bin/python" -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))')
logdir=$(mktemp -d /work/bench-data/shs-logdir.XXXX)
# SHS derives the codec from the file extension: give the log a bare name (hard link, no copy).
app_file="$logdir/bench-app"
ln "$log" "$app_file" 2>/dev/null || cp "$log" "$app_file"
export SPARK_HOME="$spark_home" SPARK_NO_DAEMONIZE=1
export SPARK_DAEMON_MEMORY="${SPARK_DAEMON_MEMORY:-12g}"
export SPARK_HISTORY_OPTS="-Dspark.history.fs.logDirectory=file://$logdir -Dspark.history.ui.port=$port -Dspark.history.fs.update.interval=1s"
shs_log=$(mktemp /tmp/shs-bench.XXXX.log)
t0=$(date +%s.%N)
"$spark_home/bin/spark-class" org.apache.spark.deploy.history.HistoryServer >"$shs_log" 2>&1 &
shs_pid=$!
cleanup() { kill "$shs_pid" 2>/dev/null || true; wait "$shs_pid" 2>/dev/null || true; rm -rf "$logdir"; }
trap cleanup EXIT

"$venv/bin/python" - "$port" "$t0" "$bytes" "$shs_pid" <<'EOF'
import json, os, sys, time, urllib.request
port, t0, size, pid = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
base = f"http://127.0.0.1:{port}/api/v1"
def get(path, timeout=3600):
    with urllib.request.urlopen(base + path, timeout=timeout) as r:
        return json.load(r)
def cpu_seconds():
    # utime + stime of the History Server JVM (spark-class execs java in place).
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
while True:
    try:
        apps = get("/applications", timeout=5); break
    except Exception:
        time.sleep(0.1)
ready, cpu_ready = time.time(), cpu_seconds()
while not apps:
    time.sleep(0.2)
    apps = get("/applications")
listed = time.time()
app = apps[0]["id"]
stages = get(f"/applications/{app}/stages")
done, cpu_done = time.time(), cpu_seconds()
sp, sp_cpu = map(float, open("/tmp/sparkplane-bench-wall").read().split())
print(f"History Server: start-up {ready - t0:.1f} s; ready -> listed {listed - ready:.1f} s; "
      f"listed -> /stages answer {done - listed:.1f} s ({len(stages)} stages); "
      f"JVM cpu ready -> /stages {cpu_done - cpu_ready:.1f} s")
print(f"History Server ready -> /stages: {done - ready:.1f} s; "
      f"sparkplane: {sp:.2f} s; ratio {(done - ready) / sp:.1f}x (wall); "
      f"cpu {cpu_done - cpu_ready:.1f} s vs {sp_cpu:.2f} s: {(cpu_done - cpu_ready) / sp_cpu:.1f}x")
# The same numbers at scale: every stage attempt's counts and sums must agree.
ours = {(s["stage_id"], s["attempt_id"]): s
        for s in json.load(open("/tmp/sparkplane-bench-summary.json"))["stages"]}
fields = [("numTasks", "num_tasks"), ("numCompleteTasks", "num_complete_tasks"),
          ("numFailedTasks", "num_failed_tasks"), ("executorRunTime", "executor_run_time"),
          ("executorCpuTime", "executor_cpu_time"), ("jvmGcTime", "jvm_gc_time"),
          ("shuffleReadBytes", "shuffle_read_bytes"), ("shuffleWriteBytes", "shuffle_write_bytes")]
bad = [(s["stageId"], a) for s in stages for a, b in fields
       if ours.get((s["stageId"], s["attemptId"]), {}).get(b) != s[a]]
print(f"stage numbers vs History Server: {len(stages)} attempts, {len(bad)} mismatches {bad[:5]}")
EOF
