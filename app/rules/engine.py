"""The points engine: replay a physician's ledger under a policy.

Pure: no I/O, no clock; every date comes in as a parameter.

The caller passes the physician's whole ledger of non-reversed deductions under one policy
(every region running it pools into the same periods) and gets back the standing per
period, every threshold firing and every ban. Replay order is ``decided_on``, then the
caller's arrival ``sequence`` (then ``id``). After each deduction, the rules of its period
are checked (zhejiang-2014 三（二）, lanzhou-2014 第十七条, nhsa-2024):

1. a rule is *reached* when the period's deducted points reach its ``reaches`` (a
   consecutive rule: this period and the ``periods - 1`` before it each deducted at least
   ``each_at_least``; zhejiang-2014 三（二） 连续三年 … 9分以上);
2. each rule fires at most once per period;
3. the most severe reached wins: when one deduction reaches several rules not yet fired,
   only the most severe fires and the lesser ones it jumped over are *consumed* (never
   fire later in that period);
4. a rule less severe than one already fired in the period is consumed, not fired, and a
   ``terminate`` (or ``cancel_code``) ends the period: every rule reached after it is
   consumed (the agreements have ended; no second termination, no second ban).

A firing's effective date is its triggering deduction's ``decided_on``. Bans follow from
applied ``terminate``/``cancel_code`` firings and from the caller's manual events (see
``bans.py``); a pending one causes no ban until the operator approves it, and the caller
then passes it as a :class:`ManualEvent`. Prior terminations (lanzhou-2014 第十八条 second
revocation) are derived from the replay itself plus the manual ``terminate`` events.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from app.rules.bans import Ban, BanTrigger, ban_for_event
from app.rules.errors import (
    DegreeNotAllowed,
    InvalidLedger,
    PointsMismatch,
    PointsOutOfRange,
    PointsRequired,
    UnknownItem,
)
from app.rules.model import ActionType, ConsecutiveRule, Policy, Status, Threshold
from app.rules.periods import Period, period_of, previous_period
from app.rules.staff import degree_range

Rule = Threshold | ConsecutiveRule
# Actions after which nothing else fires in the period: every agreement has ended.
_ENDING: frozenset[str] = frozenset({"terminate", "cancel_code"})


@dataclass(frozen=True)
class Deduction:
    """One non-reversed ledger entry. ``points`` already resolved (``resolve_points``);
    ``anchor`` / ``agreement_ends_on``: start and last day of the agreement whose term the
    deduction counts in (agreement-term policies only; :func:`app.rules.periods.agreement_for`
    picks it); ``sequence``: the caller's arrival order."""

    id: str
    item: str
    points: int
    decided_on: date
    sequence: int
    region: str = ""
    anchor: date | None = None
    agreement_ends_on: date | None = None
    degree: str | None = None  # 从轻/减轻/从重: moves the item's allowed points
    means: str | None = None  # a 记分修复 (repair): ``points`` restored, not deducted


@dataclass(frozen=True)
class ManualEvent:
    """A termination (for violations) or code cancellation decided by an operator rather
    than by points, or imported from before the ledger; it causes a ban and counts as a
    prior termination (lanzhou-2014 第十八条). Do not pass terminations the ledger fires."""

    ref: str
    kind: BanTrigger
    effective_on: date


@dataclass(frozen=True)
class Firing:
    period_key: str
    rule_id: str  # threshold or consecutive-rule id
    action: ActionType
    status: Status
    months: int | None  # fixed months of a suspend
    months_range: tuple[int, int] | None  # (min, max) of a suspend left to the operator
    deduction_id: str  # the deduction that triggered it
    effective_on: date  # = that deduction's decided_on
    region: str  # that deduction's region
    deducted: int  # the period's deducted points once that deduction counted
    single_deduction: bool  # that deduction alone carried the threshold's points
    clause: str

    @property
    def key(self) -> tuple[str, str]:
        """What the caller persists an action under: (period key, rule id)."""
        return (self.period_key, self.rule_id)


@dataclass(frozen=True)
class PeriodStanding:
    key: str
    starts_on: date
    ends_on: date
    anchor: date | None
    initial: int
    deducted: int
    remaining: int  # max(initial - deducted, 0)
    reached: frozenset[str]  # rule ids whose condition holds on the final totals
    fired: tuple[str, ...]  # in firing order
    consumed: frozenset[str]
    deductions: tuple[str, ...]  # ids, in replay order


@dataclass(frozen=True)
class Replay:
    policy_id: str
    periods: tuple[PeriodStanding, ...]  # by start date
    firings: tuple[Firing, ...]  # in replay order
    bans: tuple[Ban, ...]  # by start date

    def period(self, key: str) -> PeriodStanding | None:
        return next((p for p in self.periods if p.key == key), None)

    def firing(self, period_key: str, rule_id: str) -> Firing | None:
        return next((f for f in self.firings if f.key == (period_key, rule_id)), None)


def resolve_points(
    policy: Policy,
    item_id: str,
    points: int | None,
    *,
    field_prefix: str = "",
    degree: str | None = None,
) -> int:
    """The points a deduction for ``item_id`` carries.

    A fixed item costs its fixed points (``points`` may be omitted or must equal them); a
    range item (lanzhou-2014 第十四条 1-3分, nhsa-2024 bands) needs ``points`` within the
    range. Errors name the field: ``item`` or ``points`` (after ``field_prefix``).
    """
    item = policy.item(item_id)
    if item is None:
        raise UnknownItem(f"{policy.id} has no item {item_id!r}", field=f"{field_prefix}item")
    low, high = item.points
    where = f"{field_prefix}points"
    if degree is not None:
        moved = degree_range(policy.degrees, degree, low, high, policy.initial_points)
        if moved is None:
            raise DegreeNotAllowed(
                f"{policy.id} has no degree {degree!r} for item {item_id}",
                field=f"{field_prefix}degree",
            )
        if (low, high) != moved:
            item = item.model_copy(update={"points": moved})
        low, high = moved
    if points is None:
        if item.is_range:
            raise PointsRequired(
                f"item {item_id} ({item.clause}) carries {low}-{high} points: give the number",
                field=where,
            )
        return low
    if isinstance(points, bool) or not isinstance(points, int):
        raise PointsOutOfRange(f"points must be an integer, got {points!r}", field=where)
    if not item.is_range and points != low:
        raise PointsMismatch(
            f"item {item_id} ({item.clause}) costs exactly {low} points, not {points}",
            field=where,
        )
    if not low <= points <= high:
        raise PointsOutOfRange(
            f"item {item_id} ({item.clause}) carries {low}-{high} points, not {points}",
            field=where,
        )
    return points


@dataclass
class _State:
    period: Period
    deducted: int = 0
    deductions: list[str] = field(default_factory=list)
    fired: list[str] = field(default_factory=list)
    consumed: set[str] = field(default_factory=set)
    top_severity: int = 0
    terminated: bool = False


def _rules(policy: Policy) -> list[Rule]:
    return [*policy.thresholds, *policy.consecutive]


def _reached(
    policy: Policy, rule: Rule, period: Period, deducted: int, totals: dict[Period, int]
) -> bool:
    if isinstance(rule, Threshold):
        return deducted >= rule.reaches
    if deducted < rule.each_at_least:
        return False
    earlier: Period | None = period
    for _ in range(rule.periods - 1):
        earlier = previous_period(policy, earlier) if earlier is not None else None
        if earlier is None or totals.get(earlier, 0) < rule.each_at_least:
            return False
    return True


def _validated(policy: Policy, ledger: Iterable[Deduction]) -> list[tuple[Deduction, Period]]:
    out: list[tuple[Deduction, Period]] = []
    seen: set[str] = set()
    for n, d in enumerate(ledger):
        prefix = f"ledger[{n}]."
        if d.id in seen:
            raise InvalidLedger(f"deduction {d.id!r} appears twice", field=f"{prefix}id")
        seen.add(d.id)
        if d.means is None:
            resolve_points(policy, d.item, d.points, field_prefix=prefix, degree=d.degree)
        period = period_of(
            policy,
            d.decided_on,
            d.anchor,
            field=f"{prefix}anchor",
            agreement_ends_on=d.agreement_ends_on,
        )
        out.append((d, period))
    out.sort(key=lambda e: (e[0].decided_on, e[0].sequence, e[0].id))
    return out


def _fire(rule: Rule, st: _State, d: Deduction) -> Firing:
    months = rule.months
    fixed = months is not None and months[0] == months[1]
    default = rule.months_default if isinstance(rule, Threshold) else None
    return Firing(
        period_key=st.period.key,
        rule_id=rule.id,
        action=rule.action,
        status=rule.status,
        months=months[0] if months is not None and fixed else default,
        months_range=None if months is None or fixed else months,
        deduction_id=d.id,
        effective_on=d.decided_on,
        region=d.region,
        deducted=st.deducted,
        single_deduction=isinstance(rule, Threshold) and d.points >= rule.reaches,
        clause=rule.clause,
    )


def _step(policy: Policy, st: _State, d: Deduction, totals: dict[Period, int]) -> Firing | None:
    """Count ``d`` in its period and apply rules 1-4 of the module docstring. A repair
    (记分修复) lowers the period's points and fires nothing; what fired stays fired."""
    if d.means is not None:
        st.deducted = max(st.deducted - d.points, 0)
        totals[st.period] = st.deducted
        return None
    st.deducted += d.points
    st.deductions.append(d.id)
    totals[st.period] = st.deducted
    newly = [
        rule
        for rule in _rules(policy)
        if rule.id not in st.consumed
        and rule.id not in st.fired
        and _reached(policy, rule, st.period, st.deducted, totals)
    ]
    if not newly:
        return None
    best = max(newly, key=lambda rule: rule.severity)
    if st.terminated or best.severity <= st.top_severity:
        st.consumed.update(rule.id for rule in newly)
        return None
    st.consumed.update(rule.id for rule in newly if rule is not best)
    st.fired.append(best.id)
    st.top_severity = best.severity
    st.terminated = best.action in _ENDING
    return _fire(best, st, d)


def _standing(policy: Policy, st: _State, totals: dict[Period, int]) -> PeriodStanding:
    initial = policy.initial_points
    return PeriodStanding(
        key=st.period.key,
        starts_on=st.period.starts_on,
        ends_on=st.period.ends_on,
        anchor=st.period.anchor,
        initial=initial,
        deducted=st.deducted,
        remaining=max(initial - st.deducted, 0),
        reached=frozenset(
            rule.id
            for rule in _rules(policy)
            if _reached(policy, rule, st.period, st.deducted, totals)
        ),
        fired=tuple(st.fired),
        consumed=frozenset(st.consumed),
        deductions=tuple(st.deductions),
    )


def _bans(
    policy: Policy, firings: Sequence[Firing], manual: Iterable[ManualEvent]
) -> tuple[Ban, ...]:
    """Bans in date order; on one date ledger firings count before manual events."""
    events: list[tuple[date, int, BanTrigger, str, bool]] = []
    for f in firings:
        if f.status == "applied" and (f.action == "terminate" or f.action == "cancel_code"):
            source = f"{f.period_key}/{f.rule_id}"
            events.append((f.effective_on, 0, f.action, source, f.single_deduction))
    events += [(m.effective_on, 1, m.kind, m.ref, False) for m in manual]
    events.sort(key=lambda e: (e[0], e[1]))  # stable: replay order within a date
    bans: list[Ban] = []
    terminations = 0
    for effective_on, _, trigger, source, single in events:
        ban = ban_for_event(
            policy,
            trigger,
            effective_on,
            source=source,
            prior_terminations=terminations,
            single_deduction=single,
        )
        if ban is not None:
            bans.append(ban)
        if trigger == "terminate":
            terminations += 1
    return tuple(sorted(bans, key=lambda b: (b.starts_on, b.source)))


def replay(
    policy: Policy,
    ledger: Iterable[Deduction],
    *,
    manual_events: Iterable[ManualEvent] = (),
) -> Replay:
    """Replay the whole ledger (any order; it is sorted here) and derive standing,
    firings and bans. Raises ``UnknownItem``/``PointsRequired``/``PointsOutOfRange``/
    ``PointsMismatch``/``InvalidLedger`` with ``field`` = ``ledger[n].<name>``."""
    states: dict[Period, _State] = {}
    totals: dict[Period, int] = {}
    firings: list[Firing] = []
    for d, period in _validated(policy, ledger):
        st = states.setdefault(period, _State(period))
        fired = _step(policy, st, d, totals)
        if fired is not None:
            firings.append(fired)
    periods = tuple(_standing(policy, states[p], totals) for p in sorted(states))
    return Replay(
        policy_id=policy.id,
        periods=periods,
        firings=tuple(firings),
        bans=_bans(policy, firings, manual_events),
    )


def standing_on(
    policy: Policy,
    result: Replay,
    on: date,
    anchor: date | None = None,
    agreement_ends_on: date | None = None,
) -> PeriodStanding:
    """The standing of the period containing ``on`` (full points when nothing was
    deducted there). ``anchor``, ``agreement_ends_on`` as for :class:`Deduction`."""
    period = period_of(policy, on, anchor, agreement_ends_on=agreement_ends_on)
    found = result.period(period.key)
    if found is not None:
        return found
    return PeriodStanding(
        key=period.key,
        starts_on=period.starts_on,
        ends_on=period.ends_on,
        anchor=period.anchor,
        initial=policy.initial_points,
        deducted=0,
        remaining=policy.initial_points,
        reached=frozenset(),
        fired=(),
        consumed=frozenset(),
        deductions=(),
    )
