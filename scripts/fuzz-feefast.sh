#!/usr/bin/env bash
# The fast path's fuzzer (tests/fuzz/) against the C code (csrc/) built with
# AddressSanitizer, UBSan and edge coverage, for a bounded time:
#   scripts/fuzz-feefast.sh [SECONDS] [SEED]      (make fuzz FUZZ_SECONDS=90)
# Every mutant of tests/data/fuzz-corpus/ must leave the sanitizers silent and get the
# same answer from the fast path as from the reference decoder. A finding is saved
# under var/fuzz-failures/ and the script exits non-zero.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
PY=${PY:-$here/.venv/bin/python}
seconds=${1:-60}
seed=${2:-$(date +%s)}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
so=$(cd "$here" && "$PY" -m tests.fuzz.build "$tmp" --coverage)
export LD_PRELOAD=$(cd "$here" && "$PY" -c "from tests.fuzz.build import preload; print(preload())")
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:halt_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export FUZZ_FEEFAST_SO=$so PYTHONPATH=$here PYTHONMALLOC=malloc
cd "$here"
"$PY" -m tests.fuzz.run --seconds "$seconds" --seed "$seed"
