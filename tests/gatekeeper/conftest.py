"""Gatekeeper fixtures: a hand-made registry ("the town"), the app with its lifespan run,
and an httpx client over ASGITransport (real HTTP semantics, no sockets)."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.ext.asyncio import create_async_engine

from app.gatekeeper import GatekeeperApp, create_gatekeeper_app
from app.models.decisions import DecisionWithdrawal, SettlementDecision
from app.registry.facts import Patch
from app.registry.store import RegistryStore
from tests.gatekeeper.world import (
    ALL_REASONS,
    agreement,
    institution,
    patch,
    physician,
    region,
    visit,
    yb,
)

# Region R1 lets an emergency escape every reason; R2 only NOT_AT_INSTITUTION and
# PHYSICIAN_UNREGISTERED, and accepts only 24-digit certificates.
R2_PATTERN = r"^YB[0-9]{24}$"
TOKENS = {"tok-h1": "H1", "tok-h2": "H2", "tok-h3": "H3", "tok-h4": "H4"}

DR_PLAIN = yb(1)  # at H1 and H2 from 2024
DR_SUSPENDED = yb(2)  # at H1, suspended 2026-03-01..2026-03-31
DR_TERMINATED = yb(3)  # at H1, terminated from 2026-06-01
DR_CANCELLED = yb(4)  # at H1, code cancelled from 2026-02-01
DR_VISITING = yb(5)  # home H2; visiting H1 2026-01-01..2026-06-30
DR_ALIASED = yb(6)  # at H1, national alias D330100000006
DR_AT_H3 = yb(7)  # at H3 (suspended institution)
DR_AT_H4 = yb(8)  # at H4 (institution term ended)
DR_LONG = "YB" + "1" * 27  # 27 digits: well-formed in R1, malformed in R2; at H1 and H2
DR_VISIT_SUSP = yb(9)  # home H2 suspended in March; visiting H1 all of 2026
ALIAS = "D330100000006"


def town(version: int = 1) -> Patch:
    return patch(
        version,
        [
            physician(DR_PLAIN, agreement("H1", "2024-01-01"), agreement("H2", "2024-01-01")),
            physician(
                DR_SUSPENDED,
                agreement("H1", "2024-01-01", suspensions=[["2026-03-01", "2026-03-31"]]),
            ),
            physician(DR_TERMINATED, agreement("H1", "2024-01-01", terminated="2026-06-01")),
            physician(
                DR_CANCELLED,
                agreement("H1", "2024-01-01"),
                cancellations=[["2026-02-01", None]],
            ),
            physician(
                DR_VISITING,
                agreement("H2", "2024-01-01"),
                visits=[visit("H1", "2026-01-01", "2026-06-30")],
            ),
            physician(DR_ALIASED, agreement("H1", "2024-01-01"), national=ALIAS),
            physician(DR_AT_H3, agreement("H3", "2024-01-01")),
            physician(DR_AT_H4, agreement("H4", "2024-01-01")),
            physician(DR_LONG, agreement("H1", "2024-01-01"), agreement("H2", "2024-01-01")),
            physician(
                DR_VISIT_SUSP,
                agreement("H2", "2024-01-01", suspensions=[["2026-03-01", "2026-03-31"]]),
                visits=[visit("H1", "2026-01-01", "2026-12-31")],
            ),
        ],
        [
            institution("H1", "R1"),
            institution("H2", "R2"),
            institution("H3", "R1", suspensions=[["2026-04-01", "2026-04-30"]]),
            institution("H4", "R1", terms=[("2020-01-01", "2030-12-31", "2026-07-01")]),
        ],
        [
            region("R1", ALL_REASONS),
            region("R2", ["NOT_AT_INSTITUTION", "PHYSICIAN_UNREGISTERED"], R2_PATTERN),
        ],
        TOKENS,
    )


@pytest.fixture
def gk_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Settings for one app: a SQLite decision sink (with its table) and a spill dir."""
    db = tmp_path / "decisions.db"
    engine = create_engine(f"sqlite:///{db}")
    tables = SettlementDecision.metadata.tables
    SettlementDecision.metadata.create_all(
        engine,
        tables=[tables[m.__tablename__] for m in (SettlementDecision, DecisionWithdrawal)],
    )
    engine.dispose()
    monkeypatch.setenv("YBGATE_DATABASE_URL", f"sqlite+aiosqlite:///{db}")
    monkeypatch.setenv("YBGATE_DECISION_LOG_DIR", str(tmp_path / "spill"))
    monkeypatch.setenv("YBGATE_IDEMPOTENCY_DIR", str(tmp_path / "msgids"))
    monkeypatch.delenv("YBGATE_SNAPSHOT_FILE", raising=False)
    monkeypatch.delenv("YBGATE_DECISION_LOG_SINK", raising=False)
    monkeypatch.delenv("YBGATE_REDIS_URL", raising=False)
    yield db


@pytest.fixture
def store() -> RegistryStore:
    s = RegistryStore()
    s.replace(town())
    return s


@pytest.fixture
async def gk(gk_env: Path, store: RegistryStore) -> AsyncIterator[GatekeeperApp]:
    app = create_gatekeeper_app(store=store)
    async with app.lifespan():
        yield app


@pytest.fixture
async def client(gk: GatekeeperApp) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=gk)
    async with httpx.AsyncClient(transport=transport, base_url="http://gk") as c:
        yield c


def his(token: str = "tok-h1") -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def line(
    line_id: str,
    code: str,
    day: str = "2026-11-20",
    *,
    emergency: bool = False,
    amount: str | None = "10.00",
) -> dict[str, object]:
    out: dict[str, object] = {"line_id": line_id, "physician_code": code, "service_date": day}
    if emergency:
        out["emergency"] = True
    if amount is not None:
        out["amount"] = amount
    return out


def settlement(inst: str, *lines: dict[str, object], sid: str = "S-1") -> dict[str, object]:
    return {"settlement_id": sid, "institution_code": inst, "lines": list(lines)}


@pytest.fixture
async def pg_decisions(pg_url: str) -> AsyncIterator[str]:
    """A PostgreSQL database of its own holding the decision tables (decisions and
    withdrawals); dropped afterwards."""
    name = f"ybgate_gk_{secrets.token_hex(4)}"
    admin = create_async_engine(pg_url, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(pg_url).set(database=name).render_as_string(hide_password=False)
    engine = create_async_engine(url)
    tables = [
        SettlementDecision.metadata.tables[m.__tablename__]
        for m in (SettlementDecision, DecisionWithdrawal)
    ]
    async with engine.begin() as conn:
        await conn.run_sync(SettlementDecision.metadata.create_all, tables=tables)
    await engine.dispose()
    try:
        yield url
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        await admin.dispose()
