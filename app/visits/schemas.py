from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict

from app.core.types import InstitutionCode, PhysicianCode


class VisitCreate(BaseModel):
    """进修、对口支援、技术协作: the host institution registers the visiting physician."""

    model_config = ConfigDict(extra="forbid")
    physician_code: PhysicianCode
    host_institution_code: InstitutionCode
    starts_on: date
    ends_on: date
    kind: Literal["进修", "对口支援", "技术协作", "training", "support", "collaboration"] | None = (
        None
    )
