from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Select, and_, case, distinct, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import (
    Agreement,
    AgreementSuspension,
    Institution,
    InstitutionSuspension,
    InstitutionTerm,
)


async def terms_of(session: AsyncSession, code: str) -> list[InstitutionTerm]:
    stmt = (
        select(InstitutionTerm)
        .where(InstitutionTerm.institution_code == code)
        .order_by(InstitutionTerm.starts_on)
    )
    return list((await session.scalars(stmt)).all())


async def suspensions_of(session: AsyncSession, code: str) -> list[InstitutionSuspension]:
    stmt = (
        select(InstitutionSuspension)
        .where(
            InstitutionSuspension.institution_code == code,
            InstitutionSuspension.voided_at.is_(None),
        )
        .order_by(InstitutionSuspension.starts_on)
    )
    return list((await session.scalars(stmt)).all())


async def agreements_at(session: AsyncSession, code: str) -> list[Agreement]:
    stmt = select(Agreement).where(Agreement.institution_code == code)
    return list((await session.scalars(stmt)).all())


async def physician_counts(
    session: AsyncSession,
    code: str,
    window: tuple[date, date],
    term: tuple[date, date | None],
    *,
    suspensions: bool,
) -> tuple[int, int]:
    """(physicians with an agreement here in the term, physicians counted in the window:
    an agreement ended for violations in it, or with ``suspensions`` one suspended by a
    points action starting in it), counted in SQL."""
    first, last = window
    revoked = and_(
        Agreement.termination_kind == "violation",
        Agreement.termination_voided_at.is_(None),
        Agreement.terminated_on.between(first, last),
    )
    if suspensions:
        suspended = (
            select(AgreementSuspension.id)
            .where(
                AgreementSuspension.agreement_id == Agreement.id,
                AgreementSuspension.source_action_id.is_not(None),
                AgreementSuspension.voided_at.is_(None),  # undone on review: not counted
                AgreementSuspension.starts_on.between(first, last),
            )
            .exists()
        )
        revoked = or_(revoked, suspended)
    term_first, term_last = term
    in_term = or_(Agreement.ends_on.is_(None), Agreement.ends_on >= term_first)
    if term_last is not None:
        in_term = and_(in_term, Agreement.starts_on <= term_last)
    stmt = select(
        func.count(distinct(case((in_term, Agreement.physician_code)))),
        func.count(distinct(case((revoked, Agreement.physician_code)))),
    ).where(Agreement.institution_code == code)
    row = (await session.execute(stmt)).one()
    return int(row[0]), int(row[1])


def institutions_query(region: str | None) -> Select[Any]:
    stmt = select(Institution).order_by(Institution.code)
    if region:
        stmt = stmt.where(Institution.region_code == region)
    return stmt
