from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from app.core.types import Day


class ActionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    type: str
    status: str
    rule_id: str
    period_key: str
    region_code: str
    physician_code: str | None
    institution_code: str | None
    months: int | None
    months_min: int | None
    months_max: int | None
    effective_on: Day
    # The first day it holds (an approved pending action: its decision day); with ends_on,
    # the span every console page shows.
    starts_on: Day | None = None
    ends_on: Day | None
    violation_id: str | None
    clause: str
    decided_on: Day | None
