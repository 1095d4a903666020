"""Withdrawals of logged decisions' lines (2205/2302): journal -> queue -> table.

A withdrawal travels like a decision does, in its own record type and table
(``decision_withdrawals``): before the answer leaves, its records are appended to a
journal segment (``withdrawals-<ns>-<pid>.jsonl`` under ``YBGATE_DECISION_LOG_DIR``) at
the end of the event-loop turn (the page cache survives a killed process; the segment is
fsynced every ``YBGATE_JOURNAL_FSYNC_S``), and queued; a background task inserts the queue
every 50 ms (``ON CONFLICT (id) DO NOTHING``) and, once every record of the segment is in
the table, deletes the segment. While the database is down the records stay queued and
on disk (retried with growing pauses); segments left by a process that died are replayed
by the next one at start-up. ``unwritten()`` serves the records not yet in the table to
``GET /v1/decisions/{id}`` (a client reads its withdrawal back at once).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.db import create_engine
from app.core.tasks import cancelled
from app.gatekeeper.decisions.spill import write_all
from app.models import DecisionWithdrawal

log = logging.getLogger("ybgate.decisions")
MAX_QUEUE = 100_000


class Withdrawn(msgspec.Struct, array_like=True, gc=False):
    """One withdrawn line (``decision_id`` None: no remembered line matched)."""

    id: str
    institution: str
    decision_id: str | None
    line_id: str | None
    mdtrt_id: str
    chrg_bchno: str | None
    msgid: str
    infno: str
    withdrawn_ms: int

    def row(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "institution_code": self.institution,
            "decision_id": self.decision_id,
            "line_id": self.line_id,
            "mdtrt_id": self.mdtrt_id,
            "chrg_bchno": self.chrg_bchno,
            "msgid": self.msgid,
            "infno": self.infno,
            "withdrawn_at": datetime.fromtimestamp(self.withdrawn_ms / 1000, UTC),
        }


_encode = msgspec.json.encode
_decode = msgspec.json.Decoder(Withdrawn)


class WithdrawalLog:
    def __init__(
        self,
        database_url: str,
        directory: str | os.PathLike[str],
        fsync_s: float = 1.0,
        interval: float = 0.05,
    ) -> None:
        self.database_url = database_url
        self.dir = Path(directory)
        self.fsync_s = fsync_s
        self.interval = interval
        self.queue: list[Withdrawn] = []
        self._writing: list[Withdrawn] = []
        self._pending: list[Withdrawn] = []
        self._then: list[Callable[[bool], None]] = []
        self._scheduled = False
        self._fd: int | None = None
        self._path: Path | None = None
        self._dirty = False
        self._synced_at = 0.0
        self._engine: AsyncEngine | None = None
        self._task: asyncio.Task[None] | None = None
        self._down_until = 0.0
        self._backoff = 0.0
        self.inserted = 0
        self.failures = 0

    # -- the request path ---------------------------------------------------------------------
    def add_then(self, records: list[Withdrawn], done: Callable[[bool], None]) -> None:
        """Journal ``records`` at the end of this turn, then ``done(written)``."""
        if len(self.queue) + len(self._pending) + len(records) > MAX_QUEUE:
            done(False)
            return
        self._pending += records
        self._then.append(done)
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    async def add(self, records: list[Withdrawn]) -> bool:
        """:meth:`add_then`, awaited: True once journaled."""
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()

        def done(ok: bool) -> None:
            if not future.done():
                future.set_result(ok)

        self.add_then(records, done)
        return await future

    def unwritten(self) -> list[Withdrawn]:
        return self._writing + self.queue + self._pending

    def _flush(self) -> None:
        self._scheduled = False
        records, then = self._pending, self._then
        self._pending, self._then = [], []
        if not records:
            return
        try:
            fd = self._fd if self._fd is not None else self._open()
            write_all(fd, [_encode(r) + b"\n" for r in records])
        except OSError as exc:
            log.error("withdrawal journal: write failed: %r", exc)
            for done in then:
                done(False)
            return
        self._dirty = True
        self.queue += records
        for done in then:
            done(True)

    def _open(self) -> int:
        self.dir.mkdir(parents=True, exist_ok=True)
        path = self.dir / f"withdrawals-{time.time_ns():020d}-{os.getpid()}.jsonl"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
        fcntl.flock(fd, fcntl.LOCK_EX)
        self._fd, self._path = fd, path
        return fd

    # -- life cycle -----------------------------------------------------------------------------
    async def start(self) -> None:
        self._engine = create_engine(self.database_url)
        for path in sorted(self.dir.glob("withdrawals-*.jsonl")) if self.dir.is_dir() else ():
            await self._replay(path)
        self._task = asyncio.create_task(self._run(), name="ybgate-withdrawal-log")

    async def stop(self) -> None:
        await cancelled(self._task)
        self._task = None
        self._flush()
        with contextlib.suppress(Exception):
            await self._insert_queue()
        self._settle(closing=True)
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self._insert_queue()
                if self._dirty and time.monotonic() - self._synced_at >= self.fsync_s:
                    fd = self._fd
                    self._dirty, self._synced_at = False, time.monotonic()
                    if fd is not None:
                        await asyncio.to_thread(os.fsync, fd)
                self._settle(closing=False)
            except Exception:  # never let the worker die: the queue would only grow
                log.exception("withdrawal log: worker error")
                await asyncio.sleep(1.0)

    def _settle(self, closing: bool) -> None:
        """Delete the active segment once all of it is in the table; at shutdown close
        it anyway (left for the next process to replay)."""
        if self._fd is None or self._path is None:
            return
        kept = not self.queue and not self._writing and not self._pending
        if kept:
            with contextlib.suppress(FileNotFoundError):
                self._path.unlink()
        if kept or closing:
            if not kept:
                with contextlib.suppress(OSError):
                    os.fsync(self._fd)
            os.close(self._fd)
            self._fd, self._path = None, None

    # -- the table -------------------------------------------------------------------------------
    async def _insert_queue(self) -> None:
        if not self.queue or time.monotonic() < self._down_until:
            return
        batch, self.queue = self.queue, []
        self._writing = batch
        try:
            await self._insert(batch)
            self.inserted += len(batch)
            self._backoff = 0.0
        except Exception as exc:
            self.failures += 1
            self._backoff = min(30.0, max(1.0, self._backoff * 2))
            self._down_until = time.monotonic() + self._backoff
            log.warning("withdrawal log: insert failed (%r); retry in %.0fs", exc, self._backoff)
            self.queue[:0] = batch
        finally:
            self._writing = []

    async def _insert(self, records: list[Withdrawn]) -> None:
        engine = self._engine
        if engine is None:
            raise RuntimeError("withdrawal log not started")
        dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
        stmt = dialect.insert(DecisionWithdrawal).on_conflict_do_nothing(index_elements=["id"])
        async with asyncio.timeout(5.0), engine.begin() as conn:
            await conn.execute(stmt, [r.row() for r in records])

    async def _replay(self, path: Path) -> None:
        """A segment another (dead) process left: inserted, then deleted."""
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            return
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return  # its process is alive
            records = []
            with os.fdopen(os.dup(fd), "rb") as f:
                for line in f:
                    with contextlib.suppress(msgspec.DecodeError):
                        records.append(_decode.decode(line))
            try:
                if records:
                    await self._insert(records)
            except Exception as exc:
                log.warning("withdrawal log: replay of %s failed (%r); kept", path.name, exc)
                return
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
        finally:
            os.close(fd)
