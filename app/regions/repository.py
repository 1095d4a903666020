from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select

from app.models import Region


def regions_query() -> Select[Any]:
    return select(Region).order_by(Region.code)
