"""结算查询, 审计日志, 工作日历: read-only look-ups."""

from __future__ import annotations

import calendar as cal
from datetime import date

from fastapi import APIRouter
from starlette.responses import Response

from app.console import repository as repo
from app.console.deps import Ctx
from app.console.templating import render
from app.console.views.common import parse_day
from app.core.clock import today
from app.rules import CalendarOutOfRange, is_working_day
from app.rules.workdays import CALENDAR_FIRST_DAY, CALENDAR_LAST_DAY

router = APIRouter(prefix="/console")
AUDIT_PAGE = 50


@router.get("/settlements")
async def settlements(ctx: Ctx, q: str = "") -> Response:
    rows = await repo.decisions_for(ctx.db, q.strip()) if q.strip() else []
    return render(ctx, "settlements.html", active="settlements", q=q, rows=rows)


@router.get("/audit")
async def audit(
    ctx: Ctx,
    action: str = "",
    target_type: str = "",
    target_id: str = "",
    region: str = "",
    since: str = "",
    until: str = "",
    page: int = 0,
) -> Response:
    page = max(page, 0)
    rows = await repo.audit_entries(
        ctx.db,
        action=action.strip() or None,
        target_type=target_type or None,
        target_id=target_id.strip() or None,
        region=region.strip() or None,
        since=parse_day(since, date.min) if since else None,
        until=parse_day(until, date.max) if until else None,
        offset=page * AUDIT_PAGE,
        limit=AUDIT_PAGE,
    )
    filters = {
        "action": action,
        "target_type": target_type,
        "target_id": target_id,
        "region": region,
        "since": since,
        "until": until,
    }
    return render(
        ctx,
        "audit.html",
        active="audit",
        rows=rows[:AUDIT_PAGE],
        more=len(rows) > AUDIT_PAGE,
        page=page,
        filters=filters,
        query="&".join(f"{k}={v}" for k, v in filters.items() if v),
    )


@router.get("/calendar")
async def calendar(ctx: Ctx, year: int = 0) -> Response:
    year = year or today().year
    months = []
    covered = CALENDAR_FIRST_DAY.year <= year <= CALENDAR_LAST_DAY.year
    if covered:
        for month in range(1, 13):
            weeks = []
            for week in cal.Calendar(firstweekday=0).monthdatescalendar(year, month):
                weeks.append([(d, d.month == month, _working(d)) for d in week])
            months.append((month, weeks))
    return render(
        ctx,
        "calendar.html",
        active="calendar",
        year=year,
        months=months,
        covered=covered,
        first=CALENDAR_FIRST_DAY,
        last=CALENDAR_LAST_DAY,
        today=today(),
    )


def _working(d: date) -> bool | None:
    try:
        return is_working_day(d)
    except CalendarOutOfRange:
        return None
