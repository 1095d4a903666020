"""Institutions and their own agreement with the agency: terms, suspensions, termination.

A physician's agreement at an institution is suspended or ends with the institution's
(zhejiang-2014 二): the hot path derives that from the institution's history
(INSTITUTION_SUSPENDED), so nothing is copied onto the physicians' agreements.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from app.agreements.renewal import renew_at
from app.auth.principal import Principal
from app.core.dates import check_span, covers, overlaps
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
from app.tokens import service as tokens
from app.tokens.schemas import TokenCreated
from app.uow import On, Touch, change
from app.uow.change import snapshot


async def get_institution(session: AsyncSession, code: str) -> Institution:
    return await get_or_404(session, Institution, code, "institution")


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
    async with change(
        session,
        actor,
        "institution.create",
        On("institution", region=data.region),
        Touch.institution(data.code),
    ) as ch:
        inst = ch.add(
            Institution(
                code=data.code,
                name=data.name,
                region_code=data.region,
                approved_physicians=data.approved_physicians,
            )
        )
        await session.flush()
        term = InstitutionTerm(
            institution_code=inst.code,
            starts_on=data.agreement_starts_on,
            ends_on=data.agreement_ends_on,
        )
        session.add(term)
        await session.flush()
        ch.extra["terms"] = [snapshot(term)]
    return inst


async def add_term(
    session: AsyncSession, actor: Principal, code: str, data: TermCreate
) -> InstitutionTerm:
    inst = await get_institution(session, code)
    actor.require_write(inst.region_code)
    check_span(data.starts_on, data.ends_on, first_field="starts_on", last_field="ends_on")
    for t in await repo.terms_of(session, code):
        if overlaps(t.starts_on, t.last_day, data.starts_on, data.ends_on):
            raise Conflict(
                f"The term overlaps the institution's term from {t.starts_on}.",
                slug="term-overlap",
            )
    async with change(
        session,
        actor,
        "institution.term.create",
        On("institution", code, inst.region_code),
        Touch.institution(code),
    ) as ch:
        term = ch.add(
            InstitutionTerm(institution_code=code, starts_on=data.starts_on, ends_on=data.ends_on)
        )
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
        if overlaps(s.starts_on, s.last_day, data.starts_on, data.ends_on):
            raise Conflict(
                f"The institution is already suspended from {s.starts_on}.",
                slug="suspension-overlap",
            )
    async with change(
        session,
        actor,
        "institution.suspend",
        On("institution", code, inst.region_code),
        Touch.institution(code),
    ) as ch:
        susp = ch.add(
            InstitutionSuspension(
                institution_code=code,
                starts_on=data.starts_on,
                ends_on=data.ends_on,
                reason=data.reason,
            )
        )
    return susp


async def resume(
    session: AsyncSession, actor: Principal, code: str, effective_on: date
) -> InstitutionSuspension:
    inst = await get_institution(session, code)
    actor.require_write(inst.region_code)
    for s in await repo.suspensions_of(session, code):
        if s.covers(effective_on):
            async with change(
                session,
                actor,
                "institution.resume",
                On("institution", code, inst.region_code),
                Touch.institution(code),
                subject=s,
            ):
                s.lifted_on = effective_on
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
            async with change(
                session,
                actor,
                "institution.terminate",
                On("institution", inst.code, inst.region_code),
                Touch.institution(inst.code),
                subject=t,
            ):
                t.terminated_on = effective_on
                t.termination_reason = reason
            return t
    raise InvalidTransition(
        f"Institution {inst.code} has no term in force on {effective_on}.", slug="no-term"
    )


async def issue_his_token(session: AsyncSession, actor: Principal, code: str) -> TokenCreated:
    inst = await get_institution(session, code)
    actor.require_write(inst.region_code)
    return await tokens.issue(session, actor, "his", region=inst.region_code, institution=inst.code)
