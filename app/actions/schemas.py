from __future__ import annotations

from fractions import Fraction

from pydantic import BaseModel, ConfigDict, Field

from app.core.types import Day
from app.violations.schemas import ActionOut


class ActionDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")
    approve: bool
    months: int | None = Field(default=None, ge=1, le=120)
    decided_on: Day


class ResumptionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    filed_on: Day
    note: str | None = Field(default=None, max_length=2000)


class ResumptionDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")
    approve: bool
    decided_on: Day


class ResumptionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    action_id: str
    filed_on: Day
    timely: bool
    approved: bool | None
    decided_on: Day | None


class InstitutionStanding(BaseModel):
    institution_code: str
    region: str
    policy: str
    as_of: Day
    term_starts_on: Day | None
    term_ends_on: Day | None
    approved_physicians: int
    revoked_physicians: int
    ratio: str | None
    flags: list[str]
    actions: list[ActionOut]


def ratio_text(r: Fraction | None) -> str | None:
    return None if r is None else f"{float(r):.4f}"
