from __future__ import annotations

from datetime import date

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Agreement, Physician, Visit


async def staff_at(session: AsyncSession, institution: str, day: date) -> list[Physician]:
    """Everyone with an agreement at ``institution`` that started by ``day``, or a visit
    there covering ``day``."""
    agreed = select(Agreement.physician_code).where(
        Agreement.institution_code == institution, Agreement.starts_on <= day
    )
    visiting = select(Visit.physician_code).where(
        Visit.host_institution_code == institution, Visit.starts_on <= day, Visit.ends_on >= day
    )
    stmt = (
        select(Physician)
        .where(or_(Physician.code.in_(agreed), Physician.code.in_(visiting)))
        .order_by(Physician.code)
        .limit(5000)
    )
    return list((await session.scalars(stmt)).all())
