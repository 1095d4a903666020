"""uvicorn's httptools protocol with the limits, timeouts and connection bound it lacks.

uvicorn closes an idle keep-alive connection (``timeout_keep_alive``) but waits forever
for a request's headers, for its body, and for the first request of a new connection;
reads headers without bound; hands ``Upgrade: websocket`` to a WebSocket protocol and
loses the body of a request that offers ``Upgrade: h2c``; and accepts connections until
the process runs out of file descriptors. This protocol (every server the product runs
uses it; the gatekeeper's inline protocol builds on it) adds, from settings
(``docs/limits.md``):

- the head, before any auth: a request-target over ``http_max_url_bytes`` gets 414, more
  than ``http_max_headers`` header fields or a head (request line and fields) over
  ``http_max_head_bytes`` gets 431; counted as the bytes arrive (a head still incomplete
  is refused once its bytes pass the bound, before the parser holds more), then closed;
  past the head, a request's raw bytes (chunk framing and trailers included) are bounded
  far above every body cap (413 and close: only framing abuse reaches it);
- upgrades: an ``Upgrade: h2c`` offer (Java's HttpClient over ``http://``) is ignored and
  the request read and answered as HTTP/1.1, body included; any other upgrade (WebSocket,
  ``CONNECT``) gets a 400 problem and the connection is closed;
- headers: complete within ``http_header_timeout_s`` of the connection (or of the first
  byte of a later request), else 408 and close;
- body: complete within ``http_body_timeout_s`` of the headers, else 408 and close (or
  just close when a response has started);
- idle: closed ``http_keepalive_s`` after the last response, whatever it sends meanwhile
  (blank lines included);
- a response the client does not read: while the socket's buffer is full no further
  request is read, and after ``http_send_timeout_s`` the connection is reset; at most
  ``MAX_PIPELINE`` requests are read ahead of their answers;
- connections: past ``max_connections`` (held below the file-descriptor limit, which is
  raised to its hard limit) a new connection gets a 503 problem and is closed at once.

Per request this costs a few integer additions and float stores: deadlines are checked by
one timer per event loop that sweeps the open connections every ``SWEEP_S`` seconds (so a
timeout fires up to that much late).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import socket
import struct
from typing import Any

import httptools
from uvicorn.protocols.http.flow_control import FlowControl
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from app.core.http_limits import limits

SWEEP_S = 0.5
# The phase of a connection: reading a head, reading a body, the app answering, idle.
_HEADERS, _BODY, _APP, _IDLE = 0, 1, 2, 3
_H2C_DROPPED = (b"upgrade", b"http2-settings")


MAX_PIPELINE = 16  # requests of one connection read ahead of their answers


class _Flow(FlowControl):
    """uvicorn's flow control, reading on only while the client takes its answers
    (writing not paused), fewer than MAX_PIPELINE requests wait for theirs, and the
    connection is not refused. (uvicorn resumes reading after every response and on
    every ``receive``: a client pipelining faster than it is answered, or never reading,
    once queued every request it sent.)"""

    def __init__(self, transport: asyncio.Transport, protocol: GuardedHttpToolsProtocol) -> None:
        super().__init__(transport)
        self._protocol = protocol

    def resume_reading(self) -> None:
        p = self._protocol
        if self.write_paused or len(p.pipeline) >= MAX_PIPELINE or p.refusal is not None:
            return
        super().resume_reading()


class _Refused(Exception):
    """Raised in a parser callback to stop parsing: the request is refused."""


_sweepers: dict[asyncio.AbstractEventLoop, set[GuardedHttpToolsProtocol]] = {}


def _sweep(loop: asyncio.AbstractEventLoop) -> None:
    now = loop.time()
    for conn in list(_sweepers.get(loop, ())):
        if conn.deadline <= now:
            conn.expire()
        elif conn.stall <= now:
            _reset(conn.transport)
    loop.call_later(SWEEP_S, _sweep, loop)


def _reset(transport: asyncio.Transport) -> None:
    """Drop a connection whose client does not read its answers: an RST (linger 0), so
    neither this process nor the kernel keeps the unsent answers (close() would wait for
    them, and the kernel would hold them in an orphaned socket)."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError, AttributeError, TypeError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    deadline = math.inf
    stall = math.inf  # the client has not read an answer: abort then
    phase = _HEADERS
    head_bytes = 0  # bytes received of the head being read, by whole reads
    body_bytes = 0  # bytes received after the head, by whole reads
    head_size = 0  # of the head being read: request-target and fields, as parsed
    n_headers = 0
    heads = 0  # heads read on this connection
    refusal: bytes | None = None  # the connection is refused: this answer, then close
    running: Any = None  # the request whose answer the app is writing (uvicorn's path)
    h2c: tuple[bytes, bytes, str, list[tuple[bytes, bytes]]] | None = None

    def __init__(self, config: Any, server_state: Any, app_state: Any, _loop: Any = None) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.limits = limits()
        self.timeout_keep_alive = self.limits.keepalive  # type: ignore[assignment]

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.flow = _Flow(transport, self)
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
        # uvicorn marks only the last request parsed as disconnected: the one being
        # answered (a pipelined one) would write to the closed transport.
        for cycle in (self.running, *(c for c, _ in self.pipeline)):
            if cycle is not None and not cycle.response_complete:
                cycle.disconnected = True
                cycle.message_event.set()
        self.pipeline.clear()
        super().connection_lost(exc)

    def _start_asgi_task(self, cycle: Any, app: Any) -> None:
        self.running = cycle
        super()._start_asgi_task(cycle, app)

    # -- reading: the head's bound before the parser holds it -------------------------------
    def data_received(self, data: bytes) -> None:
        self._unset_keepalive_if_required()
        if self.refusal is not None:
            return  # refused: nothing more is read
        if self.phase == _HEADERS or self.phase == _IDLE:
            room = self.limits.max_head - self.head_bytes
            if len(data) > room:
                heads = self.heads
                if not self._feed(data[:room]):
                    return
                if self.heads == heads and (self.phase == _HEADERS or self.phase == _IDLE):
                    self._refuse(self.limits.head_too_large)  # still no end of the head
                    return
                data = data[room:]
                if not data:
                    return
            else:
                self.head_bytes += len(data)  # reset when the head is complete
        elif self.phase == _BODY:
            self.body_bytes += len(data)  # chunk framing and trailers too
            if self.body_bytes > self.limits.max_message:
                self._refuse(self.limits.message_too_large)
                return
        self._feed(data)

    def _feed(self, data: bytes) -> bool:
        """Parse ``data``; False when the connection is done with (refused, closed)."""
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade as exc:
            return self._after_upgrade(data, int(exc.args[0]))
        except httptools.HttpParserError:
            if self.refusal is not None:
                return False  # a limit, answered (or deferred) by _refuse
            msg = "Invalid HTTP request received."
            self.logger.warning(msg)
            self.send_400_response(msg)
            return False
        return not self.transport.is_closing()

    def _after_upgrade(self, data: bytes, offset: int) -> bool:
        """The parser stopped after a head offering an upgrade (see :meth:`_head_done`):
        for h2c, the same request parsed again without the offer, with the rest."""
        h2c, self.h2c = self.h2c, None
        if h2c is None:
            if self.refusal is None:
                self._refuse(self.limits.upgrade_refused)
            return False
        method, url, version, headers = h2c
        head = [b"%s %s HTTP/%s\r\n" % (method, url, version.encode())]
        for name, value in headers:
            if name in _H2C_DROPPED:
                continue
            if name == b"connection":
                tokens = [t.strip() for t in value.split(b",")]
                value = b", ".join(t for t in tokens if t and t.lower() not in _H2C_DROPPED)
                if not value:
                    continue
            head.append(b"%s: %s\r\n" % (name, value))
        head.append(b"\r\n")
        self.parser = httptools.HttpRequestParser(self)
        self.parser.set_dangerous_leniencies(lenient_data_after_close=True)
        self.head_bytes = 0
        return self._feed(b"".join(head) + data[offset:])

    def _refuse(self, answer: bytes) -> None:
        """Answer ``answer`` and close: now, or after the response being written."""
        self.refusal = answer
        self.flow.pause_reading()
        cycle = self.cycle
        if cycle is None or cycle.response_complete:
            self._send_refusal()

    def _send_refusal(self) -> None:
        transport = self.transport
        self.deadline = math.inf
        if not transport.is_closing():
            transport.write(self.refusal or b"")
            transport.close()

    # -- parser callbacks -------------------------------------------------------------------
    def begin_head(self) -> None:
        """A request's first byte: its counters, and the header deadline (unless the head
        is already being read)."""
        self.head_size = self.n_headers = 0
        if self.phase != _HEADERS or self.deadline == math.inf:
            self.phase, self.deadline = _HEADERS, self.loop.time() + self.limits.header_timeout

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.begin_head()

    def on_url(self, url: bytes) -> None:
        self.url += url
        self.head_size += len(url)
        if len(self.url) > self.limits.max_url:
            self._refuse(self.limits.url_too_long)
            raise _Refused

    def on_header(self, name: bytes, value: bytes) -> None:
        self.n_headers += 1
        self.head_size += len(name) + len(value) + 4
        lim = self.limits
        if self.n_headers > lim.max_headers or self.head_size > lim.max_head:
            self._refuse(lim.head_too_large)
            raise _Refused
        super().on_header(name, value)

    def head_done(self) -> bool:
        """The head is complete: True when the request goes no further here (an upgrade
        refused, or an h2c offer to parse again without it)."""
        self.heads += 1
        self.head_bytes = self.body_bytes = 0
        parser = self.parser
        if not parser.should_upgrade():
            return False
        upgrade = self._get_upgrade()
        method = parser.get_method()
        offer = {t.strip() for t in upgrade.split(b",")} if upgrade is not None else set()
        if offer == {b"h2c"} and method != b"CONNECT":
            self.h2c = (method, self.url, parser.get_http_version(), self.headers)
        else:
            self._refuse(self.limits.upgrade_refused)
        return True

    def on_headers_complete(self) -> None:
        if self.head_done():
            return
        super().on_headers_complete()
        self.phase, self.deadline = _BODY, self.loop.time() + self.limits.body_timeout

    def on_message_complete(self) -> None:
        if self.h2c is not None or self.refusal is not None:
            return  # the parser skips an upgrade's body: _after_upgrade takes over
        super().on_message_complete()
        self.phase, self.deadline = _APP, math.inf

    # -- answering --------------------------------------------------------------------------
    def on_response_complete(self) -> None:
        if self.refusal is not None and not self.pipeline:
            self._send_refusal()
            return
        super().on_response_complete()  # (resumes reading, as _Flow allows)
        if self.phase == _APP and not self.pipeline and not self.transport.is_closing():
            self.phase, self.deadline = _IDLE, self.loop.time() + self.limits.keepalive

    def pause_writing(self) -> None:
        """The client does not read its answers: read no more requests meanwhile."""
        super().pause_writing()
        self.flow.pause_reading()
        self.stall = self.loop.time() + self.limits.send_timeout

    def resume_writing(self) -> None:
        super().resume_writing()
        self.stall = math.inf
        self.flow.resume_reading()  # as _Flow allows

    def timeout_keep_alive_handler(self) -> None:
        """uvicorn's keep-alive timer: a client that has not read its answers is reset."""
        if self.flow.write_paused and not self.transport.is_closing():
            _reset(self.transport)
            return
        super().timeout_keep_alive_handler()

    def expire(self) -> None:
        """A deadline passed: 408 (unless a response has started, or the connection was
        idle), then close."""
        self.deadline = math.inf
        transport = self.transport
        if transport.is_closing():
            return
        if self.flow.write_paused:  # it does not read what it was sent: no 408 either
            _reset(transport)
            return
        if self.phase == _IDLE:
            transport.close()
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
