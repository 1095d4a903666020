"""The record behind a fact of a decision's explanation: the row (agreement, suspension,
cancellation, visit, institution suspension or term) a basis fact stands for, the
operator's reason, and where an action wrote it the action, its violation and clause
(read-only queries, shared by the admin side and the gatekeeper's read side)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import (
    Action,
    Agreement,
    AgreementSuspension,
    CodeCancellation,
    InstitutionSuspension,
    InstitutionTerm,
    Physician,
    Visit,
)
from app.registry.explain import Cause, Fact
from app.registry.explained import ExplainedLine


async def aliases_of(session: AsyncSession, codes: Iterable[str]) -> dict[str, str]:
    """National alias -> YB code, for the codes that are aliases of a physician."""
    candidates = sorted({c for c in codes if not c.startswith("YB")})
    if not candidates:
        return {}
    rows = await session.execute(
        select(Physician.national_code, Physician.code).where(
            Physician.national_code.in_(candidates)
        )
    )
    return {a: c for a, c in rows.all() if a is not None}


Record = tuple[str, str | None, str | None]  # (row id, operator's reason, source action id)


async def annotate(session: AsyncSession, institution: str, lines: list[ExplainedLine]) -> None:
    """Fill ``record_id``, ``note`` and ``cause`` of every basis fact (a few queries per
    decision, whatever its number of lines)."""
    wanted: list[tuple[str, Fact]] = []
    seen: set[int] = set()
    for line in lines:
        basis = line["basis"]
        if basis is None or line["physician_code"] is None:
            continue
        for f in basis["facts"]:
            if id(f) not in seen:
                seen.add(id(f))
                wanted.append((line["physician_code"], f))
    if not wanted:
        return
    aliases = await aliases_of(session, {p for p, _ in wanted})
    found = await _records(session, institution, {aliases.get(p, p) for p, _ in wanted})
    causes = await _causes(session, {r[2] for r in found.values() if r[2]})
    for code, f in wanted:
        rec = found.get(_record_key(aliases.get(code, code), f))
        if rec is not None:
            f["record_id"], f["note"] = rec[0], rec[1]
            f["cause"] = causes.get(rec[2]) if rec[2] else None


def _record_key(code: str, f: Fact) -> tuple[str, ...]:
    a = f["agreement"]
    return (
        f["kind"],
        "" if f["kind"].startswith("institution") else code,
        f["institution_code"] or "",
        (a["starts_on"] if a else "") or "",
        f["starts_on"] or "",
    )


async def _records(
    session: AsyncSession, institution: str, codes: set[str]
) -> dict[tuple[str, ...], Record]:
    """Every candidate row of these physicians and this institution, by fact key."""
    out: dict[tuple[str, ...], Record] = {}
    key: tuple[str, ...]
    agreements = (
        await session.scalars(select(Agreement).where(Agreement.physician_code.in_(codes)))
    ).all()
    by_id = {a.id: a for a in agreements}
    for a in agreements:
        start = a.starts_on.isoformat()
        out[("agreement", a.physician_code, a.institution_code, "", start)] = (a.id, None, None)
        if a.terminated_on is not None:
            key = ("agreement_termination", a.physician_code, a.institution_code, start)
            out[(*key, a.terminated_on.isoformat())] = (
                a.id,
                a.termination_reason,
                a.source_action_id,
            )
    susps = await session.scalars(
        select(AgreementSuspension)
        .where(AgreementSuspension.agreement_id.in_(list(by_id)))
        .order_by(AgreementSuspension.voided_at.is_not(None), AgreementSuspension.created_at)
    )
    for s in susps:
        a = by_id[s.agreement_id]
        key = ("agreement_suspension", a.physician_code, a.institution_code)
        out.setdefault(
            (*key, a.starts_on.isoformat(), s.starts_on.isoformat()),
            (s.id, s.reason, s.source_action_id),
        )
    for c in await session.scalars(
        select(CodeCancellation).where(CodeCancellation.physician_code.in_(codes))
    ):
        key = ("code_cancellation", c.physician_code, "", "", c.effective_on.isoformat())
        out.setdefault(key, (c.id, c.reason, c.source_action_id))
    for v in await session.scalars(select(Visit).where(Visit.physician_code.in_(codes))):
        key = ("visit", v.physician_code, v.host_institution_code, "", v.starts_on.isoformat())
        out[key] = (v.id, v.kind, None)
    for s2 in await session.scalars(
        select(InstitutionSuspension).where(InstitutionSuspension.institution_code == institution)
    ):
        key = ("institution_suspension", "", institution, "", s2.starts_on.isoformat())
        out.setdefault(key, (s2.id, s2.reason, s2.source_action_id))
    for t in await session.scalars(
        select(InstitutionTerm).where(InstitutionTerm.institution_code == institution)
    ):
        if t.terminated_on is not None:
            key = ("institution_termination", "", institution, t.starts_on.isoformat())
            out[(*key, t.terminated_on.isoformat())] = (
                t.id,
                t.termination_reason,
                t.source_action_id,
            )
    return out


async def _causes(session: AsyncSession, action_ids: set[str | None]) -> dict[str, Cause]:
    ids = sorted(a for a in action_ids if a)
    if not ids:
        return {}
    out: dict[str, Cause] = {}
    for a in await session.scalars(select(Action).where(Action.id.in_(ids))):
        out[a.id] = Cause(
            action_id=a.id,
            action_type=a.type,
            rule_id=a.rule_id,
            clause=a.clause,
            violation_id=a.violation_id,
        )
    return out
