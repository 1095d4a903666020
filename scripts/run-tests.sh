#!/usr/bin/env bash
# Start PostgreSQL and Redis on loopback, run the whole suite, stop them even on failure.
# PY=path/to/python: another virtualenv (CI runs the gatekeeper tests in one built
# without a C compiler).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$(mktemp -d /tmp/ybgate-test.XXXXXX)
trap 'scripts/testenv.sh stop "$dir"' EXIT
scripts/testenv.sh start "$dir"
# shellcheck disable=SC1091
source "$dir/env"
set +e
"${PY:-.venv/bin/python}" -m pytest -p no:cacheprovider "$@"
status=$?
set -e
exit $status
