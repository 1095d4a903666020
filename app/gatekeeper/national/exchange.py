"""One POST of a national message, whichever way it is answered (``/v1/hsa`` judged by
ybgate, or 前置 mode forwarding to the platform): the steps before the handling and the
error tail after it, in one place.

Before: POST only (405), the gatekeeper ready (503), the caller admitted (bearer and/or
the gateway's signature, ``signed.admit_hsa``), the body read within ``max_body`` (413).
After: a refusal (:class:`DomainError`) is its problem response, a bug is logged and
answered with a 500 problem, a client gone is answered with nothing; every answer is
observed in the metrics under the operation the handling reached (``Exchange.op``).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from app.core.errors import DomainError, NotReady, PayloadTooLarge
from app.gatekeeper.edge.asgi import (
    ClientGone,
    InternalError,
    MethodNotAllowed,
    Receive,
    Scope,
    Send,
    read_body,
    send_problem,
)
from app.gatekeeper.host.runtime import Host, Runtime
from app.gatekeeper.national.signed import admit_hsa

_perf = time.perf_counter
Headers = list[tuple[bytes, bytes]]
# (HTTP status, headers, body, outcome for the metrics)
Reply = tuple[int, Headers, bytes, str]


@dataclass(slots=True)
class Exchange:
    """The message being answered: its operation name for the metrics, set by the
    handling as soon as it knows it (a refusal after that is counted under it)."""

    op: str


Handling = Callable[[Runtime, str, bytes, Exchange], Awaitable[Reply]]


@dataclass(frozen=True, slots=True)
class Failure:
    """What a bug in the handling is logged as, and the 500 problem's detail."""

    log: str
    detail: str


async def _admitted(
    app: Host, scope: Scope, receive: Receive, relay: bool
) -> tuple[Runtime, str, bytes]:
    if scope["method"] != "POST":
        raise MethodNotAllowed("Use POST.", allow="POST")
    rt, reg = app.rt, app.store.current
    if rt is None or reg is None or (relay and rt.relay is None):
        raise NotReady("The gatekeeper is starting; the registry is not loaded yet.")
    inst = await admit_hsa(rt, reg, scope)  # bearer and/or signature, Content-Length
    msg = await receive()
    body = msg.get("body", b"")
    if msg.get("more_body"):
        body = await read_body(scope, msg, receive, rt.max_body)
    elif len(body) > rt.max_body:
        raise PayloadTooLarge(f"The body exceeds {rt.max_body} bytes.")
    return rt, inst, body


async def serve_message(
    app: Host,
    scope: Scope,
    receive: Receive,
    send: Send,
    *,
    op: str,
    handling: Handling,
    failure: Failure,
    relay: bool = False,
) -> None:
    """Admit the message, run ``handling`` on it and send its reply, or the refusal or
    the 500 problem (``relay``: 前置 mode, the platform's relay must be configured)."""
    t0 = _perf()
    ex = Exchange(op)
    path = scope["path"]
    try:
        rt, inst, body = await _admitted(app, scope, receive, relay)
        status, headers, out, outcome = await handling(rt, inst, body, ex)
    except DomainError as err:
        await send_problem(send, err, path)
        app.metrics.observe_op(ex.op, str(err.status), _perf() - t0)
        return
    except ClientGone:
        return
    except Exception:  # a bug, not the request
        app.log_exception(failure.log)
        await send_problem(send, InternalError(failure.detail), path)
        app.metrics.observe_op(ex.op, "500", _perf() - t0)
        return
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": out})
    app.metrics.observe_op(ex.op, outcome, _perf() - t0)
