from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, TZDateTime, utcnow


class ConsoleSession(Base):
    """A signed-in operator console session. The cookie carries a random session id; only
    its SHA-256 is stored, so a copy of the table signs nobody in."""

    __tablename__ = "console_sessions"
    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    token_id: Mapped[str] = mapped_column(ForeignKey("api_tokens.id"), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(TZDateTime)
    # A one-shot message shown on the next page ("已暂停 2026-12-01 至 2027-02-28").
    flash: Mapped[str | None] = mapped_column(Text)


class ConsoleReveal(Base):
    """A secret a console POST minted, waiting for the page after its redirect (any admin
    process may serve that page): sealed with the secrets key, its associated data binding
    it to this row's handle, session and scope; deleted on its first view or once expired.
    Only the SHA-256 of the handle (the URL's ``shown``) is stored."""

    __tablename__ = "console_reveals"
    handle_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    session_hash: Mapped[str] = mapped_column(
        ForeignKey("console_sessions.id_hash", ondelete="CASCADE"), index=True
    )
    scope: Mapped[str] = mapped_column(String(96))
    sealed: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime] = mapped_column(TZDateTime, index=True)
