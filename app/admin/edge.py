"""The admin API's edge (pure ASGI, outermost): nothing reads a body before these checks.

1. Exactly one ``Authorization`` header (two are refused, as by the gatekeeper: 400).
2. ``Content-Length`` above the route's cap: 413 before anything is received, so a client
   sending ``Expect: 100-continue`` gets the 413 instead of ``100 Continue``.
3. ``/admin/...`` with a body: the bearer token is checked (one short read of
   ``api_tokens``) before the body is read; 401 (with ``WWW-Authenticate: Bearer``) leaves
   the body unread. The principal found is handed to the route
   (``scope["state"]["principal"]``). Without a body, routing answers first (404, 405)
   and the route's dependency checks the token as before.
4. The body is counted as it arrives: past the cap a 413 is sent at once and the rest is
   not read; a body that does not arrive within ``http_body_timeout_s`` gets a 408.
   Either way the connection is closed.

Caps: ``YBGATE_ADMIN_MAX_BODY_BYTES`` (1 MiB) for every route, the roster import's own
``YBGATE_ROSTER_IMPORT_MAX_BYTES``, and per route (by path prefix)
``YBGATE_ADMIN_BODY_CAPS``, e.g. ``{"/admin/v1/imports/roster": 33554432}``;
:func:`body_cap` takes the longest matching prefix.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.auth.dependencies import principal_for_header
from app.auth.principal import Principal
from app.core.errors import (
    PROBLEM_CT,
    BadRequest,
    DomainError,
    NotReady,
    PayloadTooLarge,
    RequestTimeout,
)
from app.core.settings import get_settings

ADMIN_PREFIX = "/admin/"
_BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def body_cap(caps: Mapping[str, int], default: int, path: str) -> int:
    best, cap = -1, default
    for prefix, size in caps.items():
        if path.startswith(prefix) and len(prefix) > best:
            best, cap = len(prefix), size
    return cap


def one_authorization(headers: list[tuple[bytes, bytes]]) -> bytes | None:
    """The one Authorization header value (None: absent); two or more: 400."""
    found = [v for k, v in headers if k == b"authorization"]
    if len(found) > 1:
        raise duplicate_authorization()
    return found[0] if found else None


def duplicate_authorization() -> BadRequest:
    return BadRequest(
        "Send exactly one Authorization header.",
        slug="duplicate-authorization",
        errors=[{"field": "Authorization", "message": "sent more than once"}],
    )


async def send_problem(send: Send, err: DomainError, path: str, close: bool) -> None:
    body = orjson.dumps(err.to_problem(path))
    headers = [
        (b"content-type", PROBLEM_CT.encode()),
        (b"content-length", b"%d" % len(body)),
    ]
    if err.status == 401:
        headers.append((b"www-authenticate", b'Bearer realm="ybgate"'))
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": err.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class AdminEdge:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._limits: tuple[int, dict[str, int], float] | None = None

    def limits(self) -> tuple[int, dict[str, int], float]:
        if self._limits is None:
            s = get_settings()
            roster = s.roster_import_max_bytes
            caps = {
                "/admin/v1/imports/roster": roster,
                "/console/imports": roster,
                **s.admin_body_caps,
            }
            self._limits = (s.admin_max_body_bytes, caps, s.http_body_timeout_s)
        return self._limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        headers: list[tuple[bytes, bytes]] = scope["headers"]
        default, caps, timeout = self.limits()
        cap = body_cap(caps, default, path)
        length = next((v for k, v in headers if k == b"content-length"), b"")
        expects_body = bool(length and length != b"0") or any(
            k == b"transfer-encoding" for k, _ in headers
        )
        try:
            auth = one_authorization(headers)
            if length and (not length.isdigit() or int(length) > cap):
                raise PayloadTooLarge(f"The body exceeds {cap} bytes.", limit=cap)
            if expects_body and path.startswith(ADMIN_PREFIX):
                principal = await self._authenticate(scope, auth)
                scope.setdefault("state", {})["principal"] = principal
        except DomainError as err:
            await send_problem(send, err, path, close=expects_body)
            return
        if scope["method"] not in _BODY_METHODS and not expects_body:
            await self.app(scope, receive, send)
            return
        await _Guarded(self.app, cap, timeout)(scope, receive, send)

    async def _authenticate(self, scope: Scope, auth: bytes | None) -> Principal:
        sessions = getattr(scope["app"].state, "sessions", None) if "app" in scope else None
        if sessions is None:
            raise NotReady("The admin API is starting.")
        async with sessions() as session:
            return await principal_for_header(session, auth)


class _Guarded:
    """One request whose body is counted and timed as the app reads it."""

    def __init__(self, app: ASGIApp, cap: int, timeout: float) -> None:
        self.app, self.cap, self.timeout = app, cap, timeout
        self.size = 0
        self.started = False
        self.refused = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def guarded_receive() -> Message:
            if self.refused:
                return {"type": "http.disconnect"}
            try:
                async with asyncio.timeout(self.timeout):
                    msg = await receive()
            except TimeoutError:
                await self._refuse(send, scope, RequestTimeout(self._late()))
                return {"type": "http.disconnect"}
            if msg["type"] == "http.request":
                self.size += len(msg.get("body", b""))
                if self.size > self.cap:
                    err = PayloadTooLarge(f"The body exceeds {self.cap} bytes.", limit=self.cap)
                    await self._refuse(send, scope, err)
                    return {"type": "http.disconnect"}
            return msg

        async def guarded_send(message: Message) -> None:
            if self.refused:
                return
            if message["type"] == "http.response.start":
                self.started = True
            await send(message)

        await self.app(scope, guarded_receive, guarded_send)

    def _late(self) -> str:
        return f"The body did not arrive within {self.timeout:g} s."

    async def _refuse(self, send: Send, scope: Scope, err: DomainError) -> None:
        if not self.started:
            self.started = True
            await send_problem(send, err, scope["path"], close=True)
        self.refused = True


def install(app: Any) -> None:
    """Make the edge the outermost layer of a FastAPI app (outside its error handlers)."""
    app.add_middleware(AdminEdge)
