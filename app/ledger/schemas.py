from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict


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
    effective_on: date
    ends_on: date | None
    violation_id: str | None
    clause: str
    decided_on: date | None
