from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, BigInteger, Index, LargeBinary, SmallInteger, String, Text, Uuid
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, TZDateTime

# A list of codes: text[] on PostgreSQL (GIN-indexed), JSON elsewhere.
CodeList = JSON().with_variant(ARRAY(Text), "postgresql")


class SettlementDecision(Base):
    """The decision log: every settlement the gatekeeper answered, its lines in the compact
    encoding of ``app.registry.decision_codec`` (about 30 bytes for 20 lines). The time of
    a decision is its UUIDv7's millisecond; on PostgreSQL the table is partitioned by day
    on ``decision_id`` ranges (``app.models.partitions``). The explanation is built on
    read (``app.registry.history``)."""

    __tablename__ = "settlement_decisions"
    # Institution first: the key serves the institution's newest-first pages, the lookup
    # of one decision by its institution, and idempotent replays.
    institution_code: Mapped[str] = mapped_column(String(32), primary_key=True)
    decision_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    settlement_id: Mapped[str] = mapped_column(String(64))
    registry_version: Mapped[int] = mapped_column(BigInteger)
    outcome_code: Mapped[int] = mapped_column("outcome", SmallInteger)
    accepted_cents: Mapped[int] = mapped_column(BigInteger)
    rejected_cents: Mapped[int] = mapped_column(BigInteger)
    # The national message a forwarded upload answered (e.g. 2204), when there was one.
    upstream_infcode: Mapped[int | None] = mapped_column(SmallInteger, nullable=True)
    # The staff codes the lines name, once each (the lines refer to them by position).
    physicians: Mapped[list[str]] = mapped_column(CodeList)
    encoded_lines: Mapped[bytes] = mapped_column("lines", LargeBinary)
    __table_args__ = (
        Index("ix_settlement_decisions_settlement", "settlement_id", postgresql_using="hash"),
        Index("ix_settlement_decisions_physicians", "physicians", postgresql_using="gin"),
    )


class DecisionWithdrawal(Base):
    """A line of a logged decision withdrawn by a later message of the same institution
    (2205 门诊费用明细信息撤销, 2302 住院费用明细信息撤销): one row per line found, or
    one row without ``decision_id`` when the message named lines no decision in memory
    had. Kept apart from the decision log's rows and joined to them when a decision is
    read (``app.registry.history``)."""

    __tablename__ = "decision_withdrawals"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    institution_code: Mapped[str] = mapped_column(String(32))
    decision_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    line_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    mdtrt_id: Mapped[str] = mapped_column(String(64))
    chrg_bchno: Mapped[str | None] = mapped_column(String(64), nullable=True)
    msgid: Mapped[str] = mapped_column(String(30))
    infno: Mapped[str] = mapped_column(String(8))
    withdrawn_at: Mapped[datetime] = mapped_column(TZDateTime)
    __table_args__ = (
        Index("ix_decision_withdrawals_decision_id", "decision_id"),
        Index("ix_decision_withdrawals_inst_visit", "institution_code", "mdtrt_id"),
    )
