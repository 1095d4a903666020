#!/usr/bin/env bash
# Start or stop a throwaway PostgreSQL and Redis on loopback, on free ports, in a temp dir.
#   scripts/testenv.sh start DIR   -> writes DIR/env (export lines) and starts both servers
#   scripts/testenv.sh stop DIR    -> stops both and removes DIR
# Installs the Debian server packages when they are missing (root, apt-get).
set -euo pipefail
cmd=${1:?start|stop}; dir=${2:?directory}

pg_bin() {
  local d
  for d in /usr/lib/postgresql/*/bin; do [ -x "$d/pg_ctl" ] && { echo "$d"; return; }; done
  return 1
}

ensure_packages() {
  local need=()
  pg_bin >/dev/null || need+=(postgresql)
  command -v redis-server >/dev/null || need+=(redis-server)
  # The operator console's end-to-end tests: headless Chromium, its driver, a CJK font.
  command -v chromium >/dev/null || need+=(chromium)
  command -v chromedriver >/dev/null || need+=(chromium-driver)
  fc-list 2>/dev/null | grep -qi 'wqy\|noto sans cjk' || need+=(fonts-wqy-microhei)
  # The commands of docs/ are run by tests (curl), and the C fast path is built with
  # AddressSanitizer and UBSan (gcc's runtimes: libasan, libubsan).
  command -v curl >/dev/null || need+=(curl)
  [ -e "$(gcc -print-file-name=libasan.so 2>/dev/null)" ] || need+=(libasan8)
  [ -e "$(gcc -print-file-name=libubsan.so 2>/dev/null)" ] || need+=(libubsan1)
  if [ ${#need[@]} -gt 0 ]; then
    echo "testenv: installing ${need[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq "${need[@]}" >/dev/null
  fi
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

# PostgreSQL refuses to run as root: run it as an unprivileged user when we are root.
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

case "$cmd" in
start)
  ensure_packages
  bin=$(pg_bin)
  mkdir -p "$dir"; dir=$(cd "$dir" && pwd)
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
    chown postgres "$dir"; chmod 755 "$dir"
  fi
  # PostgreSQL's own files (data, log, socket) where the postgres user can reach them: DIR
  # itself, or a directory of its own under /tmp when DIR sits below one that user cannot
  # enter (a checkout under /root, a mktemp -d parent); DIR/pgd names it for `stop`.
  pgd=$dir
  if [ "$(id -u)" = 0 ] && ! runuser -u postgres -- test -x "$dir"; then
    pgd=$(mktemp -d /tmp/ybgate-pg.XXXXXX); chown postgres "$pgd"; chmod 755 "$pgd"
  fi
  echo "$pgd" >"$dir/pgd"
  pgport=$(free_port); rport=$(free_port)
  as_pg "$bin/initdb" -D "$pgd/pg" -U ybgate --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
    || { echo "testenv: initdb failed:" >&2; tail -20 "$dir/initdb.log" >&2; exit 1; }
  [ "$pgd" = "$dir" ] || ln -s "$pgd/pg" "$dir/pg"
  as_pg "$bin/pg_ctl" -D "$pgd/pg" -l "$pgd/pg.log" -w -t 60 \
    -o "-h 127.0.0.1 -p $pgport -k $pgd -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" start >/dev/null \
    || { echo "testenv: PostgreSQL did not start:" >&2; tail -20 "$pgd/pg.log" >&2; exit 1; }
  as_pg "$bin/createdb" -h 127.0.0.1 -p "$pgport" -U ybgate ybgate
  redis-server --bind 127.0.0.1 --port "$rport" --daemonize yes --dir "$dir" \
    --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --save "" --appendonly no >/dev/null
  for _ in $(seq 50); do redis-cli -p "$rport" ping >/dev/null 2>&1 && break; sleep 0.1; done
  cat >"$dir/env" <<ENV
export YBGATE_TEST_PG_URL=postgresql+asyncpg://ybgate@127.0.0.1:$pgport/ybgate
export YBGATE_TEST_REDIS_URL=redis://127.0.0.1:$rport/0
export YBGATE_TEST_PG_BIN=$bin
export YBGATE_TEST_DIR=$dir
ENV
  echo "testenv: PostgreSQL on 127.0.0.1:$pgport, Redis on 127.0.0.1:$rport ($dir)" >&2
  ;;
stop)
  [ -d "$dir" ] || exit 0
  bin=$(pg_bin || true)
  pgd=$(cat "$dir/pgd" 2>/dev/null || echo "$dir")
  if [ -n "$bin" ] && [ -f "$pgd/pg/postmaster.pid" ]; then
    as_pg "$bin/pg_ctl" -D "$pgd/pg" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  [ "$pgd" = "$dir" ] || rm -rf "$pgd"
  if [ -f "$dir/redis.pid" ]; then kill "$(cat "$dir/redis.pid")" 2>/dev/null || true; fi
  rm -rf "$dir"
  ;;
*) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac
