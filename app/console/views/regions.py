"""统筹区: each region's policy versions with their effective dates, and (superuser) a
switch to another policy from a date, previewed before it is committed."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.responses import RedirectResponse, Response

from app.console import repository as repo
from app.console import sessions
from app.console.deps import Ctx
from app.console.forms import parse
from app.console.labels import ACTION_TYPE
from app.console.templating import render
from app.console.views.common import REFUSED, refused
from app.core.clock import today
from app.core.types import DATE_MIN
from app.regions import versions as policy_versions
from app.regions.schemas import PolicySwitch
from app.regions.service import get_region, regions_out
from app.rules import get_policy, list_policies

router = APIRouter(prefix="/console")


@router.get("/regions")
async def listing(ctx: Ctx) -> Response:
    rows = await regions_out(ctx.db, await repo.regions(ctx.db))  # the policy in force today
    titles = {p.id: p.title for p in list_policies()}
    return render(ctx, "regions.html", active="regions", rows=rows, titles=titles)


async def region_page(ctx: Ctx, code: str, status: int = 200, **extra: Any) -> Response:
    region = await get_region(ctx.db, code)
    versions = await policy_versions.versions(ctx.db, code)
    on = today()
    in_force = max((v for v in versions if v.effective_from <= on), key=lambda v: v.effective_from)
    return render(
        ctx,
        "region.html",
        status=status,
        active="regions",
        region=region,
        versions=versions,
        in_force=in_force,
        first_day=DATE_MIN,
        policies=list_policies(),
        titles={p.id: p.title for p in list_policies()},
        can_switch=ctx.user.superuser,
        today=on,
        **extra,
    )


def _thresholds(policy_id: str) -> list[str]:
    """The new policy's thresholds as an operator reads them (the preview's ``thresholds``)."""
    how = {"applied": "自动执行", "pending": "待经办机构决定"}
    out = []
    for t in get_policy(policy_id).thresholds:
        what = ACTION_TYPE.get(t.action, t.action)
        out.append(f"达到 {t.reaches} 分：{what}（{how.get(t.status, t.status)}）")
    return out


@router.get("/regions/{code}")
async def region(ctx: Ctx, code: str) -> Response:
    return await region_page(ctx, code)


@router.post("/regions/{code}/policy")
async def switch(ctx: Ctx, code: str) -> Response:
    """``_intent=preview`` (the default) shows what the switch changes and writes nothing;
    the preview offers ``_intent=commit`` with the same fields."""
    fields = await ctx.form()
    try:
        data = parse(PolicySwitch, fields)
        if fields.get("_intent") != "commit":
            ctx.user.principal.require_write(code)  # as the API's preview
            preview = await policy_versions.preview_switch(ctx.db, code, data)
            return await region_page(
                ctx, code, values=fields, preview=preview, thresholds=_thresholds(preview.policy)
            )

        async def run(s: Any) -> None:
            done = await policy_versions.switch_policy(s, ctx.user.principal, code, data)
            title = get_policy(done.policy).title
            message = f"已切换政策：自 {done.effective_from} 起执行 {title}（{done.policy}）"
            await sessions.set_flash(s, ctx.user.sid_hash, message)

        await ctx.write(run)
    except REFUSED as exc:
        status, err = refused(exc)
        return await region_page(ctx, code, status, values=fields, **err)
    return RedirectResponse(f"/console/regions/{code}", status_code=303)
