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
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
from typing import Any

from app.core.settings import get_settings
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


def _worker(store: RegistryStore, sock: socket.socket, uvicorn_options: dict[str, Any]) -> None:
    import uvicorn

    app = GatekeeperApp(store, follow=True)
    config = uvicorn.Config(app, **uvicorn_options)
    uvicorn.Server(config).run(sockets=[sock])


def serve(workers: int, host: str, port: int, **uvicorn_options: Any) -> None:
    """Load, bind, fork ``workers`` workers and wait for them (SIGTERM/SIGINT stop all)."""
    store = RegistryStore()
    preload(store)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    children: list[int] = []
    for _ in range(workers):
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
        children.append(pid)
    log.warning("gatekeeper: %d workers %s on %s:%d", workers, children, host, port)

    def stop(signum: int, _frame: object) -> None:
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for pid in children:
        while True:
            try:
                os.waitpid(pid, 0)
                break
            except InterruptedError:
                continue
            except ChildProcessError:
                break
