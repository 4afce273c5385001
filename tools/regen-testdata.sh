#!/usr/bin/env bash
# Regenerate every committed Spark fixture under testdata/ (event logs, History Server snapshots,
# expected event counts, insight expectations, planted-PII record). Real Spark, local mode, one
# run at a time. Takes ~30-40 min on 2 busy cores. Needs the venvs made by scripts/setup-deps.sh
# (.venv = pyspark 4.3.0 + zstandard/lz4/python-snappy, .venv-spark35 = pyspark 3.5.8) and Java 17.
#
#   tools/regen-testdata.sh                # everything
#   tools/regen-testdata.sh gen43 derive   # only some steps, in the order given
#   SPARK43_WORKLOADS="spill gc_pressure" tools/regen-testdata.sh gen43 snapshots counts expectations
# Steps: gen43 gen35 derive snapshots counts expectations
set -euo pipefail
export PYTHONDONTWRITEBYTECODE=1
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY43="$ROOT/.venv/bin/python"
PY35="$ROOT/.venv-spark35/bin/python"
if [ ! -x "$PY43" ] || [ ! -x "$PY35" ]; then
  SPARKPLANE_REGEN_TESTDATA=1 bash "$ROOT/scripts/setup-deps.sh"
fi
EL="${TESTDATA_EVENTLOGS:-testdata/eventlogs}"   # override to try the generator elsewhere
SHARED=../shared/eventlogs
STEPS=("$@")
[ ${#STEPS[@]} -eq 0 ] && STEPS=(gen43 gen35 derive snapshots counts expectations)

log() { printf '\033[1;34m[regen]\033[0m %s %s\n' "$(date +%T)" "$*" >&2; }

# Workload sets (names in tools/gen-eventlogs.py)
SPARK43=$("$PY43" -c 'import importlib.util,sys; s=importlib.util.spec_from_file_location("g","tools/gen-eventlogs.py"); m=importlib.util.module_from_spec(s); s.loader.exec_module(m); print(" ".join(m.SPARK43))')
SPARK35=$("$PY43" -c 'import importlib.util,sys; s=importlib.util.spec_from_file_location("g","tools/gen-eventlogs.py"); m=importlib.util.module_from_spec(s); s.loader.exec_module(m); print(" ".join(m.SPARK35))')

# SPARK43_WORKLOADS / SPARK35_WORKLOADS="a b" regenerate only those workloads (others are kept)
[ -n "${SPARK43_WORKLOADS:-}" ] && SPARK43="$SPARK43_WORKLOADS"
[ -n "${SPARK35_WORKLOADS:-}" ] && SPARK35="$SPARK35_WORKLOADS"

gen() {  # gen PYTHON OUTDIR WORKLOAD...
  local py="$1" out="$2"; shift 2
  for w in "$@"; do
    log "generate $out/$w"
    "$py" tools/gen-eventlogs.py "$out" "$w" > "/tmp/regen-$w.log" 2>&1 || { tail -20 "/tmp/regen-$w.log"; exit 1; }
    # a run that should have completed must have written a log
    [ -n "$(ls -A "$out/$w" 2>/dev/null)" ] || { echo "no event log for $w" >&2; exit 1; }
  done
}

for step in "${STEPS[@]}"; do
  case "$step" in
    gen43)
      [ -z "${SPARK43_WORKLOADS:-}" ] && rm -rf "$EL/spark43"
      # shellcheck disable=SC2086
      gen "$PY43" "$EL/spark43" $SPARK43 ;;
    gen35)
      [ -z "${SPARK35_WORKLOADS:-}" ] && rm -rf "$EL/spark35"
      # shellcheck disable=SC2086
      gen "$PY35" "$EL/spark35" $SPARK35 ;;
    derive)
      log "derive fixtures (gzip, attempt-suffixed, legacy 1.x, compacted)"
      "$PY43" tools/derive-fixtures.py "$EL" ;;
    snapshots)
      rm -rf testdata/shs-snapshots
      log "History Server 4.3 snapshots of the shared Spark 4.3 logs"
      "$PY43" tools/shs-snapshot.py --port "${SHS_PORT:-18471}" $(ls -d $SHARED/generated/*/*) testdata/shs-snapshots/generated
      log "History Server 3.5 snapshots of the shared Spark 3.5 logs"
      "$PY35" tools/shs-snapshot.py --port "${SHS_PORT:-18471}" $(ls -d $SHARED/generated-spark35/*/*) testdata/shs-snapshots/generated-spark35
      # To keep the data small, one representative per codec/layout family (the other codec_* and
      # inprogress_* logs hold the same workload; their counts are checked by count-events.py).
      log "History Server 4.3 snapshots of testdata/eventlogs/spark43 (a representative subset)"
      "$PY43" tools/shs-snapshot.py --port "${SHS_PORT:-18471}" $(ls -d $EL/spark43/*/* | grep -v -E '/(gzip_multimember|malformed_lines|truncated_[a-z0-9]+_inprogress|attempt_suffixed_[a-z]+|compacted_rolling_zstd|codec_(lz4|snappy|lzf)_[a-z]+|codec_zstd_rolling|inprogress_(lz4|snappy|lzf)_[a-z]+|inprogress_zstd_rolling|inprogress_plain_single)/') testdata/shs-snapshots/spark43
      log "History Server 4.3 snapshots of the derived attempt-suffixed and compacted logs"
      "$PY43" tools/shs-snapshot.py --port "${SHS_PORT:-18471}" $(ls -d $EL/spark43/attempt_suffixed_single/* $EL/spark43/compacted_rolling_zstd/*) testdata/shs-snapshots/spark43-derived
      log "History Server 3.5 snapshots of testdata/eventlogs/spark35"
      "$PY35" tools/shs-snapshot.py --port "${SHS_PORT:-18471}" $(ls -d $EL/spark35/*/*) testdata/shs-snapshots/spark35 ;;
    counts)
      log "independent event counts (+ Spark CompressionCodec cross-check)"
      "$PY43" tools/count-events.py --spark-check --replace --write testdata/expected-event-counts.json
      "$PY43" tools/pii-planted.py --write testdata/pii-planted.json ;;
    expectations)
      log "insight expectations"
      "$PY43" tools/insight-expectations.py --write testdata/insight-expectations.json ;;
    *) echo "unknown step $step" >&2; exit 2 ;;
  esac
done
log "done; committed size: $(du -sh --apparent-size testdata | cut -f1)"
