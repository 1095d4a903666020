"""Institutions and their own agreement with the agency: terms, suspensions, termination.

A physician's agreement at an institution is suspended or ends with the institution's
(zhejiang-2014 二): the hot path derives that from the institution's history
(INSTITUTION_SUSPENDED), so nothing is copied onto the physicians' agreements.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.admin.auth import Principal
from app.agreements.renewal import renew_at
from app.audit import service as audit
from app.core.dates import check_span, covers, last_day, overlaps
from app.core.db import get_or_404
from app.core.errors import Conflict, InvalidTransition, ValidationFailed
from app.institutions import repository as repo
from app.institutions.schemas import (
    InstitutionCreate,
    SuspendInstitution,
    TermCreate,
    TerminateIn,
)
from app.models import Institution, InstitutionSuspension, InstitutionTerm, Region
from app.sync.outbox import touch
from app.tokens import service as tokens
from app.tokens.schemas import TokenCreated


async def get_institution(session: AsyncSession, code: str) -> Institution:
    return await get_or_404(session, Institution, code, "institution")


def institutions_query(region: str | None) -> Select[Any]:
    stmt = select(Institution).order_by(Institution.code)
    if region:
        stmt = stmt.where(Institution.region_code == region)
    return stmt


async def create_institution(
    session: AsyncSession, actor: Principal, data: InstitutionCreate
) -> Institution:
    if await session.get(Region, data.region) is None:
        raise ValidationFailed([{"field": "region", "message": f"no region {data.region}"}])
    actor.require_write(data.region)
    check_span(
        data.agreement_starts_on,
        data.agreement_ends_on,
        first_field="agreement_starts_on",
        last_field="agreement_ends_on",
    )
    if await session.get(Institution, data.code) is not None:
        raise Conflict(f"Institution {data.code} exists already.", slug="institution-exists")
    inst = Institution(
        code=data.code,
        name=data.name,
        region_code=data.region,
        approved_physicians=data.approved_physicians,
    )
    session.add(inst)
    await session.flush()
    term = InstitutionTerm(
        institution_code=inst.code,
        starts_on=data.agreement_starts_on,
        ends_on=data.agreement_ends_on,
    )
    session.add(term)
    await session.flush()
    after = audit.snapshot(inst) | {"terms": [audit.snapshot(term)]}
    audit.record(
        session,
        actor,
        "institution.create",
        "institution",
        inst.code,
        region=inst.region_code,
        after=after,
    )
    touch(session, institutions=[inst.code])
    return inst


async def add_term(
    session: AsyncSession, actor: Principal, code: str, data: TermCreate
) -> InstitutionTerm:
    inst = await get_institution(session, code)
    actor.require_write(inst.region_code)
    check_span(data.starts_on, data.ends_on, first_field="starts_on", last_field="ends_on")
    for t in await repo.terms_of(session, code):
        t_last = last_day(t.ends_on, t.terminated_on)
        if overlaps(t.starts_on, t_last, data.starts_on, data.ends_on):
            raise Conflict(
                f"The term overlaps the institution's term from {t.starts_on}.",
                slug="term-overlap",
            )
    term = InstitutionTerm(institution_code=code, starts_on=data.starts_on, ends_on=data.ends_on)
    session.add(term)
    await session.flush()
    audit.record(
        session,
        actor,
        "institution.term.create",
        "institution",
        code,
        region=inst.region_code,
        after=audit.snapshot(term),
    )
    touch(session, institutions=[code])
    # zhejiang-2014 二: the physicians' agreements renew with the institution's.
    await renew_at(session, actor, code)
    return term


async def suspend(
    session: AsyncSession, actor: Principal, code: str, data: SuspendInstitution
) -> InstitutionSuspension:
    inst = await get_institution(session, code)
    actor.require_write(inst.region_code)
    check_span(data.starts_on, data.ends_on, first_field="starts_on", last_field="ends_on")
    for s in await repo.suspensions_of(session, code):
        if overlaps(s.starts_on, last_day(s.ends_on, s.lifted_on), data.starts_on, data.ends_on):
            raise Conflict(
                f"The institution is already suspended from {s.starts_on}.",
                slug="suspension-overlap",
            )
    susp = InstitutionSuspension(
        institution_code=code, starts_on=data.starts_on, ends_on=data.ends_on, reason=data.reason
    )
    session.add(susp)
    await session.flush()
    audit.record(
        session,
        actor,
        "institution.suspend",
        "institution",
        code,
        region=inst.region_code,
        after=audit.snapshot(susp),
    )
    touch(session, institutions=[code])
    return susp


async def resume(
    session: AsyncSession, actor: Principal, code: str, effective_on: date
) -> InstitutionSuspension:
    inst = await get_institution(session, code)
    actor.require_write(inst.region_code)
    for s in await repo.suspensions_of(session, code):
        if covers(s.starts_on, last_day(s.ends_on, s.lifted_on), effective_on):
            before = audit.snapshot(s)
            s.lifted_on = effective_on
            await session.flush()
            audit.record(
                session,
                actor,
                "institution.resume",
                "institution",
                code,
                region=inst.region_code,
                before=before,
                after=audit.snapshot(s),
            )
            touch(session, institutions=[code])
            return s
    raise InvalidTransition(
        f"Institution {code} is not suspended on {effective_on}.", slug="not-suspended"
    )


async def terminate(
    session: AsyncSession, actor: Principal, code: str, data: TerminateIn
) -> InstitutionTerm:
    inst = await get_institution(session, code)
    actor.require_write(inst.region_code)
    return await end_term(session, actor, inst, data.effective_on, data.reason)


async def end_term(
    session: AsyncSession, actor: Principal, inst: Institution, effective_on: date, reason: str
) -> InstitutionTerm:
    """End the institution's term in force on ``effective_on`` (first day no longer valid)."""
    for t in await repo.terms_of(session, inst.code):
        if t.terminated_on is not None and t.terminated_on <= effective_on:
            continue
        if covers(t.starts_on, t.ends_on, effective_on):
            before = audit.snapshot(t)
            t.terminated_on = effective_on
            t.termination_reason = reason
            await session.flush()
            audit.record(
                session,
                actor,
                "institution.terminate",
                "institution",
                inst.code,
                region=inst.region_code,
                before=before,
                after=audit.snapshot(t),
            )
            touch(session, institutions=[inst.code])
            return t
    raise InvalidTransition(
        f"Institution {inst.code} has no term in force on {effective_on}.", slug="no-term"
    )


def status_on(terms: list[InstitutionTerm], susps: list[InstitutionSuspension], day: date) -> str:
    if not any(covers(t.starts_on, last_day(t.ends_on, t.terminated_on), day) for t in terms):
        return "ended" if any(t.starts_on <= day for t in terms) else "not_started"
    if any(covers(s.starts_on, last_day(s.ends_on, s.lifted_on), day) for s in susps):
        return "suspended"
    return "active"


async def issue_his_token(session: AsyncSession, actor: Principal, code: str) -> TokenCreated:
    inst = await get_institution(session, code)
    actor.require_write(inst.region_code)
    return await tokens.issue(session, actor, "his", region=inst.region_code, institution=inst.code)
