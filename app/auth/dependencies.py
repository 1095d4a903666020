"""The request's principal, from its bearer token."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.principal import Principal, Role
from app.auth.repository import live_token
from app.auth.tokens import hash_token
from app.core.errors import Unauthenticated
from app.uow.dependencies import Session


async def principal_for_header(session: AsyncSession, header: bytes | None) -> Principal:
    """The admin principal of an ``Authorization`` header value: 401 unless a live bearer
    token, 403 for an HIS token."""
    scheme, _, token = (header or b"").decode("latin-1").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("Send 'Authorization: Bearer <token>'.")
    row = await live_token(session, hash_token(token.strip()))
    if row is None:
        raise Unauthenticated("The bearer token is not valid.")
    principal = Principal(row.id, Role(row.role), row.region_code, row.institution_code)
    principal.require_admin()
    return principal


async def get_principal(request: Request, session: Session) -> Principal:
    """Found by the admin edge (app/admin/edge.py) before the body was read; else looked up."""
    found = request.scope.get("state", {}).get("principal")
    if isinstance(found, Principal):
        return found
    return await principal_for_header(session, request.headers.get("authorization", "").encode())


Actor = Annotated[Principal, Depends(get_principal)]
