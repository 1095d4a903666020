"""Regions, institutions, physicians, agreements, visits: date-effective history.

Nothing here is a status flag that gets overwritten. A suspension is a dated interval, a
termination an effective date, a cancellation of a code an interval; the registry answers
"what held on date D" by reading the intervals.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.dates import covers, last_day
from app.core.ids import new_id
from app.models.base import Base, BigId, TZDateTime, utcnow


class Region(Base):
    __tablename__ = "regions"
    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    policy: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)


class Institution(Base):
    __tablename__ = "institutions"
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    # 核定医师总数 (lanzhou-2014 第二十二条); None means "count its agreements".
    approved_physicians: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)

    terms: Mapped[list[InstitutionTerm]] = relationship(lazy="raise")
    suspensions: Mapped[list[InstitutionSuspension]] = relationship(lazy="raise")

    @staticmethod
    def status_on(
        terms: list[InstitutionTerm], susps: list[InstitutionSuspension], day: date
    ) -> str:
        """What held for an institution with these terms and suspensions on ``day``."""
        if not any(t.covers(day) for t in terms):
            return "ended" if any(t.starts_on <= day for t in terms) else "not_started"
        if any(s.covers(day) for s in susps):
            return "suspended"
        return "active"


class InstitutionTerm(Base):
    """The institution's own service agreement with the agency, one row per term."""

    __tablename__ = "institution_terms"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    institution_code: Mapped[str] = mapped_column(ForeignKey("institutions.code"), index=True)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    terminated_on: Mapped[date | None] = mapped_column(Date)
    termination_reason: Mapped[str | None] = mapped_column(Text)
    source_action_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    __table_args__ = (CheckConstraint("ends_on IS NULL OR ends_on >= starts_on", name="span"),)

    @property
    def last_day(self) -> date | None:
        """The term's last day: ``ends_on``, cut short by a termination."""
        return last_day(self.ends_on, self.terminated_on)

    def covers(self, day: date) -> bool:
        return covers(self.starts_on, self.last_day, day)


class InstitutionSuspension(Base):
    __tablename__ = "institution_suspensions"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    institution_code: Mapped[str] = mapped_column(ForeignKey("institutions.code"), index=True)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)  # last suspended day; None: open
    reason: Mapped[str] = mapped_column(Text)
    lifted_on: Mapped[date | None] = mapped_column(Date)  # first day served again
    voided_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    source_action_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)

    @property
    def last_day(self) -> date | None:
        """The last suspended day: ``ends_on``, cut short by a lifting."""
        return last_day(self.ends_on, self.lifted_on)

    def covers(self, day: date) -> bool:
        return covers(self.starts_on, self.last_day, day)


class Physician(Base):
    __tablename__ = "physicians"
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    certificate_no: Mapped[str] = mapped_column(String(38), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    national_code: Mapped[str | None] = mapped_column(String(16), unique=True)
    # doctor | nurse | pharmacist | technician | pharmacy_head (app.rules.staff)
    category: Mapped[str] = mapped_column(String(16), default="doctor", server_default="doctor")
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)

    agreements: Mapped[list[Agreement]] = relationship(lazy="raise")
    visits: Mapped[list[Visit]] = relationship(lazy="raise")
    cancellations: Mapped[list[CodeCancellation]] = relationship(lazy="raise")


class CodeCancellation(Base):
    """注销 of the service code: from ``effective_on`` until restored (if ever)."""

    __tablename__ = "code_cancellations"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    physician_code: Mapped[str] = mapped_column(ForeignKey("physicians.code"), index=True)
    effective_on: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)
    restored_on: Mapped[date | None] = mapped_column(Date)  # first day valid again
    voided_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    source_action_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)

    @property
    def last_day(self) -> date | None:
        """The last cancelled day (None: not restored)."""
        return last_day(None, self.restored_on)

    def covers(self, day: date) -> bool:
        return covers(self.effective_on, self.last_day, day)


class Agreement(Base):
    """One physician's service agreement at one institution (multi-site: one per site)."""

    __tablename__ = "agreements"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    physician_code: Mapped[str] = mapped_column(ForeignKey("physicians.code"))
    institution_code: Mapped[str] = mapped_column(ForeignKey("institutions.code"), index=True)
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)  # None: follows the institution's term
    terminated_on: Mapped[date | None] = mapped_column(Date)
    termination_reason: Mapped[str | None] = mapped_column(Text)
    # "operator", "violation" (points), "institution" (the institution's agreement ended)
    termination_kind: Mapped[str | None] = mapped_column(String(16))
    termination_voided_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    source_action_id: Mapped[str | None] = mapped_column(String(36))
    # zhejiang-2014 二: why the agreement does not renew with the institution
    # ("physician_request": the physician asked to end it, filed ``end_requested_on``;
    # "suspension_not_lifted": no approved resumption); None: it renews.
    no_renewal: Mapped[str | None] = mapped_column(String(32))
    end_requested_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)

    suspensions: Mapped[list[AgreementSuspension]] = relationship(lazy="raise")
    __table_args__ = (
        Index("ix_agreements_physician_institution", "physician_code", "institution_code"),
        CheckConstraint("ends_on IS NULL OR ends_on >= starts_on", name="span"),
    )

    @property
    def effective_terminated_on(self) -> date | None:
        """The termination's effective date (first day no longer valid), unless voided."""
        return self.terminated_on if self.termination_voided_at is None else None

    @property
    def last_day(self) -> date | None:
        """The last day the agreement holds: ``ends_on``, cut short by a termination."""
        return last_day(self.ends_on, self.effective_terminated_on)

    def terminated_by(self, day: date) -> bool:
        """Terminated (not voided) with effect on or before ``day``."""
        ended = self.effective_terminated_on
        return ended is not None and ended <= day

    def ended_before(self, day: date) -> bool:
        """Terminated by ``day``, or its term ran out before it."""
        return self.terminated_by(day) or (self.ends_on is not None and self.ends_on < day)

    def status_on(self, susps: list[AgreementSuspension], day: date) -> str:
        """What held on ``day`` (its own history; not the institution's)."""
        if day < self.starts_on:
            return "not_started"
        if self.terminated_by(day):
            return "terminated"
        if self.ends_on is not None and day > self.ends_on:
            return "expired"
        if any(s.covers(day) for s in susps):
            return "suspended"
        return "active"


class AgreementSuspension(Base):
    """A suspension of one agreement: ``starts_on`` to ``ends_on`` inclusive (None: until the
    agreement ends), cut short by a resumption effective ``resumed_on``."""

    __tablename__ = "agreement_suspensions"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    agreement_id: Mapped[str] = mapped_column(ForeignKey("agreements.id"), index=True)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)
    resumed_on: Mapped[date | None] = mapped_column(Date)
    voided_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    source_action_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)

    @property
    def last_day(self) -> date | None:
        """The last suspended day: ``ends_on``, cut short by a resumption."""
        return last_day(self.ends_on, self.resumed_on)

    def covers(self, day: date) -> bool:
        return covers(self.starts_on, self.last_day, day)


class Visit(Base):
    """进修、对口支援、技术协作: registered by the host institution, at most one year."""

    __tablename__ = "visits"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    physician_code: Mapped[str] = mapped_column(ForeignKey("physicians.code"), index=True)
    host_institution_code: Mapped[str] = mapped_column(ForeignKey("institutions.code"))
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    kind: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)


class RegistryState(Base):
    """One row: the registry version. Bumping it row-locks, so versions are gapless and
    commit-ordered (a writer that takes version v+1 waits until v's writer commits)."""

    __tablename__ = "registry_state"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)


class RegistryChange(Base):
    """The outbox: the registry facts of every entity a committed write touched."""

    __tablename__ = "registry_changes"
    version: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    committed_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    payload: Mapped[dict[str, Any]] = mapped_column()
    published_at: Mapped[datetime | None] = mapped_column(TZDateTime)
