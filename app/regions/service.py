from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.admin.auth import Principal
from app.audit import service as audit
from app.core.db import get_or_404
from app.core.errors import Conflict, ValidationFailed
from app.models import Region
from app.regions.schemas import RegionCreate
from app.rules import get_policy
from app.rules.errors import RulesError
from app.sync.outbox import touch


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
    region = Region(code=data.code, name=data.name, policy=data.policy)
    session.add(region)
    await session.flush()
    audit.record(
        session,
        actor,
        "region.create",
        "region",
        region.code,
        region=region.code,
        after=audit.snapshot(region),
    )
    touch(session, regions=[region.code])
    return region


def regions_query() -> Select[Any]:
    return select(Region).order_by(Region.code)
