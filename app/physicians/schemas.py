from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from app.agreements.schemas import AgreementOut
from app.core.types import CertificateNo, Day, Name, NationalCode, Reason


class PhysicianCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    certificate_no: CertificateNo
    name: Name
    national_code: NationalCode | None = None


class PhysicianOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    code: str
    certificate_no: str
    name: str
    national_code: str | None
    created_at: datetime


class CancelCode(BaseModel):
    model_config = ConfigDict(extra="forbid")
    effective_on: Day
    reason: Reason


class RestoreCode(BaseModel):
    model_config = ConfigDict(extra="forbid")
    effective_on: Day
    note: Reason


class CancellationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    effective_on: Day
    restored_on: Day | None
    reason: str


class VisitOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    physician_code: str
    host_institution_code: str
    region_code: str
    starts_on: Day
    ends_on: Day
    kind: str | None


class VisitStanding(VisitOut):
    in_force: bool


class AgreementStanding(AgreementOut):
    institution_status: str


class Standing(BaseModel):
    """A physician's standing as of one date (``as_of``, default today in Asia/Shanghai)."""

    code: str
    certificate_no: str
    name: str
    national_code: str | None
    as_of: Day
    status: str
    cancellations: list[CancellationOut]
    agreements: list[AgreementStanding]
    visits: list[VisitStanding]
    points: list[dict[str, Any]] = []
    bans: list[dict[str, Any]] = []
    pending_actions: list[dict[str, Any]] = []
