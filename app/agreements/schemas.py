from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from app.core.types import Day, InstitutionCode, PhysicianCode, Reason
from app.models import Agreement, AgreementSuspension


class AgreementCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    physician_code: PhysicianCode
    institution_code: InstitutionCode
    starts_on: Day
    ends_on: Day | None = None


class SuspendAgreement(BaseModel):
    model_config = ConfigDict(extra="forbid")
    starts_on: Day
    ends_on: Day
    reason: Reason


class ResumeAgreement(BaseModel):
    model_config = ConfigDict(extra="forbid")
    effective_on: Day


class TerminateAgreement(BaseModel):
    model_config = ConfigDict(extra="forbid")
    effective_on: Day
    reason: Reason


class EndRequest(BaseModel):
    """The physician's own request to end the agreement (not to renew it)."""

    model_config = ConfigDict(extra="forbid")
    filed_on: Day
    note: str | None = Field(default=None, max_length=2000)


class SuspensionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    starts_on: Day
    ends_on: Day | None
    resumed_on: Day | None
    reason: str
    source_action_id: str | None


class AgreementOut(BaseModel):
    id: str
    physician_code: str
    institution_code: str
    region: str
    starts_on: Day
    ends_on: Day | None
    terminated_on: Day | None
    termination_reason: str | None
    termination_kind: str | None
    # zhejiang-2014 二: None while it renews with the institution; else why it does not.
    no_renewal: str | None = None
    end_requested_on: Day | None = None
    created_at: datetime
    suspensions: list[SuspensionOut]
    status_on: Day | None = None
    status: str | None = None

    @classmethod
    def from_record(
        cls, a: Agreement, susps: list[AgreementSuspension], on: Day | None = None
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
