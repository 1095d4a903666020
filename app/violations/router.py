from __future__ import annotations

from fastapi import APIRouter

from app.auth.dependencies import Actor
from app.calendar.service import work_calendar
from app.core.paging import Page, Paging, fetch_page, make_page
from app.ledger import repository as ledger
from app.rules import get_policy
from app.uow.dependencies import Session
from app.violations import service
from app.violations.repairs import record_repair
from app.violations.schemas import (
    ObjectionCreate,
    ObjectionDecided,
    ObjectionDecision,
    ObjectionOut,
    RepairCreate,
    RepairCreated,
    ViolationCreate,
    ViolationCreated,
    ViolationOut,
)

router = APIRouter(prefix="/admin/v1/violations", tags=["violations"])
# 记分修复 lives with the ledger's writes, under the physician's path.
repairs_router = APIRouter(prefix="/admin/v1", tags=["repairs"])


@router.post("", status_code=201, response_model=ViolationCreated)
async def record_violation(
    data: ViolationCreate, session: Session, actor: Actor
) -> ViolationCreated:
    """Deduct an item of the region's policy; returns the standing and what it triggered."""
    return await service.record_violation(session, actor, data)


@router.get("", response_model=Page[ViolationOut])
async def list_violations(
    session: Session,
    actor: Actor,
    paging: Paging,
    physician: str | None = None,
    region: str | None = None,
) -> Page[ViolationOut]:
    rows = await fetch_page(session, ledger.violations_query(physician, region), paging)
    cal = await work_calendar(session)
    return make_page(
        [ViolationOut.from_record(v, get_policy(v.policy_id), cal) for v in rows], paging
    )


@router.get("/{violation_id}", response_model=ViolationOut)
async def get_violation(violation_id: str, session: Session, actor: Actor) -> ViolationOut:
    v = await service.get_violation(session, violation_id)
    return ViolationOut.from_record(v, get_policy(v.policy_id), await work_calendar(session))


@router.post("/{violation_id}/objection", status_code=201, response_model=ObjectionOut)
async def file_objection(
    violation_id: str, data: ObjectionCreate, session: Session, actor: Actor
) -> ObjectionOut:
    """Within 10 working days of the decision (Chinese calendar); later is 422 OBJECTION_LATE."""
    obj = await service.file_objection(session, actor, violation_id, data)
    return ObjectionOut.model_validate(obj)


@router.post("/{violation_id}/objection/decision", response_model=ObjectionDecided)
async def decide_objection(
    violation_id: str, data: ObjectionDecision, session: Session, actor: Actor
) -> ObjectionDecided:
    """Upheld: the deduction and every consequence it alone caused are reversed."""
    return await service.decide_objection(session, actor, violation_id, data)


@repairs_router.post("/physicians/{code}/repairs", status_code=201, response_model=RepairCreated)
async def create_repair(
    code: str, data: RepairCreate, session: Session, actor: Actor
) -> RepairCreated:
    """记分修复 within the region's policy limits (422 REPAIR_LIMIT beyond them, 422
    REPAIR_NOT_ALLOWED under a policy without repair)."""
    return await record_repair(session, actor, code, data)
