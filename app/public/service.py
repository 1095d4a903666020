"""Public status: each staff member's standing today at the institution, from the same
facts and the same judgement as the hot path (``app.registry.explain``)."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import NotFound
from app.models import Institution
from app.public import repository as repo
from app.public.schemas import PublicStaff, PublicStaffMember
from app.registry import source
from app.registry.explain import explain_line
from app.registry.facts import PhysicianFact

# A termination is shown for the year after it (the bar on a new registration).
TERMINATION_SHOWN = timedelta(days=366)


def _d(iso: str | None) -> date | None:
    return None if iso is None else date.fromisoformat(iso)


Shown = tuple[date | None, date | None, date | None]  # suspended from, until; terminated on


def _here(fact: PhysicianFact, institution: str, day: date) -> Shown | None:
    """The current suspension and a recent termination here; None when the person has
    nothing here to show today (an agreement ended, no visit)."""
    shown = False
    susp: tuple[date | None, date | None] = (None, None)
    ended: date | None = None
    for a in fact["agreements"]:
        if a["institution"] != institution:
            continue
        term, last = _d(a["terminated_on"]), _d(a["ends_on"])
        if term is not None and term <= day:
            if day - term <= TERMINATION_SHOWN:
                ended, shown = term, True
            continue
        if last is not None and last < day:
            continue
        shown = True
        for first, until in a["suspensions"]:
            f, u = _d(first), _d(until)
            if f is not None and f <= day and (u is None or day <= u):
                susp = (f, u)
    visiting = any(
        v["institution"] == institution and v["starts_on"] <= day.isoformat() <= v["ends_on"]
        for v in fact["visits"]
    )
    return (*susp, ended) if shown or visiting else None


async def public_staff(session: AsyncSession, code: str, day: date) -> PublicStaff:
    inst = await session.get(Institution, code)
    if inst is None:
        raise NotFound(f"No institution {code}.")
    people = await repo.staff_at(session, code, day)
    facts = await source.physician_facts(session, [p.code for p in people])
    inst_fact = (await source.institution_facts(session, [code])).get(code)
    region = (await source.region_facts(session, [inst.region_code])).get(inst.region_code)
    staff: list[PublicStaffMember] = []
    for p in people:
        fact = facts.get(p.code)
        shown = _here(fact, code, day) if fact is not None else None
        if fact is None or shown is None:
            continue
        basis = explain_line(p.code, day, False, code, fact, inst_fact, region)
        staff.append(
            PublicStaffMember(
                name=p.name,
                code=p.code,
                category=p.category,
                may_bill=basis["decision"] == "accept",
                suspended_from=shown[0],
                suspended_until=shown[1],
                terminated_on=shown[2],
            )
        )
    return PublicStaff(institution_code=code, institution_name=inst.name, date=day, staff=staff)
