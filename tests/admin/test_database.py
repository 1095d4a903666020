"""Migrations round-trip, and concurrent writers on real PostgreSQL (committed data, in a
database of its own)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy import inspect
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from app.admin.app import create_admin_app
from app.core.db import create_engine, create_sessionmaker
from app.core.migrate import downgrade, upgrade
from app.tokens import service as tokens
from app.uow import unit_of_work
from tests.admin import flows


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


async def _tables(url: str) -> set[str]:
    engine = create_async_engine(url)
    async with engine.connect() as conn:
        names = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
    await engine.dispose()
    return names - {"alembic_version"}


async def test_upgrade_downgrade_upgrade_again(fresh_db: str) -> None:
    await asyncio.to_thread(upgrade, fresh_db)
    created = await _tables(fresh_db)
    assert {
        "physicians",
        "agreements",
        "agreement_suspensions",
        "audit_log",
        "violations",
    } <= created
    await asyncio.to_thread(downgrade, fresh_db, "base")
    assert await _tables(fresh_db) == set()
    await asyncio.to_thread(upgrade, fresh_db)
    assert await _tables(fresh_db) == created


async def test_50_concurrent_deductions_count_once_and_fire_each_threshold_once(
    fresh_db: str,
) -> None:
    """zhejiang-2014 三（二）: 50 one-point deductions at once → 50 points; interview,
    pending suspension and termination each exactly once."""
    await asyncio.to_thread(upgrade, fresh_db)
    engine = create_engine(fresh_db)
    app = create_admin_app()
    app.state.sessions = create_sessionmaker(engine)
    async with unit_of_work(app.state.sessions, publish=False) as uow:
        su_token = (await tokens.issue(uow.session, None, "superuser")).token
    su = {"Authorization": f"Bearer {su_token}"}
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            w = await flows.world(c, su)

            async def deduct(n: int) -> Any:
                body = {
                    "physician_code": w["code"],
                    "region": "330100",
                    "item": "4.1",
                    "occurred_on": "2026-05-01",
                    "decided_on": "2026-05-06",
                }
                r = await c.post("/admin/v1/violations", json=body, headers=su)
                assert r.status_code == 201, r.text
                return r.json()

            results = await asyncio.gather(*(deduct(n) for n in range(50)))
            fired = sorted(a["type"] for res in results for a in res["actions"])
            assert fired == ["interview", "suspend", "terminate"]
            assert sorted(r["standing"]["deducted"] for r in results) == list(range(1, 51))
            doc = (
                await c.get(
                    f"/admin/v1/physicians/{w['code']}", params={"as_of": "2026-12-31"}, headers=su
                )
            ).json()
            (period,) = [p for p in doc["points"] if p["period"] == "2026"]
            assert period["deducted"] == 50
            r = await c.get("/admin/v1/actions", params={"physician": w["code"]}, headers=su)
            assert sorted(a["type"] for a in r.json()["items"]) == [
                "interview",
                "suspend",
                "terminate",
            ]
    finally:
        await engine.dispose()
