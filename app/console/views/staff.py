"""登记人员 (a 相关人员 of any category, with its national code) and 记分修复 (points
restored under the region's policy), through the services the admin API calls."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.responses import RedirectResponse, Response

from app.console import repository as repo
from app.console import sessions
from app.console.deps import Ctx
from app.console.forms import parse
from app.console.labels import CATEGORY
from app.console.templating import render
from app.console.views.common import REFUSED, refused
from app.console.views.physicians import own_code, physician_page
from app.physicians import service as physicians
from app.physicians.schemas import PhysicianCreate
from app.violations.repairs import record_repair
from app.violations.schemas import RepairCreate

router = APIRouter(prefix="/console")


@router.post("/physicians")
async def register(ctx: Ctx) -> Response:
    """登记人员: the code is ``YB`` + the certificate number; the national code is checked
    against the category by the API's own request model."""
    fields = await ctx.form()
    try:
        data = parse(PhysicianCreate, fields)
        kind = CATEGORY.get(data.category, data.category)
        created = await ctx.write(
            lambda s: physicians.create_physician(s, ctx.user.principal, data),
            f"已登记{kind} {data.name}（{'YB' + data.certificate_no}）",
        )
    except REFUSED as exc:
        status, err = refused(exc)
        return search_page(ctx, status, values=fields, **err)
    return RedirectResponse(f"/console/physicians/{created.code}", status_code=303)


def search_page(ctx: Ctx, status: int, **extra: Any) -> Response:
    return render(
        ctx, "physicians.html", status=status, active="physicians", q="", rows=[], **extra
    )


@router.post("/physicians/{code}/repairs")
async def repair(ctx: Ctx, code: str) -> Response:
    fields = await ctx.form()
    code = await own_code(ctx, code)
    names = {r.code: r.name for r in await repo.regions(ctx.db)}
    try:
        data = parse(RepairCreate, fields)
        where = names.get(data.region, data.region)

        async def run(s: Any) -> None:
            done = await record_repair(s, ctx.user.principal, code, data)
            left = done.standing.remaining
            message = f"已修复 {data.points} 分（{where} {data.period} 周期，剩余 {left} 分）"
            await sessions.set_flash(s, ctx.user.sid_hash, message)

        await ctx.write(run)
    except REFUSED as exc:
        status, err = refused(exc)
        return await physician_page(ctx, code, status, error_form="repair", values=fields, **err)
    return RedirectResponse(f"/console/physicians/{code}#repair", status_code=303)
