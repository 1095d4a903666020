"""Every query the console makes that no domain repository already offers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import Text, and_, cast, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.clock import SHANGHAI
from app.core.errors import NotFound
from app.ledger import repository as ledger
from app.models import (
    Action,
    Agreement,
    ApiToken,
    AuditEntry,
    ConsoleReveal,
    ConsoleSession,
    Institution,
    Objection,
    Physician,
    Region,
    ResumptionApplication,
    SettlementDecision,
    Violation,
    Visit,
)
from app.registry import decision_codec as codec

SEARCH_LIMIT = 50


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


# ---- one-time reveals ----


async def add_reveal(session: AsyncSession, row: ConsoleReveal, now: datetime) -> None:
    """Keep ``row``, removing every expired reveal on the way."""
    await delete_expired_reveals(session, now)
    session.add(row)
    await session.flush()


async def delete_expired_reveals(session: AsyncSession, now: datetime) -> None:
    await session.execute(delete(ConsoleReveal).where(ConsoleReveal.expires_at < now))


async def pop_reveal(
    session: AsyncSession, handle_hash: str, session_hash: str, scope: str
) -> tuple[str, datetime] | None:
    """Delete the reveal of this handle, session and scope (another session's or scope's
    stays where it is) and return its (sealed value, expiry), or None."""
    stmt = (
        delete(ConsoleReveal)
        .where(
            ConsoleReveal.handle_hash == handle_hash,
            ConsoleReveal.session_hash == session_hash,
            ConsoleReveal.scope == scope,
        )
        .returning(ConsoleReveal.sealed, ConsoleReveal.expires_at)
    )
    row = (await session.execute(stmt)).first()
    return None if row is None else (row[0], row[1])


@dataclass(frozen=True, slots=True)
class AuditFilter:
    physician: str | None = None
    institution: str | None = None
    actor: str | None = None
    action: str | None = None
    target_type: str | None = None
    region: str | None = None
    since: date | None = None
    until: date | None = None


# ---- look-ups ----


async def regions(session: AsyncSession) -> list[Region]:
    return list((await session.scalars(select(Region).order_by(Region.code))).all())


async def search_physicians(
    session: AsyncSession, q: str, region: str | None = None
) -> list[Physician]:
    """By code, national (D) code, certificate number (prefix) or name (part); with
    ``region``, only the staff linked to it (an agreement or a visit there, at any time)."""
    q = q.strip()
    stmt = select(Physician).where(
        or_(
            Physician.code == q.upper(),
            Physician.code.startswith(q.upper()),
            Physician.national_code == q.upper(),
            Physician.certificate_no.startswith(q),
            Physician.name.contains(q),
        )
    )
    if region is not None:
        agreed = select(Agreement.physician_code).where(Agreement.region_code == region)
        visiting = select(Visit.physician_code).where(Visit.region_code == region)
        stmt = stmt.where(or_(Physician.code.in_(agreed), Physician.code.in_(visiting)))
    stmt = stmt.order_by(Physician.code).limit(SEARCH_LIMIT)
    return list((await session.scalars(stmt)).all())


async def physician_code(session: AsyncSession, code: str) -> str | None:
    """The physician's own (``YB``) code for ``code`` or a national (``D``…) alias of it."""
    key = code.strip().upper()
    if await session.get(Physician, key) is not None:
        return key
    return await session.scalar(
        select(Physician.code).where(Physician.national_code == key).limit(1)
    )


async def institutions(session: AsyncSession, region: str | None = None) -> list[Institution]:
    stmt = select(Institution).order_by(Institution.code)
    if region is not None:
        stmt = stmt.where(Institution.region_code == region)
    return list((await session.scalars(stmt.limit(500))).all())


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
    """Agreements per institution, counted in SQL (never the rows themselves)."""
    stmt = select(Agreement.institution_code, func.count()).group_by(Agreement.institution_code)
    return {inst: int(n) for inst, n in (await session.execute(stmt)).all()}


async def token(session: AsyncSession, token_id: str) -> ApiToken:
    row = await session.get(ApiToken, token_id.strip())
    if row is None:
        raise NotFound(f"No token {token_id}.")
    return row


async def his_tokens(session: AsyncSession, institution: str) -> list[ApiToken]:
    stmt = (
        select(ApiToken)
        .where(ApiToken.role == "his", ApiToken.institution_code == institution)
        .order_by(ApiToken.created_at)
    )
    return list((await session.scalars(stmt)).all())


# ---- work queues ----


async def pending_actions(session: AsyncSession, region: str | None = None) -> list[Action]:
    """``region``: an operator's queue holds its region's records only (None: every one)."""
    stmt = select(Action).where(Action.status == "pending").order_by(Action.effective_on)
    if region is not None:
        stmt = stmt.where(Action.region_code == region)
    return list((await session.scalars(stmt.limit(500))).all())


async def months_open_actions(session: AsyncSession, region: str | None = None) -> list[Action]:
    """nhsa-2024's applied suspensions whose months the agency still chooses (the API's
    ``GET /admin/v1/actions?months_open=true``), oldest first."""
    stmt = ledger.actions_query(None, region, None, months_open=True)
    return list((await session.scalars(stmt.limit(500))).all())


async def open_objections(
    session: AsyncSession, region: str | None = None
) -> list[tuple[Objection, Violation]]:
    stmt = (
        select(Objection, Violation)
        .join(Violation, Violation.id == Objection.violation_id)
        .where(Objection.upheld.is_(None))
        .order_by(Objection.filed_on)
        .limit(500)
    )
    if region is not None:
        stmt = stmt.where(Violation.region_code == region)
    return [(o, v) for o, v in (await session.execute(stmt)).all()]


async def objection_of(session: AsyncSession, violation_id: str) -> Objection | None:
    return await session.scalar(select(Objection).where(Objection.violation_id == violation_id))


async def objections_for(session: AsyncSession, ids: Sequence[str]) -> dict[str, Objection]:
    if not ids:
        return {}
    stmt = select(Objection).where(Objection.violation_id.in_(list(ids)))
    return {o.violation_id: o for o in (await session.scalars(stmt)).all()}


async def open_resumptions(
    session: AsyncSession, region: str | None = None
) -> list[tuple[ResumptionApplication, Action]]:
    stmt = (
        select(ResumptionApplication, Action)
        .join(Action, Action.id == ResumptionApplication.action_id)
        .where(ResumptionApplication.approved.is_(None))
        .order_by(ResumptionApplication.filed_on)
        .limit(500)
    )
    if region is not None:
        stmt = stmt.where(Action.region_code == region)
    return [(r, a) for r, a in (await session.execute(stmt)).all()]


async def live_suspensions(session: AsyncSession, region: str | None = None) -> list[Action]:
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
    if region is not None:
        stmt = stmt.where(Action.region_code == region)
    return list((await session.scalars(stmt)).all())


async def resumptions_of(session: AsyncSession, action_id: str) -> list[ResumptionApplication]:
    stmt = (
        select(ResumptionApplication)
        .where(ResumptionApplication.action_id == action_id)
        .order_by(ResumptionApplication.filed_on)
    )
    return list((await session.scalars(stmt)).all())


# ---- decision log and audit ----


CHART_MAX_DECISIONS = 200_000  # the decisions one count reads, newest first (bounded)


async def rejections_by_day(
    session: AsyncSession, since: datetime, until: datetime, region: str | None
) -> list[tuple[str, str, int]]:
    """(Beijing day, reason, rejected lines) of the decision log in [since, until): the
    decisions with a rejected line, by their ids' time range (the key's order), their
    compact lines decoded here; at most CHART_MAX_DECISIONS of them, newest first."""
    d = SettlementDecision
    stmt = select(d.decision_id, d.physicians, d.encoded_lines).where(
        d.decision_id >= codec.id_floor(since),
        d.decision_id < codec.id_floor(until),
        d.outcome_code != 0,
    )
    if region is not None:
        here = select(Institution.code).where(Institution.region_code == region)
        stmt = stmt.where(d.institution_code.in_(here))
    stmt = stmt.order_by(d.decision_id.desc()).limit(CHART_MAX_DECISIONS)
    counts: dict[tuple[str, str], int] = {}
    for did, codes, blob in (await session.execute(stmt)).all():
        day = codec.decided_at(did).astimezone(SHANGHAI).date().isoformat()
        for line in codec.decode_lines(blob, codes)[0]:
            if line["decision"] == "reject":
                key = (day, str(line["reason"]))
                counts[key] = counts.get(key, 0) + 1
    return [(day, reason, n) for (day, reason), n in counts.items()]


async def audit_entries(
    session: AsyncSession,
    f: AuditFilter,
    *,
    offset: int,
    limit: int,
) -> list[AuditEntry]:
    """Newest first. A physician (or institution) matches the entries about it and those
    whose record before or after names it (an agreement, a violation, an action …)."""
    stmt = select(AuditEntry).order_by(AuditEntry.id.desc())
    for kind, code in (("physician", f.physician), ("institution", f.institution)):
        if code:
            quoted = f'"{code}"'
            stmt = stmt.where(
                or_(
                    and_(AuditEntry.target_type == kind, AuditEntry.target_id == code),
                    cast(AuditEntry.after, Text).contains(quoted),
                    cast(AuditEntry.before, Text).contains(quoted),
                )
            )
    if f.actor:
        stmt = stmt.where(AuditEntry.actor_token_id == f.actor)
    if f.action:  # an action, or a family of them ("objection" → objection.*)
        stmt = stmt.where(
            or_(AuditEntry.action == f.action, AuditEntry.action.startswith(f.action + "."))
        )
    if f.target_type:
        stmt = stmt.where(AuditEntry.target_type == f.target_type)
    if f.region:
        stmt = stmt.where(AuditEntry.region_code == f.region)
    if f.since:
        stmt = stmt.where(AuditEntry.at >= datetime.combine(f.since, time(), SHANGHAI))
    if f.until:  # inclusive: up to the end of that day in Beijing time
        end = datetime.combine(f.until + timedelta(days=1), time(), SHANGHAI)
        stmt = stmt.where(AuditEntry.at < end)
    return list((await session.scalars(stmt.offset(offset).limit(limit + 1))).all())


async def admin_tokens(session: AsyncSession) -> list[ApiToken]:
    """Operator, auditor and superuser tokens (the audit log's actors, the 令牌 page)."""
    stmt = select(ApiToken).where(ApiToken.role != "his").order_by(ApiToken.created_at.desc())
    return list((await session.scalars(stmt.limit(500))).all())


async def recent_violations(
    session: AsyncSession, since: date, region: str | None = None
) -> list[Violation]:
    stmt = (
        select(Violation)
        .where(Violation.decided_on >= since, Violation.reversed_at.is_(None))
        .order_by(Violation.decided_on)
        .limit(500)
    )
    if region is not None:
        stmt = stmt.where(Violation.region_code == region)
    return list((await session.scalars(stmt)).all())


async def physician_names(session: AsyncSession, codes: Sequence[str]) -> dict[str, str]:
    if not codes:
        return {}
    rows = await session.execute(
        select(Physician.code, Physician.name).where(Physician.code.in_(list(set(codes))))
    )
    return {code: name for code, name in rows.all()}
