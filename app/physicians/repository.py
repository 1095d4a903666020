from __future__ import annotations

from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Physician, Visit


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
