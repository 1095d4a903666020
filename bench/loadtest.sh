#!/usr/bin/env bash
# make loadtest: locust, headless, for a bounded time, against the benchmark gatekeeper
# (started here, stopped after). CSV under var/loadtest/. Exits non-zero on any failure.
#   bench/loadtest.sh SNAPSHOT
set -euo pipefail
snap=${1:?snapshot}
here=$(cd "$(dirname "$0")/.." && pwd)
PY=${PY:-$here/.venv/bin/python}
[[ $PY = /* ]] || PY=$here/$PY
export SHARED=$(cd "${SHARED:-$here/../shared}" && pwd)
out=$here/var/loadtest; mkdir -p "$out"
export YBGATE_DECISION_LOG_DIR=$out/decisions
port=${LOADTEST_PORT:-8000}

if curl -s -o /dev/null "http://127.0.0.1:$port/"; then
  echo "port $port is already in use: stop that server first" >&2; exit 1
fi
bash "$here/bench/serve.sh" "$snap" "$port" & gk=$!
stop() {
  local rc=$?
  kill "$gk" 2>/dev/null || true; wait "$gk" 2>/dev/null || true
  rm -rf "$YBGATE_DECISION_LOG_DIR"
  exit "$rc"
}
trap stop EXIT INT TERM
for _ in $(seq 1500); do
  curl -sf -o /dev/null "http://127.0.0.1:$port/readyz" && break
  kill -0 $gk 2>/dev/null || { echo "gatekeeper exited" >&2; exit 1; }
  sleep 0.02
done

"$PY" -m locust -f "$here/loadtests/locustfile.py" --headless --host "http://127.0.0.1:$port" \
  -u "${LOADTEST_USERS:-32}" -r "${LOADTEST_USERS:-32}" -t "${LOADTEST_TIME:-30s}" \
  --csv "$out/locust" --only-summary --exit-code-on-error 1
echo "CSV: $out/locust_stats.csv $out/locust_failures.csv"
