from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select

from app.models import Visit


def visits_query(physician: str | None, host: str | None) -> Select[Any]:
    stmt = select(Visit).order_by(Visit.starts_on, Visit.id)
    if physician:
        stmt = stmt.where(Visit.physician_code == physician)
    if host:
        stmt = stmt.where(Visit.host_institution_code == host)
    return stmt
