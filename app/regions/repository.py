from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
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


@dataclass(frozen=True)
class DatedPolicy:
    """A region's policy ids by date: ``versions`` (first day, policy id), oldest first;
    ``fallback`` the region's policy when it never switched."""

    fallback: str
    versions: tuple[tuple[date, str], ...] = ()

    def on(self, day: date) -> str:
        """The id of the policy in force on ``day``: the latest version from on or before
        it. Before its first version a switched region runs the policy it was created
        with (kept as a version)."""
        if not self.versions:
            return self.fallback
        found = self.versions[0][1]
        for first, policy_id in self.versions:
            if first > day:
                break
            found = policy_id
        return found


async def dated_policies(session: AsyncSession, codes: Collection[str]) -> dict[str, DatedPolicy]:
    """Each region's policy ids by date."""
    regions = (await session.scalars(select(Region).where(Region.code.in_(list(codes))))).all()
    stmt = select(RegionPolicy).where(RegionPolicy.region_code.in_(list(codes)))
    versions: dict[str, list[tuple[date, str]]] = {}
    for v in (await session.scalars(stmt.order_by(RegionPolicy.effective_from))).all():
        versions.setdefault(v.region_code, []).append((v.effective_from, v.policy_id))
    return {r.code: DatedPolicy(r.policy, tuple(versions.get(r.code, ()))) for r in regions}


async def policy_on(session: AsyncSession, region: Region, day: date) -> str:
    """The id of the policy in force in ``region`` on ``day`` (:meth:`DatedPolicy.on`)."""
    versions = await versions_of(session, region.code)
    dated = tuple((v.effective_from, v.policy_id) for v in versions)
    return DatedPolicy(region.policy, dated).on(day)
