#!/usr/bin/env bash
# The gatekeeper as benchmarked: one uvicorn worker, uvloop + httptools, no access log,
# auth + decision log (spill sink) + metrics on, registry from a snapshot file.
# BENCH_HTTP=inline (default): the gatekeeper's own protocol, deciding the two hot routes
# in the HTTP parser's callbacks (app/gatekeeper/server/inline.py); BENCH_HTTP=uvicorn:
# uvicorn's httptools protocol with the guard (app/core/guard.py). The same choices as
# `ybgate serve gatekeeper --http inline|uvicorn` (app/cli.py PROTOCOLS). BENCH_HTTP=granian:
# the ASGI app under granian (a Rust HTTP server), one single-threaded worker, to compare.
# YBGATE_HSA_FAST_PATH=off: POST /v1/hsa without the C fast path (the reference alone).
# --no-proxy-headers: the gatekeeper uses neither the client address nor the scheme, so
# uvicorn's X-Forwarded-* middleware is a per-request layer for nothing;
# --no-server-header: do not advertise the server software.
#   bench/serve.sh SNAPSHOT [PORT]
set -euo pipefail
snapshot=${1:?snapshot file}; port=${2:-8000}
here=$(cd "$(dirname "$0")/.." && pwd)
PY=${PY:-$here/.venv/bin/python}
[[ $PY = /* ]] || PY=$here/$PY
export YBGATE_SNAPSHOT_FILE=$snapshot
export YBGATE_DECISION_LOG_SINK=spill
export YBGATE_DECISION_LOG_DIR=${YBGATE_DECISION_LOG_DIR:-$here/var/bench/decisions}
export YBGATE_IDEMPOTENCY_DIR=${YBGATE_IDEMPOTENCY_DIR:-$here/var/bench/msgids}
export YBGATE_DATABASE_URL=${YBGATE_DATABASE_URL:-sqlite+aiosqlite:///$here/var/bench/decisions.db}
case ${BENCH_HTTP:-inline} in
  inline) http=app.gatekeeper.server.inline:GatekeeperProtocol ;;
  uvicorn) http=app.core.guard:GuardedHttpToolsProtocol ;;
  granian) ;;
  *) echo "BENCH_HTTP must be inline, uvicorn or granian" >&2; exit 2 ;;
esac
cd "$here"
if [ "${BENCH_HTTP:-}" = granian ]; then  # for comparison only (docs/benchmarks.md)
  exec "$PY" -m granian --interface asgi --host 127.0.0.1 --port "$port" --workers 1 \
    --runtime-mode st --loop uvloop --http 1 --no-ws --log-level warning app.gatekeeper:app
fi
exec "$PY" -m uvicorn app.gatekeeper:app --host 127.0.0.1 --port "$port" --workers 1 \
  --loop uvloop --http "$http" \
  --no-access-log --log-level warning \
  --no-proxy-headers --no-server-header
