from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Agreement, ApiToken, Visit


async def live_token(session: AsyncSession, token_hash: str) -> ApiToken | None:
    """The token with this hash, unless revoked."""
    stmt = select(ApiToken).where(ApiToken.token_hash == token_hash, ApiToken.revoked_at.is_(None))
    return await session.scalar(stmt)


async def agreements_of(session: AsyncSession, physician_code: str) -> list[Agreement]:
    """A physician's agreements (what links it to regions: ``scope.py``)."""
    stmt = (
        select(Agreement)
        .where(Agreement.physician_code == physician_code)
        .order_by(Agreement.starts_on, Agreement.id)
    )
    return list((await session.scalars(stmt)).all())


async def visits_of(session: AsyncSession, physician_code: str) -> list[Visit]:
    """A physician's visiting registrations (what else links it to regions)."""
    stmt = select(Visit).where(Visit.physician_code == physician_code).order_by(Visit.starts_on)
    return list((await session.scalars(stmt)).all())
