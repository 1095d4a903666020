"""The institution's standing from its physicians' revocations (lanzhou-2014 第二十二条).

Within one term, revoked physicians over the institution's approved (核定) physicians:
≥ 2% → ``institution_flag`` (no A grade this year, −5); ≥ 5% → ``institution_terminate``
(−10). For the second step a small institution counts heads instead of the percentage:
fewer than 20 approved → 2 revoked, fewer than 10 → 1 revoked. nhsa-2024 ships its
published example (20% / 50% of staff suspended or terminated) as data.

Every threshold that holds is returned (the 5% step does not hide the 2% one: both
deductions of the annual assessment apply).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Literal

from app.rules.errors import InvalidInput
from app.rules.model import ActionType, InstitutionThreshold, Policy, Status

Basis = Literal["percent", "small_institution"]


@dataclass(frozen=True)
class InstitutionFlag:
    threshold_id: str
    action: ActionType
    status: Status
    basis: Basis
    effect: str
    clause: str


@dataclass(frozen=True)
class InstitutionAssessment:
    approved: int
    revoked: int  # what ``counts`` names: revoked, or suspended or terminated
    ratio: Fraction | None  # revoked / approved; None when nothing is approved
    flags: tuple[InstitutionFlag, ...]


def _holds(t: InstitutionThreshold, approved: int, revoked: int) -> Basis | None:
    small = sorted(t.small, key=lambda s: s.approved_below)
    for rule in small:
        if approved < rule.approved_below:
            return "small_institution" if revoked >= rule.revoked_at_least else None
    if approved == 0:
        return None
    percent = Fraction(Decimal(t.percent))
    return "percent" if Fraction(revoked * 100, approved) >= percent else None


def assess_institution(policy: Policy, approved: int, revoked: int) -> InstitutionAssessment:
    """The flags that hold for an institution with ``approved`` physicians of whom
    ``revoked`` were revoked within the institution's term (policy.institution.counts and
    .period say exactly what to count). A policy without institution rules flags nothing."""
    if approved < 0:
        raise InvalidInput("approved cannot be negative", field="approved")
    if revoked < 0:
        raise InvalidInput("revoked cannot be negative", field="revoked")
    flags: list[InstitutionFlag] = []
    rules = policy.institution.thresholds if policy.institution is not None else []
    for t in rules:
        basis = _holds(t, approved, revoked)
        if basis is not None:
            flags.append(
                InstitutionFlag(
                    threshold_id=t.id,
                    action=t.action,
                    status=t.status,
                    basis=basis,
                    effect=t.effect,
                    clause=t.clause,
                )
            )
    return InstitutionAssessment(
        approved=approved,
        revoked=revoked,
        ratio=Fraction(revoked, approved) if approved else None,
        flags=tuple(flags),
    )
