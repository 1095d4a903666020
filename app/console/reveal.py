"""A one-time reveal: a secret minted by a POST reaches the page after its redirect
(Post/Redirect/Get) without ever being stored: held in this process's memory only, bound
to the session and to what it was minted for, popped on first view, gone after
:data:`REVEAL_TTL_S`. A reload of that page (or Back) shows it no more and mints nothing."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

REVEAL_TTL_S = 600.0


@dataclass(frozen=True)
class _Held:
    sid_hash: str
    scope: str
    value: Any
    expires: float


_held: dict[str, _Held] = {}


def hold(sid_hash: str, scope: str, value: Any) -> str:
    """Keep ``value`` for one view by this session on ``scope``; the handle for the URL."""
    now = time.monotonic()
    for key in [k for k, h in _held.items() if h.expires < now]:
        del _held[key]
    handle = secrets.token_urlsafe(16)
    _held[handle] = _Held(sid_hash, scope, value, now + REVEAL_TTL_S)
    return handle


def take(handle: str | None, sid_hash: str, scope: str) -> Any:
    """The value held under ``handle`` (once), or None: unknown, shown already, expired, or
    another session's or another scope's."""
    found = _held.pop(handle, None) if handle else None
    if found is None or found.sid_hash != sid_hash or found.scope != scope:
        return None
    return found.value if found.expires >= time.monotonic() else None
