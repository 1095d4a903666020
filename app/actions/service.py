"""Discretionary actions (pending until an operator decides) and Zhejiang resumptions."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.actions.months import choose_months, months_open
from app.actions.schemas import (
    ActionDecision,
    ResumptionCreate,
    ResumptionDecision,
)
from app.agreements import repository as agreements_repo
from app.agreements.renewal import renew_at
from app.auth.principal import Principal
from app.calendar.service import work_calendar
from app.core.db import get_or_404
from app.core.errors import Conflict, InvalidTransition, NotFound, RuleViolation, ValidationFailed
from app.institutions.standing import term_on
from app.ledger import repository as ledger
from app.models import Action, ResumptionApplication
from app.points import effects
from app.points.service import counts_for_institution, reassess_institutions
from app.rules import Window, get_policy, resumption_window
from app.uow import On, Touch, change


async def get_action(session: AsyncSession, action_id: str) -> Action:
    return await get_or_404(session, Action, action_id, "action")


async def decide(
    session: AsyncSession, actor: Principal, action_id: str, data: ActionDecision
) -> Action:
    action = await get_action(session, action_id)
    actor.require_write(action.region_code)
    if action.physician_code:
        await ledger.lock_physician(session, action.physician_code)
        await session.refresh(action)
    if months_open(action):  # nhsa-2024: applied at once, the months chosen afterwards
        return await choose_months(session, actor, action, data)
    if action.status != "pending":
        raise InvalidTransition(f"The action is {action.status}, not pending.", slug="not-pending")
    if data.decided_on < action.effective_on:
        raise ValidationFailed([{"field": "decided_on", "message": "before the action arose"}])
    if data.approve and action.type == "suspend":
        lo, hi = action.months_min or 1, action.months_max or 120
        if data.months is None or not lo <= data.months <= hi:
            raise ValidationFailed(
                [{"field": "months", "message": f"give the months, from {lo} to {hi}"}]
            )
    async with change(
        session, actor, "action.decide", On("action", region=action.region_code), subject=action
    ):
        if data.approve:
            action.status = "approved"
            action.months = data.months if action.type == "suspend" else None
        else:
            action.status = "rejected"
        action.decided_on, action.decided_by = data.decided_on, actor.token_id
        await session.flush()
        policy = get_policy(action.policy_id)
        await effects.apply_action(session, actor, action, policy)
        if action.physician_code and counts_for_institution(policy, action.type, action.status):
            # nhsa-2024: an approved suspension counts towards the institution's ratio.
            await reassess_institutions(
                session, actor, action.physician_code, policy, data.decided_on
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
    open_ = await ledger.open_resumption(session, action.id)
    if open_ is not None:
        raise Conflict("An application awaits a decision already.", slug="resumption-open")
    window = resumption_window(policy, action.ends_on, await work_calendar(session))
    # Never refused because a year's holiday schedule is not loaded: a provisional window
    # accepts, and the application is judged again when the year is loaded.
    if window is not None and not window.provisional and not window.admits(data.filed_on):
        _refuse_resumption(window, action.ends_on, data.filed_on)
    async with change(
        session, actor, "resumption.apply", On("action", action.id, action.region_code)
    ) as ch:
        app_ = ch.add(
            ResumptionApplication(
                action_id=action.id,
                filed_on=data.filed_on,
                timely=True,
                window_opens_on=window.opens_on if window else None,
                window_closes_on=window.closes_on if window else None,
                deadline_provisional=window.provisional if window else False,
                note=data.note,
            )
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
    detail = (
        f"Apply from {window.opens_on} up to {window.closes_on}, "
        f"before the suspension's planned end ({ends_on})."
        if window.opens_on is not None
        else f"Apply up to {window.closes_on}, before the suspension's planned end ({ends_on})."
    )
    raise RuleViolation(
        detail,
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
    async with change(
        session,
        actor,
        "resumption.decide",
        On("action", action.id, action.region_code),
        *([Touch.physician(action.physician_code)] if action.physician_code else []),
        subject=app_,
    ):
        app_.approved, app_.decided_on = data.approve, data.decided_on
        susps = await agreements_repo.suspensions_from_action(session, action.id)
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
                    if term is not None and term.ends_on is not None:
                        a.ends_on = max(term.ends_on, a.starts_on)
    return app_
