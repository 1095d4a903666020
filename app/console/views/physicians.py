"""医师: search, the physician's page, and the writes offered from it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter
from starlette.responses import RedirectResponse, Response

from app.actions.months import months_open
from app.agreements import service as agreements
from app.agreements.schemas import ResumeAgreement, SuspendAgreement, TerminateAgreement
from app.console import repository as repo
from app.console.charts import Lane, Span, timeline
from app.console.deps import Ctx
from app.console.forms import parse
from app.console.labels import AGREEMENT_STATUS, TERMINATION_KIND
from app.console.templating import render
from app.console.views.common import REFUSED, parse_day, refused
from app.core.clock import today
from app.core.errors import NotFound, ValidationFailed, field_error
from app.ledger import repository as ledger
from app.physicians import service as physicians
from app.physicians.archive import archive
from app.physicians.schemas import CancelCode, Standing
from app.regions import service as regions_service
from app.rules import get_policy
from app.rules.staff import RepairRules

router = APIRouter(prefix="/console")


@router.get("/physicians")
async def search(ctx: Ctx, q: str = "") -> Response:
    rows = await repo.search_physicians(ctx.db, q, ctx.user.scope) if q.strip() else []
    partial = ctx.request.headers.get("HX-Request") == "true"
    return render(
        ctx,
        "physician_results.html" if partial else "physicians.html",
        active="physicians",
        q=q,
        rows=rows,
    )


def _lanes(standing: Standing, names: dict[str, str], planned: dict[str, Any]) -> list[Lane]:
    """``planned``: the actions by id, whose ``ends_on`` is the planned last day of an
    open-ended suspension (the same date the tables show)."""
    lanes = []
    for a in standing.agreements:
        spans = [
            Span(a.starts_on, a.ends_on, "agreement", f"协议 {a.starts_on} 至 {a.ends_on or '—'}")
        ]
        for s in a.suspensions:
            source = planned.get(s.source_action_id or "")
            last = s.ends_on or (source.ends_on if source is not None else None)
            if s.resumed_on is not None:
                last = s.resumed_on if last is None else min(last, s.resumed_on)
            spans.append(
                Span(s.starts_on, last, "suspension", f"暂停 {s.starts_on} 起：{s.reason}")
            )
        if a.terminated_on:
            kind = TERMINATION_KIND.get(a.termination_kind or "", "")
            spans.append(Span(a.terminated_on, a.terminated_on, "terminated", f"解除 {kind}"))
        title = names.get(a.institution_code, a.institution_code)
        lanes.append(Lane(title[:10], spans))
    return lanes


async def physician_page(ctx: Ctx, code: str, status: int = 200, **extra: Any) -> Response:
    as_of = parse_day(ctx.request.query_params.get("as_of"), today())
    standing = await physicians.standing(ctx.db, code, as_of)
    names = await repo.institution_names(ctx.db)
    violations = await ledger.violations_of(ctx.db, code)
    objections = await repo.objections_for(ctx.db, [v.id for v in violations])
    regions = sorted({a.region for a in standing.agreements})
    actions = await ledger.actions_of(ctx.db, code)
    writable = [r for r in regions if ctx.user.can_write(r)]
    repairs = await ledger.repairs_of(ctx.db, code)
    return render(
        ctx,
        "physician.html",
        status=status,
        active="physicians",
        p=standing,
        as_of=as_of,
        today=today(),
        names=names,
        events=await archive(ctx.db, code),
        violations=violations,
        objections=objections,
        actions=actions,
        by_action={a.id: a for a in actions},
        months_open={a.id for a in actions if months_open(a) and a.decided_on is None},
        chart=timeline(_lanes(standing, names, {a.id: a for a in actions}), as_of),
        writable_regions=writable,
        can_cancel=standing.status != "cancelled" and bool(writable),
        agreement_status=AGREEMENT_STATUS,
        repairs=repairs,
        means_names=_means_names({r.policy_id for r in repairs}),
        repair=await repair_choices(ctx, standing, writable),
        **extra,
    )


@dataclass(frozen=True)
class RepairChoice:
    """A region the operator may repair points in, with its policy's 记分修复 (None: the
    policy has none) and the period it repairs today."""

    code: str
    name: str
    policy: str
    rules: RepairRules | None
    period: str


async def repair_choices(ctx: Ctx, standing: Standing, writable: list[str]) -> list[RepairChoice]:
    names = {r.code: r for r in await repo.regions(ctx.db)}
    in_force = await regions_service.policies_today(ctx.db, writable)
    out = []
    for code in writable:
        region = names.get(code)
        if region is None:
            continue
        policy = get_policy(in_force.get(code, region.policy))
        current = [p.period for p in standing.points if p.policy == policy.id and p.current]
        yearly = policy.scoring.period == "calendar_year"
        period = current[0] if current else (str(today().year) if yearly else "")
        out.append(RepairChoice(code, region.name, policy.id, policy.repair, period))
    return out


def _means_names(policies: set[str]) -> dict[str, str]:
    """``policy:means`` -> the means' name in that policy (a repair's 修复方式)."""
    out = {}
    for policy_id in policies:
        rules = get_policy(policy_id).repair
        for m in rules.means if rules else ():
            out[f"{policy_id}:{m.id}"] = m.name
    return out


def require_confirmation(fields: dict[str, str]) -> None:
    """A destructive write needs its box ticked (the form's ``_confirm``)."""
    if fields.get("_confirm") != "yes":
        raise ValidationFailed([field_error("_confirm", "请勾选确认后再提交")])


async def own_code(ctx: Ctx, code: str) -> str:
    """The physician's ``YB`` code for a ``YB`` or a national code; a Chinese 404 if none."""
    found = await repo.physician_code(ctx.db, code)
    if found is None:
        raise NotFound(f"No physician {code}.")
    return found


def to_own_code(ctx: Ctx, own: str, tail: str = "") -> Response:
    query = ctx.request.url.query
    target = f"/console/physicians/{quote(own)}{tail}" + (f"?{query}" if query else "")
    return RedirectResponse(target, status_code=307)


@router.get("/physicians/{code}")
async def physician(ctx: Ctx, code: str) -> Response:
    own = await own_code(ctx, code)
    if own != code:  # a national code (or lower case): the physician's page by its own code
        return to_own_code(ctx, own)
    return await physician_page(ctx, code)


async def _agreement_write(ctx: Ctx, agreement_id: str, op: str) -> Response:
    fields = await ctx.form()
    a = await agreements.get_agreement(ctx.db, agreement_id)
    code = a.physician_code
    try:
        if op == "suspend":
            data = parse(SuspendAgreement, fields)
            flash = f"已暂停 {data.starts_on} 至 {data.ends_on}（协议 {a.institution_code}）"

            async def run(s: Any) -> object:
                return await agreements.suspend(
                    s, ctx.user.principal, await agreements.get_agreement(s, agreement_id), data
                )
        elif op == "resume":
            rdata = parse(ResumeAgreement, fields)
            flash = f"已恢复履行，自 {rdata.effective_on} 起（协议 {a.institution_code}）"

            async def run(s: Any) -> object:
                ag = await agreements.get_agreement(s, agreement_id)
                return await agreements.resume(s, ctx.user.principal, ag, rdata.effective_on)
        else:
            require_confirmation(fields)
            tdata = parse(TerminateAgreement, fields)
            flash = f"已解除协议，自 {tdata.effective_on} 起（协议 {a.institution_code}）"

            async def run(s: Any) -> object:
                ag = await agreements.get_agreement(s, agreement_id)
                return await agreements.terminate(s, ctx.user.principal, ag, tdata)

        await ctx.write(run, flash)
    except REFUSED as exc:
        status, err = refused(exc)
        return await physician_page(
            ctx, code, status, error_form=f"{op}-{agreement_id}", values=fields, **err
        )
    return RedirectResponse(f"/console/physicians/{code}", status_code=303)


@router.post("/agreements/{agreement_id}/suspend")
async def suspend(ctx: Ctx, agreement_id: str) -> Response:
    return await _agreement_write(ctx, agreement_id, "suspend")


@router.post("/agreements/{agreement_id}/resume")
async def resume(ctx: Ctx, agreement_id: str) -> Response:
    return await _agreement_write(ctx, agreement_id, "resume")


@router.post("/agreements/{agreement_id}/terminate")
async def terminate(ctx: Ctx, agreement_id: str) -> Response:
    return await _agreement_write(ctx, agreement_id, "terminate")


@router.post("/physicians/{code}/cancel")
async def cancel(ctx: Ctx, code: str) -> Response:
    fields = await ctx.form()
    code = await own_code(ctx, code)
    try:
        require_confirmation(fields)
        data = parse(CancelCode, fields)
        await ctx.write(
            lambda s: physicians.cancel_code(s, ctx.user.principal, code, data),
            f"已注销编码 {code}，自 {data.effective_on} 起，全部协议同日解除",
        )
    except REFUSED as exc:
        status, err = refused(exc)
        return await physician_page(ctx, code, status, error_form="cancel", values=fields, **err)
    return RedirectResponse(f"/console/physicians/{code}", status_code=303)
