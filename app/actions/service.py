"""Discretionary actions (pending until an operator decides) and Zhejiang resumptions."""

from __future__ import annotations

from datetime import date, timedelta
from fractions import Fraction
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.actions.schemas import (
    ActionDecision,
    InstitutionStanding,
    ResumptionCreate,
    ResumptionDecision,
    ratio_text,
)
from app.admin.auth import Principal
from app.agreements.renewal import renew_at
from app.audit import service as audit
from app.calendar.service import work_calendar
from app.core.db import get_or_404
from app.core.errors import Conflict, InvalidTransition, NotFound, RuleViolation, ValidationFailed
from app.institutions.service import get_institution
from app.models import Action, AgreementSuspension, Region, ResumptionApplication
from app.points import effects, ledger
from app.points.service import (
    counts_for_institution,
    institution_counts,
    reassess_institutions,
    term_on,
)
from app.rules import Window, assess_institution, get_policy, resumption_window
from app.sync.outbox import touch
from app.violations.schemas import ActionOut


async def get_action(session: AsyncSession, action_id: str) -> Action:
    return await get_or_404(session, Action, action_id, "action")


def actions_query(status: str | None, region: str | None, physician: str | None) -> Select[Any]:
    stmt = select(Action).order_by(Action.created_at, Action.id)
    if status:
        stmt = stmt.where(Action.status == status)
    if region:
        stmt = stmt.where(Action.region_code == region)
    if physician:
        stmt = stmt.where(Action.physician_code == physician)
    return stmt


async def decide(
    session: AsyncSession, actor: Principal, action_id: str, data: ActionDecision
) -> Action:
    action = await get_action(session, action_id)
    actor.require_write(action.region_code)
    if action.physician_code:
        await ledger.lock_physician(session, action.physician_code)
        await session.refresh(action)
    if action.status != "pending":
        raise InvalidTransition(f"The action is {action.status}, not pending.", slug="not-pending")
    if data.decided_on < action.effective_on:
        raise ValidationFailed([{"field": "decided_on", "message": "before the action arose"}])
    before = audit.snapshot(action)
    if data.approve:
        lo, hi = action.months_min or 1, action.months_max or 120
        if data.months is None or not lo <= data.months <= hi:
            raise ValidationFailed(
                [{"field": "months", "message": f"give the months, from {lo} to {hi}"}]
            )
        action.months, action.status = data.months, "approved"
    else:
        action.status = "rejected"
    action.decided_on, action.decided_by = data.decided_on, actor.token_id
    await session.flush()
    policy = get_policy(action.policy_id)
    await effects.apply_action(session, actor, action, policy)
    if action.physician_code and counts_for_institution(policy, action.type, action.status):
        # nhsa-2024: an approved suspension counts towards the institution's ratio.
        await reassess_institutions(session, actor, action.physician_code, policy, data.decided_on)
    audit.record(
        session,
        actor,
        "action.decide",
        "action",
        action.id,
        region=action.region_code,
        before=before,
        after=audit.snapshot(action),
    )
    return action


async def apply_resumption(
    session: AsyncSession, actor: Principal, action_id: str, data: ResumptionCreate
) -> ResumptionApplication:
    """zhejiang-2014 三（二）: apply at least 10 working days before the planned end."""
    action = await get_action(session, action_id)
    actor.require_write(action.region_code)
    policy = get_policy(action.policy_id)
    live = action.status in ("applied", "approved")
    if action.type != "suspend" or not live or action.ends_on is None:
        raise InvalidTransition(
            "Only a suspension in force takes a resumption application.", slug="not-a-suspension"
        )
    if policy.suspension.resumes != "on_approved_application":
        raise InvalidTransition(
            f"Under {policy.id} suspensions end by themselves.", slug="resumption-not-needed"
        )
    open_ = await session.scalar(
        select(ResumptionApplication).where(
            ResumptionApplication.action_id == action.id, ResumptionApplication.approved.is_(None)
        )
    )
    if open_ is not None:
        raise Conflict("An application awaits a decision already.", slug="resumption-open")
    window = resumption_window(policy, action.ends_on, await work_calendar(session))
    # Never refused because a year's holiday schedule is not loaded: a provisional window
    # accepts, and the application is judged again when the year is loaded.
    if window is not None and not window.provisional and not window.admits(data.filed_on):
        _refuse_resumption(window, action.ends_on, data.filed_on)
    app_ = ResumptionApplication(
        action_id=action.id,
        filed_on=data.filed_on,
        timely=True,
        window_opens_on=window.opens_on if window else None,
        window_closes_on=window.closes_on if window else None,
        deadline_provisional=window.provisional if window else False,
        note=data.note,
    )
    session.add(app_)
    await session.flush()
    audit.record(
        session,
        actor,
        "resumption.apply",
        "action",
        action.id,
        region=action.region_code,
        after=audit.snapshot(app_),
    )
    return app_


def _refuse_resumption(window: Window, ends_on: date, filed_on: date) -> None:
    """zhejiang-2014 三（二） 在中止期满前10个工作日内, as the policy file reads it."""
    if window.opens_on is not None and filed_on < window.opens_on:
        raise RuleViolation(
            f"Apply within the last 10 working days before the suspension's planned end "
            f"({ends_on}): from {window.opens_on} to {window.closes_on}.",
            slug="resumption-early",
            errors=[{"field": "filed_on", "message": f"before {window.opens_on}"}],
        )
    first = f"from {window.opens_on} " if window.opens_on is not None else ""
    raise RuleViolation(
        f"Apply {first}up to {window.closes_on}, before the suspension's planned end ({ends_on}).",
        slug="resumption-late",
        errors=[{"field": "filed_on", "message": f"after {window.closes_on}"}],
    )


async def decide_resumption(
    session: AsyncSession, actor: Principal, application_id: str, data: ResumptionDecision
) -> ResumptionApplication:
    app_ = await session.get(ResumptionApplication, application_id)
    if app_ is None:
        raise NotFound(f"No resumption application {application_id}.")
    action = await get_action(session, app_.action_id)
    actor.require_write(action.region_code)
    if app_.approved is not None:
        raise InvalidTransition("The application is decided already.", slug="resumption-decided")
    before = audit.snapshot(app_)
    app_.approved, app_.decided_on = data.approve, data.decided_on
    susps = (
        await session.scalars(
            select(AgreementSuspension).where(
                AgreementSuspension.source_action_id == action.id,
                AgreementSuspension.voided_at.is_(None),
            )
        )
    ).all()
    targets = await effects.target_agreements(
        session, action.physician_code or "", action.policy_id, action.effective_on
    )
    if data.approve and action.ends_on is not None:
        for s in susps:
            s.resumed_on = action.ends_on + timedelta(days=1)
        await session.flush()
        for inst in sorted({a.institution_code for a in targets}):
            await renew_at(session, actor, inst)
    elif not data.approve:
        # The suspension runs on until the agreement ends, and it is not renewed.
        for a in targets:
            a.no_renewal = a.no_renewal or "suspension_not_lifted"
            if a.ends_on is None:
                term = await term_on(session, a.institution_code, data.decided_on)
                if term is not None and term.ends_on is not None and term.ends_on >= a.starts_on:
                    a.ends_on = term.ends_on
    await session.flush()
    audit.record(
        session,
        actor,
        "resumption.decide",
        "action",
        action.id,
        region=action.region_code,
        before=before,
        after=audit.snapshot(app_),
    )
    if action.physician_code:
        touch(session, physicians=[action.physician_code])
    return app_


async def institution_standing(
    session: AsyncSession, code: str, as_of: date
) -> InstitutionStanding:
    inst = await get_institution(session, code)
    region = await session.get(Region, inst.region_code)
    policy = get_policy(region.policy if region else "")
    term = await term_on(session, code, as_of)
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
    rows = (
        await session.scalars(
            select(Action)
            .where(Action.subject == f"institution:{code}")
            .order_by(Action.created_at)
        )
    ).all()
    return InstitutionStanding(
        institution_code=code,
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
