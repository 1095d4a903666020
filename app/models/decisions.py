from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, Json, TZDateTime


class SettlementDecision(Base):
    """The decision log: every settlement the gatekeeper answered, line by line."""

    __tablename__ = "settlement_decisions"
    decision_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    settlement_id: Mapped[str] = mapped_column(String(64))
    institution_code: Mapped[str] = mapped_column(String(32))
    registry_version: Mapped[int] = mapped_column(BigInteger)
    decided_at: Mapped[datetime] = mapped_column(TZDateTime)
    outcome: Mapped[str] = mapped_column(String(8))
    accepted_amount: Mapped[str] = mapped_column(String(24))
    rejected_amount: Mapped[str] = mapped_column(String(24))
    lines: Mapped[list[Any]] = mapped_column(Json)
    # Per line, in order: [physician_code, service_date, emergency] (None: logged before
    # inputs were kept).
    inputs: Mapped[list[Any] | None] = mapped_column(Json, nullable=True)
    # 前置 mode, a fee upload forwarded to the platform: its answer's infcode, or why
    # there was none ("timeout", "refused"); both null when it was not forwarded.
    upstream_infcode: Mapped[int | None] = mapped_column(Integer, nullable=True)
    upstream_error: Mapped[str | None] = mapped_column(String(16), nullable=True)
    # Newest first per institution: decision ids are UUIDv7, ordered by time.
    # 结算查询 finds a settlement by its id (migration 0010_console).
    __table_args__ = (
        Index("ix_settlement_decisions_inst_id", "institution_code", "decision_id"),
        Index("ix_settlement_decisions_settlement_id", "settlement_id"),
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
