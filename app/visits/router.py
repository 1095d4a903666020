from __future__ import annotations

from fastapi import APIRouter

from app.auth.dependencies import Actor
from app.core.paging import Page, Paging, fetch_page, make_page
from app.physicians.schemas import VisitOut
from app.uow.dependencies import Session
from app.visits import repository as repo
from app.visits import service
from app.visits.schemas import VisitCreate

router = APIRouter(prefix="/admin/v1/visits", tags=["visits"])


@router.post("", status_code=201, response_model=VisitOut)
async def create_visit(data: VisitCreate, session: Session, actor: Actor) -> VisitOut:
    return VisitOut.model_validate(await service.create_visit(session, actor, data))


@router.get("", response_model=Page[VisitOut])
async def list_visits(
    session: Session,
    actor: Actor,
    paging: Paging,
    physician: str | None = None,
    host: str | None = None,
) -> Page[VisitOut]:
    rows = await fetch_page(session, repo.visits_query(physician, host), paging)
    return make_page([VisitOut.model_validate(r) for r in rows], paging)
