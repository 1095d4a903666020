"""Embedded profile (no Redis): admin writes reach the in-process registry directly.

After each commit the unit of work calls :meth:`InProcessFeed.catch_up`, which applies
every committed outbox row above the store's version, in order. Reading the outbox rather
than handing over the writer's own patch keeps the order right when two requests commit
close together, and a request that died between commit and catch-up is covered by the next.
A heartbeat (:meth:`start`) catches up every second too: that brings in writes made by
another process on the same database (``ybgate token``) and keeps the registry's age, and
so ``/readyz``, honest.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.tasks import cancelled
from app.registry.source import load_snapshot
from app.registry.store import RegistryStore
from app.sync.outbox import catch_up_store

log = logging.getLogger("ybgate")
HEARTBEAT_S = 1.0


class InProcessFeed:
    def __init__(
        self,
        store: RegistryStore,
        sessions: async_sessionmaker[AsyncSession],
        heartbeat_s: float = HEARTBEAT_S,
    ) -> None:
        self.store = store
        self._sessions = sessions
        self._lock = asyncio.Lock()
        self._heartbeat_s = heartbeat_s
        self._task: asyncio.Task[None] | None = None

    async def load(self) -> None:
        async with self._lock, self._sessions() as session:
            self.store.replace(await load_snapshot(session))

    async def catch_up(self) -> None:
        async with self._lock, self._sessions() as session:
            await catch_up_store(session, self.store)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._heartbeat(), name="ybgate-inprocess-heartbeat")

    async def stop(self) -> None:
        await cancelled(self._task)
        self._task = None

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self._heartbeat_s)
            try:
                await self.catch_up()
            except Exception:  # the database may be away for a moment; the registry stays
                log.warning("registry catch-up failed; serving the last registry", exc_info=True)
