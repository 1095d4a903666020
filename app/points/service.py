"""Deductions and what they trigger: :func:`record_deduction` writes a checked violation
into the physician's ledger, then :func:`reconcile` replays the ledger under its policy
and makes the persisted actions and bans match the firings, exactly once each.

Called after every event that changes a ledger (a deduction, a reversal on objection, a
cancellation). Because it compares with what is persisted, it is idempotent: calling it
twice changes nothing the second time, and under the physician lock concurrent
deductions each see the previous one's actions.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from app.agreements import repository as agreements_repo
from app.auth.principal import Principal
from app.institutions.standing import institution_counts, term_on
from app.ledger import repository as ledger_repo
from app.ledger.repository import (
    actions_of,
    agreement_dates,
    bans_of,
    ledger,
    manual_events,
    policy_regions,
)
from app.models import Action, Ban, Institution, InstitutionTerm, Violation
from app.models.base import utcnow
from app.points import effects
from app.rules import Firing, InstitutionFlag, Policy, Replay, assess_institution, replay
from app.rules.bans import Ban as RuleBan
from app.rules.bans import ban_regions
from app.uow import On, change


async def record_deduction(
    session: AsyncSession, actor: Principal, violation: Violation, policy: Policy
) -> tuple[Replay, list[Action]]:
    """Write a violation its service has checked (audited ``violation.create``), then
    everything it triggers. Under the physician's lock: the next ``sequence``, the row,
    :func:`reconcile` (so concurrent deductions each see the previous one's actions)."""
    code = violation.physician_code
    await ledger_repo.lock_physician(session, code)
    violation.sequence = await ledger_repo.next_sequence(session, code)
    async with change(
        session, actor, "violation.create", On("violation", region=violation.region_code)
    ) as ch:
        ch.add(violation)
    return await reconcile(session, actor, code, policy)


async def reconcile(
    session: AsyncSession, actor: Principal, code: str, policy: Policy
) -> tuple[Replay, list[Action]]:
    """Make actions and bans match the replay; the actions created or revived."""
    result = replay(
        policy,
        await ledger(session, code, policy.id),
        manual_events=await manual_events(session, code, policy.id),
    )
    subject = f"physician:{code}"
    persisted = {
        (a.period_key, a.rule_id): a
        for a in await actions_of(session, code, policy.id)
        if a.subject == subject
    }
    fired = {f.key: f for f in result.firings}
    created: list[Action] = []
    for key, existing in persisted.items():
        if existing.status != "voided" and key not in fired:
            counted = counts_for_institution(policy, existing.type, existing.status)
            await _void(session, actor, existing)
            if counted:  # its institution thresholds may no longer hold (undone on review)
                created += await reassess_institutions(
                    session, actor, code, policy, existing.effective_on
                )
    for key, firing in fired.items():
        action = persisted.get(key)
        if action is None:
            action = Action(subject=subject, physician_code=code, policy_id=policy.id)
            session.add(action)
        elif action.status != "voided" and _same(action, firing):
            continue
        elif action.status != "voided":
            await effects.undo_action(session, actor, action)
        _fill(action, firing)
        await _apply(session, actor, action, policy)
        created.append(action)
        if counts_for_institution(policy, firing.action, action.status):
            created += await reassess_institutions(
                session, actor, code, policy, firing.effective_on
            )
    for action in await actions_of(session, code, policy.id):
        if action.subject == subject and action.status == "applied":
            await effects.enforce_termination(session, actor, action)
    await _sync_bans(session, code, policy, result)
    return result, created


def counts_for_institution(policy: Policy, action_type: str, status: str) -> bool:
    """Whether an action changes an institution's count (``[institution] counts``)."""
    rules = policy.institution
    if rules is None or status not in ("applied", "approved"):
        return False
    if action_type == "terminate":
        return True
    return action_type == "suspend" and rules.counts == "suspended_or_terminated"


async def _apply(session: AsyncSession, actor: Principal, action: Action, policy: Policy) -> None:
    """Write what a new (or revived) action does, and audit it."""
    await session.flush()
    async with change(
        session, actor, f"action.{action.status}", On("action", action.id, action.region_code)
    ) as ch:
        await effects.apply_action(session, actor, action, policy)
        ch.subject = action


def _same(action: Action, f: Firing) -> bool:
    return action.violation_id == f.deduction_id and action.effective_on == f.effective_on


def _fill(action: Action, f: Firing) -> None:
    action.region_code = f.region
    action.period_key, action.rule_id = f.period_key, f.rule_id
    action.type, action.status, action.clause = f.action, f.status, f.clause
    action.months = f.months
    action.months_min, action.months_max = f.months_range or (None, None)
    action.effective_on, action.violation_id = f.effective_on, f.deduction_id
    action.voided_at = None
    action.decided_on = action.decided_by = None
    if f.status == "pending":
        action.ends_on = None


async def _void(session: AsyncSession, actor: Principal, action: Action) -> None:
    async with change(
        session, actor, "action.void", On("action", region=action.region_code), subject=action
    ):
        await effects.undo_action(session, actor, action)
        action.status, action.voided_at = "voided", utcnow()


async def _sync_bans(session: AsyncSession, code: str, policy: Policy, result: Replay) -> None:
    """One ban row per (source, rule, region): a region-scoped ban covers every region
    whose agreement the termination ended (:func:`app.rules.bans.ban_regions`)."""
    persisted = {
        (b.source, b.rule_id, b.region_code): b for b in await bans_of(session, code, policy.id)
    }
    dates = await agreement_dates(session, code, policy.id)
    firing_region = {f"{f.period_key}/{f.rule_id}": f.region for f in result.firings}
    wanted: dict[tuple[str, str, str | None], RuleBan] = {}
    for ban in result.bans:
        regions = ban_regions(ban, firing_region.get(ban.source, ""), dates)
        for region in regions or (None,):
            wanted[(ban.source, ban.rule_id, region)] = ban
    for key, old in persisted.items():
        if key not in wanted and old.voided_at is None:
            old.voided_at = utcnow()
    for key, ban in wanted.items():
        row = persisted.get(key)
        if row is None:
            row = Ban(
                physician_code=code,
                policy_id=policy.id,
                source=ban.source,
                rule_id=ban.rule_id,
                region_code=key[2],
            )
            session.add(row)
        row.kind, row.clause = ban.trigger, ban.clause
        row.starts_on, row.ends_on, row.voided_at = ban.starts_on, ban.ends_on, None
    await session.flush()


# ---- lanzhou-2014 第二十二条: revoked physicians over the institution's approved ones ----


async def reassess_institutions(
    session: AsyncSession, actor: Principal, code: str, policy: Policy, on: date
) -> list[Action]:
    """After a revocation, re-check each institution where the physician held an agreement;
    the institution actions this created."""
    created: list[Action] = []
    if policy.institution is None:
        return created
    # A policy's rules act only on records under that policy: the institutions of its
    # regions (a Lanzhou revocation never counts against a Zhejiang hospital).
    regions = set(await policy_regions(session, policy.id))
    insts = {
        a.institution_code
        for a in await agreements_repo.agreements_of(session, code)
        if a.region_code in regions
    }
    for inst_code in sorted(insts):
        inst = await session.get(Institution, inst_code)
        term = await term_on(session, inst_code, on)
        if inst is None or term is None:
            continue
        approved, revoked = await institution_counts(session, inst, term, on, policy)
        assessment = assess_institution(policy, approved, revoked)
        created += await _sync_institution_actions(
            session, actor, inst, term, policy, assessment.flags, on
        )
    return created


async def _sync_institution_actions(
    session: AsyncSession,
    actor: Principal,
    inst: Institution,
    term: InstitutionTerm,
    policy: Policy,
    flags: tuple[InstitutionFlag, ...],
    on: date,
) -> list[Action]:
    subject = f"institution:{inst.code}"
    rules = policy.institution
    period_key = (
        f"year/{on.year}"
        if rules is not None and rules.period == "calendar_year"
        else f"term/{term.starts_on.isoformat()}"
    )
    rows = await ledger_repo.subject_actions(session, subject, period_key)
    persisted = {a.rule_id: a for a in rows}
    holding = {f.threshold_id: f for f in flags}
    created: list[Action] = []
    for rule_id, existing in persisted.items():
        if rule_id not in holding and existing.status != "voided":
            await _void(session, actor, existing)
    for rule_id, flag in holding.items():
        action = persisted.get(rule_id)
        if action is not None and action.status != "voided":
            continue
        if action is None:
            action = Action(
                subject=subject,
                institution_code=inst.code,
                policy_id=policy.id,
                period_key=period_key,
                rule_id=rule_id,
            )
            session.add(action)
        action.region_code, action.type, action.status = inst.region_code, flag.action, flag.status
        action.clause, action.effective_on, action.voided_at = flag.clause, on, None
        await _apply(session, actor, action, policy)
        created.append(action)
    return created
