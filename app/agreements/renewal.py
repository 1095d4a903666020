"""zhejiang-2014 二 (协议样本 第十三条): an agreement runs with its institution's term and
renews with it: "签订期内没有发生解除协议情形的，且医师本人未提出解除协议申请的，协议期满
自动延签下一个协议周期".

An agreement whose ``ends_on`` is the last day of one of its institution's terms (as the
sample agreement states its dates) is carried to the end of the next term when the
institution renews without a gap (that term not terminated early), unless the agreement
was terminated, the physician asked to end it (an explicit, audited request), or it is
under a suspension that was never lifted (三（二） 中止期限自动延长，直至协议期满解除).
Run after every write that can make an agreement renew: a new institution term, a new
agreement, an approved resumption.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.agreements import repository as repo
from app.auth.principal import Principal
from app.models import Agreement, AgreementSuspension, Institution, InstitutionTerm, Region
from app.rules import get_policy
from app.uow import On, Touch, change


def renewed_end(ends_on: date, terms: list[InstitutionTerm]) -> date | None:
    """The last day an agreement ending ``ends_on`` reaches through the institution's
    renewals (``None``: an open-ended term); ``ends_on`` when there is none."""
    by_start = {t.starts_on: t for t in terms}
    end: date | None = ends_on
    while end is not None:
        current = next((t for t in terms if t.ends_on == end), None)
        if current is None or (current.terminated_on is not None and current.terminated_on <= end):
            break
        following = by_start.get(end + timedelta(days=1))
        if following is None:
            break
        end = following.ends_on
    return end


def _runs_on_suspended(susps: list[AgreementSuspension], ends_on: date) -> bool:
    """An open suspension (no planned end reached, never lifted) covering the last day."""
    return any(s.ends_on is None and s.resumed_on is None and s.starts_on <= ends_on for s in susps)


async def renews(session: AsyncSession, institution_code: str) -> bool:
    inst = await session.get(Institution, institution_code)
    region = await session.get(Region, inst.region_code) if inst is not None else None
    if region is None:
        return False
    rules = get_policy(region.policy).agreement
    return rules is not None and rules.renews_with_institution


async def renew_at(
    session: AsyncSession,
    actor: Principal,
    institution_code: str,
    only: Agreement | None = None,
) -> list[Agreement]:
    """Carry every renewable agreement at the institution (or ``only`` that one, e.g. a
    new agreement) through the institution's renewals."""
    if not await renews(session, institution_code):
        return []
    terms = await repo.institution_terms(session, institution_code)
    rows = [only] if only is not None else await repo.at_institution_all(session, institution_code)
    susps = await repo.suspensions_by_agreement(session, [a.id for a in rows])
    renewed: list[Agreement] = []
    for a in rows:
        if a.effective_terminated_on is not None or a.no_renewal is not None or a.ends_on is None:
            continue
        if _runs_on_suspended(susps[a.id], a.ends_on):
            continue
        end = renewed_end(a.ends_on, terms)
        if end == a.ends_on:
            continue
        async with change(
            session,
            actor,
            "agreement.renew",
            On("agreement", region=a.region_code),
            Touch.physician(a.physician_code),
            subject=a,
        ):
            a.ends_on = end
        renewed.append(a)
    return renewed
