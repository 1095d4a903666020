"""PostgreSQL down (a server of this test's own, scripts/testenv.sh, crashed with
``pg_ctl -m immediate``): the follower keeps deciding and its registry ages; the relay
retries and, once PostgreSQL is back, publishes what was committed before, in order."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url

from app.admin.app import create_admin_app
from app.core.db import create_engine, create_sessionmaker
from app.core.migrate import upgrade
from app.registry.store import RegistryStore
from app.sync.probe import fingerprint
from app.tokens import service as tokens
from app.uow import unit_of_work
from tests.sync.support import (
    REPO,
    Admin,
    Procs,
    db_version,
    following,
    fresh_fingerprint,
    judge,
    wait_until,
)


class OwnServers:
    def __init__(self) -> None:
        # Not under pytest's tmp_path: PostgreSQL runs as the postgres user when we are
        # root, and needs to reach its directory.
        self.dir = Path(tempfile.mkdtemp(prefix="ybsync-pg-"))
        subprocess.run(
            [str(REPO / "scripts/testenv.sh"), "start", str(self.dir)], check=True, timeout=120
        )
        env = dict(
            line.removeprefix("export ").split("=", 1)
            for line in (self.dir / "env").read_text().splitlines()
        )
        self.pg_url, self.redis_url = env["YBGATE_TEST_PG_URL"], env["YBGATE_TEST_REDIS_URL"]
        self.pg_bin = env["YBGATE_TEST_PG_BIN"]
        # testenv.sh runs PostgreSQL with synchronous_commit=off, which loses the last
        # acknowledged commits on a crash: restart it durable, as in production.
        self._pg_ctl("-m", "fast", "-w", "stop")
        self.start_pg()

    def _pg_ctl(self, *args: str) -> None:
        cmd = [f"{self.pg_bin}/pg_ctl", "-D", str(self.dir / "pg"), *args]
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, timeout=60, capture_output=True)

    def stop_pg(self) -> None:
        self._pg_ctl("-m", "immediate", "-w", "stop")

    def start_pg(self) -> None:
        port = make_url(self.pg_url).port
        opts = f"-h 127.0.0.1 -p {port} -k {self.dir} -c fsync=off -c max_connections=200"
        self._pg_ctl("-l", str(self.dir / "pg.log"), "-w", "-t", "60", "-o", opts, "start")

    def close(self) -> None:
        subprocess.run(
            [str(REPO / "scripts/testenv.sh"), "stop", str(self.dir)], timeout=60, check=False
        )
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def servers() -> Iterator[OwnServers]:
    own = OwnServers()
    try:
        yield own
    finally:
        own.close()


@pytest.fixture
async def admin_on(servers: OwnServers) -> AsyncIterator[Admin]:
    await asyncio.to_thread(upgrade, servers.pg_url)
    engine = create_engine(servers.pg_url)
    app = create_admin_app()
    app.state.sessions = create_sessionmaker(engine)
    async with unit_of_work(app.state.sessions, publish=False) as uow:
        su = (await tokens.issue(uow.session, None, "superuser")).token
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://admin") as client:
            yield Admin(client, {"Authorization": f"Bearer {su}"})
    finally:
        await engine.dispose()


async def test_postgres_down_the_registry_ages_and_nothing_committed_is_lost(
    servers: OwnServers, admin_on: Admin, tmp_path: Path
) -> None:
    admin = admin_on
    procs = Procs(tmp_path, servers.pg_url, servers.redis_url)
    engine = create_engine(servers.pg_url)
    db = create_sessionmaker(engine)
    store = RegistryStore()
    try:
        pairs = await admin.world(3)
        relay = procs.spawn("relay", "-m", "app.sync.relay", YBGATE_RELAY_HEAD_TTL_MS="1000")
        async with following(store, servers.redis_url, db, block_ms=200) as follower:
            v = await db_version(db)
            await wait_until(lambda: store.version == v, 20, "the follower at v")
            relay.signal(signal.SIGSTOP)  # commits it has not published yet...
            for _, agreement in pairs:
                await admin.suspend(agreement)
            await engine.dispose()
            servers.stop_pg()  # ...when PostgreSQL goes down
            relay.signal(signal.SIGCONT)
            await asyncio.sleep(3.0)
            assert store.version == v and store.age_seconds() > 1.5  # aging, still serving
            assert judge(store, pairs[0][0]) is None
            assert relay.alive() and follower.errors == 0  # Redis is fine: no failure there
            servers.start_pg()
            await wait_until(lambda: store.version == v + 3, 30, "the backlog published")
            assert judge(store, pairs[0][0]) == "AGREEMENT_SUSPENDED"
            await wait_until(lambda: store.age_seconds() < 1, 10, "fresh again")
            assert fingerprint(store.registry) == await fresh_fingerprint(db)
    finally:
        procs.cleanup()
        await engine.dispose()
