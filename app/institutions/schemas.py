from __future__ import annotations

from datetime import datetime
from fractions import Fraction

from pydantic import BaseModel, ConfigDict, Field

from app.core.types import Day, InstitutionCode, Name, Reason, RegionCode
from app.ledger.schemas import ActionOut
from app.models import Institution, InstitutionSuspension, InstitutionTerm


class InstitutionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: InstitutionCode
    name: Name
    region: RegionCode
    agreement_starts_on: Day
    agreement_ends_on: Day | None = None
    approved_physicians: int | None = Field(default=None, ge=0)


class SuspendInstitution(BaseModel):
    model_config = ConfigDict(extra="forbid")
    starts_on: Day
    ends_on: Day | None = None
    reason: Reason


class ResumeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    effective_on: Day


class TerminateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    effective_on: Day
    reason: Reason


class TermCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    starts_on: Day
    ends_on: Day | None = None


class TermOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    starts_on: Day
    ends_on: Day | None
    terminated_on: Day | None
    termination_reason: str | None


class InstitutionSuspensionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    starts_on: Day
    ends_on: Day | None
    lifted_on: Day | None
    reason: str


class InstitutionOut(BaseModel):
    code: str
    name: str
    region: str
    approved_physicians: int | None
    created_at: datetime
    terms: list[TermOut]
    suspensions: list[InstitutionSuspensionOut]
    status_on: Day | None = None
    status: str | None = None

    @classmethod
    def from_record(
        cls,
        inst: Institution,
        terms: list[InstitutionTerm],
        susps: list[InstitutionSuspension],
        on: Day | None = None,
    ) -> InstitutionOut:
        """The institution with its terms and suspensions; ``on`` adds its status that day."""
        return cls(
            code=inst.code,
            name=inst.name,
            region=inst.region_code,
            approved_physicians=inst.approved_physicians,
            created_at=inst.created_at,
            terms=[TermOut.model_validate(t) for t in terms],
            suspensions=[InstitutionSuspensionOut.model_validate(s) for s in susps],
            status_on=on,
            status=Institution.status_on(terms, susps, on) if on else None,
        )


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
