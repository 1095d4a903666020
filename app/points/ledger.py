"""Reading a physician's ledger under one policy, and the physician lock."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Action, Ban, CodeCancellation, Physician, Region, Violation
from app.rules.engine import Deduction, ManualEvent


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


def as_deduction(v: Violation) -> Deduction:
    return Deduction(
        id=v.id,
        item=v.item,
        points=v.points,
        decided_on=v.decided_on,
        sequence=v.sequence,
        region=v.region_code,
        anchor=v.anchor,
    )


async def ledger(session: AsyncSession, code: str, policy_id: str) -> list[Deduction]:
    """Non-reversed deductions of the physician under the policy (all its regions pool)."""
    return [
        as_deduction(v) for v in await violations_of(session, code, policy_id) if not v.reversed_at
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
