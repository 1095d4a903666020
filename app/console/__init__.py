"""The operator console (经办控制台): server-rendered pages under ``/console/`` that call
the admin domain services directly. See ``docs/ARCHITECTURE.md`` ("Operator console")."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.staticfiles import StaticFiles
from starlette.responses import RedirectResponse, Response

STATIC = Path(__file__).parent / "static"


def install_console(app: FastAPI) -> None:
    from app.console.deps import LoginRequired
    from app.console.nocache import NoStore
    from app.console.views import (
        auth,
        dashboard,
        gateway,
        imports,
        institutions,
        physicians,
        records,
        regions,
        staff,
        tokens,
        violations,
        work,
    )
    from app.console.views.errors import install_error_pages

    app.mount("/console/static", StaticFiles(directory=STATIC), name="console-static")
    for module in (
        auth,
        dashboard,
        physicians,
        staff,
        violations,
        work,
        institutions,
        regions,
        records,
        imports,
        tokens,
    ):
        app.include_router(module.router, include_in_schema=False)
    app.include_router(gateway.router, include_in_schema=False)

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> Response:
        return RedirectResponse("/console/static/favicon.svg", status_code=308)

    @app.get("/console", include_in_schema=False)
    async def console_root() -> Response:
        return RedirectResponse("/console/", status_code=307)

    async def login_required(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, LoginRequired)
        return auth.login_redirect(exc.next_url)

    app.add_exception_handler(LoginRequired, login_required)
    install_error_pages(app)
    app.add_middleware(NoStore)
