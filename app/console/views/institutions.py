"""机构: list, page (term, suspensions, ratio against the thresholds), HIS tokens."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.responses import RedirectResponse, Response

from app.console import repository as repo
from app.console import reveal
from app.console.deps import Ctx
from app.console.templating import render
from app.console.views.common import REFUSED, refused
from app.core.clock import today
from app.core.errors import ValidationFailed, field_error
from app.institutions import repository as inst_repo
from app.institutions import service as institutions
from app.institutions.standing import institution_standing
from app.models import ApiToken, Institution
from app.rules import get_policy
from app.tokens import service as tokens
from app.tokens.schemas import TokenCreated

router = APIRouter(prefix="/console")


@router.get("/institutions")
async def listing(ctx: Ctx) -> Response:
    rows = await repo.institutions(ctx.db, ctx.user.scope)
    on = today()
    statuses = {}
    for inst in rows:
        terms = await inst_repo.terms_of(ctx.db, inst.code)
        susps = await inst_repo.suspensions_of(ctx.db, inst.code)
        statuses[inst.code] = Institution.status_on(terms, susps, on)
    return render(
        ctx,
        "institutions.html",
        active="institutions",
        rows=rows,
        statuses=statuses,
        counts=await repo.agreement_counts(ctx.db),
        regions={r.code: r for r in await repo.regions(ctx.db)},
    )


async def institution_page(
    ctx: Ctx,
    code: str,
    status: int = 200,
    *,
    minted: TokenCreated | None = None,
    **extra: Any,
) -> Response:
    inst = await institutions.get_institution(ctx.db, code)
    on = today()
    standing = await institution_standing(ctx.db, inst, on)
    terms = await inst_repo.terms_of(ctx.db, code)
    susps = await inst_repo.suspensions_of(ctx.db, code)
    policy = get_policy(standing.policy)
    members = await repo.agreements_at(ctx.db, code)
    return render(
        ctx,
        "institution.html",
        status=status,
        active="institutions",
        inst=inst,
        standing=standing,
        thresholds=policy.institution.thresholds if policy.institution else (),
        terms=terms,
        susps=susps,
        status_now=Institution.status_on(terms, susps, on),
        members=[(a, p, a.status_on([], on)) for a, p in members],
        tokens=await repo.his_tokens(ctx.db, code),
        minted=minted,
        can_write=ctx.user.can_write(inst.region_code),
        **extra,
    )


def _scope(code: str) -> str:
    """What a new HIS token is revealed for: this institution's page."""
    return f"his:{code}"


@router.get("/institutions/{code}")
async def institution(ctx: Ctx, code: str, shown: str | None = None) -> Response:
    minted, gone = await reveal.shown(ctx, shown, _scope(code), TokenCreated)
    return await institution_page(ctx, code, minted=minted, minted_gone=gone)


@router.post("/institutions/{code}/tokens")
async def mint(ctx: Ctx, code: str) -> Response:
    """Post/Redirect/Get: a reload of the page after shows the list, never mints again."""
    await ctx.form()
    try:
        handle = await reveal.minted(
            ctx, _scope(code), lambda s: institutions.issue_his_token(s, ctx.user.principal, code)
        )
    except REFUSED as exc:
        status, err = refused(exc)
        return await institution_page(ctx, code, status, **err)
    return reveal.redirect(f"/console/institutions/{code}", handle)


@router.get("/tokens/{token_id}/revoke")
async def confirm_revoke(ctx: Ctx, token_id: str) -> Response:
    """吊销 asks first: this page, then the POST with the box ticked."""
    row = await repo.token(ctx.db, token_id)
    return render(
        ctx, "token_revoke.html", active=_active(row), t=row, can=await _can_revoke(ctx, row)
    )


async def _can_revoke(ctx: Ctx, row: ApiToken) -> bool:
    """What the token service allows: a superuser any token; an operator its region's HIS."""
    if row.role != "his" or not row.institution_code:
        return ctx.user.superuser
    inst = await institutions.get_institution(ctx.db, row.institution_code)
    return ctx.user.can_write(inst.region_code)


def _active(row: ApiToken) -> str:
    return "institutions" if row.role == "his" else "tokens"


def _back(row: ApiToken) -> str:
    if row.role == "his" and row.institution_code:
        return f"/console/institutions/{row.institution_code}"
    return "/console/tokens"


@router.post("/tokens/{token_id}/revoke")
async def revoke(ctx: Ctx, token_id: str) -> Response:
    fields = await ctx.form()
    row = await repo.token(ctx.db, token_id)
    try:
        if fields.get("confirm") != "yes":
            raise ValidationFailed([field_error("confirm", "请勾选确认后再吊销")])
        await ctx.write(
            lambda s: tokens.revoke(s, ctx.user.principal, token_id),
            f"已吊销令牌 {token_id}，该令牌即刻失效",
        )
    except REFUSED as exc:
        status, err = refused(exc)
        can = await _can_revoke(ctx, row)
        return render(
            ctx, "token_revoke.html", status=status, active=_active(row), t=row, can=can, **err
        )
    return RedirectResponse(_back(row), status_code=303)
