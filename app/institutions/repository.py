from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import InstitutionSuspension, InstitutionTerm


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
