"""Official holiday schedules (国务院办公厅 放假安排) loaded by an operator, one row per year.

Years the shipped ``chinese_calendar`` package knows need no row; a loaded year replaces
the package's for that year."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, TZDateTime, utcnow


class CalendarYear(Base):
    __tablename__ = "calendar_years"
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    # {"holidays": [{"name", "from", "to"}], "workdays": [{"name", "date"}]} as loaded.
    schedule: Mapped[dict[str, Any]] = mapped_column()
    source: Mapped[str] = mapped_column(Text)
    loaded_by: Mapped[str] = mapped_column(String(36))
    loaded_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
