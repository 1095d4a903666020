"""Every admin write records who, when, what, and the record before and after."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.inspection import inspect

from app.admin.auth import Principal
from app.models import AuditEntry


def snapshot(obj: Any) -> dict[str, Any]:
    """A JSON-safe copy of a model's column values."""
    out: dict[str, Any] = {}
    for attr in inspect(obj).mapper.column_attrs:
        out[attr.key] = _json(getattr(obj, attr.key))
    return out


def _json(value: Any) -> Any:
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def record(
    session: AsyncSession,
    actor: Principal,
    action: str,
    target_type: str,
    target_id: str,
    *,
    region: str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEntry:
    entry = AuditEntry(
        actor_token_id=actor.token_id,
        actor_role=actor.role,
        action=action,
        target_type=target_type,
        target_id=target_id,
        region_code=region,
        before=before,
        after=after,
    )
    session.add(entry)
    return entry
