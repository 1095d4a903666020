"""Daily partitions of the decision log on PostgreSQL.

``settlement_decisions`` is ``PARTITION BY RANGE (decision_id)``: a decision id is a
UUIDv7 whose first 48 bits are its Unix millisecond, so a UTC day is the id range from
the floor of its midnight to the floor of the next one. A day's partition is
``settlement_decisions_YYYYMMDD``; a ``DEFAULT`` partition takes what no day holds (a
spilled decision replayed after its day was archived). Partitions are created ahead
(``ensure_sql``), detached and dropped once archived (``app.decisions.archive``).
SQLite keeps one plain table.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime, timedelta

TABLE = "settlement_decisions"
DEFAULT = f"{TABLE}_default"
_NAME_RE = re.compile(rf"{TABLE}_(\d{{8}})")


def id_floor(at: datetime) -> uuid.UUID:
    """The smallest UUIDv7 minted at or after ``at``."""
    return uuid.UUID(int=int(at.timestamp() * 1000) << 80)


def day_bounds(day: date) -> tuple[uuid.UUID, uuid.UUID]:
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return id_floor(start), id_floor(start + timedelta(days=1))


def name_of(day: date) -> str:
    return f"{TABLE}_{day:%Y%m%d}"


def day_of_name(name: str) -> date | None:
    m = _NAME_RE.fullmatch(name)
    return datetime.strptime(m.group(1), "%Y%m%d").date() if m else None


def create_sql(day: date) -> str:
    lo, hi = day_bounds(day)
    return (
        f"CREATE TABLE IF NOT EXISTS {name_of(day)} PARTITION OF {TABLE} "
        f"FOR VALUES FROM ('{lo}') TO ('{hi}')"
    )


def days_ahead(today: date, behind: int, ahead: int) -> list[date]:
    return [today + timedelta(days=i) for i in range(-behind, ahead + 1)]


# The partitions the table has now (names), newest first.
LIST_SQL = (
    "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
    f"JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = '{TABLE}' "
    "ORDER BY c.relname DESC"
)
IS_PARTITIONED_SQL = f"SELECT 1 FROM pg_partitioned_table t JOIN pg_class c ON c.oid = t.partrelid WHERE c.relname = '{TABLE}'"  # noqa: E501
