"""Every route but the two hot ones: the read side (eligibility, roster, a decision
explained), health, readiness, metrics, OpenAPI, and 404/405."""

from __future__ import annotations

import logging
from typing import Protocol

import msgspec

from app.core.errors import DomainError, NotFound, NotReady
from app.gatekeeper import workers
from app.gatekeeper.decisions.lookup import DECISIONS_PREFIX
from app.gatekeeper.edge.asgi import (
    InternalError,
    MethodNotAllowed,
    Scope,
    Send,
    send_bytes,
    send_problem,
)
from app.gatekeeper.host.runtime import Host
from app.gatekeeper.openapi import openapi_document
from app.gatekeeper.plain.validate import VALIDATE_PATH
from app.gatekeeper.readside.decision import decision
from app.gatekeeper.readside.eligibility import (
    ELIGIBILITY_PREFIX,
    ELIGIBILITY_SUFFIX,
    eligibility,
)
from app.gatekeeper.readside.roster import ROSTER_PATH, roster


class Served(Host, Protocol):
    """What the routes need of the app (``GatekeeperApp``), without importing it."""

    openapi: bytes


log = logging.getLogger("ybgate.gatekeeper")
METRICS_CT = b"text/plain; version=0.0.4; charset=utf-8"


def _only(method: str, allowed: str) -> None:
    if method != allowed:
        raise MethodNotAllowed(f"Use {allowed}.", allow=allowed)


async def dispatch(app: Served, scope: Scope, send: Send) -> None:
    path, method = scope["path"], scope["method"]
    try:
        if path.startswith(ELIGIBILITY_PREFIX) and path.endswith(ELIGIBILITY_SUFFIX):
            code = path[len(ELIGIBILITY_PREFIX) : -len(ELIGIBILITY_SUFFIX)]
            if code and "/" not in code:
                _only(method, "GET")
                await eligibility(app, scope, send, code)
                return
        if path == VALIDATE_PATH:
            raise MethodNotAllowed("Use POST.", allow="POST")
        if path == ROSTER_PATH:
            _only(method, "GET")
            await roster(app, scope, send)
            return
        if path.startswith(DECISIONS_PREFIX) and "/" not in path[len(DECISIONS_PREFIX) :]:
            _only(method, "GET")
            await decision(app, scope, send, path[len(DECISIONS_PREFIX) :])
            return
        if path == "/healthz":
            _only(method, "GET")
            await send_bytes(send, 200, b'{"status":"alive"}')
        elif path == "/readyz":
            _only(method, "GET")
            await readyz(app, send)
        elif path == "/metrics":
            _only(method, "GET")
            await send_bytes(send, 200, app.metrics.render(), METRICS_CT)
        elif path == "/openapi.json":
            _only(method, "GET")
            await send_bytes(send, 200, app.openapi or msgspec.json.encode(openapi_document()))
        else:
            raise NotFound(f"No route {path}.")
    except DomainError as err:
        if path == ROSTER_PATH:
            app.metrics.observe_op("roster", str(err.status), 0.0)
        await send_problem(send, err, path)
    except Exception:  # a bug, not the request
        log.exception("%s %s failed", method, path, extra={"path": path})
        await send_problem(send, InternalError("The request failed."), path)


async def readyz(app: Served, send: Send) -> None:
    """200 once the registry is loaded and confirmed fresh (registry_max_age_s)."""
    reg = app.store.current
    if app.rt is None or reg is None:
        raise NotReady("The registry is not loaded yet.")
    age = app.store.age_seconds()
    if age > app.rt.max_age:
        raise NotReady(
            f"The registry was last confirmed {age:.0f} s ago (max {app.rt.max_age:g} s)."
        )
    body: dict[str, object] = {
        "status": "ready",
        "registry_version": reg.version,
        "registry_age_s": round(age, 3),
    }
    dlog = app.rt.log
    body["decision_log"] = {
        "backlog": dlog.backlog(),
        "lag_s": round(dlog.lag_seconds(), 3),
        "database": "down" if dlog.database_down else "up",
        "sink": dlog.sink,
    }
    if app.rt.relay is not None:  # 前置 mode: the platform's reachability, not our readiness
        body["upstream"] = await app.rt.relay.client.reachability()
    supervision = workers.SUPERVISION
    if supervision is not None:  # pre-forked (prefork.py): the workers replaced so far
        body["workers"] = supervision.workers
        body["worker_restarts"] = supervision.restarts
    await send_bytes(send, 200, msgspec.json.encode(body))
