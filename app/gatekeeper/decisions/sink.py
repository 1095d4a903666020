"""Writing compact decision rows: ``COPY`` on PostgreSQL, ``INSERT … ON CONFLICT DO NOTHING``
on SQLite.

PostgreSQL: a live batch is one binary ``COPY`` into ``settlement_decisions`` (asyncpg's
``copy_records_to_table``; the table routes each row to its day's partition). A replay,
or a live batch that meets a row already there (its first write landed although the
client of the database saw an error), is copied into a temporary staging table and
moved with ``INSERT … SELECT … ON CONFLICT DO NOTHING``: idempotent, still one round
trip for the rows.
"""

from __future__ import annotations

from datetime import date
from typing import Any, cast

from sqlalchemy import Table
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncEngine

from app.models import SettlementDecision, partitions
from app.registry import decision_codec as codec

COLUMNS = codec.ROW_COLUMNS
STAGE = "ybgate_decision_stage"
Records = list[tuple[Any, ...]] | None  # the rows' values for COPY, when made already


class Sink:
    def __init__(self, engine: AsyncEngine, table: str = "settlement_decisions") -> None:
        self.engine = engine
        self.table = table
        self.postgres = engine.dialect.name == "postgresql"

    async def probe(self) -> None:
        async with self.engine.connect() as conn:
            await conn.exec_driver_sql("SELECT 1")

    async def ensure_partitions(self, today: date, ahead: int) -> int:
        """PostgreSQL, partitioned table: create the day partitions from yesterday to
        ``ahead`` days on (idempotent); how many days are ensured."""
        if not self.postgres:
            return 0
        async with self.engine.begin() as conn:
            if (await conn.exec_driver_sql(partitions.IS_PARTITIONED_SQL)).first() is None:
                return 0
            days = partitions.days_ahead(today, 1, ahead)
            for day in days:
                await conn.exec_driver_sql(partitions.create_sql(day))
        return len(days)

    async def write(
        self, rows: list[codec.Decision], *, replay: bool = False, records: Records = None
    ) -> None:
        """Insert ``rows``; ``records``: their values (``codec.row_values``), when made
        already (a replay makes them on a thread)."""
        if not rows:
            return
        if not self.postgres:
            await self._insert_or_ignore(rows)
            return
        if records is None:
            records = [codec.row_values(d) for d in rows]
        async with self.engine.connect() as conn:
            raw = await conn.get_raw_connection()
            pg: Any = raw.driver_connection
            if not replay:
                try:
                    async with pg.transaction():
                        await pg.copy_records_to_table(self.table, records=records, columns=COLUMNS)
                    return
                except Exception as exc:  # a row already there: the staged path below
                    if getattr(exc, "sqlstate", None) != "23505":
                        raise
            await self._staged(pg, records)

    async def _staged(self, pg: Any, records: list[tuple[Any, ...]]) -> None:
        cols = ", ".join(COLUMNS)
        async with pg.transaction():
            await pg.execute(
                f"CREATE TEMP TABLE IF NOT EXISTS {STAGE} "
                f"(LIKE {self.table} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
            )
            await pg.copy_records_to_table(STAGE, records=records, columns=COLUMNS)
            await pg.execute(
                f"INSERT INTO {self.table} ({cols}) SELECT {cols} FROM {STAGE} "
                "ON CONFLICT DO NOTHING"
            )

    async def _insert_or_ignore(self, rows: list[codec.Decision]) -> None:
        table = cast(Table, SettlementDecision.__table__)
        stmt = sqlite_insert(table).on_conflict_do_nothing()
        values = [dict(zip(COLUMNS, codec.row_values(d), strict=True)) for d in rows]
        async with self.engine.begin() as conn:
            await conn.execute(stmt, values)
