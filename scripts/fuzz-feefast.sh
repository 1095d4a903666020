#!/usr/bin/env bash
# The C fast path (csrc/) built with AddressSanitizer + UBSan in a temporary directory,
# then scripts/fuzz_feefast.py against it.   scripts/fuzz-feefast.sh [SEED] [ROUNDS]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
PY=${PY:-$here/.venv/bin/python}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
inc=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
ext=$("$PY" -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))')
gcc -shared -fPIC -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=undefined \
  -fno-omit-frame-pointer -I"$inc" "$here"/csrc/feefast_*.c -o "$tmp/_feefast$ext"
export LD_PRELOAD="$(gcc -print-file-name=libasan.so):$(gcc -print-file-name=libubsan.so)"
export ASAN_OPTIONS=detect_leaks=0 PYTHONPATH="$tmp:$here"
"$PY" "$here/scripts/fuzz_feefast.py" "${1:-1}" "${2:-20000}"
