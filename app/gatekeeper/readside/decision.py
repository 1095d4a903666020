"""``GET /v1/decisions/{decision_id}``: a decision of the token's institution, explained,
from the log or, once its day is archived, from the day's file (the lookup itself:
``app.gatekeeper.decisions.lookup``)."""

from __future__ import annotations

from app.core.errors import NotReady
from app.gatekeeper.decisions.lookup import find
from app.gatekeeper.edge.asgi import Scope, Send, send_bytes
from app.gatekeeper.host.runtime import Host
from app.gatekeeper.readside.caller import caller


async def decision(app: Host, scope: Scope, send: Send, decision_id: str) -> None:
    """The token's institution's decision ``decision_id``, explained; 404 otherwise."""
    _, rt, inst = caller(app, scope)
    if app.reader is None:
        raise NotReady("The gatekeeper is starting; the registry is not loaded yet.")
    pending = rt.withdrawals.unwritten()
    body = await find(
        app.reader, rt.log.unwritten(), decision_id, inst, pending, rt.decision_archive
    )
    await send_bytes(send, 200, body)
