from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import ApiToken


async def live_token(session: AsyncSession, token_hash: str) -> ApiToken | None:
    """The token with this hash, unless revoked."""
    stmt = select(ApiToken).where(ApiToken.token_hash == token_hash, ApiToken.revoked_at.is_(None))
    return await session.scalar(stmt)
