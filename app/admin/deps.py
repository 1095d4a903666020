"""Dependencies: the unit of work (the request owns the transaction) and the principal."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.admin.auth import Principal, hash_token
from app.core.db import SQLITE_IMMEDIATE
from app.core.errors import Unauthenticated
from app.models import ApiToken
from app.sync import outbox


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request: committed after the handler returns (with the outbox
    row for whatever it touched), rolled back when it raises."""
    state = request.app.state
    version: int | None = None
    async with state.sessions() as session, session.begin():
        if request.method not in ("GET", "HEAD") and session.get_bind().dialect.name == "sqlite":
            await session.connection(execution_options=SQLITE_IMMEDIATE)  # see db.py
        yield session
        version = await outbox.record(session)
    feed = getattr(state, "feed", None)
    if feed is not None and version is not None:
        await feed.catch_up()


# scope="function": the commit (and the in-process registry update) happens before the
# response is sent, so a client never sees a success that was not committed.
Session = Annotated[AsyncSession, Depends(get_session, scope="function")]


async def principal_for_header(session: AsyncSession, header: bytes | None) -> Principal:
    """The admin principal of an ``Authorization`` header value: 401 unless a live bearer
    token, 403 for an HIS token."""
    scheme, _, token = (header or b"").decode("latin-1").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("Send 'Authorization: Bearer <token>'.")
    row = await session.scalar(
        select(ApiToken).where(
            ApiToken.token_hash == hash_token(token.strip()), ApiToken.revoked_at.is_(None)
        )
    )
    if row is None:
        raise Unauthenticated("The bearer token is not valid.")
    principal = Principal(row.id, row.role, row.region_code, row.institution_code)
    principal.require_admin()
    return principal


async def get_principal(request: Request, session: Session) -> Principal:
    """Found by the edge (app/admin/edge.py) before the body was read; else looked up."""
    found = request.scope.get("state", {}).get("principal")
    if isinstance(found, Principal):
        return found
    return await principal_for_header(session, request.headers.get("authorization", "").encode())


Actor = Annotated[Principal, Depends(get_principal)]
