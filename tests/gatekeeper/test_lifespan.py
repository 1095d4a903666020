"""The gatekeeper as deployed without a caller-owned store: the lifespan loads the
registry (from the database, or from a snapshot file), follows changes, and logs decisions
into the migrated ``settlement_decisions`` table."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from app.core.migrate import upgrade
from app.gatekeeper import create_gatekeeper_app
from app.gatekeeper.decisions.spill import read_spill
from app.models import (
    Agreement,
    ApiToken,
    Institution,
    InstitutionTerm,
    Physician,
    Region,
    RegistryChange,
)
from app.registry.compact import Registry
from app.registry.facts import empty_patch
from app.registry.snapshot import write_snapshot
from tests.gatekeeper.conftest import DR_PLAIN, town
from tests.gatekeeper.world import agreement, physician, yb

CODE = yb(42)


@pytest.fixture
async def migrated_db(pg_url: str) -> AsyncIterator[str]:
    """A database of its own at ``alembic upgrade head``; dropped afterwards."""
    name = f"ybgate_gkdb_{secrets.token_hex(4)}"
    admin = create_async_engine(pg_url, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(pg_url).set(database=name).render_as_string(hide_password=False)
    await asyncio.to_thread(upgrade, url)
    try:
        yield url
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        await admin.dispose()


async def seed(url: str) -> None:
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        session = AsyncSession(bind=conn)
        session.add(Region(code="330100", name="杭州市", policy="zhejiang-2014"))
        await session.flush()
        session.add(Institution(code="H9", name="Hospital 9", region_code="330100"))
        await session.flush()
        session.add(InstitutionTerm(institution_code="H9", starts_on=date(2020, 1, 1)))
        session.add(Physician(code=CODE, certificate_no=CODE[2:], name="Dr 42"))
        await session.flush()
        session.add(
            Agreement(
                physician_code=CODE,
                institution_code="H9",
                region_code="330100",
                starts_on=date(2024, 1, 1),
            )
        )
        token_hash = hashlib.sha256(b"tok-h9").hexdigest()
        session.add(ApiToken(token_hash=token_hash, role="his", institution_code="H9"))
        await session.flush()
        await conn.execute(text("UPDATE registry_state SET version = 1 WHERE id = 1"))
    await engine.dispose()


async def publish_change(url: str, version: int, code: str) -> None:
    fact = physician(code, agreement("H9", "2024-01-01"))
    payload = {**empty_patch(version), "physicians": {code: fact}}
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        session = AsyncSession(bind=conn)
        session.add(RegistryChange(version=version, payload=payload))
        await session.flush()
        await conn.execute(text("UPDATE registry_state SET version = :v"), {"v": version})
    await engine.dispose()


@pytest.mark.pg
async def test_standalone_gatekeeper_on_postgresql(
    migrated_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seed(migrated_db)
    monkeypatch.setenv("YBGATE_DATABASE_URL", migrated_db)
    monkeypatch.setenv("YBGATE_DECISION_LOG_DIR", str(tmp_path / "spill"))
    monkeypatch.setenv("YBGATE_REGISTRY_MAX_AGE_S", "8")
    monkeypatch.delenv("YBGATE_SNAPSHOT_FILE", raising=False)
    monkeypatch.delenv("YBGATE_REDIS_URL", raising=False)
    monkeypatch.delenv("YBGATE_DECISION_LOG_SINK", raising=False)
    app = create_gatekeeper_app()
    async with app.lifespan():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gk") as client:
            for _ in range(200):
                if (await client.get("/readyz")).status_code == 200:
                    break
                await asyncio.sleep(0.05)
            assert (await client.get("/readyz")).json()["registry_version"] == 1
            body = {
                "settlement_id": "S-9",
                "institution_code": "H9",
                "lines": [
                    {"line_id": "1", "physician_code": CODE, "service_date": "2026-11-20"},
                    {"line_id": "2", "physician_code": yb(43), "service_date": "2026-11-20"},
                ],
            }
            r = await client.post(
                "/v1/settlements/validate", json=body, headers={"Authorization": "Bearer tok-h9"}
            )
            assert r.status_code == 200, r.text
            answer = r.json()
            assert [ln["reason"] for ln in answer["lines"]] == [None, "PHYSICIAN_UNREGISTERED"]
            # A committed change in the outbox reaches the registry (the database feed).
            await publish_change(migrated_db, 2, yb(43))
            for _ in range(200):
                if app.store.version == 2:
                    break
                await asyncio.sleep(0.05)
            r = await client.post(
                "/v1/settlements/validate", json=body, headers={"Authorization": "Bearer tok-h9"}
            )
            assert [ln["reason"] for ln in r.json()["lines"]] == [None, None]
            assert r.json()["registry_version"] == 2
    engine = create_async_engine(migrated_db)
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                text("SELECT outcome FROM settlement_decisions ORDER BY decision_id")
            )
        ).all()
    await engine.dispose()
    assert [r[0] for r in rows] == [2, 0]  # partial, accept (decision_codec.OUTCOMES)


async def test_snapshot_file_lifespan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, gk_env: Path
) -> None:
    path = tmp_path / "registry.snap"
    write_snapshot(Registry.from_patch(town(4)), path)
    monkeypatch.setenv("YBGATE_SNAPSHOT_FILE", str(path))
    monkeypatch.setenv("YBGATE_DECISION_LOG_SINK", "spill")
    app = create_gatekeeper_app()
    async with app.lifespan():
        assert app.store.version == 4
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gk") as client:
            assert (await client.get("/readyz")).status_code == 200
            body = {
                "settlement_id": "S",
                "institution_code": "H1",
                "lines": [
                    {"line_id": "1", "physician_code": DR_PLAIN, "service_date": "2026-11-20"}
                ],
            }
            r = await client.post(
                "/v1/settlements/validate", json=body, headers={"Authorization": "Bearer tok-h1"}
            )
            assert r.json()["registry_version"] == 4
    spilled = list((tmp_path / "spill").glob("spill-*.ybz"))
    assert len(spilled) == 1
    records, _ = read_spill(".ybz", spilled[0].read_bytes())
    assert [r.institution_code for r in records] == ["H1"]
