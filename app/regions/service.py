from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.principal import Principal
from app.core.db import get_or_404
from app.core.errors import Conflict, ValidationFailed
from app.models import Region
from app.regions.schemas import RegionCreate
from app.rules import get_policy
from app.rules.errors import RulesError
from app.uow import On, Touch, change


async def get_region(session: AsyncSession, code: str) -> Region:
    return await get_or_404(session, Region, code, "region")


async def create_region(session: AsyncSession, actor: Principal, data: RegionCreate) -> Region:
    actor.require_superuser()
    try:
        get_policy(data.policy)
    except RulesError as exc:
        raise ValidationFailed(
            [{"field": "policy", "message": f"unknown policy {data.policy!r}"}]
        ) from exc
    if await session.get(Region, data.code) is not None:
        raise Conflict(f"Region {data.code} exists already.", slug="region-exists")
    async with change(
        session, actor, "region.create", On("region", region=data.code), Touch.region(data.code)
    ) as ch:
        region = ch.add(Region(code=data.code, name=data.name, policy=data.policy))
    return region
