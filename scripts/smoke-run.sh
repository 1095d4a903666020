#!/usr/bin/env bash
# CI: `make run` starts, answers a plain settlement and a 2204 message, and /metrics says
# which path serves POST /v1/hsa; then it is stopped. Its own SQLite file and directories.
#   scripts/smoke-run.sh EXPECT_FAST(0|1) [make variables, e.g. VENV=.venv-x]
# (YBGATE_HSA_FAST_PATH=off in the environment switches the fast path off.) With
# HSA_STANDIN=1 (make run in 前置 mode) the 2204 messages must come back from the stand-in
# platform, and /readyz must name it reachable.
set -euo pipefail
cd "$(dirname "$0")/.."
expect=${1:?0 or 1: is the C fast path expected to serve}; shift
work=$(mktemp -d /tmp/ybgate-smoke.XXXXXX)
port=${SMOKE_PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')}
export YBGATE_DATABASE_URL=sqlite+aiosqlite:///$work/ybgate.db
export YBGATE_DECISION_LOG_DIR=$work/decisions YBGATE_IDEMPOTENCY_DIR=$work/msgids
standin=0
for arg in "$@"; do [ "$arg" != HSA_STANDIN=1 ] || standin=1; done
free() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
setsid make run PORT="$port" STANDIN_PORT="$(free)" "$@" >"$work/run.log" 2>&1 & pid=$!
stop() {
  local rc=$?
  kill -TERM -- "-$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
  [ "$rc" = 0 ] || cat "$work/run.log" >&2
  rm -rf "$work"
  exit "$rc"
}
trap stop EXIT INT TERM
base=http://127.0.0.1:$port
for _ in $(seq 900); do
  curl -sf -o /dev/null "$base/readyz" && break
  kill -0 "$pid" 2>/dev/null || { echo "smoke-run: make run exited" >&2; exit 1; }
  sleep 0.2
done
curl -sf -o /dev/null "$base/readyz"
his=$(sed -n 's/^ *HIS ([^)]*): *//p' "$work/run.log" | tail -1)
code=YB330102198000000000000000010  # in good standing at H33010200001 (app/seed.py)
now=$(TZ=Asia/Shanghai date +%F)
plain=$(curl -sf "$base/v1/settlements/validate" -H "Authorization: Bearer $his" \
  -d '{"settlement_id":"S1","institution_code":"H33010200001","lines":[{"line_id":"1",
      "physician_code":"'"$code"'","service_date":"'"$now"'","emergency":false,
      "item_code":"X","amount":"10.00"}]}')
grep -q '"outcome":"accept"' <<<"$plain" || { echo "smoke-run: plain answer $plain" >&2; exit 1; }
for msgid in SMOKE-1 SMOKE-2; do  # twice: the second finds the memo filled (the fast path)
  hsa=$(curl -sf "$base/v1/hsa" -H "Authorization: Bearer $his" \
    -d '{"infno":"2204","msgid":"'"$msgid"'","fixmedins_code":"H33010200001","med_type":"11",
        "input":{"feedetail":[{"feedetl_sn":"1","fee_ocur_time":"'"$now"' 09:00:00",
        "det_item_fee_sumamt":10.5,"bilg_dr_codg":"'"$code"'"}]}}')
  grep -q '"infcode":0' <<<"$hsa" || { echo "smoke-run: 2204 answer $hsa" >&2; exit 1; }
  if [ "$standin" = 1 ]; then  # the platform's answer (the stand-in's ids), not ybgate's
    grep -q '"inf_refmsgid":"SI' <<<"$hsa" || { echo "smoke-run: not forwarded: $hsa" >&2; exit 1; }
  fi
done
if [ "$standin" = 1 ]; then
  curl -sf "$base/readyz" | grep -q '"reachable":true' || {
    echo "smoke-run: /readyz does not name the stand-in reachable" >&2; exit 1; }
fi
metrics=$(curl -sf "$base/metrics")
grep -qx "ybgate_hsa_fast_path_active $expect.0" <<<"$metrics" || {
  echo "smoke-run: expected ybgate_hsa_fast_path_active $expect" >&2
  grep ybgate_hsa_fast_path_active <<<"$metrics" >&2; exit 1; }
grep -q 'POST /v1/hsa: C fast path' "$work/run.log" || {
  echo "smoke-run: start-up did not say which path serves POST /v1/hsa" >&2; exit 1; }
echo "smoke-run: make run $* answered (fast path active: $expect)"
