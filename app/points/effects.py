"""What an action does to the dated registry, and how it is undone.

- ``suspend``: a suspension of each of the physician's agreements under the policy, from
  the action's effective date for its months. Where the policy's suspensions end by
  themselves (lanzhou-2014 第十七条) the interval is closed; where they run on until an
  approved resumption (zhejiang-2014 三（二）) it is open and the planned end is kept on
  the action.
- ``terminate``: each of those agreements ends on the effective date (kind "violation").
- ``institution_terminate``: the institution's own term ends (lanzhou-2014 第二十二条).
- ``institution_flag``: a record, and where the threshold says so a suspension of the
  institution's settlement (nhsa-2024 暂停定点医药机构医保结算).
- ``interview``: a record only.

Undo (objection upheld) voids what the action wrote: suspensions, terminations, an
institution's termination. Nothing is deleted; the audit log keeps before and after.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from app.agreements import repository as agreements_repo
from app.agreements import service as agreements
from app.auth.principal import Principal
from app.core.dates import months_span
from app.institutions import service as institutions
from app.ledger import repository as ledger
from app.ledger.repository import policy_regions
from app.models import Action, Agreement, Institution, InstitutionSuspension
from app.models.base import utcnow
from app.rules.model import Policy
from app.uow import On, Touch, change


async def target_agreements(
    session: AsyncSession, code: str, policy_id: str, on: date
) -> list[Agreement]:
    """The physician's agreements under the policy that have not ended before ``on``."""
    regions = set(await policy_regions(session, policy_id))
    out = []
    for a in await agreements_repo.agreements_of(session, code):
        if a.region_code in regions and not a.ended_before(on):
            out.append(a)
    return out


async def apply_action(
    session: AsyncSession, actor: Principal, action: Action, policy: Policy
) -> None:
    if action.status not in ("applied", "approved"):
        return
    if action.type == "suspend" and action.physician_code and action.months:
        # A pending suspension runs from the operator's decision, an applied one from the
        # deduction's decision (Action.starts_on, what every page shows).
        start = action.starts_on
        action.ends_on = months_span(start, action.months)
        open_ended = policy.suspension.resumes == "on_approved_application"
        for a in await target_agreements(session, action.physician_code, action.policy_id, start):
            await _cut_overlaps(session, a, start)
            await agreements.add_suspension(
                session,
                actor,
                a,
                start,
                None if open_ended else action.ends_on,
                f"{action.clause} ({action.rule_id})",
                source_action_id=action.id,
            )
    elif action.type == "terminate" and action.physician_code:
        for a in await target_agreements(
            session, action.physician_code, action.policy_id, action.effective_on
        ):
            await agreements.end_agreement(
                session,
                actor,
                a,
                max(action.effective_on, a.starts_on),
                f"{action.clause} ({action.rule_id})",
                kind="violation",
                source_action_id=action.id,
            )
    elif action.type == "institution_flag" and action.institution_code:
        await _suspend_settlement(session, actor, action, policy)
    elif action.type == "institution_terminate" and action.institution_code:
        inst = await session.get(Institution, action.institution_code)
        if inst is not None:
            term = await institutions.end_term(
                session, actor, inst, action.effective_on, f"{action.clause} ({action.rule_id})"
            )
            term.source_action_id = action.id


async def _suspend_settlement(
    session: AsyncSession, actor: Principal, action: Action, policy: Policy
) -> None:
    """nhsa-2024 暂停定点医药机构医保结算: an institution threshold that suspends settlement
    acts on the hot path as a dated fact from the day it applies (its approval, when the
    policy leaves it to the operator): an open suspension of the institution, undone
    (voided) on review like any action's writes."""
    rules = policy.institution
    rule = next((t for t in rules.thresholds if t.id == action.rule_id), None) if rules else None
    code = action.institution_code
    if rule is None or not rule.suspends_settlement or code is None:
        return
    start = action.decided_on if action.status == "approved" and action.decided_on else None
    async with change(
        session,
        actor,
        "institution.suspend",
        On("institution", code, action.region_code),
        Touch.institution(code),
    ) as ch:
        ch.add(
            InstitutionSuspension(
                institution_code=code,
                starts_on=start or action.effective_on,
                ends_on=None,
                reason=f"{rule.effect or rule.clause} ({action.clause}; {action.rule_id})",
                source_action_id=action.id,
            )
        )


async def enforce_termination(
    session: AsyncSession, actor: Principal, action: Action
) -> list[Agreement]:
    """A termination ends every agreement under the policy that holds on its effective
    date, whatever the order of writes: an agreement registered after the termination but
    dated over it (starts on or before, ends on or after) is ended too (kind
    "violation"), so no line is paid on it after the termination. Idempotent."""
    if action.type != "terminate" or action.status != "applied" or not action.physician_code:
        return []
    on = action.effective_on
    ended: list[Agreement] = []
    for a in await target_agreements(session, action.physician_code, action.policy_id, on):
        if a.starts_on <= on and (a.terminated_on is None or a.termination_voided_at is not None):
            await agreements.end_agreement(
                session,
                actor,
                a,
                on,
                f"{action.clause} ({action.rule_id})",
                kind="violation",
                source_action_id=action.id,
            )
            ended.append(a)
    return ended


async def _cut_overlaps(session: AsyncSession, a: Agreement, start: date) -> None:
    """A new automatic suspension replaces one in force: the earlier one ends the day before."""
    for s in (await agreements_repo.suspensions_by_agreement(session, [a.id]))[a.id]:
        end = s.last_day
        if s.starts_on < start and (end is None or end >= start):
            s.resumed_on = start
        elif s.starts_on >= start:
            s.voided_at = utcnow()
    await session.flush()


async def undo_action(session: AsyncSession, actor: Principal, action: Action) -> None:
    """Void everything ``action`` wrote to the registry."""
    now = utcnow()
    susps, ended, terms = await ledger.written_by(session, action.id)
    physician = [Touch.physician(action.physician_code)] if action.physician_code else []
    async with change(session, None, "action.undo", On("action"), *physician):
        for s in susps:
            s.voided_at = now
    for a in ended:
        async with change(
            session,
            actor,
            "agreement.termination.void",
            On("agreement", region=a.region_code),
            subject=a,
        ):
            a.termination_voided_at = now
    for held in await ledger.institution_suspensions_by(session, action.id):
        if held.voided_at is None:
            async with change(
                session,
                actor,
                "institution.suspension.void",
                On("institution", held.institution_code),
                Touch.institution(held.institution_code),
                subject=held,
            ):
                held.voided_at = now
    for t in terms:
        async with change(
            session,
            actor,
            "institution.termination.void",
            On("institution", t.institution_code),
            Touch.institution(t.institution_code),
            subject=t,
        ):
            t.terminated_on, t.termination_reason, t.source_action_id = None, None, None
