from __future__ import annotations

from fastapi import APIRouter

from app.actions import service
from app.actions.schemas import (
    ActionDecision,
    ResumptionCreate,
    ResumptionDecision,
    ResumptionOut,
)
from app.auth.dependencies import Actor
from app.core.paging import Page, Paging, fetch_page, make_page
from app.ledger import repository as ledger
from app.ledger.schemas import ActionOut
from app.uow.dependencies import Session

router = APIRouter(prefix="/admin/v1", tags=["actions"])


@router.get("/actions", response_model=Page[ActionOut])
async def list_actions(
    session: Session,
    actor: Actor,
    paging: Paging,
    status: str | None = None,
    region: str | None = None,
    physician: str | None = None,
    months_open: bool = False,
) -> Page[ActionOut]:
    """Actions; ``status=pending`` lists the discretionary ones awaiting an operator;
    ``months_open=true`` the applied suspensions whose months the agency still chooses
    (nhsa-2024 暂停1-6个月)."""
    query = ledger.actions_query(status, region, physician, months_open=months_open)
    rows = await fetch_page(session, query, paging)
    return make_page([ActionOut.model_validate(a) for a in rows], paging)


@router.get("/actions/{action_id}", response_model=ActionOut)
async def get_action(action_id: str, session: Session, actor: Actor) -> ActionOut:
    return ActionOut.model_validate(await service.get_action(session, action_id))


@router.post("/actions/{action_id}/decide", response_model=ActionOut)
async def decide(action_id: str, data: ActionDecision, session: Session, actor: Actor) -> ActionOut:
    """Approve (with the months, within the policy's range) or reject a pending action."""
    return ActionOut.model_validate(await service.decide(session, actor, action_id, data))


@router.post("/actions/{action_id}/resumption", status_code=201, response_model=ResumptionOut)
async def apply_resumption(
    action_id: str, data: ResumptionCreate, session: Session, actor: Actor
) -> ResumptionOut:
    """zhejiang-2014: the physician's application to resume at the planned end."""
    app_ = await service.apply_resumption(session, actor, action_id, data)
    return ResumptionOut.model_validate(app_)


@router.post("/resumptions/{application_id}/decision", response_model=ResumptionOut)
async def decide_resumption(
    application_id: str, data: ResumptionDecision, session: Session, actor: Actor
) -> ResumptionOut:
    app_ = await service.decide_resumption(session, actor, application_id, data)
    return ResumptionOut.model_validate(app_)
