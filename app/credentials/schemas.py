from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

PAASID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$"


class GatewayRegister(BaseModel):
    """``{"paasid", "secret"}``: a pair the platform already issued to the institution,
    kept as it is; neither (``{}`` or ``{"scheme"}``): ybgate generates the pair."""

    model_config = ConfigDict(extra="forbid")
    paasid: str | None = Field(
        default=None, pattern=PAASID_PATTERN, description="x-tif paasid, or CSB access key"
    )
    secret: SecretStr | None = Field(
        default=None, description="the paasToken (x-tif) or secret key (CSB)"
    )
    scheme: Literal["x-tif", "csb"] = "x-tif"

    @field_validator("secret")
    @classmethod
    def _printable(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        text = value.get_secret_value()
        if not 8 <= len(text) <= 256:
            raise ValueError("8 to 256 characters")
        if not text.isascii() or not text.isprintable() or text != text.strip():
            raise ValueError("printable ASCII, no leading or trailing space")
        return value


class GatewayIssued(BaseModel):
    """201: the pair now in force. ``secret`` is shown here once when ybgate generated it
    (null when the pair was registered: the caller has it)."""

    paasid: str
    secret: str | None
    scheme: str
    previous_valid_until: datetime | None


class GatewayPairOut(BaseModel):
    """A pair as listed: never its secret."""

    model_config = ConfigDict(from_attributes=True)
    paasid: str
    scheme: str
    origin: str
    created_at: datetime
    valid_until: datetime | None
    revoked_at: datetime | None
    revoked: bool
    active: bool


class GatewayRevoked(BaseModel):
    institution_code: str
    revoked: list[str]  # the paasids revoked by this call
