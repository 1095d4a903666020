"""lanzhou-2014 第二十二条: revoked physicians over the institution's approved ones, in the
institution's term in force, and the flags that ratio raises; what is counted, and over
which period, is the policy file's ``[institution] counts`` / ``period`` (nhsa-2024:
suspended or terminated, per calendar year)."""

from __future__ import annotations

from datetime import date
from fractions import Fraction

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.dates import covers
from app.institutions import repository as repo
from app.institutions.schemas import InstitutionStanding, ratio_text
from app.ledger import repository as ledger
from app.ledger.schemas import ActionOut
from app.models import Institution, InstitutionTerm, Region
from app.regions import repository as regions_repo
from app.rules import Policy, assess_institution, get_policy


def counting_window(policy: Policy, term: InstitutionTerm, upto: date) -> tuple[date, date]:
    """The period an institution threshold counts over (``[institution] period``): the
    institution's term (lanzhou-2014 第二十二条 一个协议期内) or the calendar year (nhsa-2024
    一个自然年度内), up to ``upto``."""
    rules = policy.institution
    if rules is not None and rules.period == "calendar_year":
        return date(upto.year, 1, 1), upto
    last = upto if term.ends_on is None else min(term.ends_on, upto)
    return term.starts_on, last


async def institution_counts(
    session: AsyncSession, inst: Institution, term: InstitutionTerm, upto: date, policy: Policy
) -> tuple[int, int]:
    """(approved, counted) over :func:`counting_window`. Counted is what ``[institution]
    counts`` names: physicians revoked (ended for violations), or (nhsa-2024) suspended
    or terminated by a points action. Approved is the institution's 核定医师总数 where
    set, else the physicians with an agreement there in the term."""
    rules = policy.institution
    in_term, counted = await repo.physician_counts(
        session,
        inst.code,
        counting_window(policy, term, upto),
        (term.starts_on, term.ends_on),
        suspensions=rules is not None and rules.counts == "suspended_or_terminated",
    )
    approved = inst.approved_physicians if inst.approved_physicians is not None else in_term
    return approved, counted


async def term_on(session: AsyncSession, code: str, day: date) -> InstitutionTerm | None:
    """The institution's term whose ``[starts_on, ends_on]`` holds ``day``."""
    for t in await repo.terms_of(session, code):
        if covers(t.starts_on, t.ends_on, day):
            return t
    return None


async def institution_standing(
    session: AsyncSession, inst: Institution, as_of: date
) -> InstitutionStanding:
    region = await session.get(Region, inst.region_code)
    policy = get_policy(await regions_repo.policy_on(session, region, as_of) if region else "")
    term = await term_on(session, inst.code, as_of)
    approved = revoked = 0
    flags: list[str] = []
    ratio = None
    if term is not None:
        approved, revoked = await institution_counts(session, inst, term, as_of, policy)
        if policy.institution is not None:
            assessment = assess_institution(policy, approved, revoked)
            flags = [f.action for f in assessment.flags]
            ratio = assessment.ratio
        elif approved:
            ratio = Fraction(revoked, approved)
    rows = await ledger.actions_against(session, f"institution:{inst.code}")
    return InstitutionStanding(
        institution_code=inst.code,
        region=inst.region_code,
        policy=policy.id,
        as_of=as_of,
        term_starts_on=term.starts_on if term else None,
        term_ends_on=term.ends_on if term else None,
        approved_physicians=approved,
        revoked_physicians=revoked,
        ratio=ratio_text(ratio),
        flags=flags,
        actions=[ActionOut.model_validate(a) for a in rows],
    )
