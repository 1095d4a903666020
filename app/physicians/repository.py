from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.dates import covers, last_day
from app.models import CodeCancellation, Physician, Visit


async def cancellations_of(session: AsyncSession, code: str) -> list[CodeCancellation]:
    stmt = (
        select(CodeCancellation)
        .where(CodeCancellation.physician_code == code, CodeCancellation.voided_at.is_(None))
        .order_by(CodeCancellation.effective_on)
    )
    return list((await session.scalars(stmt)).all())


async def cancellation_on(session: AsyncSession, code: str, day: date) -> CodeCancellation | None:
    return cancellation_covering(await cancellations_of(session, code), day)


def cancellation_covering(
    cancellations: Iterable[CodeCancellation], day: date
) -> CodeCancellation | None:
    """Of a code's (live) cancellations, the one in force on ``day``."""
    for c in cancellations:
        if c.voided_at is None and covers(c.effective_on, last_day(None, c.restored_on), day):
            return c
    return None


async def visits_of(session: AsyncSession, code: str) -> list[Visit]:
    stmt = select(Visit).where(Visit.physician_code == code).order_by(Visit.starts_on)
    return list((await session.scalars(stmt)).all())


async def find_existing(
    session: AsyncSession, code: str, national_code: str | None
) -> Physician | None:
    cond = [Physician.code == code]
    if national_code:
        cond.append(Physician.national_code == national_code)
    return await session.scalar(select(Physician).where(or_(*cond)).limit(1))


def physicians_query(q: str | None) -> Select[Any]:
    stmt = select(Physician).order_by(Physician.code)
    if q:
        stmt = stmt.where(or_(Physician.code.startswith(q), Physician.name.contains(q)))
    return stmt
