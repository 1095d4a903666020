"""The embedded profile (``ybgate serve all``): both path sets on one port, one registry.

SQLite by default, no Redis: an admin write reaches the in-process registry before its
response returns (``InProcessFeed``, which also keeps a heartbeat catch-up running).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import msgspec
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from starlette.types import Receive, Scope, Send

from app.admin.app import bootstrap, create_admin_app
from app.admin.metrics import render_metrics
from app.core.db import create_engine, create_sessionmaker
from app.core.lifespan import drive_lifespan
from app.core.secrets import secret_box
from app.core.settings import get_settings
from app.gatekeeper import create_gatekeeper_app
from app.gatekeeper.openapi import openapi_document
from app.registry.store import RegistryStore
from app.sync.inprocess import InProcessFeed

log = logging.getLogger("ybgate")


class EmbeddedApp:
    """Routes ``/v1/...`` to the gatekeeper and everything else to the admin API."""

    def __init__(self) -> None:
        self.store = RegistryStore()
        self.admin: FastAPI = create_admin_app()
        self.gatekeeper = create_gatekeeper_app(store=self.store)
        self.admin.openapi = self._openapi  # type: ignore[method-assign]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["path"] == "/metrics" and scope["type"] == "http":
            await self._metrics(send)
        elif (
            scope["path"].startswith("/v1/")
            or scope["path"] == "/readyz"
            or self.gatekeeper.forwards(scope["path"])  # 前置 mode: the platform's paths
        ):
            # Ready means: the registry is loaded and fresh (the heartbeat reads the DB).
            await self.gatekeeper(scope, receive, send)
        else:
            await self.admin(scope, receive, send)

    async def _metrics(self, send: Send) -> None:
        body = self.gatekeeper.metrics.render() + render_metrics()[0]
        headers = [(b"content-type", b"text/plain; version=0.0.4; charset=utf-8")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _openapi(self) -> dict[str, Any]:
        """The admin document, with the hot path's operations added."""
        if self.admin.openapi_schema is None:
            doc = get_openapi(title="ybgate", version="1", routes=self.admin.routes)
            # the gatekeeper's own document once started (前置 mode adds the platform paths)
            started = self.gatekeeper.openapi
            hot = msgspec.json.decode(started) if started else openapi_document()
            doc["paths"].update(hot["paths"])
            components = doc.setdefault("components", {})
            for kind, entries in hot.get("components", {}).items():
                components.setdefault(kind, {}).update(entries)
            self.admin.openapi_schema = doc
        return self.admin.openapi_schema

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        await drive_lifespan(receive, send, self._running, log)

    @contextlib.asynccontextmanager
    async def _running(self) -> AsyncIterator[None]:
        settings = get_settings()
        secret_box(settings)  # the secrets key, before anything starts (app/core/secrets.py)
        engine = create_engine(settings.database_url, echo=settings.log_sql)
        sessions = create_sessionmaker(engine)
        await bootstrap(sessions, settings)
        feed = InProcessFeed(self.store, sessions)
        await feed.load()
        self.admin.state.sessions = sessions
        self.admin.state.feed = feed
        await feed.start()  # the heartbeat
        try:
            async with self.gatekeeper.lifespan():
                yield
        finally:
            await feed.stop()
            await engine.dispose()


app = EmbeddedApp()
