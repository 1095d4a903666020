from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Region, RegionPolicy


def regions_query() -> Select[Any]:
    return select(Region).order_by(Region.code)


async def versions_of(session: AsyncSession, code: str) -> list[RegionPolicy]:
    """The region's policy versions, oldest first (none until its first switch)."""
    stmt = select(RegionPolicy).where(RegionPolicy.region_code == code)
    return list((await session.scalars(stmt.order_by(RegionPolicy.effective_from))).all())


async def policy_on(session: AsyncSession, region: Region, day: date) -> str:
    """The id of the policy in force in ``region`` on ``day``: the latest version from on
    or before it; the region's policy when it never switched. Before its first version a
    switched region runs the policy it was created with (kept as a version)."""
    versions = await versions_of(session, region.code)
    in_force = [v for v in versions if v.effective_from <= day]
    if in_force:
        return in_force[-1].policy_id
    return versions[0].policy_id if versions else region.policy
