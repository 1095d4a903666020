"""The one protocol every registry feed implements.

A feed keeps a :class:`~app.registry.store.RegistryStore` current from one source:

| feed | source | where |
|---|---|---|
| ``SnapshotFileFeed`` | a registry snapshot file (the bench) | ``app.gatekeeper.feed`` |
| ``DatabaseFeed`` | the record: a full load, then the outbox | ``app.gatekeeper.feed`` |
| ``InProcessFeed`` | the outbox, after each admin commit (embedded) | ``app.sync.inprocess`` |
| ``RedisFollower`` | the Redis snapshot and change stream (production) | ``app.sync.follower`` |

``load`` replaces the registry from the source; ``catch_up`` applies what changed since
the store's version (and confirms freshness); ``start`` begins following in the
background; ``stop`` ends that and releases the feed's connections.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from app.registry.store import RegistryStore


@runtime_checkable
class RegistryFeed(Protocol):
    store: RegistryStore

    async def load(self) -> None: ...

    async def catch_up(self) -> None: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...
