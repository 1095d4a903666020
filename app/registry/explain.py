"""Why a line was decided as it was: the judgement again, with the fact that decided it.

Pure: registry facts in (the physician, the institution and its region as they stood on
the registry version of the decision), a :class:`LineBasis` out. The reason is computed
by the hot path's own judgement (``judge.py``, on the same compact conversion the
registry uses), so an explanation never disagrees with what the gatekeeper would decide
on those facts; this module only finds the fact behind that reason:

==========================  ==============================================================
reason                      basis facts (``Fact.kind``)
==========================  ==============================================================
CODE_MALFORMED              ``code_format``: the region's pattern the code fails
PHYSICIAN_UNREGISTERED      ``no_physician``
CODE_CANCELLED              ``code_cancellation``: its first and last day
NOT_AT_INSTITUTION          ``no_agreement``: the institution, with ``nearby`` the
                            physician's agreements and visits there that do not cover it
INSTITUTION_SUSPENDED       ``institution_suspension`` (its days),
                            ``institution_termination`` (the term, ``agreement``, ended on
                            ``starts_on``) or ``institution_term`` (no term covers the
                            date; ``nearby`` lists the terms)
AGREEMENT_TERMINATED        ``agreement_termination``: each relevant agreement, from when
AGREEMENT_SUSPENDED         ``agreement_suspension``: each live agreement's suspension
(accept)                    ``agreement`` (the live agreement carrying the line) and/or
                            ``visit`` (the visiting registration here)
==========================  ==============================================================

The record's ids, the operator's reason and the cause (the action, its violation and
clause) are added by :mod:`app.registry.history`, which reads the record.
"""

from __future__ import annotations

from datetime import date

from typing_extensions import TypedDict

from app.registry.compact import Interner, institution_state, region_policy
from app.registry.facts import (
    AgreementFact,
    InstitutionFact,
    PhysicianFact,
    RegionFact,
    VisitFact,
)
from app.registry.judge import (
    AGREEMENT_SUSPENDED,
    AGREEMENT_TERMINATED,
    CODE_CANCELLED,
    CODE_MALFORMED,
    DEFAULT_REGION,
    INSTITUTION_SUSPENDED,
    NOT_AT_INSTITUTION,
    PHYSICIAN_UNREGISTERED,
    InstitutionState,
    judge_entry,
    judge_unknown,
)


class Cause(TypedDict):
    """The action that wrote a fact, and the violation and clause behind it."""

    action_id: str
    action_type: str
    rule_id: str
    clause: str
    violation_id: str | None


class Span(TypedDict):
    kind: str  # "agreement" | "visit" | "institution_term"
    starts_on: str
    ends_on: str | None
    terminated_on: str | None


class Fact(TypedDict):
    kind: str
    institution_code: str | None
    starts_on: str | None  # first day of the fact (a termination: its effective date)
    ends_on: str | None  # last day, None when open-ended
    agreement: Span | None  # the agreement (or institution term) a fact belongs to
    nearby: list[Span]  # what exists but does not cover the date (no_agreement, terms)
    pattern: str | None  # code_format: the region's code pattern
    record_id: str | None  # the record's row (filled from the record)
    note: str | None  # the operator's reason (filled from the record)
    cause: Cause | None  # filled from the record where an action wrote the fact


class LineBasis(TypedDict):
    decision: str  # "accept" | "reject" on these facts
    reason: str | None  # as the contract's line (EMERGENCY_OVERRIDE when overridden)
    overridden: str | None
    rule: str | None  # the reason that applied before any emergency override
    facts: list[Fact]


def fact(kind: str, **kw: object) -> Fact:
    out = Fact(
        kind=kind,
        institution_code=None,
        starts_on=None,
        ends_on=None,
        agreement=None,
        nearby=[],
        pattern=None,
        record_id=None,
        note=None,
        cause=None,
    )
    out.update(kw)  # type: ignore[typeddict-item]
    return out


def _d(iso: str | None) -> date | None:
    return None if iso is None else date.fromisoformat(iso)


def _covers(first: str | None, last: str | None, d: date) -> bool:
    lo, hi = _d(first), _d(last)
    return lo is not None and lo <= d and (hi is None or d <= hi)


def _agreement_span(a: AgreementFact) -> Span:
    return Span(
        kind="agreement",
        starts_on=a["starts_on"],
        ends_on=a["ends_on"],
        terminated_on=a["terminated_on"],
    )


def _terminated(a: AgreementFact, d: date) -> bool:
    t = _d(a["terminated_on"])
    return t is not None and t <= d


def explain_line(
    code: str,
    d: date,
    emergency: bool,
    institution: str,
    physician: PhysicianFact | None,
    inst: InstitutionFact | None,
    region: RegionFact | None,
) -> LineBasis:
    """The verdict on these facts and the facts behind it. ``physician`` is the physician
    the code names (by its YB code, or as its national alias), None when none does."""
    it = Interner()
    policy = (region_policy(region) if region is not None else DEFAULT_REGION).on(d)
    state = institution_state(inst, it) if inst is not None else InstitutionState("", "", (), ())
    rule: str | None
    if physician is None:
        rule = judge_unknown(code, policy.pattern)
    elif code == physician["code"] and not policy.pattern.fullmatch(code):
        rule = CODE_MALFORMED
    else:
        rule = judge_entry(it.entry(physician), institution, d, state.open_on(d))
    result = policy.verdicts[rule][emergency]
    return LineBasis(
        decision=result.decision,
        reason=result.reason,
        overridden=result.overridden,
        rule=rule,
        facts=_facts(rule, d, institution, physician, inst, policy.pattern.pattern),
    )


def _facts(
    rule: str | None,
    d: date,
    institution: str,
    p: PhysicianFact | None,
    inst: InstitutionFact | None,
    pattern: str,
) -> list[Fact]:
    if rule == CODE_MALFORMED:
        return [fact("code_format", pattern=pattern)]
    if rule == PHYSICIAN_UNREGISTERED or p is None:
        return [fact("no_physician")]
    if rule == CODE_CANCELLED:
        return [
            fact("code_cancellation", starts_on=c[0], ends_on=c[1])
            for c in p["cancellations"]
            if _covers(c[0], c[1], d)
        ]
    here = [a for a in p["agreements"] if a["institution"] == institution]
    visits = [v for v in p["visits"] if v["institution"] == institution]
    if rule == NOT_AT_INSTITUTION:
        nearby = [_agreement_span(a) for a in here] + [
            Span(kind="visit", starts_on=v["starts_on"], ends_on=v["ends_on"], terminated_on=None)
            for v in visits
        ]
        return [fact("no_agreement", institution_code=institution, nearby=nearby)]
    if rule == INSTITUTION_SUSPENDED:
        return _institution_facts(d, institution, inst)
    return _agreement_facts(rule, d, institution, p, here, visits)


def _agreement_facts(
    rule: str | None,
    d: date,
    institution: str,
    p: PhysicianFact,
    here: list[AgreementFact],
    visits: list[VisitFact],
) -> list[Fact]:
    """Rules 6 and 7, or the acceptance: the relevant agreements (and visit) decide."""
    relevant = [a for a in here if _covers(a["starts_on"], a["ends_on"], d)]
    visit_facts = [
        fact("visit", institution_code=institution, starts_on=v["starts_on"], ends_on=v["ends_on"])
        for v in visits
        if _covers(v["starts_on"], v["ends_on"], d)
    ]
    if not relevant:  # carried by a visit here: the physician's own agreements decide
        relevant = [a for a in p["agreements"] if _covers(a["starts_on"], a["ends_on"], d)]
    else:
        visit_facts = []
    if rule == AGREEMENT_TERMINATED:
        return visit_facts + [
            fact(
                "agreement_termination",
                institution_code=a["institution"],
                starts_on=a["terminated_on"],
                agreement=_agreement_span(a),
            )
            for a in relevant
        ]
    live = [a for a in relevant if not _terminated(a, d)]
    if rule == AGREEMENT_SUSPENDED:
        out = list(visit_facts)
        for a in live:
            for s in a["suspensions"]:
                if _covers(s[0], s[1], d):
                    out.append(
                        fact(
                            "agreement_suspension",
                            institution_code=a["institution"],
                            starts_on=s[0],
                            ends_on=s[1],
                            agreement=_agreement_span(a),
                        )
                    )
                    break
        return out
    carrying = [a for a in live if not any(_covers(s[0], s[1], d) for s in a["suspensions"])]
    return visit_facts + [
        fact(
            "agreement",
            institution_code=a["institution"],
            starts_on=a["starts_on"],
            ends_on=a["ends_on"],
        )
        for a in carrying
    ]


def _institution_facts(d: date, institution: str, inst: InstitutionFact | None) -> list[Fact]:
    if inst is None:
        return [fact("institution_term", institution_code=institution)]
    for s in inst["suspensions"]:
        if _covers(s[0], s[1], d):
            return [
                fact(
                    "institution_suspension",
                    institution_code=institution,
                    starts_on=s[0],
                    ends_on=s[1],
                )
            ]
    terms = [
        Span(
            kind="institution_term",
            starts_on=t["starts_on"],
            ends_on=t["ends_on"],
            terminated_on=t["terminated_on"],
        )
        for t in inst["terms"]
    ]
    for t in terms:
        if _covers(t["starts_on"], t["ends_on"], d) and t["terminated_on"] is not None:
            # The term would cover the date but was terminated on or before it.
            return [
                fact(
                    "institution_termination",
                    institution_code=institution,
                    starts_on=t["terminated_on"],
                    agreement=t,
                )
            ]
    return [fact("institution_term", institution_code=institution, nearby=terms)]
