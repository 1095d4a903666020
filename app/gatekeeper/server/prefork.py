"""W gatekeeper workers on one host sharing one copy of the registry (pre-fork).

``ybgate serve gatekeeper --workers W`` (W > 1): the parent loads the registry once (the
snapshot file, else the Redis snapshot, else the database, as a single gatekeeper would),
settles the heap (``gc.freeze``: the cyclic GC of a worker never writes to the shared
objects' headers), binds the socket, then forks W workers. Each worker serves with
uvicorn's server on the shared socket and keeps its copy of the store fresh itself
(snapshot polls, Redis follower or outbox), starting from the preloaded version.

The registry's pages stay shared copy-on-write: judging reads the physician map (a dict
lookup increments no key's reference count) and only the few interned entries and the
memo (per worker, small) are written. A patch copies the pages it writes. What copies
everything: a full reload (a new snapshot, a gap) or a region patch (its pattern scan
touches every code), after which that worker holds a private registry until restarted.

The parent supervises its workers: a worker that dies (a crash, an OOM kill, a signal)
is logged and replaced by a new fork of the parent's preloaded registry, which catches up
through its feed like any worker; restarts are counted in shared memory (``workers.py``)
and shown on every worker's ``/readyz`` and ``/metrics``. Replacements that keep dying
are spaced out (at most ``RESTARTS_PER_MINUTE`` a minute, then one a second). A worker
dies with its parent (``PR_SET_PDEATHSIG``). SIGTERM or SIGINT stops them all.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import logging
import os
import signal
import socket
import sys
import time
from typing import Any

from app.core.settings import get_settings
from app.gatekeeper import workers as workers_mod
from app.gatekeeper.app import GatekeeperApp
from app.registry.heap import settle_heap
from app.registry.store import RegistryStore

log = logging.getLogger("ybgate.gatekeeper")


def preload(store: RegistryStore) -> None:
    """Load the registry as the gatekeeper's lifespan would, in this process."""
    settings = get_settings()
    snapshot = settings.snapshot_file
    if snapshot:
        from app.registry.snapshot import load_snapshot

        store.replace_registry(load_snapshot(snapshot))
    elif settings.redis_url:
        from app.sync.follower import RedisFollower

        async def load() -> None:
            follower = RedisFollower(
                store, settings.redis_url or "", database_url=settings.database_url
            )
            try:
                await follower.load()
            finally:
                await follower.stop()

        asyncio.run(load())
    else:
        from app.gatekeeper.feed import DatabaseFeed

        async def load_db() -> None:
            feed = DatabaseFeed(store, settings.database_url, 5.0)
            try:
                await feed.load()
            finally:
                await feed.close()

        asyncio.run(load_db())
    settle_heap()


RESTARTS_PER_MINUTE = 30
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def _worker(store: RegistryStore, sock: socket.socket, uvicorn_options: dict[str, Any]) -> None:
    import uvicorn

    _die_with_parent()
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # uvicorn installs its own handlers
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    app = GatekeeperApp(store, follow=True)
    config = uvicorn.Config(app, **uvicorn_options)
    uvicorn.Server(config).run(sockets=[sock])


def _fork(store: RegistryStore, sock: socket.socket, uvicorn_options: dict[str, Any]) -> int:
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            _worker(store, sock, uvicorn_options)
        except BaseException:
            log.exception("gatekeeper worker failed")
            code = 1
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    return pid


def _how(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"signal {signal.Signals(os.WTERMSIG(status)).name}"
    return f"exit code {os.waitstatus_to_exitcode(status)}"


def serve(workers: int, host: str, port: int, **uvicorn_options: Any) -> None:
    """Load, bind, fork ``workers`` workers and supervise them until SIGTERM/SIGINT."""
    store = RegistryStore()
    preload(store)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    supervision = workers_mod.SUPERVISION = workers_mod.Supervision(workers)
    children = {_fork(store, sock, uvicorn_options) for _ in range(workers)}
    log.warning("gatekeeper: %d workers %s on %s:%d", workers, sorted(children), host, port)
    stopping = False

    def stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    recent: list[float] = []
    while children:
        try:
            pid, status = os.wait()
        except InterruptedError:
            continue
        except ChildProcessError:
            break
        if pid not in children:
            continue
        children.discard(pid)
        if stopping:
            continue
        now = time.monotonic()
        recent = [t for t in recent if now - t < 60] + [now]
        if len(recent) > RESTARTS_PER_MINUTE:
            time.sleep(1.0)  # a worker that dies at once, again and again: no fork storm
        if stopping:
            continue
        new = _fork(store, sock, uvicorn_options)
        children.add(new)
        n = supervision.restarted()
        log.error(
            "gatekeeper worker %d died (%s); replaced by worker %d (%d restarts)",
            pid,
            _how(status),
            new,
            n,
        )
