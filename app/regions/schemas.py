from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from app.core.types import Name, RegionCode


class RegionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: RegionCode
    name: Name
    policy: str


class RegionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    code: str
    name: str
    policy: str
    created_at: datetime


class PolicyOut(BaseModel):
    id: str
    title: str
    source: str
