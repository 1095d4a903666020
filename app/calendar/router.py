from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path

from app.auth.dependencies import Actor
from app.calendar import repository as repo
from app.calendar import service
from app.calendar.schemas import CalendarLoaded, CalendarYearIn, CalendarYearOut, DeadlineOut
from app.core.paging import Page, Paging, make_page
from app.uow.dependencies import Session

router = APIRouter(prefix="/admin/v1", tags=["calendar"])

Year = Annotated[int, Path(ge=2004, le=2100)]


@router.get("/calendar", response_model=list[CalendarYearOut])
async def list_calendar(session: Session, actor: Actor) -> list[CalendarYearOut]:
    """Every year the working-day calendar knows: shipped (chinese_calendar) or loaded."""
    return await service.list_years(session)


@router.get("/calendar/{year}", response_model=CalendarYearOut)
async def get_calendar_year(year: Year, session: Session, actor: Actor) -> CalendarYearOut:
    return await service.get_year(session, year)


@router.put("/calendar/{year}", response_model=CalendarLoaded)
async def load_calendar_year(
    year: Year, data: CalendarYearIn, session: Session, actor: Actor
) -> CalendarLoaded:
    """Load (or replace) one year's official holiday schedule (superuser; audited). Every
    provisional deadline is recomputed with it; the answer lists them."""
    return await service.load_year(session, actor, year, data)


@router.get("/deadlines", response_model=Page[DeadlineOut])
async def list_deadlines(
    session: Session,
    actor: Actor,
    paging: Paging,
    provisional: bool | None = None,
    kind: Literal["objection", "resumption_application"] | None = None,
) -> Page[DeadlineOut]:
    """Filings with a working-day deadline: objections and resumption applications.
    ``provisional=true``: those counted into a year whose schedule is not loaded yet."""
    items: list[DeadlineOut] = []
    upto = paging.offset + paging.limit + 1
    if kind in (None, "objection"):
        found = await session.execute(repo.objection_deadlines(provisional).limit(upto))
        items += [service.objection_deadline_out(row[0], row[1]) for row in found]
    if kind in (None, "resumption_application"):
        stmt = repo.resumption_deadlines(provisional).limit(upto)
        applications = await session.execute(stmt)
        items += [service.resumption_deadline_out(row[0], row[1]) for row in applications]
    items.sort(key=lambda d: (d.filed_on, d.kind, d.id))
    return make_page(items[paging.offset : upto], paging)
