from __future__ import annotations

from fastapi import APIRouter

from app.auth.dependencies import Actor
from app.core.paging import Page, Paging, fetch_page, make_page
from app.regions import repository as repo
from app.regions import service
from app.regions import versions as policy_versions
from app.regions.schemas import (
    PolicyOut,
    PolicySwitch,
    RegionCreate,
    RegionOut,
    SwitchPreview,
    VersionOut,
)
from app.rules import list_policies
from app.uow.dependencies import Session

router = APIRouter(prefix="/admin/v1", tags=["regions"])


@router.post("/regions", status_code=201, response_model=RegionOut)
async def create_region(data: RegionCreate, session: Session, actor: Actor) -> RegionOut:
    return (
        await service.regions_out(session, [await service.create_region(session, actor, data)])
    )[0]


@router.get("/regions", response_model=Page[RegionOut])
async def list_regions(session: Session, actor: Actor, paging: Paging) -> Page[RegionOut]:
    rows = await fetch_page(session, repo.regions_query(), paging)
    return make_page(await service.regions_out(session, rows), paging)


@router.get("/regions/{code}", response_model=RegionOut)
async def get_region(code: str, session: Session, actor: Actor) -> RegionOut:
    return (await service.regions_out(session, [await service.get_region(session, code)]))[0]


@router.get("/policies", response_model=list[PolicyOut])
async def policies(actor: Actor) -> list[PolicyOut]:
    return [PolicyOut(id=p.id, title=p.title, source=p.source) for p in list_policies()]


@router.post("/regions/{code}/policy", response_model=SwitchPreview)
async def switch_policy(
    code: str, data: PolicySwitch, session: Session, actor: Actor
) -> SwitchPreview:
    """Switch the region's policy from ``effective_from``; what was decided stays."""
    return await policy_versions.switch_policy(session, actor, code, data)


@router.post("/regions/{code}/policy/preview", response_model=SwitchPreview)
async def preview_policy(
    code: str, data: PolicySwitch, session: Session, actor: Actor
) -> SwitchPreview:
    """What the switch would change; nothing is written."""
    actor.require_write(code)
    return await policy_versions.preview_switch(session, code, data)


@router.get("/regions/{code}/policies", response_model=list[VersionOut])
async def list_versions(code: str, session: Session, actor: Actor) -> list[VersionOut]:
    return await policy_versions.versions(session, code)
