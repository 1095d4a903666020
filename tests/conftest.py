"""Fixtures: real PostgreSQL and Redis started by `make test` (scripts/testenv.sh).

The schema is made once by `alembic upgrade head`; every test runs in a transaction that
is rolled back (the app's own commits become savepoints inside it).
"""

from __future__ import annotations

import asyncio
import base64
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from app.admin.app import create_admin_app
from app.auth.principal import Principal, Role
from app.core.migrate import upgrade
from app.main import EmbeddedApp
from app.registry.store import RegistryStore
from app.sync.inprocess import InProcessFeed
from app.tokens import service as tokens
from app.uow import unit_of_work

# The production profile (PostgreSQL or Redis) refuses to start without a secrets key
# (app/core/secrets.py): the suite's processes share this one.
TEST_SECRETS_KEY = base64.b64encode(b"ybgate-test-secrets-key-32-bytes").decode()
os.environ.setdefault("YBGATE_SECRETS_KEY", TEST_SECRETS_KEY)


def _env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set: run the suite with `make test`", pytrace=False)
    return value


@pytest.fixture(scope="session")
def pg_url() -> str:
    return _env("YBGATE_TEST_PG_URL")


@pytest.fixture(scope="session")
def redis_url() -> str:
    return _env("YBGATE_TEST_REDIS_URL")


@pytest.fixture(scope="session")
def migrated_pg_url(pg_url: str) -> str:
    """The test database at `alembic upgrade head` (run once per session)."""
    upgrade(pg_url)
    return pg_url


@pytest.fixture(scope="session")
async def engine(migrated_pg_url: str) -> AsyncIterator[AsyncEngine]:
    eng = create_async_engine(migrated_pg_url)
    yield eng
    await eng.dispose()


@pytest.fixture
async def conn(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    async with engine.connect() as connection:
        trans = await connection.begin()
        try:
            yield connection
        finally:
            await trans.rollback()


@pytest.fixture
def sessions(conn: AsyncConnection) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(
        bind=conn, expire_on_commit=False, autoflush=False, join_transaction_mode="create_savepoint"
    )


@pytest.fixture
def store() -> RegistryStore:
    return RegistryStore()


@pytest.fixture
async def admin_app(
    sessions: async_sessionmaker[AsyncSession], store: RegistryStore
) -> AsyncIterator[Any]:
    """The admin API with an in-process registry, as in the embedded profile."""
    app = create_admin_app()
    app.state.sessions = sessions
    app.state.feed = InProcessFeed(store, sessions)
    await app.state.feed.load()
    yield app


@pytest.fixture
async def client(admin_app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=admin_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


async def make_token(
    sessions: async_sessionmaker[AsyncSession],
    role: str,
    *,
    region: str | None = None,
    institution: str | None = None,
) -> dict[str, str]:
    async with unit_of_work(sessions, publish=False) as uow:
        created = await tokens.issue(
            uow.session, None, role, region=region, institution=institution
        )
    return {"Authorization": f"Bearer {created.token}"}


@pytest.fixture
async def su(sessions: async_sessionmaker[AsyncSession]) -> dict[str, str]:
    """Headers of a superuser token."""
    return await make_token(sessions, "superuser")


SYSTEM = Principal(token_id="system", role=Role.SUPERUSER)


# -- committed data: a PostgreSQL database of its own, the embedded app on it --------------
LIVE_TOKEN = "decisions-test-superuser-token-0001"


@pytest.fixture
async def fresh_db(pg_url: str) -> AsyncIterator[str]:
    url = make_url(pg_url)
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(
        host=url.host, port=url.port, user=url.username, database=url.database
    )
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture
async def live(
    fresh_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the embedded app (admin API and gatekeeper on one registry)."""
    await asyncio.to_thread(upgrade, fresh_db)
    monkeypatch.setenv("YBGATE_DATABASE_URL", fresh_db)
    monkeypatch.setenv("YBGATE_BOOTSTRAP_ADMIN_TOKEN", LIVE_TOKEN)
    monkeypatch.setenv("YBGATE_DECISION_LOG_DIR", str(tmp_path / "decisions"))
    monkeypatch.setenv("YBGATE_IDEMPOTENCY_DIR", str(tmp_path / "msgids"))
    monkeypatch.delenv("YBGATE_REDIS_URL", raising=False)
    app = EmbeddedApp()
    async with app._running():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            yield c
