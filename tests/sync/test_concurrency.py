"""1,000 admin writes from 4 concurrent writers: every follower (one in this process, one
in a child process) ends at the same version with a registry equal to a fresh build."""

from __future__ import annotations

import asyncio
import signal

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.sync.probe import fingerprint
from app.sync.redis_keys import connect
from tests.sync.support import (
    Admin,
    Procs,
    RecordingStore,
    RedisServer,
    db_version,
    following,
    fresh_fingerprint,
    stream_versions,
    wait_until,
)

Sessions = async_sessionmaker[AsyncSession]
WRITERS = 4
PER_WRITER = 250  # writes: a physician and then its agreement, 125 times


async def test_1000_writes_from_4_writers_reach_every_follower_exactly(
    db: Sessions, admin: Admin, redis_srv: RedisServer, procs: Procs
) -> None:
    await admin.world(0)
    procs.relay()
    probe = procs.probe()
    await probe.event("ready", 30)
    store = RecordingStore()
    async with following(store, redis_srv.url, db, block_ms=500) as follower:
        v0 = await db_version(db)

        async def writer(w: int) -> None:
            for i in range(PER_WRITER // 2):
                await admin.physician(10_000 * (w + 1) + i)

        await asyncio.wait_for(asyncio.gather(*(writer(w) for w in range(WRITERS))), 120)
        last = await db_version(db)
        assert last == v0 + WRITERS * PER_WRITER
        await wait_until(lambda: store.version == last, 30, "the in-process follower")
        await wait_until(lambda: probe.version() == last, 30, "the follower process")
        assert follower.loads == 1 and store.applied == list(range(v0 + 1, last + 1))
        fresh = await fresh_fingerprint(db)
        assert fingerprint(store.registry) == fresh
        probe.signal(signal.SIGUSR1)
        assert (await probe.event("fingerprint", 10, version=last))["sha256"] == fresh
    applied = [e["version"] for e in probe.events if e["event"] == "apply"]
    assert applied == list(range(applied[0], last + 1))
    redis = connect(redis_srv.url)
    try:
        versions = await stream_versions(redis)
    finally:
        await redis.aclose()
    assert versions == list(range(versions[0], last + 1))
