"""The admin API (``app.admin:app``): the only writer of records."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.actions.router import router as actions_router
from app.admin import edge
from app.admin.metrics import install_metrics, render_metrics
from app.agreements.router import router as agreements_router
from app.audit.router import router as audit_router
from app.calendar.router import router as calendar_router
from app.console import install_console
from app.core.db import create_engine, create_sessionmaker
from app.core.errors import NotReady
from app.core.problems import install_problem_handlers, problem
from app.core.secrets import secret_box
from app.core.settings import Settings, get_settings
from app.credentials.router import router as credentials_router
from app.decisions.router import router as decisions_router
from app.docs import install_docs
from app.imports.router import router as imports_router
from app.institutions.router import router as institutions_router
from app.physicians.router import router as physicians_router
from app.points.service import reconcile
from app.public.router import router as public_router
from app.regions.router import router as regions_router
from app.tokens import service as tokens
from app.tokens.router import router as tokens_router
from app.uow import unit_of_work
from app.violations.router import repairs_router
from app.violations.router import router as violations_router
from app.visits.router import router as visits_router

ROUTERS = (
    regions_router,
    institutions_router,
    physicians_router,
    agreements_router,
    visits_router,
    tokens_router,
    audit_router,
    violations_router,
    actions_router,
    calendar_router,
    decisions_router,
    imports_router,
    credentials_router,
    public_router,
    repairs_router,
)


async def bootstrap(sessions: async_sessionmaker[AsyncSession], settings: Settings) -> None:
    if settings.bootstrap_admin_token:
        async with unit_of_work(sessions) as uow:
            await tokens.ensure_bootstrap(uow.session, settings.bootstrap_admin_token)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Standalone admin process: own engine. (The embedded all-in-one app sets
    ``app.state.sessions`` and ``app.state.feed`` itself before serving.)"""
    if getattr(app.state, "sessions", None) is not None:
        yield
        return
    settings = get_settings()
    secret_box(settings)  # gateway secrets are sealed with it: refuse to start without
    engine = create_engine(settings.database_url, echo=settings.log_sql)
    app.state.sessions = create_sessionmaker(engine)
    await bootstrap(app.state.sessions, settings)
    try:
        yield
    finally:
        await engine.dispose()


def create_admin_app(*, extra_routers: tuple[Any, ...] = ()) -> FastAPI:
    app = FastAPI(
        title="ybgate admin API",
        version="1",
        lifespan=_lifespan,
        description="Regions, institutions, physicians, agreements, visits, points, audit.",
        docs_url=None,
        redoc_url=None,
    )
    install_problem_handlers(app)
    install_docs(app, title="ybgate")
    install_console(app)
    install_metrics(app)
    edge.install(app)  # outermost of the three: auth and body caps before any body read
    # A new agreement is replayed against the points ledger (app.agreements cannot import
    # app.points, which builds on it).
    app.state.reconcile = reconcile
    for router in (*ROUTERS, *extra_routers):
        app.include_router(router)

    @app.get("/healthz", tags=["ops"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["ops"], response_model=None)
    async def readyz() -> Any:
        sessions = getattr(app.state, "sessions", None)
        try:
            if sessions is None:
                raise RuntimeError("no database")
            async with sessions() as session:
                await session.execute(text("SELECT 1"))
        except Exception as exc:  # readiness reports any failure as 503
            err = NotReady(f"database unreachable: {type(exc).__name__}")
            return problem(err.to_problem("/readyz"), 503)
        return {"status": "ready"}

    @app.get("/metrics", tags=["ops"], response_class=PlainTextResponse)
    async def metrics() -> PlainTextResponse:
        body, content_type = render_metrics()
        return PlainTextResponse(body, media_type=content_type)

    return app
