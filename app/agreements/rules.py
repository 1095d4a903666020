"""Every rule a new agreement must pass, as one pure check over what the record says.

``create_agreement`` loads the :class:`Prior` of one physician; the roster import loads
those of 100,000 in bulk; both call :func:`check_new_agreement`, so the two paths cannot
drift apart.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from app.core.dates import add_years, check_span, overlaps
from app.core.errors import Conflict, ValidationFailed
from app.models import Agreement, Ban, CodeCancellation, Institution, InstitutionTerm
from app.rules import Policy


@dataclass(frozen=True, slots=True)
class Prior:
    """What the record says about a physician that bears on a new agreement at one
    institution: the code's live cancellations, its bans, its agreements there, and the
    institution's own terms."""

    cancellations: list[CodeCancellation]
    bans: list[Ban]
    at_institution: list[Agreement]
    institution_terms: list[InstitutionTerm]


def cancellation_covering(
    cancellations: Iterable[CodeCancellation], day: date
) -> CodeCancellation | None:
    """Of a code's cancellations, the live one in force on ``day``."""
    for c in cancellations:
        if c.voided_at is None and c.covers(day):
            return c
    return None


def ban_in_force(bans: Iterable[Ban], policy_id: str, region: str, day: date) -> Ban | None:
    """Of a physician's bans, the one in force on ``day`` against a new agreement in
    ``region`` under ``policy_id``."""
    for b in bans:
        in_scope = b.region_code is None or b.region_code == region
        if b.policy_id != policy_id or b.voided_at is not None or not in_scope:
            continue
        if b.starts_on <= day <= b.ends_on:
            return b
    return None


def check_new_agreement(
    code: str,
    inst: Institution,
    policy: Policy,
    starts_on: date,
    ends_on: date | None,
    prior: Prior,
) -> date | None:
    """DomainError naming what stops the agreement; else its last day as it will be
    stored (the policy's fixed term filled in)."""
    check_span(starts_on, ends_on, first_field="starts_on", last_field="ends_on")
    if not any(t.covers(starts_on) for t in prior.institution_terms):
        raise Conflict(
            f"Institution {inst.code} has no agreement term covering {starts_on}.",
            slug="institution-not-contracted",
        )
    cancelled = cancellation_covering(prior.cancellations, starts_on)
    if cancelled is not None:
        raise Conflict(
            f"Code {code} is cancelled from {cancelled.effective_on}.",
            slug="code-cancelled",
            effective_on=cancelled.effective_on.isoformat(),
        )
    ban = ban_in_force(prior.bans, policy.id, inst.region_code, starts_on)
    if ban is not None:
        raise Conflict(
            f"{code} may not take a new agreement under {policy.id} until "
            f"{ban.ends_on} ({ban.clause}).",
            slug="registration-banned",
            ban_ends_on=ban.ends_on.isoformat(),
            clause=ban.clause,
        )
    last = fixed_term_end(policy, starts_on, ends_on)
    if last is None and policy.agreement and policy.agreement.renews_with_institution:
        # zhejiang-2014 二 协议期限与其所属定点医疗机构服务协议期限一致: the agreement runs to
        # the institution's term end, and renews with it (app.agreements.renewal).
        last = term_end_on(prior.institution_terms, starts_on)
    for other in prior.at_institution:
        if overlaps(other.starts_on, other.last_day, starts_on, ends_on):
            raise Conflict(
                f"Agreement {other.id} at {inst.code} overlaps these dates.",
                slug="agreement-overlap",
                agreement_id=other.id,
            )
    return last


def fixed_term_end(policy: Policy, starts_on: date, ends_on: date | None) -> date | None:
    """lanzhou-2014 第六条（三） 协议期限为两年: an agreement without ``ends_on`` runs the fixed
    term; one stated longer is refused (422 naming ``ends_on``), never paid past it."""
    rules = policy.agreement
    if rules is None or rules.max_years is None:
        return ends_on
    last = add_years(starts_on, rules.max_years) - timedelta(days=1)
    if ends_on is None:
        return last
    if ends_on > last:
        raise ValidationFailed(
            [
                {
                    "field": "ends_on",
                    "message": f"{policy.id} agreements run at most {rules.max_years} years "
                    f"({rules.clause}): the last day is {last}",
                }
            ]
        )
    return ends_on


def term_end_on(terms: list[InstitutionTerm], day: date) -> date | None:
    """The last day of the institution term covering ``day``; ``None`` when that term is
    open-ended or no term covers ``day``."""
    for t in terms:
        if t.starts_on <= day and (t.ends_on is None or day <= t.ends_on):
            return t.ends_on
    return None
