from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from app.core.types import Day, InstitutionCode, PhysicianCode


class VisitCreate(BaseModel):
    """进修、对口支援、技术协作: the host institution registers the visiting physician."""

    model_config = ConfigDict(extra="forbid")
    physician_code: PhysicianCode
    host_institution_code: InstitutionCode
    starts_on: Day
    ends_on: Day
    kind: Literal["进修", "对口支援", "技术协作", "training", "support", "collaboration"] | None = (
        None
    )
