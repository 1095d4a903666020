"""Queries of the decision log for the admin side (newest first, bounded)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Institution, Physician, SettlementDecision

# A physician filter looks through at most this many of the newest decisions that match
# the other filters (the inputs are not indexed: nothing is added to the decision log's
# write path); narrow older searches with since/until or institution_code.
PHYSICIAN_SCAN_MAX = 100_000


def id_floor(at: datetime) -> str:
    """The smallest UUIDv7 minted at or after ``at`` (ids sort by their millisecond)."""
    ms = int(at.timestamp() * 1000)
    return f"{ms >> 16:08x}-{ms & 0xFFFF:04x}-7"


async def national_alias(session: AsyncSession, code: str) -> str | None:
    return await session.scalar(select(Physician.national_code).where(Physician.code == code))


def region_institutions(region: str) -> Select[Any]:
    return select(Institution.code).where(Institution.region_code == region)


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
    window = stmt.with_only_columns(d.decision_id).limit(PHYSICIAN_SCAN_MAX)
    stmt = select(d).where(d.decision_id.in_(window)).order_by(d.decision_id.desc())
    clauses, params = [], {}
    for i, code in enumerate(physician_codes):
        if dialect == "postgresql":
            clauses.append(f"settlement_decisions.inputs @> CAST(:pc{i} AS jsonb)")
            params[f"pc{i}"] = json.dumps([[code]])
        else:  # the stored JSON is compact: the code opens its line's array
            clauses.append(f"CAST(settlement_decisions.inputs AS TEXT) LIKE :pc{i}")
            params[f"pc{i}"] = f'%["{code}",%'
    return stmt.where(text("(" + " OR ".join(clauses) + ")").bindparams(**params))
