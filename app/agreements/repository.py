from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Agreement, AgreementSuspension


async def agreements_of(session: AsyncSession, physician_code: str) -> list[Agreement]:
    stmt = (
        select(Agreement)
        .where(Agreement.physician_code == physician_code)
        .order_by(Agreement.starts_on, Agreement.id)
    )
    return list((await session.scalars(stmt)).all())


async def at_institution(
    session: AsyncSession, physician_code: str, institution_code: str
) -> list[Agreement]:
    stmt = select(Agreement).where(
        Agreement.physician_code == physician_code,
        Agreement.institution_code == institution_code,
    )
    return list((await session.scalars(stmt)).all())


async def at_institution_all(session: AsyncSession, institution_code: str) -> list[Agreement]:
    stmt = (
        select(Agreement)
        .where(Agreement.institution_code == institution_code)
        .order_by(Agreement.starts_on, Agreement.id)
    )
    return list((await session.scalars(stmt)).all())


async def suspensions_by_agreement(
    session: AsyncSession, agreement_ids: Sequence[str]
) -> dict[str, list[AgreementSuspension]]:
    out: dict[str, list[AgreementSuspension]] = defaultdict(list)
    if not agreement_ids:
        return out
    stmt = (
        select(AgreementSuspension)
        .where(
            AgreementSuspension.agreement_id.in_(list(agreement_ids)),
            AgreementSuspension.voided_at.is_(None),
        )
        .order_by(AgreementSuspension.starts_on)
    )
    for s in (await session.scalars(stmt)).all():
        out[s.agreement_id].append(s)
    return out


def agreements_query(physician: str | None, institution: str | None) -> Select[Any]:
    stmt = select(Agreement).order_by(Agreement.created_at, Agreement.id)
    if physician:
        stmt = stmt.where(Agreement.physician_code == physician)
    if institution:
        stmt = stmt.where(Agreement.institution_code == institution)
    return stmt
