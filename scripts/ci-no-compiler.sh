#!/usr/bin/env bash
# CI: the product without a C compiler. A fresh clone of HEAD whose virtualenv is built
# with CC pointing nowhere (so csrc/ cannot be compiled: setup.py goes on without it),
# then the gatekeeper's tests and `make run` in it: the reference path serves.
#   scripts/ci-no-compiler.sh [PYTEST ARGS]   (default: tests/gatekeeper -q)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/ybgate-nocc.XXXXXX)
trap 'rm -rf "$work"' EXIT
git clone -q "$here" "$work/ybgate"
cd "$work/ybgate"
export CC=/nonexistent/cc
make venv | tee "$work/venv.log"
grep -q 'fast path not built' "$work/venv.log" || { echo "the extension was built" >&2; exit 1; }
if find app -name '_feefast*.so' | grep -q .; then echo "a _feefast binary exists" >&2; exit 1; fi
scripts/run-tests.sh "${@:-tests/gatekeeper}" -q
scripts/smoke-run.sh 0
