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
R=${BENCH_ROUNDS:-3}; S=${BENCH_SECONDS:-8}  # rounds and seconds per side of each comparison
gp=${BENCH_PORT:-8000}; fp=${FLOOR_PORT:-8099}  # the gatekeeper, the floor
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

for port in "$gp" "$fp"; do
  if curl -s -o /dev/null "http://127.0.0.1:$port/"; then
    echo "port $port is already in use: stop that server first" >&2; exit 1
  fi
done

# 1. RSS with an empty registry.
bash "$here/bench/serve.sh" "$empty" "$gp" & pid=$!; pids+=("$pid")
wait_ready http://127.0.0.1:$gp/readyz "$pid"
rss_empty=$(rss "$pid"); stop "$pid"

# 2. The gatekeeper with the synthetic registry: time to ready and RSS.
t0=$(now)
bash "$here/bench/serve.sh" "$snap" "$gp" & gk=$!; pids+=("$gk")
wait_ready http://127.0.0.1:$gp/readyz "$gk"
ready_s=$(awk -v a="$t0" -v b="$(now)" 'BEGIN{printf "%.2f", b-a}')
rss_full=$(rss "$gk")

# 3. The floor.
(cd "$shared/bench" && BENCH_N=$N exec "$PY" -m uvicorn floor_app:app --port "$fp" \
  --loop uvloop --http httptools --no-access-log --log-level warning) & fl=$!; pids+=("$fl")
wait_ready http://127.0.0.1:$fp/readyz "$fl"

# 4. Throughput and latency at 20 and 200 lines.
summary=()
for lines in 20 200; do
  payload=$out/payload$lines.json
  BENCH_N=$N "$PY" "$shared/bench/synth.py" payload "$lines" > "$payload"
  echo "== $lines lines"
  res=$("$shared/bench/compare.sh" http://127.0.0.1:$gp/v1/settlements/validate \
        http://127.0.0.1:$fp/ "$payload" bench-token "$R" "$S" | tee /dev/stderr)
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
  res=$("$here/bench/compare_hsa.sh" http://127.0.0.1:$gp/v1/hsa http://127.0.0.1:$fp/ \
        "$hsa" "$payload" bench-token "$shared" "$R" "$S" | tee /dev/stderr)
  ratio=$(sed -n 's/^ratio_median=//p' <<<"$res")
  p99p=$(p99s 1 <<<"$res"); p99f=$(p99s 2 <<<"$res")
  p99r=$(awk -v a="$p99p" -v b="$p99f" 'BEGIN{printf "%.2f", a/b}')
  summary+=("hsa2204 lines=$lines ratio=$ratio p99_product=${p99p}ms p99_floor=${p99f}ms p99_ratio=$p99r")
  # The format's own cost: 2204 against the product's plain path on the same payload.
  res=$("$here/bench/compare_hsa.sh" http://127.0.0.1:$gp/v1/hsa \
        http://127.0.0.1:$gp/v1/settlements/validate "$hsa" "$payload" bench-token "$shared" \
        "$R" "$S" bench-token | tee /dev/stderr)
  ratio=$(sed -n 's/^ratio_median=//p' <<<"$res")
  summary+=("hsa2204_vs_plain lines=$lines ratio=$ratio (2204 rps / the product's plain rps)")
done

# 6. Rotating workloads (bench/workloads.py): (a) 1,000 distinct 20-line outpatient
#    settlements, (b) 300 distinct 200-line inpatient bills over 1-14 service dates.
export SHARED=$shared
"$PY" "$here/bench/workloads.py" outpatient "$out/outpatient.jsonl"
"$PY" "$here/bench/workloads.py" inpatient "$out/inpatient.jsonl"
rot=$out/rotating.log; : > "$rot"
for w in outpatient inpatient; do
  echo "== ($([[ $w = outpatient ]] && echo a || echo b)) $w" | tee -a "$rot"
  METRICS_URL=http://127.0.0.1:$gp/metrics "$here/bench/rotcompare.sh" \
    http://127.0.0.1:$gp/v1/settlements/validate http://127.0.0.1:$fp/ \
    "$out/$w.jsonl" bench-token "$R" "$S" | tee -a "$rot"
done
# (d): (a) in the national 2204 form (POST /v1/hsa); the floor gets (a) itself.
"$PY" "$here/bench/workloads.py" hsa "$out/outpatient.jsonl" "$out/hsa-outpatient.jsonl"
echo "== (d) outpatient 2204" | tee -a "$rot"
FLOOR_PAYLOADS=$out/outpatient.jsonl METRICS_URL=http://127.0.0.1:$gp/metrics \
  "$here/bench/rotcompare.sh" http://127.0.0.1:$gp/v1/hsa http://127.0.0.1:$fp/ \
  "$out/hsa-outpatient.jsonl" bench-token "$R" "$S" | tee -a "$rot"
# (e): (b) in the national 2301 form (bills over 1-14 days); the floor gets (b) itself.
"$PY" "$here/bench/workloads.py" hsa2301 "$out/inpatient.jsonl" "$out/hsa-inpatient.jsonl"
echo "== (e) inpatient 2301" | tee -a "$rot"
FLOOR_PAYLOADS=$out/inpatient.jsonl METRICS_URL=http://127.0.0.1:$gp/metrics \
  "$here/bench/rotcompare.sh" http://127.0.0.1:$gp/v1/hsa http://127.0.0.1:$fp/ \
  "$out/hsa-inpatient.jsonl" bench-token "$R" "$S" | tee -a "$rot"

# 7. (c): both again while an admin writer patches the registry 10 times a second, on
#    the production path (bench/churn.py: its own PostgreSQL, Redis, admin, relay and
#    a gatekeeper following Redis on BENCH_CHURN_PORT). The first gatekeeper goes first.
stop "$gk"
if [[ ${BENCH_CHURN:-1} != 0 ]]; then
  "$PY" "$here/bench/churn.py" "$snap" http://127.0.0.1:$fp/ \
    "$out/outpatient.jsonl" "$out/inpatient.jsonl" | tee -a "$rot"
fi

echo
echo "== make bench (BENCH_N=$N)"
printf '%s\n' "${summary[@]}"
awk '
  function flush() { if (name != "") {
      printf "%s ratio=%s p99_product=%.3fms p99_floor=%.3fms %s\n", name, ratio,
        median(pp), median(fp), hit } name = ""; pp = fp = ""; hit = "" }
  function median(s,  a, n, i, j, t) { n = split(s, a, " ")
      for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) {
        t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
      return a[int((n + 1) / 2)] }
  function ms(v,  u) { u = v; sub(/^[0-9.]+/, "", u); sub(/[a-z]+$/, "", v)
      return (u == "us") ? v / 1000 : (u == "s") ? v * 1000 : v }
  /^== / { flush(); name = $2 " " $3 " " $4 " " $5; gsub(/ +$/, "", name); next }
  /^round/ { k = 0; for (i = 1; i <= NF; i++) if ($i == "p99") {
      if (++k == 1) pp = pp " " ms($(i + 1)); else fp = fp " " ms($(i + 1)) } }
  /^ratio_median=/ { ratio = substr($0, 14) }
  /^memo_hit_rate=/ { hit = $1 }
  /^writer:/ { writer = $0 }
  END { flush(); if (writer != "") print "(c) " writer }' "$rot"
awk -v a="$rss_full" -v b="$rss_empty" -v n="$N" \
  'BEGIN{printf "rss_bytes_per_physician=%.1f (rss %d MiB, empty registry %d MiB)\n", (a-b)/n, a/1048576, b/1048576}'
echo "ready_seconds=$ready_s"
