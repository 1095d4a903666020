"""Violations (the ledger), objections, actions the points engine fired, bans, and
Zhejiang resumption applications. Reversal is recorded, never deleted."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.ids import new_id
from app.models.base import Base, TZDateTime, utcnow


class Violation(Base):
    __tablename__ = "violations"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    physician_code: Mapped[str] = mapped_column(ForeignKey("physicians.code"), index=True)
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    policy_id: Mapped[str] = mapped_column(String(64))
    item: Mapped[str] = mapped_column(String(16))
    points: Mapped[int] = mapped_column(Integer)
    occurred_on: Mapped[date] = mapped_column(Date)
    decided_on: Mapped[date] = mapped_column(Date)
    # Arrival order among this physician's violations (1, 2, ...), under the physician lock.
    sequence: Mapped[int] = mapped_column(Integer)
    anchor: Mapped[date | None] = mapped_column(Date)  # agreement-term policies
    degree: Mapped[str | None] = mapped_column(String(16))  # lighter | reduced | heavier
    note: Mapped[str | None] = mapped_column(Text)
    reversed_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    reversed_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    __table_args__ = (UniqueConstraint("physician_code", "sequence", name="uq_violations_seq"),)


class Objection(Base):
    __tablename__ = "objections"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    violation_id: Mapped[str] = mapped_column(ForeignKey("violations.id"), unique=True)
    filed_on: Mapped[date] = mapped_column(Date)
    deadline: Mapped[date] = mapped_column(Date)
    # Counted on the provisional rule (a year's holiday schedule was not loaded yet);
    # recomputed when it is. ``late``: filed after the recomputed deadline.
    deadline_provisional: Mapped[bool] = mapped_column(Boolean, default=False)
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    grounds: Mapped[str] = mapped_column(Text)
    upheld: Mapped[bool | None] = mapped_column(Boolean)
    decided_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)


class Action(Base):
    """A consequence: fired by the points engine (per physician, policy, period and rule:
    exactly once, enforced by the unique key) or by an institution threshold."""

    __tablename__ = "actions"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    subject: Mapped[str] = mapped_column(String(48))  # "physician:YB…" / "institution:H…"
    physician_code: Mapped[str | None] = mapped_column(String(40), index=True)
    institution_code: Mapped[str | None] = mapped_column(String(32), index=True)
    policy_id: Mapped[str] = mapped_column(String(64))
    region_code: Mapped[str] = mapped_column(String(12), index=True)
    period_key: Mapped[str] = mapped_column(String(64))
    rule_id: Mapped[str] = mapped_column(String(64))
    type: Mapped[str] = mapped_column(String(32))
    # applied | pending | approved | rejected | voided
    status: Mapped[str] = mapped_column(String(16), index=True)
    months: Mapped[int | None] = mapped_column(Integer)
    months_min: Mapped[int | None] = mapped_column(Integer)
    months_max: Mapped[int | None] = mapped_column(Integer)
    effective_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)  # planned last day of a suspension
    violation_id: Mapped[str | None] = mapped_column(String(36))
    clause: Mapped[str] = mapped_column(Text)
    decided_on: Mapped[date | None] = mapped_column(Date)
    decided_by: Mapped[str | None] = mapped_column(String(36))
    voided_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    __table_args__ = (
        UniqueConstraint("subject", "policy_id", "period_key", "rule_id", name="uq_actions_key"),
    )

    @property
    def starts_on(self) -> date:
        """The first day the action holds, the one date every page and the API show with
        ``ends_on``: a pending action approved holds from the operator's decision; any
        other from ``effective_on`` (the deduction's decision)."""
        if self.status == "approved" and self.decided_on is not None:
            return self.decided_on
        return self.effective_on


class Ban(Base):
    """No new agreement under ``policy_id`` (in ``region_code`` only, when set) from
    ``starts_on`` to ``ends_on``."""

    __tablename__ = "bans"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    physician_code: Mapped[str] = mapped_column(ForeignKey("physicians.code"), index=True)
    policy_id: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(64))
    rule_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    # None: every region running the policy; else only this region (the policy's scope).
    region_code: Mapped[str | None] = mapped_column(String(12))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    clause: Mapped[str] = mapped_column(Text)
    voided_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    __table_args__ = (
        UniqueConstraint(
            "physician_code", "policy_id", "source", "rule_id", "region_code", name="uq_bans_key"
        ),
    )


class ResumptionApplication(Base):
    """zhejiang-2014: the suspended physician applies to resume at least 10 working days
    before the suspension's planned end; the agency decides within 10 working days."""

    __tablename__ = "resumption_applications"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    action_id: Mapped[str] = mapped_column(ForeignKey("actions.id"), index=True)
    filed_on: Mapped[date] = mapped_column(Date)
    timely: Mapped[bool] = mapped_column(Boolean)
    # The window's first and last day (zhejiang-2014 三（二）), provisional until the
    # year's holiday schedule is loaded.
    window_opens_on: Mapped[date | None] = mapped_column(Date)
    window_closes_on: Mapped[date | None] = mapped_column(Date)
    deadline_provisional: Mapped[bool] = mapped_column(Boolean, default=False)
    approved: Mapped[bool | None] = mapped_column(Boolean)
    decided_on: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    __table_args__ = (Index("ix_resumption_applications_open", "action_id", "approved"),)
