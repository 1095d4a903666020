"""Deadlines in working days, as each policy states them.

- objection: within 10 working days of the written notice, taken as ``decided_on``
  (zhejiang-2014 五（一）; the product's rule elsewhere). The deadline is the 10th working
  day after ``decided_on``; an objection filed after it is late.
- resumption application (zhejiang-2014 三（二）): at the latest the 10th working day
  before the suspension's last day.
- resumption decision (zhejiang-2014 三（二）): the 10th working day after receipt.
- notice (lanzhou-2014 第十五条): the 3rd working day after the decision.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from app.rules.model import Deadline, Policy
from app.rules.workdays import add_working_days

DeadlineKind = Literal["objection", "resumption_application", "resumption_decision", "notice"]


def deadline_rule(policy: Policy, kind: DeadlineKind) -> Deadline | None:
    rule: Deadline | None = getattr(policy.deadlines, kind)
    return rule


def deadline(policy: Policy, kind: DeadlineKind, counted_from: date) -> date | None:
    """The last day for ``kind``, counted in working days from the date the policy names
    (``Deadline.counted_from``); ``None`` when the policy sets no such deadline."""
    rule = deadline_rule(policy, kind)
    if rule is None:
        return None
    n = rule.working_days if rule.direction == "after" else -rule.working_days
    return add_working_days(counted_from, n)


def objection_deadline(policy: Policy, decided_on: date) -> date:
    """The last day to object to a deduction decided on ``decided_on``."""
    n = policy.deadlines.objection.working_days
    return add_working_days(decided_on, n)


def objection_is_late(policy: Policy, decided_on: date, filed_on: date) -> bool:
    return filed_on > objection_deadline(policy, decided_on)
