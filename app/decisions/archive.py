"""Retention of the decision log: day partitions past the hot window become Parquet files.

``archive``: every day partition older than ``decision_hot_days`` is detached, written to
``<decision_archive_dir>/decisions-YYYYMMDD.parquet`` (zstd; rows ordered by institution
and id, so codes and ids compress), fsynced and renamed into place, and only then
dropped. A partition detached by an earlier run that stopped half-way is finished the
same way. Rows of such days that sit in the default partition (rows converted from before
the partitioning, a spilled decision replayed after its day was archived) are archived
straight from it, day by day by id range: deleted (``RETURNING`` them, so a row arriving
meanwhile is either archived or left for the next run) and merged into the day's file in
the same transaction. A day's file is always merged with the one already there (by
decision id, so a restored or replayed day is never doubled nor lost).
``restore`` copies a day back into its partition (the file stays). Reading archived days
(the file names, DuckDB's queries) is ``app.registry.decision_archive``, shared with the
gatekeeper. PostgreSQL only: SQLite keeps one unpartitioned table.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.models import partitions
from app.registry import decision_codec as codec
from app.registry.decision_archive import SELECT_COLUMNS, file_of

_TYPES = {
    "registry_version": pa.int64(),
    "accepted_cents": pa.int64(),
    "rejected_cents": pa.int64(),
    "decision_id": pa.binary(16),
    "outcome": pa.int8(),
    "upstream_infcode": pa.int32(),
    "upstream_error": pa.string(),
    "institution_code": pa.string(),
    "settlement_id": pa.string(),
    "physicians": pa.string(),
    "lines": pa.binary(),
}
SCHEMA = pa.schema([(c, _TYPES[c]) for c in codec.ROW_COLUMNS])


def _table(rows: Sequence[Any]) -> pa.Table:
    data: dict[str, list[Any]] = {name: [] for name in codec.ROW_COLUMNS}
    for row in rows:
        for name, value in zip(codec.ROW_COLUMNS, row, strict=True):
            data[name].append(value)
    data["decision_id"] = [u.bytes for u in data["decision_id"]]  # uuid -> its 16 bytes
    return pa.Table.from_pydict(data, schema=SCHEMA)


def _merged(final: Path, rows: Sequence[Any]) -> pa.Table:
    """The rows, with those of the day's file already there that they do not repeat,
    ordered by institution and id."""
    table = _table(rows)
    if final.exists():
        before = pq.read_table(final, schema=SCHEMA)
        kept = before.filter(pc.invert(pc.is_in(before["decision_id"], table["decision_id"])))
        table = pa.concat_tables([kept, table])
    return table.sort_by([("institution_code", "ascending"), ("decision_id", "ascending")])


def write_day(directory: Path, day: date, rows: Sequence[Any]) -> Path:
    """The rows (merged with the day's file if there is one) as the day's Parquet file:
    written aside, fsynced, renamed into place."""
    directory.mkdir(parents=True, exist_ok=True)
    final = file_of(directory, day)
    tmp = final.with_suffix(".parquet.tmp")
    pq.write_table(
        _merged(final, rows),
        tmp,
        compression="zstd",
        compression_level=9,
        use_dictionary=["institution_code", "physicians", "registry_version"],
        row_group_size=1 << 20,
    )
    fd = os.open(tmp, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    tmp.replace(final)
    return final


@dataclass
class Archived:
    day: date
    rows: int
    path: Path


async def _rows(conn: AsyncConnection, table: str) -> list[Any]:
    result = await conn.execute(
        text(f"SELECT {SELECT_COLUMNS} FROM {table} ORDER BY institution_code, decision_id")
    )  # institution runs and ordered ids compress best
    return list(result.all())


async def _candidates(conn: AsyncConnection, before: date) -> list[tuple[str, bool]]:
    """(table, attached) of the day partitions older than ``before``, and tables left
    detached by an interrupted run."""
    attached = {r[0] for r in (await conn.execute(text(partitions.LIST_SQL))).all()}
    like = (
        await conn.execute(
            text("SELECT tablename FROM pg_tables WHERE tablename LIKE 'settlement_decisions_%'")
        )
    ).all()
    out = []
    for (name,) in like:
        day = partitions.day_of_name(name)
        if day is not None and (day < before or name not in attached):
            out.append((name, name in attached))
    return sorted(out)


async def _archive_default(engine: AsyncEngine, directory: Path, before: date) -> list[Archived]:
    """The default partition's rows of days before ``before``, one day at a time, out to
    the day's file (merged) and deleted, each day in one transaction."""
    done: list[Archived] = []
    below = partitions.day_bounds(before)[0]
    oldest = text(
        f"SELECT decision_id FROM {partitions.DEFAULT} WHERE decision_id < :hi "
        "ORDER BY decision_id LIMIT 1"
    )
    take = text(
        f"DELETE FROM {partitions.DEFAULT} WHERE decision_id >= :lo AND decision_id < :hi "
        f"RETURNING {SELECT_COLUMNS}"
    )
    async with engine.connect() as conn:
        exists = await conn.scalar(text(f"SELECT to_regclass('{partitions.DEFAULT}')"))
    while exists is not None:
        async with engine.begin() as conn:
            first = await conn.scalar(oldest, {"hi": below})
            if first is None:
                break
            day = codec.decided_at(first).date()
            lo, hi = partitions.day_bounds(day)
            rows = list((await conn.execute(take, {"lo": lo, "hi": hi})).all())
            path = write_day(directory, day, rows)  # before the commit of the delete
        done.append(Archived(day, len(rows), path))
    return done


async def archive(
    engine: AsyncEngine, directory: Path, hot_days: int, today: date
) -> list[Archived]:
    """Detach, export and drop every day partition older than the hot window; then the
    default partition's rows of such days."""
    done: list[Archived] = []
    before = today - timedelta(days=hot_days)
    async with engine.connect() as conn:
        found = await _candidates(conn, before)
    for name, attached in found:
        day = partitions.day_of_name(name)
        assert day is not None
        async with engine.begin() as conn:
            if attached:
                await conn.execute(text(f"ALTER TABLE {partitions.TABLE} DETACH PARTITION {name}"))
        async with engine.begin() as conn:
            rows = await _rows(conn, name)
            path = write_day(directory, day, rows)
            await conn.execute(text(f"DROP TABLE {name}"))
        done.append(Archived(day, len(rows), path))
    return done + await _archive_default(engine, directory, before)


async def restore(engine: AsyncEngine, directory: Path, day: date) -> int:
    """Copy an archived day back into its partition (created if need be)."""
    table = pq.read_table(file_of(directory, day))
    records = [
        tuple(uuid.UUID(bytes=r[c]) if c == "decision_id" else r[c] for c in codec.ROW_COLUMNS)
        for r in table.to_pylist()
    ]
    async with engine.connect() as conn:
        await conn.execute(text(partitions.create_sql(day)))
        await conn.commit()
        raw = await conn.get_raw_connection()
        pg: Any = raw.driver_connection
        async with pg.transaction():
            await pg.copy_records_to_table(
                partitions.name_of(day), records=records, columns=codec.ROW_COLUMNS
            )
    return len(records)
