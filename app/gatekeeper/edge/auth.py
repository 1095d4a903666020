"""Who is asking, from the headers alone (before any body is read).

- One ``Authorization`` header: a repeated one is looked at only when ``dict(headers)``
  is shorter than the list (cheap), and gets the same 400 problem as from the admin API.
- A bearer the registry knows: the SHA-256 hex of the token in the registry's token map,
  cached per header value in the registry (a patch that changes tokens drops the cache).
- :func:`admit` adds the ``Content-Length`` bound (413 before the body, so
  ``Expect: 100-continue`` gets it). Every route of the HIS API starts with these.
"""

from __future__ import annotations

import hashlib

from app.core.errors import BadRequest, Forbidden, PayloadTooLarge, Unauthenticated
from app.registry.compact import Registry

# The bearer cache: header value -> institution, only for values of a known token of at
# most BEARER_HEADER_MAX bytes (a token is 43 characters; a longer header, e.g. padded
# with spaces, is checked every time), cleared past BEARER_CACHE_MAX entries: at most
# about 10,000 * (256 + 150) bytes, whatever the clients send.
BEARER_CACHE_MAX = 10_000
BEARER_HEADER_MAX = 256


def authenticate(reg: Registry, header: bytes | None) -> str:
    """The institution of an HIS bearer token (401 otherwise). An admin token maps to "":
    valid, but not for the HIS API (403)."""
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


def check_repeated(headers: list[tuple[bytes, bytes]]) -> None:
    if sum(1 for k, _ in headers if k == b"authorization") > 1:
        raise BadRequest(
            "Send exactly one Authorization header.",
            slug="duplicate-authorization",
            errors=[{"field": "Authorization", "message": "sent more than once"}],
        )


def institution_of(reg: Registry, raw: list[tuple[bytes, bytes]]) -> str:
    """The token's institution: 400 (two Authorization headers), 401 or 403."""
    headers = dict(raw)
    if len(headers) != len(raw):
        check_repeated(raw)
    auth = headers.get(b"authorization")
    inst = reg.bearer_cache.get(auth) if auth is not None else None
    if inst is None:
        inst = authenticate(reg, auth)
    return inst


def admit(reg: Registry, raw: list[tuple[bytes, bytes]], max_body: int) -> str:
    """The token's institution; 400 (two Authorization headers), 401, 403, or 413 (a
    Content-Length past ``max_body``: before the body, so Expect: 100-continue gets it)."""
    headers = dict(raw)
    if len(headers) != len(raw):
        check_repeated(raw)
    auth = headers.get(b"authorization")
    inst = reg.bearer_cache.get(auth)  # type: ignore[arg-type]
    if inst is None:
        inst = authenticate(reg, auth)
    length = headers.get(b"content-length")
    if length is not None and (not length.isdigit() or int(length) > max_body):
        raise PayloadTooLarge(f"The body exceeds {max_body} bytes.")
    return inst
