"""The request's principal, from its bearer token."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.auth.principal import Principal, Role
from app.auth.repository import live_token
from app.auth.tokens import hash_token
from app.core.errors import Unauthenticated
from app.uow.dependencies import Session


async def get_principal(request: Request, session: Session) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("Send 'Authorization: Bearer <token>'.")
    row = await live_token(session, hash_token(token.strip()))
    if row is None:
        raise Unauthenticated("The bearer token is not valid.")
    principal = Principal(row.id, Role(row.role), row.region_code, row.institution_code)
    principal.require_admin()
    return principal


Actor = Annotated[Principal, Depends(get_principal)]
