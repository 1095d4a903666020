"""Working-day calendar as data: operators load each year's official holiday schedule; a
deadline counted into a year not loaded yet is provisional, listed, and recomputed here
when that year is loaded."""

from __future__ import annotations

from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.principal import Principal
from app.calendar import repository as repo
from app.calendar.schemas import (
    CalendarLoaded,
    CalendarYearIn,
    CalendarYearOut,
    DeadlineOut,
    Recomputed,
    schedule_of,
)
from app.core.errors import NotFound, ValidationFailed
from app.models import Action, CalendarYear, Objection, ResumptionApplication, Violation
from app.models.base import utcnow
from app.rules import (
    SHIPPED,
    WorkCalendar,
    YearSchedule,
    get_policy,
    objection_deadline_counted,
    resumption_window,
)
from app.uow import On, change


def _schedule(row: CalendarYear) -> YearSchedule:
    return YearSchedule(
        year=row.year,
        holidays=frozenset(date.fromisoformat(d) for d in row.schedule["holidays"]),
        workdays=frozenset(date.fromisoformat(d) for d in row.schedule["workdays"]),
        source=row.source,
    )


async def work_calendar(session: AsyncSession) -> WorkCalendar:
    """The shipped package's years, with every loaded year over them."""
    return SHIPPED.with_schedules(_schedule(r) for r in await repo.loaded_years(session))


def _out(s: YearSchedule, row: CalendarYear | None) -> CalendarYearOut:
    return CalendarYearOut(
        year=s.year,
        source=s.source,
        origin="loaded" if row is not None else "shipped",
        holidays=sorted(s.holidays),
        workdays=sorted(s.workdays),
        loaded_at=row.loaded_at if row is not None else None,
        loaded_by=row.loaded_by if row is not None else None,
    )


async def list_years(session: AsyncSession) -> list[CalendarYearOut]:
    rows = {r.year: r for r in await repo.loaded_years(session)}
    cal = SHIPPED.with_schedules(_schedule(r) for r in rows.values())
    return [_out(s, rows.get(y)) for y, s in sorted(cal.years.items())]


async def get_year(session: AsyncSession, year: int) -> CalendarYearOut:
    for y in await list_years(session):
        if y.year == year:
            return y
    raise NotFound(f"No holiday schedule for {year}: deadlines into it are provisional.")


async def load_year(
    session: AsyncSession, actor: Principal, year: int, data: CalendarYearIn
) -> CalendarLoaded:
    """Store (or replace) ``year``'s schedule, audited, and recompute every provisional
    deadline with it."""
    actor.require_superuser()
    schedule, errors = schedule_of(year, data)
    if errors:
        raise ValidationFailed(errors)
    row = await session.get(CalendarYear, year)
    async with change(
        session, actor, "calendar.load", On("calendar", str(year)), subject=row
    ) as ch:
        if row is None:
            row = ch.add(CalendarYear(year=year))
        row.schedule = {
            "holidays": sorted(d.isoformat() for d in schedule.holidays),
            "workdays": sorted(d.isoformat() for d in schedule.workdays),
            "file": data.model_dump(mode="json", by_alias=True, exclude={"year"}),
        }
        row.source, row.loaded_by, row.loaded_at = data.source, actor.token_id, utcnow()
    recomputed = await recompute_provisional(session, actor, await work_calendar(session))
    return CalendarLoaded(**_out(schedule, row).model_dump(), recomputed=recomputed)


async def recompute_provisional(
    session: AsyncSession, actor: Principal, cal: WorkCalendar
) -> list[Recomputed]:
    out: list[Recomputed] = []
    for obj, v in await repo.provisional_objections(session):
        counted = objection_deadline_counted(get_policy(v.policy_id), v.decided_on, cal)
        async with change(
            session,
            actor,
            "objection.deadline.recompute",
            On("violation", v.id, v.region_code),
            subject=obj,
        ):
            obj.deadline, obj.deadline_provisional = counted.day, counted.provisional
            obj.late = not counted.provisional and obj.filed_on > counted.day
        out.append(
            Recomputed(
                kind="objection",
                id=obj.id,
                deadline=obj.deadline,
                provisional=obj.deadline_provisional,
                late=obj.late,
            )
        )
    for app_, action in await repo.provisional_resumptions(session):
        window = (
            resumption_window(get_policy(action.policy_id), action.ends_on, cal)
            if action.ends_on is not None
            else None
        )
        if window is None:
            continue
        async with change(
            session,
            actor,
            "resumption.deadline.recompute",
            On("action", action.id, action.region_code),
            subject=app_,
        ):
            app_.window_opens_on, app_.window_closes_on = window.opens_on, window.closes_on
            app_.deadline_provisional = window.provisional
            app_.timely = window.provisional or window.admits(app_.filed_on)
        out.append(
            Recomputed(
                kind="resumption_application",
                id=app_.id,
                deadline=window.closes_on,
                provisional=window.provisional,
                late=not app_.timely,
            )
        )
    await session.flush()
    return out


def objection_deadline_out(obj: Objection, v: Violation) -> DeadlineOut:
    return DeadlineOut(
        kind="objection",
        id=obj.id,
        subject_id=v.id,
        region=v.region_code,
        physician_code=v.physician_code,
        filed_on=obj.filed_on,
        opens_on=None,
        deadline=obj.deadline,
        provisional=obj.deadline_provisional,
        late=obj.late,
    )


def resumption_deadline_out(app_: ResumptionApplication, a: Action) -> DeadlineOut:
    return DeadlineOut(
        kind="resumption_application",
        id=app_.id,
        subject_id=a.id,
        region=a.region_code,
        physician_code=a.physician_code,
        filed_on=app_.filed_on,
        opens_on=app_.window_opens_on,
        deadline=app_.window_closes_on or app_.filed_on,
        provisional=app_.deadline_provisional,
        late=not app_.timely,
    )


def parse_schedule_file(text: str) -> tuple[int, CalendarYearIn]:
    """A schedule file (TOML, the format of :mod:`app.calendar.schemas`): its year and
    contents; problems raise ``ValidationFailed`` naming the field."""
    import tomllib

    from pydantic import ValidationError

    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValidationFailed([{"field": "file", "message": str(exc)}]) from exc
    year = raw.get("year")
    if not isinstance(year, int) or isinstance(year, bool):
        raise ValidationFailed([{"field": "year", "message": "the file must state its year"}])
    try:
        return year, CalendarYearIn.model_validate(raw)
    except ValidationError as exc:
        raise ValidationFailed(
            [
                {"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]}
                for e in exc.errors()
            ]
        ) from exc
