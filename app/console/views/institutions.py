"""机构: list, page (term, suspensions, ratio against the thresholds), HIS tokens."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.responses import RedirectResponse, Response

from app.console import repository as repo
from app.console.deps import Ctx
from app.console.templating import render
from app.console.views.common import REFUSED, refused
from app.core.clock import today
from app.institutions import repository as inst_repo
from app.institutions import service as institutions
from app.institutions.standing import institution_standing
from app.models import Institution
from app.rules import get_policy
from app.tokens import service as tokens
from app.tokens.schemas import TokenCreated

router = APIRouter(prefix="/console")


@router.get("/institutions")
async def listing(ctx: Ctx) -> Response:
    rows = await repo.institutions(ctx.db)
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
    ctx: Ctx, code: str, status: int = 200, *, minted: TokenCreated | None = None, **extra: Any
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


@router.get("/institutions/{code}")
async def institution(ctx: Ctx, code: str) -> Response:
    return await institution_page(ctx, code)


@router.post("/institutions/{code}/tokens")
async def mint(ctx: Ctx, code: str) -> Response:
    await ctx.form()
    try:
        created = await ctx.write(
            lambda s: institutions.issue_his_token(s, ctx.user.principal, code)
        )
    except REFUSED as exc:
        status, err = refused(exc)
        return await institution_page(ctx, code, status, **err)
    # Shown once, on this response only: never stored, never put in a redirect.
    return await institution_page(ctx, code, minted=created)


@router.post("/tokens/{token_id}/revoke")
async def revoke(ctx: Ctx, token_id: str) -> Response:
    fields = await ctx.form()
    back = fields.get("_institution", "")
    try:
        await ctx.write(
            lambda s: tokens.revoke(s, ctx.user.principal, token_id),
            f"已吊销令牌 {token_id[:8]}…，该令牌即刻失效",
        )
    except REFUSED as exc:
        status, err = refused(exc)
        return await institution_page(ctx, back, status, **err)
    return RedirectResponse(f"/console/institutions/{back}", status_code=303)
