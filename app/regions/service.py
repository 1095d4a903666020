from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.principal import Principal
from app.core.clock import today
from app.core.db import get_or_404
from app.core.errors import Conflict, ValidationFailed
from app.models import Region
from app.regions import repository as repo
from app.regions.schemas import RegionCreate, RegionOut
from app.rules import get_policy
from app.rules.errors import RulesError
from app.uow import On, Touch, change


async def get_region(session: AsyncSession, code: str) -> Region:
    return await get_or_404(session, Region, code, "region")


async def regions_out(session: AsyncSession, regions: Sequence[Region]) -> list[RegionOut]:
    """The regions as the API shows them: each with the policy in force today."""
    dated = await repo.dated_policies(session, [r.code for r in regions])
    day = today()
    return [
        RegionOut(
            code=r.code,
            name=r.name,
            policy=dated[r.code].on(day) if r.code in dated else r.policy,
            created_at=r.created_at,
        )
        for r in regions
    ]


async def policies_today(session: AsyncSession, codes: Collection[str]) -> dict[str, str]:
    """Each region's policy id in force today."""
    day = today()
    return {code: d.on(day) for code, d in (await repo.dated_policies(session, codes)).items()}


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
