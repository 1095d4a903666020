"""The policy file format: one model for every region's policy (staff, degrees and
repair in ``app.rules.staff``). A policy file (``app/rules/policies/<id>.toml``) is data:
the item catalogue with the document's own ids, the thresholds of the points period and
their actions, the bans, the institution thresholds, the deadlines and the code format.
Every rule carries ``clause`` (where to find it in the document, e.g.
``"lanzhou-2014 第十七条"``) and ``text`` (the document's words).
``schemas/policy.schema.json`` is generated from these models.

Points and months are either one number (fixed) or ``[min, max]`` (a range the operator
chooses from); both are held as a ``(min, max)`` tuple.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from app.rules.fields import Clause, FixedOrRange, Percent, PolicyModel
from app.rules.staff import DegreeRule, RepairRules, StaffRules

ActionType = Literal[
    "interview", "suspend", "terminate", "cancel_code", "institution_flag", "institution_terminate"
]
PHYSICIAN_ACTIONS: frozenset[str] = frozenset({"interview", "suspend", "terminate", "cancel_code"})
INSTITUTION_ACTIONS: frozenset[str] = frozenset({"institution_flag", "institution_terminate"})
Status = Literal["applied", "pending"]
# The contract's reasons, in judgement order; an emergency line may escape those listed.
Reason = Literal[
    "CODE_MALFORMED",
    "PHYSICIAN_UNREGISTERED",
    "CODE_CANCELLED",
    "NOT_AT_INSTITUTION",
    "INSTITUTION_SUSPENDED",
    "AGREEMENT_TERMINATED",
    "AGREEMENT_SUSPENDED",
]
ALL_REASONS: tuple[Reason, ...] = (
    "CODE_MALFORMED",
    "PHYSICIAN_UNREGISTERED",
    "CODE_CANCELLED",
    "NOT_AT_INSTITUTION",
    "INSTITUTION_SUSPENDED",
    "AGREEMENT_TERMINATED",
    "AGREEMENT_SUSPENDED",
)


class CodeFormat(PolicyModel):
    pattern: str = Field(description="regex a well-formed physician code matches (YB code)")
    alias_pattern: str | None = Field(
        default=None, description="regex of an accepted alias code (national staff code)"
    )
    clause: Clause
    text: str = ""


class Scoring(PolicyModel):
    initial_points: int = Field(ge=1)
    period: Literal["calendar_year", "agreement_term"]
    term_years: int | None = Field(
        default=None, ge=1, description="length of an agreement term (agreement_term only)"
    )
    clause: Clause
    text: str = ""


class Item(PolicyModel):
    id: str = Field(min_length=1, description="the document's own numbering")
    points: FixedOrRange
    clause: Clause
    text: str = ""

    @property
    def is_range(self) -> bool:
        return self.points[0] != self.points[1]


class Threshold(PolicyModel):
    """Fires once per period when the period's deducted points reach ``reaches``."""

    id: str = Field(min_length=1)
    reaches: int = Field(ge=1)
    severity: int = Field(ge=1, description="the most severe reached wins; unique")
    action: ActionType
    status: Status
    months: FixedOrRange | None = None
    months_default: int | None = Field(
        default=None,
        ge=1,
        description="an applied suspend with a range: the months it runs until the operator "
        "chooses within deadlines.suspension_months (nhsa-2024 暂停1-6个月)",
    )
    clause: Clause
    text: str = ""


class ConsecutiveRule(PolicyModel):
    """Fires when ``periods`` consecutive periods (this one the last) each deducted at
    least ``each_at_least``."""

    id: str = Field(min_length=1)
    periods: int = Field(ge=2)
    each_at_least: int = Field(ge=1)
    severity: int = Field(ge=1)
    action: ActionType
    status: Status
    months: FixedOrRange | None = None
    clause: Clause
    text: str = ""


class BanRule(PolicyModel):
    """No new agreement for ``years`` after a termination or a code cancellation.

    Among the rules matching an event, the longest applies.
    """

    id: str = Field(min_length=1)
    on: Literal["terminate", "cancel_code"]
    years: int = Field(ge=1)
    min_prior_terminations: int = Field(
        default=0, ge=0, description="applies only after this many earlier terminations"
    )
    single_deduction: bool = Field(
        default=False,
        description="applies only when one deduction alone carried the threshold's points",
    )
    scope: Literal["region", "policy"] = Field(
        description="region: the regions whose agreements ended; policy: every region "
        "running this policy (province-wide for a provincial policy)"
    )
    clause: Clause
    text: str = ""


class SmallInstitution(PolicyModel):
    approved_below: int = Field(ge=1)
    revoked_at_least: int = Field(ge=1)


class InstitutionThreshold(PolicyModel):
    id: str = Field(min_length=1)
    percent: Percent
    small: tuple[SmallInstitution, ...] = Field(
        default=(),
        strict=False,
        description="for institutions with fewer approved physicians than approved_below, "
        "the count revoked_at_least replaces the percentage (smallest matching bound wins)",
    )
    action: ActionType
    status: Status
    effect: str = ""
    suspends_settlement: bool = Field(
        default=False,
        description="once applied or approved, the institution's settlement is suspended "
        "from its effective date (暂停定点医药机构医保结算): lines there are rejected",
    )
    clause: Clause
    text: str = ""


class InstitutionRules(PolicyModel):
    counts: Literal["revoked", "suspended_or_terminated"] = Field(
        description="which physicians the numerator counts"
    )
    period: Literal["agreement_term", "calendar_year"]
    thresholds: tuple[InstitutionThreshold, ...] = Field(strict=False)


class Deadline(PolicyModel):
    working_days: int = Field(ge=1)
    direction: Literal["after", "before"]
    counted_from: Literal["decided_on", "suspension_last_day", "application_received_on"]
    window: Literal["at_least", "within"] = Field(
        default="at_least",
        description="direction 'before' only. at_least: on or before the n-th working day "
        "before the date (at least n working days ahead); within: inside the last n "
        "working days before it, from the n-th working day before up to the date itself "
        "(zhejiang-2014 三（二） 在中止期满前10个工作日内, read literally)",
    )
    clause: Clause
    text: str = ""


class Deadlines(PolicyModel):
    objection: Deadline
    resumption_application: Deadline | None = None
    resumption_decision: Deadline | None = None
    notice: Deadline | None = None
    suspension_months: Deadline | None = None


class AgreementRules(PolicyModel):
    """The physician's own agreement: how long it runs and whether it renews."""

    max_years: int | None = Field(
        default=None,
        ge=1,
        description="fixed agreement term (lanzhou-2014 第六条（三） 协议期限为两年): an "
        "agreement without ends_on runs this long, and a longer one is refused",
    )
    renews_with_institution: bool = Field(
        default=False,
        description="an agreement ending with the institution's term renews when the "
        "institution renews, unless terminated or the physician asked to end it "
        "(zhejiang-2014 二; 协议样本 第十三条)",
    )
    clause: Clause
    text: str = ""


class Suspension(PolicyModel):
    resumes: Literal["by_itself", "on_approved_application"]
    clause: Clause
    text: str = ""


class Emergency(PolicyModel):
    override: tuple[Reason, ...] = Field(default=ALL_REASONS, strict=False)
    clause: Clause
    text: str = ""


class Policy(PolicyModel):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    title: str = Field(min_length=1)
    source: str = Field(min_length=1, description="the source document")
    published_on: date | None = None
    code: CodeFormat
    scoring: Scoring
    items: tuple[Item, ...] = Field(min_length=1, strict=False)
    thresholds: tuple[Threshold, ...] = Field(default=(), strict=False)
    consecutive: tuple[ConsecutiveRule, ...] = Field(default=(), strict=False)
    bans: tuple[BanRule, ...] = Field(default=(), strict=False)
    agreement: AgreementRules | None = None
    suspension: Suspension
    institution: InstitutionRules | None = None
    deadlines: Deadlines
    emergency: Emergency
    staff: StaffRules = StaffRules()
    degrees: tuple[DegreeRule, ...] = Field(default=(), strict=False)
    repair: RepairRules | None = None

    @property
    def code_pattern(self) -> str:
        return self.code.pattern

    @property
    def alias_pattern(self) -> str | None:
        return self.code.alias_pattern

    @property
    def emergency_override(self) -> frozenset[str]:
        return frozenset(self.emergency.override)

    @property
    def initial_points(self) -> int:
        return self.scoring.initial_points

    def item(self, item_id: str) -> Item | None:
        return next((i for i in self.items if i.id == item_id), None)

    @model_validator(mode="after")
    def _coherent(self) -> Policy:
        problems = _problems(self)
        if problems:
            # One "key.path: message" per line; the loader splits them back.
            raise PydanticCustomError("policy", "{problems}", {"problems": "\n".join(problems)})
        return self


def _problems(p: Policy) -> list[str]:
    out: list[str] = []
    for key, pattern in (("code.pattern", p.code.pattern), ("code.alias_pattern", p.alias_pattern)):
        if pattern is not None:
            try:
                re.compile(pattern)
            except re.error as exc:
                out.append(f"{key}: not a valid regex: {exc}")
    s = p.scoring
    if (s.period == "agreement_term") != (s.term_years is not None):
        out.append("scoring.term_years: required for agreement_term, not allowed otherwise")
    seen: set[str] = set()
    for n, item in enumerate(p.items):
        if item.id in seen:
            out.append(f"items[{n}].id: duplicate item id {item.id!r}")
        seen.add(item.id)
        out += _range_problems(f"items[{n}].points", item.points)
    rules: list[tuple[str, Threshold | ConsecutiveRule]] = [
        *((f"thresholds[{n}]", t) for n, t in enumerate(p.thresholds)),
        *((f"consecutive[{n}]", c) for n, c in enumerate(p.consecutive)),
    ]
    ids: set[str] = set()
    severities: set[int] = set()
    for path, rule in rules:
        if rule.id in ids:
            out.append(f"{path}.id: duplicate rule id {rule.id!r}")
        if rule.severity in severities:
            out.append(f"{path}.severity: duplicate severity {rule.severity}")
        ids.add(rule.id)
        severities.add(rule.severity)
        default = rule.months_default if isinstance(rule, Threshold) else None
        out += _action_problems(
            path, rule.action, rule.status, rule.months, PHYSICIAN_ACTIONS, default
        )
        if isinstance(rule, Threshold) and rule.reaches > s.initial_points:
            out.append(f"{path}.reaches: {rule.reaches} exceeds initial_points")
    ban_ids = [b.id for b in p.bans]
    out += [
        f"bans[{n}].id: duplicate ban id {b!r}" for n, b in enumerate(ban_ids) if b in ban_ids[:n]
    ]
    if p.institution is not None:
        for n, it in enumerate(p.institution.thresholds):
            path = f"institution.thresholds[{n}]"
            out += _action_problems(path, it.action, it.status, None, INSTITUTION_ACTIONS)
            if not Decimal(0) < it.percent <= Decimal(100):
                out.append(f"{path}.percent: must be in (0, 100]")
    if len(set(p.emergency.override)) != len(p.emergency.override):
        out.append("emergency.override: duplicate reason")
    return out


def _range_problems(path: str, value: tuple[int, int]) -> list[str]:
    low, high = value
    if low < 1:
        return [f"{path}: must be at least 1"]
    if high < low:
        return [f"{path}: max {high} is below min {low}"]
    return []


def _action_problems(
    path: str,
    action: str,
    status: str,
    months: tuple[int, int] | None,
    allowed: frozenset[str],
    default: int | None = None,
) -> list[str]:
    if action not in allowed:
        return [f"{path}.action: {action!r} is not one of {sorted(allowed)}"]
    if action != "suspend":
        return [f"{path}.months: only a suspend carries months"] if months is not None else []
    if months is None:
        return [f"{path}.months: required for a suspend"]
    if default is not None and not months[0] <= default <= months[1]:
        return [f"{path}.months_default: outside months"]
    if status == "applied" and months[0] != months[1] and default is None:
        return [f"{path}.months: an applied suspend needs fixed months or months_default"]
    return _range_problems(f"{path}.months", months)
