#!/usr/bin/env bash
# make bench: the gatekeeper against the floor (../shared/bench), one run.
#   bench/bench.sh SHARED_DIR SNAPSHOT EMPTY_SNAPSHOT
# Prints the throughput ratios at 20 and 200 lines, both p99s, RSS bytes per physician
# and seconds from process start to ready. Stops everything it started.
set -euo pipefail
shared=$(cd "${1:?shared dir}" && pwd); snap=${2:?snapshot}; empty=${3:?empty snapshot}
here=$(cd "$(dirname "$0")/.." && pwd)
PY=${PY:-$here/.venv/bin/python}
[[ $PY = /* ]] || PY=$here/$PY
out=$here/var/bench; mkdir -p "$out"
export YBGATE_DECISION_LOG_DIR=$out/decisions
export YBGATE_IDEMPOTENCY_DIR=$out/msgids
N=${BENCH_N:-1000000}
pids=()
cleanup() {
  local rc=$?
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$YBGATE_DECISION_LOG_DIR" "$YBGATE_IDEMPOTENCY_DIR"
  exit "$rc"
}
trap cleanup EXIT INT TERM

now() { date +%s.%N; }
wait_ready() {  # URL PID -> waits for 200 (fails if the process died)
  for _ in $(seq 3000); do
    curl -sf -o /dev/null "$1" && return 0
    kill -0 "$2" 2>/dev/null || { echo "server exited before ready" >&2; return 1; }
    sleep 0.02
  done
  echo "not ready: $1" >&2; return 1
}
rss() { awk '/^VmRSS/{print $2 * 1024}' "/proc/$1/status"; }
stop() { kill "$1"; wait "$1" 2>/dev/null || true; }
p99s() {  # the median over rounds of the Nth p99 of compare.sh's round lines, in ms
  awk -v want="$1" '/^round/{k=0; for(i=1;i<=NF;i++) if($i=="p99" && ++k==want){
      v=$(i+1); u=v; sub(/^[0-9.]+/,"",u); sub(/[a-z]+$/,"",v);
      printf "%.3f\n", (u=="us")?v/1000:(u=="s")?v*1000:v}}' |
    sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'
}

for port in 8000 8099; do
  if curl -s -o /dev/null "http://127.0.0.1:$port/"; then
    echo "port $port is already in use: stop that server first" >&2; exit 1
  fi
done

# 1. RSS with an empty registry.
bash "$here/bench/serve.sh" "$empty" 8000 & pid=$!; pids+=("$pid")
wait_ready http://127.0.0.1:8000/readyz "$pid"
rss_empty=$(rss "$pid"); stop "$pid"

# 2. The gatekeeper with the synthetic registry: time to ready and RSS.
t0=$(now)
bash "$here/bench/serve.sh" "$snap" 8000 & gk=$!; pids+=("$gk")
wait_ready http://127.0.0.1:8000/readyz "$gk"
ready_s=$(awk -v a="$t0" -v b="$(now)" 'BEGIN{printf "%.2f", b-a}')
rss_full=$(rss "$gk")

# 3. The floor.
(cd "$shared/bench" && BENCH_N=$N exec "$PY" -m uvicorn floor_app:app --port 8099 \
  --loop uvloop --http httptools --no-access-log --log-level warning) & fl=$!; pids+=("$fl")
wait_ready http://127.0.0.1:8099/readyz "$fl"

# 4. Throughput and latency at 20 and 200 lines.
summary=()
for lines in 20 200; do
  payload=$out/payload$lines.json
  BENCH_N=$N "$PY" "$shared/bench/synth.py" payload "$lines" > "$payload"
  echo "== $lines lines"
  res=$("$shared/bench/compare.sh" http://127.0.0.1:8000/v1/settlements/validate \
        http://127.0.0.1:8099/ "$payload" bench-token | tee /dev/stderr)
  ratio=$(sed -n 's/^ratio_median=//p' <<<"$res")
  p99p=$(p99s 1 <<<"$res"); p99f=$(p99s 2 <<<"$res")
  summary+=("lines=$lines ratio=$ratio p99_product=${p99p}ms p99_floor=${p99f}ms")
done

# 5. The national format: the 2204 form of the same payloads (bench/hsa_payload.py), a new
# msgid per request, against the floor on the plain payloads.
for lines in 20 200; do
  payload=$out/payload$lines.json; hsa=$out/hsa$lines.json
  "$PY" "$here/bench/hsa_payload.py" < "$payload" > "$hsa"
  echo "== 2204, $lines lines"
  res=$("$here/bench/compare_hsa.sh" http://127.0.0.1:8000/v1/hsa http://127.0.0.1:8099/ \
        "$hsa" "$payload" bench-token "$shared" | tee /dev/stderr)
  ratio=$(sed -n 's/^ratio_median=//p' <<<"$res")
  p99p=$(p99s 1 <<<"$res"); p99f=$(p99s 2 <<<"$res")
  p99r=$(awk -v a="$p99p" -v b="$p99f" 'BEGIN{printf "%.2f", a/b}')
  summary+=("hsa2204 lines=$lines ratio=$ratio p99_product=${p99p}ms p99_floor=${p99f}ms p99_ratio=$p99r")
done

echo
echo "== make bench (BENCH_N=$N)"
printf '%s\n' "${summary[@]}"
awk -v a="$rss_full" -v b="$rss_empty" -v n="$N" \
  'BEGIN{printf "rss_bytes_per_physician=%.1f (rss %d MiB, empty registry %d MiB)\n", (a-b)/n, a/1048576, b/1048576}'
echo "ready_seconds=$ready_s"
