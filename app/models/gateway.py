from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.ids import new_id
from app.models.base import Base, TZDateTime, utcnow

SCHEMES = ("x-tif", "csb")


class GatewayCredential(Base):
    """A platform gateway credential of one institution: a ``paasid`` (CSB: access key)
    and its secret, sealed with the secrets key (``app/core/secrets.py``): the column
    never holds the secret itself. ``valid_until`` ends a rotated pair's overlap;
    ``revoked_at`` ends a pair at once."""

    __tablename__ = "gateway_credentials"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    paasid: Mapped[str] = mapped_column(String(64), unique=True)
    institution_code: Mapped[str] = mapped_column(ForeignKey("institutions.code"), index=True)
    scheme: Mapped[str] = mapped_column(String(8))
    secret_sealed: Mapped[str] = mapped_column(Text)
    origin: Mapped[str] = mapped_column(String(16))  # "issued" here, or "registered"
    created_by: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    valid_until: Mapped[datetime | None] = mapped_column(TZDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(TZDateTime)

    def live(self, now: datetime) -> bool:
        """Whether the pair authenticates a request at ``now``."""
        return self.revoked_at is None and (self.valid_until is None or now < self.valid_until)
