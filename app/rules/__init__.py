"""The pure rules engine of ybgate: policies as data, points, thresholds, bans, deadlines.

No I/O beyond reading the shipped policy files, no clock reads, no HTTP, no database:
every date is a parameter. Map :class:`RulesError` subclasses (``slug``, ``field``) onto
problem+json at the edge.
"""

from app.rules.bans import Ban, ban_for_event, ban_rule_for
from app.rules.deadlines import (
    DeadlineKind,
    Window,
    deadline,
    deadline_counted,
    objection_deadline,
    objection_deadline_counted,
    objection_is_late,
    resumption_window,
)
from app.rules.engine import (
    Deduction,
    Firing,
    ManualEvent,
    PeriodStanding,
    Replay,
    replay,
    resolve_points,
    standing_on,
)
from app.rules.errors import (
    CalendarOutOfRange,
    InvalidInput,
    InvalidLedger,
    PointsMismatch,
    PointsOutOfRange,
    PointsRequired,
    PolicyFileError,
    RulesError,
    UnknownItem,
    UnknownPolicy,
)
from app.rules.institution import InstitutionAssessment, InstitutionFlag, assess_institution
from app.rules.loader import get_policy, list_policies, load_policy_file, parse_policy
from app.rules.model import ALL_REASONS, Policy
from app.rules.outcome import Outcome, ReplayDiff, diff, record_deduction, reverse_deduction
from app.rules.periods import Period, period_of
from app.rules.workdays import (
    SHIPPED,
    Counted,
    WorkCalendar,
    YearSchedule,
    add_working_days,
    count_working_days,
    is_working_day,
    working_days_between,
)

__all__ = [
    "ALL_REASONS",
    "SHIPPED",
    "Ban",
    "CalendarOutOfRange",
    "Counted",
    "DeadlineKind",
    "Deduction",
    "Firing",
    "InstitutionAssessment",
    "InstitutionFlag",
    "InvalidInput",
    "InvalidLedger",
    "ManualEvent",
    "Outcome",
    "Period",
    "PeriodStanding",
    "PointsMismatch",
    "PointsOutOfRange",
    "PointsRequired",
    "Policy",
    "PolicyFileError",
    "Replay",
    "ReplayDiff",
    "RulesError",
    "UnknownItem",
    "UnknownPolicy",
    "Window",
    "WorkCalendar",
    "YearSchedule",
    "add_working_days",
    "assess_institution",
    "ban_for_event",
    "ban_rule_for",
    "count_working_days",
    "deadline",
    "deadline_counted",
    "diff",
    "get_policy",
    "is_working_day",
    "list_policies",
    "load_policy_file",
    "objection_deadline",
    "objection_deadline_counted",
    "objection_is_late",
    "parse_policy",
    "period_of",
    "record_deduction",
    "replay",
    "resolve_points",
    "resumption_window",
    "reverse_deduction",
    "standing_on",
    "working_days_between",
]
