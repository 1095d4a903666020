"""工作台."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from app.console import dashboard
from app.console.charts import PALETTE, rejections_chart
from app.console.deps import Ctx
from app.console.templating import render
from app.core.clock import today

router = APIRouter(prefix="/console")


@router.get("/")
async def home(ctx: Ctx) -> Response:
    b = await dashboard.board(ctx.db, today(), ctx.user.scope)
    return render(
        ctx,
        "dashboard.html",
        active="dashboard",
        board=b,
        chart=rejections_chart(b.days, b.counts),
        palette=PALETTE,
    )
