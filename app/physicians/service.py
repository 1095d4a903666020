from __future__ import annotations

from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from app.agreements import repository as agreements_repo
from app.agreements import service as agreements
from app.agreements.schemas import AgreementOut
from app.auth import scope
from app.auth.principal import Principal
from app.core.dates import covers
from app.core.db import get_or_404
from app.core.errors import Conflict, Forbidden, InvalidTransition
from app.institutions import repository as inst_repo
from app.ledger import repository as ledger
from app.models import CodeCancellation, Institution, Physician, Region
from app.physicians import repository as repo
from app.physicians.schemas import (
    AgreementStanding,
    BanOut,
    CancelCode,
    CancellationOut,
    PendingActionOut,
    PhysicianCreate,
    PointsOut,
    RestoreCode,
    Standing,
    VisitStanding,
)
from app.points.service import reconcile
from app.rules import PeriodStanding, Policy, Replay, get_policy, replay, standing_on
from app.rules.periods import agreement_for
from app.uow import On, Touch, change


async def get_physician(session: AsyncSession, code: str) -> Physician:
    return await get_or_404(session, Physician, code, "physician")


async def create_physician(
    session: AsyncSession, actor: Principal, data: PhysicianCreate
) -> Physician:
    actor.require_writer()
    code = "YB" + data.certificate_no
    existing = await repo.find_existing(session, code, data.national_code)
    if existing is not None:
        which = "code" if existing.code == code else "national_code"
        raise Conflict(
            f"Physician {existing.code} exists already (same {which}).", slug="physician-exists"
        )
    async with change(
        session, actor, "physician.create", On("physician"), Touch.physician(code)
    ) as ch:
        physician = ch.add(
            Physician(
                code=code,
                certificate_no=data.certificate_no,
                name=data.name,
                national_code=data.national_code,
                category=data.category,
            )
        )
    return physician


async def _require_physician_write(
    session: AsyncSession, actor: Principal, physician: Physician
) -> list[str]:
    """An operator acts on a whole code only where one of its agreements is in its region."""
    regions = sorted(
        {a.region_code for a in await agreements_repo.agreements_of(session, physician.code)}
    )
    if actor.role == "superuser":
        return regions
    if actor.role == "operator" and actor.region_code in regions:
        return regions
    raise Forbidden(f"This token may not act on {physician.code}: none of its agreements is yours.")


async def cancel_code(
    session: AsyncSession, actor: Principal, code: str, data: CancelCode
) -> CodeCancellation:
    """注销: the code is cancelled from ``effective_on`` and every agreement ends then."""
    physician = await get_physician(session, code)
    await scope.require_code_in_policy(session, actor, code, data.effective_on)
    await _require_physician_write(session, actor, physician)
    if await agreements_repo.cancellation_on(session, code, data.effective_on) is not None:
        raise InvalidTransition(f"Code {code} is cancelled already.", slug="code-cancelled")
    async with change(
        session, actor, "physician.cancel", On("physician", code), Touch.physician(code)
    ) as ch:
        cancellation = ch.add(
            CodeCancellation(
                physician_code=code, effective_on=data.effective_on, reason=data.reason
            )
        )
        await session.flush()
        for a in await agreements_repo.agreements_of(session, code):
            ended = a.effective_terminated_on is not None
            expired = a.ends_on is not None and a.ends_on < data.effective_on
            if not ended and not expired:
                await agreements.end_agreement(
                    session,
                    actor,
                    a,
                    max(data.effective_on, a.starts_on),
                    data.reason,
                    kind="cancellation",
                )
    # zhejiang-2014 三（二）: no new agreement anywhere in the province for 5 years.
    for policy_id in await _policies_of(session, code):
        await reconcile(session, actor, code, get_policy(policy_id))
    return cancellation


async def restore_code(
    session: AsyncSession, actor: Principal, code: str, data: RestoreCode
) -> CodeCancellation:
    """A cancelled code restored after training and an exam (zhejiang-2014 一)."""
    physician = await get_physician(session, code)
    await _require_physician_write(session, actor, physician)
    current = await agreements_repo.cancellation_on(session, code, data.effective_on)
    if current is None:
        raise InvalidTransition(
            f"Code {code} is not cancelled on {data.effective_on}.", slug="not-cancelled"
        )
    await scope.require_code_in_policy(session, actor, code, current.effective_on)
    async with change(
        session,
        actor,
        "physician.restore",
        On("physician", code),
        Touch.physician(code),
        subject=current,
    ) as ch:
        current.restored_on = data.effective_on
        ch.extra["note"] = data.note
    return current


async def standing(session: AsyncSession, code: str, as_of: date) -> Standing:
    physician = await get_physician(session, code)
    cancellations = await agreements_repo.cancellations_of(session, code)
    rows = await agreements_repo.agreements_of(session, code)
    susps = await agreements_repo.suspensions_by_agreement(session, [a.id for a in rows])
    out_agreements = []
    for a in rows:
        terms = await inst_repo.terms_of(session, a.institution_code)
        isusp = await inst_repo.suspensions_of(session, a.institution_code)
        base = AgreementOut.from_record(a, susps[a.id], as_of)
        out_agreements.append(
            AgreementStanding(
                **base.model_dump(),
                institution_status=Institution.status_on(terms, isusp, as_of),
            )
        )
    visits = [
        VisitStanding(
            id=v.id,
            physician_code=v.physician_code,
            host_institution_code=v.host_institution_code,
            region_code=v.region_code,
            starts_on=v.starts_on,
            ends_on=v.ends_on,
            kind=v.kind,
            in_force=covers(v.starts_on, v.ends_on, as_of),
        )
        for v in await repo.visits_of(session, code)
    ]
    points, bans, pending = await _points(session, code, as_of)
    return Standing(
        points=points,
        bans=bans,
        pending_actions=pending,
        code=physician.code,
        certificate_no=physician.certificate_no,
        name=physician.name,
        national_code=physician.national_code,
        category=physician.category,
        as_of=as_of,
        status=_overall(cancellations, out_agreements, as_of),
        cancellations=[CancellationOut.model_validate(c) for c in cancellations],
        agreements=out_agreements,
        visits=visits,
    )


def _overall(
    cancellations: list[CodeCancellation], agreements: list[AgreementStanding], day: date
) -> str:
    for c in cancellations:
        if c.covers(day):
            return "cancelled"
    states = {a.status for a in agreements}
    for state in ("active", "suspended", "terminated"):
        if state in states:
            return state
    return "no_agreement"


async def _policies_of(session: AsyncSession, code: str) -> list[str]:
    regions = {a.region_code for a in await agreements_repo.agreements_of(session, code)}
    regions |= {v.region_code for v in await ledger.violations_of(session, code)}
    rows = [await session.get(Region, r) for r in sorted(regions)]
    return sorted({r.policy for r in rows if r is not None})


async def _current_period(
    session: AsyncSession, code: str, policy: Policy, result: Replay, as_of: date
) -> PeriodStanding | None:
    """The period holding ``as_of``. Agreement-term policies (lanzhou-2014 第十一条): the term
    of the agreement ``as_of`` falls under; none before the first agreement. A read never
    fails on the state of the ledger."""
    if policy.scoring.period != "agreement_term":
        return standing_on(policy, result, as_of)
    found = agreement_for(await ledger.agreement_spans(session, code, policy.id), as_of)
    if found is None:
        return None
    return standing_on(policy, result, as_of, found[0], found[1])


async def _points(
    session: AsyncSession, code: str, as_of: date
) -> tuple[list[PointsOut], list[BanOut], list[PendingActionOut]]:
    """Points per policy and period (every period with deductions, and the one holding
    ``as_of``), bans, and the actions awaiting an operator."""
    points: list[PointsOut] = []
    for policy_id in await _policies_of(session, code):
        policy = get_policy(policy_id)
        deductions = await ledger.ledger(session, code, policy_id)
        result = replay(
            policy, deductions, manual_events=await ledger.manual_events(session, code, policy_id)
        )
        current = await _current_period(session, code, policy, result, as_of)
        periods = {p.key: p for p in result.periods}
        if current is not None:
            periods.setdefault(current.key, current)
        for p in sorted(periods.values(), key=lambda p: p.starts_on):
            regions = sorted({d.region for d in deductions if d.id in p.deductions})
            is_current = current is not None and p.key == current.key
            points.append(PointsOut.from_record(policy_id, p, regions, is_current))
    bans = [
        BanOut.from_record(b, as_of)
        for b in await ledger.bans_of(session, code)
        if b.voided_at is None
    ]
    pending = [
        PendingActionOut.from_record(a)
        for a in await ledger.actions_of(session, code)
        if a.status == "pending"
    ]
    return points, bans, pending
