from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Action, CalendarYear, Objection, ResumptionApplication, Violation


async def loaded_years(session: AsyncSession) -> list[CalendarYear]:
    return list((await session.scalars(select(CalendarYear).order_by(CalendarYear.year))).all())


async def provisional_objections(session: AsyncSession) -> list[tuple[Objection, Violation]]:
    stmt = (
        select(Objection, Violation)
        .join(Violation, Violation.id == Objection.violation_id)
        .where(Objection.deadline_provisional.is_(True))
        .order_by(Objection.filed_on, Objection.id)
    )
    return [(o, v) for o, v in (await session.execute(stmt)).all()]


async def provisional_resumptions(
    session: AsyncSession,
) -> list[tuple[ResumptionApplication, Action]]:
    stmt = (
        select(ResumptionApplication, Action)
        .join(Action, Action.id == ResumptionApplication.action_id)
        .where(ResumptionApplication.deadline_provisional.is_(True))
        .order_by(ResumptionApplication.filed_on, ResumptionApplication.id)
    )
    return [(r, a) for r, a in (await session.execute(stmt)).all()]


def objection_deadlines(provisional: bool | None) -> Select[Objection, Violation]:
    stmt = select(Objection, Violation).join(Violation, Violation.id == Objection.violation_id)
    if provisional is not None:
        stmt = stmt.where(Objection.deadline_provisional.is_(provisional))
    return stmt.order_by(Objection.filed_on, Objection.id)


def resumption_deadlines(
    provisional: bool | None,
) -> Select[ResumptionApplication, Action]:
    stmt = select(ResumptionApplication, Action).join(
        Action, Action.id == ResumptionApplication.action_id
    )
    if provisional is not None:
        stmt = stmt.where(ResumptionApplication.deadline_provisional.is_(provisional))
    return stmt.order_by(ResumptionApplication.filed_on, ResumptionApplication.id)
