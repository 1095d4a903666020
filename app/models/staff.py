"""Related staff under the national rules: 记分修复 (point repairs) and a region's policy
versions with their effective dates."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.ids import new_id
from app.models.base import Base, TZDateTime, utcnow


class Repair(Base):
    """A 记分修复: ``points`` restored in one period of a policy by one means; reversal is
    recorded, never deleted."""

    __tablename__ = "repairs"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    physician_code: Mapped[str] = mapped_column(ForeignKey("physicians.code"), index=True)
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    policy_id: Mapped[str] = mapped_column(String(64))
    period_key: Mapped[str] = mapped_column(String(64))
    means: Mapped[str] = mapped_column(String(32))
    points: Mapped[int] = mapped_column(Integer)
    decided_on: Mapped[date] = mapped_column(Date)
    # Replayed after the deductions decided the same day (arrival order across both).
    sequence: Mapped[int] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text)
    reversed_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)


class RegionPolicy(Base):
    """A version of a region's policy: in force from ``effective_from`` until the next
    version's. A violation is judged by the version in force on its ``occurred_on``."""

    __tablename__ = "region_policies"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    policy_id: Mapped[str] = mapped_column(String(64))
    effective_from: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    __table_args__ = (
        UniqueConstraint("region_code", "effective_from", name="uq_region_policies_from"),
    )
