"""Reading a physician's ledger under one policy, and the physician lock."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Action, Agreement, Ban, CodeCancellation, Physician, Region, Violation
from app.rules.bans import AgreementDates
from app.rules.engine import Deduction, ManualEvent
from app.rules.loader import get_policy
from app.rules.periods import AgreementSpan, agreement_for


async def lock_physician(session: AsyncSession, code: str) -> Physician | None:
    """Serialise every points write of one physician (row lock until commit)."""
    stmt = select(Physician).where(Physician.code == code).with_for_update()
    return await session.scalar(stmt)


async def policy_regions(session: AsyncSession, policy_id: str) -> list[str]:
    stmt = select(Region.code).where(Region.policy == policy_id)
    return list((await session.scalars(stmt)).all())


async def violations_of(
    session: AsyncSession, code: str, policy_id: str | None = None
) -> list[Violation]:
    stmt = select(Violation).where(Violation.physician_code == code)
    if policy_id is not None:
        stmt = stmt.where(Violation.policy_id == policy_id)
    return list((await session.scalars(stmt.order_by(Violation.sequence))).all())


async def agreement_spans(session: AsyncSession, code: str, policy_id: str) -> list[AgreementSpan]:
    """(starts_on, ends_on) of the physician's agreements in the regions running the policy
    (their stated dates: a termination does not move a term)."""
    stmt = (
        select(Agreement.starts_on, Agreement.ends_on)
        .join(Region, Region.code == Agreement.region_code)
        .where(Agreement.physician_code == code, Region.policy == policy_id)
    )
    return [(s, e) for s, e in (await session.execute(stmt)).all()]


async def agreement_dates(session: AsyncSession, code: str, policy_id: str) -> list[AgreementDates]:
    """(region, starts_on, ends_on, terminated_on) of the physician's agreements under the
    policy; a voided termination does not count."""
    stmt = (
        select(Agreement)
        .join(Region, Region.code == Agreement.region_code)
        .where(Agreement.physician_code == code, Region.policy == policy_id)
    )
    return [
        (
            a.region_code,
            a.starts_on,
            a.ends_on,
            a.terminated_on if a.termination_voided_at is None else None,
        )
        for a in (await session.scalars(stmt)).all()
    ]


def as_deduction(v: Violation, spans: list[AgreementSpan] | None = None) -> Deduction:
    """The engine's view of a violation. Agreement-term policies (lanzhou-2014 第十一条):
    the term is the one of the agreement the deduction falls under, chosen from the
    agreements as they are now (``spans``), so a replay from scratch finds the same."""
    anchor, ends = v.anchor, None
    if spans is not None:
        found = agreement_for(spans, v.decided_on)
        if found is not None:
            anchor, ends = found
    return Deduction(
        id=v.id,
        item=v.item,
        points=v.points,
        decided_on=v.decided_on,
        sequence=v.sequence,
        region=v.region_code,
        anchor=anchor if spans is not None else None,
        agreement_ends_on=ends,
    )


async def ledger(session: AsyncSession, code: str, policy_id: str) -> list[Deduction]:
    """Non-reversed deductions of the physician under the policy (all its regions pool)."""
    spans = None
    if get_policy(policy_id).scoring.period == "agreement_term":
        spans = await agreement_spans(session, code, policy_id)
    return [
        as_deduction(v, spans)
        for v in await violations_of(session, code, policy_id)
        if not v.reversed_at
    ]


async def next_sequence(session: AsyncSession, code: str) -> int:
    return len(await violations_of(session, code)) + 1


async def manual_events(session: AsyncSession, code: str, policy_id: str) -> list[ManualEvent]:
    """Code cancellations decided by an operator cause bans too (zhejiang-2014 三（二）)."""
    regions = await policy_regions(session, policy_id)
    stmt = select(CodeCancellation).where(
        CodeCancellation.physician_code == code, CodeCancellation.voided_at.is_(None)
    )
    out = []
    for c in (await session.scalars(stmt)).all():
        if c.source_action_id is None and regions:
            out.append(
                ManualEvent(ref=f"cancel/{c.id}", kind="cancel_code", effective_on=c.effective_on)
            )
    return out


async def actions_of(
    session: AsyncSession, code: str, policy_id: str | None = None
) -> list[Action]:
    stmt = select(Action).where(Action.physician_code == code)
    if policy_id is not None:
        stmt = stmt.where(Action.policy_id == policy_id)
    return list((await session.scalars(stmt.order_by(Action.created_at, Action.id))).all())


async def bans_of(session: AsyncSession, code: str, policy_id: str | None = None) -> list[Ban]:
    stmt = select(Ban).where(Ban.physician_code == code)
    if policy_id is not None:
        stmt = stmt.where(Ban.policy_id == policy_id)
    return list((await session.scalars(stmt.order_by(Ban.starts_on))).all())


async def ban_on(
    session: AsyncSession, code: str, policy_id: str, region: str, day: date
) -> Ban | None:
    """The ban in force on ``day`` against a new agreement in ``region``, if any."""
    for b in await bans_of(session, code, policy_id):
        in_scope = b.region_code is None or b.region_code == region
        if b.voided_at is None and in_scope and b.starts_on <= day <= b.ends_on:
            return b
    return None
