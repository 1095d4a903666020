"""The gatekeeper ASGI app: raw ASGI, msgspec, no framework on the hot path.

``POST /v1/settlements/validate`` runs: bearer (cached per header value, else SHA-256 in
the registry's token map) -> bounded body -> msgspec decode -> 403/422 checks -> the
decision under the store's lock (see ``decide.py``) -> response bytes -> the decision
log queue -> send. ``/v1/physicians/{code}/eligibility``, ``/healthz``, ``/readyz``,
``/metrics`` and ``/openapi.json`` are small handlers in the same style.

Constructing the app reads nothing: settings, the registry, the decision log and the feed
start in the lifespan (ASGI lifespan protocol, or :meth:`GatekeeperApp.lifespan` when an
embedding app runs it). Until started, /v1 answers 503.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import re
import time
from collections.abc import AsyncIterator
from datetime import date, datetime
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

import msgspec

from app.core.errors import (
    DomainError,
    Forbidden,
    NotFound,
    NotReady,
    PayloadTooLarge,
    Unauthenticated,
    ValidationFailed,
    field_error,
)
from app.core.settings import get_settings
from app.gatekeeper.decide import amount_cents, check_line_ids, judge_lines, render
from app.gatekeeper.decision_log import DecisionLog
from app.gatekeeper.feed import DatabaseFeed, SnapshotFileFeed
from app.gatekeeper.http import (
    ClientGone,
    MethodNotAllowed,
    Receive,
    Scope,
    Send,
    decode_error,
    read_body,
    send_bytes,
    send_problem,
)
from app.gatekeeper.ids import Uuid7
from app.gatekeeper.metrics import Metrics, gauge
from app.gatekeeper.openapi import VALIDATE_PATH, openapi_document
from app.gatekeeper.schemas import Eligibility, request_decoder
from app.registry.compact import Registry
from app.registry.store import RegistryStore

log = logging.getLogger("ybgate.gatekeeper")
SHANGHAI = ZoneInfo("Asia/Shanghai")
ELIGIBILITY_PREFIX, ELIGIBILITY_SUFFIX = "/v1/physicians/", "/eligibility"
BEARER_CACHE_MAX = 10_000
_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_perf = time.perf_counter


def authenticate(reg: Registry, header: bytes | None) -> str:
    """The institution of an HIS bearer token (401 otherwise); cached per header value."""
    if header is None:
        raise Unauthenticated("Send Authorization: Bearer <HIS token>.")
    scheme, _, token = header.partition(b" ")
    token = token.strip()
    if scheme.lower() != b"bearer" or not token:
        raise Unauthenticated("The Authorization header is not a bearer token.")
    inst = reg.tokens.get(hashlib.sha256(token).hexdigest())
    if inst is None:
        raise Unauthenticated("Unknown or revoked HIS token.")
    cache = reg.bearer_cache
    if len(cache) >= BEARER_CACHE_MAX:
        cache.clear()
    cache[header] = inst
    return inst


class Runtime:
    """What the lifespan sets up from settings."""

    def __init__(self, max_lines: int, max_body: int, max_age: float, dlog: DecisionLog):
        self.max_lines = max_lines
        self.max_body = max_body
        self.max_age = max_age
        self.log = dlog


class GatekeeperApp:
    def __init__(self, store: RegistryStore | None = None) -> None:
        self.owns_store = store is None
        self.store = store if store is not None else RegistryStore()
        self.metrics = Metrics()
        self.rt: Runtime | None = None
        self._ids = Uuid7()
        self._openapi = b""
        self._feed: SnapshotFileFeed | DatabaseFeed | None = None
        self._tasks: list[asyncio.Task[None]] = []

    # -- ASGI -------------------------------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            if scope["path"] == VALIDATE_PATH and scope["method"] == "POST":
                await self.validate(scope, receive, send)
            else:
                await self.other(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan_protocol(receive, send)
        elif kind == "websocket":
            await send({"type": "websocket.close", "code": 1008})

    async def _lifespan_protocol(self, receive: Receive, send: Send) -> None:
        await receive()  # lifespan.startup
        try:
            await self.startup()
        except Exception as exc:
            log.exception("gatekeeper start-up failed")
            await send({"type": "lifespan.startup.failed", "message": repr(exc)})
            return
        await send({"type": "lifespan.startup.complete"})
        await receive()  # lifespan.shutdown
        await self.shutdown()
        await send({"type": "lifespan.shutdown.complete"})

    @contextlib.asynccontextmanager
    async def lifespan(self) -> AsyncIterator[GatekeeperApp]:
        """For an embedding app whose own lifespan must start this one."""
        await self.startup()
        try:
            yield self
        finally:
            await self.shutdown()

    # -- lifecycle --------------------------------------------------------------------------
    async def startup(self) -> None:
        settings = get_settings()
        interval = min(5.0, settings.registry_max_age_s / 4)
        if self.owns_store:
            snapshot = os.environ.get("YBGATE_SNAPSHOT_FILE")
            if snapshot:
                feed: SnapshotFileFeed | DatabaseFeed = SnapshotFileFeed(
                    self.store, snapshot, interval
                )
                await asyncio.to_thread(feed.load)
            else:
                feed = DatabaseFeed(self.store, settings.database_url, interval)
            self._feed = feed
            self._tasks.append(asyncio.create_task(feed.run(), name="ybgate-registry-feed"))
        dlog = DecisionLog(settings.database_url, settings.decision_log_dir)
        await dlog.start()
        self.rt = Runtime(
            settings.max_lines, settings.max_body_bytes, settings.registry_max_age_s, dlog
        )
        self._openapi = msgspec.json.encode(
            openapi_document(settings.max_lines, settings.max_body_bytes)
        )
        self._register_gauges(dlog)

    async def shutdown(self) -> None:
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        if isinstance(self._feed, DatabaseFeed):
            await self._feed.close()
        self._feed = None
        rt, self.rt = self.rt, None
        if rt is not None:
            await rt.log.stop()

    def _register_gauges(self, dlog: DecisionLog) -> None:
        store = self.store

        def version() -> float:
            reg = store.current
            return -1 if reg is None else reg.version

        def physicians() -> float:
            reg = store.current
            return 0 if reg is None else reg.physician_count()

        self.metrics.gauges = [
            gauge("ybgate_registry_version", "Registry version decisions are made on.", version),
            gauge(
                "ybgate_registry_age_seconds",
                "Seconds since the last confirmed sync.",
                store.age_seconds,
            ),
            gauge("ybgate_registry_physicians", "Physicians in the registry.", physicians),
            gauge(
                "ybgate_decision_log_queued",
                "Decisions waiting for the sink.",
                lambda: len(dlog.queue),
            ),
            gauge(
                "ybgate_decision_log_written_total",
                "Decisions inserted into the database.",
                lambda: dlog.written,
            ),
            gauge(
                "ybgate_decision_log_spilled_total",
                "Decisions written to spill files.",
                lambda: dlog.spilled,
            ),
            gauge(
                "ybgate_decision_log_replayed_total",
                "Spilled decisions replayed.",
                lambda: dlog.replayed,
            ),
            gauge(
                "ybgate_decision_log_failures_total",
                "Failed database writes.",
                lambda: dlog.failures,
            ),
            gauge(
                "ybgate_decision_log_spill_files",
                "Spill files awaiting replay.",
                lambda: dlog.pending_spill_files,
            ),
        ]

    # -- the hot path -----------------------------------------------------------------------
    async def validate(self, scope: Scope, receive: Receive, send: Send) -> None:
        t0 = _perf()
        try:
            rt = self.rt
            reg = self.store.current
            if rt is None or reg is None:
                raise NotReady("The gatekeeper is starting; the registry is not loaded yet.")
            headers = dict(scope["headers"])
            auth = headers.get(b"authorization")
            inst = reg.bearer_cache.get(auth)  # type: ignore[arg-type]
            if inst is None:
                inst = authenticate(reg, auth)
            length = headers.get(b"content-length")
            if length is not None and (not length.isdigit() or int(length) > rt.max_body):
                raise PayloadTooLarge(f"The body exceeds {rt.max_body} bytes.")
            msg = await receive()
            body = msg.get("body", b"")
            if msg.get("more_body"):
                body = await read_body(msg, receive, rt.max_body)
            elif len(body) > rt.max_body:
                raise PayloadTooLarge(f"The body exceeds {rt.max_body} bytes.")
            try:
                req = request_decoder.decode(body)
            except msgspec.MsgspecError as exc:
                raise decode_error(exc) from None
            lines = req.lines
            if not lines or len(lines) > rt.max_lines:
                msg_ = f"must have 1 to {rt.max_lines} lines"
                raise ValidationFailed([field_error("lines", msg_)])
            if req.institution_code != inst:
                raise Forbidden("This token may validate settlements of its own institution only.")
            ids = check_line_ids(lines)
            cents = amount_cents(lines)
            store = self.store
            with store.lock:
                reg = store.registry
                results = judge_lines(reg.context(inst), lines)
                version = reg.version
            did, ms = self._ids()
            out = render(req.settlement_id, did, version, ids, results, cents, b"\\" in body)
            item = (
                did,
                ms,
                req.settlement_id,
                inst,
                version,
                out.outcome,
                out.accepted,
                out.rejected,
                out.body,
            )
            if not rt.log.offer(item) and not await rt.log.offer_or_wait(item):
                raise NotReady("The decision log cannot keep up; retry shortly.")
        except DomainError as err:
            await send_problem(send, err, scope["path"])
            self.metrics.observe(str(err.status), _perf() - t0)
            return
        except ClientGone:
            return
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", b"%d" % len(out.body)),
                ],
            }
        )
        await send({"type": "http.response.body", "body": out.body})
        self.metrics.count_lines(results)
        self.metrics.observe(out.outcome, _perf() - t0)

    # -- everything else --------------------------------------------------------------------
    async def other(self, scope: Scope, receive: Receive, send: Send) -> None:
        path, method = scope["path"], scope["method"]
        try:
            if path.startswith(ELIGIBILITY_PREFIX) and path.endswith(ELIGIBILITY_SUFFIX):
                code = path[len(ELIGIBILITY_PREFIX) : -len(ELIGIBILITY_SUFFIX)]
                if code and "/" not in code:
                    _only(method, "GET")
                    await self.eligibility(scope, send, code)
                    return
            if path == VALIDATE_PATH:
                raise MethodNotAllowed("Use POST.", allow="POST")
            if path == "/healthz":
                _only(method, "GET")
                await send_bytes(send, 200, b'{"status":"alive"}')
            elif path == "/readyz":
                _only(method, "GET")
                await self.readyz(send)
            elif path == "/metrics":
                _only(method, "GET")
                body = self.metrics.render()
                await send_bytes(send, 200, body, b"text/plain; version=0.0.4; charset=utf-8")
            elif path == "/openapi.json":
                _only(method, "GET")
                doc = self._openapi or msgspec.json.encode(openapi_document())
                await send_bytes(send, 200, doc)
            else:
                raise NotFound(f"No route {path}.")
        except DomainError as err:
            await send_problem(send, err, path)

    async def readyz(self, send: Send) -> None:
        reg = self.store.current
        if self.rt is None or reg is None:
            raise NotReady("The registry is not loaded yet.")
        age = self.store.age_seconds()
        if age > self.rt.max_age:
            raise NotReady(
                f"The registry was last confirmed {age:.0f} s ago (max {self.rt.max_age:.0f} s)."
            )
        body = msgspec.json.encode(
            {"status": "ready", "registry_version": reg.version, "registry_age_s": round(age, 3)}
        )
        await send_bytes(send, 200, body)

    async def eligibility(self, scope: Scope, send: Send, code: str) -> None:
        t0 = _perf()
        try:
            reg = self.store.current
            if self.rt is None or reg is None:
                raise NotReady("The gatekeeper is starting; the registry is not loaded yet.")
            auth = dict(scope["headers"]).get(b"authorization")
            inst = reg.bearer_cache.get(auth) if auth is not None else None
            if inst is None:
                inst = authenticate(reg, auth)
            query = parse_qs(scope.get("query_string", b"").decode("utf-8", "replace"))
            institution = (query.get("institution") or [""])[0]
            day = (query.get("date") or [""])[0]
            errors = []
            if not institution:
                errors.append(field_error("institution", "required"))
            if day and not _DATE_RE.fullmatch(day):
                errors.append(field_error("date", "must be a date YYYY-MM-DD"))
            elif day:
                try:
                    when = date.fromisoformat(day)
                except ValueError:
                    errors.append(field_error("date", "must be a valid date YYYY-MM-DD"))
            if errors:
                raise ValidationFailed(errors)
            if not day:
                when = datetime.now(SHANGHAI).date()
            if institution != inst:
                raise Forbidden("This token may query its own institution only.")
            store = self.store
            with store.lock:
                reg = store.registry
                result = reg.context(inst).judge_code(code, when)[0]
                version = reg.version
            answer = Eligibility(code, inst, when, result.ok, result.reason, version)  # type: ignore[arg-type]
        except DomainError as err:
            self.metrics.observe_eligibility(str(err.status), _perf() - t0)
            raise
        await send_bytes(send, 200, msgspec.json.encode(answer))
        self.metrics.observe_eligibility("eligible" if result.ok else "ineligible", _perf() - t0)


def _only(method: str, allowed: str) -> None:
    if method != allowed:
        raise MethodNotAllowed(f"Use {allowed}.", allow=allowed)


def create_gatekeeper_app(*, store: RegistryStore | None = None) -> GatekeeperApp:
    """The HIS-facing ASGI app. With ``store``, the caller owns loading and syncing it
    (the embedded app shares one store with the admin side); without, the lifespan loads
    it from ``YBGATE_SNAPSHOT_FILE`` when set, else from the database, and keeps it fresh
    (see ``feed.py``). Either way the lifespan must run: it starts the decision log."""
    return GatekeeperApp(store)
