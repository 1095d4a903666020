"""工作台: what needs doing, by when, and what the hot path rejected lately."""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from time import monotonic

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.calendar.service import work_calendar
from app.console import repository as repo
from app.console.dates import window_text
from app.core.clock import SHANGHAI
from app.models import Action, Violation
from app.rules import (
    Counted,
    WorkCalendar,
    count_working_days,
    deadline_counted,
    get_policy,
    objection_deadline_counted,
    resumption_window,
)
from app.rules.model import ALL_REASONS

DUE_SOON_WORKING_DAYS = 3
CHART_DAYS = 30


@dataclass
class Task:
    kind: str  # 待决事项 / 异议 / 恢复申请 / 恢复申请期限 / 异议期限
    subject: str  # physician code or institution code
    name: str
    what: str
    since: date
    due: date | None
    href: str
    soon: bool = False
    overdue: bool = False
    provisional: bool = False  # counted into a year whose holiday schedule is not loaded


@dataclass
class Board:
    today: date
    soon_limit: date | None
    pending: list[Task] = field(default_factory=list)
    objections: list[Task] = field(default_factory=list)
    resumptions: list[Task] = field(default_factory=list)
    provisional: list[Task] = field(default_factory=list)
    days: list[date] = field(default_factory=list)
    counts: dict[date, dict[str, int]] = field(default_factory=dict)
    totals: dict[str, int] = field(default_factory=dict)
    chart_partial: bool = False  # the days before today are still being counted

    @property
    def due_soon(self) -> list[Task]:
        every = self.pending + self.objections + self.resumptions + self.provisional
        return sorted((t for t in every if t.soon or t.overdue), key=lambda t: t.due or self.today)


def _due(counted: Counted | None) -> tuple[date | None, bool]:
    return (None, False) if counted is None else (counted.day, counted.provisional)


async def board(session: AsyncSession, today: date, region: str | None = None) -> Board:
    """The board of ``region`` (an operator's), or of every region (None)."""
    cal = await work_calendar(session)
    b = Board(today=today, soon_limit=count_working_days(today, DUE_SOON_WORKING_DAYS, cal).day)
    pending = await repo.pending_actions(session, region)
    months = await repo.months_open_actions(session, region)
    objections = await repo.open_objections(session, region)
    resumptions = await repo.open_resumptions(session, region)
    suspensions = await repo.live_suspensions(session, region)
    recent = await repo.recent_violations(session, today - timedelta(days=20), region)
    names = await repo.physician_names(
        session,
        [a.physician_code or "" for a in pending + months + suspensions]
        + [v.physician_code for _, v in objections]
        + [a.physician_code or "" for _, a in resumptions]
        + [v.physician_code for v in recent],
    )
    _pending_tasks(b, pending, names, cal)
    _months_tasks(b, months, names, cal)
    for o, v in objections:
        b.objections.append(
            _task(
                b,
                "异议",
                v.physician_code,
                names,
                f"违规 {v.item}（{v.points} 分）",
                o.filed_on,
                (None, bool(o.deadline_provisional)),
                f"/console/violations/{v.id}",
            )
        )
    for r, a in resumptions:
        due = _due(
            deadline_counted(get_policy(a.policy_id), "resumption_decision", r.filed_on, cal)
        )
        b.resumptions.append(
            _task(
                b,
                "恢复申请",
                a.physician_code or "",
                names,
                "申请恢复履行协议",
                r.filed_on,
                due,
                "/console/resumptions",
            )
        )
    await _provisional(b, suspensions, recent, names, session, cal)
    await _chart(b, session, today, region)
    return b


def _pending_tasks(
    b: Board, pending: list[Action], names: dict[str, str], cal: WorkCalendar
) -> None:
    """待决事项: each pending action with its notice deadline."""
    for a in pending:
        due = _due(deadline_counted(get_policy(a.policy_id), "notice", a.effective_on, cal))
        months = f"{a.months_min}–{a.months_max} 个月" if a.months_min else ""
        b.pending.append(
            _task(
                b,
                "待决事项",
                a.physician_code or a.institution_code or "",
                names,
                f"{a.clause} {months}".strip(),
                a.effective_on,
                due,
                f"/console/actions#{a.id}",
            )
        )


def _months_tasks(b: Board, months: list[Action], names: dict[str, str], cal: WorkCalendar) -> None:
    """nhsa-2024's mandatory suspensions whose months are still to choose, by their deadline."""
    for a in months:
        policy = get_policy(a.policy_id)
        b.pending.append(
            _task(
                b,
                "暂停月数",
                a.physician_code or "",
                names,
                f"{a.clause} 选择 {a.months_min}–{a.months_max} 个月",
                a.effective_on,
                _due(deadline_counted(policy, "suspension_months", a.effective_on, cal)),
                f"/console/actions#months-{a.id}",
            )
        )


async def _provisional(
    b: Board,
    suspensions: list[Action],
    recent: list[Violation],
    names: dict[str, str],
    session: AsyncSession,
    cal: WorkCalendar,
) -> None:
    for a in suspensions:
        policy = get_policy(a.policy_id)
        if policy.suspension.resumes != "on_approved_application" or a.ends_on is None:
            continue
        window = resumption_window(policy, a.ends_on, cal)
        if window is None or window.closes_on < b.today:
            continue
        b.provisional.append(
            _task(
                b,
                "恢复申请期限",
                a.physician_code or "",
                names,
                f"暂停 {a.starts_on} 至 {a.ends_on}；{window_text(window)}，逾期不申请则自动延长",
                a.starts_on,
                (window.closes_on, window.provisional),
                "/console/resumptions",
            )
        )
    objected = await repo.objections_for(session, [v.id for v in recent])
    for v in recent:
        if v.id in objected:
            continue
        due = _due(objection_deadline_counted(get_policy(v.policy_id), v.decided_on, cal))
        if due[0] is None or due[0] < b.today:
            continue
        b.provisional.append(
            _task(
                b,
                "异议期限",
                v.physician_code,
                names,
                f"违规 {v.item}（{v.points} 分）可提出异议",
                v.decided_on,
                due,
                f"/console/violations/{v.id}",
            )
        )


def _task(
    b: Board,
    kind: str,
    subject: str,
    names: dict[str, str],
    what: str,
    since: date,
    counted: tuple[date | None, bool],
    href: str,
) -> Task:
    due, provisional = counted
    t = Task(kind, subject, names.get(subject, ""), what, since, due, href)
    t.provisional = provisional
    if due is not None:
        t.overdue = due < b.today
        t.soon = not t.overdue and b.soon_limit is not None and due <= b.soon_limit
    return t


# The days before today are settled: their counts are kept a few minutes (per database
# and region) and recounted in the background when stale, so a view of the 工作台 counts
# only today's decisions. With none kept yet (a process's first view), it waits at most
# PAST_WAIT_S for them and else shows today's alone, saying the rest is being counted.
PAST_TTL_S = 300.0
PAST_WAIT_S = 0.15
Rows = list[tuple[str, str, int]]
_past: dict[tuple[str, str | None, date], tuple[float, Rows]] = {}
_counting: dict[tuple[str, str | None, date], asyncio.Task[None]] = {}


def _recount(
    engine: AsyncEngine, key: tuple[str, str | None, date], since: datetime, until: datetime
) -> asyncio.Task[None]:
    async def run() -> None:
        try:
            async with AsyncSession(engine) as s:
                rows = await repo.rejections_by_day(s, since, until, key[1])
            for old in [k for k, v in _past.items() if v[0] < monotonic()]:
                del _past[old]
            _past[key] = (monotonic() + PAST_TTL_S, rows)
        finally:
            _counting.pop(key, None)

    task = _counting.get(key)
    if task is None:
        task = _counting[key] = asyncio.create_task(run(), name="console-chart-count")
    return task


async def _rejections(
    b: Board, session: AsyncSession, first: date, today: date, region: str | None
) -> Rows:
    midnight = datetime.combine(today, time(), SHANGHAI)
    since = datetime.combine(first, time(), SHANGHAI)
    engine = session.bind
    live = await repo.rejections_by_day(session, midnight, midnight + timedelta(days=1), region)
    if not isinstance(engine, AsyncEngine):  # not bound to an engine: count here
        return await repo.rejections_by_day(session, since, midnight, region) + live
    key = (str(engine.url), region, first)
    cached = _past.get(key)
    if cached is not None:
        if cached[0] < monotonic():
            _recount(engine, key, since, midnight)  # stale: shown, recounted meanwhile
        return cached[1] + live
    task = _recount(engine, key, since, midnight)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.shield(task), PAST_WAIT_S)
    cached = _past.get(key)
    if cached is None:
        b.chart_partial = True
        return live
    return cached[1] + live


async def _chart(b: Board, session: AsyncSession, today: date, region: str | None) -> None:
    """Rejected lines per day and reason over CHART_DAYS days, counted in SQL."""
    first = today - timedelta(days=CHART_DAYS - 1)
    b.days = [first + timedelta(days=i) for i in range(CHART_DAYS)]
    counts: dict[date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    totals: dict[str, int] = defaultdict(int)
    for day, reason, n in await _rejections(b, session, first, today, region):
        if reason in ALL_REASONS:
            counts[date.fromisoformat(day)][reason] += n
            totals[reason] += n
    b.counts = {d: dict(c) for d, c in counts.items()}
    b.totals = dict(totals)
