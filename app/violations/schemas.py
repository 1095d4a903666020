from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.core.types import Day, PhysicianCode, Reason, RegionCode
from app.ledger.schemas import ActionOut
from app.models import Violation
from app.rules import (
    SHIPPED,
    Policy,
    WorkCalendar,
    deadline_counted,
    objection_deadline_counted,
)
from app.rules.staff import Degree

ItemId = Annotated[str, StringConstraints(pattern=r"^[0-9]{1,2}(\.[0-9]{1,2}|-[0-9]{1,2})$")]


class ViolationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    physician_code: PhysicianCode
    region: RegionCode
    item: ItemId
    occurred_on: Day
    decided_on: Day
    points: int | None = Field(default=None, ge=1, le=12)
    # 负有责任程度: moves the item's allowed points as the region's policy says.
    degree: Degree | None = None
    note: str | None = Field(default=None, max_length=2000)


class PeriodOut(BaseModel):
    policy: str
    period: str
    starts_on: Day
    ends_on: Day
    initial: int
    deducted: int
    remaining: int


class ViolationOut(BaseModel):
    id: str
    physician_code: str
    region: str
    policy: str
    item: str
    points: int
    degree: str | None = None
    occurred_on: Day
    decided_on: Day
    reversed_on: Day | None
    objection_deadline: Day
    # Counted into a year whose holiday schedule is not loaded yet (docs/policies.md).
    objection_deadline_provisional: bool = False
    # lanzhou-2014 第十五条: the institution tells the physician within 3 working days.
    notice_deadline: Day | None = None
    notice_deadline_provisional: bool = False

    @classmethod
    def from_record(cls, v: Violation, policy: Policy, cal: WorkCalendar = SHIPPED) -> ViolationOut:
        counted = objection_deadline_counted(policy, v.decided_on, cal)
        # lanzhou-2014 第十五条: the institution tells the physician within 3 working days.
        notice = deadline_counted(policy, "notice", v.decided_on, cal)
        return cls(
            id=v.id,
            physician_code=v.physician_code,
            region=v.region_code,
            policy=v.policy_id,
            item=v.item,
            points=v.points,
            degree=v.degree,
            occurred_on=v.occurred_on,
            decided_on=v.decided_on,
            reversed_on=v.reversed_on,
            objection_deadline=counted.day,
            objection_deadline_provisional=counted.provisional,
            notice_deadline=notice.day if notice else None,
            notice_deadline_provisional=notice.provisional if notice else False,
        )


class ViolationCreated(ViolationOut):
    standing: PeriodOut
    actions: list[ActionOut]


class ObjectionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    filed_on: Day
    grounds: Reason


class ObjectionDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")
    upheld: bool
    decided_on: Day


class ObjectionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    violation_id: str
    filed_on: Day
    deadline: Day
    # The deadline was counted into a year whose holiday schedule is not loaded yet; it is
    # recomputed when the year is loaded, and ``late`` then says whether it was missed.
    deadline_provisional: bool
    late: bool
    grounds: str
    upheld: bool | None
    decided_on: Day | None


class ObjectionDecided(ObjectionOut):
    standing: PeriodOut
    voided_actions: list[ActionOut]


class RepairCreate(BaseModel):
    """记分修复: ``period`` is the points period's key (``"2026"`` for a calendar year)."""

    model_config = ConfigDict(extra="forbid")
    region: RegionCode
    period: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    points: Annotated[int, Field(ge=1, le=12)]
    means: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    decided_on: Day
    note: Annotated[str, StringConstraints(max_length=2000)] | None = None


class RepairCreated(BaseModel):
    id: str
    standing: PeriodOut
