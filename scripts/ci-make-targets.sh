#!/usr/bin/env bash
# CI: every make target works on a fresh clone, in any order. Clones HEAD into DIR (a new
# temporary directory by default) and runs each target there: the short ones to the end,
# the servers until they answer, the benchmarks until their first measurement starts
# (small registries; a benchmark's figures need a quiet machine, not CI). `make test`
# itself is .ci/run's own step.
#   scripts/ci-make-targets.sh [DIR]   (SHARED: the benchmark yardstick, default ../shared
#                                       of this checkout; PORT: first of 3 free ports)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
shared=$(cd "${SHARED:-$here/../shared}" && pwd)
dir=${1:-$(mktemp -d /tmp/ybgate-targets.XXXXXX)/ybgate}
[ ! -e "$dir" ] || { echo "$dir exists: give a new directory" >&2; exit 2; }
free() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=${PORT:-$(free)}; floor=${FLOOR_PORT:-$(free)}
git clone -q "$here" "$dir"
cd "$dir"
log=$dir/var/targets; mkdir -p "$log"
export SHARED=$shared BENCH_N=50000  # >= the yardstick's 5,000 institutions
export BENCH_SCALE_PORT=${BENCH_SCALE_PORT:-$(free)} BENCH_ADMIN_PORT=${BENCH_ADMIN_PORT:-$(free)}

completes() {  # TARGET [ARGS]: runs to the end, exit status 0
  echo "== make $*"
  # Through a pipe: bench/bench.sh tees to /dev/stderr, which would reopen (truncate) a file.
  timeout 1800 bash -c 'set -o pipefail; make "$@" 2>&1 | cat >"$0"' "$log/$1.log" "$@" \
    || { tail -30 "$log/$1.log" >&2; exit 1; }
}
starts() {  # TARGET READY-CHECK [ARGS]: running until READY-CHECK succeeds, then stopped
  local target=$1 check=$2; shift 2
  echo "== make $target $*"
  # The log's reader ignores TERM: the target's clean-up still has somewhere to write.
  setsid bash -c 'make "$@" 2>&1 | (trap "" TERM; cat >"$0")' "$log/$target.log" "$target" "$@" &
  local pid=$!
  for _ in $(seq 1800); do
    if eval "$check" >/dev/null 2>&1; then
      stop "$pid"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  stop "$pid"
  tail -30 "$log/$target.log" >&2; echo "make $target did not get ready" >&2; exit 1
}
stop() {  # TERM to the target's process group: each script's own clean-up runs (a
  # background job ignores SIGINT); what is still there a minute later gets KILL
  kill -TERM -- "-$1" 2>/dev/null || true
  for _ in $(seq 120); do kill -0 -- "-$1" 2>/dev/null || break; sleep 0.5; done
  kill -KILL -- "-$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}
ready() { curl -sf -o /dev/null "http://127.0.0.1:$1/readyz"; }
said() { grep -q "$2" "$log/$1.log"; }

starts bench-serve "ready $port" PORT="$port"  # first: builds the venv and a registry
completes lint
completes schemas
git diff --exit-code schemas/  # the committed contracts are current
completes migrate
built=$(.venv/bin/python -c 'from app.gatekeeper.national import fast; print(int(fast.BUILT))')
scripts/smoke-run.sh "$built"  # make run: answers a settlement and a 2204 message
starts run-prod "ready $port && ready $((port + 1)) && ready $((port + 2))" PORT="$port"
completes loadtest PORT="$port" LOADTEST_TIME=5s LOADTEST_USERS=4
starts bench "said bench '^== 20 lines'" PORT="$port" FLOOR_PORT="$floor"
completes bench-frontend BENCH_ARGS="--rates 50 --seconds 1"
completes bench-import BENCH_ARGS="--rows 500 --institutions 5"
completes bench-console BENCH_ARGS="--physicians 2000 --decisions 20000 --rounds 2"
completes bench-decisions BENCH_ARGS="--rows 4000 --days 2"
completes bench-decisions BENCH_ARGS="--ingest --rate 50 --seconds 2 --outage-s 2 --after-s 3"
starts bench-sync "said bench-sync 'testenv: PostgreSQL'"
starts bench-scale "said bench-scale '== make bench-scale'"
completes format
git diff --exit-code  # formatted already
completes lock
completes clean
echo "every make target ran on a fresh clone ($dir)"
