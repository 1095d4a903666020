#!/usr/bin/env bash
# Throughput of the product against the floor on a rotating workload, alternating, one run
# (../shared/bench/compare.sh with many payloads instead of one).
#   rotcompare.sh PRODUCT_URL FLOOR_URL PAYLOADS_JSONL [TOKEN] [ROUNDS] [SECONDS]
# PAYLOADS_JSONL: one settlement per line, sent in turn (bench/rotate.lua). With
# METRICS_URL set (the product's /metrics), the product is warmed up first (WARMUP_S,
# default 4 s: every payload goes through at least once) and the memo hit rate over the
# product's rounds is printed: 1 - ybgate_memo_misses / ybgate_memo_lookups.
# FLOOR_PAYLOADS: the floor's file when it differs (the plain form of 2204 messages).
# Prints each round, then ratio_median=..., then memo_hit_rate=... (with METRICS_URL).
set -euo pipefail
P=$1; F=$2; export PAYLOADS=$3; TOKEN_P=${4:-}; ROUNDS=${5:-3}; SECS=${6:-8}
HERE=$(cd "$(dirname "$0")" && pwd)
FLOOR_PAYLOADS=${FLOOR_PAYLOADS:-$PAYLOADS}
rps() { PAYLOADS=${3:-$PAYLOADS} TOKEN=$2 wrk -t1 -c32 -d${SECS}s --latency -s "$HERE/rotate.lua" "$1" | awk '/Requests\/sec/{r=$2} / 99%/{p=$2} /Non-2xx/{e=$4} END{print r, p, e+0}'; }
memo() { curl -sf "$METRICS_URL" | awk '/^ybgate_memo_lookups_total /{l=$2} /^ybgate_memo_misses_total /{m=$2} END{printf "%d %d\n", l, m}'; }
if [[ -n ${METRICS_URL:-} ]]; then
  TOKEN=$TOKEN_P wrk -t1 -c4 -d${WARMUP_S:-4}s -s "$HERE/rotate.lua" "$P" >/dev/null
  read -r l0 m0 < <(memo)
fi
ratios=()
for k in $(seq "$ROUNDS"); do
  read -r pr pp pe < <(rps "$P" "$TOKEN_P")
  read -r fr fp _ < <(rps "$F" "" "$FLOOR_PAYLOADS")
  ratio=$(awk -v a="$pr" -v b="$fr" 'BEGIN{printf "%.3f", a/b}')
  ratios+=("$ratio")
  echo "round $k: product ${pr} rps p99 ${pp} | floor ${fr} rps p99 ${fp} | ratio ${ratio} | product non-2xx ${pe}"
done
printf '%s\n' "${ratios[@]}" | sort -n | awk '{a[NR]=$1} END{print "ratio_median=" a[int((NR+1)/2)]}'
if [[ -n ${METRICS_URL:-} ]]; then
  read -r l1 m1 < <(memo)
  awk -v l="$((l1 - l0))" -v m="$((m1 - m0))" 'BEGIN{printf "memo_hit_rate=%.4f (%d lookups, %d misses)\n", l ? 1 - m / l : 0, l, m}'
fi
