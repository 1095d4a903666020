"""RedisFollower: keeps a gatekeeper's RegistryStore loaded and fresh from Redis.

Wiring (the gatekeeper lifespan, production profile, when ``YBGATE_REDIS_URL`` is set)::

    follower = RedisFollower(store, settings.redis_url, database_url=settings.database_url)
    await follower.start()      # returns once the registry is loaded (retries until then)
    try:
        yield                   # serve; the follower runs as a task
    finally:
        await follower.stop()

``start(wait=False)`` returns at once and loads in the background (``/readyz`` stays 503
until ``store.loaded``). Pass ``sessions=`` instead of ``database_url=`` to share an
engine; with neither, the follower never reads PostgreSQL and waits for a snapshot.

Start: the snapshot in Redis (app/sync/snapshot_store.py, decoded in a thread), or, when
Redis has none or is unreachable, a snapshot built from PostgreSQL, published to Redis
for the next process. Then it follows the stream from the snapshot's version with
``XREAD BLOCK`` (on a client whose socket timeout outlasts the block time) and applies
each entry; an entry that is not ``version + 1`` (trimmed, or lost with a Redis restart)
or a RegistryGapError reloads the snapshot.

Freshness: applying a patch marks the store synced; an empty round marks it synced only
when the relay's ``head`` key (refreshed while the relay polls the outbox, short TTL)
exists and is not above the store's version. So the registry age (``age_seconds()``)
measures how long nobody has vouched for it: Redis down, relay down, or PostgreSQL down.

Fail-static: on any failure the follower keeps the registry it has (the hot path keeps
deciding from memory), retries with backoff (0.1 s doubling to 2 s) and on recovery
catches up from its own version, reloading the snapshot only if the stream lost entries.
``/readyz`` turns 503 only past ``YBGATE_REGISTRY_MAX_AGE_S`` (default 300 s). Why that
default: a gatekeeper that cannot confirm freshness keeps serving its last registry for up
to five minutes, so the hospitals' HIS traffic keeps flowing through a brief Redis or relay
blip (changes to physician standing are rare and dated, a few minutes of lag is the price
of never stopping settlements); beyond that the registry may be materially stale and an
orchestrator should route traffic away.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.core.db import create_engine, create_sessionmaker
from app.registry.compact import Registry
from app.registry.heap import settle_heap
from app.registry.store import RegistryGapError, RegistryStore
from app.sync.redis_keys import (
    Backoff,
    Keys,
    cancel_and_wait,
    cancelling,
    connect,
    decode_patch,
    first_after,
    read_after,
)
from app.sync.snapshot_store import (
    build_from_database,
    encode_snapshot,
    fetch_registry,
    put_snapshot,
)

log = logging.getLogger("ybgate.sync.follower")


class NoSnapshotError(Exception):
    """Redis has no usable snapshot and there is no database to build one from."""


class RedisFollower:
    def __init__(
        self,
        store: RegistryStore,
        redis_url: str,
        *,
        sessions: async_sessionmaker[AsyncSession] | None = None,
        database_url: str | None = None,
        block_ms: int = 1000,
        batch: int = 1000,
        prefix: str = "ybgate",
        wait: bool = True,
    ) -> None:
        self.store = store
        self.wait = wait  # start(): load before returning (else in the background)
        self.keys = Keys(prefix)
        self.block_ms = block_ms
        self.batch = batch
        self.redis = connect(redis_url)
        # XREAD BLOCK waits up to block_ms for data: its socket timeout must outlast that.
        self.blocking = connect(redis_url, timeout=block_ms / 1000 + 5.0)
        self._engine: AsyncEngine | None = None
        if sessions is None and database_url:
            self._engine = create_engine(database_url)
            sessions = create_sessionmaker(self._engine)
        self.sessions = sessions
        self._must_load = True
        self._task: asyncio.Task[None] | None = None
        self.loads = 0  # snapshot loads (start-up and gap reloads)
        self.applied = 0  # stream entries applied
        self.errors = 0  # failed rounds (Redis or PostgreSQL unreachable, ...)

    # -- life cycle ---------------------------------------------------------------------------
    async def start(self, *, wait: bool | None = None) -> None:
        """Load the registry (retrying until it works) and start following. With
        ``wait=False`` the first load happens in the background too."""
        if self.wait if wait is None else wait:
            backoff = Backoff(cap=2.0)
            while True:
                try:
                    await self.load()
                    break
                except Exception as exc:
                    if cancelling():
                        raise
                    log.warning("registry load failed (%s: %s); retrying", type(exc).__name__, exc)
                    await backoff.sleep()
        self._task = asyncio.create_task(self._run(), name="ybgate-redis-follower")

    def adopt(self) -> None:
        """Follow from the registry the store already holds (loaded from this Redis
        before a fork) instead of loading the snapshot again."""
        if self.store.loaded:
            self._must_load = False

    async def stop(self) -> None:
        if self._task is not None:
            await cancel_and_wait(self._task)
            self._task = None
        await self.blocking.aclose()
        await self.redis.aclose()
        if self._engine is not None:
            await self._engine.dispose()

    async def _run(self) -> None:
        backoff = Backoff(cap=2.0)
        while True:
            try:
                if self._must_load:
                    await self.load()
                await self.step()
                backoff.reset()
            except Exception as exc:
                if cancelling():
                    raise
                self.errors += 1
                log.warning(
                    "registry sync failed at version %s (%s: %s); keeping the registry, retrying",
                    self.store.version if self.store.loaded else None,
                    type(exc).__name__,
                    exc,
                )
                await backoff.sleep()

    # -- loading ------------------------------------------------------------------------------
    async def load(self) -> None:
        """The snapshot from Redis; else (none, not newer than ours, or Redis down before
        the first load) one built from PostgreSQL and published for the others."""
        store = self.store
        current = store.version if store.loaded else -1
        registry: Registry | None = None
        try:
            registry = await fetch_registry(self.redis, self.keys)
        except (RedisError, OSError):
            if store.loaded:
                raise  # keep what we have; retry when Redis answers
            log.warning("Redis unreachable at start-up; building the registry from PostgreSQL")
        if registry is None or registry.version <= current:
            if self.sessions is None:
                raise NoSnapshotError("no registry snapshot in Redis newer than ours")
            registry = await build_from_database(self.sessions)
            await self._publish(registry)
        if registry.version < current:
            raise NoSnapshotError(f"snapshot {registry.version} is older than ours ({current})")
        await self._catch_up(registry)
        settle_heap()  # freeze the new registry out of the cyclic GC's full collections
        store.replace_registry(registry)
        self._must_load = False
        self.loads += 1
        log.info("registry loaded at version %d", registry.version)

    async def _catch_up(self, registry: Registry) -> None:
        """Apply the stream's entries after the snapshot to the registry before it is
        visible, so a gatekeeper that turns ready has every patch published by then."""
        with contextlib.suppress(RedisError, OSError):
            while True:
                version = registry.version
                entries = await read_after(self.redis, self.keys, version, count=self.batch)
                if not entries or entries[0][0] != registry.version + 1:
                    return  # nothing more, or a gap: step() takes it from here
                for got, payload in entries:
                    if got != registry.version + 1:
                        return
                    registry.apply(decode_patch(payload))

    async def _publish(self, registry: Registry) -> None:
        try:
            value = await asyncio.to_thread(encode_snapshot, registry)
            await put_snapshot(self.redis, self.keys, registry.version, value)
        except (RedisError, OSError) as exc:
            log.info("could not publish the snapshot built from PostgreSQL: %s", exc)

    # -- following ----------------------------------------------------------------------------
    async def step(self) -> None:
        """One XREAD round: apply what came, or confirm freshness when nothing did."""
        store = self.store
        version = store.version
        entries = await read_after(
            self.blocking, self.keys, version, count=self.batch, block_ms=self.block_ms
        )
        for got, payload in entries:
            if got <= store.version:
                continue
            if got != store.version + 1:
                self._gap(f"stream jumps from {store.version} to {got}")
                return
            try:
                store.apply(decode_patch(payload))
            except RegistryGapError as exc:
                self._gap(str(exc))
                return
            self.applied += 1
        if entries:
            return
        head = await self.redis.get(self.keys.head)
        if head is None:
            return  # nobody vouches for freshness: the registry ages
        published = int(head)
        if published <= version:
            store.mark_synced()
            return
        # The relay has published past us, yet nothing came: did the stream lose it?
        following = await first_after(self.redis, self.keys, version)
        if following != version + 1:
            self._gap(f"stream has no entry {version + 1} (relay at {published})")

    async def catch_up(self) -> None:
        """One round: the stream entries above the store's version (the feed protocol)."""
        await self.step()

    def _gap(self, why: str) -> None:
        log.warning("%s; reloading the snapshot", why)
        self._must_load = True
