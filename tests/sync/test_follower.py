"""RedisFollower (in-process): admin writes reach every follower; start-up from Redis or
PostgreSQL; gaps reload the snapshot; freshness is confirmed only while the relay
vouches for it; the blocking read outlasts the socket timeout."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.registry.store import RegistryStore
from app.sync.follower import RedisFollower
from app.sync.probe import fingerprint
from app.sync.redis_keys import Keys, connect, entry_id, snapshot_version
from tests.sync.support import (
    Admin,
    RedisServer,
    db_version,
    following,
    fresh_fingerprint,
    judge,
    running_relay,
    wait_until,
)

Sessions = async_sessionmaker[AsyncSession]
KEYS = Keys()


async def test_an_admin_write_changes_the_decision_of_both_followers(
    db: Sessions, admin: Admin, redis_srv: RedisServer
) -> None:
    a, b = RegistryStore(), RegistryStore()
    async with (
        running_relay(db, redis_srv.url),
        following(a, redis_srv.url, db),
        following(b, redis_srv.url, db),
    ):
        [(code, agreement)] = await admin.world(1)
        await wait_until(lambda: judge(a, code) is judge(b, code) is None, 10, "both accept")
        await admin.suspend(agreement)
        await wait_until(
            lambda: judge(a, code) == judge(b, code) == "AGREEMENT_SUSPENDED", 10, "both reject"
        )
        await admin.resume(agreement)
        await wait_until(lambda: judge(a, code) is judge(b, code) is None, 10, "both accept")
        assert a.version == b.version == await db_version(db)


async def test_without_a_snapshot_the_first_follower_builds_and_publishes_one(
    db: Sessions, admin: Admin, redis_srv: RedisServer
) -> None:
    await admin.world(2)
    v = await db_version(db)
    first, second = RegistryStore(), RegistryStore()
    async with following(first, redis_srv.url, db) as f:  # no relay ever ran
        assert first.version == v and f.loads == 1
    redis = connect(redis_srv.url)
    try:
        assert await snapshot_version(redis, KEYS) == v
    finally:
        await redis.aclose()
    async with following(second, redis_srv.url):  # no database: Redis is enough now
        assert second.version == v
        assert fingerprint(second.registry) == await fresh_fingerprint(db)


async def test_entries_trimmed_away_make_the_follower_reload_the_snapshot(
    db: Sessions, admin: Admin, redis_srv: RedisServer
) -> None:
    store = RegistryStore()
    pairs = await admin.world(2)
    async with running_relay(db, redis_srv.url, snapshot_every=1) as relay:
        follower = RedisFollower(store, redis_srv.url, block_ms=100)
        try:
            await follower.load()
            v = store.version
            for _, agreement in pairs:
                await admin.suspend(agreement)
            await wait_until(lambda: relay.cursor == v + 2, 10, "the relay publishing")

            async def snapshot_at_end() -> bool:
                return await snapshot_version(follower.redis, KEYS) == v + 2

            await wait_until(snapshot_at_end, 10, "a snapshot at the end")
            await follower.redis.xtrim(KEYS.stream, minid=entry_id(v + 2), approximate=False)
            await follower.step()  # v+1 is gone: the stream jumps to v+2
            await follower.load()
            assert (follower.loads, store.version) == (2, v + 2)
            await follower.step()  # nothing new: an empty round vouched for by the relay
            assert store.age_seconds() < 1
        finally:
            await follower.stop()
    assert fingerprint(store.registry) == await fresh_fingerprint(db)


async def test_freshness_is_confirmed_only_while_the_relay_vouches(
    db: Sessions, admin: Admin, redis_srv: RedisServer
) -> None:
    store = RegistryStore()
    cfg: dict[str, Any] = {"head_ttl_ms": 400, "heartbeat_s": 0.05}
    async with (
        running_relay(db, redis_srv.url, **cfg),
        following(store, redis_srv.url, db, block_ms=100),
    ):
        await asyncio.sleep(1.0)
        assert store.age_seconds() < 0.5
    # The relay is gone: nobody vouches, so the registry ages (still loaded, still used).
    async with following(store, redis_srv.url, db, block_ms=100) as follower:
        await asyncio.sleep(1.5)
        assert store.age_seconds() > 0.8
        assert judge(store, "YB110101199001011234000000001") == "PHYSICIAN_UNREGISTERED"
        async with running_relay(db, redis_srv.url, **cfg):
            await wait_until(lambda: store.age_seconds() < 0.5, 5, "fresh again")
        assert follower.errors == 0


async def test_the_blocking_read_outlasts_the_socket_timeout(
    db: Sessions, admin: Admin, redis_srv: RedisServer
) -> None:
    """XREAD BLOCK 5.5 s on an idle stream, past redis-py's default 5 s socket timeout."""
    store = RegistryStore()
    async with (
        running_relay(db, redis_srv.url),
        following(store, redis_srv.url, db, block_ms=5500) as follower,
    ):
        await asyncio.sleep(6.5)
        assert follower.errors == 0
        [(code, _)] = await admin.world(1)
        await wait_until(lambda: judge(store, code) is None, 5, "the write applied")
        assert follower.errors == 0


async def test_with_redis_down_at_start_up_the_registry_comes_from_postgres(
    db: Sessions, admin: Admin, redis_srv: RedisServer
) -> None:
    [(code, agreement)] = await admin.world(1)
    redis_srv.kill()
    store = RegistryStore()
    async with following(store, redis_srv.url, db, block_ms=200):
        assert store.version == await db_version(db) and judge(store, code) is None
        redis_srv.start()
        async with running_relay(db, redis_srv.url):
            await admin.suspend(agreement)
            await wait_until(lambda: judge(store, code) == "AGREEMENT_SUSPENDED", 15, "reject")
    assert fingerprint(store.registry) == await fresh_fingerprint(db)
