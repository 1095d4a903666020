"""Every query the console makes that no domain repository already offers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.clock import SHANGHAI
from app.models import (
    Action,
    Agreement,
    ApiToken,
    AuditEntry,
    ConsoleSession,
    Institution,
    Objection,
    Physician,
    Region,
    ResumptionApplication,
    SettlementDecision,
    Violation,
)
from app.registry import decision_codec as codec

SEARCH_LIMIT = 50
CHART_MAX_DECISIONS = 200_000


# ---- sessions ----


async def session_with_token(
    session: AsyncSession, id_hash: str
) -> tuple[ConsoleSession, ApiToken] | None:
    stmt = (
        select(ConsoleSession, ApiToken)
        .join(ApiToken, ApiToken.id == ConsoleSession.token_id)
        .where(ConsoleSession.id_hash == id_hash)
    )
    row = (await session.execute(stmt)).first()
    return None if row is None else (row[0], row[1])


async def token_by_hash(session: AsyncSession, token_hash: str) -> ApiToken | None:
    stmt = select(ApiToken).where(ApiToken.token_hash == token_hash, ApiToken.revoked_at.is_(None))
    return await session.scalar(stmt)


async def delete_session(session: AsyncSession, id_hash: str) -> None:
    await session.execute(delete(ConsoleSession).where(ConsoleSession.id_hash == id_hash))


async def delete_expired(session: AsyncSession, now: datetime) -> None:
    await session.execute(delete(ConsoleSession).where(ConsoleSession.expires_at < now))


# ---- look-ups ----


async def regions(session: AsyncSession) -> list[Region]:
    return list((await session.scalars(select(Region).order_by(Region.code))).all())


async def search_physicians(session: AsyncSession, q: str) -> list[Physician]:
    """By code, national (D) code, certificate number (prefix) or name (part)."""
    q = q.strip()
    stmt = (
        select(Physician)
        .where(
            or_(
                Physician.code == q.upper(),
                Physician.code.startswith(q.upper()),
                Physician.national_code == q.upper(),
                Physician.certificate_no.startswith(q),
                Physician.name.contains(q),
            )
        )
        .order_by(Physician.code)
        .limit(SEARCH_LIMIT)
    )
    return list((await session.scalars(stmt)).all())


async def institutions(session: AsyncSession) -> list[Institution]:
    return list((await session.scalars(select(Institution).order_by(Institution.code))).all())


async def institution_names(session: AsyncSession) -> dict[str, str]:
    rows = await session.execute(select(Institution.code, Institution.name))
    return {code: name for code, name in rows.all()}


async def agreements_at(session: AsyncSession, code: str) -> list[tuple[Agreement, Physician]]:
    stmt = (
        select(Agreement, Physician)
        .join(Physician, Physician.code == Agreement.physician_code)
        .where(Agreement.institution_code == code)
        .order_by(Agreement.physician_code, Agreement.starts_on)
        .limit(500)
    )
    return [(a, p) for a, p in (await session.execute(stmt)).all()]


async def agreement_counts(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(select(Agreement.institution_code, Agreement.id))
    out: dict[str, int] = {}
    for inst, _ in rows.all():
        out[inst] = out.get(inst, 0) + 1
    return out


async def his_tokens(session: AsyncSession, institution: str) -> list[ApiToken]:
    stmt = (
        select(ApiToken)
        .where(ApiToken.role == "his", ApiToken.institution_code == institution)
        .order_by(ApiToken.created_at)
    )
    return list((await session.scalars(stmt)).all())


# ---- work queues ----


async def pending_actions(session: AsyncSession) -> list[Action]:
    stmt = select(Action).where(Action.status == "pending").order_by(Action.effective_on)
    return list((await session.scalars(stmt.limit(500))).all())


async def open_objections(session: AsyncSession) -> list[tuple[Objection, Violation]]:
    stmt = (
        select(Objection, Violation)
        .join(Violation, Violation.id == Objection.violation_id)
        .where(Objection.upheld.is_(None))
        .order_by(Objection.filed_on)
        .limit(500)
    )
    return [(o, v) for o, v in (await session.execute(stmt)).all()]


async def objection_of(session: AsyncSession, violation_id: str) -> Objection | None:
    return await session.scalar(select(Objection).where(Objection.violation_id == violation_id))


async def objections_for(session: AsyncSession, ids: Sequence[str]) -> dict[str, Objection]:
    if not ids:
        return {}
    stmt = select(Objection).where(Objection.violation_id.in_(list(ids)))
    return {o.violation_id: o for o in (await session.scalars(stmt)).all()}


async def open_resumptions(
    session: AsyncSession,
) -> list[tuple[ResumptionApplication, Action]]:
    stmt = (
        select(ResumptionApplication, Action)
        .join(Action, Action.id == ResumptionApplication.action_id)
        .where(ResumptionApplication.approved.is_(None))
        .order_by(ResumptionApplication.filed_on)
        .limit(500)
    )
    return [(r, a) for r, a in (await session.execute(stmt)).all()]


async def live_suspensions(session: AsyncSession) -> list[Action]:
    """Suspensions the points engine put in force (applied or approved), not voided."""
    stmt = (
        select(Action)
        .where(
            Action.type == "suspend",
            Action.status.in_(("applied", "approved")),
            Action.ends_on.is_not(None),
        )
        .order_by(Action.ends_on)
        .limit(500)
    )
    return list((await session.scalars(stmt)).all())


async def resumptions_of(session: AsyncSession, action_id: str) -> list[ResumptionApplication]:
    stmt = (
        select(ResumptionApplication)
        .where(ResumptionApplication.action_id == action_id)
        .order_by(ResumptionApplication.filed_on)
    )
    return list((await session.scalars(stmt)).all())


# ---- decision log and audit ----


async def decision_lines_since(
    session: AsyncSession, since: datetime
) -> list[tuple[datetime, list[Any]]]:
    """(decided_at, lines) of the decisions with a rejected line since ``since``."""
    d = SettlementDecision
    stmt = (
        select(d.decision_id, d.physicians, d.encoded_lines)
        .where(d.decision_id >= codec.id_floor(since), d.outcome_code != 0)
        .order_by(d.decision_id.desc())
        .limit(CHART_MAX_DECISIONS)  # bounded: the 工作台 never reads an unbounded log
    )
    out: list[tuple[datetime, list[Any]]] = []
    for did, codes, blob in (await session.execute(stmt)).all():
        out.append((codec.decided_at(did), codec.decode_lines(blob, codes)[0]))
    return out


async def audit_entries(
    session: AsyncSession,
    *,
    action: str | None,
    target_type: str | None,
    target_id: str | None,
    region: str | None,
    since: date | None,
    until: date | None,
    offset: int,
    limit: int,
) -> list[AuditEntry]:
    stmt = select(AuditEntry).order_by(AuditEntry.id.desc())
    if action:
        stmt = stmt.where(AuditEntry.action.startswith(action))
    if target_type:
        stmt = stmt.where(AuditEntry.target_type == target_type)
    if target_id:
        stmt = stmt.where(AuditEntry.target_id == target_id)
    if region:
        stmt = stmt.where(AuditEntry.region_code == region)
    if since:
        stmt = stmt.where(AuditEntry.at >= datetime.combine(since, datetime.min.time(), SHANGHAI))
    if until:
        stmt = stmt.where(AuditEntry.at < datetime.combine(until, datetime.min.time(), SHANGHAI))
    return list((await session.scalars(stmt.offset(offset).limit(limit + 1))).all())


async def recent_violations(session: AsyncSession, since: date) -> list[Violation]:
    stmt = (
        select(Violation)
        .where(Violation.decided_on >= since, Violation.reversed_at.is_(None))
        .order_by(Violation.decided_on)
        .limit(500)
    )
    return list((await session.scalars(stmt)).all())


async def physician_names(session: AsyncSession, codes: Sequence[str]) -> dict[str, str]:
    if not codes:
        return {}
    rows = await session.execute(
        select(Physician.code, Physician.name).where(Physician.code.in_(list(set(codes))))
    )
    return {code: name for code, name in rows.all()}
