"""The production profile as processes: the admin API, the relay and two gatekeepers
(``python -m app.cli serve ...``) on PostgreSQL and Redis, checked from outside through
``GET /v1/physicians/{code}/eligibility`` with an HIS token."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.sync.cluster import Cluster, hammer, start_cluster
from tests.sync.support import (
    Procs,
    RedisServer,
    Writer,
    background,
    db_version,
    free_port,
    wait_until,
)

Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
async def cluster(procs: Procs) -> AsyncIterator[Cluster]:
    async with start_cluster(procs) as c:
        yield c


async def test_an_admin_write_changes_the_decision_of_both_gatekeepers(
    cluster: Cluster, db: Sessions
) -> None:
    [(code, agreement)] = await cluster.admin.world(1)
    cluster.his = {"Authorization": f"Bearer {await cluster.admin.his_token()}"}
    ports = [free_port(), free_port()]
    for port in ports:
        cluster.start_gatekeeper(port)
    for port in ports:
        await cluster.ready(port)
        assert (await cluster.eligibility(port, code))["eligible"] is True
    await cluster.admin.suspend(agreement)
    committed = time.monotonic()
    version = await db_version(db)
    for port in ports:

        async def rejected(port: int = port) -> bool:
            doc = await cluster.eligibility(port, code)
            return doc["reason"] == "AGREEMENT_SUSPENDED" and doc["registry_version"] == version

        await wait_until(rejected, 10, f"gatekeeper :{port} rejecting")
    print(
        f"visible on both gatekeepers {1000 * (time.monotonic() - committed):.0f} ms after commit"
    )


async def test_redis_killed_under_load_no_request_fails_and_no_write_is_lost(
    cluster: Cluster, db: Sessions, redis_srv: RedisServer
) -> None:
    pairs = await cluster.admin.world(4)
    cluster.his = {"Authorization": f"Bearer {await cluster.admin.his_token()}"}
    ports = [free_port(), free_port()]
    for port in ports:
        cluster.start_gatekeeper(port)
    for port in ports:
        await cluster.ready(port)
    stats = {"ok": 0, "failed": 0}
    writer = Writer(cluster.admin, pairs, pause=0.02)
    async with background(hammer(cluster, ports, [c for c, _ in pairs], stats), writer.run()):
        await asyncio.sleep(1.0)
        redis_srv.kill()
        served, writes = stats["ok"], writer.writes
        await asyncio.sleep(3.0)
        assert stats["ok"] > served and writer.writes > writes
        for port in ports:
            # still ready (well inside the 300 s max age); 5 s: an answer, not a speed
            await cluster.ready(port, within=5)
        redis_srv.start()
        await asyncio.sleep(1.0)
    assert stats["failed"] == 0
    last = await db_version(db)
    for port in ports:

        async def caught_up(port: int = port) -> bool:
            return (await cluster.eligibility(port, pairs[0][0]))["registry_version"] == last

        # a bound, not a speed: the follower retries Redis with back-off (up to 60 s
        # under a loaded machine before the outbox replay lands)
        await wait_until(caught_up, 60, f"gatekeeper :{port} caught up")


async def test_a_gatekeeper_killed_under_load_is_ready_again_at_the_latest_version(
    cluster: Cluster, db: Sessions
) -> None:
    pairs = await cluster.admin.world(4)
    cluster.his = {"Authorization": f"Bearer {await cluster.admin.his_token()}"}
    survivor, victim = free_port(), free_port()
    for port in (survivor, victim):
        cluster.start_gatekeeper(port)
        await cluster.ready(port)
    stats = {"ok": 0, "failed": 0}
    writer = Writer(cluster.admin, pairs, pause=0.01)
    codes = [c for c, _ in pairs]
    async with background(hammer(cluster, [survivor], codes, stats), writer.run()):
        await asyncio.sleep(1.0)
        cluster.gatekeepers[victim].kill()
        await asyncio.sleep(0.5)
        started = time.monotonic()
        cluster.start_gatekeeper(victim)
        await cluster.ready(victim)
        print(f"restarted gatekeeper ready in {time.monotonic() - started:.2f}s")
        await asyncio.sleep(0.5)
    assert stats["failed"] == 0
    last = await db_version(db)

    async def at_latest() -> bool:
        return (await cluster.eligibility(victim, codes[0]))["registry_version"] == last

    await wait_until(at_latest, 20, "the restarted gatekeeper at the latest version")
