"""网关凭据: an institution's platform gateway credentials (x-tif / CSB pairs).

Issue (the secret shown once), register a pair the platform issued, rotate (every issue
is one; the pairs before overlap), revoke all (after a confirmation page). Every write is
Post/Redirect/Get: the POST redirects, so a reload shows the page again and never issues
another pair. A generated secret reaches the page after the redirect through a one-time
reveal (:mod:`app.console.reveal`: sealed in the record, bound to the session and the
institution, deleted on first view or after its TTL): never in clear in the database,
the session row, the URL or a log.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.responses import Response

from app.console import reveal
from app.console.deps import Ctx
from app.console.forms import parse
from app.console.templating import render
from app.console.views.common import REFUSED, refused
from app.core.errors import ValidationFailed, field_error
from app.core.settings import get_settings
from app.credentials import repository as repo
from app.credentials import service
from app.credentials.schemas import GatewayIssued, GatewayRegister
from app.institutions import service as institutions
from app.models.base import utcnow

router = APIRouter(prefix="/console/institutions/{code}/gateway")
# What a person sees next to a field the API refused (the API's own message is English).
FIELD_TEXT = {
    "paasid": "paasid 须为 1–64 位字母、数字或 _ . -，且未被其他机构登记",
    "secret": "密钥须为 8–256 位可打印 ASCII 字符，首尾不能有空格",
    "scheme": "方式须为 x-tif 或 CSB",
    "confirm": "请勾选确认后再吊销",
}


TITLES = {
    403: "无权执行此操作",
    404: "机构不存在",
    409: "与现有记录冲突",
    422: "表单有误，请按提示修改",
}


def _chinese(err: dict[str, Any]) -> dict[str, Any]:
    """The refusal in Chinese: each field's message, and the problem's title and detail."""
    fields = err.get("field_errors", {})
    for name in list(fields):
        if name in FIELD_TEXT:
            fields[name] = FIELD_TEXT[name]
    problem = dict(err.get("problem") or {})
    title = TITLES.get(int(problem.get("status") or 0))
    if title:
        problem["title"] = title
        problem["detail"] = "；".join(fields.values()) if fields else title
    return {**err, "problem": problem}


async def page(ctx: Ctx, code: str, status: int = 200, **extra: Any) -> Response:
    inst = await institutions.get_institution(ctx.db, code)
    now = utcnow()
    rows = await repo.pairs(ctx.db, code)
    return render(
        ctx,
        "gateway.html",
        status=status,
        active="institutions",
        inst=inst,
        pairs=[service.pair_out(r, now) for r in rows],
        can_write=ctx.user.can_write(inst.region_code),
        overlap_hours=get_settings().gateway_rotation_overlap_s / 3600,
        **extra,
    )


@router.get("")
async def show(ctx: Ctx, code: str, shown: str | None = None) -> Response:
    revealed, gone = await reveal.shown(ctx, shown, _scope(code), GatewayIssued)
    response = await page(ctx, code, revealed=revealed, reveal_gone=gone)
    response.headers["Cache-Control"] = "no-store"  # a page that may hold a secret
    return response


def _scope(code: str) -> str:
    """What a generated secret is revealed for: this institution's gateway page."""
    return f"gateway:{code}"


def _back(code: str, handle: str | None = None) -> Response:
    return reveal.redirect(f"/console/institutions/{code}/gateway", handle)


@router.post("/issue")
async def issue(ctx: Ctx, code: str) -> Response:
    fields = await ctx.form()
    scheme = fields.get("scheme", "x-tif")
    try:
        data = parse(GatewayRegister, {"scheme": scheme})
        handle = await reveal.minted(
            ctx, _scope(code), lambda s: service.issue(s, ctx.user.principal, code, data)
        )
    except REFUSED as exc:
        status, err = refused(exc)
        return await page(ctx, code, status, **_chinese(err))
    return _back(code, handle)


@router.post("/register")
async def register(ctx: Ctx, code: str) -> Response:
    fields = await ctx.form()
    try:
        data = parse(GatewayRegister, fields)
        if data.paasid is None or data.secret is None:
            missing = "paasid" if data.paasid is None else "secret"
            raise ValidationFailed([field_error(missing, "required")])
        issued = await ctx.write(
            lambda s: service.issue(s, ctx.user.principal, code, data),
            f"已登记平台签发的网关凭据 {data.paasid}",
        )
    except REFUSED as exc:
        status, err = refused(exc)
        values = {k: v for k, v in fields.items() if k in ("paasid", "scheme")}  # never the secret
        return await page(ctx, code, status, values=values, **_chinese(err))
    del issued
    return _back(code)


@router.get("/revoke")
async def confirm_revoke(ctx: Ctx, code: str) -> Response:
    return await page(ctx, code, confirming=True)


@router.post("/revoke")
async def revoke(ctx: Ctx, code: str) -> Response:
    fields = await ctx.form()
    try:
        if fields.get("confirm") != "yes":
            raise ValidationFailed([field_error("confirm", "confirm the revocation")])
        await ctx.write(
            lambda s: service.revoke_all(s, ctx.user.principal, code),
            f"已吊销机构 {code} 的全部网关凭据，即刻失效",
        )
    except REFUSED as exc:
        status, err = refused(exc)
        return await page(ctx, code, status, confirming=True, **_chinese(err))
    return _back(code)
