"""结算查询, 审计日志, 工作日历: read-only look-ups."""

from __future__ import annotations

import calendar as pycal
from typing import Any

from fastapi import APIRouter
from starlette.datastructures import UploadFile
from starlette.responses import RedirectResponse, Response

from app.calendar import service as calendars
from app.console import audit as audit_view
from app.console import repository as repo
from app.console import sessions
from app.console.deps import Ctx, problem_of
from app.console.templating import render
from app.console.views.common import REFUSED, refused
from app.core.clock import today
from app.core.errors import DomainError, ValidationFailed
from app.decisions import service as decisions
from app.registry import history
from app.registry.explained import ExplainedDecision

router = APIRouter(prefix="/console")
AUDIT_PAGE = 50
MAX_SCHEDULE_BYTES = 256 * 1024


@router.get("/settlements")
async def settlements(ctx: Ctx, q: str = "") -> Response:
    """A settlement id or a decision id → each line's verdict and the fact behind it (the
    decision-lookup service explains it on the record as of the decision's version)."""
    key = q.strip()[:64]
    found: list[ExplainedDecision] = []
    problem: dict[str, Any] = {}
    if key:
        try:
            found = await _lookup(ctx, key)
        except REFUSED as exc:
            _, problem = refused(exc)
    return render(ctx, "settlements.html", active="settlements", q=q, rows=found, **problem)


async def _lookup(ctx: Ctx, key: str) -> list[ExplainedDecision]:
    row = await history.get_decision(ctx.db, key)
    settlement, institution = (row.settlement_id, row.institution_code) if row else (key, None)
    page = await decisions.list_decisions(
        ctx.db,
        ctx.user.principal,
        settlement_id=settlement,
        institution_code=institution,
        physician_code=None,
        since=None,
        until=None,
        limit=20,
        offset=0,
    )
    return [d for d in page.items if row is None or d["decision_id"] == row.decision_id]


@router.get("/audit")
async def audit(ctx: Ctx, page: int = 0) -> Response:
    page = max(page, 0)
    params = {k: v for k, v in ctx.request.query_params.items() if k != "page"}
    actors = await repo.admin_tokens(ctx.db)
    try:
        f = audit_view.parse_filters(params)
    except DomainError as exc:
        f = audit_view.raw_filters(params)
        return render(
            ctx,
            "audit.html",
            status=exc.status,
            active="audit",
            rows=[],
            more=False,
            page=0,
            filters=f,
            actors=actors,
            actions=audit_view.ACTIONS,
            **problem_of(exc),
        )
    physician = f.physician
    if physician:  # a national code finds the physician's own code's entries
        physician = await repo.physician_code(ctx.db, physician) or physician.upper()
    rows = await repo.audit_entries(
        ctx.db,
        repo.AuditFilter(
            physician=physician or None,
            institution=f.institution.upper() or None,
            actor=f.actor or None,
            action=f.action or None,
            target_type=f.target_type or None,
            # An operator reads its own region's entries only.
            region=ctx.user.scope or f.region or None,
            since=f.since_day,
            until=f.until_day,
        ),
        offset=page * AUDIT_PAGE,
        limit=AUDIT_PAGE,
    )
    return render(
        ctx,
        "audit.html",
        active="audit",
        rows=[(e, audit_view.changes(e.before, e.after)) for e in rows[:AUDIT_PAGE]],
        more=len(rows) > AUDIT_PAGE,
        page=page,
        filters=f,
        actors=actors,
        actions=audit_view.ACTIONS,
        query=f.query(),
    )


@router.get("/calendar")
async def calendar(ctx: Ctx, year: int = 0) -> Response:
    return await calendar_page(ctx, year or today().year)


async def calendar_page(ctx: Ctx, year: int, status: int = 200, **extra: Any) -> Response:
    cal = await calendars.work_calendar(ctx.db)
    years = await calendars.list_years(ctx.db)
    months = []
    for month in range(1, 13):
        weeks = []
        for week in pycal.Calendar(firstweekday=0).monthdatescalendar(year, month):
            weeks.append(
                [(d, d.month == month, *cal.is_working_day_or_provisional(d)) for d in week]
            )
        months.append((month, weeks))
    return render(
        ctx,
        "calendar.html",
        status=status,
        active="calendar",
        year=year,
        months=months,
        known=cal.knows(year),
        years=years,
        this_year=next((y for y in years if y.year == year), None),
        today=today(),
        **extra,
    )


@router.post("/calendar")
async def load_calendar(ctx: Ctx) -> Response:
    """Load a year's holiday schedule (the TOML file of ``ybgate calendar load``)."""
    await ctx.form()
    upload = (await ctx.request.form()).get("file")
    year = today().year
    try:
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise ValidationFailed([{"field": "file", "message": "请选择节假日安排文件（TOML）"}])
        raw = await upload.read(MAX_SCHEDULE_BYTES + 1)
        if len(raw) > MAX_SCHEDULE_BYTES:
            raise ValidationFailed([{"field": "file", "message": "文件过大（上限 256 KiB）"}])
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValidationFailed([{"field": "file", "message": "文件须为 UTF-8 编码"}]) from exc
        year, data = calendars.parse_schedule_file(text)

        async def run(s: Any) -> None:
            loaded = await calendars.load_year(s, ctx.user.principal, year, data)
            again = len(loaded.recomputed)
            msg = (
                f"已载入 {loaded.year} 年节假日安排：{len(loaded.holidays)} 个节假日、"
                f"{len(loaded.workdays)} 个调休上班日；重新计算了 {again} 个暂定期限"
            )
            await sessions.set_flash(s, ctx.user.sid_hash, msg)

        await ctx.write(run)
    except REFUSED as exc:
        status, err = refused(exc)
        return await calendar_page(ctx, year, status, **err)
    return RedirectResponse(f"/console/calendar?year={year}", status_code=303)
