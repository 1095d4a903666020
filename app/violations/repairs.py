"""记分修复 (point repair): a related staff member restores points of the current period
through the means the region's policy lists (training, taking part in 医保 management,
policy outreach), within its limits (per repair, per means and per period). A repair
lowers the period's points for what comes after it; it never undoes an action already
taken: it cannot be dated before the period's last deduction, and nothing is repaired
in a period whose points ended the qualification. Audited; in the integrity archive."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import scope
from app.auth.principal import Principal
from app.core.errors import RuleViolation, ValidationFailed
from app.ledger import repository as ledger
from app.models import Physician, Region, Repair
from app.physicians.service import get_physician
from app.points.service import reconcile
from app.regions import repository as regions_repo
from app.rules import Deduction, PeriodStanding, Policy, get_policy, replay, standing_on
from app.rules.model import ConsecutiveRule, Threshold
from app.rules.staff import RepairMeans, RepairRules
from app.uow import On, Touch, change
from app.violations.schemas import RepairCreate, RepairCreated
from app.violations.service import period_out


def _limit(message: str, field: str = "points") -> RuleViolation:
    return RuleViolation(
        message,
        slug="repair-limit",
        code="REPAIR_LIMIT",
        errors=[{"field": field, "message": message}],
    )


def _not_allowed(message: str, field: str) -> RuleViolation:
    return RuleViolation(
        message,
        slug="repair-not-allowed",
        code="REPAIR_NOT_ALLOWED",
        errors=[{"field": field, "message": message}],
    )


async def _region_policy(session: AsyncSession, data: RepairCreate) -> tuple[Region, Policy]:
    region = await session.get(Region, data.region)
    if region is None:
        raise ValidationFailed([{"field": "region", "message": f"no region {data.region}"}])
    return region, get_policy(await regions_repo.policy_on(session, region, data.decided_on))


def _means(policy: Policy, means_id: str) -> tuple[RepairRules, RepairMeans]:
    """The policy's repair rules and the means named (REPAIR_NOT_ALLOWED without rules)."""
    rules = policy.repair
    if rules is None:
        raise _not_allowed(f"{policy.id} 未规定记分修复", "region")
    means = rules.of(means_id)
    if means is None:
        names = ", ".join(m.id for m in rules.means)
        raise ValidationFailed([{"field": "means", "message": f"one of {names}"}])
    return rules, means


async def record_repair(
    session: AsyncSession, actor: Principal, code: str, data: RepairCreate
) -> RepairCreated:
    physician: Physician = await get_physician(session, code)
    region, policy = await _region_policy(session, data)
    await scope.require_linked(session, actor, physician.code, region.code, data.decided_on)
    rules, means = _means(policy, data.means)
    await ledger.lock_physician(session, physician.code)
    book = await ledger.ledger(session, physician.code, policy.id)
    result = replay(policy, book)
    standing = standing_on(policy, result, data.decided_on)
    _check_period(policy, rules, book, standing, data)
    repairs = [
        r
        for r in await ledger.repairs_of(session, physician.code, policy.id)
        if r.reversed_at is None and r.period_key == standing.key
    ]
    _check_limits(rules, means, repairs, data.points, standing.deducted)
    async with change(
        session,
        actor,
        "repair.create",
        On("physician", physician.code, region.code),
        Touch.physician(physician.code),
    ) as ch:
        repair = ch.add(
            Repair(
                physician_code=physician.code,
                region_code=region.code,
                policy_id=policy.id,
                period_key=standing.key,
                means=means.id,
                points=data.points,
                decided_on=data.decided_on,
                sequence=await ledger.next_sequence(session, physician.code) + len(repairs),
                note=data.note,
            )
        )
    after, _ = await reconcile(session, actor, physician.code, policy)
    return RepairCreated(id=repair.id, standing=period_out(policy, after, data.decided_on, None))


def _check_period(
    policy: Policy,
    rules: RepairRules,
    book: list[Deduction],
    standing: PeriodStanding,
    data: RepairCreate,
) -> None:
    """Only the period of ``decided_on``, never one whose points ended the qualification,
    never dated before its last deduction (so it cannot change what fired)."""
    if data.period != standing.key:
        message = f"只可修复 {data.decided_on} 所在记分周期 {standing.key} 的记分"
        raise ValidationFailed([{"field": "period", "message": message}])
    if any(_ends(policy, r) for r in standing.fired) and not rules.after_termination:
        raise _not_allowed("记满12分终止的周期不予修复", "period")
    days = [d.decided_on for d in book if d.means is None and d.id in standing.deductions]
    if days and data.decided_on < max(days):
        message = "修复不早于本周期最后一次记分 (不改变已作出的处理)"
        raise ValidationFailed([{"field": "decided_on", "message": message}])


def _check_limits(
    rules: RepairRules, means: RepairMeans, repairs: list[Repair], points: int, deducted: int
) -> None:
    """REPAIR_LIMIT past a limit: per repair, per means and per period, and never more
    than the period's points."""
    by_means = sum(r.points for r in repairs if r.means == means.id)
    total = sum(r.points for r in repairs)
    if points > means.points:
        raise _limit(f"{means.name}每次最多修复 {means.points} 分 ({means.clause})")
    if by_means + points > means.max_per_period:
        raise _limit(f"{means.name}每周期最多修复 {means.max_per_period} 分, 已修复 {by_means} 分")
    if total + points > rules.max_per_period:
        raise _limit(
            f"每周期最多修复 {rules.max_per_period} 分, 已修复 {total} 分 ({rules.clause})"
        )
    if points > deducted:
        raise _limit(f"本周期记分为 {deducted} 分, 修复不超过已记分值")


def _ends(policy: Policy, rule_id: str) -> bool:
    rules: list[Threshold | ConsecutiveRule] = [*policy.thresholds, *policy.consecutive]
    return any(r.id == rule_id and r.action in ("terminate", "cancel_code") for r in rules)
