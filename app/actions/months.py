"""nhsa-2024 暂停医保支付资格: 一个自然年度内记分达到9分的，将暂停其医保支付资格1-6个月. The
suspension is mandatory: it is applied when the deduction is decided, running the policy's
``months_default``; the agency chooses the months (within the threshold's range) by the
policy's ``deadlines.suspension_months`` (10 working days from the deduction's decision),
once. Declining is not a choice. Choosing rewrites the suspension's end on the registry."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.actions.schemas import ActionDecision
from app.auth.principal import Principal
from app.calendar.service import work_calendar
from app.core.errors import InvalidTransition, RuleViolation, ValidationFailed
from app.models import Action
from app.points import effects
from app.rules import deadline_counted, get_policy
from app.uow import On, Touch, change


def months_open(action: Action) -> bool:
    """An applied suspension whose months the agency still chooses."""
    return (
        action.type == "suspend"
        and action.status == "applied"
        and action.months_min is not None
        and action.months_max is not None
        and action.months_min != action.months_max
    )


async def choose_months(
    session: AsyncSession, actor: Principal, action: Action, data: ActionDecision
) -> Action:
    policy = get_policy(action.policy_id)
    if not data.approve:
        raise RuleViolation(
            f"{policy.id}: 记分达到9分的暂停为必须执行, 只可选择暂停月数.",
            slug="suspension-mandatory",
            errors=[{"field": "approve", "message": "the suspension is mandatory"}],
        )
    if action.decided_on is not None:
        raise InvalidTransition("The months were chosen already.", slug="months-chosen")
    lo, hi = action.months_min or 1, action.months_max or 1
    if data.months is None or not lo <= data.months <= hi:
        raise ValidationFailed([{"field": "months", "message": f"give the months, {lo} to {hi}"}])
    if data.decided_on < action.effective_on:
        raise ValidationFailed([{"field": "decided_on", "message": "before the action arose"}])
    counted = deadline_counted(
        policy, "suspension_months", action.effective_on, await work_calendar(session)
    )
    if counted is not None and not counted.provisional and data.decided_on > counted.day:
        raise RuleViolation(
            f"The months are chosen by {counted.day}; the suspension runs "
            f"{action.months} month(s) as the policy's default.",
            slug="months-choice-late",
            code="MONTHS_CHOICE_LATE",
            errors=[{"field": "decided_on", "message": f"after {counted.day}"}],
        )
    touch = [Touch.physician(action.physician_code)] if action.physician_code else []
    async with change(
        session,
        actor,
        "action.months",
        On("action", action.id, action.region_code),
        *touch,
        subject=action,
    ):
        await effects.undo_action(session, actor, action)
        action.months = data.months
        action.decided_on, action.decided_by = data.decided_on, actor.token_id
        await session.flush()
        await effects.apply_action(session, actor, action, policy)
    return action
