"""A one-time reveal: a secret minted by a POST (an HIS or operator token, a gateway
secret) reaches the page after its redirect (Post/Redirect/Get), whichever admin process
serves that page and even across a restart.

It waits in the record (``console_reveals``) sealed with the secrets key
(:mod:`app.core.secrets`, AES-GCM), the associated data binding it to its handle, to the
console session and to what it was minted for (the scope); it is written in the
transaction that minted it, never through the audit log and never logged. The first view
by that session on that scope deletes it in the transaction that reads it; another
session's or scope's view finds nothing and leaves it be. It is gone after
:data:`REVEAL_TTL_S` (expired rows are removed whenever a reveal is kept or taken) and
with its session. The URL carries a random handle; the table only its SHA-256. A reload
of the page after (or Back) shows it no more and mints nothing.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import RedirectResponse

from app.console import repository as repo
from app.console.deps import Console, write
from app.core.secrets import SecretUnreadable, secret_box
from app.models import ConsoleReveal
from app.models.base import utcnow

REVEAL_TTL_S = 600.0
M = TypeVar("M", bound=BaseModel)


def _hash(handle: str) -> str:
    return hashlib.sha256(handle.encode("ascii", "replace")).hexdigest()


def _bound_to(handle_hash: str, sid_hash: str, scope: str) -> str:
    """The associated data of a sealed reveal: a value copied onto another row, another
    session or another scope does not open."""
    return f"console-reveal\x1f{handle_hash}\x1f{sid_hash}\x1f{scope}"


async def hold(session: AsyncSession, sid_hash: str, scope: str, value: BaseModel) -> str:
    """Keep ``value`` for one view by this session on ``scope``: the handle for the URL."""
    now = utcnow()
    handle = secrets.token_urlsafe(16)
    handle_hash = _hash(handle)
    sealed = secret_box().seal(value.model_dump_json(), _bound_to(handle_hash, sid_hash, scope))
    row = ConsoleReveal(
        handle_hash=handle_hash,
        session_hash=sid_hash,
        scope=scope,
        sealed=sealed,
        expires_at=now + timedelta(seconds=REVEAL_TTL_S),
    )
    await repo.add_reveal(session, row, now)
    return handle


async def take(
    session: AsyncSession, handle: str | None, sid_hash: str, scope: str, model: type[M]
) -> M | None:
    """The value kept under ``handle`` (once: deleted here), or None: unknown, shown
    already, expired, or another session's or another scope's."""
    if not handle:
        return None
    now = utcnow()
    handle_hash = _hash(handle)
    found = await repo.pop_reveal(session, handle_hash, sid_hash, scope)
    await repo.delete_expired_reveals(session, now)
    if found is None or found[1] < now:
        return None
    try:
        raw = secret_box().open(found[0], _bound_to(handle_hash, sid_hash, scope))
        return model.model_validate_json(raw)
    except (SecretUnreadable, ValidationError):
        return None


async def minted(
    ctx: Console, scope: str, mint: Callable[[AsyncSession], Awaitable[BaseModel]]
) -> str:
    """Run ``mint`` as the request's write and keep what it returns for the page after,
    in the same transaction: the handle (the write's refusal propagates)."""

    async def mint_and_hold(session: AsyncSession) -> str:
        return await hold(session, ctx.user.sid_hash, scope, await mint(session))

    return await ctx.write(mint_and_hold)


async def shown(
    ctx: Console, handle: str | None, scope: str, model: type[M]
) -> tuple[M | None, bool]:
    """The value for this page (taken in a transaction of its own), and whether the URL
    named a reveal that is no longer there (shown already, expired, or not this session's)."""
    if not handle:
        return None, False
    value = await write(ctx.request, lambda s: take(s, handle, ctx.user.sid_hash, scope, model))
    return value, value is None


def redirect(path: str, handle: str | None = None) -> RedirectResponse:
    """The 303 of Post/Redirect/Get, naming the reveal (if any) for the page after."""
    return RedirectResponse(path + (f"?shown={handle}" if handle else ""), status_code=303)
