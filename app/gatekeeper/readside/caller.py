"""Who is asking a read route, and whether the gatekeeper can answer yet."""

from __future__ import annotations

from app.core.errors import NotReady
from app.gatekeeper.edge.asgi import Scope
from app.gatekeeper.edge.auth import institution_of
from app.gatekeeper.host.runtime import Host, Runtime
from app.registry.compact import Registry


def caller(app: Host, scope: Scope) -> tuple[Registry, Runtime, str]:
    """The loaded registry, the runtime and the institution of the request's HIS token:
    503 while starting, 400/401/403 for a bad token."""
    reg, rt = app.store.current, app.rt
    if rt is None or reg is None:
        raise NotReady("The gatekeeper is starting; the registry is not loaded yet.")
    return reg, rt, institution_of(reg, scope["headers"])
