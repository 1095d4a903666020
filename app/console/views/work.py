"""待决事项, 异议 and 恢复申请: the queues an operator works through."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.responses import RedirectResponse, Response

from app.actions import service as actions
from app.actions.schemas import ActionDecision, ResumptionCreate, ResumptionDecision
from app.calendar.service import work_calendar
from app.console import repository as repo
from app.console import sessions
from app.console.dates import window_state
from app.console.deps import Ctx
from app.console.forms import parse
from app.console.labels import ACTION_TYPE
from app.console.templating import render
from app.console.views.common import REFUSED, refused
from app.core.clock import today
from app.models import Action
from app.rules import Window, WorkCalendar, deadline_counted, get_policy, resumption_window

router = APIRouter(prefix="/console")


def _due(policy_id: str, kind: str, counted_from: Any, cal: WorkCalendar) -> Any:
    """The deadline as the services count it: over the loaded holiday schedules."""
    counted = deadline_counted(get_policy(policy_id), kind, counted_from, cal)  # type: ignore[arg-type]
    return counted.day if counted is not None else None


def _window(a: Action, cal: WorkCalendar) -> Window | None:
    """The resumption window the service applies when the application is filed."""
    if a.ends_on is None:
        return None
    return resumption_window(get_policy(a.policy_id), a.ends_on, cal)


async def actions_page(ctx: Ctx, status: int = 200, **extra: Any) -> Response:
    rows = await repo.pending_actions(ctx.db, ctx.user.scope)
    months = await repo.months_open_actions(ctx.db, ctx.user.scope)
    cal = await work_calendar(ctx.db)
    names = await repo.physician_names(ctx.db, [a.physician_code or "" for a in [*rows, *months]])
    return render(
        ctx,
        "actions.html",
        status=status,
        active="actions",
        rows=rows,
        names=names,
        dues={a.id: _due(a.policy_id, "notice", a.effective_on, cal) for a in rows},
        months=months,
        institutions=await repo.institution_names(ctx.db),
        months_due={
            a.id: _due(a.policy_id, "suspension_months", a.effective_on, cal) for a in months
        },
        today=today(),
        **extra,
    )


@router.get("/actions")
async def pending(ctx: Ctx) -> Response:
    return await actions_page(ctx)


def _decided_message(a: Action) -> str:
    what = ACTION_TYPE.get(a.type, a.type)
    if a.status == "approved" and a.type == "suspend" and a.ends_on:
        return f"已批准{what}：已暂停 {a.decided_on} 至 {a.ends_on}（{a.months} 个月）"
    if a.status == "approved":
        return f"已批准{what}（{a.decided_on}）"
    return f"决定不予{what}（{a.decided_on}）"


@router.post("/actions/{action_id}/decide")
async def decide(ctx: Ctx, action_id: str) -> Response:
    fields = await ctx.form()
    try:
        data = parse(ActionDecision, fields)

        async def run(s: Any) -> None:
            a = await actions.decide(s, ctx.user.principal, action_id, data)
            await sessions.set_flash(s, ctx.user.sid_hash, _decided_message(a))

        await ctx.write(run)
    except REFUSED as exc:
        status, err = refused(exc)
        return await actions_page(ctx, status, error_form=action_id, values=fields, **err)
    return RedirectResponse("/console/actions", status_code=303)


@router.post("/actions/{action_id}/months")
async def choose_months(ctx: Ctx, action_id: str) -> Response:
    """nhsa-2024 暂停1-6个月: the months of a mandatory suspension, chosen once by its
    deadline (the service refuses a decline and a late choice)."""
    fields = await ctx.form()
    try:
        data = parse(ActionDecision, {**fields, "approve": "true"})

        async def run(s: Any) -> None:
            a = await actions.decide(s, ctx.user.principal, action_id, data)
            message = f"已选定暂停 {a.months} 个月：暂停 {a.starts_on} 至 {a.ends_on}"
            await sessions.set_flash(s, ctx.user.sid_hash, message)

        await ctx.write(run)
    except REFUSED as exc:
        status, err = refused(exc)
        return await actions_page(
            ctx, status, error_form=f"months-{action_id}", values=fields, **err
        )
    return RedirectResponse("/console/actions", status_code=303)


@router.get("/objections")
async def objections(ctx: Ctx) -> Response:
    rows = await repo.open_objections(ctx.db, ctx.user.scope)
    names = await repo.physician_names(ctx.db, [v.physician_code for _, v in rows])
    return render(ctx, "objections.html", active="objections", rows=rows, names=names)


async def resumptions_page(ctx: Ctx, status: int = 200, **extra: Any) -> Response:
    open_apps = await repo.open_resumptions(ctx.db, ctx.user.scope)
    live = [
        a
        for a in await repo.live_suspensions(ctx.db, ctx.user.scope)
        if get_policy(a.policy_id).suspension.resumes == "on_approved_application"
    ]
    names = await repo.physician_names(
        ctx.db,
        [a.physician_code or "" for a in live] + [a.physician_code or "" for _, a in open_apps],
    )
    cal = await work_calendar(ctx.db)
    windows = {a.id: _window(a, cal) for a in live}
    return render(
        ctx,
        "resumptions.html",
        status=status,
        active="resumptions",
        open_apps=open_apps,
        live=live,
        names=names,
        open_ids={a.id for _, a in open_apps},
        windows=windows,
        window_state={k: window_state(w, today()) for k, w in windows.items()},
        decide_due={
            r.id: _due(a.policy_id, "resumption_decision", r.filed_on, cal) for r, a in open_apps
        },
        today=today(),
        **extra,
    )


@router.get("/resumptions")
async def resumptions(ctx: Ctx) -> Response:
    return await resumptions_page(ctx)


@router.post("/actions/{action_id}/resumption")
async def apply(ctx: Ctx, action_id: str) -> Response:
    fields = await ctx.form()
    try:
        data = parse(ResumptionCreate, fields)
        await ctx.write(
            lambda s: actions.apply_resumption(s, ctx.user.principal, action_id, data),
            f"已登记恢复申请（{data.filed_on}），待决定",
        )
    except REFUSED as exc:
        status, err = refused(exc)
        return await resumptions_page(
            ctx, status, error_form=f"apply-{action_id}", values=fields, **err
        )
    return RedirectResponse("/console/resumptions", status_code=303)


@router.post("/resumptions/{application_id}/decide")
async def decide_resumption(ctx: Ctx, application_id: str) -> Response:
    fields = await ctx.form()
    try:
        data = parse(ResumptionDecision, fields)
        msg = (
            f"已批准恢复申请：暂停期满后恢复履行（{data.decided_on} 决定）"
            if data.approve
            else f"不予恢复：暂停延续至协议期满（{data.decided_on} 决定）"
        )
        await ctx.write(
            lambda s: actions.decide_resumption(s, ctx.user.principal, application_id, data), msg
        )
    except REFUSED as exc:
        status, err = refused(exc)
        return await resumptions_page(
            ctx, status, error_form=f"decide-{application_id}", values=fields, **err
        )
    return RedirectResponse("/console/resumptions", status_code=303)
