"""The one handler: every error leaves as RFC 9457 application/problem+json."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.core.catalogue import zh_problem
from app.core.errors import (
    PROBLEM_CT,
    DomainError,
    InternalError,
    ValidationFailed,
    http_error,
)
from app.rules.errors import PolicyFileError, RulesError

log = logging.getLogger("ybgate")


def json_path(loc: tuple[Any, ...] | list[Any]) -> str:
    """('body', 'lines', 3, 'amount') -> 'lines[3].amount'; ('query', 'limit') -> 'limit'."""
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
    out = ""
    for p in parts:
        if isinstance(p, int):
            out += f"[{p}]"
        else:
            out += ("." if out else "") + str(p)
    return out or "body"


def wants_chinese(request: Request) -> bool:
    """``Accept-Language: zh…`` first: the problem's words from the Chinese catalogue."""
    return request.headers.get("accept-language", "").strip().lower().startswith("zh")


def localized(request: Request, body: dict[str, Any]) -> dict[str, Any]:
    """The problem in Chinese when asked (title, detail, each field's message and label);
    its ``type``, codes and JSON paths never change."""
    return zh_problem(body) if wants_chinese(request) else body


def problem(body: dict[str, Any], status: int, headers: dict[str, str] | None = None) -> Response:
    if status == 401:
        headers = {**(headers or {}), "WWW-Authenticate": 'Bearer realm="ybgate"'}
    return Response(orjson.dumps(body), status_code=status, media_type=PROBLEM_CT, headers=headers)


def rules_problem(exc: RulesError) -> DomainError:
    """A rules-engine refusal as a domain error (422, naming the field when known). A
    broken policy file is the server's fault, not the request's: 500."""
    if isinstance(exc, PolicyFileError):
        log.error("policy file invalid: %s", exc)
        return InternalError("A policy file of this server is invalid; it has been logged.")
    extra: dict[str, Any] = {}
    if exc.field:
        extra["errors"] = [{"field": exc.field, "message": str(exc)}]
    return DomainError(str(exc), slug=exc.slug, status=422, title="Refused by the policy", **extra)


def install_problem_handlers(app: FastAPI) -> None:
    async def domain(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, DomainError)
        return problem(localized(request, exc.to_problem(request.url.path)), exc.status)

    async def rules(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RulesError)
        err = rules_problem(exc)
        return problem(localized(request, err.to_problem(request.url.path)), err.status)

    async def validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        errors = [
            {"field": json_path(e.get("loc", ())), "message": e.get("msg", "invalid")}
            for e in exc.errors()
        ]
        body = ValidationFailed(errors).to_problem(request.url.path)
        return problem(localized(request, body), 422)

    async def http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        detail = str(exc.detail)
        if exc.status_code == 404 and detail == "Not Found":  # no route matched
            detail = f"No route {request.url.path}."
        err = http_error(exc.status_code, detail)
        return problem(err.to_problem(request.url.path), err.status, dict(exc.headers or {}))

    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s", request.url.path)
        err = InternalError("An unexpected error occurred; it has been logged.")
        return problem(err.to_problem(request.url.path), 500)

    app.add_exception_handler(DomainError, domain)
    app.add_exception_handler(RulesError, rules)
    app.add_exception_handler(RequestValidationError, validation)
    app.add_exception_handler(StarletteHTTPException, http)
    app.add_exception_handler(Exception, unexpected)
