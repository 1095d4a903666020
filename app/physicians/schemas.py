from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from app.agreements.schemas import AgreementOut
from app.core.types import CertificateNo, Day, Name, NationalCode, Reason
from app.models import Action, Ban
from app.rules import PeriodStanding
from app.rules.staff import Category, national_code_problem


class PhysicianCreate(BaseModel):
    """A 相关人员 (the path keeps the word physician): ``category`` as in
    ``app.rules.staff``; ``national_code`` a national staff code of that category."""

    model_config = ConfigDict(extra="forbid")
    certificate_no: CertificateNo
    name: Name
    category: Category = "doctor"  # before national_code: its check reads it
    national_code: NationalCode | None = None

    @field_validator("national_code")
    @classmethod
    def _code_of_category(cls, code: str | None, info: ValidationInfo) -> str | None:
        category = info.data.get("category")
        if code is not None and category is not None:
            problem = national_code_problem(category, code)
            if problem is not None:
                raise PydanticCustomError("national_code", problem)
        return code


class PhysicianOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    code: str
    certificate_no: str
    name: str
    national_code: str | None
    category: str
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


class PointsOut(BaseModel):
    """One period of a policy: its deductions' regions, and what is left."""

    policy: str
    period: str
    regions: list[str]
    starts_on: Day
    ends_on: Day
    initial: int
    deducted: int
    remaining: int
    current: bool

    @classmethod
    def from_record(
        cls, policy_id: str, p: PeriodStanding, regions: list[str], current: bool
    ) -> PointsOut:
        return cls(
            policy=policy_id,
            period=p.key,
            regions=regions,
            starts_on=p.starts_on,
            ends_on=p.ends_on,
            initial=p.initial,
            deducted=p.deducted,
            remaining=p.remaining,
            current=current,
        )


class BanOut(BaseModel):
    policy: str
    region: str | None
    kind: str
    starts_on: Day
    ends_on: Day
    clause: str
    in_force: bool

    @classmethod
    def from_record(cls, b: Ban, as_of: Day) -> BanOut:
        return cls(
            policy=b.policy_id,
            region=b.region_code,
            kind=b.kind,
            starts_on=b.starts_on,
            ends_on=b.ends_on,
            clause=b.clause,
            in_force=b.starts_on <= as_of <= b.ends_on,
        )


class PendingActionOut(BaseModel):
    id: str
    type: str
    rule_id: str
    policy: str
    region: str
    effective_on: Day
    months_min: int | None
    months_max: int | None
    clause: str

    @classmethod
    def from_record(cls, a: Action) -> PendingActionOut:
        return cls(
            id=a.id,
            type=a.type,
            rule_id=a.rule_id,
            policy=a.policy_id,
            region=a.region_code,
            effective_on=a.effective_on,
            months_min=a.months_min,
            months_max=a.months_max,
            clause=a.clause,
        )


class Standing(BaseModel):
    """A physician's standing as of one date (``as_of``, default today in Asia/Shanghai)."""

    code: str
    certificate_no: str
    name: str
    national_code: str | None
    category: str = "doctor"
    as_of: Day
    status: str
    cancellations: list[CancellationOut]
    agreements: list[AgreementStanding]
    visits: list[VisitStanding]
    points: list[PointsOut] = []
    bans: list[BanOut] = []
    pending_actions: list[PendingActionOut] = []
