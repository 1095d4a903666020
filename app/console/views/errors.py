"""Errors under /console/ are pages in Chinese (the catalogue's words); elsewhere they stay
RFC 9457 problems."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from app.console import sessions
from app.console.deps import COOKIE
from app.console.sessions import ConsoleUser
from app.console.templating import render
from app.core.catalogue import zh_problem
from app.core.errors import DomainError, InternalError, ValidationFailed, http_error
from app.core.problems import json_path, rules_problem
from app.rules.errors import RulesError

log = logging.getLogger("ybgate")
HEADINGS = {
    400: "请求有误",
    401: "请先登录",
    403: "无权进行此操作",
    404: "找不到该页面或记录",
    405: "不支持该请求方式",
    409: "与现有记录冲突",
    413: "提交内容过大",
    422: "填写有误",
    500: "服务器内部错误",
}


def _console(request: Request) -> bool:
    return request.url.path == "/console" or request.url.path.startswith("/console/")


def install_error_pages(app: FastAPI) -> None:
    api = dict(app.exception_handlers)

    def page_or_api(kind: type[Exception] | int) -> None:
        async def handler(request: Request, exc: Exception) -> Response:
            if not _console(request):
                return await api[kind](request, exc)  # type: ignore[no-any-return]
            return await error_page(request, _as_domain(request, exc))

        app.add_exception_handler(kind, handler)

    for kind in (DomainError, RulesError, StarletteHTTPException, RequestValidationError):
        page_or_api(kind)
    if Exception in api:
        page_or_api(Exception)


def _as_domain(request: Request, exc: Exception) -> DomainError:
    if isinstance(exc, DomainError):
        return exc
    if isinstance(exc, RulesError):
        return rules_problem(exc)
    if isinstance(exc, StarletteHTTPException):
        detail = str(exc.detail)
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"No route {request.url.path}."
        return http_error(exc.status_code, detail)
    if isinstance(exc, RequestValidationError):
        errors = [
            {"field": json_path(e.get("loc", ())), "message": e.get("msg", "invalid")}
            for e in exc.errors()
        ]
        return ValidationFailed(errors)
    log.exception("unhandled error on %s", request.url.path)
    return InternalError("An unexpected error occurred; it has been logged.")


async def _signed_in(request: Request) -> ConsoleUser | None:
    try:
        async with request.app.state.sessions() as db:
            return await sessions.peek(db, request.cookies.get(COOKIE))
    except Exception:  # the page of an error never fails on its navigation
        return None


async def error_page(request: Request, exc: DomainError) -> Response:
    """The Chinese page of a refused or failed request (status kept), with the navigation
    when the browser is signed in."""
    body = zh_problem(exc.to_problem(request.url.path))
    user = await _signed_in(request)
    resp = render(
        None,
        "error.html",
        request=request,
        status=exc.status,
        user=user,
        csrf=user.csrf if user else "",
        heading=HEADINGS.get(exc.status, body["title"]),
        detail=body["detail"],
        errors=body.get("errors") or [],
        code=exc.status,
    )
    return resp
