"""The relay (in-process): every committed version published once, in order, whatever
``published_at`` says and however many relays run; snapshots refreshed, the stream
trimmed only below them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.models import RegistryChange
from app.models.base import utcnow
from app.registry.store import RegistryStore
from app.sync.outbox import changes_after
from app.sync.probe import fingerprint
from app.sync.redis_keys import (
    PATCH_FIELD,
    Keys,
    connect,
    decode_patch,
    encode_patch,
    entry_id,
    snapshot_version,
)
from tests.sync.support import (
    Admin,
    RedisServer,
    db_version,
    following,
    fresh_fingerprint,
    running_relay,
    stream_versions,
    wait_until,
)

KEYS = Keys()
Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
async def redis(redis_srv: RedisServer) -> AsyncIterator[aioredis.Redis]:
    client = connect(redis_srv.url)
    yield client
    await client.aclose()


async def outbox(db: async_sessionmaker[AsyncSession]) -> list[bytes]:
    async with db() as session:
        return [encode_patch(p) for p in await changes_after(session, 0, 100_000)]


async def test_every_commit_published_once_in_order_with_payload_and_head(
    db: async_sessionmaker[AsyncSession],
    admin: Admin,
    redis_srv: RedisServer,
    redis: aioredis.Redis,
) -> None:
    async with running_relay(db, redis_srv.url) as relay:
        pairs = await admin.world(3)
        await admin.suspend(pairs[0][1])
        last = await db_version(db)
        await wait_until(lambda: relay.cursor == last, 10, "the relay at the last commit")
        await wait_until(lambda: relay.store.version == last, 10, "the relay's registry")
    assert await stream_versions(redis) == list(range(1, last + 1))
    entries = await redis.xrange(KEYS.stream)
    assert [encode_patch(decode_patch(f[PATCH_FIELD])) for _, f in entries] == await outbox(db)  # type: ignore[index, arg-type, union-attr]
    assert int(await redis.get(KEYS.head)) == last  # type: ignore[arg-type]
    assert await snapshot_version(redis, KEYS) is not None
    async with db() as session:
        unmarked = await session.scalar(
            select(func.count()).where(RegistryChange.published_at.is_(None))
        )
    assert unmarked == 0
    assert fingerprint(relay.store.registry) == await fresh_fingerprint(db)


async def test_restart_continues_from_the_stream_not_from_published_at(
    db: async_sessionmaker[AsyncSession],
    admin: Admin,
    redis_srv: RedisServer,
    redis: aioredis.Redis,
) -> None:
    async with running_relay(db, redis_srv.url) as relay:
        pairs = await admin.world(2)
        v = await db_version(db)
        await wait_until(lambda: relay.cursor == v, 10, "the relay at the last commit")
    # While no relay runs: three commits. The first one "was published by a relay that
    # died before marking it"; the other two "were marked but never published".
    for _, agreement in pairs:
        await admin.suspend(agreement)
    await admin.resume(pairs[0][1])
    assert await db_version(db) == v + 3
    async with db() as session:
        (first,) = await changes_after(session, v, 1)
    await redis.xadd(KEYS.stream, {PATCH_FIELD: encode_patch(first)}, id=entry_id(v + 1))
    async with db() as session, session.begin():
        await session.execute(
            update(RegistryChange)
            .where(RegistryChange.version > v + 1)
            .values(published_at=utcnow())
        )
    async with running_relay(db, redis_srv.url) as relay:
        await wait_until(lambda: relay.cursor == v + 3, 10, "the backlog published")
    assert await stream_versions(redis) == list(range(1, v + 4))
    entries = await redis.xrange(KEYS.stream)
    assert [encode_patch(decode_patch(f[PATCH_FIELD])) for _, f in entries] == await outbox(db)  # type: ignore[index, arg-type, union-attr]


async def test_two_relays_at_once_publish_each_version_exactly_once(
    db: async_sessionmaker[AsyncSession],
    admin: Admin,
    redis_srv: RedisServer,
    redis: aioredis.Redis,
) -> None:
    """Without the lock (as if it had been lost): Redis refuses the loser's entries."""
    async with (
        running_relay(db, redis_srv.url, use_lock=False, poll_s=0.001) as a,
        running_relay(db, redis_srv.url, use_lock=False, poll_s=0.001) as b,
    ):
        pairs = await admin.world(4)
        for _ in range(5):
            for _, agreement in pairs:
                await admin.suspend(agreement)
            for _, agreement in pairs:
                await admin.resume(agreement)
        last = await db_version(db)
        await wait_until(lambda: a.cursor == b.cursor == last, 10, "both relays at the end")
    assert await stream_versions(redis) == list(range(1, last + 1))
    entries = await redis.xrange(KEYS.stream)
    assert [encode_patch(decode_patch(f[PATCH_FIELD])) for _, f in entries] == await outbox(db)  # type: ignore[index, arg-type, union-attr]


async def test_the_lock_lets_one_relay_work_and_passes_on_when_it_stops(
    db: async_sessionmaker[AsyncSession],
    admin: Admin,
    redis_srv: RedisServer,
    redis: aioredis.Redis,
) -> None:
    async with running_relay(db, redis_srv.url, wait_ready=False, lock_ttl_ms=1000) as b:
        async with running_relay(db, redis_srv.url, wait_ready=False, lock_ttl_ms=1000) as a:
            await wait_until(lambda: a.store.loaded or b.store.loaded, 10, "one relay working")
            working, standby = (a, b) if a.store.loaded else (b, a)
            await admin.world(1)
            v = await db_version(db)
            await wait_until(lambda: working.cursor == v, 10, "one relay publishing")
            assert (await redis.get(KEYS.lock)).decode() == working.token  # type: ignore[union-attr]
            assert standby.cursor == 0 and not standby.store.loaded
        if working is a:  # it stopped and released the lock: the other one takes over
            await wait_until(lambda: b.cursor == v, 10, "relay B taking over")
        await admin.physician(7)
        await wait_until(lambda: b.cursor == v + 2, 10, "relay B publishing")
    assert await stream_versions(redis) == list(range(1, v + 3))


async def test_snapshots_refresh_and_the_stream_is_trimmed_only_below_them(
    db: async_sessionmaker[AsyncSession],
    admin: Admin,
    redis_srv: RedisServer,
    redis: aioredis.Redis,
) -> None:
    cfg: dict[str, Any] = {
        "snapshot_every": 10,
        "keep_before_snapshot": 5,
        "snapshot_interval_s": 0.2,
    }
    async with running_relay(db, redis_srv.url, **cfg) as relay:
        pairs = await admin.world(5)
        for _ in range(6):
            for _, agreement in pairs:
                await admin.suspend(agreement)
            for _, agreement in pairs:
                await admin.resume(agreement)
        last = await db_version(db)
        await wait_until(lambda: relay.cursor == last, 10, "the relay at the last commit")

        async def snapshot_at_last() -> bool:
            return await snapshot_version(redis, KEYS) == last

        await wait_until(snapshot_at_last, 10, "a snapshot of the last version")
        versions = await stream_versions(redis)
    assert versions == list(range(versions[0], last + 1))  # contiguous up to the end
    assert 1 < versions[0] <= last - 5  # trimmed, but never the 5 below the snapshot
    store = RegistryStore()
    async with following(store, redis_srv.url) as follower:  # no database: Redis only
        assert store.version == last and follower.loads == 1
        assert fingerprint(store.registry) == await fresh_fingerprint(db)


async def test_a_relay_refuses_a_redis_ahead_of_the_database(
    db: async_sessionmaker[AsyncSession],
    admin: Admin,
    redis_srv: RedisServer,
    redis: aioredis.Redis,
) -> None:
    await redis.xadd(KEYS.stream, {PATCH_FIELD: b"{}"}, id=entry_id(999))
    async with running_relay(db, redis_srv.url, wait_ready=False) as relay:
        await admin.world(1)
        await asyncio.sleep(1.0)
        assert not relay.store.loaded and relay.cursor == 0
    assert await stream_versions(redis) == [999]


async def test_a_relay_refuses_a_stream_whose_last_entry_the_outbox_has_differently(
    db: Sessions, admin: Admin, redis_srv: RedisServer, redis: aioredis.Redis
) -> None:
    """As after a failover to a replica that lost the last commits, and new ones since."""
    await admin.world(1)
    v = await db_version(db)
    async with db() as session:
        (last,) = await changes_after(session, v - 1, 1)
    other = dict(last, physicians={}, institutions={})
    await redis.xadd(KEYS.stream, {PATCH_FIELD: encode_patch(other)}, id=entry_id(v))
    async with running_relay(db, redis_srv.url, wait_ready=False) as relay:
        await admin.physician(9)
        await asyncio.sleep(1.0)
        assert not relay.ready.is_set()
    assert await stream_versions(redis) == [v]


async def test_an_outbox_gap_is_bridged_by_a_snapshot(
    db: async_sessionmaker[AsyncSession],
    admin: Admin,
    redis_srv: RedisServer,
    redis: aioredis.Redis,
) -> None:
    store = RegistryStore()
    async with running_relay(db, redis_srv.url) as relay:
        pairs = await admin.world(2)
        v = await db_version(db)
        await wait_until(lambda: relay.cursor == v, 10, "the relay at the last commit")
    async with following(store, redis_srv.url, block_ms=100) as follower:
        await wait_until(lambda: store.version == v, 10, "the follower at the last commit")
        for _, agreement in pairs:
            await admin.suspend(agreement)
        await admin.resume(pairs[0][1])
        async with db() as session, session.begin():  # an operator deleted a row
            await session.execute(delete(RegistryChange).where(RegistryChange.version == v + 1))
        async with running_relay(db, redis_srv.url):
            await wait_until(lambda: store.version == v + 3, 10, "the follower past the gap")
        assert follower.loads == 2
        assert fingerprint(store.registry) == await fresh_fingerprint(db)
    assert await stream_versions(redis) == [*range(1, v + 1), v + 2, v + 3]
