"""``ybgate relay``: publishes the committed outbox to Redis (production profile).

Every committed admin write took the next gapless, commit-ordered registry version and
stored its Patch in ``registry_changes`` (app/sync/outbox.py). The relay polls that table
(``changes_after``, every ``poll_s`` when idle) and appends each patch, in version order,
to the Redis stream with the explicit entry ID ``<version>-0`` (app/sync/redis_keys.py).

Exactly once, in order, without trusting ``published_at``:

* On every (re)start, and after every error, the relay reads the stream's top ID from
  Redis and continues from the outbox after it. A crash between commit and publish loses
  nothing (the row is still in the outbox) and a crash between publish and the
  ``published_at`` update publishes nothing twice (the stream top already says so).
* Redis refuses an ID that is not above the stream's top, so two relays running at once
  (the lock below normally prevents it, but correctness never depends on it) cannot
  duplicate or reorder an entry: the loser re-reads the top and carries on.
* ``published_at`` is written after the fact, for operators only.

The relay also keeps a registry of its own (a RegistryStore fed the same patches) and
every ``snapshot_every`` versions or ``snapshot_interval_s`` seconds dumps it, in a
thread, to the snapshot key (compare-and-set: never backwards). Only then does it trim the
stream, with ``MINID = snapshot version - keep_before_snapshot``: the stream always holds
every entry after the snapshot, so snapshot + stream is always the whole registry.

While it polls, the relay sets the short-lived ``head`` key (the version it has published
up to). Followers take it as the proof of freshness; when the relay or PostgreSQL is
down the key expires and the gatekeepers' registry age grows (see app/sync/follower.py).

Failures: Redis or PostgreSQL down -> the relay retries with backoff (0.1 s doubling to
2 s) and, once both answer, publishes everything committed meanwhile, in order. A relay
that finds Redis *ahead* of PostgreSQL, or its last stream entry different from the same
version in the outbox (a database restored under a live Redis, commits lost by a crash
with ``synchronous_commit=off`` or by a failover to a lagging replica) refuses to publish
and says so in its log until an operator clears the ``ybgate:*`` keys.

Tuning: ``RelayConfig`` fields, overridable as ``YBGATE_RELAY_<FIELD>`` (e.g.
``YBGATE_RELAY_POLL_S=0.05``) in the environment of ``ybgate relay``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections import deque

from redis.exceptions import ResponseError
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.db import create_engine, create_sessionmaker
from app.core.settings import Settings, get_settings
from app.models import RegistryChange
from app.models.base import utcnow
from app.registry.facts import Patch
from app.registry.snapshot import DumpCache
from app.registry.source import current_version
from app.registry.store import RegistryStore
from app.sync.lock import Lease, LockLost
from app.sync.outbox import changes_after
from app.sync.redis_keys import (
    Backoff,
    Keys,
    cancel_and_wait,
    cancelling,
    connect,
    decode_patch,
    last_entry,
    publish_patches,
    snapshot_version,
    stream_top,
)
from app.sync.relay_config import RelayConfig
from app.sync.relay_snapshots import SnapshotKeeper
from app.sync.snapshot_store import (
    build_from_database,
    encode_snapshot,
    fetch_registry,
)

log = logging.getLogger("ybgate.sync.relay")
LOG_FORMAT = "%(asctime)s %(name)s %(levelname)s %(message)s"


class RedisAheadError(Exception):
    """Redis holds versions PostgreSQL does not have (or has differently)."""


class Relay(SnapshotKeeper):
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        redis_url: str,
        config: RelayConfig | None = None,
    ) -> None:
        self.sessions = sessions
        self.cfg = config or RelayConfig()
        self.keys = Keys(self.cfg.prefix)
        self.redis = connect(redis_url)
        self.store = RegistryStore()  # the relay's own registry, for snapshots
        self.cursor = 0  # every version up to this one is in the stream
        self.lease = Lease(self.redis, self.keys.lock, self.cfg.lock_ttl_ms)
        self._dump: asyncio.Task[tuple[int, list[bytes], str]] | None = None
        self._storing: asyncio.Task[int] | None = None  # a dump being written to Redis
        # The last dump's encoded shards: a refresh encodes only what changed since.
        self._dump_cache = DumpCache()
        self._snap_version: int | None = None  # as last seen in Redis
        self._snap_at = 0.0
        self._beat_at = 0.0
        self.ready = asyncio.Event()  # set once the relay has found where to continue

    # -- life cycle ---------------------------------------------------------------------------
    async def run(self) -> None:
        """Work until cancelled: acquire the lock, publish, retry on any failure."""
        backoff = Backoff(cap=2.0)
        while True:
            try:
                if self.cfg.use_lock:
                    await self.lease.acquire()
                await self._serve(backoff)
            except LockLost as exc:
                if cancelling():
                    raise
                log.warning("relay lock lost (%s); standing by", exc)
            except Exception as exc:
                if cancelling():
                    raise
                log.warning("relay: %s: %s; retrying", type(exc).__name__, exc, exc_info=True)
                await backoff.sleep()

    @property
    def token(self) -> str:
        return self.lease.token

    async def close(self) -> None:
        if self.cfg.use_lock:
            await self.lease.release()
        for task in (self._dump, self._storing):
            if task is not None:
                await cancel_and_wait(task)
        await self.redis.aclose()

    async def _serve(self, backoff: Backoff) -> None:
        tasks = {asyncio.create_task(self._work(backoff), name="ybgate-relay-work")}
        if self.cfg.use_lock:
            tasks.add(asyncio.create_task(self.lease.keep(), name="ybgate-relay-lock"))
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()
        finally:
            await cancel_and_wait(*tasks)

    # -- the work -----------------------------------------------------------------------------
    async def _work(self, backoff: Backoff) -> None:
        await self._prepare()
        backoff.reset()
        while True:
            published = await self.publish_once()
            await self._snapshot_step()
            await self._beat(force=published > 0)
            if published < self.cfg.batch:
                await asyncio.sleep(self.cfg.poll_s)

    async def _prepare(self) -> None:
        """Where to continue: the stream's top, else the snapshot's version (writing one
        first when Redis has none)."""
        top = await stream_top(self.redis, self.keys)
        snap = await snapshot_version(self.redis, self.keys)
        await self._check_same_history(max(top or 0, snap or 0))
        if not self.store.loaded:
            registry = await fetch_registry(self.redis, self.keys) if snap is not None else None
            if registry is None:
                registry = await build_from_database(self.sessions)
            self.store.replace_registry(registry)
            log.info("relay registry loaded at version %d", registry.version)
        if top is None and snap is None:
            await self._finish_dump()  # nobody may mutate the store while it is dumped
            value = await asyncio.to_thread(encode_snapshot, self.store.registry)
            snap = await self._write_snapshot(self.store.version, value)
        self._snap_version = snap
        self._snap_at = time.monotonic()
        self.cursor = top if top is not None else (snap or 0)
        log.info("relay publishing after version %d (snapshot %s)", self.cursor, snap)
        self.ready.set()

    async def _check_same_history(self, redis_version: int) -> None:
        """Refuse to publish on top of a Redis that PostgreSQL does not account for: a
        database restored from a backup, or one that lost acknowledged commits (a crash
        with ``synchronous_commit=off``, a failover to a lagging replica)."""
        last = await last_entry(self.redis, self.keys)
        async with self.sessions() as session:
            committed = await current_version(session)
            same = await changes_after(session, last[0] - 1, 1) if last else []
        if redis_version > committed:
            why = f"Redis has version {redis_version}, PostgreSQL only {committed}"
        elif last and same and same[0]["version"] == last[0] and same[0] != decode_patch(last[1]):
            why = f"the stream's version {last[0]} differs from the outbox's"
        else:
            return
        raise RedisAheadError(
            f"{why}: not the same history. Clear the {self.keys.prefix}:* keys and "
            "restart the gatekeepers once the database is the one to keep."
        )

    async def publish_once(self) -> int:
        """Publish the next committed batch; how many entries it appended."""
        async with self.sessions() as session:
            patches = await changes_after(session, self.cursor, self.cfg.batch)
        if not patches:
            await self._feed_store([])
            return 0
        if patches[0]["version"] != self.cursor + 1:
            await self._bridge_gap(patches[0]["version"])
        results = await publish_patches(self.redis, self.keys, patches)
        first, appended, refused = self.cursor + 1, 0, False
        for result in results:
            if isinstance(result, ResponseError) and "equal or smaller" in str(result):
                refused = True  # already there: another relay published it
            elif isinstance(result, Exception):
                raise result
            else:
                appended += 1
                self.cursor = max(self.cursor, result)
        if refused:
            top = await stream_top(self.redis, self.keys)
            self.cursor = max(self.cursor, top or 0)
            log.info("relay: versions already published; continuing after %d", self.cursor)
        await self._mark_published(first, self.cursor)
        await self._feed_store(patches)
        return appended

    async def _mark_published(self, first: int, last: int) -> None:
        async with self.sessions() as session, session.begin():
            await session.execute(
                update(RegistryChange)
                .where(
                    RegistryChange.version.between(first, last),
                    RegistryChange.published_at.is_(None),
                )
                .values(published_at=utcnow())
            )

    async def _bridge_gap(self, first: int) -> None:
        """The outbox lacks versions cursor+1 .. first-1 (rows deleted by hand): publish a
        snapshot from PostgreSQL that covers them, so a follower stopped at the gap
        reloads it instead of waiting for entries that will never come."""
        log.error("outbox lacks versions %d..%d; publishing a snapshot", self.cursor + 1, first - 1)
        await self._finish_dump()
        registry = await build_from_database(self.sessions)
        self.store.replace_registry(registry)
        value = await asyncio.to_thread(encode_snapshot, registry)
        await self._write_snapshot(registry.version, value)

    async def _feed_store(self, patches: list[Patch]) -> None:
        """Bring the relay's registry up to the cursor (not while it is being dumped)."""
        store = self.store
        if self._dump is not None or not store.loaded:
            return
        pending = deque(p for p in patches if p["version"] > store.version)
        while store.version < self.cursor:
            if pending and pending[0]["version"] == store.version + 1:
                store.apply(pending.popleft())
                continue
            async with self.sessions() as session:
                fetched = await changes_after(session, store.version, self.cfg.batch)
            if not fetched or fetched[0]["version"] != store.version + 1:
                store.replace_registry(await build_from_database(self.sessions))
                return
            for patch in fetched:
                if patch["version"] != store.version + 1:
                    break  # a gap further on: the next round rebuilds
                store.apply(patch)
            pending = deque(p for p in pending if p["version"] > store.version)

    # -- the heartbeat (snapshots: relay_snapshots.py) ------------------------------------------
    async def _beat(self, *, force: bool) -> None:
        now = time.monotonic()
        if not force and now - self._beat_at < self.cfg.heartbeat_s:
            return
        self._snap_version = await snapshot_version(self.redis, self.keys)
        if self._snap_version is None:
            return  # Redis lost the snapshot: vouch for nothing until it is back
        await self.redis.set(self.keys.head, self.cursor, px=self.cfg.head_ttl_ms)
        self._beat_at = now


async def run_relay(settings: Settings, config: RelayConfig | None = None) -> None:
    """The relay process: runs until SIGTERM/SIGINT, then releases its lock."""
    if not settings.redis_url:
        raise SystemExit("YBGATE_REDIS_URL is not set: the relay publishes to Redis")
    if not logging.getLogger().handlers:  # a process of its own: say what it does
        logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    engine = create_engine(settings.database_url, echo=settings.log_sql)
    relay = Relay(
        create_sessionmaker(engine),
        settings.redis_url,
        config or RelayConfig.from_settings(settings),
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        # RuntimeError: not the main thread (the tests run the relay in a thread's loop)
        with contextlib.suppress(RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    work = asyncio.create_task(relay.run(), name="ybgate-relay")
    stopping = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({work, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        await cancel_and_wait(work, stopping)
        await relay.close()
        await engine.dispose()
        log.info("relay stopped")


def main() -> None:
    asyncio.run(run_relay(get_settings()))


if __name__ == "__main__":
    main()
