from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from app.core.types import InstitutionCode, PhysicianCode, Reason
from app.models import Agreement, AgreementSuspension


class AgreementCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    physician_code: PhysicianCode
    institution_code: InstitutionCode
    starts_on: date
    ends_on: date | None = None


class SuspendAgreement(BaseModel):
    model_config = ConfigDict(extra="forbid")
    starts_on: date
    ends_on: date
    reason: Reason


class ResumeAgreement(BaseModel):
    model_config = ConfigDict(extra="forbid")
    effective_on: date


class TerminateAgreement(BaseModel):
    model_config = ConfigDict(extra="forbid")
    effective_on: date
    reason: Reason


class EndRequest(BaseModel):
    """The physician's own request to end the agreement (not to renew it)."""

    model_config = ConfigDict(extra="forbid")
    filed_on: date
    note: str | None = Field(default=None, max_length=2000)


class SuspensionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    starts_on: date
    ends_on: date | None
    resumed_on: date | None
    reason: str
    source_action_id: str | None


class AgreementOut(BaseModel):
    id: str
    physician_code: str
    institution_code: str
    region: str
    starts_on: date
    ends_on: date | None
    terminated_on: date | None
    termination_reason: str | None
    termination_kind: str | None
    # zhejiang-2014 二: None while it renews with the institution; else why it does not.
    no_renewal: str | None = None
    end_requested_on: date | None = None
    created_at: datetime
    suspensions: list[SuspensionOut]
    status_on: date | None = None
    status: str | None = None

    @classmethod
    def from_record(
        cls, a: Agreement, susps: list[AgreementSuspension], on: date | None = None
    ) -> AgreementOut:
        """The agreement as the API shows it; ``on`` adds what held that day."""
        voided = a.termination_voided_at is not None
        return cls(
            id=a.id,
            physician_code=a.physician_code,
            institution_code=a.institution_code,
            region=a.region_code,
            starts_on=a.starts_on,
            ends_on=a.ends_on,
            terminated_on=a.effective_terminated_on,
            termination_reason=None if voided else a.termination_reason,
            termination_kind=None if voided else a.termination_kind,
            no_renewal=a.no_renewal,
            end_requested_on=a.end_requested_on,
            created_at=a.created_at,
            suspensions=[SuspensionOut.model_validate(s) for s in susps],
            status_on=on,
            status=a.status_on(susps, on) if on else None,
        )
