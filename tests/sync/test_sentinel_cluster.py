"""Redis that survives its master, in the production profile: a master, its replica and
three Sentinels (``make run-prod``'s topology); the admin API, the relay and two
gatekeepers as processes, all given the ``redis+sentinel://`` URL. The master is killed
(SIGKILL) while HIS requests and admin writes flow. Throughout, both gatekeepers answer
from memory; after the failover they follow the promoted replica, and every admin write
made before, during and after the failover reaches both: the relay re-reads the new
master's stream top and publishes from the outbox whatever the feed missed (entries the
replica had not received when its master died, writes committed during the failover)."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.sync.snapshot_store import build_from_database
from tests.sync.cluster import Cluster, SentinelTopology, hammer, start_cluster
from tests.sync.support import (
    DAY,
    INST,
    Procs,
    Writer,
    background,
    db_version,
    free_port,
    wait_until,
)

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="no redis-server")
Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
def sentinels(tmp_path: Path) -> Iterator[SentinelTopology]:
    topology = SentinelTopology(tmp_path / "redis")
    try:
        yield topology
    finally:
        topology.stop()


@pytest.fixture
async def sentinel_cluster(
    tmp_path: Path, fresh_db: str, sentinels: SentinelTopology
) -> AsyncIterator[Cluster]:
    await wait_until(sentinels.settled, 30, "the Sentinels to know the replica and each other")
    procs = Procs(tmp_path, fresh_db, sentinels.url)
    try:
        async with start_cluster(procs) as cluster:
            yield cluster
    finally:
        procs.cleanup()


async def database_answers(db: Sessions, codes: list[str]) -> dict[str, str | None]:
    """What the committed registry says of each physician (reason, None = eligible)."""
    registry = await build_from_database(db)
    return {code: registry.context(INST).judge_code(code, DAY)[0].reason for code in codes}


async def test_master_killed_under_load_gatekeepers_answer_and_no_write_is_lost(
    sentinel_cluster: Cluster, sentinels: SentinelTopology, db: Sessions
) -> None:
    cluster = sentinel_cluster
    pairs = await cluster.admin.world(6)
    codes = [code for code, _ in pairs]
    cluster.his = {"Authorization": f"Bearer {await cluster.admin.his_token()}"}
    ports = [free_port(), free_port()]
    for port in ports:
        cluster.start_gatekeeper(port)
    for port in ports:
        await cluster.ready(port)
    stats = {"ok": 0, "failed": 0}
    writer = Writer(cluster.admin, pairs, pause=0.02)
    old = sentinels.master.port
    async with background(hammer(cluster, ports, codes, stats), writer.run()):
        await wait_until(lambda: writer.writes >= 10, 30, "writes before the kill")
        sentinels.master.kill()  # SIGKILL under load
        served, writes = stats["ok"], writer.writes
        new = await wait_until(
            lambda: (p := sentinels.master_port()) != old and p, 60, "the Sentinels' failover"
        )
        assert new == sentinels.replica.port
        assert writer.writes > writes  # the admin API kept committing meanwhile
        assert stats["ok"] > served  # and the gatekeepers kept answering
        during = writer.writes
        await wait_until(lambda: writer.writes >= during + 10, 30, "writes after the failover")
        for port in ports:
            await cluster.ready(port, within=5)
    assert stats["failed"] == 0
    last = await db_version(db)
    expected = await database_answers(db, codes)
    for port in ports:

        async def caught_up(port: int = port) -> bool:
            docs = [await cluster.eligibility(port, code) for code in codes]
            return (
                all(d["registry_version"] == last for d in docs)
                and {code: d["reason"] for code, d in zip(codes, docs, strict=True)} == expected
            )

        await wait_until(caught_up, 30, f"gatekeeper :{port} at the last version", 0.1)
    print(f"failover to :{new}; {writer.writes} writes, {stats['ok']} answers, 0 failed")
