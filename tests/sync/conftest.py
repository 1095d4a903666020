"""Fixtures of the sync tests: a committed database of the test's own (the relay, the
followers and child processes read what the admin API committed), a Redis server of the
test's own (to kill and restart), and a registry of child processes killed at the end."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.admin.app import create_admin_app
from app.core.db import create_engine, create_sessionmaker
from app.core.migrate import upgrade
from app.tokens import service as tokens
from app.uow import unit_of_work
from tests.sync.support import Admin, Procs, RedisServer


@pytest.fixture
async def fresh_db(pg_url: str) -> AsyncIterator[str]:
    """A database of this test's own at `alembic upgrade head` (dropped afterwards)."""
    url = make_url(pg_url)
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(
        host=url.host, port=url.port, user=url.username, database=url.database
    )
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        db_url = url.set(database=name).render_as_string(hide_password=False)
        await asyncio.to_thread(upgrade, db_url)
        yield db_url
    finally:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture
async def db(fresh_db: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(fresh_db)
    try:
        yield create_sessionmaker(engine)
    finally:
        await engine.dispose()


@pytest.fixture
def redis_srv(tmp_path: Path) -> Iterator[RedisServer]:
    # Small stream nodes, so that approximate trimming is visible with few entries.
    server = RedisServer(tmp_path / "redis", "--stream-node-max-entries", "8")
    server.start()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture
def procs(tmp_path: Path, fresh_db: str, redis_srv: RedisServer) -> Iterator[Procs]:
    registry = Procs(tmp_path, fresh_db, redis_srv.url)
    try:
        yield registry
    finally:
        registry.cleanup()


@pytest.fixture
async def admin(db: async_sessionmaker[AsyncSession]) -> AsyncIterator[Admin]:
    """The admin API on the test's database, as in the production profile (no feed:
    the outbox is all a write leaves behind for the registry)."""
    app = create_admin_app()
    app.state.sessions = db
    async with unit_of_work(db, publish=False) as uow:
        su = (await tokens.issue(uow.session, None, "superuser")).token
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://admin") as client:
        yield Admin(client, {"Authorization": f"Bearer {su}"})
