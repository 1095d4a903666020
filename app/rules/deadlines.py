"""Deadlines in working days, as each policy states them.

- objection: within 10 working days of the written notice, taken as ``decided_on``
  (zhejiang-2014 五（一）; the product's rule elsewhere). The deadline is the 10th working
  day after ``decided_on``; an objection filed after it is late.
- resumption application (zhejiang-2014 三（二） 在中止期满前10个工作日内): counted back from
  the suspension's last day; the policy's ``window`` says which reading applies
  (``at_least``: on or before the 10th working day before it; ``within``: from that day up
  to the last day).
- resumption decision (zhejiang-2014 三（二）): the 10th working day after receipt.
- notice (lanzhou-2014 第十五条): the 3rd working day after the decision.

The ``*_counted`` functions never refuse: in a year whose holiday schedule is not known
to the calendar they count on the provisional rule and mark the result provisional
(:mod:`app.rules.workdays`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from app.rules.model import Deadline, Policy
from app.rules.workdays import SHIPPED, Counted, WorkCalendar, add_working_days, count_working_days

DeadlineKind = Literal[
    "objection", "resumption_application", "resumption_decision", "notice", "suspension_months"
]


def deadline_rule(policy: Policy, kind: DeadlineKind) -> Deadline | None:
    rule: Deadline | None = getattr(policy.deadlines, kind)
    return rule


def _signed(rule: Deadline) -> int:
    return rule.working_days if rule.direction == "after" else -rule.working_days


def deadline(
    policy: Policy, kind: DeadlineKind, counted_from: date, calendar: WorkCalendar = SHIPPED
) -> date | None:
    """The day ``kind`` is counted to, in working days from the date the policy names
    (``Deadline.counted_from``); ``None`` when the policy sets no such deadline. Strict:
    raises ``CalendarOutOfRange`` outside the calendar's years."""
    rule = deadline_rule(policy, kind)
    if rule is None:
        return None
    return add_working_days(counted_from, _signed(rule), calendar)


def deadline_counted(
    policy: Policy, kind: DeadlineKind, counted_from: date, calendar: WorkCalendar = SHIPPED
) -> Counted | None:
    """As :func:`deadline`, never refusing (provisional outside the calendar's years)."""
    rule = deadline_rule(policy, kind)
    if rule is None:
        return None
    return count_working_days(counted_from, _signed(rule), calendar)


def objection_deadline(policy: Policy, decided_on: date, calendar: WorkCalendar = SHIPPED) -> date:
    """The last day to object to a deduction decided on ``decided_on`` (strict)."""
    return add_working_days(decided_on, policy.deadlines.objection.working_days, calendar)


def objection_deadline_counted(
    policy: Policy, decided_on: date, calendar: WorkCalendar = SHIPPED
) -> Counted:
    """The last day to object, provisional when a year on the way is not loaded."""
    return count_working_days(decided_on, policy.deadlines.objection.working_days, calendar)


def objection_is_late(
    policy: Policy, decided_on: date, filed_on: date, calendar: WorkCalendar = SHIPPED
) -> bool:
    return filed_on > objection_deadline(policy, decided_on, calendar)


@dataclass(frozen=True)
class Window:
    """When an application may be filed: ``opens_on`` (None: any time before) to
    ``closes_on``, both inclusive."""

    opens_on: date | None
    closes_on: date
    provisional: bool

    def admits(self, filed_on: date) -> bool:
        return (self.opens_on is None or self.opens_on <= filed_on) and filed_on <= self.closes_on


def resumption_window(
    policy: Policy, suspension_last_day: date, calendar: WorkCalendar = SHIPPED
) -> Window | None:
    """zhejiang-2014 三（二）: when a suspended physician may apply to resume, under the
    policy's reading of 在中止期满前10个工作日内; ``None`` when the policy has no such rule."""
    rule = policy.deadlines.resumption_application
    if rule is None:
        return None
    counted = count_working_days(suspension_last_day, _signed(rule), calendar)
    if rule.direction == "before" and rule.window == "within":
        return Window(counted.day, suspension_last_day, counted.provisional)
    return Window(None, counted.day, counted.provisional)
