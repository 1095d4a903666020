"""Looking up logged decisions and explaining them (read-only)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.principal import Principal
from app.core.errors import Forbidden, ValidationFailed, field_error
from app.core.settings import get_settings
from app.decisions import repository as repo
from app.decisions.schemas import DecisionPage
from app.registry import decision_archive as archive
from app.registry.history import explain_decision


async def _region_scope(
    session: AsyncSession, actor: Principal, institution_code: str | None
) -> str | None:
    """An operator reads decisions of its own region's institutions only."""
    if actor.role != "operator":
        return None
    if institution_code:
        region = await repo.institution_region(session, institution_code)
        if region is not None and region != actor.region_code:
            raise Forbidden(
                f"This operator token reads region {actor.region_code} only; "
                f"{institution_code} is in region {region}."
            )
    return actor.region_code


def _archive_dir() -> Path | None:
    """The archive's directory when it holds archived days."""
    directory = Path(get_settings().decision_archive_dir)
    return directory if any(directory.glob("decisions-*.parquet")) else None


async def _institutions(
    session: AsyncSession, institution_code: str | None, region: str | None
) -> list[str] | None:
    if institution_code:
        return [institution_code]
    if region:
        return await repo.institutions_of_region(session, region)
    return None


async def list_decisions(
    session: AsyncSession,
    actor: Principal,
    *,
    settlement_id: str | None,
    institution_code: str | None,
    physician_code: str | None,
    since: datetime | None,
    until: datetime | None,
    limit: int,
    offset: int,
) -> DecisionPage:
    if since and until and until <= since:
        raise ValidationFailed([field_error("until", "must be after since")])
    region = await _region_scope(session, actor, institution_code)
    codes: list[str] = []
    if physician_code:
        codes.append(physician_code)
        alias = await repo.national_alias(session, physician_code)
        if alias:
            codes.append(alias)

    def query(floor: datetime | None) -> Select[Any]:
        return repo.decisions_query(
            dialect=session.get_bind().dialect.name,
            settlement_id=settlement_id,
            institution_code=institution_code,
            region=region,
            physician_codes=codes,
            since=floor,
            until=until,
        )

    archived = _archive_dir()
    want = offset + limit + 1
    if archived is None and not codes:
        rows = list((await session.scalars(query(since).limit(limit + 1).offset(offset))).all())
    elif archived is None:  # a physician's: the newest days first (few partitions)
        rows = (await repo.newest(session, query, want, since))[offset:]
    else:  # hot and archived days alike, merged newest first
        hot = await repo.newest(session, query, want, since)
        filters = archive.Filters(
            settlement_id=settlement_id,
            institution_codes=await _institutions(session, institution_code, region),
            physician_codes=codes,
            since=since,
            until=until,
        )
        old = await asyncio.to_thread(archive.query, archived, filters, want)
        merged = {r.decision_id: r for r in [*old, *hot]}
        ordered = sorted(merged.values(), key=lambda r: r.decision_id, reverse=True)
        rows = ordered[offset:want]
    items = [await explain_decision(session, r) for r in rows[:limit]]
    more = len(rows) > limit
    return DecisionPage(
        items=items, limit=limit, offset=offset, next_offset=offset + limit if more else None
    )
