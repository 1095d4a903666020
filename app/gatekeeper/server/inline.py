"""The gatekeeper's HTTP protocol: ``POST /v1/settlements/validate`` decided inline.

Per request, uvicorn's httptools protocol builds an ASGI scope, a request/response cycle
with its ``asyncio.Event``, a task, and the ASGI messages; on a 20-line settlement that
is about as much work as the decision itself. This protocol (uvicorn's, with the
guard's timeouts and the coalescing write of ``coalescing.py``) skips all of it for the hot
path: it decides in the parser's own callbacks and answers once the decision journal
has the decision (``Journal.add_then``: the same one write per event-loop turn, before
any answer of that turn is sent), with no task and no future.

It runs exactly what the ASGI app runs (``edge.auth.admit`` and ``plain.validate.decide``, the
same decision log, journal and metrics), for a request that is ``POST`` to exactly that
path, HTTP/1.1 keep-alive, with a ``Content-Length`` (within the bound) and a token the
registry knows, no ``Expect: 100-continue``, and no earlier request of the connection
still being answered. Any other request, including every one that gets a 401 or a 413
before its body, takes uvicorn's path to the same app, unchanged. While an inline answer
waits for the journal a placeholder stands for uvicorn's cycle: a pipelined request
queues behind it, and a graceful shutdown closes the connection after it.

In 前置 mode (``YBGATE_HSA_UPSTREAM``) the national paths and the platform's own ones are
admitted the same way and answered by a task running ``national.forward.forwarded``, the
function the ASGI handler runs.

Serve the gatekeeper with it::

    uvicorn app.gatekeeper:app --loop uvloop --http app.gatekeeper.server.inline:GatekeeperProtocol
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from app.core.errors import PROBLEM_CT, DomainError, InternalError, NotReady
from app.core.guard import _APP, _BODY
from app.gatekeeper.app import GatekeeperApp
from app.gatekeeper.decisions.idempotency import LocalIdempotency
from app.gatekeeper.decisions.spill import Item
from app.gatekeeper.edge.asgi import JSON_CT, problem_response
from app.gatekeeper.edge.auth import admit
from app.gatekeeper.edge.nonces import LocalNonces
from app.gatekeeper.host.runtime import Runtime
from app.gatekeeper.national.effects import After
from app.gatekeeper.national.forward import forwarded
from app.gatekeeper.national.hsa import HSA_PATH, HSA_PREFIX, begin, remember
from app.gatekeeper.national.signed import hsa_caller
from app.gatekeeper.national.upload import claimed
from app.gatekeeper.plain.validate import VALIDATE_PATH, decide
from app.gatekeeper.server.coalescing import CoalescingHttpToolsProtocol
from app.registry.compact import Registry
from app.registry.judge import ACCEPTED

log = logging.getLogger("ybgate.gatekeeper")
_perf = time.perf_counter
_HOT = VALIDATE_PATH.encode()
_HSA = HSA_PATH.encode()
_HSA_PREFIX = HSA_PREFIX.encode()
_OK_HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: " + JSON_CT + b"\r\n"
_PROBLEM_CT = PROBLEM_CT.encode()
_apps: dict[int, GatekeeperApp | None] = {}
_forwarding: set[asyncio.Task[None]] = set()


class _NoEvent:
    def set(self) -> None:
        return None


class _Pending:
    """uvicorn's view of an inline request being answered (its ``cycle``)."""

    __slots__ = ("disconnected", "keep_alive", "response_complete", "response_started")
    message_event = _NoEvent()

    def __init__(self) -> None:
        self.keep_alive = True
        self.response_complete = False
        self.response_started = False
        self.disconnected = False


def _gatekeeper(app: Any) -> GatekeeperApp | None:
    """The GatekeeperApp under uvicorn's middleware (None: serve everything by ASGI)."""
    key = id(app)
    if key not in _apps:
        while not isinstance(app, GatekeeperApp) and hasattr(app, "app"):
            app = app.app
        _apps[key] = app if isinstance(app, GatekeeperApp) else None
    return _apps[key]


def _hsa_infno(url: bytes) -> str | None:
    """None: not a national-format path; "": ``/v1/hsa``; else ``/v1/hsa/{infno}``'s
    (the ASGI app answers any other form of the path)."""
    if url == _HSA:
        return ""
    if url.startswith(_HSA_PREFIX) and 0 < len(url) - len(_HSA_PREFIX) <= 8:
        infno = url[len(_HSA_PREFIX) :]
        return infno.decode() if infno.isalnum() else None
    return None


def _forwards(app: Any, url: bytes) -> bool:
    """前置 mode: a platform path (YBGATE_HSA_PATHS), forwarded (national/forward.py)."""
    gk = _gatekeeper(app)
    relay = gk.rt.relay if gk is not None and gk.rt is not None else None
    return relay is not None and url.decode("latin-1") in relay.paths


class GatekeeperProtocol(CoalescingHttpToolsProtocol):
    _inline: tuple[GatekeeperApp, str, float, bool, str | None] | None = None
    _body: list[bytes]

    def on_message_begin(self) -> None:
        # uvicorn builds the ASGI scope here: deferred to on_headers_complete, for the
        # requests that take uvicorn's path.
        self.url = b""
        self.expect_100_continue = False
        self.headers = []
        self._inline = None
        self.begin_head()  # the guard's counters and deadline

    def on_headers_complete(self) -> None:
        if self.head_done():  # an upgrade: refused, or an h2c offer parsed again without it
            return
        hot = self.url == _HOT or _hsa_infno(self.url) is not None
        if (hot or _forwards(self.app, self.url)) and self._admit():
            self.phase, self.deadline = _BODY, self.loop.time() + self.limits.body_timeout
            return
        url, headers, expect = self.url, self.headers, self.expect_100_continue
        HttpToolsProtocol.on_message_begin(self)  # the scope, as uvicorn builds it
        self.url, self.headers, self.expect_100_continue = url, headers, expect
        self.scope["headers"] = headers
        super().on_headers_complete()

    def _admit(self) -> bool:
        """Whether this request is answered inline (see the module's docstring)."""
        parser, cycle = self.parser, self.cycle
        if (
            parser.get_method() != b"POST"
            or (cycle is not None and not cycle.response_complete)
            or self.expect_100_continue
            or not parser.should_keep_alive()
            or parser.get_http_version() != "1.1"
        ):
            return False
        gk = _gatekeeper(self.app)
        if gk is None or gk.rt is None or gk.store.current is None:
            return False
        infno = _hsa_infno(self.url)
        hsa = infno is not None or (gk.rt.relay is not None and self.url != _HOT)
        if hsa and not isinstance(gk.rt.idempotency, LocalIdempotency):
            return False  # a msgid claim in Redis is a round trip: the ASGI handler awaits it
        if hsa and (gk.rt.lines.remote or gk.rt.visits.remote):
            return False  # so are the memories in Redis
        raw = self.headers
        if not any(k == b"content-length" for k, _ in raw):
            return False
        try:
            if hsa:  # a bearer and/or a gateway signature (national/signed.py)
                inst, claims = hsa_caller(gk.rt, gk.store.current, raw, self.url.decode(), b"")
                if claims:
                    nonces = gk.rt.gateway.nonces if gk.rt.gateway else None
                    if not isinstance(nonces, LocalNonces):
                        return False  # a claim in Redis is a round trip: ASGI awaits it
                    nonces.claim_now(claims)
            else:
                inst = admit(gk.store.current, raw, gk.rt.max_body)
        except DomainError:
            return False  # uvicorn's path answers it, before reading the body
        self._inline, self._body = (gk, inst, _perf(), hsa, infno or None), []
        return True

    def on_body(self, body: bytes) -> None:
        if self._inline is None:
            super().on_body(body)
        else:
            self._body.append(body)

    def on_message_complete(self) -> None:
        inline = self._inline
        if inline is None:
            super().on_message_complete()
            return
        self._inline = None
        self.phase, self.deadline = _APP, math.inf
        gk, inst, t0, hsa, infno = inline
        reply = _Reply(self, gk, t0, "hsa" if hsa else None)
        self.cycle = reply.pending  # type: ignore[assignment]
        rt, reg = gk.rt, gk.store.current
        try:
            if rt is None or reg is None:  # stopped meanwhile
                raise NotReady("The gatekeeper is stopping.")
            if rt.relay is not None and hsa:  # 前置 mode (national/forward.py)
                task = self.loop.create_task(self._forward(reply, inst, b"".join(self._body)))
                _forwarding.add(task)  # a strong reference until it is done
                task.add_done_callback(_forwarding.discard)
            elif hsa:
                self._hsa(reply, rt, inst, b"".join(self._body), infno)
            else:
                self._validate(reply, rt, reg, inst, b"".join(self._body))
        except DomainError as err:
            reply.problem(err)
        except Exception:  # a bug, not the request: answer as a problem, and say so
            log.exception(
                "inline decision failed", extra={"institution": inst, "infno": infno or None}
            )
            reply.problem(InternalError("The decision failed."))

    def _validate(self, reply: _Reply, rt: Runtime, reg: Registry, inst: str, body: bytes) -> None:
        gk = reply.gk
        out, item, results, n_accepted = decide(rt, gk.store, reg, gk.ids, inst, body)

        def answer(written: bool) -> None:
            if not written:
                reply.problem(NotReady("The decision journal cannot be written; retry shortly."))
                return
            reply.write(_OK_HEAD, out)
            gk.metrics.validated(results, n_accepted, item[5], _perf() - reply.t0)

        self._keep(rt, item, answer, reply)

    def _hsa(self, reply: _Reply, rt: Runtime, inst: str, body: bytes, infno: str | None) -> None:
        """hsa.handle_hsa's steps, the msgid claimed in the local store (no round trip)."""
        gk, idem = reply.gk, rt.idempotency
        assert isinstance(idem, LocalIdempotency)
        op, out, outcome, fee, after = begin(gk, rt, inst, body, from_path=infno)
        reply.op = op
        item = None
        if fee is not None:
            prior = idem.claim_now(inst, fee.msgid, fee.rec)
            try:
                out, outcome, item = claimed(fee, prior)
            except BaseException:  # nothing kept: the msgid is free for the resend
                if prior is None:
                    idem.release_now(inst, fee.msgid, fee.rec)
                raise
        if fee is None or item is None:
            if after is not None:
                self._after(reply, rt, after, out, outcome)
                return
            reply.write(_OK_HEAD, out)
            gk.metrics.observe_op(op, outcome, _perf() - reply.t0)
            return

        def answer(written: bool) -> None:
            if not written:
                idem.release_now(fee.inst, fee.msgid, fee.rec)
                reply.problem(NotReady("The decision journal cannot be written; retry shortly."))
                return
            remember(rt, fee)
            reply.write(_OK_HEAD, out)
            gk.metrics.count_lines(fee.results, fee.results.count(ACCEPTED))
            gk.metrics.observe_op(op, outcome, _perf() - reply.t0)

        try:
            self._keep(rt, item, answer, reply)
        except BaseException:
            idem.release_now(fee.inst, fee.msgid, fee.rec)
            raise

    async def _forward(self, reply: _Reply, inst: str, body: bytes) -> None:
        """forward.handle_forward's steps: the message judged and/or forwarded."""
        gk = reply.gk
        scope = {"path": self.url.decode("latin-1"), "headers": self.headers, "query_string": b""}
        try:
            status, headers, out, op, outcome = await forwarded(gk, scope, inst, body, reply.at)
        except DomainError as err:
            reply.problem(err)
            return
        except Exception:  # a bug, not the request: answer as a problem, and say so
            log.exception("inline forwarding failed")
            reply.problem(InternalError("The message could not be handled."))
            return
        reply.op = op
        head = [b"HTTP/1.1 %d %s\r\n" % (status, _phrase(status))]
        head += [b"%s: %s\r\n" % kv for kv in headers]
        reply.write(b"".join(head), out)
        gk.metrics.observe_op(op, outcome, _perf() - reply.t0)

    def _after(self, reply: _Reply, rt: Runtime, after: After, out: bytes, outcome: str) -> None:
        """hsa.carry_out without Redis: visits remembered here, withdrawals journaled
        (the answer once the journal has them)."""
        for mdtrt_id, emergency in after.visits:
            rt.visits.record(after.inst, mdtrt_id, emergency)

        def answer(written: bool) -> None:
            if not written:
                reply.problem(NotReady("The withdrawal journal cannot be written; retry shortly."))
                return
            reply.write(_OK_HEAD, out)
            reply.gk.metrics.observe_op(reply.op or "hsa", outcome, _perf() - reply.t0)

        if after.withdrawals:
            rt.withdrawals.add_then(after.withdrawals, answer)
        else:
            answer(True)

    def _keep(self, rt: Runtime, item: Item, answer: Callable[[bool], None], reply: _Reply) -> None:
        """The decision into the log's queue (the database sink) and the journal; the
        answer once the journal has it."""
        if rt.queue_decisions and not rt.log.offer(item):
            self.loop.create_task(self._wait_for_room(rt, item, answer))
            return
        rt.journal.add_then(item, answer)

    async def _wait_for_room(self, rt: Runtime, item: Item, answer: Callable[[bool], None]) -> None:
        if await rt.log.offer_or_wait(item):
            rt.journal.add_then(item, answer)
        else:
            answer(False)


def _phrase(status: int) -> bytes:
    try:
        return HTTPStatus(status).phrase.encode()
    except ValueError:
        return b""


class _Reply:
    """One inline request's answer: written once, then uvicorn's after-response steps."""

    __slots__ = ("at", "gk", "op", "pending", "protocol", "t0")

    def __init__(
        self, protocol: GatekeeperProtocol, gk: GatekeeperApp, t0: float, op: str | None
    ) -> None:
        self.protocol, self.gk, self.t0, self.op = protocol, gk, t0, op
        self.at = time.monotonic() - (_perf() - t0)  # the request's arrival, monotonic
        self.pending = _Pending()

    def problem(self, err: DomainError) -> None:
        body, extra = problem_response(err, VALIDATE_PATH if self.op is None else HSA_PATH)
        head = [b"HTTP/1.1 %d %s\r\n" % (err.status, HTTPStatus(err.status).phrase.encode())]
        head.append(b"content-type: " + _PROBLEM_CT + b"\r\n")
        head += [b"%s: %s\r\n" % kv for kv in extra]
        self.write(b"".join(head), body)
        if self.op is None:
            self.gk.metrics.observe(str(err.status), _perf() - self.t0)
        else:
            self.gk.metrics.observe_op(self.op, str(err.status), _perf() - self.t0)

    def write(self, head: bytes, body: bytes) -> None:
        """The response (status line and content type in ``head``), then what uvicorn
        does after a response: the next pipelined request, or the keep-alive timer."""
        pending, protocol = self.pending, self.protocol
        if pending.response_complete:
            return
        pending.response_complete = True
        transport = protocol.transport
        if pending.disconnected or transport.is_closing():
            return
        parts = [head]
        parts += [b"%s: %s\r\n" % kv for kv in protocol.server_state.default_headers]
        if not pending.keep_alive:
            parts.append(b"connection: close\r\n")
        parts.append(b"content-length: %d\r\n\r\n" % len(body))
        parts.append(body)
        transport.write(b"".join(parts))
        if not pending.keep_alive:
            transport.close()
        protocol.on_response_complete()
