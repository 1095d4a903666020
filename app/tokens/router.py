from __future__ import annotations

from fastapi import APIRouter

from app.auth.dependencies import Actor
from app.core.paging import Page, Paging, fetch_page, make_page
from app.tokens import repository as repo
from app.tokens import service
from app.tokens.schemas import AdminTokenCreate, TokenCreated, TokenOut
from app.uow.dependencies import Session

router = APIRouter(prefix="/admin/v1/tokens", tags=["tokens"])


@router.post("", status_code=201, response_model=TokenCreated)
async def create_token(data: AdminTokenCreate, session: Session, actor: Actor) -> TokenCreated:
    """An operator (bound to one region) or auditor token. The secret is shown once."""
    return await service.issue_admin_token(session, actor, data)


@router.get("", response_model=Page[TokenOut])
async def list_tokens(session: Session, actor: Actor, paging: Paging) -> Page[TokenOut]:
    actor.require_superuser()
    rows = await fetch_page(session, repo.tokens_query(), paging)
    return make_page([TokenOut.model_validate(r) for r in rows], paging)


@router.post("/{token_id}/revoke", response_model=TokenOut)
async def revoke_token(token_id: str, session: Session, actor: Actor) -> TokenOut:
    return TokenOut.model_validate(await service.revoke(session, actor, token_id))
