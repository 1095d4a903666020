#!/usr/bin/env bash
# make run-prod: the production profile on this machine, in the foreground.
#   PostgreSQL + Redis (scripts/testenv.sh, in var/prod), migrate, demo seed, then
#   the relay, the admin API on :8001 and two gatekeepers on :8000 and :8002 (PORT=N:
#   gatekeepers on N and N+2, the admin API on N+1).
#   Redis has a replica and a Sentinel (SENTINEL=0: plain Redis); every process reaches
#   it through the Sentinel (redis+sentinel://…), so it follows a failover.
# Ctrl-C stops everything (and throws the throwaway servers and their data away).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
dir=var/prod
base=${PORT:-8000}
ports=("$base" "$((base + 1))" "$((base + 2))")

for port in "${ports[@]}"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "run-prod: port $port is in use" >&2; exit 1
  fi
done

scripts/testenv.sh stop "$dir"  # leftovers of a run that did not end cleanly
scripts/testenv.sh start "$dir"
# shellcheck disable=SC1091
source "$dir/env"

pids=()
cleanup() {
  trap - EXIT INT TERM
  echo; echo "run-prod: stopping" >&2
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  scripts/testenv.sh stop "$dir"
}
trap cleanup EXIT
trap "exit 130" INT  # the EXIT trap then stops everything
trap "exit 143" TERM

export YBGATE_DATABASE_URL=$YBGATE_TEST_PG_URL
export YBGATE_REDIS_URL=$YBGATE_TEST_REDIS_URL
if [ "${SENTINEL:-1}" = 1 ]; then
  free() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
  rport=$(sed -n 's#.*:\([0-9]*\)/.*#\1#p' <<<"$YBGATE_TEST_REDIS_URL")
  replica=$(free); sentinel=$(free)
  mkdir -p "$dir/replica" "$dir/sentinel"
  redis-server --port "$replica" --bind 127.0.0.1 --dir "$PWD/$dir/replica" --save "" \
    --replicaof 127.0.0.1 "$rport" >"$dir/replica.log" 2>&1 & pids+=($!)
  printf 'port %s\nbind 127.0.0.1\ndir %s\nsentinel monitor ybgate 127.0.0.1 %s 1\nsentinel down-after-milliseconds ybgate 2000\nsentinel failover-timeout ybgate 10000\n' \
    "$sentinel" "$PWD/$dir/sentinel" "$rport" >"$dir/sentinel/sentinel.conf"
  redis-server "$dir/sentinel/sentinel.conf" --sentinel >"$dir/sentinel.log" 2>&1 & pids+=($!)
  for _ in $(seq 100); do
    redis-cli -p "$sentinel" sentinel get-master-addr-by-name ybgate >/dev/null 2>&1 && break
    sleep 0.1
  done
  export YBGATE_REDIS_URL=redis+sentinel://127.0.0.1:$sentinel/ybgate/${YBGATE_TEST_REDIS_URL##*/}
  echo "run-prod: Redis :$rport, replica :$replica, Sentinel :$sentinel ($YBGATE_REDIS_URL)" >&2
fi
export YBGATE_DECISION_LOG_DIR=$PWD/$dir/decisions
# Gateway secrets are sealed with this key (app/core/secrets.py): kept with the data.
[ -s "$dir/secrets.key" ] || (umask 077 && $PY -c 'import base64,os; print(base64.b64encode(os.urandom(32)).decode())' >"$dir/secrets.key")
export YBGATE_SECRETS_KEY=${YBGATE_SECRETS_KEY:-$(cat "$dir/secrets.key")}
export YBGATE_BOOTSTRAP_ADMIN_TOKEN=${YBGATE_BOOTSTRAP_ADMIN_TOKEN:-$($PY -c 'import secrets; print(secrets.token_urlsafe(32))')}

$PY -m app.cli migrate
seed_out=$($PY -m app.cli seed --port "${ports[0]}")
his=$(sed -n 's/^ *HIS ([^)]*): *//p' <<<"$seed_out" | head -1)

$PY -m app.cli relay & pids+=($!)
$PY -m app.cli serve admin --port "${ports[1]}" & pids+=($!)
$PY -m app.cli serve gatekeeper --port "${ports[0]}" & pids+=($!)
$PY -m app.cli serve gatekeeper --port "${ports[2]}" & pids+=($!)

for port in "${ports[@]}"; do
  for _ in $(seq 600); do
    curl -sf -o /dev/null "http://127.0.0.1:$port/readyz" && break
    sleep 0.1
  done
  curl -sf -o /dev/null "http://127.0.0.1:$port/readyz" || { echo "run-prod: :$port not ready" >&2; exit 1; }
done

admin=$YBGATE_BOOTSTRAP_ADMIN_TOKEN
code=$(sed -n 's#.*/admin/v1/physicians/\(YB[0-9X]*\).*#\1#p' <<<"$seed_out" | head -1)
cat <<EOF

ybgate production profile: PostgreSQL + Redis, relay, admin API :${ports[1]}, gatekeepers :${ports[0]} :${ports[2]}
  admin (superuser): $admin
  HIS (H33010200001): $his

  curl -s -H 'Authorization: Bearer $admin' http://127.0.0.1:${ports[1]}/admin/v1/physicians/$code
  curl -s -H 'Authorization: Bearer $his' \\
    'http://127.0.0.1:${ports[0]}/v1/physicians/$code/eligibility?institution=H33010200001'
  curl -s -H 'Authorization: Bearer $his' \\
    'http://127.0.0.1:${ports[2]}/v1/physicians/$code/eligibility?institution=H33010200001'

An admin write on :${ports[1]} reaches both gatekeepers through the outbox, the relay and Redis.
Ctrl-C stops everything.
EOF

wait -n "${pids[@]}" || true  # Ctrl-C, or one of them exited: the trap stops the rest
