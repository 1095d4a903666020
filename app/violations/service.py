"""Violations become deductions; an upheld objection reverses one and every consequence
that it alone caused (zhejiang-2014 五（一）)."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import scope
from app.auth.principal import Principal
from app.calendar.service import work_calendar
from app.core.clock import today
from app.core.db import get_or_404
from app.core.errors import Conflict, InvalidTransition, RuleViolation, ValidationFailed
from app.core.settings import get_settings
from app.ledger import repository as ledger
from app.ledger.schemas import ActionOut
from app.models import Action, Objection, Physician, Region, Violation
from app.models.base import utcnow
from app.points.service import reconcile, record_deduction
from app.regions import repository as regions_repo
from app.rules import (
    Policy,
    Replay,
    get_policy,
    objection_deadline_counted,
    resolve_points,
    standing_on,
)
from app.rules.periods import AgreementSpan, agreement_for
from app.uow import On, change
from app.violations.schemas import (
    ObjectionCreate,
    ObjectionDecided,
    ObjectionDecision,
    ObjectionOut,
    PeriodOut,
    ViolationCreate,
    ViolationCreated,
    ViolationOut,
)


def _bad(field: str, message: str) -> ValidationFailed:
    return ValidationFailed([{"field": field, "message": message}])


async def get_violation(session: AsyncSession, violation_id: str) -> Violation:
    return await get_or_404(session, Violation, violation_id, "violation")


async def _term(
    session: AsyncSession, code: str, policy: Policy, region: str, on: date
) -> AgreementSpan | None:
    """Agreement-term policies (lanzhou-2014 第十一条): the agreement whose term a deduction
    decided ``on`` counts in; ``None`` for calendar-year policies."""
    if policy.scoring.period != "agreement_term":
        return None
    found = agreement_for(await ledger.agreement_spans(session, code, policy.id), on)
    if found is None:
        raise _bad("physician_code", f"no agreement under {policy.id} on or before {on}")
    return found


def period_out(
    policy: Policy, replay_result: Replay, on: date, term: AgreementSpan | None
) -> PeriodOut:
    anchor, ends = term if term is not None else (None, None)
    p = standing_on(policy, replay_result, on, anchor, ends)
    return PeriodOut(
        policy=policy.id,
        period=p.key,
        starts_on=p.starts_on,
        ends_on=p.ends_on,
        initial=p.initial,
        deducted=p.deducted,
        remaining=p.remaining,
    )


async def check_violation(
    session: AsyncSession, actor: Principal, data: ViolationCreate
) -> tuple[Region, Policy, int, AgreementSpan | None]:
    """What recording ``data`` needs, checked: (region, policy, points, agreement term)."""
    region = await session.get(Region, data.region)
    if region is None:
        raise _bad("region", f"no region {data.region}")
    actor.require_write(region.code)
    if await session.get(Physician, data.physician_code) is None:
        raise _bad("physician_code", f"no physician {data.physician_code}")
    await scope.require_linked(session, actor, data.physician_code, region.code, data.occurred_on)
    now = today()  # a violation is recorded once it happened and was decided
    ahead = get_settings().violation_future_days
    latest = now + timedelta(days=ahead)
    for field in ("occurred_on", "decided_on"):
        if getattr(data, field) > latest:
            why = f"must not be after today ({now})" if not ahead else f"must not be after {latest}"
            raise _bad(field, why)
    if data.decided_on < data.occurred_on:
        raise _bad("decided_on", "must be on or after occurred_on")
    # The policy version in force on the day it occurred (a later switch rewrites nothing).
    policy = get_policy(await regions_repo.policy_on(session, region, data.occurred_on))
    points = resolve_points(policy, data.item, data.points, degree=data.degree)
    term = await _term(session, data.physician_code, policy, region.code, data.decided_on)
    return region, policy, points, term


async def record_violation(
    session: AsyncSession, actor: Principal, data: ViolationCreate
) -> ViolationCreated:
    """Checked here, then handed down to the points ledger, which writes the deduction and
    what it triggers (``points.service.record_deduction``)."""
    region, policy, points, term = await check_violation(session, actor, data)
    v = Violation(
        physician_code=data.physician_code,
        region_code=region.code,
        policy_id=policy.id,
        item=data.item,
        points=points,
        degree=data.degree,
        occurred_on=data.occurred_on,
        decided_on=data.decided_on,
        anchor=term[0] if term is not None else None,
        note=data.note,
    )
    result, created = await record_deduction(session, actor, v, policy)
    return ViolationCreated(
        **ViolationOut.from_record(v, policy, await work_calendar(session)).model_dump(),
        standing=period_out(policy, result, v.decided_on, term),
        actions=[ActionOut.model_validate(a) for a in created],
    )


async def file_objection(
    session: AsyncSession, actor: Principal, violation_id: str, data: ObjectionCreate
) -> Objection:
    v = await get_violation(session, violation_id)
    actor.require_write(v.region_code)
    if await ledger.objection_to(session, v.id):
        raise Conflict("An objection to this violation exists already.", slug="objection-exists")
    if v.reversed_at is not None:
        raise InvalidTransition("The deduction is reversed already.", slug="violation-reversed")
    if data.filed_on < v.decided_on:
        raise _bad("filed_on", f"before the decision ({v.decided_on})")
    counted = objection_deadline_counted(
        get_policy(v.policy_id), v.decided_on, await work_calendar(session)
    )
    deadline = counted.day
    # A filing is never refused because a year's holiday schedule is not loaded: past a
    # provisional deadline it is accepted, listed, and judged when the year is loaded.
    if data.filed_on > deadline and not counted.provisional:
        raise RuleViolation(
            f"Objections must be filed within 10 working days of {v.decided_on}: "
            f"the last day was {deadline}.",
            slug="objection-late",
            code="OBJECTION_LATE",
            deadline=deadline.isoformat(),
            errors=[{"field": "filed_on", "message": f"after the deadline {deadline}"}],
        )
    async with change(
        session, actor, "objection.create", On("violation", v.id, v.region_code)
    ) as ch:
        obj = ch.add(
            Objection(
                violation_id=v.id,
                filed_on=data.filed_on,
                deadline=deadline,
                deadline_provisional=counted.provisional,
                late=False,
                grounds=data.grounds,
            )
        )
    return obj


async def decide_objection(
    session: AsyncSession, actor: Principal, violation_id: str, data: ObjectionDecision
) -> ObjectionDecided:
    v = await get_violation(session, violation_id)
    actor.require_write(v.region_code)
    obj = await ledger.objection_to(session, v.id)
    if obj is None:
        raise InvalidTransition("No objection was filed.", slug="no-objection")
    if obj.upheld is not None:
        raise InvalidTransition("The objection is decided already.", slug="objection-decided")
    if data.decided_on < obj.filed_on:
        raise _bad("decided_on", f"before the objection was filed ({obj.filed_on})")
    policy = get_policy(v.policy_id)
    await ledger.lock_physician(session, v.physician_code)
    async with change(
        session, actor, "objection.decide", On("violation", v.id, v.region_code), subject=obj
    ):
        obj.upheld, obj.decided_on = data.upheld, data.decided_on
        was_live = {
            a.id for a in await ledger.actions_of(session, v.physician_code) if a.status != "voided"
        }
        if data.upheld:
            v.reversed_at, v.reversed_on = utcnow(), data.decided_on
    result, _ = await reconcile(session, actor, v.physician_code, policy)
    voided: list[Action] = [
        a
        for a in await ledger.actions_of(session, v.physician_code)
        if a.id in was_live and a.status == "voided"
    ]
    return ObjectionDecided(
        **ObjectionOut.model_validate(obj).model_dump(),
        standing=period_out(
            policy,
            result,
            v.decided_on,
            await _term(session, v.physician_code, policy, v.region_code, v.decided_on),
        ),
        voided_actions=[ActionOut.model_validate(a) for a in voided],
    )
