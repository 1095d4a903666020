"""Visiting physicians (zhejiang-2014 二): at most one year, no new agreement; violations
are charged under the home agreement."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.agreements import repository as agreements_repo
from app.auth.principal import Principal
from app.core.dates import add_years, check_span, overlaps
from app.core.errors import Conflict, RuleViolation, ValidationFailed
from app.models import Institution, Physician, Visit
from app.physicians import repository as physicians_repo
from app.uow import On, Touch, change
from app.visits.schemas import VisitCreate


async def create_visit(session: AsyncSession, actor: Principal, data: VisitCreate) -> Visit:
    if await session.get(Physician, data.physician_code) is None:
        raise ValidationFailed(
            [{"field": "physician_code", "message": f"no physician {data.physician_code}"}]
        )
    host = await session.get(Institution, data.host_institution_code)
    if host is None:
        raise ValidationFailed(
            [{"field": "host_institution_code", "message": "no such institution"}]
        )
    actor.require_write(host.region_code)
    check_span(data.starts_on, data.ends_on, first_field="starts_on", last_field="ends_on")
    latest_end = add_years(data.starts_on, 1)
    if data.ends_on >= latest_end:
        raise RuleViolation(
            f"A visit lasts at most one year: it must end before {latest_end}.",
            slug="visit-too-long",
            errors=[{"field": "ends_on", "message": f"must be before {latest_end}"}],
        )
    if await agreements_repo.cancellation_on(session, data.physician_code, data.starts_on):
        raise Conflict(f"Code {data.physician_code} is cancelled.", slug="code-cancelled")
    for v in await physicians_repo.visits_of(session, data.physician_code):
        same_host = v.host_institution_code == data.host_institution_code
        if same_host and overlaps(v.starts_on, v.ends_on, data.starts_on, data.ends_on):
            raise Conflict(f"Visit {v.id} at this host overlaps these dates.", slug="visit-overlap")
    async with change(
        session,
        actor,
        "visit.create",
        On("visit", region=host.region_code),
        Touch.physician(data.physician_code),
    ) as ch:
        visit = ch.add(
            Visit(
                physician_code=data.physician_code,
                host_institution_code=host.code,
                region_code=host.region_code,
                starts_on=data.starts_on,
                ends_on=data.ends_on,
                kind=data.kind,
            )
        )
    return visit
