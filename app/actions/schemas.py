from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field


class ActionDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")
    approve: bool
    months: int | None = Field(default=None, ge=1, le=120)
    decided_on: date


class ResumptionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    filed_on: date
    note: str | None = Field(default=None, max_length=2000)


class ResumptionDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")
    approve: bool
    decided_on: date


class ResumptionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    action_id: str
    filed_on: date
    timely: bool
    approved: bool | None
    decided_on: date | None
