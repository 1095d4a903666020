"""The decision log over time, on PostgreSQL: rows logged before the compact encoding are
converted by the migration and read back the same; days past the hot window leave the
table for a Parquet file (detached, exported, dropped), are still found by settlement,
institution and physician (DuckDB over the files), and can be restored — also through
``ybgate decisions archive|query|restore`` as docs/capacity.md shows them."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from app.auth.principal import Principal, Role
from app.core.migrate import downgrade, upgrade
from app.decisions import archive, service
from app.decisions.schemas import DecisionPage
from app.gatekeeper.decisions.sink import Sink
from app.models import partitions
from app.registry import decision_codec as codec
from app.registry.decision_archive import Filters, query
from app.registry.history import get_decision

pytestmark = pytest.mark.pg
TODAY = datetime.now(UTC).date()
DOC_A, DOC_B = "YB620102198001010000000001", "YB620102198001010000000002"


@pytest.fixture
async def fresh_db(pg_url: str) -> AsyncIterator[str]:
    name = f"ybgate_arch_{secrets.token_hex(4)}"
    admin = create_async_engine(pg_url, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(pg_url).set(database=name).render_as_string(hide_password=False)
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        await admin.dispose()


def decision(day: date, n: int, inst: str, doc: str) -> codec.Decision:
    ms = int(datetime(day.year, day.month, day.day, 3, tzinfo=UTC).timestamp() * 1000) + n
    did = str(uuid.UUID(int=(ms << 80) | (0x7 << 76) | (0x8 << 60) | n))
    lines = [{"line_id": str(i + 1), "decision": "accept", "reason": None} for i in range(20)]
    inputs = [(doc, day.isoformat(), False)] * 20
    amounts = ("200.00", "0.00")
    return codec.from_lines(did, f"S-{day}-{n}", inst, 5, "accept", amounts, lines, inputs)


async def test_migration_converts_logged_rows(fresh_db: str) -> None:
    await _to_thread(upgrade, fresh_db, "0010_console")
    engine = create_async_engine(fresh_db)
    did = "019ae2b4-6c00-7000-8000-000000000001"  # 2025-12-01
    lines = [
        {"line_id": "7", "decision": "reject", "reason": "AGREEMENT_SUSPENDED"},
        {"line_id": "9", "decision": "accept", "reason": None},
    ]
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO settlement_decisions (decision_id, settlement_id, institution_code,"
                " registry_version, decided_at, outcome, accepted_amount, rejected_amount,"
                " lines, inputs, upstream_infcode) VALUES (:d, 'S-OLD', 'H1', 3,"
                " '2025-12-01T03:00:00Z', 'partial', '-1.50', '12.00', CAST(:l AS jsonb),"
                " CAST(:i AS jsonb), -1)"
            ),
            {
                "d": did,
                "l": json.dumps(lines),
                "i": json.dumps([[DOC_A, "2025-11-30", False], [DOC_B, "2025-11-30", True]]),
            },
        )
    await engine.dispose()
    await _to_thread(upgrade, fresh_db, "head")
    engine = create_async_engine(fresh_db)
    async with async_sessionmaker(engine)() as session:
        row = await get_decision(session, did, "H1")
        assert row is not None
        assert (row.settlement_id, codec.money(row.accepted_cents)) == ("S-OLD", "-1.50")
        assert (row.upstream_infcode, row.upstream_error) == (-1, None)  # 前置 mode kept
        got, inputs = codec.decode_lines(row.encoded_lines, row.physicians)
        assert got == lines
        assert inputs == [[DOC_A, "2025-11-30", False], [DOC_B, "2025-11-30", True]]
        assert await get_decision(session, did) is not None  # without the institution
    async with engine.connect() as conn:
        parts = {r[0] for r in (await conn.execute(text(partitions.LIST_SQL))).all()}
    await engine.dispose()
    assert partitions.name_of(date(2025, 12, 1)) in parts
    assert partitions.name_of(TODAY + timedelta(days=7)) in parts
    await _to_thread(downgrade, fresh_db, "0010_console")  # and back, as it was
    engine = create_async_engine(fresh_db)
    async with engine.connect() as conn:
        back = (
            await conn.execute(
                text(
                    "SELECT decision_id, outcome, accepted_amount, lines FROM settlement_decisions"
                )
            )
        ).one()
    await engine.dispose()
    assert tuple(back) == (did, "partial", "-1.50", lines)


async def test_old_days_are_archived_found_and_restored(fresh_db: str, tmp_path: Path) -> None:
    await _to_thread(upgrade, fresh_db, "head")
    engine = create_async_engine(fresh_db)
    old = TODAY - timedelta(days=200)
    sink = Sink(engine)
    async with engine.begin() as conn:
        await conn.execute(text(partitions.create_sql(old)))
    await sink.write([decision(old, n, "H1" if n % 2 else "H2", DOC_A) for n in range(50)])
    await sink.write([decision(TODAY, n, "H1", DOC_B) for n in range(10)])

    done = await archive.archive(engine, tmp_path, 180, TODAY)
    assert [(a.day, a.rows) for a in done] == [(old, 50)]
    async with engine.connect() as conn:
        count = (await conn.execute(text("SELECT count(*) FROM settlement_decisions"))).scalar()
        parts = {r[0] for r in (await conn.execute(text(partitions.LIST_SQL))).all()}
    assert count == 10 and partitions.name_of(old) not in parts
    assert await archive.archive(engine, tmp_path, 180, TODAY) == []  # idempotent

    by_sid = query(tmp_path, Filters(settlement_id=f"S-{old}-7"), 20)
    assert [r.settlement_id for r in by_sid] == [f"S-{old}-7"]
    by_doc = query(tmp_path, Filters(physician_codes=[DOC_A], institution_codes=["H2"]), 100)
    assert len(by_doc) == 25
    assert by_doc == sorted(by_doc, key=lambda r: r.decision_id, reverse=True)
    lines, _ = codec.decode_lines(by_doc[0].encoded_lines, by_doc[0].physicians)
    assert len(lines) == 20

    assert await archive.restore(engine, tmp_path, old) == 50
    async with engine.connect() as conn:
        count = (await conn.execute(text("SELECT count(*) FROM settlement_decisions"))).scalar()
    await engine.dispose()
    assert count == 60


async def test_old_days_in_the_default_partition_are_archived_too(
    fresh_db: str, tmp_path: Path
) -> None:
    """Rows of a past day without a partition of its own (converted from before the
    partitioning, or a spilled decision replayed after its day was archived) sit in the
    default partition: the archive takes them out by id range, into the day's file,
    merged with what that file already held."""
    await _to_thread(upgrade, fresh_db, "head")
    engine = create_async_engine(fresh_db)
    old, older = TODAY - timedelta(days=200), TODAY - timedelta(days=300)
    hot = TODAY - timedelta(days=10)  # inside the hot window: stays where it is
    sink = Sink(engine)
    async with engine.begin() as conn:
        await conn.execute(text(partitions.create_sql(old)))
    await sink.write([decision(old, n, "H1", DOC_A) for n in range(20)])
    await sink.write([decision(older, n, "H2", DOC_B) for n in range(7)])  # no partition
    await sink.write([decision(hot, n, "H1", DOC_B) for n in range(4)])  # no partition
    done = await archive.archive(engine, tmp_path, 180, TODAY)
    assert sorted((a.day, a.rows) for a in done) == [(older, 7), (old, 20)]

    # A decision of the archived day, replayed late (and one replayed twice): default.
    await sink.write([decision(old, n, "H2", DOC_B) for n in range(20, 23)], replay=True)
    await sink.write([decision(old, 5, "H1", DOC_A)], replay=True)
    assert [(a.day, a.rows) for a in await archive.archive(engine, tmp_path, 180, TODAY)] == [
        (old, 4)
    ]
    async with engine.connect() as conn:
        left = (await conn.execute(text(f"SELECT decision_id FROM {partitions.DEFAULT}"))).scalars()
        left_days = sorted({codec.decided_at(d).date() for d in left})
    assert left_days == [hot]
    assert await archive.archive(engine, tmp_path, 180, TODAY) == []  # idempotent

    old_rows = query(
        tmp_path,
        Filters(since=_midnight(old), until=_midnight(old + timedelta(days=1))),
        100,
    )
    assert sorted(r.settlement_id for r in old_rows) == sorted(f"S-{old}-{n}" for n in range(23))
    by_doc = query(tmp_path, Filters(physician_codes=[DOC_B]), 100)
    assert len(by_doc) == 7 + 3
    assert await archive.restore(engine, tmp_path, old) == 23
    assert await archive.restore(engine, tmp_path, older) == 7
    async with engine.connect() as conn:
        count = (await conn.execute(text("SELECT count(*) FROM settlement_decisions"))).scalar()
    await engine.dispose()
    assert count == 23 + 7 + 4


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


async def test_the_documented_commands(fresh_db: str, tmp_path: Path) -> None:
    await _to_thread(upgrade, fresh_db, "head")
    engine = create_async_engine(fresh_db)
    old = TODAY - timedelta(days=200)
    async with engine.begin() as conn:
        await conn.execute(text(partitions.create_sql(old)))
    await Sink(engine).write([decision(old, n, "H1", DOC_A) for n in range(12)])
    await engine.dispose()
    env = {
        **os.environ,
        "YBGATE_DATABASE_URL": fresh_db,
        "YBGATE_DECISION_ARCHIVE_DIR": str(tmp_path / "archive"),
        "YBGATE_DECISION_HOT_DAYS": "180",
    }

    def ybgate(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "app.cli", "decisions", *args],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout

    assert f"{old} 12 decisions" in ybgate("archive")
    found = [
        json.loads(x)
        for x in ybgate("query", "--physician-code", DOC_A, "--limit", "5").splitlines()
    ]
    assert len(found) == 5 and {d["institution_code"] for d in found} == {"H1"}
    assert found[0]["lines"][0]["inputs"] == [DOC_A, old.isoformat(), False]
    assert "12 decisions restored" in ybgate("restore", old.isoformat())


async def test_admin_search_reads_hot_and_archived_days(
    fresh_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _to_thread(upgrade, fresh_db, "head")
    engine = create_async_engine(fresh_db)
    old = TODAY - timedelta(days=200)
    async with engine.begin() as conn:
        await conn.execute(text(partitions.create_sql(old)))
    sink = Sink(engine)
    await sink.write([decision(old, n, "H1", DOC_A) for n in range(3)])
    await sink.write([decision(TODAY, n, "H1", DOC_A) for n in range(2)])
    await archive.archive(engine, tmp_path, 180, TODAY)
    monkeypatch.setenv("YBGATE_DECISION_ARCHIVE_DIR", str(tmp_path))
    su = Principal(token_id="t", role=Role.SUPERUSER)
    async with async_sessionmaker(engine)() as session:

        async def page(offset: int, **kw: Any) -> DecisionPage:
            args: dict[str, Any] = dict(
                settlement_id=None,
                institution_code=None,
                physician_code=None,
                since=None,
                until=None,
            )
            args.update(kw)
            return await service.list_decisions(session, su, limit=2, offset=offset, **args)

        first, second, third = await page(0), await page(2), await page(4)
        by_sid = await page(0, settlement_id=f"S-{old}-1")
        by_doc = await page(2, physician_code=DOC_A)
    await engine.dispose()
    days = [d["decided_at"][:10] for p in (first, second, third) for d in p.items]
    assert days == [TODAY.isoformat()] * 2 + [old.isoformat()] * 3  # newest first
    assert (first.next_offset, third.next_offset) == (2, None)
    assert [d["settlement_id"] for d in by_sid.items] == [f"S-{old}-1"]
    assert by_sid.items[0]["lines"][0]["physician_code"] == DOC_A  # explained on read
    assert [d["decided_at"][:10] for d in by_doc.items] == [old.isoformat()] * 2


async def _to_thread(fn: object, *args: str) -> None:
    import asyncio

    await asyncio.to_thread(fn, *args)  # type: ignore[arg-type]
