"""uvicorn's httptools protocol with the timeouts and the connection bound it lacks.

uvicorn closes an idle keep-alive connection (``timeout_keep_alive``) but waits forever
for a request's headers, for its body, and for the first request of a new connection;
and it accepts connections until the process runs out of file descriptors. This
protocol (every server the product runs uses it; the gatekeeper's coalescing protocol
builds on it) adds, from settings:

- headers: complete within ``http_header_timeout_s`` of the connection (or of the first
  byte of a later request), else 408 and close;
- body: complete within ``http_body_timeout_s`` of the headers, else 408 and close (or
  just close when a response has started);
- connections: past ``max_connections`` (held below the file-descriptor limit, which is
  raised to its hard limit) a new connection gets a 503 problem and is closed at once.

Per request this costs two float stores: deadlines are checked by one timer per event
loop that sweeps the open connections every ``SWEEP_S`` seconds (so a timeout fires up to
that much late).
"""

from __future__ import annotations

import asyncio
import math
import resource
from typing import Any

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from app.core.errors import PROBLEM_CT, NotReady, RequestTimeout
from app.core.settings import get_settings

SWEEP_S = 0.5
FD_RESERVE = 64  # descriptors kept for files, the database pool, Redis, logs
_HEADERS, _BODY, _APP = 0, 1, 2


def _raw_problem(status: int, reason: str, err: Any) -> bytes:
    body = orjson.dumps(err.to_problem())
    head = (
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: {PROBLEM_CT}\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    )
    return head.encode() + body


class Limits:
    """The values in force (settings, read once per process)."""

    def __init__(self) -> None:
        s = get_settings()
        self.header_timeout = s.http_header_timeout_s
        self.body_timeout = s.http_body_timeout_s
        self.keepalive = s.http_keepalive_s
        self.max_connections = min(s.max_connections, _fd_room())
        self.shed = _raw_problem(
            503,
            "Service Unavailable",
            NotReady(f"More than {self.max_connections} open connections; retry shortly."),
        )
        self.late_headers = _raw_problem(
            408, "Request Timeout", RequestTimeout("The request headers did not arrive in time.")
        )
        self.late_body = _raw_problem(
            408, "Request Timeout", RequestTimeout("The request body did not arrive in time.")
        )


def _fd_room() -> int:
    """Raise the soft descriptor limit to the hard one; the connections that fit in it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return max(1, soft - FD_RESERVE)


_limits: Limits | None = None
_sweepers: dict[asyncio.AbstractEventLoop, set[GuardedHttpToolsProtocol]] = {}


def limits() -> Limits:
    global _limits
    if _limits is None:
        _limits = Limits()
    return _limits


def _sweep(loop: asyncio.AbstractEventLoop) -> None:
    now = loop.time()
    for conn in list(_sweepers.get(loop, ())):
        if conn.deadline <= now:
            conn.expire()
    loop.call_later(SWEEP_S, _sweep, loop)


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    deadline = math.inf
    phase = _HEADERS

    def __init__(self, config: Any, server_state: Any, app_state: Any, _loop: Any = None) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.limits = limits()
        self.timeout_keep_alive = self.limits.keepalive  # type: ignore[assignment]

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        lim = self.limits
        if len(self.connections) > lim.max_connections:
            transport.write(lim.shed)
            transport.close()
            return
        loop = self.loop
        watched = _sweepers.get(loop)
        if watched is None:
            watched = _sweepers[loop] = set()
            loop.call_later(SWEEP_S, _sweep, loop)
        watched.add(self)
        self.phase, self.deadline = _HEADERS, loop.time() + lim.header_timeout

    def connection_lost(self, exc: Exception | None) -> None:
        watched = _sweepers.get(self.loop)
        if watched is not None:
            watched.discard(self)
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self.phase != _HEADERS or self.deadline == math.inf:
            self.phase, self.deadline = _HEADERS, self.loop.time() + self.limits.header_timeout

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        self.phase, self.deadline = _BODY, self.loop.time() + self.limits.body_timeout

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self.phase, self.deadline = _APP, math.inf

    def expire(self) -> None:
        """A deadline passed: 408 (unless a response has started), then close."""
        self.deadline = math.inf
        transport = self.transport
        if transport.is_closing():
            return
        cycle = self.cycle
        started = (
            cycle is not None
            and self.phase == _BODY
            and (cycle.response_started or cycle.response_complete)
        )
        if not started:
            late = self.limits.late_headers if self.phase == _HEADERS else self.limits.late_body
            transport.write(late)
            if cycle is not None and self.phase == _BODY:
                cycle.response_complete = True  # whatever the app sends now is dropped
                cycle.disconnected = True
                cycle.message_event.set()
        transport.close()
