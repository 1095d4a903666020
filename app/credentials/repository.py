from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import GatewayCredential, Institution


async def institution_for_update(session: AsyncSession, code: str) -> Institution | None:
    """The institution, its row locked until commit (PostgreSQL): one rotation at a time."""
    stmt = select(Institution).where(Institution.code == code).with_for_update()
    return (await session.scalars(stmt)).first()


async def by_paasid(session: AsyncSession, paasid: str) -> GatewayCredential | None:
    return (
        await session.scalars(select(GatewayCredential).where(GatewayCredential.paasid == paasid))
    ).first()


async def unrevoked(session: AsyncSession, institution: str) -> list[GatewayCredential]:
    stmt = select(GatewayCredential).where(
        GatewayCredential.institution_code == institution, GatewayCredential.revoked_at.is_(None)
    )
    return list((await session.scalars(stmt)).all())


def pairs_query(institution: str) -> Select[Any]:
    return (
        select(GatewayCredential)
        .where(GatewayCredential.institution_code == institution)
        .order_by(GatewayCredential.created_at.desc(), GatewayCredential.id)
    )


async def pairs(
    session: AsyncSession, institution: str, limit: int = 200
) -> list[GatewayCredential]:
    return list((await session.scalars(pairs_query(institution).limit(limit))).all())
