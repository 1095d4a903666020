"""记录违规 (with a preview) and 异议 (file, decide; the reversal previewed)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.responses import RedirectResponse, Response

from app.calendar.service import work_calendar
from app.console import repository as repo
from app.console import sessions
from app.console.deps import Ctx
from app.console.forms import parse
from app.console.labels import ACTION_TYPE
from app.console.templating import render
from app.console.views.common import REFUSED, refused
from app.console.views.physicians import own_code, to_own_code
from app.core.clock import today
from app.physicians import service as physicians
from app.regions import service as regions_service
from app.rules import get_policy
from app.violations import service as violations
from app.violations.preview import preview_reversal, preview_violation
from app.violations.schemas import (
    ObjectionCreate,
    ObjectionDecided,
    ObjectionDecision,
    ViolationCreate,
    ViolationCreated,
    ViolationOut,
)

router = APIRouter(prefix="/console")


async def _form_page(ctx: Ctx, code: str, status: int = 200, **extra: Any) -> Response:
    standing = await physicians.standing(ctx.db, code, today())
    regions = {r.code: r for r in await repo.regions(ctx.db)}
    mine = sorted({a.region for a in standing.agreements if ctx.user.can_write(a.region)})
    values = extra.pop("values", {})
    region = values.get("region") or (mine[0] if mine else "")
    in_force = await regions_service.policies_today(ctx.db, [region]) if region in regions else {}
    policy = get_policy(in_force[region]) if region in in_force else None
    # An htmx preview (shown or refused) answers the preview pane only, never a whole page.
    partial = ctx.request.headers.get("HX-Request") == "true" and (
        "preview" in extra or "problem" in extra
    )
    return render(
        ctx,
        "preview.html" if partial else "violation_new.html",
        status=status,
        active="physicians",
        p=standing,
        regions=regions,
        mine=mine,
        region=region,
        policy=policy,
        values=values,
        today=today(),
        action_type=ACTION_TYPE,
        **extra,
    )


@router.get("/physicians/{code}/violations/new")
async def new_violation(ctx: Ctx, code: str, region: str = "") -> Response:
    own = await own_code(ctx, code)
    if own != code:
        return to_own_code(ctx, own, "/violations/new")
    return await _form_page(ctx, code, values={"region": region} if region else {})


def _created_message(created: ViolationCreated) -> str:
    s = created.standing
    parts = [f"已记录违规 {created.item}，扣 {created.points} 分（本周期剩余 {s.remaining} 分）"]
    for a in created.actions:
        what = ACTION_TYPE.get(a.type, a.type)
        if a.type == "suspend" and a.status == "pending":
            parts.append(f"触发{what}（{a.months_min}–{a.months_max} 个月，待决定）")
        elif a.type == "suspend" and a.ends_on:
            parts.append(f"已暂停 {a.effective_on} 至 {a.ends_on}")
            if a.months_min != a.months_max:  # nhsa-2024: the months chosen afterwards
                parts.append(f"暂停月数（{a.months_min}–{a.months_max} 个月）待在期限内选择")
        else:
            parts.append(f"触发{what}（{a.effective_on} 起）")
    return "；".join(parts)


@router.post("/physicians/{code}/violations")
async def record(ctx: Ctx, code: str) -> Response:
    fields = await ctx.form()
    code = await own_code(ctx, code)
    intent = fields.get("_intent", "preview")
    if intent == "reload":
        return await _form_page(ctx, code, values=fields)
    try:
        data = parse(ViolationCreate, {**fields, "physician_code": code})
        if intent != "commit":
            preview = await preview_violation(ctx.db, ctx.user.principal, data)
            return await _form_page(ctx, code, values=fields, preview=preview)

        async def run(s: Any) -> None:
            created = await violations.record_violation(s, ctx.user.principal, data)
            await sessions.set_flash(s, ctx.user.sid_hash, _created_message(created))

        await ctx.write(run)
    except REFUSED as exc:
        status, err = refused(exc)
        return await _form_page(ctx, code, status, values=fields, **err)
    return RedirectResponse(f"/console/physicians/{code}", status_code=303)


def _decided_message(d: ObjectionDecided) -> str:
    if not d.upheld:
        return f"异议不成立：维持扣分（{d.decided_on}）"
    undone = "、".join(ACTION_TYPE.get(a.type, a.type) for a in d.voided_actions)
    return f"异议成立：扣分已撤销（{d.decided_on}）" + (f"，并撤销{undone}" if undone else "")


async def violation_page(ctx: Ctx, violation_id: str, status: int = 200, **extra: Any) -> Response:
    v = await violations.get_violation(ctx.db, violation_id)
    policy = get_policy(v.policy_id)
    objection = await repo.objection_of(ctx.db, v.id)
    reversal = None
    if objection is not None and objection.upheld is None and v.reversed_at is None:
        reversal = await preview_reversal(ctx.db, v.id)
    names = await repo.physician_names(ctx.db, [v.physician_code])
    return render(
        ctx,
        "violation.html",
        status=status,
        active="objections",
        v=v,
        out=ViolationOut.from_record(v, policy, await work_calendar(ctx.db)),  # as the API
        item=policy.item(v.item),
        objection=objection,
        reversal=reversal,
        name=names.get(v.physician_code, ""),
        today=today(),
        can_write=ctx.user.can_write(v.region_code),
        **extra,
    )


@router.get("/violations/{violation_id}")
async def violation(ctx: Ctx, violation_id: str) -> Response:
    return await violation_page(ctx, violation_id)


@router.post("/violations/{violation_id}/objection")
async def file_objection(ctx: Ctx, violation_id: str) -> Response:
    fields = await ctx.form()
    try:
        data = parse(ObjectionCreate, fields)
        await ctx.write(
            lambda s: violations.file_objection(s, ctx.user.principal, violation_id, data),
            f"已登记异议（{data.filed_on} 提出），待决定",
        )
    except REFUSED as exc:
        status, err = refused(exc)
        return await violation_page(
            ctx, violation_id, status, error_form="file", values=fields, **err
        )
    return RedirectResponse(f"/console/violations/{violation_id}", status_code=303)


@router.post("/violations/{violation_id}/objection/decision")
async def decide_objection(ctx: Ctx, violation_id: str) -> Response:
    fields = await ctx.form()
    try:
        data = parse(ObjectionDecision, fields)

        async def run(s: Any) -> None:
            decided = await violations.decide_objection(s, ctx.user.principal, violation_id, data)
            await sessions.set_flash(s, ctx.user.sid_hash, _decided_message(decided))

        await ctx.write(run)
    except REFUSED as exc:
        status, err = refused(exc)
        return await violation_page(
            ctx, violation_id, status, error_form="decide", values=fields, **err
        )
    return RedirectResponse(f"/console/violations/{violation_id}", status_code=303)
