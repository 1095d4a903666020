from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Agreement, Institution, InstitutionSuspension, InstitutionTerm


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


def institutions_query(region: str | None) -> Select[Any]:
    stmt = select(Institution).order_by(Institution.code)
    if region:
        stmt = stmt.where(Institution.region_code == region)
    return stmt
