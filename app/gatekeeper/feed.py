"""Keeping a lifespan-owned store loaded and fresh (when the caller passes no store).

* Snapshot file (``YBGATE_SNAPSHOT_FILE``, the bench): loaded at start-up (on the main
  thread: a load in a worker thread leaves ~30 bytes/physician in glibc's thread arena);
  polled every few seconds, reloaded when it changes, and each unchanged poll confirms
  the sync.
* Database: :func:`app.registry.source.load_snapshot` in the background (retried until
  it works; /readyz is 503 until then), then the committed outbox
  (``registry_changes``) is applied patch by patch every few seconds; a gap reloads.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import logging
import os
from pathlib import Path

from app.core.db import create_engine, create_sessionmaker
from app.core.tasks import cancelled
from app.registry.heap import settle_heap
from app.registry.snapshot import load_snapshot as load_snapshot_file
from app.registry.store import RegistryGapError, RegistryStore

log = logging.getLogger("ybgate.gatekeeper.feed")


def _stamp(path: Path) -> tuple[int, int, int]:
    st = path.stat()
    return (st.st_mtime_ns, st.st_size, st.st_ino)


class _Polling(abc.ABC):
    """``start`` runs :meth:`run` in a task; ``stop`` cancels it and closes the feed."""

    _task: asyncio.Task[None] | None = None

    @abc.abstractmethod
    async def run(self) -> None:
        """Poll until cancelled."""

    async def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name=f"ybgate-{type(self).__name__}")

    async def stop(self) -> None:
        await cancelled(self._task)
        self._task = None
        await self.close()

    async def close(self) -> None:
        return None


class SnapshotFileFeed(_Polling):
    def __init__(self, store: RegistryStore, path: str | os.PathLike[str], interval: float):
        self.store = store
        self.path = Path(path)
        self.interval = interval
        self._stamp: tuple[int, int, int] | None = None

    def load_now(self) -> None:
        stamp = _stamp(self.path)
        self.store.replace_registry(load_snapshot_file(self.path))
        self._stamp = stamp
        settle_heap()

    def adopt(self) -> None:
        """The store already holds this file's registry (loaded before a fork)."""
        self._stamp = _stamp(self.path)

    async def load(self) -> None:
        self.load_now()  # on this thread: see the module's docstring

    async def catch_up(self) -> None:
        """Reload when the file changed; an unchanged file confirms the sync."""
        if _stamp(self.path) != self._stamp:
            await asyncio.to_thread(self.load_now)
            log.info("registry reloaded from %s", self.path)
        else:
            self.store.mark_synced()

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.catch_up()
            except Exception:
                log.exception("snapshot %s unreadable; registry left as it is", self.path)


class DatabaseFeed(_Polling):
    def __init__(self, store: RegistryStore, database_url: str, interval: float):
        self.store = store
        self.interval = interval
        self.engine = create_engine(database_url)
        self.sessions = create_sessionmaker(self.engine)

    async def load(self) -> None:
        from app.registry.source import load_snapshot

        async with self.sessions() as session:
            snapshot = await load_snapshot(session)
        self.store.replace(snapshot)
        settle_heap()

    async def catch_up(self) -> None:
        from app.sync.outbox import catch_up_store

        async with self.sessions() as session:
            await catch_up_store(session, self.store)

    async def run(self) -> None:
        delay = self.interval
        while True:
            try:
                if not self.store.loaded:
                    await self.load()
                    log.info("registry loaded from the database: version %d", self.store.version)
                else:
                    await self.catch_up()
                delay = self.interval
            except RegistryGapError as gap:
                log.warning("%s; reloading the registry", gap)
                with contextlib.suppress(Exception):
                    await self.load()
            except Exception:
                log.exception("registry sync from the database failed")
                delay = min(30.0, delay * 2)
            await asyncio.sleep(delay)

    async def close(self) -> None:
        await self.engine.dispose()
