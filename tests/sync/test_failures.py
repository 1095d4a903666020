"""Failures with real processes: Redis killed under load, the relay killed with kill -9
between commit and publish, a follower killed under load. Nothing lost, nothing applied
twice, the hot path never fails."""

from __future__ import annotations

import asyncio
import random
import signal
import time

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.registry.store import RegistryStore
from app.sync.probe import fingerprint
from app.sync.redis_keys import connect
from tests.sync.support import (
    DAY,
    INST,
    Admin,
    HotPath,
    Procs,
    RecordingStore,
    RedisServer,
    Writer,
    background,
    consecutive,
    db_version,
    following,
    fresh_fingerprint,
    stream_versions,
    wait_until,
)

Sessions = async_sessionmaker[AsyncSession]


async def test_redis_killed_under_load_keeps_deciding_and_loses_no_write(
    db: Sessions, admin: Admin, redis_srv: RedisServer, procs: Procs
) -> None:
    pairs = await admin.world(6)
    procs.relay()
    stores = [RegistryStore(), RegistryStore()]
    hot = HotPath(stores, [code for code, _ in pairs])
    writer = Writer(admin, pairs, pause=0.02)
    async with (
        following(stores[0], redis_srv.url, db, block_ms=200),
        following(stores[1], redis_srv.url, db, block_ms=200),
    ):
        v0 = await db_version(db)
        await wait_until(lambda: all(s.version == v0 for s in stores), 20, "followers at v0")
        async with background(hot.run(), writer.run()):
            await asyncio.sleep(1.0)
            redis_srv.kill()  # kill -9: the stream, the snapshot and the lock are gone
            judged, writes, down_at = hot.judged, writer.writes, time.monotonic()
            await asyncio.sleep(3.0)
            assert hot.judged > judged  # the hot path kept deciding from memory
            assert writer.writes > writes  # the admin API kept committing
            assert all(s.age_seconds() > 2.0 for s in stores)  # nobody vouches: it ages
            redis_srv.start()  # same port, empty
            await asyncio.sleep(2.0)
        assert hot.errors == 0
        written_while_down = writer.writes - writes
        last = await db_version(db)
        await wait_until(lambda: all(s.version == last for s in stores), 30, "catch-up")
        print(f"down {time.monotonic() - down_at:.1f}s, {written_while_down} writes meanwhile")
        fresh = await fresh_fingerprint(db)
        assert all(fingerprint(s.registry) == fresh for s in stores)
        await wait_until(lambda: all(s.age_seconds() < 2 for s in stores), 10, "fresh again")


async def test_relay_kill9_between_commit_and_publish_loses_nothing_and_repeats_nothing(
    db: Sessions, admin: Admin, redis_srv: RedisServer, procs: Procs
) -> None:
    pairs = await admin.world(4)
    store = RecordingStore()
    relay = procs.relay()
    async with following(store, redis_srv.url, db, block_ms=200) as follower:
        v0 = await db_version(db)
        await wait_until(lambda: store.version == v0, 20, "the follower at v0")
        # Commits the relay has not published when it dies: it is frozen, then killed.
        relay.signal(signal.SIGSTOP)
        writer = Writer(admin, pairs, pause=0)
        async with background(writer.run()):
            await wait_until(lambda: writer.writes >= 5, 10, "five commits")
        relay.kill()
        assert store.version == v0 < await db_version(db)
        relay = procs.relay()
        # Then kill -9 at random moments while commits keep coming.
        async with background(writer.run()):
            for _ in range(3):
                await asyncio.sleep(random.uniform(0.3, 1.5))
                relay.kill()
                await asyncio.sleep(random.uniform(0, 0.3))
                relay = procs.relay()
        last = await db_version(db)
        await wait_until(lambda: store.version == last, 30, "the follower at the end")
        assert follower.loads == 1  # never needed a reload: nothing was lost
    assert consecutive(store.applied) and store.applied == list(range(v0 + 1, last + 1))
    assert fingerprint(store.registry) == await fresh_fingerprint(db)
    redis = connect(redis_srv.url)
    try:
        versions = await stream_versions(redis)
    finally:
        await redis.aclose()
    assert versions == list(range(versions[0], last + 1))  # each version once, in order


async def test_a_follower_killed_under_load_restarts_ready_at_the_latest_version(
    db: Sessions, admin: Admin, redis_srv: RedisServer, procs: Procs
) -> None:
    pairs = await admin.world(4)
    procs.relay()
    load = ("--load", f"{INST}@{DAY.isoformat()}")
    probe = procs.probe(*load)
    first = await probe.event("ready", 30)
    writer = Writer(admin, pairs, pause=0.01)
    async with background(writer.run()):
        await probe.event("stats", 10)  # deciding and following under load
        await wait_until(lambda: probe.version() > first["version"] + 5, 10, "probe applying")
        probe.kill()
        await asyncio.sleep(0.5)  # commits keep coming while it is down
        probe = procs.probe(*load)
        ready = await probe.event("ready", 30)
        await asyncio.sleep(0.5)
    last = await db_version(db)
    assert ready["version"] <= last
    await wait_until(lambda: probe.version() == last, 20, "the restarted follower at the end")
    assert ready["seconds"] < 5
    probe.signal(signal.SIGUSR1)
    got = await probe.event("fingerprint", 10, version=last)
    assert got["sha256"] == await fresh_fingerprint(db)
