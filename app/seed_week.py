"""A working week on the demo data, so the first ``make run`` shows a console at work:
deductions recorded over the last working days (one reaching an interview, two a
suspension the operator decides, one approved), objections waiting, a roster imported,
and settlements answered on the hot path with their rejections.

Every write goes through the services an operator's would (audited, with their checks);
the settlements are judged on the record by the decision-lookup's own judge
(``app.registry.history.explain_decision``), so each verdict is what the gatekeeper
answers for that line and what 结算查询 explains.
"""

from __future__ import annotations

import os
import random
import uuid
from collections.abc import Awaitable, Callable
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.actions import service as actions
from app.actions.schemas import ActionDecision
from app.auth.principal import Principal, Role
from app.core.clock import SHANGHAI
from app.core.errors import DomainError
from app.imports import service as imports
from app.registry import decision_codec as codec
from app.registry import history, source
from app.rules.errors import RulesError
from app.uow import unit_of_work
from app.violations import service as violations
from app.violations.schemas import ObjectionCreate, ViolationCreate

SEEDER = Principal(token_id="seed", role=Role.SUPERUSER)
HANGZHOU, LANZHOU = "330100", "620100"
# (region, item, points, working days ago occurred, days ago decided)
Deduction = tuple[str, str, int | None, int, int]
STORIES: list[tuple[str, list[Deduction], str]] = [
    # zhejiang-2014 三（二）: 6 points → 约谈 (applied); 9 → 中止 1-3 months (pending).
    (
        "pending",
        [
            (HANGZHOU, "2.1", None, 6, 5),
            (HANGZHOU, "3.1", None, 4, 3),
            (HANGZHOU, "4.1", None, 2, 1),
        ],
        "",
    ),
    (
        "approve",
        [
            (HANGZHOU, "2.1", None, 7, 6),
            (HANGZHOU, "3.1", None, 5, 4),
            (HANGZHOU, "4.1", None, 4, 3),
        ],
        "",
    ),
    ("interview", [(HANGZHOU, "2.1", None, 3, 2)], ""),
    ("objection", [(HANGZHOU, "3.1", None, 3, 2)], "该日为急诊抢救，处方依据见病历（演示）"),
    # lanzhou-2014 第十七条: 6 points in a term → 暂停 3 months (applied).
    ("suspend", [(LANZHOU, "13.1", None, 6, 5), (LANZHOU, "14.1", 1, 2, 1)], ""),
    ("objection", [(LANZHOU, "14.2", 2, 2, 1)], "对扣分事实有异议，申请复核（演示）"),
    (
        "pending",
        [
            (HANGZHOU, "2.2", None, 5, 4),
            (HANGZHOU, "3.2", None, 3, 2),
            (HANGZHOU, "4.2", None, 1, 1),
        ],
        "",
    ),
]
Write = Callable[[AsyncSession], Awaitable[Any]]


class Unfit(Exception):
    """A candidate physician whose record does not tell the story (rolled back, next)."""


def working_days_back(today: date, n: int) -> date:
    """The ``n``-th working day (Monday to Friday) before ``today`` (0: today)."""
    d = today
    while n > 0:
        d -= timedelta(days=1)
        if d.weekday() < 5:
            n -= 1
    return d


async def _try(sessions: async_sessionmaker[AsyncSession], fn: Write) -> bool:
    """One story in its own transaction: kept whole, or (a candidate that does not fit,
    e.g. a physician whose demo agreement ended) dropped whole."""
    try:
        async with unit_of_work(sessions) as uow:
            await fn(uow.session)
    except (DomainError, RulesError, Unfit):
        return False
    return True


def _story(kind: str, code: str, steps: list[Deduction], grounds: str, today: date) -> Write:
    async def run(session: AsyncSession) -> None:
        last = None
        for region, item, points, occurred, decided in steps:
            last = await violations.record_violation(
                session,
                SEEDER,
                ViolationCreate(
                    physician_code=code,
                    region=region,
                    item=item,
                    points=points,
                    occurred_on=working_days_back(today, occurred),
                    decided_on=working_days_back(today, decided),
                    note="演示数据",
                ),
            )
        assert last is not None
        if kind == "objection":
            await violations.file_objection(
                session, SEEDER, last.id, ObjectionCreate(filed_on=today, grounds=grounds)
            )
        if kind in ("pending", "approve"):
            pending = [a for a in last.actions if a.status == "pending"]
            if not pending:
                raise Unfit(code)
            if kind == "approve":
                decision = ActionDecision(
                    approve=True, months=3, decided_on=working_days_back(today, 2)
                )
                await actions.decide(session, SEEDER, pending[0].id, decision)

    return run


async def seed_week(
    sessions: async_sessionmaker[AsyncSession],
    today: date,
    candidates: dict[str, list[str]],
    roster: bytes,
    settlements: list[tuple[str, list[str]]],
) -> dict[str, int]:
    """The week's writes; ``candidates``: physician codes per region, tried in order."""
    done = {"stories": 0, "settlements": 0}
    used: set[str] = set()
    for kind, steps, grounds in STORIES:
        region = steps[0][0]
        for code in candidates[region]:
            if code in used:
                continue
            used.add(code)
            if await _try(sessions, _story(kind, code, steps, grounds, today)):
                done["stories"] += 1
                break
    await _try(sessions, lambda s: imports.import_roster(s, SEEDER, roster, commit=True))
    done["settlements"] = await _settlements(sessions, today, settlements)
    return done


def _uuid7_at(at: datetime) -> str:
    ms = int(at.timestamp() * 1000)
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms << 80) | (0x7 << 76) | ((rand >> 62) & 0xFFF) << 64 | (0b10 << 62)
    value |= rand & ((1 << 62) - 1)
    return str(uuid.UUID(int=value))


async def _settlements(
    sessions: async_sessionmaker[AsyncSession],
    today: date,
    settlements: list[tuple[str, list[str]]],
) -> int:
    """Settlements over the last five working days, each line judged on the record."""
    rnd = random.Random(2026)
    async with unit_of_work(sessions) as uow:
        session = uow.session
        version = await source.current_version(session)
        for n, (institution, codes) in enumerate(settlements):
            day = working_days_back(today, n % 5)
            at = datetime.combine(day, time(8 + n % 9, rnd.randrange(60)), SHANGHAI)
            at = min(at, datetime.now(SHANGHAI) - timedelta(minutes=n))  # none yet to come
            amounts = [Decimal(rnd.randrange(500, 80000)) / 100 for _ in codes]
            did, sid = _uuid7_at(at), f"DEMO-{day:%Y%m%d}-{n:04d}"
            inputs = [[code, day.isoformat(), False] for code in codes]
            asked = [
                {"line_id": str(i + 1), "decision": "accept", "reason": None}
                for i in range(len(codes))
            ]
            draft = codec.from_lines(
                did, sid, institution, version, "accept", ("0", "0"), asked, inputs
            )
            judged = await history.explain_decision(session, codec.as_row(draft))
            verdicts = [line["basis"] for line in judged["lines"] if line["basis"]]
            lines = [
                {"line_id": str(i + 1), "decision": b["decision"], "reason": b["reason"]}
                for i, b in enumerate(verdicts)
            ]
            ok = [a for a, b in zip(amounts, verdicts, strict=True) if b["decision"] == "accept"]
            accepted = sum(ok, Decimal(0))
            rejected = sum(amounts, Decimal(0)) - accepted
            outcome = "accept" if len(ok) == len(codes) else "reject" if not ok else "partial"
            decision = codec.from_lines(
                did,
                sid,
                institution,
                version,
                outcome,
                (f"{accepted:.2f}", f"{rejected:.2f}"),
                lines,
                inputs,
            )
            row = codec.as_row(decision)
            session.add(row)
        await session.flush()
    return len(settlements)
