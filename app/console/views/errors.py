"""Errors under /console/ are pages in Chinese; elsewhere they stay RFC 9457 problems."""

from __future__ import annotations

from fastapi import FastAPI, Request
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from app.console.templating import render
from app.core.errors import DomainError
from app.rules.errors import RulesError

TITLES = {401: "请先登录", 403: "无权进行此操作", 404: "找不到该记录", 409: "与现有记录冲突"}


def install_error_pages(app: FastAPI) -> None:
    api_domain = app.exception_handlers[DomainError]
    api_http = app.exception_handlers[StarletteHTTPException]

    async def domain(request: Request, exc: Exception) -> Response:
        if not request.url.path.startswith("/console/"):
            return await api_domain(request, exc)  # type: ignore[misc,no-any-return]
        assert isinstance(exc, DomainError)
        return _page(request, exc.status, exc.detail)

    async def http(request: Request, exc: Exception) -> Response:
        if not request.url.path.startswith("/console/"):
            return await api_http(request, exc)  # type: ignore[misc,no-any-return]
        assert isinstance(exc, StarletteHTTPException)
        return _page(request, exc.status_code, str(exc.detail))

    api_rules = app.exception_handlers[RulesError]

    async def rules(request: Request, exc: Exception) -> Response:
        if not request.url.path.startswith("/console/"):
            return await api_rules(request, exc)  # type: ignore[misc,no-any-return]
        assert isinstance(exc, RulesError)
        return _page(request, 422, str(exc))

    app.add_exception_handler(DomainError, domain)
    app.add_exception_handler(RulesError, rules)
    app.add_exception_handler(StarletteHTTPException, http)


def _page(request: Request, status: int, detail: str) -> Response:
    return render(
        None,
        "error.html",
        request=request,
        status=status,
        heading=TITLES.get(status, "请求未能完成"),
        detail=detail,
        code=status,
    )
