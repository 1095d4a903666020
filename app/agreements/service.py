"""Agreements: one per physician per institution at a time (multi-site: one per site).

Every change is a dated fact: suspensions are intervals (a resumption cuts one short), a
termination is an effective date (the first day the agreement no longer holds).
"""

from __future__ import annotations

from datetime import date
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from app.agreements import repository as repo
from app.agreements.renewal import renew_at, renews
from app.agreements.rules import Prior, check_new_agreement, term_end_on
from app.agreements.schemas import (
    AgreementCreate,
    EndRequest,
    SuspendAgreement,
    TerminateAgreement,
)
from app.auth.principal import Principal
from app.calendar.service import work_calendar
from app.core.dates import check_span, overlaps
from app.core.db import get_or_404
from app.core.errors import Conflict, InvalidTransition, ValidationFailed
from app.ledger import repository as ledger
from app.models import Agreement, AgreementSuspension, Institution, Physician, Region
from app.regions import repository as regions_repo
from app.rules import Policy, WorkCalendar, count_working_days, get_policy
from app.rules.staff import coverage_problem
from app.uow import On, Touch, change


async def get_agreement(session: AsyncSession, agreement_id: str) -> Agreement:
    return await get_or_404(session, Agreement, agreement_id, "agreement")


class Reconcile(Protocol):
    """Makes a physician's actions and bans under a policy match a replay of the engine
    (``app.points.service.reconcile``; passed in, since app.points builds on this package)."""

    async def __call__(
        self, session: AsyncSession, actor: Principal, code: str, policy: Policy
    ) -> object: ...


async def _parties(
    session: AsyncSession, actor: Principal, data: AgreementCreate
) -> tuple[Physician, Institution, Policy]:
    """The physician, the institution and the version of the region's policy in force on
    the agreement's first day, the policy covering the physician's category there."""
    physician = await session.get(Physician, data.physician_code)
    if physician is None:
        raise ValidationFailed(
            [{"field": "physician_code", "message": f"no physician {data.physician_code}"}]
        )
    inst = await session.get(Institution, data.institution_code)
    if inst is None:
        raise ValidationFailed(
            [{"field": "institution_code", "message": f"no institution {data.institution_code}"}]
        )
    actor.require_write(inst.region_code)
    region = await session.get(Region, inst.region_code)
    policy = get_policy(
        await regions_repo.policy_on(session, region, data.starts_on) if region else ""
    )
    covered = coverage_problem(policy.staff, policy.id, physician.category, inst.code)
    if covered is not None:
        raise ValidationFailed([{"field": covered[0], "message": covered[1]}])
    return physician, inst, policy


async def create_agreement(
    session: AsyncSession,
    actor: Principal,
    data: AgreementCreate,
    reconcile: Reconcile | None = None,
) -> Agreement:
    """A new agreement. With ``reconcile`` (the admin API passes it), a physician with a
    points history has its bans brought up to date before the checks, and its ledger
    replayed afterwards: lanzhou-2014 第十一条 a new agreement is a new term; a termination
    ends an agreement registered late but dated over it."""
    physician, inst, policy = await _parties(session, actor, data)
    # Serialised with the points writes of the physician.
    await ledger.lock_physician(session, physician.code)
    history = reconcile is not None and await ledger.has_points_history(session, physician.code)
    if reconcile is not None and history:
        await reconcile(session, actor, physician.code, policy)
    prior = Prior(
        cancellations=await repo.cancellations_of(session, physician.code),
        bans=await repo.bans_of(session, physician.code, policy.id),
        at_institution=await repo.at_institution(session, physician.code, inst.code),
        institution_terms=await repo.institution_terms(session, inst.code),
    )
    ends_on = check_new_agreement(physician.code, inst, policy, data.starts_on, data.ends_on, prior)
    async with change(
        session,
        actor,
        "agreement.create",
        On("agreement", region=inst.region_code),
        Touch.physician(physician.code),
    ) as ch:
        agreement = ch.add(
            Agreement(
                physician_code=physician.code,
                institution_code=inst.code,
                region_code=inst.region_code,
                starts_on=data.starts_on,
                ends_on=ends_on,
            )
        )
    await renew_at(session, actor, inst.code, only=agreement)
    if reconcile is not None and history:
        await reconcile(session, actor, physician.code, policy)
    return agreement


def _notice_end(filed_on: date, cal: WorkCalendar) -> date:
    """No term end to stop at: 协议样本 第十条 须提前15个工作日通知对方 — the agreement's last
    day is the 15th working day after the request."""
    return count_working_days(filed_on, 15, cal).day


async def request_end(
    session: AsyncSession, actor: Principal, agreement: Agreement, data: EndRequest
) -> Agreement:
    """The physician asks to end the agreement (zhejiang-2014 二 医师本人提出解除协议申请): it
    is not renewed and ends with the institution's current term."""
    actor.require_write(agreement.region_code)
    if agreement.effective_terminated_on is not None:
        raise InvalidTransition(
            f"Agreement {agreement.id} is terminated already.", slug="agreement-terminated"
        )
    if agreement.end_requested_on is not None:
        raise Conflict(
            f"The physician asked to end agreement {agreement.id} on "
            f"{agreement.end_requested_on} already.",
            slug="end-requested",
        )
    if data.filed_on < agreement.starts_on:
        raise ValidationFailed(
            [
                {
                    "field": "filed_on",
                    "message": f"before the agreement starts ({agreement.starts_on})",
                }
            ]
        )
    if agreement.ends_on is not None and data.filed_on > agreement.ends_on:
        raise ValidationFailed(
            [{"field": "filed_on", "message": f"after the agreement ended ({agreement.ends_on})"}]
        )
    if not await renews(session, agreement.institution_code):
        raise InvalidTransition(
            "Under this region's policy agreements do not renew: terminate it instead.",
            slug="renewal-not-applicable",
        )
    async with change(
        session,
        actor,
        "agreement.end_request",
        On("agreement", region=agreement.region_code),
        Touch.physician(agreement.physician_code),
        subject=agreement,
    ) as ch:
        agreement.no_renewal, agreement.end_requested_on = "physician_request", data.filed_on
        if agreement.ends_on is None:
            terms = await repo.institution_terms(session, agreement.institution_code)
            agreement.ends_on = term_end_on(terms, data.filed_on) or _notice_end(
                data.filed_on, await work_calendar(session)
            )
        ch.extra["note"] = data.note
    return agreement


async def suspend(
    session: AsyncSession,
    actor: Principal,
    agreement: Agreement,
    data: SuspendAgreement,
    *,
    source_action_id: str | None = None,
) -> AgreementSuspension:
    actor.require_write(agreement.region_code)
    check_span(data.starts_on, data.ends_on, first_field="starts_on", last_field="ends_on")
    return await add_suspension(
        session,
        actor,
        agreement,
        data.starts_on,
        data.ends_on,
        data.reason,
        source_action_id=source_action_id,
    )


async def add_suspension(
    session: AsyncSession,
    actor: Principal,
    agreement: Agreement,
    starts_on: date,
    ends_on: date | None,
    reason: str,
    *,
    source_action_id: str | None = None,
) -> AgreementSuspension:
    ended = agreement.effective_terminated_on
    if ended is not None and agreement.terminated_by(starts_on):
        raise InvalidTransition(
            f"Agreement {agreement.id} is terminated from {ended}.", slug="agreement-terminated"
        )
    susps = (await repo.suspensions_by_agreement(session, [agreement.id]))[agreement.id]
    for s in susps:
        if overlaps(s.starts_on, s.last_day, starts_on, ends_on):
            raise Conflict(
                f"Agreement {agreement.id} is already suspended from {s.starts_on}.",
                slug="suspension-overlap",
            )
    async with change(
        session,
        actor,
        "agreement.suspend",
        On("agreement", agreement.id, agreement.region_code),
        Touch.physician(agreement.physician_code),
    ) as ch:
        susp = ch.add(
            AgreementSuspension(
                agreement_id=agreement.id,
                starts_on=starts_on,
                ends_on=ends_on,
                reason=reason,
                source_action_id=source_action_id,
            )
        )
    return susp


async def resume(
    session: AsyncSession, actor: Principal, agreement: Agreement, effective_on: date
) -> AgreementSuspension:
    """End the suspension in force on ``effective_on``: that day is served again."""
    actor.require_write(agreement.region_code)
    susps = (await repo.suspensions_by_agreement(session, [agreement.id]))[agreement.id]
    for s in susps:
        if s.covers(effective_on):
            async with change(
                session,
                actor,
                "agreement.resume",
                On("agreement", agreement.id, agreement.region_code),
                Touch.physician(agreement.physician_code),
                subject=s,
            ):
                s.resumed_on = effective_on
            return s
    raise InvalidTransition(
        f"Agreement {agreement.id} is not suspended on {effective_on}.", slug="not-suspended"
    )


async def terminate(
    session: AsyncSession,
    actor: Principal,
    agreement: Agreement,
    data: TerminateAgreement,
    *,
    kind: str = "operator",
    source_action_id: str | None = None,
) -> Agreement:
    actor.require_write(agreement.region_code)
    return await end_agreement(
        session,
        actor,
        agreement,
        data.effective_on,
        data.reason,
        kind=kind,
        source_action_id=source_action_id,
    )


async def end_agreement(
    session: AsyncSession,
    actor: Principal,
    agreement: Agreement,
    effective_on: date,
    reason: str,
    *,
    kind: str,
    source_action_id: str | None = None,
) -> Agreement:
    if agreement.effective_terminated_on is not None:
        raise InvalidTransition(
            f"Agreement {agreement.id} is terminated already (from {agreement.terminated_on}).",
            slug="agreement-terminated",
        )
    if effective_on < agreement.starts_on:
        raise ValidationFailed(
            [
                {
                    "field": "effective_on",
                    "message": f"before the agreement starts ({agreement.starts_on})",
                }
            ]
        )
    async with change(
        session,
        actor,
        "agreement.terminate",
        On("agreement", region=agreement.region_code),
        Touch.physician(agreement.physician_code),
        subject=agreement,
    ):
        agreement.terminated_on = effective_on
        agreement.termination_reason = reason
        agreement.termination_kind = kind
        agreement.termination_voided_at = None
        agreement.source_action_id = source_action_id
    return agreement
