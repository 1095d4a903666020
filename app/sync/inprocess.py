"""Embedded profile (no Redis): admin writes reach the in-process registry directly.

After each commit the unit of work calls :meth:`InProcessFeed.catch_up`, which applies
every committed outbox row above the store's version, in order. Reading the outbox rather
than handing over the writer's own patch keeps the order right when two requests commit
close together, and a request that died between commit and catch-up is covered by the next.
"""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.registry.source import load_snapshot
from app.registry.store import RegistryStore
from app.sync.outbox import changes_after


class InProcessFeed:
    def __init__(self, store: RegistryStore, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.store = store
        self._sessions = sessions
        self._lock = asyncio.Lock()

    async def load(self) -> None:
        async with self._lock, self._sessions() as session:
            self.store.replace(await load_snapshot(session))

    async def catch_up(self) -> None:
        async with self._lock, self._sessions() as session:
            while True:
                patches = await changes_after(session, self.store.version)
                if not patches:
                    break
                for patch in patches:
                    self.store.apply(patch)
            self.store.mark_synced()
