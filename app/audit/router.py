from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter

from app.audit.repository import audit_query
from app.audit.schemas import AuditEntryOut
from app.auth.dependencies import Actor
from app.core.paging import Page, Paging, fetch_page, make_page
from app.uow.dependencies import Session

router = APIRouter(prefix="/admin/v1/audit", tags=["audit"])


@router.get("", response_model=Page[AuditEntryOut])
async def list_audit(
    session: Session,
    actor_: Actor,
    paging: Paging,
    target_type: str | None = None,
    target_id: str | None = None,
    actor: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Page[AuditEntryOut]:
    """The audit log, oldest first; filter by target, acting token id, action and time."""
    stmt = audit_query(
        target_type=target_type,
        target_id=target_id,
        actor=actor,
        action=action,
        since=since,
        until=until,
    )
    rows = await fetch_page(session, stmt, paging)
    return make_page([AuditEntryOut.model_validate(r) for r in rows], paging)
