from __future__ import annotations

from pydantic import BaseModel

from app.core.types import Day


class PublicStaffMember(BaseModel):
    """One staff member as the public sees them: nothing beyond these fields."""

    name: str
    code: str
    category: str
    may_bill: bool
    suspended_from: Day | None
    suspended_until: Day | None
    terminated_on: Day | None


class PublicStaff(BaseModel):
    institution_code: str
    institution_name: str
    date: Day
    staff: list[PublicStaffMember]
