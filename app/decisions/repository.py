"""Queries of the decision log for the admin side (newest first, bounded)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Select, Text, func, literal, literal_column, or_, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Institution, Physician, SettlementDecision
from app.models.decisions import PHYSICIANS_SEP_SQL
from app.registry import decision_codec as codec


def id_floor(at: datetime) -> uuid.UUID:
    """The smallest UUIDv7 minted at or after ``at`` (ids sort by their millisecond)."""
    return codec.id_floor(at)


# A physician's page looks at the newest days first: a window holding the rows wanted
# holds the newest of all history (older days are older), and reads few partitions.
WINDOW_DAYS = (7,)


async def newest(
    session: AsyncSession,
    query: Callable[[datetime | None], Select[Any]],
    want: int,
    since: datetime | None,
) -> list[SettlementDecision]:
    """The ``want`` newest rows of ``query(floor)``, widening the floor by ``WINDOW_DAYS``
    (then all of history) until it holds them; ``since``: no widening below it."""
    now = datetime.now(UTC)
    windows = [now - timedelta(days=d) for d in WINDOW_DAYS]
    floors: list[datetime | None] = [f for f in windows if since is None or f > since]
    floors.append(since)
    for floor in floors:
        rows = list((await session.scalars(query(floor).limit(want))).all())
        if len(rows) >= want or floor == since:
            return rows
    return []


async def national_alias(session: AsyncSession, code: str) -> str | None:
    return await session.scalar(select(Physician.national_code).where(Physician.code == code))


def region_institutions(region: str) -> Select[Any]:
    return select(Institution.code).where(Institution.region_code == region)


async def institutions_of_region(session: AsyncSession, region: str) -> list[str]:
    return list((await session.scalars(region_institutions(region))).all())


async def institution_region(session: AsyncSession, code: str) -> str | None:
    return await session.scalar(select(Institution.region_code).where(Institution.code == code))


def decisions_query(
    *,
    dialect: str,
    settlement_id: str | None,
    institution_code: str | None,
    region: str | None,
    physician_codes: list[str],
    since: datetime | None,
    until: datetime | None,
) -> Select[Any]:
    """Decisions matching every filter given, newest first (``until`` exclusive)."""
    d = SettlementDecision
    stmt = select(d).order_by(d.decision_id.desc())
    if institution_code:
        stmt = stmt.where(d.institution_code == institution_code)
    if region:
        stmt = stmt.where(d.institution_code.in_(region_institutions(region)))
    if settlement_id:
        stmt = stmt.where(d.settlement_id == settlement_id)
    if since:
        stmt = stmt.where(d.decision_id >= id_floor(since))
    if until:
        stmt = stmt.where(d.decision_id < id_floor(until))
    if not physician_codes:
        return stmt
    if dialect == "postgresql":  # the GIN index on the codes, over all of history
        as_array = func.string_to_array(d.physicians, literal_column(PHYSICIANS_SEP_SQL))
        return stmt.where(as_array.op("&&")(literal(physician_codes, ARRAY(Text))))
    sep = codec.SEP
    padded = literal(sep) + d.physicians + literal(sep)
    return stmt.where(or_(*(padded.like(f"%{sep}{c}{sep}%") for c in physician_codes)))
