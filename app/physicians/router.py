from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter

from app.auth.dependencies import Actor
from app.core.clock import today
from app.core.paging import Page, Paging, fetch_page, make_page
from app.physicians import repository as repo
from app.physicians import service
from app.physicians.archive import archive
from app.physicians.schemas import (
    CancelCode,
    CancellationOut,
    PhysicianCreate,
    PhysicianOut,
    RestoreCode,
    Standing,
)
from app.uow.dependencies import Session

router = APIRouter(prefix="/admin/v1/physicians", tags=["physicians"])


@router.post("", status_code=201, response_model=PhysicianOut)
async def create_physician(data: PhysicianCreate, session: Session, actor: Actor) -> PhysicianOut:
    """Register a physician: the code is ``YB`` + the certificate number, for life."""
    return PhysicianOut.model_validate(await service.create_physician(session, actor, data))


@router.get("", response_model=Page[PhysicianOut])
async def list_physicians(
    session: Session, actor: Actor, paging: Paging, q: str | None = None
) -> Page[PhysicianOut]:
    rows = await fetch_page(session, repo.physicians_query(q), paging)
    return make_page([PhysicianOut.model_validate(r) for r in rows], paging)


@router.get("/{code}", response_model=Standing)
async def get_physician(
    code: str, session: Session, actor: Actor, as_of: date | None = None
) -> Standing:
    """Standing as of ``as_of`` (default today, Asia/Shanghai): status, agreements, visits,
    points per region and period, bans, pending actions."""
    return await service.standing(session, code, as_of or today())


@router.get("/{code}/record")
async def get_record(code: str, session: Session, actor: Actor) -> dict[str, Any]:
    """The integrity archive (诚信档案): every event of the physician, in date order."""
    return {"physician_code": code, "events": await archive(session, code)}


@router.post("/{code}/cancel", response_model=CancellationOut)
async def cancel_code(
    code: str, data: CancelCode, session: Session, actor: Actor
) -> CancellationOut:
    """注销 the code: every agreement ends on ``effective_on``."""
    return CancellationOut.model_validate(await service.cancel_code(session, actor, code, data))


@router.post("/{code}/restore", response_model=CancellationOut)
async def restore_code(
    code: str, data: RestoreCode, session: Session, actor: Actor
) -> CancellationOut:
    """Restore a cancelled code (after training and an exam)."""
    return CancellationOut.model_validate(await service.restore_code(session, actor, code, data))
