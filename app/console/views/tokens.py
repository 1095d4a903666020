"""令牌: the superuser issues and revokes operator and auditor tokens (the secret shown once,
after the redirect); HIS tokens live on their institution's page."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.responses import Response

from app.console import repository as repo
from app.console import reveal
from app.console.deps import Ctx
from app.console.forms import parse
from app.console.templating import render
from app.console.views.common import REFUSED, refused
from app.core.errors import Forbidden
from app.tokens import service as tokens
from app.tokens.schemas import AdminTokenCreate, TokenCreated

router = APIRouter(prefix="/console")
SCOPE = "admin-token"


def _superuser(ctx: Ctx) -> None:
    if not ctx.user.superuser:
        raise Forbidden("Only a superuser token may do this.")


async def tokens_page(ctx: Ctx, status: int = 200, **extra: Any) -> Response:
    _superuser(ctx)
    return render(
        ctx,
        "tokens.html",
        status=status,
        active="tokens",
        rows=await repo.admin_tokens(ctx.db),
        regions=await repo.regions(ctx.db),
        **extra,
    )


@router.get("/tokens")
async def listing(ctx: Ctx, shown: str | None = None) -> Response:
    minted, gone = await reveal.shown(ctx, shown, SCOPE, TokenCreated)
    return await tokens_page(ctx, minted=minted, minted_gone=gone)


@router.post("/tokens")
async def issue(ctx: Ctx) -> Response:
    """Post/Redirect/Get: reloading the page after shows the list and never mints again."""
    fields = await ctx.form()
    _superuser(ctx)
    try:
        data = parse(AdminTokenCreate, fields)
        handle = await reveal.minted(
            ctx, SCOPE, lambda s: tokens.issue_admin_token(s, ctx.user.principal, data)
        )
    except REFUSED as exc:
        status, err = refused(exc)
        return await tokens_page(ctx, status, values=fields, **err)
    return reveal.redirect("/console/tokens", handle)
