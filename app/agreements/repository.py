from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.agreements.rules import ban_in_force, cancellation_covering
from app.models import Agreement, AgreementSuspension, Ban, CodeCancellation, InstitutionTerm


async def agreements_of(session: AsyncSession, physician_code: str) -> list[Agreement]:
    stmt = (
        select(Agreement)
        .where(Agreement.physician_code == physician_code)
        .order_by(Agreement.starts_on, Agreement.id)
    )
    return list((await session.scalars(stmt)).all())


async def at_institution(
    session: AsyncSession, physician_code: str, institution_code: str
) -> list[Agreement]:
    stmt = select(Agreement).where(
        Agreement.physician_code == physician_code,
        Agreement.institution_code == institution_code,
    )
    return list((await session.scalars(stmt)).all())


async def at_institution_all(session: AsyncSession, institution_code: str) -> list[Agreement]:
    stmt = (
        select(Agreement)
        .where(Agreement.institution_code == institution_code)
        .order_by(Agreement.starts_on, Agreement.id)
    )
    return list((await session.scalars(stmt)).all())


async def institution_terms(session: AsyncSession, institution_code: str) -> list[InstitutionTerm]:
    """The institution's terms, in order (what an agreement at it renews with)."""
    stmt = (
        select(InstitutionTerm)
        .where(InstitutionTerm.institution_code == institution_code)
        .order_by(InstitutionTerm.starts_on)
    )
    return list((await session.scalars(stmt)).all())


async def suspensions_by_agreement(
    session: AsyncSession, agreement_ids: Sequence[str]
) -> dict[str, list[AgreementSuspension]]:
    out: dict[str, list[AgreementSuspension]] = defaultdict(list)
    if not agreement_ids:
        return out
    stmt = (
        select(AgreementSuspension)
        .where(
            AgreementSuspension.agreement_id.in_(list(agreement_ids)),
            AgreementSuspension.voided_at.is_(None),
        )
        .order_by(AgreementSuspension.starts_on)
    )
    for s in (await session.scalars(stmt)).all():
        out[s.agreement_id].append(s)
    return out


async def suspensions_from_action(
    session: AsyncSession, action_id: str
) -> list[AgreementSuspension]:
    """The live suspensions an automatic action wrote."""
    stmt = select(AgreementSuspension).where(
        AgreementSuspension.source_action_id == action_id,
        AgreementSuspension.voided_at.is_(None),
    )
    return list((await session.scalars(stmt)).all())


# ---- what may stop a new agreement (or a visit): a cancelled code, a ban ----


async def cancellations_of(session: AsyncSession, code: str) -> list[CodeCancellation]:
    stmt = (
        select(CodeCancellation)
        .where(CodeCancellation.physician_code == code, CodeCancellation.voided_at.is_(None))
        .order_by(CodeCancellation.effective_on)
    )
    return list((await session.scalars(stmt)).all())


async def cancellation_on(session: AsyncSession, code: str, day: date) -> CodeCancellation | None:
    return cancellation_covering(await cancellations_of(session, code), day)


async def bans_of(session: AsyncSession, code: str, policy_id: str) -> list[Ban]:
    stmt = select(Ban).where(Ban.physician_code == code, Ban.policy_id == policy_id)
    return list((await session.scalars(stmt.order_by(Ban.starts_on))).all())


async def ban_on(
    session: AsyncSession, code: str, policy_id: str, region: str, day: date
) -> Ban | None:
    """The ban in force on ``day`` against a new agreement in ``region``, if any."""
    return ban_in_force(await bans_of(session, code, policy_id), policy_id, region, day)


def agreements_query(physician: str | None, institution: str | None) -> Select[Any]:
    stmt = select(Agreement).order_by(Agreement.created_at, Agreement.id)
    if physician:
        stmt = stmt.where(Agreement.physician_code == physician)
    if institution:
        stmt = stmt.where(Agreement.institution_code == institution)
    return stmt
