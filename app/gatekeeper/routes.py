"""Everything but the hot path: eligibility, health, readiness, metrics, OpenAPI, 404/405."""

from __future__ import annotations

import hashlib
import logging
import time
from datetime import date, datetime
from typing import Protocol
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.errors import (
    DomainError,
    Forbidden,
    NotFound,
    NotReady,
    Unauthenticated,
    ValidationFailed,
    field_error,
)
from app.core.types import parse_day
from app.gatekeeper import workers
from app.gatekeeper.edge import check_repeated
from app.gatekeeper.http import (
    InternalError,
    MethodNotAllowed,
    Scope,
    Send,
    send_bytes,
    send_problem,
)
from app.gatekeeper.lookup import DECISIONS_PREFIX, find
from app.gatekeeper.metrics import Metrics
from app.gatekeeper.openapi import VALIDATE_PATH, openapi_document
from app.gatekeeper.runtime import Runtime
from app.gatekeeper.schemas import Eligibility
from app.registry.compact import Registry
from app.registry.memo import STATS as MEMO
from app.registry.store import RegistryStore


class Served(Protocol):
    """What the routes need of the app (``GatekeeperApp``), without importing it."""

    store: RegistryStore
    metrics: Metrics
    openapi: bytes
    rt: Runtime | None
    reader: async_sessionmaker[AsyncSession] | None


ROSTER_PATH = "/v1/roster"

log = logging.getLogger("ybgate.gatekeeper")
SHANGHAI = ZoneInfo("Asia/Shanghai")
ELIGIBILITY_PREFIX, ELIGIBILITY_SUFFIX = "/v1/physicians/", "/eligibility"
# The bearer cache: header value -> institution, only for values of a known token of at
# most BEARER_HEADER_MAX bytes (a token is 43 characters; a longer header, e.g. padded
# with spaces, is checked every time), cleared past BEARER_CACHE_MAX entries: at most
# about 10,000 * (256 + 150) bytes, whatever the clients send.
BEARER_CACHE_MAX = 10_000
BEARER_HEADER_MAX = 256
METRICS_CT = b"text/plain; version=0.0.4; charset=utf-8"


def authenticate(reg: Registry, header: bytes | None) -> str:
    """The institution of an HIS bearer token (401 otherwise), by the SHA-256 hex of the
    token in the registry's token map; cached per header value in the registry (a patch
    that changes tokens drops the cache). An admin token maps to "": valid, but not for the
    HIS API (403)."""
    if header is None:
        raise Unauthenticated("Send Authorization: Bearer <HIS token>.")
    scheme, _, token = header.partition(b" ")
    token = token.strip()
    if scheme.lower() != b"bearer" or not token:
        raise Unauthenticated("The Authorization header is not a bearer token.")
    inst = reg.tokens.get(hashlib.sha256(token).hexdigest())
    if inst is None:
        raise Unauthenticated("Unknown or revoked HIS token.")
    if not inst:
        raise Forbidden("An admin token may not call the HIS API.")
    if len(header) <= BEARER_HEADER_MAX:
        cache = reg.bearer_cache
        if len(cache) >= BEARER_CACHE_MAX:
            cache.clear()
        cache[header] = inst
    return inst


def caller(app: Served, scope: Scope) -> tuple[Registry, Runtime, str]:
    """The loaded registry, the runtime and the institution of the request's HIS token:
    503 while starting, 401/403 for a bad token. (The hot path in ``app.py`` inlines the
    same steps.)"""
    reg, rt = app.store.current, app.rt
    if rt is None or reg is None:
        raise NotReady("The gatekeeper is starting; the registry is not loaded yet.")
    raw = scope["headers"]
    headers = dict(raw)
    if len(headers) != len(raw):
        check_repeated(raw)  # two Authorization headers: 400
    auth = headers.get(b"authorization")
    inst = reg.bearer_cache.get(auth) if auth is not None else None
    if inst is None:
        inst = authenticate(reg, auth)
    return reg, rt, inst


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
        log.exception("%s %s failed", method, path)
        await send_problem(send, InternalError("The request failed."), path)


async def roster(app: Served, scope: Scope, send: Send) -> None:
    from app.gatekeeper.roster import roster as answer  # roster.py imports this module

    await answer(app, scope, send)


async def decision(app: Served, scope: Scope, send: Send, decision_id: str) -> None:
    """GET /v1/decisions/{decision_id}: the token's institution's decision, explained."""
    _, rt, inst = caller(app, scope)
    if app.reader is None:
        raise NotReady("The gatekeeper is starting; the registry is not loaded yet.")
    body = await find(app.reader, rt.log.unwritten(), decision_id, inst)
    await send_bytes(send, 200, body)


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
    supervision = workers.SUPERVISION
    if supervision is not None:  # pre-forked (prefork.py): the workers replaced so far
        body["workers"] = supervision.workers
        body["worker_restarts"] = supervision.restarts
    await send_bytes(send, 200, msgspec.json.encode(body))


def _query_date(query: dict[str, list[str]], errors: list[dict[str, str]]) -> date:
    day = (query.get("date") or [""])[0]
    if not day:
        return datetime.now(SHANGHAI).date()
    try:
        parsed = parse_day(day)
    except ValueError as exc:
        errors.append(field_error("date", str(exc)))
        return date.min
    assert isinstance(parsed, date)
    return parsed


async def eligibility(app: Served, scope: Scope, send: Send, code: str) -> None:
    """The line judgement for one physician at the token's institution on one date."""
    t0 = time.perf_counter()
    try:
        reg, _, inst = caller(app, scope)
        query = parse_qs(scope.get("query_string", b"").decode("utf-8", "replace"))
        institution = (query.get("institution") or [""])[0]
        errors: list[dict[str, str]] = []
        if not institution:
            errors.append(field_error("institution", "required"))
        when = _query_date(query, errors)
        if errors:
            raise ValidationFailed(errors)
        if institution != inst:
            raise Forbidden("This token may query its own institution only.")
        store = app.store
        with store.lock:
            reg = store.registry
            result = reg.context(inst).judge_code(code, when)[0]
            MEMO.lookups += 1
            version = reg.version
        reason = result.reason
        answer = Eligibility(code, inst, when, result.ok, reason, version)  # type: ignore[arg-type]
    except DomainError as err:
        app.metrics.observe_eligibility(str(err.status), time.perf_counter() - t0)
        raise
    await send_bytes(send, 200, msgspec.json.encode(answer))
    outcome = "eligible" if result.ok else "ineligible"
    app.metrics.observe_eligibility(outcome, time.perf_counter() - t0)
