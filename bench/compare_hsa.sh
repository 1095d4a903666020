#!/bin/bash
# The 2204 form against the floor on the equivalent plain payload, alternating, one run
# (the shape of ../shared/bench/compare.sh, with bench/hsa.lua for the product).
# usage: compare_hsa.sh PRODUCT_URL FLOOR_URL HSA_PAYLOAD PLAIN_PAYLOAD TOKEN SHARED [ROUNDS]
#          [SECONDS] [FLOOR_TOKEN]
# (FLOOR_TOKEN: when the "floor" is the product's own /v1/settlements/validate.)
set -euo pipefail
P=$1; F=$2; HSA=$3; PLAIN=$4; TOKEN_P=$5; SHARED=$6; ROUNDS=${7:-3}; SECS=${8:-8}
TOKEN_F=${9:-}
HERE=$(cd "$(dirname "$0")" && pwd)
rps() {  # URL PAYLOAD TOKEN SCRIPT
  PAYLOAD=$2 TOKEN=$3 wrk -t1 -c32 -d${SECS}s --latency -s "$4" "$1" |
    awk '/Requests\/sec/{r=$2} / 99%/{p=$2} /Non-2xx/{bad=$NF} END{print r, p, bad+0}'
}
ratios=()
for k in $(seq "$ROUNDS"); do
  read -r pr pp pbad < <(rps "$P" "$HSA" "$TOKEN_P" "$HERE/hsa.lua")
  read -r fr fp _ < <(rps "$F" "$PLAIN" "$TOKEN_F" "$SHARED/bench/post.lua")
  [ "$pbad" = 0 ] || { echo "product answered $pbad non-2xx responses" >&2; exit 1; }
  ratio=$(awk -v a="$pr" -v b="$fr" 'BEGIN{printf "%.3f", a/b}')
  ratios+=("$ratio")
  echo "round $k: product ${pr} rps p99 ${pp} | floor ${fr} rps p99 ${fp} | ratio ${ratio}"
done
printf '%s\n' "${ratios[@]}" | sort -n | awk '{a[NR]=$1} END{print "ratio_median=" a[int((NR+1)/2)]}'
