#!/usr/bin/env bash
# Install everything sparkplane and its tests need on a fresh Debian machine. Idempotent: each
# step checks before it installs, downloads are cached outside the clone (~/.cache).
# Sourced by scripts/up and scripts/test; safe to run by hand.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${SPARKPLANE_CACHE:-$HOME/.cache/sparkplane}"
mkdir -p "$CACHE"
export PIP_CACHE_DIR="${PIP_CACHE_DIR:-$HOME/.cache/pip}"
export npm_config_cache="${npm_config_cache:-$HOME/.cache/npm}"

log() { printf '\033[1;34m[setup]\033[0m %s\n' "$*" >&2; }

apt_install() {
  # apt_install PKG... — installs the missing ones only.
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if [ ${#missing[@]} -gt 0 ]; then
    log "apt-get install ${missing[*]}"
    local stamp="$CACHE/apt-updated"
    if [ ! -f "$stamp" ] || [ -n "$(find "$stamp" -mmin +1440 2>/dev/null)" ]; then
      DEBIAN_FRONTEND=noninteractive apt-get update -qq && touch "$stamp"
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

venv_install() {
  # venv_install DIR PKG... — a project-local venv with the packages (pip skips what is present).
  local dir="$1"; shift
  if [ ! -x "$dir/bin/python" ]; then
    log "creating venv $dir"
    python3 -m venv "$dir"
  fi
  local want="$dir/.want"
  if [ ! -f "$want" ] || [ "$(cat "$want")" != "$*" ]; then
    log "pip install into $dir: $*"
    "$dir/bin/pip" install -q --disable-pip-version-check "$@"
    echo "$*" > "$want"
  fi
}

# --- disk space -------------------------------------------------------------------------------
# A cold build, the venvs and the test data need about 15 GiB. When less is free, drop what can
# be rebuilt (cargo's incremental caches, stale test binaries) before anything fails half-way.
free_gib() { df -Pk "$1" | awk 'NR==2 { printf "%d", $4 / 1048576 }'; }
if [ "$(free_gib "$ROOT")" -lt 15 ]; then
  target="${CARGO_TARGET_DIR:-$HOME/.cache/sparkplane/target}"
  log "only $(free_gib "$ROOT") GiB free: removing rebuildable caches under $target"
  rm -rf "$target"/debug/incremental "$target"/release/incremental "$target"/debug/deps "$target"/tmp
  if [ "$(free_gib "$ROOT")" -lt 8 ]; then
    echo "sparkplane needs about 15 GiB of free disk for its build, venvs and tests;" \
      "$(free_gib "$ROOT") GiB are free on $(df -P "$ROOT" | awk 'NR==2 {print $6}')" >&2
    exit 1
  fi
fi

# --- base toolchain -------------------------------------------------------------------------
command -v cargo >/dev/null || { echo "Rust (cargo) is required: https://rustup.rs" >&2; exit 1; }
command -v java >/dev/null || apt_install openjdk-17-jre-headless

# --- Spark (pip pyspark) into project-local venvs ---------------------------------------------
venv_install "$ROOT/.venv" pyspark==4.3.0 zstandard lz4 python-snappy pyarrow pandas
export SPARK_HOME="${SPARK_HOME:-$ROOT/.venv/lib/python3.11/site-packages/pyspark}"
if [ ! -d "$SPARK_HOME" ]; then
  SPARK_HOME="$("$ROOT/.venv/bin/python" -c 'import pyspark, os; print(os.path.dirname(pyspark.__file__))')"
  export SPARK_HOME
fi

# --- event-log reader / analysis (issues 4, 5) -------------------------------------------------
# Tests read the committed fixtures (testdata/) and need only .venv above (zstandard, lz4,
# python-snappy for tools/count-events.py). Regenerating the fixtures (tools/regen-testdata.sh)
# also needs Spark 3.5 in its own venv: SPARKPLANE_REGEN_TESTDATA=1 installs it.
if [ "${SPARKPLANE_REGEN_TESTDATA:-0}" = 1 ]; then
  venv_install "$ROOT/.venv-spark35" pyspark==3.5.8
fi
# Analysis benchmark (tools/bench-vs-shs.sh, helper "model"): GNU time for CPU seconds and peak
# RSS; the History Server comes from .venv's pyspark. Tests do not need it.
apt_install time

# --- control plane (issue 6) -------------------------------------------------------------------
# postgresql: the API suite runs on PostgreSQL too (tests/server/pg.sh starts it on loopback).
# openssl: TLS-version tests (s_client/s_server). wrk: tools/bench-api.sh. curl: scripts.
apt_install postgresql openssl wrk curl
# schemathesis: API fuzzing against the running server (tests/server/schemathesis.sh).
if ! "$ROOT/.venv/bin/python" -c 'import schemathesis' 2>/dev/null; then
  log "pip install schemathesis into $ROOT/.venv"
  "$ROOT/.venv/bin/pip" install -q --disable-pip-version-check schemathesis==4.32.5
fi

# --- runner (issue 7) --------------------------------------------------------------------------
# bubblewrap: per-app sandbox (Sandbox::Bubblewrap; crates/runner/tests/isolation.rs).
# iproute2: `ss -ltn` in the runner's listener checks. procps: pgrep/ps for debugging orphans.
# tshark: loopback capture proving internal encryption (crates/runner/tests/encryption.rs).
apt_install bubblewrap iproute2 procps tshark

# --- encryption at rest, Parquet KMS (issue 10, helper "crypto") -------------------------------
# javac + jar: the Parquet KmsClient (java/kms-client) is compiled against Spark's jars by the
# server (first app that uses it) and by crates/sparkplane/tests/kms_spark.rs. openssl (above)
# makes the "wrong certificate" for that test.
command -v javac >/dev/null || apt_install openjdk-17-jdk-headless

# --- export (issue 8) --------------------------------------------------------------------------
# moto[server]: the real S3 endpoint (moto_server on loopback, started by the export tests);
# brings boto3, which the tests use to inspect the bucket. tools/fault-proxy.py needs only Python.
if ! "$ROOT/.venv/bin/python" -c 'import moto.server, boto3' 2>/dev/null; then
  log "pip install moto[server] into $ROOT/.venv"
  "$ROOT/.venv/bin/pip" install -q --disable-pip-version-check 'moto[server]'
fi

# --- browser tests (portal, HTML report) -------------------------------------------------------
# Portal (helper "portal"): also npm oidc-provider (the OIDC provider of the portal browser test),
# pinned by the same package-lock.json and installed by the same `npm ci` below.
# HTML report check (helper "insights"): Debian chromium driven by npm playwright-core, pinned by
# tests/browser/package-lock.json; the npm cache lives outside the clone ($npm_config_cache).
apt_install chromium nodejs
if ! command -v npm >/dev/null; then apt_install npm; fi
if [ ! -d "$ROOT/tests/browser/node_modules/playwright-core" ] \
   || [ "$ROOT/tests/browser/package-lock.json" -nt "$ROOT/tests/browser/node_modules/.package-lock.json" ]; then
  log "npm ci in tests/browser"
  (cd "$ROOT/tests/browser" && npm ci --no-audit --no-fund --loglevel=error)
fi
