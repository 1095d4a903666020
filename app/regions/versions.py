"""A region's policy versions (nhsa-2024 and its provincial 细则 take effect on dates): a
switch takes effect on ``effective_from``; a violation is judged by the version in force
on its ``occurred_on``; nothing decided before is rewritten. A preview shows what a switch
would change before it commits."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.principal import Principal
from app.core.errors import Conflict, ValidationFailed
from app.core.types import DATE_MIN
from app.models import Agreement, Physician, Region, RegionPolicy, Violation
from app.regions import repository as repo
from app.regions.schemas import PolicySwitch, SwitchPreview, VersionOut
from app.regions.service import get_region
from app.rules import Policy, get_policy
from app.rules.errors import RulesError
from app.uow import On, Touch, change


def _policy(policy_id: str) -> Policy:
    try:
        return get_policy(policy_id)
    except RulesError as exc:
        raise ValidationFailed(
            [{"field": "policy", "message": f"unknown policy {policy_id!r}"}]
        ) from exc


async def preview_switch(session: AsyncSession, code: str, data: PolicySwitch) -> SwitchPreview:
    """What switching ``code`` to ``data.policy`` from ``data.effective_from`` changes."""
    region = await get_region(session, code)
    new = _policy(data.policy)
    versions = await repo.versions_of(session, code)
    if any(v.effective_from == data.effective_from for v in versions):
        raise Conflict(
            f"Region {code} has a version from {data.effective_from} already.",
            slug="policy-version-exists",
        )
    old = get_policy(await repo.policy_on(session, region, data.effective_from))
    decided = (
        await session.scalars(
            select(Violation.id).where(
                Violation.region_code == code,
                Violation.occurred_on >= data.effective_from,
                Violation.reversed_at.is_(None),
            )
        )
    ).all()
    categories = (
        await session.scalars(
            select(Physician.category)
            .join(Agreement, Agreement.physician_code == Physician.code)
            .where(Agreement.region_code == code)
            .distinct()
        )
    ).all()
    return SwitchPreview(
        region=code,
        policy=new.id,
        effective_from=data.effective_from,
        replaces=old.id,
        kept_violations=len(decided),
        initial_points_before=old.initial_points,
        initial_points_after=new.initial_points,
        items_added=sorted({i.id for i in new.items} - {i.id for i in old.items}),
        items_removed=sorted({i.id for i in old.items} - {i.id for i in new.items}),
        thresholds=[f"{t.reaches}: {t.action} ({t.status})" for t in new.thresholds],
        repair=new.repair is not None,
        degrees=[d.id for d in new.degrees],
        categories_not_covered=sorted(set(categories) - set(new.staff.categories)),
    )


async def switch_policy(
    session: AsyncSession, actor: Principal, code: str, data: PolicySwitch
) -> SwitchPreview:
    actor.require_write(code)
    preview = await preview_switch(session, code, data)
    region: Region = await get_region(session, code)
    versions = await repo.versions_of(session, code)
    async with change(
        session, actor, "region.policy", On("region", region=code), Touch.region(code)
    ) as ch:
        if not versions:  # the policy it was created with, as the first version
            ch.add(RegionPolicy(region_code=code, policy_id=region.policy, effective_from=DATE_MIN))
        ch.add(
            RegionPolicy(
                region_code=code, policy_id=data.policy, effective_from=data.effective_from
            )
        )
        # The registry (code format, emergency scope) follows the latest version.
        dated = [(v.effective_from, v.policy_id) for v in versions]
        region.policy = max([*dated, (data.effective_from, data.policy)])[1]
        ch.subject = region
    return preview


async def versions(session: AsyncSession, code: str) -> list[VersionOut]:
    region = await get_region(session, code)
    rows = await repo.versions_of(session, code)
    if not rows:
        return [VersionOut(policy=region.policy, effective_from=DATE_MIN)]
    return [VersionOut(policy=v.policy_id, effective_from=v.effective_from) for v in rows]
