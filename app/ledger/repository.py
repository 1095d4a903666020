"""Reading a physician's ledger under one policy, and the physician lock."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import (
    Action,
    Agreement,
    AgreementSuspension,
    Ban,
    CodeCancellation,
    InstitutionSuspension,
    InstitutionTerm,
    Objection,
    Physician,
    Region,
    Repair,
    ResumptionApplication,
    Violation,
)
from app.rules.bans import AgreementDates
from app.rules.engine import Deduction, ManualEvent
from app.rules.loader import get_policy
from app.rules.periods import AgreementSpan, agreement_for


async def lock_physician(session: AsyncSession, code: str) -> Physician | None:
    """Serialise every points write of one physician (row lock until commit)."""
    stmt = select(Physician).where(Physician.code == code).with_for_update()
    return await session.scalar(stmt)


async def has_points_history(session: AsyncSession, code: str) -> bool:
    """Whether the physician has any violation, code cancellation or points action: with
    none, a replay of its ledger changes nothing."""
    for model in (Violation, CodeCancellation, Action):
        found = await session.scalar(select(model.id).where(model.physician_code == code).limit(1))
        if found is not None:
            return True
    return False


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
            a.effective_terminated_on,
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
        degree=v.degree,
    )


async def repairs_of(
    session: AsyncSession, code: str, policy_id: str | None = None
) -> list[Repair]:
    stmt = select(Repair).where(Repair.physician_code == code)
    if policy_id is not None:
        stmt = stmt.where(Repair.policy_id == policy_id)
    return list((await session.scalars(stmt.order_by(Repair.sequence, Repair.id))).all())


def repair_as_deduction(r: Repair) -> Deduction:
    """A 记分修复 in the engine's ledger: ``points`` restored (``means`` set)."""
    return Deduction(
        id=r.id,
        item="repair",
        points=r.points,
        decided_on=r.decided_on,
        sequence=r.sequence,
        region=r.region_code,
        means=r.means,
    )


async def ledger(session: AsyncSession, code: str, policy_id: str) -> list[Deduction]:
    """Non-reversed deductions of the physician under the policy (all its regions pool)."""
    spans = None
    if get_policy(policy_id).scoring.period == "agreement_term":
        spans = await agreement_spans(session, code, policy_id)
    deductions = [
        as_deduction(v, spans)
        for v in await violations_of(session, code, policy_id)
        if not v.reversed_at
    ]
    repairs = await repairs_of(session, code, policy_id)
    return deductions + [repair_as_deduction(r) for r in repairs if r.reversed_at is None]


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


async def subject_actions(session: AsyncSession, subject: str, period_key: str) -> list[Action]:
    """Actions against one subject (e.g. ``institution:H…``) in one period."""
    stmt = select(Action).where(Action.subject == subject, Action.period_key == period_key)
    return list((await session.scalars(stmt)).all())


async def actions_against(session: AsyncSession, subject: str) -> list[Action]:
    stmt = select(Action).where(Action.subject == subject).order_by(Action.created_at)
    return list((await session.scalars(stmt)).all())


async def objection_to(session: AsyncSession, violation_id: str) -> Objection | None:
    return await session.scalar(select(Objection).where(Objection.violation_id == violation_id))


async def objections_to(session: AsyncSession, violation_ids: list[str]) -> list[Objection]:
    stmt = select(Objection).where(Objection.violation_id.in_(violation_ids))
    return list((await session.scalars(stmt)).all())


async def open_resumption(session: AsyncSession, action_id: str) -> ResumptionApplication | None:
    """The resumption application of the action that awaits a decision, if any."""
    stmt = select(ResumptionApplication).where(
        ResumptionApplication.action_id == action_id, ResumptionApplication.approved.is_(None)
    )
    return await session.scalar(stmt)


async def written_by(
    session: AsyncSession, action_id: str
) -> tuple[list[AgreementSuspension], list[Agreement], list[InstitutionTerm]]:
    """What an automatic action wrote: suspensions, agreement terminations, term ends."""
    susps = await session.scalars(
        select(AgreementSuspension).where(AgreementSuspension.source_action_id == action_id)
    )
    ended = await session.scalars(select(Agreement).where(Agreement.source_action_id == action_id))
    terms = await session.scalars(
        select(InstitutionTerm).where(InstitutionTerm.source_action_id == action_id)
    )
    return list(susps.all()), list(ended.all()), list(terms.all())


async def institution_suspensions_by(
    session: AsyncSession, action_id: str
) -> list[InstitutionSuspension]:
    """Settlement suspensions an institution action wrote (暂停定点医药机构医保结算)."""
    stmt = select(InstitutionSuspension).where(InstitutionSuspension.source_action_id == action_id)
    return list((await session.scalars(stmt)).all())


def actions_query(
    status: str | None, region: str | None, physician: str | None, *, months_open: bool = False
) -> Select[Any]:
    stmt = select(Action).order_by(Action.created_at, Action.id)
    if months_open:  # applied, with a range of months, not chosen yet (app.actions.months)
        stmt = stmt.where(
            Action.type == "suspend",
            Action.status == "applied",
            Action.months_min != Action.months_max,
            Action.decided_on.is_(None),
        )
    if status:
        stmt = stmt.where(Action.status == status)
    if region:
        stmt = stmt.where(Action.region_code == region)
    if physician:
        stmt = stmt.where(Action.physician_code == physician)
    return stmt


def violations_query(physician: str | None, region: str | None) -> Select[Any]:
    stmt = select(Violation).order_by(Violation.created_at, Violation.id)
    if physician:
        stmt = stmt.where(Violation.physician_code == physician)
    if region:
        stmt = stmt.where(Violation.region_code == region)
    return stmt
