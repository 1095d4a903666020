"""Engine and session factory. Created in an app's lifespan, never at import time."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import event, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from app.core.errors import NotFound


def sqlite_path(url: str) -> Path | None:
    """The file of a ``sqlite…:///path`` URL (None: not SQLite, or in memory)."""
    if not url.startswith("sqlite"):
        return None
    database = make_url(url).database
    return Path(database) if database and database != ":memory:" else None


def secure_sqlite_file(url: str) -> None:
    """The SQLite file holds names and certificate numbers: owner-only (0600), created so
    (SQLite gives its -wal and -shm files the database file's mode).

    An existing file is never opened here: closing any descriptor of a file drops every
    POSIX lock this process holds on it, so the connections of an engine made earlier
    (the embedded app makes several) would lose theirs, and another process (``ybgate
    import``, ``ybgate calendar load``) would then take itself for the last user, remove
    the WAL under them and leave them with "disk I/O error"."""
    path = sqlite_path(url)
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        with contextlib.suppress(FileNotFoundError):
            os.chmod(p, 0o600)


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    kwargs: dict[str, Any] = {"echo": echo}
    secure_sqlite_file(url)
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"timeout": 30}
    else:
        kwargs.update(pool_size=10, max_overflow=20, pool_pre_ping=True)
    engine = create_async_engine(url, **kwargs)
    if url.startswith("sqlite"):
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
    return engine


# SQLite: a write transaction must hold the database's write lock from its first
# statement (BEGIN IMMEDIATE, waiting up to busy_timeout), or two writers that both read
# first (e.g. a physician's next violation sequence) race: one of them fails on commit or
# on a unique constraint. The request's unit of work asks for it with this option.
SQLITE_IMMEDIATE = {"ybgate_sqlite_begin": "IMMEDIATE"}


def _sqlite_begin(conn: Any) -> None:
    """Asked for: BEGIN IMMEDIATE now. Otherwise the driver's own (deferred) behaviour:
    reads outside a transaction, BEGIN before the first write, which then waits for the
    lock (busy_timeout) instead of failing on a stale read snapshot."""
    if conn.get_execution_options().get("ybgate_sqlite_begin") == "IMMEDIATE":
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


M = TypeVar("M")


async def get_or_404(session: AsyncSession, model: type[M], key: str, what: str) -> M:
    """The row with primary key ``key``, or a 404 problem naming ``what``."""
    row = await session.get(model, key)
    if row is None:
        raise NotFound(f"No {what} {key}.")
    return row
