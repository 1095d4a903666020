"""`ybgate calendar load FILE` against a database of its own (it commits)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from app.calendar.cli import load_file
from app.calendar.service import work_calendar
from app.core.db import create_engine, create_sessionmaker
from app.core.errors import ValidationFailed
from app.core.migrate import upgrade
from app.models import AuditEntry
from app.rules import count_working_days

FILE = Path(__file__).parent.parent / "data" / "calendar-2027-test.toml"


@pytest.fixture
async def fresh_db(pg_url: str) -> AsyncIterator[str]:
    url = make_url(pg_url)
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(
        host=url.host, port=url.port, user=url.username, database=url.database
    )
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        db = url.set(database=name).render_as_string(hide_password=False)
        await asyncio.to_thread(upgrade, db)
        yield db
    finally:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()


async def test_calendar_load_file_makes_2027_working_days_exact_and_is_audited(
    fresh_db: str,
) -> None:
    out = await load_file(fresh_db, FILE.read_text(encoding="utf-8"))
    assert out.startswith("2027: 11 holidays, 1 adjusted working days")
    engine = create_engine(fresh_db)
    try:
        async with create_sessionmaker(engine)() as session:
            cal = await work_calendar(session)
            entries = (
                await session.scalars(
                    select(AuditEntry).where(AuditEntry.target_type == "calendar")
                )
            ).all()
    finally:
        await engine.dispose()
    counted = count_working_days(date(2026, 12, 28), 10, cal)
    assert (counted.day, counted.provisional) == (date(2027, 1, 11), False)
    assert [(e.action, e.actor_token_id, e.target_id) for e in entries] == [
        ("calendar.load", "cli", "2027")
    ]


async def test_calendar_load_file_refuses_a_bad_file_naming_the_field(
    fresh_db: str, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        'year = 2027\nsource = "x"\n[[holidays]]\nname = "元旦"\nfrom = 2027-01-03\n'
        "to = 2027-01-01\n",
        encoding="utf-8",
    )
    with pytest.raises(ValidationFailed) as err:
        await load_file(fresh_db, bad.read_text(encoding="utf-8"))
    assert [e["field"] for e in err.value.extra["errors"]] == ["holidays.0"]
