"""名册导入: upload a roster CSV, see the dry-run report row by row, then commit it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.datastructures import UploadFile
from starlette.responses import RedirectResponse, Response

from app.console import sessions
from app.console.deps import Ctx
from app.console.templating import render
from app.console.views.common import REFUSED, refused
from app.core.errors import PayloadTooLarge, ValidationFailed, field_error
from app.imports import service as imports
from app.imports.schemas import RosterReport

router = APIRouter(prefix="/console")


def _page(ctx: Ctx, status: int = 200, **extra: Any) -> Response:
    partial = ctx.request.headers.get("HX-Request") == "true"
    return render(
        ctx,
        "import_report.html" if partial else "imports.html",
        status=status,
        active="imports",
        **extra,
    )


@router.get("/imports")
async def imports_page(ctx: Ctx) -> Response:
    return _page(ctx)


async def _upload(ctx: Ctx) -> tuple[bytes, str]:
    limit = ctx.settings.roster_import_max_bytes
    length = ctx.request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise PayloadTooLarge(f"文件超过 {limit // (1024 * 1024)} MiB 上限。")
    upload = (await ctx.request.form(max_files=1, max_fields=10)).get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise ValidationFailed([field_error("file", "请选择名册文件（CSV）")])
    return await upload.read(limit + 1), upload.filename


@router.post("/imports")
async def upload_roster(ctx: Ctx) -> Response:
    fields = await ctx.form()
    commit = fields.get("_intent") == "commit"
    filename = ""
    try:
        data, filename = await _upload(ctx)
        if not commit:
            report = await imports.import_roster(ctx.db, ctx.user.principal, data, commit=False)
            return _page(ctx, report=report, filename=filename)

        async def run(s: Any) -> RosterReport:
            done = await imports.import_roster(s, ctx.user.principal, data, commit=True)
            msg = (
                f"已导入名册 {filename}：{done.rows} 行，新登记 {done.creates.physicians} 名医师、"
                f"{done.creates.agreements} 份协议"
            )
            await sessions.set_flash(s, ctx.user.sid_hash, msg)
            return done

        await ctx.write(run)
    except REFUSED as exc:
        status, err = refused(exc)
        extra = err["problem"]
        report = None
        if "rows" in extra and "errors" in extra:  # ImportRejected carries the report
            report = RosterReport.model_validate(extra)
        return _page(ctx, status, report=report, filename=filename, rejected=commit, **err)
    if ctx.request.headers.get("HX-Request") == "true":
        resp = Response(status_code=204)
        resp.headers["HX-Redirect"] = "/console/imports"
        return resp
    return RedirectResponse("/console/imports", status_code=303)
