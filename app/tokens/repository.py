from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import ApiToken


async def id_by_hash(session: AsyncSession, token_hash: str) -> str | None:
    return await session.scalar(select(ApiToken.id).where(ApiToken.token_hash == token_hash))


def tokens_query() -> Select[Any]:
    return select(ApiToken).order_by(ApiToken.created_at, ApiToken.id)
