from __future__ import annotations

from datetime import date, datetime
from fractions import Fraction

from pydantic import BaseModel, ConfigDict, Field

from app.core.types import InstitutionCode, Name, Reason, RegionCode
from app.ledger.schemas import ActionOut
from app.models import Institution, InstitutionSuspension, InstitutionTerm


class InstitutionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: InstitutionCode
    name: Name
    region: RegionCode
    agreement_starts_on: date
    agreement_ends_on: date | None = None
    approved_physicians: int | None = Field(default=None, ge=0)


class SuspendInstitution(BaseModel):
    model_config = ConfigDict(extra="forbid")
    starts_on: date
    ends_on: date | None = None
    reason: Reason


class ResumeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    effective_on: date


class TerminateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    effective_on: date
    reason: Reason


class TermCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    starts_on: date
    ends_on: date | None = None


class TermOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    starts_on: date
    ends_on: date | None
    terminated_on: date | None
    termination_reason: str | None


class InstitutionSuspensionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    starts_on: date
    ends_on: date | None
    lifted_on: date | None
    reason: str


class InstitutionOut(BaseModel):
    code: str
    name: str
    region: str
    approved_physicians: int | None
    created_at: datetime
    terms: list[TermOut]
    suspensions: list[InstitutionSuspensionOut]
    status_on: date | None = None
    status: str | None = None

    @classmethod
    def from_record(
        cls,
        inst: Institution,
        terms: list[InstitutionTerm],
        susps: list[InstitutionSuspension],
        on: date | None = None,
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
    as_of: date
    term_starts_on: date | None
    term_ends_on: date | None
    approved_physicians: int
    revoked_physicians: int
    ratio: str | None
    flags: list[str]
    actions: list[ActionOut]


def ratio_text(r: Fraction | None) -> str | None:
    return None if r is None else f"{float(r):.4f}"
