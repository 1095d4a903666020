from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body

from app.auth.dependencies import Actor
from app.core.db import get_or_404
from app.core.paging import Page, Paging, fetch_page, make_page
from app.credentials import repository as repo
from app.credentials import service
from app.credentials.schemas import GatewayIssued, GatewayPairOut, GatewayRegister, GatewayRevoked
from app.models import Institution
from app.models.base import utcnow
from app.uow.dependencies import Session

router = APIRouter(prefix="/admin/v1/institutions", tags=["gateway credentials"])
PATH = "/{code}/gateway-credentials"


@router.post(PATH, status_code=201, response_model=GatewayIssued)
async def issue_gateway_credentials(
    code: str,
    session: Session,
    actor: Actor,
    data: Annotated[GatewayRegister | None, Body()] = None,
) -> GatewayIssued:
    """A new gateway pair for the institution (superuser, or an operator of its region).
    Without a body ybgate generates it and shows the secret this once; with
    ``{"paasid", "secret", "scheme"?}`` it registers a pair the platform issued (no
    secret in the answer). The pairs working before keep working until
    ``previous_valid_until`` (null when there were none)."""
    return await service.issue(session, actor, code, data)


@router.delete(PATH, response_model=GatewayRevoked)
async def revoke_gateway_credentials(code: str, session: Session, actor: Actor) -> GatewayRevoked:
    """Revoke every gateway pair of the institution at once."""
    return await service.revoke_all(session, actor, code)


@router.get(PATH, response_model=Page[GatewayPairOut])
async def list_gateway_credentials(
    code: str, session: Session, actor: Actor, paging: Paging
) -> Page[GatewayPairOut]:
    """The institution's pairs, newest first, without their secrets."""
    await get_or_404(session, Institution, code, "institution")
    now = utcnow()
    rows = await fetch_page(session, repo.pairs_query(code), paging)
    return make_page([service.pair_out(r, now) for r in rows], paging)
