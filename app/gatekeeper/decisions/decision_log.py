"""The decision log: every answered settlement, persisted in batches off the request path.

Hot path: :meth:`DecisionLog.offer` appends one tuple (ids, totals and the response body
already built for the client) to an in-memory list, O(1). A background task takes up to
``batch_size`` decisions every ``interval`` seconds, turns them into rows (the ``lines``
JSON is a slice of the response body: nothing is re-serialised) and bulk-inserts them
into ``settlement_decisions`` with ``ON CONFLICT (decision_id) DO NOTHING``.

When the sink is slow or down, nothing is dropped silently:

* A failed or timed-out insert (``write_timeout``) sends the batch to a spill file under
  ``decision_log_dir`` (JSON lines, fsynced before the batch counts as kept). While the
  database is failing, batches go straight to the spill, and the worker probes the
  database again with growing pauses (1 s doubling to 30 s).
* A slow database: when the queue passes half of ``max_queue`` while inserts are slower
  than the traffic, the backlog is spilled at once (appending to a file is far cheaper
  than inserting) instead of letting requests wait.
* When the queue is short and the database answers, spilled files (also those left by
  an earlier process; rotated at 16 MB) are replayed into it oldest first, one file per
  tick, and deleted when fully inserted. Replays are idempotent (``ON CONFLICT DO
  NOTHING``).
* If even the spill fails (disk full, directory not writable), the batch goes back to
  the head of the queue. The queue is bounded (``max_queue``); when it is full the
  request waits up to ``offer_wait`` seconds for room and then gets a 503 problem: the
  client is never told a decision that is not kept.
* Shutdown drains the queue (database, else spill). A hard crash (SIGKILL) loses
  nothing answered: every answered decision is also in the journal (``journal.py``),
  written before the response is sent, and replayed by the next process like a spill
  file. A power loss can take what the journal had not fsynced yet (``journal_fsync_s``).

Spill files are described in ``spill.py``. With ``sink="spill"`` (``YBGATE_DECISION_LOG_SINK``;
the benchmark uses it) every batch goes to the spill files only, and the next process
running with the database sink replays them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.db import create_engine
from app.gatekeeper.decisions.spill import (
    Item,
    SpillEntry,
    SpillWriter,
    claim,
    lines_json,
    spill_buffers,
    spill_files,
    upstream_of,
)

log = logging.getLogger("ybgate.decisions")

COLUMNS = (
    "decision_id",
    "settlement_id",
    "institution_code",
    "registry_version",
    "decided_at",
    "outcome",
    "accepted_amount",
    "rejected_amount",
    "lines",
    "inputs",
    "upstream_infcode",
    "upstream_error",
)


class DecisionLog:
    def __init__(
        self,
        database_url: str,
        spill_dir: str | os.PathLike[str],
        *,
        table: str = "settlement_decisions",
        sink: str = "database",
        max_queue: int = 20_000,
        batch_size: int = 2_000,
        interval: float = 0.05,
        write_timeout: float = 5.0,
        offer_wait: float = 2.0,
    ) -> None:
        self.database_url = database_url
        self.spill_dir = Path(spill_dir)
        self.table = table
        if sink not in ("database", "spill"):
            raise ValueError(f"decision log sink must be 'database' or 'spill', not {sink!r}")
        self.sink = sink
        self.max_queue = max_queue
        # Room for the queue: max_queue less the batch being written (not kept yet).
        self.limit = max_queue
        self.batch_size = batch_size
        self.interval = interval
        self.write_timeout = write_timeout
        self.offer_wait = offer_wait
        self.queue: list[Item] = []
        self._writing: list[Item] = []  # the batch being written (not in the table yet)
        self.written = 0  # rows inserted (live and replayed)
        self.kept = 0  # live decisions kept (inserted, or spilled and fsynced), queue order
        self.spilled = 0  # rows written to spill files
        self.replayed = 0
        self.failures = 0  # failed database writes
        self.spill_failures = 0
        self._engine: AsyncEngine | None = None
        self._sql = ""
        self._sqlite = database_url.startswith("sqlite")
        self._task: asyncio.Task[None] | None = None
        self._room = asyncio.Event()
        self._stopping = False
        self._db_down_until = 0.0
        self._backoff = 0.0
        self._spill = SpillWriter(self.spill_dir)
        self._replaying: tuple[Path, int, list[SpillEntry]] | None = None
        self._second = (0, "")
        self._disposing: asyncio.Task[None] | None = (
            None  # (unix second, its SQLite text) for decided_at
        )

    # -- hot path ---------------------------------------------------------------------------
    def offer(self, item: Item) -> bool:
        """Queue a decision; False when full (see :meth:`offer_or_wait`). The hot path
        inlines this: ``if len(q) < limit: q.append(item)``."""
        q = self.queue
        if len(q) >= self.limit:
            return False
        q.append(item)
        return True

    async def offer_or_wait(self, item: Item) -> bool:
        """Queue a decision, waiting up to ``offer_wait`` s for room; False: not kept."""
        deadline = time.monotonic() + self.offer_wait
        while not self.offer(item):
            left = deadline - time.monotonic()
            if left <= 0 or self._task is None:
                return False
            self._room.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(left):
                    await self._room.wait()
        return True

    def unwritten(self) -> list[Item]:
        """Decisions answered but not yet in the table: the batch being written, then the
        queue (read side: a client may read its decision back at once)."""
        return self._writing + self.queue

    @property
    def pending_spill_files(self) -> int:
        return len(self._spill_files())

    # -- lifecycle --------------------------------------------------------------------------
    async def start(self) -> None:
        self._engine = create_engine(self.database_url)
        dialect = self._engine.dialect
        if dialect.paramstyle == "qmark":
            marks = ", ".join("?" for _ in COLUMNS)
        elif dialect.paramstyle == "numeric_dollar":
            marks = ", ".join(f"${i + 1}" for i in range(len(COLUMNS)))
        else:
            marks = ", ".join("%s" for _ in COLUMNS)
        self._sql = (
            f"INSERT INTO {self.table} ({', '.join(COLUMNS)}) VALUES ({marks}) "
            "ON CONFLICT (decision_id) DO NOTHING"
        )
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="ybgate-decision-log")

    async def stop(self) -> None:
        """Drain the queue (database, else spill), then close."""
        self._stopping = True
        if self._task is not None:
            await self._task
            self._task = None
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None
        self._close_spill()

    def use_database(self, database_url: str) -> None:
        """Point the sink at another database (operations; tests simulate a recovery)."""
        old = self._engine
        self.database_url = database_url
        self._engine = create_engine(database_url)
        self._db_down_until = 0.0
        if old is not None:
            self._disposing = asyncio.get_running_loop().create_task(old.dispose())

    # -- the worker -------------------------------------------------------------------------
    async def _run(self) -> None:
        while True:
            if not self._stopping and len(self.queue) < self.batch_size:
                await asyncio.sleep(self.interval)
            try:
                if not await self._tick():
                    return
            except Exception:  # never let the worker die: the queue would only fill up
                log.exception("decision log: worker error")
                await asyncio.sleep(1.0)

    async def _tick(self) -> bool:
        batch = self.queue[: self.batch_size]
        del self.queue[: len(batch)]
        if batch:
            self.limit = self.max_queue - len(batch)
            self._writing = batch
            try:
                await self._write(batch)
            finally:
                self._writing = []
                self.limit = self.max_queue
                self._room.set()
        elif self._stopping:
            return False
        if (
            not self._stopping
            and self.sink == "database"
            and len(self.queue) < self.batch_size
            and time.monotonic() >= self._db_down_until
            and (self._replaying is not None or self._spill_files())
        ):
            await self._replay_some()
        return True

    async def _write(self, batch: list[Item]) -> None:
        use_db = self.sink == "database" and time.monotonic() >= self._db_down_until
        if use_db and len(self.queue) + len(batch) > self.max_queue // 2:
            # The database does not keep up: spill this batch and the backlog now (cheap),
            # replay when the queue is quiet again.
            batch += self.queue
            self.queue.clear()
            self.limit = self.max_queue - len(batch)
            use_db = False
        if use_db:
            try:
                await self._insert([self._row(i) for i in batch])
                self.written += len(batch)
                self.kept += len(batch)
                self._backoff = 0.0
                return
            except Exception as exc:  # any sink failure: keep the batch on disk
                self._db_failed(exc)
        try:
            await asyncio.to_thread(self._spill.append, spill_buffers(batch))
            self.spilled += len(batch)
            self.kept += len(batch)
        except Exception:
            self.spill_failures += 1
            log.exception("decision log: spill failed; %d decisions stay queued", len(batch))
            self.queue[:0] = batch
            self.limit = self.max_queue
            if self._stopping:
                log.error("decision log: stopping with %d decisions unwritten", len(self.queue))
                self.queue.clear()
                return
            await asyncio.sleep(min(1.0, self.interval * 10))

    def _db_failed(self, exc: BaseException) -> None:
        self.failures += 1
        self._backoff = min(30.0, max(1.0, self._backoff * 2))
        self._db_down_until = time.monotonic() + self._backoff
        log.warning(
            "decision log: database write failed (%r); spilling, retry in %.0fs", exc, self._backoff
        )

    async def _insert(self, rows: list[tuple[Any, ...]]) -> None:
        engine = self._engine
        if engine is None:
            raise RuntimeError("decision log not started")
        async with asyncio.timeout(self.write_timeout), engine.begin() as conn:
            await conn.exec_driver_sql(self._sql, rows)

    def _row(self, item: Item) -> tuple[Any, ...]:
        did, ms, sid, inst, version, outcome, acc, rej, body, inputs = item
        return (
            did,
            sid,
            inst,
            version,
            self._at(ms),
            outcome,
            acc,
            rej,
            lines_json(body).decode(),
            inputs.decode(),
            *upstream_of(body),
        )

    def _spilled_row(self, entry: SpillEntry) -> tuple[Any, ...]:
        r = entry.response
        return (
            r.decision_id,
            r.settlement_id,
            entry.institution_code,
            r.registry_version,
            self._at(entry.decided_ms),
            r.outcome,
            r.accepted_amount,
            r.rejected_amount,
            bytes(r.lines).decode(),
            None if bytes(entry.inputs) == b"null" else bytes(entry.inputs).decode(),
            r.upstream_infcode,
            r.upstream_error,
        )

    def _at(self, ms: int) -> Any:
        """decided_at: an aware datetime, or for SQLite the text SQLAlchemy stores."""
        if not self._sqlite:
            return datetime.fromtimestamp(ms / 1000, UTC)
        sec, frac = divmod(ms, 1000)
        if self._second[0] != sec:
            text = datetime.fromtimestamp(sec, UTC).strftime("%Y-%m-%d %H:%M:%S")
            self._second = (sec, text)
        return f"{self._second[1]}.{frac:03d}000"

    # -- spill files ------------------------------------------------------------------------
    def _spill_files(self) -> list[Path]:
        return spill_files(self.spill_dir)

    def _close_spill(self) -> None:
        self._spill.close()
        self._release_replay()

    async def _replay_some(self) -> None:
        """Insert the next chunk of the oldest spill file this process can lock (one chunk
        per tick, so live traffic keeps its turn); delete the file once all of it is in."""
        if self._replaying is None:
            await asyncio.to_thread(self._spill.close)  # new spills go to a new file
            for path in self._spill_files():
                claimed = await asyncio.to_thread(claim, path)
                if claimed is not None:
                    self._replaying = (path, *claimed)
                    break
            else:
                return
        path, _, rows = self._replaying
        chunk = rows[: self.batch_size]
        try:
            if chunk:
                await self._insert([self._spilled_row(r) for r in chunk])
        except Exception as exc:
            self._db_failed(exc)
            return
        self.written += len(chunk)
        self.replayed += len(chunk)
        self._backoff = 0.0
        del rows[: len(chunk)]
        if not rows:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            self._release_replay()
            log.info("decision log: replayed spill file %s", path.name)

    def _release_replay(self) -> None:
        if self._replaying is not None:
            os.close(self._replaying[1])  # unlocks: the file, if still there, stays for later
            self._replaying = None
