"""The registry as it stood at a version, read from the record (read-only queries).

Shared by the admin side (``GET /admin/v1/decisions``) and the gatekeeper (``GET
/v1/decisions/{id}``): neither imports the other.

* **Facts at version V.** The outbox (``registry_changes``) holds, per committed write,
  the full facts of every entity it touched. So an entity's facts at V are those of the
  last change at or before V that touched it; when no change after V touched it, they are
  its current facts (built by :mod:`app.registry.source`); when changes after V exist but
  none before, it did not exist at V. On PostgreSQL both lookups use GIN indexes on the
  payload's ``physicians`` and ``institutions`` objects (migration 0004_i12dec).
  A region's facts (code pattern, emergency scope) are read as they are now.
* **Changed since.** The first version after V that touched the physician (or the
  institution) is reported with each line.
* **The record behind a fact** (:mod:`app.registry.provenance`): the row a basis fact
  stands for, the operator's reason, and the action that wrote it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection
from datetime import date
from typing import Any

from sqlalchemy import bindparam, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import (
    DecisionWithdrawal,
    SettlementDecision,
)
from app.registry import decision_codec as codec
from app.registry import source
from app.registry.explain import LineBasis, explain_line
from app.registry.explained import ExplainedDecision, ExplainedLine, Withdrawal
from app.registry.facts import InstitutionFact, PhysicianFact
from app.registry.judge import SECOND_CODE
from app.registry.provenance import aliases_of, annotate


# -- the decision log ------------------------------------------------------------------------
async def get_decision(
    session: AsyncSession, decision_id: str, institution_code: str | None = None
) -> SettlementDecision | None:
    """A logged decision by its id (None: no such id, or not a UUID); with the institution
    known, by the table's key (otherwise the id alone prunes to the day's partition)."""
    try:
        did = uuid.UUID(decision_id)
    except ValueError:
        return None
    if institution_code is not None:
        return await session.get(SettlementDecision, (institution_code, did))
    found = await session.scalars(
        select(SettlementDecision).where(SettlementDecision.decision_id == did).limit(1)
    )
    return found.first()


WithdrawnLine = tuple[str, str, Withdrawal]  # (decision id, line id, by what)


async def withdrawals_of(
    session: AsyncSession, decision_id: str, pending: Collection[WithdrawnLine] = ()
) -> dict[str, Withdrawal]:
    """Line id -> the first withdrawal of that line of the decision: the table's rows
    and ``pending`` ones (a gatekeeper's not yet written)."""
    rows = await session.scalars(
        select(DecisionWithdrawal)
        .where(DecisionWithdrawal.decision_id == decision_id)
        .order_by(DecisionWithdrawal.withdrawn_at, DecisionWithdrawal.id)
    )
    found: list[tuple[str, str, Withdrawal]] = [
        (
            w.withdrawn_at.isoformat(),
            w.line_id or "",
            Withdrawal(msgid=w.msgid, infno=w.infno, withdrawn_at=w.withdrawn_at.isoformat()),
        )
        for w in rows
    ]
    found += [(w["withdrawn_at"], line, w) for did, line, w in pending if did == decision_id]
    out: dict[str, Withdrawal] = {}
    for _, line, w in sorted(found, key=lambda f: f[0]):
        out.setdefault(line, w)
    return out


# -- the outbox as history --------------------------------------------------------------------
def _pg(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


async def changed_after(
    session: AsyncSession, kind: str, keys: Collection[str], version: int
) -> dict[str, int]:
    """Key -> the first version after ``version`` whose change touched it (``kind``:
    ``physicians`` or ``institutions``); keys untouched since are absent."""
    if not keys:
        return {}
    if _pg(session):
        stmt = text(
            "SELECT k, min(c.version) FROM unnest(CAST(:keys AS text[])) AS k "
            f"JOIN registry_changes c ON (c.payload -> '{kind}') ? k AND c.version > :v "
            "GROUP BY k"
        )
    else:
        stmt = text(
            "SELECT j.key, min(c.version) FROM registry_changes c, "
            f"json_each(c.payload, '$.{kind}') j "
            "WHERE c.version > :v AND j.key IN :keys GROUP BY j.key"
        ).bindparams(bindparam("keys", expanding=True))
    rows = (await session.execute(stmt, {"keys": sorted(keys), "v": version})).all()
    return {k: int(v) for k, v in rows}


async def facts_at_version(
    session: AsyncSession, kind: str, keys: Collection[str], version: int
) -> dict[str, Any]:
    """Key -> its facts in the last change at or before ``version`` that touched it
    (None: deleted); keys no such change touched are absent."""
    if not keys:
        return {}
    if _pg(session):
        stmt = text(
            "SELECT DISTINCT ON (k) k, c.payload -> :kind -> k "
            "FROM unnest(CAST(:keys AS text[])) AS k "
            f"JOIN registry_changes c ON (c.payload -> '{kind}') ? k AND c.version <= :v "
            "ORDER BY k, c.version DESC"
        )
        params: dict[str, Any] = {"keys": sorted(keys), "v": version, "kind": kind}
    else:
        stmt = text(
            "SELECT j.key, j.value FROM registry_changes c, "
            f"json_each(c.payload, '$.{kind}') j "
            "WHERE c.version <= :v AND j.key IN :keys ORDER BY c.version DESC"
        ).bindparams(bindparam("keys", expanding=True))
        params = {"keys": sorted(keys), "v": version}
    out: dict[str, Any] = {}
    for key, value in (await session.execute(stmt, params)).all():
        if key not in out:
            out[key] = json.loads(value) if isinstance(value, str) else value
    return out


async def _facts(
    session: AsyncSession, kind: str, keys: set[str], version: int
) -> tuple[dict[str, Any], dict[str, int]]:
    """(key -> facts at ``version`` or None, key -> first later change)."""
    later = await changed_after(session, kind, keys, version)
    current = keys - later.keys()
    past = await facts_at_version(session, kind, later.keys(), version)
    facts: dict[str, Any] = {k: past.get(k) for k in later}
    if current:
        if kind == "physicians":
            found: dict[str, Any] = dict(await source.physician_facts(session, current))
        else:
            found = dict(await source.institution_facts(session, current))
        facts.update({k: found.get(k) for k in current})
    return facts, later


# -- explaining a logged decision ---------------------------------------------------------------
def _as_answered(stored: dict[str, Any], withdrawn: Withdrawal | None) -> ExplainedLine:
    """A logged line as it was answered, before its inputs and basis are added."""
    line = ExplainedLine(
        line_id=stored["line_id"],
        physician_code=None,
        service_date=None,
        emergency=None,
        decision=stored["decision"],
        reason=stored.get("reason"),
        overridden=stored.get("overridden"),
        basis=None,
        changed_since=None,
        withdrawn=withdrawn,
    )
    if stored.get("field"):
        line["field"] = stored["field"]
    return line


def _judged_input(inputs: list[Any], stored: dict[str, Any]) -> list[Any]:
    """A line's inputs with the code its verdict is about first: the line's second staff
    code (``[code, day, emergency, second]``) when the answer names its field."""
    if len(inputs) > 3 and inputs[3] and stored.get("field") == SECOND_CODE:
        return [inputs[3], *inputs[1:3]]
    return list(inputs)


async def explain_decision(
    session: AsyncSession, row: SettlementDecision, pending: Collection[WithdrawnLine] = ()
) -> ExplainedDecision:
    """A logged decision with every line's basis on the record as of its version, and
    the lines withdrawn since (``pending``: withdrawals not yet in their table)."""
    version = int(row.registry_version)
    stored_lines, stored_inputs = codec.decode_lines(row.encoded_lines, row.physicians)
    inputs: list[Any] = [
        _judged_input(i, s) for i, s in zip(stored_inputs or [], stored_lines, strict=False)
    ]
    decision_id = str(row.decision_id)
    aliases = await aliases_of(session, (i[0] for i in inputs))
    codes = {aliases.get(i[0], i[0]) for i in inputs}
    physicians, phys_later = await _facts(session, "physicians", codes, version)
    institutions, inst_later = await _facts(
        session, "institutions", {row.institution_code}, version
    )
    inst: InstitutionFact | None = institutions.get(row.institution_code)
    regions = await source.region_facts(session, [inst["region"]]) if inst else {}
    region = regions.get(inst["region"]) if inst else None
    memo: dict[tuple[str, str, bool], LineBasis] = {}
    withdrawn = await withdrawals_of(session, decision_id, pending)
    lines: list[ExplainedLine] = []
    for i, stored in enumerate(stored_lines):
        line = _as_answered(stored, withdrawn.get(stored["line_id"]))
        if i < len(inputs):
            code, day, emergency = inputs[i][0], inputs[i][1], bool(inputs[i][2])
            yb = aliases.get(code, code)
            key = (code, day, emergency)
            if key not in memo:
                phys: PhysicianFact | None = physicians.get(yb)
                memo[key] = explain_line(
                    code,
                    date.fromisoformat(day),
                    emergency,
                    row.institution_code,
                    phys,
                    inst,
                    region,
                )
            line["physician_code"], line["service_date"] = code, day
            line["emergency"], line["basis"] = emergency, memo[key]
            line["changed_since"] = phys_later.get(yb)
        lines.append(line)
    await annotate(session, row.institution_code, lines)
    return ExplainedDecision(
        decision_id=decision_id,
        settlement_id=row.settlement_id,
        institution_code=row.institution_code,
        decided_at=codec.decided_at(row.decision_id).isoformat(),
        registry_version=version,
        current_version=await source.current_version(session),
        outcome=codec.OUTCOMES[row.outcome_code],
        accepted_amount=codec.money(row.accepted_cents),
        rejected_amount=codec.money(row.rejected_cents),
        institution_changed_since=inst_later.get(row.institution_code),
        upstream_infcode=row.upstream_infcode,
        upstream_error=row.upstream_error,
        lines=lines,
    )


# -- the record behind each fact ---------------------------------------------------------------
