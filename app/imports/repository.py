"""Bulk reads and writes of the roster import (chunked ``IN`` lists, multi-row inserts)."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from typing import Any, TypeVar

from sqlalchemy import JSON, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import (
    Agreement,
    AuditEntry,
    Ban,
    CodeCancellation,
    Institution,
    InstitutionTerm,
    Physician,
)

CHUNK = 5000
T = TypeVar("T")


class DuplicateRows(Exception):
    """A bulk insert met a unique key another transaction wrote meanwhile."""


def chunks(items: Collection[T], size: int = CHUNK) -> Iterable[list[T]]:
    seq = list(items)
    for i in range(0, len(seq), size):
        yield seq[i : i + size]


async def institutions(session: AsyncSession, codes: Collection[str]) -> dict[str, Institution]:
    rows = await session.scalars(select(Institution).where(Institution.code.in_(list(codes))))
    return {i.code: i for i in rows}


async def institution_terms(
    session: AsyncSession, codes: Collection[str]
) -> dict[str, list[InstitutionTerm]]:
    out: dict[str, list[InstitutionTerm]] = defaultdict(list)
    stmt = (
        select(InstitutionTerm)
        .where(InstitutionTerm.institution_code.in_(list(codes)))
        .order_by(InstitutionTerm.starts_on)
    )
    for t in await session.scalars(stmt):
        out[t.institution_code].append(t)
    return out


async def physicians(session: AsyncSession, codes: Collection[str]) -> dict[str, Physician]:
    out: dict[str, Physician] = {}
    for batch in chunks(codes):
        for p in await session.scalars(select(Physician).where(Physician.code.in_(batch))):
            out[p.code] = p
    return out


async def national_owners(session: AsyncSession, aliases: Collection[str]) -> dict[str, str]:
    """National alias -> the YB code holding it."""
    out: dict[str, str] = {}
    for batch in chunks(aliases):
        stmt = select(Physician.national_code, Physician.code).where(
            Physician.national_code.in_(batch)
        )
        out.update({a: c for a, c in (await session.execute(stmt)).all() if a})
    return out


async def _by_physician(
    session: AsyncSession, model: Any, codes: Collection[str], *extra: Any
) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = defaultdict(list)
    for batch in chunks(codes):
        stmt = select(model).where(model.physician_code.in_(batch), *extra)
        for row in await session.scalars(stmt):
            out[row.physician_code].append(row)
    return out


async def cancellations(
    session: AsyncSession, codes: Collection[str]
) -> dict[str, list[CodeCancellation]]:
    return await _by_physician(
        session, CodeCancellation, codes, CodeCancellation.voided_at.is_(None)
    )


async def bans(session: AsyncSession, codes: Collection[str]) -> dict[str, list[Ban]]:
    return await _by_physician(session, Ban, codes, Ban.voided_at.is_(None))


async def agreements(session: AsyncSession, codes: Collection[str]) -> dict[str, list[Agreement]]:
    return await _by_physician(session, Agreement, codes)


async def insert_rows(session: AsyncSession, model: Any, rows: Sequence[dict[str, Any]]) -> None:
    """Bulk insert in the session's transaction, no ORM objects: PostgreSQL ``COPY``
    (binary, through the driver), else a Core ``executemany`` a chunk at a time."""
    if not rows:
        return
    conn = await session.connection()
    table = model.__table__
    if conn.dialect.name == "postgresql":
        columns = [c for c in table.columns if c.key in rows[0]]
        as_text = {c.key for c in columns if isinstance(c.type, JSON)}
        records = [
            tuple(json.dumps(r[c.key]) if c.key in as_text else r[c.key] for c in columns)
            for r in rows
        ]
        raw = await conn.get_raw_connection()
        try:
            await raw.driver_connection.copy_records_to_table(  # type: ignore[union-attr]
                table.name, records=records, columns=[c.key for c in columns]
            )
        except Exception as exc:  # the driver's own error: SQLSTATE 23505 unique_violation
            if getattr(exc, "sqlstate", None) == "23505":
                raise DuplicateRows(str(exc)) from exc
            raise
        return
    try:
        for batch in chunks(rows, 5000):
            await conn.execute(insert(table), batch)
    except IntegrityError as exc:
        raise DuplicateRows(str(exc)) from exc


async def insert_audit(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    await insert_rows(session, AuditEntry, rows)
