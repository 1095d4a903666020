from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, select

from app.models import AuditEntry


def audit_query(
    *,
    target_type: str | None,
    target_id: str | None,
    actor: str | None,
    action: str | None,
    since: datetime | None,
    until: datetime | None,
) -> Select[Any]:
    stmt = select(AuditEntry).order_by(AuditEntry.id)
    if target_type:
        stmt = stmt.where(AuditEntry.target_type == target_type)
    if target_id:
        stmt = stmt.where(AuditEntry.target_id == target_id)
    if actor:
        stmt = stmt.where(AuditEntry.actor_token_id == actor)
    if action:
        stmt = stmt.where(AuditEntry.action == action)
    if since:
        stmt = stmt.where(AuditEntry.at >= since)
    if until:
        stmt = stmt.where(AuditEntry.at < until)
    return stmt
