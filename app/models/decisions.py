from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Index,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Text,
    Uuid,
    func,
    literal_column,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, TZDateTime

# The separator of the ``physicians`` column as SQL (the GIN index's expression).
PHYSICIANS_SEP_SQL = "E'\\x1f'"


class SettlementDecision(Base):
    """The decision log: every settlement the gatekeeper answered, its lines in the compact
    encoding of ``app.registry.decision_codec`` (about 30 bytes for 20 lines). The time of
    a decision is its UUIDv7's millisecond; on PostgreSQL the table is partitioned by day
    on ``decision_id`` ranges (``app.models.partitions``). The explanation is built on
    read (``app.registry.history``)."""

    __tablename__ = "settlement_decisions"
    # Fixed-width columns first (no alignment padding).
    registry_version: Mapped[int] = mapped_column(BigInteger)
    accepted_cents: Mapped[int] = mapped_column(BigInteger)
    rejected_cents: Mapped[int] = mapped_column(BigInteger)
    decision_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    outcome_code: Mapped[int] = mapped_column("outcome", SmallInteger)
    # 前置 mode (national/forward.py): the platform's infcode for a forwarded upload, or
    # why it did not answer ("timeout", "refused"); both null when not forwarded.
    upstream_infcode: Mapped[int | None] = mapped_column(Integer, nullable=True)
    upstream_error: Mapped[str | None] = mapped_column(String(16), nullable=True)
    institution_code: Mapped[str] = mapped_column(String(32))
    settlement_id: Mapped[str] = mapped_column(String(64))
    # The staff codes the lines name, once each, joined by U+001F (the lines refer to
    # them by position; ``decision_codec.codes_text``).
    physicians: Mapped[str] = mapped_column(Text)
    encoded_lines: Mapped[bytes] = mapped_column("lines", LargeBinary)
    # Institution first: the key serves the institution's newest-first pages, the lookup
    # of one decision by its institution, and idempotent replays.
    __table_args__ = (
        PrimaryKeyConstraint("institution_code", "decision_id", name="pk_settlement_decisions"),
        Index("ix_settlement_decisions_settlement", "settlement_id", postgresql_using="hash"),
        Index(
            "ix_settlement_decisions_physicians",
            func.string_to_array(physicians, literal_column(PHYSICIANS_SEP_SQL)),
            postgresql_using="gin",
        ).ddl_if(dialect="postgresql"),
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
