"""An operator acts only on the physicians linked to its region (the authorization of a
write, asked of this package by every domain service before it writes).

Linked on a day: an agreement in the region (at one of its institutions) or a visit
registered there covers the day. The day is the one the act is about: a violation's
``occurred_on``, a cancellation's ``effective_on``. The consequences of a legitimate act
then follow the policy's own scope (zhejiang-2014 pools points province-wide), never
another policy's records: a code cancellation by an operator is refused when the
physician still holds agreements under another policy (a superuser does that one).
The superuser is unrestricted; every refusal is a 403 problem that says why.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.principal import Principal, Role
from app.auth.repository import agreements_of, visits_of
from app.core.dates import covers
from app.core.errors import Forbidden
from app.models import Agreement, Region


def _agreement_covers(a: Agreement, day: date) -> bool:
    ended = a.terminated_on if a.termination_voided_at is None else None
    return covers(a.starts_on, a.ends_on, day) and (ended is None or day <= ended)


async def linked_regions(session: AsyncSession, code: str, day: date) -> set[str]:
    """The regions where the physician holds an agreement or a visit covering ``day``."""
    regions = {
        a.region_code for a in await agreements_of(session, code) if _agreement_covers(a, day)
    }
    regions |= {
        v.region_code for v in await visits_of(session, code) if covers(v.starts_on, v.ends_on, day)
    }
    return regions


async def require_linked(
    session: AsyncSession, actor: Principal, code: str, region: str, day: date
) -> None:
    """403 unless the actor may act in ``region`` on ``code`` as of ``day``."""
    actor.require_write(region)
    if actor.role is Role.SUPERUSER:
        return
    if region not in await linked_regions(session, code, day):
        raise Forbidden(
            f"Physician {code} has no agreement or visit in region {region} covering {day}: "
            "an operator acts only on the physicians of its region.",
            slug="physician-not-in-region",
            region=region,
            physician_code=code,
        )


async def require_code_in_policy(
    session: AsyncSession, actor: Principal, code: str, day: date
) -> None:
    """A whole-code act (cancel, restore) by an operator: the physician is linked to its
    region on ``day`` and holds no agreement in force under another policy then."""
    if actor.role is Role.SUPERUSER:
        return
    region = actor.region_code or ""
    await require_linked(session, actor, code, region, day)
    own = await session.get(Region, region)
    others: set[str] = set()
    for a in await agreements_of(session, code):
        if a.region_code == region or not _still_in_force(a, day):
            continue
        other = await session.get(Region, a.region_code)
        if own is None or other is None or other.policy != own.policy:
            others.add(a.region_code)
    if others:
        raise Forbidden(
            f"Physician {code} also holds agreements in region(s) {', '.join(sorted(others))} "
            "under another policy: only a superuser may act on the whole code.",
            slug="physician-in-other-policy",
            regions=sorted(others),
            physician_code=code,
        )


def _still_in_force(a: Agreement, day: date) -> bool:
    """Not ended before ``day`` (it would be ended, or is live, from ``day`` on)."""
    ended = a.terminated_on if a.termination_voided_at is None else None
    return (a.ends_on is None or a.ends_on >= day) and (ended is None or ended >= day)
