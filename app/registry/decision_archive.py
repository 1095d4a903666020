"""The decision log's archived days, read: one Parquet file per UTC day,
``<decision_archive_dir>/decisions-YYYYMMDD.parquet``, rows ordered by institution and id.

Shared by the admin side (``app.decisions.archive`` writes the files; the admin search and
``ybgate decisions query`` read them with :func:`query`) and the gatekeeper (``GET
/v1/decisions/{id}`` of an archived day: :func:`day_file`, then :func:`find`); neither
imports the other. DuckDB is imported on the first read, not with this module: a
gatekeeper that never reads an archived day does not carry it (about 35 MiB). One
in-memory DuckDB database per process, opened then; each read takes a cursor of it (a
new database costs tens of milliseconds, a cursor about two).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.models import SettlementDecision
from app.registry import decision_codec as codec

if TYPE_CHECKING:
    import duckdb

SELECT_COLUMNS = ", ".join(codec.ROW_COLUMNS)


def file_of(directory: Path, day: date) -> Path:
    return directory / f"decisions-{day:%Y%m%d}.parquet"


def day_file(directory: Path, decision_id: uuid.UUID) -> Path | None:
    """The archive file of the decision's day (its UUIDv7 names it) when there is one:
    one ``stat``, no scan. None also for an id whose time is past any calendar."""
    try:
        day = codec.day_of(decision_id)
    except (ValueError, OverflowError):  # a 48-bit millisecond count past year 9999
        return None
    path = file_of(directory, day)
    return path if path.is_file() else None


_opened: list[duckdb.DuckDBPyConnection] = []
_opening = threading.Lock()


def _database() -> duckdb.DuckDBPyConnection:
    """The process's DuckDB database, opened on the first read."""
    with _opening:
        if not _opened:
            import duckdb  # deferred: see the module's docstring

            _opened.append(duckdb.connect())
        return _opened[0]


def _select(sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    with _database().cursor() as db:
        return db.execute(sql, params).fetchall()


def find(path: Path, decision_id: uuid.UUID, institution_code: str) -> SettlementDecision | None:
    """The decision ``decision_id`` of ``institution_code`` in the day's file ``path``
    (None: not there, or another institution's). Blocking: run it in a thread."""
    sql = (
        f"SELECT {SELECT_COLUMNS} FROM read_parquet(?) "
        "WHERE institution_code = ? AND decision_id = ? LIMIT 1"
    )  # both are the file's sort order: its row groups' statistics skip the others
    rows = _select(sql, [str(path), institution_code, decision_id.bytes])
    return row_of(rows[0]) if rows else None


@dataclass
class Filters:
    settlement_id: str | None = None
    institution_codes: Sequence[str] | None = None  # None: any
    physician_codes: Sequence[str] = ()
    since: datetime | None = None
    until: datetime | None = None


def query(directory: Path, f: Filters, limit: int) -> list[SettlementDecision]:
    """Archived decisions matching the filters, newest first (DuckDB over the files)."""
    files = sorted(directory.glob("decisions-*.parquet"))
    if not files:
        return []
    where: list[str] = ["TRUE"]
    params: list[Any] = [[str(p) for p in files]]
    if f.settlement_id is not None:
        where.append("settlement_id = ?")
        params.append(f.settlement_id)
    if f.institution_codes is not None:
        where.append("list_contains(?, institution_code)")
        params.append(list(f.institution_codes))
    if f.physician_codes:
        where.append("list_has_any(string_split(physicians, chr(31)), ?)")
        params.append(list(f.physician_codes))
    if f.since is not None:
        where.append("decision_id >= ?")
        params.append(codec.id_floor(f.since).bytes)
    if f.until is not None:
        where.append("decision_id < ?")
        params.append(codec.id_floor(f.until).bytes)
    sql = (
        f"SELECT {SELECT_COLUMNS} FROM read_parquet(?) WHERE {' AND '.join(where)} "
        f"ORDER BY decision_id DESC LIMIT {int(limit)}"
    )
    return [row_of(r) for r in _select(sql, params)]


def row_of(r: Sequence[Any]) -> SettlementDecision:
    """A row of an archive file (:data:`codec.ROW_COLUMNS` order) as the table's row."""
    v = dict(zip(codec.ROW_COLUMNS, r, strict=True))
    return SettlementDecision(
        registry_version=v["registry_version"],
        accepted_cents=v["accepted_cents"],
        rejected_cents=v["rejected_cents"],
        decision_id=uuid.UUID(bytes=bytes(v["decision_id"])),
        outcome_code=v["outcome"],
        upstream_infcode=v["upstream_infcode"],
        upstream_error=v["upstream_error"],
        institution_code=v["institution_code"],
        settlement_id=v["settlement_id"],
        physicians=v["physicians"],
        encoded_lines=bytes(v["lines"]),
    )
