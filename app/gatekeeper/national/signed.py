"""Who sends a national-format message: a bearer token, gateway signatures, or both.

``/v1/hsa`` (and every path under it) accepts ``Authorization: Bearer <HIS token>`` or
the platform gateway's signature headers (``edge/gateway.py``: x-tif, or CSB for a CSB
pair); when both are present both must be valid and name the same institution. A
request with neither costs four dict lookups more than before.

:func:`hsa_caller` runs on the headers without I/O and gives the replay keys a verified
signature must claim; :func:`admit_hsa` claims them too (a round trip with Redis). The
inline protocol claims them itself when the store is local, and otherwise leaves the
request to the ASGI handler.
"""

from __future__ import annotations

import time

from app.core.errors import NotReady, PayloadTooLarge
from app.gatekeeper.edge.asgi import Scope
from app.gatekeeper.edge.auth import authenticate, check_repeated
from app.gatekeeper.edge.gateway import CSB_KEY, X_PAASID, X_SIGNATURE, refused, repeated, verify
from app.gatekeeper.edge.gateway import CSB_SIGNATURE as CSB
from app.gatekeeper.edge.nonces import Claim
from app.gatekeeper.host.runtime import Runtime
from app.registry.compact import Registry

_time = time.time


def hsa_caller(
    rt: Runtime, reg: Registry, raw: list[tuple[bytes, bytes]], path: str, query: bytes
) -> tuple[str, list[Claim]]:
    """The caller's institution and the replay keys to claim; 400, 401 or 413 (a
    Content-Length past the bound, before the body is read)."""
    headers = dict(raw)
    if len(headers) != len(raw):
        check_repeated(raw)
        repeated(raw)
    auth = headers.get(b"authorization")
    claims: list[Claim] = []
    inst = None
    if X_PAASID in headers or X_SIGNATURE in headers or CSB_KEY in headers or CSB in headers:
        gateway = rt.gateway
        if gateway is None:
            raise NotReady("The gatekeeper is starting.")
        signed = verify(
            reg, headers, raw, (path, query), _time(), gateway.box, bearer=auth is not None
        )
        if signed is not None:
            inst, claims = signed.institution, signed.claims
            if auth is not None:
                bearer = reg.bearer_cache.get(auth) or authenticate(reg, auth)
                if bearer != inst:
                    raise refused(signed.field, "names another institution than the bearer token")
    if inst is None:
        inst = reg.bearer_cache.get(auth) if auth is not None else None
        if inst is None:
            inst = authenticate(reg, auth)
    length = headers.get(b"content-length")
    if length is not None and (not length.isdigit() or int(length) > rt.max_body):
        raise PayloadTooLarge(f"The body exceeds {rt.max_body} bytes.")
    return inst, claims


async def admit_hsa(rt: Runtime, reg: Registry, scope: Scope) -> str:
    """:func:`hsa_caller`, its replay keys claimed (on every instance, with Redis)."""
    inst, claims = hsa_caller(
        rt, reg, scope["headers"], scope["path"], scope.get("query_string", b"")
    )
    if claims:
        assert rt.gateway is not None
        await rt.gateway.nonces.claim(claims)
    return inst
