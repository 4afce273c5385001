#!/usr/bin/env bash
# Fuzz the running API with schemathesis (`--checks all`, bounded examples) using a valid
# Administrator token that also holds Manager on one instance. Fails on any 5xx or schema
# violation. Usage: tests/server/schemathesis.sh [path/to/sparkplane]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BIN="${1:-${CARGO_TARGET_DIR:-$ROOT/target}/debug/sparkplane}"
[ $# -gt 0 ] && shift
ST="${SCHEMATHESIS:-$ROOT/.venv/bin/schemathesis}"
EXAMPLES="${SPARKPLANE_FUZZ_EXAMPLES:-25}"
WORK="$(mktemp -d)"
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
"$BIN" serve --data-dir "$WORK/data" --listen "127.0.0.1:$PORT" >"$WORK/server.out" 2>"$WORK/server.err" &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$WORK"' EXIT
BASE="https://localhost:$PORT"
for _ in $(seq 1 100); do
  [ -f "$WORK/data/tls-cert.pem" ] && curl -fs --cacert "$WORK/data/tls-cert.pem" "$BASE/healthz" >/dev/null 2>&1 && break
  sleep 0.2
done
CA="$WORK/data/tls-cert.pem"
KEY="$(cat "$WORK/data/admin-apikey")"
TOKEN="$(curl -fs --cacert "$CA" -X POST "$BASE/identity/token" \
  --data-urlencode "grant_type=urn:ibm:params:oauth:grant-type:apikey" --data-urlencode "apikey=$KEY" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')"
auth=(-H "Authorization: Bearer $TOKEN" -H "content-type: application/json")
ADMIN="$(curl -fs --cacert "$CA" "${auth[@]}" "$BASE/v1/users" | python3 -c 'import json,sys; print(json.load(sys.stdin)["users"][0]["id"])')"
INST="$(curl -fs --cacert "$CA" "${auth[@]}" -d '{"name":"fuzz"}' "$BASE/v3/analytics_engines" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')"
curl -fs --cacert "$CA" "${auth[@]}" -X PUT -d '{"role":"Manager"}' "$BASE/v3/analytics_engines/$INST/access_policies/$ADMIN" >/dev/null
echo "schemathesis against $BASE (instance $INST, $EXAMPLES examples per operation)"
"$ST" --config-file "$ROOT/tests/server/schemathesis.toml" run "$BASE/openapi.json" --tls-verify "$CA" --checks all -n "$EXAMPLES" --seed 1 \
  -H "Authorization: Bearer $TOKEN" --generation-deterministic --no-color \
  --request-timeout 10 "$@" 2>&1 | tee "${SPARKPLANE_FUZZ_LOG:-$WORK/st.log}" | tail -40
exit "${PIPESTATUS[0]}"
