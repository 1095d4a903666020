from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from app.auth.dependencies import Actor
from app.decisions import service
from app.decisions.schemas import DecisionPage
from app.uow.dependencies import Session

router = APIRouter(prefix="/admin/v1/decisions", tags=["decisions"])

Code = Annotated[str | None, Query(pattern=r"^[A-Za-z0-9]{1,40}$")]


@router.get("", response_model=DecisionPage)
async def list_decisions(
    session: Session,
    actor: Actor,
    settlement_id: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    institution_code: Code = None,
    physician_code: Code = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> DecisionPage:
    """Logged decisions, newest first, each line with its verdict and its basis: the fact
    that decided it (with the record's id, the operator's reason, and the action,
    violation and clause that caused it where one did) on the record as it stood at the
    decision's registry version, and the first later version that changed the
    physician's record (``changed_since``). ``since``/``until`` (exclusive) filter on the
    time of the decision. Operators see their region's institutions only."""
    return await service.list_decisions(
        session,
        actor,
        settlement_id=settlement_id,
        institution_code=institution_code,
        physician_code=physician_code,
        since=since,
        until=until,
        limit=limit,
        offset=offset,
    )
