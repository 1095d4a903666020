"""The embedded profile in-process on a PostgreSQL database of its own (committed data:
the decision log and the gatekeeper's read side use their own connections)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from app.core.migrate import upgrade
from app.main import EmbeddedApp

TOKEN = "decisions-test-superuser-token-0001"
SU = {"Authorization": f"Bearer {TOKEN}"}


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
    monkeypatch.setenv("YBGATE_BOOTSTRAP_ADMIN_TOKEN", TOKEN)
    monkeypatch.setenv("YBGATE_DECISION_LOG_DIR", str(tmp_path / "decisions"))
    monkeypatch.setenv("YBGATE_IDEMPOTENCY_DIR", str(tmp_path / "msgids"))
    monkeypatch.delenv("YBGATE_REDIS_URL", raising=False)
    app = EmbeddedApp()
    async with app._running():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            yield c
