from __future__ import annotations

from fastapi import APIRouter

from app.auth.dependencies import Actor
from app.core.paging import Page, Paging, fetch_page, make_page
from app.regions import repository as repo
from app.regions import service
from app.regions.schemas import PolicyOut, RegionCreate, RegionOut
from app.rules import list_policies
from app.uow.dependencies import Session

router = APIRouter(prefix="/admin/v1", tags=["regions"])


@router.post("/regions", status_code=201, response_model=RegionOut)
async def create_region(data: RegionCreate, session: Session, actor: Actor) -> RegionOut:
    return RegionOut.model_validate(await service.create_region(session, actor, data))


@router.get("/regions", response_model=Page[RegionOut])
async def list_regions(session: Session, actor: Actor, paging: Paging) -> Page[RegionOut]:
    rows = await fetch_page(session, repo.regions_query(), paging)
    return make_page([RegionOut.model_validate(r) for r in rows], paging)


@router.get("/regions/{code}", response_model=RegionOut)
async def get_region(code: str, session: Session, actor: Actor) -> RegionOut:
    return RegionOut.model_validate(await service.get_region(session, code))


@router.get("/policies", response_model=list[PolicyOut])
async def policies(actor: Actor) -> list[PolicyOut]:
    return [PolicyOut(id=p.id, title=p.title, source=p.source) for p in list_policies()]
