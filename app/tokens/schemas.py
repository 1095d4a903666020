from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, model_validator

from app.core.types import RegionCode


class AdminTokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["operator", "auditor"]
    region: RegionCode | None = None
    label: str | None = None

    @model_validator(mode="after")
    def _region_matches_role(self) -> AdminTokenCreate:
        if self.role == "operator" and self.region is None:
            raise ValueError("an operator token needs a region")
        if self.role == "auditor" and self.region is not None:
            raise ValueError("an auditor token reads every region; give no region")
        return self


class TokenCreated(BaseModel):
    id: str
    token: str
    role: str
    region: str | None = None
    institution_code: str | None = None


class TokenOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    role: str
    region_code: str | None
    institution_code: str | None
    label: str | None
    created_at: datetime
    revoked_at: datetime | None
