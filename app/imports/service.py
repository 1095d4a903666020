"""Roster import (一次性集体准入, lanzhou-2014 第六条（四）): a file of physicians and their
agreements, checked row by row against the record, applied in one transaction or not
at all.

Every rule of a single agreement create applies (``agreements.service.check_new_agreement``:
institution term, code cancellation, bans, the policy's fixed term, overlaps), on the
record loaded in bulk (a few queries per 5,000 physicians). Idempotent: a physician who
exists is not created again, and an agreement at the same institution starting the
same day is taken as imported already. Every created record is audited as a single
create would be (``physician.create``, ``agreement.create``), plus one ``roster.import``
entry; the registry outbox gets every physician touched, in the same transaction.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.agreements.renewal import renew_at
from app.agreements.rules import Prior, check_new_agreement
from app.auth.principal import Principal
from app.core.errors import Conflict, DomainError, ValidationFailed
from app.core.ids import new_id
from app.imports import repository as repo
from app.imports.roster import RosterRow, RowError, error, parse_roster
from app.imports.schemas import Creates, RosterReport, RowErrorOut
from app.models import Agreement, Institution, Physician
from app.regions import repository as regions_repo
from app.regions.repository import DatedPolicy
from app.rules import get_policy
from app.uow import Touch, UnitOfWork

Progress = Callable[[str, int, int], None]


class ImportRejected(DomainError):
    status = 422
    slug = "import-rejected"
    title = "Roster not imported"


@dataclass
class _Plan:
    physicians: dict[str, dict[str, Any]] = field(default_factory=dict)
    agreements: list[dict[str, Any]] = field(default_factory=list)


def _rule_message(row: RosterRow, err: DomainError) -> RowError:
    """A refusal of the agreement rules as a row error naming its column, in Chinese."""
    x = err.extra
    if isinstance(err, ValidationFailed):
        first = (x.get("errors") or [{}])[0]
        column = first.get("field", "ends_on")
        return error(row.row, column, f"超出政策规定：{first.get('message', err.detail)}")
    slug = err.slug
    if slug == "institution-not-contracted":
        return error(row.row, "institution_code", f"机构在 {row.starts_on} 没有有效的服务协议期")
    if slug == "code-cancelled":
        return error(row.row, "certificate_no", f"医保医师代码自 {x.get('effective_on')} 起已注销")
    if slug == "registration-banned":
        message = f"{x.get('ban_ends_on')} 前不得新签协议（{x.get('clause')}）"
        return error(row.row, "certificate_no", message)
    if slug == "agreement-overlap":
        message = f"与该机构已有的协议 {x.get('agreement_id')} 日期重叠"
        return error(row.row, "starts_on", message)
    return error(row.row, "certificate_no", err.detail)


def _physician_errors(
    row: RosterRow, existing: Physician | None, owners: dict[str, str]
) -> list[RowError]:
    out = []
    if existing is not None and existing.name != row.name:
        out.append(
            error(row.row, "name", f"与已登记的医师 {row.code} 的姓名（{existing.name}）不一致")
        )
    if row.national_code is not None:
        owner = owners.get(row.national_code)
        if owner is not None and owner != row.code:
            out.append(error(row.row, "national_code", f"已属于医师 {owner}"))
        elif existing is not None and existing.national_code != row.national_code:
            out.append(error(row.row, "national_code", "与已登记的国家医保医师代码不一致"))
    return out


async def _plan(
    session: AsyncSession,
    actor: Principal,
    rows: list[RosterRow],
    errors: list[RowError],
    progress: Progress | None,
) -> _Plan:
    insts = await repo.institutions(session, {r.institution_code for r in rows})
    regions = await regions_repo.dated_policies(session, {i.region_code for i in insts.values()})
    terms = await repo.institution_terms(session, insts.keys())
    codes = {r.code for r in rows}
    existing = await repo.physicians(session, codes)
    owners = await repo.national_owners(session, {r.national_code for r in rows if r.national_code})
    cancellations = await repo.cancellations(session, existing.keys())
    bans = await repo.bans(session, existing.keys())
    agreements = await repo.agreements(session, existing.keys())
    facts = _Facts(insts, regions, terms, existing, owners, cancellations, bans, agreements)
    # The row-by-row check is CPU only: off the event loop, so a large import never stalls
    # the requests this process serves meanwhile (the hot path in the embedded default).
    return await asyncio.to_thread(_judge, actor, rows, errors, progress, facts)


@dataclass(frozen=True)
class _Facts:
    insts: dict[str, Institution]
    regions: dict[str, DatedPolicy]
    terms: dict[str, Any]
    existing: dict[str, Physician]
    owners: dict[str, str]
    cancellations: dict[str, Any]
    bans: dict[str, Any]
    agreements: dict[str, Any]


def _judge(
    actor: Principal,
    rows: list[RosterRow],
    errors: list[RowError],
    progress: Progress | None,
    facts: _Facts,
) -> _Plan:
    insts, regions, terms, existing = facts.insts, facts.regions, facts.terms, facts.existing
    owners, cancellations, bans, agreements = (
        facts.owners,
        facts.cancellations,
        facts.bans,
        facts.agreements,
    )
    plan = _Plan()
    for i, row in enumerate(rows):
        if progress is not None and i % 5000 == 0:
            progress("检查", i, len(rows))
        inst = insts.get(row.institution_code)
        if inst is None:
            errors.append(error(row.row, "institution_code", f"没有机构 {row.institution_code}"))
            continue
        if actor.role == "operator" and inst.region_code != actor.region_code:
            message = (
                f"机构属于统筹区 {inst.region_code}，本操作员只能导入统筹区 {actor.region_code}"
            )
            errors.append(error(row.row, "institution_code", message))
            continue
        bad = _physician_errors(row, existing.get(row.code), owners)
        if bad:
            errors.extend(bad)
            continue
        here = [a for a in agreements.get(row.code, []) if a.institution_code == inst.code]
        if any(a.starts_on == row.starts_on for a in here):
            continue  # imported already
        policy = get_policy(regions[inst.region_code].on(row.starts_on))
        prior = Prior(
            cancellations.get(row.code, []), bans.get(row.code, []), here, terms[inst.code]
        )
        try:
            ends_on = check_new_agreement(row.code, inst, policy, row.starts_on, row.ends_on, prior)
        except DomainError as err:
            errors.append(_rule_message(row, err))
            continue
        _add(plan, row, inst, ends_on, row.code not in existing)
    return plan


def _add(plan: _Plan, row: RosterRow, inst: Institution, ends_on: date | None, new: bool) -> None:
    now = datetime.now(UTC)
    if new and row.code not in plan.physicians:
        plan.physicians[row.code] = {
            "code": row.code,
            "certificate_no": row.certificate_no,
            "name": row.name,
            "national_code": row.national_code,
            "created_at": now,
        }
    plan.agreements.append(
        {
            "id": new_id(),
            "physician_code": row.code,
            "institution_code": inst.code,
            "region_code": inst.region_code,
            "starts_on": row.starts_on,
            "ends_on": ends_on,
            "created_at": now,
        }
    )


def _json(values: dict[str, Any], model: Any) -> dict[str, Any]:
    """The audit snapshot of an inserted row (every column, JSON-safe)."""
    out: dict[str, Any] = {}
    for col in model.__table__.columns:
        v = values.get(col.key)
        out[col.key] = v.isoformat() if isinstance(v, date) else v
    return out


def _audit(
    actor: Principal, action: str, kind: str, key: str, region: str | None, after: Any
) -> dict[str, Any]:
    return {
        "at": datetime.now(UTC),
        "actor_token_id": actor.token_id,
        "actor_role": str(actor.role),
        "action": action,
        "target_type": kind,
        "target_id": key,
        "region_code": region,
        "before": None,
        "after": after,
    }


async def _apply(
    session: AsyncSession,
    actor: Principal,
    plan: _Plan,
    report: RosterReport,
    progress: Progress | None,
) -> None:
    people = list(plan.physicians.values())
    if progress is not None:
        progress("写入", 0, len(people) + len(plan.agreements))
    try:
        await repo.insert_rows(session, Physician, people)
        await repo.insert_rows(session, Agreement, plan.agreements)
    except repo.DuplicateRows:  # a concurrent write created some of these meanwhile
        raise Conflict(
            "Another write created some of these physicians meanwhile; nothing was imported. "
            "Run the import again (it is idempotent).",
            slug="import-raced",
        ) from None
    audit = [
        _audit(actor, "physician.create", "physician", p["code"], None, _json(p, Physician))
        for p in people
    ]
    audit += [
        _audit(
            actor, "agreement.create", "agreement", a["id"], a["region_code"], _json(a, Agreement)
        )
        for a in plan.agreements
    ]
    summary = report.model_dump(include={"rows", "valid", "creates"})
    audit.append(_audit(actor, "roster.import", "roster", new_id(), actor.region_code, summary))
    await repo.insert_audit(session, audit)
    codes = sorted({a["physician_code"] for a in plan.agreements})
    UnitOfWork.of(session).touch(Touch.physician(c) for c in codes)
    for inst in sorted({a["institution_code"] for a in plan.agreements}):
        await renew_at(
            session, actor, inst
        )  # zhejiang-2014 二: agreements renew with their institution
    await session.flush()
    if progress is not None:
        progress("写入", len(people) + len(plan.agreements), len(people) + len(plan.agreements))


async def import_roster(
    session: AsyncSession,
    actor: Principal,
    data: bytes,
    *,
    commit: bool,
    progress: Progress | None = None,
) -> RosterReport:
    """The report; with ``commit`` every row is written (the caller's transaction), or
    none is and :class:`ImportRejected` (422) carries the report."""
    actor.require_writer()
    rows, errors, total = await asyncio.to_thread(parse_roster, data)
    plan = await _plan(session, actor, rows, errors, progress) if rows else _Plan()
    errors.sort(key=lambda e: (e.row, e.column))
    report = RosterReport(
        rows=total,
        valid=total - len({e.row for e in errors if e.row > 0}),
        errors=[RowErrorOut(row=e.row, column=e.column, message=e.message) for e in errors],
        creates=Creates(physicians=len(plan.physicians), agreements=len(plan.agreements)),
    )
    if commit:
        if errors or total == 0:
            raise ImportRejected(
                f"{len(errors)} errors: nothing was imported."
                if errors
                else "The file has no rows.",
                **report.model_dump(),
            )
        await _apply(session, actor, plan, report, progress)
        report.committed = True
    return report
