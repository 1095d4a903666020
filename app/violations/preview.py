"""Previews: what a deduction would trigger, or what upholding an objection would undo,
computed by the pure engine over the physician's real ledger. Nothing is written."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.principal import Principal
from app.core.dates import months_span
from app.core.errors import InvalidTransition
from app.institutions.standing import institution_counts, term_on
from app.ledger import repository as ledger
from app.models import Agreement, Institution
from app.rules import (
    Ban,
    Deduction,
    Firing,
    Policy,
    assess_institution,
    get_policy,
    record_deduction,
    reverse_deduction,
)
from app.violations.schemas import ViolationCreate
from app.violations.service import check_violation, get_violation

PREVIEW_ID = "preview"


@dataclass(frozen=True)
class Consequence:
    """One firing, with the dates it would carry."""

    action: str
    status: str  # applied | pending
    rule_id: str
    clause: str
    text: str
    effective_on: date
    months: int | None
    months_range: tuple[int, int] | None
    ends_on: date | None  # last day of a fixed suspension


@dataclass(frozen=True)
class InstitutionEffect:
    institution_code: str
    approved: int
    revoked_after: int
    ratio: str
    flags: tuple[str, ...]


@dataclass(frozen=True)
class Preview:
    policy: str
    item: str
    item_text: str
    item_clause: str
    points: int
    period: str
    initial: int
    deducted_before: int
    deducted_after: int
    remaining_after: int
    triggered: tuple[Consequence, ...]
    bans: tuple[Ban, ...]
    institutions: tuple[InstitutionEffect, ...] = field(default=())


def _rule_text(policy: Policy, rule_id: str) -> str:
    for t in policy.thresholds:
        if t.id == rule_id:
            return t.text
    for c in policy.consecutive:
        if c.id == rule_id:
            return c.text
    return ""


def consequence(policy: Policy, f: Firing) -> Consequence:
    ends = None
    if f.action == "suspend" and f.status == "applied" and f.months:
        ends = months_span(f.effective_on, f.months)
    return Consequence(
        action=f.action,
        status=f.status,
        rule_id=f.rule_id,
        clause=f.clause,
        text=_rule_text(policy, f.rule_id),
        effective_on=f.effective_on,
        months=f.months,
        months_range=f.months_range,
        ends_on=ends,
    )


async def preview_violation(
    session: AsyncSession, actor: Principal, data: ViolationCreate
) -> Preview:
    """What ``record_violation(data)`` would trigger now, under the same checks."""
    _, policy, points, term = await check_violation(session, actor, data)
    deductions = await ledger.ledger(session, data.physician_code, policy.id)
    events = await ledger.manual_events(session, data.physician_code, policy.id)
    new = Deduction(
        id=PREVIEW_ID,
        item=data.item,
        points=points,
        decided_on=data.decided_on,
        sequence=len(await ledger.violations_of(session, data.physician_code)) + 1,
        region=data.region,
        anchor=term[0] if term is not None else None,
        agreement_ends_on=term[1] if term is not None else None,
        degree=data.degree,
    )
    outcome = record_deduction(policy, deductions, new, manual_events=events)
    before = outcome.before.period(outcome.standing.key)
    triggered = tuple(consequence(policy, f) for f in outcome.triggered)
    item = policy.item(data.item)
    effects: tuple[InstitutionEffect, ...] = ()
    terminating = [f for f in outcome.triggered if f.action == "terminate"]
    if terminating and policy.institution is not None:
        effects = await _institution_effects(
            session, data.physician_code, policy, terminating[0].effective_on
        )
    return Preview(
        policy=policy.id,
        item=data.item,
        item_text=item.text if item else "",
        item_clause=item.clause if item else "",
        points=points,
        period=outcome.standing.key,
        initial=outcome.standing.initial,
        deducted_before=before.deducted if before else 0,
        deducted_after=outcome.standing.deducted,
        remaining_after=outcome.standing.remaining,
        triggered=triggered,
        bans=outcome.diff.bans_added,
        institutions=effects,
    )


async def _institution_effects(
    session: AsyncSession, code: str, policy: Policy, on: date
) -> tuple[InstitutionEffect, ...]:
    """lanzhou-2014 第二十二条: the institutions' ratio once this physician is revoked."""
    rows = (await session.scalars(select(Agreement).where(Agreement.physician_code == code))).all()
    # A policy's rules act only on its own regions' institutions (see reassess_institutions).
    regions = set(await ledger.policy_regions(session, policy.id))
    out = []
    for inst_code in sorted({a.institution_code for a in rows if a.region_code in regions}):
        inst = await session.get(Institution, inst_code)
        term = await term_on(session, inst_code, on)
        if inst is None or term is None:
            continue
        approved, revoked = await institution_counts(session, inst, term, on, policy)
        assessment = assess_institution(policy, approved, revoked + 1)
        ratio = f"{float(assessment.ratio) * 100:.2f}%" if assessment.ratio is not None else "—"
        out.append(
            InstitutionEffect(
                inst_code, approved, revoked + 1, ratio, tuple(f.action for f in assessment.flags)
            )
        )
    return tuple(out)


@dataclass(frozen=True)
class ReversalPreview:
    deducted_before: int
    deducted_after: int
    undone: tuple[Consequence, ...]  # firings that would no longer happen
    bans_lifted: tuple[Ban, ...]


async def preview_reversal(session: AsyncSession, violation_id: str) -> ReversalPreview:
    """What upholding the objection to ``violation_id`` would void."""
    v = await get_violation(session, violation_id)
    if v.reversed_at is not None:
        raise InvalidTransition("The deduction is reversed already.", slug="violation-reversed")
    policy = get_policy(v.policy_id)
    deductions = await ledger.ledger(session, v.physician_code, policy.id)
    events = await ledger.manual_events(session, v.physician_code, policy.id)
    outcome = reverse_deduction(policy, deductions, v.id, manual_events=events)
    before = outcome.before.period(outcome.standing.key)
    changed = tuple(old for old, _ in outcome.diff.changed)
    return ReversalPreview(
        deducted_before=before.deducted if before else 0,
        deducted_after=outcome.standing.deducted,
        undone=tuple(consequence(policy, f) for f in (*outcome.diff.removed, *changed)),
        bans_lifted=outcome.diff.bans_removed,
    )
